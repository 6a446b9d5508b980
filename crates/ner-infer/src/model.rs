//! The tagger's forward pass and decoding on plain `f32` arrays.
//!
//! The same function as `ner_train::model::Tagger` in inference mode (no
//! dropout), from the same weights file: word input (one-hot rows of the
//! first layer's input gates, or an embedding with character features and
//! casing), stacked one- or two-directional RNN (tanh), GRU (and its two
//! gate-fixed variants) or LSTM layers, a linear layer, then argmax or CRF
//! Viterbi. The backward direction reads each sentence from its last token,
//! so padding never exists: sentences of a batch are sorted longest first
//! and step `t` updates only the rows still running (the first ones).
//!
//! One quirk is kept on purpose: the character CNN (as in training) pools
//! over the batch's character width, padding included, so a word's features
//! depend on the longest word of its batch. [`Model::tag`] forms the batches
//! exactly as the libtorch predictor did (`batch_size` sentences, longest
//! first), so both give the same tags.

use std::collections::HashMap;

use ner_model::card::TaggerSpec;
use ner_model::chars::{CharClasses, CASING_CLASSES};
use ner_model::config::{Cell, CharEncoder, ModelConfig, OutputLayer, WordInput};
use ner_model::crf::{Penalties, Scores};

use crate::weights::{Table, Weights};
use crate::InferError;
use ner_kernels::math::{gru_cell, linear, linear_into, lstm_cell, matmul_wt, tanh_in_place};

/// One sentence's ids: words, and the characters of each word.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sentence {
    pub words: Vec<i64>,
    /// One list per word (may be empty for models without character
    /// features or casing).
    pub chars: Vec<Vec<i64>>,
}

/// One direction of one recurrent layer.
#[derive(Debug)]
struct Recurrent {
    /// `[gates·hidden, in]`; `None` for one-hot layer 0, whose table holds
    /// `x·W_ihᵀ` already.
    w_ih: Option<Vec<f32>>,
    /// `[gates·hidden, hidden]`.
    w_hh: Vec<f32>,
    /// Added to `x·W_ihᵀ`: `b_ih`, and `b_hh` too for RNN and LSTM.
    bias_x: Vec<f32>,
    /// GRU only: `b_hh`, added to `h·W_hhᵀ` (the candidate gates it by `r`).
    b_hh: Vec<f32>,
}

impl Recurrent {
    fn load(
        w: &Weights,
        prefix: &str,
        suffix: &str,
        cell: Cell,
        hidden: usize,
        input: Option<usize>,
    ) -> Result<Self, InferError> {
        let rows = gates(cell) * hidden;
        let w_ih = match input {
            Some(dim) => Some(w.tensor(&format!("{prefix}weight_ih_{suffix}"), &[rows, dim])?),
            None => None,
        };
        let w_hh = w.tensor(&format!("{prefix}weight_hh_{suffix}"), &[rows, hidden])?;
        let b_ih = w.tensor(&format!("{prefix}bias_ih_{suffix}"), &[rows])?;
        let b_hh = w.tensor(&format!("{prefix}bias_hh_{suffix}"), &[rows])?;
        Ok(if matches!(cell, Cell::Rnn | Cell::Lstm) {
            Recurrent {
                w_ih,
                w_hh,
                bias_x: b_ih.iter().zip(&b_hh).map(|(a, b)| a + b).collect(),
                b_hh: Vec::new(),
            }
        } else {
            Recurrent {
                w_ih,
                w_hh,
                bias_x: b_ih,
                b_hh,
            }
        })
    }

    /// `x·W_ihᵀ + bias_x` for `rows` inputs `x` (`[rows, in]`).
    fn input_gates(&self, x: &[f32], rows: usize, input: usize) -> Vec<f32> {
        let w_ih = self.w_ih.as_deref().unwrap_or(&[]);
        linear(rows, input, x, w_ih, &self.bias_x)
    }
}

fn gates(cell: Cell) -> usize {
    cell.gates() as usize
}

#[derive(Debug)]
enum Words {
    /// Per direction, `[vocab, gates·hidden]`.
    Onehot(Vec<Table>),
    Embedding(Table),
}

