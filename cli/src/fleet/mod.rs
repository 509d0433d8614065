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

/// The URL scheme of a server that must be reached over TLS.
pub const TLS_SCHEME: &str = "tls://";

/// The schemes of a server or a remote heartbeat.
pub const SCHEMES: [&str; 2] = [SCHEME, TLS_SCHEME];

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

/// TLS settings (`--tls-ca`, `--tls-cert`, `--tls-key`): any of them, or
/// a `tls://` server, makes TLS required, never a plain connection.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tls {
    /// PEM certificates of the CA(s) that signed the server's certificate,
    /// instead of the system's.
    pub ca: Option<PathBuf>,
    /// The client certificate (PEM), with its key.
    pub cert: Option<PathBuf>,
    /// The client certificate's private key (PEM).
    pub key: Option<PathBuf>,
}

impl Tls {
    /// Whether any TLS option was given.
    pub fn any(&self) -> bool {
        self.ca.is_some() || self.cert.is_some() || self.key.is_some()
    }

    /// Takes `--tls-ca`, `--tls-cert` or `--tls-key` with its value;
    /// `Ok(false)` for any other flag.
    pub fn take(
        &mut self,
        flag: &str,
        value: impl FnOnce() -> Result<String, String>,
    ) -> Result<bool, String> {
        let slot = match flag {
            "--tls-ca" => &mut self.ca,
            "--tls-cert" => &mut self.cert,
            "--tls-key" => &mut self.key,
            _ => return Ok(false),
        };
        let v = value()?;
        if v.is_empty() {
            return Err(format!("{flag} needs a file"));
        }
        *slot = Some(v.into());
        Ok(true)
    }

    /// Checks, before any connection, that each file given can be read
    /// and holds what its option needs (a PEM certificate, a PEM private
    /// key), and that a certificate comes with its key: a usage error
    /// names the option and the file.
    pub fn validate(&self) -> Result<(), String> {
        match (&self.cert, &self.key) {
            (Some(_), None) => {
                return Err("--tls-cert needs --tls-key (the certificate's private key)".into())
            }
            (None, Some(_)) => {
                return Err("--tls-key needs --tls-cert (the client certificate)".into())
            }
            _ => {}
        }
        let pem = |flag: &str, path: &PathBuf, what: &str, labels: &[&str]| -> Result<(), String> {
            let text = std::fs::read(path)
                .map_err(|e| format!("{flag} {}: cannot read it: {e}", path.display()))?;
            let text = String::from_utf8_lossy(&text);
            let found = text.lines().any(|l| {
                l.strip_prefix("-----BEGIN ")
                    .and_then(|l| l.strip_suffix("-----"))
                    .is_some_and(|label| labels.contains(&label))
            });
            if found {
                Ok(())
            } else {
                Err(format!(
                    "{flag} {}: not a PEM file with {what} in it",
                    path.display()
                ))
            }
        };
        const CERT: &[&str] = &["CERTIFICATE"];
        if let Some(p) = &self.ca {
            pem("--tls-ca", p, "a CA certificate", CERT)?;
        }
        if let Some(p) = &self.cert {
            pem("--tls-cert", p, "a certificate", CERT)?;
        }
        if let Some(p) = &self.key {
            pem(
                "--tls-key",
                p,
                "a private key",
                &["PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY"],
            )?;
        }
        Ok(())
    }

    fn apply(
        &self,
        servers: &[String],
        mut opts: async_nats::ConnectOptions,
    ) -> async_nats::ConnectOptions {
        if self.any() || servers.iter().any(|s| s.starts_with(TLS_SCHEME)) {
            opts = opts.require_tls(true);
        }
        if let Some(ca) = &self.ca {
            opts = opts.add_root_certificates(ca.clone());
        }
        if let (Some(cert), Some(key)) = (&self.cert, &self.key) {
            opts = opts.add_client_certificate(cert.clone(), key.clone());
        }
        opts
    }
}

/// The scheme `s` starts with (`nats://` or `tls://`), if any.
pub fn scheme_of(s: &str) -> Option<&'static str> {
    SCHEMES.into_iter().find(|p| s.starts_with(p))
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

/// A parsed `nats://[CREDENTIALS@]HOST:PORT/BUCKET[/KEY]` (or `tls://`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Url {
    /// `nats://[USER:PASSWORD@]HOST:PORT` (or `tls://`), as async-nats
    /// takes it.
    pub server: String,
    /// A token given as the URL's user part (`nats://TOKEN@HOST:PORT`).
    pub token: Option<String>,
    /// The bucket.
    pub bucket: String,
    /// The key, for check, wait and watch.
    pub key: Option<String>,
    /// TLS options (not part of the URL: set by the command's flags).
    pub tls: Tls,
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
        let Some(scheme) = scheme_of(target) else {
            return Err(bad("not a nats:// or tls:// URL"));
        };
        let rest = &target[scheme.len()..];
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
            server: format!("{scheme}{server}"),
            token,
            bucket: bucket.into(),
            key: key.map(str::to_string),
            tls: Tls::default(),
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
        let host = shown_server(&self.server);
        match &self.key {
            Some(k) => format!("{host}/{}/{k}", self.bucket),
            None => format!("{host}/{}", self.bucket),
        }
    }
}

