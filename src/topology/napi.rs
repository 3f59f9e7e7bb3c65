//! Threaded NAPI on the receiver: GRO on (a veth runs NAPI only then), `threaded` = 1, and the
//! `napi/<dev>-<id>` kthread(s) pinned to the receive core.
//!
//! The kthreads are found through the `netdev` generic-netlink family (`NETDEV_CMD_NAPI_GET`,
//! Linux ≥ 6.8), which answers, for one ifindex of the asking socket's namespace, each NAPI
//! instance's id and the pid of its kthread. The request is built by hand — a dozen bytes of
//! `nlmsghdr` + `genlmsghdr` + one attribute — because no maintained crate speaks the `netdev`
//! family; the socket itself comes from `netlink-sys` (safe, re-exported by rtnetlink).
//!
//! Threaded NAPI itself is older (Linux 5.12): on a kernel without the family (Linux 6.1, say),
//! or with `FASTNET_WITHOUT=netdev-netlink`, the kthreads are found by their name,
//! `napi/<dev>-<napi id>` in `/proc/<pid>/comm` (the full name: the kernel keeps a kthread's
//! whole name there since 5.17). A name is ambiguous where netlink is not — two namespaces can
//! both have an `rx0` — so [`make_threaded`] takes only the kthreads that appeared when it set
//! `threaded`, and [`napi_of`] refuses more kthreads of that name than the interface can have
//! NAPI instances ([`LinkFacts::max_napi`](super::link::LinkFacts::max_napi)).

use std::path::Path;

use anyhow::{anyhow, bail, Context};
use fastnet::caps::Feature;
use fastnet::netns::NetNs;
use rtnetlink::sys::{protocols::NETLINK_GENERIC, Socket, SocketAddr};

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

/// How an interface's NAPI kthreads were found ([`napi_of`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lookup {
    /// `netdev` generic netlink `NAPI_GET` (Linux ≥ 6.8): by ifindex, exact.
    Netlink,
    /// By kthread name, `napi/<dev>-<id>`: the kernel has no `netdev` family (or
    /// `FASTNET_WITHOUT` turns it off).
    Name,
}

impl Lookup {
    /// How doctor and the logs say it.
    pub fn describe(self) -> &'static str {
        match self {
            Lookup::Netlink => "found with netdev netlink NAPI_GET",
            Lookup::Name => "found by name (napi/<dev>-<id>; no netdev netlink NAPI_GET)",
        }
    }
}

/// The NAPI instances of interface `iface` (index `ifindex`) in the calling thread's network
/// namespace, and how they were found: over netlink where the kernel has the `netdev` family,
/// else by kthread name (threaded instances only, and only when no more kthreads carry the
/// name than the interface has queues).
pub fn napi_of(iface: &str, ifindex: u32) -> anyhow::Result<(Vec<Napi>, Lookup)> {
    if let Some(found) = napi_over_netlink(ifindex)? {
        return Ok((found, Lookup::Netlink));
    }
    let found = napi_by_name(iface, &napi_kthread_names()?);
    let link = crate::topology::link::LinkFacts::by_index(ifindex)?;
    if let Some(most) = link.and_then(|l| l.max_napi()).filter(|&n| found.len() > n as usize) {
        return Err(anyhow!(
            "{} kthreads are named napi/{iface}-<id> and {iface} has at most {most} NAPI \
             instances: another namespace has an interface named {iface} with threaded NAPI, \
             and without the netdev netlink family (Linux ≥ 6.8) the kthreads of this one \
             cannot be told apart",
            found.len()
        ));
    }
    Ok((found, Lookup::Name))
}

/// The NAPI instances of `ifindex` over netdev netlink; `None` when the kernel has no `netdev`
/// family or [`Feature::NetdevNetlink`] is turned off.
fn napi_over_netlink(ifindex: u32) -> anyhow::Result<Option<Vec<Napi>>> {
    if let Err(e) = Feature::NetdevNetlink.check_not_forced_off() {
        tracing::debug!("NAPI kthreads by name: {e}");
        return Ok(None);
    }
    let mut socket = Socket::new(NETLINK_GENERIC).context("socket(AF_NETLINK, NETLINK_GENERIC)")?;
    socket.bind_auto().context("bind(NETLINK_GENERIC)")?;
    socket.connect(&SocketAddr::new(0, 0)).context("connect(NETLINK_GENERIC)")?;
    let family =
        family_id(&socket, "netdev").context("looking up generic netlink family `netdev`")?;
    let Some(family) = family else {
        tracing::debug!("NAPI kthreads by name: no `netdev` generic netlink family (Linux < 6.8)");
        return Ok(None);
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
    Ok(Some(found))
}

/// `(pid, comm)` of every task whose name starts with `napi/` (NAPI kthreads live in the
/// initial pid namespace, which `/proc` shows here).
fn napi_kthread_names() -> anyhow::Result<Vec<(u32, String)>> {
    let proc = std::fs::read_dir("/proc").context("listing /proc")?;
    let mut out = Vec::new();
    for pid in proc.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok()) {
        // A task that ended meanwhile has no comm: not an error.
        let Ok(comm) = std::fs::read_to_string(format!("/proc/{pid}/comm")) else { continue };
        let comm = comm.trim_end_matches('\n');
        if comm.starts_with("napi/") {
            out.push((pid, comm.to_string()));
        }
    }
    Ok(out)
}

