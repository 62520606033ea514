//! Applying `linux.resources` to a container's cgroups: device rules (cgroup
//! v1 `devices.allow`/`devices.deny`), then every other section through the
//! driver ([`crate::limits`]) of the hierarchy its controller lives in.

use burrow::cgroupfs;
use std::path::{Path, PathBuf};

use oci_spec::runtime::{LinuxDevice, LinuxDeviceCgroup, LinuxResources};

use crate::cgroups;
use crate::error::{OciError, Result};
use crate::limits::{Driver, Section, Unsupported, Write, V1, V2};

/// Devices every container may use whatever its rules say, as runc adds
/// them: mknod of anything (opening is what the rules guard), null, zero,
/// full, tty, random, urandom, ptmx, the pts, and tun.
const ALWAYS_ALLOWED: [&str; 11] = [
    "c *:* m",
    "b *:* m",
    "c 1:3 rwm",
    "c 1:5 rwm",
    "c 1:7 rwm",
    "c 5:0 rwm",
    "c 1:8 rwm",
    "c 1:9 rwm",
    "c 5:2 rwm",
    "c 136:* rwm",
    "c 10:200 rwm",
];

/// Whether `resources` asks for nothing this build cannot apply (RDMA).
pub fn only_supported(resources: &LinuxResources) -> std::result::Result<(), String> {
    match resources.rdma() {
        Some(rdma) if !rdma.is_empty() => Err("linux.resources.rdma".into()),
        _ => Ok(()),
    }
}

/// One rule as `devices.allow`/`devices.deny` wants it: `c 1:3 rwm`.
fn rule(d: &LinuxDeviceCgroup) -> String {
    let kind = d
        .typ()
        .and_then(|t| serde_json::to_value(t).ok())
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_else(|| "a".into());
    let num = |n: Option<i64>| n.map_or_else(|| "*".to_string(), |n| n.to_string());
    format!(
        "{kind} {}:{} {}",
        num(d.major()),
        num(d.minor()),
        d.access().clone().unwrap_or_else(|| "rwm".into())
    )
}

/// A v1 devices cgroup's `devices.allow` and `devices.deny`, each opened
/// once for all its rules (the kernel takes one rule per write).
struct DeviceFiles<'a> {
    dir: &'a Path,
    allow: Option<std::fs::File>,
    deny: Option<std::fs::File>,
}

impl<'a> DeviceFiles<'a> {
    fn new(dir: &'a Path) -> Self {
        DeviceFiles {
            dir,
            allow: None,
            deny: None,
        }
    }

    /// Write one rule to `devices.allow` (`allow`) or `devices.deny`.
    fn write(&mut self, allow: bool, rule: &str) -> Result<()> {
        let (name, slot) = if allow {
            ("devices.allow", &mut self.allow)
        } else {
            ("devices.deny", &mut self.deny)
        };
        let path = self.dir.join(name);
        let written = match slot {
            Some(file) => std::io::Write::write(file, rule.as_bytes()),
            None => cgroupfs::open(&path, nix::fcntl::OFlag::O_WRONLY).and_then(|fd| {
                let file = slot.insert(std::fs::File::from(fd));
                std::io::Write::write(file, rule.as_bytes())
            }),
        };
        match written {
            Ok(n) if n == rule.len() => Ok(()),
            Ok(n) => Err(std::io::Error::other(format!("only {n} bytes written"))),
            Err(e) => Err(e),
        }
        .map_err(|e| OciError::io(format!("writing {rule:?} to {}", path.display()), e))
    }
}

/// Apply the supported resources to the container's cgroups (`leaves`,
/// one per hierarchy). Device access is always restricted where a v1
/// devices cgroup exists, as runc does: deny everything, allow the
/// config's own device nodes, then its rules (so its explicit denies win),
/// then the devices every container may use. A resource asked for where
/// burrow could not place the container (no delegation) is an error naming
/// the field.
pub fn apply(resources: Option<&LinuxResources>, devices: &[LinuxDevice], leaves: &[PathBuf]) -> Result<()> {
    let rules = resources.and_then(|r| r.devices().clone()).unwrap_or_default();
    match cgroups::v1_leaf_for(leaves, "devices") {
        Some(dir) => {
            let mut files = DeviceFiles::new(dir);
            files.write(false, "a")?;
            for entry in devices.iter().filter_map(node_rule) {
                // A node the parent cgroup does not allow stays unusable,
                // as with runc; that is not a reason to fail.
                if let Err(e) = files.write(true, &entry) {
                    tracing::warn!("{e}");
                }
            }
            for d in &rules {
                match files.write(d.allow(), &rule(d)) {
                    // An allow rule wider than the parent cgroup permits
                    // (`a *:* rwm` for --privileged, below a restricted
                    // parent) leaves what the parent allows: a warning, as
                    // the node rules above.
                    Err(OciError::Io { error, .. }) if d.allow() && error.raw_os_error() == Some(libc::EPERM) => {
                        tracing::warn!(
                            "the parent devices cgroup refuses {:?}; the container gets what it allows",
                            rule(d)
                        )
                    }
                    other => other?,
                }
            }
            for allowed in ALWAYS_ALLOWED {
                files.write(true, allowed)?;
            }
        }
        // cgroup2 has no devices controller: an eBPF program in the
        // container's cgroup enforces the same rules.
        None => {
            // (Loading one needs root; a user namespace cannot open host
            // devices it was not given anyway.)
            let v2 = cgroups::v2_leaf(leaves).filter(|_| burrow::is_host_root());
            if let Some(dir) = v2 {
                crate::device_filter::attach(dir, &device_rules(devices, &rules))?;
            } else if !rules.is_empty() {
                return Err(OciError::Unsupported {
                    field: "linux.resources.devices".into(),
                    reason: "no devices cgroup to apply them in (not root, and no delegated cgroup?)".into(),
                });
            }
        }
    }
    match resources {
        Some(r) => apply_limits(r, leaves),
        None => Ok(()),
    }
}

