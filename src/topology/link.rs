//! The lab's links over rtnetlink: create veth pairs and bridges, enslave, bring up, read
//! MAC/ifindex/`stats64`, delete. One connection per namespace: the netlink socket is opened on
//! a thread inside the namespace and stays bound to it; tokio drives it afterwards.

use anyhow::{anyhow, Context};
use fastnet::netns::NetNs;
use futures::TryStreamExt;
use macaddr::MacAddr6;
use rtnetlink::packet_route::link::{
    InfoBridge, InfoData, InfoKind, InfoVeth, LinkAttribute, LinkFlags, LinkMessage,
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

/// What netlink says about one link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LinkState {
    pub ifindex: u32,
    pub mac: Option<MacAddr6>,
    pub mtu: u32,
    pub up: bool,
    pub controller: Option<u32>,
    pub stats: Option<LinkStats>,
}

/// A netlink error as an `io::Error` (so the chain shows the errno), other errors as they are.
fn nl_error(e: rtnetlink::Error) -> anyhow::Error {
    match e {
        rtnetlink::Error::NetlinkError(m) => anyhow::Error::new(m.to_io()),
        other => anyhow!(other),
    }
}

fn is_errno(e: &rtnetlink::Error, errno: i32) -> bool {
    matches!(e, rtnetlink::Error::NetlinkError(m) if m.raw_code() == -errno)
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
    pub(crate) async fn link(&self, name: &str) -> anyhow::Result<Option<LinkState>> {
        let reply =
            self.handle.link().get().match_name(name.to_string()).execute().try_next().await;
        match reply {
            Ok(Some(msg)) => Ok(Some(link_state(&msg))),
            Ok(None) => Ok(None),
            Err(e) if is_errno(&e, libc::ENODEV) => Ok(None),
            Err(e) => Err(nl_error(e)).with_context(|| format!("reading link {name}")),
        }
    }

    /// The link named `name`, which must exist.
    pub(crate) async fn existing(&self, name: &str) -> anyhow::Result<LinkState> {
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
            Err(e) if is_errno(&e, libc::ENODEV) => Ok(false),
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

fn link_state(msg: &LinkMessage) -> LinkState {
    let mut state = LinkState {
        ifindex: msg.header.index,
        mac: None,
        mtu: 0,
        up: msg.header.flags.contains(LinkFlags::Up),
        controller: None,
        stats: None,
    };
    for attr in &msg.attributes {
        match attr {
            LinkAttribute::Address(bytes) => {
                state.mac = <[u8; 6]>::try_from(bytes.as_slice()).ok().map(MacAddr6::from);
            }
            LinkAttribute::Mtu(mtu) => state.mtu = *mtu,
            LinkAttribute::Controller(c) => state.controller = Some(*c),
            LinkAttribute::Stats64(s) => {
                state.stats = Some(LinkStats {
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
                });
            }
            _ => {}
        }
    }
    state
}
