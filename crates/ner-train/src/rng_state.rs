//! libtorch's CPU random-number state, read and restored through a small C++
//! shim (`csrc/rng_state.cpp`; tch does not expose it). Dropout and word
//! dropout draw from this generator, so a resumed run needs it to draw the
//! same numbers as an uninterrupted one.
#![allow(unsafe_code)] // two FFI calls, each with its buffer's length checked here

use crate::TrainError;

unsafe extern "C" {
    fn ner_cpu_rng_state(out: *mut u8, cap: i64) -> i64;
    fn ner_set_cpu_rng_state(data: *const u8, n: i64) -> i32;
}

/// The default CPU generator's state (what `torch.get_rng_state()` returns).
pub fn cpu_rng_state() -> Result<Vec<u8>, TrainError> {
    // SAFETY: a null buffer with capacity 0 only asks for the size.
    let n = unsafe { ner_cpu_rng_state(std::ptr::null_mut(), 0) };
    let len = usize::try_from(n)
        .map_err(|_| TrainError::Internal("libtorch did not return its RNG state".into()))?;
    let mut state = vec![0u8; len];
    // SAFETY: `state` holds `n` writable bytes.
    let copied = unsafe { ner_cpu_rng_state(state.as_mut_ptr(), n) };
    if copied != n {
        return Err(TrainError::Internal(
            "libtorch's RNG state changed size while read".into(),
        ));
    }
    Ok(state)
}

/// Restores a state read by [`cpu_rng_state`].
pub fn set_cpu_rng_state(state: &[u8]) -> Result<(), TrainError> {
    let n = i64::try_from(state.len())
        .map_err(|_| TrainError::Internal("RNG state too large".into()))?;
    // SAFETY: `state` holds `n` readable bytes; the shim copies them.
    let rc = unsafe { ner_set_cpu_rng_state(state.as_ptr(), n) };
    if rc != 0 {
        return Err(TrainError::Internal(format!(
            "libtorch refused a saved RNG state of {} bytes (saved by another libtorch?)",
            state.len()
        )));
    }
    Ok(())
}

// The test is `tests/rng_state.rs`: a process of its own, as libtorch's
// generator is shared by every test running beside it.
