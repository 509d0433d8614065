//! Reading the fleet: `check`, `wait`, `watch` and `scan` of `nats://`
//! targets, with the reports and exit codes of local files.
//!
//! A remote verdict (PROTOCOL.md, "Fleet"): the origin relay's verdict as
//! published, since only it can probe the process; a key the relay deleted
//! is `missing` (its file is gone); a key the server expired is `stale`
//! (no relay refreshed it within its time limit). Freshness is decided by
//! the server's clock alone, through the time limit: a reader never
//! compares another host's timestamps with its own clock, so clock skew
//! between hosts cannot make a heartbeat look fresh or stale.

use super::value::Value;
use super::{
    bounded, cancelled, connect, jetstream, key, runtime, watch_cancel, Borrowed, Error, Url,
    LOST_AFTER, REQUEST_TIMEOUT,
};
use async_nats::jetstream::{kv, Context};
use futures_util::StreamExt;
use lifesign::{Report, Shape, State, Verdict};
use std::time::Duration;
use tokio::io::unix::AsyncFd;
use tokio::sync::mpsc;

type Cancel<'a> = Option<&'a AsyncFd<Borrowed>>;

/// How soon a follow that could not resume after a reconnect tries again.
const RESUME_RETRY: Duration = Duration::from_millis(250);

/// The `detail` of a key its relay deleted.
pub const DELETED: &str = "the relay removed the key: the heartbeat file is gone";
/// The `detail` of a key the server expired.
pub const EXPIRED: &str = "expired on the server: no relay refreshed the key within its time \
                           limit (the relay, its host or the network is down)";

fn empty(verdict: Verdict, detail: String) -> Report {
    Report::empty(verdict, detail)
}

/// The `detail` of a value whose message has no time limit of its own.
pub const UNLIMITED: &str = "the value has no time limit (Nats-TTL equal to its ttl_s): no \
                             relay wrote it, and it would read the same for ever";

/// The report for what the bucket holds under a key (`None`: nothing);
/// `ttl` is the `Nats-TTL` header of a value's message.
pub fn report_of(
    entry: Option<&kv::Entry>,
    ttl: Option<&str>,
    expected_pid: Option<u32>,
) -> Report {
    let Some(e) = entry else {
        return empty(Verdict::Missing, "no such key in the bucket".into());
    };
    let mut r = match e.operation {
        kv::Operation::Delete => return empty(Verdict::Missing, DELETED.into()),
        kv::Operation::Purge => return empty(Verdict::Stale, EXPIRED.into()),
        kv::Operation::Put => match Value::decode(&e.value) {
            Ok(v) if !limited(ttl, v.ttl_s) => return empty(Verdict::Invalid, UNLIMITED.into()),
            Ok(v) => match v.to_report() {
                Ok(r) => r,
                Err(why) => return empty(Verdict::Invalid, why),
            },
            Err(why) => return empty(Verdict::Invalid, why),
        },
    };
    if let Some(want) = expected_pid {
        let checked = !matches!(r.verdict, Verdict::Missing | Verdict::Invalid);
        if checked && r.shape != Shape::None && r.pid != want {
            r.verdict = Verdict::PidMismatch;
            r.detail = format!("written by pid {}, expected {want}", r.pid);
        }
    }
    r
}

/// Whether a `Nats-TTL` header is the time limit a value says it has:
/// whole seconds (`3` or `3s`), the value's `ttl_s`.
fn limited(ttl: Option<&str>, ttl_s: u64) -> bool {
    ttl.map(|t| t.trim().trim_end_matches('s'))
        .and_then(|t| t.parse::<u64>().ok())
        == Some(ttl_s)
}

/// The `Nats-TTL` of the message behind a value (`None` for markers,
/// which carry no value to trust). A message replaced since the entry was
/// read is judged by its successor, when that is read.
async fn ttl_of(store: &kv::Store, e: Option<&kv::Entry>) -> Result<Option<String>, Error> {
    let Some(e) = e.filter(|e| e.operation == kv::Operation::Put) else {
        return Ok(None);
    };
    match store.stream.get_raw_message(e.revision).await {
        Ok(m) => Ok(m
            .headers
            .get(async_nats::header::NATS_MESSAGE_TTL)
            .map(|v| v.as_str().to_string())),
        Err(err)
            if err.kind() == async_nats::jetstream::stream::RawMessageErrorKind::NoMessageFound =>
        {
            // Replaced meanwhile: the new one is the one that counts, and
            // this one said what it said with the limit the relay gives.
            Ok(Some(
                Value::decode(&e.value).map_or(0, |v| v.ttl_s).to_string(),
            ))
        }
        Err(err) => Err(Error(format!("cannot read {}: {err}", e.key))),
    }
}

