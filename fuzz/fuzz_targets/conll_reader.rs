//! The CoNLL column reader and tag conversion (`ner_convert::convert_bytes`)
//! on arbitrary bytes, with the reading options taken from the first byte:
//! any input either converts or returns an error, never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ner_convert::{Config, ReadOptions};
use ner_core::scheme::TagScheme as Scheme;

fuzz_target!(|data: &[u8]| {
    let Some((&flags, bytes)) = data.split_first() else {
        return;
    };
    let mut config = Config::new("fuzz.conll", "fuzz.parquet");
    config.output_scheme = if flags & 1 == 0 { Scheme::Iob2 } else { Scheme::Bioes };
    config.read = ReadOptions {
        tag_column: if flags & 2 == 0 { None } else { Some(usize::from(flags >> 5)) },
        input_scheme: match (flags >> 2) & 3 {
            0 => None,
            1 => Some(Scheme::Iob1),
            2 => Some(Scheme::Iob2),
            _ => Some(Scheme::Bioes),
        },
        column_names: (flags & 16 != 0).then(|| vec!["pos".into(), "chunk".into()]),
    };
    if let Ok(converted) = ner_convert::convert_bytes(&config, bytes) {
        // Every sentence keeps one tag per token, in the output scheme.
        for (sentence, tags) in converted.corpus.sentences.iter().zip(&converted.tags) {
            assert_eq!(sentence.tokens.len(), tags.len());
        }
        let _ = converted.summary.to_string();
    }
});
