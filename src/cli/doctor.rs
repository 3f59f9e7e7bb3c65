//! `netlab doctor`.

use crate::doctor;
use crate::exit::Code;
use crate::outln;

/// Arguments of `netlab doctor`.
#[derive(Debug, clap::Args)]
pub struct Args {}

pub(super) fn run(_args: &Args) -> anyhow::Result<Code> {
    let checks = doctor::run_checks();
    for check in &checks {
        outln!("{check}")?;
    }
    let failed = checks.iter().filter(|c| !c.ok).count();
    if failed == 0 {
        outln!("all {} checks passed", checks.len())?;
        Ok(Code::Ok)
    } else {
        outln!("{failed} of {} checks failed", checks.len())?;
        Ok(Code::Failed)
    }
}
