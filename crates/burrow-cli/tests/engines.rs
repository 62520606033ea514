//! End to end: the engines people use drive burrow as their OCI runtime.
//!
//! - podman, rootful and rootless (as the test user `burrowtest`), with
//!   burrow registered by name in containers.conf, so that podman passes
//!   `--log-format=json --log FILE` as it does for runc and crun;
//! - containerd through its runc shim v2 (`ctr --runc-binary`), the path by
//!   which Kubernetes reaches a runtime.
//!
//! One set-up serves every test: storage and a busybox image made here (no
//! registry is reachable), and a containerd daemon of the suite's own. The
//! suite runs in a mount namespace of its own, so nothing the engines mount
//! reaches the host's; the tear-down (which also runs after failures)
//! removes containers, the daemon, cgroups, the CNI bridge and firewall
//! rules, and the scratch directory. Needs root, podman, containerd,
//! catatonit and the `burrowtest` user: `./test.sh` installs them.

use std::fmt;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use libtest_mimic::{Arguments, Failed, Trial};

const IMAGE: &str = "localhost/busybox:e2e";
const USER: &str = "burrowtest";
/// containerd namespace of the suite.
const NS: &str = "burrow-e2e";

/// What a command did.
struct Out {
    what: String,
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl fmt::Display for Out {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} exited {:?}\n--- stdout\n{}--- stderr\n{}---",
            self.what, self.code, self.stdout, self.stderr
        )
    }
}

impl Out {
    /// Exit code `code` and exactly `stdout`.
    fn expect(&self, code: i32, stdout: &str) -> Result<(), Failed> {
        if self.code == Some(code) && self.stdout == stdout {
            Ok(())
        } else {
            Err(format!("expected exit {code} and stdout {stdout:?}, got:\n{self}").into())
        }
    }

    /// Exit code 0, for the set-up.
    fn done(&self) -> Result<(), String> {
        match self.code {
            Some(0) => Ok(()),
            _ => Err(self.to_string()),
        }
    }

    /// Exit code 0.
    fn ok(&self) -> Result<&Self, Failed> {
        if self.code == Some(0) {
            Ok(self)
        } else {
            Err(format!("expected success:\n{self}").into())
        }
    }
}

/// Run `cmd`, feeding it `input`; after 120 s it is killed, so that no
/// engine can hang the suite.
fn run(mut cmd: Command, input: Option<&str>) -> Out {
    let what = format!("{cmd:?}");
    cmd.stdin(if input.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = match cmd.spawn() {
        Ok(child) => child,
        Err(e) => {
            return Out {
                what,
                code: None,
                stdout: String::new(),
                stderr: format!("cannot start: {e}"),
            }
        }
    };
    if let (Some(text), Some(mut stdin)) = (input, child.stdin.take()) {
        let _ = stdin.write_all(text.as_bytes());
    }
    let read = |pipe: Option<Box<dyn std::io::Read + Send>>| {
        std::thread::spawn(move || {
            let mut text = String::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_string(&mut text);
            }
            text
        })
    };
    let stdout = read(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn std::io::Read + Send>),
    );
    let stderr = read(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn std::io::Read + Send>),
    );
    let deadline = Instant::now() + Duration::from_secs(120);
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if Instant::now() > deadline => {
                let _ = child.kill();
                break child.wait().ok();
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(5)),
            Err(_) => break None,
        }
    };
    Out {
        what,
        code: status.and_then(|s| s.code()),
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    }
}

/// The suite's shared state.
struct Env {
    work: PathBuf,
    burrow: PathBuf,
    containerd: Mutex<Option<Child>>,
    host: HostBefore,
}

/// What the host had before the suite, so the tear-down removes only what
/// the suite added.
struct HostBefore {
    /// `iptables-save -t TABLE` of the tables CNI writes to.
    iptables: Vec<(&'static str, String)>,
    bridge: bool,
    cni_state: bool,
    /// `/var/lib/containers` (podman keeps a blob cache there whatever
    /// its storage configuration says).
    containers_state: bool,
    /// `/run/containerd` (containerd 1.6's shims put their sockets in
    /// `/run/containerd/s` whatever its configuration says).
    containerd_run: bool,
    /// cgroup hierarchies that had a `libpod_parent` already.
    libpod_parent: Vec<PathBuf>,
}

static ENV: OnceLock<Env> = OnceLock::new();

fn env() -> &'static Env {
    ENV.get().expect("the suite's set-up ran")
}

impl Env {
    fn podman_dir(&self) -> PathBuf {
        self.work.join("podman")
    }

    fn rootless_dir(&self) -> PathBuf {
        self.work.join("rootless")
    }

    /// `podman ARGS` as root, on the suite's storage.
    fn podman(&self, args: &[&str]) -> Out {
        self.podman_with_input(args, None)
    }

