//! `AF_PACKET`: raw Ethernet frames on one interface, received and sent three ways each.
//!
//! | receive | mechanism | per frame |
//! |---|---|---|
//! | [`ReadRx`] (`fastnet:1`) | one `recv` per frame into one buffer | a syscall and a copy |
//! | [`MmsgRx`] (`fastnet:2`) | `recvmmsg`, up to `batch` frames per call | a copy |
//! | [`RingRx`] (`fastnet:mmap`) | `PACKET_RX_RING` TPACKET_V3, walked in place | nothing |
//!
//! | send | mechanism | per frame |
//! |---|---|---|
//! | [`SendTx`] | one `send` per frame (tcpreplay's path) | a syscall |
//! | [`MmsgTx`] | `sendmmsg`, up to `batch` frames per call | — |
//! | [`RingTx`] | `PACKET_TX_RING` + `PACKET_QDISC_BYPASS`, one kick per call (trafgen's path) | a copy into the ring |
//!
//! Receivers implement [`Receive`](crate::rx::Receive), senders
//! [`Transmit`](crate::tx::Transmit). Every socket is bound to one interface of the calling
//! thread's network namespace and stays in that namespace wherever it is used afterwards.
//!
//! Receivers listen to every EtherType (`ETH_P_ALL`) and, by default, only to frames arriving on
//! the interface (`PACKET_IGNORE_OUTGOING`): a receiver on the sending side of a link does not
//! count what its own host sends.

mod rx;
mod tx;

use std::ffi::CString;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::time::Duration;

pub use rx::{MmsgRx, ReadRx, RingRx};
pub use tx::{MmsgTx, RingTx, SendTx};

use crate::error::{Error, Result};
use crate::rx::{RxStats, Wait};
use crate::sys::packet as sys;
use crate::sys::sockopt;

/// `ETH_P_ALL`: every EtherType.
const ETH_P_ALL: u16 = libc::ETH_P_ALL as u16;
/// Most frames one receive or send call may name (`UIO_MAXIOV`, the kernel's cap on
/// `recvmmsg`/`sendmmsg` vectors).
pub const MAX_BATCH: usize = 1024;
/// Largest per-frame buffer or ring slot accepted.
pub const MAX_FRAME_SIZE: usize = 256 * 1024;
/// Smallest per-frame buffer: an Ethernet frame without FCS is at least 60 bytes.
pub const MIN_FRAME_SIZE: usize = 64;

/// The index of interface `name` in the calling thread's network namespace.
#[doc(alias = "if_nametoindex")]
pub fn ifindex(name: &str) -> Result<u32> {
    let no_such = || Error::NoSuchInterface(name.to_owned());
    if name.is_empty() || name.len() >= libc::IFNAMSIZ || name.contains('/') {
        return Err(no_such());
    }
    let cname = CString::new(name).map_err(|_| no_such())?;
    sys::if_nametoindex(&cname).ok_or_else(no_such)
}

/// The MTU of interface `name` (`ioctl(SIOCGIFMTU)`): the largest frame a sender can send is
/// this plus the 14-byte Ethernet header (18 with a VLAN tag). Needs `CAP_NET_RAW`.
#[doc(alias = "SIOCGIFMTU")]
pub fn mtu(name: &str) -> Result<u32> {
    ifindex(name)?;
    let fd = sys::socket(false)?;
    Ok(sys::mtu(fd.as_fd(), name.as_bytes())?)
}

/// Total RAM, the bound for buffers and rings ("too large for memory").
fn total_memory() -> Option<usize> {
    let meminfo = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = meminfo.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: usize = line.split_whitespace().nth(1)?.parse().ok()?;
    kib.checked_mul(1024)
}

/// Rejects a buffer or ring larger than half the machine's memory.
fn check_fits_memory(what: &'static str, bytes: usize) -> Result<()> {
    if let Some(total) = total_memory() {
        if bytes > total / 2 {
            return Err(Error::InvalidConfig {
                what,
                why: format!(
                    "{bytes} bytes is more than half of this machine's memory ({total} bytes)"
                ),
            });
        }
    }
    Ok(())
}

fn check_batch(batch: usize) -> Result<()> {
    if batch == 0 || batch > MAX_BATCH {
        return Err(Error::InvalidConfig {
            what: "batch",
            why: format!("{batch} frames per call; use 1 to {MAX_BATCH}"),
        });
    }
    Ok(())
}

