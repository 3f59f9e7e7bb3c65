//! Receive methods: open one on an interface, run it on a pinned thread inside the lab's
//! namespace, and report what it counted where.
//!
//! The methods themselves — names, knobs and their limits, how each opens, where its drops are
//! counted — are described in [`crate::method`], one file per method; this room runs them.
//! Every method runs [`fastnet::Tally::do_something`] on every frame (bytes 12-13 == `0x0800`
//! → IPv4).
//!
//! `fastnet:3` without knobs is its fastest configuration on a core shared with threaded NAPI
//! (measured with `labs/bench-receivers.toml`; the reasons are in [`fastnet::xdp`]): a UMEM
//! large enough for the receiver to be off the core for a scheduler slice, and a receiver
//! thread that, woken by arriving frames, does not preempt the NAPI kthread copying them
//! (`SCHED_BATCH`). `wait = "busy"` spins instead, as an ordinary thread, and keeps less there.
//! Below flood, the same defaults make it the cheapest method per frame (`scripts/bench-cost`):
//! while frames keep coming it sleeps up to `max_delay` between drains instead of being woken
//! by every NAPI flush, so it holds a frame back at most as long as libpcap's block timeout.
//!
//! # Running a receiver
//! [`start`] spawns a dedicated OS thread that enters the namespace, pins itself to the core,
//! opens the method and signals ready ([`Session::wait_ready`]); it then receives until
//! [`Session::stop`], drains what is still queued (until nothing arrives for [`DRAIN_QUIET`],
//! for at most [`DRAIN_LIMIT`]) and returns a [`RecvReport`]. [`Session::live`] gives counters
//! to show progress while it runs.
//!
//! On an interface outside a netlab lab (a real NIC, a veth made by hand), the receiver makes
//! its NAPI threaded for the receive, with the kthread(s) on the receive core, so that the
//! kernel's half of the CPU per frame is measured, and puts `threaded` back after (noted in
//! [`fastnet::restore`]'s journal meanwhile, for a `SIGKILL`).

pub mod exec;
pub mod record;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context as _};
use fastnet::rx::RxStats;
use fastnet::Tally;

pub use crate::method::{open, Method, RecvConfig, IDLE_WAIT};
use crate::worker::Worker;

/// After [`Session::stop`], a receiver keeps draining until nothing has arrived for this long,
/// or for twice its method's delivery delay when that is longer (libpcap's block timeout is
/// [`crate::method::pcap::BLOCK_TIMEOUT_MS`], fastnet:3's `max_delay` is the user's).
pub const DRAIN_QUIET: Duration = Duration::from_millis(50);

/// The longest a receiver drains after [`Session::stop`], or twice its quiet span
/// ([`DRAIN_QUIET`], or twice the method's delivery delay) when that is longer: frames that keep
/// arriving (`netlab recv --duration` while a sender goes on) never leave the receiver quiet,
/// and the drain must end all the same. A quarter of a second takes what a ring held at the
/// stop: a receiver that keeps up has little there, and one that does not takes a million
/// frames a second or more (a default ring holds tens of thousands).
pub const DRAIN_LIMIT: Duration = Duration::from_millis(250);

/// How long [`Session::wait_ready`] waits for the method to open by default.
pub const READY_TIMEOUT: Duration = Duration::from_secs(10);

/// Counters a running receiver updates once per `receive` call, for progress display.
#[derive(Debug, Clone, Default)]
pub struct Live {
    /// Frames handled so far.
    pub frames: Arc<AtomicU64>,
    /// IPv4 frames counted so far.
    pub ipv4: Arc<AtomicU64>,
}

impl Live {
    fn publish(&self, tally: &Tally) {
        self.frames.store(tally.frames, Ordering::Relaxed);
        self.ipv4.store(tally.ipv4, Ordering::Relaxed);
    }
}

/// Kernel counters of the receiver's own socket or ring (see [`fastnet::rx::RxStats`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct KernelCounters {
    /// Frames that reached the socket or ring, delivered plus dropped.
    pub packets: u64,
    /// Frames the socket or ring dropped for lack of room.
    pub drops: u64,
    /// TPACKET_V3 ring freezes, or AF_XDP fill-ring-empty events.
    pub freeze_q: u64,
}

