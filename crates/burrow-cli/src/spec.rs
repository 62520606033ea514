//! `burrow run`'s flags → a `ContainerSpec`: every value the user typed is
//! checked here, and every refusal names its flag.

use std::ffi::OsStr;
use std::path::{Component, Path, PathBuf};

use anyhow::{bail, Context, Result};
use burrow::{ContainerSpec, ContainerSpecBuilder, Namespace, NamespaceSet, Root};

use crate::cli::{Hardening, RunArgs};

/// How an error names the command and its arguments (after `--`), as the
/// help text does.
pub const COMMAND: &str = "COMMAND";

/// Host directories exposed read-only in the default ephemeral root (or
/// recreated as the same symlink, on merged-/usr systems).
const HOST_DIRS: [&str; 7] = ["/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"];

/// Translate the flags into a spec; every error names the flag.
pub fn from_args(args: RunArgs) -> Result<ContainerSpec> {
    let mut namespaces = match &args.namespaces {
        Some(names) => names
            .iter()
            .filter(|n| !n.is_empty())
            .map(|n| n.parse::<Namespace>())
            .collect::<burrow::Result<NamespaceSet>>()
            .context("--namespaces")?,
        None => NamespaceSet::seed_default(),
    };
    if args.network {
        namespaces.remove(Namespace::Net);
    }
    // A new session keeps the sandbox from typing into your shell (TIOCSTI).
    let mut b = ContainerSpec::builder()
        .namespaces(namespaces)
        .die_with_parent(args.die_with_parent)
        .new_session(true);
    let uid = args.uid.unwrap_or(0);
    let gid = args.gid.unwrap_or(0);
    let explicit_maps = !(args.uid_map.is_empty() && args.gid_map.is_empty());
    if explicit_maps && !namespaces.contains(Namespace::User) {
        bail!("--uid-map and --gid-map need the user namespace");
    }
    if namespaces.contains(Namespace::User) && !explicit_maps {
        // The seed's way: you appear as --uid/--gid inside.
        b = b.map_caller(uid, gid, 1);
    } else if args.uid.is_some() || args.gid.is_some() {
        // With your own maps, or no user namespace: switch to them inside.
        b = b.user(uid, gid);
    }
    for s in &args.uid_map {
        b = b.uid_map(parse_map("--uid-map", s)?);
    }
    for s in &args.gid_map {
        b = b.gid_map(parse_map("--gid-map", s)?);
    }
    let hostname = match (namespaces.contains(Namespace::Uts), args.hostname) {
        (true, name) => Some(name.unwrap_or_else(|| "burrow".into())),
        (false, None) => None,
        (false, Some(_)) => bail!("--hostname needs the uts namespace"),
    };
    if let Some(name) = &hostname {
        b = b.hostname(name);
    }
    if !namespaces.contains(Namespace::Mnt) {
        bail!("burrow run builds a root and needs the mnt namespace (see --namespaces)");
    }
    b = match &args.root {
        Some(dir) => {
            let dir = absolute(dir);
            if !dir.is_dir() {
                bail!("--root {}: not a directory", shown(&dir));
            }
            b.root(Root::Directory(dir))
        }
        None => default_root(b, uid, gid, args.network, hostname.as_deref()),
    };
    for s in &args.expose {
        let (src, dst) = parse_bind("--expose", s)?;
        b = b.bind_ro(src, dst);
    }
    for s in &args.share {
        let (src, dst) = parse_bind("--share", s)?;
        b = b.bind(src, dst);
    }
    for dst in &args.tmpfs {
        check_destination("--tmpfs", dst, Path::new(dst))?;
        b = b.tmpfs(dst);
    }
    if let Some(dir) = &args.chdir {
        if let Some(why) = outside_fault(dir) {
            bail!("--chdir {}: {why}", shown(dir));
        }
        b = b.cwd(dir);
    }
    for (k, v) in crate::env::build(&args.preserve, &args.setenv)? {
        b = b.env(k, v);
    }
    let (capabilities, seccomp) = hardening(&args.hardening)?;
    b = b.capabilities(capabilities);
    if let Some(profile) = seccomp {
        b = b.seccomp(profile);
    }
    // Host files under /proc and /sys stay out of reach, as with runc and
    // podman (paths that do not exist are skipped). Without a pid
    // namespace there is no /proc of the container's own to mask.
    if namespaces.contains(Namespace::Pid) {
        for path in burrow::DEFAULT_MASKED_PATHS {
            b = b.masked_path(path);
        }
        for path in burrow::DEFAULT_READONLY_PATHS {
            b = b.readonly_path(path);
        }
    }
    if !(args.landlock_ro.is_empty() && args.landlock_rw.is_empty()) {
        for (flag, paths) in [
            ("--landlock-ro", &args.landlock_ro),
            ("--landlock-rw", &args.landlock_rw),
        ] {
            for path in paths.iter() {
                if let Some(why) = outside_fault(path) {
                    bail!("{flag} {}: {why}", shown(path));
                }
            }
        }
        b = b.landlock(burrow::Landlock {
            read_only: args.landlock_ro.clone(),
            read_write: args.landlock_rw.clone(),
        });
    }
    let argv = if args.command.is_empty() {
        vec!["/bin/sh".to_string()]
    } else {
        args.command
    };
    b.command(argv).build().map_err(name_the_flag)
}

