//! The agent's side: [`Agent`] handles requests (in-process for the local host), [`serve`] runs
//! it on stdin/stdout for `netlab agent`.

use std::io::{BufRead as _, Write as _};
use std::sync::mpsc;
use std::time::Duration;

use anyhow::{anyhow, Context as _};

use super::protocol::{Facts, Hello, InterfaceFacts, Reply, Request};
use crate::exit::{code_for, Code};
use crate::generator::{Generator, Running};
use crate::host_facts::HostFacts;
use crate::interrupt::Interrupt;
use crate::receiver::{self, Session};
use crate::topology::link::LinkFacts;
use crate::topology::{interface, Lab, LabInterface, LabState};

/// Everything one conversation built on its host: the lab, a receiver, a generator. Dropping it
/// stops the generator and the receiver and takes the lab down.
#[derive(Debug, Default)]
pub struct Agent {
    // Field order is drop order: the roles stop before their lab goes.
    running: Option<Running>,
    prepared: Option<Generator>,
    receiver: Option<Session>,
    lab: Option<Lab>,
}

impl Agent {
    /// A host with nothing built yet.
    pub fn new() -> Agent {
        Agent::default()
    }

    /// Handles one request.
    pub fn handle(&mut self, request: Request) -> anyhow::Result<Reply> {
        match request {
            Request::Facts => Ok(Reply::Facts(Box::new(facts()?))),
            Request::LabUp { spec, name } => {
                if self.lab.is_some() {
                    return Err(anyhow!("this host already holds a lab"));
                }
                let lab = self.lab.insert(Lab::up(&spec, &name)?);
                Ok(Reply::Lab(Box::new(lab.record(LabState::Up))))
            }
            Request::LabDown => {
                self.abandon();
                match self.lab.take() {
                    Some(lab) => lab.down().map(|()| Reply::Done),
                    None => Ok(Reply::Done),
                }
            }
            Request::Interface { name, role } => {
                let found = interface::require(None, &name)?;
                Ok(Reply::Interface(LabInterface {
                    role,
                    mac: found.mac()?,
                    name,
                    ifindex: found.facts.ifindex,
                    mtu: found.facts.mtu,
                }))
            }
            Request::Stats { netns, iface } => {
                let ours = self.lab.as_ref().filter(|lab| lab.netns_name() == netns.as_deref());
                let stats = match ours {
                    // The lab's own netlink socket: no namespace switch per read.
                    Some(lab) => lab.stats(&iface),
                    None => interface::stats(netns.as_deref(), &iface),
                };
                Ok(Reply::Stats(stats?))
            }
            Request::RecvStart { spec, ready_timeout } => {
                self.receiver = None;
                let mut session = receiver::start(spec)?;
                session.wait_ready(ready_timeout)?;
                self.receiver = Some(session);
                Ok(Reply::Done)
            }
            Request::RecvStatus => {
                let session = self.receiver.as_ref().ok_or_else(|| anyhow!("no receiver"))?;
                let frames = session.live().frames.load(std::sync::atomic::Ordering::Relaxed);
                Ok(Reply::Status { frames, finished: session.is_finished() })
            }
            Request::RecvStop => {
                let session = self.receiver.take().ok_or_else(|| anyhow!("no receiver"))?;
                Ok(Reply::Received(Box::new(session.stop()?)))
            }
            Request::GenPrepare { config } => {
                self.running = None;
                self.prepared = None;
                let generator = Generator::prepare(*config)?;
                let reply = Reply::Prepared {
                    engine: generator.engine(),
                    reason: generator.engine_reason().to_string(),
                };
                self.prepared = Some(generator);
                Ok(reply)
            }
            Request::GenStart => {
                let generator = self.prepared.take().ok_or_else(|| anyhow!("no generator"))?;
                self.running = Some(generator.start());
                Ok(Reply::Done)
            }
            Request::GenStatus => {
                let running = self.running.as_ref().ok_or_else(|| anyhow!("no generator"))?;
                Ok(Reply::Status {
                    frames: running.progress().frames(),
                    finished: running.is_finished(),
                })
            }
            Request::GenStop => {
                if let Some(running) = &self.running {
                    running.stop();
                }
                Ok(Reply::Done)
            }
            Request::GenWait => {
                let running = self.running.take().ok_or_else(|| anyhow!("no generator"))?;
                Ok(Reply::Sent(Box::new(running.wait()?)))
            }
            Request::Abandon => {
                self.abandon();
                Ok(Reply::Done)
            }
            Request::Doctor => Ok(Reply::Doctor(
                crate::doctor::run_checks()
                    .into_iter()
                    .map(|c| super::protocol::CheckResult {
                        name: c.name.to_string(),
                        ok: c.ok,
                        detail: c.detail,
                        fix: c.fix.to_string(),
                        optional: c.optional,
                    })
                    .collect(),
            )),
        }
    }

