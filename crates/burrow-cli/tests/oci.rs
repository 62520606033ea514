//! The OCI runtime front, driven the way container engines drive runc:
//! `spec`, `create`, `start`, `state`, `kill`, `delete`, `list` and `run`
//! on busybox bundles, as root and as the unprivileged test user
//! (`burrowtest`, created by the test script).
//!
//! The tests follow runc's command-line contract, so they also run against
//! runc: `BURROW_TEST_RUNTIME=runc cargo test -p burrow-cli --test oci`
//! (unset: the burrow binary; `runc` or any other name: that binary on PATH;
//! a path: that binary).
//!
//! Known runc deviations (runc 1.1.5, Debian bookworm): no test has a
//! runc-specific expectation. Tests that runc 1.1.5 fails, which the test
//! script therefore skips there:
//! - `bind_options_set_and_clear_flags`: runc 1.1.5 ignores
//!   `suid`/`dev`/`exec` on a bind unless another flag forces a remount,
//!   and its `ro` remount drops the source's nosuid/nodev/noexec (runc 1.2
//!   clears flags as asked);
//! - `time_offsets_move_the_clocks`: runc 1.1.5 knows no time namespace
//!   (runc 1.2 does);
//! - `the_personality_is_set`: runc 1.1.5 silently ignores
//!   `linux.personality` (runc 1.2 sets it);
//! - `an_unknown_oci_version_is_refused`: runc never checks `ociVersion`
//!   (the runtime-tools conformance suite's misc_props test expects the
//!   refusal);
//! - `hooks_after_a_failing_warning_hook_still_run`: runc 1.1.5 fails a
//!   run whose poststart hook fails, and stops at the first failing
//!   poststop hook (the spec says warn and go on);
//! - `a_hostname_in_a_joined_host_namespace_is_refused`: runc renames the
//!   host (the test would then restore nothing, so it is not run there);
//! - `root_propagation_shared_and_unbindable`: with `rshared`, runc 1.1.5
//!   leaves the root private on this host (whose mounts are all private);
//! - `mount_targets_under_a_racing_symlink_stay_inside`: runc 1.1.5 creates
//!   the mount target on the host through the racing symlink
//!   (CVE-2024-45310, fixed in runc 1.1.14): `outside/fresh`, in 2 of 9
//!   test runs here (its mounts themselves stay inside);
//! - `hostile_proc_dev_and_null_links_stay_inside`: runc 1.1.5 reopens the
//!   container's /dev/null, a link to /proc/sys/kernel/core_pattern, as the
//!   container's stdin and so lets it write the host's core_pattern (the
//!   CVE-2025-31133 class): never run it against runc on a machine you
//!   care about (the test puts core_pattern back afterwards);
//! - `landlock_annotations_confine_the_container`: burrow's own annotation;
//! - `a_profile_refusing_getcwd_still_starts`: Debian's runc 1.1.5 (with
//!   the CVE-2024-21626 fix backported) checks the working directory with
//!   getcwd after installing the filter, so the container fails to start
//!   ("failed to verify if current working directory is safe");
//! - `a_systemd_cgroups_path_is_refused`: runc's cgroupfs driver takes
//!   `slice:prefix:name` as a plain directory name;
//! - `a_device_denied_by_name_cannot_be_opened`: runc 1.1.5 writes the
//!   devices every container may use after the config's rules, so a deny
//!   of c 1:3 leaves /dev/null usable (i5 asks for the deny to hold);
//! - `a_device_allow_the_parent_refuses_is_a_warning`: runc 1.1.5 fails the
//!   create with EPERM where burrow runs the container and warns;
//! - `rootless_without_cgroups_says_so_once`: runc 1.1.5 says nothing when
//!   a rootless container runs without cgroups, and ignores a device deny
//!   it cannot enforce (i5: say so once; refuse a limit asked for).
//!
//! Where runc's
//! wording is loose, the assertions accept it: "container does not exist"
//! does not name the id, and a malformed config.json gives only the JSON
//! decoder's error ("unexpected EOF"), without naming the file. Two runc
//! behaviours the tests step around rather than assert: a tmpfs mounted over
//! an existing directory gets that directory's mode whatever `mode=` says
//! (so /scratch is left for the runtime to create), and a root process's
//! effective set is its permitted set after exec whatever `effective` says
//! (the kernel's rule for uid 0, so root gets equal sets).

mod common;

use common::{cap_mask, test_user_ids, As, TEST_USER};

use std::cell::{Cell, RefCell};
use std::collections::BTreeSet;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

/// How long any one runtime command may take before the test gives up.
const COMMAND_DEADLINE: Duration = Duration::from_secs(20);

/// How long a state change (a process dying) may take to show.
const POLL_DEADLINE: Duration = Duration::from_secs(5);

/// Busybox applets linked into every test rootfs.
const APPLETS: &[&str] = &[
    "sh", "ls", "cat", "echo", "id", "hostname", "sleep", "grep", "mount", "touch", "wc", "env", "pwd", "stat", "true",
    "false", "test", "printf", "tr", "kill", "head", "mknod", "uname", "cut", "readlink", "mkdir", "dd", "seq",
];

// ---------------------------------------------------------------------------
// Which runtime, run by whom

fn through_runuser(who: As) -> bool {
    who == As::Rootless && nix::unistd::geteuid().is_root()
}

/// `BURROW_TEST_RUNTIME`, when it names something other than burrow.
fn other_runtime() -> Option<&'static Path> {
    static OTHER: OnceLock<Option<PathBuf>> = OnceLock::new();
    OTHER
        .get_or_init(|| {
            let name = std::env::var_os("BURROW_TEST_RUNTIME").filter(|n| !n.is_empty() && n != "burrow")?;
            let name = PathBuf::from(name);
            if name.components().count() > 1 {
                return Some(name);
            }
            let path = std::env::var_os("PATH").unwrap_or_default();
            let found = std::env::split_paths(&path)
                .map(|dir| dir.join(&name))
                .find(|candidate| candidate.is_file())
                .unwrap_or_else(|| panic!("BURROW_TEST_RUNTIME={}: not found on PATH", name.display()));
            Some(found)
        })
        .as_deref()
}

fn runtime_bin(who: As) -> PathBuf {
    match (other_runtime(), through_runuser(who)) {
        (Some(other), _) => other.to_owned(),
        (None, false) => PathBuf::from(env!("CARGO_BIN_EXE_burrow")),
        (None, true) => common::world_readable_burrow().to_owned(),
    }
}

fn runtime_name() -> String {
    match other_runtime() {
        Some(p) => p.file_name().unwrap().to_string_lossy().into_owned(),
        None => "burrow".into(),
    }
}

// ---------------------------------------------------------------------------
// Scratch directories and processes

/// A scratch directory, writable by everyone, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Self {
        let dir = nix::unistd::mkdtemp(&std::env::temp_dir().join("burrow-cli-oci.XXXXXX")).unwrap();
        std::fs::set_permissions(&dir, PermissionsExt::from_mode(0o777)).unwrap();
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The fields of `/proc/PID/stat` after the command name: index 0 is the
/// state, index 19 the start time.
fn stat_fields(pid: i32) -> Option<Vec<String>> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 1..];
    Some(rest.split_whitespace().map(str::to_owned).collect())
}

fn start_time(pid: i32) -> Option<String> {
    stat_fields(pid)?.get(19).cloned()
}

/// The process has exited (gone, or a zombie nobody reaped yet).
fn is_gone(pid: i32) -> bool {
    stat_fields(pid).is_none_or(|f| f[0] == "Z" || f[0] == "X")
}

/// Waits until `pid` runs the program named `comm`: after `start`, the
/// container process still has to exec its payload.
fn wait_exec(pid: i32, comm: &str) {
    let deadline = Instant::now() + POLL_DEADLINE;
    while std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .unwrap_or_default()
        .trim()
        != comm
    {
        assert!(Instant::now() < deadline, "process {pid} never ran {comm}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn wait_gone(pid: i32, what: &str) {
    let deadline = Instant::now() + POLL_DEADLINE;
    while !is_gone(pid) {
        assert!(Instant::now() < deadline, "{what}: process {pid} is still alive");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Every live descendant of `pid`.
fn descendants(pid: i32) -> Vec<i32> {
    let mut found = Vec::new();
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).into_iter().flatten();
    for task in tasks.flatten() {
        let children = std::fs::read_to_string(task.path().join("children")).unwrap_or_default();
        for child in children.split_whitespace().filter_map(|c| c.parse().ok()) {
            found.push(child);
            found.extend(descendants(child));
        }
    }
    found
}

/// All paths under `dir`, relative; empty when `dir` does not exist.
fn tree(dir: &Path) -> BTreeSet<PathBuf> {
    fn walk(base: &Path, dir: &Path, out: &mut BTreeSet<PathBuf>) {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let path = entry.path();
            out.insert(path.strip_prefix(base).unwrap().to_owned());
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                walk(base, &path, out);
            }
        }
    }
    let mut out = BTreeSet::new();
    walk(dir, dir, &mut out);
    out
}

// ---------------------------------------------------------------------------
// One runtime command

/// A finished runtime command.
struct Out {
    args: Vec<String>,
    code: Option<i32>,
    stdout: String,
    stderr: String,
    /// Where stdout and stderr went: a created or detached container keeps
    /// writing there.
    stdout_path: PathBuf,
    stderr_path: PathBuf,
}

impl Out {
    /// Both streams as they are now.
    fn reread(&self) -> (String, String) {
        (
            std::fs::read_to_string(&self.stdout_path).unwrap_or_default(),
            std::fs::read_to_string(&self.stderr_path).unwrap_or_default(),
        )
    }

    /// Standard output once `done` says it is complete (a detached
    /// container writes it later), within the poll deadline.
    fn stdout_until(&self, done: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + POLL_DEADLINE;
        loop {
            let seen = self.reread().0;
            if done(&seen) {
                return seen;
            }
            assert!(Instant::now() < deadline, "not yet there: {seen:?}\n{self}");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn ok(&self) -> &Self {
        assert_eq!(self.code, Some(0), "{self}");
        self
    }

    /// Failed, with an error on stderr that contains one of `words`
    /// (case-insensitively).
    fn refused(&self, words: &[&str]) -> &Self {
        assert!(self.code.is_some_and(|c| c != 0), "should fail: {self}");
        let err = self.stderr.to_lowercase();
        assert!(
            words.iter().any(|w| err.contains(&w.to_lowercase())),
            "the error should name the problem (one of {words:?}): {self}"
        );
        self
    }
}

impl std::fmt::Display for Out {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {:?} exited {:?}\n--- stdout\n{}--- stderr\n{}---",
            runtime_name(),
            self.args,
            self.code,
            self.stdout,
            self.stderr
        )
    }
}

// ---------------------------------------------------------------------------
// A bundle and a state root

/// A bundle (`bundle/`), a state root (`state/`) and the captured output of
/// commands, in one scratch directory. On drop, every container id handed
/// out is deleted with `delete --force` and every process recorded is
/// killed if still alive, so a failing test leaves nothing running.
struct Oci {
    who: As,
    dir: Scratch,
    ids: RefCell<Vec<String>>,
    pids: RefCell<Vec<(i32, String)>>,
    commands: Cell<usize>,
    /// Another test's state root to use instead of this one's.
    root_override: RefCell<Option<String>>,
    /// A runtime binary to run instead of the one under test (a copy).
    bin_override: RefCell<Option<PathBuf>>,
    /// Capabilities (a mask) the runtime starts with in its inheritable
    /// set, raised between fork and exec.
    inheritable: Cell<u64>,
}

impl Oci {
    fn new(who: As) -> Self {
        let oci = Oci {
            who,
            dir: Scratch::new(),
            ids: RefCell::new(Vec::new()),
            pids: RefCell::new(Vec::new()),
            commands: Cell::new(0),
            root_override: RefCell::new(None),
            bin_override: RefCell::new(None),
            inheritable: Cell::new(0),
        };
        std::fs::create_dir(oci.bundle()).unwrap();
        if through_runuser(who) {
            // The user writes config.json in the bundle (spec) and owns the
            // state root, as it would its own $XDG_RUNTIME_DIR.
            let (uid, gid) = test_user_ids();
            std::fs::create_dir(oci.root()).unwrap();
            std::fs::set_permissions(oci.root(), PermissionsExt::from_mode(0o700)).unwrap();
            for dir in [oci.bundle(), oci.root()] {
                std::os::unix::fs::chown(dir, Some(uid), Some(gid)).unwrap();
            }
        }
        oci
    }

    /// A bundle from `spec` (`--rootless` when `who` is rootless), with a
    /// busybox rootfs and no terminal.
    fn with_spec(who: As) -> Self {
        let oci = Oci::new(who);
        let bundle = oci.bundle().to_str().unwrap().to_owned();
        if who == As::Rootless {
            oci.cmd(&["spec", "--rootless", "--bundle", &bundle]).ok();
        } else {
            oci.cmd(&["spec", "--bundle", &bundle]).ok();
        }
        oci.finish_bundle();
        oci
    }

    /// Busybox rootfs, terminal off.
    fn finish_bundle(&self) {
        let rootfs = self.bundle().join("rootfs");
        for dir in ["bin", "proc", "dev", "sys", "tmp", "etc", "work"] {
            std::fs::create_dir_all(rootfs.join(dir)).unwrap();
        }
        common::install_busybox(&rootfs.join("bin/busybox"));
        for applet in APPLETS {
            std::os::unix::fs::symlink("busybox", rootfs.join("bin").join(applet)).unwrap();
        }
        self.edit(|c| c["process"]["terminal"] = json!(false));
    }

    fn path(&self) -> &Path {
        &self.dir.0
    }

    fn bundle(&self) -> PathBuf {
        self.path().join("bundle")
    }

    fn rootfs(&self) -> PathBuf {
        self.bundle().join("rootfs")
    }

    /// The state root, `--root`.
    fn root(&self) -> PathBuf {
        self.path().join("state")
    }

    fn root_arg(&self) -> String {
        self.root_override
            .borrow()
            .clone()
            .unwrap_or_else(|| self.root().to_str().unwrap().to_owned())
    }

    fn bundle_arg(&self) -> String {
        self.bundle().to_str().unwrap().to_owned()
    }

    fn file(&self, name: &str) -> String {
        self.path().join(name).to_str().unwrap().to_owned()
    }

    /// A container id unique to this test process, deleted on drop.
    fn id(&self, name: &str) -> String {
        let id = format!("{name}-{}", std::process::id());
        self.ids.borrow_mut().push(id.clone());
        id
    }

    /// Kill `pid` on drop if it is still this process.
    fn track(&self, pid: i32) {
        if let Some(start) = start_time(pid) {
            self.pids.borrow_mut().push((pid, start));
        }
    }

    fn config(&self) -> Value {
        serde_json::from_slice(&std::fs::read(self.bundle().join("config.json")).unwrap()).unwrap()
    }

    fn edit(&self, change: impl FnOnce(&mut Value)) {
        let mut config = self.config();
        change(&mut config);
        std::fs::write(
            self.bundle().join("config.json"),
            serde_json::to_vec_pretty(&config).unwrap(),
        )
        .unwrap();
    }

    fn set_args(&self, args: &[&str]) {
        self.edit(|c| c["process"]["args"] = json!(args));
    }

    /// `RUNTIME --root ROOT ARGS`, as this test's user, from the scratch
    /// directory.
    fn cmd(&self, args: &[&str]) -> Out {
        let mut full = vec!["--root".to_owned(), self.root_arg()];
        full.extend(args.iter().map(|a| a.to_string()));
        self.exec(&full, |_| ())
    }

    /// `RUNTIME ARGS` exactly, with `tweak` applied to the command.
    fn exec(&self, args: &[String], tweak: impl FnOnce(&mut Command)) -> Out {
        let n = self.commands.get();
        self.commands.set(n + 1);
        let out_path = self.path().join(format!("command{n}.stdout"));
        let err_path = self.path().join(format!("command{n}.stderr"));
        // Files, not pipes: a created or detached container keeps the
        // runtime's stdout and stderr, and would hold a pipe open.
        let stdout = std::fs::File::create(&out_path).unwrap();
        let stderr = std::fs::File::create(&err_path).unwrap();
        let bin = self
            .bin_override
            .borrow()
            .clone()
            .unwrap_or_else(|| runtime_bin(self.who));
        let mut cmd = if through_runuser(self.who) {
            let mut c = Command::new("runuser");
            c.args(["-u", TEST_USER, "--"]).arg(bin);
            c
        } else {
            Command::new(bin)
        };
        cmd.args(args)
            .current_dir(self.path())
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr)
            .process_group(0);
        let inheritable = self.inheritable.get();
        if inheritable != 0 {
            // SAFETY: capget and capset on this process, async-signal-safe,
            // between fork and exec.
            unsafe { cmd.pre_exec(move || raise_inheritable(inheritable)) };
        }
        tweak(&mut cmd);
        let mut child = cmd.spawn().unwrap();
        let deadline = Instant::now() + COMMAND_DEADLINE;
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                let _ = nix::sys::signal::killpg(
                    nix::unistd::Pid::from_raw(child.id() as i32),
                    nix::sys::signal::Signal::SIGKILL,
                );
                let _ = child.wait();
                panic!("{} {args:?} did not finish in {COMMAND_DEADLINE:?}", runtime_name());
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        Out {
            args: args.to_vec(),
            code: status.code(),
            stdout: std::fs::read_to_string(&out_path).unwrap_or_default(),
            stderr: std::fs::read_to_string(&err_path).unwrap_or_default(),
            stdout_path: out_path,
            stderr_path: err_path,
        }
    }

    /// `state ID` as JSON.
    fn state(&self, id: &str) -> Value {
        let out = self.cmd(&["state", id]);
        out.ok();
        let state: Value =
            serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("state is not JSON ({e}): {out}"));
        assert_eq!(state["id"], id, "{out}");
        state
    }

    fn status(&self, id: &str) -> String {
        self.state(id)["status"].as_str().unwrap_or_default().to_owned()
    }

    /// Poll `state` until the container is stopped.
    fn wait_stopped(&self, id: &str) {
        let deadline = Instant::now() + POLL_DEADLINE;
        loop {
            let status = self.status(id);
            if status == "stopped" {
                return;
            }
            assert!(Instant::now() < deadline, "{id} is still {status}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// `state ID` fails: the container does not exist.
    fn assert_gone(&self, id: &str) {
        self.cmd(&["state", id])
            .refused(&["not exist", "not found", "no such", id]);
    }

    /// The pid in a pid file, checked against `state`, tracked.
    fn pid_from_file(&self, pid_file: &str, id: &str) -> i32 {
        let text = std::fs::read_to_string(pid_file).unwrap_or_else(|e| panic!("pid file {pid_file}: {e}"));
        let pid: i32 = text
            .trim()
            .parse()
            .unwrap_or_else(|e| panic!("pid file {pid_file} holds {text:?}: {e}"));
        self.track(pid);
        assert_eq!(self.state(id)["pid"], pid, "state and pid file agree");
        assert!(!is_gone(pid), "the container process {pid} is alive");
        pid
    }

    /// `list --format json` as (id, status) pairs.
    fn list(&self) -> Vec<(String, String)> {
        let out = self.cmd(&["list", "--format", "json"]);
        out.ok();
        let list: Value = serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {out}"));
        // runc prints `null` when there is no container.
        let items = list.as_array().cloned().unwrap_or_default();
        assert!(list.is_array() || list.is_null(), "{out}");
        items
            .iter()
            .map(|c| {
                (
                    c["id"].as_str().unwrap_or_default().to_owned(),
                    c["status"].as_str().unwrap_or_default().to_owned(),
                )
            })
            .collect()
    }

    /// `run -d` of the bundle as a new container `name`: its id, its pid
    /// (checked against `state`, tracked) and the run's output (a detached
    /// container keeps writing there).
    fn run_detached(&self, name: &str) -> (String, i32, Out) {
        let id = self.id(name);
        let pid_file = self.file(&format!("{name}.pid"));
        let out = self.cmd(&[
            "run",
            "-d",
            "--bundle",
            &self.bundle_arg(),
            "--pid-file",
            &pid_file,
            &id,
        ]);
        out.ok();
        let pid = self.pid_from_file(&pid_file, &id);
        (id, pid, out)
    }

    /// A foreground `run` of the bundle; returns its output.
    fn run(&self, name: &str) -> Out {
        let id = self.id(name);
        self.cmd(&["run", "--bundle", &self.bundle_arg(), &id])
    }
}

/// Add `mask` to this process's inheritable capabilities (which execve
/// keeps). Only raw syscalls: it runs between fork and exec.
fn raise_inheritable(mask: u64) -> std::io::Result<()> {
    #[repr(C)]
    struct Header {
        version: u32,
        pid: i32,
    }
    #[repr(C)]
    #[derive(Clone, Copy)]
    struct Data {
        effective: u32,
        permitted: u32,
        inheritable: u32,
    }
    let header = Header {
        version: 0x2008_0522, // _LINUX_CAPABILITY_VERSION_3
        pid: 0,
    };
    let mut data = [Data {
        effective: 0,
        permitted: 0,
        inheritable: 0,
    }; 2];
    // SAFETY: capget fills two Data records, the size version 3 asks for.
    if unsafe { libc::syscall(libc::SYS_capget, &header, data.as_mut_ptr()) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    data[0].inheritable |= mask as u32;
    data[1].inheritable |= (mask >> 32) as u32;
    // SAFETY: capset reads the two records.
    if unsafe { libc::syscall(libc::SYS_capset, &header, data.as_ptr()) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

impl Drop for Oci {
    fn drop(&mut self) {
        // Clean up with the runtime under test itself: an overriding copy
        // may be what a failed attack test overwrote.
        self.bin_override.take();
        for id in self.ids.borrow().iter() {
            let _ = self.cmd(&["delete", "--force", id]);
        }
        for (pid, start) in self.pids.borrow().iter() {
            if start_time(*pid).as_ref() == Some(start) && !is_gone(*pid) {
                let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(*pid), nix::sys::signal::Signal::SIGKILL);
            }
        }
    }
}

/// The first `n` lines of the output (at least `n` are required).
fn first_lines(out: &Out, n: usize) -> Vec<&str> {
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert!(lines.len() >= n, "expected at least {n} lines: {out}");
    lines[..n].to_vec()
}

/// Add `item` to the JSON array `list` (made if missing), once.
fn append(list: &mut Value, item: Value) {
    if !list.is_array() {
        *list = json!([]);
    }
    let list = list.as_array_mut().unwrap();
    if !list.contains(&item) {
        list.push(item);
    }
}

/// The line of `/proc/mounts` output (in `text`) whose mount point is
/// `target`; the last one when several are stacked.
fn mount_line<'a>(text: &'a str, target: &str) -> Option<Vec<&'a str>> {
    text.lines()
        .map(|l| l.split(' ').collect::<Vec<_>>())
        .rfind(|f| f.len() >= 4 && f[1] == target)
}

fn mount_options<'a>(text: &'a str, target: &str) -> Vec<&'a str> {
    mount_line(text, target).unwrap_or_else(|| panic!("{target} is not mounted: {text}"))[3]
        .split(',')
        .collect()
}

