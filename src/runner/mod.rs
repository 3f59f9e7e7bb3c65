//! `netlab run`: the whole class experiment from one scenario file.
//!
//! 1. The scenario is loaded and validated ([`Scenario::load`]), the packet file read, every
//!    receiver's knobs and `exec` program checked, the lab planned, the generator checked at
//!    every rate — all before anything is built, by [`preflight::check`], which `netlab check`
//!    runs too; any problem is bad input (exit 2). Then the privileges (exit 3) and the results
//!    directory (exit 2).
//! 2. The hosts the roles are placed on are connected ([`hosts`]; without `[hosts]`, this
//!    machine, in-process) and the lab goes up there ([`crate::topology::Lab::up_plan`]), in
//!    namespace `netlab-<name>`.
//! 3. The frames get the lab's MACs ([`template`]); the generator engine of each rate is
//!    resolved once, with no receiver running, and used for every point at that rate.
//! 4. `results/<name>-<UTC>/` is created (manifest, scenario copy); every point is measured
//!    ([`measure`]) and every receiver searched for the scenario's loss targets ([`search`]:
//!    NDR, PDR) in the scenario's order ([`order`]), judged ([`crate::results::Point`]) and the
//!    results files rewritten after each point and each search, so the directory is always
//!    complete. Then the points still invalid are measured again, up to `run.retries` times
//!    ([`crate::report::invalid_lines`] lists what stays invalid, with the reason).
//! 5. The lab is taken down — also on error, on SIGINT/SIGTERM and on panic (its `Drop`); a
//!    remote host takes down what it built when its connection ends, however it ends.
//!
//! # Validity of a point
//! A point is a measurement of what the receiver kept of what the generator offered. It is
//! marked **invalid** — shown as such in the table and plots, never averaged in — when the
//! measurement itself is wrong, not when the receiver loses frames (loss is what is measured):
//! - the generator sent nothing, or offered less than 98 % of the asked rate
//!   ([`crate::results::MIN_OFFERED_FRACTION`]; `max` asks for nothing, so it cannot fall short);
//! - the receiver counted more frames than were sent (traffic that is not ours);
//! - the IPv4 count disagrees with the frames received: for a packet file of IPv4 frames every
//!   frame received must count, for one without IPv4 none; for a file mixing both, the exact
//!   IPv4 count of the frames sent when the receiver got them all, else a count within what
//!   the frames received can hold.
//!
//! - the receiver program (`exec`) failed: it printed no `READY` within its settle time, no
//!   or a malformed `RESULT-` line, or exited before it was stopped. Its point is invalid with
//!   that reason, the run goes on with the other points, and [`RunOutcome::receivers_failed`]
//!   names it (`netlab run` then exits with [`crate::exit::Code::ReceiversFailed`]).
//!
//! # A host lost
//! When the connection to a remote host drops mid-run, the point in flight is dropped (its
//! window is incomplete), the points measured so far are written with `"partial": true`, the
//! other hosts take their roles and lab down (the lost one cleans itself when its agent sees its
//! stdin close), and `netlab run` exits with [`crate::exit::Code::Host`] (6).
//!
//! # Interrupts
//! SIGINT/SIGTERM (and SIGHUP) stop the point in progress (it is dropped: its window is incomplete), the
//! points measured so far are written with `"partial": true`, the lab is taken down, and
//! `netlab run` exits with 130.

pub mod hosts;
pub mod in_turn;
pub mod measure;
pub mod order;
pub mod preflight;
pub mod progress;
pub mod receivers;
pub mod search;
pub mod template;

use std::path::PathBuf;
use std::time::Duration;

use crate::interrupt::Interrupt;
use crate::report::ResultsDir;
use crate::results::{Ipv4Sent, Manifest, Point, Results};
use crate::scenario::{Order, Scenario};
use crate::topology::{LabRecord, Role};

use crate::generator::Engine;
use crate::scenario::Rate;
use measure::{Bench, Measured, Outcome, Trial};
use progress::Progress;
use template::Template;

