//! Loss-targeted searches: for one receiver, the highest offered rate whose loss stays within
//! each target (RFC 2544's throughput = NDR, FD.io CSIT's PDR), found as CSIT's MLRsearch finds
//! them — short trials to bracket the rate, full-length final trials to confirm it — with every
//! trial measured like any other point ([`super::measure`]).
//!
//! # The search
//! 1. Two short **top-speed** trials, after the scenario's warm-up: the most the receiver kept
//!    under flood is the first guess, and the most the generator offered is the top of the
//!    range unless `[search] upper` sets one. The trials after them need no warm-up: each
//!    follows another trial with the lab's kernel paths warm, and starts its own receiver
//!    session, which a warm-up would not warm.
//! 2. **Short trials** bracket each target; every trial counts for every
//!    target (a rate that loses 0.2 % fails NDR and passes PDR), so NDR and PDR share them.
//!    With one side of a bracket known the next rate steps away from it, the step doubling
//!    each time (4 × precision first); with both, the next rate is their geometric middle,
//!    until the upper end is within `precision` of the lower one.
//! 3. A **final trial** of full length at each target's lower end confirms it: the rate found.
//!    One that loses too much is measured once more at the same rate, and the rate is found if
//!    that one keeps within the target — at least half of its full-length time within it, as
//!    FD.io CSIT's MLRsearch does with its 50 % exceed ratio: one trial during a moment the
//!    machine held the receive core does not move the result. Two that lose make it the upper
//!    end, and the next final trial steps down (precision, then 2×, 4×, 8×; no further than a
//!    rate below whose final trial, another target's too, kept within it); after five such
//!    rates the search gives up and says why. A rate found so, further than the precision
//!    below the final trial that lost, is narrowed to it by final trials at their geometric
//!    middle, as the short trials narrowed the bracket: a step down that went far (a socket
//!    losing a few frames now and then) does not make the result that much lower. A final
//!    trial whose generator fell behind the rate by more than the precision is measured once
//!    more, and the higher rate it measured counts. Targets whose lower ends coincide share
//!    the final trials.
//! 4. The **upper end** too is measured at full length, as MLRsearch ends with both bounds
//!    measured at the final duration: a short trial that lost during a moment the machine held
//!    the receive core must not cap the rate. If it keeps within the target, the bracket opens
//!    above it (up to the next rate a short trial lost at) and steps 2–4 go on, twice at most.
//!    The targets take turns, the lowest loss first; every trial counts for every target, so a
//!    later one starts from what the earlier ones learned.
//! 5. **Every final trial counts for every target**: once all are searched, a target whose
//!    later final trials (another target's) kept within it at a higher rate, below every rate
//!    whose final trials lost too much for it twice, has that rate found instead — FD.io
//!    MLRsearch's relevant lower bound, the largest load that passed below the smallest that
//!    failed. Its bracket stopped opening after two times; its trials did not.
//!
//! # What counts as loss
//! The frames sent that the receiver did not count (`loss_pct`). When the receiving side's
//! ring is full it refuses a frame ([`crate::results::Drops::refused_frames`]): the ring engine
//! waits and retries, the paced xdp engine counts each refused frame and sends it again later.
//! A few refusals are backpressure that costs no frame, but a trial whose generator was held
//! back by them by more than the engine allows ([`crate::generator::EngineKind::refusals_allowed`],
//! [`crate::results::Shortfall`]) did not have the rate taken: it fails, with the shortfall as
//! its loss. A trial whose generator fell behind on its own (a busy machine, the engine's
//! limit) sent fewer frames per second, not bursts (its catch-up is bounded by its burst
//! limit): it measured the rate it did offer ([`Point::measured_pps`]). The short trials
//! bracket by the rate asked (asked again, the generator offers about as much again), and a
//! final trial's result is the rate it measured: nothing above it lost, it is a lower bound
//! (shown as ≥). A trial whose generator sent nothing or bursts beyond its limit (they can
//! overflow the receiver's ring and fake a loss) is **invalid**, not a loss: it is measured
//! again (a final trial up to `run.retries` times, a short one once), and a rate the generator
//! cannot hold so ends the range below it — by the precision the first time, twice that the
//! next, and so on. Any other invalid trial (a receiver program that failed, a count that
//! makes no sense) is measured again too; if it stays invalid, so does the search.

use std::time::Duration;

use crate::results::{Point, Search, SearchTarget};
use crate::scenario::{Rate, ReceiverSpec, SearchSpec};

/// Top-speed trials that start a search: what a receiver keeps under flood can be bimodal
/// (measured: `benchmarks/README.md`, the lesson), and a first guess from the low mode sends
/// the search where the ring engine feeds the receiver.
const TOP_SPEED_TRIALS: usize = 2;

/// Most short trials of one search.
const MAX_SHORT_TRIALS: usize = 24;

/// Most times one target's bracket opens again above an upper end that kept within the target
/// in a final trial.
const MAX_REOPENED: u32 = 2;

/// Most final trials of one target that may lose too much before the search gives up: the
/// steps down (precision, then 2×, 4×, 8×) reach about half the first final's rate — a
/// receiver that loses a few frames per second in full-length trials only (a socket's queue
/// overflowing now and then) still gets its NDR.
const MAX_FINAL_FAILURES: u32 = 5;

/// What a trial is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrialKind {
    /// The top-speed trial that starts a search.
    TopSpeed,
    /// A short trial that brackets the rate.
    Short,
    /// A full-length trial that confirms it.
    Final,
}

impl TrialKind {
    /// How the progress lines call it.
    pub fn name(self) -> &'static str {
        match self {
            TrialKind::TopSpeed => "top-speed",
            TrialKind::Short => "short",
            TrialKind::Final => "final",
        }
    }
}

/// A trial the search asks for.
#[derive(Debug, Clone, PartialEq)]
pub struct Ask {
    /// The rate (`max` for the top-speed trial).
    pub rate: Rate,
    /// Its measured window.
    pub length: Duration,
    /// What it is for.
    pub kind: TrialKind,
    /// 1 the first time at this rate, more when measured again after an invalid trial.
    pub attempt: u32,
    /// Whether the trial needs the scenario's warm-up first: the top-speed trials that start a
    /// search do. The trials after them follow other trials with the lab's kernel paths
    /// already warm, and a warm-up would not warm their own receiver session anyway (each
    /// window starts a fresh one): it would only cost its time.
    pub warm_up: bool,
}

/// What a search needs of the runner: trials measured, lines shown (a script in tests).
pub trait Trials {
    /// Measures a trial: its point, judged; `None` when a signal came.
    fn measure(&mut self, ask: &Ask) -> anyhow::Result<Option<Point>>;
    /// Shows what the search did.
    fn say(&mut self, line: &str);
}

/// How a trial counts.
#[derive(Debug, Clone, PartialEq)]
enum Verdict {
    /// Measured at `rate` frames/s (the rate asked, or what a generator that fell behind on
    /// its own did offer: [`Point::measured_pps`]): this much was lost (percent).
    Loss { rate: u64, loss: f64 },
    /// The generator sent nothing or bursts beyond its limit: says nothing of the receiver.
    Behind(String),
    /// The measurement is wrong for another reason.
    Broken(String),
}

/// Judges a trial's point (`burst_limit`: the most frames the generator may send back to
/// back); one whose generator sent larger bursts is marked invalid here, one whose generator
/// only fell behind is taken at the rate it offered.
fn verdict(p: &mut Point, burst_limit: u64) -> Verdict {
    let c = &p.counters;
    if let Some(burst) = c.largest_burst_frames.filter(|b| *b > burst_limit) {
        p.invalidate(format!(
            "the generator sent bursts of {burst} frames (limit {burst_limit}), which can \
             overflow the receiver's ring and fake a loss: the machine is busy; close other \
             programs or lower the rate"
        ));
        return Verdict::Behind(p.invalid_reason.clone().unwrap_or_default());
    }
    if c.sent_frames == 0 {
        return Verdict::Behind(p.invalid_reason.clone().unwrap_or_default());
    }
    if p.held_back() {
        // Held back by the receiving side: the rate asked was not taken.
        let asked = p.asked_pps.unwrap_or(p.offered_pps).max(1.0);
        let shortfall = 100.0 * (asked - p.offered_pps) / asked;
        return Verdict::Loss { rate: asked as u64, loss: p.loss_pct.max(shortfall) };
    }
    p.accept_at_offered_rate();
    if !p.valid {
        return Verdict::Broken(p.invalid_reason.clone().unwrap_or_default());
    }
    let rate = p.measured_pps().unwrap_or(p.offered_pps) as u64;
    Verdict::Loss { rate, loss: p.loss_pct }
}

