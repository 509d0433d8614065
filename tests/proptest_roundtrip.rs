//! Property tests of the protocol and the verdict rules:
//!
//! - every heartbeat a writer can produce reads back identically (from bytes,
//!   from a real file, from a real emitter);
//! - a torn (truncated) heartbeat is never read as valid;
//! - no byte string, no JSON value and no record makes the decoder, the
//!   timestamp parser or the verdict rules panic;
//! - the verdict rules keep their order, and the process probe is only
//!   asked about writers on this host, in this PID namespace and boot.
//!
//! 256 cases per property by default; `LIFESIGN_STRESS=long` runs 20,000
//! (tests/reliability/run.sh). Failing inputs are shrunk and printed, not
//! saved into the source tree.

mod common;

use common::TempDir;
use lifesign::check::{verdict, CheckOptions, Facts, Read, Verdict};
use lifesign::process::{Identity, Liveness};
use lifesign::protocol::{
    decode, encode, parse_iso8601_ms, truncate_utf8, Record, Shape, State, MAX_FILE_BYTES, MAX_INT,
    MAX_MESSAGE_BYTES, MAX_PID,
};
use lifesign::write::AtomicFile;
use lifesign::{Emitter, Options};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::time::Duration;

fn cases(short: u32) -> u32 {
    if std::env::var("LIFESIGN_STRESS").as_deref() == Ok("long") {
        short.saturating_mul(80).min(20_000)
    } else {
        short
    }
}

fn config(short: u32) -> ProptestConfig {
    ProptestConfig {
        cases: cases(short),
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

// ---- strategies --------------------------------------------------------------

fn state() -> impl Strategy<Value = State> {
    prop::sample::select(State::ALL.to_vec())
}

/// Any text: any characters (controls, NUL, astral planes), sometimes long.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::collection::vec(any::<char>(), 0..64).prop_map(|v| v.into_iter().collect()),
        1 => (any::<char>(), 0..6000usize).prop_map(|(c, n)| c.to_string().repeat(n)),
    ]
}

fn short_text() -> impl Strategy<Value = String> {
    prop::collection::vec(any::<char>(), 0..24).prop_map(|v| v.into_iter().collect())
}

fn meta() -> impl Strategy<Value = BTreeMap<String, String>> {
    prop::collection::btree_map(short_text(), short_text(), 0..8)
}

fn nonzero() -> impl Strategy<Value = Option<u64>> {
    prop::option::of(1..=MAX_INT)
}

/// A record as a lifesign writer produces it (every field within its rules,
/// every integer within 0..=2^53-1).
fn written_record() -> impl Strategy<Value = Record> {
    let ids = (
        1..=MAX_PID as u32,
        state(),
        1..=MAX_INT,
        0..=MAX_INT,
        prop::option::of(0..=MAX_INT),
        nonzero(),
        nonzero(),
    );
    let rest = (
        prop::option::of(short_text()),
        prop::option::of(short_text()),
        prop::option::of(0..=MAX_INT),
        prop::option::of(0..=MAX_INT),
        prop::option::of(0..=MAX_INT),
        prop::option::of(0..=MAX_INT),
        prop::option::of(text()),
        meta(),
    );
    let clocks = prop::array::uniform6(prop::option::of(0..=MAX_INT));
    (ids, rest, clocks).prop_map(
        |(
            (pid, state, seq, updated_at_ms, started_at_ms, interval_ms, stale_after_ms),
            (host, boot_id, pid_ns, pid_start, progress, progress_at_ms, message, meta),
            [updated_mono_ms, time_ns, progress_mono_ms, reloads, lock_ino, lock_dev],
        )| Record {
            v: 1,
            pid,
            state: Some(state),
            seq,
            updated_at_ms,
            started_at_ms,
            interval_ms,
            stale_after_ms,
            host,
            boot_id,
            pid_ns,
            pid_start,
            lock_ino,
            lock_dev,
            progress,
            progress_at_ms,
            message,
            meta,
            shape: Shape::V1,
            updated_mono_ms,
            time_ns,
            progress_mono_ms,
            reloads,
        },
    )
}

/// What a record reads back as: the message is cut at 4 KiB by the writer.
fn as_read(mut r: Record) -> Record {
    r.message = r
        .message
        .map(|m| truncate_utf8(&m, MAX_MESSAGE_BYTES).to_owned());
    r
}

