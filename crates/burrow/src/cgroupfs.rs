//! Files and directories under `/sys/fs/cgroup`, reached from one open
//! descriptor of that directory instead of from `/`.
//!
//! A path walk from `/` passes `/sys` (sysfs), and each sysfs directory on
//! the way takes a lock that the kernel holds for writing while it adds the
//! sysfs entries of a new network device. Every new network namespace adds
//! one (its loopback), so while containers start, each walk to a cgroup
//! file can wait for another container's network namespace. The cgroup
//! work of one `run` is about sixty such walks. From the descriptor, a walk
//! meets only the cgroup file system.
//!
//! Every function takes the same absolute path it would take otherwise;
//! paths outside `/sys/fs/cgroup` (and every path, where that directory
//! cannot be opened) are walked from `/` as usual.

use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::Path;
use std::sync::OnceLock;

use nix::fcntl::{OFlag, AT_FDCWD};
use nix::sys::stat::Mode;

/// The directory the descriptor is for.
pub const ROOT: &str = "/sys/fs/cgroup";

/// The descriptor of [`ROOT`], opened once per process (close-on-exec).
fn root_fd() -> Option<BorrowedFd<'static>> {
    static FD: OnceLock<Option<OwnedFd>> = OnceLock::new();
    FD.get_or_init(|| {
        nix::fcntl::open(
            ROOT,
            OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
            Mode::empty(),
        )
        .ok()
    })
    .as_ref()
    .map(|fd| fd.as_fd())
}

/// Where to walk `path` from: the descriptor and the rest of the path below
/// [`ROOT`], or the current directory and `path` itself.
fn at(path: &Path) -> (BorrowedFd<'static>, &Path) {
    match (below_root(path), root_fd()) {
        (Some(rest), Some(fd)) => (fd, rest),
        _ => (AT_FDCWD, path),
    }
}

/// `path` relative to [`ROOT`] (`.` for the root itself), when it is below
/// it. Compared as bytes: a walk over Path components costs more than the
/// system call, a cgroup file at a time.
pub(crate) fn below_root(path: &Path) -> Option<&Path> {
    use std::os::unix::ffi::OsStrExt;
    let rest = path
        .as_os_str()
        .as_bytes()
        .strip_prefix(ROOT.as_bytes())
        .filter(|rest| matches!(rest.first(), None | Some(b'/')))?;
    let start = rest.iter().position(|b| *b != b'/').unwrap_or(rest.len());
    Some(match &rest[start..] {
        [] => Path::new("."),
        below => Path::new(std::ffi::OsStr::from_bytes(below)),
    })
}

/// Open `path` with `flags` (close-on-exec is added).
pub fn open(path: &Path, flags: OFlag) -> io::Result<OwnedFd> {
    let (fd, rest) = at(path);
    Ok(nix::fcntl::openat(fd, rest, flags | OFlag::O_CLOEXEC, Mode::empty())?)
}

/// Make the directory `path` (a new cgroup).
pub fn mkdir(path: &Path) -> io::Result<()> {
    let (fd, rest) = at(path);
    Ok(nix::sys::stat::mkdirat(fd, rest, Mode::from_bits_truncate(0o777))?)
}

/// Remove the directory `path` (an empty cgroup).
pub fn rmdir(path: &Path) -> io::Result<()> {
    let (fd, rest) = at(path);
    Ok(nix::unistd::unlinkat(fd, rest, nix::unistd::UnlinkatFlags::RemoveDir)?)
}

/// Write `bytes` to the existing file `path` in one `write`, as a cgroup
/// file takes a value (and truncate it, as `std::fs::write` does).
pub fn write(path: &Path, bytes: impl AsRef<[u8]>) -> io::Result<()> {
    let file = std::fs::File::from(open(path, OFlag::O_WRONLY | OFlag::O_TRUNC)?);
    io::Write::write_all(&mut &file, bytes.as_ref())
}

/// Read the file `path`.
pub fn read_to_string(path: &Path) -> io::Result<String> {
    let file = std::fs::File::from(open(path, OFlag::O_RDONLY)?);
    let mut text = String::new();
    io::Read::read_to_string(&mut &file, &mut text)?;
    Ok(text)
}

/// Whether `path` exists (one `fstatat`, not an open and a close).
pub fn exists(path: &Path) -> bool {
    let (fd, rest) = at(path);
    nix::sys::stat::fstatat(fd, rest, nix::fcntl::AtFlags::empty()).is_ok()
}

/// The file system type (`statfs`'s `f_type`) of `path`.
pub fn fs_type(path: &Path) -> io::Result<nix::sys::statfs::FsType> {
    let fd = open(path, OFlag::O_PATH)?;
    Ok(nix::sys::statfs::fstatfs(&fd)?.filesystem_type())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_below_the_root_are_walked_from_it() {
        let (_, rest) = at(Path::new("/sys/fs/cgroup/memory/x/memory.max"));
        if root_fd().is_some() {
            assert_eq!(rest, Path::new("memory/x/memory.max"));
            assert_eq!(at(Path::new("/sys/fs/cgroup")).1, Path::new("."));
            assert_eq!(at(Path::new("/sys/fs/cgroup/")).1, Path::new("."));
            assert_eq!(at(Path::new("/sys/fs/cgroup//pids/x")).1, Path::new("pids/x"));
        }
        // Only whole components count.
        assert_eq!(at(Path::new("/sys/fs/cgroupx/a")).1, Path::new("/sys/fs/cgroupx/a"));
        assert_eq!(at(Path::new("/tmp/a")).1, Path::new("/tmp/a"));
    }

    #[test]
    fn it_reads_what_a_walk_from_the_root_reads() {
        let path = Path::new("/sys/fs/cgroup");
        if std::fs::read_dir(path).is_err() {
            return;
        }
        assert_eq!(
            fs_type(path).unwrap(),
            nix::sys::statfs::statfs(path).unwrap().filesystem_type()
        );
        let missing = Path::new("/sys/fs/cgroup/no-such-burrow-cgroup/cgroup.procs");
        assert_eq!(read_to_string(missing).unwrap_err().kind(), io::ErrorKind::NotFound);
        assert!(!exists(missing));
    }
}
