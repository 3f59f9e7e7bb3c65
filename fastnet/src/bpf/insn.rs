//! BPF instructions, encoded by hand (no clang, no libbpf), and a small assembler with labels.
//!
//! The encoding is `struct bpf_insn` from `include/uapi/linux/bpf.h`: an opcode byte, the
//! destination and source registers in one byte (4 bits each), a signed 16-bit offset and a
//! signed 32-bit immediate. Opcodes are built from the class, size/mode and operation bits, as
//! in the kernel's `BPF_ALU64_IMM(…)` style macros.

use crate::error::{Error, Result};

/// A BPF register.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
#[allow(missing_docs)]
pub enum Reg {
    /// Return value, and helper results.
    R0 = 0,
    /// First argument (the program's context on entry).
    R1,
    R2,
    R3,
    R4,
    R5,
    /// Callee-saved.
    R6,
    R7,
    R8,
    R9,
    /// Read-only frame pointer (stack grows down from it; 512 bytes).
    R10,
}

/// Access size of a load or store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Size {
    /// 1 byte (`BPF_B`).
    B,
    /// 2 bytes (`BPF_H`).
    H,
    /// 4 bytes (`BPF_W`).
    W,
    /// 8 bytes (`BPF_DW`).
    DW,
}

impl Size {
    const fn bits(self) -> u8 {
        match self {
            Size::W => 0x00,
            Size::H => 0x08,
            Size::B => 0x10,
            Size::DW => 0x18,
        }
    }
}

/// Conditional jump comparisons (unsigned unless noted).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cond {
    /// `==` (`BPF_JEQ`).
    Eq,
    /// `!=` (`BPF_JNE`).
    Ne,
    /// `>` (`BPF_JGT`).
    Gt,
    /// `>=` (`BPF_JGE`).
    Ge,
    /// `<` (`BPF_JLT`).
    Lt,
    /// `<=` (`BPF_JLE`).
    Le,
}

impl Cond {
    const fn bits(self) -> u8 {
        match self {
            Cond::Eq => 0x10,
            Cond::Gt => 0x20,
            Cond::Ge => 0x30,
            Cond::Ne => 0x50,
            Cond::Lt => 0xa0,
            Cond::Le => 0xb0,
        }
    }
}

/// Helper functions the lab's programs call (`enum bpf_func_id`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(i32)]
pub enum Helper {
    /// `void *bpf_map_lookup_elem(map, key)`.
    MapLookupElem = 1,
    /// `u64 bpf_ktime_get_ns(void)`: CLOCK_MONOTONIC, the clock of `Instant` in userspace.
    KtimeGetNs = 5,
    /// `u64 bpf_get_current_pid_tgid(void)`: the current task's tgid << 32 | its thread id.
    GetCurrentPidTgid = 14,
    /// `long bpf_redirect(ifindex, flags)`.
    Redirect = 23,
    /// `long bpf_redirect_map(map, key, flags)`; the low bits of `flags` are the action when
    /// the key has no entry.
    RedirectMap = 51,
}

/// XDP program return codes (`enum xdp_action`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(i32)]
pub enum XdpAction {
    /// `XDP_ABORTED`.
    Aborted = 0,
    /// `XDP_DROP`.
    Drop = 1,
    /// `XDP_PASS`.
    Pass = 2,
    /// `XDP_TX`.
    Tx = 3,
    /// `XDP_REDIRECT`.
    Redirect = 4,
}

/// Offsets of `struct xdp_md`, the XDP program's context.
#[allow(missing_docs)]
pub mod xdp_md {
    pub const DATA: i16 = 0;
    pub const DATA_END: i16 = 4;
    pub const DATA_META: i16 = 8;
    pub const INGRESS_IFINDEX: i16 = 12;
    pub const RX_QUEUE_INDEX: i16 = 16;
    pub const EGRESS_IFINDEX: i16 = 20;
}

const CLASS_LD: u8 = 0x00;
const CLASS_LDX: u8 = 0x01;
const CLASS_ST: u8 = 0x02;
const CLASS_STX: u8 = 0x03;
const CLASS_JMP: u8 = 0x05;
const CLASS_ALU64: u8 = 0x07;
const MODE_IMM: u8 = 0x00;
const MODE_MEM: u8 = 0x60;
const SRC_K: u8 = 0x00;
const SRC_X: u8 = 0x08;
const OP_ADD: u8 = 0x00;
const OP_SUB: u8 = 0x10;
const OP_MUL: u8 = 0x20;
const OP_DIV: u8 = 0x30;
const OP_MOV: u8 = 0xb0;
const OP_JA: u8 = 0x00;
const OP_CALL: u8 = 0x80;
const OP_EXIT: u8 = 0x90;
/// `BPF_JCOND`: with source register `BPF_MAY_GOTO` (0), `may_goto`.
const OP_JCOND: u8 = 0xe0;
/// `BPF_PSEUDO_MAP_FD`: the immediate of a 64-bit load is a map fd.
const PSEUDO_MAP_FD: u8 = 1;

