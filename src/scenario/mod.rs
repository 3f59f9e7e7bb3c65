//! Scenario files: TOML → a validated, typed [`Scenario`] the runner consumes.
//!
//! ```toml
//! name = "mode3"                     # letters, digits, `.`, `_`, `-` (names the results directory)
//! description = "fastnet mode 3 (AF_XDP) against socket and pcap"
//! [topology]                         # crate::topology::TopologySpec, as in `netlab topo`
//! kind = "veth"
//! [packet]
//! file = "../packets/udp64.pcap"     # relative to THIS FILE's directory (not the cwd)
//! macs = "auto"                      # "auto" | "keep" | { src = "02:…", dst = "02:…" }
//! [generator]
//! engine = "auto"                    # auto | socket | mmsg | ring | xdp
//! rates = ["100kpps", "500kpps", "1Mpps", "max"]   # also "100Mbps", "100k..1Mpps step 100k"
//! duration = "3s"                    # generating time per point (> 0)
//! warmup = "1s"                      # default 1s
//! batch = 64                         # optional: frames per send call
//! burst = 64                         # optional: most frames sent back to back (default 64)
//! [[receiver]]                       # one table per receiver, at least one
//! method = "fastnet:3"               # see `Method::valid_names()`
//! buffer = "4MiB"                    # optional; batch, frames, wait = "busy" | "poll" too
//! max_delay = "10ms"                 # optional, fastnet:3: frames gather this long between drains
//! xdp_mode = "auto"                  # fastnet:3, xdp-drop: "auto" | "native" | "generic"
//! zero_copy = "auto"                 # fastnet:3: "auto" | "required" | "off"
//! [[receiver]]
//! method = "exec"
//! name = "student"                   # required for exec; tells two receivers of a method apart
//! command = "./rx {iface}"           # exec only
//! # write = "rx.pcapng"               # optional: save what a receiver got (not xdp-drop, exec)
//! [run]
//! repeat = 3                         # default 1
//! order = "shuffled"                 # "shuffled" (default) | "sequential"
//! drain = "200ms"                    # default 200ms
//! seed = 7                           # optional: the shuffle's seed
//! retries = 2                        # default 2: invalid points measured again at the end
//! [search]                           # optional: how "ndr", "pdr" in generator.rates are found
//! targets = { ndr = "0%", pdr = "0.5%" }  # the defaults; more names with their loss
//! precision = "5%"                   # the final bracket's width, relative to its lower end
//! short_trial = "300ms"              # trials that bracket the rate
//! final_trial = "1s"                 # the trial that confirms it (default generator.duration)
//! lower = "10kpps"                   # the search's range (default 10kpps up to 1.5 Mpps
//! upper = "max"                      # with auto or the ring, else top speed)
//! [hosts]                            # optional: machines the roles run on (the agent room)
//! laptop = "local"                   # this machine
//! vm = { ssh = "root@192.168.56.101", ssh_options = ["-p", "2222"], netlab = "/usr/local/bin/netlab" }
//! ```
//!
//! With `[hosts]`, `[topology]` places the roles: `host = "vm"` builds the whole lab (`veth`,
//! `bridge`, or an `interface` pair) on that host; with `kind = "interface"`,
//! `generator = { host = "laptop", interface = "vboxnet0" }` and
//! `receiver = { host = "vm", interface = "eth2" }` put each role on its own host. A role not
//! placed runs on this machine. `netlab check` validates `[hosts]` without connecting.
//!
//! Rules:
//! - Every key is checked: an unknown key is an error with "did you mean". Every error is one line,
//!   `FILE:LINE:COLUMN: KEY.PATH: what is wrong`, e.g.
//!   `labs/x.toml:12:1: generator.rates[2]: "10 Mpps" is not a rate: no space between number and
//!   unit (write "10Mpps")`.
//! - Units are explicit and SI — see [`units`] for the exact rules (`k` = 1000, `10 Mpps` and
//!   `10mpps` are rejected, sizes `KiB`/`MiB` = 1024ⁿ, `kB`/`MB` = 1000ⁿ, durations `3s`/`500ms`).
//! - `packet.file`: a relative path is resolved against the scenario file's directory, so a
//!   scenario runs the same from any working directory (tcpreplay's cwd-relative paths are not).
//!   An absolute path is taken as is. The file must exist.
//! - Receivers are told apart by their label: `name` if given, else the method's canonical name.
//!   Two receivers with the same label are an error.
//! - `generator.rates` may name search targets next to rates: `"ndr"` (the highest rate with no
//!   loss, RFC 2544's throughput), `"pdr"` (loss ≤ 0.5 %, FD.io CSIT's partial drop rate), or a
//!   name of `[search.targets]`; each receiver is then searched for them ([`SearchSpec`]).
//! - A receiver knob its method does not use (`batch` on `socket`, `buffer` on `xdp-drop`) is an
//!   error; each method's descriptor ([`crate::method`]) says which knobs it takes.

