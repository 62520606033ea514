//! `config.json` → [`burrow::ContainerSpec`].
//!
//! Every field is either honoured or refused with an error naming it; none
//! is silently ignored. The core never sees OCI types.

use std::path::{Path, PathBuf};

use burrow::{Capabilities, Clock, ContainerSpec, IdMap, Limits, Mount, Namespace, NamespaceSet, Rlimit, Root};
use oci_spec::runtime::{LinuxNamespaceType, LinuxPersonalityDomain, Process, Spec};

use crate::error::{decode, OciError, Result};

/// Load `bundle/config.json`.
pub fn load(bundle: &Path) -> Result<Spec> {
    let path = bundle.join("config.json");
    let text = std::fs::read_to_string(&path).map_err(|e| OciError::Bundle(format!("{}: {e}", path.display())))?;
    parse_config(&text).map_err(|e| match e {
        OciError::Json { path: at, reason, .. } => OciError::Json {
            file: path.display().to_string(),
            path: at,
            reason,
        },
        other => other,
    })
}

/// Parse the text of a `config.json` (JSON, then its `ociVersion`). A
/// value of the wrong type or shape is refused naming its JSON path, as
/// `config.json: process.user.uid: invalid type: ...`.
pub fn parse_config(text: &str) -> Result<Spec> {
    let config: Spec = decode("config.json", text)?;
    check_version(config.version())?;
    Ok(config)
}

/// Parse the JSON of an `exec --process` file (named `file` in errors):
/// a process object, with the fields this build cannot honour refused.
pub fn parse_process(file: &str, text: &str) -> Result<Process> {
    let process: Process = decode(file, text)?;
    check_process(&process)?;
    Ok(process)
}

/// `ociVersion` must be a 1.x version (SemVer), the major version this
/// runtime implements.
fn check_version(version: &str) -> Result<()> {
    let core = version.split(['-', '+']).next().unwrap_or_default();
    let parts: Vec<&str> = core.split('.').collect();
    let numeric = parts.len() == 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    if !numeric || parts[0] != "1" {
        return Err(OciError::Field {
            field: "ociVersion".into(),
            reason: format!("{version:?} is not a 1.x.y runtime-spec version"),
        });
    }
    Ok(())
}

/// Whether a foreground `run` of `config` can do without a sealed copy of
/// burrow (CVE-2019-5736): its container has a pid namespace of its own, so
/// every process of it dies with it while the `burrow run` that waits for
/// it keeps the binary busy (unwritable); and no hook of the container's
/// runs in there while burrow's code does (createContainer and
/// startContainer hooks).
pub fn runs_alone(config: &Spec) -> bool {
    let own_pid_ns = config
        .linux()
        .as_ref()
        .and_then(|l| l.namespaces().clone())
        .is_some_and(|list| {
            list.iter()
                .any(|n| n.typ() == LinuxNamespaceType::Pid && n.path().is_none())
        });
    let inside_hooks = config.hooks().as_ref().is_some_and(|h| {
        h.create_container().as_ref().is_some_and(|v| !v.is_empty())
            || h.start_container().as_ref().is_some_and(|v| !v.is_empty())
    });
    own_pid_ns && !inside_hooks
}

/// Refuse `field` with `why`.
fn refuse<T>(field: &str, why: impl Into<String>) -> Result<T> {
    Err(OciError::Unsupported {
        field: field.to_string(),
        reason: why.into(),
    })
}