/// The largest socket buffer `SO_RCVBUF`/`SO_SNDBUF` take: the kernel doubles the value into
/// an `int`.
const MAX_SOCKET_BUFFER: usize = (i32::MAX / 2) as usize;

/// Checks a socket buffer of `bytes` that must hold at least one frame of `frame` bytes.
fn check_socket_buffer(bytes: usize, frame: usize) -> Result<()> {
    let why = if bytes < frame {
        format!("{bytes} bytes cannot hold one frame of {frame} bytes")
    } else if bytes > MAX_SOCKET_BUFFER {
        format!("{bytes} bytes is more than a socket buffer can be ({MAX_SOCKET_BUFFER} bytes)")
    } else {
        return check_fits_memory("buffer", bytes);
    };
    Err(Error::InvalidConfig { what: "buffer", why })
}

/// How many whole blocks of `block_size` a ring of `total` bytes holds, checked against the
/// kernel's 4 GiB ring limit and the machine's memory.
fn whole_blocks(total: usize, block_size: usize) -> Result<usize> {
    let block_nr = total / block_size;
    let bytes = block_nr * block_size;
    if bytes > u32::MAX as usize {
        return Err(Error::InvalidConfig {
            what: "buffer",
            why: format!("a ring of {bytes} bytes is over the kernel's 4 GiB limit"),
        });
    }
    check_fits_memory("buffer", bytes)?;
    Ok(block_nr)
}

fn check_frame_size(frame_size: usize) -> Result<()> {
    if !(MIN_FRAME_SIZE..=MAX_FRAME_SIZE).contains(&frame_size) {
        return Err(Error::InvalidConfig {
            what: "frame size",
            why: format!("{frame_size} bytes; use {MIN_FRAME_SIZE} to {MAX_FRAME_SIZE}"),
        });
    }
    Ok(())
}

/// Settings of a receiver. [`RxConfig::default`] suits a lab: kernel-default socket buffer, a
/// 16 MiB ring of 1 MiB blocks, 64-frame batches, 2048-byte frames, `poll` when idle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RxConfig {
    /// [`ReadRx`], [`MmsgRx`]: the socket receive buffer in bytes (`SO_RCVBUFFORCE`, falling
    /// back to `SO_RCVBUF`; the kernel doubles it for bookkeeping, a 64-byte frame costs several
    /// hundred bytes of it); `None` keeps `net.core.rmem_default`.
    /// [`RingRx`]: the ring in bytes, rounded down to whole blocks; `None` is 16 MiB.
    #[doc(alias = "SO_RCVBUF")]
    #[doc(alias = "SO_RCVBUFFORCE")]
    pub buffer: Option<usize>,
    /// [`MmsgRx`]: frames per `recvmmsg` (its `vlen`). [`ReadRx`]: most `recv` calls per
    /// [`receive`](crate::rx::Receive::receive). [`RingRx`] hands over whole blocks and ignores
    /// it. 1 to [`MAX_BATCH`].
    #[doc(alias = "vlen")]
    pub batch: usize,
    /// Bytes kept of each frame: the per-frame buffer of [`ReadRx`]/[`MmsgRx`] (longer frames are
    /// cut; `do_something` still sees their first bytes) and the ring's `tp_frame_size` (a
    /// multiple of 16 there). [`MIN_FRAME_SIZE`] to [`MAX_FRAME_SIZE`].
    #[doc(alias = "tp_frame_size")]
    #[doc(alias = "snaplen")]
    pub frame_size: usize,
    /// [`RingRx`]: bytes per block (`tp_block_size`, a multiple of the page size); `None` picks
    /// an eighth of the ring as a power of two, between one page and 1 MiB.
    #[doc(alias = "tp_block_size")]
    pub block_size: Option<usize>,
    /// [`RingRx`]: how long the kernel keeps a partly filled block before handing it over
    /// (`tp_retire_blk_tov`, whole milliseconds, at least 1).
    #[doc(alias = "tp_retire_blk_tov")]
    pub block_timeout: Duration,
    /// What to do when nothing is ready.
    pub wait: Wait,
    /// Count only frames arriving on the interface, not those the host sends out of it
    /// (`PACKET_IGNORE_OUTGOING`). Default `true`.
    #[doc(alias = "PACKET_IGNORE_OUTGOING")]
    pub ignore_outgoing: bool,
}

