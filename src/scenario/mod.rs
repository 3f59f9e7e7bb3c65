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
use crate::method::{parse_xdp_mode, parse_zero_copy, Knob, Wait};
use crate::topology::TopologySpec;

mod locate;
mod schema;
pub mod units;

pub use crate::method::{Method, UnknownMethod};
pub use locate::ScenarioError;
pub use units::{
    parse_duration, parse_percent, parse_rate, parse_rates, parse_size, Rate, UnitError,
};

use locate::Source;
use schema::{RawMacs, RawScenario};

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

const DEFAULT_PRECISION: f64 = 0.05;
const DEFAULT_SHORT_TRIAL: Duration = Duration::from_millis(300);
const DEFAULT_LOWER_PPS: u64 = 10_000;
const DEFAULT_RETRIES: u32 = 2;

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

const DEFAULT_WARMUP: Duration = Duration::from_secs(1);
const DEFAULT_DRAIN: Duration = Duration::from_millis(200);

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
        validate(&source, path, text, raw)
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

fn base_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    }
}

fn validate(
    source: &Source<'_>,
    path: &Path,
    text: &str,
    raw: RawScenario,
) -> Result<Scenario, ScenarioError> {
    let err = |span: std::ops::Range<usize>, msg: String| source.error(Some(span), msg);

    let name = raw.name.get_ref();
    if name.is_empty()
        || name.starts_with('.')
        || !name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
    {
        return Err(err(
            raw.name.span(),
            format!("`{name}` is not a scenario name (letters, digits, `.`, `_`, `-`; it names the results directory)"),
        ));
    }

    let (hosts, placement) = hosts(source, &raw)?;
    let local = |name: &str| hosts.iter().any(|h| h.name == name && h.place == Place::Local);
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    for (key, core, host) in [
        ("rx_core", raw.topology.rx_core, &placement.receiver),
        ("tx_core", raw.topology.tx_core, &placement.generator),
    ] {
        // Another host's cores are its own to check, when it plans the lab.
        if let Some(core) = core.filter(|c| *c >= cores && local(host)) {
            return Err(source.error_at_key(
                &["topology", key],
                format!("core {core} does not exist: this machine has cores 0 to {}", cores - 1),
            ));
        }
    }

    let packet = {
        let file = raw.packet.file.get_ref();
        let resolved = base_dir(path).join(file);
        if file.is_empty() || !resolved.is_file() {
            let how = if Path::new(file).is_absolute() {
                String::new()
            } else {
                format!(
                    " (relative paths are read from the scenario's directory: {})",
                    resolved.display()
                )
            };
            return Err(err(
                raw.packet.file.span(),
                format!("packet file `{file}` not found{how}"),
            ));
        }
        let macs = match raw.packet.macs {
            None => Macs::Auto,
            Some(spanned) => {
                let span = spanned.span();
                match spanned.into_inner() {
                    RawMacs::Word(w) if w == "auto" => Macs::Auto,
                    RawMacs::Word(w) if w == "keep" => Macs::Keep,
                    RawMacs::Word(w) => {
                        return Err(err(
                            span,
                            format!("`{w}` is not a MAC mode: \"auto\", \"keep\" or {{ src = \"…\", dst = \"…\" }}"),
                        ))
                    }
                    RawMacs::Set(pair) => {
                        if pair.src.is_none() && pair.dst.is_none() {
                            return Err(err(span, "give `src`, `dst` or both".to_string()));
                        }
                        let parse = |text: &Option<String>, key: &str| -> Result<_, ScenarioError> {
                            text.as_deref()
                                .map(|t| {
                                    crate::packet::mac::parse_mac(t, key).map_err(|e| {
                                        let text = format!("{e:#}");
                                        let text = text.strip_prefix(&format!("{key}: ")).unwrap_or(&text);
                                        source.error_at_key(&["packet", "macs", key], text)
                                    })
                                })
                                .transpose()
                        };
                        let src = parse(&pair.src, "src")?;
                        if src.is_some_and(|m| m.as_bytes()[0] & 1 == 1) {
                            return Err(source.error_at_key(
                                &["packet", "macs", "src"],
                                "a source MAC must not be multicast or broadcast (first octet odd)",
                            ));
                        }
                        Macs::Set { src, dst: parse(&pair.dst, "dst")? }
                    }
                }
            }
        };
        PacketSpec { file: resolved, macs }
    };

    let known_targets = search_targets(source, raw.search.as_ref())?;
    let mut targets: Vec<LossTarget> = Vec::new();
    let generator = {
        let g = raw.generator;
        if g.rates.get_ref().is_empty() {
            return Err(err(
                g.rates.span(),
                "no rates: give at least one, e.g. [\"1Mpps\"]".into(),
            ));
        }
        let mut rates = Vec::new();
        for written in g.rates.get_ref() {
            let word = written.get_ref();
            if let Some(target) = known_targets.iter().find(|t| t.name == *word) {
                if targets.contains(target) {
                    return Err(err(written.span(), format!("`{word}` is listed twice")));
                }
                targets.push(target.clone());
                continue;
            }
            if word.starts_with(|c: char| c.is_ascii_alphabetic()) && word.trim() != "max" {
                let names: Vec<&str> = known_targets.iter().map(|t| t.name.as_str()).collect();
                let hint = crate::location::closest(word, names.iter().copied())
                    .map(|s| format!("did you mean `{s}`? "))
                    .unwrap_or_default();
                return Err(err(
                    written.span(),
                    format!(
                        "`{word}` is not a rate or a search target: {hint}(targets: {}; more \
                         in [search.targets])",
                        names.join(", ")
                    ),
                ));
            }
            let expanded = parse_rates(word).map_err(|e| err(written.span(), e.to_string()))?;
            for rate in expanded {
                if rates.contains(&rate) {
                    return Err(err(written.span(), format!("rate {rate} is listed twice")));
                }
                rates.push(rate);
            }
        }
        let duration = parse_duration(g.duration.get_ref())
            .map_err(|e| err(g.duration.span(), e.to_string()))?;
        if duration.is_zero() {
            return Err(err(g.duration.span(), "the duration must be greater than zero".into()));
        }
        let warmup = match &g.warmup {
            None => DEFAULT_WARMUP,
            Some(w) => parse_duration(w.get_ref()).map_err(|e| err(w.span(), e.to_string()))?,
        };
        GeneratorSpec {
            engine: g.engine,
            rates,
            duration,
            warmup,
            batch: positive(source, g.batch, "batch")?,
            burst: positive(source, g.burst, "burst")?,
        }
    };

    if raw.receiver.is_empty() {
        return Err(source.error(
            None,
            "no receiver: add at least one [[receiver]] table with a `method`".to_string(),
        ));
    }
    let mut receivers: Vec<ReceiverSpec> = Vec::new();
    for r in raw.receiver {
        let method =
            Method::parse(r.method.get_ref()).map_err(|e| err(r.method.span(), e.to_string()))?;
        let label = match &r.name {
            Some(name) => {
                let n = name.get_ref();
                if n.is_empty() || n.len() > 32 || !n.chars().all(|c| c.is_ascii_graphic()) {
                    return Err(err(
                        name.span(),
                        format!("`{n}` is not a receiver name (1 to 32 printable characters, no spaces)"),
                    ));
                }
                n.clone()
            }
            None if method == Method::Exec => {
                return Err(err(
                    r.method.span(),
                    "an exec receiver needs a `name` (e.g. name = \"student\")".into(),
                ))
            }
            None => method.name().to_string(),
        };
        if receivers.iter().any(|other| other.label == label) {
            let span = r.name.as_ref().map_or(r.method.span(), |n| n.span());
            let fix = if r.name.is_some() { "rename one" } else { "give one a `name`" };
            return Err(err(span, format!("receiver `{label}` is listed twice: {fix}")));
        }
        let command = match (&r.command, method) {
            (Some(c), Method::Exec) if c.get_ref().trim().is_empty() => {
                return Err(err(c.span(), "the command is empty".into()))
            }
            (Some(c), Method::Exec) => Some(c.get_ref().clone()),
            (None, Method::Exec) => {
                return Err(err(
                    r.method.span(),
                    "an exec receiver needs a `command` (e.g. command = \"./rx {iface}\")".into(),
                ))
            }
            (Some(c), _) => {
                return Err(err(
                    c.span(),
                    format!("`command` is for method = \"exec\", not `{method}`"),
                ))
            }
            (None, _) => None,
        };
        // Knobs the method does not use: the receiver's own table says which.
        let knobs = [
            (Knob::Buffer, r.buffer.as_ref().map(|b| b.span())),
            (Knob::Batch, r.batch.as_ref().map(|b| b.span())),
            (Knob::Frames, r.frames.as_ref().map(|f| f.span())),
            (
                Knob::BusyWait,
                r.wait.as_ref().filter(|w| *w.get_ref() == Wait::Busy).map(|w| w.span()),
            ),
            (Knob::Write, r.write.as_ref().map(|w| w.span())),
            (Knob::MaxDelay, r.max_delay.as_ref().map(|d| d.span())),
            (
                Knob::XdpMode,
                r.xdp_mode.as_ref().filter(|m| m.get_ref() != "auto").map(|m| m.span()),
            ),
            (
                Knob::ZeroCopy,
                r.zero_copy.as_ref().filter(|m| m.get_ref() != "auto").map(|m| m.span()),
            ),
        ];
        for (knob, span) in knobs {
            if let Some(span) = span.filter(|_| !knob.used_by(method)) {
                return Err(err(
                    span,
                    format!(
                        "`{}` does not apply to method `{method}` (used by: {})",
                        knob.written(),
                        knob.users().join(", ")
                    ),
                ));
            }
        }
        let buffer = match &r.buffer {
            None => None,
            Some(b) => Some(parse_size(b.get_ref()).map_err(|e| err(b.span(), e.to_string()))?),
        };
        let write = match &r.write {
            Some(w) if w.get_ref().trim().is_empty() => {
                return Err(err(w.span(), "the file name is empty".into()))
            }
            Some(w) => Some(base_dir(path).join(w.get_ref())),
            None => None,
        };
        let max_delay = match &r.max_delay {
            None => None,
            Some(d) => {
                let delay =
                    parse_duration(d.get_ref()).map_err(|e| err(d.span(), e.to_string()))?;
                let limit = fastnet::xdp::MAX_DELAY_LIMIT;
                if delay > limit {
                    return Err(err(d.span(), format!("{delay:?} is more than {limit:?}")));
                }
                Some(delay)
            }
        };
        let xdp_mode = match &r.xdp_mode {
            None => None,
            Some(m) => parse_xdp_mode(m.get_ref()).map_err(|e| err(m.span(), e))?,
        };
        let zero_copy = match &r.zero_copy {
            None => None,
            Some(m) => parse_zero_copy(m.get_ref()).map_err(|e| err(m.span(), e))?,
        };
        receivers.push(ReceiverSpec {
            method,
            label,
            write,
            xdp_mode,
            zero_copy,
            buffer,
            batch: positive(source, r.batch, "batch")?,
            frames: positive(source, r.frames, "frames")?,
            wait: r.wait.map(toml::Spanned::into_inner),
            max_delay,
            command,
        });
    }

    let run = {
        let repeat = positive(source, raw.run.repeat, "repeat")?.unwrap_or(1);
        let drain = match &raw.run.drain {
            None => DEFAULT_DRAIN,
            Some(d) => parse_duration(d.get_ref()).map_err(|e| err(d.span(), e.to_string()))?,
        };
        let retries = raw.run.retries.map_or(DEFAULT_RETRIES, toml::Spanned::into_inner);
        RunSpec { repeat, order: raw.run.order, drain, seed: raw.run.seed, retries }
    };

    let search = search_spec(source, raw.search.as_ref(), targets, &generator)?;

    Ok(Scenario {
        path: path.to_path_buf(),
        name: name.clone(),
        description: raw.description,
        topology: raw.topology,
        packet,
        generator,
        receivers,
        run,
        search,
        hosts,
        placement,
        source: text.to_string(),
    })
}

