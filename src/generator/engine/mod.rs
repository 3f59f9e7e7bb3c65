//! The send engines over `fastnet`'s senders, which one `auto` picks, and why.
//!
//! | engine | fastnet sender | path |
//! |---|---|---|
//! | `socket` | [`fastnet::afpacket::SendTx`] | one `send` per frame (tcpreplay's path) |
//! | `mmsg` | [`fastnet::afpacket::MmsgTx`] | `sendmmsg` batches |
//! | `ring` | [`fastnet::afpacket::RingTx`] | `PACKET_TX_RING` + `PACKET_QDISC_BYPASS` (trafgen's) |
//! | `xdp` | [`fastnet::bpf::LiveFrames`] | `BPF_PROG_RUN` live frames, redirected to the interface |
//!
//! `auto` takes `xdp` when the interface can take redirected frames — a veth whose peer runs
//! NAPI (GRO on, or an XDP program attached), as a netlab lab sets it up — else `ring`, else
//! `mmsg`. Two exceptions: a paced replay takes the engine that holds its rate with the
//! smallest bursts ([`paced_choice`]: the ring up to [`RING_SMOOTH_MAX_FPS`], xdp with the
//! schedule kept in the kernel above it, sending again what veth's full peer ring refuses),
//! and a top-speed replay with `--limit` takes the ring
//! (live frames have no backpressure: whatever the peer cannot take is dropped at the peer,
//! while the ring waits for room, so the peer gets exactly the limit). Redirect failures are
//! silent (the kernel drops the frame and counts nothing at the sender), so `xdp` is never
//! guessed for an interface whose peer cannot be inspected.

use std::fmt;

use anyhow::Context as _;
use fastnet::afpacket::TxConfig;
use fastnet::bpf::{LiveFrames, PacedCall, PacingLimits, PacingStats};
use fastnet::tx::Transmit;
use serde::Serialize;

use super::link::LinkFacts;
use crate::exit;

mod mmsg;
mod ring;
mod socket;
mod xdp;

/// Everything about one send engine. Adding an engine: one file implementing this, one
/// variant of [`EngineKind`] and its arm in [`EngineKind::descriptor`] (the registry).
pub trait SendEngine: Sync {
    /// The name a scenario and `netlab replay` give it.
    fn name(&self) -> &'static str;
    /// The kernel path, for the report.
    fn path(&self) -> &'static str;
    /// One line of help: what it is and when `auto` takes it.
    fn help(&self) -> &'static str;
    /// What it needs of the interface, beyond being up.
    fn needs(&self) -> &'static str {
        "nothing more: any interface netlab can open a packet socket on"
    }
    /// Frames per send call when no batch is given (`paced`: at a rate, else top speed).
    fn default_batch(&self, _paced: bool) -> usize {
        64
    }
    /// The largest batch it takes.
    fn max_batch(&self) -> usize;
    /// Opens it on `iface` (in the calling thread's namespace) to send `frames`, `batch` at a
    /// time at most.
    fn open(
        &self,
        iface: &str,
        frames: &[&[u8]],
        batch: usize,
        pacing: Option<XdpPacing>,
    ) -> fastnet::Result<Sender>;
}

/// An engine that sends (what `auto` resolves to): the registry of the engines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EngineKind {
    /// One `send` per frame on `AF_PACKET`.
    Socket,
    /// `sendmmsg` batches on `AF_PACKET`.
    Mmsg,
    /// `PACKET_TX_RING` + `PACKET_QDISC_BYPASS`.
    Ring,
    /// `BPF_PROG_RUN` live frames redirected to the interface.
    Xdp,
}

impl EngineKind {
    /// Every engine, fastest first (the order `auto` tries them in).
    pub const FASTEST_FIRST: [EngineKind; 4] =
        [EngineKind::Xdp, EngineKind::Ring, EngineKind::Mmsg, EngineKind::Socket];

