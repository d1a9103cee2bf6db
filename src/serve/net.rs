//! The connections: an accept loop driving hyper's HTTP/1 server directly, for what
//! `axum::serve` does not offer.
//!
//! - Request headers must arrive within [`HEADER_TIMEOUT`] (hyper closes the connection
//!   otherwise), and an idle keep-alive connection is closed after [`IDLE_TIMEOUT`].
//! - At most [`MAX_CONNECTIONS`] connections are open; when one more arrives, the
//!   oldest connection that is not being served is closed to make room (an idle one
//!   first, else one still sending its headers or body), so idle or slow connections
//!   can never shut a new client out. Only requests whose body is in count against the
//!   limit, for at most [`SERVED_FOR`], and those are bounded in turn by the worker
//!   queue ([`super::work`]).
//! - Every response gets the security headers ([`super::headers::harden`]).
//! - Shutdown (a signal): stop accepting, let each connection finish its response
//!   (runs in flight have been stopped by the same signal's flag) for at most
//!   [`DRAIN`], then close everything.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::Router;
use hyper::body::{Frame, Incoming, SizeHint};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::{watch, Notify};

/// Longest wait for a request's headers, from the first byte (hyper's timer).
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest a connection may stay open without a request in flight.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(10);
/// Connections open at once; the oldest idle one makes room for a new one.
pub const MAX_CONNECTIONS: usize = 256;
/// How long a request being served keeps its connection from being closed to make
/// room (a client that does not read its response cannot hold a connection for ever).
pub const SERVED_FOR: Duration = Duration::from_secs(60);
/// Largest request head (request line and headers).
pub const MAX_HEAD: usize = 64 * 1024;
/// How long shutdown waits for responses being written.
pub const DRAIN: Duration = Duration::from_millis(400);

/// One open connection, as the accept loop sees it.
struct Conn {
    /// Requests in flight (from headers read to the last byte of the response).
    busy: Arc<AtomicUsize>,
    /// Requests being served (body read, until the last byte of the response).
    serving: Arc<AtomicUsize>,
    /// When it last started or finished a request.
    since: Arc<Mutex<Instant>>,
    /// Tells the connection's task to close it.
    close: Arc<Notify>,
}

type Table = Arc<Mutex<BTreeMap<u64, Conn>>>;

/// Marks a connection busy while alive; dropped with the response body (or the
/// request, when the client went away first).
struct Busy {
    busy: Arc<AtomicUsize>,
    since: Arc<Mutex<Instant>>,
}

