//! [`ContainerSpec`]: everything about a container, as plain validated data.
//!
//! Every front (the Rust builder here, the `burrow run` flags, an OCI
//! bundle) produces one of these; [`crate::spawn`] consumes it. Nothing in it
//! says which front made it.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Serialize, Serializer};

use crate::error::{Error, Result};
use crate::idmap::IdMap;
use crate::namespace::{Namespace, NamespaceSet};

/// Where the container's root file system comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Root {
    /// Keep the caller's root: no mount work at all (the seed's `root` of
    /// `"/"`). Useful with a closure payload that only wants namespaces.
    Host,
    /// A fresh tmpfs, as in the seed: nothing from the host is visible but
    /// what the mount list adds. Mounted on a temporary directory that
    /// [`crate::spawn`] creates and removes.
    Ephemeral,
    /// An existing directory, bind-mounted onto itself and made the root.
    /// As with runc, mount points it lacks (`/proc`, `/dev`, destinations)
    /// are created in it, and [`Mount::File`] writes into it (refusing
    /// hard-linked files, which could be the host's).
    Directory(PathBuf),
}

/// One operation of the mount plan, applied in order inside the new root.
///
/// Destinations are absolute paths inside the container; missing parent
/// directories are created. Sources are checked by the container process
/// when it mounts them (a check made earlier could be stale by then), so a
/// missing source is reported as an [`crate::Error::Setup`] at step `mount`. They are resolved with the new root as `/`, so
/// a symlink in a `Root::Directory` cannot send a mount outside it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Mount {
    /// Bind-mount a host file or directory (recursively), optionally
    /// read-only (every mount below it too).
    Bind {
        /// Host path.
        source: PathBuf,
        /// Path inside the container.
        destination: PathBuf,
        /// Make the bind (and every mount under it) read-only.
        read_only: bool,
    },
    /// A new tmpfs.
    Tmpfs {
        /// Path inside the container.
        destination: PathBuf,
        /// Permission bits of its root directory.
        mode: u32,
    },
    /// A new proc file system (needs a new pid namespace to be useful).
    Proc {
        /// Path inside the container.
        destination: PathBuf,
    },
    /// Bind-mount a host device node (character or block device).
    Device {
        /// Host device node, such as `/dev/kvm`.
        source: PathBuf,
        /// Path inside the container.
        destination: PathBuf,
    },
    /// Any other `mount(2)`: a file system of `fstype` from `source`, with
    /// `MS_*` flags and data. With `MS_BIND` in the flags, `source` is a host
    /// path bound like [`Mount::Bind`] (`MS_REC` for rbind); then the flags
    /// `MS_RDONLY`, `MS_NOSUID`, `MS_NODEV`, `MS_NOEXEC` and the access-time
    /// ones in `flags` are set on it and those in `clear` cleared (a bind
    /// otherwise keeps its source's flags). `recursive_set` and
    /// `recursive_clear` do the same for the mount and every mount below it
    /// (runc's `rro`, `rnosuid`, ...). Each `propagation` change
    /// (`MS_PRIVATE`, `MS_SLAVE`, ... with or without `MS_REC`) is made
    /// last, in order.
    Generic {
        /// Host path for binds; a name such as `proc` or `tmpfs` otherwise.
        source: PathBuf,
        /// Path inside the container.
        destination: PathBuf,
        /// File system type, such as `tmpfs`, `proc`, `mqueue`.
        fstype: String,
        /// `MS_*` flags.
        flags: u64,
        /// `MS_*` flags to clear on a bind (`rw`, `suid`, `dev`, `exec`).
        clear: u64,
        /// `MS_*` flags to set on the whole tree mounted here.
        recursive_set: u64,
        /// `MS_*` flags to clear on the whole tree mounted here.
        recursive_clear: u64,
        /// File system data, such as `mode=755,size=65536k`.
        data: String,
        /// Propagation changes to make afterwards, in order.
        propagation: Vec<u64>,
        /// For a new file system (a tmpfs): copy what the directory held
        /// into it first, keeping modes and owners (OCI's `tmpcopyup`).
        copy_up: bool,
    },
    /// Create a device node with `mknod` (needs real root: a user namespace
    /// cannot; bind one with [`Mount::Device`] there instead).
    Node {
        /// Path inside the container.
        destination: PathBuf,
        /// `c` (character) or `b` (block) or `p` (FIFO).
        kind: char,
        /// Major number.
        major: u64,
        /// Minor number.
        minor: u64,
        /// Permission bits.
        mode: u32,
        /// Owner uid.
        uid: u32,
        /// Owner gid.
        gid: u32,
    },
    /// Create a regular file with these contents (the file must not be
    /// a mount point already); bubblewrap's `--file`.
    File {
        /// Path inside the container.
        destination: PathBuf,
        /// What the file holds.
        contents: String,
        /// Permission bits.
        mode: u32,
    },
    /// Create a symbolic link.
    Symlink {
        /// What the link points to (not checked).
        target: PathBuf,
        /// Where the link is created inside the container.
        destination: PathBuf,
    },
    /// Mount nothing, but change the flags of what is mounted at
    /// `destination` and of every mount below it: `MS_RDONLY`, `MS_NOSUID`,
    /// `MS_NODEV`, `MS_NOEXEC` and the access-time flags in `set` are set,
    /// those in `clear` cleared (one `mount_setattr` with `AT_RECURSIVE`).
    /// After a tree of binds, one of these costs less than the flags of
    /// each bind set in turn.
    Attributes {
        /// Path inside the container.
        destination: PathBuf,
        /// `MS_*` flags to set.
        set: u64,
        /// `MS_*` flags to clear.
        clear: u64,
    },
}

