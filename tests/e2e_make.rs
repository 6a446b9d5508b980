//! The real binaries through the real Makefile, on a small corpus in a temporary folder.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use arrow::array::{Array, AsArray, RecordBatch, StringArray};
use arrow::compute::concat_batches;
use arrow::datatypes::UInt32Type;
use ner_tests::make;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

const TRAIN: &str = "\
-DOCSTART- -X- -X- O

EU NNP B-NP I-ORG
rejects VBZ B-VP O
German JJ B-NP I-MISC
call NN I-NP O
to TO B-VP O
boycott VB I-VP O
British JJ B-NP I-MISC
lamb NN I-NP O
. . O O

Peter NNP B-NP I-PER
Blackburn NNP I-NP I-PER

-DOCSTART- -X- -X- O

BRUSSELS NNP B-NP I-LOC
1996-08-22 CD I-NP O
";

const VALID: &str = "\
CRICKET NNP B-NP O
- : O O
LEICESTERSHIRE NNP B-NP I-ORG
TAKE NNP I-NP O

LONDON NNP B-NP I-LOC
";

const TEST: &str = "\
SOCCER NN B-NP O
- : O O
JAPAN NNP B-NP I-LOC
GET VB B-VP O
";

fn write_corpus(dir: &Path) -> [PathBuf; 3] {
    let corpus = dir.join("my-corpus");
    std::fs::create_dir_all(&corpus).expect("mkdir");
    let paths = [
        corpus.join("train.conll"),
        corpus.join("dev.conll"),
        corpus.join("test.conll"),
    ];
    for (path, text) in paths.iter().zip([TRAIN, VALID, TEST]) {
        std::fs::write(path, text).expect("write corpus");
    }
    paths
}

fn artifacts(work: &Path) -> Vec<PathBuf> {
    let data = work.join("data");
    let mut out = Vec::new();
    for split in ["train", "valid", "test"] {
        out.push(data.join(format!("interim/{split}.parquet")));
        out.push(data.join(format!("processed/{split}.arrow")));
    }
    for table in ["words", "chars", "tags"] {
        out.push(data.join(format!("vocab/{table}.parquet")));
    }
    out
}

fn names(table: &RecordBatch) -> Vec<String> {
    table
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect()
}

/// A whole Parquet file as one record batch, read as any Arrow user would
/// (Python's polars opens the same files in the pytest suite).
fn read_parquet(path: &Path) -> RecordBatch {
    let file = File::open(path).expect("open");
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).expect("a Parquet file");
    let schema = builder.schema().clone();
    let reader = builder.build().expect("reader");
    let batches: Vec<RecordBatch> = reader.map(|b| b.expect("read")).collect();
    concat_batches(&schema, &batches).expect("concat")
}

/// A whole Arrow IPC file as one record batch.
fn read_ipc(path: &Path) -> RecordBatch {
    let reader = arrow::ipc::reader::FileReader::try_new(File::open(path).expect("open"), None)
        .expect("an Arrow IPC file");
    let schema = arrow::record_batch::RecordBatchReader::schema(&reader);
    let batches: Vec<RecordBatch> = reader.map(|b| b.expect("read")).collect();
    concat_batches(&schema, &batches).expect("concat")
}

fn u32s(table: &RecordBatch, name: &str) -> Vec<Option<u32>> {
    let column = table.column_by_name(name).expect(name);
    column.as_primitive::<UInt32Type>().iter().collect()
}

fn mtimes(paths: &[PathBuf]) -> Vec<SystemTime> {
    paths
        .iter()
        .map(|p| {
            std::fs::metadata(p)
                .and_then(|m| m.modified())
                .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        })
        .collect()
}

