//! `burrow run`, `burrow enter` and `burrow probe`, driven as a person
//! would: as root and as a real unprivileged user (`burrowtest`, created by
//! the test script), checking output, exit codes and what is left behind.

mod common;

use common::{test_user_ids, As, TEST_USER};

use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// A scratch directory, writable by everyone, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Self {
        let dir = nix::unistd::mkdtemp(&std::env::temp_dir().join("burrow-cli-test.XXXXXX")).unwrap();
        std::fs::set_permissions(&dir, PermissionsExt::from_mode(0o777)).unwrap();
        Scratch(dir)
    }
    fn path(&self) -> &Path {
        &self.0
    }
    fn is_empty(&self) -> bool {
        std::fs::read_dir(&self.0).unwrap().next().is_none()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A `burrow ARGS` command run as `who`, with its own empty TMPDIR.
fn burrow(who: As, tmp: &Scratch, args: &[&str]) -> Command {
    let mut cmd = command_as(who, common::world_readable_burrow());
    cmd.args(args)
        .env("TMPDIR", tmp.path())
        .current_dir("/")
        .stdin(Stdio::null());
    cmd
}

/// Run and collect; the TMPDIR must be empty afterwards (no temporary root
/// left behind, whatever happened).
fn run(who: As, args: &[&str]) -> Output {
    let tmp = Scratch::new();
    let out = burrow(who, &tmp, args).output().unwrap();
    assert!(
        tmp.is_empty(),
        "burrow {args:?} left {:?} behind",
        std::fs::read_dir(tmp.path()).unwrap().collect::<Vec<_>>()
    );
    out
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn host_uid(who: As) -> u32 {
    match who {
        As::Rootless if nix::unistd::geteuid().is_root() => test_user_ids().0,
        _ => nix::unistd::geteuid().as_raw(),
    }
}

fn the_issue_command_shows_a_fresh_container(who: As) {
    let o = run(
        who,
        &[
            "run",
            "--",
            "sh",
            "-c",
            "echo $$; hostname; id -u; cat /proc/self/uid_map; ls /dev; cat /proc/mounts",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = stdout(&o);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "1", "pid 1: {text}");
    assert_eq!(lines[1], "burrow", "hostname: {text}");
    assert_eq!(lines[2], "0", "root inside: {text}");
    let map: Vec<&str> = lines[3].split_whitespace().collect();
    assert_eq!(map, ["0", &host_uid(who).to_string(), "1"], "{text}");
    for dev in [
        "null", "zero", "full", "random", "urandom", "tty", "pts", "ptmx", "fd", "stdin", "stdout", "stderr",
    ] {
        assert!(lines.contains(&dev), "/dev/{dev} missing: {text}");
    }
    let root_line = lines.iter().find(|l| l.split(' ').nth(1) == Some("/")).unwrap();
    assert!(root_line.starts_with("tmpfs / tmpfs"), "{text}");
    assert_eq!(
        lines.iter().filter(|l| l.split(' ').nth(1) == Some("/")).count(),
        1,
        "one root mount: {text}"
    );
    assert!(!text.contains("/dev/vda /  ") && !text.contains("real-root"), "{text}");
    assert!(
        lines
            .iter()
            .any(|l| l.contains(" /usr ") && l.split(' ').nth(3).unwrap().starts_with("ro")),
        "{text}"
    );
}

#[test]
fn run_as_root_shows_a_fresh_container() {
    the_issue_command_shows_a_fresh_container(As::Caller);
}

#[test]
fn run_rootless_shows_a_fresh_container() {
    the_issue_command_shows_a_fresh_container(As::Rootless);
}

fn expose_is_read_only_and_share_is_writable(who: As) {
    let data = Scratch::new();
    std::fs::write(data.path().join("seen"), "from host\n").unwrap();
    let share = format!("{}=/data", data.path().display());
    let expose = format!("{}=/ro", data.path().display());
    let o = run(
        who,
        &[
            "run",
            "--share",
            &share,
            "--expose",
            &expose,
            "--",
            "sh",
            "-c",
            "cat /ro/seen; echo new > /data/written; echo x > /ro/denied || echo denied",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stdout(&o), "from host\ndenied\n");
    assert!(stderr(&o).contains("Read-only file system"), "{}", stderr(&o));
    assert_eq!(std::fs::read_to_string(data.path().join("written")).unwrap(), "new\n");
    assert!(!data.path().join("denied").exists());
}

#[test]
fn expose_and_share_as_root() {
    expose_is_read_only_and_share_is_writable(As::Caller);
}

#[test]
fn expose_and_share_rootless() {
    expose_is_read_only_and_share_is_writable(As::Rootless);
}

#[test]
fn rootless_user_namespace_denies_setgroups() {
    let o = run(As::Rootless, &["run", "--", "cat", "/proc/self/setgroups"]);
    assert_eq!(stdout(&o), "deny\n", "{}", stderr(&o));
}

#[test]
fn exit_codes_are_the_commands() {
    assert_eq!(
        run(As::Caller, &["run", "--", "sh", "-c", "exit 3"]).status.code(),
        Some(3)
    );
    assert_eq!(
        run(As::Rootless, &["run", "--", "sh", "-c", "exit 4"]).status.code(),
        Some(4)
    );
    let o = run(As::Caller, &["run", "--", "burrow-no-such-command"]);
    assert_eq!(o.status.code(), Some(127));
    assert!(
        stderr(&o).contains("burrow-no-such-command") && stderr(&o).contains("No such file"),
        "{}",
        stderr(&o)
    );
    let o = run(As::Caller, &["run", "--", "/etc"]);
    assert_eq!(o.status.code(), Some(126), "{}", stderr(&o));
}

/// One line on stderr naming the problem, exit 125, nothing left behind.
fn refused(args: &[&str], names: &str) {
    let o = run(As::Caller, args);
    assert_eq!(o.status.code(), Some(125), "{args:?}: {}", stderr(&o));
    assert_eq!(stderr(&o).lines().count(), 1, "{args:?}: {}", stderr(&o));
    assert!(
        stderr(&o).contains(names),
        "{args:?} should name {names:?}: {}",
        stderr(&o)
    );
    assert!(stdout(&o).is_empty());
}

#[test]
fn bad_input_gets_one_clear_line() {
    refused(
        &["run", "--share", "/nonexistent-src", "--", "true"],
        "/nonexistent-src",
    );
    refused(&["run", "--expose", "/usr=relative/dst", "--", "true"], "relative/dst");
    refused(&["run", "--tmpfs", "relative", "--", "true"], "relative");
    refused(&["run", "--namespaces", "user,mnt,bogus", "--", "true"], "bogus");
    refused(&["run", "--root", "/etc/passwd", "--", "true"], "/etc/passwd");
    refused(
        &["run", "--root", "/nonexistent-root", "--", "true"],
        "/nonexistent-root",
    );
    refused(&["run", "--setenv", "NOEQUALS", "--", "true"], "NOEQUALS");
    refused(&["run", "--preserve", "(", "--", "true"], "--preserve");
    // An OCI `run ID`'s flags would be ignored here: refused by name.
    refused(&["run", "--bundle", "/tmp", "--", "true"], "--bundle");
    refused(
        &["run", "--detach", "--pid-file", "/tmp/p", "--", "true"],
        "--detach, --pid-file",
    );
    refused(&["enter", "999999999"], "999999999");
    refused(&["enter", "notapid"], "notapid");
    refused(&["enter", &std::process::id().to_string()], "not a container");
}

#[test]
fn a_setup_failure_in_the_container_names_step_and_path_and_leaves_nothing() {
    // /usr is read-only, so the tmpfs mount point cannot be created: this
    // fails inside the container, after the temporary root exists.
    let o = run(
        As::Caller,
        &["run", "--tmpfs", "/usr/burrow-cannot-exist", "--", "true"],
    );
    assert_eq!(o.status.code(), Some(125));
    let err = stderr(&o);
    assert!(
        err.contains("mount") && err.contains("/usr/burrow-cannot-exist") && err.contains("Read-only"),
        "{err}"
    );
}

#[test]
fn environment_is_purified_then_set_and_preserved() {
    let tmp = Scratch::new();
    let o = burrow(
        As::Caller,
        &tmp,
        &["run", "--setenv", "FOO=bar", "--preserve", "^BURROW_KEEP", "--", "env"],
    )
    .env("BURROW_KEEP_ME", "kept")
    .env("BURROW_DROP_ME", "dropped")
    .env_remove("TERM")
    .output()
    .unwrap();
    let mut vars: Vec<String> = stdout(&o).lines().map(str::to_owned).collect();
    vars.sort();
    assert_eq!(
        vars,
        [
            "BURROW_KEEP_ME=kept",
            "FOO=bar",
            "HOME=/",
            &format!("PATH={}", burrow::DEFAULT_PATH)
        ]
    );
}

#[test]
fn uid_gid_hostname_chdir_and_namespaces_are_honoured() {
    let o = run(
        As::Rootless,
        &[
            "run",
            "--uid",
            "1000",
            "--gid",
            "100",
            "--hostname",
            "box",
            "--chdir",
            "/tmp",
            "--",
            "sh",
            "-c",
            "id -u; id -g; hostname; pwd; grep -c . /etc/passwd",
        ],
    );
    assert_eq!(stdout(&o), "1000\n100\nbox\n/tmp\n3\n", "{}", stderr(&o));
    let o = run(
        As::Caller,
        &[
            "run",
            "--namespaces",
            "user,mnt",
            "--",
            "sh",
            "-c",
            "echo $$; ls /proc | wc -l",
        ],
    );
    let text = stdout(&o);
    assert_ne!(text.lines().next(), Some("1"), "no pid namespace: {text}");
    assert_eq!(
        text.lines().nth(1),
        Some("0"),
        "no /proc without a pid namespace: {text}"
    );
}

#[test]
fn network_is_isolated_unless_shared() {
    let host_ifaces = std::fs::read_to_string("/proc/net/dev").unwrap().lines().count();
    let o = run(As::Caller, &["run", "--", "cat", "/proc/net/dev"]);
    assert_eq!(stdout(&o).lines().count(), 3, "header and lo only: {}", stdout(&o));
    let o = run(As::Caller, &["run", "--network", "--", "cat", "/proc/net/dev"]);
    assert_eq!(stdout(&o).lines().count(), host_ifaces);
}

#[test]
fn a_root_directory_is_used_as_is() {
    let rootfs = Scratch::new();
    std::fs::create_dir(rootfs.path().join("bin")).unwrap();
    common::install_busybox(&rootfs.path().join("bin/busybox"));
    std::os::unix::fs::symlink("busybox", rootfs.path().join("bin/sh")).unwrap();
    let root = rootfs.path().to_str().unwrap();
    let o = run(As::Caller, &["run", "--root", root, "--", "/bin/busybox", "ls", "/"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let mut entries: Vec<&str> = std::str::from_utf8(&o.stdout).unwrap().split_whitespace().collect();
    entries.sort();
    assert_eq!(entries, ["bin", "dev", "proc", "sys"]);
}

/// `burrow run ... sleep 60` in the background; on drop (also when a test
/// fails) the container and burrow are killed and reaped.
struct Sleeper {
    runner: Option<std::process::Child>,
    /// The container's pid 1 (`sleep`), on the host.
    pid: i32,
}

impl Sleeper {
    fn start(tmp: &Scratch, who: As, extra: &[&str]) -> Self {
        let mut args = vec!["run"];
        args.extend_from_slice(extra);
        args.extend_from_slice(&["--", "sleep", "60"]);
        let runner = burrow(who, tmp, &args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut sleeper = Sleeper {
            runner: Some(runner),
            pid: 0,
        };
        sleeper.pid = wait_for_sleep_under(sleeper.runner_pid());
        sleeper
    }

    fn runner_pid(&self) -> i32 {
        self.runner.as_ref().map_or(0, |r| r.id() as i32)
    }

    fn signal_runner(&self, signal: nix::sys::signal::Signal) {
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(self.runner_pid()), signal).unwrap();
    }

    /// Wait (20 s at most) for burrow to end and collect its output.
    fn finish(mut self) -> Output {
        let deadline = Instant::now() + Duration::from_secs(20);
        let runner = self.runner.as_mut().unwrap();
        while runner.try_wait().unwrap().is_none() {
            assert!(Instant::now() < deadline, "burrow did not end (the guard kills it)");
            std::thread::sleep(Duration::from_millis(10));
        }
        self.runner.take().unwrap().wait_with_output().unwrap()
    }
}

impl Drop for Sleeper {
    fn drop(&mut self) {
        if let Some(mut runner) = self.runner.take() {
            end_container(&mut runner, self.pid, "sleep");
        }
    }
}

/// End a container that `runner` (a burrow) started: its process `pid`
/// (or, not known yet, the one named `comm` below the runner) and the
/// runner, which is then reaped.
fn end_container(runner: &mut std::process::Child, pid: i32, comm: &str) {
    let pid = if pid > 0 {
        Some(pid)
    } else {
        find_comm_under(runner.id() as i32, comm)
    };
    if let Some(pid) = pid {
        let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGKILL);
    }
    let _ = runner.kill();
    let _ = runner.wait();
}

/// Wait (10 s at most) until a `sleep` runs under `pid`; return its pid.
fn wait_for_sleep_under(pid: i32) -> i32 {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(found) = find_sleep_under(pid) {
            return found;
        }
        assert!(Instant::now() < deadline, "the container did not start");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// A descendant of `pid` whose command is `sleep`.
fn find_sleep_under(pid: i32) -> Option<i32> {
    find_comm_under(pid, "sleep")
}

/// A descendant of `pid` whose command is `name`.
fn find_comm_under(pid: i32, name: &str) -> Option<i32> {
    let children = std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")).unwrap_or_default();
    children
        .split_whitespace()
        .filter_map(|c| c.parse().ok())
        .find_map(|c: i32| {
            let comm = std::fs::read_to_string(format!("/proc/{c}/comm")).unwrap_or_default();
            if comm.trim() == name {
                Some(c)
            } else {
                find_comm_under(c, name)
            }
        })
}

fn enter_sees_the_container(who: As) {
    let tmp = Scratch::new();
    let sleeper = Sleeper::start(&tmp, who, &["--hostname", "entered"]);
    let pid = sleeper.pid.to_string();
    let o = run(
        who,
        &[
            "enter",
            &pid,
            "--",
            "sh",
            "-c",
            "hostname; cat /proc/1/cmdline | tr '\\0' ' '; echo; grep -c ' / tmpfs' /proc/mounts; id -u; \
             hardening() { grep -E '^(CapEff|Seccomp):' /proc/$1/status; }; \
             [ \"$(hardening self)\" = \"$(hardening 1)\" ] && echo hardened-as-pid-1; \
             [ $(cut -d' ' -f6 /proc/self/stat) = $$ ] && echo own-session; exit 7",
        ],
    );
    assert_eq!(o.status.code(), Some(7), "{}", stderr(&o));
    // As hardened as the container's own process (the default capabilities
    // and seccomp filter), in a session of its own: no TIOCSTI into the
    // caller's terminal.
    assert_eq!(stdout(&o), "entered\nsleep 60 \n1\n0\nhardened-as-pid-1\nown-session\n");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(sleeper.pid),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    let status = sleeper.finish().status;
    assert_eq!(status.code(), Some(137), "killed by SIGKILL: {status:?}");
}

#[test]
fn enter_as_root() {
    enter_sees_the_container(As::Caller);
}

#[test]
fn enter_rootless() {
    enter_sees_the_container(As::Rootless);
}

#[test]
fn ctrl_c_ends_the_container_with_the_signals_status() {
    let tmp = Scratch::new();
    let sleeper = Sleeper::start(&tmp, As::Caller, &[]);
    let pid = sleeper.pid;
    let started = Instant::now();
    sleeper.signal_runner(nix::sys::signal::Signal::SIGINT);
    let out = sleeper.finish();
    assert_eq!(out.status.code(), Some(130), "{}", stderr(&out));
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(
        !Path::new(&format!("/proc/{pid}")).exists(),
        "the container process is gone"
    );
    assert!(tmp.is_empty());
}

/// SIGTERM, SIGHUP, SIGINT and SIGQUIT sent to `burrow run` reach the
/// payload, whose handler runs; burrow exits with the payload's status.
#[test]
fn each_forwarded_signal_reaches_the_payload() {
    use nix::sys::signal::Signal;
    for (signal, name) in [
        (Signal::SIGTERM, "TERM"),
        (Signal::SIGHUP, "HUP"),
        (Signal::SIGINT, "INT"),
        (Signal::SIGQUIT, "QUIT"),
    ] {
        let script = format!("trap 'echo got-{name}; exit 7' {name}; while :; do sleep 0.05; done");
        let out = signal_a_running_payload(&script, signal);
        assert_eq!(out.status.code(), Some(7), "{name}: {}", stderr(&out));
        assert_eq!(stdout(&out), format!("got-{name}\n"), "{name}");
    }
}

#[test]
fn ctrl_c_reaches_a_payload_that_handles_it() {
    let script = "trap 'echo caught; exit 42' INT; while :; do sleep 0.05; done";
    let out = signal_a_running_payload(script, nix::sys::signal::Signal::SIGINT);
    assert_eq!(out.status.code(), Some(42));
    assert_eq!(stdout(&out), "caught\n");
}

/// `burrow run -- sh -c script`; once its payload sleeps, send `signal`
/// to burrow and return how it ended.
fn signal_a_running_payload(script: &str, signal: nix::sys::signal::Signal) -> Output {
    let tmp = Scratch::new();
    let runner = burrow(As::Caller, &tmp, &["run", "--", "sh", "-c", script])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let sleeper = Sleeper {
        runner: Some(runner),
        pid: 0,
    };
    wait_for_sleep_under(sleeper.runner_pid());
    sleeper.signal_runner(signal);
    sleeper.finish()
}

#[test]
fn a_killed_container_exits_128_plus_the_signal() {
    let tmp = Scratch::new();
    let sleeper = Sleeper::start(&tmp, As::Rootless, &[]);
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(sleeper.pid),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    assert_eq!(sleeper.finish().status.code(), Some(137));
}

#[test]
fn die_with_parent_takes_the_container_down_with_burrow() {
    let tmp = Scratch::new();
    let sleeper = Sleeper::start(&tmp, As::Caller, &["--die-with-parent"]);
    let pid = sleeper.pid;
    sleeper.signal_runner(nix::sys::signal::Signal::SIGKILL);
    let _ = sleeper.finish();
    let deadline = Instant::now() + Duration::from_secs(5);
    while Path::new(&format!("/proc/{pid}")).exists() {
        let state = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        if state.split(' ').nth(2) == Some("Z") {
            break;
        }
        if Instant::now() > deadline {
            let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGKILL);
            panic!("container {pid} outlived burrow");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn the_console_is_the_callers_terminal() {
    let pty = nix::pty::openpty(None, None).unwrap();
    let slave_rdev = std::fs::metadata(format!("/proc/self/fd/{}", std::os::fd::AsRawFd::as_raw_fd(&pty.slave)))
        .unwrap()
        .rdev();
    let tmp = Scratch::new();
    let o = burrow(
        As::Caller,
        &tmp,
        &["run", "--", "stat", "-L", "-c", "%t:%T %a", "/dev/console"],
    )
    .stdin(std::fs::File::from(pty.slave))
    .output()
    .unwrap();
    let (major, minor) = (libc::major(slave_rdev), libc::minor(slave_rdev));
    assert_eq!(stdout(&o), format!("{major:x}:{minor:x} 600\n"), "{}", stderr(&o));
    let meta = std::fs::metadata("/dev/ptmx").unwrap();
    assert!(meta.file_type().is_char_device());
}

#[test]
fn probe_reports_the_kernel() {
    let o = run(As::Caller, &["probe", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["user_namespaces"], true);
    assert_eq!(v["setgroups"], Path::new("/proc/self/setgroups").exists());
    assert!(v["namespaces"].as_array().unwrap().iter().any(|n| n == "mnt"));
    let layout = if Path::new("/sys/fs/cgroup/unified").exists() {
        "hybrid"
    } else {
        "unified"
    };
    assert_eq!(v["cgroups"], layout);
    let o = run(As::Caller, &["probe"]);
    assert!(
        stdout(&o).contains("user namespaces:") && stdout(&o).contains("cgroups:"),
        "{}",
        stdout(&o)
    );
}

/// The first subordinate range of the test user in `/etc/subuid` (or
/// `/etc/subgid`), which the test script sets up.
fn subordinate_range(file: &str) -> (u32, u32) {
    let text = std::fs::read_to_string(file).unwrap_or_default();
    text.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            (f.len() == 3 && f[0] == TEST_USER).then(|| (f[1].parse().ok(), f[2].parse().ok()))
        })
        .find_map(|(a, b)| Some((a?, b?)))
        .unwrap_or_else(|| panic!("{TEST_USER} has no range in {file}: run the README's test command"))
}

#[test]
fn rootless_several_ranges_go_through_newuidmap() {
    let (uid, gid) = test_user_ids();
    let (sub_uid, uid_count) = subordinate_range("/etc/subuid");
    let (sub_gid, gid_count) = subordinate_range("/etc/subgid");
    let maps = [
        format!("--uid-map=0:{uid}:1"),
        format!("--uid-map=1:{sub_uid}:{uid_count}"),
        format!("--gid-map=0:{gid}:1"),
        format!("--gid-map=1:{sub_gid}:{gid_count}"),
    ];
    let mut args: Vec<&str> = vec!["run"];
    args.extend(maps.iter().map(String::as_str));
    args.extend([
        "--",
        "sh",
        "-c",
        "cat /proc/self/uid_map; touch /tmp/f; chown 1000:1000 /tmp/f; stat -c %u:%g /tmp/f",
    ]);
    let o = run(As::Rootless, &args);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let lines: Vec<Vec<String>> = stdout(&o)
        .lines()
        .map(|l| l.split_whitespace().map(str::to_owned).collect())
        .collect();
    assert_eq!(lines[0], ["0", &uid.to_string(), "1"]);
    assert_eq!(lines[1], ["1", &sub_uid.to_string(), &uid_count.to_string()]);
    assert_eq!(lines[2], ["1000:1000"]);
    // A range the user does not own is refused by newuidmap, by name.
    let o = run(As::Rootless, &["run", "--uid-map=0:0:1", "--", "true"]);
    assert_eq!(o.status.code(), Some(125));
    assert!(stderr(&o).contains("newuidmap"), "{}", stderr(&o));
}

/// Run `script` with `sh -c` as `who`, with `BURROW` set to the binary.
fn shell(who: As, script: &str) -> Output {
    let mut cmd = match who {
        As::Rootless if nix::unistd::geteuid().is_root() => {
            let mut c = Command::new("runuser");
            c.args(["-u", TEST_USER, "--", "sh", "-c", script]);
            c
        }
        _ => {
            let mut c = Command::new("sh");
            c.args(["-c", script]);
            c
        }
    };
    cmd.env("BURROW", common::world_readable_burrow())
        .current_dir("/")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn enter_passes_no_fds_to_the_container(who: As) {
    let tmp = Scratch::new();
    let sleeper = Sleeper::start(&tmp, who, &[]);
    // fd 7 is open on a host file when burrow enter starts.
    let script = format!(
        "exec 7</etc/hostname; exec \"$BURROW\" enter {} -- sh -c 'ls /proc/self/fd; test -e /proc/self/fd/7 && echo LEAKED; true'",
        sleeper.pid
    );
    let o = shell(who, &script);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let fds: Vec<&str> = std::str::from_utf8(&o.stdout).unwrap().split_whitespace().collect();
    assert_eq!(fds, ["0", "1", "2", "3"], "only stdio (and ls's own directory fd 3)");
}

#[test]
fn enter_passes_no_fds_as_root() {
    enter_passes_no_fds_to_the_container(As::Caller);
}

#[test]
fn enter_passes_no_fds_rootless() {
    enter_passes_no_fds_to_the_container(As::Rootless);
}

#[test]
fn run_passes_no_fds_to_the_container() {
    let o = shell(
        As::Caller,
        "exec 7</etc/hostname; exec \"$BURROW\" run -- sh -c 'ls /proc/self/fd'",
    );
    let fds: Vec<&str> = std::str::from_utf8(&o.stdout).unwrap().split_whitespace().collect();
    assert_eq!(fds, ["0", "1", "2", "3"], "{}", stderr(&o));
}

#[test]
fn a_signal_the_payload_ignores_is_not_turned_into_a_kill() {
    let tmp = Scratch::new();
    let share = Scratch::new();
    let script = "trap '' INT TERM; while [ ! -e /tmp/go ]; do sleep 0.05; done; echo survived";
    let share_arg = format!("{}=/tmp", share.path().display());
    let runner = burrow(
        As::Caller,
        &tmp,
        &["run", "--share", &share_arg, "--", "sh", "-c", script],
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    let sleeper = Sleeper {
        runner: Some(runner),
        pid: 0,
    };
    wait_for_sleep_under(sleeper.runner_pid());
    sleeper.signal_runner(nix::sys::signal::Signal::SIGINT);
    sleeper.signal_runner(nix::sys::signal::Signal::SIGTERM);
    std::thread::sleep(Duration::from_millis(200));
    std::fs::write(share.path().join("go"), "").unwrap();
    let out = sleeper.finish();
    assert_eq!(stdout(&out), "survived\n", "{}", stderr(&out));
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn a_terminals_ctrl_c_reaches_the_payload_once() {
    // `script` gives burrow a terminal; ^C written to it becomes SIGINT for
    // the foreground process group, burrow and the container alike.
    // (No `$` in the payload: `script` runs the command line through a shell.)
    let payload = "trap 'echo caught' INT; for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do sleep 0.1; done; echo end";
    let command = format!(
        "{} run -- sh -c \"{payload}\"",
        common::world_readable_burrow().display()
    );
    let mut child = Command::new("script")
        .args(["-qfec", &command, "/dev/null"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(700));
    std::io::Write::write_all(child.stdin.as_mut().unwrap(), b"\x03").unwrap();
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(text.matches("caught").count(), 1, "{text:?}");
    assert!(text.contains("end"), "{text:?}");
}

#[test]
fn maps_that_leave_root_out_still_work_for_root() {
    let o = run(
        As::Caller,
        &[
            "run",
            "--uid-map",
            "0:300000:65536",
            "--gid-map",
            "0:300000:65536",
            "--",
            "sh",
            "-c",
            "id -u; touch /tmp/x && echo ok",
        ],
    );
    assert_eq!(stdout(&o), "0\nok\n", "{}", stderr(&o));
}

#[test]
fn killing_burrow_during_setup_leaves_no_container() {
    // Thousands of mounts make setup last long enough to be interrupted.
    let marker = format!("{}.{}", 100 + std::process::id() % 100, std::process::id());
    let mut args: Vec<String> = vec!["run".into()];
    for i in 0..3000 {
        args.push(format!("--tmpfs=/t/{i}"));
    }
    args.extend(["--".into(), "sleep".into(), marker.clone()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    for delay_ms in [5, 20, 40] {
        let tmp = Scratch::new();
        let mut runner = burrow(As::Caller, &tmp, &args).spawn().unwrap();
        std::thread::sleep(Duration::from_millis(delay_ms));
        runner.kill().unwrap();
        runner.wait().unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let alive: Vec<i32> = std::fs::read_dir("/proc")
                .unwrap()
                .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
                .filter(|pid: &i32| {
                    std::fs::read(format!("/proc/{pid}/cmdline"))
                        .is_ok_and(|c| String::from_utf8_lossy(&c).contains(&marker))
                })
                .collect();
            if alive.is_empty() {
                break;
            }
            if Instant::now() > deadline {
                for pid in &alive {
                    let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(*pid), nix::sys::signal::Signal::SIGKILL);
                }
                panic!("killing burrow after {delay_ms} ms left {alive:?} running");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(tmp.is_empty());
    }
}

/// `burrow run` filters syscalls by default (namespaces and mounts are
/// refused inside), `--seccomp unconfined` lifts it, and `--seccomp FILE`
/// takes an OCI profile.
fn seccomp_is_on_by_default(who: As) {
    let nested = ["run", "--", "sh", "-c", "unshare -U true 2>&1; echo status=$?"];
    let out = run(who, &nested);
    assert!(stdout(&out).contains("Operation not permitted"), "{}", stdout(&out));
    assert!(stdout(&out).contains("status=1"), "{}", stdout(&out));

    let out = run(
        who,
        &[
            "run",
            "--seccomp",
            "unconfined",
            "--",
            "sh",
            "-c",
            "unshare -U true; echo status=$?",
        ],
    );
    assert_eq!(stdout(&out), "status=0\n", "{}", stderr(&out));

    let tmp = Scratch::new();
    let profile = tmp.path().join("profile.json");
    std::fs::write(
        &profile,
        r#"{"defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 122}]}"#,
    )
    .unwrap();
    std::fs::set_permissions(tmp.path(), std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    std::fs::set_permissions(&profile, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
    let file = profile.to_str().unwrap();
    let out = run(
        who,
        &[
            "run",
            "--seccomp",
            file,
            "--",
            "sh",
            "-c",
            "mkdir /tmp/x 2>&1; echo status=$?",
        ],
    );
    assert!(
        stdout(&out).contains("quota exceeded") && stdout(&out).contains("status=1"),
        "{}",
        stdout(&out)
    );

    std::fs::write(&profile, r#"{"defaultAction": "SCMP_ACT_SOMETIMES"}"#).unwrap();
    let out = run(who, &["run", "--seccomp", file, "--", "true"]);
    assert_ne!(out.status.code(), Some(0));
    assert!(
        stderr(&out).contains("--seccomp") && stderr(&out).contains("profile"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn seccomp_as_root() {
    seccomp_is_on_by_default(As::Caller);
}

#[test]
fn seccomp_rootless() {
    seccomp_is_on_by_default(As::Rootless);
}

/// TIOCSTI: a sandbox on your terminal cannot push input into it
/// (bubblewrap's CVE-2017-5226): it runs in a session of its own, and the
/// default seccomp profile refuses the ioctl too.
///
/// The pty is burrow's controlling terminal, as a shell's is: the kernel
/// refuses TIOCSTI on any other terminal (to a process without
/// CAP_SYS_ADMIN on the host) whatever burrow does. So the default run
/// tests both layers, and the `--seccomp unconfined` run tests the new
/// session alone (the seccomp rule alone is tested by the library's
/// `the_default_profile_allows_refuses_and_hides`). Root and rootless.
fn the_sandbox_cannot_type_into(who: As) {
    use std::os::unix::process::CommandExt;
    let script = "import fcntl, termios, sys\n\
                  try:\n    fcntl.ioctl(0, termios.TIOCSTI, b'x')\n    print('injected')\n\
                  except OSError as e:\n    print('refused', e.errno)\n";
    for extra in [&[][..], &["--seccomp", "unconfined"][..]] {
        let pty = nix::pty::openpty(None, None).unwrap();
        let tmp = Scratch::new();
        let mut args = vec!["run"];
        args.extend_from_slice(extra);
        args.extend_from_slice(&["--", "python3", "-c", script]);
        let mut cmd = burrow(who, &tmp, &args);
        cmd.stdin(std::fs::File::from(pty.slave));
        // SAFETY: setsid and ioctl, async-signal-safe, between fork and
        // exec; fd 0 is the pty's slave by then.
        unsafe {
            cmd.pre_exec(|| {
                if libc::setsid() < 0 || libc::ioctl(0, libc::TIOCSCTTY, 0) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            })
        };
        let o = cmd.output().unwrap();
        assert!(
            stdout(&o).starts_with("refused"),
            "{who:?} {extra:?}: {} {}",
            stdout(&o),
            stderr(&o)
        );
        nix::fcntl::fcntl(
            &pty.master,
            nix::fcntl::FcntlArg::F_SETFL(nix::fcntl::OFlag::O_NONBLOCK),
        )
        .unwrap();
        // An injected byte would be echoed to the master.
        let mut buf = [0u8; 64];
        let read = nix::unistd::read(&pty.master, &mut buf);
        assert!(
            !matches!(read, Ok(n) if buf[..n].contains(&b'x')),
            "{who:?} {extra:?}: input reached the terminal"
        );
    }
}

#[test]
fn the_sandbox_cannot_type_into_your_terminal() {
    the_sandbox_cannot_type_into(As::Caller);
}

#[test]
fn the_sandbox_cannot_type_into_your_terminal_rootless() {
    the_sandbox_cannot_type_into(As::Rootless);
}

/// What the release_agent script says for each hierarchy it tries.
const RELEASE_AGENT_OUTCOMES: [&str; 5] = [
    "mount-refused",
    "no-release-agent",
    "agent-set",
    "write-refused",
    "written",
];

/// CVE-2022-0492: root in the container, with every capability burrow can
/// give and no seccomp filter, cannot set a cgroup v1 release_agent (which
/// the host would run as root). It mounts each hierarchy in turn: some the
/// host has, some it has not (a new hierarchy), and writes release_agent
/// only where the mount succeeded and the file is there; what it writes is
/// what the file holds, and only when that is empty (an attack that got
/// through changes nothing on the host). Tried with burrow's default
/// namespaces, and without the cgroup namespace (`--namespaces`), where
/// the user namespace alone must hold.
fn release_agent_cannot_be_set(who: As) {
    let script = "for c in memory pids net_cls perf_event net_prio hugetlb; do \
                    mkdir -p /tmp/cg; \
                    if ! mount -t cgroup -o $c cgroup /tmp/cg 2>/dev/null; then echo $c mount-refused; continue; fi; \
                    if [ ! -f /tmp/cg/release_agent ]; then echo $c no-release-agent; \
                    else old=$(cat /tmp/cg/release_agent); \
                      if [ -n \"$old\" ]; then echo $c agent-set; \
                      elif echo \"$old\" > /tmp/cg/release_agent 2>/dev/null; then echo $c written; \
                      else echo $c write-refused; fi; \
                    fi; \
                    umount /tmp/cg 2>/dev/null || umount -l /tmp/cg; \
                  done";
    /// Every host release_agent and its value; put back on drop should
    /// one have changed.
    struct Agents(Vec<(PathBuf, String)>);
    impl Agents {
        fn read() -> Self {
            let files = std::fs::read_dir("/sys/fs/cgroup").unwrap().flatten();
            Agents(
                files
                    .map(|e| e.path().join("release_agent"))
                    .filter_map(|p| Some((p.clone(), std::fs::read_to_string(&p).ok()?)))
                    .collect(),
            )
        }
    }
    impl Drop for Agents {
        fn drop(&mut self) {
            for (path, before) in &self.0 {
                if std::fs::read_to_string(path).ok().as_ref() != Some(before) {
                    let _ = std::fs::write(path, before.trim_end());
                }
            }
        }
    }
    let agents = Agents::read();
    assert!(!agents.0.is_empty(), "no cgroup v1 hierarchy on this host");
    // Every capability this process may hand on (`--cap-add ALL` fails
    // where the bounding set lacks one and there is no user namespace).
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let bounding = common::cap_mask(&status, "CapBnd");
    let caps: Vec<String> = common::capability_names(bounding)
        .into_iter()
        .flat_map(|c| ["--cap-add".to_owned(), c])
        .collect();
    for namespaces in [None, Some("user,mnt,pid,ipc,uts,net")] {
        let mut args = vec!["run"];
        if let Some(list) = namespaces {
            args.extend(["--namespaces", list]);
        }
        args.extend(caps.iter().map(String::as_str));
        args.extend(["--seccomp", "unconfined", "--", "sh", "-c", script]);
        let out = run(who, &args);
        let what = format!("{who:?}, namespaces {}", namespaces.unwrap_or("(default)"));
        let text = stdout(&out);
        let outcomes: Vec<(&str, &str)> = text.lines().filter_map(|l| l.split_once(' ')).collect();
        assert!(
            out.status.success()
                && outcomes.len() == 6
                && outcomes.iter().all(|(_, o)| RELEASE_AGENT_OUTCOMES.contains(o)),
            "{what}: the script did not run through: {text}{}",
            stderr(&out)
        );
        let written: Vec<&str> = outcomes
            .iter()
            .filter(|(_, o)| *o == "written")
            .map(|(c, _)| *c)
            .collect();
        assert!(
            written.is_empty(),
            "{what}: release_agent written for {written:?}: {text}"
        );
        for (path, before) in &agents.0 {
            assert_eq!(
                &std::fs::read_to_string(path).unwrap(),
                before,
                "{what}: {}",
                path.display()
            );
        }
    }
}

#[test]
fn release_agent_as_root() {
    release_agent_cannot_be_set(As::Caller);
}

#[test]
fn release_agent_rootless() {
    release_agent_cannot_be_set(As::Rootless);
}

/// The CVE-2019-5736 watcher (see [`common::watch_and_overwrite`]), run
/// inside containers by `burrow_run_sharing_a_pid_namespace_protects_its_binary`.
#[test]
#[ignore = "run inside containers by burrow_run_sharing_a_pid_namespace_protects_its_binary"]
fn watcher_for_burrow_run() {
    common::watcher_main();
}

/// A rootfs for a CVE-2019-5736 attack at `dir`: busybox, a /bin/sh that
/// is a `#!/proc/self/exe` script (so whoever executes /bin/sh there runs
/// its own binary there), and mount points for the host's /usr (the
/// watcher's libraries), the watcher and `/out`.
fn hostile_rootfs(dir: &Path) {
    for sub in ["bin", "usr", "out"] {
        std::fs::create_dir_all(dir.join(sub)).unwrap();
    }
    common::install_busybox(&dir.join("bin/busybox"));
    std::fs::write(dir.join("bin/sh"), "#!/proc/self/exe\n").unwrap();
    std::fs::set_permissions(dir.join("bin/sh"), PermissionsExt::from_mode(0o755)).unwrap();
    for (link, target) in [("lib", "usr/lib"), ("lib64", "usr/lib64")] {
        std::os::unix::fs::symlink(target, dir.join(link)).unwrap();
    }
    std::fs::write(dir.join("watcher"), "").unwrap();
}

/// The watcher's report in `out` once it has an outcome (20 s at most).
fn overwrite_outcome(out: &Path) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let report = std::fs::read_to_string(out.join("report")).unwrap_or_default();
        if report.contains("overwritten") || report.contains("refused") || report.contains("nothing") {
            return report;
        }
        assert!(Instant::now() < deadline, "no outcome: {report}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// CVE-2019-5736 through `burrow run` and `burrow enter`, which run from a
/// copy of burrow here; the copy never changes.
///
/// 1. A container that shares the host's pid namespace watches for a
///    second one (sharing it and the host's /proc too) whose /bin/sh is a
///    `#!/proc/self/exe` script, holds what burrow's process there runs and
///    rewrites it once it exits. On this kernel that exec fails outright
///    (/proc/self/exe of a process whose binary's mount was detached at
///    pivot_root cannot be executed): then this part proves nothing, and
///    says so.
/// 2. So, always: `burrow enter` into a container whose /bin/sh is that
///    script, and whose pid 1 is the watcher. The entering process executes
///    /bin/sh inside, so burrow's code runs there from whatever the
///    entering burrow runs from: a sealed copy, or the binary itself.
#[test]
fn burrow_run_sharing_a_pid_namespace_protects_its_binary() {
    let tmp = Scratch::new();
    let victim_bin = tmp.path().join("burrow");
    common::copy_executable(common::world_readable_burrow(), &victim_bin);
    let before = std::fs::read(&victim_bin).unwrap();
    let unchanged = |what: &str, report: &str| {
        assert!(
            std::fs::read(&victim_bin).unwrap() == before,
            "{what}: burrow's binary changed: {report}"
        );
    };
    let exe = std::env::current_exe().unwrap();

    // 1. burrow run, sharing the host's pid namespace.
    let rootfs = tmp.path().join("rootfs");
    std::fs::create_dir_all(rootfs.join("bin")).unwrap();
    // A copy, not a link: the attack would write through it.
    common::copy_executable(Path::new("/bin/busybox"), &rootfs.join("bin/busybox"));
    std::fs::write(rootfs.join("bin/sh"), "#!/proc/self/exe\n").unwrap();
    std::fs::set_permissions(rootfs.join("bin/sh"), PermissionsExt::from_mode(0o755)).unwrap();
    let out = tmp.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let marker = format!("BURROW_VICTIM={}", std::process::id());
    let no_pid = "mnt,ipc,uts,net";
    let watcher = Background(
        Command::new(common::world_readable_burrow())
            .args([
                "run",
                "--die-with-parent",
                "--namespaces",
                no_pid,
                "--expose",
                "/proc=/hostproc",
            ])
            .arg("--expose")
            .arg(format!("{}=/watcher", exe.display()))
            .arg("--share")
            .arg(format!("{}=/out", out.display()))
            .args(["--setenv", "BURROW_WATCHER_REPORT=/out/report"])
            .args(["--setenv", "BURROW_WATCHER_PROC=/hostproc"])
            .arg("--setenv")
            .arg(format!("BURROW_WATCHER_MARKER={marker}"))
            .args(["--", "/watcher", "--ignored", "--exact", "watcher_for_burrow_run"])
            .stdin(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while !out.join("report").exists() {
        assert!(Instant::now() < deadline, "the watcher did not start");
        std::thread::sleep(Duration::from_millis(10));
    }
    let mut report = String::new();
    // Whether burrow's code came to run inside (it then complains about
    // its arguments), or the exec of /bin/sh failed outright.
    let (mut ran_inside, mut failed_exec) = (false, 0);
    for _ in 0..100 {
        let victim = Command::new(&victim_bin)
            .args([
                "run",
                "--namespaces",
                no_pid,
                "--expose",
                "/proc",
                "--setenv",
                &marker,
                "--root",
            ])
            .arg(&rootfs)
            .args(["--", "/bin/sh"])
            .stdin(Stdio::null())
            .output()
            .unwrap();
        ran_inside |= stderr(&victim).contains("unrecognized subcommand");
        failed_exec += usize::from(stderr(&victim).contains("cannot execute /bin/sh"));
        report = std::fs::read_to_string(out.join("report")).unwrap_or_default();
        if report.starts_with("caught") || !ran_inside && failed_exec >= 10 {
            break;
        }
    }
    if ran_inside || report.starts_with("caught") {
        let report = overwrite_outcome(&out);
        assert!(
            report.starts_with("caught"),
            "run: the attack must have been tried: {report}"
        );
        assert!(report.contains("refused"), "run: {report}");
        unchanged("run", &report);
    } else {
        // Not a pass of the defence: nothing was attacked.
        eprintln!("burrow run sharing the pid namespace: every exec of /bin/sh failed ({failed_exec}); not attacked");
        unchanged("run", &report);
    }
    drop(watcher);

    // 2. burrow enter, as root and as the test user.
    enter_attack(As::Caller, &tmp, &victim_bin);
    if nix::unistd::geteuid().is_root() {
        // The test user's own copy, which it could write were it not sealed.
        let victim_bin = tmp.path().join("burrow-rootless");
        common::copy_executable(common::world_readable_burrow(), &victim_bin);
        let (uid, gid) = test_user_ids();
        std::os::unix::fs::chown(&victim_bin, Some(uid), Some(gid)).unwrap();
        enter_attack(As::Rootless, &tmp, &victim_bin);
    }
}

/// `bin ARGS...` as `who` (the test user through runuser, when root runs
/// the tests).
fn command_as(who: As, bin: &Path) -> Command {
    if who == As::Rootless && nix::unistd::geteuid().is_root() {
        // A clear error where the test script has not made the user.
        test_user_ids();
        let mut c = Command::new("runuser");
        c.args(["-u", TEST_USER, "--"]).arg(bin);
        c
    } else {
        Command::new(bin)
    }
}

/// CVE-2019-5736 through `burrow enter` as `who`, with `victim` (a copy of
/// burrow that `who` could write) as the entering burrow: see
/// [`burrow_run_sharing_a_pid_namespace_protects_its_binary`].
fn enter_attack(who: As, tmp: &Scratch, victim: &Path) {
    let before = std::fs::read(victim).unwrap();
    let dir = tmp.path().join(format!("enter-{who:?}"));
    let rootfs = dir.join("rootfs");
    hostile_rootfs(&rootfs);
    // The mount points burrow makes in a root it is given: made here, as
    // the test user could not.
    for sub in ["dev", "proc", "sys"] {
        std::fs::create_dir(rootfs.join(sub)).unwrap();
    }
    let out = dir.join("out");
    std::fs::create_dir(&out).unwrap();
    std::fs::set_permissions(&out, PermissionsExt::from_mode(0o777)).unwrap();
    // The watcher, where the test user can reach it too.
    let exe = dir.join("watcher");
    common::link_or_copy_executable(&std::env::current_exe().unwrap(), &exe);
    let mut container = EnterTarget {
        runner: command_as(who, common::world_readable_burrow())
            // Every capability: `enter` runs its command with every
            // capability of the container's user namespace, and a watcher
            // with fewer could not even open what it runs.
            .args(["run", "--die-with-parent", "--cap-add", "ALL", "--expose", "/usr"])
            .arg("--root")
            .arg(&rootfs)
            .arg("--expose")
            .arg(format!("{}=/watcher", exe.display()))
            .arg("--share")
            .arg(format!("{}=/out", out.display()))
            .args(["--setenv", "BURROW_WATCHER_REPORT=/out/report"])
            .args(["--", "/watcher", "--ignored", "--exact", "watcher_for_burrow_run"])
            .stdin(Stdio::null())
            .spawn()
            .unwrap(),
        pid: 0,
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while !out.join("report").exists() {
        assert!(
            Instant::now() < deadline,
            "{who:?}: the watcher did not start in the container to enter"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    container.pid = find_comm_under(container.runner.id() as i32, "watcher").expect("the container's pid 1");
    let mut ran_inside = false;
    for _ in 0..50 {
        let entered = command_as(who, victim)
            .args(["enter", &container.pid.to_string(), "--", "/bin/sh"])
            .stdin(Stdio::null())
            .output()
            .unwrap();
        ran_inside |= stderr(&entered).contains("unrecognized subcommand");
        if std::fs::read_to_string(out.join("report")).is_ok_and(|r| r.starts_with("caught")) {
            break;
        }
    }
    let report = overwrite_outcome(&out);
    assert!(
        ran_inside && report.starts_with("caught"),
        "enter as {who:?}: the attack must have been tried (burrow's code ran inside: {ran_inside}): {report}"
    );
    assert!(report.contains("refused"), "enter as {who:?}: {report}");
    assert!(
        std::fs::read(victim).unwrap() == before,
        "enter as {who:?}: burrow's binary changed: {report}"
    );
}

/// The container `burrow enter` goes into: on drop its pid 1 is killed
/// (a pid 1 ignores TERM) and burrow reaped.
struct EnterTarget {
    runner: std::process::Child,
    pid: i32,
}

impl Drop for EnterTarget {
    fn drop(&mut self) {
        end_container(&mut self.runner, self.pid, "watcher");
    }
}

/// `--landlock-ro` and `--landlock-rw`: the command reads only below the
/// first, writes only below the second, and reaches nothing else.
fn landlock_confines_file_access(who: As) {
    let script = "cat /etc/group >/dev/null && echo group-read; \
                  cat /etc/passwd >/dev/null 2>&1 || echo passwd-denied; \
                  echo x > /tmp/f && echo tmp-written; \
                  touch /usr/x 2>/dev/null || echo usr-denied; \
                  ls /proc >/dev/null 2>&1 || echo proc-denied";
    let out = run(
        who,
        &[
            "run",
            "--landlock-ro",
            "/usr",
            "--landlock-ro",
            "/etc/group",
            "--landlock-rw",
            "/tmp",
            "--landlock-rw",
            "/dev",
            "--",
            "sh",
            "-c",
            script,
        ],
    );
    assert_eq!(
        stdout(&out),
        "group-read\npasswd-denied\ntmp-written\nusr-denied\nproc-denied\n",
        "{}",
        stderr(&out)
    );
    let out = run(who, &["run", "--landlock-ro", "usr", "--", "true"]);
    assert_ne!(out.status.code(), Some(0));
    assert!(stderr(&out).contains("--landlock-ro usr"), "{}", stderr(&out));
}

#[test]
fn landlock_as_root() {
    landlock_confines_file_access(As::Caller);
}

#[test]
fn landlock_rootless() {
    landlock_confines_file_access(As::Rootless);
}

/// `burrow run --memory --cpus --pids`: the limits hold inside (OOM kill
/// past the memory, no fork past the pids), the quota is set, and the
/// cgroups go away afterwards. Rootless, without a cgroup to delegate, an
/// asked-for limit is an error that names its flag.
#[test]
fn resource_limits_for_people() {
    let out = run(
        As::Caller,
        &[
            "run",
            "--memory",
            "16M",
            "--",
            "dd",
            "if=/dev/zero",
            "of=/dev/null",
            "bs=64M",
            "count=1",
        ],
    );
    assert_eq!(out.status.code(), Some(137), "the OOM killer ends it: {}", stderr(&out));

    let script = "for i in 1 2 3 4 5 6 7 8; do sleep 2 & done 2>/dev/null; echo started; wait";
    let out = run(As::Caller, &["run", "--pids", "4", "--", "sh", "-c", script]);
    assert_ne!(out.status.code(), Some(0), "forks past --pids fail: {}", stdout(&out));

    // The cpu quota, read from the host while the container runs.
    let tmp = Scratch::new();
    let mut child = Background(
        burrow(As::Caller, &tmp, &["run", "--cpus", "0.5", "--", "sleep", "3"])
            .spawn()
            .unwrap(),
    );
    let name = format!("burrow-run-{}", child.0.id());
    let deadline = Instant::now() + Duration::from_secs(5);
    // (The directory appears a moment before the quota is written.)
    loop {
        let quota = find_cgroup(&name)
            .and_then(|dir| std::fs::read_to_string(dir.join("cpu.cfs_quota_us")).ok())
            .unwrap_or_default();
        if quota.trim() == "50000" {
            break;
        }
        assert!(Instant::now() < deadline, "{name}: cpu.cfs_quota_us is {quota:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
    // Ended with TERM, burrow removes its cgroups; killed (-9) it cannot,
    // and the next burrow run removes them.
    child.terminate();
    assert!(find_cgroup(&name).is_none(), "{name} was left behind");
    let mut child = Background(
        burrow(As::Caller, &tmp, &["run", "--pids", "10", "--", "sleep", "3"])
            .spawn()
            .unwrap(),
    );
    let killed = format!("burrow-run-{}", child.0.id());
    let deadline = Instant::now() + Duration::from_secs(5);
    while find_cgroup(&killed).is_none() {
        assert!(Instant::now() < deadline, "no cgroup {killed}");
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.0.kill();
    let _ = child.0.wait();
    // Its container outlives it (no --die-with-parent) until the sleep
    // ends; from then on, the next burrow run removes the empty cgroup.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        run(As::Caller, &["run", "--pids", "10", "--", "true"]);
        if find_cgroup(&killed).is_none() {
            break;
        }
        assert!(Instant::now() < deadline, "{killed} was never cleaned up");
        std::thread::sleep(Duration::from_millis(200));
    }

    let out = run(As::Rootless, &["run", "--memory", "16M", "--", "true"]);
    assert_eq!(out.status.code(), Some(125));
    assert!(stderr(&out).contains("--memory"), "{}", stderr(&out));
    let out = run(As::Caller, &["run", "--cpus", "0", "--", "true"]);
    assert!(stderr(&out).contains("--cpus"), "{}", stderr(&out));
}

/// A `burrow run` in the background, ended with TERM (which it passes on
/// to its container, then cleans up) when dropped, also when a test fails.
struct Background(std::process::Child);

impl Background {
    /// Send TERM (if it still runs) and wait for it.
    fn terminate(&mut self) {
        if self.0.try_wait().is_ok_and(|done| done.is_none()) {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(self.0.id() as i32),
                nix::sys::signal::SIGTERM,
            );
        }
        let _ = self.0.wait();
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        self.terminate();
    }
}

/// A cgroup directory named `name` in any hierarchy (the cpu one first).
fn find_cgroup(name: &str) -> Option<PathBuf> {
    let mut roots: Vec<PathBuf> = std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        .filter(|l| l.contains(" - cgroup"))
        .filter_map(|l| l.split(' ').nth(4).map(PathBuf::from))
        .collect();
    roots.sort_by_key(|r| !r.join("cpu.cfs_quota_us").exists());
    roots.iter().find_map(|root| find_dir(root, name, 6))
}

/// The directory named `name` below `dir`, at most `depth` levels down.
fn find_dir(dir: &Path, name: &str, depth: u32) -> Option<PathBuf> {
    if depth == 0 {
        return None;
    }
    for entry in std::fs::read_dir(dir).ok()?.flatten() {
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            if entry.file_name() == name {
                return Some(entry.path());
            }
            if let Some(found) = find_dir(&entry.path(), name, depth - 1) {
                return Some(found);
            }
        }
    }
    None
}

/// Shell completions come from the command line's definition, for bash,
/// zsh and fish; the bash script is valid bash.
#[test]
fn completions_are_generated_for_each_shell() {
    for (shell, marker) in [
        ("bash", "complete -F _burrow"),
        ("zsh", "#compdef burrow"),
        ("fish", "complete -c burrow"),
    ] {
        let out = run(As::Caller, &["completions", shell]);
        assert!(
            out.status.success() && stdout(&out).contains(marker),
            "{shell}: {}",
            stderr(&out)
        );
        assert!(
            stdout(&out).contains("update") && stdout(&out).contains("pid-file"),
            "{shell}"
        );
    }
    let script = stdout(&run(As::Caller, &["completions", "bash"]));
    let check = Command::new("bash")
        .args(["-n", "-c", &script])
        .output()
        .expect("bash runs");
    assert!(check.status.success(), "{}", stderr(&check));
    let out = run(As::Caller, &["completions", "tcsh"]);
    assert_eq!(out.status.code(), Some(2), "an unknown shell is a usage error");
}

/// `burrow man DIR` writes a page for burrow and one per command.
#[test]
fn man_pages_are_generated_for_every_command() {
    let dir = Scratch::new();
    let out = run(As::Caller, &["man", dir.path().to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    for page in [
        "burrow",
        "burrow-run",
        "burrow-create",
        "burrow-exec",
        "burrow-update",
        "burrow-completions",
    ] {
        let text = std::fs::read_to_string(dir.path().join(format!("{page}.1"))).unwrap_or_default();
        assert!(text.starts_with(".ie") || text.contains(".TH"), "{page}.1: {text:.200}");
        assert!(
            text.contains(&page.to_uppercase()) || text.contains(page),
            "{page}.1 names itself"
        );
    }
}

/// Every command's --help ends its description with an example.
#[test]
fn every_command_has_an_example_in_its_help() {
    let top = stdout(&run(As::Caller, &["--help"]));
    let commands: Vec<String> = top
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        // (a wrapped description continues with deeper indentation)
        .filter(|l| !l.starts_with("   "))
        .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
        .filter(|c| c != "help")
        .collect();
    assert!(commands.len() > 15, "{top}");
    for command in commands {
        let help = stdout(&run(As::Caller, &[&command, "--help"]));
        assert!(help.contains("Example: burrow "), "{command} --help:\n{help}");
    }
}

/// As in Docker and podman: `--cap-add ALL --cap-drop X` leaves all but X,
/// and `--cap-drop ALL --cap-add X` leaves only X.
#[test]
fn cap_add_all_with_a_drop_and_drop_all_with_an_add() {
    let effective = |args: &[&str]| {
        let mut full = vec!["run"];
        full.extend_from_slice(args);
        full.extend_from_slice(&["--", "sh", "-c", "grep CapEff /proc/self/status | cut -f2"]);
        let out = run(As::Caller, &full);
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        u64::from_str_radix(stdout(&out).trim(), 16).unwrap()
    };
    const NET_RAW: u64 = 1 << 13;
    let all_but = effective(&["--cap-add", "ALL", "--cap-drop", "NET_RAW"]);
    assert_eq!(all_but & NET_RAW, 0, "NET_RAW was dropped");
    assert!(all_but.count_ones() > 30, "everything else stays: {all_but:x}");
    assert_eq!(effective(&["--cap-drop", "ALL", "--cap-add", "NET_RAW"]), NET_RAW);
}
