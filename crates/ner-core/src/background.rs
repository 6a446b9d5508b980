//! A batch writer run on a thread of its own, so that encoding and writing
//! one record batch overlaps with producing the next (the data stages have
//! two cores and otherwise use one).
//!
//! The calling side keeps the writer's contract: batches are written in the
//! order given, an error names the file it came from (it is returned by the
//! next [`write`](Background::write) or by [`finish`](Background::finish)),
//! and dropping a `Background` waits for the thread, so the writer's
//! temporary file is gone when the drop returns.

use std::path::PathBuf;
use std::sync::mpsc::{sync_channel, SyncSender};
use std::thread::JoinHandle;

use arrow::array::RecordBatch;

use crate::error::{Error, Result};

/// Something that writes record batches, one after another.
pub trait BatchWriter: Send + 'static {
    fn write(&mut self, batch: &RecordBatch) -> Result<()>;
}

/// How many batches may wait for the writer: enough to keep it busy, few
/// enough that memory stays bounded by a few batches.
const QUEUE: usize = 2;

/// `W` on its own thread, writing to `path`.
pub(crate) struct Background<W: BatchWriter> {
    path: PathBuf,
    sender: Option<SyncSender<RecordBatch>>,
    thread: Option<JoinHandle<Result<W>>>,
}

impl<W: BatchWriter> std::fmt::Debug for Background<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Background")
            .field("path", &self.path)
            .finish()
    }
}

impl<W: BatchWriter> Background<W> {
    pub(crate) fn start(path: PathBuf, mut writer: W) -> Self {
        let (sender, receiver) = sync_channel::<RecordBatch>(QUEUE);
        let thread = std::thread::spawn(move || {
            for batch in receiver {
                writer.write(&batch)?;
            }
            Ok(writer)
        });
        Background {
            path,
            sender: Some(sender),
            thread: Some(thread),
        }
    }

    /// Queues `batch`; if the writer has failed, its error.
    pub(crate) fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        let sent = match &self.sender {
            Some(sender) => sender.send(batch.clone()).is_ok(),
            None => false,
        };
        if sent {
            return Ok(());
        }
        // The thread has ended, which it does early only on an error.
        self.join().map(|_| ())
    }

    /// Waits until every queued batch is written and gives the writer back.
    pub(crate) fn finish(mut self) -> Result<W> {
        self.join()
    }

    fn join(&mut self) -> Result<W> {
        self.sender = None;
        match self.thread.take() {
            Some(thread) => thread
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
            None => Err(Error::invalid(
                &self.path,
                "an earlier write failed; nothing more is written",
            )),
        }
    }
}

impl<W: BatchWriter> Drop for Background<W> {
    fn drop(&mut self) {
        self.sender = None;
        if let Some(thread) = self.thread.take() {
            // An unfinished writer is abandoned: its error does not matter,
            // and a panic is reported by the thread itself.
            let _ = thread.join();
        }
    }
}