    /// Its descriptor.
    pub fn descriptor(self) -> &'static dyn SendEngine {
        match self {
            EngineKind::Socket => &socket::Socket,
            EngineKind::Mmsg => &mmsg::Mmsg,
            EngineKind::Ring => &ring::Ring,
            EngineKind::Xdp => &xdp::Xdp,
        }
    }

    /// The name as the command line spells it.
    pub fn name(self) -> &'static str {
        self.descriptor().name()
    }

    /// The kernel path, for the report.
    pub fn path(self) -> &'static str {
        self.descriptor().path()
    }

    /// Most of the frames asked that its target may refuse before the receiving side counts
    /// as holding the generator back (a fraction). The skb engines wait on a refusal and
    /// retry, and the target refuses only while it is slower than the rate: 2 %. The paced
    /// xdp engine hands frames over in inner batches, of which veth's 256-slot ring refuses a
    /// few per cent whatever the receiver behind it (measured: `benchmarks/README.md`); they
    /// are sent again, none lost: 5 %.
    pub fn refusals_allowed(self) -> f64 {
        match self {
            EngineKind::Xdp => 0.05,
            EngineKind::Socket | EngineKind::Mmsg | EngineKind::Ring => 0.02,
        }
    }

    /// The engine a scenario or the command line names; `None` for `auto`.
    pub fn from_choice(choice: Engine) -> Option<EngineKind> {
        match choice {
            Engine::Auto => None,
            Engine::Fixed(kind) => Some(kind),
        }
    }

    /// Frames per send call when no batch is given: at top speed the `xdp` engine makes big
    /// calls (the per-call cost is paid once per call); at a paced rate every engine sends what
    /// is due, up to this many (the xdp engine: at least what falls due between two calls).
    pub fn default_batch(self, paced: bool) -> usize {
        self.descriptor().default_batch(paced)
    }

    /// The engines `auto` may pick (`choose_and_open`) for a replay paced at `paced_fps`
    /// (`None`: top speed), with an exact count or not, on an interface whose peer runs NAPI
    /// (`None`: not known yet, so either). The ring's own fallback (`mmsg`, when the ring
    /// cannot open at all) is a broken machine, not a choice, and is left out.
    pub fn auto_may_pick(
        paced_fps: Option<u64>,
        exact_count: bool,
        peer_napi: Option<bool>,
    ) -> Vec<EngineKind> {
        let xdp_for_rate = match paced_fps {
            Some(fps) => !ring_holds_smoothly(fps),
            None => !exact_count,
        };
        match (xdp_for_rate, peer_napi) {
            (false, _) | (true, Some(false)) => vec![EngineKind::Ring],
            (true, Some(true)) => vec![EngineKind::Xdp],
            (true, None) => vec![EngineKind::Xdp, EngineKind::Ring],
        }
    }

    /// The largest `batch` the engine takes.
    pub fn max_batch(self) -> usize {
        self.descriptor().max_batch()
    }
}

/// The engine a scenario (`generator.engine`) or `netlab replay --engine` asks for: `auto`
/// or one engine — the one choice both read (clap and serde by the engines' names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Engine {
    /// The fastest engine that works on the interface.
    #[default]
    Auto,
    /// This engine.
    Fixed(EngineKind),
}

impl Engine {
    /// `auto`, then every engine in the registry's order.
    pub const ALL: [Engine; 5] = [
        Engine::Auto,
        Engine::Fixed(EngineKind::Socket),
        Engine::Fixed(EngineKind::Mmsg),
        Engine::Fixed(EngineKind::Ring),
        Engine::Fixed(EngineKind::Xdp),
    ];

    /// The name a scenario and the command line give it.
    pub fn name(self) -> &'static str {
        match self {
            Engine::Auto => "auto",
            Engine::Fixed(kind) => kind.name(),
        }
    }

    /// One line of help.
    pub fn help(self) -> &'static str {
        match self {
            Engine::Auto => "The fastest engine that works on the interface, and why",
            Engine::Fixed(kind) => kind.descriptor().help(),
        }
    }

    /// The choice named `name`.
    pub fn from_name(name: &str) -> Option<Engine> {
        Engine::ALL.into_iter().find(|e| e.name() == name)
    }
}

