//! `AF_PACKET` calls: sockets bound to one interface, socket options, `recv`/`recvmmsg`,
//! `send`/`sendmmsg`, and the two memory-mapped rings (`PACKET_RX_RING` walked as
//! TPACKET_V3 blocks, `PACKET_TX_RING` filled as TPACKET_V2 slots).
//!
//! Everything here is a thin, typed wrapper; policy (defaults, validation, waiting) lives in
//! `crate::afpacket`.

use std::ffi::CStr;
use std::mem::size_of;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};
use std::sync::atomic::{AtomicU32, Ordering};

use super::{owned_fd, sockopt, syscall, Mmap};
use crate::error::SyscallError;

/// `TPACKET_V2`, the slot layout of the transmit ring.
pub(crate) const TPACKET_V2: libc::c_int = libc::tpacket_versions::TPACKET_V2 as libc::c_int;
/// `TPACKET_V3`, the block layout of the receive ring.
pub(crate) const TPACKET_V3: libc::c_int = libc::tpacket_versions::TPACKET_V3 as libc::c_int;
/// Where a TPACKET_V2 transmit slot's frame starts: the kernel reads it at
/// `tp_hdrlen - sizeof(struct sockaddr_ll)` unless `PACKET_TX_HAS_OFF` is set.
pub(crate) const TX_V2_DATA_OFFSET: usize = libc::TPACKET2_HDRLEN - size_of::<libc::sockaddr_ll>();
/// The smallest TPACKET_V3 frame the kernel accepts (`tp_hdrlen`).
pub(crate) const RX_V3_HDRLEN: usize = libc::TPACKET3_HDRLEN;
/// Bytes a TPACKET_V3 block reserves for its descriptor before the first frame (rounded as the
/// kernel rounds it).
pub(crate) const RX_V3_BLOCK_HEADER: usize = (size_of::<libc::tpacket_block_desc>() + 7) & !7;

/// `socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC [| SOCK_NONBLOCK], 0)`.
///
/// Protocol 0: the socket receives nothing until [`bind`] names a protocol and an interface,
/// so no frame of another interface slips in between the two calls.
pub(crate) fn socket(nonblocking: bool) -> Result<OwnedFd, SyscallError> {
    let flags =
        libc::SOCK_RAW | libc::SOCK_CLOEXEC | if nonblocking { libc::SOCK_NONBLOCK } else { 0 };
    // SAFETY: socket(2) takes no pointers.
    let fd = unsafe { syscall!(socket(libc::AF_PACKET, flags, 0), "socket(AF_PACKET)") }?;
    // SAFETY: socket(2) returned a fresh fd we own.
    Ok(unsafe { owned_fd(fd) })
}

/// `bind` to one interface with an EtherType (network byte order is done here); protocol 0
/// sends only and never receives.
pub(crate) fn bind(fd: BorrowedFd<'_>, ifindex: u32, ethertype: u16) -> Result<(), SyscallError> {
    // SAFETY: sockaddr_ll is plain old data; all-zero is a valid value.
    let mut addr: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
    addr.sll_family = libc::AF_PACKET as u16;
    addr.sll_protocol = ethertype.to_be();
    addr.sll_ifindex = ifindex as libc::c_int;
    // SAFETY: `addr` is a valid sockaddr_ll that outlives the call and its size is passed.
    unsafe {
        syscall!(
            bind(
                fd.as_raw_fd(),
                (&raw const addr).cast::<libc::sockaddr>(),
                size_of::<libc::sockaddr_ll>() as libc::socklen_t,
            ),
            "bind(AF_PACKET)"
        )
    }
    .map(drop)
}

/// `setsockopt(PACKET_RX_RING)` with a TPACKET_V3 request.
pub(crate) fn set_rx_ring(
    fd: BorrowedFd<'_>,
    req: &libc::tpacket_req3,
) -> Result<(), SyscallError> {
    sockopt::set(fd, libc::SOL_PACKET, libc::PACKET_RX_RING, req, "setsockopt(PACKET_RX_RING)")
}

