//! Interrupting and resuming `ner-train`: exact continuation at epoch
//! boundaries and mid-epoch, real signals, SIGKILL at random points, NaN
//! losses, the model-folder lock and refusing another run's checkpoint.
//!
//! The tagger here uses every source of state a run carries: embeddings,
//! character CNN, dropout and word dropout (libtorch's RNG), shuffled batches
//! (the order generator), Adam's moments, a CRF and the weight average.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use ner_core::rng::SplitMix64;
use ner_train::trainer::EpochMetrics;

const SENTENCES: &[&str] = &[
    "EU B-ORG\nrejects O\nGerman B-MISC\ncall O\n",
    "Peter B-PER\nBlackburn I-PER\n",
    "BRUSSELS B-LOC\n1996-08-22 O\n",
    "The O\nEuropean B-ORG\nCommission I-ORG\nsaid O\non O\nThursday O\n",
    "Germany B-LOC\n's O\nrepresentative O\nto O\nthe O\nEU B-ORG\n",
    "Werner B-PER\nZwingmann I-PER\nsaid O\n",
    "Britain B-LOC\nbacked O\nFischler B-PER\n's O\nproposal O\n",
    "Spanish B-MISC\nFarm O\nMinister O\nLoyola B-PER\nde I-PER\nPalacio I-PER\n",
    "France B-LOC\nand O\nBritain B-LOC\nsaid O\nno O\n",
    "Reuters B-ORG\nreported O\n",
    "Rabinovich B-PER\nis O\nwinding O\nup O\n",
    "Israel B-LOC\ntalks O\nwith O\nSyria B-LOC\n",
];

const PIPELINE: &str = r#"description = "resume test"
[model]
cell = "lstm"
bidirectional = true
layers = 1
hidden = 8
input = "embedding"
embedding_dim = 6
dropout = 0.5
chars = "cnn"
char_dim = 4
char_hidden = 5
char_kernel = 3
casing_dim = 2
output = "crf"
[train]
epochs = 4
lr = 0.01
batch_size = 2
seed = 3
clip = 5.0
unk_replace = 0.3
average = 0.9
"#;

struct Fixture {
    dir: tempfile::TempDir,
}

impl Fixture {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let fx = Fixture { dir };
        let text = SENTENCES.join("\n");
        std::fs::write(fx.path("train.txt"), text).expect("write");
        ner_convert::convert(&ner_convert::Config::new(
            fx.path("train.txt"),
            fx.path("train.parquet"),
        ))
        .expect("convert");
        ner_vocab::build(&ner_vocab::Config::new(
            fx.path("train.parquet"),
            fx.path("vocab"),
        ))
        .expect("vocab");
        fx.encode("train.arrow", 0);
        fx.encode("valid.arrow", 0);
        std::fs::write(fx.path("pipeline.toml"), PIPELINE).expect("pipeline");
        fx
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Encodes the training sentences into `name`, in batches of 2 shuffled
    /// with `seed`.
    fn encode(&self, name: &str, seed: u64) {
        let mut config = ner_encode::Config::new(
            self.path("train.parquet"),
            ner_encode::VocabPaths::in_dir(self.path("vocab")),
            self.path(name),
        );
        config.batch_size = 2;
        config.seed = seed;
        ner_encode::encode(&config).expect("encode");
    }

    fn command(&self, model: &str, extra: &[&str], env: &[(&str, &str)]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_ner-train"));
        command
            .arg("--pipeline")
            .arg(self.path("pipeline.toml"))
            .arg("--train")
            .arg(self.path("train.arrow"))
            .arg("--valid")
            .arg(self.path("valid.arrow"))
            .arg("--vocab-dir")
            .arg(self.path("vocab"))
            .arg("--output")
            .arg(self.path(model))
            .args(["--device", "cpu", "--no-progress", "--threads", "1"])
            .args(extra)
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        command
    }

    fn train(&self, model: &str, extra: &[&str], env: &[(&str, &str)]) -> Output {
        self.command(model, extra, env).output().expect("runs")
    }

