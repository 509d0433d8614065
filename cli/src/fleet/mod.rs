//! Fleet: every host's heartbeats in one NATS JetStream key-value bucket.
//! `relay` publishes a host's heartbeat files there; `remote` reads them
//! back with the same verdicts and exit codes as local files. The layout,
//! the value schema and the time-limit rule are in docs/PROTOCOL.md,
//! "Fleet"; deployment in docs/FLEET.md.
//!
//! Only the CLI uses this module, behind the cargo feature `fleet`: the C
//! library never links tokio, async-nats or a TLS stack.

pub mod cli;
pub mod key;
pub mod relay;
pub mod remote;
pub mod value;

use std::fmt;
use std::os::fd::{AsFd, AsRawFd, RawFd};
use std::path::PathBuf;
use std::time::Duration;
use tokio::io::unix::AsyncFd;

/// The bucket when none is named.
pub const DEFAULT_BUCKET: &str = "lifesign";

/// The URL scheme of a remote heartbeat.
pub const SCHEME: &str = "nats://";

/// Environment variables that supply credentials to every fleet command
/// (kept out of the process list, unlike `--token` or a URL's user part).
pub const TOKEN_ENV: &str = "LIFESIGN_NATS_TOKEN";
/// See [`TOKEN_ENV`]: a `.creds` file (JWT and NKey seed).
pub const CREDS_ENV: &str = "LIFESIGN_NATS_CREDS";

/// How long a connection may take, from the TCP connect to the server's
/// first words and the handshake, before it is an error (a server that
/// accepts and never speaks included).
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// How long one request (a read, a bucket lookup, an acknowledgement) may
/// take before it is an error.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// How often a client pings the server: a server that stops answering
/// (frozen, or cut off without a reset) is taken for lost after a few
/// missed pings.
const PING_INTERVAL: Duration = Duration::from_secs(2);

/// How long a remote `wait` or `watch` waits for a lost server, or for a
/// bucket that cannot answer (a cluster electing a new stream leader), to
/// come back before it cannot tell (exit 2).
pub const LOST_AFTER: Duration = Duration::from_secs(10);

/// How to authenticate to the server.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Auth {
    /// The URL's user part, if any, else nothing.
    #[default]
    None,
    /// A token.
    Token(String),
    /// A `.creds` file.
    Creds(PathBuf),
}

impl Auth {
    /// `--token`/`--creds` when given, else the environment.
    pub fn or_env(self) -> Auth {
        if self != Auth::None {
            return self;
        }
        if let Some(t) = std::env::var_os(TOKEN_ENV).filter(|t| !t.is_empty()) {
            return Auth::Token(t.to_string_lossy().into_owned());
        }
        if let Some(c) = std::env::var_os(CREDS_ENV).filter(|c| !c.is_empty()) {
            return Auth::Creds(c.into());
        }
        Auth::None
    }
}

/// Why a fleet command cannot tell: no server, refused credentials, no
/// bucket, a bad URL. The CLI prints it and exits 2, never the 1 of a dead
/// heartbeat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error(pub String);

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

/// The message of the [`Error`] of a command ended by SIGINT or SIGTERM
/// before it could tell (exit 130, as a local `wait`).
pub const INTERRUPTED: &str = "interrupted";

/// The exit code of an interrupted command.
pub const EXIT_INTERRUPTED: u8 = 130;

impl Error {
    /// A command ended by SIGINT or SIGTERM.
    pub fn interrupted() -> Error {
        Error(INTERRUPTED.into())
    }

    /// Whether the command was ended by SIGINT or SIGTERM.
    pub fn is_interrupted(&self) -> bool {
        self.0 == INTERRUPTED
    }
}

/// `text` with the credentials of every `nats://` or `tls://` URL in it
/// (a token, or a user and password) replaced by `***`: what a message
/// may show of a URL.
pub fn redact(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = ["nats://", "tls://"]
        .iter()
        .filter_map(|s| rest.find(s).map(|i| (i, s.len())))
        .min()
    {
        let (i, len) = at;
        out.push_str(&rest[..i + len]);
        rest = &rest[i + len..];
        // The authority ends at the first '/', whitespace or quote.
        let end = rest
            .find(|c: char| c == '/' || c == '"' || c == '\'' || c.is_whitespace())
            .unwrap_or(rest.len());
        if let Some(a) = rest[..end].rfind('@') {
            out.push_str("***@");
            rest = &rest[a + 1..];
        }
    }
    out.push_str(rest);
    out
}

/// Writes one line to stderr; a closed or broken stderr is ignored (a
/// relay whose log reader went away goes on relaying).
pub fn say(line: &str) {
    use std::io::Write;
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "{}", redact(line));
}

/// The exit code of an [`Error`]: "cannot tell".
pub const EXIT_CANNOT_TELL: u8 = 2;

/// Whether a command's target is a remote heartbeat rather than a path.
pub fn is_remote(target: &std::ffi::OsStr) -> bool {
    target.as_encoded_bytes().starts_with(SCHEME.as_bytes())
}

