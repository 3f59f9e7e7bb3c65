//! Aggregation of repetitions: one [`Cell`] per receiver × rate, and one [`Headline`] per
//! receiver (NDR, PDR, MRR), over the valid points and searches only.
//!
//! A figure whose repetitions fall into two groups is reported as split, not as one mean ± a
//! huge sd ([`Figure::split`]): AF_XDP's rate under flood (MRR) on a 2-core veth lab is
//! 1.6 or 3.2 Mpps depending on who wins a page-pool lock, and the mean of the two is a rate
//! no run ever showed.

use crate::results::{Point, Results, Search};
use crate::scenario::Rate;

/// Groups further apart than this fraction of the median make a figure split.
pub const SPLIT_GAP_FRACTION: f64 = 0.25;

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

/// One headline figure of a method over its repetitions.
#[derive(Debug, Clone, PartialEq)]
pub struct Figure {
    /// Every value, sorted.
    pub values: Vec<f64>,
    /// Mean and sd of all of them.
    pub stat: Stat,
    /// The two groups, when the values are split (bimodal): low group, high group.
    pub split: Option<(Stat, Stat)>,
}

impl Figure {
    /// The figure of `values`, `None` when there are none. The values are split when, sorted,
    /// the widest gap between neighbours is more than [`SPLIT_GAP_FRACTION`] of their median
    /// and wider than the range of the values on either side of it: two repetitions at 1.6
    /// and 3.2 Mpps are split, 3.0 and 3.2 are not.
    pub fn of(values: impl IntoIterator<Item = f64>) -> Option<Figure> {
        let mut values: Vec<f64> = values.into_iter().filter(|v| v.is_finite()).collect();
        values.sort_by(f64::total_cmp);
        let stat = Stat::of(values.iter().copied())?;
        let n = values.len();
        let median =
            if n % 2 == 1 { values[n / 2] } else { (values[n / 2 - 1] + values[n / 2]) / 2.0 };
        let split = (n >= 2)
            .then(|| {
                let (at, gap) = values
                    .windows(2)
                    .map(|w| w[1] - w[0])
                    .enumerate()
                    .max_by(|a, b| a.1.total_cmp(&b.1))?;
                let (low, high) = values.split_at(at + 1);
                let range = |side: &[f64]| side[side.len() - 1] - side[0];
                (gap > SPLIT_GAP_FRACTION * median.abs() && gap > range(low) && gap > range(high))
                    .then(|| {
                        Some((Stat::of(low.iter().copied())?, Stat::of(high.iter().copied())?))
                    })
                    .flatten()
            })
            .flatten();
        Some(Figure { values, stat, split })
    }

    /// How many values.
    pub fn n(&self) -> usize {
        self.values.len()
    }
}

/// A search target's result for one method over its repetitions.
#[derive(Debug, Clone, PartialEq)]
pub struct Found<'r> {
    /// Target name (`ndr`, `pdr`, …).
    pub target: String,
    /// The target's loss limit, percent.
    pub loss_pct: f64,
    /// Every search of this method for this target.
    pub searches: Vec<&'r Search>,
    /// The rates found (pps asked) of the valid searches that found one.
    pub found_pps: Option<Figure>,
    /// True when some valid search passed even its highest rate: the answer is at least that.
    pub at_least: bool,
    /// Valid searches in which even the lowest rate lost too much.
    pub none_found: usize,
    /// The final trials of the valid searches that found a rate.
    pub final_trials: Vec<&'r Point>,
}

impl Found<'_> {
    /// Searches that could not be completed.
    pub fn invalid(&self) -> usize {
        self.searches.iter().filter(|s| !s.valid).count()
    }
}

/// CPU per frame of a method at a rate, in its two parts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CpuSplit {
    /// Receiver ns/frame.
    pub receiver: Stat,
    /// Kernel (NAPI kthread) ns/frame, when measured.
    pub kernel: Option<Stat>,
    /// Mean frames per second received where it was measured.
    pub received_pps: f64,
    /// Mean loss there, percent.
    pub loss_pct: f64,
}

impl CpuSplit {
    /// Over the valid `points` that received something.
    pub fn of<'p>(points: impl IntoIterator<Item = &'p Point>) -> Option<CpuSplit> {
        let points: Vec<&Point> = points.into_iter().filter(|p| p.valid).collect();
        let receiver = Stat::of(points.iter().filter_map(|p| receiver_ns(p)))?;
        Some(CpuSplit {
            receiver,
            kernel: Stat::of(points.iter().filter_map(|p| p.napi_ns_per_frame)),
            received_pps: Stat::of(points.iter().map(|p| p.achieved_pps))?.mean,
            loss_pct: Stat::of(points.iter().map(|p| p.loss_pct))?.mean,
        })
    }

    /// Receiver + kernel, ns per frame.
    pub fn total(&self) -> f64 {
        self.receiver.mean + self.kernel.map_or(0.0, |k| k.mean)
    }

    /// True when measured where idle wake-ups dominate
    /// ([`crate::receiver::wakeups_dominate`]).
    pub fn idle_dominated(&self) -> bool {
        crate::receiver::wakeups_dominate(self.received_pps, self.loss_pct)
    }
}

