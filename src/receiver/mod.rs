//! Receive methods: open one on an interface, run it on a pinned thread inside the lab's
//! namespace, and report what it counted where.
//!
//! One file per method that netlab implements itself ([`socket`], [`pcap`], [`exec`]); the
//! `fastnet:*` modes and `xdp-drop` come from [`fastnet`]. Every method runs
//! [`fastnet::Tally::do_something`] on every frame (bytes 12-13 == `0x0800` → IPv4).
//!
//! # The knobs, and what each method makes of them
//! | method | `buffer` (bytes) | `frames` | `batch` | `wait` | `max_delay` |
//! |---|---|---|---|---|---|
//! | `socket` | `SO_RCVBUF` | — | — | poll: sleep in pnet's `poll`; busy: spin | — |
//! | `pcap` | libpcap `buffer_size` (the TPACKET_V3 ring) | — | — | poll / spin on `pcap_dispatch` | — (the block timeout, 10 ms) |
//! | `fastnet:1` | `SO_RCVBUF` | — | — | `poll` / spin on `MSG_DONTWAIT` | — |
//! | `fastnet:2` | `SO_RCVBUF` | — | frames per `recvmmsg` | as above | — |
//! | `fastnet:mmap` | ring bytes (`tp_block_size × tp_block_nr`) | — | — | `poll` / spin on the block status | — (the block timeout, 10 ms) |
//! | `fastnet:3` | UMEM bytes (÷ 2048-byte frames; default 32 MiB = 16 384 frames) | fill and rx ring entries (default: every UMEM frame) | frames per ring pass (default 256) | poll: `poll(2)` as a `SCHED_BATCH` thread; busy: spin | how long frames may gather in the ring between drains while they keep coming (default 10 ms; `0s`: woken by every NAPI flush) |
//! | `xdp-drop` | — | — | — | — (the kernel counts) | — |
//! | `exec` | — | — | — | — (the program decides) | — |
//!
//! A knob a method does not use is rejected with a message naming the method, so a scenario
//! never believes it tuned something it did not.
//!
//! `fastnet:3` without knobs is its fastest configuration on a core shared with threaded NAPI
//! (measured with `labs/bench-receivers.toml`; the reasons are in [`fastnet::xdp`]): a UMEM
//! large enough for the receiver to be off the core for a scheduler slice, and a receiver
//! thread that, woken by arriving frames, does not preempt the NAPI kthread copying them
//! (`SCHED_BATCH`). `--wait busy` spins instead, as an ordinary thread, and keeps less there.
//! Below flood, the same defaults make it the cheapest method per frame (`scripts/bench-cost`):
//! while frames keep coming it sleeps up to `max_delay` between drains instead of being woken
//! by every NAPI flush, so it holds a frame back at most as long as libpcap's block timeout.
//!
//! # Running a receiver
//! [`start`] spawns a dedicated OS thread that enters the namespace, pins itself to the core,
//! opens the method and signals ready ([`Session::wait_ready`]); it then receives until
//! [`Session::stop`], drains what is still queued (until nothing arrives for [`DRAIN_QUIET`])
//! and returns a [`RecvReport`]. [`Session::live`] gives counters to show progress while it
//! runs.

pub mod exec;
pub mod pcap;
pub mod record;
pub mod socket;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context as _};
use fastnet::rx::{Receive, RxStats, Wait};
use fastnet::Tally;

pub use crate::scenario::Method;

/// How long one `receive` call may wait when idle: bounds how late a receiver notices
/// [`Session::stop`].
pub const IDLE_WAIT: Duration = Duration::from_millis(50);

/// After [`Session::stop`], a receiver keeps draining until nothing has arrived for this long.
/// Longer than any method's delivery delay (libpcap's block timeout is
/// [`pcap::BLOCK_TIMEOUT_MS`]).
pub const DRAIN_QUIET: Duration = Duration::from_millis(200);

/// How long [`Session::wait_ready`] waits for the method to open by default.
pub const READY_TIMEOUT: Duration = Duration::from_secs(10);

/// UMEM frame size used for `fastnet:3`: `buffer` is divided by it.
pub const XDP_FRAME_SIZE: u32 = 2048;

