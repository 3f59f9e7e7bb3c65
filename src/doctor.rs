//! `netlab doctor`: can this machine run the lab? One check per line, each with its fix.
//!
//! Checks that need a network namespace run in a throwaway one on a dedicated thread, so the
//! host's interfaces are never touched.

use std::fmt;

/// The outcome of one check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// What was checked (`"CAP_NET_ADMIN"`, `"AF_XDP socket"`).
    pub name: &'static str,
    /// Whether it passed.
    pub ok: bool,
    /// What was found (a version, a count, the kernel's answer).
    pub detail: String,
    /// How to fix it when it failed.
    pub fix: &'static str,
}

impl Check {
    fn new(name: &'static str, fix: &'static str, result: Result<String, String>) -> Self {
        match result {
            Ok(detail) => Self { name, ok: true, detail, fix },
            Err(detail) => Self { name, ok: false, detail, fix },
        }
    }
}

impl fmt::Display for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mark = if self.ok { '✔' } else { '✘' };
        write!(f, "{mark} {}", self.name)?;
        let pad = 28usize.saturating_sub(self.name.chars().count());
        if !self.detail.is_empty() {
            write!(f, "{:pad$} {}", "", self.detail)?;
        }
        if !self.ok {
            write!(f, " — fix: {}", self.fix)?;
        }
        Ok(())
    }
}

/// Linux capability numbers (`include/uapi/linux/capability.h`).
mod cap {
    pub const NET_ADMIN: u32 = 12;
    pub const NET_RAW: u32 = 13;
    pub const SYS_ADMIN: u32 = 21;
    pub const BPF: u32 = 39;
}

/// The effective capability set of this process, from `/proc/self/status`.
pub(crate) fn effective_caps() -> Result<u64, String> {
    let status = std::fs::read_to_string("/proc/self/status").map_err(|e| e.to_string())?;
    let hex = status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .ok_or("no CapEff line in /proc/self/status")?;
    u64::from_str_radix(hex.trim(), 16).map_err(|e| format!("CapEff `{}`: {e}", hex.trim()))
}

pub(crate) fn has_cap(caps: u64, bit: u32) -> bool {
    caps & (1u64 << bit) != 0
}

/// Runs every check, in the order they are printed.
pub fn run_checks() -> Vec<Check> {
    const SUDO: &str = "run netlab as root (sudo)";
    let caps = effective_caps();
    let cap_check = |bit: u32| -> Result<String, String> {
        match &caps {
            Ok(c) if has_cap(*c, bit) => Ok(String::new()),
            Ok(_) => Err("missing from the effective set".into()),
            Err(e) => Err(e.clone()),
        }
    };
    let mut checks = vec![
        Check::new("CAP_NET_ADMIN", SUDO, cap_check(cap::NET_ADMIN)),
        Check::new("CAP_NET_RAW", SUDO, cap_check(cap::NET_RAW)),
        Check::new(
            "CAP_BPF (or CAP_SYS_ADMIN)",
            SUDO,
            cap_check(cap::BPF).or_else(|_| cap_check(cap::SYS_ADMIN)),
        ),
    ];
    checks.extend(namespace_checks());
    checks.push(Check::new(
        "libpcap",
        "install libpcap (apt-get install libpcap-dev)",
        libpcap_version(),
    ));
    checks.push(Check::new(
        "CPU count",
        "give the machine at least 2 cores: one sends, one receives",
        cpu_count(),
    ));
    checks
}

/// Checks that run inside a throwaway network namespace.
fn namespace_checks() -> Vec<Check> {
    let made = std::thread::spawn(|| -> Result<Vec<Check>, String> {
        let _ns = fastnet::netns::NetNsGuard::new().map_err(|e| e.to_string())?;
        Ok(Vec::new())
    })
    .join()
    .unwrap_or_else(|_| Err("the check thread panicked".into()));
    let mut checks = vec![Check::new(
        "network namespaces",
        "run as root on a kernel with CONFIG_NET_NS",
        made.as_ref().map(|_| String::new()).map_err(Clone::clone),
    )];
    checks.extend(made.unwrap_or_default());
    checks
}

/// The libpcap this binary loaded, from the mapped library's file name (`libpcap.so.1.10.3`).
fn libpcap_version() -> Result<String, String> {
    // A dead capture handle is the cheapest real call into libpcap: it proves the library loads.
    pcap::Capture::dead(pcap::Linktype::ETHERNET).map_err(|e| e.to_string())?;
    let maps = std::fs::read_to_string("/proc/self/maps").map_err(|e| e.to_string())?;
    let path = maps
        .lines()
        .filter_map(|l| l.split_whitespace().nth(5))
        .find(|p| p.contains("libpcap.so"))
        .ok_or("libpcap is not loaded")?;
    let real = std::fs::canonicalize(path).map_err(|e| format!("{path}: {e}"))?;
    let name = real.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    Ok(name.strip_prefix("libpcap.so.").map_or(name.clone(), |v| format!("version {v}")))
}

fn cpu_count() -> Result<String, String> {
    let n = std::thread::available_parallelism().map_err(|e| e.to_string())?.get();
    if n >= 2 {
        Ok(format!("{n} cores"))
    } else {
        Err(format!("{n} core"))
    }
}
