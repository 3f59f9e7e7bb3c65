//! The lab: network namespace, veth pair or bridge, MACs, NAPI mode and core pinning, built over
//! rtnetlink and always taken down again.
//!
//! - [`spec`]: the `[topology]` table as written; [`plan`]: validated into a [`Plan`].
//! - [`Lab::up`] builds it in namespace `netlab-<name>` (marker: [`marker`]) — one file per
//!   object kind: `veth.rs` (the pair), `bridge.rs` (two pairs and the bridge), [`napi`]; the
//!   lab's own links over `link.rs`; [`Lab::down`] or drop removes it; [`Lab::detach`] leaves
//!   it up for `netlab topo down` ([`down`], `removal.rs`).
//! - [`place`]: putting a thread into a lab's namespace and onto a core.
//! - [`interface`]: an interface in a namespace — found by name, its state, counters and MAC,
//!   the lab it belongs to, and the one wording of "not found".
//!
//! A `veth` lab is `gen0 ↔ rx0`; a `bridge` lab is `gen0 ↔ br0-gen ─ br0 ─ br0-rx ↔ rx0` (frames
//! reach `rx0` with the bridge's MAC as source when it routes, and `rx0`'s as destination); an
//! `interface` lab uses two existing host interfaces and changes nothing.

use macaddr::MacAddr6;
use serde::{Deserialize, Serialize};

mod bridge;
pub mod file;
pub mod interface;
mod lab;
pub mod link;
pub mod marker;
pub mod napi;
pub mod place;
pub mod plan;
mod removal;
pub mod spec;
mod veth;

pub use lab::Lab;
pub use marker::{LabRecord, LabState};
pub use plan::{check_core, Plan};
pub use removal::{down, down_all, Removal};
pub use spec::{Endpoint, Kind, NapiMode, TopologySpec};

/// What an interface is for in a lab.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// The generator sends into it.
    Generator,
    /// The receivers listen on it.
    Receiver,
    /// The bridge of a `bridge` lab.
    Bridge,
    /// A veth end enslaved to the bridge.
    BridgePort,
}

impl Role {
    /// Lowercase name for tables.
    pub fn name(self) -> &'static str {
        match self {
            Role::Generator => "generator",
            Role::Receiver => "receiver",
            Role::Bridge => "bridge",
            Role::BridgePort => "bridge port",
        }
    }
}

/// One interface of a lab, as the kernel reports it after the build.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabInterface {
    /// What it is for.
    pub role: Role,
    /// Interface name (inside the lab's namespace, or on the host for `interface`).
    pub name: String,
    /// Interface index in its namespace.
    pub ifindex: u32,
    /// MAC address.
    #[serde(with = "mac_text")]
    pub mac: MacAddr6,
    /// MTU.
    pub mtu: u32,
}

/// Kernel counters of one interface (`IFLA_STATS64`, as `ip -s link` shows them).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkStats {
    /// Frames received.
    pub rx_packets: u64,
    /// Frames sent.
    pub tx_packets: u64,
    /// Bytes received.
    pub rx_bytes: u64,
    /// Bytes sent.
    pub tx_bytes: u64,
    /// Receive errors.
    pub rx_errors: u64,
    /// Send errors.
    pub tx_errors: u64,
    /// Frames dropped on receive (for a veth: its peer could not queue them).
    pub rx_dropped: u64,
    /// Frames dropped on send.
    pub tx_dropped: u64,
    /// Multicast frames received.
    pub multicast: u64,
    /// Frames received with no protocol handler.
    pub rx_nohandler: u64,
    /// Frames the NIC itself dropped for want of a host buffer (a driver's counter; not in
    /// `rx_dropped`; 0 on software devices such as veth).
    #[serde(default)]
    pub rx_missed_errors: u64,
    /// Receive FIFO overflows the driver counts (some drivers count the same overflow here
    /// and in `rx_over_errors`).
    #[serde(default)]
    pub rx_fifo_errors: u64,
    /// Frames that did not fit the host's buffers (a driver's counter).
    #[serde(default)]
    pub rx_over_errors: u64,
}

impl LinkStats {
    /// The frames the NIC's own counters say it dropped on receive: `rx_missed_errors` +
    /// `rx_fifo_errors` + `rx_over_errors`.
    pub fn nic_rx_dropped(&self) -> u64 {
        self.rx_missed_errors
            .saturating_add(self.rx_fifo_errors)
            .saturating_add(self.rx_over_errors)
    }
}

/// MACs in JSON as `"02:00:00:00:00:01"`.
mod mac_text {
    use macaddr::MacAddr6;
    use serde::{Deserialize, Deserializer, Serializer};

    use crate::packet::mac::Mac;

    pub fn serialize<S: Serializer>(mac: &MacAddr6, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&Mac(*mac))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<MacAddr6, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}
