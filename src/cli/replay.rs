//! `netlab replay`: tcpreplay's command line over netlab's generator — exact counts, bounded
//! catch-up, four engines, and a report that says what the peer received.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use super::flag::{self, MacFlags};
use crate::exit::{self, bad_input, Code};
use crate::generator::Engine;
use crate::generator::{Ended, Generator, GeneratorConfig, Pace, Running, SendReport};
use crate::interrupt::Interrupt;
use crate::outln;
use crate::packet::{self, Rewrite};
use crate::scenario::{self, Rate};

/// Arguments of `netlab replay` (tcpreplay's flags where tcpreplay has them).
#[derive(Debug, clap::Args)]
#[command(group = clap::ArgGroup::new("rate").args(["pps", "mbps", "multiplier", "topspeed"]))]
pub struct Args {
    /// Interface to send on (tcpreplay's -i/--intf1).
    #[arg(short = 'i', long = "intf1", visible_alias = "interface", value_name = "IFACE")]
    pub interface: String,
    /// Network namespace of the interface, as `ip netns` names it (a lab: `netlab-NAME`).
    #[arg(long, value_name = "NAME")]
    pub netns: Option<String>,
    /// The pcap or pcapng file to replay, preloaded into memory as `tcpreplay -K` does: at most
    /// 1 GiB of frames (a larger file is refused before anything is sent).
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Frames per second (`100000`, `0.5`, or with a unit: `100kpps`).
    #[arg(short = 'p', long, value_name = "RATE", allow_negative_numbers = true)]
    pub pps: Option<String>,
    /// L2 megabits per second: frame bytes without FCS × 8, as tcpreplay counts (`100`, `1.5`).
    #[arg(short = 'M', long, value_name = "MBPS", allow_negative_numbers = true)]
    pub mbps: Option<String>,
    /// Replay at the file's own timing, sped up by this factor (`2` = twice as fast).
    #[arg(short = 'x', long, value_name = "FACTOR", allow_negative_numbers = true)]
    pub multiplier: Option<String>,
    /// As fast as the engine goes (the default when no rate is given).
    #[arg(short = 't', long)]
    pub topspeed: bool,
    /// Passes over the file; 0 = forever (until --limit, --duration or Ctrl-C) [default: 0 with
    /// --limit or --duration, else 1].
    #[arg(short = 'l', long = "loop", value_name = "N")]
    pub loops: Option<u64>,
    /// Pause between passes, in milliseconds (not counted against the rate).
    #[arg(long = "loopdelay-ms", value_name = "MS", default_value_t = 0)]
    pub loopdelay_ms: u64,
    /// Send exactly this many frames (fewer only if the file and loops hold fewer).
    #[arg(short = 'L', long, value_name = "N")]
    pub limit: Option<u64>,
    /// Paced: send the frames scheduled within this time (rate × duration, exactly); top speed:
    /// stop after this wall time. Seconds (`10`, as tcpreplay) or with a unit (`10s`, `500ms`).
    #[arg(long, value_name = "TIME")]
    pub duration: Option<String>,
    /// Accepted for tcpreplay compatibility: the file is always preloaded.
    #[arg(short = 'K', long = "preload-pcap")]
    pub preload_pcap: bool,
    /// Print progress every N seconds while sending.
    #[arg(long, value_name = "N")]
    pub stats: Option<u64>,
    /// Send engine: `auto` picks the fastest that works on the interface and says why.
    #[arg(long, value_enum, default_value_t = Engine::Auto)]
    pub engine: Engine,
    /// Most frames per send call [default: 64; xdp at top speed: 16384].
    #[arg(long, value_name = "N")]
    pub batch: Option<usize>,
    /// Most frames sent back to back [default: 64]: batches hold at most this many, and a
    /// sender further behind slips the schedule instead of catching up in a longer burst. The
    /// report prints the largest burst sent.
    #[arg(long, value_name = "N")]
    pub burst: Option<usize>,
    /// Pin the sender to this core [default: the lab's send core, else 0].
    #[arg(long, value_name = "CORE")]
    pub core: Option<usize>,
    /// Print the report as one JSON object.
    #[arg(long)]
    pub json: bool,
    /// Send even if the interface is down or has no carrier, or xdp's peer runs no NAPI.
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub macs: MacFlags,
}

