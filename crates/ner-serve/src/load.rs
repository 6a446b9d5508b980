//! A bounded load generator for `POST /v1/tag` on one address: `clients`
//! connections (HTTP/1.1 keep-alive, one request in flight each) send
//! `requests` prepared bodies each, in turn, then stop. It measures what a
//! caller sees: the wall time of the whole run and each request's latency,
//! from the first byte written to the last byte of the answer read.
//!
//! It is written for the loopback interface and one small answer per
//! request: the answer's length comes from `Content-Length` (what the
//! server sends for JSON); a status other than 200 or an answer it cannot
//! read stops the run with the request it was. It runs on the caller's
//! runtime, so a single-threaded runtime keeps it on one core.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Why a run stopped.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("client {client}, request {request}: {message}")]
    Request {
        client: usize,
        request: usize,
        message: String,
    },
    #[error("no request bodies to send")]
    NoBodies,
}

/// What a run measured.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadReport {
    pub clients: usize,
    pub requests: usize,
    /// Sentences in all the requests sent.
    pub sentences: usize,
    pub wall: Duration,
    /// Every request's latency, shortest first.
    pub latencies: Vec<Duration>,
}

impl LoadReport {
    pub fn sentences_per_second(&self) -> f64 {
        self.sentences as f64 / self.wall.as_secs_f64().max(f64::MIN_POSITIVE)
    }

    /// The latency below which a fraction `q` of the requests finished
    /// (nearest rank).
    pub fn percentile(&self, q: f64) -> Duration {
        if self.latencies.is_empty() {
            return Duration::ZERO;
        }
        let rank = (q * self.latencies.len() as f64).ceil() as usize;
        self.latencies[rank.clamp(1, self.latencies.len()) - 1]
    }
}

/// One request, ready to write: the HTTP bytes and how many sentences its
/// body holds.
#[derive(Debug, Clone)]
pub struct Prepared {
    bytes: Vec<u8>,
    sentences: usize,
}

/// `{"sentences": [tokens]}` per sentence, as POST requests to `host`.
pub fn single_sentence_requests(host: &str, sentences: &[Vec<String>]) -> Vec<Prepared> {
    sentences
        .iter()
        .map(|tokens| {
            let body = serde_json::json!({ "sentences": [tokens] }).to_string();
            Prepared {
                bytes: format!(
                    "POST /v1/tag HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                    body.len()
                )
                .into_bytes(),
                sentences: 1,
            }
        })
        .collect()
}

/// Runs `clients` connections to `address`; client `c` sends requests
/// `c * requests ..` of `prepared`, wrapping around.
pub async fn run(
    address: SocketAddr,
    prepared: Vec<Prepared>,
    clients: usize,
    requests: usize,
) -> Result<LoadReport, LoadError> {
    if prepared.is_empty() {
        return Err(LoadError::NoBodies);
    }
    let prepared = Arc::new(prepared);
    let start = Instant::now();
    let tasks: Vec<_> = (0..clients)
        .map(|client| tokio::spawn(one_client(address, Arc::clone(&prepared), client, requests)))
        .collect();
    let mut latencies = Vec::with_capacity(clients * requests);
    let mut sentences = 0;
    for (client, task) in tasks.into_iter().enumerate() {
        let (own, n) = task.await.map_err(|e| LoadError::Request {
            client,
            request: 0,
            message: format!("the client task failed: {e}"),
        })??;
        latencies.extend(own);
        sentences += n;
    }
    let wall = start.elapsed();
    latencies.sort_unstable();
    Ok(LoadReport {
        clients,
        requests: clients * requests,
        sentences,
        wall,
        latencies,
    })
}

