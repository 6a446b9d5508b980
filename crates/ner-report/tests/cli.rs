//! `ner-report` on hand-written model folders and scores.

use std::path::Path;
use std::process::Command;

fn write_run(root: &Path, name: &str, f1: f64) {
    let model = root.join("models").join(name);
    let reports = root.join("reports").join(name);
    std::fs::create_dir_all(&model).expect("mkdir");
    std::fs::create_dir_all(&reports).expect("mkdir");
    let pipeline = toml::from_str(
        "description = \"a test model\"\n[model]\ncell = \"rnn\"\nbidirectional = false\n\
         layers = 1\nhidden = 4\ninput = \"onehot\"\n[train]\nepochs = 2\nlr = 0.01\nbatch_size = 2\n",
    )
    .expect("pipeline");
    let card = ner_model::card::ModelCard {
        format_version: ner_core::schema::FORMAT_VERSION,
        created_by: "test".into(),
        name: name.into(),
        pipeline,
        n_words: 10,
        n_tags: 3,
        tags: vec!["O".into(), "B-PER".into(), "I-PER".into()],
        scheme: "iob2".into(),
        lowercase: "false".into(),
        words_file: "words.parquet".into(),
        words_sha256: String::new(),
        tags_file: "tags.parquet".into(),
        tags_sha256: String::new(),
        chars_file: String::new(),
        chars_sha256: String::new(),
        max_word_chars: None,
        vectors: None,
        columns: Vec::new(),
        train_file: "train.arrow".into(),
        valid_file: "valid.arrow".into(),
        n_parameters: 3_041_801,
        epochs_done: 2,
        best_epoch: 2,
    };
    card.write(&ner_model::folder::ModelDir::new(&model))
        .expect("write");
    let mut lines = String::new();
    for epoch in 1..=2 {
        lines.push_str(&format!(
            "{{\"epoch\":{epoch},\"train_loss\":0.5,\"train_acc\":0.9,\"val_acc\":0.9,\"val_macro_f1\":0.7,\
             \"val_entity_f1\":{f1},\"epoch_seconds\":2.0,\"train_seconds\":1.5,\"forward_seconds\":0.5,\
             \"backward_seconds\":0.5,\"optimizer_seconds\":0.5}}\n"
        ));
    }
    std::fs::write(model.join("metrics.jsonl"), lines).expect("write");
    let report = ner_score::score_conll(
        Path::new("t"),
        b"a B-PER B-PER\nb I-PER O\nc B-LOC B-LOC\n",
        &ner_core::conlleval::Options::default(),
    )
    .expect("scores");
    for split in ["valid", "test"] {
        ner_score::write_json(&report, &reports.join(format!("{split}.scores.json")))
            .expect("json");
    }
}

#[test]
fn writes_the_table() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_run(dir.path(), "alpha", 0.4);
    write_run(dir.path(), "beta", 0.5);
    let out = Command::new(env!("CARGO_BIN_EXE_ner-report"))
        .current_dir(dir.path())
        .args(["alpha", "beta"])
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let table = std::fs::read_to_string(dir.path().join("reports/compare.md")).expect("read");
    assert!(
        table.contains(
            "| alpha | 3,041,801 | 2 (2) | 2.0 | 0.1 | 0.5000 | 0.5000 | 50.00 | 50.00 | 0.00 | 100.00 |"
        ),
        "{table}"
    );
    assert!(table.contains("| test PER | test LOC |"), "{table}");
}

#[test]
fn a_missing_score_file_is_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_run(dir.path(), "alpha", 0.4);
    std::fs::remove_file(dir.path().join("reports/alpha/test.scores.json")).expect("rm");
    let out = Command::new(env!("CARGO_BIN_EXE_ner-report"))
        .current_dir(dir.path())
        .arg("alpha")
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("reports/alpha/test.scores.json"));
    assert!(!dir.path().join("reports/compare.md").exists());
}

#[test]
fn seed_runs_get_a_mean_row() {
    let dir = tempfile::tempdir().expect("tempdir");
    for seed in 1..=3 {
        write_run(dir.path(), &format!("crf.seed{seed}"), 0.5);
    }
    let out = Command::new(env!("CARGO_BIN_EXE_ner-report"))
        .current_dir(dir.path())
        .args(["crf.seed1", "crf.seed2", "crf.seed3"])
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let table = std::fs::read_to_string(dir.path().join("reports/compare.md")).expect("read");
    assert!(
        table.contains("| **crf mean ± sd (3 seeds)** | | | 2.0 | 0.1 | 0.5000 ± 0.0000 | 0.5000 ± 0.0000 | **50.00 ± 0.00** | **50.00 ± 0.00** |"),
        "{table}"
    );
    assert!(
        table.contains("| crf.seed2 | 0.00 / 0.00 | 100.00 / 100.00 |"),
        "{table}"
    );
}
