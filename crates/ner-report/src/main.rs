//! `ner-report NAME...`: see the library for what it does.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use ner_report::{figure, markdown, Context, ReportError, Run};

/// Compare trained and scored models: a Markdown table and a figure.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Model names: folders under --models-dir, scores under --reports-dir.
    #[arg(required = true)]
    names: Vec<String>,
    #[arg(long, default_value = "models")]
    models_dir: PathBuf,
    #[arg(long, default_value = "reports")]
    reports_dir: PathBuf,
    /// Read each model's scores from NAME plus this suffix under
    /// --reports-dir (`.doc10`: decoded with document consistency).
    #[arg(long, default_value = "")]
    reports_suffix: String,
    /// The Markdown report.
    #[arg(long, default_value = "reports/compare.md")]
    output: PathBuf,
    /// The figure.
    #[arg(long, default_value = "reports/compare.png")]
    figure: PathBuf,
    /// The command to credit in the report.
    #[arg(long, default_value = "make compare")]
    command: String,
}

fn run(args: &Args) -> Result<String, ReportError> {
    let runs = args
        .names
        .iter()
        .map(|name| {
            Run::read(
                name,
                &args.models_dir,
                &args.reports_dir,
                &args.reports_suffix,
            )
        })
        .collect::<Result<Vec<_>, _>>()?;
    let context = Context {
        command: args.command.clone(),
        date: today(),
        machine: format!(
            "{} CPU threads available",
            std::thread::available_parallelism().map_or(1, usize::from)
        ),
    };
    let text = markdown(&runs, &context);
    ner_core::artifact::write_atomic(&args.output, text.as_bytes())?;
    if let Err(err) = figure(&runs, &args.figure) {
        // The table is the result; a missing font only costs the figure.
        eprintln!("ner-report: warning: {err}");
    }
    Ok(text)
}

/// Today's date (UTC) as YYYY-MM-DD, from the system clock.
fn today() -> String {
    let days = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() / 86_400) as i64;
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

fn main() -> ExitCode {
    let args = Args::parse();
    ner_core::cli::finish("ner-report", run(&args), false)
}
