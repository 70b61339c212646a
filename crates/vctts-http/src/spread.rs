//! Serving one listener from several threads, each with its own
//! single-threaded runtime (the way nginx or Envoy use their cores).
//!
//! One task accepts connections and hands each to a thread in turn; a
//! connection then lives on that thread until it closes. Every request of a
//! connection — parsing, the call to a worker, the answer — runs on one thread
//! without waking another: on a work-stealing runtime, a proxied request woke
//! other threads several times (about 4 futex calls per request measured at
//! one connection), which cost more than the proxying itself.

use std::cell::Cell;
use std::future::IntoFuture;
use std::net::SocketAddr;

use axum::Router;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot, watch};

thread_local! {
    static SLOT: Cell<usize> = const { Cell::new(0) };
}

/// Which of the serving threads runs the caller: 0 on the caller's own
/// runtime (and anywhere else), `1..threads` on the extra threads. State that
/// is bound to one runtime (a client's pooled connections) is kept per slot.
pub fn runtime_slot() -> usize {
    SLOT.with(Cell::get)
}

/// The receiving end of one thread's share of the accepted connections.
struct Handoff {
    rx: mpsc::UnboundedReceiver<(std::net::TcpStream, SocketAddr)>,
    local: SocketAddr,
}

impl axum::serve::Listener for Handoff {
    type Io = TcpStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (TcpStream, SocketAddr) {
        loop {
            let Some((std, peer)) = self.rx.recv().await else {
                // The acceptor stopped (shutdown): graceful shutdown ends the server.
                return std::future::pending().await;
            };
            // Registers the socket with this thread's runtime.
            match TcpStream::from_std(std) {
                Ok(s) => return (s, peer),
                Err(e) => tracing::warn!("cannot take over an accepted connection: {e}"),
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<SocketAddr> {
        Ok(self.local)
    }
}

/// Makes each connection's service: the router with the peer's address as
/// [`axum::extract::ConnectInfo`] (what `into_make_service_with_connect_info`
/// does for axum's own listeners).
#[derive(Clone)]
struct WithPeer(Router);

impl<'a> tower::Service<axum::serve::IncomingStream<'a, Handoff>> for WithPeer {
    type Response = axum::middleware::AddExtension<Router, axum::extract::ConnectInfo<SocketAddr>>;
    type Error = std::convert::Infallible;
    type Future = std::future::Ready<Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, _: &mut std::task::Context<'_>) -> std::task::Poll<Result<(), Self::Error>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, conn: axum::serve::IncomingStream<'a, Handoff>) -> Self::Future {
        use tower::Layer;
        let peer = axum::extract::ConnectInfo(*conn.remote_addr());
        std::future::ready(Ok(axum::Extension(peer).layer(self.0.clone())))
    }
}

async fn stopped(mut rx: watch::Receiver<bool>) {
    let _ = rx.wait_for(|stop| *stop).await;
}

/// Blocking threads (`spawn_blocking`: audio encoding and decoding, zips)
/// per serving runtime. Tokio's default of 512 lets a burst grow the pool,
/// and the pool does not shrink while work keeps coming (idle threads are
/// woken in turn, so none reaches its keep-alive); each extra thread that
/// allocates gets a glibc arena of its own, which shows as slow RSS growth.
/// The work is CPU-bound: more threads than this do not finish it sooner.
const MAX_BLOCKING_THREADS: usize = 4;

/// The builder of a serving runtime: single-threaded, at most
/// `MAX_BLOCKING_THREADS` blocking threads. The gateway's main runtime and
/// each extra serving thread's are built from it.
pub fn serving_runtime() -> tokio::runtime::Builder {
    let mut b = tokio::runtime::Builder::new_current_thread();
    b.max_blocking_threads(MAX_BLOCKING_THREADS).enable_all();
    b
}

/// Serve `app` on `listener` from `threads` threads: the caller's runtime
/// (slot 0) and `threads - 1` new threads with a single-threaded runtime
/// each. Connections get `TCP_NODELAY` and are dealt out in turn. Resolves
/// when `shutdown` has resolved and every thread has finished its
/// connections (graceful shutdown).
pub async fn serve_spread(
    listener: TcpListener,
    threads: usize,
    app: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let threads = threads.max(1);
    let local = listener.local_addr()?;
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut senders = Vec::with_capacity(threads);
    let mut finished: Vec<oneshot::Receiver<()>> = Vec::new();
    let mut own: Option<Handoff> = None;
    for slot in 0..threads {
        let (tx, rx) = mpsc::unbounded_channel();
        senders.push(tx);
        let handoff = Handoff { rx, local };
        if slot == 0 {
            own = Some(handoff);
            continue;
        }
        let (done_tx, done_rx) = oneshot::channel();
        finished.push(done_rx);
        let (app, stop_rx) = (app.clone(), stop_rx.clone());
        std::thread::Builder::new().name(format!("vctts-serve-{slot}")).spawn(move || {
            SLOT.with(|s| s.set(slot));
            match serving_runtime().build() {
                Ok(rt) => rt.block_on(async move {
                    if let Err(e) = axum::serve(handoff, WithPeer(app)).with_graceful_shutdown(stopped(stop_rx)).await {
                        tracing::error!("server thread {slot}: {e}");
                    }
                }),
                Err(e) => tracing::error!("cannot start the runtime of server thread {slot}: {e}"),
            }
            let _ = done_tx.send(());
        })?;
    }
    let own = own.expect("slot 0 exists");
    let own_server =
        tokio::spawn(axum::serve(own, WithPeer(app)).with_graceful_shutdown(stopped(stop_rx.clone())).into_future());

    let mut stop_wait = stop_rx;
    tokio::spawn(async move {
        shutdown.await;
        let _ = stop_tx.send(true);
    });
    let mut next = 0usize;
    loop {
        let accepted = tokio::select! {
            biased;
            _ = stop_wait.wait_for(|s| *s) => break,
            a = listener.accept() => a,
        };
        let (mut tcp, peer) = match accepted {
            Ok(a) => a,
            Err(e) => {
                // Out of file descriptors and the like: wait a moment instead of spinning.
                tracing::warn!("accept failed: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
        };
        crate::serve::set_nodelay(&mut tcp);
        let std = match tcp.into_std() {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!("cannot hand over a connection: {e}");
                continue;
            }
        };
        // A thread that died (it cannot, short of a panic in its runtime) is skipped.
        let mut item = (std, peer);
        for _ in 0..senders.len() {
            let slot = next % senders.len();
            next = next.wrapping_add(1);
            match senders[slot].send(item) {
                Ok(()) => break,
                Err(mpsc::error::SendError(back)) => item = back,
            }
        }
    }
    drop(senders);
    drop(listener);
    if let Err(e) = own_server.await.unwrap_or_else(|e| Err(std::io::Error::other(e))) {
        tracing::error!("server: {e}");
    }
    for f in finished {
        let _ = f.await;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use axum::routing::get;

    use super::*;

    /// Requests over many connections are all answered, by more than one
    /// thread, each connection staying on one thread; shutdown ends it all.
    #[tokio::test]
    async fn connections_are_spread_over_threads_and_shut_down() {
        let seen: Arc<Mutex<Vec<(String, usize)>>> = Arc::default();
        let s = seen.clone();
        let app = Router::new().route(
            "/",
            get(move |axum::extract::ConnectInfo(peer): axum::extract::ConnectInfo<SocketAddr>| {
                let s = s.clone();
                async move {
                    let name = std::thread::current().name().unwrap_or("").to_string();
                    s.lock().unwrap().push((name.clone(), runtime_slot()));
                    format!("{peer}")
                }
            }),
        );
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let server = tokio::spawn(serve_spread(listener, 3, app, async move {
            let _ = stop_rx.await;
        }));
        for _ in 0..6 {
            // One connection, two requests on it (HTTP/1.1 keep-alive).
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            let mut c = TcpStream::connect(addr).await.unwrap();
            let mine = c.local_addr().unwrap().to_string();
            c.write_all(b"GET / HTTP/1.1\r\nhost: x\r\n\r\nGET / HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
                .await
                .unwrap();
            let mut out = String::new();
            c.read_to_string(&mut out).await.unwrap();
            assert_eq!(out.matches("HTTP/1.1 200 OK").count(), 2, "{out}");
            assert_eq!(out.matches(&mine).count(), 2, "the handler sees the client's address: {out}");
        }
        let seen = seen.lock().unwrap().clone();
        assert_eq!(seen.len(), 12);
        // Both requests of a connection ran on the same thread.
        for pair in seen.chunks(2) {
            assert_eq!(pair[0], pair[1], "{seen:?}");
        }
        let slots: std::collections::BTreeSet<usize> = seen.iter().map(|x| x.1).collect();
        assert_eq!(slots, [0, 1, 2].into(), "connections go to every thread in turn: {seen:?}");
        for (name, slot) in &seen {
            if *slot > 0 {
                assert_eq!(name, &format!("vctts-serve-{slot}"));
            }
        }
        stop_tx.send(()).unwrap();
        tokio::time::timeout(std::time::Duration::from_secs(10), server).await.unwrap().unwrap().unwrap();
        assert!(TcpStream::connect(addr).await.is_err(), "the listener is closed after shutdown");
    }
}
