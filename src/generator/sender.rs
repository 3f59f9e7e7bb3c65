//! The sender thread: enter the namespace, pin, check the interface, open the engine, wait for
//! the go, walk the schedule, count, read the peer.

use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::Ordering;
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use super::engine::{self, EngineKind, Sender};
use super::jitter::LatenessHistogram;
use super::pacing::{Batch, Clock, MonotonicClock, Pace, Pacer, Schedule, Timeline};
use super::report::{errno_name, Burst, Ended, Lateness, PeerCount, Rated, SendReport};
use super::{field, GeneratorConfig, Progress};
use crate::exit::{bad_field, bad_input, field_error, Code, Section};
use crate::topology::interface::{self, Interface, Namespace};
use crate::topology::link::LinkFacts;
use fastnet::bpf::{PacedCall, PacingLimits};

/// What the thread tells [`super::Generator::prepare`] once it can send.
pub(super) struct Ready {
    pub(super) engine: EngineKind,
    pub(super) reason: String,
}

/// Paced xdp calls in a row whose every frame the target refused (each ~10 ms) before those
/// frames count as failed (`ENOBUFS`) instead of going again: the receiving side stopped
/// draining its ring for about a second.
const MAX_REFUSED_CALLS: u32 = 100;

/// Retries of one frame refused with a transient error (`ENOBUFS`: device queue full; `EAGAIN`)
/// before it is counted as failed. At ~1 µs per try: about a tenth of a second.
const MAX_RETRIES: u32 = 100_000;

/// How long to wait for the peer's counter to settle after the last frame.
const PEER_SETTLE_MAX: Duration = Duration::from_secs(1);
const PEER_SETTLE_STEP: Duration = Duration::from_millis(20);

pub(super) fn run(
    config: GeneratorConfig,
    progress: Arc<Progress>,
    ready: mpsc::Sender<anyhow::Result<Ready>>,
    go: mpsc::Receiver<()>,
) -> anyhow::Result<Option<SendReport>> {
    let schedule = schedule_of(&config);
    let (mut sender, kind, reason, peer, pacing_note) = match set_up(&config, &schedule) {
        Ok(s) => s,
        Err(e) => {
            let _ = ready.send(Err(e));
            return Ok(None);
        }
    };
    let _ = ready.send(Ok(Ready { engine: kind, reason: reason.clone() }));
    if go.recv().is_err() {
        return Ok(None); // cancelled
    }
    let peer_before = match (&peer, &config.peer_interface) {
        _ if !config.count_peer => None,
        (_, Some(name)) => {
            let namespace = Namespace::of(config.netns.as_deref());
            interface::find_here(name, namespace)?.ok().map(|found| found.facts)
        }
        (Some(p), None) => LinkFacts::by_index(p.ifindex)?,
        (None, None) => None,
    };
    let sent = send_all(&config, &schedule, kind, &mut sender, &progress)?;
    drop(sender); // rings flushed; sockets and the xdp link closed before the peer is read
    let peer = match peer_before {
        Some(before) => Some(settled_peer(&before, sent.refused)?),
        None => None,
    };
    Ok(Some(SendReport {
        interface: config.interface.clone(),
        netns: config.netns.clone(),
        engine: kind,
        engine_reason: reason,
        core: config.core,
        asked: describe_pace(config.pace),
        planned_frames: sent.planned,
        frames_sent: sent.frames,
        bytes_sent: sent.bytes,
        elapsed_ns: sent.elapsed_ns,
        loop_delay_ns: sent.loop_delay_ns,
        rated: Rated::over(sent.frames, sent.bytes, sent.elapsed_ns - sent.loop_delay_ns),
        failed: named(&sent.failed),
        retried: named(&sent.retried),
        refused_frames: sent.refused,
        lateness: sent.lateness(),
        burst: config
            .pace
            .is_paced()
            .then(|| Burst { largest: sent.largest_burst, limit: config.burst_limit() as u64 }),
        pacing_note,
        peer,
        ended: sent.ended,
    }))
}

fn named(map: &BTreeMap<i32, u64>) -> BTreeMap<String, u64> {
    map.iter().map(|(&e, &n)| (errno_name(e), n)).collect()
}

