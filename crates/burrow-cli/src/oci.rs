//! The OCI commands: flags → `burrow_oci::lifecycle` calls → printed
//! results, as runc prints them.

use std::path::PathBuf;

use anyhow::{bail, Result};
use burrow_oci::lifecycle::{self, CreateOptions};
use burrow_oci::Store;

use crate::cli::{Cli, Command, RunArgs};

/// The store named by `--root`, or the default one.
fn store(cli_root: &Option<PathBuf>) -> Result<Store> {
    Ok(Store::new(&cli_root.clone().unwrap_or_else(Store::default_root))?)
}

/// Run one OCI command; `Ok(code)` is the exit code.
pub fn main(cli: Cli) -> Result<u8> {
    if cli.systemd_cgroup {
        bail!("--systemd-cgroup: this build of burrow has no systemd cgroup driver");
    }
    let root = cli.state_root.clone();
    match cli.command {
        Command::Create(a) => {
            let opts = CreateOptions {
                bundle: a.bundle,
                pid_file: a.pid_file,
                console_socket: a.console_socket,
                preserve_fds: a.preserve_fds,
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
        _ => unreachable!("not an OCI command"),
    }
    Ok(0)
}

/// `burrow run ID`: the OCI bundle run.
pub fn run(root: &Option<PathBuf>, id: &str, a: RunArgs) -> Result<u8> {
    let adhoc = !(a.share.is_empty() && a.expose.is_empty() && a.tmpfs.is_empty() && a.command.is_empty())
        || a.root.is_some()
        || a.network
        || a.namespaces.is_some();
    if adhoc {
        bail!("run {id}: runs the OCI bundle; --share, --expose, --tmpfs, --root, --network, --namespaces and a -- COMMAND are for ad-hoc containers without an ID");
    }
    let opts = CreateOptions {
        bundle: a.bundle.unwrap_or_else(|| PathBuf::from(".")),
        pid_file: a.pid_file,
        console_socket: a.console_socket,
        preserve_fds: a.preserve_fds,
    };
    let code = lifecycle::run(&store(root)?, id, &opts, a.detach)?;
    Ok(code.clamp(0, 255) as u8)
}

/// `list`: runc's table or JSON.
fn list(store: &Store, format: &str, quiet: bool) -> Result<()> {
    let states = lifecycle::list(store);
    match (format, quiet) {
        (_, true) => states
            .iter()
            .for_each(|s| println!("{}", s["id"].as_str().unwrap_or_default())),
        ("json", _) => println!("{}", serde_json::to_string(&states)?),
        ("table", _) => {
            println!(
                "{:<20} {:<8} {:<10} {:<40} {:<32} OWNER",
                "ID", "PID", "STATUS", "BUNDLE", "CREATED"
            );
            for s in &states {
                println!(
                    "{:<20} {:<8} {:<10} {:<40} {:<32} {}",
                    s["id"].as_str().unwrap_or_default(),
                    s["pid"].to_string(),
                    s["status"].as_str().unwrap_or_default(),
                    s["bundle"].as_str().unwrap_or_default(),
                    s["created"].as_str().unwrap_or_default(),
                    s["owner"].as_str().unwrap_or_default()
                );
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
