//! `netlab doctor [--host NAME FILE]`.

use std::path::PathBuf;

use crate::doctor;
use crate::exit::{bad_input, Code};
use crate::outln;

/// Arguments of `netlab doctor`.
#[derive(Debug, clap::Args)]
#[command(after_long_help = DOCTOR_HELP)]
pub struct Args {
    /// Run the checks on this host of FILE's [hosts] (over ssh, with `netlab agent`) instead
    /// of this machine.
    #[arg(long, value_name = "NAME", requires = "file")]
    pub host: Option<String>,
    /// The scenario whose [hosts] table names the host.
    #[arg(value_name = "FILE", requires = "host")]
    pub file: Option<PathBuf>,
}

const DOCTOR_HELP: &str = "\
`netlab doctor --host vm labs/two-hosts.toml` connects to host `vm` as `netlab run` would (ssh,
BatchMode, the scenario's ssh_options), runs the same checks there and prints them under the
host's name and netlab version.

A feature netlab has a fallback for (live frames: the xdp engine; netlab sends with the ring
instead) is marked – when this kernel lacks it or refuses it, with the reason; it fails nothing.

Exit: 0 every check passed (optional features may be missing); 1 a check failed; 2 bad scenario or unknown host; 6 the host could
not be reached (ssh's message), or its netlab is missing or speaks another protocol.";

pub(super) fn run(args: &Args) -> anyhow::Result<Code> {
    // (failed, missing optional feature, line)
    let checks: Vec<(bool, bool, String)> = match (&args.host, &args.file) {
        (Some(name), Some(file)) => {
            let scenario = crate::scenario::Scenario::load(file)?;
            let spec = scenario.host(name).ok_or_else(|| {
                let names: Vec<&str> = scenario.hosts.iter().map(|h| h.name.as_str()).collect();
                bad_input(format!(
                    "{}: no host `{name}` in [hosts] (hosts: {})",
                    file.display(),
                    names.join(", ")
                ))
            })?;
            let host = crate::agent::Host::connect(name, &spec.place)?;
            outln!(
                "host `{name}` ({}): netlab {}, agent protocol {}",
                spec.place.describe(),
                host.hello().netlab,
                host.hello().protocol
            )?;
            host.doctor()?
                .into_iter()
                .map(|c| {
                    let check = doctor::Check {
                        name: "",
                        ok: c.ok,
                        detail: c.detail.clone(),
                        fix: "",
                        optional: c.optional,
                    };
                    (check.failed(), !c.ok && c.optional, check.line(&c.name, &c.fix))
                })
                .collect()
        }
        _ => doctor::run_checks()
            .into_iter()
            .map(|c| (c.failed(), !c.ok && c.optional, c.to_string()))
            .collect(),
    };
    for (_, _, line) in &checks {
        outln!("{line}")?;
    }
    let failed = checks.iter().filter(|(failed, _, _)| *failed).count();
    let missing = checks.iter().filter(|(_, missing, _)| *missing).count();
    if failed == 0 && missing > 0 {
        outln!(
            "all {} checks passed; {missing} optional feature{} missing (marked –: netlab does \
             without {})",
            checks.len(),
            if missing == 1 { " is" } else { "s are" },
            if missing == 1 { "it" } else { "them" }
        )?;
        Ok(Code::Ok)
    } else if failed == 0 {
        outln!("all {} checks passed", checks.len())?;
        Ok(Code::Ok)
    } else {
        outln!("{failed} of {} checks failed", checks.len())?;
        Ok(Code::Failed)
    }
}
