//! The receive methods a scenario (and `netlab recv -m`) can name.

use std::fmt;
use std::str::FromStr;

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
        match self {
            Method::Socket => "socket",
            Method::Pcap => "pcap",
            Method::FastnetRead => "fastnet:1",
            Method::FastnetBatch => "fastnet:2",
            Method::FastnetMmap => "fastnet:mmap",
            Method::FastnetXdp => "fastnet:3",
            Method::XdpDrop => "xdp-drop",
            Method::Exec => "exec",
        }
    }

    /// The other names it answers to (`fastnet:read`, `fastnet:batch`, `fastnet:xdp`).
    pub fn aliases(self) -> &'static [&'static str] {
        match self {
            Method::FastnetRead => &["fastnet:read"],
            Method::FastnetBatch => &["fastnet:batch"],
            Method::FastnetXdp => &["fastnet:xdp"],
            _ => &[],
        }
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
        let suggestion = crate::scenario::closest(name, names())
            .map(|s| format!("; did you mean `{s}`?"))
            .unwrap_or_default();
        Err(UnknownMethod { name: name.to_string(), suggestion })
    }

    /// `socket, pcap, fastnet:1 (fastnet:read), …` for error messages and `--help`.
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
}
