//! Everything the container takes from the host, opened before anything is
//! mounted.
//!
//! Bind sources, the device nodes and the console are opened as `O_PATH`
//! fds first and mounted from `/proc/self/fd/N` later. Each host path is
//! resolved exactly once, and the ephemeral root can then be mounted over
//! any directory (even one that holds a source) without hiding it.

use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use nix::fcntl::OFlag;
use nix::sys::stat::Mode;

use super::dev::DEVICES;
use super::target::Kind;
use crate::error::{SetupError, Step};
use crate::spec::{ContainerSpec, Mount};

/// One opened host path.
pub(crate) struct Source {
    /// The path it was opened from, for error reports.
    pub path: PathBuf,
    fd: OwnedFd,
    /// What kind of mount point it needs.
    pub kind: Kind,
    /// Whether it is a character or block device.
    pub is_device: bool,
    /// Its device number.
    pub rdev: u64,
    /// Its permission bits.
    pub mode: u32,
    /// Its owner and group.
    pub owner: (u32, u32),
}

impl Source {
    /// Open `path` (following symlinks, as `mount` would) and look at it.
    pub fn open(path: &Path, step: Step) -> Result<Self, SetupError> {
        Self::open_at(None, path, step)
    }

    /// [`Self::open`], with paths below `/sys/fs/cgroup` walked from
    /// `cgroups`, a descriptor of that directory when there is one.
    fn open_at(cgroups: Option<&OwnedFd>, path: &Path, step: Step) -> Result<Self, SetupError> {
        let fail = |e| SetupError::sys(step, Some(path.into()), e, "cannot open the mount source");
        let flags = OFlag::O_PATH | OFlag::O_CLOEXEC;
        let fd = match (cgroups, crate::cgroupfs::below_root(path)) {
            (Some(dir), Some(rest)) => nix::fcntl::openat(dir, rest, flags, Mode::empty()),
            _ => nix::fcntl::open(path, flags, Mode::empty()),
        }
        .map_err(fail)?;
        let st = nix::sys::stat::fstat(&fd).map_err(fail)?;
        let format = st.st_mode & libc::S_IFMT;
        Ok(Source {
            path: path.to_path_buf(),
            fd,
            kind: if format == libc::S_IFDIR { Kind::Dir } else { Kind::File },
            is_device: format == libc::S_IFCHR || format == libc::S_IFBLK,
            rdev: st.st_rdev,
            mode: st.st_mode & 0o7777,
            owner: (st.st_uid, st.st_gid),
        })
    }

    /// The path to give `mount(2)` as the source.
    pub fn mount_path(&self) -> PathBuf {
        PathBuf::from(format!("/proc/self/fd/{}", self.fd.as_raw_fd()))
    }
}

/// All the host paths one container needs.
pub(crate) struct Sources {
    /// One entry per mount of the plan (`None` for those without a source).
    pub mounts: Vec<Option<Source>>,
    /// The seed's device nodes that the host has.
    pub devices: Vec<Source>,
    /// The terminal on our standard input, for `/dev/console`.
    pub console: Option<Source>,
}

impl Sources {
    /// Open every source of `spec`; a missing one is reported at step
    /// `mount` with its path.
    pub fn open(spec: &ContainerSpec) -> Result<Self, SetupError> {
        // The container's cgroups (ten binds on a v1 host) are walked to
        // from one descriptor of /sys/fs/cgroup, opened here, in this mount
        // namespace (see crate::cgroupfs for why a walk from / costs more).
        let cgroup_sources = spec
            .mounts
            .iter()
            .filter(|m| matches!(m, Mount::Generic { source, .. } if crate::cgroupfs::below_root(source).is_some()))
            .count();
        let cgroups = (cgroup_sources > 1)
            .then(|| {
                let flags = OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC;
                nix::fcntl::open(crate::cgroupfs::ROOT, flags, Mode::empty()).ok()
            })
            .flatten();
        let open = |source: &Path| Source::open_at(cgroups.as_ref(), source, Step::Mount).map(Some);
        let mounts = spec
            .mounts
            .iter()
            .map(|m| match m {
                Mount::Bind { source, .. } | Mount::Device { source, .. } => open(source),
                Mount::Generic { source, flags, .. } if flags & libc::MS_BIND != 0 => open(source),
                _ => Ok(None),
            })
            .collect::<Result<_, _>>()?;
        let (devices, console) = if spec.essentials {
            let devices = DEVICES
                .iter()
                .filter_map(|d| Source::open(Path::new(d), Step::Dev).ok())
                .filter(|s| s.is_device)
                .collect();
            // ttyname fails when stdin is no terminal, which is more reliable
            // than isatty (the seed's reasoning).
            let console = nix::unistd::ttyname(std::io::stdin())
                .ok()
                .and_then(|tty| Source::open(&tty, Step::Dev).ok());
            (devices, console)
        } else {
            (Vec::new(), None)
        };
        Ok(Sources {
            mounts,
            devices,
            console,
        })
    }
}
