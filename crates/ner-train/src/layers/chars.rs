//! Character features of words: a character CNN (Ma & Hovy 2016) or a
//! character BiLSTM (Lample et al. 2016) over the character vocabulary from
//! `ner-vocab`, and a four-way casing class.
//!
//! Given the character ids on the host ([`HostChars`], when the recurrent
//! layers run on `ner-kernels`), the CNN runs on `ner-kernels` too: its
//! output is a leaf of libtorch's graph and the training pass returns a
//! [`CnnTape`] whose `backward` hands the gradients back.

use ner_kernels::{gather_rows, scatter_rows, CharBatch, CharClasses, CharCnn, CnnForward};
use tch::nn::{self, Module, Path as VsPath};
use tch::{Kind, Tensor};

use crate::config::{CharEncoder, EmbeddingInit};
use crate::dropout::Masks;
use crate::host::{ids_of, to_vec};
use crate::layers::embedding;
use crate::sequence::{reversal_index, reverse_seq};
use ner_core::parallel;

/// A batch's character ids `[batch, tokens, width]` copied to the host
/// once, and where its real tokens are (`b·tokens + i`, `i < length`), for
/// the CPU paths: the character CNN on `ner-kernels` and the casing classes.
#[derive(Debug)]
pub(crate) struct HostChars {
    ids: Vec<i64>,
    batch: usize,
    tokens: usize,
    /// At least 1: a batch without characters reads one `<PAD>` per word.
    width: usize,
    rows: Vec<usize>,
}

impl HostChars {
    /// `char_ids` on the CPU, `lengths` the sentences' lengths.
    pub(crate) fn new(char_ids: &Tensor, lengths: &[usize]) -> HostChars {
        let size = char_ids.size();
        let [batch, tokens, width] = [size[0], size[1], size[2]].map(|n| n.max(0) as usize);
        let ids = if width == 0 {
            vec![0; batch * tokens]
        } else {
            ids_of(char_ids)
        };
        let rows = lengths
            .iter()
            .enumerate()
            .flat_map(|(b, &len)| (0..len.min(tokens)).map(move |i| b * tokens + i))
            .collect();
        HostChars {
            ids,
            batch,
            tokens,
            width: width.max(1),
            rows,
        }
    }

    fn words(&self) -> usize {
        self.batch * self.tokens
    }
}

/// The casing layer: class lookup tables and a small embedding.
#[derive(Debug)]
pub struct Casing {
    upper: Tensor,
    lower: Tensor,
    classes: CharClasses,
    embedding: nn::Embedding,
}

impl Casing {
    pub fn new(vs: &VsPath<'_>, classes: &CharClasses, dim: i64, init: EmbeddingInit) -> Self {
        let to_tensor = |flags: &[bool]| {
            let values: Vec<i64> = flags.iter().map(|&f| i64::from(f)).collect();
            Tensor::from_slice(&values).to_device(vs.device())
        };
        Casing {
            upper: to_tensor(&classes.upper),
            lower: to_tensor(&classes.lower),
            classes: classes.clone(),
            embedding: embedding(
                vs / "embedding",
                ner_kernels::CASING_CLASSES as i64,
                dim,
                init,
            ),
        }
    }

    /// Casing class ids `[B, T]` from character ids `[B, T, L]` on any
    /// device: the rule of [`CharClasses::casing`] in tensor operations
    /// (`tests/` check that both give the same classes).
    pub fn classes(&self, char_ids: &Tensor) -> Tensor {
        let upper = self
            .upper
            .index_select(0, &char_ids.view([-1]))
            .view(char_ids.size().as_slice());
        let lower = self
            .lower
            .index_select(0, &char_ids.view([-1]))
            .view(char_ids.size().as_slice());
        let has_upper = upper.sum_dim_intlist(-1, false, Kind::Int64).clamp_max(1);
        let has_lower = lower.sum_dim_intlist(-1, false, Kind::Int64).clamp_max(1);
        let first_upper = upper.select(2, 0);
        // 0 without upper case; else 1 without lower case; else 2 or 3 by the first character.
        has_upper * (has_lower * (first_upper.neg() + 2) + 1)
    }

    /// Casing embeddings `[B, T, dim]`.
    pub fn forward(&self, char_ids: &Tensor) -> Tensor {
        self.embedding.forward(&self.classes(char_ids))
    }

    /// Casing embeddings `[B, T, dim]`, the classes computed on the host
    /// by [`CharClasses::casing`] (what `ner-infer` runs).
    pub(crate) fn forward_host(&self, chars: &HostChars) -> Tensor {
        let classes: Vec<i64> = chars
            .ids
            .chunks_exact(chars.width)
            .map(|word| self.classes.casing(word))
            .collect();
        let classes = Tensor::from_slice(&classes).view([chars.batch as i64, chars.tokens as i64]);
        self.embedding.forward(&classes)
    }
}

