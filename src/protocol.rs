//! The heartbeat record: its fields, limits, encoding and strict decoding.
//!
//! This module is pure: bytes in, a [`Record`] or a [`DecodeError`] out. It
//! knows protocol v1 and the compatible shapes that other tools already
//! write (see docs/PROTOCOL.md, "Compatibility").

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::{Map, Number, Value};
use std::collections::BTreeMap;
use std::fmt;

/// The protocol version this library writes.
pub const PROTOCOL_VERSION: u64 = 1;
/// A heartbeat file larger than this is invalid (decided without reading it all).
pub const MAX_FILE_BYTES: u64 = 65_536;
/// The longest `message` a writer records, in bytes (cut at a UTF-8 boundary).
pub const MAX_MESSAGE_BYTES: usize = 4096;
/// The largest valid PID.
pub const MAX_PID: i64 = 2_147_483_647;
/// The largest value of every integer field: 2^53 − 1, the I-JSON (RFC 7493)
/// bound, so that readers whose JSON numbers are doubles read every valid
/// file exactly.
pub const MAX_INT: u64 = (1 << 53) - 1;
/// The deepest nesting a valid file may have; the top-level object is level 1.
pub const MAX_DEPTH: u32 = 128;

/// The state an emitter reports, and which layout a record was read from
/// (declared with the other C ABI codes).
pub use crate::codes::{Shape, State};

impl State {
    /// Parses a wire name; `"running"` is read as `ready`.
    pub fn from_wire(s: &str) -> Option<State> {
        Some(match s {
            "starting" => State::Starting,
            "ready" | "running" => State::Ready,
            "stopping" => State::Stopping,
            "stopped" => State::Stopped,
            "failed" => State::Failed,
            _ => return None,
        })
    }
}

/// One heartbeat, as written or as read.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Record {
    /// Protocol version (`v`); 0 for the compatible shapes, which have none.
    pub v: u64,
    /// The emitter's PID.
    pub pid: u32,
    /// The reported state.
    pub state: Option<State>,
    /// Write counter: 1 on the first write, +1 on every write (0 where the shape has none).
    pub seq: u64,
    /// Unix wall-clock milliseconds of this write.
    pub updated_at_ms: u64,
    /// `CLOCK_MONOTONIC` milliseconds of this write (see `crate::clock`).
    pub updated_mono_ms: Option<u64>,
    /// When the emitter started.
    pub started_at_ms: Option<u64>,
    /// The emitter's refresh interval.
    pub interval_ms: Option<u64>,
    /// The age after which the emitter promises the file is stale.
    pub stale_after_ms: Option<u64>,
    /// Hostname of the writer.
    pub host: Option<String>,
    /// Linux boot id of the writer's boot.
    pub boot_id: Option<String>,
    /// Inode of the writer's PID namespace.
    pub pid_ns: Option<u64>,
    /// Inode of the writer's time namespace (whose clock `updated_mono_ms` reads).
    pub time_ns: Option<u64>,
    /// Start time of the writer (field 22 of `/proc/<pid>/stat`).
    pub pid_start: Option<u64>,
    /// Inode of the lock file the writer holds its lifetime lock on
    /// (docs/PROTOCOL.md, section 10).
    pub lock_ino: Option<u64>,
    /// Device number (`st_dev`) of that lock file, so that a checker can
    /// prove it looked at the very file the writer locked (section 10).
    pub lock_dev: Option<u64>,
    /// Work-progress counter.
    pub progress: Option<u64>,
    /// When the progress counter last changed.
    pub progress_at_ms: Option<u64>,
    /// The same moment on `CLOCK_MONOTONIC`.
    pub progress_mono_ms: Option<u64>,
    /// How many reloads the emitter has announced; with state `starting`,
    /// one is under way.
    pub reloads: Option<u64>,
    /// Human status text.
    pub message: Option<String>,
    /// Free-form string pairs.
    pub meta: BTreeMap<String, String>,
    /// The layout the record was read from.
    pub shape: Shape,
}

/// Why bytes are not a valid heartbeat.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodeError(pub String);

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for DecodeError {}

