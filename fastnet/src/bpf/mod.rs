//! The handful of tiny BPF programs the lab needs, emitted as raw instructions ([`insn`]),
//! loaded ([`Program`]), given maps ([`Map`]), attached to an interface with
//! `BPF_LINK_CREATE` ([`Link`], detached when dropped) and run with `BPF_PROG_RUN` live
//! frames ([`LiveFrames`]).
//!
//! - [`XdpDropCounter`]: the in-kernel ceiling — count (frames, IPv4) and drop.
//! - [`LiveFrames`]: the fastest sender on this machine — the kernel runs a redirect program
//!   on a frame many times, each run transmitting it on the target interface.
//! - The AF_XDP receiver's XSKMAP redirect program lives with the socket in [`crate::xdp`].
//!
//! Every kernel object is RAII: program, map and link fds are [`OwnedFd`]s, so a crash (even
//! `SIGKILL`) closes them and the kernel detaches the program.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

use crate::error::{Error, Result};
use crate::sys::bpf as sys;

mod drop_counter;
pub mod insn;
mod live_frames;

pub use drop_counter::XdpDropCounter;
pub use insn::{Asm, Cond, Helper, Insn, Label, Reg, Size, XdpAction};
pub use live_frames::{
    ktime_ns, live_frames_available, paced_live_frames_available, probe_live_frames,
    probe_paced_live_frames, LiveFrames, PacedCall, PacingLimits, PacingStats,
    MAX_BATCH as LIVE_FRAMES_MAX_BATCH, MAX_FRAME as LIVE_FRAMES_MAX_FRAME,
};

/// `BPF_PROG_TYPE_XDP`.
const PROG_TYPE_XDP: u32 = 6;
/// `BPF_PROG_TYPE_RAW_TRACEPOINT`.
const PROG_TYPE_RAW_TRACEPOINT: u32 = 17;
/// `BPF_XDP` (`enum bpf_attach_type`).
const ATTACH_TYPE_XDP: u32 = 37;
/// Verifier log buffer used to explain a rejected program.
const VERIFIER_LOG_BYTES: usize = 1 << 20;

/// A loaded BPF program; unloaded when dropped (and no link or map holds it).
#[derive(Debug)]
pub struct Program {
    fd: OwnedFd,
    name: String,
}

impl Program {
    /// Loads an XDP program (`BPF_PROG_TYPE_XDP`, expected attach type `BPF_XDP`, GPL).
    ///
    /// If the verifier rejects it (`EACCES`/`EINVAL`), the load is retried with a level-1 log
    /// and the error is [`Error::ProgramRejected`] carrying that log.
    pub fn load_xdp(insns: &[Insn], name: &str) -> Result<Program> {
        Self::load(PROG_TYPE_XDP, ATTACH_TYPE_XDP, insns, name)
    }

    /// Loads a raw tracepoint program (`BPF_PROG_TYPE_RAW_TRACEPOINT`, GPL): its context is
    /// the tracepoint's arguments, each widened to a `u64`. Attach it with
    /// [`TracepointLink::attach`]. A rejected program is reported as by [`Program::load_xdp`].
    pub fn load_raw_tracepoint(insns: &[Insn], name: &str) -> Result<Program> {
        Self::load(PROG_TYPE_RAW_TRACEPOINT, 0, insns, name)
    }

    fn load(prog_type: u32, attach_type: u32, insns: &[Insn], name: &str) -> Result<Program> {
        let raw: Vec<u64> = insns.iter().map(|i| i.to_raw()).collect();
        match sys::prog_load(prog_type, attach_type, &raw, name, None) {
            Ok(fd) => Ok(Program { fd, name: name.to_owned() }),
            Err(e) if matches!(e.raw_os_error(), Some(libc::EACCES | libc::EINVAL)) => {
                let mut log = vec![0u8; VERIFIER_LOG_BYTES];
                let source =
                    match sys::prog_load(prog_type, attach_type, &raw, name, Some(&mut log)) {
                        // Accepted the second time (should not happen): use it.
                        Ok(fd) => return Ok(Program { fd, name: name.to_owned() }),
                        Err(again) => again,
                    };
                let end = log.iter().position(|&b| b == 0).unwrap_or(log.len());
                let log = String::from_utf8_lossy(&log[..end]).trim_end().to_owned();
                Err(Error::ProgramRejected { name: name.to_owned(), source, log })
            }
            Err(e) => Err(e.into()),
        }
    }

