//! The recurrent tagger: word input (the course's one-hot words as a
//! lookup, or an embedding with character features and casing), stacked
//! (bi)directional RNN/GRU/LSTM layers, and a linear layer over the tag set,
//! with a softmax or a CRF on top.
//!
//! A training pass returns, beside the tag scores, the [`Tape`] of the
//! layers that ran on `ner-kernels`: its `backward` takes the loss, runs
//! libtorch's backward pass and then theirs.

use ner_core::schema::vocab::UNK_ID;
use tch::nn::{self, Init, Module, Path as VsPath};
use tch::{Device, Kind, Reduction, Tensor};

use crate::config::{CharEncoder, ModelConfig, OutputLayer, WordInput, WordVectors};
use crate::data::BatchTensors;
use crate::dropout::Masks;
use crate::host::lengths_of;
use crate::layers::chars::{Casing, CharFeatures, CnnTape, HostChars};
use crate::layers::crf::{Crf, Penalties};
use crate::layers::embedding;
use crate::layers::recurrent::{self, direction_suffix, LayerInput, Segment, Stack};
use crate::sequence::{reversal_index, PackedBatch};
use crate::TrainError;

pub use ner_model::card::TaggerSpec;

#[derive(Debug)]
enum Input {
    /// Per direction, `[vocab, gates*hidden]`.
    Onehot(Vec<Tensor>),
    /// The training words' table; with pre-trained vectors the rows that
    /// the word ids past it index (`[rows, dim]`; frozen unless
    /// `model.tune_vectors`).
    Embedding {
        table: nn::Embedding,
        vectors: Option<Tensor>,
        /// With `model.word_vectors = "beside"`: each training word's
        /// vector row, -1 without one (`[words]`, i64).
        beside: Option<Tensor>,
    },
}

/// What runs the recurrent layers on the CPU (on a GPU libtorch always does).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Kernel {
    /// `ner-kernels`: each direction forward and backward by hand over the
    /// batch packed longest first, the directions of a layer on their own
    /// threads; the character CNN and the CRF's log-partition too.
    #[default]
    Rust,
    /// libtorch's fused ops, or steps of tensor operations, differentiated
    /// by its autograd.
    Libtorch,
}

/// How a forward pass runs.
#[derive(Debug, Clone, Copy)]
pub enum Mode<'a> {
    /// No dropout, nothing kept for a backward pass.
    Eval,
    /// Dropout with masks from `masks`; `word_ids` replaces the batch's own
    /// (word dropout).
    Train {
        masks: &'a Masks,
        word_ids: Option<&'a Tensor>,
    },
}

/// A forward pass: the tag scores and what its backward pass needs.
#[derive(Debug)]
pub struct Pass {
    /// `[batch, width, tags]`.
    pub emissions: Tensor,
    pub tape: Tape,
}

/// What the layers run on `ner-kernels` in a training pass need for their
/// backward pass (empty in evaluation and on libtorch's path).
#[derive(Debug)]
#[must_use = "the layers on ner-kernels get their gradients only from Tape::backward"]
pub struct Tape {
    cell: ner_kernels::Cell,
    hidden: usize,
    /// Per layer, bottom first.
    layers: Vec<Vec<Segment>>,
    chars: Option<CnnTape>,
}

impl Tape {
    /// `loss.backward()`, then the backward passes of the layers that ran
    /// on `ner-kernels`, top layer first, each handing its gradients back to
    /// libtorch's graph below it; the character CNN last.
    pub fn backward(self, loss: &Tensor) {
        loss.backward();
        for segments in self.layers.into_iter().rev() {
            recurrent::backward(segments, self.cell, self.hidden);
        }
        if let Some(chars) = self.chars {
            chars.backward();
        }
    }
}

/// A tagger built on a [`nn::VarStore`].
#[derive(Debug)]
pub struct Tagger {
    config: ModelConfig,
    input: Input,
    chars: Option<CharFeatures>,
    casing: Option<Casing>,
    /// One embedding per source column (`model.columns`), in order.
    columns: Vec<nn::Embedding>,
    stack: Stack,
    output: nn::Linear,
    crf: Option<Crf>,
    n_tags: i64,
    /// Whether the word tables' gradients are sparse (the rows a batch
    /// touched) instead of dense vocabulary-sized tensors.
    sparse_gradients: bool,
    kernel: Kernel,
}

