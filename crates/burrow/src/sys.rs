//! The few system calls that neither `nix` nor `std` wrap.
//!
//! Every `unsafe` block in the crate lives here, each with a `SAFETY:` line.
//! Callers get safe functions that take and return owned or borrowed fds.

use std::ffi::CStr;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

use nix::errno::Errno;
use nix::unistd::Pid;

/// `struct clone_args` from `<linux/sched.h>` (version 2, 88 bytes).
#[repr(C)]
#[derive(Default)]
struct CloneArgs {
    flags: u64,
    pidfd: u64,
    child_tid: u64,
    parent_tid: u64,
    exit_signal: u64,
    stack: u64,
    stack_size: u64,
    tls: u64,
    set_tid: u64,
    set_tid_size: u64,
    cgroup: u64,
}

/// What `clone3` returned in one of the two processes.
pub enum Forked {
    /// We are the new process.
    Child,
    /// We are the caller; the new process has this pid and pidfd.
    Parent { pid: Pid, pidfd: OwnedFd },
}

/// `clone3` with `flags | CLONE_PIDFD` and `SIGCHLD` as the exit signal,
/// like `fork` but entering new namespaces at once and returning a pidfd.
///
/// The child gets a copy of the caller's address space and continues on a
/// copy of its stack, exactly as after `fork`.
pub fn clone3_fork(flags: u64) -> Result<Forked, Errno> {
    clone3_fork_into(flags, None)
}

/// `CLONE_INTO_CGROUP` from `<linux/sched.h>` (Linux 5.7).
const CLONE_INTO_CGROUP: u64 = 0x2_0000_0000;

/// [`clone3_fork`], with the new process born in the cgroup v2 directory
/// open as `cgroup` when one is given (`CLONE_INTO_CGROUP`).
pub fn clone3_fork_into(flags: u64, cgroup: Option<BorrowedFd<'_>>) -> Result<Forked, Errno> {
    let mut pidfd: RawFd = -1;
    let into = cgroup.map_or(0, |_| CLONE_INTO_CGROUP);
    let args = CloneArgs {
        flags: flags | into | libc::CLONE_PIDFD as u64,
        pidfd: &mut pidfd as *mut RawFd as u64,
        exit_signal: libc::SIGCHLD as u64,
        cgroup: cgroup.map_or(0, |fd| fd.as_raw_fd() as u64),
        ..CloneArgs::default()
    };
    // SAFETY: `args` is a valid clone_args of the size we pass; without
    // CLONE_VM and with a zero stack the child runs on a copy-on-write copy of
    // our stack, as after fork(2), so returning into Rust code is sound. The
    // kernel writes the pidfd into `pidfd`, which outlives the call.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_clone3,
            &args as *const CloneArgs,
            std::mem::size_of::<CloneArgs>(),
        )
    };
    match ret {
        -1 => Err(Errno::last()),
        0 => Ok(Forked::Child),
        pid => Ok(Forked::Parent {
            pid: Pid::from_raw(pid as i32),
            // SAFETY: the kernel just created this fd for us (CLONE_PIDFD) and
            // nobody else owns it.
            pidfd: unsafe { OwnedFd::from_raw_fd(pidfd) },
        }),
    }
}

/// `pidfd_open(pid, 0)`: a stable handle on a process that no pid reuse can
/// redirect.
pub fn pidfd_open(pid: Pid) -> Result<OwnedFd, Errno> {
    // SAFETY: plain integer arguments; on success the kernel returns a new fd
    // that we take ownership of.
    let ret = unsafe { libc::syscall(libc::SYS_pidfd_open, pid.as_raw(), 0) };
    if ret < 0 {
        return Err(Errno::last());
    }
    // SAFETY: `ret` is a fresh fd owned by no one else.
    Ok(unsafe { OwnedFd::from_raw_fd(ret as RawFd) })
}

