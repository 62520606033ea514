//! The only place that forks: `spawn` clones the container process with
//! every namespace at once, and the child runs the setup steps in order.
//!
//! ```text
//! parent                               child
//! prepare argv, env, PATH candidates
//! clone3(flags | CLONE_PIDFD) ───────▶ reset signals, parent-death signal
//! write uid/gid maps                   wait for Go (only with a user ns)
//! send Go ───────────────────────────▶ private propagation, root, /proc,
//!                                      /sys, /dev, mounts, pivot_root
//!                                      hostname, user, cwd, close-on-exec
//! ◀── Exec + EOF | Started | Failed    exec the command / run the closure
//! ```

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::Signal;
use nix::sys::stat::Mode;
use nix::unistd::{Gid, Pid, Uid};

use crate::capabilities::{self, CapSets};
use crate::cgroup_entry::CgroupEntry;
use crate::channel::{self, InFlight, Message};
use crate::error::{Error, Result, SetupError, Step};
use crate::exec::{CStrings, Command};
use crate::fault::{self, Process};
use crate::hooks;
use crate::idmap;
use crate::joined::{self, ThreadJoined};
use crate::namespace::Namespace;
use crate::rootfs;
use crate::spec::{ContainerSpec, Payload};
use crate::status::{reap, ExitStatus};
use crate::sys::{self, Forked};
use crate::terminal;

/// A running container: its pid 1 as seen from the host, and a pidfd for it.
///
/// Dropping a `Container` does not kill it; call [`Container::wait`] to reap
/// it and learn how it ended.
#[derive(Debug)]
pub struct Container {
    pid: Pid,
    pidfd: OwnedFd,
    status: Option<ExitStatus>,
    seccomp_listener: Option<OwnedFd>,
}

impl Container {
    /// The user notification fd of the payload's seccomp filter, when its
    /// profile has [`crate::seccomp::Action::Notify`] rules (once).
    pub fn take_seccomp_listener(&mut self) -> Option<OwnedFd> {
        self.seccomp_listener.take()
    }

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

    /// Wait for the container process to end and return how it ended.
    /// Calling it again returns the same status.
    pub fn wait(&mut self) -> Result<ExitStatus> {
        if let Some(status) = self.status {
            return Ok(status);
        }
        let status = reap(self.pid)?;
        self.status = Some(status);
        Ok(status)
    }

    /// Kill and reap a container whose setup went wrong.
    fn abort(&mut self) {
        let _ = self.signal(Signal::SIGKILL);
        let _ = self.wait();
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
    spawn_with_pause(spec, |_| Ok(None))
}

/// [`spawn`], calling `at_pause` with the container's pid while it waits
/// before `pivot_root` (when `spec.pause_before_pivot` asks for it): its
/// namespaces exist and its mounts are done. An error from `at_pause`
/// aborts the container; a string it returns becomes the standard input
/// of the container's hooks. An OCI front runs its runtime-side hooks there.
pub fn spawn_with_pause(
    spec: &ContainerSpec,
    at_pause: impl FnOnce(Pid) -> Result<Option<String>>,
) -> Result<Container> {
    spawn_with(
        spec,
        Checkpoints {
            at_pause: Box::new(at_pause),
            seccomp_listener: None,
        },
    )
}

/// Takes a container's seccomp listener: its pid and the fd.
pub type ListenerHandler<'a> = Box<dyn FnOnce(Pid, OwnedFd) -> Result<()> + 'a>;

/// What the caller does at the container's checkpoints during a spawn.
pub struct Checkpoints<'a> {
    /// Called at the pause before `pivot_root` (see
    /// [`spawn_with_pause`]).
    pub at_pause: Box<dyn FnOnce(Pid) -> Result<Option<String>> + 'a>,
    /// Called with the container's pid and the user notification listener
    /// of its seccomp filter as soon as it arrives, so that an agent can
    /// answer while the container goes on (it may block on a notified
    /// syscall until then). Without it, the listener is kept for
    /// [`Container::take_seccomp_listener`].
    pub seccomp_listener: Option<ListenerHandler<'a>>,
}

