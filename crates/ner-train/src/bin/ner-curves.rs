//! `ner-curves MODEL_DIR...`: redraw `curves.png` from `metrics.jsonl`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use ner_train::train::{read_metrics, CURVES_FILE, METRICS_FILE};

/// Redraw each model folder's curves.png from its metrics.jsonl.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Model folders written by ner-train.
    #[arg(required = true)]
    model_dirs: Vec<PathBuf>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    for dir in &args.model_dirs {
        let title = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let result = read_metrics(&dir.join(METRICS_FILE))
            .map_err(ner_train::TrainError::from)
            .and_then(|metrics| ner_train::plot::curves(&metrics, &title, &dir.join(CURVES_FILE)));
        if let Err(err) = result {
            eprintln!("ner-curves: error: {}", ner_core::cli::chain(&err));
            return ExitCode::FAILURE;
        }
        println!("{}", dir.join(CURVES_FILE).display());
    }
    ExitCode::SUCCESS
}
