//! Links over rtnetlink — the one reader of interface facts ([`LinkFacts`]: MAC, MTU, state,
//! kind, veth peer, XDP, `stats64`) for the lab, the generator and the CLI, with one "not
//! found" rule (an interface looked for by name in a namespace: `super::interface`) — and the
//! lab's writes: create veth pairs and bridges, enslave, bring up,
//! delete. One connection per namespace: the netlink socket is opened on a thread inside the
//! namespace and stays bound to it; tokio drives it afterwards.

use anyhow::{anyhow, Context};
use fastnet::netns::NetNs;
use futures::TryStreamExt;
use macaddr::MacAddr6;
use rtnetlink::packet_route::link::{
    InfoBridge, InfoData, InfoKind, InfoVeth, LinkAttribute, LinkFlags, LinkInfo, LinkMessage,
    LinkXdp, State, XdpAttached,
};
use rtnetlink::{LinkMessageBuilder, LinkUnspec};

use super::plan::PlannedInterface;
use super::LinkStats;

/// A route-netlink connection bound to one network namespace.
pub(crate) struct Rtnl {
    handle: rtnetlink::Handle,
    driver: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for Rtnl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rtnl").finish_non_exhaustive()
    }
}

impl Drop for Rtnl {
    fn drop(&mut self) {
        // Dropping the connection future closes the socket (and its hold on the namespace).
        self.driver.abort();
    }
}

/// An interface as the kernel describes it right now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkFacts {
    /// Its name.
    pub name: String,
    /// Its index in its namespace.
    pub ifindex: u32,
    /// Largest L3 payload per frame (bytes after the Ethernet header).
    pub mtu: u32,
    /// Administratively up (`IFF_UP`).
    pub up: bool,
    /// Carrier present (`IFF_LOWER_UP`; for veth: the peer is up).
    pub carrier: bool,
    /// Operational state as `ip link` prints it (`UP`, `DOWN`, `LOWERLAYERDOWN`…).
    pub operstate: String,
    /// Link kind (`veth`, `bridge`…), `None` for a physical device.
    pub kind: Option<String>,
    /// The other end of a veth pair, when it lives in the same namespace.
    pub peer_ifindex: Option<u32>,
    /// An XDP program is attached (any mode).
    pub xdp_attached: bool,
    /// Its MAC address.
    pub mac: Option<MacAddr6>,
    /// The bridge it is a port of.
    pub controller: Option<u32>,
    /// Its kernel counters (`IFLA_STATS64`), when the kernel reports them.
    pub stats: Option<LinkStats>,
    /// Frames received so far (`stats.rx_packets`; 0 without stats).
    pub rx_packets: u64,
    /// Frames the device dropped on receive (`stats.rx_dropped`; 0 without stats).
    pub rx_dropped: u64,
    /// Its receive queues (`IFLA_NUM_RX_QUEUES`); 0 when the kernel does not say.
    pub rx_queues: u32,
    /// Its transmit queues (`IFLA_NUM_TX_QUEUES`); 0 when the kernel does not say.
    pub tx_queues: u32,
}

impl LinkFacts {
    /// The interface with index `ifindex` in the calling thread's namespace, if it exists.
    pub fn by_index(ifindex: u32) -> anyhow::Result<Option<LinkFacts>> {
        let nl = BlockingRtnl::open(None)?;
        nl.block_on(nl.rtnl.link_by_index(ifindex))
            .with_context(|| format!("cannot read interface #{ifindex} over rtnetlink"))
    }

    /// Every interface of the calling thread's namespace, by name.
    pub fn all() -> anyhow::Result<Vec<LinkFacts>> {
        let nl = BlockingRtnl::open(None)?;
        let mut names = nl.block_on(nl.rtnl.names()).context("listing interfaces")?;
        names.sort_unstable();
        let mut all = Vec::new();
        for name in names {
            if let Some(facts) = nl.block_on(nl.rtnl.link(&name))? {
                all.push(facts);
            }
        }
        Ok(all)
    }

