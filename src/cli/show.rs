//! `netlab show DIR`: print a run's tables again from its `results.json`.

use std::path::PathBuf;

use crate::exit::Code;
use crate::outln;
use crate::report::{self, results_file};
use crate::results::Results;

/// Arguments of `netlab show`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// A results directory (results/<name>-<UTC>/) or its results.json.
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,
    /// Print the tables as Markdown (as table.md) instead of boxes.
    #[arg(long)]
    pub markdown: bool,
}

pub(super) fn run(args: &Args) -> anyhow::Result<Code> {
    let results = Results::read(&results_file(&args.dir))?;
    let text =
        if args.markdown { report::table_markdown(&results) } else { report::table(&results) };
    outln!("{}", text.trim_end())?;
    Ok(Code::Ok)
}
