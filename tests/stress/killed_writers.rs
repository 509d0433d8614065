//! SIGKILL at random moments: a killed writer leaves a whole heartbeat, read as process gone.

use super::*;

#[test]
fn a_writer_killed_at_random_moments_leaves_a_whole_heartbeat_read_as_process_gone() {
    let d = TempDir::new("kill");
    let path = d.path("hb.json");
    let mut rng = Rng::seeded("kill");
    let iterations = scale(100, 1000);
    let mut writers: HashSet<u32> = HashSet::new();
    let mut ever_written = false;
    let mut leftovers: Vec<String> = Vec::new();
    let (mut early, mut zombie_checks, mut orphans_seen, mut orphans_cleaned) = (0, 0, 0, 0);
    let mut scans = 0;
    for i in 0..iterations {
        let mut w = Child::role("writer", &json!({ "path": path, "durable": i % 2 == 1 }));
        let pid = w.pid();
        writers.insert(pid);
        let kill_early = rng.below(4) == 0;
        if kill_early {
            early += 1;
            std::thread::sleep(Duration::from_micros(rng.below(5_000)));
        } else {
            w.expect("started");
            ever_written = true;
            // The new emitter removed what killed writers left behind
            // (unless the PID of their writer is alive again).
            for name in leftovers.drain(..) {
                let writer = lifesign::write::temp_writer_pid(name.as_bytes()).unwrap();
                if writer != pid && !Path::new(&format!("/proc/{writer}")).exists() {
                    assert!(
                        !d.path(&name).exists(),
                        "the temporary {name} of a dead writer survived a new start"
                    );
                    orphans_cleaned += 1;
                }
            }
            std::thread::sleep(Duration::from_micros(rng.below(20_000)));
        }
        kill_and_leave_zombie(pid);
        let keep_zombie = i % 3 == 0;
        if !keep_zombie {
            w.child.wait().unwrap();
        }
        match read_path(&path) {
            Read::Record(r) => {
                assert!(
                    writers.contains(&r.pid),
                    "kill #{i}: the file names pid {}, no writer of ours",
                    r.pid
                );
                if !kill_early {
                    assert_eq!(
                        r.pid, pid,
                        "kill #{i}: the started writer's heartbeat is gone"
                    );
                }
                ever_written = true;
                let rep = check(&path, &CheckOptions::default());
                assert_eq!(
                    rep.verdict,
                    Verdict::ProcessGone,
                    "kill #{i} (zombie: {keep_zombie}): {}",
                    rep.detail
                );
                zombie_checks += u64::from(keep_zombie);
            }
            Read::Missing => assert!(!ever_written, "kill #{i}: a written heartbeat vanished"),
            Read::Invalid(why) => panic!("kill #{i}: a torn heartbeat after SIGKILL: {why}"),
        }
        if keep_zombie {
            w.child.wait().unwrap();
        }
        let temps = temporaries(d.dir());
        orphans_seen += temps.len();
        if !temps.is_empty() && scans < 3 {
            // A temporary is never reported as a heartbeat by the reaper's view.
            scans += 1;
            let out = Command::new(cli())
                .args(["scan", "--json"])
                .arg(d.dir())
                .output()
                .unwrap();
            let listed = String::from_utf8_lossy(&out.stdout);
            for t in &temps {
                assert!(
                    !listed.contains(t.as_str()),
                    "scan listed the temporary {t}: {listed}"
                );
            }
        }
        for t in temps {
            if !leftovers.contains(&t) {
                leftovers.push(t);
            }
        }
    }
    // The next emitter on the path cleans up and is alive.
    let e = Emitter::start(&path, Duration::from_secs(3600)).unwrap();
    for name in temporaries(d.dir()) {
        let writer = lifesign::write::temp_writer_pid(name.as_bytes()).unwrap();
        assert!(
            Path::new(&format!("/proc/{writer}")).exists(),
            "{name}: the temporary of a dead writer survived a new start"
        );
    }
    assert!(check(&path, &CheckOptions::default()).is_alive());
    e.stop().unwrap();
    figure(
        "sigkill",
        &[
            ("kills", iterations.to_string()),
            ("kills_during_start", early.to_string()),
            ("checks_of_zombies", zombie_checks.to_string()),
            ("torn_files", "0".into()),
            ("verdict_not_process_gone", "0".into()),
            (
                "temporaries_left_by_killed_writers",
                orphans_seen.to_string(),
            ),
            (
                "verified_removed_by_next_start",
                orphans_cleaned.to_string(),
            ),
        ],
    );
}
