//! `netlab recv`: run one receive method on an interface, show the live rate, print what it
//! counted.

use std::io::IsTerminal as _;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crate::exit::{bad_input, Code};
use crate::interrupt::Interrupt;
use crate::method::Wait;
use crate::outln;
use crate::receiver::record::{Saved, WriteTo};
use crate::receiver::{self, Method, RecvConfig, RecvReport, RecvSpec};
use crate::scenario::units::{parse_duration, parse_size};
use crate::topology::interface;

/// Arguments of `netlab recv`.
#[derive(Debug, clap::Args)]
#[command(after_long_help = knobs_help())]
pub struct Args {
    /// Interface to receive on.
    #[arg(short, long, value_name = "IFACE")]
    pub iface: String,
    /// Named network namespace to run in (a lab made by `netlab topo up`, or any `ip netns`).
    #[arg(long, value_name = "NAME")]
    pub netns: Option<String>,
    #[arg(short, long, value_name = "METHOD", value_parser = parse_method,
          help = format!("Receive method: {}", Method::valid_names()))]
    pub method: Method,
    /// Buffer size, e.g. `4MiB` (what it sizes depends on the method: see below).
    #[arg(short, long, value_name = "SIZE", value_parser = parse_buffer)]
    pub buffer: Option<u64>,
    /// Frames per batch (fastnet:2 recvmmsg vector, fastnet:3 ring pass).
    #[arg(long, value_name = "N")]
    pub batch: Option<usize>,
    /// Ring entries (fastnet:3 fill and rx rings, a power of two).
    #[arg(long, value_name = "N")]
    pub frames: Option<usize>,
    /// What an idle receiver does: sleep in poll(2) or spin.
    #[arg(long, value_enum, default_value_t = Wait::Poll)]
    pub wait: Wait,
    /// fastnet:3: how long frames may gather in the ring between drains while they keep
    /// coming, e.g. `1ms` (default 10ms, pcap's block timeout; 0s: woken by every NAPI flush).
    #[arg(long, value_name = "DURATION", value_parser = parse_delay_arg)]
    pub max_delay: Option<Duration>,
    /// fastnet:3, xdp-drop: where the XDP program runs — auto: native where the driver has
    /// it, else generic (skb) mode.
    #[arg(long, value_name = "MODE", default_value = "auto",
          value_parser = clap::builder::PossibleValuesParser::new(crate::method::XDP_MODES))]
    pub xdp_mode: String,
    /// fastnet:3: how the AF_XDP socket binds — auto: zero-copy where the driver offers it,
    /// else copy; required: zero-copy or fail; off: copy.
    #[arg(long, value_name = "WHEN", default_value = "auto",
          value_parser = clap::builder::PossibleValuesParser::new(crate::method::ZERO_COPY))]
    pub zero_copy: String,
    /// Stop after this long, e.g. `10s` (default: run until Ctrl-C, which then exits 0; a
    /// Ctrl-C before --duration or --count is reached exits 130).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration_arg, conflicts_with = "count")]
    pub duration: Option<Duration>,
    /// Stop once this many frames were received (a few more may arrive while it drains).
    #[arg(long, value_name = "N")]
    pub count: Option<u64>,
    /// Core to pin the receiver to (default: not pinned).
    #[arg(long, value_name = "C")]
    pub core: Option<usize>,
    /// `exec` only: the receiver program's command line; `{iface}` and `{core}` are filled in.
    #[arg(long, value_name = "CMD")]
    pub command: Option<String>,
    /// Save what the receiver got to this capture file (pcapng if it ends in .pcapng, else
    /// pcap), written by another thread: frames it cannot keep up with are left out of the file
    /// (never out of the counts) and the summary says how many. Not for xdp-drop and exec.
    #[arg(short = 'w', long, value_name = "FILE")]
    pub write: Option<PathBuf>,
    /// With --write: keep only the first N frames in the file.
    #[arg(long, value_name = "N", requires = "write")]
    pub write_count: Option<u64>,
    /// Print the summary as JSON.
    #[arg(long)]
    pub json: bool,
    /// Receive even if the interface is down (nothing arrives on a down interface).
    #[arg(long)]
    pub force: bool,
}

/// What each knob sets, per method (from the methods' descriptors), and the `exec` contract.
fn knobs_help() -> String {
    let knobs = crate::method::knobs_help();
    let mut out =
        String::from("What each knob sets, per method (a method not listed does not take it):\n");
    for line in knobs.lines() {
        match line.strip_suffix(':') {
            Some(key) if !line.starts_with(' ') => out.push_str(&format!("{}\n", knob_flag(key))),
            _ => out.push_str(&format!("{line}\n")),
        }
    }
    out.push_str(
        "\nexec runs your own receiver inside the namespace, on --core: it prints READY when its \
         socket is\nopen, and `RESULT-RX <frames>` and `RESULT-IP <ipv4>` on stdout when it gets \
         SIGINT.",
    );
    out
}