impl Tagger {
    /// Creates the parameters under `vs`, initialised as PyTorch initialises
    /// `nn.RNN`/`nn.GRU`/`nn.LSTM` (uniform ±1/√hidden) and `nn.Linear`.
    pub fn new(vs: &VsPath<'_>, config: &ModelConfig, n_words: i64, n_tags: i64) -> Self {
        Tagger::with_spec(vs, config, &TaggerSpec::plain(n_words, n_tags))
    }

    /// The full constructor: character, casing and CRF layers as configured.
    pub fn with_spec(vs: &VsPath<'_>, config: &ModelConfig, spec: &TaggerSpec) -> Self {
        let (n_words, n_tags) = (spec.n_words, spec.tags.len() as i64);
        let hidden = config.hidden;
        let gate_rows = config.cell.gates() as i64 * hidden;
        let n_dirs = if config.bidirectional { 2 } else { 1 };
        let bound = 1.0 / (hidden as f64).sqrt();
        let uniform = Init::Uniform {
            lo: -bound,
            up: bound,
        };

        // Beside its own row, or as a training word's first row and an
        // unseen word's row.
        let beside = config.word_vectors == WordVectors::Beside && spec.n_vector_rows > 0;
        let vector_dim = if beside {
            spec.vector_dim
        } else {
            config.embedding_dim
        };
        let input = match config.input {
            WordInput::Onehot => {
                let onehot = vs / "onehot";
                Input::Onehot(
                    (0..n_dirs)
                        .map(|d| {
                            onehot.var(
                                &format!("weight_ih_l0{}", direction_suffix(d)),
                                &[n_words, gate_rows],
                                uniform,
                            )
                        })
                        .collect(),
                )
            }
            WordInput::Embedding => Input::Embedding {
                table: embedding(
                    vs / "embedding",
                    n_words,
                    config.embedding_dim,
                    config.embedding_init,
                ),
                // Zeros until the trainer copies the vectors in.
                vectors: (spec.n_vector_rows > 0).then(|| {
                    let shape = [spec.n_vector_rows, vector_dim];
                    if config.tune_vectors {
                        (vs / "vectors").var("weight", &shape, Init::Const(0.0))
                    } else {
                        Tensor::zeros(shape, (Kind::Float, vs.device()))
                    }
                }),
                beside: beside
                    .then(|| Tensor::from_slice(&spec.word_vector_rows).to_device(vs.device())),
            },
        };

        let chars = (config.chars != CharEncoder::None).then(|| {
            let chars = vs / "chars";
            let table = embedding(
                &chars / "embedding",
                spec.n_chars,
                config.char_dim,
                config.embedding_init,
            );
            CharFeatures::new(
                &chars,
                config.chars,
                table,
                config.char_hidden,
                config.char_kernel,
                config.dropout,
            )
        });
        let casing = (config.casing_dim > 0).then(|| {
            Casing::new(
                &(vs / "casing"),
                &spec.char_classes,
                config.casing_dim,
                config.embedding_init,
            )
        });
        let columns: Vec<nn::Embedding> = spec
            .columns
            .iter()
            .map(|(name, size)| {
                embedding(
                    vs / "columns" / name.as_str(),
                    *size,
                    config.column_dim,
                    config.embedding_init,
                )
            })
            .collect();
        let word_dim = config.embedding_dim
            + if beside { vector_dim } else { 0 }
            + chars.as_ref().map_or(0, CharFeatures::output_dim)
            + if casing.is_some() {
                config.casing_dim
            } else {
                0
            }
            + columns.len() as i64 * config.column_dim;
        let stack = Stack::new(
            &(vs / "rnn"),
            config.cell,
            hidden,
            config.layers,
            n_dirs,
            word_dim,
            config.input == WordInput::Onehot,
        );
        let output = nn::linear(
            vs / "output",
            hidden * n_dirs as i64,
            n_tags,
            Default::default(),
        );
        let crf = (config.output == OutputLayer::Crf).then(|| {
            Crf::new(
                &(vs / "crf"),
                Penalties::for_scheme(&spec.tags, spec.scheme),
            )
        });
        Tagger {
            config: config.clone(),
            input,
            chars,
            casing,
            columns,
            stack,
            output,
            crf,
            n_tags,
            sparse_gradients: false,
            kernel: Kernel::default(),
        }
    }

