//! Scores of predicted tag sequences: token accuracy, token-level macro F1 as
//! scikit-learn's `f1_score(average="macro")` computes it, a confusion
//! matrix, and entity-level precision/recall/F1 counted by [`conlleval`]'s
//! rules.

use std::collections::BTreeMap;

use crate::conlleval::{Counter, Counts};

/// Running counts over sentences of tag ids, as training validates.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Scores {
    n_tags: usize,
    tokens: u64,
    correct_tokens: u64,
    /// Per tag id: true positives, predicted, gold.
    tp: Vec<u64>,
    predicted: Vec<u64>,
    gold: Vec<u64>,
    entities: Counter,
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
            self.entities
                .token(names[g].as_bytes(), names[p].as_bytes());
        }
        self.entities.boundary();
    }

    pub fn tokens(&self) -> u64 {
        self.tokens
    }

    pub fn accuracy(&self) -> f64 {
        ratio(self.correct_tokens, self.tokens)
    }

    /// Unweighted mean of per-tag F1 over the tags present in gold or prediction.
    pub fn token_macro_f1(&self) -> f64 {
        macro_f1((0..self.n_tags).map(|c| (self.tp[c], self.gold[c], self.predicted[c])))
    }

    /// The entity counts, as conlleval counts them.
    pub fn entity_counts(&self) -> Counts {
        self.entities.counts()
    }

    pub fn entity_precision(&self) -> f64 {
        let c = self.entity_counts();
        ratio(c.correct, c.found)
    }

    pub fn entity_recall(&self) -> f64 {
        let c = self.entity_counts();
        ratio(c.correct, c.gold)
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

/// A confusion matrix over tag strings: `matrix[gold][predicted]`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Confusion {
    counts: BTreeMap<(String, String), u64>,
}

impl Confusion {
    pub fn add(&mut self, gold: &str, predicted: &str) {
        *self
            .counts
            .entry((gold.to_string(), predicted.to_string()))
            .or_insert(0) += 1;
    }

    /// Every tag seen in gold or prediction: `O` first, then by type and prefix.
    pub fn labels(&self) -> Vec<String> {
        let mut labels: Vec<&String> = self.counts.keys().flat_map(|(g, p)| [g, p]).collect();
        labels.sort_by_key(|l| label_order(l));
        labels.dedup();
        labels.into_iter().cloned().collect()
    }

    /// Rows gold, columns predicted, both in [`Confusion::labels`] order.
    pub fn matrix(&self) -> Vec<Vec<u64>> {
        let labels = self.labels();
        labels
            .iter()
            .map(|g| {
                labels
                    .iter()
                    .map(|p| {
                        self.counts
                            .get(&(g.clone(), p.clone()))
                            .copied()
                            .unwrap_or(0)
                    })
                    .collect()
            })
            .collect()
    }

    pub fn tokens(&self) -> u64 {
        self.counts.values().sum()
    }

    pub fn accuracy(&self) -> f64 {
        let correct = self
            .counts
            .iter()
            .filter(|((g, p), _)| g == p)
            .map(|(_, n)| n)
            .sum();
        ratio(correct, self.tokens())
    }

    /// Per label (true positives, gold, predicted).
    pub fn per_label(&self) -> Vec<(String, u64, u64, u64)> {
        let labels = self.labels();
        let matrix = self.matrix();
        labels
            .into_iter()
            .enumerate()
            .map(|(i, label)| {
                let gold = matrix[i].iter().sum();
                let predicted = matrix.iter().map(|row| row[i]).sum();
                (label, matrix[i][i], gold, predicted)
            })
            .collect()
    }

    /// Token-level macro F1 over the labels present, as in training.
    pub fn token_macro_f1(&self) -> f64 {
        macro_f1(self.per_label().into_iter().map(|(_, tp, g, p)| (tp, g, p)))
    }
}

/// Sort key of a tag: `O` first, then entity type, then prefix (B, I, E, S).
fn label_order(label: &str) -> (bool, String, String) {
    match label.split_once('-') {
        _ if label == "O" => (false, String::new(), String::new()),
        Some((prefix, kind)) => (true, kind.to_string(), prefix.to_string()),
        None => (true, label.to_string(), String::new()),
    }
}

/// Mean F1 over classes given (true positives, gold, predicted), skipping
/// classes absent from both gold and prediction.
fn macro_f1(classes: impl Iterator<Item = (u64, u64, u64)>) -> f64 {
    let present: Vec<f64> = classes
        .filter(|&(_, g, p)| g + p > 0)
        .map(|(tp, g, p)| ratio(2 * tp, g + p))
        .collect();
    if present.is_empty() {
        0.0
    } else {
        present.iter().sum::<f64>() / present.len() as f64
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
        let c = s.entity_counts();
        assert_eq!((c.correct, c.found, c.gold), (1, 2, 2));
        assert!((s.entity_f1() - 0.5).abs() < 1e-12);
    }

    #[test]
    fn confusion_orders_labels_and_matches_scores() {
        let mut confusion = Confusion::default();
        let mut s = Scores::new(5);
        let (gold, predicted) = ([0, 1, 2, 0, 3], [0, 1, 1, 0, 0]);
        s.add(&gold, &predicted, &names());
        for (&g, &p) in gold.iter().zip(&predicted) {
            confusion.add(&names()[g], &names()[p]);
        }
        assert_eq!(confusion.labels(), ["O", "B-LOC", "B-PER", "I-PER"]);
        assert_eq!(
            confusion.matrix(),
            [[2, 0, 0, 0], [1, 0, 0, 0], [0, 0, 1, 0], [0, 0, 1, 0]]
        );
        assert!((confusion.token_macro_f1() - s.token_macro_f1()).abs() < 1e-12);
        assert!((confusion.accuracy() - 0.6).abs() < 1e-12);
    }
}
