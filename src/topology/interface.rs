//! An interface in a network namespace — the caller's, or a named one as `ip netns` names it:
//! finding it by name ([`find`]), its state, kernel counters and MAC ([`Interface`]), which
//! namespace this process is in ([`Namespace`]), the netlab labs it belongs to ([`labs_with`],
//! [`lab_in`]), and the one wording of "not found" ([`NotFound`]), which each caller renders
//! in its own words: a flag (`-i rx0: …`), a scenario key (`FILE:LINE:COL: topology.receiver:
//! …`) or a field.

use std::fmt;

use anyhow::anyhow;
use fastnet::netns::NetNs;
use macaddr::MacAddr6;

use super::link::{BlockingRtnl, LinkFacts, Rtnl};
use super::marker::{self, LabRecord};
use super::LinkStats;
use crate::exit::{self, bad_input, Code};

/// How many interface names a [`NotFound`] lists.
const MAX_NAMES_LISTED: usize = 8;

/// The network namespace an interface was looked for in, as a message names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Namespace {
    /// The named network namespace (`/run/netns/NAME`).
    Named(String),
    /// The caller's namespace, which is the host's.
    Host,
    /// The caller's namespace, another than the host's: as `/proc` names it (`net:[4026…]`),
    /// when it could be read.
    Own(Option<String>),
}

impl Namespace {
    /// The named namespace `netns`, or the caller's with `None` ([`Namespace::caller`]).
    pub fn of(netns: Option<&str>) -> Namespace {
        netns.map_or_else(Namespace::caller, |ns| Namespace::Named(ns.to_string()))
    }

    /// The calling thread's namespace (a thread may have entered another than its process's).
    pub fn caller() -> Namespace {
        let own = std::fs::read_link("/proc/thread-self/ns/net").ok();
        let host = std::fs::read_link("/proc/1/ns/net").ok();
        match (own, host) {
            (Some(own), Some(host)) if own == host => Namespace::Host,
            (own, _) => Namespace::Own(own.map(|p| p.display().to_string())),
        }
    }
}

impl fmt::Display for Namespace {
    /// `in network namespace `netlab-t1``, `in the host's network namespace`, `in this
    /// process's network namespace net:[4026…]`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Namespace::Named(ns) => write!(f, "in network namespace `{ns}`"),
            Namespace::Host => f.write_str("in the host's network namespace"),
            Namespace::Own(Some(id)) => write!(f, "in this process's network namespace {id}"),
            Namespace::Own(None) => f.write_str("in this process's network namespace"),
        }
    }
}

/// No interface of that name where it was looked for: `no interface named `X` <namespace> (there
/// are: …)`. The caller puts it in its own words (the flag, the scenario key or the field it
/// came from) and adds what only it can suggest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotFound {
    /// The name looked for.
    pub name: String,
    /// Where.
    pub namespace: Namespace,
    /// The interfaces there are there, sorted (empty when they could not be listed).
    pub names: Vec<String>,
}

impl fmt::Display for NotFound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "no interface named `{}` {}", self.name, self.namespace)?;
        if !self.names.is_empty() {
            let listed = &self.names[..self.names.len().min(MAX_NAMES_LISTED)];
            let more = self.names.len() - listed.len();
            let etc = if more > 0 { format!(" and {more} more") } else { String::new() };
            write!(f, " (there are: {}{etc})", listed.join(", "))?;
        }
        Ok(())
    }
}

impl std::error::Error for NotFound {}

/// An interface that exists, as the kernel described it when it was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interface {
    /// Where it is.
    pub namespace: Namespace,
    /// What the kernel says of it.
    pub facts: LinkFacts,
}

impl Interface {
    /// Administratively up (`IFF_UP`).
    pub fn up(&self) -> bool {
        self.facts.up
    }

    /// What to say of it when it is down, the caller adding what lets it through:
    /// `interface `X` <namespace> is down (`ip link set X up`)`.
    pub fn down(&self) -> String {
        let name = &self.facts.name;
        format!("interface `{name}` {} is down (`ip link set {name} up`)", self.namespace)
    }

    /// Its kernel counters (`stats64`).
    pub fn stats(&self) -> anyhow::Result<LinkStats> {
        self.facts
            .stats
            .ok_or_else(|| anyhow!("the kernel reported no stats64 for {}", self.facts.name))
    }

    /// Its MAC address; an interface without one is bad input naming it.
    pub fn mac(&self) -> anyhow::Result<MacAddr6> {
        match self.facts.mac {
            Some(mac) if !mac.is_nil() => Ok(mac),
            _ => Err(bad_input(format!(
                "interface `{}` {} has no MAC address",
                self.facts.name, self.namespace
            ))),
        }
    }
}

