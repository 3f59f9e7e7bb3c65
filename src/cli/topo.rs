//! `netlab topo up | down | show`: build a lab from a scenario's `[topology]` table and leave it
//! up, list netlab's labs with their counters, take them down.

use std::path::PathBuf;

use anyhow::Context as _;

use crate::exit::{self, Code};
use crate::outln;
use crate::packet::Mac;
use crate::topology::{self, marker, Kind, Lab, LabRecord, NapiMode, Removal};

/// Arguments of `netlab topo`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: TopoCommand,
}

/// The `netlab topo` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum TopoCommand {
    /// Build the lab of a scenario's [topology] table in network namespace netlab-NAME and
    /// leave it up; prints every interface and how to look inside.
    Up(UpArgs),
    /// Remove a lab netlab made (its namespace, links and marker); idempotent.
    Down(DownArgs),
    /// List netlab's labs with their interfaces and rx/tx counters.
    Show(ShowArgs),
}

/// Arguments of `netlab topo up`.
#[derive(Debug, clap::Args)]
pub struct UpArgs {
    /// Scenario file (TOML); only its [topology] table and `name` are read.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Lab name [default: the scenario's `name`, else the file name without extension].
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
}

/// Arguments of `netlab topo down`.
#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("which").required(true).args(["name", "all"])))]
pub struct DownArgs {
    /// The lab to remove (NAME or netlab-NAME).
    #[arg(value_name = "NAME")]
    pub name: Option<String>,
    /// Remove every lab netlab made (namespaces netlab-* with netlab's marker, and half-made
    /// netlab-* entries), nothing else; labs in use by a running netlab are skipped and listed.
    #[arg(long)]
    pub all: bool,
    /// Also remove a lab whose owner (a running `netlab run`, or the `topo up` building it) is
    /// still alive; that process then fails.
    #[arg(long)]
    pub force: bool,
}

/// Arguments of `netlab topo show`.
#[derive(Debug, clap::Args)]
pub struct ShowArgs {
    /// Only this lab.
    #[arg(value_name = "NAME")]
    pub name: Option<String>,
}

pub(super) fn run(args: &Args) -> anyhow::Result<Code> {
    match &args.command {
        TopoCommand::Up(a) => up(a),
        TopoCommand::Down(a) => down(a),
        TopoCommand::Show(a) => show(a),
    }
}

fn napi_text(napi: NapiMode, pids: &[u32], rx_core: usize) -> String {
    match napi {
        NapiMode::Inline => "inline (stock: receive work runs on the sending CPU)".to_string(),
        NapiMode::Threaded => {
            let pids: Vec<String> = pids.iter().map(u32::to_string).collect();
            format!("threaded (GRO on, kthread pid {} pinned to core {rx_core})", pids.join(", "))
        }
    }
}

fn kind_text(kind: Kind) -> &'static str {
    topology::plan::kind_name(kind)
}

/// A field error of the lab's file in the file's words (`FILE:LINE:COL: topology.mtu: …`); the
/// lab name in the words of `--name` when that is where it came from.
fn in_file_words(err: anyhow::Error, file: &std::path::Path, name_flag: bool) -> anyhow::Error {
    let Some(c) = crate::exit::field_of(&err) else { return err };
    let Some(field) = c.field.clone() else { return err };
    if name_flag && field.section == crate::exit::Section::Top {
        return super::flag::in_flags(err);
    }
    let text = std::fs::read_to_string(file).unwrap_or_default();
    let located = crate::scenario::field_error_in(file, &text, &field, c.message.clone());
    crate::exit::bad_input(located.to_string())
}

fn up(args: &UpArgs) -> anyhow::Result<Code> {
    let (default_name, spec) = topology::file::read_topology(&args.file)?;
    let name = args.name.clone().unwrap_or(default_name);
    let lab =
        Lab::up(&spec, &name).map_err(|e| in_file_words(e, &args.file, args.name.is_some()))?;
    let record = lab.detach();
    if record.kind == Kind::Interface {
        outln!("lab `{}` uses existing host interfaces; nothing was created", record.name)?;
    } else {
        outln!("lab `{}` is up in network namespace {}", record.name, record.netns)?;
    }
    print_record(&record, None)?;
    let rx = record.interfaces.iter().find(|i| i.role == topology::Role::Receiver);
    if let (Some(rx), false) = (rx, record.netns.is_empty()) {
        outln!("look inside:   ip netns exec {} tcpdump -e -n -i {}", record.netns, rx.name)?;
        outln!("take it down:  netlab topo down {}", record.name)?;
    }
    Ok(Code::Ok)
}

/// Prints a lab's header lines and interface table; with `stats`, the counters too.
fn print_record(
    record: &LabRecord,
    stats: Option<&[Option<topology::LinkStats>]>,
) -> anyhow::Result<()> {
    outln!(
        "  kind {}, receive core {}, send core {}, napi {}",
        kind_text(record.kind),
        record.rx_core,
        record.tx_core,
        napi_text(record.napi, &record.napi_pids, record.rx_core)
    )?;
    let mut line = format!(
        "  {:<12} {:<15} {:>7}  {:<17}  {:>5}",
        "role", "interface", "ifindex", "mac", "mtu"
    );
    if stats.is_some() {
        line.push_str(&format!(
            "  {:>12} {:>12} {:>10} {:>10}",
            "rx packets", "tx packets", "rx dropped", "tx dropped"
        ));
    }
    outln!("{line}")?;
    for (i, iface) in record.interfaces.iter().enumerate() {
        let mut line = format!(
            "  {:<12} {:<15} {:>7}  {:<17}  {:>5}",
            iface.role.name(),
            iface.name,
            iface.ifindex,
            Mac(iface.mac).to_string(),
            iface.mtu
        );
        match stats.and_then(|s| s.get(i).copied()) {
            Some(Some(s)) => line.push_str(&format!(
                "  {:>12} {:>12} {:>10} {:>10}",
                s.rx_packets, s.tx_packets, s.rx_dropped, s.tx_dropped
            )),
            Some(None) => line.push_str("  (gone)"),
            None => {}
        }
        outln!("{line}")?;
    }
    Ok(())
}

