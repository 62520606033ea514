//! `/dev` as the seed builds it: a tmpfs with the host's harmless device
//! nodes bound in (a user namespace cannot `mknod`), a private devpts, the
//! console, and the `fd`/`stdin`/`stdout`/`stderr` links.

use std::path::Path;

use nix::mount::{mount, MsFlags};

use super::{bind, fd_path, mount_fs, Kind, RootDir};
use crate::error::{SetupError, Step};

/// The device nodes bound from the host when it has them.
pub const DEVICES: [&str; 7] = [
    "/dev/null",
    "/dev/zero",
    "/dev/full",
    "/dev/random",
    "/dev/urandom",
    "/dev/tty",
    "/dev/fuse",
];

/// Build `/dev` inside the root.
pub(super) fn populate(root: &RootDir) -> Result<(), SetupError> {
    mount_fs(
        root,
        Path::new("/dev"),
        "tmpfs",
        MsFlags::MS_NOSUID | MsFlags::MS_NOEXEC | MsFlags::MS_STRICTATIME,
        Some("mode=755"),
        Step::Dev,
    )?;
    for device in DEVICES {
        let device = Path::new(device);
        if device.exists() {
            bind(root, device, device, false, true, Step::Dev)?;
        }
    }
    if Path::new("/dev/ptmx").exists() {
        mount_fs(
            root,
            Path::new("/dev/pts"),
            "devpts",
            MsFlags::MS_NOSUID | MsFlags::MS_NOEXEC,
            Some("newinstance,ptmxmode=0666,mode=0620"),
            Step::Dev,
        )?;
        root.symlink(Path::new("/dev/pts/ptmx"), Path::new("/dev/ptmx"), Step::Dev)?;
    }
    bind_console(root)?;
    for (target, link) in [
        ("/proc/self/fd", "/dev/fd"),
        ("/proc/self/fd/0", "/dev/stdin"),
        ("/proc/self/fd/1", "/dev/stdout"),
        ("/proc/self/fd/2", "/dev/stderr"),
    ] {
        root.symlink(Path::new(target), Path::new(link), Step::Dev)?;
    }
    Ok(())
}

/// Bind the terminal on our standard input to `/dev/console`, when there is
/// one (`ttyname` fails otherwise, which is more reliable than `isatty`).
fn bind_console(root: &RootDir) -> Result<(), SetupError> {
    let Ok(tty) = nix::unistd::ttyname(std::io::stdin()) else {
        return Ok(());
    };
    let console = Path::new("/dev/console");
    let target = root.create(console, Kind::File, Step::Dev)?;
    nix::sys::stat::fchmod(&target, nix::sys::stat::Mode::from_bits_truncate(0o600)).ok();
    mount(
        Some(&tty),
        &fd_path(&target),
        None::<&str>,
        MsFlags::MS_BIND,
        None::<&str>,
    )
    .map_err(|e| SetupError::sys(Step::Dev, Some(tty), e, "cannot bind /dev/console to"))
}
