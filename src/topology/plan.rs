//! Validation: a [`TopologySpec`] as written → a [`Plan`] that names every interface, MAC,
//! core and setting the lab will have. Everything a user can get wrong is found here, before
//! anything is built, and reported as bad input naming the `[topology]` key.

use macaddr::MacAddr6;

use super::spec::{Endpoint, Kind, NapiMode, TopologySpec};
use crate::exit::{bad_field, Field, Section};

/// A `[topology]` field.
fn topo(key: &str) -> Field {
    Field::new(Section::Topology, key)
}
use crate::packet::mac::{parse_mac, Mac};

/// Prefix of every namespace netlab makes: lab `t1` lives in `netlab-t1`.
pub const NETNS_PREFIX: &str = "netlab-";
/// Default generator-side interface name.
pub const DEFAULT_GENERATOR: &str = "gen0";
/// Default receiver-side interface name.
pub const DEFAULT_RECEIVER: &str = "rx0";
/// Default bridge name.
pub const DEFAULT_BRIDGE: &str = "br0";
/// Default MTU of created interfaces.
pub const DEFAULT_MTU: u32 = 1500;
/// Smallest MTU accepted (IPv4's minimum, as the kernel's `ETH_MIN_MTU`).
pub const MIN_MTU: u32 = 68;
/// Largest MTU accepted (`ETH_MAX_MTU`).
pub const MAX_MTU: u32 = 65535;
/// Most RX/TX queues a created veth may have (the kernel's limit for one device).
pub const MAX_QUEUES: u32 = 4096;
/// Longest lab name: the namespace name and the marker file stay short.
pub const MAX_NAME_LEN: usize = 48;

/// One interface the lab will have.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedInterface {
    /// Interface name.
    pub name: String,
    /// MAC to set (`None` for an existing interface, which keeps its own).
    pub mac: Option<MacAddr6>,
}

/// The bridge of a `bridge` lab: the bridge and the two veth ends enslaved to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedBridge {
    /// The bridge itself.
    pub bridge: PlannedInterface,
    /// Peer of the generator veth, a port of the bridge (`<bridge>-gen`).
    pub generator_port: PlannedInterface,
    /// Peer of the receiver veth, a port of the bridge (`<bridge>-rx`).
    pub receiver_port: PlannedInterface,
}

/// A validated topology: what [`super::Lab::up`] builds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// Lab name.
    pub name: String,
    /// What the lab is made of.
    pub kind: Kind,
    /// Namespace (`netlab-<name>`), `None` for `interface`.
    pub netns: Option<String>,
    /// Generator side.
    pub generator: PlannedInterface,
    /// Receiver side.
    pub receiver: PlannedInterface,
    /// The bridge (`bridge` only).
    pub bridge: Option<PlannedBridge>,
    /// MTU of created interfaces.
    pub mtu: u32,
    /// RX and TX queues of created veths.
    pub queues: u32,
    /// NAPI mode on the receiver.
    pub napi: NapiMode,
    /// Receive core.
    pub rx_core: usize,
    /// Send core.
    pub tx_core: usize,
}

/// Checks a lab name: 1 to [`MAX_NAME_LEN`] characters of `A-Z a-z 0-9 _ . -`, starting with a
/// letter or digit (it becomes a namespace and a file name).
pub fn check_lab_name(name: &str) -> anyhow::Result<()> {
    let ok = !name.is_empty()
        && name.len() <= MAX_NAME_LEN
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    if ok {
        Ok(())
    } else {
        Err(bad_field(
            Field::new(Section::Top, "name"),
            format!(
                "lab name `{name}`: use 1 to {MAX_NAME_LEN} characters of A-Z a-z 0-9 _ . -, \
             starting with a letter or digit"
            ),
        ))
    }
}

