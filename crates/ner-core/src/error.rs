//! The error type shared by the artifact readers and writers.

use std::path::PathBuf;

/// An error reading or writing an artifact, always naming the file.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    // The cause is part of the message (not a `#[source]`), so a report of
    // the whole chain names it once.
    #[error("{path}: {cause}", path = .path.display())]
    Io {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("{path}: {cause}", path = .path.display())]
    Parquet {
        path: PathBuf,
        cause: parquet::errors::ParquetError,
    },
    #[error("{path}: {cause}", path = .path.display())]
    Arrow {
        path: PathBuf,
        cause: arrow::error::ArrowError,
    },
    /// The file is readable but is not the artifact the caller expected.
    #[error("{path}: {message}", path = .path.display())]
    Invalid { path: PathBuf, message: String },
}

impl Error {
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            cause: source,
        }
    }

    pub fn invalid(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Error::Invalid {
            path: path.into(),
            message: message.into(),
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
