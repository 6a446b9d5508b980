//! `ner-predict` on a tiny trained model: every input format, every output,
//! and the vocabulary check.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use ner_core::scheme::TagScheme;

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
    trained_on(TRAIN, TagScheme::Iob2, pipeline)
}

/// A model trained on `corpus` converted to `scheme`, validated on the
/// training batches.
fn trained_on(corpus: &str, scheme: TagScheme, pipeline: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = |name: &str| dir.path().join(name);
    std::fs::write(p("train.txt"), corpus).expect("write");
    let mut convert = ner_convert::Config::new(p("train.txt"), p("train.parquet"));
    convert.output_scheme = scheme;
    ner_convert::convert(&convert).expect("convert");
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
    // libtorch's generator is global: tests training at once would share it.
    static TRAINING: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one_at_a_time = TRAINING.lock().unwrap_or_else(|e| e.into_inner());
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
    // A run that fails before reading its input (a missing model folder)
    // closes the pipe: the error is in its output, not in this write.
    match child.stdin.take().expect("stdin").write_all(stdin) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
        other => other.expect("write"),
    }
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

/// Every entity type with all four BIOES prefixes (B, I, E in "John Smith
/// Jr", S in "Paris"), so the BIOES vocabulary of the converted data holds
/// the same seventeen-style tag set a BIOES model derives from IOB2 tags.
const ALL_PREFIXES: &str = "\
John B-PER
Smith I-PER
Jr I-PER
visited O
Paris B-LOC

New B-LOC
York I-LOC
City I-LOC
and O
Bob B-PER
";

/// `model.tag_scheme = "bioes"` on IOB2 batches trains exactly the model
/// that plain training on batches converted to BIOES does (same weights,
/// bit for bit, same losses), and predicts in IOB2.
#[test]
fn a_bioes_model_on_iob2_data_is_the_model_trained_on_bioes_data() {
    let bioes_inside = CHAR_CRF.replace(
        "output = \"crf\"",
        "output = \"crf\"\ntag_scheme = \"bioes\"",
    );
    assert_ne!(bioes_inside, CHAR_CRF);
    let inside = trained_on(ALL_PREFIXES, TagScheme::Iob2, &bioes_inside);
    let converted = trained_on(ALL_PREFIXES, TagScheme::Bioes, CHAR_CRF);
    let weights = |dir: &tempfile::TempDir| {
        std::fs::read(dir.path().join("model/model.safetensors")).expect("weights")
    };
    assert!(
        weights(&inside) == weights(&converted),
        "the weights differ"
    );
    let metrics = |dir: &tempfile::TempDir| {
        ner_train::train::read_metrics(&dir.path().join("model/metrics.jsonl"))
            .expect("metrics")
            .iter()
            .map(|m| (m.train_loss, m.val_entity_f1))
            .collect::<Vec<_>>()
    };
    let (a, b) = (metrics(&inside), metrics(&converted));
    assert_eq!(
        a.iter().map(|m| m.0).collect::<Vec<_>>(),
        b.iter().map(|m| m.0).collect::<Vec<_>>()
    );
    // Validation scores the IOB2 rewriting of each decoded sentence; the
    // two agree once the decoded BIOES sequences are well formed (the first
    // epochs' need not be, and conlleval reads those another way).
    assert_eq!(a.last(), b.last());

    let d = inside.path();
    ok(&predict(
        d,
        &["train.txt", "--parquet", "p.parquet", "--conll", "p.conll"],
        b"",
    ));
    let conll = std::fs::read_to_string(path(d, "p.conll")).expect("conll");
    assert!(
        conll.contains("B-PER") && conll.contains("I-PER"),
        "{conll}"
    );
    assert!(
        !conll.contains("E-") && !conll.contains("S-"),
        "predictions come out in the data's scheme: {conll}"
    );
    let report = ner_score::score_predictions(&path(d, "p.parquet")).expect("scores");
    assert_eq!(
        (report.counts.gold, report.counts.correct),
        (4, 4),
        "{report:?}"
    );
}

#[test]
fn the_binary_does_not_load_libtorch() {
    // The tests link libtorch (they train models); the binary must not.
    let out = Command::new("ldd")
        .arg(env!("CARGO_BIN_EXE_ner-predict"))
        .output()
        .expect("ldd (glibc's) runs");
    let libraries = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "ldd failed: {libraries}");
    assert!(libraries.contains("libc.so"), "{libraries}");
    assert!(
        !libraries.contains("torch"),
        "ner-predict links libtorch:\n{libraries}"
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let out = predict(dir.path(), &["-", "--device", "cuda"], b"");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("runs on the CPU without libtorch"),
        "{stderr}"
    );
}
