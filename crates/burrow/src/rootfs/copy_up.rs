//! `tmpcopyup`: fill a new tmpfs with what the directory under it held, as
//! runc and crun do for an image's `/run` or `/tmp` made writable.
//!
//! Everything goes through fds opened without following symlinks: the
//! source is the container's own (untrusted) tree, and nothing it holds can
//! lead the copy outside the new tmpfs.

use std::os::fd::{AsFd, BorrowedFd};

use nix::errno::Errno;
use nix::fcntl::{AtFlags, OFlag};
use nix::sys::stat::{FchmodatFlags, Mode, SFlag};

/// How deep a tree may nest before the copy gives up (a loop is impossible
/// without symlinks, but a hostile image may be very deep).
const MAX_DEPTH: u32 = 128;

/// Copy the contents of the directory `from` into the directory `to`, and
/// give `to` the mode and owner of `from`.
pub(super) fn copy_tree(from: BorrowedFd<'_>, to: BorrowedFd<'_>) -> Result<(), Errno> {
    let st = nix::sys::stat::fstat(from)?;
    copy_entries(from, to, 0)?;
    own(to, None, st.st_uid, st.st_gid)?;
    nix::sys::stat::fchmod(to, Mode::from_bits_truncate(st.st_mode & 0o7777))
}

fn copy_entries(from: BorrowedFd<'_>, to: BorrowedFd<'_>, depth: u32) -> Result<(), Errno> {
    if depth > MAX_DEPTH {
        return Err(Errno::ELOOP);
    }
    let mut dir = nix::dir::Dir::openat(
        from,
        ".",
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )?;
    for entry in dir.iter() {
        let entry = entry?;
        let name = entry.file_name();
        if name == c"." || name == c".." {
            continue;
        }
        let st = nix::sys::stat::fstatat(from, name, AtFlags::AT_SYMLINK_NOFOLLOW)?;
        let mode = Mode::from_bits_truncate(st.st_mode & 0o7777);
        let kind = SFlag::from_bits_truncate(st.st_mode & libc::S_IFMT);
        let open = |fd: BorrowedFd<'_>, flags: OFlag, mode: Mode| {
            nix::fcntl::openat(fd, name, flags | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC, mode)
        };
        if kind == SFlag::S_IFDIR {
            nix::sys::stat::mkdirat(to, name, Mode::from_bits_truncate(0o700))?;
            let src = open(from, OFlag::O_RDONLY | OFlag::O_DIRECTORY, Mode::empty())?;
            let dst = open(to, OFlag::O_RDONLY | OFlag::O_DIRECTORY, Mode::empty())?;
            copy_entries(src.as_fd(), dst.as_fd(), depth + 1)?;
        } else if kind == SFlag::S_IFREG {
            // Non-blocking, and checked after the open: swapped for a FIFO
            // or a device meanwhile, it must not hang or be read.
            let src: std::fs::File = open(from, OFlag::O_RDONLY | OFlag::O_NONBLOCK, Mode::empty())?.into();
            if !src.metadata().is_ok_and(|m| m.is_file()) {
                return Err(Errno::EINVAL);
            }
            let dst = open(
                to,
                OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_EXCL,
                Mode::from_bits_truncate(0o600),
            )?;
            let mut dst: std::fs::File = dst.into();
            std::io::copy(&mut &src, &mut dst).map_err(|e| Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO)))?;
        } else if kind == SFlag::S_IFLNK {
            let target = nix::fcntl::readlinkat(from, name)?;
            nix::unistd::symlinkat(target.as_os_str(), to, name)?;
        } else {
            // Device nodes, FIFOs and sockets: made again where allowed (a
            // user namespace may not make devices; those are left out).
            match nix::sys::stat::mknodat(to, name, kind, mode, st.st_rdev) {
                Ok(()) => {}
                Err(Errno::EPERM) => continue,
                Err(e) => return Err(e),
            }
        }
        own(to, Some(name), st.st_uid, st.st_gid)?;
        if kind != SFlag::S_IFLNK {
            // After the owner: a change of owner clears set-id bits.
            // (What it names was just made here, and is no symlink.)
            nix::sys::stat::fchmodat(to, name, mode, FchmodatFlags::FollowSymlink)?;
        }
    }
    Ok(())
}

/// Give `name` in `dir` (or `dir` itself) this owner. Ids that a user
/// namespace does not map stay as they are.
fn own(dir: BorrowedFd<'_>, name: Option<&std::ffi::CStr>, uid: u32, gid: u32) -> Result<(), Errno> {
    let owner = (
        Some(nix::unistd::Uid::from_raw(uid)),
        Some(nix::unistd::Gid::from_raw(gid)),
    );
    let result = match name {
        Some(name) => nix::unistd::fchownat(dir, name, owner.0, owner.1, AtFlags::AT_SYMLINK_NOFOLLOW),
        None => nix::unistd::fchown(dir, owner.0, owner.1),
    };
    match result {
        Err(Errno::EINVAL) | Err(Errno::EPERM) => Ok(()),
        other => other,
    }
}