/// `setsockopt(PACKET_TX_RING)` with a TPACKET_V1/V2 request.
pub(crate) fn set_tx_ring(fd: BorrowedFd<'_>, req: &libc::tpacket_req) -> Result<(), SyscallError> {
    sockopt::set(fd, libc::SOL_PACKET, libc::PACKET_TX_RING, req, "setsockopt(PACKET_TX_RING)")
}

/// `getsockopt(PACKET_STATISTICS)`: frames seen (delivered + dropped), dropped, and (TPACKET_V3
/// only) how often the ring froze. The kernel resets its counters on every read.
/// The kernel writes 8 bytes for a socket without a V3 ring (`tp_freeze_q_cnt` stays 0), 12
/// with one.
pub(crate) fn statistics(fd: BorrowedFd<'_>) -> Result<libc::tpacket_stats_v3, SyscallError> {
    sockopt::get(fd, libc::SOL_PACKET, libc::PACKET_STATISTICS, "getsockopt(PACKET_STATISTICS)")
}

/// `recv(fd, buf, len, flags | MSG_TRUNC)`: the frame's full length, which may exceed
/// `buf.len()` when it was cut.
#[inline]
pub(crate) fn recv(
    fd: BorrowedFd<'_>,
    buf: &mut [u8],
    flags: libc::c_int,
) -> Result<usize, SyscallError> {
    // SAFETY: `buf` is valid for writes of `buf.len()` bytes for the duration of the call.
    let n = unsafe {
        syscall!(
            recv(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), flags | libc::MSG_TRUNC),
            "recv(AF_PACKET)"
        )
    }?;
    Ok(n as usize)
}

/// `send(fd, frame, len, flags)` on a bound socket.
#[inline]
pub(crate) fn send(
    fd: BorrowedFd<'_>,
    frame: &[u8],
    flags: libc::c_int,
) -> Result<usize, SyscallError> {
    // SAFETY: `frame` is valid for reads of `frame.len()` bytes for the duration of the call.
    let n = unsafe {
        syscall!(send(fd.as_raw_fd(), frame.as_ptr().cast(), frame.len(), flags), "send(AF_PACKET)")
    }?;
    Ok(n as usize)
}

/// `send(fd, NULL, 0, flags)`: asks the kernel to transmit every slot of the `PACKET_TX_RING`
/// marked `TP_STATUS_SEND_REQUEST`. Without `MSG_DONTWAIT` it also waits for their completion.
#[inline]
pub(crate) fn kick_tx_ring(fd: BorrowedFd<'_>, flags: libc::c_int) -> Result<usize, SyscallError> {
    // SAFETY: a NULL buffer of length 0 is what PACKET_TX_RING expects; nothing is read from it.
    let n = unsafe {
        syscall!(send(fd.as_raw_fd(), std::ptr::null(), 0, flags), "send(PACKET_TX_RING)")
    }?;
    Ok(n as usize)
}

/// `if_nametoindex(name)`; `None` when no interface has that name.
pub(crate) fn if_nametoindex(name: &CStr) -> Option<u32> {
    // SAFETY: `name` is a NUL-terminated string that outlives the call.
    let index = unsafe { libc::if_nametoindex(name.as_ptr()) };
    (index != 0).then_some(index)
}

/// `ioctl(SIOCGIFMTU)` for the interface `name` (at most `IFNAMSIZ - 1` bytes), asked through
/// any socket `fd`.
pub(crate) fn mtu(fd: BorrowedFd<'_>, name: &[u8]) -> Result<u32, SyscallError> {
    // SAFETY: ifreq is plain old data; all-zero is a valid value.
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    for (dst, &src) in req.ifr_name.iter_mut().zip(name.iter().take(libc::IFNAMSIZ - 1)) {
        *dst = src as libc::c_char;
    }
    // SAFETY: `req` is a valid, NUL-terminated ifreq that outlives the call; SIOCGIFMTU writes
    // only `ifr_mtu`.
    unsafe {
        syscall!(ioctl(fd.as_raw_fd(), libc::SIOCGIFMTU, &raw mut req), "ioctl(SIOCGIFMTU)")
    }?;
    // SAFETY: SIOCGIFMTU succeeded, so the kernel wrote the `ifru_mtu` member of the union.
    let mtu = unsafe { req.ifr_ifru.ifru_mtu };
    Ok(mtu.max(0) as u32)
}

