//! Helpers shared by the CLI's integration tests.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

fn bin_dir() -> PathBuf {
    PathBuf::from(format!("/tmp/burrow-cli-bin-{}", std::process::id()))
}

extern "C" fn remove_bin_dir() {
    let _ = std::fs::remove_dir_all(bin_dir());
}

/// The burrow binary, copied to a world-readable place so the test user can
/// run it whatever the permissions of the checkout; removed at exit. The copy
/// is made by `cp`, so no thread of ours ever holds a write descriptor on it
/// that a concurrently forked child could inherit (ETXTBSY).
pub fn world_readable_burrow() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let dir = bin_dir();
        std::fs::create_dir_all(&dir).unwrap();
        // SAFETY: registers a plain extern "C" function with no captured state.
        unsafe { libc::atexit(remove_bin_dir) };
        std::fs::set_permissions(&dir, PermissionsExt::from_mode(0o755)).unwrap();
        let bin = dir.join("burrow");
        let status = Command::new("cp")
            .arg(env!("CARGO_BIN_EXE_burrow"))
            .arg(&bin)
            .status()
            .unwrap();
        assert!(status.success(), "copying the burrow binary failed");
        std::fs::set_permissions(&bin, PermissionsExt::from_mode(0o755)).unwrap();
        bin
    })
}

/// The unprivileged user the test script creates.
pub const TEST_USER: &str = "burrowtest";

/// Who runs burrow in a test.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum As {
    /// Whoever runs the tests (root in CI).
    Caller,
    /// The unprivileged test user (through runuser when we are root).
    Rootless,
}

/// uid and gid of [`TEST_USER`].
pub fn test_user_ids() -> (u32, u32) {
    let user = nix::unistd::User::from_name(TEST_USER)
        .unwrap()
        .unwrap_or_else(|| panic!("user {TEST_USER} is missing: run the README's test command, which creates it"));
    (user.uid.as_raw(), user.gid.as_raw())
}