impl fmt::Display for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl clap::ValueEnum for Engine {
    fn value_variants<'a>() -> &'a [Self] {
        &Engine::ALL
    }

    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        Some(clap::builder::PossibleValue::new(self.name()).help(self.help()))
    }
}

impl Serialize for Engine {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de> serde::Deserialize<'de> for Engine {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        const NAMES: &[&str] = &["auto", "socket", "mmsg", "ring", "xdp"];
        let name = String::deserialize(d)?;
        Engine::from_name(&name).ok_or_else(|| serde::de::Error::unknown_variant(&name, NAMES))
    }
}

/// Least time between two xdp calls (at most 1000 calls per second): why the xdp engine at a
/// paced rate makes long calls that keep the schedule inside the kernel
/// ([`XDP_PACED_CALL_NS`]) instead of a call per due batch.
///
/// Why: every live-frames call creates a page pool for its frames and destroys it at the end;
/// frames still in flight (on their way through the peer's NAPI, as the last ones of a call
/// always are with threaded NAPI) keep it alive, so its release is deferred to a kworker on the
/// sender's core, retried every second, and each release walks the kernel's table of every XDP
/// memory model still registered: the deferred releases grow with the square of the call rate,
/// and too many pending pools make every further call fail with `ENOSPC` (the XDP memory-model
/// ids run out) until the backlog drains (measured: `benchmarks/README.md`, "Pacing
/// candidates").
pub const XDP_MIN_CALL_GAP_NS: u64 = 1_000_000;

/// How much of the schedule one paced xdp call covers, ns: its frames are due within this
/// window and the program waits for each one's time. 100 calls per second, far below the page
/// pool's limit ([`XDP_MIN_CALL_GAP_NS`]); a stop request is seen within it.
pub const XDP_PACED_CALL_NS: u64 = 10_000_000;
const _: () = assert!(XDP_PACED_CALL_NS >= XDP_MIN_CALL_GAP_NS);

/// A paced xdp call is made this long before its first frame is due, ns, so that the call's
/// set-up is over when the frame's time comes and the frame is not late.
pub const XDP_PACED_LEAD_NS: u64 = 50_000;

/// Most frames per inner batch of a paced xdp call (see [`xdp_inner_batch`]): half of veth's
/// 256-slot ring.
pub const XDP_PACED_MAX_INNER_BATCH: u32 = 128;

/// The fastest paced rate the ring is taken to hold smoothly into a real receiver (frames per
/// second; measured: `benchmarks/README.md`, "Pacing candidates"). `auto` takes the ring up to
/// this rate.
pub const RING_SMOOTH_MAX_FPS: u64 = 1_500_000;

/// How `auto` sends a paced rate: the engine it prefers, and `None` when that holds the rate
/// smoothly here, else why not. Nothing here holds a rate above [`RING_SMOOTH_MAX_FPS`]
/// smoothly (measured: `benchmarks/README.md`), so above it `auto` takes the xdp
/// engine, which keeps the schedule in the kernel and sends in groups of its inner batch, and
/// says so. Also what `netlab check` prints for each rate.
pub fn paced_choice(fps: u64, burst: usize) -> (EngineKind, Option<String>) {
    if ring_holds_smoothly(fps) {
        return (EngineKind::Ring, None);
    }
    (
        EngineKind::Xdp,
        Some(format!(
            "no engine holds {fps} frames/s smoothly here (the ring up to \
             {RING_SMOOTH_MAX_FPS}): held only in bursts of {} frames",
            xdp_inner_batch(fps, burst)
        )),
    )
}

/// The fastest rate a loss-targeted search may ask of `engine` without the generator faking
/// the loss: with the ring, [`RING_SMOOTH_MAX_FPS`] (above it the ring slips or sends in
/// bursts). `None` for the others: above that rate `auto` paces with the xdp engine, which
/// sends again the frames veth's full peer ring refuses (the ring has no backpressure for
/// redirected frames), so the search goes as far as the engine sends.
pub fn search_ceiling(engine: Engine) -> Option<u64> {
    match engine {
        Engine::Fixed(EngineKind::Ring) => Some(RING_SMOOTH_MAX_FPS),
        Engine::Auto | Engine::Fixed(_) => None,
    }
}

