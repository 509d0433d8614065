//! The fleet commands on their own, until `lifesign` dispatches to them:
//! `lifesign-fleet relay ...`, `lifesign-fleet check|wait|watch|scan nats://...`.

#[path = "lifesign/fleet/mod.rs"]
mod fleet;

fn main() -> std::process::ExitCode {
    let mut args = std::env::args_os().skip(1);
    let cmd = args
        .next()
        .and_then(|c| c.into_string().ok())
        .unwrap_or_default();
    std::process::ExitCode::from(fleet::cli::main(&cmd, args.collect(), None))
}
