//! Which capabilities this process holds, and the one-line error when one a command needs is
//! missing (exit code 3).

use std::fmt;

use crate::exit;

/// The Linux capabilities netlab needs (`include/uapi/linux/capability.h`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum Capability {
    /// Create links, change their settings, attach XDP programs.
    NetAdmin = 12,
    /// Open AF_PACKET and AF_XDP sockets.
    NetRaw = 13,
    /// Create and enter network namespaces, mount sysfs.
    SysAdmin = 21,
    /// Load BPF programs (`CAP_SYS_ADMIN` also allows it).
    Bpf = 39,
}

impl Capability {
    /// The kernel's name, `CAP_NET_ADMIN`.
    pub fn name(self) -> &'static str {
        match self {
            Capability::NetAdmin => "CAP_NET_ADMIN",
            Capability::NetRaw => "CAP_NET_RAW",
            Capability::SysAdmin => "CAP_SYS_ADMIN",
            Capability::Bpf => "CAP_BPF",
        }
    }
}

impl fmt::Display for Capability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The effective capability set of this process, from `/proc/self/status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Effective(u64);

impl Effective {
    /// Reads the set of the calling process.
    pub fn read() -> Result<Self, String> {
        let status = std::fs::read_to_string("/proc/self/status").map_err(|e| e.to_string())?;
        let hex = status
            .lines()
            .find_map(|l| l.strip_prefix("CapEff:"))
            .ok_or("no CapEff line in /proc/self/status")?;
        u64::from_str_radix(hex.trim(), 16)
            .map(Self)
            .map_err(|e| format!("CapEff `{}`: {e}", hex.trim()))
    }

    /// Whether the set holds `cap`.
    pub fn has(self, cap: Capability) -> bool {
        self.0 & (1u64 << cap as u32) != 0
    }
}

/// Fails with a privilege error (exit code 3) naming the missing capabilities unless this
/// process holds all of `needed`: "`{what}` needs root (CAP_… missing): run with sudo".
pub fn require(what: &str, needed: &[Capability]) -> anyhow::Result<()> {
    let caps = Effective::read().map_err(|e| exit::privilege(format!("{what}: {e}")))?;
    let missing: Vec<&str> = needed.iter().filter(|&&c| !caps.has(c)).map(|c| c.name()).collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(exit::privilege(format!(
            "{what} needs root ({} missing): run with sudo",
            missing.join(", ")
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bits_match_the_kernel_numbers() {
        let set = Effective(1 << 12 | 1 << 39);
        assert!(set.has(Capability::NetAdmin) && set.has(Capability::Bpf));
        assert!(!set.has(Capability::NetRaw) && !set.has(Capability::SysAdmin));
    }
}
