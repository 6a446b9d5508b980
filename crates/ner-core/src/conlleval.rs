//! The CoNLL shared-task scorer, `conlleval` (version 2004-01-26), rule for rule.
//!
//! [`Counter`] is the script's state machine: feed it one token at a time
//! (gold tag, predicted tag) and a boundary between sentences, and it counts
//! phrases, found phrases, correct phrases and correct tags exactly as the
//! Perl script does — including its treatment of ill-formed sequences (`I-X`
//! after `O` or after another type starts a phrase, so IOB1 and IOB2 score
//! alike), of `E-` tags, and of prefixes it does not know (`S-` only starts a
//! phrase where the type changes, as in the script). [`read`] parses the
//! script's own input format and [`Counts::report`] prints its report byte
//! for byte, so this module can stand in for `conlleval` on any file.
//!
//! Everything works on bytes, as the script does: tags and types need not be
//! UTF-8, and types sort byte-wise.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// conlleval's sentence-boundary token.
pub const BOUNDARY: &[u8] = b"-X-";

/// Options of the script: `-r`, `-o`, `-d` and `-l`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// `-r`: tags carry no prefix; every non-`O` tag is a one-token phrase.
    pub raw: bool,
    /// `-o`: the outside tag in raw mode.
    pub o_tag: Vec<u8>,
    /// `-d`: the field delimiter.
    pub delimiter: Delimiter,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            raw: false,
            o_tag: b"O".to_vec(),
            delimiter: Delimiter::Literal(b" ".to_vec()),
        }
    }
}

/// How fields are separated. The script takes a Perl regular expression;
/// the forms people use are supported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delimiter {
    /// A literal byte string (the default is one space).
    Literal(Vec<u8>),
    /// `\s`: any one whitespace byte.
    Whitespace,
    /// `\s+`: a run of whitespace.
    WhitespaceRun,
}

impl Delimiter {
    /// Parses a `-d` argument: `\s`, `\s+`, `\t`, or literal text.
    pub fn parse(text: &str) -> Delimiter {
        match text {
            "\\s" => Delimiter::Whitespace,
            "\\s+" => Delimiter::WhitespaceRun,
            "\\t" => Delimiter::Literal(b"\t".to_vec()),
            other => Delimiter::Literal(other.as_bytes().to_vec()),
        }
    }

    /// Perl's `split(/DELIMITER/, $line)`: empty leading fields are kept,
    /// empty trailing fields are dropped.
    fn split<'a>(&self, line: &'a [u8]) -> Vec<&'a [u8]> {
        let is_space = |b: u8| matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c);
        let mut fields = Vec::new();
        let mut start = 0;
        let mut i = 0;
        while i < line.len() {
            let width = match self {
                Delimiter::Literal(d) if d.is_empty() => 0,
                Delimiter::Literal(d) => {
                    if line[i..].starts_with(d) {
                        d.len()
                    } else {
                        0
                    }
                }
                Delimiter::Whitespace => usize::from(is_space(line[i])),
                Delimiter::WhitespaceRun => line[i..].iter().take_while(|&&b| is_space(b)).count(),
            };
            if width == 0 {
                i += 1;
                continue;
            }
            fields.push(&line[start..i]);
            i += width;
            start = i;
        }
        fields.push(&line[start..]);
        if matches!(self, Delimiter::Literal(d) if d.is_empty()) {
            // An empty pattern splits between characters.
            fields = line.chunks(1).collect();
        }
        while fields.last().is_some_and(|f| f.is_empty()) {
            fields.pop();
        }
        fields
    }
}

/// Phrase counts of one type.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TypeCounts {
    /// Phrases in the gold tags (`foundCorrect`).
    pub gold: u64,
    /// Phrases in the predictions (`foundGuessed`).
    pub found: u64,
    /// Predicted phrases with the right start, end and type.
    pub correct: u64,
}

/// What the script counts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counts {
    /// Token lines (boundaries excluded).
    pub tokens: u64,
    /// Tokens whose predicted tag equals the gold tag.
    pub correct_tags: u64,
    /// Gold phrases.
    pub gold: u64,
    /// Predicted phrases.
    pub found: u64,
    /// Correct phrases.
    pub correct: u64,
    /// Keys present in the script's `%foundCorrect` / `%foundGuessed`.
    gold_types: BTreeMap<Vec<u8>, u64>,
    found_types: BTreeMap<Vec<u8>, u64>,
    correct_types: BTreeMap<Vec<u8>, u64>,
}

