//! A linear-chain CRF output layer: the log-likelihood for training (its
//! log-partition by `ner-kernels`' forward-backward on the CPU, the forward
//! algorithm in tensor operations elsewhere), Viterbi decoding
//! (`ner-kernels`'), and the constraints that rule out ill-formed tag
//! sequences ([`ner_model::crf::Penalties`]).
//!
//! Scores: `start[j]` for the first tag, `transitions[i][j]` from tag `i` to
//! tag `j`, `end[i]` after the last tag, plus the emission scores of the
//! tagger below. Moves the tag scheme forbids (IOB2: `O → I-X`, `B-X → I-Y`,
//! `I-X → I-Y`, a sentence starting with `I-X`; BIOES likewise for `I-`/`E-`
//! and for what may follow an open phrase) get a fixed penalty of -10,000 in
//! training and decoding alike, so the best path is always well formed.

use tch::nn::{Init, Path as VsPath};
use tch::Tensor;

pub use ner_model::crf::{Penalties, FORBIDDEN};

use crate::host::{lengths_of, to_vec};

/// The CRF parameters and its constraints.
#[derive(Debug)]
pub struct Crf {
    transitions: Tensor,
    start: Tensor,
    end: Tensor,
    /// Penalties (0 or [`FORBIDDEN`]), same shapes as the parameters.
    forbid: Tensor,
    forbid_start: Tensor,
    forbid_end: Tensor,
    /// The same penalties on the host, for Viterbi.
    penalties: Penalties,
    n_tags: i64,
}

impl Crf {
    /// Parameters under `vs` (`transitions`, `start`, `end`), initialised to 0.
    pub fn new(vs: &VsPath<'_>, penalties: Penalties) -> Self {
        let n = penalties.start.len() as i64;
        let device = vs.device();
        let flat: Vec<f32> = penalties.transitions.iter().flatten().copied().collect();
        Crf {
            transitions: vs.var("transitions", &[n, n], Init::Const(0.0)),
            start: vs.var("start", &[n], Init::Const(0.0)),
            end: vs.var("end", &[n], Init::Const(0.0)),
            forbid: Tensor::from_slice(&flat).view([n, n]).to_device(device),
            forbid_start: Tensor::from_slice(&penalties.start).to_device(device),
            forbid_end: Tensor::from_slice(&penalties.end).to_device(device),
            penalties,
            n_tags: n,
        }
    }

    fn effective(&self) -> (Tensor, Tensor, Tensor) {
        (
            &self.transitions + &self.forbid,
            &self.start + &self.forbid_start,
            &self.end + &self.forbid_end,
        )
    }

    /// Negative log-likelihood of the gold tags, summed over the batch.
    ///
    /// `emissions` `[B, T, K]`; `tags` `[B, T]` (padding may hold any value);
    /// `mask` `[B, T]` bool, true on real tokens, every row starting with at
    /// least one; `lengths` `[B]`. With `on_kernels` (CPU tensors only) the
    /// log-partition and its gradient come from `ner-kernels`'
    /// forward-backward instead of libtorch's step-by-step forward algorithm
    /// and its autograd.
    pub fn nll(
        &self,
        emissions: &Tensor,
        tags: &Tensor,
        mask: &Tensor,
        lengths: &Tensor,
        on_kernels: bool,
    ) -> Tensor {
        let (trans, start, end) = self.effective();
        let width = emissions.size()[1];
        let k = self.n_tags;
        let tags = tags.clamp(0, k - 1);
        let maskf = mask.to_kind(emissions.kind());

        // The gold path's score, vectorised over time.
        let emitted = emissions
            .gather(2, &tags.unsqueeze(2), false)
            .squeeze_dim(2);
        let mut gold = (emitted * &maskf).sum_dim_intlist(1, false, emissions.kind());
        gold += start.index_select(0, &tags.select(1, 0));
        if width > 1 {
            let prev = tags.narrow(1, 0, width - 1);
            let next = tags.narrow(1, 1, width - 1);
            let moves = trans
                .view([-1])
                .index_select(0, &(prev * k + next).view([-1]));
            let moves = moves.view([-1, width - 1]) * maskf.narrow(1, 1, width - 1);
            gold += moves.sum_dim_intlist(1, false, emissions.kind());
        }
        let last = tags
            .gather(1, &(lengths - 1).unsqueeze(1), false)
            .squeeze_dim(1);
        gold += end.index_select(0, &last);

        if on_kernels {
            return self.log_partition_on_kernels(emissions, lengths, &trans, &start, &end)
                - gold.sum(emissions.kind());
        }
        // The forward algorithm.
        let mut alpha = start.unsqueeze(0) + emissions.select(1, 0);
        let trans = trans.unsqueeze(0);
        for t in 1..width {
            let step = (alpha.unsqueeze(2) + &trans).logsumexp([1], false) + emissions.select(1, t);
            alpha = step.where_self(&mask.select(1, t).unsqueeze(1), &alpha);
        }
        let log_z = (alpha + end.unsqueeze(0)).logsumexp([1], false);
        (log_z - gold).sum(emissions.kind())
    }