/// Whether the ring engine holds `fps` without bursts here (the one rule `auto` and its
/// preflight both follow).
fn ring_holds_smoothly(fps: u64) -> bool {
    fps <= RING_SMOOTH_MAX_FPS
}

/// Frames per inner batch of a paced xdp call at `fps` with a burst limit: the frames of a
/// batch reach the target together, so at most the burst and at most half of veth's 256-slot
/// ring; and the kernel runs a batch with bottom halves (and so preemption) off on the send
/// core while the program waits for each frame's time, so at most what falls due in
/// [`XDP_PACED_MAX_BATCH_NS`].
pub fn xdp_inner_batch(fps: u64, burst: usize) -> u32 {
    let by_time = u32::try_from(fps.saturating_mul(XDP_PACED_MAX_BATCH_NS) / 1_000_000_000)
        .unwrap_or(u32::MAX);
    let by_burst = u32::try_from(burst).unwrap_or(u32::MAX);
    by_time.min(by_burst).clamp(1, XDP_PACED_MAX_INNER_BATCH)
}

/// Longest an inner batch of a paced xdp call lasts, ns (see [`xdp_inner_batch`]).
pub const XDP_PACED_MAX_BATCH_NS: u64 = 100_000;

/// Frames per `BPF_PROG_RUN` call at top speed: ~2.5 ms of sending at 6 Mpps, so a stop request
/// or the end of `--duration` is seen within that, while the per-call cost is amortised over
/// thousands of frames.
pub const XDP_TOP_SPEED_BATCH: usize = 16_384;

impl fmt::Display for EngineKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What the interface and its peer look like, for the engine choice.
#[derive(Debug, Clone)]
pub struct Surroundings {
    /// The interface the generator sends on.
    pub link: LinkFacts,
    /// The other end of the veth pair, when it is in the same namespace.
    pub peer: Option<LinkFacts>,
    /// Whether GRO is on at the peer (`None`: not known).
    pub peer_gro: Option<bool>,
    /// Distinct frame contents in the replay.
    pub distinct_frames: usize,
}

impl Surroundings {
    /// Why `xdp` cannot send on this interface, or `None` when it can. `strict` (for `auto`)
    /// also refuses interfaces where it cannot tell.
    pub fn xdp_blocker(&self, strict: bool) -> Option<String> {
        if strict && self.distinct_frames > 1 {
            return Some(format!(
                "the file holds {} different frames and live frames send one frame content \
                 per call, so calls would be short; name the xdp engine to use it anyway",
                self.distinct_frames
            ));
        }
        let name = &self.link.name;
        if !self.link.is_veth() {
            return strict.then(|| {
                format!(
                    "cannot tell whether `{name}`'s driver takes redirected frames \
                     (ndo_xdp_xmit); name the xdp engine to try, and count at the receiver"
                )
            });
        }
        let Some(peer) = &self.peer else {
            return strict.then(|| {
                format!(
                    "the peer of veth `{name}` is in another namespace, so whether it runs NAPI \
                     (needed to take redirected frames) cannot be checked"
                )
            });
        };
        let napi = peer.xdp_attached || self.peer_gro == Some(true);
        (!napi).then(|| {
            format!(
                "the peer `{}` of veth `{name}` runs no NAPI (GRO off, no XDP program), so veth \
                 would drop redirected frames silently; turn GRO on at the peer \
                 (`ethtool -K {} gro on`, as a netlab lab does)",
                peer.name, peer.name
            )
        })
    }
}

