//! The `ner-gates` binary on a small setting.

use std::process::Command;

#[test]
fn runs_and_writes_its_outputs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = Command::new(env!("CARGO_BIN_EXE_ner-gates"))
        .args([
            "--lengths",
            "5",
            "--steps",
            "5",
            "--hidden",
            "4",
            "--threads",
            "1",
            "-o",
        ])
        .arg(dir.path())
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        stdout.lines().filter(|l| l.contains("     5  ")).count(),
        3,
        "{stdout}"
    );
    for file in ["gates.json", "accuracy.md", "gradients.png"] {
        assert!(dir.path().join(file).exists(), "{file}");
    }
}
