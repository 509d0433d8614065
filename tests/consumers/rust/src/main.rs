//! Uses the curated API end to end: emit, check, wait, the log hook.

use std::sync::Arc;
use std::time::Duration;

fn main() -> lifesign::Result<()> {
    let path = std::env::args().nth(1).expect("usage: consumer PATH");
    lifesign::set_log_handler(Some(Arc::new(|level, message: &str| {
        println!("log {level}: {message}")
    })));
    let hb = lifesign::Emitter::start(&path, Duration::from_secs(1))?;
    hb.set_state(lifesign::State::Ready, Some("up"))?;
    let report = lifesign::check(&path, &lifesign::CheckOptions::default());
    assert_eq!(report.verdict, lifesign::Verdict::Alive, "{}", report.detail);
    let waited = lifesign::wait_ready(&path, &lifesign::WaitOptions::default());
    assert!(waited.is_ready());
    hb.stop()?;
    println!("{} {}", lifesign::VERSION, report.verdict);
    Ok(())
}