/// What `netlab run` was asked to do.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// The scenario file.
    pub file: PathBuf,
    /// The lab's name (namespace `netlab-<name>`); default: the scenario's `name`.
    pub lab_name: Option<String>,
    /// Where results directories are created.
    pub results_base: PathBuf,
    /// No progress display.
    pub quiet: bool,
}

/// What a run produced.
#[derive(Debug)]
pub struct RunOutcome {
    /// Every point measured (`partial` when interrupted).
    pub results: Results,
    /// The results directory.
    pub dir: PathBuf,
    /// The signal that interrupted the run, if one did.
    pub interrupted: Option<&'static str>,
    /// The generator engine used.
    pub engine: String,
    /// Labels of the receivers (`exec` programs) that failed at least one point; those points
    /// are invalid with the reason, the others were measured.
    pub receivers_failed: Vec<String>,
}

/// Runs the scenario of `options` (see the module docs).
pub fn run(options: &RunOptions) -> anyhow::Result<RunOutcome> {
    let checked = preflight::check(&options.file, options.lab_name.as_deref())?;
    let scenario = &checked.scenario;
    let local =
        |name: &str| scenario.host(name).is_some_and(|h| h.place == crate::scenario::Place::Local);
    if local(&scenario.placement.generator) || local(&scenario.placement.receiver) {
        preflight::privileges(checked.plan.kind)?;
    }
    preflight::results_writable(&options.results_base)?;
    // An engine this kernel cannot send with is refused before anything is built.
    for (rate, kind, why) in preflight::engines(&checked)?.unwrap_or_default() {
        tracing::info!("engine at {rate}: {kind} ({why})");
    }
    let preflight::Checked { scenario, frames, configs, plan } = checked;

    // From here on SIGINT/SIGTERM are noted, not fatal: the lab must come down.
    let interrupt = Interrupt::watch()?;
    // Every host answers before anything is built anywhere.
    let mut hosts = hosts::Hosts::connect(&scenario)?;
    let result = hosts
        .lab_up(&scenario, &plan)
        .and_then(|lab| run_in_lab(options, &scenario, &hosts, &lab, frames, &configs, &interrupt));
    let down = hosts.lab_down();
    let outcome = result?;
    down?;
    Ok(outcome)
}

/// What `netlab run --dry-run` found on one host.
#[derive(Debug)]
pub struct Survey {
    /// The host's name in the scenario.
    pub name: String,
    /// Where it is.
    pub place: crate::scenario::Place,
    /// What it said when it connected (its netlab version and agent protocol).
    pub hello: crate::agent::Hello,
    /// Its facts and interfaces.
    pub facts: crate::agent::Facts,
    /// The interfaces the scenario uses there (`interface` labs), by role.
    pub uses: Vec<(Role, String)>,
}

/// Checks the scenario as `netlab run` would, connects every host a role is placed on and
/// asks each for its facts and interfaces — building nothing anywhere.
pub fn dry_run(options: &RunOptions) -> anyhow::Result<Vec<Survey>> {
    let preflight::Checked { scenario, plan, .. } =
        preflight::check(&options.file, options.lab_name.as_deref())?;
    let hosts = hosts::Hosts::connect(&scenario)?;
    let mut found = Vec::new();
    for host in hosts.all() {
        let mut uses = Vec::new();
        if plan.kind == crate::topology::Kind::Interface {
            for (role, on, iface) in [
                (Role::Generator, &scenario.placement.generator, &plan.generator.name),
                (Role::Receiver, &scenario.placement.receiver, &plan.receiver.name),
            ] {
                if on == host.name() {
                    uses.push((role, iface.clone()));
                }
            }
        }
        found.push(Survey {
            name: host.name().to_string(),
            place: host.place().clone(),
            hello: host.hello().clone(),
            facts: host.facts()?,
            uses,
        });
    }
    Ok(found)
}