/// The NAPI kthreads of `iface` among `(pid, comm)`: named `napi/<iface>-<id>`, `id` a
/// number. A name the kernel cut to 15 bytes (`TASK_COMM_LEN`, before Linux 5.17) matches
/// when it is the start of the interface's (its id is then unknown: 0).
fn napi_by_name(iface: &str, kthreads: &[(u32, String)]) -> Vec<Napi> {
    const TASK_COMM_LEN: usize = 15;
    let prefix = format!("napi/{iface}-");
    let mut found: Vec<Napi> = kthreads
        .iter()
        .filter_map(|(pid, comm)| {
            let id = match comm.strip_prefix(&prefix) {
                Some(id) if !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()) => {
                    id.parse().ok()?
                }
                Some(_) => return None,
                None if comm.len() == TASK_COMM_LEN && prefix.starts_with(comm.as_str()) => 0,
                None => return None,
            };
            Some(Napi { id, pid: Some(*pid) })
        })
        .collect();
    found.sort_by_key(|n| (n.id, n.pid));
    found
}

/// Makes `iface` (ifindex `ifindex`, in `ns`) run threaded NAPI with its kthreads on `core`:
/// GRO on, `/sys/class/net/<iface>/threaded` = 1, every `napi/<iface>-<id>` kthread pinned.
/// Returns the kthread pids and how they were found.
pub fn make_threaded(
    ns: &NetNs,
    iface: &str,
    ifindex: u32,
    core: usize,
) -> anyhow::Result<(Vec<u32>, Lookup)> {
    set_gro(ns, iface)?;
    // Found by name, this interface's kthreads are those its `threaded` = 1 started.
    let before = napi_kthread_names()?;
    ns.run_with_sysfs(|sys: &Path| {
        let path = sys.join("class/net").join(iface).join("threaded");
        std::fs::write(&path, "1").with_context(|| format!("writing 1 to {}", path.display()))
    })?
    .with_context(|| format!("setting threaded NAPI on {iface}"))?;
    let (pids, lookup) = ns.run(|| kthreads_started(iface, ifindex, &before))??;
    if pids.is_empty() {
        bail!(
            "{iface} has no NAPI kthread after GRO on and threaded = 1 (looked for: {})",
            lookup.describe()
        );
    }
    pin(iface, &pids, core)?;
    Ok((pids, lookup))
}

/// Pins every NAPI kthread `pids` of `iface` to `core`, and checks it took.
fn pin(iface: &str, pids: &[u32], core: usize) -> anyhow::Result<()> {
    for &pid in pids {
        fastnet::cpu::set_task_affinity(pid, &[core])
            .with_context(|| format!("pinning NAPI kthread {pid} of {iface} to core {core}"))?;
        let now = fastnet::cpu::task_affinity(pid)?;
        if now != [core] {
            bail!("NAPI kthread {pid} of {iface} runs on cores {now:?} after pinning to {core}");
        }
    }
    Ok(())
}

/// The NAPI kthreads of `iface` (index `ifindex`, in the calling thread's namespace) after
/// its `threaded` was set to 1: over netlink, or by name those that were not among `before`
/// (every `napi/` kthread before the write) — all of that name if none is new (the interface
/// was threaded already).
fn kthreads_started(
    iface: &str,
    ifindex: u32,
    before: &[(u32, String)],
) -> anyhow::Result<(Vec<u32>, Lookup)> {
    if let Some(napis) = napi_over_netlink(ifindex)? {
        return Ok((napis.iter().filter_map(|n| n.pid).collect(), Lookup::Netlink));
    }
    let started = |pid: &u32| !before.iter().any(|(p, _)| p == pid);
    let fresh: Vec<u32> = napi_by_name(iface, &napi_kthread_names()?)
        .iter()
        .filter_map(|n| n.pid)
        .filter(started)
        .collect();
    if !fresh.is_empty() {
        return Ok((fresh, Lookup::Name));
    }
    let (napis, lookup) = napi_of(iface, ifindex)?;
    Ok((napis.iter().filter_map(|n| n.pid).collect(), lookup))
}

