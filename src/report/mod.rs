//! Results of a run: the data model, the terminal table, the results directory and `compare`.
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
//! far with `"partial": true`. [`write_dir`] does create + write in one call.
//!
//! The directory holds `results.json` ([`Results`], every counter, units in the field names),
//! `results.csv` (one row per point), `manifest.json` ([`Manifest`]), a copy of the scenario, and
//! `received.svg` (received vs offered per method — the lecture's graph), `loss.svg`,
//! `ns_per_frame.svg`.
//!
//! Units everywhere: pps = frames per second; L2 Mbps = frame bytes without the FCS × 8 / 10⁶
//! (as tcpreplay counts); wire Mbps = (frame bytes + 24) × 8 / 10⁶; ns/frame = CPU time of the
//! receiver thread plus the NAPI kthread over the frames the receiver counted; offered = frames
//! the generator sent / counting window.

mod compare;
mod manifest;
mod plot;
mod results;
mod results_csv;
mod results_dir;
mod summary;
mod table;

pub use compare::{compare, Comparison, Row, Verdict};
pub use manifest::{HostFacts, Manifest};
pub use plot::plots;
pub use results::{
    Counters, Drops, Ipv4Sent, Point, Receiver, Results, Search, SearchTarget,
    MIN_OFFERED_FRACTION, WIRE_OVERHEAD_BYTES,
};
pub use results_csv::to_csv;
pub use results_dir::{write_dir, ResultsDir};
pub use summary::{Cell, Stat};
pub use table::table;
