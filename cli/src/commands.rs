//! The one table of the command line: every subcommand with its operands,
//! options, exit codes and examples. `help` renders it as `--help` text,
//! shell completions and the man page; `args` refuses any option a command's
//! row does not list. To add an option: add an [`Opt`] to the command's
//! `opts` and handle it in the command's parser (a test runs every listed
//! option through the parser).

use std::time::Duration;

/// The longest duration any option accepts: 10^15 ms (about 31,700 years),
/// the checker's `--max-age` with which tests/vectors are replayed.
pub const MAX_DURATION: Duration = Duration::from_millis(1_000_000_000_000_000);

/// The accepted range of a duration option.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Range {
    pub min: Duration,
    pub max: Duration,
}

/// `--max-age`, `--stall`, `--timeout`, `--idle-timeout`, `--grace`.
pub const ANY: Range = Range {
    min: Duration::ZERO,
    max: MAX_DURATION,
};

/// `--interval`: the emitter's own range.
pub const INTERVAL: Range = Range {
    min: lifesign::MIN_INTERVAL,
    max: lifesign::MAX_INTERVAL,
};

/// What an option or an operand takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Value {
    /// Nothing: a flag.
    Flag,
    /// A duration in `range`.
    Duration(Range),
    /// A PID, 1 to 2147483647.
    Pid,
    /// A count.
    Count,
    /// A file path.
    File,
    /// A folder path.
    Dir,
    /// A command line (`run`'s CMD).
    Command,
    /// A subcommand's name (`help`'s operand).
    Subcommand,
    /// Free text, shown as its name (`TEXT`, `KEY=VALUE`, `URL`).
    Text(&'static str),
    /// One of a list of words, shown as its name.
    Choice(&'static str, &'static [&'static str]),
}

impl Value {
    /// The placeholder of the value in usage lines: `DUR`, `N`, `FILE`.
    pub fn name(self) -> Option<&'static str> {
        Some(match self {
            Value::Flag => return None,
            Value::Duration(_) => "DUR",
            Value::Pid | Value::Count => "N",
            Value::File => "FILE",
            Value::Dir => "DIR",
            Value::Command => "CMD",
            Value::Subcommand => "COMMAND",
            Value::Text(name) | Value::Choice(name, _) => name,
        })
    }
}

/// One option: `--long VALUE`.
#[derive(Debug)]
pub struct Opt {
    pub long: &'static str,
    pub value: Value,
    /// May be given more than once.
    pub repeated: bool,
    pub help: &'static str,
}

/// One subcommand.
#[derive(Debug)]
pub struct Cmd {
    pub name: &'static str,
    /// The operands as the usage line writes them (`FILE`, `DIR...`).
    pub operands: &'static str,
    /// What the operands take, for completion.
    pub operand: Value,
    /// One line for the list of commands.
    pub summary: &'static str,
    /// What it does: paragraphs separated by blank lines.
    pub about: &'static str,
    pub opts: &'static [Opt],
    /// Paragraphs after the options (notes that need the options first).
    pub notes: &'static str,
    pub exit: &'static str,
    pub examples: &'static [&'static str],
    /// Takes a `nats://` target as well (with the fleet feature).
    pub remote: bool,
    /// Exists only with the fleet feature.
    pub fleet: bool,
}

const fn opt(long: &'static str, value: Value, help: &'static str) -> Opt {
    Opt {
        long,
        value,
        repeated: false,
        help,
    }
}

const fn flag(long: &'static str, help: &'static str) -> Opt {
    opt(long, Value::Flag, help)
}

const fn dur(long: &'static str, help: &'static str) -> Opt {
    opt(long, Value::Duration(ANY), help)
}

/// The exit code of each verdict under `--exit-code verdict`: 0 alive, else
/// 10 + the verdict's C code (`LIFESIGN_VERDICT_*`, docs/PROTOCOL.md).
pub fn verdict_exit_code(v: lifesign::Verdict) -> u8 {
    match v {
        lifesign::Verdict::Alive => 0,
        v => 10 + v.code() as u8,
    }
}

/// `check --ready --exit-code verdict` of a heartbeat that is alive but not
/// ready.
pub const EXIT_NOT_READY: u8 = 20;

