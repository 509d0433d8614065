//! PIDs that must never be probed or signalled.

use super::*;

/// A valid heartbeat of a process on this host, in this PID namespace and
/// boot (so the checker probes it), fresh.
fn local_record(pid: u32, start: Option<u64>) -> Record {
    let id = lifesign::process::identity();
    Record {
        host: id.host.clone(),
        boot_id: id.boot_id.clone(),
        pid_ns: id.pid_ns,
        pid_start: start,
        ..foreign_record(pid)
    }
}

#[test]
fn a_file_from_another_host_namespace_or_boot_is_never_probed() {
    let d = TempDir::new("noprobe");
    let z = Zombie::new();
    let (start, zombie) = lifesign::process::stat_of(z.pid()).expect("the zombie's stat");
    assert!(zombie);
    let write = |name: &str, r: &Record| {
        let p = d.path(name);
        std::fs::write(&p, encode(r)).unwrap();
        check(&p, &CheckOptions::default())
    };
    // Control: written here, the probe finds the zombie and says gone.
    let r = write("here.json", &local_record(z.pid(), Some(start)));
    assert_eq!(r.verdict, Verdict::ProcessGone, "{}", r.detail);
    // Another host or PID namespace naming the same PID: no probe, so the
    // zombie is not seen and the fresh file is alive.
    let mut other_host = local_record(z.pid(), Some(start));
    other_host.host = Some("elsewhere.invalid".into());
    let r = write("other-host.json", &other_host);
    assert_eq!((r.verdict, r.detail.as_str()), (Verdict::Alive, ""));
    let mut other_ns = local_record(z.pid(), Some(start));
    other_ns.pid_ns = other_ns.pid_ns.map(|n| n ^ 1);
    let r = write("other-ns.json", &other_ns);
    assert_eq!((r.verdict, r.detail.as_str()), (Verdict::Alive, ""));
    // An earlier boot naming a live PID (ours): gone by the boot rule, before
    // any probe could say the PID is running.
    let mut other_boot = local_record(std::process::id(), lifesign::process::own_start_time());
    other_boot.boot_id = Some("00000000-0000-0000-0000-000000000000".into());
    let r = write("other-boot.json", &other_boot);
    assert_eq!(r.verdict, Verdict::ProcessGone);
    assert_eq!(r.detail, "written during an earlier boot");
}

/// Starts (and stops) one emitter on `path`; used under strace.
pub(crate) fn role_start(a: &Value) {
    let p = PathBuf::from(a["path"].as_str().unwrap());
    let e = Emitter::start(&p, Duration::from_secs(3600)).unwrap();
    e.stop().unwrap();
    say("ok");
}

/// The first integer argument of each traced call of `name`, e.g.
/// `1234  kill(-1, SIG_0) = 0` gives -1 for "kill".
fn first_args(trace: &str, name: &str) -> Vec<i64> {
    let needle = format!("{name}(");
    trace
        .lines()
        .filter_map(|l| {
            let at = l.find(&needle)?;
            // Only the call itself, not a longer name that ends the same.
            if at > 0 && l.as_bytes()[at - 1].is_ascii_alphanumeric() || l[..at].ends_with('_') {
                return None;
            }
            let rest = &l[at + needle.len()..];
            let end = rest.find([',', ')'])?;
            rest[..end].trim().parse().ok()
        })
        .collect()
}

