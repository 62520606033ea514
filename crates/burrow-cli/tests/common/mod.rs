//! Helpers shared by the CLI's integration tests.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

fn bin_dir() -> PathBuf {
    PathBuf::from(format!("/tmp/burrow-cli-bin-{}", std::process::id()))
}

extern "C" fn remove_bin_dir() {
    let _ = std::fs::remove_dir_all(bin_dir());
}

/// The burrow binary, copied to a world-readable place so the test user can
/// run it whatever the permissions of the checkout; removed at exit. The copy
/// is made by `cp`, so no thread of ours ever holds a write descriptor on it
/// that a concurrently forked child could inherit (ETXTBSY).
pub fn world_readable_burrow() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let dir = bin_dir();
        std::fs::create_dir_all(&dir).unwrap();
        // SAFETY: registers a plain extern "C" function with no captured state.
        unsafe { libc::atexit(remove_bin_dir) };
        std::fs::set_permissions(&dir, PermissionsExt::from_mode(0o755)).unwrap();
        let bin = dir.join("burrow");
        copy_executable(Path::new(env!("CARGO_BIN_EXE_burrow")), &bin);
        std::fs::set_permissions(&bin, PermissionsExt::from_mode(0o755)).unwrap();
        bin
    })
}

/// Copy the program `src` to `dst` with `cp`, not in this process: a write
/// descriptor one test thread holds is inherited by any child another
/// thread forks meanwhile, and running `dst` then fails with ETXTBSY.
pub fn copy_executable(src: &Path, dst: &Path) {
    let status = Command::new("cp").arg(src).arg(dst).status().unwrap();
    assert!(status.success(), "cp {} {} failed", src.display(), dst.display());
}

/// The program `src` at `dst`: a hard link where possible, else a copy
/// (see [`copy_executable`]).
pub fn link_or_copy_executable(src: &Path, dst: &Path) {
    if std::fs::hard_link(src, dst).is_err() {
        copy_executable(src, dst);
    }
}

/// The capability mask on the `field` line (`CapEff`, `CapBnd`, ...) of a
/// /proc/PID/status text.
pub fn cap_mask(status: &str, field: &str) -> u64 {
    let line = status
        .lines()
        .find(|l| l.starts_with(&format!("{field}:")))
        .unwrap_or_else(|| panic!("no {field} in {status}"));
    u64::from_str_radix(line.split_whitespace().nth(1).unwrap(), 16).unwrap()
}

/// busybox (from busybox-static) at `dest`, for a test rootfs.
pub fn install_busybox(dest: &Path) {
    link_or_copy_executable(Path::new("/bin/busybox"), dest);
}

/// The unprivileged user the test script creates.
pub const TEST_USER: &str = "burrowtest";

/// Who runs burrow in a test.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum As {
    /// Whoever runs the tests (root in CI).
    Caller,
    /// The unprivileged test user (through runuser when we are root).
    Rootless,
}

/// uid and gid of [`TEST_USER`].
pub fn test_user_ids() -> (u32, u32) {
    let user = nix::unistd::User::from_name(TEST_USER)
        .unwrap()
        .unwrap_or_else(|| panic!("user {TEST_USER} is missing: run the README's test command, which creates it"));
    (user.uid.as_raw(), user.gid.as_raw())
}

