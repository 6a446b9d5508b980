//! `ner-predict` (through its library) on models `ner-train` trained: a
//! character CRF gives back its training sentences, and a model decoding in
//! BIOES on IOB2 data is the model trained on BIOES data.

use std::path::Path;

use ner_core::scheme::TagScheme;
use ner_predict::{predict, Combine, Config, InputFormat};

const TRAIN: &str = "\
EU B-ORG
rejects O
German B-MISC
call O

Peter B-PER
Blackburn I-PER

BRUSSELS B-LOC
1996-08-22 O
";

const CHAR_CRF: &str = "[model]\ncell = \"lstm\"\nbidirectional = true\nlayers = 1\nhidden = 8\n\
    input = \"embedding\"\nembedding_dim = 8\nchars = \"cnn\"\nchar_dim = 4\nchar_hidden = 5\n\
    casing_dim = 2\noutput = \"crf\"\n[train]\nepochs = 30\nlr = 0.02\nbatch_size = 2\n";

fn trained_with(pipeline: &str) -> tempfile::TempDir {
    trained_on(TRAIN, TagScheme::Iob2, pipeline)
}

/// A model trained on `corpus` converted to `scheme`, validated on the
/// training batches.
fn trained_on(corpus: &str, scheme: TagScheme, pipeline: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = |name: &str| dir.path().join(name);
    std::fs::write(p("train.txt"), corpus).expect("write");
    let mut convert = ner_convert::Config::new(p("train.txt"), p("train.parquet"));
    convert.output_scheme = scheme;
    ner_convert::convert(&convert).expect("convert");
    ner_vocab::build(&ner_vocab::Config::new(p("train.parquet"), p("vocab"))).expect("vocab");
    let mut encode = ner_encode::Config::new(
        p("train.parquet"),
        ner_encode::VocabPaths::in_dir(p("vocab")),
        p("train.arrow"),
    );
    encode.batch_size = 2;
    ner_encode::encode(&encode).expect("encode");
    let pipeline: ner_train::config::Pipeline = toml::from_str(pipeline).expect("pipeline");
    let config = ner_train::trainer::Config {
        name: "tiny".into(),
        pipeline,
        train: p("train.arrow"),
        valid: p("train.arrow"),
        vocab: ner_core::schema::vocab::VocabDir::new(p("vocab")),
        vectors: None,
        output_dir: p("model"),
        device: tch::Device::Cpu,
        threads: Some(1),
        progress: false,
        resume: false,
        stop: None,
    };
    // libtorch's generator is global: tests training at once would share it.
    static TRAINING: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one_at_a_time = TRAINING.lock().unwrap_or_else(|e| e.into_inner());
    ner_train::trainer::train(&config).expect("train");
    dir
}

/// Predicts `input` (relative to `dir`) with the model in `dir/model`.
fn run(dir: &Path, input: &str, outputs: &[(&str, &str)]) {
    let mut config = Config::new(dir.join("model"), dir.join(input));
    for &(kind, file) in outputs {
        let file = Some(dir.join(file));
        match kind {
            "parquet" => config.outputs.parquet = file,
            "conll" => config.outputs.conll = file,
            _ => config.outputs.entities = file,
        }
    }
    predict(&config).expect("predicts");
}

#[test]
fn a_char_crf_model_predicts_and_scores_unchanged() {
    let dir = trained_with(CHAR_CRF);
    let d = dir.path();
    run(d, "train.txt", &[("parquet", "p.parquet")]);
    let report = ner_score::score_predictions(&d.join("p.parquet")).expect("scores");
    // Thirty epochs on eight tokens: the training sentences come back.
    assert_eq!(
        (report.counts.gold, report.counts.correct),
        (4, 4),
        "{report:?}"
    );
    // Unseen words and characters go through <UNK>.
    std::fs::write(d.join("new.txt"), "Zürich ÆØÅ qq\n").expect("write");
    run(d, "new.txt", &[("conll", "new.conll")]);
    let conll = std::fs::read_to_string(d.join("new.conll")).expect("conll");
    assert_eq!(
        conll.lines().filter(|l| !l.is_empty()).count(),
        3,
        "{conll}"
    );
}

