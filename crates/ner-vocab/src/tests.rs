use super::*;

const TRAIN: &str = "\
-DOCSTART- -X- -X- O

the DT B-NP O
Cat NN I-NP I-PER
saw VBD B-VP O
the DT B-NP O
cat NN I-NP O

a DT B-NP O
dog NN I-NP I-LOC
saw VBD B-VP O
Zoe NNP B-NP I-ORG
";

fn sentences_file(dir: &Path, text: &str) -> PathBuf {
    let input = dir.join("train.txt");
    let output = dir.join("train.parquet");
    std::fs::write(&input, text).expect("write corpus");
    ner_convert::convert(&ner_convert::Config::new(&input, &output)).expect("convert");
    output
}

fn render(vocab: &Vocab) -> String {
    vocab
        .entries
        .iter()
        .enumerate()
        .map(|(id, (key, n))| format!("{id}:{key}:{n}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Counts `TRAIN` under `adjust`ed settings and compares the rendered tables.
fn check(adjust: impl FnOnce(&mut Config), words: &str, chars: &str, tags: &str) {
    let dir = tempfile::tempdir().expect("tempdir");
    let train = sentences_file(dir.path(), TRAIN);
    let mut config = Config::new(&train, dir.path().join("vocab"));
    adjust(&mut config);
    let vocabs = count(&config).expect("count");
    assert_eq!(render(&vocabs.words), words);
    assert_eq!(render(&vocabs.chars), chars);
    assert_eq!(render(&vocabs.tags), tags);
}

const CHARS: &str =
    "0:<PAD>:0 1:<UNK>:0 2:a:5 3:t:4 4:e:3 5:h:2 6:s:2 7:w:2 8:o:2 9:C:1 10:c:1 11:d:1 12:g:1 13:Z:1";
const TAGS: &str = "0:O:6 1:B-LOC:1 2:B-ORG:1 3:B-PER:1";

#[test]
fn counts_by_frequency_then_first_appearance() {
    check(
        |_| {},
        "0:<PAD>:0 1:<UNK>:0 2:the:2 3:saw:2 4:Cat:1 5:cat:1 6:a:1 7:dog:1 8:Zoe:1",
        CHARS,
        TAGS,
    );
}

#[test]
fn lowercase_merges_words_but_not_characters() {
    check(
        |c| c.lowercase = true,
        "0:<PAD>:0 1:<UNK>:0 2:the:2 3:cat:2 4:saw:2 5:a:1 6:dog:1 7:zoe:1",
        CHARS,
        TAGS,
    );
}

#[test]
fn min_count_and_max_size_send_the_rest_to_unk() {
    check(
        |c| c.min_count = 2,
        "0:<PAD>:0 1:<UNK>:5 2:the:2 3:saw:2",
        CHARS,
        TAGS,
    );
    check(
        |c| c.max_size = Some(3),
        "0:<PAD>:0 1:<UNK>:7 2:the:2",
        CHARS,
        TAGS,
    );
}

#[test]
fn bioes_tags_are_ordered_by_type_then_prefix() {
    let dir = tempfile::tempdir().expect("tempdir");
    let train = sentences_file(
        dir.path(),
        "a S-PER\nb B-LOC\nc I-LOC\nd E-LOC\ne O\nf B-PER\ng E-PER\n",
    );
    let input = dir.path().join("train.txt");
    let bioes = dir.path().join("bioes.parquet");
    let mut convert = ner_convert::Config::new(&input, &bioes);
    convert.output_scheme = ner_core::scheme::TagScheme::Bioes;
    ner_convert::convert(&convert).expect("convert");
    let vocabs = count(&Config::new(&bioes, dir.path())).expect("count");
    assert_eq!(
        render(&vocabs.tags),
        "0:O:1 1:B-LOC:1 2:I-LOC:1 3:E-LOC:1 4:B-PER:1 5:E-PER:1 6:S-PER:1"
    );
    assert_eq!(vocabs.tags.metadata.get(keys::SCHEME), Some("bioes"));
    let iob2 = count(&Config::new(&train, dir.path())).expect("count");
    assert_eq!(iob2.tags.metadata.get(keys::SCHEME), Some("iob2"));
}

#[test]
fn build_writes_three_tables_with_provenance() {
    let dir = tempfile::tempdir().expect("tempdir");
    let train = sentences_file(dir.path(), TRAIN);
    let out = dir.path().join("vocab");
    let summary = build(&Config::new(&train, &out)).expect("build");
    assert_eq!(
        (summary.n_words, summary.n_chars, summary.n_tags),
        (9, 14, 4)
    );
    assert_eq!(summary.n_tokens, 9);
    let words = Vocab::read(&VocabDir::new(&out).words(), ArtifactKind::WordVocab).expect("read");
    assert_eq!(words.metadata.get(keys::LOWERCASE), Some("false"));
    assert_eq!(
        words.metadata.get(keys::SOURCE_SHA256).map(str::to_string),
        Some(sha256_file(&train).expect("hash"))
    );
    let err =
        Vocab::read(&VocabDir::new(&out).tags(), ArtifactKind::WordVocab).expect_err("wrong kind");
    assert!(
        err.to_string().contains("is a 'vocab.tags' artifact"),
        "{err}"
    );
}

#[test]
fn refuses_files_that_are_not_sentences() {
    let dir = tempfile::tempdir().expect("tempdir");
    let train = sentences_file(dir.path(), TRAIN);
    let out = dir.path().join("vocab");
    build(&Config::new(&train, &out)).expect("build");
    let words = VocabDir::new(&out).words();
    let err = build(&Config::new(&words, dir.path().join("again"))).expect_err("wrong kind");
    assert_eq!(
        err.to_string(),
        format!(
            "{}: is a 'vocab.words' artifact, expected 'sentences' (written by ner-convert)",
            words.display()
        )
    );
}

/// Counting in slices of one or two sentences merges to the same counts, in
/// the same first-appearance order, as one slice over the whole file.
#[test]
fn counts_merge_across_slices() {
    let dir = tempfile::tempdir().expect("tempdir");
    let train = sentences_file(dir.path(), TRAIN);
    let whole = count_column(&train, sentences::TOKENS).expect("count");
    assert_eq!(
        whole[..3],
        [
            ("the".to_string(), 2),
            ("Cat".to_string(), 1),
            ("saw".to_string(), 2)
        ]
    );
    for rows in [1, 2] {
        assert_eq!(
            count_column_in_slices(&train, sentences::TOKENS, rows).expect("count"),
            whole
        );
    }
}
