//! Operations on a live container's cgroups: `pause`, `resume`, `update`
//! and `events`.

use burrow::cgroupfs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

pub use oci_spec::runtime::LinuxResources;

use crate::error::{OciError, Result};
use crate::limits::Section;
use crate::resources::{apply_limits, placed};
use crate::state::{Record, Status, Store};

/// Freeze (or thaw) the cgroup holding `leaves`' freezer and wait until
/// the kernel says it is done.
pub fn freeze(leaves: &[PathBuf], frozen: bool) -> Result<()> {
    let (dir, driver) = placed(leaves, Section::Freezer).ok_or_else(|| OciError::Setting {
        field: "freezer".into(),
        reason: "the container has no freezer cgroup (not root, and no delegation?)".into(),
    })?;
    let w = driver.freeze(frozen);
    let path = dir.join(&w.file);
    cgroupfs::write(&path, &w.value)
        .map_err(|e| OciError::io(format!("writing {} to {}", w.value, path.display()), e))?;
    let deadline = Instant::now() + Duration::from_secs(5);
    while is_frozen(leaves) != Some(frozen) {
        if Instant::now() > deadline {
            return Err(OciError::Setting {
                field: "freezer".into(),
                reason: format!(
                    "{} did not become {}",
                    dir.display(),
                    if frozen { "frozen" } else { "thawed" }
                ),
            });
        }
        // Keep asking: a v1 cgroup can stay FREEZING while a task is busy.
        let _ = cgroupfs::write(&path, &w.value);
        std::thread::sleep(Duration::from_millis(5));
    }
    Ok(())
}

/// Whether the container's cgroup is frozen (`None`: no freezer).
pub fn is_frozen(leaves: &[PathBuf]) -> Option<bool> {
    let (dir, driver) = placed(leaves, Section::Freezer)?;
    if driver.name() == "v2" {
        let events = cgroupfs::read_to_string(&dir.join("cgroup.events")).ok()?;
        Some(events.lines().any(|l| l == "frozen 1"))
    } else {
        let state = cgroupfs::read_to_string(&dir.join("freezer.state")).ok()?;
        Some(state.trim() == "FROZEN")
    }
}

fn live(store: &Store, id: &str, want: Status, verb: &str) -> Result<Record> {
    let record = store.load(id)?;
    let status = record.status(store);
    if status != want {
        return Err(OciError::WrongState {
            id: id.into(),
            status: status.as_str().into(),
            what: format!("{verb} needs a {} container", want.as_str()),
        });
    }
    Ok(record)
}

/// `pause ID`: freeze every process of a running container.
pub fn pause(store: &Store, id: &str) -> Result<()> {
    let _lock = store.lock_id(id)?;
    let record = live(store, id, Status::Running, "pause")?;
    freeze(&record.placement, true)
}

/// `resume ID`: thaw a paused container.
pub fn resume(store: &Store, id: &str) -> Result<()> {
    let _lock = store.lock_id(id)?;
    let record = live(store, id, Status::Paused, "resume")?;
    freeze(&record.placement, false)
}

/// `update ID`: apply `resources` to a live container's cgroups.
pub fn update(store: &Store, id: &str, resources: &LinuxResources) -> Result<()> {
    let _lock = store.lock_id(id)?;
    let record = store.load(id)?;
    if record.status(store) == Status::Stopped {
        return Err(OciError::WrongState {
            id: id.into(),
            status: "stopped".into(),
            what: "update needs a live container".into(),
        });
    }
    if resources.devices().as_ref().is_some_and(|r| !r.is_empty()) {
        return Err(OciError::Setting {
            field: "linux.resources.devices".into(),
            reason: "device rules cannot be updated (as with runc)".into(),
        });
    }
    apply_limits(resources, &record.placement).map_err(OciError::not_from_config)
}

/// Read `update --resources FILE` (or `-` for standard input).
pub fn read_resources(file: &Path) -> Result<LinuxResources> {
    let text = if file == Path::new("-") {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut s).map_err(|e| OciError::io("reading stdin", e))?;
        s
    } else {
        std::fs::read_to_string(file).map_err(|e| OciError::io(format!("reading {}", file.display()), e))?
    };
    parse_resources(&format!("--resources {}", file.display()), &text)
}

/// Parse the JSON of a `linux.resources` object from `file` (named in
/// errors, with the JSON path of the value at fault).
pub fn parse_resources(file: &str, text: &str) -> Result<LinuxResources> {
    crate::error::decode(file, text)
}

/// `events ID`: with `once`, print the statistics once; otherwise print
/// them every `interval`, and an `oom` event whenever the OOM killer
/// strikes, until the container stops.
/// A stopped container is refused, as runc refuses it (its cgroups are
/// gone, or hold nothing).
pub fn events(store: &Store, id: &str, once: bool, interval: Duration) -> Result<()> {
    let record = store.load(id)?;
    if record.status(store) == Status::Stopped {
        return Err(OciError::WrongState {
            id: id.into(),
            status: "stopped".into(),
            what: "events needs a container that is not stopped".into(),
        });
    }
    let event = |kind: &str, data: serde_json::Value| {
        let mut line = serde_json::json!({"type": kind, "id": id});
        if !data.is_null() {
            line["data"] = data;
        }
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{line}");
        let _ = out.flush();
    };
    if once {
        event("stats", crate::stats::stats(&record.placement));
        return Ok(());
    }
    let mut ooms = crate::stats::oom_kills(&record.placement);
    let mut next_stats = Instant::now() + interval;
    while record.status(store) != Status::Stopped {
        let now = crate::stats::oom_kills(&record.placement);
        if now > ooms {
            event("oom", serde_json::Value::Null);
            ooms = now;
        }
        if Instant::now() >= next_stats {
            event("stats", crate::stats::stats(&record.placement));
            next_stats += interval;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    // One more look: the kill may be what stopped it.
    if crate::stats::oom_kills(&record.placement) > ooms {
        event("oom", serde_json::Value::Null);
    }
    Ok(())
}
