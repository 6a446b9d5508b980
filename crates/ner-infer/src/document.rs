//! Document consistency: a capitalised word written twice in one document
//! nearly always names the same kind of thing (*JAPAN* in a headline, then
//! *Japan* in the story; *Clinton* after *Bill Clinton*). Decoding takes a
//! second pass that pulls each such occurrence toward the entity types the
//! word's occurrences got in the first pass (the two-stage idea of Krishnan
//! and Manning 2006, on a neural tagger's marginals).
//!
//! For a token `t` whose word starts with an upper-case letter, let
//! `q_t(c)` be the first pass's probability that `t` belongs to type `c`
//! (an entity type, or none: the sum of its tags' marginals). Over the
//! occurrences `u` of the same word (compared lower-cased) in `t`'s
//! document, `t` among them, `Q_t = mean_u q_u`. The second pass decodes
//! with `emission[t, j] + weight · Q_t(type(j))` in every member's scores,
//! all else unchanged; a word written once in its document keeps its
//! scores. Its probabilities and n-best are those of the second pass.
//! (`t`'s own `q_t` counts once among the `n`: two occurrences that
//! disagree surely are pulled to the middle, not swapped.)

use std::collections::HashMap;

use crate::confidence::Rules;

/// The words a document shares: for each (document, lower-cased word)
/// written more than once, the mean of its occurrences' first-pass type
/// probabilities.
struct Occurrences {
    means: HashMap<(u32, String), Vec<f64>>,
}

/// The key of a token that takes part: its lower-cased word, where it
/// starts with an upper-case letter.
fn key(token: &str) -> Option<String> {
    token
        .chars()
        .next()
        .filter(|c| c.is_uppercase())
        .map(|_| token.to_lowercase())
}

impl Occurrences {
    fn slot(rules: &Rules, j: usize) -> usize {
        rules.kind_of(j).unwrap_or(rules.kinds().len())
    }

    /// Token `t`'s type probabilities, `q_t`, from a sentence's marginals.
    fn types(rules: &Rules, marginals: &[f64], t: usize) -> Vec<f64> {
        let k = rules.k();
        let mut q = vec![0.0; rules.kinds().len() + 1];
        for (j, p) in marginals[t * k..(t + 1) * k].iter().enumerate() {
            q[Occurrences::slot(rules, j)] += p;
        }
        q
    }

    /// `keys[s][t]`: sentence `s`'s token `t`'s [`key`].
    fn new(
        rules: &Rules,
        keys: &[Vec<Option<String>>],
        documents: &[u32],
        marginals: &[&[f64]],
    ) -> Self {
        let slots = rules.kinds().len() + 1;
        let mut sums: HashMap<(u32, String), (Vec<f64>, usize)> = HashMap::new();
        for ((words, &doc), m) in keys.iter().zip(documents).zip(marginals) {
            for (t, word) in words.iter().enumerate() {
                let Some(word) = word else {
                    continue;
                };
                let q = Occurrences::types(rules, m, t);
                let entry = sums
                    .entry((doc, word.clone()))
                    .or_insert_with(|| (vec![0.0; slots], 0));
                entry.0.iter_mut().zip(&q).for_each(|(s, v)| *s += v);
                entry.1 += 1;
            }
        }
        let means = sums
            .into_iter()
            .filter(|(_, (_, n))| *n >= 2)
            .map(|(key, (sum, n))| (key, sum.iter().map(|s| s / n as f64).collect()))
            .collect();
        Occurrences { means }
    }

    /// `Q_t`: the mean type probabilities of the word's occurrences in the
    /// document, `None` when it occurs once.
    fn mean(&self, doc: u32, word: String) -> Option<&[f64]> {
        self.means.get(&(doc, word)).map(Vec::as_slice)
    }
}