    fn podman_with_input(&self, args: &[&str], input: Option<&str>) -> Out {
        let dir = self.podman_dir();
        let mut cmd = Command::new("podman");
        cmd.args(args)
            .env("CONTAINERS_CONF", dir.join("containers.conf"))
            .env("CONTAINERS_STORAGE_CONF", dir.join("storage.conf"));
        run(cmd, input)
    }

    /// The same podman command line, in a terminal (`script`), for `-t`.
    fn podman_in_terminal(&self, args: &[&str]) -> Out {
        let dir = self.podman_dir();
        let line = std::iter::once("podman")
            .chain(args.iter().copied())
            .collect::<Vec<_>>()
            .join(" ");
        let mut cmd = Command::new("script");
        cmd.args(["-qec", &line, "/dev/null"])
            .env("CONTAINERS_CONF", dir.join("containers.conf"))
            .env("CONTAINERS_STORAGE_CONF", dir.join("storage.conf"));
        run(cmd, None)
    }

    /// `podman ARGS` as the unprivileged test user (rootless podman).
    fn podman_rootless(&self, args: &[&str]) -> Out {
        let dir = self.rootless_dir();
        let mut cmd = Command::new("runuser");
        cmd.args(["-u", USER, "--", "env"])
            .arg(format!("HOME={}", dir.display()))
            .arg(format!("XDG_RUNTIME_DIR={}", dir.join("xdg").display()))
            .arg(format!("CONTAINERS_CONF={}", dir.join("containers.conf").display()))
            .arg(format!(
                "CONTAINERS_STORAGE_CONF={}",
                dir.join("storage.conf").display()
            ))
            .arg("podman")
            .args(args)
            .current_dir(&dir);
        run(cmd, None)
    }

    /// `ctr ARGS` against the suite's containerd.
    fn ctr(&self, args: &[&str]) -> Out {
        let mut cmd = Command::new("ctr");
        cmd.args(["-a", &self.socket(), "-n", NS]).args(args);
        run(cmd, None)
    }

    fn ctr_in_terminal(&self, args: &[&str]) -> Out {
        let line = ["ctr", "-a", &self.socket(), "-n", NS]
            .into_iter()
            .chain(args.iter().copied())
            .collect::<Vec<_>>()
            .join(" ");
        let mut cmd = Command::new("script");
        cmd.args(["-qec", &line, "/dev/null"]);
        run(cmd, None)
    }

    fn socket(&self) -> String {
        self.work.join("containerd/containerd.sock").display().to_string()
    }

    /// The runtime arguments of `ctr run` for burrow.
    fn runc_args(&self) -> Vec<String> {
        vec![
            "--runc-binary".into(),
            self.burrow.display().to_string(),
            "--runc-root".into(),
            self.work.join("containerd/burrow").display().to_string(),
            "--fifo-dir".into(),
            self.fifo_dir(),
        ]
    }

    /// Where ctr keeps the IO FIFOs (not /run/containerd/fifo).
    fn fifo_dir(&self) -> String {
        self.work.join("containerd/fifo").display().to_string()
    }
}

/// Run `f` and fail with `what` when it does not hold within 10 s.
fn eventually(what: &str, mut f: impl FnMut() -> Result<(), Failed>) -> Result<(), Failed> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match f() {
            Ok(()) => return Ok(()),
            Err(e) if Instant::now() > deadline => return Err(format!("{what}: {}", e.message().unwrap_or("")).into()),
            Err(_) => std::thread::sleep(Duration::from_millis(100)),
        }
    }
}

// ---------------------------------------------------------------------------
// Set-up and tear-down

fn sh(script: &str) -> Out {
    let mut cmd = Command::new("sh");
    cmd.args(["-c", script]);
    run(cmd, None)
}

/// A mount namespace of the suite's own, with its own shared peer group:
/// what podman and containerd mount stays in it (rootless podman wants a
/// shared `/`), and goes with it.
fn own_mount_namespace() -> Result<(), String> {
    use nix::mount::{mount, MsFlags};
    nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNS).map_err(|e| format!("unshare: {e}"))?;
    let flags = |f: MsFlags| mount(None::<&str>, "/", None::<&str>, f | MsFlags::MS_REC, None::<&str>);
    flags(MsFlags::MS_PRIVATE).map_err(|e| format!("making / private: {e}"))?;
    flags(MsFlags::MS_SHARED).map_err(|e| format!("making / shared again: {e}"))?;
    Ok(())
}

fn write(path: &Path, text: &str) -> Result<(), String> {
    std::fs::write(path, text).map_err(|e| format!("writing {}: {e}", path.display()))
}

fn chown_to_user(path: &Path) -> Result<(), String> {
    sh(&format!("chown -R {USER}: '{}'", path.display())).done()
}

