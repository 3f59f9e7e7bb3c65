//! What the terminal shows while a run goes: a bar over all points, and one for the point being
//! measured with the live rates (sent by the generator, received by the app). On stderr; when
//! stderr is not a terminal the bars are hidden and one line per finished point is printed
//! instead. Nothing with `-q`.

use std::io::IsTerminal as _;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

/// The run's progress display.
#[derive(Debug)]
pub struct Progress {
    multi: MultiProgress,
    overall: ProgressBar,
    point: Option<ProgressBar>,
    /// Plain lines instead of bars (stderr is not a terminal).
    plain: bool,
    quiet: bool,
}

impl Progress {
    /// A display for `total` points.
    pub fn new(total: usize, quiet: bool) -> Progress {
        let plain = !std::io::stderr().is_terminal();
        let target = if quiet || plain {
            ProgressDrawTarget::hidden()
        } else {
            ProgressDrawTarget::stderr_with_hz(10)
        };
        let multi = MultiProgress::with_draw_target(target);
        let overall = multi.add(ProgressBar::new(total as u64));
        overall.set_style(
            ProgressStyle::with_template("points {pos}/{len} [{bar:30}] {elapsed} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        Progress { multi, overall, point: None, plain, quiet }
    }

    /// Starts showing a point: `title` names it (`pcap @ 1Mpps #2`), `phase` what happens now,
    /// which lasts about `length`.
    pub fn begin(&mut self, title: &str, phase: &str, length: Duration) {
        let bar = self.multi.add(ProgressBar::new(millis(length)));
        bar.set_style(
            ProgressStyle::with_template("{prefix:<34} [{bar:20}] {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        bar.set_prefix(format!("{title} {phase}"));
        self.point = Some(bar);
        self.overall.set_message(title.to_string());
    }

    /// The point enters another phase (`warm-up`, `measuring`, `draining`).
    pub fn phase(&self, title: &str, phase: &str, length: Duration) {
        if let Some(bar) = &self.point {
            bar.set_prefix(format!("{title} {phase}"));
            bar.set_length(millis(length).max(1));
            bar.set_position(0);
        }
    }

    /// Live figures: time into the phase, and the rates over the last interval.
    pub fn tick(&self, into_phase: Duration, sent_pps: f64, received_pps: f64) {
        if let Some(bar) = &self.point {
            bar.set_position(millis(into_phase));
            bar.set_message(format!(
                "sent {:.3} Mpps  received {:.3} Mpps",
                sent_pps / 1e6,
                received_pps / 1e6
            ));
        }
    }

    /// The point is done; `line` summarises it (kept on screen, or printed when plain).
    pub fn end(&mut self, line: &str) {
        if let Some(bar) = self.point.take() {
            bar.finish_and_clear();
            self.multi.remove(&bar);
        }
        self.overall.inc(1);
        self.say(line);
    }

    /// A step that prints no line of its own (a search) is done.
    pub fn advance(&self) {
        self.overall.inc(1);
    }

    /// `n` more steps than planned (points measured again).
    pub fn more(&self, n: usize) {
        self.overall.inc_length(n as u64);
    }

    /// The point was abandoned (interrupt or error), or is over without a line of its own.
    pub fn abandon(&mut self) {
        if let Some(bar) = self.point.take() {
            bar.finish_and_clear();
            self.multi.remove(&bar);
        }
    }

    /// A line above the bars (or on stderr when plain).
    pub fn say(&self, line: &str) {
        if self.quiet {
            return;
        }
        if self.plain {
            eprintln!("{line}");
        } else {
            let _ = self.multi.println(line);
        }
    }

    /// Removes the bars.
    pub fn finish(&mut self) {
        self.abandon();
        self.overall.finish_and_clear();
        let _ = self.multi.clear();
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}