fn down(args: &DownArgs) -> anyhow::Result<Code> {
    let results = match &args.name {
        Some(name) => vec![(name.clone(), topology::down(name, args.force)?)],
        None => topology::down_all(args.force)?,
    };
    let (mut foreign, mut in_use) = (false, None);
    for (name, removal) in &results {
        match removal {
            Removal::Removed { holders } => {
                outln!("removed lab `{name}`")?;
                if !holders.is_empty() {
                    outln!(
                        "  its namespace netlab-{name} is still held by {} (no interfaces are \
                         left in it; it goes away when they exit)",
                        processes_text(holders)
                    )?;
                }
            }
            Removal::StaleMarker => {
                outln!("removed the marker of lab `{name}` (its namespace was already gone)")?
            }
            Removal::HalfMade => outln!(
                "removed the half-made namespace netlab-{name} (an empty file under {} with \
                 no namespace mounted on it)",
                fastnet::netns::NETNS_RUN_DIR
            )?,
            Removal::NotFound => outln!("no lab `{name}`: nothing to remove")?,
            Removal::NotNetlabs => {
                foreign = true;
                outln!(
                    "left namespace netlab-{name} alone: it has no netlab marker ({}), so \
                     netlab did not make it",
                    marker::path(name).display()
                )?;
            }
            Removal::InUse { pid } => {
                in_use = Some(*pid);
                if args.name.is_some() {
                    continue; // the error below says it, once
                }
                outln!(
                    "skipped lab `{name}`: in use by {} (`netlab topo down {name} --force` \
                     removes it anyway)",
                    processes_text(&[*pid])
                )?;
            }
        }
    }
    if results.is_empty() {
        outln!("no netlab labs: nothing to remove")?;
    }
    let Some(name) = &args.name else { return Ok(Code::Ok) };
    if let Some(pid) = in_use {
        return Err(exit::bad_input(format!(
            "lab `{name}` is in use by {}: not removed (wait for it to end, stop it, or add \
             --force)",
            processes_text(&[pid])
        )));
    }
    if foreign {
        return Err(exit::bad_input(format!(
            "namespace netlab-{} was not made by netlab; remove it with `ip netns del` if you \
             are sure",
            name.strip_prefix(topology::plan::NETNS_PREFIX).unwrap_or(name)
        )));
    }
    Ok(Code::Ok)
}

/// `process 812 (netlab)` / `processes 812 (rx_long.sh), 815 (sleep)`.
fn processes_text(pids: &[u32]) -> String {
    let each: Vec<String> = pids
        .iter()
        .map(|pid| match std::fs::read_to_string(format!("/proc/{pid}/comm")) {
            Ok(comm) => format!("{pid} ({})", comm.trim()),
            Err(_) => pid.to_string(),
        })
        .collect();
    let noun = if pids.len() == 1 { "process" } else { "processes" };
    format!("{noun} {}", each.join(", "))
}

fn show(args: &ShowArgs) -> anyhow::Result<Code> {
    let names = match &args.name {
        Some(name) => vec![name
            .strip_prefix(topology::plan::NETNS_PREFIX)
            .filter(|s| !marker::exists(name) && marker::exists(s))
            .unwrap_or(name)
            .to_string()],
        None => marker::names()?,
    };
    if names.is_empty() {
        outln!("no netlab labs (start one with `netlab topo up FILE`)")?;
        return Ok(Code::Ok);
    }
    for name in names {
        let record = match marker::read(&name) {
            Ok(Some(record)) => record,
            Ok(None) => {
                return Err(exit::bad_input(format!(
                    "no lab named `{name}` (see `netlab topo show`)"
                )))
            }
            // One unreadable marker must not hide the other labs: flag it and go on.
            Err(e) => {
                outln!(
                    "lab `{name}`: CORRUPT marker ({e:#}); `netlab topo down {name}` removes the \
                     lab and its marker"
                )?;
                continue;
            }
        };
        let present = fastnet::netns::NetNs::exists(&record.netns);
        let state = match (record.state, present) {
            (_, false) => "gone (stale marker: `netlab topo down` removes it)".to_string(),
            (topology::LabState::Building, true) if !process_alive(record.pid) => {
                format!("half-built (process {} died: `netlab topo down` removes it)", record.pid)
            }
            (topology::LabState::Building, true) => {
                format!("being built by process {}", record.pid)
            }
            (topology::LabState::Up, true) => "up".to_string(),
        };
        outln!("lab `{}` in {}: {state}", record.name, record.netns)?;
        let stats: Vec<Option<topology::LinkStats>> = if present {
            record
                .interfaces
                .iter()
                .map(|i| topology::interface::stats(Some(&record.netns), &i.name).ok())
                .collect()
        } else {
            vec![None; record.interfaces.len()]
        };
        print_record(&record, Some(&stats)).context("printing the lab")?;
    }
    Ok(Code::Ok)
}

fn process_alive(pid: u32) -> bool {
    std::path::Path::new(&format!("/proc/{pid}")).exists()
}
