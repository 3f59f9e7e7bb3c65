//! The facts of the machine this process runs on — netlab's version, the kernel, the CPU — as
//! read from `/proc` (`uname -r`/`-v`, `/proc/cpuinfo`). The manifest records them of the
//! machine `netlab run` ran on, and every host of a scenario's `[hosts]` reports its own over
//! the agent protocol. A room of the ground floor: it uses no other room, it reads only the
//! machine.

use serde::{Deserialize, Serialize};

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
