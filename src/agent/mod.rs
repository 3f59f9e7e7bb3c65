//! Hosts: the roles of a run (the lab, the generator, the receivers) placed on machines.
//!
//! A scenario's `[hosts]` names machines; every role runs on one. The runner speaks one small
//! protocol ([`protocol`]) to each role's host through a [`Host`]: for the local host the
//! requests are handled in this process ([`Agent`]), for a remote one by `netlab agent` started
//! with OpenSSH — `ssh [ssh_options] TARGET NETLAB agent`, with the user's own ssh
//! configuration, keys and agent, `BatchMode=yes` so it never prompts. No daemon, no port of
//! our own.
//!
//! What a host builds is its own: the agent removes its lab, receiver and generator when its
//! stdin closes — the orchestrator ended, was killed (even by SIGKILL: its end of the pipe
//! closes, ssh forwards the end of file), or the connection dropped — or on SIGINT, SIGTERM,
//! SIGHUP. Each host measures its own durations, so the hosts' clocks need not agree.

mod host;
pub mod protocol;
mod serve;

pub use host::{ssh_command, Host, CLEANUP_TIMEOUT, HELLO_TIMEOUT};
pub use protocol::{CheckResult, Facts, Hello, InterfaceFacts, Reply, Request, PROTOCOL};
pub use serve::{error_reply, serve, Agent};
