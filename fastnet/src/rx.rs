//! What every receive method has in common: wait for frames, run
//! [`Tally::do_something`](crate::Tally::do_something) on each, report the kernel's own counters.
//!
//! Implemented by [`afpacket::ReadRx`](crate::afpacket::ReadRx),
//! [`afpacket::MmsgRx`](crate::afpacket::MmsgRx) and [`afpacket::RingRx`](crate::afpacket::RingRx)
//! (and by the AF_XDP receiver), so a lab drives them all the same way.

use std::time::{Duration, Instant};

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

/// Coalesced waiting, for a receiver that sleeps when idle and whose wake-ups the kernel pays
/// for (AF_XDP: the NAPI poll that fills the ring wakes a receiver waiting in `poll(2)` at
/// every flush, on the core it shares with that receiver).
///
/// While frames keep coming, a receiver that found its ring empty right after a drain does not
/// wait in `poll(2)` for the next frame: it sleeps for up to `max_delay` and then takes
/// everything that gathered meanwhile. Nobody waits on the socket while it sleeps, so the
/// kernel wakes no one; the receiver runs once per `max_delay` instead of once per flush.
/// When a drain after such a nap finds nothing (the traffic stopped), it waits in `poll(2)`
/// as usual, so the first frame after a quiet spell is seen at once.
///
/// The nap is shortened so that the frames expected meanwhile (at the rate of the last
/// drains) fill at most half of the ring (`room`); a nap shorter than [`Coalesce::MIN_NAP`] is
/// not taken (the flow is a flood: the ring is never empty for long, and `poll(2)` costs
/// nothing then). A frame therefore waits in the ring at most `max_delay` (plus the
/// scheduler's wake-up latency) before the receiver sees it: [`Coalesce::delay_bound`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Coalesce {
    max_delay: Duration,
    room: u32,
    /// When the last drain that found frames ended.
    last_drain: Option<Instant>,
    /// Arrival rate seen by the last drains, frames per second.
    rate: f64,
}

impl Coalesce {
    /// Naps shorter than this are not taken: the receiver waits in `poll(2)` instead.
    pub const MIN_NAP: Duration = Duration::from_micros(50);

    /// A policy napping up to `max_delay` (zero: never) with a ring of `room` frames.
    pub fn new(max_delay: Duration, room: u32) -> Self {
        Self { max_delay, room, last_drain: None, rate: 0.0 }
    }

    /// The longest a frame can wait in the ring because of this policy (`max_delay`).
    pub fn delay_bound(&self) -> Duration {
        self.max_delay
    }

    /// The arrival rate the last drains saw, frames per second; 0 while not known (before two
    /// drains in a row found frames).
    pub fn rate(&self) -> f64 {
        self.rate
    }

    /// Records a drain of `frames` (> 0) that ended at `now`.
    pub fn drained(&mut self, frames: usize, now: Instant) {
        if let Some(last) = self.last_drain {
            let span = now.saturating_duration_since(last).as_secs_f64();
            if span > 0.0 {
                self.rate = frames as f64 / span;
            }
        }
        self.last_drain = Some(now);
    }

    /// Records a drain that found nothing after a nap: the flow stopped, wait for the next
    /// frame in `poll(2)` until a drain finds frames again.
    pub fn idle(&mut self) {
        self.last_drain = None;
        self.rate = 0.0;
    }

    /// How long to sleep now that the ring is empty, or `None` to wait in `poll(2)`.
    pub fn nap(&self) -> Option<Duration> {
        self.last_drain?;
        let mut nap = self.max_delay;
        if self.rate > 0.0 {
            let fill_half = Duration::try_from_secs_f64(f64::from(self.room / 2) / self.rate)
                .unwrap_or(Duration::MAX);
            nap = nap.min(fill_half);
        }
        (nap >= Self::MIN_NAP).then_some(nap)
    }
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

    /// The longest a frame can wait, once in the socket or ring, before the receiver's wait
    /// policy lets it see it (a ring's block timeout, a coalescing budget); `None` when the
    /// method does not say.
    fn delay_bound(&self) -> Option<Duration> {
        None
    }

    /// Where its XDP program runs (native, or generic on a driver without native XDP); `None`
    /// for a method without one.
    fn xdp_mode(&self) -> Option<crate::caps::XdpMode> {
        None
    }

    /// How its `AF_XDP` socket is bound (zero-copy or copy); `None` for a method without one.
    fn xsk_bind(&self) -> Option<crate::caps::BindMode> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn coalesce_polls_until_frames_flow_then_naps_up_to_the_budget() {
        let t0 = Instant::now();
        let mut c = Coalesce::new(10 * MS, 16_384);
        assert_eq!(c.nap(), None, "idle: wait in poll for the first frame");
        c.drained(1, t0);
        assert_eq!(c.nap(), Some(10 * MS), "rate unknown yet: the whole budget");
        // 100 frames in 10 ms (10 kpps): half the ring takes far longer than the budget.
        c.drained(100, t0 + 10 * MS);
        assert_eq!(c.nap(), Some(10 * MS));
        c.idle();
        assert_eq!(c.nap(), None, "the flow stopped: poll again");
        assert_eq!(c.delay_bound(), 10 * MS);
    }

    #[test]
    fn coalesce_naps_no_longer_than_half_the_ring_takes_to_fill() {
        let t0 = Instant::now();
        let mut c = Coalesce::new(10 * MS, 16_384);
        c.drained(1, t0);
        // 8 000 frames in 4 ms: 2 Mpps fills 8 192 slots in 4.096 ms.
        c.drained(8_000, t0 + 4 * MS);
        assert_eq!(c.nap(), Some(Duration::from_micros(4096)));
        // A flood (1 000 Mpps): the nap would be under MIN_NAP, so poll.
        c.drained(1_000_000, t0 + 5 * MS);
        assert_eq!(c.nap(), None);
    }

    #[test]
    fn coalesce_with_no_budget_never_naps() {
        let t0 = Instant::now();
        let mut c = Coalesce::new(Duration::ZERO, 16_384);
        c.drained(10, t0);
        c.drained(10, t0 + MS);
        assert_eq!(c.nap(), None);
        assert_eq!(c.delay_bound(), Duration::ZERO);
    }
}
