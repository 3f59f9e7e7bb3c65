//! `netlab completions SHELL` and the hidden `netlab man DIR`.

use std::path::PathBuf;

use anyhow::Context as _;

use crate::exit::Code;

/// Arguments of `netlab completions`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The shell to write completions for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// Arguments of `netlab man`.
#[derive(Debug, clap::Args)]
pub struct ManArgs {
    /// Directory to write `netlab.1` and one page per subcommand into.
    pub dir: PathBuf,
}

pub(super) fn run(args: &Args) -> anyhow::Result<Code> {
    let mut cmd = super::command();
    let mut out = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, "netlab", &mut out);
    std::io::Write::write_all(&mut std::io::stdout().lock(), &out)?;
    Ok(Code::Ok)
}

pub(super) fn man(args: &ManArgs) -> anyhow::Result<Code> {
    std::fs::create_dir_all(&args.dir)
        .with_context(|| format!("cannot create {}", args.dir.display()))?;
    clap_mangen::generate_to(super::command(), &args.dir)
        .with_context(|| format!("cannot write man pages into {}", args.dir.display()))?;
    Ok(Code::Ok)
}