fn run_in_lab(
    options: &RunOptions,
    scenario: &Scenario,
    hosts: &hosts::Hosts,
    lab: &LabRecord,
    frames: Vec<crate::packet::Frame>,
    configs: &[crate::receiver::RecvConfig],
    interrupt: &Interrupt,
) -> anyhow::Result<RunOutcome> {
    let template = Template::for_lab(scenario, lab, frames)?;
    let mut bench = Bench {
        scenario,
        lab,
        generator_host: hosts.generator(),
        receiver_host: hosts.receiver(),
        template: &template,
        configs,
        interrupt,
        engines: Vec::new(),
    };
    let chosen = bench.resolve_engines()?;
    let engine = engines_text(scenario, &chosen);
    let seed = scenario.run.seed.unwrap_or_else(order::fresh_seed);
    let steps = order::steps(scenario, seed);

    let mut results = Results::new(scenario, template.frame_len());
    let manifest = manifest(&bench, hosts, &chosen, &engine, seed);
    let dir = ResultsDir::create(&options.results_base, scenario, results.started, &manifest)?;
    // Every point and every receiver's search (a step of searches holds one per receiver).
    let mut progress = Progress::new(scenario.points() + scenario.search_runs(), options.quiet);
    progress.say(&first_line(scenario, hosts, lab, &engine, dir.path()));

    let mut receivers_failed = Vec::new();
    let measured =
        measure_all(&bench, &steps, &mut results, &dir, &mut progress, &mut receivers_failed);
    progress.finish();
    results.finish();
    if interrupt.is_set() {
        results.partial = true;
    }
    match measured {
        Ok(()) => {}
        Err(e) if results.points.is_empty() && results.searches.is_empty() => {
            // Nothing was measured: leave nothing behind.
            if let Err(cleanup) = std::fs::remove_dir_all(dir.path()) {
                tracing::warn!("removing {}: {cleanup}", dir.path().display());
            }
            return Err(e);
        }
        Err(e) => {
            dir.write_results(&results)?;
            return Err(e.context(format!(
                "after {} of {} points (written, marked partial, to {})",
                results.points.len(),
                results.planned_points,
                dir.path().display()
            )));
        }
    }
    dir.write_results(&results)?;
    let interrupted = if results.partial { interrupt.signal() } else { None };
    Ok(RunOutcome { results, dir: dir.path().to_path_buf(), interrupted, engine, receivers_failed })
}

/// The run's manifest: the scenario, the engine of each rate and why (`chosen`), the order's
/// seed, the lab and its packet, and every host's facts when one is remote.
fn manifest(
    bench: &Bench<'_>,
    hosts: &hosts::Hosts,
    chosen: &[(crate::generator::EngineKind, String)],
    engine: &str,
    seed: u64,
) -> Manifest {
    let scenario = bench.scenario;
    let engine_reasons: Vec<serde_json::Value> = scenario
        .generator
        .rates
        .iter()
        .zip(chosen)
        .map(|(rate, (kind, why))| serde_json::json!({"rate": rate, "engine": kind, "why": why}))
        .collect();
    let lab_facts = serde_json::json!({
        "lab": bench.lab,
        "packet": bench.template.facts(&scenario.packet.file),
        "engines": engine_reasons,
        "warmup_s": scenario.generator.warmup.as_secs_f64(),
        "duration_s": scenario.generator.duration.as_secs_f64(),
        "drain_s": scenario.run.drain.as_secs_f64(),
        "order": scenario.run.order,
    });
    let mut manifest = Manifest::collect(
        scenario,
        engine,
        (scenario.run.order == Order::Shuffled).then_some(seed),
        lab_facts,
    );
    if hosts.any_remote() {
        manifest.hosts = hosts.facts.clone();
    }
    manifest
}

