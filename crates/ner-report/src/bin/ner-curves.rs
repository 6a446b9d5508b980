//! `ner-curves MODEL_DIR...`: redraw each model folder's `curves.png` from
//! its `metrics.jsonl`, without libtorch.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use ner_model::folder::ModelDir;

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
    for root in &args.model_dirs {
        let dir = ModelDir::new(root);
        let title = root
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let result = ner_core::runs::read_metrics(&dir.metrics())
            .map_err(ner_plot::PlotError::from)
            .and_then(|metrics| ner_plot::curves::training(&metrics, &title, &dir.curves()));
        if let Err(err) = result {
            eprintln!("ner-curves: error: {}", ner_core::cli::chain(&err));
            return ExitCode::FAILURE;
        }
        println!("{}", dir.curves().display());
    }
    ExitCode::SUCCESS
}
