//! `lifesign`: the heartbeat protocol for shells, probes, reapers and
//! launchers. One module per subcommand; `commands` is the table of every
//! command and option, which `help` renders as help, completions and the
//! man page; `args` parses (lexopt), `output` prints, `signals` handles
//! signals. Everything else is the library's public API.

use std::process::ExitCode;

// Output never panics. std's `println!` and `eprintln!` panic when the
// stream is gone (a closed pipe: EPIPE, as Rust ignores SIGPIPE), which
// would exit 101 and, in `run`, leave CMD without its supervisor. These
// two replace them in every module of the tool, declared before the
// modules so that the whole crate uses them: a line that cannot be written
// is dropped, and each command goes on to its own exit code.
macro_rules! println {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}
macro_rules! eprintln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

mod args;
mod bridge;
mod check;
mod child;
mod commands;
mod emit;
mod exporter;
#[cfg(feature = "fleet")]
mod fleet;
mod help;
mod metrics;
mod output;
mod run;
mod scan;
mod signals;
mod wait;
mod watch;

use args::{Args, Stop};

type Main = fn(Args) -> args::Res<u8>;

/// The code of each command in the table.
fn entry(name: &str) -> Option<Main> {
    Some(match name {
        "check" => check::main,
        "wait" => wait::main,
        "emit" => emit::main,
        "run" => run::main,
        "scan" => scan::main,
        "watch" => watch::main,
        "metrics" => metrics::main,
        "completions" => completions,
        "man" => man,
        "help" => help_main,
        _ => return None,
    })
}

fn main() -> ExitCode {
    let mut parser = lexopt::Parser::from_env();
    let name = match parser.next() {
        Ok(Some(lexopt::Arg::Value(v))) => v.to_string_lossy().into_owned(),
        Ok(Some(lexopt::Arg::Long("help") | lexopt::Arg::Short('h'))) => "help".into(),
        Ok(Some(lexopt::Arg::Long("version") | lexopt::Arg::Short('V'))) => {
            println!("lifesign {}", lifesign::VERSION);
            return ExitCode::SUCCESS;
        }
        Ok(Some(other)) => {
            eprintln!("lifesign: {} (see lifesign --help)", other.unexpected());
            return ExitCode::from(2);
        }
        Ok(None) | Err(_) => {
            eprintln!("{}", help::top());
            return ExitCode::from(2);
        }
    };
    let rest = || std::env::args_os().skip(2);
    #[cfg(feature = "fleet")]
    if let Some(code) = fleet_main(&name, rest().collect()) {
        return code;
    }
    #[cfg(not(feature = "fleet"))]
    if let Some((code, msg)) = without_fleet(&name, rest()) {
        eprintln!("lifesign {name}: {msg}");
        return ExitCode::from(code);
    }
    let (Some(cmd), Some(run)) = (commands::find(&name), entry(&name)) else {
        eprintln!("lifesign: unknown command {name:?} (see lifesign --help)");
        return ExitCode::from(2);
    };
    match run(Args::new(parser, cmd)) {
        Ok(code) => ExitCode::from(code),
        Err(Stop::Help(text)) => {
            println!("{text}");
            ExitCode::SUCCESS
        }
        Err(Stop::CommandHelp(c)) => {
            println!("{}", help::command(c));
            ExitCode::SUCCESS
        }
        Err(Stop::Usage(msg)) => {
            eprintln!("lifesign {name}: {msg}");
            ExitCode::from(2)
        }
    }
}

/// `lifesign help [COMMAND]`: the same text as `lifesign COMMAND --help`.
fn help_main(mut a: Args) -> args::Res<u8> {
    let mut topic = None;
    while let Some(arg) = a.next()? {
        match arg {
            args::Arg::Value(v) if topic.is_none() => {
                topic = Some(v.to_string_lossy().into_owned())
            }
            other => return args::unknown("help", other),
        }
    }
    match topic {
        None => Err(Stop::Help(help::top())),
        Some(t) => match commands::find(&t) {
            Some(c) => Err(Stop::Help(help::command(c))),
            None => args::usage(format!("unknown command {t:?} (see lifesign --help)")),
        },
    }
}

