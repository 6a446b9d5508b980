//! Plain text to tokens, the way CoNLL-2003 (Reuters, Penn Treebank style)
//! is tokenized.
//!
//! Punctuation is split off words (`"Hello,` → `"`, `Hello`, `,`), possessive
//! and contracted endings become tokens of their own (`Germany's` →
//! `Germany`, `'s`; `don't` → `do`, `n't`), while abbreviations (`U.S.`,
//! `Mr.`, `Jan.`, single initials `J.`), numbers (`1,000`, `3.5`, `12:30`,
//! `1996-08-22`), hyphenated words (`German-born`), URLs and e-mail-like
//! tokens stay whole. A sentence-final period after a known abbreviation is
//! kept with it, as in the corpus (`in the U.S.`).

/// Words that end in a period which belongs to them.
const ABBREVIATIONS: &[&str] = &[
    "mr", "mrs", "ms", "dr", "prof", "sr", "jr", "st", "mt", "gen", "gov", "sen", "rep", "rev",
    "col", "lt", "sgt", "capt", "cmdr", "adm", "maj", "pres", "inc", "corp", "ltd", "co", "bros",
    "plc", "no", "vs", "etc", "approx", "dept", "est", "fig", "jan", "feb", "mar", "apr", "jun",
    "jul", "aug", "sep", "sept", "oct", "nov", "dec", "ave", "blvd", "rd", "ft", "e.g", "i.e",
];

/// Punctuation split from the start of a word.
const LEADING: &[char] = &[
    '"', '(', '[', '{', '\'', '`', '$', '£', '€', '¥', '«', '“', '‘',
];
/// Punctuation split from the end of a word.
const TRAILING: &[char] = &[
    '"', ')', ']', '}', ',', ';', ':', '!', '?', '.', '\'', '%', '»', '”', '’',
];
/// Contraction and possessive endings, longest first.
const CLITICS: &[&str] = &["n't", "'s", "'re", "'ve", "'ll", "'d", "'m"];

/// Splits one line of text into tokens.
pub fn tokenize(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    for chunk in line.split_whitespace() {
        split_chunk(chunk, &mut out);
    }
    out
}

/// Splits on whitespace only (`--pretokenized`).
pub fn whitespace(line: &str) -> Vec<String> {
    line.split_whitespace().map(str::to_string).collect()
}

/// One non-blank line of a text, tokenized.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// The line's index in the text, from 0.
    pub index: usize,
    pub tokens: Vec<String>,
    /// Per token, its characters `start..end` in the whole text (not bytes).
    pub offsets: Option<Vec<(usize, usize)>>,
}

/// Each non-blank line of `text` (split at `\n`), tokenized, with where
/// each token sits in `text`.
pub fn lines(text: &str) -> Vec<Line> {
    let mut out = Vec::new();
    let mut line_start = 0; // in characters
    for (index, line) in text.split('\n').enumerate() {
        let tokens = tokenize(line);
        if !tokens.is_empty() {
            let offsets = offsets(line, &tokens).map(|o| {
                o.into_iter()
                    .map(|(s, e)| (line_start + s, line_start + e))
                    .collect()
            });
            out.push(Line {
                index,
                tokens,
                offsets,
            });
        }
        line_start += line.chars().count() + 1;
    }
    out
}

/// Where each token sits in `line`, in characters: the tokenizer only
/// splits, so each token is found after the one before.
fn offsets(line: &str, tokens: &[String]) -> Option<Vec<(usize, usize)>> {
    let mut out = Vec::with_capacity(tokens.len());
    let mut at = 0; // bytes
    for token in tokens {
        let found = at + line[at..].find(token.as_str())?;
        let start = line[..found].chars().count();
        out.push((start, start + token.chars().count()));
        at = found + token.len();
    }
    Some(out)
}

