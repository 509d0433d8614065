//! The live demonstration: a launcher starts a child that emits, shows its
//! states as they change, then kills it and shows `process_gone`.
//!
//! Run with `make demo` (or `cargo run --release --example demo`).

use lifesign::wait::{wait_ready_with, WaitOptions};
use lifesign::{check, CheckOptions, Emitter, State, Verdict};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn child() -> lifesign::Result<()> {
    // The launcher's handoff: LIFESIGN_FILE and LIFESIGN_INTERVAL_MS.
    let hb = Emitter::start_from_env()?.expect("started by the demo launcher");
    for step in [
        "resolving dependencies",
        "installing 42 packages",
        "running migrations",
    ] {
        hb.set_state(State::Starting, Some(step))?;
        for _ in 0..4 {
            std::thread::sleep(Duration::from_millis(150));
            hb.progress()?; // the work loop moves
        }
    }
    hb.set_state(State::Ready, Some("listening on 127.0.0.1:8080"))?;
    loop {
        std::thread::sleep(Duration::from_millis(100));
        hb.progress()?;
    }
}

fn main() {
    if std::env::args().nth(1).as_deref() == Some("--child") {
        if let Err(e) = child() {
            eprintln!("child: {e}");
            std::process::exit(1);
        }
        return;
    }
    let dir = std::env::temp_dir().join(format!("lifesign-demo-{}", std::process::id()));
    let file = dir.join("backend.json");
    let t0 = Instant::now();
    let say = |msg: String| println!("[{:>6.3}s] {msg}", t0.elapsed().as_secs_f64());

    let mut backend = Command::new(std::env::current_exe().unwrap())
        .arg("--child")
        .env("LIFESIGN_FILE", &file)
        .env("LIFESIGN_INTERVAL_MS", "200")
        .stdin(Stdio::null())
        .spawn()
        .expect("start the child");
    let pid = backend.id();
    say(format!(
        "launcher: started backend pid {pid}, heartbeat {}",
        file.display()
    ));

    let mut last = None;
    let outcome = wait_ready_with(
        &file,
        &{
            let mut o = WaitOptions::default();
            o.expected_pid = Some(pid);
            o.idle_timeout = Some(Duration::from_secs(5));
            o.timeout = Some(Duration::from_secs(60));
            o
        },
        |r| {
            let key = (r.verdict, r.state, r.message.clone());
            if last.as_ref() != Some(&key) {
                let state = r.state.map_or("-".to_string(), |s| s.to_string());
                say(format!(
                    "launcher: {:<8} state {:<9} seq {:<3} {}",
                    r.verdict.as_str(),
                    state,
                    r.seq,
                    r.message
                ));
                last = Some(key);
            }
        },
    );
    if let Err(e) = outcome {
        say(format!("launcher: backend never got ready: {e}"));
        let _ = backend.kill();
        std::process::exit(1);
    }
    say("launcher: backend is READY (event-driven wait, no polling loop)".into());

    std::thread::sleep(Duration::from_millis(500));
    let r = check(&file, &CheckOptions::default());
    say(format!(
        "probe:    {} (pid {}, seq {}, age {} ms, progress {})",
        r.verdict, r.pid, r.seq, r.age_ms, r.progress
    ));

    say(format!("launcher: kill -9 {pid}"));
    backend.kill().expect("kill the child");
    let _ = backend.wait();
    let r = check(&file, &CheckOptions::default());
    say(format!(
        "probe:    {} (the file is only {} ms old, but pid {} is gone: {})",
        r.verdict, r.age_ms, r.pid, r.detail
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::process::exit(if r.verdict == Verdict::ProcessGone {
        0
    } else {
        1
    });
}