/// Checks an interface name the way the kernel does (`dev_valid_name`): 1 to 15 bytes, no `/`,
/// `:`, `%`, whitespace, not `.` or `..`.
fn check_interface_name(name: &str, key: &str) -> anyhow::Result<()> {
    let ok = !name.is_empty()
        && name.len() < 16
        && name != "."
        && name != ".."
        && !name.chars().any(|c| c == '/' || c == ':' || c == '%' || c.is_whitespace());
    if ok {
        Ok(())
    } else {
        Err(bad_field(
            topo(key),
            format!(
                "`{name}` is not an interface name (1 to 15 characters, no `/`, \
             `:`, `%` or spaces)"
            ),
        ))
    }
}

/// The default MAC of one interface of lab `name`: locally administered, unicast
/// (`02:…`), stable for a given lab name and role, different between labs.
pub fn default_mac(lab: &str, role: u8) -> MacAddr6 {
    // FNV-1a: a fixed, documented hash, so the MACs do not change between Rust versions.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in lab.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    let h = hash.to_be_bytes();
    MacAddr6::new(0x02, h[0] ^ h[4], h[1] ^ h[5], h[2] ^ h[6], h[3] ^ h[7], role)
}

/// Role bytes of the default MACs (the last octet).
mod role {
    pub const GENERATOR: u8 = 0x01;
    pub const RECEIVER: u8 = 0x02;
    pub const BRIDGE: u8 = 0x03;
    pub const GENERATOR_PORT: u8 = 0x11;
    pub const RECEIVER_PORT: u8 = 0x12;
}

fn mac_of(text: Option<&str>, key: &str, lab: &str, role: u8) -> anyhow::Result<MacAddr6> {
    let Some(text) = text else { return Ok(default_mac(lab, role)) };
    let mac = parse_mac(text, key).map_err(|e| {
        let text = format!("{e:#}");
        bad_field(topo(key), text.strip_prefix(&format!("{key}: ")).unwrap_or(&text).to_string())
    })?;
    if mac.is_multicast() || mac.is_nil() {
        return Err(bad_field(
            topo(key),
            format!(
                "`{text}` is not a unicast address (an interface MAC must have the \
             lowest bit of the first octet clear and must not be 00:00:00:00:00:00)"
            ),
        ));
    }
    Ok(mac)
}

fn reject_for_interface(given: bool, key: &str) -> anyhow::Result<()> {
    if given {
        return Err(bad_field(
            topo(key),
            "not used with kind = \"interface\" (netlab never changes a real \
             interface; set it with ip/ethtool yourself)",
        ));
    }
    Ok(())
}

/// The core `[topology] key` names (`value`), checked against the `cpus` online CPUs of
/// `machine` ("this machine", "host `vm`"): bad input naming the key when it has no such core.
pub fn check_core(
    value: Option<usize>,
    key: &str,
    cpus: usize,
    machine: &str,
) -> anyhow::Result<Option<usize>> {
    match value {
        Some(c) if c >= cpus => Err(bad_field(
            topo(key),
            format!("core {c} does not exist ({machine} has {cpus} CPUs: 0..={})", cpus.max(1) - 1),
        )),
        _ => Ok(value),
    }
}

impl Plan {
    /// Validates `spec` for a lab named `name` on one machine, with `cpus` online CPUs.
    pub fn new(spec: &TopologySpec, name: &str, cpus: usize) -> anyhow::Result<Plan> {
        Plan::placed(spec, name, cpus, false)
    }