/// What is known of one target.
#[derive(Debug, Clone)]
struct Bracket {
    /// Most loss allowed, percent.
    loss_pct: f64,
    /// Highest rate that passed (latest evidence wins).
    lo: Option<u64>,
    /// Relative step away from a one-sided bracket; doubles each time.
    width: f64,
    /// The rates that failed a short trial and no later trial passed at or above; the lowest
    /// is the upper end ([`Bracket::hi`]).
    failed: Vec<u64>,
}

impl Bracket {
    fn passes(&self, loss_pct: f64) -> bool {
        loss_pct <= self.loss_pct + 1e-9
    }

    /// Whether a trial measured the rate and lost more than this target allows.
    fn lost_too_much(&self, verdict: &Verdict) -> bool {
        matches!(verdict, Verdict::Loss { loss, .. } if !self.passes(*loss))
    }

    /// Lowest rate that failed.
    fn hi(&self) -> Option<u64> {
        self.failed.iter().copied().min()
    }

    fn record(&mut self, rate: u64, pass: bool) {
        if pass {
            self.lo = Some(self.lo.map_or(rate, |l| l.max(rate)));
            self.failed.retain(|f| *f > rate);
        } else {
            self.failed.push(rate);
            if self.lo.is_some_and(|l| l >= rate) {
                self.lo = None;
            }
        }
    }

    /// Opens the bracket above `rate`, whose final trial kept within the target: the lowest
    /// rate above it that failed a short trial is the upper end again (none: the next trials
    /// step up from `rate`), the step back to `width`.
    fn reopen(&mut self, rate: u64, width: f64) {
        self.record(rate, true);
        self.width = width;
    }

    /// Whether both ends are known and the upper one within `precision` of the lower.
    fn narrow(&self, precision: f64) -> bool {
        matches!((self.lo, self.hi()), (Some(l), Some(h)) if within(precision, l, h))
    }

    fn done(&self, range: &Range, precision: f64) -> bool {
        // Passing at the top of the range, or failing at its bottom, ends it too.
        self.narrow(precision)
            || self.lo.is_some_and(|l| l >= range.ceiling)
            || self.hi().is_some_and(|h| h <= range.floor)
    }

    /// The next rate to try.
    fn next(&mut self, range: &Range, guess: u64) -> u64 {
        let rate = match (self.lo, self.hi()) {
            (Some(l), Some(h)) => geometric_middle(l, h),
            (Some(l), None) => {
                let r = round_rate(l as f64 * (1.0 + self.width));
                self.width *= 2.0;
                r
            }
            (None, Some(h)) => {
                let r = round_rate(h as f64 / (1.0 + self.width));
                self.width *= 2.0;
                r
            }
            (None, None) => guess,
        };
        rate.clamp(range.floor, range.ceiling)
    }
}

/// The rates a search may try.
#[derive(Debug, Clone, Copy)]
struct Range {
    floor: u64,
    ceiling: u64,
    /// The ceiling came down because the generator could not send a rate as asked (nothing,
    /// or bursts beyond its limit), not the range's own top.
    lowered: bool,
}

impl Bracket {
    /// Why the short trials did not narrow this bracket to `precision`, if they did not: the
    /// generator could not hold the rates in between (`behind` short trials it could not send
    /// as asked), or the trials ran out.
    fn incomplete(&self, range: &Range, precision: f64, behind: u32) -> Option<String> {
        match (self.lo, self.hi()) {
            _ if self.narrow(precision) => None,
            // The generator could not send any rate tried above `l`, which it cannot go past:
            // the rate found is a lower bound (shown as ≥ when nothing above it lost).
            (Some(l), _) if range.lowered && l >= range.ceiling => None,
            (Some(l), None) if l >= range.ceiling => None,
            (None, Some(h)) if h <= range.floor => None,
            // A rate the generator could not send used a trial and taught the bracket nothing.
            _ if behind > 0 => Some(format!(
                "the short trials did not narrow the bracket to {} % ({MAX_SHORT_TRIALS} at most): \
                 the loss is not steady, and the generator could not send {behind} of the rates \
                 tried as asked; make the trials longer or the machine quieter",
                precision * 100.0
            )),
            _ => Some(format!(
                "the short trials did not narrow the bracket to {} % ({MAX_SHORT_TRIALS} at most): \
                 the loss is not steady; make the trials longer or the machine quieter",
                precision * 100.0
            )),
        }
    }
}

/// The geometric middle of two rates, rounded to three digits when that stays strictly
/// between them.
fn geometric_middle(lo: u64, hi: u64) -> u64 {
    let mid = (lo as f64 * hi as f64).sqrt();
    let nice = round_rate(mid);
    if nice > lo && nice < hi {
        nice
    } else {
        mid.round() as u64
    }
}

/// Whether rate `hi` is within `precision` of the lower rate `lo`.
fn within(precision: f64, lo: u64, hi: u64) -> bool {
    hi as f64 <= lo as f64 * (1.0 + precision) + 0.5
}

/// The first step away from a one-sided bracket, relative: 4 × precision, at least 10 %.
fn first_step(precision: f64) -> f64 {
    (4.0 * precision).max(0.1)
}

/// `pps` rounded to three significant digits (`523417` → `523000`), at least 1.
fn round_rate(pps: f64) -> u64 {
    if pps < 1000.0 {
        return pps.round().max(1.0) as u64;
    }
    let scale = 10f64.powi(pps.log10().floor() as i32 - 2);
    ((pps / scale).round() * scale).round() as u64
}

/// A rate for the progress lines: `0.523 Mpps`.
fn mpps(pps: f64) -> String {
    format!("{:.3} Mpps", pps / 1e6)
}

/// Why a search ends before it went through every target.
enum Halt {
    /// A signal came: no result.
    Signal,
    /// It gave up: its outcomes say why.
    GaveUp,
    /// The runner failed.
    Failed(anyhow::Error),
}

impl From<anyhow::Error> for Halt {
    fn from(e: anyhow::Error) -> Self {
        Halt::Failed(e)
    }
}

/// What one target came to.
#[derive(Debug, Clone, Default)]
struct Outcome {
    found: Option<u64>,
    lower: Option<u64>,
    upper: Option<u64>,
    final_trial: Option<usize>,
    invalid: Option<String>,
}

/// The searches of one receiver: what is known of each target, and every trial.
struct Searcher<'a> {
    spec: &'a SearchSpec,
    retries: u32,
    burst_limit: u64,
    title: String,
    trials: Vec<Point>,
    /// Per target, in `spec`'s order.
    brackets: Vec<Bracket>,
    /// Per target, in `spec`'s order.
    outcomes: Vec<Outcome>,
    /// Every final trial so far: its rate, its index in `trials` and how it counted (the
    /// targets share them).
    finals: Vec<(u64, usize, Verdict)>,
    /// The rates the trials may ask (from the top-speed trials on).
    range: Range,
    /// The first rate a bracket with neither end tries.
    guess: u64,
    /// Short trials so far, of every target.
    shorts: usize,
    /// Times a short trial found the generator unable to send its rate.
    behind: u32,
}