impl From<RxStats> for KernelCounters {
    fn from(s: RxStats) -> Self {
        Self { packets: s.packets, drops: s.drops, freeze_q: s.freeze_q }
    }
}

/// What one receiver run counted, and what it cost. Its JSON keys are the words of a point
/// in `results.json`: `app_rx_frames`, `ipv4_frames`, `rx_cpu_ns`, `napi_cpu_ns`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RecvReport {
    /// The method.
    pub method: Method,
    /// Frames the application handled (ran `do_something` on).
    #[serde(rename = "app_rx_frames")]
    pub frames: u64,
    /// Of those, frames with EtherType IPv4.
    #[serde(rename = "ipv4_frames")]
    pub ipv4: u64,
    /// The kernel's counters for this socket or ring; `None` for `exec`.
    pub kernel: Option<KernelCounters>,
    /// On-CPU time of the receiver (its thread; for `exec`, the program's processes), ns.
    #[serde(rename = "rx_cpu_ns")]
    pub cpu_ns: u64,
    /// On-CPU time of the interface's NAPI kthread(s) over the same span, ns; `None` when the
    /// interface runs NAPI inline (no kthread) or its kthreads cannot be told apart from
    /// another interface's of the same name (Linux < 6.8, [`crate::topology::napi::napi_of`]).
    pub napi_cpu_ns: Option<u64>,
    /// The longest a frame could wait in the socket or ring before the receiver's wait policy
    /// let it see it, ns ([`fastnet::rx::Receive::delay_bound`]); `None` when the method does
    /// not say.
    pub delay_bound_ns: Option<u64>,
    /// Where the method's XDP program ran (`native`, or `generic` on a driver without native
    /// XDP); `None` for a method without one.
    #[serde(default)]
    pub xdp_mode: Option<fastnet::bpf::XdpMode>,
    /// How the method's AF_XDP socket was bound (`zero-copy` or `copy`); `None` for a method
    /// without one.
    #[serde(default)]
    pub xsk_bind: Option<fastnet::xdp::BindMode>,
    /// From ready to the end of the drain, ns.
    pub elapsed_ns: u64,
    /// `exec` only: every `RESULT-<NAME> <value>` line the program printed (last value wins).
    pub results: std::collections::BTreeMap<String, String>,
}

impl RecvReport {
    /// CPU time per frame handled: receiver plus NAPI kthread ([`CpuPerFrame`]).
    pub fn cpu_per_frame(&self) -> Option<CpuPerFrame> {
        CpuPerFrame::of(self.frames, self.cpu_ns, self.napi_cpu_ns)
    }
}

/// The modes an XDP method ran in, as a table or report notes them next to its figures:
/// `native XDP, copy`, `generic XDP, zero-copy`, `native XDP` (`xdp-drop`); `None` for a
/// method without XDP. Generic mode pays an skb per frame, as an AF_PACKET socket does, so a
/// figure must say which mode it comes from.
pub fn xdp_modes_note(
    xdp_mode: Option<fastnet::bpf::XdpMode>,
    xsk_bind: Option<fastnet::xdp::BindMode>,
) -> Option<String> {
    match (xdp_mode, xsk_bind) {
        (Some(mode), Some(bind)) => Some(format!("{mode} XDP, {bind}")),
        (Some(mode), None) => Some(format!("{mode} XDP")),
        (None, Some(bind)) => Some(bind.to_string()),
        (None, None) => None,
    }
}

/// Below this many frames per second received, CPU per frame of a receiver that keeps up
/// measures mostly the receiver and the kernel waking up for a few frames (a TPACKET_V3 block,
/// a NAPI poll), not the work per frame: 6.9 µs/frame for fastnet:3 at 100 kpps against
/// 1.0 µs at 1 Mpps on the class's 2-core veth lab ([`wakeups_dominate`]).
pub const WAKEUPS_DOMINATE_BELOW_PPS: f64 = 250_000.0;

