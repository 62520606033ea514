//! Commands the container process itself runs at two points of its setup:
//! just before `pivot_root` (the host's paths still reachable) and just
//! before exec (inside the new root). An OCI front maps its
//! `createContainer` and `startContainer` hooks here.

use std::os::fd::{AsFd, AsRawFd};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::socket::MsgFlags;
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

impl HookCommand {
    /// Run the command to completion from this process (an OCI front runs
    /// its runtime-side hooks this way; the container process runs its own
    /// too), with `input` (or `stdin`) on its standard input.
    ///
    /// The input goes through a socket written without `SIGPIPE`, so a hook
    /// that never reads it cannot kill the caller; the timeout runs from the
    /// start and covers the writing; the hook gets no fd but 0, 1 and 2. A
    /// non-zero exit, a signal or the timeout is an error naming the hook.
    pub fn run(&self, input: Option<&str>) -> Result<(), SetupError> {
        run(self, input)
    }
}

/// See [`HookCommand::run`].
pub(crate) fn run(hook: &HookCommand, input: Option<&str>) -> Result<(), SetupError> {
    let started = Instant::now();
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
    let (ours, theirs) =
        UnixStream::pair().map_err(|e| fail(None, format!("cannot make a socket for the input of: {e}")))?;
    match sys::clone3_fork(0).map_err(|e| fail(Some(e), "cannot fork".into()))? {
        Forked::Child => {
            drop(ours);
            let _ = nix::unistd::dup2_stdin(&theirs);
            drop(theirs);
            sys::reset_signals();
            sys::close_fds_except(3, &[]);
            let report = command.exec(&env);
            eprintln!("burrow: hook {}: {report}", hook.path.display());
            sys::exit_now(127)
        }
        Forked::Parent { pid, pidfd } => {
            drop(theirs);
            let _ = ours.set_nonblocking(true);
            let mut pending = input.unwrap_or(&hook.stdin).as_bytes();
            if pending.is_empty() {
                let _ = ours.shutdown(std::net::Shutdown::Write);
            }
            let deadline = hook.timeout.map(|t| started + t);
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
                let wait = left.map_or(PollTimeout::NONE, |l| {
                    PollTimeout::try_from(l.as_millis().clamp(1, 60_000) as i32).unwrap_or(PollTimeout::MAX)
                });
                let out_flags = if pending.is_empty() {
                    PollFlags::empty()
                } else {
                    PollFlags::POLLOUT
                };
                let mut fds = [
                    PollFd::new(pidfd.as_fd(), PollFlags::POLLIN),
                    PollFd::new(ours.as_fd(), out_flags),
                ];
                if poll(&mut fds, wait).is_err() {
                    continue;
                }
                if fds[0].any().unwrap_or(false) {
                    break;
                }
                if !pending.is_empty() && fds[1].any().unwrap_or(false) {
                    match nix::sys::socket::send(ours.as_raw_fd(), pending, MsgFlags::MSG_NOSIGNAL) {
                        Ok(n) => pending = &pending[n..],
                        Err(nix::errno::Errno::EAGAIN | nix::errno::Errno::EINTR) => {}
                        // The hook closed its input: it needs no more.
                        Err(_) => pending = &[],
                    }
                    if pending.is_empty() {
                        let _ = ours.shutdown(std::net::Shutdown::Write);
                    }
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