/// The run's first progress line: the lab (where its interfaces are when a host is remote),
/// the engine, what will be measured and where the results go.
fn first_line(
    scenario: &Scenario,
    hosts: &hosts::Hosts,
    lab: &LabRecord,
    engine: &str,
    dir: &std::path::Path,
) -> String {
    let searches = match scenario.search_runs() {
        0 => String::new(),
        n => format!(", {n} search{}", if n == 1 { "" } else { "es" }),
    };
    let place = if hosts.any_remote() {
        let on = |role: Role, host: &crate::agent::Host| {
            let name = lab.interface(role).map_or("?", |i| i.name.as_str());
            format!("{name} on {}", host.name())
        };
        format!(
            "generator {}, receivers {}",
            on(Role::Generator, hosts.generator()),
            on(Role::Receiver, hosts.receiver())
        )
    } else {
        lab.netns_name().unwrap_or("host").to_string()
    };
    format!(
        "lab `{}` up ({} {place}), engine {engine}, {} points{searches}; results in {}",
        lab.name,
        crate::topology::plan::kind_name(lab.kind),
        scenario.points(),
        dir.display()
    )
}

/// `xdp (why)`, or `ring (100kpps), xdp (max)` when the rates use different engines; with searches,
/// also the engine choice their trials make at each trial's rate (`auto for search trials`).
fn engines_text(scenario: &Scenario, chosen: &[(crate::generator::EngineKind, String)]) -> String {
    if chosen.is_empty() {
        // Only searches: their trials' engine is chosen per rate (see the progress lines).
        return match scenario.generator.engine {
            Engine::Fixed(kind) => kind.name().to_string(),
            choice @ (Engine::Auto | Engine::Order(_)) => {
                format!("{choice} (chosen at each trial's rate)")
            }
        };
    }
    let first = chosen.first();
    let fixed = if chosen.iter().all(|(kind, _)| Some(kind) == first.map(|(k, _)| k)) {
        // One engine at every rate: it, and why (what the kernel allowed, for auto or an order).
        first.map_or_else(String::new, |(kind, why)| format!("{kind} ({why})"))
    } else {
        let per_rate: Vec<String> = scenario
            .generator
            .rates
            .iter()
            .zip(chosen)
            .map(|(rate, (kind, _))| format!("{kind} ({rate})"))
            .collect();
        per_rate.join(", ")
    };
    let searched = (scenario.search_runs() > 0)
        .then(|| format!("{} for search trials", scenario.generator.engine));
    [Some(fixed).filter(|f| !f.is_empty()), searched]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join("; ")
}

fn measure_all(
    bench: &Bench<'_>,
    steps: &[order::Step],
    results: &mut Results,
    dir: &ResultsDir,
    progress: &mut Progress,
    receivers_failed: &mut Vec<String>,
) -> anyhow::Result<()> {
    let mut engines = Engines::default();
    for step in steps {
        if bench.interrupt.is_set() {
            return Ok(());
        }
        match *step {
            order::Step::Point(plan) => {
                let trial = bench.fixed(plan.rate, plan.receiver, plan.repetition);
                let Some(point) = measure_point(bench, &trial, progress, receivers_failed)? else {
                    return Ok(());
                };
                progress.end(&summary(&point));
                results.points.push(point);
            }
            order::Step::Searches { repetition } => {
                let Some(spec) = &bench.scenario.search else { continue };
                let g = &bench.scenario.generator;
                let burst_limit = g.burst.map_or(crate::generator::DEFAULT_BURST as u64, u64::from);
                let retries = bench.scenario.run.retries;
                let searches: Vec<in_turn::SearchFn<'_>> = bench
                    .scenario
                    .receivers
                    .iter()
                    .map(|receiver| -> in_turn::SearchFn<'_> {
                        Box::new(move |trials: &mut dyn search::Trials| {
                            search::search(spec, retries, burst_limit, receiver, repetition, trials)
                        })
                    })
                    .collect();
                let mut trials = SearchTrials {
                    bench,
                    progress: &mut *progress,
                    receivers_failed: &mut *receivers_failed,
                    engines: &mut engines,
                    repetition,
                };
                let Some(found) = in_turn::in_turn(searches, &mut trials)? else { return Ok(()) };
                for searches in found {
                    progress.advance();
                    results.searches.extend(searches);
                }
            }
        }
        dir.write_results(results)?;
    }
    retry_invalid(bench, results, dir, progress, receivers_failed)
}

