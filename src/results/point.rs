//! One point: a rate × receiver × repetition ([`Point`]), the figures derived from its
//! [`Counters`] and the one place it is judged valid — the generator offered at least
//! [`MIN_OFFERED_FRACTION`] of the rate asked ([`Shortfall`] splits what it fell short by), the
//! receiver counted no more frames than were sent, its IPv4 count agrees with what was sent
//! ([`Ipv4Sent`]).

use serde::{Deserialize, Serialize};

use super::budget::{budget, LostFrames};
use super::counters::Counters;
use crate::generator::EngineKind;
use crate::receiver::CpuPerFrame;
use crate::scenario::{Method, Rate, ReceiverSpec};

/// A point whose generator offered less than this fraction of the asked rate on its own is
/// invalid (a loss-targeted search takes it at the rate it did offer: [`Point::measured_pps`]).
pub const MIN_OFFERED_FRACTION: f64 = 0.98;

/// Bytes a frame takes on the wire beyond its L2 bytes: preamble + SFD 8, FCS 4, gap 12.
pub const WIRE_OVERHEAD_BYTES: u64 = 24;

/// How far a point's generator fell short of the rate asked, as fractions of the frames asked:
/// the part the receiving side held it back by, and the generator's own part.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Shortfall {
    /// The time of the frames the receiving side refused (each refusal waited on and retried,
    /// or sent again later), at most the whole shortfall: the skb path counts a refusal per
    /// retry, so there all of it.
    pub held_back: f64,
    /// The rest: the generator's own slips (a busy machine, the engine's own pauses).
    pub own: f64,
}

impl Shortfall {
    /// The asked rate and the split of the shortfall, when the refusals' part is more than the
    /// engine allows ([`EngineKind::refusals_allowed`]; 2 % when not recorded) or the
    /// generator's own part more than the `1 − MIN_OFFERED_FRACTION` allowed (two small parts
    /// together are a point that holds: a few refusals that cost no frame, a few pauses of the
    /// generator).
    fn of(asked_pps: Option<f64>, offered_pps: f64, c: &Counters) -> Option<(f64, Shortfall)> {
        let asked = asked_pps.filter(|a| *a > 0.0 && offered_pps < MIN_OFFERED_FRACTION * a)?;
        let short = 1.0 - offered_pps / asked;
        let asked_frames = (asked * c.duration_s).max(1.0);
        let held_back = short.min(c.drops.refused_frames() as f64 / asked_frames);
        let split = Shortfall { held_back, own: short - held_back };
        (split.held_back > refusals_allowed(c) || split.own > 1.0 - MIN_OFFERED_FRACTION)
            .then_some((asked, split))
    }
}

/// The part of the frames asked its engine's target may refuse ([`EngineKind::refusals_allowed`]).
fn refusals_allowed(c: &Counters) -> f64 {
    c.engine.map_or(1.0 - MIN_OFFERED_FRACTION, EngineKind::refusals_allowed)
}

/// Why a point's generator fell short of the rate asked, when it did ([`Shortfall::of`]).
fn shortfall_reason(asked_pps: Option<f64>, offered_pps: f64, c: &Counters) -> Option<String> {
    let (asked, short) = Shortfall::of(asked_pps, offered_pps, c)?;
    let short_text = format!(
        "offered {} pps, below {:.0} % of the {} pps asked",
        round_pps(offered_pps),
        MIN_OFFERED_FRACTION * 100.0,
        round_pps(asked)
    );
    Some(if short.held_back <= refusals_allowed(c) {
        format!(
            "the generator fell behind ({short_text}): the machine is busy; close other programs \
             or lower the rate"
        )
    } else {
        format!(
            "the receiving side held the generator back ({short_text}; its ring refused {} \
             frames): the receiver does not keep up with this rate; lower it",
            c.drops.refused_frames()
        )
    })
}

