//! The terminal table: receivers as rows, rates as columns; each cell received Mpps (mean ± sd
//! of the valid repetitions), loss % and ns/frame; a last column gives each method's lossless
//! rate (the highest rate asked at which it kept every frame). Invalid points are counted in the
//! cell and listed with their reason below the table, never averaged in.

use std::fmt::Write as _;

use comfy_table::{presets, CellAlignment, ContentArrangement, Table};

use super::results::Results;
use super::summary::{Cell, Stat};

/// The whole report for the terminal: a title line, the table, and the invalid points.
pub fn table(results: &Results) -> String {
    let mut out = String::new();
    let _ = write!(out, "{}", results.scenario);
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
    let _ = writeln!(
        out,
        "received Mpps (mean ± sd of valid repetitions), loss % of sent, \
         ns/frame = (receiver + NAPI CPU) / frame received"
    );

    let mut grid = Table::new();
    grid.load_preset(presets::UTF8_FULL)
        .force_no_tty()
        .set_content_arrangement(ContentArrangement::Disabled);
    let mut header = vec!["method".to_string()];
    header.extend(results.rates.iter().map(|r| format!("{r}")));
    header.push("lossless up to".to_string());
    grid.set_header(header);
    let cells = results.cells();
    for receiver in &results.receivers {
        let mut row = vec![if receiver.label == receiver.method.name() {
            receiver.label.clone()
        } else {
            format!("{}\n({})", receiver.label, receiver.method)
        }];
        row.extend(cells.iter().filter(|c| c.label == receiver.label).map(cell_text));
        row.push(match results.lossless_rate(&receiver.label) {
            Some((rate, offered)) => {
                format!("{rate}\n({} Mpps)", mpps(Stat { mean: offered, sd: 0.0 }))
            }
            None => "none asked".to_string(),
        });
        grid.add_row(row);
    }
    for column in grid.column_iter_mut().skip(1) {
        column.set_cell_alignment(CellAlignment::Right);
    }
    let _ = writeln!(out, "{grid}");

    let invalid: Vec<_> = results.points.iter().filter(|p| !p.valid).collect();
    if !invalid.is_empty() {
        let _ = writeln!(out, "invalid points (not averaged in):");
        for p in invalid {
            let _ = writeln!(
                out,
                "  {} @ {} #{}: {}",
                p.label,
                p.rate,
                p.repetition,
                p.invalid_reason.as_deref().unwrap_or("invalid")
            );
        }
    }
    out
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
        let _ = write!(text, "\n{:.1} % loss", loss.mean);
    }
    if let Some(ns) = cell.ns_per_frame {
        let _ = write!(text, "\n{:.0} ns/frame", ns.mean);
    }
    if cell.invalid() > 0 {
        let _ = write!(text, "\n({} of {} invalid)", cell.invalid(), cell.points.len());
    }
    text
}

fn mpps(stat: Stat) -> String {
    if stat.sd > 0.0 {
        format!("{:.3} ± {:.3}", stat.mean / 1e6, stat.sd / 1e6)
    } else {
        format!("{:.3}", stat.mean / 1e6)
    }
}
