//! The receive methods: what each is called, the knobs it takes and their limits, how it opens,
//! where its kernel drops are counted, and its help row — one file per method, each
//! implementing [`ReceiveMethod`], registered in [`Method::descriptor`].
//!
//! This room sits below `scenario` (which reads method names and knobs from files), `receiver`
//! (which runs an opened method on a pinned thread) and `runner` (which reads its drops); it
//! imports none of them.
//!
//! | file | method |
//! |---|---|
//! | [`socket`] | `socket`: pnet's datalink channel |
//! | [`pcap`] | `pcap`: libpcap |
//! | `fastnet_read.rs`, `fastnet_batch.rs`, `fastnet_mmap.rs` | `fastnet:1`, `fastnet:2`, `fastnet:mmap` |
//! | `fastnet_xdp.rs` | `fastnet:3` (AF_XDP) |
//! | `xdp_drop.rs` | `xdp-drop` |
//! | `exec.rs` | `exec`: the user's program (run by `crate::receiver::exec`) |

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use fastnet::rx::Receive;

use crate::exit::{bad_field, Field, Section};
use crate::location::closest;

mod config;
mod exec;
mod fastnet_batch;
mod fastnet_mmap;
mod fastnet_read;
mod fastnet_xdp;
pub mod pcap;
pub mod socket;
mod xdp_drop;

pub use config::{
    parse_xdp_mode, parse_zero_copy, RecvConfig, Wait, WriteTo, XDP_MODES, ZERO_COPY,
};
pub use exec::PLACEHOLDERS;

/// How long one `receive` call may wait when idle: bounds how late a receiver notices a stop.
pub const IDLE_WAIT: Duration = Duration::from_millis(50);

/// UMEM frame size used for `fastnet:3`: `buffer` is divided by it.
pub const XDP_FRAME_SIZE: u32 = 2048;

/// A receiver knob that only some methods use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Knob {
    /// `buffer`: bytes of the socket buffer, ring or UMEM.
    Buffer,
    /// `batch`: frames per receive call or ring pass.
    Batch,
    /// `frames`: ring entries.
    Frames,
    /// `wait = "busy"` (every method can be told to poll).
    BusyWait,
    /// `write`: save what was received; frames must reach netlab for that.
    Write,
    /// `command`: the program to run (`exec`).
    Command,
    /// `max_delay`: how long frames may gather between drains.
    MaxDelay,
    /// `xdp_mode`: where the XDP program runs, when not left to the driver (`auto`).
    XdpMode,
    /// `zero_copy`: how the AF_XDP socket binds, when not left to the driver (`auto`).
    ZeroCopy,
}

impl Knob {
    /// Every knob, in the order help lists them.
    pub const ALL: [Knob; 9] = [
        Knob::Buffer,
        Knob::Batch,
        Knob::Frames,
        Knob::BusyWait,
        Knob::MaxDelay,
        Knob::XdpMode,
        Knob::ZeroCopy,
        Knob::Write,
        Knob::Command,
    ];

    /// Its key in a `[[receiver]]` table (`buffer`; `wait` for busy waiting).
    pub fn key(self) -> &'static str {
        match self {
            Knob::Buffer => "buffer",
            Knob::Batch => "batch",
            Knob::Frames => "frames",
            Knob::BusyWait => "wait",
            Knob::Write => "write",
            Knob::Command => "command",
            Knob::MaxDelay => "max_delay",
            Knob::XdpMode => "xdp_mode",
            Knob::ZeroCopy => "zero_copy",
        }
    }

    /// How a message names it (`wait = "busy"` for the one value some methods refuse).
    pub fn written(self) -> &'static str {
        match self {
            Knob::BusyWait => "wait = \"busy\"",
            other => other.key(),
        }
    }

    /// The receiver field it is.
    pub fn field(self) -> Field {
        Field::new(Section::Receiver, self.key())
    }

    /// Whether `method` takes this knob (its descriptor's [`ReceiveMethod::knobs`]).
    pub fn used_by(self, method: Method) -> bool {
        method.descriptor().knobs().iter().any(|k| k.knob == self)
    }

    /// The methods that take it, by canonical name, in the lesson's order.
    pub fn users(self) -> Vec<&'static str> {
        Method::all().iter().filter(|m| self.used_by(**m)).map(|m| m.name()).collect()
    }
}

