//! The OCI commands: flags → `burrow_oci::lifecycle` calls → printed
//! results, as runc prints them.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use burrow_oci::lifecycle::{self, CreateOptions};
use burrow_oci::Store;

use crate::cli::{Cli, Command, RunArgs};

/// The store named by `--root`, or the default one.
fn store(cli_root: &Option<PathBuf>) -> Result<Store> {
    Ok(Store::new(&cli_root.clone().unwrap_or_else(Store::default_root))?)
}

/// Run one OCI command; `Ok(code)` is the exit code.
pub fn main(cli: Cli) -> Result<u8> {
    let root = cli.state_root.clone();
    match cli.command {
        Command::Create(a) => {
            let opts = CreateOptions {
                bundle: a.bundle,
                pid_file: a.pid_file,
                console_socket: a.console_socket,
                preserve_fds: a.preserve_fds,
                config: None,
            };
            lifecycle::create(&store(&root)?, &a.id, &opts)?;
        }
        Command::Start(a) => lifecycle::start(&store(&root)?, &a.id)?,
        Command::State(a) => println!(
            "{}",
            serde_json::to_string_pretty(&lifecycle::state(&store(&root)?, &a.id)?)?
        ),
        Command::Kill(a) => {
            let signal = lifecycle::parse_signal(&a.signal)?;
            lifecycle::kill(&store(&root)?, &a.id, signal, a.all)?;
        }
        Command::Delete(a) => lifecycle::delete(&store(&root)?, &a.id, a.force)?,
        Command::List(a) => list(&store(&root)?, &a.format, a.quiet)?,
        Command::Spec(a) => burrow_oci::default_spec::write(&a.bundle, a.rootless)?,
        Command::Exec(a) => {
            if a.process.is_none() && a.command.is_empty() {
                bail!("exec {}: give a command or --process FILE", a.id);
            }
            let opts = lifecycle::ExecOptions {
                process: a.process,
                args: a.command,
                env: a.env,
                cwd: a.cwd,
                user: a.user,
                additional_gids: a.additional_gids,
                caps: a.cap,
                no_new_privs: a.no_new_privs,
                detach: a.detach,
                pid_file: a.pid_file,
                preserve_fds: a.preserve_fds,
                tty: a.tty,
                console_socket: a.console_socket,
            };
            let code = lifecycle::exec(&store(&root)?, &a.id, &opts)?;
            return Ok(code.clamp(0, 255) as u8);
        }
        Command::Ps(a) => ps(&store(&root)?, &a.id, &a.format)?,
        Command::Features => println!("{}", serde_json::to_string_pretty(&burrow_oci::features::features())?),
        Command::Pause(a) => burrow_oci::control::pause(&store(&root)?, &a.id)?,
        Command::Resume(a) => burrow_oci::control::resume(&store(&root)?, &a.id)?,
        Command::Update(a) => burrow_oci::control::update(&store(&root)?, &a.id, &update_resources(&a)?)?,
        Command::Events(a) => {
            let interval = parse_duration(&a.interval).with_context(|| format!("--interval {}", a.interval))?;
            burrow_oci::control::events(&store(&root)?, &a.id, a.stats, interval)?
        }
        _ => unreachable!("not an OCI command"),
    }
    Ok(0)
}

/// `burrow run ID`: the OCI bundle run.
pub fn run(root: &Option<PathBuf>, id: &str, a: RunArgs) -> Result<u8> {
    let bundle = a.bundle.clone().unwrap_or_else(|| PathBuf::from("."));
    // The sealed copy (CVE-2019-5736), unless nothing of the container's
    // can reach burrow's code (see convert::runs_alone).
    // The config is loaded once, here; a config that fails to load is
    // loaded again by the create, which reports why.
    let config = burrow_oci::convert::load(&bundle).ok();
    let alone = config.as_ref().is_some_and(burrow_oci::convert::runs_alone);
    if a.detach || !alone {
        burrow::ensure_sealed_copy()?;
    }
    let opts = CreateOptions {
        bundle,
        pid_file: a.pid_file,
        console_socket: a.console_socket,
        preserve_fds: a.preserve_fds,
        config,
    };
    let code = lifecycle::run(&store(root)?, id, &opts, a.detach)?;
    Ok(code.clamp(0, 255) as u8)
}

/// `list`: runc's table or JSON.
fn list(store: &Store, format: &str, quiet: bool) -> Result<()> {
    let states = lifecycle::list(store)?;
    match (format, quiet) {
        (_, true) => states
            .iter()
            .for_each(|s| println!("{}", s["id"].as_str().unwrap_or_default())),
        ("json", _) => println!("{}", serde_json::to_string(&states)?),
        ("table", _) => {
            // Columns as wide as their widest cell (at least 12), 3 apart,
            // as runc's tabwriter makes them.
            let mut rows = vec![["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"].map(str::to_owned)];
            rows.extend(states.iter().map(|s| {
                let text = |key: &str| s[key].as_str().unwrap_or_default().to_owned();
                [
                    text("id"),
                    s["pid"].to_string(),
                    text("status"),
                    text("bundle"),
                    text("created"),
                    text("owner"),
                ]
            }));
            let widths: Vec<usize> = (0..6)
                .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0).max(12) + 3)
                .collect();
            for row in &rows {
                let (last, cells) = row.split_last().expect("six columns");
                let line: String = cells
                    .iter()
                    .zip(&widths)
                    .map(|(cell, w)| format!("{cell:<w$}"))
                    .collect();
                println!("{line}{last}");
            }
        }
        (other, _) => bail!("--format {other}: expected table or json"),
    }
    Ok(())
}