/// A receiver knob that only some methods use: the one table both `netlab recv`
/// ([`RecvConfig::validate`]) and scenario files (`Scenario::parse`) check against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Knob {
    /// `buffer` / `--buffer`.
    Buffer,
    /// `batch` / `--batch`.
    Batch,
    /// `frames` / `--frames`.
    Frames,
    /// `wait = "busy"` / `--wait busy` (every method can be told to poll).
    BusyWait,
    /// `write = "…"` / `--write`: save what was received ([`record`]); frames must reach
    /// netlab for that.
    Write,
    /// `max_delay` / `--max-delay`.
    MaxDelay,
}

impl Knob {
    /// Whether `method` uses this knob (see the table in the module docs).
    pub fn used_by(self, method: Method) -> bool {
        match self {
            Knob::Buffer | Knob::BusyWait => !matches!(method, Method::XdpDrop | Method::Exec),
            Knob::Batch => matches!(method, Method::FastnetBatch | Method::FastnetXdp),
            Knob::Write => !matches!(method, Method::XdpDrop | Method::Exec),
            Knob::Frames | Knob::MaxDelay => method == Method::FastnetXdp,
        }
    }

    /// How `netlab recv` spells it (`--buffer`).
    pub fn flag(self) -> &'static str {
        match self {
            Knob::Buffer => "--buffer",
            Knob::Batch => "--batch",
            Knob::Frames => "--frames",
            Knob::BusyWait => "--wait busy",
            Knob::Write => "--write",
            Knob::MaxDelay => "--max-delay",
        }
    }

    /// How a scenario's `[[receiver]]` table spells it (`buffer`).
    pub fn key(self) -> &'static str {
        match self {
            Knob::Buffer => "buffer",
            Knob::Batch => "batch",
            Knob::Frames => "frames",
            Knob::BusyWait => "wait = \"busy\"",
            Knob::Write => "write",
            Knob::MaxDelay => "max_delay",
        }
    }

    /// The methods that use it, by canonical name, in the lesson's order.
    pub fn users(self) -> Vec<&'static str> {
        Method::all().iter().filter(|m| self.used_by(**m)).map(|m| m.name()).collect()
    }
}

/// The knobs every method takes (see the module docs for what each maps to).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecvConfig {
    /// Buffer bytes: socket receive buffer, pcap ring, packet ring, or UMEM.
    pub buffer: Option<u64>,
    /// Frames per batch (`recvmmsg` vector, AF_XDP ring pass).
    pub batch: Option<usize>,
    /// Ring entries (AF_XDP fill and rx rings).
    pub frames: Option<usize>,
    /// Sleep or spin when idle.
    pub wait: Wait,
    /// How long frames may gather in the ring between drains (AF_XDP).
    pub max_delay: Option<Duration>,
    /// `exec` only: the command line of the user's receiver (see [`exec`]).
    pub command: Option<String>,
    /// Save what was received to a capture file (see [`record`]).
    pub write: Option<record::WriteTo>,
}