/// The page size (`sysconf(_SC_PAGESIZE)`), which ring blocks must be a multiple of.
pub(crate) fn page_size() -> usize {
    // SAFETY: sysconf takes no pointers and cannot fail for _SC_PAGESIZE.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    usize::try_from(size).unwrap_or(4096)
}

/// One `mmsghdr` per iovec of `iovs`, pointing at it (NULL name: the bound interface; no
/// control data). The headers stay valid while `iovs` is neither dropped nor reallocated.
fn headers_for(iovs: &mut [libc::iovec]) -> Box<[libc::mmsghdr]> {
    iovs.iter_mut()
        .map(|iov| {
            // SAFETY: msghdr/mmsghdr are plain old data; all-zero (NULL name, no control) is
            // valid.
            let mut hdr: libc::mmsghdr = unsafe { std::mem::zeroed() };
            hdr.msg_hdr.msg_iov = iov;
            hdr.msg_hdr.msg_iovlen = 1;
            hdr
        })
        .collect()
}

/// `recvmmsg` state: `batch` frame buffers of `frame_size` bytes in one allocation, with their
/// `iovec`s and `mmsghdr`s built once, so a receive allocates nothing.
#[derive(Debug)]
pub(crate) struct MmsgRecv {
    buffers: Box<[u8]>,
    iovs: Box<[libc::iovec]>,
    hdrs: Box<[libc::mmsghdr]>,
    frame_size: usize,
}

// SAFETY: the raw pointers in `iovs`/`hdrs` point into `buffers`/`iovs`, heap allocations owned
// by this same value that never move while it lives; moving the owner to another thread moves
// them together.
unsafe impl Send for MmsgRecv {}

impl MmsgRecv {
    /// Buffers for `batch` frames of at most `frame_size` bytes each (both > 0).
    pub(crate) fn new(batch: usize, frame_size: usize) -> Self {
        let mut buffers = vec![0u8; batch * frame_size].into_boxed_slice();
        let base = buffers.as_mut_ptr();
        let mut iovs: Box<[libc::iovec]> = (0..batch)
            .map(|i| libc::iovec {
                // SAFETY: i * frame_size < batch * frame_size, inside `buffers`.
                iov_base: unsafe { base.add(i * frame_size) }.cast(),
                iov_len: frame_size,
            })
            .collect();
        let hdrs = headers_for(&mut iovs);
        Self { buffers, iovs, hdrs, frame_size }
    }

    /// `recvmmsg(fd, hdrs, batch, flags, NULL)`: how many frames arrived.
    #[inline]
    pub(crate) fn recv(
        &mut self,
        fd: BorrowedFd<'_>,
        flags: libc::c_int,
    ) -> Result<usize, SyscallError> {
        debug_assert_eq!(self.iovs.len(), self.hdrs.len());
        // SAFETY: `hdrs` holds `hdrs.len()` valid mmsghdrs whose iovecs point into `buffers`,
        // all owned by `self`, borrowed mutably for the call; timeout NULL.
        let n = unsafe {
            syscall!(
                recvmmsg(
                    fd.as_raw_fd(),
                    self.hdrs.as_mut_ptr(),
                    self.hdrs.len() as libc::c_uint,
                    flags,
                    std::ptr::null_mut(),
                ),
                "recvmmsg(AF_PACKET)"
            )
        }?;
        Ok(n as usize)
    }

    /// Frame `i` of the last [`MmsgRecv::recv`] (cut to the buffer when it was longer).
    #[inline]
    pub(crate) fn frame(&self, i: usize) -> &[u8] {
        let len = (self.hdrs[i].msg_len as usize).min(self.frame_size);
        let start = i * self.frame_size;
        &self.buffers[start..start + len]
    }
}

