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
//! An ensemble combines its members by one of two rules ([`Combine`]):
//! - `Mixture` (the default): the uniform mixture of the members. Every
//!   probability above is the mean of the members' (exact for the
//!   mixture), and its path is the one that maximises the product of the
//!   mixture's token marginals among the paths the tag scheme allows
//!   (constrained Viterbi over their logarithms,
//!   `ner_model::crf::Penalties`), the `n` best likewise.
//! - `Product`: one CRF whose emissions, transitions, start and end scores
//!   are the means of the members' (a softmax member brings its log
//!   probabilities and the scheme's penalties alone). Its distribution is
//!   the normalised geometric mean of the members' path probabilities; its
//!   path, probabilities and `n` best are that CRF's, exactly as for one
//!   model.

use std::borrow::Cow;

use ner_core::scheme::{spans, Tag};
use ner_kernels::crf::{softmax_rows, Chunks, Lattice, Scores};
use ner_model::crf::Penalties;

/// How the members of an ensemble combine (the module's documentation
/// gives both rules).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Combine {
    /// The mean of the members' probabilities.
    #[default]
    Mixture,
    /// One CRF over the means of the members' scores.
    Product,
}

impl Combine {
    pub const NAMES: &'static str = "mixture or product";

    pub fn name(self) -> &'static str {
        match self {
            Combine::Mixture => "mixture",
            Combine::Product => "product",
        }
    }
}

impl std::str::FromStr for Combine {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "mixture" => Ok(Combine::Mixture),
            "product" => Ok(Combine::Product),
            other => Err(format!(
                "unknown ensemble rule '{other}' (expected {})",
                Combine::NAMES
            )),
        }
    }
}

