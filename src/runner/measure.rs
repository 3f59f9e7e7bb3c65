//! Measuring one point: rate × receiver × repetition.
//!
//! 1. **Warm-up** (when `generator.warmup` > 0): the receiver (same method, same knobs) is
//!    started on the receive core and the generator sends at the point's rate for `warmup`;
//!    then both stop and everything they counted is thrown away. This brings the lab's
//!    kernel paths (NAPI kthread, page pools, caches, the generator's engine) to their steady
//!    state at this rate.
//! 2. **Measured window**: a fresh receiver session starts and reports ready; the receiver
//!    interface's counters are read (netlink `stats64`); the generator sends at the rate for
//!    `duration` on the send core; after it stops, `run.drain` passes so the frames in flight
//!    arrive; the interface counters are read again; the receiver is stopped (it drains what is
//!    still queued) and reports. Every count of the point — generator sent, interface rx and
//!    rx_dropped, the receiver's kernel drops, app frames and IPv4, receiver and NAPI kthread
//!    CPU — therefore covers exactly this window and nothing of the warm-up: each comes from a
//!    session or a difference of counters that starts after the warm-up is over.
//!
//! A point never runs long past its duration, whatever the rate: a generator still sending
//! [`send_grace`] after `duration` (a paced schedule it cannot keep, so it slipped) is stopped;
//! it then offered less than asked, and the point is judged on that. Then come the drain and
//! the receiver's own stop (for an `exec` program, its grace period).
//!
//! CPU time is counted from the receiver being ready to the end of its drain, so a receiver
//! with `wait = "busy"` is charged for spinning while idle too.

use std::time::{Duration, Instant};

use anyhow::Context as _;

use super::progress::Progress;
use super::template::Template;
use crate::agent::Host;
use crate::exit::{code_for, Code};
use crate::generator::report::dropped_beyond_refused;
use crate::generator::Engine;
use crate::generator::{EngineKind, GeneratorConfig, Pace, SendReport};
use crate::interrupt::Interrupt;
use crate::method::DropStage;
use crate::receiver::{RecvConfig, RecvReport, RecvSpec, READY_TIMEOUT};
use crate::results::{Counters, Drops};
use crate::scenario::{Method, Rate, Scenario};
use crate::topology::{LabInterface, LabRecord, LinkStats, Role};

/// How often the live figures are refreshed.
const TICK: Duration = Duration::from_millis(100);

/// How often a window past its length asks whether its generator has finished.
const END_POLL: Duration = Duration::from_millis(5);

/// How long a generator may keep sending after a window's `length` before it is stopped: a
/// tenth of the length, at least 1 s.
pub fn send_grace(length: Duration) -> Duration {
    (length / 10).max(Duration::from_secs(1))
}

/// The generator's pacing for a scenario rate (`max` is top speed).
pub fn pace(rate: Rate) -> Pace {
    match rate {
        Rate::Pps(pps) => Pace::MilliPps(pps.saturating_mul(1000)),
        Rate::L2BitsPerSec(bps) => Pace::L2BitsPerSec(bps),
        Rate::Max => Pace::TopSpeed,
    }
}

/// Everything the points of a run share.
#[derive(Debug)]
pub struct Bench<'a> {
    /// The scenario.
    pub scenario: &'a Scenario,
    /// The lab, up.
    pub lab: &'a LabRecord,
    /// The host the generator runs on (the lab's generator interface is there).
    pub generator_host: &'a Host,
    /// The host the receivers run on (the lab's receiver interface is there).
    pub receiver_host: &'a Host,
    /// The frames to send.
    pub template: &'a Template,
    /// One receiver configuration per `scenario.receivers`.
    pub configs: &'a [RecvConfig],
    /// Signals.
    pub interrupt: &'a Interrupt,
    /// The engine of each rate (index as `scenario.generator.rates`): empty until
    /// [`Bench::resolve_engines`] pins what `auto` chose for each rate, so every receiver at a
    /// rate is fed the same way (a receiver that attaches XDP could otherwise let `auto` pick
    /// another engine for its points only).
    pub engines: Vec<Engine>,
}

