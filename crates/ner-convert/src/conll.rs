//! The CoNLL column-file reader.

use std::io::BufRead;
use std::path::{Path, PathBuf};

use ner_core::artifact::Fingerprint;
use ner_core::scheme::{invalid_tag_message, Tag, TagScheme};

use crate::ConvertError;

/// How to read a column file.
#[derive(Debug, Clone, Default)]
pub struct ReadOptions {
    /// 1-based column holding the tag; `None` means the last column.
    pub tag_column: Option<usize>,
    /// The scheme the file is declared to use; `None` detects it.
    pub input_scheme: Option<TagScheme>,
    /// Names for the columns other than the token and the tag, in file order.
    pub column_names: Option<Vec<String>>,
}

/// One sentence as it appears in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawSentence {
    pub doc_id: u32,
    /// 1-based line of the first token.
    pub line: u32,
    pub tokens: Cells,
    /// Tags as written in the file, already checked by [`Tag::parse`].
    pub tags: Cells,
    /// The other columns, `extra[c][t]` for column `c` and token `t`.
    pub extra: Vec<Cells>,
}

/// One column of a sentence: its cells end to end in one string, so a
/// sentence costs a few allocations rather than one per cell.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cells {
    text: String,
    /// `ends[i]`: the byte where cell `i` ends in `text`.
    ends: Vec<usize>,
}

impl Cells {
    /// No cells yet, with room for `cells` of `bytes` in all.
    pub fn with_capacity(cells: usize, bytes: usize) -> Self {
        Cells {
            text: String::with_capacity(bytes),
            ends: Vec::with_capacity(cells),
        }
    }

    pub fn push(&mut self, cell: &str) {
        self.text.push_str(cell);
        self.ends.push(self.text.len());
    }

    /// Pushes one cell made of `parts` end to end.
    pub fn push_parts(&mut self, parts: &[&str]) {
        for part in parts {
            self.text.push_str(part);
        }
        self.ends.push(self.text.len());
    }

    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// Removes every cell, keeping the capacity.
    pub fn clear(&mut self) {
        self.text.clear();
        self.ends.clear();
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Bytes of all the cells together.
    pub fn text_len(&self) -> usize {
        self.text.len()
    }

    /// Cell `i`, if there is one.
    pub fn get(&self, i: usize) -> Option<&str> {
        let end = *self.ends.get(i)?;
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        Some(&self.text[start..end])
    }

    pub fn iter(&self) -> CellIter<'_> {
        CellIter {
            cells: self,
            next: 0,
            start: 0,
        }
    }

    pub fn to_vec(&self) -> Vec<String> {
        self.iter().map(str::to_string).collect()
    }
}

impl std::ops::Index<usize> for Cells {
    type Output = str;

    fn index(&self, i: usize) -> &str {
        match self.get(i) {
            Some(cell) => cell,
            None => panic!("cell {i} of {}", self.len()),
        }
    }
}

impl<'a> IntoIterator for &'a Cells {
    type Item = &'a str;
    type IntoIter = CellIter<'a>;

    fn into_iter(self) -> CellIter<'a> {
        self.iter()
    }
}

/// The cells of a [`Cells`], in order.
#[derive(Debug, Clone)]
pub struct CellIter<'a> {
    cells: &'a Cells,
    next: usize,
    start: usize,
}

impl<'a> Iterator for CellIter<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let end = *self.cells.ends.get(self.next)?;
        let cell = &self.cells.text[self.start..end];
        self.next += 1;
        self.start = end;
        Some(cell)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.cells.len() - self.next;
        (n, Some(n))
    }
}

impl ExactSizeIterator for CellIter<'_> {}

impl<S: AsRef<str>> FromIterator<S> for Cells {
    fn from_iter<I: IntoIterator<Item = S>>(cells: I) -> Self {
        let mut out = Cells::default();
        for cell in cells {
            out.push(cell.as_ref());
        }
        out
    }
}

/// A whole column file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawCorpus {
    pub sentences: Vec<RawSentence>,
    /// Names of [`RawSentence::extra`]'s columns.
    pub extra_names: Vec<String>,
    /// Columns per token line.
    pub n_columns: usize,
    /// 1-based tag column.
    pub tag_column: usize,
    pub n_documents: u32,
}