/// One rate × receiver × repetition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Point {
    /// Receiver label.
    pub label: String,
    /// Receiver method.
    pub method: Method,
    /// The rate asked, as the scenario says it (`1Mpps`, `100Mbps`, `max`).
    pub rate: Rate,
    /// The rate asked in frames per second (`None` for `max`).
    pub asked_pps: Option<f64>,
    /// Repetition, from 1.
    pub repetition: u32,
    /// Which measurement of this rate × receiver × repetition it is: 1 the first, 2 and on
    /// the re-measurements of an invalid one (`run.retries`); a search's trials count theirs.
    #[serde(default = "first_attempt")]
    pub attempt: u32,
    /// What was measured (flattened: its fields are the point's own in JSON).
    #[serde(flatten)]
    pub counters: Counters,
    /// `sent_frames / duration_s`: the rate really offered.
    pub offered_pps: f64,
    /// CPU per frame, `(rx_cpu_ns + napi_cpu_ns) / app_rx_frames` (`None` when nothing was
    /// received, or the NAPI part could not be measured): the one definition
    /// ([`crate::receiver::CpuPerFrame`]).
    pub ns_per_frame: Option<f64>,
    /// Its receiver part, `rx_cpu_ns / app_rx_frames`.
    #[serde(default)]
    pub rx_ns_per_frame: Option<f64>,
    /// Its kernel part, `napi_cpu_ns / app_rx_frames` (`None` without a NAPI kthread).
    #[serde(default)]
    pub napi_ns_per_frame: Option<f64>,
    /// `app_rx_frames / duration_s`.
    pub achieved_pps: f64,
    /// `achieved_pps` in L2 Mbps.
    pub achieved_l2_mbps: f64,
    /// `achieved_pps` in wire Mbps.
    pub achieved_wire_mbps: f64,
    /// `100 × (sent − received) / sent` (0 when nothing was sent).
    pub loss_pct: f64,
    /// Frames the generator handed to its interface: `sent_frames` plus those the sender's
    /// queue refused (`drops.sender_queue_frames`).
    #[serde(default)]
    pub offered_frames: u64,
    /// Where the frames offered and not received were lost, by stage, in the order a frame
    /// travels; `app_rx_frames + sum(lost_frames) == offered_frames` for a valid point
    /// ([`budget`]).
    #[serde(default)]
    pub lost_frames: LostFrames,
    /// False when the point must not be averaged in.
    pub valid: bool,
    /// Why it is invalid.
    pub invalid_reason: Option<String>,
}

/// What the packet file holds, for judging a point's IPv4 count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ipv4Sent {
    /// Every frame is IPv4: every frame received must count.
    All,
    /// No frame is IPv4: none may count.
    None,
    /// A mix: of the frames sent, this many were IPv4.
    Mixed {
        /// IPv4 frames among those sent.
        ipv4: u64,
    },
}

impl From<bool> for Ipv4Sent {
    /// `true`: a file of IPv4 frames; `false`: one without.
    fn from(all: bool) -> Self {
        if all {
            Ipv4Sent::All
        } else {
            Ipv4Sent::None
        }
    }
}

impl Ipv4Sent {
    /// Why an IPv4 count of `ipv4` among `rx` frames received of `sent` is wrong, if it is:
    /// for a uniform file every frame or none counts; for a mixed one, the exact count of the
    /// IPv4 frames sent when every frame arrived, else a count the frames received can hold.
    fn disagrees(self, sent: u64, rx: u64, ipv4: u64) -> Option<String> {
        let expected = match self {
            Ipv4Sent::All => rx,
            Ipv4Sent::None => 0,
            Ipv4Sent::Mixed { ipv4: sent_ipv4 } => {
                let sent_other = sent.saturating_sub(sent_ipv4);
                if rx == sent && ipv4 != sent_ipv4 {
                    return Some(format!(
                        "IPv4 count {ipv4} disagrees with the {sent_ipv4} IPv4 frames sent (all \
                         {rx} frames received)"
                    ));
                }
                if ipv4 > sent_ipv4.min(rx) || rx - ipv4.min(rx) > sent_other {
                    return Some(format!(
                        "IPv4 count {ipv4} impossible: {rx} frames received of {sent_ipv4} IPv4 \
                         and {sent_other} other frames sent"
                    ));
                }
                return None;
            }
        };
        (ipv4 != expected).then(|| {
            format!("IPv4 count {ipv4} disagrees with {expected} expected ({rx} frames received)")
        })
    }
}

