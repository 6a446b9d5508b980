//! A real server on the loopback interface, over a fixture model folder:
//! the same entities as `ner-predict`, every bad request refused with its
//! reason while the server keeps serving, concurrent clients answered
//! with their own sentences, and in-flight requests finished on shutdown.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use ner_infer::Tagger;
use ner_model::folder::Weights;
use ner_serve::api::Limits;
use ner_serve::batcher::Batching;
use ner_serve::App;
use serde_json::Value;

struct Server {
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
    _dir: tempfile::TempDir,
    model: std::path::PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn start(pipeline: &str, limits: Limits) -> Server {
    let dir = tempfile::tempdir().expect("tempdir");
    let model = ner_fixtures::Fixture::new(dir.path())
        .model(pipeline)
        .expect("fixture model");
    let (tx, rx) = std::sync::mpsc::channel();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let root = model.root().to_path_buf();
    let thread = std::thread::spawn(move || {
        let tagger = Tagger::load(&model, Weights::Best, None).expect("tagger");
        let batching = Batching {
            max_batch: 64,
            max_wait: Duration::from_micros(500),
            threads: 2,
            min_split: 4,
        };
        let app = App::new(tagger, &model, limits, batching).expect("app");
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        tx.send(listener.local_addr().expect("addr")).expect("send");
        ner_serve::serve(listener, app, async {
            let _ = stopped.await;
        })
        .expect("serve");
    });
    let addr = rx.recv().expect("address");
    Server {
        addr,
        stop: Some(stop),
        thread: Some(thread),
        _dir: dir,
        model: root,
    }
}

/// One HTTP/1.1 exchange: the status and the body.
fn request(addr: SocketAddr, method: &str, path: &str, body: &[u8]) -> (u16, Vec<u8>) {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).expect("head");
    let _ = stream.write_all(body);
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).expect("read");
    let split = answer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("headers end");
    let status_line = String::from_utf8_lossy(&answer[..split]).to_string();
    let status: u16 = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status");
    let mut body = answer[split + 4..].to_vec();
    if status_line
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        body = dechunk(&body);
    }
    (status, body)
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let line_end = data
            .windows(2)
            .position(|w| w == b"\r\n")
            .expect("chunk size");
        let size = usize::from_str_radix(
            std::str::from_utf8(&data[..line_end]).expect("hex").trim(),
            16,
        )
        .expect("size");
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&data[line_end + 2..line_end + 2 + size]);
        data = &data[line_end + 4 + size..];
    }
}

fn json(addr: SocketAddr, method: &str, path: &str, body: &str) -> (u16, Value) {
    let (status, body) = request(addr, method, path, body.as_bytes());
    (
        status,
        serde_json::from_slice(&body).expect("a JSON answer"),
    )
}