impl std::fmt::Display for Combine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

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

    /// Tags in the model's order.
    pub fn k(&self) -> usize {
        self.tags.len()
    }

    /// The entity types, in the order of [`Rules::kind_of`]'s ids.
    pub fn kinds(&self) -> &[String] {
        &self.kinds
    }

    /// Tag `j`'s entity type (its id in [`Rules::kinds`]), `None` for `O`.
    pub fn kind_of(&self, j: usize) -> Option<usize> {
        self.chunks.kind[j].map(|c| c as usize)
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

/// The mean of the views' token marginals (`[t·k + j]`).
fn mean_marginals(views: &[View<'_>]) -> Vec<f64> {
    let n = views.len() as f64;
    let mut mean = views.first().map(View::marginals).unwrap_or_default();
    for view in views.iter().skip(1) {
        for (m, v) in mean.iter_mut().zip(view.marginals()) {
            *m += v;
        }
    }
    mean.iter_mut().for_each(|m| *m /= n);
    mean
}

/// The uniform mixture of the members' views of one sentence.
pub fn mixture(rules: &Rules, views: &[View<'_>], nbest: usize) -> Decoded {
    let n = views.len() as f64;
    let mean = mean_marginals(views);
    let rows = log_floored(&mean);
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

/// One member's scores of a sentence: its CRF (`None` for a softmax
/// model) and its emission rows (`[len, k]`).
pub type Member<'a> = (Option<&'a Scores>, &'a [f32]);

/// The members' scores of one sentence combined by `combine`. Only the
/// mixture needs each member's own probabilities ([`View`]).
pub fn combined(rules: &Rules, members: &[Member<'_>], combine: Combine, nbest: usize) -> Decoded {
    match combine {
        Combine::Mixture => mixture(rules, &views(rules, members), nbest),
        Combine::Product => product(rules, members, nbest),
    }
}

/// The token marginals (`[t·k + j]`) that [`combined`] reports each
/// chosen tag's probability from, without decoding a path.
pub fn combined_marginals(rules: &Rules, members: &[Member<'_>], combine: Combine) -> Vec<f64> {
    match combine {
        Combine::Mixture => mean_marginals(&views(rules, members)),
        Combine::Product => {
            let (mean, rows) = product_scores(rules, members);
            mean.lattice(&rows).marginals()
        }
    }
}

/// Each member's view of its sentence.
fn views<'a>(rules: &Rules, members: &[Member<'a>]) -> Vec<View<'a>> {
    let k = rules.tags.len();
    members
        .iter()
        .map(|&(crf, rows)| View::new(crf, rows, k))
        .collect()
}

/// One CRF whose scores are the means of the members' scores.
pub fn product(rules: &Rules, members: &[Member<'_>], nbest: usize) -> Decoded {
    let (mean, rows) = product_scores(rules, members);
    let path = mean.best_path(&rows);
    let view = View::new(Some(&mean), &rows, rules.tags.len());
    single(rules, &view, path, nbest)
}

/// The product's CRF: the means of the members' transition, start and end
/// scores, and of their emission rows.
fn product_scores(rules: &Rules, members: &[Member<'_>]) -> (Scores, Vec<f32>) {
    let k = rules.tags.len();
    let n = members.len() as f32;
    let mut mean = Scores {
        k,
        transitions: vec![0.0; k * k],
        start: vec![0.0; k],
        end: vec![0.0; k],
    };
    let mut rows = vec![0.0; members.first().map_or(0, |m| m.1.len())];
    for &(crf, emissions) in members {
        let (scores, emissions): (&Scores, Cow<'_, [f32]>) = match crf {
            Some(scores) => (scores, Cow::Borrowed(emissions)),
            None => (
                &rules.ensemble,
                Cow::Owned(log_floored(&softmax_rows(emissions, k))),
            ),
        };
        let sums = [
            (&mut mean.transitions, &scores.transitions[..]),
            (&mut mean.start, &scores.start[..]),
            (&mut mean.end, &scores.end[..]),
            (&mut rows, &emissions[..]),
        ];
        for (sum, values) in sums {
            sum.iter_mut().zip(values).for_each(|(s, v)| *s += v);
        }
    }
    for values in [
        &mut mean.transitions,
        &mut mean.start,
        &mut mean.end,
        &mut rows,
    ] {
        values.iter_mut().for_each(|v| *v /= n);
    }
    (mean, rows)
}

/// Logarithms of probabilities, floored well above the scheme's penalties.
fn log_floored(probs: &[f64]) -> Vec<f32> {
    probs
        .iter()
        .map(|&p| (p.ln() as f32).max(-1_000.0))
        .collect()
}

/// The unit tests' tag set: `O`, `PER` and `LOC` in IOB2.
#[cfg(test)]
pub(crate) fn person_and_place() -> Rules {
    let tags: Vec<String> = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    Rules::new(&tags, ner_core::scheme::TagScheme::Iob2)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> Rules {
        super::person_and_place()
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

    /// A CRF over `rules`' tags: the scheme's penalties plus learned
    /// scores that `shift` sets apart from another member's.
    fn crf(rules: &Rules, shift: f32) -> Scores {
        let mut s = rules.ensemble.clone();
        let wave = |i: usize| shift * ((i % 3) as f32 - 1.0);
        s.transitions
            .iter_mut()
            .enumerate()
            .for_each(|(i, t)| *t += wave(i));
        s.start
            .iter_mut()
            .enumerate()
            .for_each(|(i, t)| *t += wave(i + 1));
        s.end
            .iter_mut()
            .enumerate()
            .for_each(|(i, t)| *t -= wave(i));
        s
    }

    /// The product of one CRF is that CRF; of two, the CRF of their mean
    /// emissions, transitions, start and end scores.
    #[test]
    fn product_is_the_crf_of_the_mean_scores() {
        let rules = rules();
        let (a, b) = (crf(&rules, 0.7), crf(&rules, -0.4));
        let a_rows: Vec<f32> = [
            [0.2, 2.0, 0.0, 1.5, 0.0],
            [0.5, 0.0, 1.0, 0.0, 1.2],
            [1.0, 0.3, 0.0, 0.2, 0.1],
        ]
        .concat();
        let b_rows: Vec<f32> = [
            [0.1, 1.0, 0.0, 2.5, 0.0],
            [0.4, 0.3, 0.2, 0.0, 1.9],
            [0.0, 1.3, 0.4, 0.2, 0.1],
        ]
        .concat();
        let view_a = View::new(Some(&a), &a_rows, 5);
        let alone = product(&rules, &[(Some(&a), &a_rows)], 3);
        assert_eq!(alone, single(&rules, &view_a, a.best_path(&a_rows), 3));

        let half = |x: &[f32], y: &[f32]| -> Vec<f32> {
            x.iter().zip(y).map(|(x, y)| (x + y) / 2.0).collect()
        };
        let mean = Scores {
            k: 5,
            transitions: half(&a.transitions, &b.transitions),
            start: half(&a.start, &b.start),
            end: half(&a.end, &b.end),
        };
        let rows = half(&a_rows, &b_rows);
        let expected = single(
            &rules,
            &View::new(Some(&mean), &rows, 5),
            mean.best_path(&rows),
            3,
        );
        let members: [Member<'_>; 2] = [(Some(&a), &a_rows), (Some(&b), &b_rows)];
        let both = product(&rules, &members, 3);
        assert_eq!(both, expected);
        assert_eq!(both.nbest.len(), 3);
        assert_eq!(combined(&rules, &members, Combine::Product, 3), both);
        let views = [view_a, View::new(Some(&b), &b_rows, 5)];
        assert_eq!(
            combined(&rules, &members, Combine::Mixture, 3),
            mixture(&rules, &views, 3)
        );
    }

    /// One member sure of B-PER, the other torn between O and B-LOC and
    /// sure it is not B-PER: the mixture follows the sure member, the
    /// product the tag neither rules out.
    #[test]
    fn mixture_and_product_differ() {
        let rules = rules();
        let logs = |p: [f32; 5]| -> Vec<f32> { p.iter().map(|p| p.ln()).collect() };
        let sure = logs([0.04, 0.95, 0.0, 0.01, 0.0]);
        let torn = logs([0.49, 0.01, 0.0, 0.5, 0.0]);
        let views = || [View::new(None, &sure, 5), View::new(None, &torn, 5)];
        let mixed = mixture(&rules, &views(), 0);
        assert_eq!(mixed.path, vec![1]);
        assert!((mixed.probs[0] - 0.48).abs() < 1e-6, "{:?}", mixed.probs);
        let product = product(&rules, &[(None, &sure), (None, &torn)], 2);
        assert_eq!(product.path, vec![0]);
        // sqrt(0.04·0.49) against sqrt(0.95·0.01) and sqrt(0.01·0.5).
        let (o, per, loc) = ((0.04f64 * 0.49).sqrt(), 0.0095f64.sqrt(), 0.005f64.sqrt());
        let p_o = o / (o + per + loc);
        assert!((product.probs[0] - p_o).abs() < 1e-5, "{:?}", product.probs);
        assert_eq!(product.nbest[1].0, vec![1]);
    }

    #[test]
    fn rules_by_name() {
        for rule in [Combine::Mixture, Combine::Product] {
            assert_eq!(rule.name().parse::<Combine>(), Ok(rule));
        }
        let err = "mean".parse::<Combine>().unwrap_err();
        assert!(
            err.contains("'mean'") && err.contains("mixture or product"),
            "{err}"
        );
    }
}
