//! Every shared test vector gets its expected verdict, state and shape.

use lifesign::{check, CheckOptions};
use serde_json::Value;
use std::path::Path;
use std::time::Duration;

#[test]
fn every_shared_vector_gets_its_expected_verdict() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors");
    let cases: Vec<Value> =
        serde_json::from_str(&std::fs::read_to_string(dir.join("cases.json")).unwrap()).unwrap();
    assert!(cases.len() >= 40, "the vector list shrank: {}", cases.len());
    let mut failures = Vec::new();
    for c in &cases {
        let name = c["name"].as_str().unwrap();
        let pid = c["expected_pid"].as_i64().unwrap();
        let opts = {
            let mut o = CheckOptions::default();
            o.max_age = Some(Duration::from_millis(c["max_age_ms"].as_u64().unwrap()));
            o.expected_pid = (pid != 0).then_some(pid as u32);
            o.stall = Some(Duration::from_millis(c["stall_ms"].as_u64().unwrap()));
            o
        };
        let r = check(dir.join(c["file"].as_str().unwrap()), &opts);
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
}
