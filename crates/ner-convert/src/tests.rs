use super::*;

fn render(converted: &Converted) -> String {
    let mut out = Vec::new();
    for (s, tags) in converted.corpus.sentences.iter().zip(&converted.tags) {
        let mut words = Vec::new();
        for (t, token) in s.tokens.iter().enumerate() {
            let mut cell = format!("{token}/{}", tags[t]);
            for column in &s.extra {
                cell.push('/');
                cell.push_str(&column[t]);
            }
            words.push(cell);
        }
        out.push(format!(
            "doc {} line {}: {}",
            s.doc_id,
            s.line,
            words.join(" ")
        ));
    }
    out.join("\n")
}

fn run(input: &[u8], config: &Config) -> Result<Converted, ConvertError> {
    convert_bytes(config, input)
}

fn config() -> Config {
    Config::new("corpus.txt", "out.parquet")
}

/// Converts `input` with the default config and compares the rendered sentences.
fn check(input: &str, expected: &str) {
    check_with(input.as_bytes(), &config(), expected);
}

fn check_with(input: &[u8], config: &Config, expected: &str) {
    let converted = run(input, config).unwrap_or_else(|e| panic!("conversion failed: {e}"));
    assert_eq!(render(&converted), expected.trim());
}

fn check_err(input: &[u8], config: &Config, expected: &str) {
    match run(input, config) {
        Ok(c) => panic!("expected an error, got:\n{}", render(&c)),
        Err(e) => assert_eq!(e.to_string(), expected),
    }
}

const CONLL2003: &str = "\
-DOCSTART- -X- -X- O

EU NNP B-NP I-ORG
rejects VBZ B-VP O
German JJ B-NP I-MISC
call NN I-NP O

Peter NNP B-NP I-PER
Blackburn NNP I-NP I-PER

-DOCSTART- -X- -X- O

BRUSSELS NNP B-NP I-LOC
1996-08-22 CD I-NP O
";

#[test]
fn conll2003_iob1_becomes_iob2_with_documents_and_columns() {
    check(
        CONLL2003,
        "
doc 0 line 3: EU/B-ORG/NNP/B-NP rejects/O/VBZ/B-VP German/B-MISC/JJ/B-NP call/O/NN/I-NP
doc 0 line 8: Peter/B-PER/NNP/B-NP Blackburn/I-PER/NNP/I-NP
doc 1 line 13: BRUSSELS/B-LOC/NNP/B-NP 1996-08-22/O/CD/I-NP
",
    );
    let converted = run(CONLL2003.as_bytes(), &config()).expect("converts");
    let s = &converted.summary;
    assert_eq!((s.n_sentences, s.n_tokens, s.n_documents), (3, 8, 2));
    assert_eq!((s.input_scheme, s.detected), (TagScheme::Iob1, true));
    assert_eq!(converted.corpus.extra_names, ["pos", "chunk"]);
    assert_eq!(
        s.entities,
        BTreeMap::from([
            ("LOC".to_string(), 1),
            ("MISC".to_string(), 1),
            ("ORG".to_string(), 1),
            ("PER".to_string(), 1)
        ])
    );
    assert_eq!(s.n_repaired, 0);
}

#[test]
fn odd_but_normal_input() {
    // BOM, CRLF, tabs, runs of blank lines, whitespace-only lines, no final newline.
    let input = b"\xEF\xBB\xBF\r\n\r\nA\tB-PER\r\n  \r\nb  O\r\n\r\n\r\nc\tI-LOC\r\nd O";
    check_with(
        input,
        &config(),
        "
doc 0 line 3: A/B-PER
doc 0 line 5: b/O
doc 0 line 8: c/B-LOC d/O
",
    );
}

#[test]
fn bioes_output_and_detection() {
    let mut cfg = config();
    cfg.output_scheme = TagScheme::Bioes;
    check_with(
        b"New B-LOC\nYork I-LOC\nis O\nbig O\nBob B-PER\n",
        &cfg,
        "doc 0 line 1: New/B-LOC York/E-LOC is/O big/O Bob/S-PER",
    );
    let converted = run(b"a S-PER\nb B-LOC\nc E-LOC\n", &config()).expect("converts");
    assert_eq!(converted.summary.input_scheme, TagScheme::Bioes);
    assert_eq!(converted.tags, vec![vec!["B-PER", "B-LOC", "I-LOC"]]);
}