/// `lifesign completions bash|zsh|fish`.
fn completions(mut a: Args) -> args::Res<u8> {
    let mut shell = None;
    while let Some(arg) = a.next()? {
        match arg {
            args::Arg::Value(v) if shell.is_none() => {
                shell = Some(v.to_string_lossy().into_owned())
            }
            other => return args::unknown("completions", other),
        }
    }
    let Some(shell) = shell else {
        return args::usage("missing SHELL: bash, zsh or fish");
    };
    match help::completions(&shell) {
        Some(script) => {
            use std::io::Write as _;
            let _ = std::io::stdout().write_all(script.as_bytes());
            Ok(0)
        }
        None => args::usage(format!("{shell:?} is not one of bash, zsh, fish")),
    }
}

/// `lifesign man`: lifesign(1) in roff.
fn man(mut a: Args) -> args::Res<u8> {
    if let Some(arg) = a.next()? {
        return args::unknown("man", arg);
    }
    use std::io::Write as _;
    let _ = std::io::stdout().write_all(help::man().as_bytes());
    Ok(0)
}

/// Whether `arg` names a remote heartbeat (`nats://...`).
fn is_remote(arg: &std::ffi::OsStr) -> bool {
    arg.as_encoded_bytes().starts_with(b"nats://")
}

/// A build without the fleet feature: a fleet command (`relay`), or a
/// `nats://` target of a command that takes one (`check`, `wait`, `watch`,
/// `scan`), is "cannot tell" (exit 2) with the reason, never a file name
/// that reads `missing`.
#[cfg_attr(feature = "fleet", allow(dead_code))]
fn without_fleet(
    name: &str,
    mut rest: impl Iterator<Item = std::ffi::OsString>,
) -> Option<(u8, String)> {
    let cmd = commands::COMMANDS.iter().find(|c| c.name == name);
    let remote = cmd.is_some_and(|c| c.remote) && rest.any(|a| is_remote(&a));
    (cmd.is_some_and(|c| c.fleet) || remote).then(|| {
        (
            2,
            "this lifesign was built without fleet support (nats:// targets and relay; \
             docs/FLEET.md)"
                .to_string(),
        )
    })
}

/// The fleet's commands (`relay`; rows of the table marked `fleet`), and
/// `check`, `wait`, `watch` or `scan` of a `nats://` target (docs/FLEET.md):
/// `fleet::cli::main` runs them. `None` for every other command.
#[cfg(feature = "fleet")]
fn fleet_main(name: &str, rest: Vec<std::ffi::OsString>) -> Option<ExitCode> {
    let cmd = commands::find(name);
    let remote = cmd.is_some_and(|c| c.remote) && rest.iter().any(|a| is_remote(a));
    if !cmd.is_some_and(|c| c.fleet) && !remote {
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
        Err(Stop::CommandHelp(c)) => {
            println!("{}", help::command(c));
            Some(ExitCode::SUCCESS)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsString;

    fn args(a: &[&str]) -> impl Iterator<Item = OsString> {
        a.iter().map(OsString::from).collect::<Vec<_>>().into_iter()
    }

    #[test]
    fn without_the_fleet_a_nats_target_is_cannot_tell_never_a_path() {
        for cmd in ["check", "wait", "watch", "scan"] {
            let got = without_fleet(cmd, args(&["--json", "nats://127.0.0.1:4222/lifesign/a.b"]));
            let (code, msg) = got.expect(cmd);
            assert_eq!(code, 2);
            assert!(msg.starts_with("this lifesign was built without fleet support"));
        }
        assert!(without_fleet("relay", args(&["/run/app"])).is_some());
        assert!(without_fleet("check", args(&["/run/nats://x"])).is_none());
        assert!(without_fleet("emit", args(&["nats://x", "--state", "ready"])).is_none());
    }

    #[test]
    fn every_command_of_the_table_has_its_code() {
        for c in commands::COMMANDS {
            // The fleet's commands have theirs in fleet::cli.
            assert_eq!(entry(c.name).is_some(), !c.fleet, "{}", c.name);
        }
    }
}
