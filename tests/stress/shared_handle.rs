//! One handle, many threads (the Rust API and the C ABI).

use super::*;

#[test]
fn one_handle_shared_by_threads_never_deadlocks_and_ends_stopped() {
    let d = TempDir::new("threads");
    let rounds = scale(20, 400);
    let mut ops_total = 0u64;
    for round in 0..rounds {
        let p = d.path("hb.json");
        let ops = within(120, "a round of racing calls", move || {
            let e = Arc::new(
                Emitter::start_with(&p, {
                    let mut o = Options::default();
                    o.interval = Duration::from_millis(10);
                    o.log_errors = false;
                    o
                })
                .unwrap(),
            );
            let threads = 6;
            let start = Arc::new(Barrier::new(threads));
            let count = Arc::new(AtomicU64::new(0));
            let handles: Vec<_> = (0..threads)
                .map(|t| {
                    let (e, start, count) =
                        (Arc::clone(&e), Arc::clone(&start), Arc::clone(&count));
                    std::thread::spawn(move || {
                        start.wait();
                        let mut stopped_here = false;
                        for n in 0..200usize {
                            let r = match (n + t) % 6 {
                                0 => e.beat(),
                                1 => e.progress(),
                                2 => e.set_state(State::Ready, Some("busy")),
                                3 => e.set_state(State::Failed, Some("racing")),
                                4 => e.set_meta("n", Some(&n.to_string())),
                                _ if t == round as usize % threads
                                    && n == 100 + round as usize % 50 =>
                                {
                                    let r = e.stop();
                                    stopped_here = r.is_ok();
                                    r
                                }
                                _ => e.beat(),
                            };
                            count.fetch_add(1, Ordering::Relaxed);
                            if stopped_here && n > 100 + round as usize % 50 {
                                // After our stop returned, every call is refused.
                                match &r {
                                    Err(err) => assert_eq!(err.kind, ErrorKind::State, "{err}"),
                                    Ok(()) => panic!("call {n} succeeded after stop"),
                                }
                            }
                        }
                    })
                })
                .collect();
            for h in handles {
                h.join().expect("no thread panicked");
            }
            e.stop().unwrap();
            let r = record(&p);
            assert_eq!(r.state, Some(State::Stopped), "the final state was lost");
            assert_eq!(e.beat().unwrap_err().kind, ErrorKind::State);
            assert_eq!(record(&p).seq, r.seq, "a write landed after stop");
            count.load(Ordering::Relaxed)
        });
        ops_total += ops;
    }
    figure(
        "one_handle_threads",
        &[
            ("rounds", rounds.to_string()),
            ("threads", "6".into()),
            ("calls", ops_total.to_string()),
            ("deadlocks", "0".into()),
            ("lost_final_states", "0".into()),
        ],
    );
}

/// A C handle as a value that threads may share (the C ABI is thread-safe).
#[derive(Clone, Copy)]
struct Handle(*mut ffi::lifesign_emitter);
// SAFETY: every lifesign_* call on a live handle is thread-safe (header).
unsafe impl Send for Handle {}
// SAFETY: as above.
unsafe impl Sync for Handle {}

#[test]
fn one_c_handle_shared_by_threads_never_deadlocks_and_ends_stopped() {
    let d = TempDir::new("cthreads");
    let rounds = scale(20, 400);
    let path = CString::new(d.path("hb.json").as_os_str().as_bytes()).unwrap();
    let p = d.path("hb.json");
    for round in 0..rounds {
        let path = path.clone();
        let p = p.clone();
        within(120, "a round of racing C calls", move || {
            let mut raw = std::ptr::null_mut();
            // SAFETY: valid C string and out pointer.
            assert_eq!(
                unsafe { ffi::lifesign_start(path.as_ptr(), 10, &mut raw) },
                0
            );
            let h = Handle(raw);
            let handles: Vec<_> = (0..4)
                .map(|t| {
                    std::thread::spawn(move || {
                        let h = h;
                        for n in 0..150 {
                            // SAFETY: the handle stays live until every thread is joined.
                            let rc = unsafe {
                                match (n + t) % 5 {
                                    0 => ffi::lifesign_beat(h.0),
                                    1 => ffi::lifesign_progress(h.0),
                                    2 => ffi::lifesign_set_state(h.0, 1, c"ok".as_ptr()),
                                    3 => ffi::lifesign_set_meta(h.0, c"k".as_ptr(), c"v".as_ptr()),
                                    _ if n == 75 + round % 20 => ffi::lifesign_stop(h.0),
                                    _ => ffi::lifesign_beat(h.0),
                                }
                            };
                            assert!(
                                rc == 0 || rc == ErrorKind::State.code(),
                                "unexpected code {rc}"
                            );
                        }
                    })
                })
                .collect();
            for t in handles {
                t.join().expect("no thread panicked");
            }
            // SAFETY: no other thread uses the handle any more.
            unsafe {
                assert_eq!(ffi::lifesign_stop(h.0), 0);
                ffi::lifesign_free(h.0);
            }
            assert_eq!(record(&p).state, Some(State::Stopped));
        });
    }
}
