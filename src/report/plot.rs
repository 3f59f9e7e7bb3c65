//! SVG plots (plotters, SVG backend): one line per receiver against the rate offered (counted at
//! the generator), means of the valid repetitions with ± sd bars; invalid points drawn as ×.

use anyhow::anyhow;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::results::{Point, Results};
use super::summary::Stat;

/// The plots written into a results directory: file name and SVG text.
pub fn plots(results: &Results) -> anyhow::Result<Vec<(&'static str, String)>> {
    Ok(vec![
        (
            "received.svg",
            chart(
                results,
                "frames received vs offered",
                "received by the app (Mpps)",
                |p| Some(p.achieved_pps / 1e6),
                true,
            )?,
        ),
        (
            "loss.svg",
            chart(
                results,
                "loss vs offered",
                "loss (% of frames sent)",
                |p| Some(p.loss_pct),
                false,
            )?,
        ),
        (
            "ns_per_frame.svg",
            chart(
                results,
                "CPU cost per frame received",
                "receiver + NAPI CPU (ns/frame)",
                |p| p.ns_per_frame,
                false,
            )?,
        ),
    ])
}

/// Tableau 10: distinguishable, also in print.
const COLOURS: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

struct Series {
    label: String,
    /// (offered Mpps, mean, sd) per rate with valid points.
    means: Vec<(f64, Stat)>,
    /// (offered Mpps, value) of each invalid point.
    invalid: Vec<(f64, f64)>,
}

fn chart(
    results: &Results,
    title: &str,
    y_desc: &str,
    value: impl Fn(&Point) -> Option<f64>,
    diagonal: bool,
) -> anyhow::Result<String> {
    let series: Vec<Series> = results
        .receivers
        .iter()
        .map(|receiver| {
            let mut means: Vec<(f64, Stat)> = results
                .rates
                .iter()
                .filter_map(|rate| {
                    let cell = results.cell(&receiver.label, *rate);
                    let valid: Vec<&Point> =
                        cell.points.iter().copied().filter(|p| p.valid).collect();
                    let x = cell.offered_pps?.mean / 1e6;
                    Some((x, Stat::of(valid.iter().filter_map(|p| value(p)))?))
                })
                .collect();
            means.sort_by(|a, b| a.0.total_cmp(&b.0));
            let invalid = results
                .points
                .iter()
                .filter(|p| !p.valid && p.label == receiver.label)
                .filter_map(|p| Some((p.offered_pps / 1e6, value(p)?)))
                .collect();
            let label = if receiver.label == receiver.method.name() {
                receiver.label.clone()
            } else {
                format!("{} ({})", receiver.label, receiver.method)
            };
            Series { label, means, invalid }
        })
        .collect();

    let x_max = results.points.iter().map(|p| p.offered_pps / 1e6).fold(0.0, f64::max);
    let y_max = series
        .iter()
        .flat_map(|s| {
            s.means.iter().map(|(_, st)| st.mean + st.sd).chain(s.invalid.iter().map(|(_, y)| *y))
        })
        .fold(if diagonal { x_max } else { 0.0 }, f64::max);
    let x_max = nice_ceiling(x_max);
    let y_max = nice_ceiling(y_max);

    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (960, 600)).into_drawing_area();
        let fail = |e: &dyn std::fmt::Display| anyhow!("cannot draw {title}: {e}");
        root.fill(&WHITE).map_err(|e| fail(&e))?;
        let subtitle = format!(
            "{} — {} B frames — {}{}",
            results.scenario,
            results.frame_len_bytes,
            humantime::format_rfc3339_seconds(results.started),
            if results.partial { " — PARTIAL" } else { "" }
        );
        let (header, body) = root.split_vertically(64);
        let centre = |size: f64, colour: RGBColor| {
            ("sans-serif", size)
                .into_font()
                .color(&colour)
                .pos(Pos::new(HPos::Center, VPos::Center))
        };
        header
            .draw(&Text::new(title.to_string(), (480, 22), centre(24.0, BLACK)))
            .map_err(|e| fail(&e))?;
        header
            .draw(&Text::new(subtitle, (480, 50), centre(14.0, RGBColor(90, 90, 90))))
            .map_err(|e| fail(&e))?;
        let (plot_area, legend_area) = body.split_horizontally(740);
        let mut chart = ChartBuilder::on(&plot_area)
            .margin(16)
            .margin_top(4)
            .x_label_area_size(56)
            .y_label_area_size(80)
            .build_cartesian_2d(0f64..x_max, 0f64..y_max)
            .map_err(|e| fail(&e))?;
        chart
            .configure_mesh()
            .x_desc("offered (Mpps, frames sent by the generator / s)")
            .y_desc(y_desc)
            .axis_desc_style(("sans-serif", 16))
            .label_style(("sans-serif", 14))
            .max_light_lines(2)
            .light_line_style(RGBColor(242, 242, 242))
            .bold_line_style(RGBColor(215, 215, 215))
            .draw()
            .map_err(|e| fail(&e))?;

        // The legend beside the plot, where it can hide no data.
        let grey = RGBColor(150, 150, 150);
        let mut legend = Legend { area: &legend_area, row: 0 };
        if diagonal {
            let end = x_max.min(y_max);
            chart
                .draw_series(DashedLineSeries::new([(0.0, 0.0), (end, end)], 6, 4, grey.into()))
                .map_err(|e| fail(&e))?;
            legend.entry("received = offered", grey, false).map_err(|e| fail(&e))?;
        }
        for (i, s) in series.iter().enumerate() {
            let colour = COLOURS[i % COLOURS.len()];
            let line: Vec<(f64, f64)> = s.means.iter().map(|(x, st)| (*x, st.mean)).collect();
            chart
                .draw_series(LineSeries::new(line.clone(), colour.stroke_width(2)))
                .map_err(|e| fail(&e))?;
            chart
                .draw_series(line.iter().map(|&p| Circle::new(p, 4, colour.filled())))
                .map_err(|e| fail(&e))?;
            chart
                .draw_series(s.means.iter().filter(|(_, st)| st.sd > 0.0).map(|(x, st)| {
                    PathElement::new(
                        [(*x, st.mean - st.sd), (*x, st.mean + st.sd)],
                        colour.stroke_width(1),
                    )
                }))
                .map_err(|e| fail(&e))?;
            chart
                .draw_series(s.invalid.iter().map(|&p| Cross::new(p, 5, colour.stroke_width(2))))
                .map_err(|e| fail(&e))?;
            legend.entry(&s.label, colour, false).map_err(|e| fail(&e))?;
        }
        if series.iter().any(|s| !s.invalid.is_empty()) {
            legend.entry("invalid point", BLACK, true).map_err(|e| fail(&e))?;
            legend.entry("(not averaged)", WHITE, false).map_err(|e| fail(&e))?;
        }
        if series.iter().any(|s| s.means.iter().any(|(_, st)| st.sd > 0.0)) {
            legend.entry("bars: ± sd", WHITE, false).map_err(|e| fail(&e))?;
        }
        root.present().map_err(|e| fail(&e))?;
    }
    Ok(svg)
}

