//! The table of `commands` rendered three ways: `--help` text, shell
//! completions (`lifesign completions bash|zsh|fish`) and the man page
//! lifesign(1) (`lifesign man`).

use crate::args::show_duration;
use crate::commands::{commands, Cmd, Opt, Value, ABOUT, TOP_EXAMPLES, TOP_EXIT};
use std::fmt::Write;

const WIDTH: usize = 79;

/// `text` wrapped at `WIDTH`, each line indented by `indent` (the first by
/// `first` more or less characters already on the line).
fn wrap(text: &str, indent: usize, first: usize) -> String {
    let mut out = String::new();
    let mut col = first;
    let mut line_start = true;
    for word in text.split_whitespace() {
        if !line_start && col + 1 + word.len() > WIDTH {
            out.push('\n');
            out.push_str(&" ".repeat(indent));
            col = indent;
        } else if !line_start {
            out.push(' ');
            col += 1;
        }
        out.push_str(word);
        col += word.len();
        line_start = false;
    }
    out
}

fn paragraphs(text: &str) -> impl Iterator<Item = &str> {
    text.split("\n\n").map(str::trim).filter(|p| !p.is_empty())
}

fn opt_head(o: &Opt) -> String {
    match o.value.name() {
        Some(v) => format!("--{} {v}", o.long),
        None => format!("--{}", o.long),
    }
}

/// The durations paragraph, naming this command's duration options and
/// their ranges; `None` when it has none.
fn durations(opts: &[Opt]) -> Option<String> {
    let mut ranges: Vec<(String, Vec<&str>)> = Vec::new();
    for o in opts {
        if let Value::Duration(r) = o.value {
            let range = format!("{} to {}", show_duration(r.min), show_duration(r.max));
            match ranges.iter_mut().find(|(k, _)| *k == range) {
                Some((_, names)) => names.push(o.long),
                None => ranges.push((range, vec![o.long])),
            }
        }
    }
    if ranges.is_empty() {
        return None;
    }
    let mut s =
        String::from("Durations: 250ms, 2s, 5m, 1h, 1.5s, or a bare number of milliseconds.");
    for (range, names) in ranges {
        let names: Vec<String> = names.iter().map(|n| format!("--{n}")).collect();
        let _ = write!(s, " {}: {range}", names.join(", "));
        if range.ends_with("1000000000000000ms") {
            s += " (10^15 ms, about 31,700 years)";
        }
        s += ";";
    }
    s.pop();
    s += ". A value out of range is a usage error.";
    Some(s)
}

/// What `lifesign CMD --help` and `lifesign help CMD` print.
pub fn command(c: &Cmd) -> String {
    let mut s = String::new();
    let usage = wrap(&c.usage_words(), 6 + 10, 7).replace('\u{1}', " ");
    let _ = writeln!(s, "Usage: {usage}\n");
    for p in paragraphs(c.about) {
        let _ = writeln!(s, "{}\n", wrap(p, 0, 0));
    }
    let col = c
        .opts
        .iter()
        .map(|o| opt_head(o).len())
        .max()
        .unwrap_or(0)
        .min(20)
        + 4;
    for o in c.opts {
        let head = format!("  {}", opt_head(o));
        if head.len() + 2 > col {
            let _ = writeln!(s, "{head}\n{}{}", " ".repeat(col), wrap(o.help, col, col));
        } else {
            let pad = " ".repeat(col - head.len());
            let _ = writeln!(s, "{head}{pad}{}", wrap(o.help, col, col));
        }
    }
    if !c.opts.is_empty() {
        s.push('\n');
    }
    for p in paragraphs(c.notes) {
        let _ = writeln!(s, "{}\n", wrap(p, 0, 0));
    }
    if let Some(d) = durations(c.opts) {
        let _ = writeln!(s, "{}\n", wrap(&d, 0, 0));
    }
    if c.remote {
        let _ = writeln!(s, "{}\n", remote_help());
    }
    let mut first = true;
    for p in paragraphs(c.exit) {
        let text = if first {
            format!("Exit codes: {p}")
        } else {
            p.to_string()
        };
        first = false;
        let _ = writeln!(s, "{}\n", wrap(&text, 0, 0));
    }
    let _ = writeln!(s, "Example{}:", if c.examples.len() > 1 { "s" } else { "" });
    for e in c.examples {
        let _ = writeln!(s, "  {e}");
    }
    s.truncate(s.trim_end().len());
    s
}

#[cfg(feature = "fleet")]
fn remote_help() -> String {
    crate::fleet::cli::REMOTE_HELP.to_string()
}