/// One `struct bpf_insn`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Insn {
    /// Opcode.
    pub code: u8,
    /// Destination register.
    pub dst: u8,
    /// Source register.
    pub src: u8,
    /// Signed offset (memory access, jump distance).
    pub off: i16,
    /// Signed immediate.
    pub imm: i32,
}

impl Insn {
    const fn new(code: u8, dst: Reg, src: Reg, off: i16, imm: i32) -> Self {
        Self { code, dst: dst as u8, src: src as u8, off, imm }
    }

    /// `dst = imm` (64-bit, sign-extended).
    pub const fn mov64_imm(dst: Reg, imm: i32) -> Self {
        Self::new(CLASS_ALU64 | OP_MOV | SRC_K, dst, Reg::R0, 0, imm)
    }

    /// `dst = src`.
    pub const fn mov64_reg(dst: Reg, src: Reg) -> Self {
        Self::new(CLASS_ALU64 | OP_MOV | SRC_X, dst, src, 0, 0)
    }

    /// `dst += imm`.
    pub const fn add64_imm(dst: Reg, imm: i32) -> Self {
        Self::new(CLASS_ALU64 | OP_ADD | SRC_K, dst, Reg::R0, 0, imm)
    }

    /// `dst += src`.
    pub const fn add64_reg(dst: Reg, src: Reg) -> Self {
        Self::new(CLASS_ALU64 | OP_ADD | SRC_X, dst, src, 0, 0)
    }

    /// `dst -= src`.
    pub const fn sub64_reg(dst: Reg, src: Reg) -> Self {
        Self::new(CLASS_ALU64 | OP_SUB | SRC_X, dst, src, 0, 0)
    }

    /// `dst *= src` (64-bit, wrapping).
    pub const fn mul64_reg(dst: Reg, src: Reg) -> Self {
        Self::new(CLASS_ALU64 | OP_MUL | SRC_X, dst, src, 0, 0)
    }

    /// `dst /= src` (64-bit, unsigned; the kernel defines `x / 0` as 0).
    pub const fn div64_reg(dst: Reg, src: Reg) -> Self {
        Self::new(CLASS_ALU64 | OP_DIV | SRC_X, dst, src, 0, 0)
    }

    /// `dst = *(size *)(src + off)`.
    pub const fn load(size: Size, dst: Reg, src: Reg, off: i16) -> Self {
        Self::new(CLASS_LDX | MODE_MEM | size.bits(), dst, src, off, 0)
    }

    /// `*(size *)(dst + off) = src`.
    pub const fn store_reg(size: Size, dst: Reg, off: i16, src: Reg) -> Self {
        Self::new(CLASS_STX | MODE_MEM | size.bits(), dst, src, off, 0)
    }

    /// `*(size *)(dst + off) = imm`.
    pub const fn store_imm(size: Size, dst: Reg, off: i16, imm: i32) -> Self {
        Self::new(CLASS_ST | MODE_MEM | size.bits(), dst, Reg::R0, off, imm)
    }

    /// `dst = map` (a 64-bit load of a map fd: two instruction slots).
    pub const fn load_map_fd(dst: Reg, fd: i32) -> [Self; 2] {
        let mut first = Self::new(CLASS_LD | MODE_IMM | Size::DW.bits(), dst, Reg::R0, 0, fd);
        first.src = PSEUDO_MAP_FD;
        [first, Self { code: 0, dst: 0, src: 0, off: 0, imm: 0 }]
    }

    /// `if dst <cond> imm goto pc + 1 + off`.
    pub const fn jump_imm(cond: Cond, dst: Reg, imm: i32, off: i16) -> Self {
        Self::new(CLASS_JMP | cond.bits() | SRC_K, dst, Reg::R0, off, imm)
    }

    /// `if dst <cond> src goto pc + 1 + off`.
    pub const fn jump_reg(cond: Cond, dst: Reg, src: Reg, off: i16) -> Self {
        Self::new(CLASS_JMP | cond.bits() | SRC_X, dst, src, off, 0)
    }

