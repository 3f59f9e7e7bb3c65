//! The agent protocol: one JSON object per line, versioned by [`PROTOCOL`].
//!
//! The agent speaks first with a [`Hello`]; then the orchestrator sends one [`Request`] per line
//! and reads one [`Reply`] per line, strictly in turn. An error is a reply
//! ([`Reply::Error`]) carrying the exit code ([`crate::exit::Code`]) the agent's own command
//! would have exited with, so a bad interface name on the remote host is still bad input here.
//!
//! ```text
//! ← {"netlab":"0.1.0","protocol":1}
//! → {"op":"facts"}
//! ← {"reply":"facts","value":{"host":{…},"interfaces":[…]}}
//! → {"op":"stats","args":{"netns":null,"iface":"eth2"}}
//! ← {"reply":"stats","value":{"rx_packets":…}}
//! ```

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::generator::{EngineKind, GeneratorConfig, SendReport};
use crate::host_facts::HostFacts;
use crate::receiver::{RecvReport, RecvSpec};
use crate::topology::{LabInterface, LabRecord, LinkStats, Role, TopologySpec};

/// The protocol's version: both ends must speak the same one. Raised whenever a request or a
/// reply changes shape.
pub const PROTOCOL: u32 = 1;

/// The agent's first line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hello {
    /// netlab's version on the agent's host.
    pub netlab: String,
    /// The protocol it speaks.
    pub protocol: u32,
}

impl Hello {
    /// This build's hello.
    pub fn ours() -> Hello {
        Hello { netlab: env!("CARGO_PKG_VERSION").to_string(), protocol: PROTOCOL }
    }
}

/// What the orchestrator asks a host to do. A host holds at most one lab, one receiver and one
/// generator at a time; everything it holds is removed when the conversation ends.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "op", content = "args", rename_all = "snake_case")]
pub enum Request {
    /// The host's facts and its interfaces ([`Reply::Facts`]).
    Facts,
    /// Builds a lab from a `[topology]` table under `name`, planned with the host's own cores
    /// ([`Reply::Lab`]).
    LabUp {
        /// The table.
        spec: TopologySpec,
        /// The lab's name.
        name: String,
    },
    /// Takes the host's lab down ([`Reply::Done`]).
    LabDown,
    /// An existing interface of the host, for a role of an `interface` lab
    /// ([`Reply::Interface`]).
    Interface {
        /// Its name.
        name: String,
        /// The role it plays.
        role: Role,
    },
    /// An interface's kernel counters ([`Reply::Stats`]).
    Stats {
        /// The named network namespace it is in (`None`: the host's own).
        netns: Option<String>,
        /// The interface.
        iface: String,
    },
    /// Starts a receiver and answers once it is ready ([`Reply::Done`]).
    RecvStart {
        /// What to run where.
        spec: RecvSpec,
        /// How long it may take to open.
        ready_timeout: Duration,
    },
    /// The running receiver's frames so far and whether it has ended ([`Reply::Status`]).
    RecvStatus,
    /// Stops the receiver ([`Reply::Received`]).
    RecvStop,
    /// Prepares a generator: thread pinned, engine open, waiting ([`Reply::Prepared`]).
    GenPrepare {
        /// The replay.
        config: Box<GeneratorConfig>,
    },
    /// Starts the prepared generator ([`Reply::Done`]).
    GenStart,
    /// The running generator's frames so far and whether it is done ([`Reply::Status`]).
    GenStatus,
    /// Asks the running generator to stop ([`Reply::Done`]).
    GenStop,
    /// Waits for the generator's end ([`Reply::Sent`]).
    GenWait,
    /// Drops the receiver and the generator, whatever their state ([`Reply::Done`]).
    Abandon,
    /// Runs `netlab doctor`'s checks on the host ([`Reply::Doctor`]).
    Doctor,
}