impl Busy {
    fn new(busy: &Arc<AtomicUsize>, since: &Arc<Mutex<Instant>>) -> Self {
        busy.fetch_add(1, Ordering::SeqCst);
        *since.lock().unwrap_or_else(|e| e.into_inner()) = Instant::now();
        Self {
            busy: Arc::clone(busy),
            since: Arc::clone(since),
        }
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        *self.since.lock().unwrap_or_else(|e| e.into_inner()) = Instant::now();
        self.busy.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A request extension: the connection's count of requests being served.
#[derive(Clone)]
pub struct Serving(Arc<AtomicUsize>);

/// Counts a request as being served while alive (see [`serving`]).
pub struct ServingGuard(Arc<AtomicUsize>);

impl Drop for ServingGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Mark the request as being served (its connection is then never closed to make room)
/// for as long as the returned guard lives: from its body read to its response's end.
pub fn serving(req: &axum::extract::Request) -> Option<ServingGuard> {
    let s = req.extensions().get::<Serving>()?;
    s.0.fetch_add(1, Ordering::SeqCst);
    Some(ServingGuard(Arc::clone(&s.0)))
}

/// A response body that holds a value until it is finished or dropped.
pub struct Holding<T> {
    inner: Body,
    _held: T,
}

impl<T> Holding<T> {
    pub fn new(inner: Body, held: T) -> Self {
        Self { inner, _held: held }
    }
}

impl<T: Unpin> hyper::body::Body for Holding<T> {
    type Data = axum::body::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// Make room for one more connection: close the oldest idle one, else the oldest one
/// still sending a request. Returns false when every connection is being served.
fn make_room(table: &Table) -> bool {
    let conns = table.lock().unwrap_or_else(|e| e.into_inner());
    if conns.len() < MAX_CONNECTIONS {
        return true;
    }
    // A response its client has not taken for SERVED_FOR protects its connection no more.
    let oldest = conns
        .values()
        .map(|c| {
            let since = *c.since.lock().unwrap_or_else(|e| e.into_inner());
            let serving = c.serving.load(Ordering::SeqCst) > 0;
            (c, serving, since)
        })
        .filter(|(_, serving, since)| !serving || since.elapsed() >= SERVED_FOR)
        .min_by_key(|(c, serving, since)| (*serving, c.busy.load(Ordering::SeqCst) > 0, *since))
        .map(|(c, _, _)| c);
    match oldest {
        Some(c) => {
            c.close.notify_one();
            true
        }
        None => false,
    }
}

/// Serve `app` on `listener` until `shutdown` turns true.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    mut shutdown: watch::Receiver<bool>,
) -> std::io::Result<()> {
    let table: Table = Arc::default();
    let mut next_id = 0u64;
    loop {
        let (stream, _) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                // Out of file descriptors and the like: wait a moment, keep serving.
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = shutdown.wait_for(|stop| *stop) => break,
        };
        if !make_room(&table) {
            // Every connection is serving a request: this one waits for none of them.
            drop(stream);
            continue;
        }
        let _ = stream.set_nodelay(true);
        let id = next_id;
        next_id += 1;
        let busy = Arc::new(AtomicUsize::new(0));
        let serving = Arc::new(AtomicUsize::new(0));
        let since = Arc::new(Mutex::new(Instant::now()));
        let close = Arc::new(Notify::new());
        table.lock().unwrap_or_else(|e| e.into_inner()).insert(
            id,
            Conn {
                busy: Arc::clone(&busy),
                serving: Arc::clone(&serving),
                since: Arc::clone(&since),
                close: Arc::clone(&close),
            },
        );
        let app = TowerToHyperService::new(app.clone());
        let table = Arc::clone(&table);
        let mut shutdown = shutdown.clone();
        tokio::spawn(async move {
            let service = {
                let (busy, since) = (Arc::clone(&busy), Arc::clone(&since));
                hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
                    let held = Busy::new(&busy, &since);
                    req.extensions_mut().insert(Serving(Arc::clone(&serving)));
                    let future = hyper::service::Service::call(&app, req);
                    async move {
                        let response = future.await.unwrap_or_else(|e: Infallible| match e {});
                        let (mut parts, body) = response.into_parts();
                        super::headers::harden(&mut parts.headers);
                        Ok::<_, Infallible>(hyper::Response::from_parts(
                            parts,
                            Holding::new(body, held),
                        ))
                    }
                })
            };
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_TIMEOUT)
                .max_buf_size(MAX_HEAD)
                .keep_alive(true);
            let conn = builder.serve_connection(TokioIo::new(stream), service);
            tokio::pin!(conn);
            // Idle keep-alive connections are closed after IDLE_TIMEOUT.
            let idle = async {
                loop {
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    let quiet = since.lock().unwrap_or_else(|e| e.into_inner()).elapsed();
                    if busy.load(Ordering::SeqCst) == 0 && quiet >= IDLE_TIMEOUT {
                        break;
                    }
                }
            };
            let graceful = tokio::select! {
                _ = conn.as_mut() => false,
                _ = close.notified() => false,
                _ = idle => false,
                _ = shutdown.wait_for(|stop| *stop) => true,
            };
            if graceful {
                conn.as_mut().graceful_shutdown();
                let _ = tokio::time::timeout(DRAIN, conn.as_mut()).await;
            }
            table.lock().unwrap_or_else(|e| e.into_inner()).remove(&id);
        });
    }
    drop(listener);
    // Give the connections their drain time, then leave (the runtime drops the rest).
    let deadline = Instant::now() + DRAIN + Duration::from_millis(100);
    while Instant::now() < deadline && !table.lock().unwrap_or_else(|e| e.into_inner()).is_empty() {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    Ok(())
}
