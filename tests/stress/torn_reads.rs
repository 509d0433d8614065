//! Torn reads: no reader process ever sees a torn heartbeat under a writer going flat out.

use super::*;

/// Runs `lifesign check FILE --json` `n` times; returns (runs, alive, invalid).
fn cli_reads(path: &Path, n: u64) -> (u64, u64, u64) {
    let (mut alive, mut invalid) = (0, 0);
    for _ in 0..n {
        let out = Command::new(cli())
            .args(["check", "--json"])
            .arg(path)
            .output()
            .unwrap();
        let v: Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
        match v["verdict"].as_str() {
            Some("alive") => {
                assert_eq!(out.status.code(), Some(0));
                alive += 1
            }
            Some("invalid") => invalid += 1,
            other => panic!("the CLI saw {other:?}: {v}"),
        }
    }
    (n, alive, invalid)
}

fn torn_reads_in(base: &Path, label: &str) {
    let d = TempDir::under(base, "torn");
    let path = d.path("hb.json");
    let mut w = Child::role("writer", &json!({ "path": path }));
    w.expect("started");
    let processes = scale(3, 4);
    let reads = scale(15_000, 300_000);
    let cli_path = path.clone();
    let cli = std::thread::spawn(move || cli_reads(&cli_path, scale(30, 1000)));
    let t = run_readers(std::slice::from_ref(&path), processes, reads, true);
    let (cli_runs, cli_alive, cli_invalid) = cli.join().unwrap();
    let done = w.finish();
    let beats = done
        .iter()
        .find(|l| l.starts_with("done "))
        .map(|l| num(&fields(l), "beats"))
        .expect("the writer's figures");
    figure(
        &format!("torn_reads_{label}"),
        &[
            ("reader_processes", processes.to_string()),
            ("reads", t.reads.to_string()),
            ("cli_reads", cli_runs.to_string()),
            ("invalid", (t.invalid + cli_invalid).to_string()),
            ("missing", t.missing.to_string()),
            ("other", t.other.to_string()),
            ("seq_regressions", t.regressions.to_string()),
            ("seq_changes_seen", t.changes.to_string()),
            ("writes", beats.to_string()),
        ],
    );
    assert_eq!(t.invalid + cli_invalid, 0, "torn reads: {:?}", t.first_bad);
    assert_eq!(t.missing + t.other, 0, "not alive: {:?}", t.first_bad);
    assert_eq!(t.alive, t.reads);
    assert_eq!(cli_alive, cli_runs);
    assert_eq!(t.regressions, 0, "a reader saw seq go back");
    assert!(
        t.changes > 0,
        "the readers never saw a new write: the test proved nothing"
    );
    assert!(beats > 0);
}

#[test]
fn no_reader_process_ever_sees_a_torn_heartbeat_on_the_temporary_folder() {
    torn_reads_in(&std::env::temp_dir(), "tmpdir");
}

#[test]
fn no_reader_process_ever_sees_a_torn_heartbeat_on_tmpfs() {
    let shm = Path::new("/dev/shm");
    if !shm.is_dir() {
        eprintln!("skipped: /dev/shm is not here (the temporary-folder variant still runs)");
        return;
    }
    torn_reads_in(shm, "dev_shm");
}