fn bad<T>(msg: impl Into<String>) -> Result<T, DecodeError> {
    Err(DecodeError(msg.into()))
}

/// Cuts `s` to at most `max` bytes at a UTF-8 character boundary.
pub fn truncate_utf8(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// Encodes a record as protocol v1 JSON (one line, no trailing newline).
pub fn encode(r: &Record) -> Vec<u8> {
    let mut m = Map::new();
    m.insert("v".into(), Value::from(PROTOCOL_VERSION));
    m.insert("pid".into(), Value::from(r.pid));
    m.insert(
        "state".into(),
        Value::from(r.state.unwrap_or(State::Starting).as_str()),
    );
    m.insert("seq".into(), Value::from(r.seq.min(MAX_INT)));
    m.insert(
        "updated_at_ms".into(),
        Value::from(r.updated_at_ms.min(MAX_INT)),
    );
    // Every integer is kept within MAX_INT, so that what is written is valid.
    let opt = |m: &mut Map<String, Value>, k: &str, v: Option<u64>| {
        if let Some(v) = v {
            m.insert(k.into(), Value::from(v.min(MAX_INT)));
        }
    };
    opt(&mut m, "updated_mono_ms", r.updated_mono_ms);
    opt(&mut m, "started_at_ms", r.started_at_ms);
    opt(&mut m, "interval_ms", r.interval_ms);
    opt(&mut m, "stale_after_ms", r.stale_after_ms);
    if let Some(h) = &r.host {
        m.insert("host".into(), Value::from(h.as_str()));
    }
    if let Some(b) = &r.boot_id {
        m.insert("boot_id".into(), Value::from(b.as_str()));
    }
    opt(&mut m, "pid_ns", r.pid_ns);
    opt(&mut m, "time_ns", r.time_ns);
    opt(&mut m, "pid_start", r.pid_start);
    opt(&mut m, "lock_ino", r.lock_ino);
    opt(&mut m, "lock_dev", r.lock_dev);
    // The counter wraps rather than saturates, so that it keeps moving.
    opt(&mut m, "progress", r.progress.map(|p| p & MAX_INT));
    opt(&mut m, "progress_at_ms", r.progress_at_ms);
    opt(&mut m, "progress_mono_ms", r.progress_mono_ms);
    opt(&mut m, "reloads", r.reloads);
    if let Some(msg) = &r.message {
        m.insert(
            "message".into(),
            Value::from(truncate_utf8(msg, MAX_MESSAGE_BYTES)),
        );
    }
    if !r.meta.is_empty() {
        let meta: Map<String, Value> = r
            .meta
            .iter()
            .map(|(k, v)| (k.clone(), Value::from(v.as_str())))
            .collect();
        m.insert("meta".into(), Value::Object(meta));
    }
    // Serialising a map of strings and integers cannot fail.
    serde_json::to_vec(&Value::Object(m)).unwrap_or_default()
}

/// A JSON value read with duplicate keys rejected at every depth, and with
/// room for `room` more levels of arrays and objects.
struct Strict {
    room: u32,
}

impl<'de> de::DeserializeSeed<'de> for Strict {
    type Value = Value;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl Strict {
    /// The seed for the values inside a container opened here.
    fn enter<E: de::Error>(&self) -> Result<Strict, E> {
        match self.room.checked_sub(1) {
            Some(room) => Ok(Strict { room }),
            None => Err(E::custom(format!("nested deeper than {MAX_DEPTH} levels"))),
        }
    }
}

impl<'de> Visitor<'de> for Strict {
    type Value = Value;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Number::from_f64(v).map_or(Value::Null, Value::Number))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<Value, A::Error> {
        let inner = self.enter()?;
        let mut v = Vec::new();
        while let Some(x) = a.next_element_seed(Strict { room: inner.room })? {
            v.push(x);
        }
        Ok(Value::Array(v))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Value, A::Error> {
        let inner = self.enter()?;
        let mut m = Map::new();
        while let Some(k) = a.next_key::<String>()? {
            let v = a.next_value_seed(Strict { room: inner.room })?;
            if m.insert(k.clone(), v).is_some() {
                return Err(de::Error::custom(format!("duplicate key {k:?}")));
            }
        }
        Ok(Value::Object(m))
    }
}

/// The fields this reader knows, in every shape. The top-level object is
/// read straight into one slot per known key (no map of owned keys), with
/// duplicates rejected; unknown keys are checked for duplicates too, and
/// their values read strictly (duplicates rejected at every depth), then
/// dropped.
const KNOWN_KEYS: [&str; 27] = [
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
    "lock_ino",
    "progress",
    "progress_at_ms",
    "message",
    "meta",
    "timestamp",
    "hostname",
    "metadata",
    "status",
    "updatedAtMs",
    "updated_mono_ms",
    "time_ns",
    "progress_mono_ms",
    "reloads",
    "lock_dev",
];

/// The slot of a known key: a `match`, which the compiler turns into a
/// comparison of lengths and bytes, rather than a search of the list (every
/// key of every check is looked up here, twice).
fn known_key(k: &str) -> Option<usize> {
    Some(match k {
        "v" => 0,
        "pid" => 1,
        "state" => 2,
        "seq" => 3,
        "updated_at_ms" => 4,
        "started_at_ms" => 5,
        "interval_ms" => 6,
        "stale_after_ms" => 7,
        "host" => 8,
        "boot_id" => 9,
        "pid_ns" => 10,
        "pid_start" => 11,
        "lock_ino" => 12,
        "progress" => 13,
        "progress_at_ms" => 14,
        "message" => 15,
        "meta" => 16,
        "timestamp" => 17,
        "hostname" => 18,
        "metadata" => 19,
        "status" => 20,
        "updatedAtMs" => 21,
        "updated_mono_ms" => 22,
        "time_ns" => 23,
        "progress_mono_ms" => 24,
        "reloads" => 25,
        "lock_dev" => 26,
        _ => return None,
    })
}

#[derive(Default)]
struct Slots {
    vals: [Option<Value>; KNOWN_KEYS.len()],
}

impl Slots {
    fn get(&self, k: &str) -> Option<&Value> {
        known_key(k).and_then(|i| self.vals[i].as_ref())
    }

    fn has(&self, k: &str) -> bool {
        self.get(k).is_some()
    }
}

/// A key, borrowed where the JSON text allows.
struct Key(Result<usize, String>);

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a key")
            }
            fn visit_str<E>(self, k: &str) -> Result<Key, E> {
                Ok(Key(known_key(k).ok_or_else(|| k.to_owned())))
            }
        }
        d.deserialize_str(KeyVisitor)
    }
}