/// A training pass of the character CNN on `ner-kernels`: its output, a
/// leaf of libtorch's graph, and what its backward pass needs.
#[derive(Debug)]
pub(crate) struct CnnTape {
    out: Tensor,
    chars: HostChars,
    mask: Option<Vec<f32>>,
    weights: CnnWeights,
    /// The tensors the gradients belong to: table, filters, biases.
    params: [Tensor; 3],
    /// The words of `chars.rows` in slices of `half`, one forward pass each.
    half: usize,
    parts: Vec<CnnForward>,
}

/// The character table and filters copied to the host for one pass.
#[derive(Debug)]
struct CnnWeights {
    dim: usize,
    kernel: usize,
    embedding: Vec<f32>,
    weight: Vec<f32>,
    bias: Vec<f32>,
}

impl CnnWeights {
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

impl CnnTape {
    /// The gradients of the character table and the filters, computed by
    /// hand once the output's gradient is complete, handed to libtorch as
    /// the surrogate `Σ θ·∂θ`.
    pub(crate) fn backward(self) {
        let grad = self.out.grad();
        if !grad.defined() {
            return;
        }
        let filters = self.weights.bias.len();
        let d_out = gather_rows(&to_vec(&grad), &self.chars.rows, filters);
        let cnn = self.weights.cnn();
        let jobs = self
            .chars
            .rows
            .chunks(self.half)
            .zip(d_out.chunks(self.half * filters))
            .zip(&self.parts)
            .collect();
        let halves = parallel::map(jobs, |((rows, d_out), forward)| {
            let batch = CharBatch {
                ids: &self.chars.ids,
                width: self.chars.width,
                mask: self.mask.as_deref(),
                rows,
            };
            cnn.backward(&batch, forward, d_out)
        });
        let mut halves = halves.into_iter();
        let Some(mut grads) = halves.next() else {
            return;
        };
        for other in halves {
            for (sum, part) in [
                (&mut grads.d_embedding, &other.d_embedding),
                (&mut grads.d_weight, &other.d_weight),
                (&mut grads.d_bias, &other.d_bias),
            ] {
                sum.iter_mut().zip(part).for_each(|(a, b)| *a += b);
            }
        }
        let term = |param: &Tensor, grad: &[f32]| {
            (param * Tensor::from_slice(grad).view(param.size().as_slice())).sum(Kind::Float)
        };
        let [table, filters, biases] = &self.params;
        let mut root = term(table, &grads.d_embedding) + term(filters, &grads.d_weight);
        if biases.defined() {
            root += term(biases, &grads.d_bias);
        }
        root.backward();
    }
}

/// A word's features from its characters.
#[derive(Debug)]
pub struct CharFeatures {
    encoder: CharEncoder,
    embedding: nn::Embedding,
    conv: Option<nn::Conv1D>,
    /// Character BiLSTM: per direction `[w_ih, w_hh, b_ih, b_hh]`.
    lstm: Vec<[Tensor; 4]>,
    hidden: i64,
    dropout: f64,
}

impl CharFeatures {
    /// `embedding`: the character table (`vs / "embedding"`, made first so
    /// the draws keep their order); `hidden`: CNN filters or LSTM units per
    /// direction; `kernel`: CNN window.
    pub fn new(
        vs: &VsPath<'_>,
        encoder: CharEncoder,
        embedding: nn::Embedding,
        hidden: i64,
        kernel: i64,
        dropout: f64,
    ) -> Self {
        let dim = embedding.ws.size()[1];
        let (conv, lstm) = match encoder {
            CharEncoder::Cnn => {
                let config = nn::ConvConfig {
                    padding: kernel / 2,
                    ..Default::default()
                };
                (
                    Some(nn::conv1d(vs / "conv", dim, hidden, kernel, config)),
                    Vec::new(),
                )
            }
            CharEncoder::Lstm => {
                let bound = 1.0 / (hidden as f64).sqrt();
                let init = nn::Init::Uniform {
                    lo: -bound,
                    up: bound,
                };
                let lstm = vs / "lstm";
                let dirs = ["", "_reverse"]
                    .iter()
                    .map(|s| {
                        [
                            lstm.var(&format!("weight_ih_l0{s}"), &[4 * hidden, dim], init),
                            lstm.var(&format!("weight_hh_l0{s}"), &[4 * hidden, hidden], init),
                            lstm.var(&format!("bias_ih_l0{s}"), &[4 * hidden], init),
                            lstm.var(&format!("bias_hh_l0{s}"), &[4 * hidden], init),
                        ]
                    })
                    .collect();
                (None, dirs)
            }
            CharEncoder::None => (None, Vec::new()),
        };
        CharFeatures {
            encoder,
            embedding,
            conv,
            lstm,
            hidden,
            dropout,
        }
    }