/// The targets `generator.rates` may name: NDR and PDR, and `[search.targets]` (which may
/// set their loss too).
fn search_targets(
    source: &Source<'_>,
    raw: Option<&schema::RawSearch>,
) -> Result<Vec<LossTarget>, ScenarioError> {
    let mut targets: Vec<LossTarget> = DEFAULT_TARGETS
        .iter()
        .map(|(name, loss_pct)| LossTarget { name: (*name).to_string(), loss_pct: *loss_pct })
        .collect();
    for (name, loss) in raw.map(|r| &r.targets).into_iter().flatten() {
        if !name.starts_with(|c: char| c.is_ascii_lowercase())
            || !name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            || name == "max"
        {
            return Err(source.error_at_key(
                &["search", "targets", name],
                format!(
                    "`{name}` is not a target name (lowercase letters, digits, `_`, starting \
                     with a letter; not `max`)"
                ),
            ));
        }
        let loss_pct = 100.0
            * parse_percent(loss.get_ref())
                .map_err(|e| source.error(Some(loss.span()), e.to_string()))?;
        match targets.iter_mut().find(|t| t.name == *name) {
            Some(t) => t.loss_pct = loss_pct,
            None => targets.push(LossTarget { name: name.clone(), loss_pct }),
        }
    }
    Ok(targets)
}

