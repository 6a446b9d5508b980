//! `ner-train --pipeline pipelines/MODEL.toml`: see the library for what it does.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use clap::Parser;
use ner_core::schema::vocab::VocabDir;
use ner_train::config::Pipeline;
use ner_train::tagger::device;
use ner_train::trainer::{train, Config, Summary};
use ner_train::TrainError;

/// Train a recurrent tagger on batches written by ner-encode.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// The pipeline file: model architecture and training hyper-parameters.
    #[arg(long)]
    pipeline: PathBuf,
    /// Training batches.
    #[arg(long, default_value = "data/processed/train.arrow")]
    train: PathBuf,
    /// Validation batches.
    #[arg(long, default_value = "data/processed/valid.arrow")]
    valid: PathBuf,
    /// The vocabulary folder the batches were encoded with (ner-vocab's output).
    #[arg(long, default_value = "data/vocab")]
    vocab_dir: PathBuf,
    /// Model folder [default: models/<pipeline name>].
    #[arg(short, long)]
    output: Option<PathBuf>,
    /// Override the pipeline's number of epochs.
    #[arg(long)]
    epochs: Option<usize>,
    /// Override the pipeline's seed.
    #[arg(long)]
    seed: Option<u64>,
    /// auto, cpu or cuda.
    #[arg(long, default_value = "auto")]
    device: String,
    /// libtorch threads [default: libtorch's choice].
    #[arg(long)]
    threads: Option<i32>,
    /// Pre-trained vectors (a folder from ner-vectors) for a pipeline with
    /// model.input = "embedding": the training words start from them, and
    /// with batches encoded with them the other words find their rows.
    #[arg(long, value_name = "DIR")]
    vectors: Option<PathBuf>,
    /// No progress bar.
    #[arg(long)]
    no_progress: bool,
    /// Continue an interrupted run from its checkpoint (OUTPUT/resume.safetensors);
    /// starts from scratch when there is none.
    #[arg(long)]
    resume: bool,
}

fn run(args: Args) -> Result<Summary, TrainError> {
    let mut pipeline = Pipeline::read(&args.pipeline)?;
    if let Some(epochs) = args.epochs {
        pipeline.train.epochs = epochs;
    }
    if let Some(seed) = args.seed {
        pipeline.train.seed = seed;
    }
    pipeline
        .check()
        .map_err(|e| ner_model::ModelError::Pipeline {
            path: args.pipeline.clone(),
            message: e.to_string(),
        })?;
    let name = args
        .pipeline
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "model".into());
    let config = Config {
        output_dir: args
            .output
            .unwrap_or_else(|| PathBuf::from("models").join(&name)),
        name,
        pipeline,
        train: args.train,
        valid: args.valid,
        vocab: VocabDir::new(args.vocab_dir),
        vectors: args.vectors.map(ner_core::schema::vectors::VectorsDir::new),
        device: device(&args.device)?,
        threads: args.threads,
        progress: !args.no_progress,
        resume: args.resume,
        stop: Some(stop_on_signals()?),
    };
    train(&config)
}

/// Ctrl-C, SIGTERM and SIGHUP ask training to stop after the current step and
/// write a resumable checkpoint; a second signal ends the process at once.
fn stop_on_signals() -> Result<Arc<AtomicBool>, TrainError> {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [SIGINT, SIGTERM, SIGHUP] {
        signal_hook::flag::register_conditional_shutdown(signal, 130, Arc::clone(&stop))
            .and_then(|_| signal_hook::flag::register(signal, Arc::clone(&stop)))
            .map_err(|source| TrainError::System {
                message: format!("cannot handle signal {signal}"),
                source,
            })?;
    }
    Ok(stop)
}

/// How long libtorch's idle OpenMP workers spin before they sleep (libgomp's
/// `GOMP_SPINCOUNT`; its default is 300,000 spins, milliseconds).
const OMP_SPIN: &str = "2000";

/// Runs this program again with a short OpenMP spin, unless the environment
/// already sets one (`GOMP_SPINCOUNT` or `OMP_WAIT_POLICY`).
///
/// Between libtorch's operations `ner-train` runs threads of its own (the
/// recurrent layers in `ner-kernels`, one per direction, and the fused
/// Adam step). With libgomp's default, libtorch's workers keep spinning on
/// the cores those threads need for milliseconds after each operation:
/// `make bench-train` measured `birnn` 4.7 s an epoch with the default and
/// 3.9 s with 2,000 spins, `bilstm3` 31.0 s and 25.7 s. libgomp reads the
/// variable once, when libtorch is loaded before `main`, so setting it now
/// takes a new process image; `exec` keeps the process id, and signals,
/// arguments and the rest of the environment are the same.
fn short_omp_spin() {
    if std::env::var_os("GOMP_SPINCOUNT").is_some() || std::env::var_os("OMP_WAIT_POLICY").is_some()
    {
        return;
    }
    #[cfg(unix)]
    if let Ok(exe) = std::env::current_exe() {
        use std::os::unix::process::CommandExt;
        let err = std::process::Command::new(exe)
            .args(std::env::args_os().skip(1))
            .env("GOMP_SPINCOUNT", OMP_SPIN)
            .exec();
        // Only reached when exec failed: train with libgomp's default.
        eprintln!("ner-train: note: could not restart with GOMP_SPINCOUNT={OMP_SPIN}: {err}");
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    short_omp_spin();
    match run(args) {
        Ok(_) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("ner-train: error: {}", ner_core::cli::chain(&err));
            match err {
                // 128 + SIGINT, as shells report an interrupted command.
                TrainError::Interrupted { .. } => ExitCode::from(130),
                _ => ExitCode::FAILURE,
            }
        }
    }
}
