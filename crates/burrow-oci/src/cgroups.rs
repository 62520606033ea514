//! Placing an OCI container in its cgroup on every mounted hierarchy (v1
//! controllers and cgroup2 alike), and removing those cgroups at delete.
//! Resource limits are in `resources` and `limits`.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use burrow::cgroupfs;

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
    conventional_hierarchies(Path::new(CGROUP_ROOT), own_cgroups_text()).unwrap_or_else(hierarchies_from_mount_table)
}

/// Where hosts mount their cgroup hierarchies.
const CGROUP_ROOT: &str = cgroupfs::ROOT;

/// The hierarchies, found without the mount table where the host mounts
/// them as systemd and the distributions do: cgroup2 at `root`, or each v1
/// hierarchy at `root/NAME` (NAME its controllers joined by commas, `X`
/// for `name=X`) and cgroup2 at `root/unified`. Each hierarchy this
/// process is in (`/proc/self/cgroup`, given as `own`) must be a cgroup
/// file system of the right version there; `None` when any is not, and
/// the mount table decides.
///
/// Reading `/proc/self/mountinfo` waits for every mount being made on the
/// machine (the kernel's namespace lock is global): with 50 containers
/// starting at once, 20 ms a read here.
fn conventional_hierarchies(root: &Path, own: &str) -> Option<Vec<Hierarchy>> {
    use nix::sys::statfs::{CGROUP2_SUPER_MAGIC, CGROUP_SUPER_MAGIC};
    let kind = |dir: &Path| cgroupfs::fs_type(dir).ok();
    if kind(root)? == CGROUP2_SUPER_MAGIC {
        // Unified: this process must be in no v1 hierarchy.
        let only_v2 = own.lines().all(|l| l.starts_with("0::") || l.is_empty());
        return only_v2.then(|| {
            vec![Hierarchy {
                mount_point: root.into(),
                controllers: Vec::new(),
            }]
        });
    }
    let mut found: Vec<(u32, Hierarchy)> = Vec::new();
    for line in own.lines().filter(|l| !l.is_empty()) {
        let mut f = line.splitn(3, ':');
        let (id, list) = (f.next()?.parse::<u32>().ok()?, f.next()?);
        let controllers: Vec<String> = list.split(',').filter(|c| !c.is_empty()).map(str::to_owned).collect();
        let (name, magic) = if id == 0 && controllers.is_empty() {
            ("unified".to_owned(), CGROUP2_SUPER_MAGIC)
        } else if controllers.is_empty() {
            return None;
        } else {
            let parts: Vec<&str> = controllers
                .iter()
                .map(|c| c.strip_prefix("name=").unwrap_or(c))
                .collect();
            (parts.join(","), CGROUP_SUPER_MAGIC)
        };
        let mount_point = root.join(name);
        if kind(&mount_point)? != magic {
            return None;
        }
        // cgroup2 sorts last, v1 hierarchies by id (the mount table's order).
        let key = if id == 0 { u32::MAX } else { id };
        found.push((
            key,
            Hierarchy {
                mount_point,
                controllers,
            },
        ));
    }
    found.sort_by_key(|(key, _)| *key);
    Some(found.into_iter().map(|(_, h)| h).collect())
}

/// The hierarchies as the mount table lists them, wherever they are.
fn hierarchies_from_mount_table() -> Vec<Hierarchy> {
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
                    .filter(|o| !V1_MOUNT_OPTIONS.contains(o) && !o.starts_with("release_agent="))
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

/// The options of a v1 cgroup mount that are not controllers (or names).
const V1_MOUNT_OPTIONS: &[&str] = &[
    "rw",
    "ro",
    "xattr",
    "noprefix",
    "clone_children",
    "cpuset_v2_mode",
    "favordynmods",
];

/// `/proc/self/cgroup`, read once per process.
fn own_cgroups_text() -> &'static str {
    static TEXT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    TEXT.get_or_init(|| std::fs::read_to_string("/proc/self/cgroup").unwrap_or_default())
}

