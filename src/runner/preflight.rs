//! Everything `netlab run` checks before it builds anything — the one function `netlab check`
//! calls too, so `check` refuses every scenario `run` would refuse before building its lab.
//!
//! In order: the scenario file ([`Scenario::load`]), the packet file, every receiver's knobs
//! against its method's limits and its `exec` program (found, executable, placeholders known),
//! the lab plan (names, MTU, queues, cores, MACs), the interfaces of an `interface` lab that
//! this machine's roles use (they must exist here; another host's are its own to check, when
//! `run` reaches it), the generator at every rate (its knobs, and a
//! `batch` every engine `auto` may pick there takes) — for a search, at both ends of its range
//! and at top speed. Every problem with a field of the scenario
//! is one line `FILE:LINE:COL: key.path: …`.
//!
//! Then, as `run` does them: the privileges ([`privileges`], exit 3) and a results directory
//! that can be written ([`results_writable`]). `netlab check` tries the directory only when it
//! holds the privileges `run` needs: what root may write is not what another user may.

use std::path::Path;

use anyhow::Context as _;

use crate::exit::{self, bad_input, field_of, Field, Section};
use crate::generator::engine::planned_choice;
use crate::generator::{EngineKind, GeneratorConfig, DEFAULT_BURST};
use crate::packet::{read_frames, Frame};
use crate::privilege::{self, Capability};
use crate::receiver::RecvConfig;
use crate::scenario::{Rate, Scenario};
use crate::topology::{Kind, NapiMode, Plan};

use super::{measure, receivers};

/// A scenario that passed every check `netlab run` makes before building.
#[derive(Debug)]
pub struct Checked {
    /// The scenario.
    pub scenario: Scenario,
    /// The frames of its packet file.
    pub frames: Vec<Frame>,
    /// One receiver configuration per `[[receiver]]`, in file order.
    pub configs: Vec<RecvConfig>,
    /// The lab to build.
    pub plan: Plan,
}

/// Checks the scenario `file` for a lab named `lab_name` (default: the scenario's `name`),
/// building nothing (see the module docs).
pub fn check(file: &Path, lab_name: Option<&str>) -> anyhow::Result<Checked> {
    let scenario = Scenario::load(file)?;
    let frames = read_frames(&scenario.packet.file)?;
    let configs = receivers::configs(&scenario)?;
    let cpus = fastnet::cpu::online_cpus().context("counting the online CPUs")?;
    let name = lab_name.unwrap_or(&scenario.name);
    // Cores of another machine are its own to check, when it plans its part of the lab.
    let mut topology = scenario.topology.clone();
    if scenario.is_remote() {
        (topology.rx_core, topology.tx_core) = (None, None);
    }
    let apart = scenario.placement.generator != scenario.placement.receiver;
    let plan = Plan::placed(&topology, name, cpus, apart).map_err(|e| {
        // A lab name given on the command line is the command line's to render.
        match field_of(&e) {
            Some(c)
                if lab_name.is_some()
                    && c.field.as_ref().is_some_and(|f| f.section == Section::Top) =>
            {
                e
            }
            _ => scenario.locate(e, 0),
        }
    })?;
    if plan.kind == Kind::Interface {
        local_interfaces_exist(&scenario, &plan)?;
    }
    let peer_napi = match plan.kind {
        Kind::Interface => None,
        Kind::Veth | Kind::Bridge => Some(plan.napi == NapiMode::Threaded),
    };
    // A search's trials range from its lower bound to its upper one (or top speed).
    let mut rates = scenario.generator.rates.clone();
    if let Some(search) = &scenario.search {
        rates.push(Rate::Pps(search.lower_pps));
        rates.push(search.upper_pps.map_or(Rate::Max, Rate::Pps));
        rates.push(Rate::Max);
    }
    for rate in &rates {
        let mut config = GeneratorConfig::new("", frames.clone(), measure::pace(*rate));
        config.batch = scenario.generator.batch.map(|b| b as usize);
        config.burst = scenario.generator.burst.map(|b| b as usize);
        config.engine = scenario.generator.engine;
        config.duration = Some(scenario.generator.duration);
        config.validate().and_then(|()| config.check_batch_for_auto(peer_napi)).map_err(|e| {
            match field_of(&e).and_then(|c| Some((c.field.clone()?, &c.message))) {
                Some((field, message)) => bad_input(
                    scenario.field_error(&field, 0, format!("{message} (at {rate})")).to_string(),
                ),
                None => e.context(format!("{}: [generator] at {rate}", scenario.path.display())),
            }
        })?;
    }
    Ok(Checked { scenario, frames, configs, plan })
}

