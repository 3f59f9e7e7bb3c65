//! `netlab compare BASELINE CANDIDATE [--tolerance 5%]`: exit 1 on a regression.

use std::path::PathBuf;

use crate::exit::Code;
use crate::outln;
use crate::report::{self, SavedRun};
use crate::scenario::parse_percent;

/// Arguments of `netlab compare`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The reference run (results directory or its results.json), e.g. the class reference.
    pub baseline: PathBuf,
    /// The run to check against it (results directory or results.json).
    pub candidate: PathBuf,
    /// How much lower a figure's mean (NDR, PDR, MRR, rate received) may be before it counts,
    /// e.g. 5%; a change within the two runs' own spread never does.
    #[arg(short, long, default_value = "5%", value_parser = tolerance)]
    pub tolerance: f64,
}

fn tolerance(text: &str) -> Result<f64, String> {
    parse_percent(text).map_err(|e| e.to_string())
}

pub(super) fn run(args: &Args) -> anyhow::Result<Code> {
    let baseline = SavedRun::read(&args.baseline)?;
    let candidate = SavedRun::read(&args.candidate)?;
    let mut comparison = report::compare(&baseline.results, &candidate.results, args.tolerance);
    if let (Some(a), Some(b)) = (&baseline.scenario_hash, &candidate.scenario_hash) {
        comparison.note_scenario_files(a, b);
    }
    let name = |run: &SavedRun| {
        let partial = if run.results.partial { " (partial)" } else { "" };
        format!("{}{partial}", run.name)
    };
    outln!("{}", comparison.table(&name(&baseline), &name(&candidate)).trim_end())?;
    if comparison.failures().next().is_some() {
        return Ok(Code::Failed);
    }
    outln!("no regression beyond {} % and the runs' own spread", args.tolerance * 100.0)?;
    Ok(Code::Ok)
}