/// Every entity type with all four BIOES prefixes (B, I, E in "John Smith
/// Jr", S in "Paris"), so the BIOES vocabulary of the converted data holds
/// the same seventeen-style tag set a BIOES model derives from IOB2 tags.
const ALL_PREFIXES: &str = "\
John B-PER
Smith I-PER
Jr I-PER
visited O
Paris B-LOC

New B-LOC
York I-LOC
City I-LOC
and O
Bob B-PER
";

/// `model.tag_scheme = "bioes"` on IOB2 batches trains exactly the model
/// that plain training on batches converted to BIOES does (same weights,
/// bit for bit, same losses), and predicts in IOB2.
#[test]
fn a_bioes_model_on_iob2_data_is_the_model_trained_on_bioes_data() {
    let bioes_inside = CHAR_CRF.replace(
        "output = \"crf\"",
        "output = \"crf\"\ntag_scheme = \"bioes\"",
    );
    assert_ne!(bioes_inside, CHAR_CRF);
    let inside = trained_on(ALL_PREFIXES, TagScheme::Iob2, &bioes_inside);
    let converted = trained_on(ALL_PREFIXES, TagScheme::Bioes, CHAR_CRF);
    let weights = |dir: &tempfile::TempDir| {
        std::fs::read(dir.path().join("model/model.safetensors")).expect("weights")
    };
    assert!(
        weights(&inside) == weights(&converted),
        "the weights differ"
    );
    let metrics = |dir: &tempfile::TempDir| {
        ner_train::trainer::read_metrics(&dir.path().join("model/metrics.jsonl"))
            .expect("metrics")
            .iter()
            .map(|m| (m.train_loss, m.val_entity_f1))
            .collect::<Vec<_>>()
    };
    let (a, b) = (metrics(&inside), metrics(&converted));
    assert_eq!(
        a.iter().map(|m| m.0).collect::<Vec<_>>(),
        b.iter().map(|m| m.0).collect::<Vec<_>>()
    );
    // Validation scores the IOB2 rewriting of each decoded sentence; the
    // two agree once the decoded BIOES sequences are well formed (the first
    // epochs' need not be, and conlleval reads those another way).
    assert_eq!(a.last(), b.last());

    let d = inside.path();
    run(
        d,
        "train.txt",
        &[("parquet", "p.parquet"), ("conll", "p.conll")],
    );
    let conll = std::fs::read_to_string(d.join("p.conll")).expect("conll");
    assert!(
        conll.contains("B-PER") && conll.contains("I-PER"),
        "{conll}"
    );
    assert!(
        !conll.contains("E-") && !conll.contains("S-"),
        "predictions come out in the data's scheme: {conll}"
    );
    let report = ner_score::score_predictions(&d.join("p.parquet")).expect("scores");
    assert_eq!(
        (report.counts.gold, report.counts.correct),
        (4, 4),
        "{report:?}"
    );
}

/// A model trained with the vectors `vectors` (a GloVe text file) on
/// `corpus`, its batches encoded with them (the extended vocabulary); the
/// vectors folder removed after training, so prediction reads the model
/// folder's own copy.
fn trained_on_vectors(corpus: &str, vectors: &str, pipeline: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = |name: &str| dir.path().join(name);
    std::fs::write(p("train.txt"), corpus).expect("write");
    ner_convert::convert(&ner_convert::Config::new(
        p("train.txt"),
        p("train.parquet"),
    ))
    .expect("convert");
    ner_vocab::build(&ner_vocab::Config::new(p("train.parquet"), p("vocab"))).expect("vocab");
    std::fs::write(p("vectors.txt"), vectors).expect("write");
    ner_vectors::convert(&ner_vectors::Config::new(p("vectors.txt"), p("vectors")))
        .expect("vectors");
    let vectors = ner_core::schema::vectors::VectorsDir::new(p("vectors"));
    let mut encode = ner_encode::Config::new(
        p("train.parquet"),
        ner_encode::VocabPaths::in_dir(p("vocab")),
        p("train.arrow"),
    );
    encode.batch_size = 2;
    encode.vectors = Some(vectors.clone());
    ner_encode::encode(&encode).expect("encode");
    let config = ner_train::trainer::Config {
        name: "vectors".into(),
        pipeline: toml::from_str(pipeline).expect("pipeline"),
        train: p("train.arrow"),
        valid: p("train.arrow"),
        vocab: ner_core::schema::vocab::VocabDir::new(p("vocab")),
        vectors: Some(vectors),
        output_dir: p("model"),
        device: tch::Device::Cpu,
        threads: Some(1),
        progress: false,
        resume: false,
        stop: None,
    };
    ner_train::trainer::train(&config).expect("train");
    assert!(
        p("model/vocab/keys.parquet").exists() && p("model/vocab/vectors.safetensors").exists()
    );
    std::fs::remove_dir_all(p("vectors")).expect("rm");
    dir
}

