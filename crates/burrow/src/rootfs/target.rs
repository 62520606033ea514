//! Finding and creating mount targets inside the new root without leaving it.
//!
//! Every path inside the container is resolved with `openat2(RESOLVE_IN_ROOT)`
//! against an fd of the new root, so a symlink planted in a root directory
//! (`/etc -> /host/etc`) resolves inside the root, never on the host. Mounts
//! then go onto `/proc/self/fd/N` of the fd we resolved, so nothing can swap
//! the path between the check and the mount.

use std::cell::{Cell, RefCell};
use std::ffi::CString;
use std::io::Write;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::sys::stat::Mode;

use crate::error::{SetupError, Step};
use crate::sys;

/// What to create at a missing target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A directory (mode 755).
    Dir,
    /// An empty regular file (mode 644), to bind a file or device onto.
    File,
}

/// The new root, open, with the step that is using it (for error reports).
pub struct RootDir {
    fd: OwnedFd,
    /// Device and inode of the root, to refuse mounts over the root itself.
    id: (u64, u64),
    /// The directory the last missing target was made in, kept open for
    /// the next target beside it (the cgroup tree's ten directories,
    /// /dev's): one `openat` of a name in it then replaces two walks from
    /// the root. A mount on anything but a directory just made in it could
    /// cover it, so [`Self::mount_target`] drops it then.
    last_parent: RefCell<Option<(PathBuf, OwnedFd)>>,
    /// Whether the last target returned was just made in `last_parent`.
    made_beside: Cell<bool>,
}

impl RootDir {
    /// Open the directory that will become `/`.
    pub fn open(path: &Path) -> Result<Self, SetupError> {
        let fd = nix::fcntl::open(
            path,
            OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| SetupError::sys(Step::Root, Some(path.into()), e, "cannot open the new root"))?;
        let st = nix::sys::stat::fstat(&fd)
            .map_err(|e| SetupError::sys(Step::Root, Some(path.into()), e, "cannot stat the new root"))?;
        Ok(RootDir {
            fd,
            id: (st.st_dev, st.st_ino),
            last_parent: RefCell::new(None),
            made_beside: Cell::new(false),
        })
    }

    /// Open `dest` (absolute, inside the root) as an `O_PATH` fd.
    pub fn open_path(&self, dest: &Path) -> Result<OwnedFd, Errno> {
        let rel = relative(dest);
        let c = CString::new(rel.as_os_str().as_bytes()).map_err(|_| Errno::EINVAL)?;
        sys::openat_in_root(self.fd.as_fd(), &c, libc::O_PATH)
    }

    /// Open the directory `dest` (absolute, inside the root) for reading.
    pub fn open_dir(&self, dest: &Path) -> Result<OwnedFd, Errno> {
        let rel = relative(dest);
        let c = CString::new(rel.as_os_str().as_bytes()).map_err(|_| Errno::EINVAL)?;
        sys::openat_in_root(self.fd.as_fd(), &c, libc::O_RDONLY | libc::O_DIRECTORY)
    }

    /// Open `dest`, creating it (and missing parents, as directories) when
    /// it does not exist. A dangling symlink on the way is followed inside
    /// the root, and what it names is created there.
    pub fn create(&self, dest: &Path, kind: Kind, step: Step) -> Result<OwnedFd, SetupError> {
        self.made_beside.set(false);
        // The kept directory itself.
        if let Some((path, fd)) = &*self.last_parent.borrow() {
            if path.as_os_str() == dest.as_os_str() {
                if let Ok(fd) = fd.try_clone() {
                    return Ok(fd);
                }
            }
        }
        self.create_following(dest, kind, step, 0)
    }

    /// `dest` found or made through the kept parent directory, when it is
    /// `dest`'s; `None` sends the caller the whole way (a symlink to
    /// follow inside the root, any error to report).
    fn beside_last(&self, dest: &Path, kind: Kind) -> Option<OwnedFd> {
        let kept = self.last_parent.borrow();
        let (path, parent_fd) = kept.as_ref()?;
        let (parent, name) = split(dest)?;
        if parent.as_os_str() != path.as_os_str() {
            return None;
        }
        let flags = OFlag::O_PATH | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
        match nix::fcntl::openat(parent_fd, name.as_path(), flags, Mode::empty()) {
            Ok(fd) => {
                let st = nix::sys::stat::fstat(&fd).ok()?;
                (st.st_mode & libc::S_IFMT != libc::S_IFLNK).then_some(fd)
            }
            Err(Errno::ENOENT) => {
                let fd = make_in(parent_fd, &name, kind).ok()?;
                self.made_beside.set(true);
                Some(fd)
            }
            Err(_) => None,
        }
    }

