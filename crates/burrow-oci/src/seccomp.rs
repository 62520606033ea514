//! `linux.seccomp` → the core's [`burrow::seccomp::Seccomp`], and the
//! delivery of a user notification listener to `listenerPath`.

use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::path::Path;

use burrow::seccomp::{Action, Arch, ArgCmp, CmpOp, Rule, Seccomp};
use oci_spec::runtime::{
    Arch as OciArch, LinuxSeccomp, LinuxSeccompAction, LinuxSeccompFilterFlag, LinuxSeccompOperator,
};

use crate::error::{OciError, Result};

fn refuse<T>(field: &str, reason: impl Into<String>) -> Result<T> {
    Err(OciError::Field {
        field: field.into(),
        reason: reason.into(),
    })
}

/// An OCI action with its errno (EPERM when an errno action names none,
/// as runc does).
fn action(field: &str, a: LinuxSeccompAction, errno: Option<u32>) -> Result<Action> {
    let errno = match errno.map(u16::try_from) {
        None => libc::EPERM as u16,
        Some(Ok(e)) => e,
        Some(Err(_)) => return refuse(field, "errnoRet is too large"),
    };
    Ok(match a {
        LinuxSeccompAction::ScmpActKill | LinuxSeccompAction::ScmpActKillThread => Action::KillThread,
        LinuxSeccompAction::ScmpActKillProcess => Action::KillProcess,
        LinuxSeccompAction::ScmpActTrap => Action::Trap,
        LinuxSeccompAction::ScmpActErrno => Action::Errno(errno),
        LinuxSeccompAction::ScmpActTrace => Action::Trace(errno),
        LinuxSeccompAction::ScmpActAllow => Action::Allow,
        LinuxSeccompAction::ScmpActLog => Action::Log,
        LinuxSeccompAction::ScmpActNotify => Action::Notify,
    })
}

/// Architectures this machine can run; the others cannot make syscalls
/// here, so they are left out of the filter.
fn arch(a: OciArch) -> Option<Arch> {
    let arch = match a {
        OciArch::ScmpArchNative => *Arch::runnable().first()?,
        OciArch::ScmpArchX86_64 => Arch::X86_64,
        OciArch::ScmpArchX86 => Arch::X86,
        OciArch::ScmpArchX32 => Arch::X32,
        OciArch::ScmpArchAarch64 => Arch::Aarch64,
        OciArch::ScmpArchArm => Arch::Arm,
        _ => return None,
    };
    Arch::runnable().contains(&arch).then_some(arch)
}

/// Convert a profile; a field burrow cannot honour is refused by name.
pub fn profile(s: &LinuxSeccomp) -> Result<Seccomp> {
    let default_action = action("linux.seccomp.defaultAction", s.default_action(), s.default_errno_ret())?;
    let architectures: Vec<Arch> = s
        .architectures()
        .clone()
        .unwrap_or_default()
        .into_iter()
        .filter_map(arch)
        .collect();
    let mut flags = 0;
    for flag in s.flags().clone().unwrap_or_default() {
        flags |= match flag {
            LinuxSeccompFilterFlag::SeccompFilterFlagLog => burrow::seccomp::FLAG_LOG,
            LinuxSeccompFilterFlag::SeccompFilterFlagTsync => burrow::seccomp::FLAG_TSYNC,
            LinuxSeccompFilterFlag::SeccompFilterFlagSpecAllow => burrow::seccomp::FLAG_SPEC_ALLOW,
            LinuxSeccompFilterFlag::SeccompFilterFlagWaitKillableRecv => burrow::seccomp::FLAG_WAIT_KILLABLE_RECV,
        };
    }
    let mut rules = Vec::new();
    for (i, call) in s.syscalls().clone().unwrap_or_default().iter().enumerate() {
        let field = format!("linux.seccomp.syscalls[{i}]");
        let mut args = Vec::new();
        for (j, arg) in call.args().clone().unwrap_or_default().iter().enumerate() {
            let index = u32::try_from(arg.index())
                .ok()
                .filter(|i| *i <= 5)
                .map_or_else(|| refuse(&format!("{field}.args[{j}].index"), "must be 0 to 5"), Ok)?;
            args.push(ArgCmp {
                index,
                op: match arg.op() {
                    LinuxSeccompOperator::ScmpCmpNe => CmpOp::Ne,
                    LinuxSeccompOperator::ScmpCmpLt => CmpOp::Lt,
                    LinuxSeccompOperator::ScmpCmpLe => CmpOp::Le,
                    LinuxSeccompOperator::ScmpCmpEq => CmpOp::Eq,
                    LinuxSeccompOperator::ScmpCmpGe => CmpOp::Ge,
                    LinuxSeccompOperator::ScmpCmpGt => CmpOp::Gt,
                    LinuxSeccompOperator::ScmpCmpMaskedEq => CmpOp::MaskedEq,
                },
                value: arg.value(),
                value_two: arg.value_two().unwrap_or(0),
            });
        }
        rules.push(Rule {
            syscalls: call.names().clone(),
            action: action(&format!("{field}.errnoRet"), call.action(), call.errno_ret())?,
            args,
        });
    }
    let profile = Seccomp {
        default_action,
        architectures,
        flags,
        rules,
    };
    if profile.notifies() && s.listener_path().is_none() {
        return refuse(
            "linux.seccomp.listenerPath",
            "SCMP_ACT_NOTIFY needs a listener to send the notification fd to",
        );
    }
    profile.validate().map_err(crate::convert::from_core)?;
    Ok(profile)
}

/// A profile from the JSON of an OCI `linux.seccomp` object (the format of
/// runc's, podman's and Docker's profile files).
pub fn parse(json: &str) -> Result<Seccomp> {
    let oci: LinuxSeccomp = crate::error::decode("seccomp profile", json)?;
    if oci.listener_path().is_some() {
        return refuse("seccomp.listenerPath", "user notification needs an OCI container");
    }
    profile(&oci)
}

/// Send `listener` to the seccomp agent at `path`, as the runtime spec
/// says: the container process state as the message, the fd with it.
pub fn send_listener(path: &Path, listener: OwnedFd, state: serde_json::Value, pid: i32, metadata: &str) -> Result<()> {
    let message = serde_json::json!({
        "ociVersion": crate::state::OCI_VERSION,
        "fds": ["seccompFd"],
        "pid": pid,
        "metadata": metadata,
        "state": state,
    });
    let body = serde_json::to_vec(&message).unwrap_or_default();
    let fail = |e: std::io::Error| OciError::Field {
        field: "linux.seccomp.listenerPath".into(),
        reason: format!("{}: {e}", path.display()),
    };
    let socket = UnixStream::connect(path).map_err(fail)?;
    let fds = [listener.as_raw_fd()];
    nix::sys::socket::sendmsg::<()>(
        socket.as_raw_fd(),
        &[std::io::IoSlice::new(&body)],
        &[nix::sys::socket::ControlMessage::ScmRights(&fds)],
        nix::sys::socket::MsgFlags::MSG_NOSIGNAL,
        None,
    )
    .map_err(|e| fail(e.into()))?;
    Ok(())
}
