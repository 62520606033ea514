//! The typed messages between the parent and the container process.
//!
//! One enum, framed as a 4-byte little-endian length and a JSON body over a
//! `SOCK_STREAM` socketpair (both ends close-on-exec). End of file is a
//! message too: after `Exec`, it means the payload was exec'd.

use std::io::Read;
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicI32, Ordering};

use nix::sys::socket::MsgFlags;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result, SetupError};

/// Everything that crosses the channel, in either direction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Message {
    /// Parent → child: the id maps are written; go on with setup.
    Go,
    /// Parent → child, at the pause: what the hooks should read on their
    /// standard input from now on (an OCI front sends the state with pid).
    HookInput(String),
    /// Child → parent: the mounts are done; waiting for Go before
    /// `pivot_root` (see `ContainerSpec::pause_before_pivot`).
    Paused,
    /// Child → parent: setup is done and a closure payload is starting.
    Started,
    /// Child → parent: setup is done and the container waits at its start
    /// gate (see `ContainerSpec::start_gate`).
    Ready,
    /// Child → parent: setup is done and `execve` comes next; the end of
    /// file that follows (the channel is close-on-exec) means it succeeded.
    Exec,
    /// Child → parent: the seccomp filter is installed; its user
    /// notification listener follows as one byte carrying the fd
    /// (`SCM_RIGHTS`).
    SeccompListener,
    /// Child → parent: setup failed; the child exits after sending this.
    Failed(SetupError),
    /// Excursion → parent: the detached process was forked with this pid
    /// (on the host).
    Spawned(i32),
    /// Excursion → parent: the value the excursion's closure returned.
    Value(serde_json::Value),
    /// Excursion → parent: the process that ran inside the container
    /// ended like this.
    Exited(crate::ExitStatus),
}

const MAX_FRAME: usize = 16 << 20;

/// Send one message.
pub fn send(stream: &mut UnixStream, message: &Message) -> Result<()> {
    let body = serde_json::to_vec(message).map_err(|e| Error::Channel(e.to_string()))?;
    let mut frame = Vec::with_capacity(4 + body.len());
    frame.extend_from_slice(&(body.len() as u32).to_le_bytes());
    frame.extend_from_slice(&body);
    // MSG_NOSIGNAL: a peer that went away is an error here, not a SIGPIPE
    // that would kill a container process whose signals are at default.
    let mut sent = 0;
    while sent < frame.len() {
        match nix::sys::socket::send(stream.as_raw_fd(), &frame[sent..], MsgFlags::MSG_NOSIGNAL) {
            Ok(n) => sent += n,
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => return Err(Error::sys("sending on the parent/child channel", e)),
        }
    }
    Ok(())
}

/// Receive one message; `Ok(None)` at end of file.
pub fn recv(stream: &mut impl Read) -> Result<Option<Message>> {
    let mut len = [0u8; 4];
    match read_full(stream, &mut len)? {
        0 => return Ok(None),
        4 => {}
        n => return Err(Error::Channel(format!("truncated frame header ({n} of 4 bytes)"))),
    }
    let len = u32::from_le_bytes(len) as usize;
    if len > MAX_FRAME {
        return Err(Error::Channel(format!("frame of {len} bytes is too large")));
    }
    let mut body = vec![0u8; len];
    if read_full(stream, &mut body)? != len {
        return Err(Error::Channel("truncated frame body".into()));
    }
    serde_json::from_slice(&body)
        .map(Some)
        .map_err(|e| Error::Channel(format!("undecodable message: {e}")))
}

fn read_full(stream: &mut impl Read, buf: &mut [u8]) -> Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match stream.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            // The peer ended with our message unread: it is gone, as at
            // end of file.
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => break,
            Err(e) => return Err(Error::io("reading the parent/child channel", e)),
        }
    }
    Ok(got)
}

/// Channel fds of setups still in progress, so that a container cloned by
/// another thread meanwhile can close its copies of them (otherwise it keeps
/// them open, and the parent waiting for end of file waits for it too).
/// A fixed set of atomic slots: the child reads it without locking.
static IN_FLIGHT: [AtomicI32; 64] = [const { AtomicI32::new(-1) }; 64];

/// While alive, the fds given to [`InFlight::register`] are in the set.
///
/// An fd must leave the set before it is closed ([`InFlight::release`]):
/// otherwise its number could be reused for something else, which a
/// container cloned meanwhile would then close.
pub(crate) struct InFlight(Vec<(usize, RawFd)>);

impl InFlight {
    /// Add `fds` to the set (best effort: a full set just skips them).
    pub fn register(fds: &[RawFd]) -> Self {
        let mut taken = Vec::with_capacity(fds.len());
        for &fd in fds {
            if let Some(i) = IN_FLIGHT.iter().position(|slot| {
                slot.compare_exchange(-1, fd, Ordering::AcqRel, Ordering::Relaxed)
                    .is_ok()
            }) {
                taken.push((i, fd));
            }
        }
        InFlight(taken)
    }

    /// Take `fd` out of the set, before closing it.
    pub fn release(&mut self, fd: RawFd) {
        self.0.retain(|&(i, f)| {
            if f == fd {
                IN_FLIGHT[i].store(-1, Ordering::Release);
            }
            f != fd
        });
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        for &(i, _) in &self.0 {
            IN_FLIGHT[i].store(-1, Ordering::Release);
        }
    }
}

/// In a freshly cloned child: close every in-flight channel fd except
/// `keep` (the child's own ends).
pub(crate) fn close_in_flight_except(keep: &[RawFd]) {
    for slot in &IN_FLIGHT {
        let fd = slot.load(Ordering::Acquire);
        if fd >= 0 && !keep.contains(&fd) {
            crate::sys::close_raw(fd);
        }
    }
}

/// Send `fd` as one byte with `SCM_RIGHTS`.
pub fn send_fd(stream: &UnixStream, fd: std::os::fd::BorrowedFd<'_>) -> Result<()> {
    use nix::sys::socket::{sendmsg, ControlMessage};
    let fds = [fd.as_raw_fd()];
    sendmsg::<()>(
        stream.as_raw_fd(),
        &[std::io::IoSlice::new(b"F")],
        &[ControlMessage::ScmRights(&fds)],
        MsgFlags::MSG_NOSIGNAL,
        None,
    )
    .map(drop)
    .map_err(|e| Error::sys("sending an fd on the parent/child channel", e))
}

/// Receive the fd that [`send_fd`] sent (close-on-exec here).
pub fn recv_fd(stream: &UnixStream) -> Result<std::os::fd::OwnedFd> {
    use nix::sys::socket::{recvmsg, ControlMessageOwned};
    use std::os::fd::FromRawFd;
    let mut byte = [0u8; 1];
    let mut iov = [std::io::IoSliceMut::new(&mut byte)];
    let mut space = nix::cmsg_space!([RawFd; 1]);
    let msg = recvmsg::<()>(
        stream.as_raw_fd(),
        &mut iov,
        Some(&mut space),
        MsgFlags::MSG_CMSG_CLOEXEC,
    )
    .map_err(|e| Error::sys("receiving an fd on the parent/child channel", e))?;
    for cmsg in msg
        .cmsgs()
        .map_err(|e| Error::sys("reading the fd's control message", e))?
    {
        if let ControlMessageOwned::ScmRights(fds) = cmsg {
            if let Some(fd) = fds.first() {
                // SAFETY: the kernel just installed this fd for us, and
                // nothing else owns it.
                return Ok(unsafe { std::os::fd::OwnedFd::from_raw_fd(*fd) });
            }
        }
    }
    Err(Error::Channel("an fd was announced but none came".into()))
}
