//! What this kernel allows: the seed's probes, plus namespaces and cgroups.

use std::path::Path;

use serde::Serialize;

use crate::namespace::Namespace;

/// Whether user namespaces exist on this system (`/proc/self/ns/user`).
pub fn user_namespace_supported() -> bool {
    Path::new("/proc/self/ns/user").exists()
}

/// Whether this process is root of the host: uid 0 in the initial user
/// namespace, with the privileges that brings over the host's files,
/// devices and cgroups. Root inside a user namespace (an engine's rootless
/// mode, such as rootless podman running burrow) is not. Looked up once.
pub fn is_host_root() -> bool {
    static HOST_ROOT: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *HOST_ROOT.get_or_init(|| {
        // The initial user namespace maps every id to itself.
        let initial = std::fs::read_to_string("/proc/self/uid_map")
            .map(|map| map.split_whitespace().collect::<Vec<_>>() == ["0", "0", "4294967295"])
            .unwrap_or(true);
        nix::unistd::geteuid().is_root() && initial
    })
}

/// Whether unprivileged users may create user namespaces.
///
/// Reads Debian's `kernel.unprivileged_userns_clone` switch when present
/// (as the seed does), and also `user.max_user_namespaces`, which is 0 when
/// user namespaces are disabled for everyone.
pub fn unprivileged_user_namespace_supported() -> bool {
    let read = |p: &str| std::fs::read_to_string(p).ok().map(|s| s.trim().to_owned());
    let debian_switch = read("/proc/sys/kernel/unprivileged_userns_clone").is_none_or(|v| v == "1");
    let max = read("/proc/sys/user/max_user_namespaces").is_none_or(|v| v != "0");
    user_namespace_supported() && debian_switch && max
}

/// Whether `/proc/PID/setgroups` exists (Linux 3.19 and later).
pub fn setgroups_supported() -> bool {
    Path::new("/proc/self/setgroups").exists()
}

/// The cgroup layout the host has mounted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CgroupLayout {
    /// Only cgroup v2 at `/sys/fs/cgroup`.
    Unified,
    /// v1 controllers, with a cgroup2 mount beside them.
    Hybrid,
    /// Only v1 controllers.
    Legacy,
    /// No cgroup file system found.
    None,
}

/// Find the host's cgroup layout from `/proc/self/mountinfo`.
pub fn cgroup_layout() -> CgroupLayout {
    let info = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let mut v1 = false;
    let mut v2_at_root = false;
    let mut v2 = false;
    for line in info.lines() {
        let Some((left, right)) = line.split_once(" - ") else {
            continue;
        };
        let mount_point = left.split(' ').nth(4).unwrap_or("");
        match right.split(' ').next() {
            Some("cgroup") => v1 = true,
            Some("cgroup2") => {
                v2 = true;
                v2_at_root |= mount_point == "/sys/fs/cgroup";
            }
            _ => {}
        }
    }
    match (v1, v2) {
        (false, true) if v2_at_root => CgroupLayout::Unified,
        (true, true) => CgroupLayout::Hybrid,
        (true, false) => CgroupLayout::Legacy,
        (false, true) => CgroupLayout::Unified,
        (false, false) => CgroupLayout::None,
    }
}

/// Everything the probes found, ready to print as text or JSON.
#[derive(Debug, Clone, Serialize)]
pub struct Probe {
    /// [`user_namespace_supported`].
    pub user_namespaces: bool,
    /// [`unprivileged_user_namespace_supported`].
    pub unprivileged_user_namespaces: bool,
    /// [`setgroups_supported`].
    pub setgroups: bool,
    /// The namespaces this kernel has.
    pub namespaces: Vec<Namespace>,
    /// The cgroup layout.
    pub cgroups: CgroupLayout,
    /// Whether `newuidmap` and `newgidmap` are on `PATH`.
    pub newuidmap: bool,
}

/// Run every probe.
pub fn probe() -> Probe {
    Probe {
        user_namespaces: user_namespace_supported(),
        unprivileged_user_namespaces: unprivileged_user_namespace_supported(),
        setgroups: setgroups_supported(),
        namespaces: Namespace::ALL.into_iter().filter(|ns| ns.is_supported()).collect(),
        cgroups: cgroup_layout(),
        newuidmap: crate::idmap::find_helper("newuidmap").is_some() && crate::idmap::find_helper("newgidmap").is_some(),
    }
}