fn containers_conf(burrow: &Path, dir: &Path, ulimits: &str) -> String {
    format!(
        r#"[containers]
default_ulimits = [{ulimits}]
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "{dir}/events.log"
tmp_dir = "{dir}/tmp"
runtime = "burrow"
runtime_supports_json = ["burrow"]
[engine.runtimes]
burrow = ["{burrow}"]
[network]
# CNI, whose bridge and firewall chains the tear-down knows (a fresh
# machine may also have netavark)
network_backend = "cni"
network_config_dir = "{dir}/net"
"#,
        dir = dir.display(),
        burrow = burrow.display()
    )
}

fn storage_conf(dir: &Path) -> String {
    format!(
        "[storage]\ndriver = \"vfs\"\ngraphroot = \"{dir}/graph\"\nrunroot = \"{dir}/run\"\n",
        dir = dir.display()
    )
}

fn host_before() -> HostBefore {
    let libpod_parent = std::fs::read_dir("/sys/fs/cgroup")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path().join("libpod_parent"))
        .filter(|p| p.exists())
        .collect();
    HostBefore {
        iptables: ["filter", "nat"]
            .into_iter()
            .map(|t| (t, sh(&format!("iptables-save -t {t}")).stdout))
            .collect(),
        bridge: Path::new("/sys/class/net/cni-podman0").exists(),
        cni_state: Path::new("/var/lib/cni").exists(),
        containers_state: Path::new("/var/lib/containers").exists(),
        containerd_run: Path::new("/run/containerd").exists(),
        libpod_parent,
    }
}

