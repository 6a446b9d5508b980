//! Shared ground of the pipeline: the artifact schemas, the tag-scheme rules
//! and the file I/O every stage uses.
//!
//! In: nothing of its own. Out: the types and helpers each stage builds on —
//! [`schema`] (column names, Arrow schemas, metadata keys and the format
//! version, defined once for writers and readers alike), [`scheme`] (IOB1,
//! IOB2 and BIOES), [`conlleval`] (the CoNLL scorer, rule for rule),
//! [`metrics`] (accuracy, macro F1, confusion), [`artifact`] (atomic
//! Parquet and Arrow IPC writers, checked readers, a memory-mapped IPC reader,
//! SHA-256 fingerprints), [`rng`] (a seeded shuffle that never changes),
//! [`hash`] (the fast hash maps of the token look-ups) and [`parallel`]
//! (work split over threads).
//!
//! It deliberately knows nothing of tensors, training or any one corpus.
//!
//! ```
//! use ner_core::scheme::{convert, Tag, TagScheme};
//!
//! let iob1: Vec<Tag> = ["I-PER", "I-PER", "O", "I-LOC"]
//!     .iter()
//!     .map(|t| Tag::parse(t).unwrap())
//!     .collect();
//! assert_eq!(convert(&iob1, TagScheme::Iob2), ["B-PER", "I-PER", "O", "B-LOC"]);
//! ```

pub mod artifact;
mod background;
pub mod batches;
pub mod cli;
pub mod conlleval;
pub mod error;
pub mod hash;
pub mod metrics;
pub mod parallel;
pub mod rng;
pub mod runs;
pub mod schema;
pub mod scheme;
pub mod tables;

pub use error::{Error, Result};

/// `name version` of the running stage, recorded in every artifact it writes.
#[macro_export]
macro_rules! created_by {
    () => {
        concat!(env!("CARGO_PKG_NAME"), " ", env!("CARGO_PKG_VERSION"))
    };
}
