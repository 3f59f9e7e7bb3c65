//! The plots of a run (plotters' SVG backend; PNG copies rendered from the SVG by resvg):
//!
//! - `rates.svg` — the lecture's bar chart: Mpps per method, one bar per search target (NDR,
//!   PDR) and for the rate received under flood (MRR), mean with ± sd bars and a dot per
//!   repetition (a split figure shows as two groups of dots);
//! - `cpu.svg` — CPU per frame per method, stacked receiver / kernel (NAPI), at NDR (or, with
//!   no search, at the method's highest lossless fixed rate, else its highest valid one, else
//!   at `max`);
//! - `received.svg`, `loss.svg`, `ns_per_frame.svg` — against the rate offered (counted at the
//!   generator): a marker per rate measured (mean of the valid repetitions, ± sd bars, a ring per
//!   repetition) and no line between them, which would claim something about rates nobody measured; invalid points
//!   as ×, search trials as small triangles; a log x axis when the rates span more than 10×;
//!   loss capped at 100 %.

use std::sync::{Arc, OnceLock};

use anyhow::{anyhow, Context as _};
use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::losses::{self, shown_stages, LossRow};
use super::summary::{CpuSplit, Figure, Stat};
use crate::results::{Point, Results, Stage};
use crate::scenario::Rate;

/// A plot: its file stem and SVG text.
#[derive(Debug, Clone, PartialEq)]
pub struct Plot {
    /// File name without extension (`rates`, `received`…).
    pub name: &'static str,
    /// Its title.
    pub title: &'static str,
    /// The SVG text.
    pub svg: String,
}

/// The plots for `results`: `rates` and `cpu` when there is something to put in them, the
/// three against the rate offered always.
pub fn plots(results: &Results) -> anyhow::Result<Vec<Plot>> {
    let mut plots = Vec::new();
    if !results.searches.is_empty() || results.has_max() {
        plots.push(Plot { name: "rates", title: RATES_TITLE, svg: rates_chart(results)? });
    }
    let cpu = cpu_bars(results);
    if !cpu.is_empty() {
        plots.push(Plot { name: "cpu", title: CPU_TITLE, svg: cpu_chart(results, &cpu)? });
    }
    let losses = results.loss_rows();
    if !losses.is_empty() {
        plots.push(Plot {
            name: LOSSES_NAME,
            title: losses::TITLE,
            svg: losses_chart(results, &losses)?,
        });
    }
    let against = [
        ("received", "frames received vs offered", "received by the app (Mpps)", Against::Received),
        ("loss", "loss vs offered", "loss (% of frames sent)", Against::Loss),
        (
            "ns_per_frame",
            "CPU per frame received vs offered",
            "receiver + NAPI CPU (ns/frame)",
            Against::Cpu,
        ),
    ];
    for (name, title, y_desc, what) in against {
        plots.push(Plot { name, title, svg: offered_chart(results, title, y_desc, what)? });
    }
    Ok(plots)
}

const RATES_TITLE: &str = "Mpps per method";
/// The file stem of the "where the frames were lost" bars (`losses.svg`).
pub const LOSSES_NAME: &str = "losses";
const CPU_TITLE: &str = "CPU per frame received, receiver + kernel";

/// Tableau 10 without its grey (the reference line's colour): distinguishable, also in print.
const COLOURS: [RGBColor; 9] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];
const GREY: RGBColor = RGBColor(150, 150, 150);
const SIZE: (u32, u32) = (960, 600);

type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;

fn fail(title: &str, e: impl std::fmt::Display) -> anyhow::Error {
    anyhow!("cannot draw {title}: {e}")
}

/// What a step of drawing returns: the SVG backend's error, if any.
type Drawn<T = ()> = Result<T, DrawingAreaErrorKind<std::io::Error>>;