/// One point to measure: a receiver at a load for a length of time — a point of the
/// scenario's fixed rates ([`Bench::fixed`]) or a trial of a search at any rate.
#[derive(Debug, Clone)]
pub struct Trial {
    /// Index into `scenario.receivers`.
    pub receiver: usize,
    /// Repetition, from 1.
    pub repetition: u32,
    /// The rate asked of the generator.
    pub rate: Rate,
    /// The engine that sends it (fixed: what `auto` chose for the rate with no receiver up).
    pub engine: Engine,
    /// The warm-up (not counted).
    pub warmup: Duration,
    /// The measured window's length.
    pub duration: Duration,
    /// What the progress display calls it (`pcap @ 1Mpps #2`).
    pub title: String,
}

/// What one measured window produced.
#[derive(Debug)]
pub struct Measured {
    /// The counters the report derives the point from.
    pub counters: Counters,
    /// The generator's report of the window.
    pub send: SendReport,
    /// The receiver's report of the window.
    pub recv: RecvReport,
}

/// How measuring a point ended.
#[derive(Debug)]
pub enum Outcome {
    /// The window was measured.
    Measured(Box<Measured>),
    /// The receiver program (`exec`) broke its contract — no `READY` in time, no or a bad
    /// `RESULT-` line, an exit before it was stopped: the point is invalid for this reason and
    /// the run goes on.
    ReceiverFailed(String),
    /// A signal came: the point is dropped.
    Interrupted,
}

/// A receiver program's failure, carried out of [`Bench::window`] to [`Bench::measure`].
#[derive(Debug)]
struct ReceiverFailed(String);

impl std::fmt::Display for ReceiverFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ReceiverFailed {}

/// A session (warm-up or measured) that ran to its end.
struct Window {
    send: SendReport,
    recv: RecvReport,
    /// The receiver interface's counters.
    before: LinkStats,
    after: LinkStats,
    /// The generator interface's counters.
    gen_before: LinkStats,
    gen_after: LinkStats,
}

