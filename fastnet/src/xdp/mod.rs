//! `AF_XDP` receive (`fastnet:3`): the driver — or, in copy mode, the kernel right after the
//! driver — writes each frame into a buffer this process mapped (the UMEM), and a ring of
//! descriptors says where. No skb, no per-frame syscall, no copy to userspace.
//!
//! Set-up, in the order the kernel wants it:
//! 1. UMEM: anonymous memory cut into `frames` frames of `frame_size` bytes, registered with
//!    the socket (`XDP_UMEM_REG`);
//! 2. ring sizes: fill, completion (required even to receive), rx; then `XDP_MMAP_OFFSETS`
//!    and the fill and rx rings mapped;
//! 3. the fill ring pre-filled with free frames;
//! 4. the 6-slot program
//!    `r2 = ctx->rx_queue_index; r1 = map; r3 = XDP_PASS; call bpf_redirect_map; exit`
//!    over an empty XSKMAP, attached with `BPF_LINK_CREATE` in native (driver) mode, or in
//!    generic (skb) mode where the driver has no native XDP (e1000, macvlan, a bridge) —
//!    [`XskConfig::mode`] can require one. Frames of queues without a socket pass to the stack;
//! 5. `bind` to one queue of the interface: zero-copy (`XDP_ZEROCOPY | XDP_USE_NEED_WAKEUP`)
//!    where the driver offers it and the program runs natively, else copy (`XDP_COPY`; veth has
//!    no zero-copy) — [`XskConfig::bind`] can require one; [`XskRx::bind_mode`] says which;
//! 6. the socket put in the XSKMAP at the queue's index: frames start coming.
//!
//! Receiving walks the rx ring in place, runs [`Tally::do_something`] on each frame where it
//! lies in the UMEM, and recycles the frames to the fill ring once per batch. In copy mode the
//! kernel never raises `need_wakeup`, so an idle receiver either spins ([`Wait::Busy`]) or
//! sleeps in `poll(2)` ([`Wait::Poll`]), which the kernel wakes when it flushes frames to the
//! socket. In zero-copy mode the driver raises `need_wakeup` on the fill ring when it waits for
//! a system call to take frames from it again: the receiver then makes one (`recvfrom` with
//! `MSG_DONTWAIT`; `poll(2)` does it too) before it waits.
//!
//! # Sharing a core with NAPI
//! In copy mode the kernel's NAPI poll — on a veth with threaded NAPI, the `napi/<dev>-<id>`
//! kthread — copies every frame into the UMEM; that kernel work, not the receiver's ring walk,
//! limits the rate. When the receiver runs on the same core as that kthread, two things decide
//! how much it keeps (measured on a 2-vCPU VM with `labs/bench-receivers.toml`, veth flooded
//! by the xdp engine, against a plain libxdp receiver — 4096 frames, polls when idle):
//! - **Who preempts whom.** NAPI flushes the socket after every poll (64 frames) and wakes a
//!   receiver sleeping in `poll(2)`; an ordinary (`SCHED_OTHER`) receiver preempts the kthread
//!   right away, takes those 64 frames and sleeps again: two context switches per 64 frames
//!   (30–60 k a second) on the core that does the copying. With [`XskConfig::sched_batch`]
//!   the receiving thread is `SCHED_BATCH`: woken, it waits until NAPI sleeps or its time
//!   slice ends (~500 switches a second), then drains thousands of frames in one go. The
//!   receiver's CPU fell from ~38 to ~5 ns per frame, NAPI's by ~15 %.
//! - **How long the receiver may be away.** Not preempting NAPI means not running for up to a
//!   scheduler slice (a few ms): at 5 Mpps that is 10–20 k frames, which must all find a free
//!   UMEM frame on the fill ring, or the kernel drops them (`rx_fill_ring_empty_descs`). Hence
//!   16 384 frames (32 MiB) by default: with 4096 the batch-scheduled receiver lost up to half
//!   the frames that way and kept 0.6 × the plain receiver; 8192 and 32 768 kept a little less
//!   than 16 384.
//!
//! Together: ~1.3–1.4 × what the plain libxdp receiver kept in the same runs — and the plain
//! receiver given the same two changes keeps most of that gain, so it is the configuration,
//! not the language. Measured and dropped: spinning ([`Wait::Busy`], ~0.85 ×: the spinner
//! takes half the core from NAPI, with or without `SCHED_BATCH`); sleeping a fixed 300 µs
//! after each drain instead of polling (no better than polling); batches of 64 or 1024
//! (the same as 256); frames laid out 2112 bytes apart (unaligned chunks) so the lines the
//! kernel writes spread over every cache set (no gain).
//!
//! What is left is in the kernel: on that VM, in the slower runs, half of the NAPI thread's
//! time went to returning each frame's page to the sender's page pool, behind a spinlock the
//! sending core also takes for the frames the full veth ring refused (`perf record -C <core>`).
//!
//! # Below flood: coalesced wake-ups
//! At the rates a capture mostly runs at, the cost per frame is not the copy but the
//! wake-ups. On a veth with threaded NAPI, every frame that finds the NAPI thread asleep wakes
//! it (the peer's transmit schedules NAPI), and every NAPI poll that hands frames to the socket
//! wakes a receiver sleeping in `poll(2)`: at 100 kpps both happen for nearly every frame.
//! TPACKET_V3 (pcap, `fastnet:mmap`) avoids the second — it wakes the reader per block,
//! retired when full or after its timeout — but not the first. Measured with
//! `scripts/bench-cost` (ring engine, receive core shared with the NAPI thread, CPU of the
//! receiver + NAPI thread over the window per frame, medians of 3 runs, µs; the machine was
//! shared, so runs scatter by ±50 % at the low rates):
//!
//! | `fastnet:3` configuration | 10 kpps | 100 kpps | 1 Mpps | pcap in the same runs |
//! |---|---|---|---|---|
//! | `poll(2)` after every drain (before) | 10.6 | 4.3 | 0.91 | 6.3 / 2.7 / 0.94 |
//! | sleep 10 ms between drains while frames flow | 10.0 | 4.0 | 1.25 | (same run) |
//! | fixed NAPI deferral (2, 200 µs, set by hand for every method), with the sleep / without | 8.4 / 7.1 | 1.6 / 1.7 | 1.24 / 1.23 | 8.1 / 1.9 / 1.25 |
//! | both, the deferral retuned to the rate (the default) | 1.9 | 0.93 | 0.72 | 14.1 / 4.2 / 0.94 |
//!
//! - **Sleeping instead of polling** alone moved the cost instead of removing it: the receiver
//!   fell from 1.2 to 0.04 µs per frame at 100 kpps, and the NAPI thread rose from 3.0 to
//!   4.0 — it was still woken per frame, now on a core with nothing else awake.
//! - **NAPI deferral** (`napi_defer_hard_irqs` > 0 with a `gro_flush_timeout`): a NAPI poll that
//!   empties the queue arms a timer instead of re-enabling the device's "interrupt", so frames
//!   gather in the queue and one poll takes them all. veth honours it (its poll keeps
//!   `rx_notify_masked` while `napi_complete_done` says the timer runs). A fixed 200 µs helps
//!   every method at 100 kpps and nothing at 10 kpps (two frames per timer); a longer fixed
//!   timeout would overflow veth's 256-slot queue at 1 Mpps (the xdp engine then loses frames,
//!   the ring engine is slowed down). Hence a timeout retuned to the rate the receiver sees:
//!   long enough for 128 frames (half of veth's queue) to gather, at most half the delay
//!   budget, none above 1.28 Mpps (a timer below 100 µs fires too late for veth's ring), rewritten
//!   only when off by 2 ×.
//! - **Together** ([`XskConfig::max_delay`], default [`DEFAULT_MAX_DELAY`] = 10 ms like
//!   libpcap's block timeout): NAPI waits up to half the budget for frames to gather, the
//!   receiver sleeps up to the other half between drains (shortened so the frames expected
//!   meanwhile fill at most half the rx ring) and waits in `poll(2)` only when a drain after
//!   a sleep found nothing, so the first frame after a quiet spell is seen at once. A frame
//!   waits at most `max_delay` (plus wake-up latency) from the interface's queue to the
//!   application: [`XskRx::delay_bound`]. The receiver sets the two interface knobs while it is
//!   open and restores them when it closes; a receiver killed by `SIGKILL` leaves them set.
//!
//! Not measured, for want of time: `SO_PREFER_BUSY_POLL` / `SO_BUSY_POLL_BUDGET` (NAPI run from
//! the receiver's own syscalls; with the deferral, the wake-ups it would save are already
//! gone), and the batch size and fill-ring refill policy at low rates (neither is on the
//! wake-up path).
//!
//! Everything is RAII: dropping an [`XskRx`] detaches the program (closing the link fd), closes
//! the socket and unmaps the rings and the UMEM — and so does the process dying, even by
//! `SIGKILL`.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::time::{Duration, Instant};