/// The tags `ner-predict` gives the lines of `text` (one sentence a line).
fn predicted_tags(dir: &Path, text: &str) -> Vec<String> {
    std::fs::write(dir.join("new.txt"), text).expect("write");
    run(dir, "new.txt", &[("conll", "new.conll")]);
    let conll = std::fs::read_to_string(dir.join("new.conll")).expect("conll");
    conll
        .lines()
        .filter(|l| !l.is_empty())
        .map(|l| l.rsplit(' ').next().unwrap_or("").to_string())
        .collect()
}

/// An 8-d GloVe line of `word` with 3 at `i` and zeros elsewhere.
fn one_hot_vector(word: &str, i: usize) -> String {
    let values: Vec<&str> = (0..8).map(|j| if i == j { "3" } else { "0" }).collect();
    format!("{word} {}\n", values.join(" "))
}

const WORDS_MODEL: &str = "[model]\ncell = \"lstm\"\nbidirectional = true\nlayers = 1\n\
    hidden = 8\ninput = \"embedding\"\nembedding_dim = 8\n";

/// Words the training split never had are tagged through their vectors:
/// "Lyon" shares Paris's vector and "Mary" John's, frozen; with the
/// extended vocabulary they come out as a location and a person, through
/// the model folder's own copy of the vectors.
#[test]
fn unseen_words_are_tagged_through_their_vectors() {
    let corpus = "Paris B-LOC\nis O\nnice O\n\nJohn B-PER\nis O\nnice O\n\n".repeat(4);
    let vectors: String = [
        ("Paris", 0),
        ("Lyon", 0),
        ("John", 1),
        ("Mary", 1),
        ("is", 2),
    ]
    .iter()
    .chain(&[("nice", 3)])
    .map(|(w, i)| one_hot_vector(w, *i))
    .collect();
    let pipeline = format!("{WORDS_MODEL}[train]\nepochs = 30\nlr = 0.02\nbatch_size = 2\n");
    let dir = trained_on_vectors(&corpus, &vectors, &pipeline);
    let tags = predicted_tags(dir.path(), "Lyon is nice\nMary is nice\nOslo is nice\n");
    assert_eq!(
        &tags[..6],
        ["B-LOC", "O", "O", "B-PER", "O", "O"],
        "{tags:?}"
    );
}

/// With the vectors beside the words (`word_vectors = "beside"`) a name
/// seen once in training always reads `<UNK>`'s row there (word dropout at
/// 1), so only its vector tells a location from a person: the model learns
/// from the vectors that training words carry, and tags unseen words that
/// share them.
#[test]
fn vectors_beside_the_words_tag_unseen_words() {
    let (places, people) = (
        ["Paris", "Rome", "Berlin", "Madrid"],
        ["John", "Peter", "Paul", "Mark"],
    );
    let mut corpus = String::new();
    let mut vectors = one_hot_vector("is", 2) + &one_hot_vector("nice", 3);
    for (place, person) in places.iter().zip(people) {
        corpus.push_str(&format!(
            "{place} B-LOC\nis O\nnice O\n\n{person} B-PER\nis O\nnice O\n\n"
        ));
        vectors += &(one_hot_vector(place, 0) + &one_hot_vector(person, 1));
    }
    vectors += &(one_hot_vector("Lyon", 0) + &one_hot_vector("Mary", 1));
    let pipeline = format!(
        "{WORDS_MODEL}embedding_dim = 4\nword_vectors = \"beside\"\n\
         [train]\nepochs = 30\nlr = 0.02\nbatch_size = 2\nunk_replace = 1.0\n"
    )
    .replace("embedding_dim = 8\n", "");
    let dir = trained_on_vectors(&corpus, &vectors, &pipeline);
    let card = std::fs::read_to_string(dir.path().join("model/config.json")).expect("card");
    assert!(card.contains("\"word_vectors\": \"beside\""), "{card}");
    let tags = predicted_tags(dir.path(), "Lyon is nice\nMary is nice\n");
    assert_eq!(tags, ["B-LOC", "O", "O", "B-PER", "O", "O"], "{tags:?}");
}