impl Default for RxConfig {
    fn default() -> Self {
        Self {
            buffer: None,
            batch: 64,
            frame_size: 2048,
            block_size: None,
            block_timeout: Duration::from_millis(10),
            wait: Wait::Poll,
            ignore_outgoing: true,
        }
    }
}

/// The default [`RingRx`] size.
const DEFAULT_RX_RING_BYTES: usize = 16 << 20;
/// The largest auto-chosen [`RingRx`] block.
const MAX_AUTO_BLOCK: usize = 1 << 20;

/// A validated TPACKET_V3 ring layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RxRingLayout {
    pub(crate) block_size: usize,
    pub(crate) block_nr: usize,
    pub(crate) frame_size: usize,
    pub(crate) retire_ms: u32,
}

impl RxConfig {
    /// Checks the settings [`ReadRx`] and [`MmsgRx`] use, as opening them would.
    pub fn validate_socket(&self) -> Result<()> {
        check_batch(self.batch)?;
        check_frame_size(self.frame_size)?;
        match self.buffer {
            Some(bytes) => check_socket_buffer(bytes, self.frame_size),
            None => Ok(()),
        }
    }

    /// Checks the settings [`RingRx`] uses, as opening it would.
    pub fn validate_ring(&self) -> Result<()> {
        self.ring_layout().map(drop)
    }

    /// Checks the settings [`RingRx`] uses and lays the ring out.
    pub(crate) fn ring_layout(&self) -> Result<RxRingLayout> {
        check_frame_size(self.frame_size)?;
        if self.frame_size < sys::RX_V3_HDRLEN {
            return Err(Error::InvalidConfig {
                what: "frame size",
                why: format!(
                    "{} bytes is less than a ring frame header ({} bytes)",
                    self.frame_size,
                    sys::RX_V3_HDRLEN
                ),
            });
        }
        if self.frame_size % libc::TPACKET_ALIGNMENT != 0 {
            return Err(Error::InvalidConfig {
                what: "frame size",
                why: format!(
                    "{} bytes is not a multiple of {} (TPACKET_ALIGNMENT)",
                    self.frame_size,
                    libc::TPACKET_ALIGNMENT
                ),
            });
        }
        let page = sys::page_size();
        let total = self.buffer.unwrap_or(DEFAULT_RX_RING_BYTES);
        let one_frame = sys::RX_V3_BLOCK_HEADER + self.frame_size;
        if total < one_frame.max(page) {
            return Err(Error::InvalidConfig {
                what: "buffer",
                why: format!(
                    "a ring of {total} bytes cannot hold one frame of {} bytes (need at least {})",
                    self.frame_size,
                    one_frame.next_multiple_of(page)
                ),
            });
        }
        let block_size = match self.block_size {
            Some(size) => size,
            None => {
                let eighth = (total / 8).max(1);
                let pow2 = 1usize << (usize::BITS - 1 - eighth.leading_zeros());
                pow2.clamp(page, MAX_AUTO_BLOCK).max(one_frame.next_power_of_two()).min(total)
            }
        };
        if block_size == 0 || block_size % page != 0 {
            return Err(Error::InvalidConfig {
                what: "block size",
                why: format!("{block_size} bytes is not a multiple of the page size ({page})"),
            });
        }
        if block_size < one_frame {
            return Err(Error::InvalidConfig {
                what: "block size",
                why: format!(
                    "a block of {block_size} bytes cannot hold one frame of {} bytes",
                    self.frame_size
                ),
            });
        }
        if block_size > total {
            return Err(Error::InvalidConfig {
                what: "buffer",
                why: format!("a ring of {total} bytes is smaller than one block ({block_size})"),
            });
        }
        let block_nr = whole_blocks(total, block_size)?;
        let retire_ms = u32::try_from(self.block_timeout.as_millis()).unwrap_or(u32::MAX).max(1);
        Ok(RxRingLayout { block_size, block_nr, frame_size: self.frame_size, retire_ms })
    }
}