/// The engine `run` will send with at each of the scenario's rates (and its searches' trials,
/// at their lowest rate and at top speed), and why — decided by this kernel's answer
/// ([`planned_choice`]) when the generator runs on this machine, `None` when it runs on another
/// (that host's kernel decides). Needs the privileges `run` needs (the probe loads a BPF
/// program). An engine the scenario names that this kernel cannot send with is refused here,
/// before anything is built: exit 4, located at `generator.engine`, with the kernel's reason.
pub fn engines(checked: &Checked) -> anyhow::Result<Option<Vec<(Rate, EngineKind, String)>>> {
    let s = &checked.scenario;
    if s.host(&s.placement.generator).is_some_and(|h| h.place != crate::scenario::Place::Local) {
        return Ok(None);
    }
    let burst = s.generator.burst.map_or(DEFAULT_BURST, |b| b as usize);
    let frame_len = checked.frames.first().map_or(0, |f| f.data.len());
    let mut rates = s.generator.rates.clone();
    if let Some(search) = &s.search {
        for rate in [Rate::Pps(search.lower_pps), Rate::Max] {
            if !rates.contains(&rate) {
                rates.push(rate);
            }
        }
    }
    let mut planned = Vec::new();
    for rate in rates {
        let paced_fps = rate.pps(frame_len).map(|pps| pps.round() as u64);
        let (kind, why) = planned_choice(s.generator.engine, paced_fps, burst).map_err(|why| {
            let located = s.field_error(&Field::new(Section::Generator, "engine"), 0, why);
            exit::unsupported(located.to_string())
        })?;
        planned.push((rate, kind, why));
    }
    Ok(Some(planned))
}

/// Bad input, located at the role's key, unless every interface an `interface` lab's roles on
/// this machine name exists here (read over rtnetlink, which needs no privileges).
fn local_interfaces_exist(scenario: &Scenario, plan: &Plan) -> anyhow::Result<()> {
    use crate::scenario::Place;
    use crate::topology::interface;
    let local = |host: &str| scenario.host(host).is_none_or(|h| h.place == Place::Local);
    for (key, host, iface) in [
        ("generator", &scenario.placement.generator, &plan.generator.name),
        ("receiver", &scenario.placement.receiver, &plan.receiver.name),
    ] {
        if !local(host) {
            continue;
        }
        if let Err(missing) = interface::find(None, iface)? {
            let field = Field::new(Section::Topology, key);
            let located = scenario.field_error(&field, 0, missing.to_string());
            return Err(bad_input(located.to_string()));
        }
    }
    Ok(())
}

/// The privileges `run` needs to build a lab of `kind` (an `interface` lab makes no namespace).
pub fn privileges(kind: Kind) -> anyhow::Result<()> {
    use Capability::{NetAdmin, NetRaw, SysAdmin};
    let needed: &[Capability] =
        if kind == Kind::Interface { &[NetAdmin, NetRaw] } else { &[NetAdmin, NetRaw, SysAdmin] };
    privilege::require("netlab run (building the lab, raw sockets)", needed)
}

/// Bad input unless a results directory can be made under `base`: tried for real (the
/// directories and a file), and everything the try made removed again, before a lab is built.
pub fn results_writable(base: &Path) -> anyhow::Result<()> {
    let mut missing = Vec::new();
    let mut dir = base;
    while !dir.as_os_str().is_empty() && !dir.exists() {
        missing.push(dir.to_path_buf());
        dir = dir.parent().unwrap_or(Path::new(""));
    }
    let tried = std::fs::create_dir_all(base).and_then(|()| {
        tempfile::Builder::new().prefix(".netlab-write-test").tempfile_in(base).map(drop)
    });
    for made in &missing {
        let _ = std::fs::remove_dir(made);
    }
    tried.map_err(|e| {
        bad_input(format!(
            "results directory {}: cannot write there ({e}); nothing was built",
            base.display()
        ))
    })
}
