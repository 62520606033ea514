//! Joining existing namespaces by path (`ContainerSpec::join`).
//!
//! Net, ipc, uts, cgroup and pid namespaces are joined by the spawning
//! thread just around the clone, so the container is born in them, still
//! with the caller's rights: that works with a new user namespace too (the
//! child no longer has the host's rights once it is in one), and it is the
//! only way into a pid namespace. Only the calling thread moves, and only
//! until the clone returns. Mount and time namespaces cannot be joined by a
//! thread of a multi-threaded process, so the child joins them.

use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use nix::fcntl::OFlag;
use nix::sys::stat::Mode;

use crate::error::{Error, SetupError, Step};
use crate::namespace::Namespace;

/// Whether `ns` is joined by the spawning thread at clone time.
fn joined_at_clone(ns: Namespace) -> bool {
    matches!(
        ns,
        Namespace::Net | Namespace::Ipc | Namespace::Uts | Namespace::Cgroup | Namespace::Pid
    )
}

fn open(ns: Namespace, path: &Path) -> Result<OwnedFd, SetupError> {
    nix::fcntl::open(path, OFlag::O_RDONLY | OFlag::O_CLOEXEC, Mode::empty()).map_err(|e| {
        SetupError::sys(
            Step::Join,
            Some(path.into()),
            e,
            format!("cannot open the {ns} namespace"),
        )
    })
}

fn setns(ns: Namespace, fd: &OwnedFd, path: &Path) -> Result<(), SetupError> {
    nix::sched::setns(fd, ns.clone_flag()).map_err(|e| {
        SetupError::sys(
            Step::Join,
            Some(path.into()),
            e,
            format!("cannot join the {ns} namespace"),
        )
    })
}

/// The calling thread, moved into the namespaces a clone should be born
/// in; dropping it moves the thread back.
pub(crate) struct ThreadJoined {
    /// The thread's own namespaces, most recently left last.
    saved: Vec<(Namespace, OwnedFd, PathBuf)>,
}

impl ThreadJoined {
    /// Move the calling thread into the namespaces of `join` that are
    /// joined at clone time.
    pub(crate) fn enter(join: &[(Namespace, PathBuf)]) -> Result<Self, Error> {
        let mut joined = ThreadJoined { saved: Vec::new() };
        for (ns, path) in join.iter().filter(|(ns, _)| joined_at_clone(*ns)) {
            // The pid namespace a thread's children are born in.
            let name = if *ns == Namespace::Pid {
                "pid_for_children"
            } else {
                ns.name()
            };
            let own = PathBuf::from("/proc/thread-self/ns").join(name);
            let saved = open(*ns, &own).map_err(Error::Setup)?;
            let target = open(*ns, path).map_err(Error::Setup)?;
            setns(*ns, &target, path).map_err(Error::Setup)?;
            joined.saved.push((*ns, saved, own));
        }
        Ok(joined)
    }

    fn restore_all(&mut self) -> Result<(), Error> {
        while let Some((ns, fd, path)) = self.saved.pop() {
            setns(ns, &fd, &path).map_err(Error::Setup)?;
        }
        Ok(())
    }
}

impl Drop for ThreadJoined {
    fn drop(&mut self) {
        // A thread left in a container's namespace would make the caller's
        // later sockets and children there: never go on like that.
        if let Err(e) = self.restore_all() {
            eprintln!("burrow: cannot move this thread back into its own namespaces: {e}");
            std::process::abort();
        }
    }
}

/// In the child: join the namespaces of `join` that a thread cannot join
/// at clone time (mnt, time).
pub(crate) fn join_in_child(join: &[(Namespace, PathBuf)]) -> Result<(), SetupError> {
    for (ns, path) in join.iter().filter(|(ns, _)| !joined_at_clone(*ns)) {
        let fd = open(*ns, path)?;
        setns(*ns, &fd, path)?;
    }
    Ok(())
}
