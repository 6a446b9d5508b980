//! A word's features from its characters: the character CNN (Ma & Hovy
//! 2016) forward and backward, as libtorch's `conv1d` (zero padding
//! `kernel / 2`), ReLU and maximum over positions compute it (a word's
//! characters padded to the batch's `width` with `<PAD>`, id 0, each looked
//! up in the character table and scaled by its dropout mask); the character
//! BiLSTM (Lample et al. 2016) forward ([`CharLstm`]); and the four casing
//! classes of a word ([`CharClasses`]).

use crate::math::linear;
use crate::recurrent::{Cell, Packing, Recurrence};

/// Case flags per character id, from the character vocabulary.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CharClasses {
    /// `upper[id]`, `lower[id]`: whether the character is upper/lower case.
    pub upper: Vec<bool>,
    pub lower: Vec<bool>,
}

/// Casing classes: 0 no upper-case letter, 1 no lower-case letter (but some
/// upper-case), 2 first character upper-case, 3 anything else (mixed).
pub const CASING_CLASSES: usize = 4;

impl CharClasses {
    /// Flags for the characters of a vocabulary, in id order.
    pub fn from_chars<'a>(chars: impl Iterator<Item = &'a str>) -> Self {
        let mut out = CharClasses::default();
        for key in chars {
            // Specials (`<PAD>`, `<UNK>`) are longer than one character.
            let single = {
                let mut it = key.chars();
                match (it.next(), it.next()) {
                    (Some(c), None) => Some(c),
                    _ => None,
                }
            };
            out.upper.push(single.is_some_and(char::is_uppercase));
            out.lower.push(single.is_some_and(char::is_lowercase));
        }
        out
    }

    /// The casing class of a word from its character ids (0 = padding):
    /// 0 no upper-case letter; 1 upper-case letters but no lower-case; 2 the
    /// first character upper-case (and some lower-case); 3 anything else.
    /// Ids outside the vocabulary count as neither.
    pub fn casing(&self, char_ids: &[i64]) -> i64 {
        let flag = |flags: &[bool], id: i64| {
            usize::try_from(id)
                .ok()
                .and_then(|i| flags.get(i))
                .copied()
                .unwrap_or(false)
        };
        let has_upper = char_ids.iter().any(|&c| flag(&self.upper, c));
        let has_lower = char_ids.iter().any(|&c| flag(&self.lower, c));
        let first_upper = char_ids.first().is_some_and(|&c| flag(&self.upper, c));
        match (has_upper, has_lower, first_upper) {
            (false, _, _) => 0,
            (true, false, _) => 1,
            (true, true, true) => 2,
            (true, true, false) => 3,
        }
    }
}

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
        if !keep && batch.mask.is_none() {
            return self.forward_unmasked(batch);
        }
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

    /// The forward pass without a mask and without keeping anything (in
    /// inference): the same values, computing each word's windows only up
    /// to `length + pad`. From there on a word's windows hold only `<PAD>`
    /// and the convolution's zeros, exactly as an empty word's windows do,
    /// so their maximum is the empty word's maximum from that position to
    /// the end, computed once.
    fn forward_unmasked(&self, batch: &CharBatch<'_>) -> CnnForward {
        let (dim, filters, kernel) = (self.dim, self.filters(), self.kernel);
        let pad = kernel / 2;
        let cols = dim * kernel;
        let (span, n_pos) = (self.span(batch.width), self.positions(batch.width));
        let words = batch.rows.len();
        let mut out = vec![0f32; words * filters];
        if n_pos == 0 || filters == 0 || words == 0 {
            return CnnForward {
                out,
                argmax: Vec::new(),
                embedded: Vec::new(),
            };
        }
        let weight = self.filters_by_window();
        // The empty word's windows, and `tail[i]`: their maximum over `i..`.
        let empty_ids = vec![0i64; batch.width];
        let empty = CharBatch {
            ids: &empty_ids,
            width: batch.width,
            mask: None,
            rows: &[0],
        };
        let mut e = vec![0f32; span * dim];
        self.embed(&empty, 0, &mut e);
        let mut tail = vec![0f32; n_pos * filters];
        for row in tail.chunks_exact_mut(filters) {
            row.copy_from_slice(self.bias);
        }
        crate::math::matmul_windows(n_pos, cols, filters, (&e, dim), &weight, 1.0, &mut tail);
        for i in (0..n_pos - 1).rev() {
            let (now, later) = tail.split_at_mut((i + 1) * filters);
            for (a, &b) in now[i * filters..].iter_mut().zip(&later[..filters]) {
                *a = a.max(b);
            }
        }
        // Windows each word computes: up to `length + pad`.
        let computed = |word: usize| {
            let ids = &batch.ids[word * batch.width..(word + 1) * batch.width];
            let length = ids.iter().rposition(|&c| c != 0).map_or(0, |p| p + 1);
            (length + pad).min(n_pos)
        };
        let mut buffer = Vec::new();
        let mut conv = Vec::new();
        let mut start = 0;
        while start < words {
            // A block of words whose computed windows' rows lie one after another.
            let (mut end, mut rows) = (start, 0);
            while end < words && (rows < BLOCK || end == start) {
                rows += computed(batch.rows[end]) + kernel - 1;
                end += 1;
            }
            buffer.clear();
            buffer.resize(rows * dim, 0.0);
            let mut at = 0;
            for &word in &batch.rows[start..end] {
                let n = computed(word) + kernel - 1;
                self.embed(batch, word, &mut e);
                buffer[at * dim..(at + n) * dim].copy_from_slice(&e[..n * dim]);
                at += n;
            }
            let windows = rows + 1 - kernel;
            conv.clear();
            conv.resize(windows * filters, 0.0);
            for row in conv.chunks_exact_mut(filters) {
                row.copy_from_slice(self.bias);
            }
            crate::math::matmul_windows(
                windows,
                cols,
                filters,
                (&buffer, dim),
                &weight,
                1.0,
                &mut conv,
            );
            let mut at = 0;
            for (w, &word) in batch.rows[start..end].iter().enumerate() {
                let n = computed(word);
                let best = &mut out[(start + w) * filters..(start + w + 1) * filters];
                if n < n_pos {
                    best.copy_from_slice(&tail[n * filters..(n + 1) * filters]);
                } else {
                    best.fill(f32::NEG_INFINITY);
                }
                for values in conv[at * filters..(at + n) * filters].chunks_exact(filters) {
                    for (b, &v) in best.iter_mut().zip(values) {
                        *b = b.max(v);
                    }
                }
                // max(relu(x)) = relu(max(x)).
                best.iter_mut().for_each(|v| *v = v.max(0.0));
                at += n + kernel - 1;
            }
            start = end;
        }
        CnnForward {
            out,
            argmax: Vec::new(),
            embedded: Vec::new(),
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

/// One direction of a character LSTM: `w_ih` `[4·hidden, dim]`, `w_hh`
/// `[4·hidden, hidden]` and `bias` = `b_ih + b_hh` (libtorch's layouts).
#[derive(Debug, Clone, Copy)]
pub struct LstmDirection<'a> {
    pub w_ih: &'a [f32],
    pub w_hh: &'a [f32],
    pub bias: &'a [f32],
}

/// The character BiLSTM of a word (Lample et al. 2016): the forward
/// direction's state after the last character beside the backward
/// direction's after the first, in inference (no dropout).
#[derive(Debug, Clone, Copy)]
pub struct CharLstm<'a> {
    pub dim: usize,
    pub hidden: usize,
    /// `[chars, dim]`.
    pub embedding: &'a [f32],
    pub forward: LstmDirection<'a>,
    pub backward: LstmDirection<'a>,
}