    fn create_following(&self, dest: &Path, kind: Kind, step: Step, depth: u32) -> Result<OwnedFd, SetupError> {
        let fail = |e: Errno, what: &str| SetupError::sys(step, Some(dest.into()), e, what.to_string());
        // Said of what this call returns only: a parent made on the way,
        // or a link followed to something that was there, must not count.
        self.made_beside.set(false);
        if let Some(fd) = self.beside_last(dest, kind) {
            return Ok(fd);
        }
        match self.open_path(dest) {
            Ok(fd) => return Ok(fd),
            Err(Errno::ENOENT) => {}
            Err(e) => return Err(fail(e, "cannot resolve the target")),
        }
        if depth > 40 {
            return Err(fail(Errno::ELOOP, "too many dangling symlinks on the way to"));
        }
        let (parent, name) = split(dest).ok_or_else(|| fail(Errno::EINVAL, "the target has no parent"))?;
        let parent_fd = self.create_following(&parent, Kind::Dir, step, depth + 1)?;
        match make_in(&parent_fd, &name, kind) {
            Ok(fd) => {
                // Kept for the next target beside this one.
                *self.last_parent.borrow_mut() = Some((parent, parent_fd));
                self.made_beside.set(true);
                Ok(fd)
            }
            Err(Errno::EEXIST) => match nix::fcntl::readlinkat(&parent_fd, name.as_path()) {
                // A dangling symlink: create what it points to, resolved with
                // the root as `/`.
                Ok(link) => {
                    let link = Path::new(&link);
                    let target = if link.is_absolute() {
                        link.to_path_buf()
                    } else {
                        parent.join(link)
                    };
                    self.create_following(&target, kind, step, depth + 1)
                }
                // Someone else created it meanwhile: resolve it normally.
                Err(_) => {
                    self.made_beside.set(false);
                    self.open_path(dest)
                        .map_err(|e| fail(e, "cannot resolve the created target"))
                }
            },
            Err(e) => Err(fail(e, "cannot create the target")),
        }
    }

    /// [`Self::create`] for a mount point: also refuses one that resolves to
    /// the root itself (through a symlink such as `data -> /`), which would
    /// replace the whole root.
    pub fn mount_target(&self, dest: &Path, kind: Kind, step: Step) -> Result<OwnedFd, SetupError> {
        let fd = self.create(dest, kind, step)?;
        // A target just made is neither the root nor above anything: the
        // kept directory stays, and there is nothing to check.
        if self.made_beside.get() {
            return Ok(fd);
        }
        // Else what is mounted on may be the kept directory itself, or
        // above it.
        self.last_parent.borrow_mut().take();
        let st = nix::sys::stat::fstat(&fd)
            .map_err(|e| SetupError::sys(step, Some(dest.into()), e, "cannot stat the mount point"))?;
        if (st.st_dev, st.st_ino) == self.id {
            return Err(SetupError::sys(
                step,
                Some(dest.into()),
                Errno::EBUSY,
                "refusing to mount over the root itself at",
            ));
        }
        Ok(fd)
    }

    /// `mknod` a device node (or FIFO) at `dest`, replacing nothing, and
    /// give it `owner`.
    pub fn make_node(
        &self,
        dest: &Path,
        kind: char,
        major: u64,
        minor: u64,
        mode: u32,
        owner: (u32, u32),
    ) -> Result<(), SetupError> {
        let fail = |e: Errno, what: &str| SetupError::sys(Step::Mount, Some(dest.into()), e, what.to_string());
        let (parent, name) = split(dest).ok_or_else(|| fail(Errno::EINVAL, "the node has no parent"))?;
        let parent_fd = self.create(&parent, Kind::Dir, Step::Mount)?;
        let kind_bits = match kind {
            'c' | 'u' => nix::sys::stat::SFlag::S_IFCHR,
            'b' => nix::sys::stat::SFlag::S_IFBLK,
            'p' => nix::sys::stat::SFlag::S_IFIFO,
            _ => return Err(fail(Errno::EINVAL, &format!("unknown device type {kind:?} for"))),
        };
        let dev = nix::sys::stat::makedev(major, minor);
        match nix::sys::stat::mknodat(
            &parent_fd,
            name.as_path(),
            kind_bits,
            Mode::from_bits_truncate(mode),
            dev,
        ) {
            Ok(()) => {}
            // Something is there already (the rootfs ships it): leave it.
            Err(Errno::EEXIST) => return Ok(()),
            Err(e) => return Err(fail(e, "cannot create the device node")),
        }
        nix::unistd::fchownat(
            &parent_fd,
            name.as_path(),
            Some(owner.0.into()),
            Some(owner.1.into()),
            nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW,
        )
        .map_err(|e| fail(e, "cannot chown the device node"))?;
        nix::sys::stat::fchmodat(
            &parent_fd,
            name.as_path(),
            Mode::from_bits_truncate(mode),
            // Just made by mknod above: not a symlink.
            nix::sys::stat::FchmodatFlags::FollowSymlink,
        )
        .map_err(|e| fail(e, "cannot chmod the device node"))
    }

