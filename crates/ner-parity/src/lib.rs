//! Tests only (`tests/`): the libtorch-free side of the toolkit against
//! libtorch. `ner-infer`'s forward pass, built from `ner-kernels`, against
//! `ner-train`'s tagger on libtorch's own ops for every architecture a
//! pipeline can name; and `ner-predict` on models `ner-train` trained.
//! Keeping them here keeps `torch-sys` out of `ner-predict`'s and
//! `ner-infer`'s dependency trees, tests included.
