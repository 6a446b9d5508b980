//! Requests arriving together are tagged together. Up to `threads` batches
//! run at once, each on its own blocking thread: when a thread is free, the
//! batching task takes every request queued (waiting up to `max_wait` for
//! more, up to `max_batch` sentences) and runs them as one call of the
//! tagger, then hands each request its own sentences back. So under load
//! the next batch forms while the others run, and no core waits for the
//! queue; a batch large enough (`min_split` sentences per thread) also
//! takes the threads that are free at that moment.

use std::sync::Arc;
use std::time::Duration;

use ner_infer::{Analysis, Options, Tagger};
use tokio::sync::{mpsc, oneshot, Semaphore};

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
    /// Batches running at once, and the threads one batch may take.
    pub threads: usize,
    /// A batch takes more than one thread only when each gets at least
    /// this many sentences.
    pub min_split: usize,
}

impl Batching {
    /// `threads` workers, batches of up to 512 sentences formed from what is
    /// queued, split over free threads from 64 sentences per thread.
    pub fn new(threads: usize) -> Self {
        Batching {
            max_batch: 512,
            max_wait: Duration::ZERO,
            threads: threads.max(1),
            min_split: 64,
        }
    }
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
    let workers = Arc::new(Semaphore::new(batching.threads.max(1)));
    loop {
        // Wait for a free thread first, so that what queues meanwhile
        // joins this batch.
        let Ok(first_thread) = Arc::clone(&workers).acquire_owned().await else {
            return;
        };
        let Some(first) = queue.recv().await else {
            return;
        };
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
        let mut threads = vec![first_thread];
        while size >= (threads.len() + 1) * batching.min_split.max(1) {
            match Arc::clone(&workers).try_acquire_owned() {
                Ok(permit) => threads.push(permit),
                Err(_) => break,
            }
        }
        let tagger = Arc::clone(&tagger);
        let max_batch = batching.max_batch.max(1);
        tokio::task::spawn_blocking(move || {
            tag_batch(&tagger, jobs, threads.len(), max_batch);
            drop(threads);
        });
    }
}

/// Runs one batch on `threads` threads and answers each of its requests.
fn tag_batch(tagger: &Tagger, mut jobs: Vec<Job>, threads: usize, max_batch: usize) {
    let counts: Vec<usize> = jobs.iter().map(|j| j.sentences.len()).collect();
    let nbest = jobs.iter().map(|j| j.nbest).max().unwrap_or(0);
    let sentences: Vec<Vec<String>> = jobs
        .iter_mut()
        .flat_map(|j| std::mem::take(&mut j.sentences))
        .collect();
    // The tagger spreads whole batches over its threads: split this one so
    // that every thread gets a share.
    let options = Options {
        batch_size: sentences.len().div_ceil(threads).clamp(1, max_batch),
        threads,
        nbest,
    };
    match tagger.analyze(&sentences, &[], options) {
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
                let _ = job.reply.send(Err(e.to_string()));
            }
        }
    }
}
