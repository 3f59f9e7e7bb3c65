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

use crate::exit;
use crate::topology::link::LinkFacts;

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

    /// The engine a scenario or the command line names; `None` for `auto` or an order.
    pub fn from_choice(choice: Engine) -> Option<EngineKind> {
        match choice {
            Engine::Auto | Engine::Order(_) => None,
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

/// The engine a scenario (`generator.engine`) or `netlab replay --engine` asks for: `auto`,
/// one engine, or (a scenario only) an order of preference — the one choice both read (clap
/// and serde by the engines' names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Engine {
    /// The fastest engine that works on the interface.
    #[default]
    Auto,
    /// This engine.
    Fixed(EngineKind),
    /// The first of these engines that works on this kernel and interface
    /// (`engine = ["xdp", "ring"]`): a lab that wants live frames where the kernel allows them
    /// and the ring elsewhere, at every rate.
    Order(EngineOrder),
}

/// Engines in order of preference, each at most once (at least two: one is [`Engine::Fixed`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EngineOrder {
    kinds: [EngineKind; 4],
    len: u8,
}

impl EngineOrder {
    /// The order of `kinds`, or why it is not one (empty, or an engine twice).
    pub fn new(kinds: &[EngineKind]) -> Result<EngineOrder, String> {
        if kinds.is_empty() {
            return Err("an order of preference names at least one engine".into());
        }
        let mut order = EngineOrder { kinds: EngineKind::FASTEST_FIRST, len: 0 };
        for &kind in kinds {
            if order.kinds().contains(&kind) {
                return Err(format!("engine `{kind}` is named twice"));
            }
            order.kinds[order.len as usize] = kind;
            order.len += 1;
        }
        Ok(order)
    }

    /// The engines, most preferred first.
    pub fn kinds(&self) -> &[EngineKind] {
        &self.kinds[..self.len as usize]
    }
}

impl Engine {
    /// `auto`, then every engine in the registry's order (the single choices).
    pub const ALL: [Engine; 5] = [
        Engine::Auto,
        Engine::Fixed(EngineKind::Socket),
        Engine::Fixed(EngineKind::Mmsg),
        Engine::Fixed(EngineKind::Ring),
        Engine::Fixed(EngineKind::Xdp),
    ];

    /// The name a scenario and the command line give a single choice (`auto`, `ring`); an
    /// order's is `first-of`: [`Engine`]'s `Display` spells its engines out.
    pub fn name(self) -> &'static str {
        match self {
            Engine::Auto => "auto",
            Engine::Fixed(kind) => kind.name(),
            Engine::Order(_) => "first-of",
        }
    }

    /// One line of help.
    pub fn help(self) -> &'static str {
        match self {
            Engine::Auto => "The fastest engine that works on the interface, and why",
            Engine::Fixed(kind) => kind.descriptor().help(),
            Engine::Order(_) => "The first engine of the list that works here",
        }
    }

    /// The single choice named `name`.
    pub fn from_name(name: &str) -> Option<Engine> {
        Engine::ALL.into_iter().find(|e| e.name() == name)
    }

    /// The engines the choice may open for a replay paced at `paced_fps` (`None`: top speed),
    /// with an exact count or not, on an interface whose peer runs NAPI (`None`: not known
    /// yet): the one named, an order's, or those `auto` may pick.
    pub fn candidates(
        self,
        paced_fps: Option<u64>,
        exact_count: bool,
        peer_napi: Option<bool>,
    ) -> Vec<EngineKind> {
        match self {
            Engine::Auto => EngineKind::auto_may_pick(paced_fps, exact_count, peer_napi),
            Engine::Fixed(kind) => vec![kind],
            Engine::Order(order) => order.kinds().to_vec(),
        }
    }
}

impl fmt::Display for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Engine::Order(order) => {
                let names: Vec<&str> = order.kinds().iter().map(|k| k.name()).collect();
                write!(f, "first of {} that works", names.join(", "))
            }
            _ => f.write_str(self.name()),
        }
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
        match self {
            Engine::Order(order) => s.collect_seq(order.kinds()),
            _ => s.serialize_str(self.name()),
        }
    }
}