fn run_data(work: &Path, corpus: &[PathBuf; 3]) -> String {
    let args = [
        "data".to_string(),
        format!("WORK_DIR={}", work.display()),
        format!("TRAIN={}", corpus[0].display()),
        format!("VALID={}", corpus[1].display()),
        format!("TEST={}", corpus[2].display()),
    ];
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = make(&args);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "make data failed\nstdout:\n{stdout}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

#[test]
fn make_data_builds_every_artifact_and_only_redoes_what_is_stale() {
    let dir = tempfile::tempdir().expect("tempdir");
    let work = dir.path().join("work");
    let corpus = write_corpus(dir.path());

    let log = run_data(&work, &corpus);
    assert!(log.contains("3 sentences, 13 tokens, 2 documents"), "{log}");
    let files = artifacts(&work);
    let first = mtimes(&files);

    // Every artifact opens with Arrow's readers (and Python's polars:
    // crates/ner-python/tests/test_artifacts.py).
    let train = read_parquet(&files[0]);
    assert_eq!(train.num_rows(), 3);
    assert_eq!(
        names(&train),
        [
            "sentence_id",
            "doc_id",
            "line",
            "tokens",
            "tags",
            "pos",
            "chunk"
        ]
    );
    assert_eq!(u32s(&train, "doc_id"), [Some(0), Some(0), Some(1)]);
    let words = read_parquet(&files[6]);
    assert_eq!(names(&words), ["token", "id", "count"]);
    assert_eq!(words.num_rows(), 2 + 13);
    let tags = read_parquet(&files[8]);
    let tag_column = tags.column_by_name("tag").expect("tag");
    let tag_names: Vec<&str> = tag_column
        .as_any()
        .downcast_ref::<StringArray>()
        .expect("strings")
        .iter()
        .flatten()
        .collect();
    assert_eq!(
        tag_names,
        ["O", "B-LOC", "B-MISC", "B-ORG", "B-PER", "I-PER"]
    );
    let valid = read_ipc(&files[3]);
    assert_eq!(
        names(&valid),
        ["sentence_id", "length", "word_ids", "tag_ids", "char_ids"]
    );
    assert_eq!(valid.num_rows(), 2);
    assert_eq!(u32s(&valid, "length"), [Some(4), Some(1)]);

    // Nothing is stale: nothing is redone.
    let log = run_data(&work, &corpus);
    assert!(
        !log.contains("ner-"),
        "a second `make data` reran a stage:\n{log}"
    );
    assert_eq!(mtimes(&files), first);

    // A changed validation file redoes only the validation split.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    std::fs::write(&corpus[1], format!("{VALID}\nParis NNP B-NP I-LOC\n")).expect("write");
    run_data(&work, &corpus);
    let second = mtimes(&files);
    let changed: Vec<bool> = first.iter().zip(&second).map(|(a, b)| a != b).collect();
    assert_eq!(
        changed,
        [false, false, true, true, false, false, false, false, false],
        "only valid.parquet and valid.arrow are redone"
    );
}

#[test]
fn missing_corpus_stops_with_directions() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = make(&[
        "data",
        &format!("WORK_DIR={}", dir.path().display()),
        "CONLL_DIR=/nonexistent/conll2003",
    ]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("error: corpus file '/nonexistent/conll2003/eng.train' not found."),
        "{stderr}"
    );
    assert!(stderr.contains("CONLL_DIR=/path/to/conll2003"), "{stderr}");
    assert!(!dir.path().join("data").exists(), "nothing written");
}

#[test]
fn a_failing_stage_leaves_no_artifact_behind() {
    let dir = tempfile::tempdir().expect("tempdir");
    let work = dir.path().join("work");
    let corpus = write_corpus(dir.path());
    std::fs::write(&corpus[2], "SOCCER NN B-NP O\nJAPAN NNP B-NP\n").expect("write");
    let out = make(&[
        "data",
        &format!("WORK_DIR={}", work.display()),
        &format!("TRAIN={}", corpus[0].display()),
        &format!("VALID={}", corpus[1].display()),
        &format!("TEST={}", corpus[2].display()),
    ]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "{}:2: expected 4 columns (as on line 1), found 3",
            corpus[2].display()
        )),
        "{stderr}"
    );
    assert!(!work.join("data/interim/test.parquet").exists());
}