impl Mount {
    /// The path inside the container this operation creates or covers.
    pub fn destination(&self) -> &Path {
        match self {
            Mount::Bind { destination, .. }
            | Mount::Tmpfs { destination, .. }
            | Mount::Proc { destination }
            | Mount::Device { destination, .. }
            | Mount::File { destination, .. }
            | Mount::Generic { destination, .. }
            | Mount::Node { destination, .. }
            | Mount::Symlink { destination, .. }
            | Mount::Attributes { destination, .. } => destination,
        }
    }
}

/// A Rust closure run as the container's payload; its return value is the
/// exit code.
#[derive(Clone)]
pub struct Closure(pub(crate) Arc<dyn Fn() -> i32 + Send + Sync>);

impl fmt::Debug for Closure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<closure>")
    }
}

impl Serialize for Closure {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str("<closure>")
    }
}

/// What the container runs once it is set up.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Payload {
    /// A program and its arguments; `argv[0]` without a `/` is searched in
    /// the container's `PATH` (or a standard one).
    Command(Vec<String>),
    /// A closure, run in the container process itself (the seed's thunk).
    Closure(Closure),
}

/// The user and groups the payload runs as (inside the user namespace).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct User {
    /// User id.
    pub uid: u32,
    /// Primary group id.
    pub gid: u32,
    /// Supplementary groups (ignored when `setgroups` is denied).
    pub additional_gids: Vec<u32>,
}

/// Paths runc, Docker and podman hide in every container (`/proc` files
/// that tell about or act on the host, and firmware in `/sys`), for
/// [`ContainerSpec::masked_paths`].
pub const DEFAULT_MASKED_PATHS: [&str; 11] = [
    "/proc/acpi",
    "/proc/asound",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/sys/firmware",
    "/sys/devices/virtual/powercap",
];

/// Paths runc, Docker and podman make read-only in every container, for
/// [`ContainerSpec::readonly_paths`].
pub const DEFAULT_READONLY_PATHS: [&str; 5] =
    ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"];

