//! One test (or more) for every row of the seed's table
//! (`shared/seed/README.md`), each starting real containers.

mod common;

use std::path::PathBuf;

use burrow::{ContainerSpec, Error, Excursion, ExitStatus, Namespace, NamespaceSet, Step};
use common::{sandbox, sh, Scratch};
use nix::sys::signal::Signal;
use serde::{Deserialize, Serialize};

// user-namespace-supported?, unprivileged-user-namespace-supported?,
// setgroups-supported?

#[test]
fn probes_agree_with_the_kernel_files() {
    assert_eq!(
        burrow::user_namespace_supported(),
        std::path::Path::new("/proc/self/ns/user").exists()
    );
    assert_eq!(
        burrow::setgroups_supported(),
        std::path::Path::new("/proc/self/setgroups").exists()
    );
    let max: u64 = std::fs::read_to_string("/proc/sys/user/max_user_namespaces")
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert_eq!(burrow::unprivileged_user_namespace_supported(), max > 0);
    let p = burrow::probe();
    assert!(p.namespaces.contains(&Namespace::User) && p.namespaces.contains(&Namespace::Mnt));
}

// %namespaces and namespaces->bit-mask

#[test]
fn the_default_set_is_the_seeds_and_maps_to_clone_flags() {
    let set = NamespaceSet::seed_default();
    let names: Vec<&str> = set.iter().map(Namespace::name).collect();
    assert_eq!(names, ["user", "cgroup", "ipc", "uts", "net", "pid", "mnt"]);
    let expected = libc::CLONE_NEWUSER
        | libc::CLONE_NEWCGROUP
        | libc::CLONE_NEWIPC
        | libc::CLONE_NEWUTS
        | libc::CLONE_NEWNET
        | libc::CLONE_NEWPID
        | libc::CLONE_NEWNS;
    assert_eq!(set.clone_flags().bits(), expected);
    assert_eq!(ContainerSpec::builder().command(["x"]).build().unwrap().namespaces, set);
    assert!("bogus".parse::<Namespace>().is_err());
    assert_eq!(
        "time".parse::<Namespace>().unwrap().clone_flag().bits(),
        libc::CLONE_NEWTIME
    );
}

// mount-file-systems

#[test]
fn the_root_is_an_ephemeral_tmpfs_with_proc_sys_and_dev() {
    let out = Scratch::new();
    let status = sh(
        sandbox(&out),
        "echo $$ > /out/pid; cat /proc/mounts > /out/mounts; ls -A /dev > /out/dev; \
         readlink /dev/ptmx /dev/fd /dev/stdin /dev/stdout /dev/stderr > /out/links; \
         stat -c %a / > /out/rootmode; ls -A / > /out/root",
    );
    assert_eq!(status, ExitStatus::Exited(0));
    assert_eq!(out.read("pid").trim(), "1");
    let mounts = out.read("mounts");
    let fstype = |dir: &str| {
        mounts
            .lines()
            .map(|l| l.split(' ').collect::<Vec<_>>())
            .filter(|f| f[1] == dir)
            .map(|f| format!("{} {}", f[2], f[3].split(',').next().unwrap()))
            .next_back()
    };
    assert_eq!(fstype("/").as_deref(), Some("tmpfs rw"), "{mounts}");
    assert_eq!(fstype("/proc").as_deref(), Some("proc rw"), "{mounts}");
    assert_eq!(fstype("/sys").as_deref(), Some("sysfs ro"), "{mounts}");
    assert_eq!(fstype("/dev").as_deref(), Some("tmpfs rw"), "{mounts}");
    assert_eq!(fstype("/dev/pts").as_deref(), Some("devpts rw"), "{mounts}");
    assert_eq!(fstype("/usr").map(|s| s.ends_with(" ro")), Some(true), "{mounts}");
    assert!(!mounts.contains("real-root"), "{mounts}");
    assert_eq!(out.read("rootmode").trim(), "755");
    let mut expected: Vec<&str> = burrow::DEVICES
        .iter()
        .filter(|d| std::path::Path::new(d).exists())
        .map(|d| d.trim_start_matches("/dev/"))
        .chain(["pts", "ptmx", "fd", "stdin", "stdout", "stderr"])
        .collect();
    expected.sort();
    let mut dev: Vec<String> = out.read("dev").lines().map(str::to_owned).collect();
    dev.sort();
    assert_eq!(dev, expected, "no /dev/console without a terminal on stdin");
    assert_eq!(
        out.read("links"),
        "/dev/pts/ptmx\n/proc/self/fd\n/proc/self/fd/0\n/proc/self/fd/1\n/proc/self/fd/2\n"
    );
    let mut root: Vec<String> = out.read("root").lines().map(str::to_owned).collect();
    root.sort();
    assert!(
        root.iter()
            .all(|e| ["bin", "dev", "lib", "lib64", "out", "proc", "sbin", "sys", "usr"].contains(&e.as_str())),
        "{root:?}"
    );
}