impl Bench<'_> {
    /// The point of the scenario's `rate`-th fixed rate for a receiver and repetition, with
    /// the scenario's warm-up and duration and the engine pinned for that rate.
    pub fn fixed(&self, rate: usize, receiver: usize, repetition: u32) -> Trial {
        let g = &self.scenario.generator;
        let (label, asked) = (&self.scenario.receivers[receiver].label, g.rates[rate]);
        Trial {
            receiver,
            repetition,
            rate: asked,
            engine: self.engines.get(rate).copied().unwrap_or(g.engine),
            warmup: g.warmup,
            duration: g.duration,
            title: format!("{label} @ {asked} #{repetition}"),
        }
    }

    /// The generator configuration for `rate` with `engine` over `length`.
    pub fn generator_config(
        &self,
        rate: Rate,
        engine: Engine,
        length: Duration,
    ) -> GeneratorConfig {
        let g = &self.scenario.generator;
        let mut config = GeneratorConfig::new(
            &self.iface(Role::Generator).name,
            self.template.frames.clone(),
            pace(rate),
        );
        config.netns = self.lab.netns_name().map(str::to_string);
        config.source = self.scenario.packet.file.display().to_string();
        config.loops = 0;
        config.duration = Some(length);
        config.engine = engine;
        config.batch = g.batch.map(|b| b as usize);
        config.burst = g.burst.map(|b| b as usize);
        config.core = Some(self.lab.tx_core);
        // The runner reads the receiver's counters itself, around the whole window.
        config.count_peer = false;
        config
    }

    /// Resolves the engine of every rate once, with no receiver running — by preparing a
    /// generator and cancelling it — and pins it for the run (`auto` chooses by rate: the ring
    /// at low paced rates, xdp at high ones). Returns, per rate, the engine and why.
    pub fn resolve_engines(&mut self) -> anyhow::Result<Vec<(EngineKind, String)>> {
        self.engines.clear();
        let chosen = self
            .scenario
            .generator
            .rates
            .iter()
            .map(|rate| self.resolve_engine(*rate))
            .collect::<anyhow::Result<Vec<_>>>()?;
        self.engines = chosen.iter().map(|(kind, _)| Engine::Fixed(*kind)).collect();
        Ok(chosen)
    }

    /// The engine the scenario's choice takes at `rate`, and why, found with no receiver
    /// running (call it between points).
    pub fn resolve_engine(&self, rate: Rate) -> anyhow::Result<(EngineKind, String)> {
        let config =
            self.generator_config(rate, self.scenario.generator.engine, Duration::from_secs(1));
        let prepared = self.generator_host.gen_prepare(config);
        // Cancelled: it only had to say which engine.
        self.generator_host.abandon();
        prepared
    }

    /// Measures one point (warm-up, then the window).
    pub fn measure(&self, trial: &Trial, progress: &mut Progress) -> anyhow::Result<Outcome> {
        match self.measure_windows(trial, progress) {
            Ok(Some(measured)) => Ok(Outcome::Measured(Box::new(measured))),
            Ok(None) => Ok(Outcome::Interrupted),
            Err(e) => match e.downcast::<ReceiverFailed>() {
                Ok(failed) => Ok(Outcome::ReceiverFailed(failed.0)),
                Err(e) => Err(e),
            },
        }
    }

    /// The warm-up and the measured window; `None` when a signal came.
    fn measure_windows(
        &self,
        trial: &Trial,
        progress: &mut Progress,
    ) -> anyhow::Result<Option<Measured>> {
        let receiver = &self.scenario.receivers[trial.receiver];
        let (title, warmup, duration) = (&trial.title, trial.warmup, trial.duration);
        if !warmup.is_zero() {
            progress.begin(title, "warm-up", warmup);
            if self.window(trial, warmup, "warm-up", progress)?.is_none() {
                return Ok(None);
            }
            progress.phase(title, "measuring", duration);
        } else {
            progress.begin(title, "measuring", duration);
        }
        let Some(w) = self.window(trial, duration, "measuring", progress)? else {
            return Ok(None);
        };
        let counters = Counters {
            duration_s: w.send.elapsed_ns as f64 / 1e9,
            sent_frames: w.send.frames_sent,
            iface_rx_frames: w.after.rx_packets.saturating_sub(w.before.rx_packets),
            drops: drops(receiver.method, &w),
            app_rx_frames: w.recv.frames,
            ipv4_frames: w.recv.ipv4,
            rx_cpu_ns: w.recv.cpu_ns,
            napi_cpu_ns: w.recv.napi_cpu_ns,
            delay_bound_ns: w.recv.delay_bound_ns,
            xdp_mode: w.recv.xdp_mode,
            xsk_bind: w.recv.xsk_bind,
            largest_burst_frames: w.send.burst.map(|b| b.largest),
            generator_limit: w.send.pacing_limit(),
            engine: Some(w.send.engine),
        };
        Ok(Some(Measured { counters, send: w.send, recv: w.recv }))
    }

    /// The lab's interface of `role`.
    fn iface(&self, role: Role) -> &LabInterface {
        // A lab is handed to the bench with its generator and receiver recorded.
        self.lab.interface(role).unwrap_or_else(|| unreachable!("lab without a {}", role.name()))
    }

    /// The counters of the lab's interface of `role`, read on the host it is on.
    fn stats(&self, role: Role) -> anyhow::Result<LinkStats> {
        let host = if role == Role::Generator { self.generator_host } else { self.receiver_host };
        let iface = &self.iface(role).name;
        host.stats(self.lab.netns_name(), iface)
            .with_context(|| format!("reading the counters of {iface}"))
    }

    /// One receiver session with the generator sending for `length`; `None` when a signal came.
    /// Whatever ends it early, both roles are stopped on their hosts.
    fn window(
        &self,
        trial: &Trial,
        length: Duration,
        phase: &str,
        progress: &mut Progress,
    ) -> anyhow::Result<Option<Window>> {
        let window = self.run_window(trial, length, phase, progress);
        if !matches!(window, Ok(Some(_))) {
            self.generator_host.abandon();
            self.receiver_host.abandon();
        }
        window
    }

    fn run_window(
        &self,
        trial: &Trial,
        length: Duration,
        phase: &str,
        progress: &mut Progress,
    ) -> anyhow::Result<Option<Window>> {
        let (receiver, title) = (&self.scenario.receivers[trial.receiver], &trial.title);
        // A program's own failure fails its point; netlab's (a method that cannot open) the run,
        // and so does a host lost.
        let program_failed = |e: anyhow::Error| -> anyhow::Error {
            if receiver.method == Method::Exec && code_for(&e) != Code::Host {
                anyhow::Error::new(ReceiverFailed(format!("{e:#}")))
            } else {
                e.context(format!("receiver `{}`", receiver.label))
            }
        };
        let (rx_host, gen_host) = (self.receiver_host, self.generator_host);
        let spec = RecvSpec {
            method: receiver.method,
            iface: self.iface(Role::Receiver).name.clone(),
            netns: self.lab.netns_name().map(str::to_string),
            core: Some(self.lab.rx_core),
            config: self.configs[trial.receiver].clone(),
        };
        // Its knobs were checked before the run: what fails here is the opening.
        rx_host.recv_start(spec, READY_TIMEOUT).map_err(program_failed)?;
        gen_host.gen_prepare(self.generator_config(trial.rate, trial.engine, length))?;
        let (before, gen_before) = (self.stats(Role::Receiver)?, self.stats(Role::Generator)?);
        gen_host.gen_start()?;
        let start = Instant::now();
        let give_up = length + send_grace(length);
        let mut cut_off = false;
        let (mut last_at, mut last_sent, mut last_received) = (start, 0u64, 0u64);
        while !gen_host.gen_status()?.1 {
            if !cut_off && start.elapsed() >= give_up {
                tracing::warn!(
                    "{title}: the generator was still sending {:.1} s after the {:.1} s {phase} \
                     window (its schedule slipped); stopped it",
                    give_up.saturating_sub(length).as_secs_f64(),
                    length.as_secs_f64()
                );
                gen_host.gen_stop()?;
                cut_off = true;
            }
            if self.interrupt.is_set() || rx_host.recv_status()?.1 {
                gen_host.gen_stop()?;
                // The send report of an abandoned window is of no use; its error neither,
                // unless the host is gone.
                if let Err(e) = gen_host.gen_wait() {
                    if code_for(&e) == Code::Host {
                        return Err(e);
                    }
                }
                if self.interrupt.is_set() {
                    return Ok(None);
                }
                // The receiver ended on its own: its error says why.
                rx_host.recv_stop().map_err(program_failed)?;
                return Err(program_failed(anyhow::anyhow!("it ended before it was stopped")));
            }
            // Every tick while the window runs; often once it is due to end, so that the trial
            // ends when its generator does.
            let left = length.saturating_sub(start.elapsed());
            std::thread::sleep(if left.is_zero() { END_POLL } else { left.min(TICK) });
            let now = Instant::now();
            let secs = now.duration_since(last_at).as_secs_f64().max(1e-9);
            let (s, r) = (gen_host.gen_status()?.0, rx_host.recv_status()?.0);
            progress.tick(
                now.duration_since(start),
                s.saturating_sub(last_sent) as f64 / secs,
                r.saturating_sub(last_received) as f64 / secs,
            );
            (last_at, last_sent, last_received) = (now, s, r);
        }
        let send = gen_host.gen_wait().with_context(|| format!("generator ({phase})"))?;
        progress.phase(title, "draining", self.scenario.run.drain);
        if !self.interrupt.sleep(self.scenario.run.drain) {
            return Ok(None);
        }
        let (after, gen_after) = (self.stats(Role::Receiver)?, self.stats(Role::Generator)?);
        let recv = rx_host.recv_stop().map_err(program_failed)?;
        Ok(Some(Window { send, recv, before, after, gen_before, gen_after }))
    }
}

