use std::net::SocketAddr;

use tokio::net::TcpListener;

/// A listening socket that could not be opened, with a message that says what to do.
#[derive(Debug)]
pub struct BindError(pub String);

impl std::fmt::Display for BindError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BindError {}

/// Bind `host:port` (port 0 picks a free one), explaining failures in one line.
pub async fn bind(host: &str, port: u16, flag: &str) -> Result<TcpListener, BindError> {
    let addr = format!("{host}:{port}");
    let addrs: Vec<SocketAddr> = match tokio::net::lookup_host(&addr).await {
        Ok(a) => a.collect(),
        Err(e) => return Err(BindError(format!("cannot resolve listen address {addr}: {e} (check --host)"))),
    };
    let Some(first) = addrs.first() else {
        return Err(BindError(format!("listen address {addr} resolves to nothing (check --host)")));
    };
    TcpListener::bind(first).await.map_err(|e| {
        let why = match e.kind() {
            std::io::ErrorKind::AddrInUse => format!(
                "port {port} is already in use (is another vctts or another server running there? choose another {flag})"
            ),
            std::io::ErrorKind::PermissionDenied => {
                format!("permission denied (ports below 1024 need privileges; choose another {flag})")
            }
            std::io::ErrorKind::AddrNotAvailable => {
                format!("{host} is not an address of this machine (check --host)")
            }
            _ => e.to_string(),
        };
        BindError(format!("cannot listen on {addr}: {why}"))
    })
}

/// The listener with `TCP_NODELAY` set on every accepted connection. Responses
/// go out in several writes (headers, body chunks, a stream's last frame); with
/// Nagle's algorithm a small write waits for the peer's delayed ACK, which
/// adds ~40 ms to a request on Linux.
pub fn no_delay(listener: TcpListener) -> axum::serve::TapIo<TcpListener, fn(&mut tokio::net::TcpStream)> {
    use axum::serve::ListenerExt;
    listener.tap_io(set_nodelay as fn(&mut tokio::net::TcpStream))
}

/// `TCP_NODELAY` on an accepted connection (see [`no_delay`]).
pub(crate) fn set_nodelay(tcp: &mut tokio::net::TcpStream) {
    if let Err(e) = tcp.set_nodelay(true) {
        tracing::debug!("cannot set TCP_NODELAY: {e}");
    }
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn accepted_connections_do_not_wait_for_acks() {
        use axum::serve::Listener;
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        let mut l = no_delay(l);
        let client = tokio::spawn(tokio::net::TcpStream::connect(addr));
        let (stream, _) = l.accept().await;
        assert!(stream.nodelay().unwrap(), "TCP_NODELAY must be set on accepted connections");
        client.await.unwrap().unwrap();
    }
}