/// `100000 pps`, `100 Mbps (L2)`, `file timing ×2`, `top speed`.
pub(crate) fn describe_pace(pace: Pace) -> String {
    let trim = |v: f64| {
        let s = format!("{v:.6}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    };
    match pace {
        Pace::TopSpeed => "top speed".into(),
        Pace::MilliPps(m) => format!("{} pps", trim(m as f64 / 1000.0)),
        Pace::L2BitsPerSec(b) => format!("{} Mbps (L2)", trim(b as f64 / 1e6)),
        Pace::MultiplierMicros(u) => format!("file timing ×{}", trim(u as f64 / 1e6)),
    }
}

pub(super) fn schedule_of(config: &GeneratorConfig) -> Schedule {
    let timeline = Timeline::new(config.frames.iter().map(|f| (f.data.len(), f.ts_ns)));
    Schedule::new(
        config.pace,
        timeline,
        config.loops,
        config.limit,
        config.duration,
        config.loop_delay,
    )
}

type SetUp = (Sender, EngineKind, String, Option<LinkFacts>, Option<String>);

fn set_up(config: &GeneratorConfig, schedule: &Schedule) -> anyhow::Result<SetUp> {
    crate::topology::place::enter(config.netns.as_deref(), config.core, Section::Generator)?;
    let namespace = Namespace::of(config.netns.as_deref());
    let link = interface::find_here(&config.interface, namespace)?
        .map_err(|missing| bad_field(field("interface"), missing.to_string()))?;
    check_link(config, &link)?;
    let link = link.facts;
    let frames: Vec<&[u8]> = config.frames.iter().map(|f| f.data.as_slice()).collect();
    let distinct = count_distinct(&frames);
    let around = engine::surroundings(link, distinct)?;
    let peer = around.peer.clone();
    let pacing = config.pace.is_paced().then(|| {
        let fps = schedule.frames_due_within(1_000_000_000);
        engine::XdpPacing {
            fps,
            limits: pacing_limits(schedule, config.burst_limit()),
            inner_batch: engine::xdp_inner_batch(fps, config.burst_limit()),
        }
    });
    let (sender, kind, reason) = engine::choose_and_open(
        config.engine,
        &around,
        &frames,
        config.batch,
        pacing,
        config.limit.is_some(),
        config.force,
    )?;
    config.check_batch(kind)?;
    let note = engine::pacing_note(kind, pacing);
    Ok((sender, kind, reason, peer, note))
}

fn count_distinct(frames: &[&[u8]]) -> usize {
    frames.iter().collect::<HashSet<_>>().len()
}

/// Up, carrier, and every frame within the MTU — all before the first frame goes.
fn check_link(config: &GeneratorConfig, found: &Interface) -> anyhow::Result<()> {
    let (link, place) = (&found.facts, &found.namespace);
    let iface = &link.name;
    if !config.force {
        if !found.up() {
            return Err(field_error(
                Code::BadInput,
                field("interface"),
                found.down(),
                Some(field("force")),
            ));
        }
        if !link.carrier {
            return Err(field_error(
                Code::BadInput,
                field("interface"),
                format!(
                    "interface `{iface}` {place} has no carrier (operstate {}; for a veth the \
                     peer must be up)",
                    link.operstate
                ),
                Some(field("force")),
            ));
        }
    }
    let limit = link.mtu as usize + 14;
    for (i, f) in config.frames.iter().enumerate() {
        let tagged = matches!(f.data.get(12..14), Some([0x81, 0x00] | [0x88, 0xa8]));
        let allowed = limit + if tagged { 4 } else { 0 };
        if f.data.len() > allowed {
            return Err(bad_input(format!(
                "{} packet #{}: {} bytes is larger than `{iface}` takes (MTU {} + {}-byte \
                 header = {allowed} bytes); nothing was sent",
                config.source,
                i + 1,
                f.data.len(),
                link.mtu,
                allowed - link.mtu as usize
            )));
        }
    }
    Ok(())
}

/// The peer's counters once they stop moving (the receive side may still be draining);
/// `refused` frames, which the engine sent again, are not counted as dropped.
fn settled_peer(before: &LinkFacts, refused: u64) -> anyhow::Result<PeerCount> {
    let deadline = Instant::now() + PEER_SETTLE_MAX;
    let mut last = LinkFacts::by_index(before.ifindex)?;
    loop {
        std::thread::sleep(PEER_SETTLE_STEP);
        let now = LinkFacts::by_index(before.ifindex)?;
        let settled = match (&last, &now) {
            (Some(a), Some(b)) => a.rx_packets == b.rx_packets && a.rx_dropped == b.rx_dropped,
            _ => true,
        };
        last = now;
        if settled || Instant::now() >= deadline {
            break;
        }
    }
    let after = last.unwrap_or_else(|| before.clone());
    Ok(PeerCount {
        interface: before.name.clone(),
        rx_packets: after.rx_packets.wrapping_sub(before.rx_packets),
        rx_dropped: super::report::dropped_beyond_refused(
            after.rx_dropped.wrapping_sub(before.rx_dropped),
            refused,
        ),
    })
}

/// The xdp engine's schedule for batch `b`: its frames spread evenly from the first one's time
/// to the last one's (exact for a rate; a file's own timing is followed along a straight line
/// within each window of [`engine::XDP_PACED_CALL_NS`]; a batch never spans a loop delay).
fn paced_call(pacer: &Pacer<'_>, clock: &MonotonicClock, b: &Batch) -> PacedCall {
    let count = b.count as u64;
    let first_due = pacer.due_at(b.first);
    let last_due = pacer.due_at(b.first + count - 1);
    PacedCall {
        count: u32::try_from(count).unwrap_or(u32::MAX),
        first_due_ns: clock.to_monotonic_ns(first_due),
        gap_num: last_due - first_due,
        gap_den: (count - 1).max(1),
    }
}

/// The xdp program's limits: a frame later than `(burst − 1) / 2` gaps slips the schedule.
/// Overdue frames leave back to back until the program has caught up, which at a cost of c per
/// frame takes `late / (gap − c)` frames: half the burst's lateness keeps that run within the
/// burst while a frame costs less than half a gap. (Allowing `burst − 1` gaps gave runs of
/// 70–80 frames for a limit of 64 at 0.5–1.5 Mpps.)
fn pacing_limits(schedule: &Schedule, burst: usize) -> PacingLimits {
    let per_sec = schedule.frames_due_within(1_000_000_000).max(1);
    let gap_ns = 1_000_000_000 / per_sec;
    PacingLimits {
        max_late_ns: gap_ns.saturating_mul(burst.saturating_sub(1) as u64 / 2).max(gap_ns),
        late_after_ns: super::pacing::LATE_AFTER_NS,
    }
}

/// Frames of one call that could not all be handed over.
enum Outcome {
    /// All taken or counted as failed.
    Done,
    /// The interface is gone or down: stop.
    InterfaceFailed(i32),
}

fn send_all(
    config: &GeneratorConfig,
    schedule: &Schedule,
    kind: EngineKind,
    sender: &mut Sender,
    progress: &Progress,
) -> anyhow::Result<Sent> {
    let paced = config.pace.is_paced();
    let ahead = paced && sender.paces_itself();
    let batch = config.batch.unwrap_or_else(|| kind.default_batch(paced)).max(1);
    let burst = config.burst_limit();
    // The frames laid out cyclically so that any batch is one contiguous slice.
    let per_loop = config.frames.len();
    let cyclic: Vec<&[u8]> = if ahead {
        Vec::new()
    } else {
        (0..per_loop + batch).map(|i| config.frames[i % per_loop].data.as_slice()).collect()
    };

    let clock = MonotonicClock::new();
    let start = clock.now_ns();
    let mut pacer = Pacer::new(schedule, start, batch, burst);
    if ahead {
        pacer.set_ahead(engine::XDP_PACED_LEAD_NS.max(engine::XDP_PACED_CALL_NS));
    }
    let mut sent = Sent { planned: schedule.planned_frames(), ..Sent::default() };
    let stop = || progress.stopping();
    let mut kernel = fastnet::bpf::PacingStats::default();
    let fps = schedule.frames_due_within(1_000_000_000);
    let inner_batch = u64::from(engine::xdp_inner_batch(fps, burst));
    while let Some(b) = pacer.next_batch(&clock, stop) {
        if paced {
            sent.lateness.record(b.late_ns);
            sent.late_frames += b.late_frames;
        }
        let outcome = if ahead {
            let call = paced_call(&pacer, &clock, &b);
            let outcome = sent.hand_over_paced(sender, &call, &config.frames[0].data, &mut kernel);
            // The program slipped the schedule when a frame was too late: so does the pacer.
            pacer.slip(kernel.slipped_ns.saturating_sub(sent.kernel_slipped_ns));
            sent.kernel_slipped_ns = kernel.slipped_ns;
            pacer.give_back(sent.frames_to_send_again(u64::from(call.count)));
            outcome
        } else {
            let at = (b.first % per_loop as u64) as usize;
            sent.hand_over(sender, &cyclic[at..at + b.count])
        };
        progress.sent.store(sent.frames, Ordering::Relaxed);
        progress.bytes.store(sent.bytes, Ordering::Relaxed);
        if let Outcome::InterfaceFailed(errno) = outcome {
            sent.ended = Ended::InterfaceFailed(errno_name(errno));
            break;
        }
    }
    sent.largest_burst = if ahead {
        // The frames of an inner batch reach the target together, at its flush.
        kernel.max_run.max(inner_batch)
    } else {
        pacer.largest_batch() as u64
    };
    if ahead {
        sent.late_frames = kernel.late_frames;
    }
    if sent.ended == Ended::Completed && progress.stopping() {
        sent.ended = Ended::Stopped;
    }
    if let Err(e) = sender.flush() {
        // Frames still queued in a ring when this fails may not have gone out.
        tracing::warn!("flushing the {kind} engine: {e}");
    }
    (sent.slipped_ns, sent.slips) = pacer.slipped();
    // A paced replay with a duration lasts that duration (plus any slip), so its rate is the
    // asked one; the wait ends early on a stop request.
    if sent.ended == Ended::Completed && paced {
        if let Some(d) = config.duration {
            let end = start
                .saturating_add(u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
                .saturating_add(sent.slipped_ns);
            while clock.now_ns() < end && !progress.stopping() {
                clock.wait_toward(end);
            }
        }
    }
    sent.elapsed_ns = clock.now_ns() - start;
    let loop_delay_ns = schedule.loop_delay_before(pacer.handed_out().saturating_sub(1));
    sent.loop_delay_ns = loop_delay_ns.min(sent.elapsed_ns);
    Ok(sent)
}

/// What the send loop did: counted per call, completed when the loop ends.
#[derive(Default)]
struct Sent {
    planned: Option<u64>,
    frames: u64,
    bytes: u64,
    elapsed_ns: u64,
    loop_delay_ns: u64,
    failed: BTreeMap<i32, u64>,
    retried: BTreeMap<i32, u64>,
    /// Lateness of each send call (paced only).
    lateness: LatenessHistogram,
    late_frames: u64,
    slips: u64,
    slipped_ns: u64,
    /// The slip the xdp engine's program reported so far, ns.
    kernel_slipped_ns: u64,
    /// Most frames that left back to back.
    largest_burst: u64,
    /// Frames the target refused, in all (the xdp engine's program counts them).
    refused: u64,
    /// Of them, those of the last paced call.
    refused_last_call: u64,
    /// Paced calls in a row whose every frame the target refused.
    refused_calls: u32,
    ended: Ended,
}

impl Sent {
    /// The report's lateness summary.
    fn lateness(&self) -> Lateness {
        let h = &self.lateness;
        Lateness {
            batches: h.count(),
            p50_ns: h.percentile(50.0),
            p99_ns: h.percentile(99.0),
            max_ns: h.max(),
            late_frames: self.late_frames,
            slips: self.slips,
            slipped_ns: self.slipped_ns,
        }
    }

    /// Sends one window with the engine that keeps the schedule itself; `kernel` gets what
    /// its program measured so far. A failed call counts its frames as failed (a call
    /// interrupted by a signal sent an unknown part of them: they count as failed too).
    fn hand_over_paced(
        &mut self,
        sender: &mut Sender,
        call: &PacedCall,
        frame: &[u8],
        kernel: &mut fastnet::bpf::PacingStats,
    ) -> Outcome {
        match sender.send_paced(call) {
            Ok(stats) => {
                // Refused frames did not leave: counted when they go again.
                self.refused_last_call = stats.refused - kernel.refused;
                self.refused = stats.refused;
                *kernel = stats;
                let taken = u64::from(call.count).saturating_sub(self.refused_last_call);
                self.frames += taken;
                self.bytes += taken * frame.len() as u64;
                Outcome::Done
            }
            Err(e) => {
                self.refused_last_call = 0;
                let errno = e.raw_os_error().unwrap_or(0);
                if errno == 0 {
                    tracing::warn!("paced send failed: {e}");
                }
                *self.failed.entry(errno).or_default() += u64::from(call.count);
                match errno {
                    libc::ENETDOWN | libc::ENXIO | libc::ENODEV => Outcome::InterfaceFailed(errno),
                    _ => Outcome::Done,
                }
            }
        }
    }

    /// How many frames of the last paced call of `count` frames go again: those the target
    /// refused — unless it refused every frame of [`MAX_REFUSED_CALLS`] calls in a row (it is
    /// not draining its ring): then they count as failed (`ENOBUFS`).
    fn frames_to_send_again(&mut self, count: u64) -> u64 {
        let refused = self.refused_last_call;
        if refused == 0 || refused < count {
            self.refused_calls = 0;
            return refused;
        }
        self.refused_calls += 1;
        if self.refused_calls < MAX_REFUSED_CALLS {
            return refused;
        }
        *self.failed.entry(libc::ENOBUFS).or_default() += refused;
        self.refused_calls = 0;
        0
    }

    /// Hands `frames` to the engine until every one is taken or counted as failed: transient
    /// refusals (`ENOBUFS`, `EAGAIN`, `EINTR`) are retried, others fail that frame only, and a
    /// vanished or downed interface ends the replay.
    #[inline]
    fn hand_over(&mut self, sender: &mut Sender, mut frames: &[&[u8]]) -> Outcome {
        let mut retries = 0u32;
        while !frames.is_empty() {
            match sender.transmit(frames) {
                Ok(n) => {
                    let n = n.min(frames.len());
                    self.frames += n as u64;
                    self.bytes += frames[..n].iter().map(|f| f.len() as u64).sum::<u64>();
                    frames = &frames[n..];
                    if n == 0 {
                        retries += 1; // a ring that stayed full
                        std::thread::yield_now();
                    } else {
                        retries = 0;
                    }
                }
                Err(e) => {
                    let errno = e.raw_os_error().unwrap_or(0);
                    match errno {
                        libc::ENOBUFS | libc::EAGAIN | libc::EINTR if retries < MAX_RETRIES => {
                            *self.retried.entry(errno).or_default() += 1;
                            retries += 1;
                            std::hint::spin_loop();
                        }
                        libc::ENETDOWN | libc::ENXIO | libc::ENODEV => {
                            *self.failed.entry(errno).or_default() += frames.len() as u64;
                            return Outcome::InterfaceFailed(errno);
                        }
                        _ => {
                            if errno == 0 {
                                tracing::warn!("send failed: {e}");
                            }
                            *self.failed.entry(errno).or_default() += 1;
                            frames = &frames[1..];
                            retries = 0;
                        }
                    }
                }
            }
            if retries >= MAX_RETRIES {
                // Still refused after many tries: give this frame up.
                *self.failed.entry(libc::ENOBUFS).or_default() += 1;
                frames = &frames[1..];
                retries = 0;
            }
        }
        Outcome::Done
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pace_descriptions() {
        assert_eq!(describe_pace(Pace::MilliPps(100_000_000)), "100000 pps");
        assert_eq!(describe_pace(Pace::MilliPps(500)), "0.5 pps");
        assert_eq!(describe_pace(Pace::L2BitsPerSec(100_000_000)), "100 Mbps (L2)");
        assert_eq!(describe_pace(Pace::MultiplierMicros(2_500_000)), "file timing ×2.5");
        assert_eq!(describe_pace(Pace::TopSpeed), "top speed");
    }

    #[test]
    fn distinct_frames_counted_by_content() {
        let a = vec![1u8; 60];
        let b = vec![2u8; 60];
        assert_eq!(count_distinct(&[&a, &a]), 1);
        assert_eq!(count_distinct(&[&a, &b, &a]), 2);
    }
}