/// `run`: CMD was stopped after it was ready, because it hung.
pub const EXIT_HUNG: u8 = 125;

const JSON_REPORT: Opt = flag(
    "json",
    "print the report as one JSON object instead of a line",
);
const MAX_AGE: Opt = dur(
    "max-age",
    "stale when older than this (0 or absent: the file's own rule: stale_after_ms, else 3 x interval_ms, else 30s)",
);
const QUIET: Opt = flag("quiet", "no progress lines on stderr");

pub const COMMANDS: &[Cmd] = &[
    Cmd {
        name: "check",
        operands: "FILE",
        operand: Value::File,
        summary: "is the emitter alive? (exit 0 alive, 1 not)",
        about: "Prints the verdict of the heartbeat FILE: alive, missing, invalid, pid_mismatch, stopped, failed, process_gone, future, stale or stalled.",
        opts: &[
            MAX_AGE,
            opt("pid", Value::Pid, "expect this PID, 1 to 2147483647 (pid_mismatch otherwise)"),
            dur("stall", "stalled when work progress has not moved for this long (0 or absent: never)"),
            flag("ready", "succeed only when it is alive and its state is ready (a readiness or startup probe); without it, starting and stopping count as alive (a liveness probe)"),
            opt("exit-code", Value::Choice("HOW", &["simple", "verdict"]), "which exit codes to use, simple (the default: 0 alive, 1 not) or verdict (a code per verdict, below)"),
            JSON_REPORT,
        ],
        notes: "",
        exit: "0 alive (and ready, with --ready); 1 not alive (missing, invalid, pid_mismatch, stopped, failed, process_gone, future, stale, stalled) or, with --ready, not ready; 2 a usage error.\n\nWith --exit-code verdict: 0 alive, 11 missing, 12 invalid, 13 pid_mismatch, 14 stopped, 15 failed, 16 process_gone, 17 future, 18 stale, 19 stalled, 20 alive but not ready (--ready); 2 a usage error.",
        examples: &[
            "lifesign check /run/app/hb.json",
            "lifesign check /run/app/hb.json --max-age 10s --stall 2m --json",
            "lifesign check /run/app/hb.json --ready   # a readiness probe",
            "lifesign check \"$F\" --exit-code verdict; case $? in 0) ;; 11) echo not started ;; *) echo dead ;; esac",
        ],
        remote: true,
        fleet: false,
    },
    Cmd {
        name: "wait",
        operands: "FILE",
        operand: Value::File,
        summary: "wait until the emitter is ready (0 ready, 1 never will be)",
        about: "Waits, event-driven, until the emitter writing FILE reports ready, and prints the last report. Progress goes to stderr (one line per change).",
        opts: &[
            opt("pid", Value::Pid, "only a heartbeat of this PID, 1 to 2147483647, counts; files of an earlier run are ignored until it writes"),
            dur("idle-timeout", "give up when no new heartbeat arrives for this long (0 or absent: never)"),
            dur("timeout", "give up after this long, whatever happens (0 or absent: never)"),
            flag("json", "print the final report as one JSON object, with \"ready\" (and \"error\" when the wait did not decide)"),
            QUIET,
        ],
        notes: "",
        exit: "0 ready; 1 it failed, stopped, died, or sent no new heartbeat for the idle timeout; 124 the --timeout passed; 130 interrupted (SIGINT or SIGTERM); 2 a usage error.",
        examples: &[
            "lifesign wait /run/app/hb.json --timeout 2m && start-the-next-thing",
            "lifesign wait \"$LIFESIGN_FILE\" --pid \"$APP_PID\" --idle-timeout 30s --json",
        ],
        remote: true,
        fleet: false,
    },
    Cmd {
        name: "emit",
        operands: "FILE",
        operand: Value::File,
        summary: "write one heartbeat on behalf of a shell script",
        about: "Writes one heartbeat atomically into FILE, on behalf of a shell script. FILE's folder must exist (exit 2 otherwise), unless --mkdir is given.",
        opts: &[
            opt("state", Value::Choice("STATE", &["starting", "ready", "stopping", "stopped", "failed"]), "required: starting, ready, stopping, stopped or failed"),
            opt("message", Value::Text("TEXT"), "what the script is doing (default: the previous one)"),
            opt("pid", Value::Pid, "the process the heartbeat speaks for, 1 to 2147483647 (default: the calling shell, the parent of this command)"),
            opt("interval", Value::Duration(INTERVAL), "the promised interval, written as interval_ms; the checker's default max age is three times it. Emit again at least that often (default: the previous heartbeat's, else none and the checker's 30s default)"),
            Opt {
                long: "meta",
                value: Value::Text("KEY=VALUE"),
                repeated: true,
                help: "a metadata entry, added to the previous heartbeat's; may be repeated",
            },
            flag("mkdir", "create FILE's missing folders (mode 0755) instead of refusing"),
        ],
        notes: "Emitting again for the same process continues its sequence (seq + 1), so a script that emits in a loop counts as making progress.",
        exit: "0 written; 1 the write failed; 2 a usage error, or FILE's folder does not exist (without --mkdir).",
        examples: &[
            "lifesign emit \"$LIFESIGN_FILE\" --state starting --message \"migrating\"",
            "migrate && lifesign emit \"$LIFESIGN_FILE\" --state ready --interval 1m",
        ],
        remote: false,
        fleet: false,
    },
    Cmd {
        name: "run",
        operands: "[--] CMD [ARGS...]",
        operand: Value::Command,
        summary: "start CMD, wait until it is ready, stop it if it hangs, before or after ready",
        about: "Starts CMD with LIFESIGN_FILE and LIFESIGN_INTERVAL_MS in its environment and shows its progress on stderr until it reports ready. It stops CMD (TERM to CMD's process group, then KILL after the grace period) when it sends no new heartbeat for the idle timeout or is not ready in time, and, once it was ready, when its heartbeat goes stale (older than the file's own max age), stalls (with --stall) or says failed while CMD keeps running. It says on stderr why.\n\nNothing CMD started outlives the run: CMD runs in a process group of its own (unless lifesign runs in a terminal's foreground, where Ctrl-C must reach CMD), lifesign is the reaper of its orphans (PR_SET_CHILD_SUBREAPER), and when CMD ends, whatever it left behind gets TERM, then KILL after the grace period. CMD gets SIGKILL if lifesign itself is killed.\n\nEvery signal that would end lifesign (SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2, SIGALRM and the others except SIGKILL and SIGSTOP) is forwarded to CMD, and lifesign waits for CMD to exit. A signal from the terminal (Ctrl-C) reaches CMD directly. Options end at CMD, the first argument that is not one; `--` is needed only when CMD itself starts with `-`.",
        opts: &[
            opt("file", Value::File, "the heartbeat file; its missing folders are created with mode 0755, and it stays when the run ends. Default: a file in a new private folder (mode 0700, named like mkdtemp) in $XDG_RUNTIME_DIR when that is a folder owned by this user and not writable by group or others, else in $TMPDIR or /tmp; the path is printed, and the folder is removed when the run ends"),
            opt("interval", Value::Duration(INTERVAL), "the interval handed to CMD (default 1s)"),
            dur("idle-timeout", "before ready: stop CMD when no new heartbeat arrives for this long (default 30s; 0: never). After ready the file's own max age applies"),
            dur("timeout", "stop CMD when it is not ready after this long (default and 0: never)"),
            dur("grace", "time between TERM and KILL (default 5s)"),
            dur("stall", "after ready: stop CMD when its work progress has not moved for this long; under systemd, no WATCHDOG=1 meanwhile (default and 0: never)"),
            opt("restart", Value::Count, "start CMD again, at most N times in all, when it fails, hangs, or exits with a status other than 0 (default 0: never). Not after a forwarded SIGTERM, SIGINT or SIGQUIT, nor when CMD cannot be started. The heartbeat file and the wait for ready are the same on each attempt"),
            dur("restart-delay", "the first pause before a restart, doubled after each one up to 5m (default 1s)"),
            flag("quiet", "no progress lines, no heartbeat path (the reasons for stopping CMD are still said)"),
        ],
        notes: "Under systemd (NOTIFY_SOCKET set), lifesign run speaks for CMD, which does not see the socket: READY=1 when its heartbeat is ready, STATUS= from its message, EXTEND_TIMEOUT_USEC while its start or stop progresses, RELOADING=1 when it goes from ready back to starting, WATCHDOG=1 while it is alive (and, with --stall, not stalled), STOPPING=1 when it stops.",
        exit: "CMD's own status once it was ready (128+N when signal N ended it, also after a forwarded signal); 1 it failed, stopped, stalled or exited 0 before it was ready (its status when not 0), or sent no heartbeat for the idle timeout; 124 the --timeout passed; 125 it was stopped after it was ready, because it went stale, stalled or said failed and kept running; 127 CMD could not be started; 2 a usage error. With --restart, the code of the last attempt.",
        examples: &[
            "lifesign run --idle-timeout 1m -- ./server --port 8080",
            "lifesign run --file /run/app/hb.json --timeout 5m --grace 10s -- ./migrate.sh",
            "lifesign run --stall 2m --restart 5 -- ./worker   # a container with no supervisor",
        ],
        remote: false,
        fleet: false,
    },
    Cmd {
        name: "scan",
        operands: "DIR",
        operand: Value::Dir,
        summary: "the verdict of every heartbeat file in a folder",
        about: "Prints every heartbeat file in DIR, in name order, under a header row: its verdict, PID, age, state and name; then a summary line on stderr (the count of each verdict). Subfolders and lifesign's own temporaries are skipped (a heartbeat is a file, never a folder); any other file that is not a heartbeat is listed as invalid, with the reason in the JSON \"detail\".",
        opts: &[
            dur("max-age", "stale when older than this (0 or absent: each file's own rule)"),
            flag("ready", "the folder is ready when every heartbeat in it is alive and ready"),
            flag("json", "print one JSON array of reports, each with its \"file\", and no header"),
        ],
        notes: "",
        exit: "0 all are alive (and ready, with --ready; an empty folder too); 1 one or more are not; 2 a usage error, or DIR cannot be listed (missing, not a folder, no permission).",
        examples: &[
            "lifesign scan /run/app",
            "lifesign scan /run/app --json | jq -r '.[] | select(.verdict != \"alive\") | .file'",
        ],
        remote: true,
        fleet: false,
    },
    Cmd {
        name: "watch",
        operands: "FILE",
        operand: Value::File,
        summary: "print each change of state as it happens",
        about: "Prints a line each time the verdict, state or message of FILE changes, as it happens (and at once for the current one), until SIGINT or SIGTERM or until the reader of its output goes away.",
        opts: &[
            dur("max-age", "stale when older than this (0 or absent: the file's own rule)"),
            flag("json", "one JSON object per change, with \"at_ms\" (Unix ms)"),
        ],
        notes: "",
        exit: "0 interrupted or its output closed; 2 a usage error.",
        examples: &[
            "lifesign watch /run/app/hb.json",
        ],
        remote: true,
        fleet: false,
    },
    Cmd {
        name: "metrics",
        operands: "--listen ADDR DIR...",
        operand: Value::Dir,
        summary: "serve the heartbeats of folders to Prometheus (docs/METRICS.md)",
        about: "Serves the heartbeats of every DIR to Prometheus at http://ADDR/metrics, in the OpenMetrics text format (or Prometheus' classic text format when the scraper's Accept header prefers text/plain). Each scrape checks the files at that moment, as `lifesign scan` does. Runs until SIGINT or SIGTERM.",
        opts: &[
            opt("listen", Value::Text("ADDR"), "HOST:PORT to listen on, and only there: 127.0.0.1:9464, [::1]:9464, 0.0.0.0:9464 for every interface; port 0 picks a free one. The address is printed on stdout"),
            opt("host-id", Value::Text("ID"), "the host label of every heartbeat (default: the hostname)"),
            dur("max-age", "stale when older than this (0 or absent: each file's own rule)"),
        ],
        notes: "Per heartbeat, labelled host, name (the file name without .json) and, with more than one DIR, folder: lifesign_verdict (state set: alive, missing, invalid, ...), lifesign_state (state set: starting, ready, stopping, ...), lifesign_age_seconds (since the last write), lifesign_seq_total (the emitter's write count), lifesign_progress_total (the emitter's work counter), lifesign_progress_age_seconds (since the work counter last moved). And lifesign_files, lifesign_folder_listed, lifesign_scrape_duration_seconds. Names, types and a scrape config: docs/METRICS.md.",
        exit: "0 stopped by SIGINT or SIGTERM; 2 a usage error, an address it cannot listen on, or a DIR it cannot list at start.",
        examples: &[
            "lifesign metrics --listen 127.0.0.1:9464 /run/app",
            "curl -s http://127.0.0.1:9464/metrics",
        ],
        remote: false,
        fleet: false,
    },
    Cmd {
        name: "relay",
        operands: "DIR...",
        operand: Value::Dir,
        summary: "publish folders' heartbeats to NATS (docs/FLEET.md)",
        about: "Publishes every heartbeat file (*.json) of each DIR to a NATS JetStream key-value bucket, as it changes, with a per-key time limit equal to the file's staleness rule: if the relay or its host dies, the keys expire and every remote reader sees it. Reconnects with backoff and republishes.",
        opts: &[
            Opt {
                long: "server",
                value: Value::Text("URL"),
                repeated: true,
                help: "a NATS server (nats://HOST:PORT); repeat it, or give a comma-separated list, for the servers of a cluster: the relay connects to one and fails over to the others",
            },
            opt("bucket", Value::Text("NAME"), "the bucket (default lifesign; created when missing)"),
            opt("replicas", Value::Count, "copies of a bucket the relay creates, 1 to 5 (default 1; 3 on a three-node cluster survives the loss of a node)"),
            opt("host-id", Value::Text("ID"), "the first part of every key (default: the hostname)"),
            opt("token", Value::Text("T"), "a token (or LIFESIGN_NATS_TOKEN)"),
            opt("creds", Value::File, "a .creds file (or LIFESIGN_NATS_CREDS)"),
            opt("metrics", Value::Text("ADDR"), "serve OpenMetrics at http://ADDR/metrics (HOST:PORT: 127.0.0.1:9464, [::1]:9464, 0.0.0.0:9464 for every interface; port 0 picks a free one): the relay's connection, publishes, errors and last publish's age, and every heartbeat of its folders (docs/METRICS.md). The address is printed on stderr"),
        ],
        notes: "Keys are HOST-ID.NAME (NAME: the file name without .json). Read them with lifesign check|wait|watch nats://HOST:PORT/BUCKET/HOST-ID.NAME and lifesign scan nats://HOST:PORT/BUCKET. Layout and value schema: docs/PROTOCOL.md, \"Fleet\"; deployment: docs/FLEET.md.\n\nConnecting is bounded (5 s); after a reconnect the relay makes the bucket again if the server lost it. It warns when another client, such as a relay with the same --host-id, writes its keys (docs/FLEET.md).",
        exit: "0 after SIGINT or SIGTERM (its keys then expire within their time limits); 2 when it cannot start (no server, refused credentials, a folder it cannot watch, a usage error).",
        examples: &[
            "lifesign relay --server nats://nats.internal:4222 /run/app",
        ],
        remote: false,
        fleet: true,
    },
    Cmd {
        name: "completions",
        operands: "SHELL",
        operand: Value::Choice("SHELL", &["bash", "zsh", "fish"]),
        summary: "print the shell completions for bash, zsh or fish",
        about: "Prints the completion script of SHELL (bash, zsh or fish) on stdout.",
        opts: &[],
        notes: "",
        exit: "0 printed; 2 a usage error.",
        examples: &[
            "source <(lifesign completions bash)",
            "lifesign completions zsh > \"${fpath[1]}/_lifesign\"",
            "lifesign completions fish > ~/.config/fish/completions/lifesign.fish",
        ],
        remote: false,
        fleet: false,
    },
    Cmd {
        name: "man",
        operands: "",
        operand: Value::Flag,
        summary: "print the manual page lifesign(1) (roff)",
        about: "Prints the manual page lifesign(1) in roff, with a section per command.",
        opts: &[],
        notes: "",
        exit: "0 printed; 2 a usage error.",
        examples: &["lifesign man > lifesign.1 && man -l lifesign.1"],
        remote: false,
        fleet: false,
    },
    Cmd {
        name: "help",
        operands: "[COMMAND]",
        operand: Value::Subcommand,
        summary: "this help, or the help of COMMAND (the same as lifesign COMMAND --help)",
        about: "Prints the help of lifesign, or of COMMAND.",
        opts: &[],
        notes: "",
        exit: "0 printed; 2 an unknown COMMAND.",
        examples: &["lifesign help check"],
        remote: false,
        fleet: false,
    },
];

