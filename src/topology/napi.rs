//! Threaded NAPI on the receiver: GRO on (a veth runs NAPI only then), `threaded` = 1, and the
//! `napi/<dev>-<id>` kthread(s) pinned to the receive core.
//!
//! The kthreads are found through the `netdev` generic-netlink family (`NETDEV_CMD_NAPI_GET`,
//! Linux ≥ 6.8), which answers, for one ifindex of the asking socket's namespace, each NAPI
//! instance's id and the pid of its kthread. Matching kthread names instead (`napi/rx0-*`) is
//! ambiguous: two labs both have an `rx0`. The request is built by hand — a dozen bytes of
//! `nlmsghdr` + `genlmsghdr` + one attribute — because no maintained crate speaks the `netdev`
//! family; the socket itself comes from `netlink-sys` (safe, re-exported by rtnetlink).

use std::path::Path;

use anyhow::{bail, Context};
use fastnet::netns::NetNs;
use rtnetlink::sys::{protocols::NETLINK_GENERIC, Socket, SocketAddr};

use crate::exit::unsupported;

/// One NAPI instance of an interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Napi {
    /// NAPI id (the `<id>` of the kthread name `napi/<dev>-<id>`).
    pub id: u32,
    /// Pid of its kthread, when it runs threaded.
    pub pid: Option<u32>,
}

// Netlink and generic-netlink constants (include/uapi/linux/{netlink,genetlink,netdev}.h).
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const NLM_F_REQUEST: u16 = 0x1;
const NLM_F_ACK: u16 = 0x4;
const NLM_F_DUMP: u16 = 0x300;
const NLA_TYPE_MASK: u16 = 0x3fff;
const GENL_ID_CTRL: u16 = 0x10;
const CTRL_CMD_GETFAMILY: u8 = 3;
const CTRL_ATTR_FAMILY_ID: u16 = 1;
const CTRL_ATTR_FAMILY_NAME: u16 = 2;
const NETDEV_CMD_NAPI_GET: u8 = 11;
const NETDEV_A_NAPI_IFINDEX: u16 = 1;
const NETDEV_A_NAPI_ID: u16 = 2;
const NETDEV_A_NAPI_PID: u16 = 4;

const fn align4(n: usize) -> usize {
    (n + 3) & !3
}

