//! A scenario as written ([`schema`](super::schema)) checked into a [`Scenario`], one TOML
//! table after another: the small ones here (`name`, `[topology]`'s cores, `[run]`), each other
//! table in its own file (`[packet]`, `[generator]`, `[[receiver]]`, `[search]`, and `[hosts]`
//! with where `[topology]` places the roles). The first problem found is the error, located at
//! the value it is about.

use std::path::Path;
use std::time::Duration;

use toml::Spanned;

use super::locate::Source;
use super::schema::{RawRun, RawScenario};
use super::{
    base_dir, parse_duration, HostSpec, Place, Placement, RunSpec, Scenario, ScenarioError,
};
use crate::topology::TopologySpec;

mod generator;
mod hosts;
mod packet;
mod receiver;
mod search;

const DEFAULT_DRAIN: Duration = Duration::from_millis(200);
const DEFAULT_RETRIES: u32 = 2;

/// `raw`, read from the scenario file `path` whose text is `text`, checked table by table.
pub(super) fn validate(
    source: &Source<'_>,
    path: &Path,
    text: &str,
    raw: RawScenario,
) -> Result<Scenario, ScenarioError> {
    let name = name(source, &raw.name)?;
    let (hosts, placement) = hosts::hosts(source, &raw)?;
    cores(source, &raw.topology, &hosts, &placement)?;
    let dir = base_dir(path);
    let packet = packet::packet(source, dir, raw.packet)?;
    let known_targets = search::targets(source, raw.search.as_ref())?;
    let (generator, targets) = generator::generator(source, raw.generator, &known_targets)?;
    let receivers = receiver::receivers(source, dir, raw.receiver)?;
    let run = run(source, raw.run)?;
    let search = search::spec(source, raw.search.as_ref(), targets, &generator)?;
    Ok(Scenario {
        path: path.to_path_buf(),
        name,
        description: raw.description,
        topology: raw.topology,
        packet,
        generator,
        receivers,
        run,
        search,
        hosts,
        placement,
        source: text.to_string(),
    })
}

/// `name`: letters, digits, `.`, `_`, `-`, not starting with a dot.
fn name(source: &Source<'_>, name: &Spanned<String>) -> Result<String, ScenarioError> {
    let text = name.get_ref();
    if text.is_empty()
        || text.starts_with('.')
        || !text.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
    {
        return Err(source.error(
            Some(name.span()),
            format!("`{text}` is not a scenario name (letters, digits, `.`, `_`, `-`; it names the results directory)"),
        ));
    }
    Ok(text.clone())
}

/// `topology.rx_core` and `tx_core`: a core of this machine, when the role runs here.
fn cores(
    source: &Source<'_>,
    topology: &TopologySpec,
    hosts: &[HostSpec],
    placement: &Placement,
) -> Result<(), ScenarioError> {
    let local = |name: &str| hosts.iter().any(|h| h.name == name && h.place == Place::Local);
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    for (key, core, host) in [
        ("rx_core", topology.rx_core, &placement.receiver),
        ("tx_core", topology.tx_core, &placement.generator),
    ] {
        // Another host's cores are its own to check, when it plans the lab.
        if let Some(core) = core.filter(|c| *c >= cores && local(host)) {
            return Err(source.error_at_key(
                &["topology", key],
                format!("core {core} does not exist: this machine has cores 0 to {}", cores - 1),
            ));
        }
    }
    Ok(())
}

/// `[run]`.
fn run(source: &Source<'_>, raw: RawRun) -> Result<RunSpec, ScenarioError> {
    let repeat = positive(source, raw.repeat, "repeat")?.unwrap_or(1);
    let drain = match &raw.drain {
        None => DEFAULT_DRAIN,
        Some(d) => {
            parse_duration(d.get_ref()).map_err(|e| source.error(Some(d.span()), e.to_string()))?
        }
    };
    let retries = raw.retries.map_or(DEFAULT_RETRIES, Spanned::into_inner);
    Ok(RunSpec { repeat, order: raw.order, drain, seed: raw.seed, retries })
}

/// A count that must be at least 1.
fn positive(
    source: &Source<'_>,
    value: Option<Spanned<u32>>,
    key: &str,
) -> Result<Option<u32>, ScenarioError> {
    match value {
        Some(v) if *v.get_ref() == 0 => {
            Err(source.error(Some(v.span()), format!("`{key}` must be at least 1")))
        }
        other => Ok(other.map(Spanned::into_inner)),
    }
}