#[test]
fn proc_needs_a_pid_namespace_and_sys_a_net_namespace() {
    let out = Scratch::new();
    let script = "test -e /proc/self && echo proc; test -e /sys/kernel && echo sys; echo $$ > /out/pid";
    let b = sandbox(&out).share(Namespace::Pid).share(Namespace::Net);
    assert_eq!(sh(b, &format!("({script}) > /out/seen")), ExitStatus::Exited(0));
    assert_eq!(out.read("seen"), "", "neither /proc nor /sys without their namespaces");
    assert_ne!(out.read("pid").trim(), "1");
    let b = sandbox(&out).share(Namespace::Net);
    assert_eq!(sh(b, &format!("({script}) > /out/seen")), ExitStatus::Exited(0));
    assert_eq!(out.read("seen"), "proc\n", "/proc with a pid namespace only");
    let b = sandbox(&out).share(Namespace::Pid);
    assert_eq!(sh(b, &format!("({script}) > /out/seen")), ExitStatus::Exited(0));
    assert_eq!(out.read("seen"), "sys\n", "/sys with a net namespace only");
}

#[test]
fn caller_mounts_apply_in_order_read_only_and_read_write() {
    let out = Scratch::new();
    let shared = Scratch::new();
    let b = sandbox(&out)
        .bind(shared.path(), "/data")
        .bind_ro(shared.path(), "/data-ro")
        .tmpfs("/data/tmp")
        .symlink("/data", "/link")
        .file("/etc/motd", "hello\n");
    let status = sh(
        b,
        "echo written > /link/file; echo no > /data-ro/x 2>/dev/null; echo ro=$? > /out/ro; \
         touch /data/tmp/t; cat /etc/motd > /out/motd",
    );
    assert_eq!(status, ExitStatus::Exited(0));
    assert_eq!(
        std::fs::read_to_string(shared.path().join("file")).unwrap(),
        "written\n"
    );
    assert_eq!(out.read("ro"), "ro=2\n");
    assert!(!shared.path().join("x").exists());
    assert!(!shared.path().join("tmp/t").exists(), "the tmpfs covers /data/tmp");
    assert_eq!(out.read("motd"), "hello\n");
}

#[test]
fn a_root_directory_cannot_redirect_mounts_to_the_host_with_symlinks() {
    let rootfs = Scratch::new();
    let host_target = Scratch::new();
    let out = Scratch::new();
    std::fs::create_dir(rootfs.path().join("bin")).unwrap();
    common::install_busybox(&rootfs.path().join("bin/busybox"));
    std::os::unix::fs::symlink("busybox", rootfs.path().join("bin/sh")).unwrap();
    // A hostile rootfs: /etc points at a host directory.
    std::os::unix::fs::symlink(host_target.path(), rootfs.path().join("etc")).unwrap();
    let spec = ContainerSpec::builder()
        .root(burrow::Root::Directory(rootfs.path().to_path_buf()))
        .bind(out.path(), "/out")
        .tmpfs("/etc/planted")
        .command([
            "/bin/sh",
            "-c",
            "/bin/busybox cat /proc/1/cmdline > /out/cmd; echo ok > /out/ok",
        ])
        .build()
        .unwrap();
    assert_eq!(burrow::run(&spec).unwrap(), ExitStatus::Exited(0));
    assert_eq!(out.read("ok"), "ok\n");
    assert!(
        std::fs::read_dir(host_target.path()).unwrap().next().is_none(),
        "nothing may be created on the host through the symlink"
    );
    assert!(rootfs
        .path()
        .join(host_target.path().strip_prefix("/").unwrap())
        .join("planted")
        .is_dir());
}

// initialize-user-namespace

