//! The only place that forks: `spawn` clones the container process with
//! every namespace at once, and the child runs the setup steps in order.
//!
//! ```text
//! parent                               child
//! clone3(flags | CLONE_PIDFD) ───────▶ reset signals, parent-death signal
//! write uid/gid maps                   wait for Go (only with a user ns)
//! send Go ───────────────────────────▶ private propagation, root, /proc,
//!                                      /sys, /dev, mounts, pivot_root
//!                                      hostname, user, cwd, env
//! ◀── EOF (exec'd) | Started | Failed  exec the command / run the closure
//! ```

use std::ffi::{CString, OsStr};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::sys::signal::Signal;
use nix::unistd::{Gid, Pid, Uid};

use crate::channel::{self, Message};
use crate::error::{Error, Result, SetupError, Step};
use crate::idmap;
use crate::namespace::Namespace;
use crate::rootfs;
use crate::spec::{ContainerSpec, Payload, Root};
use crate::status::{reap, ExitStatus};
use crate::sys::{self, Forked};

/// The `PATH` used to find the command when the spec's environment has none.
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// A running container: its pid 1 as seen from the host, and a pidfd for it.
///
/// Dropping a `Container` does not kill it; call [`Container::wait`] to reap
/// it and learn how it ended.
#[derive(Debug)]
pub struct Container {
    pid: Pid,
    pidfd: OwnedFd,
    temp_root: Option<TempRoot>,
    status: Option<ExitStatus>,
}

impl Container {
    /// The container process's pid in the caller's pid namespace.
    pub fn pid(&self) -> Pid {
        self.pid
    }

    /// A pidfd for the container process, for `poll` or joining it.
    pub fn pidfd(&self) -> BorrowedFd<'_> {
        self.pidfd.as_fd()
    }

    /// Send `signal` to the container process (through its pidfd, so it
    /// cannot reach a recycled pid).
    pub fn signal(&self, signal: Signal) -> Result<()> {
        sys::pidfd_send_signal(self.pidfd(), signal as i32)
            .map_err(|e| Error::sys(format!("sending {signal} to container process {}", self.pid), e))
    }

    /// Wait for the container process to end and return how it ended; the
    /// temporary root, if any, is removed. Calling it again returns the same
    /// status.
    pub fn wait(&mut self) -> Result<ExitStatus> {
        if let Some(status) = self.status {
            return Ok(status);
        }
        let status = reap(self.pid)?;
        self.status = Some(status);
        self.temp_root = None;
        Ok(status)
    }

    /// Kill and reap a container whose setup went wrong.
    fn abort(&mut self) {
        let _ = self.signal(Signal::SIGKILL);
        let _ = self.wait();
    }
}

/// A directory under `$TMPDIR` (or `/tmp`) for an ephemeral root's mount
/// point. On the host it stays empty (the tmpfs is mounted only in the
/// container's mount namespace), so removing it is a plain `rmdir`, never a
/// recursive delete that could reach into a mount. It is removed as soon as
/// the container has pivoted away from it, so even a burrow killed with
/// SIGKILL later leaves nothing behind.
#[derive(Debug)]
struct TempRoot(PathBuf);

