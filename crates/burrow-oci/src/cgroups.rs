//! Placing an OCI container in its cgroup on every mounted hierarchy (v1
//! controllers and cgroup2 alike), and removing those cgroups at delete.
//! Resource limits are in `resources` and `limits`.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::error::{OciError, Result};

/// A mounted cgroup hierarchy.
struct Hierarchy {
    /// Where it is mounted, such as `/sys/fs/cgroup/memory`.
    mount_point: PathBuf,
    /// Its controllers (`memory`, `name=systemd`), empty for cgroup2.
    controllers: Vec<String>,
}

/// The mounted hierarchies, read from the mount table once per process
/// (a command looks them up many times; they do not change under it).
fn hierarchies() -> &'static [Hierarchy] {
    static ALL: std::sync::OnceLock<Vec<Hierarchy>> = std::sync::OnceLock::new();
    ALL.get_or_init(read_hierarchies)
}

/// A mounted hierarchy as the container's cgroup mount shows it.
pub(crate) struct Mounted {
    /// Its position among the hierarchies (and in what [`dirs`] returns).
    pub index: usize,
    /// Its mount point's path below the root given to [`mounted_under`]
    /// (empty for a hierarchy mounted at that root).
    pub name: PathBuf,
    /// Its controllers, the options of a new mount of it (empty for v2).
    pub controllers: Vec<String>,
}

impl Mounted {
    /// Whether it is the cgroup2 hierarchy.
    pub fn is_v2(&self) -> bool {
        self.controllers.is_empty()
    }
}

/// The hierarchies mounted at or below `root`.
pub(crate) fn mounted_under(root: &Path) -> Vec<Mounted> {
    hierarchies()
        .iter()
        .enumerate()
        .filter_map(|(index, h)| {
            Some(Mounted {
                index,
                name: h.mount_point.strip_prefix(root).ok()?.to_path_buf(),
                controllers: h.controllers.clone(),
            })
        })
        .collect()
}

fn read_hierarchies() -> Vec<Hierarchy> {
    let info = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    info.lines()
        .filter_map(|line| {
            let (left, right) = line.split_once(" - ")?;
            let mount_point = left.split(' ').nth(4)?;
            let mut r = right.split(' ');
            let fstype = r.next()?;
            let super_opts = r.nth(1).unwrap_or("");
            let controllers = match fstype {
                "cgroup2" => Vec::new(),
                "cgroup" => super_opts
                    .split(',')
                    .filter(|o| *o != "rw" && *o != "ro")
                    .map(str::to_owned)
                    .collect(),
                _ => return None,
            };
            Some(Hierarchy {
                mount_point: mount_point.into(),
                controllers,
            })
        })
        .collect()
}

/// This process's cgroup in the hierarchy with `controllers`.
fn own_cgroup(controllers: &[String]) -> PathBuf {
    static TEXT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let text = TEXT.get_or_init(|| std::fs::read_to_string("/proc/self/cgroup").unwrap_or_default());
    text.lines()
        .filter_map(|l| {
            let mut f = l.splitn(3, ':');
            let (_, ctls, path) = (f.next()?, f.next()?, f.next()?);
            let mine: Vec<&str> = ctls.split(',').filter(|c| !c.is_empty()).collect();
            let same = mine.len() == controllers.len() && mine.iter().all(|c| controllers.iter().any(|x| x == c));
            same.then(|| PathBuf::from(path.trim_start_matches('/')))
        })
        .next()
        .unwrap_or_default()
}