impl<'de> Deserialize<'de> for Slots {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct TopVisitor;
        impl<'de> Visitor<'de> for TopVisitor {
            type Value = Slots;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Slots, A::Error> {
                let mut slots = Slots::default();
                let mut unknown: std::collections::HashSet<String> = Default::default();
                // The top-level object is level 1: its values may open
                // MAX_DEPTH - 1 more levels.
                let seed = || Strict {
                    room: MAX_DEPTH - 1,
                };
                while let Some(Key(k)) = a.next_key()? {
                    let v = a.next_value_seed(seed())?;
                    let duplicate = match k {
                        Ok(i) => slots.vals[i]
                            .replace(v)
                            .is_some()
                            .then(|| KNOWN_KEYS[i].to_owned()),
                        Err(name) if unknown.contains(&name) => Some(name),
                        Err(name) => {
                            unknown.insert(name);
                            None
                        }
                    };
                    if let Some(name) = duplicate {
                        return Err(de::Error::custom(format!("duplicate key {name:?}")));
                    }
                }
                Ok(slots)
            }
        }
        d.deserialize_map(TopVisitor)
    }
}

/// Field readers that reject the wrong type or range.
struct Fields<'a>(&'a Slots);

impl Fields<'_> {
    fn uint(&self, k: &str, min: u64, max: u64) -> Result<Option<u64>, DecodeError> {
        match self.0.get(k) {
            None => Ok(None),
            Some(Value::Number(n)) => match n.as_u64() {
                Some(x) if (min..=max).contains(&x) => Ok(Some(x)),
                _ => bad(format!("field {k:?} is out of range: {n}")),
            },
            Some(other) => bad(format!("field {k:?} must be an integer, not {other}")),
        }
    }
    fn required_uint(&self, k: &str, min: u64, max: u64) -> Result<u64, DecodeError> {
        self.uint(k, min, max)?
            .map_or_else(|| bad(format!("required field {k:?} is missing")), Ok)
    }
    fn string(&self, k: &str) -> Result<Option<&str>, DecodeError> {
        match self.0.get(k) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(other) => bad(format!("field {k:?} must be a string, not {other}")),
        }
    }
    fn pid(&self, k: &str) -> Result<u32, DecodeError> {
        match self.0.get(k) {
            None => bad(format!("required field {k:?} is missing")),
            Some(Value::Number(n)) => match n.as_i64() {
                Some(p) if (1..=MAX_PID).contains(&p) => Ok(p as u32),
                _ => bad(format!("field {k:?} is out of range: {n}")),
            },
            Some(other) => bad(format!("field {k:?} must be an integer, not {other}")),
        }
    }
    fn string_map(&self, k: &str) -> Result<BTreeMap<String, String>, DecodeError> {
        match self.0.get(k) {
            None => Ok(BTreeMap::new()),
            Some(Value::Object(m)) => m
                .iter()
                .map(|(mk, mv)| match mv {
                    Value::String(s) => Ok((mk.clone(), s.clone())),
                    other => bad(format!("{k}.{mk} must be a string, not {other}")),
                })
                .collect(),
            Some(other) => bad(format!("field {k:?} must be an object, not {other}")),
        }
    }
}

