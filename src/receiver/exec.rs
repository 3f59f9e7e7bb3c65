//! `exec`: a user's own receiver program — a student's fastnet in C, say.
//!
//! The contract with the program:
//! - `command` is split like a shell would (quotes, no expansion) and run directly, inside the
//!   lab's namespace and pinned to the receive core (it inherits both from the receiver
//!   thread). Placeholders: `{iface}` (the interface), `{core}` (the receive core; an error
//!   when no core is given). Example: `./rx {iface}`.
//! - It is ready once it prints a line `READY` (socket open, program attached): traffic starts
//!   then. It has [`READY_WITHIN`] (the settle time) to do so; a program that has not printed
//!   it by then has failed.
//! - It receives until it gets `SIGINT` (sent to its process group), then prints its results
//!   on stdout and exits: `RESULT-RX <frames>` and `RESULT-IP <IPv4 frames>` at least; any
//!   other `RESULT-<NAME> <value>` line is kept in the report. A `RESULT-RX` line printed while
//!   it runs updates the live counter.
//! - A program still running [`GRACE`] after `SIGINT` gets `SIGTERM`, then `SIGKILL`.
//! - It dies with netlab: the kernel sends it `SIGKILL` when netlab ends in any way, `SIGKILL`
//!   included ([`fastnet::child::kill_with_parent`]). That does not reach processes it starts
//!   itself: a wrapper script should `exec` the receiver.
//!
//! Other stdout lines are logged (`-v`); stderr goes to netlab's stderr.

use std::collections::BTreeMap;
use std::io::BufRead as _;
use std::os::unix::process::CommandExt as _;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context as _};
use rustix::process::{Pid, Signal};

use super::{Live, RecvReport, RecvSpec};
use crate::exit::bad_input;

/// How long a program has to print `READY` after it was started (the settle time).
pub const READY_WITHIN: Duration = Duration::from_secs(5);

/// How long a program may take to print its results after `SIGINT` (and again after
/// `SIGTERM`) before it is sent the next signal.
pub const GRACE: Duration = Duration::from_secs(3);

/// How often the runner looks at the program while it runs.
const TICK: Duration = Duration::from_millis(20);

/// The program's argv: `command` split like a shell would, placeholders filled in.
pub fn argv(command: &str, iface: &str, core: Option<usize>) -> anyhow::Result<Vec<String>> {
    let words = shlex::split(command)
        .ok_or_else(|| bad_input(format!("exec command `{command}`: unbalanced quotes")))?;
    if words.is_empty() {
        return Err(bad_input("exec command is empty"));
    }
    words
        .into_iter()
        .map(|w| {
            let w = w.replace("{iface}", iface);
            if w.contains("{core}") {
                let core = core.ok_or_else(|| {
                    bad_input(format!("exec command `{command}` uses {{core}} but no core is set"))
                })?;
                return Ok(w.replace("{core}", &core.to_string()));
            }
            Ok(w)
        })
        .collect()
}

/// A line of the program's stdout that matters.
enum Event {
    Ready,
    Result(String, String),
    Eof,
}

/// Reads `RESULT-<NAME> <value>` and `READY` lines; everything else is logged.
fn parse_line(line: &str) -> Option<Event> {
    let line = line.trim();
    if line == "READY" {
        return Some(Event::Ready);
    }
    let rest = line.strip_prefix("RESULT-")?;
    let (name, value) = rest.split_once(char::is_whitespace)?;
    if name.is_empty() {
        return None;
    }
    Some(Event::Result(name.to_string(), value.trim().to_string()))
}

struct Program {
    child: Child,
    pid: Pid,
    events: mpsc::Receiver<Event>,
    results: BTreeMap<String, String>,
    ready: bool,
    eof: bool,
}

