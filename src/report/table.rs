//! The tables a class reads, built once as [`Grid`]s and rendered three ways: the terminal
//! (`table.txt`), Markdown (`table.md`, `report.md`) and HTML (`report.html`).
//!
//! - The **headline** (when the run searched NDR/PDR or flooded at `max`): one row per method;
//!   each search target's rate found (mean ± sd, n), the rate received under flood (MRR), the
//!   loss there, and CPU per frame at the first target split into receiver and kernel (NAPI).
//!   A figure whose repetitions split into two groups says so ([`super::summary::Figure`]).
//! - The **per-rate** table (when the run had fixed rates): methods as rows, rates as columns;
//!   each cell received Mpps, loss and CPU per frame; a last column the highest rate with no
//!   frame lost. When that table would be wider than [`MAX_WIDTH`] columns it switches to the
//!   long layout: one row per method × rate.
//!
//! Invalid points and searches are counted in their cells, listed with their reason below the
//! tables, never averaged in.

use std::fmt::Write as _;

use super::grid::{pct, row_name, wrap, Grid, MAX_WIDTH};
use super::losses::{self, losses_grid};
use super::summary::{Cell, CpuSplit, Figure, Found, Stat};
use crate::receiver::WAKEUPS_DOMINATE_BELOW_PPS;
use crate::results::{Results, Search};
use crate::scenario::Rate;

/// The tables of `results`: the headline (searches or `max`), then the per-rate table (fixed
/// rates), long when wide.
pub fn grids(results: &Results) -> Vec<Grid> {
    let mut grids = Vec::new();
    if !results.searches.is_empty() || results.has_max() {
        grids.push(headline(results));
    }
    if results.has_fixed_rates() {
        let wide = per_rate(results);
        grids.push(if wide.width() > MAX_WIDTH { per_rate_long(results) } else { wide });
    }
    grids
}

/// The whole report for the terminal (`table.txt`): a title, the tables, where the frames
/// were lost, the invalid points.
pub fn table(results: &Results) -> String {
    let mut out = title(results);
    for grid in grids(results) {
        out.push('\n');
        out.push_str(&grid.text());
    }
    if let Some(grid) = losses_grid(results) {
        let _ = write!(out, "\n{}\n", losses::TITLE);
        out.push_str(&grid.text_within(MAX_WIDTH));
    }
    let invalid = invalid_lines(results);
    if !invalid.is_empty() {
        let _ = writeln!(out, "\ninvalid (not averaged in):");
        for line in invalid {
            for line in wrap(&line, MAX_WIDTH - 2) {
                let _ = writeln!(out, "  {line}");
            }
        }
    }
    out
}

/// The same as Markdown (`table.md`).
pub fn table_markdown(results: &Results) -> String {
    let mut out = String::new();
    for line in title(results).lines() {
        let _ = writeln!(out, "{line}  ");
    }
    for grid in grids(results) {
        out.push('\n');
        out.push_str(&grid.markdown());
    }
    if let Some(grid) = losses_grid(results) {
        let _ = write!(out, "\n## {}\n\n", losses::TITLE);
        out.push_str(&grid.markdown());
    }
    let invalid = invalid_lines(results);
    if !invalid.is_empty() {
        let _ = writeln!(out, "\nInvalid (not averaged in):\n");
        for line in invalid {
            let _ = writeln!(out, "- {}", line.replace('|', "\\|"));
        }
    }
    out
}

/// The title: scenario, description, whether partial.
pub fn title(results: &Results) -> String {
    let mut out = results.scenario.clone();
    if !results.description.is_empty() {
        let _ = write!(out, " — {}", results.description);
    }
    out.push('\n');
    if results.partial {
        let _ = writeln!(
            out,
            "PARTIAL: {} of {} points measured",
            results.points.len(),
            results.planned_points
        );
    }
    out
}

/// One line per point and search still invalid at the end of the run (a point re-measured
/// valid is not listed): what, and why; points by receiver, rate and repetition (scenario
/// order), then searches.
pub fn invalid_lines(results: &Results) -> Vec<String> {
    let receiver = |label: &str| results.receivers.iter().position(|r| r.label == label);
    let rate = |rate: &Rate| results.rates.iter().position(|r| r == rate);
    let mut points = results.still_invalid();
    points.sort_by_key(|p| (receiver(&p.label), rate(&p.rate), p.repetition));
    let mut searches: Vec<&Search> = results.searches.iter().filter(|s| !s.valid).collect();
    searches.sort_by_key(|s| (receiver(&s.label), s.target.name.clone(), s.repetition));
    let mut lines: Vec<String> = points
        .into_iter()
        .map(|p| {
            let attempts = match p.attempt {
                0 | 1 => String::new(),
                n => format!(" (after {n} attempts)"),
            };
            format!(
                "{} @ {} #{}{attempts}: {}",
                p.label,
                p.rate,
                p.repetition,
                p.invalid_reason.as_deref().unwrap_or("invalid")
            )
        })
        .collect();
    lines.extend(searches.into_iter().map(|s| {
        format!(
            "{} {} search #{}: {}",
            s.label,
            s.target.name.to_uppercase(),
            s.repetition,
            s.invalid_reason.as_deref().unwrap_or("invalid")
        )
    }));
    lines
}