    /// An uninterrupted run into `model`.
    fn reference(&self, model: &str) {
        let out = self.train(model, &[], &[]);
        assert!(out.status.success(), "{}", text(&out.stderr));
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A weights file as sorted (name, values).
fn weights(path: &Path) -> BTreeMap<String, Vec<f32>> {
    tch::Tensor::read_safetensors(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .into_iter()
        .map(|(name, t)| {
            let values = Vec::<f32>::try_from(&t.view([-1])).expect("f32");
            (name, values)
        })
        .collect()
}

/// The metrics a resumed run must reproduce (not the times).
fn scores(dir: &Path) -> Vec<(usize, f64, f64, f64, f64, f64)> {
    let metrics: Vec<EpochMetrics> =
        ner_train::trainer::read_metrics(&dir.join("metrics.jsonl")).expect("metrics");
    metrics
        .iter()
        .map(|m| {
            (
                m.epoch,
                m.train_loss,
                m.train_acc,
                m.val_acc,
                m.val_macro_f1,
                m.val_entity_f1,
            )
        })
        .collect()
}

fn assert_same_run(a: &Path, b: &Path) {
    assert_eq!(scores(a), scores(b), "metrics differ");
    for file in ["model.safetensors", "best.safetensors"] {
        assert!(
            weights(&a.join(file)) == weights(&b.join(file)),
            "{file} differs"
        );
    }
    let card = |dir: &Path| -> serde_json::Value {
        let mut v: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.join("config.json")).expect("card"))
                .expect("json");
        for key in ["train_file", "valid_file", "created_by"] {
            v[key] = serde_json::Value::Null;
        }
        v
    };
    assert_eq!(card(a), card(b));
    assert!(
        !b.join("resume.safetensors").exists(),
        "finished runs leave no checkpoint"
    );
}

#[test]
fn resuming_at_an_epoch_boundary_reproduces_the_uninterrupted_run() {
    let fx = Fixture::new();
    fx.reference("straight");
    // Stopped once epoch 2 is complete (0 steps of epoch 3 done).
    let out = fx.train("resumed", &[], &[("NER_TRAIN_INJECT_STOP", "3:0")]);
    assert_eq!(out.status.code(), Some(130), "{}", text(&out.stderr));
    let message = text(&out.stderr);
    assert!(
        message.contains("interrupted at epoch 3, step 0 of 6"),
        "{message}"
    );
    assert!(
        message.contains("--resume") && message.contains("RESUME=1"),
        "{message}"
    );
    assert!(fx.path("resumed/resume.safetensors").exists());
    assert_eq!(scores(&fx.path("resumed")).len(), 2);
    let out = fx.train("resumed", &["--resume"], &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("resuming from"),
        "{}",
        text(&out.stdout)
    );
    assert_same_run(&fx.path("straight"), &fx.path("resumed"));
}

#[test]
fn resuming_mid_epoch_continues_from_the_interrupted_step() {
    let fx = Fixture::new();
    fx.reference("straight");
    // Stopped twice inside epochs (after 3 steps of epoch 2, then 5 of epoch 3).
    let out = fx.train("resumed", &[], &[("NER_TRAIN_INJECT_STOP", "2:3")]);
    assert_eq!(out.status.code(), Some(130), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("epoch 2, step 3 of 6"));
    let out = fx.train(
        "resumed",
        &["--resume"],
        &[("NER_TRAIN_INJECT_STOP", "3:5")],
    );
    assert_eq!(out.status.code(), Some(130), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("epoch 2, step 3"),
        "{}",
        text(&out.stdout)
    );
    let out = fx.train("resumed", &["--resume"], &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("epoch 3, step 5"),
        "{}",
        text(&out.stdout)
    );
    assert_same_run(&fx.path("straight"), &fx.path("resumed"));
}

#[test]
fn sigterm_writes_a_checkpoint_and_resume_finishes_the_run() {
    let fx = Fixture::new();
    let slow = PIPELINE.replace("epochs = 4", "epochs = 60");
    std::fs::write(fx.path("pipeline.toml"), &slow).expect("pipeline");
    fx.reference("straight");
    let child = fx.command("resumed", &[], &[]).spawn().expect("spawn");
    // Wait until training is under way (the first epoch's metrics exist).
    let started = Instant::now();
    while !fx.path("resumed/metrics.jsonl").exists() {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no epoch finished"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    signal(child.id(), "TERM");
    let out = child.wait_with_output().expect("wait");
    assert_eq!(out.status.code(), Some(130), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("interrupted at epoch"));
    let done = scores(&fx.path("resumed")).len();
    assert!(done < 60, "the run stopped early ({done} epochs)");
    let out = fx.train("resumed", &["--resume"], &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_same_run(&fx.path("straight"), &fx.path("resumed"));
}

/// SIGKILL at random moments, several times in a row, then a resume: the run
/// completes identically, and after every kill each file in the model folder
/// is a complete version.
#[test]
fn sigkill_at_random_points_then_resume() {
    let fx = Fixture::new();
    let slow = PIPELINE.replace("epochs = 4", "epochs = 30");
    std::fs::write(fx.path("pipeline.toml"), &slow).expect("pipeline");
    let started = Instant::now();
    fx.reference("straight");
    let full = started.elapsed();
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(1, |d| d.as_nanos() as u64);
    eprintln!("kill schedule seed {seed}, uninterrupted run {full:?}");
    let mut rng = SplitMix64::new(seed);
    let model = fx.path("killed");
    for _ in 0..6 {
        let delay = Duration::from_micros(rng.below(full.as_micros() as u64 + 1));
        let mut child = fx
            .command("killed", &["--resume"], &[])
            .spawn()
            .expect("spawn");
        std::thread::sleep(delay);
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
        check_complete_files(&model);
    }
    let out = fx.train("killed", &["--resume"], &[]);
    assert!(out.status.success(), "seed {seed}: {}", text(&out.stderr));
    assert_same_run(&fx.path("straight"), &model);
}

/// Every file present is readable in full; no temporary file survives the
/// next run.
fn check_complete_files(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return; // killed before the folder was made
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue; // a temporary file of the killed write; removed at the next start
        }
        match name.as_str() {
            "model.safetensors" | "best.safetensors" | "resume.safetensors" => {
                tch::Tensor::read_safetensors(&path)
                    .unwrap_or_else(|e| panic!("{name} incomplete: {e}"));
            }
            "config.json" => {
                serde_json::from_slice::<serde_json::Value>(&std::fs::read(&path).expect("read"))
                    .unwrap_or_else(|e| panic!("config.json incomplete: {e}"));
            }
            "metrics.jsonl" => {
                ner_train::trainer::read_metrics(&path).expect("metrics.jsonl complete");
            }
            "curves.png" => {
                let bytes = std::fs::read(&path).expect("read");
                assert!(
                    bytes.ends_with(&[0xAE, 0x42, 0x60, 0x82]),
                    "curves.png incomplete"
                );
            }
            "train.lock" => {}
            "vocab" => {
                // Copied in at the start, each file atomically.
                for kind in [
                    ner_core::schema::ArtifactKind::WordVocab,
                    ner_core::schema::ArtifactKind::CharVocab,
                    ner_core::schema::ArtifactKind::TagVocab,
                ] {
                    let file = ner_core::schema::vocab::VocabDir::new(&path).file(kind);
                    if file.exists() {
                        ner_core::tables::Vocab::read(&file, kind)
                            .unwrap_or_else(|e| panic!("{} incomplete: {e}", file.display()));
                    }
                }
            }
            other => panic!("unexpected file {other}"),
        }
    }
}

#[test]
fn a_nan_loss_stops_with_the_epoch_and_step_and_keeps_the_last_checkpoint() {
    let fx = Fixture::new();
    let out = fx.train("one", &["--epochs", "1"], &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = fx.train("nan", &[], &[("NER_TRAIN_INJECT_NAN", "2:4")]);
    assert_eq!(out.status.code(), Some(1));
    let message = text(&out.stderr);
    assert!(
        message.contains("NaN or infinite at epoch 2, step 4"),
        "{message}"
    );
    assert_eq!(scores(&fx.path("nan")).len(), 1);
    assert!(
        weights(&fx.path("nan/model.safetensors")) == weights(&fx.path("one/model.safetensors"))
    );
    // The epoch-1 checkpoint is intact: resuming without the fault finishes
    // the run as if nothing happened.
    fx.reference("straight");
    let out = fx.train("nan", &["--resume"], &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_same_run(&fx.path("straight"), &fx.path("nan"));
}

#[test]
fn a_second_training_into_the_same_folder_is_refused() {
    let fx = Fixture::new();
    std::fs::create_dir_all(fx.path("model")).expect("mkdir");
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(fx.path("model/train.lock"))
        .expect("lock file");
    lock.try_lock().expect("lock");
    std::fs::write(fx.path("model/train.lock"), "4242").expect("pid");
    let out = fx.train("model", &[], &[]);
    assert_eq!(out.status.code(), Some(1));
    let message = text(&out.stderr);
    assert!(
        message.contains("is being trained by another process (pid 4242"),
        "{message}"
    );
    assert!(!fx.path("model/metrics.jsonl").exists());
    drop(lock);
    let out = fx.train("model", &["--epochs", "1"], &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
}

#[test]
fn a_checkpoint_of_another_pipeline_or_other_batches_is_refused() {
    let fx = Fixture::new();
    let out = fx.train("model", &[], &[("NER_TRAIN_INJECT_STOP", "2:1")]);
    assert_eq!(out.status.code(), Some(130));
    std::fs::write(
        fx.path("pipeline.toml"),
        PIPELINE.replace("lr = 0.01", "lr = 0.02"),
    )
    .expect("pipeline");
    let out = fx.train("model", &["--resume"], &[]);
    assert_eq!(out.status.code(), Some(1));
    let message = text(&out.stderr);
    assert!(
        message.contains("resume.safetensors was written by a run with another train section"),
        "{message}"
    );
    std::fs::write(fx.path("pipeline.toml"), PIPELINE).expect("pipeline");
    // Re-encoded in another order: other training batches.
    fx.encode("train.arrow", 99);
    let out = fx.train("model", &["--resume"], &[]);
    let message = text(&out.stderr);
    assert!(
        message.contains("other training batches (SHA-256"),
        "{message}"
    );
    // More epochs than the checkpoint's run is allowed.
    fx.encode("train.arrow", 0);
    let out = fx.train("model", &["--resume", "--epochs", "5"], &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(scores(&fx.path("model")).len(), 5);
}

fn signal(pid: u32, name: &str) {
    let status = Command::new("kill")
        .args([&format!("-{name}"), &pid.to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
}