use crate::bpf::{Helper, Insn, Link, Map, MapType, Program, Reg, XdpAction, XdpMode};
use crate::caps::Feature;
use crate::error::{Error, Result};
use crate::rx::{Coalesce, Receive, RxStats, Wait};
use crate::sys::xdp::{self as sys, FillRing, RingKind, RxRing, Umem};
use crate::tally::Tally;

mod defer;
use defer::NapiDefer;

/// Configuration of an [`XskRx`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct XskConfig {
    /// UMEM frames (buffers the kernel can write into): the method's buffer size. Any number
    /// ≥ 2; the UMEM is `frames × frame_size` bytes.
    pub frames: u32,
    /// Bytes per UMEM frame: a power of two from 2048 to the page size (a frame must fit).
    pub frame_size: u32,
    /// Fill ring entries (power of two).
    pub fill_size: u32,
    /// Rx ring entries (power of two).
    pub rx_size: u32,
    /// Frames handled per ring pass (and recycled to the fill ring at once), ≥ 1.
    pub batch: u32,
    /// What to do when the rx ring is empty.
    pub wait: Wait,
    /// Where the redirect program runs; `None`: native where the driver has it, else generic
    /// ([`Link::attach_xdp_with`]).
    pub mode: Option<XdpMode>,
    /// How the socket binds; `None`: zero-copy where the driver offers it (and the program runs
    /// natively), else copy. `Some(BindMode::ZeroCopy)` on a driver without it is
    /// [`Error::Unsupported`] with the kernel's answer.
    pub bind: Option<BindMode>,
    /// Switch the thread that opens the receiver to `SCHED_BATCH`, so that frames arriving
    /// wake it without preempting the NAPI thread that delivers them when both share a core
    /// (see the module docs). The thread keeps that policy after the receiver is dropped.
    /// Only with [`Wait::Poll`]: a spinning receiver never sleeps, so it is never woken.
    #[doc(alias = "SCHED_BATCH")]
    pub sched_batch: bool,
    /// With [`Wait::Poll`]: how long a frame may wait, from reaching the interface's queue to
    /// the receiver seeing it, while frames keep coming (see the module docs). Half of it goes
    /// to the interface's NAPI, which waits for frames to gather (`napi_defer_hard_irqs`,
    /// `gro_flush_timeout`, set while the receiver is open and restored when it closes), half
    /// to the receiver, which sleeps between drains instead of being woken by every NAPI
    /// flush ([`Coalesce`]). Zero: neither; the receiver waits in `poll(2)` after every drain.
    /// At most [`MAX_DELAY_LIMIT`].
    ///
    /// The two NAPI knobs are the whole device's (every queue), written through a sysfs mounted
    /// in a private mount namespace: opening needs `CAP_SYS_ADMIN` as well, unless this is zero.
    #[doc(alias = "gro_flush_timeout")]
    #[doc(alias = "napi_defer_hard_irqs")]
    pub max_delay: Duration,
}

