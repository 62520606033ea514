//! The seed's `container-excursion`: run code inside a running container.
//!
//! The target is held by a pidfd and all its namespaces are joined with one
//! `setns(pidfd, flags)`, so a recycled pid cannot redirect the join (the
//! seed's "/proc interface leads to TOCTTOU"). Namespaces already shared are
//! skipped. The code's process must be born in the container's pid
//! namespace: a foreground excursion that needs no user namespace forks it
//! straight into it (its parent thread's `pid_for_children` points there
//! for the moment of the fork), and it joins the rest itself. Otherwise (a
//! user namespace to join first, or a detached command, which must not
//! stay the caller's child) a helper process joins, then forks the code's
//! process.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::fs::MetadataExt;
use std::os::unix::net::UnixStream;
use std::path::PathBuf;

use nix::errno::Errno;
use nix::sched::CloneFlags;
use nix::unistd::Pid;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::capabilities::{self, CapSets, Capabilities};
use crate::cgroup_entry::CgroupEntry;
use crate::channel::{self, InFlight, Message};
use crate::error::{Error, Result, SetupError, Step};
use crate::exec::{CStrings, Command};
use crate::namespace::{Namespace, NamespaceSet};
use crate::spec::User;
use crate::status::{reap, ExitStatus};
use crate::sys::{self, Forked};
use crate::terminal::{self, Terminal};

/// A running container to join, held by a pidfd.
#[derive(Debug)]
pub struct Excursion {
    pid: Pid,
    pidfd: OwnedFd,
    join: NamespaceSet,
    env: Vec<(String, String)>,
    cwd: PathBuf,
    user: Option<User>,
    capabilities: Option<Capabilities>,
    no_new_privileges: bool,
    cgroups: Vec<PathBuf>,
    preserve_fds: u32,
    terminal: Option<Terminal>,
    rlimits: Vec<crate::Rlimit>,
    forward_signals: bool,
    new_session: bool,
    seccomp: Option<crate::seccomp::Seccomp>,
}

impl Excursion {
    /// Prepare to join the container whose process is `pid`.
    ///
    /// Fails when there is no such process, or when it shares every
    /// namespace with the caller (it is not a container).
    pub fn new(pid: i32) -> Result<Self> {
        let not = |reason: String| Error::NotAContainer { pid, reason };
        if pid <= 0 {
            return Err(not("not a valid pid".into()));
        }
        let pid = Pid::from_raw(pid);
        let pidfd = sys::pidfd_open(pid).map_err(|e| match e {
            Errno::ESRCH => not("no such process".into()),
            e => not(format!("cannot open a pidfd: {}", e.desc())),
        })?;
        let mut join = NamespaceSet::empty();
        for ns in Namespace::ALL {
            let theirs = std::fs::metadata(format!("/proc/{pid}/ns/{ns}"));
            let ours = std::fs::metadata(format!("/proc/self/ns/{ns}"));
            match (theirs, ours) {
                (Ok(t), Ok(o)) if (t.dev(), t.ino()) != (o.dev(), o.ino()) => join.insert(ns),
                (Err(e), Ok(_)) if e.kind() == std::io::ErrorKind::PermissionDenied => {
                    return Err(not(format!("cannot inspect its {ns} namespace: permission denied")))
                }
                _ => {}
            }
        }
        // The pidfd pins the process: if it is still alive now, the /proc
        // entries we just read were its own, not a recycled pid's.
        sys::pidfd_send_signal(pidfd.as_fd(), 0).map_err(|_| not("no such process".into()))?;
        if join.is_empty() {
            return Err(not(
                "it shares every namespace with this process; it is not a container".into(),
            ));
        }
        Ok(Excursion {
            pid,
            pidfd,
            join,
            env: Vec::new(),
            cwd: PathBuf::from("/"),
            user: None,
            capabilities: None,
            no_new_privileges: false,
            seccomp: None,
            cgroups: Vec::new(),
            preserve_fds: 0,
            terminal: None,
            rlimits: Vec::new(),
            forward_signals: false,
            new_session: false,
        })
    }

