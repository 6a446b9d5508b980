//! The `ner-score` binary: conlleval's report on stdout, scores.json, errors.

use std::io::Write as _;
use std::process::{Command, Stdio};

fn ner_score(args: &[&str], stdin: &[u8]) -> std::process::Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ner-score"))
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
        .expect("write stdin");
    child.wait_with_output().expect("waits")
}

const INPUT: &[u8] =
    b"-DOCSTART- -X- O O\n\nEU NNP I-ORG I-ORG\nrejects VBZ O O\nGerman JJ I-MISC I-MISC\n\
call NN O O\n\nPeter NNP I-PER I-PER\nBlackburn NNP I-PER I-LOC\n";

#[test]
fn stdout_is_the_conlleval_report() {
    let out = ner_score(&["--conll", "-"], INPUT);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "processed 7 tokens with 3 phrases; found: 4 phrases; correct: 2.\n\
         accuracy:  85.71%; precision:  50.00%; recall:  66.67%; FB1:  57.14\n\
         \x20             LOC: precision:   0.00%; recall:   0.00%; FB1:   0.00  1\n\
         \x20            MISC: precision: 100.00%; recall: 100.00%; FB1: 100.00  1\n\
         \x20             ORG: precision: 100.00%; recall: 100.00%; FB1: 100.00  1\n\
         \x20             PER: precision:   0.00%; recall:   0.00%; FB1:   0.00  1\n"
    );
}

#[test]
fn writes_scores_json_and_details() {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = dir.path().join("pred.conll");
    let json = dir.path().join("scores.json");
    std::fs::write(&input, INPUT).expect("write");
    let out = ner_score(
        &[
            "--conll",
            input.to_str().expect("utf-8"),
            "--json",
            json.to_str().expect("utf-8"),
            "--details",
        ],
        b"",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("\ntoken accuracy: 0.8571; token macro F1: "),
        "{stdout}"
    );
    let scores: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&json).expect("read")).expect("json");
    for key in [
        "precision",
        "recall",
        "f1",
        "accuracy",
        "token_macro_f1",
        "tokens",
        "phrases",
        "found",
        "correct",
        "per_type",
    ] {
        assert!(scores.get(key).is_some(), "{key} missing");
    }
    assert_eq!(scores["per_type"]["MISC"]["correct"], 1);
}

#[test]
fn wrong_column_count_names_file_and_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = dir.path().join("bad.conll");
    std::fs::write(&input, "a NN O O\nb O O\n").expect("write");
    let out = ner_score(&["--conll", input.to_str().expect("utf-8")], b"");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        format!(
            "ner-score: error: {}:2: unexpected number of features: 3 (4 on line 1)\n",
            input.display()
        )
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn unreadable_file_is_named() {
    let out = ner_score(&["--conll", "/nonexistent/pred.conll"], b"");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with("ner-score: error: /nonexistent/pred.conll: "),
        "{stderr}"
    );
}

#[test]
fn a_sentences_file_is_not_a_predictions_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("x.parquet");
    std::fs::write(&path, b"not parquet").expect("write");
    let out = ner_score(&[path.to_str().expect("utf-8")], b"");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("x.parquet"));
}
