//! The "where the frames were lost" section of the tables, the report page and `netlab
//! compare`: per method, the loss budgets ([`crate::results::budget`]) of its points at one
//! load (MRR, an NDR search's first trial that lost frames, or the highest fixed rate) added up,
//! as shares of the frames offered by stage.

use std::fmt::Write as _;

use super::grid::{pct, row_name, Grid};
use crate::results::{LostFrames, Point, Results, Stage};
use crate::scenario::Rate;

/// One row of the section: a method's points at one load, their frames added up.
#[derive(Debug, Clone, PartialEq)]
pub struct LossRow<'r> {
    /// Receiver label.
    pub label: String,
    /// Which load: `MRR`, or the NDR search's first trial that lost frames.
    pub at: Load,
    /// The valid points added up.
    pub points: Vec<&'r Point>,
    /// Frames offered, all points together.
    pub offered_frames: u64,
    /// Frames the application received, all points together.
    pub app_rx_frames: u64,
    /// Frames lost by stage, all points together.
    pub lost_frames: LostFrames,
}

/// The load a row of the section was measured at.
#[derive(Debug, Clone, PartialEq)]
pub enum Load {
    /// Flooded (`max`): the rate received is the MRR.
    Mrr,
    /// The first trial of a search (its target's name) that lost more than the target allows.
    FirstLosing(String),
    /// A fixed rate (a run with neither `max` nor a search: its highest).
    Rate(Rate),
}

impl Load {
    /// Its name, short (`MRR`, `NDR 1st loss`, `@ 1Mpps`): the same for the same load in
    /// two runs.
    pub fn kind(&self) -> String {
        match self {
            Load::Mrr => "MRR".to_string(),
            Load::FirstLosing(target) => format!("{} 1st loss", target.to_uppercase()),
            Load::Rate(rate) => format!("@ {rate}"),
        }
    }
}

impl LossRow<'_> {
    /// Mean rate offered over the points, pps.
    pub fn offered_pps(&self) -> f64 {
        let n = self.points.len().max(1) as f64;
        self.points.iter().map(|p| p.offered_pps).sum::<f64>() / n
    }

    /// Percent of the frames offered lost at `stage`.
    pub fn pct(&self, stage: Stage) -> f64 {
        share(self.lost_frames.get(stage), self.offered_frames)
    }

    /// Percent of the frames offered the application received.
    pub fn received_pct(&self) -> f64 {
        share(self.app_rx_frames, self.offered_frames)
    }
}

fn share(frames: u64, of: u64) -> f64 {
    if of == 0 {
        0.0
    } else {
        100.0 * frames as f64 / of as f64
    }
}

fn row<'r>(label: &str, at: Load, points: Vec<&'r Point>) -> Option<LossRow<'r>> {
    if points.is_empty() {
        return None;
    }
    let mut lost = LostFrames::default();
    for p in &points {
        lost.add(&p.lost_frames);
    }
    Some(LossRow {
        label: label.to_string(),
        at,
        offered_frames: points.iter().map(|p| p.offered_frames).sum(),
        app_rx_frames: points.iter().map(|p| p.counters.app_rx_frames).sum(),
        lost_frames: lost,
        points,
    })
}

impl Results {
    /// The rows of the "where the frames were lost" section, methods in scenario order: for
    /// each, its valid `max` points (MRR) and the first trial of each NDR search that lost
    /// frames (the first target's, lowest loss); a run with neither: its highest fixed rate
    /// measured validly.
    pub fn loss_rows(&self) -> Vec<LossRow<'_>> {
        let target = self.targets().into_iter().next();
        let mut rows = Vec::new();
        for receiver in &self.receivers {
            let label = &receiver.label;
            let before = rows.len();
            if self.has_max() {
                let cell = self.cell(label, Rate::Max);
                rows.extend(row(
                    label,
                    Load::Mrr,
                    cell.points.into_iter().filter(|p| p.valid).collect(),
                ));
            }
            if let Some((name, loss_pct)) = &target {
                let first_losing = self
                    .searches
                    .iter()
                    .filter(|s| &s.label == label && &s.target.name == name && s.valid)
                    .filter_map(|s| s.trials.iter().find(|t| t.valid && t.loss_pct > *loss_pct))
                    .collect();
                rows.extend(row(label, Load::FirstLosing(name.clone()), first_losing));
            }
            if rows.len() == before && self.searches.is_empty() && !self.has_max() {
                let highest = self
                    .rates
                    .iter()
                    .filter_map(|&rate| {
                        let cell = self.cell(label, rate);
                        Some((rate, cell.offered_pps?.mean, cell))
                    })
                    .max_by(|a, b| a.1.total_cmp(&b.1));
                if let Some((rate, _, cell)) = highest {
                    rows.extend(row(
                        label,
                        Load::Rate(rate),
                        cell.points.into_iter().filter(|p| p.valid).collect(),
                    ));
                }
            }
        }
        rows
    }
}

