//! The OCI operations: create, start, state, kill, delete, list, run.
//!
//! Each takes the store's lock for its whole length, so two commands on
//! one id cannot interleave, and leaves nothing half-made when it fails.

use burrow::cgroupfs;
use std::collections::HashMap;
use std::os::fd::AsFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};

use crate::error::{OciError, Result};
use crate::state::{check_id, now_rfc3339, process_start, write_atomically, Record, Status, Store};
use crate::{cgroups, convert};

/// Options of `create` and `run`.
#[derive(Debug, Clone, Default)]
pub struct CreateOptions {
    /// The bundle directory (default: the current directory).
    pub bundle: PathBuf,
    /// Write the container's pid here.
    pub pid_file: Option<PathBuf>,
    /// Where to send the terminal's pty master (with `process.terminal`).
    pub console_socket: Option<PathBuf>,
    /// Pass fds 3..3+N on to the container.
    pub preserve_fds: u32,
    /// The bundle's `config.json`, where the caller has loaded it already
    /// (`burrow run` looks at it before deciding how to start); it is
    /// loaded from the bundle otherwise.
    pub config: Option<oci_spec::runtime::Spec>,
}

/// Set the container up and leave it waiting for `start`.
pub fn create(store: &Store, id: &str, opts: &CreateOptions) -> Result<()> {
    let _lock = store.reserve(id)?;
    burrow::fault::point("create:reserved");
    let (mut spec, mut record, resources, hooks, listener) = match prepare(store, id, opts, true) {
        Ok(prepared) => prepared,
        Err(e) => {
            let _ = store.remove(id);
            return Err(e);
        }
    };
    let fifo = store.fifo(id);
    let intended = std::mem::take(&mut record.cgroups);
    let made = make_fifo(&fifo).and_then(|()| {
        place(store, &mut record, &mut spec, &intended, resources.as_ref())?;
        burrow::fault::point("create:cgroups");
        let mut container = burrow::spawn_with(&spec, checkpoints(&record, &hooks, &listener))?;
        let recorded = finish_record(store, record.clone(), container.pid().as_raw(), opts);
        if recorded.is_err() {
            // Not recorded means not reachable by any command: end it.
            let _ = container.signal(nix::sys::signal::Signal::SIGKILL);
            let _ = container.wait();
        }
        recorded
    });
    if made.is_err() {
        undo(store, &record, &hooks);
    }
    made
}

/// Make the container's cgroups (recording them at once, so a `create`
/// killed from here on leaves something `delete --force` can clean), and
/// apply its resources there.
fn place(
    store: &Store,
    record: &mut Record,
    spec: &mut burrow::ContainerSpec,
    intended: &[PathBuf],
    resources: Option<&(oci_spec::runtime::LinuxResources, Vec<oci_spec::runtime::LinuxDevice>)>,
) -> Result<()> {
    // Recorded before they exist: a create killed from here on leaves a
    // record that `delete --force` removes them by (rmdir only: one that
    // was there before and is in use stays).
    record.cgroups = intended.to_vec();
    store.save(record)?;
    // A failed make removed what it made itself: the directories that were
    // there before are not the container's to remove.
    let made = cgroups::make(intended, record.cgroups_asked_for).inspect_err(|_| record.cgroups.clear())?;
    // Then what was made, and where the container goes (whose processes
    // `delete --force` ends): known only now, since a directory that was
    // there before may hold processes not the container's. (Checking
    // first would cost a lookup in each shared parent, which waits while
    // other containers make or remove theirs; this save rewrites the file
    // in place, which costs less.)
    record.cgroups = made.created;
    record.placement = made.leaves;
    store.save(record)?;
    crate::resources::apply(
        resources.map(|(r, _)| r),
        resources.map(|(_, d)| d.as_slice()).unwrap_or_default(),
        &record.placement,
    )?;
    spec.cgroups = record.placement.clone();
    Ok(())
}

/// Undo a failed create: its cgroups, its state, and the poststop hooks
/// (which the spec runs whenever a container goes away).
fn undo(store: &Store, record: &Record, hooks: &crate::hooks::Hooks) {
    cgroups::remove(&record.cgroups, &record.placement);
    let _ = store.remove(&record.id);
    crate::hooks::run_warning("poststop", &hooks.poststop, &hook_state(record, 0, "stopped"));
}