/// `[search]` validated for the `targets` `generator.rates` names.
fn search_spec(
    source: &Source<'_>,
    raw: Option<&schema::RawSearch>,
    targets: Vec<LossTarget>,
    generator: &GeneratorSpec,
) -> Result<Option<SearchSpec>, ScenarioError> {
    if targets.is_empty() {
        return match raw {
            Some(_) => Err(source.error_at_key(
                &["search"],
                "no search asked: add a target (\"ndr\", \"pdr\", …) to generator.rates",
            )),
            None => Ok(None),
        };
    }
    let err = |span: std::ops::Range<usize>, msg: String| source.error(Some(span), msg);
    let duration_of = |value: Option<&toml::Spanned<String>>, default: Duration| match value {
        None => Ok(default),
        Some(v) => {
            let d = parse_duration(v.get_ref()).map_err(|e| err(v.span(), e.to_string()))?;
            if d.is_zero() {
                return Err(err(v.span(), "the duration must be greater than zero".into()));
            }
            Ok(d)
        }
    };
    let pps_of = |value: &toml::Spanned<String>| match parse_rate(value.get_ref()) {
        Ok(Rate::Pps(pps)) => Ok(Some(pps)),
        Ok(Rate::Max) => Ok(None),
        Ok(Rate::L2BitsPerSec(_)) => Err(err(
            value.span(),
            "give the search's bounds in frames per second (e.g. \"10kpps\")".into(),
        )),
        Err(e) => Err(err(value.span(), e.to_string())),
    };
    let precision = match raw.and_then(|r| r.precision.as_ref()) {
        None => DEFAULT_PRECISION,
        Some(p) => {
            let value = parse_percent(p.get_ref()).map_err(|e| err(p.span(), e.to_string()))?;
            if !(0.001..=0.5).contains(&value) {
                return Err(err(p.span(), "the precision must be between 0.1% and 50%".into()));
            }
            value
        }
    };
    let short_trial = duration_of(raw.and_then(|r| r.short_trial.as_ref()), DEFAULT_SHORT_TRIAL)?;
    let final_trial = duration_of(raw.and_then(|r| r.final_trial.as_ref()), generator.duration)?;
    let lower_pps = match raw.and_then(|r| r.lower.as_ref()) {
        None => DEFAULT_LOWER_PPS,
        Some(l) => pps_of(l)?.ok_or_else(|| {
            err(l.span(), "the lower bound must be a rate (e.g. \"10kpps\"), not max".into())
        })?,
    };
    let upper_pps = match raw.and_then(|r| r.upper.as_ref()) {
        // No higher than the engine paces without faking the loss.
        None => {
            let ceiling = crate::generator::search_ceiling(generator.engine);
            if let (Some(ceiling), Some(l)) = (ceiling, raw.and_then(|r| r.lower.as_ref())) {
                if lower_pps >= ceiling {
                    return Err(err(
                        l.span(),
                        format!(
                            "the lower bound must be below {ceiling} pps, the most the {} \
                             engine paces without bursts that lose frames of their own; set \
                             search.upper to search higher",
                            generator.engine
                        ),
                    ));
                }
            }
            ceiling
        }
        Some(u) => {
            let upper = pps_of(u)?;
            if upper.is_some_and(|upper| upper <= lower_pps) {
                return Err(err(
                    u.span(),
                    format!("the upper bound must be above the lower bound ({lower_pps} pps)"),
                ));
            }
            upper
        }
    };
    Ok(Some(SearchSpec { targets, precision, short_trial, final_trial, lower_pps, upper_pps }))
}