impl Program {
    fn spawn(argv: &[String]) -> anyhow::Result<Self> {
        let mut command = Command::new(&argv[0]);
        // The program dies with this thread, hence with netlab even on SIGKILL; and SIGINT
        // reaches it even when netlab was started with SIGINT ignored (`netlab run … &`).
        fastnet::child::default_stop_signals(&mut command);
        let mut child = fastnet::child::kill_with_parent(&mut command)
            .args(&argv[1..])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .process_group(0)
            .spawn()
            .map_err(|e| match e.kind() {
                std::io::ErrorKind::NotFound => {
                    bad_input(format!("exec: command `{}` not found", argv[0]))
                }
                std::io::ErrorKind::PermissionDenied => {
                    bad_input(format!("exec: `{}` is not executable", argv[0]))
                }
                _ => anyhow::Error::new(e).context(format!("exec: cannot start `{}`", argv[0])),
            })?;
        let pid = Pid::from_raw(child.id() as i32).ok_or_else(|| anyhow!("exec: pid 0"))?;
        let stdout = child.stdout.take().ok_or_else(|| anyhow!("exec: no stdout pipe"))?;
        let (tx, events) = mpsc::channel();
        std::thread::Builder::new()
            .name("exec stdout".into())
            .spawn(move || {
                for line in std::io::BufReader::new(stdout).lines() {
                    let Ok(line) = line else { break };
                    match parse_line(&line) {
                        Some(event) => {
                            if tx.send(event).is_err() {
                                return;
                            }
                        }
                        None => tracing::info!("exec: {line}"),
                    }
                }
                let _ = tx.send(Event::Eof);
            })
            .context("cannot spawn the exec reader thread")?;
        Ok(Self { child, pid, events, results: BTreeMap::new(), ready: false, eof: false })
    }

    /// Takes the events that arrived, waiting up to `wait` for the first.
    fn pump(&mut self, wait: Duration, live: &Live) {
        let mut next = self.events.recv_timeout(wait).ok();
        while let Some(event) = next {
            match event {
                Event::Ready => self.ready = true,
                Event::Eof => self.eof = true,
                Event::Result(name, value) => {
                    let counter = match name.as_str() {
                        "RX" => Some(&live.frames),
                        "IP" => Some(&live.ipv4),
                        _ => None,
                    };
                    if let (Some(c), Ok(v)) = (counter, value.parse::<u64>()) {
                        c.store(v, Ordering::Relaxed);
                    }
                    self.results.insert(name, value);
                }
            }
            next = self.events.try_recv().ok();
        }
    }

    /// Whether the program has exited (left as a zombie, so its CPU time can still be read).
    fn exited(&self) -> anyhow::Result<bool> {
        use rustix::process::{waitid, WaitId, WaitIdOptions};
        let opts = WaitIdOptions::EXITED | WaitIdOptions::NOWAIT | WaitIdOptions::NOHANG;
        Ok(waitid(WaitId::Pid(self.pid), opts).context("waitid(exec program)")?.is_some())
    }

    /// user + system time of the program and the children it waited for, from
    /// `/proc/<pid>/stat` (in clock ticks).
    fn cpu_time(&self) -> Option<Duration> {
        let stat =
            std::fs::read_to_string(format!("/proc/{}/stat", self.pid.as_raw_nonzero())).ok()?;
        // Fields after the `(comm)`, which may contain spaces: state is field 3, utime 14.
        let after = &stat[stat.rfind(')')? + 2..];
        let fields: Vec<&str> = after.split_whitespace().collect();
        let ticks: u64 = fields.get(11..15)?.iter().filter_map(|f| f.parse::<u64>().ok()).sum();
        let hz = rustix::param::clock_ticks_per_second().max(1);
        Some(Duration::from_nanos(ticks.saturating_mul(1_000_000_000 / hz)))
    }

    fn signal(&self, signal: Signal) {
        // The program may have exited meanwhile (ESRCH): nothing to do then.
        let _ = rustix::process::kill_process_group(self.pid, signal);
    }

    /// Sends `SIGINT`, then `SIGTERM`, then `SIGKILL`, each after [`GRACE`], until it exits.
    fn stop(&mut self, live: &Live) -> anyhow::Result<()> {
        for signal in [Signal::INT, Signal::TERM, Signal::KILL] {
            if self.exited()? {
                return Ok(());
            }
            if signal != Signal::INT {
                tracing::warn!(
                    "exec: program still running {GRACE:?} after the last signal; \
                                sending {signal:?}"
                );
            }
            self.signal(signal);
            let deadline = Instant::now() + GRACE;
            while Instant::now() < deadline {
                self.pump(TICK, live);
                if self.exited()? {
                    return Ok(());
                }
            }
        }
        Ok(())
    }
}