/// Any JSON value, nested a little.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        short_text().prop_map(Value::String),
        prop::sample::select(vec![
            "ready", "running", "stopped", "failed", "starting", "stopping", "idle"
        ])
        .prop_map(|s| Value::String(s.into())),
        prop::sample::select(vec![
            "2026-11-23T18:02:11.532+00:00",
            "1970-01-01T00:00:00Z",
            "2024-02-29T12:00:00-0230"
        ])
        .prop_map(|s| Value::String(s.into())),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(short_text(), inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// An object over the field names the decoder knows (and some it does not),
/// each with any JSON value.
fn json_object() -> impl Strategy<Value = Value> {
    let keys = vec![
        "v",
        "pid",
        "state",
        "seq",
        "updated_at_ms",
        "started_at_ms",
        "interval_ms",
        "stale_after_ms",
        "host",
        "boot_id",
        "pid_ns",
        "pid_start",
        "progress",
        "progress_at_ms",
        "message",
        "meta",
        "status",
        "updatedAtMs",
        "hostname",
        "timestamp",
        "metadata",
        "x",
    ];
    prop::collection::btree_map(prop::sample::select(keys), json_value(), 0..12).prop_map(|m| {
        Value::Object(
            m.into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect::<Map<_, _>>(),
        )
    })
}

/// What every successfully decoded record satisfies.
fn check_decoded(r: &Record) -> Result<(), TestCaseError> {
    prop_assert!(r.pid >= 1 && i64::from(r.pid) <= MAX_PID);
    prop_assert!(r.state.is_some());
    prop_assert!(r.interval_ms != Some(0) && r.stale_after_ms != Some(0));
    match r.shape {
        Shape::V1 => prop_assert!(r.v >= 1 && r.seq >= 1),
        Shape::None => prop_assert!(false, "a decoded record has a shape"),
        _ => prop_assert_eq!(r.v, 0),
    }
    Ok(())
}

// ---- round trips ---------------------------------------------------------------

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn every_record_a_writer_produces_reads_back_identically(r in written_record()) {
        let bytes = encode(&r);
        prop_assert!(bytes.len() as u64 <= MAX_FILE_BYTES, "{} bytes", bytes.len());
        let back = decode(&bytes).map_err(|e| TestCaseError::fail(e.0))?;
        prop_assert_eq!(back, as_read(r));
    }

    #[test]
    fn a_torn_heartbeat_is_never_read_as_valid(r in written_record(), cut in any::<prop::sample::Index>()) {
        let bytes = encode(&r);
        let k = cut.index(bytes.len());
        prop_assert!(decode(&bytes[..k]).is_err(), "a prefix of {} of {} bytes decoded", k, bytes.len());
    }

    #[test]
    fn no_byte_string_panics_the_decoder(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        if let Ok(r) = decode(&bytes) {
            check_decoded(&r)?;
        }
    }

    #[test]
    fn no_json_object_panics_the_decoder(v in json_object()) {
        let bytes = serde_json::to_vec(&v).unwrap();
        if let Ok(r) = decode(&bytes) {
            check_decoded(&r)?;
        }
    }

    #[test]
    fn a_flipped_byte_never_panics_and_a_decoded_result_is_well_formed(
        r in written_record(), at in any::<prop::sample::Index>(), with in any::<u8>()
    ) {
        let mut bytes = encode(&r);
        let i = at.index(bytes.len());
        bytes[i] = with;
        if let Ok(r) = decode(&bytes) {
            check_decoded(&r)?;
        }
    }

    #[test]
    fn no_string_panics_the_timestamp_parser(s in "\\PC{0,40}", t in "[0-9T:.Z+-]{0,40}") {
        let _ = parse_iso8601_ms(&s);
        let _ = parse_iso8601_ms(&t);
    }
}

