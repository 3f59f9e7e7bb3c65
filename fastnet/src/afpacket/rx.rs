//! The three `AF_PACKET` receivers: `recv` per frame, `recvmmsg` batches, the TPACKET_V3 ring.

use std::time::{Duration, Instant};

use super::{KernelCounters, PacketSocket, RxConfig, RxRingLayout, SocketBuffer};
use crate::error::Result;
use crate::rx::{Receive, RxStats, Wait};
use crate::sys::packet as sys;
use crate::Tally;

/// Waits per `wait` until the socket is readable or `deadline` passes; `false` once it has passed.
#[inline]
fn wait_readable(socket: &PacketSocket, wait: Wait, deadline: Instant) -> Result<bool> {
    let now = Instant::now();
    if now >= deadline {
        return Ok(false);
    }
    match wait {
        Wait::Busy => std::hint::spin_loop(),
        Wait::Poll => {
            crate::poll::wait_readable(socket.fd(), deadline - now)?;
        }
    }
    Ok(true)
}

/// Calls `drain` until it handles frames or, waiting per `wait` in between, `timeout` passes:
/// the receive loop of the socket receivers ([`ReadRx`], [`MmsgRx`]).
#[inline]
fn receive_until(
    socket: &PacketSocket,
    wait: Wait,
    timeout: Duration,
    mut drain: impl FnMut() -> Result<usize>,
) -> Result<usize> {
    let deadline = Instant::now() + timeout;
    loop {
        let n = drain()?;
        if n > 0 || !wait_readable(socket, wait, deadline)? {
            return Ok(n);
        }
    }
}

/// The socket of [`ReadRx`] and [`MmsgRx`]: checked settings, receive buffer, options, bound.
fn open_socket(ifname: &str, config: &RxConfig) -> Result<PacketSocket> {
    config.validate_socket()?;
    let socket = PacketSocket::new(ifname, true)?;
    if let Some(bytes) = config.buffer {
        super::set_socket_buffer(socket.fd(), SocketBuffer::Receive, bytes)?;
    }
    socket.setup_rx(config)?;
    socket.bind_rx()?;
    Ok(socket)
}

/// `fastnet:1`: one `recv` per frame into one buffer (one syscall and one copy per frame).
#[derive(Debug)]
#[doc(alias = "recv")]
pub struct ReadRx {
    socket: PacketSocket,
    buf: Box<[u8]>,
    batch: usize,
    wait: Wait,
    counters: KernelCounters,
}

impl ReadRx {
    /// Opens a receiver on interface `ifname` of the calling thread's network namespace.
    pub fn open(ifname: &str, config: &RxConfig) -> Result<Self> {
        Ok(Self {
            socket: open_socket(ifname, config)?,
            buf: vec![0; config.frame_size].into_boxed_slice(),
            batch: config.batch,
            wait: config.wait,
            counters: KernelCounters::default(),
        })
    }

