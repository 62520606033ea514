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
mod target;

use std::path::Path;

use nix::errno::Errno;
use nix::mount::{mount, MsFlags};

use crate::error::{SetupError, Step};
use crate::namespace::Namespace;
use crate::spec::{ContainerSpec, Mount, Root};
use crate::sys;
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

/// Build the whole root at `root_path` (a host directory) and pivot into it.
pub(crate) fn build_and_enter(spec: &ContainerSpec, root_path: &Path) -> Result<(), SetupError> {
    mount_root(&spec.root, root_path)?;
    let root = RootDir::open(root_path)?;
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
        dev::populate(&root)?;
    }
    for mount in &spec.mounts {
        let _span =
            tracing::debug_span!("step", name = "mount", destination = %mount.destination().display()).entered();
        apply(&root, mount)?;
    }
    drop(root);
    let _span = tracing::debug_span!("step", name = "pivot_root").entered();
    pivot::enter(root_path)
}

fn proc_flags() -> MsFlags {
    MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC
}

/// Mount the root itself: a tmpfs, or the directory bound onto itself so it
/// is a mount point `pivot_root` accepts.
fn mount_root(root: &Root, path: &Path) -> Result<(), SetupError> {
    let _span = tracing::debug_span!("step", name = "root").entered();
    let result = match root {
        Root::Ephemeral => mount(
            Some("tmpfs"),
            path,
            Some("tmpfs"),
            MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
            Some("mode=755"),
        ),
        Root::Directory(dir) => mount(
            Some(dir),
            path,
            None::<&str>,
            MsFlags::MS_BIND | MsFlags::MS_REC,
            None::<&str>,
        ),
        Root::Host => Ok(()),
    };
    result.map_err(|e| SetupError::sys(Step::Root, Some(path.into()), e, "cannot mount the new root on"))
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
    let target = root.create(dest, Kind::Dir, step)?;
    mount(Some(fstype), &fd_path(&target), Some(fstype), flags, data)
        .map_err(|e| SetupError::sys(step, Some(dest.into()), e, format!("cannot mount {fstype} on")))
}

/// Bind host `source` onto `dest` inside the root; `recursive` takes the
/// mounts below `source` along. With `device`, `source` must be a device node.
fn bind(
    root: &RootDir,
    source: &Path,
    dest: &Path,
    recursive: bool,
    device: bool,
    step: Step,
) -> Result<(), SetupError> {
    let fail = |e, what: String| SetupError::sys(step, Some(source.into()), e, what);
    let meta = nix::sys::stat::stat(source).map_err(|e| fail(e, format!("cannot bind {} from", dest.display())))?;
    let kind = match meta.st_mode & libc::S_IFMT {
        libc::S_IFDIR => Kind::Dir,
        libc::S_IFCHR | libc::S_IFBLK => Kind::File,
        _ if device => {
            return Err(fail(
                Errno::ENODEV,
                format!("cannot bind {} from a non-device", dest.display()),
            ))
        }
        _ => Kind::File,
    };
    let target = root.create(dest, kind, step)?;
    let flags = if recursive {
        MsFlags::MS_BIND | MsFlags::MS_REC
    } else {
        MsFlags::MS_BIND
    };
    mount(Some(source), &fd_path(&target), None::<&str>, flags, None::<&str>)
        .map_err(|e| fail(e, format!("cannot bind {} from", dest.display())))
}

/// Make the mount now at `dest` (and everything under it) read-only.
fn make_read_only(root: &RootDir, dest: &Path, step: Step) -> Result<(), SetupError> {
    let fail = |e: Errno| SetupError::sys(step, Some(dest.into()), e, "cannot make read-only");
    let fd = root.open_path(dest).map_err(fail)?;
    sys::mount_setattr_recursive(std::os::fd::AsFd::as_fd(&fd), sys::MOUNT_ATTR_RDONLY).map_err(fail)
}

/// Apply one operation of the caller's mount plan.
fn apply(root: &RootDir, op: &Mount) -> Result<(), SetupError> {
    match op {
        Mount::Bind {
            source,
            destination,
            read_only,
        } => {
            bind(root, source, destination, true, false, Step::Mount)?;
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
        Mount::Device { source, destination } => bind(root, source, destination, false, true, Step::Mount),
        Mount::Symlink { target, destination } => root.symlink(target, destination, Step::Mount),
        Mount::File {
            destination,
            contents,
            mode,
        } => root.write_file(destination, contents.as_bytes(), *mode, Step::Mount),
    }
}