/// Every search, one row each: what it found, the bracket it found it in, the trials it took
/// and the loss of its final trial — for the report page (`None` without searches).
pub fn searches_grid(results: &Results) -> Option<Grid> {
    if results.searches.is_empty() {
        return None;
    }
    let receiver = |label: &str| results.receivers.iter().position(|r| r.label == label);
    let targets = results.targets();
    let target = |name: &str| targets.iter().position(|(t, _)| t == name);
    let mut searches: Vec<&Search> = results.searches.iter().collect();
    searches.sort_by_key(|s| (receiver(&s.label), target(&s.target.name), s.repetition));
    let rate =
        |pps: Option<f64>| pps.map_or_else(|| "–".to_string(), |p| format!("{:.3}", p / 1e6));
    let rows = searches
        .iter()
        .map(|s| {
            let last = s.final_trial.and_then(|i| s.trials.get(i));
            vec![
                s.label.clone(),
                s.target.name.to_uppercase(),
                s.repetition.to_string(),
                match (s.valid, s.found_pps) {
                    (false, _) => "invalid".to_string(),
                    (true, None) => "below range".to_string(),
                    (true, Some(found)) => rate(Some(found)),
                },
                format!("{} .. {}", rate(s.lower_pps), rate(s.upper_pps)),
                format!(
                    "{} ({} invalid)",
                    s.trials.len(),
                    // A trial held back by the receiving side failed the rate: measured.
                    s.trials.iter().filter(|t| !t.valid && !t.held_back()).count()
                ),
                last.map_or_else(
                    || "–".to_string(),
                    |t| format!("{} in {:.1} s", pct(t.loss_pct), t.counters.duration_s),
                ),
            ]
        })
        .collect();
    Some(Grid {
        caption: "every search: the rate found (Mpps, as its final trial measured it), the \
                  bracket it lies in (highest rate passed .. lowest failed), the trials it took, \
                  the loss of its final trial"
            .to_string(),
        header: ["method", "target", "#", "found", "bracket", "trials", "final trial loss"]
            .map(String::from)
            .to_vec(),
        rows,
        notes: Vec::new(),
    })
}

/// The headline: one row per method.
fn headline(results: &Results) -> Grid {
    let headlines = results.headlines();
    let targets = results.targets();
    let mut header = vec!["method".to_string()];
    header.extend(targets.iter().map(|(name, loss)| target_header(name, *loss)));
    if results.has_max() {
        header.push("MRR Mpps\n(rx at max)".to_string());
        header.push("loss\nat MRR".to_string());
    }
    if let Some((first, _)) = targets.first() {
        header.push(format!("CPU ns/frame\nat {}\nrx + kernel", first.to_uppercase()));
    }
    let mut notes = Vec::new();
    let mut any_split = false;
    let mut any_idle = false;
    let rows = headlines
        .iter()
        .map(|h| {
            let mut row = vec![row_name(results, &h.label)];
            for found in &h.targets {
                any_split |= found.found_pps.as_ref().is_some_and(|f| f.split.is_some());
                row.push(found_text(found));
            }
            if results.has_max() {
                any_split |= h.mrr_pps.as_ref().is_some_and(|f| f.split.is_some());
                let invalid = h.mrr_points.iter().filter(|p| !p.valid).count();
                row.push(match &h.mrr_pps {
                    Some(f) => with_invalid(figure_text(f), invalid, h.mrr_points.len()),
                    None if h.mrr_points.is_empty() => "not run".to_string(),
                    None => format!("invalid ×{invalid}"),
                });
                row.push(h.mrr_loss_pct.map_or_else(|| "–".to_string(), |l| pct(l.mean)));
            }
            if !targets.is_empty() {
                any_idle |= h.cpu.is_some_and(|c| c.idle_dominated());
                row.push(h.cpu.map_or_else(|| "–".to_string(), |c| cpu_text(&c)));
            }
            row
        })
        .collect();
    let mut caption = String::from(
        "Mpps: NDR/PDR the highest rate whose final trial kept within the loss target (as the \
        generator offered it), MRR received at max; mean ± sd, n = repetitions",
    );
    if targets.is_empty() {
        caption = "Mpps received at max (CSIT's MRR), mean ± sd, n = repetitions".to_string();
    }
    if any_split {
        notes.push(
            "split: the repetitions fell into two groups (each group's mean ×count); their \
             mean would be a rate no run showed"
                .to_string(),
        );
    }
    if headlines.iter().any(|h| h.targets.iter().any(|f| f.at_least)) {
        notes.push("≥: the search's highest rate passed (the range's top, or the generator's limit): the method takes at least that".into());
    }
    if any_idle {
        notes.push(idle_note());
    }
    if !targets.is_empty() {
        notes.push(
            "CPU ns/frame = (receiver thread + NAPI kthread CPU time) / frames received"
                .to_string(),
        );
    }
    Grid { caption, header, rows, notes }
}

