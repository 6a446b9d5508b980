//! `ner-gates`: see the library for what it does.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use ner_gates::{reach, run, Config};

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
    // Progress lines; a closed pipe (`| head`) must not stop the experiment.
    let mut out = std::io::stdout();
    let _ = writeln!(
        out,
        "variant          length  accuracy  final loss  grad ratio (init)  seconds"
    );
    let result = run(&config, |m| {
        let _ = writeln!(
            out,
            "{:<15}  {:>6}  {:>8.3}  {:>10.4}  {:>17.2e}  {:>7.1}",
            ner_gates::variant_name(m.variant),
            m.length,
            m.accuracy,
            m.final_loss,
            reach(&m.init_norms),
            m.seconds
        );
    });
    match result {
        Ok(_) => {
            let _ = writeln!(std::io::stdout(), "wrote {}", config.output_dir.display());
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("ner-gates: error: {}", ner_core::cli::chain(&err));
            ExitCode::FAILURE
        }
    }
}