/// A chart in the frame every plot shares: an SVG of [`SIZE`], the title and the run's subtitle
/// on top, below them the plot (`plot_width` pixels wide) and right of it the legend, both
/// drawn by `draw`.
fn framed(
    results: &Results,
    title: &str,
    plot_width: u32,
    draw: impl FnOnce(&Area<'_>, &mut Legend<'_, '_>) -> Drawn,
) -> anyhow::Result<String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        let body = header(&root, results, title).map_err(|e| fail(title, e))?;
        let (plot_area, legend_area) = body.split_horizontally(plot_width);
        let mut legend = Legend { area: &legend_area, row: 0 };
        draw(&plot_area, &mut legend).map_err(|e| fail(title, e))?;
        root.present().map_err(|e| fail(title, e))?;
    }
    Ok(svg)
}

/// The title and the run's subtitle on top; the rest of the area below.
fn header<'a>(root: &Area<'a>, results: &Results, title: &str) -> Drawn<Area<'a>> {
    root.fill(&WHITE)?;
    let subtitle = format!(
        "{} — {} B frames — {}{}",
        results.scenario,
        results.frame_len_bytes,
        humantime::format_rfc3339_seconds(results.started),
        if results.partial { " — PARTIAL" } else { "" }
    );
    let (header, body) = root.split_vertically(64);
    let centre = |size: f64, colour: RGBColor| {
        ("sans-serif", size).into_font().color(&colour).pos(Pos::new(HPos::Center, VPos::Center))
    };
    let middle = SIZE.0 as i32 / 2;
    header.draw(&Text::new(title.to_string(), (middle, 22), centre(24.0, BLACK)))?;
    header.draw(&Text::new(subtitle, (middle, 50), centre(14.0, RGBColor(90, 90, 90))))?;
    Ok(body)
}

/// A chart's coordinates on `area`, with the margins every chart has and room for the axes'
/// labels: `labels` pixels under the plot and left of it.
fn coordinates<'a, 'b, 'c>(
    area: &'a Area<'b>,
    (under, left): (u32, u32),
) -> ChartBuilder<'a, 'c, SVGBackend<'b>> {
    let mut builder = ChartBuilder::on(area);
    builder.margin(16).margin_top(4).x_label_area_size(under).y_label_area_size(left);
    builder
}

/// The fonts and grid lines of every chart's axes; the chart adds what they say.
fn mesh<'a, 'b, DB, X, Y, XT, YT>(
    chart: &'b mut ChartContext<'a, DB, Cartesian2d<X, Y>>,
) -> plotters::chart::MeshStyle<'a, 'b, X, Y, DB>
where
    DB: DrawingBackend,
    X: Ranged<ValueType = XT> + plotters::coord::ranged1d::ValueFormatter<XT>,
    Y: Ranged<ValueType = YT> + plotters::coord::ranged1d::ValueFormatter<YT>,
{
    let mut mesh = chart.configure_mesh();
    mesh.axis_desc_style(("sans-serif", 16))
        .label_style(("sans-serif", 14))
        .light_line_style(RGBColor(242, 242, 242))
        .bold_line_style(RGBColor(215, 215, 215));
    mesh
}

/// Legend entries drawn one under the other in their own area, where they hide no data.
struct Legend<'a, 'b> {
    area: &'a Area<'b>,
    row: i32,
}

#[derive(Clone, Copy)]
enum Mark {
    Line,
    Dashed,
    Dot,
    Cross,
    Triangle,
    Ring,
    Box,
    Text,
}

impl Legend<'_, '_> {
    fn entry(&mut self, text: &str, colour: RGBColor, mark: Mark) -> Drawn {
        let y = 24 + self.row * 24;
        self.row += 1;
        match mark {
            Mark::Line => {
                self.area.draw(&PathElement::new([(6, y), (30, y)], colour.stroke_width(3)))?
            }
            Mark::Dashed => {
                self.area.draw(&PathElement::new([(6, y), (14, y)], colour.stroke_width(2)))?;
                self.area.draw(&PathElement::new([(22, y), (30, y)], colour.stroke_width(2)))?
            }
            Mark::Dot => self.area.draw(&Circle::new((18, y), 5, colour.filled()))?,
            Mark::Cross => self.area.draw(&Cross::new((18, y), 5, colour.stroke_width(2)))?,
            Mark::Triangle => {
                self.area.draw(&TriangleMarker::new((18, y), 5, colour.stroke_width(1)))?
            }
            Mark::Ring => self.area.draw(&Circle::new((18, y), 3, colour.stroke_width(1)))?,
            Mark::Box => {
                self.area.draw(&Rectangle::new([(8, y - 7), (28, y + 7)], colour.filled()))?
            }
            Mark::Text => {}
        }
        let font =
            ("sans-serif", 15).into_font().color(&BLACK).pos(Pos::new(HPos::Left, VPos::Center));
        self.area.draw(&Text::new(text.to_string(), (38, y), font))
    }
}

