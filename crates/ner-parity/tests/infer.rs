//! The libtorch-free model (`ner-infer`, which `ner-predict` runs) against
//! the libtorch tagger (`ner_train::tagger::Tagger` on libtorch's own ops):
//! the same weights file, random weights, every architecture a pipeline can
//! name; the same tag scores (to 1e-4) and the same decoded tags.

use ner_core::scheme::TagScheme;
use ner_infer::{Model, Sentence, Weights};
use ner_kernels::CharClasses;
use ner_model::card::TaggerSpec;
use ner_model::config::{Cell, CharEncoder, ModelConfig, OutputLayer, WordInput, WordVectors};
use ner_train::data::BatchTensors;
use ner_train::tagger::{Kernel, Mode, Tagger};
use tch::{nn, Device, Kind, Tensor};

const N_WORDS: i64 = 40;
const N_CHARS: i64 = 12;

fn config(cell: Cell, bidirectional: bool, layers: i64, input: WordInput) -> ModelConfig {
    ModelConfig {
        cell,
        bidirectional,
        layers,
        hidden: 6,
        input,
        embedding_dim: if input == WordInput::Embedding { 5 } else { 0 },
        dropout: 0.5,
        variational_dropout: false,
        chars: CharEncoder::None,
        char_dim: 4,
        char_hidden: 3,
        char_kernel: 3,
        casing_dim: 0,
        embedding_init: Default::default(),
        tune_vectors: false,
        word_vectors: Default::default(),
        columns: Vec::new(),
        column_dim: 20,
        output: OutputLayer::Softmax,
        tag_scheme: None,
    }
}

/// Every architecture, by name.
fn architectures() -> Vec<(&'static str, ModelConfig)> {
    use Cell::*;
    let crf = |mut c: ModelConfig| {
        c.output = OutputLayer::Crf;
        c
    };
    let chars = |mut c: ModelConfig, encoder, kernel, casing| {
        c.chars = encoder;
        c.char_kernel = kernel;
        c.casing_dim = casing;
        c
    };
    vec![
        ("rnn one-hot", config(Rnn, false, 1, WordInput::Onehot)),
        ("birnn one-hot", config(Rnn, true, 1, WordInput::Onehot)),
        ("bigru one-hot", config(Gru, true, 1, WordInput::Onehot)),
        ("bilstm one-hot", config(Lstm, true, 1, WordInput::Onehot)),
        ("bilstm3 one-hot", config(Lstm, true, 3, WordInput::Onehot)),
        (
            "bigru-no-reset",
            config(GruNoReset, true, 1, WordInput::Onehot),
        ),
        (
            "bigru-no-update",
            config(GruNoUpdate, true, 2, WordInput::Onehot),
        ),
        ("gru embedding", config(Gru, false, 2, WordInput::Embedding)),
        (
            "bilstm-crf",
            crf(config(Lstm, true, 1, WordInput::Embedding)),
        ),
        (
            "char-cnn bilstm-crf",
            crf(chars(
                config(Lstm, true, 1, WordInput::Embedding),
                CharEncoder::Cnn,
                3,
                2,
            )),
        ),
        (
            "char-cnn (even kernel) birnn",
            chars(
                config(Rnn, true, 1, WordInput::Embedding),
                CharEncoder::Cnn,
                2,
                0,
            ),
        ),
        (
            "char-lstm bigru-crf",
            crf(chars(
                config(Gru, true, 2, WordInput::Embedding),
                CharEncoder::Lstm,
                3,
                3,
            )),
        ),
    ]
}

/// Tags in IOB2 (the CRF's constraints apply) with character classes.
fn spec() -> TaggerSpec {
    let tags = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"];
    // ids 0 <PAD>, 1 <UNK>, then 5 upper- and 5 lower-case letters.
    let chars: Vec<String> = [
        "<PAD>", "<UNK>", "A", "B", "C", "D", "E", "a", "b", "c", "d", "e",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    assert_eq!(chars.len() as i64, N_CHARS);
    TaggerSpec {
        n_words: N_WORDS,
        n_vector_rows: 0,
        vector_dim: 0,
        word_vector_rows: Vec::new(),
        n_chars: N_CHARS,
        tags: tags.iter().map(|s| s.to_string()).collect(),
        scheme: TagScheme::Iob2,
        char_classes: CharClasses::from_chars(chars.iter().map(String::as_str)),
        columns: Vec::new(),
    }
}

/// Sentences of 1 to 9 words; words of 0 to 7 characters.
fn sentences(seed: u64) -> Vec<Sentence> {
    let mut state = seed;
    let mut next = |n: u64| {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 33) % n
    };
    (0..11)
        .map(|_| {
            let len = 1 + next(9) as usize;
            Sentence {
                columns: Vec::new(),
                words: (0..len).map(|_| next(N_WORDS as u64) as i64).collect(),
                chars: (0..len)
                    .map(|_| {
                        (0..next(8))
                            .map(|_| 1 + next(N_CHARS as u64 - 1) as i64)
                            .collect()
                    })
                    .collect(),
            }
        })
        .collect()
}