/// A complete, validated description of one container.
///
/// Build one with [`ContainerSpec::builder`]; the fields are public so that
/// fronts and tests can read (and print) the plan. [`crate::spawn`]
/// validates again before it forks.
#[derive(Debug, Clone, Serialize)]
pub struct ContainerSpec {
    /// Namespaces to create.
    pub namespaces: NamespaceSet,
    /// uid map of the new user namespace.
    pub uid_maps: Vec<IdMap>,
    /// gid map of the new user namespace.
    pub gid_maps: Vec<IdMap>,
    /// The root file system.
    pub root: Root,
    /// The caller's mounts, applied in order after the seed's essential
    /// ones (`/proc`, `/sys`, `/dev`).
    pub mounts: Vec<Mount>,
    /// Hostname inside a new UTS namespace.
    pub hostname: Option<String>,
    /// The payload's whole environment: the host's is purified away, as in
    /// the seed, and only these variables are set.
    pub env: Vec<(String, String)>,
    /// Working directory of the payload, inside the container.
    pub cwd: PathBuf,
    /// Switch to this user before running the payload.
    pub user: Option<User>,
    /// Kill the container (SIGKILL) when the thread that spawned it dies.
    pub die_with_parent: bool,
    /// What to run.
    pub payload: Payload,
    /// Existing namespaces to join by path (such as `/run/netns/x`), instead
    /// of creating them: net, ipc, uts, cgroup, pid, time or mnt. The first
    /// five are joined as the container is cloned, with the caller's rights
    /// (so also with a new user namespace); mnt and time by the container
    /// process before its mounts.
    pub join: Vec<(Namespace, PathBuf)>,
    /// Build the seed's `/proc`, `/sys` and `/dev` before the caller's
    /// mounts (the default). A front whose mount list names those file
    /// systems itself (an OCI bundle) turns this off.
    pub essentials: bool,
    /// NIS domain name inside a new UTS namespace.
    pub domainname: Option<String>,
    /// Paths inside the container to hide: files get `/dev/null` bound
    /// over them, directories an empty read-only tmpfs. Missing ones are
    /// skipped.
    pub masked_paths: Vec<PathBuf>,
    /// Paths inside the container to make read-only (with everything
    /// mounted below them). Missing ones are skipped.
    pub readonly_paths: Vec<PathBuf>,
    /// Make the root mount itself read-only, last.
    pub root_read_only: bool,
    /// Kernel parameters to set, as `net.ipv4.ip_forward` = `1`, written
    /// under the container's `/proc/sys` after `pivot_root`.
    pub sysctl: Vec<(String, String)>,
    /// Process limits and attributes.
    pub limits: Limits,
    /// The payload's capability sets; `None` leaves them as the new user
    /// namespace (or the caller) gives them.
    pub capabilities: Option<crate::Capabilities>,
    /// A seccomp filter for the payload, installed as late as possible:
    /// just before exec with `no_new_privileges`, else (installing needs
    /// `CAP_SYS_ADMIN` then) before the capabilities are dropped. With
    /// user notification, before the start gate, and the listener comes
    /// back through [`crate::Container::take_seccomp_listener`].
    pub seccomp: Option<crate::seccomp::Seccomp>,
    /// A Landlock ruleset for the payload, enforced just before exec (it
    /// sets `no_new_privileges`, as Landlock needs).
    pub landlock: Option<crate::Landlock>,
    /// Start the payload in a new session (`setsid`), away from the
    /// caller's terminal: it can then no longer push input into the
    /// caller's shell with `TIOCSTI` (bubblewrap's CVE-2017-5226). Job
    /// control in an interactive shell inside is lost with it.
    pub new_session: bool,
    /// Propagation to give the container's root (and with `MS_REC` the
    /// mounts below it) after `pivot_root`: `MS_SHARED` or `MS_UNBINDABLE`
    /// (0 leaves what `propagation` made). Shared mounts then propagate
    /// among the container's own mount namespaces (those it makes itself,
    /// say), never to the host's: the container was cut off from those
    /// before its root was built.
    pub root_propagation: u64,
    /// Clock offsets of the new time namespace (needs [`Namespace::Time`]
    /// and a command payload: the namespace is made just before setup and
    /// entered when the command is executed).
    pub time_offsets: Vec<TimeOffset>,
    /// Propagation of the container's mounts, set on all of them before the
    /// root is built: `MS_REC | MS_PRIVATE` (the default) or
    /// `MS_REC | MS_SLAVE` (host mounts still show up inside); never
    /// shared, so nothing propagates back to the host.
    pub propagation: u64,
    /// A pseudo-terminal for the payload, its master sent to a console
    /// socket (needs a devpts at `/dev/pts` with `/dev/ptmx` in the root).
    pub terminal: Option<crate::Terminal>,
    /// cgroup directories (made by the caller, one per mounted hierarchy)
    /// that the parent places the new process in, through `cgroup.procs`,
    /// before the process runs anything of its own.
    pub cgroups: Vec<PathBuf>,
    /// Pass fds 3 to 3+N-1 of the caller on to the payload (all others
    /// are closed on exec).
    pub preserve_fds: u32,
    /// Commands the container process runs after its mounts, just before
    /// `pivot_root` (host paths still reachable), in order.
    pub hooks_before_pivot: Vec<crate::HookCommand>,
    /// Commands the container process runs inside its new root just
    /// before exec (after the start gate), in order.
    pub hooks_before_exec: Vec<crate::HookCommand>,
    /// Stop before `pivot_root` (and before `hooks_before_pivot`) until
    /// the caller of [`crate::spawn_with_pause`] has done its work.
    pub pause_before_pivot: bool,
    /// A FIFO on the host: when set, the container finishes setup, reports
    /// [`crate::Container`] ready, and then waits until someone opens the
    /// FIFO for reading (an OCI `start`) before it execs.
    pub start_gate: Option<PathBuf>,
}

/// Limits and attributes of the payload process.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Limits {
    /// Resource limits (`setrlimit`), set by the parent on the new process.
    pub rlimits: Vec<Rlimit>,
    /// Set `no_new_privs`, so exec can never grant privileges.
    pub no_new_privileges: bool,
    /// File mode creation mask of the payload.
    pub umask: Option<u32>,
    /// `/proc/PID/oom_score_adj`, set by the parent.
    pub oom_score_adj: Option<i32>,
    /// Execution domain and flags (`personality(2)`), such as
    /// `PER_LINUX32` for `uname -m` to say i686.
    pub personality: Option<u64>,
}