/// A paced replay as the engines see it: its rate, and how the xdp engine would keep the
/// schedule (the program's limits and its inner batch).
#[derive(Debug, Clone, Copy)]
pub struct XdpPacing {
    /// Frames per second (of the schedule's first second).
    pub fps: u64,
    /// What the pacing program allows (how late a frame may be, how long a burst).
    pub limits: PacingLimits,
    /// Frames per inner batch of a paced call ([`xdp_inner_batch`]).
    pub inner_batch: u32,
}

/// An open engine, ready to send: every engine is a [`Transmit`] (the xdp engine at top speed
/// sends each run of equal frames with one `BPF_PROG_RUN` call), except the xdp engine at a
/// paced rate, which keeps the schedule inside its calls ([`LiveFrames::send_paced`]).
pub struct Sender {
    tx: Tx,
    /// For xdp: whether the program stays attached between calls (cheap calls).
    resident: bool,
}

enum Tx {
    Frames(Box<dyn Transmit>),
    PacedLive(LiveFrames),
}

impl fmt::Debug for Sender {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender").field("resident", &self.resident).finish_non_exhaustive()
    }
}

impl Sender {
    /// Opens `kind` on interface `iface` (in the calling thread's namespace) to send `frames`;
    /// `pacing`: the replay is paced, and the xdp engine keeps its schedule within these
    /// limits.
    pub(crate) fn open(
        kind: EngineKind,
        iface: &str,
        frames: &[&[u8]],
        batch: usize,
        pacing: Option<XdpPacing>,
    ) -> fastnet::Result<Sender> {
        kind.descriptor().open(iface, frames, batch, pacing)
    }

    /// Whether the engine keeps the schedule itself: hand it the frames of a window ahead of
    /// time with [`Sender::send_paced`] instead of due frames with [`Sender::transmit`].
    pub(crate) fn paces_itself(&self) -> bool {
        matches!(self.tx, Tx::PacedLive(_))
    }

    /// Sends one window of frames, each at its time (the engine that [`Sender::paces_itself`]).
    pub(crate) fn send_paced(&mut self, call: &PacedCall) -> fastnet::Result<PacingStats> {
        match &mut self.tx {
            Tx::PacedLive(live) => live.send_paced(call),
            Tx::Frames(_) => Err(fastnet::Error::InvalidConfig {
                what: "send engine",
                why: "this engine does not keep a schedule; hand it due frames".into(),
            }),
        }
    }

    /// A sender of packet-socket frames (every engine but xdp), `batch` frames a call at most.
    fn packet_socket_config(batch: usize) -> TxConfig {
        TxConfig { batch: batch.min(fastnet::afpacket::MAX_BATCH), ..TxConfig::default() }
    }

    /// Whether a call costs little beyond its frames (false: an xdp program that could not stay
    /// attached, so every call pays the dispatcher update).
    pub(crate) fn is_cheap_per_call(&self) -> bool {
        self.resident
    }

    /// Hands `frames` to the kernel: `Ok(n)` took the first `n`, `Err` refused `frames[0]`.
    #[inline]
    pub(crate) fn transmit(&mut self, frames: &[&[u8]]) -> fastnet::Result<usize> {
        match &mut self.tx {
            Tx::Frames(tx) => tx.transmit(frames),
            Tx::PacedLive(live) => live.transmit(frames),
        }
    }

    /// Waits until everything taken has gone to the device (the ring); no-op otherwise.
    pub(crate) fn flush(&mut self) -> fastnet::Result<()> {
        match &mut self.tx {
            Tx::Frames(tx) => tx.flush(),
            Tx::PacedLive(_) => Ok(()),
        }
    }
}

