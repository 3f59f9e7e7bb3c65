//! What a replay did: frames and bytes handed to the kernel, rates, failures per `errno`,
//! lateness against the schedule, and what the peer received. Printed like tcpreplay's
//! `Actual:`/`Rated:` lines, or as one JSON object.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use super::engine::EngineKind;

/// Bytes an Ethernet frame takes on the wire beyond its L2 bytes: FCS (4), preamble and start
/// delimiter (8), inter-frame gap (12).
pub const WIRE_OVERHEAD_BYTES: u64 = 24;

/// The report of one replay. Every count says where it was taken: `frames_sent` is what the
/// kernel accepted from the generator (for `xdp`: program runs, each a redirect); `peer` is what
/// the other end of the link received, the only count that proves frames arrived.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SendReport {
    /// The interface sent on.
    pub interface: String,
    /// Its network namespace (`None`: the caller's).
    pub netns: Option<String>,
    /// The engine that sent.
    pub engine: EngineKind,
    /// Why that engine (for `auto`: why not the faster ones).
    pub engine_reason: String,
    /// The core the sender thread was pinned to.
    pub core: Option<usize>,
    /// What was asked: `100000 pps`, `100 Mbps (L2)`, `file timing ×2`, `top speed`.
    pub asked: String,
    /// Frames the schedule held, when fixed in advance (limit, loops, paced duration).
    pub planned_frames: Option<u64>,
    /// Frames the kernel accepted (`sent_frames` in JSON, as in `results.json`).
    #[serde(rename = "sent_frames")]
    pub frames_sent: u64,
    /// L2 bytes of those frames (without FCS).
    pub bytes_sent: u64,
    /// From the first frame's scheduled time to the end of sending (or of `--duration`), ns.
    pub elapsed_ns: u64,
    /// Time spent in `--loopdelay-ms` pauses, ns (inside `elapsed_ns`, outside the rates).
    pub loop_delay_ns: u64,
    /// Rates over `elapsed_ns − loop_delay_ns`.
    pub rated: Rated,
    /// Frames given up, by `errno` name (`EMSGSIZE`, `ENETDOWN`…).
    pub failed: BTreeMap<String, u64>,
    /// Refusals that were retried until the frame went (`ENOBUFS`: device queue full), by name.
    pub retried: BTreeMap<String, u64>,
    /// Frames the receiving side refused that the engine sent again later: the xdp engine's
    /// calls go on when the target's ring is full and it frees the frame, so it counts them
    /// (per frame) and sends as many again; the other engines see a refusal as an `errno` and
    /// retry (`retried`). Not in `sent_frames` until they went.
    #[serde(default)]
    pub refused_frames: u64,
    /// Lateness against the schedule (zeros at top speed).
    pub lateness: Lateness,
    /// The largest burst: most frames that left back to back (closer than half the rate's
    /// gap: frames handed to the kernel in one send call, or measured by the xdp engine's
    /// program), and the most allowed (overdue frames beyond it slip the schedule). `None` at
    /// top speed.
    pub burst: Option<Burst>,
    /// Why the engine does not hold this rate smoothly here, known before sending (`None`: it
    /// does, or top speed).
    pub pacing_note: Option<String>,
    /// What the peer received, when the interface is one end of a veth pair in this namespace.
    pub peer: Option<PeerCount>,
    /// How the replay ended.
    pub ended: Ended,
}

/// Rates, all over the sending time.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
pub struct Rated {
    /// Frames per second.
    pub pps: f64,
    /// L2 bytes per second (tcpreplay's `Bps`).
    pub bytes_per_sec: f64,
    /// L2 megabits per second (frame bytes without FCS × 8, as tcpreplay's `Mbps`).
    pub l2_mbps: f64,
    /// Wire megabits per second (+24 bytes per frame: FCS, preamble, inter-frame gap).
    pub wire_mbps: f64,
}

impl Rated {
    /// Rates of `frames` frames of `bytes` L2 bytes over `ns` nanoseconds.
    pub fn over(frames: u64, bytes: u64, ns: u64) -> Rated {
        if ns == 0 {
            return Rated::default();
        }
        let secs = ns as f64 / 1e9;
        let wire = bytes + frames * WIRE_OVERHEAD_BYTES;
        Rated {
            pps: frames as f64 / secs,
            bytes_per_sec: bytes as f64 / secs,
            l2_mbps: bytes as f64 * 8.0 / secs / 1e6,
            wire_mbps: wire as f64 * 8.0 / secs / 1e6,
        }
    }
}

