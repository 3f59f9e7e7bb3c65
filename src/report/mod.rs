//! Results of a run: the data model, the tables, the plots, the report page, the results
//! directory and `compare`.
//!
//! How the runner uses it:
//! ```text
//! let mut results = Results::new(&scenario, frame_len);           // partial = true
//! let dir = ResultsDir::create(base, &scenario, results.started, &Manifest::collect(..))?;
//! for each point:  results.points.push(Point::new(&receiver, rate, rep, frame_len, ipv4, counters));
//!                  dir.write_results(&results)?;                  // every file rewritten atomically
//! results.finish();                                               // partial = points < planned
//! dir.write_results(&results)?;  outln!("{}", report::table(&results))?;
//! ```
//! A Ctrl-C'd run calls `finish` and `write_results` too: the files then hold the points done so
//! far with `"partial": true`. [`write_dir`] does create + write in one call; `netlab report`
//! opens an existing directory ([`ResultsDir::open`]) and writes everything but `results.json`
//! again ([`ResultsDir::write_report`]).
//!
//! The directory holds `results.json` ([`Results`], every counter, units in the field names,
//! [`SCHEMA_VERSION`], `docs/results.schema.json`), `results.csv` (one row per point and search
//! trial), `manifest.json` ([`Manifest`]), a copy of the scenario, `table.txt` and `table.md`
//! ([`table`]: the headline NDR/PDR/MRR per method, the per-rate table, where the frames were
//! lost), the plots as SVG and PNG ([`plots`]: `rates`, `cpu`, `losses`, `received`, `loss`,
//! `ns_per_frame`), and `report.html` / `report.md` ([`Page`]: the same, with the report's terms
//! explained).
//!
//! Every point carries its loss budget ([`budget`]): the frames offered (sent + refused by the
//! sender's queue) and, by [`Stage`] in the order a frame travels, where those the application
//! did not receive were lost, so that received + lost = offered exactly for a valid point.
//!
//! Units everywhere: pps = frames per second; L2 Mbps = frame bytes without the FCS × 8 / 10⁶
//! (as tcpreplay counts); wire Mbps = (frame bytes + 24) × 8 / 10⁶; ns/frame = CPU time of the
//! receiver thread plus the NAPI kthread over the frames the receiver counted
//! ([`crate::receiver::CpuPerFrame`]), kept in its two parts; offered = frames the generator
//! sent / counting window.

mod compare;
mod losses;
mod manifest;
mod page;
mod plot;
mod results;
mod results_csv;
mod results_dir;
mod summary;
mod table;

pub use compare::{compare, Comparison, Measure, Row, Verdict, DEFAULT_TOLERANCE};
pub use losses::{budget, compare_losses, Load, LossChange, LossRow, LostFrames, Stage};
pub use manifest::Manifest;
pub use page::Page;
pub use plot::{plots, png, Plot};
pub use results::{
    Counters, Drops, Ipv4Sent, Point, Receiver, Results, Search, SearchTarget, Shortfall,
    MIN_OFFERED_FRACTION, SCHEMA_VERSION, WIRE_OVERHEAD_BYTES,
};
pub use results_csv::to_csv;
pub use results_dir::{results_file, write_dir, ResultsDir, SavedRun};
pub use summary::{Cell, CpuSplit, Figure, Found, Headline, Stat, SPLIT_GAP_FRACTION};
pub use table::{grids, invalid_lines, table, table_markdown, xdp_modes, Grid, MAX_WIDTH};