use std::path::{Path, PathBuf};
use std::time::Duration;

use macaddr::MacAddr6;
use serde::{Deserialize, Serialize};
use sha2::Digest as _;

use crate::exit::bad_input;
use crate::generator::engine::Engine;
use crate::method::Wait;
use crate::topology::TopologySpec;

mod locate;
mod schema;
pub mod units;
mod validate;

pub use crate::method::{Method, UnknownMethod};
pub use locate::ScenarioError;
pub use units::{
    parse_duration, parse_percent, parse_rate, parse_rates, parse_size, Rate, UnitError,
};

use locate::Source;
use schema::RawScenario;

/// A validated scenario: everything the runner needs, typed.
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    /// The scenario file as the user named it.
    pub path: PathBuf,
    /// `name`: letters, digits, `.`, `_`, `-`.
    pub name: String,
    /// `description` (may be empty).
    pub description: String,
    /// `[topology]`, as written; the topology module validates it into a lab plan.
    pub topology: TopologySpec,
    /// `[packet]`.
    pub packet: PacketSpec,
    /// `[generator]`.
    pub generator: GeneratorSpec,
    /// `[[receiver]]` tables, in file order (at least one, labels unique).
    pub receivers: Vec<ReceiverSpec>,
    /// `[run]`.
    pub run: RunSpec,
    /// The loss-targeted searches `generator.rates` asks for, with `[search]`'s settings;
    /// `None` when it names no target.
    pub search: Option<SearchSpec>,
    /// `[hosts]`, by name, with this machine always among them (as `local` unless a key says
    /// `"local"`).
    pub hosts: Vec<HostSpec>,
    /// Where the roles run.
    pub placement: Placement,
    /// The file's bytes, for [`Scenario::hash`] and the copy in the results directory.
    source: String,
}

/// `[packet]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PacketSpec {
    /// The pcap file, resolved against the scenario's directory; it existed at load time.
    pub file: PathBuf,
    /// How the frame's MAC addresses are set for the lab.
    pub macs: Macs,
}

/// `packet.macs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Macs {
    /// `"auto"`: rewritten for the lab (source = generator side, destination = the receiver's MAC,
    /// through the bridge on a bridge lab).
    #[default]
    Auto,
    /// `"keep"`: sent as they are in the file.
    Keep,
    /// `{ src = "…", dst = "…" }`: set to these (a missing one is kept from the file).
    Set {
        /// New source MAC.
        src: Option<MacAddr6>,
        /// New destination MAC.
        dst: Option<MacAddr6>,
    },
}

/// `[generator]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneratorSpec {
    /// Send engine (default auto).
    pub engine: Engine,
    /// The rates to sweep, in file order, ranges expanded, no duplicates.
    pub rates: Vec<Rate>,
    /// Generating time per point (> 0).
    pub duration: Duration,
    /// Warm-up before counting (default 1 s; may be 0).
    pub warmup: Duration,
    /// Frames per send call (`None`: the engine's default).
    pub batch: Option<u32>,
    /// Most late frames sent at once (`None`: one batch).
    pub burst: Option<u32>,
}

/// One `[[receiver]]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiverSpec {
    /// The receive method.
    pub method: Method,
    /// `name`, or the method's canonical name: unique within the scenario; rows of the table.
    pub label: String,
    /// `buffer` in bytes (each method documents what it maps to).
    pub buffer: Option<u64>,
    /// `batch`: frames per receive call.
    pub batch: Option<u32>,
    /// `frames`: ring / UMEM frames.
    pub frames: Option<u32>,
    /// `wait`.
    pub wait: Option<Wait>,
    /// `max_delay`: how long a frame may wait in the ring while the receiver coalesces
    /// wake-ups.
    pub max_delay: Option<Duration>,
    /// `xdp_mode`: where the XDP program must run (`None`: `auto`).
    pub xdp_mode: Option<fastnet::bpf::XdpMode>,
    /// `zero_copy`: how the AF_XDP socket must bind (`None`: `auto`).
    pub zero_copy: Option<fastnet::xdp::BindMode>,
    /// `command` (`exec` only, where it is required), as written (`{iface}` not substituted).
    pub command: Option<String>,
    /// `write`: the capture file to save what the receiver got to (pcapng if it ends in
    /// `.pcapng`), resolved against the scenario's directory; each measurement window replaces
    /// it, so it holds the last one.
    pub write: Option<PathBuf>,
}