#[cfg(not(feature = "fleet"))]
fn remote_help() -> String {
    wrap(
        "Remote heartbeats (nats://HOST:PORT/BUCKET/KEY) need a lifesign built with the fleet feature (docs/FLEET.md).",
        0,
        0,
    )
}

/// What `lifesign --help` and `lifesign help` print.
pub fn top() -> String {
    let mut s = format!(
        "lifesign {}: {ABOUT}\n\nUsage: lifesign <command> [options]\n\nCommands:\n",
        lifesign::VERSION
    );
    for c in commands() {
        let head = format!("  {} {}", c.name, c.operands);
        let head = if c.name == "run" {
            "  run -- CMD".to_string()
        } else {
            head
        };
        let _ = writeln!(s, "{head:<22}{}", wrap(c.summary, 22, 22));
    }
    s += "\nExamples:\n";
    for e in TOP_EXAMPLES {
        let _ = writeln!(s, "  {e}");
    }
    let _ = write!(
        s,
        "\n{}\n\nRun `lifesign <command> --help` (or `lifesign help <command>`) for its\noptions and examples; `lifesign man` prints the manual page.\nProtocol and verdicts: docs/PROTOCOL.md (share/doc/lifesign/PROTOCOL.md in\nthe release tarball).",
        wrap(&format!("Exit codes: {TOP_EXIT}"), 0, 0)
    );
    s
}

// ---- completions -------------------------------------------------------------

/// The completion script of `shell`, or `None` for a shell we do not know.
pub fn completions(shell: &str) -> Option<String> {
    match shell {
        "bash" => Some(bash()),
        "zsh" => Some(zsh()),
        "fish" => Some(fish()),
        _ => None,
    }
}

fn names() -> String {
    commands().map(|c| c.name).collect::<Vec<_>>().join(" ")
}

/// What a bash `compgen` offers for a value.
fn bash_value(v: Value) -> String {
    match v {
        Value::File => "COMPREPLY=($(compgen -f -- \"$cur\"))".into(),
        Value::Dir => "COMPREPLY=($(compgen -d -- \"$cur\"))".into(),
        Value::Command => "COMPREPLY=($(compgen -c -- \"$cur\"))".into(),
        Value::Subcommand => format!("COMPREPLY=($(compgen -W \"{}\" -- \"$cur\"))", names()),
        Value::Choice(_, words) => {
            format!(
                "COMPREPLY=($(compgen -W \"{}\" -- \"$cur\"))",
                words.join(" ")
            )
        }
        _ => "COMPREPLY=()".into(),
    }
}

fn bash() -> String {
    let mut s = String::from(
        "# bash completion for lifesign, generated by `lifesign completions bash`\n\
         _lifesign() {\n    \
             local cur prev cmd i n=0 operands=0\n    \
             COMPREPLY=()\n    \
             cur=\"${COMP_WORDS[COMP_CWORD]}\"\n    \
             prev=\"${COMP_WORDS[COMP_CWORD-1]}\"\n    \
             for ((i = 1; i < COMP_CWORD; i++)); do\n        \
                 case \"${COMP_WORDS[i]}\" in -*) ;; *) cmd=\"${COMP_WORDS[i]}\"; n=$i; break ;; esac\n    \
             done\n    \
             if [[ -z $cmd ]]; then\n        \
                 COMPREPLY=($(compgen -W \"",
    );
    s += &names();
    s += " --help --version\" -- \"$cur\"))\n        return\n    fi\n    case \"$cmd\" in\n";
    for c in commands() {
        let valued: Vec<String> = c
            .opts
            .iter()
            .filter(|o| o.value != Value::Flag)
            .map(|o| format!("--{}", o.long))
            .collect();
        let all: Vec<String> = c
            .opts
            .iter()
            .map(|o| format!("--{}", o.long))
            .chain(["--help".to_string()])
            .collect();
        let _ = writeln!(s, "    {})", c.name);
        let _ = writeln!(s, "        case \"$prev\" in");
        for o in c.opts.iter().filter(|o| o.value != Value::Flag) {
            let _ = writeln!(
                s,
                "            --{}) {}; return ;;",
                o.long,
                bash_value(o.value)
            );
        }
        let _ = writeln!(s, "        esac");
        // Count the operands before the cursor, skipping options and their
        // values: `run` completes a command first, then its arguments.
        let valued = if valued.is_empty() {
            "--no-value-option".to_string()
        } else {
            valued.join("|")
        };
        let _ = writeln!(
            s,
            "        for ((i = n + 1; i < COMP_CWORD; i++)); do\n            \
                 case \"${{COMP_WORDS[i]}}\" in {valued}) ((i++)) ;; -*) ;; *) ((operands++)) ;; esac\n        \
             done"
        );
        if c.operand == Value::Command {
            let _ = writeln!(
                s,
                "        if ((operands > 0)); then COMPREPLY=($(compgen -f -- \"$cur\")); return; fi"
            );
        }
        let _ = writeln!(
            s,
            "        if [[ $cur == -* ]]; then COMPREPLY=($(compgen -W \"{}\" -- \"$cur\")); else {}; fi\n        ;;",
            all.join(" "),
            bash_value(c.operand)
        );
    }
    s += "    esac\n}\ncomplete -F _lifesign lifesign\n";
    s
}