/// Settings of a sender. [`TxConfig::default`]: kernel-default socket buffer, an 8 MiB ring of
/// 2048-byte slots, 64-frame `sendmmsg` batches, qdisc bypassed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxConfig {
    /// [`SendTx`], [`MmsgTx`]: the socket send buffer in bytes (`SO_SNDBUFFORCE`, falling back
    /// to `SO_SNDBUF`); `None` keeps `net.core.wmem_default`. [`RingTx`]: the ring in bytes,
    /// rounded down to whole slots; `None` is 8 MiB.
    #[doc(alias = "SO_SNDBUF")]
    pub buffer: Option<usize>,
    /// [`MmsgTx`]: most frames per `sendmmsg` (a longer `transmit` is cut into calls of this
    /// size). 1 to [`MAX_BATCH`].
    pub batch: usize,
    /// [`RingTx`]: bytes per slot (`tp_frame_size`, a power of two); a slot holds a frame of
    /// `frame_size - 32` bytes.
    #[doc(alias = "tp_frame_size")]
    pub frame_size: usize,
    /// Hand frames straight to the driver, skipping the qdisc layer
    /// (`PACKET_QDISC_BYPASS`): faster, but no traffic shaping and no `tcpdump` on the sending
    /// interface sees them. Default `true`.
    #[doc(alias = "PACKET_QDISC_BYPASS")]
    pub qdisc_bypass: bool,
}

impl Default for TxConfig {
    fn default() -> Self {
        Self { buffer: None, batch: 64, frame_size: 2048, qdisc_bypass: true }
    }
}

/// The default [`RingTx`] size.
const DEFAULT_TX_RING_BYTES: usize = 8 << 20;

/// A validated TPACKET_V2 transmit ring layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TxRingLayout {
    pub(crate) block_size: usize,
    pub(crate) block_nr: usize,
    pub(crate) frame_size: usize,
}

impl TxRingLayout {
    pub(crate) fn frame_nr(&self) -> usize {
        self.block_nr * (self.block_size / self.frame_size)
    }
}

impl TxConfig {
    /// Checks the settings [`SendTx`] and [`MmsgTx`] use.
    fn validate_socket(&self) -> Result<()> {
        check_batch(self.batch)?;
        match self.buffer {
            Some(bytes) => check_socket_buffer(bytes, MIN_FRAME_SIZE),
            None => Ok(()),
        }
    }

    /// Checks the settings [`RingTx`] uses and lays the ring out.
    pub(crate) fn ring_layout(&self) -> Result<TxRingLayout> {
        let min = (sys::TX_V2_DATA_OFFSET + MIN_FRAME_SIZE).next_power_of_two();
        if !self.frame_size.is_power_of_two() || !(min..=MAX_FRAME_SIZE).contains(&self.frame_size)
        {
            return Err(Error::InvalidConfig {
                what: "frame size",
                why: format!(
                    "{} bytes; a transmit ring slot is a power of two from {min} to \
                     {MAX_FRAME_SIZE}",
                    self.frame_size
                ),
            });
        }
        let block_size = self.frame_size.max(sys::page_size());
        let total = self.buffer.unwrap_or(DEFAULT_TX_RING_BYTES);
        if total < block_size {
            return Err(Error::InvalidConfig {
                what: "buffer",
                why: format!(
                    "a ring of {total} bytes cannot hold one slot of {} bytes (need at least \
                     {block_size})",
                    self.frame_size
                ),
            });
        }
        let block_nr = whole_blocks(total, block_size)?;
        Ok(TxRingLayout { block_size, block_nr, frame_size: self.frame_size })
    }
}

/// One of a socket's two buffers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SocketBuffer {
    /// `SO_RCVBUF`: frames queued for the reader.
    Receive,
    /// `SO_SNDBUF`: frames handed to the kernel and not yet sent.
    Send,
}