/// The default [`XskConfig::max_delay`]: the block timeout libpcap's TPACKET_V3 ring retires
/// a partly filled block after (and `afpacket`'s default), so `fastnet:3` holds frames back
/// no longer than `pcap` does.
pub const DEFAULT_MAX_DELAY: Duration = Duration::from_millis(10);

/// The largest [`XskConfig::max_delay`].
pub const MAX_DELAY_LIMIT: Duration = Duration::from_secs(1);

/// UMEM frames of [`XskConfig::default`]: enough for the receiver to be away for a scheduler
/// slice at several Mpps (see the module docs).
pub const DEFAULT_FRAMES: u32 = 16_384;

impl Default for XskConfig {
    /// [`DEFAULT_FRAMES`] frames of 2048 bytes (32 MiB), fill and rx rings as large (every
    /// frame can be in flight), batches of 256, poll as a `SCHED_BATCH` thread.
    fn default() -> Self {
        Self::for_frames(DEFAULT_FRAMES)
    }
}

impl XskConfig {
    /// `frames` UMEM frames of 2048 bytes, fill and rx rings big enough to hold every frame
    /// (the next power of two), batches of 256, poll as a `SCHED_BATCH` thread coalescing
    /// wake-ups over [`DEFAULT_MAX_DELAY`]; native XDP and zero-copy where offered.
    /// A UMEM frame that cannot be on the fill ring is a buffer the kernel cannot use.
    pub fn for_frames(frames: u32) -> Self {
        let ring = frames.checked_next_power_of_two().unwrap_or(1 << 31).min(1 << 20);
        Self {
            frames,
            frame_size: 2048,
            fill_size: ring,
            rx_size: ring,
            batch: 256,
            wait: Wait::Poll,
            mode: None,
            bind: None,
            sched_batch: true,
            max_delay: DEFAULT_MAX_DELAY,
        }
    }

