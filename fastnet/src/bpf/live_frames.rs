//! Live frames: `BPF_PROG_RUN` with `BPF_F_TEST_XDP_LIVE_FRAMES` runs a redirect program on a
//! frame `count` times; every run transmits the frame on the target interface through its
//! `ndo_xdp_xmit` — no skb, no qdisc, no socket.
//!
//! # Cost per call (measured; pace with these)
//! A run with `repeat > 1` adds its program to the kernel's XDP dispatcher and removes it
//! afterwards; each update waits for an RCU grace period. [`LiveFrames::new`] therefore keeps
//! the program resident (attached in generic mode to the target, where it passes every frame
//! the target really receives), so calls skip both updates. Measured on a 2-vCPU VM, kernel
//! 6.18, a 60-byte frame, veth `va` → `vb` with [`XdpDropCounter`](super::XdpDropCounter) on
//! `vb` and NAPI not threaded (the peer's receive work ran on the sending core: one core in
//! all), every frame counted at the peer:
//!
//! | frames per call | resident: µs/call | Mpps | not resident: µs/call |
//! |---:|---:|---:|---:|
//! | 1 | 13.4 | 0.07 | 13.5 (`repeat = 1` skips the dispatcher) |
//! | 2 | 11.6 | 0.17 | 25 170 |
//! | 64 | 23.6 | 2.7 | 27 069 |
//! | 1 024 | 153 | 6.7 | 30 525 |
//! | 65 536 | 9 066 | 7.2 | 42 395 |
//! | 1 048 576 | 146 500 | 7.2 | 317 466 |
//!
//! So: about 12 µs fixed per call when resident (about 25 ms when not), plus about 0.14 µs
//! per frame. Calls of 1 024 frames and more reach 90 % of the top speed; at a paced rate
//! R, a call of n frames every n / R seconds costs 12 µs + n × 0.14 µs of CPU. With other
//! work on the same core (compilers running) every figure roughly doubled (30 µs/call,
//! 3 Mpps).
//!
//! Batch size: the kernel builds `batch_size` frames before it flushes them to the target;
//! veth's peer ring has 256 slots, so a batch of 256 loses a frame per call (visible as
//! `xdp_xmit_errors` in `ethtool -S` of the target). Keep it at 128 or below on veth.
//!
//! # Paced calls
//! [`LiveFrames::paced`] loads a second program that keeps a schedule inside one call: before
//! each redirect it reads the frame's time from a one-entry array map (`base + i × num / den`,
//! set by [`LiveFrames::send_paced`]) and spins on `bpf_ktime_get_ns()` until then, in a loop
//! the verifier accepts because `may_goto` bounds it (Linux ≥ 6.9; `bpf_loop` would need BTF
//! function info for its callback). A frame found later than the allowed lateness moves the
//! rest of the schedule (a slip, counted), and the program counts frames that left back to back
//! (less than half a gap after the previous one). The kernel still flushes redirected frames to
//! the target once per inner batch, with bottom halves off while the batch runs: the frames of
//! a batch reach the target together, and a batch should last well under a millisecond.

use std::os::fd::AsFd;
use std::sync::OnceLock;

use super::{
    Asm, Cond, Helper, Insn, Link, Map, MapType, Program, Reg, Size, TracepointLink, XdpAction,
    XdpMode,
};
use crate::caps::Feature;
use crate::error::{Error, Result};
use crate::sys::bpf as sys;

/// `BPF_F_TEST_XDP_LIVE_FRAMES`.
const TEST_XDP_LIVE_FRAMES: u32 = 1 << 1;
/// The kernel's largest live-frames batch (`TEST_XDP_MAX_BATCH`).
pub const MAX_BATCH: u32 = 256;
/// Largest frame a live run takes: a page minus the XDP headroom (256) and the room for
/// `struct skb_shared_info` (320).
pub const MAX_FRAME: usize = 4096 - 256 - 320;
/// `LOOPBACK_IFINDEX`: a test run without a context "receives" on the namespace's `lo`.
const LOOPBACK_IFINDEX: i32 = 1;

