//! The stages on the real CoNLL-2003 English files (`../shared/conll2003`,
//! or `NER_CONLL_DIR`): the counts every NER paper reports.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use ner_convert::{convert_bytes, Config as ConvertConfig};
use ner_core::artifact::MappedIpc;
use ner_core::batches::BatchView;
use ner_core::schema::ArtifactKind;
use ner_core::scheme::TagScheme;

fn convert(dir: &Path, file: &str, out_dir: &Path) -> ner_convert::Summary {
    let input = dir.join(file);
    let output = out_dir.join(format!("{file}.parquet"));
    ner_convert::convert(&ConvertConfig::new(input, output)).expect("convert")
}

fn entities(pairs: [(&str, usize); 4]) -> BTreeMap<String, usize> {
    pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

#[test]
fn conll2003_counts_vocabularies_and_batches() {
    let Some(dir) = ner_tests::conll2003_dir() else {
        return;
    };
    let work = tempfile::tempdir().expect("tempdir");
    let out = work.path();

    let train = convert(&dir, "eng.train", out);
    let valid = convert(&dir, "eng.testa", out);
    let test = convert(&dir, "eng.testb", out);
    for (summary, sentences, tokens, expected) in [
        (
            &train,
            14_041,
            203_621,
            entities([("PER", 6600), ("LOC", 7140), ("ORG", 6321), ("MISC", 3438)]),
        ),
        (
            &valid,
            3_250,
            51_362,
            entities([("PER", 1842), ("LOC", 1837), ("ORG", 1341), ("MISC", 922)]),
        ),
        (
            &test,
            3_453,
            46_435,
            entities([("PER", 1617), ("LOC", 1668), ("ORG", 1661), ("MISC", 702)]),
        ),
    ] {
        assert_eq!(
            summary.n_sentences,
            sentences,
            "{}",
            summary.input.display()
        );
        assert_eq!(summary.n_tokens, tokens, "{}", summary.input.display());
        assert_eq!(summary.entities, expected, "{}", summary.input.display());
        assert_eq!(
            (summary.input_scheme, summary.detected),
            (TagScheme::Iob1, true)
        );
        assert_eq!(summary.n_repaired, 0);
    }
    // 946 -DOCSTART- lines, and the sentences before the first one.
    assert_eq!(train.n_documents, 947);

    let vocab_dir = out.join("vocab");
    let vocab = ner_vocab::build(&ner_vocab::Config::new(
        out.join("eng.train.parquet"),
        &vocab_dir,
    ))
    .expect("vocab");
    assert_eq!(vocab.n_words, 23_625);
    assert_eq!(vocab.n_tags, 9);
    assert_eq!(vocab.n_chars, 2 + 84);
    assert_eq!(vocab.n_unk_tokens, 0);

    // The word order is Counter.most_common() order: descending count, ties by
    // first appearance. Check it against a direct count of the file.
    let bytes = std::fs::read(dir.join("eng.train")).expect("read");
    let corpus = convert_bytes(&ConvertConfig::new("eng.train", "unused"), &bytes).expect("parse");
    let mut first_seen: Vec<(String, u64)> = Vec::new();
    let mut slot: HashMap<String, usize> = HashMap::new();
    for sentence in &corpus.corpus.sentences {
        for token in &sentence.tokens {
            let i = *slot.entry(token.to_string()).or_insert_with(|| {
                first_seen.push((token.to_string(), 0));
                first_seen.len() - 1
            });
            first_seen[i].1 += 1;
        }
    }
    first_seen.sort_by_key(|&(_, n)| std::cmp::Reverse(n));
    let words =
        ner_core::tables::Vocab::read(&vocab_dir.join("words.parquet"), ArtifactKind::WordVocab)
            .expect("words");
    assert_eq!(words.entries[2..], first_seen[..]);
    // As Python's Counter(...).most_common(3) gives them.
    let top: Vec<(&str, u64)> = words.entries[2..5]
        .iter()
        .map(|(w, n)| (w.as_str(), *n))
        .collect();
    assert_eq!(top, [(".", 7374), (",", 7290), ("the", 7243)]);

    // Encoding keeps every token, pads with the documented values and maps
    // unseen validation words to <UNK>.
    for (split, n_sentences, n_tokens) in
        [("eng.train", 14_041, 203_621), ("eng.testa", 3_250, 51_362)]
    {
        let output = out.join(format!("{split}.arrow"));
        let mut config = ner_encode::Config::new(
            out.join(format!("{split}.parquet")),
            ner_encode::VocabPaths::in_dir(&vocab_dir),
            &output,
        );
        if split != "eng.train" {
            config.order = ner_encode::Order::Sequential;
        }
        let summary = ner_encode::encode(&config).expect("encode");
        assert_eq!(
            (summary.n_sentences, summary.n_tokens),
            (n_sentences, n_tokens)
        );
        assert_eq!(summary.n_batches, n_sentences.div_ceil(32));
        if split == "eng.train" {
            assert_eq!(summary.n_oov, 0);
        } else {
            assert!(
                summary.oov_rate() > 0.05 && summary.oov_rate() < 0.15,
                "{}",
                summary.oov_rate()
            );
        }
        let mapped = MappedIpc::open(&output, ArtifactKind::Batches).expect("open");
        let mut tokens = 0usize;
        let mut seen = vec![false; n_sentences];
        for batch in mapped.batches() {
            let batch = batch.expect("batch");
            let view = BatchView::new(&batch, &output).expect("view");
            for (row, &length) in view.lengths.iter().enumerate() {
                let length = length as usize;
                tokens += length;
                seen[view.sentence_ids[row] as usize] = true;
                let words = &view.word_ids[row * view.width..(row + 1) * view.width];
                let tags = &view.tag_ids[row * view.width..(row + 1) * view.width];
                assert!(
                    words[..length].iter().all(|&w| w >= 1)
                        && words[length..].iter().all(|&w| w == 0)
                );
                assert!(
                    tags[..length].iter().all(|&t| (0..9).contains(&t))
                        && tags[length..].iter().all(|&t| t == -100)
                );
            }
        }
        assert_eq!(tokens, n_tokens);
        assert!(seen.iter().all(|&s| s), "every sentence encoded once");
    }
}
