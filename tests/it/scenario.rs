//! Scenario files: the issue's example, defaults, and every kind of bad input with its
//! file:line:column and key path.

use std::path::{Path, PathBuf};
use std::time::Duration;

use netlab::generator::{Engine, EngineKind};
use netlab::method::Wait;
use netlab::receiver::RecvConfig;
use netlab::scenario::{Macs, Method, Order, Rate, Scenario, ScenarioError};
use netlab::topology::Kind;

/// A directory holding a packet file, as a lab directory would.
pub(crate) struct Lab {
    pub(crate) dir: tempfile::TempDir,
}

/// A pcap file with one 60-byte Ethernet/IPv4 frame (the class's "64-byte" UDP packet).
fn tiny_pcap() -> Vec<u8> {
    let mut bytes = Vec::new();
    bytes.extend(0xa1b2_c3d4u32.to_le_bytes());
    bytes.extend(2u16.to_le_bytes());
    bytes.extend(4u16.to_le_bytes());
    bytes.extend([0u8; 8]);
    bytes.extend(65535u32.to_le_bytes());
    bytes.extend(1u32.to_le_bytes());
    bytes.extend([0u8; 8]);
    bytes.extend(60u32.to_le_bytes());
    bytes.extend(60u32.to_le_bytes());
    let mut frame = [0u8; 60];
    frame[12] = 0x08;
    bytes.extend(frame);
    bytes
}

impl Lab {
    pub(crate) fn new() -> Lab {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("labs/packets")).unwrap();
        std::fs::write(dir.path().join("labs/packets/udp64.pcap"), tiny_pcap()).unwrap();
        Lab { dir }
    }

    pub(crate) fn write(&self, text: &str) -> PathBuf {
        let path = self.dir.path().join("labs/x.toml");
        std::fs::write(&path, text).unwrap();
        path
    }

    pub(crate) fn parse(&self, text: &str) -> Result<Scenario, ScenarioError> {
        Scenario::parse(&self.write(text), text)
    }
}

const BASE: &str = r#"name = "t"
[topology]
kind = "veth"
[packet]
file = "packets/udp64.pcap"
[generator]
rates = ["1Mpps"]
duration = "2s"
[[receiver]]
method = "pcap"
"#;

fn fixture() -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/fixtures/mode3.toml"),
    )
    .unwrap()
}

#[test]
fn issue_example_is_valid() {
    let lab = Lab::new();
    let s = lab.parse(&fixture()).unwrap();
    assert_eq!(s.name, "mode3");
    assert_eq!(s.description, "fastnet mode 3 (AF_XDP) against socket and pcap");
    assert_eq!(s.topology.kind, Kind::Veth);
    assert_eq!(s.packet.file, lab.dir.path().join("labs/packets/udp64.pcap"));
    assert!(s.packet.file.is_file());
    assert_eq!(s.packet.macs, Macs::Auto);
    assert_eq!(s.generator.engine, Engine::Auto);
    assert_eq!(
        s.generator.rates,
        [Rate::Pps(100_000), Rate::Pps(500_000), Rate::Pps(1_000_000), Rate::Max]
    );
    assert_eq!(s.generator.duration, Duration::from_secs(3));
    assert_eq!(s.generator.warmup, Duration::from_secs(1));
    let methods: Vec<Method> = s.receivers.iter().map(|r| r.method).collect();
    assert_eq!(methods, [Method::FastnetXdp, Method::Pcap, Method::Socket]);
    let labels: Vec<&str> = s.receivers.iter().map(|r| r.label.as_str()).collect();
    assert_eq!(labels, ["fastnet:3", "pcap", "socket"]);
    assert_eq!(s.receivers[0].buffer, Some(4 << 20));
    assert_eq!(s.receivers[1].buffer, None);
    assert_eq!(s.receivers[1].write, None);
    let written = lab
        .parse(&edit("method = \"pcap\"\n", "method = \"pcap\"\nwrite = \"rx.pcapng\"\n"))
        .unwrap();
    assert_eq!(written.receivers[0].write, Some(lab.dir.path().join("labs/rx.pcapng")));
    assert_eq!(s.run.repeat, 3);
    assert_eq!(s.run.order, Order::Shuffled);
    assert_eq!(s.run.drain, Duration::from_millis(200));
    assert_eq!(s.points(), 4 * 3 * 3);
    // 36 points × (1 s warm-up + 3 s + 0.2 s drain)
    assert_eq!(s.estimated_time(), Duration::from_millis(36 * 4200));
    assert_eq!(s.hash().len(), 64);
    assert_eq!(s.source(), fixture());
}