#[test]
fn tags_like_ner_predict_and_refuses_bad_requests() {
    let server = start(ner_fixtures::CHAR_CRF, Limits::default());
    let addr = server.addr;
    assert_eq!(json(addr, "GET", "/health", "").1["status"], "ok");
    let (status, model) = json(addr, "GET", "/v1/model", "");
    assert_eq!(status, 200);
    assert!(
        model["tags"].as_array().is_some_and(|t| !t.is_empty()),
        "{model}"
    );

    // The same entities as ner-predict --entities on the same text.
    let text = "EU rejects German call\nPeter Blackburn in BRUSSELS\nGerman EU call";
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("in.txt"), text).expect("write");
    let mut config = ner_predict::Config::new(&server.model, dir.path().join("in.txt"));
    config.format = ner_predict::InputFormat::Text;
    config.outputs.entities = Some(dir.path().join("e.jsonl"));
    ner_predict::predict(&config).expect("predict");
    let want: Vec<Value> = std::fs::read_to_string(dir.path().join("e.jsonl"))
        .expect("entities")
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    let body = serde_json::json!({ "text": text }).to_string();
    let (status, answer) = json(addr, "POST", "/v1/tag", &body);
    assert_eq!(status, 200, "{answer}");
    let got: Vec<(u64, String, u64, u64, f64)> = answer["sentences"]
        .as_array()
        .expect("sentences")
        .iter()
        .enumerate()
        .flat_map(|(i, s)| {
            s["entities"]
                .as_array()
                .expect("entities")
                .iter()
                .map(move |e| {
                    (
                        i as u64,
                        e["type"].as_str().unwrap_or_default().to_string(),
                        e["start"].as_u64().unwrap_or(0),
                        e["end"].as_u64().unwrap_or(0),
                        e["confidence"].as_f64().unwrap_or(-1.0),
                    )
                })
        })
        .collect();
    let want: Vec<(u64, String, u64, u64, f64)> = want
        .iter()
        .map(|e| {
            (
                e["sentence_id"].as_u64().unwrap_or(0),
                e["type"].as_str().unwrap_or_default().to_string(),
                e["start"].as_u64().unwrap_or(0),
                e["end"].as_u64().unwrap_or(0),
                e["confidence"].as_f64().unwrap_or(-1.0),
            )
        })
        .collect();
    assert!(!want.is_empty(), "the fixture model finds entities here");
    assert_eq!(got, want);
    let first = &answer["sentences"][0];
    assert_eq!(first["tokens"][1], "rejects");
    assert_eq!(first["tags"].as_array().map(Vec::len), Some(4));
    // Pre-tokenized sentences and the n-best list.
    let (status, answer) = json(
        addr,
        "POST",
        "/v1/tag",
        r#"{"sentences": [["EU", "rejects"], []], "nbest": 2}"#,
    );
    assert_eq!(status, 200, "{answer}");
    let s = &answer["sentences"][0];
    assert_eq!(s["nbest"][0]["tags"], s["tags"]);
    assert_eq!(answer["sentences"][1]["tags"], serde_json::json!([]));

    // Bad requests: each a JSON error, and the server keeps serving.
    let bad: &[(&[u8], u16, &str)] = &[
        (b"{\"text\": ", 400, "not a tag request"),
        (b"{\"text\": \"\xff\"}", 400, "not UTF-8"),
        (b"{\"sentences\": [[1, 2]]}", 400, "invalid type"),
        (b"{\"text\": \"a\", \"sentences\": []}", 400, "exactly one"),
        (b"[]", 400, "not a tag request"),
    ];
    for &(body, status, reason) in bad {
        let (got, answer) = request(addr, "POST", "/v1/tag", body);
        let answer: Value = serde_json::from_slice(&answer).expect("JSON error");
        assert_eq!(got, status, "{answer}");
        assert!(
            answer["error"].as_str().unwrap_or("").contains(reason),
            "{answer}"
        );
    }
    let (status, answer) = json(addr, "GET", "/nowhere", "");
    assert_eq!(status, 404, "{answer}");
    assert_eq!(json(addr, "GET", "/health", "").0, 200);
}

/// The CoNLL-2003 test split through the server, in requests of 500
/// sentences: per sentence the tags and entities of `ner-predict
/// --sentences`, and their probabilities up to the float rounding that
/// another batching gives.
#[test]
fn a_real_split_gets_the_answers_of_ner_predict() {
    let root = ner_fixtures::checkout_root();
    let Some(conll) = ner_fixtures::conll2003_dir(&root) else {
        return;
    };
    let server = start(ner_fixtures::BIGRU, Limits::default());
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = ner_predict::Config::new(&server.model, conll.join("eng.testb"));
    config.outputs.sentences = Some(dir.path().join("s.jsonl"));
    ner_predict::predict(&config).expect("predict");
    let want: Vec<Value> = std::fs::read_to_string(dir.path().join("s.jsonl"))
        .expect("sentences")
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    assert_eq!(want.len(), 3_453);
    let mut got = Vec::new();
    for chunk in want.chunks(500) {
        let tokens: Vec<&Value> = chunk.iter().map(|s| &s["tokens"]).collect();
        let body = serde_json::json!({ "sentences": tokens }).to_string();
        let (status, answer) = json(server.addr, "POST", "/v1/tag", &body);
        assert_eq!(status, 200, "{answer}");
        got.extend(answer["sentences"].as_array().expect("sentences").clone());
    }
    assert_eq!(got.len(), want.len());
    let close = |a: &Value, b: &Value| {
        let (a, b) = (a.as_f64().unwrap_or(f64::NAN), b.as_f64().unwrap_or(0.0));
        (a - b).abs() <= 1e-5
    };
    let mut n_entities = 0;
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        for key in ["tokens", "tags"] {
            assert_eq!(g[key], w[key], "sentence {i}: {key}");
        }
        let pairs = |key: &str| {
            let (g, w) = (g[key].as_array(), w[key].as_array());
            g.zip(w)
                .map(|(g, w)| (g.len() == w.len(), g.iter().zip(w).collect::<Vec<_>>()))
        };
        let (same_len, probs) = pairs("probs").expect("probs");
        assert!(
            same_len && probs.iter().all(|(g, w)| close(g, w)),
            "sentence {i}: probs"
        );
        let (same_len, entities) = pairs("entities").expect("entities");
        assert!(same_len, "sentence {i}: entities");
        for (g, w) in entities {
            for key in ["text", "type", "start", "end"] {
                assert_eq!(g[key], w[key], "sentence {i}: entity {key}");
            }
            assert!(
                close(&g["confidence"], &w["confidence"]),
                "sentence {i}: confidence"
            );
            n_entities += 1;
        }
    }
    assert!(
        n_entities > 0,
        "the fixture model finds entities in the split"
    );
}

