//! Requests arriving together are tagged together: one task takes every
//! request queued while the previous batch ran (waiting up to `max_wait`
//! for more, up to `max_batch` sentences), runs them as one call of the
//! tagger on the blocking pool over all CPU threads, and hands each request
//! its own sentences back.

use std::sync::Arc;
use std::time::Duration;

use ner_infer::{Analysis, Options, Tagger};
use tokio::sync::{mpsc, oneshot};

/// One request's sentences and where its answer goes.
struct Job {
    sentences: Vec<Vec<String>>,
    nbest: usize,
    reply: oneshot::Sender<Result<Vec<Analysis>, String>>,
}

/// The handle requests use.
#[derive(Debug, Clone)]
pub struct Batcher {
    jobs: mpsc::Sender<Job>,
}

/// How batches are formed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Batching {
    /// Sentences per batch at most (a larger request runs alone).
    pub max_batch: usize,
    /// How long the first request of a batch waits for others.
    pub max_wait: Duration,
    pub threads: usize,
}

impl Batcher {
    /// Starts the batching task on the current runtime.
    pub fn start(tagger: Arc<Tagger>, batching: Batching) -> Batcher {
        let (jobs, queue) = mpsc::channel(4096);
        tokio::spawn(run(tagger, queue, batching));
        Batcher { jobs }
    }

    /// Tags one request's sentences.
    pub async fn tag(
        &self,
        sentences: Vec<Vec<String>>,
        nbest: usize,
    ) -> Result<Vec<Analysis>, String> {
        let (reply, answer) = oneshot::channel();
        self.jobs
            .send(Job {
                sentences,
                nbest,
                reply,
            })
            .await
            .map_err(|_| "the server is shutting down".to_string())?;
        answer
            .await
            .map_err(|_| "the tagger stopped before answering".to_string())?
    }
}

async fn run(tagger: Arc<Tagger>, mut queue: mpsc::Receiver<Job>, batching: Batching) {
    while let Some(first) = queue.recv().await {
        let mut size = first.sentences.len();
        let mut jobs = vec![first];
        let deadline = tokio::time::Instant::now() + batching.max_wait;
        while size < batching.max_batch {
            let next = match queue.try_recv() {
                Ok(job) => Some(job),
                Err(_) if batching.max_wait.is_zero() => None,
                Err(_) => tokio::time::timeout_at(deadline, queue.recv())
                    .await
                    .ok()
                    .flatten(),
            };
            let Some(job) = next else { break };
            size += job.sentences.len();
            jobs.push(job);
        }
        let counts: Vec<usize> = jobs.iter().map(|j| j.sentences.len()).collect();
        let nbest = jobs.iter().map(|j| j.nbest).max().unwrap_or(0);
        let sentences: Vec<Vec<String>> = jobs
            .iter_mut()
            .flat_map(|j| std::mem::take(&mut j.sentences))
            .collect();
        let options = Options {
            batch_size: batching.max_batch.max(1),
            threads: batching.threads,
            nbest,
        };
        let tagger = Arc::clone(&tagger);
        let done = tokio::task::spawn_blocking(move || {
            tagger
                .analyze(&sentences, &[], options)
                .map_err(|e| e.to_string())
        })
        .await
        .unwrap_or_else(|e| Err(format!("tagging failed: {e}")));
        match done {
            Ok(analyses) => {
                let mut analyses = analyses.into_iter();
                for (job, n) in jobs.into_iter().zip(counts) {
                    let mut own: Vec<Analysis> = analyses.by_ref().take(n).collect();
                    for a in &mut own {
                        a.nbest.truncate(job.nbest);
                    }
                    let _ = job.reply.send(Ok(own));
                }
            }
            Err(e) => {
                for job in jobs {
                    let _ = job.reply.send(Err(e.clone()));
                }
            }
        }
    }
}
