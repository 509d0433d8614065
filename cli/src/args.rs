//! Command-line parsing on top of lexopt: one cursor per subcommand, the
//! duration and PID grammars with their ranges, and the usage errors (exit 2).

use crate::commands::Cmd;
use lexopt::prelude::*;
use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

/// Why a subcommand stopped before running: a usage error (one line on
/// stderr, exit 2) or a request for its help (stdout, exit 0).
pub enum Stop {
    Usage(String),
    Help(String),
    /// `--help` of a command: its help text (rendered by the caller, so
    /// that the parser does not depend on the help's renderer).
    CommandHelp(&'static Cmd),
}

pub type Res<T> = Result<T, Stop>;

pub fn usage<T>(msg: impl Into<String>) -> Res<T> {
    Err(Stop::Usage(msg.into()))
}

/// Parses `250ms`, `2s`, `5m`, `1h` or a bare number of milliseconds; a
/// fraction (`1.5s`) is kept to the microsecond. `None` when it is not one.
pub fn parse_duration(s: &str) -> Option<Duration> {
    let split = s
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let unit_ms: u64 = match unit {
        "" | "ms" => 1,
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        _ => return None,
    };
    if !num.is_empty() && num.bytes().all(|b| b.is_ascii_digit()) {
        // Integers stay exact; one that overflows is out of every range.
        let ms = num.parse::<u64>().ok().and_then(|n| n.checked_mul(unit_ms));
        return Some(ms.map_or(Duration::MAX, Duration::from_millis));
    }
    let value: f64 = num.parse().ok().filter(|v: &f64| v.is_finite())?;
    Some(Duration::try_from_secs_f64(value * unit_ms as f64 / 1e3).unwrap_or(Duration::MAX))
}

/// A duration as the help texts write it: `10ms`, `1h`, `1000000000000000ms`.
pub fn show_duration(d: Duration) -> String {
    let ms = d.as_millis();
    match ms {
        0 => "0".into(),
        ms if ms % 3_600_000 == 0 && ms <= 86_400_000 => format!("{}h", ms / 3_600_000),
        ms if ms % 1_000 == 0 && ms < 3_600_000 => format!("{}s", ms / 1_000),
        ms => format!("{ms}ms"),
    }
}

/// One argument, owned (lexopt's borrows the parser).
pub enum Arg {
    Long(String),
    Short(char),
    Value(OsString),
}

/// The arguments of one subcommand.
pub struct Args {
    parser: lexopt::Parser,
    cmd: &'static Cmd,
    /// A remote target's option given for a local one.
    remote_only: Option<String>,
}

impl Args {
    pub fn new(parser: lexopt::Parser, cmd: &'static Cmd) -> Args {
        Args {
            parser,
            cmd,
            remote_only: None,
        }
    }

    /// The next argument; `--help` and `-h` stop with the help text. An
    /// option that the command's row of the table does not list is a usage
    /// error here, so that no command accepts an option its help omits.
    pub fn next(&mut self) -> Res<Option<Arg>> {
        let arg = match self.parser.next() {
            Ok(a) => a,
            Err(e) => return usage(e.to_string()),
        };
        Ok(match arg {
            None if self.remote_only.is_some() => {
                let l = self.remote_only.take().unwrap_or_default();
                return usage(format!(
                    "--{l} applies to a nats:// or tls:// target only (docs/FLEET.md)"
                ));
            }
            None => None,
            Some(Long("help")) | Some(Short('h')) => return Err(Stop::CommandHelp(self.cmd)),
            Some(Long(l)) if self.cmd.opt(l).is_none() => {
                return unknown(self.cmd.name, Arg::Long(l.to_owned()))
            }
            // Options of a remote target (TLS): refused for a file or a
            // folder, once every other argument is known good.
            Some(Long(l)) if crate::commands::REMOTE_ONLY.contains(&l) => {
                let l = l.to_owned();
                self.os_value(&l)?;
                self.remote_only.get_or_insert(l);
                return self.next();
            }
            Some(Long(l)) => Some(Arg::Long(l.to_owned())),
            Some(Short(c)) => Some(Arg::Short(c)),
            Some(Value(v)) => Some(Arg::Value(v)),
        })
    }

