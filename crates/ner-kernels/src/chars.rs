//! The character CNN of a word (Ma & Hovy 2016) forward and backward, as
//! libtorch's `conv1d` (zero padding `kernel / 2`), ReLU and maximum over
//! positions compute it: a word's characters padded to the batch's `width`
//! with `<PAD>` (id 0), each looked up in the character table and scaled by
//! its dropout mask.

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

/// Features `[rows, filters]`, for each the position whose window gave the
/// maximum (`u32::MAX` where the feature is 0: no gradient passes), and,
/// when kept for the backward pass, each word's masked character
/// embeddings with the convolution's zero padding at both ends.
#[derive(Debug, Clone)]
pub struct CnnForward {
    pub out: Vec<f32>,
    argmax: Vec<u32>,
    /// `[rows, width + 2·pad, dim]` (empty when not kept).
    embedded: Vec<f32>,
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

/// Windows per product: a block of words is about this many.
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
        assert!(batch.width > 0, "width 0");
        assert_eq!(batch.ids.len() % batch.width, 0, "ids");
        let words = batch.ids.len() / batch.width;
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

    /// Rows of a word's padded embeddings: `width + 2·pad`.
    fn span(&self, width: usize) -> usize {
        width + 2 * (self.kernel / 2)
    }

    /// Output positions of a word: `width + 2·pad + 1 − kernel`.
    fn positions(&self, width: usize) -> usize {
        (self.span(width) + 1).saturating_sub(self.kernel)
    }

    /// Word `word`'s characters embedded and masked into `out`
    /// (`[span, dim]`, zeroed first): rows `pad..pad + width`.
    fn embed(&self, batch: &CharBatch<'_>, word: usize, out: &mut [f32]) {
        let (dim, pad) = (self.dim, self.kernel / 2);
        out.iter_mut().for_each(|v| *v = 0.0);
        for q in 0..batch.width {
            let at = word * batch.width + q;
            let id = batch.ids[at] as usize;
            let row = &mut out[(pad + q) * dim..(pad + q + 1) * dim];
            row.copy_from_slice(&self.embedding[id * dim..(id + 1) * dim]);
            if let Some(mask) = batch.mask {
                for (v, &m) in row.iter_mut().zip(&mask[at * dim..(at + 1) * dim]) {
                    *v *= m;
                }
            }
        }
    }

    /// Pairs `(i, w)`: value `i` of libtorch's `[filters, dim, kernel]`
    /// layout sits at `w` in the window order `[filters, kernel·dim]`
    /// (`f·kernel·dim + j·dim + d`), where a filter's window is `kernel`
    /// consecutive embeddings.
    fn window_order(&self) -> impl Iterator<Item = (usize, usize)> {
        let (dim, kernel) = (self.dim, self.kernel);
        (0..self.weight.len()).map(move |i| {
            let (f, d, j) = (i / (dim * kernel), i / kernel % dim, i % kernel);
            (i, (f * kernel + j) * dim + d)
        })
    }

    /// The filters in the window order (see [`CharCnn::window_order`]).
    fn filters_by_window(&self) -> Vec<f32> {
        let mut out = vec![0f32; self.weight.len()];
        for (i, w) in self.window_order() {
            out[w] = self.weight[i];
        }
        out
    }