#[test]
fn hash_follows_the_bytes() {
    let lab = Lab::new();
    let a = lab.parse(BASE).unwrap().hash();
    let b = lab.parse(&format!("{BASE}# a comment\n")).unwrap().hash();
    assert_ne!(a, b);
    assert_eq!(a, lab.parse(BASE).unwrap().hash());
}

#[test]
fn everything_else_a_scenario_can_say() {
    let lab = Lab::new();
    let text = r#"name = "sweep.v2_a-b"
[topology]
kind = "bridge"
rx_core = 0
[packet]
file = "packets/udp64.pcap"
macs = { src = "02:00:00:00:00:01", dst = "02-00-00-00-00-02" }
[generator]
engine = "xdp"
rates = ["100k..300kpps step 100k", "100Mbps", "max"]
duration = "500ms"
warmup = "0s"
batch = 64
burst = 128
[[receiver]]
method = "fastnet:xdp"
buffer = "64KiB"
batch = 32
frames = 4096
wait = "poll"
[[receiver]]
method = "fastnet:read"
[[receiver]]
method = "exec"
name = "student"
command = "./rx {iface}"
[[receiver]]
method = "pcap"
name = "pcap-big"
buffer = "64MB"
[run]
repeat = 2
order = "sequential"
drain = "50ms"
seed = 42
"#;
    let s = lab.parse(text).unwrap();
    assert_eq!(s.topology.kind, Kind::Bridge);
    assert!(matches!(s.packet.macs, Macs::Set { src: Some(_), dst: Some(_) }));
    assert_eq!(s.generator.engine, Engine::Fixed(EngineKind::Xdp));
    assert_eq!(
        s.generator.rates,
        [
            Rate::Pps(100_000),
            Rate::Pps(200_000),
            Rate::Pps(300_000),
            Rate::L2BitsPerSec(100_000_000),
            Rate::Max
        ]
    );
    assert_eq!((s.generator.batch, s.generator.burst), (Some(64), Some(128)));
    assert_eq!(s.generator.warmup, Duration::ZERO);
    let xdp = &s.receivers[0];
    assert_eq!(
        (xdp.method, xdp.buffer, xdp.batch, xdp.frames, xdp.wait),
        (Method::FastnetXdp, Some(65536), Some(32), Some(4096), Some(Wait::Poll))
    );
    assert_eq!(s.receivers[1].method, Method::FastnetRead);
    assert_eq!(s.receivers[2].label, "student");
    assert_eq!(s.receivers[2].command.as_deref(), Some("./rx {iface}"));
    assert_eq!(
        (s.receivers[3].label.as_str(), s.receivers[3].buffer),
        ("pcap-big", Some(64_000_000))
    );
    assert_eq!((s.run.repeat, s.run.order, s.run.seed), (2, Order::Sequential, Some(42)));
    assert_eq!(s.run.drain, Duration::from_millis(50));
    assert_eq!(s.points(), 5 * 4 * 2);
    let keep = lab.parse(&BASE.replace("[generator]", "macs = \"keep\"\n[generator]")).unwrap();
    assert_eq!(keep.packet.macs, Macs::Keep);
}

/// (what to do to BASE, line, column, key path, message part)
type Case = (&'static str, &'static str, usize, usize, &'static str, &'static str);

fn edit(from: &str, to: &str) -> String {
    assert!(BASE.contains(from), "{from}");
    BASE.replacen(from, to, 1)
}

