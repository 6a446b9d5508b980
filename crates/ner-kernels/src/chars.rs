//! The character CNN of a word (Ma & Hovy 2016) forward and backward, as
//! libtorch's `conv1d` (zero padding `kernel / 2`), ReLU and maximum over
//! positions compute it: a word's characters padded to the batch's `width`
//! with `<PAD>` (id 0), each looked up in the character table and scaled by
//! its dropout mask.

use crate::math::linear_into;

/// A character CNN's weights, in libtorch's layouts.
#[derive(Debug, Clone, Copy)]
pub struct CharCnn<'a> {
    /// Character embedding size.
    pub dim: usize,
    /// Window (odd in the pipelines; any size works as `conv1d` does).
    pub kernel: usize,
    /// `[chars, dim]`.
    pub embedding: &'a [f32],
    /// `[filters, dim, kernel]`.
    pub weight: &'a [f32],
    /// `[filters]`.
    pub bias: &'a [f32],
}

/// Which words to run and what they read: `ids` is `[words, width]`,
/// `mask` (when given, dropout) is `[words, width, dim]`, and `rows` names
/// the words to compute, in the order of the output.
#[derive(Debug, Clone, Copy)]
pub struct CharBatch<'a> {
    pub ids: &'a [i64],
    pub width: usize,
    pub mask: Option<&'a [f32]>,
    pub rows: &'a [usize],
}

/// Features `[rows, filters]`, and for each the position whose window gave
/// the maximum (`u32::MAX` where the feature is 0: no gradient passes).
#[derive(Debug, Clone)]
pub struct CnnForward {
    pub out: Vec<f32>,
    argmax: Vec<u32>,
}

/// The gradients of the character table, the filters and their biases.
#[derive(Debug, Clone)]
pub struct CnnGradients {
    /// `[chars, dim]`.
    pub d_embedding: Vec<f32>,
    /// `[filters, dim, kernel]`.
    pub d_weight: Vec<f32>,
    pub d_bias: Vec<f32>,
}

/// Positions computed per product: about this many windows.
const BLOCK: usize = 4096;