/// A clock of a time namespace that can be offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Clock {
    /// `CLOCK_MONOTONIC` (and its coarse and raw forms).
    Monotonic,
    /// `CLOCK_BOOTTIME`: time since boot, suspend included.
    Boottime,
}

/// How far a clock of the container's new time namespace is moved from the
/// host's, as `/proc/PID/timens_offsets` takes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct TimeOffset {
    /// The clock.
    pub clock: Clock,
    /// Whole seconds (may be negative).
    pub seconds: i64,
    /// Nanoseconds, below one second.
    pub nanoseconds: u32,
}

/// One resource limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Rlimit {
    /// The `RLIMIT_*` number.
    pub resource: u32,
    /// Soft limit.
    pub soft: u64,
    /// Hard limit.
    pub hard: u64,
}

impl ContainerSpec {
    /// Start a builder with the seed's defaults: all of the seed's
    /// namespaces, the caller mapped to root, an ephemeral root.
    pub fn builder() -> ContainerSpecBuilder {
        ContainerSpecBuilder::default()
    }

    /// Whether the container builds its own root (and so needs mount work).
    pub fn builds_root(&self) -> bool {
        self.root != Root::Host
    }

    /// Check the spec completely; the error names the field at fault.
    pub fn validate(&self) -> Result<()> {
        for ns in self.namespaces.iter() {
            if !ns.is_supported() {
                return Err(Error::spec("namespaces", format!("this kernel has no {ns} namespace")));
            }
        }
        let has = |ns| self.namespaces.contains(ns);
        if has(Namespace::User) {
            if self.uid_maps.is_empty() || self.gid_maps.is_empty() {
                return Err(Error::spec(
                    "uid_maps",
                    "a new user namespace needs a uid and a gid map",
                ));
            }
        } else if !self.uid_maps.is_empty() || !self.gid_maps.is_empty() {
            return Err(Error::spec("uid_maps", "id maps need a new user namespace"));
        }
        let own = [nix::unistd::geteuid().as_raw(), nix::unistd::getegid().as_raw()];
        for ((field, maps), own) in [("uid_maps", &self.uid_maps), ("gid_maps", &self.gid_maps)]
            .into_iter()
            .zip(own)
        {
            for m in maps.iter() {
                if m.count == 0 {
                    return Err(Error::spec(field, "a map line covers zero ids"));
                }
                if m.inside.checked_add(m.count).is_none() || m.outside.checked_add(m.count).is_none() {
                    return Err(Error::spec(
                        field,
                        format!("{} {} {} runs past the last id", m.inside, m.outside, m.count),
                    ));
                }
            }
            let covers_own = maps.iter().any(|m| own.wrapping_sub(m.outside) < m.count);
            let covers_root = maps.iter().any(|m| m.inside == 0);
            if has(Namespace::User) && !covers_own && !covers_root {
                return Err(Error::spec(
                    field,
                    format!("the maps cover neither your own id {own} nor id 0 inside, so the container could not set itself up"),
                ));
            }
        }
        if let Some(user) = &self.user {
            if user.uid == u32::MAX || user.gid == u32::MAX || user.additional_gids.contains(&u32::MAX) {
                return Err(Error::spec(
                    "user",
                    "4294967295 is not a valid id (it means \"unchanged\")",
                ));
            }
        }
        match &self.root {
            Root::Host => {
                if !self.mounts.is_empty() {
                    return Err(Error::spec("mounts", "mounts need a root other than the host's"));
                }
            }
            Root::Ephemeral | Root::Directory(_) if !has(Namespace::Mnt) => {
                return Err(Error::spec("root", "building a root needs a new mount namespace"));
            }
            Root::Directory(dir) => {
                if !dir.is_absolute() {
                    return Err(Error::spec(
                        "root",
                        format!("{} is not an absolute path", dir.display()),
                    ));
                }
                if !dir.is_dir() {
                    return Err(Error::spec("root", format!("{} is not a directory", dir.display())));
                }
            }
            Root::Ephemeral => {}
        }
        for (i, mount) in self.mounts.iter().enumerate() {
            validate_mount(i, mount)?;
        }
        // A namespace of the container's own: a new one, or one joined by
        // path that is not the caller's (setting the hostname or a sysctl
        // in that would change the host's).
        let own = |ns: Namespace| {
            has(ns)
                || self.join.iter().any(|(j, path)| {
                    use std::os::unix::fs::MetadataExt;
                    let id = |p: &Path| std::fs::metadata(p).map(|m| (m.dev(), m.ino())).ok();
                    *j == ns && id(path) != id(&Path::new("/proc/self/ns").join(ns.name()))
                })
        };
        if let Some(name) = &self.hostname {
            if !own(Namespace::Uts) {
                return Err(Error::spec(
                    "hostname",
                    "setting the hostname needs a uts namespace of the container's own",
                ));
            }
            if name.is_empty() || name.len() > 64 || name.contains('\0') {
                return Err(Error::spec(
                    "hostname",
                    format!("{name:?} is not 1 to 64 bytes without NUL"),
                ));
            }
        }
        for (key, value) in &self.env {
            if key.is_empty() || key.contains('=') || key.contains('\0') || value.contains('\0') {
                return Err(Error::spec("env", format!("{key:?} is not a valid variable name")));
            }
        }
        validate_path("cwd", &self.cwd)?;
        for (ns, path) in &self.join {
            if *ns == Namespace::User {
                return Err(Error::spec(
                    "join",
                    format!(
                        "joining an existing {ns} namespace ({}) is not supported yet",
                        path.display()
                    ),
                ));
            }
            if has(*ns) {
                return Err(Error::spec(
                    "join",
                    format!("the {ns} namespace cannot be both created and joined"),
                ));
            }
        }
        if self.domainname.is_some() && !own(Namespace::Uts) {
            return Err(Error::spec(
                "domainname",
                "setting the domain name needs a uts namespace of the container's own",
            ));
        }
        validate_paths("masked_paths", &self.masked_paths)?;
        validate_paths("readonly_paths", &self.readonly_paths)?;
        for (key, _) in &self.sysctl {
            if key.is_empty() || key.contains('/') || key.contains("..") {
                return Err(Error::spec("sysctl", format!("{key:?} is not a sysctl name")));
            }
            match sysctl_namespace(key) {
                Some(ns) if own(ns) => {}
                Some(ns) => {
                    return Err(Error::spec(
                        "sysctl",
                        format!("{key} belongs to the {ns} namespace, which the container does not have its own of"),
                    ))
                }
                None => {
                    return Err(Error::spec(
                        "sysctl",
                        format!("{key} is not in any namespace: setting it would change the host"),
                    ))
                }
            }
        }
        if let Some(gate) = &self.start_gate {
            validate_path("start_gate", gate)?;
        }
        if !self.builds_root() && (self.pause_before_pivot || !self.hooks_before_pivot.is_empty()) {
            return Err(Error::spec(
                "hooks_before_pivot",
                "there is no pivot_root without a root of its own",
            ));
        }
        if !self.builds_root() {
            for (field, set) in [
                ("masked_paths", !self.masked_paths.is_empty()),
                ("readonly_paths", !self.readonly_paths.is_empty()),
                ("root_read_only", self.root_read_only),
                ("sysctl", !self.sysctl.is_empty()),
            ] {
                if set {
                    return Err(Error::spec(
                        field,
                        "needs a root of the container's own (not Root::Host)",
                    ));
                }
            }
        }
        if self.preserve_fds > 65536 {
            return Err(Error::spec(
                "preserve_fds",
                format!("{} is more fds than a process can have", self.preserve_fds),
            ));
        }
        let kind = self.propagation & !libc::MS_REC;
        if kind != libc::MS_PRIVATE && kind != libc::MS_SLAVE {
            return Err(Error::spec(
                "propagation",
                "only private or slave propagation keeps the host safe",
            ));
        }
        if self.root_propagation != 0 {
            let kind = self.root_propagation & !libc::MS_REC;
            if ![libc::MS_SHARED, libc::MS_UNBINDABLE, libc::MS_PRIVATE, libc::MS_SLAVE].contains(&kind) {
                return Err(Error::spec("root_propagation", "not a propagation type"));
            }
            if !self.builds_root() {
                return Err(Error::spec("root_propagation", "needs a root of the container's own"));
            }
        }
        if let Some(caps) = &self.capabilities {
            caps.parse()?;
        }
        if let Some(profile) = &self.seccomp {
            profile.validate()?;
        }
        if let Some(rules) = &self.landlock {
            validate_paths("landlock.read_only", &rules.read_only)?;
            validate_paths("landlock.read_write", &rules.read_write)?;
        }
        if !self.time_offsets.is_empty() {
            if !has(Namespace::Time) || self.join.iter().any(|(ns, _)| *ns == Namespace::Time) {
                return Err(Error::spec("time_offsets", "offsets need a new time namespace"));
            }
            if !matches!(self.payload, Payload::Command(_)) {
                return Err(Error::spec(
                    "time_offsets",
                    "a closure never enters a time namespace made after the clone",
                ));
            }
            if let Some(o) = self.time_offsets.iter().find(|o| o.nanoseconds >= 1_000_000_000) {
                return Err(Error::spec(
                    "time_offsets",
                    format!("{} nanoseconds is a second or more", o.nanoseconds),
                ));
            }
        }
        if let Payload::Command(argv) = &self.payload {
            if argv.is_empty() || argv[0].is_empty() {
                return Err(Error::spec("payload", "the command is empty"));
            }
            if argv.iter().any(|a| a.contains('\0')) {
                return Err(Error::spec("payload", "an argument contains a NUL byte"));
            }
        }
        Ok(())
    }
}

