//! `AF_XDP` sockets: socket, UMEM registration, ring set-up and mmaps, statistics, and
//! the two single-producer/single-consumer rings a receiver walks (fill and rx).
//!
//! The rings are shared with the kernel: their producer and consumer indices are `u32`s in the
//! mapping, read and written with acquire/release atomics; descriptors are read between the two.

use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};
use std::sync::atomic::{AtomicU32, Ordering};

use super::{owned_fd, sockopt, syscall, Mmap};
use crate::error::SyscallError;

/// `socket(AF_XDP, SOCK_RAW | SOCK_CLOEXEC, 0)`.
pub(crate) fn socket() -> Result<OwnedFd, SyscallError> {
    // SAFETY: socket(2) takes no pointers.
    let fd = unsafe {
        syscall!(socket(libc::AF_XDP, libc::SOCK_RAW | libc::SOCK_CLOEXEC, 0), "socket(AF_XDP)")
    }?;
    // SAFETY: socket(2) returned a fresh fd we own.
    Ok(unsafe { owned_fd(fd) })
}

/// Registers `umem` (frames of `chunk_size` bytes) with the socket (`XDP_UMEM_REG`).
///
/// The kernel pins the pages, so they stay valid for it even if the mapping goes first; the
/// caller keeps `umem` alive at least as long as the socket to read frames from it.
pub(crate) fn register_umem(
    fd: BorrowedFd<'_>,
    umem: &Mmap,
    chunk_size: u32,
    headroom: u32,
) -> Result<(), SyscallError> {
    let reg = libc::xdp_umem_reg {
        addr: umem.as_ptr() as usize as u64,
        len: umem.len() as u64,
        chunk_size,
        headroom,
        flags: 0,
        tx_metadata_len: 0,
    };
    sockopt::set(fd, libc::SOL_XDP, libc::XDP_UMEM_REG, &reg, "setsockopt(XDP_UMEM_REG)")
}

/// Which ring a size or a mapping is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RingKind {
    /// Userspace → kernel: free UMEM frames to receive into (`XDP_UMEM_FILL_RING`).
    Fill,
    /// Kernel → userspace: sent frames to reuse (`XDP_UMEM_COMPLETION_RING`).
    Completion,
    /// Kernel → userspace: received frames (`XDP_RX_RING`).
    Rx,
}

/// Sets a ring's size (entries, a power of two).
pub(crate) fn set_ring_size(
    fd: BorrowedFd<'_>,
    ring: RingKind,
    entries: u32,
) -> Result<(), SyscallError> {
    let (name, call) = match ring {
        RingKind::Fill => (libc::XDP_UMEM_FILL_RING, "setsockopt(XDP_UMEM_FILL_RING)"),
        RingKind::Completion => {
            (libc::XDP_UMEM_COMPLETION_RING, "setsockopt(XDP_UMEM_COMPLETION_RING)")
        }
        RingKind::Rx => (libc::XDP_RX_RING, "setsockopt(XDP_RX_RING)"),
    };
    sockopt::set(fd, libc::SOL_XDP, name, &entries, call)
}

/// `XDP_MMAP_OFFSETS`: where producer, consumer, flags and descriptors sit in each ring.
pub(crate) fn mmap_offsets(fd: BorrowedFd<'_>) -> Result<libc::xdp_mmap_offsets, SyscallError> {
    sockopt::get(fd, libc::SOL_XDP, libc::XDP_MMAP_OFFSETS, "getsockopt(XDP_MMAP_OFFSETS)")
}

/// `XDP_STATISTICS`: the socket's drop counters since it was created.
pub(crate) fn statistics(fd: BorrowedFd<'_>) -> Result<libc::xdp_statistics, SyscallError> {
    sockopt::get(fd, libc::SOL_XDP, libc::XDP_STATISTICS, "getsockopt(XDP_STATISTICS)")
}

