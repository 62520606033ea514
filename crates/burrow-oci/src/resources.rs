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
pub const ALWAYS_ALLOWED: [&str; 11] = [
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

/// Whether the rule names one device: a type (`c` or `b`) and both
/// numbers, no wildcard.
fn is_specific(d: &LinuxDeviceCgroup) -> bool {
    use oci_spec::runtime::LinuxDeviceType;
    !matches!(d.typ(), None | Some(LinuxDeviceType::A)) && d.major().is_some() && d.minor().is_some()
}

/// The always-allowed devices in two parts: those that one of `rules`
/// denies by name (type, major and minor, as `c 1:3`), and the rest.
///
/// The first part is written before the config's rules, so that the
/// config's deny of that one device wins (i5: "devices deny blocks opening
/// /dev/null when denied"); the rest are written after them, so that a
/// blanket deny (`{"allow": false, "access": "rwm"}`, which runc's `spec`
/// and the engines emit) still leaves them usable. (runc 1.1.5 writes all
/// of them after the rules, so a config cannot deny /dev/null there.) A
/// wildcard default (`c 136:* rwm`) is never moved: v1 cannot take a
/// single device out of a wildcard it allows.
fn always_allowed(rules: &[LinuxDeviceCgroup]) -> (Vec<&'static str>, Vec<&'static str>) {
    let device = |text: &str| -> String { text.split_whitespace().take(2).collect::<Vec<_>>().join(" ") };
    let denied: Vec<String> = rules
        .iter()
        .filter(|d| !d.allow() && is_specific(d))
        .map(|d| device(&rule(d)))
        .collect();
    ALWAYS_ALLOWED
        .iter()
        .partition(|default| denied.contains(&device(default)))
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
/// then the devices every container may use (but for those a rule denies
/// by name: see [`always_allowed`]). A resource asked for where burrow
/// could not place the container (no delegation) is an error naming the
/// field.
///
/// Device rules without a devices cgroup (not root, no delegation: the
/// container runs in a user namespace): allow rules and wildcard denies
/// (runc's `spec --rootless` and the engines send `{"allow": false,
/// "access": "rwm"}`) are accepted, since nothing is denied without a
/// cgroup and the user namespace already keeps the container from device
/// nodes it was not given. A deny of one named device (`c 1:3`) is a limit
/// the user asked for that nothing would enforce, and is refused by field.
/// (runc 1.1.5 ignores every rule there, that one too.)
pub fn apply(resources: Option<&LinuxResources>, devices: &[LinuxDevice], leaves: &[PathBuf]) -> Result<()> {
    let rules = resources.and_then(|r| r.devices().clone()).unwrap_or_default();
    let (named, rest) = always_allowed(&rules);
    match cgroups::v1_leaf_for(leaves, "devices") {
        Some(dir) => {
            let mut files = DeviceFiles::new(dir);
            files.write(false, "a")?;
            for allowed in named {
                files.write(true, allowed)?;
            }
            for (i, entry) in devices.iter().enumerate() {
                let Some(entry) = node_rule(entry) else { continue };
                // A node the parent cgroup does not allow stays unusable;
                // that is not a reason to fail, but is said.
                match files.write(true, &entry) {
                    Err(OciError::Io { error, .. }) if error.raw_os_error() == Some(libc::EPERM) => {
                        refused_by_parent(&format!("linux.devices[{i}]"), &entry)
                    }
                    other => other?,
                }
            }
            for (i, d) in rules.iter().enumerate() {
                match files.write(d.allow(), &rule(d)) {
                    // An allow rule wider than the parent cgroup permits
                    // (`a *:* rwm` for --privileged, below a restricted
                    // parent) leaves what the parent allows: a warning.
                    // (runc 1.1.5 fails the create instead.)
                    Err(OciError::Io { error, .. }) if d.allow() && error.raw_os_error() == Some(libc::EPERM) => {
                        refused_by_parent(&format!("linux.resources.devices[{i}]"), &rule(d))
                    }
                    other => other?,
                }
            }
            for allowed in rest {
                files.write(true, allowed)?;
            }
        }
        // cgroup2 has no devices controller: an eBPF program in the
        // container's cgroup enforces the same rules.
        None => {
            // (Loading one needs root.)
            let v2 = cgroups::v2_leaf(leaves).filter(|_| burrow::is_host_root());
            if let Some(dir) = v2 {
                crate::device_filter::attach(dir, &device_rules(devices, &rules))?;
            } else if burrow::is_host_root() && !rules.is_empty() {
                return Err(OciError::Unsupported {
                    field: "linux.resources.devices".into(),
                    reason: "this host has no devices cgroup to apply them in".into(),
                });
            } else if let Some(i) = rules.iter().position(|d| !d.allow() && is_specific(d)) {
                return Err(OciError::Unsupported {
                    field: format!("linux.resources.devices[{i}]"),
                    reason: format!(
                        "denies the device {:?}, and there is no devices cgroup to enforce it in \
                         (not root, and no delegated cgroup); allow rules and denies of every device \
                         (or of a kind) need none",
                        rule(&rules[i])
                    ),
                });
            }
        }
    }
    match resources {
        Some(r) => apply_limits(r, leaves),
        None => Ok(()),
    }
}

/// Say on stderr that the parent devices cgroup refused the allow rule
/// `rule` of `field`: the container runs, with what the parent allows.
fn refused_by_parent(field: &str, rule: &str) {
    tracing::warn!(
        "{field}: the parent devices cgroup refuses {rule:?}; the container gets only what the parent allows"
    );
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
/// always-allowed devices the config denies by name, the config's device
/// nodes, its rules, the other devices every container may use.
fn device_rules(devices: &[LinuxDevice], rules: &[LinuxDeviceCgroup]) -> Vec<crate::device_filter::Rule> {
    use crate::device_filter::Rule;
    let (named, rest) = always_allowed(rules);
    let mut out = vec![Rule::parse(false, "a").expect("a valid rule")];
    out.extend(named.iter().filter_map(|r| Rule::parse(true, r)));
    out.extend(
        devices
            .iter()
            .filter_map(node_rule)
            .filter_map(|r| Rule::parse(true, &r)),
    );
    out.extend(rules.iter().filter_map(|r| Rule::parse(r.allow(), &rule(r))));
    out.extend(rest.iter().filter_map(|r| Rule::parse(true, r)));
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
    // net_cls and net_prio have no v2 counterpart: on a host with v1
    // hierarchies (hybrid, as here) they are simply not mounted, which the
    // caller says; only a unified host hands them to the v2 driver, which
    // refuses them as v2's.
    if matches!(section, Section::NetClass | Section::NetPrio) && !unified_only() {
        return None;
    }
    let leaf = cgroups::v2_leaf(leaves)?;
    let enabled = v2.is_empty()
        || cgroupfs::read_to_string(&leaf.join("cgroup.controllers"))
            .is_ok_and(|c| c.split_whitespace().any(|x| x == v2));
    enabled.then_some((leaf, &V2 as &'static dyn Driver))
}

/// Whether the host mounts cgroup2 alone (no v1 hierarchy).
fn unified_only() -> bool {
    cgroups::mounted_under(Path::new("/")).iter().all(|m| m.is_v2())
}

/// Whether a v1 hierarchy with `controller` is mounted.
fn v1_mounted(controller: &str) -> bool {
    cgroups::mounted_under(Path::new("/"))
        .iter()
        .any(|m| m.controllers.iter().any(|c| c == controller))
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
            let name = match V1.controller(section) {
                "" => "cgroup2",
                name => name,
            };
            let reason = if burrow::is_host_root() && name != "cgroup2" && !v1_mounted(name) {
                match V2.controller(section) {
                    "" => format!("this host has no {name} hierarchy mounted (and cgroup v2 has no {name})"),
                    v2 => format!(
                        "this host has no {name} hierarchy mounted, nor the {v2} controller enabled in cgroup v2"
                    ),
                }
            } else {
                format!("no {name} cgroup to apply it in (no such controller here, or not root and no delegation)")
            };
            return Err(OciError::Unsupported {
                field: format!("linux.resources.{field}"),
                reason,
            });
        };
        write_all(leaf, driver.name(), plan(driver).map_err(unsupported)?)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(json: serde_json::Value) -> Vec<LinuxDeviceCgroup> {
        serde_json::from_value(json).unwrap()
    }

    /// A deny of one named device moves that default before the config's
    /// rules (so the deny wins); a blanket deny moves nothing.
    #[test]
    fn a_device_denied_by_name_wins_over_the_defaults() {
        let blanket = rules(serde_json::json!([{"allow": false, "access": "rwm"}]));
        assert_eq!(always_allowed(&blanket), (vec![], ALWAYS_ALLOWED.to_vec()));
        let named = rules(serde_json::json!([
            {"allow": false, "access": "rwm"},
            {"allow": false, "type": "c", "major": 1, "minor": 3, "access": "rwm"},
            // Wildcards name no one device: no default moves for them.
            {"allow": false, "type": "c", "major": 136, "access": "rwm"},
            {"allow": false, "type": "c", "major": 1, "access": "w"}
        ]));
        let (first, last) = always_allowed(&named);
        assert_eq!(first, ["c 1:3 rwm"]);
        assert!(
            !last.contains(&"c 1:3 rwm") && last.contains(&"c 136:* rwm"),
            "{last:?}"
        );
        // The v2 program's rules, in v1's order: deny all, the named
        // default, the config's rules, the other defaults.
        let order: Vec<String> = device_rules(&[], &named)
            .iter()
            .map(|r| format!("{} {} {:?}:{:?} {}", r.allow, r.kind, r.major, r.minor, r.access))
            .collect();
        assert_eq!(order[0], "false a None:None rwm");
        assert_eq!(order[1], "true c Some(1):Some(3) rwm");
        assert_eq!(order[3], "false c Some(1):Some(3) rwm");
        assert_eq!(order.len(), 1 + 1 + named.len() + ALWAYS_ALLOWED.len() - 1);
        assert!(!order[5..].iter().any(|r| r.contains("Some(1):Some(3)")), "{order:?}");
    }

    /// Which rules name one device.
    #[test]
    fn specific_rules() {
        let list = rules(serde_json::json!([
            {"allow": false, "type": "c", "major": 1, "minor": 3},
            {"allow": false, "type": "a", "major": 1, "minor": 3},
            {"allow": false, "type": "b", "major": 8},
            {"allow": false}
        ]));
        let specific: Vec<bool> = list.iter().map(is_specific).collect();
        assert_eq!(specific, [true, false, false, false]);
    }

    /// On a host with v1 hierarchies but no net_cls one (as here),
    /// network.classID is refused as "not mounted", not as cgroup v2's.
    #[test]
    fn net_cls_not_mounted_is_said_so() {
        if !burrow::is_host_root() || unified_only() || v1_mounted("net_cls") {
            eprintln!("not a root on a v1 host without net_cls: nothing to test");
            return;
        }
        let r: LinuxResources = serde_json::from_value(serde_json::json!({"network": {"classID": 5}})).unwrap();
        let err = apply_limits(&r, &[]).unwrap_err().to_string();
        assert!(
            err.contains("linux.resources.network") && err.contains("no net_cls hierarchy mounted"),
            "{err}"
        );
    }
}
