//! `ner-train` end to end on a tiny corpus: the model folder it writes, and
//! the inputs it refuses.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

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

struct Fixture {
    dir: tempfile::TempDir,
}

impl Fixture {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let fx = Fixture { dir };
        let sentences = fx.convert("train", TRAIN);
        ner_vocab::build(&ner_vocab::Config::new(&sentences, fx.path("vocab"))).expect("vocab");
        for split in ["train", "valid"] {
            let mut config = ner_encode::Config::new(
                fx.path("train.parquet"),
                ner_encode::VocabPaths::in_dir(fx.path("vocab")),
                fx.path(&format!("{split}.arrow")),
            );
            config.batch_size = 2;
            ner_encode::encode(&config).expect("encode");
        }
        std::fs::write(
            fx.path("tiny.toml"),
            "description = \"tiny\"\n[model]\ncell = \"lstm\"\nbidirectional = true\nlayers = 2\n\
             hidden = 8\ninput = \"onehot\"\n[train]\nepochs = 3\nlr = 0.01\nbatch_size = 2\n",
        )
        .expect("pipeline");
        fx
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Rewrites the fixture's pipeline file (`tiny.toml`) as `edit` says.
    fn edit_pipeline(&self, edit: impl FnOnce(&str) -> String) {
        let path = self.path("tiny.toml");
        let text = std::fs::read_to_string(&path).expect("read");
        std::fs::write(&path, edit(&text)).expect("write");
    }

    fn convert(&self, name: &str, text: &str) -> PathBuf {
        let input = self.path(&format!("{name}.txt"));
        std::fs::write(&input, text).expect("write");
        let output = self.path(&format!("{name}.parquet"));
        ner_convert::convert(&ner_convert::Config::new(&input, &output)).expect("convert");
        output
    }