/// The commands this build has (`relay` only with the fleet feature).
pub fn commands() -> impl Iterator<Item = &'static Cmd> {
    COMMANDS
        .iter()
        .filter(|c| !c.fleet || cfg!(feature = "fleet"))
}

/// The command called `name`, if this build has it.
pub fn find(name: &str) -> Option<&'static Cmd> {
    commands().find(|c| c.name == name)
}

impl Cmd {
    /// The option `--long`.
    pub fn opt(&self, long: &str) -> Option<&'static Opt> {
        self.opts.iter().find(|o| o.long == long)
    }

    /// `lifesign check FILE [--max-age DUR] ...`, each option's words
    /// joined by `\u{1}` so that wrapping never splits them.
    pub fn usage_words(&self) -> String {
        let mut s = format!("lifesign {}", self.name);
        let run = self.operand == Value::Command;
        if !run && !self.operands.is_empty() {
            s += &format!(" {}", self.operands);
        }
        for o in self.opts {
            s += &match o.value.name() {
                None => format!(" [--{}]", o.long),
                Some(v) if o.long == "state" => format!(" --{}\u{1}{v}", o.long),
                Some(v) if o.repeated => format!(" [--{}\u{1}{v}]...", o.long),
                Some(v) => format!(" [--{}\u{1}{v}]", o.long),
            };
        }
        if run {
            s += &format!(" {}", self.operands);
        }
        s
    }

    /// `lifesign check FILE [--max-age DUR] ...`.
    pub fn usage(&self) -> String {
        self.usage_words().replace('\u{1}', " ")
    }
}