/// `if (ctx->ingress_ifindex != LOOPBACK_IFINDEX) return XDP_PASS; return bpf_redirect(target,
/// 0);` — the ingress check makes the program harmless where it is kept resident (frames the
/// interface really receives pass untouched), while test runs (which "receive" on `lo`)
/// redirect.
fn program(target: u32) -> Result<Vec<Insn>> {
    let mut asm = Asm::new();
    let pass = asm.label();
    asm.push([Insn::load(super::Size::W, Reg::R2, Reg::R1, super::insn::xdp_md::INGRESS_IFINDEX)]);
    asm.jump_imm(Cond::Ne, Reg::R2, LOOPBACK_IFINDEX, pass);
    asm.push([
        Insn::mov64_imm(Reg::R1, target as i32),
        Insn::mov64_imm(Reg::R2, 0),
        Insn::call(Helper::Redirect),
        Insn::exit(),
    ]);
    asm.bind(pass);
    asm.push([Insn::mov64_imm(Reg::R0, XdpAction::Pass as i32), Insn::exit()]);
    asm.finish()
}

/// The paced program's state: one array entry of `u64`s that userspace sets before a call and
/// reads after it (byte offsets).
mod pacing {
    /// CLOCK_MONOTONIC time frame 0 of the call is due, ns; moves forward on a slip.
    pub const BASE: i16 = 0;
    /// Frame `i` of the call is due at `BASE + i × NUM / DEN`.
    pub const NUM: i16 = 8;
    pub const DEN: i16 = 16;
    /// Frames run so far in this call.
    pub const INDEX: i16 = 24;
    /// When the previous frame left, ns (kept across calls).
    pub const LAST: i16 = 32;
    /// Frames leaving less than this after the previous one are back to back (half a gap).
    pub const HALF_GAP: i16 = 40;
    /// Frames back to back so far, and the most of them (kept across calls).
    pub const RUN: i16 = 48;
    pub const MAX_RUN: i16 = 56;
    /// Lateness beyond which the schedule slips, ns (the allowed burst × the gap).
    pub const MAX_LATE: i16 = 64;
    /// Total slip, ns, and slips (kept across calls).
    pub const SLIPPED: i16 = 72;
    pub const SLIPS: i16 = 80;
    /// Frames that left more than `LATE_AFTER` after their time, and that threshold.
    pub const LATE_FRAMES: i16 = 88;
    pub const LATE_AFTER: i16 = 96;
    /// The sending thread (`tgid << 32 | tid`, as `bpf_get_current_pid_tgid` gives it), and
    /// the frames the target refused to it so far (kept across calls; see [`super::refusals_program`]).
    pub const THREAD: i16 = 104;
    pub const REFUSED: i16 = 112;
    /// Bytes of the entry.
    pub const VALUE_SIZE: u32 = 120;
}

/// The tracepoint the kernel's XDP transmit path fires after each bulk of redirected frames it
/// handed to a device's `ndo_xdp_xmit`: `(from_dev, to_dev, sent, drops, err)`.
const DEVMAP_XMIT_TRACEPOINT: &str = "xdp_devmap_xmit";
/// Byte offset of `drops` in that tracepoint's arguments (each widened to 8 bytes).
const DEVMAP_XMIT_DROPS: i16 = 24;