/// A model that embeds the corpus's POS column reads it from CoNLL and
/// Parquet input, and refuses text, which has none.
#[test]
fn a_model_with_source_columns_needs_them_in_its_input() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = |name: &str| dir.path().join(name);
    let corpus = "EU NNP B-ORG\nrejects VBZ O\n\nPeter NNP B-PER\nBlackburn NNP I-PER\n";
    std::fs::write(p("train.txt"), corpus).expect("write");
    ner_convert::convert(&ner_convert::Config::new(
        p("train.txt"),
        p("train.parquet"),
    ))
    .expect("convert");
    let mut vocab = ner_vocab::Config::new(p("train.parquet"), p("vocab"));
    vocab.columns = vec!["pos".into()];
    ner_vocab::build(&vocab).expect("vocab");
    let mut encode = ner_encode::Config::new(
        p("train.parquet"),
        ner_encode::VocabPaths::in_dir(p("vocab")),
        p("train.arrow"),
    );
    encode.batch_size = 2;
    encode.columns = vec!["pos".into()];
    ner_encode::encode(&encode).expect("encode");
    let pipeline: ner_train::config::Pipeline = toml::from_str(
        "[model]\ncell = \"lstm\"\nbidirectional = true\nlayers = 1\nhidden = 8\n\
         input = \"embedding\"\nembedding_dim = 8\ncolumns = [\"pos\"]\ncolumn_dim = 4\n\
         [train]\nepochs = 2\nlr = 0.02\nbatch_size = 2\n",
    )
    .expect("pipeline");
    let config = ner_train::trainer::Config {
        name: "columns".into(),
        pipeline,
        train: p("train.arrow"),
        valid: p("train.arrow"),
        vocab: ner_core::schema::vocab::VocabDir::new(p("vocab")),
        vectors: None,
        output_dir: p("model"),
        device: tch::Device::Cpu,
        threads: Some(1),
        progress: false,
        resume: false,
        stop: None,
    };
    ner_train::trainer::train(&config).expect("train");
    assert!(p("model/vocab/column.pos.parquet").exists());
    run(dir.path(), "train.txt", &[("conll", "a.conll")]);
    run(dir.path(), "train.parquet", &[("conll", "b.conll")]);
    assert_eq!(
        std::fs::read_to_string(p("a.conll")).expect("a"),
        std::fs::read_to_string(p("b.conll")).expect("b")
    );
    std::fs::write(p("new.txt"), "EU rejects it\n").expect("write");
    let err = predict(&Config::new(p("model"), p("new.txt")))
        .expect_err("text has no columns")
        .to_string();
    assert!(
        err.contains(
            "the model reads the columns [pos] beside the words, which text input does not have"
        ),
        "{err}"
    );
}

