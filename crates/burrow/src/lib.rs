//! # burrow: Linux containers as a library
//!
//! burrow runs a program, or a Rust closure, in new Linux namespaces with an
//! ephemeral root, the way GNU Guix's `(gnu build linux-container)` does, and
//! lets you later run code inside a running container and get a value back.
//!
//! The flow is always the same: describe the container as a plain
//! [`ContainerSpec`] (with [`ContainerSpec::builder`]), then [`spawn`] it (or
//! [`run`] it to completion). The container process is created with one
//! `clone3` carrying every namespace flag; it waits for its uid/gid maps,
//! builds its root (tmpfs, `/proc`, `/sys`, `/dev`, your mounts), pivots into
//! it and runs the payload. If any step fails you get an
//! [`Error::Setup`] naming the step, the path and the errno.
//!
//! ```
//! use burrow::{ContainerSpec, ExitStatus};
//!
//! # fn main() -> Result<(), burrow::Error> {
//! let spec = ContainerSpec::builder()
//!     .bind_ro("/usr", "/usr")
//!     .symlink("usr/bin", "/bin")
//!     .symlink("usr/lib", "/lib")
//!     .symlink("usr/lib64", "/lib64")
//!     .hostname("sandbox")
//!     .env("PATH", "/usr/bin:/bin")
//!     .command(["sh", "-c", "echo $$ $(hostname); test $$ = 1 && test $(hostname) = sandbox"])
//!     .build()?;
//! let status = burrow::run(&spec)?; // prints "1 sandbox"
//! assert_eq!(status, ExitStatus::Exited(0));
//! # Ok(())
//! # }
//! ```
//!
//! A closure works the same way (it runs in the container process itself,
//! after the root is built), and an [`Excursion`] runs code inside a running
//! container and can return any serde value:
//!
//! ```
//! # fn main() -> Result<(), burrow::Error> {
//! use burrow::{ContainerSpec, Excursion};
//!
//! let spec = ContainerSpec::builder()
//!     .hostname("box")
//!     .closure(|| { std::thread::sleep(std::time::Duration::from_secs(30)); 0 })
//!     .build()?;
//! let mut container = burrow::spawn(&spec)?;
//! let host = Excursion::new(container.pid().as_raw())?
//!     .call(|| nix::unistd::gethostname().unwrap().into_string().unwrap())?;
//! assert_eq!(host, "box");
//! container.signal(nix::sys::signal::Signal::SIGKILL)?;
//! container.wait()?;
//! # Ok(())
//! # }
//! ```
//!
//! ## Threads
//!
//! The container process is a copy of the caller made by `clone3`, like
//! `fork`: only the calling thread is copied, and no `atfork` handler runs.
//! burrow prepares the command line, environment and `PATH` candidates
//! before the clone, changes ids with raw system calls (glibc's wrappers
//! would wait for threads that exist only in the parent), and has a cloned
//! child close the channels of other threads' spawns still in setup. The
//! remaining rule for a multi-threaded caller: the setup steps still
//! allocate, so another thread must not be stuck holding the allocator's
//! lock forever, and a closure payload should not depend on locks that
//! other threads of the caller may hold (such as a panic in another thread
//! at the very moment of the clone).

#![warn(missing_docs)]

mod capabilities;
mod cgroup_entry;
pub mod cgroupfs;
mod channel;
mod error;
mod excursion;
mod exec;
pub mod fault;
mod hooks;
mod idmap;
mod joined;
mod landlock;
mod namespace;
mod pidfd;
mod probe;
mod reexec;
mod rootfs;
mod run;
pub mod seccomp;
mod spawn;
mod spec;
mod status;
mod sys;
mod terminal;

pub use capabilities::{Capabilities, DEFAULT_CAPABILITIES};
pub use error::{Error, Result, SetupError, Step};
pub use excursion::Excursion;
pub use exec::DEFAULT_PATH;
pub use hooks::HookCommand;
pub use idmap::{find_helper, IdMap};
pub use landlock::Landlock;
pub use namespace::{Namespace, NamespaceSet};
pub use pidfd::{open_pidfd, signal_pidfd};
pub use probe::{
    cgroup_layout, is_host_root, probe, setgroups_supported, unprivileged_user_namespace_supported,
    user_namespace_supported, CgroupLayout, Probe,
};
pub use reexec::{ensure_sealed_copy, running_from_sealed_copy};
pub use run::{run, run_with, run_with_hook, run_with_pause, FORWARDED_SIGNALS};
pub use spawn::{spawn, spawn_with, spawn_with_pause, Checkpoints, Container, ListenerHandler};
pub use spec::{
    Clock, Closure, ContainerSpec, ContainerSpecBuilder, Limits, Mount, Payload, Rlimit, Root, TimeOffset, User,
    DEFAULT_MASKED_PATHS, DEFAULT_READONLY_PATHS,
};
pub use status::ExitStatus;
pub use terminal::Terminal;

/// The device nodes the container's `/dev` gets from the host, when present.
pub use rootfs::DEVICES;

/// Entry points for the fuzz targets (`fuzz/`) and the bounded fuzz tests:
/// decoders of untrusted input, reachable without a container.
#[doc(hidden)]
pub mod fuzzing {
    /// Decode `bytes` as parent/child channel frames until the end, an
    /// error, or 64 frames. Never panics; returns how many decoded.
    pub fn channel_frames(bytes: &[u8]) -> usize {
        let mut input = bytes;
        let mut decoded = 0;
        while decoded < 64 {
            match crate::channel::recv(&mut input) {
                Ok(Some(_)) => decoded += 1,
                Ok(None) | Err(_) => break,
            }
        }
        decoded
    }
}
