//! `xdp`: BPF_PROG_RUN live frames redirected to the interface (see the module docs of
//! [`super`] for how it is paced and when `auto` takes it).

use fastnet::bpf::{LiveFrames, LIVE_FRAMES_MAX_FRAME};

use super::{SendEngine, Sender, Tx, XdpPacing, XDP_TOP_SPEED_BATCH};

/// The `xdp` engine.
#[derive(Debug)]
pub(super) struct Xdp;

impl SendEngine for Xdp {
    fn name(&self) -> &'static str {
        "xdp"
    }
    fn path(&self) -> &'static str {
        "BPF_PROG_RUN live frames → ndo_xdp_xmit"
    }
    fn help(&self) -> &'static str {
        "BPF_PROG_RUN live frames redirected to the interface"
    }
    fn needs(&self) -> &'static str {
        "a driver that takes redirected frames (ndo_xdp_xmit): for a veth, a peer that runs NAPI \
         (GRO on, or an XDP program attached), as a netlab lab sets it up"
    }
    fn default_batch(&self, paced: bool) -> usize {
        // Paced: a call per window of the schedule, however many frames that holds.
        if paced {
            self.max_batch()
        } else {
            XDP_TOP_SPEED_BATCH
        }
    }
    fn max_batch(&self) -> usize {
        1 << 20
    }
    fn open(
        &self,
        iface: &str,
        frames: &[&[u8]],
        _: usize,
        pacing: Option<XdpPacing>,
    ) -> fastnet::Result<Sender> {
        if let Some(long) = frames.iter().find(|f| f.len() > LIVE_FRAMES_MAX_FRAME) {
            return Err(fastnet::Error::InvalidConfig {
                what: "live frame",
                why: format!(
                    "{} bytes: live frames take at most {LIVE_FRAMES_MAX_FRAME}",
                    long.len()
                ),
            });
        }
        let frame = frames.first().copied().unwrap_or_default();
        let (tx, resident) = match pacing {
            Some(_) if frames.iter().any(|f| *f != frame) => {
                return Err(fastnet::Error::InvalidConfig {
                    what: "paced live frames",
                    why: "the xdp engine keeps a paced schedule for one frame content, and the \
                          replay holds several; the ring paces any mix"
                        .into(),
                });
            }
            Some(pacing) => {
                let live = LiveFrames::paced(iface, frame, pacing.inner_batch, pacing.limits)?;
                let resident = live.is_resident();
                (Tx::PacedLive(live), resident)
            }
            None => {
                let live = LiveFrames::new(iface, frame)?;
                let resident = live.is_resident();
                (Tx::Frames(Box::new(live)), resident)
            }
        };
        Ok(Sender { tx, resident })
    }
}
