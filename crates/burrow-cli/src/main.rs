//! The `burrow` command: a thin front that turns flags into a
//! `burrow::ContainerSpec` (or an excursion) and prints results.

mod cli;
mod enter;
mod env;
mod probe;
mod run;

use std::process::ExitCode;

use clap::Parser;

/// Exit status for burrow's own failures (bad input, setup errors), as
/// podman and runc use it; 126 and 127 keep their shell meanings.
pub const EXIT_BURROW: u8 = 125;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    if cli.debug {
        tracing_subscriber::fmt()
            .with_writer(std::io::stderr)
            .with_max_level(tracing::Level::DEBUG)
            .with_span_events(tracing_subscriber::fmt::format::FmtSpan::CLOSE)
            .init();
    }
    let result = match cli.command {
        cli::Command::Run(args) => run::main(*args, cli.debug),
        cli::Command::Enter(args) => enter::main(args),
        cli::Command::Probe(args) => probe::main(args),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("burrow: {e:#}");
            ExitCode::from(exit_code_for(&e))
        }
    }
}

/// 127 when the command was not found, 126 when it could not be executed,
/// 125 for everything else.
fn exit_code_for(e: &anyhow::Error) -> u8 {
    match e.downcast_ref::<burrow::Error>() {
        Some(burrow::Error::Setup(report)) if report.step == burrow::Step::Exec => match report.errno() {
            Some(nix::errno::Errno::ENOENT) | Some(nix::errno::Errno::ENOTDIR) => 127,
            _ => 126,
        },
        _ => EXIT_BURROW,
    }
}

/// Map a container's end to this process's exit code: its code, or
/// 128 + the signal that killed it.
pub fn exit_code(status: burrow::ExitStatus) -> u8 {
    status.code().clamp(0, 255) as u8
}
