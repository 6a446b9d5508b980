//! A linear-chain CRF on the host: the log-partition of a batch and its
//! gradient by the forward-backward algorithm ([`partition`]); for one
//! sentence, the best path by Viterbi ([`Scores::best_path`]), the `n` best
//! ([`Scores::nbest`]), and its [`Lattice`]: token marginals and the exact
//! probability of an entity span ([`Lattice::span_probability`]).
//!
//! Scores: `start[j]` for the first tag, `transitions[i·k + j]` from tag `i`
//! to `j`, `end[i]` after the last, plus the emissions; the scheme's
//! forbidden moves are already added in (`ner_model::crf::Penalties`). The
//! gradient of `log Z` with respect to each score is its marginal
//! probability: of tag `j` at position `t` for the emissions, of the move
//! `i → j` summed over positions for the transitions. Sums run in `f64` and
//! in log space, so forbidden moves (scores near -10,000) underflow to
//! probability 0 cleanly.

use std::cmp::Ordering;

/// A CRF's scores (learned plus the scheme's penalties), for decoding.
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
    /// Viterbi over `rows` (`len × k` emissions): the best path, the first
    /// of equal scores.
    pub fn best_path(&self, rows: &[f32]) -> Vec<i64> {
        let k = self.k;
        let len = rows.len() / k.max(1);
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

    /// The `n` best paths over `rows` with their scores, best first (exact
    /// list Viterbi: every cell keeps its `n` best partial paths). The
    /// first is [`Scores::best_path`]'s, computed in the same `f32` sums;
    /// equal scores keep the order of the smaller tag, then rank.
    pub fn nbest(&self, rows: &[f32], n: usize) -> Vec<(Vec<i64>, f32)> {
        let k = self.k;
        let len = rows.len() / k.max(1);
        if len == 0 || n == 0 {
            return Vec::new();
        }
        // Per (position, tag): up to n (score, previous tag, its rank).
        let mut cells: Vec<Vec<(f32, u32, u32)>> = Vec::with_capacity(len * k);
        cells.extend(
            self.start
                .iter()
                .zip(&rows[..k])
                .map(|(&s, &e)| vec![(s + e, 0, 0)]),
        );
        let by_score = |a: &(f32, u32, u32), b: &(f32, u32, u32)| {
            b.0.partial_cmp(&a.0).unwrap_or(Ordering::Equal)
        };
        for t in 1..len {
            for j in 0..k {
                let mut candidates = Vec::with_capacity(k * n);
                for i in 0..k {
                    let prev = &cells[(t - 1) * k + i];
                    for (r, &(s, _, _)) in prev.iter().enumerate() {
                        candidates.push((s + self.transitions[i * k + j], i as u32, r as u32));
                    }
                }
                candidates.sort_by(by_score);
                candidates.truncate(n);
                for c in &mut candidates {
                    c.0 += rows[t * k + j];
                }
                cells.push(candidates);
            }
        }
        let mut finals = Vec::with_capacity(k * n);
        for j in 0..k {
            for (r, &(s, _, _)) in cells[(len - 1) * k + j].iter().enumerate() {
                finals.push((s + self.end[j], j as u32, r as u32));
            }
        }
        finals.sort_by(by_score);
        finals.truncate(n);
        finals
            .into_iter()
            .map(|(score, mut tag, mut rank)| {
                let mut path = vec![0i64; len];
                for t in (0..len).rev() {
                    path[t] = i64::from(tag);
                    let (_, prev, prev_rank) = cells[t * k + tag as usize][rank as usize];
                    (tag, rank) = (prev, prev_rank);
                }
                (path, score)
            })
            .collect()
    }

    /// The score of one path (emissions, moves, start and end), in `f64`.
    pub fn path_score(&self, rows: &[f32], path: &[i64]) -> f64 {
        let k = self.k;
        let mut s = 0f64;
        for (t, &j) in path.iter().enumerate() {
            let j = j as usize;
            s += f64::from(rows[t * k + j]);
            s += f64::from(if t == 0 {
                self.start[j]
            } else {
                self.transitions[path[t - 1] as usize * k + j]
            });
        }
        if let Some(&last) = path.last() {
            s += f64::from(self.end[last as usize]);
        }
        s
    }

    /// The forward and backward sums of one sentence's `rows`.
    pub fn lattice(&self, rows: &[f32]) -> Lattice {
        let k = self.k;
        let len = rows.len() / k.max(1);
        let trans: Vec<f64> = self.transitions.iter().map(|&v| f64::from(v)).collect();
        let mut alpha = vec![0f64; len * k];
        let mut beta = vec![0f64; len * k];
        let log_z = forward_backward(
            len,
            |t, j| f64::from(rows[t * k + j]),
            &trans,
            &self.start,
            &self.end,
            &mut alpha,
            &mut beta,
        );
        Lattice {
            k,
            len,
            rows: rows.iter().map(|&v| f64::from(v)).collect(),
            trans,
            end: self.end.iter().map(|&v| f64::from(v)).collect(),
            start: self.start.iter().map(|&v| f64::from(v)).collect(),
            alpha,
            beta,
            log_z,
        }
    }
}

