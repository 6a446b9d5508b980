//! `ner-score --conll` input (`ner_score::score_conll`) on arbitrary bytes,
//! with conlleval's options (-r, -o, -d) taken from the first byte, through
//! every output: the text report, the LaTeX table and scores.json.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ner_core::conlleval::{Delimiter, Options};

fuzz_target!(|data: &[u8]| {
    let Some((&flags, bytes)) = data.split_first() else {
        return;
    };
    let options = Options {
        raw: flags & 1 != 0,
        o_tag: if flags & 2 != 0 { b"OUT".to_vec() } else { b"O".to_vec() },
        delimiter: match (flags >> 2) & 3 {
            0 => Delimiter::parse(" "),
            1 => Delimiter::parse("\\s+"),
            2 => Delimiter::parse("\\t"),
            _ => Delimiter::parse("x"),
        },
    };
    if let Ok(report) = ner_score::score_conll("fuzz.conll".as_ref(), bytes, &options) {
        let _ = report.conlleval();
        let _ = report.latex();
        let _ = report.to_json();
        let _ = report.details();
    }
});
