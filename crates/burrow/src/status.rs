//! How a container's payload ended.

use std::fmt;

use nix::errno::Errno;
use nix::sys::wait::{waitpid, WaitStatus};
use nix::unistd::Pid;
use serde::{Deserialize, Serialize};

/// The end of a process: an exit code, or the signal that killed it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ExitStatus {
    /// The process called `exit(code)`.
    Exited(i32),
    /// The process was killed by this signal.
    Signaled(i32),
}

impl ExitStatus {
    /// The status a shell would show: the exit code, or 128 + the signal.
    pub fn code(self) -> i32 {
        match self {
            ExitStatus::Exited(code) => code,
            ExitStatus::Signaled(signal) => 128 + signal,
        }
    }

    /// Whether the process exited with code 0.
    pub fn success(self) -> bool {
        self == ExitStatus::Exited(0)
    }

    /// Convert a `waitpid` result; `None` for stops and continues.
    pub fn from_wait(status: WaitStatus) -> Option<Self> {
        match status {
            WaitStatus::Exited(_, code) => Some(ExitStatus::Exited(code)),
            WaitStatus::Signaled(_, signal, _) => Some(ExitStatus::Signaled(signal as i32)),
            _ => None,
        }
    }
}

impl fmt::Display for ExitStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExitStatus::Exited(code) => write!(f, "exit code {code}"),
            ExitStatus::Signaled(signal) => {
                let name = nix::sys::signal::Signal::try_from(*signal)
                    .map(|s| s.as_str())
                    .unwrap_or("unknown signal");
                write!(f, "killed by signal {signal} ({name})")
            }
        }
    }
}

/// Wait for child process `pid` to end (retrying on EINTR, skipping stops).
pub(crate) fn reap(pid: Pid) -> crate::Result<ExitStatus> {
    loop {
        match waitpid(pid, None) {
            Ok(ws) => {
                if let Some(status) = ExitStatus::from_wait(ws) {
                    return Ok(status);
                }
            }
            Err(Errno::EINTR) => continue,
            Err(e) => return Err(crate::Error::sys(format!("waiting for process {pid}"), e)),
        }
    }
}
