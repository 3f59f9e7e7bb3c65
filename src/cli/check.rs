//! `netlab check FILE`: runs every check `netlab run` makes before building anything
//! ([`crate::runner::preflight::check`]), without root, and says what `run` would do.

use std::path::PathBuf;

use crate::exit::Code;
use crate::outln;
use crate::runner::preflight::{self, Checked};
use crate::scenario::{Macs, Order, Scenario, SearchSpec};

/// Arguments of `netlab check`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The scenario file (TOML) to validate.
    pub file: PathBuf,
    /// Lab name `netlab run --name` would get [default: the scenario's `name`].
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
    /// The results directory `netlab run --results` would get: tried for writing (nothing is
    /// left there) when check runs with the privileges run needs.
    #[arg(long, value_name = "DIR", default_value = "results")]
    pub results: PathBuf,
}

pub(super) fn run(args: &Args) -> anyhow::Result<Code> {
    let checked = preflight::check(&args.file, args.name.as_deref())?;
    // What root may write is not what another user may: the directory is tried as `run` would.
    let results_tried = preflight::privileges(checked.plan.kind).is_ok();
    if results_tried {
        preflight::results_writable(&args.results)?;
    }
    let s = &checked.scenario;
    outln!("{}: ok — scenario `{}`", args.file.display(), s.name)?;
    if !s.description.is_empty() {
        outln!("  {}", s.description)?;
    }
    print_packet_and_lab(&checked)?;
    if s.is_remote() {
        print_hosts(s)?;
    }
    print_generator(&checked, results_tried)?;
    if let Some(search) = &s.search {
        print_search(search)?;
    }
    print_plan(s)?;
    if results_tried {
        outln!("  results    under {} (writable)", args.results.display())?;
    } else {
        outln!("  results    under {} (not tried: run needs root)", args.results.display())?;
    }
    Ok(Code::Ok)
}

/// The packet and the lab.
fn print_packet_and_lab(checked: &Checked) -> anyhow::Result<()> {
    let s = &checked.scenario;
    let macs = match s.packet.macs {
        Macs::Auto => "rewritten for the lab".to_string(),
        Macs::Keep => "kept as in the file".to_string(),
        Macs::Set { src, dst } => format!(
            "set to src {} dst {}",
            src.map_or("(kept)".to_string(), |m| crate::packet::mac::Mac(m).to_string()),
            dst.map_or("(kept)".to_string(), |m| crate::packet::mac::Mac(m).to_string())
        ),
    };
    outln!("  packet     {} (MACs {macs})", s.packet.file.display())?;
    outln!(
        "  topology   {} lab `{}`",
        crate::topology::plan::kind_name(checked.plan.kind),
        checked.plan.name
    )?;
    Ok(())
}

/// The hosts that hold a role, and how each is reached.
fn print_hosts(s: &Scenario) -> anyhow::Result<()> {
    for host in &s.hosts {
        let mut roles = Vec::new();
        if s.placement.generator == host.name {
            roles.push("generator");
        }
        if s.placement.receiver == host.name {
            roles.push("receivers");
        }
        if roles.is_empty() {
            continue;
        }
        let place = match &host.place {
            crate::scenario::Place::Local => "this machine".to_string(),
            crate::scenario::Place::Ssh { target, options, netlab } => {
                let options = if options.is_empty() {
                    String::new()
                } else {
                    format!(" {}", options.join(" "))
                };
                format!("ssh{options} {target} {netlab} agent")
            }
        };
        outln!("  host       `{}`: {} ({place})", host.name, roles.join(", "))?;
    }
    outln!("  hosts      not connected: `netlab run --dry-run` connects and builds nothing")?;
    Ok(())
}

/// The generator's engine and rates, and the engine it would take at each rate.
fn print_generator(checked: &Checked, results_tried: bool) -> anyhow::Result<()> {
    let s = &checked.scenario;
    let rates: Vec<String> = s.generator.rates.iter().map(ToString::to_string).collect();
    if rates.is_empty() {
        // Only searches: their trials' lengths are on the search line.
        outln!(
            "  generator  engine {}, no fixed rate (searches only), {} warm-up",
            s.generator.engine,
            humantime::format_duration(s.generator.warmup)
        )?;
    } else {
        outln!(
            "  generator  engine {}, rates {}, {} per point after {} warm-up",
            s.generator.engine,
            rates.join(" "),
            humantime::format_duration(s.generator.duration),
            humantime::format_duration(s.generator.warmup)
        )?;
    }
    if results_tried {
        match preflight::engines(checked)? {
            Some(planned) => {
                for (rate, kind, why) in planned {
                    let at = if s.generator.rates.contains(&rate) {
                        format!("{rate}")
                    } else {
                        format!("{rate} (search trials)")
                    };
                    outln!("  engine     {at}: {kind} — {why}")?;
                }
            }
            None => {
                outln!("  engine     chosen by the generator's host, on its kernel, at run time")?
            }
        }
    } else {
        outln!(
            "  engine     chosen at run time: asking this kernel what it allows needs the \
             privileges `run` needs"
        )?;
    }
    Ok(())
}

/// What the searches look for, and how.
fn print_search(search: &SearchSpec) -> anyhow::Result<()> {
    let targets: Vec<String> =
        search.targets.iter().map(|t| format!("{} (loss ≤ {} %)", t.name, t.loss_pct)).collect();
    let upper = search.upper_pps.map_or("the generator's top speed".to_string(), |u| {
        crate::scenario::Rate::Pps(u).to_string()
    });
    outln!(
        "  search     {}: {} short trials, then {} final ones, from {} up to {}, \
         precision {} %",
        targets.join(", "),
        humantime::format_duration(search.short_trial),
        humantime::format_duration(search.final_trial),
        crate::scenario::Rate::Pps(search.lower_pps),
        upper,
        search.precision * 100.0
    )?;
    Ok(())
}

/// The receivers, how many points and searches they make, and how long that takes at least.
fn print_plan(s: &Scenario) -> anyhow::Result<()> {
    for r in &s.receivers {
        if r.label == r.method.name() {
            outln!("  receiver   {}", r.label)?;
        } else {
            outln!("  receiver   {} ({})", r.label, r.method)?;
        }
    }
    let estimate = std::time::Duration::from_secs(s.estimated_time().as_secs_f64().ceil() as u64);
    let order = match s.run.order {
        Order::Shuffled => "shuffled",
        Order::Sequential => "sequential",
    };
    if s.points() > 0 {
        outln!(
            "  points     {} = {} × {} × {}, {order} order",
            s.points(),
            count(s.generator.rates.len(), "rate", "rates"),
            count(s.receivers.len(), "receiver", "receivers"),
            count(s.run.repeat as usize, "repetition", "repetitions"),
        )?;
    }
    if s.search_runs() > 0 {
        outln!(
            "  searches   {} = {} × {}, {order} order",
            s.search_runs(),
            count(s.receivers.len(), "receiver", "receivers"),
            count(s.run.repeat as usize, "repetition", "repetitions"),
        )?;
    }
    outln!(
        "  time       at least {}; invalid points measured again up to {} times",
        humantime::format_duration(estimate),
        s.run.retries
    )?;
    Ok(())
}

/// `1 rate`, `3 rates`.
fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}