/// Per-type, overall: precision, recall and F1, as percentages.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Prf {
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
}

impl Counts {
    /// Overall precision, recall and FB1 in percent, computed as the script
    /// computes them (same operations in the same order).
    pub fn overall(&self) -> Prf {
        prf(self.correct, self.found, self.gold)
    }

    /// Token accuracy in percent (0 without tokens).
    pub fn accuracy(&self) -> f64 {
        if self.tokens == 0 {
            0.0
        } else {
            100.0 * self.correct_tags as f64 / self.tokens as f64
        }
    }

    /// The types in the order and with the repetitions the script prints them.
    ///
    /// The script sorts the keys of both hashes together and drops a key
    /// equal to the previous one unless the previous one is false in Perl
    /// (the empty type), so an empty type can be listed twice.
    pub fn report_types(&self) -> Vec<&[u8]> {
        let mut keys: Vec<&[u8]> = self
            .gold_types
            .keys()
            .chain(self.found_types.keys())
            .map(Vec::as_slice)
            .collect();
        keys.sort();
        let mut out: Vec<&[u8]> = Vec::new();
        let mut last: Option<&[u8]> = None;
        for key in keys {
            let last_is_false = last.is_none_or(perl_false);
            if last_is_false || last != Some(key) {
                out.push(key);
            }
            last = Some(key);
        }
        out
    }

    /// Precision, recall and FB1 of one type in percent, as the script prints them.
    pub fn type_scores(&self, kind: &[u8]) -> Prf {
        let c = self.type_counts(kind);
        prf(c.correct, c.found, c.gold)
    }

    /// Counts of one type (zeros where the type never occurs).
    pub fn type_counts(&self, kind: &[u8]) -> TypeCounts {
        TypeCounts {
            gold: self.gold_types.get(kind).copied().unwrap_or(0),
            found: self.found_types.get(kind).copied().unwrap_or(0),
            correct: self.correct_types.get(kind).copied().unwrap_or(0),
        }
    }

    /// Every type seen, once each, sorted byte-wise.
    pub fn types(&self) -> Vec<&[u8]> {
        let mut types = self.report_types();
        types.dedup();
        types
    }

    /// The script's report, byte for byte.
    pub fn report(&self) -> Vec<u8> {
        let mut out = Vec::new();
        let overall = self.overall();
        out.extend_from_slice(
            format!(
                "processed {} tokens with {} phrases; found: {} phrases; correct: {}.\n",
                self.tokens, self.gold, self.found, self.correct
            )
            .as_bytes(),
        );
        if self.tokens > 0 {
            out.extend_from_slice(
                format!(
                    "accuracy: {:6.2}%; precision: {:6.2}%; recall: {:6.2}%; FB1: {:6.2}\n",
                    self.accuracy(),
                    overall.precision,
                    overall.recall,
                    overall.f1
                )
                .as_bytes(),
            );
        }
        for kind in self.report_types() {
            let counts = self.type_counts(kind);
            let scores = self.type_scores(kind);
            // `%17s` pads by bytes, as Perl does with byte strings.
            out.extend(std::iter::repeat_n(
                b' ',
                17usize.saturating_sub(kind.len()),
            ));
            out.extend_from_slice(kind);
            out.extend_from_slice(
                format!(
                    ": precision: {:6.2}%; recall: {:6.2}%; FB1: {:6.2}  {}\n",
                    scores.precision, scores.recall, scores.f1, counts.found
                )
                .as_bytes(),
            );
        }
        out
    }

    /// The script's `-l` (LaTeX table) report, byte for byte.
    pub fn latex_report(&self) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(b"        & Precision &  Recall  & F$_{\\beta=1} \\\\\\hline");
        for kind in self.report_types() {
            let scores = self.type_scores(kind);
            out.push(b'\n');
            out.extend_from_slice(kind);
            out.extend(std::iter::repeat_n(b' ', 7usize.saturating_sub(kind.len())));
            let mut line = String::new();
            let _ = write!(
                line,
                " &  {:6.2}\\% & {:6.2}\\% & {:6.2} \\\\",
                scores.precision, scores.recall, scores.f1
            );
            out.extend_from_slice(line.as_bytes());
        }
        out.extend_from_slice(b"\\hline\n");
        let overall = self.overall();
        out.extend_from_slice(
            format!(
                "Overall &  {:6.2}\\% & {:6.2}\\% & {:6.2} \\\\\\hline\n",
                overall.precision, overall.recall, overall.f1
            )
            .as_bytes(),
        );
        out
    }
}