    fn train(&self, extra: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_ner-train"))
            .arg("--pipeline")
            .arg(self.path("tiny.toml"))
            .arg("--train")
            .arg(self.path("train.arrow"))
            .arg("--valid")
            .arg(self.path("valid.arrow"))
            .arg("--vocab-dir")
            .arg(self.path("vocab"))
            .arg("--output")
            .arg(self.path("model"))
            .args(["--device", "cpu", "--no-progress"])
            .args(extra)
            .output()
            .expect("runs")
    }
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn writes_a_complete_model_folder() {
    let fx = Fixture::new();
    let out = fx.train(&[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(
            "epoch  train_loss  train_acc  val_acc  val_macro_f1  val_entity_f1  seconds"
        ),
        "{stdout}"
    );
    let model = fx.path("model");
    for file in [
        "model.safetensors",
        "best.safetensors",
        "config.json",
        "metrics.jsonl",
        "curves.png",
    ] {
        assert!(model.join(file).exists(), "{file} missing");
    }
    let metrics = ner_train::trainer::read_metrics(&model.join("metrics.jsonl")).expect("metrics");
    assert_eq!(
        metrics.iter().map(|m| m.epoch).collect::<Vec<_>>(),
        [1, 2, 3]
    );
    assert!(
        metrics[2].train_loss < metrics[0].train_loss,
        "the loss goes down: {metrics:?}"
    );
    let config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(model.join("config.json")).expect("read"))
            .expect("json");
    assert_eq!(config["n_words"], 2 + 8);
    assert_eq!(config["tags"][0], "O");
    assert_eq!(config["epochs_done"], 3);
    assert_eq!(config["pipeline"]["model"]["cell"], "lstm");
    // Readable names in the safetensors header.
    let weights = std::fs::read(model.join("model.safetensors")).expect("read");
    let header_len = u64::from_le_bytes(weights[..8].try_into().expect("8 bytes")) as usize;
    let header = String::from_utf8_lossy(&weights[8..8 + header_len]);
    for name in [
        "onehot.weight_ih_l0",
        "onehot.weight_ih_l0_reverse",
        "rnn.weight_hh_l1_reverse",
        "output.weight",
    ] {
        assert!(
            header.contains(&format!("\"{name}\"")),
            "{name} not in {header}"
        );
    }
    let leftovers: Vec<_> = std::fs::read_dir(&model)
        .expect("ls")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
}

#[test]
fn same_seed_same_numbers() {
    let fx = Fixture::new();
    let read = |fx: &Fixture| {
        let out = fx.train(&["--epochs", "2"]);
        assert!(out.status.success(), "{}", stderr(&out));
        ner_train::trainer::read_metrics(&fx.path("model/metrics.jsonl"))
            .expect("metrics")
            .iter()
            .map(|m| (m.train_loss, m.val_macro_f1))
            .collect::<Vec<_>>()
    };
    assert_eq!(read(&fx), read(&fx));
}

#[test]
fn refuses_batches_from_another_vocabulary() {
    let fx = Fixture::new();
    // A new vocabulary from other text: the batches no longer match it.
    let other = fx.convert("other", "Paris B-LOC\nis O\n");
    ner_vocab::build(&ner_vocab::Config::new(&other, fx.path("vocab"))).expect("vocab");
    let out = fx.train(&[]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains(&format!(
            "{} was encoded with another vocabulary than {}",
            fx.path("train.arrow").display(),
            fx.path("vocab").join("words.parquet").display()
        )),
        "{err}"
    );
    assert!(!fx.path("model").exists());
}

#[test]
fn a_pipeline_asking_for_lowercased_words_refuses_a_cased_vocabulary() {
    let fx = Fixture::new();
    fx.edit_pipeline(|text| format!("{text}[data]\nlowercase = true\n"));
    let out = fx.train(&[]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains(&format!(
            "the pipeline asks for lower-cased words ([data] lowercase = true), but {} was built without --lowercase",
            fx.path("vocab").join("words.parquet").display()
        )),
        "{err}"
    );
    assert!(!fx.path("model").exists());
    // Case-sensitive, as built: trains.
    fx.edit_pipeline(|text| text.replace("lowercase = true", "lowercase = false"));
    let out = fx.train(&["--epochs", "1"]);
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn unknown_pipeline_keys_are_errors() {
    let fx = Fixture::new();
    fx.edit_pipeline(|text| text.replace("hidden = 8", "hidden = 8\nhiden = 9"));
    let out = fx.train(&[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("unknown field `hiden`"),
        "{}",
        stderr(&out)
    );
    let _ = Path::new("");
}

#[test]
fn char_crf_tagger_trains_and_learns_the_training_set() {
    let fx = Fixture::new();
    for (encoder, extra) in [("cnn", ""), ("lstm", "char_hidden = 6\n")] {
        std::fs::write(
            fx.path("crf.toml"),
            format!(
                "[model]\ncell = \"lstm\"\nbidirectional = true\nlayers = 1\nhidden = 16\n\
                 input = \"embedding\"\nembedding_dim = 8\ndropout = 0.1\nchars = \"{encoder}\"\n\
                 char_dim = 6\n{extra}casing_dim = 3\noutput = \"crf\"\n\
                 [train]\nepochs = 40\nlr = 0.02\nbatch_size = 2\nclip = 5.0\nunk_replace = 0.1\n\
                 schedule = \"decay\"\nlr_decay = 0.01\n"
            ),
        )
        .expect("pipeline");
        let out = Command::new(env!("CARGO_BIN_EXE_ner-train"))
            .arg("--pipeline")
            .arg(fx.path("crf.toml"))
            .arg("--train")
            .arg(fx.path("train.arrow"))
            .arg("--valid")
            .arg(fx.path("train.arrow"))
            .arg("--vocab-dir")
            .arg(fx.path("vocab"))
            .arg("--output")
            .arg(fx.path("crf"))
            .args(["--device", "cpu", "--no-progress", "--threads", "1"])
            .output()
            .expect("runs");
        assert!(out.status.success(), "{}", stderr(&out));
        let metrics =
            ner_train::trainer::read_metrics(&fx.path("crf/metrics.jsonl")).expect("metrics");
        let last = metrics.last().expect("epochs");
        // Eight training tokens, four entities: a CRF tagger fits them.
        assert_eq!(last.val_entity_f1, 1.0, "{encoder}: {metrics:?}");
        let weights = std::fs::read(fx.path("crf/model.safetensors")).expect("read");
        let header_len = u64::from_le_bytes(weights[..8].try_into().expect("8 bytes")) as usize;
        let header = String::from_utf8_lossy(&weights[8..8 + header_len]);
        for name in [
            "crf.transitions",
            "crf.start",
            "crf.end",
            "casing.embedding.weight",
            "chars.embedding.weight",
        ] {
            assert!(
                header.contains(&format!("\"{name}\"")),
                "{name} not in {header}"
            );
        }
    }
}

#[test]
fn a_pipeline_asking_for_bucketed_batches_refuses_shuffled_ones() {
    let fx = Fixture::new();
    fx.edit_pipeline(|text| format!("{text}batch_order = \"bucket\"\n"));
    let out = fx.train(&[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("was encoded in 'shuffle' order, the pipeline asks for 'bucket'"),
        "{}",
        stderr(&out)
    );
}
