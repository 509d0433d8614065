//! `lifesign wait FILE`: block until the emitter is ready or never will be.

use crate::args::{one_positional, required, unknown, Arg, Args, Res};
use crate::output::{report_line, Json, Progress};
use crate::signals;
use lifesign::{WaitErrorKind, WaitOptions};
use serde::Serialize;

#[derive(Serialize)]
struct Outcome<'a> {
    ready: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a str>,
}

pub fn main(mut a: Args) -> Res<u8> {
    let mut file = None;
    let mut expected_pid = None;
    let mut idle_timeout = None;
    let mut timeout = None;
    let mut json = false;
    let mut quiet = false;
    while let Some(arg) = a.next()? {
        match arg {
            Arg::Long(f) if f == "pid" => expected_pid = Some(a.pid(&f)?),
            Arg::Long(f) if f == "idle-timeout" => idle_timeout = a.timeout(&f)?,
            Arg::Long(f) if f == "timeout" => timeout = a.timeout(&f)?,
            Arg::Long(f) if f == "json" => json = true,
            Arg::Long(f) if f == "quiet" => quiet = true,
            Arg::Value(v) => one_positional(&mut file, v)?,
            other => return unknown("wait", other),
        }
    }
    let file = required("wait", file, "FILE")?;
    let cancel = signals::cancel_on_signal()?;
    let mut progress = Progress::new(quiet || json);
    let mut opts = WaitOptions::default().cancel(cancel);
    opts.expected_pid = expected_pid;
    opts.idle_timeout = idle_timeout;
    opts.timeout = timeout;
    let outcome = lifesign::wait_ready_with(&file, &opts, |r| progress.show("waiting", r));
    progress.done();
    // A decision other than ready is an answer, not an error of the wait.
    let (r, error) = match &outcome {
        Ok(r) => (r, None),
        Err(e) if e.kind() == WaitErrorKind::NotReady => (e.report(), None),
        Err(e) => (e.report(), Some(e)),
    };
    if json {
        let message = error.map(ToString::to_string);
        let extra = Outcome {
            ready: outcome.is_ok(),
            error: message.as_deref(),
        };
        println!("{}", Json::with(&file, r, extra).line());
    } else if let Some(e) = error {
        println!("{e}");
    } else if outcome.is_ok() {
        println!("ready: {}", report_line(r));
    } else {
        println!("not ready: {}", report_line(r));
    }
    Ok(match &outcome {
        Ok(_) => 0,
        Err(e) => match e.kind() {
            WaitErrorKind::Timeout => 124,
            WaitErrorKind::Cancelled => signals::INTERRUPTED,
            _ => 1,
        },
    })
}
