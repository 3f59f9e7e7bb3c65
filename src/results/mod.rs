//! The results of a run, the data the runner records and every view reads: every point with
//! every counter, units in the field names, judged valid or not; the searches; the loss budget
//! of each point; the provenance of the run. `results.json` is [`Results`] (its layout version
//! [`SCHEMA_VERSION`], described by `docs/results.schema.json`), `manifest.json` [`Manifest`].
//!
//! - this file: [`Results`] (the run: its receivers, rates, points and searches; reading and
//!   writing `results.json`) and [`Receiver`];
//! - `counters`: what the runner measured for one point ([`Counters`], [`Drops`]);
//! - `point`: one rate × receiver × repetition ([`Point`]): the figures derived from its
//!   counters and the rules that judge it ([`MIN_OFFERED_FRACTION`], [`Ipv4Sent`],
//!   [`Shortfall`]);
//! - `search`: a loss-targeted search ([`Search`], [`SearchTarget`]) and its trials;
//! - `budget`: where a point's frames were lost ([`budget`], [`Stage`], [`LostFrames`]): the
//!   frames offered (sent + refused by the sender's queue) and, by stage in the order a frame
//!   travels, where those the application did not receive were lost, so that received + lost
//!   = offered exactly for a valid point;
//! - `manifest`: what produced the run ([`Manifest`]: netlab's build, the machine, the scenario,
//!   the lab).
//!
//! What the views make of a run (its headline cells, the loss rows of "where the frames were
//! lost") is [`crate::report`]'s, beside the tables and plots that show it.
//!
//! Units everywhere: `_frames` are frame counts, `_pps` frames per second (pps), `_ns`
//! nanoseconds of CPU time, `_s` seconds, `_pct` percent; L2 Mbps (`l2_mbps`) = frame bytes
//! without the FCS × 8 / 10⁶ per second (as tcpreplay counts); wire Mbps (`wire_mbps`) adds
//! [`WIRE_OVERHEAD_BYTES`] per frame (preamble 8 + FCS 4 + gap 12); ns/frame = CPU time of the
//! receiver thread plus the NAPI kthread over the frames the receiver counted
//! ([`crate::receiver::CpuPerFrame`]), kept in its two parts; offered = frames the generator
//! sent / counting window.

use std::path::Path;
use std::time::SystemTime;

use anyhow::Context as _;
use serde::{Deserialize, Serialize};

use crate::exit::bad_input;
use crate::scenario::{Method, Rate, Scenario};

mod budget;
mod counters;
mod manifest;
mod point;
mod search;

pub use budget::{budget, LostFrames, Stage};
pub use counters::{Counters, Drops};
pub use manifest::Manifest;
pub use point::{Ipv4Sent, Point, Shortfall, MIN_OFFERED_FRACTION, WIRE_OVERHEAD_BYTES};
pub use search::{Search, SearchTarget};

/// The layout version of `results.json` this netlab writes. 1: before the field existed;
/// 2: `schema_version`, `searches`, CPU per frame in parts; 3: every point's `offered_frames`
/// and `lost_frames` (where the frames were lost), `drops.sender_queue_frames` and
/// `drops.nic_frames`, and the XDP modes of a point (`xdp_mode`, `xsk_bind`).
/// `docs/results.schema.json` describes it; a file from a newer netlab is refused rather than
/// misread, one from an older one gets its budgets from its counters.
pub const SCHEMA_VERSION: u32 = 3;

fn schema_version_1() -> u32 {
    1
}

/// The results of one run (`results.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Results {
    /// The layout version ([`SCHEMA_VERSION`]; 1 when absent).
    #[serde(default = "schema_version_1")]
    pub schema_version: u32,
    /// Scenario name.
    pub scenario: String,
    /// Scenario description.
    pub description: String,
    /// When the run started (UTC, RFC 3339 in JSON).
    #[serde(with = "rfc3339")]
    pub started: SystemTime,
    /// When it finished or was interrupted (`None` while running).
    #[serde(with = "rfc3339_option")]
    pub finished: Option<SystemTime>,
    /// True unless every planned point was measured ([`Results::finish`] clears it).
    pub partial: bool,
    /// Points planned: rates × receivers × repetitions.
    pub planned_points: usize,
    /// L2 length of the frame sent, bytes without the FCS.
    pub frame_len_bytes: u64,
    /// The receivers in scenario order: the rows of the table.
    pub receivers: Vec<Receiver>,
    /// The rates in scenario order: the columns of the table.
    pub rates: Vec<Rate>,
    /// Every point measured at a fixed rate (or `max`, CSIT's MRR), in the order measured.
    pub points: Vec<Point>,
    /// Every loss-targeted search (NDR, PDR), in the order finished; its trials are its own.
    #[serde(default)]
    pub searches: Vec<Search>,
    /// Searches planned: targets × receivers × repetitions (0 in results of runs without).
    #[serde(default)]
    pub planned_searches: usize,
}

/// A receiver of the run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receiver {
    /// Its label (unique in the run).
    pub label: String,
    /// Its method.
    pub method: Method,
}

/// `<scenario>-<YYYYMMDDTHHMMSSZ>` ([`Results::run_id`]).
pub(crate) fn run_id(scenario: &str, started: SystemTime) -> String {
    let stamp: String = humantime::format_rfc3339_seconds(started)
        .to_string()
        .chars()
        .filter(|c| !matches!(c, '-' | ':'))
        .collect();
    format!("{scenario}-{stamp}")
}

