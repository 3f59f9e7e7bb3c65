//! The three `AF_PACKET` receivers: `recv` per frame, `recvmmsg` batches, the TPACKET_V3 ring.

use std::time::{Duration, Instant};

use super::{KernelCounters, PacketSocket, RxConfig, RxRingLayout};
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
        config.validate_socket()?;
        let socket = PacketSocket::new(ifname, true)?;
        if let Some(bytes) = config.buffer {
            socket.set_rcvbuf(bytes)?;
        }
        socket.setup_rx(config)?;
        socket.bind_rx()?;
        Ok(Self {
            socket,
            buf: vec![0; config.frame_size].into_boxed_slice(),
            batch: config.batch,
            wait: config.wait,
            counters: KernelCounters::default(),
        })
    }

    /// The receive buffer the kernel granted (`SO_RCVBUF` as read back: twice what was asked).
    pub fn buffer_bytes(&self) -> Result<usize> {
        self.socket.rcvbuf()
    }

    /// Receives what is queued, up to `batch` frames, without waiting.
    #[inline]
    fn drain(&mut self, tally: &mut Tally) -> Result<usize> {
        let mut n = 0;
        while n < self.batch {
            match sys::recv(self.socket.fd(), &mut self.buf, libc::MSG_DONTWAIT) {
                Ok(len) => {
                    tally.do_something(&self.buf[..len.min(self.buf.len())]);
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
        let deadline = Instant::now() + timeout;
        loop {
            let n = self.drain(tally)?;
            if n > 0 || !wait_readable(&self.socket, self.wait, deadline)? {
                return Ok(n);
            }
        }
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
        config.validate_socket()?;
        let socket = PacketSocket::new(ifname, true)?;
        if let Some(bytes) = config.buffer {
            socket.set_rcvbuf(bytes)?;
        }
        socket.setup_rx(config)?;
        socket.bind_rx()?;
        Ok(Self {
            socket,
            msgs: sys::MmsgRecv::new(config.batch, config.frame_size),
            wait: config.wait,
            counters: KernelCounters::default(),
        })
    }

    /// The receive buffer the kernel granted (`SO_RCVBUF` as read back: twice what was asked).
    pub fn buffer_bytes(&self) -> Result<usize> {
        self.socket.rcvbuf()
    }

    /// One `recvmmsg` without waiting.
    #[inline]
    fn drain(&mut self, tally: &mut Tally) -> Result<usize> {
        loop {
            match self.msgs.recv(self.socket.fd(), libc::MSG_DONTWAIT) {
                Ok(n) => {
                    for i in 0..n {
                        tally.do_something(self.msgs.frame(i));
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
        let deadline = Instant::now() + timeout;
        loop {
            let n = self.drain(tally)?;
            if n > 0 || !wait_readable(&self.socket, self.wait, deadline)? {
                return Ok(n);
            }
        }
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
            if !any && !wait_readable(&self.socket, self.wait, deadline)? {
                return Ok(0);
            }
            if any && Instant::now() >= deadline {
                return Ok(0);
            }
        }
    }

    fn kernel_stats(&mut self) -> Result<RxStats> {
        self.counters.read(self.socket.fd())
    }
}
