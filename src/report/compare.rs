//! `netlab compare`: a candidate run against a baseline (e.g. the class reference), method by
//! method on the figures a class reads — each search target (NDR, PDR: rate asked), the rate
//! received under flood (MRR), and received pps at each fixed rate.
//!
//! Where the frames were lost is compared too, stage by stage in % of the frames offered
//! ([`super::losses::compare_losses`]): shown, never a regression by itself.
//!
//! A figure regresses when the candidate's mean is lower than the baseline's by more than the
//! tolerance *and* by more than the two runs' own spread (the sum of their sds): a change the
//! repetitions of either run already show is noise, not a regression.

use super::grid::{pct, Grid, MAX_WIDTH};
use super::losses::{compare_losses, losses_change_grid, LossChange};
use super::summary::{Figure, Stat};
use crate::results::Results;
use crate::scenario::Rate;

/// The tolerance `netlab compare` and a report's baseline section use unless told otherwise:
/// 5 %.
pub const DEFAULT_TOLERANCE: f64 = 0.05;

/// How one figure of the candidate compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Within tolerance, or better.
    Ok,
    /// Lower by more than the tolerance, but not by more than the two runs' own spread.
    WithinSpread,
    /// Lower than the baseline by more than the tolerance and the spread.
    Regression,
    /// The baseline has a valid figure here, the candidate none (missing or all invalid).
    Missing,
    /// Nothing to compare against: the baseline has no valid figure here.
    NoBaseline,
}

impl Verdict {
    fn text(self) -> &'static str {
        match self {
            Verdict::Ok => "ok",
            Verdict::WithinSpread => "within spread",
            Verdict::Regression => "REGRESSION",
            Verdict::Missing => "MISSING",
            Verdict::NoBaseline => "no baseline",
        }
    }
}

/// Which figure of a method.
#[derive(Debug, Clone, PartialEq)]
pub enum Measure {
    /// A search target's rate found (`ndr`, `pdr`, …), pps asked.
    Target(String),
    /// Received pps at `max` (CSIT's MRR).
    Mrr,
    /// Received pps at a fixed rate.
    Rate(Rate),
}

impl std::fmt::Display for Measure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Measure::Target(name) => write!(f, "{}", name.to_uppercase()),
            Measure::Mrr => write!(f, "MRR"),
            Measure::Rate(rate) => write!(f, "rx @ {rate}"),
        }
    }
}

/// One method × figure.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// Receiver label.
    pub label: String,
    /// Which figure.
    pub measure: Measure,
    /// Baseline pps over its valid repetitions.
    pub baseline: Option<(Stat, usize)>,
    /// Candidate pps over its valid repetitions.
    pub candidate: Option<(Stat, usize)>,
    /// The verdict.
    pub verdict: Verdict,
}

impl Row {
    /// `candidate / baseline − 1`, when both exist.
    pub fn change(&self) -> Option<f64> {
        match (self.baseline, self.candidate) {
            (Some((b, _)), Some((c, _))) if b.mean > 0.0 => Some(c.mean / b.mean - 1.0),
            _ => None,
        }
    }
}

/// The comparison of two runs.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    /// The tolerance used (fraction: 0.05 = 5 %).
    pub tolerance: f64,
    /// Baseline methods × figures, then what only the candidate has.
    pub rows: Vec<Row>,
    /// Why the two runs may not be comparable (different scenarios), when they may not.
    pub scenario_note: Option<String>,
    /// Where the frames were lost in each run, stage by stage (% of the frames offered): a
    /// change that moves the loss from one stage to another shows here, whatever the rates.
    pub losses: Vec<LossChange>,
}

/// Every figure of `label` in `results`, with its values.
fn figures(results: &Results) -> Vec<(String, Measure, Option<Figure>)> {
    let mut out = Vec::new();
    for h in results.headlines() {
        for f in &h.targets {
            out.push((h.label.clone(), Measure::Target(f.target.clone()), f.found_pps.clone()));
        }
        if results.has_max() {
            out.push((h.label.clone(), Measure::Mrr, h.mrr_pps.clone()));
        }
        for rate in results.rates.iter().filter(|r| !matches!(r, Rate::Max)) {
            let cell = results.cell(&h.label, *rate);
            let values = cell.points.iter().filter(|p| p.valid).map(|p| p.achieved_pps);
            out.push((h.label.clone(), Measure::Rate(*rate), Figure::of(values)));
        }
    }
    out
}

