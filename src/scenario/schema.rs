//! The scenario file as written (serde, every table `deny_unknown_fields`); the values checked
//! after parsing keep their span so their errors point at them.

use std::fmt;

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use toml::Spanned;

use super::Order;
use crate::generator::engine::Engine;
use crate::method::Wait;
use crate::topology::TopologySpec;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawScenario {
    pub name: Spanned<String>,
    #[serde(default)]
    pub description: String,
    pub topology: TopologySpec,
    pub packet: RawPacket,
    pub generator: RawGenerator,
    #[serde(default)]
    pub receiver: Vec<RawReceiver>,
    #[serde(default)]
    pub run: RawRun,
    #[serde(default)]
    pub hosts: std::collections::BTreeMap<String, Spanned<RawHost>>,
    pub search: Option<RawSearch>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSearch {
    /// Target name → most loss allowed (`"0.5%"`).
    #[serde(default)]
    pub targets: std::collections::BTreeMap<String, Spanned<String>>,
    pub precision: Option<Spanned<String>>,
    pub short_trial: Option<Spanned<String>>,
    pub final_trial: Option<Spanned<String>>,
    pub lower: Option<Spanned<String>>,
    pub upper: Option<Spanned<String>>,
}

/// `"local"` or `{ ssh = "user@host", ssh_options = […], netlab = "…" }`.
#[derive(Debug)]
pub(super) enum RawHost {
    Word(String),
    Ssh(RawSsh),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSsh {
    pub ssh: String,
    #[serde(default)]
    pub ssh_options: Vec<String>,
    pub netlab: Option<String>,
}

impl<'de> Deserialize<'de> for RawHost {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct HostVisitor;
        impl<'de> Visitor<'de> for HostVisitor {
            type Value = RawHost;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(
                    "\"local\" or { ssh = \"user@host\", ssh_options = […], netlab = \"…\" }",
                )
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawHost, E> {
                Ok(RawHost::Word(v.to_string()))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawHost, A::Error> {
                RawSsh::deserialize(de::value::MapAccessDeserializer::new(map)).map(RawHost::Ssh)
            }
        }
        d.deserialize_any(HostVisitor)
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPacket {
    pub file: Spanned<String>,
    pub macs: Option<Spanned<RawMacs>>,
}

/// `"auto"`, `"keep"` or `{ src = "…", dst = "…" }`.
#[derive(Debug)]
pub(super) enum RawMacs {
    Word(String),
    Set(RawMacPair),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawMacPair {
    pub src: Option<String>,
    pub dst: Option<String>,
}

impl<'de> Deserialize<'de> for RawMacs {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct MacsVisitor;
        impl<'de> Visitor<'de> for MacsVisitor {
            type Value = RawMacs;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("\"auto\", \"keep\" or { src = \"…\", dst = \"…\" }")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawMacs, E> {
                Ok(RawMacs::Word(v.to_string()))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawMacs, A::Error> {
                RawMacPair::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(RawMacs::Set)
            }
        }
        d.deserialize_any(MacsVisitor)
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawGenerator {
    #[serde(default)]
    pub engine: Engine,
    pub rates: Spanned<Vec<Spanned<String>>>,
    pub duration: Spanned<String>,
    pub warmup: Option<Spanned<String>>,
    pub batch: Option<Spanned<u32>>,
    pub burst: Option<Spanned<u32>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawReceiver {
    pub method: Spanned<String>,
    pub name: Option<Spanned<String>>,
    pub buffer: Option<Spanned<String>>,
    pub batch: Option<Spanned<u32>>,
    pub frames: Option<Spanned<u32>>,
    pub wait: Option<Spanned<Wait>>,
    pub max_delay: Option<Spanned<String>>,
    pub xdp_mode: Option<Spanned<String>>,
    pub zero_copy: Option<Spanned<String>>,
    pub command: Option<Spanned<String>>,
    pub write: Option<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRun {
    pub repeat: Option<Spanned<u32>>,
    #[serde(default)]
    pub order: Order,
    pub drain: Option<Spanned<String>>,
    pub seed: Option<u64>,
    pub retries: Option<Spanned<u32>>,
}
