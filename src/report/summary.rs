//! Aggregation of repetitions: one [`Cell`] per receiver × rate, over the valid points only.

use super::results::{Point, Results};
use crate::scenario::Rate;

/// Mean and sample standard deviation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stat {
    /// Arithmetic mean.
    pub mean: f64,
    /// Sample standard deviation (n − 1); 0 for a single value.
    pub sd: f64,
}

impl Stat {
    /// Mean and sd of `values`, `None` when there are none.
    pub fn of(values: impl IntoIterator<Item = f64>) -> Option<Stat> {
        let values: Vec<f64> = values.into_iter().collect();
        if values.is_empty() {
            return None;
        }
        let n = values.len() as f64;
        let mean = values.iter().sum::<f64>() / n;
        let sd = if values.len() > 1 {
            (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt()
        } else {
            0.0
        };
        Some(Stat { mean, sd })
    }
}

/// One receiver × rate over its repetitions.
#[derive(Debug, Clone, PartialEq)]
pub struct Cell<'r> {
    /// Receiver label.
    pub label: String,
    /// Rate asked.
    pub rate: Rate,
    /// Every point of this receiver × rate, valid or not.
    pub points: Vec<&'r Point>,
    /// Offered pps of the valid points.
    pub offered_pps: Option<Stat>,
    /// Received (app) pps of the valid points.
    pub achieved_pps: Option<Stat>,
    /// Loss % of the valid points.
    pub loss_pct: Option<Stat>,
    /// ns/frame of the valid points that received something.
    pub ns_per_frame: Option<Stat>,
}

impl Cell<'_> {
    /// Number of valid points.
    pub fn valid(&self) -> usize {
        self.points.iter().filter(|p| p.valid).count()
    }

    /// Number of invalid points.
    pub fn invalid(&self) -> usize {
        self.points.len() - self.valid()
    }
}

/// One receiver × search target over its repetitions.
#[derive(Debug, Clone, PartialEq)]
pub struct Found {
    /// Receiver label.
    pub label: String,
    /// Target name (`ndr`, `pdr`, …).
    pub target: String,
    /// The rates found by the valid searches that found one, pps, in repetition order.
    pub found_pps: Vec<f64>,
    /// Their median: the headline figure, robust to one odd repetition.
    pub median_pps: Option<f64>,
    /// Searches made (valid or not).
    pub searches: usize,
    /// Searches that are invalid.
    pub invalid: usize,
}

/// The median of `values` (the mean of the middle two for an even count).
pub fn median(values: &[f64]) -> Option<f64> {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(sorted[n / 2]),
        _ => Some((sorted[n / 2 - 1] + sorted[n / 2]) / 2.0),
    }
}

impl Results {
    /// What the searches found: one entry per receiver × target, receivers in scenario order,
    /// targets in the order first searched.
    pub fn found(&self) -> Vec<Found> {
        let mut targets: Vec<&str> = Vec::new();
        for s in &self.searches {
            if !targets.contains(&s.target.name.as_str()) {
                targets.push(&s.target.name);
            }
        }
        let mut out = Vec::new();
        for receiver in &self.receivers {
            for target in &targets {
                let mut searches: Vec<_> = self
                    .searches
                    .iter()
                    .filter(|s| s.label == receiver.label && s.target.name == *target)
                    .collect();
                if searches.is_empty() {
                    continue;
                }
                searches.sort_by_key(|s| s.repetition);
                let found_pps: Vec<f64> =
                    searches.iter().filter(|s| s.valid).filter_map(|s| s.found_pps).collect();
                out.push(Found {
                    label: receiver.label.clone(),
                    target: target.to_string(),
                    median_pps: median(&found_pps),
                    found_pps,
                    searches: searches.len(),
                    invalid: searches.iter().filter(|s| !s.valid).count(),
                });
            }
        }
        out
    }

    /// One cell per receiver × rate, receivers in scenario order, rates in scenario order; cells
    /// without any point (not measured yet) are included with empty statistics.
    pub fn cells(&self) -> Vec<Cell<'_>> {
        let mut cells = Vec::new();
        for receiver in &self.receivers {
            for rate in &self.rates {
                cells.push(self.cell(&receiver.label, *rate));
            }
        }
        cells
    }

    /// The method's lossless rate: the highest asked rate at which `label` kept every frame sent
    /// in every repetition (all points of that rate valid, none with loss), with the mean pps
    /// offered there; `None` when it lost frames at every rate asked.
    pub fn lossless_rate(&self, label: &str) -> Option<(Rate, f64)> {
        self.rates
            .iter()
            .filter_map(|&rate| {
                let cell = self.cell(label, rate);
                let kept_all = !cell.points.is_empty()
                    && cell.points.iter().all(|p| p.valid && p.loss_pct <= 0.0);
                Some((rate, cell.offered_pps?.mean)).filter(|_| kept_all)
            })
            .max_by(|a, b| a.1.total_cmp(&b.1))
    }

    /// The cell of `label` × `rate`.
    pub fn cell(&self, label: &str, rate: Rate) -> Cell<'_> {
        let points: Vec<&Point> =
            self.points.iter().filter(|p| p.label == label && p.rate == rate).collect();
        let valid = || points.iter().filter(|p| p.valid);
        Cell {
            label: label.to_string(),
            rate,
            offered_pps: Stat::of(valid().map(|p| p.offered_pps)),
            achieved_pps: Stat::of(valid().map(|p| p.achieved_pps)),
            loss_pct: Stat::of(valid().map(|p| p.loss_pct)),
            ns_per_frame: Stat::of(valid().filter_map(|p| p.ns_per_frame)),
            points,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians() {
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), Some(2.5));
    }

    #[test]
    fn stat_mean_and_sample_sd() {
        let s = Stat::of([2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]).unwrap();
        assert_eq!(s.mean, 5.0);
        assert!((s.sd - 2.138).abs() < 1e-3, "{}", s.sd);
        assert_eq!(Stat::of([3.0]), Some(Stat { mean: 3.0, sd: 0.0 }));
        assert_eq!(Stat::of([]), None);
    }
}