    /// The features of `batch.rows`; `keep` keeps what
    /// [`CharCnn::backward`] needs.
    ///
    /// A block of words' padded embeddings lies in one buffer, so every
    /// window is `kernel·dim` consecutive values and one product covers the
    /// block (the `2·pad` windows that straddle two words are computed and
    /// never read).
    pub fn forward(&self, batch: &CharBatch<'_>, keep: bool) -> CnnForward {
        self.check(batch);
        let (dim, filters) = (self.dim, self.filters());
        let cols = dim * self.kernel;
        let (span, n_pos) = (self.span(batch.width), self.positions(batch.width));
        let words = batch.rows.len();
        let mut out = vec![0f32; words * filters];
        let mut argmax = vec![u32::MAX; words * filters];
        let mut embedded = if keep {
            vec![0f32; words * span * dim]
        } else {
            Vec::new()
        };
        if n_pos == 0 || filters == 0 || words == 0 {
            return CnnForward {
                out,
                argmax,
                embedded,
            };
        }
        let weight = self.filters_by_window();
        let per_block = (BLOCK / span).max(1);
        let mut buffer = vec![0f32; per_block * span * dim];
        let mut conv = vec![0f32; per_block * span * filters];
        for (b, block) in batch.rows.chunks(per_block).enumerate() {
            let first = b * per_block;
            let e = &mut buffer[..block.len() * span * dim];
            for (w, &word) in block.iter().enumerate() {
                self.embed(batch, word, &mut e[w * span * dim..(w + 1) * span * dim]);
            }
            let windows = block.len() * span + 1 - self.kernel;
            for row in conv[..windows * filters].chunks_exact_mut(filters) {
                row.copy_from_slice(self.bias);
            }
            crate::math::matmul_windows(windows, cols, filters, (e, dim), &weight, 1.0, &mut conv);
            for w in 0..block.len() {
                let at = (first + w) * filters;
                let (best, arg) = (&mut out[at..at + filters], &mut argmax[at..at + filters]);
                for (i, values) in conv[w * span * filters..][..n_pos * filters]
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
            if keep {
                embedded[first * span * dim..][..e.len()].copy_from_slice(e);
            }
        }
        CnnForward {
            out,
            argmax,
            embedded,
        }
    }

    /// The gradients for `d_out` (`[rows, filters]`) of the forward pass
    /// `forward` (kept) over the same `batch`. Where positions tie for a
    /// maximum, their windows are equal (only `<PAD>` past a word's end,
    /// unmasked), so the first one's gradient is the sum libtorch spreads
    /// over them.
    pub fn backward(
        &self,
        batch: &CharBatch<'_>,
        forward: &CnnForward,
        d_out: &[f32],
    ) -> CnnGradients {
        self.check(batch);
        let (dim, kernel, pad) = (self.dim, self.kernel, self.kernel / 2);
        let filters = self.filters();
        let cols = dim * kernel;
        let span = self.span(batch.width);
        assert_eq!(d_out.len(), batch.rows.len() * filters, "d_out");
        assert_eq!(
            forward.embedded.len(),
            batch.rows.len() * span * dim,
            "forward not kept"
        );
        // Filter-major, so each filter's window products run over
        // consecutive values.
        let by_filter = self.filters_by_window();
        let mut d_weight = vec![0f32; filters * cols];
        let mut grads = CnnGradients {
            d_embedding: vec![0f32; self.embedding.len()],
            d_weight: vec![0f32; self.weight.len()],
            d_bias: vec![0f32; filters],
        };
        let mut d_e = vec![0f32; span * dim];
        for (r, &word) in batch.rows.iter().enumerate() {
            let e = &forward.embedded[r * span * dim..(r + 1) * span * dim];
            let d_row = &d_out[r * filters..(r + 1) * filters];
            let args = &forward.argmax[r * filters..(r + 1) * filters];
            d_e.iter_mut().for_each(|v| *v = 0.0);
            for f in 0..filters {
                let (g, i) = (d_row[f], args[f]);
                if i == u32::MAX || g == 0.0 {
                    continue;
                }
                grads.d_bias[f] += g;
                // The window at `i` is e[i·dim .. (i + kernel)·dim].
                let at = i as usize * dim;
                let window = &e[at..at + cols];
                for (d_w, &x) in d_weight[f * cols..(f + 1) * cols].iter_mut().zip(window) {
                    *d_w += g * x;
                }
                for (d_x, &w) in d_e[at..at + cols]
                    .iter_mut()
                    .zip(&by_filter[f * cols..(f + 1) * cols])
                {
                    *d_x += g * w;
                }
            }
            for q in 0..batch.width {
                let at = word * batch.width + q;
                let id = batch.ids[at] as usize;
                let d_row = &d_e[(pad + q) * dim..(pad + q + 1) * dim];
                let table = &mut grads.d_embedding[id * dim..(id + 1) * dim];
                match batch.mask {
                    Some(mask) => {
                        for ((t, &g), &m) in table
                            .iter_mut()
                            .zip(d_row)
                            .zip(&mask[at * dim..(at + 1) * dim])
                        {
                            *t += g * m;
                        }
                    }
                    None => {
                        for (t, &g) in table.iter_mut().zip(d_row) {
                            *t += g;
                        }
                    }
                }
            }
        }
        for (i, w) in self.window_order() {
            grads.d_weight[i] = d_weight[w];
        }
        grads
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
                let got = case.cnn().forward(&batch, false).out;
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
                let out = case.cnn().forward(&batch, false).out;
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
            let forward = case.cnn().forward(&batch, true);
            let grads = case.cnn().backward(&batch, &forward, &c);
            let eps = 1e-4f32;
            let mut check = |name: &str, get: fn(&mut Case) -> &mut Vec<f32>, want: &[f32]| {
                for (i, &analytic) in want.iter().enumerate() {
                    let base = get(&mut case)[i];
                    get(&mut case)[i] = base + eps;
                    let up = loss(&case);
                    get(&mut case)[i] = base - eps;
                    let down = loss(&case);
                    get(&mut case)[i] = base;
                    let numeric = (up - down) / (2.0 * f64::from(eps));
                    assert!(
                        (numeric - f64::from(analytic)).abs() < 2e-3,
                        "kernel {kernel} {name}[{i}]: numeric {numeric} vs {analytic}"
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