impl Point {
    /// Derives a point from what the runner measured and judges it — the one place a point's
    /// validity is decided: invalid when the generator offered less than
    /// [`MIN_OFFERED_FRACTION`] of the asked rate, when the receiver counted more frames than
    /// were sent, or when its IPv4 count disagrees with what was sent ([`Ipv4Sent`]; `true`
    /// for a file of IPv4 frames, `false` for one without).
    pub fn new(
        receiver: &ReceiverSpec,
        rate: Rate,
        repetition: u32,
        frame_len_bytes: u64,
        ipv4_sent: impl Into<Ipv4Sent>,
        c: Counters,
    ) -> Point {
        let per_s = |frames: u64| {
            if c.duration_s > 0.0 {
                frames as f64 / c.duration_s
            } else {
                0.0
            }
        };
        let asked_pps = rate.pps(frame_len_bytes as usize);
        let offered_pps = per_s(c.sent_frames);
        let achieved_pps = per_s(c.app_rx_frames);
        let cpu = CpuPerFrame::of(c.app_rx_frames, c.rx_cpu_ns, c.napi_cpu_ns);
        // What makes the measurement wrong comes first; a generator that fell short of the
        // rate asked last (a search takes such a point at the rate it did offer).
        let invalid_reason = if c.sent_frames == 0 {
            Some(
                "the generator sent nothing: the lab's link may be down; run the point again"
                    .to_string(),
            )
        } else if c.app_rx_frames > c.sent_frames {
            Some(format!(
                "received {} frames but {} were sent: other traffic reaches the receiver; stop \
                 whatever else sends into the lab",
                c.app_rx_frames, c.sent_frames
            ))
        } else {
            ipv4_sent
                .into()
                .disagrees(c.sent_frames, c.app_rx_frames, c.ipv4_frames)
                .or_else(|| shortfall_reason(asked_pps, offered_pps, &c))
        };
        let (offered_frames, lost_frames) = budget(receiver.method, &c);
        Point {
            offered_frames,
            lost_frames,
            label: receiver.label.clone(),
            method: receiver.method,
            rate,
            asked_pps,
            repetition,
            attempt: 1,
            offered_pps,
            ns_per_frame: cpu.and_then(|c| c.total_ns()),
            rx_ns_per_frame: cpu.map(|c| c.receiver_ns),
            napi_ns_per_frame: cpu.and_then(|c| c.kernel_ns),
            achieved_pps,
            achieved_l2_mbps: achieved_pps * (frame_len_bytes * 8) as f64 / 1e6,
            achieved_wire_mbps: achieved_pps * ((frame_len_bytes + WIRE_OVERHEAD_BYTES) * 8) as f64
                / 1e6,
            loss_pct: if c.sent_frames == 0 {
                0.0
            } else {
                100.0 * c.sent_frames.saturating_sub(c.app_rx_frames) as f64 / c.sent_frames as f64
            },
            valid: invalid_reason.is_none(),
            invalid_reason,
            counters: c,
        }
    }

    /// Whether the generator offered less than [`MIN_OFFERED_FRACTION`] of the rate asked,
    /// with the part the receiving side held it back by within it ([`Shortfall`]).
    pub fn fell_short(&self) -> bool {
        Shortfall::of(self.asked_pps, self.offered_pps, &self.counters).is_some()
    }

    /// Whether the receiving side held the generator back: it refused more of the frames
    /// asked than the engine allows ([`EngineKind::refusals_allowed`]; the rate was not
    /// taken), whatever the generator's own part.
    pub fn held_back(&self) -> bool {
        Shortfall::of(self.asked_pps, self.offered_pps, &self.counters)
            .is_some_and(|(_, s)| s.held_back > refusals_allowed(&self.counters))
    }