#[test]
fn the_parent_writes_a_one_line_map_of_the_caller() {
    let out = Scratch::new();
    let status = sh(
        sandbox(&out),
        "cat /proc/self/uid_map /proc/self/gid_map /proc/self/setgroups > /out/maps; id -u > /out/id",
    );
    assert_eq!(status, ExitStatus::Exited(0));
    let uid = nix::unistd::getuid().as_raw();
    let gid = nix::unistd::getgid().as_raw();
    let fields: Vec<Vec<String>> = out
        .read("maps")
        .lines()
        .map(|l| l.split_whitespace().map(str::to_owned).collect())
        .collect();
    assert_eq!(fields[0], ["0", &uid.to_string(), "1"]);
    assert_eq!(fields[1], ["0", &gid.to_string(), "1"]);
    let setgroups = if uid == 0 { "allow" } else { "deny" };
    assert_eq!(fields[2], [setgroups]);
    assert_eq!(out.read("id").trim(), "0");
}

#[test]
fn guest_ids_choose_who_the_caller_is_inside() {
    let out = Scratch::new();
    let status = sh(
        sandbox(&out).map_caller(1000, 1001, 1),
        "id -u > /out/id; id -g >> /out/id",
    );
    assert_eq!(status, ExitStatus::Exited(0));
    assert_eq!(out.read("id"), "1000\n1001\n");
}

// run-container: errors travel back typed

#[test]
fn a_missing_mount_source_is_reported_with_step_and_path() {
    let spec = ContainerSpec::builder()
        .bind("/nonexistent/burrow-source", "/x")
        .command(["true"])
        .build()
        .unwrap();
    match burrow::spawn(&spec) {
        Err(Error::Setup(report)) => {
            assert_eq!(report.step, Step::Mount);
            assert_eq!(report.path, Some(PathBuf::from("/nonexistent/burrow-source")));
            assert_eq!(report.errno(), Some(nix::errno::Errno::ENOENT));
        }
        other => panic!("expected a setup error, got {other:?}"),
    }
}

#[test]
fn a_mount_under_a_read_only_bind_fails_in_the_child_with_erofs() {
    let out = Scratch::new();
    let spec = sandbox(&out)
        .tmpfs("/usr/burrow-new-dir")
        .command(["true"])
        .build()
        .unwrap();
    match burrow::run(&spec) {
        Err(Error::Setup(report)) => {
            assert_eq!(report.step, Step::Mount);
            assert_eq!(report.path, Some(PathBuf::from("/usr/burrow-new-dir")));
            assert_eq!(report.errno(), Some(nix::errno::Errno::EROFS));
            assert!(report.to_string().contains("Read-only file system"), "{report}");
        }
        other => panic!("expected a setup error, got {other:?}"),
    }
}

#[test]
fn a_command_that_does_not_exist_fails_at_exec() {
    let out = Scratch::new();
    let spec = sandbox(&out).command(["burrow-no-such-command"]).build().unwrap();
    match burrow::spawn(&spec) {
        Err(Error::Setup(report)) => {
            assert_eq!(report.step, Step::Exec);
            assert_eq!(report.errno(), Some(nix::errno::Errno::ENOENT));
        }
        other => panic!("expected an exec error, got {other:?}"),
    }
}

#[test]
fn bad_specs_are_refused_before_anything_starts() {
    let e = ContainerSpec::builder()
        .command(["x"])
        .tmpfs("relative")
        .build()
        .unwrap_err();
    assert!(e.to_string().contains("mounts[0].destination"), "{e}");
    let e = ContainerSpec::builder()
        .share(Namespace::Uts)
        .hostname("h")
        .command(["x"])
        .build()
        .unwrap_err();
    assert!(e.to_string().contains("hostname"), "{e}");
    let e = ContainerSpec::builder().build().unwrap_err();
    assert!(e.to_string().contains("payload"), "{e}");
    let e = ContainerSpec::builder()
        .root(burrow::Root::Directory("/etc/passwd".into()))
        .command(["x"])
        .build()
        .unwrap_err();
    assert!(e.to_string().contains("not a directory"), "{e}");
}

// call-with-container

#[test]
fn the_hook_sees_the_pid_and_the_status_comes_back() {
    let out = Scratch::new();
    let spec = sandbox(&out).command(["sh", "-c", "exit 3"]).build().unwrap();
    let mut seen = None;
    let status = burrow::run_with_hook(&spec, |pid| {
        let ns = std::fs::read_link(format!("/proc/{pid}/ns/pid"));
        seen = Some((pid, ns));
    })
    .unwrap();
    assert_eq!(status, ExitStatus::Exited(3));
    let (pid, ns) = seen.expect("the hook ran");
    assert!(pid.as_raw() > 1);
    assert_ne!(ns.unwrap(), std::fs::read_link("/proc/self/ns/pid").unwrap());
}

