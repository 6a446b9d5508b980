//! Inverted-dropout masks and where their randomness comes from.
//!
//! A mask keeps each value with probability 1 − p, scaled by 1/(1 − p) (what
//! `Tensor::dropout` multiplies by). On the CPU its values come from
//! SplitMix64 seeded with one draw per mask, two values per 64-bit draw; the
//! draws come from libtorch's generator in training ([`Masks::libtorch`]), so
//! `tch::manual_seed` and the checkpointed generator state fix every mask,
//! and from a plain sequence where two paths must draw the same masks
//! without touching libtorch's shared generator ([`Masks::seeded`], tests).
//! An epoch of `char-bilstm-crf`'s three masks per batch took 0.22 s here,
//! where libtorch's CPU `rand` took 0.41 s for the character masks alone.

use std::cell::Cell;

use ner_core::rng::SplitMix64;
use tch::{Device, Kind, Tensor};

/// Where each mask's seed comes from.
#[derive(Debug)]
pub struct Masks {
    /// The last seed handed out, for [`Masks::seeded`].
    sequence: Option<Cell<u64>>,
}

impl Masks {
    /// One draw of libtorch's generator per mask.
    pub fn libtorch() -> Self {
        Masks { sequence: None }
    }

    /// Seeds `first + 1`, `first + 2`, … (libtorch's generator untouched).
    pub fn seeded(first: u64) -> Self {
        Masks {
            sequence: Some(Cell::new(first)),
        }
    }

    fn seed(&self) -> u64 {
        match &self.sequence {
            Some(last) => {
                let next = last.get().wrapping_add(1);
                last.set(next);
                next
            }
            None => {
                Tensor::randint(i64::MAX, [1], (Kind::Int64, Device::Cpu)).int64_value(&[0]) as u64
            }
        }
    }

    /// A mask of `shape` on `device`: [`Masks::values`] on the CPU; on a GPU,
    /// uniform numbers drawn there compared with `p`.
    pub fn mask(&self, shape: &[i64], p: f64, device: Device) -> Tensor {
        if device != Device::Cpu {
            return Tensor::rand(shape, (Kind::Float, device))
                .ge(p)
                .to_kind(Kind::Float)
                * (1.0 / (1.0 - p));
        }
        let n = shape.iter().product::<i64>().max(0) as usize;
        Tensor::from_slice(&self.values(n, p)).view(shape)
    }

    /// `n` mask values (1/(1 − p) with probability 1 − p, else 0; `p` in
    /// [0, 1), as the pipeline checks) from one seed.
    pub fn values(&self, n: usize, p: f64) -> Vec<f32> {
        let mut rng = SplitMix64::new(self.seed());
        // Kept where a uniform u32 is at least p·2³².
        let threshold = (p.clamp(0.0, 1.0) * 4_294_967_296.0).round() as u64;
        let keep = (1.0 / (1.0 - p)) as f32;
        // 1 where u ≥ threshold, from the sign of u − threshold: arithmetic, as
        // a compare became a branch, a coin flip that no predictor guesses.
        let value = |u: u32| (((u64::from(u).wrapping_sub(threshold) >> 63) ^ 1) as f32) * keep;
        let mut out = vec![0f32; n];
        let mut pairs = out.chunks_exact_mut(2);
        for pair in &mut pairs {
            let draw = rng.next_u64();
            pair[0] = value(draw as u32);
            pair[1] = value((draw >> 32) as u32);
        }
        if let [last] = pairs.into_remainder() {
            *last = value(rng.next_u64() as u32);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_keep_one_minus_p_scaled() {
        let masks = Masks::seeded(3);
        let mask = masks.mask(&[100, 1000], 0.3, Device::Cpu);
        let scale = 1.0 / 0.7;
        let kept = mask
            .gt(0.0)
            .to_kind(Kind::Float)
            .mean(Kind::Float)
            .double_value(&[]);
        assert!((kept - 0.7).abs() < 0.01, "kept {kept}");
        let off_values = mask
            .gt(0.0)
            .logical_and(&(&mask - scale).abs().gt(1e-6))
            .any()
            .int64_value(&[]);
        assert_eq!(off_values, 0, "kept values are 1/(1 - p)");
        let mean = mask.mean(Kind::Float).double_value(&[]);
        assert!((mean - 1.0).abs() < 0.02, "mean {mean}");
        // The seed fixes the mask; each mask has a seed of its own.
        let masks = Masks::seeded(40);
        let first = masks.mask(&[100, 1000], 0.3, Device::Cpu);
        let next = masks.mask(&[100, 1000], 0.3, Device::Cpu);
        assert!(
            Masks::seeded(40)
                .mask(&[100, 1000], 0.3, Device::Cpu)
                .equal(&first),
            "the same seed, the same mask"
        );
        assert!(!next.equal(&first), "a new mask");
        // An odd count takes its last value from a draw of its own.
        assert_eq!(Masks::seeded(0).values(7, 0.0), vec![1.0; 7]);
    }
}
