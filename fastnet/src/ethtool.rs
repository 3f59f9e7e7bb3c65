//! The ethtool settings a lab changes on its own interfaces: generic receive offload, which
//! on a veth also decides whether the device runs NAPI (and so whether its receive work can be
//! moved to a kthread of its own), and TCP segmentation offload, which on the veth that sends
//! into it decides whether socket-path frames go through that NAPI at all.
//!
//! Calls act on the network namespace of the thread that called [`Ethtool::open`]: open it on a
//! thread inside the lab's namespace ([`crate::netns::NetNs::run`]).

use std::os::fd::{AsFd, OwnedFd};

use crate::error::{Error, Result};
use crate::sys;

/// A handle for `SIOCETHTOOL` requests in one network namespace.
#[derive(Debug)]
#[doc(alias = "SIOCETHTOOL")]
pub struct Ethtool {
    fd: OwnedFd,
}

/// An interface name as the kernel's `ifr_name` wants it: at most 15 bytes, NUL-padded.
fn ifr_name(iface: &str) -> Result<[libc::c_char; libc::IFNAMSIZ]> {
    let bytes = iface.as_bytes();
    if bytes.is_empty() || bytes.len() >= libc::IFNAMSIZ || bytes.contains(&0) {
        return Err(Error::InvalidConfig {
            what: "interface name",
            why: format!("`{iface}` is not 1 to {} bytes without NUL", libc::IFNAMSIZ - 1),
        });
    }
    let mut name = [0 as libc::c_char; libc::IFNAMSIZ];
    for (dst, &src) in name.iter_mut().zip(bytes) {
        *dst = src as libc::c_char;
    }
    Ok(name)
}

impl Ethtool {
    /// Opens the handle in the calling thread's network namespace.
    pub fn open() -> Result<Self> {
        Ok(Self { fd: sys::ethtool::control_socket()? })
    }

    fn value(&self, iface: &str, cmd: u32, data: u32, call: &'static str) -> Result<u32> {
        let name = ifr_name(iface)?;
        sys::ethtool::value_command(self.fd.as_fd(), &name, cmd, data, call).map_err(|e| {
            if e.raw_os_error() == Some(libc::ENODEV) {
                Error::NoSuchInterface(iface.to_string())
            } else {
                e.into()
            }
        })
    }

    /// Whether generic receive offload is on (`ethtool -k IFACE`, `generic-receive-offload`).
    #[doc(alias = "ETHTOOL_GGRO")]
    pub fn gro(&self, iface: &str) -> Result<bool> {
        self.value(iface, sys::ethtool::ETHTOOL_GGRO, 0, "ioctl(SIOCETHTOOL, ETHTOOL_GGRO)")
            .map(|v| v != 0)
    }

    /// Turns generic receive offload on or off (`ethtool -K IFACE gro on|off`). On a veth,
    /// GRO on makes the device run NAPI on its receive side.
    #[doc(alias = "ETHTOOL_SGRO")]
    pub fn set_gro(&self, iface: &str, on: bool) -> Result<()> {
        self.value(
            iface,
            sys::ethtool::ETHTOOL_SGRO,
            u32::from(on),
            "ioctl(SIOCETHTOOL, ETHTOOL_SGRO)",
        )
        .map(drop)
    }

    /// Whether TCP segmentation offload is on (`ethtool -k IFACE`, `tcp-segmentation-offload`).
    #[doc(alias = "ETHTOOL_GTSO")]
    pub fn tso(&self, iface: &str) -> Result<bool> {
        self.value(iface, sys::ethtool::ETHTOOL_GTSO, 0, "ioctl(SIOCETHTOOL, ETHTOOL_GTSO)")
            .map(|v| v != 0)
    }

    /// Turns every TCP segmentation offload feature on or off (`ethtool -K IFACE tso on|off`).
    #[doc(alias = "ETHTOOL_STSO")]
    pub fn set_tso(&self, iface: &str, on: bool) -> Result<()> {
        self.value(
            iface,
            sys::ethtool::ETHTOOL_STSO,
            u32::from(on),
            "ioctl(SIOCETHTOOL, ETHTOOL_STSO)",
        )
        .map(drop)
    }
}
