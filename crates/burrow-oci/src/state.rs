//! The state store: one directory per container under the runtime root,
//! holding `state.json` (written atomically) and, until `start`, the
//! `exec.fifo` the container waits at. A lock file serialises commands.

use std::collections::HashMap;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{OciError, Result};

/// The runtime-spec version burrow's state reports.
pub const OCI_VERSION: &str = "1.2.0";

/// Where state lives.
#[derive(Debug, Clone)]
pub struct Store {
    root: PathBuf,
}

/// Held while a command works on the store.
pub struct Lock(#[allow(dead_code)] nix::fcntl::Flock<std::fs::File>);

impl Store {
    /// The store at `root` (created, mode 700, when missing).
    pub fn new(root: &Path) -> Result<Self> {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(root)
            .map_err(|e| OciError::io(format!("creating the state directory {}", root.display()), e))?;
        Ok(Store {
            root: root.to_path_buf(),
        })
    }

    /// The default root: `/run/burrow`, or `$XDG_RUNTIME_DIR/burrow` when
    /// unprivileged (also as root of a rootless engine's user namespace).
    pub fn default_root() -> PathBuf {
        match std::env::var_os("XDG_RUNTIME_DIR") {
            Some(dir) if !burrow::is_host_root() => PathBuf::from(dir).join("burrow"),
            _ => PathBuf::from("/run/burrow"),
        }
    }

    /// Reserve `id` for a new container: its directory is made (atomically:
    /// an existing one means the id is taken) and locked.
    pub fn reserve(&self, id: &str) -> Result<Lock> {
        check_id(id)?;
        let dir = self.dir(id);
        match std::fs::create_dir(&dir) {
            Ok(()) => self.lock_id(id),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Err(OciError::Exists(id.into())),
            Err(e) => Err(OciError::io(format!("creating {}", dir.display()), e)),
        }
    }

    /// Lock container `id` (blocking) for a command that changes it: one
    /// command at a time per container, others go on. The lock is on the
    /// container's directory, so it leaves no file.
    pub fn lock_id(&self, id: &str) -> Result<Lock> {
        check_id(id)?;
        let dir = self.dir(id);
        let file = match std::fs::File::open(&dir) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(OciError::NotFound(id.into())),
            Err(e) => return Err(OciError::io(format!("opening {}", dir.display()), e)),
        };
        nix::fcntl::Flock::lock(file, nix::fcntl::FlockArg::LockExclusive)
            .map(Lock)
            .map_err(|(_, e)| OciError::io(format!("locking {}", dir.display()), e.into()))
    }

    /// The directory of container `id`.
    pub fn dir(&self, id: &str) -> PathBuf {
        self.root.join(id)
    }

    /// The FIFO container `id` waits at until `start`.
    pub fn fifo(&self, id: &str) -> PathBuf {
        self.dir(id).join("exec.fifo")
    }

    /// Read the record of `id`.
    pub fn load(&self, id: &str) -> Result<Record> {
        check_id(id)?;
        let path = self.dir(id).join("state.json");
        // Shared-locked: a save that rewrites it in place holds it
        // exclusively (see `save`).
        let read = std::fs::File::open(&path).and_then(|file| {
            let file = nix::fcntl::Flock::lock(file, nix::fcntl::FlockArg::LockShared).map_err(|(_, e)| e)?;
            let mut text = String::new();
            std::io::Read::read_to_string(&mut &*file, &mut text).map(|_| text)
        });
        let text = match read {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(OciError::NotFound(id.into())),
            Err(e) => return Err(OciError::io(format!("reading {}", path.display()), e)),
        };
        crate::error::decode(&path.display().to_string(), &text)
    }

    /// Write the record: the first time atomically (a temporary file
    /// renamed into place), later in place.
    ///
    /// A rewrite in place makes no new file, where each new file is the
    /// costliest part of a save on a disk (ext4 looks for a free inode
    /// past every recently deleted one, and containers come and go). It is
    /// as safe: readers take the file's lock shared and the rewrite holds
    /// it exclusively; the text is padded with spaces to at least the old
    /// length (JSON allows trailing blanks), so no truncation can leave a
    /// torn end; and a write of one page is never cut short by a kill.
    /// Longer records go through a temporary file.
    pub fn save(&self, record: &Record) -> Result<()> {
        const IN_PLACE_MAX: usize = 4096;
        let path = self.dir(&record.id).join("state.json");
        let mut text = serde_json::to_vec_pretty(record).map_err(|e| OciError::Bundle(e.to_string()))?;
        let existing = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(&path);
        let Ok(file) = existing else {
            return write_atomically(&path, &text);
        };
        let rewritten = nix::fcntl::Flock::lock(file, nix::fcntl::FlockArg::LockExclusive)
            .map_err(|(_, e)| std::io::Error::from(e))
            .and_then(|file| {
                let old = file.metadata()?.len() as usize;
                if text.len().max(old) > IN_PLACE_MAX {
                    return Ok(false);
                }
                text.resize(text.len().max(old), b' ');
                std::os::unix::fs::FileExt::write_all_at(&*file, &text, 0).map(|()| true)
            })
            .map_err(|e| OciError::io(format!("writing {}", path.display()), e))?;
        if rewritten {
            Ok(())
        } else {
            write_atomically(&path, &text)
        }
    }

    /// Remove the directory of `id` and everything in it.
    pub fn remove(&self, id: &str) -> Result<()> {
        let dir = self.dir(id);
        // Held open while it goes, the directory's inode is released (its
        // block freed: on a disk with online discard, a synchronous
        // discard of 2 ms here) when this closes, not inside the rmdir,
        // which holds the lock on the root that every create and delete
        // in this store takes.
        let until_removed = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(&dir);
        // The usual case in three calls: the files the store makes, then
        // the directory; anything else there is left to remove_dir_all.
        if let Ok(held) = &until_removed {
            use nix::unistd::{unlinkat, UnlinkatFlags};
            for file in ["state.json", "exec.fifo"] {
                let _ = unlinkat(held, file, UnlinkatFlags::NoRemoveDir);
            }
            if unlinkat(nix::fcntl::AT_FDCWD, &dir, UnlinkatFlags::RemoveDir).is_ok() {
                return Ok(());
            }
        }
        match std::fs::remove_dir_all(&dir) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(OciError::io(format!("removing {}", dir.display()), e)),
        }
    }

    /// The ids of all containers in the store.
    pub fn ids(&self) -> Result<Vec<String>> {
        let entries =
            std::fs::read_dir(&self.root).map_err(|e| OciError::io(format!("reading {}", self.root.display()), e))?;
        let mut ids: Vec<String> = entries
            .filter_map(|e| e.ok())
            .filter(|e| e.path().is_dir())
            .filter_map(|e| e.file_name().into_string().ok())
            .collect();
        ids.sort();
        Ok(ids)
    }
}