/// An interface's NAPI made threaded for one receive ([`thread_for_receive`]): `threaded` is
/// put back to 0 on drop, and noted in [`fastnet::restore`]'s journal until then, so that a
/// `SIGKILL` leaves nothing changed past the next netlab start.
#[derive(Debug)]
pub struct ThreadedForReceive {
    threaded: std::fs::File,
    pids: Vec<u32>,
    lookup: Lookup,
    _note: fastnet::restore::Changed,
}

impl ThreadedForReceive {
    /// Its NAPI kthreads.
    pub fn pids(&self) -> &[u32] {
        &self.pids
    }

    /// How they were found.
    pub fn lookup(&self) -> Lookup {
        self.lookup
    }
}

impl Drop for ThreadedForReceive {
    fn drop(&mut self) {
        use std::os::unix::fs::FileExt as _;
        if let Err(e) = self.threaded.write_at(b"0", 0) {
            tracing::warn!("cannot put threaded NAPI back to 0: {e}");
        }
    }
}

/// Makes `iface` (in the calling thread's namespace) run threaded NAPI for a receive, with its
/// kthreads on `core` when given, so that the kernel's half of the receive is a kthread whose
/// CPU time can be measured (a real NIC's NAPI otherwise runs in softirq context, on whatever
/// CPU the interrupt hit). `None` when it is threaded already (a lab, or the user's setting:
/// left as it is) or has no NAPI to thread (the kernel refuses: a veth without GRO or XDP).
/// Drop the result before closing the receiver: a veth's NAPI goes with its XDP program.
pub fn thread_for_receive(
    iface: &str,
    core: Option<usize>,
) -> anyhow::Result<Option<ThreadedForReceive>> {
    use std::os::unix::fs::FileExt as _;
    let ifindex = fastnet::ifindex(iface)?;
    let ns = NetNs::current()?;
    let file = ns
        .run_with_sysfs(|sys: &Path| {
            let path = sys.join("class/net").join(iface).join("threaded");
            std::fs::File::options()
                .read(true)
                .write(true)
                .open(&path)
                .with_context(|| format!("opening {}", path.display()))
        })?
        .with_context(|| format!("threaded NAPI on {iface}"))?;
    let mut buf = [0u8; 16];
    let n = file.read_at(&mut buf, 0).context("reading threaded")?;
    let was = String::from_utf8_lossy(&buf[..n]).trim().to_string();
    if was != "0" {
        return Ok(None);
    }
    let note = fastnet::restore::Changed::note(iface, "threaded", &was)?;
    let before = napi_kthread_names()?;
    if let Err(e) = file.write_at(b"1", 0) {
        tracing::debug!("{iface}: no threaded NAPI for this receive ({e})");
        return Ok(None);
    }
    // From here on, dropping it puts `threaded` back.
    let mut this = ThreadedForReceive {
        threaded: file,
        pids: Vec::new(),
        lookup: Lookup::Netlink,
        _note: note,
    };
    let (pids, lookup) = kthreads_started(iface, ifindex, &before)?;
    if let Some(core) = core {
        pin(iface, &pids, core)?;
    }
    (this.pids, this.lookup) = (pids, lookup);
    Ok(Some(this))
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
    fn kthreads_are_matched_by_the_whole_device_name() {
        let kthreads: Vec<(u32, String)> = [
            (10, "napi/rx0-8193"),
            (11, "napi/rx0-8194"),
            (12, "napi/rx01-8195"),
            (13, "napi/rx0-x"),
            (14, "napi/rx0-"),
            (15, "napi/gen0-8196"),
            // Cut to 15 bytes by a kernel before 5.17: the start of a long name.
            (16, "napi/averyveryl"),
        ]
        .iter()
        .map(|&(pid, comm)| (pid, comm.to_string()))
        .collect();
        let pids = |iface: &str| -> Vec<Option<u32>> {
            napi_by_name(iface, &kthreads).iter().map(|n| n.pid).collect()
        };
        assert_eq!(pids("rx0"), [Some(10), Some(11)]);
        assert_eq!(napi_by_name("rx0", &kthreads)[0].id, 8193);
        assert_eq!(pids("rx01"), [Some(12)]);
        assert_eq!(pids("gen0"), [Some(15)]);
        assert_eq!(pids("averyverylongnm"), [Some(16)]);
        assert!(pids("rx").is_empty());
    }

    #[test]
    fn truncated_attributes_stop_parsing_instead_of_panicking() {
        let msg = request(0x10, NLM_F_REQUEST, 1, 3, &[(2, b"abcdef")]);
        let mut body = msg[16..].to_vec();
        body.truncate(body.len() - 4);
        assert!(attributes(&body).is_empty());
    }
}