    /// Everything after the current argument, unparsed (a command line).
    pub fn rest(&mut self) -> Vec<OsString> {
        self.parser
            .raw_args()
            .map(|r| r.collect())
            .unwrap_or_default()
    }

    pub fn os_value(&mut self, flag: &str) -> Res<OsString> {
        self.parser
            .value()
            .or_else(|_| usage(format!("--{flag} needs a value")))
    }

    pub fn value(&mut self, flag: &str) -> Res<String> {
        self.os_value(flag)?
            .into_string()
            .or_else(|_| usage(format!("--{flag} is not valid UTF-8")))
    }

    /// A duration within the range the table gives the option.
    pub fn duration(&mut self, flag: &str) -> Res<Duration> {
        let range = match self.cmd.opt(flag).map(|o| o.value) {
            Some(crate::commands::Value::Duration(r)) => r,
            _ => unreachable!(
                "--{flag} of {} is not a duration in the table",
                self.cmd.name
            ),
        };
        let v = self.value(flag)?;
        let Some(d) = parse_duration(v.trim()) else {
            return usage(format!(
                "--{flag} {v:?} is not a duration (250ms, 2s, 5m, 1h or milliseconds)"
            ));
        };
        if d < range.min || d > range.max {
            return usage(format!(
                "--{flag} {v}: out of range ({} to {})",
                show_duration(range.min),
                show_duration(range.max)
            ));
        }
        Ok(d)
    }

    /// A timeout: 0 means none, as in the C ABI.
    pub fn timeout(&mut self, flag: &str) -> Res<Option<Duration>> {
        Ok(Some(self.duration(flag)?).filter(|d| !d.is_zero()))
    }

    pub fn pid(&mut self, flag: &str) -> Res<u32> {
        let v = self.value(flag)?;
        match v.trim().parse::<u32>() {
            Ok(p) if (1..=i32::MAX as u32).contains(&p) => Ok(p),
            _ => usage(format!("--{flag} {v:?} is not a PID (1 to 2147483647)")),
        }
    }
}

/// The error for an option the subcommand does not know.
pub fn unknown<T>(cmd: &str, arg: Arg) -> Res<T> {
    match arg {
        Arg::Long(l) => usage(format!("unknown option --{l} (see lifesign {cmd} --help)")),
        Arg::Short(c) => usage(format!("unknown option -{c} (see lifesign {cmd} --help)")),
        Arg::Value(v) => usage(format!("unexpected argument {:?}", v.to_string_lossy())),
    }
}

/// Stores the one positional argument a subcommand takes.
pub fn one_positional(slot: &mut Option<PathBuf>, v: OsString) -> Res<()> {
    if slot.is_some() {
        return usage(format!("unexpected argument {:?}", v.to_string_lossy()));
    }
    *slot = Some(PathBuf::from(v));
    Ok(())
}

pub fn required(cmd: &str, slot: Option<PathBuf>, what: &str) -> Res<PathBuf> {
    slot.map_or_else(
        || usage(format!("missing {what} (see lifesign {cmd} --help)")),
        Ok,
    )
}

/// Creates the missing folders of `file`, mode 0755 whatever the umask
/// (`emit --mkdir`, `run --file`).
pub fn make_parent(file: &std::path::Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    match file.parent().filter(|d| !d.as_os_str().is_empty()) {
        Some(dir) => std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o755)
            .create(dir),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::MAX_DURATION;

    #[test]
    fn durations_in_every_unit_and_fractions() {
        let ms = |s: &str| parse_duration(s).map(|d| d.as_micros());
        assert_eq!(ms("250ms"), Some(250_000));
        assert_eq!(ms("250"), Some(250_000));
        assert_eq!(ms("2s"), Some(2_000_000));
        assert_eq!(ms("1.5s"), Some(1_500_000));
        assert_eq!(ms("5m"), Some(300_000_000));
        assert_eq!(ms("1h"), Some(3_600_000_000));
        for bad in ["", "s", "soon", "1d", "-1s", "1..2s", "inf", "NaN"] {
            assert_eq!(ms(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_documented_maximum_is_exact_and_one_past_it_is_out_of_range() {
        assert_eq!(parse_duration("1000000000000000"), Some(MAX_DURATION));
        assert!(parse_duration("1000000000000001").unwrap() > MAX_DURATION);
        assert!(parse_duration("99999999999999999999h").unwrap() > MAX_DURATION);
    }
}
