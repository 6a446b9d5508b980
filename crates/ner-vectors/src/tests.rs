use std::io::Write as _;

use ner_core::schema::{keys, ArtifactKind};
use ner_core::tables::TokenIds;

use super::*;

fn file(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).expect("write");
    path
}

/// Keys with their vectors, in order.
fn table(v: &Vectors) -> Vec<(String, Vec<f32>)> {
    v.keys
        .iter()
        .map(|(k, r)| (k.clone(), v.row(*r).to_vec()))
        .collect()
}

fn pairs(items: &[(&str, &[f32])]) -> Vec<(String, Vec<f32>)> {
    items
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_vec()))
        .collect()
}

fn check(name: &str, bytes: &[u8], expected: &[(&str, &[f32])]) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = file(dir.path(), name, bytes);
    let got = read(&path, Format::Auto, None).expect(name);
    assert_eq!(table(&got), pairs(expected), "{name}");
}

fn error(name: &str, bytes: &[u8]) -> String {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = file(dir.path(), name, bytes);
    let err = read(&path, Format::Auto, None).expect_err(name).to_string();
    let prefix = format!("{}: ", path.display());
    assert!(err.starts_with(&prefix), "{err}");
    err[prefix.len()..].to_string()
}

#[test]
fn text_formats() {
    // GloVe: no header.
    check(
        "glove.txt",
        b"paris 1 2\nParis 3 4.5\n",
        &[("paris", &[1.0, 2.0]), ("Paris", &[3.0, 4.5])],
    );
    // word2vec / fastText .vec: a header, trailing spaces, CRLF, a repeated
    // key (the first vector wins) and a final line without a newline.
    check(
        "wiki.vec",
        b"3 2\r\nparis 1 2 \r\nparis 9 9\r\nberlin -1e-3 0",
        &[("paris", &[1.0, 2.0]), ("berlin", &[-1e-3, 0.0])],
    );
    // GloVe 840B has words with spaces: the last dim fields are the vector.
    check(
        "spaces.txt",
        b"a 1 2\n. . . 3 4\n",
        &[("a", &[1.0, 2.0]), (". . .", &[3.0, 4.0])],
    );
}

#[test]
fn gzip_and_binary() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(b"2 3\nx 1 2 3\ny 4 5 6\n").expect("gzip");
    let path = file(dir.path(), "v.txt.gz", &gz.finish().expect("gzip"));
    let got = read(&path, Format::Auto, None).expect("gz text");
    assert_eq!(
        table(&got),
        pairs(&[("x", &[1.0, 2.0, 3.0]), ("y", &[4.0, 5.0, 6.0])])
    );
    // word2vec binary, with and without the newline after each vector.
    let mut bin = b"3 2\n".to_vec();
    for (word, values, newline) in [
        ("Köln", [0.5f32, -2.0], true),
        ("b", [1.0, 2.0], false),
        ("c", [3.0, 4.0], true),
    ] {
        bin.extend_from_slice(word.as_bytes());
        bin.push(b' ');
        for v in values {
            bin.extend_from_slice(&v.to_le_bytes());
        }
        if newline {
            bin.push(b'\n');
        }
    }
    check(
        "v.bin",
        &bin,
        &[
            ("Köln", &[0.5, -2.0]),
            ("b", &[1.0, 2.0]),
            ("c", &[3.0, 4.0]),
        ],
    );
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&bin).expect("gzip");
    let path = file(dir.path(), "v.bin.gz", &gz.finish().expect("gzip"));
    assert_eq!(
        read(&path, Format::Auto, None)
            .expect("gz binary")
            .keys
            .len(),
        3
    );
    // Cut inside the last vector.
    assert_eq!(
        error("cut.bin", &bin[..bin.len() - 3]),
        "record 3 of 3 ('c'): the file ends inside its vector"
    );
}

#[test]
fn malformed_lines_name_the_line_and_the_reason() {
    assert_eq!(
        error("short.txt", b"a 1 2\nb 1 2\nc 3\n"),
        "line 3: 1 values, expected 2"
    );
    assert_eq!(
        error("nan.txt", b"2 2\na 1 2\nb 1 x2\n"),
        "line 3: value 2 of 'b', 'x2', is not a number"
    );
    assert_eq!(
        error("inf.txt", b"a 1 inf\n"),
        "line 1: value 2 of 'a' is inf"
    );
    assert_eq!(
        error("utf8.txt", b"a 1 2\n\xff 3 4\n"),
        "line 2: invalid UTF-8 at byte 0"
    );
    assert_eq!(error("empty.txt", b"\n\n"), "no vectors in the file");
    assert_eq!(
        error("header.bin", b"two words\n"),
        "line 1: a word2vec binary file starts with 'count dim', found 'two words'"
    );
}

