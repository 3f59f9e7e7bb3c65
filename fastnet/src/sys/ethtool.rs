//! `SIOCETHTOOL`: the legacy one-value ethtool commands (`ETHTOOL_[GS]GRO`, `ETHTOOL_[GS]TSO`) on a
//! datagram socket of the calling thread's network namespace.

use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};

use super::{owned_fd, syscall};
use crate::error::SyscallError;

/// `ETHTOOL_GGRO`: get generic receive offload (`include/uapi/linux/ethtool.h`).
pub(crate) const ETHTOOL_GGRO: u32 = 0x2b;
/// `ETHTOOL_SGRO`: set generic receive offload.
pub(crate) const ETHTOOL_SGRO: u32 = 0x2c;
/// `ETHTOOL_GTSO`: get TCP segmentation offload (all TSO features).
pub(crate) const ETHTOOL_GTSO: u32 = 0x1e;
/// `ETHTOOL_STSO`: set TCP segmentation offload (all TSO features).
pub(crate) const ETHTOOL_STSO: u32 = 0x1f;

/// `struct ethtool_value`.
#[repr(C)]
struct EthtoolValue {
    cmd: u32,
    data: u32,
}

/// An `AF_INET` datagram socket: the handle `SIOCETHTOOL` needs, bound to the namespace of
/// the calling thread.
pub(crate) fn control_socket() -> Result<OwnedFd, SyscallError> {
    // SAFETY: socket(2) takes no pointers.
    let fd = unsafe {
        syscall!(
            socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0),
            "socket(AF_INET, SOCK_DGRAM)"
        )
    }?;
    // SAFETY: socket(2) returned a fresh fd we own.
    Ok(unsafe { owned_fd(fd) })
}

/// Runs one `ethtool_value` command on interface `name` and returns the value the kernel
/// wrote back (for the get commands) or `data` unchanged (for the set commands).
pub(crate) fn value_command(
    fd: BorrowedFd<'_>,
    name: &[libc::c_char; libc::IFNAMSIZ],
    cmd: u32,
    data: u32,
    call: &'static str,
) -> Result<u32, SyscallError> {
    let mut value = EthtoolValue { cmd, data };
    let mut request = libc::ifreq {
        ifr_name: *name,
        ifr_ifru: libc::__c_anonymous_ifr_ifru {
            ifru_data: std::ptr::addr_of_mut!(value).cast::<libc::c_char>(),
        },
    };
    // SAFETY: `request` is a valid `struct ifreq` whose data pointer refers to `value`, a
    // `struct ethtool_value` that lives until the call returns; the kernel reads and writes
    // only those 8 bytes for the one-value commands; `fd` is open for the call.
    unsafe {
        syscall!(ioctl(fd.as_raw_fd(), libc::SIOCETHTOOL, std::ptr::addr_of_mut!(request)), call)
    }?;
    Ok(value.data)
}
