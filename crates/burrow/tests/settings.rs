//! The spec's settings beyond the seed: generic mounts, masked and
//! read-only paths, a read-only root, sysctl, limits, joining namespaces
//! by path, and the start gate.

mod common;

use std::time::{Duration, Instant};

use burrow::{ExitStatus, Limits, Mount, Namespace, Rlimit};
use common::{sandbox, sh, Scratch};

#[test]
fn masked_and_read_only_paths_and_a_read_only_root() {
    let out = Scratch::new();
    let b = sandbox(&out)
        .masked_path("/proc/version")
        .masked_path("/sys/firmware")
        .masked_path("/does/not/exist")
        .readonly_path("/proc/sys")
        .root_read_only(true);
    let script = "cat /proc/version | wc -c > /out/masked; ls -A /sys/firmware | wc -l > /out/fw; \
                  echo 1 > /proc/sys/kernel/shmmni 2>/dev/null; echo sys=$? > /out/sys; \
                  touch /newfile 2>/dev/null; echo root=$? > /out/root";
    assert_eq!(sh(b, script), ExitStatus::Exited(0));
    assert!(!std::fs::read_to_string("/proc/version").unwrap().is_empty());
    assert_eq!(out.read("masked").trim(), "0", "masked file reads as /dev/null");
    assert_eq!(out.read("fw").trim(), "0", "masked directory is empty");
    assert_eq!(out.read("sys"), "sys=2\n", "read-only /proc/sys");
    assert_eq!(out.read("root"), "root=1\n", "read-only root");
}

#[test]
fn generic_mounts_take_flags_data_and_binds() {
    let out = Scratch::new();
    let data = Scratch::new();
    std::fs::write(data.path().join("f"), "x").unwrap();
    let b = sandbox(&out)
        .mount(Mount::Generic {
            source: "tmpfs".into(),
            destination: "/scratch".into(),
            fstype: "tmpfs".into(),
            flags: libc::MS_NOSUID | libc::MS_NOEXEC,
            data: "mode=700,size=1m".into(),
            clear: 0,
            recursive_set: 0,
            recursive_clear: 0,
            propagation: vec![libc::MS_PRIVATE],
            copy_up: false,
        })
        .mount(Mount::Generic {
            source: data.path().to_path_buf(),
            destination: "/data".into(),
            fstype: "none".into(),
            flags: libc::MS_BIND | libc::MS_REC | libc::MS_RDONLY,
            clear: 0,
            recursive_set: 0,
            recursive_clear: 0,
            data: String::new(),
            propagation: Vec::new(),
            copy_up: false,
        });
    let script = "grep ' /scratch ' /proc/mounts > /out/scratch; stat -c %a /scratch >> /out/scratch; \
                  cat /data/f > /out/data; touch /data/g 2>/dev/null; echo $? >> /out/data";
    assert_eq!(sh(b, script), ExitStatus::Exited(0));
    let scratch = out.read("scratch");
    assert!(
        scratch.contains("nosuid") && scratch.contains("noexec") && scratch.contains("size=1024k"),
        "{scratch}"
    );
    assert!(scratch.ends_with("700\n"), "{scratch}");
    assert_eq!(out.read("data"), "x1\n", "read-only bind");
}

#[test]
fn sysctl_limits_umask_and_no_new_privileges() {
    let out = Scratch::new();
    let b = sandbox(&out)
        .sysctl("kernel.shmmni", "1234")
        .domainname("example.org")
        .limits(Limits {
            rlimits: vec![Rlimit {
                resource: libc::RLIMIT_NOFILE,
                soft: 321,
                hard: 654,
            }],
            no_new_privileges: true,
            umask: Some(0o027),
            oom_score_adj: Some(123),
            personality: Some(0x0040000), // ADDR_NO_RANDOMIZE
        });
    let script = "cat /proc/sys/kernel/shmmni > /out/v; ulimit -n >> /out/v; ulimit -Hn >> /out/v; umask >> /out/v; \
                  grep NoNewPrivs /proc/self/status | tr -d '\\t' >> /out/v; cat /proc/self/oom_score_adj >> /out/v; \
                  domainname >> /out/v; cat /proc/self/personality >> /out/v";
    assert_eq!(sh(b, script), ExitStatus::Exited(0));
    assert_eq!(
        out.read("v"),
        "1234\n321\n654\n0027\nNoNewPrivs:1\n123\nexample.org\n00040000\n"
    );
}