/// Files whose writes some kernels accept and then ignore: v1's kernel
/// memory limit (Linux 5.16 and later keep `memory.kmem.limit_in_bytes`
/// but no longer apply it). Each is read back after the write.
const READ_BACK: [&str; 2] = ["memory.kmem.limit_in_bytes", "memory.kmem.tcp.limit_in_bytes"];

/// Whether the kernel kept `value` in the limit file `path` (it rounds a
/// byte count down to whole pages; "-1" reads back as its own huge number).
fn kept(path: &Path, value: &str) -> std::result::Result<(), String> {
    let Ok(wanted) = value.parse::<u64>() else {
        return Ok(());
    };
    // SAFETY: sysconf has no memory-safety preconditions.
    let page = u64::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) })
        .unwrap_or(4096)
        .max(1);
    let now = cgroupfs::read_to_string(path).map_err(|e| format!("reading {} back: {e}", path.display()))?;
    match now.trim().parse::<u64>() {
        Ok(n) if n == wanted / page * page => Ok(()),
        _ => Err(format!(
            "this kernel accepts {value:?} in {} but does not apply it (it reads back {:?}); \
             the limit cannot be honoured here",
            path.display(),
            now.trim()
        )),
    }
}

/// Write `writes` into the cgroup `dir` (of cgroup version `version`), in
/// order. A file the cgroup lacks is refused by field. Some writes depend
/// on the current values (v1's memory limit must stay at or below
/// memsw's): one refused with EINVAL is tried again after the others.
pub fn write_all(dir: &Path, version: &str, writes: Vec<Write>) -> Result<()> {
    /// Files some kernels name otherwise: with the BFQ scheduler, v1's
    /// block weights live in `blkio.bfq.*`.
    const ALTERNATIVES: [(&str, &str); 2] = [
        ("blkio.weight", "blkio.bfq.weight"),
        ("blkio.weight_device", "blkio.bfq.weight_device"),
    ];
    let mut retry = Vec::new();
    for w in writes {
        let mut path = dir.join(&w.file);
        if let Some((_, other)) = ALTERNATIVES
            .iter()
            .find(|(name, _)| *name == w.file && !cgroupfs::exists(&path))
        {
            path = dir.join(other);
        }
        if !cgroupfs::exists(&path) {
            return Err(OciError::Unsupported {
                field: w.field,
                reason: format!(
                    "this host's cgroup {version} has no {} (the kernel cannot honour it)",
                    w.file
                ),
            });
        }
        match cgroupfs::write(&path, &w.value) {
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) => retry.push((w, path)),
            other => {
                other.map_err(|e| OciError::Field {
                    field: w.field.clone(),
                    reason: format!("writing {:?} to {}: {e}", w.value, path.display()),
                })?;
                check_kept(&w, &path)?;
            }
        }
    }
    for (w, path) in retry {
        cgroupfs::write(&path, &w.value).map_err(|e| OciError::Field {
            field: w.field.clone(),
            reason: format!("writing {:?} to {}: {e}", w.value, path.display()),
        })?;
        check_kept(&w, &path)?;
    }
    Ok(())
}

/// A write to one of the [`READ_BACK`] files that did not take is refused
/// by field: a limit asked for is never silently dropped.
fn check_kept(w: &Write, path: &Path) -> Result<()> {
    if !READ_BACK.contains(&w.file.as_str()) {
        return Ok(());
    }
    kept(path, &w.value).map_err(|reason| OciError::Unsupported {
        field: w.field.clone(),
        reason,
    })
}