/// The name of `uid` in `/etc/passwd` (empty if it has none), read as runc
/// reads it: no NSS modules, which a static build could not load.
fn user_name(uid: u32) -> String {
    std::fs::read_to_string("/etc/passwd")
        .unwrap_or_default()
        .lines()
        .find_map(|line| {
            let mut fields = line.split(':');
            let name = fields.next()?;
            (fields.nth(1)?.parse() == Ok(uid)).then(|| name.to_string())
        })
        .unwrap_or_default()
}

/// Load and convert the bundle; nothing is created yet.
fn prepare(store: &Store, id: &str, opts: &CreateOptions, gated: bool) -> Result<Prepared> {
    check_id(id)?;
    let bundle =
        std::fs::canonicalize(&opts.bundle).map_err(|e| OciError::Bundle(format!("{}: {e}", opts.bundle.display())))?;
    let loaded;
    let config = match &opts.config {
        Some(config) => config,
        None => {
            loaded = convert::load(&bundle)?;
            &loaded
        }
    };
    let fifo = store.fifo(id);
    let console = opts
        .console_socket
        .as_ref()
        .map(|p| std::path::absolute(p).unwrap_or_else(|_| p.clone()));
    // Without a cgroupsPath the container still gets a cgroup of its own
    // (named after it, below burrow's), so its processes can be found.
    let asked = config
        .linux()
        .as_ref()
        .and_then(|l| l.cgroups_path().clone())
        .filter(|p| !p.as_os_str().is_empty());
    let cgroups_asked_for = asked.is_some();
    let cgroups_path = asked.unwrap_or_else(|| PathBuf::from(id));
    let cgroup_dirs = cgroups::dirs(&cgroups_path)?;
    let mut spec = convert::to_spec(
        config,
        &bundle,
        gated.then_some(fifo.as_path()),
        console.as_deref(),
        &cgroup_dirs,
    )?;
    spec.preserve_fds = opts.preserve_fds;
    let rootfs = match &spec.root {
        burrow::Root::Directory(dir) => dir.clone(),
        _ => bundle.join("rootfs"),
    };
    let owner = user_name(nix::unistd::geteuid().as_raw());
    let record = Record {
        id: id.into(),
        pid: 0,
        start_time: 0,
        bundle,
        rootfs,
        created: now_rfc3339(),
        annotations: config
            .annotations()
            .clone()
            .unwrap_or_default()
            .into_iter()
            .collect::<HashMap<_, _>>(),
        owner,
        cgroups: cgroup_dirs,
        placement: Vec::new(),
        cgroups_asked_for,
    };
    let resources = config.linux().as_ref().and_then(|l| l.resources().clone()).map(|r| {
        (
            r,
            config
                .linux()
                .as_ref()
                .and_then(|l| l.devices().clone())
                .unwrap_or_default(),
        )
    });
    let hooks = crate::hooks::Hooks::of(config);
    let listener = config.linux().as_ref().and_then(|l| l.seccomp().clone()).and_then(|s| {
        Some((
            s.listener_path().clone()?,
            s.listener_metadata().clone().unwrap_or_default(),
        ))
    });
    Ok((spec, record, resources, hooks, listener))
}

/// The state a hook reads on its standard input.
fn hook_state(record: &Record, pid: i32, status: &str) -> String {
    container_state(record, pid, status).to_string()
}

/// The runtime-spec container state (hooks read it; a seccomp agent gets
/// it with the listener).
fn container_state(record: &Record, pid: i32, status: &str) -> serde_json::Value {
    serde_json::json!({
        "ociVersion": crate::state::OCI_VERSION,
        "id": record.id,
        "status": status,
        "pid": pid,
        "bundle": record.bundle,
        "annotations": record.annotations,
    })
}

/// Run the createRuntime hooks at the container's pause; their state (with
/// the pid) also goes to the hooks the container runs itself.
fn at_pause<'a>(
    record: &'a Record,
    hooks: &'a crate::hooks::Hooks,
) -> impl FnOnce(nix::unistd::Pid) -> burrow::Result<Option<String>> + 'a {
    move |pid| {
        let state = hook_state(record, pid.as_raw(), "creating");
        crate::hooks::run("createRuntime", &hooks.create_runtime, &state).map_err(|e| {
            burrow::Error::Setup(burrow::SetupError {
                step: burrow::Step::Hook,
                path: None,
                errno: None,
                message: e.to_string(),
            })
        })?;
        Ok(Some(state))
    }
}