/// Counts the frames the target refused to this sender: on `xdp_devmap_xmit`, when the
/// current thread is the one in the paced state, `state.refused += drops`. A veth refuses a
/// redirected frame when its peer's 256-slot ring is full — the kernel frees it without telling
/// the program or the caller of `BPF_PROG_RUN`, so this is the only place it can be counted
/// as it happens. The tracepoint fires in the sender's own syscall (the flush at the end of
/// each inner batch), so the thread check keeps other senders' frames out.
///
/// ```text
/// v = map[0]; if !v || current_pid_tgid() != v.thread { return 0 }
/// v.refused += ctx.drops; return 0
/// ```
fn refusals_program(state: &Map) -> Result<Vec<Insn>> {
    use pacing::*;
    use Reg::*;
    let mut asm = Asm::new();
    let out = asm.label();
    asm.push([
        Insn::mov64_reg(R6, R1),
        Insn::store_imm(Size::W, R10, -4, 0),
        Insn::mov64_reg(R2, R10),
        Insn::add64_imm(R2, -4),
    ]);
    asm.push(state.load_into(R1));
    asm.push([Insn::call(Helper::MapLookupElem)]);
    asm.jump_imm(Cond::Eq, R0, 0, out);
    asm.push([
        Insn::mov64_reg(R7, R0),
        Insn::call(Helper::GetCurrentPidTgid),
        Insn::load(Size::DW, R1, R7, THREAD),
    ]);
    asm.jump_reg(Cond::Ne, R0, R1, out);
    asm.push([Insn::load(Size::DW, R2, R6, DEVMAP_XMIT_DROPS)]);
    asm.jump_imm(Cond::Eq, R2, 0, out);
    asm.push([
        Insn::load(Size::DW, R3, R7, REFUSED),
        Insn::add64_reg(R3, R2),
        Insn::store_reg(Size::DW, R7, REFUSED, R3),
    ]);
    asm.bind(out);
    asm.push([Insn::mov64_imm(R0, 0), Insn::exit()]);
    asm.finish()
}

/// The paced program: like [`program`] for test runs, but before each redirect it waits on
/// `bpf_ktime_get_ns()` until the frame's time (`may_goto` bounds the wait loop, as the
/// verifier requires), slips the schedule when the frame is later than `MAX_LATE`, and counts
/// late and back-to-back frames:
///
/// ```text
/// v = map[0]; due = v.base + v.index++ * v.num / v.den; now = ktime()
/// if now < due { while now < due && budget { now = ktime() } }
/// else { late = now - due; if late > v.max_late { v.base += late - v.max_late; v.slipped += …;
///        v.slips++; late = v.max_late }  if late > v.late_after { v.late_frames++ } }
/// v.run = now - v.last < v.half_gap ? v.run + 1 : 1; v.max_run = max(…); v.last = now
/// return bpf_redirect(target, 0)
/// ```
fn paced_program(target: u32, state: &Map) -> Result<Vec<Insn>> {
    use pacing::*;
    use Reg::*;
    let mut asm = Asm::new();
    let pass = asm.label();
    let redirect = asm.label();
    let late = asm.label();
    let wait = asm.label();
    let sent = asm.label();
    let within = asm.label();
    let back_to_back = asm.label();
    let counted = asm.label();
    let ld = |dst: Reg, off: i16| Insn::load(Size::DW, dst, R7, off);
    let st = |off: i16, src: Reg| Insn::store_reg(Size::DW, R7, off, src);
    asm.push([Insn::load(Size::W, R2, R1, super::insn::xdp_md::INGRESS_IFINDEX)]);
    asm.jump_imm(Cond::Ne, R2, LOOPBACK_IFINDEX, pass);
    asm.push([
        Insn::store_imm(Size::W, R10, -4, 0),
        Insn::mov64_reg(R2, R10),
        Insn::add64_imm(R2, -4),
    ]);
    asm.push(state.load_into(R1));
    asm.push([Insn::call(Helper::MapLookupElem)]);
    asm.jump_imm(Cond::Eq, R0, 0, redirect);
    asm.push([
        Insn::mov64_reg(R7, R0),
        // due = base + index * num / den; index += 1
        ld(R8, INDEX),
        Insn::mov64_reg(R1, R8),
        Insn::add64_imm(R1, 1),
        st(INDEX, R1),
        ld(R2, NUM),
        Insn::mul64_reg(R8, R2),
        ld(R2, DEN),
        Insn::div64_reg(R8, R2),
        ld(R2, BASE),
        Insn::add64_reg(R8, R2),
        Insn::call(Helper::KtimeGetNs),
    ]);
    asm.jump_reg(Cond::Ge, R0, R8, late);
    asm.bind(wait);
    asm.may_goto(sent);
    asm.push([Insn::call(Helper::KtimeGetNs)]);
    asm.jump_reg(Cond::Lt, R0, R8, wait);
    asm.jump(sent);
    asm.bind(late);
    asm.push([Insn::mov64_reg(R9, R0), Insn::sub64_reg(R9, R8), ld(R2, MAX_LATE)]);
    asm.jump_reg(Cond::Le, R9, R2, within);
    asm.push([
        Insn::sub64_reg(R9, R2), // the slip
        ld(R3, BASE),
        Insn::add64_reg(R3, R9),
        st(BASE, R3),
        ld(R3, SLIPPED),
        Insn::add64_reg(R3, R9),
        st(SLIPPED, R3),
        ld(R3, SLIPS),
        Insn::add64_imm(R3, 1),
        st(SLIPS, R3),
        Insn::mov64_reg(R9, R2),
    ]);
    asm.bind(within);
    asm.push([ld(R2, LATE_AFTER)]);
    asm.jump_reg(Cond::Le, R9, R2, sent);
    asm.push([ld(R3, LATE_FRAMES), Insn::add64_imm(R3, 1), st(LATE_FRAMES, R3)]);
    asm.bind(sent);
    // r0 = when this frame leaves.
    asm.push([ld(R2, LAST), st(LAST, R0), Insn::sub64_reg(R0, R2), ld(R3, HALF_GAP), ld(R4, RUN)]);
    asm.jump_reg(Cond::Lt, R0, R3, back_to_back);
    asm.push([Insn::mov64_imm(R4, 0)]);
    asm.bind(back_to_back);
    asm.push([Insn::add64_imm(R4, 1), st(RUN, R4), ld(R3, MAX_RUN)]);
    asm.jump_reg(Cond::Le, R4, R3, counted);
    asm.push([st(MAX_RUN, R4)]);
    asm.bind(counted);
    asm.bind(redirect);
    asm.push([
        Insn::mov64_imm(R1, target as i32),
        Insn::mov64_imm(R2, 0),
        Insn::call(Helper::Redirect),
        Insn::exit(),
    ]);
    asm.bind(pass);
    asm.push([Insn::mov64_imm(R0, XdpAction::Pass as i32), Insn::exit()]);
    asm.finish()
}