/// Resolves the requested engine for this interface and opens it. Returns the sender, the
/// engine and a one-line reason (for `auto`: why this one, and why not the faster ones).
pub(crate) fn choose_and_open(
    requested: Engine,
    around: &Surroundings,
    frames: &[&[u8]],
    batch: Option<usize>,
    pacing: Option<XdpPacing>,
    exact_count: bool,
    force: bool,
) -> anyhow::Result<(Sender, EngineKind, String)> {
    let iface = around.link.name.as_str();
    let paced = pacing.is_some();
    let batch_for = |k: EngineKind| batch.unwrap_or_else(|| k.default_batch(paced));
    if let Some(kind) = EngineKind::from_choice(requested) {
        if kind == EngineKind::Xdp {
            if let Some(why) = around.xdp_blocker(false) {
                if !force {
                    return Err(exit::field_error(
                        exit::Code::Unsupported,
                        super::field("engine"),
                        format!(
                            "xdp cannot send on `{iface}`: {why}; engines that can: {}",
                            usable_without_xdp()
                        ),
                        Some(super::field("force")),
                    ));
                }
            }
        }
        let sender = Sender::open(kind, iface, frames, batch_for(kind), pacing)
            .map_err(|e| open_error(kind, iface, e))?;
        let mut reason = "asked for".to_string();
        if !sender.is_cheap_per_call() {
            reason.push_str(NOT_RESIDENT);
        }
        return Ok((sender, kind, reason));
    }
    let mut skipped = Vec::new();
    for kind in EngineKind::FASTEST_FIRST {
        if kind == EngineKind::Xdp {
            if let Some(why) = around.xdp_blocker(true) {
                skipped.push(format!("not xdp: {why}"));
                continue;
            }
            if exact_count && pacing.is_none() {
                skipped.push(
                    "not xdp: a limit asks for an exact count at top speed, and live frames have \
                     no backpressure (what the peer cannot take is dropped there), while the \
                     ring waits for room"
                        .to_string(),
                );
                continue;
            }
            if let Some(XdpPacing { fps, inner_batch, .. }) = pacing {
                if paced_choice(fps, inner_batch as usize).0 == EngineKind::Ring {
                    skipped.push(format!(
                        "not xdp: the ring holds {fps} frames/s smoothly (up to \
                         {RING_SMOOTH_MAX_FPS}), sending each frame at its time"
                    ));
                    continue;
                }
            }
        }
        match Sender::open(kind, iface, frames, batch_for(kind), pacing) {
            Ok(sender) => {
                let mut reason = format!("auto: the fastest engine that works on `{iface}`");
                if kind == EngineKind::Xdp {
                    reason = format!("auto: `{iface}`'s peer runs NAPI, so live frames reach it");
                    if let Some(p) = pacing {
                        reason.push_str(&format!(
                            ", and the program waits for each frame's time (groups of {}; \
                             frames the peer's full ring refuses go again)",
                            p.inner_batch
                        ));
                    }
                    if !sender.is_cheap_per_call() {
                        reason.push_str(NOT_RESIDENT);
                    }
                }
                for s in &skipped {
                    reason.push_str("; ");
                    reason.push_str(s);
                }
                if let Some(note) = pacing_note(kind, pacing) {
                    reason.push_str(&format!("; {note}"));
                }
                return Ok((sender, kind, reason));
            }
            Err(e) => {
                tracing::info!("engine {kind} cannot open on {iface}: {e}");
                skipped.push(format!("not {kind}: {e}"));
            }
        }
    }
    Err(exit::unsupported(format!("no engine can send on `{iface}`: {}", skipped.join("; "))))
}

/// Why `kind` does not hold the paced rate `fps` smoothly here, or `None` when it does (or the
/// replay is not paced).
pub(crate) fn pacing_note(kind: EngineKind, pacing: Option<XdpPacing>) -> Option<String> {
    let XdpPacing { fps, inner_batch, .. } = pacing?;
    match (kind, paced_choice(fps, inner_batch as usize)) {
        (EngineKind::Xdp, (_, note)) => note,
        (_, (_, None)) => None,
        (_, (_, Some(_))) => Some(format!(
            "the {kind} engine holds at most {RING_SMOOTH_MAX_FPS} frames/s smoothly here: \
             expect a slipped schedule"
        )),
    }
}

const NOT_RESIDENT: &str = " (its program could not stay attached to the interface, which \
                            already has a generic XDP program: every call pays the dispatcher \
                            update)";

fn usable_without_xdp() -> String {
    [EngineKind::Ring, EngineKind::Mmsg, EngineKind::Socket]
        .iter()
        .map(|k| k.name())
        .collect::<Vec<_>>()
        .join(", ")
}

