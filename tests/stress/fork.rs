//! Fork: the child starts its own emitter; the parent's thread keeps writing.

use super::*;

/// In a fresh process: an emitter, a fork; the child is refused the parent's
/// emitter, but starts its own; the parent's thread keeps refreshing.
pub(crate) fn role_fork(a: &Value) {
    let p = arg_path(a, "parent");
    let q = arg_path(a, "child");
    let e = Emitter::start_with(&p, {
        let mut o = Options::default();
        o.interval = Duration::from_millis(10);
        o.log_errors = false;
        o
    })
    .unwrap();
    // SAFETY: the child only calls the emitter API and then _exit.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0);
    if pid == 0 {
        let refused =
            |r: lifesign::Result<()>| matches!(r, Err(ref x) if x.kind == ErrorKind::State);
        let mut code = 0;
        if !(refused(e.beat())
            && refused(e.progress())
            && refused(e.set_state(State::Failed, Some("child")))
            && refused(e.set_meta("who", Some("child")))
            && refused(e.stop()))
        {
            code = 1;
        }
        match Emitter::start(&q, Duration::from_secs(3600)) {
            Ok(own) => {
                if own.set_state(State::Ready, None).is_err() || own.stop().is_err() {
                    code = 2;
                }
            }
            Err(_) => code = 3,
        }
        drop(e); // releases memory only
                 // SAFETY: ends the child without running the parent's exit handlers.
        unsafe { libc::_exit(code) };
    }
    let mut status = 0;
    // SAFETY: waits for our own child.
    unsafe { libc::waitpid(pid, &mut status, 0) };
    assert!(libc::WIFEXITED(status), "child status {status}");
    assert_eq!(libc::WEXITSTATUS(status), 0, "the child saw a wrong answer");
    let theirs = record(&q);
    assert_eq!(
        (theirs.pid, theirs.state),
        (pid as u32, Some(State::Stopped))
    );
    let mine = record(&p);
    assert_eq!(mine.pid, std::process::id());
    assert_ne!(
        mine.state,
        Some(State::Failed),
        "the child wrote the parent's file"
    );
    // The parent's refresh thread goes on (bounded wait: only a dead thread fails).
    let mut later = mine.seq;
    for _ in 0..6000 {
        later = record(&p).seq;
        if later >= mine.seq + 3 {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(
        later >= mine.seq + 3,
        "the parent's thread stopped refreshing"
    );
    e.stop().unwrap();
    say("ok");
}

#[test]
fn after_fork_the_child_starts_its_own_emitter_and_the_parents_thread_keeps_writing() {
    let d = TempDir::new("fork");
    let c = Child::role(
        "fork",
        &json!({ "parent": d.path("parent.json"), "child": d.path("child.json") }),
    );
    let said = c.finish();
    assert!(said.iter().any(|l| l == "ok"), "{said:?}");
}