/// `sendmmsg` state: `batch` `iovec`s and `mmsghdr`s built once; each send points them at the
/// caller's frames (no copy) for the duration of the call.
#[derive(Debug)]
pub(crate) struct MmsgSend {
    iovs: Box<[libc::iovec]>,
    hdrs: Box<[libc::mmsghdr]>,
}

// SAFETY: `hdrs` points into `iovs`, owned by this value and never moved while it lives; the
// iovecs' frame pointers are only dereferenced (by the kernel) during `send`, while the frames
// are borrowed.
unsafe impl Send for MmsgSend {}

impl MmsgSend {
    /// Room for `batch` (> 0) frames per call.
    pub(crate) fn new(batch: usize) -> Self {
        let mut iovs: Box<[libc::iovec]> = (0..batch)
            .map(|_| libc::iovec { iov_base: std::ptr::null_mut(), iov_len: 0 })
            .collect();
        let hdrs = headers_for(&mut iovs);
        Self { iovs, hdrs }
    }

    /// Most frames one [`MmsgSend::send`] takes.
    #[inline]
    pub(crate) fn capacity(&self) -> usize {
        self.iovs.len()
    }

    /// `sendmmsg` of up to `batch` of `frames`: how many the kernel took (≥ 1), or the error of
    /// the first.
    #[inline]
    pub(crate) fn send(
        &mut self,
        fd: BorrowedFd<'_>,
        frames: &[&[u8]],
        flags: libc::c_int,
    ) -> Result<usize, SyscallError> {
        let n = frames.len().min(self.iovs.len());
        for (iov, frame) in self.iovs.iter_mut().zip(&frames[..n]) {
            iov.iov_base = frame.as_ptr().cast_mut().cast();
            iov.iov_len = frame.len();
        }
        // SAFETY: the first `n` mmsghdrs point at iovecs that point at the borrowed `frames`,
        // valid for reads during the call; the kernel only reads them.
        let sent = unsafe {
            syscall!(
                sendmmsg(fd.as_raw_fd(), self.hdrs.as_mut_ptr(), n as libc::c_uint, flags),
                "sendmmsg(AF_PACKET)"
            )
        }?;
        Ok(sent as usize)
    }
}

/// A `PACKET_RX_RING` in TPACKET_V3 layout: `block_nr` blocks of `block_size` bytes, handed
/// back and forth with the kernel one block at a time through `block_status`.
#[derive(Debug)]
pub(crate) struct RxRing {
    map: Mmap,
    block_size: usize,
    block_nr: usize,
    current: usize,
}

impl RxRing {
    /// Maps the ring `set_rx_ring` just configured on `fd`.
    pub(crate) fn map(
        fd: BorrowedFd<'_>,
        block_size: usize,
        block_nr: usize,
    ) -> Result<Self, SyscallError> {
        let map = Mmap::shared(fd, block_size * block_nr, 0, true, "mmap(PACKET_RX_RING)")?;
        Ok(Self { map, block_size, block_nr, current: 0 })
    }

    /// The status word of block `index`, shared with the kernel.
    #[inline]
    fn status(&self, index: usize) -> &AtomicU32 {
        let offset = index * self.block_size
            + std::mem::offset_of!(libc::tpacket_block_desc, hdr)
            + std::mem::offset_of!(libc::tpacket_hdr_v1, block_status);
        // SAFETY: index < block_nr, so the word lies inside the mapping, 4-byte aligned (block
        // starts are page-aligned, the offset is a multiple of 4); the kernel and we access it
        // only atomically (it writes with smp_wmb + store, we read with Acquire).
        unsafe { &*self.map.as_ptr().add(offset).cast::<AtomicU32>() }
    }

    /// Whether the current block belongs to user space (the kernel retired it).
    #[inline]
    pub(crate) fn ready(&self) -> bool {
        self.status(self.current).load(Ordering::Acquire) & libc::TP_STATUS_USER != 0
    }