impl RecvConfig {
    /// Rejects knobs `method` does not use, and buffers too small for one frame or larger than
    /// the memory available.
    pub fn validate(&self, method: Method) -> anyhow::Result<()> {
        use crate::exit::bad_input;
        let unused = |knob: &str| {
            Err(bad_input(format!(
                "{knob} does not apply to method `{method}` (see `netlab recv --help`)"
            )))
        };
        let set = [
            (Knob::Buffer, self.buffer.is_some()),
            (Knob::Batch, self.batch.is_some()),
            (Knob::Frames, self.frames.is_some()),
            (Knob::BusyWait, self.wait == Wait::Busy),
            (Knob::Write, self.write.is_some()),
            (Knob::MaxDelay, self.max_delay.is_some()),
        ];
        if let Some((knob, _)) = set.iter().find(|(knob, set)| *set && !knob.used_by(method)) {
            return unused(knob.flag());
        }
        if let Some(d) = self.max_delay.filter(|d| *d > fastnet::xdp::MAX_DELAY_LIMIT) {
            return Err(bad_input(format!(
                "{} {d:?} is more than {:?}",
                Knob::MaxDelay.flag(),
                fastnet::xdp::MAX_DELAY_LIMIT
            )));
        }
        if self.batch == Some(0) {
            return Err(bad_input("--batch 0: a batch holds at least one frame"));
        }
        match (method, &self.command) {
            (Method::Exec, None) => {
                return Err(bad_input(
                    "method `exec` needs a command (`--command \"./rx {iface}\"`)",
                ))
            }
            (Method::Exec, Some(c)) if c.trim().is_empty() => {
                return Err(bad_input("method `exec`: the command is empty"))
            }
            (m, Some(_)) if m != Method::Exec => return unused("a command"),
            _ => {}
        }
        if let Some(bytes) = self.buffer {
            let min = match method {
                Method::Socket | Method::FastnetRead | Method::FastnetBatch => socket::MIN_BUFFER,
                Method::Pcap => pcap::MIN_BUFFER,
                Method::FastnetXdp => 2 * u64::from(XDP_FRAME_SIZE),
                _ => 4096,
            };
            if bytes < min {
                return Err(bad_input(format!(
                    "--buffer {bytes} B is too small for one frame with method `{method}` \
                     (at least {min} B)"
                )));
            }
            if let Some(available) = memory_available() {
                if bytes > available {
                    return Err(bad_input(format!(
                        "--buffer {bytes} B is more than the memory available ({available} B)"
                    )));
                }
            }
        }
        Ok(())
    }
}

/// `MemAvailable` from `/proc/meminfo`, in bytes.
fn memory_available() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let kib = text.lines().find_map(|l| l.strip_prefix("MemAvailable:"))?;
    kib.trim().trim_end_matches("kB").trim().parse::<u64>().ok().map(|k| k * 1024)
}

/// Opens `method` on `iface` in the calling thread's namespace. Not for `exec`, which is a
/// program rather than a socket: [`start`] runs it.
pub fn open(method: Method, iface: &str, cfg: &RecvConfig) -> anyhow::Result<Box<dyn Receive>> {
    cfg.validate(method)?;
    let opened: fastnet::Result<Box<dyn Receive>> = match method {
        Method::Socket => socket::SocketRx::open(iface, cfg.buffer, cfg.wait, IDLE_WAIT)
            .map(|rx| Box::new(rx) as Box<dyn Receive>),
        Method::Pcap => {
            pcap::PcapRx::open(iface, cfg.buffer, cfg.wait).map(|rx| Box::new(rx) as Box<_>)
        }
        Method::FastnetRead | Method::FastnetBatch | Method::FastnetMmap => {
            open_afpacket(method, iface, cfg)
        }
        Method::FastnetXdp => {
            let umem_frames = cfg.buffer.map_or(fastnet::xdp::DEFAULT_FRAMES, |bytes| {
                u32::try_from(bytes / u64::from(XDP_FRAME_SIZE)).unwrap_or(u32::MAX)
            });
            let mut xsk = fastnet::xdp::XskConfig::for_frames(umem_frames);
            xsk.frame_size = XDP_FRAME_SIZE;
            xsk.wait = cfg.wait;
            if let Some(n) = cfg.frames {
                let n = u32::try_from(n).unwrap_or(u32::MAX);
                xsk.fill_size = n;
                xsk.rx_size = n;
            }
            if let Some(b) = cfg.batch {
                xsk.batch = u32::try_from(b).unwrap_or(u32::MAX);
            }
            if let Some(d) = cfg.max_delay {
                xsk.max_delay = d;
            }
            fastnet::xdp::XskRx::open(iface, 0, &xsk).map(|rx| Box::new(rx) as Box<_>)
        }
        Method::XdpDrop => {
            fastnet::bpf::XdpDropCounter::attach(iface).map(|c| Box::new(c) as Box<_>)
        }
        Method::Exec => {
            return Err(anyhow!("method `exec` runs a program, not a socket: use receiver::start"))
        }
    };
    opened.map_err(|e| classify(method, iface, e))
}