/// `pidfd_send_signal(pidfd, sig, NULL, 0)`; signal 0 checks that the
/// process still exists.
pub fn pidfd_send_signal(pidfd: BorrowedFd<'_>, signal: i32) -> Result<(), Errno> {
    // SAFETY: a valid borrowed fd, a signal number and a null siginfo, which
    // the kernel accepts as "like kill(2)".
    let ret = unsafe {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            pidfd.as_raw_fd(),
            signal,
            std::ptr::null::<libc::siginfo_t>(),
            0,
        )
    };
    Errno::result(ret).map(drop)
}

/// `struct mount_attr` from `<linux/mount.h>`.
#[repr(C)]
#[derive(Default)]
struct MountAttr {
    attr_set: u64,
    attr_clr: u64,
    propagation: u64,
    userns_fd: u64,
}

/// `MOUNT_ATTR_RDONLY`.
pub const MOUNT_ATTR_RDONLY: u64 = 0x1;
const AT_RECURSIVE: u32 = 0x8000;

/// Set `set` and clear `clear` (`MOUNT_ATTR_*`) on the mount that `fd`
/// refers to, and with `recursive` on every mount below it, leaving its
/// other (possibly locked) flags alone:
/// `mount_setattr(fd, "", AT_EMPTY_PATH [| AT_RECURSIVE])`. Setting an
/// access-time mode replaces the old one.
pub fn mount_setattr(fd: BorrowedFd<'_>, set: u64, clear: u64, recursive: bool) -> Result<(), Errno> {
    let clear = if set & MOUNT_ATTR_ATIME_MASK != 0 {
        clear | MOUNT_ATTR_ATIME_MASK
    } else {
        clear
    };
    let attr = MountAttr {
        attr_set: set,
        attr_clr: clear,
        ..MountAttr::default()
    };
    let flags = libc::AT_EMPTY_PATH as u32 | if recursive { AT_RECURSIVE } else { 0 };
    // SAFETY: `fd` is valid, the empty path is a NUL-terminated literal, and
    // `attr` is a valid mount_attr of the size we pass; all outlive the call.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            fd.as_raw_fd(),
            c"".as_ptr(),
            flags,
            &attr as *const MountAttr,
            std::mem::size_of::<MountAttr>(),
        )
    };
    Errno::result(ret).map(drop)
}

/// `open_tree(AT_FDCWD, path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC)`: a new,
/// detached bind mount of `path` (which may be a file), as an fd. It is in
/// no mount namespace's tree, and goes away with the last reference to it.
pub fn open_tree_clone(path: &CStr) -> Result<OwnedFd, Errno> {
    const OPEN_TREE_CLONE: libc::c_uint = 1;
    // SAFETY: `path` is NUL-terminated and outlives the call; the flags are
    // plain integers; on success the kernel returns a new fd that we own.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_open_tree,
            libc::AT_FDCWD,
            path.as_ptr(),
            OPEN_TREE_CLONE | libc::O_CLOEXEC as libc::c_uint,
        )
    };
    if ret < 0 {
        return Err(Errno::last());
    }
    // SAFETY: `ret` is a fresh fd owned by no one else.
    Ok(unsafe { OwnedFd::from_raw_fd(ret as RawFd) })
}

/// `MOUNT_ATTR_NOSUID`.
pub const MOUNT_ATTR_NOSUID: u64 = 0x2;
/// `MOUNT_ATTR_NODEV`.
pub const MOUNT_ATTR_NODEV: u64 = 0x4;
/// `MOUNT_ATTR_NOEXEC`.
pub const MOUNT_ATTR_NOEXEC: u64 = 0x8;
/// `MOUNT_ATTR_NOATIME`.
pub const MOUNT_ATTR_NOATIME: u64 = 0x10;
/// `MOUNT_ATTR_STRICTATIME`.
pub const MOUNT_ATTR_STRICTATIME: u64 = 0x20;
/// `MOUNT_ATTR__ATIME`: the access-time mode bits (clearing them with none
/// set means `relatime`).
pub const MOUNT_ATTR_ATIME_MASK: u64 = 0x70;
/// `MOUNT_ATTR_NODIRATIME`.
pub const MOUNT_ATTR_NODIRATIME: u64 = 0x80;