#[test]
fn a_namespace_can_be_joined_by_path() {
    let out = Scratch::new();
    // A first container holds a network namespace; a second one joins it.
    let holder = common::KillOnDrop(burrow::spawn(&sandbox(&out).command(["sleep", "60"]).build().unwrap()).unwrap());
    let netns = format!("/proc/{}/ns/net", holder.0.pid());
    let expected = std::fs::read_link(&netns).unwrap();
    // Joining a namespace owned by another user namespace needs that one
    // too; as root, share the user namespace with the host instead.
    if !nix::unistd::geteuid().is_root() {
        return;
    }
    let b = sandbox(&out).share(Namespace::User).join(Namespace::Net, &netns);
    assert_eq!(sh(b, "readlink /proc/self/ns/net > /out/net"), ExitStatus::Exited(0));
    assert_eq!(out.read("net").trim(), expected.to_str().unwrap());
}

#[test]
fn the_start_gate_holds_the_container_until_opened() {
    let out = Scratch::new();
    let dir = Scratch::new();
    let fifo = dir.path().join("exec.fifo");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
    let spec = sandbox(&out)
        .start_gate(&fifo)
        .command(["sh", "-c", "echo started > /out/started"])
        .build()
        .unwrap();
    let mut container = common::KillOnDrop(burrow::spawn(&spec).unwrap());
    std::thread::sleep(Duration::from_millis(200));
    assert!(!out.path().join("started").exists(), "held at the gate");
    let mut byte = [0u8; 1];
    let n = std::io::Read::read(&mut std::fs::File::open(&fifo).unwrap(), &mut byte).unwrap();
    assert_eq!((n, byte[0]), (1, b'0'));
    assert_eq!(container.0.wait().unwrap(), ExitStatus::Exited(0));
    let deadline = Instant::now() + Duration::from_secs(5);
    while !out.path().join("started").exists() {
        assert!(Instant::now() < deadline);
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn without_essentials_only_the_listed_mounts_exist() {
    let out = Scratch::new();
    let b = sandbox(&out).essentials(false).mount(Mount::Generic {
        source: "proc".into(),
        destination: "/proc".into(),
        fstype: "proc".into(),
        flags: 0,
        clear: 0,
        recursive_set: 0,
        recursive_clear: 0,
        data: String::new(),
        propagation: Vec::new(),
        copy_up: false,
    });
    assert_eq!(
        sh(b, "ls -A /dev | wc -l > /out/dev; test -d /sys; echo $? >> /out/dev"),
        ExitStatus::Exited(0)
    );
    assert_eq!(out.read("dev"), "0\n1\n");
}

#[test]
fn capability_sets_are_exactly_as_configured() {
    let out = Scratch::new();
    let chown = vec!["CAP_CHOWN".to_string()];
    let b = sandbox(&out).capabilities(burrow::Capabilities {
        bounding: vec!["CAP_CHOWN".into(), "CAP_KILL".into()],
        effective: chown.clone(),
        permitted: chown.clone(),
        inheritable: Vec::new(),
        ambient: Vec::new(),
    });
    assert_eq!(
        sh(
            b,
            "grep -E '^Cap(Inh|Eff|Bnd|Amb)' /proc/self/status | tr -d '\\t' > /out/caps"
        ),
        ExitStatus::Exited(0)
    );
    // Root inside gets its bounding set at exec: CHOWN (bit 0) and KILL (bit 5).
    assert_eq!(
        out.read("caps"),
        "CapInh:0000000000000000\nCapEff:0000000000000021\nCapBnd:0000000000000021\nCapAmb:0000000000000000\n"
    );
    let e = burrow::ContainerSpec::builder()
        .command(["true"])
        .capabilities(burrow::Capabilities {
            bounding: vec!["CAP_BOGUS".into()],
            ..Default::default()
        })
        .build()
        .unwrap_err();
    assert!(
        e.to_string().contains("capabilities.bounding") && e.to_string().contains("CAP_BOGUS"),
        "{e}"
    );
}

/// A container with a user namespace of its own that joins a network
/// namespace by path (here the caller's): it may not mount a sysfs for it,
/// so it gets the host's, read-only. The spawning thread is back in its own
/// namespace afterwards.
#[test]
fn sysfs_for_a_joined_network_namespace() {
    let out = Scratch::new();
    let own = std::fs::read_link("/proc/thread-self/ns/net").unwrap();
    let b = sandbox(&out)
        .share(Namespace::Net)
        .join(Namespace::Net, "/proc/self/ns/net")
        .mount(Mount::Generic {
            source: "sysfs".into(),
            destination: "/sys".into(),
            fstype: "sysfs".into(),
            flags: libc::MS_RDONLY | libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC,
            clear: 0,
            recursive_set: 0,
            recursive_clear: 0,
            data: String::new(),
            propagation: Vec::new(),
            copy_up: false,
        });
    let script = "readlink /proc/self/ns/net > /out/net; grep ' /sys ' /proc/mounts > /out/sys; \
                  test -d /sys/class/net/lo; echo $? >> /out/sys";
    assert_eq!(sh(b, script), ExitStatus::Exited(0));
    assert_eq!(out.read("net").trim(), own.to_str().unwrap(), "joined");
    let sys = out.read("sys");
    assert!(sys.contains(" ro,") && sys.ends_with("\n0\n"), "{sys}");
    assert_eq!(std::fs::read_link("/proc/thread-self/ns/net").unwrap(), own);
}

/// A root directory whose /dev/null is a link to a /proc/sys file: masking
/// would bind that file over the masked path (the CVE-2025-31133 class).
/// The mask checks that /dev/null is the null device, and refuses.
#[test]
fn a_mask_is_never_made_of_a_fake_dev_null() {
    let rootfs = Scratch::new();
    for dir in ["bin", "dev", "proc"] {
        std::fs::create_dir(rootfs.path().join(dir)).unwrap();
    }
    common::install_busybox(&rootfs.path().join("bin/busybox"));
    std::os::unix::fs::symlink("/proc/sys/kernel/core_pattern", rootfs.path().join("dev/null")).unwrap();
    let spec = burrow::ContainerSpec::builder()
        .essentials(false)
        .root(burrow::Root::Directory(rootfs.path().to_path_buf()))
        .mount(Mount::Proc {
            destination: "/proc".into(),
        })
        .masked_path("/proc/version")
        .command(["/bin/busybox", "cat", "/proc/version"])
        .build()
        .unwrap();
    match burrow::run(&spec) {
        Err(burrow::Error::Setup(report)) => {
            assert_eq!(report.step, burrow::Step::Mask, "{report}");
            assert!(report.to_string().contains("/dev/null"), "{report}");
        }
        other => panic!("masking with a fake /dev/null must be refused: {other:?}"),
    }
}

/// A cgroup directory of a test's own below a hierarchy's root, removed
/// when the test ends (its processes are gone by then).
struct TestCgroup {
    dir: std::path::PathBuf,
    /// How `/proc/PID/cgroup` names it.
    relative: String,
}

impl TestCgroup {
    fn new(mount_point: &std::path::Path, name: &str) -> Self {
        let leaf = format!("burrow-test-{}-{name}", std::process::id());
        let dir = mount_point.join(&leaf);
        std::fs::create_dir(&dir).unwrap_or_else(|e| panic!("creating {}: {e}", dir.display()));
        TestCgroup {
            dir,
            relative: format!("/{leaf}"),
        }
    }
}

impl Drop for TestCgroup {
    fn drop(&mut self) {
        for _ in 0..100 {
            if std::fs::remove_dir(&self.dir).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// Where a cgroup hierarchy of `fstype` is mounted (a v1 one with
/// `controller` among its options).
fn hierarchy(fstype: &str, controller: Option<&str>) -> Option<std::path::PathBuf> {
    std::fs::read_to_string("/proc/self/mountinfo")
        .ok()?
        .lines()
        .find_map(|line| {
            let (left, right) = line.split_once(" - ")?;
            let mut r = right.split(' ');
            let (fs, opts) = (r.next()?, r.nth(1)?);
            let wanted = fs == fstype && controller.is_none_or(|c| opts.split(',').any(|o| o == c));
            wanted.then(|| left.split(' ').nth(4).map(Into::into)).flatten()
        })
}

/// The payload already runs in every cgroup of the spec: v1 (the process
/// moves itself there through `tasks`) and v2 (born there with
/// `CLONE_INTO_CGROUP`) without a user namespace, and through the parent's
/// writes to `cgroup.procs` with one.
#[test]
fn the_payload_starts_in_its_cgroups() {
    assert!(nix::unistd::geteuid().is_root(), "placing in cgroups needs root");
    let pids = hierarchy("cgroup", Some("pids")).expect("a v1 pids hierarchy on this host");
    let unified = hierarchy("cgroup2", None).expect("a cgroup2 mount on this host");
    for (case, user_ns) in [("self", false), ("parent", true)] {
        let out = Scratch::new();
        let v1 = TestCgroup::new(&pids, case);
        let v2 = TestCgroup::new(&unified, case);
        let mut b = sandbox(&out).share(Namespace::Cgroup).cgroup(&v1.dir).cgroup(&v2.dir);
        if !user_ns {
            b = b.share(Namespace::User);
        }
        assert_eq!(sh(b, "cat /proc/self/cgroup > /out/cgroup"), ExitStatus::Exited(0));
        let seen = out.read("cgroup");
        let line = |pred: &dyn Fn(&str) -> bool| {
            seen.lines()
                .find(|l| pred(l.split(':').nth(1).unwrap_or("")))
                .and_then(|l| l.splitn(3, ':').nth(2))
                .unwrap_or("")
                .to_string()
        };
        assert_eq!(
            line(&|c| c.split(',').any(|x| x == "pids")),
            v1.relative,
            "{case}: v1\n{seen}"
        );
        assert_eq!(line(&|c| c.is_empty()), v2.relative, "{case}: v2\n{seen}");
    }
}

/// A tmpfs with `copy_up` starts with what the directory held (files,
/// links, subdirectories, modes) and takes writes that never reach the
/// directory underneath.
#[test]
fn a_copied_up_tmpfs_starts_with_the_directory_contents() {
    let out = Scratch::new();
    let data = Scratch::new();
    std::fs::create_dir(data.path().join("sub")).unwrap();
    std::fs::write(data.path().join("sub/file"), "held").unwrap();
    std::os::unix::fs::symlink("sub/file", data.path().join("link")).unwrap();
    std::fs::set_permissions(
        data.path().join("sub"),
        std::os::unix::fs::PermissionsExt::from_mode(0o751),
    )
    .unwrap();
    let tmpcopyup = |destination: &str, flags| Mount::Generic {
        source: "tmpfs".into(),
        destination: destination.into(),
        fstype: "tmpfs".into(),
        flags,
        clear: 0,
        recursive_set: 0,
        recursive_clear: 0,
        data: String::new(),
        propagation: Vec::new(),
        copy_up: true,
    };
    let b = sandbox(&out)
        .bind_ro(data.path(), "/data")
        .mount(tmpcopyup("/data", libc::MS_NOSUID | libc::MS_NODEV))
        // Read-only too: filled first, then made read-only.
        .mount(tmpcopyup("/data/sub", libc::MS_RDONLY));
    let script = "cat /data/link > /out/read; stat -c %a /data/sub > /out/mode; \
                  touch /data/sub/new 2>/dev/null; echo ro=$? > /out/ro; \
                  umount /data/sub 2>/dev/null || true; \
                  echo new > /data/sub/file && cat /data/sub/file > /out/written; \
                  grep ' /data ' /proc/mounts | cut -d' ' -f3 | tail -1 > /out/fs";
    assert_eq!(sh(b, script), ExitStatus::Exited(0));
    assert_eq!(out.read("read"), "held");
    assert_eq!(out.read("mode").trim(), "751");
    assert_eq!(out.read("ro"), "ro=1\n", "the read-only copied-up tmpfs refuses writes");
    assert_eq!(out.read("written"), "new\n");
    assert_eq!(out.read("fs").trim(), "tmpfs");
    assert_eq!(std::fs::read_to_string(data.path().join("sub/file")).unwrap(), "held");
}