/// Write `bytes` to `path` through a temporary file and a rename. The
/// temporary file has a unique name and is created exclusively without
/// following symlinks, so nothing planted beside `path` can redirect it.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o644)
        .custom_flags(libc::O_NOFOLLOW)
        .open(&tmp)
        .map_err(|e| OciError::io(format!("creating {}", tmp.display()), e))?;
    // No fsync: the rename makes the write atomic, which is what matters
    // here; durability across a power cut would not, since runtime state
    // describes processes that do not survive one (and usually lives on a
    // tmpfs). On a disk, each fsync costs a container about 0.2 ms.
    let written = file.write_all(bytes);
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(OciError::io(format!("writing {}", tmp.display()), e));
    }
    // Where nothing is there yet (the usual case: a state's first save, a
    // pid file), one rename that may not replace. Over an existing file,
    // swap the two and remove the old one: a rename that replaces a file
    // makes ext4 write the new one out at once (auto_da_alloc), a tenth of
    // a millisecond; a swap is as atomic and does not. (A file system that
    // can do neither: a plain rename.)
    use nix::errno::Errno;
    let rename = |flags| rename_with_flags(&tmp, path, flags);
    let (moved, swapped) = match rename(libc::RENAME_NOREPLACE) {
        Err(Errno::EEXIST) => match rename(libc::RENAME_EXCHANGE) {
            Ok(()) => (Ok(()), true),
            Err(Errno::EINVAL | Errno::ENOSYS) => (std::fs::rename(&tmp, path), false),
            Err(e) => (Err(e.into()), false),
        },
        Err(Errno::EINVAL | Errno::ENOSYS) => (std::fs::rename(&tmp, path), false),
        other => (other.map_err(std::io::Error::from), false),
    };
    // After a swap, the temporary name holds the old state.
    if swapped || moved.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    moved.map_err(|e| OciError::io(format!("renaming {} to {}", tmp.display(), path.display()), e))
}

