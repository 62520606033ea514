//! Errors: what failed, on which path or field, and why.

use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// A named step of container setup, reported with every failure so the
/// user knows how far the container got.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Step {
    /// Creating the process and its namespaces (`clone3`).
    Clone,
    /// Writing `uid_map`, `gid_map` and `setgroups`.
    IdMaps,
    /// Waiting for the parent's go-ahead.
    Handshake,
    /// Entering the container's cgroups.
    Cgroup,
    /// Making the time namespace and writing its clock offsets.
    TimeOffsets,
    /// Making mount propagation private.
    Propagation,
    /// Mounting the new root (tmpfs or a bind of a directory).
    Root,
    /// Mounting `/proc`.
    Proc,
    /// Mounting `/sys`.
    Sys,
    /// Building `/dev`: tmpfs, device nodes, devpts, console, links.
    Dev,
    /// Applying one of the caller's mounts.
    Mount,
    /// Making one of the read-only paths read-only.
    ReadOnlyPath,
    /// Masking one of the masked paths.
    Mask,
    /// Writing a sysctl.
    Sysctl,
    /// Setting resource limits and process attributes.
    Limits,
    /// Setting the capability sets.
    Capabilities,
    /// Installing the seccomp filter.
    Seccomp,
    /// Enforcing the Landlock ruleset.
    Landlock,
    /// Making the terminal and sending it to the console socket.
    Terminal,
    /// Running a hook command.
    Hook,
    /// Waiting while the caller does its work at the pause before
    /// `pivot_root`.
    Pause,
    /// Waiting at the start gate, then reopening it.
    StartGate,
    /// `pivot_root` into the new root and detaching the old one.
    PivotRoot,
    /// Setting the hostname.
    Hostname,
    /// Switching to the requested user and groups.
    User,
    /// Changing to the working directory.
    Cwd,
    /// Replacing the process image with the payload.
    Exec,
    /// Joining the namespaces of a running container.
    Join,
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = serde_json::to_value(self)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        f.write_str(&name)
    }
}

/// A failure inside the container process during setup, sent to the parent
/// over the channel: the step, the path involved, the errno and a message.
///
/// This is the seed's FIXME ("conditions cannot be written as is") done
/// right: the report is plain data that survives the trip between processes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetupError {
    /// The step that failed.
    pub step: Step,
    /// The path (or name) the step was working on, if any.
    pub path: Option<PathBuf>,
    /// The raw errno, if the failure came from a system call.
    pub errno: Option<i32>,
    /// What was being done, in words.
    pub message: String,
}

impl SetupError {
    /// A report for a failed system call.
    pub fn sys(step: Step, path: Option<PathBuf>, errno: nix::errno::Errno, message: impl Into<String>) -> Self {
        SetupError {
            step,
            path,
            errno: Some(errno as i32),
            message: message.into(),
        }
    }

    /// The errno as a typed value, if there was one.
    pub fn errno(&self) -> Option<nix::errno::Errno> {
        self.errno.map(nix::errno::Errno::from_raw)
    }
}

impl fmt::Display for SetupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.step, self.message)?;
        if let Some(path) = &self.path {
            write!(f, " {}", path.display())?;
        }
        if let Some(errno) = self.errno() {
            write!(f, ": {}", errno.desc())?;
        }
        Ok(())
    }
}

impl std::error::Error for SetupError {}

/// Every error the library returns.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The spec asks for something inconsistent or impossible; `field` names
    /// the part of the spec at fault.
    #[error("invalid container spec: {field}: {reason}")]
    InvalidSpec {
        /// The spec field, such as `mounts[2].source` or `hostname`.
        field: String,
        /// Why it was refused.
        reason: String,
    },
    /// A system call in this (the parent) process failed.
    #[error("{what}: {}", errno.desc())]
    Sys {
        /// What was being done, including the path.
        what: String,
        /// The errno.
        errno: nix::errno::Errno,
    },
    /// An I/O error in this process, with what was being done.
    #[error("{what}: {error}")]
    Io {
        /// What was being done, including the path.
        what: String,
        /// The underlying error.
        error: std::io::Error,
    },
    /// The container process reported a failure during setup.
    #[error("container setup failed")]
    Setup(#[source] SetupError),
    /// The container process died before it could report back.
    #[error("the container process ended during setup without a report ({0})")]
    Vanished(crate::ExitStatus),
    /// The channel between parent and child carried something unexpected.
    #[error("parent/child channel: {0}")]
    Channel(String),
    /// The process to join does not exist or is not a container.
    #[error("process {pid}: {reason}")]
    NotAContainer {
        /// The pid that was given.
        pid: i32,
        /// Why it cannot be joined.
        reason: String,
    },
}

impl Error {
    /// A parent-side system call failure.
    pub(crate) fn sys(what: impl Into<String>, errno: nix::errno::Errno) -> Self {
        Error::Sys {
            what: what.into(),
            errno,
        }
    }

    /// A parent-side I/O failure.
    pub(crate) fn io(what: impl Into<String>, error: std::io::Error) -> Self {
        Error::Io {
            what: what.into(),
            error,
        }
    }

    /// A spec validation failure.
    pub(crate) fn spec(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::InvalidSpec {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

/// The library's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