/// Precision, recall and FB1 in percent, with the script's arithmetic.
fn prf(correct: u64, found: u64, gold: u64) -> Prf {
    let precision = if found > 0 {
        100.0 * correct as f64 / found as f64
    } else {
        0.0
    };
    let recall = if gold > 0 {
        100.0 * correct as f64 / gold as f64
    } else {
        0.0
    };
    let f1 = if precision + recall > 0.0 {
        2.0 * precision * recall / (precision + recall)
    } else {
        0.0
    };
    Prf {
        precision,
        recall,
        f1,
    }
}

/// Perl's falsehood for strings: empty or `"0"`.
fn perl_false(s: &[u8]) -> bool {
    s.is_empty() || s == b"0"
}

/// Splits a tag at its first hyphen into (chunk tag, type), as the script's
/// `/^([^-]*)-(.*)$/` does; a tag without a hyphen has an empty type, and a
/// type of `0` counts as empty (Perl truthiness).
pub fn split_tag(tag: &[u8]) -> (&[u8], &[u8]) {
    match tag.iter().position(|&b| b == b'-') {
        Some(i) => {
            let kind = &tag[i + 1..];
            (&tag[..i], if perl_false(kind) { &[] } else { kind })
        }
        None => (tag, &[]),
    }
}

/// The script's `endOfChunk`.
pub fn end_of_chunk(prev_tag: &[u8], tag: &[u8], prev_type: &[u8], kind: &[u8]) -> bool {
    let pair = (prev_tag, tag);
    matches!(
        pair,
        (b"B", b"B")
            | (b"B", b"O")
            | (b"I", b"B")
            | (b"I", b"O")
            | (b"E", b"E")
            | (b"E", b"I")
            | (b"E", b"O")
    ) || (prev_tag != b"O" && prev_tag != b"." && prev_type != kind)
        || prev_tag == b"]"
        || prev_tag == b"["
}

/// The script's `startOfChunk`.
pub fn start_of_chunk(prev_tag: &[u8], tag: &[u8], prev_type: &[u8], kind: &[u8]) -> bool {
    let pair = (prev_tag, tag);
    matches!(
        pair,
        (b"B", b"B")
            | (b"I", b"B")
            | (b"O", b"B")
            | (b"O", b"I")
            | (b"E", b"E")
            | (b"E", b"I")
            | (b"O", b"E")
    ) || (tag != b"O" && tag != b"." && prev_type != kind)
        || tag == b"["
        || tag == b"]"
}

/// conlleval's state machine over a stream of tokens and boundaries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Counter {
    counts: Counts,
    in_correct: bool,
    last_correct: Vec<u8>,
    last_correct_type: Vec<u8>,
    last_guessed: Vec<u8>,
    last_guessed_type: Vec<u8>,
}

impl Default for Counter {
    fn default() -> Self {
        Counter {
            counts: Counts::default(),
            in_correct: false,
            last_correct: b"O".to_vec(),
            last_correct_type: Vec::new(),
            last_guessed: b"O".to_vec(),
            last_guessed_type: Vec::new(),
        }
    }
}

impl Counter {
    pub fn new() -> Self {
        Counter::default()
    }

    /// One token: its gold and predicted tags as written (`B-PER`, `O`, …).
    pub fn token(&mut self, gold: &[u8], predicted: &[u8]) {
        let (correct, correct_type) = split_tag(gold);
        let (guessed, guessed_type) = split_tag(predicted);
        self.step(correct, correct_type, guessed, guessed_type, false);
    }

    /// A sentence boundary (a blank line or a `-X-` line).
    pub fn boundary(&mut self) {
        self.step(b"O", b"", b"O", b"", true);
    }

    /// A whole sentence followed by a boundary.
    pub fn sentence<G: AsRef<[u8]>, P: AsRef<[u8]>>(&mut self, gold: &[G], predicted: &[P]) {
        for (g, p) in gold.iter().zip(predicted) {
            self.token(g.as_ref(), p.as_ref());
        }
        self.boundary();
    }

