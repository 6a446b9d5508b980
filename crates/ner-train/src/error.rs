//! The train stage's errors, by kind: bad input, configuration, libtorch,
//! the system, internal, and the states a run stops in (diverged,
//! interrupted, locked).

use std::path::PathBuf;

/// Errors of the train stage.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// A file could not be read or written, or is not the artifact expected.
    #[error(transparent)]
    Artifact(#[from] ner_core::Error),
    /// A pipeline, a model folder or its vocabularies.
    #[error(transparent)]
    Model(#[from] ner_model::ModelError),
    /// Input files that do not belong together, or do not fit the run.
    #[error(transparent)]
    Input(#[from] InputError),
    /// Options that do not go together, or a value outside its range.
    #[error("{0}")]
    Config(String),
    /// libtorch failed while doing `during`.
    #[error("libtorch failed while {during}")]
    Torch {
        during: &'static str,
        #[source]
        source: tch::TchError,
    },
    /// The operating system refused something the run needs (signal
    /// handlers).
    #[error("{message}")]
    System {
        message: String,
        #[source]
        source: std::io::Error,
    },
    /// A broken invariant of this program (a bug to report).
    #[error("internal error: {0}")]
    Internal(String),
    #[error(
        "the training loss became NaN or infinite at epoch {epoch}, step {step}; \
         the checkpoints of the last complete epoch are kept"
    )]
    Diverged { epoch: usize, step: usize },
    #[error(
        "interrupted at epoch {epoch}, step {step} of {steps}; everything needed to continue \
         is in {checkpoint}: run `make train MODEL=<name> RESUME=1`, or the same ner-train \
         command with --resume",
        checkpoint = .checkpoint.display()
    )]
    Interrupted {
        epoch: usize,
        step: usize,
        steps: usize,
        checkpoint: PathBuf,
    },
    #[error(
        "{dir} is being trained by another process (pid {holder}, holding {dir}/train.lock); \
         two trainings into one model folder would overwrite each other's checkpoints",
        dir = .dir.display()
    )]
    Locked { dir: PathBuf, holder: String },
}

/// Input files that do not belong together, or do not fit the run.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    /// Batches encoded with other vocabulary files than the ones given.
    #[error(
        "{batches} was encoded with another vocabulary than {vocab} ({key} {recorded} in the \
         batches, {on_disk} on disk); rerun `make data` so both come from the same run",
        batches = .batches.display(),
        vocab = .vocab.display()
    )]
    OtherVocabulary {
        batches: PathBuf,
        vocab: PathBuf,
        key: String,
        recorded: String,
        on_disk: String,
    },
    /// Batches encoded otherwise than the pipeline asks (size, order).
    #[error("{batches} was encoded {found}, the pipeline asks for {wanted}; {fix}", batches = .batches.display())]
    Encoding {
        batches: PathBuf,
        found: String,
        wanted: String,
        fix: String,
    },
    /// A vocabulary cased otherwise than the pipeline asks.
    #[error(
        "the pipeline asks for {} words ([data] lowercase = {wanted}), but {vocab} was built \
         {} --lowercase; `make train` builds the right vocabulary ({}) for it",
        if *.wanted { "lower-cased" } else { "case-sensitive" },
        if *.wanted { "without" } else { "with" },
        if *.wanted { "data/lower/" } else { "data/" },
        vocab = .vocab.display()
    )]
    Casing { vocab: PathBuf, wanted: bool },
    /// A checkpoint left by a run with other inputs.
    #[error(
        "{path} was written by a run with {what}; finish it with the same inputs, \
         or delete the checkpoint to start again",
        path = .path.display()
    )]
    OtherRun { path: PathBuf, what: String },
    /// A file whose content does not fit the run (an unreadable
    /// checkpoint, vectors of another width, tags outside the tag set).
    #[error("{path}: {message}", path = .path.display())]
    File { path: PathBuf, message: String },
}

impl TrainError {
    /// A libtorch error, with what the run was doing.
    pub fn torch(during: &'static str) -> impl FnOnce(tch::TchError) -> TrainError {
        move |source| TrainError::Torch { during, source }
    }

    /// A file whose content does not fit the run.
    pub fn input(path: impl Into<PathBuf>, message: impl Into<String>) -> TrainError {
        TrainError::Input(InputError::File {
            path: path.into(),
            message: message.into(),
        })
    }
}
