//! `ner-convert INPUT --output OUT.parquet`: see the library for what it does.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use ner_convert::{convert, Config, ReadOptions};
use ner_core::scheme::TagScheme;

/// Convert a CoNLL column file to Parquet, one row per sentence.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// The column file (token first, tag last; blank lines between sentences).
    input: PathBuf,
    /// Where to write the Parquet file.
    #[arg(short, long)]
    output: PathBuf,
    /// 1-based column holding the tag [default: the last column].
    #[arg(long)]
    tag_column: Option<usize>,
    /// Tag scheme of the input: iob1, iob2 or bioes [default: detected].
    #[arg(long)]
    input_scheme: Option<TagScheme>,
    /// Tag scheme to write: iob2 or bioes (or iob1).
    #[arg(long, default_value = "iob2")]
    scheme: TagScheme,
    /// Comma-separated names for the columns other than token and tag
    /// [default: pos,chunk for 4 columns, pos for 3, else col<N>].
    #[arg(long, value_delimiter = ',')]
    column_names: Option<Vec<String>>,
    /// Print nothing on success.
    #[arg(short, long)]
    quiet: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let mut config = Config::new(args.input, args.output);
    config.read = ReadOptions {
        tag_column: args.tag_column,
        input_scheme: args.input_scheme,
        column_names: args.column_names,
    };
    config.output_scheme = args.scheme;
    ner_core::cli::finish("ner-convert", convert(&config), args.quiet)
}