#[test]
fn limits_are_named_and_concurrent_clients_get_their_own_answers() {
    let limits = Limits {
        max_body_bytes: 2_000,
        max_sentences: 3,
        max_tokens: 5,
        max_nbest: 2,
    };
    let server = start(ner_fixtures::CHAR_CRF, limits);
    let addr = server.addr;
    for (body, limit) in [
        (
            format!("{{\"text\": \"{}\"}}", "a ".repeat(1_500)),
            "max_body_bytes",
        ),
        (
            r#"{"texts": ["a", "b", "c", "d"]}"#.to_string(),
            "max_sentences",
        ),
        (r#"{"text": "a b c d e f"}"#.to_string(), "max_tokens"),
        (r#"{"text": "a", "nbest": 3}"#.to_string(), "max_nbest"),
    ] {
        let (status, answer) = json(addr, "POST", "/v1/tag", &body);
        assert_eq!(status, 413, "{answer}");
        assert_eq!(answer["limit"], limit, "{answer}");
    }
    // 16 clients at once, each its own sentence, several times.
    let words = [
        "EU",
        "Peter",
        "German",
        "BRUSSELS",
        "call",
        "rejects",
        "Blackburn",
        "lamb",
    ];
    let handles: Vec<_> = (0..16)
        .map(|c| {
            std::thread::spawn(move || {
                for r in 0..5 {
                    let sentence: Vec<&str> = (0..1 + (c + r) % 4)
                        .map(|i| words[(c * 3 + r + i) % words.len()])
                        .collect();
                    let body = serde_json::json!({ "sentences": [sentence] }).to_string();
                    let (status, answer) = json(addr, "POST", "/v1/tag", &body);
                    assert_eq!(status, 200, "{answer}");
                    assert_eq!(
                        answer["sentences"][0]["tokens"],
                        serde_json::json!(sentence),
                        "client {c} request {r}"
                    );
                }
            })
        })
        .collect();
    for h in handles {
        h.join().expect("client");
    }
}

#[test]
fn shutdown_finishes_requests_in_flight() {
    let mut server = start(ner_fixtures::BIGRU, Limits::default());
    let addr = server.addr;
    // A request whose body is still being sent when shutdown begins.
    let mut stream = TcpStream::connect(addr).expect("connect");
    let body = br#"{"text": "EU rejects German call"}"#;
    let head = format!(
        "POST /v1/tag HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).expect("head");
    stream.write_all(&body[..5]).expect("part");
    std::thread::sleep(Duration::from_millis(200));
    let _ = server.stop.take().expect("stop").send(());
    std::thread::sleep(Duration::from_millis(200));
    stream.write_all(&body[5..]).expect("rest");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).expect("answer");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("\"rejects\""), "{answer}");
    server
        .thread
        .take()
        .expect("thread")
        .join()
        .expect("stopped");
    assert!(TcpStream::connect(addr).is_err(), "no longer listening");
}

/// Headless Chromium, where set-up installed it (`NER_REQUIRE_BROWSER=1`,
/// set by CI, makes a missing one a failure).
fn chromium() -> Option<String> {
    let found = std::env::var("NER_CHROMIUM").ok().or_else(|| {
        ["chromium", "chromium-browser", "google-chrome"]
            .iter()
            .find(|name| {
                std::process::Command::new("sh")
                    .args(["-c", &format!("command -v {name}")])
                    .output()
                    .is_ok_and(|o| o.status.success())
            })
            .map(|name| name.to_string())
    });
    if found.is_none() {
        assert!(
            std::env::var("NER_REQUIRE_BROWSER").is_err(),
            "NER_REQUIRE_BROWSER is set but no chromium is installed (make setup installs it)"
        );
        eprintln!("skipped: no chromium (make setup installs it)");
    }
    found
}

/// The page in a real browser: it submits its text on load (`#tag`),
/// highlights as many spans as the API finds, with their confidence on
/// hover, and draws them (a screenshot of the page).
#[test]
fn the_page_highlights_entities_in_a_real_browser() {
    let Some(browser) = chromium() else { return };
    let server = start(ner_fixtures::CHAR_CRF, Limits::default());
    let url = format!("http://{}/#tag", server.addr);
    let dir = tempfile::tempdir().expect("tempdir");
    let run = |extra: &[String]| {
        let out = std::process::Command::new(&browser)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--no-first-run",
                "--virtual-time-budget=15000",
                &format!("--user-data-dir={}", dir.path().join("profile").display()),
            ])
            .args(extra)
            .arg(&url)
            .output()
            .expect("chromium runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let dom = run(&["--dump-dom".to_string()]);
    let page = ner_serve::page::PAGE;
    let text = page
        .split("<textarea id=\"text\">")
        .nth(1)
        .and_then(|rest| rest.split("</textarea>").next())
        .expect("the page's text");
    let (_, answer) = json(
        server.addr,
        "POST",
        "/v1/tag",
        &serde_json::json!({ "text": text }).to_string(),
    );
    let entities: usize = answer["sentences"]
        .as_array()
        .expect("sentences")
        .iter()
        .map(|s| s["entities"].as_array().map_or(0, Vec::len))
        .sum();
    assert!(entities > 0, "{answer}");
    assert!(dom.contains("data-tagged=\"2\""), "{dom}");
    assert_eq!(dom.matches("<span class=\"ent ").count(), entities, "{dom}");
    // Each span's title gives its type and confidence: `title="PER 97.3%"`.
    assert_eq!(dom.matches("%\">").count(), entities, "{dom}");
    let shot = dir.path().join("page.png");
    run(&[
        format!("--screenshot={}", shot.display()),
        "--window-size=1000,700".to_string(),
    ]);
    let png = std::fs::read(&shot).expect("screenshot");
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 10_000,
        "{} bytes",
        png.len()
    );
}

