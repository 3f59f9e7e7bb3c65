//! The `[topology]` table of a scenario file, as written by the user (before validation).
//!
//! ```toml
//! [topology]
//! kind = "veth"            # "veth" | "bridge" | "interface"
//! generator = "gen0"       # generator-side interface (created, or an existing one for "interface")
//! receiver = "rx0"         # receiver-side interface
//! bridge = "br0"           # "bridge" only
//! generator_mac = "02:…"   # optional; default derived from the lab name
//! receiver_mac = "02:…"
//! bridge_mac = "02:…"
//! mtu = 1500
//! queues = 1               # RX and TX queues per created veth
//! napi = "threaded"        # "threaded" (default for veth/bridge) | "inline" (stock behaviour)
//! rx_core = 1              # default: the last core
//! tx_core = 0              # default: the first core
//! ```

use serde::{Deserialize, Serialize};

/// What the lab is made of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// One veth pair: generator side ↔ receiver side.
    Veth,
    /// Generator veth ↔ bridge ↔ receiver veth (the class's bridge set-up).
    Bridge,
    /// Existing host interfaces, created by nobody, never deleted, no namespace.
    Interface,
}

/// Where the receive-side kernel work (veth NAPI) runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NapiMode {
    /// GRO on the receiver, threaded NAPI, the `napi/<dev>-*` kthread pinned to the receive core.
    Threaded,
    /// Stock behaviour: receive work runs inline on the sending CPU.
    Inline,
}

/// The `[topology]` table as written; [`crate::topology`] validates it into a lab plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TopologySpec {
    /// What the lab is made of.
    pub kind: Kind,
    /// Generator-side interface name (default `gen0`; required for `interface`).
    pub generator: Option<String>,
    /// Receiver-side interface name (default `rx0`; required for `interface`).
    pub receiver: Option<String>,
    /// Bridge name (`bridge` only; default `br0`).
    pub bridge: Option<String>,
    /// MAC of the generator-side interface.
    pub generator_mac: Option<String>,
    /// MAC of the receiver-side interface.
    pub receiver_mac: Option<String>,
    /// MAC of the bridge.
    pub bridge_mac: Option<String>,
    /// MTU of every created interface (68..=65535; default 1500).
    pub mtu: Option<u32>,
    /// RX and TX queues of every created veth (default 1).
    pub queues: Option<u32>,
    /// NAPI mode on the receiver (default `threaded` for veth/bridge).
    pub napi: Option<NapiMode>,
    /// Core the receivers and the NAPI kthread run on (default: the last core).
    pub rx_core: Option<usize>,
    /// Core the generator runs on (default: the first core).
    pub tx_core: Option<usize>,
}

impl TopologySpec {
    /// A table with only `kind` set: every other setting takes its default.
    pub fn new(kind: Kind) -> Self {
        Self {
            kind,
            generator: None,
            receiver: None,
            bridge: None,
            generator_mac: None,
            receiver_mac: None,
            bridge_mac: None,
            mtu: None,
            queues: None,
            napi: None,
            rx_core: None,
            tx_core: None,
        }
    }
}
