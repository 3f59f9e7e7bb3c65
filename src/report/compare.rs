//! `netlab compare`: a candidate run against a baseline (e.g. the class reference), receiver ×
//! rate by receiver × rate, on the mean received pps of the valid repetitions.

use std::fmt::Write as _;

use comfy_table::{presets, CellAlignment, ContentArrangement, Table};

use super::results::Results;
use crate::scenario::Rate;

/// How one receiver × rate of the candidate compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Within tolerance, or better.
    Ok,
    /// Received fewer pps than the baseline by more than the tolerance.
    Regression,
    /// The baseline has valid points here, the candidate none (missing or all invalid).
    Missing,
    /// Nothing to compare against: the baseline has no valid point here.
    NoBaseline,
}

/// One receiver × rate.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// Receiver label.
    pub label: String,
    /// Rate asked.
    pub rate: Rate,
    /// Baseline mean received pps (valid points).
    pub baseline_pps: Option<f64>,
    /// Candidate mean received pps (valid points).
    pub candidate_pps: Option<f64>,
    /// The verdict.
    pub verdict: Verdict,
}

impl Row {
    /// `candidate / baseline − 1`, when both exist.
    pub fn change(&self) -> Option<f64> {
        match (self.baseline_pps, self.candidate_pps) {
            (Some(b), Some(c)) if b > 0.0 => Some(c / b - 1.0),
            _ => None,
        }
    }
}

/// The comparison of two runs.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    /// The tolerance used (fraction: 0.05 = 5 %).
    pub tolerance: f64,
    /// Baseline receivers × rates, then what only the candidate has.
    pub rows: Vec<Row>,
}

/// Compares `candidate` against `baseline`: a receiver × rate regresses when its mean received
/// pps is below `baseline × (1 − tolerance)`, or when the baseline has valid points there and
/// the candidate none. Receivers and rates are matched by label and rate as written.
pub fn compare(baseline: &Results, candidate: &Results, tolerance: f64) -> Comparison {
    let mean = |results: &Results, label: &str, rate: Rate| {
        results.cell(label, rate).achieved_pps.map(|s| s.mean)
    };
    let mut rows = Vec::new();
    let mut push = |label: &str, rate: Rate| {
        if rows.iter().any(|r: &Row| r.label == label && r.rate == rate) {
            return;
        }
        let baseline_pps = mean(baseline, label, rate);
        let candidate_pps = mean(candidate, label, rate);
        let verdict = match (baseline_pps, candidate_pps) {
            (None, _) => Verdict::NoBaseline,
            (Some(_), None) => Verdict::Missing,
            (Some(b), Some(c)) if c < b * (1.0 - tolerance) => Verdict::Regression,
            (Some(_), Some(_)) => Verdict::Ok,
        };
        rows.push(Row { label: label.to_string(), rate, baseline_pps, candidate_pps, verdict });
    };
    for results in [baseline, candidate] {
        for receiver in &results.receivers {
            for rate in &results.rates {
                push(&receiver.label, *rate);
            }
        }
    }
    Comparison { tolerance, rows }
}

impl Comparison {
    /// The rows that fail: regressions and missing ones.
    pub fn failures(&self) -> impl Iterator<Item = &Row> {
        self.rows.iter().filter(|r| matches!(r.verdict, Verdict::Regression | Verdict::Missing))
    }

    /// Side-by-side table (received Mpps), then one line per failure naming receiver and rate.
    pub fn table(&self, baseline_name: &str, candidate_name: &str) -> String {
        let mut grid = Table::new();
        grid.load_preset(presets::UTF8_FULL_CONDENSED)
            .force_no_tty()
            .set_content_arrangement(ContentArrangement::Disabled)
            .set_header(vec![
                "method".to_string(),
                "rate".to_string(),
                format!("baseline Mpps\n{baseline_name}"),
                format!("candidate Mpps\n{candidate_name}"),
                "change".to_string(),
                "verdict".to_string(),
            ]);
        let mpps =
            |v: Option<f64>| v.map_or_else(|| "–".to_string(), |v| format!("{:.3}", v / 1e6));
        for row in &self.rows {
            grid.add_row(vec![
                row.label.clone(),
                row.rate.to_string(),
                mpps(row.baseline_pps),
                mpps(row.candidate_pps),
                row.change().map_or_else(|| "–".to_string(), |c| format!("{:+.1} %", c * 100.0)),
                match row.verdict {
                    Verdict::Ok => "ok",
                    Verdict::Regression => "REGRESSION",
                    Verdict::Missing => "MISSING",
                    Verdict::NoBaseline => "no baseline",
                }
                .to_string(),
            ]);
        }
        for column in grid.column_iter_mut().skip(2).take(3) {
            column.set_cell_alignment(CellAlignment::Right);
        }
        let mut out = format!("{grid}\n");
        let tolerance = self.tolerance * 100.0;
        for row in self.failures() {
            let _ = match row.verdict {
                Verdict::Regression => writeln!(
                    out,
                    "regression: {} at {}: {:.3} Mpps vs {:.3} Mpps baseline ({:+.1} %, tolerance {tolerance} %)",
                    row.label,
                    row.rate,
                    row.candidate_pps.unwrap_or(0.0) / 1e6,
                    row.baseline_pps.unwrap_or(0.0) / 1e6,
                    row.change().unwrap_or(-1.0) * 100.0
                ),
                _ => writeln!(
                    out,
                    "missing: {} at {}: no valid point in the candidate run",
                    row.label, row.rate
                ),
            };
        }
        out
    }
}
