//! The hash maps of the token look-ups (word, character and tag ids): a
//! multiply-fold hash over 8-byte words, several times faster than std's
//! SipHash on the short keys every stage looks up once per token, and
//! seeded per process like std's, so no stage can depend on an order.

use std::collections::hash_map::RandomState;
use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};

/// A `HashMap` with [`FastState`].
pub type FastMap<K, V> = HashMap<K, V, FastState>;

/// Builds [`FastHasher`]s from one random seed per map.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FastState {
    seed: u64,
}

impl Default for FastState {
    fn default() -> Self {
        FastState {
            seed: RandomState::new().build_hasher().finish(),
        }
    }
}

impl BuildHasher for FastState {
    type Hasher = FastHasher;

    fn build_hasher(&self) -> FastHasher {
        FastHasher { state: self.seed }
    }
}

/// The multiplier: the fractional part of the golden ratio, odd.
const K: u64 = 0x9e37_79b9_7f4a_7c15;

/// The high and low halves of the full product, folded together.
fn fold(x: u64, y: u64) -> u64 {
    let product = u128::from(x) * u128::from(y);
    (product as u64) ^ ((product >> 64) as u64)
}

/// See the [module](self).
#[derive(Debug, Clone)]
pub struct FastHasher {
    state: u64,
}

impl Hasher for FastHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut words = bytes.chunks_exact(8);
        for word in &mut words {
            let mut w = [0u8; 8];
            w.copy_from_slice(word);
            self.write_u64(u64::from_le_bytes(w));
        }
        let rest = words.remainder();
        if !rest.is_empty() {
            let mut w = [0u8; 8];
            w[..rest.len()].copy_from_slice(rest);
            // The length tells "ab" from "ab\0".
            self.write_u64(u64::from_le_bytes(w) ^ ((rest.len() as u64) << 59));
        }
    }

    fn write_u8(&mut self, i: u8) {
        self.write_u64(u64::from(i));
    }

    fn write_u32(&mut self, i: u32) {
        self.write_u64(u64::from(i));
    }

    fn write_u64(&mut self, i: u64) {
        self.state = fold(self.state ^ i, K);
    }

    fn write_usize(&mut self, i: usize) {
        self.write_u64(i as u64);
    }

    fn finish(&self) -> u64 {
        fold(self.state, K ^ 0x5851_f42d_4c95_7f2d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hash_with(state: &FastState, key: &str) -> u64 {
        state.hash_one(key)
    }

    #[test]
    fn keys_that_differ_hash_apart() {
        let state = FastState { seed: 7 };
        let keys = [
            "",
            "a",
            "b",
            "ab",
            "ba",
            "ab\0",
            "abcdefgh",
            "abcdefgh\0",
            "abcdefghi",
        ];
        let hashes: std::collections::BTreeSet<u64> =
            keys.iter().map(|k| hash_with(&state, k)).collect();
        assert_eq!(hashes.len(), keys.len());
        assert_eq!(hash_with(&state, "Peter"), hash_with(&state, "Peter"));
    }

    #[test]
    fn seeds_differ_between_maps() {
        let (a, b) = (FastState::default(), FastState::default());
        assert_ne!(hash_with(&a, "word"), hash_with(&b, "word"));
    }

    #[test]
    fn a_map_finds_every_key() {
        let words: Vec<String> = (0..10_000).map(|i| format!("w{i}")).collect();
        let map: FastMap<&str, usize> = words
            .iter()
            .enumerate()
            .map(|(i, w)| (w.as_str(), i))
            .collect();
        assert!(words.iter().enumerate().all(|(i, w)| map[w.as_str()] == i));
        assert_eq!(map.get("w10000"), None);
    }
}