/// A knob a method takes, and what it sets there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KnobUse {
    /// The knob.
    pub knob: Knob,
    /// What it sets in this method (`SO_RCVBUF`).
    pub sets: &'static str,
}

/// Where the kernel counts the frames a method's socket or ring dropped: the kernel's buffer
/// between the interface and the application, one stage of a point's loss budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DropStage {
    /// An AF_PACKET socket read a frame at a time (its receive buffer, `SO_RCVBUF`, full):
    /// `PACKET_STATISTICS` `tp_drops`, as `socket_frames`.
    SocketBuffer,
    /// An AF_PACKET TPACKET ring mapped into the program (libpcap's, fastnet's), full:
    /// `PACKET_STATISTICS` `tp_drops` (`pcap_stats` `ps_drop`), as `socket_frames`.
    PacketRing,
    /// The AF_XDP socket's rings (`XDP_STATISTICS`): its rx ring full, or no UMEM frame to
    /// take the packet (fill ring empty), as `xdp_rx_dropped_frames`; fill-ring-empty events
    /// also as `xdp_fill_ring_empty_frames` (the same frames, not more).
    Xsk,
    /// None: the kernel or the program counts what it got, and nothing drops in between.
    None,
}

/// What the kernel facility a method needs is called, for "unsupported" messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Facility {
    /// Plain sockets: every kernel has them.
    Socket,
    /// AF_XDP sockets.
    AfXdp,
    /// BPF programs attached at XDP.
    BpfXdp,
}

/// Everything about one receive method. Adding a method: one file implementing this, one
/// variant of [`Method`] and its arm in [`Method::descriptor`].
pub trait ReceiveMethod: Sync {
    /// The canonical name (results files record it).
    fn name(&self) -> &'static str;
    /// Other names it answers to.
    fn aliases(&self) -> &'static [&'static str] {
        &[]
    }
    /// How it receives, one line (help and the README's methods table).
    fn mechanism(&self) -> &'static str;
    /// Where it is implemented (the README's methods table).
    fn source(&self) -> &'static str;
    /// The knobs it takes, and what each sets (help and the README's methods table).
    fn knobs(&self) -> &'static [KnobUse];
    /// The smallest `buffer` that holds one frame, bytes (for methods that take a buffer).
    fn min_buffer(&self) -> u64 {
        4096
    }
    /// Checks the knobs' values against the method's own limits without opening anything
    /// (the knobs it does not take were refused before). Errors are [`bad_field`]s.
    fn check(&self, _config: &RecvConfig) -> anyhow::Result<()> {
        Ok(())
    }
    /// Opens it on `iface` in the calling thread's namespace; `None` for a method that is a
    /// program rather than a socket (`exec`).
    fn open(&self, iface: &str, config: &RecvConfig) -> Option<fastnet::Result<Box<dyn Receive>>>;
    /// Where its kernel drops are counted.
    fn drop_stage(&self) -> DropStage;
    /// The kernel facility it needs.
    fn facility(&self) -> Facility {
        Facility::Socket
    }
}