/// The flag of a knob as the descriptors write it (`wait = "busy"` → `--wait busy`,
/// `max_delay` → `--max-delay`): a scenario key's underscores are a flag's dashes.
fn knob_flag(written: &str) -> String {
    match written.split_once(" = ") {
        Some((key, value)) => format!("--{} {}", key.replace('_', "-"), value.trim_matches('"')),
        None => format!("--{}", written.replace('_', "-")),
    }
}

fn parse_method(text: &str) -> Result<Method, String> {
    Method::parse(text).map_err(|e| e.to_string())
}

fn parse_buffer(text: &str) -> Result<u64, String> {
    parse_size(text).map_err(|e| e.to_string())
}

fn parse_delay_arg(text: &str) -> Result<Duration, String> {
    parse_duration(text).map_err(|e| e.to_string())
}

fn parse_duration_arg(text: &str) -> Result<Duration, String> {
    match parse_duration(text) {
        Ok(d) if d.is_zero() => Err("the duration must be more than 0".into()),
        Ok(d) => Ok(d),
        Err(e) => Err(e.to_string()),
    }
}

/// The summary `--json` prints.
#[derive(Debug, serde::Serialize)]
struct Summary<'a> {
    iface: &'a str,
    netns: Option<&'a str>,
    core: Option<usize>,
    #[serde(flatten)]
    report: &'a RecvReport,
    /// The interface's `rx_packets` (netlink stats64) over the run, when readable.
    iface_rx_frames: Option<u64>,
    /// (receiver + NAPI CPU) / frame, as in `results.json`; null when the NAPI part could not
    /// be measured.
    ns_per_frame: Option<f64>,
    /// The receiver's part.
    rx_ns_per_frame: Option<f64>,
    /// The NAPI kthread's part.
    napi_ns_per_frame: Option<f64>,
    /// What `--write` saved.
    #[serde(skip_serializing_if = "Option::is_none")]
    saved: Option<&'a Saved>,
}

pub(super) fn run(args: &Args, quiet: bool) -> anyhow::Result<Code> {
    if args.count == Some(0) {
        return Err(bad_input("--count 0: nothing to receive"));
    }
    if args.write_count == Some(0) {
        return Err(bad_input("--write-count 0: nothing to write"));
    }
    let spec = RecvSpec {
        method: args.method,
        iface: args.iface.clone(),
        netns: args.netns.clone(),
        core: args.core,
        config: RecvConfig {
            buffer: args.buffer,
            batch: args.batch,
            frames: args.frames,
            wait: args.wait,
            max_delay: args.max_delay,
            xdp_mode: crate::method::parse_xdp_mode(&args.xdp_mode).map_err(bad_input)?,
            zero_copy: crate::method::parse_zero_copy(&args.zero_copy).map_err(bad_input)?,
            command: args.command.clone(),
            write: args.write.clone().map(|path| WriteTo { path, count: args.write_count }),
        },
    };
    // What the flags say first (no root needed), then where they point.
    spec.config.validate(spec.method)?;
    let found = super::flag::interface(&args.iface, args.netns.as_deref(), !args.force)?;
    let iface_before = found.stats().ok();
    // Before the receiver opens: a SIGINT or SIGTERM while it opens ends the run as one that
    // comes later does — stopped, reported, and anything the method set put back.
    let interrupt = Interrupt::watch()?;
    let mut session = receiver::start(spec)?;
    session.wait_ready(receiver::READY_TIMEOUT)?;
    if !quiet {
        eprintln!("netlab: receiving on {} with {} — Ctrl-C stops", args.iface, args.method);
    }
    let started = Instant::now();
    let live = session.live().clone();
    let progress = !quiet && args.duration.is_none_or(|d| d >= Duration::from_secs(1));
    let tty = std::io::stderr().is_terminal();
    let (mut last_frames, mut last_tick) = (0u64, Instant::now());
    loop {
        std::thread::sleep(Duration::from_millis(10));
        let frames = live.frames.load(Ordering::Relaxed);
        if interrupt.is_set()
            || args.duration.is_some_and(|d| started.elapsed() >= d)
            || args.count.is_some_and(|n| frames >= n)
            || session.is_finished()
        {
            break;
        }
        if progress && last_tick.elapsed() >= Duration::from_secs(1) {
            let pps = (frames - last_frames) as f64 / last_tick.elapsed().as_secs_f64();
            let line = format!("{:>12} pps  {frames:>12} frames", format!("{pps:.0}"));
            if tty {
                eprint!("\r{line}");
            } else {
                eprintln!("{line}");
            }
            (last_frames, last_tick) = (frames, Instant::now());
        }
    }
    if progress && tty {
        eprintln!();
    }
    let (report, saved) = session.stop_saving()?;
    let iface_after = interface::stats(args.netns.as_deref(), &args.iface).ok();
    let iface_rx = match (iface_before, iface_after) {
        (Some(a), Some(b)) => Some(b.rx_packets.saturating_sub(a.rx_packets)),
        _ => None,
    };
    print_summary(args, &report, iface_rx, saved.as_ref())?;
    // Without --duration or --count, Ctrl-C is how a run ends; with them, it cut the run short.
    let cut_short = interrupt.is_set() && (args.duration.is_some() || args.count.is_some());
    Ok(if cut_short { Code::Interrupted } else { Code::Ok })
}

