//! `/dev` as the seed builds it: a tmpfs with the host's harmless device
//! nodes (made alike with `mknod` by real root; bound in from the host in a
//! user namespace, which cannot `mknod`), a private devpts, the console,
//! and the `fd`/`stdin`/`stdout`/`stderr` links.

use std::path::Path;

use nix::mount::MsFlags;

use super::sources::Sources;
use super::{bind, mount_fs, RootDir};
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

/// Build `/dev` inside the root. With `mknod`, the device nodes are made
/// (same number, mode and owner as the host's): cheaper than binds, and
/// fewer mounts to tear down.
pub(super) fn populate(root: &RootDir, sources: &Sources, mknod: bool) -> Result<(), SetupError> {
    mount_fs(
        root,
        Path::new("/dev"),
        "tmpfs",
        MsFlags::MS_NOSUID | MsFlags::MS_NOEXEC | MsFlags::MS_STRICTATIME,
        Some("mode=755"),
        Step::Dev,
    )?;
    for device in &sources.devices {
        let (major, minor) = (libc::major(device.rdev) as u64, libc::minor(device.rdev) as u64);
        // Root without CAP_MKNOD (or refused by a devices cgroup or an LSM)
        // still gets the host's node, bound.
        let made = mknod
            && match root.make_node(&device.path, 'c', major, minor, device.mode, device.owner) {
                Ok(()) => true,
                Err(e) if e.errno() == Some(nix::errno::Errno::EPERM) => false,
                Err(e) => return Err(e),
            };
        if !made {
            bind(root, device, &device.path, false, true, Step::Dev)?;
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
    if let Some(tty) = &sources.console {
        // The seed chmods the placeholder to 600; the bind hides it, and the
        // terminal keeps its own mode, which burrow must not change.
        bind(root, tty, Path::new("/dev/console"), false, true, Step::Dev)?;
    }
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