    /// Checks the settings as [`XskRx::open`] does, without opening anything.
    pub fn validate(&self) -> Result<()> {
        let bad = |what, why: String| Err(Error::InvalidConfig { what, why });
        let page = u32::try_from(crate::sys::packet::page_size()).unwrap_or(u32::MAX);
        if !self.frame_size.is_power_of_two() || !(2048..=page).contains(&self.frame_size) {
            return bad(
                "AF_XDP frame size",
                format!("{} is not a power of two from 2048 to {page}", self.frame_size),
            );
        }
        if self.frames < 2 {
            return bad("AF_XDP UMEM frames", format!("{} frames: need at least 2", self.frames));
        }
        if (self.frames as u64) * (self.frame_size as u64) > (1u64 << 32) {
            return bad(
                "AF_XDP UMEM frames",
                format!("{} × {} bytes is more than 4 GiB", self.frames, self.frame_size),
            );
        }
        for (what, n) in
            [("AF_XDP fill ring size", self.fill_size), ("AF_XDP rx ring size", self.rx_size)]
        {
            if !n.is_power_of_two() || n > 1 << 20 {
                return bad(what, format!("{n} is not a power of two up to 1048576"));
            }
        }
        if self.batch == 0 {
            return bad("AF_XDP batch", "0: must be at least 1".into());
        }
        if self.max_delay > MAX_DELAY_LIMIT {
            return bad(
                "AF_XDP max delay",
                format!("{:?} is more than {MAX_DELAY_LIMIT:?}", self.max_delay),
            );
        }
        Ok(())
    }
}

pub use crate::caps::BindMode;

/// The `sxdp_flags` of a bind in `mode`.
fn bind_flags(mode: BindMode) -> u16 {
    match mode {
        BindMode::ZeroCopy => libc::XDP_ZEROCOPY | libc::XDP_USE_NEED_WAKEUP,
        BindMode::Copy => libc::XDP_COPY,
    }
}

