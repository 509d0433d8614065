//! The heartbeat record: its fields, limits, encoding and strict decoding.
//!
//! This module is pure: bytes in, a [`Record`] or a [`DecodeError`] out. It
//! knows protocol v1 and the compatible shapes that other tools already
//! write (see docs/PROTOCOL.md, "Compatibility").

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::{Map, Number, Value};
use std::borrow::Cow;
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
    let mut out = Vec::with_capacity(512);
    encode_into(r, &mut out);
    out
}

/// [`encode`] into `out` (cleared first), so that a writer can keep one
/// buffer: the keys in byte order, as a JSON object of strings and integers
/// has them when serde_json writes it, strings escaped by serde_json
/// (those with nothing to escape copied as they are);
/// nothing is allocated but `out`'s growth.
pub fn encode_into(r: &Record, out: &mut Vec<u8>) {
    // Each member is written as one constant, its comma, quoted key and
    // colon (`,"pid":`), then its value; the first comma then becomes the
    // opening brace. The helpers are inlined so that each constant is
    // copied without a call: a beat writes about twenty keys and fifteen
    // integers. Every integer is kept within MAX_INT, so that what is
    // written is valid.
    macro_rules! key {
        ($k:literal) => {
            concat!(",\"", $k, "\":").as_bytes()
        };
    }
    #[inline(always)]
    fn uint(out: &mut Vec<u8>, key: &[u8], v: Option<u64>) {
        if let Some(v) = v {
            out.extend_from_slice(key);
            push_decimal(out, v.min(MAX_INT));
        }
    }
    #[inline(always)]
    fn string(out: &mut Vec<u8>, key: &[u8], v: Option<&str>) {
        if let Some(v) = v {
            out.extend_from_slice(key);
            quoted(out, v);
        }
    }
    fn quoted(out: &mut Vec<u8>, s: &str) {
        if string_stop(s.as_bytes(), 0).is_none() {
            // Nothing to escape: what serde_json would write.
            out.reserve(s.len() + 2);
            out.push(b'"');
            out.extend_from_slice(s.as_bytes());
            out.push(b'"');
        } else {
            // Writing a string into a Vec cannot fail.
            let _ = serde_json::to_writer(&mut *out, s);
        }
    }
    out.clear();
    // A record without meta fits: one allocation at most, the first time.
    out.reserve(1024);
    // In byte order of the keys.
    string(out, key!("boot_id"), r.boot_id.as_deref());
    string(out, key!("host"), r.host.as_deref());
    uint(out, key!("interval_ms"), r.interval_ms);
    uint(out, key!("lock_dev"), r.lock_dev);
    uint(out, key!("lock_ino"), r.lock_ino);
    string(
        out,
        key!("message"),
        r.message.as_deref().map(|m| truncate_utf8(m, MAX_MESSAGE_BYTES)),
    );
    if !r.meta.is_empty() {
        out.extend_from_slice(key!("meta"));
        out.push(b'{');
        for (i, (k, v)) in r.meta.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            quoted(out, k);
            out.push(b':');
            quoted(out, v);
        }
        out.push(b'}');
    }
    uint(out, key!("pid"), Some(u64::from(r.pid)));
    uint(out, key!("pid_ns"), r.pid_ns);
    uint(out, key!("pid_start"), r.pid_start);
    // The counter wraps rather than saturates, so that it keeps moving.
    uint(out, key!("progress"), r.progress.map(|p| p & MAX_INT));
    uint(out, key!("progress_at_ms"), r.progress_at_ms);
    uint(out, key!("progress_mono_ms"), r.progress_mono_ms);
    uint(out, key!("reloads"), r.reloads);
    uint(out, key!("seq"), Some(r.seq));
    uint(out, key!("stale_after_ms"), r.stale_after_ms);
    uint(out, key!("started_at_ms"), r.started_at_ms);
    // A state's name has nothing to escape.
    out.extend_from_slice(key!("state"));
    out.push(b'"');
    out.extend_from_slice(r.state.unwrap_or(State::Starting).as_str().as_bytes());
    out.push(b'"');
    uint(out, key!("time_ns"), r.time_ns);
    uint(out, key!("updated_at_ms"), Some(r.updated_at_ms));
    uint(out, key!("updated_mono_ms"), r.updated_mono_ms);
    uint(out, key!("v"), Some(PROTOCOL_VERSION));
    // The first member's comma opens the object (there always is one).
    out[0] = b'{';
    out.push(b'}');
}

