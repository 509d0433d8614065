//! Every shared test vector gets its expected verdict, state and shape: a
//! case with `facts` through `judge` (the bytes of its file under those
//! facts), every other through `check` (the file, on this machine).

use lifesign::{check, judge, CheckOptions, LockState, Observation, ProcessState, Report};
use serde_json::Value;
use std::path::Path;
use std::time::Duration;

/// Every key a case may have: a case with another is refused, so that no
/// runner skips what it does not know.
const CASE_KEYS: &[&str] = &[
    "name",
    "file",
    "max_age_ms",
    "expected_pid",
    "stall_ms",
    "verdict",
    "state",
    "shape",
    "updated_at_ms",
    "facts",
];
const FACTS_KEYS: &[&str] = &[
    "now_ms",
    "mono_ms",
    "host",
    "boot_id",
    "pid_ns",
    "time_ns",
    "lock",
    "process",
    "process_start",
];

/// The observation a case's `facts` describe (an absent key: not known).
fn observation(f: &Value) -> Observation {
    let text = |k: &str| f.get(k).and_then(Value::as_str).map(str::to_owned);
    let num = |k: &str| f.get(k).and_then(Value::as_u64);
    let named = |k: &str| f.get(k).and_then(Value::as_str).unwrap_or("unknown");
    Observation {
        now_ms: num("now_ms").expect("facts.now_ms"),
        mono_ms: num("mono_ms"),
        host: text("host"),
        boot_id: text("boot_id"),
        pid_ns: num("pid_ns"),
        time_ns: num("time_ns"),
        lock: *LockState::ALL
            .iter()
            .find(|l| l.as_str() == named("lock"))
            .expect("facts.lock"),
        process: *ProcessState::ALL
            .iter()
            .find(|p| p.as_str() == named("process"))
            .expect("facts.process"),
        process_start: num("process_start"),
    }
}

#[test]
fn every_shared_vector_gets_its_expected_verdict() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors");
    let cases: Vec<Value> =
        serde_json::from_str(&std::fs::read_to_string(dir.join("cases.json")).unwrap()).unwrap();
    assert!(cases.len() >= 40, "the vector list shrank: {}", cases.len());
    let mut failures = Vec::new();
    let mut judged = 0;
    for c in &cases {
        let name = c["name"].as_str().unwrap();
        for key in c.as_object().unwrap().keys() {
            assert!(
                CASE_KEYS.contains(&key.as_str()),
                "{name}: unknown key {key}"
            );
        }
        let pid = c["expected_pid"].as_i64().unwrap();
        let opts = {
            let mut o = CheckOptions::default();
            o.max_age = Some(Duration::from_millis(c["max_age_ms"].as_u64().unwrap()));
            o.expected_pid = (pid != 0).then_some(pid as u32);
            o.stall = Some(Duration::from_millis(c["stall_ms"].as_u64().unwrap()));
            o
        };
        let file = dir.join(c["file"].as_str().unwrap());
        let r: Report = match c.get("facts") {
            Some(f) => {
                for key in f.as_object().unwrap().keys() {
                    assert!(
                        FACTS_KEYS.contains(&key.as_str()),
                        "{name}: unknown fact {key}"
                    );
                }
                judged += 1;
                let bytes = match std::fs::read(&file) {
                    Ok(b) => Some(b),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
                    Err(e) => panic!("{name}: {e}"),
                };
                judge(bytes.as_deref(), &observation(f), &opts)
            }
            None => check(&file, &opts),
        };
        let got = (
            r.verdict.as_str(),
            r.state.map(|s| s.as_str()),
            r.shape.as_str(),
        );
        let want = (
            c["verdict"].as_str().unwrap(),
            c["state"].as_str(),
            c["shape"].as_str().unwrap(),
        );
        if got != want {
            failures.push(format!("{name}: got {got:?}, want {want:?} ({})", r.detail));
        }
        if let Some(at) = c.get("updated_at_ms").and_then(Value::as_u64) {
            if r.updated_at_ms != at {
                failures.push(format!(
                    "{name}: updated_at_ms {}, want {at}",
                    r.updated_at_ms
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(judged >= 60, "the facts vectors shrank: {judged}");
}

/// Every lock and process state, and every verdict, is pinned by a facts
/// vector: the clock, lock and process edges are shared by every language.
#[test]
fn the_facts_vectors_cover_every_lock_and_process_state_and_every_verdict() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors");
    let cases: Vec<Value> =
        serde_json::from_str(&std::fs::read_to_string(dir.join("cases.json")).unwrap()).unwrap();
    let with_facts: Vec<&Value> = cases.iter().filter(|c| c.get("facts").is_some()).collect();
    let has = |k: &str, v: &str| with_facts.iter().any(|c| c["facts"][k] == v);
    for l in LockState::ALL {
        assert!(has("lock", l.as_str()), "no facts vector with lock {l}");
    }
    for p in ProcessState::ALL {
        assert!(
            has("process", p.as_str()),
            "no facts vector with process {p}"
        );
    }
    for v in lifesign::Verdict::ALL {
        assert!(
            with_facts.iter().any(|c| c["verdict"] == v.as_str()),
            "no facts vector with verdict {v}"
        );
    }
}

/// The fleet value's `record` is the record as the checker decoded it
/// (docs/PROTOCOL.md, "Fleet"), which is what lets a reader of the bucket
/// judge it: under the same facts it gives the file's own report, every
/// clock, lock and process field carried exactly. Unknown fields are not
/// carried at all, so no number of the file is ever rounded into a float
/// (`123456789012345678901234567890` once became `1.2345678901234568e+29`,
/// when the value held the file's JSON re-serialised).
#[test]
fn the_relays_record_of_a_heartbeat_judges_as_the_heartbeat() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors");
    let cases: Vec<Value> =
        serde_json::from_str(&std::fs::read_to_string(dir.join("cases.json")).unwrap()).unwrap();
    let entry = |file: &str| {
        lifesign::check_entry(&dir, std::ffi::OsStr::new(file), &CheckOptions::default())
            .unwrap()
            .record
    };
    let mut judged = 0;
    for c in cases
        .iter()
        .filter(|c| c.get("facts").is_some() && c["shape"] == "v1")
    {
        let name = c["name"].as_str().unwrap();
        let file = c["file"].as_str().unwrap();
        let record = entry(file).unwrap_or_else(|| panic!("{name}: no record"));
        let pid = c["expected_pid"].as_i64().unwrap();
        let mut opts = CheckOptions::default()
            .max_age(Duration::from_millis(c["max_age_ms"].as_u64().unwrap()))
            .stall(Duration::from_millis(c["stall_ms"].as_u64().unwrap()));
        if pid != 0 {
            opts = opts.expected_pid(pid as u32);
        }
        let seen = observation(&c["facts"]);
        let of_file = judge(Some(&std::fs::read(dir.join(file)).unwrap()), &seen, &opts);
        assert_eq!(judge(Some(&record), &seen, &opts), of_file, "{name}");
        judged += 1;
    }
    assert!(judged >= 50, "{judged}");
    for (file, unknown) in [
        ("unknown_field_integer_beyond_2_64_is_ignored.json", "x"),
        ("newer_version_unknown_fields_ignored.json", "future_field"),
    ] {
        let record: serde_json::Map<String, Value> =
            serde_json::from_slice(&entry(file).unwrap()).unwrap();
        assert!(!record.contains_key(unknown), "{file}: {record:?}");
        for (k, v) in &record {
            assert!(!v.is_f64(), "{file}: {k} is a float: {v}");
        }
    }
}
