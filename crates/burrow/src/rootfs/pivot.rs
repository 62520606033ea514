//! Jail the process in its new root: `pivot_root` and detach the old one.

use std::path::Path;

use nix::mount::{umount2, MntFlags};

use crate::error::{SetupError, Step};

/// Make `root` the process's `/` and detach the old root entirely.
///
/// Uses `pivot_root(".", ".")`: the old root ends up stacked on top of the
/// new one and is lazily unmounted from there, so no `put_old` directory is
/// ever created inside the container.
pub(super) fn enter(root: &Path) -> Result<(), SetupError> {
    let fail = |e, what: &str| SetupError::sys(Step::PivotRoot, Some(root.into()), e, what.to_string());
    nix::unistd::chdir(root).map_err(|e| fail(e, "cannot change directory to"))?;
    nix::unistd::pivot_root(".", ".").map_err(|e| fail(e, "cannot pivot_root into"))?;
    umount2(".", MntFlags::MNT_DETACH).map_err(|e| fail(e, "cannot detach the old root above"))?;
    nix::unistd::chdir("/").map_err(|e| fail(e, "cannot change directory to the new / in"))
}