/// A non-zero interval or stale limit, or none (0 means absent).
fn nonzero(x: Option<u64>) -> Option<u64> {
    x.filter(|&v| v != 0)
}

/// Decodes heartbeat bytes strictly; see docs/PROTOCOL.md.
pub fn decode(bytes: &[u8]) -> Result<Record, DecodeError> {
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return bad(format!("file is over {MAX_FILE_BYTES} bytes"));
    }
    let text = std::str::from_utf8(bytes).map_err(|e| DecodeError(format!("not UTF-8: {e}")))?;
    let not_json = |e: serde_json::Error| DecodeError(format!("not a JSON object: {e}"));
    // serde_json's own limit counts differently; the depth is counted by
    // `Strict` instead (MAX_DEPTH, the top-level object included).
    let mut de = serde_json::Deserializer::from_str(text);
    de.disable_recursion_limit();
    let slots = Slots::deserialize(&mut de).map_err(not_json)?;
    de.end().map_err(not_json)?;
    let f = Fields(&slots);
    if slots.has("v") {
        decode_v1(&f)
    } else if slots.has("timestamp") {
        decode_timestamp(&f)
    } else if slots.has("updatedAtMs") {
        decode_camel(&f)
    } else if slots.has("updated_at_ms") {
        decode_plain(&f)
    } else {
        bad("no known heartbeat shape: no \"v\", \"timestamp\", \"updatedAtMs\" or \"updated_at_ms\"")
    }
}

fn wire_state(f: &Fields<'_>, k: &str) -> Result<State, DecodeError> {
    match f.string(k)? {
        None => bad(format!("required field {k:?} is missing")),
        Some(s) => State::from_wire(s).map_or_else(|| bad(format!("unknown {k} {s:?}")), Ok),
    }
}

fn decode_v1(f: &Fields<'_>) -> Result<Record, DecodeError> {
    let v = f.required_uint("v", 1, MAX_INT)?;
    let pid = f.pid("pid")?;
    let state = wire_state(f, "state")?;
    let seq = f.required_uint("seq", 1, MAX_INT)?;
    let updated_at_ms = f.required_uint("updated_at_ms", 0, MAX_INT)?;
    Ok(Record {
        v,
        pid,
        state: Some(state),
        seq,
        updated_at_ms,
        shape: Shape::V1,
        ..optional_fields(f)?
    })
}