/// What the library refused, prefixed with the flag that set the field at
/// fault (when one flag did), so that the error names what the user typed.
fn name_the_flag(e: burrow::Error) -> anyhow::Error {
    const FLAGS: [(&str, &str); 11] = [
        ("namespaces", "--namespaces"),
        ("uid_maps", "--uid-map"),
        ("gid_maps", "--gid-map"),
        ("user", "--uid/--gid"),
        ("root", "--root"),
        ("hostname", "--hostname"),
        ("env", "--setenv"),
        ("cwd", "--chdir"),
        ("landlock.read_only", "--landlock-ro"),
        ("landlock.read_write", "--landlock-rw"),
        ("payload", COMMAND),
    ];
    let flag = match &e {
        burrow::Error::InvalidSpec { field, .. } => FLAGS.iter().find_map(|(name, flag)| {
            let rest = field.strip_prefix(name)?;
            (rest.is_empty() || rest.starts_with('[')).then_some(*flag)
        }),
        _ => None,
    };
    match flag {
        Some(flag) => anyhow::Error::new(e).context(flag),
        None => e.into(),
    }
}

/// The capabilities (the default set with `--cap-add` and `--cap-drop`)
/// and the seccomp filter (burrow's profile, the `--seccomp` file, or none
/// for `unconfined`) of what `burrow run` or `burrow enter` starts.
pub fn hardening(flags: &Hardening) -> Result<(burrow::Capabilities, Option<burrow::seccomp::Seccomp>)> {
    let capabilities = burrow::Capabilities::only(&capability_set(&flags.cap_add, &flags.cap_drop)?);
    let seccomp = match flags.seccomp.as_deref() {
        None => Some(burrow::seccomp::Seccomp::default_profile()),
        Some(p) if p == Path::new("unconfined") => None,
        Some(file) => {
            let text = std::fs::read_to_string(file).with_context(|| format!("--seccomp {}", shown(file)))?;
            Some(burrow_oci::seccomp::parse(&text).with_context(|| format!("--seccomp {}", shown(file)))?)
        }
    };
    Ok((capabilities, seccomp))
}

/// The default capability set with `--cap-add` and `--cap-drop` applied
/// (names with or without `CAP_`, any case, or `ALL`).
fn capability_set(add: &[String], drop: &[String]) -> Result<Vec<String>> {
    let known = burrow::Capabilities::known();
    let canonical = |flag: &str, name: &str| -> Result<Vec<String>> {
        let upper = name.to_ascii_uppercase();
        if upper == "ALL" {
            return Ok(known.clone());
        }
        let full = if upper.starts_with("CAP_") {
            upper
        } else {
            format!("CAP_{upper}")
        };
        if !known.contains(&full) {
            bail!("{flag} {}: no such capability", shown(name));
        }
        Ok(vec![full])
    };
    // As in Docker and podman: `--cap-drop ALL --cap-add X` leaves X, and
    // `--cap-add ALL --cap-drop X` leaves everything but X.
    let add_all = add.iter().any(|a| a.eq_ignore_ascii_case("ALL"));
    let mut set: Vec<String> = if add_all {
        known.clone()
    } else {
        burrow::DEFAULT_CAPABILITIES.iter().map(|c| c.to_string()).collect()
    };
    for name in drop {
        let gone = canonical("--cap-drop", name)?;
        set.retain(|c| !gone.contains(c));
    }
    for name in add.iter().filter(|_| !add_all) {
        for cap in canonical("--cap-add", name)? {
            if !set.contains(&cap) {
                set.push(cap);
            }
        }
    }
    if add_all {
        // (still refuse unknown names among the others)
        add.iter()
            .try_for_each(|name| canonical("--cap-add", name).map(|_| ()))?;
    }
    Ok(set)
}