#[derive(Debug)]
enum CharNet {
    Cnn {
        /// `[chars, dim]`.
        embedding: Vec<f32>,
        dim: usize,
        kernel: usize,
        /// `[filters, dim·kernel]` (libtorch's `[filters, dim, kernel]`).
        weight: Vec<f32>,
        bias: Vec<f32>,
    },
    Lstm {
        embedding: Vec<f32>,
        dim: usize,
        hidden: usize,
        dirs: Vec<Recurrent>,
    },
}

/// Sequences sorted longest first, laid out one after another.
#[derive(Debug)]
struct Packed {
    lens: Vec<usize>,
    offsets: Vec<usize>,
    total: usize,
}

impl Packed {
    fn new(lens: Vec<usize>) -> Self {
        debug_assert!(lens.windows(2).all(|w| w[0] >= w[1]), "longest first");
        let mut offsets = Vec::with_capacity(lens.len());
        let mut total = 0;
        for &len in &lens {
            offsets.push(total);
            total += len;
        }
        Packed {
            lens,
            offsets,
            total,
        }
    }
}

/// Where a direction's input gates come from.
enum GateSource<'a> {
    /// `[total, gates·hidden]`, bias included.
    Computed(&'a [f32]),
    /// `[distinct, gates·hidden]` (bias included) and each token's row.
    Gathered { rows: &'a [f32], index: &'a [usize] },
    /// Rows of a one-hot table by token id, plus the bias.
    Table {
        table: &'a Table,
        ids: &'a [i64],
        bias: &'a [f32],
    },
}

/// A trained tagger, ready to run on the CPU.
#[derive(Debug)]
pub struct Model {
    cell: Cell,
    hidden: usize,
    n_dirs: usize,
    words: Words,
    n_words: usize,
    n_chars: usize,
    chars: Option<CharNet>,
    /// Casing classes and `[4, dim]`.
    casing: Option<(CharClasses, Vec<f32>)>,
    /// `layers[l][d]`.
    layers: Vec<Vec<Recurrent>>,
    /// `[tags, hidden·dirs]`.
    output_w: Vec<f32>,
    output_b: Vec<f32>,
    crf: Option<Scores>,
    n_tags: usize,
    max_word_chars: usize,
    word_dim: usize,
}

