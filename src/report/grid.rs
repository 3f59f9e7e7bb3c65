//! A table as every view builds it ([`Grid`]: a caption, a header, rows of cells, notes) and
//! its three renderings — box-drawn text for the terminal (within [`MAX_WIDTH`] columns),
//! Markdown, HTML — with the cell texts every table shares: a method's row name
//! ([`row_name`], naming the XDP modes its figures come from: [`xdp_modes`]) and a percentage
//! that never rounds a loss away ([`pct`]).

use std::fmt::Write as _;

use comfy_table::{presets, CellAlignment, ContentArrangement, Table};

use crate::results::Results;

/// The widest a table may print, in terminal columns.
pub const MAX_WIDTH: usize = 100;

/// A table: a caption, a header, rows of cells (a cell may hold several lines), notes below.
#[derive(Debug, Clone, PartialEq)]
pub struct Grid {
    /// What the table shows, units included.
    pub caption: String,
    /// Column names.
    pub header: Vec<String>,
    /// Rows; each as wide as the header.
    pub rows: Vec<Vec<String>>,
    /// Footnotes.
    pub notes: Vec<String>,
}

impl Grid {
    /// Box-drawn text, as the terminal shows it.
    pub fn text(&self) -> String {
        self.render(None)
    }

    /// Box-drawn text whose cells wrap to keep it within `width` columns.
    pub fn text_within(&self, width: usize) -> String {
        self.render(Some(width))
    }

    fn render(&self, width: Option<usize>) -> String {
        let mut grid = Table::new();
        grid.load_preset(presets::UTF8_FULL).force_no_tty().set_header(self.header.clone());
        match width {
            Some(width) => {
                grid.set_content_arrangement(ContentArrangement::Dynamic)
                    .set_width(u16::try_from(width).unwrap_or(u16::MAX));
            }
            None => {
                grid.set_content_arrangement(ContentArrangement::Disabled);
            }
        }
        for row in &self.rows {
            grid.add_row(row.clone());
        }
        for column in grid.column_iter_mut().skip(1) {
            column.set_cell_alignment(CellAlignment::Right);
        }
        let mut out = String::new();
        let wrap_at = width.unwrap_or(MAX_WIDTH);
        for line in wrap(&self.caption, wrap_at) {
            let _ = writeln!(out, "{line}");
        }
        let _ = writeln!(out, "{grid}");
        for note in &self.notes {
            for line in wrap(note, wrap_at) {
                let _ = writeln!(out, "{line}");
            }
        }
        out
    }

    /// The widest line of the table itself in [`Grid::text`], in characters.
    pub fn width(&self) -> usize {
        self.text()
            .lines()
            .filter(|l| l.starts_with(['┌', '│', '├', '╞', '└']))
            .map(|l| l.chars().count())
            .max()
            .unwrap_or(0)
    }

    /// A Markdown (GitHub) table; the lines of a cell joined with `<br>`.
    pub fn markdown(&self) -> String {
        let cell = |text: &str| text.replace('|', "\\|").replace('\n', "<br>");
        let mut out = format!("{}\n\n", self.caption);
        let _ = writeln!(
            out,
            "| {} |",
            self.header.iter().map(|h| cell(h)).collect::<Vec<_>>().join(" | ")
        );
        let _ = writeln!(
            out,
            "|{}",
            self.header
                .iter()
                .enumerate()
                .map(|(i, _)| if i == 0 { "---|" } else { "---:|" })
                .collect::<String>()
        );
        for row in &self.rows {
            let _ = writeln!(
                out,
                "| {} |",
                row.iter().map(|c| cell(c)).collect::<Vec<_>>().join(" | ")
            );
        }
        if !self.notes.is_empty() {
            out.push('\n');
            for note in &self.notes {
                let _ = writeln!(out, "{note}  ");
            }
        }
        out
    }

    /// An HTML `<table>` with its caption and notes; every text escaped.
    pub fn html(&self) -> String {
        let cell = |text: &str| {
            text.lines()
                .map(|l| html_escape::encode_text(l).into_owned())
                .collect::<Vec<_>>()
                .join("<br/>")
        };
        let mut out = format!("<table>\n<caption>{}</caption>\n<thead><tr>", cell(&self.caption));
        for h in &self.header {
            let _ = write!(out, "<th>{}</th>", cell(h));
        }
        out.push_str("</tr></thead>\n<tbody>\n");
        for row in &self.rows {
            out.push_str("<tr>");
            for (i, c) in row.iter().enumerate() {
                let tag = if i == 0 { "th" } else { "td" };
                let _ = write!(out, "<{tag}>{}</{tag}>", cell(c));
            }
            out.push_str("</tr>\n");
        }
        out.push_str("</tbody>\n</table>\n");
        for note in &self.notes {
            let _ = writeln!(out, "<p class=\"note\">{}</p>", cell(note));
        }
        out
    }
}