    /// The most NAPI instances it can have: one per receive queue on a veth, one per receive
    /// and one per transmit queue on drivers that poll transmit completions in NAPI of their
    /// own (virtio-net); `None` when the kernel does not say.
    pub fn max_napi(&self) -> Option<u32> {
        let queues = if self.is_veth() { self.rx_queues } else { self.rx_queues + self.tx_queues };
        (queues > 0).then_some(queues)
    }

    /// Whether this is one end of a veth pair.
    pub fn is_veth(&self) -> bool {
        self.kind.as_deref() == Some("veth")
    }
}

/// An [`Rtnl`] with a runtime of its own, for code that is not async: one thread, created for
/// the call and gone after it.
pub(crate) struct BlockingRtnl {
    pub(crate) rtnl: Rtnl,
    runtime: tokio::runtime::Runtime,
}

impl BlockingRtnl {
    /// A connection in `ns` (or the calling thread's namespace).
    pub(crate) fn open(ns: Option<&NetNs>) -> anyhow::Result<BlockingRtnl> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .build()
            .context("starting the netlink runtime")?;
        let rtnl = Rtnl::open(runtime.handle(), ns)?;
        Ok(BlockingRtnl { rtnl, runtime })
    }

    /// Runs `future` (a request over [`BlockingRtnl::rtnl`]) to its end.
    pub(crate) fn block_on<F: std::future::Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }
}

/// A netlink error as an `io::Error` (so the chain shows the errno), other errors as they are.
fn nl_error(e: rtnetlink::Error) -> anyhow::Error {
    match e {
        rtnetlink::Error::NetlinkError(m) => anyhow::Error::new(m.to_io()),
        other => anyhow!(other),
    }
}

/// The one "not found" rule for links: the kernel answers a lookup by name or index of a link
/// that is not there with `ENODEV` (or, on some paths, `ENOENT`).
fn is_not_found(e: &rtnetlink::Error) -> bool {
    matches!(e, rtnetlink::Error::NetlinkError(m) if matches!(m.raw_code().abs(), libc::ENODEV | libc::ENOENT))
}

impl Rtnl {
    /// Opens a connection in `ns` (or the calling thread's namespace) and spawns its driver on
    /// `rt`.
    pub(crate) fn open(rt: &tokio::runtime::Handle, ns: Option<&NetNs>) -> anyhow::Result<Rtnl> {
        let open = || {
            let _entered = rt.enter();
            rtnetlink::new_connection()
        };
        let (connection, handle, _) = match ns {
            Some(ns) => ns.run(open)?,
            None => open(),
        }
        .context("opening a route netlink socket")?;
        let driver = rt.spawn(connection);
        Ok(Rtnl { handle, driver })
    }

    /// The link named `name`, `None` when there is none.
    pub(crate) async fn link(&self, name: &str) -> anyhow::Result<Option<LinkFacts>> {
        let reply =
            self.handle.link().get().match_name(name.to_string()).execute().try_next().await;
        one_link(reply).with_context(|| format!("reading link {name}"))
    }

    /// The link with index `ifindex`, `None` when there is none.
    pub(crate) async fn link_by_index(&self, ifindex: u32) -> anyhow::Result<Option<LinkFacts>> {
        let reply = self.handle.link().get().match_index(ifindex).execute().try_next().await;
        one_link(reply).with_context(|| format!("reading link #{ifindex}"))
    }

    /// The link named `name`, which must exist.
    pub(crate) async fn existing(&self, name: &str) -> anyhow::Result<LinkFacts> {
        self.link(name).await?.ok_or_else(|| anyhow!("link {name} is missing"))
    }

    /// Names of all links.
    pub(crate) async fn names(&self) -> anyhow::Result<Vec<String>> {
        let links: Vec<LinkMessage> =
            self.handle.link().get().execute().try_collect().await.map_err(nl_error)?;
        Ok(links
            .iter()
            .filter_map(|m| {
                m.attributes.iter().find_map(|a| match a {
                    LinkAttribute::IfName(n) => Some(n.clone()),
                    _ => None,
                })
            })
            .collect())
    }

