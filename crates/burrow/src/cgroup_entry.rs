//! Entering the container's cgroups the cheap way.
//!
//! Moving a process by writing its pid to `cgroup.procs` takes the kernel's
//! global threadgroup lock for writing, and taking it waits for an RCU grace
//! period: several milliseconds on an idle machine, longer than the rest of
//! a container's start. Two ways in avoid that lock:
//!
//! - a cgroup v2 directory: the process is born in it (`clone3` with
//!   `CLONE_INTO_CGROUP`);
//! - a cgroup v1 directory: the new, single-threaded process moves itself
//!   by writing `0` to `tasks`, which the kernel does without the lock.
//!
//! What neither can do falls back to writing `cgroup.procs`: a process in a
//! new user namespace cannot write the host's cgroup files, and a joined
//! cgroup namespace makes `clone3` refuse the directory.

use std::os::fd::{AsFd, OwnedFd};
use std::path::PathBuf;

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::sys::stat::Mode;

use crate::error::{Error, Result, SetupError, Step};
use crate::sys::{self, Forked};

/// The container's cgroup directories, sorted by how the process enters
/// each.
#[derive(Debug, Default)]
pub(crate) struct CgroupEntry {
    /// The v2 directory the process is born in.
    born_in: Option<(PathBuf, OwnedFd)>,
    /// v1 directories the process moves itself into through `tasks`.
    moves_itself: Vec<(PathBuf, OwnedFd)>,
    /// Directories entered by a write of the pid to `cgroup.procs`.
    written: Vec<PathBuf>,
}

impl CgroupEntry {
    /// Open every directory and sort it. `may_move_itself`: the new process
    /// can write the host's cgroup files (it is in no new or joined user
    /// namespace).
    pub(crate) fn plan(dirs: &[PathBuf], may_move_itself: bool) -> Result<Self> {
        let mut entry = CgroupEntry::default();
        for dir in dirs {
            let fd = crate::cgroupfs::open(dir, OFlag::O_PATH | OFlag::O_DIRECTORY)
                .map_err(|e| Error::io(format!("opening the cgroup {}", dir.display()), e))?;
            let v2 = nix::sys::statfs::fstatfs(&fd)
                .is_ok_and(|s| s.filesystem_type() == nix::sys::statfs::CGROUP2_SUPER_MAGIC);
            if v2 && entry.born_in.is_none() {
                entry.born_in = Some((dir.clone(), fd));
            } else if !v2 && may_move_itself {
                entry.moves_itself.push((dir.clone(), fd));
            } else {
                entry.written.push(dir.clone());
            }
        }
        Ok(entry)
    }

    /// `clone3` with `flags`, born in the v2 directory when there is one. If
    /// the kernel refuses that directory, the clone is made without it and
    /// the directory joins those written to.
    pub(crate) fn clone3(&mut self, flags: u64) -> std::result::Result<Forked, Errno> {
        if let Some((_, fd)) = &self.born_in {
            match sys::clone3_fork_into(flags, Some(fd.as_fd())) {
                Ok(forked) => return Ok(forked),
                // What the directory can cause (another cgroup namespace, a
                // domain with controllers, an old kernel); other errors are
                // the clone's own and are reported as they are.
                Err(
                    e @ (Errno::ENOENT
                    | Errno::EBUSY
                    | Errno::EOPNOTSUPP
                    | Errno::EINVAL
                    | Errno::E2BIG
                    | Errno::EACCES),
                ) => {
                    tracing::debug!("clone3 into the cgroup refused ({e}); the pid is written instead")
                }
                Err(e) => return Err(e),
            }
            let (dir, _) = self.born_in.take().expect("checked above");
            self.written.push(dir);
        }
        sys::clone3_fork(flags)
    }

    /// In the new process: move itself into the v1 directories. It must be
    /// single-threaded (`tasks` moves one thread), as a fresh clone is.
    pub(crate) fn move_itself(&self) -> std::result::Result<(), SetupError> {
        for (dir, fd) in &self.moves_itself {
            let tasks = nix::fcntl::openat(fd, "tasks", OFlag::O_WRONLY | OFlag::O_CLOEXEC, Mode::empty())
                .and_then(|tasks| nix::unistd::write(&tasks, b"0"));
            tasks.map_err(|e| SetupError::sys(Step::Cgroup, Some(dir.join("tasks")), e, "cannot enter the cgroup"))?;
        }
        Ok(())
    }

    /// The directories entered by writing a pid to `cgroup.procs`.
    pub(crate) fn written(&self) -> &[PathBuf] {
        &self.written
    }

    /// Take the directories to write to, dropping the rest (and their fds).
    pub(crate) fn into_written(self) -> Vec<PathBuf> {
        self.written
    }
}