/// A round upper bound a little above `value` (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8 × 10ⁿ).
fn nice_ceiling(value: f64) -> f64 {
    if value <= 0.0 || !value.is_finite() {
        return 1.0;
    }
    let target = value * 1.05;
    let magnitude = 10f64.powf(target.log10().floor());
    [1.0, 1.2, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0]
        .iter()
        .map(|m| m * magnitude)
        .find(|v| *v >= target)
        .unwrap_or(10.0 * magnitude)
}

/// Legend entries drawn one under the other in their own area.
struct Legend<'a, 'b> {
    area: &'a DrawingArea<SVGBackend<'b>, plotters::coord::Shift>,
    row: i32,
}

impl Legend<'_, '_> {
    /// A line (or, with `cross`, a ×) in `colour` and `text` beside it.
    fn entry(
        &mut self,
        text: &str,
        colour: RGBColor,
        cross: bool,
    ) -> Result<(), DrawingAreaErrorKind<std::io::Error>> {
        let y = 24 + self.row * 24;
        self.row += 1;
        if cross {
            self.area.draw(&Cross::new((18, y), 5, colour.stroke_width(2)))?;
        } else {
            self.area.draw(&PathElement::new([(6, y), (30, y)], colour.stroke_width(3)))?;
        }
        let font =
            ("sans-serif", 15).into_font().color(&BLACK).pos(Pos::new(HPos::Left, VPos::Center));
        self.area.draw(&Text::new(text.to_string(), (38, y), font))
    }
}

#[cfg(test)]
mod tests {
    use super::nice_ceiling;

    #[test]
    fn nice_ceilings() {
        assert_eq!(nice_ceiling(0.0), 1.0);
        assert_eq!(nice_ceiling(0.95), 1.0);
        assert_eq!(nice_ceiling(1.0), 1.2);
        assert_eq!(nice_ceiling(4.3), 5.0);
        assert_eq!(nice_ceiling(97.0), 120.0);
    }
}