    /// Creates the veth pair `a` ↔ `b`, both with their MAC, `mtu` and `queues` RX/TX queues.
    pub(crate) async fn add_veth(
        &self,
        a: &PlannedInterface,
        b: &PlannedInterface,
        mtu: u32,
        queues: u32,
    ) -> anyhow::Result<()> {
        let peer = with_settings(LinkMessageBuilder::<LinkUnspec>::new(), b, mtu)
            .append_extra_attribute(LinkAttribute::NumRxQueues(queues))
            .append_extra_attribute(LinkAttribute::NumTxQueues(queues))
            .build();
        let msg = with_settings(
            LinkMessageBuilder::<rtnetlink::LinkVeth>::new_with_info_kind(InfoKind::Veth),
            a,
            mtu,
        )
        .append_extra_attribute(LinkAttribute::NumRxQueues(queues))
        .append_extra_attribute(LinkAttribute::NumTxQueues(queues))
        .set_info_data(InfoData::Veth(InfoVeth::Peer(peer)))
        .build();
        self.handle.link().add(msg).execute().await.map_err(nl_error)
    }

    /// Creates bridge `bridge` (down, with its MAC and `mtu`). STP stays off (the default) and
    /// multicast snooping is turned off: with it on, the bridge sends IGMP reports of its own
    /// when it comes up (joining 224.0.0.106), and they would reach the receiver.
    pub(crate) async fn add_bridge(
        &self,
        bridge: &PlannedInterface,
        mtu: u32,
    ) -> anyhow::Result<()> {
        let msg = with_settings(
            LinkMessageBuilder::<rtnetlink::LinkBridge>::new_with_info_kind(InfoKind::Bridge),
            bridge,
            mtu,
        )
        .set_info_data(InfoData::Bridge(vec![
            InfoBridge::StpState(0),
            InfoBridge::MulticastSnooping(0),
        ]))
        .build();
        self.handle.link().add(msg).execute().await.map_err(nl_error)
    }

    /// Makes link `port` a port of bridge `bridge`.
    pub(crate) async fn set_controller(&self, port: u32, bridge: u32) -> anyhow::Result<()> {
        let msg = LinkUnspec::new_with_index(port).controller(bridge).build();
        self.handle.link().set(msg).execute().await.map_err(nl_error)
    }

    /// Brings link `index` up.
    pub(crate) async fn set_up(&self, index: u32) -> anyhow::Result<()> {
        let msg = LinkUnspec::new_with_index(index).up().build();
        self.handle.link().set(msg).execute().await.map_err(nl_error)
    }

    /// Deletes link `name` (a veth takes its peer along); `false` when it did not exist.
    pub(crate) async fn delete(&self, name: &str) -> anyhow::Result<bool> {
        let Some(link) = self.link(name).await? else { return Ok(false) };
        match self.handle.link().del(link.ifindex).execute().await {
            Ok(()) => Ok(true),
            Err(e) if is_not_found(&e) => Ok(false),
            Err(e) => Err(nl_error(e)).with_context(|| format!("deleting link {name}")),
        }
    }
}

fn with_settings<T>(
    builder: LinkMessageBuilder<T>,
    iface: &PlannedInterface,
    mtu: u32,
) -> LinkMessageBuilder<T> {
    let builder = builder.name(iface.name.clone()).mtu(mtu);
    match iface.mac {
        Some(mac) => builder.address(mac.as_bytes().to_vec()),
        None => builder,
    }
}

/// The answer to a lookup of one link.
fn one_link(
    reply: Result<Option<LinkMessage>, rtnetlink::Error>,
) -> anyhow::Result<Option<LinkFacts>> {
    match reply {
        Ok(Some(msg)) => Ok(Some(facts(&msg))),
        Ok(None) => Ok(None),
        Err(e) if is_not_found(&e) => Ok(None),
        Err(e) => Err(nl_error(e)),
    }
}