    /// As [`Plan::new`]; with the roles `apart` (an `interface` lab's generator and receiver on
    /// two hosts, as the scenario places them) each role's interface name is its own host's.
    pub fn placed(
        spec: &TopologySpec,
        name: &str,
        cpus: usize,
        apart: bool,
    ) -> anyhow::Result<Plan> {
        check_lab_name(name)?;
        let cpus = cpus.max(1);
        let rx_core =
            check_core(spec.rx_core, "rx_core", cpus, "this machine")?.unwrap_or(cpus - 1);
        let tx_core = check_core(spec.tx_core, "tx_core", cpus, "this machine")?.unwrap_or(0);

        let mtu = spec.mtu.unwrap_or(DEFAULT_MTU);
        if !(MIN_MTU..=MAX_MTU).contains(&mtu) {
            return Err(bad_field(topo("mtu"), format!("{mtu} is outside {MIN_MTU}..={MAX_MTU}")));
        }
        let queues = spec.queues.unwrap_or(1);
        if !(1..=MAX_QUEUES).contains(&queues) {
            return Err(bad_field(topo("queues"), format!("{queues} is outside 1..={MAX_QUEUES}")));
        }
        if spec.kind != Kind::Bridge && (spec.bridge.is_some() || spec.bridge_mac.is_some()) {
            let key = if spec.bridge.is_some() { "bridge" } else { "bridge_mac" };
            return Err(bad_field(
                topo(key),
                format!(
                    "only used with kind = \"bridge\" (this lab is kind = \"{}\")",
                    kind_name(spec.kind)
                ),
            ));
        }

        let (generator, receiver, bridge, napi) = match spec.kind {
            Kind::Interface => {
                let (generator, receiver) = existing_pair(spec)?;
                (generator, receiver, None, NapiMode::Inline)
            }
            Kind::Veth | Kind::Bridge => {
                let generator = created_side(
                    spec.generator.as_ref(),
                    ("generator", DEFAULT_GENERATOR),
                    spec.generator_mac.as_deref(),
                    (name, role::GENERATOR),
                )?;
                let receiver = created_side(
                    spec.receiver.as_ref(),
                    ("receiver", DEFAULT_RECEIVER),
                    spec.receiver_mac.as_deref(),
                    (name, role::RECEIVER),
                )?;
                let bridge =
                    (spec.kind == Kind::Bridge).then(|| planned_bridge(spec, name)).transpose()?;
                (generator, receiver, bridge, spec.napi.unwrap_or(NapiMode::Threaded))
            }
        };
        let plan = Plan {
            name: name.to_string(),
            kind: spec.kind,
            netns: (spec.kind != Kind::Interface).then(|| format!("{NETNS_PREFIX}{name}")),
            generator,
            receiver,
            bridge,
            mtu,
            queues,
            napi,
            rx_core,
            tx_core,
        };
        plan.check_unique(apart)?;
        Ok(plan)
    }
}

/// The two existing interfaces of an `interface` lab; the keys that would change them are
/// refused (netlab never changes a real interface).
fn existing_pair(spec: &TopologySpec) -> anyhow::Result<(PlannedInterface, PlannedInterface)> {
    reject_for_interface(spec.generator_mac.is_some(), "generator_mac")?;
    reject_for_interface(spec.receiver_mac.is_some(), "receiver_mac")?;
    reject_for_interface(spec.mtu.is_some(), "mtu")?;
    reject_for_interface(spec.queues.is_some(), "queues")?;
    if spec.napi == Some(NapiMode::Threaded) {
        return Err(bad_field(
            topo("napi"),
            "\"threaded\" would change a real interface's settings; \
             with kind = \"interface\" netlab keeps the stock behaviour (\"inline\")",
        ));
    }
    let existing = |endpoint: Option<&Endpoint>, key: &str| -> anyhow::Result<_> {
        let name = endpoint.map(|e| e.interface().to_string()).ok_or_else(|| {
            bad_field(
                topo(key),
                "required with kind = \"interface\" (the name of \
                 an existing interface)",
            )
        })?;
        check_interface_name(&name, key)?;
        Ok(PlannedInterface { name, mac: None })
    };
    Ok((
        existing(spec.generator.as_ref(), "generator")?,
        existing(spec.receiver.as_ref(), "receiver")?,
    ))
}

/// The name of an interface the lab creates (`key`): as written, else `default`.
fn created_name(written: Option<&str>, (key, default): (&str, &str)) -> anyhow::Result<String> {
    let name = written.unwrap_or(default).to_string();
    check_interface_name(&name, key).map(|()| name)
}

