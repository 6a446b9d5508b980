//! Fault injection for tests, `EPOCH:STEP` in an environment variable, so
//! tests exercise the real paths: `NER_TRAIN_INJECT_NAN` makes the loss of
//! that step (1-based) NaN, and `NER_TRAIN_INJECT_STOP` raises the stop flag
//! once STEP steps of EPOCH are done, as a signal arriving there would.

use crate::TrainError;

/// The faults this run injects.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Faults {
    /// (epoch, step) whose loss becomes NaN.
    pub(crate) nan: Option<(usize, usize)>,
    /// (epoch, steps done) at which the stop flag is raised.
    pub(crate) stop: Option<(usize, usize)>,
}

impl Faults {
    /// The faults named in the environment.
    pub(crate) fn from_env() -> Result<Faults, TrainError> {
        Ok(Faults {
            nan: read("NER_TRAIN_INJECT_NAN")?,
            stop: read("NER_TRAIN_INJECT_STOP")?,
        })
    }
}

fn read(name: &str) -> Result<Option<(usize, usize)>, TrainError> {
    let Ok(value) = std::env::var(name) else {
        return Ok(None);
    };
    let parsed = value
        .split_once(':')
        .and_then(|(e, s)| Some((e.parse().ok()?, s.parse().ok()?)));
    parsed
        .map(Some)
        .ok_or_else(|| TrainError::Config(format!("{name} must be EPOCH:STEP, found '{value}'")))
}