/// The directory for `cgroups_path` in every hierarchy: an absolute path
/// from each hierarchy's root, a relative one from burrow's own cgroup (as
/// runc does).
pub fn dirs(cgroups_path: &Path) -> Result<Vec<PathBuf>> {
    let text = cgroups_path.to_string_lossy();
    if text.contains(':') {
        return Err(OciError::Unsupported {
            field: "linux.cgroupsPath".into(),
            reason: format!("{text:?} is a systemd slice:prefix:name, and this build has no systemd cgroup driver"),
        });
    }
    if cgroups_path.components().any(|c| c == std::path::Component::ParentDir) {
        return Err(OciError::Field {
            field: "linux.cgroupsPath".into(),
            reason: format!("{text:?} contains \"..\""),
        });
    }
    let relative = cgroups_path.strip_prefix("/").unwrap_or(cgroups_path);
    if relative.as_os_str().is_empty() || relative == Path::new(".") {
        return Err(OciError::Field {
            field: "linux.cgroupsPath".into(),
            reason: format!("{text:?} names no cgroup of its own"),
        });
    }
    Ok(hierarchies()
        .iter()
        .map(|h| {
            let base = if cgroups_path.is_absolute() {
                PathBuf::new()
            } else {
                own_cgroup(&h.controllers)
            };
            h.mount_point.join(base).join(relative)
        })
        .collect())
}

/// What [`make`] did.
#[derive(Debug, Default)]
pub struct Made {
    /// Where to place the container: one directory per hierarchy.
    pub leaves: Vec<PathBuf>,
    /// Every directory it created, parents first, to remove at delete.
    pub created: Vec<PathBuf>,
}

/// Make the directories (and missing parents). A new cpuset cgroup gets
/// its parent's CPUs and memory nodes, without which nothing can join it.
/// Where an unprivileged caller may not create them (no delegation), the
/// container runs without that placement, and with `warn` (the config
/// asked for a cgroupsPath) says so once on stderr; root gets an error.
pub fn make(dirs: &[PathBuf], warn: bool) -> Result<Made> {
    let mut made = Made::default();
    let mut skipped = Vec::new();
    for dir in dirs {
        // The usual case in one call: a new leaf below an existing parent.
        let result = match std::fs::create_dir(dir) {
            Ok(()) => {
                made.created.push(dir.clone());
                inherit_cpuset(dir)
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                // A cgroup that exists already must be empty: otherwise
                // `ps`, `kill --all` and `delete` would reach processes not
                // ours.
                if !tree_procs(dir).is_empty() {
                    remove(&made.created, &[]);
                    return Err(OciError::Field {
                        field: "linux.cgroupsPath".into(),
                        reason: format!("{} already has processes in it", dir.display()),
                    });
                }
                Ok(())
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => make_with_parents(dir, &mut made.created),
            Err(e) => Err(e),
        };
        match result {
            Ok(()) => made.leaves.push(dir.clone()),
            Err(e) if !burrow::is_host_root() && e.kind() == std::io::ErrorKind::PermissionDenied => {
                skipped.push(dir.display().to_string())
            }
            Err(e) => {
                remove(&made.created, &[]);
                return Err(OciError::io(format!("creating cgroup {}", dir.display()), e));
            }
        }
    }
    if warn && !skipped.is_empty() {
        eprintln!(
            "burrow: warning: no permission to create cgroups ({}); running without cgroup placement",
            skipped.join(", ")
        );
    }
    Ok(made)
}

/// Every process in the cgroup `dir` and the cgroups below it.
pub fn tree_procs(dir: &Path) -> Vec<i32> {
    let mut pids: Vec<i32> = std::fs::read_to_string(dir.join("cgroup.procs"))
        .unwrap_or_default()
        .lines()
        .filter_map(|p| p.parse().ok())
        .collect();
    for sub in subdirs(dir) {
        pids.extend(tree_procs(&sub));
    }
    pids
}

fn subdirs(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| e.path())
        .collect()
}

/// Make `dir` and its missing parents, recording each one made.
fn make_with_parents(dir: &Path, created: &mut Vec<PathBuf>) -> std::io::Result<()> {
    let missing: Vec<PathBuf> = dir
        .ancestors()
        .take_while(|d| !d.exists())
        .map(Path::to_path_buf)
        .collect();
    for d in missing.iter().rev() {
        std::fs::create_dir(d)?;
        created.push(d.clone());
        inherit_cpuset(d)?;
    }
    Ok(())
}

