//! `burrow run`: flags → `ContainerSpec` (`burrow_cli::spec`) → limits in
//! a cgroup of its own → `burrow::run`.

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};

use crate::cli::RunArgs;

/// Run the container the flags describe and return its exit code.
pub fn main(args: RunArgs, debug: bool) -> Result<u8> {
    let limits = limits_from_args(&args)?;
    let mut spec = burrow_cli::spec::from_args(args)?;
    if debug {
        eprintln!("{}", serde_json::to_string_pretty(&spec)?);
    }
    let Some(resources) = limits else {
        return Ok(crate::exit_code(burrow::run(&spec)?));
    };
    // A cgroup of its own below burrow's, in every hierarchy, removed after.
    let dirs = burrow_oci::cgroups::dirs(Path::new(&format!("burrow-run-{}", std::process::id())))?;
    remove_stale(&dirs);
    let made = burrow_oci::cgroups::make(&dirs, false)?;
    let applied = check_placed(&resources, &made.leaves)
        .and_then(|()| Ok(burrow_oci::resources::apply_limits(&resources, &made.leaves)?));
    let status = applied.and_then(|()| {
        spec.cgroups = made.leaves.clone();
        Ok(burrow::run(&spec)?)
    });
    burrow_oci::cgroups::remove(&made.created, &made.leaves);
    Ok(crate::exit_code(status?))
}

/// Remove the empty cgroups that earlier `burrow run`s, killed before they
/// could clean up, left beside `dirs` (`burrow-run-PID` of a dead PID).
fn remove_stale(dirs: &[PathBuf]) {
    for parent in dirs.iter().filter_map(|d| d.parent()) {
        for entry in std::fs::read_dir(parent).into_iter().flatten().flatten() {
            let name = entry.file_name();
            let Some(pid) = name.to_str().and_then(|n| n.strip_prefix("burrow-run-")) else {
                continue;
            };
            let dead = pid
                .parse::<i32>()
                .is_ok_and(|p| !Path::new(&format!("/proc/{p}")).exists());
            if dead && burrow_oci::cgroups::tree_procs(&entry.path()).is_empty() {
                let _ = std::fs::remove_dir(entry.path());
            }
        }
    }
}

/// Each limit asked for has a cgroup to go to, or an error names its flag.
fn check_placed(resources: &burrow_oci::control::LinuxResources, leaves: &[PathBuf]) -> Result<()> {
    use burrow_oci::limits::Section;
    for (flag, asked, section) in [
        ("--memory", resources.memory().is_some(), Section::Memory),
        ("--cpus", resources.cpu().is_some(), Section::Cpu),
        ("--pids", resources.pids().is_some(), Section::Pids),
    ] {
        if asked && burrow_oci::resources::placed(leaves, section).is_none() {
            bail!("{flag}: no cgroup burrow may create for it here (run as root, or with a delegated cgroup v2)");
        }
    }
    Ok(())
}

/// `--memory`, `--cpus` and `--pids` as linux.resources, if any is given.
fn limits_from_args(args: &RunArgs) -> Result<Option<burrow_oci::control::LinuxResources>> {
    if args.memory.is_none() && args.cpus.is_none() && args.pids.is_none() {
        return Ok(None);
    }
    let mut r = serde_json::json!({});
    if let Some(m) = &args.memory {
        let bytes = crate::oci::parse_size("--memory", m)?;
        if bytes <= 0 {
            bail!("--memory {m}: must be more than zero");
        }
        // No swap beyond the limit, where the host can tell (memsw).
        r["memory"] = serde_json::json!({"limit": bytes});
    }
    if let Some(cpus) = args.cpus {
        if !(cpus > 0.0 && cpus.is_finite()) {
            bail!("--cpus {cpus}: must be more than zero");
        }
        let period = 100_000u64;
        r["cpu"] = serde_json::json!({"quota": (cpus * period as f64).round() as i64, "period": period});
    }
    if let Some(pids) = args.pids {
        if pids <= 0 {
            bail!("--pids {pids}: must be more than zero");
        }
        r["pids"] = serde_json::json!({"limit": pids});
    }
    Ok(Some(serde_json::from_value(r)?))
}
