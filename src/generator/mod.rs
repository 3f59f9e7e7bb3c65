//! The generator: replays frames on an interface at a rate, from a dedicated OS thread pinned to
//! one core inside the interface's network namespace, and reports what was sent, how late, and
//! what the peer received.
//!
//! - [`pacing`]: the absolute schedule (exact counts, no drift, bounded catch-up).
//! - [`engine`]: the send engines over `fastnet` (`socket`, `mmsg`, `ring`, `xdp`) and `auto`.
//! - interface facts (MTU, carrier, veth peer, counters): [`crate::topology::link::LinkFacts`],
//!   read on the sender thread inside the interface's namespace.
//! - [`report`]: [`SendReport`], printed like tcpreplay or as JSON.
//!
//! # Bursts
//! A receiver takes a rate it keeps only if the frames come spread out: veth's peer has a
//! 256-slot ring, and a burst larger than what its NAPI drains meanwhile is lost there, not to
//! the receiver's limits. So a paced replay sends at most `burst` frames back to back
//! ([`DEFAULT_BURST`], `--burst` / scenario `[generator] burst` raises it), a sender further
//! behind slips the schedule instead, and every report and results point records the largest
//! burst sent (frames handed to the kernel in one call — they leave back to back — or, for the
//! xdp engine, runs its program measured, at least its inner batch) and, when the rate was not
//! held smoothly, why ([`SendReport::pacing_limit`]). `auto` takes, per rate, the engine that
//! holds it with the smallest bursts ([`engine::paced_choice`]), and says when nothing here
//! holds it smoothly.
//!
//! How the paced xdp engine keeps the schedule: the program itself waits on the kernel's clock
//! until each frame's time (a loop bounded by `may_goto`, Linux ≥ 6.9: `bpf_loop`'s callback
//! needs BTF function info that a hand-assembled program does not carry), each call covering
//! [`engine::XDP_PACED_CALL_NS`] of the schedule, calls at least [`engine::XDP_MIN_CALL_GAP_NS`]
//! apart. Frames that veth's full peer ring refuses (it has no backpressure for redirected
//! frames) are counted by a BPF program on the `xdp_devmap_xmit` tracepoint
//! ([`fastnet::bpf::PacingStats::refused`]) and sent again later, the schedule slipping by their
//! time as the ring's retries slip it; the refusals show as the receiving side holding the
//! generator back ([`crate::results::Shortfall`]). What each pacing candidate gave when measured,
//! and why these were kept: `benchmarks/README.md`, "Pacing candidates".
//!
//! # Use
//! ```no_run
//! # fn main() -> anyhow::Result<()> {
//! use std::time::Duration;
//! use netlab::generator::{Generator, GeneratorConfig, Pace};
//!
//! let frames = netlab::packet::file::read_frames("packets/udp64.pcap")?;
//! let mut config = GeneratorConfig::new("gen0", frames, Pace::MilliPps(100_000 * 1000));
//! config.netns = Some("netlab-t1".into());
//! config.loops = 0; // repeat the file…
//! config.duration = Some(Duration::from_secs(3)); // …for exactly 300 000 frames
//! config.core = Some(0);
//! let generator = Generator::prepare(config)?; // checks, engine opened, thread pinned, waiting
//! let running = generator.start();
//! let report = running.wait()?;
//! println!("{report}");
//! # Ok(()) }
//! ```

pub mod engine;
pub mod jitter;
pub mod pacing;
pub mod report;
mod sender;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

pub use engine::{search_ceiling, Engine, EngineKind};
pub use pacing::Pace;
pub use report::{Burst, Ended, Lateness, PeerCount, Rated, SendReport};

use crate::exit::{bad_field, bad_input, Field, Section};
use crate::packet::file::Frame;
use crate::worker::Worker;

/// Most frames sent back to back unless asked otherwise: a quarter of veth's 256-slot ring, so
/// a receiver that keeps the rate also takes its bursts.
pub const DEFAULT_BURST: usize = 64;

