//! `xdp-drop`: an XDP program counts and drops in the kernel — the ceiling.

use fastnet::rx::Receive;

use super::{DropStage, Facility, Knob, KnobUse, ReceiveMethod, RecvConfig};

/// The `xdp-drop` method.
#[derive(Debug)]
pub struct XdpDrop;

impl ReceiveMethod for XdpDrop {
    fn name(&self) -> &'static str {
        "xdp-drop"
    }
    fn mechanism(&self) -> &'static str {
        "an XDP program counts (bytes 12-13 too) and drops in the kernel: the ceiling"
    }
    fn source(&self) -> &'static str {
        "fastnet/src/bpf/"
    }
    fn knobs(&self) -> &'static [KnobUse] {
        &[KnobUse {
            knob: Knob::XdpMode,
            sets: "`auto` (default: native where the driver has it, else generic), `native`, `generic`",
        }]
    }
    fn open(&self, iface: &str, config: &RecvConfig) -> Option<fastnet::Result<Box<dyn Receive>>> {
        Some(
            fastnet::bpf::XdpDropCounter::attach_mode(iface, config.xdp_mode)
                .map(|c| Box::new(c) as Box<dyn Receive>),
        )
    }
    fn drop_stage(&self) -> DropStage {
        DropStage::None
    }
    fn facility(&self) -> Facility {
        Facility::BpfXdp
    }
}