/// Column names that would clash with the fixed columns of the sentences table.
const RESERVED: &[&str] = &["sentence_id", "doc_id", "line", "tokens", "tags"];

const DOCSTART: &str = "-DOCSTART-";

/// Parses the bytes of a CoNLL column file; `path` is used in error messages.
///
/// Tokens are separated by runs of spaces or tabs. Blank lines end sentences,
/// `-DOCSTART-` lines start documents; CRLF endings, a UTF-8 byte-order mark,
/// extra blank lines and a missing final newline are all accepted.
pub fn parse(path: &Path, bytes: &[u8], options: &ReadOptions) -> Result<RawCorpus, ConvertError> {
    let mut reader = SentenceReader::new(path, bytes, options);
    let sentences = reader.by_ref().collect::<Result<Vec<_>, _>>()?;
    let layout = reader.layout()?;
    Ok(RawCorpus {
        sentences,
        extra_names: layout.extra_names,
        n_columns: layout.n_columns,
        tag_column: layout.tag_column,
        n_documents: reader.n_documents(),
    })
}

/// The column layout a file's first token line set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnLayout {
    /// Columns per token line.
    pub n_columns: usize,
    /// 1-based tag column.
    pub tag_column: usize,
    /// Names of the columns other than the token and the tag.
    pub extra_names: Vec<String>,
}

/// Reads a column file one sentence at a time, holding only the sentence
/// being read: memory does not grow with the file. The same rules as
/// [`parse`]; the SHA-256 of every byte read is kept ([`Self::sha256`]).
pub struct SentenceReader<'a, R> {
    parser: Parser<'a>,
    input: R,
    line: Vec<u8>,
    line_no: usize,
    hash: Fingerprint,
    done: bool,
}

impl<R> std::fmt::Debug for SentenceReader<'_, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SentenceReader")
            .field("path", &self.parser.path)
            .field("line", &self.line_no)
            .finish()
    }
}

impl<'a, R: BufRead> SentenceReader<'a, R> {
    pub fn new(path: &'a Path, input: R, options: &'a ReadOptions) -> Self {
        SentenceReader {
            parser: Parser::new(path, options, true),
            input,
            line: Vec::new(),
            line_no: 0,
            hash: Fingerprint::new(),
            done: false,
        }
    }

    /// From now on, keep only the tags of the sentences read (`tokens` and
    /// `extra` stay empty), still checking every line: a cheaper scan.
    pub fn keep_only_tags(&mut self) {
        self.parser.keep_columns = false;
    }

    /// The layout, once a token line was read; the file's "no sentences"
    /// error otherwise.
    pub fn layout(&self) -> Result<ColumnLayout, ConvertError> {
        match &self.parser.layout {
            Some(layout) => Ok(ColumnLayout {
                n_columns: layout.n_columns,
                tag_column: layout.tag_index + 1,
                extra_names: layout.extra_names.clone(),
            }),
            None => Err(ConvertError::Empty {
                path: self.parser.path.to_path_buf(),
            }),
        }
    }

    /// Documents seen so far.
    pub fn n_documents(&self) -> u32 {
        self.parser.n_documents
    }

    /// SHA-256 of the bytes read so far (of the whole file once the reader
    /// is exhausted).
    pub fn sha256(&self) -> String {
        self.hash.clone().finish()
    }

    fn next_sentence(&mut self) -> Result<Option<RawSentence>, ConvertError> {
        while !self.done {
            self.line.clear();
            let n = self
                .input
                .read_until(b'\n', &mut self.line)
                .map_err(|e| ner_core::Error::io(self.parser.path, e))?;
            if n == 0 {
                self.done = true;
                return Ok(self.parser.end_sentence());
            }
            self.hash.update(&self.line);
            self.line_no += 1;
            let mut raw = self.line.strip_suffix(b"\n").unwrap_or(&self.line);
            if self.line_no == 1 {
                raw = raw.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(raw);
            }
            let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
            let line = std::str::from_utf8(raw).map_err(|e| {
                self.parser.error(
                    self.line_no,
                    format!("invalid UTF-8 at byte {} of the line", e.valid_up_to() + 1),
                )
            })?;
            if let Some(sentence) = self.parser.line(self.line_no, line)? {
                return Ok(Some(sentence));
            }
        }
        Ok(None)
    }
}