    /// The name it was loaded with.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Runs the program once on `data` with `BPF_PROG_TEST_RUN` and returns its verdict (the
    /// raw return value, e.g. [`XdpAction::Pass`] as `u32`). Nothing is transmitted.
    pub fn test_run(&self, data: &[u8]) -> Result<u32> {
        Ok(sys::prog_test_run(self.fd.as_fd(), data, None, 1, 0, 0)?)
    }
}

impl AsFd for Program {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

/// Loads the smallest XDP program (`r0 = XDP_PASS; exit`) and unloads it: proves this process
/// may load BPF programs and the kernel has XDP. For `netlab doctor`.
pub fn probe_load() -> Result<()> {
    let insns = [Insn::mov64_imm(Reg::R0, XdpAction::Pass as i32), Insn::exit()];
    let prog = Program::load_xdp(&insns, "netlab_probe")?;
    let verdict = prog.test_run(&[0u8; 64])?;
    if verdict != XdpAction::Pass as u32 {
        return Err(Error::Unsupported {
            feature: "BPF_PROG_TEST_RUN",
            why: format!("an XDP_PASS program returned {verdict}"),
        });
    }
    Ok(())
}

/// Kinds of BPF maps the lab uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MapType {
    /// `BPF_MAP_TYPE_ARRAY`.
    Array,
    /// `BPF_MAP_TYPE_PERCPU_ARRAY`: one value per possible CPU, summed by the reader.
    PercpuArray,
    /// `BPF_MAP_TYPE_DEVMAP`: interfaces to redirect to.
    DevMap,
    /// `BPF_MAP_TYPE_XSKMAP`: AF_XDP sockets to redirect to.
    XskMap,
}

impl MapType {
    const fn raw(self) -> u32 {
        match self {
            MapType::Array => 2,
            MapType::PercpuArray => 6,
            MapType::DevMap => 14,
            MapType::XskMap => 17,
        }
    }
}

/// A BPF map with `u32` keys; freed when dropped and no program uses it any more.
#[derive(Debug)]
pub struct Map {
    fd: sys::MapFd,
    map_type: MapType,
    value_size: u32,
    max_entries: u32,
}

impl Map {
    /// Creates a map with 4-byte keys.
    pub fn create(map_type: MapType, value_size: u32, max_entries: u32, name: &str) -> Result<Map> {
        let fd = sys::map_create(map_type.raw(), value_size, max_entries, name)?;
        Ok(Map { fd, map_type, value_size, max_entries })
    }

    /// The map type.
    pub fn map_type(&self) -> MapType {
        self.map_type
    }

    /// Number of entries.
    pub fn max_entries(&self) -> u32 {
        self.max_entries
    }

    /// The two instruction slots that load this map into `dst` (`BPF_PSEUDO_MAP_FD`).
    pub fn load_into(&self, dst: Reg) -> [Insn; 2] {
        Insn::load_map_fd(dst, self.fd.as_fd().as_raw_fd())
    }

    fn check_index(&self, index: u32) -> Result<()> {
        if index >= self.max_entries {
            return Err(Error::InvalidConfig {
                what: "BPF map index",
                why: format!("{index} is outside a map of {} entries", self.max_entries),
            });
        }
        Ok(())
    }

    /// Bytes between two CPUs' copies of a value in a per-CPU map's buffer (the value size
    /// rounded up to 8); the value size for other maps, which have one copy.
    fn stride(&self) -> usize {
        match self.map_type {
            MapType::PercpuArray => (self.value_size as usize).next_multiple_of(8),
            _ => self.value_size as usize,
        }
    }

    /// Stores `value` (exactly the value size) at `index` — in every CPU's copy for a per-CPU
    /// map.
    pub fn set(&self, index: u32, value: &[u8]) -> Result<()> {
        self.check_index(index)?;
        if value.len() != self.value_size as usize {
            return Err(Error::InvalidConfig {
                what: "BPF map value",
                why: format!("{} bytes given, the map holds {}", value.len(), self.value_size),
            });
        }
        let mut buf = vec![0u8; self.fd.value_bytes()];
        for copy in buf.chunks_mut(self.stride()) {
            copy[..value.len()].copy_from_slice(value);
        }
        Ok(sys::map_update(&self.fd, index, &buf)?)
    }

