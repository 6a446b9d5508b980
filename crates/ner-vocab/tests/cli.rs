//! The `ner-vocab` binary: exit codes and messages.

use std::process::Command;

#[test]
fn missing_input_is_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = dir.path().join("nope.parquet");
    let out = Command::new(env!("CARGO_BIN_EXE_ner-vocab"))
        .arg(&missing)
        .arg("--output-dir")
        .arg(dir.path().join("vocab"))
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        format!(
            "ner-vocab: error: {}: No such file or directory (os error 2)\n",
            missing.display()
        )
    );
    assert!(!dir.path().join("vocab").exists());
}

#[test]
fn builds_from_a_sentences_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let corpus = dir.path().join("train.txt");
    let sentences = dir.path().join("train.parquet");
    std::fs::write(&corpus, "a B-PER\nb O\n\na O\n").expect("write");
    ner_convert::convert(&ner_convert::Config::new(&corpus, &sentences)).expect("convert");
    let out = Command::new(env!("CARGO_BIN_EXE_ner-vocab"))
        .arg(&sentences)
        .arg("-o")
        .arg(dir.path().join("vocab"))
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("words 4 (specials included), chars 4, tags 2"),
        "{stdout}"
    );
    for table in ["words", "chars", "tags"] {
        assert!(dir.path().join(format!("vocab/{table}.parquet")).exists());
    }
}