/// How late batches left against the schedule: for each send call, the time from the first
/// frame's scheduled time to the call.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
pub struct Lateness {
    /// Send calls measured.
    pub batches: u64,
    /// Median lateness of a batch, ns.
    pub p50_ns: u64,
    /// 99th percentile, ns.
    pub p99_ns: u64,
    /// Largest, ns.
    pub max_ns: u64,
    /// Frames that left more than [`super::pacing::LATE_AFTER_NS`] after their time.
    pub late_frames: u64,
    /// Times the schedule slipped because more than a burst was overdue.
    pub slips: u64,
    /// Total slip, ns: how much later than planned the replay ended.
    pub slipped_ns: u64,
}

/// Bursts of a paced replay.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Burst {
    /// Most frames that left back to back.
    pub largest: u64,
    /// Most allowed (`--burst`).
    pub limit: u64,
}

/// Frames counted at the other end of the link.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PeerCount {
    /// The peer interface.
    pub interface: String,
    /// `rx_packets` (netlink `IFLA_STATS64`) gained during the replay (`iface_rx_frames` in
    /// JSON, as in `results.json`).
    #[serde(rename = "iface_rx_frames")]
    pub rx_packets: u64,
    /// `rx_dropped` gained during the replay, less the frames the engine sent again after the
    /// peer refused them (a veth counts those there too) (`iface_rx_dropped_frames` in JSON).
    #[serde(rename = "iface_rx_dropped_frames")]
    pub rx_dropped: u64,
}

/// How the replay ended.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "reason", content = "detail")]
pub enum Ended {
    /// Every frame of the schedule was handed over (or refused and counted).
    #[default]
    Completed,
    /// Stopped early on request (Ctrl-C, the runner).
    Stopped,
    /// The interface went away or down while sending (`ENETDOWN`, `ENXIO`, `ENODEV`).
    InterfaceFailed(String),
}

/// What the receiving interface's `rx_dropped` gain says was lost there, once the frames the
/// generator sent again after a refusal are taken out: a veth counts a redirected frame its
/// full ring refused in the peer's `rx_dropped` (and the sender's `tx_dropped`), and the xdp
/// engine sends every such frame again ([`SendReport::refused_frames`]).
pub fn dropped_beyond_refused(rx_dropped: u64, refused_frames: u64) -> u64 {
    rx_dropped.saturating_sub(refused_frames)
}

/// A paced replay whose schedule slipped by more than this share of its time did not hold the
/// rate.
pub const HELD_SLIP_FRACTION: f64 = 0.005;

impl SendReport {
    /// Frames given up in total.
    pub fn frames_failed(&self) -> u64 {
        self.failed.values().sum()
    }

    /// How a paced replay fell short of a smooth rate, or `None` when it held the rate smoothly
    /// (and at top speed): frames left in bursts larger than the limit, or the schedule slipped
    /// (bursts bounded, the rate not held).
    pub fn pacing_limit(&self) -> Option<String> {
        let burst = self.burst?;
        if burst.largest > burst.limit {
            return Some(format!("held only in bursts of {} frames", burst.largest));
        }
        if let Some(note) = &self.pacing_note {
            return Some(note.clone());
        }
        let l = &self.lateness;
        let active = self.elapsed_ns.saturating_sub(self.loop_delay_ns).max(1);
        if l.slipped_ns as f64 > HELD_SLIP_FRACTION * active as f64 {
            return Some(format!(
                "rate not held: with bursts of at most {} frames the schedule slipped {} \
                 ({:.0} pps sent); a larger burst limit holds it only in bursts",
                burst.limit,
                human_ns(l.slipped_ns),
                self.rated.pps
            ));
        }
        None
    }
}

fn seconds(ns: u64) -> String {
    format!("{:.6}", ns as f64 / 1e9)
}