/// The top level's description, list of commands and exit codes.
pub const ABOUT: &str = "process heartbeats for shells, probes, reapers and launchers";

pub const TOP_EXAMPLES: &[&str] = &[
    "lifesign check /run/app/hb.json --max-age 10s",
    "lifesign check /run/app/hb.json --ready",
    "lifesign wait /run/app/hb.json --timeout 2m && echo up",
    "lifesign run --idle-timeout 30s -- ./server --port 8080",
    "lifesign emit \"$LIFESIGN_FILE\" --state ready --message listening",
    "lifesign scan /run/app --json",
];

pub const TOP_EXIT: &str = "0 alive, ready, written, done; 1 a negative answer: not alive, not ready, failed, stopped, gone, stalled; 2 a usage error (unknown option, bad or out-of-range value, a folder that scan cannot list, a folder emit would have to create), or a remote target that cannot be read; 124 wait, run: the --timeout passed; 125 run: CMD hung after it was ready and was stopped; 127 run: CMD could not be started; 130 wait: interrupted by SIGINT or SIGTERM. run otherwise exits with CMD's own status (128+N when signal N ended it). check --exit-code verdict gives each verdict its own code (lifesign check --help).";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_verdict_codes_are_the_computed_ones() {
        let check = find("check").unwrap();
        for v in lifesign::Verdict::ALL {
            let doc = format!("{} {}", verdict_exit_code(*v), v.as_str());
            assert!(check.exit.contains(&doc), "{doc}");
        }
        assert!(check
            .exit
            .contains(&format!("{EXIT_NOT_READY} alive but not ready")));
        let run = find("run").unwrap();
        assert!(run
            .exit
            .contains(&format!("{EXIT_HUNG} it was stopped after")));
    }

    #[test]
    fn names_are_unique_and_options_are_unique_per_command() {
        for (i, c) in COMMANDS.iter().enumerate() {
            assert!(COMMANDS[..i].iter().all(|d| d.name != c.name), "{}", c.name);
            for (j, o) in c.opts.iter().enumerate() {
                assert!(c.opts[..j].iter().all(|p| p.long != o.long), "{}", o.long);
                assert!(!["help", "version"].contains(&o.long));
            }
        }
    }
}