    /// `goto pc + 1 + off`.
    pub const fn jump(off: i16) -> Self {
        Self::new(CLASS_JMP | OP_JA, Reg::R0, Reg::R0, off, 0)
    }

    /// `may_goto pc + 1 + off` (kernel ≥ 6.9): falls through while the program's loop budget
    /// lasts (the kernel keeps a counter of about 8 million per run), jumps once it is spent.
    /// It is what lets the verifier accept a loop whose end it cannot prove (a wait on the clock).
    pub const fn may_goto(off: i16) -> Self {
        Self::new(CLASS_JMP | OP_JCOND, Reg::R0, Reg::R0, off, 0)
    }

    /// `r0 = helper(r1, …, r5)`.
    pub const fn call(helper: Helper) -> Self {
        Self::new(CLASS_JMP | OP_CALL, Reg::R0, Reg::R0, 0, helper as i32)
    }

    /// `return r0`.
    pub const fn exit() -> Self {
        Self::new(CLASS_JMP | OP_EXIT, Reg::R0, Reg::R0, 0, 0)
    }

    /// The 8 bytes the kernel reads, as a `u64` in memory order.
    pub fn to_raw(self) -> u64 {
        #[cfg(target_endian = "little")]
        let regs = (self.src << 4) | (self.dst & 0x0f);
        #[cfg(target_endian = "big")]
        let regs = (self.dst << 4) | (self.src & 0x0f);
        let off = self.off.to_ne_bytes();
        let imm = self.imm.to_ne_bytes();
        u64::from_ne_bytes([self.code, regs, off[0], off[1], imm[0], imm[1], imm[2], imm[3]])
    }
}

/// A jump target in an [`Asm`] program.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Label(usize);

/// A tiny assembler: append instructions, jump to labels bound later, get the instructions.
///
/// ```
/// use fastnet::bpf::{Asm, Cond, Insn, Reg, XdpAction};
/// let mut asm = Asm::new();
/// let pass = asm.label();
/// asm.push([Insn::mov64_imm(Reg::R0, XdpAction::Drop as i32)]);
/// asm.jump_imm(Cond::Eq, Reg::R1, 0, pass);
/// asm.push([Insn::exit()]);
/// asm.bind(pass);
/// asm.push([Insn::mov64_imm(Reg::R0, XdpAction::Pass as i32), Insn::exit()]);
/// assert_eq!(asm.finish().unwrap().len(), 5);
/// ```
#[derive(Debug, Default)]
pub struct Asm {
    insns: Vec<Insn>,
    /// Where each label is bound (instruction index).
    labels: Vec<Option<usize>>,
    /// Jumps to patch: (instruction index, label).
    fixups: Vec<(usize, Label)>,
}

impl Asm {
    /// An empty program.
    pub fn new() -> Self {
        Self::default()
    }

    /// A new, unbound label.
    pub fn label(&mut self) -> Label {
        self.labels.push(None);
        Label(self.labels.len() - 1)
    }

    /// Binds `label` to the next instruction.
    pub fn bind(&mut self, label: Label) {
        self.labels[label.0] = Some(self.insns.len());
    }

    /// Appends instructions.
    pub fn push(&mut self, insns: impl IntoIterator<Item = Insn>) -> &mut Self {
        self.insns.extend(insns);
        self
    }

    /// `if dst <cond> imm goto label`.
    pub fn jump_imm(&mut self, cond: Cond, dst: Reg, imm: i32, label: Label) -> &mut Self {
        self.fixups.push((self.insns.len(), label));
        self.push([Insn::jump_imm(cond, dst, imm, 0)])
    }

    /// `if dst <cond> src goto label`.
    pub fn jump_reg(&mut self, cond: Cond, dst: Reg, src: Reg, label: Label) -> &mut Self {
        self.fixups.push((self.insns.len(), label));
        self.push([Insn::jump_reg(cond, dst, src, 0)])
    }

    /// `goto label`.
    pub fn jump(&mut self, label: Label) -> &mut Self {
        self.fixups.push((self.insns.len(), label));
        self.push([Insn::jump(0)])
    }

    /// `may_goto label` (see [`Insn::may_goto`]).
    pub fn may_goto(&mut self, label: Label) -> &mut Self {
        self.fixups.push((self.insns.len(), label));
        self.push([Insn::may_goto(0)])
    }

