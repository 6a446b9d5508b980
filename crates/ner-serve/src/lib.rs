//! `ner-serve`: a trained tagger behind HTTP, without libtorch.
//!
//! - `POST /v1/tag` takes `{"text": "..."}` (each line a sentence, split by
//!   `ner-predict`'s tokenizer), `{"texts": [...]}` or `{"sentences":
//!   [[token, ...], ...]}`, with an optional `"nbest": K` for CRF models,
//!   and answers per sentence its tokens, tags, tag probabilities and
//!   entities with their confidence and offsets ([`api`]).
//! - `GET /health`; `GET /v1/model`: the model card and the metrics of its
//!   chosen epoch; `GET /`: a page to type text into and look at the
//!   entities ([`page`]).
//!
//! The server runs one lane per thread, each reading, tagging and
//! answering its own connections ([`lanes`]); requests that arrive
//! together in a lane are tagged as one batch ([`batcher`]).
//! [`load`] is the bounded load generator of `make bench-serve`.
//! Every refusal is a JSON `{"error": ...}` with a 4xx status (413 with the
//! `limit` it broke for [`api::Limits`]); a failure inside the tagger is a
//! 500 for that request only. [`serve`] stops taking connections when its
//! shutdown future resolves and finishes the requests in flight.

pub mod api;
pub mod batcher;
pub mod lanes;
pub mod load;
pub mod page;

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use ner_infer::Tagger;
use ner_model::config::OutputLayer;
use ner_model::folder::ModelDir;

use api::{ApiError, Limits, TagResponse};
use batcher::{Batcher, Batching, Tagging};

/// The server's model and rules, built once and shared by its lanes.
#[derive(Debug, Clone)]
pub struct App {
    tagging: Arc<Tagging>,
    limits: Limits,
    /// `GET /v1/model`, built once.
    model: Arc<serde_json::Value>,
}

impl App {
    /// Refuses a model that reads source columns beside the words
    /// (requests carry none).
    pub fn new(
        tagger: Tagger,
        dir: &ModelDir,
        limits: Limits,
        batching: Batching,
    ) -> Result<Self, String> {
        if !tagger.columns().is_empty() {
            return Err(format!(
                "the model reads the columns [{}] beside the words, which requests do not carry",
                tagger.columns().join(", ")
            ));
        }
        let model = Arc::new(model_json(&tagger, dir));
        Ok(App {
            tagging: Arc::new(Tagging::new(Arc::new(tagger), batching)),
            limits,
            model,
        })
    }

    /// A lane's routes, its batcher started on the current runtime.
    fn lane_router(&self) -> Router {
        router(AppState {
            batcher: Batcher::start(Arc::clone(&self.tagging)),
            app: self.clone(),
        })
    }
}

/// What one lane's handlers share.
#[derive(Debug, Clone)]
struct AppState {
    app: App,
    batcher: Batcher,
}

/// The model card, the vocabulary sizes and the chosen epoch's metrics.
fn model_json(tagger: &Tagger, dir: &ModelDir) -> serde_json::Value {
    let card = &tagger.card;
    let metrics = std::fs::read_to_string(dir.metrics())
        .ok()
        .and_then(|text| {
            text.lines()
                .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
                .find(|m| m["epoch"].as_u64() == Some(card.best_epoch as u64))
        })
        .unwrap_or(serde_json::Value::Null);
    serde_json::json!({
        "name": card.name,
        "tags": card.tags,
        "scheme": card.scheme,
        "n_words": card.n_words,
        "n_parameters": card.n_parameters,
        "best_epoch": card.best_epoch,
        "epochs_done": card.epochs_done,
        "weights": tagger.weights_file.display().to_string(),
        "metrics": metrics,
        "card": card,
    })
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::BAD_REQUEST);
        (status, Json(self)).into_response()
    }
}

/// The routes over `state`.
fn router(state: AppState) -> Router {
    // The body limit is checked by the handler (a JSON answer naming it);
    // axum's own stops reading a little past it.
    let read_limit = state.app.limits.max_body_bytes.saturating_add(1);
    Router::new()
        .route("/", get(|| async { Html(page::PAGE) }))
        .route(
            "/health",
            get(|| async { Json(serde_json::json!({"status": "ok"})) }),
        )
        .route("/v1/model", get(model))
        .route("/v1/tag", post(tag))
        .fallback(|| async {
            ApiError {
                status: 404,
                error: "no such route: GET /, /health, /v1/model; POST /v1/tag".into(),
                limit: None,
                max: None,
            }
        })
        .layer(DefaultBodyLimit::max(read_limit))
        .with_state(state)
}

async fn model(State(state): State<AppState>) -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        state.app.model.to_string(),
    )
        .into_response()
}

async fn tag(
    State(state): State<AppState>,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Json<TagResponse>, ApiError> {
    let body = body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::too_large(
                "max_body_bytes",
                state.app.limits.max_body_bytes,
                "the body is larger than max_body_bytes",
            )
        } else {
            ApiError::bad_request(format!("could not read the body: {e}"))
        }
    })?;
    let tagger = state.app.tagging.tagger();
    let has_crf = tagger.card.pipeline.model.output == OutputLayer::Crf;
    let (items, nbest) = api::parse(&body, &state.app.limits, has_crf)?;
    let sentences: Vec<Vec<String>> = items.iter().map(|i| i.tokens.clone()).collect();
    let analyses = state
        .batcher
        .tag(sentences, nbest)
        .await
        .map_err(|e| ApiError {
            status: 500,
            error: e,
            limit: None,
            max: None,
        })?;
    Ok(Json(TagResponse {
        model: tagger.card.name.clone(),
        sentences: items
            .into_iter()
            .zip(analyses)
            .map(|(item, a)| api::sentence_json(item, a))
            .collect(),
    }))
}

/// Serves `app` on `listener` in `app`'s `threads` lanes
/// ([`lanes`]) until `shutdown` resolves, then finishes the requests in
/// flight. Blocks the calling thread, which accepts the connections.
pub fn serve(
    listener: std::net::TcpListener,
    app: App,
    shutdown: impl std::future::Future<Output = ()>,
) -> std::io::Result<()> {
    let lanes = app.tagging.batching().threads;
    lanes::run(listener, lanes, move || app.lane_router(), shutdown)
}