impl SocketBuffer {
    /// `(option, call)` of the privileged `…FORCE` setter, the plain setter and the getter.
    fn options(self) -> [(libc::c_int, &'static str); 3] {
        match self {
            SocketBuffer::Receive => [
                (libc::SO_RCVBUFFORCE, "setsockopt(SO_RCVBUFFORCE)"),
                (libc::SO_RCVBUF, "setsockopt(SO_RCVBUF)"),
                (libc::SO_RCVBUF, "getsockopt(SO_RCVBUF)"),
            ],
            SocketBuffer::Send => [
                (libc::SO_SNDBUFFORCE, "setsockopt(SO_SNDBUFFORCE)"),
                (libc::SO_SNDBUF, "setsockopt(SO_SNDBUF)"),
                (libc::SO_SNDBUF, "getsockopt(SO_SNDBUF)"),
            ],
        }
    }
}

/// Sets buffer `which` of socket `fd` to `bytes`, first with the `…FORCE` option (root may
/// exceed `net.core.{r,w}mem_max`), then, without the privilege (`EPERM`), with the plain one.
/// Returns what the kernel reports back (twice the usable size: the other half is bookkeeping).
pub(crate) fn set_socket_buffer(
    fd: BorrowedFd<'_>,
    which: SocketBuffer,
    bytes: usize,
) -> Result<usize> {
    let [force, plain, _] = which.options();
    let value = libc::c_int::try_from(bytes).unwrap_or(libc::c_int::MAX);
    if let Err(e) = sockopt::set(fd, libc::SOL_SOCKET, force.0, &value, force.1) {
        if e.raw_os_error() != Some(libc::EPERM) {
            return Err(e.into());
        }
        sockopt::set(fd, libc::SOL_SOCKET, plain.0, &value, plain.1)?;
    }
    socket_buffer(fd, which)
}

/// The size of buffer `which` of socket `fd`, as the kernel reports it.
pub(crate) fn socket_buffer(fd: BorrowedFd<'_>, which: SocketBuffer) -> Result<usize> {
    let [_, _, get] = which.options();
    let got: libc::c_int = sockopt::get(fd, libc::SOL_SOCKET, get.0, get.1)?;
    Ok(usize::try_from(got).unwrap_or(0))
}

/// An `AF_PACKET` socket, bound last (after its options and ring), so it sees nothing before it
/// is fully set up.
#[derive(Debug)]
struct PacketSocket {
    fd: OwnedFd,
    ifindex: u32,
}

impl PacketSocket {
    /// A socket for interface `ifname`, not yet bound.
    fn new(ifname: &str, nonblocking: bool) -> Result<Self> {
        let ifindex = ifindex(ifname)?;
        let fd = sys::socket(nonblocking)?;
        Ok(Self { fd, ifindex })
    }

    fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    fn set_int(&self, name: libc::c_int, value: libc::c_int, call: &'static str) -> Result<()> {
        Ok(sockopt::set(self.fd(), libc::SOL_PACKET, name, &value, call)?)
    }

    /// Receive-side options every receiver shares.
    fn setup_rx(&self, config: &RxConfig) -> Result<()> {
        if config.ignore_outgoing {
            self.set_int(libc::PACKET_IGNORE_OUTGOING, 1, "setsockopt(PACKET_IGNORE_OUTGOING)")?;
        }
        Ok(())
    }

    /// Starts receiving every EtherType on the interface.
    fn bind_rx(&self) -> Result<()> {
        Ok(sys::bind(self.fd(), self.ifindex, ETH_P_ALL)?)
    }

