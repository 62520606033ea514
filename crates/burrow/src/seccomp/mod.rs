//! Seccomp filters: a profile as plain data ([`Seccomp`]), compiled to
//! classic BPF in Rust (no libseccomp), installed by the container process
//! as late as it can.
//!
//! The compiled filter checks the architecture, then finds the syscall by
//! binary search over the sorted numbers that have rules, then tries that
//! syscall's rules in order (argument comparisons as libseccomp does them,
//! 64 bits wide), and falls back to the default action. Syscall names
//! unknown on an architecture are skipped there, as runc does.

mod bpf;
mod default_profile;

use std::collections::BTreeMap;

use serde::Serialize;

pub use bpf::SockFilter;
use bpf::{Cond, Label, Program};

use crate::error::{Error, Result};

/// What a filter does with a syscall (`SCMP_ACT_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Action {
    /// Kill the calling thread.
    KillThread,
    /// Kill the whole process.
    KillProcess,
    /// Send `SIGSYS`.
    Trap,
    /// Fail with this errno.
    Errno(u16),
    /// Let a ptrace tracer decide, with this value.
    Trace(u16),
    /// Run the syscall.
    Allow,
    /// Run it and log it.
    Log,
    /// Ask the listener (user notification) what to do.
    Notify,
}

impl Action {
    /// The `SECCOMP_RET_*` value.
    fn ret(self) -> u32 {
        match self {
            Action::KillThread => 0x0000_0000,
            Action::KillProcess => 0x8000_0000,
            Action::Trap => 0x0003_0000,
            Action::Errno(e) => 0x0005_0000 | e as u32,
            Action::Trace(v) => 0x7ff0_0000 | v as u32,
            Action::Allow => 0x7fff_0000,
            Action::Log => 0x7ffc_0000,
            Action::Notify => 0x7fc0_0000,
        }
    }
}

/// An architecture whose syscalls a filter covers (`SCMP_ARCH_*`); only
/// those this machine can run matter, the others are skipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub enum Arch {
    /// x86-64.
    X86_64,
    /// 32-bit x86 (i386), runnable on an x86-64 kernel.
    X86,
    /// x32: x86-64 syscalls with the x32 bit, 32-bit pointers.
    X32,
    /// 64-bit ARM.
    Aarch64,
    /// 32-bit ARM, runnable on some 64-bit ARM kernels.
    Arm,
}

impl Arch {
    /// The architectures this build's kernel can run, native first.
    pub fn runnable() -> &'static [Arch] {
        if cfg!(target_arch = "x86_64") {
            &[Arch::X86_64, Arch::X86, Arch::X32]
        } else if cfg!(target_arch = "aarch64") {
            &[Arch::Aarch64, Arch::Arm]
        } else {
            &[]
        }
    }

    /// `AUDIT_ARCH_*`, as `seccomp_data.arch` reports it.
    fn audit(self) -> u32 {
        match self {
            Arch::X86_64 | Arch::X32 => 0xc000_003e,
            Arch::X86 => 0x4000_0003,
            Arch::Aarch64 => 0xc000_00b7,
            Arch::Arm => 0x4000_0028,
        }
    }

    /// The number of syscall `name` on this architecture (the syscall
    /// tables' names compile to a `match`: no table is built per filter).
    fn number(self, name: &str) -> Option<u32> {
        let id = match self {
            Arch::X86_64 | Arch::X32 => name.parse::<syscalls::x86_64::Sysno>().ok()?.id(),
            Arch::X86 => name.parse::<syscalls::x86::Sysno>().ok()?.id(),
            Arch::Aarch64 => name.parse::<syscalls::aarch64::Sysno>().ok()?.id(),
            Arch::Arm => name.parse::<syscalls::arm::Sysno>().ok()?.id(),
        };
        u32::try_from(id).ok()
    }

    /// Whether arguments are 64 bits wide.
    fn wide(self) -> bool {
        matches!(self, Arch::X86_64 | Arch::Aarch64)
    }
}

/// How an argument is compared (`SCMP_CMP_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum CmpOp {
    /// `arg != value`.
    Ne,
    /// `arg < value`.
    Lt,
    /// `arg <= value`.
    Le,
    /// `arg == value`.
    Eq,
    /// `arg >= value`.
    Ge,
    /// `arg > value`.
    Gt,
    /// `arg & value == value_two`.
    MaskedEq,
}

