//! What the runner measured for one point, before anything is derived: [`Counters`] (the
//! frames sent and received, CPU time, the XDP modes, the generator's limits) and the drop
//! counters by the stage that counts them ([`Drops`]).

use serde::{Deserialize, Serialize};

use crate::generator::EngineKind;

/// What the runner measured for one point, before anything is derived; a
/// [`Point`](super::point::Point) holds it (its fields appear in the point's JSON and CSV under
/// these names).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Counters {
    /// Time the generator ran (the counting window), seconds.
    pub duration_s: f64,
    /// Frames the generator sent.
    pub sent_frames: u64,
    /// Receiver interface `rx_packets` (netlink), delta over the point.
    pub iface_rx_frames: u64,
    /// Kernel drops by stage.
    pub drops: Drops,
    /// Frames the receiver counted.
    pub app_rx_frames: u64,
    /// IPv4 frames the receiver counted (`do_something`).
    pub ipv4_frames: u64,
    /// CPU time of the receiver thread (user + sys), nanoseconds.
    pub rx_cpu_ns: u64,
    /// CPU time of the NAPI kthread over the point, when there is one.
    pub napi_cpu_ns: Option<u64>,
    /// The longest a frame could wait in the receiver's socket or ring before the receiver's
    /// wait policy let it see it (a ring's block timeout, a coalescing budget), nanoseconds;
    /// `None` when the method does not say.
    #[serde(default)]
    pub delay_bound_ns: Option<u64>,
    /// Where the receiver's XDP program ran: `native`, or `generic` (on the skb, on a driver
    /// without native XDP); `None` for a method without one, or in results written before it
    /// was recorded.
    #[serde(default)]
    pub xdp_mode: Option<fastnet::bpf::XdpMode>,
    /// How the receiver's AF_XDP socket was bound: `zero-copy` or `copy`; `None` for a method
    /// without one, or in results written before it was recorded.
    #[serde(default)]
    pub xsk_bind: Option<fastnet::xdp::BindMode>,
    /// The generator's largest burst: most frames that left back to back (`None` at top
    /// speed, or in results written before it was recorded).
    #[serde(default)]
    pub largest_burst_frames: Option<u64>,
    /// The generator's limit at this point, when it did not hold the rate smoothly (`held only
    /// in bursts of N frames`, or how far the schedule slipped); `None`: smooth.
    #[serde(default)]
    pub generator_limit: Option<String>,
    /// The engine that sent the point's frames (what `auto` took at its rate); `None` in
    /// results written before it was recorded.
    #[serde(default)]
    pub engine: Option<EngineKind>,
}

/// Drop counters, by the stage that counts them; `None` where the method has no such stage or
/// it was not read. A point's loss budget
/// ([`Point::lost_frames`](super::point::Point::lost_frames)) is made of them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Drops {
    /// Frames the generator handed to its interface that the sender's queue refused and the
    /// generator gave up on (its send report's `failed`, every `errno`): never sent.
    #[serde(default)]
    pub sender_queue_frames: Option<u64>,
    /// Generator interface `tx_dropped` (netlink), delta over the point: on a veth, frames the
    /// peer's ring could not take. Skb path (socket, mmsg, ring engines): once per refusal —
    /// the sender saw `ENOBUFS` and retried, so a frame can count more than once and is not
    /// lost unless the send report says it failed. XDP path (xdp engine): each frame refused,
    /// counted in the receiver's `rx_dropped` too (paced, the engine sends it again).
    pub generator_tx_dropped_frames: Option<u64>,
    /// The receiving NIC's own drop counters (netlink `stats64` `rx_missed_errors` +
    /// `rx_fifo_errors` + `rx_over_errors`), delta over the point: frames the device dropped
    /// before the kernel saw them (0 on software devices such as veth).
    #[serde(default)]
    pub nic_frames: Option<u64>,
    /// Receiver interface `rx_dropped` (netlink), delta over the point, less the frames the
    /// generator sent again after the receiving side refused them (the xdp engine's refusals
    /// count there too: [`crate::generator::report::dropped_beyond_refused`]). On a veth, a
    /// frame its XDP program redirected to an AF_XDP socket that could not take it counts here
    /// as well as in `xdp_rx_dropped_frames`: the loss budget counts it once.
    pub iface_rx_dropped_frames: Option<u64>,
    /// AF_PACKET socket/ring drops (`PACKET_STATISTICS` `tp_drops`; libpcap `ps_drop`).
    pub socket_frames: Option<u64>,
    /// AF_XDP `XDP_STATISTICS` `rx_dropped` + `rx_ring_full` (fastnet reports them as one
    /// figure): frames the socket could not take — no UMEM frame for it (fill ring empty) or
    /// its rx ring full.
    pub xdp_rx_dropped_frames: Option<u64>,
    /// AF_XDP `XDP_STATISTICS` `rx_ring_full`, when read apart from `rx_dropped`.
    pub xdp_rx_ring_full_frames: Option<u64>,
    /// AF_XDP `XDP_STATISTICS` `rx_fill_ring_empty_descs`: times the kernel found the fill
    /// ring empty. In copy mode each is a frame also counted in `xdp_rx_dropped_frames` (why
    /// it was dropped, not more frames dropped).
    pub xdp_fill_ring_empty_frames: Option<u64>,
}

impl Drops {
    /// Sends the receiving side refused without losing the frame: the generator interface's
    /// `tx_dropped` beyond what the receiver's `rx_dropped` counts as lost (the skb path
    /// counts a refusal there only; the XDP path counts each refused frame at both ends, and
    /// the receiver's figure here leaves out those the xdp engine sent again). A generator
    /// that waits on them (the ring engine) or sends them again (the paced xdp engine) was
    /// held back by the receiving side.
    pub fn refused_frames(&self) -> u64 {
        self.generator_tx_dropped_frames
            .unwrap_or(0)
            .saturating_sub(self.iface_rx_dropped_frames.unwrap_or(0))
    }
}