/// A description for zsh and fish: the help's first clause, without the
/// characters their syntax gives a meaning.
fn short(help: &str) -> String {
    let end = help.find([';', '(', '.']).unwrap_or(help.len());
    help[..end]
        .trim()
        .chars()
        .map(|c| match c {
            '[' | ']' | ':' | '\'' | '"' | '\\' | '$' | '`' => ' ',
            c => c,
        })
        .collect()
}

fn zsh_value(v: Value) -> String {
    match v {
        Value::File => "_files".into(),
        Value::Dir => "_files -/".into(),
        Value::Command => "_command_names -e".into(),
        Value::Subcommand => format!("({})", names()),
        Value::Choice(_, words) => format!("({})", words.join(" ")),
        _ => " ".into(),
    }
}

fn zsh() -> String {
    let mut s = String::from(
        "#compdef lifesign\n# zsh completion for lifesign, generated by `lifesign completions zsh`\n\n_lifesign() {\n    local -a commands\n    commands=(\n",
    );
    for c in commands() {
        let _ = writeln!(s, "        '{}:{}'", c.name, short(c.summary));
    }
    s += "    )\n    if (( CURRENT == 2 )); then\n        _describe -t commands 'lifesign command' commands\n        return\n    fi\n    local cmd=$words[2]\n    shift words\n    (( CURRENT-- ))\n    case $cmd in\n";
    for c in commands() {
        let _ = write!(s, "        {})\n            _arguments -s", c.name);
        for o in c.opts {
            let star = if o.repeated { "*" } else { "" };
            let _ = write!(
                s,
                " \\\n                '{star}--{}[{}]",
                o.long,
                short(o.help)
            );
            if let Some(v) = o.value.name() {
                let _ = write!(s, ":{v}:{}", zsh_value(o.value));
            }
            s.push('\'');
        }
        if c.operand == Value::Command {
            s += " \\\n                ':command:_command_names -e' \\\n                '*::arguments:_normal'";
        } else if c.operand != Value::Flag {
            let rest = if c.operands.ends_with("...") { "*" } else { "" };
            let _ = write!(
                s,
                " \\\n                '{rest}:{}:{}'",
                c.operands.trim_matches(['[', ']']).to_lowercase(),
                zsh_value(c.operand)
            );
        }
        s += "\n            ;;\n";
    }
    s += "    esac\n}\n\n_lifesign \"$@\"\n";
    s
}

fn fish() -> String {
    let mut s = String::from(
        "# fish completion for lifesign, generated by `lifesign completions fish`\ncomplete -c lifesign -f\n",
    );
    let names = names();
    for c in commands() {
        let _ = writeln!(
            s,
            "complete -c lifesign -n 'not __fish_seen_subcommand_from {names}' -a {} -d '{}'",
            c.name,
            short(c.summary)
        );
    }
    for c in commands() {
        let when = format!("-n '__fish_seen_subcommand_from {}'", c.name);
        for o in c.opts {
            let _ = write!(s, "complete -c lifesign {when} -l {}", o.long);
            match o.value {
                Value::Flag => {}
                Value::File | Value::Dir => s += " -r -F",
                Value::Choice(_, words) => {
                    let _ = write!(s, " -x -a '{}'", words.join(" "));
                }
                _ => s += " -x",
            }
            let _ = writeln!(s, " -d '{}'", short(o.help));
        }
        match c.operand {
            Value::File | Value::Dir => {
                let _ = writeln!(s, "complete -c lifesign {when} -F");
            }
            Value::Command => {
                let _ = writeln!(
                    s,
                    "complete -c lifesign {when} -a '(__fish_complete_subcommand --fcs-skip=2)'"
                );
            }
            Value::Choice(_, words) => {
                let _ = writeln!(s, "complete -c lifesign {when} -a '{}'", words.join(" "));
            }
            Value::Subcommand => {
                let _ = writeln!(s, "complete -c lifesign {when} -a '{names}'");
            }
            _ => {}
        }
    }
    s
}

// ---- the man page ------------------------------------------------------------