/// One paced call: `count` frames, frame `i` due at `first_due_ns + i × gap_num / gap_den`
/// (CLOCK_MONOTONIC ns, the clock of [`std::time::Instant`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PacedCall {
    /// Frames to send.
    pub count: u32,
    /// When the first is due.
    pub first_due_ns: u64,
    /// The gap between frames as a fraction, ns: `gap_num / gap_den`. `count × gap_num` must
    /// fit in a `u64`.
    pub gap_num: u64,
    /// Denominator of the gap (≥ 1).
    pub gap_den: u64,
}

/// Limits of a paced sender, fixed when it is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PacingLimits {
    /// A frame later than this after its time slips the schedule by the excess, ns (the
    /// largest burst allowed × the gap: at most that many overdue frames leave back to back).
    pub max_late_ns: u64,
    /// A frame later than this counts as late, ns.
    pub late_after_ns: u64,
}

/// What the paced program measured, over every call so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PacingStats {
    /// Most frames that left back to back (less than half a gap after the previous one).
    pub max_run: u64,
    /// Frames that left later than [`PacingLimits::late_after_ns`].
    pub late_frames: u64,
    /// Total slip of the schedule, ns, and how many times it slipped.
    pub slipped_ns: u64,
    /// Slips.
    pub slips: u64,
    /// Frames the target refused (for a veth: its peer's ring was full) and freed: they did
    /// not leave. The calls still count them; a sender that must deliver every frame sends
    /// that many again.
    pub refused: u64,
}