/// The drop counters of the window, by the stage that counts them.
fn drops(method: Method, w: &Window) -> Drops {
    let mut drops = Drops {
        sender_queue_frames: Some(w.send.frames_failed()),
        nic_frames: Some(w.after.nic_rx_dropped().saturating_sub(w.before.nic_rx_dropped())),
        iface_rx_dropped_frames: Some(dropped_beyond_refused(
            w.after.rx_dropped.saturating_sub(w.before.rx_dropped),
            w.send.refused_frames,
        )),
        generator_tx_dropped_frames: Some(
            w.gen_after.tx_dropped.saturating_sub(w.gen_before.tx_dropped),
        ),
        ..Drops::default()
    };
    if let Some(kernel) = w.recv.kernel {
        match method.descriptor().drop_stage() {
            DropStage::SocketBuffer | DropStage::PacketRing => {
                drops.socket_frames = Some(kernel.drops)
            }
            DropStage::Xsk => {
                // fastnet reports XDP_STATISTICS rx_dropped + rx_ring_full as one figure; the
                // fill-ring-empty events are among its frames (why, not how many more).
                drops.xdp_rx_dropped_frames = Some(kernel.drops);
                drops.xdp_fill_ring_empty_frames = Some(kernel.freeze_q);
            }
            DropStage::None => {}
        }
    }
    drops
}