/// Convert a loaded config of `bundle` into a spec. `gate` is the FIFO the
/// container waits at until `start` (none for a foreground `run`);
/// `console_socket` receives the terminal's master when `process.terminal`
/// is set. `cgroup_leaves` are the container's cgroup directories, one per
/// mounted hierarchy (as `cgroups::dirs` gives them), for its view of them.
pub fn to_spec(
    config: &Spec,
    bundle: &Path,
    gate: Option<&Path>,
    console_socket: Option<&Path>,
    cgroup_leaves: &[PathBuf],
) -> Result<ContainerSpec> {
    check_unsupported(config)?;
    let process = config.process().as_ref().ok_or_else(|| OciError::Field {
        field: "process".into(),
        reason: "missing".into(),
    })?;
    let args = process.args().clone().unwrap_or_default();
    if args.is_empty() {
        return Err(OciError::Field {
            field: "process.args".into(),
            reason: "empty".into(),
        });
    }
    let root = config.root().as_ref().ok_or_else(|| OciError::Field {
        field: "root".into(),
        reason: "missing".into(),
    })?;
    let rootfs = if root.path().is_absolute() {
        root.path().clone()
    } else {
        bundle.join(root.path())
    };
    if !rootfs.is_dir() {
        return Err(OciError::Field {
            field: "root.path".into(),
            reason: format!("{} is not a directory", rootfs.display()),
        });
    }
    let linux = config.linux().clone().unwrap_or_default();
    let new_mount_ns = linux.namespaces().as_ref().is_some_and(|list| {
        list.iter()
            .any(|n| n.typ() == LinuxNamespaceType::Mount && n.path().is_none())
    });
    if !new_mount_ns {
        return refuse(
            "linux.namespaces",
            "building the container's root needs a new mount namespace (\"mount\" without a path)",
        );
    }

    let mut b = ContainerSpec::builder()
        .namespaces(NamespaceSet::empty())
        .essentials(false)
        .root(Root::Directory(rootfs))
        .root_read_only(root.readonly().unwrap_or(false))
        .command(args)
        .cwd(process.cwd().clone());
    for (i, ns) in linux.namespaces().clone().unwrap_or_default().iter().enumerate() {
        let kind = namespace(ns.typ());
        match ns.path() {
            Some(path) => b = b.join(kind, path),
            None if kind.is_supported() => b = b.unshare(kind),
            None => {
                return refuse(
                    &format!("linux.namespaces[{i}]"),
                    format!("this kernel has no {kind} namespace"),
                )
            }
        }
    }
    for m in linux.uid_mappings().clone().unwrap_or_default() {
        b = b.uid_map(IdMap::new(m.container_id(), m.host_id(), m.size()));
    }
    for m in linux.gid_mappings().clone().unwrap_or_default() {
        b = b.gid_map(IdMap::new(m.container_id(), m.host_id(), m.size()));
    }
    if let Some(name) = config.hostname() {
        b = b.hostname(name.clone());
    }
    if let Some(name) = config.domainname() {
        b = b.domainname(name.clone());
    }
    for (i, kv) in process.env().clone().unwrap_or_default().iter().enumerate() {
        match kv.split_once('=') {
            Some((k, v)) => b = b.env(k, v),
            None => return refuse(&format!("process.env[{i}]"), format!("{kv:?} is not KEY=VALUE")),
        }
    }
    let user = process.user();
    b = b
        .user(user.uid(), user.gid())
        .additional_gids(user.additional_gids().clone().unwrap_or_default());
    // No capabilities field means none at all (as runc does), not all.
    b = b.capabilities(capabilities(process).unwrap_or_default());
    // runc's default is rslave: host mounts still show up inside.
    b = b.propagation(match linux.rootfs_propagation().as_deref() {
        Some("private") => libc::MS_PRIVATE,
        Some("rprivate") => libc::MS_PRIVATE | libc::MS_REC,
        Some("slave") => libc::MS_SLAVE,
        _ => libc::MS_SLAVE | libc::MS_REC,
    });
    // Shared and unbindable roots: set on the container's own root once it
    // is cut off from the host (see ContainerSpec::root_propagation).
    b = b.root_propagation(match linux.rootfs_propagation().as_deref() {
        Some("shared") => libc::MS_SHARED,
        Some("rshared") => libc::MS_SHARED | libc::MS_REC,
        Some("unbindable") => libc::MS_UNBINDABLE,
        Some("runbindable") => libc::MS_UNBINDABLE | libc::MS_REC,
        _ => 0,
    });
    let cgroups = CgroupView {
        rootless: !burrow::is_host_root(),
        own_namespace: linux
            .namespaces()
            .as_ref()
            .is_some_and(|list| list.iter().any(|n| n.typ() == LinuxNamespaceType::Cgroup)),
        leaves: cgroup_leaves,
    };
    for (i, m) in config.mounts().clone().unwrap_or_default().iter().enumerate() {
        for op in mount(i, m, bundle, cgroups)? {
            b = b.mount(op);
        }
    }
    let configured: Vec<PathBuf> = linux
        .devices()
        .clone()
        .unwrap_or_default()
        .iter()
        .map(|d| d.path().clone())
        .collect();
    // Real root makes device nodes; in a user namespace they are bound from
    // the host's node of the same path.
    let can_mknod = burrow::is_host_root()
        && !linux
            .namespaces()
            .clone()
            .unwrap_or_default()
            .iter()
            .any(|n| n.typ() == LinuxNamespaceType::User);
    b = default_devices(b, &configured, can_mknod);
    for (i, d) in linux.devices().clone().unwrap_or_default().iter().enumerate() {
        let path = d.path();
        check_destination(&format!("linux.devices[{i}].path"), path)?;
        let kind = serde_json::to_value(d.typ())
            .ok()
            .and_then(|v| v.as_str().and_then(|s| s.chars().next()));
        if can_mknod {
            b = b.mount(Mount::Node {
                destination: path.clone(),
                kind: kind.unwrap_or('c'),
                major: d.major() as u64,
                minor: d.minor() as u64,
                mode: d.file_mode().unwrap_or(0o666),
                uid: d.uid().unwrap_or(0),
                gid: d.gid().unwrap_or(0),
            });
        } else if path.exists() {
            b = b.mount(Mount::Device {
                source: path.clone(),
                destination: path.clone(),
            });
        } else {
            return refuse(
                &format!("linux.devices[{i}]"),
                format!(
                    "{} does not exist on the host to be bound into a user namespace",
                    path.display()
                ),
            );
        }
    }
    let mut sysctl: Vec<(String, String)> = linux.sysctl().clone().unwrap_or_default().into_iter().collect();
    sysctl.sort();
    for (k, v) in sysctl {
        b = b.sysctl(k, v);
    }
    for p in linux.masked_paths().clone().unwrap_or_default() {
        b = b.masked_path(p);
    }
    for p in linux.readonly_paths().clone().unwrap_or_default() {
        b = b.readonly_path(p);
    }
    b = b.limits(Limits {
        rlimits: rlimits(process)?,
        no_new_privileges: process.no_new_privileges().unwrap_or(false),
        umask: user.umask(),
        oom_score_adj: process.oom_score_adj(),
        personality: personality(&linux)?,
    });
    if let Some(profile) = linux.seccomp() {
        b = b.seccomp(crate::seccomp::profile(profile)?);
    }
    if let Some(rules) = landlock(config.annotations().as_ref())? {
        b = b.landlock(rules);
    }
    for (clock, offset) in time_offsets(&linux)? {
        b = b.time_offset(clock, offset.secs().unwrap_or(0), offset.nanosecs().unwrap_or(0));
    }
    match (process.terminal().unwrap_or(false), console_socket) {
        (true, Some(socket)) => {
            b = b.terminal(burrow::Terminal {
                console_socket: socket.to_path_buf(),
                size: process.console_size().map(|s| (s.height() as u16, s.width() as u16)),
            })
        }
        (true, None) => return refuse("process.terminal", "a terminal needs --console-socket to send it to"),
        (false, Some(socket)) => {
            return refuse(
                "--console-socket",
                format!("{}: only valid with process.terminal set to true", socket.display()),
            )
        }
        (false, None) => {}
    }
    let hooks = crate::hooks::Hooks::of(config);
    b = b.pause_before_pivot(hooks.need_pause());
    for h in &hooks.create_container {
        b = b.hook_before_pivot(crate::hooks::to_core(h));
    }
    for h in &hooks.start_container {
        b = b.hook_before_exec(crate::hooks::to_core(h));
    }
    if let Some(gate) = gate {
        b = b.start_gate(gate);
    }
    b.build().map_err(from_core)
}