impl Model {
    /// The model `config` describes over the vocabularies of `spec`, with its
    /// weights from `weights` (names and shapes checked). Words keep at most
    /// `max_word_chars` characters (the batches' setting at training time).
    pub fn load(
        config: &ModelConfig,
        spec: &TaggerSpec,
        weights: &Weights,
        max_word_chars: usize,
    ) -> Result<Self, InferError> {
        let positive = |v: i64| usize::try_from(v).unwrap_or(0);
        let cell = config.cell;
        let hidden = positive(config.hidden);
        let n_dirs = if config.bidirectional { 2 } else { 1 };
        let (n_words, n_chars) = (positive(spec.n_words), positive(spec.n_chars));
        let n_tags = spec.tags.len();
        let g = gates(cell) * hidden;
        let suffix = |l: usize, d: usize| format!("l{l}{}", if d == 0 { "" } else { "_reverse" });

        let words = match config.input {
            WordInput::Onehot => Words::Onehot(
                (0..n_dirs)
                    .map(|d| {
                        weights.table(&format!("onehot.weight_ih_{}", suffix(0, d)), n_words, g)
                    })
                    .collect::<Result<_, _>>()?,
            ),
            WordInput::Embedding => Words::Embedding(weights.table(
                "embedding.weight",
                n_words,
                positive(config.embedding_dim),
            )?),
        };
        let char_dim = positive(config.char_dim);
        let char_hidden = positive(config.char_hidden);
        let chars = match config.chars {
            CharEncoder::None => None,
            CharEncoder::Cnn => {
                let kernel = positive(config.char_kernel);
                Some(CharNet::Cnn {
                    embedding: weights.tensor("chars.embedding.weight", &[n_chars, char_dim])?,
                    dim: char_dim,
                    kernel,
                    weight: weights
                        .tensor("chars.conv.weight", &[char_hidden, char_dim, kernel])?,
                    bias: weights.tensor("chars.conv.bias", &[char_hidden])?,
                })
            }
            CharEncoder::Lstm => Some(CharNet::Lstm {
                embedding: weights.tensor("chars.embedding.weight", &[n_chars, char_dim])?,
                dim: char_dim,
                hidden: char_hidden,
                dirs: (0..2)
                    .map(|d| {
                        Recurrent::load(
                            weights,
                            "chars.lstm.",
                            &suffix(0, d),
                            Cell::Lstm,
                            char_hidden,
                            Some(char_dim),
                        )
                    })
                    .collect::<Result<_, _>>()?,
            }),
        };
        let casing_dim = positive(config.casing_dim);
        let casing = if casing_dim > 0 {
            Some((
                spec.char_classes.clone(),
                weights.tensor(
                    "casing.embedding.weight",
                    &[CASING_CLASSES as usize, casing_dim],
                )?,
            ))
        } else {
            None
        };
        let char_out = match config.chars {
            CharEncoder::None => 0,
            CharEncoder::Cnn => char_hidden,
            CharEncoder::Lstm => 2 * char_hidden,
        };
        let word_dim = positive(config.embedding_dim) + char_out + casing_dim;
        let mut layers = Vec::new();
        for l in 0..positive(config.layers) {
            let input = match (l, config.input) {
                (0, WordInput::Onehot) => None,
                (0, WordInput::Embedding) => Some(word_dim),
                _ => Some(hidden * n_dirs),
            };
            layers.push(
                (0..n_dirs)
                    .map(|d| Recurrent::load(weights, "rnn.", &suffix(l, d), cell, hidden, input))
                    .collect::<Result<Vec<_>, _>>()?,
            );
        }
        let crf = match config.output {
            OutputLayer::Softmax => None,
            OutputLayer::Crf => Some(Scores::new(
                &weights.tensor("crf.transitions", &[n_tags, n_tags])?,
                &weights.tensor("crf.start", &[n_tags])?,
                &weights.tensor("crf.end", &[n_tags])?,
                &Penalties::for_scheme(&spec.tags, spec.scheme),
            )),
        };
        Ok(Model {
            cell,
            hidden,
            n_dirs,
            words,
            n_words,
            n_chars,
            chars,
            casing,
            layers,
            output_w: weights.tensor("output.weight", &[n_tags, hidden * n_dirs])?,
            output_b: weights.tensor("output.bias", &[n_tags])?,
            crf,
            n_tags,
            max_word_chars: max_word_chars.max(1),
            word_dim,
        })
    }

    pub fn n_tags(&self) -> usize {
        self.n_tags
    }

    /// Whether the model reads the characters of words (character features
    /// or casing); [`Sentence::chars`] may be left empty when it does not.
    pub fn reads_chars(&self) -> bool {
        self.chars.is_some() || self.casing.is_some()
    }

    /// The best tag ids of each sentence (argmax, or Viterbi with a CRF), in
    /// input order. Sentences are run `batch_size` at a time, longest first,
    /// the batches spread over `threads` threads.
    pub fn tag(
        &self,
        sentences: &[Sentence],
        batch_size: usize,
        threads: usize,
    ) -> Result<Vec<Vec<i64>>, InferError> {
        self.check(sentences)?;
        let mut order: Vec<usize> = (0..sentences.len())
            .filter(|&i| !sentences[i].words.is_empty())
            .collect();
        order.sort_by_key(|&i| std::cmp::Reverse(sentences[i].words.len()));
        let batches: Vec<&[usize]> = order.chunks(batch_size.max(1)).collect();
        let next = std::sync::atomic::AtomicUsize::new(0);
        let run = || {
            let mut done = Vec::new();
            loop {
                let b = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(&batch) = batches.get(b) else {
                    return done;
                };
                let group: Vec<&Sentence> = batch.iter().map(|&i| &sentences[i]).collect();
                let emissions = self.batch_emissions(&group);
                done.push((b, self.decode(&group, &emissions)));
            }
        };
        let threads = threads.clamp(1, batches.len().max(1));
        let mut results: Vec<(usize, Vec<Vec<i64>>)> = if threads == 1 {
            run()
        } else {
            std::thread::scope(|s| {
                let handles: Vec<_> = (0..threads).map(|_| s.spawn(run)).collect();
                handles
                    .into_iter()
                    .flat_map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
                    .collect()
            })
        };
        results.sort_by_key(|(b, _)| *b);
        let mut out = vec![Vec::new(); sentences.len()];
        for ((_, paths), batch) in results.into_iter().zip(&batches) {
            for (path, &i) in paths.into_iter().zip(batch.iter()) {
                out[i] = path;
            }
        }
        Ok(out)
    }

