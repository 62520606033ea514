//! Seccomp filters compiled by burrow, run in real containers: the default
//! profile, every argument comparison at 64-bit edges, actions, and user
//! notification answered by this test.

use burrow::seccomp::{Action, ArgCmp, CmpOp, Rule, Seccomp};
use burrow::{ContainerSpec, ExitStatus};

/// Run `f` as a closure payload under `profile`; its return is the exit code.
fn under(profile: Seccomp, f: impl Fn() -> i32 + Send + Sync + 'static) -> ExitStatus {
    let spec = ContainerSpec::builder().seccomp(profile).closure(f).build().unwrap();
    burrow::run(&spec).unwrap()
}

/// `syscall(nr, args...)` → `Ok(ret)` or `Err(errno)`.
fn call(nr: libc::c_long, args: [u64; 6]) -> Result<i64, i32> {
    // SAFETY: the calls used here (getpid, process_madvise, mount with null
    // pointers, ioctl) take integers or null pointers that the kernel checks.
    let ret = unsafe { libc::syscall(nr, args[0], args[1], args[2], args[3], args[4], args[5]) };
    if ret == -1 {
        Err(std::io::Error::last_os_error().raw_os_error().unwrap_or(0))
    } else {
        Ok(ret)
    }
}

/// A profile that allows everything but `getpid` with these comparisons,
/// which fails with `EDOM`.
fn getpid_rule(args: Vec<ArgCmp>) -> Seccomp {
    Seccomp {
        default_action: Action::Allow,
        architectures: Vec::new(),
        flags: 0,
        rules: vec![Rule {
            syscalls: vec!["getpid".into()],
            action: Action::Errno(libc::EDOM as u16),
            args,
        }],
    }
}

fn cmp(index: u32, op: CmpOp, value: u64) -> ArgCmp {
    ArgCmp {
        index,
        op,
        value,
        value_two: 0,
    }
}

#[test]
fn the_default_profile_allows_refuses_and_hides() {
    let status = under(Seccomp::default_profile(), || {
        let null = [0u64; 6];
        let checks = [
            // Ordinary calls work.
            call(libc::SYS_getpid, null).is_ok(),
            std::fs::create_dir("/made-here").is_ok(),
            // Administration is refused.
            call(libc::SYS_mount, null) == Err(libc::EPERM),
            call(libc::SYS_unshare, [libc::CLONE_NEWUSER as u64, 0, 0, 0, 0, 0]) == Err(libc::EPERM),
            call(
                libc::SYS_clone,
                [libc::CLONE_NEWNET as u64 | libc::SIGCHLD as u64, 0, 0, 0, 0, 0],
            ) == Err(libc::EPERM),
            // Terminal injection is refused, other ioctls are not.
            call(libc::SYS_ioctl, [0, libc::TIOCSTI, 0, 0, 0, 0]) == Err(libc::EPERM),
            call(libc::SYS_ioctl, [0, 0x1_0000_0000 | libc::TIOCSTI, 0, 0, 0, 0]) == Err(libc::EPERM),
            call(libc::SYS_ioctl, [-1i64 as u64, libc::TIOCGWINSZ, 0, 0, 0, 0]) == Err(libc::EBADF),
            // A syscall the profile does not know looks missing.
            call(libc::SYS_process_madvise, [u64::MAX, 0, 0, 0, 0, 0]) == Err(libc::ENOSYS),
        ];
        // Exit code: 0, or 1 + the index of the first failed check.
        checks.iter().position(|ok| !ok).map_or(0, |i| i as i32 + 1)
    });
    assert_eq!(status, ExitStatus::Exited(0));
}

#[test]
fn argument_comparisons_are_64_bits_wide() {
    const BIG: u64 = 0x1_0000_0000;
    // (comparison, argument values that match, values that do not)
    let cases: Vec<(CmpOp, u64, Vec<u64>, Vec<u64>)> = vec![
        (CmpOp::Eq, BIG + 5, vec![BIG + 5], vec![5, BIG, 2 * BIG + 5]),
        (CmpOp::Ne, BIG + 5, vec![5, BIG, 2 * BIG + 5], vec![BIG + 5]),
        (
            CmpOp::Gt,
            BIG + 5,
            vec![BIG + 6, 2 * BIG],
            vec![BIG + 5, BIG + 4, 0xffff_ffff],
        ),
        (CmpOp::Ge, BIG + 5, vec![BIG + 5, 2 * BIG], vec![BIG + 4, 0xffff_ffff]),
        (
            CmpOp::Lt,
            BIG + 5,
            vec![BIG + 4, 0xffff_ffff, 0],
            vec![BIG + 5, 2 * BIG],
        ),
        (
            CmpOp::Le,
            BIG + 5,
            vec![BIG + 5, 0xffff_ffff],
            vec![BIG + 6, 2 * BIG + 1],
        ),
    ];
    for (op, value, matching, other) in cases {
        let status = under(getpid_rule(vec![cmp(3, op, value)]), move || {
            let hit = |v: u64| call(libc::SYS_getpid, [0, 0, 0, v, 0, 0]) == Err(libc::EDOM);
            let wrong = matching.iter().filter(|v| !hit(**v)).count() + other.iter().filter(|v| hit(**v)).count();
            wrong as i32
        });
        assert_eq!(status, ExitStatus::Exited(0), "{op:?} {value:#x}");
    }
}

