//! CPU affinity: `sched_setaffinity(2)`, `sched_getaffinity(2)`; the online and possible CPU
//! counts; the calling thread's scheduling policy (`sched_setscheduler(2)`).

use super::syscall;
use crate::error::SyscallError;

/// The highest CPU number a `cpu_set_t` can hold, plus one.
pub(crate) const CPU_SETSIZE: usize = libc::CPU_SETSIZE as usize;

/// `sysconf(_SC_NPROCESSORS_ONLN)`.
pub(crate) fn online_cpus() -> Result<usize, SyscallError> {
    const CALL: &str = "sysconf(_SC_NPROCESSORS_ONLN)";
    // SAFETY: sysconf takes no pointers.
    let n = unsafe { syscall!(sysconf(libc::_SC_NPROCESSORS_ONLN), CALL) }?;
    Ok(usize::try_from(n).unwrap_or(1).max(1))
}

/// The number of possible CPUs: the highest CPU number the kernel may ever bring online, plus
/// one (`/sys/devices/system/cpu/possible`, e.g. `0-1`). Per-CPU BPF maps keep this many values.
pub(crate) fn possible_cpus() -> Result<usize, SyscallError> {
    const PATH: &str = "/sys/devices/system/cpu/possible";
    const CALL: &str = "read(/sys/devices/system/cpu/possible)";
    let text =
        std::fs::read_to_string(PATH).map_err(|source| SyscallError { call: CALL, source })?;
    let bad = || SyscallError {
        call: CALL,
        source: std::io::Error::new(std::io::ErrorKind::InvalidData, format!("{text:?}")),
    };
    let mut max = None;
    for part in text.trim().split(',') {
        let last = part.rsplit('-').next().ok_or_else(bad)?;
        let last: usize = last.parse().map_err(|_| bad())?;
        max = max.max(Some(last));
    }
    max.map(|m| m + 1).ok_or_else(bad)
}

/// Restricts thread `tid` (0: the calling thread) to the CPUs in `cpus` (each < [`CPU_SETSIZE`]).
pub(crate) fn set_affinity(tid: libc::pid_t, cpus: &[usize]) -> Result<(), SyscallError> {
    // SAFETY: cpu_set_t is a plain bit array; all zeroes is the empty set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    for &cpu in cpus {
        debug_assert!(cpu < CPU_SETSIZE);
        // SAFETY: the caller checked `cpu < CPU_SETSIZE`, so the bit lies inside `set`.
        unsafe { libc::CPU_SET(cpu, &mut set) };
    }
    // SAFETY: `set` is a valid cpu_set_t of the size passed; the kernel only reads it.
    unsafe {
        syscall!(
            sched_setaffinity(tid, std::mem::size_of::<libc::cpu_set_t>(), &set),
            "sched_setaffinity"
        )
    }
    .map(drop)
}

/// The CPUs thread `tid` (0: the calling thread) may run on.
pub(crate) fn affinity(tid: libc::pid_t) -> Result<Vec<usize>, SyscallError> {
    // SAFETY: cpu_set_t is a plain bit array; all zeroes is the empty set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: `set` is a writable cpu_set_t of the size passed.
    unsafe {
        syscall!(
            sched_getaffinity(tid, std::mem::size_of::<libc::cpu_set_t>(), &mut set),
            "sched_getaffinity"
        )
    }?;
    // SAFETY: every index tested is below CPU_SETSIZE, inside `set`.
    Ok((0..CPU_SETSIZE).filter(|&cpu| unsafe { libc::CPU_ISSET(cpu, &set) }).collect())
}

/// Puts the calling thread under `SCHED_BATCH` (`sched_setscheduler(0, SCHED_BATCH, 0)`): the
/// same share of the CPU as `SCHED_OTHER`, but a wake-up never preempts the running task. Any
/// thread may switch itself between `SCHED_OTHER` and `SCHED_BATCH` without privileges.
pub(crate) fn set_batch_policy() -> Result<(), SyscallError> {
    let param = libc::sched_param { sched_priority: 0 };
    // SAFETY: `param` is a live sched_param; the kernel only reads it.
    unsafe {
        syscall!(
            sched_setscheduler(0, libc::SCHED_BATCH, &param),
            "sched_setscheduler(SCHED_BATCH)"
        )
    }
    .map(drop)
}
