//! `ner-encode SENTENCES.parquet --vocab-dir DIR --output OUT.arrow`: see the library.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use ner_encode::{encode, Config, Order, VocabPaths};

/// Encode sentences with the vocabularies and pad them into mini-batches.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// A sentences file (from ner-convert).
    input: PathBuf,
    /// Folder holding words.parquet, chars.parquet and tags.parquet (from ner-vocab).
    #[arg(long, default_value = "data/vocab")]
    vocab_dir: PathBuf,
    /// Where to write the Arrow IPC file.
    #[arg(short, long)]
    output: PathBuf,
    /// Sentences per mini-batch.
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u32).range(1..))]
    batch_size: u32,
    /// Batch order: shuffle, bucket or sequential.
    #[arg(long, default_value = "shuffle")]
    order: Order,
    /// Seed of the shuffle.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Keep at most this many characters of each word.
    #[arg(long)]
    max_word_chars: Option<usize>,
    /// A vectors folder (from ner-vectors): words the vocabulary lacks get
    /// their vector's id past the vocabulary.
    #[arg(long, value_name = "DIR")]
    vectors: Option<PathBuf>,
    /// With --vectors: look them up before the vocabulary (every word with
    /// a vector reads its frozen row).
    #[arg(long, requires = "vectors")]
    static_vectors: bool,
    /// Source columns to encode beside the words with their vocabularies
    /// from --vocab-dir (column.<name>.parquet), e.g. --columns pos,chunk.
    #[arg(long, value_delimiter = ',')]
    columns: Vec<String>,
    /// Threads that look the sentences up [default: one per CPU]; the
    /// output is the same for any number.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    threads: Option<u32>,
    /// Print nothing on success.
    #[arg(short, long)]
    quiet: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let config = Config {
        batch_size: args.batch_size as usize,
        order: args.order,
        seed: args.seed,
        max_word_chars: args.max_word_chars,
        vectors: args.vectors.map(ner_core::schema::vectors::VectorsDir::new),
        columns: args.columns,
        static_vectors: args.static_vectors,
        threads: args.threads.map(|n| n as usize),
        ..Config::new(args.input, VocabPaths::in_dir(&args.vocab_dir), args.output)
    };
    ner_core::cli::finish("ner-encode", encode(&config), args.quiet)
}