/// Appends `v` in decimal, as JSON writes an integer. Eight digits at a
/// time, each group made in parallel in the bytes of one `u64` (no
/// division per digit, no table), and stored eight bytes at once into the
/// vector's spare room: a beat writes about fifteen integers, most of them
/// of ten digits or more.
#[inline]
pub fn push_decimal(out: &mut Vec<u8>, v: u64) {
    const E8: u64 = 100_000_000;
    const E16: u64 = E8 * E8;
    // At most 20 digits, and each group stores 8 bytes from its start.
    out.reserve(24);
    let len = out.len();
    let at = out.spare_capacity_mut().as_mut_ptr().cast::<u8>();
    // SAFETY: `reserve` made room for 24 bytes past `len`; the stores end
    // within it (the first group at 8, a second one at digits + 8 <= 16, a
    // third at digits + 16 <= 20), and `set_len` counts only digits stored.
    unsafe {
        let n = if v < E8 {
            put_leading(at, v as u32)
        } else if v < E16 {
            let n = put_leading(at, (v / E8) as u32);
            put_eight(at.add(n), (v % E8) as u32);
            n + 8
        } else {
            let (top, rest) = (v / E16, v % E16);
            let n = put_leading(at, top as u32);
            put_eight(at.add(n), (rest / E8) as u32);
            put_eight(at.add(n + 8), (rest % E8) as u32);
            n + 16
        };
        out.set_len(len + n);
    }
}

/// The eight decimal digits of `v` (below 10^8) as the bytes of a `u64`,
/// the most significant digit in the lowest byte, each a value 0..=9: the
/// halves of four digits split into pairs, and the pairs into digits, each
/// step in all lanes by one multiplication (x / 100 is x * 10486 >> 20
/// for x < 10^4, and x / 10 is x * 103 >> 10 for x < 100).
#[inline(always)]
fn digit_lanes(v: u32) -> u64 {
    let v = u64::from(v);
    let halves = (v / 10_000) | ((v % 10_000) << 32);
    let hundreds = ((halves * 10_486) >> 20) & 0x0000_007F_0000_007F;
    let pairs = ((halves - hundreds * 100) << 16) | hundreds;
    let tens = ((pairs * 103) >> 10) & 0x000F_000F_000F_000F;
    ((pairs - tens * 10) << 8) | tens
}

/// Stores the eight digits of `v` (below 10^8), leading zeros included.
///
/// # Safety
/// `at` is valid for writes of 8 bytes.
#[inline(always)]
unsafe fn put_eight(at: *mut u8, v: u32) {
    let ascii = digit_lanes(v) | 0x3030_3030_3030_3030;
    // SAFETY: forwarded from the caller.
    unsafe { std::ptr::copy_nonoverlapping(ascii.to_le_bytes().as_ptr(), at, 8) };
}

/// Stores the digits of `v` (below 10^8) without leading zeros ("0" for
/// 0), as 8 bytes of which the first are the digits: how many they are.
///
/// # Safety
/// `at` is valid for writes of 8 bytes.
#[inline(always)]
unsafe fn put_leading(at: *mut u8, v: u32) -> usize {
    let lanes = digit_lanes(v);
    // The first digit is the lowest byte: leading zeros are trailing zero
    // bytes of the lanes (all but the last digit for 0).
    let zeros = if v == 0 { 7 } else { lanes.trailing_zeros() as usize / 8 };
    let ascii = (lanes | 0x3030_3030_3030_3030) >> (zeros * 8);
    // SAFETY: forwarded from the caller.
    unsafe { std::ptr::copy_nonoverlapping(ascii.to_le_bytes().as_ptr(), at, 8) };
    8 - zeros
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
#[inline(always)]
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

/// The value of a known key, read as typed as the rules need it: a
/// number as a number and a string borrowed from the file's text where it
/// has no escapes, so that decoding a heartbeat builds no `Value` and
/// allocates nothing for them. Objects, arrays, booleans and null (only
/// `meta` and `metadata` may hold an object) are read strictly into a
/// `Value`, as every value of an unknown key is.
enum Slot<'de> {
    /// A non-negative integer (`-0` included, as serde_json's `Value` reads it).
    Uint(u64),
    /// A negative integer.
    Int(i64),
    /// A number with a fraction or an exponent.
    Float(f64),
    /// A string.
    Str(Cow<'de, str>),
    /// Anything else.
    Other(Value),
}

impl Slot<'_> {
    /// The value as a number reads it: `as_u64` and `as_i64` of serde_json.
    fn as_u64(&self) -> Option<u64> {
        match *self {
            Slot::Uint(x) => Some(x),
            _ => None,
        }
    }
    fn as_i64(&self) -> Option<i64> {
        match *self {
            Slot::Uint(x) => i64::try_from(x).ok(),
            Slot::Int(x) => Some(x),
            _ => None,
        }
    }
    /// The JSON value, for the text of an error (never on a valid file's path).
    fn value(&self) -> Value {
        match self {
            Slot::Uint(x) => Value::from(*x),
            Slot::Int(x) => Value::from(*x),
            Slot::Float(x) => Number::from_f64(*x).map_or(Value::Null, Value::Number),
            Slot::Str(s) => Value::from(s.as_ref()),
            Slot::Other(v) => v.clone(),
        }
    }
}