/// The core's names of spec fields and the `config.json` fields they are
/// made from: a refusal by the core's validation is put in terms of the
/// config. (Mount destinations are checked here first: the core's mount
/// indices count the default devices and links too.)
const CORE_FIELDS: [(&str, &str); 21] = [
    ("namespaces", "linux.namespaces"),
    ("join", "linux.namespaces"),
    ("uid_maps", "linux.uidMappings"),
    ("gid_maps", "linux.gidMappings"),
    ("user", "process.user"),
    ("payload", "process.args"),
    ("env", "process.env"),
    ("cwd", "process.cwd"),
    ("capabilities", "process.capabilities"),
    ("root", "root.path"),
    ("root_read_only", "root.readonly"),
    ("propagation", "linux.rootfsPropagation"),
    ("root_propagation", "linux.rootfsPropagation"),
    ("masked_paths", "linux.maskedPaths"),
    ("readonly_paths", "linux.readonlyPaths"),
    ("sysctl", "linux.sysctl"),
    ("time_offsets", "linux.timeOffsets"),
    ("seccomp.default_action", "linux.seccomp.defaultAction"),
    ("seccomp.rules", "linux.seccomp.syscalls"),
    ("landlock.read_only", "annotations.org.burrow.landlock.ro"),
    ("landlock.read_write", "annotations.org.burrow.landlock.rw"),
];

/// A core error about the spec as a refusal of the `config.json` field
/// it comes from; other errors as they are.
pub(crate) fn from_core(error: burrow::Error) -> OciError {
    let burrow::Error::InvalidSpec { field, reason } = error else {
        return OciError::Core(error);
    };
    let renamed = CORE_FIELDS.iter().find_map(|(core, config)| {
        let rest = field.strip_prefix(core)?;
        match rest.chars().next() {
            None | Some('[') | Some('.') => Some(format!("{config}{rest}")),
            Some(_) => None,
        }
    });
    let field = match renamed {
        // A rule is made from the syscalls entry of the same index, its
        // syscalls from the entry's names.
        Some(f) if f.starts_with("linux.seccomp.syscalls[") => match f.strip_suffix(".syscalls") {
            Some(entry) => format!("{entry}.names"),
            None => f,
        },
        // The Landlock annotations are lists in one string: no index.
        Some(f) if f.starts_with("annotations.") => f.split('[').next().unwrap_or_default().to_string(),
        Some(f) => f,
        // Mounts (by the core's count, not the config's) and what does not
        // come from the config: in the core's terms.
        None => return OciError::Core(burrow::Error::InvalidSpec { field, reason }),
    };
    OciError::Field { field, reason }
}

