//! `ring`: PACKET_TX_RING with PACKET_QDISC_BYPASS, many frames per kick (trafgen's path).

use fastnet::afpacket::{RingTx, TxConfig};

use super::{SendEngine, Sender, Tx, XdpPacing};

/// The `ring` engine.
#[derive(Debug)]
pub(super) struct Ring;

impl SendEngine for Ring {
    fn name(&self) -> &'static str {
        "ring"
    }
    fn path(&self) -> &'static str {
        "AF_PACKET PACKET_TX_RING + QDISC_BYPASS"
    }
    fn help(&self) -> &'static str {
        "PACKET_TX_RING + PACKET_QDISC_BYPASS (trafgen's path)"
    }
    fn max_batch(&self) -> usize {
        4096
    }
    fn open(
        &self,
        iface: &str,
        frames: &[&[u8]],
        batch: usize,
        _: Option<XdpPacing>,
    ) -> fastnet::Result<Sender> {
        let longest = frames.iter().map(|f| f.len()).max().unwrap_or(0);
        // Slots of a power of two holding the longest frame plus the 32-byte header.
        let frame_size = (longest + 32).next_power_of_two().max(2048);
        let config = TxConfig { frame_size, ..Sender::packet_socket_config(batch) };
        Ok(Sender { tx: Tx::Frames(Box::new(RingTx::open(iface, &config)?)), resident: true })
    }
}