/// Turns a fastnet error into one line naming the method and interface, classified for the
/// exit code.
fn classify(method: Method, iface: &str, err: fastnet::Error) -> anyhow::Error {
    use crate::exit;
    let errno = err.raw_os_error();
    match err {
        fastnet::Error::NoSuchInterface(_) => {
            exit::bad_input(format!("{method}: no interface named `{iface}` here"))
        }
        fastnet::Error::InvalidConfig { .. } => exit::bad_input(format!("{method}: {err}")),
        fastnet::Error::Unsupported { .. } => exit::unsupported(format!(
            "{method} on {iface}: {err} — `netlab doctor` explains what this machine lacks"
        )),
        _ if matches!(errno, Some(libc::EPERM) | Some(libc::EACCES)) => exit::privilege(format!(
            "{method} on {iface}: {err} — run as root (CAP_NET_RAW, CAP_NET_ADMIN, CAP_BPF)"
        )),
        _ if matches!(method, Method::FastnetXdp | Method::XdpDrop)
            && matches!(errno, Some(libc::EOPNOTSUPP) | Some(libc::ENOSYS)) =>
        {
            let what = if method == Method::FastnetXdp { "AF_XDP" } else { "BPF/XDP" };
            exit::unsupported(format!(
                "{method} on {iface}: {what} unavailable ({err}) — `netlab doctor` explains"
            ))
        }
        _ if matches!(method, Method::FastnetXdp | Method::XdpDrop)
            && errno == Some(libc::EBUSY) =>
        {
            exit::bad_input(format!(
                "{method} on {iface}: {err} — the interface already has an XDP program"
            ))
        }
        _ => anyhow::Error::new(err).context(format!("{method} on {iface}")),
    }
}

/// Opens the AF_PACKET modes of fastnet.
fn open_afpacket(
    method: Method,
    iface: &str,
    cfg: &RecvConfig,
) -> fastnet::Result<Box<dyn Receive>> {
    use fastnet::afpacket::{MmsgRx, ReadRx, RingRx, RxConfig};
    let mut config = RxConfig { wait: cfg.wait, ..Default::default() };
    if let Some(bytes) = cfg.buffer {
        config.buffer = Some(usize::try_from(bytes).unwrap_or(usize::MAX));
    }
    if let Some(b) = cfg.batch {
        config.batch = b;
    }
    Ok(match method {
        Method::FastnetRead => Box::new(ReadRx::open(iface, &config)?),
        Method::FastnetBatch => Box::new(MmsgRx::open(iface, &config)?),
        _ => Box::new(RingRx::open(iface, &config)?),
    })
}

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
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
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

/// What one receiver run counted, and what it cost.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct RecvReport {
    /// The method.
    pub method: Method,
    /// Frames the application handled (ran `do_something` on).
    pub frames: u64,
    /// Of those, frames with EtherType IPv4.
    pub ipv4: u64,
    /// The kernel's counters for this socket or ring; `None` for `exec`.
    pub kernel: Option<KernelCounters>,
    /// On-CPU time of the receiver (its thread; for `exec`, the program's processes), ns.
    pub cpu_ns: u64,
    /// On-CPU time of the interface's NAPI kthread(s) over the same span, ns; `None` when the
    /// interface runs NAPI inline (no kthread) or the kernel cannot say (Linux < 6.8).
    pub napi_cpu_ns: Option<u64>,
    /// The longest a frame could wait in the socket or ring before the receiver's wait policy
    /// let it see it, ns ([`fastnet::rx::Receive::delay_bound`]); `None` when the method does
    /// not say.
    pub delay_bound_ns: Option<u64>,
    /// From ready to the end of the drain, ns.
    pub elapsed_ns: u64,
    /// `exec` only: every `RESULT-<NAME> <value>` line the program printed (last value wins).
    pub results: std::collections::BTreeMap<String, String>,
}

impl RecvReport {
    /// Receiver CPU time per frame handled, ns.
    pub fn cpu_ns_per_frame(&self) -> Option<f64> {
        (self.frames > 0).then(|| self.cpu_ns as f64 / self.frames as f64)
    }
}

/// Where and how to run a receiver.
#[derive(Debug, Clone, PartialEq, Eq)]
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
    stop: Arc<AtomicBool>,
    live: Live,
    ready: mpsc::Receiver<()>,
    is_ready: bool,
    thread: Option<JoinHandle<anyhow::Result<RecvReport>>>,
    /// The capture file writer, when the config asks for one.
    recorder: Option<record::Recorder>,
}

