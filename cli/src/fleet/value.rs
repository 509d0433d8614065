//! The value stored under each key: the heartbeat record as the relay read
//! it, the relay's local verdict and its reason, and who relayed it
//! (PROTOCOL.md, "Fleet", schema `lifesign.fleet/1`).

use lifesign::{Report, Shape, State, Verdict};
use serde::{Deserialize, Serialize};

/// The schema name every value carries in `schema`.
pub const SCHEMA: &str = "lifesign.fleet/1";

/// The time limit of a key whose file has no staleness rule of its own
/// (an invalid file): the protocol's default max age.
pub const DEFAULT_TTL_MS: u64 = 30_000;

/// One published heartbeat.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Value {
    /// Always [`SCHEMA`].
    pub schema: String,
    /// The relay's host id (the key's first part, unescaped).
    pub host_id: String,
    /// The file name without `.json` (the key's second part, unescaped).
    pub name: String,
    /// The heartbeat file's path on the relay's host.
    pub file: String,
    /// The relay's local verdict (PROTOCOL.md section 3).
    pub verdict: String,
    /// Why, as the local checker put it.
    pub detail: String,
    /// The record's state, when it parsed.
    pub state: Option<String>,
    /// The record's PID (0 when it did not parse).
    pub pid: u32,
    /// The record's write counter.
    pub seq: u64,
    /// The work-progress counter.
    pub progress: u64,
    /// When progress last changed (origin clock).
    pub progress_at_ms: Option<u64>,
    /// When the record was written (origin clock).
    pub updated_at_ms: u64,
    /// The record's age when the relay checked it (origin clock).
    pub age_ms: u64,
    /// The emitter's interval.
    pub interval_ms: u64,
    /// The max age the relay applied: the file's own staleness rule.
    pub max_age_ms: u64,
    /// The emitter's message.
    pub message: String,
    /// The layout the relay read (`v1`, `plain`, ...; `none` when invalid).
    pub shape: String,
    /// The key's time limit in whole seconds, as set in `Nats-TTL`.
    pub ttl_s: u64,
    /// When the relay checked the file (origin clock, Unix ms).
    pub observed_at_ms: u64,
    /// Who relayed it.
    pub relay: Relay,
    /// The heartbeat file's JSON as read, or `null` when it is not JSON.
    pub record: Option<serde_json::Value>,
}

/// The relay that published a value.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Relay {
    /// Its `--host-id`.
    pub host_id: String,
    /// The hostname of the machine it runs on.
    pub hostname: String,
    /// Its PID.
    pub pid: u32,
    /// The lifesign version.
    pub version: String,
    /// When it started (Unix ms).
    pub started_at_ms: u64,
}

/// The key's time limit for a report: the file's own staleness rule (the
/// max age the checker applied), rounded up to whole seconds, at least 1 s.
pub fn ttl_s(r: &Report) -> u64 {
    let ms = if r.max_age_ms == 0 {
        DEFAULT_TTL_MS
    } else {
        r.max_age_ms
    };
    ms.div_ceil(1000).max(1)
}

impl Value {
    /// The value for a local report.
    pub fn new(
        relay: &Relay,
        name: &str,
        file: &str,
        r: &Report,
        record: Option<serde_json::Value>,
        observed_at_ms: u64,
    ) -> Value {
        Value {
            schema: SCHEMA.into(),
            host_id: relay.host_id.clone(),
            name: name.into(),
            file: file.into(),
            verdict: r.verdict.as_str().into(),
            detail: r.detail.clone(),
            state: r.state.map(|s| s.as_str().into()),
            pid: r.pid,
            seq: r.seq,
            progress: r.progress,
            progress_at_ms: r.progress_at_ms,
            updated_at_ms: r.updated_at_ms,
            age_ms: r.age_ms,
            interval_ms: r.interval_ms,
            max_age_ms: r.max_age_ms,
            message: r.message.clone(),
            shape: r.shape.as_str().into(),
            ttl_s: ttl_s(r),
            observed_at_ms,
            relay: relay.clone(),
            record,
        }
    }