/// One argument comparison of a rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct ArgCmp {
    /// Which argument (0 to 5).
    pub index: u32,
    /// The comparison.
    pub op: CmpOp,
    /// The value compared with (the mask for [`CmpOp::MaskedEq`]).
    pub value: u64,
    /// The expected value for [`CmpOp::MaskedEq`].
    pub value_two: u64,
}

/// A rule: these syscalls, when their arguments match, get `action`.
/// Comparisons of different arguments must all hold; several comparisons
/// of the same argument are alternatives, each a rule of its own (as runc
/// reads OCI profiles).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rule {
    /// Syscall names, such as `mkdirat`.
    pub syscalls: Vec<String>,
    /// What happens when the rule matches.
    pub action: Action,
    /// Argument comparisons; empty matches every call.
    pub args: Vec<ArgCmp>,
}

/// `SECCOMP_FILTER_FLAG_TSYNC`.
pub const FLAG_TSYNC: u32 = 1;
/// `SECCOMP_FILTER_FLAG_LOG`: log every action but allow.
pub const FLAG_LOG: u32 = 2;
/// `SECCOMP_FILTER_FLAG_SPEC_ALLOW`: keep speculative store bypass on.
pub const FLAG_SPEC_ALLOW: u32 = 4;
/// `SECCOMP_FILTER_FLAG_NEW_LISTENER` (set for a profile with
/// [`Action::Notify`]).
pub const FLAG_NEW_LISTENER: u32 = 8;
/// `SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV`.
pub const FLAG_WAIT_KILLABLE_RECV: u32 = 32;

/// A seccomp profile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Seccomp {
    /// What happens to a syscall no rule matches.
    pub default_action: Action,
    /// Architectures the filter lets through (empty: the native one);
    /// syscalls of any other kill the thread, as with libseccomp.
    pub architectures: Vec<Arch>,
    /// `SECCOMP_FILTER_FLAG_*` bits.
    pub flags: u32,
    /// The rules, first match wins.
    pub rules: Vec<Rule>,
}

/// Syscalls the container process itself makes after installing a filter
/// with user notification and before the listener reaches its agent.
const NEVER_NOTIFIED: [&str; 2] = ["sendmsg", "sendto"];

impl Seccomp {
    /// burrow's default profile for `burrow run`: the syscalls ordinary
    /// programs use are allowed; administration (mount, namespaces,
    /// modules, keyrings, bpf, ptrace, clock setting, reboot, ...) fails
    /// with `EPERM`; `ioctl(TIOCSTI)` and `ioctl(TIOCLINUX)` fail with
    /// `EPERM`; syscalls it does not know fail with `ENOSYS`, so that
    /// programs fall back to older ones.
    pub fn default_profile() -> Seccomp {
        default_profile::profile()
    }

    /// Whether some rule asks for user notification.
    pub fn notifies(&self) -> bool {
        self.rules.iter().any(|r| r.action == Action::Notify)
    }

    /// Check what the kernel or the container process could not honour.
    pub fn validate(&self) -> Result<()> {
        if self.default_action == Action::Notify {
            return Err(Error::spec(
                "seccomp.default_action",
                "user notification cannot be the default action",
            ));
        }
        for (i, rule) in self.rules.iter().enumerate() {
            if let Some(arg) = rule.args.iter().find(|a| a.index > 5) {
                return Err(Error::spec(
                    format!("seccomp.rules[{i}].args"),
                    format!("argument {} does not exist (0 to 5)", arg.index),
                ));
            }
            if rule.action == Action::Notify {
                if let Some(name) = rule.syscalls.iter().find(|s| NEVER_NOTIFIED.contains(&s.as_str())) {
                    return Err(Error::spec(
                        format!("seccomp.rules[{i}].syscalls"),
                        format!("{name} cannot be notified: burrow sends the listener with it"),
                    ));
                }
            }
        }
        Ok(())
    }

    /// The `seccomp(2)` flags to install the filter with.
    pub(crate) fn install_flags(&self) -> u32 {
        if self.notifies() {
            // TSYNC and a listener conflict; the container process has one
            // thread anyway.
            (self.flags & !FLAG_TSYNC) | FLAG_NEW_LISTENER
        } else {
            self.flags
        }
    }