/// A frame and a redirect program that transmits it on one interface, as fast as the kernel
/// can run it.
///
/// Counts are what the program ran, not what arrived: a redirect that fails (for veth: the
/// peer runs no NAPI — neither GRO nor an XDP program) drops the frame silently. Count at the
/// receiving side. A paced sender also counts the frames the target took as redirected but
/// refused (its ring full: [`PacingStats::refused`]).
#[derive(Debug)]
pub struct LiveFrames {
    // Drop order: the resident link goes before the program.
    resident: Option<Link>,
    program: Program,
    frame: Vec<u8>,
    batch_size: u32,
    ifindex: u32,
    /// The paced program's state (see [`LiveFrames::paced`]).
    pacing: Option<Map>,
    /// The program that counts refused frames into that state, attached (see
    /// [`refusals_program`]). Drop order: the link goes before the program.
    _refusals: Option<(TracepointLink, Program)>,
}

impl LiveFrames {
    /// Prepares to send `frame` (a whole Ethernet frame, ≥ 14 bytes) on `ifname`, and keeps the
    /// program resident on `ifname` (see [`LiveFrames::keep_resident`]) when it can.
    pub fn new(ifname: &str, frame: &[u8]) -> Result<Self> {
        let mut this = Self::without_resident(ifname, frame)?;
        // Not resident (the interface has another generic XDP program): still works, each
        // call pays the dispatcher update; `is_resident` tells.
        let _ = this.keep_resident();
        Ok(this)
    }

    /// Like [`LiveFrames::new`] but never attaches anything to the interface.
    pub fn without_resident(ifname: &str, frame: &[u8]) -> Result<Self> {
        check_frame(frame)?;
        live_frames_available()?;
        let ifindex = crate::ifindex(ifname)?;
        let program = Program::load_xdp(&program(ifindex)?, "live_redirect")?;
        Ok(Self {
            resident: None,
            program,
            frame: frame.to_vec(),
            batch_size: 64,
            ifindex,
            pacing: None,
            _refusals: None,
        })
    }

    /// Prepares to send `frame` on `ifname` on a schedule kept inside each call: the program
    /// waits on the kernel's clock until every frame's time (see [`LiveFrames::send_paced`]),
    /// so one call sends many frames spaced by the gap, not back to back. Kept resident like
    /// [`LiveFrames::new`]; inner batches of `batch_size` frames (the frames of a batch reach
    /// the target together, when the batch is flushed). Needs `may_goto` (Linux ≥ 6.9).
    pub fn paced(
        ifname: &str,
        frame: &[u8],
        batch_size: u32,
        limits: PacingLimits,
    ) -> Result<Self> {
        let mut this = Self::paced_without_resident(ifname, frame, batch_size, limits)?;
        let _ = this.keep_resident();
        Ok(this)
    }

    /// Like [`LiveFrames::paced`] but never attaches anything to the interface.
    pub fn paced_without_resident(
        ifname: &str,
        frame: &[u8],
        batch_size: u32,
        limits: PacingLimits,
    ) -> Result<Self> {
        check_frame(frame)?;
        live_frames_available()?;
        Feature::PacedLiveFrames.check_not_forced_off()?;
        let ifindex = crate::ifindex(ifname)?;
        let state = Map::create(MapType::Array, pacing::VALUE_SIZE, 1, "live_pacing")?;
        let program = Program::load_xdp(&paced_program(ifindex, &state)?, "live_paced").map_err(
            |e| match e {
                Error::ProgramRejected { log, .. }
                    if log.contains("may_goto") || log.contains("unknown opcode e5") =>
                {
                    Error::Unsupported {
                        feature: "may_goto in BPF programs",
                        why: "paced live frames wait in a may_goto loop; needs Linux ≥ 6.9".into(),
                    }
                }
                other => other,
            },
        )?;
        let counter = Program::load_raw_tracepoint(&refusals_program(&state)?, "live_refused")?;
        let link = TracepointLink::attach(&counter, DEVMAP_XMIT_TRACEPOINT).map_err(|e| {
            Error::Unsupported {
                feature: "BPF programs on tracepoints",
                why: format!(
                    "paced live frames count the frames the target refuses on the \
                     {DEVMAP_XMIT_TRACEPOINT} tracepoint (a kernel built with \
                     CONFIG_BPF_EVENTS): {e}"
                ),
            }
        })?;
        let mut this = Self {
            resident: None,
            program,
            frame: frame.to_vec(),
            batch_size: 64,
            ifindex,
            pacing: Some(state),
            _refusals: Some((link, counter)),
        };
        this.set_batch_size(batch_size)?;
        let mut value = [0u8; pacing::VALUE_SIZE as usize];
        put(&mut value, pacing::MAX_LATE, limits.max_late_ns);
        put(&mut value, pacing::LATE_AFTER, limits.late_after_ns);
        put(&mut value, pacing::DEN, 1);
        this.state()?.set(0, &value)?;
        Ok(this)
    }