/// `text` broken at spaces into lines of at most `width` characters (a longer word stays whole);
/// continuation lines indented by two.
pub(super) fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split(' ') {
        let len = line.chars().count();
        if len > 0 && len + 1 + word.chars().count() > width {
            lines.push(std::mem::replace(&mut line, "  ".to_string()));
        }
        if !line.is_empty() && !line.ends_with("  ") {
            line.push(' ');
        }
        line.push_str(word);
    }
    lines.push(line);
    lines
}

/// A method's row name: its label, then in brackets its method when the label differs and the
/// XDP modes its figures come from ([`xdp_modes`]): `skb\n(fastnet:3, generic XDP, copy)`.
pub(super) fn row_name(results: &Results, label: &str) -> String {
    let method = results.receivers.iter().find(|r| r.label == label && r.label != r.method.name());
    let notes: Vec<String> =
        method.map(|r| r.method.to_string()).into_iter().chain(xdp_modes(results, label)).collect();
    match notes.as_slice() {
        [] => label.to_string(),
        notes => format!("{label}\n({})", notes.join(", ")),
    }
}

/// The XDP modes the points and search trials of receiver `label` ran in (`native XDP, copy`;
/// `generic XDP` for xdp-drop on a driver without native XDP), every one met when they differ
/// (`; `-separated); `None` for a method without XDP or results that did not record them.
/// Generic mode pays an skb per frame like an AF_PACKET socket: a figure says which it is.
pub fn xdp_modes(results: &Results, label: &str) -> Option<String> {
    let points = results.points.iter().chain(results.searches.iter().flat_map(|s| &s.trials));
    let mut notes: Vec<String> = Vec::new();
    for p in points.filter(|p| p.label == label) {
        let note = crate::receiver::xdp_modes_note(p.counters.xdp_mode, p.counters.xsk_bind);
        if let Some(note) = note.filter(|n| !notes.contains(n)) {
            notes.push(note);
        }
    }
    (!notes.is_empty()).then(|| notes.join("; "))
}

/// A percentage that never rounds a loss to zero: `0 %` only when nothing was lost; below 1 %
/// two significant digits (`0.025 %`), above one decimal.
pub fn pct(value: f64) -> String {
    if value == 0.0 {
        "0 %".to_string()
    } else if value.abs() >= 1.0 {
        format!("{value:.1} %")
    } else {
        let decimals = (-value.abs().log10().floor()) as usize + 1;
        format!("{value:.decimals$} %")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grids_render_as_markdown_and_escaped_html() {
        let grid = Grid {
            caption: "rates <asked>".to_string(),
            header: vec!["method".to_string(), "NDR Mpps\n(no loss)".to_string()],
            rows: vec![vec!["a|b & <c>".to_string(), "1.000\nn=3".to_string()]],
            notes: vec!["x < y".to_string()],
        };
        let md = grid.markdown();
        assert!(md.contains("| method | NDR Mpps<br>(no loss) |\n|---|---:|\n"), "{md}");
        assert!(md.contains("| a\\|b & <c> | 1.000<br>n=3 |"), "{md}");
        let html = grid.html();
        assert!(html.contains("<caption>rates &lt;asked&gt;</caption>"), "{html}");
        assert!(html.contains("<th>a|b &amp; &lt;c&gt;</th><td>1.000<br/>n=3</td>"), "{html}");
        assert!(html.contains("<p class=\"note\">x &lt; y</p>"), "{html}");
        assert!(!html.contains("<c>"), "{html}");
    }

    #[test]
    fn percentages_never_round_a_loss_away() {
        assert_eq!(pct(0.0), "0 %");
        assert_eq!(pct(0.025), "0.025 %");
        assert_eq!(pct(0.5), "0.50 %");
        assert_eq!(pct(0.000_1), "0.00010 %");
        assert_eq!(pct(12.34), "12.3 %");
        assert_eq!(pct(100.0), "100.0 %");
    }
}
