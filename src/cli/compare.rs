//! `netlab compare BASELINE CANDIDATE [--tolerance 5%]`: exit 1 on a regression.

use std::path::PathBuf;

use crate::exit::Code;
use crate::outln;
use crate::report::{self, Results};
use crate::scenario::parse_percent;

/// Arguments of `netlab compare`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The reference run's results.json (e.g. the class reference).
    pub baseline: PathBuf,
    /// The run to check against it.
    pub candidate: PathBuf,
    /// How much lower the candidate's mean received pps may be, per method and rate, e.g. 5%.
    #[arg(short, long, default_value = "5%", value_parser = tolerance)]
    pub tolerance: f64,
}

fn tolerance(text: &str) -> Result<f64, String> {
    parse_percent(text).map_err(|e| e.to_string())
}

pub(super) fn run(args: &Args) -> anyhow::Result<Code> {
    let baseline = Results::read(&args.baseline)?;
    let candidate = Results::read(&args.candidate)?;
    let comparison = report::compare(&baseline, &candidate, args.tolerance);
    let name = |path: &PathBuf, results: &Results| {
        let partial = if results.partial { " (partial)" } else { "" };
        format!("{}{partial}", path.display())
    };
    outln!(
        "{}",
        comparison
            .table(&name(&args.baseline, &baseline), &name(&args.candidate, &candidate))
            .trim_end()
    )?;
    if comparison.failures().next().is_some() {
        return Ok(Code::Failed);
    }
    outln!("no regression beyond {} %", args.tolerance * 100.0)?;
    Ok(Code::Ok)
}