/// The namespace a sysctl belongs to (the kernel's namespaced ones, as
/// runc lists them), or `None` for a host-wide one.
pub fn sysctl_namespace(key: &str) -> Option<Namespace> {
    const IPC: [&str; 8] = [
        "kernel.msgmax",
        "kernel.msgmnb",
        "kernel.msgmni",
        "kernel.sem",
        "kernel.shmall",
        "kernel.shmmax",
        "kernel.shmmni",
        "kernel.shm_rmid_forced",
    ];
    if IPC.contains(&key) || key.starts_with("fs.mqueue.") {
        Some(Namespace::Ipc)
    } else if key == "kernel.hostname" || key == "kernel.domainname" {
        Some(Namespace::Uts)
    } else if key.starts_with("net.") {
        Some(Namespace::Net)
    } else {
        None
    }
}

/// What is wrong with `path` as an absolute path without `..`, if anything.
/// (Looked at as bytes: a start validates some thirty paths, and a walk
/// over Path components costs more than the rest of the check.)
fn path_problem(path: &Path) -> Option<String> {
    let bytes = path.as_os_str().as_encoded_bytes();
    if !path.is_absolute() {
        return Some(format!("{} is not an absolute path", path.display()));
    }
    if bytes.split(|b| *b == b'/').any(|part| part == b"..") {
        return Some(format!("{} contains \"..\"", path.display()));
    }
    if bytes.contains(&0) {
        return Some("the path contains a NUL byte".into());
    }
    None
}