/// A parsed `nats://[CREDENTIALS@]HOST:PORT/BUCKET[/KEY]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Url {
    /// `nats://[USER:PASSWORD@]HOST:PORT`, as async-nats takes it.
    pub server: String,
    /// A token given as the URL's user part (`nats://TOKEN@HOST:PORT`).
    pub token: Option<String>,
    /// The bucket.
    pub bucket: String,
    /// The key, for check, wait and watch.
    pub key: Option<String>,
}

impl Url {
    /// Parses a target; `want_key` says whether the command needs a key.
    pub fn parse(target: &str, want_key: bool) -> Result<Url, Error> {
        let bad = |why: &str| {
            Error(format!(
                "{target:?}: {why} (expected nats://HOST:PORT/BUCKET{})",
                if want_key { "/KEY" } else { "" }
            ))
        };
        if !is_remote(target.as_ref()) {
            return Err(bad("not a nats:// URL"));
        }
        let rest = &target[SCHEME.len()..];
        let (authority, path) = rest.split_once('/').ok_or_else(|| bad("no bucket"))?;
        if authority.is_empty() || authority.ends_with('@') {
            return Err(bad("no host"));
        }
        let mut parts = path.split('/');
        let bucket = parts
            .next()
            .filter(|b| !b.is_empty())
            .ok_or_else(|| bad("no bucket"))?;
        if !bucket
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
        {
            return Err(bad("a bucket name is letters, digits, - and _"));
        }
        let key = parts.next().filter(|k| !k.is_empty());
        if parts.next().is_some() {
            return Err(bad("too many path parts"));
        }
        match (want_key, key) {
            (true, None) => return Err(bad("no key")),
            (false, Some(_)) => return Err(bad("scan takes a bucket, not a key")),
            _ => {}
        }
        if let Some(k) = key {
            if key::split(k).is_none() {
                return Err(bad(
                    "the key is not HOST-ID.NAME as `lifesign scan` lists it",
                ));
            }
        }
        let (server, token) = match authority.rsplit_once('@') {
            Some((user, host)) if !user.contains(':') => (host, Some(user.to_string())),
            _ => (authority, None),
        };
        Ok(Url {
            server: format!("{SCHEME}{server}"),
            token,
            bucket: bucket.into(),
            key: key.map(str::to_string),
        })
    }

    /// The credentials to use: the URL's token, else the environment.
    pub fn auth(&self) -> Auth {
        match &self.token {
            Some(t) => Auth::Token(t.clone()),
            None => Auth::None.or_env(),
        }
    }

    /// The URL without credentials, for messages.
    pub fn shown(&self) -> String {
        let s = self.server.strip_prefix(SCHEME).unwrap_or(&self.server);
        let host = s.rsplit_once('@').map_or(s, |(_, h)| h);
        match &self.key {
            Some(k) => format!("{SCHEME}{host}/{}/{k}", self.bucket),
            None => format!("{SCHEME}{host}/{}", self.bucket),
        }
    }
}

/// A tokio runtime on the calling thread: the fleet commands wait on
/// sockets and descriptors, never on CPU.
pub(crate) fn runtime() -> Result<tokio::runtime::Runtime, Error> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error(format!("cannot start the event loop: {e}")))
}

/// Runs `fut`, bounded by `limit` (then `what` timed out) and ended by
/// `cancel` ([`Error::interrupted`]).
pub(crate) async fn bounded<T>(
    cancel: Option<&AsyncFd<Borrowed>>,
    limit: Duration,
    what: impl FnOnce() -> String,
    fut: impl std::future::Future<Output = Result<T, Error>>,
) -> Result<T, Error> {
    tokio::select! {
        r = tokio::time::timeout(limit, fut) => match r {
            Ok(r) => r,
            Err(_) => Err(Error(format!("{} (no answer within {} s)", what(), limit.as_secs()))),
        },
        _ = cancelled(cancel) => Err(Error::interrupted()),
    }
}

/// A JetStream context whose requests are bounded by [`REQUEST_TIMEOUT`].
pub(crate) fn jetstream(client: async_nats::Client) -> async_nats::jetstream::Context {
    let mut js = async_nats::jetstream::new(client);
    js.set_timeout(REQUEST_TIMEOUT);
    js
}

