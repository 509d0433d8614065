//! `lifesign relay`: publishes every heartbeat file of some folders to the
//! bucket, event-driven, with a per-key time limit (PROTOCOL.md, "Fleet").
//!
//! One loop on one thread waits for: the folders' events (from the
//! library's one folder watcher, shared with every other reader of the
//! process), the exit of an emitter (its pidfd),
//! the next timed look (a heartbeat turning stale, or a key due for a
//! refresh), a failed publish, and the connection coming back. Each wakes a
//! look at one file: check it with the library's own read (the same as
//! `lifesign check`, confined to its folder), publish when anything a
//! reader sees changed, or when the key is half-way to its time limit.

use super::value::{self, Relay, Value};
use super::{cancelled, connect, jetstream, key, runtime, say, watch_cancel, Auth, Error};
use async_nats::jetstream::{self as js_api, kv};
use futures_util::StreamExt;
use lifesign::watcher::{self, Names};
use lifesign::{CheckOptions, Verdict};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet};
use std::ffi::OsStr;
use std::os::fd::{FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::io::unix::AsyncFd;
use tokio::sync::mpsc;

/// How long the server keeps the marker of an expired key (then the key
/// reads as missing).
pub const MARKER_TTL: Duration = Duration::from_secs(3600);

/// How soon a failed publish is tried again.
const RETRY: Duration = Duration::from_secs(1);

/// How often the folders are listed again when inotify cannot be had.
const POLL: Duration = Duration::from_secs(1);

/// The most pidfds the relay holds. Beyond it, an exit is seen by the next
/// timed look (at the latest when the file turns stale). (Not the lock
/// file's close: the relay's own probe of the lock closes it too.)
const MAX_PIDFDS: usize = 256;

/// While publishes fail, how often the relay says so (the first failure
/// is said at once, and so is the recovery).
const FAILURE_REPORT: Duration = Duration::from_secs(60);

/// How often the relay warns about one other writer of its keys.
const CONFLICT_REPORT: Duration = Duration::from_secs(60);

/// What `lifesign relay` was asked to do.
#[derive(Clone, Debug)]
pub struct Config {
    /// `nats://HOST:PORT`, one or more (the servers of one cluster).
    pub servers: Vec<String>,
    /// The bucket (created when missing).
    pub bucket: String,
    /// How many servers keep a copy of a bucket the relay creates.
    pub replicas: usize,
    /// The first part of every key (default: the hostname).
    pub host_id: String,
    /// Credentials.
    pub auth: Auth,
    /// The folders whose heartbeat files are published.
    pub dirs: Vec<PathBuf>,
    /// `HOST:PORT` of the OpenMetrics endpoint (`--metrics`), served by
    /// the caller from [`Stats`].
    pub metrics: Option<String>,
}

/// What the relay's loop counts, for `--metrics` (docs/METRICS.md).
#[derive(Debug)]
pub struct Stats {
    connected: AtomicBool,
    publishes: AtomicU64,
    errors: AtomicU64,
    /// Microseconds from `since` to the last acknowledged publish, plus
    /// one; 0 before the first.
    last_publish: AtomicU64,
    since: Instant,
}

impl Default for Stats {
    fn default() -> Stats {
        Stats {
            connected: AtomicBool::new(false),
            publishes: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            last_publish: AtomicU64::new(0),
            since: Instant::now(),
        }
    }
}

impl Stats {
    fn connected(&self, yes: bool) {
        self.connected.store(yes, Ordering::Relaxed);
    }

    fn published(&self) {
        self.publishes.fetch_add(1, Ordering::Relaxed);
        let us = self.since.elapsed().as_micros() as u64 + 1;
        self.last_publish.store(us, Ordering::Relaxed);
    }

    fn failed(&self) {
        self.errors.fetch_add(1, Ordering::Relaxed);
    }

    /// Pushes the relay's families, labelled `host`, into `reg`.
    pub fn families(&self, reg: &mut crate::exporter::Registry, host: &str) {
        use crate::exporter::{Family, Number};
        let labels = || vec![("host", host.to_string())];
        let mut connected = Family::gauge(
            "lifesign_relay_connected",
            "1 while the relay is connected to a NATS server, else 0.",
        );
        connected.set(
            labels(),
            Number::Int(self.connected.load(Ordering::Relaxed).into()),
        );
        let mut publishes = Family::counter(
            "lifesign_relay_publishes",
            "Publishes (and deletes) of the relay's keys that the server acknowledged.",
        );
        publishes.set(
            labels(),
            Number::Int(self.publishes.load(Ordering::Relaxed)),
        );
        let mut errors = Family::counter(
            "lifesign_relay_errors",
            "Publishes and deletes of the relay's keys that failed (each is retried).",
        );
        errors.set(labels(), Number::Int(self.errors.load(Ordering::Relaxed)));
        let mut age = Family::gauge(
            "lifesign_relay_last_publish_age_seconds",
            "Time since the last acknowledged publish (absent before the first).",
        )
        .unit("seconds");
        let last = self.last_publish.load(Ordering::Relaxed);
        if last > 0 {
            let now = self.since.elapsed().as_micros() as u64 + 1;
            age.set(
                labels(),
                Number::Float(now.saturating_sub(last) as f64 / 1e6),
            );
        }
        for f in [connected, publishes, errors, age] {
            reg.push(f);
        }
    }
}

/// Runs the relay until `cancel` is triggered (`Ok`; the keys then expire
/// within their time limits) or an error stops it (no server at start,
/// refused credentials, a folder it cannot watch).
pub fn run(cfg: Config, stats: Arc<Stats>, cancel: Option<&lifesign::Cancel>) -> Result<(), Error> {
    runtime()?.block_on(relay(cfg, stats, cancel))
}

/// Why the loop woke up, besides inotify and the clock.
enum Wake {
    /// The emitter of this file exited (its pidfd).
    Exited(PathBuf),
    /// A publish for this file was not acknowledged.
    Failed(PathBuf, String),
    /// A publish was acknowledged.
    Published,
}

/// What was last published for a file.
struct Sent {
    /// What a reader sees: a change of any of these is published at once.
    seen: (Verdict, Option<lifesign::State>, u32, u64, u64, u64, String),
    at: Instant,
    ttl: Duration,
}

struct Beat {
    key: String,
    name: String,
    sent: Option<Sent>,
    /// The PID whose exit is followed (or was tried once).
    pid_watched: Option<u32>,
    /// The task waiting on that PID's pidfd (counted against
    /// [`MAX_PIDFDS`]), aborted when the beat goes.
    pidfd: Option<tokio::task::AbortHandle>,
}

struct Relayer {
    js: js_api::Context,
    kv: kv::Store,
    bucket: String,
    replicas: usize,
    /// Publishes failed since the last success (or the relay's start):
    /// the count, and when the relay last said so.
    failing: Option<(u64, Instant)>,
    /// When the bucket was last looked up again after a failure.
    bucket_checked: Option<Instant>,
    subject_prefix: String,
    me: Relay,
    beats: HashMap<PathBuf, Beat>,
    timers: BinaryHeap<Reverse<(Instant, PathBuf)>>,
    wake: mpsc::UnboundedSender<Wake>,
    /// The first part of the key's name for each folder when several are
    /// relayed (`<folder>/<file>`), so that keys are unique per folder.
    labels: HashMap<PathBuf, String>,
    /// Files whose name cannot be a key (not UTF-8), reported once each.
    unnamed: HashSet<PathBuf>,
    pidfds: usize,
    /// What `--metrics` serves.
    stats: Arc<Stats>,
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Whether a folder entry is a heartbeat file: `*.json`, not hidden (the
/// emitter's temporaries are `.<name>.lifesign-<pid>-<n>.tmp`), whatever
/// the bytes of its name.
fn is_heartbeat(name: &OsStr) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let b = name.as_bytes();
    !b.starts_with(b".") && b.len() > ".json".len() && b.ends_with(b".json")
}

/// The name stem of a heartbeat file; `None` when its name is not UTF-8
/// (keys and values are UTF-8: such a file is reported, not published).
fn heartbeat_name(name: &OsStr) -> Option<&str> {
    if !is_heartbeat(name) {
        return None;
    }
    name.to_str()?.strip_suffix(".json")
}

/// The key's name part of each folder when several are relayed: its last
/// component, so that `d1/api.json` and `d2/api.json` are `d1/api` and
/// `d2/api`. Two folders that end alike are refused: their keys would mix.
fn folder_labels(dirs: &[PathBuf]) -> Result<HashMap<PathBuf, String>, Error> {
    let mut labels = HashMap::new();
    if dirs.len() < 2 {
        return Ok(labels);
    }
    let mut seen: HashMap<String, &PathBuf> = HashMap::new();
    for d in dirs {
        let real = std::fs::canonicalize(d).unwrap_or_else(|_| d.clone());
        let label = real
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "root".into());
        if let Some(other) = seen.insert(label.clone(), d) {
            return Err(Error(format!(
                "folders {} and {} both end in {label:?}: their heartbeats would share \
                 keys; relay them with two relays of different --host-id",
                other.display(),
                d.display()
            )));
        }
        labels.insert(d.clone(), label);
    }
    Ok(labels)
}

/// What the folder watcher reported, as the relay's loop receives it.
type FolderEvent = watcher::Event;

async fn relay(
    cfg: Config,
    stats: Arc<Stats>,
    cancel: Option<&lifesign::Cancel>,
) -> Result<(), Error> {
    let cancel = watch_cancel(cancel)?;
    let (ev_tx, mut events) = mpsc::unbounded_channel();
    let client = match connect(
        &cfg.servers,
        &cfg.auth,
        &format!("lifesign relay {}", cfg.host_id),
        Some(ev_tx),
        cancel.as_ref(),
        // Its own publishes do not come back: what arrives on its keys'
        // subjects was written by another client.
        |o| o.no_echo(),
    )
    .await
    {
        Err(e) if e.is_interrupted() => return Ok(()),
        r => r?,
    };
    stats.connected(true);
    let host_keys = format!("$KV.{}.{}.>", cfg.bucket, key::encode_part(&cfg.host_id));
    let mut others = client.subscribe(host_keys).await.map_err(|e| {
        Error(format!(
            "cannot subscribe to the keys of {:?}: {e}",
            cfg.host_id
        ))
    })?;
    let mut conflicts = Conflicts::default();
    let js = jetstream(client);
    let store = tokio::select! {
        s = open_bucket(&js, &cfg.bucket, cfg.replicas) => s?,
        _ = cancelled(cancel.as_ref()) => return Ok(()),
    };
    let labels = folder_labels(&cfg.dirs)?;
    let (fs_tx, mut fs_events) = mpsc::unbounded_channel::<FolderEvent>();
    let mut subs = Vec::new();
    let mut polling = None;
    for d in &cfg.dirs {
        if let Err(e) = std::fs::read_dir(d) {
            return Err(Error(format!("cannot watch {}: {e}", d.display())));
        }
        let tx = fs_tx.clone();
        match watcher::subscribe(
            d,
            Names::All,
            Arc::new(move |ev| {
                let _ = tx.send(ev.clone());
            }),
        ) {
            Ok(s) => subs.push(s),
            Err(e) => {
                eprintln!(
                    "lifesign relay: cannot watch {} ({e}): listing it every {} s instead",
                    d.display(),
                    POLL.as_secs()
                );
                polling = Some(tokio::time::interval(POLL));
            }
        }
    }
    let (wake, mut wakes) = mpsc::unbounded_channel();
    let mut r = Relayer {
        js,
        kv: store,
        bucket: cfg.bucket.clone(),
        replicas: cfg.replicas,
        failing: None,
        bucket_checked: None,
        subject_prefix: format!("$KV.{}.", cfg.bucket),
        me: Relay {
            host_id: cfg.host_id.clone(),
            hostname: super::hostname(),
            pid: std::process::id(),
            version: lifesign::VERSION.into(),
            started_at_ms: now_ms(),
        },
        beats: HashMap::new(),
        timers: BinaryHeap::new(),
        wake,
        labels,
        unnamed: HashSet::new(),
        pidfds: 0,
        stats: stats.clone(),
    };
    r.rescan(&cfg.dirs, false).await;
    say(&format!(
        "lifesign relay: publishing {} heartbeat(s) from {} folder(s) to bucket {:?} as {:?}",
        r.beats.len(),
        cfg.dirs.len(),
        cfg.bucket,
        cfg.host_id
    ));
    let mut was_disconnected = false;
    loop {
        let next = r.timers.peek().map(|Reverse((at, _))| *at);
        tokio::select! {
            Some(ev) = fs_events.recv() => match ev {
                FolderEvent::Entry { dir, name } => {
                    if is_heartbeat(&name) {
                        r.look(&dir.join(&name), false).await;
                    }
                }
                FolderEvent::FolderGone(dir) => {
                    eprintln!(
                        "lifesign relay: folder {} went away; its keys go, and it is \
                         watched again when it is back",
                        dir.display()
                    );
                    r.rescan(std::slice::from_ref(&dir), false).await;
                }
                FolderEvent::Rearmed(dir) => {
                    eprintln!("lifesign relay: folder {} is back; watching it again", dir.display());
                    r.rescan(std::slice::from_ref(&dir), false).await;
                }
                FolderEvent::Overflow => r.rescan(&cfg.dirs, false).await,
                FolderEvent::File(_) => {}
            },
            _ = tick(polling.as_mut()) => r.rescan(&cfg.dirs, false).await,
            Some(ev) = events.recv() => match ev {
                async_nats::Event::Connected if was_disconnected => {
                    stats.connected(true);
                    was_disconnected = false;
                    say("lifesign relay: reconnected; republishing every heartbeat");
                    // The server may have restarted without its store.
                    r.reopen_bucket().await;
                    r.rescan(&cfg.dirs, true).await;
                }
                async_nats::Event::Connected => stats.connected(true),
                async_nats::Event::Disconnected => {
                    stats.connected(false);
                    was_disconnected = true;
                    say("lifesign relay: disconnected; reconnecting");
                }
                _ => {}
            },
            Some(m) = others.next() => conflicts.seen(&m, &r.me),
            Some(w) = wakes.recv() => match w {
                Wake::Exited(path) => {
                    if let Some(b) = r.beats.get_mut(&path) {
                        if b.pidfd.take().is_some() {
                            b.pid_watched = None;
                            r.pidfds -= 1;
                        }
                    }
                    r.look(&path, false).await;
                }
                Wake::Failed(path, why) => {
                    r.stats.failed();
                    r.failed(&path, &why).await;
                    if let Some(b) = r.beats.get_mut(&path) {
                        b.sent = None;
                    }
                    r.timers.push(Reverse((Instant::now() + RETRY, path)));
                }
                Wake::Published => {
                    r.stats.published();
                    r.succeeded();
                }
            },
            _ = cancelled(cancel.as_ref()) => return Ok(()),
            _ = sleep_until(next) => {
                let now = Instant::now();
                while let Some(Reverse((at, _))) = r.timers.peek() {
                    if *at > now {
                        break;
                    }
                    let Reverse((_, path)) = r.timers.pop().expect("peeked");
                    r.look(&path, false).await;
                }
            }
        }
    }
}

async fn tick(interval: Option<&mut tokio::time::Interval>) {
    match interval {
        Some(i) => {
            i.tick().await;
        }
        None => std::future::pending().await,
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at.into()).await,
        None => std::future::pending().await,
    }
}