/// `prlimit(pid, resource, {soft, hard}, NULL)`: set another process's
/// resource limit.
pub fn set_rlimit(pid: Pid, resource: u32, soft: u64, hard: u64) -> Result<(), Errno> {
    let limit = libc::rlimit64 {
        rlim_cur: soft,
        rlim_max: hard,
    };
    // SAFETY: `limit` is a valid rlimit64 that outlives the call; the old
    // value pointer is null, which prlimit64 accepts.
    let ret = unsafe { libc::prlimit64(pid.as_raw(), resource as _, &limit, std::ptr::null_mut()) };
    Errno::result(ret).map(drop)
}

/// `setdomainname(name)`.
pub fn set_domainname(name: &str) -> Result<(), Errno> {
    // SAFETY: `name` points to `name.len()` valid bytes for the call.
    let ret = unsafe { libc::setdomainname(name.as_ptr().cast(), name.len()) };
    Errno::result(ret).map(drop)
}

/// `prctl(PR_SET_NO_NEW_PRIVS, 1)`.
pub fn set_no_new_privs() -> Result<(), Errno> {
    // SAFETY: integer arguments only.
    let ret = unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) };
    Errno::result(ret).map(drop)
}

/// `struct open_how` from `<linux/openat2.h>`.
#[repr(C)]
struct OpenHow {
    flags: u64,
    mode: u64,
    resolve: u64,
}

/// `RESOLVE_NO_MAGICLINKS | RESOLVE_IN_ROOT`: resolve as if `dir` were `/`,
/// so no symlink or `..` can lead outside it.
const RESOLVE_IN_ROOT_STRICT: u64 = 0x02 | 0x10;

/// Open `path` beneath `dir` with `openat2(RESOLVE_IN_ROOT)`, treating `dir`
/// as the root for every symlink and `..` met on the way.
pub fn openat_in_root(dir: BorrowedFd<'_>, path: &CStr, flags: i32) -> Result<OwnedFd, Errno> {
    let how = OpenHow {
        flags: (flags | libc::O_CLOEXEC) as u64,
        mode: 0,
        resolve: RESOLVE_IN_ROOT_STRICT,
    };
    loop {
        // SAFETY: `dir` is a valid fd, `path` is NUL-terminated and `how` is
        // a valid open_how of the size we pass; all outlive the call.
        let ret = unsafe {
            libc::syscall(
                libc::SYS_openat2,
                dir.as_raw_fd(),
                path.as_ptr(),
                &how as *const OpenHow,
                std::mem::size_of::<OpenHow>(),
            )
        };
        if ret >= 0 {
            // SAFETY: a fresh fd from the kernel, owned by no one else.
            return Ok(unsafe { OwnedFd::from_raw_fd(ret as RawFd) });
        }
        match Errno::last() {
            Errno::EAGAIN | Errno::EINTR => continue,
            e => return Err(e),
        }
    }
}

/// Mark every fd from `first` upwards close-on-exec (`close_range` with
/// `CLOSE_RANGE_CLOEXEC`), so the payload inherits only what it should.
pub fn cloexec_from(first: u32) -> Result<(), Errno> {
    const CLOSE_RANGE_CLOEXEC: u32 = 1 << 2;
    // SAFETY: integer arguments only; closing nothing, just setting a flag.
    let ret = unsafe { libc::syscall(libc::SYS_close_range, first, u32::MAX, CLOSE_RANGE_CLOEXEC) };
    if Errno::result(ret).is_ok() {
        return Ok(());
    }
    // An older kernel, or a seccomp filter that refuses close_range: mark
    // them one by one.
    let fds: Vec<RawFd> = std::fs::read_dir("/proc/self/fd")
        .map_err(|e| Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO)))?
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .filter(|fd| *fd >= first as RawFd)
        .collect();
    for fd in fds {
        // SAFETY: F_SETFD with an integer flag; a closed fd just fails.
        unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
    }
    Ok(())
}

