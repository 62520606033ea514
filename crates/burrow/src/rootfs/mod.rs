//! Building the container's root, the seed's `mount-file-systems`:
//! a tmpfs (or bound directory) root, `/proc`, read-only `/sys`, `/dev`,
//! then the caller's mounts in order, then `pivot_root`.
//!
//! Runs only in the container process, inside the mount namespace it was
//! cloned into, after propagation has been made private, so nothing here can
//! touch the host's mount table.

mod copy_up;
mod dev;
pub use dev::DEVICES;
mod pivot;
mod sources;
mod target;

use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::mount::{mount, MsFlags};
use nix::sys::stat::Mode;

use crate::error::{SetupError, Step};
use crate::namespace::Namespace;
use crate::spec::{ContainerSpec, Mount, Root};
use crate::sys;
use sources::{Source, Sources};
pub(crate) use target::{fd_path, Kind, RootDir};

/// Make every mount in our new namespace private (or slave), so nothing we
/// mount or unmount propagates back to the host (the seed forgets this).
pub(crate) fn make_private(propagation: u64) -> Result<(), SetupError> {
    mount(
        None::<&str>,
        "/",
        None::<&str>,
        // Always recursive: a shared submount left behind would carry the
        // container's mounts back to the host.
        MsFlags::from_bits_retain(propagation as libc::c_ulong) | MsFlags::MS_REC,
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

/// Build the whole root and pivot into it; `before_pivot` runs in between.
pub(crate) fn build_and_enter(
    spec: &ContainerSpec,
    before_pivot: impl FnOnce() -> Result<(), SetupError>,
) -> Result<(), SetupError> {
    let sources = Sources::open(spec)?;
    let base = mount_root(&spec.root)?;
    let root = RootDir::open(&base)?;
    if spec.essentials {
        mount_essentials(spec, &root, &sources)?;
    }
    for (mount, source) in spec.mounts.iter().zip(&sources.mounts) {
        let _span =
            tracing::debug_span!("step", name = "mount", destination = %mount.destination().display()).entered();
        apply(&root, mount, source.as_ref())?;
    }
    drop(root);
    drop(sources);
    before_pivot()?;
    {
        let _span = tracing::debug_span!("step", name = "pivot_root").entered();
        pivot::enter(&base)?;
        if spec.root_propagation != 0 {
            mount(
                None::<&str>,
                "/",
                None::<&str>,
                MsFlags::from_bits_retain(spec.root_propagation as libc::c_ulong),
                None::<&str>,
            )
            .map_err(|e| SetupError::sys(Step::PivotRoot, Some("/".into()), e, "cannot set the propagation of"))?;
        }
    }
    // As runc orders them: sysctls first (they write under /proc/sys), then
    // read-only and masked paths, resolved in the new root.
    for (key, value) in &spec.sysctl {
        let path = PathBuf::from("/proc/sys").join(key.replace('.', "/"));
        std::fs::write(&path, value).map_err(|e| io_error(Step::Sysctl, &path, e, "cannot write"))?;
    }
    if !spec.readonly_paths.is_empty() || !spec.masked_paths.is_empty() {
        let root = RootDir::open(Path::new("/"))?;
        for path in &spec.readonly_paths {
            make_path_read_only(&root, path)?;
        }
        // The null device, opened and checked once, at the first file.
        let mut null = None;
        for path in &spec.masked_paths {
            mask(&root, path, &mut null)?;
        }
    }
    if spec.root_read_only {
        let fail = |e| SetupError::sys(Step::Root, Some("/".into()), e, "cannot make the root read-only at");
        let root = nix::fcntl::open(
            "/",
            OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
            Mode::empty(),
        )
        .map_err(fail)?;
        sys::mount_setattr(root.as_fd(), sys::MOUNT_ATTR_RDONLY, 0, false).map_err(fail)?;
    }
    Ok(())
}

/// The seed's `/proc` (with a pid namespace), read-only `/sys` (with a net
/// namespace) and `/dev`.
fn mount_essentials(spec: &ContainerSpec, root: &RootDir, sources: &Sources) -> Result<(), SetupError> {
    if spec.namespaces.contains(Namespace::Pid) {
        let _span = tracing::debug_span!("step", name = "proc").entered();
        mount_fs(root, Path::new("/proc"), "proc", proc_flags(), None, Step::Proc)?;
    }
    if spec.namespaces.contains(Namespace::Net) {
        let _span = tracing::debug_span!("step", name = "sys").entered();
        mount_fs(
            root,
            Path::new("/sys"),
            "sysfs",
            proc_flags() | MsFlags::MS_RDONLY,
            None,
            Step::Sys,
        )?;
    }
    let _span = tracing::debug_span!("step", name = "dev").entered();
    // Real root, in no user namespace of the container's, may mknod.
    let mknod = !spec.namespaces.contains(Namespace::User)
        && !spec.join.iter().any(|(ns, _)| *ns == Namespace::User)
        && crate::probe::is_host_root();
    dev::populate(root, sources, mknod)
}

/// An I/O error as a setup report.
fn io_error(step: Step, path: &Path, e: std::io::Error, what: &str) -> SetupError {
    let errno = Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO));
    SetupError::sys(step, Some(path.into()), errno, what.to_string())
}