#[test]
fn every_bad_input_names_file_line_column_and_key() {
    let lab = Lab::new();
    let cases: &[Case] = &[
        ("malformed TOML", "[generator]\n|[generator\n", 6, 11, "", "invalid table header"),
        ("unknown key", "duration = \"2s\"\n|duration = \"2s\"\nratez = 1\n", 9, 1,
         "generator.ratez", "unknown key `ratez`; did you mean `rates`? (valid keys: engine, rates"),
        ("unknown key in receiver", "method = \"pcap\"\n|metod = \"pcap\"\n", 10, 1,
         "receiver[0].metod", "unknown key `metod`; did you mean `method`?"),
        ("unknown key in topology", "kind = \"veth\"\n|kind = \"veth\"\nrx_cores = 1\n", 4, 1,
         "topology.rx_cores", "did you mean `rx_core`?"),
        ("unknown top-level key", "name = \"t\"\n|name = \"t\"\ndecsription = \"x\"\n", 2, 1,
         "decsription", "did you mean `description`?"),
        ("unknown value", "kind = \"veth\"|kind = \"vet\"", 3, 8, "topology.kind",
         "unknown value `vet`; did you mean `veth`?"),
        ("wrong type", "duration = \"2s\"|duration = 2", 8, 12, "generator.duration",
         "invalid type: integer `2`, expected a string: quantities are strings with their unit"),
        ("wrong type (bool)", "method = \"pcap\"\n|method = \"pcap\"\nbatch = true\n", 11, 9,
         "receiver[0].batch", "invalid type: boolean `true`"),
        ("bad unit: space", "rates = [\"1Mpps\"]|rates = [\"1Mpps\", \"10 Mpps\"]", 7, 19,
         "generator.rates[1]", "\"10 Mpps\" is not a rate: no space between number and unit (write \"10Mpps\")"),
        ("bad unit: milli", "rates = [\"1Mpps\"]|rates = [\"10mpps\"]", 7, 10, "generator.rates[0]",
         "`m` is milli"),
        ("bad unit: size", "method = \"pcap\"\n|method = \"pcap\"\nbuffer = \"4MB/s\"\n", 11, 10,
         "receiver[0].buffer", "\"4MB/s\" is not a size"),
        ("bad duration", "duration = \"2s\"|duration = \"2 fortnights\"", 8, 12, "generator.duration",
         "is not a duration"),
        ("zero duration", "duration = \"2s\"|duration = \"0s\"", 8, 12, "generator.duration",
         "greater than zero"),
        ("rate 0", "rates = [\"1Mpps\"]|rates = [\"0pps\"]", 7, 10, "generator.rates[0]",
         "greater than zero"),
        ("negative rate", "rates = [\"1Mpps\"]|rates = [\"-5kpps\"]", 7, 10, "generator.rates[0]",
         "must be positive"),
        ("empty rates", "rates = [\"1Mpps\"]|rates = []", 7, 9, "generator.rates", "no rates"),
        ("duplicate rate", "rates = [\"1Mpps\"]|rates = [\"1Mpps\", \"500k..1Mpps step 500k\"]", 7, 19,
         "generator.rates[1]", "rate 1Mpps is listed twice"),
        ("missing key", "duration = \"2s\"\n|", 6, 1, "generator", "missing key `duration`"),
        ("duplicate method", "method = \"pcap\"\n|method = \"pcap\"\n[[receiver]]\nmethod = \"pcap\"\n",
         12, 10, "receiver[1].method", "receiver `pcap` is listed twice: give one a `name`"),
        ("duplicate name", "method = \"pcap\"\n|method = \"pcap\"\n[[receiver]]\nmethod = \"socket\"\nname = \"pcap\"\n",
         13, 8, "receiver[1].name", "receiver `pcap` is listed twice: rename one"),
        ("exec without command", "method = \"pcap\"\n|method = \"exec\"\nname = \"student\"\n", 10, 10,
         "receiver[0].method", "an exec receiver needs a `command`"),
        ("exec without name", "method = \"pcap\"\n|method = \"exec\"\ncommand = \"./rx\"\n", 10, 10,
         "receiver[0].method", "an exec receiver needs a `name`"),
        ("command on another method", "method = \"pcap\"\n|method = \"pcap\"\ncommand = \"./rx\"\n", 11, 11,
         "receiver[0].command", "`command` is for method = \"exec\", not `pcap`"),
        ("unknown method", "method = \"pcap\"|method = \"fastnet:4\"", 10, 10, "receiver[0].method",
         "unknown method `fastnet:4`; did you mean `fastnet:"),
        ("no receiver", "[[receiver]]\nmethod = \"pcap\"\n|", 1, 1, "",
         "no receiver: add at least one [[receiver]]"),
        ("packet file missing", "packets/udp64.pcap|packets/nope.pcap", 5, 8, "packet.file",
         "packet file `packets/nope.pcap` not found (relative paths are read from the scenario's directory"),
        ("bad MAC", "[generator]|macs = { dst = \"02:00:00:00:00\" }\n[generator]", 6, 16, "packet.macs.dst",
         "is not a MAC address"),
        ("multicast source MAC", "[generator]|macs = { src = \"01:00:5e:00:00:01\" }\n[generator]", 6, 16,
         "packet.macs.src", "must not be multicast"),
        ("bad MAC mode", "[generator]|macs = \"random\"\n[generator]", 6, 8, "packet.macs",
         "`random` is not a MAC mode"),
        ("zero repeat", "method = \"pcap\"\n|method = \"pcap\"\n[run]\nrepeat = 0\n", 12, 10, "run.repeat",
         "`repeat` must be at least 1"),
        ("negative count", "method = \"pcap\"\n|method = \"pcap\"\nbatch = -1\n", 11, 9, "receiver[0].batch",
         "invalid value: integer `-1`"),
        ("core that does not exist", "kind = \"veth\"\n|kind = \"veth\"\nrx_core = 4096\n", 4, 11,
         "topology.rx_core", "core 4096 does not exist"),
        ("bad name", "name = \"t\"|name = \"my lab\"", 1, 8, "name", "is not a scenario name"),
        ("unknown order", "method = \"pcap\"\n|method = \"pcap\"\n[run]\norder = \"random\"\n", 12, 9,
         "run.order", "unknown value `random`"),
        ("batch on a method without batches", "method = \"pcap\"\n|method = \"pcap\"\nbatch = 32\n", 11, 9,
         "receiver[0].batch", "`batch` does not apply to method `pcap` (used by: fastnet:2, fastnet:3)"),
        ("buffer on xdp-drop", "method = \"pcap\"\n|method = \"xdp-drop\"\nbuffer = \"4MiB\"\n", 11, 10,
         "receiver[0].buffer", "`buffer` does not apply to method `xdp-drop`"),
        ("frames on fastnet:2", "method = \"pcap\"\n|method = \"fastnet:2\"\nframes = 4096\n", 11, 10,
         "receiver[0].frames", "`frames` does not apply to method `fastnet:2` (used by: fastnet:3)"),
        ("busy wait on exec",
         "method = \"pcap\"\n|method = \"exec\"\nname = \"s\"\ncommand = \"./rx\"\nwait = \"busy\"\n", 13, 8,
         "receiver[0].wait", "`wait = \"busy\"` does not apply to method `exec`"),
        ("write on xdp-drop", "method = \"pcap\"\n|method = \"xdp-drop\"\nwrite = \"rx.pcap\"\n", 11, 9,
         "receiver[0].write", "`write` does not apply to method `xdp-drop` (used by: socket, fastnet:1, fastnet:2, pcap"),
        ("empty write", "method = \"pcap\"\n|method = \"pcap\"\nwrite = \"\"\n", 11, 9,
         "receiver[0].write", "the file name is empty"),
        ("max_delay on pcap", "method = \"pcap\"\n|method = \"pcap\"\nmax_delay = \"1ms\"\n", 11, 13,
         "receiver[0].max_delay", "`max_delay` does not apply to method `pcap` (used by: fastnet:3)"),
        ("max_delay too long", "method = \"pcap\"\n|method = \"fastnet:3\"\nmax_delay = \"2s\"\n", 11, 13,
         "receiver[0].max_delay", "2s is more than 1s"),
    ];
    for (what, change, line, column, path, message) in cases {
        let (from, to) = change.split_once('|').unwrap();
        let text = edit(from, to);
        let e = lab.parse(&text).expect_err(what);
        assert!(e.message.contains(message), "{what}: message {:?}\n{text}", e.message);
        assert_eq!(
            (e.line, e.column, e.path.as_str()),
            (*line, *column, *path),
            "{what}: {e}\n{text}"
        );
        assert!(e.file.ends_with("labs/x.toml"), "{what}: {e}");
        let shown = e.to_string();
        assert!(!shown.contains('\n'), "{what}: one line: {shown}");
        let prefix = if path.is_empty() {
            format!(":{line}:{column}: ")
        } else {
            format!(":{line}:{column}: {path}: ")
        };
        assert!(shown.contains(&prefix), "{what}: {shown}");
    }
}