/// A path the container gets something mounted or made at: absolute,
/// without `..`, NUL or the root itself (as the core's validation wants).
fn check_destination(field: &str, path: &Path) -> Result<()> {
    let why = if !path.is_absolute() {
        format!("{} is not absolute", path.display())
    } else if path.components().any(|c| c == std::path::Component::ParentDir) {
        format!("{} contains \"..\"", path.display())
    } else if path.as_os_str().as_encoded_bytes().contains(&0) {
        "the path contains a NUL byte".into()
    } else if path == Path::new("/") {
        "cannot mount over the root itself".into()
    } else {
        return Ok(());
    };
    refuse(field, why)
}

/// `process.capabilities` by name, if the process has them.
pub fn capabilities(process: &oci_spec::runtime::Process) -> Option<Capabilities> {
    let caps = process.capabilities().as_ref()?;
    let names = |set: &Option<oci_spec::runtime::Capabilities>| -> Vec<String> {
        let mut v: Vec<String> = set
            .iter()
            .flatten()
            .filter_map(|c| serde_json::to_value(c).ok()?.as_str().map(str::to_owned))
            .collect();
        v.sort();
        v
    };
    Some(Capabilities {
        bounding: names(caps.bounding()),
        effective: names(caps.effective()),
        permitted: names(caps.permitted()),
        inheritable: names(caps.inheritable()),
        ambient: names(caps.ambient()),
    })
}

fn namespace(typ: LinuxNamespaceType) -> Namespace {
    match typ {
        LinuxNamespaceType::Mount => Namespace::Mnt,
        LinuxNamespaceType::Cgroup => Namespace::Cgroup,
        LinuxNamespaceType::Uts => Namespace::Uts,
        LinuxNamespaceType::Ipc => Namespace::Ipc,
        LinuxNamespaceType::User => Namespace::User,
        LinuxNamespaceType::Pid => Namespace::Pid,
        LinuxNamespaceType::Network => Namespace::Net,
        LinuxNamespaceType::Time => Namespace::Time,
    }
}

/// Fields this build cannot honour yet: refused by name.
fn check_unsupported(config: &Spec) -> Result<()> {
    if let Some(process) = config.process() {
        check_process(process)?;
    }
    check_linux(config)
}

/// Process fields this build cannot honour (also for `exec --process`).
pub fn check_process(process: &oci_spec::runtime::Process) -> Result<()> {
    {
        if process.apparmor_profile().as_ref().is_some_and(|p| !p.is_empty()) {
            return refuse("process.apparmorProfile", "this host has no AppArmor support in burrow");
        }
        if process.selinux_label().as_ref().is_some_and(|l| !l.is_empty()) {
            return refuse("process.selinuxLabel", "this host has no SELinux support in burrow");
        }
        if process.io_priority().is_some() {
            return refuse("process.ioPriority", "not supported yet");
        }
        if process.scheduler().is_some() {
            return refuse("process.scheduler", "not supported yet");
        }
        if process.exec_cpu_affinity().is_some() {
            return refuse("process.execCPUAffinity", "not supported yet");
        }
    }
    Ok(())
}

/// Linux fields this build cannot honour.
fn check_linux(config: &Spec) -> Result<()> {
    if let Some(linux) = config.linux() {
        if let Some(resources) = linux.resources() {
            if let Err(field) = crate::resources::only_supported(resources) {
                return refuse(&field, "RDMA limits are not supported");
            }
        }
        if linux.intel_rdt().is_some() {
            return refuse("linux.intelRdt", "not supported");
        }
        if linux.mount_label().as_ref().is_some_and(|l| !l.is_empty()) {
            return refuse("linux.mountLabel", "this host has no SELinux support in burrow");
        }
        if linux.memory_policy().is_some() {
            return refuse("linux.memoryPolicy", "not supported yet");
        }
        if linux.net_devices().as_ref().is_some_and(|d| !d.is_empty()) {
            return refuse("linux.netDevices", "not supported yet");
        }
        match linux.rootfs_propagation().as_deref() {
            None | Some("") => {}
            Some(p) if PROPAGATION_OPTIONS.iter().any(|(name, _)| *name == p) => {}
            Some(other) => {
                return refuse(
                    "linux.rootfsPropagation",
                    format!("{other:?} is not a propagation type"),
                )
            }
        }
    }
    Ok(())
}

/// The annotation naming Landlock's read-only paths (colon-separated).
pub const LANDLOCK_RO: &str = "org.burrow.landlock.ro";
/// The annotation naming Landlock's read-write paths (colon-separated).
pub const LANDLOCK_RW: &str = "org.burrow.landlock.rw";