impl ReceiverSpec {
    /// A `[[receiver]]` with only its method set: labelled by the method's name, every knob
    /// at the method's default.
    pub fn of(method: Method) -> Self {
        ReceiverSpec {
            method,
            label: method.name().to_string(),
            buffer: None,
            batch: None,
            frames: None,
            wait: None,
            max_delay: None,
            xdp_mode: None,
            zero_copy: None,
            command: None,
            write: None,
        }
    }
}

/// One host of `[hosts]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostSpec {
    /// Its key in `[hosts]`.
    pub name: String,
    /// This machine, or how to reach it.
    pub place: Place,
}

/// Where a host is: this machine, or one reached with OpenSSH.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Place {
    /// This machine (this process).
    Local,
    /// `ssh [options] TARGET NETLAB agent`, with the user's own ssh configuration, keys and
    /// agent.
    Ssh {
        /// `user@host` (or a `Host` of the user's ssh config).
        target: String,
        /// Extra ssh options, passed before the target (`-p 2222`, `-i key`).
        options: Vec<String>,
        /// The netlab program on the remote host (default `netlab`, from its `PATH`).
        netlab: String,
    },
}

impl Place {
    /// `local`, or the ssh target.
    pub fn describe(&self) -> String {
        match self {
            Place::Local => "local".to_string(),
            Place::Ssh { target, .. } => format!("ssh {target}"),
        }
    }
}

/// The hosts (names in [`Scenario::hosts`]) the roles run on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placement {
    /// The generator's host.
    pub generator: String,
    /// The receivers' host.
    pub receiver: String,
}

impl Placement {
    /// Whether both roles share one host (the lab is built, or looked up, there as one).
    pub fn one_host(&self) -> bool {
        self.generator == self.receiver
    }
}

/// The name this machine has when `[hosts]` gives it none.
pub const LOCAL_HOST: &str = "local";

/// `run.order`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Order {
    /// Points in a random order (seeded by `run.seed`), so drift favours no method.
    #[default]
    Shuffled,
    /// Rate by rate, receivers in file order, repetitions together.
    Sequential,
}

/// A loss target: a search finds the highest rate whose loss stays within it.
#[derive(Debug, Clone, PartialEq)]
pub struct LossTarget {
    /// Its name as `generator.rates` writes it (`ndr`, `pdr`, or one of `[search.targets]`).
    pub name: String,
    /// The most loss a passing trial may have, percent of the frames sent.
    pub loss_pct: f64,
}

/// The loss-targeted searches of a scenario: the targets `generator.rates` names, and
/// `[search]`'s settings.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchSpec {
    /// The targets to find, in the order `generator.rates` names them (at least one).
    pub targets: Vec<LossTarget>,
    /// Width of the final bracket relative to its lower end (0.05: the rate found is within
    /// 5 % of the lowest rate that lost too much).
    pub precision: f64,
    /// Length of a short (bracketing) trial.
    pub short_trial: Duration,
    /// Length of a final trial (default `generator.duration`).
    pub final_trial: Duration,
    /// The lowest rate tried, frames per second.
    pub lower_pps: u64,
    /// The highest rate tried, frames per second (and never more than a short top-speed
    /// trial at the start of each search sends): `upper`, else the most the engine paces
    /// without faking the loss ([`search_ceiling`](crate::generator::search_ceiling));
    /// `None`: the generator's top speed.
    pub upper_pps: Option<u64>,
}

/// The targets every scenario knows: NDR (no loss) and PDR (0.5 %), as FD.io CSIT defines them.
pub const DEFAULT_TARGETS: [(&str, f64); 2] = [("ndr", 0.0), ("pdr", 0.5)];

/// `[run]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunSpec {
    /// Repetitions of each rate × receiver (≥ 1, default 1).
    pub repeat: u32,
    /// Order of the points.
    pub order: Order,
    /// Time after generating stops before counters are read (default 200 ms).
    pub drain: Duration,
    /// Seed of the shuffle (`None`: pick one and record it).
    pub seed: Option<u64>,
    /// How many times an invalid point is measured again at the end of the run (default 2),
    /// and an invalid trial of a search at once.
    pub retries: u32,
}