/// Which tag pairs open, continue and close an entity (conlleval's chunk
/// rules, as tables over a tag set: `ner_model::crf::chunks` builds them
/// from tag names), and each tag's entity type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunks {
    pub k: usize,
    /// The entity type of each tag, `None` for `O`.
    pub kind: Vec<Option<u32>>,
    /// `[i·k + j]`: an entity starts at tag `j` after tag `i`.
    pub starts: Vec<bool>,
    /// An entity starts at tag `j` first in a sentence.
    pub starts_first: Vec<bool>,
    /// `[i·k + j]`: the entity open at tag `i` ends before tag `j`.
    pub ends: Vec<bool>,
}

/// One sentence's forward (`alpha`) and backward (`beta`) log sums and its
/// log-partition.
#[derive(Debug, Clone, PartialEq)]
pub struct Lattice {
    k: usize,
    len: usize,
    rows: Vec<f64>,
    trans: Vec<f64>,
    start: Vec<f64>,
    end: Vec<f64>,
    /// `[t·k + j]`: log of the paths' mass over positions `..=t` ending in `j`.
    alpha: Vec<f64>,
    /// `[t·k + j]`: log of the mass of positions `t+1..` after `j` at `t`.
    beta: Vec<f64>,
    pub log_z: f64,
}

impl Lattice {
    /// `[t·k + j]`: the probability of tag `j` at position `t`.
    pub fn marginals(&self) -> Vec<f64> {
        self.alpha
            .iter()
            .zip(&self.beta)
            .map(|(a, b)| (a + b - self.log_z).exp())
            .collect()
    }

    /// The probability of a path of this score ([`Scores::path_score`]).
    pub fn probability(&self, score: f64) -> f64 {
        (score - self.log_z).exp()
    }

    /// The probability that tokens `start..end` form exactly one entity of
    /// type `kind` under `chunks`' rules: the mass of every path that opens
    /// it at `start`, continues it to `end - 1` and closes it there, over
    /// all paths.
    pub fn span_probability(&self, chunks: &Chunks, start: usize, end: usize, kind: u32) -> f64 {
        let k = self.k;
        assert_eq!(chunks.k, k, "chunk tables of another tag set");
        assert!(
            start < end && end <= self.len,
            "span {start}..{end} of {}",
            self.len
        );
        let of_kind = |j: usize| chunks.kind[j] == Some(kind);
        let e = |t: usize, j: usize| self.rows[t * k + j];
        let ninf = f64::NEG_INFINITY;
        // The mass of paths up to `start` that open the entity there.
        let mut mass: Vec<f64> = (0..k)
            .map(|j| {
                if !of_kind(j) {
                    return ninf;
                }
                if start == 0 {
                    return if chunks.starts_first[j] {
                        self.start[j] + e(0, j)
                    } else {
                        ninf
                    };
                }
                let prev = &self.alpha[(start - 1) * k..start * k];
                logsumexp(
                    (0..k)
                        .filter(|&i| chunks.starts[i * k + j])
                        .map(|i| prev[i] + self.trans[i * k + j]),
                ) + e(start, j)
            })
            .collect();
        // Continued through `end - 1`.
        for t in start + 1..end {
            mass = (0..k)
                .map(|j| {
                    if !of_kind(j) {
                        return ninf;
                    }
                    logsumexp(
                        (0..k)
                            .filter(|&i| !chunks.ends[i * k + j] && !chunks.starts[i * k + j])
                            .map(|i| mass[i] + self.trans[i * k + j]),
                    ) + e(t, j)
                })
                .collect();
        }
        // Closed: by the sentence's end, or by the next tag.
        let log_mass = if end == self.len {
            logsumexp((0..k).map(|i| mass[i] + self.end[i]))
        } else {
            let next = &self.beta[end * k..(end + 1) * k];
            logsumexp((0..k).flat_map(|j| {
                let mass = &mass;
                (0..k)
                    .filter(move |&i| chunks.ends[i * k + j])
                    .map(move |i| mass[i] + self.trans[i * k + j] + e(end, j) + next[j])
            }))
        };
        (log_mass - self.log_z).exp().min(1.0)
    }
}

