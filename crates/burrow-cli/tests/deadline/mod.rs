//! Commands that must end in time: a hung runtime fails its test with the
//! command it hung in, instead of stalling the whole run.

use std::os::fd::AsFd;
use std::process::{Child, Command, Output};
use std::time::Duration;

/// How long any one runtime command of these tests may take.
pub const LIMIT: Duration = Duration::from_secs(60);

/// Run `cmd` to its end (with the stdio it was given) and return its
/// output; past `limit`, kill it and fail the test naming it.
pub fn output_within(cmd: &mut Command, limit: Duration) -> Output {
    let child = cmd.spawn().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    wait_within(child, &format!("{cmd:?}"), limit)
}

/// Wait for `child` (`what` names it) and return its output; past `limit`,
/// kill it and fail the test.
pub fn wait_within(child: Child, what: &str, limit: Duration) -> Output {
    // Through a pidfd: the watchdog can never signal a reused pid. (None
    // for a child already reaped by try_wait: nothing left to wait for.)
    let pidfd = burrow::open_pidfd(child.id() as i32).ok();
    let (finished, watch) = std::sync::mpsc::channel::<()>();
    let watchdog = std::thread::spawn(move || {
        let late = matches!(
            watch.recv_timeout(limit),
            Err(std::sync::mpsc::RecvTimeoutError::Timeout)
        );
        if let (true, Some(pidfd)) = (late, &pidfd) {
            let _ = burrow::signal_pidfd(pidfd.as_fd(), libc::SIGKILL);
        }
        late
    });
    let output = child.wait_with_output().unwrap_or_else(|e| panic!("{what}: {e}"));
    let _ = finished.send(());
    assert!(!watchdog.join().unwrap(), "{what} did not end within {limit:?}");
    output
}
