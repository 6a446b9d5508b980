//! The JSON of `POST /v1/tag`: the request, its checks against the
//! server's [`Limits`], and the response.

use serde::{Deserialize, Serialize};

use ner_infer::Analysis;
use ner_predict::json::{self, SentenceJson};
use ner_predict::tokenize;

/// Bounds on what one request may ask.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Request body, bytes.
    pub max_body_bytes: usize,
    pub max_sentences: usize,
    pub max_tokens: usize,
    pub max_nbest: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body_bytes: 1 << 20,
            max_sentences: 1_000,
            max_tokens: 1_000,
            max_nbest: 20,
        }
    }
}

/// One of `text` (lines are sentences), `texts` or `sentences` (tokens).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TagRequest {
    pub text: Option<String>,
    pub texts: Option<Vec<String>>,
    pub sentences: Option<Vec<Vec<String>>>,
    /// The n best tag sequences per sentence (CRF models).
    #[serde(default)]
    pub nbest: usize,
}

/// A refused request: its HTTP status, the reason, and the limit it broke.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ApiError {
    #[serde(skip)]
    pub status: u16,
    pub error: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max: Option<usize>,
}

impl ApiError {
    pub fn bad_request(error: impl Into<String>) -> Self {
        ApiError {
            status: 400,
            error: error.into(),
            limit: None,
            max: None,
        }
    }

    pub fn too_large(limit: &'static str, max: usize, error: impl Into<String>) -> Self {
        ApiError {
            status: 413,
            error: error.into(),
            limit: Some(limit),
            max: Some(max),
        }
    }
}

/// A sentence to tag, with where its tokens sit in the request's text.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    pub tokens: Vec<String>,
    /// Which of the request's texts it came from (text input only).
    pub text_index: Option<usize>,
    /// Per token, its character offsets `start..end` in that text.
    pub offsets: Option<Vec<(usize, usize)>>,
}

/// Parses and checks a body: UTF-8, JSON of [`TagRequest`], one input
/// kind, the limits.
pub fn parse(body: &[u8], limits: &Limits, has_crf: bool) -> Result<(Vec<Item>, usize), ApiError> {
    if body.len() > limits.max_body_bytes {
        return Err(ApiError::too_large(
            "max_body_bytes",
            limits.max_body_bytes,
            format!(
                "the body has {} bytes, more than max_body_bytes",
                body.len()
            ),
        ));
    }
    let text = std::str::from_utf8(body)
        .map_err(|e| ApiError::bad_request(format!("the body is not UTF-8: {e}")))?;
    let request: TagRequest = serde_json::from_str(text)
        .map_err(|e| ApiError::bad_request(format!("the body is not a tag request: {e}")))?;
    if request.nbest > 0 && !has_crf {
        return Err(ApiError::bad_request(
            "nbest needs a CRF model; this one has a softmax output",
        ));
    }
    if request.nbest > limits.max_nbest {
        return Err(ApiError::too_large(
            "max_nbest",
            limits.max_nbest,
            format!("nbest {} is more than max_nbest", request.nbest),
        ));
    }
    let items = match (request.text, request.texts, request.sentences) {
        (Some(text), None, None) => from_texts(&[text]),
        (None, Some(texts), None) => from_texts(&texts),
        (None, None, Some(sentences)) => sentences
            .into_iter()
            .map(|tokens| Item {
                tokens,
                text_index: None,
                offsets: None,
            })
            .collect(),
        _ => {
            return Err(ApiError::bad_request(
                "give exactly one of \"text\", \"texts\" or \"sentences\"",
            ))
        }
    };
    if items.len() > limits.max_sentences {
        return Err(ApiError::too_large(
            "max_sentences",
            limits.max_sentences,
            format!("{} sentences, more than max_sentences", items.len()),
        ));
    }
    for (i, item) in items.iter().enumerate() {
        if item.tokens.len() > limits.max_tokens {
            return Err(ApiError::too_large(
                "max_tokens",
                limits.max_tokens,
                format!(
                    "sentence {i} has {} tokens, more than max_tokens",
                    item.tokens.len()
                ),
            ));
        }
        if let Some(t) = item.tokens.iter().position(String::is_empty) {
            return Err(ApiError::bad_request(format!(
                "sentence {i}: token {t} is empty"
            )));
        }
    }
    Ok((items, request.nbest))
}

/// Each non-blank line of each text, tokenized, with character offsets.
fn from_texts(texts: &[String]) -> Vec<Item> {
    texts
        .iter()
        .enumerate()
        .flat_map(|(index, text)| {
            tokenize::lines(text).into_iter().map(move |line| Item {
                tokens: line.tokens,
                text_index: Some(index),
                offsets: line.offsets,
            })
        })
        .collect()
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TagResponse {
    pub model: String,
    pub sentences: Vec<SentenceJson>,
}

/// A sentence and its analysis as the response writes them.
pub fn sentence_json(item: Item, analysis: Analysis) -> SentenceJson {
    let Item {
        tokens,
        text_index,
        offsets,
    } = item;
    let origin = json::Origin {
        sentence_id: None,
        text_index,
        offsets: offsets.as_deref(),
    };
    json::sentence(tokens, origin, analysis)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_are_split_into_lines_with_character_offsets() {
        let items = from_texts(&["Zürich's mayor.\n\nPeter Blackburn".to_string()]);
        assert_eq!(items.len(), 2);
        assert_eq!(items[0].tokens, ["Zürich", "'s", "mayor", "."]);
        assert_eq!(
            items[0].offsets.as_deref(),
            Some(&[(0, 6), (6, 8), (9, 14), (14, 15)][..])
        );
        assert_eq!(items[1].offsets.as_deref(), Some(&[(17, 22), (23, 32)][..]));
    }

    #[test]
    fn bad_requests_name_the_reason_or_the_limit() {
        let limits = Limits {
            max_body_bytes: 100,
            max_sentences: 2,
            max_tokens: 3,
            max_nbest: 2,
        };
        let err = |body: &[u8]| parse(body, &limits, true).unwrap_err();
        assert_eq!(err(&[b'{', 0xff, b'}']).status, 400);
        assert!(err(b"{\"text\": 3}").error.contains("invalid type"));
        assert!(err(b"{\"text\": \"a\", \"texts\": []}")
            .error
            .contains("exactly one"));
        assert!(err(b"{\"txt\": \"a\"}").error.contains("unknown field"));
        assert_eq!(err(&[b' '; 101]).limit, Some("max_body_bytes"));
        assert_eq!(
            err(b"{\"texts\": [\"a\", \"b\", \"c\"]}").limit,
            Some("max_sentences")
        );
        assert_eq!(err(b"{\"text\": \"a b c d\"}").limit, Some("max_tokens"));
        assert_eq!(
            err(b"{\"text\": \"a\", \"nbest\": 3}").limit,
            Some("max_nbest")
        );
        assert!(parse(b"{\"text\": \"a\", \"nbest\": 1}", &limits, false)
            .unwrap_err()
            .error
            .contains("CRF"));
        let (items, nbest) =
            parse(b"{\"sentences\": [[\"EU\", \"rejects\"]]}", &limits, true).expect("fine");
        assert_eq!((items.len(), nbest), (1, 0));
        assert!(parse(b"{\"sentences\": []}", &limits, true)
            .expect("empty")
            .0
            .is_empty());
    }
}
