//! Waiting for a descriptor to become readable, for receivers that sleep when idle.

use std::os::fd::BorrowedFd;
use std::time::Duration;

use crate::error::Result;
use crate::sys;

/// Waits up to `timeout` for `fd` to become readable (`poll(2)` with `POLLIN`) and returns
/// whether it is. An interrupted wait returns `false`. Timeouts round up to whole milliseconds
/// and are capped at `i32::MAX` ms.
pub fn wait_readable(fd: BorrowedFd<'_>, timeout: Duration) -> Result<bool> {
    let ms = timeout.as_nanos().div_ceil(1_000_000).min(i32::MAX as u128) as i32;
    Ok(sys::poll::poll_readable(fd, ms)?)
}