/// Who else writes this relay's keys: warned about on stderr, at most
/// once a [`CONFLICT_REPORT`] per writer. Both keep publishing; each key
/// holds the last write (docs/FLEET.md, "Two relays with one host id").
#[derive(Default)]
struct Conflicts {
    said: HashMap<String, Instant>,
}

impl Conflicts {
    fn seen(&mut self, m: &async_nats::Message, me: &Relay) {
        let headers = m.headers.as_ref();
        // The server's own expiry markers are not another writer.
        if headers.is_some_and(|h| h.get(async_nats::header::NATS_MARKER_REASON).is_some()) {
            return;
        }
        let key = m.subject.split('.').skip(2).collect::<Vec<_>>().join(".");
        let who = match Value::decode(&m.payload) {
            Ok(v) if v.relay == *me => return,
            Ok(v) => format!(
                "the relay of pid {} on {:?} (started at {} ms)",
                v.relay.pid, v.relay.hostname, v.relay.started_at_ms
            ),
            Err(_) => match headers.and_then(|h| h.get("KV-Operation")) {
                Some(op) => format!("a client that sent {}", op.as_str()),
                None => "a client that is not a relay".into(),
            },
        };
        let now = Instant::now();
        if self
            .said
            .get(&who)
            .is_some_and(|at| now < *at + CONFLICT_REPORT)
        {
            return;
        }
        self.said.insert(who.clone(), now);
        say(&format!(
            "lifesign relay: warning: key {key} of host id {:?} was written by {who}: two              relays with the same --host-id overwrite each other's keys (give each its own              --host-id); said at most once a minute per writer",
            me.host_id
        ));
    }
}