    /// If the current block is ready, calls `each` on every frame in it (in place, no copy),
    /// hands the block back to the kernel, moves on, and returns the number of frames.
    #[inline]
    pub(crate) fn take_block(&mut self, mut each: impl FnMut(&[u8])) -> Option<usize> {
        if !self.ready() {
            return None;
        }
        let block_start = self.current * self.block_size;
        // SAFETY: the block belongs to user space until we store TP_STATUS_KERNEL below: the
        // kernel does not write it meanwhile. The whole block lies inside the mapping.
        let block = unsafe {
            std::slice::from_raw_parts(self.map.as_ptr().add(block_start), self.block_size)
        };
        let count = walk_block(block, &mut each);
        self.status(self.current).store(libc::TP_STATUS_KERNEL, Ordering::Release);
        self.current = (self.current + 1) % self.block_nr;
        Some(count)
    }
}

/// Reads a `u32` at `offset` of a block (native endian), 0 when out of bounds.
#[inline(always)]
fn read_u32(block: &[u8], offset: usize) -> u32 {
    block.get(offset..offset + 4).map_or(0, |b| u32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
}

/// Reads a `u16` at `offset` of a block (native endian), 0 when out of bounds.
#[inline(always)]
fn read_u16(block: &[u8], offset: usize) -> u16 {
    block.get(offset..offset + 2).map_or(0, |b| u16::from_ne_bytes([b[0], b[1]]))
}

/// Walks the frames of one retired TPACKET_V3 block; offsets the kernel wrote are bounds-checked
/// so a malformed block ends the walk instead of reading outside it.
#[inline(always)]
fn walk_block(block: &[u8], each: &mut impl FnMut(&[u8])) -> usize {
    use std::mem::offset_of;
    let bh1 = offset_of!(libc::tpacket_block_desc, hdr);
    let num_pkts = read_u32(block, bh1 + offset_of!(libc::tpacket_hdr_v1, num_pkts)) as usize;
    let mut at =
        read_u32(block, bh1 + offset_of!(libc::tpacket_hdr_v1, offset_to_first_pkt)) as usize;
    for seen in 0..num_pkts {
        let mac = read_u16(block, at + offset_of!(libc::tpacket3_hdr, tp_mac)) as usize;
        let snaplen = read_u32(block, at + offset_of!(libc::tpacket3_hdr, tp_snaplen)) as usize;
        let next = read_u32(block, at + offset_of!(libc::tpacket3_hdr, tp_next_offset)) as usize;
        let Some(frame) = block.get(at + mac..at + mac + snaplen) else { return seen };
        each(frame);
        if next == 0 {
            return seen + 1;
        }
        at += next;
    }
    num_pkts
}

/// A `PACKET_TX_RING` in TPACKET_V2 layout: `frame_nr` slots of `frame_size` bytes; a slot is
/// ours while its status is `TP_STATUS_AVAILABLE`.
#[derive(Debug)]
pub(crate) struct TxRing {
    map: Mmap,
    frame_size: usize,
    frame_nr: usize,
    current: usize,
    /// Whether each slot starts with a `struct virtio_net_hdr` (`PACKET_VNET_HDR` is on).
    vnet_hdr: bool,
}

/// Bytes of `struct virtio_net_hdr`.
pub(crate) const VNET_HDR_LEN: usize = 10;

/// What [`TxRing::put`] found in the next slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Slot {
    /// The frame was written and marked `TP_STATUS_SEND_REQUEST`.
    Queued,
    /// The slot is still queued or being sent: the ring is full.
    Full,
    /// The kernel refused the frame that was in this slot (`TP_STATUS_WRONG_FORMAT`); the slot
    /// was given back and nothing was queued.
    WasRefused,
}

impl TxRing {
    /// Maps the ring `set_tx_ring` just configured on `fd` (slots laid out back to back:
    /// callers choose `frame_size` dividing the block size). `vnet_hdr`: `PACKET_VNET_HDR` was
    /// set on the socket, so every slot carries a `virtio_net_hdr` before its frame.
    pub(crate) fn map(
        fd: BorrowedFd<'_>,
        frame_size: usize,
        frame_nr: usize,
        vnet_hdr: bool,
    ) -> Result<Self, SyscallError> {
        let map = Mmap::shared(fd, frame_size * frame_nr, 0, true, "mmap(PACKET_TX_RING)")?;
        Ok(Self { map, frame_size, frame_nr, current: 0, vnet_hdr })
    }