/// renameat2(2) of `from` to `to` with `flags` (`RENAME_NOREPLACE`,
/// `RENAME_EXCHANGE`), made as a system call: not every C library has a
/// wrapper (musl has none).
fn rename_with_flags(from: &Path, to: &Path, flags: libc::c_uint) -> nix::Result<()> {
    use std::os::unix::ffi::OsStrExt;
    let from = std::ffi::CString::new(from.as_os_str().as_bytes()).map_err(|_| nix::errno::Errno::EINVAL)?;
    let to = std::ffi::CString::new(to.as_os_str().as_bytes()).map_err(|_| nix::errno::Errno::EINVAL)?;
    // SAFETY: both paths are NUL-terminated strings that outlive the call;
    // renameat2 reads them and nothing else.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_renameat2,
            libc::AT_FDCWD,
            from.as_ptr(),
            libc::AT_FDCWD,
            to.as_ptr(),
            flags,
        )
    };
    nix::errno::Errno::result(ret).map(drop)
}

/// Refuse ids that are empty, too long, or could escape the store.
pub fn check_id(id: &str) -> Result<()> {
    let ok = !id.is_empty()
        && id.len() <= 1024
        && !id.starts_with('.')
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if ok {
        Ok(())
    } else {
        Err(OciError::BadId(id.into()))
    }
}

/// What the store keeps about one container.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Record {
    /// The container id.
    pub id: String,
    /// Pid of the container process on the host.
    pub pid: i32,
    /// Its start time (clock ticks after boot), to tell it from a later
    /// process that reuses the pid.
    pub start_time: u64,
    /// Absolute bundle path.
    pub bundle: PathBuf,
    /// Absolute rootfs path.
    pub rootfs: PathBuf,
    /// Creation time, RFC 3339.
    pub created: String,
    /// The config's annotations.
    pub annotations: HashMap<String, String>,
    /// Who created it.
    pub owner: String,
    /// The cgroup directories burrow made for it, parents first (removed
    /// at delete). Before the container exists: the directories to place
    /// it in.
    #[serde(default)]
    pub cgroups: Vec<PathBuf>,
    /// The cgroup directories it was placed in, one per hierarchy.
    #[serde(default)]
    pub placement: Vec<PathBuf>,
    /// Whether the config named a cgroupsPath (else burrow chose one).
    #[serde(default)]
    pub cgroups_asked_for: bool,
}

/// A container's status, as `state` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Set up, waiting for `start`.
    Created,
    /// Running its process.
    Running,
    /// Its processes are frozen (`pause`).
    Paused,
    /// Its process has ended.
    Stopped,
}

impl Status {
    /// The runtime-spec name.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Created => "created",
            Status::Running => "running",
            Status::Paused => "paused",
            Status::Stopped => "stopped",
        }
    }
}

impl Record {
    /// Whether the recorded process still runs (same pid, same start
    /// time, not a zombie).
    pub fn alive(&self) -> bool {
        matches!(process_start(self.pid), Some((start, state)) if start == self.start_time && state != 'Z' && state != 'X')
    }

