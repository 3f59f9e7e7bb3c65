//! The send schedule: when frame number `k` of a replay is due, and which frames a batch may hold.
//!
//! # The schedule is absolute
//! Frame `k` is due at `origin + due_ns(k)`, where `origin` is a CLOCK_MONOTONIC instant in
//! nanoseconds and `due_ns(k)` is computed from `k` alone with integer arithmetic in `u128`
//! (`k · 10⁹ / rate`, never a running sum): however long a replay runs, the schedule cannot drift
//! and cannot overflow (`u64` nanoseconds last 584 years; beyond that `due_ns` saturates).
//!
//! # Batches hold only frames that are due
//! [`Pacer::next_batch`] waits until the next frame is due — sleeping, then spinning for the last
//! [`SPIN_NS`], because a sleep on this machine kind overshoots by 70–90 µs (p50–p99) and by
//! milliseconds now and then — and returns the frames whose time has come, at most `batch` of
//! them. At a paced rate a batch is therefore as large as the frames that fell due while the
//! previous one was sent; at top speed it is always `batch`.
//!
//! # Late frames: bounded catch-up, the schedule slips
//! When the sender falls behind (a stall, a slow call, preemption), the frames that are due go out
//! at once, but never more than `burst` of them back to back (default: one batch). If more are
//! due, the schedule *slips*: the origin moves forward so that the last frame of the burst is
//! due now and the next one a normal gap later. Nothing is dropped — `--limit N` still sends N
//! frames and `--pps R --duration D` still sends R×D — the run just ends later by the slip, which
//! is reported. (tcpreplay instead sends everything it missed in one unbounded burst.)
//!
//! # Ends
//! A replay ends after `limit` frames, after `loops` passes over the file, or — at a paced rate —
//! with the last frame whose scheduled time is before `duration`: `--pps 1 --duration 10s` sends
//! exactly the frames due at 0 s, 1 s, …, 9 s. At top speed `duration` is wall-clock time.
//!
//! # Loop delays
//! `--loopdelay-ms` shifts every later pass over the file by the delay; the rate within a pass is
//! unchanged and the delay is not made up afterwards. The delays count toward `duration`.

use std::time::Duration;
#[cfg(doc)]
use std::time::Instant;

/// Below this distance to a deadline the sender spins instead of sleeping. Measured on this
/// machine kind: `nanosleep` overshoots by ~75 µs (p50) to ~90 µs (p99) with the default 50 µs
/// timer slack, with rare outliers in the milliseconds; 200 µs leaves room for the p99.
pub const SPIN_NS: u64 = 200_000;

/// The longest single sleep, so a stop request is seen within this time.
const MAX_SLEEP_NS: u64 = 20_000_000;

/// A frame counts as late when it leaves more than this after its scheduled time.
pub const LATE_AFTER_NS: u64 = 100_000;

const NS_PER_SEC: u128 = 1_000_000_000;

/// How frames are spaced in time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Pace {
    /// As fast as the engine goes.
    TopSpeed,
    /// A fixed frame rate, in frames per 1000 seconds (so `0.5` pps is expressible exactly).
    MilliPps(u64),
    /// A fixed L2 bit rate (frame bytes without FCS × 8, as tcpreplay counts), bits per second.
    L2BitsPerSec(u64),
    /// The file's own timing, sped up by `micros / 10⁶` (`-x 2` is 2 000 000).
    MultiplierMicros(u64),
}

impl Pace {
    /// Whether frames have a scheduled time (everything but top speed).
    pub fn is_paced(self) -> bool {
        !matches!(self, Pace::TopSpeed)
    }
}

/// The frames of one pass over the file, as the schedule needs them: lengths (for bit rates) and
/// capture timestamps (for the multiplier).
#[derive(Debug, Clone)]
pub struct Timeline {
    /// Bits sent before frame `i` of a pass (frame bytes × 8), `frames + 1` entries.
    prefix_bits: Vec<u128>,
    /// Offset of frame `i` from the first frame's capture time, ns, never decreasing.
    offsets_ns: Vec<u64>,
}

impl Timeline {
    /// Builds the timeline from each frame's length in bytes and capture time in ns. Timestamps
    /// that go backwards are clamped to the previous one (the file's order is the send order).
    /// `frames` must not be empty.
    pub fn new(frames: impl IntoIterator<Item = (usize, u64)>) -> Self {
        let mut prefix_bits = vec![0u128];
        let mut offsets_ns = Vec::new();
        let mut first_ts = None;
        let mut last = 0u64;
        for (len, ts) in frames {
            let bits = prefix_bits.last().copied().unwrap_or(0) + 8 * len as u128;
            prefix_bits.push(bits);
            let first = *first_ts.get_or_insert(ts);
            last = last.max(ts.saturating_sub(first));
            offsets_ns.push(last);
        }
        Self { prefix_bits, offsets_ns }
    }