// ---------------------------------------------------------------------------
// 1. The lifecycle

#[test]
fn create_start_kill_delete() {
    let oci = Oci::with_spec(As::Caller);
    oci.set_args(&["sleep", "60"]);
    oci.edit(|c| c["annotations"] = json!({"org.burrow.test": "yes", "org.burrow.other": "2"}));
    let id = oci.id("lifecycle");
    let pid_file = oci.file("pid");
    oci.cmd(&["create", "--bundle", &oci.bundle_arg(), "--pid-file", &pid_file, &id])
        .ok();

    let pid = oci.pid_from_file(&pid_file, &id);
    let state = oci.state(&id);
    assert_eq!(state["status"], "created", "{state}");
    assert!(state["ociVersion"].is_string(), "{state}");
    assert_eq!(state["bundle"], oci.bundle_arg(), "{state}");
    assert_eq!(state["annotations"]["org.burrow.test"], "yes", "{state}");
    assert_eq!(state["annotations"]["org.burrow.other"], "2", "{state}");

    // list, as a table and as JSON
    let table = oci.cmd(&["list"]);
    table.ok();
    let header = table.stdout.lines().next().unwrap_or_default();
    assert!(header.contains("ID") && header.contains("STATUS"), "{table}");
    // Columns line up under their headers, as runc's tabwriter makes them.
    let status_at = header.find("STATUS").unwrap_or_default();
    let row = table
        .stdout
        .lines()
        .find(|l| l.starts_with(id.as_str()))
        .unwrap_or_default();
    assert_eq!(row.get(status_at..status_at + 7), Some("created"), "{table}");
    assert!(
        table
            .stdout
            .lines()
            .any(|l| l.split_whitespace().next() == Some(id.as_str()) && l.contains("created")),
        "{table}"
    );
    assert_eq!(oci.list(), [(id.clone(), "created".to_owned())]);

    oci.cmd(&["start", &id]).ok();
    let state = oci.state(&id);
    assert_eq!(state["status"], "running", "{state}");
    assert_eq!(state["pid"], pid, "{state}");
    assert_eq!(oci.list(), [(id.clone(), "running".to_owned())]);

    oci.cmd(&["kill", &id, "9"]).ok();
    oci.wait_stopped(&id);
    wait_gone(pid, "after kill 9");
    assert_eq!(oci.list(), [(id.clone(), "stopped".to_owned())]);

    oci.cmd(&["delete", &id]).ok();
    oci.assert_gone(&id);
    assert!(oci.list().is_empty(), "{:?}", oci.list());
}

/// `--x=v` forms, a relative bundle (state reports it absolute), and
/// `kill` with TERM by name and by default.
#[test]
fn equals_forms_relative_bundle_and_term() {
    let oci = Oci::with_spec(As::Caller);
    // pid 1 ignores TERM unless it handles it: this one notes each TERM in
    // /tmp (the bundle's rootfs/tmp) and exits at the second.
    oci.set_args(&[
        "sh",
        "-c",
        "n=0; trap 'n=$((n+1)); touch /tmp/term$n; [ $n -ge 2 ] && exit 0' TERM; touch /tmp/ready; while :; do sleep 0.05; done",
    ]);
    oci.edit(|c| c["root"]["readonly"] = json!(false));
    let id = oci.id("equals");
    let root = format!("--root={}", oci.root_arg());
    let pid_file = format!("--pid-file={}", oci.file("pid"));
    oci.exec(
        &[
            root.clone(),
            "create".into(),
            "--bundle=bundle".into(),
            pid_file,
            id.clone(),
        ],
        |_| (),
    )
    .ok();
    let pid = oci.pid_from_file(&oci.file("pid"), &id);
    let state = oci.state(&id);
    assert_eq!(state["status"], "created", "{state}");
    assert_eq!(state["bundle"], oci.bundle_arg(), "an absolute bundle path: {state}");

    oci.exec(&[root.clone(), "start".into(), id.clone()], |_| ()).ok();
    assert_eq!(oci.status(&id), "running");
    let noted = |n: u32| {
        let marker = oci.rootfs().join(format!("tmp/term{n}"));
        let deadline = Instant::now() + POLL_DEADLINE;
        while !marker.exists() {
            assert!(Instant::now() < deadline, "TERM number {n} did not reach the payload");
            std::thread::sleep(Duration::from_millis(10));
        }
    };
    // Signal only once the payload has its trap (a TERM between start and
    // the trap would meet pid 1's default: ignored).
    let ready = oci.rootfs().join("tmp/ready");
    let deadline = Instant::now() + POLL_DEADLINE;
    while !ready.exists() {
        assert!(Instant::now() < deadline, "the payload did not start");
        std::thread::sleep(Duration::from_millis(10));
    }
    oci.exec(&[root.clone(), "kill".into(), id.clone(), "TERM".into()], |_| ())
        .ok();
    noted(1);
    assert_eq!(oci.status(&id), "running");
    oci.exec(&[root.clone(), "kill".into(), id.clone()], |_| ()).ok();
    noted(2);
    oci.wait_stopped(&id);
    wait_gone(pid, "after the second TERM");
    oci.exec(&[root, "delete".into(), id.clone()], |_| ()).ok();
    oci.assert_gone(&id);
}

/// A created container writes to the stdout and stderr `create` had (conmon
/// collects the container's output that way).
#[test]
fn a_created_container_keeps_the_stdio_of_create() {
    let oci = Oci::with_spec(As::Caller);
    oci.set_args(&["sh", "-c", "echo to-stdout; echo to-stderr >&2"]);
    let id = oci.id("stdio");
    let create = oci.cmd(&["create", "--bundle", &oci.bundle_arg(), &id]);
    create.ok();
    assert!(
        !create.stdout.contains("to-stdout"),
        "the payload ran before start: {create}"
    );
    oci.cmd(&["start", &id]).ok();
    oci.wait_stopped(&id);
    let (stdout, stderr) = create.reread();
    assert_eq!(stdout, "to-stdout\n");
    assert!(stderr.ends_with("to-stderr\n"), "{stderr:?}");
    oci.cmd(&["delete", &id]).ok();
    oci.assert_gone(&id);
}

/// The exact argv conmon (podman, CRI-O) uses, and the JSON log it reads
/// the error from when create fails.
#[test]
fn conmon_argv_and_json_log() {
    let oci = Oci::with_spec(As::Caller);
    oci.set_args(&["sleep", "60"]);
    let id = oci.id("conmon");
    let log = oci.file("log.json");
    let pid_file = oci.file("conmon.pid");
    let argv = |bundle: &str, id: &str| -> Vec<String> {
        [
            "--root",
            &oci.root_arg(),
            "--log-format=json",
            "--log",
            &log,
            "create",
            "--bundle",
            bundle,
            "--pid-file",
            &pid_file,
            id,
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    };
    oci.exec(&argv(&oci.bundle_arg(), &id), |_| ()).ok();
    oci.pid_from_file(&pid_file, &id);
    assert_eq!(oci.status(&id), "created");
    oci.cmd(&["delete", "--force", &id]).ok();
    oci.assert_gone(&id);

    // A bundle without rootfs: the failure is logged as JSON.
    let no_rootfs = oci.path().join("no-rootfs");
    std::fs::create_dir(&no_rootfs).unwrap();
    std::fs::copy(oci.bundle().join("config.json"), no_rootfs.join("config.json")).unwrap();
    let _ = std::fs::remove_file(&log);
    let bad = oci.id("conmon-bad");
    oci.exec(&argv(no_rootfs.to_str().unwrap(), &bad), |_| ())
        .refused(&["rootfs"]);
    assert_json_log_names(&log, "rootfs");
    assert!(oci.list().is_empty(), "{:?}", oci.list());
}

/// `log` holds at least one JSON object line with "level" and "msg", and
/// some msg contains `word`.
fn assert_json_log_names(log: &str, word: &str) {
    let text = std::fs::read_to_string(log).unwrap_or_else(|e| panic!("log {log}: {e}"));
    let records: Vec<Value> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["level"].is_string() && v["msg"].is_string())
        .collect();
    assert!(
        !records.is_empty(),
        "no JSON line with level and msg in the log: {text:?}"
    );
    assert!(
        records
            .iter()
            .any(|r| r["msg"].as_str().unwrap().to_lowercase().contains(word)),
        "no log message names {word:?}: {text:?}"
    );
}

// ---------------------------------------------------------------------------
// 2. run in the foreground and detached

#[test]
fn run_in_the_foreground_exits_with_the_payload() {
    // spec without --bundle writes config.json in the working directory.
    let oci = Oci::new(As::Caller);
    oci.exec(&["spec".into()], |c| {
        c.current_dir(oci.bundle());
    })
    .ok();
    oci.finish_bundle();

    oci.set_args(&["sh", "-c", "exit 3"]);
    let id = oci.id("foreground");
    let out = oci.cmd(&["run", "--bundle", &oci.bundle_arg(), &id]);
    assert_eq!(out.code, Some(3), "{out}");
    oci.assert_gone(&id);

    // The same id again: the first run removed its container.
    oci.set_args(&["sh", "-c", "echo hello; hostname"]);
    oci.edit(|c| c["hostname"] = json!("oci-test"));
    let out = oci.cmd(&["run", "--bundle", &oci.bundle_arg(), &id]);
    out.ok();
    assert_eq!(out.stdout, "hello\noci-test\n", "{out}");
    oci.assert_gone(&id);
    assert!(oci.list().is_empty(), "{:?}", oci.list());
}

#[test]
fn run_detached_then_kill_all() {
    let oci = Oci::with_spec(As::Caller);
    oci.set_args(&["sh", "-c", "sleep 60 & sleep 60 & wait"]);
    let id = oci.id("detached");
    let pid_file = oci.file("pid");
    oci.cmd(&["run", "-d", "--bundle", &oci.bundle_arg(), "--pid-file", &pid_file, &id])
        .ok();
    let pid = oci.pid_from_file(&pid_file, &id);
    assert_eq!(oci.status(&id), "running");

    let deadline = Instant::now() + POLL_DEADLINE;
    let children = loop {
        let children = descendants(pid);
        if children.len() >= 2 {
            break children;
        }
        assert!(
            Instant::now() < deadline,
            "the payload did not start its sleeps: {children:?}"
        );
        std::thread::sleep(Duration::from_millis(10));
    };
    for child in &children {
        oci.track(*child);
    }

    oci.cmd(&["kill", "--all", &id, "9"]).ok();
    oci.wait_stopped(&id);
    wait_gone(pid, "kill --all");
    for child in children {
        wait_gone(child, "kill --all");
    }
    oci.cmd(&["delete", &id]).ok();
    oci.assert_gone(&id);
}

// ---------------------------------------------------------------------------
// 3. Inside the container

#[test]
fn process_settings_are_applied() {
    let oci = Oci::with_spec(As::Caller);
    let script = "echo $$; pwd; id -u; id -g; ulimit -n; ulimit -Hn; grep NoNewPrivs /proc/self/status; env";
    oci.edit(|c| {
        let p = &mut c["process"];
        p["args"] = json!(["sh", "-c", script]);
        p["env"] = json!(["PATH=/bin", "OCI_TEST=a b=c"]);
        p["cwd"] = json!("/work");
        p["user"] = json!({"uid": 1000, "gid": 1000});
        p["rlimits"] = json!([{"type": "RLIMIT_NOFILE", "soft": 1024, "hard": 2048}]);
        p["noNewPrivileges"] = json!(true);
    });
    let id = oci.id("process");
    let out = oci.exec(
        &[
            "--root".into(),
            oci.root_arg(),
            "run".into(),
            "--bundle".into(),
            oci.bundle_arg(),
            id.clone(),
        ],
        |c| {
            c.env("BURROW_OCI_HOST_VAR", "leaked");
        },
    );
    out.ok();
    let l: Vec<&str> = out.stdout.lines().collect();
    first_lines(&out, 7);
    assert_eq!(l[0], "1", "pid 1: {out}");
    assert_eq!(l[1], "/work", "cwd: {out}");
    assert_eq!(l[2], "1000", "uid: {out}");
    assert_eq!(l[3], "1000", "gid: {out}");
    assert_eq!(l[4], "1024", "soft RLIMIT_NOFILE: {out}");
    assert_eq!(l[5], "2048", "hard RLIMIT_NOFILE: {out}");
    assert_eq!(
        l[6].split_whitespace().collect::<Vec<_>>(),
        ["NoNewPrivs:", "1"],
        "{out}"
    );
    let env = &l[7..];
    assert!(env.contains(&"OCI_TEST=a b=c"), "{out}");
    assert!(env.contains(&"PATH=/bin"), "{out}");
    assert!(
        !env.iter().any(|v| v.starts_with("BURROW_OCI_HOST_VAR")),
        "host env leaked: {out}"
    );
}

#[test]
fn capabilities_are_the_configured_sets() {
    let chown = 1u64 << 0; // CAP_CHOWN
    let kill = 1u64 << 5; // CAP_KILL
    let oci = Oci::with_spec(As::Caller);

    // As root, exec makes effective = permitted whatever the config says,
    // so the sets are equal here.
    oci.edit(|c| {
        let p = &mut c["process"];
        p["args"] = json!(["grep", "^Cap", "/proc/self/status"]);
        p["capabilities"] = json!({
            "bounding": ["CAP_CHOWN", "CAP_KILL"],
            "effective": ["CAP_CHOWN", "CAP_KILL"],
            "permitted": ["CAP_CHOWN", "CAP_KILL"],
        });
    });
    let out = oci.run("caps-root");
    out.ok();
    assert_eq!(cap_mask(&out.stdout, "CapBnd"), chown | kill, "{out}");
    assert_eq!(cap_mask(&out.stdout, "CapPrm"), chown | kill, "{out}");
    assert_eq!(cap_mask(&out.stdout, "CapEff"), chown | kill, "{out}");
    assert_eq!(cap_mask(&out.stdout, "CapInh"), 0, "{out}");
    assert_eq!(cap_mask(&out.stdout, "CapAmb"), 0, "{out}");

    // Another user keeps across exec only what is ambient.
    oci.edit(|c| {
        let p = &mut c["process"];
        p["user"] = json!({"uid": 1000, "gid": 1000});
        p["capabilities"] = json!({
            "bounding": ["CAP_CHOWN", "CAP_KILL"],
            "effective": ["CAP_CHOWN", "CAP_KILL"],
            "permitted": ["CAP_CHOWN", "CAP_KILL"],
            "inheritable": ["CAP_CHOWN"],
            "ambient": ["CAP_CHOWN"],
        });
    });
    let out = oci.run("caps-user");
    out.ok();
    assert_eq!(cap_mask(&out.stdout, "CapBnd"), chown | kill, "{out}");
    assert_eq!(cap_mask(&out.stdout, "CapInh"), chown, "{out}");
    assert_eq!(cap_mask(&out.stdout, "CapAmb"), chown, "{out}");
    assert_eq!(cap_mask(&out.stdout, "CapPrm"), chown, "{out}");
    assert_eq!(cap_mask(&out.stdout, "CapEff"), chown, "{out}");
}