/// Interface `name` in the named network namespace `netns`, or in the caller's with `None`:
/// `Ok(Err(NotFound))` when there is none. A missing namespace is bad input; a namespace this
/// process may not enter is a privilege error that says so.
pub fn find(netns: Option<&str>, name: &str) -> anyhow::Result<Result<Interface, NotFound>> {
    let namespace = Namespace::of(netns);
    let nl = connect(netns).map_err(|e| {
        if netns.is_some() && exit::code_for(&e) == Code::Privilege {
            exit::privilege(format!(
                "looking for {name} {namespace}: {e:#}: entering a network namespace needs root \
                 (CAP_SYS_ADMIN): run with sudo"
            ))
        } else {
            e
        }
    })?;
    nl.block_on(look(&nl.rtnl, name, namespace))
}

/// A netlink connection in the named namespace `netns`, or the caller's with `None`.
fn connect(netns: Option<&str>) -> anyhow::Result<BlockingRtnl> {
    let ns = match netns {
        Some(ns) => Some(NetNs::open_named(ns).map_err(|e| match e {
            fastnet::Error::InvalidConfig { why, .. } => bad_input(why),
            other => {
                anyhow::Error::new(other).context(format!("cannot open network namespace `{ns}`"))
            }
        })?),
        None => None,
    };
    BlockingRtnl::open(ns.as_ref())
}

/// Interface `name` in the calling thread's namespace, which `namespace` describes (a thread that
/// entered a lab's namespace names it): as [`find`].
pub fn find_here(name: &str, namespace: Namespace) -> anyhow::Result<Result<Interface, NotFound>> {
    let nl = BlockingRtnl::open(None)?;
    nl.block_on(look(&nl.rtnl, name, namespace))
}

/// Interface `name` over `rtnl`, a connection in the namespace `namespace` describes: as [`find`],
/// for async code.
pub(crate) async fn look(
    rtnl: &Rtnl,
    name: &str,
    namespace: Namespace,
) -> anyhow::Result<Result<Interface, NotFound>> {
    if let Some(facts) = rtnl.link(name).await? {
        return Ok(Ok(Interface { namespace, facts }));
    }
    let mut names = rtnl.names().await.unwrap_or_default();
    names.sort_unstable();
    Ok(Err(NotFound { name: name.to_string(), namespace, names }))
}

/// As [`find`], with "not found" as bad input in the words of [`NotFound`].
pub fn require(netns: Option<&str>, name: &str) -> anyhow::Result<Interface> {
    find(netns, name)?.map_err(|missing| bad_input(missing.to_string()))
}

/// Kernel counters (`stats64`) of interface `name` in `netns` (see [`find`]), read now. A
/// missing namespace or interface is bad input.
pub fn stats(netns: Option<&str>, name: &str) -> anyhow::Result<LinkStats> {
    require(netns, name)?.stats()
}

/// The MAC address of interface `name` in `netns` (see [`find`]). A missing namespace or
/// interface, or an interface without a MAC address, is bad input naming it.
pub fn mac(netns: Option<&str>, name: &str) -> anyhow::Result<MacAddr6> {
    require(netns, name)?.mac()
}

/// The labs (from their markers) that have an interface named `name`: where a user who forgot
/// the namespace most likely meant to look.
pub fn labs_with(name: &str) -> Vec<LabRecord> {
    labs().filter(|r| !r.netns.is_empty() && r.interfaces.iter().any(|i| i.name == name)).collect()
}

/// The lab whose namespace is `netns`, if netlab made it.
pub fn lab_in(netns: &str) -> Option<LabRecord> {
    labs().find(|r| r.netns == netns)
}

/// Every lab with a readable marker.
fn labs() -> impl Iterator<Item = LabRecord> {
    marker::names().unwrap_or_default().into_iter().filter_map(|n| marker::read(&n).ok().flatten())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_interface_is_bad_input_naming_it_and_those_there_are() {
        let err = mac(None, "no-such-if0").unwrap_err();
        let text = format!("{err:#}");
        assert!(text.starts_with("no interface named `no-such-if0` in "), "{text}");
        assert!(text.contains("(there are: ") && text.contains("lo"), "{text}");
        assert_eq!(exit::code_for(&err), Code::BadInput);
    }

    #[test]
    fn unknown_namespace_is_bad_input_naming_it() {
        let err = mac(Some("netlab-no-such-ns"), "lo").unwrap_err();
        assert!(format!("{err:#}").contains("netlab-no-such-ns"), "{err:#}");
        assert_eq!(exit::code_for(&err), Code::BadInput);
    }

    #[test]
    fn not_found_lists_at_most_eight_names() {
        let missing = NotFound {
            name: "eth9".into(),
            namespace: Namespace::Named("netlab-t1".into()),
            names: (0..10).map(|i| format!("if{i}")).collect(),
        };
        assert_eq!(
            missing.to_string(),
            "no interface named `eth9` in network namespace `netlab-t1` (there are: if0, if1, \
             if2, if3, if4, if5, if6, if7 and 2 more)"
        );
        let bare = NotFound { names: Vec::new(), ..missing };
        assert_eq!(bare.to_string(), "no interface named `eth9` in network namespace `netlab-t1`");
    }
}
