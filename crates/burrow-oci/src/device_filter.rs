//! Device rules on cgroup v2: an eBPF program of type
//! `BPF_PROG_TYPE_CGROUP_DEVICE`, attached to the container's cgroup, that
//! the kernel asks before every open or mknod of a device node. The rules
//! are those v1 would write to `devices.allow`/`devices.deny`, in order;
//! the last one that matches decides, and nothing matching means denied.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::Path;

use crate::error::{OciError, Result};

/// One device rule: `kind` is `a`, `c` or `b`; `None` numbers match any;
/// `access` is a subset of "rwm".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// Allow (or deny).
    pub allow: bool,
    /// `a` (any), `c` (character) or `b` (block).
    pub kind: char,
    /// Major number, or any.
    pub major: Option<u32>,
    /// Minor number, or any.
    pub minor: Option<u32>,
    /// Access: some of `r`, `w`, `m`.
    pub access: String,
}

impl Rule {
    /// Parse a v1 rule such as `c 1:3 rwm` or `a *:* rwm`.
    pub fn parse(allow: bool, text: &str) -> Option<Rule> {
        let mut parts = text.split_whitespace();
        let kind = parts.next()?.chars().next()?;
        let (major, minor) = match parts.next() {
            Some(numbers) => numbers.split_once(':')?,
            None => ("*", "*"),
        };
        let number = |n: &str| if n == "*" { Ok(None) } else { n.parse().map(Some) };
        Some(Rule {
            allow,
            kind,
            major: number(major).ok()?,
            minor: number(minor).ok()?,
            access: parts.next().unwrap_or("rwm").to_owned(),
        })
    }
}

// eBPF instruction classes and fields.
const BPF_LDX: u8 = 0x01;
const BPF_ALU64: u8 = 0x07;
const BPF_JMP: u8 = 0x05;
const BPF_W: u8 = 0x00;
const BPF_MEM: u8 = 0x60;
const BPF_K: u8 = 0x00;
const BPF_MOV: u8 = 0xb0;
const BPF_AND: u8 = 0x50;
const BPF_RSH: u8 = 0x70;
const BPF_JNE: u8 = 0x50;
const BPF_JSET: u8 = 0x40;
const BPF_EXIT: u8 = 0x90;
const BPF_X: u8 = 0x08;

/// One eBPF instruction (`struct bpf_insn`).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Insn {
    code: u8,
    regs: u8,
    off: i16,
    imm: i32,
}

fn insn(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> Insn {
    Insn {
        code,
        regs: (src << 4) | (dst & 0xf),
        off,
        imm,
    }
}

/// `BPF_DEVCG_DEV_*` and `BPF_DEVCG_ACC_*`.
fn kind_bit(kind: char) -> i32 {
    if kind == 'b' {
        1
    } else {
        2
    }
}

fn access_bits(access: &str) -> i32 {
    access.chars().fold(0, |acc, c| {
        acc | match c {
            'm' => 1,
            'r' => 2,
            'w' => 4,
            _ => 0,
        }
    })
}

/// The program for `rules`: registers r2 = type, r3 = access, r4 = major,
/// r5 = minor; then each rule from the last to the first, the first that
/// matches returning its verdict; at the end, deny.
pub fn program(rules: &[Rule]) -> Vec<Insn> {
    let mut code = vec![
        // r2 = ctx->access_type & 0xffff; r3 = ctx->access_type >> 16
        insn(BPF_LDX | BPF_W | BPF_MEM, 2, 1, 0, 0),
        insn(BPF_ALU64 | BPF_MOV | BPF_X, 3, 2, 0, 0),
        insn(BPF_ALU64 | BPF_AND | BPF_K, 2, 0, 0, 0xffff),
        insn(BPF_ALU64 | BPF_RSH | BPF_K, 3, 0, 0, 16),
        // r4 = ctx->major; r5 = ctx->minor
        insn(BPF_LDX | BPF_W | BPF_MEM, 4, 1, 4, 0),
        insn(BPF_LDX | BPF_W | BPF_MEM, 5, 1, 8, 0),
    ];
    for rule in rules.iter().rev() {
        // Checks that skip to the next rule when they fail, then the
        // verdict; the skips are patched once the block's length is known.
        let mut block: Vec<Insn> = Vec::new();
        if rule.kind != 'a' {
            block.push(insn(BPF_JMP | BPF_JNE | BPF_K, 2, 0, 0, kind_bit(rule.kind)));
        }
        let allowed = access_bits(&rule.access);
        if allowed != 7 {
            // Any requested access outside the rule's: not this rule.
            block.push(insn(BPF_JMP | BPF_JSET | BPF_K, 3, 0, 0, !allowed & 7));
        }
        if let Some(major) = rule.major {
            block.push(insn(BPF_JMP | BPF_JNE | BPF_K, 4, 0, 0, major as i32));
        }
        if let Some(minor) = rule.minor {
            block.push(insn(BPF_JMP | BPF_JNE | BPF_K, 5, 0, 0, minor as i32));
        }
        block.push(insn(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, i32::from(rule.allow)));
        block.push(insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0));
        let len = block.len();
        for (i, check) in block.iter_mut().enumerate().take(len - 2) {
            // Jump past the rest of the block: to the next rule.
            check.off = (len - i - 1) as i16;
        }
        code.extend(block);
        if len == 2 {
            // A rule that matches everything: what comes after is
            // unreachable, which the verifier refuses.
            return code;
        }
    }
    code.push(insn(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 0));
    code.push(insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0));
    code
}