/// Copy `cpuset.cpus` and `cpuset.mems` from the parent into a new v1
/// cpuset cgroup (they start empty there). Elsewhere the files are missing.
fn inherit_cpuset(dir: &Path) -> std::io::Result<()> {
    let Some(parent) = dir.parent() else { return Ok(()) };
    for file in ["cpuset.cpus", "cpuset.mems"] {
        let own = dir.join(file);
        let current = match std::fs::read_to_string(&own) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e),
        };
        if current.trim().is_empty() {
            std::fs::write(&own, std::fs::read_to_string(parent.join(file))?.trim())?;
        }
    }
    Ok(())
}

/// Remove a container's cgroups: kill every process left in its `leaves`
/// (and the cgroups it made below them), remove those below-cgroups
/// deepest first, then the directories burrow `created` (deepest first;
/// a parent that another container uses now is left alone).
pub fn remove(created: &[PathBuf], leaves: &[PathBuf]) {
    // The usual case in one call per leaf: the container is gone, and the
    // leaf that burrow made is empty.
    let gone: Vec<&PathBuf> = leaves
        .iter()
        .filter(|leaf| created.contains(leaf) && std::fs::remove_dir(leaf).is_ok())
        .collect();
    let left: Vec<&PathBuf> = leaves.iter().filter(|leaf| !gone.contains(leaf)).collect();
    if !left.is_empty() {
        // A paused container's processes die only once thawed.
        thaw(leaves);
    }
    for leaf in left {
        let deadline = Instant::now() + Duration::from_secs(2);
        loop {
            let pids = tree_procs(leaf);
            for pid in &pids {
                if let Ok(fd) = burrow::open_pidfd(*pid) {
                    let _ = burrow::signal_pidfd(std::os::fd::AsFd::as_fd(&fd), libc::SIGKILL);
                }
            }
            if pids.is_empty() || Instant::now() > deadline {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        remove_below(leaf);
    }
    for dir in created.iter().rev().filter(|d| !gone.contains(d)) {
        let deadline = Instant::now() + Duration::from_secs(2);
        loop {
            match std::fs::remove_dir(dir) {
                Ok(()) => break,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => break,
                // Killed processes take a moment to leave their cgroup.
                Err(_) if leaves.contains(dir) && !tree_procs(dir).is_empty() && Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(10))
                }
                Err(_) => break,
            }
        }
    }
}

/// Thaw the container if it is frozen (its killed processes die then).
pub fn thaw(leaves: &[PathBuf]) {
    if crate::control::is_frozen(leaves) == Some(true) {
        let _ = crate::control::freeze(leaves, false);
    }
}

/// Remove the cgroups below `dir`, deepest first.
fn remove_below(dir: &Path) {
    for sub in subdirs(dir) {
        remove_below(&sub);
        let _ = std::fs::remove_dir(&sub);
    }
}

/// The leaf among `leaves` in the v1 hierarchy that has `controller`.
pub fn v1_leaf_for<'a>(leaves: &'a [PathBuf], controller: &str) -> Option<&'a PathBuf> {
    let hierarchies = hierarchies();
    leaves.iter().find(|leaf| {
        hierarchies
            .iter()
            .any(|h| leaf.starts_with(&h.mount_point) && h.controllers.iter().any(|c| c == controller))
    })
}

/// The leaf among `leaves` in the cgroup2 hierarchy.
pub fn v2_leaf(leaves: &[PathBuf]) -> Option<&PathBuf> {
    let hierarchies = hierarchies();
    leaves.iter().find(|leaf| {
        hierarchies
            .iter()
            .any(|h| h.controllers.is_empty() && leaf.starts_with(&h.mount_point))
    })
}