/// Every tag and entity carries a probability, the n best paths start with
/// the predicted one, and models of one tag set decode as an ensemble.
#[test]
fn confidences_nbest_and_ensembles() {
    let dir = trained_with(CHAR_CRF);
    let d = dir.path();
    let mut config = Config::new(d.join("model"), d.join("train.txt"));
    config.nbest = 3;
    config.outputs.parquet = Some(d.join("p.parquet"));
    config.outputs.entities = Some(d.join("e.jsonl"));
    predict(&config).expect("predicts");
    let rows = ner_core::tables::PredictionRows::read(&d.join("p.parquet")).expect("read");
    for i in 0..rows.len() {
        assert_eq!(rows.probs[i].len(), rows.predicted[i].len());
        assert!(rows.probs[i].iter().all(|&p| p > 0.0 && p <= 1.0));
        let nbest = &rows.nbest[i];
        assert_eq!(nbest.len(), 3);
        assert_eq!(nbest[0].0, rows.predicted[i]);
        assert!(nbest.windows(2).all(|w| w[0].1 >= w[1].1));
        assert!(nbest.iter().map(|n| n.1).sum::<f64>() <= 1.0 + 1e-9);
        // A path is no more likely than any of its tags.
        let least = rows.probs[i].iter().fold(1f32, |m, &p| m.min(p));
        assert!(nbest[0].1 <= f64::from(least) + 1e-6);
    }
    let lines = std::fs::read_to_string(d.join("e.jsonl")).expect("entities");
    let entities: Vec<serde_json::Value> = lines
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    assert_eq!(entities.len(), 4, "{lines}");
    assert_eq!(
        rows.entity_probs.iter().map(Vec::len).sum::<usize>(),
        entities.len()
    );
    for e in &entities {
        let c = e["confidence"].as_f64().expect("confidence");
        assert!(c > 0.0 && c <= 1.0, "{e}");
    }

    // An ensemble of the model and a second one trained on the same tags.
    let other = trained_with(&CHAR_CRF.replace("lr = 0.02", "lr = 0.03"));
    let mut both = Config::new(d.join("model"), d.join("train.txt"));
    both.ensemble = vec![other.path().join("model")];
    both.outputs.parquet = Some(d.join("both.parquet"));
    predict(&both).expect("ensemble");
    let report = ner_score::score_predictions(&d.join("both.parquet")).expect("scores");
    assert_eq!((report.counts.gold, report.counts.correct), (4, 4));
    // A model with itself is itself.
    let twice_config = |d: &std::path::Path, out: &str| {
        let mut twice = Config::new(d.join("model"), d.join("train.txt"));
        twice.ensemble = vec![d.join("model")];
        twice.outputs.parquet = Some(d.join(out));
        twice
    };
    let twice = twice_config(d, "twice.parquet");
    predict(&twice).expect("ensemble");
    let twice = ner_core::tables::PredictionRows::read(&d.join("twice.parquet")).expect("read");
    assert_eq!(twice.predicted, rows.predicted);
    for (a, b) in twice
        .entity_probs
        .iter()
        .flatten()
        .zip(rows.entity_probs.iter().flatten())
    {
        assert!((a - b).abs() < 1e-5, "{a} {b}");
    }
    // So is its product with itself, n-best list included; the product of
    // the two models tags the sentences as the mixture does.
    let mut product = twice_config(d, "product.parquet");
    product.combine = Combine::Product;
    product.nbest = 3;
    predict(&product).expect("product");
    let product = ner_core::tables::PredictionRows::read(&d.join("product.parquet")).expect("read");
    assert_eq!(product.predicted, rows.predicted);
    let combine = |rows: &ner_core::tables::PredictionRows| {
        rows.metadata
            .get(ner_core::schema::keys::COMBINE)
            .map(str::to_string)
    };
    assert_eq!(combine(&product).as_deref(), Some("product"));
    assert_eq!(combine(&twice).as_deref(), Some("mixture"));
    assert_eq!(combine(&rows), None, "one model has no rule");
    for (p, r) in product.nbest.iter().zip(&rows.nbest) {
        assert_eq!(
            p.iter().map(|n| &n.0).collect::<Vec<_>>(),
            r.iter().map(|n| &n.0).collect::<Vec<_>>()
        );
        for (a, b) in p.iter().zip(r) {
            assert!((a.1 - b.1).abs() < 1e-5, "{} {}", a.1, b.1);
        }
    }
    both.combine = Combine::Product;
    both.outputs.parquet = Some(d.join("both-product.parquet"));
    predict(&both).expect("product of two");
    let report = ner_score::score_predictions(&d.join("both-product.parquet")).expect("scores");
    assert_eq!((report.counts.gold, report.counts.correct), (4, 4));

    // Another tag set cannot join; a softmax model has no n-best.
    let bioes = trained_on(ALL_PREFIXES, TagScheme::Iob2, CHAR_CRF);
    let mut mixed = Config::new(d.join("model"), d.join("train.txt"));
    mixed.ensemble = vec![bioes.path().join("model")];
    let err = predict(&mixed).expect_err("other tags").to_string();
    assert!(err.contains("cannot join an ensemble"), "{err}");
    let softmax = trained_with(&CHAR_CRF.replace("output = \"crf\"", "output = \"softmax\""));
    let mut nbest = Config::new(softmax.path().join("model"), d.join("train.txt"));
    nbest.nbest = 2;
    let err = predict(&nbest).expect_err("softmax").to_string();
    assert!(err.contains("n-best paths need a CRF model"), "{err}");
}

