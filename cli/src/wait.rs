//! `lifesign wait FILE`: block until the emitter is ready or never will be.

use crate::args::{one_positional, required, unknown, Arg, Args, Res};
use crate::output::{report_line, Json, Progress};
use crate::signals;
use lifesign::{ErrorKind, WaitOptions};
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
    let outcome = lifesign::wait_ready_with(
        &file,
        &WaitOptions {
            expected_pid,
            idle_timeout,
            timeout,
            cancel: Some(cancel),
            force_polling: false,
        },
        |r| progress.show("waiting", r),
    );
    progress.done();
    let r = &outcome.report;
    if json {
        let extra = Outcome {
            ready: outcome.is_ready(),
            error: outcome.result.as_ref().err().map(|e| e.message.as_str()),
        };
        println!("{}", Json::with(&file, r, extra).line());
    } else if let Err(e) = &outcome.result {
        println!("{e}");
    } else if outcome.is_ready() {
        println!("ready: {}", report_line(r));
    } else {
        println!("not ready: {}", report_line(r));
    }
    Ok(match &outcome.result {
        Ok(()) if outcome.is_ready() => 0,
        Ok(()) => 1,
        Err(e) if e.kind == ErrorKind::Timeout => 124,
        Err(_) => signals::INTERRUPTED,
    })
}
