//! Thread per core. The server runs `n` lanes, each a single-threaded
//! async runtime on its own thread that reads its connections' requests,
//! tags them and writes the answers itself, so that no request waits for
//! another thread to wake up. One acceptor thread hands new connections to
//! the lanes in turn. A lane's requests that arrive while it tags queue
//! in it and form its next batch ([`crate::batcher`]).

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use tokio::sync::{mpsc, watch};

/// Serves `listener` with `lanes` lanes until `shutdown` resolves, then
/// stops accepting, lets every lane finish the requests in flight, and
/// returns. `lane_router` runs once inside each lane's runtime (what it
/// starts there, such as the lane's batcher, runs on that lane).
pub fn run<F, S>(
    listener: std::net::TcpListener,
    lanes: usize,
    lane_router: F,
    shutdown: S,
) -> io::Result<()>
where
    F: Fn() -> Router + Send + Sync + 'static,
    S: Future<Output = ()>,
{
    listener.set_nonblocking(true)?;
    let local = listener.local_addr()?;
    let lane_router = Arc::new(lane_router);
    let (stop, stopped) = watch::channel(false);
    let mut handoffs = Vec::new();
    let mut threads = Vec::new();
    for i in 0..lanes.max(1) {
        let (handoff, connections) = mpsc::unbounded_channel();
        handoffs.push(handoff);
        let lane_router = Arc::clone(&lane_router);
        let mut stopped = stopped.clone();
        let thread = std::thread::Builder::new()
            .name(format!("ner-serve-lane-{i}"))
            .spawn(move || -> io::Result<()> {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()?;
                runtime.block_on(async move {
                    let lane = Lane { connections, local };
                    axum::serve(lane, lane_router())
                        .with_graceful_shutdown(async move {
                            let _ = stopped.wait_for(|stop| *stop).await;
                        })
                        .await
                })
            })?;
        threads.push(thread);
    }
    let accepted = accept(listener, &handoffs, shutdown);
    let _ = stop.send(true);
    drop(handoffs);
    let mut result = accepted;
    for thread in threads {
        let lane = thread
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("a lane stopped with a panic")));
        result = result.and(lane);
    }
    result
}

/// Accepts connections until `shutdown` resolves, each to the next lane.
fn accept(
    listener: std::net::TcpListener,
    lanes: &[mpsc::UnboundedSender<std::net::TcpStream>],
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::from_std(listener)?;
        let mut shutdown = std::pin::pin!(shutdown);
        let mut next = 0usize;
        loop {
            tokio::select! {
                () = &mut shutdown => return Ok(()),
                accepted = listener.accept() => match accepted.and_then(|(s, _)| s.into_std()) {
                    Ok(mut stream) => {
                        // The next lane, or the one after it if that lane
                        // has stopped; with none left the server stops.
                        let mut tries = 0;
                        while let Err(returned) = lanes[next % lanes.len()].send(stream) {
                            stream = returned.0;
                            next = next.wrapping_add(1);
                            tries += 1;
                            if tries == lanes.len() {
                                return Err(io::Error::other("every lane has stopped"));
                            }
                        }
                        next = next.wrapping_add(1);
                    }
                    // Out of descriptors or a connection reset before it
                    // was accepted: the listener itself is still good.
                    Err(e) => {
                        eprintln!("ner-serve: accepting a connection: {e}");
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                },
            }
        }
    })
}

/// A lane's side of the hand-off, as axum's listener.
struct Lane {
    connections: mpsc::UnboundedReceiver<std::net::TcpStream>,
    local: SocketAddr,
}

impl axum::serve::Listener for Lane {
    type Io = tokio::net::TcpStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let Some(stream) = self.connections.recv().await else {
                // The acceptor has stopped; graceful shutdown ends the lane.
                return std::future::pending().await;
            };
            // A client gone before its lane took it up is skipped.
            if let Ok(peer) = stream.peer_addr() {
                if let Ok(stream) = tokio::net::TcpStream::from_std(stream) {
                    return (stream, peer);
                }
            }
        }
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        Ok(self.local)
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};

    use super::*;

    /// The body of `GET path`, over a new connection.
    fn get(addr: SocketAddr, path: &str) -> String {
        let mut stream = std::net::TcpStream::connect(addr).expect("connect");
        let request =
            format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).expect("request");
        let mut answer = String::new();
        stream.read_to_string(&mut answer).expect("answer");
        answer
            .rsplit("\r\n\r\n")
            .next()
            .unwrap_or_default()
            .to_string()
    }

    #[test]
    fn a_lane_blocked_in_its_work_does_not_hold_up_the_others() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = std::thread::spawn(move || {
            let router = || {
                Router::new()
                    .route(
                        "/block",
                        // Work on the lane's own thread, as tagging is.
                        axum::routing::get(|| async {
                            std::thread::sleep(Duration::from_millis(1500));
                            "done"
                        }),
                    )
                    .route("/", axum::routing::get(|| async { "quick" }))
            };
            run(listener, 2, router, async {
                let _ = stopped.await;
            })
        });
        // The first connection goes to lane 0 and blocks it; the next goes
        // to lane 1 and is answered meanwhile.
        let blocked = std::thread::spawn(move || get(addr, "/block"));
        std::thread::sleep(Duration::from_millis(100));
        let start = std::time::Instant::now();
        assert_eq!(get(addr, "/"), "quick");
        assert!(
            start.elapsed() < Duration::from_millis(1000),
            "{:?}",
            start.elapsed()
        );
        assert_eq!(blocked.join().expect("no panic"), "done");
        let _ = stop.send(());
        server.join().expect("no panic").expect("served");
    }

    #[test]
    fn connections_go_to_the_lanes_in_turn_and_each_lane_answers_its_own() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = std::thread::spawn(move || {
            let router = || {
                Router::new().route(
                    "/",
                    axum::routing::get(|| async {
                        std::thread::current().name().unwrap_or("?").to_string()
                    }),
                )
            };
            run(listener, 3, router, async {
                let _ = stopped.await;
            })
        });
        let answers: Vec<String> = (0..6).map(|_| get(addr, "/")).collect();
        let _ = stop.send(());
        server.join().expect("no panic").expect("served");
        let lanes: Vec<String> = (0..6)
            .map(|i| format!("ner-serve-lane-{}", i % 3))
            .collect();
        assert_eq!(answers, lanes);
    }
}
