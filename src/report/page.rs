//! `report.html` and `report.md`: everything a class reads about one run on one page.
//!
//! The HTML is self-contained — the plots inline as SVG, the style in the page, no script and
//! no other file — so it opens from a mail attachment or a USB stick. Every text that comes
//! from a results file, a manifest or a scenario is escaped. The Markdown links the PNG plots
//! beside it, for pasting into a lab report.

use std::fmt::Write as _;

use super::compare::Comparison;
use super::grid::Grid;
use super::losses::{self, losses_grid};
use super::plot::{Plot, LOSSES_NAME};
use super::table::{grids, invalid_lines, searches_grid, title};
use crate::results::Manifest;
use crate::results::Results;

/// What one report page shows.
#[derive(Debug)]
pub struct Page<'a> {
    /// The run.
    pub results: &'a Results,
    /// Its manifest, when there is one.
    pub manifest: Option<&'a Manifest>,
    /// The scenario copy: file name and text.
    pub scenario: Option<(&'a str, &'a str)>,
    /// The plots.
    pub plots: &'a [Plot],
    /// A comparison against a baseline: its name and the comparison.
    pub comparison: Option<(&'a str, &'a Comparison)>,
}

const STYLE: &str = "body{font-family:sans-serif;max-width:1000px;margin:1em auto;padding:0 1em;\
color:#222}table{border-collapse:collapse;margin:.5em 0}caption{text-align:left;font-style:italic;\
padding:.3em 0}th,td{border:1px solid #bbb;padding:.25em .6em;vertical-align:top}td{text-align:\
right;font-variant-numeric:tabular-nums}thead th{background:#eee}tbody th{text-align:left}\
.note{font-size:.9em;color:#444;margin:.2em 0}pre{background:#f6f6f6;padding:.6em;overflow-x:auto}\
svg{max-width:100%;height:auto;display:block;margin:1em 0}.partial{color:#a00;font-weight:bold}";

/// The report's terms, explained where they first appear (before the tables): (term, meaning).
const TERMS: &[(&str, &str)] = &[
    (
        "NDR — no-drop rate",
        "the highest rate offered at which the method lost no frame at all in a full-length \
         trial (RFC 2544's throughput); a search brackets it with short trials and confirms it \
         with a final one.",
    ),
    (
        "PDR — partial drop rate",
        "the same with a little loss allowed: the highest rate offered at which the method \
         lost at most the target's share of the frames sent (0.5 % unless the scenario says \
         otherwise; FD.io CSIT's PDR).",
    ),
    (
        "MRR — maximum receive rate",
        "what the application received while the generator sent as fast as it could (rate \
         \"max\", FD.io CSIT's MRR). What was offered to get it differs by method — the generator \
         shares the machine with the receiver — and is in the \"where the frames were lost\" \
         table (offered Mpps).",
    ),
    (
        "Why MRR can sit below NDR",
        "under flood the receive core spends its time taking in frames it then drops (receive \
         livelock), so less is left for the application than at a rate it keeps up with.",
    ),
    (
        "NAPI",
        "the kernel's receive loop: instead of an interrupt per frame, the driver's poll \
         function takes frames off the interface's queue in batches and hands them on (to XDP, \
         AF_PACKET, AF_XDP); in these labs it runs in a kernel thread, napi/<interface>-<id>, \
         pinned to the receive core.",
    ),
    (
        "CPU ns/frame, rx + kernel",
        "CPU time per frame the application received: rx is the receiver thread's own time \
         (user + system: its system calls, copies and do_something), kernel the NAPI thread's \
         time taking the frames in (n/a where the kernel ran NAPI without a thread of its own); \
         the total is (rx + kernel) / frames received.",
    ),
];

fn esc(text: &str) -> String {
    html_escape::encode_text(text).into_owned()
}

