//! uid/gid maps for a new user namespace, written by the parent.
//!
//! Root, or an unprivileged caller mapping only its own id, writes
//! `/proc/PID/uid_map` and `gid_map` directly (denying `setgroups` first when
//! unprivileged, as the kernel requires). An unprivileged caller asking for
//! several ranges goes through the setuid helpers `newuidmap`/`newgidmap`,
//! which check `/etc/subuid` and `/etc/subgid`.

use std::path::PathBuf;
use std::process::Command;

use nix::unistd::{Gid, Pid, Uid};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result, SetupError, Step};

/// One line of a uid or gid map: `count` ids starting at `inside` in the
/// namespace are `outside`.. on the host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdMap {
    /// First id inside the namespace.
    pub inside: u32,
    /// First id outside (on the host).
    pub outside: u32,
    /// How many consecutive ids.
    pub count: u32,
}

impl IdMap {
    /// Map `count` ids from `inside` to `outside`.
    pub fn new(inside: u32, outside: u32, count: u32) -> Self {
        IdMap { inside, outside, count }
    }
}

impl std::str::FromStr for IdMap {
    type Err = String;

    /// `INSIDE:OUTSIDE:COUNT`, three numbers with `COUNT > 0` whose ranges
    /// stay within 32 bits, as `burrow run --uid-map` takes them.
    fn from_str(s: &str) -> Result<Self, String> {
        let numbers: Vec<u32> = s
            .split(':')
            .map(str::parse)
            .collect::<Result<_, _>>()
            .unwrap_or_default();
        match numbers[..] {
            [inside, outside, count]
                if count > 0 && inside.checked_add(count).is_some() && outside.checked_add(count).is_some() =>
            {
                Ok(IdMap::new(inside, outside, count))
            }
            _ => Err("expected INSIDE:OUTSIDE:COUNT, three numbers with COUNT > 0 and ranges within 32 bits".into()),
        }
    }
}

/// Which of the two maps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Uid,
    Gid,
}

impl Kind {
    fn file(self) -> &'static str {
        match self {
            Kind::Uid => "uid_map",
            Kind::Gid => "gid_map",
        }
    }
    fn helper(self) -> &'static str {
        match self {
            Kind::Uid => "newuidmap",
            Kind::Gid => "newgidmap",
        }
    }
    fn own_id(self) -> u32 {
        match self {
            Kind::Uid => Uid::current().as_raw(),
            Kind::Gid => Gid::current().as_raw(),
        }
    }
}

/// Find a setuid helper such as `newuidmap` on `PATH` or in the usual places.
pub fn find_helper(name: &str) -> Option<PathBuf> {
    let path = std::env::var("PATH").unwrap_or_default();
    let found = path
        .split(':')
        .chain(["/usr/bin", "/usr/sbin", "/bin", "/sbin"])
        .filter(|d| !d.is_empty())
        .map(|d| PathBuf::from(d).join(name))
        .find(|p| p.is_file());
    found
}

/// Whether writing `maps` needs the setuid helpers: the caller is not root
/// and asks for more than its own single id.
fn needs_helper(kind: Kind, maps: &[IdMap]) -> bool {
    !Uid::effective().is_root() && !matches!(maps, [m] if m.count == 1 && m.outside == kind.own_id())
}

fn render(maps: &[IdMap]) -> String {
    maps.iter()
        .map(|m| format!("{} {} {}\n", m.inside, m.outside, m.count))
        .collect()
}

/// Write the maps of the user namespace of process `pid`, which must be
/// waiting for them. `setgroups` is denied when an unprivileged caller writes
/// `gid_map` itself (the seed's rule: "only root can write to the gid map
/// without first disabling the setgroups syscall").
pub fn write_maps(pid: Pid, uid_maps: &[IdMap], gid_maps: &[IdMap]) -> Result<()> {
    let proc_dir = PathBuf::from(format!("/proc/{pid}"));
    for (kind, maps) in [(Kind::Uid, uid_maps), (Kind::Gid, gid_maps)] {
        if needs_helper(kind, maps) {
            run_helper(kind, pid, maps)?;
            continue;
        }
        if kind == Kind::Gid && !Uid::effective().is_root() {
            let path = proc_dir.join("setgroups");
            if path.exists() {
                std::fs::write(&path, "deny").map_err(|e| Error::io(format!("writing {}", path.display()), e))?;
            }
        }
        let path = proc_dir.join(kind.file());
        std::fs::write(&path, render(maps)).map_err(|e| {
            Error::io(
                format!("writing {:?} to {}", render(maps).trim_end(), path.display()),
                e,
            )
        })?;
    }
    Ok(())
}

fn run_helper(kind: Kind, pid: Pid, maps: &[IdMap]) -> Result<()> {
    let helper = find_helper(kind.helper()).ok_or_else(|| {
        Error::spec(
            match kind {
                Kind::Uid => "uid_maps",
                Kind::Gid => "gid_maps",
            },
            format!(
                "mapping more than your own id needs {} (Debian package uidmap) and entries in /etc/sub{}",
                kind.helper(),
                &kind.file()[..3]
            ),
        )
    })?;
    let mut cmd = Command::new(&helper);
    cmd.arg(pid.to_string());
    for m in maps {
        cmd.args([m.inside.to_string(), m.outside.to_string(), m.count.to_string()]);
    }
    let out = cmd
        .output()
        .map_err(|e| Error::io(format!("running {}", helper.display()), e))?;
    if !out.status.success() {
        return Err(Error::Setup(SetupError {
            step: Step::IdMaps,
            path: None,
            errno: None,
            message: format!(
                "{} refused {:?} ({})",
                kind.helper(),
                render(maps).trim_end(),
                String::from_utf8_lossy(&out.stderr).trim()
            ),
        }));
    }
    Ok(())
}
