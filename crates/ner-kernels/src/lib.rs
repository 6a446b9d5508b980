//! The CPU arithmetic of the recurrent taggers, in plain Rust: matrix
//! products and gate functions ([`math`]), used by `ner-infer` to tag
//! without libtorch, and one recurrent layer direction forward and backward
//! over packed sentences ([`recurrent`]), the CRF's log-partition ([`crf`])
//! and the character CNN ([`chars`]), forward and backward, used by
//! `ner-train` in place of libtorch's ops and autograd on the CPU.

pub mod chars;
pub mod crf;
pub mod math;
pub mod recurrent;

pub use chars::{CharBatch, CharCnn, CnnForward, CnnGradients};
pub use recurrent::{gather_rows, scatter_rows, Cell, Forward, Gradients, Packing, Recurrence};