/// Terminate the calling process at once, without running destructors or
/// `atexit` handlers that belong to the parent's copy of the program.
pub fn exit_now(code: i32) -> ! {
    // SAFETY: _exit never returns and is async-signal-safe.
    unsafe { libc::_exit(code) }
}

/// Set the calling process's parent-death signal.
pub fn set_parent_death_signal(signal: i32) -> Result<(), Errno> {
    // SAFETY: PR_SET_PDEATHSIG takes a signal number; no pointers involved.
    let ret = unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, signal as libc::c_ulong, 0, 0, 0) };
    Errno::result(ret).map(drop)
}

/// Reset every catchable signal to its default action and unblock all
/// signals, so the payload starts as a freshly exec'd program would
/// (Rust ignores SIGPIPE, and callers may block SIGINT while they wait).
pub fn reset_signals() {
    use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet, Signal};
    let default = SigAction::new(SigHandler::SigDfl, SaFlags::empty(), SigSet::empty());
    for signal in Signal::iterator() {
        if matches!(signal, Signal::SIGKILL | Signal::SIGSTOP) {
            continue;
        }
        // SAFETY: installing SIG_DFL runs no handler code, so no Rust code can
        // be interrupted in an unsafe state by it.
        let _ = unsafe { sigaction(signal, &default) };
    }
    let _ = SigSet::empty().thread_set_mask();
}

/// `execve(path, argv, envp)` with prepared pointer arrays; returns the
/// errno, since it only returns on failure.
pub fn execve(path: &CStr, argv: *const *const libc::c_char, envp: *const *const libc::c_char) -> Errno {
    // SAFETY: `path` is NUL-terminated; `argv` and `envp` are NUL-terminated
    // arrays of NUL-terminated strings that the caller keeps alive (see
    // `exec::CStrings`). On success the call does not return.
    unsafe { libc::execve(path.as_ptr(), argv, envp) };
    Errno::last()
}

extern "C" {
    static mut environ: *const *const libc::c_char;
}

/// Point this process's environment at a prepared array, without taking
/// any lock or allocating (unlike `setenv`).
///
/// Only called in a freshly cloned, single-threaded child; `env` must stay
/// alive for as long as the process runs.
pub fn set_environ(env: *const *const libc::c_char) {
    // SAFETY: the caller is single-threaded, so nothing reads `environ`
    // concurrently; `env` is a NUL-terminated array that outlives its use.
    unsafe { environ = env };
}

/// Make the calling process non-dumpable: no ptrace and no /proc/PID/fd or
/// /proc/PID/exe access for other processes of the same uid (such as those
/// in a container it is entering).
pub fn set_non_dumpable() -> Result<(), Errno> {
    set_dumpable(0)
}

/// The process's dumpable setting (`PR_GET_DUMPABLE`: 0, 1 or 2).
pub fn dumpable() -> Result<i32, Errno> {
    // SAFETY: PR_GET_DUMPABLE takes no arguments and reads no memory of ours.
    let ret = unsafe { libc::prctl(libc::PR_GET_DUMPABLE, 0, 0, 0, 0) };
    Errno::result(ret)
}

/// Set the process's dumpable setting (`PR_SET_DUMPABLE`).
pub fn set_dumpable(value: i32) -> Result<(), Errno> {
    // SAFETY: PR_SET_DUMPABLE takes an integer; no pointers involved.
    let ret = unsafe { libc::prctl(libc::PR_SET_DUMPABLE, value as libc::c_ulong, 0, 0, 0) };
    Errno::result(ret).map(drop)
}