/// This process's cgroup in the hierarchy with `controllers`.
fn own_cgroup(controllers: &[String]) -> PathBuf {
    own_cgroups_text()
        .lines()
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
/// container runs without that placement and says so once on stderr (with
/// `warn`, the config asked for a cgroupsPath: naming the directories);
/// root gets an error.
pub fn make(dirs: &[PathBuf], warn: bool) -> Result<Made> {
    let mut made = Made::default();
    let mut skipped = Vec::new();
    for dir in dirs {
        // The usual case in one call: a new leaf below an existing parent.
        let result = match cgroupfs::mkdir(dir) {
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
        tracing::warn!(
            "no permission to create cgroups ({}); running without cgroup placement",
            skipped.join(", ")
        );
    } else if !skipped.is_empty() && made.leaves.is_empty() {
        // Said once even without a cgroupsPath, so that a failing `pause`,
        // `update` or `events` later is no surprise (i5, rootless).
        tracing::warn!(
            "not root and no delegated cgroup: running without cgroups \
             (no resource limits; pause, update and events will not work)"
        );
    } else if !skipped.is_empty() {
        tracing::warn!(
            "not root: no permission to create cgroups ({}); running without placement there",
            skipped.join(", ")
        );
    }
    Ok(made)
}

/// Every process in the cgroup `dir` and the cgroups below it.
pub fn tree_procs(dir: &Path) -> Vec<i32> {
    let mut pids: Vec<i32> = cgroupfs::read_to_string(&dir.join("cgroup.procs"))
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
        .take_while(|d| !cgroupfs::exists(d))
        .map(Path::to_path_buf)
        .collect();
    for d in missing.iter().rev() {
        cgroupfs::mkdir(d)?;
        created.push(d.clone());
        inherit_cpuset(d)?;
        if d != dir {
            enable_controllers(d);
        }
    }
    Ok(())
}

/// In a cgroup2 directory burrow made above the container's, hand every
/// controller it has on to its children (`cgroup.subtree_control`), as
/// runc does: otherwise the container's cgroup has no limit files. (A v1
/// directory has no `cgroup.controllers`; a refusal leaves the limits to
/// be refused by field later.)
fn enable_controllers(dir: &Path) {
    let Ok(available) = cgroupfs::read_to_string(&dir.join("cgroup.controllers")) else {
        return;
    };
    let wanted: Vec<String> = available.split_whitespace().map(|c| format!("+{c}")).collect();
    if wanted.is_empty() {
        return;
    }
    if let Err(e) = cgroupfs::write(&dir.join("cgroup.subtree_control"), wanted.join(" ")) {
        tracing::debug!("enabling {wanted:?} in {}: {e}", dir.display());
    }
}

/// Copy `cpuset.cpus` and `cpuset.mems` from the parent into a new v1
/// cpuset cgroup (they start empty there). Elsewhere the files are missing.
fn inherit_cpuset(dir: &Path) -> std::io::Result<()> {
    let Some(parent) = dir.parent() else { return Ok(()) };
    if !may_have_cpuset(dir) {
        return Ok(());
    }
    for file in ["cpuset.cpus", "cpuset.mems"] {
        let own = dir.join(file);
        let current = match cgroupfs::read_to_string(&own) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e),
        };
        if current.trim().is_empty() {
            cgroupfs::write(&own, cgroupfs::read_to_string(&parent.join(file))?.trim())?;
        }
    }
    Ok(())
}

/// Whether the cgroup `dir` can have cpuset files: in a v1 hierarchy only
/// where it has the cpuset controller (looking elsewhere costs a failed
/// open for nothing), in cgroup2 where the controller is enabled.
fn may_have_cpuset(dir: &Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    // Compared as bytes: the paths are made by joining to the mount
    // points, and Path::starts_with's walk over components costs more here
    // than the open it saves.
    let dir = dir.as_os_str().as_bytes();
    hierarchies()
        .iter()
        .filter(|h| {
            let mount = h.mount_point.as_os_str().as_bytes();
            dir.starts_with(mount) && matches!(dir.get(mount.len()), None | Some(b'/'))
        })
        .max_by_key(|h| h.mount_point.as_os_str().len())
        .is_none_or(|h| h.controllers.is_empty() || h.controllers.iter().any(|c| c == "cpuset"))
}