    /// Tag scores (`[len, tags]` row-major) of each sentence, the sentences
    /// taken as one batch.
    pub fn emissions(&self, sentences: &[Sentence]) -> Result<Vec<Vec<f32>>, InferError> {
        self.check(sentences)?;
        let mut order: Vec<usize> = (0..sentences.len()).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(sentences[i].words.len()));
        let group: Vec<&Sentence> = order.iter().map(|&i| &sentences[i]).collect();
        let flat = self.batch_emissions(&group);
        let mut out = vec![Vec::new(); sentences.len()];
        let mut at = 0;
        for (&i, s) in order.iter().zip(&group) {
            let len = s.words.len() * self.n_tags;
            out[i] = flat[at..at + len].to_vec();
            at += len;
        }
        Ok(out)
    }

    fn check(&self, sentences: &[Sentence]) -> Result<(), InferError> {
        let needs_chars = self.reads_chars();
        for (i, s) in sentences.iter().enumerate() {
            if let Some(&id) = s
                .words
                .iter()
                .find(|&&id| usize::try_from(id).map_or(true, |id| id >= self.n_words))
            {
                return Err(InferError::Input(format!(
                    "sentence {i}: word id {id} is outside the model's {} words",
                    self.n_words
                )));
            }
            if needs_chars && s.chars.len() != s.words.len() {
                return Err(InferError::Input(format!(
                    "sentence {i}: {} words but characters for {}",
                    s.words.len(),
                    s.chars.len()
                )));
            }
            let bad_char = s
                .chars
                .iter()
                .flatten()
                .find(|&&id| usize::try_from(id).map_or(true, |id| id >= self.n_chars));
            if let (true, Some(&id)) = (needs_chars, bad_char) {
                return Err(InferError::Input(format!(
                    "sentence {i}: character id {id} is outside the model's {} characters",
                    self.n_chars
                )));
            }
        }
        Ok(())
    }

    /// `[tokens, tags]` for sentences sorted longest first.
    fn batch_emissions(&self, group: &[&Sentence]) -> Vec<f32> {
        let packed = Packed::new(group.iter().map(|s| s.words.len()).collect());
        let ids: Vec<i64> = group.iter().flat_map(|s| s.words.iter().copied()).collect();
        let h = self.hidden;
        let width = h * self.n_dirs;
        // With an embedding, layer 0's input depends only on the token (its
        // word id and characters): computed once per distinct token.
        let (unique_x, index) = match &self.words {
            Words::Embedding(table) => self.distinct_word_features(group, table),
            Words::Onehot(_) => (Vec::new(), Vec::new()),
        };
        let distinct = unique_x.len() / self.word_dim.max(1);
        let mut x = Vec::new();
        for (l, dirs) in self.layers.iter().enumerate() {
            let mut out = vec![0f32; packed.total * width];
            for (d, w) in dirs.iter().enumerate() {
                let computed;
                let source = match (&self.words, l) {
                    (Words::Onehot(tables), 0) => GateSource::Table {
                        table: &tables[d],
                        ids: &ids,
                        bias: &w.bias_x,
                    },
                    (Words::Embedding(_), 0) => {
                        computed = w.input_gates(&unique_x, distinct, self.word_dim);
                        GateSource::Gathered {
                            rows: &computed,
                            index: &index,
                        }
                    }
                    _ => {
                        computed = w.input_gates(&x, packed.total, width);
                        GateSource::Computed(&computed)
                    }
                };
                run_direction(
                    self.cell,
                    h,
                    &packed,
                    d == 1,
                    &source,
                    w,
                    &mut out,
                    width,
                    d * h,
                );
            }
            x = out;
        }
        linear(packed.total, width, &x, &self.output_w, &self.output_b)
    }

    /// The word features (embedding, character features, casing;
    /// `[distinct, word_dim]`) of the distinct tokens of a batch, and for
    /// each token the row of its features.
    fn distinct_word_features(&self, group: &[&Sentence], table: &Table) -> (Vec<f32>, Vec<usize>) {
        let with_chars = self.reads_chars();
        // The batch's character width, as the libtorch batches had it.
        let char_width = group
            .iter()
            .flat_map(|s| s.chars.iter().map(Vec::len))
            .max()
            .unwrap_or(1)
            .clamp(1, self.max_word_chars);
        let mut rows: HashMap<(i64, &[i64]), usize> = HashMap::new();
        let mut distinct: Vec<(i64, &[i64])> = Vec::new();
        let mut index = Vec::with_capacity(group.iter().map(|s| s.words.len()).sum());
        for s in group {
            for (t, &word) in s.words.iter().enumerate() {
                let chars: &[i64] = match s.chars.get(t) {
                    Some(c) if with_chars => &c[..c.len().min(char_width)],
                    _ => &[],
                };
                let row = *rows.entry((word, chars)).or_insert_with(|| {
                    distinct.push((word, chars));
                    distinct.len() - 1
                });
                index.push(row);
            }
        }
        let dim = self.word_dim;
        let emb = table.cols();
        let mut x = vec![0f32; distinct.len() * dim];
        for (row, &(id, _)) in x.chunks_exact_mut(dim).zip(&distinct) {
            table.row(id as usize, &mut row[..emb]);
        }
        let words: Vec<&[i64]> = distinct.iter().map(|&(_, c)| c).collect();
        let mut at = emb;
        if let Some(chars) = &self.chars {
            let (features, n) = char_features(chars, &words, char_width);
            for (row, f) in x.chunks_exact_mut(dim).zip(features.chunks_exact(n)) {
                row[at..at + n].copy_from_slice(f);
            }
            at += n;
        }
        if let Some((classes, table)) = &self.casing {
            let n = dim - at;
            for (row, word) in x.chunks_exact_mut(dim).zip(&words) {
                let class = classes.casing(word) as usize;
                row[at..].copy_from_slice(&table[class * n..(class + 1) * n]);
            }
        }
        (x, index)
    }

    /// Each sentence's path from its emission rows.
    fn decode(&self, group: &[&Sentence], emissions: &[f32]) -> Vec<Vec<i64>> {
        let k = self.n_tags;
        let mut at = 0;
        group
            .iter()
            .map(|s| {
                let rows = &emissions[at * k..(at + s.words.len()) * k];
                at += s.words.len();
                match &self.crf {
                    Some(scores) => scores.best_path(rows),
                    None => rows.chunks_exact(k).map(argmax).collect(),
                }
            })
            .collect()
    }
}

