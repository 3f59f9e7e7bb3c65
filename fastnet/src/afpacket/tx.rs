//! The three `AF_PACKET` senders: `send` per frame, `sendmmsg` batches, the TPACKET_V2 ring.

use std::time::{Duration, Instant};

use super::{set_socket_buffer, PacketSocket, SocketBuffer, TxConfig, TxRingLayout};
use crate::error::{Error, Result, SyscallError};
use crate::sys::packet as sys;
use crate::tx::Transmit;

/// Bytes of an Ethernet header.
const ETH_HLEN: usize = 14;
/// Bytes of an 802.1Q tag, which the kernel allows beyond the MTU on tagged frames.
const VLAN_HLEN: usize = 4;

/// Opens a send socket on `ifname`, blocking (a full send buffer makes `send` wait), its send
/// buffer sized if asked; not bound yet ([`PacketSocket::bind_tx`]). Returns it with the
/// interface MTU.
fn open_tx(ifname: &str, sndbuf: Option<usize>) -> Result<(PacketSocket, u32)> {
    let socket = PacketSocket::new(ifname, false)?;
    let mtu = sys::mtu(socket.fd(), ifname.as_bytes())?;
    if let Some(bytes) = sndbuf {
        set_socket_buffer(socket.fd(), SocketBuffer::Send, bytes)?;
    }
    Ok((socket, mtu))
}

/// The socket of [`SendTx`] and [`MmsgTx`]: checked settings, bound for sending, with the
/// interface MTU.
fn open_bound(ifname: &str, config: &TxConfig) -> Result<(PacketSocket, u32)> {
    config.validate_socket()?;
    let (socket, mtu) = open_tx(ifname, config.buffer)?;
    socket.bind_tx(config.qdisc_bypass)?;
    Ok((socket, mtu))
}

/// The longest frame the kernel sends on a device with this MTU (a VLAN tag may add 4).
fn max_frame_len(mtu: u32) -> usize {
    mtu as usize + ETH_HLEN
}

/// One `send` per frame: tcpreplay's path, one syscall per frame.
#[derive(Debug)]
#[doc(alias = "send")]
pub struct SendTx {
    socket: PacketSocket,
    mtu: u32,
}

impl SendTx {
    /// Opens a sender on interface `ifname` of the calling thread's network namespace.
    pub fn open(ifname: &str, config: &TxConfig) -> Result<Self> {
        let (socket, mtu) = open_bound(ifname, config)?;
        Ok(Self { socket, mtu })
    }

    /// The longest frame the interface takes (MTU + 14 bytes, as of opening; +4 with a VLAN
    /// tag).
    pub fn max_frame_len(&self) -> usize {
        max_frame_len(self.mtu)
    }
}

impl Transmit for SendTx {
    #[inline]
    fn transmit(&mut self, frames: &[&[u8]]) -> Result<usize> {
        let mut i = 0;
        while let Some(frame) = frames.get(i) {
            match sys::send(self.socket.fd(), frame, 0) {
                Ok(_) => i += 1,
                Err(e) if e.raw_os_error() == Some(libc::EINTR) => {}
                Err(e) if i == 0 => return Err(e.into()),
                Err(_) => break,
            }
        }
        Ok(i)
    }

    fn flush(&mut self) -> Result<()> {
        Ok(())
    }
}

/// `sendmmsg` batches: up to `batch` frames per syscall, sent from the caller's memory.
#[derive(Debug)]
#[doc(alias = "sendmmsg")]
pub struct MmsgTx {
    socket: PacketSocket,
    msgs: sys::MmsgSend,
    mtu: u32,
}

impl MmsgTx {
    /// Opens a sender on interface `ifname` of the calling thread's network namespace.
    pub fn open(ifname: &str, config: &TxConfig) -> Result<Self> {
        let (socket, mtu) = open_bound(ifname, config)?;
        Ok(Self { socket, msgs: sys::MmsgSend::new(config.batch), mtu })
    }