    /// Frames per pass.
    pub fn len(&self) -> u64 {
        self.offsets_ns.len() as u64
    }

    /// Whether there are no frames.
    pub fn is_empty(&self) -> bool {
        self.offsets_ns.is_empty()
    }

    /// Time from the first frame to the last one of a pass, ns (0 for a single frame).
    pub fn span_ns(&self) -> u64 {
        self.offsets_ns.last().copied().unwrap_or(0)
    }
}

/// When each frame of a replay is due and when the replay ends; pure arithmetic, no clock.
#[derive(Debug, Clone)]
pub struct Schedule {
    pace: Pace,
    timeline: Timeline,
    /// Frames in the whole replay (`--limit`, `--loop`), `None` = unbounded.
    total: Option<u64>,
    /// `--duration`, ns.
    duration_ns: Option<u64>,
    /// `--loopdelay-ms`, ns, before every pass but the first.
    loop_delay_ns: u64,
}

impl Schedule {
    /// A schedule over `timeline` (one pass over the file). `loops` = 0 repeats forever.
    ///
    /// `timeline` must not be empty and a rate must not be zero; the command line checks both.
    pub fn new(
        pace: Pace,
        timeline: Timeline,
        loops: u64,
        limit: Option<u64>,
        duration: Option<Duration>,
        loop_delay: Duration,
    ) -> Self {
        let per_loop = timeline.len();
        let by_loops = (loops > 0).then(|| loops.saturating_mul(per_loop));
        let total = match (by_loops, limit) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let to_ns = |d: Duration| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        Self {
            pace,
            timeline,
            total,
            duration_ns: duration.map(to_ns),
            loop_delay_ns: to_ns(loop_delay),
        }
    }

    /// How frames are spaced.
    pub fn pace(&self) -> Pace {
        self.pace
    }

    /// Frames per pass over the file.
    pub fn frames_per_loop(&self) -> u64 {
        self.timeline.len()
    }