/// A duration in the most readable unit: `850 ns`, `12.3 µs`, `4.56 ms`, `1.234 s`.
pub fn human_ns(ns: u64) -> String {
    match ns {
        0..=999 => format!("{ns} ns"),
        1_000..=999_999 => format!("{:.1} µs", ns as f64 / 1e3),
        1_000_000..=999_999_999 => format!("{:.2} ms", ns as f64 / 1e6),
        _ => format!("{:.3} s", ns as f64 / 1e9),
    }
}

fn by_errno(map: &BTreeMap<String, u64>) -> String {
    map.iter().map(|(k, v)| format!("{v} {k}")).collect::<Vec<_>>().join(", ")
}

impl fmt::Display for SendReport {
    /// The tcpreplay-style text report (several lines, no trailing newline).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let r = &self.rated;
        writeln!(
            f,
            "Actual: {} packets ({} bytes) sent in {} seconds",
            self.frames_sent,
            self.bytes_sent,
            seconds(self.elapsed_ns)
        )?;
        writeln!(
            f,
            "Rated: {:.1} Bps, {:.2} Mbps (L2), {:.2} Mbps (wire, +{WIRE_OVERHEAD_BYTES} B/frame), \
             {:.2} pps",
            r.bytes_per_sec, r.l2_mbps, r.wire_mbps, r.pps
        )?;
        let place = self.netns.as_deref().map(|n| format!(" in {n}")).unwrap_or_default();
        let core = self.core.map(|c| format!(", core {c}")).unwrap_or_default();
        writeln!(
            f,
            "Engine: {} ({}) on {}{place}{core} — {}",
            self.engine,
            self.engine.path(),
            self.interface,
            self.engine_reason
        )?;
        writeln!(
            f,
            "Asked: {}{}",
            self.asked,
            match self.planned_frames {
                Some(n) => format!(", {n} frames planned"),
                None => String::new(),
            }
        )?;
        let failed = self.frames_failed();
        if failed == 0 {
            write!(f, "Failed: 0 frames")?;
        } else {
            write!(f, "Failed: {failed} frames ({})", by_errno(&self.failed))?;
        }
        if !self.retried.is_empty() {
            write!(f, "; retried: {}", by_errno(&self.retried))?;
        }
        if self.refused_frames > 0 {
            write!(
                f,
                "; refused by the receiving side (ring full) and sent again: {} frames",
                self.refused_frames
            )?;
        }
        writeln!(f)?;
        let l = &self.lateness;
        if l.batches > 0 {
            writeln!(
                f,
                "Lateness (scheduled → sent, per send call, {} calls): p50 {}, p99 {}, max {}; \
                 late (> {}): {} frames; schedule slipped {} times, {} in all",
                l.batches,
                human_ns(l.p50_ns),
                human_ns(l.p99_ns),
                human_ns(l.max_ns),
                human_ns(super::pacing::LATE_AFTER_NS),
                l.late_frames,
                l.slips,
                human_ns(l.slipped_ns)
            )?;
        } else {
            writeln!(f, "Lateness: none measured (top speed: no schedule)")?;
        }
        if let Some(b) = &self.burst {
            write!(f, "Bursts: largest {} frames back to back (limit {})", b.largest, b.limit)?;
            match self.pacing_limit() {
                Some(limit) => writeln!(f, " — {limit}")?,
                None => writeln!(f, " — the rate was held smoothly")?,
            }
        }
        match &self.peer {
            Some(p) => {
                write!(f, "Peer: {} received {} packets", p.interface, p.rx_packets)?;
                if p.rx_dropped > 0 {
                    write!(f, ", dropped {}", p.rx_dropped)?;
                }
                write!(f, " (netlink rx_packets delta)")?;
                if p.rx_packets != self.frames_sent {
                    let lost = self.frames_sent as i128 - p.rx_packets as i128;
                    write!(f, " — {lost:+} against frames sent")?;
                }
            }
            None => write!(f, "Peer: not counted (no veth peer in this namespace)")?,
        }
        match &self.ended {
            Ended::Completed => Ok(()),
            Ended::Stopped => write!(f, "\nEnded: stopped early"),
            Ended::InterfaceFailed(why) => write!(f, "\nEnded: the interface failed: {why}"),
        }
    }
}