    /// The namespaces that will be joined (those not already shared).
    pub fn namespaces(&self) -> NamespaceSet {
        self.join
    }

    /// Set a variable in the otherwise purified environment.
    pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    /// Working directory inside the container (default `/`).
    pub fn cwd(mut self, dir: impl Into<PathBuf>) -> Self {
        self.cwd = dir.into();
        self
    }

    /// Run as this user and groups inside the container.
    pub fn user(mut self, user: User) -> Self {
        self.user = Some(user);
        self
    }

    /// Give the process exactly these capability sets.
    pub fn capabilities(mut self, caps: Capabilities) -> Self {
        self.capabilities = Some(caps);
        self
    }

    /// Set `no_new_privs` on the process.
    pub fn no_new_privileges(mut self, yes: bool) -> Self {
        self.no_new_privileges = yes;
        self
    }

    /// Filter the command's syscalls with `profile` (a container's own, as
    /// runc does for exec). A profile with user notification is refused:
    /// its listener would have no way to its agent.
    pub fn seccomp(mut self, profile: crate::seccomp::Seccomp) -> Self {
        self.seccomp = Some(profile);
        self
    }

    /// Join this cgroup directory (on the host) too, before anything else.
    pub fn cgroup(mut self, dir: impl Into<PathBuf>) -> Self {
        self.cgroups.push(dir.into());
        self
    }

    /// Give a command a terminal whose master goes to a console socket.
    pub fn terminal(mut self, terminal: Terminal) -> Self {
        self.terminal = Some(terminal);
        self
    }

    /// While a foreground command runs, pass SIGINT, SIGTERM, SIGHUP and
    /// SIGQUIT sent to this process on to it (blocked in the calling thread
    /// meanwhile).
    pub fn forward_signals(mut self, yes: bool) -> Self {
        self.forward_signals = yes;
        self
    }

    /// Start a command in a new session (`setsid`) when it has no terminal
    /// of its own: it cannot then reach the caller's terminal, such as by
    /// typing into it with TIOCSTI (as `burrow run` does, and for the same
    /// reason: CVE-2017-5226). Signals from that terminal reach only this
    /// process then, so pass them on with [`Self::forward_signals`].
    pub fn new_session(mut self, yes: bool) -> Self {
        self.new_session = yes;
        self
    }

    /// Set these resource limits on a command.
    pub fn rlimits(mut self, rlimits: Vec<crate::Rlimit>) -> Self {
        self.rlimits = rlimits;
        self
    }

    /// Pass fds 3 to 3+`n`-1 on to a command.
    pub fn preserve_fds(mut self, n: u32) -> Self {
        self.preserve_fds = n;
        self
    }

    /// Run `argv` inside the container and return its exit status.
    pub fn run_command(&self, argv: &[String]) -> Result<ExitStatus> {
        self.run_command_with(argv, |_| {})
    }

    /// [`Self::run_command`], calling `spawned` with the command's pid on
    /// the host as soon as it has been forked (for a pid file).
    pub fn run_command_with(&self, argv: &[String], spawned: impl FnMut(Pid)) -> Result<ExitStatus> {
        self.command(argv, false, spawned).map(|(status, _)| status)
    }

    /// Start `argv` inside the container and return its pid on the host
    /// once it has been exec'd, without waiting for it (it is left to
    /// whoever reaps this process's orphans, as `runc exec --detach` does).
    pub fn spawn_command(&self, argv: &[String]) -> Result<Pid> {
        let (_, pid) = self.command(argv, true, |_| {})?;
        pid.ok_or_else(|| Error::Channel("the excursion did not report its pid".into()))
    }