fn optional_fields(f: &Fields<'_>) -> Result<Record, DecodeError> {
    let any = MAX_INT;
    Ok(Record {
        started_at_ms: f.uint("started_at_ms", 0, any)?,
        interval_ms: nonzero(f.uint("interval_ms", 0, any)?),
        stale_after_ms: nonzero(f.uint("stale_after_ms", 0, any)?),
        host: f.string("host")?.map(str::to_owned),
        boot_id: f.string("boot_id")?.map(str::to_owned),
        pid_ns: f.uint("pid_ns", 0, any)?,
        time_ns: f.uint("time_ns", 0, any)?,
        updated_mono_ms: f.uint("updated_mono_ms", 0, any)?,
        progress_mono_ms: f.uint("progress_mono_ms", 0, any)?,
        reloads: f.uint("reloads", 0, any)?,
        pid_start: f.uint("pid_start", 0, any)?,
        lock_ino: f.uint("lock_ino", 0, any)?,
        lock_dev: f.uint("lock_dev", 0, any)?,
        progress: f.uint("progress", 0, any)?,
        progress_at_ms: f.uint("progress_at_ms", 0, any)?,
        message: f.string("message")?.map(str::to_owned),
        meta: f.string_map("meta")?,
        ..Record::default()
    })
}

fn decode_plain(f: &Fields<'_>) -> Result<Record, DecodeError> {
    let pid = f.pid("pid")?;
    let state = wire_state(f, "state")?;
    let updated_at_ms = f.required_uint("updated_at_ms", 0, MAX_INT)?;
    let seq = f.uint("seq", 1, MAX_INT)?.unwrap_or(0);
    Ok(Record {
        pid,
        state: Some(state),
        seq,
        updated_at_ms,
        shape: Shape::Plain,
        ..optional_fields(f)?
    })
}

fn decode_camel(f: &Fields<'_>) -> Result<Record, DecodeError> {
    let pid = f.pid("pid")?;
    let state = match f.string("status")? {
        Some("running" | "idle") => State::Ready,
        Some("starting") => State::Starting,
        Some("stopping") => State::Stopping,
        Some("stopped") => State::Stopped,
        Some("failed") => State::Failed,
        Some(s) => return bad(format!("unknown status {s:?}")),
        None => return bad("required field \"status\" is missing"),
    };
    let updated_at_ms = f.required_uint("updatedAtMs", 0, MAX_INT)?;
    let host = f.foreign_host()?;
    Ok(Record {
        pid,
        state: Some(state),
        updated_at_ms,
        host,
        shape: Shape::Camel,
        ..Record::default()
    })
}

fn decode_timestamp(f: &Fields<'_>) -> Result<Record, DecodeError> {
    let pid = f.pid("pid")?;
    let ts = f
        .string("timestamp")?
        .ok_or_else(|| DecodeError("field \"timestamp\" must be a string".into()))?;
    let updated_at_ms = parse_iso8601_ms(ts).ok_or_else(|| {
        DecodeError(format!(
            "timestamp {ts:?} is not RFC 3339 with an offset, from 1970"
        ))
    })?;
    Ok(Record {
        pid,
        state: Some(State::Ready),
        updated_at_ms,
        host: f.foreign_host()?,
        meta: f.string_map_lenient("metadata")?,
        shape: Shape::Timestamp,
        ..Record::default()
    })
}

impl Fields<'_> {
    /// Metadata of foreign writers may hold any JSON inside; keep the string
    /// values. The field itself, when present, must be an object.
    fn string_map_lenient(&self, k: &str) -> Result<BTreeMap<String, String>, DecodeError> {
        match self.0.get(k) {
            None => Ok(BTreeMap::new()),
            Some(Value::Object(m)) => Ok(m
                .iter()
                .filter_map(|(mk, mv)| mv.as_str().map(|s| (mk.clone(), s.to_owned())))
                .collect()),
            Some(other) => bad(format!("field {k:?} must be an object, not {other}")),
        }
    }

    /// The writer's host in the compatible shapes: `hostname`, else `host`.
    /// Each must be a string when present, so that a wrong-typed one never
    /// lets the other decide (or neither, making a foreign PID look ours).
    fn foreign_host(&self) -> Result<Option<String>, DecodeError> {
        let hostname = self.string("hostname")?;
        let host = self.string("host")?;
        Ok(hostname.or(host).map(str::to_owned))
    }
}