/// A receiver's name in a legend or under a bar.
fn name(results: &Results, label: &str) -> String {
    match results.receivers.iter().find(|r| r.label == label) {
        Some(r) if r.label != r.method.name() => format!("{} ({})", r.label, r.method),
        _ => label.to_string(),
    }
}

/// One bar of the rates chart.
struct Bar {
    what: String,
    figure: Option<Figure>,
}

fn rates_chart(results: &Results) -> anyhow::Result<String> {
    let headlines = results.headlines();
    let groups: Vec<(String, Vec<Bar>)> = headlines
        .iter()
        .map(|h| {
            let mut bars: Vec<Bar> = h
                .targets
                .iter()
                .map(|f| Bar { what: f.target.to_uppercase(), figure: f.found_pps.clone() })
                .collect();
            if results.has_max() {
                bars.push(Bar { what: "MRR".to_string(), figure: h.mrr_pps.clone() });
            }
            (name(results, &h.label), bars)
        })
        .collect();
    let kinds: Vec<String> = groups
        .first()
        .map(|(_, bars)| bars.iter().map(|b| b.what.clone()).collect())
        .unwrap_or_default();
    let figures =
        || groups.iter().flat_map(|(_, bars)| bars.iter().filter_map(|b| b.figure.as_ref()));
    let y_max = figures()
        .flat_map(|f| f.values.iter().copied().chain([f.stat.mean + f.stat.sd]))
        .fold(0.0, f64::max)
        / 1e6;
    framed(results, RATES_TITLE, 780, |plot, legend| {
        let axes = BarAxes {
            slots: groups.len().max(1) as f64,
            y_max: nice_ceiling(y_max),
            x_label_area: 48,
            y_desc: "Mpps (NDR/PDR: offered, kept within the target; MRR: received)",
            y_format: &|y| format!("{y:.1}"),
        };
        let mut chart = axes.draw(plot)?;
        let width = 0.8 / kinds.len().max(1) as f64;
        for (g, (method, bars)) in groups.iter().enumerate() {
            let label_style =
                ("sans-serif", 15).into_font().color(&BLACK).pos(Pos::new(HPos::Center, VPos::Top));
            chart.draw_series([EmptyElement::at((g as f64 + 0.5, 0.0))
                + Text::new(method.clone(), (0, 10), label_style)])?;
            for (k, bar) in bars.iter().enumerate() {
                let Some(f) = &bar.figure else { continue };
                let left = g as f64 + 0.1 + k as f64 * width;
                rate_bar(&mut chart, (left, width), COLOURS[k % COLOURS.len()], f)?;
            }
        }
        for (k, kind) in kinds.iter().enumerate() {
            legend.entry(kind, COLOURS[k % COLOURS.len()], Mark::Box)?;
        }
        legend.entry("one repetition", BLACK, Mark::Dot)?;
        legend.entry("bars: mean ± sd", BLACK, Mark::Text)?;
        if figures().any(|f| f.split.is_some()) {
            legend.entry("pale: split into", BLACK, Mark::Text)?;
            legend.entry("two groups; the", BLACK, Mark::Text)?;
            legend.entry("dots tell", BLACK, Mark::Text)?;
        }
        Ok(())
    })
}

