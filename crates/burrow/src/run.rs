//! The seed's `call-with-container`: spawn, let the caller see the pid,
//! forward Ctrl-C and friends, wait, and clean up the temporary root.

use std::os::fd::AsFd;

use nix::errno::Errno;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{SigSet, SigmaskHow, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::unistd::Pid;

use crate::error::{Error, Result};
use crate::namespace::Namespace;
use crate::spawn::Container;
use crate::spec::ContainerSpec;
use crate::status::ExitStatus;

/// The signals that `run` passes on to the container.
pub const FORWARDED_SIGNALS: [Signal; 4] = [Signal::SIGINT, Signal::SIGTERM, Signal::SIGHUP, Signal::SIGQUIT];

/// Run a container to completion and return its exit status.
///
/// The same as [`run_with_hook`] with a hook that does nothing.
pub fn run(spec: &ContainerSpec) -> Result<ExitStatus> {
    run_with_hook(spec, |_| {})
}

/// Run a container to completion, calling `spawned` with its pid as soon as
/// it is running (the seed's `process-spawned-hook`).
///
/// While it waits, SIGINT, SIGTERM, SIGHUP and SIGQUIT sent to this process
/// are passed on to the container, unless it ignores them (or they came
/// from the terminal, which already sent them to the container's process
/// group). A pid 1 in a new pid namespace is immune to every signal it has
/// no handler for, so Ctrl-C would do nothing to, say, `sleep`; when the
/// payload leaves the signal at its default action, burrow ends it with
/// SIGKILL instead and reports it as killed by the original signal, as the
/// same program would be outside a container. The temporary root of an
/// ephemeral container is removed before this returns, also when setup
/// fails.
///
/// The signals are blocked in the calling thread while it waits; a
/// multi-threaded program should block them in its other threads too.
pub fn run_with_hook(spec: &ContainerSpec, spawned: impl FnOnce(Pid)) -> Result<ExitStatus> {
    run_with_pause(spec, |_| Ok(None), spawned)
}

/// [`run_with_hook`] with [`crate::spawn_with_pause`]'s `at_pause` too.
pub fn run_with_pause(
    spec: &ContainerSpec,
    at_pause: impl FnOnce(Pid) -> Result<Option<String>>,
    spawned: impl FnOnce(Pid),
) -> Result<ExitStatus> {
    let checkpoints = crate::Checkpoints {
        at_pause: Box::new(at_pause),
        seccomp_listener: None,
    };
    run_with(spec, checkpoints, spawned)
}

/// [`run_with_hook`] with the caller's [`crate::Checkpoints`].
pub fn run_with(
    spec: &ContainerSpec,
    checkpoints: crate::Checkpoints<'_>,
    spawned: impl FnOnce(Pid),
) -> Result<ExitStatus> {
    let mut mask = SigSet::empty();
    FORWARDED_SIGNALS.iter().for_each(|s| mask.add(*s));
    let old = mask
        .thread_swap_mask(SigmaskHow::SIG_BLOCK)
        .map_err(|e| Error::sys("blocking signals to forward", e))?;
    let result = crate::spawn_with(spec, checkpoints).and_then(|mut container| {
        spawned(container.pid());
        let shares_session = !spec.new_session && spec.terminal.is_none();
        let forwarded = forward_until_exit(
            &container,
            &mask,
            spec.namespaces.contains(Namespace::Pid),
            shares_session,
        );
        let status = container.wait()?;
        Ok(match (forwarded?, status) {
            (Some(signal), ExitStatus::Signaled(libc::SIGKILL)) => ExitStatus::Signaled(signal as i32),
            (_, status) => status,
        })
    });
    let _ = old.thread_set_mask();
    result
}

/// Poll the container's pidfd and a signalfd; pass signals on until the
/// container exits. Returns the signal burrow replaced with SIGKILL, if any.
fn forward_until_exit(
    container: &Container,
    mask: &SigSet,
    pid_ns: bool,
    shares_session: bool,
) -> Result<Option<Signal>> {
    let signals = SignalFd::with_flags(mask, SfdFlags::SFD_CLOEXEC | SfdFlags::SFD_NONBLOCK)
        .map_err(|e| Error::sys("creating a signalfd", e))?;
    let mut replaced = None;
    loop {
        let mut fds = [
            PollFd::new(container.pidfd(), PollFlags::POLLIN),
            PollFd::new(signals.as_fd(), PollFlags::POLLIN),
        ];
        match poll(&mut fds, PollTimeout::NONE) {
            Ok(_) => {}
            Err(Errno::EINTR) => continue,
            Err(e) => return Err(Error::sys("waiting for the container", e)),
        }
        let exited = fds[0].any().unwrap_or(false);
        while let Ok(Some(info)) = signals.read_signal() {
            let Ok(signal) = Signal::try_from(info.ssi_signo as i32) else {
                continue;
            };
            if exited {
                continue;
            }
            // A terminal's ^C (si_code SI_KERNEL) already reached the
            // container when it shares burrow's process group: not again.
            let from_terminal = info.ssi_code == libc::SI_KERNEL && shares_session;
            match disposition(container.pid(), signal) {
                Disposition::Ignored => {}
                Disposition::Caught if !from_terminal => {
                    let _ = container.signal(signal);
                }
                Disposition::Caught => {}
                // The kernel drops unhandled signals to a pid namespace's
                // init; end it the way the signal would end any other process.
                Disposition::Default if pid_ns => {
                    tracing::debug!(%signal, "pid 1 does not handle it; ending the container with SIGKILL");
                    replaced = Some(signal);
                    let _ = container.signal(Signal::SIGKILL);
                }
                Disposition::Default if !from_terminal => {
                    let _ = container.signal(signal);
                }
                Disposition::Default => {}
            }
        }
        if exited {
            return Ok(replaced);
        }
    }
}

/// What a process does with a signal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Disposition {
    /// It has a handler.
    Caught,
    /// It ignores the signal.
    Ignored,
    /// The default action.
    Default,
}

/// Read what process `pid` does with `signal` (`SigCgt` and `SigIgn` in
/// `/proc/PID/status`).
fn disposition(pid: Pid, signal: Signal) -> Disposition {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let has = |field: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(field))
            .and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok())
            .is_some_and(|bits| bits & (1 << (signal as i32 - 1)) != 0)
    };
    if has("SigCgt:") {
        Disposition::Caught
    } else if has("SigIgn:") {
        Disposition::Ignored
    } else {
        Disposition::Default
    }
}