/// Binds the socket to queue `queue` of interface `ifindex` with `flags` (`XDP_COPY`…).
pub(crate) fn bind(
    fd: BorrowedFd<'_>,
    ifindex: u32,
    queue: u32,
    flags: u16,
) -> Result<(), SyscallError> {
    let addr = libc::sockaddr_xdp {
        sxdp_family: libc::AF_XDP as u16,
        sxdp_flags: flags,
        sxdp_ifindex: ifindex,
        sxdp_queue_id: queue,
        sxdp_shared_umem_fd: 0,
    };
    let ptr: *const libc::sockaddr_xdp = &addr;
    // SAFETY: `addr` is a live sockaddr_xdp of the size we pass; the kernel only reads it.
    unsafe {
        syscall!(
            bind(
                fd.as_raw_fd(),
                ptr.cast(),
                std::mem::size_of::<libc::sockaddr_xdp>() as libc::socklen_t
            ),
            "bind(AF_XDP)"
        )
    }
    .map(drop)
}

/// Wakes the driver to receive (`recvfrom(fd, NULL, 0, MSG_DONTWAIT)`): what a socket bound
/// with `XDP_USE_NEED_WAKEUP` must do when its fill ring [`FillRing::needs_wakeup`]. The
/// answers a busy or idle driver gives (`EAGAIN`, `EBUSY`, `ENOBUFS`, `ENETDOWN`) are not
/// errors.
pub(crate) fn wake_rx(fd: BorrowedFd<'_>) -> Result<(), SyscallError> {
    // SAFETY: a null buffer of length 0 and null address pointers: the kernel writes nothing.
    let done = unsafe {
        syscall!(
            recvfrom(
                fd.as_raw_fd(),
                std::ptr::null_mut(),
                0,
                libc::MSG_DONTWAIT,
                std::ptr::null_mut(),
                std::ptr::null_mut()
            ),
            "recvfrom(AF_XDP)"
        )
    };
    match done {
        Err(e)
            if matches!(
                e.raw_os_error(),
                Some(libc::EAGAIN | libc::EBUSY | libc::ENOBUFS | libc::ENETDOWN)
            ) =>
        {
            Ok(())
        }
        other => other.map(drop),
    }
}

/// The shared head of a mapped ring: the mapping and its producer/consumer indices.
#[derive(Debug)]
struct RingMap {
    /// Keeps the mapping the pointers below point into.
    _map: Mmap,
    producer: *const AtomicU32,
    consumer: *const AtomicU32,
    flags: *const AtomicU32,
    descs: *mut u8,
    mask: u32,
}

impl RingMap {
    /// Maps ring `kind` of `entries` entries (a power of two) at the offsets the kernel gave.
    fn new(
        fd: BorrowedFd<'_>,
        offsets: &libc::xdp_mmap_offsets,
        kind: RingKind,
        entries: u32,
    ) -> Result<Self, SyscallError> {
        let (off, desc_size, pgoff, call) = match kind {
            RingKind::Fill => (
                &offsets.fr,
                std::mem::size_of::<u64>(),
                libc::XDP_UMEM_PGOFF_FILL_RING,
                "mmap(XDP_UMEM_PGOFF_FILL_RING)",
            ),
            RingKind::Completion => (
                &offsets.cr,
                std::mem::size_of::<u64>(),
                libc::XDP_UMEM_PGOFF_COMPLETION_RING,
                "mmap(XDP_UMEM_PGOFF_COMPLETION_RING)",
            ),
            RingKind::Rx => (
                &offsets.rx,
                std::mem::size_of::<libc::xdp_desc>(),
                libc::XDP_PGOFF_RX_RING as u64,
                "mmap(XDP_PGOFF_RX_RING)",
            ),
        };
        let len = off.desc as usize + entries as usize * desc_size;
        let map = Mmap::shared(fd, len, pgoff as libc::off_t, true, call)?;
        let base = map.as_ptr();
        // The mapping starts on a page; an offset with the right alignment inside it is a valid
        // place for an index (`u32`) or the descriptors (`u64`s, `xdp_desc`s: 8-byte aligned).
        let fits = |o: u64, size: usize| {
            o as usize % size == 0 && (o as usize).checked_add(size).is_some_and(|end| end <= len)
        };
        if !fits(off.producer, 4)
            || !fits(off.consumer, 4)
            || !fits(off.flags, 4)
            || off.desc % 8 != 0
            || !entries.is_power_of_two()
        {
            return Err(SyscallError {
                call,
                source: std::io::Error::from_raw_os_error(libc::EINVAL),
            });
        }
        // SAFETY: the offsets were checked to lie inside the mapping just made.
        let producer = unsafe { base.add(off.producer as usize) }.cast::<AtomicU32>();
        // SAFETY: as above.
        let consumer = unsafe { base.add(off.consumer as usize) }.cast::<AtomicU32>();
        // SAFETY: as above.
        let flags = unsafe { base.add(off.flags as usize) }.cast::<AtomicU32>();
        // SAFETY: as above (`len` was computed from `off.desc`).
        let descs = unsafe { base.add(off.desc as usize) };
        Ok(Self { _map: map, producer, consumer, flags, descs, mask: entries - 1 })
    }