impl Searcher<'_> {
    /// A trial at `rate`, measured again while invalid (up to `retries` more times): the
    /// index of its last point and how it counts.
    fn trial(
        &mut self,
        out: &mut dyn Trials,
        rate: Rate,
        kind: TrialKind,
    ) -> Result<(usize, Verdict), Halt> {
        self.trial_from(out, rate, kind, 1)
    }

    /// [`Searcher::trial`], numbering its attempts from `first` (a second final trial at a
    /// rate whose first one lost goes on from that one's number).
    fn trial_from(
        &mut self,
        out: &mut dyn Trials,
        rate: Rate,
        kind: TrialKind,
        first: u32,
    ) -> Result<(usize, Verdict), Halt> {
        let length = match kind {
            TrialKind::Final => self.spec.final_trial,
            TrialKind::TopSpeed | TrialKind::Short => self.spec.short_trial,
        };
        let mut attempt = first;
        loop {
            let warm_up = kind == TrialKind::TopSpeed;
            let ask = Ask { rate, length, kind, attempt, warm_up };
            let Some(mut point) = out.measure(&ask)? else { return Err(Halt::Signal) };
            point.attempt = attempt;
            let verdict = verdict(&mut point, self.burst_limit);
            let told = match &verdict {
                Verdict::Loss { rate: measured, loss } => {
                    let marks: Vec<String> = self
                        .brackets
                        .iter()
                        .zip(&self.spec.targets)
                        .map(|(b, t)| {
                            format!(
                                "{} {}",
                                t.name,
                                if b.passes(*loss) { "passes" } else { "fails" }
                            )
                        })
                        .collect();
                    let at = match point.asked_pps {
                        Some(asked) if (*measured as f64) < asked => {
                            format!(
                                " (the generator fell behind: taken at the {} it offered)",
                                mpps(*measured as f64)
                            )
                        }
                        _ => String::new(),
                    };
                    format!("lost {loss:.3} %{at}: {}", marks.join(", "))
                }
                Verdict::Behind(why) | Verdict::Broken(why) => format!("INVALID: {why}"),
            };
            out.say(&format!(
                "{} {} trial @ {rate}{}: sent {}, received {}, {told}",
                self.title,
                kind.name(),
                if attempt > 1 { format!(" (attempt {attempt})") } else { String::new() },
                mpps(point.offered_pps),
                mpps(point.achieved_pps),
            ));
            self.trials.push(point);
            let index = self.trials.len() - 1;
            // A short trial only brackets: measured again once at most (a generator that
            // cannot hold a rate seldom holds it on the third try, and the range comes down).
            let retries = if kind == TrialKind::Short { self.retries.min(1) } else { self.retries };
            if matches!(verdict, Verdict::Loss { .. }) || attempt - first >= retries {
                return Ok((index, verdict));
            }
            attempt += 1;
        }
    }

    /// Marks every target that has no reason yet invalid for `why`, and gives up.
    fn give_up(&mut self, why: &str) -> Halt {
        for o in &mut self.outcomes {
            o.invalid.get_or_insert_with(|| why.to_string());
        }
        Halt::GaveUp
    }

    /// Step 1, top speed twice: the first guess and the range, from the better of the two.
    fn top_speed(&mut self, out: &mut dyn Trials) -> Result<(), Halt> {
        let (mut offered, mut kept) = (0.0f64, 0.0f64);
        for _ in 0..TOP_SPEED_TRIALS {
            let (top, verdict) = self.trial(out, Rate::Max, TrialKind::TopSpeed)?;
            if let Verdict::Broken(why) = &verdict {
                return Err(self.give_up(&format!("its top-speed trial stayed invalid: {why}")));
            }
            offered = offered.max(self.trials[top].offered_pps);
            kept = kept.max(self.trials[top].achieved_pps);
        }
        if offered < 1.0 {
            return Err(self.give_up("the generator sent nothing at top speed"));
        }
        let spec = self.spec;
        self.range = Range {
            floor: spec.lower_pps,
            ceiling: spec
                .upper_pps
                .map_or(offered as u64, |u| u.min(offered as u64))
                .max(spec.lower_pps),
            lowered: false,
        };
        self.guess = round_rate(kept).clamp(self.range.floor, self.range.ceiling);
        Ok(())
    }

    /// Step 2, short trials until target `t`'s bracket is within the precision (every trial
    /// counts for every target).
    fn narrow(&mut self, out: &mut dyn Trials, t: usize) -> Result<(), Halt> {
        let precision = self.spec.precision;
        while !self.brackets[t].done(&self.range, precision) && self.shorts < MAX_SHORT_TRIALS {
            self.shorts += 1;
            let rate = self.brackets[t].next(&self.range, self.guess);
            match self.trial(out, Rate::Pps(rate), TrialKind::Short)?.1 {
                Verdict::Loss { loss, .. } => {
                    // Bracketed by the rate asked: asked again, the generator offers about
                    // what it did (a final trial's result is what it measured).
                    for b in &mut self.brackets {
                        let pass = b.passes(loss);
                        b.record(rate, pass);
                    }
                }
                Verdict::Behind(_) => {
                    // The generator sent nothing or bursts beyond its limit at this rate:
                    // the range ends below it, at most at the best it offered.
                    let best = self
                        .trials
                        .iter()
                        .rev()
                        .take_while(|p| p.asked_pps == Some(rate as f64))
                        .map(|p| p.offered_pps)
                        .fold(0.0, f64::max);
                    // Each time further below: by the precision, then twice that, and so on.
                    let step = precision * f64::from(1u32 << self.behind.min(8));
                    self.behind += 1;
                    let below = (rate as f64 / (1.0 + step)).min(best);
                    self.range.ceiling = round_rate(below).max(self.range.floor);
                    self.range.lowered = true;
                }
                Verdict::Broken(why) => {
                    return Err(self.give_up(&format!("a trial stayed invalid: {why}")));
                }
            }
        }
        Ok(())
    }

    /// The final trials at `rate`: one, and a second when the first lost more than target
    /// `t` allows or its generator fell behind the rate by more than the precision (the
    /// targets share them).
    fn finals_at(
        &mut self,
        out: &mut dyn Trials,
        rate: u64,
        t: usize,
    ) -> Result<Vec<(usize, Verdict)>, Halt> {
        loop {
            let at_rate: Vec<(usize, Verdict)> = self
                .finals
                .iter()
                .filter(|(r, ..)| *r == rate)
                .map(|(_, index, verdict)| (*index, verdict.clone()))
                .collect();
            let first = match at_rate.as_slice() {
                [] => 1,
                [(index, verdict)]
                    if self.brackets[t].lost_too_much(verdict)
                        || self.fell_short(verdict, rate) =>
                {
                    self.trials[*index].attempt + 1
                }
                _ => return Ok(at_rate),
            };
            let (index, verdict) =
                self.trial_from(out, Rate::Pps(rate), TrialKind::Final, first)?;
            self.finals.push((rate, index, verdict));
        }
    }

    /// Whether a trial at `rate` measured a rate more than the precision below it (its
    /// generator fell behind).
    fn fell_short(&self, verdict: &Verdict, rate: u64) -> bool {
        matches!(verdict, Verdict::Loss { rate: measured, .. }
            if *measured as f64 * (1.0 + self.spec.precision) < rate as f64)
    }

    /// Step 3, final trials at target `t`'s lower end, stepping down while they lose: whether
    /// one of them lost too much (then it bounds the rate from above by the receiver itself).
    fn confirm_lower(&mut self, out: &mut dyn Trials, t: usize) -> Result<bool, Halt> {
        let o = &mut self.outcomes[t];
        (o.found, o.lower, o.final_trial) = (None, None, None);
        o.upper = self.brackets[t].hi();
        let Some(mut rate) = self.brackets[t].lo else {
            // Even the lowest rate tried lost too much (or nothing could be tried).
            if self.brackets[t].hi().is_none() {
                o.invalid = Some(
                    "no short trial could be measured: the generator could not send any rate \
                     as asked"
                        .into(),
                );
            }
            return Ok(false);
        };
        let (mut failures, mut final_lost, mut fell_short) = (0, false, 0);
        loop {
            let at_rate = self.finals_at(out, rate, t)?;
            let (index, verdict) = self.telling(t, &at_rate, rate);
            let short = self.fell_short(&verdict, rate);
            let bracket = &self.brackets[t];
            let o = &mut self.outcomes[t];
            match verdict {
                Verdict::Loss { rate: measured, loss } if bracket.passes(loss) => {
                    if o.found.is_some_and(|f| measured <= f) {
                        // A middle its generator fell behind at: nothing above what was found.
                        return Ok(final_lost);
                    }
                    // At what the generator offered, when it fell behind the rate asked.
                    (o.found, o.lower, o.final_trial) =
                        (Some(measured), Some(measured), Some(index));
                    // Stepped down past a final that lost: narrow the two to the precision
                    // with final trials too.
                    match self.between_finals(t, measured) {
                        Some(middle) if final_lost => rate = middle,
                        _ => return Ok(final_lost),
                    }
                }
                Verdict::Broken(why) => {
                    if o.found.is_none() {
                        o.invalid = Some(format!("its final trial stayed invalid: {why}"));
                    }
                    return Ok(final_lost);
                }
                Verdict::Loss { .. } | Verdict::Behind(_) => {
                    if let Verdict::Loss { rate: measured, .. } = verdict {
                        let lost_at = measured.min(rate);
                        o.upper = Some(o.upper.map_or(lost_at, |u| u.min(lost_at)));
                        final_lost = true;
                    }
                    if let Some(found) = o.found {
                        // Narrowing above a rate found: a middle that lost is the upper end.
                        match self.between_finals(t, found) {
                            Some(middle) if matches!(verdict, Verdict::Loss { .. }) => {
                                rate = middle;
                                continue;
                            }
                            _ => return Ok(final_lost),
                        }
                    }
                    failures += 1;
                    fell_short += u32::from(short);
                    if failures == MAX_FINAL_FAILURES {
                        o.invalid = Some(match verdict {
                            Verdict::Behind(why) => {
                                format!("its final trials stayed invalid: {why}")
                            }
                            // Sender and receiver share the machine: one starved, both were.
                            _ if fell_short > 0 => format!(
                                "its final trials lost more than {} % at every rate below the \
                                 short trials' bracket, and at {fell_short} of those rates its \
                                 generator fell behind the rate asked: the machine is busy; \
                                 close other programs or lower the rates",
                                self.spec.targets[t].loss_pct
                            ),
                            _ => format!(
                                "its final trials lost more than {} % at every rate below the \
                                 short trials' bracket: the loss is not steady; make the trials \
                                 longer or the machine quieter",
                                self.spec.targets[t].loss_pct
                            ),
                        });
                        return Ok(final_lost);
                    }
                    match self.step_down(t, rate, failures) {
                        Some(next) => rate = next,
                        None => return Ok(final_lost),
                    }
                }
            }
        }
    }

    /// Of the final trials `at_rate` (at `rate`, for target `t`), the one that tells: within
    /// the target in one of them (at least half the full-length time, as MLRsearch's 50 %
    /// exceed ratio), at the most the generator offered; else the last one says what happened.
    fn telling(&self, t: usize, at_rate: &[(usize, Verdict)], rate: u64) -> (usize, Verdict) {
        let bracket = &self.brackets[t];
        let measured_within = |(_, v): &&(usize, Verdict)| match v {
            Verdict::Loss { rate, loss } if bracket.passes(*loss) => Some(*rate),
            _ => None,
        };
        at_rate
            .iter()
            .filter(|f| measured_within(f).is_some())
            .max_by_key(measured_within)
            .or(at_rate.last())
            .cloned()
            .unwrap_or_else(|| unreachable!("a final trial was measured at {rate}"))
    }

    /// The rate of the next final trial for target `t` after `failures` of them lost down to
    /// `rate`: a step down that doubles with each failure, no further than a rate below whose
    /// final trial already kept within this target (a stricter target's: that one keeps within
    /// this too); `None` below the search's floor or when there is no rate left below.
    fn step_down(&self, t: usize, rate: u64, failures: u32) -> Option<u64> {
        let bracket = &self.brackets[t];
        let step = self.spec.precision * f64::from(1u32 << (failures - 1));
        let stepped = round_rate(rate as f64 / (1.0 + step));
        let kept = self
            .finals
            .iter()
            .filter(|(r, _, v)| {
                *r < rate && matches!(v, Verdict::Loss { loss, .. } if bracket.passes(*loss))
            })
            .map(|(r, ..)| *r)
            .max();
        let next = kept.map_or(stepped, |k| k.max(stepped));
        (next >= self.range.floor && next < rate).then_some(next)
    }

    /// The rate for a final trial between `found` and target `t`'s upper end (a final trial
    /// lost there) when they are further apart than the precision: their geometric middle.
    fn between_finals(&self, t: usize, found: u64) -> Option<u64> {
        let upper = self.outcomes[t].upper?;
        if within(self.spec.precision, found, upper) {
            return None;
        }
        let middle = geometric_middle(found, upper);
        (middle > found && middle < upper).then_some(middle)
    }

    /// Step 4: whether target `t`'s upper end, so far a short trial's, keeps within the target at
    /// full length too (as MLRsearch ends with both bounds measured at the final duration):
    /// by the same rule as the lower end, kept within in one of two, at the rate asked (a
    /// generator that fell behind it says nothing of the upper end).
    fn upper_holds(&mut self, out: &mut dyn Trials, t: usize, upper: u64) -> Result<bool, Halt> {
        let at_upper = self.finals_at(out, upper, t)?;
        Ok(at_upper.iter().any(|(_, v)| {
            matches!(v, Verdict::Loss { loss, .. } if self.brackets[t].passes(*loss))
                && !self.fell_short(v, upper)
        }))
    }

    /// Steps 2–4 for target `t`; says what it came to.
    fn search_target(&mut self, out: &mut dyn Trials, t: usize) -> Result<(), Halt> {
        let mut reopened = 0;
        let final_lost = loop {
            self.narrow(out, t)?;
            let final_lost = self.confirm_lower(out, t)?;
            // One moment the machine held the receive core during a short trial must not cap
            // the rate found: if the upper end keeps within the target at full length, the
            // bracket opens above it and the search goes on.
            let o = &self.outcomes[t];
            let upper = match (o.found, o.upper) {
                (Some(_), Some(upper)) if !final_lost && o.invalid.is_none() => upper,
                _ => break final_lost,
            };
            if reopened == MAX_REOPENED || !self.upper_holds(out, t, upper)? {
                break final_lost;
            }
            reopened += 1;
            out.say(&format!(
                "{} {}: {} kept within the target at full length: the bracket opens above it",
                self.title,
                self.spec.targets[t].name,
                mpps(upper as f64)
            ));
            self.brackets[t].reopen(upper, first_step(self.spec.precision));
        };
        let incomplete = self.brackets[t].incomplete(&self.range, self.spec.precision, self.behind);
        let o = &mut self.outcomes[t];
        if o.invalid.is_none() && !(final_lost && o.found.is_some()) {
            o.invalid = incomplete;
        }
        let line = self.outcome_line(t);
        out.say(&line);
        Ok(())
    }

    /// Step 5, once every target is searched: raises target `t`'s rate found to the highest
    /// rate a later final trial — another target's — kept within `t` at, below every rate
    /// whose final trials lost too much for `t` twice (MLRsearch's relevant lower bound: the
    /// largest load that passed below the smallest that failed). A search that stopped early
    /// (its bracket reopened as often as it may) must not report less than its own trials
    /// show. The line that says so, when it was raised.
    fn raise_from_finals(&mut self, t: usize) -> Option<String> {
        let bracket = &self.brackets[t];
        let o = &self.outcomes[t];
        let found = o.found.filter(|_| o.invalid.is_none())?;
        /// The final trials at one rate asked, for target `t`.
        struct AtRate {
            /// The most a trial within the target measured, and that trial.
            kept: Option<(u64, usize)>,
            /// Trials that lost too much, and the lowest rate they measured.
            losses: u32,
            lost_at: u64,
        }
        let mut rates = std::collections::BTreeMap::new();
        for (rate, index, verdict) in &self.finals {
            let Verdict::Loss { rate: measured, loss } = verdict else { continue };
            let at = rates.entry(*rate).or_insert(AtRate { kept: None, losses: 0, lost_at: *rate });
            if bracket.passes(*loss) {
                at.kept = at.kept.max(Some((*measured, *index)));
            } else {
                at.losses += 1;
                at.lost_at = at.lost_at.min(*measured);
            }
        }
        let failed =
            rates.values().filter(|a| a.kept.is_none() && a.losses >= 2).map(|a| a.lost_at).min();
        let (best, index) = rates
            .values()
            .filter_map(|a| a.kept)
            .filter(|(measured, _)| *measured > found && failed.is_none_or(|f| *measured < f))
            .max()?;
        let upper = bracket.failed.iter().copied().chain(failed).filter(|u| *u > best).min();
        let o = &mut self.outcomes[t];
        (o.found, o.lower, o.upper, o.final_trial) = (Some(best), Some(best), upper, Some(index));
        Some(format!(
            "{} {}: {} kept within it in a later final trial, below every rate that lost \
             twice: raised",
            self.title,
            self.spec.targets[t].name,
            mpps(best as f64)
        ))
    }

    /// What target `t` came to, for the progress lines.
    fn outcome_line(&self, t: usize) -> String {
        let (o, target, title) = (&self.outcomes[t], &self.spec.targets[t], &self.title);
        match (o.found, &o.invalid) {
            (_, Some(why)) => format!("{title} {}: INVALID: {why}", target.name),
            (Some(found), None) => {
                let upper = o.upper.map_or_else(
                    || {
                        let short_of_asked = o
                            .final_trial
                            .and_then(|i| self.trials[i].asked_pps)
                            .is_some_and(|asked| (found as f64) < asked);
                        if self.range.lowered || short_of_asked {
                            "the generator's limit here (it fell behind the rate asked)"
                        } else {
                            "the range's top"
                        }
                        .to_string()
                    },
                    |u| mpps(u as f64),
                );
                format!(
                    "{title} {} = {} (its {:.1} s final trial lost {:.3} %, at most {} % \
                     allowed; bracket {} to {upper}; {} trials)",
                    target.name,
                    mpps(found as f64),
                    self.spec.final_trial.as_secs_f64(),
                    o.final_trial.map_or(0.0, |i| self.trials[i].loss_pct),
                    target.loss_pct,
                    mpps(found as f64),
                    self.trials.len()
                )
            }
            (None, None) => format!(
                "{title} {}: none: even {} lost more than {} %",
                target.name,
                mpps(o.upper.unwrap_or(self.range.floor) as f64),
                target.loss_pct
            ),
        }
    }

    /// One [`Search`] per target, in `spec`'s order, sharing the trials.
    fn finish(self, receiver: &ReceiverSpec, repetition: u32) -> Vec<Search> {
        let trials = self.trials;
        self.spec
            .targets
            .iter()
            .zip(self.outcomes)
            .map(|(target, o)| Search {
                label: receiver.label.clone(),
                method: receiver.method,
                target: SearchTarget { name: target.name.clone(), loss_pct: target.loss_pct },
                repetition,
                found_pps: o.found.map(|f| f as f64),
                lower_pps: o.lower.map(|l| l as f64),
                upper_pps: o.upper.map(|u| u as f64),
                trials: trials.clone(),
                final_trial: o.final_trial,
                valid: o.invalid.is_none(),
                invalid_reason: o.invalid,
            })
            .collect()
    }
}