    /// The status, from the process and the FIFO.
    pub fn status(&self, store: &Store) -> Status {
        if !self.alive() {
            Status::Stopped
        } else if store.fifo(&self.id).exists() {
            Status::Created
        } else if crate::control::is_frozen(&self.placement) == Some(true) {
            Status::Paused
        } else {
            Status::Running
        }
    }

    /// runc's `state` JSON.
    pub fn state_json(&self, status: Status) -> serde_json::Value {
        let pid = if status == Status::Stopped { 0 } else { self.pid };
        let mut state = serde_json::json!({
            "ociVersion": OCI_VERSION,
            "id": self.id,
            "pid": pid,
            "status": status.as_str(),
            "bundle": self.bundle,
            "rootfs": self.rootfs,
            "created": self.created,
            "owner": self.owner,
        });
        // As runc: no annotations, no field.
        if !self.annotations.is_empty() {
            state["annotations"] = serde_json::json!(self.annotations);
        }
        state
    }

    /// A pidfd for the process, checked to be the recorded one.
    pub fn pidfd(&self) -> Option<std::os::fd::OwnedFd> {
        let fd = burrow::open_pidfd(self.pid).ok()?;
        // Opened first, checked second: the pidfd cannot be redirected.
        self.alive().then_some(fd)
    }
}

/// `(start time, state letter)` of process `pid` from `/proc/PID/stat`.
pub fn process_start(pid: i32) -> Option<(u64, char)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split(' ').collect();
    Some((fields.get(19)?.parse().ok()?, fields.first()?.chars().next()?))
}

/// Now, as RFC 3339 with nanoseconds in UTC.
pub fn now_rfc3339() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let secs = now.as_secs() as i64;
    let (days, rem) = (secs.div_euclid(86400), secs.rem_euclid(86400));
    // Civil from days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:09}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        now.subsec_nanos()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    fn record(id: &str, annotation: &str) -> Record {
        Record {
            id: id.into(),
            pid: 0,
            start_time: 0,
            bundle: "/b".into(),
            rootfs: "/b/rootfs".into(),
            created: now_rfc3339(),
            annotations: HashMap::from([("a".to_owned(), annotation.to_owned())]),
            owner: String::new(),
            cgroups: vec![PathBuf::from("/sys/fs/cgroup/pids/x")],
            placement: Vec::new(),
            cgroups_asked_for: false,
        }
    }

    #[test]
    fn saves_rewrite_in_place_and_load_what_was_saved() {
        /// Removes the store, also when an assertion fails.
        struct Scratch(PathBuf);
        impl Drop for Scratch {
            fn drop(&mut self) {
                let _ = std::fs::remove_dir_all(&self.0);
            }
        }
        let root = Scratch(std::env::temp_dir().join(format!("burrow-test.state.{}", std::process::id())));
        let store = Store::new(&root.0).unwrap();
        let _lock = store.reserve("c").unwrap();
        let inode = || std::fs::metadata(store.dir("c").join("state.json")).unwrap().ino();
        store
            .save(&record("c", "a long value, longer than the next one"))
            .unwrap();
        let first = inode();
        // Shorter: the same file, padded, and it reads back as saved.
        let mut shorter = record("c", "short");
        shorter.pid = 42;
        store.save(&shorter).unwrap();
        assert_eq!(inode(), first);
        let loaded = store.load("c").unwrap();
        assert_eq!((loaded.pid, loaded.annotations["a"].as_str()), (42, "short"));
        // Longer than a page: a new file renamed into place.
        store.save(&record("c", &"x".repeat(5000))).unwrap();
        assert_ne!(inode(), first);
        assert_eq!(store.load("c").unwrap().annotations["a"].len(), 5000);
        // Nothing beside it.
        let names: Vec<_> = std::fs::read_dir(store.dir("c"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("state.json")]);
        store.remove("c").unwrap();
        assert!(!store.dir("c").exists());
    }
}
