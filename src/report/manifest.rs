//! `manifest.json`: what produced a results directory — netlab build, machine, scenario, lab.

use serde::{Deserialize, Serialize};

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

/// One machine's facts: what the manifest records of the machine `netlab run` ran on, and of
/// every host of a scenario's `[hosts]` (each reports its own, over the agent protocol).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostFacts {
    /// netlab's version on that machine.
    pub netlab_version: String,
    /// Kernel release (`uname -r`).
    pub kernel: String,
    /// Kernel build (`uname -v`).
    pub kernel_version: String,
    /// CPU architecture.
    pub arch: String,
    /// CPU model (`/proc/cpuinfo` "model name"), or "unknown".
    pub cpu_model: String,
    /// Online CPUs.
    pub cores: usize,
}

impl HostFacts {
    /// The facts of the machine this process runs on.
    pub fn collect() -> HostFacts {
        let read = |path: &str| {
            std::fs::read_to_string(path)
                .map(|s| s.trim().to_string())
                .unwrap_or_else(|_| "unknown".to_string())
        };
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let (cpu_model, cores) = cpu(&cpuinfo);
        HostFacts {
            netlab_version: env!("CARGO_PKG_VERSION").to_string(),
            kernel: read("/proc/sys/kernel/osrelease"),
            kernel_version: read("/proc/sys/kernel/version"),
            arch: std::env::consts::ARCH.to_string(),
            cpu_model,
            cores: if cores > 0 {
                cores
            } else {
                std::thread::available_parallelism().map_or(1, usize::from)
            },
        }
    }
}

/// The CPU model and the number of processors listed in `/proc/cpuinfo` text.
fn cpu(cpuinfo: &str) -> (String, usize) {
    let field = |line: &str, name: &str| {
        line.split_once(':')
            .filter(|(key, _)| key.trim() == name)
            .map(|(_, value)| value.trim().to_string())
    };
    let model = cpuinfo
        .lines()
        .find_map(|l| field(l, "model name").or_else(|| field(l, "Model")))
        .unwrap_or_else(|| "unknown".to_string());
    let cores = cpuinfo.lines().filter(|l| field(l, "processor").is_some()).count();
    (model, cores)
}

#[cfg(test)]
mod tests {
    #[test]
    fn cpuinfo_model_and_count() {
        let text = "processor\t: 0\nmodel name\t: AMD EPYC 7B13\nflags\t: fpu\n\n\
                    processor\t: 1\nmodel name\t: AMD EPYC 7B13\n";
        assert_eq!(super::cpu(text), ("AMD EPYC 7B13".to_string(), 2));
        assert_eq!(super::cpu(""), ("unknown".to_string(), 0));
    }
}