    /// Makes the backward pass give the word tables (one-hot input tables,
    /// the word embedding) sparse gradients: only the rows the batch used,
    /// never a dense vocabulary-sized zero tensor. The fused Adam applies
    /// them to every row (see [`crate::optim`]); other optimizers need dense
    /// gradients. Off by default; prediction never computes gradients.
    pub fn set_sparse_gradients(&mut self, sparse: bool) {
        self.sparse_gradients = sparse;
    }

    /// Chooses what runs the recurrent layers ([`Kernel::Rust`] by default).
    pub fn set_kernel(&mut self, kernel: Kernel) {
        self.kernel = kernel;
    }

    /// The word embedding table, where the input is an embedding.
    pub fn word_embedding(&self) -> Option<&Tensor> {
        match &self.input {
            Input::Embedding { table, .. } => Some(&table.ws),
            Input::Onehot(_) => None,
        }
    }

    /// The pre-trained vectors' rows past the words, where the model has them.
    pub fn vector_rows(&self) -> Option<&Tensor> {
        match &self.input {
            Input::Embedding { vectors, .. } => vectors.as_ref(),
            Input::Onehot(_) => None,
        }
    }

    pub fn n_tags(&self) -> i64 {
        self.n_tags
    }

    /// The tag scores of a batch and, in training, the tape of its backward
    /// pass.
    pub fn forward(&self, batch: &BatchTensors, mode: Mode<'_>) -> Pass {
        let (masks, word_ids) = match mode {
            Mode::Eval => (None, &batch.word_ids),
            Mode::Train { masks, word_ids } => (Some(masks), word_ids.unwrap_or(&batch.word_ids)),
        };
        let train = masks.is_some();
        let dropout = |x: Tensor| match masks {
            Some(masks) if self.config.dropout > 0.0 => {
                let mut shape = x.size();
                if self.config.variational_dropout {
                    // One mask per sentence `[batch, 1, dim]`, kept over time.
                    shape[1] = 1;
                }
                let mask = masks.mask(&shape, self.config.dropout, x.device());
                x * mask
            }
            _ => x,
        };
        let on_kernels = self.kernel == Kernel::Rust && word_ids.device() == Device::Cpu;
        let lengths_host = on_kernels.then(|| lengths_of(&batch.lengths));
        let mut tape = Tape {
            cell: self.stack.cell,
            hidden: self.stack.hidden as usize,
            layers: Vec::new(),
            chars: None,
        };
        // The input of layer 0: `[batch, width, in]`, or one-hot gates to look up.
        let embedded: Option<Tensor> = match &self.input {
            Input::Embedding {
                table,
                vectors,
                beside,
            } => {
                let words = match (vectors, beside) {
                    (Some(vectors), Some(rows)) => {
                        self.embed_beside(&table.ws, vectors, rows, word_ids, &batch.word_ids)
                    }
                    _ => self.embed_words(&table.ws, vectors.as_ref(), word_ids),
                };
                let mut parts = vec![words];
                // On the kernels' path the character ids are read once, for
                // the CNN and the casing classes alike.
                let host = match &lengths_host {
                    Some(lens) if self.chars.is_some() || self.casing.is_some() => {
                        Some(HostChars::new(&batch.char_ids, lens))
                    }
                    _ => None,
                };
                let casing = self.casing.as_ref().map(|casing| match &host {
                    Some(host) => casing.forward_host(host),
                    None => casing.forward(&batch.char_ids),
                });
                if let Some(chars) = &self.chars {
                    let (features, cnn) = chars.forward(&batch.char_ids, host, masks);
                    parts.push(features);
                    tape.chars = cnn;
                }
                parts.extend(casing);
                for (table, ids) in self.columns.iter().zip(&batch.columns) {
                    parts.push(table.forward(ids));
                }
                let joined = if parts.len() == 1 {
                    parts.pop().unwrap_or_else(|| unreachable!())
                } else {
                    Tensor::cat(&parts, 2)
                };
                Some(dropout(joined))
            }
            Input::Onehot(_) => None,
        };
        let [rows, width] = word_ids.size()[..] else {
            unreachable!("word ids are [batch, width]")
        };
        let packed = lengths_host
            .as_deref()
            .map(|lens| PackedBatch::new(lens, width, self.stack.layers[0].len()));
        let reverse = (!on_kernels).then(|| reversal_index(&batch.lengths, width));
        let mut x = embedded;
        for l in 0..self.stack.layers.len() {
            let input = match (&self.input, &x) {
                (Input::Onehot(tables), _) if l == 0 => LayerInput::Lookup {
                    tables,
                    word_ids,
                    sparse: self.sparse_gradients,
                },
                (_, Some(x)) => LayerInput::Dense(x),
                (_, None) => unreachable!("layer input is set after layer 0"),
            };
            let mut outputs = match (&packed, &reverse) {
                (Some(packed), _) => {
                    let (outputs, segments) =
                        self.stack
                            .run_on_kernels(l, input, packed, [rows, width], train);
                    tape.layers.push(segments);
                    outputs
                }
                (None, Some(reverse)) => self.stack.run_on_libtorch(l, input, reverse),
                (None, None) => unreachable!("one of the two paths"),
            };
            let joined = if outputs.len() == 1 {
                outputs.pop().unwrap_or_else(|| unreachable!())
            } else {
                Tensor::cat(&outputs, 2)
            };
            x = Some(dropout(joined));
        }
        let hidden = x.unwrap_or_else(|| unreachable!("at least one layer"));
        Pass {
            emissions: self.output.forward(&hidden),
            tape,
        }
    }