fn open_error(kind: EngineKind, iface: &str, e: fastnet::Error) -> anyhow::Error {
    let unsupported = matches!(e, fastnet::Error::Unsupported { .. });
    let err = anyhow::Error::new(e);
    if unsupported {
        let msg = format!("engine {kind} is not supported on `{iface}`: {err}");
        return exit::unsupported(msg);
    }
    err.context(format!("cannot open engine {kind} on `{iface}`"))
}

/// Reads what the engine choice needs about `iface` and its peer, in the calling thread's
/// namespace.
pub(crate) fn surroundings(
    link: LinkFacts,
    distinct_frames: usize,
) -> anyhow::Result<Surroundings> {
    let peer = match link.peer_ifindex {
        Some(i) => LinkFacts::by_index(i)?,
        None => None,
    };
    let peer_gro = match &peer {
        Some(p) => fastnet::ethtool::Ethtool::open()
            .and_then(|e| e.gro(&p.name))
            .map(Some)
            .with_context(|| format!("cannot read GRO of `{}`", p.name))
            .unwrap_or_else(|e| {
                tracing::info!("{e:#}");
                None
            }),
        None => None,
    };
    Ok(Surroundings { link, peer, peer_gro, distinct_frames })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_takes_the_ring_while_it_is_smooth_and_says_when_nothing_is() {
        assert_eq!(paced_choice(500_000, 64), (EngineKind::Ring, None));
        assert_eq!(paced_choice(RING_SMOOTH_MAX_FPS, 64), (EngineKind::Ring, None));
        let (engine, note) = paced_choice(2_000_000, 64);
        assert_eq!(engine, EngineKind::Xdp);
        let note = note.unwrap();
        assert!(note.contains("no engine holds 2000000 frames/s smoothly"), "{note}");
        assert!(note.contains("held only in bursts of 64 frames"), "{note}");
    }

    #[test]
    fn paced_xdp_inner_batches_follow_the_burst_and_stay_short() {
        // At most the burst, at most 128, and no longer than 100 µs of the schedule.
        assert_eq!(xdp_inner_batch(3_000_000, 64), 64);
        assert_eq!(xdp_inner_batch(3_000_000, 1000), 128);
        assert_eq!(xdp_inner_batch(500_000, 64), 50);
        assert_eq!(xdp_inner_batch(1_000, 64), 1);
        assert_eq!(xdp_inner_batch(3_000_000, 1), 1);
    }

    #[test]
    fn every_registered_engine_has_a_name_help_and_sane_batches() {
        for kind in EngineKind::FASTEST_FIRST {
            let d = kind.descriptor();
            assert_eq!(Engine::from_name(d.name()), Some(Engine::Fixed(kind)));
            assert!(!d.help().trim().is_empty() && !d.path().trim().is_empty(), "{kind}");
            assert!(!d.needs().trim().is_empty(), "{kind}");
            for paced in [false, true] {
                assert!(d.default_batch(paced) <= d.max_batch(), "{kind} paced={paced}");
            }
        }
        assert_eq!(Engine::ALL.len(), EngineKind::FASTEST_FIRST.len() + 1);
        assert_eq!(Engine::from_name("auto"), Some(Engine::Auto));
        assert_eq!(Engine::from_name("rign"), None);
    }

    #[test]
    fn the_choice_reads_and_writes_the_engines_names() {
        #[derive(Debug, serde::Deserialize, Serialize)]
        struct T {
            engine: Engine,
        }
        let t: T = toml::from_str("engine = \"ring\"").unwrap();
        assert_eq!(t.engine, Engine::Fixed(EngineKind::Ring));
        assert_eq!(toml::to_string(&t).unwrap().trim(), "engine = \"ring\"");
        let err = toml::from_str::<T>("engine = \"rign\"").unwrap_err().to_string();
        assert!(err.contains("unknown variant `rign`, expected one of `auto`"), "{err}");
    }
}
