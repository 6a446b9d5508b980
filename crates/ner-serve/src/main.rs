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
use ner_serve::AppState;

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
    /// Batches tagged at once, one thread each [default: one per CPU].
    #[arg(long)]
    threads: Option<usize>,
    /// Threads that read requests and write answers (the async runtime's
    /// workers), beside the tagging threads.
    #[arg(long, default_value = "2")]
    io_threads: NonZeroUsize,
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

async fn run(args: Args) -> Result<(), String> {
    let dir = ModelDir::new(&args.model);
    let weights = if args.last {
        Weights::Last
    } else {
        Weights::Best
    };
    let tagger = Tagger::load(&dir, weights, None).map_err(|e| ner_core::cli::chain(&e))?;
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from));
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
    let state = AppState::new(tagger, &dir, limits, batching)?;
    let address = format!("{}:{}", args.host, args.port);
    let listener = tokio::net::TcpListener::bind(&address)
        .await
        .map_err(|e| format!("cannot listen on {address}: {e}"))?;
    let local = listener.local_addr().map_err(|e| e.to_string())?;
    eprintln!("ner-serve: {} on http://{local}/", args.model.display());
    ner_serve::serve(listener, state, shutdown())
        .await
        .map_err(|e| format!("serving on {local}: {e}"))
}

fn main() -> ExitCode {
    let args = Args::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.io_threads.get())
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("ner-serve: error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ner-serve: error: {e}");
            ExitCode::FAILURE
        }
    }
}