/// The first index of the largest value (libtorch's `argmax`).
fn argmax(row: &[f32]) -> i64 {
    let mut best = 0;
    for (j, &v) in row.iter().enumerate() {
        if v > row[best] {
            best = j;
        }
    }
    best as i64
}

/// One direction of one layer over packed sequences: writes each step's
/// state to `out[pos·stride + col ..][..hidden]`.
#[allow(clippy::too_many_arguments)]
fn run_direction(
    cell: Cell,
    hidden: usize,
    packed: &Packed,
    reverse: bool,
    source: &GateSource<'_>,
    w: &Recurrent,
    out: &mut [f32],
    stride: usize,
    col: usize,
) {
    let rows = packed.lens.len();
    let g = gates(cell) * hidden;
    let mut step = vec![0f32; rows * g];
    let mut hg = if w.b_hh.is_empty() {
        Vec::new()
    } else {
        vec![0f32; rows * g]
    };
    let mut h = vec![0f32; rows * hidden];
    let mut c = if cell == Cell::Lstm {
        vec![0f32; rows * hidden]
    } else {
        Vec::new()
    };
    let mut active = rows;
    let steps = packed.lens.first().copied().unwrap_or(0);
    let position =
        |b: usize, t: usize| packed.offsets[b] + if reverse { packed.lens[b] - 1 - t } else { t };
    for t in 0..steps {
        while active > 0 && packed.lens[active - 1] <= t {
            active -= 1;
        }
        for (b, gates) in step[..active * g].chunks_exact_mut(g).enumerate() {
            let pos = position(b, t);
            match source {
                GateSource::Computed(x) => gates.copy_from_slice(&x[pos * g..(pos + 1) * g]),
                GateSource::Gathered { rows, index } => {
                    let row = index[pos];
                    gates.copy_from_slice(&rows[row * g..(row + 1) * g]);
                }
                GateSource::Table { table, ids, bias } => {
                    table.row_plus(ids[pos] as usize, bias, gates)
                }
            }
        }
        let h_act = &mut h[..active * hidden];
        match cell {
            Cell::Rnn => {
                matmul_wt(active, hidden, g, h_act, &w.w_hh, 1.0, &mut step);
                tanh_in_place(&mut step[..active * g]);
                h_act.copy_from_slice(&step[..active * g]);
            }
            Cell::Lstm => {
                matmul_wt(active, hidden, g, h_act, &w.w_hh, 1.0, &mut step);
                for ((gates, c), h) in step
                    .chunks_exact_mut(g)
                    .zip(c.chunks_exact_mut(hidden))
                    .zip(h_act.chunks_exact_mut(hidden))
                {
                    lstm_cell(gates, c, h);
                }
            }
            Cell::Gru | Cell::GruNoReset | Cell::GruNoUpdate => {
                linear_into(active, hidden, h_act, &w.w_hh, &w.b_hh, &mut hg);
                let (reset, update) = (cell != Cell::GruNoReset, cell != Cell::GruNoUpdate);
                for ((x, hg), h) in step
                    .chunks_exact(g)
                    .zip(hg.chunks_exact_mut(g))
                    .zip(h_act.chunks_exact_mut(hidden))
                {
                    gru_cell(x, hg, h, reset, update);
                }
            }
        }
        for (b, state) in h[..active * hidden].chunks_exact(hidden).enumerate() {
            let at = position(b, t) * stride + col;
            out[at..at + hidden].copy_from_slice(state);
        }
    }
}