/// Every counter of `XDP_STATISTICS` (`struct xdp_statistics`), cumulative since the socket
/// was created.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
#[doc(alias = "xdp_statistics")]
pub struct XskStats {
    /// Frames dropped for reasons other than a full rx ring — a frame larger than a UMEM
    /// frame, or no free frame (fill ring empty).
    pub rx_dropped: u64,
    /// Invalid descriptors on the rx side.
    pub rx_invalid_descs: u64,
    /// Invalid descriptors on the tx side.
    pub tx_invalid_descs: u64,
    /// Frames dropped because the rx ring was full.
    pub rx_ring_full: u64,
    /// Times the kernel found the fill ring empty (each such frame is also in `rx_dropped`).
    pub rx_fill_ring_empty_descs: u64,
    /// Times the tx ring was empty when the kernel looked.
    pub tx_ring_empty_descs: u64,
}

/// The redirect program: every frame of queue `i` goes to the socket at XSKMAP index `i`, or to
/// the stack when there is none.
fn redirect_program(xsks: &Map) -> Vec<Insn> {
    let mut insns = vec![Insn::load(
        crate::bpf::Size::W,
        Reg::R2,
        Reg::R1,
        crate::bpf::insn::xdp_md::RX_QUEUE_INDEX,
    )];
    insns.extend(xsks.load_into(Reg::R1));
    insns.extend([
        Insn::mov64_imm(Reg::R3, XdpAction::Pass as i32),
        Insn::call(Helper::RedirectMap),
        Insn::exit(),
    ]);
    insns
}

/// Binds in `mode`. A queue stays busy for a moment after its previous socket closed (the
/// kernel releases the buffer pool from a work queue), so `EBUSY` is retried for up to
/// [`BIND_BUSY_RETRY`].
fn bind_when_free(
    fd: BorrowedFd<'_>,
    ifindex: u32,
    queue: u32,
    mode: BindMode,
) -> Result<(), crate::SyscallError> {
    let deadline = Instant::now() + BIND_BUSY_RETRY;
    loop {
        match sys::bind(fd, ifindex, queue, bind_flags(mode)) {
            Err(e) if e.raw_os_error() == Some(libc::EBUSY) && Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(2));
            }
            other => return other,
        }
    }
}

/// Binds per `want` (see [`XskConfig::bind`]) once the program is attached in `xdp`: zero-copy
/// first unless copy is asked for, and copy when zero-copy is not required and not to be had.
/// Returns the mode bound.
fn bind(
    fd: BorrowedFd<'_>,
    ifname: &str,
    ifindex: u32,
    queue: u32,
    want: Option<BindMode>,
    xdp: XdpMode,
) -> Result<BindMode> {
    let required = want == Some(BindMode::ZeroCopy);
    let unsupported = |why: String| Error::Unsupported { feature: "XDP_ZEROCOPY", why };
    // Why zero-copy is not to be had (`None`: copy was asked for).
    let why_not = if want == Some(BindMode::Copy) {
        None
    } else if let Err(e) = Feature::ZeroCopy.check_not_forced_off() {
        Some(e)
    } else if xdp != XdpMode::Native {
        Some(unsupported(format!(
            "it needs native XDP, and the program runs on {ifname} in {xdp} mode"
        )))
    } else {
        match bind_when_free(fd, ifindex, queue, BindMode::ZeroCopy) {
            Ok(()) => return Ok(BindMode::ZeroCopy),
            Err(e) if e.raw_os_error() == Some(libc::EOPNOTSUPP) => {
                Some(unsupported(format!("{ifname} queue {queue}: {e}")))
            }
            // A queue in use or out of range is the same in copy mode: say so from there.
            Err(e) if !required => Some(e.into()),
            Err(e) => return Err(bind_error(e, ifname, queue)),
        }
    };
    if let Some(e) = why_not.filter(|_| required) {
        return Err(e);
    }
    bind_when_free(fd, ifindex, queue, BindMode::Copy).map_err(|e| bind_error(e, ifname, queue))?;
    Ok(BindMode::Copy)
}

