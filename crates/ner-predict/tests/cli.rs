//! `ner-predict` on a tiny trained model: every input format, every output,
//! and the vocabulary check.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const TRAIN: &str = "\
EU B-ORG
rejects O
German B-MISC
call O

Peter B-PER
Blackburn I-PER

BRUSSELS B-LOC
1996-08-22 O
";

const GRU: &str =
    "description = \"tiny\"\n[model]\ncell = \"gru\"\nbidirectional = true\nlayers = 1\n\
    hidden = 8\ninput = \"onehot\"\n[train]\nepochs = 2\nlr = 0.01\nbatch_size = 2\n";

const CHAR_CRF: &str = "[model]\ncell = \"lstm\"\nbidirectional = true\nlayers = 1\nhidden = 8\n\
    input = \"embedding\"\nembedding_dim = 8\nchars = \"cnn\"\nchar_dim = 4\nchar_hidden = 5\n\
    casing_dim = 2\noutput = \"crf\"\n[train]\nepochs = 30\nlr = 0.02\nbatch_size = 2\n";

/// A folder with a model trained for a few steps through the libraries.
fn trained() -> tempfile::TempDir {
    trained_with(GRU)
}

fn trained_with(pipeline: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = |name: &str| dir.path().join(name);
    std::fs::write(p("train.txt"), TRAIN).expect("write");
    ner_convert::convert(&ner_convert::Config::new(
        p("train.txt"),
        p("train.parquet"),
    ))
    .expect("convert");
    ner_vocab::build(&ner_vocab::Config::new(p("train.parquet"), p("vocab"))).expect("vocab");
    let mut encode = ner_encode::Config::new(
        p("train.parquet"),
        ner_encode::VocabPaths::in_dir(p("vocab")),
        p("train.arrow"),
    );
    encode.batch_size = 2;
    ner_encode::encode(&encode).expect("encode");
    let pipeline: ner_train::config::Pipeline = toml::from_str(pipeline).expect("pipeline");
    let config = ner_train::train::Config {
        name: "tiny".into(),
        pipeline,
        train: p("train.arrow"),
        valid: p("train.arrow"),
        words: p("vocab/words.parquet"),
        tags: p("vocab/tags.parquet"),
        chars: p("vocab/chars.parquet"),
        embeddings: None,
        output_dir: p("model"),
        device: tch::Device::Cpu,
        threads: Some(1),
        progress: false,
        resume: false,
        stop: None,
    };
    ner_train::train::train(&config).expect("train");
    dir
}

fn predict(dir: &Path, args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ner-predict"))
        .current_dir(dir)
        .arg(dir.join("model"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin)
        .expect("write");
    child.wait_with_output().expect("waits")
}

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn path(dir: &Path, name: &str) -> PathBuf {
    dir.join(name)
}

#[test]
fn predicts_every_format_into_every_output() {
    let dir = trained();
    let d = dir.path();

    // Plain text on stdin: bracketed sentences, one per input line.
    let stdout = ok(&predict(
        d,
        &["-"],
        b"EU rejects German call.\nPeter Blackburn\n",
    ));
    assert_eq!(stdout.lines().count(), 2, "{stdout}");

    // CoNLL with gold tags: all three outputs, and the CoNLL output scores.
    let out = predict(
        d,
        &[
            "train.txt",
            "--parquet",
            "p.parquet",
            "--conll",
            "p.conll",
            "--entities",
            "e.jsonl",
        ],
        b"",
    );
    ok(&out);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.starts_with("3 sentences, 8 tokens, "), "{stderr}");
    let conll = std::fs::read_to_string(path(d, "p.conll")).expect("read");
    assert!(conll.starts_with("EU B-ORG "), "{conll}");
    assert_eq!(conll.lines().filter(|l| l.is_empty()).count(), 3);
    let report = ner_score::score_conll(
        Path::new("p.conll"),
        conll.as_bytes(),
        &ner_core::conlleval::Options::default(),
    )
    .expect("conlleval input");
    assert_eq!(report.counts.gold, 4);
    let from_parquet = ner_score::score_predictions(&path(d, "p.parquet")).expect("scores");
    assert_eq!(from_parquet.counts, report.counts);
    for line in std::fs::read_to_string(path(d, "e.jsonl"))
        .expect("read")
        .lines()
    {
        let entity: serde_json::Value = serde_json::from_str(line).expect("json line");
        for key in ["sentence_id", "text", "type", "start", "end"] {
            assert!(entity.get(key).is_some(), "{line}");
        }
    }

    // A sentences Parquet file and a one-column CoNLL file.
    ok(&predict(d, &["train.parquet", "--conll", "-"], b""));
    std::fs::write(path(d, "tokens.conll"), "EU\nrejects\n\nPeter\n").expect("write");
    let stdout = ok(&predict(
        d,
        &["tokens.conll", "--format", "conll", "--conll", "-"],
        b"",
    ));
    assert!(stdout.starts_with("EU "), "{stdout}");
    assert_eq!(stdout.lines().next().map(|l| l.split(' ').count()), Some(2));
}

#[test]
fn refuses_a_changed_vocabulary() {
    let dir = tempfile::tempdir().expect("tempdir");
    let trained = trained();
    let d = trained.path();
    // Rebuild the word vocabulary from other text: same path, other ids.
    std::fs::write(path(dir.path(), "other.txt"), "Other B-PER\nwords O\n").expect("write");
    ner_convert::convert(&ner_convert::Config::new(
        path(dir.path(), "other.txt"),
        path(dir.path(), "other.parquet"),
    ))
    .expect("convert");
    ner_vocab::build(&ner_vocab::Config::new(
        path(dir.path(), "other.parquet"),
        path(d, "vocab"),
    ))
    .expect("vocab");
    let out = predict(d, &["-"], b"EU rejects it\n");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("words.parquet differs from the vocabulary")
            && stderr.contains("config.json"),
        "{stderr}"
    );
}

#[test]
fn a_missing_model_folder_is_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = predict(dir.path(), &["-"], b"x\n");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("model/config.json"), "{stderr}");
}

#[test]
fn a_char_crf_model_predicts_and_scores_unchanged() {
    let dir = trained_with(CHAR_CRF);
    let d = dir.path();
    ok(&predict(d, &["train.txt", "--parquet", "p.parquet"], b""));
    let report = ner_score::score_predictions(&path(d, "p.parquet")).expect("scores");
    // Thirty epochs on eight tokens: the training sentences come back.
    assert_eq!(
        (report.counts.gold, report.counts.correct),
        (4, 4),
        "{report:?}"
    );
    // Unseen words and characters go through <UNK>.
    let stdout = ok(&predict(d, &["-"], "Zürich ÆØÅ qq\n".as_bytes()));
    assert_eq!(stdout.lines().count(), 1);
}
