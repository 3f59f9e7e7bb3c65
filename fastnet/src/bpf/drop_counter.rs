//! `xdp-drop`: count every frame (and the IPv4 ones, reading bytes 12-13 like
//! [`Tally::do_something`]) in the kernel and drop it — the ceiling no userspace receiver can
//! beat.

use std::time::Duration;

use super::{Asm, Cond, Helper, Insn, Link, Map, MapType, Program, Reg, Size};
use super::{XdpAction, XdpMode};
use crate::error::Result;
use crate::tally::{Tally, ETHERTYPE_IPV4};

/// Value layout of the counter map: `{ u64 frames; u64 ipv4; }` per CPU.
const VALUE_SIZE: u32 = 16;

/// An XDP program that counts frames and IPv4 frames into a per-CPU array and drops them,
/// attached to an interface for as long as this value lives.
#[derive(Debug)]
pub struct XdpDropCounter {
    // Field order is drop order: detach first, then free the program and the map.
    link: Link,
    _program: Program,
    counters: Map,
    /// What the last [`XdpDropCounter::receive`] reported, to hand out deltas.
    reported: Tally,
}

/// The program: `frames += 1; if data + 14 <= data_end && *(u16 *)(data + 12) == htons(0x0800)
/// { ipv4 += 1 }; return XDP_DROP`.
fn program(counters: &Map) -> Result<Vec<Insn>> {
    let ipv4_be = i32::from(u16::from_ne_bytes(ETHERTYPE_IPV4.to_be_bytes()));
    let mut asm = Asm::new();
    let count = asm.label();
    let out = asm.label();
    asm.push([
        Insn::load(Size::W, Reg::R2, Reg::R1, super::insn::xdp_md::DATA),
        Insn::load(Size::W, Reg::R3, Reg::R1, super::insn::xdp_md::DATA_END),
        Insn::mov64_imm(Reg::R7, 0),
        Insn::mov64_reg(Reg::R4, Reg::R2),
        Insn::add64_imm(Reg::R4, 14),
    ]);
    asm.jump_reg(Cond::Gt, Reg::R4, Reg::R3, count);
    asm.push([Insn::load(Size::H, Reg::R5, Reg::R2, 12)]);
    asm.jump_imm(Cond::Ne, Reg::R5, ipv4_be, count);
    asm.push([Insn::mov64_imm(Reg::R7, 1)]);
    asm.bind(count);
    asm.push([
        Insn::store_imm(Size::W, Reg::R10, -4, 0),
        Insn::mov64_reg(Reg::R2, Reg::R10),
        Insn::add64_imm(Reg::R2, -4),
    ]);
    asm.push(counters.load_into(Reg::R1));
    asm.push([Insn::call(Helper::MapLookupElem)]);
    asm.jump_imm(Cond::Eq, Reg::R0, 0, out);
    asm.push([
        Insn::load(Size::DW, Reg::R1, Reg::R0, 0),
        Insn::add64_imm(Reg::R1, 1),
        Insn::store_reg(Size::DW, Reg::R0, 0, Reg::R1),
        Insn::load(Size::DW, Reg::R1, Reg::R0, 8),
        Insn::add64_reg(Reg::R1, Reg::R7),
        Insn::store_reg(Size::DW, Reg::R0, 8, Reg::R1),
    ]);
    asm.bind(out);
    asm.push([Insn::mov64_imm(Reg::R0, XdpAction::Drop as i32), Insn::exit()]);
    asm.finish()
}

impl XdpDropCounter {
    /// Attaches the counter to `ifname` in native (driver) mode where the driver has it, else
    /// in generic mode ([`XdpDropCounter::mode`] says which).
    pub fn attach(ifname: &str) -> Result<Self> {
        Self::attach_mode(ifname, None)
    }

    /// Attaches the counter to `ifname` in `mode` (`None`: as [`XdpDropCounter::attach`]).
    pub fn attach_mode(ifname: &str, mode: Option<XdpMode>) -> Result<Self> {
        let ifindex = crate::ifindex(ifname)?;
        let counters = Map::create(MapType::PercpuArray, VALUE_SIZE, 1, "xdp_drop_count")?;
        let program = Program::load_xdp(&program(&counters)?, "xdp_drop_count")?;
        let link = Link::attach_xdp_with(&program, ifindex, mode)?;
        Ok(Self { link, _program: program, counters, reported: Tally::default() })
    }

    /// Frames and IPv4 frames counted since attach, summed over CPUs.
    pub fn read(&self) -> Result<Tally> {
        let mut total = Tally::default();
        for cpu in self.counters.get(0)? {
            let word = |i: usize| u64::from_ne_bytes(cpu[i * 8..i * 8 + 8].try_into().expect("8"));
            total.frames += word(0);
            total.ipv4 += word(1);
        }
        Ok(total)
    }

    /// The link holding the program on the interface.
    pub fn link(&self) -> &Link {
        &self.link
    }

    /// Where the program runs: native, or generic on a driver without native XDP.
    pub fn mode(&self) -> XdpMode {
        self.link.mode()
    }

    /// Waits `timeout`, then adds what the kernel counted since the previous call to `tally`;
    /// returns the number of new frames. The shape of a receiver's `receive`, so the counter
    /// can stand in a table of receive methods.
    pub fn receive(&mut self, tally: &mut Tally, timeout: Duration) -> Result<usize> {
        std::thread::sleep(timeout);
        let now = self.read()?;
        let frames = now.frames - self.reported.frames;
        tally.frames += frames;
        tally.ipv4 += now.ipv4 - self.reported.ipv4;
        self.reported = now;
        Ok(frames as usize)
    }
}

impl crate::rx::Receive for XdpDropCounter {
    fn receive(&mut self, tally: &mut Tally, timeout: Duration) -> Result<usize> {
        XdpDropCounter::receive(self, tally, timeout)
    }

    /// `packets` = frames counted so far; the program drops every frame by design, so those
    /// are not `drops` (which stay 0, as does `freeze_q`).
    fn kernel_stats(&mut self) -> Result<crate::rx::RxStats> {
        Ok(crate::rx::RxStats { packets: self.read()?.frames, drops: 0, freeze_q: 0 })
    }

    fn xdp_mode(&self) -> Option<XdpMode> {
        Some(self.mode())
    }
}
