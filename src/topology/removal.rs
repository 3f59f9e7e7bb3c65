//! Removing labs: `netlab topo down NAME` and `--all` — exactly what netlab made, and what a
//! maker that died half-way left.

use anyhow::Context;
use fastnet::netns::{NamedState, NetNs};

use super::lab::require_privileges;
use super::link::BlockingRtnl;
use super::marker;
use super::plan::{check_lab_name, NETNS_PREFIX};

/// What `netlab topo down` did for one lab.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Removal {
    /// Its namespace, links and marker were removed. `holders`: processes that still had a
    /// thread inside the namespace (it lives on, with no interfaces, until they exit).
    Removed {
        /// Pids of those processes, sorted.
        holders: Vec<u32>,
    },
    /// Only a marker was left (its namespace was already gone); the marker was removed.
    StaleMarker,
    /// `netlab-<name>` was an empty file with no namespace mounted on it and no marker: what a
    /// namespace maker that died half-way leaves. It was removed.
    HalfMade,
    /// No such lab: nothing to do.
    NotFound,
    /// A `netlab-<name>` namespace without netlab's marker: not netlab's, left alone.
    NotNetlabs,
    /// The lab's owner (the `netlab run` measuring in it, or the process building it) is
    /// alive: left alone unless forced.
    InUse {
        /// The owner's pid.
        pid: u32,
    },
}

/// The lab name for `NAME` or `netlab-NAME` as a user may type either.
fn lab_name(name: &str) -> &str {
    match name.strip_prefix(NETNS_PREFIX) {
        Some(short) if !marker::exists(name) => short,
        _ => name,
    }
}

/// Removes lab `name` (or `netlab-<name>`) if netlab made it: its links, namespace and marker.
/// A lab whose owner is alive ([`marker::LabRecord::live_owner`]) is left alone unless `force`.
/// An entry `netlab-<name>` that is a half-made namespace is removed even without a marker.
/// Idempotent.
pub fn down(name: &str, force: bool) -> anyhow::Result<Removal> {
    let name = lab_name(name);
    check_lab_name(name)?;
    require_privileges("removing a lab")?;
    let netns = format!("{NETNS_PREFIX}{name}");
    let state = NetNs::state_of(&netns)?;
    if !marker::exists(name) {
        return match state {
            NamedState::Missing => Ok(Removal::NotFound),
            NamedState::Unmounted => {
                NetNs::remove_named(&netns)
                    .with_context(|| format!("removing the half-made namespace {netns}"))?;
                Ok(Removal::HalfMade)
            }
            NamedState::Namespace | NamedState::Other => Ok(Removal::NotNetlabs),
        };
    }
    // A marker that cannot be read names no owner; the lab is removed all the same. A process
    // may take down its own lab.
    let owner = marker::read(name).ok().flatten().and_then(|r| r.live_owner());
    let owner = owner.filter(|&pid| pid != std::process::id());
    if let (Some(pid), false) = (owner, force) {
        return Ok(Removal::InUse { pid });
    }
    if state == NamedState::Missing {
        marker::remove(name)?;
        return Ok(Removal::StaleMarker);
    }
    let mut holders = Vec::new();
    if state == NamedState::Namespace {
        holders = NetNs::holders(&netns).unwrap_or_default();
        holders.retain(|&pid| pid != std::process::id());
        if let Err(e) = delete_links(&netns) {
            tracing::warn!("deleting the links of {netns}: {e:#}");
        }
    }
    NetNs::remove_named(&netns).map_err(|e| {
        // EBUSY on unlink: a namespace is still mounted on the file in a lower layer, hidden
        // by a bind mount of the whole directory made after it (an older netlab mounted it
        // into a plain directory, then `ip netns add` ran).
        let hidden = if e.raw_os_error() == Some(libc::EBUSY) {
            format!(
                " (still mounted below a later mount of {}: `grep {netns} /proc/self/mountinfo` \
                 shows both)",
                fastnet::netns::NETNS_RUN_DIR
            )
        } else {
            String::new()
        };
        anyhow::Error::new(e).context(format!("removing namespace {netns}{hidden}"))
    })?;
    marker::remove(name)?;
    Ok(Removal::Removed { holders })
}

/// Removes every lab netlab made (all markers) but those in use (unless `force`), and every
/// half-made `netlab-*` namespace; other `netlab-*` namespaces without a marker are reported as
/// [`Removal::NotNetlabs`] and left alone.
pub fn down_all(force: bool) -> anyhow::Result<Vec<(String, Removal)>> {
    require_privileges("removing labs")?;
    let mut done = Vec::new();
    for name in marker::names()? {
        let removal = down(&name, force)?;
        done.push((name, removal));
    }
    for netns in NetNs::list_named()? {
        if let Some(name) = netns.strip_prefix(NETNS_PREFIX) {
            if !done.iter().any(|(n, _)| n == name) && !marker::exists(name) {
                let removal = match NetNs::state_of(&netns)? {
                    NamedState::Unmounted => down(name, force)?,
                    _ => Removal::NotNetlabs,
                };
                done.push((name.to_string(), removal));
            }
        }
    }
    Ok(done)
}

/// Deletes every link but `lo` in namespace `netns`.
fn delete_links(netns: &str) -> anyhow::Result<()> {
    let ns = NetNs::open_named(netns)?;
    let nl = BlockingRtnl::open(Some(&ns))?;
    nl.block_on(async {
        for name in nl.rtnl.names().await? {
            if name != "lo" {
                nl.rtnl.delete(&name).await?;
            }
        }
        Ok(())
    })
}