/// Each sentence's additions to its emissions (`[t·k + j]`), `None` where
/// no token of it has another occurrence in its document. `sentences[s]`
/// lies in document `documents[s]`; `marginals[s]` is its first pass.
pub fn bonuses<S: AsRef<str>, T: AsRef<[S]>>(
    rules: &Rules,
    sentences: &[T],
    documents: &[u32],
    marginals: &[&[f64]],
    weight: f32,
) -> Vec<Option<Vec<f32>>> {
    let keys: Vec<Vec<Option<String>>> = sentences
        .iter()
        .map(|tokens| tokens.as_ref().iter().map(|w| key(w.as_ref())).collect())
        .collect();
    let occurrences = Occurrences::new(rules, &keys, documents, marginals);
    let k = rules.k();
    keys.into_iter()
        .zip(documents)
        .map(|(words, &doc)| {
            let mut rows = vec![0.0f32; words.len() * k];
            let mut any = false;
            for (t, word) in words.into_iter().enumerate() {
                let Some(q) = word.and_then(|word| occurrences.mean(doc, word)) else {
                    continue;
                };
                any = true;
                for (j, b) in rows[t * k..(t + 1) * k].iter_mut().enumerate() {
                    *b = weight * q[Occurrences::slot(rules, j)] as f32;
                }
            }
            any.then_some(rows)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> Rules {
        crate::confidence::person_and_place()
    }

    /// A one-hot first pass: token `t` surely has tag `tags[t]`.
    fn sure(tags: &[usize]) -> Vec<f64> {
        let mut m = vec![0.0; tags.len() * 5];
        for (t, &j) in tags.iter().enumerate() {
            m[t * 5 + j] = 1.0;
        }
        m
    }

    #[test]
    fn a_word_leans_on_its_occurrences_in_its_document() {
        let rules = rules();
        let sentences = [
            vec!["JAPAN", "won"],
            vec!["Japan", "beat", "Syria"],
            vec!["Japan", "lost"],
            vec!["Syria", "won"],
        ];
        // Sentence 1 leans to a person for "Japan", and is sure of "Syria".
        let first = [
            sure(&[3, 0]),
            {
                let mut m = sure(&[1, 0, 3]);
                // "Japan": B-PER 0.6, B-LOC 0.4.
                m[1] = 0.6;
                m[3] = 0.4;
                m
            },
            sure(&[3, 0]),
            sure(&[3, 0]),
        ];
        let marginals: Vec<&[f64]> = first.iter().map(Vec::as_slice).collect();
        // The last sentence is another document.
        let got = bonuses(&rules, &sentences, &[0, 0, 0, 1], &marginals, 3.0);

        // Every "Japan" of document 0 reads the mean of the three: PER 0.2,
        // LOC 0.8, times the weight, on both tags of each type.
        let want = [0.0, 0.6, 0.6, 2.4, 2.4];
        for (s, t) in [(0, 0), (1, 0), (2, 0)] {
            let row = &got[s].as_ref().unwrap()[t * 5..(t + 1) * 5];
            for (g, w) in row.iter().zip(want) {
                assert!((g - w).abs() < 1e-6, "sentence {s}: {row:?}");
            }
        }
        // Words not capitalised, and "Syria" alone in document 0, get
        // nothing.
        assert!(got[0].as_ref().unwrap()[5..].iter().all(|&b| b == 0.0));
        assert!(got[1].as_ref().unwrap()[5..].iter().all(|&b| b == 0.0));
        // Document 1 has one "Syria": nothing to lean on.
        assert!(got[3].is_none());
    }

    /// Two sure occurrences that disagree meet in the middle: each keeps
    /// its own first choice, neither takes the other's.
    #[test]
    fn two_that_disagree_are_not_swapped() {
        let rules = rules();
        let sentences = [vec!["Jordan"], vec!["Jordan"]];
        let first = [sure(&[1]), sure(&[3])];
        let marginals: Vec<&[f64]> = first.iter().map(Vec::as_slice).collect();
        let got = bonuses(&rules, &sentences, &[0, 0], &marginals, 10.0);
        for rows in &got {
            assert_eq!(rows.as_deref(), Some(&[0.0, 5.0, 5.0, 5.0, 5.0][..]));
        }
    }

    #[test]
    fn words_written_once_get_nothing() {
        let rules = rules();
        let sentences = [vec!["Peter", "saw", "Paris"]];
        let first = sure(&[1, 0, 3]);
        let got = bonuses(&rules, &sentences, &[0], &[first.as_slice()], 5.0);
        assert_eq!(got, vec![None]);
    }
}