/// The receiver part of a point's CPU per frame (results written before the parts were
/// recorded: the total less the kernel's share from the counters).
fn receiver_ns(p: &Point) -> Option<f64> {
    p.rx_ns_per_frame.or_else(|| {
        (p.counters.app_rx_frames > 0)
            .then(|| p.counters.rx_cpu_ns as f64 / p.counters.app_rx_frames as f64)
    })
}

/// One method's headline: each search target, its rate under flood (MRR), CPU at the first
/// target.
#[derive(Debug, Clone, PartialEq)]
pub struct Headline<'r> {
    /// Receiver label.
    pub label: String,
    /// Each search target, lowest loss first (NDR, then PDR).
    pub targets: Vec<Found<'r>>,
    /// Received pps of the valid `max` points (CSIT's MRR), when the run had `max`.
    pub mrr_pps: Option<Figure>,
    /// Loss % of the valid `max` points.
    pub mrr_loss_pct: Option<Stat>,
    /// Every `max` point, valid or not.
    pub mrr_points: Vec<&'r Point>,
    /// CPU per frame at the first target (the final trials), when a search found a rate.
    pub cpu: Option<CpuSplit>,
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

impl Results {
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

    /// The method's lossless rate: the highest asked rate at which `label` kept every frame
    /// sent in every valid repetition (at least one; invalid points are no measurement and do
    /// not count either way; one frame lost is a loss however the percentage rounds), with the
    /// mean pps offered there; `None` when it lost frames at every rate measured validly.
    pub fn lossless_rate(&self, label: &str) -> Option<(Rate, f64)> {
        self.rates
            .iter()
            .filter(|rate| !matches!(rate, Rate::Max))
            .filter_map(|&rate| {
                let cell = self.cell(label, rate);
                let mut valid = cell.points.iter().filter(|p| p.valid).peekable();
                let kept_all = valid.peek().is_some() && valid.all(|p| p.loss_pct <= 0.0);
                Some((rate, cell.offered_pps?.mean)).filter(|_| kept_all)
            })
            .max_by(|a, b| a.1.total_cmp(&b.1))
    }

    /// One headline per receiver, in scenario order.
    pub fn headlines(&self) -> Vec<Headline<'_>> {
        let targets = self.targets();
        self.receivers
            .iter()
            .map(|receiver| {
                let label = &receiver.label;
                let found: Vec<Found<'_>> = targets
                    .iter()
                    .map(|(name, loss_pct)| {
                        let searches: Vec<&Search> = self
                            .searches
                            .iter()
                            .filter(|s| &s.label == label && &s.target.name == name)
                            .collect();
                        let valid = || searches.iter().copied().filter(|s| s.valid);
                        Found {
                            target: name.clone(),
                            loss_pct: *loss_pct,
                            found_pps: Figure::of(valid().filter_map(|s| s.found_pps)),
                            at_least: valid()
                                .any(|s| s.found_pps.is_some() && s.upper_pps.is_none()),
                            none_found: valid().filter(|s| s.found_pps.is_none()).count(),
                            final_trials: valid()
                                .filter(|s| s.found_pps.is_some())
                                .filter_map(|s| s.trials.get(s.final_trial?))
                                .collect(),
                            searches,
                        }
                    })
                    .collect();
                let cpu = found.first().and_then(|f| CpuSplit::of(f.final_trials.iter().copied()));
                let mrr = self.cell(label, Rate::Max);
                let mrr_valid = || mrr.points.iter().filter(|p| p.valid);
                Headline {
                    label: label.clone(),
                    targets: found,
                    mrr_pps: Figure::of(mrr_valid().map(|p| p.achieved_pps)),
                    mrr_loss_pct: mrr.loss_pct,
                    cpu,
                    mrr_points: mrr.points.clone(),
                }
            })
            .collect()
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
    fn figures_split_when_two_groups_stand_apart() {
        // mode3's fastnet:3 at max, two back-to-back repetitions.
        let f = Figure::of([1.76, 2.82]).unwrap();
        let (low, high) = f.split.unwrap();
        assert_eq!((low.mean, high.mean), (1.76, 2.82));
        // A few percent apart is noise, not two modes.
        assert_eq!(Figure::of([3.0, 3.2]).unwrap().split, None);
        assert_eq!(Figure::of([0.65, 0.83]).unwrap().split, None);
        // Three around 1.6 and two around 3.1: split into those groups.
        let f = Figure::of([1.6, 3.1, 1.7, 3.2, 1.65]).unwrap();
        let (low, high) = f.split.unwrap();
        assert!((low.mean - 1.65).abs() < 1e-9 && (high.mean - 3.15).abs() < 1e-9, "{f:?}");
        // Spread evenly: no gap wider than the sides' ranges.
        assert_eq!(Figure::of([1.0, 1.5, 2.0, 2.5, 3.0]).unwrap().split, None);
        assert_eq!(Figure::of([5.0]).unwrap().split, None);
        assert_eq!(Figure::of([]), None);
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
