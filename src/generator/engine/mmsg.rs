//! `mmsg`: `sendmmsg` batches on an AF_PACKET socket.

use fastnet::afpacket::MmsgTx;

use super::{SendEngine, Sender, Tx, XdpPacing};

/// The `mmsg` engine.
#[derive(Debug)]
pub(super) struct Mmsg;

impl SendEngine for Mmsg {
    fn name(&self) -> &'static str {
        "mmsg"
    }
    fn path(&self) -> &'static str {
        "AF_PACKET sendmmsg"
    }
    fn help(&self) -> &'static str {
        "`sendmmsg` batches"
    }
    fn max_batch(&self) -> usize {
        fastnet::afpacket::MAX_BATCH
    }
    fn open(
        &self,
        iface: &str,
        _: &[&[u8]],
        batch: usize,
        _: Option<XdpPacing>,
    ) -> fastnet::Result<Sender> {
        let tx = MmsgTx::open(iface, &Sender::packet_socket_config(batch))?;
        Ok(Sender { tx: Tx::Frames(Box::new(tx)), resident: true })
    }
}
