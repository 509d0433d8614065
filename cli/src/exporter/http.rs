//! The scrape endpoint: a small HTTP/1.1 server on std that answers `GET`
//! and `HEAD` of `/metrics` and nothing else. One request per connection
//! (`Connection: close`), each on its own thread with a bounded request
//! (8 KiB) and read/write timeouts, at most [`MAX_CONNECTIONS`] at once, so
//! that a slow or stuck client cannot hold up the next scrape. A scrape
//! endpoint needs no more: Prometheus opens one connection per scrape
//! target and sends a few hundred bytes of headers.

use super::{Format, Registry};
use lifesign::Cancel;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// The longest request head accepted (request line and headers).
pub const MAX_REQUEST_BYTES: usize = 8 * 1024;
/// How long a client may take to send its request, or to take the answer.
pub const CLIENT_TIMEOUT: Duration = Duration::from_secs(10);
/// Connections served at once; more are answered 503 at once.
pub const MAX_CONNECTIONS: usize = 16;
/// The path of the metrics.
pub const PATH: &str = "/metrics";

/// Binds `addr` exactly as given: `HOST:PORT`, where HOST is an IPv4
/// address, a bracketed IPv6 address or a name that resolves (to one or
/// more addresses: the first that binds). Port 0 picks a free port. An
/// address without a host is refused: the exporter listens only where
/// asked.
pub fn bind(addr: &str) -> Result<TcpListener, String> {
    let bad = |why: &str| {
        Err(format!(
            "{addr:?} is not an address to listen on ({why}; e.g. 127.0.0.1:9464, [::1]:9464, localhost:9464)"
        ))
    };
    let Some((host, port)) = addr.rsplit_once(':') else {
        return bad("no :PORT");
    };
    if host.is_empty() {
        return bad("no host: name the interface, 0.0.0.0 for all");
    }
    if port.parse::<u16>().is_err() {
        return bad("the port is not a number from 0 to 65535");
    }
    let addrs: Vec<SocketAddr> = match addr.to_socket_addrs() {
        Ok(a) => a.collect(),
        Err(e) => return bad(&e.to_string()),
    };
    let mut last = None;
    for a in &addrs {
        match TcpListener::bind(a) {
            Ok(l) => return Ok(l),
            Err(e) => last = Some(e),
        }
    }
    match last {
        Some(e) => Err(format!("cannot listen on {addr}: {e}")),
        None => bad("the name resolves to no address"),
    }
}

/// Serves `collect`'s registry at [`PATH`] on `listener` until `cancel` is
/// triggered (or forever without one). `collect` runs once per scrape, on
/// the connection's thread. Errors only when the listener itself fails.
pub fn serve<F>(listener: TcpListener, cancel: Option<&Cancel>, collect: F) -> io::Result<()>
where
    F: Fn() -> Registry + Send + Sync + 'static,
{
    listener.set_nonblocking(true)?;
    let collect = Arc::new(collect);
    let active = Arc::new(AtomicUsize::new(0));
    let mut fds = vec![libc::pollfd {
        fd: listener.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    }];
    if let Some(c) = cancel {
        use std::os::fd::AsFd;
        fds.push(libc::pollfd {
            fd: c.as_fd().as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        });
    }
    loop {
        // SAFETY: fds is a valid array of fds.len() pollfd structures.
        let n = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, -1) };
        if n < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        if cancel.is_some_and(|c| c.is_triggered()) {
            return Ok(());
        }
        loop {
            let stream = match listener.accept() {
                Ok((s, _)) => s,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                // The client left before we took it, or we are out of
                // descriptors for a moment: the listener is still good.
                Err(_) => break,
            };
            if active.fetch_add(1, Ordering::SeqCst) >= MAX_CONNECTIONS {
                active.fetch_sub(1, Ordering::SeqCst);
                let _ = stream.set_nonblocking(true);
                let _ = respond(
                    &stream,
                    false,
                    "503 Service Unavailable",
                    "text/plain",
                    b"busy\n",
                );
                continue;
            }
            let (collect, done) = (collect.clone(), active.clone());
            let spawned = std::thread::Builder::new()
                .name("scrape".into())
                .spawn(move || {
                    handle(stream, &*collect);
                    done.fetch_sub(1, Ordering::SeqCst);
                });
            if spawned.is_err() {
                active.fetch_sub(1, Ordering::SeqCst);
            }
        }
    }
}

