//! `manifest.json`: what produced a results directory — netlab build, machine, scenario, lab.

use serde::{Deserialize, Serialize};

use crate::host_facts::HostFacts;
use crate::scenario::Scenario;

/// The provenance of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// netlab's version (Cargo).
    pub netlab_version: String,
    /// The git commit netlab was built from, or "unknown".
    pub git_hash: String,
    /// Kernel release (`uname -r`).
    pub kernel: String,
    /// Kernel build (`uname -v`).
    pub kernel_version: String,
    /// CPU architecture.
    pub arch: String,
    /// CPU model (`/proc/cpuinfo` "model name"), or "unknown".
    pub cpu_model: String,
    /// Online CPUs (`/proc/cpuinfo` processors).
    pub cores: usize,
    /// The scenario file as named on the command line.
    pub scenario_file: String,
    /// SHA-256 of the scenario file's bytes.
    pub scenario_hash: String,
    /// The generator engine used (what `auto` resolved to).
    pub engine: String,
    /// The shuffle seed used (`run.order = "shuffled"`).
    pub seed: Option<u64>,
    /// The lab as the runner built it (interfaces, MACs, cores, NAPI…), free-form.
    pub lab: serde_json::Value,
    /// The command line.
    pub command: Vec<String>,
    /// The facts of every host of the scenario's `[hosts]` the run used, by name (each as that
    /// host reported them); empty for a run on this machine alone.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub hosts: std::collections::BTreeMap<String, HostFacts>,
}

impl Manifest {
    /// Collects the machine's details for a run of `scenario` with `engine`, `seed` and `lab`.
    pub fn collect(
        scenario: &Scenario,
        engine: impl Into<String>,
        seed: Option<u64>,
        lab: serde_json::Value,
    ) -> Manifest {
        let machine = HostFacts::collect();
        Manifest {
            netlab_version: machine.netlab_version,
            git_hash: env!("NETLAB_GIT_HASH").to_string(),
            kernel: machine.kernel,
            kernel_version: machine.kernel_version,
            arch: machine.arch,
            cpu_model: machine.cpu_model,
            cores: machine.cores,
            scenario_file: scenario.path.display().to_string(),
            scenario_hash: scenario.hash(),
            engine: engine.into(),
            seed,
            lab,
            command: std::env::args().collect(),
            hosts: std::collections::BTreeMap::new(),
        }
    }
}