    /// Stops and drops the generator and the receiver, reports unread.
    fn abandon(&mut self) {
        if let Some(running) = self.running.take() {
            running.stop();
            let _ = running.wait();
        }
        self.prepared = None;
        self.receiver = None;
    }
}

/// The host's facts and interfaces.
fn facts() -> anyhow::Result<Facts> {
    let interfaces = LinkFacts::all()?
        .into_iter()
        .map(|l| InterfaceFacts {
            mac: l.mac.filter(|m| !m.is_nil()).map(|m| crate::packet::mac::Mac(m).to_string()),
            name: l.name,
            operstate: l.operstate,
            mtu: l.mtu,
        })
        .collect();
    Ok(Facts { host: HostFacts::collect(), interfaces })
}

/// An error as a reply: its exit code and its whole chain on one line.
pub fn error_reply(err: &anyhow::Error) -> Reply {
    Reply::Error { code: code_for(err) as u8, message: format!("{err:#}") }
}

/// What the stdin reader hands the loop.
enum Input {
    Line(String),
    Closed,
}

/// How often the loop looks at the signal flag while waiting for a request.
const POLL: Duration = Duration::from_millis(50);

/// `netlab agent`: says hello on stdout, then answers one request per stdin line until stdin
/// closes (the orchestrator ended, or its connection dropped) or a signal comes (SIGINT,
/// SIGTERM, SIGHUP); then everything it built is removed and it returns.
pub fn serve() -> anyhow::Result<Code> {
    // Before anything is built: a hang-up or a kill must not leave the host dirty.
    let interrupt = Interrupt::watch()?;
    let mut out = std::io::stdout().lock();
    let hello = serde_json::to_string(&Hello::ours())?;
    writeln!(out, "{hello}").and_then(|()| out.flush()).context("writing the hello")?;

    let (tx, lines) = mpsc::channel();
    std::thread::Builder::new()
        .name("netlab-agent-in".into())
        .spawn(move || {
            for line in std::io::stdin().lock().lines() {
                match line {
                    Ok(line) => {
                        if tx.send(Input::Line(line)).is_err() {
                            return;
                        }
                    }
                    Err(_) => break,
                }
            }
            let _ = tx.send(Input::Closed);
        })
        .context("starting the stdin reader")?;

    let mut agent = Agent::new();
    let code = loop {
        let line = match lines.recv_timeout(POLL) {
            Ok(Input::Line(line)) => line,
            Ok(Input::Closed) | Err(mpsc::RecvTimeoutError::Disconnected) => break Code::Ok,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                if interrupt.is_set() {
                    break Code::Interrupted;
                }
                continue;
            }
        };
        if line.trim().is_empty() {
            continue;
        }
        let reply = match serde_json::from_str::<Request>(&line) {
            Ok(request) => {
                tracing::debug!("agent: {request:?}");
                agent.handle(request).unwrap_or_else(|e| error_reply(&e))
            }
            Err(e) => Reply::Error {
                code: Code::BadInput as u8,
                message: format!(
                    "not a request of agent protocol {}: {e}",
                    super::protocol::PROTOCOL
                ),
            },
        };
        let text = serde_json::to_string(&reply)?;
        if writeln!(out, "{text}").and_then(|()| out.flush()).is_err() {
            // Nobody listens any more: the connection is gone.
            break Code::Ok;
        }
    };
    drop(agent);
    Ok(code)
}
