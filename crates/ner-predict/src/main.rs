//! `ner-predict MODEL_DIR INPUT`: see the library for what it does.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use ner_predict::{predict, Combine, Config, InputFormat, Outputs, PredictError, Summary, Weights};

/// Tag sentences with a model trained by ner-train.
///
/// With no --parquet/--conll/--entities, prints each sentence with its
/// entities in brackets. The summary goes to standard error.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// The model folder (config.json, best.safetensors, model.safetensors).
    model: PathBuf,
    /// A CoNLL file (gold tags optional), a sentences Parquet file, or text
    /// with one sentence per line; `-` reads standard input.
    input: PathBuf,
    /// auto, conll, parquet or text [auto: Parquet by its magic bytes, CoNLL
    /// when the lines end in tags, else text; one-column CoNLL needs conll].
    #[arg(long, default_value = "auto")]
    format: InputFormat,
    /// Text input is already tokenized: split on whitespace only.
    #[arg(long)]
    pretokenized: bool,
    /// Use model.safetensors (last epoch) instead of best.safetensors.
    #[arg(long)]
    last: bool,
    /// Folder holding the vocabularies [default: the model folder's vocab/].
    #[arg(long)]
    vocab_dir: Option<PathBuf>,
    /// Write predictions Parquet (sentence_id, tokens, tags, pred_tags,
    /// pred_probs, entity_probs, nbest_tags, nbest_probs).
    #[arg(long, value_name = "FILE")]
    parquet: Option<PathBuf>,
    /// Write `token gold pred` lines (`token pred` without gold); `-` for stdout.
    #[arg(long, value_name = "FILE")]
    conll: Option<PathBuf>,
    /// Write JSON lines of entities (sentence_id, text, type, start, end,
    /// confidence); `-` for stdout.
    #[arg(long, value_name = "FILE")]
    entities: Option<PathBuf>,
    /// Write JSON lines of tagged sentences (sentence_id, tokens, tags,
    /// probs, entities, and nbest with --nbest); `-` for stdout.
    #[arg(long, value_name = "FILE")]
    sentences: Option<PathBuf>,
    /// auto or cpu: prediction runs on the CPU, without libtorch (cuda is
    /// refused; ner-train uses the GPU).
    #[arg(long, default_value = "cpu")]
    device: String,
    /// Sentences per forward pass.
    #[arg(long, default_value_t = 512)]
    batch_size: usize,
    /// Threads [default: one per CPU].
    #[arg(long)]
    threads: Option<usize>,
    /// Also give the K best tag sequences with their probabilities (CRF
    /// models; the Parquet output's nbest_tags and nbest_probs, the
    /// sentences' nbest).
    #[arg(long, value_name = "K", default_value_t = 0)]
    nbest: usize,
    /// Another model folder of the same tags, decoding with MODEL as one
    /// ensemble (repeat for more).
    #[arg(long, value_name = "MODEL_DIR")]
    ensemble: Vec<PathBuf>,
    /// How an ensemble combines: mixture (the mean of the members'
    /// probabilities, then constrained Viterbi over the mean token
    /// marginals) or product (one CRF over the means of the members'
    /// emission, transition, start and end scores).
    #[arg(long, value_name = "RULE", default_value = "mixture")]
    combine: Combine,
    /// Document consistency: a second pass adds to a capitalised word's
    /// scores W times the mean entity-type probabilities that its
    /// occurrences in the same document got in the first. A
    /// document is a -DOCSTART- section of CoNLL input, a doc_id of
    /// Parquet input, a blank-line-separated block of text. 0: off.
    #[arg(long, value_name = "W", default_value_t = 0.0, value_parser = weight)]
    consistency: f32,
    /// Print no summary.
    #[arg(short, long)]
    quiet: bool,
}

/// A finite weight, 0 or more.
fn weight(s: &str) -> Result<f32, String> {
    match s.parse::<f32>() {
        Ok(w) if w.is_finite() && w >= 0.0 => Ok(w),
        _ => Err(format!("'{s}' is not a weight (a number, 0 or more)")),
    }
}

fn run(args: Args) -> Result<Summary, PredictError> {
    if !matches!(args.device.as_str(), "auto" | "cpu") {
        return Err(PredictError::Usage(format!(
            "--device {}: ner-predict runs on the CPU without libtorch (auto or cpu)",
            args.device
        )));
    }
    let config = Config {
        model_dir: args.model,
        input: args.input,
        format: args.format,
        pretokenized: args.pretokenized,
        weights: if args.last {
            Weights::Last
        } else {
            Weights::Best
        },
        vocab_dir: args.vocab_dir,
        batch_size: args.batch_size,
        threads: args.threads,
        nbest: args.nbest,
        ensemble: args.ensemble,
        combine: args.combine,
        consistency: args.consistency,
        outputs: Outputs {
            parquet: args.parquet,
            conll: args.conll,
            entities: args.entities,
            sentences: args.sentences,
        },
    };
    predict(&config)
}

fn main() -> ExitCode {
    let args = Args::parse();
    let quiet = args.quiet;
    match run(args) {
        Ok(summary) => {
            if !quiet {
                eprintln!("{summary}");
            }
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("ner-predict: error: {}", ner_core::cli::chain(&err));
            ExitCode::FAILURE
        }
    }
}
