//! Socket options: `setsockopt(2)` and `getsockopt(2)` of plain-data values at any level
//! (`SOL_SOCKET`, `SOL_PACKET`, `SOL_XDP`).

use std::mem::size_of;
use std::os::fd::{AsRawFd, BorrowedFd};

use super::syscall;
use crate::error::SyscallError;

/// Values the kernel may read or write as raw bytes: integers and kernel structs made only of
/// integers.
///
/// # Safety
/// Every bit pattern, all zeroes included, must be a valid value of the type.
pub(crate) unsafe trait PlainData: Copy {}

// SAFETY: integers, and `repr(C)` structs of integer fields only: any bytes are a valid value.
unsafe impl PlainData for libc::c_int {}
// SAFETY: as above.
unsafe impl PlainData for u32 {}
// SAFETY: as above.
unsafe impl PlainData for libc::tpacket_req {}
// SAFETY: as above.
unsafe impl PlainData for libc::tpacket_req3 {}
// SAFETY: as above.
unsafe impl PlainData for libc::tpacket_stats_v3 {}
// SAFETY: as above.
unsafe impl PlainData for libc::xdp_umem_reg {}
// SAFETY: as above.
unsafe impl PlainData for libc::xdp_mmap_offsets {}
// SAFETY: as above.
unsafe impl PlainData for libc::xdp_statistics {}

/// `setsockopt(fd, level, name, &value, sizeof value)`.
pub(crate) fn set<T: PlainData>(
    fd: BorrowedFd<'_>,
    level: libc::c_int,
    name: libc::c_int,
    value: &T,
    call: &'static str,
) -> Result<(), SyscallError> {
    let ptr: *const T = value;
    // SAFETY: `value` is a live `T` of the size passed, borrowed for the call; the kernel only
    // reads it.
    unsafe {
        syscall!(
            setsockopt(fd.as_raw_fd(), level, name, ptr.cast(), size_of::<T>() as libc::socklen_t),
            call
        )
    }
    .map(drop)
}

/// `getsockopt(fd, level, name, &value, &len)` into a zeroed `T`; bytes the kernel does not
/// write (it may write fewer than `size_of::<T>()`) stay zero.
pub(crate) fn get<T: PlainData>(
    fd: BorrowedFd<'_>,
    level: libc::c_int,
    name: libc::c_int,
    call: &'static str,
) -> Result<T, SyscallError> {
    // SAFETY: `T: PlainData`: all zeroes is a valid `T`.
    let mut value: T = unsafe { std::mem::zeroed() };
    let mut len = size_of::<T>() as libc::socklen_t;
    let ptr: *mut T = &mut value;
    // SAFETY: `value` and `len` are live and writable for the call; the kernel writes at most
    // `len` bytes into `value`, and any bytes are a valid `T` (`T: PlainData`).
    unsafe { syscall!(getsockopt(fd.as_raw_fd(), level, name, ptr.cast(), &mut len), call) }?;
    Ok(value)
}