/// The stages the section shows for `rows`, in the order a frame travels: every stage some
/// row lost frames at, every method's kernel buffer, and always the receiving interface and
/// `unaccounted`.
pub fn shown_stages(rows: &[LossRow<'_>]) -> Vec<Stage> {
    Stage::ALL
        .into_iter()
        .filter(|s| {
            matches!(
                s,
                Stage::Interface
                    | Stage::Unaccounted
                    | Stage::SocketBuffer
                    | Stage::PacketRing
                    | Stage::XskRings
            ) && rows.iter().any(|r| r.lost_frames.has(*s))
                || rows.iter().any(|r| r.lost_frames.get(*s) > 0)
                || matches!(s, Stage::Interface | Stage::Unaccounted)
        })
        .collect()
}

/// A frame count for a table cell: exact below 100 000, else in k or M.
pub fn frames(n: u64) -> String {
    match n {
        0..=99_999 => n.to_string(),
        100_000..=999_999 => format!("{:.1} k", n as f64 / 1e3),
        _ => format!("{:.2} M", n as f64 / 1e6),
    }
}

/// A stage's name as a column of the section (short).
fn column(stage: Stage) -> &'static str {
    match stage {
        Stage::SenderQueue => "sender's\nqueue",
        Stage::Nic => "NIC",
        Stage::Interface => "interface",
        Stage::SocketBuffer => "socket\nbuffer",
        Stage::PacketRing => "TPACKET\nring",
        Stage::XskRings => "AF_XDP\nrings",
        Stage::Unaccounted => "unaccounted",
    }
}

/// What losing a frame at a stage means, and which counter says so (the section's notes).
fn meaning(stage: Stage) -> &'static str {
    match stage {
        Stage::SenderQueue => {
            "sender's queue: the generator's interface refused the frame and the generator \
             gave up on it (it was never sent)"
        }
        Stage::Nic => {
            "NIC: the network card dropped the frame before the kernel saw it, for want of a \
             buffer (the driver's rx_missed_errors, rx_fifo_errors, rx_over_errors)"
        }
        Stage::Interface => {
            "receiving interface: the kernel dropped the frame on arrival, before any \
             socket (rx_dropped; on a veth, its queue to NAPI was full)"
        }
        Stage::SocketBuffer => {
            "socket buffer: the socket's receive buffer was full when the frame came \
             (PACKET_STATISTICS tp_drops): the program read too slowly"
        }
        Stage::PacketRing => {
            "TPACKET ring: the ring shared with the program had no free slot \
             (PACKET_STATISTICS tp_drops, pcap's ps_drop): the program emptied it too slowly"
        }
        Stage::XskRings => {
            "AF_XDP rings: the socket's rx ring was full, or its fill ring empty (no buffer \
             to write the frame into) (XDP_STATISTICS rx_dropped + rx_ring_full)"
        }
        Stage::Unaccounted => {
            "unaccounted: offered but neither received nor counted by any of the above: \
             still in flight when the counting stopped (raise run.drain on a busy machine), \
             or lost where no counter looks"
        }
    }
}

/// The section's title.
pub const TITLE: &str = "Where the frames were lost";