    /// The frame count fixed before the run starts (limit, loops, or a paced duration), if any.
    pub fn planned_frames(&self) -> Option<u64> {
        let by_duration = match (self.duration_ns, self.pace.is_paced()) {
            (Some(_), true) => Some(self.count_within(0, u64::MAX)),
            _ => None,
        };
        match (self.total, by_duration) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Total of the loop delays the replay will spend before frame `k`, ns.
    pub fn loop_delay_before(&self, k: u64) -> u64 {
        (k / self.timeline.len()).saturating_mul(self.loop_delay_ns)
    }

    /// When frame `k` is due, ns after the schedule's origin (0 at top speed, apart from loop
    /// delays). Exact integer arithmetic; saturates at `u64::MAX`.
    pub fn due_ns(&self, k: u64) -> u64 {
        let per_loop = self.timeline.len();
        let (pass, i) = (k / per_loop, (k % per_loop) as usize);
        let t: u128 = match self.pace {
            Pace::TopSpeed => 0,
            Pace::MilliPps(mpps) => u128::from(k) * NS_PER_SEC * 1000 / u128::from(mpps),
            Pace::L2BitsPerSec(bps) => {
                let pass_bits = self.timeline.prefix_bits[per_loop as usize];
                let bits = u128::from(pass) * pass_bits + self.timeline.prefix_bits[i];
                bits * NS_PER_SEC / u128::from(bps)
            }
            Pace::MultiplierMicros(micros) => {
                let file_ns = u128::from(pass) * u128::from(self.timeline.span_ns())
                    + u128::from(self.timeline.offsets_ns[i]);
                file_ns * 1_000_000 / u128::from(micros)
            }
        };
        let t = t + u128::from(pass) * u128::from(self.loop_delay_ns);
        u64::try_from(t).unwrap_or(u64::MAX)
    }

    /// Whether frame `k` belongs to the replay (by count, and by schedule time when paced).
    /// Monotone: true up to some `k`, false from there on.
    pub fn contains(&self, k: u64) -> bool {
        self.due_if_contained(k).is_some()
    }

    /// [`Schedule::due_ns`] of frame `k` when it belongs to the replay, `None` when not: one
    /// `due_ns` for both questions (the pacer asks them together for every frame it probes).
    fn due_if_contained(&self, k: u64) -> Option<u64> {
        if self.total.is_some_and(|t| k >= t) {
            return None;
        }
        let due = self.due_ns(k);
        match self.duration_ns {
            Some(d) if self.pace.is_paced() && due >= d => None,
            _ => Some(due),
        }
    }

    /// How many consecutive frames from `from` (at most `max`) belong to the replay.
    pub fn count_within(&self, from: u64, max: u64) -> u64 {
        count_while(from, max, |k| self.contains(k))
    }

    /// How many frames the pure schedule holds in its first `ns` nanoseconds (ignoring limits):
    /// the frames per second for `ns` = 10⁹, the frames per batch window for a minimum gap.
    /// Unbounded (`u64::MAX`) at top speed.
    pub fn frames_due_within(&self, ns: u64) -> u64 {
        if !self.pace.is_paced() {
            return u64::MAX;
        }
        count_while(0, u64::MAX / 2, |k| self.due_ns(k) < ns)
    }

    /// Wall-clock limit of a top-speed replay, ns.
    fn wall_limit_ns(&self) -> Option<u64> {
        self.duration_ns.filter(|_| !self.pace.is_paced())
    }
}

/// The number of consecutive `k` in `from..from + max` for which the monotone `pred` holds
/// (true, …, true, false, …): exponential then binary search, O(log max) calls.
fn count_while(from: u64, max: u64, pred: impl Fn(u64) -> bool) -> u64 {
    if max == 0 || !pred(from) {
        return 0;
    }
    // The answer `c` lies in [good, bad]: pred(from + i) holds for every i < good, fails at bad.
    let (mut good, mut bad) = (1u64, max);
    let mut probe = 1u64;
    while probe < max {
        if pred(from + probe) {
            good = probe + 1;
            probe = probe.saturating_mul(2);
        } else {
            bad = probe;
            break;
        }
    }
    while good < bad {
        let mid = good + (bad - good) / 2;
        if pred(from + mid) {
            good = mid + 1;
        } else {
            bad = mid;
        }
    }
    good
}

/// A source of CLOCK_MONOTONIC time in nanoseconds that can wait. The real one is
/// [`MonotonicClock`]; tests use a fake one.
pub trait Clock {
    /// Nanoseconds since an arbitrary fixed point.
    fn now_ns(&self) -> u64;
    /// Waits toward `deadline_ns`; may return early (sleeps last at most 20 ms) so the
    /// caller can check for a stop request.
    fn wait_toward(&self, deadline_ns: u64);
}

/// The real clock: CLOCK_MONOTONIC (the clock of [`Instant`] and of the kernel's
/// `bpf_ktime_get_ns`), sleep then spin.
#[derive(Debug, Clone, Copy)]
pub struct MonotonicClock {
    /// CLOCK_MONOTONIC at this clock's zero, ns.
    base_ns: u64,
}

impl MonotonicClock {
    /// A clock whose zero is now.
    pub fn new() -> Self {
        Self { base_ns: raw_monotonic_ns() }
    }

    /// CLOCK_MONOTONIC nanoseconds of this clock's time `t` (for a schedule kept in the kernel).
    pub fn to_monotonic_ns(&self, t: u64) -> u64 {
        self.base_ns.saturating_add(t)
    }
}

fn raw_monotonic_ns() -> u64 {
    fastnet::bpf::ktime_ns()
}

impl Default for MonotonicClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for MonotonicClock {
    #[inline]
    fn now_ns(&self) -> u64 {
        raw_monotonic_ns().saturating_sub(self.base_ns)
    }

    fn wait_toward(&self, deadline_ns: u64) {
        let now = self.now_ns();
        let left = deadline_ns.saturating_sub(now);
        if left > SPIN_NS {
            std::thread::sleep(Duration::from_nanos((left - SPIN_NS).min(MAX_SLEEP_NS)));
        } else {
            while self.now_ns() < deadline_ns {
                std::hint::spin_loop();
            }
        }
    }
}

/// One batch the pacer hands to the engine: frames `first .. first + count` of the replay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Batch {
    /// Number of the first frame in the replay (frame `first % frames_per_loop` of the file).
    pub first: u64,
    /// Frames in the batch (≥ 1).
    pub count: usize,
    /// How long after its scheduled time the first frame of the batch leaves, ns (0 at top
    /// speed). Measured against the schedule before any slip, so a stall shows here.
    pub late_ns: u64,
    /// Frames of this batch that leave more than [`LATE_AFTER_NS`] after their time.
    pub late_frames: u64,
}

/// Walks a [`Schedule`] against a clock: waits until frames are due, bounds catch-up bursts,
/// slips the schedule when the sender fell too far behind.
#[derive(Debug)]
pub struct Pacer<'s> {
    schedule: &'s Schedule,
    /// Absolute time of the schedule's zero (moves forward on a slip).
    origin_ns: u64,
    /// When the run started (for the top-speed wall-clock limit).
    start_ns: u64,
    next: u64,
    batch: usize,
    burst: u64,
    slipped_ns: u64,
    slips: u64,
    /// How far ahead of its first frame's time a batch is handed out, and how far beyond now
    /// its frames may be due (0: only due frames), see [`Pacer::set_ahead`].
    ahead_ns: u64,
    /// Most frames of one batch (the largest burst handed out).
    largest_batch: usize,
}

