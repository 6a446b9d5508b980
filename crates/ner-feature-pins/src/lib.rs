//! No code: this crate only pins features (see its `Cargo.toml`), so that
//! `cargo build --workspace --exclude ner-train --exclude ner-gates
//! --exclude ner-parity` and `cargo build --workspace` compile every shared
//! dependency once, with one feature set.