#[test]
fn tag_column_and_column_names() {
    let mut cfg = config();
    cfg.read.tag_column = Some(2);
    cfg.read.column_names = Some(vec!["lemma".into(), "ner2".into()]);
    check_with(
        b"Paris B-LOC paris O\nis O be O\n",
        &cfg,
        "doc 0 line 1: Paris/B-LOC/paris/O is/O/be/O",
    );
    // Without names, columns are called after their position.
    let converted = run(b"a x y z O\n", &config()).expect("converts");
    assert_eq!(converted.corpus.extra_names, ["col2", "col3", "col4"]);
}

#[test]
fn ill_formed_iob2_is_read_like_conlleval_and_counted() {
    let mut cfg = config();
    cfg.read.input_scheme = Some(TagScheme::Iob2);
    let converted = run(b"a O\nb I-PER\nc I-PER\n", &cfg).expect("converts");
    assert_eq!(converted.tags, vec![vec!["O", "B-PER", "I-PER"]]);
    assert_eq!(converted.summary.n_repaired, 1);
}

#[test]
fn errors_name_file_and_line() {
    let cfg = config();
    check_err(
        b"a NN O\nb O\n",
        &cfg,
        "corpus.txt:2: expected 3 columns (as on line 1), found 2",
    );
    check_err(
        b"\nlonely\n",
        &cfg,
        "corpus.txt:2: expected at least 2 columns (token and tag), found 1",
    );
    check_err(
        b"a O\nb PER\n",
        &cfg,
        "corpus.txt:2: invalid tag 'PER': expected 'O' or a B-, I-, E- or S- prefix followed by an entity type (column 2)",
    );
    check_err(
        b"a O\nb B-\n",
        &cfg,
        "corpus.txt:2: invalid tag 'B-': expected 'O' or a B-, I-, E- or S- prefix followed by an entity type (column 2)",
    );
    check_err(
        b"a O\n\nb\xff O\n",
        &cfg,
        "corpus.txt:3: invalid UTF-8 at byte 2 of the line",
    );
    check_err(b"", &cfg, "corpus.txt: no sentences found (the file is empty or holds only -DOCSTART- and blank lines)");
    check_err(
        b"-DOCSTART- -X- O\n\n",
        &cfg,
        "corpus.txt: no sentences found (the file is empty or holds only -DOCSTART- and blank lines)",
    );
    let mut declared = config();
    declared.read.input_scheme = Some(TagScheme::Iob2);
    check_err(
        b"a S-PER\n",
        &declared,
        "corpus.txt:1: tag 'S-PER' is not valid in iob2; give the right --input-scheme or leave it out to detect the scheme",
    );
    let mut bad_column = config();
    bad_column.read.tag_column = Some(5);
    check_err(
        b"a b O\n",
        &bad_column,
        "corpus.txt:1: --tag-column 5 is out of range: the token is column 1 and this line has 3 columns",
    );
}

