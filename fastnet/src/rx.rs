//! What every receive method has in common: wait for frames, run
//! [`Tally::do_something`](crate::Tally::do_something) on each, report the kernel's own counters.
//!
//! Implemented by [`afpacket::ReadRx`](crate::afpacket::ReadRx),
//! [`afpacket::MmsgRx`](crate::afpacket::MmsgRx) and [`afpacket::RingRx`](crate::afpacket::RingRx)
//! (and by the AF_XDP receiver), so a lab drives them all the same way.

use std::time::Duration;

/// How a receiver waits when no frame is ready.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Wait {
    /// Spin on non-blocking calls (or on the ring's status word) until a frame arrives or the
    /// timeout passes: lowest latency, one core at 100 %.
    Busy,
    /// Sleep in `poll(2)` until the socket is readable or the timeout passes.
    #[default]
    #[doc(alias = "poll")]
    Poll,
}

/// Counters the kernel keeps for one socket or ring, cumulative since it was opened.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
#[doc(alias = "tpacket_stats_v3")]
#[doc(alias = "PACKET_STATISTICS")]
#[doc(alias = "XDP_STATISTICS")]
pub struct RxStats {
    /// Frames that reached the socket: delivered plus dropped (`tp_packets`, which the kernel
    /// reports with `tp_drops` already added).
    pub packets: u64,
    /// Frames the socket dropped for lack of room: receive buffer or ring full (`tp_drops`).
    pub drops: u64,
    /// How often a TPACKET_V3 ring froze because user space held every block
    /// (`tp_freeze_q_cnt`); 0 for other methods.
    pub freeze_q: u64,
}

/// A receive method: a socket or ring bound to one interface.
pub trait Receive: Send {
    /// Receives what is ready (waiting per [`Wait`], at most about `timeout`), runs
    /// `tally.do_something` on every frame, and returns the number of frames handled (0 on
    /// timeout).
    fn receive(&mut self, tally: &mut crate::Tally, timeout: Duration) -> crate::Result<usize>;

    /// Kernel-side counters of this socket or ring, cumulative since it was opened.
    fn kernel_stats(&mut self) -> crate::Result<RxStats>;
}