/// Everything one replay needs. Build with [`GeneratorConfig::new`] and set the rest.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct GeneratorConfig {
    /// The interface to send on.
    pub interface: String,
    /// Its network namespace (`/run/netns/NAME`); `None`: the caller's.
    pub netns: Option<String>,
    /// The frames of one pass, in send order, MACs already rewritten.
    pub frames: Vec<Frame>,
    /// Where the frames came from, for messages (`packets/udp64.pcap`).
    pub source: String,
    /// How frames are spaced.
    pub pace: Pace,
    /// Passes over the frames; 0 = until the limit, the duration or a stop.
    pub loops: u64,
    /// At most this many frames.
    pub limit: Option<u64>,
    /// Paced: the frames whose scheduled time falls within it (R × D). Top speed: wall time.
    pub duration: Option<Duration>,
    /// Pause before every pass but the first; not counted against the rate.
    pub loop_delay: Duration,
    /// The engine, or `auto`.
    pub engine: Engine,
    /// Most frames per send call (`None`: the engine's default).
    pub batch: Option<usize>,
    /// Most frames sent back to back (`None`: [`DEFAULT_BURST`]): overdue frames beyond it
    /// slip the schedule.
    pub burst: Option<usize>,
    /// Pin the sender thread to this core.
    pub core: Option<usize>,
    /// Send even when the interface is down or has no carrier, or the xdp engine's peer runs
    /// no NAPI.
    pub force: bool,
    /// Read the peer's receive counter before and after (waiting for it to settle).
    pub count_peer: bool,
    /// The interface (in the same namespace) whose receive counter is the peer's; `None`: the
    /// other end of the veth pair, if it is in this namespace. A bridge lab names its receiver.
    pub peer_interface: Option<String>,
}

impl GeneratorConfig {
    /// One pass over `frames` on `interface` at `pace`, engine `auto`, no pinning, peer counted.
    pub fn new(interface: impl Into<String>, frames: Vec<Frame>, pace: Pace) -> Self {
        Self {
            interface: interface.into(),
            netns: None,
            frames,
            source: "the packet file".into(),
            pace,
            loops: 1,
            limit: None,
            duration: None,
            loop_delay: Duration::ZERO,
            engine: Engine::Auto,
            batch: None,
            burst: None,
            core: None,
            force: false,
            count_peer: true,
            peer_interface: None,
        }
    }

    /// Checks what can be checked without the interface: frames present, rates and sizes
    /// sensible, a multiplier only on a file with timing.
    pub fn validate(&self) -> anyhow::Result<()> {
        if self.frames.is_empty() {
            return Err(bad_input(format!("{}: no frames to send", self.source)));
        }
        match self.pace {
            Pace::MilliPps(0) | Pace::L2BitsPerSec(0) | Pace::MultiplierMicros(0) => {
                return Err(bad_input("the rate must be greater than zero"));
            }
            Pace::MultiplierMicros(_) => {
                if self.frames.len() < 2 {
                    return Err(bad_field(
                        field("multiplier"),
                        format!(
                            "{} holds a single packet, so it has no timing to scale; give a \
                             rate in pps or Mbps",
                            self.source
                        ),
                    ));
                }
                let first = self.frames[0].ts_ns;
                if self.frames.iter().all(|f| f.ts_ns == first) {
                    return Err(bad_field(
                        field("multiplier"),
                        format!(
                            "every packet in {} has the same timestamp, so there is no timing to \
                             scale; give a rate in pps or Mbps",
                            self.source
                        ),
                    ));
                }
            }
            _ => {}
        }
        if self.batch == Some(0) {
            return Err(bad_field(field("batch"), "must be at least 1"));
        }
        if self.burst == Some(0) {
            return Err(bad_field(field("burst"), "must be at least 1"));
        }
        if let Some(kind) = EngineKind::from_choice(self.engine) {
            self.check_batch(kind)?;
        }
        if self.duration == Some(Duration::ZERO) {
            return Err(bad_field(field("duration"), "must be longer than zero"));
        }
        if self.limit == Some(0) {
            return Err(bad_field(field("limit"), "must be at least 1"));
        }
        for (i, f) in self.frames.iter().enumerate() {
            if f.data.len() < 14 {
                return Err(bad_input(format!(
                    "{} packet #{}: {} bytes is shorter than an Ethernet header (14)",
                    self.source,
                    i + 1,
                    f.data.len()
                )));
            }
        }
        Ok(())
    }

    /// The largest burst allowed: `burst`, or [`DEFAULT_BURST`].
    pub fn burst_limit(&self) -> usize {
        self.burst.unwrap_or(DEFAULT_BURST).max(1)
    }

    /// `batch` within what `kind` takes per call (checked again once `auto` has chosen).
    fn check_batch(&self, kind: EngineKind) -> anyhow::Result<()> {
        match self.batch {
            Some(b) if b > kind.max_batch() => Err(bad_field(
                field("batch").with_value(b),
                format!("the {kind} engine takes at most {} frames per call", kind.max_batch()),
            )),
            _ => Ok(()),
        }
    }