/// A Landlock ruleset from the annotations, when they name one.
fn landlock(annotations: Option<&std::collections::HashMap<String, String>>) -> Result<Option<burrow::Landlock>> {
    let paths = |key: &str| -> Result<Vec<PathBuf>> {
        let list: Vec<PathBuf> = annotations
            .and_then(|a| a.get(key))
            .map(|v| v.split(':').filter(|p| !p.is_empty()).map(PathBuf::from).collect())
            .unwrap_or_default();
        match list.iter().find(|p| !p.is_absolute()) {
            Some(p) => refuse(
                &format!("annotations.{key}"),
                format!("{} is not absolute", p.display()),
            ),
            None => Ok(list),
        }
    };
    let (read_only, read_write) = (paths(LANDLOCK_RO)?, paths(LANDLOCK_RW)?);
    if read_only.is_empty() && read_write.is_empty() {
        return Ok(None);
    }
    Ok(Some(burrow::Landlock { read_only, read_write }))
}

/// `linux.personality` → the `personality(2)` value.
fn personality(linux: &oci_spec::runtime::Linux) -> Result<Option<u64>> {
    /// Personality flags by name, from `<linux/personality.h>`.
    const FLAGS: [(&str, u64); 11] = [
        ("UNAME26", 0x0020000),
        ("ADDR_NO_RANDOMIZE", 0x0040000),
        ("FDPIC_FUNCPTRS", 0x0080000),
        ("MMAP_PAGE_ZERO", 0x0100000),
        ("ADDR_COMPAT_LAYOUT", 0x0200000),
        ("READ_IMPLIES_EXEC", 0x0400000),
        ("ADDR_LIMIT_32BIT", 0x0800000),
        ("SHORT_INODE", 0x1000000),
        ("WHOLE_SECONDS", 0x2000000),
        ("STICKY_TIMEOUTS", 0x4000000),
        ("ADDR_LIMIT_3GB", 0x8000000),
    ];
    let Some(p) = linux.personality() else {
        return Ok(None);
    };
    let mut persona = match p.domain() {
        LinuxPersonalityDomain::PerLinux => 0x0000,
        LinuxPersonalityDomain::PerLinux32 => 0x0008,
    };
    for (i, name) in p.flags().clone().unwrap_or_default().iter().enumerate() {
        match FLAGS.iter().find(|(n, _)| n == name) {
            Some((_, flag)) => persona |= flag,
            None => {
                return refuse(
                    &format!("linux.personality.flags[{i}]"),
                    format!("unknown personality flag {name:?}"),
                )
            }
        }
    }
    Ok(Some(persona))
}

/// `linux.timeOffsets` → clocks and offsets (which need a new time
/// namespace).
fn time_offsets(linux: &oci_spec::runtime::Linux) -> Result<Vec<(Clock, oci_spec::runtime::LinuxTimeOffset)>> {
    let mut out = Vec::new();
    for (name, offset) in linux.time_offsets().clone().unwrap_or_default() {
        let clock = match name.as_str() {
            "monotonic" => Clock::Monotonic,
            "boottime" => Clock::Boottime,
            other => {
                return refuse(
                    &format!("linux.timeOffsets.{other}"),
                    "only monotonic and boottime can be offset",
                )
            }
        };
        if offset.nanosecs().unwrap_or(0) >= 1_000_000_000 {
            return refuse(
                &format!("linux.timeOffsets.{name}.nanosecs"),
                "must be below one second",
            );
        }
        out.push((clock, offset));
    }
    let new_time_ns = linux.namespaces().as_ref().is_some_and(|list| {
        list.iter()
            .any(|n| n.typ() == LinuxNamespaceType::Time && n.path().is_none())
    });
    if !out.is_empty() && !new_time_ns {
        return refuse(
            "linux.timeOffsets",
            "offsets need a new time namespace in linux.namespaces",
        );
    }
    out.sort_by_key(|(clock, _)| *clock as u8);
    Ok(out)
}

/// `process.rlimits` → rlimit numbers.
pub fn rlimits(process: &oci_spec::runtime::Process) -> Result<Vec<Rlimit>> {
    let mut out = Vec::new();
    for (i, r) in process.rlimits().clone().unwrap_or_default().iter().enumerate() {
        let name = serde_json::to_value(r.typ())
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        let resource = match name.as_str() {
            "RLIMIT_CPU" => libc::RLIMIT_CPU,
            "RLIMIT_FSIZE" => libc::RLIMIT_FSIZE,
            "RLIMIT_DATA" => libc::RLIMIT_DATA,
            "RLIMIT_STACK" => libc::RLIMIT_STACK,
            "RLIMIT_CORE" => libc::RLIMIT_CORE,
            "RLIMIT_RSS" => libc::RLIMIT_RSS,
            "RLIMIT_NPROC" => libc::RLIMIT_NPROC,
            "RLIMIT_NOFILE" => libc::RLIMIT_NOFILE,
            "RLIMIT_MEMLOCK" => libc::RLIMIT_MEMLOCK,
            "RLIMIT_AS" => libc::RLIMIT_AS,
            "RLIMIT_LOCKS" => libc::RLIMIT_LOCKS,
            "RLIMIT_SIGPENDING" => libc::RLIMIT_SIGPENDING,
            "RLIMIT_MSGQUEUE" => libc::RLIMIT_MSGQUEUE,
            "RLIMIT_NICE" => libc::RLIMIT_NICE,
            "RLIMIT_RTPRIO" => libc::RLIMIT_RTPRIO,
            "RLIMIT_RTTIME" => libc::RLIMIT_RTTIME,
            other => {
                return refuse(
                    &format!("process.rlimits[{i}].type"),
                    format!("unknown limit {other:?}"),
                )
            }
        };
        out.push(Rlimit {
            // glibc's constants are u32, musl's i32; all are small.
            resource: resource as u32,
            soft: r.soft(),
            hard: r.hard(),
        });
    }
    Ok(out)
}