#[test]
fn no_signal_or_pidfd_ever_names_a_pid_below_1_or_a_foreign_writer() {
    let strace_ok = Command::new("strace")
        .args(["-qq", "-e", "trace=none", "true"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    let d = TempDir::new("strace");
    let z = Zombie::new();
    let (start, _) = lifesign::process::stat_of(z.pid()).unwrap();
    let mut foreign = local_record(z.pid(), Some(start));
    foreign.host = Some("elsewhere.invalid".into());
    std::fs::write(d.path("foreign-host.json"), encode(&foreign)).unwrap();
    let mut other_ns = local_record(z.pid(), Some(start));
    other_ns.pid_ns = other_ns.pid_ns.map(|n| n ^ 1);
    std::fs::write(d.path("foreign-ns.json"), encode(&other_ns)).unwrap();
    // A file naming this test process: the probe must be seen in the trace,
    // or the trace proves nothing.
    std::fs::write(
        d.path("self.json"),
        encode(&local_record(
            std::process::id(),
            lifesign::process::own_start_time(),
        )),
    )
    .unwrap();
    for (name, pid) in [
        ("pid-0.json", "0"),
        ("pid-minus-1.json", "-1"),
        ("pid-u32-max.json", "4294967295"),
        ("pid-i32-min.json", "-2147483648"),
    ] {
        std::fs::write(
            d.path(name),
            format!(
                r#"{{"v":1,"pid":{pid},"state":"ready","seq":1,"updated_at_ms":{}}}"#,
                now()
            ),
        )
        .unwrap();
    }
    // Temporaries whose writer PID would be 0, -1 or i32::MIN if cast to
    // pid_t, and one that is not a writer's name at all.
    let temps = [
        (".hb.json.lifesign-0-1.tmp", true),
        (".hb.json.lifesign-4294967295-1.tmp", true),
        (".hb.json.lifesign-2147483648-1.tmp", true),
        (".hb.json.lifesign--1-1.tmp", false),
        // A positive PID above pid_max: dead, asked about with kill(pid, 0),
        // which shows that the trace sees kill calls.
        (".hb.json.lifesign-2147483646-1.tmp", true),
    ];
    for (t, _) in temps {
        std::fs::write(d.path(t), b"{").unwrap();
    }
    let hb = d.path("hb.json");
    let trace = d.path("trace.txt");
    let traced = |cmd: &mut Command| {
        if strace_ok {
            let prog = cmd.get_program().to_owned();
            let args: Vec<_> = cmd.get_args().map(|a| a.to_owned()).collect();
            let envs: Vec<_> = cmd
                .get_envs()
                .filter_map(|(k, v)| v.map(|v| (k.to_owned(), v.to_owned())))
                .collect();
            let mut s = Command::new("strace");
            s.args(["-f", "-qq", "-a", "0", "-e", "signal=none", "-e"])
                .arg("trace=kill,tkill,tgkill,pidfd_open,pidfd_send_signal,rt_sigqueueinfo")
                .arg("-o")
                .arg(format!("{}.{}", trace.display(), std::process::id()))
                .arg("-A")
                .arg(prog)
                .args(args)
                .envs(envs);
            let out = s.output().unwrap();
            assert!(
                matches!(out.status.code(), Some(0 | 1)),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            out
        } else {
            let out = cmd.output().unwrap();
            assert!(out.status.success() || out.status.code() == Some(1));
            out
        }
    };
    let mut scan = Command::new(cli());
    scan.args(["scan", "--json"]).arg(d.dir());
    let out = traced(&mut scan);
    let listed = String::from_utf8_lossy(&out.stdout).to_string();
    for name in ["foreign-host.json", "foreign-ns.json"] {
        assert!(listed.contains(name));
    }
    let mut emit = Command::new(cli());
    emit.arg("emit").arg(&hb).args(["--state", "ready"]);
    traced(&mut emit);
    // The library's own start: it cleans temporaries of dead writers.
    let mut start = role_command("start", &json!({ "path": hb }), false);
    traced(&mut start);
    for (t, removed) in temps {
        assert_eq!(
            !d.path(t).exists(),
            removed,
            "{t}: a writer PID outside 1..=i32::MAX is dead without asking kill()"
        );
    }
    if !strace_ok {
        eprintln!("skipped the syscall trace: strace is not usable here (the verdict and clean-up checks ran)");
        return;
    }
    let text =
        std::fs::read_to_string(format!("{}.{}", trace.display(), std::process::id())).unwrap();
    let kills: Vec<i64> = ["kill", "tkill", "tgkill", "rt_sigqueueinfo"]
        .iter()
        .flat_map(|n| first_args(&text, n))
        .collect();
    let pidfds = first_args(&text, "pidfd_open");
    for p in kills.iter().chain(&pidfds) {
        assert!(*p > 0, "a signal or pidfd named pid {p}:\n{text}");
        assert_ne!(
            *p,
            i64::from(z.pid()),
            "a foreign writer's pid was probed:\n{text}"
        );
    }
    assert!(
        pidfds.contains(&i64::from(std::process::id())),
        "the trace did not see the probe of a local file:\n{text}"
    );
    assert!(
        kills.contains(&2_147_483_646),
        "the trace did not see the existence test of a dead writer:\n{text}"
    );
    figure(
        "syscall_trace",
        &[
            ("kill_calls", kills.len().to_string()),
            ("pidfd_open_calls", pidfds.len().to_string()),
            ("pids_below_1", "0".into()),
            ("foreign_pids_probed", "0".into()),
        ],
    );
}
