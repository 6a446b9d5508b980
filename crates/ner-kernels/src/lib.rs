//! The CPU arithmetic of the recurrent taggers, in plain Rust, written once
//! for training and inference alike: matrix products and gate functions
//! ([`math`]); one RNN/GRU/LSTM layer direction forward and backward over the
//! sentences of a batch packed longest first ([`recurrent`]); the character
//! CNN (forward and backward), the character BiLSTM and the casing classes
//! ([`chars`]); the CRF's log-partition with its gradient, and Viterbi
//! ([`crf`]).
//!
//! `ner-train` runs these in place of libtorch's ops and autograd on the CPU
//! (handing the gradients back to libtorch's graph), and `ner-infer` builds
//! the whole forward pass of a trained tagger from them. Nothing here knows
//! files, vocabularies or tensors: slices of `f32` in libtorch's layouts in,
//! slices out.
//!
//! ```
//! use ner_kernels::{Cell, Packing, Recurrence};
//!
//! // Two sentences of 2 and 1 tokens, an RNN of one hidden unit.
//! let packing = Packing::new(&[2, 1]);
//! let layer = Recurrence { cell: Cell::Rnn, hidden: 1, w_hh: &[0.5], w_hh_t: None, b_hh: &[] };
//! let out = layer.forward(&packing, &[0.1, 0.2, 0.3], false).out;
//! assert_eq!(out.len(), 3);
//! assert!((out[0] - 0.1f32.tanh()).abs() < 1e-6);
//! ```

pub mod chars;
pub mod crf;
pub mod math;
mod product;
pub mod recurrent;

pub use chars::{
    CharBatch, CharClasses, CharCnn, CharLstm, CnnForward, CnnGradients, LstmDirection,
    CASING_CLASSES,
};
pub use recurrent::{
    gather_rows, scatter_rows, transpose_w_hh, Cell, Forward, Gradients, GruGates, InputGates,
    Packing, Recurrence,
};
