//! The tagger's forward pass and decoding, built from `ner-kernels`' layers.
//!
//! The same function as `ner-train`'s tagger in inference mode (no
//! dropout), from the same weights file: word input (one-hot rows of the
//! first layer's input gates, or an embedding with character features and
//! casing), stacked one- or two-directional RNN, GRU (and its gate-fixed
//! variants) or LSTM layers, a linear layer, then argmax or CRF Viterbi.
//! A batch's sentences are packed longest first
//! ([`ner_kernels::Packing`]): no padding is computed, and the backward
//! direction reads each sentence from its last token.
//!
//! One quirk is kept on purpose: the character CNN (as in training) pools
//! over the batch's character width, padding included, so a word's features
//! depend on the longest word of its batch. [`Model::tag`] forms the batches
//! exactly as the libtorch predictor did (`batch_size` sentences, longest
//! first), so both give the same tags.

use std::collections::HashMap;

use ner_core::schema::vocab::UNK_ID;
use ner_kernels::crf::Scores;
use ner_kernels::math::{linear, linear_t, transpose};
use ner_kernels::{
    transpose_w_hh, CharBatch, CharClasses, CharCnn, CharLstm, InputGates, LstmDirection, Packing,
    Recurrence, CASING_CLASSES,
};
use ner_model::card::TaggerSpec;
use ner_model::config::{Cell, CharEncoder, ModelConfig, OutputLayer, WordInput, WordVectors};
use ner_model::crf::Penalties;

use crate::weights::{Table, Weights};
use crate::InferError;

/// Writes a packed row's input gates (see [`InputGates::Fill`]).
type FillGates<'a> = dyn Fn(usize, &mut [f32]) + Sync + 'a;

/// One sentence's ids: words, the characters of each word, and the values
/// of the source columns the model reads.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sentence {
    pub words: Vec<i64>,
    /// One list per word (may be empty for models without character
    /// features or casing).
    pub chars: Vec<Vec<i64>>,
    /// Per source column of the model (`model.columns`), an id per word.
    pub columns: Vec<Vec<i64>>,
}

/// One direction of one recurrent layer.
#[derive(Debug)]
struct Direction {
    /// `[gates·hidden, in]`; `None` for one-hot layer 0, whose table holds
    /// `x·W_ihᵀ` already.
    w_ih: Option<Vec<f32>>,
    /// `W_ihᵀ`, made once at load: the input projection's unpacked product.
    w_ih_t: Option<Vec<f32>>,
    /// `[gates·hidden, hidden]`.
    w_hh: Vec<f32>,
    /// `W_hhᵀ`, made once at load rather than in every forward pass.
    w_hh_t: Vec<f32>,
    /// Added to `x·W_ihᵀ`: `b_ih`, and `b_hh` too for RNN and LSTM.
    bias_x: Vec<f32>,
    /// GRU only: `b_hh`, added to `h·W_hhᵀ` (the candidate gates it by `r`).
    b_hh: Vec<f32>,
}

impl Direction {
    fn load(
        w: &Weights,
        prefix: &str,
        suffix: &str,
        cell: Cell,
        hidden: usize,
        input: Option<usize>,
    ) -> Result<Self, InferError> {
        let rows = cell.gates() * hidden;
        let w_ih = match input {
            Some(dim) => Some(w.tensor(&format!("{prefix}weight_ih_{suffix}"), &[rows, dim])?),
            None => None,
        };
        let w_hh = w.tensor(&format!("{prefix}weight_hh_{suffix}"), &[rows, hidden])?;
        let b_ih = w.tensor(&format!("{prefix}bias_ih_{suffix}"), &[rows])?;
        let b_hh = w.tensor(&format!("{prefix}bias_hh_{suffix}"), &[rows])?;
        let w_hh_t = transpose_w_hh(&w_hh, hidden);
        let w_ih_t = w_ih
            .as_deref()
            .zip(input)
            .map(|(w, dim)| transpose(rows, dim, w));
        Ok(if cell.is_gru() {
            Direction {
                w_ih,
                w_ih_t,
                w_hh,
                w_hh_t,
                bias_x: b_ih,
                b_hh,
            }
        } else {
            Direction {
                w_ih,
                w_ih_t,
                w_hh,
                w_hh_t,
                bias_x: b_ih.iter().zip(&b_hh).map(|(a, b)| a + b).collect(),
                b_hh: Vec::new(),
            }
        })
    }