/// The allow rule for one of the config's device nodes, as `c 1:3 rwm`.
/// The devices cgroup knows character and block devices only (a FIFO needs
/// no rule); "u" is an unbuffered character one.
fn node_rule(d: &LinuxDevice) -> Option<String> {
    let kind = serde_json::to_value(d.typ()).ok()?;
    let kind = match kind.as_str() {
        Some("b") => "b",
        Some("c") | Some("u") | None => "c",
        _ => return None,
    };
    Some(format!("{kind} {}:{} rwm", d.major(), d.minor()))
}

/// The rules v1 writes, in order, for the v2 device program: deny all, the
/// config's device nodes, its rules, the devices every container may use.
fn device_rules(devices: &[LinuxDevice], rules: &[LinuxDeviceCgroup]) -> Vec<crate::device_filter::Rule> {
    use crate::device_filter::Rule;
    let mut out = vec![Rule::parse(false, "a").expect("a valid rule")];
    out.extend(
        devices
            .iter()
            .filter_map(node_rule)
            .filter_map(|r| Rule::parse(true, &r)),
    );
    out.extend(rules.iter().filter_map(|r| Rule::parse(r.allow(), &rule(r))));
    out.extend(ALWAYS_ALLOWED.iter().filter_map(|r| Rule::parse(true, r)));
    out
}

/// The leaf among `leaves` that holds `section`'s controller, with the
/// driver of its hierarchy (v1 first, as on a hybrid host).
pub fn placed(leaves: &[PathBuf], section: Section) -> Option<(&PathBuf, &'static dyn Driver)> {
    let v1 = V1.controller(section);
    if let Some(leaf) = cgroups::v1_leaf_for(leaves, v1) {
        return Some((leaf, &V1));
    }
    let v2 = V2.controller(section);
    let leaf = cgroups::v2_leaf(leaves)?;
    let enabled = v2.is_empty()
        || cgroupfs::read_to_string(&leaf.join("cgroup.controllers"))
            .is_ok_and(|c| c.split_whitespace().any(|x| x == v2));
    enabled.then_some((leaf, &V2 as &'static dyn Driver))
}

/// Every resource section but devices, each in its controller's cgroup.
/// A section with no cgroup to go to, or a file the host's cgroup lacks,
/// is an error naming the field.
pub fn apply_limits(r: &LinuxResources, leaves: &[PathBuf]) -> Result<()> {
    let unsupported = |u: Unsupported| OciError::Unsupported {
        field: u.field,
        reason: u.reason,
    };
    type Plan<'a> = (
        Section,
        &'a str,
        Box<dyn Fn(&dyn Driver) -> std::result::Result<Vec<Write>, Unsupported> + 'a>,
    );
    let mut plans: Vec<Plan> = Vec::new();
    if let Some(c) = r.cpu() {
        plans.push((Section::Cpuset, "cpu", Box::new(move |d| Ok(d.cpuset(c)))));
        plans.push((Section::Cpu, "cpu", Box::new(move |d| d.cpu(c))));
    }
    if let Some(m) = r.memory() {
        plans.push((Section::Memory, "memory", Box::new(move |d| d.memory(m))));
    }
    if let Some(p) = r.pids() {
        plans.push((Section::Pids, "pids", Box::new(move |d| Ok(d.pids(p.limit())))));
    }
    if let Some(b) = r.block_io() {
        plans.push((Section::BlockIo, "blockIO", Box::new(move |d| d.block_io(b))));
    }
    if let Some(h) = r.hugepage_limits().as_ref().filter(|h| !h.is_empty()) {
        plans.push((
            Section::Hugetlb,
            "hugepageLimits",
            Box::new(move |d| Ok(d.hugepages(h))),
        ));
    }
    if let Some(n) = r.network() {
        let section = if n.class_id().is_some() {
            Section::NetClass
        } else {
            Section::NetPrio
        };
        plans.push((section, "network", Box::new(move |d| d.network(n))));
    }
    if let Some(u) = r.unified().as_ref().filter(|u| !u.is_empty()) {
        plans.push((Section::Unified, "unified", Box::new(move |d| d.unified(u))));
    }
    for (section, field, plan) in plans {
        let Some((leaf, driver)) = placed(leaves, section) else {
            // An empty section (cpu with nothing but zeros, say) needs no cgroup.
            if plan(&V1).is_ok_and(|w| w.is_empty()) {
                continue;
            }
            return Err(OciError::Unsupported {
                field: format!("linux.resources.{field}"),
                reason: format!(
                    "no {} cgroup to apply it in (no such controller here, or not root and no delegation)",
                    match V1.controller(section) {
                        "" => "cgroup2",
                        name => name,
                    }
                ),
            });
        };
        write_all(leaf, driver.name(), plan(driver).map_err(unsupported)?)?;
    }
    Ok(())
}