    /// The instructions with every jump resolved; fails on an unbound label or a jump too far.
    pub fn finish(mut self) -> Result<Vec<Insn>> {
        for &(at, label) in &self.fixups {
            let target = self.labels[label.0].ok_or(Error::InvalidConfig {
                what: "BPF program",
                why: format!("jump at instruction {at} goes to an unbound label"),
            })?;
            let off = target as i64 - at as i64 - 1;
            self.insns[at].off = i16::try_from(off).map_err(|_| Error::InvalidConfig {
                what: "BPF program",
                why: format!("jump at instruction {at} is too far ({off})"),
            })?;
        }
        Ok(self.insns)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_like_the_kernel_macros() {
        // BPF_MOV64_IMM(BPF_REG_0, 2) = b7 00 0000 02000000
        assert_eq!(Insn::mov64_imm(Reg::R0, 2).to_raw().to_le_bytes(), [0xb7, 0, 0, 0, 2, 0, 0, 0]);
        // BPF_LDX_MEM(BPF_W, BPF_REG_2, BPF_REG_1, 16) = 61 12 1000 00000000
        assert_eq!(
            Insn::load(Size::W, Reg::R2, Reg::R1, 16).to_raw().to_le_bytes(),
            [0x61, 0x12, 16, 0, 0, 0, 0, 0]
        );
        // BPF_LD_MAP_FD(BPF_REG_1, 7) = 18 11 0000 07000000 + 00…
        let [a, b] = Insn::load_map_fd(Reg::R1, 7);
        assert_eq!(a.to_raw().to_le_bytes(), [0x18, 0x11, 0, 0, 7, 0, 0, 0]);
        assert_eq!(b.to_raw(), 0);
        // BPF_EMIT_CALL(BPF_FUNC_redirect_map) = 85 00 0000 33000000
        assert_eq!(
            Insn::call(Helper::RedirectMap).to_raw().to_le_bytes(),
            [0x85, 0, 0, 0, 51, 0, 0, 0]
        );
        assert_eq!(Insn::exit().to_raw().to_le_bytes(), [0x95, 0, 0, 0, 0, 0, 0, 0]);
        // BPF_ALU64_REG(BPF_SUB/BPF_MUL/BPF_DIV, BPF_REG_8, BPF_REG_2) = 1f/2f/3f 28 …
        assert_eq!(Insn::sub64_reg(Reg::R8, Reg::R2).to_raw().to_le_bytes()[..2], [0x1f, 0x28]);
        assert_eq!(Insn::mul64_reg(Reg::R8, Reg::R2).to_raw().to_le_bytes()[..2], [0x2f, 0x28]);
        assert_eq!(Insn::div64_reg(Reg::R8, Reg::R2).to_raw().to_le_bytes()[..2], [0x3f, 0x28]);
        // may_goto +3 = e5 00 0300 00000000 (BPF_JMP | BPF_JCOND, src BPF_MAY_GOTO)
        assert_eq!(Insn::may_goto(3).to_raw().to_le_bytes(), [0xe5, 0, 3, 0, 0, 0, 0, 0]);
        // BPF_EMIT_CALL(BPF_FUNC_ktime_get_ns) = 85 00 0000 05000000
        assert_eq!(Insn::call(Helper::KtimeGetNs).to_raw().to_le_bytes()[4], 5);
        // BPF_JMP_REG(BPF_JGT, BPF_REG_4, BPF_REG_3, 5) = 2d 34 0500 00000000
        assert_eq!(
            Insn::jump_reg(Cond::Gt, Reg::R4, Reg::R3, 5).to_raw().to_le_bytes(),
            [0x2d, 0x34, 5, 0, 0, 0, 0, 0]
        );
    }

    #[test]
    fn labels_resolve_forward_and_backward() {
        let mut asm = Asm::new();
        let top = asm.label();
        let end = asm.label();
        asm.bind(top);
        asm.push([Insn::mov64_imm(Reg::R0, 0)]);
        asm.jump_imm(Cond::Eq, Reg::R0, 1, end);
        asm.jump(top);
        asm.bind(end);
        asm.push([Insn::exit()]);
        let insns = asm.finish().unwrap();
        assert_eq!(insns[1].off, 1);
        assert_eq!(insns[2].off, -3);
    }

    #[test]
    fn unbound_label_is_an_error() {
        let mut asm = Asm::new();
        let nowhere = asm.label();
        asm.jump(nowhere);
        assert!(asm.finish().is_err());
    }
}