/// Parsed mount options.
#[derive(Default)]
struct Options {
    flags: u64,
    clear: u64,
    recursive_set: u64,
    recursive_clear: u64,
    propagation: Vec<u64>,
    data: Vec<String>,
    /// `tmpcopyup`: fill the new tmpfs with what the directory held.
    copy_up: bool,
}

/// Mount options that are `MS_*` flags: name, flags set, flags cleared.
const FLAG_OPTIONS: [(&str, u64, u64); 27] = [
    ("ro", libc::MS_RDONLY, 0),
    ("rw", 0, libc::MS_RDONLY),
    ("nosuid", libc::MS_NOSUID, 0),
    ("suid", 0, libc::MS_NOSUID),
    ("nodev", libc::MS_NODEV, 0),
    ("dev", 0, libc::MS_NODEV),
    ("noexec", libc::MS_NOEXEC, 0),
    ("exec", 0, libc::MS_NOEXEC),
    ("sync", libc::MS_SYNCHRONOUS, 0),
    ("async", 0, libc::MS_SYNCHRONOUS),
    ("dirsync", libc::MS_DIRSYNC, 0),
    ("mand", libc::MS_MANDLOCK, 0),
    ("nomand", 0, libc::MS_MANDLOCK),
    ("atime", 0, libc::MS_NOATIME),
    ("noatime", libc::MS_NOATIME, 0),
    ("diratime", 0, libc::MS_NODIRATIME),
    ("nodiratime", libc::MS_NODIRATIME, 0),
    ("relatime", libc::MS_RELATIME, 0),
    ("norelatime", 0, libc::MS_RELATIME),
    ("strictatime", libc::MS_STRICTATIME, 0),
    ("nostrictatime", 0, libc::MS_STRICTATIME),
    ("silent", libc::MS_SILENT, 0),
    ("loud", 0, libc::MS_SILENT),
    ("lazytime", libc::MS_LAZYTIME, 0),
    ("nolazytime", 0, libc::MS_LAZYTIME),
    ("bind", libc::MS_BIND, 0),
    ("rbind", libc::MS_BIND | libc::MS_REC, 0),
];

/// Propagation options: name and `MS_*` flags.
const PROPAGATION_OPTIONS: [(&str, u64); 8] = [
    ("private", libc::MS_PRIVATE),
    ("rprivate", libc::MS_PRIVATE | libc::MS_REC),
    ("shared", libc::MS_SHARED),
    ("rshared", libc::MS_SHARED | libc::MS_REC),
    ("slave", libc::MS_SLAVE),
    ("rslave", libc::MS_SLAVE | libc::MS_REC),
    ("unbindable", libc::MS_UNBINDABLE),
    ("runbindable", libc::MS_UNBINDABLE | libc::MS_REC),
];

/// Recursive mount options (mount_setattr(2) with `AT_RECURSIVE`): name,
/// flags set, flags cleared on the whole tree.
const RECURSIVE_OPTIONS: [(&str, u64, u64); 14] = [
    ("rro", libc::MS_RDONLY, 0),
    ("rrw", 0, libc::MS_RDONLY),
    ("rnosuid", libc::MS_NOSUID, 0),
    ("rsuid", 0, libc::MS_NOSUID),
    ("rnodev", libc::MS_NODEV, 0),
    ("rdev", 0, libc::MS_NODEV),
    ("rnoexec", libc::MS_NOEXEC, 0),
    ("rexec", 0, libc::MS_NOEXEC),
    ("rnoatime", libc::MS_NOATIME, 0),
    ("ratime", 0, libc::MS_NOATIME),
    ("rrelatime", libc::MS_RELATIME, 0),
    ("rstrictatime", libc::MS_STRICTATIME, 0),
    ("rnodiratime", libc::MS_NODIRATIME, 0),
    ("rdiratime", 0, libc::MS_NODIRATIME),
];

/// Options other runtimes know that burrow refuses by name.
const UNSUPPORTED_OPTIONS: [&str; 4] = ["idmap", "ridmap", "recursive", "copy-symlink"];

/// Every mount option name burrow honours (for `features`); anything else
/// that is not refused is passed to the file system as data.
pub fn mount_option_names() -> Vec<&'static str> {
    FLAG_OPTIONS
        .iter()
        .map(|o| o.0)
        .chain(PROPAGATION_OPTIONS.iter().map(|o| o.0))
        .chain(RECURSIVE_OPTIONS.iter().map(|o| o.0))
        .chain(["tmpcopyup"])
        .collect()
}