    fn command(&self, argv: &[String], detach: bool, spawned: impl FnMut(Pid)) -> Result<(ExitStatus, Option<Pid>)> {
        if argv.is_empty() {
            return Err(Error::spec("payload", "the command is empty"));
        }
        // Prepared before the fork, like spawn's command.
        let command = Command::new(argv, &self.env);
        let env = CStrings::environment(&self.env);
        let caps = self.capabilities.as_ref().map(|c| c.parse()).transpose()?;
        let filter = match &self.seccomp {
            Some(profile) if profile.notifies() => {
                return Err(Error::spec(
                    "seccomp",
                    "a command joining a container cannot have user notification rules",
                ))
            }
            Some(profile) => Some((profile.compile()?, profile.install_flags())),
            None => None,
        };
        // The console socket is a host path: connect before joining.
        let mut console = self
            .terminal
            .as_ref()
            .map(terminal::connect)
            .transpose()
            .map_err(Error::Setup)?;
        let (status, _, pid) = self.excursion(detach, spawned, |channel| {
            if let (Some(t), Some(socket)) = (&self.terminal, console.take()) {
                terminal::attach(t, &socket, self.user.as_ref().map(|u| u.uid))?;
            }
            if self.new_session && self.terminal.is_none() {
                nix::unistd::setsid()
                    .map_err(|e| SetupError::sys(Step::Terminal, None, e, "cannot start a new session"))?;
            }
            // Before the seccomp filter, which might refuse close_range.
            sys::cloexec_from(3 + self.preserve_fds)
                .map_err(|e| SetupError::sys(Step::Exec, None, e, "cannot mark inherited fds close-on-exec"))?;
            for fd in 3..3 + self.preserve_fds as i32 {
                sys::clear_cloexec(fd);
            }
            self.process_settings(caps.as_ref(), filter.as_ref())?;
            let _ = channel::send(channel, &Message::Exec);
            Err(command.exec(&env))
        })?;
        Ok((status, pid))
    }

    /// User, capabilities and `no_new_privs` of a command, in the order
    /// spawn uses.
    fn process_settings(
        &self,
        caps: Option<&CapSets>,
        filter: Option<&(Vec<crate::seccomp::SockFilter>, u32)>,
    ) -> Result<(), SetupError> {
        let install = || match filter {
            Some((code, flags)) => sys::install_seccomp(*flags, code)
                .map(drop)
                .map_err(|e| SetupError::sys(Step::Seccomp, None, e, "cannot install the seccomp filter")),
            None => Ok(()),
        };
        for r in &self.rlimits {
            sys::set_rlimit(Pid::from_raw(0), r.resource, r.soft, r.hard).map_err(|e| {
                SetupError::sys(
                    Step::Limits,
                    None,
                    e,
                    format!("cannot set resource limit {}", r.resource),
                )
            })?;
        }
        if !self.no_new_privileges {
            // Installing needs CAP_SYS_ADMIN without no_new_privs.
            install()?;
        }
        capabilities::switch_user_with(self.user.as_ref(), caps)?;
        if self.no_new_privileges {
            sys::set_no_new_privs().map_err(|e| SetupError::sys(Step::Limits, None, e, "cannot set no_new_privs"))?;
            install()?;
        }
        Ok(())
    }

    /// Run `f` inside the container and return its exit status (its return
    /// value is the exit code), like the seed's `container-excursion`.
    pub fn run(&self, f: impl FnOnce() -> i32) -> Result<ExitStatus> {
        self.excursion(false, |_| {}, |_| Ok(f())).map(|(status, _, _)| status)
    }

    /// Run `f` inside the container and return the value it returns, like
    /// the seed's `container-excursion*`. The value crosses back as JSON.
    pub fn call<T: Serialize + DeserializeOwned>(&self, f: impl FnOnce() -> T) -> Result<T> {
        let (status, value, _) = self.excursion(
            false,
            |_| {},
            |channel| {
                let value = serde_json::to_value(f()).map_err(|e| SetupError {
                    step: Step::Join,
                    path: None,
                    errno: None,
                    message: format!("cannot encode the excursion's value: {e}"),
                })?;
                let _ = channel::send(channel, &Message::Value(value));
                Ok(0)
            },
        )?;
        match value {
            Some(v) => {
                serde_json::from_value(v).map_err(|e| Error::Channel(format!("undecodable excursion value: {e}")))
            }
            None => Err(Error::Vanished(status)),
        }
    }