/// True when a CPU-per-frame figure measured receiving `received_pps` while losing `loss_pct`
/// percent is mostly idle wake-ups: a low rate ([`WAKEUPS_DOMINATE_BELOW_PPS`]) the receiver
/// keeps up with (under 1 % lost). A receiver losing frames at a low rate is overloaded, not
/// idle.
pub fn wakeups_dominate(received_pps: f64, loss_pct: f64) -> bool {
    received_pps < WAKEUPS_DOMINATE_BELOW_PPS && loss_pct < 1.0
}

/// CPU time per frame received — the one definition `netlab recv`, `netlab run` and
/// `results.json` use: the receiver's own CPU time (its thread; an `exec` program's
/// processes) plus the kernel's receive work in the interface's NAPI kthread, over the frames
/// the receiver handled. Both parts are kept: the total alone hides which side paid.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CpuPerFrame {
    /// Receiver CPU ns per frame.
    pub receiver_ns: f64,
    /// NAPI kthread CPU ns per frame; `None` when there is no kthread to measure (NAPI inline)
    /// or the kernel cannot say.
    pub kernel_ns: Option<f64>,
}

impl CpuPerFrame {
    /// Per frame of `frames` received, from the receiver's and the NAPI kthread's CPU ns;
    /// `None` when nothing was received.
    pub fn of(frames: u64, receiver_cpu_ns: u64, napi_cpu_ns: Option<u64>) -> Option<CpuPerFrame> {
        (frames > 0).then(|| CpuPerFrame {
            receiver_ns: receiver_cpu_ns as f64 / frames as f64,
            kernel_ns: napi_cpu_ns.map(|ns| ns as f64 / frames as f64),
        })
    }

    /// Receiver + kernel, ns per frame; `None` when the kernel's part could not be measured
    /// (a sum without it would pass the receiver's part off as the whole).
    pub fn total_ns(&self) -> Option<f64> {
        self.kernel_ns.map(|kernel| self.receiver_ns + kernel)
    }

    /// `"1234 ns/frame (receiver 800 + kernel 434)"`, or `"receiver 800 ns/frame + kernel —"`
    /// when the kernel's part could not be measured (never a 0 in its place).
    pub fn describe(&self) -> String {
        match (self.total_ns(), self.kernel_ns) {
            (Some(total), Some(kernel)) => format!(
                "{total:.0} ns/frame (receiver {:.0} + kernel {kernel:.0})",
                self.receiver_ns
            ),
            _ => format!("receiver {:.0} ns/frame + kernel —", self.receiver_ns),
        }
    }
}

/// Where and how to run a receiver.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RecvSpec {
    /// The method.
    pub method: Method,
    /// The interface to receive on.
    pub iface: String,
    /// A named network namespace (`ip netns` / a netlab lab) to run in; `None`: the calling
    /// thread's namespace.
    pub netns: Option<String>,
    /// The core to pin the receiver thread (and an `exec` program) to.
    pub core: Option<usize>,
    /// The knobs.
    pub config: RecvConfig,
}

/// A receiver running on its own thread. Dropping it without [`Session::stop`] stops it and
/// discards the report.
#[derive(Debug)]
pub struct Session {
    method: Method,
    live: Live,
    ready: mpsc::Receiver<()>,
    is_ready: bool,
    worker: Worker<RecvReport>,
    /// The capture file writer, when the config asks for one.
    recorder: Option<record::Recorder>,
}

/// Starts a receiver: validates the knobs, then spawns its thread, which enters `spec.netns`,
/// pins itself to `spec.core` and opens the method. Call [`Session::wait_ready`] before sending.
pub fn start(spec: RecvSpec) -> anyhow::Result<Session> {
    spec.config.validate(spec.method)?;
    let method = spec.method;
    let live = Live::default();
    let (ready_tx, ready) = mpsc::channel();
    // Started here, not on the pinned receiver thread, so the writer is not pinned with it.
    let (recorder, tap) = match &spec.config.write {
        Some(to) => record::Recorder::start(to).map(|(r, tap)| (Some(r), Some(tap)))?,
        None => (None, None),
    };
    let worker = {
        let live = live.clone();
        Worker::spawn(format!("recv {method}"), move |stop| {
            run_thread(&spec, stop, &live, ready_tx, tap)
        })?
    };
    Ok(Session { method, live, ready, is_ready: false, worker, recorder })
}