/// Close `fd` in a process that does not own it as an `OwnedFd` (a clone3
/// child closing copies of fds that belong to other threads' objects).
pub fn close_raw(fd: RawFd) {
    // SAFETY: in the cloned child, the objects owning this fd number belong
    // to other threads' stacks, which never run again in this process, so no
    // one will close or use it after us.
    unsafe { libc::close(fd) };
}

/// `setresuid(uid, uid, uid)` as a raw system call.
///
/// glibc's wrapper broadcasts the change to every thread it knows of; in a
/// `clone3` child of a multi-threaded program it still believes in the
/// parent's threads and waits for them forever. The kernel call changes just
/// this (single-threaded) process, which is what we want.
pub fn set_all_uids(uid: u32) -> Result<(), Errno> {
    // SAFETY: integer arguments only.
    let ret = unsafe { libc::syscall(libc::SYS_setresuid, uid, uid, uid) };
    Errno::result(ret).map(drop)
}

/// `setresgid(gid, gid, gid)` as a raw system call; see [`set_all_uids`].
pub fn set_all_gids(gid: u32) -> Result<(), Errno> {
    // SAFETY: integer arguments only.
    let ret = unsafe { libc::syscall(libc::SYS_setresgid, gid, gid, gid) };
    Errno::result(ret).map(drop)
}

/// `setgroups(groups)` as a raw system call; see [`set_all_uids`].
pub fn set_groups(groups: &[u32]) -> Result<(), Errno> {
    // SAFETY: `groups` is a valid slice of gid_t (u32) of the length we pass.
    let ret = unsafe { libc::syscall(libc::SYS_setgroups, groups.len(), groups.as_ptr()) };
    Errno::result(ret).map(drop)
}

/// Clear close-on-exec on fd `fd`, which the caller asked to pass on to the
/// payload; an fd that is not open is skipped.
pub fn clear_cloexec(fd: RawFd) {
    // SAFETY: F_SETFD on an integer fd touches no memory; an fd that is not
    // open only yields EBADF.
    unsafe { libc::fcntl(fd, libc::F_SETFD, 0) };
}

/// Open the container's `/dev/ptmx` and return `(master, peer)`: a new
/// pseudo-terminal, its peer opened through the master (`TIOCGPTPEER`), so
/// no path lookup in `/dev/pts` can be raced.
pub fn open_pty() -> Result<(OwnedFd, OwnedFd), Errno> {
    let master = nix::fcntl::open(
        "/dev/ptmx",
        nix::fcntl::OFlag::O_RDWR | nix::fcntl::OFlag::O_NOCTTY | nix::fcntl::OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )?;
    let unlock: libc::c_int = 0;
    // SAFETY: TIOCSPTLCK reads an int through the pointer, which outlives
    // the call; `master` is a valid pty master.
    Errno::result(unsafe { libc::ioctl(master.as_raw_fd(), libc::TIOCSPTLCK, &unlock) })?;
    // SAFETY: TIOCGPTPEER takes open flags as an integer and returns a new
    // fd for the peer, which we own.
    let peer = unsafe {
        libc::ioctl(
            master.as_raw_fd(),
            libc::TIOCGPTPEER,
            libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC,
        )
    };
    let peer = Errno::result(peer)?;
    // SAFETY: a fresh fd from the kernel, owned by no one else.
    Ok((master, unsafe { OwnedFd::from_raw_fd(peer) }))
}

/// Make `tty` the controlling terminal of this (new) session.
pub fn set_controlling_tty(tty: BorrowedFd<'_>) -> Result<(), Errno> {
    // SAFETY: TIOCSCTTY takes an integer argument; `tty` is a valid fd.
    Errno::result(unsafe { libc::ioctl(tty.as_raw_fd(), libc::TIOCSCTTY, 0) }).map(drop)
}