/// Text for roff: backslashes and dashes escaped, no line starting with a
/// control character.
fn roff(text: &str) -> String {
    let s = text.replace('\\', "\\e").replace('-', "\\-");
    s.lines()
        .map(|l| {
            if l.starts_with(['.', '\'']) {
                format!("\\&{l}")
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn roff_paragraphs(out: &mut String, text: &str) {
    for p in paragraphs(text) {
        let _ = writeln!(out, ".PP\n{}", roff(p));
    }
}

fn roff_examples(out: &mut String, examples: &[&str]) {
    out.push_str(".PP\n.nf\n.RS 4\n");
    for e in examples {
        let _ = writeln!(out, "{}", roff(e));
    }
    out.push_str(".RE\n.fi\n");
}

/// lifesign(1) in roff (`man -l` renders it).
pub fn man() -> String {
    let mut s = format!(
        ".TH LIFESIGN 1 \"\" \"lifesign {v}\" \"User Commands\"\n.SH NAME\nlifesign \\- {about}\n.SH SYNOPSIS\n",
        v = lifesign::VERSION,
        about = roff(ABOUT)
    );
    for c in commands() {
        let _ = writeln!(s, ".B {}\n.br", roff(&c.usage()));
    }
    s += ".SH DESCRIPTION\n";
    s += &roff(
        "A process (the emitter) keeps a small JSON heartbeat file fresh, atomically; lifesign turns that file into a verdict: alive, missing, invalid, pid_mismatch, stopped, failed, process_gone, future, stale or stalled. The protocol and the verdict rules are in docs/PROTOCOL.md (share/doc/lifesign/PROTOCOL.md in the release tarball); what is opened, followed and trusted is in docs/SECURITY.md.",
    );
    s += "\n.SH COMMANDS\n";
    for c in commands() {
        let _ = writeln!(s, ".SS \"lifesign {} {}\"", c.name, roff(c.operands));
        roff_paragraphs(&mut s, c.about);
        for o in c.opts {
            let _ = write!(s, ".TP\n.B \\-\\-{}", roff(o.long));
            if let Some(v) = o.value.name() {
                let _ = write!(s, " \\fI{}\\fR", roff(v));
            }
            let _ = writeln!(s, "\n{}", roff(o.help));
        }
        roff_paragraphs(&mut s, c.notes);
        if let Some(d) = durations(c.opts) {
            roff_paragraphs(&mut s, &d);
        }
        if c.remote {
            roff_paragraphs(&mut s, &remote_help().replace('\n', " "));
        }
        let _ = writeln!(
            s,
            ".PP\nExit codes: {}",
            roff(c.exit.split("\n\n").next().unwrap_or(""))
        );
        for p in paragraphs(c.exit).skip(1) {
            let _ = writeln!(s, ".PP\n{}", roff(p));
        }
        roff_examples(&mut s, c.examples);
    }
    s += ".SH EXIT STATUS\n";
    s += &roff(TOP_EXIT);
    s += "\n.SH ENVIRONMENT\n.TP\n.B LIFESIGN_FILE\nthe heartbeat file that \\fBlifesign run\\fR hands to CMD\n.TP\n.B LIFESIGN_INTERVAL_MS\nthe interval that \\fBlifesign run\\fR hands to CMD\n.TP\n.B NOTIFY_SOCKET\n\\fBlifesign run\\fR speaks systemd's notify protocol for CMD\n";
    s += ".SH EXAMPLES\n";
    roff_examples(&mut s, TOP_EXAMPLES);
    s += ".SH SEE ALSO\n.BR systemd.service (5),\n.BR docker (1)\n";
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrapped_help_never_passes_the_width() {
        for c in commands() {
            for line in command(c).lines() {
                let long_word = line.split_whitespace().any(|w| w.len() > 40);
                let example = line.starts_with("  lifesign") || line.starts_with("  migrate");
                assert!(
                    line.len() <= WIDTH || long_word || example,
                    "{}: {line}",
                    c.name
                );
            }
        }
    }

    #[test]
    fn durations_are_explained_only_where_there_are_some() {
        for c in commands() {
            let help = command(c);
            let has = c.opts.iter().any(|o| matches!(o.value, Value::Duration(_)));
            assert_eq!(help.contains("Durations:"), has, "{}", c.name);
            for o in c
                .opts
                .iter()
                .filter(|o| matches!(o.value, Value::Duration(_)))
            {
                let d = durations(c.opts).unwrap();
                assert!(d.contains(&format!("--{}", o.long)), "{}: {d}", c.name);
            }
        }
    }

    #[test]
    fn roff_escapes_what_roff_would_read_as_requests() {
        assert_eq!(roff(".x -y\\z"), "\\&.x \\-y\\ez");
    }
}