    fn state(&self) -> Result<&Map> {
        self.pacing.as_ref().ok_or(Error::InvalidConfig {
            what: "live frames",
            why: "a paced call needs a sender made by LiveFrames::paced".into(),
        })
    }

    /// Sends `call.count` frames, each at its time: the call returns once the last one left,
    /// about `count × gap` later. A frame that runs late leaves at once (frames back to back);
    /// one later than the limit's allowed lateness slips the rest of the schedule. Returns
    /// what the program measured over every paced call so far.
    pub fn send_paced(&mut self, call: &PacedCall) -> Result<PacingStats> {
        let state = self.state()?;
        let mut value = state.get(0)?.swap_remove(0);
        if call.gap_den == 0 || call.gap_num.checked_mul(u64::from(call.count)).is_none() {
            return Err(Error::InvalidConfig {
                what: "paced call",
                why: format!(
                    "{} frames of {}/{} ns: the schedule does not fit in 64 bits",
                    call.count, call.gap_num, call.gap_den
                ),
            });
        }
        put(&mut value, pacing::BASE, call.first_due_ns);
        put(&mut value, pacing::NUM, call.gap_num);
        put(&mut value, pacing::DEN, call.gap_den);
        put(&mut value, pacing::INDEX, 0);
        put(&mut value, pacing::HALF_GAP, call.gap_num / call.gap_den / 2);
        put(&mut value, pacing::THREAD, crate::sys::process::current_pid_tgid());
        state.set(0, &value)?;
        if call.count > 0 {
            self.run(&self.frame, call.count)?;
        }
        self.pacing_stats()
    }

    /// What the paced program measured over every call so far.
    pub fn pacing_stats(&self) -> Result<PacingStats> {
        let value = self.state()?.get(0)?.swap_remove(0);
        Ok(PacingStats {
            max_run: get(&value, pacing::MAX_RUN),
            late_frames: get(&value, pacing::LATE_FRAMES),
            slipped_ns: get(&value, pacing::SLIPPED),
            slips: get(&value, pacing::SLIPS),
            refused: get(&value, pacing::REFUSED),
        })
    }

    /// Attaches the program to the target interface itself in generic mode, where it passes
    /// every frame the interface receives. Why: a test run with more than one repetition adds
    /// its program to the kernel's XDP dispatcher and removes it afterwards, two updates that
    /// each wait for an RCU grace period; a program that is already attached somewhere stays
    /// in the dispatcher, so calls skip both. Fails with `EBUSY` when the interface already
    /// has a generic-mode XDP program.
    pub fn keep_resident(&mut self) -> Result<()> {
        if self.resident.is_none() {
            self.resident =
                Some(Link::attach_xdp_mode(&self.program, self.ifindex, XdpMode::Generic)?);
        }
        Ok(())
    }

    /// Whether the program is resident (calls are cheap).
    pub fn is_resident(&self) -> bool {
        self.resident.is_some()
    }