/// Searches `receiver` (repetition `repetition`) for every target of `spec` (see the module
/// docs), measuring an invalid trial again up to `retries` times, with the generator's
/// `burst_limit`: one [`Search`] per target, in `spec`'s order, sharing the trials; `None`
/// when a signal came.
pub fn search(
    spec: &SearchSpec,
    retries: u32,
    burst_limit: u64,
    receiver: &ReceiverSpec,
    repetition: u32,
    out: &mut dyn Trials,
) -> anyhow::Result<Option<Vec<Search>>> {
    let width = first_step(spec.precision);
    let mut s = Searcher {
        spec,
        retries,
        burst_limit,
        title: format!("{} #{repetition} search:", receiver.label),
        trials: Vec::new(),
        brackets: spec
            .targets
            .iter()
            .map(|t| Bracket { loss_pct: t.loss_pct, lo: None, width, failed: Vec::new() })
            .collect(),
        outcomes: vec![Outcome::default(); spec.targets.len()],
        finals: Vec::new(),
        range: Range { floor: spec.lower_pps, ceiling: spec.lower_pps, lowered: false },
        guess: spec.lower_pps,
        shorts: 0,
        behind: 0,
    };
    // The targets, the lowest loss first: a later one starts from what the earlier ones
    // learned.
    let mut order: Vec<usize> = (0..spec.targets.len()).collect();
    order.sort_by(|a, b| spec.targets[*a].loss_pct.total_cmp(&spec.targets[*b].loss_pct));
    let searched =
        s.top_speed(out).and_then(|()| order.iter().try_for_each(|&t| s.search_target(out, t)));
    if searched.is_ok() {
        for &t in &order {
            if let Some(line) = s.raise_from_finals(t) {
                out.say(&line);
                let line = s.outcome_line(t);
                out.say(&line);
            }
        }
    }
    match searched {
        Ok(()) | Err(Halt::GaveUp) => Ok(Some(s.finish(receiver, repetition))),
        Err(Halt::Signal) => Ok(None),
        Err(Halt::Failed(e)) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::Counters;
    use crate::scenario::{LossTarget, Method};

    fn receiver() -> ReceiverSpec {
        ReceiverSpec::of(Method::Pcap)
    }

    fn spec() -> SearchSpec {
        SearchSpec {
            targets: vec![
                LossTarget { name: "ndr".into(), loss_pct: 0.0 },
                LossTarget { name: "pdr".into(), loss_pct: 0.5 },
            ],
            precision: 0.05,
            short_trial: Duration::from_millis(300),
            final_trial: Duration::from_secs(1),
            lower_pps: 10_000,
            upper_pps: None,
        }
    }

    /// A receiver that keeps up to `capacity` frames/s and loses the rest, behind a generator
    /// that tops out at `top`; `script` may override a trial (by its number, from 0).
    struct Fake {
        capacity: f64,
        top: f64,
        /// Loss (percent) added to final trials only.
        final_extra: f64,
        /// Most frames/s final trials keep (short ones keep `capacity`).
        final_keeps: f64,
        /// Loss (percent) added to short trials above a rate (frames/s).
        short_extra_above: Option<(f64, f64)>,
        script: Vec<(usize, Counters)>,
        asked: Vec<Ask>,
        lines: Vec<String>,
    }

    impl Fake {
        fn new(capacity: f64, top: f64) -> Fake {
            Fake {
                capacity,
                top,
                final_extra: 0.0,
                final_keeps: f64::INFINITY,
                short_extra_above: None,
                script: vec![],
                asked: vec![],
                lines: vec![],
            }
        }
    }

    fn counters(length: Duration, offered: f64, kept: f64) -> Counters {
        let secs = length.as_secs_f64();
        let sent = (offered * secs).round() as u64;
        let rx = ((kept * secs).round() as u64).min(sent);
        Counters {
            duration_s: secs,
            sent_frames: sent,
            iface_rx_frames: sent,
            app_rx_frames: rx,
            ipv4_frames: rx,
            ..Counters::default()
        }
    }

    impl Trials for Fake {
        fn measure(&mut self, ask: &Ask) -> anyhow::Result<Option<Point>> {
            let n = self.asked.len();
            self.asked.push(ask.clone());
            let offered = ask.rate.pps(60).unwrap_or(self.top);
            let mut kept = offered.min(self.capacity);
            if ask.kind == TrialKind::Final {
                kept = kept.min(offered * (1.0 - self.final_extra / 100.0)).min(self.final_keeps);
            }
            if let Some((above, extra)) = self.short_extra_above {
                if ask.kind == TrialKind::Short && offered > above {
                    kept = kept.min(offered * (1.0 - extra / 100.0));
                }
            }
            let c = match self.script.iter().position(|(i, _)| *i == n) {
                Some(i) => self.script.remove(i).1,
                None => counters(ask.length, offered, kept),
            };
            Ok(Some(Point::new(&receiver(), ask.rate, 1, 60, true, c)))
        }

        fn say(&mut self, line: &str) {
            self.lines.push(line.to_string());
        }
    }

    fn run(fake: &mut Fake, spec: &SearchSpec) -> Vec<Search> {
        search(spec, 2, 64, &receiver(), 1, fake).unwrap().unwrap()
    }

    /// The final trial's point of a search.
    fn final_point(s: &Search) -> &Point {
        &s.trials[s.final_trial.unwrap()]
    }

    #[test]
    fn finds_the_capacity_within_the_precision_and_confirms_it_at_full_length() {
        let mut fake = Fake::new(512_345.0, 5_000_000.0);
        let found = run(&mut fake, &spec());
        assert_eq!(found.len(), 2);
        let (ndr, pdr) = (&found[0], &found[1]);
        assert_eq!(ndr.target.name, "ndr");
        for s in [ndr, pdr] {
            assert!(s.valid, "{:?}", s.invalid_reason);
            let f = s.found_pps.unwrap();
            let (lo, hi) = (s.lower_pps.unwrap(), s.upper_pps.unwrap());
            assert!(lo <= f && f < hi, "{f} in [{lo}, {hi})");
            assert!(hi <= lo * 1.05 + 1.0, "bracket within the precision: {lo}..{hi}");
            let p = final_point(s);
            assert_eq!(p.asked_pps, Some(f));
            assert_eq!(p.counters.duration_s, 1.0, "the final trial is full length");
            assert!(p.loss_pct <= s.target.loss_pct);
        }
        let ndr_found = ndr.found_pps.unwrap();
        assert!((487_000.0..=512_345.0).contains(&ndr_found), "{ndr_found}");
        // PDR allows 0.5 %: it is at least NDR and at most 0.5 % above the capacity.
        let pdr_found = pdr.found_pps.unwrap();
        assert!(pdr_found >= ndr_found && pdr_found <= 512_345.0 / 0.995, "{pdr_found}");
        // The first two trials are at top speed; the trials are shared, short ones before finals.
        assert_eq!((fake.asked[0].rate, fake.asked[1].rate), (Rate::Max, Rate::Max));
        assert_ne!(fake.asked[2].rate, Rate::Max);
        assert_eq!(ndr.trials, pdr.trials);
        let kinds: Vec<TrialKind> = fake.asked.iter().map(|a| a.kind).collect();
        let first_final = kinds.iter().position(|k| *k == TrialKind::Final).unwrap();
        assert!(kinds[first_final..].iter().all(|k| *k == TrialKind::Final), "{kinds:?}");
        // Only the top-speed trials that start the search come after a warm-up.
        for a in &fake.asked {
            assert_eq!(a.warm_up, a.kind == TrialKind::TopSpeed, "{a:?}");
        }
        assert!(fake.asked.len() <= 16, "{} trials", fake.asked.len());
        assert!(fake.lines.iter().any(|l| l.contains("ndr = 0.")), "{:?}", fake.lines);
    }

    #[test]
    fn the_first_guess_is_the_most_either_top_speed_trial_kept() {
        let mut fake = Fake::new(800_000.0, 5_000_000.0);
        // The first top-speed trial falls in a low mode: 100 kpps kept of 5 Mpps.
        let short = spec().short_trial;
        fake.script.push((0, counters(short, 5_000_000.0, 100_000.0)));
        let found = run(&mut fake, &spec());
        assert_eq!(fake.asked[2].rate, Rate::Pps(800_000), "the second one's 800 kpps");
        assert_eq!(found[0].found_pps, Some(800_000.0));
    }

    #[test]
    fn a_looser_target_keeps_at_least_what_a_stricter_one_found() {
        // Up to 1 Mpps nothing is lost; above it a short trial loses 0.3 % (PDR passes) and a
        // full-length one 10 %: PDR's own final trials step down from the top, past NDR's rate.
        struct Dip(Fake);
        impl Trials for Dip {
            fn measure(&mut self, ask: &Ask) -> anyhow::Result<Option<Point>> {
                let offered = ask.rate.pps(60).unwrap_or(self.0.top);
                if offered <= 1_000_000.0 {
                    return self.0.measure(ask);
                }
                self.0.asked.push(ask.clone());
                let kept = offered * if ask.kind == TrialKind::Final { 0.9 } else { 0.997 };
                let c = counters(ask.length, offered, kept);
                Ok(Some(Point::new(&receiver(), ask.rate, 1, 60, true, c)))
            }
            fn say(&mut self, line: &str) {
                self.0.say(line);
            }
        }
        let mut dip = Dip(Fake::new(1e9, 1_200_000.0));
        let found = search(&spec(), 2, 64, &receiver(), 1, &mut dip).unwrap().unwrap();
        let (ndr, pdr) = (&found[0], &found[1]);
        let ndr_found = ndr.found_pps.unwrap();
        assert!(ndr_found <= 1_000_000.0 && ndr_found > 900_000.0, "{ndr:?}");
        assert_eq!(pdr.found_pps, Some(ndr_found), "{pdr:?}");
        assert_eq!(pdr.final_trial, ndr.final_trial);
        assert!(pdr.upper_pps.unwrap() > ndr_found);
    }

    #[test]
    fn a_receiver_faster_than_the_generator_passes_at_the_top_of_the_range() {
        let mut fake = Fake::new(1e9, 2_000_000.0);
        let found = run(&mut fake, &spec());
        let ndr = &found[0];
        assert!(ndr.valid);
        assert_eq!(ndr.found_pps, Some(2_000_000.0));
        assert_eq!(ndr.upper_pps, None, "nothing failed: the answer is at least the top");
    }

    #[test]
    fn a_receiver_that_loses_at_the_lowest_rate_has_no_rate_found() {
        let mut fake = Fake::new(1_000.0, 2_000_000.0);
        let found = run(&mut fake, &spec());
        let ndr = &found[0];
        assert!(ndr.valid, "{:?}", ndr.invalid_reason);
        assert_eq!(ndr.found_pps, None);
        assert_eq!(ndr.upper_pps, Some(10_000.0));
        assert!(fake.asked.iter().all(|a| a.kind != TrialKind::Final));
    }

    /// An NDR-only search of a receiver that keeps 800 kpps, and where its first final trial
    /// comes (its number) at which rate, found by running it once unscripted.
    fn ndr_search_and_its_first_final() -> (Fake, SearchSpec, usize, f64) {
        let spec = SearchSpec { targets: vec![spec().targets[0].clone()], ..spec() };
        let mut probe = Fake::new(800_000.0, 5_000_000.0);
        let _ = run(&mut probe, &spec);
        let first_final = probe.asked.iter().position(|a| a.kind == TrialKind::Final).unwrap();
        let rate = probe.asked[first_final].rate.pps(60).unwrap();
        (Fake::new(800_000.0, 5_000_000.0), spec, first_final, rate)
    }

    #[test]
    fn a_final_trial_that_loses_steps_down_and_is_confirmed_below() {
        let (mut fake, spec, first_final, rate) = ndr_search_and_its_first_final();
        // Script: both final trials at the rate the short trials found lose 1 frame.
        for i in [first_final, first_final + 1] {
            fake.script.push((i, counters(Duration::from_secs(1), rate, rate - 1.0)));
        }
        let found = run(&mut fake, &spec);
        let ndr = &found[0];
        assert!(ndr.valid, "{:?}", ndr.invalid_reason);
        assert_eq!(fake.asked[first_final + 1].rate, fake.asked[first_final].rate);
        assert_eq!(fake.asked[first_final + 1].attempt, 2, "the second final at that rate");
        assert!(ndr.found_pps.unwrap() < rate);
        assert_eq!(ndr.upper_pps, Some(rate), "the final failure is the upper end");
        assert_eq!(final_point(ndr).loss_pct, 0.0);
    }

    #[test]
    fn a_rate_found_by_stepping_down_is_narrowed_to_the_precision_by_final_trials() {
        let (mut fake, spec, first_final, rate) = ndr_search_and_its_first_final();
        // Full-length trials keep only 90 % of what short ones do: the finals step down 5 %,
        // then 10 % more, and the one that keeps within lies 15 % below the first that lost.
        let keeps = 0.9 * rate;
        fake.final_keeps = keeps;
        let found = run(&mut fake, &spec);
        let ndr = &found[0];
        assert!(ndr.valid, "{:?}", ndr.invalid_reason);
        let (f, upper) = (ndr.found_pps.unwrap(), ndr.upper_pps.unwrap());
        assert!(f <= keeps && upper > keeps, "{f} ≤ {keeps} < {upper}");
        assert!(upper <= f * (1.0 + spec.precision) + 1.0, "narrowed: {f}..{upper}");
        let finals: Vec<f64> = fake.asked[first_final..]
            .iter()
            .filter(|a| a.kind == TrialKind::Final)
            .map(|a| a.rate.pps(60).unwrap())
            .collect();
        // The steps down left it further than the precision below the lowest final that lost
        // (693 kpps below 762 here); the upper end is a final trial between the two.
        let stepped_from =
            finals.iter().copied().filter(|r| *r > upper).fold(f64::INFINITY, f64::min);
        assert!(stepped_from > f * (1.0 + spec.precision), "{finals:?}");
        assert!(finals.contains(&upper) && upper < stepped_from, "{finals:?}");
        assert_eq!(final_point(ndr).counters.duration_s, 1.0);
    }

    #[test]
    fn a_later_targets_final_trials_raise_a_rate_found_below_them() {
        // Short trials above 300 kpps lose 0.2 % (NDR fails them, PDR does not); full-length
        // ones keep everything up to the capacity. NDR's bracket stops opening after twice,
        // near 300 kpps; PDR's final trials then keep every frame up to ~600 kpps.
        let mut fake = Fake::new(600_000.0, 5_000_000.0);
        fake.short_extra_above = Some((300_000.0, 0.2));
        let found = run(&mut fake, &spec());
        let (ndr, pdr) = (&found[0], &found[1]);
        assert!(ndr.valid && pdr.valid, "{:?} {:?}", ndr.invalid_reason, pdr.invalid_reason);
        let first = fake.lines.iter().find(|l| l.contains(" ndr = ")).unwrap();
        let raised = fake.lines.iter().position(|l| l.contains(" ndr: ") && l.contains("raised"));
        assert!(first.contains("= 0.3") || first.contains("= 0.4"), "{first}");
        assert!(raised.is_some(), "{:#?}", fake.lines);
        // Raised to PDR's rate: every final trial up to it kept every frame.
        let f = ndr.found_pps.unwrap();
        assert_eq!(ndr.found_pps, pdr.found_pps);
        assert!((0.95 * 600_000.0..=600_000.0).contains(&f), "{f}");
        let p = final_point(ndr);
        assert_eq!((p.loss_pct, p.counters.duration_s), (0.0, 1.0));
        assert_eq!(p.measured_pps(), Some(f));
        assert!(ndr.upper_pps.unwrap() > f, "{:?}", ndr.upper_pps);
    }

    #[test]
    fn a_rate_whose_second_final_trial_keeps_within_the_target_is_found() {
        let (mut fake, spec, first_final, rate) = ndr_search_and_its_first_final();
        // Only the first final trial loses (a moment the machine held the receive core).
        fake.script.push((first_final, counters(Duration::from_secs(1), rate, rate - 1.0)));
        let found = run(&mut fake, &spec);
        let ndr = &found[0];
        assert!(ndr.valid, "{:?}", ndr.invalid_reason);
        assert_eq!(ndr.found_pps, Some(rate));
        assert_eq!(ndr.final_trial, Some(first_final + 1), "the final trial that kept it");
        assert_eq!(final_point(ndr).attempt, 2);
        // Then the upper end at full length, by the same rule: it loses twice, the search ends.
        assert_eq!(fake.asked.len(), first_final + 4);
        for ask in &fake.asked[first_final + 2..] {
            assert_eq!((ask.kind, ask.rate.pps(60)), (TrialKind::Final, ndr.upper_pps));
        }
        assert_eq!(fake.asked[first_final + 3].attempt, 2);
    }

    #[test]
    fn a_short_trial_that_lost_by_chance_does_not_cap_the_rate_found() {
        let mut fake = Fake::new(800_000.0, 5_000_000.0);
        let spec = SearchSpec { targets: vec![spec().targets[0].clone()], ..spec() };
        // The first short trial (at the top-speed guess, the capacity) loses 10 frames.
        let short = spec.short_trial;
        fake.script.push((2, counters(short, 800_000.0, 800_000.0 - 10.0 / short.as_secs_f64())));
        let found = run(&mut fake, &spec);
        let ndr = &found[0];
        assert!(ndr.valid, "{:?}", ndr.invalid_reason);
        assert_eq!(fake.asked[2].rate, Rate::Pps(800_000));
        assert!(ndr.trials[2].loss_pct > 0.0);
        // Its full-length trial keeps everything: the bracket opens above it again.
        assert!(fake.lines.iter().any(|l| l.contains("0.800 Mpps kept within the target")));
        assert_eq!(ndr.found_pps, Some(800_000.0));
        assert!(ndr.upper_pps.unwrap() <= 800_000.0 * 1.05 + 1.0, "{:?}", ndr.upper_pps);
    }

    #[test]
    fn an_upper_end_the_generator_falls_behind_at_does_not_open_the_bracket() {
        let (mut probe, spec, first_final, rate) = ndr_search_and_its_first_final();
        let _ = run(&mut probe, &spec);
        let upper = probe.asked[first_final + 1].rate.pps(60).unwrap();
        assert!(upper > rate);
        // Both full-length trials at the upper end offer 90 % of it and lose nothing.
        let mut fake = Fake::new(800_000.0, 5_000_000.0);
        for i in [first_final + 1, first_final + 2] {
            fake.script.push((i, counters(Duration::from_secs(1), 0.9 * upper, 0.9 * upper)));
        }
        let found = run(&mut fake, &spec);
        let ndr = &found[0];
        assert_eq!(ndr.found_pps, Some(rate));
        assert!(!fake.lines.iter().any(|l| l.contains("opens above it")), "{:?}", fake.lines);
        assert_eq!(fake.asked.len(), first_final + 3);
    }

    /// A receiver faster than the range (up to 2 Mpps): the short trial at the top holds, and
    /// the first final trial there offers only `offered` frames/s, losing none.
    fn first_final_offers(offered: f64) -> (Fake, Vec<Search>) {
        let mut fake = Fake::new(1e9, 2_000_000.0);
        let spec = SearchSpec { upper_pps: Some(2_000_000), ..spec() };
        fake.script.push((3, counters(Duration::from_secs(1), offered, offered)));
        let found = run(&mut fake, &spec);
        (fake, found)
    }

    #[test]
    fn a_final_trial_whose_generator_fell_far_behind_is_measured_again() {
        // 90 % of the rate: more than the precision short.
        let (fake, found) = first_final_offers(1_800_000.0);
        let ndr = &found[0];
        assert!(ndr.valid, "{:?}", ndr.invalid_reason);
        assert_eq!(fake.asked.len(), 5);
        assert_eq!(fake.asked[4].attempt, 2, "the same rate again");
        assert_eq!(ndr.found_pps, Some(2_000_000.0), "the higher of the two");
        assert_eq!(ndr.final_trial, Some(4));
    }

    #[test]
    fn finals_that_keep_losing_make_the_search_invalid_with_the_reason() {
        let mut fake = Fake::new(800_000.0, 5_000_000.0);
        fake.final_extra = 1.0;
        let found = run(&mut fake, &spec());
        let ndr = &found[0];
        assert!(!ndr.valid);
        assert!(ndr.invalid_reason.as_ref().unwrap().contains("the loss is not steady"));
        // Each rate had its second final trial.
        assert_eq!(
            fake.asked.iter().filter(|a| a.kind == TrialKind::Final).count(),
            2 * MAX_FINAL_FAILURES as usize
        );
    }

    #[test]
    fn finals_that_lose_where_the_generator_fell_behind_blame_the_busy_machine() {
        // Final trials offer 80 % of the rate asked and lose 1 % of that.
        struct Starved(Fake);
        impl Trials for Starved {
            fn measure(&mut self, ask: &Ask) -> anyhow::Result<Option<Point>> {
                if ask.kind != TrialKind::Final {
                    return self.0.measure(ask);
                }
                self.0.asked.push(ask.clone());
                let offered = 0.8 * ask.rate.pps(60).unwrap_or(self.0.top);
                let c = counters(ask.length, offered, 0.99 * offered);
                Ok(Some(Point::new(&receiver(), ask.rate, 1, 60, true, c)))
            }
            fn say(&mut self, line: &str) {
                self.0.say(line);
            }
        }
        let mut starved = Starved(Fake::new(800_000.0, 5_000_000.0));
        let found = search(&spec(), 2, 64, &receiver(), 1, &mut starved).unwrap().unwrap();
        let why = found[0].invalid_reason.as_deref().unwrap();
        assert!(why.contains("its generator fell behind the rate asked"), "{why}");
        assert!(!why.contains("not steady"), "{why}");
    }

    #[test]
    fn short_trials_the_generator_could_not_send_are_named_as_what_stopped_the_bracket() {
        let range = Range { floor: 10_000, ceiling: 1_000_000, lowered: true };
        let b = Bracket { loss_pct: 0.0, lo: Some(100_000), width: 0.2, failed: vec![200_000] };
        let why = b.incomplete(&range, 0.05, 3).unwrap();
        assert!(why.contains("could not send 3 of the rates tried"), "{why}");
        assert!(b.incomplete(&range, 0.05, 0).unwrap().contains("the loss is not steady"));
    }

    #[test]
    fn a_generator_that_falls_behind_is_taken_at_the_rate_it_offered() {
        let mut fake = Fake::new(512_345.0, 5_000_000.0);
        // The third trial (the first short one, at the top-speed guess) falls behind once:
        // the receiver kept all of the 400 kpps it did offer.
        let behind = counters(Duration::from_millis(300), 400_000.0, 400_000.0);
        fake.script.push((2, behind));
        let found = run(&mut fake, &spec());
        let ndr = &found[0];
        assert!(ndr.valid, "{:?}", ndr.invalid_reason);
        assert_eq!(fake.asked[3].attempt, 1, "not measured again");
        assert!(ndr.trials[2].valid, "a measurement at 400 kpps");
        assert!(fake.lines[2].contains("taken at the 0.400 Mpps it offered"), "{}", fake.lines[2]);
        // It passes at the rate asked (nothing was lost): the bracket goes on above it.
        assert!((487_000.0..=512_345.0).contains(&ndr.found_pps.unwrap()), "{ndr:?}");
    }

    #[test]
    fn a_final_trial_whose_generator_fell_behind_finds_the_rate_it_offered() {
        // 96 % of the rate: within the precision, not measured again.
        let (fake, found) = first_final_offers(1_920_000.0);
        let ndr = &found[0];
        assert!(ndr.valid, "{:?}", ndr.invalid_reason);
        assert_eq!(ndr.found_pps, Some(1_920_000.0), "what was offered, not what was asked");
        assert_eq!(ndr.upper_pps, None, "a lower bound");
        assert_eq!(fake.asked.len(), 4);
    }

    #[test]
    fn a_search_whose_generator_fell_behind_above_the_rate_found_gives_a_lower_bound() {
        // The generator holds 300 kpps paced at most; the receiver would take 1 Mpps.
        struct Busy(Fake);
        impl Trials for Busy {
            fn measure(&mut self, ask: &Ask) -> anyhow::Result<Option<Point>> {
                let Some(pps) = ask.rate.pps(60) else { return self.0.measure(ask) };
                if pps <= 300_000.0 {
                    return self.0.measure(ask);
                }
                self.0.asked.push(ask.clone());
                let c = counters(ask.length, 200_000.0, 200_000.0);
                Ok(Some(Point::new(&receiver(), ask.rate, 1, 60, true, c)))
            }
            fn say(&mut self, line: &str) {
                self.0.say(line);
            }
        }
        let mut busy = Busy(Fake::new(1_000_000.0, 3_000_000.0));
        let found = search(&spec(), 0, 64, &receiver(), 1, &mut busy).unwrap().unwrap();
        let ndr = &found[0];
        assert!(ndr.valid, "{ndr:?}");
        assert_eq!(ndr.upper_pps, None, "shown as ≥ the rate found: the generator's limit");
        assert!(ndr.found_pps.unwrap() <= 300_000.0);
    }

    #[test]
    fn a_generator_short_by_a_fixed_share_above_a_rate_is_left_behind_in_a_few_trials() {
        // Above 1.5 Mpps the generator offers 92 % of any rate asked (as the paced xdp engine
        // did on a busy machine); the receiver takes 1.2 Mpps.
        struct Short(Fake);
        impl Trials for Short {
            fn measure(&mut self, ask: &Ask) -> anyhow::Result<Option<Point>> {
                let Some(pps) = ask.rate.pps(60).filter(|p| *p > 1_500_000.0) else {
                    return self.0.measure(ask);
                };
                self.0.asked.push(ask.clone());
                let c = counters(ask.length, 0.92 * pps, 1_200_000.0);
                Ok(Some(Point::new(&receiver(), ask.rate, 1, 60, true, c)))
            }
            fn say(&mut self, line: &str) {
                self.0.say(line);
            }
        }
        let mut short = Short(Fake::new(1_200_000.0, 9_000_000.0));
        short.0.script.push((0, counters(Duration::from_millis(300), 9_000_000.0, 4_800_000.0)));
        let found = search(&spec(), 2, 64, &receiver(), 1, &mut short).unwrap().unwrap();
        let ndr = &found[0];
        assert!(ndr.valid, "{:?}", ndr.invalid_reason);
        assert!((1_140_000.0..=1_200_000.0).contains(&ndr.found_pps.unwrap()), "{ndr:?}");
        assert!(short.0.asked.len() <= 20, "{} trials", short.0.asked.len());
    }

    #[test]
    fn a_rate_the_generator_never_holds_ends_the_range_below_it() {
        // The receiver takes anything; the generator holds 1.2 Mpps paced at most.
        struct Slow(Fake);
        impl Trials for Slow {
            fn measure(&mut self, ask: &Ask) -> anyhow::Result<Option<Point>> {
                let Some(pps) = ask.rate.pps(60) else { return self.0.measure(ask) };
                let c = counters(ask.length, pps.min(1_200_000.0), pps.min(1_200_000.0));
                self.0.asked.push(ask.clone());
                Ok(Some(Point::new(&receiver(), ask.rate, 1, 60, true, c)))
            }
            fn say(&mut self, line: &str) {
                self.0.say(line);
            }
        }
        let mut slow = Slow(Fake::new(1e9, 3_000_000.0));
        let found = search(&spec(), 1, 64, &receiver(), 1, &mut slow).unwrap().unwrap();
        let ndr = &found[0];
        let f = ndr.found_pps.unwrap();
        assert!((1_000_000.0..=1_200_000.0).contains(&f), "{f}");
        assert_eq!(ndr.upper_pps, None, "no loss was seen: only the generator's limit");
        assert!(ndr.valid, "a lower bound, shown as ≥: {:?}", ndr.invalid_reason);
        let said = slow.0.lines.join("\n");
        assert!(said.contains("to the generator's limit here"), "{said}");
    }

    #[test]
    fn a_ceiling_lowered_under_a_wide_bracket_ends_it() {
        let range = Range { floor: 10_000, ceiling: 14_800, lowered: true };
        let b = Bracket { loss_pct: 0.0, lo: Some(14_800), width: 0.2, failed: vec![138_000] };
        assert!(b.done(&range, 0.05), "nothing above the ceiling can be tried");
        assert_eq!(b.incomplete(&range, 0.05, 0), None, "a lower bound, with its bracket");
        let b = Bracket { loss_pct: 0.0, lo: None, width: 0.2, failed: vec![10_000] };
        assert!(b.done(&range, 0.05), "failing at the floor");
        let b = Bracket { loss_pct: 0.0, lo: Some(12_000), width: 0.2, failed: vec![138_000] };
        assert!(!b.done(&range, 0.05));
    }

    #[test]
    fn a_receiver_that_holds_the_generator_back_fails_the_rate() {
        let refused = |offered: f64| Counters {
            drops: crate::results::Drops {
                // Refusals worth the whole shortfall (the ring counts one per retry).
                generator_tx_dropped_frames: Some(100_000),
                ..Default::default()
            },
            ..counters(Duration::from_secs(1), offered, offered)
        };
        let judge = |c| Point::new(&receiver(), Rate::Pps(1_000_000), 1, 60, true, c);
        // Held back to 90 % of the rate by refusals: a 10 % loss at the rate asked.
        let mut p = judge(refused(900_000.0));
        assert!(matches!(
            verdict(&mut p, 64),
            Verdict::Loss { rate: 1_000_000, loss } if (loss - 10.0).abs() < 1e-9
        ));
        // A few refusals the ring waited out, the rate held: backpressure, no loss.
        let mut p = judge(refused(1_000_000.0));
        assert_eq!(verdict(&mut p, 64), Verdict::Loss { rate: 1_000_000, loss: 0.0 });
        // Behind with nothing refused: measured at what it offered, not a loss.
        let mut p = judge(counters(Duration::from_secs(1), 900_000.0, 900_000.0));
        assert_eq!(verdict(&mut p, 64), Verdict::Loss { rate: 900_000, loss: 0.0 });
        assert!(p.valid);
        // Nothing sent: invalid, not a measurement.
        let mut p = judge(counters(Duration::from_secs(1), 0.0, 0.0));
        assert!(matches!(verdict(&mut p, 64), Verdict::Behind(_)));
        // Bursts beyond the limit: invalid, not a loss.
        let mut p = judge(Counters {
            largest_burst_frames: Some(1000),
            ..counters(Duration::from_secs(1), 1_000_000.0, 1_000_000.0)
        });
        assert!(matches!(verdict(&mut p, 64), Verdict::Behind(_)));
        assert!(!p.valid);
        assert!(p.invalid_reason.unwrap().contains("bursts of 1000 frames (limit 64)"));
        // Within the limit, a slipped schedule is only a note.
        let mut p = judge(Counters {
            largest_burst_frames: Some(64),
            generator_limit: Some("rate not held: the schedule slipped 2 ms".into()),
            ..counters(Duration::from_secs(1), 1_000_000.0, 1_000_000.0)
        });
        assert_eq!(verdict(&mut p, 64), Verdict::Loss { rate: 1_000_000, loss: 0.0 });
    }

    #[test]
    fn a_broken_receiver_makes_every_target_invalid() {
        let mut fake = Fake::new(512_345.0, 5_000_000.0);
        // More received than sent, three times in a row on the first short trial.
        let bad = Counters {
            app_rx_frames: 10_000_000,
            ..counters(Duration::from_millis(300), 512_000.0, 512_000.0)
        };
        for i in 1..=3 {
            fake.script.push((i, bad.clone()));
        }
        let found = run(&mut fake, &spec());
        assert!(found.iter().all(|s| !s.valid && s.found_pps.is_none()));
        assert!(found[0].invalid_reason.as_ref().unwrap().contains("other traffic"));
    }

    #[test]
    fn rates_are_rounded_to_three_digits() {
        assert_eq!(round_rate(523_417.0), 523_000);
        assert_eq!(round_rate(1_234_567.0), 1_230_000);
        assert_eq!(round_rate(99_949.0), 99_900);
        assert_eq!(round_rate(0.2), 1);
    }
}