/// The bucket, created when missing with per-message time limits and
/// expiry markers; an existing bucket without them is an error.
async fn open_bucket(
    js: &js_api::Context,
    bucket: &str,
    replicas: usize,
) -> Result<kv::Store, Error> {
    let store = match js.get_key_value(bucket).await {
        Ok(s) => s,
        Err(_) => {
            let cfg = kv::Config {
                bucket: bucket.into(),
                description: "lifesign heartbeats (docs/PROTOCOL.md, Fleet)".into(),
                history: 1,
                num_replicas: replicas,
                limit_markers: Some(MARKER_TTL),
                ..Default::default()
            };
            match js.create_key_value(cfg).await {
                Ok(s) => s,
                // Another relay may have created it meanwhile.
                Err(create) => js
                    .get_key_value(bucket)
                    .await
                    .map_err(|_| Error(format!("cannot create bucket {bucket:?}: {create}")))?,
            }
        }
    };
    let status = store
        .status()
        .await
        .map_err(|e| Error(format!("cannot read bucket {bucket:?}: {e}")))?;
    if !status.info.config.allow_message_ttl {
        return Err(Error(format!(
            "bucket {bucket:?} exists without per-key time limits (stream KV_{bucket} needs \
             allow_msg_ttl and subject_delete_marker_ttl): use another --bucket, or \
             recreate it"
        )));
    }
    Ok(store)
}

