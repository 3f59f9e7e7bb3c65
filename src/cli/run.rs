//! `netlab run FILE`: build the scenario's lab, measure every rate × receiver × repetition, print
//! the table, write `results/<name>-<UTC>/`, take the lab down.

use std::path::PathBuf;

use crate::exit::Code;
use crate::outln;
use crate::report;
use crate::runner::{self, RunOptions};

/// Arguments of `netlab run`.
#[derive(Debug, clap::Args)]
#[command(after_long_help = RUN_HELP)]
pub struct Args {
    /// The scenario file (TOML); `netlab check FILE` validates it without root.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Lab name (network namespace netlab-NAME) [default: the scenario's `name`].
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
    /// Directory under which results/<name>-<UTC>/ is created.
    #[arg(long, value_name = "DIR", default_value = "results")]
    pub results: PathBuf,
    /// Check the scenario, connect to every host its roles are placed on ([hosts]), print
    /// their netlab versions and interfaces, and stop: nothing is built, nothing written.
    #[arg(long)]
    pub dry_run: bool,
}

const RUN_HELP: &str = "\
Rates may name loss targets: \"ndr\" (the highest rate with no loss), \"pdr\" (at most 0.5 %
lost) or a target of [search]: each receiver is then searched for them — short trials to bracket
the rate, a full-length final trial to confirm it.

Each point (rate × receiver × repetition): the receiver starts pinned to the receive core in the
lab, the generator warms up at the rate (`warmup`, not counted), then a fresh receiver session
counts a window of `duration` plus `drain`. A point whose generator offered < 98 % of the asked
rate, or whose IPv4 count disagrees with the frames received, is marked invalid and never
averaged in; it is measured again at the end of the run, up to `retries` times ([run]), and what
is still invalid is listed with the reason.

A receiver program (`exec`) that fails — no READY within 5 s, no or a malformed RESULT- line, an
exit before it is stopped — makes its own point invalid with the reason; the run goes on.

The results directory holds results.json (docs/results.schema.json), results.csv, manifest.json,
a copy of the scenario, table.txt and table.md (the table printed), the plots (SVG and PNG) and
report.html, one self-contained page for the class; `netlab show DIR` prints the table again,
`netlab report DIR [--baseline OTHER]` writes the page again.

With [hosts], the roles run where [topology] places them: this machine in-process, another over
`ssh [ssh_options] TARGET NETLAB agent` (your own ssh config, keys and agent; BatchMode, so it
never prompts). Every host removes what it built when its connection ends, however it ends.

Exit: 0 done; 1 failed, or no point and no search of the run valid; 2 bad scenario; 3 not root; 4 kernel feature missing; 5 done, but a
receiver program failed (its points are invalid); 6 a host could not be reached or used over ssh
(nothing built), or its connection was lost mid-run (the points measured are written, marked
partial, every host cleaned); 130 interrupted (SIGINT/SIGTERM): the points measured so far are
written, marked partial, and the lab removed.";

pub(super) fn run(args: &Args, quiet: bool) -> anyhow::Result<Code> {
    let options = RunOptions {
        file: args.file.clone(),
        lab_name: args.name.clone(),
        results_base: args.results.clone(),
        quiet,
    };
    if args.dry_run {
        return dry_run(&options);
    }
    let outcome = runner::run(&options)?;
    outln!("{}", report::table(&outcome.results).trim_end())?;
    outln!(
        "engine {}; results in {} (report.html for the class)",
        outcome.engine,
        outcome.dir.display()
    )?;
    if let Some(signal) = outcome.interrupted {
        eprintln!(
            "netlab: interrupted by {signal}: {} of {} points written (partial) to {}; lab removed",
            outcome.results.points.len(),
            outcome.results.planned_points,
            outcome.dir.display()
        );
        return Ok(Code::Interrupted);
    }
    if !outcome.receivers_failed.is_empty() {
        let labels: Vec<String> =
            outcome.receivers_failed.iter().map(|l| format!("`{l}`")).collect();
        eprintln!(
            "netlab: receiver {} failed: {} of {} points invalid (reasons in results.json); \
             the other points were measured",
            labels.join(", "),
            outcome
                .results
                .points
                .iter()
                .filter(|p| outcome.receivers_failed.contains(&p.label) && !p.valid)
                .count(),
            outcome.results.points.len()
        );
        return Ok(Code::ReceiversFailed);
    }
    if let Some(why) = nothing_valid(&outcome.results) {
        eprintln!(
            "netlab: no point or search of the run is valid ({why}): nothing was measured; the \
             reasons are in {}",
            outcome.dir.join("results.json").display()
        );
        return Ok(Code::Failed);
    }
    Ok(Code::Ok)
}

/// The first invalid reason when the run measured something and none of it is valid.
fn nothing_valid(results: &crate::results::Results) -> Option<String> {
    let points = results.points.iter().map(|p| (p.valid, &p.invalid_reason));
    let searches = results.searches.iter().map(|s| (s.valid, &s.invalid_reason));
    let all: Vec<_> = points.chain(searches).collect();
    if all.is_empty() || all.iter().any(|(valid, _)| *valid) {
        return None;
    }
    Some(all.iter().find_map(|(_, why)| (*why).clone()).unwrap_or_else(|| "no reason given".into()))
}

/// `--dry-run`: every host's versions and interfaces, nothing built.
fn dry_run(options: &RunOptions) -> anyhow::Result<Code> {
    for host in runner::dry_run(options)? {
        let f = &host.facts.host;
        outln!(
            "host `{}` ({}): netlab {}, agent protocol {}; kernel {}, {} × {}",
            host.name,
            host.place.describe(),
            host.hello.netlab,
            host.hello.protocol,
            f.kernel,
            f.cores,
            f.cpu_model
        )?;
        for i in &host.facts.interfaces {
            let role = host.uses.iter().find(|(_, name)| *name == i.name).map(|(r, _)| r.name());
            outln!(
                "  {:<16} {:<17} {:<8} mtu {}{}",
                i.name,
                i.mac.as_deref().unwrap_or("-"),
                i.operstate,
                i.mtu,
                role.map(|r| format!("  ← {r}")).unwrap_or_default()
            )?;
        }
        for (role, name) in &host.uses {
            if !host.facts.interfaces.iter().any(|i| i.name == *name) {
                return Err(crate::exit::bad_input(format!(
                    "host `{}` has no interface `{name}` for the {}",
                    host.name,
                    role.name()
                )));
            }
        }
    }
    outln!("dry run: nothing built, nothing written")?;
    Ok(Code::Ok)
}
