//! Must fail to compile: the option structs are built with `Default` and
//! setters (later versions may add options).
use std::time::Duration;

fn main() {
    let _ = lifesign::CheckOptions {
        max_age: Some(Duration::from_secs(1)),
        expected_pid: None,
        stall: None,
        skew: None,
        ignore_clock: false,
    };
    let _ = lifesign::WaitOptions {
        expected_pid: None,
        idle_timeout: None,
        timeout: None,
        cancel: None,
        force_polling: false,
    };
}