fn options(field: &str, opts: &[String]) -> Result<Options> {
    let mut o = Options::default();
    for opt in opts {
        if let Some((_, set, clear)) = FLAG_OPTIONS.iter().find(|f| f.0 == opt) {
            o.flags = (o.flags | set) & !clear;
            o.clear = (o.clear | clear) & !set;
        } else if let Some((_, set, clear)) = RECURSIVE_OPTIONS.iter().find(|f| f.0 == opt) {
            o.recursive_set = (o.recursive_set | set) & !clear;
            o.recursive_clear = (o.recursive_clear | clear) & !set;
        } else if let Some((_, flags)) = PROPAGATION_OPTIONS.iter().find(|f| f.0 == opt) {
            o.propagation.push(*flags);
        } else if opt == "tmpcopyup" {
            o.copy_up = true;
        } else if UNSUPPORTED_OPTIONS.contains(&opt.as_str()) {
            return refuse(field, format!("mount option {opt:?} is not supported yet"));
        } else {
            o.data.push(opt.clone());
        }
    }
    Ok(o)
}

/// One `mounts[i]` entry as mount operations (a cgroup mount becomes
/// several on a cgroup v1 host).
fn mount(i: usize, m: &oci_spec::runtime::Mount, bundle: &Path, cgroups: CgroupView<'_>) -> Result<Vec<Mount>> {
    let field = format!("mounts[{i}]");
    let opts = options(&format!("{field}.options"), m.options().as_deref().unwrap_or_default())?;
    let fstype = m.typ().clone().unwrap_or_else(|| "none".into());
    let destination = m.destination().clone();
    check_destination(&format!("{field}.destination"), &destination)?;
    if m.uid_mappings().as_ref().is_some_and(|v| !v.is_empty())
        || m.gid_mappings().as_ref().is_some_and(|v| !v.is_empty())
    {
        return refuse(
            &format!("{field}.uidMappings"),
            "id-mapped mounts are not supported yet",
        );
    }
    let source = m.source().clone().unwrap_or_else(|| PathBuf::from(&fstype));
    // A relative bind source is relative to the bundle, as in runc.
    let source = if source.is_relative() && (fstype == "bind" || opts.flags & libc::MS_BIND != 0) {
        bundle.join(source)
    } else {
        source
    };
    let is_bind = fstype == "bind" || opts.flags & libc::MS_BIND != 0;
    let mut flags = opts.flags;
    if is_bind {
        flags |= libc::MS_BIND;
        if !source.exists() {
            return refuse(
                &format!("{field}.source"),
                format!("{} does not exist", source.display()),
            );
        }
    }
    let data = opts.data.join(",");
    if !is_bind && (fstype == "cgroup" || fstype == "cgroup2") {
        return cgroup_mounts(&destination, flags, cgroups);
    }
    Ok(vec![Mount::Generic {
        source,
        destination,
        fstype: if is_bind { "none".into() } else { fstype },
        flags,
        clear: opts.clear,
        recursive_set: opts.recursive_set,
        recursive_clear: opts.recursive_clear,
        data,
        propagation: opts.propagation,
        copy_up: opts.copy_up,
    }])
}

/// What a `cgroup` mount shows, and how it is made.
#[derive(Clone, Copy)]
struct CgroupView<'a> {
    /// The caller is unprivileged (v1 cannot be mounted).
    rootless: bool,
    /// The container has a cgroup namespace of its own (made or joined).
    own_namespace: bool,
    /// The container's cgroup directory in each mounted hierarchy.
    leaves: &'a [PathBuf],
}

