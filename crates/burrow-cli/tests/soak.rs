//! Soak: many containers in a row and at once, then a count of what could
//! leak (mounts, cgroups, state directories, temporary roots, processes),
//! before and after, printed and asserted equal.
//!
//! CI runs a short soak; `BURROW_SOAK=1` runs the full one (1,000
//! sequential `run`s and 100 concurrent create/start/delete cycles).

mod deadline;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use deadline::{output_within, LIMIT};

/// What the host has that a leaking runtime would add to.
#[derive(Debug, PartialEq, Eq)]
struct Counts {
    mounts: usize,
    cgroups: usize,
    state_dirs: usize,
    temporary_roots: usize,
    children: usize,
}

/// Make this process the subreaper of what it starts: a container process
/// that outlives its runtime is then counted among the children (and the
/// dead ones are reaped, so only live ones count).
fn adopt_orphans() {
    // SAFETY: prctl with integer arguments only.
    unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
    while nix::sys::wait::waitpid(None, Some(nix::sys::wait::WaitPidFlag::WNOHANG))
        .is_ok_and(|s| s != nix::sys::wait::WaitStatus::StillAlive)
    {}
}

fn count(state: &Path) -> Counts {
    adopt_orphans();
    // The cgroups burrow makes here: named after a container id (soak-…)
    // or a `burrow run` (burrow-run-PID); the host's others come and go.
    let cgroups = Command::new("find")
        .args(["/sys/fs/cgroup", "-mindepth", "1", "-maxdepth", "6", "-type", "d"])
        .args(["(", "-name", "soak-*", "-o", "-name", "burrow-run-*", ")"])
        .output()
        .map(|o| o.stdout.split(|b| *b == b'\n').filter(|l| !l.is_empty()).count())
        .unwrap_or(0);
    let entries = |dir: &Path, prefix: &str| {
        std::fs::read_dir(dir)
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with(prefix))
            .count()
    };
    // Live children and zombies of this test process.
    let me = std::process::id().to_string();
    let children = std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| {
            std::fs::read_to_string(e.path().join("stat"))
                .ok()
                .and_then(|s| {
                    s.rsplit_once(") ")
                        .map(|(_, rest)| rest.split(' ').nth(1) == Some(me.as_str()))
                })
                .unwrap_or(false)
        })
        .count();
    Counts {
        mounts: std::fs::read_to_string("/proc/self/mountinfo")
            .unwrap_or_default()
            .lines()
            .count(),
        cgroups,
        state_dirs: entries(state, ""),
        temporary_roots: entries(&std::env::temp_dir(), "burrow-root."),
        children,
    }
}

/// The two soaks count the same things: one at a time.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn full() -> bool {
    std::env::var_os("BURROW_SOAK").is_some_and(|v| v == "1")
}

/// A scratch directory with a busybox bundle, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Self {
        let dir = nix::unistd::mkdtemp(&std::env::temp_dir().join("burrow-test.XXXXXX")).expect("mkdtemp");
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn burrow() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_burrow"));
    cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::piped());
    cmd
}

#[test]
fn sequential_runs_leak_nothing() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let runs = if full() { 1000 } else { 150 };
    let scratch = Scratch::new();
    let before = count(&scratch.0);
    for i in 0..runs {
        // Every tenth with a limit, so that its burrow-run-PID cgroups are made.
        let limited: &[&str] = if i % 10 == 0 { &["--pids", "64"] } else { &[] };
        let out = output_within(burrow().arg("run").args(limited).args(["--", "true"]), LIMIT);
        assert!(
            out.status.success(),
            "run {i}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let after = count(&scratch.0);
    println!("{runs} sequential runs: before {before:?}, after {after:?}");
    assert_eq!(before, after);
}

#[test]
fn concurrent_create_start_delete_cycles_leak_nothing() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let cycles = if full() { 100 } else { 30 };
    let scratch = Scratch::new();
    let bundle = scratch.0.join("bundle");
    let state = scratch.0.join("state");
    std::fs::create_dir_all(bundle.join("rootfs/bin")).unwrap();
    std::fs::create_dir_all(&state).unwrap();
    if std::fs::hard_link("/bin/busybox", bundle.join("rootfs/bin/busybox")).is_err() {
        std::fs::copy("/bin/busybox", bundle.join("rootfs/bin/busybox")).expect("busybox-static is installed");
    }
    std::os::unix::fs::symlink("busybox", bundle.join("rootfs/bin/sh")).unwrap();
    let spec = output_within(burrow().args(["spec", "--bundle"]).arg(&bundle), LIMIT);
    assert!(spec.status.success());
    let config_path = bundle.join("config.json");
    let mut config: serde_json::Value = serde_json::from_slice(&std::fs::read(&config_path).unwrap()).unwrap();
    config["process"]["terminal"] = false.into();
    config["process"]["args"] = serde_json::json!(["sh", "-c", "exit 0"]);
    std::fs::write(&config_path, serde_json::to_vec(&config).unwrap()).unwrap();
    let before = count(&state);
    let cycle = |id: String| {
        // stdio to a file: a created container keeps the runtime's stdio
        // open until it runs, so a pipe would not reach end of file.
        let log = scratch.0.join(format!("{id}.log"));
        let run = |args: &[&str]| {
            let file = std::fs::File::create(&log).unwrap();
            let status = output_within(burrow().arg("--root").arg(&state).args(args).stderr(file), LIMIT).status;
            assert!(
                status.success(),
                "{args:?}: {}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
        };
        run(&["create", "--bundle", bundle.to_str().unwrap(), &id]);
        run(&["start", &id]);
        // Wait for it to stop, then delete it.
        for _ in 0..500 {
            let out = output_within(
                burrow()
                    .arg("--root")
                    .arg(&state)
                    .args(["state", &id])
                    .stdout(Stdio::piped()),
                LIMIT,
            );
            if String::from_utf8_lossy(&out.stdout).contains("\"stopped\"") {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        run(&["delete", &id]);
    };
    std::thread::scope(|s| {
        for batch in 0..cycles / 10 {
            let handles: Vec<_> = (0..10)
                .map(|i| {
                    let id = format!("soak-{}-{batch}-{i}", std::process::id());
                    s.spawn(move || cycle(id))
                })
                .collect();
            for h in handles {
                h.join().expect("a cycle failed");
            }
        }
    });
    let after = count(&state);
    println!("{cycles} create/start/delete cycles, 10 at a time: before {before:?}, after {after:?}");
    assert_eq!(before, after);
}