impl<R: BufRead> Iterator for SentenceReader<'_, R> {
    type Item = Result<RawSentence, ConvertError>;

    fn next(&mut self) -> Option<Self::Item> {
        match self.next_sentence() {
            Ok(sentence) => sentence.map(Ok),
            Err(err) => {
                self.done = true;
                Some(Err(err))
            }
        }
    }
}

struct Parser<'a> {
    path: &'a Path,
    options: &'a ReadOptions,
    /// The sentence being read, built in buffers that keep their capacity
    /// from one sentence to the next ([`end_sentence`](Self::end_sentence)
    /// hands out a copy of exactly its size).
    current: Option<RawSentence>,
    /// Whether `current` holds a sentence (its buffers stay when empty).
    in_sentence: bool,
    /// Whether tokens and extra columns are kept (not only tags).
    keep_columns: bool,
    /// Columns per token line and the line that set it.
    layout: Option<Layout>,
    doc_id: u32,
    started: bool,
    n_documents: u32,
    /// The byte ranges of the current line's fields (kept between lines).
    fields: Vec<(usize, usize)>,
}

/// The byte ranges of `line`'s fields: the runs between spaces and tabs
/// (ASCII, so never inside a UTF-8 character).
fn split_fields(line: &str, fields: &mut Vec<(usize, usize)>) {
    fields.clear();
    let mut start = None;
    for (i, &b) in line.as_bytes().iter().enumerate() {
        match (b == b' ' || b == b'\t', start) {
            (true, Some(s)) => {
                fields.push((s, i));
                start = None;
            }
            (false, None) => start = Some(i),
            _ => {}
        }
    }
    if let Some(s) = start {
        fields.push((s, line.len()));
    }
}

#[derive(Debug, Clone)]
struct Layout {
    n_columns: usize,
    first_line: usize,
    /// 0-based.
    tag_index: usize,
    extra_names: Vec<String>,
}

impl<'a> Parser<'a> {
    fn new(path: &'a Path, options: &'a ReadOptions, keep_columns: bool) -> Self {
        Parser {
            path,
            options,
            current: None,
            in_sentence: false,
            keep_columns,
            layout: None,
            doc_id: 0,
            started: false,
            n_documents: 0,
            fields: Vec::new(),
        }
    }

    fn error(&self, line: usize, message: String) -> ConvertError {
        ConvertError::Parse {
            path: PathBuf::from(self.path),
            line,
            message,
        }
    }

    /// Reads one line; returns the sentence it ends, if any.
    fn line(&mut self, line_no: usize, line: &str) -> Result<Option<RawSentence>, ConvertError> {
        split_fields(line, &mut self.fields);
        let field = |&(start, end): &(usize, usize)| &line[start..end];
        let Some(first) = self.fields.first().map(field) else {
            return Ok(self.end_sentence());
        };
        if first == DOCSTART {
            let ended = self.end_sentence();
            if self.started {
                self.doc_id += 1;
            }
            self.started = true;
            self.n_documents = self.doc_id + 1;
            return Ok(ended);
        }
        let n_fields = self.fields.len();
        if self.layout.is_none() {
            self.layout = Some(self.layout_from(line_no, n_fields)?);
        }
        let Some(layout) = &self.layout else {
            unreachable!("the layout was just set");
        };
        let (n_columns, tag_index, n_extra) =
            (layout.n_columns, layout.tag_index, layout.extra_names.len());
        if n_fields != n_columns {
            return Err(self.error(
                line_no,
                format!(
                    "expected {n_columns} columns (as on line {}), found {n_fields}",
                    layout.first_line,
                ),
            ));
        }
        let tag_text = self.fields.get(tag_index).map_or("", field);
        let Some(tag) = Tag::parse(tag_text) else {
            return Err(self.error(
                line_no,
                format!(
                    "{} (column {})",
                    invalid_tag_message(tag_text),
                    tag_index + 1
                ),
            ));
        };
        if let (Some(scheme), Tag::Entity { prefix, .. }) = (self.options.input_scheme, tag) {
            if !scheme.allows(prefix) {
                return Err(self.error(
                    line_no,
                    format!(
                        "tag '{tag_text}' is not valid in {scheme}; \
                         give the right --input-scheme or leave it out to detect the scheme"
                    ),
                ));
            }
        }
        self.started = true;
        self.n_documents = self.n_documents.max(self.doc_id + 1);
        let sentence = self.current.get_or_insert_with(|| RawSentence {
            doc_id: 0,
            line: 0,
            tokens: Cells::default(),
            tags: Cells::default(),
            extra: vec![Cells::default(); n_extra],
        });
        if !self.in_sentence {
            self.in_sentence = true;
            sentence.doc_id = self.doc_id;
            sentence.line = u32::try_from(line_no).unwrap_or(u32::MAX);
        }
        sentence.tags.push(tag_text);
        if !self.keep_columns {
            return Ok(None);
        }
        sentence.tokens.push(first);
        let extra_fields = self
            .fields
            .iter()
            .enumerate()
            .filter(|&(i, _)| i != 0 && i != tag_index)
            .map(|(_, f)| field(f));
        for (column, cell) in sentence.extra.iter_mut().zip(extra_fields) {
            column.push(cell);
        }
        Ok(None)
    }