impl Results {
    /// Empty results for `scenario`, started now, `partial` until [`Results::finish`].
    pub fn new(scenario: &Scenario, frame_len_bytes: u64) -> Results {
        Results {
            schema_version: SCHEMA_VERSION,
            scenario: scenario.name.clone(),
            description: scenario.description.clone(),
            started: SystemTime::now(),
            finished: None,
            partial: true,
            planned_points: scenario.points(),
            frame_len_bytes,
            receivers: scenario
                .receivers
                .iter()
                .map(|r| Receiver { label: r.label.clone(), method: r.method })
                .collect(),
            rates: scenario.generator.rates.clone(),
            points: Vec::new(),
            searches: Vec::new(),
            planned_searches: scenario.searches(),
        }
    }

    /// Records the end: `partial` stays true when fewer points or searches than planned were
    /// made (an interrupted run).
    pub fn finish(&mut self) {
        self.finished = Some(SystemTime::now());
        self.partial =
            self.points.len() < self.planned_points || self.searches.len() < self.planned_searches;
    }

    /// The points at fixed rates whose last measurement (highest attempt) is invalid, in the
    /// order first measured: what the end of a run measures again, and what stays invalid.
    pub fn still_invalid(&self) -> Vec<&Point> {
        let mut last: Vec<&Point> = Vec::new();
        for p in &self.points {
            match last
                .iter_mut()
                .find(|q| q.label == p.label && q.rate == p.rate && q.repetition == p.repetition)
            {
                Some(q) if p.attempt >= q.attempt => *q = p,
                Some(_) => {}
                None => last.push(p),
            }
        }
        last.retain(|p| !p.valid);
        last
    }

    /// The search targets of the run, lowest loss first (NDR before PDR), each once.
    pub fn targets(&self) -> Vec<(String, f64)> {
        let mut targets: Vec<(String, f64)> = Vec::new();
        for s in &self.searches {
            if !targets.iter().any(|(name, _)| *name == s.target.name) {
                targets.push((s.target.name.clone(), s.target.loss_pct));
            }
        }
        targets.sort_by(|a, b| a.1.total_cmp(&b.1));
        targets
    }

    /// True when the run asked for `max` (the MRR column).
    pub fn has_max(&self) -> bool {
        self.rates.contains(&Rate::Max)
    }

    /// True when the run has fixed rates other than `max` (the per-rate table).
    pub fn has_fixed_rates(&self) -> bool {
        self.rates.iter().any(|r| !matches!(r, Rate::Max))
    }

    /// The run's identity: `<scenario>-<started, UTC, YYYYMMDDTHHMMSSZ>`, the name of its
    /// results directory (before any `-2` a clash appends) and the `run_id` column of
    /// `results.csv`.
    pub fn run_id(&self) -> String {
        run_id(&self.scenario, self.started)
    }

    /// Reads a `results.json`. A file that is not one, or one from a newer netlab, is a
    /// bad-input error naming it.
    pub fn read(path: &Path) -> anyhow::Result<Results> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| bad_input(format!("{}: cannot read results: {e}", path.display())))?;
        let results: Results = serde_json::from_str(&text).map_err(|e| {
            bad_input(format!(
                "{}:{}:{}: not a netlab results.json: {e}",
                path.display(),
                e.line(),
                e.column()
            ))
        })?;
        if results.schema_version > SCHEMA_VERSION {
            return Err(bad_input(format!(
                "{}: schema_version {} is newer than this netlab reads ({SCHEMA_VERSION}): \
                 update netlab",
                path.display(),
                results.schema_version
            )));
        }
        let mut results = results;
        if results.schema_version < 3 {
            results.derive_budgets();
        }
        Ok(results)
    }

    /// Derives every point's and trial's loss budget from its counters (results written
    /// before the budget was recorded: without the sender's queue and the NIC's counters).
    fn derive_budgets(&mut self) {
        let points =
            self.points.iter_mut().chain(self.searches.iter_mut().flat_map(|s| &mut s.trials));
        for p in points {
            (p.offered_frames, p.lost_frames) = budget(p.method, &p.counters);
        }
    }

    /// The JSON form (pretty).
    pub fn to_json(&self) -> anyhow::Result<String> {
        serde_json::to_string_pretty(self).context("cannot serialise results")
    }
}

/// `SystemTime` as an RFC 3339 UTC string.
mod rfc3339 {
    use std::time::SystemTime;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(t: &SystemTime, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&humantime::format_rfc3339_nanos(*t))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<SystemTime, D::Error> {
        let text = String::deserialize(d)?;
        humantime::parse_rfc3339(&text).map_err(serde::de::Error::custom)
    }
}

/// `Option<SystemTime>` as an RFC 3339 UTC string or null.
mod rfc3339_option {
    use std::time::SystemTime;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(
        t: &Option<SystemTime>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => super::rfc3339::serialize(t, s),
            None => s.serialize_none(),
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<SystemTime>, D::Error> {
        Option::<String>::deserialize(d)?
            .map(|text| humantime::parse_rfc3339(&text).map_err(serde::de::Error::custom))
            .transpose()
    }
}