/// The default ephemeral root: host system directories read-only, /tmp, and
/// a minimal /etc that names the user.
fn default_root(
    mut b: ContainerSpecBuilder,
    uid: u32,
    gid: u32,
    network: bool,
    hostname: Option<&str>,
) -> ContainerSpecBuilder {
    for dir in HOST_DIRS {
        let path = Path::new(dir);
        match std::fs::read_link(path) {
            Ok(target) => b = b.symlink(target, dir),
            Err(_) if path.is_dir() => b = b.bind_ro(dir, dir),
            Err(_) => {}
        }
    }
    b = b.mount(burrow::Mount::Tmpfs {
        destination: "/tmp".into(),
        mode: 0o1777,
    });
    let mut passwd = String::from("root:x:0:0:root:/:/bin/sh\n");
    let mut group = String::from("root:x:0:\n");
    if uid != 0 {
        passwd.push_str(&format!("user:x:{uid}:{gid}:user:/:/bin/sh\n"));
    }
    if gid != 0 {
        group.push_str(&format!("user:x:{gid}:\n"));
    }
    passwd.push_str("nobody:x:65534:65534:nobody:/:/usr/sbin/nologin\n");
    group.push_str("nogroup:x:65534:\n");
    let hosts = format!(
        "127.0.0.1 localhost {}\n::1 localhost ip6-localhost ip6-loopback\n",
        hostname.unwrap_or_default()
    );
    b = b
        .file("/etc/passwd", passwd)
        .file("/etc/group", group)
        .file("/etc/hosts", hosts);
    if network {
        if let Ok(resolv) = std::fs::read_to_string("/etc/resolv.conf") {
            b = b.file("/etc/resolv.conf", resolv);
        }
    } else {
        b = b.file("/etc/resolv.conf", "nameserver 127.0.0.1\n");
    }
    b
}

/// Parse `INSIDE:OUTSIDE:COUNT`.
fn parse_map(flag: &str, s: &str) -> Result<burrow::IdMap> {
    s.parse().map_err(|e| anyhow::anyhow!("{flag} {}: {e}", shown(s)))
}

/// Parse `SRC[=DST]`: SRC must exist (relative to here is fine), DST must be
/// absolute and defaults to SRC.
fn parse_bind(flag: &str, s: &str) -> Result<(PathBuf, PathBuf)> {
    let (src, dst) = match s.split_once('=') {
        Some((src, dst)) => (src, Some(dst)),
        None => (s, None),
    };
    let src = absolute(Path::new(src));
    if let Err(e) = std::fs::metadata(&src) {
        bail!("{flag} {}: source {}: {e}", shown(s), shown(&src));
    }
    let dst = match dst {
        Some(d) => PathBuf::from(d),
        None => src.clone(),
    };
    check_destination(flag, s, &dst)?;
    Ok((src, dst))
}

/// A mount's destination, from `flag ARG`: a path inside the container
/// (see [`outside_fault`]), and not the root itself.
fn check_destination(flag: &str, arg: &str, dst: &Path) -> Result<()> {
    if let Some(why) = outside_fault(dst) {
        bail!("{flag} {}: destination {dst:?} {why}", shown(arg));
    }
    if dst.components().count() == 1 {
        bail!(
            "{flag} {}: cannot cover the container's root; use --root to choose it",
            shown(arg)
        );
    }
    Ok(())
}

/// Why `path` cannot name a place inside the container, if it cannot: it
/// must be absolute, without `..` (the library refuses those too, but
/// could not say which flag gave them).
fn outside_fault(path: &Path) -> Option<&'static str> {
    if !path.is_absolute() {
        Some("must be an absolute path inside the container")
    } else if path.components().any(|c| c == Component::ParentDir) {
        Some("must not contain \"..\"")
    } else {
        None
    }
}

/// A value as the user typed it, for an error message: as it is, or
/// quoted with escapes when it holds a control character (a newline would
/// break the one-line error).
fn shown(value: impl AsRef<OsStr>) -> String {
    let text = value.as_ref().to_string_lossy();
    if text.chars().any(char::is_control) {
        format!("{text:?}")
    } else {
        text.into_owned()
    }
}

fn absolute(p: &Path) -> PathBuf {
    std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf())
}