    /// `Σ log Z` over the batch as a scalar whose gradient is the
    /// forward-backward marginals: `S − detach(S) + log Z` with `S` the sum of
    /// each score times its marginal (a constant), so the value is `log Z`
    /// and the gradient `∂S/∂score = marginal`.
    fn log_partition_on_kernels(
        &self,
        emissions: &Tensor,
        lengths: &Tensor,
        trans: &Tensor,
        start: &Tensor,
        end: &Tensor,
    ) -> Tensor {
        let lens = lengths_of(lengths);
        let width = emissions.size()[1] as usize;
        let p = ner_kernels::crf::partition(
            &to_vec(emissions),
            width,
            &lens,
            &to_vec(trans),
            &to_vec(start),
            &to_vec(end),
        );
        let kind = emissions.kind();
        let weigh = |t: &Tensor, d: &[f32]| {
            (t * Tensor::from_slice(d)
                .view(t.size().as_slice())
                .to_kind(kind))
            .sum(kind)
        };
        let surrogate = weigh(emissions, &p.d_emissions)
            + weigh(trans, &p.d_transitions)
            + weigh(start, &p.d_start)
            + weigh(end, &p.d_end);
        &surrogate - surrogate.detach() + p.log_z
    }

    /// The best tag path of each sentence, by Viterbi on the host.
    ///
    /// `emissions` is `[B, T, K]` row-major; `lengths` the real lengths.
    pub fn viterbi(&self, emissions: &[f32], width: usize, lengths: &[usize]) -> Vec<Vec<i64>> {
        let scores = self.penalties.scores(
            &to_vec(&self.transitions),
            &to_vec(&self.start),
            &to_vec(&self.end),
        );
        let k = scores.k;
        lengths
            .iter()
            .enumerate()
            .map(|(b, &len)| scores.best_path(&emissions[b * width * k..(b * width + len) * k]))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ner_core::scheme::{Tag, TagScheme};
    use tch::{nn, Device, Kind};

    fn tags(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    /// Every path of length `len` over `k` tags.
    fn all_paths(k: usize, len: usize) -> Vec<Vec<usize>> {
        let mut paths = vec![Vec::new()];
        for _ in 0..len {
            paths = paths
                .into_iter()
                .flat_map(|p| {
                    (0..k).map(move |j| {
                        let mut q = p.clone();
                        q.push(j);
                        q
                    })
                })
                .collect();
        }
        paths
    }

    fn path_score(e: &[f32], k: usize, path: &[usize], s: &ner_kernels::crf::Scores) -> f64 {
        let mut total = f64::from(s.start[path[0]] + e[path[0]]);
        for t in 1..path.len() {
            total += f64::from(s.transitions[path[t - 1] * k + path[t]] + e[t * k + path[t]]);
        }
        total + f64::from(s.end[path[path.len() - 1]])
    }

    fn random_crf(names: &[String], scheme: TagScheme) -> (nn::VarStore, Crf) {
        let vs = nn::VarStore::new(Device::Cpu);
        let crf = Crf::new(&(vs.root() / "crf"), Penalties::for_scheme(names, scheme));
        tch::no_grad(|| {
            for p in vs.trainable_variables() {
                let mut p = p;
                p.copy_(&Tensor::randn(p.size(), (Kind::Float, Device::Cpu)));
            }
        });
        (vs, crf)
    }

    #[test]
    fn log_partition_and_best_path_match_brute_force_on_libtorch_and_kernels() {
        tch::manual_seed(3);
        let names = tags(&["O", "B-PER", "I-PER"]);
        for scheme in [TagScheme::Iob1, TagScheme::Iob2] {
            let (_vs, crf) = random_crf(&names, scheme);
            let (k, len) = (3usize, 4usize);
            let emissions = Tensor::randn([2, len as i64, k as i64], (Kind::Float, Device::Cpu));
            let e: Vec<f32> = Vec::try_from(&emissions.view([-1])).expect("floats");
            let gold = Tensor::from_slice(&[1i64, 2, 0, 1, 0, 1, 2, 2]).view([2, len as i64]);
            // The second sentence has 3 tokens; its last position is padding.
            let lengths = Tensor::from_slice(&[4i64, 3]);
            let mask = Tensor::arange(len as i64, (Kind::Int64, Device::Cpu))
                .unsqueeze(0)
                .lt_tensor(&lengths.unsqueeze(1));
            let paths = crf.viterbi(&e, len, &[4, 3]);
            let trans: Vec<f32> = Vec::try_from(&crf.effective().0.view([-1])).expect("t");
            let start: Vec<f32> = Vec::try_from(&crf.effective().1).expect("s");
            let end: Vec<f32> = Vec::try_from(&crf.effective().2).expect("e");
            let scores = ner_kernels::crf::Scores {
                k,
                transitions: trans,
                start,
                end,
            };
            let gold_v: Vec<i64> = Vec::try_from(&gold.view([-1])).expect("gold");
            let mut expected_nll = 0.0;
            for (b, n) in [(0usize, 4usize), (1, 3)] {
                let rows = &e[b * len * k..(b * len + n) * k];
                let all = all_paths(k, n);
                let scored: Vec<f64> = all
                    .iter()
                    .map(|p| path_score(rows, k, p, &scores))
                    .collect();
                let max = scored.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
                let log_z = max + scored.iter().map(|s| (s - max).exp()).sum::<f64>().ln();
                let g: Vec<usize> = gold_v[b * len..b * len + n]
                    .iter()
                    .map(|&t| t as usize)
                    .collect();
                expected_nll += log_z - path_score(rows, k, &g, &scores);
                let best = all
                    .iter()
                    .zip(&scored)
                    .max_by(|a, b| a.1.total_cmp(b.1))
                    .map(|(p, _)| p.iter().map(|&t| t as i64).collect::<Vec<_>>())
                    .expect("paths");
                assert_eq!(paths[b], best, "{scheme:?} sentence {b}");
            }
            let emissions = emissions.set_requires_grad(true);
            let params = [&crf.transitions, &crf.start, &crf.end, &emissions];
            let mut grads = Vec::new();
            for on_kernels in [false, true] {
                for p in params {
                    let g = p.grad();
                    if g.defined() {
                        let _ = g.shallow_clone().zero_();
                    }
                }
                let nll = crf.nll(&emissions, &gold, &mask, &lengths, on_kernels);
                let value = nll.double_value(&[]);
                assert!(
                    (value - expected_nll).abs() < 1e-3 * expected_nll.abs().max(1.0),
                    "{scheme:?}, kernels {on_kernels}: {value} vs {expected_nll}"
                );
                nll.backward();
                grads.push(params.map(|p| p.grad().copy()));
            }
            for (i, (a, b)) in grads[0].iter().zip(&grads[1]).enumerate() {
                let diff = (a - b).abs().max().double_value(&[]);
                assert!(diff < 1e-5, "{scheme:?}: gradient {i} differs by {diff}");
            }
        }
    }

    #[test]
    fn decoding_never_produces_forbidden_moves() {
        tch::manual_seed(5);
        let names = tags(&["O", "B-LOC", "I-LOC", "B-PER", "I-PER"]);
        let (_vs, crf) = random_crf(&names, TagScheme::Iob2);
        // Emissions that strongly prefer I- tags everywhere.
        let mut e = vec![0f32; 6 * 5];
        for t in 0..6 {
            e[t * 5 + 2 + 2 * (t % 2)] = 50.0;
        }
        let path = crf.viterbi(&e, 6, &[6]).remove(0);
        let parsed: Vec<String> = path.iter().map(|&t| names[t as usize].clone()).collect();
        let tags: Vec<Tag<'_>> = parsed.iter().map(|t| Tag::parse(t).expect("tag")).collect();
        let well_formed = ner_core::scheme::convert(&tags, TagScheme::Iob2);
        assert_eq!(parsed, well_formed, "{parsed:?}");
    }
}
