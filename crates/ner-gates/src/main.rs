//! `ner-gates`: see the library for what it does.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use ner_gates::{run, Config};

/// The GRU gate experiment: gradient norms and long-range accuracy of the
/// full GRU and of GRUs with the update or the reset gate fixed to 1.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Output folder (gates.json, accuracy.md, gradients.png).
    #[arg(short, long, default_value = "reports/gates")]
    output: PathBuf,
    /// Sequence lengths.
    #[arg(long, value_delimiter = ',', default_value = "10,20,30,50,100,200")]
    lengths: Vec<usize>,
    /// Training steps per variant and length.
    #[arg(long, default_value_t = 300)]
    steps: usize,
    #[arg(long, default_value_t = 32)]
    hidden: i64,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// libtorch threads [default: libtorch's choice].
    #[arg(long)]
    threads: Option<i32>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    if let Some(threads) = args.threads {
        tch::set_num_threads(threads);
    }
    let config = Config {
        lengths: args.lengths,
        steps: args.steps,
        hidden: args.hidden,
        seed: args.seed,
        output_dir: args.output,
        ..Config::default()
    };
    println!("variant          length  accuracy  final loss  grad ratio (init)  seconds");
    let result = run(&config, |m| {
        let ratio = m.init_norms.last().copied().unwrap_or(0.0) / m.init_norms[0].max(1e-30);
        println!(
            "{:<15}  {:>6}  {:>8.3}  {:>10.4}  {:>17.2e}  {:>7.1}",
            m.variant.name(),
            m.length,
            m.accuracy,
            m.final_loss,
            ratio,
            m.seconds
        );
    });
    match result {
        Ok(_) => {
            println!("wrote {}", config.output_dir.display());
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("ner-gates: error: {}", ner_core::cli::chain(&err));
            ExitCode::FAILURE
        }
    }
}