/// One connection: read the request head, answer, close.
fn handle(stream: TcpStream, collect: &dyn Fn() -> Registry) {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_read_timeout(Some(CLIENT_TIMEOUT));
    let _ = stream.set_write_timeout(Some(CLIENT_TIMEOUT));
    let head = match read_head(&stream) {
        Ok(Some(h)) => h,
        Ok(None) => {
            let _ = respond(
                &stream,
                false,
                "431 Request Header Fields Too Large",
                "text/plain",
                b"request too large\n",
            );
            return;
        }
        // A timeout or a client that left: nothing to answer.
        Err(_) => return,
    };
    let Some(req) = Request::parse(&head) else {
        let _ = respond(
            &stream,
            false,
            "400 Bad Request",
            "text/plain",
            b"bad request\n",
        );
        return;
    };
    let head_only = req.method == "HEAD";
    if req.method != "GET" && !head_only {
        let _ = respond(
            &stream,
            false,
            "405 Method Not Allowed",
            "text/plain",
            b"GET or HEAD\n",
        );
        return;
    }
    if req.path != PATH {
        let _ = respond(
            &stream,
            head_only,
            "404 Not Found",
            "text/plain",
            b"not found: the metrics are at /metrics\n",
        );
        return;
    }
    let format = Format::negotiate(req.accept.as_deref());
    let body = collect().render(format);
    let _ = respond(
        &stream,
        head_only,
        "200 OK",
        format.content_type(),
        body.as_bytes(),
    );
}

/// The bytes up to the blank line that ends the head; `None` when they
/// exceed [`MAX_REQUEST_BYTES`].
fn read_head(mut stream: &TcpStream) -> io::Result<Option<Vec<u8>>> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    loop {
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(end) = find(&buf, b"\r\n\r\n").or_else(|| find(&buf, b"\n\n")) {
            if end > MAX_REQUEST_BYTES {
                return Ok(None);
            }
            buf.truncate(end);
            return Ok(Some(buf));
        }
        if buf.len() > MAX_REQUEST_BYTES {
            return Ok(None);
        }
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// What the server reads of a request.
struct Request {
    method: String,
    path: String,
    accept: Option<String>,
}

impl Request {
    /// `METHOD SP TARGET SP HTTP/1.x` and the headers; the query string
    /// is ignored.
    fn parse(head: &[u8]) -> Option<Request> {
        let head = std::str::from_utf8(head).ok()?;
        let mut lines = head.split('\n').map(|l| l.trim_end_matches('\r'));
        let mut first = lines.next()?.split(' ');
        let (method, target, version) = (first.next()?, first.next()?, first.next()?);
        if first.next().is_some() || !version.starts_with("HTTP/1.") {
            return None;
        }
        let path = target.split('?').next().unwrap_or("");
        let mut accept: Option<String> = None;
        for line in lines {
            let (k, v) = line.split_once(':')?;
            if k.trim().eq_ignore_ascii_case("accept") {
                // Repeated headers are one comma-separated list.
                let v = v.trim();
                accept = Some(match accept {
                    Some(a) => format!("{a},{v}"),
                    None => v.to_string(),
                });
            }
        }
        Some(Request {
            method: method.to_string(),
            path: path.to_string(),
            accept,
        })
    }
}

fn respond(
    mut stream: &TcpStream,
    head_only: bool,
    status: &str,
    content_type: &str,
    body: &[u8],
) -> io::Result<()> {
    let allow = if status.starts_with("405") {
        "Allow: GET, HEAD\r\n"
    } else {
        ""
    };
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n{allow}Connection: close\r\n\r\n",
        body.len()
    );
    let mut out = head.into_bytes();
    if !head_only {
        out.extend_from_slice(body);
    }
    stream.write_all(&out)?;
    stream.flush()?;
    let _ = stream.shutdown(std::net::Shutdown::Write);
    // Let the client read the answer before the close resets the
    // connection: drain what it still sends, briefly.
    let _ = stream.set_read_timeout(Some(Duration::from_millis(200)));
    let mut sink = [0u8; 512];
    while matches!(stream.read(&mut sink), Ok(n) if n > 0) {}
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_without_a_host_or_port_are_refused() {
        for bad in [
            "9464",
            ":9464",
            "127.0.0.1",
            "127.0.0.1:http",
            "127.0.0.1:65536",
            "[::1]",
        ] {
            let e = bind(bad).unwrap_err();
            assert!(e.contains("is not an address to listen on"), "{bad}: {e}");
        }
        let l = bind("127.0.0.1:0").unwrap();
        assert!(l.local_addr().unwrap().ip().is_loopback());
    }

    #[test]
    fn request_heads_are_read_as_http_1() {
        let r = Request::parse(
            b"GET /metrics?x=1 HTTP/1.1\r\nHost: a\r\nAccept: text/plain\r\naccept: */*",
        )
        .unwrap();
        assert_eq!((r.method.as_str(), r.path.as_str()), ("GET", "/metrics"));
        assert_eq!(r.accept.as_deref(), Some("text/plain,*/*"));
        assert!(Request::parse(b"GET /metrics").is_none());
        assert!(Request::parse(b"GET /metrics HTTP/2").is_none());
        assert!(Request::parse(b"GET /metrics HTTP/1.1\r\nno colon").is_none());
    }
}