/// A bar of the rates chart from `left`, `width` wide: the mean (pale when the figure is
/// split), ± sd bars with caps, a dot per repetition.
fn rate_bar(
    chart: &mut BarChart<'_, '_>,
    (left, width): (f64, f64),
    colour: RGBColor,
    f: &Figure,
) -> Drawn {
    let centre = left + width / 2.0;
    let (mean, sd) = (f.stat.mean / 1e6, f.stat.sd / 1e6);
    let fill = if f.split.is_some() { colour.mix(0.35) } else { colour.mix(0.9) };
    chart.draw_series([Rectangle::new(
        [(left + width * 0.05, 0.0), (left + width * 0.95, mean)],
        fill.filled(),
    )])?;
    // A bar shorter than a pixel would be a degenerate path: leave it out.
    let visible =
        chart.backend_coord(&(centre, mean - sd)) != chart.backend_coord(&(centre, mean + sd));
    if sd > 0.0 && visible {
        let cap = width * 0.15;
        let line =
            |from: (f64, f64), to: (f64, f64)| PathElement::new([from, to], BLACK.stroke_width(1));
        chart.draw_series([
            line((centre, mean - sd), (centre, mean + sd)),
            line((centre - cap, mean + sd), (centre + cap, mean + sd)),
            line((centre - cap, mean - sd), (centre + cap, mean - sd)),
        ])?;
    }
    chart
        .draw_series(f.values.iter().map(|v| Circle::new((centre, v / 1e6), 3, BLACK.filled())))?;
    Ok(())
}

/// The axes of a bar chart: one slot per method along x (no x grid or labels: each chart
/// writes the methods under their slots), 0 to `y_max` up with a light grid.
struct BarAxes<'f> {
    slots: f64,
    y_max: f64,
    /// Room under the plot for the methods' names (and what a chart adds there).
    x_label_area: u32,
    y_desc: &'f str,
    y_format: &'f dyn Fn(&f64) -> String,
}

/// A bar chart's drawing context on an SVG area.
type BarChart<'a, 'b> =
    ChartContext<'a, SVGBackend<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

impl BarAxes<'_> {
    fn draw<'a, 'b>(&self, area: &'a Area<'b>) -> Drawn<BarChart<'a, 'b>> {
        let mut chart = coordinates(area, (self.x_label_area, 80))
            .build_cartesian_2d(0f64..self.slots, 0f64..self.y_max)?;
        mesh(&mut chart)
            .disable_x_mesh()
            .x_labels(0)
            .y_desc(self.y_desc)
            .y_label_formatter(self.y_format)
            .draw()?;
        Ok(chart)
    }
}

/// Per method: CPU per frame and where it was measured (`NDR`, a rate).
fn cpu_bars(results: &Results) -> Vec<(String, CpuSplit, String)> {
    let headlines = results.headlines();
    results
        .receivers
        .iter()
        .filter_map(|r| {
            let h = headlines.iter().find(|h| h.label == r.label)?;
            if let (Some(cpu), Some(first)) = (h.cpu, h.targets.first()) {
                return Some((name(results, &r.label), cpu, first.target.to_uppercase()));
            }
            // No search: the highest lossless fixed rate, else the highest fixed rate measured
            // validly, else max.
            let rate = results
                .lossless_rate(&r.label)
                .map(|(rate, _)| rate)
                .or_else(|| {
                    results
                        .rates
                        .iter()
                        .filter(|rate| !matches!(rate, Rate::Max))
                        .filter_map(|&rate| {
                            Some((rate, results.cell(&r.label, rate).offered_pps?.mean))
                        })
                        .max_by(|a, b| a.1.total_cmp(&b.1))
                        .map(|(rate, _)| rate)
                })
                .or_else(|| results.has_max().then_some(Rate::Max))?;
            let cpu = CpuSplit::of(results.cell(&r.label, rate).points.iter().copied())?;
            Some((name(results, &r.label), cpu, rate.to_string()))
        })
        .collect()
}

