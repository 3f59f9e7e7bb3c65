//! Netlab's marker: `/run/netlab/<name>.json`, a record of a lab written before its namespace
//! is made and removed after it is gone. `netlab topo down --all` removes exactly the
//! `netlab-<name>` namespaces that have a marker (and half-made `netlab-*` entries, empty files
//! nothing is mounted on) — never another namespace — and `topo show` lists labs from the
//! markers. The marker names its owner (pid and start time): a lab whose owner is alive is in
//! use, and `topo down` leaves it alone unless forced.

use std::io::Write as _;
use std::path::PathBuf;

use anyhow::Context;
use serde::{Deserialize, Serialize};

use super::spec::{Kind, NapiMode};
use super::LabInterface;

/// Where the markers live (tmpfs: a reboot removes them together with the namespaces).
pub const MARKER_DIR: &str = "/run/netlab";

/// How far a lab got.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LabState {
    /// `up` is (or was, if its process died) building it.
    Building,
    /// Built and running.
    Up,
}

/// What netlab made for one lab: the marker's content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabRecord {
    /// Lab name.
    pub name: String,
    /// The network namespace (`netlab-<name>`).
    pub netns: String,
    /// What the lab is made of.
    pub kind: Kind,
    /// How far it got.
    pub state: LabState,
    /// The process that built it and owns it: `netlab run` while it runs, `netlab topo up`
    /// until it leaves the lab up and exits.
    pub pid: u32,
    /// When that process started (`/proc/<pid>/stat` field 22, clock ticks since boot): tells
    /// the owner from a later process that got the same pid. Absent in older markers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid_start: Option<u64>,
    /// NAPI mode on the receiver.
    pub napi: NapiMode,
    /// Receive core.
    pub rx_core: usize,
    /// Send core.
    pub tx_core: usize,
    /// Its interfaces (empty while building).
    pub interfaces: Vec<LabInterface>,
    /// Pids of the receiver's NAPI kthreads.
    pub napi_pids: Vec<u32>,
}

impl LabRecord {
    /// The interface of `role`, if the lab has one.
    pub fn interface(&self, role: super::Role) -> Option<&super::LabInterface> {
        self.interfaces.iter().find(|i| i.role == role)
    }

    /// Its network namespace's name; `None` for `interface` labs, which live on a host's own
    /// namespace.
    pub fn netns_name(&self) -> Option<&str> {
        (!self.netns.is_empty()).then_some(self.netns.as_str())
    }

    /// The owner's pid if that process is still alive (this one included): the lab is in use
    /// (being built, or measured by `netlab run`) and must not be taken down under it.
    pub fn live_owner(&self) -> Option<u32> {
        let alive = match (start_time(self.pid), self.pid_start) {
            (None, _) => false,
            (Some(now), Some(recorded)) => now == recorded,
            (Some(_), None) => true,
        };
        alive.then_some(self.pid)
    }
}

/// When process `pid` started (clock ticks since boot), `None` when there is no such process.
pub fn start_time(pid: u32) -> Option<u64> {
    fastnet::restore::start_time(pid)
}

/// The marker file of lab `name`.
pub fn path(name: &str) -> PathBuf {
    PathBuf::from(MARKER_DIR).join(format!("{name}.json"))
}

/// Writes (or replaces) the marker of `record.name`, atomically.
pub fn write(record: &LabRecord) -> anyhow::Result<()> {
    std::fs::create_dir_all(MARKER_DIR).with_context(|| format!("creating {MARKER_DIR}"))?;
    let target = path(&record.name);
    let temp =
        PathBuf::from(MARKER_DIR).join(format!(".{}.json.{}", record.name, std::process::id()));
    let json = serde_json::to_vec_pretty(record)?;
    let result = std::fs::File::create(&temp)
        .and_then(|mut f| f.write_all(&json).and_then(|()| f.write_all(b"\n")))
        .and_then(|()| std::fs::rename(&temp, &target));
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result.with_context(|| format!("writing {}", target.display()))
}

/// The marker of lab `name`, `None` when there is none.
pub fn read(name: &str) -> anyhow::Result<Option<LabRecord>> {
    let file = path(name);
    match std::fs::read(&file) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .with_context(|| format!("{} is not a netlab marker", file.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("reading {}", file.display())),
    }
}

/// Whether lab `name` has a marker.
pub fn exists(name: &str) -> bool {
    path(name).exists()
}

/// Removes the marker of lab `name`; missing is fine.
pub fn remove(name: &str) -> anyhow::Result<()> {
    match std::fs::remove_file(path(name)) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(e).with_context(|| format!("removing {}", path(name).display()))
        }
        _ => Ok(()),
    }
}

/// Names of all labs with a marker, sorted.
pub fn names() -> anyhow::Result<Vec<String>> {
    let dir = match std::fs::read_dir(MARKER_DIR) {
        Ok(d) => d,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).with_context(|| format!("listing {MARKER_DIR}")),
    };
    let mut names: Vec<String> = dir
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| !n.starts_with('.'))
        .filter_map(|n| n.strip_suffix(".json").map(str::to_string))
        .collect();
    names.sort();
    Ok(names)
}
