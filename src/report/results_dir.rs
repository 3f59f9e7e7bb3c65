//! `results/<name>-<UTC timestamp>/`: created once, then rewritten file by file, each file
//! atomically (written beside, then renamed), so a run stopped at any moment leaves complete
//! files describing the points measured so far.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use anyhow::Context as _;

use super::manifest::Manifest;
use super::plot::plots;
use super::results::Results;
use super::results_csv::to_csv;
use crate::scenario::Scenario;

/// A results directory being written.
#[derive(Debug)]
pub struct ResultsDir {
    path: PathBuf,
}

impl ResultsDir {
    /// Creates `base/<name>-<YYYYMMDDTHHMMSSZ>` (UTC, from `started`; `-2`, `-3`… appended if it
    /// exists), creating `base` if needed, and writes `manifest.json` and a copy of the scenario
    /// (the bytes loaded, under the scenario's file name).
    pub fn create(
        base: &Path,
        scenario: &Scenario,
        started: SystemTime,
        manifest: &Manifest,
    ) -> anyhow::Result<ResultsDir> {
        std::fs::create_dir_all(base)
            .with_context(|| format!("cannot create results directory {}", base.display()))?;
        let stamp: String = humantime::format_rfc3339_seconds(started)
            .to_string()
            .chars()
            .filter(|c| !matches!(c, '-' | ':'))
            .collect();
        let stem = format!("{}-{stamp}", scenario.name);
        let mut attempt = 1;
        let path = loop {
            let candidate = match attempt {
                1 => base.join(&stem),
                n => base.join(format!("{stem}-{n}")),
            };
            match std::fs::create_dir(&candidate) {
                Ok(()) => break candidate,
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && attempt < 100 => {
                    attempt += 1
                }
                Err(e) => {
                    return Err(e).with_context(|| format!("cannot create {}", candidate.display()))
                }
            }
        };
        let dir = ResultsDir { path };
        let manifest =
            serde_json::to_string_pretty(manifest).context("cannot serialise manifest")?;
        dir.write_file("manifest.json", manifest.as_bytes())?;
        let copy_name = scenario
            .path
            .file_name()
            .map_or_else(|| "scenario.toml".into(), |n| n.to_string_lossy().into_owned());
        dir.write_file(&copy_name, scenario.source().as_bytes())?;
        Ok(dir)
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes (or rewrites) `results.json`, `results.csv` and the SVG plots for `results`. Call it
    /// after each point and at the end; an interrupted run keeps the last complete set.
    pub fn write_results(&self, results: &Results) -> anyhow::Result<()> {
        self.write_file("results.json", results.to_json()?.as_bytes())?;
        self.write_file("results.csv", &to_csv(results)?)?;
        for (name, svg) in plots(results)? {
            self.write_file(name, svg.as_bytes())?;
        }
        Ok(())
    }

    /// Writes `name` in the directory atomically: a hidden temporary file renamed over it.
    fn write_file(&self, name: &str, bytes: &[u8]) -> anyhow::Result<()> {
        let target = self.path.join(name);
        let temporary = self.path.join(format!(".{name}.part"));
        std::fs::write(&temporary, bytes)
            .and_then(|()| std::fs::rename(&temporary, &target))
            .with_context(|| format!("cannot write {}", target.display()))
    }
}

/// Writes a complete results directory in one call: [`ResultsDir::create`] with
/// `results.started`, then [`ResultsDir::write_results`]. Returns the directory.
pub fn write_dir(
    base: &Path,
    results: &Results,
    manifest: &Manifest,
    scenario: &Scenario,
) -> anyhow::Result<PathBuf> {
    let dir = ResultsDir::create(base, scenario, results.started, manifest)?;
    dir.write_results(results)?;
    Ok(dir.path)
}