impl Session {
    /// Waits until the method is open (socket bound, ring mapped, program attached, `exec`
    /// program ready) — or returns why it could not open.
    pub fn wait_ready(&mut self, timeout: Duration) -> anyhow::Result<()> {
        if self.is_ready {
            return Ok(());
        }
        match self.ready.recv_timeout(timeout) {
            Ok(()) => {
                self.is_ready = true;
                Ok(())
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => match self.worker.join() {
                Err(e) => Err(e),
                Ok(_) => Err(anyhow!("{}: the receiver ended before it was ready", self.method)),
            },
            Err(mpsc::RecvTimeoutError::Timeout) => {
                Err(anyhow!("{}: not ready after {timeout:?}", self.method))
            }
        }
    }

    /// Live counters (updated by the receiver once per batch).
    pub fn live(&self) -> &Live {
        &self.live
    }

    /// Whether the receiver thread has ended (an error, or an `exec` program that exited).
    pub fn is_finished(&self) -> bool {
        self.worker.is_finished()
    }

    /// Stops the receiver: it drains what is still queued, reads the kernel's counters and
    /// CPU time, and closes the method (detaching any XDP program). A capture file asked for is
    /// put in place (see [`Session::stop_saving`] for what went into it).
    pub fn stop(self) -> anyhow::Result<RecvReport> {
        let (report, saved) = self.stop_saving()?;
        if let Some(saved) = saved.filter(|s| s.left_out > 0) {
            tracing::warn!(
                "{}: {} frames were left out of the file (the writer fell behind)",
                saved.path.display(),
                saved.left_out
            );
        }
        Ok(report)
    }

    /// [`Session::stop`], and what was saved to the capture file, if one was asked for.
    pub fn stop_saving(mut self) -> anyhow::Result<(RecvReport, Option<record::Saved>)> {
        self.worker.ask_stop();
        let report = self.worker.join()?;
        let saved = self.recorder.take().map(record::Recorder::finish).transpose()?;
        Ok((report, saved))
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        // The worker stops and is joined when dropped; the recorder after it.
        self.worker.ask_stop();
        let _ = self.worker.join();
        if let Some(recorder) = self.recorder.take() {
            recorder.abandon();
        }
    }
}

/// The receiver thread: namespace, core, open, ready, receive, drain, report.
fn run_thread(
    spec: &RecvSpec,
    stop: &AtomicBool,
    live: &Live,
    ready: mpsc::Sender<()>,
    tap: Option<fastnet::Tap>,
) -> anyhow::Result<RecvReport> {
    crate::topology::place::enter(
        spec.netns.as_deref(),
        spec.core,
        crate::exit::Section::Receiver,
    )?;
    if spec.method == Method::Exec {
        let threaded = threaded_napi(spec);
        let napi = NapiClock::start(&napi_pids(spec, threaded.as_ref()));
        let mut report = exec::run(spec, stop, live, ready)?;
        report.napi_cpu_ns = napi.elapsed_ns();
        return Ok(report);
    }
    let mut rx = open(spec.method, &spec.iface, &spec.config)?;
    // After the method opened: on a veth, attaching XDP is what gives it a NAPI to thread.
    let threaded = threaded_napi(spec);
    let napi_pids = napi_pids(spec, threaded.as_ref());
    let mut tally = Tally { tap, ..Tally::default() };
    let napi = NapiClock::start(&napi_pids);
    let cpu0 = fastnet::cpu::current_thread_cpu_time()?;
    let t0 = Instant::now();
    // The other side may have given up waiting; the run goes on until stop all the same.
    let _ = ready.send(());
    let context = || format!("{} on {}", spec.method, spec.iface);
    while !stop.load(Ordering::Relaxed) {
        rx.receive(&mut tally, IDLE_WAIT).with_context(context)?;
        live.publish(&tally);
    }
    let quiet = DRAIN_QUIET.max(rx.delay_bound().map_or(Duration::ZERO, |d| 2 * d));
    let limit = DRAIN_LIMIT.max(2 * quiet);
    let drain_start = Instant::now();
    let mut last_frame = drain_start;
    while last_frame.elapsed() < quiet && drain_start.elapsed() < limit {
        if rx.receive(&mut tally, IDLE_WAIT).with_context(context)? > 0 {
            last_frame = Instant::now();
        }
        live.publish(&tally);
    }
    let kernel = rx.kernel_stats().with_context(context)?;
    let cpu = fastnet::cpu::current_thread_cpu_time()?.saturating_sub(cpu0);
    let elapsed = t0.elapsed();
    let napi_cpu_ns = napi.elapsed_ns();
    let delay_bound_ns = rx.delay_bound().map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX));
    let (xdp_mode, xsk_bind) = (rx.xdp_mode(), rx.xsk_bind());
    // `threaded` back first: a veth's NAPI goes with the receiver's XDP program.
    drop(threaded);
    drop(rx);
    Ok(RecvReport {
        method: spec.method,
        frames: tally.frames,
        ipv4: tally.ipv4,
        kernel: Some(kernel.into()),
        cpu_ns: u64::try_from(cpu.as_nanos()).unwrap_or(u64::MAX),
        napi_cpu_ns,
        delay_bound_ns,
        xdp_mode,
        xsk_bind,
        elapsed_ns: u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX),
        results: Default::default(),
    })
}