    #[inline]
    fn producer(&self) -> &AtomicU32 {
        // SAFETY: points into `self.map`, 4-byte aligned (both checked in `new`), and lives as
        // long as `self`; the kernel accesses it atomically too.
        unsafe { &*self.producer }
    }

    #[inline]
    fn consumer(&self) -> &AtomicU32 {
        // SAFETY: as for `producer`.
        unsafe { &*self.consumer }
    }

    #[inline]
    fn flags(&self) -> &AtomicU32 {
        // SAFETY: as for `producer`.
        unsafe { &*self.flags }
    }
}

// SAFETY: the raw pointers point into `map`, which is owned by the value and moves with it.
unsafe impl Send for RingMap {}

/// The fill ring: we produce free UMEM frame addresses, the kernel consumes them.
#[derive(Debug)]
pub(crate) struct FillRing {
    ring: RingMap,
    cached_prod: u32,
    cached_cons: u32,
}

impl FillRing {
    /// Maps the fill ring of `entries` entries.
    pub(crate) fn map(
        fd: BorrowedFd<'_>,
        offsets: &libc::xdp_mmap_offsets,
        entries: u32,
    ) -> Result<Self, SyscallError> {
        let ring = RingMap::new(fd, offsets, RingKind::Fill, entries)?;
        // We produce: our own index is authoritative, the kernel's is read with Acquire.
        let cached_prod = ring.producer().load(Ordering::Relaxed);
        let cached_cons = ring.consumer().load(Ordering::Acquire);
        Ok(Self { ring, cached_prod, cached_cons })
    }

    /// Free slots as of the last read of the kernel's consumer index.
    #[inline]
    fn free(&self) -> usize {
        (self.ring.mask + 1 - self.cached_prod.wrapping_sub(self.cached_cons)) as usize
    }

    /// Hands as many of `addrs` (from the end) to the kernel as there is room for; removes them
    /// from `addrs` and returns how many.
    #[inline]
    pub(crate) fn give(&mut self, addrs: &mut Vec<u64>) -> u32 {
        // Read the kernel's index only when the cached view has too little room.
        if self.free() < addrs.len() {
            self.cached_cons = self.ring.consumer().load(Ordering::Acquire);
        }
        let n = self.free().min(addrs.len());
        if n == 0 {
            return 0;
        }
        let descs = self.ring.descs.cast::<u64>();
        for addr in addrs.drain(addrs.len() - n..) {
            let slot = (self.cached_prod & self.ring.mask) as usize;
            // SAFETY: `slot <= mask`, so the write stays inside the descriptor array of the
            // mapping; the slot is free (between consumer and producer+free), so the kernel is
            // not reading it until we publish the new producer below.
            unsafe { descs.add(slot).write(addr) };
            self.cached_prod = self.cached_prod.wrapping_add(1);
        }
        self.ring.producer().store(self.cached_prod, Ordering::Release);
        n as u32
    }

    /// Whether the driver waits for a system call before it takes frames from this ring again
    /// (`XDP_RING_NEED_WAKEUP`; raised only on a socket bound with `XDP_USE_NEED_WAKEUP`).
    #[inline]
    #[doc(alias = "XDP_RING_NEED_WAKEUP")]
    pub(crate) fn needs_wakeup(&self) -> bool {
        self.ring.flags().load(Ordering::Relaxed) & libc::XDP_RING_NEED_WAKEUP != 0
    }
}