/// A positive decimal number from a flag (`100000`, `0.5`) times `scale`, rounded to a whole
/// number from 1 up; zero, negative, not a number or out of range is bad input naming the flag.
fn scaled(text: &str, flag: &str, scale: f64, range: &str) -> anyhow::Result<u64> {
    let value: f64 =
        text.trim().parse().map_err(|_| bad_input(format!("{flag} {text}: not a number")))?;
    if !value.is_finite() || value <= 0.0 {
        return Err(bad_input(format!("{flag} {text}: must be greater than zero")));
    }
    let scaled = (value * scale).round();
    if scaled < 1.0 || scaled > u64::MAX as f64 {
        return Err(bad_input(format!("{flag} {text}: out of range{range}")));
    }
    Ok(scaled as u64)
}

/// The pace the flags ask for.
fn pace(args: &Args) -> anyhow::Result<Pace> {
    if let Some(text) = &args.pps {
        if text.chars().any(|c| c.is_ascii_alphabetic()) {
            // A unit: `100kpps` (scenario units). Bit rates belong to --mbps.
            return match scenario::parse_rate(text) {
                Ok(Rate::Pps(pps)) => Ok(Pace::MilliPps(pps.saturating_mul(1000))),
                Ok(_) => Err(bad_input(format!("--pps {text}: give frames per second"))),
                Err(e) => Err(bad_input(format!("--pps: {e}"))),
            };
        }
        let milli_pps = scaled(text, "--pps", 1000.0, " (0.001 to 10^16)")?;
        if milli_pps > scenario::units::MAX_PPS * 1000 {
            return Err(bad_input(format!(
                "--pps {text}: {}",
                scenario::units::Problem::TooFast { limit: "100000000 (100Mpps)" }
            )));
        }
        return Ok(Pace::MilliPps(milli_pps));
    }
    if let Some(text) = &args.mbps {
        let bps = scaled(text, "--mbps", 1e6, "")?;
        if bps > scenario::units::MAX_L2_BPS {
            return Err(bad_input(format!(
                "--mbps {text}: {}",
                scenario::units::Problem::TooFast { limit: "100000 (100Gbps)" }
            )));
        }
        return Ok(Pace::L2BitsPerSec(bps));
    }
    if let Some(text) = &args.multiplier {
        return Ok(Pace::MultiplierMicros(scaled(text, "--multiplier", 1e6, "")?));
    }
    Ok(Pace::TopSpeed)
}

/// How late a paced replay with `--duration d` may end before it is stopped: as long again as
/// `d`, at least 5 s. (Generous: a loaded machine can slip a schedule the engine keeps by a
/// second or more, and `--pps R --duration D` promises R × D frames.)
fn replay_grace(d: Duration) -> Duration {
    d.max(Duration::from_secs(5))
}

/// `--duration`: seconds as tcpreplay takes them, or a duration with a unit.
fn duration(text: &str) -> anyhow::Result<Duration> {
    let d = if text.trim().bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        let secs: f64 = text
            .trim()
            .parse()
            .map_err(|_| bad_input(format!("--duration {text}: not a number of seconds")))?;
        Duration::try_from_secs_f64(secs)
            .map_err(|_| bad_input(format!("--duration {text}: out of range")))?
    } else {
        scenario::parse_duration(text).map_err(|e| bad_input(format!("--duration: {e}")))?
    };
    if d.is_zero() {
        return Err(bad_input(format!("--duration {text}: must be longer than zero")));
    }
    // The schedule counts in u64 nanoseconds; a longer duration would be clamped silently.
    if u64::try_from(d.as_nanos()).is_err() {
        return Err(bad_input(format!(
            "--duration {text}: too long (at most {} s, about 584 years)",
            u64::MAX / 1_000_000_000
        )));
    }
    Ok(d)
}