/// The load generator of `make bench-serve` against a real server: every
/// request answered and timed; a refused request stops the run, named.
#[test]
fn the_load_generator_counts_and_times_every_request() {
    let server = start(ner_fixtures::BIGRU, Limits::default());
    let sentences: Vec<Vec<String>> = ["EU rejects German call", "Peter Blackburn", "BRUSSELS"]
        .iter()
        .map(|s| s.split(' ').map(String::from).collect())
        .collect();
    let prepared = ner_serve::load::single_sentence_requests("127.0.0.1", &sentences);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let report = runtime
        .block_on(ner_serve::load::run(server.addr, prepared, 4, 10))
        .expect("load");
    assert_eq!((report.requests, report.sentences), (40, 40));
    assert_eq!(report.latencies.len(), 40);
    assert!(report.latencies.windows(2).all(|w| w[0] <= w[1]));
    assert!(report.percentile(0.5) <= report.percentile(0.99));

    let bad = ner_serve::load::single_sentence_requests("127.0.0.1", &[vec![String::new()]]);
    let err = runtime
        .block_on(ner_serve::load::run(server.addr, bad, 1, 3))
        .expect_err("an empty token is refused");
    let message = err.to_string();
    assert!(
        message.starts_with("client 0, request 0: status 400") && message.contains("empty"),
        "{message}"
    );
}