#[test]
fn readonly_root_and_an_extra_tmpfs() {
    let oci = Oci::with_spec(As::Caller);
    // No /scratch in the rootfs: the runtime makes the mount point before
    // the root becomes read-only. (Over an existing directory runc gives
    // the tmpfs that directory's mode, whatever mode= says.)
    let script = "touch /x 2>/dev/null && echo root-writable || echo root-readonly; \
                  touch /scratch/x && echo scratch-writable; stat -c %a /scratch; cat /proc/mounts";
    oci.edit(|c| {
        c["process"]["args"] = json!(["sh", "-c", script]);
        c["root"]["readonly"] = json!(true);
        append(
            &mut c["mounts"],
            json!({
                "destination": "/scratch",
                "type": "tmpfs",
                "source": "tmpfs",
                "options": ["nosuid", "noexec", "mode=700"],
            }),
        );
    });
    let out = oci.run("readonly");
    out.ok();
    assert_eq!(
        first_lines(&out, 3),
        ["root-readonly", "scratch-writable", "700"],
        "{out}"
    );
    assert!(!oci.rootfs().join("x").exists());
    let root = mount_options(&out.stdout, "/");
    assert_eq!(root[0], "ro", "{out}");
    let scratch = mount_line(&out.stdout, "/scratch").unwrap();
    assert_eq!(scratch[2], "tmpfs", "{out}");
    let options = mount_options(&out.stdout, "/scratch");
    assert_eq!(options[0], "rw", "{out}");
    for flag in ["nosuid", "noexec", "mode=700"] {
        assert!(options.contains(&flag), "/scratch lacks {flag}: {out}");
    }
}

#[test]
fn masked_and_readonly_paths() {
    let oci = Oci::with_spec(As::Caller);
    let rootfs = oci.rootfs();
    std::fs::write(rootfs.join("etc/secret"), "s3cret\n").unwrap();
    std::fs::create_dir_all(rootfs.join("secretdir")).unwrap();
    std::fs::write(rootfs.join("secretdir/file"), "hidden\n").unwrap();
    std::fs::create_dir_all(rootfs.join("data")).unwrap();
    // A kernel file that is masked by the default spec, if this kernel has it
    // (/proc/kcore is not read: unmasked, it is huge).
    let kernel_file = ["/proc/timer_list", "/proc/keys"]
        .into_iter()
        .find(|p| Path::new(p).exists());
    let mut script = String::from(
        "echo \"secret:[$(cat /etc/secret)]\"; echo \"secretdir:[$(ls /secretdir)]\"; \
         touch /data/x 2>/dev/null && echo data-writable || echo data-readonly; \
         touch /ok && echo root-writable; ",
    );
    if let Some(file) = kernel_file {
        script.push_str(&format!("echo \"kernel:[$(cat {file})]\"; "));
    }
    script.push_str("cat /proc/mounts");
    oci.edit(|c| {
        c["process"]["args"] = json!(["sh", "-c", script]);
        c["root"]["readonly"] = json!(false);
        let linux = &mut c["linux"];
        append(&mut linux["maskedPaths"], json!("/etc/secret"));
        append(&mut linux["maskedPaths"], json!("/secretdir"));
        append(&mut linux["readonlyPaths"], json!("/data"));
        if let Some(file) = kernel_file {
            append(&mut linux["maskedPaths"], json!(file));
        }
    });
    let out = oci.run("masked");
    out.ok();
    let mut expected = vec!["secret:[]", "secretdir:[]", "data-readonly", "root-writable"];
    if kernel_file.is_some() {
        expected.push("kernel:[]");
    }
    assert_eq!(first_lines(&out, expected.len()), expected, "{out}");
    assert_eq!(mount_options(&out.stdout, "/proc/sys")[0], "ro", "{out}");
    assert_eq!(mount_options(&out.stdout, "/data")[0], "ro", "{out}");
    // The host files are untouched.
    assert_eq!(std::fs::read_to_string(rootfs.join("etc/secret")).unwrap(), "s3cret\n");
    assert!(rootfs.join("secretdir/file").exists());
    assert!(!rootfs.join("data/x").exists());
}

#[test]
fn sysctl_and_hostname() {
    let oci = Oci::with_spec(As::Caller);
    oci.edit(|c| {
        c["process"]["args"] = json!(["sh", "-c", "cat /proc/sys/kernel/shmmni; hostname"]);
        c["linux"]["sysctl"] = json!({"kernel.shmmni": "1234"});
        c["hostname"] = json!("sysctl-box");
    });
    let out = oci.run("sysctl");
    out.ok();
    assert_eq!(out.stdout, "1234\nsysctl-box\n", "{out}");
    let host = std::fs::read_to_string("/proc/sys/kernel/shmmni").unwrap();
    assert_ne!(host.trim(), "1234", "the host's value is untouched");
}

// ---------------------------------------------------------------------------
// 4. Rootless

#[test]
fn rootless_run_maps_the_user_to_root() {
    let (uid, gid) = test_user_ids();
    let oci = Oci::with_spec(As::Rootless);
    oci.set_args(&["sh", "-c", "id -u; cat /proc/self/uid_map; cat /proc/self/gid_map"]);
    let out = oci.run("rootless");
    out.ok();
    let l: Vec<Vec<&str>> = out.stdout.lines().map(|l| l.split_whitespace().collect()).collect();
    assert_eq!(l.len(), 3, "{out}");
    assert_eq!(l[0], ["0"], "{out}");
    assert_eq!(l[1], ["0", &uid.to_string(), "1"], "{out}");
    assert_eq!(l[2], ["0", &gid.to_string(), "1"], "{out}");
}

#[test]
fn rootless_create_start_kill_delete() {
    let (uid, _) = test_user_ids();
    let oci = Oci::with_spec(As::Rootless);
    oci.set_args(&["sleep", "60"]);
    let id = oci.id("rootless-lifecycle");
    let pid_file = oci.file("pid");
    oci.cmd(&["create", "--bundle", &oci.bundle_arg(), "--pid-file", &pid_file, &id])
        .ok();
    let pid = oci.pid_from_file(&pid_file, &id);
    assert_eq!(oci.status(&id), "created");
    let owner = nix::sys::stat::stat(format!("/proc/{pid}").as_str()).unwrap().st_uid;
    assert_eq!(owner, uid, "the container runs as the user on the host");
    oci.cmd(&["start", &id]).ok();
    assert_eq!(oci.status(&id), "running");
    oci.cmd(&["kill", &id, "SIGKILL"]).ok();
    oci.wait_stopped(&id);
    wait_gone(pid, "rootless kill");
    oci.cmd(&["delete", &id]).ok();
    oci.assert_gone(&id);
}

// ---------------------------------------------------------------------------
// 5. Bad input

/// `create` fails naming the problem and leaves the state root as it was;
/// `run` fails the same way.
fn create_refused(oci: &Oci, bundle: &Path, name: &str, words: &[&str]) {
    let before = tree(&oci.root());
    let id = oci.id(name);
    let bundle = bundle.to_str().unwrap();
    oci.cmd(&["create", "--bundle", bundle, "--pid-file", &oci.file("pid"), &id])
        .refused(words);
    assert_eq!(tree(&oci.root()), before, "create left something in the state root");
    assert!(!Path::new(&oci.file("pid")).exists(), "create wrote a pid file");
    oci.cmd(&["run", "--bundle", bundle, &id]).refused(words);
    assert_eq!(tree(&oci.root()), before, "run left something in the state root");
    oci.assert_gone(&id);
}

#[test]
fn bad_bundles_are_refused_and_leave_nothing() {
    let oci = Oci::with_spec(As::Caller);
    oci.set_args(&["true"]);

    let empty = oci.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    create_refused(&oci, &empty, "no-config", &["config.json"]);

    let malformed = oci.path().join("malformed");
    std::fs::create_dir(&malformed).unwrap();
    std::fs::write(malformed.join("config.json"), "{").unwrap();
    std::os::unix::fs::symlink(oci.rootfs(), malformed.join("rootfs")).unwrap();
    create_refused(
        &oci,
        &malformed,
        "malformed",
        &["config.json", "json", "eof", "parse", "syntax"],
    );

    let no_rootfs = oci.path().join("no-rootfs");
    std::fs::create_dir(&no_rootfs).unwrap();
    std::fs::copy(oci.bundle().join("config.json"), no_rootfs.join("config.json")).unwrap();
    create_refused(&oci, &no_rootfs, "no-rootfs", &["rootfs"]);

    // With a JSON log, the failure is in the log too.
    let log = oci.file("bad.log");
    let id = oci.id("no-config-logged");
    oci.exec(
        &[
            "--root".into(),
            oci.root_arg(),
            "--log".into(),
            log.clone(),
            "--log-format".into(),
            "json".into(),
            "create".into(),
            "--bundle".into(),
            empty.to_str().unwrap().into(),
            id,
        ],
        |_| (),
    )
    .refused(&["config.json"]);
    assert_json_log_names(&log, "config.json");
    assert!(oci.list().is_empty(), "{:?}", oci.list());
}

/// `--version` (and `-v`) print runc's lines; `features` is JSON an
/// engine can read.
#[test]
fn version_and_features() {
    let oci = Oci::new(As::Caller);
    for flag in ["--version", "-v"] {
        let out = oci.cmd(&[flag]);
        out.ok();
        let lines: Vec<&str> = out.stdout.lines().collect();
        assert!(lines.first().is_some_and(|l| l.contains("version")), "{out}");
        assert!(lines.iter().any(|l| l.starts_with("commit: ")), "{out}");
        assert!(lines.iter().any(|l| l.starts_with("spec: 1.")), "{out}");
    }
    let out = oci.cmd(&["features"]);
    out.ok();
    let features: Value = serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}: {out}"));
    for key in ["ociVersionMin", "ociVersionMax"] {
        assert!(
            features[key].as_str().is_some_and(|v| v.starts_with("1.")),
            "{key}: {out}"
        );
    }
    assert!(
        features["mountOptions"]
            .as_array()
            .is_some_and(|o| o.iter().any(|x| x == "ro")),
        "{out}"
    );
    assert!(
        features["linux"]["namespaces"]
            .as_array()
            .is_some_and(|n| n.iter().any(|x| x == "pid")),
        "{out}"
    );
}

/// `run ID` runs what config.json says: a flag it would not honour (the
/// ad-hoc `burrow run`'s, or a cgroup driver it lacks) is refused by name,
/// and nothing is made.
#[test]
fn run_id_refuses_flags_it_would_ignore() {
    let oci = Oci::with_spec(As::Caller);
    oci.set_args(&["true"]);
    let id = oci.id("ignored-flags");
    let bundle = oci.bundle_arg();
    let before = tree(&oci.root());
    oci.cmd(&["run", "--bundle", &bundle, "--memory", "64M", &id])
        .refused(&["memory"]);
    oci.cmd(&["--systemd-cgroup", "run", "--bundle", &bundle, &id])
        .refused(&["systemd"]);
    assert_eq!(tree(&oci.root()), before, "run left something in the state root");
    oci.assert_gone(&id);
}

#[test]
fn unknown_ids_are_refused() {
    let oci = Oci::new(As::Caller);
    let id = oci.id("never-created");
    let unknown = ["not exist", "not found", "no such", id.as_str()];
    for args in [
        vec!["start", &id],
        vec!["kill", &id],
        vec!["kill", &id, "9"],
        vec!["state", &id],
        vec!["delete", &id],
    ] {
        oci.cmd(&args).refused(&unknown);
    }
    let out = oci.cmd(&["delete", "--force", &id]);
    assert_eq!(out.code, Some(0), "delete --force of a missing container: {out}");

    let log = oci.file("unknown.log");
    oci.exec(
        &[
            "--root".into(),
            oci.root_arg(),
            "--log".into(),
            log.clone(),
            "--log-format".into(),
            "json".into(),
            "state".into(),
            id.clone(),
        ],
        |_| (),
    )
    .refused(&unknown);
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(
        text.lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .any(|v| v["level"].is_string() && v["msg"].is_string()),
        "no JSON line with level and msg in the log: {text:?}"
    );
    assert!(tree(&oci.root()).is_empty(), "{:?}", tree(&oci.root()));
}

#[test]
fn conflicts_leave_the_container_intact() {
    let oci = Oci::with_spec(As::Caller);
    oci.set_args(&["sleep", "60"]);
    let id = oci.id("conflict");
    let pid_file = oci.file("pid");
    oci.cmd(&["create", "--bundle", &oci.bundle_arg(), "--pid-file", &pid_file, &id])
        .ok();
    let pid = oci.pid_from_file(&pid_file, &id);
    let before = tree(&oci.root());

    // The same id again.
    let other_pid_file = oci.file("other.pid");
    oci.cmd(&[
        "create",
        "--bundle",
        &oci.bundle_arg(),
        "--pid-file",
        &other_pid_file,
        &id,
    ])
    .refused(&["exist", "in use", "taken"]);
    assert!(
        !Path::new(&other_pid_file).exists(),
        "the second create wrote a pid file"
    );
    assert_eq!(tree(&oci.root()), before);
    let state = oci.state(&id);
    assert_eq!(state["status"], "created", "{state}");
    assert_eq!(state["pid"], pid, "{state}");
    assert!(!is_gone(pid));

    // Started twice.
    oci.cmd(&["start", &id]).ok();
    oci.cmd(&["start", &id]).refused(&["running"]);
    assert_eq!(oci.status(&id), "running");

    // Deleted while running, without --force.
    oci.cmd(&["delete", &id]).refused(&["running", "not stopped"]);
    assert_eq!(oci.status(&id), "running");
    assert!(!is_gone(pid));

    oci.cmd(&["kill", &id, "SIGKILL"]).ok();
    oci.wait_stopped(&id);
    oci.cmd(&["delete", &id]).ok();
    oci.assert_gone(&id);
    wait_gone(pid, "killed");
}

// ---------------------------------------------------------------------------
// 6. delete --force

#[test]
fn delete_force_removes_created_and_running_containers() {
    let oci = Oci::with_spec(As::Caller);
    oci.set_args(&["sleep", "60"]);

    let created = oci.id("force-created");
    let pid_file = oci.file("created.pid");
    oci.cmd(&[
        "create",
        "--bundle",
        &oci.bundle_arg(),
        "--pid-file",
        &pid_file,
        &created,
    ])
    .ok();
    let pid = oci.pid_from_file(&pid_file, &created);
    assert_eq!(oci.status(&created), "created");
    oci.cmd(&["delete", "--force", &created]).ok();
    oci.assert_gone(&created);
    wait_gone(pid, "delete --force of a created container");

    let running = oci.id("force-running");
    let pid_file = oci.file("running.pid");
    oci.cmd(&[
        "run",
        "--detach",
        "--bundle",
        &oci.bundle_arg(),
        "--pid-file",
        &pid_file,
        &running,
    ])
    .ok();
    let pid = oci.pid_from_file(&pid_file, &running);
    assert_eq!(oci.status(&running), "running");
    oci.cmd(&["delete", "--force", &running]).ok();
    oci.assert_gone(&running);
    wait_gone(pid, "delete --force of a running container");
    assert!(oci.list().is_empty(), "{:?}", oci.list());
}

/// A console socket as conmon provides one: it receives the pty master
/// over SCM_RIGHTS, then reads the terminal until `DONE` shows up.
struct ConsoleSocket {
    path: PathBuf,
    reader: Option<std::thread::JoinHandle<String>>,
}

impl ConsoleSocket {
    fn new(oci: &Oci, name: &str) -> Self {
        let path = oci.path().join(name);
        let listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
        if through_runuser(oci.who) {
            let (uid, gid) = test_user_ids();
            std::os::unix::fs::chown(&path, Some(uid), Some(gid)).unwrap();
        }
        listener.set_nonblocking(true).unwrap();
        let reader = std::thread::spawn(move || {
            let deadline = Instant::now() + Duration::from_secs(10);
            let stream = loop {
                match listener.accept() {
                    Ok((s, _)) => break s,
                    Err(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(10)),
                    Err(e) => return format!("no connection: {e}"),
                }
            };
            stream.set_nonblocking(false).unwrap();
            let mut buf = [0u8; 64];
            let mut iov = [std::io::IoSliceMut::new(&mut buf)];
            let mut space = nix::cmsg_space!([std::os::fd::RawFd; 1]);
            let msg = match nix::sys::socket::recvmsg::<()>(
                std::os::fd::AsRawFd::as_raw_fd(&stream),
                &mut iov,
                Some(&mut space),
                nix::sys::socket::MsgFlags::empty(),
            ) {
                Ok(m) => m,
                Err(e) => return format!("recvmsg: {e}"),
            };
            let Some(master) = msg.cmsgs().ok().into_iter().flatten().find_map(|c| match c {
                nix::sys::socket::ControlMessageOwned::ScmRights(fds) => fds.first().copied(),
                _ => None,
            }) else {
                return "no fd received".into();
            };
            // SAFETY: the fd was just received and belongs to nobody else.
            let mut master = unsafe { <std::fs::File as std::os::fd::FromRawFd>::from_raw_fd(master) };
            let mut seen = Vec::new();
            let mut chunk = [0u8; 4096];
            while Instant::now() < deadline {
                match std::io::Read::read(&mut master, &mut chunk) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => seen.extend_from_slice(&chunk[..n]),
                }
                if String::from_utf8_lossy(&seen).contains("DONE") {
                    break;
                }
            }
            String::from_utf8_lossy(&seen).into_owned()
        });
        ConsoleSocket {
            path,
            reader: Some(reader),
        }
    }

    fn arg(&self) -> String {
        self.path.to_str().unwrap().to_owned()
    }

    /// What the terminal showed.
    fn output(mut self) -> String {
        self.reader.take().unwrap().join().unwrap()
    }
}

