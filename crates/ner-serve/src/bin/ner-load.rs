//! `ner-load ADDRESS INPUT`: a bounded load generator for ner-serve (see
//! `ner_serve::load`). Prints, per number of clients, sentences per second
//! and the p50 / p99 latency of a request.

use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use ner_core::scheme::TagScheme;
use ner_predict::{read_input, InputFormat};
use ner_serve::load;

/// Send single-sentence requests to a running ner-serve and measure it.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// The server: HOST:PORT or http://HOST:PORT.
    address: String,
    /// Sentences to send, one per request, in turn: text, CoNLL or a
    /// sentences Parquet file (as ner-predict reads them).
    input: PathBuf,
    /// Concurrent clients; a run for each value, one after the other.
    #[arg(long, value_delimiter = ',', default_values_t = [1, 16, 64])]
    clients: Vec<usize>,
    /// Requests each client sends.
    #[arg(long, default_value_t = 200)]
    requests: usize,
    /// Requests sent by one client before the runs, not measured.
    #[arg(long, default_value_t = 50)]
    warmup: usize,
}

fn resolve(address: &str) -> Result<(String, SocketAddr), String> {
    let host = address
        .strip_prefix("http://")
        .unwrap_or(address)
        .trim_end_matches('/');
    let socket = host
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve {host:?}: {e}"))?
        .next()
        .ok_or_else(|| format!("{host:?} resolves to no address"))?;
    Ok((host.to_string(), socket))
}

async fn run(args: Args) -> Result<(), String> {
    let (host, socket) = resolve(&args.address)?;
    let input = read_input(&args.input, InputFormat::Auto, false, TagScheme::Iob2, &[])
        .map_err(|e| ner_core::cli::chain(&e))?;
    let prepared = load::single_sentence_requests(&host, &input.tokens);
    let report = |e: load::LoadError| e.to_string();
    if args.warmup > 0 {
        load::run(socket, prepared.clone(), 1, args.warmup)
            .await
            .map_err(report)?;
    }
    println!(
        "{:>8} {:>9} {:>12} {:>9} {:>9} {:>13}",
        "clients", "requests", "sentences/s", "p50 ms", "p99 ms", "load gen CPU"
    );
    for &clients in &args.clients {
        let cpu_before = load::process_cpu_time();
        let result = load::run(socket, prepared.clone(), clients, args.requests)
            .await
            .map_err(report)?;
        let cpu = match (cpu_before, load::process_cpu_time()) {
            (Some(a), Some(b)) => format!(
                "{:.0} %",
                100.0 * (b - a).as_secs_f64() / result.wall.as_secs_f64()
            ),
            _ => "n/a".into(),
        };
        let ms = |q| result.percentile(q).as_secs_f64() * 1e3;
        println!(
            "{:>8} {:>9} {:>12.0} {:>9.2} {:>9.2} {:>13}",
            clients,
            result.requests,
            result.sentences_per_second(),
            ms(0.50),
            ms(0.99),
            cpu
        );
    }
    Ok(())
}

fn main() -> ExitCode {
    let args = Args::parse();
    // One thread: the generator stays on one core, mostly waiting.
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("ner-load: error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ner-load: error: {e}");
            ExitCode::FAILURE
        }
    }
}
