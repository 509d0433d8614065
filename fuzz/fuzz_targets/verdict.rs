//! The verdict rules on any record and any checker facts: never panic, keep
//! their order, and ask the process probe only about writers on this host,
//! in this PID namespace, in this boot, with a PID in 1..=2147483647.

#![no_main]

use libfuzzer_sys::arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;
use lifesign::check::{verdict, CheckOptions, Facts, Read, Verdict};
use lifesign::process::{Identity, Liveness};
use lifesign::protocol::{decode, State, MAX_PID};
use std::time::Duration;

fn pick(u: &mut Unstructured<'_>) -> Result<Option<String>> {
    Ok(match u.int_in_range(0u8..=2)? {
        0 => None,
        1 => Some("a".into()),
        _ => Some("b".into()),
    })
}

fn run(data: &[u8]) -> Result<()> {
    let mut u = Unstructured::new(data);
    let id = Identity {
        host: pick(&mut u)?,
        boot_id: pick(&mut u)?,
        pid_ns: u.arbitrary::<Option<bool>>()?.map(u64::from),
        ..Identity::default()
    };
    let now: u64 = u.arbitrary()?;
    let ms = Duration::from_millis;
    let mut opts = CheckOptions::default();
    if let Some(max_age) = u.arbitrary::<Option<u64>>()? {
        opts = opts.max_age(ms(max_age));
    }
    if let Some(pid) = u.arbitrary::<Option<u32>>()? {
        opts = opts.expected_pid(pid % MAX_PID as u32 + 1);
    }
    if let Some(stall) = u.arbitrary::<Option<u64>>()? {
        opts = opts.stall(ms(stall));
    }
    if let Some(skew) = u.arbitrary::<Option<u64>>()? {
        opts = opts.skew(ms(skew));
    }
    opts = opts.ignore_clock(u.arbitrary()?);
    let gone: bool = u.arbitrary()?;
    let rest = u.take_rest();
    let read = if rest.is_empty() {
        Read::Missing
    } else {
        match decode(rest) {
            Ok(r) => Read::Record(r),
            Err(e) => Read::Invalid(e.0),
        }
    };
    let mut probed = false;
    let rep = verdict(
        &read,
        Facts {
            now_ms: now,
            mono_ms: None,
            identity: &id,
        },
        &opts,
        |pid, _| {
            probed = true;
            assert!(pid >= 1 && i64::from(pid) <= MAX_PID, "probe of pid {pid}");
            if gone {
                Liveness::Gone
            } else {
                Liveness::Running
            }
        },
    );
    match &read {
        Read::Missing => assert_eq!(rep.verdict, Verdict::Missing),
        Read::Invalid(_) => assert_eq!((rep.verdict, rep.state), (Verdict::Invalid, None)),
        Read::Record(r) => {
            let same = |t: &Option<String>, o: &Option<String>| t.is_none() || t == o;
            let local = same(&r.host, &id.host) && (r.pid_ns.is_none() || r.pid_ns == id.pid_ns);
            let other_boot = matches!((&r.boot_id, &id.boot_id), (Some(t), Some(o)) if t != o);
            if probed {
                assert!(
                    local && !other_boot,
                    "a foreign or earlier-boot writer was probed"
                );
            }
            if opts.expected_pid.is_some_and(|p| p != r.pid) {
                assert_eq!(rep.verdict, Verdict::PidMismatch);
            } else if r.state == Some(State::Stopped) {
                assert_eq!(rep.verdict, Verdict::Stopped);
            } else if r.state == Some(State::Failed) {
                assert_eq!(rep.verdict, Verdict::Failed);
            }
            if rep.verdict == Verdict::Alive && !opts.ignore_clock {
                let skew = opts
                    .skew
                    .map_or(2000, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
                assert!(r.updated_at_ms <= now.saturating_add(skew));
                assert!(rep.age_ms <= rep.max_age_ms);
            }
            assert_eq!((rep.pid, rep.seq, rep.state), (r.pid, r.seq, r.state));
        }
    }
    Ok(())
}

fuzz_target!(|data: &[u8]| {
    let _ = run(data);
});
