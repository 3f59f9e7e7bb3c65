//! What the generator needs to know about its interface before it sends, and the counter it
//! reads at the peer afterwards: one rtnetlink `RTM_GETLINK` per question, answered in the
//! calling thread's network namespace.
//!
//! Call these on a thread inside the interface's namespace (the sender thread is; otherwise
//! [`fastnet::netns::NetNs::run`]).

use anyhow::Context as _;
use futures::TryStreamExt as _;
use rtnetlink::packet_route::link::{
    InfoKind, LinkAttribute, LinkFlags, LinkInfo, LinkMessage, LinkXdp, State, XdpAttached,
};

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
    /// Frames received so far (`IFLA_STATS64.rx_packets`).
    pub rx_packets: u64,
    /// Frames the device dropped on receive (`rx_dropped`).
    pub rx_dropped: u64,
}

impl LinkFacts {
    /// The interface named `name` in the calling thread's namespace, if it exists.
    pub fn by_name(name: &str) -> anyhow::Result<Option<LinkFacts>> {
        let name_owned = name.to_string();
        query(move |h| h.link().get().match_name(name_owned))
            .with_context(|| format!("cannot read interface `{name}` over rtnetlink"))
    }

    /// The interface with index `ifindex` in the calling thread's namespace, if it exists.
    pub fn by_index(ifindex: u32) -> anyhow::Result<Option<LinkFacts>> {
        query(move |h| h.link().get().match_index(ifindex))
            .with_context(|| format!("cannot read interface #{ifindex} over rtnetlink"))
    }

    /// Whether this is one end of a veth pair.
    pub fn is_veth(&self) -> bool {
        self.kind.as_deref() == Some("veth")
    }
}

fn query(
    request: impl FnOnce(&rtnetlink::Handle) -> rtnetlink::LinkGetRequest,
) -> anyhow::Result<Option<LinkFacts>> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .context("cannot start the netlink runtime")?;
    runtime.block_on(async move {
        let (connection, handle, _) =
            rtnetlink::new_connection().context("cannot open a netlink socket")?;
        let task = tokio::spawn(connection);
        let stream = request(&handle).execute();
        futures::pin_mut!(stream);
        let answer = match stream.try_next().await {
            Ok(Some(msg)) => Ok(Some(facts(&msg))),
            Ok(None) => Ok(None),
            Err(rtnetlink::Error::NetlinkError(e))
                if matches!(e.raw_code().abs(), libc::ENODEV | libc::ENOENT) =>
            {
                Ok(None)
            }
            Err(e) => Err(anyhow::Error::new(e)),
        };
        task.abort();
        answer
    })
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
        rx_packets: 0,
        rx_dropped: 0,
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
            LinkAttribute::Stats64(s) => {
                f.rx_packets = s.rx_packets;
                f.rx_dropped = s.rx_dropped;
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