    /// Parses a value; the error says why it is not one.
    pub fn decode(bytes: &[u8]) -> Result<Value, String> {
        let v: Value =
            serde_json::from_slice(bytes).map_err(|e| format!("not a fleet value: {e}"))?;
        if v.schema != SCHEMA {
            return Err(format!("schema {:?}, not {SCHEMA:?}", v.schema));
        }
        Ok(v)
    }

    /// The report a remote reader gives for this value: the origin's
    /// verdict and figures as the relay saw them.
    pub fn to_report(&self) -> Result<Report, String> {
        let verdict = Verdict::ALL
            .iter()
            .copied()
            .find(|v| v.as_str() == self.verdict)
            .ok_or_else(|| format!("unknown verdict {:?}", self.verdict))?;
        let state = match &self.state {
            None => None,
            Some(s) => Some(
                State::ALL
                    .iter()
                    .copied()
                    .find(|st| st.as_str() == s)
                    .ok_or_else(|| format!("unknown state {s:?}"))?,
            ),
        };
        let shape = Shape::ALL
            .iter()
            .copied()
            .find(|sh| sh.as_str() == self.shape)
            .unwrap_or(Shape::None);
        Ok(Report {
            verdict,
            state,
            pid: self.pid,
            seq: self.seq,
            progress: self.progress,
            progress_at_ms: self.progress_at_ms,
            progress_age_ms: 0,
            updated_at_ms: self.updated_at_ms,
            age_ms: self.age_ms,
            interval_ms: self.interval_ms,
            max_age_ms: self.max_age_ms,
            message: self.message.clone(),
            shape,
            detail: self.detail.clone(),
            // Judged on the relay's host: no age here is on this host's clock.
            monotonic: false,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(verdict: Verdict, max_age_ms: u64) -> Report {
        Report {
            verdict,
            state: Some(State::Ready),
            pid: 42,
            seq: 7,
            progress: 3,
            progress_at_ms: Some(5),
            progress_age_ms: 0,
            updated_at_ms: 1000,
            age_ms: 12,
            interval_ms: 1000,
            max_age_ms,
            message: "up".into(),
            shape: Shape::V1,
            detail: String::new(),
            monotonic: false,
        }
    }

    fn relay() -> Relay {
        Relay {
            host_id: "web1".into(),
            hostname: "web1.example".into(),
            pid: 9,
            version: "0.1.0".into(),
            started_at_ms: 1,
        }
    }

    #[test]
    fn a_value_reads_back_as_the_origin_report() {
        for v in Verdict::ALL.iter().copied() {
            let r = report(v, 3000);
            let val = Value::new(&relay(), "app", "/run/app.json", &r, None, 1012);
            let bytes = serde_json::to_vec(&val).unwrap();
            let back = Value::decode(&bytes).unwrap();
            assert_eq!(back, val);
            assert_eq!(back.to_report().unwrap(), r);
        }
    }

    #[test]
    fn the_time_limit_is_the_files_staleness_rule_in_whole_seconds() {
        assert_eq!(ttl_s(&report(Verdict::Alive, 3000)), 3);
        assert_eq!(ttl_s(&report(Verdict::Alive, 3001)), 4);
        assert_eq!(ttl_s(&report(Verdict::Alive, 300)), 1);
        assert_eq!(ttl_s(&report(Verdict::Invalid, 0)), 30);
    }

    #[test]
    fn another_schema_or_verdict_is_refused() {
        let mut val = Value::new(
            &relay(),
            "a",
            "/a.json",
            &report(Verdict::Alive, 1),
            None,
            0,
        );
        val.schema = "other/1".into();
        assert!(Value::decode(&serde_json::to_vec(&val).unwrap()).is_err());
        val.schema = SCHEMA.into();
        val.verdict = "sleepy".into();
        assert!(val.to_report().is_err());
        assert!(Value::decode(b"{}").is_err());
    }
}
