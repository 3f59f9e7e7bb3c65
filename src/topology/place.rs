//! Putting the calling thread where a lab's work runs: into a named network namespace, pinned to
//! one core — what the generator's and every receiver's thread do first, with one reading of
//! what went wrong.

use anyhow::Context as _;

use crate::exit::{bad_field, privilege, Field, Section};

/// Enters the named network namespace `netns` (when given) and pins the calling thread to
/// `core` (when given). A name or core that cannot be is an error about the `netns` or `core`
/// field of `section`; entering without the privilege is a privilege error.
pub fn enter(netns: Option<&str>, core: Option<usize>, section: Section) -> anyhow::Result<()> {
    if let Some(name) = netns {
        let ns = fastnet::netns::NetNs::open_named(name).map_err(|e| match e {
            fastnet::Error::InvalidConfig { why, .. } => {
                bad_field(Field::new(section, "netns").with_value(name), why)
            }
            other => anyhow::Error::new(other).context(format!("cannot open namespace `{name}`")),
        })?;
        ns.enter().map_err(|e| match e.raw_os_error() {
            Some(libc::EPERM) => privilege(format!(
                "cannot enter namespace `{name}`: {e}: entering a network namespace needs root \
                 (CAP_SYS_ADMIN): run with sudo"
            )),
            _ => anyhow::Error::new(e).context(format!("cannot enter namespace `{name}`")),
        })?;
    }
    if let Some(core) = core {
        fastnet::cpu::pin_current_thread(core).map_err(|e| match e {
            fastnet::Error::InvalidConfig { why, .. } => {
                bad_field(Field::new(section, "core").with_value(core), why)
            }
            other => anyhow::Error::new(other).context(format!("cannot pin to core {core}")),
        })?;
    }
    Ok(())
}

/// Moves this process's threads off `core` (onto the other online cores) — except one already
/// pinned there — so that the tool's own work (progress, netlink reads, results, the agent's
/// protocol) does not run where a lab's receiver and its NAPI thread are measured; the agent
/// calls it once its lab is up (`doctor` and `topo up` leave their process alone). Threads made
/// later inherit the creator's cores; the hot ones pin themselves ([`enter`]). Why: traced on a
/// 2-core VM (sched_switch on the receive core), `netlab run`'s main thread ran there up to
/// 23 ms at a time while the xdp engine kept the send core busy; with this it does not. What
/// it changed in the figures stayed within their noise: veth's peer refused 2.7–4.5 % of
/// 900 kpps into pcap over three points, 3–3.8 % before — the machine's own tasks (`kdamond`,
/// PID 1's workers) still take the receive core for milliseconds.
pub fn keep_process_off(core: usize) -> anyhow::Result<()> {
    let cpus = fastnet::cpu::online_cpus().context("counting the online CPUs")?;
    let others: Vec<usize> = (0..cpus).filter(|&c| c != core).collect();
    if others.is_empty() {
        return Ok(());
    }
    for entry in std::fs::read_dir("/proc/self/task").context("listing this process's threads")? {
        let Some(tid) = entry?.file_name().to_str().and_then(|t| t.parse::<u32>().ok()) else {
            continue;
        };
        // A thread that ended meanwhile has nothing to move.
        match fastnet::cpu::task_affinity(tid) {
            Ok(now) if now != [core] => {
                let _ = fastnet::cpu::set_task_affinity(tid, &others);
            }
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_core_that_does_not_exist_is_about_the_core_field() {
        let err = std::thread::spawn(|| enter(None, Some(100_000), Section::Receiver))
            .join()
            .unwrap()
            .unwrap_err();
        let c = crate::exit::field_of(&err).expect("a field error");
        assert_eq!(c.field.as_ref().unwrap().key, "core");
        assert_eq!(crate::exit::code_for(&err), crate::exit::Code::BadInput);
    }

    #[test]
    fn the_process_leaves_the_receive_core_but_a_thread_pinned_there_stays() {
        let cpus = fastnet::cpu::online_cpus().unwrap();
        let (pinned_tx, pinned_rx) = std::sync::mpsc::channel();
        let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
        let hot = std::thread::spawn(move || {
            fastnet::cpu::pin_current_thread(cpus - 1).unwrap();
            pinned_tx.send(std::fs::read_link("/proc/thread-self").unwrap()).unwrap();
            done_rx.recv().unwrap();
        });
        let tid_of = |link: std::path::PathBuf| -> u32 {
            link.file_name().unwrap().to_str().unwrap().parse().unwrap()
        };
        let hot_tid = tid_of(pinned_rx.recv().unwrap());
        let tids = || -> Vec<u32> {
            std::fs::read_dir("/proc/self/task")
                .unwrap()
                .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
                .collect()
        };
        let before: Vec<(u32, Vec<usize>)> = tids()
            .into_iter()
            .filter_map(|t| Some((t, fastnet::cpu::task_affinity(t).ok()?)))
            .collect();
        keep_process_off(cpus - 1).unwrap();
        let me = tid_of(std::fs::read_link("/proc/thread-self").unwrap());
        let mine = fastnet::cpu::task_affinity(me).unwrap();
        if cpus > 1 {
            assert!(!mine.contains(&(cpus - 1)), "{mine:?}");
        }
        assert_eq!(fastnet::cpu::task_affinity(hot_tid).unwrap(), [cpus - 1]);
        done_tx.send(()).unwrap();
        hot.join().unwrap();
        // The other tests of this process get their cores back.
        for (tid, cores) in before {
            let _ = fastnet::cpu::set_task_affinity(tid, &cores);
        }
    }

    #[test]
    fn a_bad_namespace_name_is_about_the_netns_field() {
        let err = enter(Some("no/such"), None, Section::Generator).unwrap_err();
        assert_eq!(crate::exit::field_of(&err).unwrap().field.as_ref().unwrap().key, "netns");
    }
}
