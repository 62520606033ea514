//! Fault points: named moments of a container's setup where a test build
//! ends its own process at once, as a `kill -9` landing there would.
//!
//! Built only with the `fault-points` feature (test builds of the OCI
//! front use it to check that every stage of `create` can be killed and
//! cleaned up). `BURROW_FAULT_KILL=NAME` names the point; the process that
//! reaches it ends without running any more of its own code: the runtime
//! with `SIGKILL`, the container process with `_exit(137)` (the init of a
//! pid namespace cannot `SIGKILL` itself). Without the feature, [`point`]
//! is an empty inline function.
//!
//! The points of `create`, in order:
//!
//! | point | process | after |
//! |---|---|---|
//! | `create:reserved` | runtime | the id is taken in the state directory |
//! | `create:cgroups` | runtime | the cgroups are made and recorded |
//! | `spawn:cloned` | runtime | the container process exists |
//! | `child:cloned` | container | its first step (signals reset) |
//! | `spawn:id-maps` | runtime | the id maps are written |
//! | `child:go` | container | the go-ahead, before any mount |
//! | `child:root` | container | its root is built and entered |
//! | `child:ready` | container | it said setup is done, at the start gate |
//! | `spawn:done` | runtime | the container said setup is done |
//! | `create:recorded` | runtime | the state holds the pid |
//! | `create:pid-file` | runtime | the pid file is written |

/// Who ends at a fault point.
#[derive(Clone, Copy)]
pub(crate) enum Process {
    /// The runtime (burrow itself): `SIGKILL`.
    Runtime,
    /// The container process: `_exit(137)`.
    Container,
}

/// The point named by `BURROW_FAULT_KILL`, read once (before the clone,
/// so the container process only compares strings).
#[cfg(feature = "fault-points")]
fn armed() -> Option<&'static str> {
    static ARMED: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    ARMED.get_or_init(|| std::env::var("BURROW_FAULT_KILL").ok()).as_deref()
}

/// Read the armed point now, so that a container process cloned later
/// finds it without reading the environment.
#[cfg(feature = "fault-points")]
pub(crate) fn arm() {
    let _ = armed();
}

/// See [`arm`] (a no-op without the `fault-points` feature).
#[cfg(not(feature = "fault-points"))]
#[inline(always)]
pub(crate) fn arm() {}

/// End `process` here if the point `name` is armed.
#[cfg(feature = "fault-points")]
pub(crate) fn at(name: &str, process: Process) {
    if armed() == Some(name) {
        match process {
            // SAFETY: kill(2) on our own pid with integers only.
            Process::Runtime => unsafe {
                libc::kill(libc::getpid(), libc::SIGKILL);
            },
            Process::Container => crate::sys::exit_now(137),
        }
    }
}

/// See [`at`] (a no-op without the `fault-points` feature).
#[cfg(not(feature = "fault-points"))]
#[inline(always)]
pub(crate) fn at(_name: &str, _process: Process) {}

/// A fault point of the runtime outside the core (the OCI front's
/// `create`): see the [module](self) for the names.
pub fn point(name: &str) {
    at(name, Process::Runtime);
}