/// A NumPy `.npy` file of `rows × dim` float32 values.
fn npy(rows: usize, dim: usize, values: &[f32]) -> Vec<u8> {
    let mut header =
        format!("{{'descr': '<f4', 'fortran_order': False, 'shape': ({rows}, {dim}), }}");
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    for v in values {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out
}

#[test]
fn spacy_exports_share_rows_and_keep_the_rows_they_use() {
    let dir = tempfile::tempdir().expect("tempdir");
    let export = dir.path().join("md");
    std::fs::create_dir(&export).expect("mkdir");
    file(
        &export,
        "vectors.npy",
        &npy(3, 2, &[1.0, 1.0, 2.0, 2.0, 3.0, 3.0]),
    );
    file(
        &export,
        "keys.jsonl",
        "[\"Paris\", 2]\n[\"paris\", 2]\n[\"rare\", 0]\n[\"tab\\tword\", 1]\n".as_bytes(),
    );
    let all = read(&export, Format::Auto, None).expect("export");
    assert_eq!(all.rows(), 3);
    assert_eq!(
        table(&all),
        pairs(&[
            ("Paris", &[3.0, 3.0]),
            ("paris", &[3.0, 3.0]),
            ("rare", &[1.0, 1.0]),
            ("tab\tword", &[2.0, 2.0])
        ])
    );
    // The first two keys use one row: the matrix keeps only it.
    let two = read(&export, Format::Auto, Some(2)).expect("export");
    assert_eq!((two.rows(), two.keys.len()), (1, 2));
    assert_eq!(two.keys[1], ("paris".to_string(), 0));
    file(&export, "keys.jsonl", b"[\"x\", 7]\n");
    let err = read(&export, Format::Auto, None)
        .expect_err("row")
        .to_string();
    assert!(
        err.contains("keys.jsonl: line 1: row 7 outside the 3 rows of "),
        "{err}"
    );
    file(
        &export,
        "vectors.npy",
        b"\x93NUMPY\x01\x00\x10\x00{'descr': '<f8'}",
    );
    let err = read(&export, Format::Auto, None)
        .expect_err("dtype")
        .to_string();
    assert!(err.contains("its dtype is not '<f4'"), "{err}");
}

#[test]
fn the_folder_round_trips_and_words_find_their_vectors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = file(
        dir.path(),
        "v.txt",
        b"paris 1 1\nBerlin 2 2\nberlin 3 3\nrome 3 3\n",
    );
    let out = dir.path().join("vectors");
    let summary = convert(&Config::new(&input, &out)).expect("convert");
    assert_eq!((summary.keys, summary.rows, summary.dim), (4, 4, 2));
    // berlin and rome hold one vector under two rows.
    assert_eq!(summary.first_equal_rows, [0, 1, 2, 2]);
    assert_eq!(summary.distinct(), 3);
    assert!(
        summary
            .to_string()
            .ends_with("4 keys onto 4 rows of 2 values (3 distinct vectors)"),
        "{summary}"
    );
    let folder = VectorsDir::new(&out);
    let keys = VectorKeys::read(&folder.keys()).expect("keys");
    assert_eq!(keys.rows(&folder.keys()).expect("rows"), 4);
    assert_eq!(
        keys.metadata.get(keys::MATRIX_SHA256),
        Some(sha256_file(&folder.matrix()).expect("sha").as_str())
    );
    let bytes = std::fs::read(folder.matrix()).expect("matrix");
    let matrix = safetensors::SafeTensors::deserialize(&bytes).expect("safetensors");
    let view = matrix.tensor(MATRIX).expect("tensor");
    assert_eq!(view.shape(), [4, 2]);

    // The look-up order: a training word, a key as it is, a key lower-cased.
    let words = Vocab {
        kind: ArtifactKind::WordVocab,
        metadata: Metadata::default(),
        entries: ["<PAD>", "<UNK>", "Paris", "the"]
            .iter()
            .map(|w| (w.to_string(), 1))
            .collect(),
    };
    let chars = Vocab {
        kind: ArtifactKind::CharVocab,
        metadata: Metadata::default(),
        entries: vec![("<PAD>".into(), 0), ("<UNK>".into(), 0)],
    };
    let ids = TokenIds::new(&words, &chars, false, None).with_vectors(&keys, 4);
    let got: Vec<i64> = ["Paris", "paris", "Berlin", "BERLIN", "Rome", "Oslo"]
        .iter()
        .map(|t| ids.word(t))
        .collect();
    assert_eq!(got, [2, 4, 5, 6, 7, 1]);
    // (training words, with a vector as they are, lower-cased, distinct vectors)
    let counts = |words: &Vocab| {
        let c = coverage(&keys, &summary.first_equal_rows, words, &[]).expect("coverage");
        (c.words, c.words_exact, c.words_lower, c.words_vectors)
    };
    assert_eq!(counts(&words), (2, 0, 1, 1));
    // Training words on rows with one vector count it once.
    let words = Vocab {
        entries: ["<PAD>", "<UNK>", "berlin", "Rome", "Berlin"]
            .iter()
            .map(|w| (w.to_string(), 1))
            .collect(),
        ..words
    };
    assert_eq!(counts(&words), (3, 2, 1, 2));
}
