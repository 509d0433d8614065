//! The heartbeat decoder on any bytes: never panics, never hangs, and what
//! it accepts is well formed and survives a write-and-read-back.

#![no_main]

use libfuzzer_sys::fuzz_target;
use lifesign::protocol::{decode, encode, Shape, MAX_FILE_BYTES, MAX_MESSAGE_BYTES, MAX_PID};

fuzz_target!(|data: &[u8]| {
    // The checker never hands the decoder more than the file limit.
    if data.len() as u64 > MAX_FILE_BYTES {
        return;
    }
    let Ok(r) = decode(data) else { return };
    assert!(r.pid >= 1 && i64::from(r.pid) <= MAX_PID, "pid {}", r.pid);
    assert!(r.state.is_some());
    assert!(r.interval_ms != Some(0) && r.stale_after_ms != Some(0));
    match r.shape {
        Shape::V1 => assert!(r.v >= 1 && r.seq >= 1),
        Shape::None => panic!("a decoded record without a shape"),
        _ => assert_eq!(r.v, 0),
    }
    // A v1 record within the writer's limits, written again, reads back
    // identically.
    if r.shape == Shape::V1
        && r.v == 1
        && r.message
            .as_ref()
            .is_none_or(|m| m.len() <= MAX_MESSAGE_BYTES)
    {
        let again = decode(&encode(&r)).expect("a re-encoded record decodes");
        assert_eq!(again, r);
    }
});