/// Make `path` (and every mount below it) read-only by binding it onto
/// itself; a missing path is skipped.
fn make_path_read_only(root: &RootDir, path: &Path) -> Result<(), SetupError> {
    let fd = match root.open_path(path) {
        Ok(fd) => fd,
        Err(Errno::ENOENT) => return Ok(()),
        Err(e) => return Err(SetupError::sys(Step::ReadOnlyPath, Some(path.into()), e, "cannot open")),
    };
    let target = fd_path(&fd);
    mount(
        Some(&target),
        &target,
        None::<&str>,
        MsFlags::MS_BIND | MsFlags::MS_REC,
        None::<&str>,
    )
    .map_err(|e| SetupError::sys(Step::ReadOnlyPath, Some(path.into()), e, "cannot bind onto itself"))?;
    make_read_only(root, path, Step::ReadOnlyPath)
}

/// Hide `path`: `/dev/null` over a file, an empty read-only tmpfs over a
/// directory; a missing path is skipped. `null` holds the container's
/// checked null device once a file needed it.
fn mask(root: &RootDir, path: &Path, null: &mut Option<OwnedFd>) -> Result<(), SetupError> {
    let fail = |e, what: &str| SetupError::sys(Step::Mask, Some(path.into()), e, what.to_string());
    let fd = match root.open_path(path) {
        Ok(fd) => fd,
        Err(Errno::ENOENT) => return Ok(()),
        Err(e) => return Err(fail(e, "cannot open")),
    };
    let is_dir =
        nix::sys::stat::fstat(&fd).map_err(|e| fail(e, "cannot stat"))?.st_mode & libc::S_IFMT == libc::S_IFDIR;
    let target = fd_path(&fd);
    if is_dir {
        let flags = MsFlags::MS_RDONLY | MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC;
        return mount(Some("tmpfs"), &target, Some("tmpfs"), flags, Some("size=0,mode=555"))
            .map_err(|e| fail(e, "cannot mask with a read-only tmpfs"));
    }
    let null = match null {
        Some(fd) => fd,
        None => null.insert(open_null(root).map_err(|(e, what)| fail(e, what))?),
    };
    mount(
        Some(&fd_path(null)),
        &target,
        None::<&str>,
        MsFlags::MS_BIND,
        None::<&str>,
    )
    .map_err(|e| fail(e, "cannot bind the container's /dev/null over"))
}

/// The container's own /dev/null (after pivot_root a host fd's mount is no
/// longer in this namespace, and binds need it to be), checked to be the
/// null device: a container could have made it a link to anything, such as
/// a /proc/sys file (CVE-2025-31133).
fn open_null(root: &RootDir) -> Result<OwnedFd, (Errno, &'static str)> {
    let null = root
        .open_path(Path::new("/dev/null"))
        .map_err(|e| (e, "cannot open the container's /dev/null to mask"))?;
    let st = nix::sys::stat::fstat(&null).map_err(|e| (e, "cannot stat /dev/null to mask"))?;
    let is_null =
        st.st_mode & libc::S_IFMT == libc::S_IFCHR && libc::major(st.st_rdev) == 1 && libc::minor(st.st_rdev) == 3;
    if !is_null {
        return Err((
            Errno::EPERM,
            "the container's /dev/null is not the null device; refusing to mask",
        ));
    }
    Ok(null)
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
    sys::mount_setattr(fd.as_fd(), sys::MOUNT_ATTR_RDONLY, 0, true).map_err(fail)
}

/// `MS_*` flags as `MOUNT_ATTR_*` attributes to set and to clear: the
/// flags in `set` are added, those in `clear` removed; `MS_RELATIME`, or
/// clearing `MS_NOATIME`/`MS_STRICTATIME`, selects `relatime`.
fn mount_attrs(set: u64, clear: u64) -> (u64, u64) {
    const ATTRS: [(u64, u64); 7] = [
        (libc::MS_RDONLY, sys::MOUNT_ATTR_RDONLY),
        (libc::MS_NOSUID, sys::MOUNT_ATTR_NOSUID),
        (libc::MS_NODEV, sys::MOUNT_ATTR_NODEV),
        (libc::MS_NOEXEC, sys::MOUNT_ATTR_NOEXEC),
        (libc::MS_NOATIME, sys::MOUNT_ATTR_NOATIME),
        (libc::MS_STRICTATIME, sys::MOUNT_ATTR_STRICTATIME),
        (libc::MS_NODIRATIME, sys::MOUNT_ATTR_NODIRATIME),
    ];
    let pick = |ms: u64| {
        ATTRS
            .iter()
            .filter(|(flag, _)| ms & flag != 0)
            .fold(0, |acc, (_, attr)| acc | attr)
    };
    let (set_attrs, mut clear_attrs) = (pick(set), pick(clear));
    let relatime = set & libc::MS_RELATIME != 0 || clear & (libc::MS_NOATIME | libc::MS_STRICTATIME) != 0;
    if relatime && set_attrs & sys::MOUNT_ATTR_ATIME_MASK == 0 {
        clear_attrs |= sys::MOUNT_ATTR_ATIME_MASK;
    }
    (set_attrs, clear_attrs)
}