impl<'de> serde::Deserialize<'de> for Engine {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        const NAMES: &[&str] = &["auto", "socket", "mmsg", "ring", "xdp"];
        #[derive(serde::Deserialize)]
        #[serde(untagged)]
        enum Raw {
            One(String),
            Order(Vec<String>),
        }
        let kind = |name: &str| match Engine::from_name(name) {
            Some(Engine::Fixed(kind)) => Ok(kind),
            _ => Err(serde::de::Error::unknown_variant(name, &NAMES[1..])),
        };
        match Raw::deserialize(d)? {
            Raw::One(name) => Engine::from_name(&name)
                .ok_or_else(|| serde::de::Error::unknown_variant(&name, NAMES)),
            Raw::Order(names) => {
                let kinds = names.iter().map(|n| kind(n)).collect::<Result<Vec<_>, _>>()?;
                match kinds.as_slice() {
                    [one] => Ok(Engine::Fixed(*one)),
                    _ => EngineOrder::new(&kinds)
                        .map(Engine::Order)
                        .map_err(serde::de::Error::custom),
                }
            }
        }
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

/// Why this kernel cannot send with `kind` (`paced`: at a paced rate), or `None` when it can:
/// the kernel's own answer, probed once per process (only the xdp engine needs more of the
/// kernel than a packet socket: live frames, and for a paced rate the `may_goto` loop).
pub fn kernel_blocker(kind: EngineKind, paced: bool) -> Option<String> {
    if kind != EngineKind::Xdp {
        return None;
    }
    let probe = if paced {
        fastnet::bpf::paced_live_frames_available()
    } else {
        fastnet::bpf::live_frames_available()
    };
    probe.err().map(|e| e.to_string())
}

/// The engine `engine` takes on this kernel at `paced_fps` (`None`: top speed) into a lab
/// whose receive side runs NAPI, and why; `Err` with the kernel's reason when the engine named
/// cannot send here (or no engine of an order can). What `netlab check` and `netlab run` say
/// before building anything; the generator then chooses on the interface itself by the same
/// rules.
pub fn planned_choice(
    engine: Engine,
    paced_fps: Option<u64>,
    burst: usize,
) -> Result<(EngineKind, String), String> {
    let paced = paced_fps.is_some();
    let order: &[EngineKind] = match &engine {
        Engine::Fixed(kind) => {
            return match kernel_blocker(*kind, paced) {
                None => Ok((*kind, "asked for".into())),
                Some(why) => Err(format!("the {kind} engine cannot send here: {why}")),
            };
        }
        Engine::Order(order) => order.kinds(),
        Engine::Auto => &[EngineKind::Xdp, EngineKind::Ring],
    };
    let mut why = match (engine, paced_fps) {
        (Engine::Auto, Some(fps)) if paced_choice(fps, burst).0 == EngineKind::Ring => {
            return Ok((
                EngineKind::Ring,
                format!(
                    "auto: the ring holds {fps} frames/s smoothly (up to {RING_SMOOTH_MAX_FPS})"
                ),
            ));
        }
        (Engine::Auto, _) => "auto".to_string(),
        (order, _) => format!("the {order}"),
    };
    for &kind in order {
        match kernel_blocker(kind, paced) {
            Some(blocked) => why.push_str(&format!("; not {kind}: {blocked}")),
            None => {
                if engine == Engine::Auto && kind == EngineKind::Xdp {
                    why.push_str(": live frames reach a lab's receiver (its peer runs NAPI)");
                }
                if let Some(note) = paced_fps.and_then(|fps| rate_note(kind, fps, burst)) {
                    why.push_str(&format!("; {note}"));
                }
                return Ok((kind, why));
            }
        }
    }
    Err(format!("no engine can send here: {why}"))
}

/// The fastest rate a loss-targeted search may ask of `engine` without the generator faking
/// the loss: with the ring, [`RING_SMOOTH_MAX_FPS`] (above it the ring slips or sends in
/// bursts). `None` for the others: above that rate `auto` paces with the xdp engine, which
/// sends again the frames veth's full peer ring refuses (the ring has no backpressure for
/// redirected frames), so the search goes as far as the engine sends.
pub fn search_ceiling(engine: Engine) -> Option<u64> {
    match engine {
        Engine::Fixed(EngineKind::Ring) => Some(RING_SMOOTH_MAX_FPS),
        // An order may end up with any of its engines: the search goes as far as the one
        // chosen sends at top speed (its first step).
        Engine::Auto | Engine::Fixed(_) | Engine::Order(_) => None,
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
    // `auto` tries every engine, fastest first, by its own rules; an order, its engines as named.
    let (kinds, auto): (&[EngineKind], bool) = match &requested {
        Engine::Order(order) => (order.kinds(), false),
        _ => (&EngineKind::FASTEST_FIRST, true),
    };
    let mut skipped = Vec::new();
    for &kind in kinds {
        if kind == EngineKind::Xdp {
            if let Some(why) = why_not_xdp(around, pacing, exact_count, auto) {
                skipped.push(format!("not xdp: {why}"));
                continue;
            }
        }
        match Sender::open(kind, iface, frames, batch_for(kind), pacing) {
            Ok(sender) => {
                let mut reason = if !auto {
                    format!("the {requested} on `{iface}`")
                } else if kind == EngineKind::Xdp {
                    let mut r =
                        format!("auto: `{iface}`'s peer runs NAPI, so live frames reach it");
                    if let Some(p) = pacing {
                        r.push_str(&format!(
                            ", and the program waits for each frame's time (groups of {}; \
                             frames the peer's full ring refuses go again)",
                            p.inner_batch
                        ));
                    }
                    r
                } else {
                    format!("auto: the fastest engine that works on `{iface}`")
                };
                if !sender.is_cheap_per_call() {
                    reason.push_str(NOT_RESIDENT);
                }
                return Ok((sender, kind, explained(reason, &skipped, kind, pacing)));
            }
            Err(e) => {
                tracing::info!("engine {kind} cannot open on {iface}: {e}");
                skipped.push(format!("not {kind}: {e}"));
            }
        }
    }
    let choice = if auto { String::new() } else { format!(" of the {requested}") };
    Err(exit::unsupported(format!(
        "no engine{choice} can send on `{iface}`: {}",
        skipped.join("; ")
    )))
}

/// Why the xdp engine is not tried on `around` before it is opened, or `None`: an interface
/// whose peer takes no redirected frames (for `auto`, also one it cannot tell), and for `auto`
/// alone its own rules — a limit at top speed (live frames have no backpressure) and a paced
/// rate the ring holds smoothly.
fn why_not_xdp(
    around: &Surroundings,
    pacing: Option<XdpPacing>,
    exact_count: bool,
    auto: bool,
) -> Option<String> {
    if let Some(why) = around.xdp_blocker(auto) {
        return Some(why);
    }
    if !auto {
        return None;
    }
    if exact_count && pacing.is_none() {
        return Some(
            "a limit asks for an exact count at top speed, and live frames have no backpressure \
             (what the peer cannot take is dropped there), while the ring waits for room"
                .to_string(),
        );
    }
    let XdpPacing { fps, inner_batch, .. } = pacing?;
    (paced_choice(fps, inner_batch as usize).0 == EngineKind::Ring).then(|| {
        format!(
            "the ring holds {fps} frames/s smoothly (up to {RING_SMOOTH_MAX_FPS}), sending each \
             frame at its time"
        )
    })
}

/// `reason` for choosing `kind`, then why each engine before it was skipped and how `kind`
/// holds the paced rate, each after a `; `.
fn explained(
    mut reason: String,
    skipped: &[String],
    kind: EngineKind,
    pacing: Option<XdpPacing>,
) -> String {
    for s in skipped {
        reason.push_str("; ");
        reason.push_str(s);
    }
    if let Some(note) = pacing_note(kind, pacing) {
        reason.push_str(&format!("; {note}"));
    }
    reason
}

/// Why `kind` does not hold the paced rate `fps` smoothly here, or `None` when it does (or the
/// replay is not paced).
pub(crate) fn pacing_note(kind: EngineKind, pacing: Option<XdpPacing>) -> Option<String> {
    let XdpPacing { fps, inner_batch, .. } = pacing?;
    rate_note(kind, fps, inner_batch as usize)
}

/// Why `kind` does not hold `fps` smoothly here with bursts of at most `burst`, or `None`.
fn rate_note(kind: EngineKind, fps: u64, burst: usize) -> Option<String> {
    match (kind, paced_choice(fps, burst)) {
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

        // An order of preference: two or more engines, each once; one is that engine.
        let t: T = toml::from_str("engine = [\"xdp\", \"ring\"]").unwrap();
        let Engine::Order(order) = t.engine else { panic!("{:?}", t.engine) };
        assert_eq!(order.kinds(), [EngineKind::Xdp, EngineKind::Ring]);
        assert_eq!(t.engine.to_string(), "first of xdp, ring that works");
        assert_eq!(toml::to_string(&t).unwrap().trim(), "engine = [\"xdp\", \"ring\"]");
        let t: T = toml::from_str("engine = [\"mmsg\"]").unwrap();
        assert_eq!(t.engine, Engine::Fixed(EngineKind::Mmsg));
        for (bad, says) in [
            ("[]", "names at least one engine"),
            ("[\"xdp\", \"xdp\"]", "engine `xdp` is named twice"),
            ("[\"xdp\", \"auto\"]", "unknown variant `auto`, expected one of `socket`"),
            ("[\"rign\"]", "unknown variant `rign`"),
        ] {
            let err = toml::from_str::<T>(&format!("engine = {bad}")).unwrap_err().to_string();
            assert!(err.contains(says), "{bad}: {err}");
        }
        let order = Engine::Order(EngineOrder::new(&[EngineKind::Xdp, EngineKind::Ring]).unwrap());
        assert_eq!(order.candidates(Some(10_000), false, Some(true)), order_kinds(order));
        assert_eq!(
            Engine::Auto.candidates(Some(10_000), false, Some(true)),
            [EngineKind::Ring],
            "auto paces the ring below its smooth limit"
        );
    }

    fn order_kinds(engine: Engine) -> Vec<EngineKind> {
        match engine {
            Engine::Order(order) => order.kinds().to_vec(),
            _ => unreachable!(),
        }
    }

    /// Without live frames (turned off for this thread, as on a kernel refusing them) an order
    /// and `auto` plan the ring and say why not xdp; the xdp engine named is refused with the
    /// reason. The other engines need nothing of the kernel beyond a packet socket.
    #[test]
    fn the_plan_follows_what_the_kernel_allows() {
        let _off = fastnet::caps::without(&[fastnet::caps::Feature::LiveFrames]);
        let order = Engine::Order(EngineOrder::new(&[EngineKind::Xdp, EngineKind::Ring]).unwrap());
        for paced in [None, Some(100_000), Some(2_000_000)] {
            let (kind, why) = planned_choice(order, paced, 256).unwrap();
            assert_eq!(kind, EngineKind::Ring, "{paced:?}");
            assert!(why.starts_with("the first of xdp, ring that works; not xdp: "), "{why}");
            assert!(why.contains("FASTNET_WITHOUT lists `live-frames`"), "{why}");
            let err = planned_choice(Engine::Fixed(EngineKind::Xdp), paced, 256).unwrap_err();
            assert!(err.starts_with("the xdp engine cannot send here: "), "{err}");
            assert_eq!(kernel_blocker(EngineKind::Ring, paced.is_some()), None);
        }
        let (kind, why) = planned_choice(Engine::Auto, None, 256).unwrap();
        assert_eq!(kind, EngineKind::Ring);
        assert!(why.starts_with("auto; not xdp: "), "{why}");
        let (kind, why) = planned_choice(Engine::Auto, Some(2_000_000), 256).unwrap();
        assert_eq!(kind, EngineKind::Ring);
        assert!(why.contains("expect a slipped schedule"), "above the ring's smooth rate: {why}");
        let (kind, why) = planned_choice(Engine::Auto, Some(100_000), 256).unwrap();
        assert_eq!(
            (kind, why.as_str()),
            (EngineKind::Ring, "auto: the ring holds 100000 frames/s smoothly (up to 1500000)")
        );
        let only_xdp =
            Engine::Order(EngineOrder::new(&[EngineKind::Xdp, EngineKind::Xdp][..1]).unwrap());
        assert!(planned_choice(only_xdp, None, 256)
            .unwrap_err()
            .starts_with("no engine can send here"));
    }
}
