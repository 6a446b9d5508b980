//! A linear-chain CRF on the host: the log-partition of a batch and its
//! gradient by the forward-backward algorithm ([`partition`]), and the best
//! path by Viterbi ([`Scores::best_path`]).
//!
//! Scores: `start[j]` for the first tag, `transitions[i·k + j]` from tag `i`
//! to `j`, `end[i]` after the last, plus the emissions; the scheme's
//! forbidden moves are already added in (`ner_model::crf::Penalties`). The
//! gradient of `log Z` with respect to each score is its marginal
//! probability: of tag `j` at position `t` for the emissions, of the move
//! `i → j` summed over positions for the transitions. Sums run in `f64` and
//! in log space, so forbidden moves (scores near -10,000) underflow to
//! probability 0 cleanly.

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
                beta[t * k + i] =
                    logsumexp((0..k).map(|j| trans[i * k + j] + e(t + 1, j) + next[j]));
            }
        }
        let log_z = logsumexp((0..k).map(|j| alpha[last + j] + f64::from(end[j])));
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
}