fn split_chunk(chunk: &str, out: &mut Vec<String>) {
    // Peel leading punctuation.
    let mut rest = chunk;
    let mut leading = Vec::new();
    while let Some(c) = rest.chars().next() {
        if rest.len() > c.len_utf8() && LEADING.contains(&c) && !is_clitic(rest) {
            leading.push(c.to_string());
            rest = &rest[c.len_utf8()..];
        } else {
            break;
        }
    }
    // Peel trailing punctuation, keeping what belongs to the word.
    let mut trailing = Vec::new();
    loop {
        // A run of periods or dashes (`...`, `--`) is one token.
        if rest.chars().all(|c| c == '.') || rest.chars().all(|c| c == '-') {
            break;
        }
        if rest.ends_with("...") {
            trailing.push("...".to_string());
            rest = &rest[..rest.len() - 3];
            continue;
        }
        let Some(c) = rest.chars().next_back() else {
            break;
        };
        if rest.len() <= c.len_utf8() || !TRAILING.contains(&c) {
            break;
        }
        if c == '.' && keeps_period(rest) {
            break;
        }
        trailing.push(c.to_string());
        rest = &rest[..rest.len() - c.len_utf8()];
    }
    out.extend(leading);
    if !rest.is_empty() {
        split_clitic(rest, out);
    }
    out.extend(trailing.into_iter().rev());
}

fn is_clitic(text: &str) -> bool {
    let lower = text.to_lowercase();
    CLITICS.iter().any(|c| lower == *c)
}

/// `Germany's` → `Germany`, `'s`; `don't` → `do`, `n't`.
fn split_clitic(word: &str, out: &mut Vec<String>) {
    let lower = word.to_lowercase();
    for clitic in CLITICS {
        if lower.len() > clitic.len() && lower.ends_with(clitic) {
            let cut = word.len() - clitic.len();
            if word.is_char_boundary(cut) {
                out.push(word[..cut].to_string());
                out.push(word[cut..].to_string());
                return;
            }
        }
    }
    // `Jones'` keeps a bare apostrophe as its own token.
    out.push(word.to_string());
}

/// Whether the final period of `word` is part of it.
fn keeps_period(word: &str) -> bool {
    let stem = &word[..word.len() - 1];
    if stem.is_empty() {
        return false;
    }
    // U.S. / U.K. / e.g. : letters separated by periods.
    let dotted = stem
        .split('.')
        .all(|part| part.chars().count() == 1 && part.chars().all(char::is_alphabetic));
    if dotted {
        return true;
    }
    // A single capital initial: J.
    let mut chars = stem.chars();
    if let (Some(c), None) = (chars.next(), chars.next()) {
        return c.is_uppercase();
    }
    ABBREVIATIONS.contains(&stem.to_lowercase().as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str, expected: &[&str]) {
        assert_eq!(tokenize(text), expected, "{text}");
    }

    #[test]
    fn splits_punctuation_from_words() {
        check(
            "EU rejects German call to boycott British lamb.",
            &[
                "EU", "rejects", "German", "call", "to", "boycott", "British", "lamb", ".",
            ],
        );
        check(
            "\"Hello,\" she said (quietly)!",
            &[
                "\"", "Hello", ",", "\"", "she", "said", "(", "quietly", ")", "!",
            ],
        );
    }

    #[test]
    fn keeps_abbreviations_whole() {
        check(
            "Mr. Smith of the U.S. met Dr. J. Doe in Jan. at Acme Inc.",
            &[
                "Mr.", "Smith", "of", "the", "U.S.", "met", "Dr.", "J.", "Doe", "in", "Jan.", "at",
                "Acme", "Inc.",
            ],
        );
        check(
            "He lives in the U.K.",
            &["He", "lives", "in", "the", "U.K."],
        );
    }

    #[test]
    fn keeps_numbers_dates_and_hyphenated_words_whole() {
        check(
            "It cost $1,000.50, up 3.5% on 1996-08-22 at 12:30; German-born.",
            &[
                "It",
                "cost",
                "$",
                "1,000.50",
                ",",
                "up",
                "3.5",
                "%",
                "on",
                "1996-08-22",
                "at",
                "12:30",
                ";",
                "German-born",
                ".",
            ],
        );
    }

    #[test]
    fn splits_possessives_and_contractions() {
        check(
            "Germany's chancellor doesn't know they're here.",
            &[
                "Germany",
                "'s",
                "chancellor",
                "does",
                "n't",
                "know",
                "they",
                "'re",
                "here",
                ".",
            ],
        );
    }

    #[test]
    fn ellipsis_and_empty_input() {
        check("Wait... what?", &["Wait", "...", "what", "?"]);
        check("   ", &[]);
        check("...", &["..."]);
        check("-", &["-"]);
    }

    #[test]
    fn non_ascii_text() {
        check(
            "Müller (Köln) won.",
            &["Müller", "(", "Köln", ")", "won", "."],
        );
    }
}