/// A CVE-2019-5736 attacker, run inside a container: wait for a process
/// under `proc` whose executable is neither busybox nor this program (and,
/// with `marker`, whose environment holds it), open what it runs, wait for
/// it to exit, and try to write to that file through the fd. The outcome
/// goes to `report`: "caught EXE ...", then "overwritten" or "refused: ...";
/// or "nothing caught".
pub fn watch_and_overwrite(proc: &Path, report: &Path, marker: Option<&str>) {
    use std::io::Write;
    use std::time::{Duration, Instant};
    // Ourselves, as `proc` names us (there may be no /proc of our own).
    let own = std::fs::read_link(proc.join("self"))
        .ok()
        .and_then(|p| p.to_str()?.parse::<i32>().ok())
        .unwrap_or(-1);
    let mut out = std::fs::File::create(report).unwrap();
    // Processes that are of no interest for good (with a marker: those
    // that do not even run burrow), so that each scan is quick.
    let mut ignored = std::collections::HashSet::new();
    let deadline = Instant::now() + Duration::from_secs(15);
    while Instant::now() < deadline {
        for entry in std::fs::read_dir(proc).unwrap().flatten() {
            let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
                continue;
            };
            if pid == own || ignored.contains(&pid) {
                continue;
            }
            let dir = proc.join(pid.to_string());
            let Ok(exe) = std::fs::read_link(dir.join("exe")) else {
                continue;
            };
            if exe.ends_with("busybox") || marker.is_some() && !exe.to_string_lossy().contains("burrow") {
                ignored.insert(pid);
                continue;
            }
            if let Some(marker) = marker {
                let environ = std::fs::read(dir.join("environ")).unwrap_or_default();
                if !String::from_utf8_lossy(&environ).contains(marker) {
                    continue;
                }
            }
            let Ok(held) = std::fs::File::open(dir.join("exe")) else {
                continue;
            };
            let cmdline = std::fs::read(dir.join("cmdline")).unwrap_or_default();
            let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            writeln!(out, "caught {} (pid {pid}: {cmdline})", exe.display()).unwrap();
            while dir.exists() {
                std::thread::sleep(Duration::from_millis(1));
            }
            let fd = std::os::fd::AsRawFd::as_raw_fd(&held);
            // The runtime's process outside may still run the binary for a
            // moment (ETXTBSY): try again, as an attacker would.
            let busy_until = Instant::now() + Duration::from_secs(3);
            let attempt = loop {
                let attempt = std::fs::OpenOptions::new()
                    .write(true)
                    .open(format!("/proc/self/fd/{fd}"))
                    .and_then(|mut f| f.write_all(b"#!/bin/sh\necho pwned\n"));
                match attempt {
                    Err(e) if e.raw_os_error() == Some(libc::ETXTBSY) && Instant::now() < busy_until => {
                        std::thread::sleep(Duration::from_millis(2));
                    }
                    attempt => break attempt,
                }
            };
            match attempt {
                Ok(()) => writeln!(out, "overwritten").unwrap(),
                Err(e) => writeln!(out, "refused: {e}").unwrap(),
            }
            return;
        }
    }
    writeln!(out, "nothing caught").unwrap();
}

/// [`watch_and_overwrite`] as configured by the environment:
/// `BURROW_WATCHER_REPORT` (the report; nothing happens without it),
/// `BURROW_WATCHER_PROC` (default /proc) and `BURROW_WATCHER_MARKER`.
pub fn watcher_main() {
    let Some(report) = std::env::var_os("BURROW_WATCHER_REPORT") else {
        return;
    };
    let proc = std::env::var_os("BURROW_WATCHER_PROC").unwrap_or_else(|| "/proc".into());
    let marker = std::env::var("BURROW_WATCHER_MARKER").ok();
    watch_and_overwrite(Path::new(&proc), Path::new(&report), marker.as_deref());
}

/// Capability names (without `CAP_`), by number.
const CAPABILITIES: [&str; 41] = [
    "CHOWN",
    "DAC_OVERRIDE",
    "DAC_READ_SEARCH",
    "FOWNER",
    "FSETID",
    "KILL",
    "SETGID",
    "SETUID",
    "SETPCAP",
    "LINUX_IMMUTABLE",
    "NET_BIND_SERVICE",
    "NET_BROADCAST",
    "NET_ADMIN",
    "NET_RAW",
    "IPC_LOCK",
    "IPC_OWNER",
    "SYS_MODULE",
    "SYS_RAWIO",
    "SYS_CHROOT",
    "SYS_PTRACE",
    "SYS_PACCT",
    "SYS_ADMIN",
    "SYS_BOOT",
    "SYS_NICE",
    "SYS_RESOURCE",
    "SYS_TIME",
    "SYS_TTY_CONFIG",
    "MKNOD",
    "LEASE",
    "AUDIT_WRITE",
    "AUDIT_CONTROL",
    "SETFCAP",
    "MAC_OVERRIDE",
    "MAC_ADMIN",
    "SYSLOG",
    "WAKE_ALARM",
    "BLOCK_SUSPEND",
    "AUDIT_READ",
    "PERFMON",
    "BPF",
    "CHECKPOINT_RESTORE",
];

/// The capabilities whose bits `mask` has, as `CAP_NAME`s (those this
/// table knows).
pub fn capability_names(mask: u64) -> Vec<String> {
    CAPABILITIES
        .iter()
        .enumerate()
        .filter(|(bit, _)| mask & (1 << bit) != 0)
        .map(|(_, name)| format!("CAP_{name}"))
        .collect()
}