#[test]
fn a_signal_death_is_reported_as_such() {
    let out = Scratch::new();
    let spec = sandbox(&out).command(["sleep", "30"]).build().unwrap();
    let status = burrow::run_with_hook(&spec, |pid| {
        nix::sys::signal::kill(pid, Signal::SIGKILL).unwrap();
    })
    .unwrap();
    assert_eq!(status, ExitStatus::Signaled(9));
    assert_eq!(status.code(), 137);
}

#[test]
fn a_closure_runs_as_pid_1_with_a_purified_environment() {
    let spec = ContainerSpec::builder()
        .hostname("thunk")
        .env("ONLY", "this")
        .closure(|| {
            let host = nix::unistd::gethostname().unwrap();
            let env: Vec<(String, String)> = std::env::vars().collect();
            match (std::process::id(), host.to_str(), env.as_slice()) {
                (1, Some("thunk"), [(k, v)]) if k == "ONLY" && v == "this" => 42,
                (1, _, _) => 2,
                _ => 3,
            }
        })
        .build()
        .unwrap();
    assert_eq!(burrow::run(&spec).unwrap(), ExitStatus::Exited(42));
}

#[test]
fn a_time_namespace_can_be_requested() {
    let out = Scratch::new();
    let status = sh(
        sandbox(&out).unshare(Namespace::Time),
        "readlink /proc/self/ns/time > /out/ns",
    );
    assert_eq!(status, ExitStatus::Exited(0));
    assert_ne!(
        out.read("ns").trim(),
        std::fs::read_link("/proc/self/ns/time").unwrap().to_str().unwrap()
    );
}

// container-excursion and container-excursion*

#[derive(Debug, Serialize, Deserialize, PartialEq)]
struct Inside {
    hostname: String,
    pid: u32,
    pid1: String,
    cwd: String,
    env: Vec<String>,
}

#[test]
fn excursions_run_inside_the_containers_namespaces() {
    let out = Scratch::new();
    let spec = sandbox(&out)
        .hostname("visited")
        .command(["sleep", "60"])
        .build()
        .unwrap();
    let mut container = common::KillOnDrop(burrow::spawn(&spec).unwrap());
    let excursion = Excursion::new(container.0.pid().as_raw()).unwrap();
    assert!(excursion.namespaces().contains(Namespace::Mnt));

    let inside: Inside = excursion
        .call(|| Inside {
            hostname: nix::unistd::gethostname().unwrap().into_string().unwrap(),
            pid: std::process::id(),
            pid1: std::fs::read_to_string("/proc/1/cmdline").unwrap().replace('\0', " "),
            cwd: std::env::current_dir().unwrap().display().to_string(),
            env: std::env::vars().map(|(k, _)| k).collect(),
        })
        .unwrap();
    let code = excursion
        .run(|| if std::path::Path::new("/out").is_dir() { 5 } else { 6 })
        .unwrap();
    let command = excursion
        .run_command(&["sh".into(), "-c".into(), "exit 9".into()])
        .unwrap();
    let missing = excursion.run_command(&["burrow-no-such-command".into()]);

    container.0.signal(Signal::SIGKILL).unwrap();
    assert_eq!(container.0.wait().unwrap(), ExitStatus::Signaled(9));

    assert_eq!(inside.hostname, "visited");
    assert!(
        inside.pid > 1 && inside.pid < 100,
        "a pid in the container's namespace: {}",
        inside.pid
    );
    assert_eq!(inside.pid1, "sleep 60 ");
    assert_eq!(inside.cwd, "/");
    assert!(inside.env.is_empty(), "purified: {:?}", inside.env);
    assert_eq!(code, ExitStatus::Exited(5), "the mount namespace is the container's");
    assert_eq!(command, ExitStatus::Exited(9));
    match missing {
        Err(Error::Setup(r)) => assert_eq!(r.step, Step::Exec),
        other => panic!("expected an exec error, got {other:?}"),
    }
}