/// Scenario files and `netlab recv` accept the same knobs for each method: the receiver's own
/// check (`RecvConfig::validate`) decides both.
#[test]
fn receiver_knobs_are_accepted_exactly_where_the_receiver_uses_them() {
    let lab = Lab::new();
    let write = netlab::receiver::record::WriteTo { path: "rx.pcapng".into(), count: None };
    let knobs: [(&str, RecvConfig); 7] = [
        ("buffer = \"4MiB\"", RecvConfig { buffer: Some(4 << 20), ..RecvConfig::default() }),
        ("batch = 32", RecvConfig { batch: Some(32), ..RecvConfig::default() }),
        ("frames = 4096", RecvConfig { frames: Some(4096), ..RecvConfig::default() }),
        ("wait = \"busy\"", RecvConfig { wait: Wait::Busy, ..RecvConfig::default() }),
        ("wait = \"poll\"", RecvConfig::default()),
        ("write = \"rx.pcapng\"", RecvConfig { write: Some(write), ..RecvConfig::default() }),
        (
            "max_delay = \"2ms\"",
            RecvConfig { max_delay: Some(Duration::from_millis(2)), ..RecvConfig::default() },
        ),
    ];
    let mut accepted = 0;
    for &method in Method::all() {
        for (line, config) in &knobs {
            let (exec, command) = if method == Method::Exec {
                ("name = \"s\"\ncommand = \"./rx\"\n", Some("./rx".to_string()))
            } else {
                ("", None)
            };
            let text =
                edit("method = \"pcap\"\n", &format!("method = \"{method}\"\n{exec}{line}\n"));
            let config = RecvConfig { command, ..config.clone() };
            let by_recv = config.validate(method);
            let by_scenario = lab.parse(&text);
            assert_eq!(
                by_scenario.is_ok(),
                by_recv.is_ok(),
                "{method} with {line}: scenario {by_scenario:?}, recv {by_recv:?}"
            );
            accepted += usize::from(by_scenario.is_ok());
        }
    }
    // Both accept some and refuse some: buffer 6 methods, batch 2, frames 1, busy 6, poll 8,
    // write 6, max_delay 1.
    assert_eq!(accepted, 30);
}