/// A generic `mount(2)` from the plan: a bind (with the opened source, its
/// flags set and cleared afterwards) or a new file system, then the
/// recursive attributes, then each propagation change in order.
fn mount_generic(root: &RootDir, op: &Mount, source: Option<&Source>) -> Result<(), SetupError> {
    let Mount::Generic {
        source: name,
        destination,
        fstype,
        flags,
        clear,
        recursive_set,
        recursive_clear,
        data,
        propagation,
        copy_up,
    } = op
    else {
        return Ok(());
    };
    let fail = |e, what: &str| SetupError::sys(Step::Mount, Some(destination.clone()), e, what.to_string());
    let reopen = || root.open_path(destination).map_err(|e| fail(e, "cannot reopen"));
    let flags = *flags as libc::c_ulong;
    if flags & libc::MS_BIND != 0 {
        let source = source.ok_or_else(|| fail(Errno::ENOENT, "no opened bind source for"))?;
        bind(root, source, destination, flags & libc::MS_REC != 0, false, Step::Mount)?;
        let (set, clear) = mount_attrs(flags, *clear);
        if set | clear != 0 {
            sys::mount_setattr(reopen()?.as_fd(), set, clear, false).map_err(|e| fail(e, "cannot set the flags of"))?;
        }
    } else {
        let target = root.mount_target(destination, Kind::Dir, Step::Mount)?;
        // What to copy up, opened before the new file system hides it.
        let original = match copy_up {
            true => Some(
                root.open_dir(destination)
                    .map_err(|e| fail(e, "cannot open for copying up"))?,
            ),
            false => None,
        };
        let data = (!data.is_empty()).then_some(data.as_str());
        // A read-only file system to copy up into is mounted writable, and
        // made read-only once filled.
        let read_only_after = original.is_some() && flags & libc::MS_RDONLY != 0;
        let mounted = mount(
            Some(name.as_path()),
            &fd_path(&target),
            Some(fstype.as_str()),
            MsFlags::from_bits_retain(if read_only_after {
                flags & !libc::MS_RDONLY
            } else {
                flags
            }),
            data,
        );
        match mounted {
            // A user namespace that does not own the network namespace (one
            // joined by path) may not mount sysfs: show the host's instead,
            // as runc does, with the flags asked for on all of it.
            Err(Errno::EPERM) if fstype == "sysfs" => {
                let host = Source::open(Path::new("/sys"), Step::Mount)?;
                bind(root, &host, destination, true, false, Step::Mount)?;
                let (set, clear) = mount_attrs(flags, 0);
                sys::mount_setattr(reopen()?.as_fd(), set, clear, true)
                    .map_err(|e| fail(e, "cannot set the flags of"))?;
            }
            other => other.map_err(|e| fail(e, &format!("cannot mount {fstype} on")))?,
        }
        if let Some(original) = original {
            let copy = root
                .open_dir(destination)
                .and_then(|new| copy_up::copy_tree(original.as_fd(), new.as_fd()));
            copy.map_err(|e| fail(e, "cannot copy the directory's contents up into"))?;
        }
        if read_only_after {
            sys::mount_setattr(reopen()?.as_fd(), sys::MOUNT_ATTR_RDONLY, 0, false)
                .map_err(|e| fail(e, "cannot make read-only"))?;
        }
    }
    let (set, clear) = mount_attrs(*recursive_set, *recursive_clear);
    if set | clear != 0 {
        sys::mount_setattr(reopen()?.as_fd(), set, clear, true)
            .map_err(|e| fail(e, "cannot set the recursive flags of"))?;
    }
    for change in propagation {
        mount(
            None::<&str>,
            &fd_path(&reopen()?),
            None::<&str>,
            MsFlags::from_bits_retain(*change as libc::c_ulong),
            None::<&str>,
        )
        .map_err(|e| fail(e, "cannot set the propagation of"))?;
    }
    Ok(())
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
        Mount::Attributes {
            destination,
            set,
            clear,
        } => {
            let fail = |e: Errno| SetupError::sys(Step::Mount, Some(destination.clone()), e, "cannot set the flags of");
            let (set, clear) = mount_attrs(*set, *clear);
            let fd = root.open_path(destination).map_err(fail)?;
            sys::mount_setattr(fd.as_fd(), set, clear, true).map_err(fail)
        }
        Mount::File {
            destination,
            contents,
            mode,
        } => root.write_file(destination, contents.as_bytes(), *mode, Step::Mount),
        Mount::Generic { .. } => mount_generic(root, op, source),
        Mount::Node {
            destination,
            kind,
            major,
            minor,
            mode,
            uid,
            gid,
        } => root.make_node(destination, *kind, *major, *minor, *mode, (*uid, *gid)),
    }
}