/// [`spawn`] with the caller's [`Checkpoints`].
pub fn spawn_with(spec: &ContainerSpec, checkpoints: Checkpoints<'_>) -> Result<Container> {
    spec.validate()?;
    fault::arm();
    // Everything the child needs is prepared here, before the fork.
    // No other burrow clone may copy this spawn's child end of the channel
    // (or the plan's fds): hold the spawn lock until they are closed here.
    let spawning = spawn_lock();
    let mut plan = ChildPlan::new(spec)?;
    let (mut parent_end, child_end) =
        UnixStream::pair().map_err(|e| Error::io("creating the parent/child socketpair", e))?;
    let mut in_flight = InFlight::register(&[parent_end.as_raw_fd(), child_end.as_raw_fd()]);
    let flags = clone_namespaces(spec).clone_flags().bits() as u64;
    // Born in the joined net/ipc/uts/cgroup/pid namespaces.
    let joined = ThreadJoined::enter(&spec.join)?;
    let forked = {
        let _span = tracing::debug_span!("step", name = "clone3").entered();
        plan.cgroups.clone3(flags).map_err(|e| {
            Error::sys(
                format!("creating the container process with namespaces [{}]", spec.namespaces),
                e,
            )
        })?
    };
    match forked {
        Forked::Child => {
            // First, before anything can allocate: die with the parent.
            let _ = sys::set_parent_death_signal(libc::SIGKILL);
            // The thread to move back is the parent's, not this copy.
            std::mem::forget(joined);
            channel::close_in_flight_except(&[parent_end.as_raw_fd(), child_end.as_raw_fd()]);
            drop(parent_end);
            // A panic must end this copy, never unwind into the caller's code.
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| child_main(spec, &plan, child_end)));
            let _ = outcome;
            sys::exit_now(125)
        }
        Forked::Parent { pid, pidfd } => {
            fault::at("spawn:cloned", Process::Runtime);
            drop(joined);
            in_flight.release(child_end.as_raw_fd());
            drop(child_end);
            let written = std::mem::take(&mut plan.cgroups).into_written();
            drop(plan);
            drop(spawning);
            let mut container = Container {
                pid,
                pidfd,
                status: None,
                seccomp_listener: None,
            };
            let outcome = handshake(spec, &written, &mut container, &mut parent_end, checkpoints);
            in_flight.release(parent_end.as_raw_fd());
            drop(parent_end);
            match outcome {
                Ok(()) => {
                    fault::at("spawn:done", Process::Runtime);
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

/// Serialises the clones of concurrent spawns and excursions: held from
/// the socketpair until the parent has closed its copy of the child's end,
/// so no other burrow clone can copy that end and keep it open.
static SPAWN_LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Take [`SPAWN_LOCK`] (a panic elsewhere does not poison it for us).
pub(crate) fn spawn_lock() -> std::sync::MutexGuard<'static, ()> {
    SPAWN_LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// What the child needs beyond the spec, computed in the parent so the
/// child allocates as little as possible.
struct ChildPlan {
    /// A pidfd of this process, to detect its death during setup.
    parent: OwnedFd,
    /// Become uid/gid 0 of the new user namespace after the maps are
    /// written, because the caller's own ids are not mapped.
    become_root: (bool, bool),
    env: CStrings,
    command: Option<Command>,
    capabilities: Option<CapSets>,
    /// The start gate FIFO, opened here with the caller's rights (the child
    /// may already be an unprivileged id of its user namespace).
    gate: Option<OwnedFd>,
    /// The console socket, connected here for the same reason.
    console: Option<UnixStream>,
    /// What to write to `/proc/self/timens_offsets` after making the time
    /// namespace, when it has offsets.
    time_offsets: Option<String>,
    /// The compiled seccomp filter and its install flags.
    seccomp: Option<(Vec<crate::seccomp::SockFilter>, u32)>,
    /// How the process enters each of its cgroups.
    cgroups: CgroupEntry,
}

impl ChildPlan {
    fn new(spec: &ContainerSpec) -> Result<Self> {
        let parent = sys::pidfd_open(nix::unistd::getpid()).map_err(|e| Error::sys("opening a pidfd of burrow", e))?;
        let user_ns = spec.namespaces.contains(Namespace::User);
        let unmapped = |maps: &[crate::IdMap], id: u32| !maps.iter().any(|m| id.wrapping_sub(m.outside) < m.count);
        let in_host_users = !user_ns && !spec.join.iter().any(|(ns, _)| *ns == Namespace::User);
        // Looked up here, so that the child (which asks when it builds /dev)
        // finds it cached: no file read after the clone, and no lock that
        // another thread could hold at clone time.
        let _ = crate::probe::is_host_root();
        Ok(ChildPlan {
            cgroups: CgroupEntry::plan(&spec.cgroups, in_host_users)?,
            parent,
            become_root: (
                user_ns && unmapped(&spec.uid_maps, Uid::effective().as_raw()),
                user_ns && unmapped(&spec.gid_maps, Gid::effective().as_raw()),
            ),
            env: CStrings::environment(&spec.env),
            seccomp: match &spec.seccomp {
                Some(profile) => Some((profile.compile()?, profile.install_flags())),
                None => None,
            },
            time_offsets: defers_time_namespace(spec).then(|| {
                spec.time_offsets
                    .iter()
                    .map(|o| {
                        format!(
                            "{} {} {}\n",
                            crate::namespace::clock_name(o.clock),
                            o.seconds,
                            o.nanoseconds
                        )
                    })
                    .collect()
            }),
            capabilities: spec.capabilities.as_ref().map(|c| c.parse()).transpose()?,
            gate: match &spec.start_gate {
                Some(path) => Some(
                    nix::fcntl::open(path, OFlag::O_PATH | OFlag::O_CLOEXEC, Mode::empty())
                        .map_err(|e| Error::sys(format!("opening the start gate {}", path.display()), e))?,
                ),
                None => None,
            },
            console: spec
                .terminal
                .as_ref()
                .map(terminal::connect)
                .transpose()
                .map_err(Error::Setup)?,
            command: match &spec.payload {
                Payload::Command(argv) => Some(Command::new(argv, &spec.env)),
                Payload::Closure(_) => None,
            },
        })
    }
}

/// The parent's half of setup: maps, go-ahead, and the child's verdict.
fn handshake(
    spec: &ContainerSpec,
    cgroups: &[PathBuf],
    container: &mut Container,
    channel: &mut UnixStream,
    checkpoints: Checkpoints<'_>,
) -> Result<()> {
    let mut at_pause = Some(checkpoints.at_pause);
    let mut on_listener = checkpoints.seccomp_listener;
    if spec.namespaces.contains(Namespace::User) {
        let _span = tracing::debug_span!("step", name = "id_maps").entered();
        idmap::write_maps(container.pid, &spec.uid_maps, &spec.gid_maps)?;
        fault::at("spawn:id-maps", Process::Runtime);
    }
    set_limits(spec, cgroups, container.pid)?;
    if needs_go(spec, cgroups) {
        channel::send(channel, &Message::Go).map_err(peer_gone)?;
    }
    let _span = tracing::debug_span!("step", name = "child_setup").entered();
    let mut exec_announced = false;
    loop {
        match channel::recv(channel)? {
            Some(Message::Exec) if !exec_announced && matches!(spec.payload, Payload::Command(_)) => {
                exec_announced = true
            }
            Some(Message::Paused) if spec.pause_before_pivot => {
                if let Some(input) = at_pause.take().map(|f| f(container.pid)).transpose()?.flatten() {
                    channel::send(channel, &Message::HookInput(input)).map_err(peer_gone)?;
                }
                channel::send(channel, &Message::Go).map_err(peer_gone)?;
            }
            None if exec_announced => return Ok(()),
            Some(Message::Started) if matches!(spec.payload, Payload::Closure(_)) => return Ok(()),
            Some(Message::Ready) if spec.start_gate.is_some() => return Ok(()),
            Some(Message::SeccompListener) if container.seccomp_listener.is_none() => {
                let fd = channel::recv_fd(channel)?;
                match on_listener.take() {
                    Some(deliver) => deliver(container.pid, fd)?,
                    None => container.seccomp_listener = Some(fd),
                }
            }
            Some(Message::Failed(report)) => return Err(Error::Setup(report)),
            None => return Err(Error::Vanished(ExitStatus::Exited(-1))),
            Some(other) => return Err(Error::Channel(format!("unexpected message {other:?} during setup"))),
        }
    }
}

/// The cgroup namespace is made after the parent has placed the process in
/// its cgroups (so that it is rooted there), not at clone time.
fn defers_cgroup_namespace(spec: &ContainerSpec) -> bool {
    spec.namespaces.contains(Namespace::Cgroup) && !spec.cgroups.is_empty()
}

/// A time namespace with offsets is made by the child before any process
/// is in it (offsets can only be written then), and entered at exec.
fn defers_time_namespace(spec: &ContainerSpec) -> bool {
    spec.namespaces.contains(Namespace::Time) && !spec.time_offsets.is_empty()
}

/// The namespaces `clone3` creates.
fn clone_namespaces(spec: &ContainerSpec) -> crate::NamespaceSet {
    let mut set = spec.namespaces;
    if defers_cgroup_namespace(spec) {
        set.remove(Namespace::Cgroup);
    }
    if defers_time_namespace(spec) {
        set.remove(Namespace::Time);
    }
    set
}

/// Whether the child must wait for the parent's Go: to have its id maps
/// written, its limits set, or the pid written to these `cgroups`, before
/// it goes on.
fn needs_go(spec: &ContainerSpec, cgroups: &[PathBuf]) -> bool {
    spec.namespaces.contains(Namespace::User)
        || !spec.limits.rlimits.is_empty()
        || spec.limits.oom_score_adj.is_some()
        || !cgroups.is_empty()
}

/// A send that fails because the container process has ended is its
/// vanishing (its status is filled in once it is reaped), not a fault of
/// the channel.
fn peer_gone(e: Error) -> Error {
    match e {
        Error::Sys {
            errno: Errno::EPIPE | Errno::ECONNRESET,
            ..
        } => Error::Vanished(ExitStatus::Exited(-1)),
        other => other,
    }
}

/// What the parent sets on the new process: rlimits (`prlimit`), placement
/// in the `cgroups` it does not enter by itself, and `oom_score_adj`.
fn set_limits(spec: &ContainerSpec, cgroups: &[PathBuf], pid: Pid) -> Result<()> {
    for r in &spec.limits.rlimits {
        sys::set_rlimit(pid, r.resource, r.soft, r.hard).map_err(|e| {
            Error::sys(
                format!("setting resource limit {} to {}:{}", r.resource, r.soft, r.hard),
                e,
            )
        })?;
    }
    for dir in cgroups {
        let procs = dir.join("cgroup.procs");
        crate::cgroupfs::write(&procs, pid.to_string())
            .map_err(|e| Error::io(format!("placing process {pid} in {}", procs.display()), e))?;
    }
    if let Some(adj) = spec.limits.oom_score_adj {
        let path = format!("/proc/{pid}/oom_score_adj");
        std::fs::write(&path, adj.to_string()).map_err(|e| Error::io(format!("writing {adj} to {path}"), e))?;
    }
    Ok(())
}

/// The container process: run the steps, then the payload; never return.
fn child_main(spec: &ContainerSpec, plan: &ChildPlan, mut channel: UnixStream) -> ! {
    match child_steps(spec, plan, &mut channel) {
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
fn child_steps(spec: &ContainerSpec, plan: &ChildPlan, channel: &mut UnixStream) -> Result<i32, SetupError> {
    sys::reset_signals();
    fault::at("child:cloned", Process::Container);
    // Placed before anything else runs here, while the parent goes on.
    plan.cgroups.move_itself()?;
    if matches!(spec.payload, Payload::Command(_)) {
        // The caller's other fds (an OCI store lock, say) would stay open in
        // a container that waits for a long time; exec would close them
        // anyway. A closure payload may want them, so it keeps them.
        let keep = [
            channel.as_raw_fd(),
            plan.parent.as_raw_fd(),
            plan.gate.as_ref().map_or(-1, |g| g.as_raw_fd()),
            plan.console.as_ref().map_or(-1, |c| c.as_raw_fd()),
        ];
        sys::close_fds_except(3 + spec.preserve_fds, &keep);
    }
    // Die with burrow while setting up (set right after the clone), so a
    // killed burrow leaves no half-made container; check it did not die
    // before we asked.
    // (A pidfd polls readable once its process has exited; this works from
    // a new pid namespace, where signalling the parent would not.)
    let mut parent = [PollFd::new(plan.parent.as_fd(), PollFlags::POLLIN)];
    if poll(&mut parent, PollTimeout::ZERO).is_ok_and(|n| n > 0) {
        sys::exit_now(127);
    }
    if needs_go(spec, plan.cgroups.written()) {
        wait_for_go(channel)?;
    }
    fault::at("child:go", Process::Container);
    if spec.namespaces.contains(Namespace::User) && become_namespace_root(plan.become_root)? {
        // A change of ids clears the parent-death signal: set it again, and
        // look once more whether the parent is still there.
        set_parent_death_signal(libc::SIGKILL)?;
        let mut parent = [PollFd::new(plan.parent.as_fd(), PollFlags::POLLIN)];
        if poll(&mut parent, PollTimeout::ZERO).is_ok_and(|n| n > 0) {
            sys::exit_now(127);
        }
    }
    if defers_cgroup_namespace(spec) {
        // Placed in its cgroup by now: a cgroup namespace made now is rooted
        // there, as the container should see it.
        nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWCGROUP).map_err(|e| {
            SetupError::sys(
                Step::Join,
                None,
                e,
                "cannot create the cgroup namespace after placement",
            )
        })?;
    }
    if let Some(offsets) = &plan.time_offsets {
        make_time_namespace(offsets)?;
    }
    joined::join_in_child(&spec.join)?;
    let mut hook_input = None;
    if spec.builds_root() {
        rootfs::make_private(spec.propagation)?;
        rootfs::build_and_enter(spec, || {
            if spec.pause_before_pivot {
                channel::send(channel, &Message::Paused).map_err(|e| channel_error(e.to_string()))?;
                hook_input = wait_for_go(channel)?;
            }
            spec.hooks_before_pivot
                .iter()
                .try_for_each(|h| hooks::run(h, hook_input.as_deref()))
        })?;
    }
    fault::at("child:root", Process::Container);
    attach_terminal(spec, plan)?;
    if spec.new_session && spec.terminal.is_none() {
        nix::unistd::setsid().map_err(|e| SetupError::sys(Step::Terminal, None, e, "cannot start a new session"))?;
    }
    set_process_attributes(spec, plan, channel)?;
    let notifies = spec.seccomp.as_ref().is_some_and(|s| s.notifies());
    if spec.limits.no_new_privileges && notifies {
        // The listener must reach the parent, which is gone after the gate.
        install_seccomp(plan, channel)?;
    }
    if let Some(gate) = &plan.gate {
        wait_at_gate(channel, gate);
    }
    run_hooks_before_exec(spec, hook_input.as_deref())?;
    if let Some(rules) = &spec.landlock {
        crate::landlock::restrict(rules)?;
    }
    if spec.limits.no_new_privileges && !notifies {
        install_seccomp(plan, channel)?;
    }
    run_payload(spec, plan, channel)
}

/// Make a time namespace for our children and the payload (which enters it
/// at exec) with these clock offsets.
fn make_time_namespace(offsets: &str) -> Result<(), SetupError> {
    let fail = |e, what: &str| SetupError::sys(Step::TimeOffsets, None, e, what.to_string());
    nix::sched::unshare(Namespace::Time.clone_flag()).map_err(|e| fail(e, "cannot make a time namespace"))?;
    let file = nix::fcntl::open(
        "/proc/self/timens_offsets",
        OFlag::O_WRONLY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| fail(e, "cannot open /proc/self/timens_offsets"))?;
    nix::unistd::write(&file, offsets.as_bytes()).map_err(|e| fail(e, "cannot write the clock offsets"))?;
    Ok(())
}

/// Give the payload its terminal (sent to the console socket), bound onto
/// `/dev/console` when the container has a root of its own.
fn attach_terminal(spec: &ContainerSpec, plan: &ChildPlan) -> Result<(), SetupError> {
    if let (Some(t), Some(socket)) = (&spec.terminal, &plan.console) {
        terminal::attach(t, socket, spec.user.as_ref().map(|u| u.uid))?;
        if spec.builds_root() {
            terminal::bind_console()?;
        }
        // Done with it: the receiver may wait for end of file (the fd itself
        // goes at exec, being close-on-exec).
        let _ = socket.shutdown(std::net::Shutdown::Both);
    }
    Ok(())
}

/// The hooks that run inside the new root just before exec; after a start
/// gate the parent is gone, so a failure is said on stderr.
fn run_hooks_before_exec(spec: &ContainerSpec, hook_input: Option<&str>) -> Result<(), SetupError> {
    for hook in &spec.hooks_before_exec {
        if let Err(report) = hooks::run(hook, hook_input) {
            if spec.start_gate.is_some() {
                // The parent is gone after the gate: say it on stderr.
                eprintln!("burrow: container setup failed: {report}");
                sys::exit_now(125);
            }
            return Err(report);
        }
    }
    Ok(())
}

/// The process's own settings, after the root: hostname, domain name,
/// user and capabilities, parent-death signal, cwd, umask, no_new_privs,
/// and close-on-exec on every fd the payload should not get.
/// Install the seccomp filter (if any) and send its listener (if any) to
/// the parent.
fn install_seccomp(plan: &ChildPlan, channel: &mut UnixStream) -> Result<(), SetupError> {
    let Some((filter, flags)) = &plan.seccomp else {
        return Ok(());
    };
    let listener = sys::install_seccomp(*flags, filter)
        .map_err(|e| SetupError::sys(Step::Seccomp, None, e, "cannot install the seccomp filter"))?;
    if let Some(fd) = listener {
        channel::send(channel, &Message::SeccompListener)
            .and_then(|_| channel::send_fd(channel, fd.as_fd()))
            .map_err(|e| channel_error(e.to_string()))?;
    }
    Ok(())
}

fn set_process_attributes(spec: &ContainerSpec, plan: &ChildPlan, channel: &mut UnixStream) -> Result<(), SetupError> {
    if let Some(name) = &spec.hostname {
        nix::unistd::sethostname(name)
            .map_err(|e| SetupError::sys(Step::Hostname, Some(name.into()), e, "cannot set the hostname to"))?;
    }
    if let Some(name) = &spec.domainname {
        sys::set_domainname(name)
            .map_err(|e| SetupError::sys(Step::Hostname, Some(name.into()), e, "cannot set the domain name to"))?;
    }
    // Before the seccomp filter, which might refuse close_range.
    sys::cloexec_from(3 + spec.preserve_fds)
        .map_err(|e| SetupError::sys(Step::Exec, None, e, "cannot mark inherited fds close-on-exec"))?;
    for fd in 3..3 + spec.preserve_fds as i32 {
        // Preserved fds may have been opened close-on-exec; clear that.
        sys::clear_cloexec(fd);
    }
    // A cwd through an inherited fd (/proc/self/fd/N) could lead out of
    // the root (CVE-2024-21626); the fds left here are no directories,
    // and getcwd makes sure: outside the root, it fails. A filter that
    // goes in before the user switch may refuse getcwd: then it is checked
    // first, where the container's root can enter the directory (the fds
    // do not change until the chdir as the user below).
    let filter_first = !spec.limits.no_new_privileges && plan.seccomp.is_some();
    let checked = filter_first && nix::unistd::chdir(&spec.cwd).is_ok();
    if checked && spec.builds_root() {
        cwd_inside_root(&spec.cwd)?;
    }
    if !spec.limits.no_new_privileges {
        // Without no_new_privs, installing a filter needs CAP_SYS_ADMIN:
        // before the capabilities go.
        install_seccomp(plan, channel)?;
    }
    capabilities::switch_user_with(spec.user.as_ref(), plan.capabilities.as_ref())?;
    // Changing credentials clears the parent-death signal, so set it (or
    // clear it, for a container that should outlive burrow) last.
    set_parent_death_signal(if spec.die_with_parent { libc::SIGKILL } else { 0 })?;
    // As the user: the permission check that counts.
    nix::unistd::chdir(&spec.cwd)
        .map_err(|e| SetupError::sys(Step::Cwd, Some(spec.cwd.clone()), e, "cannot change directory to"))?;
    if !checked && spec.builds_root() {
        cwd_inside_root(&spec.cwd)?;
    }
    if let Some(mask) = spec.limits.umask {
        nix::sys::stat::umask(Mode::from_bits_truncate(mask));
    }
    if let Some(persona) = spec.limits.personality {
        sys::set_personality(persona)
            .map_err(|e| SetupError::sys(Step::Limits, None, e, "cannot set the personality"))?;
    }
    if spec.limits.no_new_privileges {
        sys::set_no_new_privs().map_err(|e| SetupError::sys(Step::Limits, None, e, "cannot set no_new_privs"))?;
    }
    Ok(())
}

/// Refuse a working directory (`cwd`, as asked for) outside the
/// container's root: getcwd fails there. Through an inherited fd
/// (/proc/self/fd/N) a cwd can lead out of the root (CVE-2024-21626).
pub(crate) fn cwd_inside_root(cwd: &Path) -> Result<(), SetupError> {
    nix::unistd::getcwd().map(drop).map_err(|_| {
        SetupError::sys(
            Step::Cwd,
            Some(cwd.to_path_buf()),
            Errno::EPERM,
            "the working directory is outside the container's root:",
        )
    })
}

/// Exec the command (or run the closure); returns only the closure's exit
/// code or a failure to exec.
fn run_payload(spec: &ContainerSpec, plan: &ChildPlan, channel: &mut UnixStream) -> Result<i32, SetupError> {
    match (&spec.payload, &plan.command) {
        // After the gate the parent is gone: report an exec failure on
        // stderr, as the payload's own errors would be.
        (Payload::Command(_), Some(command)) if spec.start_gate.is_some() => {
            let report = command.exec(&plan.env);
            eprintln!("burrow: container setup failed: {report}");
            sys::exit_now(if report.errno() == Some(Errno::ENOENT) {
                127
            } else {
                126
            })
        }
        (Payload::Command(_), Some(command)) => {
            channel::send(channel, &Message::Exec).map_err(|e| channel_error(e.to_string()))?;
            Err(command.exec(&plan.env))
        }
        (Payload::Closure(closure), _) => {
            sys::set_environ(plan.env.as_ptr());
            let _ = channel::send(channel, &Message::Started);
            Ok(run_closure(|| (closure.0)()))
        }
        (Payload::Command(_), None) => Err(channel_error("internal error: no prepared command".into())),
    }
}

/// Run a closure payload; a panic ends the process with status 101 instead
/// of unwinding into the caller's code (which this process is a copy of).
pub(crate) fn run_closure(f: impl FnOnce() -> i32) -> i32 {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or(101)
}

/// [`run_closure`] for a body that may report a setup error.
pub(crate) fn run_closure_result(f: impl FnOnce() -> Result<i32, SetupError>) -> Result<i32, SetupError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or(Ok(101))
}

fn channel_error(message: String) -> SetupError {
    SetupError {
        step: Step::Handshake,
        path: None,
        errno: None,
        message,
    }
}

fn set_parent_death_signal(signal: i32) -> Result<(), SetupError> {
    sys::set_parent_death_signal(signal)
        .map_err(|e| SetupError::sys(Step::Handshake, None, e, "cannot set the parent-death signal"))
}

/// Wait for Go; return the hook input the parent sent before it, if any.
fn wait_for_go(channel: &mut UnixStream) -> Result<Option<String>, SetupError> {
    let mut input = None;
    loop {
        match channel::recv(channel) {
            Ok(Some(Message::Go)) => return Ok(input),
            Ok(Some(Message::HookInput(s))) => input = Some(s),
            Ok(None) => return Err(channel_error("the parent went away before Go".into())),
            Ok(Some(other)) => return Err(channel_error(format!("expected Go, got {other:?}"))),
            Err(e) => return Err(channel_error(e.to_string())),
        }
    }
}

/// When the maps leave the caller's own uid (or gid) out, the process is
/// the overflow id in its namespace and can create nothing; it becomes id 0
/// there instead, which the maps do cover (see `ContainerSpec::validate`).
fn become_namespace_root((uid, gid): (bool, bool)) -> Result<bool, SetupError> {
    let fail = |e, what: &str| SetupError::sys(Step::IdMaps, None, e, what.to_string());
    if gid {
        sys::set_all_gids(0).map_err(|e| fail(e, "cannot become gid 0 of the user namespace"))?;
    }
    if uid {
        sys::set_all_uids(0).map_err(|e| fail(e, "cannot become uid 0 of the user namespace"))?;
    }
    Ok(uid || gid)
}

pub(crate) fn switch_user(user: &crate::spec::User) -> Result<(), SetupError> {
    let fail = |e, what: &str| SetupError::sys(Step::User, None, e, what.to_string());
    match sys::set_groups(&user.additional_gids) {
        Ok(()) => {}
        // setgroups is denied in an unprivileged user namespace; with no
        // supplementary groups asked for, there is nothing to lose.
        Err(Errno::EPERM) if user.additional_gids.is_empty() => {}
        Err(e) => return Err(fail(e, "cannot set supplementary groups")),
    }
    sys::set_all_gids(user.gid).map_err(|e| fail(e, &format!("cannot switch to gid {}", user.gid)))?;
    sys::set_all_uids(user.uid).map_err(|e| fail(e, &format!("cannot switch to uid {}", user.uid)))
}

/// Tell the parent setup is done, then block until the gate FIFO is opened
/// for reading (an OCI `start`), and go on to exec. The FIFO was opened as
/// `O_PATH` on the host; it is reopened for writing through
/// `/proc/self/fd`, which needs the container's `/proc`.
fn wait_at_gate(channel: &mut UnixStream, gate: &OwnedFd) {
    // A `kill` of a created container must end it, as with runc.
    sys::exit_on_termination_signals();
    let _ = channel::send(channel, &Message::Ready);
    fault::at("child:ready", Process::Container);
    let path = format!("/proc/self/fd/{}", gate.as_raw_fd());
    let opened = nix::fcntl::open(path.as_str(), OFlag::O_WRONLY | OFlag::O_CLOEXEC, Mode::empty())
        .and_then(|fd| nix::unistd::write(&fd, b"0").map(drop));
    if let Err(e) = opened {
        eprintln!("burrow: container start gate {path}: {}", e.desc());
        sys::exit_now(125);
    }
}