fn netlab(cwd: &Path, args: &[&str]) -> std::process::Output {
    super::util::netlab().current_dir(cwd).args(args).output().unwrap()
}

#[test]
fn check_prints_what_would_run_without_root() {
    let lab = Lab::new();
    lab.write(&fixture());
    // From another directory: the packet path is the scenario's, not the cwd's.
    let elsewhere = tempfile::tempdir().unwrap();
    let file = lab.dir.path().join("labs/x.toml");
    let out = netlab(elsewhere.path(), &["check", file.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("scenario `mode3`"), "{stdout}");
    assert!(stdout.contains("36 = 4 rates × 3 receivers × 3 repetitions"), "{stdout}");
    assert!(stdout.contains("100kpps 500kpps 1Mpps max"), "{stdout}");
    assert!(stdout.contains("at least 2m 32s"), "{stdout}");
}

/// A scenario of searches only says so: no empty list of rates, no `0 = 0 rates × …` points.
#[test]
fn check_of_a_search_only_scenario_lists_no_empty_rates() {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("labs/ndr.toml");
    let out = super::util::netlab().arg("check").arg(&file).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("no fixed rate (searches only)"), "{stdout}");
    assert!(stdout.contains("searches   14 = 7 receivers × 2 repetitions"), "{stdout}");
    assert!(!stdout.contains("rates ,") && !stdout.contains("points     0"), "{stdout}");
}