/// What `prepare` makes: the core spec, the record to save, the resources
/// to apply once the cgroups exist.
type Prepared = (
    burrow::ContainerSpec,
    Record,
    Option<(oci_spec::runtime::LinuxResources, Vec<oci_spec::runtime::LinuxDevice>)>,
    crate::hooks::Hooks,
    Listener,
);

/// Where the seccomp notification listener goes (`listenerPath`) and the
/// metadata sent with it.
type Listener = Option<(PathBuf, String)>;

/// The spawn checkpoints of a container: hooks at the pause, and the
/// seccomp listener sent to its agent as soon as it exists.
fn checkpoints<'a>(
    record: &'a Record,
    hooks: &'a crate::hooks::Hooks,
    listener: &'a Listener,
) -> burrow::Checkpoints<'a> {
    burrow::Checkpoints {
        at_pause: Box::new(at_pause(record, hooks)),
        seccomp_listener: listener.as_ref().map(|(path, metadata)| {
            Box::new(move |pid: nix::unistd::Pid, fd| {
                let state = container_state(record, pid.as_raw(), "creating");
                crate::seccomp::send_listener(path, fd, state, pid.as_raw(), metadata)
                    .map_err(|e| burrow::Error::Channel(e.to_string()))
            }) as burrow::ListenerHandler
        }),
    }
}

fn make_fifo(fifo: &Path) -> Result<()> {
    nix::unistd::mkfifo(fifo, nix::sys::stat::Mode::from_bits_truncate(0o600))
        .map_err(|e| OciError::io(format!("creating {}", fifo.display()), e.into()))?;
    // The container reopens it after switching to its own user: anyone may
    // write it (the directory stays private), as with runc's 0622.
    std::fs::set_permissions(fifo, std::os::unix::fs::PermissionsExt::from_mode(0o622))
        .map_err(|e| OciError::io(format!("chmod {}", fifo.display()), e))
}

/// Record the started process and write the pid file.
fn finish_record(store: &Store, mut record: Record, pid: i32, opts: &CreateOptions) -> Result<()> {
    record.pid = pid;
    record.start_time = process_start(pid).map(|(t, _)| t).unwrap_or(0);
    store.save(&record)?;
    burrow::fault::point("create:recorded");
    if let Some(pid_file) = &opts.pid_file {
        write_atomically(pid_file, pid.to_string().as_bytes())?;
    }
    burrow::fault::point("create:pid-file");
    Ok(())
}

/// Release a created container: it execs its process.
pub fn start(store: &Store, id: &str) -> Result<()> {
    let _lock = store.lock_id(id)?;
    let record = store.load(id)?;
    let status = record.status(store);
    if status != Status::Created {
        return Err(wrong_state(id, status, "only a created container can be started"));
    }
    let fifo = store.fifo(id);
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(&fifo)
        .map_err(|e| OciError::io(format!("opening {}", fifo.display()), e))?;
    // The container's open for writing returns now; it writes one byte.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let mut fds = [PollFd::new(file.as_fd(), PollFlags::POLLIN)];
        let _ = poll(&mut fds, PollTimeout::from(100u16));
        let mut byte = [0u8; 1];
        match nix::unistd::read(&file, &mut byte) {
            Ok(1) => break,
            Ok(_) | Err(nix::errno::Errno::EAGAIN) if record.alive() && Instant::now() < deadline => continue,
            _ => {
                return Err(wrong_state(
                    id,
                    Status::Stopped,
                    "its process ended before it could be started",
                ));
            }
        }
    }
    std::fs::remove_file(&fifo).map_err(|e| OciError::io(format!("removing {}", fifo.display()), e))?;
    if let Ok(config) = convert::load(&record.bundle) {
        let hooks = crate::hooks::Hooks::of(&config);
        crate::hooks::run_warning(
            "poststart",
            &hooks.poststart,
            &hook_state(&record, record.pid, "running"),
        );
    }
    Ok(())
}

fn wrong_state(id: &str, status: Status, what: &str) -> OciError {
    OciError::WrongState {
        id: id.into(),
        status: status.as_str().into(),
        what: what.into(),
    }
}

/// runc's `state` JSON of `id`.
pub fn state(store: &Store, id: &str) -> Result<serde_json::Value> {
    let record = store.load(id)?;
    Ok(record.state_json(record.status(store)))
}