    /// Size of the features per word.
    pub fn output_dim(&self) -> i64 {
        match self.encoder {
            CharEncoder::Cnn => self.hidden,
            CharEncoder::Lstm => 2 * self.hidden,
            CharEncoder::None => 0,
        }
    }

    /// Features `[B, T, output_dim]` from character ids `[B, T, L]` (0 =
    /// padding), dropout from `masks` in training. Given the ids on the
    /// host, a CNN runs on `ner-kernels` (and a training pass returns its
    /// tape); otherwise libtorch's ops run.
    pub(crate) fn forward(
        &self,
        char_ids: &Tensor,
        host: Option<HostChars>,
        masks: Option<&Masks>,
    ) -> (Tensor, Option<CnnTape>) {
        if let (Some(chars), CharEncoder::Cnn) = (host, self.encoder) {
            return self.forward_cnn_host(chars, masks);
        }
        let size = char_ids.size();
        let (b, t, l) = (size[0], size[1], size[2].max(1));
        let ids = if size[2] == 0 {
            Tensor::zeros([b, t, 1], (Kind::Int64, char_ids.device()))
        } else {
            char_ids.shallow_clone()
        };
        let words = ids.view([b * t, l]);
        let embedded = self.embedding.forward(&words); // [N, L, D]
        let embedded = match masks {
            Some(masks) if self.dropout > 0.0 => {
                let mask = masks.mask(&embedded.size(), self.dropout, embedded.device());
                embedded * mask
            }
            _ => embedded,
        };
        let features = match self.encoder {
            CharEncoder::Cnn => {
                let conv = self.conv();
                let out = conv.forward(&embedded.transpose(1, 2)).relu(); // [N, F, L]
                out.amax([2], false).view([b, t, self.hidden])
            }
            CharEncoder::Lstm => {
                let lengths = words
                    .ne(0)
                    .sum_dim_intlist(1, false, Kind::Int64)
                    .clamp_min(1);
                let last = (&lengths - 1)
                    .view([-1, 1, 1])
                    .expand([-1, 1, self.hidden], false);
                let reverse = reversal_index(&lengths, l);
                let mut outputs = Vec::new();
                for (d, w) in self.lstm.iter().enumerate() {
                    let input = if d == 0 {
                        embedded.shallow_clone()
                    } else {
                        reverse_seq(&embedded, &reverse)
                    };
                    let h0 = Tensor::zeros([1, b * t, self.hidden], (Kind::Float, input.device()));
                    let params = [&w[0], &w[1], &w[2], &w[3]];
                    let train = masks.is_some();
                    let (out, _, _) =
                        input.lstm(&[&h0, &h0], &params, true, 1, 0.0, train, false, true);
                    // The state after the word's last character (first, read backwards).
                    outputs.push(out.gather(1, &last, false).squeeze_dim(1));
                }
                Tensor::cat(&outputs, 1).view([b, t, 2 * self.hidden])
            }
            CharEncoder::None => Tensor::zeros([b, t, 0], (Kind::Float, char_ids.device())),
        };
        (features, None)
    }

    fn conv(&self) -> &nn::Conv1D {
        self.conv
            .as_ref()
            .unwrap_or_else(|| unreachable!("cnn has a conv"))
    }