    /// Binds for sending only (protocol 0: the socket never queues received frames).
    fn bind_tx(&self, qdisc_bypass: bool) -> Result<()> {
        if qdisc_bypass {
            self.set_int(libc::PACKET_QDISC_BYPASS, 1, "setsockopt(PACKET_QDISC_BYPASS)")?;
        }
        Ok(sys::bind(self.fd(), self.ifindex, 0)?)
    }
}

/// `PACKET_STATISTICS`, which the kernel resets on every read, accumulated.
#[derive(Debug, Default)]
struct KernelCounters {
    total: RxStats,
}

impl KernelCounters {
    fn read(&mut self, fd: BorrowedFd<'_>) -> Result<RxStats> {
        accumulate_statistics(fd, &mut self.total)
    }
}

/// Reads `PACKET_STATISTICS` of the AF_PACKET socket `fd` and adds it to `total`, which it
/// returns: the kernel resets the counters on every read, so keep one `total` per socket.
pub(crate) fn accumulate_statistics(fd: BorrowedFd<'_>, total: &mut RxStats) -> Result<RxStats> {
    let now = sys::statistics(fd)?;
    total.packets += u64::from(now.tp_packets);
    total.drops += u64::from(now.tp_drops);
    total.freeze_q += u64::from(now.tp_freeze_q_cnt);
    Ok(*total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ring_layout_defaults_and_auto_blocks() {
        let layout = RxConfig::default().ring_layout().unwrap();
        assert_eq!((layout.block_size, layout.block_nr), (1 << 20, 16));
        let small = RxConfig { buffer: Some(256 << 10), ..RxConfig::default() };
        let layout = small.ring_layout().unwrap();
        assert_eq!((layout.block_size, layout.block_nr), (32 << 10, 8));
        // Rounded down to whole blocks.
        let odd = RxConfig { buffer: Some((3 << 20) + 12345), ..RxConfig::default() };
        let layout = odd.ring_layout().unwrap();
        assert_eq!(layout.block_size * layout.block_nr, 3 << 20);
    }

    fn invalid_what(r: Result<impl std::fmt::Debug>) -> &'static str {
        match r {
            Err(Error::InvalidConfig { what, .. }) => what,
            other => panic!("expected InvalidConfig, got {other:?}"),
        }
    }

    #[test]
    fn bad_receive_configs_name_the_setting() {
        let base = RxConfig::default();
        let tiny = RxConfig { buffer: Some(100), ..base.clone() };
        assert_eq!(invalid_what(tiny.ring_layout()), "buffer");
        assert_eq!(invalid_what(tiny.validate_socket()), "buffer");
        let huge = RxConfig { buffer: Some(usize::MAX / 4), ..base.clone() };
        assert_eq!(invalid_what(huge.ring_layout()), "buffer");
        assert_eq!(invalid_what(huge.validate_socket()), "buffer");
        let batch = RxConfig { batch: 0, ..base.clone() };
        assert_eq!(invalid_what(batch.validate_socket()), "batch");
        let batch = RxConfig { batch: MAX_BATCH + 1, ..base.clone() };
        assert_eq!(invalid_what(batch.validate_socket()), "batch");
        let frame = RxConfig { frame_size: 2000 + 1, ..base.clone() };
        assert_eq!(invalid_what(frame.ring_layout()), "frame size");
        let frame = RxConfig { frame_size: 10, ..base.clone() };
        assert_eq!(invalid_what(frame.validate_socket()), "frame size");
        let block = RxConfig { block_size: Some(5000), ..base.clone() };
        assert_eq!(invalid_what(block.ring_layout()), "block size");
        let block = RxConfig { block_size: Some(32 << 20), ..base };
        assert_eq!(invalid_what(block.ring_layout()), "buffer");
    }

    #[test]
    fn bad_send_configs_name_the_setting() {
        let base = TxConfig::default();
        let layout = base.ring_layout().unwrap();
        assert_eq!(layout.frame_nr() * layout.frame_size, DEFAULT_TX_RING_BYTES);
        let frame = TxConfig { frame_size: 1500, ..base.clone() };
        assert_eq!(invalid_what(frame.ring_layout()), "frame size");
        let tiny = TxConfig { buffer: Some(1000), ..base.clone() };
        assert_eq!(invalid_what(tiny.ring_layout()), "buffer");
        let huge = TxConfig { buffer: Some(usize::MAX / 4), ..base.clone() };
        assert_eq!(invalid_what(huge.ring_layout()), "buffer");
        assert_eq!(invalid_what(huge.validate_socket()), "buffer");
        let batch = TxConfig { batch: 0, ..base };
        assert_eq!(invalid_what(batch.validate_socket()), "batch");
    }

    #[test]
    fn socket_buffers_are_set_and_read_back_per_direction() {
        // Below the default `net.core.{r,w}mem_max`, so the answer is the same with or without
        // the privilege the `…FORCE` options need: twice what was asked.
        let (a, _b) = std::os::unix::net::UnixDatagram::pair().unwrap();
        let got = set_socket_buffer(a.as_fd(), SocketBuffer::Receive, 48 << 10).unwrap();
        assert_eq!(got, 96 << 10);
        let got = set_socket_buffer(a.as_fd(), SocketBuffer::Send, 40 << 10).unwrap();
        assert_eq!(got, 80 << 10);
        assert_eq!(socket_buffer(a.as_fd(), SocketBuffer::Receive).unwrap(), 96 << 10);
        assert_eq!(socket_buffer(a.as_fd(), SocketBuffer::Send).unwrap(), 80 << 10);
    }

    #[test]
    fn interface_names_that_cannot_exist() {
        for name in ["", "a/b", "sixteen-chars-xx", "nul\0"] {
            assert!(matches!(ifindex(name), Err(Error::NoSuchInterface(n)) if n == name));
        }
    }
}
