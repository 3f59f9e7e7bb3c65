//! `socket`: one `send` per frame on an AF_PACKET socket (tcpreplay's path).

use fastnet::afpacket::SendTx;

use super::{SendEngine, Sender, Tx, XdpPacing};

/// The `socket` engine.
#[derive(Debug)]
pub(super) struct Socket;

impl SendEngine for Socket {
    fn name(&self) -> &'static str {
        "socket"
    }
    fn path(&self) -> &'static str {
        "AF_PACKET send per frame"
    }
    fn help(&self) -> &'static str {
        "One `send` per frame (tcpreplay's path)"
    }
    fn max_batch(&self) -> usize {
        4096
    }
    fn open(
        &self,
        iface: &str,
        _: &[&[u8]],
        batch: usize,
        _: Option<XdpPacing>,
    ) -> fastnet::Result<Sender> {
        let tx = SendTx::open(iface, &Sender::packet_socket_config(batch))?;
        Ok(Sender { tx: Tx::Frames(Box::new(tx)), resident: true })
    }
}