    /// `x·W_ihᵀ + bias_x` for `rows` inputs `x` (`[rows, in]`).
    fn input_gates(&self, x: &[f32], rows: usize, input: usize) -> Vec<f32> {
        let w_ih_t = self.w_ih_t.as_deref().unwrap_or(&[]);
        linear_t(rows, input, x, w_ih_t, &self.bias_x)
    }

    fn recurrence(&self, cell: Cell, hidden: usize) -> Recurrence<'_> {
        Recurrence {
            cell,
            hidden,
            w_hh: &self.w_hh,
            w_hh_t: Some(&self.w_hh_t),
            b_hh: &self.b_hh,
        }
    }

    /// The character LSTM's view of this direction.
    fn lstm(&self) -> LstmDirection<'_> {
        LstmDirection {
            w_ih: self.w_ih.as_deref().unwrap_or(&[]),
            w_hh: &self.w_hh,
            bias: &self.bias_x,
        }
    }
}

#[derive(Debug)]
enum Words {
    /// Per direction, `[vocab, gates·hidden]`.
    Onehot(Vec<Table>),
    /// The training words' table, and the pre-trained vectors' rows that
    /// the word ids past it index.
    Embedding {
        table: Table,
        vectors: Option<Table>,
        /// With `model.word_vectors = "beside"`: each training word's
        /// vector row (-1: none), read beside its own row.
        beside: Option<Vec<i64>>,
    },
}

#[derive(Debug)]
enum CharNet {
    Cnn {
        /// `[chars, dim]`.
        embedding: Vec<f32>,
        dim: usize,
        kernel: usize,
        /// `[filters, dim, kernel]`.
        weight: Vec<f32>,
        bias: Vec<f32>,
    },
    Lstm {
        embedding: Vec<f32>,
        dim: usize,
        hidden: usize,
        dirs: Box<[Direction; 2]>,
    },
}

