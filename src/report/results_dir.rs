//! `results/<name>-<UTC timestamp>/`: created once, then rewritten file by file, each file
//! atomically (written beside, then renamed), so a run stopped at any moment leaves complete
//! files describing the points measured so far.
//!
//! What it holds: `results.json` (every counter; `docs/results.schema.json`), `results.csv`
//! (one row per point and search trial), `manifest.json` (machine and lab), a copy of the
//! scenario, `table.txt` and `table.md` (the tables), the plots as `.svg` and `.png`, and
//! `report.html` (self-contained: tables, inline plots, invalid points, machine, lab,
//! scenario) with `report.md` beside it for a lab report.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use anyhow::Context as _;

use super::compare::{compare, DEFAULT_TOLERANCE};
use super::page::Page;
use super::plot::{plots, png};
use super::results_csv::to_csv;
use super::table::{table, table_markdown};
use crate::exit::bad_input;
use crate::results::Manifest;
use crate::results::{run_id, Results};
use crate::scenario::Scenario;

/// A results directory being written.
#[derive(Debug)]
pub struct ResultsDir {
    path: PathBuf,
    manifest: Option<Manifest>,
    /// The scenario copy: file name and text.
    scenario: Option<(String, String)>,
}

/// A run read back from its results directory (or its `results.json`), to compare against.
#[derive(Debug)]
pub struct SavedRun {
    /// How a report names it (the path given).
    pub name: String,
    /// Its results.
    pub results: Results,
    /// Its scenario file's hash, from the `manifest.json` beside its `results.json`.
    pub scenario_hash: Option<String>,
}

impl SavedRun {
    /// Reads a run from a results directory or its `results.json` (a results file under
    /// another name is read alone: a `manifest.json` beside it may be another run's).
    pub fn read(path: &Path) -> anyhow::Result<SavedRun> {
        let file = results_file(path);
        let results = Results::read(&file)?;
        let scenario_hash = (file.file_name() == Some("results.json".as_ref()))
            .then(|| file.parent())
            .flatten()
            .map(|dir| if dir.as_os_str().is_empty() { Path::new(".") } else { dir })
            .and_then(|dir| std::fs::read_to_string(dir.join("manifest.json")).ok())
            .and_then(|text| serde_json::from_str::<Manifest>(&text).ok())
            .map(|m| m.scenario_hash);
        Ok(SavedRun { name: path.display().to_string(), results, scenario_hash })
    }
}

/// `path` itself when it is a file, else `path/results.json`.
pub fn results_file(path: &Path) -> PathBuf {
    if path.is_dir() {
        path.join("results.json")
    } else {
        path.to_path_buf()
    }
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
        let stem = run_id(&scenario.name, started);
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
        let copy_name = scenario
            .path
            .file_name()
            .map_or_else(|| "scenario.toml".into(), |n| n.to_string_lossy().into_owned());
        let dir = ResultsDir {
            path,
            manifest: Some(manifest.clone()),
            scenario: Some((copy_name.clone(), scenario.source().to_string())),
        };
        let manifest =
            serde_json::to_string_pretty(manifest).context("cannot serialise manifest")?;
        dir.write_file("manifest.json", manifest.as_bytes())?;
        dir.write_file(&copy_name, scenario.source().as_bytes())?;
        Ok(dir)
    }

    /// An existing results directory, to write its tables, plots and report again: its
    /// `manifest.json` and scenario copy are read when they are there (a report without them
    /// says so). `path` may also name its `results.json`.
    pub fn open(path: &Path) -> anyhow::Result<ResultsDir> {
        let file = results_file(path);
        let dir = file.parent().map_or_else(|| PathBuf::from("."), Path::to_path_buf);
        if !file.is_file() {
            return Err(bad_input(format!("{}: no results.json there", path.display())));
        }
        let dir = if dir.as_os_str().is_empty() { PathBuf::from(".") } else { dir };
        let manifest: Option<Manifest> = std::fs::read_to_string(dir.join("manifest.json"))
            .ok()
            .and_then(|text| serde_json::from_str(&text).ok());
        let copy_name = manifest.as_ref().and_then(|m| {
            Path::new(&m.scenario_file).file_name().map(|n| n.to_string_lossy().into_owned())
        });
        let scenario = copy_name
            .and_then(|name| Some((name.clone(), std::fs::read_to_string(dir.join(&name)).ok()?)));
        Ok(ResultsDir { path: dir, manifest, scenario })
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes (or rewrites) the files made from `results`. While the run goes on (`finished`
    /// unset), after each point: `results.json`, `results.csv`, the tables and the SVG plots;
    /// once it has ended ([`Results::finish`], also after an interrupt): everything, the PNG
    /// plots, `report.html` and `report.md` too. A run stopped at any moment keeps the last
    /// complete set; `netlab report` rebuilds the rest from `results.json`.
    pub fn write_results(&self, results: &Results) -> anyhow::Result<()> {
        self.write_file("results.json", results.to_json()?.as_bytes())?;
        self.write_derived(results, None, results.finished.is_some())
    }

    /// Writes everything made from `results` but `results.json` itself: `results.csv`,
    /// `table.txt`, `table.md`, the plots (SVG and PNG), `report.html` and `report.md` —
    /// with a comparison section against `baseline` when one is given.
    pub fn write_report(
        &self,
        results: &Results,
        baseline: Option<&SavedRun>,
    ) -> anyhow::Result<()> {
        self.write_derived(results, baseline, true)
    }

    /// The files made from `results`; the PNGs and the report pages only when `complete`.
    fn write_derived(
        &self,
        results: &Results,
        baseline: Option<&SavedRun>,
        complete: bool,
    ) -> anyhow::Result<()> {
        self.write_file("results.csv", &to_csv(results)?)?;
        self.write_file("table.txt", table(results).as_bytes())?;
        self.write_file("table.md", table_markdown(results).as_bytes())?;
        let plots = plots(results)?;
        for plot in &plots {
            self.write_file(&format!("{}.svg", plot.name), plot.svg.as_bytes())?;
        }
        if !complete {
            return Ok(());
        }
        for plot in &plots {
            let png = png(&plot.svg).with_context(|| format!("{}.png", plot.name))?;
            self.write_file(&format!("{}.png", plot.name), &png)?;
        }
        let comparison = baseline.map(|b| {
            let mut comparison = compare(&b.results, results, DEFAULT_TOLERANCE);
            if let (Some(theirs), Some(ours)) = (&b.scenario_hash, &self.manifest) {
                comparison.note_scenario_files(theirs, &ours.scenario_hash);
            }
            (b.name.as_str(), comparison)
        });
        let page = Page {
            results,
            manifest: self.manifest.as_ref(),
            scenario: self.scenario.as_ref().map(|(name, text)| (name.as_str(), text.as_str())),
            plots: &plots,
            comparison: comparison.as_ref().map(|(name, c)| (*name, c)),
        };
        self.write_file("report.html", page.html().as_bytes())?;
        self.write_file("report.md", page.markdown().as_bytes())?;
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
