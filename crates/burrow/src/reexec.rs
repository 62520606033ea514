//! Running burrow from a copy of itself that no container can rewrite.
//!
//! A process that runs burrow's code inside a container (an `exec` helper,
//! a container waiting at its start gate) can be reached there through
//! `/proc/PID/exe`; if that names the host's burrow binary through a
//! writable mount, a container can rewrite it (CVE-2019-5736). Fronts call
//! [`ensure_sealed_copy`] once, at their start, before they run anything in
//! a container. It re-executes burrow from one of:
//!
//! - a read-only view of the binary: a detached, read-only bind mount of it
//!   (`open_tree`), in no mount namespace's tree. Writes through it fail
//!   with `EROFS`, and it shares the page cache with the binary, so nothing
//!   is copied. This needs `CAP_SYS_ADMIN`, as runc and crun's read-only
//!   binds do;
//! - otherwise (rootless), a sealed memfd copy: read-only, unlinked, and
//!   its seals forbid any write.

use std::ffi::{CStr, CString};
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;

use crate::error::{Error, Result};
use crate::sys;

const NAME: &CStr = c"burrow";
const SEALS: libc::c_int = libc::F_SEAL_SEAL | libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_WRITE;

/// Whether this process already runs from a binary that cannot be written
/// through `/proc/self/exe`: a sealed memfd, or a file on a read-only mount.
pub fn running_from_sealed_copy() -> bool {
    std::fs::File::open("/proc/self/exe").is_ok_and(|f| {
        // SAFETY: F_GET_SEALS on a valid fd reads no memory of ours.
        let seals = unsafe { libc::fcntl(f.as_raw_fd(), libc::F_GET_SEALS) };
        (seals >= 0 && seals & SEALS == SEALS)
            || nix::sys::statvfs::fstatvfs(&f).is_ok_and(|s| s.flags().contains(nix::sys::statvfs::FsFlags::ST_RDONLY))
    })
}

/// Re-execute this program from a read-only view or a sealed memfd copy
/// of itself, with the same arguments and environment, unless it already
/// runs from one. Returns only when it already did (or on error).
pub fn ensure_sealed_copy() -> Result<()> {
    if running_from_sealed_copy() {
        return Ok(());
    }
    let exe = match read_only_view() {
        Ok(view) => view,
        Err(e) => {
            tracing::debug!("no read-only view of burrow ({e}); copying it to a sealed memfd");
            sealed_memfd()?
        }
    };
    let args: Vec<CString> = std::env::args_os()
        .map(|a| CString::new(a.as_bytes()).unwrap_or_default())
        .collect();
    let env: Vec<CString> = std::env::vars_os()
        .map(|(k, v)| {
            let mut kv = k.as_bytes().to_vec();
            kv.push(b'=');
            kv.extend_from_slice(v.as_bytes());
            CString::new(kv).unwrap_or_default()
        })
        .collect();
    let mut argv: Vec<*const libc::c_char> = args.iter().map(|a| a.as_ptr()).collect();
    argv.push(std::ptr::null());
    let mut envp: Vec<*const libc::c_char> = env.iter().map(|e| e.as_ptr()).collect();
    envp.push(std::ptr::null());
    // SAFETY: `exe` is a valid fd; argv and envp are NUL-terminated arrays
    // of NUL-terminated strings that live until the call (which on success
    // does not return).
    unsafe { libc::fexecve(exe.as_raw_fd(), argv.as_ptr(), envp.as_ptr()) };
    Err(Error::io(
        "fexecve (for a protected copy of burrow)",
        std::io::Error::last_os_error(),
    ))
}

/// A detached, read-only bind mount of the running binary.
fn read_only_view() -> std::result::Result<OwnedFd, nix::errno::Errno> {
    let view = sys::open_tree_clone(c"/proc/self/exe")?;
    sys::mount_setattr(
        view.as_fd(),
        sys::MOUNT_ATTR_RDONLY | sys::MOUNT_ATTR_NOSUID | sys::MOUNT_ATTR_NODEV,
        0,
        false,
    )?;
    Ok(view)
}

/// A sealed memfd copy of the running binary.
fn sealed_memfd() -> Result<OwnedFd> {
    let fail = |what: &str, e: std::io::Error| Error::io(format!("{what} (for a sealed copy of burrow)"), e);
    // SAFETY: NAME is NUL-terminated; the flags are plain integers; a
    // non-negative result is a new fd that we own.
    let raw = unsafe { libc::memfd_create(NAME.as_ptr(), libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING) };
    if raw < 0 {
        return Err(fail("memfd_create", std::io::Error::last_os_error()));
    }
    // SAFETY: see above.
    let memfd = unsafe { OwnedFd::from_raw_fd(raw) };
    let exe = std::fs::File::open("/proc/self/exe").map_err(|e| fail("opening /proc/self/exe", e))?;
    // In the kernel, page cache to page cache: no buffer of ours.
    loop {
        // SAFETY: two valid fds; a null offset means the file position.
        let n = unsafe { libc::sendfile(memfd.as_raw_fd(), exe.as_raw_fd(), std::ptr::null_mut(), 1 << 30) };
        match n {
            0 => break,
            n if n > 0 => continue,
            _ => return Err(fail("copying burrow", std::io::Error::last_os_error())),
        }
    }
    // SAFETY: F_ADD_SEALS on our own memfd with integer seals.
    if unsafe { libc::fcntl(memfd.as_raw_fd(), libc::F_ADD_SEALS, SEALS) } < 0 {
        return Err(fail("sealing the copy", std::io::Error::last_os_error()));
    }
    Ok(memfd)
}
