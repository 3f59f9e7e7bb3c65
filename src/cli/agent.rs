//! `netlab agent`: the remote end of a run, started by the orchestrator over ssh.

use crate::exit::Code;

/// Arguments of `netlab agent` (none).
#[derive(Debug, clap::Args)]
#[command(after_long_help = AGENT_HELP)]
pub struct Args {}

const AGENT_HELP: &str = "\
Not for typing: `netlab run` starts it on a scenario's remote hosts as
`ssh [ssh_options] TARGET NETLAB agent`. It says hello (netlab version, agent protocol), then
answers one JSON request per stdin line with one JSON reply per stdout line: facts about the host
and its interfaces, build or take down a lab, start a receiver and report ready, start a
generator, read counters and CPU, stop. When stdin closes (the orchestrator ended or was killed,
the connection dropped) or on SIGINT/SIGTERM/SIGHUP, it removes everything it built and exits.

Exit: 0 stdin closed, everything removed; 130 ended by a signal, everything removed.";

pub(super) fn run(_args: &Args) -> anyhow::Result<Code> {
    crate::agent::serve()
}