/// The generator's configuration the flags ask for, validated (as `recv`'s become a
/// `RecvSpec`): rates, counts and durations parsed, the file read and its MACs rewritten, and
/// in a netlab lab its send core and its receiver as the peer to count. Errors name the flag.
fn config(args: &Args) -> anyhow::Result<GeneratorConfig> {
    let pace = pace(args)?;
    let duration = args.duration.as_deref().map(duration).transpose()?;
    // `--limit N` and `--duration D` say how much to send: the file repeats until then.
    let loops =
        args.loops.unwrap_or(if args.limit.is_some() || duration.is_some() { 0 } else { 1 });
    if loops == 0 && args.limit.is_none() && duration.is_none() {
        tracing::info!("--loop 0 without --limit or --duration: sending until Ctrl-C");
    }
    let netns = args.netns.as_deref();
    let (src_mac, dst_mac) = args.macs.resolve(netns)?;
    let rewrite = Rewrite { src_mac, dst_mac, ..Rewrite::default() };
    let mut frames = packet::read_frames(&args.file)?;
    rewrite.apply_all(&mut frames);
    let lab = netns.and_then(crate::topology::interface::lab_in);
    let mut config = GeneratorConfig::new(args.interface.clone(), frames, pace);
    config.netns = args.netns.clone();
    config.source = args.file.display().to_string();
    config.loops = loops;
    config.limit = args.limit;
    config.duration = duration;
    config.loop_delay = Duration::from_millis(args.loopdelay_ms);
    config.engine = args.engine;
    config.batch = args.batch;
    config.burst = args.burst;
    config.core = Some(args.core.or(lab.as_ref().map(|l| l.tx_core)).unwrap_or(0));
    config.force = args.force;
    if let Some(lab) = &lab {
        // In a lab, count where the receivers listen (through the bridge on a bridge lab).
        config.peer_interface = lab
            .interfaces
            .iter()
            .find(|i| i.role == crate::topology::Role::Receiver)
            .map(|i| i.name.clone());
    }
    config.validate()?;
    Ok(config)
}

pub(super) fn run(args: &Args, quiet: bool) -> anyhow::Result<Code> {
    let config = config(args)?;
    if !rustix::process::geteuid().is_root() {
        return Err(exit::privilege(
            "netlab replay needs root (CAP_NET_RAW to send, CAP_NET_ADMIN and CAP_BPF for the \
             xdp engine, CAP_SYS_ADMIN for --netns): run it with sudo",
        ));
    }
    // Up and carrier are the generator's checks (with --force); here: namespace and interface.
    flag::interface(&args.interface, args.netns.as_deref(), false)?;
    // A paced schedule the engine cannot keep would run on far past --duration: stop it once it
    // is late by more than any busy machine makes a keepable one (exact counts stay exact).
    let give_up = config.duration.filter(|_| config.pace.is_paced());
    let generator = Generator::prepare(config)?;
    if !quiet && !args.json {
        eprintln!(
            "netlab: replaying {} on {} with engine {} ({}) — Ctrl-C stops",
            args.file.display(),
            args.interface,
            generator.engine(),
            generator.engine_reason()
        );
    }
    let interrupt = Interrupt::watch()?;
    let running = generator.start();
    let every = args.stats.filter(|&s| s > 0).map(Duration::from_secs);
    let ending = watch(&running, &interrupt, give_up, every.filter(|_| !quiet))?;
    let report = running.wait()?;
    print_report(&report, args.json)?;
    if let (Some((d, grace)), false) = (ending.cut_off, ending.stopped) {
        eprintln!(
            "netlab: the engine could not keep the schedule: stopped {:.1} s after --duration \
             {:.1} s with {} of the {} frames planned sent",
            grace.as_secs_f64(),
            d.as_secs_f64(),
            report.frames_sent,
            report.planned_frames.map_or("?".to_string(), |n| n.to_string())
        );
        return Ok(Code::Failed);
    }
    Ok(exit_code(&report, ending.stopped))
}

/// How a watched replay ended.
struct Ending {
    /// Stopped by Ctrl-C (or SIGTERM).
    stopped: bool,
    /// Stopped because a paced schedule ran late past `--duration`: the duration and the grace
    /// it was given.
    cut_off: Option<(Duration, Duration)>,
}

