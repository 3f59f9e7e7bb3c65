//! A loss-targeted search (RFC 2544 NDR, FD.io CSIT's PDR) of one receiver: what it looked
//! for ([`SearchTarget`]), what it found and every trial it ran ([`Search`]).

use serde::{Deserialize, Serialize};

use super::point::Point;
use crate::scenario::Method;

/// A loss target a search looks for (RFC 2544 throughput, FD.io CSIT's NDR and PDR).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchTarget {
    /// Its name: `ndr` (no loss), `pdr` (partial drop rate), or the scenario's own.
    pub name: String,
    /// The most loss a passing trial may have, percent of the frames sent (NDR 0, PDR 0.5).
    pub loss_pct: f64,
}

/// One search of one receiver for one target: the highest offered rate whose final,
/// full-length trial lost no more than the target allows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Search {
    /// Receiver label.
    pub label: String,
    /// Receiver method.
    pub method: Method,
    /// What it looked for.
    pub target: SearchTarget,
    /// Repetition, from 1.
    pub repetition: u32,
    /// The rate found, frames per second: what its passing final trial measured — the rate
    /// asked, or what the generator offered when it fell behind it ([`Point::measured_pps`]);
    /// `None` when even the search's lowest rate lost too much.
    pub found_pps: Option<f64>,
    /// The highest rate that passed (the rate found, frames per second).
    pub lower_pps: Option<f64>,
    /// The lowest rate that failed (frames per second: asked in a short trial, as measured in a
    /// final one); `None` when the search's highest rate passed (the answer is at least
    /// `lower_pps`).
    pub upper_pps: Option<f64>,
    /// Every trial, in the order run: short ones first, full-length final ones last.
    pub trials: Vec<Point>,
    /// Index in `trials` of the final trial at `found_pps`: the point whose counters (loss,
    /// CPU per frame) the search reports.
    pub final_trial: Option<usize>,
    /// False when the search could not be completed (its trials kept coming out invalid).
    pub valid: bool,
    /// Why it is invalid.
    pub invalid_reason: Option<String>,
}
