//! Scores of predicted tag sequences: token accuracy, token-level macro F1 as
//! scikit-learn's `f1_score(average="macro")` computes it, and entity-level
//! precision/recall/F1 with the CoNLL `conlleval` chunk rules.

use std::collections::HashSet;

use crate::scheme::{spans, Span, Tag};

/// Running counts over sentences.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Scores {
    n_tags: usize,
    tokens: u64,
    correct_tokens: u64,
    /// Per tag id: true positives, predicted, gold.
    tp: Vec<u64>,
    predicted: Vec<u64>,
    gold: Vec<u64>,
    correct_entities: u64,
    found_entities: u64,
    gold_entities: u64,
}

impl Scores {
    pub fn new(n_tags: usize) -> Self {
        Scores {
            n_tags,
            tp: vec![0; n_tags],
            predicted: vec![0; n_tags],
            gold: vec![0; n_tags],
            ..Default::default()
        }
    }

    /// Adds one sentence: gold and predicted tag ids (same length) and the
    /// tag names by id.
    pub fn add(&mut self, gold: &[usize], predicted: &[usize], names: &[String]) {
        for (&g, &p) in gold.iter().zip(predicted) {
            self.tokens += 1;
            self.gold[g] += 1;
            self.predicted[p] += 1;
            if g == p {
                self.correct_tokens += 1;
                self.tp[g] += 1;
            }
        }
        let to_spans = |ids: &[usize]| -> HashSet<Span> {
            let tags: Vec<Tag<'_>> = ids
                .iter()
                .map(|&i| Tag::parse(&names[i]).unwrap_or(Tag::O))
                .collect();
            spans(&tags).into_iter().collect()
        };
        let gold_spans = to_spans(gold);
        let predicted_spans = to_spans(predicted);
        self.gold_entities += gold_spans.len() as u64;
        self.found_entities += predicted_spans.len() as u64;
        self.correct_entities += gold_spans.intersection(&predicted_spans).count() as u64;
    }

    pub fn tokens(&self) -> u64 {
        self.tokens
    }

    pub fn accuracy(&self) -> f64 {
        ratio(self.correct_tokens, self.tokens)
    }

    /// Unweighted mean of per-tag F1 over the tags present in gold or prediction.
    pub fn token_macro_f1(&self) -> f64 {
        let present: Vec<f64> = (0..self.n_tags)
            .filter(|&c| self.gold[c] + self.predicted[c] > 0)
            .map(|c| ratio(2 * self.tp[c], self.gold[c] + self.predicted[c]))
            .collect();
        if present.is_empty() {
            0.0
        } else {
            present.iter().sum::<f64>() / present.len() as f64
        }
    }

    pub fn entity_precision(&self) -> f64 {
        ratio(self.correct_entities, self.found_entities)
    }

    pub fn entity_recall(&self) -> f64 {
        ratio(self.correct_entities, self.gold_entities)
    }

    /// Micro-averaged entity F1 (conlleval's overall FB1, as a fraction).
    pub fn entity_f1(&self) -> f64 {
        let (p, r) = (self.entity_precision(), self.entity_recall());
        if p + r == 0.0 {
            0.0
        } else {
            2.0 * p * r / (p + r)
        }
    }
}

fn ratio(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names() -> Vec<String> {
        ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]
            .iter()
            .map(|s| s.to_string())
            .collect()
    }

    #[test]
    fn macro_f1_matches_scikit_learn() {
        // sklearn: f1_score([0,1,2,0,3], [0,1,1,0,0], average="macro")
        // labels {0,1,2,3}: F1 0 = 0.8, 1 = 2/3, 2 = 0, 3 = 0 -> 0.36666...
        let mut s = Scores::new(5);
        s.add(&[0, 1, 2, 0, 3], &[0, 1, 1, 0, 0], &names());
        assert!((s.token_macro_f1() - (0.8 + 2.0 / 3.0) / 4.0).abs() < 1e-12);
        assert!((s.accuracy() - 0.6).abs() < 1e-12);
    }

    #[test]
    fn entity_scores_follow_conlleval() {
        let mut s = Scores::new(5);
        // gold: PER(0..2), LOC(3..4); predicted: PER(0..1) [wrong end], LOC(3..4) via I-LOC after O.
        s.add(&[1, 2, 0, 3], &[1, 0, 0, 4], &names());
        assert_eq!(
            (s.correct_entities, s.found_entities, s.gold_entities),
            (1, 2, 2)
        );
        assert!((s.entity_f1() - 0.5).abs() < 1e-12);
    }
}
