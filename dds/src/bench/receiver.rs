//! A local BRS receiver for the benchmark: accepts every `POST` of a treatment-relation
//! follow-up with 204 and counts the distinct `event_id`s (receivers deduplicate, INTERFACE.md),
//! so the service's outbox delivers to something real on loopback during the run.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use tokio::net::TcpListener;

/// Largest follow-up body read, in bytes (a follow-up is a small JSON object).
const FOLLOWUP_BYTES_MAX: usize = 64 * 1024;

#[derive(Default)]
struct Received {
    events: HashSet<String>,
    posts: u64,
}

pub struct Receiver {
    addr: SocketAddr,
    received: Arc<Mutex<Received>>,
    shutdown: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

impl Receiver {
    pub async fn start() -> anyhow::Result<Receiver> {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .context("cannot bind the BRS receiver")?;
        let addr = listener
            .local_addr()
            .context("the BRS receiver has no address")?;
        let received = Arc::new(Mutex::new(Received::default()));
        let router = Router::new()
            .fallback(accept)
            .layer(axum::extract::DefaultBodyLimit::max(FOLLOWUP_BYTES_MAX))
            .with_state(received.clone());
        let (shutdown, stop) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, router)
                .with_graceful_shutdown(async {
                    let _ = stop.await;
                })
                .await;
        });
        Ok(Receiver {
            addr,
            received,
            shutdown,
            task,
        })
    }

    pub fn url(&self) -> String {
        format!("http://{}/brs/followups", self.addr)
    }

    /// Distinct follow-ups received so far.
    pub fn distinct(&self) -> u64 {
        self.received
            .lock()
            .map(|r| r.events.len() as u64)
            .unwrap_or(0)
    }

    /// POSTs received so far (redeliveries included).
    pub fn posts(&self) -> u64 {
        self.received.lock().map(|r| r.posts).unwrap_or(0)
    }

    /// Waits up to `wait` for deliveries to stop arriving, then returns the distinct count.
    pub async fn settle(&self, wait: Duration) -> u64 {
        let deadline = Instant::now() + wait;
        let mut last = self.distinct();
        while Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(200)).await;
            let now = self.distinct();
            if now == last {
                break;
            }
            last = now;
        }
        last
    }

    pub async fn stop(self) {
        let _ = self.shutdown.send(());
        let _ = self.task.await;
    }
}

async fn accept(
    State(received): State<Arc<Mutex<Received>>>,
    body: axum::body::Bytes,
) -> StatusCode {
    let event_id = serde_json::from_slice::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| {
            v.get("event_id")
                .and_then(|e| e.as_str())
                .map(str::to_owned)
        });
    let Some(event_id) = event_id else {
        return StatusCode::BAD_REQUEST;
    };
    if let Ok(mut received) = received.lock() {
        received.posts += 1;
        received.events.insert(event_id);
    }
    StatusCode::NO_CONTENT
}
