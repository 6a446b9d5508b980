//! `ner-vectors INPUT -o DIR`: see the library for what it does.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use ner_core::schema::vectors::VectorsDir;
use ner_core::schema::ArtifactKind;
use ner_core::tables::{VectorKeys, Vocab};
use ner_vectors::{convert, coverage, Config, Format, VectorsError};

/// Convert pre-trained word vectors into a vectors folder (a matrix of
/// rows and a key-to-row table).
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// GloVe / word2vec / fastText text, word2vec binary (.bin), gzipped or
    /// not, or a spaCy export folder (keys.jsonl + vectors.npy).
    input: PathBuf,
    /// The vectors folder to write (keys.parquet, vectors.safetensors).
    #[arg(short, long)]
    output_dir: PathBuf,
    /// auto, text, binary or export [auto: a folder is an export, .bin and
    /// .bin.gz binary, anything else text].
    #[arg(long, default_value = "auto")]
    format: Format,
    /// Keep only the first N keys (vector files list frequent words first).
    #[arg(long)]
    max_words: Option<usize>,
    /// A word vocabulary to report the coverage of.
    #[arg(long, value_name = "WORDS.parquet")]
    words: Option<PathBuf>,
    /// Sentences files whose unknown tokens' coverage to report (with --words).
    #[arg(long, value_name = "SPLIT.parquet")]
    report: Vec<PathBuf>,
}

fn run(args: Args) -> Result<String, VectorsError> {
    let mut config = Config::new(&args.input, &args.output_dir);
    config.format = args.format;
    config.max_words = args.max_words;
    let summary = convert(&config)?;
    let mut text = summary.to_string();
    if let Some(words) = &args.words {
        let vocab = Vocab::read(words, ArtifactKind::WordVocab)?;
        let keys = VectorKeys::read(&VectorsDir::new(&args.output_dir).keys())?;
        text.push('\n');
        text.push_str(
            &coverage(&keys, &summary.first_equal_rows, &vocab, &args.report)?.to_string(),
        );
    }
    Ok(text)
}

fn main() -> ExitCode {
    let args = Args::parse();
    ner_core::cli::finish("ner-vectors", run(args), false)
}
