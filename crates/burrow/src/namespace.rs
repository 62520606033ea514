//! Linux namespaces: names, sets, clone flags and support probes.

use std::fmt;
use std::str::FromStr;

use nix::sched::CloneFlags;
use serde::{Deserialize, Serialize};

/// One kind of Linux namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Namespace {
    /// The user namespace: uid/gid maps and capabilities.
    User,
    /// The cgroup namespace: the cgroup tree as seen from inside.
    Cgroup,
    /// The IPC namespace: System V IPC and POSIX message queues.
    Ipc,
    /// The UTS namespace: hostname and domain name.
    Uts,
    /// The network namespace.
    Net,
    /// The PID namespace: the payload becomes pid 1.
    Pid,
    /// The time namespace: monotonic and boot-time clock offsets.
    Time,
    /// The mount namespace: a private mount table.
    Mnt,
}

impl Namespace {
    /// Every namespace, in the order they must be joined: user first (it
    /// grants the rights to join the others), mnt last (joining it changes
    /// the root, and with it the `/proc` used to find the others).
    pub const ALL: [Namespace; 8] = [
        Namespace::User,
        Namespace::Cgroup,
        Namespace::Ipc,
        Namespace::Uts,
        Namespace::Net,
        Namespace::Pid,
        Namespace::Time,
        Namespace::Mnt,
    ];

    /// The name used in `/proc/PID/ns/` and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Namespace::User => "user",
            Namespace::Cgroup => "cgroup",
            Namespace::Ipc => "ipc",
            Namespace::Uts => "uts",
            Namespace::Net => "net",
            Namespace::Pid => "pid",
            Namespace::Time => "time",
            Namespace::Mnt => "mnt",
        }
    }

    /// The `CLONE_NEW*` flag that creates (or with `setns`, selects) it.
    pub fn clone_flag(self) -> CloneFlags {
        match self {
            Namespace::User => CloneFlags::CLONE_NEWUSER,
            Namespace::Cgroup => CloneFlags::CLONE_NEWCGROUP,
            Namespace::Ipc => CloneFlags::CLONE_NEWIPC,
            Namespace::Uts => CloneFlags::CLONE_NEWUTS,
            Namespace::Net => CloneFlags::CLONE_NEWNET,
            Namespace::Pid => CloneFlags::CLONE_NEWPID,
            // nix does not name CLONE_NEWTIME; it shares CSIGNAL's bit.
            Namespace::Time => CloneFlags::from_bits_retain(libc::CLONE_NEWTIME),
            Namespace::Mnt => CloneFlags::CLONE_NEWNS,
        }
    }

    /// Whether this kernel has the namespace (`/proc/self/ns/NAME` exists),
    /// looked up once per process.
    pub fn is_supported(self) -> bool {
        use std::sync::atomic::{AtomicU8, Ordering};
        const UNKNOWN: u8 = 0;
        const YES: u8 = 1;
        const NO: u8 = 2;
        static KNOWN: [AtomicU8; Namespace::ALL.len()] = [const { AtomicU8::new(UNKNOWN) }; Namespace::ALL.len()];
        let index = Namespace::ALL.iter().position(|n| *n == self).unwrap_or(0);
        match KNOWN[index].load(Ordering::Relaxed) {
            UNKNOWN => {
                let found = std::path::Path::new("/proc/self/ns").join(self.name()).exists();
                KNOWN[index].store(if found { YES } else { NO }, Ordering::Relaxed);
                found
            }
            known => known == YES,
        }
    }
}

impl fmt::Display for Namespace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Namespace {
    type Err = crate::Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Namespace::ALL
            .into_iter()
            .find(|ns| {
                ns.name() == s || (s == "mount" && *ns == Namespace::Mnt) || (s == "network" && *ns == Namespace::Net)
            })
            .ok_or_else(|| {
                crate::Error::spec(
                    "namespaces",
                    format!("unknown namespace {s:?} (known: user cgroup ipc uts net pid time mnt)"),
                )
            })
    }
}

/// A set of namespaces, kept in join order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(into = "Vec<Namespace>", from = "Vec<Namespace>")]
pub struct NamespaceSet(u8);

impl NamespaceSet {
    /// No namespaces: the process shares all of the caller's.
    pub const fn empty() -> Self {
        NamespaceSet(0)
    }

    /// The seed's `%namespaces`: cgroup mnt pid ipc uts user net.
    pub fn seed_default() -> Self {
        [
            Namespace::Cgroup,
            Namespace::Mnt,
            Namespace::Pid,
            Namespace::Ipc,
            Namespace::Uts,
            Namespace::User,
            Namespace::Net,
        ]
        .into_iter()
        .collect()
    }

    fn bit(ns: Namespace) -> u8 {
        1 << Namespace::ALL.iter().position(|n| *n == ns).unwrap_or(0)
    }

    /// Add a namespace.
    pub fn insert(&mut self, ns: Namespace) {
        self.0 |= Self::bit(ns);
    }

    /// Remove a namespace.
    pub fn remove(&mut self, ns: Namespace) {
        self.0 &= !Self::bit(ns);
    }

    /// Whether the set holds `ns`.
    pub fn contains(self, ns: Namespace) -> bool {
        self.0 & Self::bit(ns) != 0
    }

    /// Whether the set is empty.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The members, user first and mnt last.
    pub fn iter(self) -> impl Iterator<Item = Namespace> {
        Namespace::ALL.into_iter().filter(move |ns| self.contains(*ns))
    }

    /// The union of the members' `CLONE_NEW*` flags.
    pub fn clone_flags(self) -> CloneFlags {
        self.iter().fold(CloneFlags::empty(), |acc, ns| acc | ns.clone_flag())
    }
}

impl FromIterator<Namespace> for NamespaceSet {
    fn from_iter<I: IntoIterator<Item = Namespace>>(iter: I) -> Self {
        let mut set = NamespaceSet::empty();
        for ns in iter {
            set.insert(ns);
        }
        set
    }
}

impl From<Vec<Namespace>> for NamespaceSet {
    fn from(v: Vec<Namespace>) -> Self {
        v.into_iter().collect()
    }
}

impl From<NamespaceSet> for Vec<Namespace> {
    fn from(s: NamespaceSet) -> Self {
        s.iter().collect()
    }
}

impl fmt::Display for NamespaceSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.iter().map(Namespace::name).collect();
        f.write_str(&names.join(" "))
    }
}

/// The clock's name in `/proc/PID/timens_offsets`.
pub(crate) fn clock_name(clock: crate::Clock) -> &'static str {
    match clock {
        crate::Clock::Monotonic => "monotonic",
        crate::Clock::Boottime => "boottime",
    }
}
