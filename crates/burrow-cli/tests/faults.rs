//! Faults: `create` killed with SIGKILL at every moment of its work, state
//! that cannot be written (a full disk, a read-only state directory), and
//! two commands racing on one id. Afterwards `state` says something true,
//! `delete --force` removes everything, and nothing is left behind.

mod deadline;

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use deadline::{output_within, wait_within, LIMIT};

/// A scratch directory with a busybox bundle, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Self {
        let dir = nix::unistd::mkdtemp(&std::env::temp_dir().join("burrow-test.XXXXXX")).expect("mkdtemp");
        let bundle = dir.join("bundle");
        std::fs::create_dir_all(bundle.join("rootfs/bin")).unwrap();
        if std::fs::hard_link("/bin/busybox", bundle.join("rootfs/bin/busybox")).is_err() {
            std::fs::copy("/bin/busybox", bundle.join("rootfs/bin/busybox")).expect("busybox-static is installed");
        }
        for applet in ["sh", "sleep"] {
            std::os::unix::fs::symlink("busybox", bundle.join("rootfs/bin").join(applet)).unwrap();
        }
        let scratch = Scratch(dir);
        let out = scratch.burrow(&["spec", "--bundle", bundle.to_str().unwrap()]);
        assert!(out.status.success());
        let path = bundle.join("config.json");
        let mut config: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        config["process"]["terminal"] = false.into();
        config["process"]["args"] = serde_json::json!(["sleep", "1000"]);
        std::fs::write(&path, serde_json::to_vec(&config).unwrap()).unwrap();
        scratch
    }

    fn bundle(&self) -> String {
        self.0.join("bundle").display().to_string()
    }

    fn state(&self) -> PathBuf {
        self.0.join("state")
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_burrow"));
        cmd.arg("--root")
            .arg(self.state())
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        cmd
    }

    /// Run to the end; stdio through files (a created container keeps
    /// the runtime's stdio open).
    fn burrow(&self, args: &[&str]) -> Output {
        let log = self.0.join("log");
        let file = std::fs::File::create(&log).unwrap();
        let status = output_within(self.command(args).stderr(file), LIMIT).status;
        let stderr = std::fs::read(&log).unwrap_or_default();
        Output {
            status,
            stdout: Vec::new(),
            stderr,
        }
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        for entry in std::fs::read_dir(self.state()).into_iter().flatten().flatten() {
            let id = entry.file_name().to_string_lossy().into_owned();
            let _ = self.burrow(&["delete", "--force", &id]);
        }
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The container cgroups of this host (leaf directories named after ids).
fn cgroups_named(prefix: &str) -> Vec<PathBuf> {
    let out = Command::new("find")
        .args([
            "/sys/fs/cgroup",
            "-mindepth",
            "1",
            "-maxdepth",
            "6",
            "-type",
            "d",
            "-name",
        ])
        .arg(format!("{prefix}*"))
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(PathBuf::from)
        .collect()
}

/// `create` killed at 0, 1, 2, … ms into its work (which spans id maps,
/// cgroups, mounts, the pid file and the state): each time, `state` either
/// refuses the id or reports a status, and `delete --force` leaves no
/// state, cgroup or process behind.
#[test]
fn create_killed_at_any_moment_is_cleaned_by_delete_force() {
    let scratch = Scratch::new();
    let prefix = format!("fault-{}-", std::process::id());
    // How long a whole create takes here, to spread the kills over it.
    let started = Instant::now();
    let probe = format!("{prefix}probe");
    assert!(scratch
        .burrow(&["create", "--bundle", &scratch.bundle(), &probe])
        .status
        .success());
    let whole = started.elapsed().max(Duration::from_millis(5));
    assert!(scratch.burrow(&["delete", "--force", &probe]).status.success());
    let steps = 40u32;
    let mut outcomes = std::collections::BTreeMap::<String, u32>::new();
    for step in 0..steps {
        let id = format!("{prefix}{step}");
        let pid_file = scratch.0.join(format!("{id}.pid"));
        let mut child = scratch
            .command(&[
                "create",
                "--bundle",
                &scratch.bundle(),
                "--pid-file",
                pid_file.to_str().unwrap(),
                &id,
            ])
            .spawn()
            .unwrap();
        std::thread::sleep(whole * step / steps);
        let _ = child.kill();
        let _ = child.wait();
        // state: either no such container, or a status, never garbage.
        let state = output_within(scratch.command(&["state", &id]).stdout(Stdio::piped()), LIMIT);
        let outcome = if state.status.success() {
            let json: serde_json::Value = serde_json::from_slice(&state.stdout)
                .unwrap_or_else(|e| panic!("state of {id} is not JSON ({e}): {:?}", state.stdout));
            let status = json["status"].as_str().unwrap_or("").to_string();
            assert!(
                ["creating", "created", "running", "stopped"].contains(&status.as_str()),
                "{id}: {json}"
            );
            status
        } else {
            "no container".to_string()
        };
        *outcomes.entry(outcome).or_default() += 1;
        let pid: Option<i32> = std::fs::read_to_string(&pid_file)
            .ok()
            .and_then(|p| p.trim().parse().ok());
        delete_force_leaves_nothing(&scratch, &id, pid, &id);
    }
    println!("create killed at {steps} moments over {whole:?}: {outcomes:?}");
    assert!(
        outcomes.len() > 1,
        "the kills must have landed at different stages: {outcomes:?}"
    );
}

/// The container's own process killed at every moment of its setup (found
/// as `create`'s child as soon as it exists): `create` fails or the
/// container shows as stopped, and `delete --force` leaves nothing.
#[test]
fn container_killed_during_setup_is_cleaned_by_delete_force() {
    let scratch = Scratch::new();
    let prefix = format!("cfault-{}-", std::process::id());
    let mut outcomes = std::collections::BTreeMap::<String, u32>::new();
    for step in 0..30u32 {
        let id = format!("{prefix}{step}");
        let mut runtime = scratch
            .command(&["create", "--bundle", &scratch.bundle(), &id])
            .spawn()
            .unwrap();
        // The container process: create's child, once it exists.
        let children = format!("/proc/{0}/task/{0}/children", runtime.id());
        let deadline = Instant::now() + Duration::from_secs(5);
        let child = loop {
            let text = std::fs::read_to_string(&children).unwrap_or_default();
            if let Some(pid) = text.split_whitespace().next().and_then(|p| p.parse::<i32>().ok()) {
                break Some(pid);
            }
            if Instant::now() > deadline || runtime.try_wait().ok().flatten().is_some() {
                break None;
            }
        };
        std::thread::sleep(Duration::from_micros(250 * u64::from(step)));
        if let Some(pid) = child {
            // SAFETY: kill(2) with integers only.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
        let created = wait_within(runtime, &id, LIMIT).status.success();
        // SIGKILL is delivered, not yet done, when kill(2) returns: ask for
        // the state once the process has died (a zombie, or reaped).
        if let Some(pid) = child {
            wait_dead(pid, &format!("{id}: after SIGKILL"));
        }
        let state = output_within(scratch.command(&["state", &id]).stdout(Stdio::piped()), LIMIT);
        let status = serde_json::from_slice::<serde_json::Value>(&state.stdout)
            .ok()
            .and_then(|j| j["status"].as_str().map(str::to_string));
        let outcome = match (created, status) {
            (true, Some(status)) if child.is_none() => format!("create done before its child showed, {status}"),
            // The process it reports was killed: it cannot be running.
            (true, Some(status)) if status == "stopped" => "created, then stopped".to_string(),
            (false, None) => "create failed, no container".to_string(),
            (created, status) => panic!("{id}: create succeeded={created} but state says {status:?}"),
        };
        *outcomes.entry(outcome).or_default() += 1;
        let _ = scratch.burrow(&["delete", "--force", &id]);
        assert!(!scratch.state().join(&id).exists(), "{id}: state left behind");
        assert_eq!(cgroups_named(&id), Vec::<PathBuf>::new(), "{id}: cgroups left behind");
    }
    println!("container killed during setup, 30 times: {outcomes:?}");
    let killed: u32 = outcomes
        .iter()
        .filter(|(o, _)| !o.starts_with("create done before"))
        .map(|(_, n)| n)
        .sum();
    assert!(killed >= 10, "too few kills landed to test anything: {outcomes:?}");
}

/// Two `create`s of one id at the same time: exactly one wins, the other
/// says the id is taken, and the winner's state is whole.
#[test]
fn two_creates_of_one_id_never_corrupt_it() {
    let scratch = Scratch::new();
    for round in 0..5 {
        let id = format!("race-{}-{round}", std::process::id());
        let outputs: Vec<Output> = std::thread::scope(|s| {
            let a = s.spawn(|| scratch.burrow(&["create", "--bundle", &scratch.bundle(), &id]));
            let b = s.spawn(|| scratch.burrow(&["create", "--bundle", &scratch.bundle(), &id]));
            vec![a.join().unwrap(), b.join().unwrap()]
        });
        let won = outputs.iter().filter(|o| o.status.success()).count();
        assert_eq!(won, 1, "round {round}: exactly one create wins");
        let lost = outputs.iter().find(|o| !o.status.success()).unwrap();
        let message = String::from_utf8_lossy(&lost.stderr);
        assert!(message.contains(&id) && message.lines().count() == 1, "{message}");
        let state = output_within(scratch.command(&["state", &id]).stdout(Stdio::piped()), LIMIT);
        let json: serde_json::Value = serde_json::from_slice(&state.stdout).unwrap();
        assert_eq!(json["status"], "created", "{json}");
        assert!(scratch.burrow(&["delete", "--force", &id]).status.success());
    }
}

/// A state directory that cannot be written (read-only, or full) makes
/// `create` fail with one line naming the path, and leaves no cgroup and no
/// half-written state. (In a mount namespace of the test's own.)
#[test]
fn unwritable_state_gives_a_clear_error_and_changes_nothing() {
    assert!(nix::unistd::geteuid().is_root(), "the mounts here need root");
    let scratch = Scratch::new();
    let state = scratch.state();
    std::fs::create_dir_all(&state).unwrap();
    for (case, setup) in [
        ("read-only", format!("mount -o bind,ro '{0}' '{0}'", state.display())),
        (
            "full",
            format!(
                "mount -t tmpfs -o size=8k tmpfs '{0}' && {{ dd if=/dev/zero of='{0}/fill' bs=1k count=64 2>/dev/null || true; }}",
                state.display()
            ),
        ),
    ] {
        let id = format!("unwritable-{}-{case}", std::process::id());
        let script = format!(
            "set -e; {setup}; exec '{burrow}' --root '{state}' create --bundle '{bundle}' '{id}'",
            burrow = env!("CARGO_BIN_EXE_burrow"),
            state = state.display(),
            bundle = scratch.bundle()
        );
        let log = scratch.0.join("log");
        let status = output_within(
            Command::new("unshare")
                .args(["-m", "--propagation", "private", "sh", "-c", &script])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(std::fs::File::create(&log).unwrap()),
            LIMIT,
        )
        .status;
        let message = std::fs::read_to_string(&log).unwrap_or_default();
        assert!(!status.success(), "{case}: create must fail");
        assert!(
            message.lines().count() == 1 && message.contains(&state.display().to_string()),
            "{case}: one line naming the state path: {message:?}"
        );
        assert_eq!(cgroups_named(&id), Vec::<PathBuf>::new(), "{case}: cgroups left behind");
        assert!(!state.join(&id).exists(), "{case}: state left behind");
    }
}

/// `delete --force` of `id` (`what` names the case) succeeds, or finds no
/// container; either way no state or cgroup is left, and the process
/// `pid` (from the pid file, if any) is dead.
fn delete_force_leaves_nothing(scratch: &Scratch, id: &str, pid: Option<i32>, what: &str) {
    let deleted = scratch.burrow(&["delete", "--force", id]);
    let gone = !scratch.state().join(id).exists();
    assert!(
        deleted.status.success() || gone,
        "{what}: delete --force failed: {}",
        String::from_utf8_lossy(&deleted.stderr)
    );
    assert!(gone, "{what}: state left behind");
    assert_eq!(cgroups_named(id), Vec::<PathBuf>::new(), "{what}: cgroups left behind");
    if let Some(pid) = pid {
        wait_dead(pid, &format!("{what}: after delete --force"));
    }
}

/// Wait (up to 5 s) until process `pid` has died: a zombie, or gone.
fn wait_dead(pid: i32, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .is_ok_and(|s| !s.rsplit_once(") ").is_some_and(|(_, rest)| rest.starts_with('Z')))
    {
        assert!(Instant::now() < deadline, "{what}: process {pid} is still alive");
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// What `state` says of `id`: its status, or "no container".
fn status_of(scratch: &Scratch, id: &str) -> String {
    let state = output_within(scratch.command(&["state", id]).stdout(Stdio::piped()), LIMIT);
    if !state.status.success() {
        return "no container".to_string();
    }
    let json: serde_json::Value = serde_json::from_slice(&state.stdout)
        .unwrap_or_else(|e| panic!("state of {id} is not JSON ({e}): {:?}", state.stdout));
    json["status"].as_str().unwrap_or_default().to_string()
}

/// `create` ended at each named stage of its work (the fault points of a
/// `fault-points` build, see `burrow::fault`), the runtime by SIGKILL and
/// the container process by an immediate exit, with and without a user
/// namespace: `state` says what is true at that stage, and `delete
/// --force` leaves no state, cgroup or process.
#[test]
fn create_killed_at_each_named_stage_is_cleaned_by_delete_force() {
    use std::os::unix::process::ExitStatusExt;
    let scratch = Scratch::new();
    // The same bundle in a user namespace (root of the container mapped to
    // an unused host range), which adds the id-map stage.
    let userns = scratch.0.join("bundle-userns");
    std::fs::create_dir(&userns).unwrap();
    // (mkdtemp made the scratch directory 0700: let the mapped root in)
    std::fs::set_permissions(&scratch.0, std::os::unix::fs::PermissionsExt::from_mode(0o711)).unwrap();
    let mut config: serde_json::Value =
        serde_json::from_slice(&std::fs::read(scratch.0.join("bundle/config.json")).unwrap()).unwrap();
    config["root"]["path"] = scratch.0.join("bundle/rootfs").display().to_string().into();
    config["linux"]["namespaces"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({"type": "user"}));
    let map = serde_json::json!([{"containerID": 0, "hostID": 200000, "size": 65536}]);
    config["linux"]["uidMappings"] = map.clone();
    config["linux"]["gidMappings"] = map;
    std::fs::write(userns.join("config.json"), serde_json::to_vec(&config).unwrap()).unwrap();
    // (point, who ends there, the status `state` must then report: a
    // container whose process is gone, or never recorded, is stopped)
    let points = [
        ("create:reserved", "runtime", "no container"),
        ("create:cgroups", "runtime", "stopped"),
        ("spawn:cloned", "runtime", "stopped"),
        ("child:cloned", "container", "no container"),
        ("spawn:id-maps", "runtime", "stopped"),
        ("child:go", "container", "no container"),
        ("child:root", "container", "no container"),
        ("child:ready", "container", "stopped"),
        ("spawn:done", "runtime", "stopped"),
        ("create:recorded", "runtime", "created"),
        ("create:pid-file", "runtime", "created"),
    ];
    let mut seen = Vec::new();
    for (bundle, user_ns) in [(scratch.bundle(), false), (userns.display().to_string(), true)] {
        for (n, (point, who, expected)) in points.iter().enumerate() {
            if *point == "spawn:id-maps" && !user_ns {
                continue;
            }
            let id = format!("named-{}-{}-{n}", std::process::id(), u8::from(user_ns));
            let pid_file = scratch.0.join(format!("{id}.pid"));
            let log = scratch.0.join("log");
            let status = output_within(
                scratch
                    .command(&[
                        "create",
                        "--bundle",
                        &bundle,
                        "--pid-file",
                        pid_file.to_str().unwrap(),
                        &id,
                    ])
                    .env("BURROW_FAULT_KILL", point)
                    .stderr(std::fs::File::create(&log).unwrap()),
                LIMIT,
            )
            .status;
            let stderr = std::fs::read_to_string(&log).unwrap_or_default();
            let what = format!("{point} (user namespace: {user_ns})");
            match *who {
                "runtime" => assert_eq!(
                    status.signal(),
                    Some(libc::SIGKILL),
                    "{what}: create must die there (a build with --features fault-points): {status:?} {stderr}"
                ),
                // The container's end: setup fails, or (at the gate) the
                // created container stops.
                _ if *expected == "stopped" => assert!(status.success(), "{what}: {stderr}"),
                _ => assert!(
                    status.code().is_some_and(|c| c != 0) && stderr.lines().count() == 1 && stderr.contains("137"),
                    "{what}: create must fail with one line saying how its process ended: {status:?} {stderr:?}"
                ),
            }
            // A killed container ends in a moment: ask once it has.
            let pid: Option<i32> = std::fs::read_to_string(&pid_file)
                .ok()
                .and_then(|p| p.trim().parse().ok());
            let deadline = Instant::now() + Duration::from_secs(5);
            let mut state = status_of(&scratch, &id);
            while state != *expected && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(10));
                state = status_of(&scratch, &id);
            }
            assert_eq!(state, *expected, "{what}: state");
            // Written last by a create that got that far.
            let wrote_pid_file = matches!(*point, "create:pid-file" | "child:ready");
            assert_eq!(pid.is_some(), wrote_pid_file, "{what}: pid file {pid:?}");
            delete_force_leaves_nothing(&scratch, &id, pid, &what);
            seen.push(format!("{what}: {state}"));
        }
    }
    println!("create ended at {} named stages:\n{}", seen.len(), seen.join("\n"));
}
