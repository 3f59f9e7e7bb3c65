//! The `[topology]` table of a scenario file, as written by the user (before validation).
//!
//! ```toml
//! [topology]
//! kind = "veth"            # "veth" | "bridge" | "interface"
//! generator = "gen0"       # generator-side interface (created, or an existing one for "interface")
//! receiver = "rx0"         # receiver-side interface
//! # host = "vm"            # scenarios with [hosts]: build the whole lab on that host
//! # generator = { host = "laptop", interface = "vboxnet0" }   # kind = "interface": a role
//! # receiver = { host = "vm", interface = "eth2" }            # on a host of [hosts]
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
    /// The host of `[hosts]` the whole lab is built on (`None`: this machine).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// Generator-side interface name (default `gen0`; required for `interface`), or where it
    /// is: `{ host, interface }`.
    pub generator: Option<Endpoint>,
    /// Receiver-side interface name (default `rx0`; required for `interface`), or where it is.
    pub receiver: Option<Endpoint>,
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
            host: None,
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

/// A role's interface: its name (`"eth2"`), or its name on a host of the scenario's `[hosts]`
/// (`{ host = "vm", interface = "eth2" }`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Endpoint {
    /// An interface of the lab's own host.
    Name(String),
    /// An interface of a named host.
    Placed {
        /// The host (a key of `[hosts]`).
        host: String,
        /// The interface's name there.
        interface: String,
    },
}

impl Endpoint {
    /// The interface's name.
    pub fn interface(&self) -> &str {
        match self {
            Endpoint::Name(name) | Endpoint::Placed { interface: name, .. } => name,
        }
    }

    /// The host it is placed on, if it is.
    pub fn host(&self) -> Option<&str> {
        match self {
            Endpoint::Name(_) => None,
            Endpoint::Placed { host, .. } => Some(host),
        }
    }
}

impl From<&str> for Endpoint {
    fn from(name: &str) -> Self {
        Endpoint::Name(name.to_string())
    }
}

impl<'de> Deserialize<'de> for Endpoint {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::{self, MapAccess, Visitor};
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Placed {
            host: String,
            interface: String,
        }
        struct EndpointVisitor;
        impl<'de> Visitor<'de> for EndpointVisitor {
            type Value = Endpoint;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an interface name, or { host = \"…\", interface = \"…\" }")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Endpoint, E> {
                Ok(Endpoint::Name(v.to_string()))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Endpoint, A::Error> {
                let p = Placed::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(Endpoint::Placed { host: p.host, interface: p.interface })
            }
        }
        d.deserialize_any(EndpointVisitor)
    }
}