/// Set a terminal's size.
pub fn set_window_size(tty: BorrowedFd<'_>, rows: u16, cols: u16) -> Result<(), Errno> {
    let size = libc::winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCSWINSZ reads a winsize through the pointer, which
    // outlives the call.
    Errno::result(unsafe { libc::ioctl(tty.as_raw_fd(), libc::TIOCSWINSZ, &size) }).map(drop)
}

extern "C" fn exit_on_signal(signal: libc::c_int) {
    // SAFETY: _exit is async-signal-safe.
    unsafe { libc::_exit(128 + signal) }
}

/// Make the usual termination signals end this process even when it is
/// pid 1 of a pid namespace (which ignores signals it has no handler for):
/// used while a container waits at its start gate. exec resets them.
pub fn exit_on_termination_signals() {
    use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet, Signal};
    let action = SigAction::new(SigHandler::Handler(exit_on_signal), SaFlags::empty(), SigSet::empty());
    for signal in [
        Signal::SIGTERM,
        Signal::SIGINT,
        Signal::SIGHUP,
        Signal::SIGQUIT,
        Signal::SIGUSR1,
        Signal::SIGUSR2,
    ] {
        // SAFETY: the handler only calls _exit, which is async-signal-safe.
        let _ = unsafe { sigaction(signal, &action) };
    }
}

/// Close every fd from `first` up, except those in `keep` (a few
/// `close_range` calls over the gaps between them).
pub fn close_fds_except(first: u32, keep: &[RawFd]) {
    let mut kept: Vec<u32> = keep
        .iter()
        .filter(|&&fd| fd >= first as RawFd)
        .map(|&fd| fd as u32)
        .collect();
    kept.sort_unstable();
    let mut from = first;
    for fd in kept.into_iter().chain(std::iter::once(u32::MAX)) {
        if fd > from {
            // SAFETY: closing fds this process owns; none of them is one of
            // the kept ones, and no other thread exists in this child.
            unsafe { libc::syscall(libc::SYS_close_range, from, fd - 1, 0) };
        }
        from = fd.saturating_add(1);
    }
}

/// `personality(persona)`: set the execution domain and its flags.
pub fn set_personality(persona: u64) -> Result<(), Errno> {
    let persona = libc::c_ulong::try_from(persona).map_err(|_| Errno::EINVAL)?;
    // SAFETY: personality takes a plain integer and changes only this
    // process's execution domain.
    let ret = unsafe { libc::personality(persona) };
    Errno::result(ret).map(drop)
}

/// `seccomp(SECCOMP_SET_MODE_FILTER, flags, prog)`: install `filter` on
/// this process; with `SECCOMP_FILTER_FLAG_NEW_LISTENER` in `flags`, the
/// user notification listener comes back.
pub fn install_seccomp(flags: u32, filter: &[crate::seccomp::SockFilter]) -> Result<Option<OwnedFd>, Errno> {
    #[repr(C)]
    struct SockFprog {
        len: libc::c_ushort,
        filter: *const crate::seccomp::SockFilter,
    }
    let prog = SockFprog {
        len: libc::c_ushort::try_from(filter.len()).map_err(|_| Errno::E2BIG)?,
        filter: filter.as_ptr(),
    };
    // SAFETY: `prog` points at `filter`, whose instructions have the
    // kernel's `struct sock_filter` layout; both outlive the call, and the
    // kernel copies the program.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            libc::SECCOMP_SET_MODE_FILTER,
            flags as libc::c_ulong,
            &prog as *const SockFprog,
        )
    };
    let ret = Errno::result(ret)?;
    if flags & crate::seccomp::FLAG_NEW_LISTENER != 0 {
        // SAFETY: with NEW_LISTENER the kernel returns a new fd that we own.
        Ok(Some(unsafe { OwnedFd::from_raw_fd(ret as RawFd) }))
    } else {
        Ok(None)
    }
}