/// The seed of a known key's value, with room for `room` more levels.
struct Typed {
    room: u32,
}

impl<'de> de::DeserializeSeed<'de> for Typed {
    type Value = Slot<'de>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Slot<'de>, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Typed {
    type Value = Slot<'de>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Slot<'de>, E> {
        Ok(Slot::Other(Value::Bool(v)))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Slot<'de>, E> {
        Ok(u64::try_from(v).map_or(Slot::Int(v), Slot::Uint))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Slot<'de>, E> {
        Ok(Slot::Uint(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Slot<'de>, E> {
        Ok(Slot::Float(v))
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Slot<'de>, E> {
        Ok(Slot::Str(Cow::Borrowed(v)))
    }
    fn visit_str<E>(self, v: &str) -> Result<Slot<'de>, E> {
        Ok(Slot::Str(Cow::Owned(v.to_owned())))
    }
    fn visit_string<E>(self, v: String) -> Result<Slot<'de>, E> {
        Ok(Slot::Str(Cow::Owned(v)))
    }
    fn visit_unit<E>(self) -> Result<Slot<'de>, E> {
        Ok(Slot::Other(Value::Null))
    }
    fn visit_none<E>(self) -> Result<Slot<'de>, E> {
        Ok(Slot::Other(Value::Null))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, a: A) -> Result<Slot<'de>, A::Error> {
        Strict { room: self.room }.visit_seq(a).map(Slot::Other)
    }
    fn visit_map<A: MapAccess<'de>>(self, a: A) -> Result<Slot<'de>, A::Error> {
        Strict { room: self.room }.visit_map(a).map(Slot::Other)
    }
}

struct Slots<'de> {
    vals: [Option<Slot<'de>>; KNOWN_KEYS.len()],
}

impl<'de> Slots<'de> {
    fn empty() -> Slots<'de> {
        Slots {
            vals: std::array::from_fn(|_| None),
        }
    }

    #[inline(always)]
    fn get(&self, k: &str) -> Option<&Slot<'de>> {
        known_key(k).and_then(|i| self.vals[i].as_ref())
    }

    #[inline(always)]
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

