//! Spawns from several threads at once do not hold each other up (no
//! container keeps another spawn's channel open) and leave nothing behind.

mod common;

use std::time::{Duration, Instant};

use burrow::{ContainerSpec, ExitStatus};
use common::{sandbox, Scratch};

#[test]
fn concurrent_spawns_do_not_wait_for_each_other() {
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
