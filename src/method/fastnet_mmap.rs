//! `fastnet:mmap`: PACKET_RX_RING TPACKET_V3 walked in place, no copy

use fastnet::afpacket::{RingRx, RxConfig};
use fastnet::rx::Receive;

use super::{DropStage, Knob, KnobUse, ReceiveMethod, RecvConfig};

/// The `fastnet:mmap` method.
#[derive(Debug)]
pub struct FastnetMmap;

impl ReceiveMethod for FastnetMmap {
    fn name(&self) -> &'static str {
        "fastnet:mmap"
    }
    fn mechanism(&self) -> &'static str {
        "PACKET_RX_RING TPACKET_V3 walked in place, no copy"
    }
    fn source(&self) -> &'static str {
        "fastnet/src/afpacket/"
    }
    fn knobs(&self) -> &'static [KnobUse] {
        &[
            KnobUse { knob: Knob::Buffer, sets: "ring bytes (`tp_block_size × tp_block_nr`)" },
            KnobUse { knob: Knob::BusyWait, sets: "spin on the block status instead of `poll`" },
            KnobUse { knob: Knob::Write, sets: "save what was received" },
        ]
    }
    fn check(&self, config: &RecvConfig) -> anyhow::Result<()> {
        super::afpacket_config(config).validate_ring().map_err(super::afpacket_error)
    }
    fn open(&self, iface: &str, config: &RecvConfig) -> Option<fastnet::Result<Box<dyn Receive>>> {
        let config: RxConfig = super::afpacket_config(config);
        Some(RingRx::open(iface, &config).map(|rx| Box::new(rx) as Box<dyn Receive>))
    }
    fn drop_stage(&self) -> DropStage {
        DropStage::PacketRing
    }
}