    /// `batch` within what every engine `auto` (or an order) may pick takes per call, for a lab whose
    /// receive side runs NAPI (`peer_napi`; `None`: not known before the interface is seen):
    /// what [`GeneratorConfig::validate`] cannot say before `auto` has chosen, said before
    /// anything is built.
    pub fn check_batch_for_auto(&self, peer_napi: Option<bool>) -> anyhow::Result<()> {
        if EngineKind::from_choice(self.engine).is_some() {
            return Ok(());
        }
        let paced_fps = self
            .pace
            .is_paced()
            .then(|| sender::schedule_of(self).frames_due_within(1_000_000_000));
        for kind in self.engine.candidates(paced_fps, self.limit.is_some(), peer_napi) {
            self.check_batch(kind)?;
        }
        Ok(())
    }
}

/// A generator field (`batch`).
fn field(key: &str) -> Field {
    Field::new(Section::Generator, key)
}

/// Live counters of a running replay, readable from any thread.
#[derive(Debug, Default)]
pub struct Progress {
    sent: AtomicU64,
    bytes: AtomicU64,
    /// The sender worker's stop switch.
    stop: Arc<AtomicBool>,
}

impl Progress {
    /// Frames the kernel accepted so far.
    pub fn frames(&self) -> u64 {
        self.sent.load(Ordering::Relaxed)
    }

    /// L2 bytes of those frames.
    pub fn bytes(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }

    /// Asks the sender to stop after the current send call.
    pub fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }

    fn stopping(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }
}

/// A replay prepared on its own thread — namespace entered, core pinned, interface checked,
/// engine open — waiting for [`Generator::start`]. Dropping it cancels the replay.
#[derive(Debug)]
pub struct Generator {
    // Dropped before the worker is joined: the thread, still waiting for it, then cancels.
    go: mpsc::Sender<()>,
    worker: Worker<Option<SendReport>>,
    progress: Arc<Progress>,
    engine: EngineKind,
    engine_reason: String,
}

impl Generator {
    /// Validates `config`, starts the sender thread and waits until it is ready to send. Every
    /// problem found here (bad input, interface down, MTU, engine) leaves nothing behind.
    pub fn prepare(config: GeneratorConfig) -> anyhow::Result<Generator> {
        config.validate()?;
        let (ready_tx, ready_rx) = mpsc::channel();
        let (go_tx, go_rx) = mpsc::channel();
        let progress = Arc::new(Progress::default());
        let shared = Arc::clone(&progress);
        let mut worker =
            Worker::spawn_with_switch("netlab-tx", Arc::clone(&progress.stop), move |_| {
                sender::run(config, shared, ready_tx, go_rx)
            })?;
        match ready_rx.recv() {
            Ok(Ok(ready)) => Ok(Generator {
                go: go_tx,
                worker,
                progress,
                engine: ready.engine,
                engine_reason: ready.reason,
            }),
            Ok(Err(e)) => {
                let _ = worker.join();
                Err(e)
            }
            Err(_) => match worker.join() {
                Err(e) => Err(e),
                Ok(_) => Err(anyhow::anyhow!("the sender thread ended before it was ready")),
            },
        }
    }

    /// The engine that will send.
    pub fn engine(&self) -> EngineKind {
        self.engine
    }

    /// Why that engine.
    pub fn engine_reason(&self) -> &str {
        &self.engine_reason
    }

    /// Starts sending now.
    pub fn start(self) -> Running {
        // The thread waits on this channel; it cannot have gone away while `self` exists
        // (it only returns early when `prepare` failed).
        let _ = self.go.send(());
        Running { worker: self.worker, progress: self.progress }
    }
}

/// A replay in progress. Dropping it without [`Running::wait`] stops it.
#[derive(Debug)]
pub struct Running {
    worker: Worker<Option<SendReport>>,
    progress: Arc<Progress>,
}

impl Running {
    /// Live counters (and the stop switch), shareable with a progress display.
    pub fn progress(&self) -> Arc<Progress> {
        Arc::clone(&self.progress)
    }

    /// Asks the sender to stop; [`Running::wait`] then returns the report so far.
    pub fn stop(&self) {
        self.progress.stop();
    }

    /// Whether the sender is done (the report is ready).
    pub fn is_finished(&self) -> bool {
        self.worker.is_finished()
    }

    /// Waits for the end of the replay and returns its report.
    pub fn wait(mut self) -> anyhow::Result<SendReport> {
        self.worker
            .join()?
            .ok_or_else(|| anyhow::anyhow!("the replay was cancelled before it started"))
    }
}

/// Prepares, starts and waits for one replay.
pub fn run(config: GeneratorConfig) -> anyhow::Result<SendReport> {
    Generator::prepare(config)?.start().wait()
}
