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

use ner_core::scheme::{ends_chunk, starts_chunk, Prefix, Tag, TagScheme};
pub use ner_kernels::crf::{Chunks, Scores};

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

/// conlleval's chunk rules over `tags` ([`ner_core::scheme::spans`]'s) as
/// the tables [`ner_kernels::crf::Lattice::span_probability`] reads, and the
/// entity types by the ids those tables use.
pub fn chunks(tags: &[String]) -> (Chunks, Vec<String>) {
    let parsed: Vec<Tag<'_>> = tags
        .iter()
        .map(|t| Tag::parse(t).unwrap_or(Tag::O))
        .collect();
    let mut kinds: Vec<String> = Vec::new();
    let kind = parsed
        .iter()
        .map(|t| {
            t.kind()
                .map(|name| match kinds.iter().position(|k| k == name) {
                    Some(id) => id as u32,
                    None => {
                        kinds.push(name.to_string());
                        kinds.len() as u32 - 1
                    }
                })
        })
        .collect();
    let pairs = |rule: fn(Tag<'_>, Tag<'_>) -> bool| -> Vec<bool> {
        parsed
            .iter()
            .flat_map(|&from| parsed.iter().map(move |&to| rule(from, to)))
            .collect()
    };
    let chunks = Chunks {
        k: tags.len(),
        kind,
        starts: pairs(starts_chunk),
        starts_first: parsed.iter().map(|&t| starts_chunk(Tag::O, t)).collect(),
        ends: pairs(ends_chunk),
    };
    (chunks, kinds)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// On a lattice that puts all its mass on one path, a span has
    /// probability 1 exactly when `ner_core::scheme::spans` finds it there.
    #[test]
    fn chunk_tables_follow_the_span_rules() {
        for (names, scheme) in [
            (&["O", "I-LOC", "B-LOC", "I-PER"][..], TagScheme::Iob1),
            (
                &["O", "B-PER", "E-PER", "I-PER", "S-PER", "S-LOC"][..],
                TagScheme::Bioes,
            ),
        ] {
            let names = tags(names);
            let (chunks, kinds) = chunks(&names);
            let k = names.len();
            let flat = Scores {
                k,
                transitions: vec![0.0; k * k],
                start: vec![0.0; k],
                end: vec![0.0; k],
            };
            for code in 0..k.pow(3) {
                let path: Vec<usize> = (0..3).map(|t| code / k.pow(t) % k).collect();
                let rows: Vec<f32> = path
                    .iter()
                    .flat_map(|&j| (0..k).map(move |i| if i == j { 0.0 } else { -1000.0 }))
                    .collect();
                let lattice = flat.lattice(&rows);
                let parsed: Vec<Tag<'_>> = path
                    .iter()
                    .map(|&j| Tag::parse(&names[j]).unwrap())
                    .collect();
                let want = ner_core::scheme::spans(&parsed);
                for start in 0..3 {
                    for end in start + 1..=3 {
                        for (id, kind) in kinds.iter().enumerate() {
                            let p = lattice.span_probability(&chunks, start, end, id as u32);
                            let found = want
                                .iter()
                                .any(|s| s.start == start && s.end == end && &s.kind == kind);
                            assert!(
                                (p - f64::from(u8::from(found))).abs() < 1e-9,
                                "{scheme:?} {path:?} {start}..{end} {kind}: {p}"
                            );
                        }
                    }
                }
            }
        }
    }

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