/// A generic-netlink request: header, command, attributes.
fn request(family: u16, flags: u16, seq: u32, cmd: u8, attrs: &[(u16, &[u8])]) -> Vec<u8> {
    let mut msg = vec![0u8; 16];
    msg.extend_from_slice(&[cmd, 1, 0, 0]); // genlmsghdr: cmd, version 1, reserved
    for (kind, payload) in attrs {
        let len = 4 + payload.len();
        msg.extend_from_slice(&(len as u16).to_ne_bytes());
        msg.extend_from_slice(&kind.to_ne_bytes());
        msg.extend_from_slice(payload);
        msg.resize(align4(msg.len()), 0);
    }
    let len = msg.len() as u32;
    msg[0..4].copy_from_slice(&len.to_ne_bytes());
    msg[4..6].copy_from_slice(&family.to_ne_bytes());
    msg[6..8].copy_from_slice(&flags.to_ne_bytes());
    msg[8..12].copy_from_slice(&seq.to_ne_bytes());
    msg
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_ne_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_ne_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// The attributes of one generic-netlink message payload (after the 4-byte genlmsghdr).
fn attributes(payload: &[u8]) -> Vec<(u16, &[u8])> {
    let mut out = Vec::new();
    let mut at = 4;
    while let (Some(len), Some(kind)) = (u16_at(payload, at), u16_at(payload, at + 2)) {
        let len = usize::from(len);
        if len < 4 || at + len > payload.len() {
            break;
        }
        out.push((kind & NLA_TYPE_MASK, &payload[at + 4..at + len]));
        at += align4(len);
    }
    out
}

/// What one netlink message in a reply was.
enum Reply<'a> {
    Data(&'a [u8]),
    Done,
    Error(i32),
}

/// Sends `msg` (a dump, or a request with `NLM_F_ACK`) and hands every reply message to `each`
/// until the dump's `NLMSG_DONE` or the request's ACK.
fn exchange(
    socket: &Socket,
    msg: &[u8],
    seq: u32,
    mut each: impl FnMut(&[u8]),
) -> std::io::Result<()> {
    socket.send(msg, 0)?;
    loop {
        let (buf, _) = socket.recv_from_full()?;
        let mut at = 0;
        let mut finished = false;
        while let (Some(len), Some(kind)) = (u32_at(&buf, at), u16_at(&buf, at + 4)) {
            let len = len as usize;
            if len < 16 || at + len > buf.len() {
                break;
            }
            let reply_seq = u32_at(&buf, at + 8).unwrap_or(0);
            let body = &buf[at + 16..at + len];
            at += align4(len);
            if reply_seq != seq {
                continue;
            }
            let reply = match kind {
                NLMSG_DONE => Reply::Done,
                NLMSG_ERROR => Reply::Error(u32_at(body, 0).map_or(0, |c| c as i32)),
                _ => Reply::Data(body),
            };
            match reply {
                Reply::Done => finished = true,
                Reply::Error(0) => finished = true, // the ACK
                Reply::Error(code) => return Err(std::io::Error::from_raw_os_error(-code)),
                Reply::Data(body) => each(body),
            }
        }
        if finished {
            return Ok(());
        }
    }
}

/// The id of generic-netlink family `name`, `None` when the kernel has no such family.
fn family_id(socket: &Socket, name: &str) -> std::io::Result<Option<u16>> {
    let mut cname = name.as_bytes().to_vec();
    cname.push(0);
    let msg = request(
        GENL_ID_CTRL,
        NLM_F_REQUEST | NLM_F_ACK,
        1,
        CTRL_CMD_GETFAMILY,
        &[(CTRL_ATTR_FAMILY_NAME, &cname)],
    );
    let mut id = None;
    match exchange(socket, &msg, 1, |body| {
        for (kind, value) in attributes(body) {
            if kind == CTRL_ATTR_FAMILY_ID {
                id = u16_at(value, 0);
            }
        }
    }) {
        Ok(()) => Ok(id),
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(None),
        Err(e) => Err(e),
    }
}

/// The NAPI instances of interface `ifindex` in the calling thread's network namespace.
pub fn napi_of(ifindex: u32) -> anyhow::Result<Vec<Napi>> {
    let mut socket = Socket::new(NETLINK_GENERIC).context("socket(AF_NETLINK, NETLINK_GENERIC)")?;
    socket.bind_auto().context("bind(NETLINK_GENERIC)")?;
    socket.connect(&SocketAddr::new(0, 0)).context("connect(NETLINK_GENERIC)")?;
    let family =
        family_id(&socket, "netdev").context("looking up generic netlink family `netdev`")?;
    let Some(family) = family else {
        return Err(unsupported(
            "finding the NAPI kthread needs the `netdev` generic netlink family (Linux ≥ 6.8); \
             use napi = \"inline\" on this kernel",
        ));
    };
    let msg = request(
        family,
        NLM_F_REQUEST | NLM_F_DUMP,
        2,
        NETDEV_CMD_NAPI_GET,
        &[(NETDEV_A_NAPI_IFINDEX, &ifindex.to_ne_bytes())],
    );
    let mut found = Vec::new();
    exchange(&socket, &msg, 2, |body| {
        let mut napi = Napi { id: 0, pid: None };
        let mut this_device = false;
        for (kind, value) in attributes(body) {
            match kind {
                NETDEV_A_NAPI_IFINDEX => this_device = u32_at(value, 0) == Some(ifindex),
                NETDEV_A_NAPI_ID => napi.id = u32_at(value, 0).unwrap_or(0),
                NETDEV_A_NAPI_PID => napi.pid = u32_at(value, 0).filter(|&p| p != 0),
                _ => {}
            }
        }
        if this_device {
            found.push(napi);
        }
    })
    .context("NETDEV_CMD_NAPI_GET")?;
    found.sort_by_key(|n| n.id);
    Ok(found)
}

/// Makes `iface` (ifindex `ifindex`, in `ns`) run threaded NAPI with its kthreads on `core`:
/// GRO on, `/sys/class/net/<iface>/threaded` = 1, every `napi/<iface>-<id>` kthread pinned.
/// Returns the kthread pids.
pub fn make_threaded(
    ns: &NetNs,
    iface: &str,
    ifindex: u32,
    core: usize,
) -> anyhow::Result<Vec<u32>> {
    set_gro(ns, iface)?;
    ns.run_with_sysfs(|sys: &Path| {
        let path = sys.join("class/net").join(iface).join("threaded");
        std::fs::write(&path, "1").with_context(|| format!("writing 1 to {}", path.display()))
    })?
    .with_context(|| format!("setting threaded NAPI on {iface}"))?;
    let napis = ns.run(|| napi_of(ifindex))??;
    let pids: Vec<u32> = napis.iter().filter_map(|n| n.pid).collect();
    if pids.is_empty() {
        bail!(
            "{iface} has no NAPI kthread after GRO on and threaded = 1 (NAPI instances: {napis:?})"
        );
    }
    for &pid in &pids {
        fastnet::cpu::set_task_affinity(pid, &[core])
            .with_context(|| format!("pinning NAPI kthread {pid} of {iface} to core {core}"))?;
        let now = fastnet::cpu::task_affinity(pid)?;
        if now != [core] {
            bail!("NAPI kthread {pid} of {iface} runs on cores {now:?} after pinning to {core}");
        }
    }
    Ok(pids)
}

/// Turns GRO on for `iface` in `ns` (on a veth this starts its NAPI).
pub fn set_gro(ns: &NetNs, iface: &str) -> anyhow::Result<()> {
    ns.run(|| -> fastnet::Result<()> {
        let ethtool = fastnet::ethtool::Ethtool::open()?;
        ethtool.set_gro(iface, true)?;
        if !ethtool.gro(iface)? {
            return Err(fastnet::Error::Unsupported {
                feature: "GRO",
                why: format!("{iface} still has GRO off after turning it on"),
            });
        }
        Ok(())
    })?
    .with_context(|| format!("turning GRO on for {iface}"))
}

/// Turns TSO off on `feeder`, the veth whose peer runs threaded NAPI, so that frames sent
/// through the socket path (AF_PACKET senders, bridge forwarding) reach that NAPI too.
///
/// veth hands an skb to its peer's NAPI only when the sending device has no TSO feature (or the
/// skb qualifies for UDP GRO forwarding): with TSO on, `veth_xmit` delivers inline, so the
/// receive work runs on the sending CPU and the receiver's NAPI kthread sees nothing. Frames
/// from XDP (`ndo_xdp_xmit`) always go through NAPI and are not affected.
pub fn feed_through_napi(ns: &NetNs, feeder: &str) -> anyhow::Result<()> {
    ns.run(|| -> fastnet::Result<()> {
        let ethtool = fastnet::ethtool::Ethtool::open()?;
        ethtool.set_tso(feeder, false)?;
        if ethtool.tso(feeder)? {
            return Err(fastnet::Error::Unsupported {
                feature: "TSO off",
                why: format!("{feeder} still has TSO on after turning it off"),
            });
        }
        Ok(())
    })?
    .with_context(|| format!("turning TSO off on {feeder}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_aligned_and_attributes_round_trip() {
        let msg = request(0x10, NLM_F_REQUEST, 7, 3, &[(2, b"netdev\0"), (1, &5u32.to_ne_bytes())]);
        assert_eq!(msg.len() % 4, 0);
        assert_eq!(u32_at(&msg, 0), Some(msg.len() as u32));
        assert_eq!(u32_at(&msg, 8), Some(7));
        let attrs = attributes(&msg[16..]);
        assert_eq!(attrs, vec![(2, &b"netdev\0"[..]), (1, &5u32.to_ne_bytes()[..])]);
    }

    #[test]
    fn truncated_attributes_stop_parsing_instead_of_panicking() {
        let msg = request(0x10, NLM_F_REQUEST, 1, 3, &[(2, b"abcdef")]);
        let mut body = msg[16..].to_vec();
        body.truncate(body.len() - 4);
        assert!(attributes(&body).is_empty());
    }
}
