//! Holding processes by pidfd: a handle no pid reuse can redirect.

use std::os::fd::{BorrowedFd, OwnedFd};

use nix::unistd::Pid;

use crate::error::{Error, Result};
use crate::sys;

/// Open a pidfd for process `pid`.
pub fn open_pidfd(pid: i32) -> Result<OwnedFd> {
    sys::pidfd_open(Pid::from_raw(pid)).map_err(|e| Error::sys(format!("opening a pidfd for process {pid}"), e))
}

/// Send `signal` to the process behind `pidfd` (0 checks it exists).
pub fn signal_pidfd(pidfd: BorrowedFd<'_>, signal: i32) -> Result<()> {
    sys::pidfd_send_signal(pidfd, signal).map_err(|e| Error::sys(format!("sending signal {signal}"), e))
}
