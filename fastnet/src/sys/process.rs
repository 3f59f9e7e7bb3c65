//! Set-up of a child between fork and exec: the parent-death signal (`prctl(PR_SET_PDEATHSIG)`)
//! and default dispositions for the signals that stop it.

use std::io;
use std::os::unix::process::CommandExt as _;
use std::process::Command;

/// Makes the child `command` spawns get `SIGKILL` when the thread that spawned it exits — with
/// the whole process on a `SIGKILL` of it, say. The setting survives `execve` and is not
/// inherited by the child's own children.
pub(crate) fn kill_with_parent(command: &mut Command) {
    let parent = std::process::id();
    let set_up = move || -> io::Result<()> {
        // SAFETY: prctl(PR_SET_PDEATHSIG) takes integer arguments only and changes nothing but
        // the calling (child) process's parent-death signal.
        unsafe { super::syscall!(prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0)) }
            .map_err(|e| e.source)?;
        // The parent may have died between fork and prctl: no signal would come then.
        // SAFETY: getppid has no arguments and cannot fail.
        if u32::try_from(unsafe { libc::getppid() }).ok() != Some(parent) {
            return Err(io::Error::from_raw_os_error(libc::ESRCH));
        }
        Ok(())
    };
    // SAFETY: the closure runs in the child between fork and exec, where only async-signal-safe
    // calls are allowed: it makes two system calls (prctl, getppid) and allocates nothing
    // (`SyscallError` and `io::Error` of an errno are plain values).
    unsafe {
        command.pre_exec(set_up);
    }
}

/// Makes the child `command` spawns start with the default action for `SIGINT` and `SIGTERM`,
/// whatever this process inherited: a signal ignored here (a background job of a
/// non-interactive shell ignores `SIGINT`) would stay ignored across `execve`, and a shell
/// script could not even `trap` it.
pub(crate) fn default_stop_signals(command: &mut Command) {
    let set_up = || -> io::Result<()> {
        for sig in [libc::SIGINT, libc::SIGTERM] {
            // SAFETY: signal(2) with SIG_DFL takes no pointer to our memory and is
            // async-signal-safe; it changes only the child's disposition.
            if unsafe { libc::signal(sig, libc::SIG_DFL) } == libc::SIG_ERR {
                return Err(io::Error::last_os_error());
            }
        }
        Ok(())
    };
    // SAFETY: the closure runs in the child between fork and exec and makes only
    // async-signal-safe calls (signal), allocating nothing.
    unsafe {
        command.pre_exec(set_up);
    }
}

/// The calling thread as BPF's `bpf_get_current_pid_tgid()` sees it: the process id (the
/// kernel's tgid) in the high 32 bits, the thread id in the low ones.
pub(crate) fn current_pid_tgid() -> u64 {
    (u64::from(std::process::id()) << 32) | u64::from(super::netns::gettid() as u32)
}
