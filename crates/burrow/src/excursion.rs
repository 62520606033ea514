//! The seed's `container-excursion`: run code inside a running container.
//!
//! The target is held by a pidfd and all its namespaces are joined with one
//! `setns(pidfd, flags)`, so a recycled pid cannot redirect the join (the
//! seed's "/proc interface leads to TOCTTOU"). Namespaces already shared are
//! skipped. A helper process joins, then forks the code's process, so the
//! code really runs inside the container's pid namespace.

use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::fs::MetadataExt;
use std::os::unix::net::UnixStream;

use nix::errno::Errno;
use nix::sched::CloneFlags;
use nix::unistd::{Gid, Pid, Uid};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::channel::{self, Message};
use crate::error::{Error, Result, SetupError, Step};
use crate::namespace::{Namespace, NamespaceSet};
use crate::status::{reap, ExitStatus};
use crate::sys::{self, Forked};

/// A running container to join, held by a pidfd.
#[derive(Debug)]
pub struct Excursion {
    pid: Pid,
    pidfd: OwnedFd,
    join: NamespaceSet,
    env: Vec<(String, String)>,
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

    /// Run `argv` inside the container and return its exit status.
    pub fn run_command(&self, argv: &[String]) -> Result<ExitStatus> {
        if argv.is_empty() {
            return Err(Error::spec("payload", "the command is empty"));
        }
        self.excursion(|_| Err(crate::spawn::exec(argv, &self.env)))
            .map(|(status, _)| status)
    }

    /// Run `f` inside the container and return its exit status (its return
    /// value is the exit code), like the seed's `container-excursion`.
    pub fn run(&self, f: impl FnOnce() -> i32) -> Result<ExitStatus> {
        self.excursion(|_| Ok(f())).map(|(status, _)| status)
    }

    /// Run `f` inside the container and return the value it returns, like
    /// the seed's `container-excursion*`. The value crosses back as JSON.
    pub fn call<T: Serialize + DeserializeOwned>(&self, f: impl FnOnce() -> T) -> Result<T> {
        let (status, value) = self.excursion(|channel| {
            let value = serde_json::to_value(f()).map_err(|e| SetupError {
                step: Step::Join,
                path: None,
                errno: None,
                message: format!("cannot encode the excursion's value: {e}"),
            })?;
            let _ = channel::send(channel, &Message::Value(value));
            Ok(0)
        })?;
        match value {
            Some(v) => {
                serde_json::from_value(v).map_err(|e| Error::Channel(format!("undecodable excursion value: {e}")))
            }
            None => Err(Error::Vanished(status)),
        }
    }

    /// Join, fork, run `body` in the grandchild; collect its status and any
    /// value it sent.
    fn excursion(
        &self,
        body: impl FnOnce(&mut UnixStream) -> Result<i32, SetupError>,
    ) -> Result<(ExitStatus, Option<serde_json::Value>)> {
        let (mut parent_end, mut child_end) =
            UnixStream::pair().map_err(|e| Error::io("creating the excursion socketpair", e))?;
        let helper = match sys::clone3_fork(0).map_err(|e| Error::sys("forking the excursion helper", e))? {
            Forked::Child => {
                drop(parent_end);
                let report = match self.join_and_run(&mut child_end, body) {
                    Ok(status) => Message::Exited(status),
                    Err(report) => Message::Failed(report),
                };
                let _ = channel::send(&mut child_end, &report);
                sys::exit_now(0)
            }
            Forked::Parent { pid, .. } => pid,
        };
        drop(child_end);
        let mut value = None;
        let mut outcome = None;
        while let Some(message) = channel::recv(&mut parent_end).transpose() {
            match message {
                Ok(Message::Value(v)) => value = Some(v),
                // A report of failure outranks the exit status that follows it.
                Ok(Message::Exited(status)) => outcome = outcome.or(Some(Ok(status))),
                Ok(Message::Failed(report)) => outcome = Some(Err(Error::Setup(report))),
                Ok(other) => outcome = Some(Err(Error::Channel(format!("unexpected message {other:?}")))),
                Err(e) => outcome = Some(Err(e)),
            }
        }
        let helper_status = reap(helper)?;
        let status = outcome.unwrap_or(Err(Error::Vanished(helper_status)))?;
        Ok((status, value))
    }

    /// In the helper: join every namespace at once, then fork the process
    /// that runs `body` (inside the pid namespace) and wait for it.
    fn join_and_run(
        &self,
        channel: &mut UnixStream,
        body: impl FnOnce(&mut UnixStream) -> Result<i32, SetupError>,
    ) -> Result<ExitStatus, SetupError> {
        let flags: CloneFlags = self.join.clone_flags();
        nix::sched::setns(&self.pidfd, flags).map_err(|e| {
            SetupError::sys(
                Step::Join,
                Some(format!("/proc/{}", self.pid).into()),
                e,
                format!("cannot join namespaces [{}] of", self.join),
            )
        })?;
        if self.join.contains(Namespace::User) {
            // Like nsenter: become root of the joined user namespace, when it
            // maps root (a rootless container joined by host root may not).
            let _ = nix::unistd::setresgid(Gid::from_raw(0), Gid::from_raw(0), Gid::from_raw(0));
            let _ = nix::unistd::setgroups(&[]);
            let _ = nix::unistd::setresuid(Uid::from_raw(0), Uid::from_raw(0), Uid::from_raw(0));
        }
        match sys::clone3_fork(0)
            .map_err(|e| SetupError::sys(Step::Join, None, e, "cannot fork inside the container"))?
        {
            Forked::Child => {
                sys::reset_signals();
                sys::clear_environment();
                for (key, value) in &self.env {
                    std::env::set_var(key, value);
                }
                let result = nix::unistd::chdir("/")
                    .map_err(|e| SetupError::sys(Step::Cwd, Some("/".into()), e, "cannot change directory to"))
                    .and_then(|()| body(channel));
                match result {
                    Ok(code) => sys::exit_now(code),
                    Err(report) => {
                        let _ = channel::send(channel, &Message::Failed(report));
                        sys::exit_now(127)
                    }
                }
            }
            Forked::Parent { pid, .. } => reap(pid).map_err(|e| SetupError {
                step: Step::Join,
                path: None,
                errno: None,
                message: e.to_string(),
            }),
        }
    }
}