fn print_summary(
    args: &Args,
    report: &RecvReport,
    iface_rx: Option<u64>,
    saved: Option<&Saved>,
) -> anyhow::Result<()> {
    let cpu = report.cpu_per_frame();
    if args.json {
        let summary = Summary {
            iface: &args.iface,
            netns: args.netns.as_deref(),
            core: args.core,
            report,
            iface_rx_frames: iface_rx,
            ns_per_frame: cpu.and_then(|c| c.total_ns()),
            rx_ns_per_frame: cpu.map(|c| c.receiver_ns),
            napi_ns_per_frame: cpu.and_then(|c| c.kernel_ns),
            saved,
        };
        outln!("{}", serde_json::to_string_pretty(&summary)?)?;
        return Ok(());
    }
    let secs = report.elapsed_ns as f64 / 1e9;
    outln!("method        {}", report.method)?;
    outln!(
        "interface     {}{}{}",
        args.iface,
        args.netns.as_deref().map(|n| format!(" (namespace {n})")).unwrap_or_default(),
        args.core.map(|c| format!(", core {c}")).unwrap_or_default()
    )?;
    outln!("frames        {} (app, do_something)", report.frames)?;
    outln!("ipv4          {} (EtherType 0x0800)", report.ipv4)?;
    match &report.kernel {
        Some(k) => outln!(
            "kernel        {} reached the socket/ring, {} dropped there{}",
            k.packets,
            k.drops,
            if k.freeze_q > 0 { format!(", {} freezes", k.freeze_q) } else { String::new() }
        )?,
        None => outln!("kernel        - (exec: the program's own socket)")?,
    }
    if let Some(rx) = iface_rx {
        outln!("iface rx      {rx} (netlink rx_packets over the run)")?;
    }
    if let Some(mode) = report.xdp_mode {
        let how = match mode {
            fastnet::bpf::XdpMode::Native => "in the driver",
            fastnet::bpf::XdpMode::Generic => "on the skb: every frame pays an skb, as for pcap",
        };
        let bind = report
            .xsk_bind
            .map(|b| format!("; AF_XDP socket bound in {b} mode"))
            .unwrap_or_default();
        outln!("xdp           {mode} mode ({how}){bind}")?;
    }
    let kernel = report.napi_cpu_ns.map_or_else(
        || "kernel — (no NAPI kthread to measure)".to_string(),
        |napi| format!("{:.3} ms kernel (NAPI kthread)", napi as f64 / 1e6),
    );
    outln!("cpu           {:.3} ms receiver + {kernel}", report.cpu_ns as f64 / 1e6)?;
    if let Some(cpu) = cpu {
        outln!("cpu/frame     {}", cpu.describe())?;
        let pps = if secs > 0.0 { report.frames as f64 / secs } else { 0.0 };
        // What the socket or ring dropped, as a share of what reached it.
        let loss_pct = report.kernel.map_or(0.0, |k| {
            if k.packets > 0 {
                100.0 * k.drops as f64 / k.packets as f64
            } else {
                0.0
            }
        });
        if receiver::wakeups_dominate(pps, loss_pct) {
            outln!(
                "              idle wake-ups dominate this at {pps:.0} pps (below {:.0} kpps, \
                 kept up with)",
                receiver::WAKEUPS_DOMINATE_BELOW_PPS / 1e3
            )?;
        }
    }
    if let Some(bound) = report.delay_bound_ns {
        outln!(
            "delay         ≤ {} ms in the socket/ring before the app sees a frame (wait policy)",
            bound as f64 / 1e6
        )?;
    }
    outln!(
        "elapsed       {secs:.3} s from ready to drained (average {:.0} pps)",
        if secs > 0.0 { report.frames as f64 / secs } else { 0.0 }
    )?;
    if let Some(saved) = saved {
        let past = match saved.past_count {
            0 => String::new(),
            n => format!(", {n} past --write-count"),
        };
        outln!(
            "file          {}: {} frames written, {} left out (the writer fell behind){past}",
            saved.path.display(),
            saved.written,
            saved.left_out
        )?;
    }
    for (name, value) in &report.results {
        if name != "RX" && name != "IP" {
            outln!("RESULT-{name:<7} {value}")?;
        }
    }
    Ok(())
}