/// Measures a point; `None` when a signal came (the display is cleared; the caller ends it).
fn measure_point(
    bench: &Bench<'_>,
    trial: &Trial,
    progress: &mut Progress,
    receivers_failed: &mut Vec<String>,
) -> anyhow::Result<Option<Point>> {
    match bench.measure(trial, progress) {
        Ok(Outcome::Measured(m)) => Ok(Some(judge(bench, trial, *m))),
        Ok(Outcome::ReceiverFailed(reason)) => {
            // The point's summary line says why (INVALID: receiver failed: …).
            let label = &bench.scenario.receivers[trial.receiver].label;
            if !receivers_failed.contains(label) {
                receivers_failed.push(label.clone());
            }
            Ok(Some(failed(bench, trial, reason)))
        }
        Ok(Outcome::Interrupted) => {
            progress.abandon();
            Ok(None)
        }
        Err(e) => {
            progress.abandon();
            Err(e)
        }
    }
}

/// The engine of each rate a search tried, found once with no receiver running.
#[derive(Debug, Default)]
struct Engines {
    by_rate: std::collections::HashMap<Rate, Engine>,
    /// The engine of the rate found last: a change is shown.
    last: Option<crate::generator::EngineKind>,
}

/// The trials of a repetition's searches (one per receiver, in the scenario's order), measured
/// by the bench.
struct SearchTrials<'b, 'p> {
    bench: &'b Bench<'b>,
    progress: &'p mut Progress,
    receivers_failed: &'p mut Vec<String>,
    engines: &'p mut Engines,
    repetition: u32,
}

impl in_turn::TurnTrials for SearchTrials<'_, '_> {
    fn measure(&mut self, receiver: usize, ask: &search::Ask) -> anyhow::Result<Option<Point>> {
        let engine = match self.engines.by_rate.get(&ask.rate) {
            Some(engine) => *engine,
            None => {
                let (kind, why) = self.bench.resolve_engine(ask.rate)?;
                if self.engines.last != Some(kind) {
                    self.progress.say(&format!("trials at {}: engine {kind} ({why})", ask.rate));
                }
                self.engines.by_rate.insert(ask.rate, Engine::Fixed(kind));
                self.engines.last = Some(kind);
                Engine::Fixed(kind)
            }
        };
        let label = &self.bench.scenario.receivers[receiver].label;
        let attempt =
            if ask.attempt > 1 { format!(" (attempt {})", ask.attempt) } else { String::new() };
        let trial = Trial {
            receiver,
            repetition: self.repetition,
            rate: ask.rate,
            engine,
            warmup: if ask.warm_up { self.bench.scenario.generator.warmup } else { Duration::ZERO },
            duration: ask.length,
            title: format!(
                "{label} {} @ {} #{}{attempt}",
                ask.kind.name(),
                ask.rate,
                self.repetition
            ),
        };
        let point = measure_point(self.bench, &trial, self.progress, self.receivers_failed)?;
        // The search says what the trial came to.
        self.progress.abandon();
        Ok(point)
    }

    fn say(&mut self, line: &str) {
        self.progress.say(line);
    }
}

/// How the reason of a point whose receiver program failed begins.
const RECEIVER_FAILED: &str = "receiver failed: ";

