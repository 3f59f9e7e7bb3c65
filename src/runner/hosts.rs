//! The hosts of a run: connecting each host a role is placed on, placing the lab, and the
//! facts the manifest records of each.
//!
//! One host (every scenario without `[hosts]`, and a lab placed whole with `topology.host`):
//! the lab is built there by its agent, exactly as `netlab topo up` would build it. Two hosts
//! (`kind = "interface"`, generator and receiver placed apart): nothing is built; each host
//! looks up its own interface, and the lab the runner measures is those two interfaces.

use std::collections::BTreeMap;

use crate::agent::Host;
use crate::host_facts::HostFacts;
use crate::scenario::Scenario;
use crate::topology::{check_core, Kind, LabRecord, LabState, NapiMode, Plan, Role};

/// The hosts connected for a run, the generator's and the receivers' (one when they share).
#[derive(Debug)]
pub struct Hosts {
    hosts: Vec<Host>,
    /// What each said of itself, by name (when a role runs on another machine).
    pub facts: BTreeMap<String, HostFacts>,
    generator: usize,
    receiver: usize,
    /// Whether a lab was built (on the generator's host, which is then the receivers' too).
    built: bool,
}

impl Hosts {
    /// Connects the hosts the roles are placed on, the generator's first. Nothing is built.
    pub fn connect(scenario: &Scenario) -> anyhow::Result<Hosts> {
        let mut hosts: Vec<Host> = Vec::new();
        let mut facts = BTreeMap::new();
        let mut index = |name: &str, hosts: &mut Vec<Host>| -> anyhow::Result<usize> {
            if let Some(i) = hosts.iter().position(|h| h.name() == name) {
                return Ok(i);
            }
            let spec = scenario.host(name).unwrap_or_else(|| unreachable!("placed on a host"));
            let host = Host::connect(name, &spec.place)?;
            if scenario.is_remote() {
                facts.insert(name.to_string(), host.facts()?.host);
            }
            hosts.push(host);
            Ok(hosts.len() - 1)
        };
        let generator = index(&scenario.placement.generator, &mut hosts)?;
        let receiver = index(&scenario.placement.receiver, &mut hosts)?;
        Ok(Hosts { hosts, facts, generator, receiver, built: false })
    }

    /// Every host connected, the generator's first.
    pub fn all(&self) -> &[Host] {
        &self.hosts
    }

    /// The generator's host.
    pub fn generator(&self) -> &Host {
        &self.hosts[self.generator]
    }

    /// The receivers' host.
    pub fn receiver(&self) -> &Host {
        &self.hosts[self.receiver]
    }

    /// Whether any role runs on another machine.
    pub fn any_remote(&self) -> bool {
        self.hosts.iter().any(|h| !h.is_local())
    }

    /// Builds the lab of `plan` on the roles' host, or — roles on two hosts — looks up each
    /// role's interface on its own. Returns the lab as the runner measures it.
    pub fn lab_up(&mut self, scenario: &Scenario, plan: &Plan) -> anyhow::Result<LabRecord> {
        if scenario.is_remote() {
            self.check_cores(scenario)?;
        }
        if self.generator == self.receiver {
            // Placement is the scenario's business: the host builds the table as written.
            let mut spec = scenario.topology.clone();
            spec.host = None;
            for endpoint in [&mut spec.generator, &mut spec.receiver].into_iter().flatten() {
                *endpoint = endpoint.interface().into();
            }
            let record = self.generator().lab_up(&spec, &plan.name)?;
            self.built = true;
            return Ok(record);
        }
        debug_assert_eq!(plan.kind, Kind::Interface, "only roles of interface labs are split");
        let generator = self.generator().interface(&plan.generator.name, Role::Generator)?;
        let receiver = self.receiver().interface(&plan.receiver.name, Role::Receiver)?;
        let topo = &scenario.topology;
        Ok(LabRecord {
            name: plan.name.clone(),
            netns: String::new(),
            kind: Kind::Interface,
            state: LabState::Up,
            pid: std::process::id(),
            pid_start: None,
            napi: NapiMode::Inline,
            // Each host's own default: the receivers' last core, the generator's first.
            rx_core: topo.rx_core.unwrap_or(self.cores(self.receiver()) - 1),
            tx_core: topo.tx_core.unwrap_or(0),
            interfaces: vec![generator, receiver],
            napi_pids: Vec::new(),
        })
    }

    /// The online CPUs `host` said it has (1 when it said nothing).
    fn cores(&self, host: &Host) -> usize {
        self.facts.get(host.name()).map_or(1, |f| f.cores.max(1))
    }

    /// The cores `[topology]` names, against the CPUs of the host each role runs on (the
    /// scenario's own check leaves another machine's cores to it): a core that host lacks is
    /// the scenario's error, located in its file.
    fn check_cores(&self, scenario: &Scenario) -> anyhow::Result<()> {
        let topo = &scenario.topology;
        for (value, key, host) in [
            (topo.rx_core, "rx_core", self.receiver()),
            (topo.tx_core, "tx_core", self.generator()),
        ] {
            check_core(value, key, self.cores(host), &format!("host `{}`", host.name()))
                .map_err(|e| scenario.locate(e, 0))?;
        }
        Ok(())
    }

    /// Takes the lab down where it was built (nothing when nothing was).
    pub fn lab_down(&mut self) -> anyhow::Result<()> {
        if std::mem::take(&mut self.built) {
            self.generator().lab_down()?;
        }
        Ok(())
    }
}