fn facts(msg: &LinkMessage) -> LinkFacts {
    let flags = msg.header.flags;
    let mut f = LinkFacts {
        name: String::new(),
        ifindex: msg.header.index,
        mtu: 0,
        up: flags.contains(LinkFlags::Up),
        carrier: flags.contains(LinkFlags::LowerUp),
        operstate: "UNKNOWN".into(),
        kind: None,
        peer_ifindex: None,
        xdp_attached: false,
        mac: None,
        controller: None,
        stats: None,
        rx_packets: 0,
        rx_dropped: 0,
        rx_queues: 0,
        tx_queues: 0,
    };
    let mut link = None;
    // The other end is in another namespace (so it cannot be inspected from here).
    let mut peer_elsewhere = false;
    for attr in &msg.attributes {
        match attr {
            LinkAttribute::IfName(n) => f.name = n.clone(),
            LinkAttribute::Mtu(m) => f.mtu = *m,
            LinkAttribute::OperState(s) => f.operstate = operstate_name(s),
            LinkAttribute::Link(i) => link = Some(*i),
            LinkAttribute::LinkNetNsId(_) => peer_elsewhere = true,
            LinkAttribute::Address(bytes) => {
                f.mac = <[u8; 6]>::try_from(bytes.as_slice()).ok().map(MacAddr6::from);
            }
            LinkAttribute::Controller(c) => f.controller = Some(*c),
            LinkAttribute::NumRxQueues(n) => f.rx_queues = *n,
            LinkAttribute::NumTxQueues(n) => f.tx_queues = *n,
            LinkAttribute::Stats64(s) => {
                f.rx_packets = s.rx_packets;
                f.rx_dropped = s.rx_dropped;
                f.stats = Some(LinkStats {
                    rx_packets: s.rx_packets,
                    tx_packets: s.tx_packets,
                    rx_bytes: s.rx_bytes,
                    tx_bytes: s.tx_bytes,
                    rx_errors: s.rx_errors,
                    tx_errors: s.tx_errors,
                    rx_dropped: s.rx_dropped,
                    tx_dropped: s.tx_dropped,
                    multicast: s.multicast,
                    rx_nohandler: s.rx_nohandler,
                    rx_missed_errors: s.rx_missed_errors,
                    rx_fifo_errors: s.rx_fifo_errors,
                    rx_over_errors: s.rx_over_errors,
                });
            }
            LinkAttribute::LinkInfo(infos) => {
                for info in infos {
                    if let LinkInfo::Kind(kind) = info {
                        f.kind = Some(kind_name(kind));
                    }
                }
            }
            LinkAttribute::Xdp(xdp) => {
                f.xdp_attached = xdp.iter().any(|x| match x {
                    LinkXdp::Attached(a) => *a != XdpAttached::None,
                    LinkXdp::ProgId(id) => *id != 0,
                    _ => false,
                });
            }
            _ => {}
        }
    }
    if f.is_veth() && !peer_elsewhere {
        f.peer_ifindex = link.filter(|&i| i != 0 && i != f.ifindex);
    }
    f
}

fn kind_name(kind: &InfoKind) -> String {
    match kind {
        InfoKind::Veth => "veth".into(),
        InfoKind::Bridge => "bridge".into(),
        InfoKind::Other(s) => s.clone(),
        other => format!("{other:?}").to_lowercase(),
    }
}

fn operstate_name(state: &State) -> String {
    match state {
        State::Up => "UP".into(),
        State::Down => "DOWN".into(),
        State::LowerLayerDown => "LOWERLAYERDOWN".into(),
        State::NotPresent => "NOTPRESENT".into(),
        State::Dormant => "DORMANT".into(),
        State::Testing => "TESTING".into(),
        State::Unknown => "UNKNOWN".into(),
        other => format!("{other:?}").to_uppercase(),
    }
}
