//! The install round trip of `make test-dist` for the crate: `roundtrip
//! FILE` starts `roundtrip emit FILE` as a child, waits for it to become
//! ready, checks it, kills it with SIGKILL and reads process_gone.
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use lifesign::{check, wait_ready, CheckOptions, Emitter, State, Verdict, WaitOptions};

fn emit(path: &str) {
    let e = Emitter::start(path, Duration::from_secs(1)).expect("start");
    println!("started");
    e.set_state(State::Ready, Some("serving")).expect("set_state");
    loop {
        std::thread::park();
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() == 3 && args[1] == "emit" {
        return emit(&args[2]);
    }
    let path = &args[1];
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["emit", path])
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn the emitter");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    assert_eq!(line, "started\n", "the emitter did not start");
    let pid = child.id();

    let waited = wait_ready(
        path,
        &WaitOptions::default().expected_pid(pid).timeout(Duration::from_secs(60)),
    );
    let ready = waited.unwrap_or_else(|e| panic!("wait: {e} {:?}", e.report()));
    assert_eq!(ready.state, Some(State::Ready), "{ready:?}");
    let r = check(path, &CheckOptions::default().expected_pid(pid));
    assert_eq!((r.verdict, r.state), (Verdict::Alive, Some(State::Ready)));
    child.kill().unwrap();
    child.wait().unwrap();
    let r = check(path, &CheckOptions::default());
    assert_eq!(r.verdict, Verdict::ProcessGone, "{r:?}");
    println!("version: {}\nround trip: ok", lifesign::VERSION);
}