/// The container's view of cgroups at `dest`, one mount per hierarchy (a
/// tmpfs holds them on a v1 or hybrid host):
/// - in a cgroup namespace of its own, a new mount of each hierarchy,
///   which shows that namespace;
/// - in the host's cgroup namespace, a bind of the container's own cgroup
///   directory in each, as runc and crun do. A new cgroup2 mount there
///   would also reset the host's cgroup2 mount options (`nsdelegate`,
///   `memory_recursiveprot`) and wait for the kernel to apply them;
/// - rootless (where v1 cannot be mounted), a read-only recursive bind of
///   the host's `/sys/fs/cgroup`.
fn cgroup_mounts(dest: &Path, flags: u64, view: CgroupView<'_>) -> Result<Vec<Mount>> {
    let generic = |source: &Path, dest: PathBuf, fstype: &str, flags: u64, data: &str| Mount::Generic {
        source: source.into(),
        destination: dest,
        fstype: fstype.into(),
        flags,
        clear: 0,
        recursive_set: 0,
        recursive_clear: 0,
        data: data.into(),
        propagation: Vec::new(),
        copy_up: false,
    };
    let fs_flags = flags & !libc::MS_RDONLY | libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC;
    let ro = flags & libc::MS_RDONLY;
    if view.rootless {
        return Ok(vec![generic(
            Path::new("/sys/fs/cgroup"),
            dest.into(),
            "none",
            libc::MS_BIND | libc::MS_REC | libc::MS_RDONLY,
            "",
        )]);
    }
    let one = |h: &crate::cgroups::Mounted, at: PathBuf| {
        let fstype = if h.is_v2() { "cgroup2" } else { "cgroup" };
        match view.leaves.get(h.index) {
            // Its flags are set with the tree's at the end.
            Some(leaf) if !view.own_namespace => generic(leaf, at, "none", libc::MS_BIND, ""),
            _ => generic(Path::new(fstype), at, fstype, fs_flags | ro, &h.controllers.join(",")),
        }
    };
    let mounted = crate::cgroups::mounted_under(Path::new("/sys/fs/cgroup"));
    let mut ops = Vec::new();
    match mounted.iter().find(|h| h.name.as_os_str().is_empty()) {
        // A unified host: one cgroup2 mount is the whole view.
        Some(h) => ops.push(one(h, dest.into())),
        // Else a tmpfs with a directory per hierarchy.
        None => {
            ops.push(generic(Path::new("tmpfs"), dest.into(), "tmpfs", fs_flags, "mode=755"));
            ops.extend(mounted.iter().map(|h| one(h, dest.join(&h.name))));
        }
    }
    // The flags of the whole tree in one go (the tmpfs read-only too, as
    // runc and crun leave it).
    ops.push(Mount::Attributes {
        destination: dest.into(),
        set: fs_flags | ro,
        clear: 0,
    });
    Ok(ops)
}

/// The OCI default devices (null zero full random urandom tty, ptmx as a
/// link to the devpts one) and the standard links; those that
/// `linux.devices` names are left to it. Real root makes the nodes (cheaper
/// than binds, and fewer mounts to tear down); in a user namespace, which
/// cannot mknod, they are bound from the host's.
fn default_devices(
    mut b: burrow::ContainerSpecBuilder,
    configured: &[PathBuf],
    can_mknod: bool,
) -> burrow::ContainerSpecBuilder {
    // Their numbers are fixed by the kernel (Documentation/admin-guide/devices.txt).
    const NODES: [(&str, u64, u64); 6] = [
        ("/dev/null", 1, 3),
        ("/dev/zero", 1, 5),
        ("/dev/full", 1, 7),
        ("/dev/random", 1, 8),
        ("/dev/urandom", 1, 9),
        ("/dev/tty", 5, 0),
    ];
    for (dev, major, minor) in NODES {
        // An entry of linux.devices for the same path wins.
        if configured.iter().any(|c| c == Path::new(dev)) {
            continue;
        }
        if can_mknod {
            b = b.mount(Mount::Node {
                destination: dev.into(),
                kind: 'c',
                major,
                minor,
                mode: 0o666,
                uid: 0,
                gid: 0,
            });
        } else if Path::new(dev).exists() {
            b = b.mount(Mount::Device {
                source: dev.into(),
                destination: dev.into(),
            });
        }
    }
    b.symlink("pts/ptmx", "/dev/ptmx")
        .symlink("/proc/self/fd", "/dev/fd")
        .symlink("/proc/self/fd/0", "/dev/stdin")
        .symlink("/proc/self/fd/1", "/dev/stdout")
        .symlink("/proc/self/fd/2", "/dev/stderr")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn renamed(field: &str) -> String {
        let core = burrow::Error::InvalidSpec {
            field: field.into(),
            reason: "why".into(),
        };
        from_core(core).to_string()
    }

    #[test]
    fn core_fields_are_named_as_in_the_config() {
        assert_eq!(renamed("uid_maps"), "config.json: linux.uidMappings: why");
        assert_eq!(renamed("masked_paths[3]"), "config.json: linux.maskedPaths[3]: why");
        assert_eq!(
            renamed("capabilities.ambient"),
            "config.json: process.capabilities.ambient: why"
        );
        assert_eq!(renamed("root_propagation"), "config.json: linux.rootfsPropagation: why");
        assert_eq!(
            renamed("seccomp.rules[2].syscalls"),
            "config.json: linux.seccomp.syscalls[2].names: why"
        );
        assert_eq!(
            renamed("seccomp.rules[2].args"),
            "config.json: linux.seccomp.syscalls[2].args: why"
        );
        assert_eq!(
            renamed("landlock.read_write[1]"),
            "config.json: annotations.org.burrow.landlock.rw: why"
        );
        // The core's mount indices are not the config's; a field of the
        // core alone is not a config field either.
        assert_eq!(
            renamed("mounts[9].destination"),
            "invalid container spec: mounts[9].destination: why"
        );
        assert_eq!(renamed("start_gate"), "invalid container spec: start_gate: why");
        assert_eq!(renamed("rootless"), "invalid container spec: rootless: why");
    }
}
