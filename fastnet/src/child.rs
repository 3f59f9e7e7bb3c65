//! Child processes that cannot outlive the program that started them.
//!
//! A receiver program started for a measurement holds the lab's network namespace and a core;
//! left running after its parent is killed (`SIGKILL`, where no clean-up code runs), it would
//! keep both. [`kill_with_parent`] has the kernel kill it instead; [`default_stop_signals`]
//! makes sure the signals that ask it to stop are not ignored from the start.

use std::process::Command;

use crate::sys;

/// Makes the child that `command` spawns get `SIGKILL` from the kernel as soon as the thread
/// that spawned it exits — in particular when this process dies, however it dies
/// (`PR_SET_PDEATHSIG`, set in the child between fork and exec). A parent that died before the
/// child could arm it makes the spawn fail (`ESRCH`) rather than leave an orphan.
///
/// Keep the spawning thread alive as long as the child should run. The setting is not
/// inherited by the child's own children: a program that starts others should `exec` the last
/// one or arm them itself.
#[doc(alias = "PR_SET_PDEATHSIG")]
pub fn kill_with_parent(command: &mut Command) -> &mut Command {
    sys::process::kill_with_parent(command);
    command
}

/// Makes the child that `command` spawns start with the default action for `SIGINT` and
/// `SIGTERM`, even if this process ignores them (a background job of a script starts with
/// `SIGINT` ignored, and an ignored signal stays ignored across `execve`): a child that is told
/// to stop with `SIGINT` can then be.
pub fn default_stop_signals(command: &mut Command) -> &mut Command {
    sys::process::default_stop_signals(command);
    command
}