    /// Compile to BPF for the architectures this machine runs.
    pub fn compile(&self) -> Result<Vec<SockFilter>> {
        self.validate()?;
        let runnable = Arch::runnable();
        let mut arches: Vec<Arch> = if self.architectures.is_empty() {
            runnable.iter().take(1).copied().collect()
        } else {
            self.architectures
                .iter()
                .copied()
                .filter(|a| runnable.contains(a))
                .collect()
        };
        arches.sort();
        arches.dedup();
        let mut p = Program::default();
        let bad_arch = p.label();
        let default = p.label();
        // x32 shares x86-64's audit arch and numbers (with the x32 bit).
        let x32 = arches.contains(&Arch::X32);
        let sections: Vec<Arch> = arches
            .iter()
            .copied()
            .filter(|a| *a != Arch::X32 || !arches.contains(&Arch::X86_64))
            .collect();
        let labels: Vec<Label> = sections.iter().map(|_| p.label()).collect();
        p.load(4);
        for (arch, label) in sections.iter().zip(&labels) {
            let next = p.label();
            p.jump(Cond::Eq, arch.audit(), *label, next);
            p.place(next);
        }
        p.goto(bad_arch);
        for (arch, label) in sections.iter().zip(&labels) {
            p.place(*label);
            self.section(&mut p, *arch, x32, bad_arch, default);
        }
        p.place(default);
        p.ret(self.default_action.ret());
        p.place(bad_arch);
        p.ret(Action::KillThread.ret());
        let code = p.assemble();
        if code.len() > 4096 {
            return Err(Error::spec(
                "seccomp",
                format!(
                    "the filter needs {} BPF instructions; the kernel takes 4096",
                    code.len()
                ),
            ));
        }
        Ok(code)
    }

    /// One architecture: the x32 check, the search, the rules.
    fn section(&self, p: &mut Program, arch: Arch, x32: bool, bad_arch: Label, default: Label) {
        const X32_BIT: u32 = 0x4000_0000;
        // Every (syscall number, rule) pair in the profile's order, as
        // (number, comparisons, action), then sorted by number (stably, so
        // each syscall's rules keep their order). One flat vector: a map of
        // vectors cost the default profile 800 allocations per
        // architecture, most of its compile time.
        let mut entries: Vec<(u32, &[ArgCmp], Action)> = Vec::with_capacity(self.rules.len() * 4);
        for rule in &self.rules {
            let args = rule.args.as_slice();
            let repeated = args
                .iter()
                .enumerate()
                .any(|(i, a)| args[i + 1..].iter().any(|b| b.index == a.index));
            for name in &rule.syscalls {
                let Some(nr) = arch.number(name) else {
                    tracing::debug!(syscall = %name, ?arch, "seccomp: no such syscall here, skipped");
                    continue;
                };
                if repeated {
                    entries.extend(args.iter().map(|a| (nr, std::slice::from_ref(a), rule.action)));
                } else {
                    entries.push((nr, args, rule.action));
                }
            }
        }
        entries.sort_by_key(|(nr, _, _)| *nr);
        let rules: SyscallRules = entries.iter().map(|(_, args, action)| (*args, *action)).collect();
        // Syscall number → the range of its rules in `rules`; a syscall
        // whose first rule matches always, with the default action, needs
        // no entry.
        let mut calls: Vec<(u32, std::ops::Range<usize>)> = Vec::new();
        for (i, (nr, _, _)) in entries.iter().enumerate() {
            match calls.last_mut() {
                Some((last, range)) if last == nr => range.end = i + 1,
                _ => calls.push((*nr, i..i + 1)),
            }
        }
        calls.retain(|(_, range)| {
            let (args, action) = rules[range.start];
            !(args.is_empty() && action == self.default_action)
        });
        // Syscalls with the same rules share one leaf.
        let mut leaves: Vec<(Label, &[CallRule])> = Vec::new();
        let mut leaf_of = BTreeMap::new();
        // The number line as intervals [start, next start) → target.
        let mut intervals: Vec<(u32, Label)> = vec![(0, default)];
        for (nr, range) in &calls {
            let rules = &rules[range.clone()];
            let leaf = *leaf_of.entry(rules).or_insert_with(|| {
                let label = p.label();
                leaves.push((label, rules));
                label
            });
            if intervals.last().is_some_and(|(start, _)| *start == *nr) {
                intervals.pop();
            }
            if intervals.last().is_none_or(|(_, target)| *target != leaf) {
                intervals.push((*nr, leaf));
            }
            if let Some(after) = nr.checked_add(1) {
                intervals.push((after, default));
            }
        }
        p.load(0);
        if matches!(arch, Arch::X86_64 | Arch::X32) {
            let (x32_path, native) = (p.label(), p.label());
            p.jump(Cond::Ge, X32_BIT, x32_path, native);
            p.place(x32_path);
            // (An x32-only filter lets x86-64 calls through as if they were
            // x32 ones: after the mask they look the same.)
            match (arch, x32) {
                (Arch::X86_64, true) | (Arch::X32, _) => p.and(!X32_BIT),
                _ => p.goto(bad_arch),
            }
            p.place(native);
        }
        search(p, &intervals);
        for (leaf, rules) in leaves {
            p.place(leaf);
            for (args, action) in rules {
                let next = p.label();
                for arg in args.iter() {
                    compare(p, arch, arg, next);
                }
                p.ret(action.ret());
                p.place(next);
                if args.is_empty() {
                    break;
                }
            }
            p.goto(default);
        }
    }
}

