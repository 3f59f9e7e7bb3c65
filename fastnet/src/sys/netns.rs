//! Namespace calls: `unshare(2)`, `setns(2)`, `mount(2)`, `umount2(2)`, and the `flock(2)`
//! that serialises the set-up of the named-namespace directory.

use std::ffi::CStr;
use std::os::fd::{AsRawFd, BorrowedFd};

use super::syscall;
use crate::error::SyscallError;

/// Gives the calling thread new namespaces (`CLONE_NEWNET`, `CLONE_NEWNS`…).
pub(crate) fn unshare(flags: libc::c_int, call: &'static str) -> Result<(), SyscallError> {
    // SAFETY: unshare only changes the calling thread's namespace membership; no memory is
    // passed to the kernel.
    unsafe { syscall!(unshare(flags), call) }.map(drop)
}

/// Moves the calling thread into the namespace behind `fd`.
pub(crate) fn setns(fd: BorrowedFd<'_>, nstype: libc::c_int) -> Result<(), SyscallError> {
    // SAFETY: `fd` is a borrowed, open namespace fd; setns only changes this thread's membership.
    unsafe { syscall!(setns(fd.as_raw_fd(), nstype)) }.map(drop)
}

/// `mount(source, target, fstype, flags, NULL)`.
pub(crate) fn mount(
    source: Option<&CStr>,
    target: &CStr,
    fstype: Option<&CStr>,
    flags: libc::c_ulong,
    call: &'static str,
) -> Result<(), SyscallError> {
    let ptr = |s: Option<&CStr>| s.map_or(std::ptr::null(), CStr::as_ptr);
    // SAFETY: every pointer is a NUL-terminated string that outlives the call, or NULL where
    // mount(2) accepts NULL; the data argument is NULL.
    unsafe {
        syscall!(mount(ptr(source), target.as_ptr(), ptr(fstype), flags, std::ptr::null()), call)
    }
    .map(drop)
}

/// `umount2(target, MNT_DETACH)`.
pub(crate) fn umount_detach(target: &CStr) -> Result<(), SyscallError> {
    // SAFETY: `target` is a NUL-terminated string that outlives the call.
    unsafe { syscall!(umount2(target.as_ptr(), libc::MNT_DETACH)) }.map(drop)
}

/// The kernel's id of the calling thread.
pub(crate) fn gettid() -> libc::pid_t {
    // SAFETY: gettid has no arguments and cannot fail.
    unsafe { libc::gettid() }
}

/// `flock(fd, LOCK_EX)`: waits for an exclusive lock on the file behind `fd`; it is released
/// when the fd closes.
pub(crate) fn lock_exclusive(fd: BorrowedFd<'_>) -> Result<(), SyscallError> {
    // SAFETY: `fd` is a borrowed, open fd; flock only changes the lock state of its file.
    unsafe { syscall!(flock(fd.as_raw_fd(), libc::LOCK_EX)) }.map(drop)
}
