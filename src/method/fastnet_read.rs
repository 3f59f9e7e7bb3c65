//! `fastnet:1`: AF_PACKET, one `recv` per frame, one copy

use fastnet::afpacket::{ReadRx, RxConfig};
use fastnet::rx::Receive;

use super::{DropStage, Knob, KnobUse, ReceiveMethod, RecvConfig};

/// The `fastnet:1` method.
#[derive(Debug)]
pub struct FastnetRead;

impl ReceiveMethod for FastnetRead {
    fn name(&self) -> &'static str {
        "fastnet:1"
    }
    fn aliases(&self) -> &'static [&'static str] {
        &["fastnet:read"]
    }
    fn mechanism(&self) -> &'static str {
        "AF_PACKET, one `recv` per frame, one copy"
    }
    fn source(&self) -> &'static str {
        "fastnet/src/afpacket/"
    }
    fn knobs(&self) -> &'static [KnobUse] {
        &[
            KnobUse { knob: Knob::Buffer, sets: "`SO_RCVBUF`" },
            KnobUse { knob: Knob::BusyWait, sets: "spin on `MSG_DONTWAIT` instead of `poll`" },
            KnobUse { knob: Knob::Write, sets: "save what was received" },
        ]
    }
    fn min_buffer(&self) -> u64 {
        super::socket::MIN_BUFFER
    }
    fn check(&self, config: &RecvConfig) -> anyhow::Result<()> {
        super::afpacket_config(config).validate_socket().map_err(super::afpacket_error)
    }
    fn open(&self, iface: &str, config: &RecvConfig) -> Option<fastnet::Result<Box<dyn Receive>>> {
        let config: RxConfig = super::afpacket_config(config);
        Some(ReadRx::open(iface, &config).map(|rx| Box::new(rx) as Box<dyn Receive>))
    }
    fn drop_stage(&self) -> DropStage {
        DropStage::SocketBuffer
    }
}