impl Drop for Program {
    fn drop(&mut self) {
        if !matches!(self.child.try_wait(), Ok(Some(_))) {
            self.signal(Signal::KILL);
            let _ = self.child.wait();
        }
    }
}

fn early_exit(argv: &[String], status: std::process::ExitStatus) -> anyhow::Error {
    let why = match status.code() {
        Some(127) => " (127: command not found)".to_string(),
        Some(code) => format!(" (exit status {code})"),
        None => format!(" ({status})"),
    };
    bad_input(format!("exec: `{}` exited before it was stopped{why}", argv.join(" ")))
}

/// Runs the program on the calling thread's namespace and core (see the module docs).
pub(super) fn run(
    spec: &RecvSpec,
    stop: &AtomicBool,
    live: &Live,
    ready: mpsc::Sender<()>,
) -> anyhow::Result<RecvReport> {
    let command = spec.config.command.as_deref().unwrap_or_default();
    let argv = argv(command, &spec.iface, spec.core)?;
    let mut program = Program::spawn(&argv)?;
    let started = Instant::now();
    while !program.ready {
        if started.elapsed() >= READY_WITHIN {
            return Err(bad_input(format!(
                "exec: `{}` never printed READY within {} s",
                argv.join(" "),
                READY_WITHIN.as_secs()
            )));
        }
        program.pump(TICK, live);
        if program.exited()? {
            return Err(early_exit(&argv, program.child.wait()?));
        }
    }
    let t0 = Instant::now();
    let _ = ready.send(());
    while !stop.load(Ordering::Relaxed) {
        program.pump(TICK, live);
        if program.exited()? {
            return Err(early_exit(&argv, program.child.wait()?));
        }
    }
    program.stop(live)?;
    let cpu = program.cpu_time().unwrap_or_default();
    let status = program.child.wait().context("exec: wait")?;
    let elapsed = t0.elapsed();
    // The pipe closes when the program (and anything it started) has exited.
    let eof_deadline = Instant::now() + Duration::from_secs(1);
    while !program.eof && Instant::now() < eof_deadline {
        program.pump(TICK, live);
    }
    let count = |name: &str| -> anyhow::Result<u64> {
        let value = program.results.get(name).ok_or_else(|| {
            bad_input(format!(
                "exec: `{}` printed no RESULT-{name} line ({status}); it must print \
                 `RESULT-RX <frames>` and `RESULT-IP <ipv4>` when it gets SIGINT",
                argv.join(" ")
            ))
        })?;
        value.parse().map_err(|_| {
            bad_input(format!(
                "exec: `{}` printed `RESULT-{name} {value}`: not a number (a count of frames)",
                argv.join(" ")
            ))
        })
    };
    let (frames, ipv4) = (count("RX")?, count("IP")?);
    if !status.success() {
        tracing::warn!("exec: `{}` ended with {status} after printing its results", argv.join(" "));
    }
    Ok(RecvReport {
        method: spec.method,
        frames,
        ipv4,
        kernel: None,
        cpu_ns: u64::try_from(cpu.as_nanos()).unwrap_or(u64::MAX),
        napi_cpu_ns: None,
        delay_bound_ns: None,
        xdp_mode: None,
        xsk_bind: None,
        elapsed_ns: u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX),
        results: program.results.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argv_splits_like_a_shell_and_fills_placeholders() {
        let a = argv("./rx {iface} core={core} 'two words'", "veth1", Some(1)).unwrap();
        assert_eq!(a, ["./rx", "veth1", "core=1", "two words"]);
        assert!(argv("./rx {core}", "b", None).unwrap_err().to_string().contains("{core}"));
        assert!(argv("./rx 'open", "b", None).unwrap_err().to_string().contains("quotes"));
        assert!(argv("  ", "b", None).is_err());
    }

    #[test]
    fn result_lines_are_parsed_and_other_lines_ignored() {
        assert!(matches!(parse_line("READY"), Some(Event::Ready)));
        match parse_line("RESULT-RX 12345\n") {
            Some(Event::Result(n, v)) => assert_eq!((n.as_str(), v.as_str()), ("RX", "12345")),
            _ => panic!("not parsed"),
        }
        assert!(parse_line("RESULT-RX").is_none());
        assert!(parse_line("received 5 frames").is_none());
    }
}
