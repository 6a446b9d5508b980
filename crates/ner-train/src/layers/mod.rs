//! The tagger's layers on libtorch, each able to run its CPU arithmetic on
//! `ner-kernels`: character features and casing ([`chars`]), the CRF
//! ([`crf`]), the stacked recurrent layers ([`recurrent`]) and the GRU in
//! tensor operations ([`gru`]).

pub mod chars;
pub mod crf;
pub mod gru;
pub mod recurrent;