/// Measures again, at the end of the run, every point at a fixed rate whose last measurement
/// is invalid (but not because its receiver program failed), up to `run.retries` times; each
/// new measurement is a point of its own (`attempt` 2 and on).
fn retry_invalid(
    bench: &Bench<'_>,
    results: &mut Results,
    dir: &ResultsDir,
    progress: &mut Progress,
    receivers_failed: &mut Vec<String>,
) -> anyhow::Result<()> {
    let scenario = bench.scenario;
    for attempt in 2..=scenario.run.retries.saturating_add(1) {
        let todo: Vec<(usize, usize, u32)> = results
            .still_invalid()
            .into_iter()
            // A receiver program's failure is its own: measuring it again would not help.
            .filter(|p| !p.invalid_reason.as_deref().unwrap_or("").starts_with(RECEIVER_FAILED))
            .filter_map(|p| {
                let rate = scenario.generator.rates.iter().position(|r| *r == p.rate)?;
                let receiver = scenario.receivers.iter().position(|r| r.label == p.label)?;
                Some((rate, receiver, p.repetition))
            })
            .collect();
        if todo.is_empty() {
            return Ok(());
        }
        progress.more(todo.len());
        progress.say(&format!(
            "measuring {} invalid point{} again (attempt {attempt} of {})",
            todo.len(),
            if todo.len() == 1 { "" } else { "s" },
            scenario.run.retries + 1
        ));
        for (rate, receiver, repetition) in todo {
            if bench.interrupt.is_set() {
                return Ok(());
            }
            let mut trial = bench.fixed(rate, receiver, repetition);
            trial.title = format!("{} (attempt {attempt})", trial.title);
            let Some(mut point) = measure_point(bench, &trial, progress, receivers_failed)? else {
                return Ok(());
            };
            point.attempt = attempt;
            progress.end(&summary(&point));
            results.points.push(point);
            dir.write_results(results)?;
        }
    }
    Ok(())
}

/// The point of a receiver program that failed: nothing counted, invalid with the reason.
fn failed(bench: &Bench<'_>, trial: &Trial, reason: String) -> Point {
    let receiver = &bench.scenario.receivers[trial.receiver];
    let frame_len = bench.template.frame_len();
    let ipv4 = bench.template.ipv4_per_pass() > 0;
    let mut point =
        Point::new(receiver, trial.rate, trial.repetition, frame_len, ipv4, Default::default());
    point.valid = false;
    point.invalid_reason = Some(format!("{RECEIVER_FAILED}{reason}"));
    point
}

/// The point of a measured window, judged (see the module docs on validity).
fn judge(bench: &Bench<'_>, trial: &Trial, m: Measured) -> Point {
    let receiver = &bench.scenario.receivers[trial.receiver];
    let rate = trial.rate;
    let template = bench.template;
    let frame_len = template.frame_len();
    let ipv4_per_pass = template.ipv4_per_pass();
    let mixed = ipv4_per_pass != 0 && ipv4_per_pass != template.frames.len();
    let Measured { counters, send, recv } = m;
    let ipv4_sent = if mixed {
        Ipv4Sent::Mixed { ipv4: template.ipv4_in_first(counters.sent_frames) }
    } else {
        Ipv4Sent::from(ipv4_per_pass > 0)
    };
    let point = Point::new(receiver, rate, trial.repetition, frame_len, ipv4_sent, counters);
    let failed = send.frames_failed();
    if failed > 0 {
        tracing::info!(
            "{} @ {rate} #{}: the generator gave up {failed} frames ({:?})",
            receiver.label,
            trial.repetition,
            send.failed
        );
    }
    tracing::debug!("{} @ {rate}: send {send:?}; recv {recv:?}", receiver.label);
    point
}

/// One line for a finished point.
fn summary(p: &Point) -> String {
    let cpu = p.rx_ns_per_frame.map(|receiver_ns| crate::receiver::CpuPerFrame {
        receiver_ns,
        kernel_ns: p.napi_ns_per_frame,
    });
    let ns = cpu.map_or("-".to_string(), |c| c.describe());
    let verdict = match &p.invalid_reason {
        Some(why) => format!("  INVALID: {why}"),
        None => String::new(),
    };
    format!(
        "{:>14} @ {:<8} #{}: sent {:.3} Mpps, iface rx {}, app {:.3} Mpps ({:.1} % lost), \
         {ns}{verdict}",
        p.label,
        p.rate.to_string(),
        p.repetition,
        p.offered_pps / 1e6,
        p.counters.iface_rx_frames,
        p.achieved_pps / 1e6,
        p.loss_pct,
    )
}
