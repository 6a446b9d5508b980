//! One tagged sentence as JSON: the lines of `ner-predict --sentences` and
//! the sentences of `ner-serve`'s answers, defined once.

use serde::Serialize;

use ner_infer::Analysis;

/// An entity of a tagged sentence.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EntityJson {
    pub text: String,
    #[serde(rename = "type")]
    pub kind: String,
    /// Tokens `start..end`.
    pub start: usize,
    pub end: usize,
    /// Characters `char_start..char_end` of the text it came from, where
    /// the sentence came from text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub char_start: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub char_end: Option<usize>,
    pub confidence: f64,
}

/// One of the n best tag sequences.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PathJson {
    pub tags: Vec<String>,
    pub probability: f64,
}

/// A tagged sentence.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SentenceJson {
    /// The input's sentence id (files; a server answer keeps request order).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sentence_id: Option<u32>,
    /// Which of a request's texts it came from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text_index: Option<usize>,
    pub tokens: Vec<String>,
    pub tags: Vec<String>,
    /// The probability of each tag.
    pub probs: Vec<f32>,
    pub entities: Vec<EntityJson>,
    /// The n best paths, the first equal to `tags` (when asked for).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub nbest: Vec<PathJson>,
}

/// Where a sentence came from: its id, or its text and the tokens'
/// character offsets in it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Origin<'a> {
    pub sentence_id: Option<u32>,
    pub text_index: Option<usize>,
    pub offsets: Option<&'a [(usize, usize)]>,
}

/// A sentence's tokens and analysis as JSON.
pub fn sentence(tokens: Vec<String>, origin: Origin<'_>, analysis: Analysis) -> SentenceJson {
    let entities = analysis
        .entities
        .iter()
        .map(|e| EntityJson {
            text: crate::entity_text(&tokens[e.start..e.end]),
            kind: e.kind.clone(),
            start: e.start,
            end: e.end,
            char_start: origin.offsets.map(|o| o[e.start].0),
            char_end: origin.offsets.map(|o| o[e.end - 1].1),
            confidence: e.confidence,
        })
        .collect();
    SentenceJson {
        sentence_id: origin.sentence_id,
        text_index: origin.text_index,
        tokens,
        tags: analysis.tags,
        probs: analysis.probs,
        entities,
        nbest: analysis
            .nbest
            .into_iter()
            .map(|(tags, probability)| PathJson { tags, probability })
            .collect(),
    }
}