fn validate_path(field: &str, path: &Path) -> Result<()> {
    path_problem(path).map_or(Ok(()), |why| Err(Error::spec(field, why)))
}

/// [`validate_path`] for each of `paths`, the field named `list[i]`.
fn validate_paths(list: &str, paths: &[PathBuf]) -> Result<()> {
    for (i, path) in paths.iter().enumerate() {
        if let Some(why) = path_problem(path) {
            return Err(Error::spec(format!("{list}[{i}]"), why));
        }
    }
    Ok(())
}

fn validate_mount(i: usize, mount: &Mount) -> Result<()> {
    let dest = mount.destination();
    if let Some(why) = path_problem(dest) {
        return Err(Error::spec(format!("mounts[{i}].destination"), why));
    }
    if dest == Path::new("/") {
        return Err(Error::spec(
            format!("mounts[{i}].destination"),
            "cannot mount over the root itself",
        ));
    }
    Ok(())
}

/// Builds a [`ContainerSpec`]; see [`ContainerSpec::builder`].
#[derive(Debug, Clone)]
pub struct ContainerSpecBuilder {
    spec: ContainerSpec,
    guest_ids: Option<(u32, u32, u32)>,
}

impl Default for ContainerSpecBuilder {
    fn default() -> Self {
        ContainerSpecBuilder {
            spec: ContainerSpec {
                namespaces: NamespaceSet::seed_default(),
                uid_maps: Vec::new(),
                gid_maps: Vec::new(),
                root: Root::Ephemeral,
                mounts: Vec::new(),
                hostname: None,
                env: Vec::new(),
                cwd: PathBuf::from("/"),
                user: None,
                die_with_parent: false,
                payload: Payload::Command(Vec::new()),
                join: Vec::new(),
                essentials: true,
                domainname: None,
                masked_paths: Vec::new(),
                readonly_paths: Vec::new(),
                root_read_only: false,
                sysctl: Vec::new(),
                limits: Limits::default(),
                capabilities: None,
                seccomp: None,
                landlock: None,
                preserve_fds: 0,
                cgroups: Vec::new(),
                propagation: libc::MS_REC | libc::MS_PRIVATE,
                time_offsets: Vec::new(),
                root_propagation: 0,
                new_session: false,
                terminal: None,
                hooks_before_pivot: Vec::new(),
                hooks_before_exec: Vec::new(),
                pause_before_pivot: false,
                start_gate: None,
            },
            guest_ids: None,
        }
    }
}

impl ContainerSpecBuilder {
    /// Create exactly these namespaces (default: the seed's set).
    pub fn namespaces(mut self, set: NamespaceSet) -> Self {
        self.spec.namespaces = set;
        self
    }

    /// Add one namespace to the set.
    pub fn unshare(mut self, ns: Namespace) -> Self {
        self.spec.namespaces.insert(ns);
        self
    }

    /// Share one namespace with the caller instead of creating it.
    pub fn share(mut self, ns: Namespace) -> Self {
        self.spec.namespaces.remove(ns);
        self
    }