    /// The CNN on `ner-kernels` over the real tokens of `chars` (padding
    /// tokens get zero features: nothing reads them). The dropout mask is
    /// drawn as on libtorch's path, `[words, width, dim]`. In training the
    /// output is a leaf, and the tape connects it back.
    fn forward_cnn_host(
        &self,
        chars: HostChars,
        masks: Option<&Masks>,
    ) -> (Tensor, Option<CnnTape>) {
        let conv = self.conv();
        let weights = CnnWeights {
            dim: self.embedding.ws.size()[1] as usize,
            kernel: conv.ws.size()[2] as usize,
            embedding: to_vec(&self.embedding.ws),
            weight: to_vec(&conv.ws),
            bias: conv
                .bs
                .as_ref()
                .map(to_vec)
                .unwrap_or_else(|| vec![0.0; self.hidden as usize]),
        };
        let cnn = weights.cnn();
        // The values `Masks::mask` would give libtorch's path.
        let mask = masks
            .filter(|_| self.dropout > 0.0)
            .map(|m| m.values(chars.words() * chars.width * cnn.dim, self.dropout));
        let train = masks.is_some();
        // The words in two halves, on two threads.
        let half = chars.rows.len().div_ceil(2).max(1);
        let parts = parallel::map(chars.rows.chunks(half).collect(), |rows| {
            let batch = CharBatch {
                ids: &chars.ids,
                width: chars.width,
                mask: mask.as_deref(),
                rows,
            };
            cnn.forward(&batch, train)
        });
        let features: Vec<f32> = parts.iter().flat_map(|p| p.out.iter().copied()).collect();
        let filters = self.hidden as usize;
        let out = scatter_rows(&features, &chars.rows, chars.words(), filters);
        let out =
            Tensor::from_slice(&out).view([chars.batch as i64, chars.tokens as i64, self.hidden]);
        if !train {
            return (out, None);
        }
        let out = out.set_requires_grad(true);
        let tape = CnnTape {
            out: out.shallow_clone(),
            chars,
            mask,
            weights,
            params: [
                self.embedding.ws.shallow_clone(),
                conv.ws.shallow_clone(),
                conv.bs
                    .as_ref()
                    .map_or_else(Tensor::new, Tensor::shallow_clone),
            ],
            half,
            parts,
        };
        (out, Some(tape))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::Device;

    #[test]
    fn casing_classes_in_tensor_operations_follow_the_rule() {
        // ids: 0 <PAD>, 1 <UNK>, 2 'a', 3 'B', 4 '1'
        let classes = CharClasses::from_chars(["<PAD>", "<UNK>", "a", "B", "1"].into_iter());
        let vs = nn::VarStore::new(Device::Cpu);
        let casing = Casing::new(&vs.root(), &classes, 4, EmbeddingInit::Normal);
        // words: "aa" (0), "BB" (1), "Ba" (2), "aB" (3), "11" (0), padding (0)
        let ids = Tensor::from_slice(&[2i64, 2, 3, 3, 3, 2, 2, 3, 4, 4, 0, 0]).view([1, 6, 2]);
        let got: Vec<i64> = Vec::try_from(&casing.classes(&ids).view([-1])).expect("ids");
        assert_eq!(got, [0, 1, 2, 3, 0, 0]);
        let host = HostChars::new(&ids, &[6]);
        let rule: Vec<i64> = host
            .ids
            .chunks_exact(host.width)
            .map(|w| classes.casing(w))
            .collect();
        assert_eq!(rule, got);
    }

    #[test]
    fn char_encoders_shape_and_ignore_padding() {
        tch::manual_seed(4);
        for encoder in [CharEncoder::Cnn, CharEncoder::Lstm] {
            let vs = nn::VarStore::new(Device::Cpu);
            let table = embedding(vs.root() / "embedding", 10, 6, EmbeddingInit::Normal);
            let chars = CharFeatures::new(&vs.root(), encoder, table, 5, 3, 0.0);
            let short = Tensor::from_slice(&[3i64, 4, 0, 0]).view([1, 1, 4]);
            let wide = Tensor::from_slice(&[3i64, 4, 0, 0, 0, 0]).view([1, 1, 6]);
            let (a, _) = chars.forward(&short, None, None);
            assert_eq!(a.size(), vec![1, 1, chars.output_dim()]);
            if encoder == CharEncoder::Lstm {
                // The LSTM reads only the word's own characters.
                let (b, _) = chars.forward(&wide, None, None);
                assert!((&a - &b).abs().max().double_value(&[]) < 1e-6);
            }
        }
    }

    #[test]
    fn host_chars_list_the_real_tokens_and_match_libtorch() {
        tch::manual_seed(2);
        // Two sentences of lengths 3 and 1 over 3 positions, words up to 2
        // characters.
        let ids = Tensor::from_slice(&[2i64, 3, 4, 0, 5, 5, 3, 2, 0, 0, 0, 0]).view([2, 3, 2]);
        let host = HostChars::new(&ids, &[3, 1]);
        assert_eq!(host.rows, [0, 1, 2, 3]);
        assert_eq!((host.batch, host.tokens, host.width), (2, 3, 2));
        // The kernels' CNN equals libtorch's at the real tokens, zeros at padding.
        let vs = nn::VarStore::new(Device::Cpu);
        let table = embedding(vs.root() / "embedding", 6, 4, EmbeddingInit::Scaled);
        let chars = CharFeatures::new(&vs.root(), CharEncoder::Cnn, table, 5, 3, 0.0);
        let (ours, _) = chars.forward(&ids, Some(host), None);
        let (theirs, _) = chars.forward(&ids, None, None);
        let real = Tensor::from_slice(&[true, true, true, true, false, false]).view([2, 3, 1]);
        let d = (&ours - theirs.where_scalarother(&real, 0.0))
            .abs()
            .max()
            .double_value(&[]);
        assert!(d < 1e-6, "differ by {d}");
        // No characters at all: one <PAD> per word.
        let empty = HostChars::new(&Tensor::zeros([1, 2, 0], (Kind::Int64, Device::Cpu)), &[2]);
        assert_eq!((empty.width, empty.ids.len(), empty.rows.len()), (1, 2, 2));
    }
}