fn target_header(name: &str, loss_pct: f64) -> String {
    let what = match name {
        "ndr" => "no loss".to_string(),
        _ => format!("loss ≤ {}", pct(loss_pct)),
    };
    format!("{} Mpps\n({what})", name.to_uppercase())
}

fn found_text(found: &Found<'_>) -> String {
    let total = found.searches.len();
    if total == 0 {
        return "not run".to_string();
    }
    let invalid = found.invalid();
    let mut text = match &found.found_pps {
        Some(f) => {
            let prefix = if found.at_least { "≥ " } else { "" };
            format!("{prefix}{}", figure_text(f))
        }
        None if found.none_found > 0 => "below the\nlowest rate".to_string(),
        None => return format!("invalid ×{invalid}"),
    };
    if found.none_found > 0 && found.found_pps.is_some() {
        let _ = write!(text, "\n({} below range)", found.none_found);
    }
    with_invalid(text, invalid, total)
}

fn with_invalid(mut text: String, invalid: usize, total: usize) -> String {
    if invalid > 0 {
        let _ = write!(text, "\n({invalid} of {total} invalid)");
    }
    text
}

/// `1.234 ± 0.012` over `n=3`, or `split:` over `1.600 ×1` over `3.200 ×2` for a split
/// figure (values in pps, shown in Mpps).
pub fn figure_text(f: &Figure) -> String {
    match f.split {
        Some((low, high)) => {
            // Every low value lies below the midpoint of the two means, every high one above.
            let middle = (low.mean + high.mean) / 2.0;
            let lows = f.values.iter().filter(|v| **v < middle).count();
            format!(
                "split:\n{:.3} ×{lows}\n{:.3} ×{}",
                low.mean / 1e6,
                high.mean / 1e6,
                f.n() - lows
            )
        }
        None => format!("{}\nn={}", mpps(f.stat), f.n()),
    }
}

/// `("650 *", "455 + 195")`: total (marked when idle wake-ups dominate), receiver + kernel;
/// `("—", "455 + —")` when the kernel's part was not measured (never a 0 in its place).
fn cpu_lines(c: &CpuSplit) -> (String, String) {
    let mark = if c.idle_dominated() { " *" } else { "" };
    match c.kernel {
        Some(k) => {
            (format!("{:.0}{mark}", c.total()), format!("{:.0} + {:.0}", c.receiver.mean, k.mean))
        }
        None => ("—".to_string(), format!("{:.0} + —", c.receiver.mean)),
    }
}

/// Two lines: `650 *` over `455 + 195`.
fn cpu_text(c: &CpuSplit) -> String {
    let (total, parts) = cpu_lines(c);
    format!("{total}\n{parts}")
}

/// One line: `650 * (455 + 195)`.
fn cpu_inline(c: &CpuSplit) -> String {
    let (total, parts) = cpu_lines(c);
    format!("{total} ({parts})")
}

fn idle_note() -> String {
    format!(
        "*: measured below {:.0} kpps received with the receiver keeping up: idle wake-ups \
         dominate the CPU per frame",
        WAKEUPS_DOMINATE_BELOW_PPS / 1e3
    )
}

/// Mpps, `mean ± sd` (sd only when there is one).
pub fn mpps(stat: Stat) -> String {
    if stat.sd > 0.0 {
        format!("{:.3} ± {:.3}", stat.mean / 1e6, stat.sd / 1e6)
    } else {
        format!("{:.3}", stat.mean / 1e6)
    }
}