    /// The rate this point measured, frames/s: the asked one when the generator offered at
    /// least [`MIN_OFFERED_FRACTION`] of it, else what it did offer — a generator that fell
    /// behind on its own sent fewer frames per second, not bursts (its catch-up is bounded by
    /// its burst limit), so the receiver was measured at that lower rate. `None` for `max`.
    pub fn measured_pps(&self) -> Option<f64> {
        let asked = self.asked_pps?;
        Some(if self.offered_pps < MIN_OFFERED_FRACTION * asked { self.offered_pps } else { asked })
    }

    /// Takes a point that is invalid only because its generator fell behind on its own as a
    /// measurement at the rate it offered ([`Point::measured_pps`]): valid again, its reason
    /// cleared. A loss-targeted search does this; a fixed-rate point stays invalid (its row is
    /// for the rate asked).
    pub fn accept_at_offered_rate(&mut self) {
        if !self.held_back()
            && self.invalid_reason.is_some()
            && self.invalid_reason
                == shortfall_reason(self.asked_pps, self.offered_pps, &self.counters)
        {
            self.valid = true;
            self.invalid_reason = None;
        }
    }

    /// Marks the point invalid (the first reason is kept).
    pub fn invalidate(&mut self, reason: impl Into<String>) {
        if self.valid {
            self.valid = false;
            self.invalid_reason = Some(reason.into());
        }
    }
}

fn first_attempt() -> u32 {
    1
}