#[test]
fn a_terminal_goes_to_the_console_socket() {
    let oci = Oci::with_spec(As::Caller);
    oci.set_args(&[
        "sh",
        "-c",
        "tty; test -t 0 && test -t 1 && test -c /dev/console && echo DONE",
    ]);
    oci.edit(|c| c["process"]["terminal"] = json!(true));
    let id = oci.id("tty");
    let console = ConsoleSocket::new(&oci, "console.sock");
    oci.cmd(&[
        "create",
        "--bundle",
        &oci.bundle_arg(),
        "--console-socket",
        &console.arg(),
        &id,
    ])
    .ok();
    oci.cmd(&["start", &id]).ok();
    let seen = console.output();
    assert!(seen.contains("/dev/pts/0") && seen.contains("DONE"), "{seen:?}");
    oci.wait_stopped(&id);
    oci.cmd(&["delete", &id]).ok();
    // A terminal with nowhere to send it is refused, naming the field.
    let id2 = oci.id("tty-no-socket");
    oci.cmd(&["create", "--bundle", &oci.bundle_arg(), &id2])
        .refused(&["terminal", "console"]);
}

#[test]
fn exec_with_a_terminal() {
    let oci = Oci::with_spec(As::Caller);
    oci.set_args(&["sleep", "60"]);
    let id = oci.id("exec-tty");
    oci.cmd(&["run", "-d", "--bundle", &oci.bundle_arg(), &id]).ok();
    let console = ConsoleSocket::new(&oci, "exec-console.sock");
    let pid_file = oci.file("exec.pid");
    oci.cmd(&[
        "exec",
        "--tty",
        "--console-socket",
        &console.arg(),
        "--detach",
        "--pid-file",
        &pid_file,
        &id,
        "sh",
        "-c",
        "tty; echo DONE",
    ])
    .ok();
    let seen = console.output();
    assert!(seen.contains("/dev/pts/") && seen.contains("DONE"), "{seen:?}");
    assert!(std::fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .parse::<i32>()
        .is_ok());
    oci.cmd(&["delete", "--force", &id]).ok();
}

#[test]
fn devices_are_created_as_configured() {
    let oci = Oci::with_spec(As::Caller);
    oci.set_args(&[
        "sh",
        "-c",
        "stat -c '%F %t:%T %a %u' /dev/mynull; echo x > /dev/mynull && echo written",
    ]);
    oci.edit(|c| {
        c["linux"]["devices"] = json!([{"path": "/dev/mynull", "type": "c", "major": 1, "minor": 3, "fileMode": 0o640, "uid": 0, "gid": 0}]);
    });
    let out = oci.run("devices");
    out.ok();
    assert_eq!(out.stdout, "character special file 1:3 640 0\nwritten\n", "{out}");
}

/// Without its own pid namespace, `ps`, `kill --all` and `delete --force`
/// must still touch only the container's processes, never the host's.
#[test]
fn without_a_pid_namespace_only_the_container_is_touched() {
    let oci = Oci::with_spec(As::Caller);
    oci.set_args(&["sleep", "60"]);
    oci.edit(|c| {
        let list = c["linux"]["namespaces"].as_array().unwrap().clone();
        c["linux"]["namespaces"] = json!(list.into_iter().filter(|n| n["type"] != "pid").collect::<Vec<_>>());
    });
    let mut sentinel = Command::new("sleep").arg("60").spawn().unwrap();
    let id = oci.id("no-pidns");
    oci.cmd(&["run", "-d", "--bundle", &oci.bundle_arg(), &id]).ok();
    let ps = oci.cmd(&["ps", "--format", "json", &id]);
    ps.ok();
    let pids: Vec<i32> = serde_json::from_str(ps.stdout.trim()).unwrap_or_default();
    assert!(!pids.contains(&(sentinel.id() as i32)) && pids.len() <= 2, "{ps}");
    oci.cmd(&["kill", "--all", &id, "KILL"]).ok();
    oci.wait_stopped(&id);
    oci.cmd(&["delete", "--force", &id]).ok();
    let alive = sentinel.try_wait().unwrap().is_none();
    let _ = sentinel.kill();
    let _ = sentinel.wait();
    assert!(alive, "a host process was killed");
}

/// A container whose process runs as an ordinary user can still be
/// created and started (the start gate is reopened after the switch).
#[test]
fn create_and_start_as_a_non_root_process_user() {
    let oci = Oci::with_spec(As::Caller);
    oci.set_args(&["sleep", "60"]);
    oci.edit(|c| c["process"]["user"] = json!({"uid": 1000, "gid": 1000}));
    let id = oci.id("user-start");
    oci.cmd(&["create", "--bundle", &oci.bundle_arg(), &id]).ok();
    oci.cmd(&["start", &id]).ok();
    assert_eq!(oci.status(&id), "running");
    oci.cmd(&["delete", "--force", &id]).ok();
}

/// SIGTERM ends a container that waits for `start`.
#[test]
fn a_created_container_can_be_killed_with_term() {
    let oci = Oci::with_spec(As::Caller);
    oci.set_args(&["sleep", "60"]);
    let id = oci.id("term-created");
    oci.cmd(&["create", "--bundle", &oci.bundle_arg(), &id]).ok();
    oci.cmd(&["kill", &id, "TERM"]).ok();
    oci.wait_stopped(&id);
    oci.cmd(&["delete", &id]).ok();
}

#[test]
fn no_capabilities_field_means_no_capabilities() {
    let oci = Oci::with_spec(As::Caller);
    oci.set_args(&["grep", "CapEff", "/proc/self/status"]);
    oci.edit(|c| {
        c["process"].as_object_mut().unwrap().remove("capabilities");
    });
    let out = oci.run("no-caps");
    out.ok();
    assert_eq!(out.stdout.split_whitespace().nth(1), Some("0000000000000000"), "{out}");
}

#[test]
fn a_host_wide_sysctl_is_refused_by_name() {
    let oci = Oci::with_spec(As::Caller);
    oci.set_args(&["true"]);
    oci.edit(|c| c["linux"]["sysctl"] = json!({"vm.swappiness": "60"}));
    oci.run("host-sysctl").refused(&["vm.swappiness"]);
}

#[test]
fn a_pid_file_does_not_follow_planted_symlinks() {
    let oci = Oci::with_spec(As::Caller);
    oci.set_args(&["sleep", "60"]);
    let victim = oci.file("victim");
    std::fs::write(&victim, "untouched").unwrap();
    let pid_file = oci.file("planted.pid");
    for name in ["planted.pid.tmp", ".planted.pid.tmp"] {
        std::os::unix::fs::symlink(&victim, oci.path().join(name)).unwrap();
    }
    let id = oci.id("pidfile");
    oci.cmd(&["create", "--bundle", &oci.bundle_arg(), "--pid-file", &pid_file, &id])
        .ok();
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "untouched");
    assert!(std::fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .parse::<i32>()
        .is_ok());
    oci.cmd(&["delete", "--force", &id]).ok();
}

#[test]
fn a_relative_bind_source_is_relative_to_the_bundle() {
    let oci = Oci::with_spec(As::Caller);
    std::fs::create_dir(oci.bundle().join("data")).unwrap();
    std::fs::write(oci.bundle().join("data/hello"), "from the bundle\n").unwrap();
    oci.set_args(&["cat", "/data/hello"]);
    oci.edit(|c| {
        append(
            &mut c["mounts"],
            json!({"destination": "/data", "type": "bind", "source": "data", "options": ["rbind", "ro"]}),
        )
    });
    let out = oci.run("relative-bind");
    out.ok();
    assert_eq!(out.stdout, "from the bundle\n", "{out}");
}

/// Without a cgroup namespace, the container's cgroup mount shows its own
/// cgroup (a bind of it, as runc does), not the host's whole hierarchy;
/// with one, a new mount rooted at that namespace.
#[test]
fn the_cgroup_mount_shows_the_containers_own_cgroup() {
    let oci = Oci::with_spec(As::Caller);
    // The root of the pids hierarchy's mount (the whole view on a unified host).
    oci.set_args(&[
        "sh",
        "-c",
        "grep -E ' /sys/fs/cgroup(/pids)? .* - cgroup2? ' /proc/self/mountinfo | cut -d' ' -f4",
    ]);
    let without_cgroupns = |c: &mut Value| {
        let list = c["linux"]["namespaces"].as_array_mut().unwrap();
        list.retain(|n| n["type"] != "cgroup");
    };
    oci.edit(without_cgroupns);
    let out = oci.run("own-view");
    out.ok();
    let id = format!("own-view-{}", std::process::id());
    assert!(out.stdout.trim().ends_with(&format!("/{id}")), "{out}");
    oci.edit(|c| append(&mut c["linux"]["namespaces"], json!({"type": "cgroup"})));
    let out = oci.run("ns-view");
    out.ok();
    assert_eq!(out.stdout.trim(), "/", "{out}");
}

/// `linux.cgroupsPath`: an absolute path from each hierarchy's root, a
/// relative one below the runtime's own cgroup (as runc does); the
/// container's processes are there, and what was made is gone after it.
#[test]
fn cgroups_path_absolute_and_relative() {
    assert!(nix::unistd::geteuid().is_root(), "cgroup placement needs root here");
    let oci = Oci::with_spec(As::Caller);
    oci.set_args(&["cat", "/proc/self/cgroup"]);
    oci.edit(|c| {
        let list = c["linux"]["namespaces"].as_array_mut().unwrap();
        list.retain(|n| n["type"] != "cgroup");
    });
    // This process's cgroup in each hierarchy, as (the hierarchy's
    // directory under /sys/fs/cgroup, the path). A relative cgroupsPath
    // goes below these; on this host they differ from the roots (memory is
    // in /process_api/...), so the two cases are told apart.
    let own: Vec<(String, String)> = std::fs::read_to_string("/proc/self/cgroup")
        .unwrap()
        .lines()
        .map(|l| {
            let mut f = l.splitn(3, ':');
            let (id, controllers, path) = (f.next().unwrap(), f.next().unwrap(), f.next().unwrap());
            let dir = match (id, controllers) {
                ("0", "") => "unified".to_owned(),
                _ => controllers
                    .split(',')
                    .map(|c| c.trim_start_matches("name="))
                    .collect::<Vec<_>>()
                    .join(","),
            };
            (dir, path.to_owned())
        })
        .collect();
    /// Removes the cgroups a failing run left.
    struct Remove(Vec<PathBuf>);
    impl Drop for Remove {
        fn drop(&mut self) {
            for dir in &self.0 {
                let _ = std::fs::remove_dir(dir);
            }
        }
    }
    let name = format!("burrow-test-cgpath-{}", std::process::id());
    for absolute in [true, false] {
        let path = if absolute {
            format!("/{name}-abs")
        } else {
            format!("{name}-rel")
        };
        let expected: Vec<String> = own
            .iter()
            .map(|(_, mine)| match absolute {
                true => path.clone(),
                false => format!("{}/{path}", mine.trim_end_matches('/')),
            })
            .collect();
        let dirs: Vec<PathBuf> = own
            .iter()
            .zip(&expected)
            .map(|((dir, _), cgroup)| {
                Path::new("/sys/fs/cgroup")
                    .join(dir)
                    .join(cgroup.trim_start_matches('/'))
            })
            .collect();
        let _remove = Remove(dirs.clone());
        oci.edit(|c| c["linux"]["cgroupsPath"] = json!(path));
        let out = oci.run(if absolute {
            "cgroups-path-abs"
        } else {
            "cgroups-path-rel"
        });
        out.ok();
        let seen: Vec<&str> = out
            .stdout
            .lines()
            .map(|l| l.splitn(3, ':').nth(2).unwrap_or_default())
            .collect();
        assert_eq!(seen, expected, "{path}: {out}");
        for dir in &dirs {
            assert!(!dir.exists(), "{} is left after the container", dir.display());
        }
    }
}

/// A systemd `slice:prefix:name` cgroupsPath is refused, naming the field:
/// this build has no systemd driver.
#[test]
fn a_systemd_cgroups_path_is_refused() {
    let oci = Oci::with_spec(As::Caller);
    oci.set_args(&["true"]);
    oci.edit(|c| c["linux"]["cgroupsPath"] = json!("system.slice:burrow:x"));
    let before = tree(&oci.root());
    oci.run("systemd-path").refused(&["cgroupsPath"]);
    assert_eq!(tree(&oci.root()), before, "run left something in the state root");
}

/// Device rules and the pids limit reach the container's cgroups.
#[test]
fn device_rules_and_the_pids_limit_are_applied() {
    let oci = Oci::with_spec(As::Caller);
    oci.set_args(&[
        "sh",
        "-c",
        "echo x > /dev/null && echo null-ok; mknod /dev/fuse2 c 10 229 && echo mknod-ok; \
         (exec 3<>/dev/fuse2) 2>/dev/null || echo open-denied; \
         cat /sys/fs/cgroup/pids/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids.max",
    ]);
    oci.edit(|c| {
        // CAP_MKNOD, so that only the device rules can refuse anything.
        for set in ["bounding", "effective", "permitted"] {
            append(&mut c["process"]["capabilities"][set], json!("CAP_MKNOD"));
        }
        c["linux"]["resources"] = json!({
            "devices": [{"allow": false, "access": "rwm"}],
            "pids": {"limit": 42}
        });
    });
    let out = oci.run("resources");
    out.ok();
    assert_eq!(out.stdout, "null-ok\nmknod-ok\nopen-denied\n42\n", "{out}");
}