/// The generator or receiver side (`key`) of a lab that creates it: its name (else `default`)
/// and its MAC as `<key>_mac` writes it (else lab `lab`'s default MAC for `role`).
fn created_side(
    endpoint: Option<&Endpoint>,
    (key, default): (&str, &str),
    mac: Option<&str>,
    (lab, role): (&str, u8),
) -> anyhow::Result<PlannedInterface> {
    let name = created_name(endpoint.map(Endpoint::interface), (key, default))?;
    let mac = mac_of(mac, &format!("{key}_mac"), lab, role)?;
    Ok(PlannedInterface { name, mac: Some(mac) })
}

/// The bridge of `bridge` lab `lab`: named by `bridge` (else `br0`), its ports `<bridge>-gen`
/// and `<bridge>-rx`, its MAC as `bridge_mac` writes it.
fn planned_bridge(spec: &TopologySpec, lab: &str) -> anyhow::Result<PlannedBridge> {
    let bridge_name = created_name(spec.bridge.as_deref(), ("bridge", DEFAULT_BRIDGE))?;
    let port = |suffix: &str, role: u8| -> anyhow::Result<PlannedInterface> {
        let port_name = format!("{bridge_name}-{suffix}");
        if port_name.len() > 15 {
            return Err(bad_field(
                topo("bridge"),
                format!(
                    "`{bridge_name}` is too long: its ports are \
                 named `<bridge>-gen` and `<bridge>-rx`, at most 15 characters"
                ),
            ));
        }
        Ok(PlannedInterface { name: port_name, mac: Some(default_mac(lab, role)) })
    };
    Ok(PlannedBridge {
        generator_port: port("gen", role::GENERATOR_PORT)?,
        receiver_port: port("rx", role::RECEIVER_PORT)?,
        bridge: PlannedInterface {
            mac: Some(mac_of(spec.bridge_mac.as_deref(), "bridge_mac", lab, role::BRIDGE)?),
            name: bridge_name,
        },
    })
}

/// The name a kind is written with in TOML.
pub fn kind_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Veth => "veth",
        Kind::Bridge => "bridge",
        Kind::Interface => "interface",
    }
}

impl Plan {
    /// The interfaces with the `[topology]` key that names each.
    fn keyed(&self) -> Vec<(&'static str, &PlannedInterface)> {
        let mut all = vec![("generator", &self.generator), ("receiver", &self.receiver)];
        if let Some(b) = &self.bridge {
            all.extend([
                ("bridge", &b.bridge),
                ("bridge (its generator-side port)", &b.generator_port),
                ("bridge (its receiver-side port)", &b.receiver_port),
            ]);
        }
        all
    }

    /// Every interface needs its own name, and every created one its own MAC; with the roles
    /// `apart` (on two hosts: an `interface` lab, which creates nothing) the generator's and
    /// the receiver's names are each host's own.
    fn check_unique(&self, apart: bool) -> anyhow::Result<()> {
        let all = self.keyed();
        for (i, (key, iface)) in all.iter().enumerate() {
            for (other_key, other) in &all[..i] {
                if iface.name == other.name && !(apart && self.kind == Kind::Interface) {
                    let written = key.split(' ').next().unwrap_or(key);
                    return Err(bad_field(
                        topo(written),
                        format!(
                            "`{}`{} is already the {other_key}'s name; every interface needs its \
                             own name",
                            iface.name,
                            key.strip_prefix(written).unwrap_or_default()
                        ),
                    ));
                }
                if iface.mac.is_some() && iface.mac == other.mac {
                    let mac_key = |k: &str| format!("{}_mac", k.split(' ').next().unwrap_or(k));
                    return Err(bad_field(
                        topo(&mac_key(key)),
                        format!(
                            "{} is already the {other_key}'s MAC; every interface needs its \
                             own MAC",
                            Plan::mac_text(iface)
                        ),
                    ));
                }
            }
        }
        Ok(())
    }

    /// The MAC of a planned interface, for messages.
    pub fn mac_text(iface: &PlannedInterface) -> String {
        iface.mac.map_or_else(|| "(its own)".to_string(), |m| Mac(m).to_string())
    }
}