/// One rule of a syscall: comparisons (all must hold) and action.
type CallRule<'a> = (&'a [ArgCmp], Action);

/// Syscalls' rules, each syscall's in order.
type SyscallRules<'a> = Vec<CallRule<'a>>;

/// Binary search with the syscall number in A over `intervals` (sorted
/// starts, each up to the next one): jump to the target of the interval
/// that holds it.
fn search(p: &mut Program, intervals: &[(u32, Label)]) {
    if let [(_, target)] = intervals {
        p.goto(*target);
        return;
    }
    let (low, high) = intervals.split_at(intervals.len() / 2);
    let side = |p: &mut Program, half: &[(u32, Label)]| match half {
        [(_, target)] => (*target, false),
        _ => (p.label(), true),
    };
    let (low_label, low_tree) = side(p, low);
    let (high_label, high_tree) = side(p, high);
    p.jump(Cond::Ge, high[0].0, high_label, low_label);
    if low_tree {
        p.place(low_label);
        search(p, low);
    }
    if high_tree {
        p.place(high_label);
        search(p, high);
    }
}

/// Compare one argument; fall through when it holds, else go to `fail`.
fn compare(p: &mut Program, arch: Arch, arg: &ArgCmp, fail: Label) {
    let low = 16 + 8 * arg.index;
    let high = low + 4;
    let split = |v: u64| ((v >> 32) as u32, v as u32);
    let (v_hi, v_lo) = split(arg.value);
    let pass = p.label();
    // 32-bit architectures compare the low word only, as libseccomp does.
    let wide = arch.wide();
    match arg.op {
        CmpOp::Eq | CmpOp::MaskedEq => {
            let (mask_hi, mask_lo) = if arg.op == CmpOp::MaskedEq {
                (v_hi, v_lo)
            } else {
                (!0, !0)
            };
            let (want_hi, want_lo) = if arg.op == CmpOp::MaskedEq {
                split(arg.value_two)
            } else {
                (v_hi, v_lo)
            };
            if wide {
                let lo_check = p.label();
                p.load(high);
                p.and(mask_hi);
                p.jump(Cond::Eq, want_hi, lo_check, fail);
                p.place(lo_check);
            }
            p.load(low);
            p.and(mask_lo);
            p.jump(Cond::Eq, want_lo, pass, fail);
        }
        CmpOp::Ne => {
            if wide {
                let lo_check = p.label();
                p.load(high);
                p.jump(Cond::Eq, v_hi, lo_check, pass);
                p.place(lo_check);
            }
            p.load(low);
            p.jump(Cond::Eq, v_lo, fail, pass);
        }
        CmpOp::Gt | CmpOp::Ge | CmpOp::Lt | CmpOp::Le => {
            // Greater: the high word decides unless equal; then the low.
            let greater = matches!(arg.op, CmpOp::Gt | CmpOp::Ge);
            let (above, below) = if greater { (pass, fail) } else { (fail, pass) };
            if wide {
                let (equal_hi, not_above) = (p.label(), p.label());
                p.load(high);
                p.jump(Cond::Gt, v_hi, above, not_above);
                p.place(not_above);
                p.jump(Cond::Eq, v_hi, equal_hi, below);
                p.place(equal_hi);
            }
            p.load(low);
            match arg.op {
                CmpOp::Gt => p.jump(Cond::Gt, v_lo, pass, fail),
                CmpOp::Ge => p.jump(Cond::Ge, v_lo, pass, fail),
                CmpOp::Lt => p.jump(Cond::Ge, v_lo, fail, pass),
                _ => p.jump(Cond::Gt, v_lo, fail, pass),
            }
        }
    }
    p.place(pass);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_profile_compiles_small() {
        let code = Seccomp::default_profile().compile().unwrap();
        // Ranges of syscalls with one outcome keep it far below the
        // kernel's 4096 instructions.
        assert!(code.len() < 700, "{} instructions", code.len());
    }
}