impl Page<'_> {
    /// The machine and lab, as (name, value) rows.
    fn machine(&self) -> Vec<(&'static str, String)> {
        let Some(m) = self.manifest else { return Vec::new() };
        vec![
            ("netlab", format!("{} ({})", m.netlab_version, m.git_hash)),
            ("kernel", format!("{} {}", m.kernel, m.kernel_version)),
            ("CPU", format!("{} × {} ({})", m.cores, m.cpu_model, m.arch)),
            ("scenario file", format!("{} (sha256 {})", m.scenario_file, m.scenario_hash)),
            ("generator engine", m.engine.clone()),
            ("seed", m.seed.map_or_else(|| "–".to_string(), |s| s.to_string())),
            ("command", m.command.join(" ")),
        ]
    }

    fn times(&self) -> String {
        let r = self.results;
        let mut text = format!(
            "run {} — started {}",
            r.run_id(),
            humantime::format_rfc3339_seconds(r.started)
        );
        if let Some(finished) = r.finished {
            let _ = write!(text, ", finished {}", humantime::format_rfc3339_seconds(finished));
        }
        let _ = write!(text, " — {} B frames", r.frame_len_bytes);
        text
    }

    /// `report.html`.
    pub fn html(&self) -> String {
        let r = self.results;
        let mut out = String::new();
        let _ = write!(
            out,
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n\
             <title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n",
            esc(&format!("netlab: {}", r.scenario))
        );
        let mut heading = title(r).lines().map(str::to_string).collect::<Vec<_>>().into_iter();
        let _ = writeln!(out, "<h1>{}</h1>", esc(&heading.next().unwrap_or_default()));
        for line in heading {
            let _ = writeln!(out, "<p class=\"partial\">{}</p>", esc(&line));
        }
        let _ = writeln!(out, "<p>{}</p>", esc(&self.times()));

        out.push_str("<h2>Terms</h2>\n<dl>\n");
        for (term, meaning) in TERMS {
            let _ = writeln!(out, "<dt><b>{}</b></dt><dd>{}</dd>", esc(term), esc(meaning));
        }
        out.push_str("</dl>\n");

        out.push_str("<h2>Results</h2>\n");
        for grid in grids(r) {
            out.push_str(&grid.html());
        }
        if let Some(grid) = searches_grid(r) {
            out.push_str("<h2>Searches</h2>\n");
            out.push_str(&grid.html());
        }
        if let Some(grid) = losses_grid(r) {
            let _ = writeln!(out, "<h2>{}</h2>", esc(losses::TITLE));
            out.push_str(&grid.html());
            if let Some(plot) = self.plots.iter().find(|p| p.name == LOSSES_NAME) {
                out.push_str(inline_svg(&plot.svg));
                out.push('\n');
            }
        }
        let invalid = invalid_lines(r);
        out.push_str("<h2>Invalid points</h2>\n");
        if invalid.is_empty() {
            out.push_str("<p>None: every point and search counted.</p>\n");
        } else {
            out.push_str("<p>Not averaged in; each with why:</p>\n<ul>\n");
            for line in invalid {
                let _ = writeln!(out, "<li>{}</li>", esc(&line));
            }
            out.push_str("</ul>\n");
        }

        if let Some((name, comparison)) = self.comparison {
            out.push_str("<h2>Against the baseline</h2>\n");
            out.push_str(&comparison.grid(name, &r.run_id()).html());
            if let Some(grid) = comparison.losses_grid() {
                out.push_str(&grid.html());
            }
        }

        out.push_str("<h2>Plots</h2>\n");
        for plot in self.plots.iter().filter(|p| p.name != LOSSES_NAME) {
            let _ = writeln!(out, "<h3>{}</h3>", esc(plot.title));
            out.push_str(inline_svg(&plot.svg));
            out.push('\n');
        }

        out.push_str("<h2>Machine and lab</h2>\n");
        let machine = self.machine();
        if machine.is_empty() {
            out.push_str("<p>No manifest.json in this results directory.</p>\n");
        } else {
            let grid = Grid {
                caption: "from manifest.json".to_string(),
                header: vec!["".to_string(), "value".to_string()],
                rows: machine.into_iter().map(|(k, v)| vec![k.to_string(), v]).collect(),
                notes: Vec::new(),
            };
            out.push_str(&grid.html().replace("<td>", "<td style=\"text-align:left\">"));
        }
        if let Some(m) = self.manifest {
            let lab = serde_json::to_string_pretty(&m.lab).unwrap_or_default();
            let _ = writeln!(out, "<h3>Lab</h3>\n<pre>{}</pre>", esc(&lab));
        }
        out.push_str("<h2>Scenario</h2>\n");
        match self.scenario {
            Some((name, text)) => {
                let _ = writeln!(out, "<p>{}</p>\n<pre>{}</pre>", esc(name), esc(text));
            }
            None => out.push_str("<p>No copy of the scenario in this results directory.</p>\n"),
        }
        out.push_str("</body>\n</html>\n");
        out
    }

    /// `report.md`.
    pub fn markdown(&self) -> String {
        let r = self.results;
        let mut out = String::new();
        let mut heading = title(r).lines().map(str::to_string).collect::<Vec<_>>().into_iter();
        let _ = writeln!(out, "# {}\n", heading.next().unwrap_or_default());
        for line in heading {
            let _ = writeln!(out, "**{line}**\n");
        }
        let _ = writeln!(out, "{}\n\n## Terms\n", self.times());
        for (term, meaning) in TERMS {
            let _ = writeln!(out, "- **{term}**: {meaning}");
        }
        out.push_str("\n## Results\n\n");
        for grid in grids(r) {
            out.push_str(&grid.markdown());
            out.push('\n');
        }
        if let Some(grid) = searches_grid(r) {
            out.push_str("## Searches\n\n");
            out.push_str(&grid.markdown());
            out.push('\n');
        }
        if let Some(grid) = losses_grid(r) {
            let _ = writeln!(out, "## {}\n", losses::TITLE);
            out.push_str(&grid.markdown());
            if self.plots.iter().any(|p| p.name == LOSSES_NAME) {
                let _ = writeln!(out, "\n![{}]({LOSSES_NAME}.png)", losses::TITLE);
            }
            out.push('\n');
        }
        out.push_str("## Invalid points\n\n");
        let invalid = invalid_lines(r);
        if invalid.is_empty() {
            out.push_str("None: every point and search counted.\n\n");
        } else {
            for line in invalid {
                let _ = writeln!(out, "- {line}");
            }
            out.push('\n');
        }
        if let Some((name, comparison)) = self.comparison {
            out.push_str("## Against the baseline\n\n");
            out.push_str(&comparison.grid(name, &r.run_id()).markdown());
            if let Some(grid) = comparison.losses_grid() {
                out.push('\n');
                out.push_str(&grid.markdown());
            }
            out.push('\n');
        }
        out.push_str("## Plots\n\n");
        for plot in self.plots.iter().filter(|p| p.name != LOSSES_NAME) {
            let _ = writeln!(out, "![{}]({}.png)\n", plot.title, plot.name);
        }
        out.push_str("## Machine and lab\n\n");
        let machine = self.machine();
        if machine.is_empty() {
            out.push_str("No manifest.json in this results directory.\n\n");
        } else {
            for (k, v) in machine {
                let _ = writeln!(out, "- {k}: {v}");
            }
            out.push('\n');
        }
        if let Some((name, text)) = self.scenario {
            let _ = writeln!(out, "## Scenario\n\n`{name}`:\n\n```toml\n{}\n```", text.trim_end());
        }
        out
    }
}

/// The `<svg>` element of a plot, without any XML declaration before it.
fn inline_svg(svg: &str) -> &str {
    svg.find("<svg").map_or(svg, |at| &svg[at..])
}
