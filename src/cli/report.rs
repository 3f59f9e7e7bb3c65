//! `netlab report DIR [--baseline OTHER]`: write a run's tables, plots, `report.html` and
//! `report.md` again from its `results.json` (with a comparison section against a baseline).

use std::path::PathBuf;

use crate::exit::Code;
use crate::outln;
use crate::report::{results_file, ResultsDir, SavedRun};
use crate::results::Results;

/// Arguments of `netlab report`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// A results directory (results/<name>-<UTC>/) or its results.json.
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,
    /// Another run (directory or results.json) to compare against, e.g. the class reference.
    #[arg(long, value_name = "OTHER")]
    pub baseline: Option<PathBuf>,
}

pub(super) fn run(args: &Args) -> anyhow::Result<Code> {
    let results = Results::read(&results_file(&args.dir))?;
    let baseline = args.baseline.as_deref().map(SavedRun::read).transpose()?;
    let dir = ResultsDir::open(&args.dir)?;
    dir.write_report(&results, baseline.as_ref())?;
    outln!("{}", dir.path().join("report.html").display())?;
    Ok(Code::Ok)
}