impl<'s> Pacer<'s> {
    /// A pacer whose frame 0 is due at `start_ns`; batches of at most `batch` frames, catch-up
    /// bursts of at most `burst` frames (both at least 1).
    pub fn new(schedule: &'s Schedule, start_ns: u64, batch: usize, burst: usize) -> Self {
        Self {
            schedule,
            origin_ns: start_ns,
            start_ns,
            next: 0,
            batch: batch.max(1),
            burst: burst.max(1) as u64,
            slipped_ns: 0,
            slips: 0,
            ahead_ns: 0,
            largest_batch: 0,
        }
    }

    /// Hands batches out ahead of time, for an engine that keeps the schedule itself (the xdp
    /// engine waits for each frame's time inside the kernel): a batch is handed out `ns` before
    /// its first frame is due and holds the frames due up to `ns` after it (at most `batch`).
    /// Only frames already overdue count against the burst.
    pub fn set_ahead(&mut self, ns: u64) {
        self.ahead_ns = ns;
    }

    /// Moves the rest of the schedule `ns` later: the engine slipped it (see
    /// [`Pacer::set_ahead`]).
    pub fn slip(&mut self, ns: u64) {
        if ns > 0 {
            self.origin_ns = self.origin_ns.saturating_add(ns);
            self.slipped_ns += ns;
            self.slips += 1;
        }
    }

    /// Takes back the last `n` frames handed out: the engine's target refused them (for the
    /// xdp engine, a veth whose peer's ring was full), so they did not leave. The next batch
    /// starts with them again, due right after the last frame handed out: the rest of the
    /// schedule moves later by their time (a slip), as it does when a sender waits on a
    /// refusal and retries.
    pub fn give_back(&mut self, n: u64) {
        let n = n.min(self.next);
        if n == 0 {
            return;
        }
        let end = self.next;
        self.next -= n;
        let s = self.schedule;
        self.slip(s.due_ns(end).saturating_sub(s.due_ns(self.next)));
    }

    /// Absolute time frame `k` is due (on the schedule as slipped so far), ns.
    pub fn due_at(&self, k: u64) -> u64 {
        self.origin_ns.saturating_add(self.schedule.due_ns(k))
    }

    /// Most frames handed out in one batch so far: frames that an engine hands to the kernel
    /// at once leave back to back.
    pub fn largest_batch(&self) -> usize {
        self.largest_batch
    }

    /// Frames handed out so far.
    pub fn handed_out(&self) -> u64 {
        self.next
    }

    /// How far the schedule slipped in total, ns, and how many times.
    pub fn slipped(&self) -> (u64, u64) {
        (self.slipped_ns, self.slips)
    }

