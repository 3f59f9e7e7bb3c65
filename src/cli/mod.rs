//! The command line: clap types (one file per subcommand) and the entry point `main` uses.

use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand, ValueEnum};

use crate::exit::{self, Code};

mod agent;
mod check;
mod compare;
mod completions;
mod doctor;
mod flag;
mod packet;
mod recv;
mod replay;
mod report;
mod run;
mod show;
mod topo;

/// Build a veth/bridge lab, replay a packet at a rate, and compare how many packets each receive
/// method keeps — the fast-packet-capture class experiment as one command.
#[derive(Debug, Parser)]
#[command(name = "netlab", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every subcommand takes.
#[derive(Debug, Clone, clap::Args)]
pub struct Global {
    /// More log output (-v info, -vv debug, -vvv trace); logs go to stderr.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// Less output: only errors.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// When to use colour on the terminal.
    #[arg(long, value_enum, default_value_t = Color::Auto, global = true)]
    pub color: Color,
}

/// Colour choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Color {
    /// Colour when stderr is a terminal.
    Auto,
    /// Always colour.
    Always,
    /// Never colour.
    Never,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check that this machine can run the lab: privileges, namespaces, AF_PACKET, AF_XDP, BPF.
    Doctor(doctor::Args),
    /// Build, re-address and inspect packet files: `new`, `rewrite`, `show`.
    Packet(packet::Args),
    /// Validate a scenario file (no root needed) and show what `netlab run` would do.
    Check(check::Args),
    /// Compare a run's results against a baseline's (NDR, PDR, MRR, each rate); exit 1 on a
    /// regression.
    Compare(compare::Args),
    /// Print a run's tables again from its results directory.
    Show(show::Args),
    /// Write a run's tables, plots, report.html and report.md again (optionally against a
    /// baseline run).
    Report(report::Args),
    /// Receive on an interface with one method; live rate, then frames, IPv4, drops, CPU/frame.
    Recv(recv::Args),
    /// Build, list and remove labs (network namespace, veth pair or bridge): `up`, `show`, `down`.
    Topo(topo::Args),
    /// Replay a capture on an interface at a rate (tcpreplay's flags), with exact counts.
    Replay(replay::Args),
    /// Run a scenario: build its lab, measure every rate × receiver, print the table, write
    /// `results/<name>-<UTC>/`, take the lab down.
    Run(run::Args),
    /// Serve a remote host's roles for `netlab run` on stdin/stdout (started over ssh).
    Agent(agent::Args),
    /// Print shell completions for bash, zsh, fish, elvish or powershell.
    Completions(completions::Args),
    /// Write the man pages into a directory.
    #[command(hide = true)]
    Man(completions::ManArgs),
}

/// Parses the command line, runs the command and maps the outcome to a documented exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(&cli.global);
    match run(cli) {
        Ok(code) => code.into(),
        Err(err) if exit::is_broken_pipe(&err) => Code::Ok.into(),
        Err(err) => {
            eprintln!("netlab: error: {err:#}");
            exit::code_for(&err).into()
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<Code> {
    if matches!(
        cli.command,
        Command::Doctor(_)
            | Command::Recv(_)
            | Command::Topo(_)
            | Command::Replay(_)
            | Command::Run(_)
            | Command::Agent(_)
    ) {
        put_back_what_a_killed_netlab_left();
    }
    match cli.command {
        Command::Doctor(args) => doctor::run(&args),
        Command::Packet(args) => packet::run(&args).map_err(flag::in_flags),
        Command::Check(args) => check::run(&args),
        Command::Compare(args) => compare::run(&args),
        Command::Show(args) => show::run(&args),
        Command::Report(args) => report::run(&args),
        Command::Recv(args) => recv::run(&args, cli.global.quiet).map_err(flag::in_flags),
        Command::Topo(args) => topo::run(&args),
        Command::Replay(args) => replay::run(&args, cli.global.quiet).map_err(flag::in_flags),
        Command::Run(args) => run::run(&args, cli.global.quiet),
        Command::Agent(args) => agent::run(&args),
        Command::Completions(args) => completions::run(&args),
        Command::Man(args) => completions::man(&args),
    }
}

/// Interface settings a netlab killed earlier (`SIGKILL`) left changed, written back
/// ([`fastnet::restore`]), each said in one line.
fn put_back_what_a_killed_netlab_left() {
    match fastnet::restore::replay() {
        Ok(settings) => {
            for s in settings {
                tracing::warn!(
                    "put {}'s {} back to {} (a netlab killed earlier left it changed)",
                    s.iface,
                    s.file,
                    s.value
                );
            }
        }
        Err(e) => tracing::warn!("cannot put back what a netlab killed earlier left changed: {e}"),
    }
}

/// The clap command, for completions and man pages.
pub fn command() -> clap::Command {
    Cli::command()
}

fn init_logging(global: &Global) {
    use tracing_subscriber::EnvFilter;
    let level = if global.quiet {
        "error"
    } else {
        match global.verbose {
            0 => "warn",
            1 => "info",
            2 => "debug",
            _ => "trace",
        }
    };
    // netlink-packet-route warns about every attribute a newer kernel made longer; not ours.
    let filter = EnvFilter::try_from_env("NETLAB_LOG")
        .unwrap_or_else(|_| EnvFilter::new(format!("{level},netlink_packet_route=error")));
    let ansi = match global.color {
        Color::Always => true,
        Color::Never => false,
        Color::Auto => std::io::IsTerminal::is_terminal(&std::io::stderr()),
    };
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi)
        .with_target(false)
        .without_time()
        .try_init();
}
