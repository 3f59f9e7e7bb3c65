//! Every point's loss budget: the frames offered, and where those the application did not
//! receive were lost, by stage.
//!
//! A point's frames **offered** are what the generator handed to its interface: the frames
//! sent plus those the sender's queue refused (given up). Each offered frame either reached
//! the application (`app_rx_frames`) or was lost at one stage, in the order a frame travels:
//!
//! 1. [`Stage::SenderQueue`] — the sender's queue refused it (the generator gave up on it);
//! 2. [`Stage::Nic`] — the receiving NIC dropped it before the kernel saw it (the driver's
//!    `rx_missed_errors`, `rx_fifo_errors`, `rx_over_errors`; only where they count any);
//! 3. [`Stage::Interface`] — the receiving interface dropped it (`rx_dropped`: on a veth, its
//!    ring to NAPI was full);
//! 4. the kernel's buffer between the interface and the application, whichever the method
//!    has: [`Stage::SocketBuffer`], [`Stage::PacketRing`] or [`Stage::XskRings`];
//! 5. [`Stage::Unaccounted`] — what no counter saw: the rest, never negative.
//!
//! So `app_rx_frames + sum(lost_frames) == offered_frames` for every point whose application
//! counted no more than was offered (a valid one). Each stage takes at most the frames still
//! unaccounted for when a frame reaches it: counters that overlap (a driver that counts one
//! overflow in two NIC counters) cannot make the budget exceed what was offered.
//!
//! Counted once: a veth whose XDP program redirects a frame to an AF_XDP socket that cannot
//! take it counts the frame in the interface's `rx_packets` **and** `rx_dropped`, and the
//! socket counts it in `XDP_STATISTICS` (`rx_dropped`, and when the fill ring was empty in
//! `rx_fill_ring_empty_descs` too). The interface's counters then add up to more than
//! arrived; that excess, up to the socket's drops, is the socket's frames and is taken out of
//! the interface's stage. Fill-ring-empty events are why the socket dropped, never more
//! frames.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::counters::Counters;
use crate::method::DropStage;
use crate::scenario::Method;

/// A stage of the loss budget, in the order a frame travels (the order of the map in JSON,
/// of the columns and of the bar's parts).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// The sender's queue refused the frame and the generator gave up on it.
    SenderQueue,
    /// The receiving NIC dropped it (its own counters; none on a veth).
    Nic,
    /// The receiving interface dropped it (`rx_dropped`).
    Interface,
    /// An AF_PACKET socket's receive buffer was full.
    SocketBuffer,
    /// A TPACKET ring (libpcap's, fastnet's) was full.
    PacketRing,
    /// The AF_XDP socket's rx ring was full or its fill ring empty.
    XskRings,
    /// No counter saw it: the rest.
    Unaccounted,
}

impl Stage {
    /// Every stage, in the order a frame travels.
    pub const ALL: [Stage; 7] = [
        Stage::SenderQueue,
        Stage::Nic,
        Stage::Interface,
        Stage::SocketBuffer,
        Stage::PacketRing,
        Stage::XskRings,
        Stage::Unaccounted,
    ];

    /// Its name in `results.json` (`sender_queue`, …).
    pub fn key(self) -> &'static str {
        match self {
            Stage::SenderQueue => "sender_queue",
            Stage::Nic => "nic",
            Stage::Interface => "interface",
            Stage::SocketBuffer => "socket_buffer",
            Stage::PacketRing => "packet_ring",
            Stage::XskRings => "xsk_rings",
            Stage::Unaccounted => "unaccounted",
        }
    }

    /// Its name in the class's words (a column, a legend entry).
    pub fn words(self) -> &'static str {
        match self {
            Stage::SenderQueue => "sender's queue",
            Stage::Nic => "NIC",
            Stage::Interface => "receiving interface",
            Stage::SocketBuffer => "socket buffer",
            Stage::PacketRing => "TPACKET ring",
            Stage::XskRings => "AF_XDP rings",
            Stage::Unaccounted => "unaccounted",
        }
    }

    /// The stage of a method's kernel buffer, when it has one.
    pub fn of(drop_stage: DropStage) -> Option<Stage> {
        match drop_stage {
            DropStage::SocketBuffer => Some(Stage::SocketBuffer),
            DropStage::PacketRing => Some(Stage::PacketRing),
            DropStage::Xsk => Some(Stage::XskRings),
            DropStage::None => None,
        }
    }
}

/// Frames lost, by stage: a point's `lost_frames` (in JSON an object from [`Stage::key`] to
/// frames, in the order a frame travels).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct LostFrames(pub BTreeMap<Stage, u64>);