impl Relayer {
    /// Looks the bucket up again (creating it when missing): after a
    /// reconnect, and after failed publishes (at most once per [`RETRY`]),
    /// since a server restarted without its store has no bucket.
    async fn reopen_bucket(&mut self) {
        self.bucket_checked = Some(Instant::now());
        match open_bucket(&self.js, &self.bucket, self.replicas).await {
            Ok(s) => self.kv = s,
            Err(e) => say(&format!("lifesign relay: {e}; trying again")),
        }
    }

    /// A publish failed: said at once the first time, then once a
    /// [`FAILURE_REPORT`] with the count; the bucket is looked up again.
    async fn failed(&mut self, path: &Path, why: &str) {
        let now = Instant::now();
        match &mut self.failing {
            None => {
                say(&format!(
                    "lifesign relay: publish for {} failed: {why}; retrying",
                    path.display()
                ));
                self.failing = Some((1, now));
            }
            Some((n, said)) => {
                *n += 1;
                if now >= *said + FAILURE_REPORT {
                    say(&format!(
                        "lifesign relay: {n} publishes failed so far, the last for {}: {why}; \
                         retrying",
                        path.display()
                    ));
                    *said = now;
                }
            }
        }
        if self.bucket_checked.is_none_or(|at| now >= at + RETRY) {
            self.reopen_bucket().await;
        }
    }

