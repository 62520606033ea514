//! Commands the container process itself runs at two points of its setup:
//! just before `pivot_root` (the host's paths still reachable) and just
//! before exec (inside the new root). An OCI front maps its
//! `createContainer` and `startContainer` hooks here.

use std::io::Write;
use std::os::fd::AsFd;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use serde::Serialize;

use crate::error::{SetupError, Step};
use crate::exec::{CStrings, Command};
use crate::sys::{self, Forked};

/// One command, run with `stdin` on its standard input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HookCommand {
    /// The program (an absolute path).
    pub path: PathBuf,
    /// Its argv, `argv[0]` included.
    pub args: Vec<String>,
    /// Its whole environment, `KEY=VALUE`.
    pub env: Vec<String>,
    /// Kill it and fail after this long.
    pub timeout: Option<Duration>,
    /// What it reads on standard input (an OCI front passes the state).
    pub stdin: String,
}

/// Run `hook` to completion from the container process, with `input` (or
/// its own `stdin`) on its standard input; a non-zero exit, a signal or the
/// timeout is a setup error naming the hook.
pub(crate) fn run(hook: &HookCommand, input: Option<&str>) -> Result<(), SetupError> {
    let fail = |errno: Option<nix::errno::Errno>, message: String| SetupError {
        step: Step::Hook,
        path: Some(hook.path.clone()),
        errno: errno.map(|e| e as i32),
        message,
    };
    let mut argv = hook.args.clone();
    if argv.is_empty() {
        argv.push(hook.path.display().to_string());
    }
    let command = Command::with_path(&hook.path, &argv);
    let env: Vec<(String, String)> = hook
        .env
        .iter()
        .filter_map(|kv| kv.split_once('=').map(|(k, v)| (k.to_string(), v.to_string())))
        .collect();
    let env = CStrings::environment(&env);
    let (reader, writer) = nix::unistd::pipe().map_err(|e| fail(Some(e), "cannot make a pipe for".into()))?;
    match sys::clone3_fork(0).map_err(|e| fail(Some(e), "cannot fork".into()))? {
        Forked::Child => {
            drop(writer);
            let _ = nix::unistd::dup2_stdin(&reader);
            drop(reader);
            sys::reset_signals();
            let report = command.exec(&env);
            eprintln!("burrow: hook {}: {report}", hook.path.display());
            sys::exit_now(127)
        }
        Forked::Parent { pid, pidfd } => {
            drop(reader);
            let mut stdin = std::fs::File::from(writer);
            let _ = stdin.write_all(input.unwrap_or(&hook.stdin).as_bytes());
            drop(stdin);
            let deadline = hook.timeout.map(|t| Instant::now() + t);
            loop {
                let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
                if left.is_some_and(|l| l.is_zero()) {
                    let _ = sys::pidfd_send_signal(pidfd.as_fd(), libc::SIGKILL);
                    let _ = crate::status::reap(pid);
                    return Err(fail(
                        None,
                        format!("timed out after {:?}:", hook.timeout.unwrap_or_default()),
                    ));
                }
                let ms = left.map_or(PollTimeout::NONE, |l| {
                    PollTimeout::try_from(l.as_millis().min(60_000) as i32).unwrap_or(PollTimeout::MAX)
                });
                let mut fds = [PollFd::new(pidfd.as_fd(), PollFlags::POLLIN)];
                if poll(&mut fds, ms).is_ok_and(|n| n > 0) {
                    break;
                }
            }
            match crate::status::reap(pid) {
                Ok(status) if status.success() => Ok(()),
                Ok(status) => Err(fail(None, format!("ended with {status}:"))),
                Err(e) => Err(fail(None, e.to_string())),
            }
        }
    }
}
