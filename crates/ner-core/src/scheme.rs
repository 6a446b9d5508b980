//! Tag schemes (IOB1, IOB2, BIOES) and the chunk rules that connect them.
//!
//! Every scheme is decoded into entity spans with the rules of the CoNLL
//! `conlleval` script, so IOB1 and IOB2 input describing the same entities give
//! the same spans, and ill-formed sequences (an `I-X` after `O`) are read the
//! way the shared-task scorer reads them.

use std::fmt;
use std::str::FromStr;

/// A tag scheme: how entity boundaries are written with prefixes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TagScheme {
    /// `I-X` everywhere inside an entity; `B-X` only where an entity directly
    /// follows another of the same type (CoNLL-2003 as released).
    Iob1,
    /// Every entity starts with `B-X`.
    Iob2,
    /// `B-`, `I-`, `E-` (end) and `S-` (single-token entity).
    Bioes,
}

impl TagScheme {
    /// The lower-case name used on the command line and in metadata.
    pub fn name(self) -> &'static str {
        match self {
            TagScheme::Iob1 => "iob1",
            TagScheme::Iob2 => "iob2",
            TagScheme::Bioes => "bioes",
        }
    }

    /// Whether a prefix may appear at all in this scheme.
    pub fn allows(self, prefix: Prefix) -> bool {
        match self {
            TagScheme::Iob1 | TagScheme::Iob2 => matches!(prefix, Prefix::B | Prefix::I),
            TagScheme::Bioes => true,
        }
    }
}

impl fmt::Display for TagScheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for TagScheme {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "iob1" => Ok(TagScheme::Iob1),
            "iob2" | "bio" => Ok(TagScheme::Iob2),
            "bioes" | "iobes" => Ok(TagScheme::Bioes),
            other => Err(format!(
                "unknown tag scheme '{other}' (expected iob1, iob2 or bioes)"
            )),
        }
    }
}

/// The boundary prefix of a non-`O` tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Prefix {
    B,
    I,
    E,
    S,
}

impl Prefix {
    /// `"B-"`, `"I-"`, `"E-"` or `"S-"`: how a tag with this prefix starts.
    pub fn tag_start(self) -> &'static str {
        match self {
            Prefix::B => "B-",
            Prefix::I => "I-",
            Prefix::E => "E-",
            Prefix::S => "S-",
        }
    }
}

/// A parsed tag: `O`, or a prefix and an entity type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Tag<'a> {
    O,
    Entity { prefix: Prefix, kind: &'a str },
}

impl<'a> Tag<'a> {
    /// Parses `O` or `B-/I-/E-/S-TYPE` (with a non-empty type).
    pub fn parse(text: &'a str) -> Option<Tag<'a>> {
        if text == "O" {
            return Some(Tag::O);
        }
        let mut chars = text.chars();
        let prefix = match chars.next()? {
            'B' => Prefix::B,
            'I' => Prefix::I,
            'E' => Prefix::E,
            'S' => Prefix::S,
            _ => return None,
        };
        let kind = text.get(1..)?.strip_prefix('-')?;
        if kind.is_empty() {
            return None;
        }
        Some(Tag::Entity { prefix, kind })
    }

    /// The entity type, or `None` for `O`.
    pub fn kind(&self) -> Option<&'a str> {
        match self {
            Tag::O => None,
            Tag::Entity { kind, .. } => Some(kind),
        }
    }
}

/// The order of tags in a tag vocabulary: `O` first, then by entity type,
/// then by prefix (B, I, E, S).
pub fn tag_order_key<'a>(tag: &Tag<'a>) -> (u8, &'a str, Prefix) {
    match *tag {
        Tag::O => (0, "", Prefix::B),
        Tag::Entity { prefix, kind } => (1, kind, prefix),
    }
}