    /// The seed's mapping: `host_ids` ids starting at the caller's uid (and
    /// gid) appear from `guest_uid` (and `guest_gid`) inside. Default:
    /// `(0, 0, 1)`, the caller is root inside.
    pub fn map_caller(mut self, guest_uid: u32, guest_gid: u32, host_ids: u32) -> Self {
        self.guest_ids = Some((guest_uid, guest_gid, host_ids));
        self
    }

    /// Add an explicit uid map line (replaces the seed's uid mapping). More
    /// than the caller's own id needs root, or `newuidmap` and `/etc/subuid`.
    pub fn uid_map(mut self, map: IdMap) -> Self {
        self.spec.uid_maps.push(map);
        self
    }

    /// Add an explicit gid map line (replaces the seed's gid mapping); see
    /// [`Self::uid_map`].
    pub fn gid_map(mut self, map: IdMap) -> Self {
        self.spec.gid_maps.push(map);
        self
    }

    /// Use `root` as the container's root.
    pub fn root(mut self, root: Root) -> Self {
        self.spec.root = root;
        self
    }

    /// Append a mount to the plan.
    pub fn mount(mut self, mount: Mount) -> Self {
        self.spec.mounts.push(mount);
        self
    }

    /// Append a read-write bind of host `source` at `destination`.
    pub fn bind(self, source: impl Into<PathBuf>, destination: impl Into<PathBuf>) -> Self {
        self.mount(Mount::Bind {
            source: source.into(),
            destination: destination.into(),
            read_only: false,
        })
    }

    /// Append a read-only bind of host `source` at `destination`.
    pub fn bind_ro(self, source: impl Into<PathBuf>, destination: impl Into<PathBuf>) -> Self {
        self.mount(Mount::Bind {
            source: source.into(),
            destination: destination.into(),
            read_only: true,
        })
    }

    /// Append a tmpfs (mode 755) at `destination`.
    pub fn tmpfs(self, destination: impl Into<PathBuf>) -> Self {
        self.mount(Mount::Tmpfs {
            destination: destination.into(),
            mode: 0o755,
        })
    }

    /// Append a symlink at `destination` pointing to `target`.
    pub fn symlink(self, target: impl Into<PathBuf>, destination: impl Into<PathBuf>) -> Self {
        self.mount(Mount::Symlink {
            target: target.into(),
            destination: destination.into(),
        })
    }

    /// Append a file with `contents` (mode 644) at `destination`.
    pub fn file(self, destination: impl Into<PathBuf>, contents: impl Into<String>) -> Self {
        self.mount(Mount::File {
            destination: destination.into(),
            contents: contents.into(),
            mode: 0o644,
        })
    }

    /// Set the hostname (needs the uts namespace).
    pub fn hostname(mut self, name: impl Into<String>) -> Self {
        self.spec.hostname = Some(name.into());
        self
    }