#[test]
fn writes_parquet_atomically_and_keeps_old_output_on_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = dir.path().join("train.txt");
    let output = dir.path().join("out").join("train.parquet");
    std::fs::write(&input, CONLL2003).expect("write input");
    let cfg = Config::new(&input, &output);
    let summary = convert(&cfg).expect("converts");
    assert_eq!(summary.n_sentences, 3);
    let (metadata, batches) =
        ner_core::artifact::read_parquet(&output, ArtifactKind::Sentences).expect("reads back");
    assert_eq!(metadata.get(keys::INPUT_SCHEME), Some("iob1"));
    assert_eq!(metadata.get(keys::SCHEME), Some("iob2"));
    assert_eq!(
        metadata.get(keys::SOURCE_COLUMNS),
        Some(r#"["token","pos","chunk","tag"]"#)
    );
    let table = arrow::util::pretty::pretty_format_batches(&batches)
        .expect("formats")
        .to_string();
    let expected = "\
+-------------+--------+------+-----------------------------+-----------------------+--------------------+--------------------------+
| sentence_id | doc_id | line | tokens                      | tags                  | pos                | chunk                    |
+-------------+--------+------+-----------------------------+-----------------------+--------------------+--------------------------+
| 0           | 0      | 3    | [EU, rejects, German, call] | [B-ORG, O, B-MISC, O] | [NNP, VBZ, JJ, NN] | [B-NP, B-VP, B-NP, I-NP] |
| 1           | 0      | 8    | [Peter, Blackburn]          | [B-PER, I-PER]        | [NNP, NNP]         | [B-NP, I-NP]             |
| 2           | 1      | 13   | [BRUSSELS, 1996-08-22]      | [B-LOC, O]            | [NNP, CD]          | [B-NP, I-NP]             |
+-------------+--------+------+-----------------------------+-----------------------+--------------------+--------------------------+";
    assert_eq!(table, expected);

    // A failing run leaves the previous output byte for byte.
    let before = std::fs::read(&output).expect("read output");
    std::fs::write(&input, "a O\nb BROKEN\n").expect("write input");
    let err = convert(&cfg).expect_err("must fail");
    assert!(
        err.to_string()
            .starts_with(&format!("{}:2:", input.display())),
        "{err}"
    );
    assert_eq!(std::fs::read(&output).expect("read output"), before);
    let names: Vec<_> = std::fs::read_dir(output.parent().expect("parent"))
        .expect("ls")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert_eq!(names, vec![std::ffi::OsString::from("train.parquet")]);
}

#[test]
fn missing_file_is_named() {
    let err = convert(&Config::new("/nonexistent/eng.train", "x.parquet")).expect_err("fails");
    assert_eq!(
        err.to_string(),
        "/nonexistent/eng.train: No such file or directory (os error 2)"
    );
}

/// Whether the detection pass keeps the whole file or only its first
/// sentence (and reads the file again), whatever the batch size, the same
/// bytes come out; so do declared schemes, read in one pass.
#[test]
fn buffered_and_reread_conversions_write_the_same_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = dir.path().join("train.txt");
    std::fs::write(&input, CONLL2003).expect("write input");
    let run = |name: &str, adjust: &dyn Fn(&mut Config)| {
        let output = dir.path().join(name);
        let mut cfg = Config::new(&input, &output);
        adjust(&mut cfg);
        let summary = convert(&cfg).expect("converts");
        (
            std::fs::read(&output).expect("read"),
            summary.n_sentences,
            summary.n_documents,
        )
    };
    let whole = run("whole.parquet", &|_| {});
    let reread = run("reread.parquet", &|c| c.detection_buffer = 1);
    assert_eq!(whole, reread);
    assert_eq!((whole.1, whole.2), (3, 2));
    let small_batches = run("small.parquet", &|c| {
        c.detection_buffer = 1;
        c.rows_per_batch = 1;
    });
    assert_eq!(small_batches.1, 3);
    let declared = run("declared.parquet", &|c| {
        c.read.input_scheme = Some(TagScheme::Iob1)
    });
    assert_eq!((declared.1, declared.2), (3, 2));
}

#[test]
fn cells_keep_each_cell() {
    let mut cells: Cells = ["EU", "", "rejects"].into_iter().collect();
    cells.push_parts(&["B-", "PER"]);
    assert_eq!(cells.len(), 4);
    assert_eq!(cells.text_len(), "EUrejectsB-PER".len());
    assert_eq!(cells.to_vec(), ["EU", "", "rejects", "B-PER"]);
    assert_eq!((&cells[1], &cells[3]), ("", "B-PER"));
    assert_eq!(cells.get(4), None);
    let mut iter = cells.iter();
    iter.next();
    assert_eq!(iter.len(), 3);
    assert_eq!(iter.collect::<Vec<_>>(), ["", "rejects", "B-PER"]);
}