fn cpu_chart(results: &Results, bars: &[(String, CpuSplit, String)]) -> anyhow::Result<String> {
    let y_max = nice_ceiling(bars.iter().map(|(_, c, _)| c.total()).fold(0.0, f64::max));
    framed(results, CPU_TITLE, 780, |plot, legend| {
        let axes = BarAxes {
            slots: bars.len().max(1) as f64,
            y_max,
            x_label_area: 56,
            y_desc: "CPU ns per frame received",
            y_format: &|y| format!("{y:.0}"),
        };
        let mut chart = axes.draw(plot)?;
        let (receiver, kernel) = (COLOURS[0], COLOURS[1]);
        let mut any_idle = false;
        for (i, (method, cpu, at)) in bars.iter().enumerate() {
            let (left, right) = (i as f64 + 0.25, i as f64 + 0.75);
            let rx = cpu.receiver.mean;
            let total = cpu.total();
            // A part less than a pixel high is left out: an SVG rect of height 0 is not valid.
            let parts = [(0.0, rx, receiver), (rx, total, kernel)];
            let pixel_y = |y: f64| chart.as_coord_spec().translate(&(left, y)).1;
            let parts: Vec<_> =
                parts.into_iter().filter(|(from, to, _)| pixel_y(*to) != pixel_y(*from)).collect();
            chart.draw_series(parts.into_iter().map(|(from, to, colour)| {
                Rectangle::new([(left, from), (right, to)], colour.filled())
            }))?;
            let idle = if cpu.idle_dominated() { " *" } else { "" };
            any_idle |= cpu.idle_dominated();
            let top = ("sans-serif", 14)
                .into_font()
                .color(&BLACK)
                .pos(Pos::new(HPos::Center, VPos::Bottom));
            let below =
                ("sans-serif", 15).into_font().color(&BLACK).pos(Pos::new(HPos::Center, VPos::Top));
            chart.draw_series([
                EmptyElement::at((i as f64 + 0.5, total))
                    + Text::new(format!("{total:.0}{idle}"), (0, -4), top),
                EmptyElement::at((i as f64 + 0.5, 0.0))
                    + Text::new(method.clone(), (0, 8), below.clone()),
                EmptyElement::at((i as f64 + 0.5, 0.0))
                    + Text::new(format!("at {at}"), (0, 28), below),
            ])?;
        }
        legend.entry("kernel (NAPI)", kernel, Mark::Box)?;
        legend.entry("receiver", receiver, Mark::Box)?;
        if any_idle {
            legend.entry("*: idle wake-ups", BLACK, Mark::Text)?;
            legend.entry("dominate (low rate)", BLACK, Mark::Text)?;
        }
        Ok(())
    })
}

/// A stage's colour in the "where the frames were lost" bars (`None`: reached the app).
fn stage_colour(stage: Option<Stage>) -> RGBColor {
    match stage {
        Some(Stage::SenderQueue) => COLOURS[4],
        Some(Stage::Nic) => COLOURS[5],
        Some(Stage::Interface) => COLOURS[3],
        Some(Stage::SocketBuffer) => COLOURS[1],
        Some(Stage::PacketRing) => COLOURS[7],
        Some(Stage::XskRings) => COLOURS[6],
        Some(Stage::Unaccounted) => GREY,
        None => COLOURS[2],
    }
}