    /// Join, fork, run `body` in the grandchild; collect its status, any
    /// value it sent, and its pid. With `detach` the helper does not wait
    /// for it.
    fn excursion(
        &self,
        detach: bool,
        mut spawned: impl FnMut(Pid),
        body: impl FnOnce(&mut UnixStream) -> Result<i32, SetupError>,
    ) -> Result<(ExitStatus, Option<serde_json::Value>, Option<Pid>)> {
        // Forked straight into the container: one process fewer to fork and
        // reap. Joining a pid namespace owned by another user namespace
        // needs that one joined first, which only a helper can do.
        let direct = !detach && !self.join.contains(Namespace::User);
        let spawning = crate::spawn::spawn_lock();
        let (mut parent_end, mut child_end) =
            UnixStream::pair().map_err(|e| Error::io("creating the excursion socketpair", e))?;
        let own = [parent_end.as_raw_fd(), child_end.as_raw_fd()];
        let env = CStrings::environment(&self.env);
        let mut in_flight = InFlight::register(&own);
        // The forked process enters the container's cgroups (a helper's fork
        // inherits them).
        let mut cgroups = CgroupEntry::plan(&self.cgroups, true)?;
        let direct_fork = match direct {
            true => Some(DirectFork::prepare(&self.pidfd, self.join.contains(Namespace::Pid))?),
            false => None,
        };
        let forked = cgroups.clone3(0);
        let forked = match direct_fork {
            Some(state) => state.finish(forked),
            None => forked,
        };
        let child = match forked.map_err(|e| Error::sys("forking the excursion's process", e))? {
            Forked::Child if direct => {
                channel::close_in_flight_except(&own);
                drop(parent_end);
                let mut join = self.join;
                join.remove(Namespace::Pid);
                let joined = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.join(&cgroups, join)));
                match joined {
                    Ok(Ok(())) => self.enter_and_run(&mut child_end, &env, body),
                    Ok(Err(report)) => {
                        let _ = channel::send(&mut child_end, &Message::Failed(report));
                        sys::exit_now(127)
                    }
                    Err(_) => sys::exit_now(125),
                }
            }
            Forked::Child => {
                channel::close_in_flight_except(&own);
                drop(parent_end);
                // A panic must end this copy, never unwind into the caller.
                let joined = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    self.join_and_run(&mut child_end, &cgroups, &env, detach, body)
                }));
                let report = match joined {
                    Ok(Ok(status)) => Message::Exited(status),
                    Ok(Err(report)) => Message::Failed(report),
                    Err(_) => sys::exit_now(125),
                };
                let _ = channel::send(&mut child_end, &report);
                sys::exit_now(0)
            }
            Forked::Parent { pid, pidfd } => (pid, pidfd),
        };
        let (child, child_pidfd) = child;
        in_flight.release(child_end.as_raw_fd());
        drop(child_end);
        // The cgroup fds go before the lock: no other clone may copy them.
        drop(cgroups);
        drop(spawning);
        let mut value = None;
        let mut spawned_pid = None;
        let mut outcome = None;
        // While a foreground command runs, pass SIGINT, SIGTERM, SIGHUP and
        // SIGQUIT on to it, as `run` does for a container.
        let forwarding = if self.forward_signals && !detach {
            Forwarding::start()
        } else {
            None
        };
        // (Its pid is told once signals for it are passed on.)
        if direct {
            spawned(child);
            spawned_pid = Some(child);
        }
        // Where passed-on signals go: the forked process, or what the
        // helper forked (its pidfd opened once, when there is forwarding).
        let mut helpers_child = None;
        loop {
            let target = match direct {
                true => Some(child_pidfd.as_fd()),
                false => helpers_child.as_ref().map(|fd: &OwnedFd| fd.as_fd()),
            };
            let Some(message) = next_message(&mut parent_end, forwarding.as_ref(), target).transpose() else {
                break;
            };
            match message {
                Ok(Message::Value(v)) => value = Some(v),
                Ok(Message::Spawned(pid)) => {
                    spawned(Pid::from_raw(pid));
                    spawned_pid = Some(Pid::from_raw(pid));
                    if forwarding.is_some() {
                        helpers_child = sys::pidfd_open(Pid::from_raw(pid)).ok();
                    }
                }
                Ok(Message::Exec) => {}
                // A report of failure outranks the exit status that follows it.
                Ok(Message::Exited(status)) => outcome = outcome.or(Some(Ok(status))),
                Ok(Message::Failed(report)) => outcome = Some(Err(Error::Setup(report))),
                Ok(other) => outcome = Some(Err(Error::Channel(format!("unexpected message {other:?}")))),
                Err(e) => outcome = Some(Err(e)),
            }
        }
        if let Some(forwarding) = forwarding.as_ref().filter(|_| direct) {
            // The channel closed at its exec: pass signals on until it ends.
            let _ = forwarding.wait_readable(child_pidfd.as_fd(), Some(child_pidfd.as_fd()));
        }
        drop(forwarding);
        in_flight.release(parent_end.as_raw_fd());
        drop(parent_end);
        let child_status = reap(child)?;
        let status = match outcome {
            Some(outcome) => outcome?,
            // Forked straight in: its own status is the outcome.
            None if direct => child_status,
            None => return Err(Error::Vanished(child_status)),
        };
        Ok((status, value, spawned_pid))
    }

    /// In the helper: join every namespace at once, then fork the process
    /// that runs `body` (inside the pid namespace) and wait for it.
    fn join_and_run(
        &self,
        channel: &mut UnixStream,
        cgroups: &CgroupEntry,
        env: &CStrings,
        detach: bool,
        body: impl FnOnce(&mut UnixStream) -> Result<i32, SetupError>,
    ) -> Result<ExitStatus, SetupError> {
        self.join(cgroups, self.join)?;
        match sys::clone3_fork(0)
            .map_err(|e| SetupError::sys(Step::Join, None, e, "cannot fork inside the container"))?
        {
            Forked::Child => self.enter_and_run(channel, env, body),
            Forked::Parent { pid, .. } if detach => {
                let _ = channel::send(channel, &Message::Spawned(pid.as_raw()));
                Ok(ExitStatus::Exited(0))
            }
            Forked::Parent { pid, .. } => {
                let _ = channel::send(channel, &Message::Spawned(pid.as_raw()));
                reap(pid).map_err(|e| SetupError {
                    step: Step::Join,
                    path: None,
                    errno: None,
                    message: e.to_string(),
                })
            }
        }
    }

    /// Enter the container's cgroups, then its namespaces `join` (all at
    /// once, through the pidfd), as a process that nothing in the
    /// container can ptrace.
    fn join(&self, cgroups: &CgroupEntry, join: NamespaceSet) -> Result<(), SetupError> {
        // Host cgroup paths: join them before the mount namespace changes.
        cgroups.move_itself()?;
        for dir in cgroups.written() {
            let procs = dir.join("cgroup.procs");
            std::fs::write(&procs, "0").map_err(|e| {
                let errno = Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO));
                SetupError::sys(Step::Join, Some(procs.clone()), errno, "cannot join the cgroup")
            })?;
        }
        // Nothing in the container may ptrace this process or reach its fds
        // and executable through /proc while it runs burrow's code there.
        sys::set_non_dumpable().map_err(|e| SetupError::sys(Step::Join, None, e, "cannot make burrow non-dumpable"))?;
        // Leave the host's supplementary groups behind (a user namespace
        // that denies setgroups would otherwise keep them for good).
        match sys::set_groups(&[]) {
            Ok(()) | Err(Errno::EPERM) => {}
            Err(e) => return Err(SetupError::sys(Step::Join, None, e, "cannot drop supplementary groups")),
        }
        let flags: CloneFlags = join.clone_flags();
        nix::sched::setns(&self.pidfd, flags).map_err(|e| {
            SetupError::sys(
                Step::Join,
                Some(format!("/proc/{}", self.pid).into()),
                e,
                format!("cannot join namespaces [{join}] of"),
            )
        })?;
        if join.contains(Namespace::User) {
            become_root_if_mapped()?;
        }
        Ok(())
    }

    /// In the code's process, inside the container: environment and working
    /// directory, then `body`; exit with its code (never returns).
    fn enter_and_run(
        &self,
        channel: &mut UnixStream,
        env: &CStrings,
        body: impl FnOnce(&mut UnixStream) -> Result<i32, SetupError>,
    ) -> ! {
        sys::reset_signals();
        sys::set_environ(env.as_ptr());
        let result = nix::unistd::chdir(&self.cwd)
            .map_err(|e| SetupError::sys(Step::Cwd, Some(self.cwd.clone()), e, "cannot change directory to"))
            .and_then(|()| crate::spawn::cwd_inside_root(&self.cwd));
        match result.and_then(|()| crate::spawn::run_closure_result(|| body(channel))) {
            Ok(code) => sys::exit_now(code),
            Err(report) => {
                let _ = channel::send(channel, &Message::Failed(report));
                sys::exit_now(127)
            }
        }
    }
}

