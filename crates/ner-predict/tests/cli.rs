//! `ner-predict` on model folders written without libtorch
//! (`ner-fixtures`: the layout `ner-train` writes, deterministic weights):
//! every input format, every output, the vocabulary checks, and a folder
//! that works from anywhere. Models trained by `ner-train` are
//! `ner-parity`'s.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use ner_fixtures::{Fixture, BIGRU, CHAR_CRF};

/// A folder with the corpus (`train.txt`, `train.parquet`), its
/// vocabularies and a model folder `model/`.
fn fixture() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    Fixture::new(dir.path())
        .model(BIGRU)
        .expect("fixture model");
    dir
}

fn predict(dir: &Path, args: &[&str], stdin: &[u8]) -> Output {
    predict_with(dir, &dir.join("model"), args, stdin)
}

/// Runs `ner-predict MODEL ARGS…` in `dir`.
fn predict_with(dir: &Path, model: &Path, args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ner-predict"))
        .current_dir(dir)
        .arg(model)
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
    let dir = fixture();
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

/// `--sentences` lines: per sentence its id, tokens, tags and their
/// probabilities, the entities of the entities output, and with
/// `--nbest K` the K best paths, the first the 1-best, most probable first.
#[test]
fn sentence_lines_carry_the_n_best_paths() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let model = Fixture::new(d).model(CHAR_CRF).expect("fixture model");
    let args = [
        "train.txt",
        "--sentences",
        "s.jsonl",
        "--entities",
        "e.jsonl",
        "--nbest",
        "3",
    ];
    ok(&predict_with(d, model.root(), &args, b""));
    let read = |name: &str| -> Vec<serde_json::Value> {
        std::fs::read_to_string(path(d, name))
            .expect("read")
            .lines()
            .map(|l| serde_json::from_str(l).expect("json line"))
            .collect()
    };
    let sentences = read("s.jsonl");
    assert_eq!(sentences.len(), 3);
    let mut entities = Vec::new();
    for (i, s) in sentences.iter().enumerate() {
        assert_eq!(s["sentence_id"], i);
        let n = s["tokens"].as_array().expect("tokens").len();
        assert_eq!(s["tags"].as_array().expect("tags").len(), n);
        assert_eq!(s["probs"].as_array().expect("probs").len(), n);
        let nbest = s["nbest"].as_array().expect("nbest");
        assert_eq!(nbest.len(), 3, "{s}");
        assert_eq!(nbest[0]["tags"], s["tags"]);
        let p: Vec<f64> = nbest
            .iter()
            .map(|path| path["probability"].as_f64().expect("probability"))
            .collect();
        assert!(p.windows(2).all(|w| w[0] >= w[1]) && p.iter().sum::<f64>() <= 1.0 + 1e-9);
        for e in s["entities"].as_array().expect("entities") {
            let mut e = e.clone();
            e["sentence_id"] = s["sentence_id"].clone();
            entities.push(e);
        }
    }
    let lines = read("e.jsonl");
    assert_eq!(lines.len(), entities.len());
    assert!(lines.iter().all(|e| entities.contains(e)), "{lines:?}");
}

#[test]
fn refuses_a_changed_vocabulary() {
    let dir = tempfile::tempdir().expect("tempdir");
    let fixture = fixture();
    let d = fixture.path();
    // Rebuild the model's word vocabulary from other text: same path, other ids.
    std::fs::write(path(dir.path(), "other.txt"), "Other B-PER\nwords O\n").expect("write");
    ner_convert::convert(&ner_convert::Config::new(
        path(dir.path(), "other.txt"),
        path(dir.path(), "other.parquet"),
    ))
    .expect("convert");
    ner_vocab::build(&ner_vocab::Config::new(
        path(dir.path(), "other.parquet"),
        path(d, "model/vocab"),
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
fn a_model_folder_works_from_anywhere_and_after_a_copy() {
    let fixture = fixture();
    let d = fixture.path();
    let here = ok(&predict(d, &["train.txt", "--conll", "-"], b""));
    // Another working directory, and the folder copied elsewhere with the
    // corpus's vocabulary folder gone.
    let elsewhere = tempfile::tempdir().expect("tempdir");
    let copy = elsewhere.path().join("copied");
    copy_dir(&d.join("model"), &copy);
    std::fs::remove_dir_all(d.join("vocab")).expect("rm vocab");
    let there = ok(&predict_with(
        elsewhere.path(),
        &copy,
        &[d.join("train.txt").to_str().expect("utf-8"), "--conll", "-"],
        b"",
    ));
    assert_eq!(here, there);
    // Without its vocabularies the folder is refused, naming the file.
    std::fs::remove_file(copy.join("vocab/chars.parquet")).expect("rm");
    std::fs::remove_dir_all(copy.join("vocab")).expect("rm");
    let out = predict_with(elsewhere.path(), &copy, &["-"], b"EU\n");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("words.parquet") && stderr.contains("does not exist here"),
        "{stderr}"
    );
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("ls") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).expect("cp");
        }
    }
}

#[test]
fn the_binary_does_not_load_libtorch() {
    // Neither the binary nor these tests link libtorch.
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

/// `--consistency W` decodes a softmax model's documents too (text: a
/// blank line ends one), and a weight that is not a number of 0 or more
/// is refused before anything is read.
#[test]
fn document_consistency_takes_a_weight() {
    let fixture = fixture();
    let d = fixture.path();
    let text = b"EU rejects German call\nPeter Blackburn said EU\n\nEU again\n";
    let out = ok(&predict(
        d,
        &["-", "--consistency", "10", "--parquet", "p.parquet"],
        text,
    ));
    assert!(out.is_empty(), "{out}");
    let rows = ner_core::tables::PredictionRows::read(&path(d, "p.parquet")).expect("read");
    assert_eq!(rows.len(), 3);
    assert_eq!(
        rows.metadata.get(ner_core::schema::keys::CONSISTENCY),
        Some("10")
    );
    for probs in &rows.probs {
        assert!(probs.iter().all(|&p| p > 0.0 && p <= 1.0), "{probs:?}");
    }
    for bad in ["-1", "nan", "x"] {
        let out = predict(d, &["-", &format!("--consistency={bad}")], text);
        assert_eq!(out.status.code(), Some(2), "{bad}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("--consistency") && stderr.contains("is not a weight"),
            "{stderr}"
        );
    }
}