    /// Word features: rows of the training words' table, or past it the
    /// vectors' rows.
    fn embed_words(&self, table: &Tensor, vectors: Option<&Tensor>, ids: &Tensor) -> Tensor {
        let Some(vectors) = vectors else {
            return Tensor::embedding(table, ids, -1, false, self.sparse_gradients);
        };
        let n_words = table.size()[0];
        let in_table = ids.lt(n_words);
        // Each lookup reads row 0 where the other one applies.
        let table_ids = ids.where_scalarother(&in_table, 0);
        let vector_ids = (ids - n_words).where_scalarother(&in_table.logical_not(), 0);
        let words = Tensor::embedding(table, &table_ids, -1, false, self.sparse_gradients);
        let rows = Tensor::embedding(vectors, &vector_ids, -1, false, self.sparse_gradients);
        words.where_self(&in_table.unsqueeze(-1), &rows)
    }

    /// Word features with the vectors beside (`model.word_vectors =
    /// "beside"`): the row of each id in the training words' table (any id
    /// past it `<UNK>`'s), then the vector of the word the batch had
    /// (`original`: word dropout replaces a word's own row, never its
    /// vector), zeros for a word without one.
    fn embed_beside(
        &self,
        table: &Tensor,
        vectors: &Tensor,
        word_rows: &Tensor,
        ids: &Tensor,
        original: &Tensor,
    ) -> Tensor {
        let n_words = table.size()[0];
        let own = ids.where_scalarother(&ids.lt(n_words), i64::from(UNK_ID));
        let in_table = original.lt(n_words);
        let of_words = word_rows
            .index_select(0, &original.where_scalarother(&in_table, 0).flatten(0, -1))
            .view_as(original);
        let rows = of_words.where_self(&in_table, &(original - n_words));
        let has = rows.ge(0).unsqueeze(-1).to_kind(vectors.kind());
        let words = Tensor::embedding(table, &own, -1, false, self.sparse_gradients);
        let vecs = Tensor::embedding(
            vectors,
            &rows.clamp_min(0),
            -1,
            false,
            self.sparse_gradients,
        );
        Tensor::cat(&[words, vecs * has], 2)
    }

    /// The training loss of a batch: mean token cross-entropy (padding
    /// ignored), or with a CRF the negative log-likelihood per sentence.
    pub fn loss(&self, emissions: &Tensor, batch: &BatchTensors) -> Tensor {
        match &self.crf {
            Some(crf) => {
                let rows = emissions.size()[0].max(1) as f64;
                let on_kernels = self.kernel == Kernel::Rust && emissions.device() == Device::Cpu;
                crf.nll(
                    emissions,
                    &batch.tag_ids,
                    &batch.mask(),
                    &batch.lengths,
                    on_kernels,
                ) / rows
            }
            None => emissions
                .view([-1, self.n_tags])
                .cross_entropy_loss::<Tensor>(
                    &batch.tag_ids.view([-1]),
                    None,
                    Reduction::Mean,
                    -100,
                    0.0,
                ),
        }
    }

