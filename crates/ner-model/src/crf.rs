//! The linear-chain CRF's constraints and its Viterbi decoder, shared by
//! training (`ner-train`, which adds the forward algorithm) and libtorch-free
//! prediction (`ner-infer`).
//!
//! Scores: `start[j]` for the first tag, `transitions[i][j]` from tag `i` to
//! tag `j`, `end[i]` after the last tag, plus the emission scores of the
//! tagger below. Moves the tag scheme forbids (IOB2: `O → I-X`, `B-X → I-Y`,
//! `I-X → I-Y`, a sentence starting with `I-X`; BIOES likewise for `I-`/`E-`
//! and for what may follow an open phrase) get a fixed penalty of -10,000 in
//! training and decoding alike, so the best path is always well formed.

use ner_core::scheme::{Prefix, Tag, TagScheme};

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

/// The effective scores (learned plus penalties) on the host, for Viterbi.
#[derive(Debug, Clone, PartialEq)]
pub struct Scores {
    /// Tags.
    pub k: usize,
    /// `[from * k + to]`.
    pub transitions: Vec<f32>,
    pub start: Vec<f32>,
    pub end: Vec<f32>,
}

impl Scores {
    /// Learned `transitions` (`[from, to]` row-major), `start` and `end`
    /// plus the `penalties` of the tag scheme.
    pub fn new(transitions: &[f32], start: &[f32], end: &[f32], penalties: &Penalties) -> Self {
        let add =
            |a: &[f32], b: &[f32]| -> Vec<f32> { a.iter().zip(b).map(|(a, b)| a + b).collect() };
        Scores {
            k: start.len(),
            transitions: add(transitions, &penalties.transitions.concat()),
            start: add(start, &penalties.start),
            end: add(end, &penalties.end),
        }
    }

    /// Viterbi over `rows` (`len × k` emissions).
    pub fn best_path(&self, rows: &[f32]) -> Vec<i64> {
        let k = self.k;
        let len = rows.len() / k;
        if len == 0 {
            return Vec::new();
        }
        let mut score: Vec<f32> = (0..k).map(|j| self.start[j] + rows[j]).collect();
        let mut back = vec![0u32; len * k];
        let mut next = vec![0f32; k];
        for t in 1..len {
            for j in 0..k {
                let (mut best, mut arg) = (f32::NEG_INFINITY, 0);
                for (i, &prev) in score.iter().enumerate() {
                    let s = prev + self.transitions[i * k + j];
                    if s > best {
                        best = s;
                        arg = i;
                    }
                }
                next[j] = best + rows[t * k + j];
                back[t * k + j] = arg as u32;
            }
            std::mem::swap(&mut score, &mut next);
        }
        let (mut arg, mut best) = (0, f32::NEG_INFINITY);
        for (j, (&last, &end)) in score.iter().zip(&self.end).enumerate() {
            let s = last + end;
            if s > best {
                best = s;
                arg = j;
            }
        }
        let mut path = vec![0i64; len];
        path[len - 1] = arg as i64;
        for t in (1..len).rev() {
            arg = back[t * k + arg] as usize;
            path[t - 1] = arg as i64;
        }
        path
    }
}