/// Every tag `scheme` writes for the entity types of `tags`, in the order of
/// [`tag_order_key`]: the tag set a tagger predicting in `scheme` needs.
pub fn tag_set<'a>(tags: impl IntoIterator<Item = Tag<'a>>, scheme: TagScheme) -> Vec<String> {
    let mut kinds: Vec<&str> = tags.into_iter().filter_map(|t| t.kind()).collect();
    kinds.sort_unstable();
    kinds.dedup();
    let mut out = vec!["O".to_string()];
    for kind in kinds {
        for prefix in [Prefix::B, Prefix::I, Prefix::E, Prefix::S] {
            if scheme.allows(prefix) {
                out.push(format!("{}{kind}", prefix.tag_start()));
            }
        }
    }
    out
}

/// The message used wherever a tag fails [`Tag::parse`].
pub fn invalid_tag_message(text: &str) -> String {
    format!("invalid tag '{text}': expected 'O' or a B-, I-, E- or S- prefix followed by an entity type")
}

/// An entity: tokens `start..end` (end exclusive) of type `kind`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Span {
    pub start: usize,
    pub end: usize,
    pub kind: String,
}

/// Whether a chunk starts at `cur` given the previous tag (conlleval's `startOfChunk`).
pub fn starts_chunk(prev: Tag<'_>, cur: Tag<'_>) -> bool {
    match cur {
        Tag::O => false,
        Tag::Entity { prefix, kind } => match prefix {
            Prefix::B | Prefix::S => true,
            Prefix::I | Prefix::E => match prev {
                Tag::O => true,
                Tag::Entity {
                    prefix: prev_prefix,
                    kind: prev_kind,
                } => prev_kind != kind || matches!(prev_prefix, Prefix::E | Prefix::S),
            },
        },
    }
}

/// Whether a chunk ends at `prev` given the next tag (conlleval's `endOfChunk`).
pub fn ends_chunk(prev: Tag<'_>, cur: Tag<'_>) -> bool {
    match prev {
        Tag::O => false,
        Tag::Entity {
            prefix: prev_prefix,
            kind: prev_kind,
        } => match cur {
            Tag::O => true,
            Tag::Entity { prefix, kind } => {
                matches!(prev_prefix, Prefix::E | Prefix::S)
                    || matches!(prefix, Prefix::B | Prefix::S)
                    || kind != prev_kind
            }
        },
    }
}

/// Decodes a sentence's tags into entity spans with the conlleval rules.
///
/// The rules are the same for IOB1, IOB2 and BIOES, which is why the scheme of
/// the input never changes which entities it describes.
pub fn spans(tags: &[Tag<'_>]) -> Vec<Span> {
    let mut out = Vec::new();
    let mut open: Option<(usize, &str)> = None;
    let mut prev = Tag::O;
    for (i, &tag) in tags.iter().enumerate() {
        if let Some((start, kind)) = open {
            if ends_chunk(prev, tag) {
                out.push(Span {
                    start,
                    end: i,
                    kind: kind.to_string(),
                });
                open = None;
            }
        }
        if starts_chunk(prev, tag) {
            open = tag.kind().map(|kind| (i, kind));
        }
        prev = tag;
    }
    if let Some((start, kind)) = open {
        out.push(Span {
            start,
            end: tags.len(),
            kind: kind.to_string(),
        });
    }
    out
}

/// The tags of `scheme` that spell `spans` in a sentence of `len` tokens.
///
/// Spans must not overlap (those returned by [`spans`] never do).
pub fn span_tags(len: usize, spans: &[Span], scheme: TagScheme) -> Vec<Tag<'_>> {
    let mut tags = vec![Tag::O; len];
    let mut prev_end: Option<(usize, &str)> = None;
    for span in spans {
        let touches_same_kind = prev_end == Some((span.start, span.kind.as_str()));
        let single = span.end - span.start == 1;
        for (offset, tag) in tags[span.start..span.end].iter_mut().enumerate() {
            let last = span.start + offset + 1 == span.end;
            let prefix = match scheme {
                TagScheme::Iob2 => {
                    if offset == 0 {
                        Prefix::B
                    } else {
                        Prefix::I
                    }
                }
                TagScheme::Iob1 => {
                    if offset == 0 && touches_same_kind {
                        Prefix::B
                    } else {
                        Prefix::I
                    }
                }
                TagScheme::Bioes => match (offset == 0, single, last) {
                    (_, true, _) => Prefix::S,
                    (true, false, _) => Prefix::B,
                    (false, _, true) => Prefix::E,
                    (false, _, false) => Prefix::I,
                },
            };
            *tag = Tag::Entity {
                prefix,
                kind: &span.kind,
            };
        }
        prev_end = Some((span.end, span.kind.as_str()));
    }
    tags
}