/// Connects, within [`CONNECT_TIMEOUT`] whatever the server does, or until
/// `cancel`; `events` sees connection changes (the relay republishes on
/// every reconnect).
pub(crate) async fn connect(
    servers: &[String],
    auth: &Auth,
    name: &str,
    events: Option<tokio::sync::mpsc::UnboundedSender<async_nats::Event>>,
    cancel: Option<&AsyncFd<Borrowed>>,
    tune: impl FnOnce(async_nats::ConnectOptions) -> async_nats::ConnectOptions,
) -> Result<async_nats::Client, Error> {
    let mut opts = tune(async_nats::ConnectOptions::new())
        .name(name)
        .connection_timeout(CONNECT_TIMEOUT)
        .request_timeout(Some(REQUEST_TIMEOUT))
        .ping_interval(PING_INTERVAL)
        // Reconnect for ever, backing off to 2 s between attempts.
        .max_reconnects(None)
        .reconnect_delay_callback(|n| Duration::from_millis((50u64 << n.min(6)).min(2000)));
    match auth {
        Auth::None => {}
        Auth::Token(t) => opts = opts.token(t.clone()),
        Auth::Creds(p) => {
            opts = opts
                .credentials_file(p)
                .await
                .map_err(|e| Error(format!("cannot read credentials {}: {e}", p.display())))?
        }
    }
    if let Some(tx) = events {
        opts = opts.event_callback(move |ev| {
            let tx = tx.clone();
            async move {
                let _ = tx.send(ev);
            }
        });
    }
    let shown: Vec<String> = servers
        .iter()
        .map(|server| {
            let rest = server.strip_prefix(SCHEME).unwrap_or(server);
            let host = rest.rsplit_once('@').map_or(rest, |(_, h)| h);
            format!("{SCHEME}{host}")
        })
        .collect();
    let shown = shown.join(",");
    let cannot = || format!("cannot connect to {shown}");
    bounded(cancel, CONNECT_TIMEOUT, cannot, async {
        async_nats::connect_with_options(servers, opts)
            .await
            .map_err(|e| Error(format!("{}: {e}", cannot())))
    })
    .await
}

/// A cancel descriptor borrowed for tokio (registered, never closed).
pub(crate) struct Borrowed(RawFd);

impl AsRawFd for Borrowed {
    fn as_raw_fd(&self) -> RawFd {
        self.0
    }
}

pub(crate) async fn cancelled(cancel: Option<&AsyncFd<Borrowed>>) {
    match cancel {
        Some(fd) => {
            let _ = fd.readable().await;
        }
        None => std::future::pending().await,
    }
}

/// Registers a cancel descriptor with the runtime.
pub(crate) fn watch_cancel(
    cancel: Option<&lifesign::Cancel>,
) -> Result<Option<AsyncFd<Borrowed>>, Error> {
    cancel
        // SAFETY: the Cancel outlives the AsyncFd (both live for one call)
        // and is never closed while registered.
        .map(|c| unsafe {
            AsyncFd::register_with_interest(
                Borrowed(c.as_fd().as_raw_fd()),
                tokio::io::Interest::READABLE,
            )
        })
        .transpose()
        .map_err(|e| Error(format!("cannot watch the cancel descriptor: {e}")))
}

/// This machine's hostname (the default host id).
pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_url_names_server_bucket_and_key() {
        let u = Url::parse("nats://tok@127.0.0.1:4222/lifesign/web1.app", true).unwrap();
        assert_eq!(u.server, "nats://127.0.0.1:4222");
        assert_eq!(u.token.as_deref(), Some("tok"));
        assert_eq!(u.bucket, "lifesign");
        assert_eq!(u.key.as_deref(), Some("web1.app"));
        assert_eq!(u.shown(), "nats://127.0.0.1:4222/lifesign/web1.app");
        let up = Url::parse("nats://u:p@h:1/b", false).unwrap();
        assert_eq!((up.server.as_str(), up.token), ("nats://u:p@h:1", None));
    }

    #[test]
    fn bad_urls_are_refused_with_the_expected_form() {
        for (t, key) in [
            ("nats://h:1", true),
            ("nats://h:1/", false),
            ("nats://h:1/b", true),
            ("nats://h:1/b/k", false),
            ("nats://h:1/b/nodot", true),
            ("nats://h:1/b.x/h.k", true),
            ("nats:///b/h.k", true),
            ("nats://h:1/b/h.k/x", true),
        ] {
            let e = Url::parse(t, key).unwrap_err();
            assert!(e.0.contains("expected nats://HOST:PORT/BUCKET"), "{t}: {e}");
        }
        assert!(Url::parse("nats://h:1/b", false).is_ok());
    }

    #[test]
    fn credentials_in_urls_are_never_shown() {
        for (t, want) in [
            (
                "\"nats://s3cret@h:1/b\": no key",
                "\"nats://***@h:1/b\": no key",
            ),
            (
                "nats://u:p@h:1 and tls://t@h:2/x",
                "nats://***@h:1 and tls://***@h:2/x",
            ),
            ("nats://h:1/b/k", "nats://h:1/b/k"),
            ("no url here", "no url here"),
            ("nats://", "nats://"),
        ] {
            assert_eq!(redact(t), want, "{t}");
        }
    }

    #[test]
    fn only_nats_urls_are_remote() {
        assert!(is_remote("nats://h:1/b".as_ref()));
        assert!(!is_remote("/run/nats://x".as_ref()));
        assert!(!is_remote("hb.json".as_ref()));
    }
}