    /// Frames the kernel builds and transmits per inner batch (1..=256, default 64).
    pub fn set_batch_size(&mut self, batch_size: u32) -> Result<()> {
        if !(1..=MAX_BATCH).contains(&batch_size) {
            return Err(Error::InvalidConfig {
                what: "live-frames batch size",
                why: format!("{batch_size} is not in 1..={MAX_BATCH}"),
            });
        }
        self.batch_size = batch_size;
        Ok(())
    }

    /// The frame being sent.
    pub fn frame(&self) -> &[u8] {
        &self.frame
    }

    /// Runs the program `count` times (transmitting `count` frames unless redirects fail) and
    /// returns `count`. The calling thread must be in the target interface's namespace. A
    /// signal can interrupt a long call (`EINTR`): an unknown number of frames then went out.
    pub fn send(&mut self, count: u32) -> Result<u32> {
        if count == 0 {
            return Ok(0);
        }
        self.run(&self.frame, count)?;
        Ok(count)
    }

    /// One `BPF_PROG_RUN` of the program on `frame`, `count` times, live.
    #[inline]
    fn run(&self, frame: &[u8], count: u32) -> Result<()> {
        sys::prog_test_run(
            self.program.as_fd(),
            frame,
            None,
            count,
            TEST_XDP_LIVE_FRAMES,
            self.batch_size,
        )
        .map_err(|e| live_frames_error(e, frame))?;
        Ok(())
    }
}

/// Now on the clock a paced call's times are on (CLOCK_MONOTONIC, the clock of
/// `bpf_ktime_get_ns()` and of [`std::time::Instant`]), ns.
pub fn ktime_ns() -> u64 {
    sys::ktime_ns()
}

fn put(value: &mut [u8], off: i16, v: u64) {
    let at = off as usize;
    value[at..at + 8].copy_from_slice(&v.to_ne_bytes());
}

fn get(value: &[u8], off: i16) -> u64 {
    let at = off as usize;
    let mut word = [0u8; 8];
    word.copy_from_slice(&value[at..at + 8]);
    u64::from_ne_bytes(word)
}

fn check_frame(frame: &[u8]) -> Result<()> {
    if !(14..=MAX_FRAME).contains(&frame.len()) {
        return Err(Error::InvalidConfig {
            what: "live frame",
            why: format!("{} bytes: live frames take 14 to {MAX_FRAME} bytes", frame.len()),
        });
    }
    Ok(())
}

impl crate::tx::Transmit for LiveFrames {
    /// Sends each run of consecutive equal frames with one [`LiveFrames::send`]-style call
    /// (the frame as the run's data); normally every frame is taken (`Ok(frames.len())`). When
    /// a later run is refused (a frame of a size live frames cannot take, a failed call), the
    /// runs before it were sent: `Ok(frames taken so far)`, and the refusal shows on the next
    /// call, which starts with that frame. Redirect failures are silent: count at the peer, or
    /// read the target's `xdp_xmit_errors` (`ethtool -S` on veth).
    fn transmit(&mut self, frames: &[&[u8]]) -> Result<usize> {
        let mut i = 0;
        while i < frames.len() {
            let frame = frames[i];
            // The same slice again (the usual case) needs no byte comparison.
            let run =
                frames[i..].iter().take_while(|f| std::ptr::eq(**f, frame) || **f == frame).count();
            let count = u32::try_from(run).unwrap_or(u32::MAX);
            match check_frame(frame).and_then(|()| self.run(frame, count)) {
                Ok(_) => i += count as usize,
                // Earlier runs went out: report them; the caller retries from `frames[i]`.
                Err(_) if i > 0 => return Ok(i),
                Err(e) => return Err(e),
            }
        }
        Ok(frames.len())
    }

    /// Nothing to do: a call returns once its frames were handed to the target's driver.
    fn flush(&mut self) -> Result<()> {
        Ok(())
    }
}

fn live_frames_error(e: crate::SyscallError, frame: &[u8]) -> Error {
    match e.raw_os_error() {
        Some(libc::EINVAL) => Error::Unsupported {
            feature: "BPF_F_TEST_XDP_LIVE_FRAMES",
            why: format!("kernel refused a {}-byte frame ({e}); needs Linux ≥ 5.18", frame.len()),
        },
        _ => e.into(),
    }
}