fn round_pps(pps: f64) -> u64 {
    pps.round() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn receiver() -> ReceiverSpec {
        ReceiverSpec::of(Method::Pcap)
    }

    fn counters(sent: u64, rx: u64, ipv4: u64) -> Counters {
        Counters {
            duration_s: 2.0,
            sent_frames: sent,
            iface_rx_frames: sent,
            app_rx_frames: rx,
            ipv4_frames: ipv4,
            rx_cpu_ns: 1_000_000_000,
            napi_cpu_ns: Some(500_000_000),
            ..Counters::default()
        }
    }

    #[test]
    fn derived_figures() {
        let p = Point::new(
            &receiver(),
            Rate::Pps(1_000_000),
            1,
            60,
            true,
            counters(2_000_000, 1_500_000, 1_500_000),
        );
        assert!(p.valid, "{:?}", p.invalid_reason);
        assert_eq!(p.offered_pps, 1_000_000.0);
        assert_eq!(p.achieved_pps, 750_000.0);
        assert_eq!(p.loss_pct, 25.0);
        assert_eq!(p.ns_per_frame, Some(1000.0));
        assert_eq!(p.achieved_l2_mbps, 360.0); // 750k × 60 B × 8
        assert_eq!(p.achieved_wire_mbps, 504.0); // 750k × 84 B × 8
    }

    #[test]
    fn judging_points() {
        let judge = |rate, c| Point::new(&receiver(), rate, 1, 60, true, c);
        // 1.9 M in 2 s = 0.95 Mpps offered of 1 Mpps asked: below 98 %.
        let p = judge(Rate::Pps(1_000_000), counters(1_900_000, 1_900_000, 1_900_000));
        assert!(!p.valid);
        assert!(p
            .invalid_reason
            .unwrap()
            .contains("the generator fell behind (offered 950000 pps, below 98 % of the 1000000"));
        // Held back by the receiving side (refusals worth the whole shortfall: 120 000 frames'
        // time of the 2 000 000 asked, beyond even the xdp engine's 5 %): that is what the
        // reason says.
        let mut c = counters(1_880_000, 1_880_000, 1_880_000);
        c.drops.generator_tx_dropped_frames = Some(120_000);
        c.engine = Some(EngineKind::Xdp);
        let mut p = judge(Rate::Pps(1_000_000), c.clone());
        assert!(p.fell_short() && p.held_back());
        assert!(p.invalid_reason.clone().unwrap().contains("its ring refused 120000 frames"));
        // Held back: not a measurement at what it offered either.
        p.accept_at_offered_rate();
        assert!(!p.valid);
        // Refusals worth 1 % of the time, 5 % more the generator's own: it fell behind…
        let mut own = c.clone();
        own.drops.generator_tx_dropped_frames = Some(20_000);
        let mut p = judge(Rate::Pps(1_000_000), own);
        assert!(p.fell_short() && !p.held_back());
        assert!(p.invalid_reason.clone().unwrap().starts_with("the generator fell behind"));
        // …so it measured the 940 kpps it offered, and a search takes it there.
        assert_eq!(p.measured_pps(), Some(940_000.0));
        p.accept_at_offered_rate();
        assert!(p.valid && p.invalid_reason.is_none());
        // With the xdp engine, 4 % refused (veth refuses that many of its batched frames
        // whatever the receiver) and 1.5 % the generator's own: each within its allowance, so
        // valid — measured at the 945 kpps offered.
        let mut both = counters(1_890_000, 1_890_000, 1_890_000);
        both.drops.generator_tx_dropped_frames = Some(80_000);
        both.engine = Some(EngineKind::Xdp);
        let p = judge(Rate::Pps(1_000_000), both.clone());
        assert!(p.valid, "{:?}", p.invalid_reason);
        assert_eq!(p.measured_pps(), Some(945_000.0));
        // The ring's target refuses only while it is slower than the rate: 4 % is held back.
        both.engine = Some(EngineKind::Ring);
        assert!(judge(Rate::Pps(1_000_000), both).held_back());
        // A point short of the rate and wrong for another reason stays invalid for that reason.
        let mut p = judge(Rate::Pps(1_000_000), counters(1_900_000, 1_900_000, 1_899_999));
        assert!(p.invalid_reason.clone().unwrap().contains("IPv4 count"));
        p.accept_at_offered_rate();
        assert!(!p.valid);
        // Frames the XDP path lost count at both ends: not refusals, the generator fell behind.
        c.drops.iface_rx_dropped_frames = Some(100_000);
        let p = judge(Rate::Pps(1_000_000), c);
        assert!(p.invalid_reason.unwrap().starts_with("the generator fell behind"));
        // 98.5 % offered is fine; `max` has nothing to fall short of.
        assert!(judge(Rate::Pps(1_000_000), counters(1_970_000, 10, 10)).valid);
        assert!(judge(Rate::Max, counters(1_000, 10, 10)).valid);
        let p = judge(Rate::Max, counters(1_000, 1_000, 999));
        assert!(p.invalid_reason.unwrap().contains("IPv4 count 999 disagrees with 1000"));
        let p = judge(Rate::Max, counters(1_000, 1_001, 1_001));
        assert!(p.invalid_reason.unwrap().contains("received 1001 frames but 1000 were sent"));
        let p = judge(Rate::Max, counters(0, 0, 0));
        assert!(!p.valid);
        let p = Point::new(&receiver(), Rate::Max, 1, 60, false, counters(10, 10, 0));
        assert!(p.valid);
        let mut p = judge(Rate::Max, counters(10, 10, 10));
        p.invalidate("receiver crashed");
        p.invalidate("second reason");
        assert_eq!(p.invalid_reason.as_deref(), Some("receiver crashed"));
    }

    #[test]
    fn a_mixed_files_ipv4_count_is_judged_with_the_rest() {
        // 10 frames sent, 6 of them IPv4.
        let judge = |rx, ipv4| {
            Point::new(
                &receiver(),
                Rate::Max,
                1,
                60,
                Ipv4Sent::Mixed { ipv4: 6 },
                counters(10, rx, ipv4),
            )
            .invalid_reason
        };
        assert_eq!(judge(10, 6), None);
        assert_eq!(judge(8, 5), None);
        assert_eq!(
            judge(10, 5).unwrap(),
            "IPv4 count 5 disagrees with the 6 IPv4 frames sent (all 10 frames received)"
        );
        assert_eq!(
            judge(8, 7).unwrap(),
            "IPv4 count 7 impossible: 8 frames received of 6 IPv4 and 4 other frames sent"
        );
        assert_eq!(
            judge(8, 2).unwrap(),
            "IPv4 count 2 impossible: 8 frames received of 6 IPv4 and 4 other frames sent"
        );
        // Received more than sent is judged first, as for a uniform file.
        assert!(judge(11, 6).unwrap().starts_with("received 11 frames but 10 were sent"));
    }
}