/// A softmax tagger's token probabilities: each row of `rows` (`len × k`
/// scores) normalised.
pub fn softmax_rows(rows: &[f32], k: usize) -> Vec<f64> {
    rows.chunks_exact(k.max(1))
        .flat_map(|row| {
            let max = row.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v));
            let exp: Vec<f64> = row.iter().map(|&v| f64::from(v - max).exp()).collect();
            let sum: f64 = exp.iter().sum();
            exp.into_iter().map(move |v| v / sum)
        })
        .collect()
}

/// Fills one sentence's `alpha` and `beta` (`len × k`, log space) and
/// returns its log-partition; `e(t, j)` is the emission score.
fn forward_backward(
    len: usize,
    e: impl Fn(usize, usize) -> f64,
    trans: &[f64],
    start: &[f32],
    end: &[f32],
    alpha: &mut [f64],
    beta: &mut [f64],
) -> f64 {
    let k = start.len();
    if len == 0 {
        return 0.0;
    }
    for j in 0..k {
        alpha[j] = f64::from(start[j]) + e(0, j);
    }
    for t in 1..len {
        for j in 0..k {
            let prev = &alpha[(t - 1) * k..t * k];
            alpha[t * k + j] = logsumexp((0..k).map(|i| prev[i] + trans[i * k + j])) + e(t, j);
        }
    }
    let last = (len - 1) * k;
    for i in 0..k {
        beta[last + i] = f64::from(end[i]);
    }
    for t in (0..len - 1).rev() {
        for i in 0..k {
            let next = &beta[(t + 1) * k..(t + 2) * k];
            beta[t * k + i] = logsumexp((0..k).map(|j| trans[i * k + j] + e(t + 1, j) + next[j]));
        }
    }
    logsumexp((0..k).map(|j| alpha[last + j] + f64::from(end[j])))
}

/// `log Z` summed over a batch, and its gradient with respect to every score.
#[derive(Debug, Clone, PartialEq)]
pub struct Partition {
    pub log_z: f64,
    /// `[batch, width, k]`, zero at padding.
    pub d_emissions: Vec<f32>,
    /// `[k, k]`.
    pub d_transitions: Vec<f32>,
    pub d_start: Vec<f32>,
    pub d_end: Vec<f32>,
}

fn logsumexp(values: impl Iterator<Item = f64> + Clone) -> f64 {
    let max = values.clone().fold(f64::NEG_INFINITY, f64::max);
    if max == f64::NEG_INFINITY {
        return max;
    }
    max + values.map(|v| (v - max).exp()).sum::<f64>().ln()
}