/// The sentences as one libtorch batch, padded as `ner-predict` padded them.
fn batch(sentences: &[Sentence]) -> BatchTensors {
    let width = sentences.iter().map(|s| s.words.len()).max().unwrap_or(1);
    let char_width = sentences
        .iter()
        .flat_map(|s| s.chars.iter().map(Vec::len))
        .max()
        .unwrap_or(1)
        .max(1);
    let rows = sentences.len();
    let mut words = vec![0i64; rows * width];
    let mut chars = vec![0i64; rows * width * char_width];
    for (r, s) in sentences.iter().enumerate() {
        for (t, &w) in s.words.iter().enumerate() {
            words[r * width + t] = w;
            for (c, &id) in s.chars[t].iter().enumerate() {
                chars[(r * width + t) * char_width + c] = id;
            }
        }
    }
    let lengths: Vec<i64> = sentences.iter().map(|s| s.words.len() as i64).collect();
    BatchTensors {
        sentence_ids: Vec::new(),
        lengths: Tensor::from_slice(&lengths),
        word_ids: Tensor::from_slice(&words).view([rows as i64, width as i64]),
        tag_ids: Tensor::zeros([rows as i64, width as i64], (Kind::Int64, Device::Cpu)),
        char_ids: Tensor::from_slice(&chars).view([rows as i64, width as i64, char_width as i64]),
        columns: Vec::new(),
    }
}

#[test]
fn every_architecture_scores_and_decodes_as_libtorch() {
    let dir = tempfile::tempdir().expect("tempdir");
    let spec = spec();
    for (i, (name, config)) in architectures().into_iter().enumerate() {
        tch::manual_seed(i as i64);
        let vs = nn::VarStore::new(Device::Cpu);
        let mut tagger = Tagger::with_spec(&vs.root(), &config, &spec);
        // The reference is libtorch's own recurrent ops.
        tagger.set_kernel(Kernel::Libtorch);
        // Random values everywhere (the CRF starts at zero).
        tch::no_grad(|| {
            for mut p in vs.trainable_variables() {
                let random = Tensor::randn(p.size(), (Kind::Float, Device::Cpu)) * 0.5;
                p.copy_(&random);
            }
        });
        let path = dir.path().join(format!("{i}.safetensors"));
        vs.save(&path).expect("save");
        let weights = Weights::open(&path).expect("open");
        let model = Model::load(&config, &spec, &weights, None, usize::MAX).expect(name);

        let sentences = sentences(i as u64 + 1);
        let batch = batch(&sentences);
        let expected = tch::no_grad(|| tagger.forward(&batch, Mode::Eval).emissions);
        let got = model.emissions(&sentences).expect("emissions");
        let width = batch.word_ids.size()[1] as usize;
        let k = spec.tags.len();
        let flat: Vec<f32> = Vec::try_from(&expected.contiguous().view([-1])).expect("floats");
        let mut worst = 0f32;
        for (r, s) in sentences.iter().enumerate() {
            let want = &flat[r * width * k..(r * width + s.words.len()) * k];
            assert_eq!(got[r].len(), want.len(), "{name}: sentence {r}");
            for (a, b) in got[r].iter().zip(want) {
                worst = worst.max((a - b).abs());
            }
        }
        assert!(worst < 1e-4, "{name}: tag scores differ by {worst}");

        let want_paths = tagger.predict(&batch).expect("predict");
        // One batch, as libtorch had it; and batches of 3 over 2 threads for
        // the models whose features do not depend on the batch.
        assert_eq!(
            model.tag(&sentences, 64, 1).expect("tag"),
            want_paths,
            "{name}"
        );
        if config.chars != CharEncoder::Cnn {
            assert_eq!(
                model.tag(&sentences, 3, 2).expect("tag"),
                want_paths,
                "{name}"
            );
        }
    }
}