/// The section as a table, `None` when the run has no row for it.
pub fn losses_grid(results: &Results) -> Option<Grid> {
    let rows = results.loss_rows();
    if rows.is_empty() {
        return None;
    }
    let stages = shown_stages(&rows);
    let mut header = vec!["method\nat".to_string(), "offered".to_string()];
    header.extend(stages.iter().map(|s| column(*s).to_string()));
    header.push("reached\nthe app".to_string());
    let body = rows
        .iter()
        .map(|r| {
            let mut line = vec![
                format!("{}\n{}", row_name(results, &r.label), r.at.kind()),
                format!(
                    "{}\n{:.3} Mpps\nn={}",
                    frames(r.offered_frames),
                    r.offered_pps() / 1e6,
                    r.points.len()
                ),
            ];
            line.extend(stages.iter().map(|s| {
                if r.lost_frames.has(*s) {
                    format!("{}\n{}", frames(r.lost_frames.get(*s)), pct(r.pct(*s)))
                } else {
                    "–".to_string()
                }
            }));
            line.push(format!("{}\n{}", frames(r.app_rx_frames), pct(r.received_pct())));
            line
        })
        .collect();
    let mut notes: Vec<String> = stages.iter().map(|s| meaning(*s).to_string()).collect();
    notes.push(
        "n: valid repetitions, their frames added up; % of the frames offered (sent + refused \
         by the sender's queue): each row adds up to 100 %"
            .to_string(),
    );
    Some(Grid {
        caption: "frames offered (at the rate offered), lost at each stage on the way to the \
                  application, and how many reached it: at MRR, and at the NDR search's first \
                  trial that lost frames (NDR 1st loss); –: the method has no such stage"
            .to_string(),
        header,
        rows: body,
        notes,
    })
}

/// Where one method lost its frames at one load in two runs, for `netlab compare`.
#[derive(Debug, Clone, PartialEq)]
pub struct LossChange {
    /// Receiver label.
    pub label: String,
    /// Which load ([`Load::kind`]: `MRR`, `NDR 1st loss`).
    pub at: String,
    /// Per stage shown (`None`: reached the application), % of the frames offered in the
    /// baseline and in the candidate (`None`: that run has no such row, or the method no such
    /// stage).
    pub stages: Vec<(Option<Stage>, Option<f64>, Option<f64>)>,
}

/// Every row of the "where the frames were lost" section either run has, stage by stage: a
/// change that moves the loss from one stage to another shows as one stage down and another
/// up.
pub fn compare_losses(baseline: &Results, candidate: &Results) -> Vec<LossChange> {
    let (a, b) = (baseline.loss_rows(), candidate.loss_rows());
    let mut keys: Vec<(String, String)> = Vec::new();
    for r in a.iter().chain(&b) {
        let key = (r.label.clone(), r.at.kind());
        if !keys.contains(&key) {
            keys.push(key);
        }
    }
    let all: Vec<LossRow<'_>> = a.iter().chain(&b).cloned().collect();
    let stages = shown_stages(&all);
    let find = |rows: &[LossRow<'_>], key: &(String, String), stage: Option<Stage>| {
        let r = rows.iter().find(|r| r.label == key.0 && r.at.kind() == key.1)?;
        match stage {
            Some(stage) => r.lost_frames.has(stage).then(|| r.pct(stage)),
            None => Some(r.received_pct()),
        }
    };
    keys.iter()
        .map(|key| LossChange {
            label: key.0.clone(),
            at: key.1.clone(),
            stages: stages
                .iter()
                .map(|s| Some(*s))
                .chain([None])
                .map(|stage| (stage, find(&a, key, stage), find(&b, key, stage)))
                .collect(),
        })
        .collect()
}

/// The comparison of where the frames were lost, as a table: a row per method and load, a
/// column per stage, each cell A's share, B's and the change.
pub fn losses_change_grid(changes: &[LossChange]) -> Grid {
    let mut header = vec!["method\nat".to_string()];
    if let Some(first) = changes.first() {
        header.extend(first.stages.iter().map(|(stage, _, _)| match stage {
            Some(stage) => column(*stage).to_string(),
            None => "reached\nthe app".to_string(),
        }));
    }
    let opt = |v: Option<f64>| v.map_or_else(|| "–".to_string(), pct);
    let rows = changes
        .iter()
        .map(|c| {
            let mut row = vec![format!("{}\n{}", c.label, c.at)];
            row.extend(c.stages.iter().map(|(_, a, b)| match (a, b) {
                (None, None) => "–".to_string(),
                (Some(a), Some(b)) => format!("A {}\nB {}\n{:+.1} pp", pct(*a), pct(*b), b - a),
                _ => format!("A {}\nB {}", opt(*a), opt(*b)),
            }));
            row
        })
        .collect();
    let mut caption = String::new();
    let _ = write!(
        caption,
        "{}, B against A: % of the frames offered lost at each stage, and reaching the app \
         (pp: percentage points; –: no such stage, or no such row in that run)",
        TITLE.to_lowercase()
    );
    Grid { caption, header, rows, notes: Vec::new() }
}