/// One horizontal bar per method and load (MRR, the NDR search's first losing trial): the
/// frames offered as 100 %, cut into the stages where they were lost in the order a frame
/// travels, then the part that reached the app, then what no counter saw.
fn losses_chart(results: &Results, rows: &[LossRow<'_>]) -> anyhow::Result<String> {
    let stages = shown_stages(rows);
    // The parts of a bar, in the order a frame travels: each stage it was lost at (what no
    // counter saw last of them), then the app.
    let parts: Vec<Option<Stage>> = stages.iter().map(|s| Some(*s)).chain([None]).collect();
    let share = |row: &LossRow<'_>, part: Option<Stage>| match part {
        Some(stage) => row.pct(stage),
        None => row.received_pct(),
    };
    let n = rows.len().max(1) as f64;
    framed(results, losses::TITLE, 760, |plot, legend| {
        let mut chart = coordinates(plot, (48, 190)).build_cartesian_2d(0f64..100f64, 0f64..n)?;
        mesh(&mut chart)
            .disable_y_mesh()
            .y_labels(0)
            .x_desc("% of the frames offered (sent + refused by the sender's queue)")
            .x_label_formatter(&|x| format!("{x:.0}"))
            .draw()?;
        for (i, row) in rows.iter().enumerate() {
            // The first row on top.
            let (bottom, top) = (n - i as f64 - 0.8, n - i as f64 - 0.2);
            let middle = (bottom + top) / 2.0;
            let mut from = 0.0;
            for part in &parts {
                let to = (from + share(row, *part)).min(100.0);
                let pixel_x = |x: f64| chart.as_coord_spec().translate(&(x, middle)).0;
                // A part less than a pixel wide is left out: an SVG rect of width 0 is not valid.
                if pixel_x(to) != pixel_x(from) {
                    chart.draw_series([Rectangle::new(
                        [(from, bottom), (to, top)],
                        stage_colour(*part).filled(),
                    )])?;
                }
                if to - from >= 12.0 {
                    let inside = ("sans-serif", 14)
                        .into_font()
                        .color(&WHITE)
                        .pos(Pos::new(HPos::Center, VPos::Center));
                    chart.draw_series([EmptyElement::at(((from + to) / 2.0, middle))
                        + Text::new(format!("{:.0} %", to - from), (0, 0), inside)])?;
                }
                from = to;
            }
            let label = |size: f64| {
                ("sans-serif", size)
                    .into_font()
                    .color(&BLACK)
                    .pos(Pos::new(HPos::Right, VPos::Center))
            };
            let at = format!("{}, {:.3} Mpps offered", row.at.kind(), row.offered_pps() / 1e6);
            chart.draw_series([
                EmptyElement::at((0.0, middle))
                    + Text::new(name(results, &row.label), (-8, -9), label(15.0)),
                EmptyElement::at((0.0, middle)) + Text::new(at, (-8, 9), label(12.0)),
            ])?;
        }
        for part in &parts {
            let text = match part {
                Some(stage) => stage.words(),
                None => "reached the app",
            };
            legend.entry(text, stage_colour(*part), Mark::Box)?;
        }
        Ok(())
    })
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Against {
    Received,
    Loss,
    Cpu,
}

impl Against {
    fn value(self, p: &Point) -> Option<f64> {
        match self {
            Against::Received => Some(p.achieved_pps / 1e6),
            Against::Loss => Some(p.loss_pct.min(100.0)),
            Against::Cpu => p.ns_per_frame,
        }
    }
}

struct Series {
    label: String,
    /// (offered Mpps, stat) per rate with valid points.
    means: Vec<(f64, Stat)>,
    /// (offered Mpps, value) of each valid point, when its rate has more than one.
    repetitions: Vec<(f64, f64)>,
    /// (offered Mpps, value) of each invalid point.
    invalid: Vec<(f64, f64)>,
    /// (offered Mpps, value) of each valid search trial.
    trials: Vec<(f64, f64)>,
}

impl Series {
    /// `what` of receiver `label`'s points and trials, against the rate offered.
    fn of(results: &Results, label: &str, what: Against) -> Series {
        let mut means: Vec<(f64, Stat)> = results
            .rates
            .iter()
            .filter_map(|rate| {
                let cell = results.cell(label, *rate);
                let x = cell.offered_pps?.mean / 1e6;
                let values = cell.points.iter().filter(|p| p.valid).filter_map(|p| what.value(p));
                Some((x, Stat::of(values)?))
            })
            .collect();
        means.sort_by(|a, b| a.0.total_cmp(&b.0));
        let invalid = results
            .points
            .iter()
            .filter(|p| !p.valid && p.label == label)
            .filter_map(|p| Some((p.offered_pps / 1e6, what.value(p)?)))
            .collect();
        let trials = results
            .searches
            .iter()
            .filter(|s| s.label == label)
            .flat_map(|s| s.trials.iter().filter(|p| p.valid))
            .filter_map(|p| Some((p.offered_pps / 1e6, what.value(p)?)))
            .collect();
        let repetitions = results
            .rates
            .iter()
            .map(|rate| results.cell(label, *rate))
            .filter(|cell| cell.valid() > 1)
            .flat_map(|cell| cell.points.into_iter().filter(|p| p.valid))
            .filter_map(|p| Some((p.offered_pps / 1e6, what.value(p)?)))
            .collect();
        Series { label: name(results, label), means, repetitions, invalid, trials }
    }
}

/// A chart of `what` against the rate offered: one series per receiver, and the axes they
/// need.
struct Offered<'a> {
    what: Against,
    y_desc: &'a str,
    series: Vec<Series>,
    /// The lowest and highest rate offered, Mpps.
    x_range: (f64, f64),
    /// A log x axis: the rates span more than 10×.
    log: bool,
    y_max: f64,
}

