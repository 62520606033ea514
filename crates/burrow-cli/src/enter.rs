//! `burrow enter PID -- COMMAND`: the seed's excursion as a command.

use anyhow::{Context, Result};

use crate::cli::EnterArgs;

/// Join the container of `args.pid` and run the command there.
pub fn main(args: EnterArgs) -> Result<u8> {
    let pid: i32 = args
        .pid
        .parse()
        .with_context(|| format!("{:?} is not a pid", args.pid))?;
    let (capabilities, seccomp) = burrow_cli::spec::hardening(&args.hardening)?;
    // As hardened as what `burrow run` starts: the default capabilities and
    // seccomp filter, in a session of its own (the caller's terminal stays
    // out of reach), its signals passed on.
    let mut excursion = burrow::Excursion::new(pid)?
        .capabilities(capabilities)
        .new_session(true)
        .forward_signals(true);
    if let Some(profile) = seccomp {
        excursion = excursion.seccomp(profile);
    }
    for (k, v) in crate::env::build(&[], &args.setenv)? {
        excursion = excursion.env(k, v);
    }
    let argv = if args.command.is_empty() {
        vec!["/bin/sh".to_string()]
    } else {
        args.command
    };
    let status = excursion.run_command(&argv)?;
    Ok(crate::exit_code(status))
}