/// One of `netlab doctor`'s checks, as a host ran it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckResult {
    /// What was checked.
    pub name: String,
    /// Whether it passed.
    pub ok: bool,
    /// What was found.
    pub detail: String,
    /// How to fix it when it failed (an optional feature: what netlab does without it).
    pub fix: String,
    /// A feature netlab has a fallback for: missing, it does not fail doctor (absent from
    /// an older agent's reply: every check was required then).
    #[serde(default)]
    pub optional: bool,
}

/// What a host has (its facts and interfaces).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Facts {
    /// Kernel, CPU, cores, netlab version.
    pub host: HostFacts,
    /// Its interfaces (in the agent's namespace).
    pub interfaces: Vec<InterfaceFacts>,
}

/// One interface of a host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InterfaceFacts {
    /// Its name.
    pub name: String,
    /// Its MAC address (`None`: it has none, e.g. `lo` reports zeros).
    pub mac: Option<String>,
    /// `ip link`'s operational state (`UP`, `DOWN`…).
    pub operstate: String,
    /// MTU.
    pub mtu: u32,
}

/// A host's answer to one [`Request`].
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "reply", content = "value", rename_all = "snake_case")]
pub enum Reply {
    /// Done, nothing to report.
    Done,
    /// [`Request::Facts`].
    Facts(Box<Facts>),
    /// [`Request::LabUp`]: the lab as built.
    Lab(Box<LabRecord>),
    /// [`Request::Interface`].
    Interface(LabInterface),
    /// [`Request::Stats`].
    Stats(LinkStats),
    /// [`Request::RecvStatus`], [`Request::GenStatus`].
    Status {
        /// Frames so far (received, or sent).
        frames: u64,
        /// Whether it has ended.
        finished: bool,
    },
    /// [`Request::GenPrepare`]: the engine that will send, and why.
    Prepared {
        /// The engine.
        engine: EngineKind,
        /// Why (for `auto`).
        reason: String,
    },
    /// [`Request::Doctor`]: every check, in order.
    Doctor(Vec<CheckResult>),
    /// [`Request::RecvStop`].
    Received(Box<RecvReport>),
    /// [`Request::GenWait`].
    Sent(Box<SendReport>),
    /// The request failed.
    Error {
        /// The exit code of the failure ([`crate::exit::Code`] as a number).
        code: u8,
        /// One line: what failed (the whole context chain).
        message: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_and_replies_are_one_line_of_json_each_way() {
        let requests = [
            Request::Facts,
            Request::Stats { netns: Some("netlab-t".into()), iface: "rx0".into() },
            Request::Interface { name: "eth2".into(), role: Role::Receiver },
            Request::RecvStatus,
            Request::Abandon,
        ];
        for request in requests {
            let line = serde_json::to_string(&request).unwrap();
            assert!(!line.contains('\n'), "{line}");
            let back: Request = serde_json::from_str(&line).unwrap();
            assert_eq!(serde_json::to_string(&back).unwrap(), line);
        }
        assert_eq!(serde_json::to_string(&Request::Facts).unwrap(), r#"{"op":"facts"}"#);
        let error = Reply::Error { code: 2, message: "lab `t1` is down".into() };
        assert_eq!(
            serde_json::to_string(&error).unwrap(),
            r#"{"reply":"error","value":{"code":2,"message":"lab `t1` is down"}}"#
        );
        let status: Reply =
            serde_json::from_str(r#"{"reply":"status","value":{"frames":7,"finished":false}}"#)
                .unwrap();
        assert!(matches!(status, Reply::Status { frames: 7, finished: false }));
    }

    #[test]
    fn the_hello_names_this_build_and_protocol() {
        let hello = serde_json::to_string(&Hello::ours()).unwrap();
        assert_eq!(
            hello,
            format!(r#"{{"netlab":"{}","protocol":{PROTOCOL}}}"#, env!("CARGO_PKG_VERSION"))
        );
    }
}
