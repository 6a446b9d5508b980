//! The CPU arithmetic of the recurrent taggers, in plain Rust: matrix
//! products and gate functions ([`math`]), used by `ner-infer` to tag
//! without libtorch, and one recurrent layer direction forward and backward
//! over packed sentences ([`recurrent`]), used by `ner-train` in place of
//! libtorch's step-by-step autograd.

pub mod chars;
pub mod crf;
pub mod math;
pub mod recurrent;

pub use chars::{CharBatch, CharCnn, CnnForward, CnnGradients};
pub use recurrent::{gather_rows, scatter_rows, Cell, Forward, Gradients, Packing, Recurrence};