    /// Set one environment variable for the payload.
    pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        let key = key.into();
        self.spec.env.retain(|(k, _)| *k != key);
        self.spec.env.push((key, value.into()));
        self
    }

    /// Working directory inside the container (default `/`).
    pub fn cwd(mut self, dir: impl Into<PathBuf>) -> Self {
        self.spec.cwd = dir.into();
        self
    }

    /// Run the payload as this user and group.
    pub fn user(mut self, uid: u32, gid: u32) -> Self {
        self.spec.user = Some(User {
            uid,
            gid,
            additional_gids: Vec::new(),
        });
        self
    }

    /// Kill the container when the spawning thread dies.
    pub fn die_with_parent(mut self, yes: bool) -> Self {
        self.spec.die_with_parent = yes;
        self
    }

    /// Run this program with these arguments.
    pub fn command<I, S>(mut self, argv: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.spec.payload = Payload::Command(argv.into_iter().map(Into::into).collect());
        self
    }

    /// Run this closure inside the container; its return value is the exit
    /// code.
    pub fn closure(mut self, f: impl Fn() -> i32 + Send + Sync + 'static) -> Self {
        self.spec.payload = Payload::Closure(Closure(Arc::new(f)));
        self
    }

    /// Join an existing namespace by path instead of creating it.
    pub fn join(mut self, ns: Namespace, path: impl Into<PathBuf>) -> Self {
        self.spec.namespaces.remove(ns);
        self.spec.join.push((ns, path.into()));
        self
    }

    /// Build the seed's `/proc`, `/sys` and `/dev` (default `true`).
    pub fn essentials(mut self, yes: bool) -> Self {
        self.spec.essentials = yes;
        self
    }

    /// Set the NIS domain name (needs the uts namespace).
    pub fn domainname(mut self, name: impl Into<String>) -> Self {
        self.spec.domainname = Some(name.into());
        self
    }

    /// Hide a path inside the container.
    pub fn masked_path(mut self, path: impl Into<PathBuf>) -> Self {
        self.spec.masked_paths.push(path.into());
        self
    }

    /// Make a path inside the container read-only.
    pub fn readonly_path(mut self, path: impl Into<PathBuf>) -> Self {
        self.spec.readonly_paths.push(path.into());
        self
    }

    /// Make the root mount read-only.
    pub fn root_read_only(mut self, yes: bool) -> Self {
        self.spec.root_read_only = yes;
        self
    }

    /// Set a kernel parameter inside the container.
    pub fn sysctl(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.spec.sysctl.push((key.into(), value.into()));
        self
    }

    /// Set the payload's limits and attributes.
    pub fn limits(mut self, limits: Limits) -> Self {
        self.spec.limits = limits;
        self
    }

    /// Start the payload in a new session (see the field).
    pub fn new_session(mut self, yes: bool) -> Self {
        self.spec.new_session = yes;
        self
    }

    /// Confine the payload's file access with Landlock (see the field).
    pub fn landlock(mut self, rules: crate::Landlock) -> Self {
        self.spec.landlock = Some(rules);
        self
    }

    /// Filter the payload's syscalls (see the field).
    pub fn seccomp(mut self, profile: crate::seccomp::Seccomp) -> Self {
        self.spec.seccomp = Some(profile);
        self
    }

    /// Set the propagation of the container's root after `pivot_root`
    /// (see the field).
    pub fn root_propagation(mut self, flags: u64) -> Self {
        self.spec.root_propagation = flags;
        self
    }

    /// Move a clock of the container's new time namespace (see the field).
    pub fn time_offset(mut self, clock: Clock, seconds: i64, nanoseconds: u32) -> Self {
        self.spec.time_offsets.push(TimeOffset {
            clock,
            seconds,
            nanoseconds,
        });
        self
    }

    /// Set the propagation of the container's mounts (see the field).
    pub fn propagation(mut self, flags: u64) -> Self {
        self.spec.propagation = flags;
        self
    }

    /// Give the payload a terminal whose master goes to `console_socket`.
    pub fn terminal(mut self, terminal: crate::Terminal) -> Self {
        self.spec.terminal = Some(terminal);
        self
    }

    /// Place the container in these cgroup directories before it runs.
    pub fn cgroup(mut self, dir: impl Into<PathBuf>) -> Self {
        self.spec.cgroups.push(dir.into());
        self
    }

    /// Pass fds 3 to 3+`n`-1 on to the payload.
    pub fn preserve_fds(mut self, n: u32) -> Self {
        self.spec.preserve_fds = n;
        self
    }

    /// Give the payload exactly these capability sets.
    pub fn capabilities(mut self, caps: crate::Capabilities) -> Self {
        self.spec.capabilities = Some(caps);
        self
    }

    /// Run `hook` in the container process just before `pivot_root`.
    pub fn hook_before_pivot(mut self, hook: crate::HookCommand) -> Self {
        self.spec.hooks_before_pivot.push(hook);
        self
    }

    /// Run `hook` in the container just before exec.
    pub fn hook_before_exec(mut self, hook: crate::HookCommand) -> Self {
        self.spec.hooks_before_exec.push(hook);
        self
    }

    /// Pause before `pivot_root` for [`crate::spawn_with_pause`]'s callback.
    pub fn pause_before_pivot(mut self, yes: bool) -> Self {
        self.spec.pause_before_pivot = yes;
        self
    }

    /// Hold the container before exec until `fifo` is opened for reading.
    pub fn start_gate(mut self, fifo: impl Into<PathBuf>) -> Self {
        self.spec.start_gate = Some(fifo.into());
        self
    }

    /// Set the supplementary groups of the user set with [`Self::user`].
    pub fn additional_gids(mut self, gids: Vec<u32>) -> Self {
        if let Some(user) = &mut self.spec.user {
            user.additional_gids = gids;
        }
        self
    }

    /// Finish: fill in the default id maps and validate.
    pub fn build(mut self) -> Result<ContainerSpec> {
        let spec = &mut self.spec;
        if spec.namespaces.contains(Namespace::User) {
            let (guest_uid, guest_gid, count) = self.guest_ids.unwrap_or((0, 0, 1));
            if spec.uid_maps.is_empty() {
                spec.uid_maps
                    .push(IdMap::new(guest_uid, nix::unistd::getuid().as_raw(), count));
            }
            if spec.gid_maps.is_empty() {
                spec.gid_maps
                    .push(IdMap::new(guest_gid, nix::unistd::getgid().as_raw(), count));
            }
        }
        spec.validate()?;
        Ok(self.spec)
    }
}