/// Waits for `running` to finish: stops it on an interrupt or once a paced `--duration`
/// (`give_up`) is late past its grace, and prints progress every `stats`.
fn watch(
    running: &Running,
    interrupt: &Interrupt,
    give_up: Option<Duration>,
    stats: Option<Duration>,
) -> anyhow::Result<Ending> {
    let progress = running.progress();
    let mut next_stats = stats.map(|d| Instant::now() + d);
    let started = Instant::now();
    let give_up = give_up.map(|d| (d, d + replay_grace(d)));
    let mut ending = Ending { stopped: false, cut_off: None };
    while !running.is_finished() {
        std::thread::sleep(Duration::from_millis(10));
        if !ending.stopped && interrupt.is_set() {
            running.stop();
            ending.stopped = true;
        }
        if let Some((d, limit)) = give_up.filter(|_| ending.cut_off.is_none()) {
            if started.elapsed() >= limit {
                running.stop();
                ending.cut_off = Some((d, limit - d));
            }
        }
        if let (Some(at), Some(d)) = (next_stats, stats) {
            if Instant::now() >= at {
                let secs = started.elapsed().as_secs_f64();
                let n = progress.frames();
                outln!(
                    "Sent {n} packets ({} bytes) in {secs:.1} s, {:.0} pps",
                    progress.bytes(),
                    n as f64 / secs
                )?;
                next_stats = Some(at + d);
            }
        }
    }
    Ok(ending)
}

fn exit_code(report: &SendReport, interrupted: bool) -> Code {
    if report.frames_sent == 0 {
        return Code::Failed;
    }
    match report.ended {
        Ended::InterfaceFailed(_) => Code::Failed,
        _ if interrupted => Code::Interrupted,
        _ => Code::Ok,
    }
}

fn print_report(report: &SendReport, json: bool) -> anyhow::Result<()> {
    if json {
        outln!("{}", serde_json::to_string_pretty(report)?)?;
    } else {
        outln!("{report}")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Wrapper {
        #[command(flatten)]
        args: Args,
    }

    fn parse(extra: &[&str]) -> Result<Args, clap::Error> {
        let mut argv = vec!["replay", "-i", "gen0", "f.pcap"];
        argv.extend_from_slice(extra);
        Wrapper::try_parse_from(argv).map(|w| w.args)
    }

    #[test]
    fn rates_in_tcpreplay_spelling() {
        assert_eq!(
            pace(&parse(&["--pps", "100000"]).unwrap()).unwrap(),
            Pace::MilliPps(100_000_000)
        );
        assert_eq!(pace(&parse(&["-p", "0.5"]).unwrap()).unwrap(), Pace::MilliPps(500));
        assert_eq!(pace(&parse(&["-p", "100kpps"]).unwrap()).unwrap(), Pace::MilliPps(100_000_000));
        assert_eq!(
            pace(&parse(&["--mbps=100.0"]).unwrap()).unwrap(),
            Pace::L2BitsPerSec(100_000_000)
        );
        assert_eq!(
            pace(&parse(&["-x", "2.5"]).unwrap()).unwrap(),
            Pace::MultiplierMicros(2_500_000)
        );
        assert_eq!(pace(&parse(&["-t"]).unwrap()).unwrap(), Pace::TopSpeed);
        assert_eq!(pace(&parse(&[]).unwrap()).unwrap(), Pace::TopSpeed);
    }

    #[test]
    fn zero_negative_and_garbage_rates_are_bad_input() {
        for argv in [
            ["--pps", "0"],
            ["--pps", "-5"],
            ["--mbps", "0.0"],
            ["--multiplier", "-1"],
            ["--pps", "fast"],
        ] {
            let err = pace(&parse(&argv).unwrap()).unwrap_err();
            assert_eq!(exit::code_for(&err), Code::BadInput, "{argv:?}: {err:#}");
            assert!(format!("{err:#}").contains(argv[0]), "{err:#}");
        }
    }

    #[test]
    fn two_rate_flags_are_refused() {
        let err = parse(&["--pps", "10", "--mbps", "5"]).unwrap_err();
        assert_eq!(err.kind(), clap::error::ErrorKind::ArgumentConflict);
        let err = parse(&["-t", "-x", "2"]).unwrap_err();
        assert_eq!(err.kind(), clap::error::ErrorKind::ArgumentConflict);
    }

    #[test]
    fn durations_in_seconds_or_with_a_unit() {
        assert_eq!(duration("10").unwrap(), Duration::from_secs(10));
        assert_eq!(duration("2.5").unwrap(), Duration::from_millis(2500));
        assert_eq!(duration("500ms").unwrap(), Duration::from_millis(500));
        for bad in ["0", "0s", "-3", "soon"] {
            let err = duration(bad).unwrap_err();
            assert_eq!(exit::code_for(&err), Code::BadInput, "{bad}: {err:#}");
        }
    }
}
