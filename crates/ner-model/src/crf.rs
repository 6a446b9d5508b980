//! The linear-chain CRF's constraints, shared by training (`ner-train`) and
//! prediction (`ner-infer`); the arithmetic over the scores (log-partition,
//! Viterbi) is `ner_kernels::crf`'s.
//!
//! Scores: `start[j]` for the first tag, `transitions[i][j]` from tag `i` to
//! tag `j`, `end[i]` after the last tag, plus the emission scores of the
//! tagger below. Moves the tag scheme forbids (IOB2: `O → I-X`, `B-X → I-Y`,
//! `I-X → I-Y`, a sentence starting with `I-X`; BIOES likewise for `I-`/`E-`
//! and for what may follow an open phrase) get a fixed penalty of -10,000 in
//! training and decoding alike, so the best path is always well formed.

use ner_core::scheme::{Prefix, Tag, TagScheme};
pub use ner_kernels::crf::Scores;

/// The penalty of a forbidden move (large, finite: `0 × penalty` stays 0).
pub const FORBIDDEN: f32 = -10_000.0;

/// Allowed moves of a tag set: `[from][to]`, start and end.
#[derive(Debug, Clone, PartialEq)]
pub struct Penalties {
    pub transitions: Vec<Vec<f32>>,
    pub start: Vec<f32>,
    pub end: Vec<f32>,
}

impl Penalties {
    /// The constraints of `scheme` over `tags` (IOB1 is left unconstrained).
    pub fn for_scheme(tags: &[String], scheme: TagScheme) -> Self {
        let parsed: Vec<Tag<'_>> = tags
            .iter()
            .map(|t| Tag::parse(t).unwrap_or(Tag::O))
            .collect();
        let n = tags.len();
        let mut out = Penalties {
            transitions: vec![vec![0.0; n]; n],
            start: vec![0.0; n],
            end: vec![0.0; n],
        };
        if scheme == TagScheme::Iob1 {
            return out;
        }
        // Continuing a phrase: I- (and E- in BIOES) must follow B-/I- of the same type.
        let continues = |t: &Tag<'_>| {
            matches!(
                t,
                Tag::Entity {
                    prefix: Prefix::I,
                    ..
                } | Tag::Entity {
                    prefix: Prefix::E,
                    ..
                }
            )
        };
        // In BIOES a phrase opened by B-/I- must be continued.
        let open = |t: &Tag<'_>| {
            scheme == TagScheme::Bioes
                && matches!(
                    t,
                    Tag::Entity {
                        prefix: Prefix::B,
                        ..
                    } | Tag::Entity {
                        prefix: Prefix::I,
                        ..
                    }
                )
        };
        for (j, to) in parsed.iter().enumerate() {
            if continues(to) {
                out.start[j] = FORBIDDEN;
            }
            if open(&parsed[j]) {
                out.end[j] = FORBIDDEN;
            }
            for (i, from) in parsed.iter().enumerate() {
                let same_open_phrase = matches!(
                    from,
                    Tag::Entity {
                        prefix: Prefix::B | Prefix::I,
                        ..
                    }
                ) && from.kind() == to.kind();
                let allowed = if continues(to) {
                    same_open_phrase
                } else {
                    !open(from)
                };
                if !allowed {
                    out.transitions[i][j] = FORBIDDEN;
                }
            }
        }
        out
    }
}

impl Penalties {
    /// The scores a CRF decodes with: learned `transitions` (`[from, to]`
    /// row-major), `start` and `end` plus these penalties.
    pub fn scores(&self, transitions: &[f32], start: &[f32], end: &[f32]) -> Scores {
        let add =
            |a: &[f32], b: &[f32]| -> Vec<f32> { a.iter().zip(b).map(|(a, b)| a + b).collect() };
        Scores {
            k: start.len(),
            transitions: add(transitions, &self.transitions.concat()),
            start: add(start, &self.start),
            end: add(end, &self.end),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn iob2_constraints() {
        let names = tags(&["O", "B-LOC", "I-LOC", "B-PER", "I-PER"]);
        let p = Penalties::for_scheme(&names, TagScheme::Iob2);
        let f = FORBIDDEN;
        assert_eq!(p.start, vec![0.0, 0.0, f, 0.0, f]);
        assert_eq!(p.transitions[0], vec![0.0, 0.0, f, 0.0, f]); // O -> I-X
        assert_eq!(p.transitions[1], vec![0.0, 0.0, 0.0, 0.0, f]); // B-LOC -> I-PER
        assert_eq!(p.transitions[2], vec![0.0, 0.0, 0.0, 0.0, f]); // I-LOC -> I-PER
        assert!(p.end.iter().all(|&v| v == 0.0));
    }

    #[test]
    fn bioes_constraints() {
        let names = tags(&["O", "B-PER", "E-PER", "I-PER", "S-PER"]);
        let p = Penalties::for_scheme(&names, TagScheme::Bioes);
        let f = FORBIDDEN;
        assert_eq!(p.start, vec![0.0, 0.0, f, f, 0.0]);
        assert_eq!(p.end, vec![0.0, f, 0.0, f, 0.0]);
        assert_eq!(p.transitions[1], vec![f, f, 0.0, 0.0, f]); // B-PER must continue
        assert_eq!(p.transitions[2], vec![0.0, 0.0, f, f, 0.0]); // E-PER closes
    }
}