/// Parses `YYYY-MM-DD(T|t| )HH:MM:SS[.f...](Z|z|±HH:MM|±HHMM)` into Unix
/// milliseconds (docs/PROTOCOL.md §8.1): second 60 reads as 59, a fraction
/// is truncated to the millisecond, a date before 1970 is refused. A
/// timestamp without an offset is refused: its meaning depends on a time zone.
pub fn parse_iso8601_ms(s: &str) -> Option<u64> {
    let b = s.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let part = b.get(r)?;
        if part.is_empty() || !part.iter().all(u8::is_ascii_digit) {
            return None;
        }
        std::str::from_utf8(part).ok()?.parse().ok()
    };
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    if b[13] != b':' || b[16] != b':' {
        return None;
    }
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, min, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return None;
    }
    if hour > 23 || min > 59 || sec > 60 {
        return None;
    }
    let mut i = 19;
    let mut millis = 0i64;
    if b.get(i) == Some(&b'.') {
        let start = i + 1;
        i = start;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        if i == start {
            return None;
        }
        let frac = &s[start..i.min(start + 3)];
        millis = frac.parse::<i64>().ok()? * 10i64.pow(3 - frac.len() as u32);
    }
    let offset_s = match b.get(i)? {
        b'Z' | b'z' if i + 1 == b.len() => 0,
        sign @ (b'+' | b'-') => {
            let rest = &s[i + 1..];
            let (oh, om) = match rest.len() {
                5 if rest.as_bytes()[2] == b':' => (num(i + 1..i + 3)?, num(i + 4..i + 6)?),
                4 => (num(i + 1..i + 3)?, num(i + 3..i + 5)?),
                _ => return None,
            };
            if oh > 23 || om > 59 {
                return None;
            }
            let o = oh * 3600 + om * 60;
            if *sign == b'-' {
                -o
            } else {
                o
            }
        }
        _ => return None,
    };
    let days = days_from_civil(year, month, day);
    let secs = days * 86_400 + hour * 3600 + min * 60 + sec.min(59) - offset_s;
    u64::try_from(secs.checked_mul(1000)?.checked_add(millis)?).ok()
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    fn full() -> Record {
        Record {
            v: 1,
            pid: 4242,
            state: Some(State::Ready),
            seq: 7,
            updated_at_ms: 1_700_000_000_123,
            started_at_ms: Some(1_700_000_000_000),
            interval_ms: Some(1000),
            stale_after_ms: Some(3000),
            host: Some("h".into()),
            boot_id: Some("b".into()),
            pid_ns: Some(4026531836),
            pid_start: Some(12345),
            lock_ino: Some(7),
            lock_dev: Some(45),
            progress: Some(9),
            progress_at_ms: Some(1_700_000_000_100),
            updated_mono_ms: Some(5_000),
            progress_mono_ms: Some(4_977),
            time_ns: Some(4026531834),
            reloads: Some(2),
            message: Some("héllo".into()),
            meta: [("k".to_string(), "v".to_string())].into(),
            shape: Shape::V1,
        }
    }

    #[test]
    fn every_known_key_has_its_own_slot() {
        for (i, k) in KNOWN_KEYS.iter().enumerate() {
            assert_eq!(known_key(k), Some(i), "{k}");
        }
        assert_eq!(known_key("unknown"), None);
    }

    #[test]
    fn encoded_record_reads_back_identically() {
        let r = full();
        assert_eq!(decode(&encode(&r)).unwrap(), r);
    }

    #[test]
    fn duplicate_key_is_invalid_at_any_depth() {
        let top = br#"{"v":1,"pid":1,"pid":2,"state":"ready","seq":1,"updated_at_ms":1}"#;
        assert!(decode(top).unwrap_err().0.contains("duplicate"));
        let meta = br#"{"v":1,"pid":1,"state":"ready","seq":1,"updated_at_ms":1,"meta":{"a":"x","a":"y"}}"#;
        assert!(decode(meta).is_err());
    }

    #[test]
    fn running_reads_as_ready_and_unknown_fields_are_ignored() {
        let r = decode(br#"{"v":2,"pid":1,"state":"running","seq":1,"updated_at_ms":1,"x":[1]}"#)
            .unwrap();
        assert_eq!(r.state, Some(State::Ready));
        assert_eq!(r.v, 2);
    }

    #[test]
    fn wrong_types_and_ranges_are_invalid() {
        for bad in [
            r#"{"v":0,"pid":1,"state":"ready","seq":1,"updated_at_ms":1}"#,
            r#"{"v":1,"pid":0,"state":"ready","seq":1,"updated_at_ms":1}"#,
            r#"{"v":1,"pid":-5,"state":"ready","seq":1,"updated_at_ms":1}"#,
            r#"{"v":1,"pid":2147483648,"state":"ready","seq":1,"updated_at_ms":1}"#,
            r#"{"v":1,"pid":1.0,"state":"ready","seq":1,"updated_at_ms":1}"#,
            r#"{"v":1,"pid":1,"state":"asleep","seq":1,"updated_at_ms":1}"#,
            r#"{"v":1,"pid":1,"state":"ready","seq":0,"updated_at_ms":1}"#,
            r#"{"v":1,"pid":1,"state":"ready","seq":1,"updated_at_ms":-1}"#,
            r#"{"v":1,"pid":1,"state":"ready","seq":1,"updated_at_ms":1,"host":5}"#,
            r#"{"v":1,"pid":1,"state":"ready","seq":1,"updated_at_ms":1,"meta":{"a":1}}"#,
            r#"{"v":1,"pid":1,"state":"ready","seq":1}"#,
            r#"[1]"#,
            r#"{"v":1,"pid":1,"state":"ready","seq":1,"updated_at_ms":99999999999999999999}"#,
        ] {
            assert!(decode(bad.as_bytes()).is_err(), "{bad}");
        }
    }

    #[test]
    fn compatible_shapes_take_hostname_before_host() {
        let camel = br#"{"pid":1,"status":"running","updatedAtMs":1,"hostname":"a","host":"b"}"#;
        assert_eq!(decode(camel).unwrap().host.as_deref(), Some("a"));
        let ts = br#"{"timestamp":"1970-01-01T00:00:00Z","pid":1,"hostname":"a","host":"b"}"#;
        assert_eq!(decode(ts).unwrap().host.as_deref(), Some("a"));
    }

    #[test]
    fn encode_keeps_every_integer_readable() {
        let mut r = full();
        r.stale_after_ms = Some(u64::MAX);
        r.progress = Some(MAX_INT + 5);
        let back = decode(&encode(&r)).unwrap();
        assert_eq!(back.stale_after_ms, Some(MAX_INT));
        assert_eq!(back.progress, Some(4));
    }

    #[test]
    fn zero_interval_means_absent() {
        let r = decode(br#"{"v":1,"pid":1,"state":"ready","seq":1,"updated_at_ms":1,"interval_ms":0,"stale_after_ms":0}"#).unwrap();
        assert_eq!((r.interval_ms, r.stale_after_ms), (None, None));
    }

    #[test]
    fn iso8601_with_offset_parses_and_without_is_refused() {
        assert_eq!(parse_iso8601_ms("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_iso8601_ms("1970-01-01T01:00:00.5+01:00"), Some(500));
        assert_eq!(
            parse_iso8601_ms("2024-02-29T12:00:00.123456-0230"),
            Some(1_709_217_000_123)
        );
        assert_eq!(parse_iso8601_ms("2024-02-29T12:00:00"), None);
        assert_eq!(parse_iso8601_ms("2023-02-29T12:00:00Z"), None);
        assert_eq!(parse_iso8601_ms("1969-12-31T23:59:59Z"), None);
        assert_eq!(parse_iso8601_ms("2024-01-01T00:00:00Zjunk"), None);
    }

    #[test]
    fn message_is_cut_at_a_character_boundary() {
        let s = "é".repeat(3000); // 6000 bytes
        let cut = truncate_utf8(&s, MAX_MESSAGE_BYTES);
        assert_eq!(cut.len(), 4096);
        assert_eq!(truncate_utf8("aé", 2), "a");
    }
}