    /// The longest frame the interface takes (MTU + 14 bytes, as of opening; +4 with a VLAN
    /// tag).
    pub fn max_frame_len(&self) -> usize {
        max_frame_len(self.mtu)
    }
}

impl Transmit for MmsgTx {
    #[inline]
    fn transmit(&mut self, frames: &[&[u8]]) -> Result<usize> {
        let mut done = 0;
        while done < frames.len() {
            match self.msgs.send(self.socket.fd(), &frames[done..], 0) {
                Ok(n) => {
                    let asked = (frames.len() - done).min(self.msgs.capacity());
                    done += n;
                    if n < asked {
                        // The next frame failed; its error comes with the next call.
                        break;
                    }
                }
                Err(e) if e.raw_os_error() == Some(libc::EINTR) => {}
                Err(e) if done == 0 => return Err(e.into()),
                Err(_) => break,
            }
        }
        Ok(done)
    }

    fn flush(&mut self) -> Result<()> {
        Ok(())
    }
}

/// How long [`RingTx::flush`] waits for the ring to drain.
const FLUSH_TIMEOUT: Duration = Duration::from_secs(2);

/// `PACKET_TX_RING` (TPACKET_V2 slots) with `PACKET_QDISC_BYPASS`: trafgen's path. Frames are
/// copied into free slots; one `send(NULL, 0)` per [`transmit`](Transmit::transmit) has the
/// kernel send every queued slot.
///
/// The ring never loses a frame it took: when the device refuses one (`ENOBUFS`) or the socket
/// buffer is full (`EAGAIN`), the kernel leaves it queued and sends it with a later kick, so
/// those errors only slow `transmit` down. Call [`flush`](Transmit::flush) before dropping, or
/// queued frames are discarded with the socket.
#[derive(Debug)]
#[doc(alias = "PACKET_TX_RING")]
#[doc(alias = "TPACKET_V2")]
pub struct RingTx {
    // Field order: the ring is unmapped before the socket closes.
    ring: sys::TxRing,
    socket: PacketSocket,
    layout: TxRingLayout,
    mtu: u32,
    /// A kick error other than backpressure, reported by the next `transmit`.
    pending: Option<SyscallError>,
    /// Frames the kernel refused after they were queued (`TP_STATUS_WRONG_FORMAT`).
    refused: u64,
}

impl RingTx {
    /// Opens a ring on interface `ifname` of the calling thread's network namespace.
    pub fn open(ifname: &str, config: &TxConfig) -> Result<Self> {
        let layout = config.ring_layout()?;
        let ring_bytes = layout.block_size * layout.block_nr;
        // Every frame in flight is charged to the send buffer; let the whole ring be in flight.
        let (socket, mtu) = open_tx(ifname, Some(ring_bytes))?;
        socket.set_int(libc::PACKET_VERSION, sys::TPACKET_V2, "setsockopt(PACKET_VERSION)")?;
        let req = libc::tpacket_req {
            tp_block_size: layout.block_size as u32,
            tp_block_nr: layout.block_nr as u32,
            tp_frame_size: layout.frame_size as u32,
            tp_frame_nr: layout.frame_nr() as u32,
        };
        // A virtio_net_hdr per slot lets the kernel build linear skbs (see `TxRing::put`);
        // kernels without PACKET_VNET_HDR for rings refuse it and get plain slots.
        let vnet_hdr =
            socket.set_int(libc::PACKET_VNET_HDR, 1, "setsockopt(PACKET_VNET_HDR)").is_ok();
        sys::set_tx_ring(socket.fd(), &req)?;
        let ring = sys::TxRing::map(socket.fd(), layout.frame_size, layout.frame_nr(), vnet_hdr)?;
        socket.bind_tx(config.qdisc_bypass)?;
        Ok(Self { ring, socket, layout, mtu, pending: None, refused: 0 })
    }

    /// The longest frame this ring sends: the interface's (MTU + 14 bytes, as of opening; +4
    /// with a VLAN tag) or a slot's (`frame_size - 32`), whichever is smaller.
    pub fn max_frame_len(&self) -> usize {
        max_frame_len(self.mtu).min(self.ring.capacity())
    }