/// `[hosts]` and where `[topology]` places the roles.
fn hosts(
    source: &Source<'_>,
    raw: &RawScenario,
) -> Result<(Vec<HostSpec>, Placement), ScenarioError> {
    let mut hosts: Vec<HostSpec> = Vec::new();
    for (name, value) in &raw.hosts {
        if name.is_empty()
            || !name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        {
            return Err(source.error(
                Some(value.span()),
                format!("`{name}` is not a host name (letters, digits, `.`, `_`, `-`)"),
            ));
        }
        let place = match value.get_ref() {
            schema::RawHost::Word(w) if w == "local" => {
                if let Some(other) = hosts.iter().find(|h| h.place == Place::Local) {
                    return Err(source.error(
                        Some(value.span()),
                        format!(
                            "`{}` is already this machine: one host can be \"local\"",
                            other.name
                        ),
                    ));
                }
                Place::Local
            }
            schema::RawHost::Word(w) => {
                return Err(source.error(
                    Some(value.span()),
                    format!(
                        "`{w}` is not a host: \"local\" or {{ ssh = \"user@host\", \
                         ssh_options = […], netlab = \"…\" }}"
                    ),
                ))
            }
            schema::RawHost::Ssh(ssh) => {
                let target = ssh.ssh.trim();
                if target.is_empty()
                    || target.starts_with('-')
                    || target.contains(char::is_whitespace)
                {
                    return Err(source.error_at_key(
                        &["hosts", name, "ssh"],
                        format!("`{}` is not an ssh destination (user@host, or a Host of your ssh config)", ssh.ssh),
                    ));
                }
                let netlab = ssh.netlab.clone().unwrap_or_else(|| "netlab".to_string());
                if netlab.trim().is_empty() {
                    return Err(
                        source.error_at_key(&["hosts", name, "netlab"], "the program is empty")
                    );
                }
                Place::Ssh { target: target.to_string(), options: ssh.ssh_options.clone(), netlab }
            }
        };
        hosts.push(HostSpec { name: name.clone(), place });
    }
    let local = match hosts.iter().find(|h| h.place == Place::Local) {
        Some(h) => h.name.clone(),
        None => {
            if let Some(h) = hosts.iter().find(|h| h.name == LOCAL_HOST) {
                return Err(source.error_at_key(
                    &["hosts", &h.name],
                    format!("`{LOCAL_HOST}` names this machine: call this host something else"),
                ));
            }
            hosts.push(HostSpec { name: LOCAL_HOST.to_string(), place: Place::Local });
            LOCAL_HOST.to_string()
        }
    };
    let known = |name: &str, keys: &[&str]| -> Result<String, ScenarioError> {
        if raw.hosts.contains_key(name) {
            return Ok(name.to_string());
        }
        let mean = crate::location::closest(name, raw.hosts.keys().map(String::as_str))
            .map(|c| format!("; did you mean `{c}`?"))
            .unwrap_or_default();
        let listed = if raw.hosts.is_empty() {
            "there is no [hosts] table".to_string()
        } else {
            format!("hosts: {}", raw.hosts.keys().cloned().collect::<Vec<_>>().join(", "))
        };
        Err(source.error_at_key(keys, format!("no host `{name}` in [hosts]{mean} ({listed})")))
    };
    let topo = &raw.topology;
    let placed = |endpoint: &Option<crate::topology::Endpoint>| {
        endpoint.as_ref().and_then(|e| e.host().map(str::to_string))
    };
    let (gen_host, rx_host) = (placed(&topo.generator), placed(&topo.receiver));
    if let Some(lab_host) = &topo.host {
        let lab_host = known(lab_host, &["topology", "host"])?;
        for (key, host) in [("generator", &gen_host), ("receiver", &rx_host)] {
            if host.is_some() {
                return Err(source.error_at_key(
                    &["topology", key, "host"],
                    "the whole lab is placed with topology.host: give the interface's name alone",
                ));
            }
        }
        return Ok((hosts, Placement { generator: lab_host.clone(), receiver: lab_host }));
    }
    if topo.kind != crate::topology::Kind::Interface {
        for (key, host) in [("generator", &gen_host), ("receiver", &rx_host)] {
            if host.is_some() {
                return Err(source.error_at_key(
                    &["topology", key, "host"],
                    format!(
                        "roles go on hosts one by one with kind = \"interface\"; a {} lab is \
                         placed whole with topology.host",
                        crate::topology::plan::kind_name(topo.kind)
                    ),
                ));
            }
        }
    }
    let generator = match &gen_host {
        Some(h) => known(h, &["topology", "generator", "host"])?,
        None => local.clone(),
    };
    let receiver = match &rx_host {
        Some(h) => known(h, &["topology", "receiver", "host"])?,
        None => local,
    };
    Ok((hosts, Placement { generator, receiver }))
}

/// A count that must be at least 1.
fn positive(
    source: &Source<'_>,
    value: Option<toml::Spanned<u32>>,
    key: &str,
) -> Result<Option<u32>, ScenarioError> {
    match value {
        Some(v) if *v.get_ref() == 0 => {
            Err(source.error(Some(v.span()), format!("`{key}` must be at least 1")))
        }
        other => Ok(other.map(toml::Spanned::into_inner)),
    }
}