impl CharLstm<'_> {
    /// Features `[words, 2·hidden]` of words given as character ids; a word
    /// without characters reads `<PAD>` once, as the batches have it.
    pub fn features(&self, words: &[&[i64]]) -> Vec<f32> {
        let (dim, h) = (self.dim, self.hidden);
        let padded: Vec<&[i64]> = words
            .iter()
            .map(|w| if w.is_empty() { &[0i64][..] } else { w })
            .collect();
        let lengths: Vec<usize> = padded.iter().map(|w| w.len()).collect();
        let packing = Packing::new(&lengths);
        let mut starts = Vec::with_capacity(lengths.len());
        let mut x = Vec::with_capacity(packing.tokens() * dim);
        for word in &padded {
            starts.push(x.len() / dim);
            for &c in word.iter() {
                let c = c as usize;
                x.extend_from_slice(&self.embedding[c * dim..(c + 1) * dim]);
            }
        }
        let mut features = vec![0f32; words.len() * 2 * h];
        for (d, w) in [self.forward, self.backward].into_iter().enumerate() {
            let positions = packing.positions_from(&starts, d == 1);
            let packed = crate::recurrent::gather_rows(&x, &positions, dim);
            let xg = linear(positions.len(), dim, &packed, w.w_ih, w.bias);
            let layer = Recurrence {
                cell: Cell::Lstm,
                hidden: h,
                w_hh: w.w_hh,
                w_hh_t: None,
                b_hh: &[],
            };
            let out = crate::recurrent::scatter_rows(
                &layer.forward(&packing, &xg, false).out,
                &positions,
                packing.tokens(),
                h,
            );
            for (i, (&start, &len)) in starts.iter().zip(&lengths).enumerate() {
                // Forward: after the last character; backward: after reading
                // back to the first.
                let at = if d == 0 { start + len - 1 } else { start };
                features[(i * 2 + d) * h..(i * 2 + d + 1) * h]
                    .copy_from_slice(&out[at * h..(at + 1) * h]);
            }
        }
        features
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::recurrent::tests::values;

    #[test]
    fn casing_classes_of_words() {
        // ids: 0 <PAD>, 1 <UNK>, 2 'a', 3 'B', 4 '1'
        let classes = CharClasses::from_chars(["<PAD>", "<UNK>", "a", "B", "1"].into_iter());
        assert_eq!(classes.upper, [false, false, false, true, false]);
        assert_eq!(classes.lower, [false, false, true, false, false]);
        // "aa", "BB", "Ba", "aB", "11", "", an id outside the vocabulary
        let words: [&[i64]; 7] = [&[2, 2], &[3, 3], &[3, 2], &[2, 3], &[4, 4], &[], &[3, 9]];
        let got: Vec<i64> = words.iter().map(|w| classes.casing(w)).collect();
        assert_eq!(got, [0, 1, 2, 3, 0, 0, 1]);
    }

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
                // Inference's shortcut past each word's end gives the kept
                // pass's values, bit for bit.
                let kept = case.cnn().forward(&batch, true).out;
                let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                assert_eq!(bits(&got), bits(&kept), "kernel {kernel}");
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
