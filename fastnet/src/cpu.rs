//! CPU placement and CPU time: pin a thread to a core, read how long a thread ran.
//!
//! Hot loops (receivers, senders) run on dedicated OS threads pinned to one core; their cost is
//! measured as on-CPU time from the scheduler (`/proc/…/schedstat`, nanoseconds, user + system),
//! which also works for kernel threads such as the `napi/<dev>-<id>` kthread of threaded NAPI.

use std::time::Duration;

use crate::error::{Error, Result, SyscallError};
use crate::sys;

/// Pins the calling thread to `core` (`sched_setaffinity` with a one-core set). Children the
/// thread spawns afterwards inherit the affinity.
pub fn pin_current_thread(core: usize) -> Result<()> {
    let cores = std::thread::available_parallelism().map_or(usize::MAX, |n| n.get());
    if core >= sys::sched::CPU_SETSIZE {
        return Err(Error::InvalidConfig {
            what: "core",
            why: format!(
                "core {core} is beyond the kernel's CPU set ({})",
                sys::sched::CPU_SETSIZE
            ),
        });
    }
    sys::sched::set_affinity(0, &[core]).map_err(|e| {
        if e.raw_os_error() == Some(libc::EINVAL) {
            Error::InvalidConfig {
                what: "core",
                why: format!("core {core} is not online here ({cores} cores usable)"),
            }
        } else {
            e.into()
        }
    })
}

/// On-CPU time of the calling thread so far (user + system), from
/// `/proc/thread-self/schedstat`.
pub fn current_thread_cpu_time() -> Result<Duration> {
    schedstat("/proc/thread-self/schedstat")
}

/// On-CPU time so far of the task (thread or kernel thread) `tid`, from
/// `/proc/<tid>/schedstat`. For the `napi/<dev>-<id>` kthread of threaded NAPI, for instance.
pub fn task_cpu_time(tid: u32) -> Result<Duration> {
    schedstat(&format!("/proc/{tid}/schedstat"))
}

fn schedstat(path: &str) -> Result<Duration> {
    let text = std::fs::read_to_string(path).map_err(|source| {
        Error::Syscall(SyscallError { call: "read(/proc/…/schedstat)", source })
    })?;
    // First field: time spent on the CPU, in nanoseconds.
    let ns =
        text.split_whitespace().next().and_then(|f| f.parse::<u64>().ok()).ok_or_else(|| {
            Error::Unsupported {
                feature: "schedstat",
                why: format!("cannot read the on-CPU time from {path}: `{}`", text.trim()),
            }
        })?;
    Ok(Duration::from_nanos(ns))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thread_cpu_time_grows_while_spinning() {
        let before = current_thread_cpu_time().unwrap();
        let start = std::time::Instant::now();
        let mut x = 0u64;
        while start.elapsed() < Duration::from_millis(30) {
            x = std::hint::black_box(x.wrapping_add(1));
        }
        let after = current_thread_cpu_time().unwrap();
        assert!(after > before, "{before:?} → {after:?}");
    }

    #[test]
    fn pinning_to_an_impossible_core_is_a_clear_error() {
        let err = std::thread::spawn(|| pin_current_thread(libc::CPU_SETSIZE as usize + 1))
            .join()
            .unwrap()
            .unwrap_err();
        assert!(matches!(err, Error::InvalidConfig { what: "core", .. }), "{err}");
    }

    #[test]
    fn pinning_to_core_zero_takes_effect() {
        let allowed = std::thread::spawn(|| {
            pin_current_thread(0).unwrap();
            std::fs::read_to_string("/proc/thread-self/status").unwrap()
        })
        .join()
        .unwrap();
        let line = allowed.lines().find(|l| l.starts_with("Cpus_allowed_list:")).unwrap();
        assert_eq!(line.split_whitespace().nth(1), Some("0"), "{line}");
    }
}