    /// Receives what is queued, up to `batch` frames, without waiting.
    #[inline]
    fn drain(
        socket: &PacketSocket,
        buf: &mut [u8],
        batch: usize,
        tally: &mut Tally,
    ) -> Result<usize> {
        let mut n = 0;
        while n < batch {
            match sys::recv(socket.fd(), buf, libc::MSG_DONTWAIT) {
                Ok(len) => {
                    tally.do_something(&buf[..len.min(buf.len())]);
                    n += 1;
                }
                Err(e) if e.raw_os_error() == Some(libc::EAGAIN) => break,
                Err(e) if e.raw_os_error() == Some(libc::EINTR) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Ok(n)
    }
}

impl Receive for ReadRx {
    #[inline]
    fn receive(&mut self, tally: &mut Tally, timeout: Duration) -> Result<usize> {
        let Self { socket, buf, batch, wait, .. } = self;
        receive_until(socket, *wait, timeout, || Self::drain(socket, buf, *batch, tally))
    }

    fn kernel_stats(&mut self) -> Result<RxStats> {
        self.counters.read(self.socket.fd())
    }
}

/// `fastnet:2`: `recvmmsg` fills up to `batch` buffers per syscall (one copy per frame).
#[derive(Debug)]
#[doc(alias = "recvmmsg")]
pub struct MmsgRx {
    socket: PacketSocket,
    msgs: sys::MmsgRecv,
    wait: Wait,
    counters: KernelCounters,
}

impl MmsgRx {
    /// Opens a receiver on interface `ifname` of the calling thread's network namespace.
    pub fn open(ifname: &str, config: &RxConfig) -> Result<Self> {
        Ok(Self {
            socket: open_socket(ifname, config)?,
            msgs: sys::MmsgRecv::new(config.batch, config.frame_size),
            wait: config.wait,
            counters: KernelCounters::default(),
        })
    }

    /// One `recvmmsg` without waiting.
    #[inline]
    fn drain(socket: &PacketSocket, msgs: &mut sys::MmsgRecv, tally: &mut Tally) -> Result<usize> {
        loop {
            match msgs.recv(socket.fd(), libc::MSG_DONTWAIT) {
                Ok(n) => {
                    for i in 0..n {
                        tally.do_something(msgs.frame(i));
                    }
                    return Ok(n);
                }
                Err(e) if e.raw_os_error() == Some(libc::EAGAIN) => return Ok(0),
                Err(e) if e.raw_os_error() == Some(libc::EINTR) => continue,
                Err(e) => return Err(e.into()),
            }
        }
    }
}

impl Receive for MmsgRx {
    #[inline]
    fn receive(&mut self, tally: &mut Tally, timeout: Duration) -> Result<usize> {
        let Self { socket, msgs, wait, .. } = self;
        receive_until(socket, *wait, timeout, || Self::drain(socket, msgs, tally))
    }

    fn kernel_stats(&mut self) -> Result<RxStats> {
        self.counters.read(self.socket.fd())
    }
}

/// `fastnet:mmap`: a `PACKET_RX_RING` in TPACKET_V3 layout. The kernel fills blocks of frames;
/// each retired block is walked in place (no copy, no syscall) and handed back.
#[derive(Debug)]
#[doc(alias = "PACKET_RX_RING")]
#[doc(alias = "TPACKET_V3")]
#[doc(alias = "packet_mmap")]
pub struct RingRx {
    // Field order: the ring is unmapped before the socket closes.
    ring: sys::RxRing,
    socket: PacketSocket,
    layout: RxRingLayout,
    wait: Wait,
    counters: KernelCounters,
}

impl RingRx {
    /// Opens a ring on interface `ifname` of the calling thread's network namespace.
    pub fn open(ifname: &str, config: &RxConfig) -> Result<Self> {
        let layout = config.ring_layout()?;
        let socket = PacketSocket::new(ifname, true)?;
        socket.set_int(libc::PACKET_VERSION, sys::TPACKET_V3, "setsockopt(PACKET_VERSION)")?;
        let frames_per_block = layout.block_size / layout.frame_size;
        let req = libc::tpacket_req3 {
            tp_block_size: layout.block_size as u32,
            tp_block_nr: layout.block_nr as u32,
            tp_frame_size: layout.frame_size as u32,
            tp_frame_nr: (frames_per_block * layout.block_nr) as u32,
            tp_retire_blk_tov: layout.retire_ms,
            tp_sizeof_priv: 0,
            tp_feature_req_word: 0,
        };
        sys::set_rx_ring(socket.fd(), &req)?;
        let ring = sys::RxRing::map(socket.fd(), layout.block_size, layout.block_nr)?;
        socket.setup_rx(config)?;
        socket.bind_rx()?;
        Ok(Self { ring, socket, layout, wait: config.wait, counters: KernelCounters::default() })
    }

    /// Bytes of the ring (whole blocks).
    pub fn ring_bytes(&self) -> usize {
        self.layout.block_size * self.layout.block_nr
    }

    /// Bytes per block and number of blocks.
    pub fn blocks(&self) -> (usize, usize) {
        (self.layout.block_size, self.layout.block_nr)
    }

    /// Walks every block the kernel has retired, at most one lap of the ring.
    #[inline]
    fn drain(&mut self, tally: &mut Tally) -> (usize, bool) {
        let mut frames = 0;
        let mut any = false;
        for _ in 0..self.layout.block_nr {
            match self.ring.take_block(|frame| tally.do_something(frame)) {
                Some(n) => {
                    frames += n;
                    any = true;
                }
                None => break,
            }
        }
        (frames, any)
    }
}

impl Receive for RingRx {
    #[inline]
    fn receive(&mut self, tally: &mut Tally, timeout: Duration) -> Result<usize> {
        let deadline = Instant::now() + timeout;
        loop {
            let (n, any) = self.drain(tally);
            if n > 0 {
                return Ok(n);
            }
            // An empty retired block was handed back: look again before waiting.
            let go_on = if any {
                Instant::now() < deadline
            } else {
                wait_readable(&self.socket, self.wait, deadline)?
            };
            if !go_on {
                return Ok(0);
            }
        }
    }

    fn kernel_stats(&mut self) -> Result<RxStats> {
        self.counters.read(self.socket.fd())
    }
}