/// The report of an entry, with the time limit of its message looked up.
async fn judged(
    store: &kv::Store,
    e: Option<&kv::Entry>,
    expected_pid: Option<u32>,
) -> Result<Report, Error> {
    let ttl = ttl_of(store, e).await?;
    Ok(report_of(e, ttl.as_deref(), expected_pid))
}

/// The bucket, every step bounded ([`super::CONNECT_TIMEOUT`],
/// [`REQUEST_TIMEOUT`]) and ended by `cancel`; `events` sees connection
/// changes.
async fn open(
    url: &Url,
    cancel: Cancel<'_>,
    events: Option<mpsc::UnboundedSender<async_nats::Event>>,
) -> Result<(Context, kv::Store), Error> {
    let client = connect(
        std::slice::from_ref(&url.server),
        &url.auth(),
        "lifesign",
        events,
        cancel,
        |o| o,
    )
    .await?;
    let js = jetstream(client);
    let store = bounded(
        cancel,
        REQUEST_TIMEOUT,
        || lookup_failed(url, "no answer"),
        async {
            js.get_key_value(&url.bucket)
                .await
                .map_err(|e| Error(lookup_failed(url, &e.to_string())))
        },
    )
    .await?;
    Ok((js, store))
}

fn lookup_failed(url: &Url, why: &str) -> String {
    format!("no bucket {:?} at {}: {why}", url.bucket, url.shown())
}

fn the_key(url: &Url) -> &str {
    url.key.as_deref().expect("a key URL")
}

async fn entry(
    store: &kv::Store,
    url: &Url,
    cancel: Cancel<'_>,
) -> Result<Option<kv::Entry>, Error> {
    let cannot = || format!("cannot read {}", url.shown());
    bounded(cancel, REQUEST_TIMEOUT, cannot, async {
        store
            .entry(the_key(url))
            .await
            .map_err(|e| Error(format!("{}: {e}", cannot())))
    })
    .await
}

/// A key followed: its entry now, then each newer one; across a lost
/// server, for [`LOST_AFTER`] at most.
struct Follow {
    js: Context,
    store: kv::Store,
    updates: Option<kv::Watch>,
    revision: u64,
    events: mpsc::UnboundedReceiver<async_nats::Event>,
    /// Since when the server is lost (disconnected, or the watch broke and
    /// could not be resumed).
    lost_since: Option<tokio::time::Instant>,
    /// When to try resuming again.
    resume_at: Option<tokio::time::Instant>,
}

impl Follow {
    /// Starts the key watch, then reads the current entry: nothing written
    /// in between is missed, and [`Follow::next`] skips what was read.
    async fn start(url: &Url, cancel: Cancel<'_>) -> Result<(Follow, Option<kv::Entry>), Error> {
        let (tx, events) = mpsc::unbounded_channel();
        let (js, store) = open(url, cancel, Some(tx)).await?;
        let updates = watch_key(&store, url, cancel).await?;
        let first = entry(&store, url, cancel).await?;
        let revision = first.as_ref().map_or(0, |e| e.revision);
        let follow = Follow {
            js,
            store,
            updates: Some(updates),
            revision,
            events,
            lost_since: None,
            resume_at: None,
        };
        Ok((follow, first))
    }

    /// The next entry newer than the last one seen (`None`: the key has no
    /// entry, as after a server restarted without its store). A server
    /// lost for [`LOST_AFTER`] is an error: the reader cannot tell.
    async fn next(&mut self, url: &Url, cancel: Cancel<'_>) -> Result<Option<kv::Entry>, Error> {
        loop {
            let give_up = self.lost_since.map(|t| t + LOST_AFTER);
            tokio::select! {
                got = next_update(self.updates.as_mut()) => match got {
                    Some(Ok(e)) if e.revision > self.revision => {
                        self.revision = e.revision;
                        return Ok(Some(e));
                    }
                    Some(Ok(_)) => {}
                    // The watch broke: resume it (now, or when the server is back).
                    Some(Err(_)) | None => {
                        self.updates = None;
                        self.lost();
                        self.resume_at = Some(tokio::time::Instant::now());
                    }
                },
                Some(ev) = self.events.recv() => match ev {
                    async_nats::Event::Disconnected => self.lost(),
                    async_nats::Event::Connected => {
                        self.resume_at = Some(tokio::time::Instant::now());
                    }
                    _ => {}
                },
                _ = sleep_until(self.resume_at) => {
                    self.resume_at = None;
                    if let Some(now) = self.resume(url, cancel).await? {
                        return Ok(now);
                    }
                }
                _ = sleep_until(give_up) => {
                    return Err(Error(format!(
                        "lost the server of {} for {} s: cannot tell",
                        url.shown(),
                        LOST_AFTER.as_secs()
                    )))
                }
            }
        }
    }