/// Every hook stage runs, in its namespace, with the state on stdin; a
/// failing createRuntime hook fails create and leaves nothing behind.
#[test]
fn hooks_run_at_every_stage() {
    let oci = Oci::with_spec(As::Caller);
    let out = oci.path().join("hooks-out");
    std::fs::create_dir(&out).unwrap();
    let o = out.to_str().unwrap().to_owned();
    oci.set_args(&["sleep", "60"]);
    let hook = |file: String| json!({"path": "/bin/sh", "args": ["sh", "-c", format!("cat > {file}")]});
    oci.edit(|c| {
        append(
            &mut c["mounts"],
            json!({"destination": "/out", "type": "bind", "source": o, "options": ["rbind", "rw"]}),
        );
        c["hooks"] = json!({
            "createRuntime": [hook(format!("{o}/createRuntime.json"))],
            "createContainer": [hook(format!("{o}/createContainer.json"))],
            "startContainer": [hook("/out/startContainer.json".into())],
            "poststart": [hook(format!("{o}/poststart.json"))],
            "poststop": [hook(format!("{o}/poststop.json"))],
        });
    });
    let id = oci.id("hooks");
    let pid_file = oci.file("hooks.pid");
    oci.cmd(&["create", "--bundle", &oci.bundle_arg(), "--pid-file", &pid_file, &id])
        .ok();
    let pid = oci.pid_from_file(&pid_file, &id);
    let read = |name: &str| -> Value {
        let text = std::fs::read_to_string(out.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}: {text:?}"))
    };
    for stage in ["createRuntime.json", "createContainer.json"] {
        let state = read(stage);
        assert_eq!(state["id"], id.as_str(), "{stage}: {state}");
        // runc shows createContainer the pid as seen inside (1); burrow the
        // host's: both name the container's process.
        let seen = state["pid"].as_i64();
        assert!(
            seen == Some(pid as i64) || (stage == "createContainer.json" && seen == Some(1)),
            "{stage}: {state}"
        );
    }
    assert!(!out.join("startContainer.json").exists());
    oci.cmd(&["start", &id]).ok();
    let deadline = Instant::now() + Duration::from_secs(5);
    while !(out.join("startContainer.json").exists() && out.join("poststart.json").exists()) {
        assert!(
            Instant::now() < deadline,
            "startContainer and poststart should have run"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(read("poststart.json")["id"], id.as_str());
    oci.cmd(&["delete", "--force", &id]).ok();
    assert_eq!(read("poststop.json")["id"], id.as_str());

    // A failing createRuntime hook fails create, naming it.
    oci.edit(|c| c["hooks"] = json!({"createRuntime": [{"path": "/bin/false"}]}));
    let id2 = oci.id("hooks-fail");
    oci.cmd(&["create", "--bundle", &oci.bundle_arg(), &id2])
        .refused(&["hook", "createRuntime", "false"]);
    assert!(oci.list().is_empty(), "{:?}", oci.list());
}

/// A hook that never reads its (large) input cannot hurt the runtime, and
/// a hook's timeout is enforced.
#[test]
fn hooks_that_ignore_their_input_or_run_too_long() {
    let oci = Oci::with_spec(As::Caller);
    oci.set_args(&["true"]);
    oci.edit(|c| {
        c["annotations"] = json!({"big": "x".repeat(200_000)});
        c["hooks"] = json!({
            "createRuntime": [{"path": "/bin/true"}],
            "poststop": [{"path": "/bin/true"}]
        });
    });
    oci.run("hook-no-read").ok();
    oci.edit(|c| {
        c["annotations"] = json!({});
        c["hooks"] = json!({"createRuntime": [{"path": "/bin/sleep", "args": ["sleep", "5"], "timeout": 1}]});
    });
    let started = Instant::now();
    oci.run("hook-timeout").refused(&["timed out", "timeout", "time"]);
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "the timeout was not enforced"
    );
    assert!(oci.list().is_empty(), "{:?}", oci.list());
}

/// Device access is restricted even when the config has no rules.
#[test]
fn devices_are_restricted_without_rules() {
    let oci = Oci::with_spec(As::Caller);
    oci.set_args(&[
        "sh",
        "-c",
        "mknod /dev/fuse2 c 10 229 && (exec 3<>/dev/fuse2) 2>/dev/null || echo denied",
    ]);
    oci.edit(|c| {
        c["linux"].as_object_mut().unwrap().remove("resources");
        for set in ["bounding", "effective", "permitted"] {
            append(&mut c["process"]["capabilities"][set], json!("CAP_MKNOD"));
        }
    });
    let out = oci.run("no-device-rules");
    out.ok();
    assert_eq!(out.stdout, "denied\n", "{out}");
}

/// Joining the host's own network namespace by path does not make its
/// sysctls the container's.
#[test]
fn a_sysctl_in_a_joined_host_namespace_is_refused() {
    let oci = Oci::with_spec(As::Caller);
    oci.set_args(&["true"]);
    oci.edit(|c| {
        let list: Vec<Value> = c["linux"]["namespaces"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|n| n["type"] != "network")
            .cloned()
            .chain([json!({"type": "network", "path": "/proc/self/ns/net"})])
            .collect();
        c["linux"]["namespaces"] = json!(list);
        c["linux"]["sysctl"] = json!({"net.unix.max_dgram_qlen": "11"});
    });
    let before = std::fs::read_to_string("/proc/sys/net/unix/max_dgram_qlen").unwrap();
    oci.run("host-netns-sysctl")
        .refused(&["net.unix.max_dgram_qlen", "sysctl", "host"]);
    assert_eq!(
        std::fs::read_to_string("/proc/sys/net/unix/max_dgram_qlen").unwrap(),
        before
    );
}

/// `exec --user UID` keeps the config's gid, `--user UID:GID` sets both;
/// `kill ID 0` only asks whether the container is there.
#[test]
fn exec_user_without_a_gid_and_kill_with_signal_0() {
    let oci = Oci::with_spec(As::Caller);
    oci.set_args(&["sleep", "60"]);
    oci.edit(|c| c["process"]["user"]["gid"] = json!(7));
    let (id, _, _) = oci.run_detached("exec-user");
    let ids = |user: &str| {
        let out = oci.cmd(&["exec", "--user", user, &id, "sh", "-c", "echo $(id -u):$(id -g)"]);
        out.ok();
        out.stdout.trim().to_owned()
    };
    assert_eq!(ids("1000"), "1000:7");
    assert_eq!(ids("1000:1001"), "1000:1001");
    oci.cmd(&["kill", &id, "0"]).ok();
    assert_eq!(oci.status(&id), "running");
    // The other flags engines and people pass to exec.
    let out = oci.cmd(&[
        "exec",
        "--env",
        "FROM_EXEC=yes",
        "--cwd",
        "/tmp",
        "--no-new-privs",
        &id,
        "sh",
        "-c",
        "echo $FROM_EXEC; pwd; grep NoNewPrivs /proc/self/status",
    ]);
    out.ok();
    assert_eq!(out.stdout, "yes\n/tmp\nNoNewPrivs:\t1\n", "{out}");
}

/// A foreground `exec` passes SIGTERM on to its process.
#[test]
fn a_foreground_exec_passes_signals_on() {
    struct KillOnDrop(std::process::Child);
    impl Drop for KillOnDrop {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let oci = Oci::with_spec(As::Caller);
    oci.set_args(&["sleep", "60"]);
    let id = oci.id("exec-signal");
    oci.cmd(&["run", "-d", "--bundle", &oci.bundle_arg(), &id]).ok();
    let pid_file = oci.file("exec-signal.pid");
    let mut exec = KillOnDrop(
        Command::new(runtime_bin(As::Caller))
            .args([
                "--root",
                &oci.root_arg(),
                "exec",
                "--pid-file",
                &pid_file,
                &id,
                "sleep",
                "30",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    let sleeper = loop {
        if let Some(pid) = std::fs::read_to_string(&pid_file)
            .ok()
            .and_then(|s| s.trim().parse::<i32>().ok())
        {
            break pid;
        }
        assert!(Instant::now() < deadline, "exec wrote no pid file");
        std::thread::sleep(Duration::from_millis(10));
    };
    oci.track(sleeper);
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(exec.0.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let status = loop {
        if let Some(status) = exec.0.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "exec did not end after SIGTERM");
        std::thread::sleep(Duration::from_millis(10));
    };
    assert_eq!(status.code(), Some(143), "{status:?}");
    wait_gone(sleeper, "after SIGTERM to exec");
    oci.cmd(&["delete", "--force", &id]).ok();
}

/// A slow create holds only its own container: others go on meanwhile.
#[test]
fn a_slow_create_does_not_block_other_containers() {
    let slow = Oci::with_spec(As::Caller);
    slow.set_args(&["true"]);
    slow.edit(|c| c["hooks"] = json!({"createRuntime": [{"path": "/bin/sleep", "args": ["sleep", "3"]}]}));
    let slow_id = slow.id("slow-create");
    let mut creating = Command::new(runtime_bin(As::Caller))
        .args([
            "--root",
            &slow.root_arg(),
            "create",
            "--bundle",
            &slow.bundle_arg(),
            &slow_id,
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    // Another container in the same state root.
    let started = Instant::now();
    let other = oci_in_same_root(&slow);
    other.set_args(&["sh", "-c", "exit 5"]);
    let out = other.run("while-slow");
    let took = started.elapsed();
    let _ = creating.wait();
    slow.cmd(&["delete", "--force", &slow_id]).ok();
    assert_eq!(out.code, Some(5), "{out}");
    assert!(
        took < Duration::from_secs(2),
        "waited {took:?} for another container's create"
    );
}

/// A second bundle whose commands use `oci`'s state root.
fn oci_in_same_root(oci: &Oci) -> Oci {
    let other = Oci::with_spec(As::Caller);
    other.root_override.replace(Some(oci.root_arg()));
    other
}

/// The runtime's own code inside a container (here: a container waiting
/// for `start`) runs from a sealed in-memory copy, so `/proc/1/exe` cannot
/// lead to the binary on the host (CVE-2019-5736).
#[test]
fn a_waiting_container_runs_from_a_sealed_copy() {
    let oci = Oci::with_spec(As::Caller);
    oci.set_args(&["sleep", "60"]);
    let id = oci.id("sealed");
    oci.cmd(&["create", "--bundle", &oci.bundle_arg(), &id]).ok();
    let out = oci.cmd(&["exec", &id, "sh", "-c", "readlink /proc/1/exe"]);
    out.ok();
    // burrow shows its sealed memfd, runc hides the link: neither names the
    // runtime's binary on disk.
    let target = out.stdout.trim();
    assert!(!target.ends_with(&format!("/{}", runtime_name())), "{out}");
    assert!(!target.is_empty(), "{out}");
    oci.cmd(&["delete", "--force", &id]).ok();
}

/// Bind options set flags and clear those the source has (`suid`, `dev`,
/// `exec`), `ro` covers the top mount only and `rro` the whole tree. The
/// runtime runs in a mount namespace of the test's own in which the source
/// is a tmpfs mounted nosuid,nodev,noexec with another tmpfs under it.
#[test]
fn bind_options_set_and_clear_flags() {
    let oci = Oci::with_spec(As::Caller);
    let src = oci.path().join("src");
    std::fs::create_dir(&src).unwrap();
    let targets = ["/plain", "/cleared", "/top-ro", "/all-ro"];
    let options = [
        json!(["rbind"]),
        json!(["rbind", "suid", "dev", "exec"]),
        json!(["rbind", "ro"]),
        json!(["rbind", "rro"]),
    ];
    oci.edit(|c| {
        c["process"]["args"] = json!(["cat", "/proc/self/mounts"]);
        for (target, opts) in targets.iter().zip(options) {
            append(
                &mut c["mounts"],
                json!({"destination": target, "type": "bind", "source": src, "options": opts}),
            );
        }
    });
    let id = oci.id("bind-options");
    let args: Vec<String> = ["--root", &oci.root_arg(), "run", "--bundle", &oci.bundle_arg(), &id]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let c = |s: &Path| std::ffi::CString::new(s.as_os_str().as_encoded_bytes()).unwrap();
    let (src_c, sub_c) = (c(&src), c(&src.join("sub")));
    let out = oci.exec(&args, |cmd| {
        // SAFETY: between fork and exec this only makes raw system calls on
        // strings allocated before the fork; it changes a mount namespace
        // that the child has just made its own, never the host's.
        unsafe {
            cmd.pre_exec(move || {
                let tmpfs = c"tmpfs".as_ptr();
                let fail = |ret: libc::c_int| {
                    if ret == 0 {
                        Ok(())
                    } else {
                        Err(std::io::Error::last_os_error())
                    }
                };
                fail(libc::unshare(libc::CLONE_NEWNS))?;
                let private = libc::MS_REC | libc::MS_PRIVATE;
                fail(libc::mount(
                    std::ptr::null(),
                    c"/".as_ptr(),
                    std::ptr::null(),
                    private,
                    std::ptr::null(),
                ))?;
                let flags = libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC;
                fail(libc::mount(tmpfs, src_c.as_ptr(), tmpfs, flags, std::ptr::null()))?;
                fail(libc::mkdir(sub_c.as_ptr(), 0o755))?;
                fail(libc::mount(tmpfs, sub_c.as_ptr(), tmpfs, 0, std::ptr::null()))
            })
        };
    });
    out.ok();
    let has = |target: &str, flag: &str| mount_options(&out.stdout, target).contains(&flag);
    for flag in ["nosuid", "nodev", "noexec"] {
        assert!(has("/plain", flag), "a plain bind keeps {flag}: {out}");
        assert!(!has("/cleared", flag), "{flag} is cleared: {out}");
    }
    assert!(
        has("/top-ro", "ro") && has("/top-ro/sub", "rw"),
        "ro is for the top: {out}"
    );
    assert!(
        has("/all-ro", "ro") && has("/all-ro/sub", "ro"),
        "rro is recursive: {out}"
    );
}

/// `linux.personality` reaches the payload: with LINUX32, `uname -m` says
/// a 32-bit machine.
#[test]
fn the_personality_is_set() {
    let oci = Oci::with_spec(As::Caller);
    oci.set_args(&["uname", "-m"]);
    oci.edit(|c| c["linux"]["personality"] = json!({"domain": "LINUX32"}));
    let out = oci.run("personality");
    out.ok();
    assert_eq!(out.stdout, "i686\n", "{out}");
}

/// `linux.timeOffsets` move the clocks of a new time namespace: a year of
/// boot time shows in `/proc/uptime`, and the host's clocks do not move.
#[test]
fn time_offsets_move_the_clocks() {
    let oci = Oci::with_spec(As::Caller);
    oci.set_args(&["cut", "-d.", "-f1", "/proc/uptime"]);
    let year = 365 * 24 * 3600;
    oci.edit(|c| {
        append(&mut c["linux"]["namespaces"], json!({"type": "time"}));
        c["linux"]["timeOffsets"] = json!({"boottime": {"secs": year, "nanosecs": 0}});
    });
    let out = oci.run("time-offsets");
    out.ok();
    let uptime: u64 = out.stdout.trim().parse().unwrap_or_else(|e| panic!("{e}: {out}"));
    assert!(uptime >= year, "boot time is a year on: {out}");
    let host = std::fs::read_to_string("/proc/uptime").unwrap();
    let host: f64 = host.split(' ').next().unwrap().parse().unwrap();
    assert!(host < year as f64, "the host's clock stays: {host}");
}

/// The namespaces of `config` with those of `joins` (type, path) joined by
/// path instead of created.
fn join_namespaces(c: &mut Value, joins: &[(&str, String)]) {
    let list: Vec<Value> = c["linux"]["namespaces"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| !joins.iter().any(|(kind, _)| n["type"] == *kind))
        .cloned()
        .chain(joins.iter().map(|(kind, path)| json!({"type": kind, "path": path})))
        .collect();
    c["linux"]["namespaces"] = json!(list);
}

/// Containers join a running one's namespaces by path, as the containers
/// of a pod do: its pid namespace (they see its processes; `kill --all` of
/// the joiner spares them), and, from a new user namespace of their own,
/// its net, ipc and uts namespaces.
#[test]
fn namespaces_are_joined_by_path() {
    let pod = Oci::with_spec(As::Caller);
    pod.set_args(&["sleep", "60"]);
    pod.edit(|c| c["hostname"] = json!("the-pod"));
    let (pod_id, pod_pid, _) = pod.run_detached("pod");
    let ns = |kind: &str| format!("/proc/{pod_pid}/ns/{kind}");
    let link = |kind: &str| std::fs::read_link(ns(kind)).unwrap().to_str().unwrap().to_owned();

    let member = Oci::with_spec(As::Caller);
    member.set_args(&[
        "sh",
        "-c",
        "readlink /proc/self/ns/pid; cat /proc/1/cmdline; echo; sleep 60",
    ]);
    member.edit(|c| join_namespaces(c, &[("pid", ns("pid"))]));
    let (member_id, member_pid, started) = member.run_detached("member");
    let seen = started.stdout_until(|o| o.lines().count() >= 2);
    assert_eq!(seen.lines().next(), Some(link("pid").as_str()), "{seen}");
    assert!(
        seen.lines().nth(1).unwrap().starts_with("sleep"),
        "pid 1 is the pod's: {seen}"
    );
    member.cmd(&["kill", "--all", &member_id, "KILL"]).ok();
    wait_gone(member_pid, "kill --all");
    assert!(!is_gone(pod_pid), "kill --all of a member spared the pod");

    let userns = Oci::with_spec(As::Caller);
    userns.set_args(&[
        "sh",
        "-c",
        "for n in net ipc uts; do readlink /proc/self/ns/$n; done; hostname; grep ' /sys ' /proc/mounts",
    ]);
    userns.edit(|c| {
        append(&mut c["linux"]["namespaces"], json!({"type": "user"}));
        c["linux"]["uidMappings"] = json!([{"containerID": 0, "hostID": 100000, "size": 65536}]);
        c["linux"]["gidMappings"] = json!([{"containerID": 0, "hostID": 100000, "size": 65536}]);
        join_namespaces(c, &[("network", ns("net")), ("ipc", ns("ipc")), ("uts", ns("uts"))]);
        c["hostname"] = Value::Null;
        // A user namespace that does not own the ipc and net namespaces
        // cannot mount their mqueue and sysfs: bind the host's /sys.
        let mounts: Vec<Value> = c["mounts"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["type"] != "mqueue")
            .map(|m| match m["type"].as_str() {
                Some("sysfs") => json!({"destination": "/sys", "type": "bind", "source": "/sys",
                                        "options": ["rbind", "nosuid", "nodev", "noexec", "ro"]}),
                _ => m.clone(),
            })
            .collect();
        c["mounts"] = json!(mounts);
    });
    let out = userns.run("userns-member");
    out.ok();
    assert_eq!(
        first_lines(&out, 4),
        [link("net"), link("ipc"), link("uts"), "the-pod".into()],
        "{out}"
    );
    assert_eq!(mount_options(&out.stdout, "/sys")[0], "ro", "{out}");

    // A hostname set in a joined uts namespace is that namespace's.
    let renamer = Oci::with_spec(As::Caller);
    renamer.set_args(&["hostname"]);
    renamer.edit(|c| {
        join_namespaces(c, &[("uts", ns("uts"))]);
        c["hostname"] = json!("renamed");
    });
    let out = renamer.run("renamer");
    out.ok();
    assert_eq!(out.stdout, "renamed\n", "{out}");
    let seen = pod.cmd(&["exec", &pod_id, "hostname"]);
    seen.ok();
    assert_eq!(seen.stdout, "renamed\n", "{seen}");
}

/// A profile that allows everything but `mkdir`/`mkdirat`, which get
/// `action` (with errno 13 for SCMP_ACT_ERRNO).
fn mkdir_profile(action: &str) -> Value {
    json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
        "syscalls": [{"names": ["mkdir", "mkdirat"], "action": action, "errnoRet": 13}]
    })
}

/// `linux.seccomp` filters the container's syscalls, and those of a
/// process `exec` starts in it.
#[test]
fn seccomp_filters_the_container_and_exec() {
    let oci = Oci::with_spec(As::Caller);
    oci.set_args(&["sh", "-c", "mkdir /tmp/a 2>&1; echo status=$?; sleep 60"]);
    oci.edit(|c| c["linux"]["seccomp"] = mkdir_profile("SCMP_ACT_ERRNO"));
    let (id, _, started) = oci.run_detached("seccomp");
    let seen = started.stdout_until(|o| o.contains("status="));
    assert!(
        seen.contains("Permission denied") && seen.contains("status=1"),
        "{seen}"
    );
    let exec = oci.cmd(&["exec", &id, "mkdir", "/tmp/b"]);
    assert_eq!(exec.code, Some(1), "{exec}");
    assert!(exec.stderr.contains("Permission denied"), "{exec}");
    oci.cmd(&["exec", &id, "ls", "/"]).ok();
}

/// A profile that refuses `getcwd` (the conformance suite's) still lets
/// the container start: the runtime's own check of the working directory
/// does not depend on what the filter allows. (Without no_new_privs the
/// filter goes in before the user switch, with the capabilities.)
#[test]
fn a_profile_refusing_getcwd_still_starts() {
    let oci = Oci::with_spec(As::Caller);
    oci.set_args(&["echo", "started"]);
    oci.edit(|c| {
        c["process"]["noNewPrivileges"] = json!(false);
        c["linux"]["seccomp"] = json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
            "syscalls": [{"names": ["getcwd"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]
        })
    });
    let out = oci.run("getcwd");
    assert_eq!((out.code, out.stdout.as_str()), (Some(0), "started\n"), "{out}");
}

/// With SCMP_ACT_NOTIFY the listener goes to `listenerPath` with the
/// container's state, and the agent there decides the syscall's outcome.
#[test]
fn seccomp_notifications_reach_the_agent() {
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
    let oci = Oci::with_spec(As::Caller);
    let socket = oci.path().join("agent.sock");
    let agent = std::os::unix::net::UnixListener::bind(&socket).unwrap();
    oci.set_args(&["sh", "-c", "mkdir /tmp/a 2>&1; echo status=$?"]);
    oci.edit(|c| {
        let mut profile = mkdir_profile("SCMP_ACT_NOTIFY");
        profile["listenerPath"] = json!(socket);
        profile["listenerMetadata"] = json!("from-the-test");
        c["linux"]["seccomp"] = profile;
    });
    // The agent: take the listener, answer one notification with EROFS.
    let answered = std::thread::spawn(move || -> Result<Value, String> {
        let (conn, _) = agent.accept().map_err(|e| e.to_string())?;
        let mut body = vec![0u8; 65536];
        let mut iov = [std::io::IoSliceMut::new(&mut body)];
        let mut space = nix::cmsg_space!([std::os::fd::RawFd; 1]);
        let msg = nix::sys::socket::recvmsg::<()>(
            conn.as_raw_fd(),
            &mut iov,
            Some(&mut space),
            nix::sys::socket::MsgFlags::empty(),
        )
        .map_err(|e| e.to_string())?;
        let len = msg.bytes;
        let fd = msg
            .cmsgs()
            .map_err(|e| e.to_string())?
            .find_map(|c| match c {
                nix::sys::socket::ControlMessageOwned::ScmRights(fds) => fds.first().copied(),
                _ => None,
            })
            .ok_or("no fd")?;
        // SAFETY: the fd just arrived with SCM_RIGHTS and is ours alone.
        let listener = unsafe { OwnedFd::from_raw_fd(fd) };
        let state: Value = serde_json::from_slice(&body[..len]).map_err(|e| e.to_string())?;
        let mut notif = [0u64; 10]; // struct seccomp_notif (80 bytes)
                                    // SAFETY: the buffer has the size and alignment of seccomp_notif.
        if unsafe { libc::ioctl(listener.as_raw_fd(), 0xc050_2100, notif.as_mut_ptr()) } != 0 {
            return Err(format!("NOTIF_RECV: {}", std::io::Error::last_os_error()));
        }
        // struct seccomp_notif_resp: id, val, error, flags.
        let mut resp = [notif[0], 0, (-libc::EROFS) as u32 as u64];
        // SAFETY: the buffer has the size and alignment of seccomp_notif_resp.
        if unsafe { libc::ioctl(listener.as_raw_fd(), 0xc018_2101, resp.as_mut_ptr()) } != 0 {
            return Err(format!("NOTIF_SEND: {}", std::io::Error::last_os_error()));
        }
        Ok(state)
    });
    let out = oci.run("seccomp-notify");
    out.ok();
    assert!(
        out.stdout.contains("Read-only file system") && out.stdout.contains("status=1"),
        "{out}"
    );
    let state = answered.join().unwrap().unwrap();
    assert_eq!(state["fds"], json!(["seccompFd"]), "{state}");
    assert_eq!(state["metadata"], "from-the-test", "{state}");
    assert!(state["pid"].as_i64().is_some_and(|p| p > 0), "{state}");
    assert!(
        state["state"]["id"]
            .as_str()
            .is_some_and(|id| id.starts_with("seccomp-notify")),
        "{state}"
    );
}

/// A config whose ociVersion is not 1.x is refused by name.
#[test]
fn an_unknown_oci_version_is_refused() {
    let oci = Oci::with_spec(As::Caller);
    oci.edit(|c| c["ociVersion"] = json!("invalid"));
    let id = oci.id("bad-version");
    let out = oci.cmd(&["create", "--bundle", &oci.bundle_arg(), &id]);
    out.refused(&["ociVersion"]);
    oci.assert_gone(&id);
}

// ---------------------------------------------------------------------------
// CVE-2019-5736: overwriting the runtime through /proc/PID/exe

/// The CVE-2019-5736 watcher (see [`common::watch_and_overwrite`]), run
/// inside containers by `the_runtime_binary_cannot_be_overwritten_from_inside`.
#[test]
#[ignore = "run inside containers by the_runtime_binary_cannot_be_overwritten_from_inside"]
fn watcher_inside_the_container() {
    common::watcher_main();
}

/// Make `oci`'s rootfs hostile: /bin/sh is a `#!/proc/self/exe` script,
/// so the runtime's own code comes to run in the container whenever the
/// runtime executes /bin/sh there; the host's /usr (for the watcher's
/// libraries), the watcher itself and `out` are bound in.
fn hostile_bundle(oci: &Oci, out: &Path) {
    let rootfs = oci.rootfs();
    std::fs::remove_file(rootfs.join("bin/sh")).unwrap();
    std::fs::write(rootfs.join("bin/sh"), "#!/proc/self/exe\n").unwrap();
    std::fs::set_permissions(rootfs.join("bin/sh"), PermissionsExt::from_mode(0o755)).unwrap();
    for (link, target) in [("lib", "usr/lib"), ("lib64", "usr/lib64")] {
        std::os::unix::fs::symlink(target, rootfs.join(link)).unwrap();
    }
    // The mount points, made here: root in a user namespace could not.
    std::fs::create_dir(rootfs.join("usr")).unwrap();
    std::fs::create_dir(rootfs.join("out")).unwrap();
    std::fs::write(rootfs.join("watcher"), "").unwrap();
    let mut watcher = std::env::current_exe().unwrap();
    if through_runuser(oci.who) {
        // The test user may not reach the checkout: bind a copy it can.
        let copy = oci.path().join("watcher");
        common::link_or_copy_executable(&watcher, &copy);
        watcher = copy;
    }
    oci.edit(|c| {
        c["process"]["env"] = json!(["PATH=/bin", "BURROW_WATCHER_REPORT=/out/report"]);
        for (src, dst, opts) in [
            (PathBuf::from("/usr"), "/usr", json!(["rbind", "ro"])),
            (watcher, "/watcher", json!(["bind", "ro"])),
            (out.to_owned(), "/out", json!(["bind"])),
        ] {
            append(
                &mut c["mounts"],
                json!({"destination": dst, "type": "bind", "source": src, "options": opts}),
            );
        }
    });
}

/// A hostile container makes the runtime run its own code inside it (see
/// [`hostile_bundle`]) while a watcher there holds what that process runs
/// and tries to rewrite it once it exits (CVE-2019-5736): through `exec`
/// into a running container, and through `create`/`start` of a container
/// that joins its pid namespace (as a pod's containers do). The runtime
/// binary, a copy the test compares, never changes.
#[test]
fn the_runtime_binary_cannot_be_overwritten_from_inside() {
    let pod = Oci::with_spec(As::Caller);
    // The runtime under test, as a copy this test may lose.
    let runtime = pod.path().join("runtime");
    common::copy_executable(&runtime_bin(As::Caller), &runtime);
    std::fs::set_permissions(&runtime, PermissionsExt::from_mode(0o755)).unwrap();
    let before = std::fs::read(&runtime).unwrap();
    let out = pod.path().join("out");
    std::fs::create_dir(&out).unwrap();
    hostile_bundle(&pod, &out);
    pod.set_args(&["sleep", "60"]);
    *pod.bin_override.borrow_mut() = Some(runtime.clone());
    let (pod_id, pod_pid, _) = pod.run_detached("cve-2019-5736");

    let watch = || {
        let _ = std::fs::remove_file(out.join("report"));
        pod.cmd(&[
            "exec",
            "-d",
            &pod_id,
            "/watcher",
            "--ignored",
            "--exact",
            "watcher_inside_the_container",
        ])
        .ok();
        let deadline = Instant::now() + POLL_DEADLINE;
        while !out.join("report").exists() {
            assert!(Instant::now() < deadline, "the watcher did not start");
            std::thread::sleep(Duration::from_millis(10));
        }
    };
    let report = |what: &str| {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let text = std::fs::read_to_string(out.join("report")).unwrap_or_default();
            if text.contains("overwritten") || text.contains("refused") || text.contains("nothing") {
                assert!(
                    text.starts_with("caught"),
                    "{what}: the attack must have been tried: {text}"
                );
                assert!(text.contains("refused"), "{what}: {text}");
                assert!(
                    std::fs::read(&runtime).unwrap() == before,
                    "{what}: the runtime binary changed: {text}"
                );
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{what}: the watcher did not report: {text:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    };

    // exec: the runtime executes /bin/sh in the running container.
    watch();
    // The runtime's process there lives for a moment only: try until the
    // watcher has caught one.
    for _ in 0..50 {
        let _ = pod.cmd(&["exec", &pod_id, "/bin/sh"]);
        std::thread::sleep(Duration::from_millis(20));
        if std::fs::read_to_string(out.join("report")).is_ok_and(|t| t.starts_with("caught")) {
            break;
        }
    }
    report("exec");

    // create/start: a member of the pod waits at its start gate in the
    // pod's pid namespace, then executes /bin/sh.
    let member = Oci::with_spec(As::Caller);
    hostile_bundle(&member, &out);
    member.edit(|c| {
        c["process"]["args"] = json!(["/bin/sh"]);
        join_namespaces(c, &[("pid", format!("/proc/{pod_pid}/ns/pid"))]);
    });
    *member.bin_override.borrow_mut() = Some(runtime.clone());
    watch();
    // A runtime whose waiting process is hidden (runc's is not dumpable)
    // shows itself only for a moment after start: try until caught.
    for i in 0..20 {
        let member_id = member.id(&format!("cve-2019-5736-member{i}"));
        member
            .cmd(&["create", "--bundle", &member.bundle_arg(), &member_id])
            .ok();
        std::thread::sleep(Duration::from_millis(100));
        let _ = member.cmd(&["start", &member_id]);
        std::thread::sleep(Duration::from_millis(50));
        if std::fs::read_to_string(out.join("report")).is_ok_and(|t| t.starts_with("caught")) {
            break;
        }
        let _ = member.cmd(&["delete", "--force", &member_id]);
    }
    report("create/start");

    // A foreground run of a hostile bundle with a pid namespace of its own
    // (which burrow runs without the sealed copy): nothing else of the
    // container exists while burrow's code does, and the binary is busy
    // (this run waits) for as long as the container lives.
    let lone = Oci::with_spec(As::Caller);
    hostile_bundle(&lone, &out);
    lone.set_args(&["/bin/sh"]);
    *lone.bin_override.borrow_mut() = Some(runtime.clone());
    let _ = lone.run("cve-2019-5736-run");
    assert!(
        std::fs::read(&runtime).unwrap() == before,
        "foreground run: the runtime binary changed"
    );
}

/// A failing poststart or poststop hook is a warning: the hooks after it
/// still run, and so does the container (runtime-spec "Lifecycle").
#[test]
fn hooks_after_a_failing_warning_hook_still_run() {
    let oci = Oci::with_spec(As::Caller);
    let out = oci.path().join("hooks-out");
    std::fs::create_dir(&out).unwrap();
    let o = out.to_str().unwrap().to_owned();
    oci.set_args(&["true"]);
    let fail = json!({"path": "/bin/sh", "args": ["sh", "-c", "exit 3"]});
    let touch = |name: &str| json!({"path": "/bin/sh", "args": ["sh", "-c", format!("cat > {o}/{name}")]});
    oci.edit(|c| {
        c["hooks"] = json!({
            "poststart": [fail.clone(), touch("poststart")],
            "poststop": [fail, touch("poststop")],
        });
    });
    let log = oci.file("hooks.log");
    let id = oci.id("warning-hooks");
    let run = oci.cmd(&[
        "--log",
        &log,
        "--log-format",
        "json",
        "run",
        "--bundle",
        &oci.bundle_arg(),
        &id,
    ]);
    run.ok();
    assert!(out.join("poststart").exists(), "{run}");
    assert!(out.join("poststop").exists(), "{run}");
    assert!(
        run.stderr.contains("poststart") && run.stderr.contains("poststop"),
        "{run}"
    );
    // The warnings reach the log an engine reads, as warnings.
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    let warned: Vec<String> = text
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|l| l["level"] == "warning")
        .filter_map(|l| l["msg"].as_str().map(str::to_owned))
        .collect();
    for stage in ["poststart", "poststop"] {
        assert!(warned.iter().any(|m| m.contains(stage)), "{stage} in {text:?}");
    }
}

/// A hostname for a joined namespace that is the runtime's own (the
/// host's) is refused: setting it would rename the host.
#[test]
fn a_hostname_in_a_joined_host_namespace_is_refused() {
    let oci = Oci::with_spec(As::Caller);
    oci.set_args(&["true"]);
    oci.edit(|c| {
        join_namespaces(c, &[("uts", "/proc/self/ns/uts".into())]);
        c["hostname"] = json!("not-the-host");
    });
    let before = nix::unistd::gethostname().unwrap();
    oci.run("host-uts").refused(&["hostname"]);
    assert_eq!(nix::unistd::gethostname().unwrap(), before);
}

/// `linux.rootfsPropagation` shared and unbindable show on the
/// container's root.
#[test]
fn root_propagation_shared_and_unbindable() {
    for (propagation, tag) in [("rshared", "shared:"), ("unbindable", "unbindable")] {
        let oci = Oci::with_spec(As::Caller);
        oci.set_args(&["cat", "/proc/self/mountinfo"]);
        oci.edit(|c| c["linux"]["rootfsPropagation"] = json!(propagation));
        let out = oci.run("propagation");
        out.ok();
        let root = out.stdout.lines().find(|l| l.split(' ').nth(4) == Some("/"));
        assert!(root.is_some_and(|l| l.contains(tag)), "{propagation}: {out}");
    }
}

// ---------------------------------------------------------------------------
// Escapes: each test attacks one known class

/// A payload that says whether its working directory is inside the
/// container's root: `..` from anywhere inside ends at `/`, from a
/// directory outside (a leaked host fd's) it ends at the host's `/`.
const CWD_INSIDE: &str = "a=$(stat -c %d:%i ../../../../../../../../../../../../../../../..); \
    b=$(stat -c %d:%i /); if [ \"$a\" = \"$b\" ]; then echo inside; else echo \"outside $a $b\"; ls; fi";

/// The outcome of [`CWD_INSIDE`] with a working directory the runtime was
/// asked for: refused by the runtime (the payload never ran), or inside.
fn assert_cwd_inside(what: &str, out: &Out) {
    match out.code {
        Some(0) => assert_eq!(out.stdout, "inside\n", "{what}: {out}"),
        _ => assert!(
            out.stdout.is_empty(),
            "{what} must be refused by the runtime, before the payload: {out}"
        ),
    }
}

/// The fds `pid` holds, in order.
fn open_fds(pid: i32) -> Vec<i32> {
    let mut fds: Vec<i32> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect();
    fds.sort_unstable();
    fds
}

/// `RUNTIME --root ROOT ARGS` with fds 3 and 4 of the runtime open on two
/// files (for `--preserve-fds`, or for the runtime to leak).
fn with_spare_fds(oci: &Oci, args: &[&str]) -> Out {
    let mut full = vec!["--root".to_owned(), oci.root_arg()];
    full.extend(args.iter().map(|a| a.to_string()));
    let spare = [
        std::fs::File::open("/dev/null").unwrap(),
        std::fs::File::open("/dev/zero").unwrap(),
    ];
    let raw: Vec<i32> = spare.iter().map(std::os::fd::AsRawFd::as_raw_fd).collect();
    oci.exec(&full, |cmd| {
        // SAFETY: dup2 of fds this process owns, between fork and exec.
        unsafe {
            cmd.pre_exec(move || {
                for (target, fd) in [3, 4].iter().zip(&raw) {
                    if libc::dup2(*fd, *target) < 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                }
                Ok(())
            })
        };
    })
}

/// CVE-2024-21626: a working directory through a runtime's leaked fd
/// (`/proc/self/fd/N`) would lie outside the root, for the container's
/// process (`run`) and for one that `exec` starts in it. Every one is
/// refused, or lands inside; and the container's process, or exec's, holds
/// no fd but 0, 1, 2 and those it was given with `--preserve-fds`.
#[test]
fn no_leaked_fd_leads_out_of_the_root() {
    let oci = Oci::with_spec(As::Caller);
    oci.set_args(&["sh", "-c", CWD_INSIDE]);
    for n in 3..64 {
        oci.edit(|c| c["process"]["cwd"] = json!(format!("/proc/self/fd/{n}")));
        let out = oci.run(&format!("cwd-{n}"));
        assert_cwd_inside(&format!("cwd {n}"), &out);
    }
    oci.edit(|c| c["process"]["cwd"] = json!("/"));
    oci.set_args(&["sleep", "60"]);
    for (preserve, expected) in [(0, vec![0, 1, 2]), (2, vec![0, 1, 2, 3, 4])] {
        let id = oci.id(&format!("fds-{preserve}"));
        let pid_file = oci.file(&format!("fds-{preserve}.pid"));
        let preserve_arg = preserve.to_string();
        with_spare_fds(
            &oci,
            &[
                "create",
                "--bundle",
                &oci.bundle_arg(),
                "--pid-file",
                &pid_file,
                "--preserve-fds",
                &preserve_arg,
                &id,
            ],
        )
        .ok();
        let pid = oci.pid_from_file(&pid_file, &id);
        oci.cmd(&["start", &id]).ok();
        wait_exec(pid, "sleep");
        assert_eq!(open_fds(pid), expected, "--preserve-fds {preserve}");
        oci.cmd(&["delete", "--force", &id]).ok();
    }

    // exec into a running container: the runtime joins it holding fds of
    // its own (on this host, cgroup directories).
    let (id, _, _) = oci.run_detached("exec-into");
    for n in 3..64 {
        let cwd = format!("/proc/self/fd/{n}");
        let out = oci.cmd(&["exec", "--cwd", &cwd, &id, "sh", "-c", CWD_INSIDE]);
        assert_cwd_inside(&format!("exec --cwd {cwd}"), &out);
    }
    for (preserve, expected) in [(0, vec![0, 1, 2]), (2, vec![0, 1, 2, 3, 4])] {
        let pid_file = oci.file(&format!("exec-fds-{preserve}.pid"));
        let preserve_arg = preserve.to_string();
        let out = with_spare_fds(
            &oci,
            &[
                "exec",
                "-d",
                "--pid-file",
                &pid_file,
                "--preserve-fds",
                &preserve_arg,
                &id,
                "sleep",
                "60",
            ],
        );
        out.ok();
        let text = std::fs::read_to_string(&pid_file).unwrap_or_else(|e| panic!("{pid_file}: {e}: {out}"));
        let pid: i32 = text.trim().parse().unwrap_or_else(|e| panic!("{text:?}: {e}"));
        oci.track(pid);
        wait_exec(pid, "sleep");
        assert_eq!(open_fds(pid), expected, "exec --preserve-fds {preserve}");
        let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGKILL);
    }
}

/// A mount target that resolves to the root itself (a rootfs link such as
/// `data -> /`) is refused: the mount would replace the whole root. A
/// target made fresh beside others (the cgroup tree's directories, `/dev`'s)
/// is not looked at again, so this also checks that a link met on the way
/// is still looked at.
#[test]
fn a_mount_over_the_root_itself_is_refused() {
    for (link, to) in [("data", "/"), ("here", "."), ("up", "dev/..")] {
        let oci = Oci::with_spec(As::Caller);
        oci.set_args(&["true"]);
        std::os::unix::fs::symlink(to, oci.rootfs().join(link)).unwrap();
        oci.edit(|c| {
            append(
                &mut c["mounts"],
                json!({"destination": format!("/{link}"), "type": "tmpfs", "source": "tmpfs", "options": []}),
            );
        });
        let out = oci.run(&format!("over-root-{link}"));
        assert_ne!(out.code, Some(0), "/{link} -> {to}: {out}");
        // (runc refuses too, with another message.)
        if runtime_name() == "burrow" {
            assert!(
                out.stderr.contains("refusing to mount over the root itself"),
                "/{link} -> {to}: {out}"
            );
        }
    }
}

/// CVE-2021-30465 / CVE-2024-45310: while containers are created with a
/// mount under a volume, the volume's directory keeps turning into a
/// symlink to a host directory. Every other run mounts onto `target`,
/// which exists in the host directory, or `fresh`, which does not. Nothing
/// is ever created there, and every container that starts sees its tmpfs
/// inside its root: a mount that followed the link would have gone onto
/// the host directory (in the container's mount namespace, so only the
/// container can tell: its tmpfs is missing).
#[test]
fn mount_targets_under_a_racing_symlink_stay_inside() {
    let oci = Oci::with_spec(As::Caller);
    let volume = oci.path().join("volume");
    let outside = oci.path().join("outside");
    std::fs::create_dir_all(volume.join("sub")).unwrap();
    // `target` exists on the host, `fresh` does not.
    std::fs::create_dir_all(outside.join("target")).unwrap();
    oci.set_args(&["cat", "/proc/self/mountinfo"]);
    // The volume, and a tmpfs at /vol/sub/NAME.
    let spec_mounts = oci.config()["mounts"].clone();
    let mount_under = |name: &str| {
        oci.edit(|c| {
            c["mounts"] = spec_mounts.clone();
            append(
                &mut c["mounts"],
                json!({"destination": "/vol", "type": "bind", "source": volume, "options": ["rbind"]}),
            );
            append(
                &mut c["mounts"],
                json!({"destination": format!("/vol/sub/{name}"), "type": "tmpfs", "source": "tmpfs", "options": []}),
            );
        })
    };
    // Where a tmpfs may show inside: on the volume's directory (which the
    // swapper renames between `sub` and `spare`), or, when `sub` was the
    // link as the target was resolved, below the link's target resolved
    // inside the root (so made there).
    let inside = |name: &str| {
        [
            format!("/vol/sub/{name}"),
            format!("/vol/spare/{name}"),
            format!("{}/{name}", outside.display()),
        ]
    };
    /// Stops and joins the swapper, also when an assertion fails (before
    /// the scratch directory goes).
    struct Swapper(
        std::sync::Arc<std::sync::atomic::AtomicBool>,
        Option<std::thread::JoinHandle<()>>,
    );
    impl Drop for Swapper {
        fn drop(&mut self) {
            self.0.store(true, std::sync::atomic::Ordering::Relaxed);
            if let Some(thread) = self.1.take() {
                let _ = thread.join();
            }
        }
    }
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let swapper = {
        let (stop, volume, outside) = (stop.clone(), volume.clone(), outside.clone());
        std::thread::spawn(move || {
            let (dir, link, spare) = (volume.join("sub"), volume.join("link"), volume.join("spare"));
            std::os::unix::fs::symlink(&outside, &link).unwrap();
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                // sub: directory → symlink to `outside` → directory …
                let _ = std::fs::rename(&dir, &spare);
                let _ = std::fs::rename(&link, &dir);
                std::thread::yield_now();
                let _ = std::fs::rename(&dir, &link);
                let _ = std::fs::rename(&spare, &dir);
            }
        })
    };
    let swapper = Swapper(stop, Some(swapper));
    let mut started = [0, 0];
    for i in 0..40 {
        let name = ["target", "fresh"][i % 2];
        mount_under(name);
        let out = oci.run(&format!("race-{i}"));
        if out.code != Some(0) {
            continue;
        }
        started[i % 2] += 1;
        // mountinfo: ID PARENT DEV ROOT MOUNTPOINT OPTIONS... - FSTYPE ...
        let tmpfs_at = |point: &str| {
            out.stdout.lines().any(|l| {
                l.split(' ').nth(4) == Some(point) && l.split(" - ").nth(1).is_some_and(|t| t.starts_with("tmpfs "))
            })
        };
        assert!(
            inside(name).iter().any(|p| tmpfs_at(p)),
            "run {i}: the tmpfs for /vol/sub/{name} is not inside the container: {out}"
        );
    }
    drop(swapper);
    assert!(
        started.iter().all(|&n| n > 0),
        "no container started (target, fresh): {started:?}: the race was never run"
    );
    let left: Vec<_> = std::fs::read_dir(&outside)
        .unwrap()
        .chain(std::fs::read_dir(outside.join("target")).unwrap())
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(left, [outside.join("target")], "created outside the root");
}

/// CVE-2019-16884 and kin: a rootfs whose /proc or /dev is a symlink to a
/// host directory (missing, or there), or whose /dev/null is a symlink to
/// a /proc/sys file that the runtime would then bind over masked paths.
/// The links are followed inside the root: the container gets a procfs at
/// its /proc and the null device at its /dev/null, the host directory
/// stays as it was, and the masks never expose that file. (As real root
/// the runtime makes the default device nodes with mknod, which leaves an
/// entry that is there alone: the /dev/null link stays, and masking meets
/// it.)
///
/// A runtime may as well refuse such links; burrow follows them inside
/// the root, so a run that fails here is a failure (runc is not run on
/// this test, see the top of this file).
#[test]
fn hostile_proc_dev_and_null_links_stay_inside() {
    let host_dir = Scratch::new();
    for link in ["proc", "dev"] {
        for there in [false, true] {
            let target = host_dir.0.join(link);
            if there {
                std::fs::create_dir(&target).unwrap();
                std::fs::write(target.join("kept"), "").unwrap();
            }
            let before = tree(&host_dir.0);
            let oci = Oci::with_spec(As::Caller);
            oci.set_args(&["sh", "-c", "stat -f -c %T /proc/; stat -c %F:%t:%T /dev/null"]);
            let path = oci.rootfs().join(link);
            std::fs::remove_dir(&path).unwrap();
            std::os::unix::fs::symlink(&target, &path).unwrap();
            let what = format!(
                "/{link} a link to a host directory that is {}",
                ["missing", "there"][usize::from(there)]
            );
            let out = oci.run(&format!("link-{link}-{there}"));
            assert_eq!(
                (out.code, out.stdout.as_str()),
                (Some(0), "proc\ncharacter special file:1:3\n"),
                "{what}: {out}"
            );
            assert_eq!(tree(&host_dir.0), before, "{what}: the host directory changed");
            let _ = std::fs::remove_dir_all(&target);
        }
    }

    // /dev from the rootfs itself (no tmpfs over it), /dev/null a link to
    // a writable-looking /proc/sys file, and a masked path.
    let oci = Oci::with_spec(As::Caller);
    std::os::unix::fs::symlink("/proc/sys/kernel/core_pattern", oci.rootfs().join("dev/null")).unwrap();
    oci.set_args(&["sh", "-c", "cat /proc/version; echo read"]);
    oci.edit(|c| {
        let mounts: Vec<Value> = c["mounts"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["destination"] != "/dev")
            .cloned()
            .collect();
        c["mounts"] = json!(mounts);
        c["linux"]["maskedPaths"] = json!(["/proc/version"]);
        c["linux"]["devices"] = json!([]);
    });
    /// Puts the host's core_pattern back, should the defence fail.
    struct Restore(String);
    impl Drop for Restore {
        fn drop(&mut self) {
            let path = "/proc/sys/kernel/core_pattern";
            if std::fs::read_to_string(path).ok().as_deref() != Some(self.0.as_str()) {
                let _ = std::fs::write(path, self.0.trim_end());
            }
        }
    }
    let core_pattern = std::fs::read_to_string("/proc/sys/kernel/core_pattern").unwrap();
    let _restore = Restore(core_pattern.clone());
    let out = oci.run("null-link");
    if out.code == Some(0) {
        assert!(
            !out.stdout.contains(core_pattern.trim()),
            "core_pattern shows through the mask: {out}"
        );
    } else {
        out.refused(&["/dev/null"]);
    }
    assert_eq!(
        std::fs::read_to_string("/proc/sys/kernel/core_pattern").unwrap(),
        core_pattern
    );
}

/// CVE-2022-29162: no inheritable capabilities unless configured, in the
/// container and in what exec starts there. The runtime itself starts
/// with CAP_SYS_ADMIN inheritable, as it might under an engine that has
/// one: a runtime that left the set as it found it would hand that on.
#[test]
fn nothing_is_inheritable_unless_configured() {
    const CAP_SYS_ADMIN: u64 = 1 << 21;
    let oci = Oci::with_spec(As::Caller);
    oci.inheritable.set(CAP_SYS_ADMIN);
    oci.set_args(&["sh", "-c", "grep CapInh /proc/self/status; sleep 60"]);
    // What the runtime starts with (checked on another program).
    let mut probe = Command::new("grep");
    probe.args(["CapInh", "/proc/self/status"]);
    // SAFETY: as in Oci::exec.
    unsafe { probe.pre_exec(|| raise_inheritable(CAP_SYS_ADMIN)) };
    let probe = String::from_utf8(probe.output().unwrap().stdout).unwrap();
    assert_eq!(cap_mask(&probe, "CapInh"), CAP_SYS_ADMIN, "{probe}");
    let (id, _, started) = oci.run_detached("capinh");
    let seen = started.stdout_until(|o| o.contains("CapInh"));
    assert_eq!(cap_mask(&seen, "CapInh"), 0, "{seen}");
    let exec = oci.cmd(&["exec", &id, "grep", "CapInh", "/proc/self/status"]);
    exec.ok();
    assert_eq!(cap_mask(&exec.stdout, "CapInh"), 0, "{exec}");
    let exec = oci.cmd(&[
        "exec",
        "--cap",
        "CAP_SYS_ADMIN",
        &id,
        "grep",
        "CapInh",
        "/proc/self/status",
    ]);
    exec.ok();
    assert_eq!(cap_mask(&exec.stdout, "CapInh"), 0, "{exec}");
}

/// Inside a container, as its pid 1: try to ptrace every other process
/// from the moment it appears (the pids it is about to get, as well as
/// those under /proc), again and again until it has exec'd busybox (or is
/// gone), and report any attach to a process that runs something other
/// than busybox (the runtime joining with `exec`). Reports to /out/report,
/// and how many processes it caught before they exec'd to /out/tried as
/// it goes. Run by `a_joining_process_cannot_be_ptraced`.
#[test]
#[ignore = "run inside containers by a_joining_process_cannot_be_ptraced"]
fn ptracer_inside_the_container() {
    use std::io::Write;
    let Some(report) = std::env::var_os("BURROW_WATCHER_REPORT") else {
        return;
    };
    let mut out = std::fs::File::create(report).unwrap();
    let own = std::process::id() as i32;
    let mut state = Ptracer {
        next: own + 1,
        ..Ptracer::default()
    };
    // Until the test says stop (however slow the machine), within reason.
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut round = 0u64;
    while Instant::now() < deadline && !Path::new("/out/stop").exists() {
        // Most rounds: the next pids of this namespace (a process that
        // joins is caught right after its fork) and those seen alive.
        for _ in 0..256 {
            let candidates: Vec<i32> = (state.next..state.next + 3)
                .chain(state.pending.iter().copied())
                .collect();
            for pid in candidates {
                state.attack(pid);
            }
        }
        // Then everything under /proc, in case pids went elsewhere.
        for entry in std::fs::read_dir("/proc").unwrap().flatten() {
            if let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() {
                if pid != own {
                    state.attack(pid);
                }
            }
        }
        // Reap what exits here (we are pid 1).
        while let Ok(status) = nix::sys::wait::waitpid(None, Some(nix::sys::wait::WaitPidFlag::WNOHANG)) {
            if status == nix::sys::wait::WaitStatus::StillAlive {
                break;
            }
        }
        round += 1;
        if round % 16 == 0 || state.tried.len() != state.told {
            // How far it got, for the test to read as it goes.
            state.told = state.tried.len();
            let _ = std::fs::write("/out/tried.new", state.told.to_string())
                .and_then(|()| std::fs::rename("/out/tried.new", "/out/tried"));
        }
    }
    writeln!(
        out,
        "attempts {} (of {} processes)",
        state.tried.len(),
        state.seen.len()
    )
    .unwrap();
    for a in &state.attached_runtime {
        writeln!(out, "attached {a}").unwrap();
    }
    writeln!(out, "done").unwrap();
}

/// What [`ptracer_inside_the_container`] knows.
#[derive(Default)]
struct Ptracer {
    /// The lowest pid not seen yet.
    next: i32,
    /// Seen alive, not exec'd yet.
    pending: BTreeSet<i32>,
    /// Every pid seen.
    seen: BTreeSet<i32>,
    /// Caught before its exec: refused (not dumpable), or attached.
    tried: BTreeSet<i32>,
    /// Done with: exec'd, gone, or attached.
    done: BTreeSet<i32>,
    /// How many tried it last told the test.
    told: usize,
    attached_runtime: Vec<String>,
}

impl Ptracer {
    fn attack(&mut self, pid: i32) {
        if self.done.contains(&pid) {
            return;
        }
        let target = nix::unistd::Pid::from_raw(pid);
        let null = std::ptr::null_mut::<libc::c_void>();
        // PTRACE_SEIZE, then PTRACE_INTERRUPT: unlike PTRACE_ATTACH it
        // sends no SIGSTOP, which could otherwise be left pending and stop
        // the process for good after we detach.
        // SAFETY: ptrace with a pid and null pointers; no memory of ours.
        let seized = unsafe { libc::ptrace(libc::PTRACE_SEIZE, pid, null, null) } == 0;
        let errno = nix::errno::Errno::last();
        if !seized && errno == nix::errno::Errno::ESRCH {
            return;
        }
        self.seen.insert(pid);
        self.next = self.next.max(pid + 1);
        if seized {
            self.done.insert(pid);
            self.pending.remove(&pid);
            // SAFETY: as above, for a process we have seized.
            let stopped = unsafe { libc::ptrace(libc::PTRACE_INTERRUPT, pid, null, null) } == 0
                && nix::sys::wait::waitpid(target, Some(nix::sys::wait::WaitPidFlag::__WALL))
                    .is_ok_and(|s| !matches!(s, nix::sys::wait::WaitStatus::Exited(..)));
            // Stopped, it can neither exec nor exit: what it runs now is
            // what we got hold of. (One that exited meanwhile was a
            // short-lived payload: nothing of burrow's is ever seizable.)
            match std::fs::read_link(format!("/proc/{pid}/exe")) {
                Ok(exe) if !exe.ends_with("busybox") => {
                    self.tried.insert(pid);
                    self.attached_runtime.push(format!("{pid}: {}", exe.display()));
                }
                Err(e) if stopped => {
                    self.tried.insert(pid);
                    self.attached_runtime.push(format!("{pid}: exe unreadable ({e})"));
                }
                _ => {}
            }
            // SAFETY: as above.
            unsafe { libc::ptrace(libc::PTRACE_DETACH, pid, null, null) };
            return;
        }
        // Refused: not dumpable (its exe is hidden too) while it runs the
        // runtime's code; or a zombie, or gone (no exe).
        match std::fs::read_link(format!("/proc/{pid}/exe")) {
            Err(e) if e.raw_os_error() == Some(libc::EACCES) || e.raw_os_error() == Some(libc::EPERM) => {
                self.tried.insert(pid);
                self.pending.insert(pid);
            }
            Ok(exe) if !exe.ends_with("busybox") => {
                self.pending.insert(pid);
            }
            _ => {
                self.done.insert(pid);
                self.pending.remove(&pid);
            }
        }
    }
}

/// CVE-2016-9962: the container's pid 1 tries to ptrace every process that
/// joins it with `exec`; it never gets hold of the runtime's. The container
/// has a user namespace in which pid 1 holds every capability, so only
/// the joining process's being non-dumpable stands in the way (without a
/// user namespace, or without CAP_SYS_PTRACE there, the kernel's capability
/// rules alone would refuse the attach).
fn a_joining_process_cannot_be_ptraced_as(who: As) {
    let oci = Oci::with_spec(who);
    let out = oci.path().join("out");
    std::fs::create_dir(&out).unwrap();
    // Whoever root in the container is on the host writes the report.
    std::fs::set_permissions(&out, PermissionsExt::from_mode(0o777)).unwrap();
    hostile_bundle(&oci, &out);
    oci.set_args(&["/watcher", "--ignored", "--exact", "ptracer_inside_the_container"]);
    // Every capability this kernel knows.
    let last: u32 = std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let caps = common::capability_names(u64::MAX >> (63 - last.min(63)));
    oci.edit(|c| {
        for set in ["bounding", "effective", "permitted"] {
            c["process"]["capabilities"][set] = json!(caps);
        }
        if who == As::Caller {
            // Root: a user namespace of its own (`spec --rootless` has one
            // already), root mapped to root as `burrow run` does. (Mapped to
            // another uid, the runtime's switch to that uid would make it
            // non-dumpable anyway: the kernel does that on a change of euid.)
            append(&mut c["linux"]["namespaces"], json!({"type": "user"}));
            let map = json!([{"containerID": 0, "hostID": 0, "size": 65536}]);
            c["linux"]["uidMappings"] = map.clone();
            c["linux"]["gidMappings"] = map;
        }
    });
    let (id, _, _) = oci.run_detached(&format!("ptrace-{who:?}"));
    let deadline = Instant::now() + POLL_DEADLINE;
    while !out.join("report").exists() {
        assert!(Instant::now() < deadline, "the ptracer did not start");
        std::thread::sleep(Duration::from_millis(10));
    }
    // (Being ptraced, an exec'd `true` may itself fail: that is the
    // container's business; what matters is whose process got attached.)
    // 20 at least; more while the ptracer has caught fewer than 12 before
    // they exec'd (a slow machine).
    let tried = || {
        std::fs::read_to_string(out.join("tried"))
            .ok()
            .and_then(|n| n.parse::<u32>().ok())
            .unwrap_or(0)
    };
    for execs in 0.. {
        if execs >= 60 || execs >= 20 && tried() >= 12 {
            break;
        }
        let _ = oci.cmd(&["exec", &id, "true"]);
    }
    std::fs::write(out.join("stop"), "").unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let text = loop {
        let text = std::fs::read_to_string(out.join("report")).unwrap_or_default();
        if text.contains("done") {
            break text;
        }
        assert!(Instant::now() < deadline, "no report: {text:?}");
        std::thread::sleep(Duration::from_millis(20));
    };
    let attempts: u32 = text
        .lines()
        .find_map(|l| l.strip_prefix("attempts ")?.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    assert!(!text.contains("attached"), "{who:?}: {text}");
    assert!(
        attempts >= 12,
        "the ptracer must have tried the joining processes: {text}"
    );
}

#[test]
fn a_joining_process_cannot_be_ptraced() {
    a_joining_process_cannot_be_ptraced_as(As::Caller);
}

#[test]
fn a_joining_process_cannot_be_ptraced_rootless() {
    a_joining_process_cannot_be_ptraced_as(As::Rootless);
}

/// burrow's Landlock annotations confine the container's file access
/// (runc ignores them).
#[test]
fn landlock_annotations_confine_the_container() {
    let oci = Oci::with_spec(As::Caller);
    oci.set_args(&[
        "sh",
        "-c",
        "cat /etc/hostname 2>/dev/null || echo etc-denied; echo x > /tmp/f && echo tmp-written",
    ]);
    oci.edit(|c| {
        c["annotations"] = json!({"org.burrow.landlock.ro": "/bin", "org.burrow.landlock.rw": "/tmp:/dev"});
        c["root"]["readonly"] = json!(false);
    });
    let out = oci.run("landlock");
    out.ok();
    assert_eq!(out.stdout, "etc-denied\ntmp-written\n", "{out}");
}

// ---------------------------------------------------------------------------
// cgroups: limits, pause/resume, update, events (this host's v1 hierarchies)

/// `events --stats ID` as JSON (runc's `data` object).
fn stats(oci: &Oci, id: &str) -> Value {
    let out = oci.cmd(&["events", "--stats", id]);
    out.ok();
    let event: Value = serde_json::from_str(out.stdout.trim()).unwrap_or_else(|e| panic!("{e}: {out}"));
    assert_eq!(event["type"], "stats", "{out}");
    event["data"].clone()
}

/// Poll `events --stats` until `check` holds.
fn wait_for_stats(oci: &Oci, id: &str, what: &str, check: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let data = stats(oci, id);
        if check(&data) {
            return data;
        }
        assert!(Instant::now() < deadline, "{what}: {data}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A memory limit that the payload allocates past: the OOM killer ends it,
/// and `events` reports the kill.
#[test]
fn the_oom_killer_enforces_the_memory_limit_and_events_reports_it() {
    let oci = Oci::with_spec(As::Caller);
    oci.set_args(&["sh", "-c", "sleep 1; dd if=/dev/zero of=/dev/null bs=64M count=1"]);
    let limit = 32 << 20;
    oci.edit(|c| c["linux"]["resources"]["memory"] = json!({"limit": limit, "swap": limit}));
    let (id, _, _) = oci.run_detached("oom");
    let events_out = oci.path().join("events.out");
    let mut events = Command::new(runtime_bin(As::Caller))
        .args(["--root", &oci.root_arg(), "events", "--interval", "100ms", &id])
        .stdout(std::fs::File::create(&events_out).unwrap())
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    oci.wait_stopped(&id);
    let deadline = Instant::now() + Duration::from_secs(10);
    while events.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = events.kill();
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = events.wait();
    let lines = std::fs::read_to_string(&events_out).unwrap();
    let parsed: Vec<Value> = lines.lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
    assert!(parsed.iter().any(|e| e["type"] == "oom" && e["id"] == id), "{lines}");
    assert!(
        parsed
            .iter()
            .any(|e| e["type"] == "stats" && e["data"]["memory"]["usage"]["limit"] == limit),
        "{lines}"
    );
}

/// A pids limit stops a fork bomb at the limit.
#[test]
fn the_pids_limit_stops_a_fork_bomb() {
    let oci = Oci::with_spec(As::Caller);
    // The inner shell forks until it cannot (and then gives up); pid 1
    // stays to keep the container.
    oci.set_args(&["sh", "-c", "sh -c 'while :; do sleep 60 & done' 2>/dev/null; sleep 60"]);
    oci.edit(|c| c["linux"]["resources"]["pids"] = json!({"limit": 10}));
    let (id, _, _) = oci.run_detached("forkbomb");
    wait_for_stats(&oci, &id, "the bomb reaches the limit", |d| {
        d["pids"]["current"].as_u64() >= Some(9)
    });
    for _ in 0..5 {
        let data = stats(&oci, &id);
        assert!(data["pids"]["current"].as_u64() <= Some(10), "{data}");
        assert_eq!(data["pids"]["limit"], 10, "{data}");
        std::thread::sleep(Duration::from_millis(50));
    }
    oci.cmd(&["delete", "--force", &id]).ok();
}

/// A cpu quota visibly throttles a busy loop.
#[test]
fn a_cpu_quota_throttles() {
    let oci = Oci::with_spec(As::Caller);
    oci.set_args(&["sh", "-c", "while :; do :; done"]);
    oci.edit(|c| c["linux"]["resources"]["cpu"] = json!({"quota": 10000, "period": 100000}));
    let (id, _, _) = oci.run_detached("throttled");
    wait_for_stats(&oci, &id, "throttled periods grow", |d| {
        d["cpu"]["throttling"]["throttledPeriods"].as_u64().unwrap_or(0) >= 3
    });
    oci.cmd(&["delete", "--force", &id]).ok();
}

/// `pause` freezes every process (state "paused", the counter stops) and
/// `resume` lets them go on; `update` changes the live limits.
#[test]
fn pause_resume_and_update() {
    let oci = Oci::with_spec(As::Caller);
    let out = oci.path().join("out");
    std::fs::create_dir(&out).unwrap();
    oci.set_args(&[
        "sh",
        "-c",
        "i=0; while :; do i=$((i+1)); echo $i > /out/n; sleep 0.05; done",
    ]);
    oci.edit(|c| {
        append(
            &mut c["mounts"],
            json!({"destination": "/out", "type": "bind", "source": out, "options": ["rbind"]}),
        )
    });
    let (id, pid, _) = oci.run_detached("pause");
    let count = || std::fs::read_to_string(out.join("n")).unwrap_or_default();
    let deadline = Instant::now() + POLL_DEADLINE;
    while count().is_empty() {
        assert!(Instant::now() < deadline, "the counter did not start");
        std::thread::sleep(Duration::from_millis(20));
    }

    oci.cmd(&["pause", &id]).ok();
    assert_eq!(oci.status(&id), "paused");
    let frozen = count();
    std::thread::sleep(Duration::from_millis(400));
    assert_eq!(count(), frozen, "a paused container does not count");
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    assert!(
        status.contains("State:\tD"),
        "a frozen task sleeps in the freezer: {status}"
    );
    oci.cmd(&["pause", &id]).refused(&["paused", "running"]);
    oci.cmd(&["exec", &id, "true"]).refused(&["paused"]);

    oci.cmd(&["resume", &id]).ok();
    assert_eq!(oci.status(&id), "running");
    let deadline = Instant::now() + POLL_DEADLINE;
    while count() == frozen {
        assert!(Instant::now() < deadline, "the counter did not go on after resume");
        std::thread::sleep(Duration::from_millis(20));
    }

    oci.cmd(&["update", "--memory", "64M", "--pids-limit", "50", &id]).ok();
    let data = stats(&oci, &id);
    assert_eq!(data["memory"]["usage"]["limit"], 64 << 20, "{data}");
    assert_eq!(data["pids"]["limit"], 50, "{data}");
    let resources = oci.path().join("resources.json");
    std::fs::write(&resources, r#"{"pids": {"limit": 40}, "cpu": {"shares": 512}}"#).unwrap();
    oci.cmd(&["update", "--resources", resources.to_str().unwrap(), &id])
        .ok();
    assert_eq!(stats(&oci, &id)["pids"]["limit"], 40);
    oci.cmd(&["update", "--memory", "lots", &id]).refused(&["memory"]);

    // A paused container is refused by a plain delete, and deleted by
    // force, at once (not after waits on its frozen processes).
    oci.cmd(&["pause", &id]).ok();
    oci.cmd(&["delete", &id]).refused(&["paused"]);
    assert_eq!(oci.status(&id), "paused");
    let started = Instant::now();
    oci.cmd(&["delete", "--force", &id]).ok();
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "delete --force of a paused container took {:?}",
        started.elapsed()
    );
    wait_gone(pid, "delete --force of a paused container");
    oci.assert_gone(&id);
}

/// A cgroup path of the test's own (`/burrow-test-NAME-PID`), given as an
/// absolute `linux.cgroupsPath` so that its files can be read on the host;
/// on drop, whatever is left of it in any hierarchy is removed (deepest
/// first), after the runtime's own delete. Declare it before the `Oci`, so
/// that the containers go first.
struct CgroupPath(String);

impl CgroupPath {
    fn new(name: &str) -> Self {
        CgroupPath(format!("/burrow-test-{name}-{}", std::process::id()))
    }

    /// A cgroup below this one, as `/burrow-test-NAME-PID/SUB`.
    fn below(&self, sub: &str) -> String {
        format!("{}/{sub}", self.0)
    }

    /// `file` of this cgroup in the v1 hierarchy of `controller`, if there
    /// is one.
    fn read(&self, controller: &str, file: &str) -> Option<String> {
        let dir = Path::new("/sys/fs/cgroup")
            .join(controller)
            .join(self.0.trim_start_matches('/'));
        std::fs::read_to_string(dir.join(file))
            .ok()
            .map(|s| s.trim().to_owned())
    }
}

impl Drop for CgroupPath {
    fn drop(&mut self) {
        fn remove(dir: &Path) {
            for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                if entry.file_type().is_ok_and(|t| t.is_dir()) {
                    remove(&entry.path());
                }
            }
            let _ = std::fs::remove_dir(dir);
        }
        for hierarchy in std::fs::read_dir("/sys/fs/cgroup").into_iter().flatten().flatten() {
            let dir = hierarchy.path().join(self.0.trim_start_matches('/'));
            if dir.is_dir() {
                remove(&dir);
            }
        }
        // A unified host: the path is right below the root.
        let dir = Path::new("/sys/fs/cgroup").join(self.0.trim_start_matches('/'));
        if dir.is_dir() {
            remove(&dir);
        }
    }
}

/// Zeros in linux.resources mean "unset", as runc reads them: at create,
/// swap and reservation 0 leave them alone; runc's documented `update`
/// template (all zeros: "unchanged values can be omitted") changes
/// nothing; a pids limit of 0 keeps the limit. A failed update names the
/// setting, not config.json.
#[test]
fn zeros_in_resources_mean_unset() {
    let cgroup = CgroupPath::new("zeros");
    let oci = Oci::with_spec(As::Caller);
    oci.set_args(&["sleep", "60"]);
    oci.edit(|c| {
        c["linux"]["cgroupsPath"] = json!(cgroup.0);
        c["linux"]["resources"]["memory"] = json!({"limit": 64 << 20, "swap": 0, "reservation": 0});
        c["linux"]["resources"]["pids"] = json!({"limit": 50});
        c["linux"]["resources"]["cpu"] = json!({"shares": 0, "quota": 0, "period": 0});
        c["linux"]["resources"]["blockIO"] = json!({"weight": 0});
    });
    let (id, _, _) = oci.run_detached("zeros");
    let unlimited = |file: &str| {
        if let Some(value) = cgroup.read("memory", file) {
            assert!(value.parse::<u64>().unwrap() > 1 << 60, "{file} is {value}: set to 0?");
        }
    };
    let check = |what: &str| {
        let data = stats(&oci, &id);
        assert_eq!(data["memory"]["usage"]["limit"], 64 << 20, "{what}: {data}");
        assert_eq!(data["pids"]["limit"], 50, "{what}: {data}");
        unlimited("memory.soft_limit_in_bytes");
        unlimited("memory.memsw.limit_in_bytes");
    };
    check("after create");
    let template = oci.path().join("template.json");
    std::fs::write(
        &template,
        r#"{"memory": {"limit": 0, "reservation": 0, "swap": 0},
            "cpu": {"shares": 0, "quota": 0, "period": 0, "realtimeRuntime": 0, "realtimePeriod": 0,
                    "cpus": "", "mems": ""},
            "blockIO": {"weight": 0}}"#,
    )
    .unwrap();
    oci.cmd(&["update", "-r", template.to_str().unwrap(), &id]).ok();
    check("after the all-zeros template");
    let pids = oci.path().join("pids.json");
    std::fs::write(&pids, r#"{"pids": {"limit": 0}}"#).unwrap();
    oci.cmd(&["update", "-r", pids.to_str().unwrap(), &id]).ok();
    check("after a pids limit of 0");
    let out = oci.cmd(&["update", "--memory", "4096", &id]);
    out.refused(&["memory"]);
    assert!(!out.stderr.contains("config.json"), "{out}");
}

/// `update` takes runc's spellings: --cpu-share, --cpu-rt-period and
/// --cpu-rt-runtime; the Intel RDT schemas are refused by name.
#[test]
fn update_takes_runcs_cpu_flags() {
    let cgroup = CgroupPath::new("update-flags");
    let oci = Oci::with_spec(As::Caller);
    oci.set_args(&["sleep", "60"]);
    oci.edit(|c| c["linux"]["cgroupsPath"] = json!(cgroup.0));
    let (id, _, _) = oci.run_detached("update-flags");
    oci.cmd(&["update", "--cpu-share", "512", &id]).ok();
    if let Some(shares) = cgroup.read("cpu", "cpu.shares") {
        assert_eq!(shares, "512");
    }
    if cgroup.read("cpu", "cpu.rt_runtime_us").is_some() {
        oci.cmd(&["update", "--cpu-rt-period", "1000000", "--cpu-rt-runtime", "5000", &id])
            .ok();
        assert_eq!(cgroup.read("cpu", "cpu.rt_period_us").as_deref(), Some("1000000"));
        assert_eq!(cgroup.read("cpu", "cpu.rt_runtime_us").as_deref(), Some("5000"));
    }
    oci.cmd(&["update", "--l3-cache-schema", "L3:0=f", &id])
        .refused(&["l3", "rdt"]);
    oci.cmd(&["update", "--mem-bw-schema", "MB:0=50", &id])
        .refused(&["mb", "rdt", "bandwidth"]);
}

/// `events --stats` leaves out a pids limit of "max" (as runc: not
/// 18446744073709551615), and refuses a stopped container.
#[test]
fn events_leave_out_no_pids_limit_and_refuse_a_stopped_container() {
    let oci = Oci::with_spec(As::Caller);
    oci.set_args(&["sleep", "60"]);
    let (id, pid, _) = oci.run_detached("events-stopped");
    let data = stats(&oci, &id);
    assert!(data["pids"].is_object(), "{data}");
    assert!(data["pids"].get("limit").is_none(), "no limit is left out: {data}");
    oci.cmd(&["kill", &id, "KILL"]).ok();
    wait_gone(pid, "kill");
    oci.wait_stopped(&id);
    oci.cmd(&["events", "--stats", &id])
        .refused(&["stopped", "not running"]);
}

/// A config rule that denies one named device (c 1:3, /dev/null) wins
/// over the devices every container may use; /dev/zero stays usable.
/// (runc 1.1.5 writes those defaults after the config's rules: skipped
/// there.)
#[test]
fn a_device_denied_by_name_cannot_be_opened() {
    let oci = Oci::with_spec(As::Caller);
    oci.set_args(&[
        "sh",
        "-c",
        "(exec 3</dev/null) 2>&1 | grep -q 'not permitted' && echo null-denied || echo null-open; \
         (exec 3</dev/zero) && echo zero-open || echo zero-denied",
    ]);
    oci.edit(|c| {
        c["linux"]["resources"] = json!({"devices": [
            {"allow": false, "access": "rwm"},
            {"allow": false, "type": "c", "major": 1, "minor": 3, "access": "rwm"}
        ]})
    });
    let out = oci.run("deny-null");
    out.ok();
    assert_eq!(out.stdout, "null-denied\nzero-open\n", "{out}");
}

/// A device allow rule that the parent devices cgroup refuses: the
/// container runs with what the parent allows, and stderr says so (not
/// only --debug). (runc 1.1.5 fails the create: skipped there.)
#[test]
fn a_device_allow_the_parent_refuses_is_a_warning() {
    let cgroup = CgroupPath::new("strict-parent");
    let parent = Path::new("/sys/fs/cgroup/devices").join(cgroup.0.trim_start_matches('/'));
    if !Path::new("/sys/fs/cgroup/devices/devices.allow").exists() {
        eprintln!("no v1 devices hierarchy here: nothing to test");
        return;
    }
    std::fs::create_dir(&parent).unwrap();
    std::fs::write(parent.join("devices.deny"), "a").unwrap();
    // The parent allows what every container may use, and nothing more.
    for rule in burrow_oci::resources::ALWAYS_ALLOWED {
        std::fs::write(parent.join("devices.allow"), rule).unwrap();
    }
    let oci = Oci::with_spec(As::Caller);
    oci.set_args(&["echo", "ran"]);
    oci.edit(|c| {
        c["linux"]["cgroupsPath"] = json!(cgroup.below("c"));
        c["linux"]["resources"] = json!({"devices": [
            {"allow": false, "access": "rwm"},
            {"allow": true, "type": "c", "major": 10, "minor": 229, "access": "rwm"}
        ]})
    });
    let out = oci.run("strict-parent");
    out.ok();
    assert_eq!(out.stdout, "ran\n", "{out}");
    assert!(
        out.stderr.contains("warning") && out.stderr.contains("devices[1]") && out.stderr.contains("10:229"),
        "{out}"
    );
    let list = cgroup.read("devices", "devices.list").unwrap_or_default();
    assert!(!list.contains("10:229"), "the parent kept its rules: {list}");
}

/// Rootless, without a devices cgroup: the deny-all rule that `spec
/// --rootless` and the engines send (and allow rules) need none, and do
/// not fail the create.
#[test]
fn rootless_deny_all_device_rules_need_no_devices_cgroup() {
    let oci = Oci::with_spec(As::Rootless);
    oci.set_args(&["echo", "ran"]);
    oci.edit(|c| {
        c["linux"]["resources"] = json!({"devices": [
            {"allow": false, "access": "rwm"},
            {"allow": true, "type": "c", "major": 1, "minor": 5, "access": "rwm"}
        ]})
    });
    let out = oci.run("rootless-devices");
    out.ok();
    assert_eq!(out.stdout, "ran\n", "{out}");
}

/// Rootless without delegation or a cgroupsPath: create says once that
/// the container runs without cgroups, and `pause`/`update` then fail
/// naming the cgroup (not config.json). A deny of one named device, which
/// nothing could enforce there, is refused by field. (runc 1.1.5 says
/// nothing and ignores the deny: skipped there.)
#[test]
fn rootless_without_cgroups_says_so_once() {
    let oci = Oci::with_spec(As::Rootless);
    oci.set_args(&["sleep", "60"]);
    let (id, _, out) = oci.run_detached("rootless-no-cgroups");
    let warnings: Vec<&str> = out.stderr.lines().filter(|l| l.contains("warning")).collect();
    assert_eq!(warnings.len(), 1, "{out}");
    assert!(warnings[0].contains("without cgroups"), "{out}");
    for args in [vec!["pause", &id], vec!["update", "--pids-limit", "10", &id]] {
        let out = oci.cmd(&args);
        out.refused(&["freezer", "cgroup"]);
        assert!(!out.stderr.contains("config.json"), "{out}");
    }
    oci.edit(|c| {
        c["linux"]["resources"] = json!({"devices": [
            {"allow": false, "access": "rwm"},
            {"allow": false, "type": "c", "major": 1, "minor": 3, "access": "rwm"}
        ]})
    });
    oci.run("rootless-named-deny").refused(&["linux.resources.devices[1]"]);
}