    /// A publish was acknowledged: the recovery from failures is said.
    fn succeeded(&mut self) {
        if let Some((n, _)) = self.failing.take() {
            say(&format!(
                "lifesign relay: publishing again ({n} publishes had failed)"
            ));
        }
    }

    /// Looks at every heartbeat file of the folders; `all` republishes
    /// each one even when nothing changed (after a reconnect).
    async fn rescan(&mut self, dirs: &[PathBuf], all: bool) {
        let mut seen = HashSet::new();
        for d in dirs {
            let Ok(rd) = std::fs::read_dir(d) else {
                continue;
            };
            for e in rd.flatten() {
                if is_heartbeat(&e.file_name()) {
                    seen.insert(e.path());
                }
            }
        }
        // Files of these folders that went while events were lost.
        let gone: Vec<PathBuf> = self
            .beats
            .keys()
            .filter(|p| {
                !seen.contains(*p) && p.parent().is_some_and(|d| dirs.iter().any(|x| x == d))
            })
            .cloned()
            .collect();
        for p in gone.iter().chain(seen.iter()) {
            self.look(p, all).await;
        }
    }

    /// Checks one file and publishes what changed.
    async fn look(&mut self, path: &Path, force: bool) {
        let (Some(dir), Some(file)) = (path.parent(), path.file_name()) else {
            return;
        };
        let Some(stem) = heartbeat_name(file) else {
            if is_heartbeat(file) && path.exists() && self.unnamed.insert(path.to_path_buf()) {
                eprintln!(
                    "lifesign relay: cannot publish {}: its name is not UTF-8, and keys \
                     and values are (rename the file)",
                    path.display()
                );
            }
            return;
        };
        let name = match self.labels.get(dir) {
            Some(label) => format!("{label}/{stem}"),
            None => stem.to_string(),
        };
        let entry = match lifesign::check_entry(dir, file, &CheckOptions::default()) {
            Ok(entry) => entry,
            // The relay's own failure (out of descriptors or memory, no
            // permission): no news about the heartbeat. Its key keeps the
            // last value, which expires on its own if this never clears.
            Err(u) => {
                eprintln!(
                    "lifesign relay: {}: cannot tell: {}",
                    path.display(),
                    u.detail
                );
                return;
            }
        };
        let report = entry.report;
        let record = entry
            .record
            .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok());
        let now = Instant::now();
        if report.verdict == Verdict::Missing {
            if let Some(b) = self.beats.remove(path) {
                if let Some(task) = &b.pidfd {
                    task.abort();
                    self.pidfds -= 1;
                }
                if b.sent.is_some() {
                    self.delete(b.key).await;
                }
            }
            return;
        }
        let beat = self
            .beats
            .entry(path.to_path_buf())
            .or_insert_with(|| Beat {
                key: key::key(&self.me.host_id, &name),
                name,
                sent: None,
                pid_watched: None,
                pidfd: None,
            });
        let seen = (
            report.verdict,
            report.state,
            report.pid,
            report.seq,
            report.updated_at_ms,
            report.progress,
            report.message.clone(),
        );
        let due_refresh = beat.sent.as_ref().is_none_or(|s| now >= s.at + s.ttl / 2);
        let changed = beat.sent.as_ref().is_none_or(|s| s.seen != seen);
        if force || changed || due_refresh {
            let ttl = Duration::from_secs(value::ttl_s(&report));
            let v = Value::new(
                &self.me,
                &beat.name,
                &path.to_string_lossy(),
                &report,
                record,
                now_ms(),
            );
            beat.sent = Some(Sent { seen, at: now, ttl });
            let (key, ttl_s) = (beat.key.clone(), v.ttl_s);
            self.publish(path, &key, ttl_s, &v).await;
        }
        let beat = self.beats.get_mut(path).expect("inserted above");
        // The next timed look: the refresh, or the moment the file turns
        // stale, whichever comes first.
        let sent = beat.sent.as_ref().expect("published above");
        let mut due = sent.at + sent.ttl / 2;
        if matches!(report.verdict, Verdict::Alive | Verdict::Stalled) && report.max_age_ms > 0 {
            let stale_at = report.updated_at_ms.saturating_add(report.max_age_ms) + 1;
            due = due.min(now + Duration::from_millis(stale_at.saturating_sub(now_ms())));
        }
        self.timers.push(Reverse((due, path.to_path_buf())));
        // Hear the emitter's exit as it happens: a pidfd while fewer than
        // MAX_PIDFDS are held, and only for a PID of this host and PID
        // namespace; otherwise the next timed look sees it.
        let live = matches!(
            report.verdict,
            Verdict::Alive | Verdict::Stale | Verdict::Stalled | Verdict::Future
        );
        let pid = entry.local_pid.map(|(p, _)| p).filter(|_| live);
        if pid != beat.pid_watched {
            if let Some(task) = beat.pidfd.take() {
                task.abort();
                self.pidfds -= 1;
            }
            beat.pid_watched = None;
        }
        let Some(pid) = pid else {
            return;
        };
        if beat.pid_watched == Some(pid) || self.pidfds >= MAX_PIDFDS {
            return;
        }
        // Tried once per PID: a PID that cannot be opened is not retried.
        beat.pid_watched = Some(pid);
        match pidfd(pid) {
            Some(fd) => {
                let (tx, p) = (self.wake.clone(), path.to_path_buf());
                let task = tokio::spawn(async move {
                    let _ = fd.readable().await;
                    let _ = tx.send(Wake::Exited(p));
                });
                beat.pidfd = Some(task.abort_handle());
                self.pidfds += 1;
            }
            // Gone between the check and the open: one more look decides.
            None => self.timers.push(Reverse((now, path.to_path_buf()))),
        }
    }

    async fn publish(&mut self, path: &Path, key: &str, ttl_s: u64, v: &Value) {
        let payload = serde_json::to_vec(v).expect("a value always serialises");
        let mut headers = async_nats::HeaderMap::new();
        headers.insert("Nats-TTL", ttl_s.to_string().as_str());
        let subject = format!("{}{key}", self.subject_prefix);
        let tx = self.wake.clone();
        let p = path.to_path_buf();
        match self
            .js
            .publish_with_headers(subject, headers, payload.into())
            .await
        {
            Ok(ack) => {
                tokio::spawn(async move {
                    let _ = tx.send(match ack.await {
                        Ok(_) => Wake::Published,
                        Err(e) => Wake::Failed(p, e.to_string()),
                    });
                });
            }
            Err(e) => {
                let _ = tx.send(Wake::Failed(p, e.to_string()));
            }
        }
    }

    /// The file is gone: so is the key (a KV delete, read as `missing`).
    async fn delete(&mut self, key: String) {
        let (kv, stats) = (self.kv.clone(), self.stats.clone());
        tokio::spawn(async move {
            match kv.delete(&key).await {
                Ok(_) => stats.published(),
                Err(e) => {
                    stats.failed();
                    say(&format!("lifesign relay: cannot delete key {key}: {e}"));
                }
            }
        });
    }
}