/// Character features of `words` (character ids, at most `width` each):
/// `[words, n]` and `n`.
fn char_features(net: &CharNet, words: &[&[i64]], width: usize) -> (Vec<f32>, usize) {
    match net {
        CharNet::Cnn {
            embedding,
            dim,
            kernel,
            weight,
            bias,
        } => {
            let (dim, kernel) = (*dim, *kernel);
            let filters = bias.len();
            let pad = kernel / 2;
            let out_len = width + 2 * pad + 1 - kernel;
            let cols = dim * kernel;
            // Row `i` of a word's unfolded input: the embeddings of positions
            // i − pad .. i − pad + kernel, <PAD> (id 0) past the word's end,
            // zeros (the convolution's padding) outside [0, width).
            let unfold = |word: &[i64], i: usize, row: &mut [f32]| {
                row.iter_mut().for_each(|v| *v = 0.0);
                for j in 0..kernel {
                    let Some(p) = (i + j).checked_sub(pad).filter(|&p| p < width) else {
                        continue;
                    };
                    let id = word.get(p).copied().unwrap_or(0) as usize;
                    for (dd, &v) in embedding[id * dim..][..dim].iter().enumerate() {
                        row[dd * kernel + j] = v;
                    }
                }
            };
            let convolve = |rows: usize, unfolded: &[f32], conv: &mut Vec<f32>| {
                conv.resize(rows * filters, 0.0);
                linear_into(rows, cols, unfolded, weight, bias, conv);
            };
            // From position len + pad on, a word's windows hold only <PAD>
            // and zeros, exactly as an empty word's do: their maximum is the
            // empty word's maximum from that position to the end.
            let mut unfolded = vec![0f32; out_len * cols];
            for (i, row) in unfolded.chunks_exact_mut(cols).enumerate() {
                unfold(&[], i, row);
            }
            let mut tail = Vec::new();
            convolve(out_len, &unfolded, &mut tail);
            for i in (0..out_len.saturating_sub(1)).rev() {
                let (now, later) = tail.split_at_mut((i + 1) * filters);
                for (a, &b) in now[i * filters..].iter_mut().zip(&later[..filters]) {
                    *a = a.max(b);
                }
            }
            let mut features = vec![0f32; words.len() * filters];
            let mut conv = Vec::new();
            // Words in blocks of about 4096 computed positions.
            let mut start = 0;
            while start < words.len() {
                let mut end = start;
                let mut rows = 0;
                while end < words.len() && (rows < 4096 || end == start) {
                    rows += (words[end].len() + pad).min(out_len);
                    end += 1;
                }
                unfolded.resize(rows * cols, 0.0);
                let mut at = 0;
                for word in &words[start..end] {
                    for i in 0..(word.len() + pad).min(out_len) {
                        unfold(word, i, &mut unfolded[at * cols..(at + 1) * cols]);
                        at += 1;
                    }
                }
                convolve(rows, &unfolded, &mut conv);
                let mut at = 0;
                for (w, word) in words[start..end].iter().enumerate() {
                    let n = (word.len() + pad).min(out_len);
                    let f = &mut features[(start + w) * filters..][..filters];
                    f.copy_from_slice(if n < out_len {
                        &tail[n * filters..(n + 1) * filters]
                    } else {
                        &conv[at * filters..(at + 1) * filters]
                    });
                    for p in conv[at * filters..(at + n) * filters].chunks_exact(filters) {
                        for (a, &v) in f.iter_mut().zip(p) {
                            *a = a.max(v);
                        }
                    }
                    // max(relu(x)) = relu(max(x)).
                    f.iter_mut().for_each(|v| *v = v.max(0.0));
                    at += n;
                }
                start = end;
            }
            (features, filters)
        }
        CharNet::Lstm {
            embedding,
            dim,
            hidden,
            dirs,
        } => {
            let (dim, hidden) = (*dim, *hidden);
            // A word without characters reads <PAD> once, as the batches have it.
            let padded: Vec<&[i64]> = words
                .iter()
                .map(|w| if w.is_empty() { &[0i64][..] } else { w })
                .collect();
            let mut order: Vec<usize> = (0..padded.len()).collect();
            order.sort_by_key(|&i| std::cmp::Reverse(padded[i].len()));
            let packed = Packed::new(order.iter().map(|&i| padded[i].len()).collect());
            let mut x = Vec::with_capacity(packed.total * dim);
            for &i in &order {
                for &c in padded[i] {
                    x.extend_from_slice(&embedding[c as usize * dim..][..dim]);
                }
            }
            let mut out = vec![0f32; packed.total * 2 * hidden];
            for (d, w) in dirs.iter().enumerate() {
                let gates = w.input_gates(&x, packed.total, dim);
                let source = GateSource::Computed(&gates);
                run_direction(
                    Cell::Lstm,
                    hidden,
                    &packed,
                    d == 1,
                    &source,
                    w,
                    &mut out,
                    2 * hidden,
                    d * hidden,
                );
            }
            let n = 2 * hidden;
            let mut features = vec![0f32; words.len() * n];
            for (k, &i) in order.iter().enumerate() {
                let (at, len) = (packed.offsets[k], packed.lens[k]);
                let f = &mut features[i * n..(i + 1) * n];
                // Forward: the state after the last character; backward: after
                // reading back to the first.
                f[..hidden].copy_from_slice(&out[(at + len - 1) * n..][..hidden]);
                f[hidden..].copy_from_slice(&out[at * n + hidden..][..hidden]);
            }
            (features, n)
        }
    }
}
