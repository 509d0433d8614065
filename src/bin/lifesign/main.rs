//! `lifesign`: the heartbeat protocol for shells, probes, reapers and
//! launchers. One module per subcommand; `args` parses (lexopt), `output`
//! prints, `signals` handles SIGINT and SIGTERM. Everything else is the
//! library's public API.

use std::process::ExitCode;

/// The durations paragraph of every help text.
macro_rules! durations {
    () => {
        "
Durations: 250ms, 2s, 5m, 1h, 1.5s, or a bare number of milliseconds.
--interval accepts 10ms to 1h; every other duration 0 to 1000000000000000ms
(10^15 ms, about 31,700 years). A value out of range is a usage error.
"
    };
}

mod args;
mod bridge;
mod check;
mod emit;
mod exporter;
#[cfg(feature = "fleet")]
mod fleet;
mod metrics;
mod output;
mod run;
mod scan;
mod signals;
mod wait;
mod watch;

use args::{Args, Stop};

const USAGE: &str = concat!(
    "\
lifesign: process heartbeats for shells, probes, reapers and launchers

Usage: lifesign <command> [options]

Commands:
  check FILE    is the emitter alive? (exit 0 alive, 1 not)
  wait FILE     wait until the emitter is ready (0 ready, 1 never will be)
  emit FILE     write one heartbeat on behalf of a shell script
  run -- CMD    start CMD, wait until it is ready, stop it if it hangs
  scan DIR      the verdict of every heartbeat file in a folder
  watch FILE    print each change of state as it happens
  metrics --listen ADDR DIR...
                serve the heartbeats of folders to Prometheus
  relay DIR...  publish a folder's heartbeats to NATS (with the fleet feature)

Examples:
  lifesign check /run/app/hb.json --max-age 10s
  lifesign wait /run/app/hb.json --timeout 2m && echo up
  lifesign run --idle-timeout 30s -- ./server --port 8080
  lifesign emit \"$LIFESIGN_FILE\" --state ready --message listening
  lifesign scan /run/app --json
  lifesign metrics --listen 127.0.0.1:9464 /run/app
  lifesign relay --server nats://nats.internal:4222 /run/app
  lifesign check nats://nats.internal:4222/lifesign/web1.app
",
    durations!(),
    "
Exit codes:
  0    alive, ready, written, done
  1    a negative answer: not alive, failed, stopped, gone, stalled
  2    a usage error: unknown option, bad or out-of-range value, a folder
       that scan cannot list
  124  wait, run: the --timeout passed
  127  run: CMD could not be started
  130  wait: interrupted by SIGINT or SIGTERM
  run otherwise exits with CMD's own status (128+N when signal N ended it)

Run `lifesign <command> --help` for its options and examples.
Protocol and verdicts: docs/PROTOCOL.md. Version: lifesign --version."
);

type Command = (&'static str, &'static str, fn(Args) -> args::Res<u8>);

fn main() -> ExitCode {
    let mut parser = lexopt::Parser::from_env();
    let name = match parser.next() {
        Ok(Some(lexopt::Arg::Value(v))) => v.to_string_lossy().into_owned(),
        Ok(Some(lexopt::Arg::Long("help") | lexopt::Arg::Short('h'))) => "help".into(),
        Ok(Some(lexopt::Arg::Long("version") | lexopt::Arg::Short('V'))) => "version".into(),
        Ok(Some(other)) => {
            eprintln!("lifesign: {} (see lifesign --help)", other.unexpected());
            return ExitCode::from(2);
        }
        Ok(None) | Err(_) => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    #[cfg(feature = "fleet")]
    if let Some(code) = fleet_main(&name) {
        return code;
    }
    let (cmd, help, run): Command = match name.as_str() {
        "check" => ("check", check::HELP, check::main),
        "wait" => ("wait", wait::HELP, wait::main),
        "emit" => ("emit", emit::HELP, emit::main),
        "run" => ("run", run::HELP, run::main),
        "scan" => ("scan", scan::HELP, scan::main),
        "watch" => ("watch", watch::HELP, watch::main),
        "metrics" => ("metrics", metrics::HELP, metrics::main),
        "help" => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        "version" => {
            println!("lifesign {}", lifesign::VERSION);
            return ExitCode::SUCCESS;
        }
        other => {
            eprintln!("lifesign: unknown command {other:?} (see lifesign --help)");
            return ExitCode::from(2);
        }
    };
    #[cfg(feature = "fleet")]
    let help = with_remote_help(cmd, help);
    match run(Args::new(parser, help)) {
        Ok(code) => ExitCode::from(code),
        Err(Stop::Help(text)) => {
            println!("{text}");
            ExitCode::SUCCESS
        }
        Err(Stop::Usage(msg)) => {
            eprintln!("lifesign {cmd}: {msg}");
            ExitCode::from(2)
        }
    }
}

/// `relay`, and `check`, `wait`, `watch` or `scan` of a `nats://` target:
/// the fleet's commands (docs/FLEET.md). `None` for every other command.
#[cfg(feature = "fleet")]
fn fleet_main(name: &str) -> Option<ExitCode> {
    let rest: Vec<std::ffi::OsString> = std::env::args_os().skip(2).collect();
    let remote = matches!(name, "check" | "wait" | "watch" | "scan")
        && rest.iter().any(|a| fleet::is_remote(a));
    if name != "relay" && !remote {
        return None;
    }
    match signals::cancel_on_signal() {
        Ok(cancel) => Some(ExitCode::from(fleet::cli::main(name, rest, Some(cancel)))),
        Err(Stop::Usage(msg)) => {
            eprintln!("lifesign {name}: {msg}");
            Some(ExitCode::from(2))
        }
        Err(Stop::Help(text)) => {
            println!("{text}");
            Some(ExitCode::SUCCESS)
        }
    }
}

/// The help of `check`, `wait`, `watch` and `scan`, with their `nats://`
/// forms.
#[cfg(feature = "fleet")]
fn with_remote_help(cmd: &str, help: &'static str) -> &'static str {
    if !matches!(cmd, "check" | "wait" | "watch" | "scan") {
        return help;
    }
    Box::leak(format!("{help}\n\n{}", fleet::cli::REMOTE_HELP).into_boxed_str())
}