    fn step(
        &mut self,
        correct: &[u8],
        correct_type: &[u8],
        guessed: &[u8],
        guessed_type: &[u8],
        is_boundary: bool,
    ) {
        // Sentence breaks always count as outside any phrase.
        let guessed: &[u8] = if is_boundary { b"O" } else { guessed };
        let counts = &mut self.counts;
        let gold_end = end_of_chunk(
            &self.last_correct,
            correct,
            &self.last_correct_type,
            correct_type,
        );
        let guess_end = end_of_chunk(
            &self.last_guessed,
            guessed,
            &self.last_guessed_type,
            guessed_type,
        );
        if self.in_correct {
            if gold_end && guess_end && self.last_guessed_type == self.last_correct_type {
                self.in_correct = false;
                counts.correct += 1;
                *counts
                    .correct_types
                    .entry(self.last_correct_type.clone())
                    .or_insert(0) += 1;
            } else if gold_end != guess_end || guessed_type != correct_type {
                self.in_correct = false;
            }
        }
        let gold_start = start_of_chunk(
            &self.last_correct,
            correct,
            &self.last_correct_type,
            correct_type,
        );
        let guess_start = start_of_chunk(
            &self.last_guessed,
            guessed,
            &self.last_guessed_type,
            guessed_type,
        );
        if gold_start && guess_start && guessed_type == correct_type {
            self.in_correct = true;
        }
        if gold_start {
            counts.gold += 1;
            *counts.gold_types.entry(correct_type.to_vec()).or_insert(0) += 1;
        }
        if guess_start {
            counts.found += 1;
            *counts.found_types.entry(guessed_type.to_vec()).or_insert(0) += 1;
        }
        if !is_boundary {
            if correct == guessed && guessed_type == correct_type {
                counts.correct_tags += 1;
            }
            counts.tokens += 1;
        }
        set(&mut self.last_guessed, guessed);
        set(&mut self.last_correct, correct);
        set(&mut self.last_guessed_type, guessed_type);
        set(&mut self.last_correct_type, correct_type);
    }

    /// The counts so far, with a phrase still open at the end closed.
    pub fn counts(&self) -> Counts {
        let mut counts = self.counts.clone();
        if self.in_correct {
            counts.correct += 1;
            *counts
                .correct_types
                .entry(self.last_correct_type.clone())
                .or_insert(0) += 1;
        }
        counts
    }
}

fn set(target: &mut Vec<u8>, value: &[u8]) {
    target.clear();
    target.extend_from_slice(value);
}

/// A line the script would reject.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}:{line}: {message}", path = .path.display())]
pub struct InputError {
    pub path: PathBuf,
    pub line: usize,
    pub message: String,
}

/// One token line of conlleval input, for callers that want more than counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Line<'a> {
    Token { gold: &'a [u8], predicted: &'a [u8] },
    Boundary,
}

