//! Requests arriving together are tagged together. Each lane
//! ([`crate::lanes`]) has its own batcher, a task that takes every request
//! queued in the lane (waiting up to `max_wait` for more, up to
//! `max_batch` sentences) and tags them as one call of the tagger, right
//! there on the lane's thread, then hands each request its own sentences
//! back. While it tags, the lane's next requests queue and form its next
//! batch. A batch large enough (`min_split` sentences per thread) also
//! takes the threads of the lanes that are not tagging at that moment.

use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicUsize, Ordering};
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

/// How batches are formed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Batching {
    /// Sentences per batch at most (a larger request runs alone).
    pub max_batch: usize,
    /// How long the first request of a batch waits for others.
    pub max_wait: Duration,
    /// Lanes, so batches tagged at once; and the threads one batch may
    /// take.
    pub threads: usize,
    /// A batch takes more than one thread only when each gets at least
    /// this many sentences.
    pub min_split: usize,
}

impl Batching {
    /// `threads` lanes, batches of up to 512 sentences formed from what is
    /// queued, split over idle lanes' threads from 64 sentences per thread.
    pub fn new(threads: usize) -> Self {
        Batching {
            max_batch: 512,
            max_wait: Duration::ZERO,
            threads: threads.max(1),
            min_split: 64,
        }
    }
}

/// What every lane's batcher shares: the tagger, the rule, and how many
/// lanes are tagging right now.
#[derive(Debug)]
pub struct Tagging {
    tagger: Arc<Tagger>,
    batching: Batching,
    busy: AtomicUsize,
}

impl Tagging {
    pub fn new(tagger: Arc<Tagger>, batching: Batching) -> Self {
        Tagging {
            tagger,
            batching,
            busy: AtomicUsize::new(0),
        }
    }

    pub fn batching(&self) -> Batching {
        self.batching
    }

    pub fn tagger(&self) -> &Tagger {
        &self.tagger
    }
}

/// A lane's handle to its batcher.
#[derive(Debug, Clone)]
pub struct Batcher {
    jobs: mpsc::Sender<Job>,
}

impl Batcher {
    /// Starts a batcher on the current runtime, which should be its lane's
    /// (it tags on the runtime's thread).
    pub fn start(tagging: Arc<Tagging>) -> Batcher {
        let (jobs, queue) = mpsc::channel(4096);
        tokio::spawn(run(tagging, queue));
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

async fn run(tagging: Arc<Tagging>, mut queue: mpsc::Receiver<Job>) {
    let batching = tagging.batching;
    let max_batch = batching.max_batch.max(1);
    while let Some(first) = queue.recv().await {
        let mut size = first.sentences.len();
        let mut jobs = vec![first];
        let deadline = tokio::time::Instant::now() + batching.max_wait;
        while size < max_batch {
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
        let others = tagging.busy.fetch_add(1, Ordering::SeqCst);
        let idle = batching.threads.saturating_sub(others + 1);
        let threads = (size / batching.min_split.max(1)).clamp(1, 1 + idle);
        tag_batch(&tagging.tagger, jobs, threads, max_batch);
        tagging.busy.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Runs one batch on `threads` threads and answers each of its requests;
/// a panic in the tagger fails this batch's requests, not the lane.
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
    let analysed = std::panic::catch_unwind(AssertUnwindSafe(|| {
        tagger.analyze(&sentences, &[], options)
    }));
    match analysed {
        Ok(Ok(analyses)) => {
            let mut analyses = analyses.into_iter();
            for (job, n) in jobs.into_iter().zip(counts) {
                let mut own: Vec<Analysis> = analyses.by_ref().take(n).collect();
                for a in &mut own {
                    a.nbest.truncate(job.nbest);
                }
                let _ = job.reply.send(Ok(own));
            }
        }
        Ok(Err(e)) => {
            for job in jobs {
                let _ = job.reply.send(Err(e.to_string()));
            }
        }
        Err(_) => {
            for job in jobs {
                let _ = job
                    .reply
                    .send(Err("the tagger failed on this batch".to_string()));
            }
        }
    }
}