/// The state JSON of every container.
pub fn list(store: &Store) -> Result<Vec<serde_json::Value>> {
    Ok(store
        .ids()?
        .iter()
        .filter_map(|id| store.load(id).ok())
        .map(|r| r.state_json(r.status(store)))
        .collect())
}

/// Parse `TERM`, `SIGTERM`, `sigterm` or `15`.
pub fn parse_signal(s: &str) -> Result<i32> {
    if let Ok(n) = s.parse::<i32>() {
        // 0 only asks whether the process is there, as kill(2) does.
        return if (0..=64).contains(&n) {
            Ok(n)
        } else {
            Err(OciError::BadSignal(s.into()))
        };
    }
    let upper = s.to_ascii_uppercase();
    let name = if upper.starts_with("SIG") {
        upper
    } else {
        format!("SIG{upper}")
    };
    name.parse::<nix::sys::signal::Signal>()
        .map(|sig| sig as i32)
        .map_err(|_| OciError::BadSignal(s.into()))
}

/// Send `signal` to the container's process, or with `all` to every
/// process in its pid namespace.
pub fn kill(store: &Store, id: &str, signal: i32, all: bool) -> Result<()> {
    let _lock = store.lock_id(id)?;
    let record = store.load(id)?;
    let status = record.status(store);
    let pidfd = match record.pidfd() {
        Some(fd) if status != Status::Stopped => fd,
        _ => return Err(wrong_state(id, Status::Stopped, "there is no process to signal")),
    };
    if all {
        // cgroup2 kills a whole tree at once, new forks included.
        if signal == libc::SIGKILL {
            if let Some(leaf) = cgroups::v2_leaf(&record.placement).filter(|l| cgroupfs::exists(&l.join("cgroup.kill")))
            {
                let _ = cgroupfs::write(&leaf.join("cgroup.kill"), "1");
            }
        }
        for pid in container_processes(&record) {
            if let Ok(fd) = burrow::open_pidfd(pid) {
                let _ = burrow::signal_pidfd(fd.as_fd(), signal);
            }
        }
    }
    burrow::signal_pidfd(pidfd.as_fd(), signal).map_err(OciError::Core)
}

/// Every process of the container (host pids): those in its cgroup when
/// it was placed in one; else those in its pid namespace when it has its
/// own (it is pid 1 there, so not a namespace it joined, such as a pod's);
/// else only its own process. Never the caller's whole namespace.
fn container_processes(record: &Record) -> Vec<i32> {
    let mut pids: Vec<i32> = match record
        .placement
        .iter()
        .find(|d| cgroupfs::exists(&d.join("cgroup.procs")))
    {
        Some(leaf) => cgroups::tree_procs(leaf),
        None => {
            let theirs = std::fs::read_link(format!("/proc/{}/ns/pid", record.pid));
            let ours = std::fs::read_link("/proc/self/ns/pid");
            match (theirs, ours) {
                (Ok(ns), Ok(own)) if ns != own && is_namespace_init(record.pid) => std::fs::read_dir("/proc")
                    .into_iter()
                    .flatten()
                    .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
                    .filter(|p| std::fs::read_link(format!("/proc/{p}/ns/pid")).is_ok_and(|n| n == ns))
                    .collect(),
                _ => vec![record.pid],
            }
        }
    };
    pids.sort_unstable();
    pids.dedup();
    pids
}

/// Whether `pid` is pid 1 of its own pid namespace (the last `NSpid`).
fn is_namespace_init(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/status")).is_ok_and(|status| {
        status
            .lines()
            .find_map(|l| l.strip_prefix("NSpid:"))
            .and_then(|ids| ids.split_whitespace().last())
            == Some("1")
    })
}

