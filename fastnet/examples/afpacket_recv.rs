//! Receives on an interface with one `fastnet::afpacket` receiver for a while and prints what
//! it counted, what the kernel says it dropped, and the CPU time the receiving thread spent.
//!
//! ```text
//! afpacket_recv IFACE read|mmsg|ring SECONDS [busy|poll]
//! ```

use std::io::Write;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use fastnet::afpacket::{MmsgRx, ReadRx, RingRx, RxConfig};
use fastnet::rx::{Receive, Wait};
use fastnet::Tally;

/// User + system CPU seconds of the calling thread so far (0 if the kernel does not say).
fn thread_cpu_seconds() -> f64 {
    fastnet::cpu::current_thread_cpu_time().map_or(0.0, |t| t.as_secs_f64())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(iface), Some(method), Some(seconds)) = (args.first(), args.get(1), args.get(2))
    else {
        eprintln!("usage: afpacket_recv IFACE read|mmsg|ring SECONDS [busy|poll]");
        return ExitCode::from(2);
    };
    let Ok(seconds) = seconds.parse::<f64>() else {
        eprintln!("SECONDS: `{seconds}` is not a number");
        return ExitCode::from(2);
    };
    let wait = match args.get(3).map(String::as_str) {
        None | Some("poll") => Wait::Poll,
        Some("busy") => Wait::Busy,
        Some(other) => {
            eprintln!("wait `{other}`: use busy or poll");
            return ExitCode::from(2);
        }
    };
    let config = RxConfig { buffer: Some(64 << 20), wait, ..RxConfig::default() };
    let rx: fastnet::Result<Box<dyn Receive>> = match method.as_str() {
        "read" => ReadRx::open(iface, &config).map(|r| Box::new(r) as _),
        "mmsg" => MmsgRx::open(iface, &config).map(|r| Box::new(r) as _),
        "ring" => RingRx::open(iface, &config).map(|r| Box::new(r) as _),
        other => {
            eprintln!("method `{other}`: use read, mmsg or ring");
            return ExitCode::from(2);
        }
    };
    let mut rx = match rx {
        Ok(rx) => rx,
        Err(e) => {
            eprintln!("{iface}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut tally = Tally::default();
    let run = Duration::from_secs_f64(seconds);
    let cpu_before = thread_cpu_seconds();
    let started = Instant::now();
    while started.elapsed() < run {
        if let Err(e) = rx.receive(&mut tally, Duration::from_millis(10)) {
            eprintln!("receive: {e}");
            return ExitCode::FAILURE;
        }
    }
    let cpu = thread_cpu_seconds() - cpu_before;
    let stats = match rx.kernel_stats() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("statistics: {e}");
            return ExitCode::FAILURE;
        }
    };
    let ns_per_frame = if tally.frames > 0 { cpu * 1e9 / tally.frames as f64 } else { 0.0 };
    let line = format!(
        "{method}: {} frames ({} IPv4), kernel: {} seen, {} dropped; thread CPU {cpu:.2} s \
         ({ns_per_frame:.0} ns/frame)",
        tally.frames, tally.ipv4, stats.packets, stats.drops
    );
    match writeln!(std::io::stdout().lock(), "{line}") {
        Ok(()) => ExitCode::SUCCESS,
        Err(_) => ExitCode::FAILURE,
    }
}