/// Writes spans as tags of `scheme` for a sentence of `len` tokens
/// ([`span_tags`] as text).
pub fn write_tags(len: usize, spans: &[Span], scheme: TagScheme) -> Vec<String> {
    span_tags(len, spans, scheme)
        .iter()
        .map(|tag| match tag {
            Tag::O => "O".to_string(),
            Tag::Entity { prefix, kind } => format!("{}{kind}", prefix.tag_start()),
        })
        .collect()
}

/// Guesses the scheme of a corpus from its tags.
///
/// `E-`/`S-` prefixes mean BIOES; an `I-X` that starts an entity (after `O`,
/// after another type, or at the start of a sentence) means IOB1; otherwise the
/// corpus is IOB2, which is also what an IOB1 corpus without such tags means.
#[derive(Debug, Default)]
pub struct SchemeDetector {
    saw_bioes_prefix: bool,
    saw_iob1_start: bool,
}

impl SchemeDetector {
    /// Feeds one sentence's tags.
    pub fn observe(&mut self, tags: &[Tag<'_>]) {
        let mut prev = Tag::O;
        for &tag in tags {
            if let Tag::Entity { prefix, .. } = tag {
                match prefix {
                    Prefix::E | Prefix::S => self.saw_bioes_prefix = true,
                    Prefix::I if starts_chunk(prev, tag) => self.saw_iob1_start = true,
                    _ => {}
                }
            }
            prev = tag;
        }
    }

    /// The scheme that best explains everything observed.
    pub fn scheme(&self) -> TagScheme {
        if self.saw_bioes_prefix {
            TagScheme::Bioes
        } else if self.saw_iob1_start {
            TagScheme::Iob1
        } else {
            TagScheme::Iob2
        }
    }
}

/// Converts one sentence's tags from any scheme to `to`, by way of its spans.
pub fn convert(tags: &[Tag<'_>], to: TagScheme) -> Vec<String> {
    write_tags(tags.len(), &spans(tags), to)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_all(text: &str) -> Vec<Tag<'_>> {
        text.split_whitespace()
            .map(|t| Tag::parse(t).expect("valid tag"))
            .collect()
    }

    fn check_convert(input: &str, to: TagScheme, expected: &str) {
        let got = convert(&parse_all(input), to).join(" ");
        assert_eq!(got, expected, "converting '{input}' to {to}");
    }

    #[test]
    fn tag_sets_follow_the_vocabulary_order() {
        let iob2 = parse_all("O B-PER I-PER B-LOC B-MISC I-MISC");
        assert_eq!(
            tag_set(iob2.iter().copied(), TagScheme::Bioes).join(" "),
            "O B-LOC I-LOC E-LOC S-LOC B-MISC I-MISC E-MISC S-MISC B-PER I-PER E-PER S-PER"
        );
        assert_eq!(
            tag_set(iob2.iter().copied(), TagScheme::Iob2).join(" "),
            "O B-LOC I-LOC B-MISC I-MISC B-PER I-PER"
        );
        let mut sorted = ["I-PER", "B-MISC", "O", "S-LOC", "B-PER", "E-LOC", "B-LOC"];
        sorted.sort_by_key(|t| tag_order_key(&Tag::parse(t).expect("valid tag")));
        assert_eq!(sorted.join(" "), "O B-LOC E-LOC S-LOC B-MISC B-PER I-PER");
    }

    #[test]
    fn parses_tags() {
        assert_eq!(Tag::parse("O"), Some(Tag::O));
        assert_eq!(
            Tag::parse("B-PER"),
            Some(Tag::Entity {
                prefix: Prefix::B,
                kind: "PER"
            })
        );
        assert_eq!(
            Tag::parse("S-I-X"),
            Some(Tag::Entity {
                prefix: Prefix::S,
                kind: "I-X"
            })
        );
        for bad in ["", "o", "B", "B-", "X-PER", "BPER", "I_PER", "-PER", "é-X"] {
            assert_eq!(Tag::parse(bad), None, "{bad:?} must be rejected");
        }
    }

    #[test]
    fn iob1_to_iob2() {
        check_convert("I-PER I-PER O", TagScheme::Iob2, "B-PER I-PER O");
        check_convert("I-LOC B-LOC I-LOC", TagScheme::Iob2, "B-LOC B-LOC I-LOC");
        check_convert("I-ORG I-PER", TagScheme::Iob2, "B-ORG B-PER");
        check_convert("O I-MISC O I-MISC", TagScheme::Iob2, "O B-MISC O B-MISC");
    }

    #[test]
    fn iob2_round_trips_through_every_scheme() {
        let iob2 = "B-PER I-PER B-PER O B-LOC B-ORG I-ORG I-ORG O";
        check_convert(iob2, TagScheme::Iob2, iob2);
        check_convert(
            iob2,
            TagScheme::Bioes,
            "B-PER E-PER S-PER O S-LOC B-ORG I-ORG E-ORG O",
        );
        check_convert(
            iob2,
            TagScheme::Iob1,
            "I-PER I-PER B-PER O I-LOC I-ORG I-ORG I-ORG O",
        );
        check_convert(
            "B-PER E-PER S-PER O S-LOC B-ORG I-ORG E-ORG O",
            TagScheme::Iob2,
            iob2,
        );
        check_convert(
            "I-PER I-PER B-PER O I-LOC I-ORG I-ORG I-ORG O",
            TagScheme::Iob2,
            iob2,
        );
    }

    #[test]
    fn ill_formed_sequences_are_read_as_conlleval_reads_them() {
        // I- after O or after another type starts an entity.
        check_convert("O I-PER", TagScheme::Iob2, "O B-PER");
        // E- after O is a one-token entity; S- followed by I- of the same type starts a new one.
        check_convert("O E-PER", TagScheme::Bioes, "O S-PER");
        check_convert("S-PER I-PER", TagScheme::Iob2, "B-PER B-PER");
        // B- followed by E- of another type: two entities.
        check_convert("B-PER E-LOC", TagScheme::Iob2, "B-PER B-LOC");
    }

    #[test]
    fn spans_follow_conlleval() {
        let got = spans(&parse_all("B-PER I-PER O I-LOC E-LOC I-LOC S-ORG"));
        let want = vec![
            Span {
                start: 0,
                end: 2,
                kind: "PER".into(),
            },
            Span {
                start: 3,
                end: 5,
                kind: "LOC".into(),
            },
            Span {
                start: 5,
                end: 6,
                kind: "LOC".into(),
            },
            Span {
                start: 6,
                end: 7,
                kind: "ORG".into(),
            },
        ];
        assert_eq!(got, want);
        assert!(spans(&[]).is_empty());
    }

    #[test]
    fn detects_schemes() {
        let detect = |sentences: &[&str]| {
            let mut d = SchemeDetector::default();
            for s in sentences {
                d.observe(&parse_all(s));
            }
            d.scheme()
        };
        assert_eq!(detect(&["O O", "B-PER I-PER"]), TagScheme::Iob2);
        assert_eq!(detect(&["B-PER I-PER", "I-LOC O"]), TagScheme::Iob1);
        assert_eq!(detect(&["I-PER I-PER B-PER"]), TagScheme::Iob1);
        assert_eq!(detect(&["B-PER E-PER", "I-LOC"]), TagScheme::Bioes);
        assert_eq!(detect(&["O"]), TagScheme::Iob2);
    }

    #[test]
    fn scheme_names() {
        for s in [TagScheme::Iob1, TagScheme::Iob2, TagScheme::Bioes] {
            assert_eq!(s.name().parse::<TagScheme>(), Ok(s));
        }
        assert!("bilou".parse::<TagScheme>().is_err());
    }
}
