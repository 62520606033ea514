//! Building the container's root, the seed's `mount-file-systems`:
//! a tmpfs (or bound directory) root, `/proc`, read-only `/sys`, `/dev`,
//! then the caller's mounts in order, then `pivot_root`.
//!
//! Runs only in the container process, inside the mount namespace it was
//! cloned into, after propagation has been made private, so nothing here can
//! touch the host's mount table.

mod dev;
pub use dev::DEVICES;
mod pivot;
mod sources;
mod target;

use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::mount::{mount, MsFlags};

use crate::error::{SetupError, Step};
use crate::namespace::Namespace;
use crate::spec::{ContainerSpec, Mount, Root};
use crate::sys;
use sources::{Source, Sources};
pub(crate) use target::{fd_path, Kind, RootDir};

/// Make every mount in our new namespace private, so nothing we mount or
/// unmount propagates back to the host (the seed forgets this).
pub(crate) fn make_private() -> Result<(), SetupError> {
    mount(
        None::<&str>,
        "/",
        None::<&str>,
        MsFlags::MS_REC | MsFlags::MS_PRIVATE,
        None::<&str>,
    )
    .map_err(|e| {
        SetupError::sys(
            Step::Propagation,
            Some("/".into()),
            e,
            "cannot make mounts private under",
        )
    })
}

/// Where the ephemeral root's tmpfs is mounted inside the new mount
/// namespace: the first of these that exists. Nothing is created on the host,
/// so nothing can be left behind there, even if burrow is killed; sources
/// under the base stay reachable because they are opened beforehand.
const EPHEMERAL_BASES: [&str; 4] = ["/tmp", "/mnt", "/run", "/dev"];

/// Build the whole root and pivot into it.
pub(crate) fn build_and_enter(spec: &ContainerSpec) -> Result<(), SetupError> {
    let sources = Sources::open(spec)?;
    let base = mount_root(&spec.root)?;
    let root = RootDir::open(&base)?;
    if spec.namespaces.contains(Namespace::Pid) {
        let _span = tracing::debug_span!("step", name = "proc").entered();
        mount_fs(&root, Path::new("/proc"), "proc", proc_flags(), None, Step::Proc)?;
    }
    if spec.namespaces.contains(Namespace::Net) {
        let _span = tracing::debug_span!("step", name = "sys").entered();
        mount_fs(
            &root,
            Path::new("/sys"),
            "sysfs",
            proc_flags() | MsFlags::MS_RDONLY,
            None,
            Step::Sys,
        )?;
    }
    {
        let _span = tracing::debug_span!("step", name = "dev").entered();
        dev::populate(&root, &sources)?;
    }
    for (mount, source) in spec.mounts.iter().zip(&sources.mounts) {
        let _span =
            tracing::debug_span!("step", name = "mount", destination = %mount.destination().display()).entered();
        apply(&root, mount, source.as_ref())?;
    }
    drop(root);
    drop(sources);
    let _span = tracing::debug_span!("step", name = "pivot_root").entered();
    pivot::enter(&base)
}

fn proc_flags() -> MsFlags {
    MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC
}

/// Mount the root itself and return where: a tmpfs on the first existing
/// [`EPHEMERAL_BASES`] directory, or the directory bound onto itself so it is
/// a mount point `pivot_root` accepts.
fn mount_root(root: &Root) -> Result<PathBuf, SetupError> {
    let _span = tracing::debug_span!("step", name = "root").entered();
    let (path, result) = match root {
        Root::Ephemeral => {
            let base = EPHEMERAL_BASES
                .iter()
                .map(Path::new)
                .find(|p| p.is_dir())
                .unwrap_or(Path::new("/dev"));
            let flags = MsFlags::MS_NOSUID | MsFlags::MS_NODEV;
            (base, mount(Some("tmpfs"), base, Some("tmpfs"), flags, Some("mode=755")))
        }
        Root::Directory(dir) => (
            dir.as_path(),
            mount(
                Some(dir),
                dir,
                None::<&str>,
                MsFlags::MS_BIND | MsFlags::MS_REC,
                None::<&str>,
            ),
        ),
        Root::Host => (Path::new("/"), Ok(())),
    };
    result.map_err(|e| SetupError::sys(Step::Root, Some(path.into()), e, "cannot mount the new root on"))?;
    Ok(path.to_path_buf())
}

/// Mount a fresh file system of `fstype` at `dest` inside the root.
fn mount_fs(
    root: &RootDir,
    dest: &Path,
    fstype: &str,
    flags: MsFlags,
    data: Option<&str>,
    step: Step,
) -> Result<(), SetupError> {
    let target = root.mount_target(dest, Kind::Dir, step)?;
    mount(Some(fstype), &fd_path(&target), Some(fstype), flags, data)
        .map_err(|e| SetupError::sys(step, Some(dest.into()), e, format!("cannot mount {fstype} on")))
}

/// Bind the opened host `source` onto `dest` inside the root; `recursive`
/// takes the mounts below it along. With `device`, it must be a device node.
fn bind(
    root: &RootDir,
    source: &Source,
    dest: &Path,
    recursive: bool,
    device: bool,
    step: Step,
) -> Result<(), SetupError> {
    let fail = |e, what: String| SetupError::sys(step, Some(source.path.clone()), e, what);
    if device && !source.is_device {
        return Err(fail(
            Errno::ENODEV,
            format!("cannot bind {} from a non-device", dest.display()),
        ));
    }
    let target = root.mount_target(dest, source.kind, step)?;
    let flags = if recursive {
        MsFlags::MS_BIND | MsFlags::MS_REC
    } else {
        MsFlags::MS_BIND
    };
    mount(
        Some(&source.mount_path()),
        &fd_path(&target),
        None::<&str>,
        flags,
        None::<&str>,
    )
    .map_err(|e| fail(e, format!("cannot bind {} from", dest.display())))
}

/// Make the mount now at `dest` (and everything under it) read-only.
fn make_read_only(root: &RootDir, dest: &Path, step: Step) -> Result<(), SetupError> {
    let fail = |e: Errno| SetupError::sys(step, Some(dest.into()), e, "cannot make read-only");
    let fd = root.open_path(dest).map_err(fail)?;
    sys::mount_setattr_recursive(std::os::fd::AsFd::as_fd(&fd), sys::MOUNT_ATTR_RDONLY).map_err(fail)
}

/// Apply one operation of the caller's mount plan; `source` is its opened
/// source, for binds.
fn apply(root: &RootDir, op: &Mount, source: Option<&Source>) -> Result<(), SetupError> {
    let opened = || {
        source.ok_or_else(|| SetupError {
            step: Step::Mount,
            path: Some(op.destination().into()),
            errno: None,
            message: "internal error: no opened source for".into(),
        })
    };
    match op {
        Mount::Bind {
            destination, read_only, ..
        } => {
            bind(root, opened()?, destination, true, false, Step::Mount)?;
            if *read_only {
                make_read_only(root, destination, Step::Mount)?;
            }
            Ok(())
        }
        Mount::Tmpfs { destination, mode } => mount_fs(
            root,
            destination,
            "tmpfs",
            MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
            Some(&format!("mode={mode:o}")),
            Step::Mount,
        ),
        Mount::Proc { destination } => mount_fs(root, destination, "proc", proc_flags(), None, Step::Mount),
        Mount::Device { destination, .. } => bind(root, opened()?, destination, false, true, Step::Mount),
        Mount::Symlink { target, destination } => root.symlink(target, destination, Step::Mount),
        Mount::File {
            destination,
            contents,
            mode,
        } => root.write_file(destination, contents.as_bytes(), *mode, Step::Mount),
    }
}