impl CharNet {
    /// Features `[words, n]` of `words` (character ids, at most `width`
    /// each), and `n`.
    fn features(&self, words: &[&[i64]], width: usize) -> (Vec<f32>, usize) {
        match self {
            CharNet::Cnn {
                embedding,
                dim,
                kernel,
                weight,
                bias,
            } => {
                let mut ids = vec![0i64; words.len() * width];
                for (row, word) in ids.chunks_exact_mut(width).zip(words) {
                    row[..word.len()].copy_from_slice(word);
                }
                let rows: Vec<usize> = (0..words.len()).collect();
                let batch = CharBatch {
                    ids: &ids,
                    width,
                    mask: None,
                    rows: &rows,
                };
                let cnn = CharCnn {
                    dim: *dim,
                    kernel: *kernel,
                    embedding,
                    weight,
                    bias,
                };
                (cnn.forward(&batch, false).out, bias.len())
            }
            CharNet::Lstm {
                embedding,
                dim,
                hidden,
                dirs,
            } => {
                let lstm = CharLstm {
                    dim: *dim,
                    hidden: *hidden,
                    embedding,
                    forward: dirs[0].lstm(),
                    backward: dirs[1].lstm(),
                };
                (lstm.features(words), 2 * hidden)
            }
        }
    }
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
    /// Per source column, its values' embeddings `[values, dim]` and the
    /// number of values.
    columns: Vec<(String, Vec<f32>, usize)>,
    column_dim: usize,
    /// `layers[l][d]`.
    layers: Vec<Vec<Direction>>,
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
    /// weights from `weights` (names and shapes checked) and, for a model
    /// with `spec.n_vector_rows`, the frozen rows from `vectors` (a
    /// `ner-vectors` matrix; tuned rows are in the weights). Words keep at
    /// most `max_word_chars` characters (the batches' setting at training
    /// time).
    pub fn load(
        config: &ModelConfig,
        spec: &TaggerSpec,
        weights: &Weights,
        vectors: Option<&Weights>,
        max_word_chars: usize,
    ) -> Result<Self, InferError> {
        let positive = |v: i64| usize::try_from(v).unwrap_or(0);
        let cell = config.cell;
        let hidden = positive(config.hidden);
        let n_dirs = if config.bidirectional { 2 } else { 1 };
        let (n_words, n_chars) = (positive(spec.n_words), positive(spec.n_chars));
        let n_tags = spec.tags.len();
        let g = cell.gates() * hidden;
        // Vectors beside each word's own row (`model.word_vectors`).
        let beside = config.word_vectors == WordVectors::Beside && spec.n_vector_rows > 0;
        let suffix = |l: usize, d: usize| format!("l{l}{}", if d == 0 { "" } else { "_reverse" });

        let words = match config.input {
            WordInput::Onehot => Words::Onehot(
                (0..n_dirs)
                    .map(|d| {
                        weights.table(&format!("onehot.weight_ih_{}", suffix(0, d)), n_words, g)
                    })
                    .collect::<Result<_, _>>()?,
            ),
            WordInput::Embedding => {
                let dim = positive(config.embedding_dim);
                let rows = positive(spec.n_vector_rows);
                let vdim = if beside {
                    positive(spec.vector_dim)
                } else {
                    dim
                };
                Words::Embedding {
                    table: weights.table("embedding.weight", n_words, dim)?,
                    vectors: match (rows, config.tune_vectors, vectors) {
                        (0, _, _) => None,
                        (_, true, _) => Some(weights.table("vectors.weight", rows, vdim)?),
                        (_, false, Some(matrix)) => {
                            Some(matrix.table(ner_core::schema::vectors::MATRIX, rows, vdim)?)
                        }
                        (_, false, None) => {
                            return Err(InferError::Input(format!(
                                "the model reads {rows} rows of pre-trained vectors; \
                                 give their matrix"
                            )))
                        }
                    },
                    beside: beside.then(|| spec.word_vector_rows.clone()),
                }
            }
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
            CharEncoder::Lstm => {
                let direction = |d| {
                    Direction::load(
                        weights,
                        "chars.lstm.",
                        &suffix(0, d),
                        Cell::Lstm,
                        char_hidden,
                        Some(char_dim),
                    )
                };
                Some(CharNet::Lstm {
                    embedding: weights.tensor("chars.embedding.weight", &[n_chars, char_dim])?,
                    dim: char_dim,
                    hidden: char_hidden,
                    dirs: Box::new([direction(0)?, direction(1)?]),
                })
            }
        };
        let casing_dim = positive(config.casing_dim);
        let casing = if casing_dim > 0 {
            Some((
                spec.char_classes.clone(),
                weights.tensor("casing.embedding.weight", &[CASING_CLASSES, casing_dim])?,
            ))
        } else {
            None
        };
        let char_out = match config.chars {
            CharEncoder::None => 0,
            CharEncoder::Cnn => char_hidden,
            CharEncoder::Lstm => 2 * char_hidden,
        };
        let column_dim = positive(config.column_dim);
        let columns = spec
            .columns
            .iter()
            .map(|(name, n)| {
                let n = positive(*n);
                let table = weights.tensor(&format!("columns.{name}.weight"), &[n, column_dim])?;
                Ok((name.clone(), table, n))
            })
            .collect::<Result<Vec<_>, InferError>>()?;
        let vector_dim = if beside { positive(spec.vector_dim) } else { 0 };
        let word_dim = positive(config.embedding_dim)
            + vector_dim
            + char_out
            + casing_dim
            + columns.len() * column_dim;
        let mut layers = Vec::new();
        for l in 0..positive(config.layers) {
            let input = match (l, config.input) {
                (0, WordInput::Onehot) => None,
                (0, WordInput::Embedding) => Some(word_dim),
                _ => Some(hidden * n_dirs),
            };
            layers.push(
                (0..n_dirs)
                    .map(|d| Direction::load(weights, "rnn.", &suffix(l, d), cell, hidden, input))
                    .collect::<Result<Vec<_>, _>>()?,
            );
        }
        let crf = match config.output {
            OutputLayer::Softmax => None,
            OutputLayer::Crf => Some(Penalties::for_scheme(&spec.tags, spec.scheme).scores(
                &weights.tensor("crf.transitions", &[n_tags, n_tags])?,
                &weights.tensor("crf.start", &[n_tags])?,
                &weights.tensor("crf.end", &[n_tags])?,
            )),
        };
        Ok(Model {
            cell,
            hidden,
            n_dirs,
            words,
            n_words: n_words + positive(spec.n_vector_rows),
            n_chars,
            chars,
            casing,
            columns,
            column_dim,
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

    /// The CRF's scores (learned plus the scheme's penalties), for a model
    /// with a CRF output layer.
    pub fn crf(&self) -> Option<&Scores> {
        self.crf.as_ref()
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
        self.map_emissions(sentences, batch_size, threads, |rows| self.decode(rows))
    }

    /// `each(rows)` of every sentence's emission rows (`[len, tags]`
    /// row-major), in input order, the forward passes batched as
    /// [`Model::tag`] batches them; empty sentences get `R::default()`.
    pub fn map_emissions<R: Default + Send>(
        &self,
        sentences: &[Sentence],
        batch_size: usize,
        threads: usize,
        each: impl Fn(&[f32]) -> R + Sync,
    ) -> Result<Vec<R>, InferError> {
        self.check(sentences)?;
        let mut order: Vec<usize> = (0..sentences.len())
            .filter(|&i| !sentences[i].words.is_empty())
            .collect();
        order.sort_by_key(|&i| std::cmp::Reverse(sentences[i].words.len()));
        let batches: Vec<&[usize]> = order.chunks(batch_size.max(1)).collect();
        let next = std::sync::atomic::AtomicUsize::new(0);
        let k = self.n_tags;
        let run = || {
            let mut done = Vec::new();
            loop {
                let b = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(&batch) = batches.get(b) else {
                    return done;
                };
                let group: Vec<&Sentence> = batch.iter().map(|&i| &sentences[i]).collect();
                let emissions = self.batch_emissions(&group);
                let mut at = 0;
                let results: Vec<R> = group
                    .iter()
                    .map(|s| {
                        let rows = &emissions[at * k..(at + s.words.len()) * k];
                        at += s.words.len();
                        each(rows)
                    })
                    .collect();
                done.push((b, results));
            }
        };
        let threads = threads.clamp(1, batches.len().max(1));
        let mut results: Vec<(usize, Vec<R>)> = if threads == 1 {
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
        let mut out: Vec<R> = (0..sentences.len()).map(|_| R::default()).collect();
        for ((_, each), batch) in results.into_iter().zip(&batches) {
            for (r, &i) in each.into_iter().zip(batch.iter()) {
                out[i] = r;
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
            if s.columns.len() != self.columns.len() {
                let names: Vec<&str> = self.columns.iter().map(|(n, _, _)| n.as_str()).collect();
                return Err(InferError::Input(format!(
                    "sentence {i}: the model reads the columns [{}] beside the words, \
                     the sentence has {} of them",
                    names.join(", "),
                    s.columns.len()
                )));
            }
            for ((name, _, n), values) in self.columns.iter().zip(&s.columns) {
                if values.len() != s.words.len() {
                    return Err(InferError::Input(format!(
                        "sentence {i}: {} words but {} values of '{name}'",
                        s.words.len(),
                        values.len()
                    )));
                }
                if let Some(&id) = values
                    .iter()
                    .find(|&&id| usize::try_from(id).map_or(true, |id| id >= *n))
                {
                    return Err(InferError::Input(format!(
                        "sentence {i}: '{name}' id {id} is outside the model's {n} values"
                    )));
                }
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

    /// `[tokens, tags]` for sentences sorted longest first, one after
    /// another.
    fn batch_emissions(&self, group: &[&Sentence]) -> Vec<f32> {
        let lengths: Vec<usize> = group.iter().map(|s| s.words.len()).collect();
        let packing = Packing::new(&lengths);
        let total = packing.tokens();
        let mut starts = Vec::with_capacity(lengths.len());
        let mut at = 0;
        for &len in &lengths {
            starts.push(at);
            at += len;
        }
        // Per direction, each packed row's token (the backward direction's
        // sentences read from their end).
        let positions: Vec<Vec<usize>> = (0..self.n_dirs)
            .map(|d| packing.positions_from(&starts, d == 1))
            .collect();
        let ids: Vec<i64> = group.iter().flat_map(|s| s.words.iter().copied()).collect();
        let h = self.hidden;
        let width = h * self.n_dirs;
        let g = self.cell.gates() * h;
        // With an embedding, layer 0's input depends only on the token (its
        // word id and characters): computed once per distinct token.
        let (unique_x, index) = match &self.words {
            Words::Embedding {
                table,
                vectors,
                beside,
            } => self.distinct_word_features(group, table, vectors.as_ref(), beside.as_deref()),
            Words::Onehot(_) => (Vec::new(), Vec::new()),
        };
        let distinct = unique_x.len() / self.word_dim.max(1);
        let mut x = Vec::new();
        for (l, dirs) in self.layers.iter().enumerate() {
            let mut out = vec![0f32; total * width];
            for (d, w) in dirs.iter().enumerate() {
                let rows = &positions[d];
                // Packed row `p` reads token `rows[p]`'s input gates where
                // they are: a one-hot table's row, a distinct token's row, a
                // row of the layer below's gates.
                let computed;
                let fill: Box<FillGates<'_>> = match (&self.words, l) {
                    (Words::Onehot(tables), 0) => {
                        let (table, bias, ids) = (&tables[d], &w.bias_x, &ids);
                        Box::new(move |p, out| table.row_plus(ids[rows[p]] as usize, bias, out))
                    }
                    (Words::Embedding { .. }, 0) => {
                        computed = w.input_gates(&unique_x, distinct, self.word_dim);
                        let (gates, index) = (&computed, &index);
                        Box::new(move |p, out| {
                            let row = index[rows[p]];
                            out.copy_from_slice(&gates[row * g..(row + 1) * g]);
                        })
                    }
                    _ => {
                        computed = w.input_gates(&x, total, width);
                        let gates = &computed;
                        Box::new(move |p, out| {
                            let at = rows[p];
                            out.copy_from_slice(&gates[at * g..(at + 1) * g]);
                        })
                    }
                };
                let states = w.recurrence(self.cell, h).forward_from(
                    &packing,
                    &InputGates::Fill(&*fill),
                    false,
                );
                for (state, &p) in states.out.chunks_exact(h).zip(rows) {
                    out[p * width + d * h..p * width + (d + 1) * h].copy_from_slice(state);
                }
            }
            x = out;
        }
        linear(total, width, &x, &self.output_w, &self.output_b)
    }

    /// The word features (embedding, character features, casing;
    /// `[distinct, word_dim]`) of the distinct tokens of a batch, and for
    /// each token the row of its features.
    fn distinct_word_features(
        &self,
        group: &[&Sentence],
        table: &Table,
        vectors: Option<&Table>,
        beside: Option<&[i64]>,
    ) -> (Vec<f32>, Vec<usize>) {
        let with_chars = self.reads_chars();
        // The batch's character width, as the libtorch batches had it.
        let char_width = group
            .iter()
            .flat_map(|s| s.chars.iter().map(Vec::len))
            .max()
            .unwrap_or(1)
            .clamp(1, self.max_word_chars);
        // A token's row: its word, characters and column values.
        type Key<'a> = (i64, &'a [i64], Vec<i64>);
        let mut rows: HashMap<Key<'_>, usize> = HashMap::new();
        let mut distinct: Vec<Key<'_>> = Vec::new();
        let mut index = Vec::with_capacity(group.iter().map(|s| s.words.len()).sum());
        for s in group {
            for (t, &word) in s.words.iter().enumerate() {
                let chars: &[i64] = match s.chars.get(t) {
                    Some(c) if with_chars => &c[..c.len().min(char_width)],
                    _ => &[],
                };
                let values: Vec<i64> = s.columns.iter().map(|c| c[t]).collect();
                let key = (word, chars, values);
                let row = match rows.get(&key) {
                    Some(&row) => row,
                    None => {
                        distinct.push(key.clone());
                        rows.insert(key, distinct.len() - 1);
                        distinct.len() - 1
                    }
                };
                index.push(row);
            }
        }
        let dim = self.word_dim;
        let emb = table.cols();
        let mut x = vec![0f32; distinct.len() * dim];
        let n_table = table.rows();
        let mut at = emb;
        for (row, (id, _, _)) in x.chunks_exact_mut(dim).zip(&distinct) {
            let id = *id as usize;
            match (vectors, beside) {
                // Its own row (`<UNK>`'s past the table), then its vector
                // (zeros without one).
                (Some(vectors), Some(word_rows)) => {
                    let (own, vector) = if id < n_table {
                        (id, usize::try_from(word_rows[id]).ok())
                    } else {
                        (UNK_ID as usize, Some(id - n_table))
                    };
                    table.row(own, &mut row[..emb]);
                    if let Some(vector) = vector {
                        vectors.row(vector, &mut row[emb..emb + vectors.cols()]);
                    }
                }
                (Some(vectors), None) if id >= n_table => {
                    vectors.row(id - n_table, &mut row[..emb])
                }
                _ => table.row(id, &mut row[..emb]),
            }
        }
        if let (Some(vectors), Some(_)) = (vectors, beside) {
            at += vectors.cols();
        }
        let words: Vec<&[i64]> = distinct.iter().map(|(_, c, _)| *c).collect();
        if let Some(chars) = &self.chars {
            let (features, n) = chars.features(&words, char_width);
            for (row, f) in x.chunks_exact_mut(dim).zip(features.chunks_exact(n)) {
                row[at..at + n].copy_from_slice(f);
            }
            at += n;
        }
        if let Some((classes, table)) = &self.casing {
            let n = table.len() / ner_kernels::CASING_CLASSES;
            for (row, word) in x.chunks_exact_mut(dim).zip(&words) {
                let class = classes.casing(word) as usize;
                row[at..at + n].copy_from_slice(&table[class * n..(class + 1) * n]);
            }
            at += n;
        }
        let n = self.column_dim;
        for (c, (_, table, _)) in self.columns.iter().enumerate() {
            for (row, (_, _, values)) in x.chunks_exact_mut(dim).zip(&distinct) {
                let id = values[c] as usize;
                row[at..at + n].copy_from_slice(&table[id * n..(id + 1) * n]);
            }
            at += n;
        }
        (x, index)
    }

    /// A sentence's path from its emission rows: Viterbi with a CRF, else
    /// each row's argmax.
    pub fn decode(&self, rows: &[f32]) -> Vec<i64> {
        match &self.crf {
            Some(scores) => scores.best_path(rows),
            None => rows.chunks_exact(self.n_tags).map(argmax).collect(),
        }
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