/// A server URL without its credentials, for messages.
pub fn shown_server(server: &str) -> String {
    let scheme = scheme_of(server).unwrap_or("");
    let rest = &server[scheme.len()..];
    let host = rest.rsplit_once('@').map_or(rest, |(_, h)| h);
    format!("{scheme}{host}")
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
    tls: &Tls,
    name: &str,
    events: Option<tokio::sync::mpsc::UnboundedSender<async_nats::Event>>,
    cancel: Option<&AsyncFd<Borrowed>>,
    tune: impl FnOnce(async_nats::ConnectOptions) -> async_nats::ConnectOptions,
) -> Result<async_nats::Client, Error> {
    let mut opts = tls
        .apply(servers, tune(async_nats::ConnectOptions::new()))
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
    let shown: Vec<String> = servers.iter().map(|s| shown_server(s)).collect();
    let shown = shown.join(",");
    let cannot = || format!("cannot connect to {shown}");
    bounded(cancel, CONNECT_TIMEOUT, cannot, async {
        async_nats::connect_with_options(servers, opts)
            .await
            .map_err(|e| Error(format!("{}: {e}{}", cannot(), tls_hint(&e.to_string()))))
    })
    .await
}

/// What to do about a refused TLS handshake, from the TLS library's words.
fn tls_hint(error: &str) -> &'static str {
    if error.contains("CertificateRequired") {
        " (the server requires a client certificate: give --tls-cert and --tls-key)"
    } else if error.contains("UnknownIssuer") || error.contains("BadSignature") {
        " (the server's certificate is not signed by a CA this client trusts: give its CA with --tls-ca)"
    } else if error.contains("NotValidForName") {
        " (the server's certificate does not name the host of the URL)"
    } else if error.contains("BadCertificate")
        || error.contains("UnknownCA")
        || error.contains("DecryptError")
    {
        " (the server refused the client certificate: is it signed by a CA the server trusts?)"
    } else {
        ""
    }
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

/// This machine's hostname (the default host id), as `lifesign metrics`
/// labels it.
pub use crate::output::hostname;

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
    fn a_tls_url_keeps_its_scheme() {
        let u = Url::parse("tls://tok@127.0.0.1:4222/lifesign/web1.app", true).unwrap();
        assert_eq!(u.server, "tls://127.0.0.1:4222");
        assert_eq!(u.token.as_deref(), Some("tok"));
        assert_eq!(u.shown(), "tls://127.0.0.1:4222/lifesign/web1.app");
        let e = Url::parse("http://h:1/b/h.k", true).unwrap_err();
        assert!(e.0.contains("not a nats:// or tls:// URL"), "{e}");
    }

    #[test]
    fn tls_files_are_checked_before_any_connection() {
        let dir = std::env::temp_dir().join(format!("lifesign-tls-unit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let write = |name: &str, text: &str| {
            let p = dir.join(name);
            std::fs::write(&p, text).unwrap();
            Some(p)
        };
        let cert = write(
            "c.pem",
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        );
        let key = write(
            "k.pem",
            "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
        );
        let junk = write("junk.pem", "not pem\n");
        let missing = Some(dir.join("absent.pem"));
        let tls = |ca: &Option<PathBuf>, c: &Option<PathBuf>, k: &Option<PathBuf>| Tls {
            ca: ca.clone(),
            cert: c.clone(),
            key: k.clone(),
        };
        assert_eq!(tls(&cert, &cert, &key).validate(), Ok(()));
        assert_eq!(tls(&cert, &None, &None).validate(), Ok(()));
        for (t, want) in [
            (tls(&None, &cert, &None), "--tls-cert needs --tls-key"),
            (tls(&None, &None, &key), "--tls-key needs --tls-cert"),
            (tls(&missing, &None, &None), "absent.pem: cannot read it"),
            (tls(&junk, &None, &None), "--tls-ca "),
            (tls(&None, &cert, &cert), "--tls-key "),
            (tls(&None, &key, &key), "--tls-cert "),
            (tls(&dir.clone().into(), &None, &None), "cannot read it"),
        ] {
            let e = t.validate().unwrap_err();
            assert!(e.contains(want), "{t:?}: {e}");
        }
        let e = tls(&junk, &None, &None).validate().unwrap_err();
        assert!(
            e.ends_with("junk.pem: not a PEM file with a CA certificate in it"),
            "{e}"
        );
        assert!(!Tls::default().any());
        assert!(tls(&cert, &None, &None).any());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