    fn lost(&mut self) {
        self.lost_since
            .get_or_insert_with(tokio::time::Instant::now);
    }

    /// After a reconnect or a broken watch: a new watch, then the current
    /// entry, which is returned (`Some`) when it is not the last one seen.
    /// A server that cannot answer yet is tried again soon.
    async fn resume(
        &mut self,
        url: &Url,
        cancel: Cancel<'_>,
    ) -> Result<Option<Option<kv::Entry>>, Error> {
        let resumed = async {
            // The bucket may be gone (a server restarted without its store)
            // and come back: look it up again.
            let store = self
                .js
                .get_key_value(&url.bucket)
                .await
                .map_err(|e| Error(e.to_string()))?;
            let updates = watch_key(&store, url, None).await?;
            let now = entry(&store, url, None).await?;
            Ok::<_, Error>((store, updates, now))
        };
        match bounded(cancel, REQUEST_TIMEOUT, String::new, resumed).await {
            Ok((store, updates, now)) => {
                self.store = store;
                self.updates = Some(updates);
                self.lost_since = None;
                let rev = now.as_ref().map_or(0, |e| e.revision);
                // A restarted server numbers revisions again from 1.
                let changed = rev != self.revision;
                self.revision = rev;
                Ok(changed.then_some(now))
            }
            Err(e) if e.is_interrupted() => Err(e),
            Err(_) => {
                self.lost();
                self.resume_at = Some(tokio::time::Instant::now() + RESUME_RETRY);
                Ok(None)
            }
        }
    }
}

async fn watch_key(store: &kv::Store, url: &Url, cancel: Cancel<'_>) -> Result<kv::Watch, Error> {
    let cannot = || format!("cannot watch {}", url.shown());
    bounded(cancel, REQUEST_TIMEOUT, cannot, async {
        store
            .watch(the_key(url))
            .await
            .map_err(|e| Error(format!("{}: {e}", cannot())))
    })
    .await
}

async fn next_update(w: Option<&mut kv::Watch>) -> Option<Result<kv::Entry, kv::WatcherError>> {
    match w {
        Some(w) => w.next().await,
        None => std::future::pending().await,
    }
}

/// `lifesign check nats://HOST:PORT/BUCKET/KEY`.
pub fn check(
    url: &Url,
    expected_pid: Option<u32>,
    cancel: Option<&lifesign::Cancel>,
) -> Result<Report, Error> {
    runtime()?.block_on(async {
        let cancel = watch_cancel(cancel)?;
        let (_, store) = open(url, cancel.as_ref(), None).await?;
        let e = entry(&store, url, cancel.as_ref()).await?;
        judged(&store, e.as_ref(), expected_pid).await
    })
}

/// What `wait` looks for on a remote key.
#[derive(Clone, Copy, Debug, Default)]
pub struct WaitOptions {
    /// A record of another PID ends the wait with `pid_mismatch`.
    pub expected_pid: Option<u32>,
    /// Give up (verdict `stale`) when no new `seq` arrives for this long.
    pub idle_timeout: Option<Duration>,
    /// Give up (exit 124) after this long, whatever happens.
    pub timeout: Option<Duration>,
}

/// How a remote wait ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WaitEnd {
    /// A decision: ready (alive + ready) or never will be; the report says.
    Decided(Report),
    /// The hard timeout passed; the last report seen.
    TimedOut(Report),
    /// The cancel descriptor became readable; the last report seen.
    Cancelled(Report),
}

/// The exit code of a wait's end: 0 ready, 1 never, 124 timeout, 130
/// interrupted (the codes of a local wait).
pub fn wait_exit_code(end: &WaitEnd) -> u8 {
    match end {
        WaitEnd::Decided(r) if r.verdict == Verdict::Alive && r.state == Some(State::Ready) => 0,
        WaitEnd::Decided(_) => 1,
        WaitEnd::TimedOut(_) => 124,
        WaitEnd::Cancelled(_) => 130,
    }
}