/// A failed `bind`, in the words of the queue at fault.
fn bind_error(e: crate::SyscallError, ifname: &str, queue: u32) -> Error {
    match e.raw_os_error() {
        Some(libc::EINVAL) => Error::InvalidConfig {
            what: "AF_XDP queue",
            why: format!("{ifname} has no rx queue {queue} ({e})"),
        },
        Some(libc::EBUSY) => Error::InvalidConfig {
            what: "AF_XDP queue",
            why: format!("queue {queue} of {ifname} already has an AF_XDP socket ({e})"),
        },
        _ => e.into(),
    }
}

/// How long [`XskRx::open`] retries a busy queue.
pub const BIND_BUSY_RETRY: Duration = Duration::from_secs(1);

/// An AF_XDP socket receiving on one queue of one interface (`fastnet:3`).
#[derive(Debug)]
pub struct XskRx {
    // Field order is drop order: detach the program first, then close the socket, then unmap
    // the rings and the UMEM.
    link: Link,
    _program: Program,
    _xsks: Map,
    socket: OwnedFd,
    rx: RxRing,
    fill: FillRing,
    umem: Umem,
    /// Frames owned by userspace, waiting to go back on the fill ring.
    free: Vec<u64>,
    config: XskConfig,
    /// How the socket is bound.
    bind: BindMode,
    /// Frames taken from the rx ring since open.
    delivered: u64,
    /// When to sleep instead of polling (half of [`XskConfig::max_delay`]).
    coalesce: Coalesce,
    /// The interface's NAPI deferral (the other half), when `max_delay` is not zero.
    defer: Option<NapiDefer>,
}

impl XskRx {
    /// Opens an AF_XDP socket on queue `queue` of `ifname` (in the calling thread's namespace)
    /// and attaches the redirect program; with [`XskConfig::sched_batch`] and [`Wait::Poll`],
    /// the calling thread becomes `SCHED_BATCH` — open it on the thread that receives. Fails
    /// with `EBUSY` when the interface already has an XDP program in that mode;
    /// [`XskRx::xdp_mode`] and [`XskRx::bind_mode`] say what the defaults chose.
    pub fn open(ifname: &str, queue: u32, config: &XskConfig) -> Result<Self> {
        config.validate()?;
        let ifindex = crate::ifindex(ifname)?;
        if config.sched_batch && config.wait == Wait::Poll {
            crate::sys::sched::set_batch_policy()?;
        }
        let socket = socket()?;
        let fd = socket.as_fd();
        let umem_len = config.frames as usize * config.frame_size as usize;
        let umem = Umem::new(umem_len)?;
        sys::register_umem(fd, umem.mmap(), config.frame_size, 0)?;
        sys::set_ring_size(fd, RingKind::Fill, config.fill_size)?;
        // Receive-only, but bind refuses a UMEM without a completion ring.
        sys::set_ring_size(fd, RingKind::Completion, 32)?;
        sys::set_ring_size(fd, RingKind::Rx, config.rx_size)?;
        let offsets = sys::mmap_offsets(fd)?;
        let rx = RxRing::map(fd, &offsets, config.rx_size)?;
        let mut fill = FillRing::map(fd, &offsets, config.fill_size)?;
        let mut free: Vec<u64> =
            (0..config.frames as u64).rev().map(|i| i * config.frame_size as u64).collect();
        fill.give(&mut free);
        // The program first (over an empty map, so frames still pass to the stack): whether it
        // runs natively decides whether zero-copy can be had.
        let xsks = Map::create(MapType::XskMap, 4, queue + 1, "xsks")?;
        let program = Program::load_xdp(&redirect_program(&xsks), "xsk_redirect")?;
        let link = Link::attach_xdp_with(&program, ifindex, config.mode)?;
        let bind = bind(fd, ifname, ifindex, queue, config.bind, link.mode())?;
        xsks.set_u32(queue, socket.as_raw_fd() as u32)?;
        let coalescing = config.wait == Wait::Poll && !config.max_delay.is_zero();
        let defer = if coalescing { Some(NapiDefer::open(ifname)?) } else { None };
        Ok(Self {
            link,
            _program: program,
            _xsks: xsks,
            socket,
            rx,
            fill,
            umem,
            free,
            config: *config,
            bind,
            delivered: 0,
            coalesce: Coalesce::new(
                if coalescing { config.max_delay / 2 } else { Duration::ZERO },
                config.rx_size.min(config.frames),
            ),
            defer,
        })
    }