/// Threaded NAPI on the receive interface for this receive, its kthreads on the receive core
/// ([`crate::topology::napi::thread_for_receive`]) — unless the interface belongs to a netlab
/// lab, whose `napi` setting decides. `None` when it is threaded already, has no NAPI, or
/// cannot be made threaded (said in the log: the receive goes on, without the kernel's CPU).
fn threaded_napi(spec: &RecvSpec) -> Option<crate::topology::napi::ThreadedForReceive> {
    let in_lab = spec.netns.as_deref().is_some_and(|ns| {
        crate::topology::interface::labs_with(&spec.iface).iter().any(|lab| lab.netns == ns)
    });
    if in_lab {
        return None;
    }
    crate::topology::napi::thread_for_receive(&spec.iface, spec.core).unwrap_or_else(|e| {
        tracing::warn!("{}: receiving without threaded NAPI: {e:#}", spec.iface);
        None
    })
}

/// The NAPI kthreads whose CPU time is the kernel's half of the receive.
fn napi_pids(
    spec: &RecvSpec,
    threaded: Option<&crate::topology::napi::ThreadedForReceive>,
) -> Vec<u32> {
    match threaded {
        Some(t) => t.pids().to_vec(),
        None => napi_kthreads(&spec.iface),
    }
}

/// The NAPI kthreads (threaded NAPI) of `iface` in the calling thread's namespace; none when
/// NAPI runs inline or the kernel cannot say.
fn napi_kthreads(iface: &str) -> Vec<u32> {
    fastnet::afpacket::ifindex(iface)
        .map_err(anyhow::Error::from)
        .and_then(|ifindex| crate::topology::napi::napi_of(iface, ifindex))
        .map(|(napis, _)| napis.into_iter().filter_map(|n| n.pid).collect())
        .unwrap_or_else(|e| {
            tracing::debug!("no NAPI kthread CPU for {iface}: {e:#}");
            Vec::new()
        })
}

/// On-CPU time of NAPI kthreads, measured from a start point.
#[derive(Debug)]
struct NapiClock {
    /// `(pid, on-CPU time at start)` per kthread.
    start: Vec<(u32, Duration)>,
}

impl NapiClock {
    /// Starts measuring `pids` (those whose time can be read) from now.
    fn start(pids: &[u32]) -> Self {
        let start =
            pids.iter().filter_map(|&p| Some((p, fastnet::cpu::task_cpu_time(p).ok()?))).collect();
        Self { start }
    }

    /// Their on-CPU time since the start, ns.
    fn elapsed_ns(&self) -> Option<u64> {
        if self.start.is_empty() {
            return None;
        }
        let total = self.start.iter().try_fold(Duration::ZERO, |sum, &(pid, t0)| {
            Some(sum + fastnet::cpu::task_cpu_time(pid).ok()?.saturating_sub(t0))
        })?;
        u64::try_from(total.as_nanos()).ok()
    }
}
