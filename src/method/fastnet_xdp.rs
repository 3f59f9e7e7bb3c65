//! `fastnet:3`: AF_XDP — the driver writes into the UMEM the program maps.

use fastnet::rx::Receive;
use fastnet::xdp::{XskConfig, XskRx};

use super::{DropStage, Facility, Knob, KnobUse, ReceiveMethod, RecvConfig, XDP_FRAME_SIZE};
use crate::exit::bad_field;

/// The `fastnet:3` method.
#[derive(Debug)]
pub struct FastnetXdp;

/// The AF_XDP socket's settings from the knobs: what [`FastnetXdp::check`] checks and
/// [`FastnetXdp::open`] opens.
fn xsk_config(config: &RecvConfig) -> XskConfig {
    let umem_frames = config.buffer.map_or(fastnet::xdp::DEFAULT_FRAMES, |bytes| {
        u32::try_from(bytes / u64::from(XDP_FRAME_SIZE)).unwrap_or(u32::MAX)
    });
    let mut xsk = XskConfig::for_frames(umem_frames);
    xsk.frame_size = XDP_FRAME_SIZE;
    xsk.wait = config.wait.into();
    if let Some(n) = config.frames {
        let n = u32::try_from(n).unwrap_or(u32::MAX);
        xsk.fill_size = n;
        xsk.rx_size = n;
    }
    if let Some(b) = config.batch {
        xsk.batch = u32::try_from(b).unwrap_or(u32::MAX);
    }
    if let Some(d) = config.max_delay {
        xsk.max_delay = d;
    }
    xsk.mode = config.xdp_mode;
    xsk.bind = config.zero_copy;
    xsk
}

impl ReceiveMethod for FastnetXdp {
    fn name(&self) -> &'static str {
        "fastnet:3"
    }
    fn aliases(&self) -> &'static [&'static str] {
        &["fastnet:xdp"]
    }
    fn mechanism(&self) -> &'static str {
        "AF_XDP: the driver writes into the UMEM the program maps; XSKMAP redirect program as \
         raw BPF instructions, attached with BPF_LINK_CREATE"
    }
    fn source(&self) -> &'static str {
        "fastnet/src/xdp/"
    }
    fn knobs(&self) -> &'static [KnobUse] {
        &[
            KnobUse { knob: Knob::Buffer, sets: "UMEM bytes (2048-byte frames; default 32 MiB)" },
            KnobUse { knob: Knob::Batch, sets: "frames per ring pass (default 256)" },
            KnobUse {
                knob: Knob::Frames,
                sets: "fill and rx ring entries, a power of two (default: every UMEM frame)",
            },
            KnobUse {
                knob: Knob::BusyWait,
                sets: "spin as an ordinary thread instead of `poll(2)` as a `SCHED_BATCH` one",
            },
            KnobUse {
                knob: Knob::MaxDelay,
                sets:
                    "how long frames gather between drains (default 10 ms, `0s` none, at most 1 s)",
            },
            KnobUse {
                knob: Knob::XdpMode,
                sets: "`auto` (default: native where the driver has it, else generic), `native`, `generic`",
            },
            KnobUse {
                knob: Knob::ZeroCopy,
                sets: "`auto` (default: zero-copy where offered, else copy), `required`, `off` (copy)",
            },
            KnobUse { knob: Knob::Write, sets: "save what was received" },
        ]
    }
    fn min_buffer(&self) -> u64 {
        2 * u64::from(XDP_FRAME_SIZE)
    }
    fn check(&self, config: &RecvConfig) -> anyhow::Result<()> {
        let limit = fastnet::xdp::MAX_DELAY_LIMIT;
        if let Some(d) = config.max_delay.filter(|d| *d > limit) {
            return Err(bad_field(
                Knob::MaxDelay.field().with_value(humantime::format_duration(d)),
                format!("is more than {}", humantime::format_duration(limit)),
            ));
        }
        xsk_config(config).validate().map_err(|e| match e {
            fastnet::Error::InvalidConfig { what, why } => {
                let knob = if what.contains("ring size") {
                    Knob::Frames
                } else if what.contains("batch") {
                    Knob::Batch
                } else {
                    Knob::Buffer
                };
                bad_field(knob.field(), format!("{what}: {why}"))
            }
            other => anyhow::Error::new(other),
        })
    }
    fn open(&self, iface: &str, config: &RecvConfig) -> Option<fastnet::Result<Box<dyn Receive>>> {
        Some(XskRx::open(iface, 0, &xsk_config(config)).map(|rx| Box::new(rx) as Box<dyn Receive>))
    }
    fn drop_stage(&self) -> DropStage {
        DropStage::Xsk
    }
    fn facility(&self) -> Facility {
        Facility::AfXdp
    }
}