/// Whether a report ends a wait, as for a local file: ready ends it;
/// `starting`, a missing or expired key before the first record, and a
/// key whose relay reports `stale` (the emitter may resume) keep waiting;
/// every other verdict means it never will be ready.
fn decides(r: &Report, seen_valid: bool) -> bool {
    match r.verdict {
        Verdict::Alive => r.state == Some(State::Ready),
        Verdict::Stale | Verdict::Stalled | Verdict::Future => false,
        Verdict::Missing | Verdict::PidMismatch => seen_valid,
        _ => true,
    }
}

async fn sleep_until(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// `lifesign wait nats://HOST:PORT/BUCKET/KEY`: event-driven on a key
/// watch. `observe` sees every report.
pub fn wait(
    url: &Url,
    opts: &WaitOptions,
    cancel: Option<&lifesign::Cancel>,
    mut observe: impl FnMut(&Report),
) -> Result<WaitEnd, Error> {
    runtime()?.block_on(async {
        let start = tokio::time::Instant::now();
        let hard = opts.timeout.map(|t| start + t);
        let mut idle = opts.idle_timeout.map(|t| start + t);
        let cancel = watch_cancel(cancel)?;
        let (mut key, first) = Follow::start(url, cancel.as_ref()).await?;
        let mut last = judged(&key.store, first.as_ref(), opts.expected_pid).await?;
        let mut seen_valid = false;
        let mut last_seq = None;
        loop {
            observe(&last);
            if last.shape != Shape::None {
                seen_valid = true;
                if last_seq != Some(last.seq) {
                    last_seq = Some(last.seq);
                    idle = opts.idle_timeout.map(|t| tokio::time::Instant::now() + t);
                }
            }
            if decides(&last, seen_valid) {
                return Ok(WaitEnd::Decided(last));
            }
            tokio::select! {
                e = key.next(url, cancel.as_ref()) => match e {
                    Ok(e) => last = judged(&key.store, e.as_ref(), opts.expected_pid).await?,
                    Err(e) if e.is_interrupted() => return Ok(WaitEnd::Cancelled(last)),
                    Err(e) => return Err(e),
                },
                _ = sleep_until(idle) => {
                    let mut r = last;
                    r.verdict = Verdict::Stale;
                    r.detail = format!(
                        "no new heartbeat for {} ms (idle timeout)",
                        opts.idle_timeout.unwrap_or_default().as_millis()
                    );
                    return Ok(WaitEnd::Decided(r));
                }
                _ = sleep_until(hard) => return Ok(WaitEnd::TimedOut(last)),
                _ = cancelled(cancel.as_ref()) => return Ok(WaitEnd::Cancelled(last)),
            }
        }
    })
}

/// `lifesign watch nats://HOST:PORT/BUCKET/KEY`: calls `on_change` with
/// the current report and then with each report whose verdict, state or
/// message differs from the one before, until it returns `false` or
/// `cancel` is triggered.
pub fn watch(
    url: &Url,
    cancel: Option<&lifesign::Cancel>,
    mut on_change: impl FnMut(&Report) -> bool,
) -> Result<(), Error> {
    runtime()?.block_on(async {
        let cancel = watch_cancel(cancel)?;
        let (mut key, first) = Follow::start(url, cancel.as_ref()).await?;
        let mut last = judged(&key.store, first.as_ref(), None).await?;
        if !on_change(&last) {
            return Ok(());
        }
        loop {
            tokio::select! {
                e = key.next(url, cancel.as_ref()) => {
                    let e = match e {
                        Err(e) if e.is_interrupted() => return Ok(()),
                        e => e?,
                    };
                    let r = judged(&key.store, e.as_ref(), None).await?;
                    let differs = (r.verdict, r.state, &r.message) != (last.verdict, last.state, &last.message);
                    last = r;
                    if differs && !on_change(&last) {
                        return Ok(());
                    }
                }
                _ = cancelled(cancel.as_ref()) => return Ok(()),
            }
        }
    })
}

/// One row of a fleet scan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    /// The key.
    pub key: String,
    /// The host id and file name it stands for.
    pub host_id: String,
    /// The file name without `.json`.
    pub name: String,
    /// Its remote report.
    pub report: Report,
}

