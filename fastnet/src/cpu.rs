//! CPUs: how many are online, which ones a task may run on, and how long a task ran.
//!
//! Hot loops (receivers, senders) run on dedicated OS threads pinned to one core
//! ([`pin_current_thread`]); the `napi/<dev>-<id>` kthread of threaded NAPI is pinned to the
//! receive core by its id ([`set_task_affinity`], the way `taskset -p -c CORE PID` does).
//! Their cost is measured as on-CPU time from the scheduler (`/proc/…/schedstat`, nanoseconds,
//! user + system), which works for kernel threads too.

use std::time::Duration;

use crate::error::{Error, Result, SyscallError};
use crate::sys;

/// The number of online CPUs (`sysconf(_SC_NPROCESSORS_ONLN)`); CPUs are numbered from 0.
pub fn online_cpus() -> Result<usize> {
    Ok(sys::sched::online_cpus()?)
}

/// The number of possible CPUs, online or not (`/sys/devices/system/cpu/possible`): how many
/// values a per-CPU BPF map keeps.
pub fn possible_cpus() -> Result<usize> {
    Ok(sys::sched::possible_cpus()?)
}

/// Pins the calling thread to `core` (`sched_setaffinity` with a one-core set). Children the
/// thread spawns afterwards inherit the affinity.
pub fn pin_current_thread(core: usize) -> Result<()> {
    set_affinity(0, &[core], "core")
}

/// Restricts task `tid` (a thread or kernel thread; 0 = the calling thread) to `cpus`.
#[doc(alias = "sched_setaffinity")]
#[doc(alias = "taskset")]
pub fn set_task_affinity(tid: u32, cpus: &[usize]) -> Result<()> {
    set_affinity(tid_arg(tid)?, cpus, "CPU set")
}

/// The CPUs task `tid` (0 = the calling thread) may run on, ascending.
#[doc(alias = "sched_getaffinity")]
pub fn task_affinity(tid: u32) -> Result<Vec<usize>> {
    Ok(sys::sched::affinity(tid_arg(tid)?)?)
}

/// Checks `cpus` (`what` names the setting in errors) and applies them to `tid`.
fn set_affinity(tid: libc::pid_t, cpus: &[usize], what: &'static str) -> Result<()> {
    if cpus.is_empty() {
        return Err(Error::InvalidConfig { what, why: "no CPU given".into() });
    }
    if let Some(&cpu) = cpus.iter().find(|&&c| c >= sys::sched::CPU_SETSIZE) {
        return Err(Error::InvalidConfig {
            what,
            why: format!("CPU {cpu} is beyond the {} a CPU set can hold", sys::sched::CPU_SETSIZE),
        });
    }
    sys::sched::set_affinity(tid, cpus).map_err(|e| {
        if e.raw_os_error() != Some(libc::EINVAL) {
            return e.into();
        }
        // EINVAL: none of the CPUs is online and allowed to the task.
        let which = match cpus {
            [one] => format!("CPU {one} is not"),
            many => format!("none of CPUs {many:?} is"),
        };
        let online = online_cpus().map_or_else(|_| "?".into(), |n| n.to_string());
        Error::InvalidConfig { what, why: format!("{which} online here ({online} online)") }
    })
}

fn tid_arg(tid: u32) -> Result<libc::pid_t> {
    libc::pid_t::try_from(tid).map_err(|_| Error::InvalidConfig {
        what: "thread id",
        why: format!("{tid} is not a valid thread id"),
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
    fn pinning_to_an_offline_core_names_it() {
        // The last CPU a CPU set can name: no machine this runs on has it online.
        let offline = sys::sched::CPU_SETSIZE - 1;
        let err =
            std::thread::spawn(move || pin_current_thread(offline)).join().unwrap().unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, Error::InvalidConfig { what: "core", .. }), "{text}");
        assert!(text.contains(&format!("CPU {offline} is not online")), "{text}");
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

    #[test]
    fn affinity_set_on_a_thread_reads_back_and_reverts() {
        std::thread::spawn(|| {
            let before = task_affinity(0).unwrap();
            assert!(!before.is_empty());
            let cpu = *before.last().unwrap();
            set_task_affinity(0, &[cpu]).unwrap();
            assert_eq!(task_affinity(0).unwrap(), vec![cpu]);
            set_task_affinity(0, &before).unwrap();
            assert_eq!(task_affinity(0).unwrap(), before);
        })
        .join()
        .unwrap();
    }

    #[test]
    fn empty_or_impossible_cpu_sets_are_rejected() {
        assert!(matches!(set_task_affinity(0, &[]), Err(Error::InvalidConfig { .. })));
        assert!(matches!(set_task_affinity(0, &[1 << 20]), Err(Error::InvalidConfig { .. })));
        assert!(online_cpus().unwrap() >= 1);
    }

    #[test]
    fn possible_cpus_cover_the_online_ones() {
        let possible = possible_cpus().unwrap();
        assert!(possible >= online_cpus().unwrap(), "{possible}");
        let allowed = task_affinity(0).unwrap();
        assert!(allowed.iter().all(|&cpu| cpu < possible), "{allowed:?} vs {possible}");
    }
}