/// A receive method. Its canonical name ([`Display`](fmt::Display)) is what results files
/// record; [`Method::parse`] also takes the aliases (`fastnet:read`, `fastnet:batch`,
/// `fastnet:xdp`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Method {
    /// `socket`: AF_PACKET through pnet's datalink channel, poll + recvfrom per frame.
    Socket,
    /// `pcap`: libpcap through the pcap crate (TPACKET_V3 ring inside libpcap).
    Pcap,
    /// `fastnet:1` (`fastnet:read`): AF_PACKET, one `recv` per frame, one copy.
    FastnetRead,
    /// `fastnet:2` (`fastnet:batch`): `recvmmsg`, many frames per syscall.
    FastnetBatch,
    /// `fastnet:mmap`: PACKET_RX_RING TPACKET_V3 walked in place.
    FastnetMmap,
    /// `fastnet:3` (`fastnet:xdp`): AF_XDP, the driver writes into the program's UMEM.
    FastnetXdp,
    /// `xdp-drop`: counts and drops in an XDP program, no userspace — the ceiling.
    XdpDrop,
    /// `exec`: a user's own receiver program, which prints `RESULT-RX`/`RESULT-IP` lines.
    Exec,
}

/// A name that is not a receive method.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown method `{name}`{suggestion} (valid: {valid})", valid = Method::valid_names())]
pub struct UnknownMethod {
    /// The name as written.
    pub name: String,
    /// `; did you mean `…`?` or empty.
    suggestion: String,
}