/// Compares `candidate` against `baseline` (see the module docs). Methods are matched by
/// label, fixed rates as written.
pub fn compare(baseline: &Results, candidate: &Results, tolerance: f64) -> Comparison {
    let base = figures(baseline);
    let cand = figures(candidate);
    let find = |list: &[(String, Measure, Option<Figure>)], label: &str, measure: &Measure| {
        list.iter()
            .find(|(l, m, _)| l == label && m == measure)
            .and_then(|(_, _, f)| f.as_ref())
            .map(|f| (f.stat, f.n()))
    };
    let mut rows: Vec<Row> = Vec::new();
    for (label, measure, _) in base.iter().chain(&cand) {
        if rows.iter().any(|r| &r.label == label && &r.measure == measure) {
            continue;
        }
        let b = find(&base, label, measure);
        let c = find(&cand, label, measure);
        let verdict = match (b, c) {
            (None, _) => Verdict::NoBaseline,
            (Some(_), None) => Verdict::Missing,
            (Some((b, _)), Some((c, _))) if c.mean < b.mean * (1.0 - tolerance) => {
                if b.mean - c.mean > b.sd + c.sd {
                    Verdict::Regression
                } else {
                    Verdict::WithinSpread
                }
            }
            (Some(_), Some(_)) => Verdict::Ok,
        };
        rows.push(Row {
            label: label.clone(),
            measure: measure.clone(),
            baseline: b,
            candidate: c,
            verdict,
        });
    }
    let scenario_note = (baseline.scenario != candidate.scenario).then(|| {
        format!(
            "the two results come from different scenarios ({} and {}): only what both measured \
             compares",
            baseline.scenario, candidate.scenario
        )
    });
    Comparison { tolerance, rows, scenario_note, losses: compare_losses(baseline, candidate) }
}

impl Comparison {
    /// The rows that fail: regressions and missing ones.
    pub fn failures(&self) -> impl Iterator<Item = &Row> {
        self.rows.iter().filter(|r| matches!(r.verdict, Verdict::Regression | Verdict::Missing))
    }

    /// Notes that the two runs' scenario files differ (by hash) although their names agree.
    pub fn note_scenario_files(&mut self, baseline_hash: &str, candidate_hash: &str) {
        if self.scenario_note.is_none() && baseline_hash != candidate_hash {
            self.scenario_note = Some(
                "the two results come from different scenario files (same name, different \
                 contents: see their manifest.json)"
                    .to_string(),
            );
        }
    }

    /// The comparison as a table; `baseline` and `candidate` name the two runs in the legend.
    pub fn grid(&self, baseline: &str, candidate: &str) -> Grid {
        let stat = |v: Option<(Stat, usize)>| {
            v.map_or_else(
                || "–".to_string(),
                |(s, n)| {
                    if s.sd > 0.0 {
                        format!("{:.3} ± {:.3} ({n})", s.mean / 1e6, s.sd / 1e6)
                    } else {
                        format!("{:.3} ({n})", s.mean / 1e6)
                    }
                },
            )
        };
        let rows = self
            .rows
            .iter()
            .map(|row| {
                vec![
                    row.label.clone(),
                    row.measure.to_string(),
                    stat(row.baseline),
                    stat(row.candidate),
                    row.change()
                        .map_or_else(|| "–".to_string(), |c| format!("{:+.1} %", c * 100.0)),
                    row.verdict.text().to_string(),
                ]
            })
            .collect();
        let mut notes = vec![
            format!("A (baseline): {baseline}"),
            format!("B (candidate): {candidate}"),
            format!(
                "Mpps, mean ± sd (valid repetitions); a regression is lower by more than {} and \
                 by more than the two runs' own spread (sd A + sd B)",
                pct(self.tolerance * 100.0)
            ),
        ];
        if let Some(note) = &self.scenario_note {
            notes.push(format!("NOTE: {note}"));
        }
        for row in self.failures() {
            notes.push(match row.verdict {
                Verdict::Regression => format!(
                    "regression: {} {}: {:.3} Mpps vs {:.3} Mpps baseline ({:+.1} %)",
                    row.label,
                    row.measure,
                    row.candidate.map_or(0.0, |c| c.0.mean) / 1e6,
                    row.baseline.map_or(0.0, |b| b.0.mean) / 1e6,
                    row.change().unwrap_or(-1.0) * 100.0
                ),
                _ => format!(
                    "missing: {} {}: no valid figure in the candidate run",
                    row.label, row.measure
                ),
            });
        }
        Grid {
            caption: "B against A".to_string(),
            header: ["method", "figure", "A Mpps", "B Mpps", "change", "verdict"]
                .map(String::from)
                .to_vec(),
            rows,
            notes,
        }
    }

    /// Where the frames were lost in each run, as a table (`None` when neither run has a row
    /// for it).
    pub fn losses_grid(&self) -> Option<Grid> {
        (!self.losses.is_empty()).then(|| losses_change_grid(&self.losses))
    }

    /// The comparison for the terminal, at most [`MAX_WIDTH`] columns wide: the
    /// figures, then where the frames were lost.
    pub fn table(&self, baseline: &str, candidate: &str) -> String {
        let mut out = self.grid(baseline, candidate).text_within(MAX_WIDTH);
        if let Some(grid) = self.losses_grid() {
            out.push('\n');
            out.push_str(&grid.text_within(MAX_WIDTH));
        }
        out
    }
}
