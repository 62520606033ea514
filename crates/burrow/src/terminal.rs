//! A terminal for the payload, as runc's `--console-socket`: the container
//! makes a pseudo-terminal in its own devpts, sends the master to a unix
//! socket given by the caller (conmon, a containerd shim), and makes the
//! peer its controlling terminal and standard input, output and error.

use std::io::IoSlice;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};

use nix::sys::socket::{sendmsg, ControlMessage, MsgFlags};
use serde::Serialize;

use crate::error::{SetupError, Step};
use crate::sys;

/// Where the pty master goes, and the terminal's size.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Terminal {
    /// A unix socket (on the host) that receives the master fd.
    pub console_socket: PathBuf,
    /// Rows and columns, when known.
    pub size: Option<(u16, u16)>,
}

fn fail(path: &Path, e: nix::errno::Errno, what: &str) -> SetupError {
    SetupError::sys(Step::Terminal, Some(path.into()), e, what.to_string())
}

/// Connect to the console socket (a host path: before the root changes).
pub(crate) fn connect(terminal: &Terminal) -> Result<UnixStream, SetupError> {
    UnixStream::connect(&terminal.console_socket).map_err(|e| {
        let errno = nix::errno::Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO));
        fail(&terminal.console_socket, errno, "cannot connect to the console socket")
    })
}

/// Make the pty (in the container's `/dev/ptmx`), send its master over
/// `socket`, and take the peer as controlling terminal and stdio, owned by
/// user `owner` when given.
pub(crate) fn attach(terminal: &Terminal, socket: &UnixStream, owner: Option<u32>) -> Result<(), SetupError> {
    let ptmx = Path::new("/dev/ptmx");
    let (master, peer) = sys::open_pty().map_err(|e| fail(ptmx, e, "cannot open a pseudo-terminal at"))?;
    if let Some((rows, cols)) = terminal.size {
        sys::set_window_size(master.as_fd(), rows, cols).map_err(|e| fail(ptmx, e, "cannot size the terminal at"))?;
    }
    if let Some(uid) = owner {
        // The user owns it; the group stays devpts' (tty), as with runc.
        let _ = nix::unistd::fchown(&peer, Some(uid.into()), None);
    }
    let fds = [master.as_raw_fd()];
    let name = b"/dev/ptmx";
    sendmsg::<()>(
        socket.as_raw_fd(),
        &[IoSlice::new(name)],
        &[ControlMessage::ScmRights(&fds)],
        MsgFlags::MSG_NOSIGNAL,
        None,
    )
    .map_err(|e| fail(&terminal.console_socket, e, "cannot send the terminal to"))?;
    drop(master);
    take_as_stdio(peer).map_err(|e| fail(ptmx, e, "cannot make the terminal controlling at"))
}

/// New session, `tty` as its controlling terminal, and as fds 0, 1, 2.
fn take_as_stdio(tty: OwnedFd) -> Result<(), nix::errno::Errno> {
    nix::unistd::setsid()?;
    sys::set_controlling_tty(tty.as_fd())?;
    nix::unistd::dup2_stdin(&tty)?;
    nix::unistd::dup2_stdout(&tty)?;
    nix::unistd::dup2_stderr(&tty)?;
    Ok(())
}

/// Bind the terminal now on standard input onto `/dev/console`, as runc
/// does for a container with a terminal (when the container has a `/dev`).
pub(crate) fn bind_console() -> Result<(), SetupError> {
    let console = Path::new("/dev/console");
    if !Path::new("/dev").is_dir() {
        return Ok(());
    }
    let io = |e: std::io::Error| nix::errno::Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO));
    if !console.exists() {
        std::fs::File::create(console).map_err(|e| fail(console, io(e), "cannot create"))?;
    }
    nix::mount::mount(
        Some("/proc/self/fd/0"),
        console,
        None::<&str>,
        nix::mount::MsFlags::MS_BIND,
        None::<&str>,
    )
    .map_err(|e| fail(console, e, "cannot bind the terminal onto"))
}