/// The log-partition of each sentence (`emissions` `[batch, width, k]`
/// row-major, sentence `b` the first `lengths[b]` positions; sentences of
/// length 0 contribute nothing), summed, with its gradient.
pub fn partition(
    emissions: &[f32],
    width: usize,
    lengths: &[usize],
    transitions: &[f32],
    start: &[f32],
    end: &[f32],
) -> Partition {
    let k = start.len();
    assert_eq!(transitions.len(), k * k, "transitions");
    assert_eq!(end.len(), k, "end");
    assert_eq!(emissions.len(), lengths.len() * width * k, "emissions");
    let trans: Vec<f64> = transitions.iter().map(|&v| f64::from(v)).collect();
    let mut out = Partition {
        log_z: 0.0,
        d_emissions: vec![0.0; emissions.len()],
        d_transitions: vec![0.0; k * k],
        d_start: vec![0.0; k],
        d_end: vec![0.0; k],
    };
    let mut d_trans = vec![0f64; k * k];
    let mut alpha = vec![0f64; width * k];
    let mut beta = vec![0f64; width * k];
    for (b, &len) in lengths.iter().enumerate() {
        assert!(len <= width, "length {len} > width {width}");
        if len == 0 {
            continue;
        }
        let e = |t: usize, j: usize| f64::from(emissions[(b * width + t) * k + j]);
        let log_z = forward_backward(len, e, &trans, start, end, &mut alpha, &mut beta);
        out.log_z += log_z;
        for t in 0..len {
            for j in 0..k {
                let p = (alpha[t * k + j] + beta[t * k + j] - log_z).exp();
                out.d_emissions[(b * width + t) * k + j] = p as f32;
                if t == 0 {
                    out.d_start[j] += p as f32;
                }
                if t == len - 1 {
                    out.d_end[j] += p as f32;
                }
            }
            if t > 0 {
                for i in 0..k {
                    let a = alpha[(t - 1) * k + i] - log_z;
                    for j in 0..k {
                        d_trans[i * k + j] +=
                            (a + trans[i * k + j] + e(t, j) + beta[t * k + j]).exp();
                    }
                }
            }
        }
    }
    for (d, v) in out.d_transitions.iter_mut().zip(&d_trans) {
        *d = *v as f32;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every path's score, for sentences short enough to enumerate.
    fn brute_log_z(
        e: &[f32],
        len: usize,
        k: usize,
        trans: &[f32],
        start: &[f32],
        end: &[f32],
    ) -> f64 {
        let mut scores = Vec::new();
        let mut path = vec![0usize; len];
        loop {
            let mut s = f64::from(start[path[0]]) + f64::from(end[path[len - 1]]);
            for t in 0..len {
                s += f64::from(e[t * k + path[t]]);
                if t > 0 {
                    s += f64::from(trans[path[t - 1] * k + path[t]]);
                }
            }
            scores.push(s);
            let mut t = 0;
            while t < len && path[t] == k - 1 {
                path[t] = 0;
                t += 1;
            }
            if t == len {
                break;
            }
            path[t] += 1;
        }
        logsumexp(scores.into_iter())
    }

    fn values(n: usize, seed: u32) -> Vec<f32> {
        (0..n)
            .map(|i| {
                ((i as u32).wrapping_mul(2_654_435_761).wrapping_add(seed) % 1000) as f32 / 250.0
                    - 2.0
            })
            .collect()
    }

    /// `log Z` against enumeration, its gradient against finite differences.
    #[test]
    fn partition_matches_enumeration_and_finite_differences() {
        let (k, width) = (3, 4);
        let lengths = [4, 1, 0, 3];
        let emissions = values(lengths.len() * width * k, 1);
        let mut trans = values(k * k, 2);
        trans[2] = -10_000.0; // a forbidden move
        let (start, end) = (values(k, 3), values(k, 4));
        let got = partition(&emissions, width, &lengths, &trans, &start, &end);
        let want: f64 = lengths
            .iter()
            .enumerate()
            .filter(|(_, &len)| len > 0)
            .map(|(b, &len)| brute_log_z(&emissions[b * width * k..], len, k, &trans, &start, &end))
            .sum();
        assert!((got.log_z - want).abs() < 1e-9, "{} vs {want}", got.log_z);

        let eps = 1e-2f32;
        let log_z = |e: &[f32], t: &[f32], s: &[f32], n: &[f32]| {
            partition(e, width, &lengths, t, s, n).log_z
        };
        let check = |name: &str, analytic: &[f32], numeric: &dyn Fn(usize) -> f64| {
            for (i, &a) in analytic.iter().enumerate() {
                let n = numeric(i);
                assert!((f64::from(a) - n).abs() < 1e-3, "{name}[{i}]: {a} vs {n}");
            }
        };
        let bump = |v: &[f32], i: usize, by: f32| {
            let mut v = v.to_vec();
            v[i] += by;
            v
        };
        check("emissions", &got.d_emissions, &|i| {
            (log_z(&bump(&emissions, i, eps), &trans, &start, &end)
                - log_z(&bump(&emissions, i, -eps), &trans, &start, &end))
                / f64::from(2.0 * eps)
        });
        check("transitions", &got.d_transitions, &|i| {
            (log_z(&emissions, &bump(&trans, i, eps), &start, &end)
                - log_z(&emissions, &bump(&trans, i, -eps), &start, &end))
                / f64::from(2.0 * eps)
        });
        check("start", &got.d_start, &|i| {
            (log_z(&emissions, &trans, &bump(&start, i, eps), &end)
                - log_z(&emissions, &trans, &bump(&start, i, -eps), &end))
                / f64::from(2.0 * eps)
        });
        check("end", &got.d_end, &|i| {
            (log_z(&emissions, &trans, &start, &bump(&end, i, eps))
                - log_z(&emissions, &trans, &start, &bump(&end, i, -eps)))
                / f64::from(2.0 * eps)
        });
        // Padding and the empty sentence get no gradient.
        assert!(got.d_emissions[(width + 1) * k..3 * width * k]
            .iter()
            .all(|&v| v == 0.0));
    }

    /// Every path of `len` tags out of `k`, with its score in `f64`.
    fn all_paths(scores: &Scores, rows: &[f32]) -> Vec<(Vec<i64>, f64)> {
        let k = scores.k;
        let len = rows.len() / k;
        let mut out = Vec::new();
        let mut path = vec![0i64; len];
        loop {
            out.push((path.clone(), scores.path_score(rows, &path)));
            let mut t = 0;
            while t < len && path[t] == k as i64 - 1 {
                path[t] = 0;
                t += 1;
            }
            if t == len {
                return out;
            }
            path[t] += 1;
        }
    }

    /// IOB1-like tags `O, I-A, B-A, I-B` with conlleval's rules as tables.
    fn iob_chunks() -> Chunks {
        // (prefix, kind)
        let tags = [('O', None), ('I', Some(0)), ('B', Some(0)), ('I', Some(1))];
        let k = tags.len();
        let starts_after = |prev: Option<(char, Option<u32>)>, cur: (char, Option<u32>)| match cur {
            ('O', _) => false,
            ('B', _) => true,
            (_, kind) => prev.is_none_or(|(p, pk)| p == 'O' || pk != kind),
        };
        let ends_before = |prev: (char, Option<u32>), cur: (char, Option<u32>)| match prev {
            ('O', _) => false,
            (_, kind) => cur.0 == 'O' || cur.0 == 'B' || cur.1 != kind,
        };
        let mut chunks = Chunks {
            k,
            kind: tags.iter().map(|t| t.1).collect(),
            starts: vec![false; k * k],
            starts_first: tags.iter().map(|&t| starts_after(None, t)).collect(),
            ends: vec![false; k * k],
        };
        for i in 0..k {
            for j in 0..k {
                chunks.starts[i * k + j] = starts_after(Some(tags[i]), tags[j]);
                chunks.ends[i * k + j] = ends_before(tags[i], tags[j]);
            }
        }
        chunks
    }

    /// The entities `(start, end, kind)` of a path under `chunks`' rules.
    fn spans_of(chunks: &Chunks, path: &[i64]) -> Vec<(usize, usize, u32)> {
        let k = chunks.k;
        let mut out = Vec::new();
        let mut open: Option<(usize, u32)> = None;
        for (t, &j) in path.iter().enumerate() {
            let j = j as usize;
            if let Some((s, kind)) = open {
                if chunks.ends[path[t - 1] as usize * k + j] {
                    out.push((s, t, kind));
                    open = None;
                }
            }
            let starts = if t == 0 {
                chunks.starts_first[j]
            } else {
                chunks.starts[path[t - 1] as usize * k + j]
            };
            if starts {
                open = chunks.kind[j].map(|kind| (t, kind));
            }
        }
        if let Some((s, kind)) = open {
            out.push((s, path.len(), kind));
        }
        out
    }

    fn scores(k: usize, seed: u32) -> Scores {
        let mut transitions = values(k * k, seed);
        transitions[k + 3] = -10_000.0; // a forbidden move
        Scores {
            k,
            transitions,
            start: values(k, seed + 1),
            end: values(k, seed + 2),
        }
    }

    /// Marginals, span probabilities and the n best paths against every
    /// path of small sentences.
    #[test]
    fn lattice_and_nbest_match_enumeration() {
        let chunks = iob_chunks();
        let k = chunks.k;
        for (len, seed) in [(1, 5), (2, 6), (4, 7), (5, 8)] {
            let scores = scores(k, seed);
            let rows = values(len * k, seed + 10);
            let paths = all_paths(&scores, &rows);
            let lattice = scores.lattice(&rows);
            let log_z = logsumexp(paths.iter().map(|p| p.1));
            assert!((lattice.log_z - log_z).abs() < 1e-9);
            let prob = |p: f64| (p - log_z).exp();
            let marginals = lattice.marginals();
            for t in 0..len {
                for j in 0..k {
                    let want: f64 = paths
                        .iter()
                        .filter(|(p, _)| p[t] == j as i64)
                        .map(|(_, s)| prob(*s))
                        .sum();
                    assert!((marginals[t * k + j] - want).abs() < 1e-9, "t {t} j {j}");
                }
                let sum: f64 = marginals[t * k..(t + 1) * k].iter().sum();
                assert!((sum - 1.0).abs() < 1e-9);
            }
            for start in 0..len {
                for kind in 0..2 {
                    let mut from_here = 0.0;
                    for end in start + 1..=len {
                        let want: f64 = paths
                            .iter()
                            .filter(|(p, _)| spans_of(&chunks, p).contains(&(start, end, kind)))
                            .map(|(_, s)| prob(*s))
                            .sum();
                        let got = lattice.span_probability(&chunks, start, end, kind);
                        assert!(
                            (got - want).abs() < 1e-9,
                            "{start}..{end} {kind}: {got} {want}"
                        );
                        from_here += got;
                    }
                    // Spans of one type starting at one token exclude each other.
                    assert!(from_here <= 1.0 + 1e-9);
                }
            }
            let mut ranked = paths.clone();
            ranked.sort_by(|a, b| b.1.partial_cmp(&a.1).unwrap());
            let n = 7.min(ranked.len());
            let best = scores.nbest(&rows, n);
            assert_eq!(best.len(), n);
            assert_eq!(best[0].0, scores.best_path(&rows));
            for ((path, score), (want_path, want_score)) in best.iter().zip(&ranked) {
                assert!(
                    (f64::from(*score) - want_score).abs() < 1e-3,
                    "{score} {want_score}"
                );
                assert!((scores.path_score(&rows, path) - want_score).abs() < 1e-3);
                if path != want_path {
                    // Only a tie may swap two paths.
                    assert!((scores.path_score(&rows, want_path) - want_score).abs() < 1e-6);
                }
            }
            let total: f64 = paths.iter().map(|p| lattice.probability(p.1)).sum();
            assert!((total - 1.0).abs() < 1e-9);
        }
        assert!(Scores {
            k: 2,
            transitions: vec![0.0; 4],
            start: vec![0.0; 2],
            end: vec![0.0; 2]
        }
        .nbest(&[], 3)
        .is_empty());
    }

    #[test]
    fn softmax_rows_sum_to_one() {
        let p = softmax_rows(&[1.0, 2.0, 3.0, 0.0, 0.0, 0.0], 3);
        assert!((p[0..3].iter().sum::<f64>() - 1.0).abs() < 1e-12);
        assert!((p[3] - 1.0 / 3.0).abs() < 1e-12);
        assert!(p[2] > p[1] && p[1] > p[0]);
    }
}
