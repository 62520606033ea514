//! Running burrow from a sealed in-memory copy of itself.
//!
//! A process that runs burrow's code inside a container (an `exec` helper,
//! a container waiting at its start gate) can be reached there through
//! `/proc/PID/exe`; if that names the host's burrow binary, a container can
//! rewrite it (CVE-2019-5736). Re-executing from a sealed memfd copy first
//! means `/proc/PID/exe` names a read-only, unlinked copy instead. Fronts
//! call [`ensure_sealed_copy`] once, at their start, before they run
//! anything in a container.

use std::ffi::{CStr, CString};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;

use crate::error::{Error, Result};

const NAME: &CStr = c"burrow";
const SEALS: libc::c_int = libc::F_SEAL_SEAL | libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_WRITE;

/// Whether this process already runs from a sealed memfd copy.
pub fn running_from_sealed_copy() -> bool {
    std::fs::File::open("/proc/self/exe").is_ok_and(|f| {
        // SAFETY: F_GET_SEALS on a valid fd reads no memory of ours.
        let seals = unsafe { libc::fcntl(f.as_raw_fd(), libc::F_GET_SEALS) };
        seals >= 0 && seals & SEALS == SEALS
    })
}

/// Re-execute this program from a sealed memfd copy of itself, with the
/// same arguments and environment, unless it already runs from one.
/// Returns only when it already did (or on error).
pub fn ensure_sealed_copy() -> Result<()> {
    if running_from_sealed_copy() {
        return Ok(());
    }
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
    let copy = std::fs::File::from(memfd);
    // In the kernel, page cache to page cache: no buffer of ours.
    loop {
        // SAFETY: two valid fds; a null offset means the file position.
        let n = unsafe { libc::sendfile(copy.as_raw_fd(), exe.as_raw_fd(), std::ptr::null_mut(), 1 << 30) };
        match n {
            0 => break,
            n if n > 0 => continue,
            _ => return Err(fail("copying burrow", std::io::Error::last_os_error())),
        }
    }
    // SAFETY: F_ADD_SEALS on our own memfd with integer seals.
    if unsafe { libc::fcntl(copy.as_raw_fd(), libc::F_ADD_SEALS, SEALS) } < 0 {
        return Err(fail("sealing the copy", std::io::Error::last_os_error()));
    }
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
    // SAFETY: `copy` is a valid fd; argv and envp are NUL-terminated arrays
    // of NUL-terminated strings that live until the call (which on success
    // does not return).
    unsafe { libc::fexecve(copy.as_raw_fd(), argv.as_ptr(), envp.as_ptr()) };
    Err(fail("fexecve", std::io::Error::last_os_error()))
}