impl LostFrames {
    /// Frames lost at `stage` (0 when it is not in the budget).
    pub fn get(&self, stage: Stage) -> u64 {
        self.0.get(&stage).copied().unwrap_or(0)
    }

    /// Whether the budget names `stage`.
    pub fn has(&self, stage: Stage) -> bool {
        self.0.contains_key(&stage)
    }

    /// Frames lost at every stage together.
    pub fn total(&self) -> u64 {
        self.0.values().sum()
    }

    /// Adds another budget's frames stage by stage.
    pub fn add(&mut self, other: &LostFrames) {
        for (stage, frames) in &other.0 {
            *self.0.entry(*stage).or_default() += frames;
        }
    }
}

/// A point's budget: the frames offered and where those the application did not get were
/// lost (see the module docs). The stages named are the sender's queue, the interface, the
/// method's kernel buffer (when it has one), the NIC (when its counters counted any) and
/// `unaccounted`.
pub fn budget(method: Method, c: &Counters) -> (u64, LostFrames) {
    let d = &c.drops;
    let sender_queue = d.sender_queue_frames.unwrap_or(0);
    let offered = c.sent_frames.saturating_add(sender_queue);
    let nic = d.nic_frames.unwrap_or(0);
    let kernel = Stage::of(method.descriptor().drop_stage());
    let kernel_frames = match kernel {
        Some(Stage::XskRings) => d
            .xdp_rx_dropped_frames
            .unwrap_or(0)
            .saturating_add(d.xdp_rx_ring_full_frames.unwrap_or(0)),
        Some(_) => d.socket_frames.unwrap_or(0),
        None => 0,
    };
    let iface_dropped = d.iface_rx_dropped_frames.unwrap_or(0);
    // The AF_XDP socket's drops the interface counted too: as many as its counters exceed
    // the frames that reached it.
    let arrived = c.sent_frames.saturating_sub(nic);
    let counted_twice = if kernel == Some(Stage::XskRings) {
        kernel_frames.min(c.iface_rx_frames.saturating_add(iface_dropped).saturating_sub(arrived))
    } else {
        0
    };
    let mut left = offered.saturating_sub(c.app_rx_frames);
    let mut lost = LostFrames::default();
    let mut take = |stage: Stage, frames: u64, left: &mut u64| {
        let taken = frames.min(*left);
        *left -= taken;
        lost.0.insert(stage, taken);
    };
    take(Stage::SenderQueue, sender_queue, &mut left);
    if nic > 0 {
        take(Stage::Nic, nic, &mut left);
    }
    take(Stage::Interface, iface_dropped.saturating_sub(counted_twice), &mut left);
    if let Some(stage) = kernel {
        take(stage, kernel_frames, &mut left);
    }
    let rest = left;
    take(Stage::Unaccounted, rest, &mut left);
    (offered, lost)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::counters::Drops;

    fn counters(sent: u64, iface_rx: u64, app: u64, drops: Drops) -> Counters {
        Counters {
            duration_s: 1.0,
            sent_frames: sent,
            iface_rx_frames: iface_rx,
            app_rx_frames: app,
            ipv4_frames: app,
            drops,
            ..Counters::default()
        }
    }

    fn assert_identity(offered: u64, app: u64, lost: &LostFrames) {
        assert_eq!(app + lost.total(), offered, "{lost:?}");
    }

    /// mode3 at max on a veth lab (benchmarks/report-mode3), xdp engine: the socket.
    #[test]
    fn socket_at_max_loses_at_the_interface_and_in_its_buffer() {
        let c = counters(
            8_699_904,
            896_912,
            127_508,
            Drops {
                generator_tx_dropped_frames: Some(7_802_992),
                iface_rx_dropped_frames: Some(7_802_992),
                socket_frames: Some(769_404),
                ..Drops::default()
            },
        );
        let (offered, lost) = budget(Method::Socket, &c);
        assert_eq!(offered, 8_699_904);
        assert_eq!(lost.get(Stage::Interface), 7_802_992);
        assert_eq!(lost.get(Stage::SocketBuffer), 769_404);
        assert_eq!(lost.get(Stage::Unaccounted), 0);
        assert_eq!(lost.get(Stage::SenderQueue), 0);
        assert!(!lost.has(Stage::Nic) && !lost.has(Stage::PacketRing));
        assert_identity(offered, 127_508, &lost);
    }

    /// fastnet:3 at max, same run: veth counts the 6 784 frames the AF_XDP socket could not
    /// take in rx_packets and rx_dropped, the socket in rx_dropped and fill-ring-empty:
    /// counted once, in the AF_XDP rings.
    #[test]
    fn afxdp_drops_the_interface_counted_too_are_counted_once() {
        let c = counters(
            7_274_496,
            3_249_040,
            3_242_256,
            Drops {
                generator_tx_dropped_frames: Some(4_025_456),
                iface_rx_dropped_frames: Some(4_032_240),
                xdp_rx_dropped_frames: Some(6_784),
                xdp_fill_ring_empty_frames: Some(6_784),
                ..Drops::default()
            },
        );
        let (offered, lost) = budget(Method::FastnetXdp, &c);
        assert_eq!(lost.get(Stage::Interface), 4_025_456);
        assert_eq!(lost.get(Stage::XskRings), 6_784);
        assert_eq!(lost.get(Stage::Unaccounted), 0);
        assert_identity(offered, 3_242_256, &lost);
        // A driver that does not count them at the interface: nothing taken out.
        let mut native = c.clone();
        native.iface_rx_frames = 3_242_256;
        native.drops.iface_rx_dropped_frames = Some(4_025_456);
        native.drops.xdp_rx_dropped_frames = Some(6_784);
        let (_, lost) = budget(Method::FastnetXdp, &native);
        assert_eq!(lost.get(Stage::Interface), 4_025_456);
        assert_eq!(lost.get(Stage::XskRings), 6_784);
        assert_identity(offered, 3_242_256, &lost);
    }

    /// pcap at max: all its loss at the interface, its ring never full.
    #[test]
    fn pcap_at_max_loses_only_at_the_interface() {
        let c = counters(
            7_159_808,
            1_168_640,
            1_168_640,
            Drops {
                generator_tx_dropped_frames: Some(5_991_168),
                iface_rx_dropped_frames: Some(5_991_168),
                socket_frames: Some(0),
                ..Drops::default()
            },
        );
        let (offered, lost) = budget(Method::Pcap, &c);
        assert_eq!(lost.get(Stage::Interface), 5_991_168);
        assert!(lost.has(Stage::PacketRing) && lost.get(Stage::PacketRing) == 0);
        assert_identity(offered, 1_168_640, &lost);
    }

    /// The sender's queue and a real NIC's counters; a remainder no counter saw.
    #[test]
    fn sender_queue_nic_and_unaccounted() {
        // 1 000 000 handed over, 1 000 refused at the sender; the NIC missed 2 000 (not in
        // rx_packets), the interface dropped 3 000, the ring 4 000; 500 nobody counted.
        let c = counters(
            999_000,
            997_000,
            989_500,
            Drops {
                sender_queue_frames: Some(1_000),
                nic_frames: Some(2_000),
                iface_rx_dropped_frames: Some(3_000),
                socket_frames: Some(4_000),
                ..Drops::default()
            },
        );
        let (offered, lost) = budget(Method::Pcap, &c);
        assert_eq!(offered, 1_000_000);
        let stages: Vec<(Stage, u64)> = lost.0.iter().map(|(s, n)| (*s, *n)).collect();
        assert_eq!(
            stages,
            [
                (Stage::SenderQueue, 1_000),
                (Stage::Nic, 2_000),
                (Stage::Interface, 3_000),
                (Stage::PacketRing, 4_000),
                (Stage::Unaccounted, 500)
            ]
        );
        assert_identity(offered, 989_500, &lost);
        // In JSON, in the order a frame travels.
        assert_eq!(
            serde_json::to_string(&lost).unwrap(),
            r#"{"sender_queue":1000,"nic":2000,"interface":3000,"packet_ring":4000,"unaccounted":500}"#
        );
    }

    /// Counters that overlap (a driver counting one overflow in two NIC counters) never make
    /// the budget exceed the frames offered; nor does an exec program (no kernel stage).
    #[test]
    fn overlapping_counters_never_exceed_what_was_offered() {
        let c = counters(
            1_000,
            900,
            800,
            Drops {
                nic_frames: Some(150),
                iface_rx_dropped_frames: Some(100),
                socket_frames: Some(100),
                ..Drops::default()
            },
        );
        let (offered, lost) = budget(Method::Socket, &c);
        assert_eq!(lost.get(Stage::Nic), 150);
        assert_eq!(lost.get(Stage::Interface), 50);
        assert_eq!(lost.get(Stage::SocketBuffer), 0);
        assert_eq!(lost.get(Stage::Unaccounted), 0);
        assert_identity(offered, 800, &lost);
        let (offered, lost) = budget(Method::Exec, &counters(1_000, 1_000, 990, Drops::default()));
        assert_eq!(lost.get(Stage::Unaccounted), 10);
        assert_eq!(lost.0.len(), 3, "{lost:?}");
        assert_identity(offered, 990, &lost);
    }
}
