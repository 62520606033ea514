//! The cgroup2 code on this host's real unified hierarchy (a hybrid host:
//! cgroup2 is mounted at /sys/fs/cgroup/unified with no resource
//! controllers): placement, freezing with `cgroup.freeze`, and removal.
//! Resource files of v2 are tested for exact contents in `limits`.

use std::path::PathBuf;
use std::process::{Command, Stdio};

/// A cgroup2 directory of this test's own, removed (with what is in it)
/// when dropped.
struct V2Cgroup(PathBuf);

impl V2Cgroup {
    fn new(name: &str) -> Option<Self> {
        let info = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
        let mount = info.lines().find_map(|l| {
            let (left, right) = l.split_once(" - ")?;
            let point = left.split(' ').nth(4)?;
            right.starts_with("cgroup2 ").then(|| PathBuf::from(point))
        })?;
        let dir = mount.join(format!("burrow-test-{name}-{}", std::process::id()));
        std::fs::create_dir(&dir).ok()?;
        Some(V2Cgroup(dir))
    }
}

impl Drop for V2Cgroup {
    fn drop(&mut self) {
        burrow_oci::cgroups::remove(std::slice::from_ref(&self.0), std::slice::from_ref(&self.0));
    }
}

#[test]
fn freeze_thaw_and_remove_on_cgroup2() {
    assert!(
        nix::unistd::geteuid().is_root(),
        "this test needs root (the test script runs it so)"
    );
    let cgroup = V2Cgroup::new("freeze").expect("a cgroup2 mount where root can make a directory");
    let leaves = vec![cgroup.0.clone()];
    let mut child = Command::new("sleep").arg("30").stdin(Stdio::null()).spawn().unwrap();
    std::fs::write(cgroup.0.join("cgroup.procs"), child.id().to_string()).unwrap();
    assert_eq!(burrow_oci::cgroups::tree_procs(&cgroup.0), vec![child.id() as i32]);

    assert_eq!(burrow_oci::control::is_frozen(&leaves), Some(false));
    burrow_oci::control::freeze(&leaves, true).unwrap();
    assert_eq!(burrow_oci::control::is_frozen(&leaves), Some(true));
    let events = std::fs::read_to_string(cgroup.0.join("cgroup.events")).unwrap();
    assert!(events.contains("frozen 1"), "{events}");
    burrow_oci::control::freeze(&leaves, false).unwrap();
    assert_eq!(burrow_oci::control::is_frozen(&leaves), Some(false));

    // Frozen again, then removed: the process is killed (thawed so it can
    // die) and the directory goes.
    burrow_oci::control::freeze(&leaves, true).unwrap();
    burrow_oci::cgroups::remove(&leaves, &leaves);
    let status = child.wait().unwrap();
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&status),
        Some(libc::SIGKILL)
    );
    assert!(!cgroup.0.exists());
}

/// Device rules as an eBPF program on a cgroup2 directory: a process in it
/// may open /dev/zero (allowed) but not /dev/null (denied by "a").
#[test]
fn a_device_program_enforces_the_rules() {
    use burrow_oci::device_filter::{attach, Rule};
    let cgroup = V2Cgroup::new("devices").expect("a cgroup2 mount where root can make a directory");
    let rules = [
        Rule::parse(false, "a").unwrap(),
        Rule::parse(true, "c 1:5 rwm").unwrap(),
    ];
    attach(&cgroup.0, &rules).unwrap();
    let script = "sleep 0.3; cat /dev/null 2>&1 | grep -q 'not permitted' && echo null-denied; \
                  head -c 3 /dev/zero | wc -c";
    assert_eq!(run_in(&cgroup.0, script), "null-denied\n3\n");
}

/// The program every container gets where there is no v1 devices cgroup
/// (deny all, then the default devices) loads and attaches: its verifier
/// log once outgrew the 4 KiB buffer it was loaded with, and the load
/// failed with ENOSPC.
#[test]
fn the_default_device_program_loads() {
    let cgroup = V2Cgroup::new("default-devices").expect("a cgroup2 mount where root can make a directory");
    burrow_oci::resources::apply(None, &[], std::slice::from_ref(&cgroup.0)).unwrap();
    let script = "sleep 0.3; echo x > /dev/null && echo null-ok; \
                  head -c 1 /dev/mem >/dev/null 2>&1 || echo mem-denied";
    assert_eq!(run_in(&cgroup.0, script), "null-ok\nmem-denied\n");
}

/// The config's rules through `resources::apply` on cgroup2 (the eBPF
/// program): a deny of one named device (c 1:3, /dev/null) wins over the
/// devices every container may use, while a blanket deny leaves those
/// usable.
#[test]
fn a_device_denied_by_name_is_denied_on_cgroup2() {
    let apply = |name: &str, rules: serde_json::Value| {
        let cgroup = V2Cgroup::new(name).expect("a cgroup2 mount where root can make a directory");
        let resources: oci_spec::runtime::LinuxResources =
            serde_json::from_value(serde_json::json!({ "devices": rules })).unwrap();
        burrow_oci::resources::apply(Some(&resources), &[], std::slice::from_ref(&cgroup.0)).unwrap();
        let script = "sleep 0.3; (exec 3</dev/null) 2>&1 | grep -q 'not permitted' && echo null-denied; \
                      head -c 3 /dev/zero | wc -c";
        run_in(&cgroup.0, script)
    };
    let blanket = serde_json::json!([{"allow": false, "access": "rwm"}]);
    assert_eq!(apply("blanket-deny", blanket), "3\n");
    let named = serde_json::json!([
        {"allow": false, "access": "rwm"},
        {"allow": false, "type": "c", "major": 1, "minor": 3, "access": "rwm"}
    ]);
    assert_eq!(apply("named-deny", named), "null-denied\n3\n");
}

/// The output of `sh -c script`, moved into `cgroup` as it starts (the
/// script sleeps first so that the move lands before what it tests). The
/// child is reaped even when the move fails.
fn run_in(cgroup: &std::path::Path, script: &str) -> String {
    let child = Command::new("sh")
        .args(["-c", script])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let placed = std::fs::write(cgroup.join("cgroup.procs"), child.id().to_string());
    let out = child.wait_with_output().unwrap();
    placed.unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}