/// The caller's state while it forks a process straight into a container:
/// non-dumpable (the process must be, from its first instruction: nothing
/// in the container may ptrace it or open its /proc files while it runs
/// burrow's code) and, to enter a pid namespace, with this thread's
/// `pid_for_children` there.
struct DirectFork {
    dumpable: i32,
    pid_ns: Option<ChildrenPidNs>,
}

impl DirectFork {
    fn prepare(pidfd: &OwnedFd, pid_ns: bool) -> Result<Self> {
        let dumpable = sys::dumpable().map_err(|e| Error::sys("reading burrow's dumpable setting", e))?;
        sys::set_non_dumpable().map_err(|e| Error::sys("making burrow non-dumpable", e))?;
        let pid_ns = match pid_ns {
            true => ChildrenPidNs::enter(pidfd).map(Some),
            false => Ok(None),
        }
        .inspect_err(|_| {
            let _ = sys::set_dumpable(dumpable);
        })?;
        Ok(DirectFork { dumpable, pid_ns })
    }

    /// After the fork: the caller gets its own state back (or, if it
    /// cannot, kills the child and fails); the child, in the container,
    /// stays non-dumpable and keeps no handle on the host's pid namespace.
    fn finish(self, forked: nix::Result<Forked>) -> nix::Result<Forked> {
        if matches!(forked, Ok(Forked::Child)) {
            return forked;
        }
        let _ = sys::set_dumpable(self.dumpable);
        let Some(pid_ns) = self.pid_ns else {
            return forked;
        };
        match (pid_ns.leave(), forked) {
            (Ok(()), forked) => forked,
            (Err(e), forked) => {
                // (Never seen: going back to one's own namespace.)
                if let Ok(Forked::Parent { pid, .. }) = forked {
                    let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
                    let _ = reap(pid);
                }
                Err(e)
            }
        }
    }
}

