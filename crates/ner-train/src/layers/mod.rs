//! The tagger's layers on libtorch, each able to run its CPU arithmetic on
//! `ner-kernels`: character features and casing ([`chars`]), the CRF
//! ([`crf`]), the stacked recurrent layers ([`recurrent`]) and the GRU in
//! tensor operations ([`gru`]); [`embedding`] makes every embedding table
//! start as `model.embedding_init` says.

pub mod chars;
pub mod crf;
pub mod gru;
pub mod recurrent;

use crate::config::EmbeddingInit;
use tch::nn::{self, Init, Path as VsPath};

/// An embedding table of `n` rows and `dim` columns under `vs`, started as
/// `init` says.
pub fn embedding(vs: VsPath<'_>, n: i64, dim: i64, init: EmbeddingInit) -> nn::Embedding {
    let ws_init = match init.uniform_bound(dim) {
        Some(bound) => Init::Uniform {
            lo: -bound,
            up: bound,
        },
        None => nn::EmbeddingConfig::default().ws_init,
    };
    nn::embedding(
        vs,
        n,
        dim,
        nn::EmbeddingConfig {
            ws_init,
            ..Default::default()
        },
    )
}

#[cfg(test)]
mod tests {
    use tch::{nn, Device};

    use super::*;

    #[test]
    fn scaled_tables_draw_within_their_bound_with_sd_one_over_root_dim() {
        tch::manual_seed(7);
        let vs = nn::VarStore::new(Device::Cpu);
        let scaled = embedding(vs.root() / "scaled", 2000, 100, EmbeddingInit::Scaled);
        let bound = (3.0f64 / 100.0).sqrt();
        assert!(scaled.ws.abs().max().double_value(&[]) <= bound);
        // Uniform in ±√(3/dim) has the standard deviation 1/√dim.
        let sd = scaled.ws.std(true).double_value(&[]);
        assert!((sd - 0.1).abs() < 0.002, "sd {sd}");
        let normal = embedding(vs.root() / "normal", 2000, 100, EmbeddingInit::Normal);
        let sd = normal.ws.std(true).double_value(&[]);
        assert!((sd - 1.0).abs() < 0.02, "sd {sd}");
    }
}
