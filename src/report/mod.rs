//! The views of a run's results ([`crate::results`]): the tables, the plots, the report page,
//! the results directory that holds them all, and `compare`.
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
//! The directory holds `results.json` ([`Results`](crate::results::Results),
//! `docs/results.schema.json`), `results.csv` (one row per point and search trial),
//! `manifest.json` ([`Manifest`](crate::results::Manifest)), a copy of the scenario, `table.txt`
//! and `table.md` ([`table`]: the headline NDR/PDR/MRR per method, the per-rate table, where the
//! frames were lost), the plots as SVG and PNG ([`plots`]: `rates`, `cpu`, `losses`,
//! `received`, `loss`, `ns_per_frame`), and `report.html` / `report.md` ([`Page`]: the same,
//! with the report's terms explained).
//!
//! "Where the frames were lost" adds up the loss budgets of each method's points at one load
//! ([`LossRow`]; [`compare_losses`] sets two runs' side by side).

mod compare;
mod grid;
mod losses;
mod page;
mod plot;
mod results_csv;
mod results_dir;
mod summary;
mod table;

pub use compare::{compare, Comparison, Measure, Row, Verdict, DEFAULT_TOLERANCE};
pub use grid::{xdp_modes, Grid, MAX_WIDTH};
pub use losses::{compare_losses, Load, LossChange, LossRow};
pub use page::Page;
pub use plot::{plots, png, Plot};
pub use results_csv::to_csv;
pub use results_dir::{results_file, write_dir, ResultsDir, SavedRun};
pub use summary::{Cell, CpuSplit, Figure, Found, Headline, Stat, SPLIT_GAP_FRACTION};
pub use table::{grids, invalid_lines, table, table_markdown};
