//! CPU placement: `sched_setaffinity(2)`.

use super::syscall;
use crate::error::SyscallError;

/// Pins the calling thread to `core` alone. `core` must be below `libc::CPU_SETSIZE`.
pub(crate) fn pin_current_thread(core: usize) -> Result<(), SyscallError> {
    // SAFETY: cpu_set_t is a plain bitmask; all-zero is the empty set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: the caller keeps `core` below CPU_SETSIZE, so the bit lies inside `set`.
    unsafe { libc::CPU_SET(core, &mut set) };
    // SAFETY: pid 0 is the calling thread; the kernel reads `size_of::<cpu_set_t>()` bytes of
    // the live `set`.
    unsafe {
        syscall!(
            sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set),
            "sched_setaffinity"
        )
    }
    .map(drop)
}