/// Proves the kernel runs XDP programs with live frames: runs an `XDP_DROP` program once on a
/// 64-byte frame, first as a plain test run, then with `BPF_F_TEST_XDP_LIVE_FRAMES`, in the
/// caller's namespace. Without a context the run "receives" on that namespace's `lo` and the
/// program drops the frame, so nothing is transmitted anywhere and no interface or namespace is
/// touched — the probe checks the kernel feature only; whether a given interface accepts
/// redirected frames is what counting at its peer shows.
///
/// The error names the real cause: a kernel without the flag (`EINVAL`: Linux < 5.18), or a
/// kernel that runs test runs but refuses live frames to this process (`EPERM` on the live run
/// only: a policy of that kernel, seen on 6.18 kernels as root), or the feature turned off with
/// [`FASTNET_WITHOUT`](crate::caps::WITHOUT_VAR).
pub fn probe_live_frames() -> Result<()> {
    Feature::LiveFrames.check_not_forced_off()?;
    let drop = [Insn::mov64_imm(Reg::R0, XdpAction::Drop as i32), Insn::exit()];
    let program = Program::load_xdp(&drop, "live_probe")?;
    let frame = [0u8; 64];
    sys::prog_test_run(program.as_fd(), &frame, None, 1, 0, 0)?;
    sys::prog_test_run(program.as_fd(), &frame, None, 1, TEST_XDP_LIVE_FRAMES, 1).map_err(|e| {
        match e.raw_os_error() {
            Some(libc::EPERM) => Error::Unsupported {
                feature: "BPF_F_TEST_XDP_LIVE_FRAMES",
                why: format!(
                    "this kernel refuses them ({e}) though it test-runs XDP programs \
                     for this process: its policy, not a missing privilege"
                ),
            },
            _ => live_frames_error(e, &frame),
        }
    })?;
    Ok(())
}

/// Proves the kernel runs live frames paced inside the call ([`LiveFrames::paced`]): live
/// frames ([`probe_live_frames`]), the paced program's `may_goto` loop (Linux ≥ 6.9) and the
/// refusal counter on its tracepoint, made for the namespace's `lo`; nothing is sent.
pub fn probe_paced_live_frames() -> Result<()> {
    let limits = PacingLimits { max_late_ns: 1_000_000, late_after_ns: 1_000_000 };
    LiveFrames::paced_without_resident("lo", &[0u8; 64], 1, limits).map(drop)
}

/// Whether the kernel takes live frames, probed once per process ([`probe_live_frames`]): the
/// check every sender makes before it opens, so that a kernel refusing them is told at once
/// instead of by a failed call per batch.
pub fn live_frames_available() -> Result<()> {
    static PROBE: OnceLock<Result<(), String>> = OnceLock::new();
    Feature::LiveFrames.check_not_forced_off()?;
    once(&PROBE, "BPF_F_TEST_XDP_LIVE_FRAMES", probe_live_frames)
}

/// Whether the kernel takes paced live frames, probed once per process
/// ([`probe_paced_live_frames`]).
pub fn paced_live_frames_available() -> Result<()> {
    static PROBE: OnceLock<Result<(), String>> = OnceLock::new();
    live_frames_available()?;
    Feature::PacedLiveFrames.check_not_forced_off()?;
    once(&PROBE, "paced live frames", probe_paced_live_frames)
}

/// A probe's answer, kept for the process: later calls get the same answer as
/// [`Error::Unsupported`] with the first one's reason.
fn once(
    cell: &OnceLock<Result<(), String>>,
    feature: &'static str,
    probe: fn() -> Result<()>,
) -> Result<()> {
    cell.get_or_init(|| {
        probe().map_err(|e| match e {
            Error::Unsupported { why, .. } => why,
            other => other.to_string(),
        })
    })
    .clone()
    .map_err(|why| Error::Unsupported { feature, why })
}