    /// The sentence read so far, if any, which the next line starts anew.
    fn end_sentence(&mut self) -> Option<RawSentence> {
        if !std::mem::take(&mut self.in_sentence) {
            return None;
        }
        let current = self.current.as_mut()?;
        let ended = current.clone();
        current.tokens.clear();
        current.tags.clear();
        current.extra.iter_mut().for_each(Cells::clear);
        Some(ended)
    }

    fn layout_from(&self, line_no: usize, n_columns: usize) -> Result<Layout, ConvertError> {
        if n_columns < 2 {
            return Err(self.error(
                line_no,
                format!("expected at least 2 columns (token and tag), found {n_columns}"),
            ));
        }
        let tag_column = self.options.tag_column.unwrap_or(n_columns);
        if tag_column < 2 || tag_column > n_columns {
            return Err(self.error(
                line_no,
                format!(
                    "--tag-column {tag_column} is out of range: the token is column 1 \
                     and this line has {n_columns} columns"
                ),
            ));
        }
        let n_extra = n_columns - 2;
        let extra_names = match &self.options.column_names {
            Some(names) => {
                if names.len() != n_extra {
                    return Err(self.error(
                        line_no,
                        format!(
                            "--column-names gives {} names, but the file has {n_extra} columns \
                             besides the token and the tag",
                            names.len()
                        ),
                    ));
                }
                names.clone()
            }
            None => default_names(n_columns, tag_column),
        };
        for (i, name) in extra_names.iter().enumerate() {
            if RESERVED.contains(&name.as_str()) || extra_names[..i].contains(name) {
                return Err(ConvertError::Usage(format!(
                    "column name '{name}' is reserved or repeated (reserved: {})",
                    RESERVED.join(", ")
                )));
            }
        }
        Ok(Layout {
            n_columns,
            first_line: line_no,
            tag_index: tag_column - 1,
            extra_names,
        })
    }
}

/// CoNLL-2003's layout names its middle columns `pos` and `chunk`; other
/// layouts get `col<N>` with the 1-based column number.
fn default_names(n_columns: usize, tag_column: usize) -> Vec<String> {
    match (n_columns, tag_column) {
        (4, 4) => vec!["pos".into(), "chunk".into()],
        (3, 3) => vec!["pos".into()],
        _ => (2..=n_columns)
            .filter(|&c| c != tag_column)
            .map(|c| format!("col{c}"))
            .collect(),
    }
}

#[cfg(test)]
mod split_tests {
    use super::split_fields;

    fn fields(line: &str) -> Vec<&str> {
        let mut ranges = Vec::new();
        split_fields(line, &mut ranges);
        ranges.iter().map(|&(s, e)| &line[s..e]).collect()
    }

    #[test]
    fn fields_are_the_runs_between_spaces_and_tabs() {
        assert_eq!(
            fields("Zürich NNP\t\tI-NP  B-LOC"),
            ["Zürich", "NNP", "I-NP", "B-LOC"]
        );
        assert_eq!(fields("  naïve\u{a0}x O "), ["naïve\u{a0}x", "O"]);
        assert!(fields(" \t ").is_empty());
        assert!(fields("").is_empty());
    }
}
