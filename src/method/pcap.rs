//! `pcap`: libpcap through the `pcap` crate — what tcpdump does.
//!
//! libpcap on Linux maps a `PACKET_RX_RING` with TPACKET_V3: the kernel fills blocks of frames
//! and hands a block over when it is full or its retire timer ([`BLOCK_TIMEOUT_MS`]) fires.
//! This receiver keeps libpcap at its fastest:
//! - immediate mode stays **off**: turning it on makes libpcap fall back to TPACKET_V2 (one
//!   wake-up per frame);
//! - frames are taken with `pcap_dispatch(-1)` — a whole block per call, one callback per frame
//!   reading the frame in the ring — rather than `pcap_next_ex` per frame;
//! - the handle is non-blocking and an idle receiver sleeps in `poll(2)` on libpcap's socket,
//!   so it can stop at any time (a blocking TPACKET_V3 handle waits forever on a quiet
//!   interface).
//!
//! `-b/--buffer` is libpcap's `buffer_size`: the ring's size in bytes (tcpdump's `-B`, in KiB
//! there). Kernel counters are libpcap's `pcap_stats`: `ps_recv` and `ps_drop` (ring full).

use std::os::fd::AsFd;
use std::time::Duration;

use ::pcap::{Active, Capture};
use fastnet::rx::{Receive, RxStats, Wait};

/// The ring's block retire timeout, in ms: a partly filled block reaches the receiver after at
/// most this long (libpcap's read timeout, `tp_retire_blk_tov`).
pub const BLOCK_TIMEOUT_MS: i32 = 10;

/// Bytes of each frame kept: whole frames, as tcpdump's default keeps them (libpcap cuts the
/// ring's frame slots down to the interface's MTU anyway).
const SNAPLEN: i32 = 65_535;

/// The smallest ring libpcap can use: one block of one page holding one full-size frame.
pub const MIN_BUFFER: u64 = 65_536;

/// A libpcap capture on one interface.
pub struct PcapRx {
    cap: Capture<Active>,
    wait: Wait,
}

impl std::fmt::Debug for PcapRx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PcapRx").field("wait", &self.wait).finish_non_exhaustive()
    }
}

fn pcap_error(call: &'static str, e: ::pcap::Error) -> fastnet::Error {
    let source = match e {
        ::pcap::Error::IoError(kind) => std::io::Error::from(kind),
        other => std::io::Error::other(other.to_string()),
    };
    fastnet::Error::Syscall(fastnet::SyscallError { call, source })
}

impl PcapRx {
    /// Opens a live capture on `iface` (in the calling thread's namespace), promiscuous, whole
    /// frames, with a ring of `buffer` bytes (libpcap's default, 2 MiB, when `None`).
    pub fn open(iface: &str, buffer: Option<u64>, wait: Wait) -> fastnet::Result<Self> {
        let mut inactive = Capture::from_device(iface)
            .map_err(|e| pcap_error("pcap_create", e))?
            .promisc(true)
            .snaplen(SNAPLEN)
            .timeout(BLOCK_TIMEOUT_MS)
            .immediate_mode(false);
        if let Some(bytes) = buffer {
            let bytes = i32::try_from(bytes).map_err(|_| fastnet::Error::InvalidConfig {
                what: "pcap buffer size",
                why: format!("{bytes} B is more than libpcap takes ({} B)", i32::MAX),
            })?;
            inactive = inactive.buffer_size(bytes);
        }
        let cap = inactive.open().map_err(|e| match e {
            ::pcap::Error::PcapError(msg) if msg.contains("No such device") => {
                fastnet::Error::NoSuchInterface(iface.to_string())
            }
            ::pcap::Error::PcapError(msg) if msg.contains("ermission") => {
                fastnet::Error::Syscall(fastnet::SyscallError {
                    call: "pcap_activate",
                    source: std::io::Error::from_raw_os_error(libc::EPERM),
                })
            }
            other => pcap_error("pcap_activate", other),
        })?;
        let cap = cap.setnonblock().map_err(|e| pcap_error("pcap_setnonblock", e))?;
        Ok(Self { cap, wait })
    }

    fn dispatch(&mut self, tally: &mut fastnet::Tally) -> fastnet::Result<usize> {
        self.cap
            .dispatch(None, |packet| tally.do_something(packet.data))
            .map_err(|e| pcap_error("pcap_dispatch", e))
    }
}

impl Receive for PcapRx {
    fn receive(&mut self, tally: &mut fastnet::Tally, timeout: Duration) -> fastnet::Result<usize> {
        let n = self.dispatch(tally)?;
        if n > 0 || self.wait == Wait::Busy {
            return Ok(n);
        }
        if fastnet::poll::wait_readable(self.cap.as_fd(), timeout)? {
            return self.dispatch(tally);
        }
        Ok(0)
    }

    fn delay_bound(&self) -> Option<Duration> {
        Some(Duration::from_millis(BLOCK_TIMEOUT_MS as u64))
    }

    fn kernel_stats(&mut self) -> fastnet::Result<RxStats> {
        let s = self.cap.stats().map_err(|e| pcap_error("pcap_stats", e))?;
        Ok(RxStats { packets: u64::from(s.received), drops: u64::from(s.dropped), freeze_q: 0 })
    }
}

/// The `pcap` method.
#[derive(Debug)]
pub struct Pcap;

impl super::ReceiveMethod for Pcap {
    fn name(&self) -> &'static str {
        "pcap"
    }
    fn mechanism(&self) -> &'static str {
        "libpcap (pcap crate): TPACKET_V3 ring inside libpcap, `pcap_dispatch`"
    }
    fn source(&self) -> &'static str {
        "src/method/pcap.rs"
    }
    fn knobs(&self) -> &'static [super::KnobUse] {
        use super::{Knob, KnobUse};
        &[
            KnobUse {
                knob: Knob::Buffer,
                sets: "libpcap `buffer_size` (the ring, like tcpdump -B)",
            },
            KnobUse { knob: Knob::BusyWait, sets: "spin on `pcap_dispatch` instead of `poll`" },
            KnobUse { knob: Knob::Write, sets: "save what was received" },
        ]
    }
    fn min_buffer(&self) -> u64 {
        MIN_BUFFER
    }
    fn check(&self, config: &super::RecvConfig) -> anyhow::Result<()> {
        match config.buffer {
            Some(bytes) if i32::try_from(bytes).is_err() => Err(crate::exit::bad_field(
                super::Knob::Buffer.field(),
                format!("{bytes} B is more than libpcap takes ({} B)", i32::MAX),
            )),
            _ => Ok(()),
        }
    }
    fn open(
        &self,
        iface: &str,
        config: &super::RecvConfig,
    ) -> Option<fastnet::Result<Box<dyn Receive>>> {
        Some(
            PcapRx::open(iface, config.buffer, config.wait.into())
                .map(|rx| Box::new(rx) as Box<dyn Receive>),
        )
    }
    fn drop_stage(&self) -> super::DropStage {
        super::DropStage::PacketRing
    }
}