    /// Create a symlink at `dest` pointing to `target`; an identical
    /// existing link is fine.
    pub fn symlink(&self, target: &Path, dest: &Path, step: Step) -> Result<(), SetupError> {
        let fail = |e: Errno, what: &str| SetupError::sys(step, Some(dest.into()), e, what.to_string());
        let (parent, name) = split(dest).ok_or_else(|| fail(Errno::EINVAL, "the link has no parent"))?;
        let parent_fd = self.create(&parent, Kind::Dir, step)?;
        match nix::unistd::symlinkat(target, &parent_fd, name.as_path()) {
            Ok(()) => Ok(()),
            Err(Errno::EEXIST) => match nix::fcntl::readlinkat(&parent_fd, name.as_path()) {
                Ok(existing) if Path::new(&existing) == target => Ok(()),
                _ => Err(fail(Errno::EEXIST, "cannot create the symlink")),
            },
            Err(e) => Err(fail(e, "cannot create the symlink")),
        }
    }

    /// Create (or truncate) the regular file `dest` and write `contents`.
    pub fn write_file(&self, dest: &Path, contents: &[u8], mode: u32, step: Step) -> Result<(), SetupError> {
        let fail = |e: Errno, what: &str| SetupError::sys(step, Some(dest.into()), e, what.to_string());
        let (parent, name) = split(dest).ok_or_else(|| fail(Errno::EINVAL, "the file has no parent"))?;
        let parent_fd = self.create(&parent, Kind::Dir, step)?;
        let fd = nix::fcntl::openat(
            &parent_fd,
            name.as_path(),
            OFlag::O_CREAT | OFlag::O_WRONLY | OFlag::O_CLOEXEC | OFlag::O_NOFOLLOW | OFlag::O_NONBLOCK,
            Mode::from_bits_truncate(mode),
        )
        .map_err(|e| fail(e, "cannot create the file"))?;
        // A root directory could hard-link a host file here; O_NOFOLLOW does
        // not see that, the link count does.
        let st = nix::sys::stat::fstat(&fd).map_err(|e| fail(e, "cannot stat the file"))?;
        if st.st_nlink > 1 || st.st_mode & libc::S_IFMT != libc::S_IFREG {
            return Err(fail(
                Errno::EPERM,
                "refusing to overwrite a hard-linked or special file at",
            ));
        }
        nix::unistd::ftruncate(&fd, 0).map_err(|e| fail(e, "cannot truncate the file"))?;
        nix::sys::stat::fchmod(&fd, Mode::from_bits_truncate(mode)).map_err(|e| fail(e, "cannot chmod the file"))?;
        std::fs::File::from(fd).write_all(contents).map_err(|e| {
            fail(
                Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO)),
                "cannot write the file",
            )
        })
    }
}

/// Create `name` of `kind` in the directory `parent` and open it without
/// following anything: one component below a directory resolved inside
/// the root cannot lead out of it.
fn make_in(parent: &OwnedFd, name: &Path, kind: Kind) -> Result<OwnedFd, Errno> {
    match kind {
        Kind::Dir => nix::sys::stat::mkdirat(parent, name, Mode::from_bits_truncate(0o755)).and_then(|()| {
            nix::fcntl::openat(
                parent,
                name,
                OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
                Mode::empty(),
            )
        }),
        // A mount on /proc/self/fd/N does not care how N was opened.
        Kind::File => nix::fcntl::openat(
            parent,
            name,
            OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_WRONLY | OFlag::O_CLOEXEC | OFlag::O_NOFOLLOW,
            Mode::from_bits_truncate(0o644),
        ),
    }
}

/// The `/proc/self/fd/N` path that names `fd` for `mount(2)`.
pub fn fd_path(fd: &OwnedFd) -> PathBuf {
    PathBuf::from(format!("/proc/self/fd/{}", fd.as_raw_fd()))
}

fn relative(dest: &Path) -> PathBuf {
    let rel = dest.strip_prefix("/").unwrap_or(dest);
    if rel.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        rel.to_path_buf()
    }
}

fn split(dest: &Path) -> Option<(PathBuf, PathBuf)> {
    let name = dest.file_name()?;
    let parent = dest.parent()?;
    Some((parent.to_path_buf(), PathBuf::from(name)))
}