    /// Bytes before the frame in a slot's data: the `virtio_net_hdr`, if any.
    #[inline]
    fn prefix(&self) -> usize {
        if self.vnet_hdr {
            VNET_HDR_LEN
        } else {
            0
        }
    }

    /// Bytes of frame one slot holds.
    #[inline]
    pub(crate) fn capacity(&self) -> usize {
        self.frame_size - TX_V2_DATA_OFFSET - self.prefix()
    }

    /// The status word of slot `index`, shared with the kernel.
    #[inline]
    fn status(&self, index: usize) -> &AtomicU32 {
        let offset = index * self.frame_size + std::mem::offset_of!(libc::tpacket2_hdr, tp_status);
        // SAFETY: index < frame_nr, so the word lies inside the mapping, 4-byte aligned (slots
        // are 16-byte aligned); the kernel and we access it only atomically.
        unsafe { &*self.map.as_ptr().add(offset).cast::<AtomicU32>() }
    }

    /// Copies `frame` (at most [`TxRing::capacity`] bytes, checked by the caller and asserted
    /// here) into the next slot if it is free and queues it.
    ///
    /// With a `virtio_net_hdr`, its `hdr_len` is the whole frame: the kernel then copies the
    /// frame into the skb's linear area instead of attaching the ring page as a fragment, which
    /// a veth would otherwise copy again into a freshly allocated page for every frame
    /// (`skb_copy_ubufs`: ring skbs are marked zero-copy).
    #[inline]
    pub(crate) fn put(&mut self, frame: &[u8]) -> Slot {
        assert!(frame.len() <= self.capacity(), "frame larger than a TX ring slot");
        let status = self.status(self.current).load(Ordering::Acquire);
        if status & libc::TP_STATUS_WRONG_FORMAT != 0 {
            self.status(self.current).store(libc::TP_STATUS_AVAILABLE, Ordering::Release);
            return Slot::WasRefused;
        }
        if status & (libc::TP_STATUS_SEND_REQUEST | libc::TP_STATUS_SENDING) != 0 {
            return Slot::Full;
        }
        let slot = self.current * self.frame_size;
        // SAFETY: the slot is TP_STATUS_AVAILABLE, so the kernel neither reads nor writes it
        // until we publish it below; header and data (len <= capacity) lie inside the slot,
        // inside the mapping; `frame` cannot overlap the mapping (it is a shared borrow of
        // memory we never hand out).
        unsafe {
            let base = self.map.as_ptr().add(slot);
            let data = base.add(TX_V2_DATA_OFFSET);
            if self.vnet_hdr {
                // flags 0, gso_type VIRTIO_NET_HDR_GSO_NONE, hdr_len (little endian), gso_size,
                // csum_start, csum_offset 0.
                let mut vnet = [0u8; VNET_HDR_LEN];
                let hdr_len = u16::try_from(frame.len()).unwrap_or(u16::MAX);
                vnet[2..4].copy_from_slice(&hdr_len.to_le_bytes());
                std::ptr::copy_nonoverlapping(vnet.as_ptr(), data, VNET_HDR_LEN);
            }
            let prefix = self.prefix();
            std::ptr::copy_nonoverlapping(frame.as_ptr(), data.add(prefix), frame.len());
            let hdr = base.cast::<libc::tpacket2_hdr>();
            (&raw mut (*hdr).tp_len).write((prefix + frame.len()) as u32);
        }
        self.status(self.current).store(libc::TP_STATUS_SEND_REQUEST, Ordering::Release);
        self.current = (self.current + 1) % self.frame_nr;
        Slot::Queued
    }

    /// Whether every slot is back with user space (nothing queued or in flight).
    pub(crate) fn idle(&self) -> bool {
        (0..self.frame_nr).all(|i| {
            self.status(i).load(Ordering::Acquire)
                & (libc::TP_STATUS_SEND_REQUEST | libc::TP_STATUS_SENDING)
                == 0
        })
    }
}