/// Reads conlleval input: fields split by the delimiter, the last two the
/// gold and predicted tags; blank lines and lines whose first field is `-X-`
/// separate sentences. Every line must have as many fields as the first
/// non-blank one. `visit` sees every line as the script interprets it.
pub fn read<'a>(
    path: &Path,
    bytes: &'a [u8],
    options: &Options,
    mut visit: impl FnMut(Line<'_>),
) -> Result<Counts, InputError> {
    let mut counter = Counter::new();
    let mut n_fields: Option<(usize, usize)> = None;
    let mut raw_tags: [Vec<u8>; 2] = [Vec::new(), Vec::new()];
    // `while (<STDIN>) { chomp ... }`: a final line without a newline counts.
    let body = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    if bytes.is_empty() {
        return Ok(counter.counts());
    }
    for (index, line) in body.split(|&b| b == b'\n').enumerate() {
        let line_no = index + 1;
        let fields: Vec<&'a [u8]> = options.delimiter.split(line);
        match n_fields {
            _ if fields.is_empty() => {}
            None => n_fields = Some((fields.len(), line_no)),
            Some((expected, first_line)) if expected != fields.len() => {
                return Err(InputError {
                    path: path.to_path_buf(),
                    line: line_no,
                    message: format!(
                        "unexpected number of features: {} ({} on line {first_line})",
                        fields.len(),
                        expected
                    ),
                });
            }
            Some(_) => {}
        }
        if fields.is_empty() || fields[0] == BOUNDARY {
            counter.boundary();
            visit(Line::Boundary);
            continue;
        }
        if fields.len() < 2 {
            return Err(InputError {
                path: path.to_path_buf(),
                line: line_no,
                message: "unexpected number of features: each line needs at least \
                          the gold and the predicted tag"
                    .into(),
            });
        }
        let mut gold = fields[fields.len() - 2];
        let mut predicted = fields[fields.len() - 1];
        if options.raw {
            for (slot, tag) in raw_tags.iter_mut().zip([&mut gold, &mut predicted]) {
                slot.clear();
                if *tag != options.o_tag.as_slice() && *tag != b"O" {
                    slot.extend_from_slice(b"B-");
                    slot.extend_from_slice(tag);
                } else {
                    slot.extend_from_slice(b"O");
                }
            }
            gold = &raw_tags[0];
            predicted = &raw_tags[1];
        }
        counter.token(gold, predicted);
        visit(Line::Token { gold, predicted });
    }
    Ok(counter.counts())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(input: &str) -> String {
        let counts = read(
            Path::new("t"),
            input.as_bytes(),
            &Options::default(),
            |_| {},
        )
        .expect("valid input");
        String::from_utf8(counts.report()).expect("utf-8")
    }

    fn counts(gold: &[&str], predicted: &[&str]) -> (u64, u64, u64) {
        let mut counter = Counter::new();
        counter.sentence(gold, predicted);
        let c = counter.counts();
        (c.gold, c.found, c.correct)
    }

    #[test]
    fn report_has_the_scripts_layout() {
        let input = "EU B-ORG B-ORG\nrejects O O\nGerman B-MISC B-MISC\ncall O O\n\n\
                     Peter B-PER B-PER\nBlackburn I-PER O\n";
        assert_eq!(
            report(input),
            "processed 6 tokens with 3 phrases; found: 3 phrases; correct: 2.\n\
             accuracy:  83.33%; precision:  66.67%; recall:  66.67%; FB1:  66.67\n\
             \x20            MISC: precision: 100.00%; recall: 100.00%; FB1: 100.00  1\n\
             \x20             ORG: precision: 100.00%; recall: 100.00%; FB1: 100.00  1\n\
             \x20             PER: precision:   0.00%; recall:   0.00%; FB1:   0.00  1\n"
        );
    }

    #[test]
    fn empty_input_prints_only_the_first_line() {
        assert_eq!(
            report(""),
            "processed 0 tokens with 0 phrases; found: 0 phrases; correct: 0.\n"
        );
        assert_eq!(
            report("\n\n"),
            "processed 0 tokens with 0 phrases; found: 0 phrases; correct: 0.\n"
        );
    }

    #[test]
    fn iob1_and_iob2_describe_the_same_phrases() {
        // I-X after O starts a phrase; B-X is needed only between neighbours.
        assert_eq!(
            counts(
                &["I-PER", "I-PER", "B-PER", "O"],
                &["B-PER", "I-PER", "B-PER", "O"]
            ),
            (2, 2, 2)
        );
    }

    #[test]
    fn type_change_inside_i_tags_splits_phrases() {
        // I-LOC after I-PER ends the PER phrase and starts a LOC one.
        assert_eq!(counts(&["B-PER", "I-LOC"], &["B-PER", "I-PER"]), (2, 1, 0));
    }

    #[test]
    fn phrase_must_match_start_end_and_type() {
        assert_eq!(counts(&["B-PER", "I-PER"], &["B-PER", "O"]), (1, 1, 0)); // end
        assert_eq!(counts(&["O", "B-PER"], &["B-PER", "I-PER"]), (1, 1, 0)); // start
        assert_eq!(counts(&["B-PER"], &["B-LOC"]), (1, 1, 0)); // type
        assert_eq!(counts(&["B-PER", "I-PER"], &["B-PER", "I-PER"]), (1, 1, 1));
    }

    #[test]
    fn e_tags_follow_the_script() {
        // B-X E-X is one phrase; E-X E-X starts a new phrase at the second E.
        assert_eq!(counts(&["B-PER", "E-PER"], &["B-PER", "E-PER"]), (1, 1, 1));
        assert_eq!(counts(&["E-PER", "E-PER"], &["B-PER", "E-PER"]), (2, 1, 0));
        // E-X then B-X of the same type: the script sees no boundary.
        assert_eq!(
            counts(&["B-PER", "E-PER", "B-PER", "E-PER"], &["O"; 4]),
            (1, 0, 0)
        );
    }

    #[test]
    fn s_tags_start_phrases_only_on_a_type_change() {
        assert_eq!(counts(&["S-PER", "S-PER", "S-LOC"], &["O"; 3]), (2, 0, 0));
    }

    #[test]
    fn unknown_prefixes_and_brackets() {
        // `[` and `]` are one-token phrases; other prefixes start on a type change.
        assert_eq!(counts(&["[-NP", "[-NP"], &["[-NP", "[-NP"]), (2, 2, 2));
        assert_eq!(
            counts(&["X-A", "X-A", "Y-B"], &["X-A", "X-A", "Y-B"]),
            (2, 2, 2)
        );
        // `.` never starts or ends a phrase by type.
        assert_eq!(counts(&[".-A"], &["O"]), (0, 0, 0));
    }

    #[test]
    fn tags_split_at_the_first_hyphen() {
        assert_eq!(split_tag(b"B-GPE-LOC"), (&b"B"[..], &b"GPE-LOC"[..]));
        assert_eq!(split_tag(b"PER"), (&b"PER"[..], &b""[..]));
        assert_eq!(split_tag(b"B-0"), (&b"B"[..], &b""[..]));
        assert_eq!(split_tag(b"-"), (&b""[..], &b""[..]));
    }

    #[test]
    fn boundaries_close_phrases_and_are_not_tokens() {
        let input = "a B-PER B-PER\n-X- -X- O\nb I-PER I-PER\n";
        assert!(report(input)
            .starts_with("processed 2 tokens with 2 phrases; found: 2 phrases; correct: 2.\n"));
    }

    #[test]
    fn docstart_lines_are_tokens() {
        // The script only knows `-X-` in the first field.
        let input = "-DOCSTART- -X- O O\n\nEU NNP B-ORG B-ORG\n";
        assert!(report(input).starts_with("processed 2 tokens with 1 phrases"));
    }

    #[test]
    fn empty_type_is_listed_twice() {
        // Tags without a hyphen have the empty type; Perl's duplicate check
        // treats the empty string as false and prints it twice.
        let input = "a B B\n";
        assert_eq!(
            report(input),
            "processed 1 tokens with 1 phrases; found: 1 phrases; correct: 1.\n\
             accuracy: 100.00%; precision: 100.00%; recall: 100.00%; FB1: 100.00\n\
             \x20                : precision: 100.00%; recall: 100.00%; FB1: 100.00  1\n\
             \x20                : precision: 100.00%; recall: 100.00%; FB1: 100.00  1\n"
        );
    }

    #[test]
    fn fields_split_like_perl() {
        let d = Delimiter::Literal(b" ".to_vec());
        assert_eq!(d.split(b"a  b "), vec![&b"a"[..], b"", b"b"]);
        assert_eq!(d.split(b" a"), vec![&b""[..], b"a"]);
        assert!(d.split(b"   ").is_empty());
        assert_eq!(
            Delimiter::WhitespaceRun.split(b"a \t b"),
            vec![&b"a"[..], b"b"]
        );
    }

    #[test]
    fn wrong_field_count_names_the_line() {
        let err = read(
            Path::new("p.conll"),
            b"a O O\n\nb O\n",
            &Options::default(),
            |_| {},
        )
        .expect_err("mismatch");
        assert_eq!(
            err.to_string(),
            "p.conll:3: unexpected number of features: 2 (3 on line 1)"
        );
        let err = read(Path::new("p.conll"), b"a\nb\n", &Options::default(), |_| {})
            .expect_err("one field");
        assert_eq!(err.line, 1);
    }

    #[test]
    fn raw_mode_makes_one_token_phrases() {
        let options = Options {
            raw: true,
            o_tag: b"OUT".to_vec(),
            ..Options::default()
        };
        let counts = read(Path::new("t"), b"a PER PER\nb PER OUT\n", &options, |_| {}).expect("ok");
        assert_eq!((counts.gold, counts.found, counts.correct), (2, 1, 1));
    }

    #[test]
    fn crlf_keeps_the_carriage_return_in_the_last_field() {
        // As in the script: the predicted type is `PER\r`, and `O\r` is not
        // `O`, so it starts a phrase of the empty type after it.
        let counts = read(
            Path::new("t"),
            b"a B-PER B-PER\r\nb O O\r\n",
            &Options::default(),
            |_| {},
        )
        .expect("ok");
        assert_eq!((counts.gold, counts.found, counts.correct), (1, 2, 0));
        assert_eq!(counts.correct_tags, 0);
    }
}