impl CharCnn<'_> {
    fn filters(&self) -> usize {
        self.bias.len()
    }

    fn check(&self, batch: &CharBatch<'_>) {
        let (dim, cols) = (self.dim, self.dim * self.kernel);
        assert!(self.kernel > 0, "kernel 0");
        assert_eq!(self.embedding.len() % dim.max(1), 0, "embedding");
        assert_eq!(self.weight.len(), self.filters() * cols, "weight");
        assert_eq!(batch.ids.len() % batch.width.max(1), 0, "ids");
        let words = batch.ids.len() / batch.width.max(1);
        if let Some(mask) = batch.mask {
            assert_eq!(mask.len(), batch.ids.len() * dim, "mask");
        }
        assert!(batch.rows.iter().all(|&r| r < words), "rows");
        let chars = self.embedding.len() / dim.max(1);
        assert!(
            batch.ids.iter().all(|&c| (0..chars as i64).contains(&c)),
            "character id out of the table"
        );
    }

    /// Output positions of a word: `width + 2·pad + 1 − kernel`.
    fn positions(&self, width: usize) -> usize {
        (width + 2 * (self.kernel / 2) + 1).saturating_sub(self.kernel)
    }

    /// Character `q` of word `word`, embedded and masked, into `out`
    /// (`dim` values).
    fn embedded(&self, batch: &CharBatch<'_>, word: usize, q: usize, out: &mut [f32]) {
        let dim = self.dim;
        let at = word * batch.width + q;
        let id = batch.ids[at] as usize;
        out.copy_from_slice(&self.embedding[id * dim..(id + 1) * dim]);
        if let Some(mask) = batch.mask {
            for (v, &m) in out.iter_mut().zip(&mask[at * dim..(at + 1) * dim]) {
                *v *= m;
            }
        }
    }

    /// The unfolded window at output position `i` of `word`: `[dim, kernel]`
    /// as the weight's rows are laid out, zeros outside the word's `width`.
    fn unfold(
        &self,
        batch: &CharBatch<'_>,
        word: usize,
        i: usize,
        row: &mut [f32],
        char: &mut [f32],
    ) {
        let (kernel, pad) = (self.kernel, self.kernel / 2);
        row.iter_mut().for_each(|v| *v = 0.0);
        for j in 0..kernel {
            let Some(q) = (i + j).checked_sub(pad).filter(|&q| q < batch.width) else {
                continue;
            };
            self.embedded(batch, word, q, char);
            for (d, &v) in char.iter().enumerate() {
                row[d * kernel + j] = v;
            }
        }
    }

    /// The features of `batch.rows`.
    pub fn forward(&self, batch: &CharBatch<'_>) -> CnnForward {
        self.check(batch);
        let filters = self.filters();
        let cols = self.dim * self.kernel;
        let n_pos = self.positions(batch.width);
        let words = batch.rows.len();
        let mut out = vec![0f32; words * filters];
        let mut argmax = vec![u32::MAX; words * filters];
        if n_pos == 0 || filters == 0 {
            return CnnForward { out, argmax };
        }
        let per_block = (BLOCK / n_pos).max(1);
        let mut unfolded = vec![0f32; per_block * n_pos * cols];
        let mut conv = vec![0f32; per_block * n_pos * filters];
        let mut char = vec![0f32; self.dim];
        for (b, block) in batch.rows.chunks(per_block).enumerate() {
            let rows = block.len() * n_pos;
            for (w, &word) in block.iter().enumerate() {
                for i in 0..n_pos {
                    let at = (w * n_pos + i) * cols;
                    self.unfold(batch, word, i, &mut unfolded[at..at + cols], &mut char);
                }
            }
            linear_into(rows, cols, &unfolded, self.weight, self.bias, &mut conv);
            for w in 0..block.len() {
                let at = (b * per_block + w) * filters;
                let (best, arg) = (&mut out[at..at + filters], &mut argmax[at..at + filters]);
                for (i, values) in conv[w * n_pos * filters..][..n_pos * filters]
                    .chunks_exact(filters)
                    .enumerate()
                {
                    // The first maximum; ReLU makes everything ≤ 0 a 0 with no gradient.
                    for f in 0..filters {
                        if values[f] > best[f] {
                            best[f] = values[f];
                            arg[f] = i as u32;
                        }
                    }
                }
            }
        }
        CnnForward { out, argmax }
    }

    /// The gradients for `d_out` (`[rows, filters]`) of the forward pass
    /// `forward` over the same `batch`. Where positions tie for a maximum,
    /// their windows are equal (only `<PAD>` past a word's end, unmasked), so
    /// the first one's gradient is the sum libtorch spreads over them.
    pub fn backward(
        &self,
        batch: &CharBatch<'_>,
        forward: &CnnForward,
        d_out: &[f32],
    ) -> CnnGradients {
        self.check(batch);
        let (dim, kernel) = (self.dim, self.kernel);
        let filters = self.filters();
        let cols = dim * kernel;
        assert_eq!(d_out.len(), batch.rows.len() * filters, "d_out");
        let mut grads = CnnGradients {
            d_embedding: vec![0f32; self.embedding.len()],
            d_weight: vec![0f32; self.weight.len()],
            d_bias: vec![0f32; filters],
        };
        let mut window = vec![0f32; cols];
        let mut d_window = vec![0f32; cols];
        let mut char = vec![0f32; dim];
        for (r, &word) in batch.rows.iter().enumerate() {
            let d_row = &d_out[r * filters..(r + 1) * filters];
            let args = &forward.argmax[r * filters..(r + 1) * filters];
            // Windows are unfolded once per distinct maximum position.
            let mut unfolded_at = u32::MAX;
            for f in 0..filters {
                let (g, i) = (d_row[f], args[f]);
                if i == u32::MAX || g == 0.0 {
                    continue;
                }
                grads.d_bias[f] += g;
                if i != unfolded_at {
                    self.flush(
                        batch,
                        word,
                        unfolded_at,
                        &mut d_window,
                        &mut char,
                        &mut grads,
                    );
                    self.unfold(batch, word, i as usize, &mut window, &mut char);
                    unfolded_at = i;
                }
                let w = &self.weight[f * cols..(f + 1) * cols];
                let d_w = &mut grads.d_weight[f * cols..(f + 1) * cols];
                for c in 0..cols {
                    d_w[c] += g * window[c];
                    d_window[c] += g * w[c];
                }
            }
            self.flush(
                batch,
                word,
                unfolded_at,
                &mut d_window,
                &mut char,
                &mut grads,
            );
        }
        grads
    }

    /// Adds a window's gradient `d_window` (`[dim, kernel]`) at output
    /// position `i` of `word` to the character table through the dropout
    /// mask, and zeroes it.
    fn flush(
        &self,
        batch: &CharBatch<'_>,
        word: usize,
        i: u32,
        d_window: &mut [f32],
        char: &mut [f32],
        grads: &mut CnnGradients,
    ) {
        if i == u32::MAX {
            return;
        }
        let (dim, kernel, pad) = (self.dim, self.kernel, self.kernel / 2);
        for j in 0..kernel {
            let Some(q) = (i as usize + j)
                .checked_sub(pad)
                .filter(|&q| q < batch.width)
            else {
                continue;
            };
            let at = word * batch.width + q;
            let id = batch.ids[at] as usize;
            for (d, v) in char.iter_mut().enumerate() {
                *v = d_window[d * kernel + j];
            }
            if let Some(mask) = batch.mask {
                for (v, &m) in char.iter_mut().zip(&mask[at * dim..(at + 1) * dim]) {
                    *v *= m;
                }
            }
            for (e, &v) in grads.d_embedding[id * dim..(id + 1) * dim]
                .iter_mut()
                .zip(char.iter())
            {
                *e += v;
            }
        }
        d_window.iter_mut().for_each(|v| *v = 0.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::recurrent::tests::values;

    /// The CNN written as its definition: every position, every filter.
    fn reference(cnn: &CharCnn<'_>, batch: &CharBatch<'_>) -> Vec<f32> {
        let (dim, kernel, pad) = (cnn.dim, cnn.kernel, cnn.kernel / 2);
        let filters = cnn.bias.len();
        let mut out = Vec::new();
        for &word in batch.rows {
            for f in 0..filters {
                let mut best = f32::NEG_INFINITY;
                for i in 0..cnn.positions(batch.width) {
                    let mut v = cnn.bias[f];
                    for j in 0..kernel {
                        let Some(q) = (i + j).checked_sub(pad).filter(|&q| q < batch.width) else {
                            continue;
                        };
                        let at = word * batch.width + q;
                        let id = batch.ids[at] as usize;
                        for d in 0..dim {
                            let m = batch.mask.map_or(1.0, |m| m[at * dim + d]);
                            v += cnn.weight[(f * dim + d) * kernel + j]
                                * cnn.embedding[id * dim + d]
                                * m;
                        }
                    }
                    best = best.max(v);
                }
                out.push(best.max(0.0));
            }
        }
        out
    }

    struct Case {
        dim: usize,
        kernel: usize,
        embedding: Vec<f32>,
        weight: Vec<f32>,
        bias: Vec<f32>,
        ids: Vec<i64>,
        width: usize,
        mask: Vec<f32>,
    }

    impl Case {
        fn new(kernel: usize) -> Case {
            let (chars, dim, filters, words, width) = (7, 3, 5, 4, 6);
            let lengths = [6, 2, 0, 4];
            let raw = values(words * width, 3, 1.0);
            let ids = (0..words * width)
                .map(|at| {
                    if at % width < lengths[at / width] {
                        1 + ((raw[at].abs() * 100.0) as i64) % (chars as i64 - 1)
                    } else {
                        0
                    }
                })
                .collect();
            let mask = values(words * width * dim, 4, 1.0)
                .iter()
                .map(|&v| if v < -0.4 { 0.0 } else { 1.0 / 0.7 })
                .collect();
            Case {
                dim,
                kernel,
                embedding: values(chars * dim, 5, 1.0),
                weight: values(filters * dim * kernel, 6, 0.5),
                bias: values(filters, 7, 0.3),
                ids,
                width,
                mask,
            }
        }

        fn cnn(&self) -> CharCnn<'_> {
            CharCnn {
                dim: self.dim,
                kernel: self.kernel,
                embedding: &self.embedding,
                weight: &self.weight,
                bias: &self.bias,
            }
        }
    }

    #[test]
    fn forward_equals_the_definition() {
        for kernel in [1, 2, 3, 5] {
            let case = Case::new(kernel);
            let rows = [3, 0, 2];
            for mask in [None, Some(case.mask.as_slice())] {
                let batch = CharBatch {
                    ids: &case.ids,
                    width: case.width,
                    mask,
                    rows: &rows,
                };
                let got = case.cnn().forward(&batch).out;
                let want = reference(&case.cnn(), &batch);
                for (g, w) in got.iter().zip(&want) {
                    assert!((g - w).abs() < 1e-5, "kernel {kernel}: {g} vs {w}");
                }
            }
        }
    }

    /// `L = Σ c·out` against central differences of every parameter.
    #[test]
    fn gradients_match_finite_differences() {
        for kernel in [1, 3] {
            let mut case = Case::new(kernel);
            let rows = [0, 1, 3, 2];
            let c = values(rows.len() * case.bias.len(), 8, 1.0);
            let loss = |case: &Case| -> f64 {
                let batch = CharBatch {
                    ids: &case.ids,
                    width: case.width,
                    mask: Some(&case.mask),
                    rows: &rows,
                };
                let out = case.cnn().forward(&batch).out;
                out.iter()
                    .zip(&c)
                    .map(|(&o, &c)| f64::from(o) * f64::from(c))
                    .sum()
            };
            let batch = CharBatch {
                ids: &case.ids,
                width: case.width,
                mask: Some(&case.mask),
                rows: &rows,
            };
            let forward = case.cnn().forward(&batch);
            let grads = case.cnn().backward(&batch, &forward, &c);
            let eps = 1e-4f32;
            let mut check = |name: &str, get: fn(&mut Case) -> &mut Vec<f32>, want: &[f32]| {
                for i in 0..want.len() {
                    let base = get(&mut case)[i];
                    get(&mut case)[i] = base + eps;
                    let up = loss(&case);
                    get(&mut case)[i] = base - eps;
                    let down = loss(&case);
                    get(&mut case)[i] = base;
                    let numeric = (up - down) / (2.0 * f64::from(eps));
                    assert!(
                        (numeric - f64::from(want[i])).abs() < 2e-3,
                        "kernel {kernel} {name}[{i}]: numeric {numeric} vs {}",
                        want[i]
                    );
                }
            };
            check("embedding", |c| &mut c.embedding, &grads.d_embedding);
            check("weight", |c| &mut c.weight, &grads.d_weight);
            check("bias", |c| &mut c.bias, &grads.d_bias);
            assert!(grads.d_embedding.iter().any(|&g| g != 0.0));
        }
    }
}
