//! How sure a model is of what it predicts: the probability of each chosen
//! tag, of each entity, and of the `n` best paths, for one model or for an
//! ensemble of models over one tag set.
//!
//! One model ([`View`]): a CRF's probabilities are exact, from its forward
//! and backward sums (`ner_kernels::crf::Lattice`): a token's marginal, an
//! entity's probability as the mass of every path that labels exactly that
//! span with that type and closes it there. A softmax tagger's tokens are
//! independent: a token's probability is its softmax, an entity's the
//! product of its tokens' probabilities of the chosen tags.
//!
//! An ensemble is the uniform mixture of its members: every probability
//! above is the mean of the members' (exact for the mixture), and its path
//! is the one that maximises the product of the mixture's token marginals
//! among the paths the tag scheme allows (constrained Viterbi over their
//! logarithms, `ner_model::crf::Penalties`), the `n` best likewise.

use ner_core::scheme::{spans, Tag};
use ner_kernels::crf::{softmax_rows, Chunks, Lattice, Scores};
use ner_model::crf::Penalties;

/// An entity of a decoded path (tokens `start..end`, in the model's tags)
/// with its probability.
#[derive(Debug, Clone, PartialEq)]
pub struct ScoredSpan {
    pub start: usize,
    pub end: usize,
    pub kind: String,
    pub confidence: f64,
}

/// One sentence decoded with its probabilities, in the model's tag ids.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Decoded {
    pub path: Vec<i64>,
    /// The probability of each chosen tag.
    pub probs: Vec<f64>,
    pub spans: Vec<ScoredSpan>,
    /// The `n` best paths with their probabilities (CRF models and
    /// ensembles), the first `path` itself.
    pub nbest: Vec<(Vec<i64>, f64)>,
}

/// The tag set's chunk rules and entity types, shared by every sentence.
#[derive(Debug, Clone)]
pub struct Rules {
    tags: Vec<String>,
    chunks: Chunks,
    kinds: Vec<String>,
    /// Constrained decoding of an ensemble: the scheme's penalties alone.
    ensemble: Scores,
}

impl Rules {
    /// `tags`: the model's tag names by id, written in `scheme`.
    pub fn new(tags: &[String], scheme: ner_core::scheme::TagScheme) -> Self {
        let (chunks, kinds) = ner_model::crf::chunks(tags);
        let k = tags.len();
        let ensemble = Penalties::for_scheme(tags, scheme).scores(
            &vec![0.0; k * k],
            &vec![0.0; k],
            &vec![0.0; k],
        );
        Rules {
            tags: tags.to_vec(),
            chunks,
            kinds,
            ensemble,
        }
    }

    /// The entities of a path (conlleval's rules).
    fn spans(&self, path: &[i64]) -> Vec<(usize, usize, String)> {
        let parsed: Vec<Tag<'_>> = path
            .iter()
            .map(|&j| Tag::parse(&self.tags[j as usize]).unwrap_or(Tag::O))
            .collect();
        spans(&parsed)
            .into_iter()
            .map(|s| (s.start, s.end, s.kind))
            .collect()
    }

    fn kind_id(&self, kind: &str) -> u32 {
        self.kinds.iter().position(|k| k == kind).unwrap_or(0) as u32
    }
}

/// One model's probabilities over one sentence.
#[derive(Debug)]
pub enum View<'a> {
    Crf {
        scores: &'a Scores,
        rows: &'a [f32],
        lattice: Lattice,
    },
    Softmax {
        k: usize,
        probs: Vec<f64>,
    },
}

impl<'a> View<'a> {
    /// The view of `rows` (`[len, k]` emissions) under a CRF's `scores`,
    /// or a softmax's when `None`.
    pub fn new(scores: Option<&'a Scores>, rows: &'a [f32], k: usize) -> Self {
        match scores {
            Some(scores) => View::Crf {
                scores,
                rows,
                lattice: scores.lattice(rows),
            },
            None => View::Softmax {
                k,
                probs: softmax_rows(rows, k),
            },
        }
    }

    /// `[t·k + j]`: the probability of tag `j` at token `t`.
    pub fn marginals(&self) -> Vec<f64> {
        match self {
            View::Crf { lattice, .. } => lattice.marginals(),
            View::Softmax { probs, .. } => probs.clone(),
        }
    }

    fn span(&self, rules: &Rules, path: &[i64], span: &(usize, usize, String)) -> f64 {
        let (start, end, kind) = span;
        match self {
            View::Crf { lattice, .. } => {
                lattice.span_probability(&rules.chunks, *start, *end, rules.kind_id(kind))
            }
            View::Softmax { k, probs } => (*start..*end)
                .map(|t| probs[t * k + path[t] as usize])
                .product(),
        }
    }

    fn path_probability(&self, path: &[i64]) -> f64 {
        match self {
            View::Crf {
                scores,
                rows,
                lattice,
            } => lattice.probability(scores.path_score(rows, path)),
            View::Softmax { k, probs } => path
                .iter()
                .enumerate()
                .map(|(t, &j)| probs[t * k + j as usize])
                .product(),
        }
    }
}