impl<'de> Deserialize<'de> for Slots<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct TopVisitor;
        impl<'de> Visitor<'de> for TopVisitor {
            type Value = Slots<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Slots<'de>, A::Error> {
                let mut slots = Slots::empty();
                let mut unknown: std::collections::HashSet<String> = Default::default();
                // The top-level object is level 1: its values may open
                // MAX_DEPTH - 1 more levels.
                let room = MAX_DEPTH - 1;
                while let Some(Key(k)) = a.next_key()? {
                    let duplicate = match k {
                        Ok(i) => {
                            let v = a.next_value_seed(Typed { room })?;
                            slots.vals[i]
                                .replace(v)
                                .is_some()
                                .then(|| KNOWN_KEYS[i].to_owned())
                        }
                        Err(name) => {
                            // Read strictly, then dropped.
                            a.next_value_seed(Strict { room })?;
                            match unknown.contains(&name) {
                                true => Some(name),
                                false => {
                                    unknown.insert(name);
                                    None
                                }
                            }
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

/// The common case, read without serde: one flat object whose keys are
/// all known, each given once, and whose values are non-negative integers
/// without a fraction or an exponent, or strings without escapes (what
/// every lifesign writer writes). The same slots as the full parser would
/// fill, with nothing allocated. Anything else, valid or not, is `None`
/// and left to the full parser, which alone decides every error; the rules
/// of the fields are then applied to either alike.
fn flat_slots(text: &str) -> Option<Slots<'_>> {
    let b = text.as_bytes();
    let mut slots = Slots::empty();
    let end = flat_object(text, skip_ws(b, 0), |key, i| {
        let k = known_key(key)?;
        let (v, next) = match b.get(i)? {
            b'"' => plain_string(text, i).map(|(s, n)| (Slot::Str(Cow::Borrowed(s)), n))?,
            b'0'..=b'9' => plain_uint(b, i).map(|(x, n)| (Slot::Uint(x), n))?,
            b'{' if matches!(key, "meta" | "metadata") => plain_string_map(text, i)?,
            _ => return None,
        };
        slots.vals[k].replace(v).is_none().then_some(next)
    })?;
    // Nothing but whitespace after the object.
    (skip_ws(b, end) == b.len()).then_some(slots)
}

/// The object that starts at `i` when it holds only strings under distinct
/// keys, none with an escape (`meta`), and the index after it.
fn plain_string_map(text: &str, i: usize) -> Option<(Slot<'_>, usize)> {
    let mut m = Map::new();
    let end = flat_object(text, i, |k, i| {
        let (v, next) = plain_string(text, i)?;
        m.insert(k.to_owned(), Value::from(v)).is_none().then_some(next)
    })?;
    Some((Slot::Other(Value::Object(m)), end))
}

/// Walks the object whose opening brace is at `i`, each key a string
/// without escapes: `member` gets each key and the index of its value,
/// reads the value and gives the index after it. The index after the
/// closing brace; `None` when `member` refuses a member or the text is not
/// such an object.
fn flat_object<'t>(
    text: &'t str,
    mut i: usize,
    mut member: impl FnMut(&'t str, usize) -> Option<usize>,
) -> Option<usize> {
    let b = text.as_bytes();
    if b.get(i) != Some(&b'{') {
        return None;
    }
    i = skip_ws(b, i + 1);
    if b.get(i) == Some(&b'}') {
        return Some(i + 1);
    }
    loop {
        let (key, next) = plain_string(text, i)?;
        i = skip_ws(b, next);
        if b.get(i) != Some(&b':') {
            return None;
        }
        i = skip_ws(b, member(key, skip_ws(b, i + 1))?);
        match b.get(i)? {
            b',' => i = skip_ws(b, i + 1),
            b'}' => return Some(i + 1),
            _ => return None,
        }
    }
}

/// The index of the first byte at or after `i` that is not JSON whitespace.
fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while matches!(b.get(i), Some(b' ' | b'\t' | b'\n' | b'\r')) {
        i += 1;
    }
    i
}

/// The string that starts at `i` (its opening quote) when it has no escape
/// and no control character, and the index after its closing quote.
fn plain_string(text: &str, i: usize) -> Option<(&str, usize)> {
    let b = text.as_bytes();
    if b.get(i) != Some(&b'"') {
        return None;
    }
    let start = i + 1;
    let end = string_stop(b, start)?;
    (b[end] == b'"').then(|| (&text[start..end], end + 1))
}

/// The index of the first byte at or after `i` that ends a plain string:
/// a quote, a backslash or a control character. Eight bytes at a time:
/// in each word, the lowest byte flagged by the borrow tricks below is a
/// true match (a borrow only runs upwards, from a byte that matched).
fn string_stop(b: &[u8], mut i: usize) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    while let Some(word) = b.get(i..i + 8) {
        let w = u64::from_le_bytes(word.try_into().ok()?);
        let quote = w ^ (ONES * u64::from(b'"'));
        let backslash = w ^ (ONES * u64::from(b'\\'));
        let hit = (quote.wrapping_sub(ONES) & !quote)
            | (backslash.wrapping_sub(ONES) & !backslash)
            | (w.wrapping_sub(ONES * 0x20) & !w);
        let hit = hit & HIGH;
        if hit != 0 {
            return Some(i + (hit.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    let rest = b.get(i..)?;
    rest.iter()
        .position(|&c| c == b'"' || c == b'\\' || c < 0x20)
        .map(|n| i + n)
}

/// The integer that starts at `i` when it is plain digits (no leading
/// zero, no fraction, no exponent) and fits in a `u64`, and the index
/// after it.
fn plain_uint(b: &[u8], i: usize) -> Option<(u64, usize)> {
    // One pass: up to 19 digits cannot overflow a u64, a 20th is checked,
    // and a 21st never fits.
    let mut x: u64 = 0;
    let mut end = i;
    while let Some(d) = b.get(end).map(|c| c.wrapping_sub(b'0')).filter(|&d| d <= 9) {
        if end - i == 19 {
            x = x.checked_mul(10)?.checked_add(u64::from(d))?;
            if b.get(end + 1).is_some_and(u8::is_ascii_digit) {
                return None;
            }
            end += 1;
            break;
        }
        x = x * 10 + u64::from(d);
        end += 1;
    }
    if (end - i > 1 && b[i] == b'0') || matches!(b.get(end), Some(b'.' | b'e' | b'E')) {
        return None;
    }
    Some((x, end))
}

/// Field readers that reject the wrong type or range.
struct Fields<'a, 'de>(&'a Slots<'de>);

/// Whether a slot holds a number.
fn is_number(s: &Slot<'_>) -> bool {
    matches!(s, Slot::Uint(_) | Slot::Int(_) | Slot::Float(_))
}

impl Fields<'_, '_> {
    #[inline(always)]
    fn uint(&self, k: &str, min: u64, max: u64) -> Result<Option<u64>, DecodeError> {
        match self.0.get(k) {
            None => Ok(None),
            Some(n) if is_number(n) => match n.as_u64() {
                Some(x) if (min..=max).contains(&x) => Ok(Some(x)),
                _ => bad(format!("field {k:?} is out of range: {}", n.value())),
            },
            Some(other) => bad(format!(
                "field {k:?} must be an integer, not {}",
                other.value()
            )),
        }
    }
    #[inline(always)]
    fn required_uint(&self, k: &str, min: u64, max: u64) -> Result<u64, DecodeError> {
        self.uint(k, min, max)?
            .map_or_else(|| bad(format!("required field {k:?} is missing")), Ok)
    }
    #[inline(always)]
    fn string(&self, k: &str) -> Result<Option<&str>, DecodeError> {
        match self.0.get(k) {
            None => Ok(None),
            Some(Slot::Str(s)) => Ok(Some(s)),
            Some(other) => bad(format!(
                "field {k:?} must be a string, not {}",
                other.value()
            )),
        }
    }
    #[inline(always)]
    fn pid(&self, k: &str) -> Result<u32, DecodeError> {
        match self.0.get(k) {
            None => bad(format!("required field {k:?} is missing")),
            Some(n) if is_number(n) => match n.as_i64() {
                Some(p) if (1..=MAX_PID).contains(&p) => Ok(p as u32),
                _ => bad(format!("field {k:?} is out of range: {}", n.value())),
            },
            Some(other) => bad(format!(
                "field {k:?} must be an integer, not {}",
                other.value()
            )),
        }
    }
    #[inline(always)]
    fn string_map(&self, k: &str) -> Result<BTreeMap<String, String>, DecodeError> {
        match self.0.get(k) {
            None => Ok(BTreeMap::new()),
            Some(Slot::Other(Value::Object(m))) => m
                .iter()
                .map(|(mk, mv)| match mv {
                    Value::String(s) => Ok((mk.clone(), s.clone())),
                    other => bad(format!("{k}.{mk} must be a string, not {other}")),
                })
                .collect(),
            Some(other) => bad(format!(
                "field {k:?} must be an object, not {}",
                other.value()
            )),
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
    let slots = match flat_slots(text) {
        Some(slots) => slots,
        None => full_slots(text)?,
    };
    from_slots(&slots)
}

/// The top-level object read by the full parser: every JSON text, every
/// error.
fn full_slots(text: &str) -> Result<Slots<'_>, DecodeError> {
    let not_json = |e: serde_json::Error| DecodeError(format!("not a JSON object: {e}"));
    // serde_json's own limit counts differently; the depth is counted by
    // `Strict` instead (MAX_DEPTH, the top-level object included).
    let mut de = serde_json::Deserializer::from_str(text);
    de.disable_recursion_limit();
    let slots = Slots::deserialize(&mut de).map_err(not_json)?;
    de.end().map_err(not_json)?;
    Ok(slots)
}

/// The record of the fields read, by the rules of its shape.
fn from_slots(slots: &Slots<'_>) -> Result<Record, DecodeError> {
    let f = Fields(slots);
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

fn wire_state(f: &Fields<'_, '_>, k: &str) -> Result<State, DecodeError> {
    match f.string(k)? {
        None => bad(format!("required field {k:?} is missing")),
        Some(s) => State::from_wire(s).map_or_else(|| bad(format!("unknown {k} {s:?}")), Ok),
    }
}

fn decode_v1(f: &Fields<'_, '_>) -> Result<Record, DecodeError> {
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

fn optional_fields(f: &Fields<'_, '_>) -> Result<Record, DecodeError> {
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

fn decode_plain(f: &Fields<'_, '_>) -> Result<Record, DecodeError> {
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

fn decode_camel(f: &Fields<'_, '_>) -> Result<Record, DecodeError> {
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

fn decode_timestamp(f: &Fields<'_, '_>) -> Result<Record, DecodeError> {
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

impl Fields<'_, '_> {
    /// Metadata of foreign writers may hold any JSON inside; keep the string
    /// values. The field itself, when present, must be an object.
    fn string_map_lenient(&self, k: &str) -> Result<BTreeMap<String, String>, DecodeError> {
        match self.0.get(k) {
            None => Ok(BTreeMap::new()),
            Some(Slot::Other(Value::Object(m))) => Ok(m
                .iter()
                .filter_map(|(mk, mv)| mv.as_str().map(|s| (mk.clone(), s.to_owned())))
                .collect()),
            Some(other) => bad(format!(
                "field {k:?} must be an object, not {}",
                other.value()
            )),
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
    use std::path::Path;

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
    fn decimals_are_written_as_json_writes_them_after_what_is_there() {
        let mut edges = vec![0, 1, 9, 10, 11, 99, 100, 101, MAX_INT, u64::MAX];
        for p in 1..20 {
            let ten = 10u64.pow(p);
            edges.extend([ten - 1, ten, ten + 1]);
            edges.extend(ten.checked_mul(9).map(|n| n + ten / 10 * 7));
        }
        let mut out = b"[".to_vec();
        for &v in &edges {
            let before = out.len();
            push_decimal(&mut out, v);
            assert_eq!(&out[before..], v.to_string().as_bytes(), "{v}");
            out.push(b',');
        }
        assert!(out.starts_with(b"[0,1,9,10,11,99,100,101,"));
    }

    #[test]
    fn decimals_are_right_for_every_width_and_digit() {
        // Every value below 10^5, a stride through 10^8 (every group's
        // lanes), and then values of 9 to 20 digits with each digit in
        // each place, written one after another into one vector.
        let mut values: Vec<u64> = (0..100_000).chain((0..100_000_000).step_by(7_919)).collect();
        for width in 9..=20u32 {
            let low = 10u64.pow(width - 1);
            for place in 0..width {
                for digit in 0..10u64 {
                    values.extend(digit.checked_mul(10u64.pow(place)).and_then(|d| low.checked_add(d)));
                }
            }
            values.extend([low, low.saturating_mul(10).saturating_sub(1), low + 7_919 * 13]);
        }
        values.push(u64::MAX);
        let mut out = Vec::new();
        let mut expected = String::new();
        for &v in &values {
            push_decimal(&mut out, v);
            out.push(b' ');
            expected.push_str(&v.to_string());
            expected.push(' ');
        }
        assert_eq!(String::from_utf8(out).unwrap(), expected);
    }

    #[test]
    fn every_known_key_has_its_own_slot() {
        for (i, k) in KNOWN_KEYS.iter().enumerate() {
            assert_eq!(known_key(k), Some(i), "{k}");
        }
        assert_eq!(known_key("unknown"), None);
    }

    /// The record as serde_json writes it through a `Value`: what
    /// [`encode`] wrote before it wrote the bytes itself.
    fn encode_by_value(r: &Record) -> Vec<u8> {
        let mut m = Map::new();
        let mut int = |k: &str, v: Option<u64>| {
            if let Some(v) = v {
                m.insert(k.into(), Value::from(v.min(MAX_INT)));
            }
        };
        int("v", Some(PROTOCOL_VERSION));
        int("pid", Some(r.pid.into()));
        int("seq", Some(r.seq));
        int("updated_at_ms", Some(r.updated_at_ms));
        int("updated_mono_ms", r.updated_mono_ms);
        int("started_at_ms", r.started_at_ms);
        int("interval_ms", r.interval_ms);
        int("stale_after_ms", r.stale_after_ms);
        int("pid_ns", r.pid_ns);
        int("time_ns", r.time_ns);
        int("pid_start", r.pid_start);
        int("lock_ino", r.lock_ino);
        int("lock_dev", r.lock_dev);
        int("progress", r.progress.map(|p| p & MAX_INT));
        int("progress_at_ms", r.progress_at_ms);
        int("progress_mono_ms", r.progress_mono_ms);
        int("reloads", r.reloads);
        let state = r.state.unwrap_or(State::Starting).as_str();
        m.insert("state".into(), Value::from(state));
        for (k, v) in [("host", &r.host), ("boot_id", &r.boot_id)] {
            if let Some(v) = v {
                m.insert(k.into(), Value::from(v.as_str()));
            }
        }
        if let Some(msg) = &r.message {
            m.insert("message".into(), truncate_utf8(msg, MAX_MESSAGE_BYTES).into());
        }
        if !r.meta.is_empty() {
            let meta = r.meta.iter().map(|(k, v)| (k.clone(), Value::from(v.as_str())));
            m.insert("meta".into(), Value::Object(meta.collect()));
        }
        serde_json::to_vec(&Value::Object(m)).unwrap()
    }

    #[test]
    fn encode_writes_what_serde_json_writes() {
        let mut odd = full();
        odd.host = Some("q\"uo\\te\u{1}\u{7f}\u{2028}\u{fffe}é".into());
        odd.message = Some("x".repeat(MAX_MESSAGE_BYTES + 3));
        odd.meta = [("", ""), ("\n", "\t"), ("b", "é"), ("a", "😀")]
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .into();
        odd.seq = u64::MAX;
        for r in [full(), Record::default(), odd] {
            let (ours, theirs) = (encode(&r), encode_by_value(&r));
            assert_eq!(
                String::from_utf8_lossy(&ours),
                String::from_utf8_lossy(&theirs)
            );
            assert_eq!(ours, theirs);
        }
        let keys: Vec<String> = match serde_json::from_slice::<Value>(&encode(&full())).unwrap() {
            Value::Object(m) => m.keys().cloned().collect(),
            _ => unreachable!(),
        };
        // Every v1 key: all the known ones but the five of the compatible shapes.
        assert_eq!(keys.len(), KNOWN_KEYS.len() - 5, "{keys:?}");
    }

    /// Every stop byte at every offset of every word, after a start at
    /// every offset, among bytes that never stop a string (0x20, 0x7f,
    /// UTF-8 continuation and lead bytes): the first stop is found, and
    /// only a stop.
    #[test]
    fn string_stop_finds_the_first_quote_backslash_or_control_byte() {
        let naive = |b: &[u8], i: usize| {
            b[i..]
                .iter()
                .position(|&c| c == b'"' || c == b'\\' || c < 0x20)
                .map(|n| i + n)
        };
        let fillers: [&[u8]; 4] = [b"a", b" ", b"\x7f", "\u{e9}\u{1f600}".as_bytes()];
        let stops = [b'"', b'\\', 0, b'\n', 0x1f];
        for filler in fillers {
            for len in 0..40 {
                let base: Vec<u8> = filler.iter().copied().cycle().take(len).collect();
                for start in 0..=len.min(9) {
                    assert_eq!(string_stop(&base, start), None, "{base:?} from {start}");
                    for at in start..len {
                        for stop in stops {
                            let mut b = base.clone();
                            b[at] = stop;
                            // A second stop later never hides the first.
                            if at + 3 < len {
                                b[at + 3] = b'"';
                            }
                            assert_eq!(string_stop(&b, start), naive(&b, start), "{b:?} from {start}");
                            assert_eq!(string_stop(&b, start), Some(at), "{b:?} from {start}");
                        }
                    }
                }
            }
        }
    }

    /// The one-pass integer reader agrees with `u64`'s own parser at the
    /// edges: 19, 20 and 21 digits, the largest value and one past it.
    #[test]
    fn plain_uint_reads_what_u64_parses_and_refuses_the_rest() {
        for text in [
            "0",
            "7",
            "10",
            "4294967296",
            "9999999999999999999",
            "10000000000000000000",
            "18446744073709551615",
        ] {
            let want: u64 = text.parse().unwrap();
            for tail in ["", ",", "}", " "] {
                let b = format!("{text}{tail}");
                assert_eq!(plain_uint(b.as_bytes(), 0), Some((want, text.len())), "{b}");
            }
        }
        for text in [
            "18446744073709551616",
            "99999999999999999999",
            "100000000000000000000",
            "00",
            "01",
            "1.5",
            "1e3",
            "1E3",
            "0.0",
        ] {
            assert_eq!(plain_uint(text.as_bytes(), 0), None, "{text}");
        }
        let mut x = 1u64;
        while let Some(next) = x.checked_mul(3) {
            let text = x.to_string();
            assert_eq!(plain_uint(text.as_bytes(), 0), Some((x, text.len())));
            x = next;
        }
    }

    /// Strings with nothing to escape are copied, the rest escaped by
    /// serde_json: either way the bytes serde_json writes.
    #[test]
    fn encode_copies_plain_strings_as_serde_json_writes_them() {
        for text in ["", "a", "serving", "\u{7f}", "h\u{e9}llo \u{1f600}", "a\"b", "a\\b", "\u{1}", "tab\t"] {
            let mut r = full();
            r.message = Some(text.to_owned());
            r.host = Some(text.to_owned());
            assert_eq!(encode(&r), encode_by_value(&r), "{text:?}");
        }
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

    /// What the full parser makes of `text`, the fields' rules applied.
    fn by_full_parser(text: &str) -> Result<Record, DecodeError> {
        full_slots(text).and_then(|s| from_slots(&s))
    }

    #[test]
    fn the_flat_reader_agrees_with_the_full_parser() {
        let base = r#""v":1,"pid":7,"state":"ready","seq":1,"updated_at_ms":5"#;
        let writer = String::from_utf8(encode(&full())).unwrap();
        // The writer's own records, meta included, take the flat path.
        for taken in [
            writer.as_str(),
            &format!("{{{base}}}"),
            &format!(" \t\r\n{{ {base} , \"meta\" : {{ }} }}\n"),
            &format!("{{{base},\"message\":\"h\u{e9}llo \u{1f600}\",\"meta\":{{\"a\":\"\"}}}}"),
            &format!("{{{base},\"progress\":18446744073709551615}}"),
            &format!("{{{base},\"progress\":0}}"),
            r#"{"pid":1,"status":"idle","updatedAtMs":0,"hostname":"a"}"#,
            "{}",
        ] {
            assert!(flat_slots(taken).is_some(), "{taken}");
        }
        // Anything else is left to the full parser.
        for left in [
            format!("{{{base},\"pid\":7}}"),
            format!("{{{base},\"meta\":{{\"a\":\"x\",\"a\":\"y\"}}}}"),
            format!("{{{base},\"x\":1}}"),
            format!("{{{base},\"host\":\"a\\u0062\"}}"),
            format!("{{{base},\"host\":\"a\tb\"}}"),
            format!("{{{base},\"progress\":01}}"),
            format!("{{{base},\"progress\":1.0}}"),
            format!("{{{base},\"progress\":1e3}}"),
            format!("{{{base},\"progress\":-1}}"),
            format!("{{{base},\"progress\":18446744073709551616}}"),
            format!("{{{base},\"progress\":null}}"),
            format!("{{{base},\"host\":{{}}}}"),
            format!("{{{base},\"meta\":{{\"a\":1}}}}"),
            format!("{{{base},\"meta\":[]}}"),
            format!("{{{base}}} x"),
            format!("{{{base}}}{{}}"),
            format!("{{{base},}}"),
            format!("\u{feff}{{{base}}}"),
            format!("{{{base}"),
            "[1]".to_string(),
            String::new(),
        ] {
            assert!(flat_slots(&left).is_none(), "{left}");
        }
        // Where it reads, it reads what the full parser reads: every
        // vector, and the texts above.
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors");
        let mut texts: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .filter_map(|e| std::fs::read(e.ok()?.path()).ok())
            .filter_map(|b| String::from_utf8(b).ok())
            .collect();
        texts.push(writer);
        texts.push(format!("{{{base},\"progress\":18446744073709551615}}"));
        let mut flat = 0;
        for text in &texts {
            if let Some(slots) = flat_slots(text) {
                flat += 1;
                assert_eq!(from_slots(&slots), by_full_parser(text), "{text}");
            }
        }
        assert!(flat > 20, "only {flat} of {} texts read flat", texts.len());
    }

    #[test]
    fn message_is_cut_at_a_character_boundary() {
        let s = "é".repeat(3000); // 6000 bytes
        let cut = truncate_utf8(&s, MAX_MESSAGE_BYTES);
        assert_eq!(cut.len(), 4096);
        assert_eq!(truncate_utf8("aé", 2), "a");
    }
}