#[test]
fn masked_comparisons_and_several_arguments() {
    // arg0 & 0xff00_0000_00ff == 0x1200_0000_0034, and arg5 == 7.
    let rule = vec![
        ArgCmp {
            index: 0,
            op: CmpOp::MaskedEq,
            value: 0xff00_0000_00ff,
            value_two: 0x1200_0000_0034,
        },
        cmp(5, CmpOp::Eq, 7),
    ];
    let status = under(getpid_rule(rule), || {
        let hit = |a0: u64, a5: u64| call(libc::SYS_getpid, [a0, 0, 0, 0, 0, a5]) == Err(libc::EDOM);
        let checks = [
            hit(0x12ab_cdef_0034, 7),
            !hit(0x12ab_cdef_0034, 8),
            !hit(0x13ab_cdef_0034, 7),
            !hit(0x12ab_cdef_0035, 7),
        ];
        checks.iter().position(|ok| !ok).map_or(0, |i| i as i32 + 1)
    });
    assert_eq!(status, ExitStatus::Exited(0));

    // Two comparisons of one argument are alternatives (runc's reading).
    let either = vec![cmp(1, CmpOp::Eq, 3), cmp(1, CmpOp::Eq, 4)];
    let status = under(getpid_rule(either), || {
        let hit = |a1: u64| call(libc::SYS_getpid, [0, a1, 0, 0, 0, 0]) == Err(libc::EDOM);
        i32::from(!(hit(3) && hit(4) && !hit(5)))
    });
    assert_eq!(status, ExitStatus::Exited(0));
}

#[test]
fn kill_and_trap_actions_end_the_process() {
    for (action, signal) in [(Action::KillProcess, libc::SIGSYS), (Action::Trap, libc::SIGSYS)] {
        let mut profile = getpid_rule(Vec::new());
        profile.rules[0].action = action;
        let status = under(profile, || {
            let _ = call(libc::SYS_getpid, [0; 6]);
            0
        });
        assert_eq!(status, ExitStatus::Signaled(signal), "{action:?}");
    }
}

#[test]
fn a_command_runs_under_the_default_profile() {
    let spec = ContainerSpec::builder()
        .bind_ro("/usr", "/usr")
        .symlink("usr/bin", "/bin")
        .symlink("usr/lib", "/lib")
        .symlink("usr/lib64", "/lib64")
        .env("PATH", "/usr/bin")
        .seccomp(Seccomp::default_profile())
        .command([
            "sh",
            "-c",
            "unshare -U true 2>/dev/null && exit 3; ls / >/dev/null && exit 7",
        ])
        .build()
        .unwrap();
    assert_eq!(burrow::run(&spec).unwrap(), ExitStatus::Exited(7));
}

/// `struct seccomp_notif`.
#[repr(C)]
#[derive(Default)]
struct Notif {
    id: u64,
    pid: u32,
    flags: u32,
    nr: i32,
    arch: u32,
    ip: u64,
    args: [u64; 6],
}

/// `struct seccomp_notif_resp`.
#[repr(C)]
struct NotifResp {
    id: u64,
    val: i64,
    error: i32,
    flags: u32,
}

const NOTIF_RECV: libc::c_ulong = 0xc050_2100;
const NOTIF_SEND: libc::c_ulong = 0xc018_2101;

#[test]
fn user_notification_is_answered_by_the_listener() {
    let profile = Seccomp {
        default_action: Action::Allow,
        architectures: Vec::new(),
        flags: 0,
        rules: vec![Rule {
            syscalls: vec!["getppid".into()],
            action: Action::Notify,
            args: Vec::new(),
        }],
    };
    let spec = ContainerSpec::builder()
        .seccomp(profile)
        .closure(|| {
            // SAFETY: getppid takes no arguments.
            let answer = unsafe { libc::getppid() };
            if answer == 4242 {
                0
            } else {
                1
            }
        })
        .build()
        .unwrap();
    let mut container = burrow::spawn(&spec).unwrap();
    let listener = container.take_seccomp_listener().expect("a listener");
    let mut notif = Notif::default();
    use std::os::fd::AsRawFd;
    // SAFETY: `notif` has the kernel's layout and size for this ioctl.
    let ret = unsafe { libc::ioctl(listener.as_raw_fd(), NOTIF_RECV, &mut notif as *mut Notif) };
    assert_eq!(ret, 0, "{}", std::io::Error::last_os_error());
    assert_eq!(notif.nr as libc::c_long, libc::SYS_getppid);
    let mut resp = NotifResp {
        id: notif.id,
        val: 4242,
        error: 0,
        flags: 0,
    };
    // SAFETY: `resp` has the kernel's layout and size for this ioctl.
    let ret = unsafe { libc::ioctl(listener.as_raw_fd(), NOTIF_SEND, &mut resp as *mut NotifResp) };
    assert_eq!(ret, 0, "{}", std::io::Error::last_os_error());
    assert_eq!(container.wait().unwrap(), ExitStatus::Exited(0));
}

#[test]
fn bad_profiles_are_refused_by_field() {
    let mut notify_default = getpid_rule(Vec::new());
    notify_default.default_action = Action::Notify;
    let mut seventh_arg = getpid_rule(vec![cmp(6, CmpOp::Eq, 0)]);
    seventh_arg.rules[0].action = Action::Allow;
    let mut notify_sendmsg = getpid_rule(Vec::new());
    notify_sendmsg.rules[0] = Rule {
        syscalls: vec!["sendmsg".into()],
        action: Action::Notify,
        args: Vec::new(),
    };
    for (profile, field) in [
        (notify_default, "seccomp.default_action"),
        (seventh_arg, "seccomp.rules[0].args"),
        (notify_sendmsg, "seccomp.rules[0].syscalls"),
    ] {
        let err = ContainerSpec::builder()
            .seccomp(profile)
            .closure(|| 0)
            .build()
            .unwrap_err()
            .to_string();
        assert!(err.contains(field), "{err}");
    }
}