/// `union bpf_attr` for BPF_PROG_LOAD (the fields we use, zero-padded).
#[repr(C)]
#[derive(Default)]
struct ProgLoad {
    prog_type: u32,
    insn_cnt: u32,
    insns: u64,
    license: u64,
    log_level: u32,
    log_size: u32,
    log_buf: u64,
    kern_version: u32,
    prog_flags: u32,
    _rest: [u64; 12],
}

/// `union bpf_attr` for BPF_PROG_ATTACH.
#[repr(C)]
#[derive(Default)]
struct ProgAttach {
    target_fd: u32,
    attach_bpf_fd: u32,
    attach_type: u32,
    attach_flags: u32,
    replace_bpf_fd: u32,
    _rest: [u32; 11],
}

const BPF_PROG_LOAD: libc::c_int = 5;
const BPF_PROG_ATTACH: libc::c_int = 8;
const BPF_PROG_TYPE_CGROUP_DEVICE: u32 = 15;
const BPF_CGROUP_DEVICE: u32 = 6;
const BPF_F_ALLOW_MULTI: u32 = 2;

/// `BPF_PROG_LOAD` of a device program, with a verifier log into `log`
/// when it is not empty.
fn load(code: &[Insn], log: &mut [u8]) -> std::io::Result<OwnedFd> {
    let license = c"Apache-2.0";
    let load = ProgLoad {
        prog_type: BPF_PROG_TYPE_CGROUP_DEVICE,
        insn_cnt: code.len() as u32,
        insns: code.as_ptr() as u64,
        license: license.as_ptr() as u64,
        log_level: u32::from(!log.is_empty()),
        log_size: log.len() as u32,
        log_buf: if log.is_empty() { 0 } else { log.as_mut_ptr() as u64 },
        ..ProgLoad::default()
    };
    // SAFETY: `load` is a valid bpf_attr for BPF_PROG_LOAD whose pointers
    // (instructions, license, log buffer) stay alive across the call; the
    // size passed is the struct's.
    let prog = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            BPF_PROG_LOAD,
            &load as *const ProgLoad,
            std::mem::size_of::<ProgLoad>(),
        )
    };
    if prog < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: a non-negative result of BPF_PROG_LOAD is a new fd we own.
    Ok(unsafe { OwnedFd::from_raw_fd(prog as i32) })
}

/// Load the program for `rules` and attach it to the cgroup2 directory
/// `dir`; it stays there until the cgroup is removed.
pub fn attach(dir: &Path, rules: &[Rule]) -> Result<()> {
    let fail = |what: &str, e: std::io::Error| OciError::Field {
        field: "linux.resources.devices".into(),
        reason: format!("{what} for {}: {e}", dir.display()),
    };
    let code = program(rules);
    // Loaded without a verifier log: a log that does not fit its buffer
    // makes the load itself fail (ENOSPC). Only a refused program is
    // loaded again, with a log big enough to say why.
    let prog = load(&code, &mut []).map_err(|err| {
        let mut log = vec![0u8; 1 << 20];
        let _ = load(&code, &mut log);
        let verifier = String::from_utf8_lossy(&log);
        let verifier = verifier.trim_end_matches('\0').lines().collect::<Vec<_>>().join(" | ");
        fail(&format!("loading the device program ({verifier})"), err)
    })?;
    let cgroup = std::fs::File::open(dir).map_err(|e| fail("opening the cgroup", e))?;
    let attach = ProgAttach {
        target_fd: cgroup.as_raw_fd() as u32,
        attach_bpf_fd: prog.as_raw_fd() as u32,
        attach_type: BPF_CGROUP_DEVICE,
        attach_flags: BPF_F_ALLOW_MULTI,
        ..ProgAttach::default()
    };
    // SAFETY: `attach` is a valid bpf_attr for BPF_PROG_ATTACH naming two
    // fds that are open for the whole call.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            BPF_PROG_ATTACH,
            &attach as *const ProgAttach,
            std::mem::size_of::<ProgAttach>(),
        )
    };
    if ret < 0 {
        return Err(fail("attaching the device program", std::io::Error::last_os_error()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_parse_like_v1() {
        assert_eq!(
            Rule::parse(true, "c 1:3 rwm"),
            Some(Rule {
                allow: true,
                kind: 'c',
                major: Some(1),
                minor: Some(3),
                access: "rwm".into()
            })
        );
        let any = Rule::parse(false, "a").unwrap();
        assert_eq!(
            (any.kind, any.major, any.minor, any.access.as_str()),
            ('a', None, None, "rwm")
        );
        assert_eq!(Rule::parse(true, "c *:* m").unwrap().major, None);
        assert!(Rule::parse(true, "c x:1 r").is_none());
    }

    #[test]
    fn the_program_checks_each_rule_last_first() {
        let rules = [Rule::parse(false, "a").unwrap(), Rule::parse(true, "c 1:3 rw").unwrap()];
        let code = program(&rules);
        // prologue (6), c 1:3 rw (type, access, major, minor, mov, exit),
        // a (mov, exit), and nothing after it (it matches everything).
        assert_eq!(code.len(), 6 + 6 + 2);
        // The first check of the c 1:3 rule skips its 5 following
        // instructions when the type differs.
        assert_eq!(
            (code[6].code, code[6].off, code[6].imm),
            (BPF_JMP | BPF_JNE | BPF_K, 5, 2)
        );
        // Asking for mknod (not in "rw") skips the rule.
        assert_eq!((code[7].code, code[7].imm), (BPF_JMP | BPF_JSET | BPF_K, 1));
        assert_eq!(code[10].imm, 1, "allow");
        assert_eq!(code[12].imm, 0, "the catch-all denies");
        // Without a catch-all, the end denies.
        let code = program(&rules[1..]);
        assert_eq!(code.len(), 6 + 6 + 2);
        assert_eq!(code[12].imm, 0);
    }
}
