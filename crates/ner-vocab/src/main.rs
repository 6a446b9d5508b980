//! `ner-vocab TRAIN.parquet --output-dir DIR`: see the library for what it does.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use ner_vocab::{build, Config};

/// Build word, character and tag vocabularies from the training split.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// The training split's sentences file (from ner-convert).
    train: PathBuf,
    /// Folder for words.parquet, chars.parquet and tags.parquet.
    #[arg(short, long, default_value = "data/vocab")]
    output_dir: PathBuf,
    /// Words seen fewer times than this map to <UNK>.
    #[arg(long, default_value_t = 1)]
    min_count: u64,
    /// At most this many word entries, <PAD> and <UNK> included.
    #[arg(long)]
    max_size: Option<usize>,
    /// Lower-case words before counting (characters keep their case).
    #[arg(long)]
    lowercase: bool,
    /// Source columns to build value vocabularies of (column.<name>.parquet),
    /// e.g. --columns pos,chunk.
    #[arg(long, value_delimiter = ',')]
    columns: Vec<String>,
    /// Print nothing on success.
    #[arg(short, long)]
    quiet: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let config = Config {
        min_count: args.min_count,
        max_size: args.max_size,
        lowercase: args.lowercase,
        columns: args.columns,
        ..Config::new(args.train, args.output_dir)
    };
    ner_core::cli::finish("ner-vocab", build(&config), args.quiet)
}