impl TempRoot {
    fn new() -> Result<Self> {
        let base = std::env::var_os("TMPDIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| "/tmp".into());
        let template = base.join("burrow-root.XXXXXX");
        nix::unistd::mkdtemp(&template)
            .map(TempRoot)
            .map_err(|e| Error::sys(format!("creating a temporary root in {}", base.display()), e))
    }
}

impl TempRoot {
    /// `rmdir` the mount point; whether it is gone.
    fn remove(&self) -> bool {
        std::fs::remove_dir(&self.0).is_ok()
    }
}

impl Drop for TempRoot {
    fn drop(&mut self) {
        self.remove();
    }
}

/// Start a container as `spec` describes and return once it runs the
/// payload (or report why it could not).
///
/// The container is one process, cloned with every requested namespace and
/// a pidfd. When it has a user namespace, it waits for this process to
/// write its id maps; then it builds its root, pivots into it and execs.
/// A failure at any step comes back as [`Error::Setup`] naming the step,
/// path and errno, and the half-made container is reaped.
pub fn spawn(spec: &ContainerSpec) -> Result<Container> {
    spec.validate()?;
    let temp_root = match spec.root {
        Root::Ephemeral => Some(TempRoot::new()?),
        _ => None,
    };
    let root_path = match (&spec.root, &temp_root) {
        (Root::Directory(dir), _) => Some(dir.clone()),
        (_, Some(temp)) => Some(temp.0.clone()),
        _ => None,
    };
    let (mut parent_end, child_end) =
        UnixStream::pair().map_err(|e| Error::io("creating the parent/child socketpair", e))?;
    let flags = spec.namespaces.clone_flags().bits() as u64;
    let forked = {
        let _span = tracing::debug_span!("step", name = "clone3").entered();
        sys::clone3_fork(flags).map_err(|e| {
            Error::sys(
                format!("creating the container process with namespaces [{}]", spec.namespaces),
                e,
            )
        })?
    };
    match forked {
        Forked::Child => {
            drop(parent_end);
            child_main(spec, root_path.as_deref(), child_end)
        }
        Forked::Parent { pid, pidfd } => {
            drop(child_end);
            let mut container = Container {
                pid,
                pidfd,
                temp_root,
                status: None,
            };
            match handshake(spec, &mut container, &mut parent_end) {
                Ok(()) => {
                    // The container has pivoted away from the mount point, so
                    // the empty host directory can go now; if that fails, it
                    // goes after `wait`.
                    if container.temp_root.as_ref().is_some_and(TempRoot::remove) {
                        container.temp_root = None;
                    }
                    Ok(container)
                }
                Err(e) => {
                    container.abort();
                    Err(match e {
                        Error::Vanished(_) => Error::Vanished(container.status.unwrap_or(ExitStatus::Exited(-1))),
                        other => other,
                    })
                }
            }
        }
    }
}

/// The parent's half of setup: maps, go-ahead, and the child's verdict.
fn handshake(spec: &ContainerSpec, container: &mut Container, channel: &mut UnixStream) -> Result<()> {
    if spec.namespaces.contains(Namespace::User) {
        let _span = tracing::debug_span!("step", name = "id_maps").entered();
        idmap::write_maps(container.pid, &spec.uid_maps, &spec.gid_maps)?;
        channel::send(channel, &Message::Go)?;
    }
    let _span = tracing::debug_span!("step", name = "child_setup").entered();
    match channel::recv(channel)? {
        None if matches!(spec.payload, Payload::Command(_)) => Ok(()),
        Some(Message::Started) if matches!(spec.payload, Payload::Closure(_)) => Ok(()),
        Some(Message::Failed(report)) => Err(Error::Setup(report)),
        None => Err(Error::Vanished(ExitStatus::Exited(-1))),
        Some(other) => Err(Error::Channel(format!("unexpected message {other:?} during setup"))),
    }
}

/// The container process: run the steps, then the payload; never return.
fn child_main(spec: &ContainerSpec, root: Option<&Path>, mut channel: UnixStream) -> ! {
    match child_steps(spec, root, &mut channel) {
        Ok(code) => sys::exit_now(code),
        Err(report) => {
            let _ = channel::send(&mut channel, &Message::Failed(report));
            sys::exit_now(127)
        }
    }
}

/// The child's steps, in the order that works: maps before anything that
/// needs privilege; private propagation before any mount; the root built and
/// entered before hostname, user switch and cwd; close-on-exec last.
fn child_steps(spec: &ContainerSpec, root: Option<&Path>, channel: &mut UnixStream) -> Result<i32, SetupError> {
    sys::reset_signals();
    if spec.die_with_parent {
        set_parent_death_signal()?;
    }
    if spec.namespaces.contains(Namespace::User) {
        wait_for_go(channel)?;
    }
    if let Some(root) = root {
        rootfs::make_private()?;
        rootfs::build_and_enter(spec, root)?;
    }
    if let Some(name) = &spec.hostname {
        nix::unistd::sethostname(name)
            .map_err(|e| SetupError::sys(Step::Hostname, Some(name.into()), e, "cannot set the hostname to"))?;
    }
    if let Some(user) = &spec.user {
        switch_user(user)?;
        if spec.die_with_parent {
            // Changing credentials clears the parent-death signal.
            set_parent_death_signal()?;
        }
    }
    nix::unistd::chdir(&spec.cwd)
        .map_err(|e| SetupError::sys(Step::Cwd, Some(spec.cwd.clone()), e, "cannot change directory to"))?;
    sys::cloexec_from(3)
        .map_err(|e| SetupError::sys(Step::Exec, None, e, "cannot mark inherited fds close-on-exec"))?;
    match &spec.payload {
        Payload::Command(argv) => Err(exec(argv, &spec.env)),
        Payload::Closure(closure) => {
            sys::clear_environment();
            for (key, value) in &spec.env {
                std::env::set_var(key, value);
            }
            let _ = channel::send(channel, &Message::Started);
            Ok((closure.0)())
        }
    }
}

fn set_parent_death_signal() -> Result<(), SetupError> {
    sys::set_parent_death_signal(libc::SIGKILL)
        .map_err(|e| SetupError::sys(Step::Handshake, None, e, "cannot set the parent-death signal"))
}

fn wait_for_go(channel: &mut UnixStream) -> Result<(), SetupError> {
    let handshake = |message: String| SetupError {
        step: Step::Handshake,
        path: None,
        errno: None,
        message,
    };
    match channel::recv(channel) {
        Ok(Some(Message::Go)) => Ok(()),
        Ok(None) => Err(handshake("the parent went away before writing the id maps".into())),
        Ok(Some(other)) => Err(handshake(format!("expected Go, got {other:?}"))),
        Err(e) => Err(handshake(e.to_string())),
    }
}

fn switch_user(user: &crate::spec::User) -> Result<(), SetupError> {
    let fail = |e, what: &str| SetupError::sys(Step::User, None, e, what.to_string());
    let groups: Vec<Gid> = user.additional_gids.iter().map(|g| Gid::from_raw(*g)).collect();
    match nix::unistd::setgroups(&groups) {
        Ok(()) => {}
        // setgroups is denied in an unprivileged user namespace; with no
        // supplementary groups asked for, there is nothing to lose.
        Err(Errno::EPERM) if groups.is_empty() => {}
        Err(e) => return Err(fail(e, "cannot set supplementary groups")),
    }
    let gid = Gid::from_raw(user.gid);
    nix::unistd::setresgid(gid, gid, gid).map_err(|e| fail(e, &format!("cannot switch to gid {}", user.gid)))?;
    let uid = Uid::from_raw(user.uid);
    nix::unistd::setresuid(uid, uid, uid).map_err(|e| fail(e, &format!("cannot switch to uid {}", user.uid)))
}

/// Replace the process with `argv`, searching `PATH` from `env` when
/// `argv[0]` has no slash. Returns only on failure.
pub(crate) fn exec(argv: &[String], env: &[(String, String)]) -> SetupError {
    let cstr = |s: &[u8]| CString::new(s).unwrap_or_default();
    let args: Vec<CString> = argv.iter().map(|a| cstr(a.as_bytes())).collect();
    let envp: Vec<CString> = env.iter().map(|(k, v)| cstr(format!("{k}={v}").as_bytes())).collect();
    let program = &argv[0];
    let fail = |e: Errno| SetupError::sys(Step::Exec, Some(program.into()), e, "cannot execute");
    if program.contains('/') {
        let e = nix::unistd::execve(&cstr(program.as_bytes()), &args, &envp).unwrap_err();
        return fail(e);
    }
    let path = env
        .iter()
        .find(|(k, _)| k == "PATH")
        .map_or(DEFAULT_PATH, |(_, v)| v.as_str());
    let mut first_error = Errno::ENOENT;
    for dir in path.split(':').filter(|d| !d.is_empty()) {
        let candidate = Path::new(dir).join(OsStr::new(program));
        let e = nix::unistd::execve(&cstr(candidate.as_os_str().as_bytes()), &args, &envp).unwrap_err();
        // Like a shell: remember "permission denied" over "not found".
        if e != Errno::ENOENT && e != Errno::ENOTDIR && first_error == Errno::ENOENT {
            first_error = e;
        }
    }
    fail(first_error)
}