/// Remove a container; a created or running one only with `force` (which
/// kills it first). A missing id is fine with `force`.
pub fn delete(store: &Store, id: &str, force: bool) -> Result<()> {
    let _lock = match store.lock_id(id) {
        Ok(lock) => lock,
        Err(OciError::NotFound(_)) if force => return Ok(()),
        Err(e) => return Err(e),
    };
    let record = match store.load(id) {
        Ok(r) => r,
        // A create killed half-way leaves a directory without state.
        Err(OciError::NotFound(_)) if store.dir(id).exists() && force => return store.remove(id),
        Err(OciError::NotFound(_)) if force => return Ok(()),
        Err(e) => return Err(e),
    };
    let status = record.status(store);
    if matches!(status, Status::Running | Status::Paused) && !force {
        return Err(wrong_state(id, status, "stop it first or use --force"));
    }
    if let Some(pidfd) = record.pidfd() {
        let _ = burrow::signal_pidfd(pidfd.as_fd(), libc::SIGKILL);
        for pid in container_processes(&record) {
            if let Ok(fd) = burrow::open_pidfd(pid) {
                let _ = burrow::signal_pidfd(fd.as_fd(), libc::SIGKILL);
            }
        }
        // Killed, a paused container's processes die once thawed.
        cgroups::thaw(&record.placement);
        // A pidfd polls readable once the process has exited.
        let mut fds = [PollFd::new(pidfd.as_fd(), PollFlags::POLLIN)];
        let _ = poll(&mut fds, PollTimeout::from(5000u16));
    }
    cgroups::remove(&record.cgroups, &record.placement);
    store.remove(id)?;
    if let Ok(config) = convert::load(&record.bundle) {
        let hooks = crate::hooks::Hooks::of(&config);
        crate::hooks::run_warning("poststop", &hooks.poststop, &hook_state(&record, 0, "stopped"));
    }
    Ok(())
}

/// Create and start; in the foreground wait for the container and return
/// its exit code (removing it afterwards), detached return at once.
pub fn run(store: &Store, id: &str, opts: &CreateOptions, detach: bool) -> Result<i32> {
    if detach {
        create(store, id, opts)?;
        start(store, id)?;
        return Ok(0);
    }
    let (spec, record, hooks, listener) = {
        let _lock = store.reserve(id)?;
        let (mut spec, mut record, resources, hooks, listener) = match prepare(store, id, opts, false) {
            Ok(prepared) => prepared,
            Err(e) => {
                let _ = store.remove(id);
                return Err(e);
            }
        };
        let intended = std::mem::take(&mut record.cgroups);
        if let Err(e) = place(store, &mut record, &mut spec, &intended, resources.as_ref()) {
            undo(store, &record, &hooks);
            return Err(e);
        }
        (spec, record, hooks, listener)
    };
    let (dirs, leaves) = (record.cgroups.clone(), record.placement.clone());
    let mut saved = Ok(());
    let status = burrow::run_with(&spec, checkpoints(&record, &hooks, &listener), |pid| {
        saved = finish_record(store, record.clone(), pid.as_raw(), opts);
        crate::hooks::run_warning(
            "poststart",
            &hooks.poststart,
            &hook_state(&record, pid.as_raw(), "running"),
        );
    });
    cgroups::remove(&dirs, &leaves);
    let _ = store.remove(id);
    crate::hooks::run_warning("poststop", &hooks.poststop, &hook_state(&record, 0, "stopped"));
    saved?;
    Ok(status?.code())
}

/// Options of `exec`.
#[derive(Debug, Clone, Default)]
pub struct ExecOptions {
    /// A process.json (an OCI `process` object) to run instead of `args`.
    pub process: Option<PathBuf>,
    /// The command, when there is no process file.
    pub args: Vec<String>,
    /// Extra `KEY=VALUE` variables.
    pub env: Vec<String>,
    /// Working directory.
    pub cwd: Option<PathBuf>,
    /// `uid[:gid]`.
    pub user: Option<String>,
    /// Extra supplementary groups.
    pub additional_gids: Vec<u32>,
    /// Capabilities to add to the process's sets.
    pub caps: Vec<String>,
    /// Set `no_new_privs`.
    pub no_new_privs: bool,
    /// Return once it runs instead of waiting.
    pub detach: bool,
    /// Write its pid here.
    pub pid_file: Option<PathBuf>,
    /// Pass fds 3..3+N on.
    pub preserve_fds: u32,
    /// Give the process a terminal (needs `console_socket`).
    pub tty: bool,
    /// Where to send the terminal's pty master.
    pub console_socket: Option<PathBuf>,
}