/// `ps`: the container's processes, as runc prints them.
fn ps(store: &Store, id: &str, format: &str) -> Result<()> {
    let pids = lifecycle::pids(store, id)?;
    match format {
        "json" => println!("{}", serde_json::to_string(&pids)?),
        "table" => {
            let list: Vec<String> = pids.iter().map(i32::to_string).collect();
            let status = std::process::Command::new("ps")
                .args(["-o", "uid,pid,ppid,c,stime,tty,time,cmd", "-p", &list.join(",")])
                .status();
            if !status.is_ok_and(|s| s.success() || pids.is_empty()) {
                bail!("ps: could not run ps(1) for pids {}", list.join(","));
            }
        }
        other => bail!("--format {other}: expected table or json"),
    }
    Ok(())
}

/// A size with an optional k, m or g (binary) suffix; -1 stays -1.
pub fn parse_size(flag: &str, text: &str) -> Result<i64> {
    let t = text.trim().to_ascii_lowercase();
    if t == "-1" {
        return Ok(-1);
    }
    let (digits, unit) = match t.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => t.split_at(i),
        None => (t.as_str(), ""),
    };
    let scale: i64 = match unit.trim_end_matches('b') {
        "" => 1,
        "k" => 1 << 10,
        "m" => 1 << 20,
        "g" => 1 << 30,
        _ => bail!("{flag} {text}: not a size (such as 64M)"),
    };
    let n: i64 = digits
        .parse()
        .with_context(|| format!("{flag} {text}: not a size (such as 64M)"))?;
    n.checked_mul(scale)
        .with_context(|| format!("{flag} {text}: too large"))
}

/// "5s", "500ms", "2m" or a number of seconds.
fn parse_duration(text: &str) -> Result<std::time::Duration> {
    let (num, unit) = match text.find(|c: char| !c.is_ascii_digit() && c != '.') {
        Some(i) => text.split_at(i),
        None => (text, "s"),
    };
    let n: f64 = num.parse().context("not a duration (such as 5s)")?;
    let secs = match unit {
        "ms" => n / 1000.0,
        "s" => n,
        "m" => n * 60.0,
        _ => bail!("not a duration (such as 5s)"),
    };
    if !(secs > 0.0 && secs.is_finite()) {
        bail!("must be more than zero");
    }
    Ok(std::time::Duration::from_secs_f64(secs))
}

/// `update`'s resources: the file's, with the flags on top.
fn update_resources(a: &crate::cli::UpdateArgs) -> Result<burrow_oci::control::LinuxResources> {
    for (flag, given) in [
        ("--l3-cache-schema", a.l3_cache_schema.is_some()),
        ("--mem-bw-schema", a.mem_bw_schema.is_some()),
    ] {
        if given {
            bail!("{flag}: Intel RDT (linux.intelRdt) is not supported by this build of burrow");
        }
    }
    let mut value = match &a.resources {
        Some(file) => serde_json::to_value(burrow_oci::control::read_resources(file)?)?,
        None => serde_json::json!({}),
    };
    let mut set = |section: &str, key: &str, v: serde_json::Value| {
        if !value[section].is_object() {
            value[section] = serde_json::json!({});
        }
        value[section][key] = v;
    };
    if let Some(m) = &a.memory {
        set("memory", "limit", parse_size("--memory", m)?.into());
    }
    if let Some(m) = &a.memory_reservation {
        set("memory", "reservation", parse_size("--memory-reservation", m)?.into());
    }
    if let Some(m) = &a.memory_swap {
        set("memory", "swap", parse_size("--memory-swap", m)?.into());
    }
    if let Some(v) = a.cpu_shares {
        set("cpu", "shares", v.into());
    }
    if let Some(v) = a.cpu_period {
        set("cpu", "period", v.into());
    }
    if let Some(v) = a.cpu_quota {
        set("cpu", "quota", v.into());
    }
    if let Some(v) = a.cpu_rt_period {
        set("cpu", "realtimePeriod", v.into());
    }
    if let Some(v) = a.cpu_rt_runtime {
        set("cpu", "realtimeRuntime", v.into());
    }
    if let Some(v) = &a.cpuset_cpus {
        set("cpu", "cpus", v.clone().into());
    }
    if let Some(v) = &a.cpuset_mems {
        set("cpu", "mems", v.clone().into());
    }
    if let Some(v) = a.pids_limit {
        set("pids", "limit", v.into());
    }
    if let Some(v) = a.blkio_weight {
        set("blockIO", "weight", v.into());
    }
    Ok(serde_json::from_value(value)?)
}