/// A descriptor that becomes readable when process `pid` exits; `None`
/// when it is already gone or no descriptor can be had.
fn pidfd(pid: u32) -> Option<AsyncFd<OwnedFd>> {
    // SAFETY: pidfd_open takes a pid and flags and returns a new fd or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid as libc::pid_t, 0) };
    if fd < 0 {
        return None;
    }
    // SAFETY: a fresh descriptor that nothing else owns.
    let fd = unsafe { OwnedFd::from_raw_fd(fd as i32) };
    // SAFETY: owned by the AsyncFd, closed only when it is dropped.
    unsafe { AsyncFd::register_with_interest(fd, tokio::io::Interest::READABLE) }.ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_visible_json_files_are_heartbeats() {
        use std::os::unix::ffi::OsStrExt;
        let latin1 = OsStr::from_bytes(b"caf\xe9.json");
        assert!(is_heartbeat(latin1));
        assert_eq!(heartbeat_name(latin1), None);
        assert_eq!(heartbeat_name(OsStr::new("app.json")), Some("app"));
        assert_eq!(heartbeat_name(OsStr::new("a.b.json")), Some("a.b"));
        for n in [
            ".app.json",
            ".app.json.lifesign-1-2.tmp",
            "app.txt",
            ".json",
            "json",
        ] {
            assert_eq!(heartbeat_name(OsStr::new(n)), None, "{n}");
        }
    }
}