fn set_up() -> Result<(), String> {
    if !nix::unistd::geteuid().is_root() {
        return Err("the engine suite needs root".into());
    }
    for tool in [
        "podman",
        "conmon",
        "catatonit",
        "containerd",
        "ctr",
        "script",
        "runuser",
        "iptables-save",
        "ip",
        "tar",
    ] {
        if !sh(&format!("command -v {tool}")).stdout.contains('/') {
            return Err(format!("{tool} is missing (./test.sh installs it)"));
        }
    }
    let host = host_before();
    own_mount_namespace()?;
    let template = std::env::temp_dir().join("burrow-e2e.XXXXXX");
    let work = nix::unistd::mkdtemp(&template).map_err(|e| format!("mkdtemp: {e}"))?;
    std::fs::set_permissions(&work, std::fs::Permissions::from_mode(0o755)).map_err(|e| e.to_string())?;
    let env = Env {
        work: work.clone(),
        burrow: PathBuf::from(env!("CARGO_BIN_EXE_burrow")),
        containerd: Mutex::new(None),
        host,
    };
    ENV.set(env).map_err(|_| "set up twice")?;
    let env = self::env();

    // The image: busybox and its applets, and the few files in /etc that
    // users and groups need.
    let rootfs = work.join("rootfs");
    let made = sh(&format!(
        "set -e; mkdir -p '{r}/bin' '{r}/etc' '{r}/proc' '{r}/sys' '{r}/dev' '{r}/tmp' '{r}/root'; \
         cp /bin/busybox '{r}/bin/busybox'; \
         for a in $(/bin/busybox --list); do [ \"$a\" = busybox ] || ln -s busybox \"{r}/bin/$a\"; done; \
         printf 'root:x:0:0:root:/root:/bin/sh\\nnobody:x:65534:65534:nobody:/:/bin/sh\\n' > '{r}/etc/passwd'; \
         printf 'root:x:0:\\nnogroup:x:65534:\\n' > '{r}/etc/group'; \
         tar -C '{r}' -cf '{w}/image.tar' .",
        r = rootfs.display(),
        w = work.display()
    ));
    made.done()?;

    // Rootful podman.
    let dir = env.podman_dir();
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    // This machine cannot give the default nofile of 1048576.
    let limits = "\"nofile=20000:20000\", \"nproc=32768:32768\"";
    write(
        &dir.join("containers.conf"),
        &containers_conf(&env.burrow, &dir, limits),
    )?;
    write(&dir.join("storage.conf"), &storage_conf(&dir))?;
    let image = work.join("image.tar").display().to_string();
    env.podman(&["import", "-q", &image, IMAGE]).done()?;

    // Rootless podman, as the test user, in a directory of its own.
    let dir = env.rootless_dir();
    std::fs::create_dir_all(dir.join("xdg")).map_err(|e| e.to_string())?;
    write(
        &dir.join("containers.conf"),
        &containers_conf(&env.burrow, &dir, "\"nofile=1024:1024\""),
    )?;
    write(&dir.join("storage.conf"), &storage_conf(&dir))?;
    std::fs::copy(work.join("image.tar"), dir.join("image.tar")).map_err(|e| e.to_string())?;
    chown_to_user(&dir)?;
    std::fs::set_permissions(dir.join("xdg"), std::fs::Permissions::from_mode(0o700)).map_err(|e| e.to_string())?;
    let image = dir.join("image.tar").display().to_string();
    env.podman_rootless(&["import", "-q", &image, IMAGE]).done()?;

    // containerd, with the CRI plugin off, and the image from podman.
    let dir = work.join("containerd");
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    write(
        &dir.join("config.toml"),
        &format!(
            "version = 2\nroot = \"{d}/root\"\nstate = \"{d}/state\"\n\
             disabled_plugins = [\"io.containerd.grpc.v1.cri\"]\n\
             [grpc]\n  address = \"{d}/containerd.sock\"\n[ttrpc]\n  address = \"{d}/containerd-ttrpc.sock\"\n",
            d = dir.display()
        ),
    )?;
    let log = std::fs::File::create(dir.join("log")).map_err(|e| e.to_string())?;
    let daemon = Command::new("containerd")
        .arg("--config")
        .arg(dir.join("config.toml"))
        .stdin(Stdio::null())
        .stdout(log.try_clone().map_err(|e| e.to_string())?)
        .stderr(log)
        .spawn()
        .map_err(|e| format!("starting containerd: {e}"))?;
    *env.containerd.lock().unwrap() = Some(daemon);
    let deadline = Instant::now() + Duration::from_secs(20);
    while env.ctr(&["version"]).code != Some(0) {
        if Instant::now() > deadline {
            return Err("containerd did not answer within 20 s".into());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let archive = work.join("image-oci.tar").display().to_string();
    env.podman(&["save", "-q", "--format", "oci-archive", "-o", &archive, IMAGE])
        .done()?;
    env.ctr(&["images", "import", "--base-name", "localhost/busybox", &archive])
        .done()?;
    Ok(())
}

/// Remove everything the suite made, also after failures.
fn tear_down() {
    let Some(env) = ENV.get() else { return };
    let _ = env.podman(&["pod", "rm", "--all", "--force", "--time", "0"]);
    let _ = env.podman(&["rm", "--all", "--force", "--time", "0"]);
    let _ = env.podman_rootless(&["rm", "--all", "--force", "--time", "0"]);
    for task in env.ctr(&["task", "ls", "-q"]).stdout.lines() {
        let _ = env.ctr(&["task", "kill", "-s", "KILL", task]);
        let _ = env.ctr(&["task", "delete", "--force", task]);
    }
    for container in env.ctr(&["containers", "ls", "-q"]).stdout.lines() {
        let _ = env.ctr(&["containers", "rm", container]);
    }
    if let Some(mut daemon) = env.containerd.lock().unwrap().take() {
        let _ = daemon.kill();
        let _ = daemon.wait();
    }
    // Daemons the engines left: containerd shims, conmon, rootless
    // podman's pause process, all found by the suite's directory.
    let work = env.work.display().to_string();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let mine = ["cmdline", "environ"]
            .iter()
            .any(|f| std::fs::read(entry.path().join(f)).is_ok_and(|b| String::from_utf8_lossy(&b).contains(&work)));
        if mine && pid != std::process::id() as i32 {
            // SAFETY: kill(2) with integers only.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
    }
    std::thread::sleep(Duration::from_millis(300));
    // cgroups podman made (its conmon cgroup and the containers' parent).
    for dir in std::fs::read_dir("/sys/fs/cgroup").into_iter().flatten().flatten() {
        let parent = dir.path().join("libpod_parent");
        if parent.exists() && !env.host.libpod_parent.contains(&parent) {
            let _ = sh(&format!(
                "find '{}' -depth -type d -exec rmdir {{}} \\; 2>/dev/null",
                parent.display()
            ));
        }
    }
    // The default network's bridge, firewall rules and IP allocations.
    if !env.host.bridge {
        let _ = sh("ip link delete cni-podman0 2>/dev/null");
    }
    for (table, before) in &env.host.iptables {
        if before.lines().any(|l| l.starts_with("-A") || l.starts_with(":CNI")) {
            let mut cmd = Command::new("iptables-restore");
            cmd.args(["-w", "-T", table]);
            let _ = run(cmd, Some(before));
        } else {
            // The table had no rules: empty it and drop the chains CNI made.
            let _ = sh(&format!("iptables -w -t {table} -F; iptables -w -t {table} -X"));
        }
    }
    if !env.host.cni_state {
        let _ = std::fs::remove_dir_all("/var/lib/cni");
    }
    if !env.host.containers_state {
        let _ = std::fs::remove_dir_all("/var/lib/containers");
    }
    if !env.host.containerd_run {
        let _ = std::fs::remove_dir_all("/run/containerd");
    }
    // The scratch directory (the suite's mounts go with its namespace).
    let _ = sh(&format!(
        "grep -o ' {w}[^ ]*' /proc/self/mountinfo | sort -r | xargs -r -n1 umount -l 2>/dev/null",
        w = env.work.display()
    ));
    let _ = std::fs::remove_dir_all(&env.work);
}

// ---------------------------------------------------------------------------
// podman, rootful

fn podman_run_rm_without_network() -> Result<(), Failed> {
    env()
        .podman(&[
            "run",
            "--rm",
            "--network",
            "none",
            IMAGE,
            "sh",
            "-c",
            "echo hi; id -u; ls /sys/class/net",
        ])
        .expect(0, "hi\n0\nlo\n")
}

fn podman_run_rm_on_the_default_network() -> Result<(), Failed> {
    let out = env().podman(&[
        "run",
        "--rm",
        IMAGE,
        "sh",
        "-c",
        "ip -4 -o addr show eth0 | grep -c 'inet 10\\.'",
    ]);
    out.expect(0, "1\n")
}

/// A detached container for the tests that talk to a running one.
fn detached(name: &str, script: &str) -> Result<(), Failed> {
    env()
        .podman(&[
            "run",
            "-d",
            "--name",
            name,
            "--network",
            "none",
            IMAGE,
            "sh",
            "-c",
            script,
        ])
        .ok()?;
    Ok(())
}

fn remove(name: &str) {
    let _ = env().podman(&["rm", "--force", "--time", "0", name]);
}

/// Run `body` against a detached container `name` running `script`, and
/// remove the container afterwards, whatever the body's outcome.
fn in_detached(name: &str, script: &str, body: impl FnOnce(&Env) -> Result<(), Failed>) -> Result<(), Failed> {
    detached(name, script)?;
    let result = body(env());
    remove(name);
    result
}

fn podman_run_detached_then_ps() -> Result<(), Failed> {
    in_detached("e2e-ps", "sleep 1000", |e| {
        let out = e.podman(&["ps", "--filter", "name=e2e-ps", "--format", "{{.Names}} {{.Status}}"]);
        match out.code == Some(0) && out.stdout.starts_with("e2e-ps Up ") && out.stdout.lines().count() == 1 {
            true => Ok(()),
            false => Err(format!("ps should show e2e-ps up:\n{out}").into()),
        }
    })
}

fn podman_exec_options_and_exit_codes() -> Result<(), Failed> {
    in_detached("e2e-exec", "sleep 1000", |e| {
        e.podman_with_input(&["exec", "-i", "e2e-exec", "cat"], Some("through stdin\n"))
            .expect(0, "through stdin\n")?;
        e.podman(&["exec", "-u", "65534", "e2e-exec", "id", "-u"])
            .expect(0, "65534\n")?;
        e.podman(&["exec", "-w", "/tmp", "e2e-exec", "pwd"])
            .expect(0, "/tmp\n")?;
        e.podman(&["exec", "-e", "GREETING=hello", "e2e-exec", "sh", "-c", "echo $GREETING"])
            .expect(0, "hello\n")?;
        e.podman(&["exec", "e2e-exec", "sh", "-c", "exit 3"]).expect(3, "")?;
        let tty = e.podman_in_terminal(&["exec", "-t", "e2e-exec", "tty"]);
        if tty.code != Some(0) || !tty.stdout.contains("/dev/pts/") {
            return Err(format!("exec -t should run on a terminal:\n{tty}").into());
        }
        Ok(())
    })
}

fn podman_logs_and_top() -> Result<(), Failed> {
    in_detached("e2e-logs", "echo to-stdout; echo to-stderr >&2; exec sleep 1000", |e| {
        eventually("logs", || {
            let out = e.podman(&["logs", "e2e-logs"]);
            if out.stdout == "to-stdout\n" && out.stderr == "to-stderr\n" {
                Ok(())
            } else {
                Err(out.to_string().into())
            }
        })?;
        let top = e.podman(&["top", "e2e-logs", "pid", "comm"]);
        top.ok()?;
        if !top
            .stdout
            .lines()
            .any(|l| l.split_whitespace().collect::<Vec<_>>() == ["1", "sleep"])
        {
            return Err(format!("top should show sleep as pid 1:\n{top}").into());
        }
        Ok(())
    })
}

fn podman_pause_unpause_and_update() -> Result<(), Failed> {
    in_detached("e2e-pause", "sleep 1000", |e| {
        let state = || e.podman(&["inspect", "--format", "{{.State.Status}}", "e2e-pause"]);
        e.podman(&["pause", "e2e-pause"]).ok()?;
        state().expect(0, "paused\n")?;
        e.podman(&["unpause", "e2e-pause"]).ok()?;
        state().expect(0, "running\n")?;
        e.podman(&["update", "--memory", "64m", "e2e-pause"]).ok()?;
        e.podman(&[
            "exec",
            "e2e-pause",
            "cat",
            "/sys/fs/cgroup/memory/memory.limit_in_bytes",
        ])
        .expect(0, "67108864\n")
    })
}

fn podman_kill_with_a_signal() -> Result<(), Failed> {
    in_detached(
        "e2e-kill",
        "trap 'echo got-hup' HUP; echo ready; while :; do sleep 0.1; done",
        |e| {
            eventually("ready", || {
                match e.podman(&["logs", "e2e-kill"]).stdout.contains("ready") {
                    true => Ok(()),
                    false => Err("not ready".into()),
                }
            })?;
            e.podman(&["kill", "-s", "HUP", "e2e-kill"]).ok()?;
            eventually("the trap ran", || {
                let out = e.podman(&["logs", "e2e-kill"]);
                match out.stdout.contains("got-hup") {
                    true => Ok(()),
                    false => Err(out.to_string().into()),
                }
            })
        },
    )
}

fn podman_stop_with_a_timeout_and_restart() -> Result<(), Failed> {
    // As pid 1 without a handler, sh ignores SIGTERM: stop must kill it.
    in_detached("e2e-stop", "sleep 1000", |e| {
        let started = Instant::now();
        e.podman(&["stop", "-t", "1", "e2e-stop"]).ok()?;
        let took = started.elapsed();
        if took < Duration::from_millis(900) || took > Duration::from_secs(15) {
            return Err(format!("stop -t 1 took {took:?}").into());
        }
        e.podman(&[
            "inspect",
            "--format",
            "{{.State.Status}} {{.State.ExitCode}}",
            "e2e-stop",
        ])
        .expect(0, "exited 137\n")?;
        e.podman(&["restart", "e2e-stop"]).ok()?;
        e.podman(&["inspect", "--format", "{{.State.Status}}", "e2e-stop"])
            .expect(0, "running\n")
    })
}

fn podman_rm_force_removes_a_running_container() -> Result<(), Failed> {
    detached("e2e-rm", "sleep 1000")?;
    let e = env();
    e.podman(&["rm", "--force", "--time", "0", "e2e-rm"])
        .expect(0, "e2e-rm\n")?;
    e.podman(&["ps", "-a", "--filter", "name=e2e-rm", "--format", "{{.Names}}"])
        .expect(0, "")
}

fn podman_run_with_a_terminal() -> Result<(), Failed> {
    let out = env().podman_in_terminal(&["run", "--rm", "-t", "--network", "none", IMAGE, "tty"]);
    match out.code == Some(0) && out.stdout.contains("/dev/pts/0") {
        true => Ok(()),
        false => Err(format!("run -t should give /dev/pts/0:\n{out}").into()),
    }
}

fn podman_read_only_with_a_tmpfs() -> Result<(), Failed> {
    env()
        .podman(&[
            "run",
            "--rm",
            "--network",
            "none",
            "--read-only",
            "--tmpfs",
            "/scratch",
            IMAGE,
            "sh",
            "-c",
            "touch /file 2>/dev/null; echo root=$?; touch /scratch/file && echo scratch=ok",
        ])
        .expect(0, "root=1\nscratch=ok\n")
}

fn podman_volumes() -> Result<(), Failed> {
    let e = env();
    let host = e.work.join("volume");
    std::fs::create_dir_all(&host)?;
    std::fs::write(host.join("from-host"), "host\n")?;
    let bind = format!("{}:/data", host.display());
    e.podman(&[
        "run",
        "--rm",
        "--network",
        "none",
        "-v",
        &bind,
        IMAGE,
        "sh",
        "-c",
        "cat /data/from-host; echo container > /data/from-container",
    ])
    .expect(0, "host\n")?;
    let back = std::fs::read_to_string(host.join("from-container"))?;
    if back != "container\n" {
        return Err(format!("the container's write did not reach the host: {back:?}").into());
    }
    e.podman(&["volume", "create", "e2e-named"]).ok()?;
    let result = (|| {
        let run = |script: &str| {
            e.podman(&[
                "run",
                "--rm",
                "--network",
                "none",
                "-v",
                "e2e-named:/v",
                IMAGE,
                "sh",
                "-c",
                script,
            ])
        };
        run("echo kept > /v/f").expect(0, "")?;
        run("cat /v/f").expect(0, "kept\n")
    })();
    let _ = e.podman(&["volume", "rm", "--force", "e2e-named"]);
    result
}

fn podman_uidmap() -> Result<(), Failed> {
    env()
        .podman(&[
            "run",
            "--rm",
            "--network",
            "none",
            "--uidmap",
            "0:100000:65536",
            "--gidmap",
            "0:100000:65536",
            IMAGE,
            "sh",
            "-c",
            "cat /proc/self/uid_map | tr -s ' '; id -u",
        ])
        .expect(0, " 0 100000 65536\n0\n")
}

fn podman_privileged() -> Result<(), Failed> {
    // Every capability the host has, and the host's devices.
    let host = std::fs::read_to_string("/proc/self/status")?
        .lines()
        .find(|l| l.starts_with("CapBnd:"))
        .map(|l| l.split_whitespace().nth(1).unwrap_or("").to_string())
        .unwrap_or_default();
    let out = env().podman(&[
        "run",
        "--rm",
        "--network",
        "none",
        "--privileged",
        IMAGE,
        "sh",
        "-c",
        "grep CapEff /proc/self/status | cut -f2; test -e /dev/loop-control && echo host-devices",
    ]);
    out.expect(0, &format!("{host}\nhost-devices\n"))
}

fn podman_pods() -> Result<(), Failed> {
    let e = env();
    e.podman(&["pod", "create", "--name", "e2e-pod", "--network", "none"])
        .ok()?;
    let result = (|| {
        e.podman(&[
            "run",
            "-d",
            "--pod",
            "e2e-pod",
            "--name",
            "e2e-pod-a",
            IMAGE,
            "sleep",
            "1000",
        ])
        .ok()?;
        // Containers of a pod share its uts namespace (the pod's name).
        e.podman(&["run", "--rm", "--pod", "e2e-pod", IMAGE, "hostname"])
            .expect(0, "e2e-pod\n")?;
        e.podman(&[
            "pod",
            "ps",
            "--filter",
            "name=e2e-pod",
            "--format",
            "{{.Name}} {{.Status}} {{.NumberOfContainers}}",
        ])
        .expect(0, "e2e-pod Running 2\n")
    })();
    let _ = e.podman(&["pod", "rm", "--force", "--time", "0", "e2e-pod"]);
    result
}

fn podman_passes_json_logs_and_shows_burrows_error() -> Result<(), Failed> {
    let e = env();
    // A sysctl that podman accepts but the kernel has not: burrow's create
    // fails, and podman must show burrow's own words.
    let name = "e2e-fails";
    e.podman(&[
        "create",
        "--name",
        name,
        "--network",
        "none",
        "--sysctl",
        "net.ipv4.no_such_key=1",
        IMAGE,
        "true",
    ])
    .ok()?;
    let result = (|| {
        let out = e.podman(&["start", name]);
        let shown = out
            .stderr
            .lines()
            .any(|l| l.starts_with("Error:") && l.contains("burrow") && l.contains("/proc/sys/net/ipv4/no_such_key"));
        if out.code == Some(0) || !shown {
            return Err(format!("start should fail with burrow's message naming the path:\n{out}").into());
        }
        // Driven as a runtime that logs JSON, burrow wrote its error as a
        // JSON line where podman asked (--log-format=json --log FILE).
        let id = e
            .podman(&["inspect", "--format", "{{.Id}}", name])
            .ok()?
            .stdout
            .trim()
            .to_string();
        let log = e.podman_dir().join(format!("run/vfs-containers/{id}/userdata/oci-log"));
        let text = std::fs::read_to_string(&log).map_err(|err| format!("{}: {err}", log.display()))?;
        let last: serde_json::Value = serde_json::from_str(text.lines().last().unwrap_or(""))?;
        match last["level"] == "error" && last["msg"].as_str().is_some_and(|m| m.contains("no_such_key")) {
            true => Ok(()),
            false => Err(format!("{}: {text}", log.display()).into()),
        }
    })();
    remove(name);
    result
}

// ---------------------------------------------------------------------------
// podman, rootless

fn podman_rootless_run_and_exec() -> Result<(), Failed> {
    let e = env();
    e.podman_rootless(&[
        "run",
        "--rm",
        "--network",
        "none",
        IMAGE,
        "sh",
        "-c",
        "id -u; cat /proc/self/uid_map | tr -s ' ' | head -1",
    ])
    .expect(0, &format!("0\n 0 {} 1\n", uid_of(USER)?))?;
    e.podman_rootless(&[
        "run",
        "-d",
        "--name",
        "e2e-rootless",
        "--network",
        "none",
        IMAGE,
        "sleep",
        "1000",
    ])
    .ok()?;
    let result = e
        .podman_rootless(&["exec", "e2e-rootless", "sh", "-c", "echo inside; exit 4"])
        .expect(4, "inside\n");
    let _ = e.podman_rootless(&["rm", "--force", "--time", "0", "e2e-rootless"]);
    result
}

fn uid_of(user: &str) -> Result<u32, Failed> {
    nix::unistd::User::from_name(user)?
        .map(|u| u.uid.as_raw())
        .ok_or_else(|| format!("no user {user}").into())
}

// ---------------------------------------------------------------------------
// containerd, through the runc shim v2

fn ctr_run(extra: &[&str], id: &str, command: &[&str]) -> Vec<String> {
    let e = env();
    let mut args: Vec<String> = vec!["run".into()];
    args.extend(extra.iter().map(|s| s.to_string()));
    args.extend(e.runc_args());
    args.push(IMAGE.into());
    args.push(id.into());
    args.extend(command.iter().map(|s| s.to_string()));
    args
}

fn refs(args: &[String]) -> Vec<&str> {
    args.iter().map(String::as_str).collect()
}

fn ctr_run_rm() -> Result<(), Failed> {
    let args = ctr_run(&["--rm"], "e2e-ctr-run", &["sh", "-c", "echo from-containerd; id -u"]);
    env().ctr(&refs(&args)).expect(0, "from-containerd\n0\n")
}

fn ctr_run_rm_with_a_terminal() -> Result<(), Failed> {
    let args = ctr_run(&["--rm", "-t"], "e2e-ctr-tty", &["tty"]);
    let out = env().ctr_in_terminal(&refs(&args));
    match out.code == Some(0) && out.stdout.contains("/dev/pts/0") {
        true => Ok(()),
        false => Err(format!("ctr run -t should give /dev/pts/0:\n{out}").into()),
    }
}

fn ctr_task_exec_ps_pause_resume_kill_delete() -> Result<(), Failed> {
    let e = env();
    let id = "e2e-ctr-task";
    let args = ctr_run(
        &["-d"],
        id,
        &["sh", "-c", "trap 'exit 7' TERM; while :; do sleep 0.1; done"],
    );
    e.ctr(&refs(&args)).ok()?;
    let result = (|| {
        let fifo = e.fifo_dir();
        e.ctr(&[
            "task",
            "exec",
            "--fifo-dir",
            &fifo,
            "--exec-id",
            "x1",
            id,
            "sh",
            "-c",
            "echo in-exec; exit 3",
        ])
        .expect(3, "in-exec\n")?;
        let tty = e.ctr_in_terminal(&["task", "exec", "--fifo-dir", &fifo, "-t", "--exec-id", "x2", id, "tty"]);
        if !tty.stdout.contains("/dev/pts/") {
            return Err(format!("task exec -t should run on a terminal:\n{tty}").into());
        }
        let ps = e.ctr(&["task", "ps", id]);
        ps.ok()?;
        if ps.stdout.lines().count() < 2 {
            return Err(format!("task ps should list the container's processes:\n{ps}").into());
        }
        let status = || {
            e.ctr(&["task", "ls"])
                .stdout
                .lines()
                .find(|l| l.starts_with(id))
                .and_then(|l| l.split_whitespace().nth(2).map(str::to_string))
                .unwrap_or_default()
        };
        e.ctr(&["task", "pause", id]).ok()?;
        if status() != "PAUSED" {
            return Err(format!("paused task shows {}", status()).into());
        }
        e.ctr(&["task", "resume", id]).ok()?;
        if status() != "RUNNING" {
            return Err(format!("resumed task shows {}", status()).into());
        }
        e.ctr(&["task", "kill", id]).ok()?;
        eventually("the task stops on SIGTERM", || match status().as_str() {
            "STOPPED" => Ok(()),
            other => Err(other.to_string().into()),
        })?;
        e.ctr(&["task", "delete", id]).ok()?;
        e.ctr(&["containers", "rm", id]).ok()?;
        e.ctr(&["containers", "ls", "-q"]).expect(0, "")
    })();
    let _ = e.ctr(&["task", "delete", "--force", id]);
    let _ = e.ctr(&["containers", "rm", id]);
    result
}

/// One end-to-end test.
type Test = fn() -> Result<(), Failed>;

fn main() {
    let mut args = Arguments::from_args();
    // The engines share one storage and one daemon: one test at a time.
    args.test_threads = Some(1);
    let tests: Vec<(&str, Test)> = vec![
        ("podman_run_rm_without_network", podman_run_rm_without_network),
        (
            "podman_run_rm_on_the_default_network",
            podman_run_rm_on_the_default_network,
        ),
        ("podman_run_detached_then_ps", podman_run_detached_then_ps),
        ("podman_exec_options_and_exit_codes", podman_exec_options_and_exit_codes),
        ("podman_logs_and_top", podman_logs_and_top),
        ("podman_pause_unpause_and_update", podman_pause_unpause_and_update),
        ("podman_kill_with_a_signal", podman_kill_with_a_signal),
        (
            "podman_stop_with_a_timeout_and_restart",
            podman_stop_with_a_timeout_and_restart,
        ),
        (
            "podman_rm_force_removes_a_running_container",
            podman_rm_force_removes_a_running_container,
        ),
        ("podman_run_with_a_terminal", podman_run_with_a_terminal),
        ("podman_read_only_with_a_tmpfs", podman_read_only_with_a_tmpfs),
        ("podman_volumes", podman_volumes),
        ("podman_uidmap", podman_uidmap),
        ("podman_privileged", podman_privileged),
        ("podman_pods", podman_pods),
        (
            "podman_passes_json_logs_and_shows_burrows_error",
            podman_passes_json_logs_and_shows_burrows_error,
        ),
        ("podman_rootless_run_and_exec", podman_rootless_run_and_exec),
        ("ctr_run_rm", ctr_run_rm),
        ("ctr_run_rm_with_a_terminal", ctr_run_rm_with_a_terminal),
        (
            "ctr_task_exec_ps_pause_resume_kill_delete",
            ctr_task_exec_ps_pause_resume_kill_delete,
        ),
    ];
    // Listing (as `cargo test -- --list` does) needs no set-up.
    if !args.list {
        if let Err(e) = set_up() {
            eprintln!("engines: set-up failed: {e}");
            tear_down();
            std::process::exit(1);
        }
    }
    let trials = tests.into_iter().map(|(name, f)| Trial::test(name, f)).collect();
    let conclusion = libtest_mimic::run(&args, trials);
    if !args.list {
        tear_down();
    }
    conclusion.exit();
}