/// Document consistency: where no capitalised word repeats in a document
/// it changes nothing, probabilities and n-best included; with a weight
/// far above the scores, every occurrence of a repeated word takes one
/// type, for one model and for an ensemble; the predictions record it.
#[test]
fn document_consistency() {
    let dir = trained_with(CHAR_CRF);
    let d = dir.path();
    let read = |name: &str| ner_core::tables::PredictionRows::read(&d.join(name)).expect("read");
    let run = |input: &str, out: &str, consistency: f32, ensemble: &[&Path]| {
        let mut config = Config::new(d.join("model"), d.join(input));
        config.format = InputFormat::Conll;
        config.consistency = consistency;
        config.nbest = 2;
        config.ensemble = ensemble.iter().map(|p| p.to_path_buf()).collect();
        config.outputs.parquet = Some(d.join(out));
        predict(&config).expect("predicts");
        read(out)
    };
    let plain = run("train.txt", "plain.parquet", 0.0, &[]);
    let once = run("train.txt", "once.parquet", 10.0, &[]);
    assert_eq!(once.predicted, plain.predicted);
    assert_eq!(once.probs, plain.probs);
    assert_eq!(once.nbest, plain.nbest);
    let key = |rows: &ner_core::tables::PredictionRows| {
        rows.metadata
            .get(ner_core::schema::keys::CONSISTENCY)
            .map(str::to_string)
    };
    assert_eq!(key(&plain), None);
    assert_eq!(key(&once).as_deref(), Some("10"));

    // "Blackburn" four times in the first document, once in the second.
    std::fs::write(
        d.join("docs.txt"),
        "-DOCSTART-\n\nPeter\nBlackburn\n\nBlackburn\nrejects\n\nBRUSSELS\nBlackburn\n\n\
         German\nBlackburn\ncall\n\n-DOCSTART-\n\nBlackburn\n",
    )
    .expect("write");
    let kind = |tag: &str| tag.split_once('-').map_or("O", |(_, k)| k).to_string();
    let other = trained_with(&CHAR_CRF.replace("lr = 0.02", "lr = 0.03"));
    let second = other.path().join("model");
    for (out, ensemble) in [
        ("one.parquet", vec![]),
        ("two.parquet", vec![second.as_path()]),
    ] {
        let rows = run("docs.txt", out, 1000.0, &ensemble);
        let kinds: Vec<String> = rows
            .tokens
            .iter()
            .zip(&rows.predicted)
            .take(4)
            .flat_map(|(tokens, tags)| {
                tokens
                    .iter()
                    .zip(tags)
                    .filter(|(t, _)| *t == "Blackburn")
                    .map(|(_, tag)| kind(tag))
            })
            .collect();
        assert_eq!(kinds.len(), 4, "{out}");
        assert!(kinds.iter().all(|k| *k == kinds[0]), "{out}: {kinds:?}");
        for (probs, nbest) in rows.probs.iter().zip(&rows.nbest) {
            assert!(probs.iter().all(|&p| p > 0.0 && p <= 1.0));
            assert_eq!(nbest[0].0.len(), probs.len());
        }
    }
}