impl<'a> Offered<'a> {
    fn of(results: &Results, y_desc: &'a str, what: Against) -> Self {
        let series: Vec<Series> =
            results.receivers.iter().map(|r| Series::of(results, &r.label, what)).collect();
        let xs: Vec<f64> = series
            .iter()
            .flat_map(|s| {
                s.means.iter().map(|m| m.0).chain(s.invalid.iter().chain(&s.trials).map(|p| p.0))
            })
            .filter(|x| *x > 0.0)
            .collect();
        let x_lo = xs.iter().copied().fold(f64::INFINITY, f64::min);
        let x_hi = xs.iter().copied().fold(0.0, f64::max);
        let y_top = series
            .iter()
            .flat_map(|s| {
                s.means
                    .iter()
                    .map(|(_, st)| st.mean + st.sd)
                    .chain(s.invalid.iter().chain(&s.trials).map(|(_, y)| *y))
            })
            .fold(if what == Against::Received { x_hi } else { 0.0 }, f64::max);
        let y_max = match what {
            Against::Loss => nice_ceiling(y_top).min(100.0),
            _ => nice_ceiling(y_top),
        };
        let log = x_lo.is_finite() && x_hi > 10.0 * x_lo;
        Offered { what, y_desc, series, x_range: (x_lo, x_hi), log, y_max }
    }

    /// The axes (a log x axis, or a linear one from 0), the series and their legend entries.
    fn draw(&self, plot: &Area<'_>, legend: &mut Legend<'_, '_>) -> Drawn {
        let mut builder = coordinates(plot, (56, 80));
        let ((x_lo, x_hi), y_max) = (self.x_range, self.y_max);
        if self.log {
            let (lo, hi) = (x_lo / 1.5, x_hi * 1.5);
            let mut chart = builder.build_cartesian_2d((lo..hi).log_scale(), 0f64..y_max)?;
            // The reference y = x, sampled along the log axis (a curve on these axes).
            let diagonal: Vec<(f64, f64)> = (0..=64)
                .map(|i| lo * (hi / lo).powf(f64::from(i) / 64.0))
                .filter(|x| *x <= y_max)
                .map(|x| (x, x))
                .collect();
            self.draw_series(&mut chart, diagonal, legend)?;
        } else {
            let x_max = nice_ceiling(x_hi);
            let mut chart = builder.build_cartesian_2d(0f64..x_max, 0f64..y_max)?;
            let end = x_max.min(y_max);
            self.draw_series(&mut chart, vec![(0.0, 0.0), (end, end)], legend)?;
        }
        self.notes(legend)
    }

    /// The mesh, the reference `diagonal` (received = offered) when it is drawn, then each
    /// series: means, ± sd bars, search trials, repetitions, invalid points.
    fn draw_series<X>(
        &self,
        chart: &mut ChartContext<'_, SVGBackend<'_>, Cartesian2d<X, RangedCoordf64>>,
        diagonal: Vec<(f64, f64)>,
        legend: &mut Legend<'_, '_>,
    ) -> Drawn
    where
        X: Ranged<ValueType = f64> + plotters::coord::ranged1d::ValueFormatter<f64>,
    {
        let log = if self.log { ", log scale" } else { "" };
        mesh(chart)
            .x_desc(format!("offered (Mpps, frames sent by the generator / s){log}"))
            .y_desc(self.y_desc)
            .max_light_lines(2)
            .draw()?;
        if self.what == Against::Received {
            chart.draw_series(DashedLineSeries::new(diagonal, 6, 4, GREY.into()))?;
            legend.entry("received = offered", GREY, Mark::Dashed)?;
        }
        for (i, s) in self.series.iter().enumerate() {
            let colour = COLOURS[i % COLOURS.len()];
            chart.draw_series(
                s.means.iter().map(|&(x, st)| Circle::new((x, st.mean), 5, colour.filled())),
            )?;
            // A bar shorter than a pixel would be a degenerate path: leave it out.
            let bars: Vec<(f64, Stat)> = s
                .means
                .iter()
                .copied()
                .filter(|(x, st)| {
                    let low = (*x, (st.mean - st.sd).max(0.0));
                    st.sd > 0.0
                        && chart.backend_coord(&low) != chart.backend_coord(&(*x, st.mean + st.sd))
                })
                .collect();
            chart.draw_series(bars.iter().map(|&(x, st)| {
                PathElement::new(
                    [(x, (st.mean - st.sd).max(0.0)), (x, st.mean + st.sd)],
                    colour.stroke_width(2),
                )
            }))?;
            chart.draw_series(
                s.trials.iter().map(|&p| TriangleMarker::new(p, 4, colour.stroke_width(1))),
            )?;
            chart.draw_series(
                s.repetitions.iter().map(|&p| Circle::new(p, 3, colour.stroke_width(1))),
            )?;
            chart
                .draw_series(s.invalid.iter().map(|&p| Cross::new(p, 5, colour.stroke_width(2))))?;
            legend.entry(&s.label, colour, Mark::Dot)?;
        }
        Ok(())
    }