/// Starts a receiver: validates the knobs, then spawns its thread, which enters `spec.netns`,
/// pins itself to `spec.core` and opens the method. Call [`Session::wait_ready`] before sending.
pub fn start(spec: RecvSpec) -> anyhow::Result<Session> {
    spec.config.validate(spec.method)?;
    let method = spec.method;
    let stop = Arc::new(AtomicBool::new(false));
    let live = Live::default();
    let (ready_tx, ready) = mpsc::channel();
    // Started here, not on the pinned receiver thread, so the writer is not pinned with it.
    let (recorder, tap) = match &spec.config.write {
        Some(to) => record::Recorder::start(to).map(|(r, tap)| (Some(r), Some(tap)))?,
        None => (None, None),
    };
    let thread = {
        let (stop, live) = (stop.clone(), live.clone());
        std::thread::Builder::new()
            .name(format!("recv {method}"))
            .spawn(move || run_thread(&spec, &stop, &live, ready_tx, tap))
            .context("cannot spawn the receiver thread")?
    };
    Ok(Session { method, stop, live, ready, is_ready: false, thread: Some(thread), recorder })
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
            Err(mpsc::RecvTimeoutError::Disconnected) => match self.join() {
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
        self.thread.as_ref().is_none_or(JoinHandle::is_finished)
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
        self.stop.store(true, Ordering::Relaxed);
        let report = self.join()?;
        let saved = self.recorder.take().map(record::Recorder::finish).transpose()?;
        Ok((report, saved))
    }

    fn join(&mut self) -> anyhow::Result<RecvReport> {
        let thread = self.thread.take().ok_or_else(|| anyhow!("receiver already stopped"))?;
        match thread.join() {
            Ok(result) => result,
            Err(panic) => std::panic::resume_unwind(panic),
        }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
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
    if let Some(name) = &spec.netns {
        let ns = fastnet::netns::NetNs::open_named(name).map_err(|e| match e {
            fastnet::Error::InvalidConfig { .. } => crate::exit::bad_input(format!("--netns: {e}")),
            other => anyhow::Error::new(other).context(format!("cannot open namespace `{name}`")),
        })?;
        ns.enter().map_err(|e| match e.raw_os_error() {
            Some(libc::EPERM) => crate::exit::privilege(format!(
                "cannot enter namespace `{name}`: {e}: entering a network namespace needs root \
                 (CAP_SYS_ADMIN): run with sudo"
            )),
            _ => anyhow::Error::new(e).context(format!("cannot enter namespace `{name}`")),
        })?;
    }
    if let Some(core) = spec.core {
        fastnet::cpu::pin_current_thread(core).map_err(|e| match e {
            fastnet::Error::InvalidConfig { .. } => crate::exit::bad_input(format!("--core: {e}")),
            other => anyhow::Error::new(other).context(format!("cannot pin to core {core}")),
        })?;
    }
    let napi_pids = napi_kthreads(&spec.iface);
    if spec.method == Method::Exec {
        let napi = NapiClock::start(&napi_pids);
        let mut report = exec::run(spec, stop, live, ready)?;
        report.napi_cpu_ns = napi.elapsed_ns();
        return Ok(report);
    }
    let mut rx = open(spec.method, &spec.iface, &spec.config)?;
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
    let mut last_frame = Instant::now();
    while last_frame.elapsed() < DRAIN_QUIET {
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
    drop(rx);
    Ok(RecvReport {
        method: spec.method,
        frames: tally.frames,
        ipv4: tally.ipv4,
        kernel: Some(kernel.into()),
        cpu_ns: u64::try_from(cpu.as_nanos()).unwrap_or(u64::MAX),
        napi_cpu_ns,
        delay_bound_ns,
        elapsed_ns: u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX),
        results: Default::default(),
    })
}

/// The NAPI kthreads (threaded NAPI) of `iface` in the calling thread's namespace; none when
/// NAPI runs inline or the kernel cannot say.
fn napi_kthreads(iface: &str) -> Vec<u32> {
    fastnet::afpacket::ifindex(iface)
        .map_err(anyhow::Error::from)
        .and_then(crate::topology::napi::napi_of)
        .map(|napis| napis.into_iter().filter_map(|n| n.pid).collect())
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
