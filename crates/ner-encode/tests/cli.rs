//! The `ner-encode` binary: exit codes and messages.

use std::process::Command;

#[test]
fn encodes_and_refuses_bad_arguments() {
    let dir = tempfile::tempdir().expect("tempdir");
    let corpus = dir.path().join("train.txt");
    let sentences = dir.path().join("train.parquet");
    std::fs::write(&corpus, "a B-PER\nb O\n\na O\n").expect("write");
    ner_convert::convert(&ner_convert::Config::new(&corpus, &sentences)).expect("convert");
    let vocab = dir.path().join("vocab");
    ner_vocab::build(&ner_vocab::Config::new(&sentences, &vocab)).expect("vocab");
    let output = dir.path().join("train.arrow");
    let run = |extra: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_ner-encode"))
            .arg(&sentences)
            .arg("--vocab-dir")
            .arg(&vocab)
            .arg("--output")
            .arg(&output)
            .args(extra)
            .output()
            .expect("runs")
    };
    let out = run(&["--order", "sequential", "--threads", "2"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("2 sentences, 3 tokens in 1 sequential batches"),
        "{stdout}"
    );
    assert!(
        stdout.contains("padding ratio 25.00%, OOV rate 0.00% (0 tokens)"),
        "{stdout}"
    );

    let out = run(&["--order", "random"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown order 'random'"));

    for flag in ["--batch-size", "--threads"] {
        let out = run(&[flag, "0"]);
        assert_eq!(out.status.code(), Some(2));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains(&format!("invalid value '0' for '{flag}")),
            "{stderr}"
        );
    }
}
