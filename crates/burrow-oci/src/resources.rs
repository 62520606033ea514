//! `linux.resources` that this build applies: device rules (cgroup v1
//! `devices.allow`/`devices.deny`) and the pids limit. Every other resource
//! field is refused by name in `convert`.

use std::path::{Path, PathBuf};

use oci_spec::runtime::{LinuxDevice, LinuxDeviceCgroup, LinuxResources};

use crate::cgroups::leaf_for;
use crate::error::{OciError, Result};

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

/// Whether `resources` asks for nothing but what [`apply`] does.
pub fn only_supported(resources: &LinuxResources) -> std::result::Result<(), String> {
    let value = serde_json::to_value(resources).unwrap_or_default();
    for (field, v) in value.as_object().into_iter().flatten() {
        let empty =
            v.is_null() || v.as_array().is_some_and(|a| a.is_empty()) || v.as_object().is_some_and(|o| o.is_empty());
        let ok = match field.as_str() {
            "devices" => true,
            "pids" => v.as_object().is_some_and(|o| o.keys().all(|k| k == "limit")),
            _ => empty,
        };
        if !ok {
            return Err(format!("linux.resources.{field}"));
        }
    }
    Ok(())
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

fn write(dir: &Path, file: &str, value: &str) -> Result<()> {
    let path = dir.join(file);
    std::fs::write(&path, value).map_err(|e| OciError::io(format!("writing {value:?} to {}", path.display()), e))
}

/// Apply the supported resources to the container's cgroups (`leaves`,
/// one per hierarchy). Device access is always restricted where a v1
/// devices cgroup exists, as runc does: deny everything, allow the
/// config's own device nodes, then its rules (so its explicit denies win),
/// then the devices every container may use. A resource asked for where
/// burrow could not place the container (no delegation) is an error naming
/// the field.
pub fn apply(resources: Option<&LinuxResources>, devices: &[LinuxDevice], leaves: &[PathBuf]) -> Result<()> {
    let missing = |field: &str, controller: &str| OciError::Unsupported {
        field: field.into(),
        reason: format!("no {controller} cgroup to apply it in (not root, and no delegated cgroup?)"),
    };
    let rules = resources.and_then(|r| r.devices().clone()).unwrap_or_default();
    match leaf_for(leaves, "devices").filter(|d| d.join("devices.allow").exists()) {
        Some(dir) => {
            write(dir, "devices.deny", "a")?;
            for d in devices {
                let kind = serde_json::to_value(d.typ())
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned));
                // The devices cgroup knows character and block devices only
                // (a FIFO needs no rule); "u" is an unbuffered character one.
                let kind = match kind.as_deref() {
                    Some("b") => "b",
                    Some("c") | Some("u") | None => "c",
                    _ => continue,
                };
                let entry = format!("{kind} {}:{} rwm", d.major(), d.minor());
                // A node the parent cgroup does not allow stays unusable,
                // as with runc; that is not a reason to fail.
                if let Err(e) = write(dir, "devices.allow", &entry) {
                    tracing::warn!("{e}");
                }
            }
            for d in &rules {
                write(dir, if d.allow() { "devices.allow" } else { "devices.deny" }, &rule(d))?;
            }
            for allowed in ALWAYS_ALLOWED {
                write(dir, "devices.allow", allowed)?;
            }
        }
        None if !rules.is_empty() => {
            let reason = if leaf_for(leaves, "devices").is_some() {
                "device rules need the cgroup v1 devices controller (cgroup2 device programs are not supported yet)"
            } else {
                "no devices cgroup to apply them in (not root, and no delegated cgroup?)"
            };
            return Err(OciError::Unsupported {
                field: "linux.resources.devices".into(),
                reason: reason.into(),
            });
        }
        None => {}
    }
    if let Some(limit) = resources.and_then(|r| r.pids().as_ref().map(|p| p.limit())) {
        let dir = leaf_for(leaves, "pids").ok_or_else(|| missing("linux.resources.pids", "pids"))?;
        let value = if limit <= 0 {
            "max".to_string()
        } else {
            limit.to_string()
        };
        write(dir, "pids.max", &value)?;
    }
    Ok(())
}