#[test]
fn excursions_refuse_what_is_not_a_container() {
    assert!(matches!(Excursion::new(i32::MAX - 7), Err(Error::NotAContainer { .. })));
    assert!(matches!(
        Excursion::new(std::process::id() as i32),
        Err(Error::NotAContainer { .. })
    ));
    assert!(matches!(Excursion::new(0), Err(Error::NotAContainer { .. })));
}

#[test]
fn excursions_are_not_dumpable_and_contain_panics() {
    let out = Scratch::new();
    let spec = sandbox(&out).command(["sleep", "60"]).build().unwrap();
    let container = common::KillOnDrop(burrow::spawn(&spec).unwrap());
    let excursion = Excursion::new(container.0.pid().as_raw()).unwrap();
    // SAFETY: PR_GET_DUMPABLE takes no pointers.
    let dumpable = excursion
        .call(|| unsafe { libc::prctl(libc::PR_GET_DUMPABLE, 0, 0, 0, 0) })
        .unwrap();
    assert_eq!(dumpable, 0, "nothing in the container may ptrace burrow's code");
    let panicked = excursion.run(|| panic!("inside the container")).unwrap();
    assert_eq!(panicked, ExitStatus::Exited(101));
}

#[test]
fn a_panicking_closure_ends_the_container_with_101() {
    let spec = ContainerSpec::builder()
        .closure(|| panic!("in the payload"))
        .build()
        .unwrap();
    assert_eq!(burrow::run(&spec).unwrap(), ExitStatus::Exited(101));
}

#[test]
fn maps_that_leave_the_caller_out_make_it_root_of_the_namespace() {
    // Only meaningful for root, who may map any range.
    if !nix::unistd::geteuid().is_root() {
        return;
    }
    let out = Scratch::new();
    let b = sandbox(&out)
        .uid_map(burrow::IdMap::new(0, 300000, 65536))
        .gid_map(burrow::IdMap::new(0, 300000, 65536));
    assert_eq!(
        sh(b, "id -u > /out/id; touch /tmp-probe 2>/dev/null; mkdir /out/made"),
        ExitStatus::Exited(0)
    );
    assert_eq!(out.read("id"), "0\n");
    let owner = std::fs::metadata(out.path().join("made")).map(|m| std::os::unix::fs::MetadataExt::uid(&m));
    assert_eq!(owner.unwrap(), 300000, "uid 0 inside is 300000 on the host");
}

#[test]
fn maps_covering_neither_the_caller_nor_root_are_refused() {
    let e = ContainerSpec::builder()
        .uid_map(burrow::IdMap::new(1000, 123456, 1))
        .command(["true"])
        .build()
        .unwrap_err();
    assert!(
        e.to_string().contains("uid_maps") && e.to_string().contains("neither"),
        "{e}"
    );
}

#[test]
fn a_symlink_cannot_put_a_mount_over_the_root() {
    let rootfs = Scratch::new();
    let out = Scratch::new();
    std::os::unix::fs::symlink("/", rootfs.path().join("data")).unwrap();
    let spec = ContainerSpec::builder()
        .root(burrow::Root::Directory(rootfs.path().to_path_buf()))
        .bind(out.path(), "/data")
        .command(["/nonexistent"])
        .build()
        .unwrap();
    match burrow::spawn(&spec) {
        Err(Error::Setup(r)) => {
            assert_eq!(r.step, Step::Mount);
            assert_eq!(r.errno(), Some(nix::errno::Errno::EBUSY));
            assert!(r.to_string().contains("root itself"), "{r}");
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn a_file_op_does_not_write_through_a_hard_link() {
    let rootfs = Scratch::new();
    let host = Scratch::new();
    std::fs::write(host.path().join("precious"), "host data\n").unwrap();
    std::fs::create_dir(rootfs.path().join("etc")).unwrap();
    std::fs::hard_link(host.path().join("precious"), rootfs.path().join("etc/passwd")).unwrap();
    let spec = ContainerSpec::builder()
        .root(burrow::Root::Directory(rootfs.path().to_path_buf()))
        .file("/etc/passwd", "root::0:0::/:/bin/sh\n")
        .command(["/nonexistent"])
        .build()
        .unwrap();
    match burrow::spawn(&spec) {
        Err(Error::Setup(r)) => assert_eq!(r.errno(), Some(nix::errno::Errno::EPERM), "{r}"),
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert_eq!(
        std::fs::read_to_string(host.path().join("precious")).unwrap(),
        "host data\n"
    );
}