/// `lifesign scan nats://HOST:PORT/BUCKET`: every key of the bucket with
/// its report, in key order; expired keys included (`stale`), deleted keys
/// left out (their files are gone, as a local scan lists no removed file).
pub fn scan(url: &Url, cancel: Option<&lifesign::Cancel>) -> Result<Vec<Row>, Error> {
    runtime()?.block_on(async {
        let cancel = watch_cancel(cancel)?;
        let (_, store) = open(url, cancel.as_ref(), None).await?;
        tokio::select! {
            rows = scan_store(url, &store) => rows,
            _ = cancelled(cancel.as_ref()) => Err(Error::interrupted()),
        }
    })
}

async fn scan_store(url: &Url, store: &kv::Store) -> Result<Vec<Row>, Error> {
    {
        let listing =
            |e: &dyn std::fmt::Display| Error(format!("cannot list {}: {e}", url.shown()));
        // Every key with a message (values and markers alike), from the
        // stream's subject index, then each key's last message.
        let mut subjects = store
            .stream
            .info_with_subjects(format!("{}>", store.prefix))
            .await
            .map_err(|e| listing(&e))?;
        let mut keys = Vec::new();
        while let Some(got) = subjects.next().await {
            let (subject, _) = got.map_err(|e| listing(&e))?;
            if let Some(k) = subject.strip_prefix(&store.prefix) {
                keys.push(k.to_string());
            }
        }
        let entries: Vec<_> = futures_util::stream::iter(keys)
            .map(|k| {
                let store = store.clone();
                async move {
                    let got = match store.entry(k.clone()).await {
                        Ok(e) => match ttl_of(&store, e.as_ref()).await {
                            Ok(ttl) => Ok((e, ttl)),
                            Err(err) => Err(err.0),
                        },
                        Err(err) => Err(err.to_string()),
                    };
                    (got, k)
                }
            })
            .buffer_unordered(64)
            .collect()
            .await;
        let mut rows = Vec::with_capacity(entries.len());
        for (got, k) in entries {
            let (e, ttl) = got.map_err(|e| listing(&e))?;
            if e.as_ref()
                .is_none_or(|e| e.operation == kv::Operation::Delete)
            {
                continue;
            }
            let (host_id, name) = key::split(&k).unwrap_or_else(|| (String::new(), k.clone()));
            rows.push(Row {
                report: report_of(e.as_ref(), ttl.as_deref(), None),
                key: k,
                host_id,
                name,
            });
        }
        rows.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(verdict: Verdict, state: Option<State>) -> Report {
        Report {
            state,
            shape: Shape::V1,
            pid: 5,
            ..empty(verdict, String::new())
        }
    }

    #[test]
    fn only_ready_or_a_dead_end_decides_a_wait() {
        assert!(decides(&report(Verdict::Alive, Some(State::Ready)), true));
        assert!(!decides(
            &report(Verdict::Alive, Some(State::Starting)),
            true
        ));
        assert!(!decides(&empty(Verdict::Missing, String::new()), false));
        assert!(decides(&empty(Verdict::Missing, String::new()), true));
        assert!(!decides(&empty(Verdict::Stale, EXPIRED.into()), true));
        for v in [
            Verdict::ProcessGone,
            Verdict::Stopped,
            Verdict::Failed,
            Verdict::Invalid,
        ] {
            assert!(decides(&report(v, None), false), "{v}");
        }
    }

    #[test]
    fn exit_codes_match_a_local_wait() {
        let ready = report(Verdict::Alive, Some(State::Ready));
        assert_eq!(wait_exit_code(&WaitEnd::Decided(ready.clone())), 0);
        assert_eq!(
            wait_exit_code(&WaitEnd::Decided(report(Verdict::ProcessGone, None))),
            1
        );
        assert_eq!(wait_exit_code(&WaitEnd::TimedOut(ready.clone())), 124);
        assert_eq!(wait_exit_code(&WaitEnd::Cancelled(ready)), 130);
    }

    #[test]
    fn a_missing_key_is_missing() {
        assert_eq!(report_of(None, None, None).verdict, Verdict::Missing);
    }

    #[test]
    fn only_a_value_with_its_own_time_limit_is_trusted() {
        assert!(limited(Some("3"), 3));
        assert!(limited(Some("3s"), 3));
        for ttl in [None, Some("never"), Some("4"), Some(""), Some("-1")] {
            assert!(!limited(ttl, 3), "{ttl:?}");
        }
    }
}