#[test]
fn check_rejects_bad_input_with_one_line_and_exit_2() {
    let lab = Lab::new();
    lab.write(&edit("rates = [\"1Mpps\"]", "rates = [\"1Mpps\", \"5kpps\", \"10 Mpps\"]"));
    let out = netlab(lab.dir.path(), &["check", "labs/x.toml"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_eq!(
        stderr.trim_end(),
        "netlab: error: labs/x.toml:7:28: generator.rates[2]: \"10 Mpps\" is not a rate: no space \
         between number and unit (write \"10Mpps\")"
    );
    assert!(out.stdout.is_empty());

    let out = netlab(lab.dir.path(), &["check", "labs/missing.toml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("labs/missing.toml: cannot read scenario")
    );
}

/// `generator.rates` may name search targets next to rates; `[search]` sets how they are found.
#[test]
fn rates_may_name_search_targets_and_search_sets_how() {
    let lab = Lab::new();
    let s = lab
        .parse(&edit("rates = [\"1Mpps\"]", "rates = [\"ndr\", \"100kpps\", \"pdr\", \"max\"]"))
        .unwrap();
    assert_eq!(s.generator.rates, [Rate::Pps(100_000), Rate::Max], "targets are not rates");
    let search = s.search.as_ref().unwrap();
    let targets: Vec<(&str, f64)> =
        search.targets.iter().map(|t| (t.name.as_str(), t.loss_pct)).collect();
    assert_eq!(targets, [("ndr", 0.0), ("pdr", 0.5)]);
    assert_eq!(search.precision, 0.05);
    assert_eq!(search.short_trial, Duration::from_millis(300));
    assert_eq!(search.final_trial, Duration::from_secs(2), "the generator's duration");
    assert_eq!(
        (search.lower_pps, search.upper_pps),
        (10_000, None),
        "auto paces with xdp above the ring's smooth top, sending refused frames again: no ceiling"
    );
    assert_eq!(s.run.retries, 2);
    assert_eq!((s.points(), s.search_runs(), s.searches()), (2, 1, 2));

    let text = format!(
        "{}\n[search]\ntargets = {{ pdr = \"0.1%\", plr1 = \"1%\" }}\nprecision = \"2%\"\n\
         short_trial = \"200ms\"\nfinal_trial = \"3s\"\nlower = \"50kpps\"\nupper = \"2Mpps\"\n\
         [run]\nretries = 0\nrepeat = 3\n",
        edit("rates = [\"1Mpps\"]", "rates = [\"plr1\", \"pdr\"]")
    );
    let s = lab.parse(&text).unwrap();
    assert!(s.generator.rates.is_empty());
    let search = s.search.as_ref().unwrap();
    let targets: Vec<(&str, f64)> =
        search.targets.iter().map(|t| (t.name.as_str(), t.loss_pct)).collect();
    assert_eq!(targets, [("plr1", 1.0), ("pdr", 0.1)], "in the order rates names them");
    assert_eq!(search.precision, 0.02);
    assert_eq!(
        (search.short_trial, search.final_trial),
        (Duration::from_millis(200), Duration::from_secs(3))
    );
    assert_eq!((search.lower_pps, search.upper_pps), (50_000, Some(2_000_000)));
    assert_eq!(s.run.retries, 0);
    assert_eq!((s.points(), s.search_runs(), s.searches()), (0, 3, 6));
    assert!(lab.parse(BASE).unwrap().search.is_none());
}

#[test]
fn bad_searches_name_file_line_column_and_key() {
    let lab = Lab::new();
    let with_search = |rates: &str, search: &str| {
        format!("{}[search]\n{search}", edit("rates = [\"1Mpps\"]", rates))
    };
    let cases: &[(&str, String, usize, usize, &str, &str)] = &[
        (
            "a word that is no target",
            edit("rates = [\"1Mpps\"]", "rates = [\"ndr\", \"nrd\"]"),
            7,
            17,
            "generator.rates[1]",
            "`nrd` is not a rate or a search target: did you mean `ndr`? (targets: ndr, pdr;",
        ),
        (
            "a target twice",
            edit("rates = [\"1Mpps\"]", "rates = [\"ndr\", \"ndr\"]"),
            7,
            17,
            "generator.rates[1]",
            "`ndr` is listed twice",
        ),
        (
            "a [search] without a target",
            with_search("rates = [\"1Mpps\"]", "precision = \"5%\"\n"),
            11,
            1,
            "search",
            "no search asked: add a target",
        ),
        (
            "precision without unit",
            with_search("rates = [\"ndr\"]", "precision = \"5\"\n"),
            12,
            13,
            "search.precision",
            "is not a percentage",
        ),
        (
            "precision too wide",
            with_search("rates = [\"ndr\"]", "precision = \"80%\"\n"),
            12,
            13,
            "search.precision",
            "between 0.1% and 50%",
        ),
        (
            "zero trial",
            with_search("rates = [\"ndr\"]", "short_trial = \"0s\"\n"),
            12,
            15,
            "search.short_trial",
            "greater than zero",
        ),
        (
            "bad final trial",
            with_search("rates = [\"ndr\"]", "final_trial = \"soon\"\n"),
            12,
            15,
            "search.final_trial",
            "is not a duration",
        ),
        (
            "lower bound max",
            with_search("rates = [\"ndr\"]", "lower = \"max\"\n"),
            12,
            9,
            "search.lower",
            "the lower bound must be a rate",
        ),
        (
            "bounds in bits",
            with_search("rates = [\"ndr\"]", "upper = \"100Mbps\"\n"),
            12,
            9,
            "search.upper",
            "in frames per second",
        ),
        (
            "lower above what the ring paces without faking the loss",
            with_search("rates = [\"ndr\"]", "lower = \"2Mpps\"\n")
                .replace("[generator]\n", "[generator]\nengine = \"ring\"\n"),
            13,
            9,
            "search.lower",
            "must be below 1500000 pps",
        ),
        (
            "upper below lower",
            with_search("rates = [\"ndr\"]", "lower = \"1Mpps\"\nupper = \"1Mpps\"\n"),
            13,
            9,
            "search.upper",
            "must be above the lower bound (1000000 pps)",
        ),
        (
            "bad target name",
            with_search("rates = [\"ndr\"]", "targets = { Loss1 = \"1%\" }\n"),
            12,
            21,
            "search.targets.Loss1",
            "`Loss1` is not a target name",
        ),
        (
            "bad target loss",
            with_search("rates = [\"ndr\"]", "targets = { plr = \"1\" }\n"),
            12,
            19,
            "search.targets.plr",
            "is not a percentage",
        ),
        (
            "unknown key",
            with_search("rates = [\"ndr\"]", "precison = \"5%\"\n"),
            12,
            1,
            "search.precison",
            "did you mean `precision`?",
        ),
    ];
    for (what, text, line, column, path, message) in cases {
        let e = lab.parse(text).expect_err(what);
        assert!(e.message.contains(message), "{what}: message {:?}\n{text}", e.message);
        assert_eq!((e.line, e.column, e.path.as_str()), (*line, *column, *path), "{what}: {e}");
        assert!(!e.to_string().contains('\n'), "{what}: one line: {e}");
    }
}
/// The interface scenario of `BASE` with roles placed on `[hosts]`.
fn placed(hosts: &str, topology: &str) -> String {
    let base = BASE.replace("[topology]\nkind = \"veth\"\n", topology);
    format!("{base}[hosts]\n{hosts}")
}

const TWO_HOSTS: &str = "laptop = \"local\"\n\
    vm = { ssh = \"root@192.168.56.101\", ssh_options = [\"-p\", \"2222\"], netlab = \"/usr/local/bin/netlab\" }\n";

const CABLE: &str = "[topology]\nkind = \"interface\"\n\
    generator = { host = \"laptop\", interface = \"vboxnet0\" }\n\
    receiver = { host = \"vm\", interface = \"eth2\" }\n";

#[test]
fn hosts_place_the_roles_without_connecting() {
    use netlab::scenario::Place;
    let lab = Lab::new();
    let s = lab.parse(&placed(TWO_HOSTS, CABLE)).unwrap();
    assert_eq!(s.placement.generator, "laptop");
    assert_eq!(s.placement.receiver, "vm");
    assert!(s.is_remote());
    assert_eq!(s.host("laptop").unwrap().place, Place::Local);
    assert_eq!(
        s.host("vm").unwrap().place,
        Place::Ssh {
            target: "root@192.168.56.101".into(),
            options: vec!["-p".into(), "2222".into()],
            netlab: "/usr/local/bin/netlab".into()
        }
    );
    // A whole lab on a host; `netlab` defaults to the remote PATH's.
    let s = lab
        .parse(&placed(
            "vm = { ssh = \"vm.example\" }\n",
            "[topology]\nkind = \"veth\"\nhost = \"vm\"\n",
        ))
        .unwrap();
    assert_eq!((s.placement.generator.as_str(), s.placement.receiver.as_str()), ("vm", "vm"));
    assert!(
        matches!(&s.host("vm").unwrap().place, Place::Ssh { netlab, .. } if netlab == "netlab")
    );
    // Without [hosts], everything is this machine's, named `local`.
    let s = lab.parse(BASE).unwrap();
    assert!(!s.is_remote());
    assert_eq!(s.placement.generator, "local");
}

#[test]
fn bad_hosts_are_one_located_line() {
    let lab = Lab::new();
    let cases: &[(&str, String, &str, &str)] = &[
        (
            "unknown host",
            placed(TWO_HOSTS, &CABLE.replace("host = \"vm\"", "host = \"mv\"")),
            "topology.receiver.host",
            "no host `mv` in [hosts]; did you mean `vm`?",
        ),
        (
            "host word",
            placed("laptop = \"remote\"\n", CABLE),
            "hosts.laptop",
            "`remote` is not a host: \"local\" or { ssh",
        ),
        (
            "empty ssh",
            placed("laptop = \"local\"\nvm = { ssh = \"\" }\n", CABLE),
            "hosts.vm.ssh",
            "is not an ssh destination",
        ),
        (
            "unknown key",
            placed("laptop = \"local\"\nvm = { ssh = \"vm\", port = 22 }\n", CABLE),
            "hosts.vm",
            "port",
        ),
        (
            "two locals",
            placed("a = \"local\"\nb = \"local\"\n", CABLE),
            "hosts.b",
            "`a` is already this machine",
        ),
        (
            "placed role on a veth lab",
            placed(
                TWO_HOSTS,
                "[topology]\nkind = \"veth\"\nreceiver = { host = \"vm\", interface = \"rx0\" }\n",
            ),
            "topology.receiver.host",
            "placed whole with topology.host",
        ),
        (
            "host and placed role",
            placed(
                TWO_HOSTS,
                "[topology]\nkind = \"interface\"\nhost = \"vm\"\ngenerator = \"eth1\"\n\
                 receiver = { host = \"vm\", interface = \"eth2\" }\n",
            ),
            "topology.receiver.host",
            "give the interface's name alone",
        ),
        (
            "no hosts table",
            BASE.replace("kind = \"veth\"\n", "kind = \"veth\"\nhost = \"vm\"\n"),
            "topology.host",
            "no host `vm` in [hosts] (there is no [hosts] table)",
        ),
    ];
    for (what, text, path, message) in cases {
        let e = lab.parse(text).expect_err(what);
        let shown = e.to_string();
        assert!(shown.contains(message), "{what}: {shown}\n{text}");
        assert!(e.path.starts_with(path), "{what}: path {:?}: {shown}\n{text}", e.path);
        assert!(e.line > 1 && !shown.contains('\n'), "{what}: {shown}");
    }
}

/// The shipped labs whose generator runs on this machine on an interface it may not have: the
/// lab, where its `topology.generator` is (line:column), and the interface.
const LOCAL_INTERFACES: [(&str, &str, &str); 2] =
    [("class-vm.toml", "25:13", "vboxnet0"), ("two-hosts.toml", "19:13", "vboxnet0")];

#[test]
fn check_passes_every_shipped_lab() {
    let labs = Path::new(env!("CARGO_MANIFEST_DIR")).join("labs");
    let mut checked = 0;
    for entry in std::fs::read_dir(&labs).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml") {
            let out = super::util::netlab().arg("check").arg(&path).output().unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr);
            // The benchmark labs run C anchors that their script compiles first
            // (scripts/bench-receivers, scripts/bench-cost): before that, check names the
            // program missing, and nothing else.
            let text = std::fs::read_to_string(&path).unwrap();
            let anchor = "../target/anchors/";
            if text.contains(anchor) && !labs.join(anchor).join("xsk_rx").exists() {
                assert!(
                    !out.status.success()
                        && stderr.contains("target/anchors/xsk_rx")
                        && stderr.contains("not found"),
                    "netlab check {}: {stderr}",
                    path.display()
                );
                checked += 1;
                continue;
            }
            // The class's labs send on the host's `vboxnet0`: where this machine has none,
            // check says so in one line, located at the generator's role.
            if let Some((line, iface)) = LOCAL_INTERFACES
                .iter()
                .find(|(lab, _, _)| path.ends_with(lab))
                .map(|(_, at, iface)| (at, iface))
                .filter(|(_, iface)| !Path::new("/sys/class/net").join(iface).exists())
            {
                assert_eq!(
                    stderr.trim_end(),
                    format!(
                        "netlab: error: {}:{line}: topology.generator: {}",
                        path.display(),
                        super::util::not_here(iface)
                    )
                );
                assert_eq!(out.status.code(), Some(2));
                checked += 1;
                continue;
            }
            // A lab that names the xdp engine alone (the generator cross-check, ndr-xdp): on a
            // kernel without live frames, check refuses it with the kernel's reason (exit 4),
            // as run would before building; the lab is checked where the kernel has them.
            if text.contains("\nengine = \"xdp\"")
                && netlab::runner::preflight::privileges(netlab::topology::Kind::Veth).is_ok()
                && !fastnet::testing::kernel_has(
                    &format!("check_passes_every_shipped_lab ({})", path.display()),
                    fastnet::bpf::live_frames_available(),
                )
            {
                assert_eq!(out.status.code(), Some(4), "{stderr}");
                assert!(stderr.contains("generator.engine: the xdp engine cannot send here"));
                checked += 1;
                continue;
            }
            assert!(
                out.status.success(),
                "netlab check {}: {}{}",
                path.display(),
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            checked += 1;
        }
    }
    assert!(checked >= 10, "{checked} labs");
}