/// One received frame: where it is in the UMEM and how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RxDesc {
    /// Offset of the frame's first byte in the UMEM.
    pub(crate) addr: u64,
    /// Frame length in bytes.
    pub(crate) len: u32,
}

/// The rx ring: the kernel produces descriptors of received frames, we consume them.
#[derive(Debug)]
pub(crate) struct RxRing {
    ring: RingMap,
    cached_prod: u32,
    cached_cons: u32,
}

impl RxRing {
    /// Maps the rx ring of `entries` entries.
    pub(crate) fn map(
        fd: BorrowedFd<'_>,
        offsets: &libc::xdp_mmap_offsets,
        entries: u32,
    ) -> Result<Self, SyscallError> {
        let ring = RingMap::new(fd, offsets, RingKind::Rx, entries)?;
        // The kernel produces: its index is read with Acquire, ours is authoritative.
        let cached_prod = ring.producer().load(Ordering::Acquire);
        let cached_cons = ring.consumer().load(Ordering::Relaxed);
        Ok(Self { ring, cached_prod, cached_cons })
    }

    /// How many descriptors are ready (up to `max`), refreshing the producer index when the
    /// cached view is empty.
    #[inline]
    pub(crate) fn ready(&mut self, max: u32) -> u32 {
        let mut n = self.cached_prod.wrapping_sub(self.cached_cons);
        if n == 0 {
            self.cached_prod = self.ring.producer().load(Ordering::Acquire);
            n = self.cached_prod.wrapping_sub(self.cached_cons);
        }
        n.min(max)
    }

    /// The `i`-th ready descriptor (`i < ready()`).
    #[inline]
    pub(crate) fn desc(&self, i: u32) -> RxDesc {
        let slot = (self.cached_cons.wrapping_add(i) & self.ring.mask) as usize;
        // SAFETY: `slot <= mask` keeps the read inside the descriptor array; the kernel
        // published this slot (it is before the producer index we loaded with Acquire) and
        // does not touch it until we release it.
        let d = unsafe { self.ring.descs.cast::<libc::xdp_desc>().add(slot).read() };
        RxDesc { addr: d.addr, len: d.len }
    }

    /// Gives `n` consumed descriptors back to the kernel.
    #[inline]
    pub(crate) fn release(&mut self, n: u32) {
        self.cached_cons = self.cached_cons.wrapping_add(n);
        self.ring.consumer().store(self.cached_cons, Ordering::Release);
    }
}

/// UMEM memory that the kernel writes received frames into.
#[derive(Debug)]
pub(crate) struct Umem {
    map: Mmap,
}

impl Umem {
    /// Anonymous, page-aligned, pre-faulted memory of `len` bytes.
    pub(crate) fn new(len: usize) -> Result<Self, SyscallError> {
        Ok(Self { map: Mmap::anonymous(len, "mmap(UMEM)")? })
    }

    /// The mapping, to register it.
    pub(crate) fn mmap(&self) -> &Mmap {
        &self.map
    }

    /// The bytes of a received frame, or `None` if the descriptor points outside the UMEM.
    ///
    /// Only call this for a descriptor taken from the rx ring and not yet given back through
    /// the fill ring: until then the kernel does not write to that frame.
    #[inline]
    pub(crate) fn frame(&self, desc: RxDesc) -> Option<&[u8]> {
        let start = usize::try_from(desc.addr).ok()?;
        let end = start.checked_add(desc.len as usize)?;
        if end > self.map.len() {
            return None;
        }
        // SAFETY: `start..end` lies inside the mapping (checked above), which lives as long as
        // `&self`; the frame belongs to userspace until its address is put on the fill ring,
        // which needs `&mut` access to the receiver that also holds this borrow.
        Some(unsafe { std::slice::from_raw_parts(self.map.as_ptr().add(start), desc.len as usize) })
    }
}