async fn one_client(
    address: SocketAddr,
    prepared: Arc<Vec<Prepared>>,
    client: usize,
    requests: usize,
) -> Result<(Vec<Duration>, usize), LoadError> {
    let fail = |request: usize, message: String| LoadError::Request {
        client,
        request,
        message,
    };
    let mut stream = TcpStream::connect(address)
        .await
        .map_err(|e| fail(0, format!("cannot connect to {address}: {e}")))?;
    stream
        .set_nodelay(true)
        .map_err(|e| fail(0, format!("TCP_NODELAY: {e}")))?;
    let mut buffer = Vec::with_capacity(64 * 1024);
    let mut latencies = Vec::with_capacity(requests);
    let mut sentences = 0;
    for request in 0..requests {
        let item = &prepared[(client * requests + request) % prepared.len()];
        let sent = Instant::now();
        stream
            .write_all(&item.bytes)
            .await
            .map_err(|e| fail(request, format!("writing the request: {e}")))?;
        read_response(&mut stream, &mut buffer)
            .await
            .map_err(|message| fail(request, message))?;
        latencies.push(sent.elapsed());
        sentences += item.sentences;
    }
    Ok((latencies, sentences))
}

/// Reads one answer into `buffer` (cleared first); an error unless it is a
/// 200 with a `Content-Length`.
async fn read_response(stream: &mut TcpStream, buffer: &mut Vec<u8>) -> Result<(), String> {
    buffer.clear();
    let (head_end, status, length) = loop {
        if let Some(end) = find(buffer, b"\r\n\r\n") {
            let head = std::str::from_utf8(&buffer[..end])
                .map_err(|_| "the response head is not UTF-8".to_string())?;
            let (status, length) = parse_head(head)?;
            break (end + 4, status, length);
        }
        read_more(stream, buffer).await?;
    };
    while buffer.len() < head_end + length {
        read_more(stream, buffer).await?;
    }
    if status != 200 {
        let body = String::from_utf8_lossy(&buffer[head_end..head_end + length]);
        return Err(format!("status {status}: {body}"));
    }
    if buffer.len() > head_end + length {
        return Err("bytes after the answer to a request that was the only one sent".into());
    }
    Ok(())
}

async fn read_more(stream: &mut TcpStream, buffer: &mut Vec<u8>) -> Result<(), String> {
    let mut chunk = [0u8; 16 * 1024];
    let n = stream
        .read(&mut chunk)
        .await
        .map_err(|e| format!("reading the response: {e}"))?;
    if n == 0 {
        return Err("the server closed the connection before answering".into());
    }
    buffer.extend_from_slice(&chunk[..n]);
    Ok(())
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// The status code and `Content-Length` of a response head.
fn parse_head(head: &str) -> Result<(u16, usize), String> {
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .strip_prefix("HTTP/1.1 ")
        .and_then(|rest| rest.get(..3))
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| format!("not an HTTP/1.1 status line: {status_line:?}"))?;
    let length = lines
        .filter_map(|line| line.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("content-length"))
        .map(|(_, value)| value.trim().parse::<usize>())
        .ok_or_else(|| "the response has no Content-Length".to_string())?
        .map_err(|e| format!("a bad Content-Length: {e}"))?;
    Ok((status, length))
}

/// Processor time this process has used so far (Linux: `/proc/self/schedstat`).
pub fn process_cpu_time() -> Option<Duration> {
    let text = std::fs::read_to_string("/proc/self/schedstat").ok()?;
    let nanos: u64 = text.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(nanos))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heads_give_status_and_length() {
        assert_eq!(
            parse_head("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 42"),
            Ok((200, 42))
        );
        assert_eq!(
            parse_head("HTTP/1.1 413 Payload Too Large\r\nContent-Length:7"),
            Ok((413, 7))
        );
        assert!(parse_head("HTTP/1.1 200 OK\r\ntransfer-encoding: chunked")
            .unwrap_err()
            .contains("Content-Length"));
        assert!(parse_head("SSH-2.0").unwrap_err().contains("status line"));
    }

    #[test]
    fn percentiles_are_nearest_ranks() {
        let report = LoadReport {
            clients: 1,
            requests: 4,
            sentences: 4,
            wall: Duration::from_secs(2),
            latencies: (1..=4).map(Duration::from_millis).collect(),
        };
        assert_eq!(report.percentile(0.5), Duration::from_millis(2));
        assert_eq!(report.percentile(0.99), Duration::from_millis(4));
        assert_eq!(report.percentile(0.0), Duration::from_millis(1));
        assert_eq!(report.sentences_per_second(), 2.0);
    }
}