    /// The configuration it was opened with.
    pub fn config(&self) -> &XskConfig {
        &self.config
    }

    /// The link holding the redirect program on the interface.
    pub fn link(&self) -> &Link {
        &self.link
    }

    /// Where the redirect program runs: native, or generic on a driver without native XDP.
    pub fn xdp_mode(&self) -> XdpMode {
        self.link.mode()
    }

    /// How the socket is bound: zero-copy where the driver offers it, else copy.
    pub fn bind_mode(&self) -> BindMode {
        self.bind
    }

    /// In zero-copy mode, when the driver waits for a system call before it takes frames from
    /// the fill ring again (`XDP_RING_NEED_WAKEUP`), makes one.
    #[inline]
    fn wake_if_needed(&self) -> Result<()> {
        if self.bind == BindMode::ZeroCopy && self.fill.needs_wakeup() {
            sys::wake_rx(self.socket.as_fd())?;
        }
        Ok(())
    }

    /// All of `XDP_STATISTICS`.
    #[doc(alias = "XDP_STATISTICS")]
    pub fn xdp_statistics(&self) -> Result<XskStats> {
        let s = sys::statistics(self.socket.as_fd())?;
        Ok(XskStats {
            rx_dropped: s.rx_dropped,
            rx_invalid_descs: s.rx_invalid_descs,
            tx_invalid_descs: s.tx_invalid_descs,
            rx_ring_full: s.rx_ring_full,
            rx_fill_ring_empty_descs: s.rx_fill_ring_empty_descs,
            tx_ring_empty_descs: s.tx_ring_empty_descs,
        })
    }

    /// Frames taken from the rx ring since open.
    pub fn delivered(&self) -> u64 {
        self.delivered
    }

    /// Handles one batch that is ready: `do_something` on each frame in place, then the
    /// frames go back to the fill ring. Returns how many.
    #[inline]
    fn drain_batch(&mut self, tally: &mut Tally) -> usize {
        let n = self.rx.ready(self.config.batch);
        if n == 0 {
            return 0;
        }
        // frame_size is a power of two (validated): masking finds a frame's chunk.
        let chunk_mask = !(u64::from(self.config.frame_size) - 1);
        for i in 0..n {
            let desc = self.rx.desc(i);
            // A descriptor outside the UMEM would be a kernel bug; count it, never read it.
            match self.umem.frame(desc) {
                Some(frame) => tally.do_something(frame),
                None => tally.frames += 1,
            }
            // The frame starts at the chunk's start (no headroom): recycle the chunk address.
            self.free.push(desc.addr & chunk_mask);
        }
        self.rx.release(n);
        self.fill.give(&mut self.free);
        self.delivered += u64::from(n);
        n as usize
    }

