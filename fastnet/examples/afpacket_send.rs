//! Sends one 60-byte UDP/IPv4 frame over and over, as fast as a `fastnet::afpacket` sender
//! takes it, for a while, and prints how many the kernel took.
//!
//! ```text
//! afpacket_send IFACE send|mmsg|ring SECONDS [BATCH]
//! ```
//!
//! Count what actually arrived at the peer with `ip -s link` (the sender only knows what the
//! kernel accepted).

use std::io::Write;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use fastnet::afpacket::{MmsgTx, RingTx, SendTx, TxConfig};
use fastnet::tx::Transmit;

/// Broadcast 60-byte UDP/IPv4 frame, 10.0.0.1:9 → 10.0.0.2:9, checksums valid.
fn udp_frame() -> [u8; 60] {
    let mut f = [0u8; 60];
    f[..6].copy_from_slice(&[0xff; 6]);
    f[6..12].copy_from_slice(&[0x02, 0, 0, 0, 0, 0x01]);
    f[12..14].copy_from_slice(&[0x08, 0x00]);
    let ip = &mut f[14..34];
    ip.copy_from_slice(&[0x45, 0, 0, 46, 0, 0, 0x40, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2]);
    let sum = ip.chunks(2).map(|w| u32::from(u16::from_be_bytes([w[0], w[1]]))).sum::<u32>();
    let folded = (sum & 0xffff) + (sum >> 16);
    ip[10..12].copy_from_slice(&(!((folded & 0xffff) + (folded >> 16)) as u16).to_be_bytes());
    f[34..42].copy_from_slice(&[0, 9, 0, 9, 0, 26, 0, 0]);
    f
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(iface), Some(engine), Some(seconds)) = (args.first(), args.get(1), args.get(2))
    else {
        eprintln!("usage: afpacket_send IFACE send|mmsg|ring SECONDS [BATCH]");
        return ExitCode::from(2);
    };
    let Ok(seconds) = seconds.parse::<f64>() else {
        eprintln!("SECONDS: `{seconds}` is not a number");
        return ExitCode::from(2);
    };
    let batch = match args.get(3).map(|b| b.parse::<usize>()) {
        None => 256,
        Some(Ok(b)) if b > 0 => b,
        Some(_) => {
            eprintln!("BATCH: a positive number of frames");
            return ExitCode::from(2);
        }
    };
    let config = TxConfig { batch: batch.min(fastnet::afpacket::MAX_BATCH), ..TxConfig::default() };
    let tx: fastnet::Result<Box<dyn Transmit>> = match engine.as_str() {
        "send" => SendTx::open(iface, &config).map(|t| Box::new(t) as _),
        "mmsg" => MmsgTx::open(iface, &config).map(|t| Box::new(t) as _),
        "ring" => RingTx::open(iface, &config).map(|t| Box::new(t) as _),
        other => {
            eprintln!("engine `{other}`: use send, mmsg or ring");
            return ExitCode::from(2);
        }
    };
    let mut tx = match tx {
        Ok(tx) => tx,
        Err(e) => {
            eprintln!("{iface}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let frame = udp_frame();
    let frames = vec![&frame[..]; batch];
    let (mut taken, mut refused) = (0u64, 0u64);
    let started = Instant::now();
    let run = Duration::from_secs_f64(seconds);
    while started.elapsed() < run {
        match tx.transmit(&frames) {
            Ok(n) => taken += n as u64,
            Err(_) => refused += 1,
        }
    }
    if let Err(e) = tx.flush() {
        eprintln!("flush: {e}");
    }
    let secs = started.elapsed().as_secs_f64();
    let line = format!(
        "{engine}: {taken} frames taken in {secs:.2} s ({:.0} pps), {refused} refused",
        taken as f64 / secs
    );
    // A closed pipe is not worth a panic.
    match writeln!(std::io::stdout().lock(), "{line}") {
        Ok(()) => ExitCode::SUCCESS,
        Err(_) => ExitCode::FAILURE,
    }
}