/// The conventional name of an `errno` value (`ENOBUFS`), or `errno N` for rare ones.
pub fn errno_name(errno: i32) -> String {
    let name = match errno {
        libc::ENOBUFS => "ENOBUFS",
        libc::EAGAIN => "EAGAIN",
        libc::EINTR => "EINTR",
        libc::EMSGSIZE => "EMSGSIZE",
        libc::ENETDOWN => "ENETDOWN",
        libc::ENXIO => "ENXIO",
        libc::ENODEV => "ENODEV",
        libc::EINVAL => "EINVAL",
        libc::EPERM => "EPERM",
        libc::EACCES => "EACCES",
        libc::ENOMEM => "ENOMEM",
        libc::EFAULT => "EFAULT",
        libc::ETIMEDOUT => "ETIMEDOUT",
        libc::EOPNOTSUPP => "EOPNOTSUPP",
        libc::ENETUNREACH => "ENETUNREACH",
        libc::EBUSY => "EBUSY",
        _ => return format!("errno {errno}"),
    };
    name.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paced(largest: u64, slipped_ns: u64, note: Option<&str>) -> SendReport {
        SendReport {
            interface: "gen0".into(),
            netns: None,
            engine: EngineKind::Ring,
            engine_reason: String::new(),
            core: None,
            asked: "1000000 pps".into(),
            planned_frames: Some(1_000_000),
            frames_sent: 1_000_000,
            bytes_sent: 60_000_000,
            elapsed_ns: 1_000_000_000 + slipped_ns,
            loop_delay_ns: 0,
            rated: Rated::over(1_000_000, 60_000_000, 1_000_000_000 + slipped_ns),
            failed: BTreeMap::new(),
            retried: BTreeMap::new(),
            refused_frames: 0,
            lateness: Lateness {
                slipped_ns,
                slips: u64::from(slipped_ns > 0),
                ..Lateness::default()
            },
            burst: Some(Burst { largest, limit: 64 }),
            pacing_note: note.map(str::to_string),
            peer: None,
            ended: Ended::Completed,
        }
    }

    #[test]
    fn the_report_says_when_a_rate_was_not_held_smoothly() {
        assert_eq!(paced(64, 0, None).pacing_limit(), None);
        // A slip of up to 0.5 % of the time still holds the rate.
        assert_eq!(paced(64, 5_000_000, None).pacing_limit(), None);
        assert_eq!(
            paced(80, 0, None).pacing_limit().as_deref(),
            Some("held only in bursts of 80 frames")
        );
        let slipped = paced(64, 500_000_000, None).pacing_limit().unwrap();
        assert!(slipped.starts_with("rate not held"), "{slipped}");
        assert!(slipped.contains("500.00 ms"), "{slipped}");
        let note = paced(64, 0, Some("no engine holds it")).pacing_limit();
        assert_eq!(note.as_deref(), Some("no engine holds it"));
        let text = paced(80, 0, None).to_string();
        assert!(text.contains("Bursts: largest 80 frames back to back (limit 64) — held only"));
        let mut top = paced(64, 0, None);
        top.burst = None;
        assert_eq!(top.pacing_limit(), None);
        assert!(!top.to_string().contains("Bursts:"));
    }

    #[test]
    fn rates_count_l2_and_wire_bytes() {
        // 208 333 frames of 60 bytes in one second: 100 Mbps L2, 140 Mbps on the wire.
        let r = Rated::over(208_333, 208_333 * 60, 1_000_000_000);
        assert!((r.l2_mbps - 99.99984).abs() < 1e-3, "{r:?}");
        assert!((r.wire_mbps - 139.99977).abs() < 1e-3, "{r:?}");
        assert!((r.pps - 208_333.0).abs() < 1e-6);
        assert_eq!(Rated::over(5, 300, 0).pps, 0.0);
    }

    #[test]
    fn errno_names() {
        assert_eq!(errno_name(libc::ENOBUFS), "ENOBUFS");
        assert_eq!(errno_name(libc::EMSGSIZE), "EMSGSIZE");
        assert_eq!(errno_name(4095), "errno 4095");
    }

    #[test]
    fn human_units() {
        assert_eq!(human_ns(850), "850 ns");
        assert_eq!(human_ns(12_345), "12.3 µs");
        assert_eq!(human_ns(4_560_000), "4.56 ms");
        assert_eq!(human_ns(1_234_000_000), "1.234 s");
    }
}