/// The calling thread's children born in a container's pid namespace (a
/// `setns` that changes only `pid_for_children`), until [`Self::leave`].
struct ChildrenPidNs(OwnedFd);

impl ChildrenPidNs {
    /// Point this thread's `pid_for_children` at the pid namespace of the
    /// process `pidfd` holds, remembering its own.
    fn enter(pidfd: &OwnedFd) -> Result<Self> {
        let own = nix::fcntl::open(
            "/proc/thread-self/ns/pid_for_children",
            nix::fcntl::OFlag::O_RDONLY | nix::fcntl::OFlag::O_CLOEXEC,
            nix::sys::stat::Mode::empty(),
        )
        .map_err(|e| Error::sys("opening /proc/thread-self/ns/pid_for_children", e))?;
        nix::sched::setns(pidfd, CloneFlags::CLONE_NEWPID)
            .map_err(|e| Error::sys("joining the container's pid namespace for a child", e))?;
        Ok(ChildrenPidNs(own))
    }

    /// Point `pid_for_children` back at this thread's own pid namespace.
    fn leave(self) -> nix::Result<()> {
        nix::sched::setns(&self.0, CloneFlags::CLONE_NEWPID)
    }
}

/// Like nsenter: become root of the joined user namespace. When root is not
/// mapped there, stay who we are if we are mapped; otherwise refuse, since
/// the overflow id could do nothing useful.
fn become_root_if_mapped() -> Result<(), SetupError> {
    match sys::set_all_gids(0).and_then(|()| sys::set_all_uids(0)) {
        Ok(()) => Ok(()),
        Err(_) if !is_overflow_id() => Ok(()),
        Err(e) => Err(SetupError::sys(
            Step::Join,
            None,
            e,
            "neither root nor your own uid is mapped in the container's user namespace",
        )),
    }
}