#[test]
fn weights_of_another_model_are_refused_by_name() {
    let dir = tempfile::tempdir().expect("tempdir");
    let spec = spec();
    let vs = nn::VarStore::new(Device::Cpu);
    let lstm = config(Cell::Lstm, true, 1, WordInput::Onehot);
    let _tagger = Tagger::with_spec(&vs.root(), &lstm, &spec);
    let path = dir.path().join("lstm.safetensors");
    vs.save(&path).expect("save");
    let weights = Weights::open(&path).expect("open");
    let gru = config(Cell::Gru, true, 1, WordInput::Onehot);
    let err = Model::load(&gru, &spec, &weights, None, 64).expect_err("a GRU from LSTM weights");
    assert!(
        err.to_string()
            .contains("onehot.weight_ih_l0 has shape [40, 24]"),
        "{err}"
    );
    let two = config(Cell::Lstm, true, 2, WordInput::Onehot);
    let err = Model::load(&two, &spec, &weights, None, 64).expect_err("two layers from one");
    assert!(
        err.to_string().contains("has no tensor rnn.weight_ih_l1"),
        "{err}"
    );

    std::fs::write(&path, b"\x10\x00\x00\x00\x00\x00\x00\x00{not json}......").expect("write");
    let err = Weights::open(&path).expect_err("bad header").to_string();
    assert!(
        err.starts_with(&format!("{}: not a safetensors file", path.display())),
        "{err}"
    );
}

#[test]
fn ids_outside_the_vocabularies_are_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let spec = spec();
    let vs = nn::VarStore::new(Device::Cpu);
    let mut c = config(Cell::Lstm, true, 1, WordInput::Embedding);
    c.chars = CharEncoder::Cnn;
    let _tagger = Tagger::with_spec(&vs.root(), &c, &spec);
    let path = dir.path().join("m.safetensors");
    vs.save(&path).expect("save");
    let model =
        Model::load(&c, &spec, &Weights::open(&path).expect("open"), None, 64).expect("load");
    let word = Sentence {
        columns: Vec::new(),
        words: vec![3, N_WORDS],
        chars: vec![vec![2], vec![3]],
    };
    let err = model.tag(&[word], 8, 1).expect_err("word id").to_string();
    assert!(
        err.contains("word id 40 is outside the model's 40 words"),
        "{err}"
    );
    let ch = Sentence {
        columns: Vec::new(),
        words: vec![3],
        chars: vec![vec![N_CHARS]],
    };
    let err = model.tag(&[ch], 8, 1).expect_err("char id").to_string();
    assert!(
        err.contains("character id 12 is outside the model's 12 characters"),
        "{err}"
    );
}

/// Word ids past the vocabulary read the pre-trained vectors' rows: frozen
/// (the matrix in its own file) or tuned (in the weights); in place of a
/// row, or beside every word's own row (`word_vectors = "beside"`: a
/// training word's vector by `word_vector_rows`, none for some).
#[test]
fn vector_rows_score_and_decode_as_libtorch() {
    let dir = tempfile::tempdir().expect("tempdir");
    let rows = 7;
    for (tune, beside) in [(false, false), (true, false), (false, true), (true, true)] {
        let mut config = config(Cell::Lstm, true, 1, WordInput::Embedding);
        config.output = OutputLayer::Crf;
        config.chars = CharEncoder::Cnn;
        config.casing_dim = 2;
        config.tune_vectors = tune;
        let dim = if beside {
            config.word_vectors = WordVectors::Beside;
            6
        } else {
            config.embedding_dim
        };
        let spec = TaggerSpec {
            n_vector_rows: rows,
            vector_dim: dim,
            word_vector_rows: if beside {
                (0..N_WORDS)
                    .map(|w| if w % 3 == 0 { -1 } else { w % rows })
                    .collect()
            } else {
                Vec::new()
            },
            ..spec()
        };
        tch::manual_seed(40 + i64::from(tune) + 2 * i64::from(beside));
        let vs = nn::VarStore::new(Device::Cpu);
        let mut tagger = Tagger::with_spec(&vs.root(), &config, &spec);
        tagger.set_kernel(Kernel::Libtorch);
        tch::no_grad(|| {
            for mut p in vs.trainable_variables() {
                let random = Tensor::randn(p.size(), (Kind::Float, Device::Cpu)) * 0.5;
                p.copy_(&random);
            }
        });
        let matrix = Tensor::randn([rows, dim], (Kind::Float, Device::Cpu));
        let vectors = tagger.vector_rows().expect("vector rows");
        tch::no_grad(|| vectors.shallow_clone().copy_(&matrix));
        assert_eq!(vectors.requires_grad(), tune);
        let weights_path = dir.path().join(format!("w{tune}{beside}.safetensors"));
        vs.save(&weights_path).expect("save");
        let matrix_path = dir.path().join("vectors.safetensors");
        Tensor::write_safetensors(&[("vectors", &matrix)], &matrix_path).expect("matrix");
        let weights = Weights::open(&weights_path).expect("open");
        let frozen = Weights::open(&matrix_path).expect("open");
        let model = Model::load(&config, &spec, &weights, Some(&frozen), usize::MAX).expect("load");

        let mut sentences = sentences(9);
        for (i, s) in sentences.iter_mut().enumerate() {
            for (t, w) in s.words.iter_mut().enumerate() {
                if (i + t) % 2 == 0 {
                    *w = N_WORDS + ((i + t) as i64 % rows);
                }
            }
        }
        let batch = batch(&sentences);
        let expected = tch::no_grad(|| tagger.forward(&batch, Mode::Eval).emissions);
        let got = model.emissions(&sentences).expect("emissions");
        let width = batch.word_ids.size()[1] as usize;
        let k = spec.tags.len();
        let flat: Vec<f32> = Vec::try_from(&expected.contiguous().view([-1])).expect("floats");
        for (r, s) in sentences.iter().enumerate() {
            let want = &flat[r * width * k..(r * width + s.words.len()) * k];
            let worst = got[r]
                .iter()
                .zip(want)
                .map(|(a, b)| (a - b).abs())
                .fold(0f32, f32::max);
            assert!(
                worst < 1e-4,
                "tune {tune}, beside {beside}, sentence {r}: scores differ by {worst}"
            );
        }
        assert_eq!(
            model.tag(&sentences, 64, 1).expect("tag"),
            tagger.predict(&batch).expect("predict")
        );
        let outside = Sentence {
            columns: Vec::new(),
            words: vec![N_WORDS + rows],
            chars: vec![vec![2]],
        };
        let err = model
            .tag(&[outside], 8, 1)
            .expect_err("past the rows")
            .to_string();
        assert!(err.contains("is outside the model's 47 words"), "{err}");
    }
}

