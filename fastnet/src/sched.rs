//! Scheduling of any task by its kernel id: how many CPUs are online, and the affinity of a
//! thread or kernel thread — e.g. pinning the `napi/<dev>-<id>` kthread of threaded NAPI to the
//! receive core, the way `taskset -p -c CORE PID` does.
//!
//! For the calling thread, [`crate::cpu::pin_current_thread`] is the shorter path.

use crate::error::{Error, Result};
use crate::sys;

/// The number of online CPUs (`sysconf(_SC_NPROCESSORS_ONLN)`); CPUs are numbered from 0.
pub fn online_cpus() -> Result<usize> {
    Ok(sys::sched::online_cpus()?)
}

fn check_cpus(cpus: &[usize]) -> Result<()> {
    if cpus.is_empty() {
        return Err(Error::InvalidConfig { what: "CPU set", why: "no CPU given".into() });
    }
    if let Some(&cpu) = cpus.iter().find(|&&c| c >= sys::sched::CPU_SETSIZE) {
        return Err(Error::InvalidConfig {
            what: "CPU set",
            why: format!("CPU {cpu} is beyond the {} a CPU set can hold", sys::sched::CPU_SETSIZE),
        });
    }
    Ok(())
}

fn tid_arg(tid: u32) -> Result<libc::pid_t> {
    libc::pid_t::try_from(tid).map_err(|_| Error::InvalidConfig {
        what: "thread id",
        why: format!("{tid} is not a valid thread id"),
    })
}

/// Restricts task `tid` (a thread or kernel thread; 0 = the calling thread) to `cpus`.
#[doc(alias = "sched_setaffinity")]
pub fn set_task_affinity(tid: u32, cpus: &[usize]) -> Result<()> {
    check_cpus(cpus)?;
    Ok(sys::sched::set_affinity(tid_arg(tid)?, cpus)?)
}

/// The CPUs task `tid` (0 = the calling thread) may run on, ascending.
#[doc(alias = "sched_getaffinity")]
pub fn task_affinity(tid: u32) -> Result<Vec<usize>> {
    Ok(sys::sched::affinity(tid_arg(tid)?)?)
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
