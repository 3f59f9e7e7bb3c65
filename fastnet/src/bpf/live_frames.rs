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

use std::os::fd::AsFd;

use super::{Asm, Cond, Helper, Insn, Link, Program, Reg, XdpAction, XdpMode};
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

/// A frame and a redirect program that transmits it on one interface, as fast as the kernel
/// can run it.
///
/// Counts are what the program ran, not what arrived: a redirect that fails (for veth: the
/// peer runs no NAPI — neither GRO nor an XDP program) drops the frame silently. Count at the
/// receiving side.
#[derive(Debug)]
pub struct LiveFrames {
    // Drop order: the resident link goes before the program.
    resident: Option<Link>,
    program: Program,
    frame: Vec<u8>,
    batch_size: u32,
    ifindex: u32,
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
        let ifindex = crate::ifindex(ifname)?;
        let program = Program::load_xdp(&program(ifindex)?, "live_redirect")?;
        Ok(Self { resident: None, program, frame: frame.to_vec(), batch_size: 64, ifindex })
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
/// 64-byte frame with `BPF_F_TEST_XDP_LIVE_FRAMES` in the caller's namespace. Without a
/// context the run "receives" on that namespace's `lo` and the program drops the frame, so
/// nothing is transmitted anywhere and no interface or namespace is touched — the probe checks
/// the kernel feature only; whether a given interface accepts redirected frames is what
/// counting at its peer shows. For `netlab doctor`.
pub fn probe_live_frames() -> Result<()> {
    let drop = [Insn::mov64_imm(Reg::R0, XdpAction::Drop as i32), Insn::exit()];
    let program = Program::load_xdp(&drop, "live_probe")?;
    let frame = [0u8; 64];
    sys::prog_test_run(program.as_fd(), &frame, None, 1, TEST_XDP_LIVE_FRAMES, 1)
        .map_err(|e| live_frames_error(e, &frame))?;
    Ok(())
}
