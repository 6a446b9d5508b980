//! `ner-score --conll FILE` or `ner-score PREDICTIONS.parquet`: see the library.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use ner_core::conlleval::{Delimiter, Options};
use ner_score::{read_input, score_conll, score_predictions, write_json, Report, ScoreError};

/// Score predicted tags with the CoNLL shared-task rules (conlleval).
///
/// Standard output is conlleval's report, byte for byte, unless --details
/// adds the token-level scores and the confusion matrix after it.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// A predictions file from ner-predict (with gold tags).
    #[arg(required_unless_present = "conll", conflicts_with = "conll")]
    predictions: Option<PathBuf>,
    /// conlleval input instead: the last two columns are the gold and the
    /// predicted tag; `-` reads standard input.
    #[arg(long, value_name = "FILE")]
    conll: Option<PathBuf>,
    /// Write scores.json here (precision, recall, f1, accuracy, token macro
    /// F1, counts, per type, confusion matrix).
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Draw the reliability diagram of the entity confidences here (PNG;
    /// predictions from ner-predict only).
    #[arg(long, value_name = "FILE")]
    reliability: Option<PathBuf>,
    /// Also print token accuracy, token macro F1, per-tag scores and the
    /// confusion matrix.
    #[arg(long)]
    details: bool,
    /// conlleval -l: print the LaTeX table instead of the report.
    #[arg(short = 'l', long)]
    latex: bool,
    /// conlleval -r: tags have no B-/I- prefix; each non-O tag is a phrase.
    #[arg(short = 'r', long)]
    raw: bool,
    /// conlleval -d: field delimiter (`\s`, `\s+` and `\t` are understood).
    #[arg(short = 'd', long, default_value = " ")]
    delimiter: String,
    /// conlleval -o: the outside tag in --raw mode.
    #[arg(short = 'o', long, default_value = "O")]
    otag: String,
}

fn run(args: &Args) -> Result<Report, ScoreError> {
    let report = match (&args.conll, &args.predictions) {
        (Some(path), _) => {
            let options = Options {
                raw: args.raw,
                o_tag: args.otag.as_bytes().to_vec(),
                delimiter: Delimiter::parse(&args.delimiter),
            };
            score_conll(path, &read_input(path)?, &options)?
        }
        (None, Some(path)) => score_predictions(path)?,
        (None, None) => unreachable!("clap requires one input"),
    };
    if let Some(path) = &args.json {
        write_json(&report, path)?;
    }
    if let Some(path) = &args.reliability {
        let Some(calibration) = &report.calibration else {
            return Err(ScoreError::Invalid {
                path: args.predictions.clone().unwrap_or_default(),
                message: "has no entity probabilities to draw a reliability diagram of \
                          (predictions from ner-predict have them)"
                    .into(),
            });
        };
        let title = args
            .predictions
            .as_ref()
            .map_or(String::new(), |p| p.display().to_string());
        calibration
            .draw(&title, path)
            .map_err(|e| ScoreError::Invalid {
                path: path.clone(),
                message: e.to_string(),
            })?;
    }
    Ok(report)
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(report) => {
            let mut out = std::io::stdout().lock();
            let text = if args.latex {
                report.latex()
            } else {
                report.conlleval()
            };
            let mut result = out.write_all(&text);
            if args.details && result.is_ok() {
                result = out.write_all(format!("\n{}", report.details()).as_bytes());
            }
            match result.and_then(|()| out.flush()) {
                Ok(()) => ExitCode::SUCCESS,
                // A closed pipe (`| head`) is not an error worth a message.
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("ner-score: error: writing the report: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Err(err) => {
            eprintln!("ner-score: error: {}", ner_core::cli::chain(&err));
            ExitCode::FAILURE
        }
    }
}
