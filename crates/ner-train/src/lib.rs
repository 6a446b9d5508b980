//! Stage 4 (training): libtorch tensors from the encoded batches.
//!
//! In: an Arrow IPC batches file from `ner-encode`. Out, so far: the
//! [`data::BatchTensors`] a tagger trains on — word ids, label ids (padding
//! -100), character ids and lengths as `tch` tensors on the chosen device —
//! read through a memory mapping. This is the only crate (with the later
//! prediction crate) that links libtorch; the data stages never do.
//!
//! ```no_run
//! use ner_train::data::EncodedSplit;
//!
//! let split = EncodedSplit::open("data/processed/train.arrow".as_ref())?;
//! for batch in split.iter(tch::Device::Cpu) {
//!     let batch = batch?;
//!     println!("{:?}", batch.word_ids.size());
//! }
//! # Ok::<(), ner_core::Error>(())
//! ```

pub mod data;