#[test]
fn bindir_and_help() {
    let out = make(&["-s", "bindir"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        ner_tests::bin_dir().display().to_string()
    );
    let out = make(&["help"]);
    let help = String::from_utf8_lossy(&out.stdout);
    for word in [
        "setup",
        "data",
        "test",
        "bench-data",
        "CONLL_DIR",
        "WORK_DIR",
        "TRAIN VALID TEST",
    ] {
        assert!(help.contains(word), "help lacks {word}:\n{help}");
    }
}

fn corpus_args(work: &Path, corpus: &[PathBuf; 3]) -> Vec<String> {
    vec![
        format!("WORK_DIR={}", work.display()),
        format!("TRAIN={}", corpus[0].display()),
        format!("VALID={}", corpus[1].display()),
        format!("TEST={}", corpus[2].display()),
    ]
}

fn make_ok(target: &[&str], args: &[String]) -> String {
    let mut all: Vec<&str> = target.to_vec();
    all.extend(args.iter().map(String::as_str));
    let out = make(&all);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "make {target:?} failed\nstdout:\n{stdout}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// A temporary folder with the small corpus: the folder (removed when
/// dropped), its work folder and make's arguments to train for `epochs`
/// epochs on the CPU.
fn training_work(epochs: usize) -> (tempfile::TempDir, PathBuf, Vec<String>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let work = dir.path().join("work");
    let corpus = write_corpus(dir.path());
    let mut args = corpus_args(&work, &corpus);
    args.push(format!("EPOCHS={epochs}"));
    args.push("DEVICE=cpu".into());
    (dir, work, args)
}

#[test]
fn train_score_predict_and_compare_a_tiny_model() {
    let (dir, work, mut args) = training_work(2);

    // Scoring trains the stale model first, then predicts both splits.
    let log = make_ok(&["score", "MODEL=rnn"], &args);
    assert!(log.contains("processed 4 tokens with 1 phrases"), "{log}");
    let reports = work.join("reports/rnn");
    for split in ["valid", "test"] {
        for file in [
            "predictions.parquet",
            "predictions.conll",
            "conlleval.txt",
            "scores.json",
            "reliability.png",
        ] {
            let path = reports.join(format!("{split}.{file}"));
            assert!(path.exists(), "{} missing", path.display());
        }
    }
    let predictions = read_parquet(&reports.join("valid.predictions.parquet"));
    assert_eq!(
        names(&predictions),
        [
            "sentence_id",
            "tokens",
            "tags",
            "pred_tags",
            "pred_probs",
            "entity_probs",
            "nbest_tags",
            "nbest_probs"
        ]
    );
    assert_eq!(predictions.num_rows(), 2);
    let scores: serde_json::Value =
        serde_json::from_slice(&std::fs::read(reports.join("valid.scores.json")).expect("read"))
            .expect("scores.json parses");
    assert_eq!(scores["phrases"], 2);
    assert_eq!(scores["tokens"], 5);
    // The CoNLL predictions are conlleval input: ner-score reads them back
    // to the same report.
    let conll = std::fs::read_to_string(reports.join("valid.predictions.conll")).expect("read");
    assert!(conll.starts_with("CRICKET O "), "{conll}");

    // Nothing stale: a second run redoes nothing.
    let log = make_ok(&["score", "MODEL=rnn"], &args);
    assert!(!log.contains("ner-predict "), "{log}");

    // Prediction on new text.
    let text = dir.path().join("news.txt");
    std::fs::write(
        &text,
        "EU rejects German lamb.\n\nPeter Blackburn went to Brussels.\n",
    )
    .expect("write");
    let mut predict_args = args.clone();
    predict_args.push(format!("INPUT={}", text.display()));
    let log = make_ok(&["-s", "predict", "MODEL=rnn"], &predict_args);
    let lines: Vec<&str> = log.lines().collect();
    assert_eq!(lines.len(), 2, "{log}");
    // Brackets mark entities: `[TYPE token token]`; the tokens stay in order.
    let words: Vec<&str> = lines[0]
        .split(' ')
        .filter(|w| !w.starts_with('['))
        .map(|w| w.trim_end_matches(']'))
        .collect();
    assert_eq!(words, ["EU", "rejects", "German", "lamb", "."], "{log}");

    // The comparison table and figure.
    args.push("COMPARE_MODELS=rnn".into());
    let log = make_ok(&["compare"], &args);
    assert!(log.contains("| rnn | "), "{log}");
    assert!(work.join("reports/compare.md").exists());
}

/// An interrupted `make train` keeps the finished epochs' weights, is not
/// taken for up to date, and `RESUME=1` finishes it from the checkpoint.
#[test]
fn an_interrupted_make_train_resumes_with_resume_1() {
    let (_dir, work, args) = training_work(3);
    let mut all = vec!["train", "MODEL=rnn"];
    all.extend(args.iter().map(String::as_str));
    // The stop flag raised once epoch 1 is done, as Ctrl-C would.
    let out = ner_tests::make_with_env(&all, &[("NER_TRAIN_INJECT_STOP", "2:0")]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("RESUME=1"), "{stderr}");
    let model = work.join("models/rnn");
    assert!(
        model.join("model.safetensors").exists(),
        "make kept the weights"
    );
    assert!(model.join("resume.safetensors").exists());

    let mut resume_args = args.clone();
    resume_args.push("RESUME=1".into());
    let log = make_ok(&["train", "MODEL=rnn"], &resume_args);
    assert!(
        log.contains("resuming from") && log.contains("epoch 2, step 0"),
        "{log}"
    );
    assert!(!model.join("resume.safetensors").exists());
    let metrics = ner_core::runs::read_metrics(&model.join("metrics.jsonl")).expect("metrics");
    assert_eq!(metrics.len(), 3);
    // Finished: nothing to do now.
    let log = make_ok(&["train", "MODEL=rnn"], &args);
    assert!(!log.contains("ner-train "), "{log}");
}

/// Every file under `dir`, recursively, sorted.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut folders = vec![dir.to_path_buf()];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).expect("read_dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                folders.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// After a rebuild (here: fresh copies of the binaries, newer than every
/// artifact) the data stages rerun, but what they write unchanged is left as
/// it was, and a rebuilt `ner-train` never retrains a finished model: no
/// file of the work folder changes.
#[test]
fn rebuilt_binaries_leave_a_trained_model_alone() {
    let (dir, work, args) = training_work(1);
    make_ok(&["train", "MODEL=rnn"], &args);
    let files = files_under(&work);
    assert!(files
        .iter()
        .any(|f| f.ends_with("models/rnn/model.safetensors")));
    let before = mtimes(&files);

    std::thread::sleep(std::time::Duration::from_millis(1100));
    let bins = dir.path().join("bin");
    std::fs::create_dir(&bins).expect("mkdir");
    for name in [
        "ner-convert",
        "ner-vocab",
        "ner-encode",
        "ner-vectors",
        "ner-train",
    ] {
        std::fs::copy(ner_tests::bin_dir().join(name), bins.join(name)).expect("copy");
    }
    let mut all = vec!["train", "MODEL=rnn"];
    all.extend(args.iter().map(String::as_str));
    let out = ner_tests::make_with_bins(&bins, &all, &[]);
    let log = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{log}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(log.contains("ner-convert "), "the stages reran:\n{log}");
    assert!(!log.contains("ner-train "), "no retraining:\n{log}");
    assert_eq!(files_under(&work), files);
    assert_eq!(mtimes(&files), before, "no file changed");
}

/// Seed N of a pipeline whose own seed is N (`rnn`: 0) is the model `make
/// train` made: `make seeds` copies it instead of training it again, and
/// trains when that model says another seed or other epochs.
#[test]
fn make_seeds_copies_the_pipelines_own_seed() {
    let (_dir, work, args) = training_work(1);
    let trained = |log: &str| log.contains("trainable parameters");
    // The message itself, not the recipe line that would print it.
    let copied = |log: &str| {
        log.lines()
            .any(|l| l.contains("seed 0 is rnn's own seed: copied from") && !l.starts_with('{'))
    };
    let log = make_ok(&["train", "MODEL=rnn"], &args);
    assert!(trained(&log), "{log}");
    let log = make_ok(&["seeds", "MODEL=rnn", "SEEDS=0"], &args);
    assert!(!trained(&log), "no second training:\n{log}");
    assert!(copied(&log), "{log}");
    let (own, seed) = (work.join("models/rnn"), work.join("models/rnn.seed0"));
    for file in ["best.safetensors", "config.json", "metrics.jsonl"] {
        let read = |dir: &Path| std::fs::read(dir.join(file)).expect(file);
        assert_eq!(read(&own), read(&seed), "{file}");
    }
    assert!(work.join("reports/rnn.seeds.md").exists());
    let log = make_ok(&["seeds", "MODEL=rnn", "SEEDS=0"], &args);
    assert!(!copied(&log) && !trained(&log), "up to date:\n{log}");

    // A seed run asking for other epochs than models/rnn had: trained.
    std::fs::remove_dir_all(&seed).expect("rm");
    let longer: Vec<String> = args
        .iter()
        .map(|a| {
            if a == "EPOCHS=1" {
                "EPOCHS=2".into()
            } else {
                a.clone()
            }
        })
        .collect();
    let log = make_ok(&["seeds", "MODEL=rnn", "SEEDS=0"], &longer);
    assert!(trained(&log) && !copied(&log), "{log}");

    // models/rnn trained with another seed: seed 0 is trained.
    std::fs::remove_dir_all(&own).expect("rm");
    std::fs::remove_dir_all(&seed).expect("rm");
    let mut other = args.clone();
    other.push("SEED=3".into());
    make_ok(&["train", "MODEL=rnn"], &other);
    let log = make_ok(&["seeds", "MODEL=rnn", "SEEDS=0"], &args);
    assert!(trained(&log) && !copied(&log), "{log}");
}

/// `make ensemble` decodes a pipeline's seeds together by the rule
/// `COMBINE` names, each rule into a report folder of its own, without
/// training again, and with `CONSISTENCY` in folders of its own (`make
/// seeds` too); an unknown rule is refused with the rules it knows.
#[test]
fn make_ensemble_combines_the_seeds_by_either_rule() {
    let (_dir, work, args) = training_work(1);
    let trained = |log: &str| log.contains("trainable parameters");
    let ensemble = |rule: &str| -> Vec<String> {
        let mut all = args.clone();
        all.push("SEEDS=0 1".into());
        all.push(format!("COMBINE={rule}"));
        all
    };
    let log = make_ok(&["ensemble", "MODEL=rnn"], &ensemble("mixture"));
    assert!(trained(&log), "{log}");
    assert!(
        log.contains("seeds 0 1 as one ensemble (mixture), test split")
            && log.contains("processed 4 tokens"),
        "{log}"
    );
    let log = make_ok(&["ensemble", "MODEL=rnn"], &ensemble("product"));
    assert!(!trained(&log), "{log}");
    assert!(
        log.contains("seeds 0 1 as one ensemble (product), test split")
            && log.contains("processed 4 tokens"),
        "{log}"
    );
    for folder in ["rnn.ensemble01", "rnn.ensemble01.product"] {
        for split in ["valid", "test"] {
            let report = work.join(format!("reports/{folder}/{split}.conlleval.txt"));
            assert!(report.exists(), "{} missing", report.display());
        }
    }

    // CONSISTENCY=W decodes with document consistency into .docW folders,
    // for an ensemble and for each seed, training nothing again.
    let mut doc = ensemble("product");
    doc.push("CONSISTENCY=5".into());
    let log = make_ok(&["ensemble", "MODEL=rnn"], &doc);
    assert!(!trained(&log), "{log}");
    assert!(
        log.contains("(product; document consistency 5), test split"),
        "{log}"
    );
    let log = make_ok(&["seeds", "MODEL=rnn"], &doc);
    assert!(!trained(&log), "{log}");
    let summary = std::fs::read_to_string(work.join("reports/rnn.doc5.seeds.md")).expect("seeds");
    assert!(summary.contains("SEEDS='0 1' CONSISTENCY=5"), "{summary}");
    for folder in [
        "rnn.ensemble01.product.doc5",
        "rnn.seed0.doc5",
        "rnn.seed1.doc5",
    ] {
        let rows = ner_core::tables::PredictionRows::read(
            &work.join(format!("reports/{folder}/test.predictions.parquet")),
        )
        .expect("predictions");
        assert_eq!(
            rows.metadata.get(ner_core::schema::keys::CONSISTENCY),
            Some("5"),
            "{folder}"
        );
    }
    // The sentence-level reports are not those.
    let plain = ner_core::tables::PredictionRows::read(
        &work.join("reports/rnn.ensemble01.product/test.predictions.parquet"),
    )
    .expect("predictions");
    assert_eq!(
        plain.metadata.get(ner_core::schema::keys::CONSISTENCY),
        None
    );

    let mut all = vec!["ensemble", "MODEL=rnn"];
    let unknown = ensemble("mean");
    all.extend(unknown.iter().map(String::as_str));
    let out = make(&all);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("unknown ensemble rule 'mean' (expected mixture or product)"),
        "{stderr}"
    );
}

/// A pipeline whose `batch_size` is not `BATCH_SIZE` (`char-bilstm-crf-fast`:
/// 64) trains on its own batches, `train.<order>.bs<N>.arrow`, encoded with
/// that size, beside the ones every other pipeline reads.
#[test]
fn a_pipeline_with_its_own_batch_size_gets_its_own_batches() {
    let (_dir, work, args) = training_work(1);
    let log = make_ok(&["train", "MODEL=char-bilstm-crf-fast"], &args);
    let batches = work.join("data/processed/train.bucket.bs64.arrow");
    assert!(
        log.contains("--batch-size 64") && log.contains("train.bucket.bs64.arrow"),
        "{log}"
    );
    let reader = arrow::ipc::reader::FileReader::try_new(File::open(&batches).expect("open"), None)
        .expect("an Arrow IPC file");
    let schema = arrow::record_batch::RecordBatchReader::schema(&reader);
    assert_eq!(
        schema
            .metadata()
            .get(ner_core::schema::keys::BATCH_SIZE)
            .map(String::as_str),
        Some("64")
    );
    assert!(work
        .join("models/char-bilstm-crf-fast/model.safetensors")
        .exists());
    // The other pipelines' batches are untouched by it: BATCH_SIZE's file.
    assert!(!work.join("data/processed/train.bucket.arrow").exists());
    let log = make_ok(&["train", "MODEL=char-bilstm-crf", "EPOCHS=1"], &args);
    assert!(!log.contains("--batch-size 64"), "{log}");
    assert!(work.join("data/processed/train.bucket.arrow").exists());
}
