//! The tagger through its public API: the course models' parameter counts,
//! the layers on `ner-kernels` against libtorch's ops and autograd, the
//! one-hot lookup against a dense one-hot input, and padding.

use ner_core::scheme::TagScheme;
use ner_kernels::CharClasses;
use ner_model::card::TaggerSpec;
use ner_model::config::{Cell, CharEncoder, ModelConfig, OutputLayer, WordInput};
use ner_train::data::BatchTensors;
use ner_train::dropout::Masks;
use ner_train::tagger::{n_parameters, Kernel, Mode, Tagger};
use tch::{nn, Device, Kind, Tensor};

fn config(cell: Cell, bidirectional: bool, layers: i64) -> ModelConfig {
    ModelConfig {
        cell,
        bidirectional,
        layers,
        hidden: 128,
        input: WordInput::Onehot,
        embedding_dim: 0,
        dropout: 0.0,
        variational_dropout: false,
        chars: CharEncoder::None,
        char_dim: 30,
        char_hidden: 50,
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

/// Word ids `[rows, width]` and lengths as a batch without tags or characters.
fn words(ids: &[i64], rows: i64, lengths: &[i64]) -> BatchTensors {
    let width = ids.len() as i64 / rows;
    BatchTensors {
        sentence_ids: Vec::new(),
        lengths: Tensor::from_slice(lengths),
        word_ids: Tensor::from_slice(ids).view([rows, width]),
        tag_ids: Tensor::zeros([rows, width], (Kind::Int64, Device::Cpu)),
        char_ids: Tensor::zeros([rows, width, 0], (Kind::Int64, Device::Cpu)),
        columns: Vec::new(),
    }
}

fn scores(tagger: &Tagger, batch: &BatchTensors, train: bool) -> Tensor {
    let masks = Masks::libtorch();
    let mode = if train {
        Mode::Train {
            masks: &masks,
            word_ids: None,
        }
    } else {
        Mode::Eval
    };
    tch::no_grad(|| tagger.forward(batch, mode).emissions)
}

#[test]
fn parameter_counts_match_the_course_models() {
    for (cell, bi, layers, expected) in [
        (Cell::Rnn, false, 1, 3_041_801),
        (Cell::Rnn, true, 1, 6_083_593),
        (Cell::Gru, true, 1, 18_246_153),
        (Cell::Lstm, true, 1, 24_327_433),
        (Cell::Lstm, true, 3, 25_117_961),
    ] {
        let vs = nn::VarStore::new(Device::Cpu);
        Tagger::new(&vs.root(), &config(cell, bi, layers), 23_625, 9);
        assert_eq!(
            n_parameters(&vs),
            expected,
            "{cell:?} bi={bi} layers={layers}"
        );
    }
}

/// A batch of four sentences of lengths 5, 2, 4 and 1 (padded to 5),
/// ids below `vocab`, tags below `tags`, characters below 6.
fn ragged_batch(vocab: i64, tags: i64) -> BatchTensors {
    let lengths = [5i64, 2, 4, 1];
    let (rows, width, char_width) = (4, 5, 3);
    let mut words = vec![0i64; rows * width];
    let mut tag_ids = vec![-100i64; rows * width];
    let mut chars = vec![0i64; rows * width * char_width];
    for (r, &len) in lengths.iter().enumerate() {
        for t in 0..len as usize {
            let k = (r * width + t) as i64;
            words[r * width + t] = 1 + (k * 7) % (vocab - 1);
            tag_ids[r * width + t] = (k * 5) % tags;
            for c in 0..1 + (k as usize % char_width) {
                chars[(r * width + t) * char_width + c] = 1 + (k + c as i64) % 5;
            }
        }
    }
    let shape = [rows as i64, width as i64];
    BatchTensors {
        sentence_ids: Vec::new(),
        lengths: Tensor::from_slice(&lengths),
        word_ids: Tensor::from_slice(&words).view(shape),
        tag_ids: Tensor::from_slice(&tag_ids).view(shape),
        char_ids: Tensor::from_slice(&chars).view([shape[0], shape[1], char_width as i64]),
        columns: Vec::new(),
    }
}

/// The layers on `ner-kernels` give libtorch's tag scores, loss and the
/// gradient of every parameter, through the tape's backward pass.
#[test]
fn kernels_match_libtorch_and_its_gradients() {
    let embedding = |cell, layers, output, chars| ModelConfig {
        input: WordInput::Embedding,
        embedding_dim: 6,
        hidden: 5,
        chars,
        char_dim: 4,
        char_hidden: 3,
        output,
        ..config(cell, true, layers)
    };
    let course = |cell, bidirectional, layers| ModelConfig {
        hidden: 6,
        ..config(cell, bidirectional, layers)
    };
    let cases = [
        ("rnn", course(Cell::Rnn, false, 1)),
        ("birnn", course(Cell::Rnn, true, 1)),
        ("bigru", course(Cell::Gru, true, 1)),
        ("bilstm", course(Cell::Lstm, true, 1)),
        ("bilstm3", course(Cell::Lstm, true, 3)),
        ("gru, 2 layers", course(Cell::Gru, false, 2)),
        ("bigru-no-reset", course(Cell::GruNoReset, true, 1)),
        (
            "bigru-no-update, 2 layers",
            course(Cell::GruNoUpdate, true, 2),
        ),
        (
            "char-cnn bilstm-crf, casing, dropout",
            ModelConfig {
                casing_dim: 2,
                embedding_init: Default::default(),
                dropout: 0.3,
                ..embedding(Cell::Lstm, 1, OutputLayer::Crf, CharEncoder::Cnn)
            },
        ),
        (
            "char-lstm bigru-crf, 2 layers",
            embedding(Cell::Gru, 2, OutputLayer::Crf, CharEncoder::Lstm),
        ),
    ];
    let (vocab, tags) = (17, 4);
    let batch = ragged_batch(vocab, tags);
    for (name, cfg) in cases {
        tch::manual_seed(5);
        let spec = TaggerSpec {
            n_chars: 6,
            char_classes: CharClasses::from_chars(
                ["<PAD>", "<UNK>", "a", "B", "c", "D"].into_iter(),
            ),
            ..TaggerSpec::plain(vocab, tags)
        };
        let vs_rust = nn::VarStore::new(Device::Cpu);
        let rust = Tagger::with_spec(&vs_rust.root(), &cfg, &spec);
        let mut vs_torch = nn::VarStore::new(Device::Cpu);
        let mut torch = Tagger::with_spec(&vs_torch.root(), &cfg, &spec);
        vs_torch.copy(&vs_rust).expect("same variables");
        torch.set_kernel(Kernel::Libtorch);
        let diff = |a: &Tensor, b: &Tensor| {
            let scale = b.abs().max().double_value(&[]).max(1e-3);
            (a - b).abs().max().double_value(&[]) / scale
        };

        // Scores at padding are never read (the kernels give zero
        // states there); compare the real positions.
        let real = batch.mask().unsqueeze(2);
        let eval = |t: &Tagger| scores(t, &batch, false).where_scalarother(&real, 0.0);
        let d = diff(&eval(&rust), &eval(&torch));
        assert!(d < 1e-5, "{name}: tag scores differ by {d}");

        let mut losses = Vec::new();
        for tagger in [&rust, &torch] {
            // The same dropout masks for both.
            let masks = Masks::seeded(6);
            let pass = tagger.forward(
                &batch,
                Mode::Train {
                    masks: &masks,
                    word_ids: None,
                },
            );
            let loss = tagger.loss(&pass.emissions, &batch);
            losses.push(loss.double_value(&[]));
            pass.tape.backward(&loss);
        }
        assert!(
            (losses[0] - losses[1]).abs() < 1e-5 * losses[1].abs(),
            "{name}: loss {losses:?}"
        );
        let theirs = vs_torch.variables();
        for (var, ours) in vs_rust.variables() {
            if !ours.requires_grad() {
                continue;
            }
            let (ours, reference) = (ours.grad(), theirs[&var].grad());
            assert!(ours.defined(), "{name}: no gradient for {var}");
            let d = diff(&ours, &reference);
            assert!(d < 1e-4, "{name}: gradient of {var} differs by {d}");
        }
    }
}

/// The lookup computes exactly what a dense one-hot input to libtorch's
/// own bidirectional op computes with the same weights.
#[test]
fn onehot_lookup_equals_dense_onehot() {
    tch::manual_seed(1);
    let (vocab, hidden) = (11, 4);
    for cell in [Cell::Rnn, Cell::Gru, Cell::Lstm] {
        let cfg = ModelConfig {
            hidden,
            ..config(cell, true, 2)
        };
        let vs = nn::VarStore::new(Device::Cpu);
        let mut tagger = Tagger::new(&vs.root(), &cfg, vocab, 3);
        let batch = words(&[3, 7, 1, 9, 2, 5], 2, &[3, 3]);
        let on_kernels = (
            scores(&tagger, &batch, false),
            scores(&tagger, &batch, true),
        );
        tagger.set_kernel(Kernel::Libtorch);
        let on_libtorch = (
            scores(&tagger, &batch, false),
            scores(&tagger, &batch, true),
        );

        let onehot = batch.word_ids.one_hot(vocab).to_kind(Kind::Float);
        let v = vs.variables();
        let mut params = Vec::new();
        for l in 0..2 {
            for s in ["", "_reverse"] {
                params.push(if l == 0 {
                    v[&format!("onehot.weight_ih_l0{s}")].tr()
                } else {
                    v[&format!("rnn.weight_ih_l{l}{s}")].shallow_clone()
                });
                for name in ["weight_hh", "bias_ih", "bias_hh"] {
                    params.push(v[&format!("rnn.{name}_l{l}{s}")].shallow_clone());
                }
            }
        }
        let h0 = Tensor::zeros([4, 2, hidden], (Kind::Float, Device::Cpu));
        let dense = match cell {
            Cell::Rnn => {
                onehot
                    .rnn_tanh(&h0, &params, true, 2, 0.0, false, true, true)
                    .0
            }
            Cell::Gru => onehot.gru(&h0, &params, true, 2, 0.0, false, true, true).0,
            _ => {
                onehot
                    .lstm(
                        &[h0.shallow_clone(), h0.shallow_clone()],
                        &params,
                        true,
                        2,
                        0.0,
                        false,
                        true,
                        true,
                    )
                    .0
            }
        };
        let reference = dense.matmul(&v["output.weight"].tr()) + &v["output.bias"];
        for (path, ours) in [
            ("kernels, inference", on_kernels.0),
            ("kernels, training", on_kernels.1),
            ("libtorch, inference", on_libtorch.0),
            ("libtorch, training", on_libtorch.1),
        ] {
            let diff = (&ours - &reference).abs().max().double_value(&[]);
            assert!(diff < 1e-5, "{cell:?}, {path}: max difference {diff}");
        }
    }
}

#[test]
fn embedding_input_builds_and_tags() {
    let cfg = ModelConfig {
        input: WordInput::Embedding,
        embedding_dim: 16,
        hidden: 8,
        dropout: 0.5,
        variational_dropout: false,
        ..config(Cell::Gru, true, 2)
    };
    let vs = nn::VarStore::new(Device::Cpu);
    let tagger = Tagger::new(&vs.root(), &cfg, 50, 5);
    // embedding 50x16; per direction and layer 3*8*16 + 3*8*8 + 2*3*8; output 16*5 + 5
    let per_direction = 24 * 16 + 24 * 8 + 2 * 24;
    assert_eq!(n_parameters(&vs), 50 * 16 + 4 * per_direction + 16 * 5 + 5);
    let batch = words(&[1, 2, 3, 4, 0, 0], 2, &[3, 1]);
    assert_eq!(scores(&tagger, &batch, true).size(), vec![2, 3, 5]);
    // Dropout is off at evaluation: two passes agree.
    let a = scores(&tagger, &batch, false);
    let b = scores(&tagger, &batch, false);
    assert_eq!((&a - &b).abs().max().double_value(&[]), 0.0);
}

#[test]
fn padding_never_changes_a_prediction() {
    tch::manual_seed(2);
    for cell in [
        Cell::Rnn,
        Cell::Gru,
        Cell::Lstm,
        Cell::GruNoReset,
        Cell::GruNoUpdate,
    ] {
        let cfg = ModelConfig {
            hidden: 8,
            ..config(cell, true, 2)
        };
        let vs = nn::VarStore::new(Device::Cpu);
        let mut tagger = Tagger::new(&vs.root(), &cfg, 20, 5);
        for kernel in [Kernel::Rust, Kernel::Libtorch] {
            tagger.set_kernel(kernel);
            let alone = scores(&tagger, &words(&[4, 5, 6], 1, &[3]), false);
            let beside_longer = scores(
                &tagger,
                &words(&[4, 5, 6, 0, 0, 0, 1, 2, 3, 4, 5, 6], 2, &[3, 6]),
                false,
            );
            let first = beside_longer.get(0).narrow(0, 0, 3);
            let diff = (&alone.get(0) - &first).abs().max().double_value(&[]);
            assert!(
                diff < 1e-6,
                "{cell:?} {kernel:?}: padding changed outputs by {diff}"
            );
        }
    }
}

/// The CRF's constraints follow the tag names of the spec.
#[test]
fn crf_models_decode_well_formed_paths() {
    tch::manual_seed(3);
    let cfg = ModelConfig {
        input: WordInput::Embedding,
        embedding_dim: 4,
        hidden: 4,
        output: OutputLayer::Crf,
        ..config(Cell::Lstm, true, 1)
    };
    let spec = TaggerSpec {
        tags: ["O", "B-PER", "I-PER"].map(String::from).to_vec(),
        scheme: TagScheme::Iob2,
        ..TaggerSpec::plain(10, 3)
    };
    let vs = nn::VarStore::new(Device::Cpu);
    let tagger = Tagger::with_spec(&vs.root(), &cfg, &spec);
    let paths = tagger
        .predict(&words(&[1, 2, 3, 4, 5, 6], 1, &[6]))
        .expect("paths");
    // No I-PER (2) after O (0) or at the start.
    let path = &paths[0];
    assert!(path[0] != 2, "{path:?}");
    for pair in path.windows(2) {
        assert!(!(pair[0] == 0 && pair[1] == 2), "{path:?}");
    }
}
