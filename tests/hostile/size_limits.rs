//! Size limits: decided from metadata, read with a bound.

use super::*;

#[test]
fn size_limit_is_exact_and_a_4_gib_sparse_file_is_refused_without_reading_it() {
    let d = TempDir::new("size");
    // A heartbeat padded with spaces to exactly the limit is read; one more
    // byte and it is invalid.
    let mut at_limit = encode(&foreign_record(4242));
    at_limit.resize(MAX_FILE_BYTES as usize, b' ');
    std::fs::write(d.path("at_limit"), &at_limit).unwrap();
    let r = check(d.path("at_limit"), &CheckOptions::default());
    assert_eq!(r.verdict, Verdict::Alive, "{}", r.detail);
    at_limit.push(b' ');
    std::fs::write(d.path("over_limit"), &at_limit).unwrap();
    assert_invalid(&d.path("over_limit"), "one byte over");

    let sparse = d.path("sparse-4g");
    let f = std::fs::File::create(&sparse).unwrap();
    f.set_len(4 << 30).unwrap();
    drop(f);
    assert_eq!(std::fs::metadata(&sparse).unwrap().len(), 4 << 30);
    let (r, read) = check_counting(&sparse);
    assert_eq!(r.verdict, Verdict::Invalid);
    assert!(r.detail.contains("4294967296"), "{}", r.detail);
    match read {
        Some(n) => assert!(n < READ_SLACK, "the checker read {n} bytes of a 4 GiB file"),
        None => eprintln!("no per-thread I/O accounting here: only the verdict was checked"),
    }
    // Through a symlink, and as a 1 TiB file where the filesystem allows it.
    std::os::unix::fs::symlink(&sparse, d.path("link-to-sparse")).unwrap();
    let (r, read) = check_counting(&d.path("link-to-sparse"));
    assert_eq!(r.verdict, Verdict::Invalid);
    assert!(read.is_none_or(|n| n < READ_SLACK));
    let huge = d.path("sparse-1t");
    if std::fs::File::create(&huge)
        .and_then(|f| f.set_len(1 << 40))
        .is_ok()
    {
        let (r, read) = check_counting(&huge);
        assert_eq!(r.verdict, Verdict::Invalid);
        assert!(read.is_none_or(|n| n < READ_SLACK));
    }
    figure(
        "sparse_4gib",
        &[
            (
                "bytes_read",
                read.map_or("unmeasured".into(), |n| n.to_string()),
            ),
            ("verdict", "invalid".into()),
        ],
    );
}

#[test]
fn files_that_lie_about_their_size_are_read_with_a_bound() {
    let d = TempDir::new("bound");
    // procfs reports size 0 for /proc/kallsyms, yet it holds megabytes:
    // the check reads up to the limit, then stops.
    let proc_file = ["/proc/kallsyms", "/proc/self/pagemap"]
        .into_iter()
        .find(|f| std::fs::File::open(f).is_ok())
        .expect("a procfs file");
    std::os::unix::fs::symlink(proc_file, d.path("procfs")).unwrap();
    let (r, read) = check_counting(&d.path("procfs"));
    assert_eq!(r.verdict, Verdict::Invalid, "{}", r.detail);
    if let Some(n) = read {
        assert!(n <= MAX_FILE_BYTES + 1 + READ_SLACK, "read {n} bytes");
    }
    // A file growing while it is checked: every check ends, reads at most the
    // limit, and says alive (whole, small) or invalid (too big). The grower
    // starts again from a small heartbeat each time it passes 128 KiB, so
    // the size crosses the limit throughout.
    let p = d.path("growing");
    let small = encode(&foreign_record(4242));
    std::fs::write(&p, &small).unwrap();
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let grower = {
        let (p, done) = (p.clone(), done.clone());
        std::thread::spawn(move || {
            let mut f = std::fs::OpenOptions::new().write(true).open(&p).unwrap();
            let mut cycles = 0u64;
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                f.set_len(0).unwrap();
                std::io::Seek::seek(&mut f, std::io::SeekFrom::Start(0)).unwrap();
                f.write_all(&small).unwrap();
                for _ in 0..32 {
                    f.write_all(&[b' '; 4096]).unwrap();
                }
                cycles += 1;
            }
            cycles
        })
    };
    let (mut alive, mut invalid, mut max_read) = (0, 0, 0);
    for _ in 0..scale(2000, 50_000) {
        let (r, read) = check_counting(&p);
        match r.verdict {
            Verdict::Alive => alive += 1,
            Verdict::Invalid => invalid += 1,
            other => panic!("a growing file read as {other:?}: {}", r.detail),
        }
        max_read = max_read.max(read.unwrap_or(0));
    }
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    let cycles = grower.join().unwrap();
    assert!(
        max_read <= MAX_FILE_BYTES + 1 + READ_SLACK,
        "read {max_read} bytes"
    );
    figure(
        "lying_sizes",
        &[
            (
                "procfs_bytes_read",
                read.map_or("unmeasured".into(), |n| n.to_string()),
            ),
            ("growing_checks", (alive + invalid).to_string()),
            ("growing_alive", alive.to_string()),
            ("growing_invalid", invalid.to_string()),
            ("grow_cycles", cycles.to_string()),
            ("max_bytes_read_by_one_check", max_read.to_string()),
        ],
    );
}