    /// The legend's entries for the marks the series use.
    fn notes(&self, legend: &mut Legend<'_, '_>) -> Drawn {
        let series = &self.series;
        if series.iter().any(|s| !s.repetitions.is_empty()) {
            legend.entry("one repetition", BLACK, Mark::Ring)?;
            legend.entry("(filled: their mean)", BLACK, Mark::Text)?;
        }
        if series.iter().any(|s| !s.trials.is_empty()) {
            legend.entry("search trial", BLACK, Mark::Triangle)?;
        }
        if series.iter().any(|s| !s.invalid.is_empty()) {
            legend.entry("invalid point", BLACK, Mark::Cross)?;
            legend.entry("(not averaged)", BLACK, Mark::Text)?;
        }
        if series.iter().any(|s| s.means.iter().any(|(_, st)| st.sd > 0.0)) {
            legend.entry("bars: ± sd", BLACK, Mark::Line)?;
        }
        if self.what == Against::Loss {
            legend.entry("(axis ends at 100 %)", BLACK, Mark::Text)?;
        }
        Ok(())
    }
}

fn offered_chart(
    results: &Results,
    title: &str,
    y_desc: &str,
    what: Against,
) -> anyhow::Result<String> {
    let offered = Offered::of(results, y_desc, what);
    framed(results, title, 740, |plot, legend| offered.draw(plot, legend))
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

/// The system's fonts, loaded once; `sans-serif` mapped to a family that is installed.
fn fonts() -> Arc<resvg::usvg::fontdb::Database> {
    static FONTS: OnceLock<Arc<resvg::usvg::fontdb::Database>> = OnceLock::new();
    FONTS
        .get_or_init(|| {
            let mut db = resvg::usvg::fontdb::Database::new();
            db.load_system_fonts();
            let preferred = ["DejaVu Sans", "Liberation Sans", "Noto Sans", "FreeSans"];
            let installed = preferred.iter().find(|family| {
                db.faces().any(|f| f.families.iter().any(|(name, _)| name == *family))
            });
            if let Some(family) = installed {
                db.set_sans_serif_family(*family);
            }
            Arc::new(db)
        })
        .clone()
}

/// The PNG of an SVG plot, at its own size (text drawn with the system's fonts).
pub fn png(svg: &str) -> anyhow::Result<Vec<u8>> {
    let options = resvg::usvg::Options {
        fontdb: fonts(),
        font_family: "sans-serif".to_string(),
        ..resvg::usvg::Options::default()
    };
    let tree = resvg::usvg::Tree::from_str(svg, &options).context("cannot read the SVG plot")?;
    let size = tree.size().to_int_size();
    let mut pixmap = resvg::tiny_skia::Pixmap::new(size.width(), size.height())
        .context("cannot allocate the PNG")?;
    resvg::render(&tree, resvg::tiny_skia::Transform::default(), &mut pixmap.as_mut());
    pixmap.encode_png().context("cannot encode the PNG")
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