/// Rates as columns.
fn per_rate(results: &Results) -> Grid {
    let rates = fixed_rates(results);
    let mut header = vec!["method".to_string()];
    header.extend(rates.iter().map(|r| r.to_string()));
    header.push("no loss\nup to".to_string());
    let mut any_idle = false;
    let rows = results
        .receivers
        .iter()
        .map(|receiver| {
            let mut row = vec![row_name(results, &receiver.label)];
            for rate in &rates {
                let cell = results.cell(&receiver.label, *rate);
                any_idle |= cell_idle(&cell);
                row.push(cell_text(&cell));
            }
            row.push(lossless_text(results, &receiver.label));
            row
        })
        .collect();
    Grid { caption: per_rate_caption(), header, rows, notes: per_rate_notes(any_idle) }
}

/// One row per method × rate.
fn per_rate_long(results: &Results) -> Grid {
    let header =
        ["method", "rate", "received Mpps", "loss", "CPU ns/frame\nrx + kernel", "no loss up to"]
            .map(String::from)
            .to_vec();
    let mut any_idle = false;
    let mut rows = Vec::new();
    for receiver in &results.receivers {
        for (i, rate) in fixed_rates(results).iter().enumerate() {
            let cell = results.cell(&receiver.label, *rate);
            any_idle |= cell_idle(&cell);
            let (rx, loss, cpu) = match cell.achieved_pps {
                _ if cell.points.is_empty() => {
                    ("not run".to_string(), String::new(), String::new())
                }
                None => (format!("invalid ×{}", cell.invalid()), String::new(), String::new()),
                Some(rx) => (
                    with_invalid(mpps(rx), cell.invalid(), cell.points.len()),
                    cell.loss_pct.map_or_else(String::new, |l| pct(l.mean)),
                    CpuSplit::of(cell.points.iter().copied())
                        .map_or_else(|| "–".to_string(), |c| cpu_inline(&c)),
                ),
            };
            rows.push(vec![
                if i == 0 { row_name(results, &receiver.label) } else { String::new() },
                rate.to_string(),
                rx,
                loss,
                cpu,
                if i == 0 { lossless_text(results, &receiver.label) } else { String::new() },
            ]);
        }
    }
    Grid { caption: per_rate_caption(), header, rows, notes: per_rate_notes(any_idle) }
}

/// The rates of the per-rate table: all but `max` (the headline's MRR).
fn fixed_rates(results: &Results) -> Vec<Rate> {
    results.rates.iter().copied().filter(|r| !matches!(r, Rate::Max)).collect()
}

fn per_rate_caption() -> String {
    "received Mpps at each rate asked (mean ± sd of valid repetitions), loss % of sent, \
     CPU ns/frame"
        .to_string()
}

fn per_rate_notes(any_idle: bool) -> Vec<String> {
    let mut notes = vec![
        "CPU ns/frame = (receiver thread + NAPI kthread CPU time) / frames received, shown as \
         total and receiver + kernel"
            .to_string(),
        "no loss up to: the highest fixed rate at which every valid repetition kept every frame"
            .to_string(),
    ];
    if any_idle {
        notes.push(idle_note());
    }
    notes
}

fn cell_idle(cell: &Cell<'_>) -> bool {
    CpuSplit::of(cell.points.iter().copied()).is_some_and(|c| c.idle_dominated())
}

fn lossless_text(results: &Results, label: &str) -> String {
    match results.lossless_rate(label) {
        Some((rate, offered)) => {
            format!("{rate}\n({} Mpps)", mpps(Stat { mean: offered, sd: 0.0 }))
        }
        None if results
            .points
            .iter()
            .any(|p| p.label == label && p.valid && p.asked_pps.is_some()) =>
        {
            "lost frames\nat every rate".to_string()
        }
        None => "not measured".to_string(),
    }
}

fn cell_text(cell: &Cell<'_>) -> String {
    if cell.points.is_empty() {
        return "not run".to_string();
    }
    let Some(rx) = cell.achieved_pps else {
        return format!("invalid ×{}", cell.invalid());
    };
    let mut text = mpps(rx);
    if let Some(loss) = cell.loss_pct {
        let _ = write!(text, "\n{} loss", pct(loss.mean));
    }
    if let Some(cpu) = CpuSplit::of(cell.points.iter().copied()) {
        let (_, parts) = cpu_lines(&cpu);
        let mark = if cpu.idle_dominated() { " *" } else { "" };
        let total = cpu.kernel.map_or_else(|| "—".to_string(), |_| format!("{:.0}", cpu.total()));
        let _ = write!(text, "\n{total} ns/frame{mark}\n({parts})");
    }
    with_invalid(text, cell.invalid(), cell.points.len())
}