impl Scenario {
    /// Reads and validates a scenario file. Any problem with it is a bad-input error
    /// ([`crate::exit::Code::BadInput`]) with `file:line:column: key.path: …`.
    pub fn load(path: &Path) -> anyhow::Result<Scenario> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| bad_input(format!("{}: cannot read scenario: {e}", path.display())))?;
        Scenario::parse(path, &text).map_err(|e| bad_input(e.to_string()))
    }

    /// Validates `text` as the contents of the scenario file `path` (relative packet paths are
    /// resolved against `path`'s directory and must exist).
    pub fn parse(path: &Path, text: &str) -> Result<Scenario, ScenarioError> {
        let source = Source::new(path, text);
        let raw: RawScenario = toml::from_str(text).map_err(|e| source.toml_error(&e))?;
        validate::validate(&source, path, text, raw)
    }

    /// SHA-256 of the scenario file's bytes, lowercase hex (for the manifest).
    pub fn hash(&self) -> String {
        let digest = sha2::Sha256::digest(self.source.as_bytes());
        digest.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// The scenario file's text as it was loaded.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// An error about `field` (of receiver `receiver` when it is a receiver's), located where
    /// the field is written: `FILE:LINE:COLUMN: receiver[1].buffer: message`.
    pub fn field_error(
        &self,
        field: &crate::exit::Field,
        receiver: usize,
        message: impl Into<String>,
    ) -> ScenarioError {
        Source::new(&self.path, &self.source).error_at_field(field, receiver, message)
    }

    /// `err` in the scenario's words: an error about a field becomes one bad-input line
    /// located at that field (of receiver `receiver` when it is a receiver's); any other error
    /// is returned as it is.
    pub fn locate(&self, err: anyhow::Error, receiver: usize) -> anyhow::Error {
        match crate::exit::field_of(&err) {
            Some(c) => {
                let field = c.field.clone().unwrap_or_else(|| unreachable!("field_of has a field"));
                bad_input(self.field_error(&field, receiver, c.message.clone()).to_string())
            }
            None => err,
        }
    }

    /// The directory relative paths in the scenario are resolved against (`exec` commands are
    /// best run from here too).
    pub fn dir(&self) -> &Path {
        base_dir(&self.path)
    }

    /// The host named `name` (one of [`Scenario::hosts`]).
    pub fn host(&self, name: &str) -> Option<&HostSpec> {
        self.hosts.iter().find(|h| h.name == name)
    }

    /// Whether a role runs on another machine.
    pub fn is_remote(&self) -> bool {
        [&self.placement.generator, &self.placement.receiver]
            .into_iter()
            .any(|name| self.host(name).is_some_and(|h| h.place != Place::Local))
    }

    /// Number of points at fixed rates: rates × receivers × repetitions.
    pub fn points(&self) -> usize {
        self.generator.rates.len() * self.receivers.len() * self.run.repeat as usize
    }

    /// Number of searches (each receiver × repetition searched once for all the targets).
    pub fn search_runs(&self) -> usize {
        if self.search.is_some() {
            self.receivers.len() * self.run.repeat as usize
        } else {
            0
        }
    }

    /// Number of search results: targets × receivers × repetitions.
    pub fn searches(&self) -> usize {
        self.search.as_ref().map_or(0, |s| s.targets.len()) * self.search_runs()
    }

    /// Rough length of the run: per point warm-up + duration + drain, per search about ten
    /// short trials and one final trial per target (receiver start-up and the lab's set-up
    /// come on top).
    pub fn estimated_time(&self) -> Duration {
        let per_point = self.generator.warmup + self.generator.duration + self.run.drain;
        let mut total = per_point * u32::try_from(self.points()).unwrap_or(u32::MAX);
        if let Some(search) = &self.search {
            let trial = |length| self.generator.warmup + length + self.run.drain;
            let per_search = trial(search.short_trial) * 10
                + trial(search.final_trial) * search.targets.len() as u32;
            total += per_search * u32::try_from(self.search_runs()).unwrap_or(u32::MAX);
        }
        total
    }
}

/// An error about `field` located in the scenario file `path` whose text is `text` (for a file
/// read in part, as `netlab topo up` reads its `[topology]`): `FILE:LINE:COL: key.path: …`.
pub fn field_error_in(
    path: &Path,
    text: &str,
    field: &crate::exit::Field,
    message: impl Into<String>,
) -> ScenarioError {
    Source::new(path, text).error_at_field(field, 0, message)
}

/// The directory relative paths in the scenario file `path` are read from.
fn base_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    }
}
