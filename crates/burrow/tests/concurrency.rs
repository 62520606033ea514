//! Spawns from several threads at once do not hold each other up (no
//! container keeps another spawn's channel open) and leave nothing behind.

mod common;

use std::time::{Duration, Instant};

use burrow::{ContainerSpec, ExitStatus};
use common::{sandbox, Scratch};

/// The tests here count fds and children of this process: one at a time.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

#[test]
fn concurrent_spawns_do_not_wait_for_each_other() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    // Long-lived closure containers, started from other threads.
    let sleepers: Vec<_> = (0..3)
        .map(|_| {
            std::thread::spawn(|| {
                let spec = ContainerSpec::builder()
                    .closure(|| {
                        std::thread::sleep(Duration::from_millis(500));
                        0
                    })
                    .build()
                    .unwrap();
                for _ in 0..8 {
                    assert_eq!(burrow::run(&spec).unwrap(), ExitStatus::Exited(0));
                }
            })
        })
        .collect();
    let out = Scratch::new();
    let spec = sandbox(&out).command(["true"]).build().unwrap();
    // Spawn short containers for as long as the sleepers keep cloning: a
    // sleeper cloned while one of ours is being set up must not keep it.
    let mut slowest = Duration::ZERO;
    while sleepers.iter().any(|s| !s.is_finished()) {
        let started = Instant::now();
        assert_eq!(burrow::run(&spec).unwrap(), ExitStatus::Exited(0));
        slowest = slowest.max(started.elapsed());
    }
    for s in sleepers {
        s.join().unwrap();
    }
    assert!(
        slowest < Duration::from_secs(1),
        "a spawn waited {slowest:?} for another container"
    );
}

/// A program that starts many containers keeps no fd, child or mount of
/// theirs: 200 spawns (a command and a closure each time, a failed setup
/// every tenth), then the same counts as before.
#[test]
fn many_spawns_leak_no_fd_child_or_mount() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let fds = || std::fs::read_dir("/proc/self/fd").unwrap().count();
    let mounts = || std::fs::read_to_string("/proc/self/mountinfo").unwrap().lines().count();
    let out = Scratch::new();
    let command = sandbox(&out).command(["true"]).build().unwrap();
    let closure = ContainerSpec::builder().closure(|| 3).build().unwrap();
    let failing = sandbox(&out).command(["/no/such/program"]).build().unwrap();
    // One of each first: whatever the first spawn sets up for good (a
    // cached lookup) is not a leak.
    burrow::run(&command).unwrap();
    let (fds_before, mounts_before) = (fds(), mounts());
    for i in 0..200 {
        assert_eq!(burrow::run(&command).unwrap(), ExitStatus::Exited(0));
        assert_eq!(burrow::run(&closure).unwrap(), ExitStatus::Exited(3));
        if i % 10 == 0 {
            assert!(burrow::run(&failing).is_err());
        }
    }
    // (This thread's children: the containers are this thread's.)
    let children = std::fs::read_to_string("/proc/thread-self/children").unwrap_or_default();
    println!(
        "200 spawns: fds {fds_before} -> {}, mounts {mounts_before} -> {}, children {children:?}",
        fds(),
        mounts()
    );
    assert_eq!(fds(), fds_before, "fds leaked");
    assert_eq!(mounts(), mounts_before, "mounts leaked");
    assert!(children.trim().is_empty(), "children left: {children}");
}
