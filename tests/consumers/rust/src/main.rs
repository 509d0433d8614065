//! Uses the curated API end to end: emit, check, wait, the log hook, the
//! errors; the options built as a dependent must (with setters).

use std::sync::Arc;
use std::time::Duration;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args().nth(1).expect("usage: consumer PATH");
    lifesign::set_log_handler(Some(Arc::new(|level, message: &str| {
        println!("log {level}: {message}")
    })));
    let opts = lifesign::Options::default()
        .interval(Duration::from_secs(1))
        .message("starting");
    let hb = lifesign::Emitter::start_with(&path, opts)?;
    hb.set_state(lifesign::State::Ready, Some("up"))?;
    let check = lifesign::CheckOptions::default()
        .max_age(Duration::from_secs(10))
        .expected_pid(std::process::id());
    let report = lifesign::check(&path, &check);
    assert_eq!(report.verdict, lifesign::Verdict::Alive, "{}", report.detail);
    assert!(lifesign::is_alive(&path, None));
    let wait = lifesign::WaitOptions::default().timeout(Duration::from_secs(600));
    let ready = lifesign::wait_ready(&path, &wait)?;
    assert_eq!(ready.state, Some(lifesign::State::Ready));
    hb.stop()?;

    // A wait that can no longer end ready says why, with the last report.
    let err = lifesign::wait_ready(&path, &wait).expect_err("a stopped emitter is never ready");
    assert_eq!(err.kind(), lifesign::WaitErrorKind::NotReady, "{err}");
    assert_eq!(err.report().state, Some(lifesign::State::Stopped), "{err}");

    // An I/O failure keeps the operating system's error as its source.
    let bad = std::path::Path::new(&path).join("under-a-file/hb.json");
    let err = lifesign::Emitter::start(&bad, Duration::from_secs(1)).expect_err("a file is no folder");
    assert_eq!(err.kind, lifesign::ErrorKind::Io, "{err}");
    let source = std::error::Error::source(&err)
        .and_then(|s| s.downcast_ref::<std::io::Error>())
        .expect("an io::Error source");
    assert_eq!(source.raw_os_error(), Some(libc_enotdir()), "{err}: {source}");

    println!("{} {}", lifesign::VERSION, report.verdict);
    Ok(())
}

/// ENOTDIR on Linux (the consumer has no libc dependency).
fn libc_enotdir() -> i32 {
    20
}
