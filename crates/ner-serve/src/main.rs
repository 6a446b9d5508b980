//! `ner-serve MODEL_DIR`: see the library for the routes.

use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use ner_infer::Tagger;
use ner_model::folder::{ModelDir, Weights};
use ner_serve::api::Limits;
use ner_serve::batcher::Batching;
use ner_serve::App;

/// Serve a model folder over HTTP (JSON tagging and a page at /).
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// The model folder from ner-train.
    model: PathBuf,
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    #[arg(long, default_value_t = 8080)]
    port: u16,
    /// Use model.safetensors (last epoch) instead of best.safetensors.
    #[arg(long)]
    last: bool,
    /// Lanes: threads that each read, tag and answer their own
    /// connections' requests [default: one per CPU].
    #[arg(long)]
    threads: Option<NonZeroUsize>,
    /// Sentences per batch at most.
    #[arg(long, default_value_t = Batching::new(1).max_batch)]
    max_batch: usize,
    /// How long a request waits for others to batch with, in microseconds
    /// (0: only those already queued).
    #[arg(long, default_value_t = 0)]
    max_wait_us: u64,
    /// A batch takes more than one free thread only when each gets at
    /// least this many sentences.
    #[arg(long, default_value_t = Batching::new(1).min_split)]
    min_split: usize,
    #[arg(long, default_value_t = Limits::default().max_body_bytes)]
    max_body_bytes: usize,
    #[arg(long, default_value_t = Limits::default().max_sentences)]
    max_sentences: usize,
    #[arg(long, default_value_t = Limits::default().max_tokens)]
    max_tokens: usize,
    #[arg(long, default_value_t = Limits::default().max_nbest)]
    max_nbest: usize,
}

async fn shutdown() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = terminate => {}
    }
    eprintln!("ner-serve: finishing the requests in flight, then stopping");
}

fn run(args: Args) -> Result<(), String> {
    let dir = ModelDir::new(&args.model);
    let weights = if args.last {
        Weights::Last
    } else {
        Weights::Best
    };
    let tagger = Tagger::load(&dir, weights, None).map_err(|e| ner_core::cli::chain(&e))?;
    let threads = args
        .threads
        .or_else(|| std::thread::available_parallelism().ok())
        .map_or(1, usize::from);
    let limits = Limits {
        max_body_bytes: args.max_body_bytes,
        max_sentences: args.max_sentences,
        max_tokens: args.max_tokens,
        max_nbest: args.max_nbest,
    };
    let batching = Batching {
        max_batch: args.max_batch,
        max_wait: Duration::from_micros(args.max_wait_us),
        threads,
        min_split: args.min_split,
    };
    let app = App::new(tagger, &dir, limits, batching)?;
    let address = format!("{}:{}", args.host, args.port);
    let listener = std::net::TcpListener::bind(&address)
        .map_err(|e| format!("cannot listen on {address}: {e}"))?;
    let local = listener.local_addr().map_err(|e| e.to_string())?;
    eprintln!("ner-serve: {} on http://{local}/", args.model.display());
    ner_serve::serve(listener, app, shutdown()).map_err(|e| format!("serving on {local}: {e}"))
}

fn main() -> ExitCode {
    match run(Args::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ner-serve: error: {e}");
            ExitCode::FAILURE
        }
    }
}