    /// Receives what is ready (waiting per [`XskConfig::wait`] and [`XskConfig::max_delay`],
    /// at most about `timeout`), runs `tally.do_something` on every frame, and returns the
    /// number of frames handled (0 on timeout). Handles at most one batch per ready check, and
    /// keeps going while frames are ready, up to the rx ring's size per call.
    pub fn receive(&mut self, tally: &mut Tally, timeout: Duration) -> Result<usize> {
        let mut got = self.drain_batch(tally);
        if got == 0 {
            // The frames just recycled may be what the driver waits for.
            self.wake_if_needed()?;
            let deadline = Instant::now() + timeout;
            if let Some(nap) = self.coalesce.nap() {
                std::thread::sleep(nap.min(timeout));
                got = self.drain_batch(tally);
                if got == 0 {
                    self.coalesce.idle();
                }
            }
            while got == 0 {
                match self.config.wait {
                    Wait::Busy => {
                        for _ in 0..256 {
                            std::hint::spin_loop();
                            got = self.drain_batch(tally);
                            if got > 0 {
                                break;
                            }
                        }
                        if got == 0 {
                            self.wake_if_needed()?;
                        }
                    }
                    Wait::Poll => {
                        let left = deadline.saturating_duration_since(Instant::now());
                        crate::poll::wait_readable(self.socket.as_fd(), left)?;
                        got = self.drain_batch(tally);
                    }
                }
                if Instant::now() >= deadline {
                    break;
                }
            }
        }
        while got > 0 && got < self.config.rx_size as usize {
            let more = self.drain_batch(tally);
            if more == 0 {
                break;
            }
            got += more;
        }
        if got > 0 {
            self.coalesce.drained(got, Instant::now());
            if let Some(defer) = &mut self.defer {
                // Long enough for defer::QUEUE_FRAMES frames to gather at the rate seen, no
                // longer than the NAPI's half of the budget.
                let rate = self.coalesce.rate();
                let want = if rate > 0.0 {
                    Duration::try_from_secs_f64(f64::from(defer::QUEUE_FRAMES) / rate)
                        .unwrap_or(Duration::MAX)
                        .min(self.config.max_delay / 2)
                } else {
                    Duration::ZERO
                };
                defer.retune(want)?;
            }
        }
        Ok(got)
    }

    /// The longest a frame waits, from the interface's queue to the receiver, because of the
    /// wait policy: [`XskConfig::max_delay`] when polling, zero when spinning.
    pub fn delay_bound(&self) -> Duration {
        match self.defer {
            Some(_) => self.config.max_delay,
            None => self.coalesce.delay_bound(),
        }
    }

    /// The interface's `gro_flush_timeout` as this receiver set it last (`None` when it does
    /// not defer NAPI: [`XskConfig::max_delay`] zero, or spinning).
    pub fn napi_timeout(&self) -> Option<Duration> {
        self.defer.as_ref().map(NapiDefer::timeout)
    }

    /// Kernel-side counters, mapped onto the common shape: `packets` = frames taken from the
    /// ring + `drops`; `drops` = `rx_dropped` + `rx_ring_full`; `freeze_q` = times the fill
    /// ring was empty (the UMEM analogue of a frozen ring). The whole set is
    /// [`XskRx::xdp_statistics`].
    pub fn kernel_stats(&mut self) -> Result<RxStats> {
        let s = self.xdp_statistics()?;
        let drops = s.rx_dropped + s.rx_ring_full;
        Ok(RxStats { packets: self.delivered + drops, drops, freeze_q: s.rx_fill_ring_empty_descs })
    }
}

impl AsFd for XskRx {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.socket.as_fd()
    }
}

impl Receive for XskRx {
    fn receive(&mut self, tally: &mut Tally, timeout: Duration) -> Result<usize> {
        XskRx::receive(self, tally, timeout)
    }

    fn kernel_stats(&mut self) -> Result<RxStats> {
        XskRx::kernel_stats(self)
    }

    fn delay_bound(&self) -> Option<Duration> {
        Some(XskRx::delay_bound(self))
    }

    fn xdp_mode(&self) -> Option<XdpMode> {
        Some(XskRx::xdp_mode(self))
    }

    fn xsk_bind(&self) -> Option<BindMode> {
        Some(self.bind)
    }
}

/// Creates (and closes) an AF_XDP socket: proves the kernel has `CONFIG_XDP_SOCKETS` and this
/// process may use it. For `netlab doctor`.
pub fn probe_socket() -> Result<()> {
    socket().map(drop)
}

/// A new AF_XDP socket; a kernel without them is [`Error::Unsupported`].
fn socket() -> Result<OwnedFd> {
    sys::socket().map_err(|e| match e.raw_os_error() {
        Some(libc::EAFNOSUPPORT) => Error::Unsupported {
            feature: "AF_XDP",
            why: format!("{e} (kernel without CONFIG_XDP_SOCKETS)"),
        },
        _ => e.into(),
    })
}

#[cfg(test)]
mod tests;