/// Days from 1970-01-01, counted the slow way (an independent oracle).
fn days_since_epoch(y: i64, m: i64, d: i64) -> i64 {
    let leap = |y: i64| (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let month_days = |y: i64, m: i64| match m {
        2 if leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    };
    let mut days = 0;
    for year in 1970..y {
        days += if leap(year) { 366 } else { 365 };
    }
    for month in 1..m {
        days += month_days(y, month);
    }
    days + d - 1
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn every_iso8601_timestamp_with_an_offset_parses_to_its_instant(
        y in 1970i64..=9999, m in 1i64..=12, d in 1i64..=28, h in 0i64..=23, mi in 0i64..=59,
        s in 0i64..=59, frac in prop::option::of("[0-9]{1,9}"), oh in 0i64..=23, om in 0i64..=59,
        form in 0u8..4, negative in any::<bool>(),
    ) {
        let mut text = format!("{y:04}-{m:02}-{d:02}T{h:02}:{mi:02}:{s:02}");
        let mut millis = 0;
        if let Some(f) = &frac {
            text.push('.');
            text.push_str(f);
            let three = format!("{:0<3}", &f[..f.len().min(3)]);
            millis = three.parse::<i64>().unwrap();
        }
        let sign = if negative { -1 } else { 1 };
        let offset = match form {
            0 => { text.push('Z'); 0 }
            1 => { text.push_str(&format!("{}{oh:02}:{om:02}", if negative { '-' } else { '+' })); sign * (oh * 3600 + om * 60) }
            2 => { text.push_str(&format!("{}{oh:02}{om:02}", if negative { '-' } else { '+' })); sign * (oh * 3600 + om * 60) }
            _ => { text.push_str("+00:00"); 0 }
        };
        let secs = days_since_epoch(y, m, d) * 86_400 + h * 3600 + mi * 60 + s - offset;
        let want = u64::try_from(secs * 1000 + millis).ok();
        prop_assert_eq!(parse_iso8601_ms(&text), want, "{}", text);
    }
}

// ---- through real files and a real emitter ---------------------------------------

proptest! {
    #![proptest_config(config(64))]

    #[test]
    fn every_record_written_to_a_real_file_reads_back_identically(r in written_record()) {
        let dir = TempDir::in_ram("prop-file");
        let path = dir.path("hb.json");
        AtomicFile::new(&path, 0o644, false).unwrap().write(&encode(&r)).unwrap();
        match lifesign::check::read_path(&path) {
            Read::Record(back) => prop_assert_eq!(back, as_read(r)),
            other => prop_assert!(false, "{:?}", other),
        }
    }
}

proptest! {
    #![proptest_config(config(32))]

    #[test]
    fn what_an_emitter_is_told_is_what_a_checker_reads(
        steps in prop::collection::vec((prop::sample::select(vec![State::Starting, State::Ready, State::Stopping, State::Failed]), prop::option::of(text())), 1..6),
        pairs in meta(),
        progress in 0u32..50,
    ) {
        let dir = TempDir::in_ram("prop-emitter");
        let path = dir.path("hb.json");
        let e = Emitter::start_with(&path, {
            let mut o = Options::default();
            o.interval = Duration::from_secs(3600);
            o.log_errors = false;
            o
        }).unwrap();
        let mut message: Option<String> = None;
        for (s, m) in &steps {
            e.set_state(*s, m.as_deref()).unwrap();
            if let Some(m) = m {
                message = (!m.is_empty()).then(|| truncate_utf8(m, MAX_MESSAGE_BYTES).to_owned());
            }
        }
        for (k, v) in &pairs {
            e.set_meta(k, Some(v)).unwrap();
        }
        for _ in 0..progress {
            e.progress().unwrap();
        }
        e.beat().unwrap();
        let r = match lifesign::check::read_path(&path) {
            Read::Record(r) => r,
            other => return Err(TestCaseError::fail(format!("{other:?}"))),
        };
        prop_assert_eq!(r.state, Some(steps.last().unwrap().0));
        prop_assert_eq!(&r.message, &message);
        prop_assert_eq!(&r.meta, &pairs);
        // Progress fields appear once progress() has been counted.
        prop_assert_eq!(r.progress, (progress > 0).then_some(u64::from(progress)));
        prop_assert_eq!(r.seq, steps.len() as u64 + 2);
        prop_assert_eq!(r.pid, std::process::id());
        e.stop().unwrap();
    }
}

// ---- the verdict rules ---------------------------------------------------------------

fn small_choice() -> impl Strategy<Value = Option<String>> {
    prop::option::of(prop::sample::select(vec!["a".to_string(), "b".to_string()]))
}

fn identity() -> impl Strategy<Value = Identity> {
    (small_choice(), small_choice(), prop::option::of(0u64..2)).prop_map(
        |(host, boot_id, pid_ns)| Identity {
            host,
            boot_id,
            pid_ns,
            ..Identity::default()
        },
    )
}

/// Records of any shape the decoder can give, with fields drawn from small
/// sets so that hosts, boots and namespaces often match the checker's.
fn any_record() -> impl Strategy<Value = Record> {
    (
        written_record(),
        small_choice(),
        small_choice(),
        prop::option::of(0u64..2),
        prop::sample::select(vec![
            Shape::V1,
            Shape::Plain,
            Shape::Timestamp,
            Shape::Camel,
        ]),
        prop::option::of(prop_oneof![Just(0u64), Just(u64::MAX), 0u64..10_000]),
    )
        .prop_map(|(mut r, host, boot_id, pid_ns, shape, progress_at)| {
            r.host = host;
            r.boot_id = boot_id;
            r.pid_ns = pid_ns;
            r.shape = shape;
            r.progress_at_ms = progress_at;
            r
        })
}

fn options() -> impl Strategy<Value = CheckOptions> {
    (
        prop::option::of(prop_oneof![Just(0u64), Just(u64::MAX), any::<u64>()]),
        prop::option::of(1..=MAX_PID as u32),
        prop::option::of(prop_oneof![Just(0u64), Just(u64::MAX), any::<u64>()]),
        prop::option::of(prop_oneof![Just(0u64), Just(u64::MAX), any::<u64>()]),
        any::<bool>(),
    )
        .prop_map(
            |(max_age_ms, expected_pid, stall_ms, skew_ms, ignore_clock)| {
                let mut o = CheckOptions::default();
                o.max_age = max_age_ms.map(Duration::from_millis);
                o.expected_pid = expected_pid;
                o.stall = stall_ms.map(Duration::from_millis);
                o.skew = skew_ms.map(Duration::from_millis);
                o.ignore_clock = ignore_clock;
                o
            },
        )
}

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn the_verdict_rules_keep_their_order_and_probe_only_local_writers(
        r in any_record(), id in identity(), now in prop_oneof![Just(0u64), Just(u64::MAX), any::<u64>()],
        opts in options(), gone in any::<bool>(),
    ) {
        let mut probed = None;
        let rep = verdict(
            &Read::Record(r.clone()),
            Facts { now_ms: now, mono_ms: None, identity: &id },
            &opts,
            |pid, start| {
                probed = Some((pid, start));
                if gone { Liveness::Gone } else { Liveness::Running }
            },
        );
        let same = |theirs: &Option<String>, ours: &Option<String>| theirs.is_none() || theirs == ours;
        let local = same(&r.host, &id.host) && (r.pid_ns.is_none() || r.pid_ns == id.pid_ns);
        let other_boot = matches!((&r.boot_id, &id.boot_id), (Some(t), Some(o)) if t != o);
        if let Some((pid, start)) = probed {
            prop_assert!(local && !other_boot, "probed a foreign or earlier-boot writer");
            prop_assert!(pid >= 1 && i64::from(pid) <= MAX_PID);
            prop_assert_eq!((pid, start), (r.pid, r.pid_start));
        }
        let expected = if opts.expected_pid.is_some_and(|p| p != r.pid) {
            Some(Verdict::PidMismatch)
        } else if r.state == Some(State::Stopped) {
            Some(Verdict::Stopped)
        } else if r.state == Some(State::Failed) {
            Some(Verdict::Failed)
        } else if local && (other_boot || gone) {
            Some(Verdict::ProcessGone)
        } else {
            None
        };
        match expected {
            Some(v) => prop_assert_eq!(rep.verdict, v),
            None => {
                prop_assert!(!matches!(rep.verdict, Verdict::PidMismatch | Verdict::Stopped | Verdict::Failed | Verdict::ProcessGone | Verdict::Missing | Verdict::Invalid));
                if opts.ignore_clock {
                    prop_assert_eq!(rep.verdict, Verdict::Alive);
                }
                if rep.verdict == Verdict::Alive && !opts.ignore_clock {
                    let skew = opts.skew.map_or(2000, |d| d.as_millis() as u64);
                    prop_assert!(r.updated_at_ms <= now.saturating_add(skew), "a future file was alive");
                    prop_assert!(rep.age_ms <= rep.max_age_ms, "a stale file was alive");
                }
            }
        }
        prop_assert_eq!((rep.pid, rep.seq, rep.state), (r.pid, r.seq, r.state));
    }
}

// ---- a known gap, kept as a ready regression test ------------------------------------

/// `set_meta` is refused once an entry would take the file over the
/// 65,536-byte limit, so an emitter never writes a heartbeat that every
/// checker calls invalid while it reports success.
#[test]
fn a_writer_never_produces_a_heartbeat_its_checker_refuses() {
    let dir = TempDir::in_ram("prop-oversize");
    let path = dir.path("hb.json");
    let e = Emitter::start(&path, Duration::from_secs(3600)).unwrap();
    let value = "v".repeat(1000);
    let mut refused = false;
    for i in 0..80 {
        if e.set_meta(&format!("key{i}"), Some(&value)).is_err() {
            refused = true;
            break;
        }
    }
    let wrote = e.beat().is_ok();
    let verdict = lifesign::check(&path, &lifesign::CheckOptions::default()).verdict;
    e.stop().ok();
    assert!(
        refused || !wrote || verdict == Verdict::Alive,
        "the write succeeded but the checker says {verdict:?}"
    );
}