/// Remove a container's cgroups: kill every process left in its `leaves`
/// (and the cgroups it made below them), remove those below-cgroups
/// deepest first, then the directories burrow `created` (deepest first;
/// a parent that another container uses now is left alone).
pub fn remove(created: &[PathBuf], leaves: &[PathBuf]) {
    // The usual case in one call per leaf: the container is gone, and the
    // leaf that burrow made is empty.
    // Paths compared as bytes: they are made the same way, and comparing
    // Path components cost more than the rmdir calls.
    let same = |a: &PathBuf, b: &PathBuf| a.as_os_str() == b.as_os_str();
    let gone: Vec<&PathBuf> = leaves
        .iter()
        .filter(|leaf| created.iter().any(|c| same(c, leaf)) && cgroupfs::rmdir(leaf).is_ok())
        .collect();
    let left: Vec<&PathBuf> = leaves
        .iter()
        .filter(|leaf| !gone.iter().any(|g| same(g, leaf)))
        .collect();
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
    for dir in created.iter().rev().filter(|d| !gone.iter().any(|g| same(g, d))) {
        let deadline = Instant::now() + Duration::from_secs(2);
        loop {
            match cgroupfs::rmdir(dir) {
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
        let _ = cgroupfs::rmdir(&sub);
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

#[cfg(test)]
mod tests {
    use super::*;

    fn listed(hierarchies: &[Hierarchy]) -> Vec<(PathBuf, Vec<String>)> {
        hierarchies
            .iter()
            .map(|h| (h.mount_point.clone(), h.controllers.clone()))
            .collect()
    }

    #[test]
    fn the_conventional_layout_is_what_the_mount_table_says() {
        let from_table = listed(&hierarchies_from_mount_table());
        match conventional_hierarchies(Path::new(CGROUP_ROOT), own_cgroups_text()) {
            Some(found) => assert_eq!(listed(&found), from_table),
            // Only a host that mounts its hierarchies elsewhere may differ.
            None => assert!(
                from_table.iter().any(|(p, _)| !p.starts_with(CGROUP_ROOT)),
                "{from_table:?}"
            ),
        }
    }

    #[test]
    fn anything_unconventional_falls_back_to_the_mount_table() {
        // Not a cgroup file system where a hierarchy should be.
        let tmp = std::env::temp_dir();
        assert!(conventional_hierarchies(&tmp, "0::/\n").is_none());
        assert!(conventional_hierarchies(Path::new("/sys/fs"), "1:cpu:/\n0::/\n").is_none());
        let unified = Path::new("/sys/fs/cgroup/unified");
        if statfs_is_cgroup2(unified) {
            // A cgroup2 root with v1 hierarchies beside it, somewhere else.
            assert!(conventional_hierarchies(unified, "1:cpu:/\n0::/\n").is_none());
            let found = conventional_hierarchies(unified, "0::/\n").expect("cgroup2 at the root");
            assert_eq!(listed(&found), vec![(unified.to_path_buf(), vec![])]);
        }
        // A hierarchy with neither controllers nor a name.
        assert!(conventional_hierarchies(Path::new(CGROUP_ROOT), "3::/\n").is_none());
    }

    #[test]
    fn parents_made_on_cgroup2_hand_their_controllers_on() {
        let dir = std::env::temp_dir().join(format!("burrow-test.subtree.{}", std::process::id()));
        std::fs::create_dir(&dir).unwrap();
        std::fs::write(dir.join("cgroup.controllers"), "cpu memory pids\n").unwrap();
        std::fs::write(dir.join("cgroup.subtree_control"), "").unwrap();
        enable_controllers(&dir);
        let written = std::fs::read_to_string(dir.join("cgroup.subtree_control")).unwrap();
        // A v1 directory (no cgroup.controllers) is left alone.
        let v1 = dir.join("v1");
        std::fs::create_dir(&v1).unwrap();
        enable_controllers(&v1);
        let v1_left_alone = !v1.join("cgroup.subtree_control").exists();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(written, "+cpu +memory +pids");
        assert!(v1_left_alone);
    }

    #[test]
    fn a_new_parent_on_this_hosts_cgroup2_is_made_and_removed() {
        let unified = Path::new("/sys/fs/cgroup/unified");
        if !nix::unistd::geteuid().is_root() || !statfs_is_cgroup2(unified) {
            return;
        }
        let leaf = unified.join(format!("burrow-test-parent-{}/leaf", std::process::id()));
        let made = make(std::slice::from_ref(&leaf), false).unwrap();
        let parent_controls = cgroupfs::read_to_string(&leaf.parent().unwrap().join("cgroup.subtree_control"));
        let available = cgroupfs::read_to_string(&leaf.parent().unwrap().join("cgroup.controllers"));
        remove(&made.created, &made.leaves);
        assert!(!leaf.parent().unwrap().exists());
        assert_eq!(made.created.len(), 2);
        assert_eq!(
            parent_controls.unwrap().split_whitespace().collect::<Vec<_>>(),
            available.unwrap().split_whitespace().collect::<Vec<_>>()
        );
    }

    fn statfs_is_cgroup2(dir: &Path) -> bool {
        cgroupfs::fs_type(dir).is_ok_and(|t| t == nix::sys::statfs::CGROUP2_SUPER_MAGIC)
    }
}