/// Source columns embedded beside the words score and decode as libtorch.
#[test]
fn source_columns_score_and_decode_as_libtorch() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = config(Cell::Lstm, true, 1, WordInput::Embedding);
    config.output = OutputLayer::Crf;
    config.columns = vec!["pos".into(), "chunk".into()];
    config.column_dim = 3;
    let spec = TaggerSpec {
        columns: vec![("pos".into(), 6), ("chunk".into(), 4)],
        ..spec()
    };
    tch::manual_seed(50);
    let vs = nn::VarStore::new(Device::Cpu);
    let mut tagger = Tagger::with_spec(&vs.root(), &config, &spec);
    tagger.set_kernel(Kernel::Libtorch);
    tch::no_grad(|| {
        for mut p in vs.trainable_variables() {
            let random = Tensor::randn(p.size(), (Kind::Float, Device::Cpu)) * 0.5;
            p.copy_(&random);
        }
    });
    let path = dir.path().join("w.safetensors");
    vs.save(&path).expect("save");
    let model = Model::load(
        &config,
        &spec,
        &Weights::open(&path).expect("open"),
        None,
        64,
    )
    .expect("load");
    let mut sentences = sentences(11);
    for (i, s) in sentences.iter_mut().enumerate() {
        let n = s.words.len();
        s.columns = vec![
            (0..n).map(|t| ((i + t) % 6) as i64).collect(),
            (0..n).map(|t| ((i * t) % 4) as i64).collect(),
        ];
    }
    let mut batch = batch(&sentences);
    let width = batch.word_ids.size()[1] as usize;
    batch.columns = (0..2)
        .map(|c| {
            let mut ids = vec![0i64; sentences.len() * width];
            for (r, s) in sentences.iter().enumerate() {
                ids[r * width..r * width + s.words.len()].copy_from_slice(&s.columns[c]);
            }
            Tensor::from_slice(&ids).view([sentences.len() as i64, width as i64])
        })
        .collect();
    let expected = tch::no_grad(|| tagger.forward(&batch, Mode::Eval).emissions);
    let got = model.emissions(&sentences).expect("emissions");
    let k = spec.tags.len();
    let flat: Vec<f32> = Vec::try_from(&expected.contiguous().view([-1])).expect("floats");
    for (r, s) in sentences.iter().enumerate() {
        let want = &flat[r * width * k..(r * width + s.words.len()) * k];
        let worst = got[r]
            .iter()
            .zip(want)
            .map(|(a, b)| (a - b).abs())
            .fold(0f32, f32::max);
        assert!(worst < 1e-4, "sentence {r}: scores differ by {worst}");
    }
    assert_eq!(
        model.tag(&sentences, 64, 1).expect("tag"),
        tagger.predict(&batch).expect("predict")
    );
    let mut missing = sentences[0].clone();
    missing.columns.pop();
    let err = model
        .tag(&[missing], 8, 1)
        .expect_err("one column")
        .to_string();
    assert!(
        err.contains("the model reads the columns [pos, chunk] beside the words"),
        "{err}"
    );
}