/// Run a further process in a running container: with `detach`, return 0
/// once it runs; otherwise wait and return its exit code.
pub fn exec(store: &Store, id: &str, opts: &ExecOptions) -> Result<i32> {
    let (record, config) = {
        let _lock = store.lock_id(id)?;
        let record = store.load(id)?;
        let status = record.status(store);
        if status == Status::Stopped || status == Status::Paused {
            return Err(wrong_state(id, status, "exec needs a created or running container"));
        }
        let config = convert::load(&record.bundle)?;
        (record, config)
    };
    // The container's own process is the template, as with runc.
    let mut process = config.process().clone().unwrap_or_default();
    if let Some(path) = &opts.process {
        let text = std::fs::read_to_string(path).map_err(|e| OciError::Bundle(format!("{}: {e}", path.display())))?;
        process = convert::parse_process(&path.display().to_string(), &text)?;
    } else {
        process.set_args(Some(opts.args.clone()));
        process.set_terminal(Some(opts.tty));
    }
    let args = process.args().clone().unwrap_or_default();
    let mut excursion = burrow::Excursion::new(record.pid)?;
    // The container's seccomp profile holds for what runs in it later too.
    if let Some(profile) = config.linux().as_ref().and_then(|l| l.seccomp().as_ref()) {
        excursion = excursion.seccomp(crate::seccomp::profile(profile)?);
    }
    let mut env: Vec<String> = process.env().clone().unwrap_or_default();
    env.extend(opts.env.iter().cloned());
    for (i, kv) in env.iter().enumerate() {
        let (k, v) = kv.split_once('=').ok_or_else(|| OciError::Field {
            field: format!("env[{i}]"),
            reason: format!("{kv:?} is not KEY=VALUE"),
        })?;
        excursion = excursion.env(k, v);
    }
    excursion = excursion.cwd(opts.cwd.clone().unwrap_or_else(|| process.cwd().clone()));
    let mut user = burrow::User {
        uid: process.user().uid(),
        gid: process.user().gid(),
        additional_gids: process.user().additional_gids().clone().unwrap_or_default(),
    };
    if let Some(spec) = &opts.user {
        let mut parts = spec.splitn(2, ':');
        let parse = |s: Option<&str>| {
            s.map(|v| {
                v.parse::<u32>().map_err(|_| OciError::Field {
                    field: "--user".into(),
                    reason: format!("{spec:?} is not uid[:gid]"),
                })
            })
        };
        user.uid = parse(parts.next()).transpose()?.unwrap_or(0);
        // Without a gid, the config's stays (as with runc).
        if let Some(gid) = parse(parts.next()).transpose()? {
            user.gid = gid;
        }
    }
    user.additional_gids.extend(&opts.additional_gids);
    excursion = excursion.user(user);
    let mut caps = convert::capabilities(&process).unwrap_or_default();
    for cap in &opts.caps {
        for set in [&mut caps.bounding, &mut caps.effective, &mut caps.permitted] {
            set.push(cap.clone());
        }
    }
    excursion = excursion
        .rlimits(convert::rlimits(&process)?)
        .capabilities(caps)
        .no_new_privileges(opts.no_new_privs || process.no_new_privileges().unwrap_or(false))
        .preserve_fds(opts.preserve_fds);
    for dir in record.placement.iter().filter(|d| cgroupfs::exists(d)) {
        excursion = excursion.cgroup(dir);
    }
    match (process.terminal().unwrap_or(false), &opts.console_socket) {
        (true, Some(socket)) => {
            excursion = excursion.terminal(burrow::Terminal {
                console_socket: std::path::absolute(socket).unwrap_or_else(|_| socket.clone()),
                size: process.console_size().map(|s| (s.height() as u16, s.width() as u16)),
            })
        }
        (true, None) => {
            return Err(OciError::Unsupported {
                field: "--tty".into(),
                reason: "a terminal needs --console-socket to send it to".into(),
            })
        }
        (false, Some(socket)) => {
            return Err(OciError::Unsupported {
                field: "--console-socket".into(),
                reason: format!("{}: only valid with a terminal (--tty)", socket.display()),
            })
        }
        (false, None) => {}
    }
    if opts.detach {
        let pid = excursion.spawn_command(&args)?;
        if let Some(pid_file) = &opts.pid_file {
            write_atomically(pid_file, pid.to_string().as_bytes())?;
        }
        Ok(0)
    } else {
        let mut written = Ok(());
        let status = excursion.forward_signals(true).run_command_with(&args, |pid| {
            if let Some(pid_file) = &opts.pid_file {
                written = write_atomically(pid_file, pid.to_string().as_bytes());
            }
        })?;
        written?;
        Ok(status.code())
    }
}

/// The pids (on the host) of every process of container `id`: those in
/// its cgroups when it has any, else those in its pid namespace.
pub fn pids(store: &Store, id: &str) -> Result<Vec<i32>> {
    let record = store.load(id)?;
    if record.status(store) == Status::Stopped {
        return Ok(Vec::new());
    }
    let pids = container_processes(&record);
    Ok(pids)
}