    /// Waits until the next frame is due and returns the batch to send now, or `None` when the
    /// replay is over or `stop()` returned true while waiting.
    pub fn next_batch(&mut self, clock: &impl Clock, stop: impl Fn() -> bool) -> Option<Batch> {
        let s = self.schedule;
        let due = self.origin_ns.saturating_add(s.due_if_contained(self.next)?);
        let not_before = due.saturating_sub(self.ahead_ns);
        let mut now = clock.now_ns();
        while now < not_before {
            if stop() {
                return None;
            }
            clock.wait_toward(not_before);
            now = clock.now_ns();
        }
        if stop() || s.wall_limit_ns().is_some_and(|d| now.saturating_sub(self.start_ns) >= d) {
            return None;
        }
        let first = self.next;
        let origin = self.origin_ns;
        // Frame `k` belongs to the replay and is due at `t` or earlier.
        let due_by =
            |k: u64, t: u64| s.due_if_contained(k).is_some_and(|d| origin.saturating_add(d) <= t);
        let late_ns = if s.pace().is_paced() { now.saturating_sub(due) } else { 0 };
        let late_frames = if s.pace().is_paced() && late_ns > LATE_AFTER_NS {
            // Due before `now - LATE_AFTER_NS` (≥ 1: the first frame is due before it).
            let cutoff = now - LATE_AFTER_NS;
            count_while(first, self.batch as u64, |k| due_by(k, cutoff - 1))
        } else {
            0
        };
        // Frames due now (one more than the burst is enough to know it was exceeded).
        let window = self.burst.max(self.batch as u64);
        let due_now = count_while(first, window + 1, |k| due_by(k, now));
        if s.pace().is_paced() && due_now > self.burst {
            // Behind by more than one burst: move the origin so that the burst's last frame is
            // due now; the frame after it keeps its normal gap.
            let last_of_burst = s.due_ns(first + self.burst - 1);
            let new_origin = now.saturating_sub(last_of_burst);
            self.slipped_ns += new_origin.saturating_sub(self.origin_ns);
            self.slips += 1;
            self.origin_ns = new_origin;
        }
        let count = if !s.pace().is_paced() {
            due_now.min(self.batch as u64)
        } else if self.ahead_ns > 0 {
            let horizon = now.saturating_add(self.ahead_ns);
            let origin = self.origin_ns;
            // One pass at most when passes are apart: the engine spreads a batch evenly.
            let max = match s.loop_delay_ns {
                0 => self.batch as u64,
                _ => (self.batch as u64).min(s.frames_per_loop() - first % s.frames_per_loop()),
            };
            count_while(first, max, |k| {
                s.due_if_contained(k).is_some_and(|d| origin.saturating_add(d) <= horizon)
            })
        } else {
            due_now.min(self.burst).min(self.batch as u64)
        }
        .max(1);
        self.next += count;
        self.largest_batch = self.largest_batch.max(count as usize);
        Some(Batch { first, count: count as usize, late_ns, late_frames: late_frames.min(count) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    /// A clock that only moves when told: waiting jumps straight to the deadline.
    struct FakeClock {
        now: Cell<u64>,
    }

    impl FakeClock {
        fn at(ns: u64) -> Self {
            Self { now: Cell::new(ns) }
        }
        fn advance(&self, ns: u64) {
            self.now.set(self.now.get() + ns);
        }
    }

    impl Clock for FakeClock {
        fn now_ns(&self) -> u64 {
            self.now.get()
        }
        fn wait_toward(&self, deadline_ns: u64) {
            self.now.set(self.now.get().max(deadline_ns));
        }
    }

    fn one_frame(len: usize) -> Timeline {
        Timeline::new([(len, 0)])
    }

    fn never() -> bool {
        false
    }

    /// Runs the pacer to the end; every send costs `cost_ns` per batch. Returns the batches.
    fn drain(schedule: &Schedule, batch: usize, burst: usize, cost_ns: u64) -> Vec<Batch> {
        let clock = FakeClock::at(1_000);
        let mut pacer = Pacer::new(schedule, clock.now_ns(), batch, burst);
        let mut out = Vec::new();
        while let Some(b) = pacer.next_batch(&clock, never) {
            clock.advance(cost_ns);
            out.push(b);
        }
        out
    }

    fn sent(batches: &[Batch]) -> u64 {
        batches.iter().map(|b| b.count as u64).sum()
    }

    #[test]
    fn one_pps_for_ten_seconds_forever_loop_sends_exactly_ten() {
        // tcpreplay #1150: --pps 1 --loop 0 --duration 10 with one packet sent 1.5 M packets.
        let s = Schedule::new(
            Pace::MilliPps(1_000),
            one_frame(60),
            0,
            None,
            Some(Duration::from_secs(10)),
            Duration::ZERO,
        );
        assert_eq!(s.planned_frames(), Some(10));
        let b = drain(&s, 64, 64, 500);
        assert_eq!(sent(&b), 10);
        let due: Vec<u64> = (0..10).map(|k| s.due_ns(k)).collect();
        assert_eq!(due, (0..10).map(|k| k * 1_000_000_000).collect::<Vec<_>>());
    }

    #[test]
    fn rate_times_duration_is_exact_even_when_not_a_whole_number_of_gaps() {
        for (mpps, secs, want) in [
            (100_000, 2, 200),             // 100 pps × 2 s
            (100_000_000, 3, 300_000),     // 100 kpps × 3 s
            (3_000, 1, 3),                 // 3 pps: gaps of 333 333 333.3 ns
            (1_500, 1, 2),                 // 1.5 pps: frames at 0 and 0.667 s
            (7_000_000_000, 1, 7_000_000), // 7 Mpps
        ] {
            let s = Schedule::new(
                Pace::MilliPps(mpps),
                one_frame(60),
                0,
                None,
                Some(Duration::from_secs(secs)),
                Duration::ZERO,
            );
            assert_eq!(s.planned_frames(), Some(want), "{mpps} mpps × {secs} s");
        }
        // And the pacer really hands out that many, also with a slow engine.
        let s = Schedule::new(
            Pace::MilliPps(100_000_000),
            one_frame(60),
            0,
            None,
            Some(Duration::from_secs(3)),
            Duration::ZERO,
        );
        assert_eq!(sent(&drain(&s, 64, 64, 25_000)), 300_000);
    }

    #[test]
    fn limit_and_loops_bound_the_count() {
        let tl = Timeline::new([(60, 0), (60, 10), (60, 20)]);
        let s = Schedule::new(Pace::TopSpeed, tl.clone(), 0, Some(12_345), None, Duration::ZERO);
        assert_eq!(sent(&drain(&s, 64, 64, 10)), 12_345);
        let s = Schedule::new(Pace::TopSpeed, tl.clone(), 5, None, None, Duration::ZERO);
        assert_eq!(sent(&drain(&s, 4, 4, 10)), 15);
        let s = Schedule::new(Pace::TopSpeed, tl, 5, Some(7), None, Duration::ZERO);
        assert_eq!(sent(&drain(&s, 64, 64, 10)), 7);
    }

    #[test]
    fn no_drift_far_into_a_long_run() {
        // 3 pps for a year: frame k is due at exactly floor(k · 10⁹ / 3).
        let s = Schedule::new(Pace::MilliPps(3_000), one_frame(60), 0, None, None, Duration::ZERO);
        let k = 3 * 365 * 24 * 3600u64;
        assert_eq!(s.due_ns(k), 365 * 24 * 3600 * 1_000_000_000);
        assert_eq!(s.due_ns(k + 1), 365 * 24 * 3600 * 1_000_000_000 + 333_333_333);
        // Enormous frame numbers saturate instead of overflowing.
        let slow = Schedule::new(Pace::MilliPps(1), one_frame(60), 0, None, None, Duration::ZERO);
        assert_eq!(slow.due_ns(u64::MAX), u64::MAX);
    }

    #[test]
    fn l2_bit_rate_counts_frame_bytes_without_fcs() {
        // 60-byte frames (64 on the wire with FCS): 100 Mbps = 208 333.3 pps.
        let s = Schedule::new(
            Pace::L2BitsPerSec(100_000_000),
            one_frame(60),
            0,
            None,
            Some(Duration::from_secs(3)),
            Duration::ZERO,
        );
        assert_eq!(s.planned_frames(), Some(625_000));
        assert_eq!(s.due_ns(208_333), 999_998_400);
        // Mixed sizes: each frame waits for the bits before it.
        let mixed = Timeline::new([(100, 0), (1000, 0)]);
        let s = Schedule::new(Pace::L2BitsPerSec(8_000), mixed, 0, None, None, Duration::ZERO);
        assert_eq!(
            (0..4).map(|k| s.due_ns(k)).collect::<Vec<_>>(),
            vec![0, 100_000_000, 1_100_000_000, 1_200_000_000]
        );
    }

    #[test]
    fn multiplier_scales_the_file_timing_and_loops_continue_it() {
        let tl = Timeline::new([(60, 5_000), (60, 15_000), (60, 9_000), (60, 45_000)]);
        assert_eq!(tl.span_ns(), 40_000);
        let s = Schedule::new(Pace::MultiplierMicros(2_000_000), tl, 2, None, None, Duration::ZERO);
        // Backwards timestamp (9 000 after 15 000) is clamped; second pass follows the first.
        assert_eq!(
            (0..8).map(|k| s.due_ns(k)).collect::<Vec<_>>(),
            vec![0, 5_000, 5_000, 20_000, 20_000, 25_000, 25_000, 40_000]
        );
    }

    #[test]
    fn loop_delay_shifts_later_passes_without_catch_up() {
        let tl = Timeline::new([(60, 0), (60, 0)]);
        let s = Schedule::new(
            Pace::MilliPps(1_000_000), // 1000 pps: 1 ms gaps
            tl,
            3,
            None,
            None,
            Duration::from_millis(50),
        );
        assert_eq!(
            (0..6).map(|k| s.due_ns(k)).collect::<Vec<_>>(),
            vec![0, 1_000_000, 52_000_000, 53_000_000, 104_000_000, 105_000_000]
        );
        // The pacer waits the delay: every batch leaves on time, one frame each.
        let b = drain(&s, 64, 64, 1_000);
        assert_eq!(sent(&b), 6);
        assert!(b.iter().all(|b| b.count == 1 && b.late_ns == 0), "{b:?}");
    }

    #[test]
    fn batches_hold_only_due_frames() {
        // 1 Mpps, each send takes 10 µs: about 10 frames fall due per send, never more.
        let s = Schedule::new(
            Pace::MilliPps(1_000_000_000),
            one_frame(60),
            0,
            Some(100_000),
            None,
            Duration::ZERO,
        );
        let clock = FakeClock::at(0);
        let mut pacer = Pacer::new(&s, 0, 64, 64);
        let mut total = 0;
        while let Some(b) = pacer.next_batch(&clock, never) {
            let now = clock.now_ns();
            let last_due = s.due_ns(b.first + b.count as u64 - 1);
            assert!(last_due <= now, "frame {} not due yet", b.first + b.count as u64 - 1);
            assert!(b.count <= 11, "{b:?}");
            total += b.count as u64;
            clock.advance(10_000);
        }
        assert_eq!(total, 100_000);
        assert_eq!(pacer.slipped(), (0, 0));
    }

    #[test]
    fn a_stall_gives_a_bounded_burst_and_a_slip_not_a_flood() {
        // 100 kpps (10 µs gaps); the sender stalls 50 ms after 1000 frames: 5000 frames overdue.
        let s = Schedule::new(
            Pace::MilliPps(100_000_000),
            one_frame(60),
            0,
            None,
            Some(Duration::from_secs(1)),
            Duration::ZERO,
        );
        let clock = FakeClock::at(0);
        let mut pacer = Pacer::new(&s, 0, 32, 32);
        let mut batches = Vec::new();
        while let Some(b) = pacer.next_batch(&clock, never) {
            batches.push((clock.now_ns(), b));
            if pacer.handed_out() == 1000 {
                clock.advance(50_000_000);
            }
        }
        let total: u64 = batches.iter().map(|(_, b)| b.count as u64).sum();
        assert_eq!(total, 100_000, "the count stays exact");
        // Right after the stall: one burst of at most 32, then back to one frame per gap.
        let i = batches.iter().position(|(_, b)| b.first == 1000).unwrap();
        let (t, stalled) = batches[i];
        assert_eq!(stalled.count, 32);
        assert!(stalled.late_ns >= 49_990_000, "{stalled:?}");
        assert_eq!(stalled.late_frames, 32);
        let (t_next, after) = batches[i + 1];
        assert_eq!(after.count, 1);
        assert_eq!(t_next - t, 10_000, "the frame after the burst keeps a normal gap");
        let (slipped, slips) = pacer.slipped();
        assert_eq!(slips, 1);
        // The stall began 10 µs before frame 1000 was due; the burst covered 31 more gaps.
        assert_eq!(slipped, 50_000_000 - 10_000 - 31 * 10_000);
        // No batch anywhere exceeds the burst.
        assert!(batches.iter().all(|(_, b)| b.count <= 32));
    }

    #[test]
    fn burst_larger_than_batch_catches_up_in_several_batches_then_slips() {
        let s = Schedule::new(
            Pace::MilliPps(1_000_000_000), // 1 µs gaps
            one_frame(60),
            0,
            Some(1_000),
            None,
            Duration::ZERO,
        );
        let clock = FakeClock::at(0);
        let mut pacer = Pacer::new(&s, 0, 8, 20);
        let b0 = pacer.next_batch(&clock, never).unwrap();
        assert_eq!(b0.count, 1);
        clock.advance(100_000); // 100 frames overdue
        let counts: Vec<usize> =
            (0..3).map(|_| pacer.next_batch(&clock, never).unwrap().count).collect();
        assert_eq!(counts, vec![8, 8, 4], "20 frames of catch-up in batches of 8");
        // Now on the slipped schedule: the next frame is one gap later.
        let before = clock.now_ns();
        let b = pacer.next_batch(&clock, never).unwrap();
        assert_eq!((b.count, clock.now_ns() - before), (1, 1_000));
    }

    #[test]
    fn top_speed_fills_every_batch_and_honours_wall_clock_duration() {
        let s = Schedule::new(
            Pace::TopSpeed,
            one_frame(60),
            0,
            None,
            Some(Duration::from_millis(1)),
            Duration::ZERO,
        );
        assert_eq!(s.planned_frames(), None);
        // 64 frames per 1 µs: 1 ms gives 1000 batches.
        let b = drain(&s, 64, 64, 1_000);
        assert_eq!(b.len(), 1000);
        assert!(b.iter().all(|b| b.count == 64 && b.late_ns == 0));
    }

    #[test]
    fn frames_given_back_go_again_after_the_batch_and_the_total_stays_exact() {
        // 1 Mpps for 1 ms: 1000 frames, 1 µs apart, handed out in batches of 100.
        let schedule = Schedule::new(
            Pace::MilliPps(1_000_000_000),
            one_frame(60),
            0,
            None,
            Some(Duration::from_millis(1)),
            Duration::ZERO,
        );
        let clock = FakeClock::at(0);
        let mut pacer = Pacer::new(&schedule, 0, 100, 100);
        pacer.set_ahead(1_000_000);
        let b = pacer.next_batch(&clock, never).unwrap();
        assert_eq!((b.first, b.count), (0, 100));
        // 30 of them refused: the next batch starts with them, due where frame 100 was, and
        // the schedule moved 30 µs later.
        pacer.give_back(30);
        assert_eq!(pacer.due_at(70), 100_000);
        assert_eq!(pacer.slipped(), (30_000, 1));
        let mut total = 70;
        while let Some(b) = pacer.next_batch(&clock, never) {
            total += b.count as u64;
            clock.now.set(pacer.due_at(b.first + b.count as u64 - 1));
        }
        assert_eq!(total, 1000, "every planned frame exactly once");
        // Nothing to give back gives nothing back.
        pacer.give_back(0);
        assert_eq!(pacer.slipped(), (30_000, 1));
    }

    #[test]
    fn ahead_windows_hold_a_window_of_frames_before_they_are_due() {
        // 1 Mpps, windows of 1 ms handed out 1 ms ahead: ~1000 frames per window, none lost,
        // none handed out more than 1 ms before its time, no slip while the engine keeps up.
        let s = Schedule::new(
            Pace::MilliPps(1_000_000_000),
            one_frame(60),
            0,
            None,
            Some(Duration::from_millis(100)),
            Duration::ZERO,
        );
        assert_eq!(s.frames_due_within(1_000_000), 1000);
        assert_eq!(s.frames_due_within(1_000_000_000), 1_000_000);
        let clock = FakeClock::at(0);
        let mut pacer = Pacer::new(&s, 0, 1 << 20, 64);
        pacer.set_ahead(1_000_000);
        let mut batches = Vec::new();
        while let Some(b) = pacer.next_batch(&clock, never) {
            let now = clock.now_ns();
            assert!(pacer.due_at(b.first) + 1_000_000 >= now, "{b:?} handed out too late");
            assert!(pacer.due_at(b.first + b.count as u64 - 1) <= now + 1_000_000, "{b:?}");
            batches.push(b);
            // The engine sends the window until its last frame's time.
            clock.now.set(pacer.due_at(b.first + b.count as u64 - 1));
        }
        assert_eq!(batches.iter().map(|b| b.count as u64).sum::<u64>(), 100_000);
        assert!(batches.len() <= 101, "{} batches", batches.len());
        let middle = &batches[1..batches.len() - 1];
        assert!(middle.iter().all(|b| b.count == 1000), "{batches:?}");
        assert_eq!(pacer.slipped(), (0, 0));
        assert_eq!(pacer.largest_batch(), 1001);
        assert_eq!(
            Schedule::new(Pace::TopSpeed, one_frame(60), 0, None, None, Duration::ZERO)
                .frames_due_within(1),
            u64::MAX
        );
    }

    #[test]
    fn an_engine_slip_moves_the_rest_of_the_schedule() {
        let s = Schedule::new(
            Pace::MilliPps(1_000_000_000),
            one_frame(60),
            0,
            Some(10),
            None,
            Duration::ZERO,
        );
        let clock = FakeClock::at(0);
        let mut pacer = Pacer::new(&s, 0, 64, 64);
        assert_eq!(pacer.due_at(5), 5_000);
        pacer.slip(7_000);
        pacer.slip(0);
        assert_eq!(pacer.due_at(5), 12_000);
        assert_eq!(pacer.slipped(), (7_000, 1));
        // The first frame is now due at 7 µs: the pacer waits for it.
        let b = pacer.next_batch(&clock, never).unwrap();
        assert_eq!((b.first, b.count, clock.now_ns()), (0, 1, 7_000));
    }

    #[test]
    fn paced_batches_never_exceed_the_burst_but_top_speed_ignores_it() {
        let paced = Schedule::new(
            Pace::MilliPps(1_000_000_000),
            one_frame(60),
            0,
            Some(1000),
            None,
            Duration::ZERO,
        );
        assert!(drain(&paced, 256, 16, 100_000).iter().all(|b| b.count <= 16));
        let top = Schedule::new(Pace::TopSpeed, one_frame(60), 0, Some(1024), None, Duration::ZERO);
        assert!(drain(&top, 256, 16, 1_000).iter().all(|b| b.count == 256));
    }

    #[test]
    fn stop_request_ends_a_long_wait() {
        let s = Schedule::new(Pace::MilliPps(1), one_frame(60), 0, None, None, Duration::ZERO);
        let clock = FakeClock::at(0);
        let mut pacer = Pacer::new(&s, 0, 1, 1);
        assert!(pacer.next_batch(&clock, never).is_some());
        assert!(pacer.next_batch(&clock, || true).is_none());
        assert_eq!(pacer.handed_out(), 1);
    }

    #[test]
    fn count_while_finds_the_boundary() {
        for edge in [0u64, 1, 2, 3, 7, 8, 9, 100, 1000] {
            for max in [0u64, 1, 5, 64, 65, 2000] {
                assert_eq!(count_while(10, max, |k| k < 10 + edge), edge.min(max), "{edge} {max}");
            }
        }
    }
}
