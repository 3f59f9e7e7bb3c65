//! Waiting for a descriptor: `poll(2)`.

use std::os::fd::{AsRawFd, BorrowedFd};

use super::syscall;
use crate::error::SyscallError;

/// Waits up to `timeout_ms` (-1: forever) for `fd` to become readable. Returns whether it is;
/// `EINTR` counts as "not yet".
pub(crate) fn poll_readable(fd: BorrowedFd<'_>, timeout_ms: i32) -> Result<bool, SyscallError> {
    let mut pfd = libc::pollfd { fd: fd.as_raw_fd(), events: libc::POLLIN, revents: 0 };
    // SAFETY: one live pollfd and a count of 1; the fd is borrowed, so open during the call.
    match unsafe { syscall!(poll(&mut pfd, 1, timeout_ms)) } {
        Ok(n) => Ok(n > 0 && pfd.revents & libc::POLLIN != 0),
        Err(e) if e.raw_os_error() == Some(libc::EINTR) => Ok(false),
        Err(e) => Err(e),
    }
}
