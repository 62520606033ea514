//! A small classic-BPF assembler: instructions with symbolic jump targets,
//! laid out so that every conditional jump reaches its target (through an
//! unconditional `ja` when it is farther than the 255 instructions a
//! conditional jump can skip).

/// One classic BPF instruction, as the kernel takes it (`struct
/// sock_filter`).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SockFilter {
    /// Opcode.
    pub code: u16,
    /// Instructions to skip when the condition holds.
    pub jt: u8,
    /// Instructions to skip when it does not.
    pub jf: u8,
    /// Operand.
    pub k: u32,
}

const BPF_LD: u16 = 0x00;
const BPF_W: u16 = 0x00;
const BPF_ABS: u16 = 0x20;
const BPF_ALU: u16 = 0x04;
const BPF_AND: u16 = 0x50;
const BPF_JMP: u16 = 0x05;
const BPF_JA: u16 = 0x00;
const BPF_K: u16 = 0x00;
const BPF_RET: u16 = 0x06;

/// The conditional jumps BPF has (all unsigned, against a constant).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cond {
    /// `A == k`.
    Eq = 0x10,
    /// `A > k`.
    Gt = 0x20,
    /// `A >= k`.
    Ge = 0x30,
}

/// A jump target, made with [`Program::label`] and placed with
/// [`Program::place`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Label(usize);

#[derive(Debug, Clone, Copy)]
enum Op {
    /// `A = data[offset]` (32 bits).
    Load(u32),
    /// `A &= k`.
    And(u32),
    /// `if A cond k goto yes else goto no`.
    Jump(Cond, u32, Label, Label),
    /// `goto target`.
    Goto(Label),
    /// `return k`.
    Return(u32),
    /// Where a label points.
    Place(Label),
}

/// A program under construction.
#[derive(Debug, Default)]
pub struct Program {
    ops: Vec<Op>,
    labels: usize,
}

impl Program {
    /// A new, unplaced label.
    pub fn label(&mut self) -> Label {
        self.labels += 1;
        Label(self.labels - 1)
    }

    /// Make `label` point at the next instruction.
    pub fn place(&mut self, label: Label) {
        self.ops.push(Op::Place(label));
    }

    /// Load the 32-bit word at `offset` of `struct seccomp_data`.
    pub fn load(&mut self, offset: u32) {
        self.ops.push(Op::Load(offset));
    }

    /// `A &= mask`.
    pub fn and(&mut self, mask: u32) {
        self.ops.push(Op::And(mask));
    }

    /// Jump to `yes` if `A cond k`, else to `no`.
    pub fn jump(&mut self, cond: Cond, k: u32, yes: Label, no: Label) {
        self.ops.push(Op::Jump(cond, k, yes, no));
    }

    /// Jump to `target`.
    pub fn goto(&mut self, target: Label) {
        self.ops.push(Op::Goto(target));
    }

    /// Return `action` (a `SECCOMP_RET_*` value).
    pub fn ret(&mut self, action: u32) {
        self.ops.push(Op::Return(action));
    }

    /// Lay the program out: the kernel's instructions. A conditional jump
    /// too far for its 8-bit offsets gets `ja` trampolines after it.
    pub fn assemble(&self) -> Vec<SockFilter> {
        // Which jumps need trampolines; grows until every jump fits.
        let mut far = vec![false; self.ops.len()];
        loop {
            let (positions, labels) = self.layout(&far);
            let mut changed = false;
            for (i, op) in self.ops.iter().enumerate() {
                if let Op::Jump(_, _, yes, no) = op {
                    let next = positions[i] + 1;
                    let fits = |l: &Label| labels[l.0].checked_sub(next).is_some_and(|d| d <= 255);
                    if !(far[i] || fits(yes) && fits(no)) {
                        far[i] = true;
                        changed = true;
                    }
                }
            }
            if !changed {
                return self.emit(&far, &positions, &labels);
            }
        }
    }

    /// Where each op starts, and where each label points.
    fn layout(&self, far: &[bool]) -> (Vec<usize>, Vec<usize>) {
        let mut positions = Vec::with_capacity(self.ops.len());
        let mut labels = vec![usize::MAX; self.labels];
        let mut at = 0;
        for (i, op) in self.ops.iter().enumerate() {
            positions.push(at);
            at += match op {
                Op::Place(l) => {
                    labels[l.0] = at;
                    0
                }
                Op::Jump(..) if far[i] => 3,
                _ => 1,
            };
        }
        (positions, labels)
    }

    fn emit(&self, far: &[bool], positions: &[usize], labels: &[usize]) -> Vec<SockFilter> {
        let insn = |code: u16, jt: u8, jf: u8, k: u32| SockFilter { code, jt, jf, k };
        let ja = |from: usize, to: usize| insn(BPF_JMP | BPF_JA, 0, 0, (to - from - 1) as u32);
        let mut out = Vec::new();
        for (i, op) in self.ops.iter().enumerate() {
            let at = positions[i];
            match *op {
                Op::Load(offset) => out.push(insn(BPF_LD | BPF_W | BPF_ABS, 0, 0, offset)),
                Op::And(mask) => out.push(insn(BPF_ALU | BPF_AND | BPF_K, 0, 0, mask)),
                Op::Jump(cond, k, yes, no) if far[i] => {
                    // jcond k, +0, +1; ja yes; ja no
                    out.push(insn(BPF_JMP | cond as u16 | BPF_K, 0, 1, k));
                    out.push(ja(at + 1, labels[yes.0]));
                    out.push(ja(at + 2, labels[no.0]));
                }
                Op::Jump(cond, k, yes, no) => {
                    let jt = (labels[yes.0] - at - 1) as u8;
                    let jf = (labels[no.0] - at - 1) as u8;
                    out.push(insn(BPF_JMP | cond as u16 | BPF_K, jt, jf, k));
                }
                Op::Goto(target) => out.push(ja(at, labels[target.0])),
                Op::Return(action) => out.push(insn(BPF_RET | BPF_K, 0, 0, action)),
                Op::Place(_) => {}
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn far_jumps_get_trampolines() {
        let mut p = Program::default();
        let (yes, no) = (p.label(), p.label());
        p.load(0);
        p.jump(Cond::Eq, 7, yes, no);
        p.place(no);
        for _ in 0..300 {
            p.ret(1);
        }
        p.place(yes);
        p.ret(2);
        let code = p.assemble();
        // load, jeq (+0/+1), ja yes, ja no, 300 returns, ret 2.
        assert_eq!(code.len(), 1 + 3 + 300 + 1);
        assert_eq!((code[1].jt, code[1].jf), (0, 1));
        assert_eq!(code[2].k as usize, code.len() - 1 - 3);
        assert_eq!(code[3].k, 0);
        assert_eq!(code.last().unwrap().k, 2);
    }

    #[test]
    fn near_jumps_are_direct() {
        let mut p = Program::default();
        let (yes, no) = (p.label(), p.label());
        p.jump(Cond::Ge, 3, yes, no);
        p.place(no);
        p.ret(0);
        p.place(yes);
        p.ret(1);
        let code = p.assemble();
        assert_eq!(code.len(), 3);
        assert_eq!((code[0].jt, code[0].jf), (1, 0));
    }
}
