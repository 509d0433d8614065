//! Many writers in one folder, and two on one path.

use super::*;

#[test]
fn many_emitters_in_one_folder_and_two_on_one_path_never_tear_a_file() {
    let d = TempDir::new("many");
    let own = scale(6, 12);
    let mut paths: Vec<PathBuf> = (0..own).map(|i| d.path(&format!("w{i}.json"))).collect();
    let shared = d.path("shared.json");
    let mut writers: Vec<(PathBuf, Child)> = Vec::new();
    for p in paths.iter().chain([&shared, &shared]) {
        let mut w = Child::role("writer", &json!({ "path": p }));
        w.expect("started");
        writers.push((p.clone(), w));
    }
    paths.push(shared.clone());
    let t = run_readers(&paths, 2, scale(10_000, 200_000), false);
    let shared_pids: Vec<u32> = writers
        .iter()
        .filter(|(p, _)| *p == shared)
        .map(|(_, w)| w.pid())
        .collect();
    let mut total_writes = 0;
    for (p, w) in writers {
        let pid = w.pid();
        let done = w.finish();
        let line = done.iter().find(|l| l.starts_with("done ")).unwrap();
        total_writes += num(&fields(line), "beats");
        let r = record(&p);
        if p == shared {
            assert!(shared_pids.contains(&r.pid));
        } else {
            assert_eq!((r.pid, r.state), (pid, Some(State::Stopped)));
        }
    }
    assert_eq!(record(&shared).state, Some(State::Stopped));
    assert!(
        temporaries(d.dir()).is_empty(),
        "{:?}",
        temporaries(d.dir())
    );
    figure(
        "many_writers",
        &[
            ("writer_processes", (own + 2).to_string()),
            ("writes", total_writes.to_string()),
            ("reads", t.reads.to_string()),
            ("invalid", t.invalid.to_string()),
            ("not_alive", (t.missing + t.other).to_string()),
        ],
    );
    assert_eq!(t.invalid, 0, "torn reads: {:?}", t.first_bad);
    assert_eq!(t.alive, t.reads, "{:?}", t.first_bad);
    assert!(t.changes > 0, "the readers never saw a new write");
}