    /// The predicted tag ids of each sentence (argmax, or Viterbi with a CRF).
    pub fn best_paths(
        &self,
        emissions: &Tensor,
        lengths: &Tensor,
    ) -> Result<Vec<Vec<i64>>, TrainError> {
        let lengths = lengths_of(lengths);
        let width = emissions.size()[1] as usize;
        match &self.crf {
            Some(crf) => {
                let flat = crate::host::to_vec(emissions);
                Ok(crf.viterbi(&flat, width, &lengths))
            }
            None => {
                let best: Vec<i64> = Vec::try_from(
                    &emissions
                        .argmax(-1, false)
                        .to_device(Device::Cpu)
                        .contiguous()
                        .view([-1]),
                )
                .map_err(TrainError::torch("reading the best tags"))?;
                Ok(lengths
                    .iter()
                    .enumerate()
                    .map(|(row, &len)| best[row * width..row * width + len].to_vec())
                    .collect())
            }
        }
    }

    /// How many real tokens of the batch get their gold tag from `emissions`
    /// (argmax on the device for softmax outputs; Viterbi with a CRF).
    pub fn correct_tokens(
        &self,
        emissions: &Tensor,
        batch: &BatchTensors,
    ) -> Result<i64, TrainError> {
        if self.crf.is_none() {
            return emissions
                .argmax(-1, false)
                .eq_tensor(&batch.tag_ids)
                .logical_and(&batch.mask())
                .sum(Kind::Int64)
                .f_int64_value(&[])
                .map_err(TrainError::torch("counting correct tags"));
        }
        let gold = crate::host::ids_of(&batch.tag_ids);
        let width = batch.tag_ids.size()[1] as usize;
        let paths = self.best_paths(emissions, &batch.lengths)?;
        Ok(paths
            .iter()
            .enumerate()
            .map(|(row, path)| {
                path.iter()
                    .zip(&gold[row * width..])
                    .filter(|(p, g)| p == g)
                    .count() as i64
            })
            .sum())
    }

    /// Predicted tag ids of each sentence of a batch, without gradients.
    pub fn predict(&self, batch: &BatchTensors) -> Result<Vec<Vec<i64>>, TrainError> {
        let _guard = tch::no_grad_guard();
        let pass = self.forward(batch, Mode::Eval);
        self.best_paths(&pass.emissions, &batch.lengths)
    }
}

/// Word dropout: in each sentence, the words flagged in `singletons`
/// (`[vocab]` booleans: seen once in training) become `<UNK>` with
/// probability `p`, one uniform draw of libtorch's generator per position.
pub fn drop_words(word_ids: &Tensor, singletons: &Tensor, p: f64) -> Tensor {
    let is_single = singletons
        .index_select(0, &word_ids.view([-1]))
        .view(word_ids.size().as_slice());
    let coin = Tensor::rand(word_ids.size(), (Kind::Float, word_ids.device())).lt(p);
    word_ids.where_self(
        &is_single.logical_and(&coin).logical_not(),
        &word_ids.full_like(i64::from(UNK_ID)),
    )
}

/// Trainable parameters in a var store.
pub fn n_parameters(vs: &nn::VarStore) -> i64 {
    vs.trainable_variables()
        .iter()
        .map(Tensor::numel)
        .map(|n| n as i64)
        .sum()
}

/// The device named `auto`, `cpu` or `cuda`.
pub fn device(name: &str) -> Result<Device, TrainError> {
    match name {
        "auto" => Ok(Device::cuda_if_available()),
        "cpu" => Ok(Device::Cpu),
        "cuda" if tch::Cuda::is_available() => Ok(Device::Cuda(0)),
        "cuda" => Err(TrainError::Config(
            "--device cuda, but libtorch sees no CUDA device".into(),
        )),
        other => Err(TrainError::Config(format!(
            "unknown device '{other}' (expected auto, cpu or cuda)"
        ))),
    }
}