    /// Puts an fd (an AF_XDP socket into an XSKMAP) or an ifindex (into a DEVMAP) at `index`.
    pub fn set_u32(&self, index: u32, value: u32) -> Result<()> {
        self.set(index, &value.to_ne_bytes())
    }

    /// The value at `index` (value size bytes); for a per-CPU map one value per possible CPU.
    pub fn get(&self, index: u32) -> Result<Vec<Vec<u8>>> {
        self.check_index(index)?;
        let mut buf = vec![0u8; self.fd.value_bytes()];
        sys::map_lookup(&self.fd, index, &mut buf)?;
        Ok(buf.chunks(self.stride()).map(|c| c[..self.value_size as usize].to_vec()).collect())
    }
}

impl AsFd for Map {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

/// Where an XDP program runs on an interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum XdpMode {
    /// In the driver (`XDP_FLAGS_DRV_MODE`): veth supports it; the fast path.
    #[default]
    Native,
    /// On the skb after allocation (`XDP_FLAGS_SKB_MODE`): any interface, slower.
    Generic,
}

impl XdpMode {
    const fn flags(self) -> u32 {
        match self {
            XdpMode::Native => 1 << 2,
            XdpMode::Generic => 1 << 1,
        }
    }
}

/// A program attached to an interface by `BPF_LINK_CREATE`; dropping it (or the process dying)
/// closes the link fd and the kernel detaches the program.
#[derive(Debug)]
pub struct Link {
    fd: OwnedFd,
    ifindex: u32,
    mode: XdpMode,
}

impl Link {
    /// Attaches an XDP program in native (driver) mode to the interface `ifindex`.
    pub fn attach_xdp(prog: &Program, ifindex: u32) -> Result<Link> {
        Self::attach_xdp_mode(prog, ifindex, XdpMode::Native)
    }

    /// Attaches an XDP program in `mode` to the interface `ifindex`. `EBUSY` means the interface
    /// already has an XDP program in that mode; `EOPNOTSUPP` that the driver has no native XDP.
    pub fn attach_xdp_mode(prog: &Program, ifindex: u32, mode: XdpMode) -> Result<Link> {
        let fd = sys::link_create(prog.as_fd(), ifindex, ATTACH_TYPE_XDP, mode.flags()).map_err(
            |e| match e.raw_os_error() {
                Some(libc::EOPNOTSUPP) if mode == XdpMode::Native => Error::Unsupported {
                    feature: "native (driver) XDP",
                    why: format!("interface #{ifindex}: {e}"),
                },
                _ => e.into(),
            },
        )?;
        Ok(Link { fd, ifindex, mode })
    }

    /// The interface it is attached to.
    pub fn ifindex(&self) -> u32 {
        self.ifindex
    }

    /// The attach mode.
    pub fn mode(&self) -> XdpMode {
        self.mode
    }
}

impl AsFd for Link {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

/// A raw tracepoint program attached to its tracepoint (`BPF_RAW_TRACEPOINT_OPEN`); dropping it
/// (or the process dying) closes the fd and the kernel detaches the program.
#[derive(Debug)]
pub struct TracepointLink {
    _fd: OwnedFd,
}

impl TracepointLink {
    /// Attaches `prog` (loaded by [`Program::load_raw_tracepoint`]) to the tracepoint `name`
    /// (`xdp_devmap_xmit`: the event's name without its group).
    pub fn attach(prog: &Program, name: &str) -> Result<TracepointLink> {
        let c_name = std::ffi::CString::new(name).map_err(|_| Error::InvalidConfig {
            what: "tracepoint name",
            why: format!("{name:?} holds a NUL byte"),
        })?;
        let fd = sys::raw_tracepoint_open(&c_name, prog.as_fd())?;
        Ok(TracepointLink { _fd: fd })
    }
}

#[cfg(test)]
pub(crate) mod tests;