impl Method {
    /// Its descriptor: the registry of methods.
    pub fn descriptor(self) -> &'static dyn ReceiveMethod {
        match self {
            Method::Socket => &socket::SocketMethod,
            Method::Pcap => &pcap::Pcap,
            Method::FastnetRead => &fastnet_read::FastnetRead,
            Method::FastnetBatch => &fastnet_batch::FastnetBatch,
            Method::FastnetMmap => &fastnet_mmap::FastnetMmap,
            Method::FastnetXdp => &fastnet_xdp::FastnetXdp,
            Method::XdpDrop => &xdp_drop::XdpDrop,
            Method::Exec => &exec::Exec,
        }
    }

    /// Every method, in the order of the lesson (slowest first; `exec` last).
    pub fn all() -> &'static [Method] {
        &[
            Method::Socket,
            Method::FastnetRead,
            Method::FastnetBatch,
            Method::Pcap,
            Method::FastnetMmap,
            Method::FastnetXdp,
            Method::XdpDrop,
            Method::Exec,
        ]
    }

    /// The canonical name: `socket`, `pcap`, `fastnet:1`, `fastnet:2`, `fastnet:mmap`,
    /// `fastnet:3`, `xdp-drop`, `exec`.
    pub fn name(self) -> &'static str {
        self.descriptor().name()
    }

    /// The other names it answers to (`fastnet:read`, `fastnet:batch`, `fastnet:xdp`).
    pub fn aliases(self) -> &'static [&'static str] {
        self.descriptor().aliases()
    }

    /// Reads a method name or alias (case-sensitive); an unknown name gets a "did you mean" and
    /// the list of valid names.
    pub fn parse(name: &str) -> Result<Method, UnknownMethod> {
        let names = || {
            Method::all()
                .iter()
                .flat_map(|m| std::iter::once(m.name()).chain(m.aliases().iter().copied()))
        };
        if let Some(m) =
            Method::all().iter().find(|m| m.name() == name || m.aliases().contains(&name))
        {
            return Ok(*m);
        }
        let suggestion =
            closest(name, names()).map(|s| format!("; did you mean `{s}`?")).unwrap_or_default();
        Err(UnknownMethod { name: name.to_string(), suggestion })
    }

    /// `socket, pcap, fastnet:1 (fastnet:read), …` for error messages and help.
    pub fn valid_names() -> String {
        Method::all()
            .iter()
            .map(|m| match m.aliases() {
                [] => m.name().to_string(),
                aliases => format!("{} ({})", m.name(), aliases.join(", ")),
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Opens `method` on `iface` in the calling thread's namespace, after checking its knobs.
/// Not for `exec`, which is a program rather than a socket (`crate::receiver::start` runs it).
pub fn open(method: Method, iface: &str, config: &RecvConfig) -> anyhow::Result<Box<dyn Receive>> {
    config.validate(method)?;
    match method.descriptor().open(iface, config) {
        Some(opened) => opened.map_err(|e| classify(method, iface, e)),
        None => Err(anyhow::anyhow!("method `{method}` runs a program, not a socket")),
    }
}

/// Turns a fastnet error into one line naming the method and interface, classified for the
/// exit code.
fn classify(method: Method, iface: &str, err: fastnet::Error) -> anyhow::Error {
    use crate::exit;
    let errno = err.raw_os_error();
    let facility = method.descriptor().facility();
    match err {
        // The callers found the interface before opening (`crate::topology::interface`); one
        // gone since is said in fastnet's words.
        fastnet::Error::NoSuchInterface(_) | fastnet::Error::InvalidConfig { .. } => {
            exit::bad_input(format!("{method}: {err}"))
        }
        fastnet::Error::Unsupported { .. } => exit::unsupported(format!(
            "{method} on {iface}: {err} — `netlab doctor` explains what this machine lacks"
        )),
        _ if matches!(errno, Some(libc::EPERM) | Some(libc::EACCES)) => exit::privilege(format!(
            "{method} on {iface}: {err} — run as root (CAP_NET_RAW, CAP_NET_ADMIN, CAP_BPF)"
        )),
        _ if facility != Facility::Socket
            && matches!(errno, Some(libc::EOPNOTSUPP) | Some(libc::ENOSYS)) =>
        {
            let what = if facility == Facility::AfXdp { "AF_XDP" } else { "BPF/XDP" };
            exit::unsupported(format!(
                "{method} on {iface}: {what} unavailable ({err}) — `netlab doctor` explains"
            ))
        }
        // EBUSY means another XDP program only when attaching one said it; a busy mount, a
        // busy queue or a busy file is another story, told by the error itself.
        fastnet::Error::Syscall(fastnet::SyscallError { call, .. })
            if call.contains("BPF_LINK_CREATE") && errno == Some(libc::EBUSY) =>
        {
            exit::bad_input(format!(
                "{method} on {iface}: {err} — the interface already has an XDP program"
            ))
        }
        _ => anyhow::Error::new(err).context(format!("{method} on {iface}")),
    }
}

/// The AF_PACKET receivers' settings from the knobs (`fastnet:1`, `fastnet:2`,
/// `fastnet:mmap`): what their `check` checks and their `open` opens.
fn afpacket_config(config: &RecvConfig) -> fastnet::afpacket::RxConfig {
    let mut rx = fastnet::afpacket::RxConfig { wait: config.wait.into(), ..Default::default() };
    if let Some(bytes) = config.buffer {
        rx.buffer = Some(usize::try_from(bytes).unwrap_or(usize::MAX));
    }
    if let Some(b) = config.batch {
        rx.batch = b;
    }
    rx
}

/// A fastnet `InvalidConfig` of an AF_PACKET receiver, as an error about the knob at fault.
fn afpacket_error(err: fastnet::Error) -> anyhow::Error {
    match err {
        fastnet::Error::InvalidConfig { what, why } => {
            let knob = if what == "batch" { Knob::Batch } else { Knob::Buffer };
            bad_field(knob.field(), format!("{what}: {why}"))
        }
        other => anyhow::Error::new(other),
    }
}

/// The README's methods table (Markdown), from the descriptors.
pub fn methods_table() -> String {
    let mut out = String::from(
        "| method | mechanism | `buffer` sets | other knobs | implemented in |\n|---|---|---|---|---|\n",
    );
    for m in Method::all() {
        let d = m.descriptor();
        let name = match d.aliases() {
            [] => format!("`{}`", d.name()),
            aliases => format!(
                "`{}` ({})",
                d.name(),
                aliases.iter().map(|a| format!("`{a}`")).collect::<Vec<_>>().join(", ")
            ),
        };
        let sets = |knob: Knob| d.knobs().iter().find(|k| k.knob == knob).map(|k| k.sets);
        let others: Vec<String> = d
            .knobs()
            .iter()
            .filter(|k| !matches!(k.knob, Knob::Buffer | Knob::Write))
            .map(|k| format!("`{}`: {}", k.knob.written(), k.sets))
            .collect();
        out.push_str(&format!(
            "| {name} | {} | {} | {} | `{}` |\n",
            d.mechanism(),
            sets(Knob::Buffer).unwrap_or("—"),
            if others.is_empty() { "—".to_string() } else { others.join("; ") },
            d.source()
        ));
    }
    out
}

/// What each knob sets, per method, as plain text (`netlab recv --help`), from the
/// descriptors.
pub fn knobs_help() -> String {
    let mut out = String::new();
    for knob in Knob::ALL {
        out.push_str(&format!("{}:\n", knob.written()));
        for m in Method::all() {
            if let Some(k) = m.descriptor().knobs().iter().find(|k| k.knob == knob) {
                out.push_str(&format!("  {:<14} {}\n", m.name(), k.sets));
            }
        }
    }
    out
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Method {
    type Err = UnknownMethod;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Method::parse(s)
    }
}

impl serde::Serialize for Method {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de> serde::Deserialize<'de> for Method {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Method::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_aliases_round_trip() {
        for m in Method::all() {
            assert_eq!(Method::parse(m.name()), Ok(*m));
            assert_eq!(m.to_string().parse::<Method>(), Ok(*m));
            for alias in m.aliases() {
                assert_eq!(Method::parse(alias), Ok(*m));
            }
        }
        assert_eq!(Method::parse("fastnet:xdp"), Ok(Method::FastnetXdp));
        assert_eq!(Method::all().len(), 8);
    }

    #[test]
    fn unknown_method_lists_valid_ones_and_suggests() {
        let e = Method::parse("fastnet:4").unwrap_err().to_string();
        assert!(e.starts_with("unknown method `fastnet:4`; did you mean `fastnet:"), "{e}");
        assert!(e.contains("valid: socket, fastnet:1 (fastnet:read), fastnet:2"), "{e}");
        let e = Method::parse("pacp").unwrap_err().to_string();
        assert!(e.contains("did you mean `pcap`?"), "{e}");
        let e = Method::parse("carrier-pigeon").unwrap_err().to_string();
        assert!(!e.contains("did you mean"), "{e}");
        assert!(Method::parse("PCAP").is_err());
    }

    #[test]
    fn every_registered_method_has_a_help_row_and_a_knob_table() {
        let table = methods_table();
        let help = knobs_help();
        for m in Method::all() {
            let d = m.descriptor();
            assert_eq!(d.name(), m.name());
            assert!(!d.mechanism().trim().is_empty(), "{m}: no mechanism");
            assert!(!d.source().trim().is_empty(), "{m}: no source");
            assert!(table.contains(&format!("| `{}`", d.name())), "{m}: no row in\n{table}");
            for k in d.knobs() {
                assert!(!k.sets.trim().is_empty(), "{m}: knob {:?} says nothing", k.knob);
                assert!(
                    help.contains(&format!("  {:<14} {}", m.name(), k.sets)),
                    "{m}: {:?} missing from the knob help",
                    k.knob
                );
            }
            // A method that takes a buffer says what its smallest one is.
            if Knob::Buffer.used_by(*m) {
                assert!(d.min_buffer() > 0);
            }
        }
        assert_eq!(table.lines().count(), Method::all().len() + 2);
    }

    #[test]
    fn knobs_are_the_descriptors_own() {
        assert_eq!(Knob::Batch.users(), ["fastnet:2", "fastnet:3"]);
        assert_eq!(Knob::Frames.users(), ["fastnet:3"]);
        assert_eq!(Knob::XdpMode.users(), ["fastnet:3", "xdp-drop"]);
        assert_eq!(Knob::ZeroCopy.users(), ["fastnet:3"]);
        assert_eq!(Knob::Command.users(), ["exec"]);
        assert!(!Knob::Buffer.used_by(Method::XdpDrop));
        assert!(!Knob::Write.used_by(Method::Exec));
    }
}