/// Whether this process's uid has no mapping in its user namespace.
fn is_overflow_id() -> bool {
    let overflow = std::fs::read_to_string("/proc/sys/kernel/overflowuid")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(65534);
    nix::unistd::geteuid().as_raw() == overflow
}

/// Signals blocked in this thread and read from a signalfd while an
/// excursion's command runs in the foreground.
struct Forwarding {
    fd: nix::sys::signalfd::SignalFd,
    old: nix::sys::signal::SigSet,
}

impl Forwarding {
    fn start() -> Option<Self> {
        use nix::sys::signal::{SigSet, SigmaskHow};
        let mut mask = SigSet::empty();
        crate::FORWARDED_SIGNALS.iter().for_each(|s| mask.add(*s));
        let old = mask.thread_swap_mask(SigmaskHow::SIG_BLOCK).ok()?;
        let flags = nix::sys::signalfd::SfdFlags::SFD_CLOEXEC | nix::sys::signalfd::SfdFlags::SFD_NONBLOCK;
        match nix::sys::signalfd::SignalFd::with_flags(&mask, flags) {
            Ok(fd) => Some(Forwarding { fd, old }),
            Err(_) => {
                let _ = old.thread_set_mask();
                None
            }
        }
    }
}

impl Forwarding {
    /// Wait until `ready` is readable, passing the signals caught meanwhile
    /// on to the process the pidfd `to` holds, if any.
    fn wait_readable(&self, ready: BorrowedFd<'_>, to: Option<BorrowedFd<'_>>) -> nix::Result<()> {
        use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
        loop {
            let mut fds = [
                PollFd::new(ready, PollFlags::POLLIN),
                PollFd::new(self.fd.as_fd(), PollFlags::POLLIN),
            ];
            match poll(&mut fds, PollTimeout::NONE) {
                Ok(_) | Err(Errno::EINTR) => {}
                Err(e) => return Err(e),
            }
            while let Ok(Some(info)) = self.fd.read_signal() {
                if let Some(to) = to {
                    let _ = sys::pidfd_send_signal(to, info.ssi_signo as i32);
                }
            }
            if fds[0].any().unwrap_or(false) {
                return Ok(());
            }
        }
    }
}

impl Drop for Forwarding {
    fn drop(&mut self) {
        // Signals that arrived meanwhile were passed on; drop them here.
        while let Ok(Some(_)) = self.fd.read_signal() {}
        let _ = self.old.thread_set_mask();
    }
}

/// The next message from the helper; with `forwarding`, signals that
/// arrive while waiting go to the command (`target`, once known).
fn next_message(
    channel: &mut UnixStream,
    forwarding: Option<&Forwarding>,
    target: Option<BorrowedFd<'_>>,
) -> Result<Option<Message>> {
    if let Some(forwarding) = forwarding {
        forwarding
            .wait_readable(channel.as_fd(), target)
            .map_err(|e| Error::sys("waiting for the excursion", e))?;
    }
    channel::recv(channel)
}
