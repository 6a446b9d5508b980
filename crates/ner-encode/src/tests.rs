use super::*;
use arrow::array::Array;
use arrow::datatypes::DataType;
use ner_core::artifact::MappedIpc;
use ner_core::batches::BatchView;

const TRAIN: &str = "\
EU I-ORG
rejects O
German I-MISC
call O

Peter I-PER
Blackburn I-PER

BRUSSELS I-LOC
";

const VALID: &str = "\
Peter I-PER
rejects Brussels
";

struct Fixture {
    dir: tempfile::TempDir,
    vocab: VocabPaths,
}

impl Fixture {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let train = convert(dir.path(), "train", TRAIN);
        let vocab_dir = dir.path().join("vocab");
        ner_vocab::build(&ner_vocab::Config::new(train, &vocab_dir)).expect("vocab");
        Fixture {
            vocab: VocabPaths::in_dir(&vocab_dir),
            dir,
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn config(&self, split: &str, text: &str) -> Config {
        let input = convert(self.dir.path(), split, text);
        Config::new(
            input,
            self.vocab.clone(),
            self.path(&format!("{split}.arrow")),
        )
    }
}

fn convert(dir: &Path, name: &str, text: &str) -> PathBuf {
    let input = dir.join(format!("{name}.txt"));
    let output = dir.join(format!("{name}.parquet"));
    std::fs::write(&input, text).expect("write corpus");
    ner_convert::convert(&ner_convert::Config::new(&input, &output)).expect("convert");
    output
}

fn pretty(path: &Path) -> String {
    let mapped = MappedIpc::open(path, ArtifactKind::Batches).expect("open");
    let batches: Vec<RecordBatch> = mapped.batches().collect::<Result<_, _>>().expect("batches");
    batches
        .iter()
        .map(|b| {
            arrow::util::pretty::pretty_format_batches(std::slice::from_ref(b))
                .expect("format")
                .to_string()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn sentence_order(path: &Path) -> Vec<Vec<u32>> {
    let mapped = MappedIpc::open(path, ArtifactKind::Batches).expect("open");
    mapped
        .batches()
        .map(|b| {
            let b = b.expect("batch");
            BatchView::new(&b, path)
                .expect("view")
                .sentence_ids
                .to_vec()
        })
        .collect()
}

#[test]
fn sequential_batches_are_padded_per_batch() {
    let fx = Fixture::new();
    let mut config = fx.config("train", TRAIN);
    config.order = Order::Sequential;
    config.batch_size = 2;
    let summary = encode(&config).expect("encode");
    assert_eq!(
        (summary.n_sentences, summary.n_batches, summary.n_tokens),
        (3, 2, 7)
    );
    // Batch 1 is 2 rows x 4 positions (2 padded), batch 2 is 1 x 1: 2 of 9 positions.
    assert!((summary.padding_ratio - 2.0 / 9.0).abs() < 1e-12);
    assert_eq!(summary.n_oov, 0);
    let expected = "\
+-------------+--------+--------------+--------------------+-----------------------------------------------------------------------------------------------------------------------------+
| sentence_id | length | word_ids     | tag_ids            | char_ids                                                                                                                    |
+-------------+--------+--------------+--------------------+-----------------------------------------------------------------------------------------------------------------------------+
| 0           | 4      | [2, 3, 4, 5] | [3, 0, 2, 0]       | [[8, 9, 0, 0, 0, 0, 0, 0, 0], [3, 2, 13, 2, 4, 10, 14, 0, 0], [15, 2, 3, 16, 5, 11, 0, 0, 0], [4, 5, 6, 6, 0, 0, 0, 0, 0]]  |
| 1           | 2      | [6, 7, 0, 0] | [4, 5, -100, -100] | [[17, 2, 10, 2, 3, 0, 0, 0, 0], [12, 6, 5, 4, 18, 19, 20, 3, 11], [0, 0, 0, 0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0, 0, 0, 0]] |
+-------------+--------+--------------+--------------------+-----------------------------------------------------------------------------------------------------------------------------+
+-------------+--------+----------+---------+-------------------------------+
| sentence_id | length | word_ids | tag_ids | char_ids                      |
+-------------+--------+----------+---------+-------------------------------+
| 2           | 1      | [8]      | [1]     | [[12, 21, 9, 7, 7, 8, 22, 7]] |
+-------------+--------+----------+---------+-------------------------------+";
    let got = pretty(&config.output);
    assert_eq!(got, expected, "\n{got}");
}

#[test]
fn unknown_words_count_as_oov_and_unknown_tags_fail() {
    let fx = Fixture::new();
    let mut config = fx.config("valid", "Peter I-PER\nrejects O\nBrussels I-LOC\n");
    config.order = Order::Sequential;
    let summary = encode(&config).expect("encode");
    assert_eq!((summary.n_tokens, summary.n_oov), (3, 1));
    let view_path = config.output.clone();
    let mapped = MappedIpc::open(&view_path, ArtifactKind::Batches).expect("open");
    let batch = mapped.batch(0).expect("batch");
    let view = BatchView::new(&batch, &view_path).expect("view");
    assert_eq!(view.word_ids, &[6, 3, 1]);

    let bad = fx.config("bad", "Peter I-PER\nrejects I-FOO\n");
    let err = encode(&bad).expect_err("unknown tag");
    assert_eq!(
        err.to_string(),
        format!(
            "{}: sentence 0 has tag 'B-FOO', which is not in {} (tags seen in training: O B-LOC B-MISC B-ORG B-PER I-PER)",
            bad.input.display(),
            fx.vocab.tags.display()
        )
    );
    assert!(!bad.output.exists(), "nothing written on error");
    let _ = VALID;
}

#[test]
fn shuffle_is_seeded_and_bucket_cuts_padding() {
    let fx = Fixture::new();
    let many: String = (0..40)
        .map(|i| {
            let len = 1 + (i * 7) % 13;
            let mut s: String = (0..len).map(|_| "call O\n").collect();
            s.push('\n');
            s
        })
        .collect();
    let mut config = fx.config("many", &many);
    config.batch_size = 4;
    let run = |order: Order, seed: u64, name: &str| {
        let mut c = config.clone();
        c.order = order;
        c.seed = seed;
        c.output = fx.path(name);
        let summary = encode(&c).expect("encode");
        (summary, sentence_order(&c.output))
    };
    let (shuffled, a) = run(Order::Shuffle, 1, "a.arrow");
    let (_, b) = run(Order::Shuffle, 1, "b.arrow");
    let (_, c) = run(Order::Shuffle, 2, "c.arrow");
    let (bucketed, d) = run(Order::Bucket, 1, "d.arrow");
    let (_, e) = run(Order::Sequential, 1, "e.arrow");
    assert_eq!(a, b, "same seed, same order");
    assert_ne!(a, c, "another seed, another order");
    assert_eq!(
        std::fs::read(fx.path("a.arrow")).expect("read"),
        std::fs::read(fx.path("b.arrow")).expect("read"),
        "same seed, same bytes"
    );
    for order in [&a, &c, &d] {
        let mut all: Vec<u32> = order.iter().flatten().copied().collect();
        all.sort();
        assert_eq!(all, (0..40).collect::<Vec<_>>());
    }
    assert_eq!(e[0], vec![0, 1, 2, 3]);
    assert!(bucketed.padding_ratio < shuffled.padding_ratio / 2.0);
    assert!(bucketed.padding_ratio < 0.1, "{}", bucketed.padding_ratio);
}

/// Where `ids` lie in memory, in bytes.
fn byte_range<T>(ids: &[T]) -> std::ops::Range<*const u8> {
    let range = ids.as_ptr_range();
    range.start.cast()..range.end.cast()
}

#[test]
fn batches_are_views_into_the_mapped_file() {
    let fx = Fixture::new();
    let config = fx.config("train", TRAIN);
    encode(&config).expect("encode");
    let mapped = MappedIpc::open(&config.output, ArtifactKind::Batches).expect("open");
    let bytes = mapped.bytes().as_ptr_range();
    for batch in mapped.batches() {
        let batch = batch.expect("batch");
        let view = BatchView::new(&batch, &config.output).expect("view");
        for range in [
            byte_range(view.word_ids),
            byte_range(view.tag_ids),
            byte_range(view.char_ids),
        ] {
            assert!(
                bytes.start <= range.start.cast() && range.end.cast() <= bytes.end,
                "array data must lie inside the mapping"
            );
        }
        assert_eq!(view.word_ids.len(), view.rows() * view.width);
        assert_eq!(
            view.char_ids.len(),
            view.rows() * view.width * view.char_width
        );
    }
    let metadata = mapped.metadata();
    assert_eq!(
        metadata.get(keys::WORDS_SHA256).map(str::to_string),
        Some(sha256_file(&fx.vocab.words).expect("hash"))
    );
    assert_eq!(metadata.get(keys::ORDER), Some("shuffle"));
}

#[test]
fn batches_with_64_bit_char_ids_are_refused_with_a_way_out() {
    let fx = Fixture::new();
    let config = fx.config("train", TRAIN);
    encode(&config).expect("encode");
    let mapped = MappedIpc::open(&config.output, ArtifactKind::Batches).expect("open");
    let batch = mapped.batches().next().expect("a batch").expect("batch");
    let view = BatchView::new(&batch, &config.output).expect("view");
    // The char ids as a build before 32-bit character ids wrote them.
    let wide: Vec<i64> = view.char_ids.iter().map(|&c| i64::from(c)).collect();
    let per_token = uniform_lists::<arrow::datatypes::Int64Type>(
        wide,
        view.rows() * view.width,
        view.char_width,
    )
    .expect("per token");
    let token = Arc::new(Field::new("item", per_token.data_type().clone(), false));
    let chars = ListArray::try_new(
        token.clone(),
        OffsetBuffer::from_lengths(std::iter::repeat_n(view.width, view.rows())),
        Arc::new(per_token),
        None,
    )
    .expect("chars");
    let index = batch
        .schema()
        .index_of(batches::CHAR_IDS)
        .expect("char_ids");
    let mut fields: Vec<Field> = batch
        .schema()
        .fields()
        .iter()
        .map(|f| f.as_ref().clone())
        .collect();
    fields[index] = Field::new(batches::CHAR_IDS, DataType::List(token), false);
    let mut columns = batch.columns().to_vec();
    columns[index] = Arc::new(chars);
    let old = RecordBatch::try_new(Arc::new(arrow::datatypes::Schema::new(fields)), columns)
        .expect("old batch");
    let err = BatchView::new(&old, &config.output).expect_err("int64 char ids");
    let message = err.to_string();
    assert!(
        message.contains(&config.output.display().to_string()),
        "{message}"
    );
    assert!(message.contains("'char_ids' holds Int64"), "{message}");
    assert!(message.contains("encode them again"), "{message}");
}

#[test]
fn refuses_mismatched_inputs() {
    let fx = Fixture::new();
    // The tags vocabulary handed in as the words vocabulary.
    let mut config = fx.config("train", TRAIN);
    config.vocab.words = fx.vocab.tags.clone();
    let err = encode(&config).expect_err("wrong kind");
    assert_eq!(
        err.to_string(),
        format!(
            "{}: is a 'vocab.tags' artifact, expected 'vocab.words' (written by ner-vocab)",
            fx.vocab.tags.display()
        )
    );
    // BIOES sentences against an IOB2 tag vocabulary.
    let input = fx.path("train.txt");
    let bioes = fx.path("bioes.parquet");
    let mut convert = ner_convert::Config::new(&input, &bioes);
    convert.output_scheme = ner_core::scheme::TagScheme::Bioes;
    ner_convert::convert(&convert).expect("convert");
    let config = Config::new(&bioes, fx.vocab.clone(), fx.path("bioes.arrow"));
    let err = encode(&config).expect_err("scheme mismatch");
    assert!(err.to_string().contains("has bioes tags but"), "{err}");
}

/// Windows of 2 sentences (one batch of 2): every sentence once, each batch
/// drawn from one window, in window order; sequential output does not
/// depend on the window.
#[test]
fn orders_are_drawn_within_windows() {
    let fx = Fixture::new();
    let text = (0..7)
        .map(|i| format!("w{i} O\nx{i} O\n").repeat(i % 3 + 1))
        .collect::<Vec<_>>()
        .join("\n");
    for order in [Order::Shuffle, Order::Bucket, Order::Sequential] {
        let mut config = fx.config("many", &text);
        config.order = order;
        config.batch_size = 2;
        config.window = 2;
        encode(&config).expect("encode");
        let windowed = sentence_order(&config.output);
        let mut all: Vec<u32> = windowed.iter().flatten().copied().collect();
        for (b, batch) in windowed.iter().enumerate() {
            assert!(
                batch.iter().all(|&s| s / 2 == b as u32),
                "{order:?}: {windowed:?}"
            );
        }
        all.sort_unstable();
        assert_eq!(all, (0..7).collect::<Vec<u32>>());
        if order == Order::Sequential {
            config.window = WINDOW_SENTENCES;
            encode(&config).expect("encode");
            assert_eq!(sentence_order(&config.output), windowed);
        }
    }
}

/// Source columns get their own ids from their vocabularies, padded like
/// the words; values the training split never had are `<UNK>`.
#[test]
fn source_columns_are_encoded_beside_the_words() {
    let dir = tempfile::tempdir().expect("tempdir");
    let train = convert(
        dir.path(),
        "train",
        "EU NNP B-NP B-ORG\nrejects VBZ B-VP O\n\nPeter NNP B-NP B-PER\n",
    );
    let vocab_dir = dir.path().join("vocab");
    let mut vocab = ner_vocab::Config::new(&train, &vocab_dir);
    vocab.columns = vec!["pos".into(), "chunk".into()];
    ner_vocab::build(&vocab).expect("vocab");
    let valid = convert(
        dir.path(),
        "valid",
        "Paris NNP B-NP B-ORG\nsays VBD B-VP O\n",
    );
    let mut config = Config::new(
        &valid,
        VocabPaths::in_dir(&vocab_dir),
        dir.path().join("valid.arrow"),
    );
    config.columns = vec!["pos".into(), "chunk".into()];
    config.order = Order::Sequential;
    encode(&config).expect("encode");
    let file = MappedIpc::open(&config.output, ArtifactKind::Batches).expect("open");
    assert_eq!(file.metadata().get(keys::COLUMNS), Some("pos,chunk"));
    let batch = file.batch(0).expect("batch");
    let view = BatchView::new(&batch, &config.output).expect("view");
    // pos: <PAD> <UNK> NNP VBZ; chunk: <PAD> <UNK> B-NP B-VP. "VBD" is unknown.
    assert_eq!(view.columns, [&[2i64, 1][..], &[2, 3][..]]);
    // A column the file lacks is named.
    config.columns = vec!["lemma".into()];
    let err = encode(&config).expect_err("no lemma").to_string();
    assert!(err.contains("column.lemma.parquet"), "{err}");
}

/// Encoding split over threads writes the file one thread writes, byte for
/// byte, and an unknown tag is the first in file order, wherever the parts
/// begin.
#[test]
fn threads_change_nothing_in_the_output() {
    let fx = Fixture::new();
    let n = 2 * PARALLEL_ROWS + 100;
    let sentence = |i: usize| match i % 3 {
        0 => "EU I-ORG\nrejects O\nGerman I-MISC\n",
        1 => "Peter I-PER\nBlackburn I-PER\nwalks O\n",
        _ => "BRUSSELS I-LOC\n",
    };
    let text: String = (0..n).map(|i| format!("{}\n", sentence(i))).collect();
    let outputs: Vec<Vec<u8>> = [1, 2, 3]
        .iter()
        .map(|&threads| {
            let mut config = fx.config("many", &text);
            config.output = fx.path(&format!("many.{threads}.arrow"));
            config.threads = Some(threads);
            let summary = encode(&config).expect("encode");
            // "walks" is not in the vocabulary.
            let walks = (0..n).filter(|i| i % 3 == 1).count();
            assert_eq!((summary.n_sentences, summary.n_oov), (n, walks));
            std::fs::read(&config.output).expect("read")
        })
        .collect();
    assert!(outputs[0] == outputs[1] && outputs[0] == outputs[2]);

    // Sentence 100 is in the first part, PARALLEL_ROWS + 50 in the second
    // (the parts are n / 2 = PARALLEL_ROWS + 50 sentences).
    let bad: String = (0..n)
        .map(|i| {
            if i == 100 || i == PARALLEL_ROWS + 50 {
                "Peter I-FOO\n\n".to_string()
            } else {
                format!("{}\n", sentence(i))
            }
        })
        .collect();
    let mut config = fx.config("bad", &bad);
    config.threads = Some(2);
    let err = encode(&config).expect_err("unknown tags");
    assert!(
        err.to_string().contains("sentence 100 has tag 'B-FOO'"),
        "{err}"
    );
}
