//! The `ner-convert` binary: exit codes, messages, and the atomic output.

use std::process::Command;

fn ner_convert(args: &[&std::ffi::OsStr]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_ner-convert"))
        .args(args)
        .output()
        .expect("runs")
}

#[test]
fn converts_and_reports() {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = dir.path().join("in.txt");
    let output = dir.path().join("out.parquet");
    std::fs::write(&input, "a NN I-PER\nb NN I-PER\n\nc NN O\n").expect("write");
    let out = ner_convert(&[input.as_os_str(), "--output".as_ref(), output.as_os_str()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        stdout,
        format!(
            "{} -> {}\n  2 sentences, 3 tokens, 1 documents\n  tags: iob1 (detected) -> iob2\n  entities: PER 1 (total 1)\n",
            input.display(),
            output.display()
        )
    );
    assert!(output.exists());
}

#[test]
fn bad_input_exits_non_zero_with_file_and_line_and_keeps_old_output() {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = dir.path().join("in.txt");
    let output = dir.path().join("out.parquet");
    std::fs::write(&output, "old").expect("write");
    std::fs::write(&input, "a NN O\nb NN X-PER\n").expect("write");
    let out = ner_convert(&[input.as_os_str(), "-o".as_ref(), output.as_os_str()]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        format!(
            "ner-convert: error: {}:2: invalid tag 'X-PER': expected 'O' or a B-, I-, E- or S- prefix followed by an entity type (column 3)\n",
            input.display()
        )
    );
    assert_eq!(std::fs::read(&output).expect("read"), b"old");
}

#[test]
fn unknown_scheme_is_a_usage_error() {
    let out = ner_convert(&[
        "x".as_ref(),
        "-o".as_ref(),
        "y".as_ref(),
        "--scheme".as_ref(),
        "bilou".as_ref(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown tag scheme 'bilou'"));
}