/// A path with each tag's probability (from `marginals`, `[t·k + j]`), its
/// entities with `confidence(path, entity)`, and its n-best list.
fn decoded(
    rules: &Rules,
    path: Vec<i64>,
    marginals: &[f64],
    confidence: impl Fn(&[i64], &(usize, usize, String)) -> f64,
    nbest: Vec<(Vec<i64>, f64)>,
) -> Decoded {
    let k = rules.tags.len();
    let probs = path
        .iter()
        .enumerate()
        .map(|(t, &j)| marginals[t * k + j as usize])
        .collect();
    let spans = rules
        .spans(&path)
        .into_iter()
        .map(|span| ScoredSpan {
            confidence: confidence(&path, &span),
            start: span.0,
            end: span.1,
            kind: span.2,
        })
        .collect();
    Decoded {
        path,
        probs,
        spans,
        nbest,
    }
}

/// One model's sentence: `path` is the model's own decoding (Viterbi or
/// argmax); `nbest` paths need a CRF (0 asks for none).
pub fn single(rules: &Rules, view: &View<'_>, path: Vec<i64>, nbest: usize) -> Decoded {
    let nbest = match view {
        View::Crf { scores, rows, .. } if nbest > 0 => scores
            .nbest(rows, nbest)
            .into_iter()
            .map(|(p, _)| {
                let prob = view.path_probability(&p);
                (p, prob)
            })
            .collect(),
        _ => Vec::new(),
    };
    let confidence = |path: &[i64], span: &(usize, usize, String)| view.span(rules, path, span);
    decoded(rules, path, &view.marginals(), confidence, nbest)
}

/// The uniform mixture of the members' views of one sentence.
pub fn mixture(rules: &Rules, views: &[View<'_>], nbest: usize) -> Decoded {
    let n = views.len() as f64;
    let mut mean = views.first().map(View::marginals).unwrap_or_default();
    for view in views.iter().skip(1) {
        for (m, v) in mean.iter_mut().zip(view.marginals()) {
            *m += v;
        }
    }
    mean.iter_mut().for_each(|m| *m /= n);
    // Log marginals, floored well above the scheme's penalties.
    let rows: Vec<f32> = mean
        .iter()
        .map(|&p| (p.ln() as f32).max(-1_000.0))
        .collect();
    let mean_of = |f: &dyn Fn(&View<'_>) -> f64| views.iter().map(f).sum::<f64>() / n;
    let paths = rules.ensemble.nbest(&rows, nbest.max(1));
    let path = paths.first().map(|p| p.0.clone()).unwrap_or_default();
    let nbest = if nbest == 0 {
        Vec::new()
    } else {
        paths
            .into_iter()
            .map(|(p, _)| {
                let prob = mean_of(&|v| v.path_probability(&p));
                (p, prob)
            })
            .collect()
    };
    let confidence =
        |path: &[i64], span: &(usize, usize, String)| mean_of(&|v| v.span(rules, path, span));
    decoded(rules, path, &mean, confidence, nbest)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ner_core::scheme::TagScheme;

    fn rules() -> Rules {
        let tags: Vec<String> = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        Rules::new(&tags, TagScheme::Iob2)
    }

    /// Softmax spans are the products of their tokens' probabilities, and
    /// a mixture of one model is that model (on a path both decode).
    #[test]
    fn softmax_and_mixture_of_one() {
        let rules = rules();
        // "Peter Blackburn in Paris": B-PER I-PER O B-LOC, clearly.
        let rows: Vec<f32> = [
            [0.0, 3.0, 0.0, 0.0, 0.0],
            [0.0, 0.0, 2.0, 0.0, 0.0],
            [4.0, 0.0, 0.0, 0.0, 0.0],
            [0.0, 0.0, 0.0, 1.0, 0.5],
        ]
        .concat();
        let view = View::new(None, &rows, 5);
        let path = vec![1, 2, 0, 3];
        let one = single(&rules, &view, path.clone(), 0);
        let p = view.marginals();
        assert_eq!(one.spans.len(), 2);
        assert!((one.spans[0].confidence - p[1] * p[5 + 2]).abs() < 1e-12);
        assert!((one.spans[1].confidence - p[15 + 3]).abs() < 1e-12);
        assert!(one.nbest.is_empty(), "softmax models have no n-best");
        let mixed = mixture(&rules, &[View::new(None, &rows, 5)], 2);
        assert_eq!(mixed.path, path);
        assert_eq!(mixed.spans, one.spans);
        assert_eq!(mixed.nbest[0].0, path);
        // The next best changes the least sure token: I-LOC is forbidden
        // after O in IOB2, so the last token becomes O.
        assert_eq!(mixed.nbest[1].0, vec![1, 2, 0, 0]);
        assert!(mixed.nbest[0].1 > mixed.nbest[1].1);
    }
}