    /// Slots in the ring.
    pub fn slots(&self) -> usize {
        self.layout.frame_nr()
    }

    /// Frames the kernel refused after they were queued (it marks the slot
    /// `TP_STATUS_WRONG_FORMAT`). `transmit` checks lengths first, so this stays 0 unless the
    /// interface's MTU shrank after opening.
    pub fn refused(&self) -> u64 {
        self.refused
    }

    /// Checks a frame before it goes into a slot, so the kernel never refuses it there (a
    /// refused slot would stall the ring until it comes round again).
    #[inline]
    fn check(&self, frame: &[u8]) -> Result<()> {
        let tagged = matches!(frame.get(12..14), Some([0x81, 0x00] | [0x88, 0xa8]));
        let limit = max_frame_len(self.mtu) + if tagged { VLAN_HLEN } else { 0 };
        let errno = if frame.len() < ETH_HLEN {
            libc::EINVAL
        } else if frame.len() > limit {
            libc::EMSGSIZE
        } else if frame.len() > self.ring.capacity() {
            return Err(Error::InvalidConfig {
                what: "frame size",
                why: format!(
                    "a frame of {} bytes does not fit a transmit ring slot of {} bytes \
                     (raise the slot size)",
                    frame.len(),
                    self.layout.frame_size
                ),
            });
        } else {
            return Ok(());
        };
        Err(SyscallError {
            call: "send(PACKET_TX_RING)",
            source: std::io::Error::from_raw_os_error(errno),
        }
        .into())
    }

    /// Queues frames into free slots until one is not free; the error of `frames[0]` if it
    /// cannot be sent at all.
    #[inline]
    fn fill(&mut self, frames: &[&[u8]]) -> Result<usize> {
        let mut placed = 0;
        for frame in frames {
            if let Err(e) = self.check(frame) {
                if placed == 0 {
                    return Err(e);
                }
                break;
            }
            loop {
                match self.ring.put(frame) {
                    sys::Slot::Queued => break,
                    sys::Slot::WasRefused => self.refused += 1,
                    sys::Slot::Full => return Ok(placed),
                }
            }
            placed += 1;
        }
        Ok(placed)
    }

    /// `send(NULL, 0, flags)`: backpressure (`EAGAIN`, `ENOBUFS`) is not an error, the frames
    /// stay queued.
    #[inline]
    fn kick(&mut self, flags: libc::c_int) -> Result<(), SyscallError> {
        match sys::kick_tx_ring(self.socket.fd(), flags) {
            Ok(_) => Ok(()),
            Err(e)
                if matches!(e.raw_os_error(), Some(libc::EAGAIN | libc::ENOBUFS | libc::EINTR)) =>
            {
                Ok(())
            }
            Err(e) => Err(e),
        }
    }
}

impl Transmit for RingTx {
    #[inline]
    fn transmit(&mut self, frames: &[&[u8]]) -> Result<usize> {
        if let Some(e) = self.pending.take() {
            return Err(e.into());
        }
        let mut placed = self.fill(frames)?;
        if placed == 0 && !frames.is_empty() {
            // Full: send what is queued and wait for it to complete, then try again.
            self.kick(0)?;
            placed = self.fill(frames)?;
        }
        if placed > 0 {
            if let Err(e) = self.kick(libc::MSG_DONTWAIT) {
                self.pending = Some(e);
            }
        }
        Ok(placed)
    }

    fn flush(&mut self) -> Result<()> {
        if let Some(e) = self.pending.take() {
            return Err(e.into());
        }
        let deadline = Instant::now() + FLUSH_TIMEOUT;
        loop {
            self.kick(0)?;
            if self.ring.idle() {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(SyscallError {
                    call: "send(PACKET_TX_RING)",
                    source: std::io::Error::from_raw_os_error(libc::ETIMEDOUT),
                }
                .into());
            }
            std::thread::yield_now();
        }
    }
}
