//! Results: the directory a run writes, read back, and `netlab compare`.

use std::path::Path;
use std::process::Command;

use netlab::report::{self, Measure, ResultsDir, Verdict};
use netlab::results::{Counters, Drops, Manifest, Point, Results, Stage};
use netlab::scenario::{Method, Rate, Scenario};

use crate::scenario::Lab;

/// The issue's example scenario, loaded from a lab directory.
fn scenario(lab: &Lab) -> Scenario {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/fixtures/mode3.toml"),
    )
    .unwrap();
    lab.parse(&text).unwrap()
}

/// What each method keeps on the class's veth lab (Mpps) and what it costs (ns/frame).
fn capacity(method: Method) -> (f64, f64) {
    match method {
        Method::Socket => (0.35, 2600.0),
        Method::Pcap => (1.4, 650.0),
        Method::FastnetXdp => (4.2, 210.0),
        _ => (1.0, 1000.0),
    }
}

/// A realistic run: `max` offers 5.5 Mpps; each repetition a little different (`wobble`).
fn fabricate(s: &Scenario, wobble: f64, points: usize) -> Results {
    let mut results = Results::new(s, 60);
    'all: for rate in &s.generator.rates {
        for receiver in &s.receivers {
            for repetition in 1..=s.run.repeat {
                if results.points.len() == points {
                    break 'all;
                }
                let noise = 1.0 - wobble * f64::from(repetition);
                let offered = rate.pps(60).unwrap_or(5.5e6) * (1.0 + wobble * 0.1);
                let (keeps, ns) = capacity(receiver.method);
                let received = offered.min(keeps * 1e6 * noise);
                let sent = (offered * 3.0) as u64;
                let app = (received * 3.0) as u64;
                let xdp = receiver.method == Method::FastnetXdp;
                let counters = Counters {
                    duration_s: 3.0,
                    sent_frames: sent,
                    iface_rx_frames: sent,
                    drops: Drops {
                        // The xdp engine's frames the peer's ring could not take.
                        generator_tx_dropped_frames: Some(sent / 10),
                        iface_rx_dropped_frames: Some(0),
                        socket_frames: (!xdp).then_some(sent - app),
                        xdp_rx_ring_full_frames: xdp.then_some(sent - app),
                        ..Drops::default()
                    },
                    app_rx_frames: app,
                    ipv4_frames: app,
                    rx_cpu_ns: (app as f64 * ns * 0.7) as u64,
                    napi_cpu_ns: Some((app as f64 * ns * 0.3) as u64),
                    delay_bound_ns: xdp.then_some(10_000_000),
                    xdp_mode: xdp.then_some(fastnet::bpf::XdpMode::Native),
                    xsk_bind: xdp.then_some(fastnet::xdp::BindMode::Copy),
                    largest_burst_frames: None,
                    generator_limit: None,
                    engine: Some(netlab::generator::EngineKind::Xdp),
                };
                results.points.push(Point::new(receiver, *rate, repetition, 60, true, counters));
            }
        }
    }
    results.finish();
    results
}

fn manifest(s: &Scenario) -> Manifest {
    Manifest::collect(s, "xdp", Some(7), serde_json::json!({ "kind": "veth", "rx": "rx0" }))
}

#[test]
fn results_directory_is_complete_and_reads_back() {
    let lab = Lab::new();
    let s = scenario(&lab);
    let results = fabricate(&s, 0.01, usize::MAX);
    assert!(!results.partial);
    assert_eq!(results.points.len(), 36);
    let base = lab.dir.path().join("results");
    let dir = report::write_dir(&base, &results, &manifest(&s), &s).unwrap();
    let name = dir.file_name().unwrap().to_str().unwrap();
    assert!(
        name.starts_with("mode3-")
            && name.ends_with('Z')
            && name.len() == "mode3-20250101T000000Z".len(),
        "{name}"
    );
    for file in [
        "results.json",
        "results.csv",
        "manifest.json",
        "x.toml",
        "received.svg",
        "loss.svg",
        "ns_per_frame.svg",
    ] {
        assert!(dir.join(file).is_file(), "{file} missing");
    }
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    // JSON round-trips exactly.
    let back = Results::read(&dir.join("results.json")).unwrap();
    assert_eq!(back, results);
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("results.json")).unwrap()).unwrap();
    assert_eq!(json["partial"], false);
    assert_eq!(json["points"][0]["rate"], "100kpps");
    assert_eq!(json["points"][0]["method"], "fastnet:3");

    // CSV: a header and one row per point, same columns everywhere.
    let mut csv = csv::Reader::from_path(dir.join("results.csv")).unwrap();
    let header = csv.headers().unwrap().clone();
    assert!(
        header.iter().any(|h| h == "achieved_pps")
            && header.iter().any(|h| h == "drops_socket_frames")
    );
    let rows: Vec<csv::StringRecord> = csv.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), results.points.len());
    let column = |name: &str| header.iter().position(|h| h == name).unwrap();
    let tx_dropped = column("drops_generator_tx_dropped_frames");
    // Stable order whatever order the run measured in: receiver, rate, repetition (scenario
    // order); every row names its run and scenario.
    let (label, rate, repetition) = (column("label"), column("rate"), column("repetition"));
    let mut expected: Vec<&Point> = results.points.iter().collect();
    let index = |list: Vec<String>, item: String| list.iter().position(|x| *x == item).unwrap();
    expected.sort_by_key(|p| {
        (
            index(s.receivers.iter().map(|r| r.label.clone()).collect(), p.label.clone()),
            index(s.generator.rates.iter().map(|r| r.to_string()).collect(), p.rate.to_string()),
            p.repetition,
        )
    });
    for (row, point) in rows.iter().zip(&expected) {
        assert_eq!(
            (&row[label], &row[rate], &row[repetition]),
            (
                point.label.as_str(),
                point.rate.to_string().as_str(),
                point.repetition.to_string().as_str()
            )
        );
        let drops = point.counters.drops.generator_tx_dropped_frames.unwrap();
        assert!(drops > 0);
        assert_eq!(row[tx_dropped], drops.to_string());
        assert_eq!(&row[column("run_id")], dir.file_name().unwrap().to_str().unwrap());
        assert_eq!(&row[column("scenario")], "mode3");
    }
    let method = column("method");
    assert_eq!(rows.iter().filter(|r| &r[method] == "socket").count(), 12);

    // Manifest and the scenario copy.
    let m: Manifest =
        serde_json::from_str(&std::fs::read_to_string(dir.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(m.scenario_hash, s.hash());
    assert_eq!(m.engine, "xdp");
    assert!(m.cores >= 1 && !m.kernel.is_empty());
    assert_eq!(std::fs::read_to_string(dir.join("x.toml")).unwrap(), s.source());

    // SVGs are well-formed XML naming every method, with labelled axes.
    for file in ["received.svg", "loss.svg", "ns_per_frame.svg"] {
        let text = std::fs::read_to_string(dir.join(file)).unwrap();
        let doc = roxmltree::Document::parse(&text).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(doc.root_element().tag_name().name(), "svg");
        let texts: Vec<&str> = doc.descendants().filter_map(|n| n.text()).collect();
        for label in ["fastnet:3", "pcap", "socket"] {
            assert!(texts.iter().any(|t| t.trim() == label), "{file} lacks {label}: {texts:?}");
        }
        assert!(texts.iter().any(|t| t.contains("offered (Mpps")), "{file}: {texts:?}");
    }

    // A second directory in the same second gets its own name.
    let again = report::write_dir(&base, &results, &manifest(&s), &s).unwrap();
    assert_ne!(again, dir);
}

#[test]
fn lossless_rate_is_the_highest_rate_kept_whole_in_every_repetition() {
    let lab = Lab::new();
    let s = scenario(&lab);
    let mut results = fabricate(&s, 0.0, usize::MAX);
    // socket keeps 0.35 Mpps: whole at 100 kpps only; pcap (1.4) and fastnet:3 (4.2) up to 1 Mpps.
    assert_eq!(results.lossless_rate("socket").map(|r| r.0), Some(Rate::Pps(100_000)));
    assert_eq!(results.lossless_rate("pcap").map(|r| r.0), Some(Rate::Pps(1_000_000)));
    assert_eq!(results.lossless_rate("fastnet:3").map(|r| r.0), Some(Rate::Pps(1_000_000)));
    let text = report::table(&results);
    assert!(text.contains("no loss\n") || text.contains("no loss "), "{text}");
    // One lost frame in one repetition of pcap at 1 Mpps: its lossless rate drops to 500 kpps.
    let i = results
        .points
        .iter()
        .position(|p| p.label == "pcap" && p.rate == Rate::Pps(1_000_000))
        .unwrap();
    results.points[i].loss_pct = 0.0001;
    assert_eq!(results.lossless_rate("pcap").map(|r| r.0), Some(Rate::Pps(500_000)));
    // Loss at every rate: none.
    for p in results.points.iter_mut().filter(|p| p.label == "socket") {
        p.loss_pct = 1.0;
    }
    assert_eq!(results.lossless_rate("socket"), None);
    assert!(report::table(&results).contains("lost frames"));
}

#[test]
fn lossless_rate_ignores_invalid_repetitions_and_never_rounds_a_loss_away() {
    // The bugs: "none asked" for a method whose one repetition was invalid, and for one whose
    // cell said "0.0 % loss" (25 frames of 100 000 lost, rounded).
    let lab = Lab::new();
    let s = scenario(&lab);
    let mut results = fabricate(&s, 0.0, usize::MAX);
    let at = |results: &Results, label: &str, rate: Rate| {
        results.points.iter().position(|p| p.label == label && p.rate == rate).unwrap()
    };
    let i = at(&results, "pcap", Rate::Pps(1_000_000));
    results.points[i].invalidate("the generator fell behind");
    assert_eq!(results.lossless_rate("pcap").map(|r| r.0), Some(Rate::Pps(1_000_000)));
    let i = at(&results, "fastnet:3", Rate::Pps(1_000_000));
    results.points[i].loss_pct = 0.025;
    assert_eq!(results.lossless_rate("fastnet:3").map(|r| r.0), Some(Rate::Pps(500_000)));
    let text = report::table(&results);
    assert!(text.contains("0.0083 % loss"), "{text}"); // 0.025 % in one of three repetitions
    assert!(!text.contains(" 0.0 %"), "{text}");
}

#[test]
fn table_shows_means_and_keeps_invalid_points_out() {
    let lab = Lab::new();
    let s = scenario(&lab);
    let mut results = fabricate(&s, 0.0, usize::MAX);
    let text = report::table(&results);
    assert!(text.contains("mode3 — fastnet mode 3"), "{text}");
    for header in ["100kpps", "500kpps", "1Mpps", "max", "fastnet:3", "pcap", "socket"] {
        assert!(text.contains(header), "{header}: {text}");
    }
    // socket keeps 0.35 Mpps of 5.5 offered at max (the headline's MRR); 3 identical
    // repetitions: no ± part.
    assert!(text.contains("0.350 ") && text.contains("n=3"), "{text}");
    assert!(text.contains("93.6 %"), "{text}");
    // CPU per frame: the total, then receiver + kernel.
    assert!(text.contains("2600 ns/frame") && text.contains("(1820 + 780)"), "{text}");
    assert!(!text.contains("invalid"), "{text}");

    // One pcap point at 1 Mpps where the generator fell short: shown, not averaged.
    let i = results
        .points
        .iter()
        .position(|p| p.label == "pcap" && p.rate == Rate::Pps(1_000_000))
        .unwrap();
    results.points[i].achieved_pps = 0.0;
    results.points[i]
        .invalidate("the generator offered 800000 pps, below 98 % of the 1000000 pps asked");
    let cell = results.cell("pcap", Rate::Pps(1_000_000));
    assert_eq!((cell.valid(), cell.invalid()), (2, 1));
    assert_eq!(cell.achieved_pps.unwrap().mean, results.points[i + 1].achieved_pps);
    let text = report::table(&results);
    assert!(text.contains("(1 of 3 invalid)"), "{text}");
    assert!(text.contains("pcap @ 1Mpps #1: the generator offered 800000 pps"), "{text}");
}

#[test]
fn tables_name_the_xdp_modes_a_method_ran_in() {
    let lab = Lab::new();
    let s = scenario(&lab);
    let mut results = fabricate(&s, 0.0, usize::MAX);
    let text = report::table(&results);
    assert!(text.contains("(native XDP, copy)"), "{text}");
    assert_eq!(report::xdp_modes(&results, "pcap"), None);
    // Generic mode pays an skb per frame: a class must see it next to the figures.
    for p in results.points.iter_mut().filter(|p| p.label == "fastnet:3") {
        p.counters.xdp_mode = Some(fastnet::bpf::XdpMode::Generic);
    }
    assert_eq!(report::xdp_modes(&results, "fastnet:3").as_deref(), Some("generic XDP, copy"));
    let text = report::table(&results);
    assert!(text.contains("(generic XDP, copy)") && !text.contains("native XDP"), "{text}");
    // Points that ran in different modes name each.
    results.points.iter_mut().find(|p| p.label == "fastnet:3").unwrap().counters.xdp_mode =
        Some(fastnet::bpf::XdpMode::Native);
    assert_eq!(
        report::xdp_modes(&results, "fastnet:3").as_deref(),
        Some("native XDP, copy; generic XDP, copy")
    );
}

#[test]
fn a_wide_sweep_switches_to_the_long_layout_within_100_columns() {
    let lab = Lab::new();
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/fixtures/mode3.toml"),
    )
    .unwrap()
    .replace(
        r#"rates = ["100kpps", "500kpps", "1Mpps", "max"]"#,
        r#"rates = ["100k..1Mpps step 100k"]"#,
    );
    let s = lab.parse(&text).unwrap();
    assert_eq!(s.generator.rates.len(), 10);
    let results = fabricate(&s, 0.01, usize::MAX);
    let grids = report::grids(&results);
    // Fixed rates only: no headline, one per-rate table, long: method, rate, … as columns.
    assert_eq!(grids.len(), 1);
    assert_eq!(grids[0].header[..2], ["method".to_string(), "rate".to_string()]);
    assert_eq!(grids[0].rows.len(), 30);
    let table = report::table(&results);
    assert!(table.lines().all(|l| l.chars().count() <= 100), "{table}");
    assert!(table.contains("900kpps") && table.contains("socket"), "{table}");
    // A few rates stay wide: rates as columns.
    let s = scenario(&lab);
    let grids = report::grids(&fabricate(&s, 0.01, usize::MAX));
    assert_eq!(grids[1].header, ["method", "100kpps", "500kpps", "1Mpps", "no loss\nup to"]);
}

#[test]
fn an_interrupted_run_leaves_complete_partial_files() {
    let lab = Lab::new();
    let s = scenario(&lab);
    let full = fabricate(&s, 0.01, usize::MAX);
    let dir = ResultsDir::create(&lab.dir.path().join("results"), &s, full.started, &manifest(&s))
        .unwrap();
    assert!(dir.path().join("manifest.json").is_file());
    let mut results = Results::new(&s, 60);
    for point in full.points.iter().take(5) {
        results.points.push(point.clone());
        dir.write_results(&results).unwrap();
    }
    // While it runs: the data, the tables and the SVGs after every point; the page at the end.
    for file in ["results.json", "results.csv", "table.txt", "table.md", "received.svg"] {
        assert!(dir.path().join(file).is_file(), "{file} missing during the run");
    }
    assert!(!dir.path().join("report.html").exists());
    results.finish(); // Ctrl-C after 5 of 36
    dir.write_results(&results).unwrap();
    let back = Results::read(&dir.path().join("results.json")).unwrap();
    assert!(back.partial);
    assert_eq!(back.points.len(), 5);
    assert_eq!(back.planned_points, 36);
    assert!(report::table(&back).contains("PARTIAL: 5 of 36 points measured"));
    let page = std::fs::read_to_string(dir.path().join("report.html")).unwrap();
    assert!(page.contains("PARTIAL: 5 of 36 points measured"), "{page}");
    assert!(dir.path().join("received.png").is_file());
    let svg = std::fs::read_to_string(dir.path().join("received.svg")).unwrap();
    roxmltree::Document::parse(&svg).unwrap();
}

fn halve(results: &mut Results, label: &str) {
    for p in results.points.iter_mut().filter(|p| p.label == label) {
        p.counters.app_rx_frames /= 2;
        p.achieved_pps /= 2.0;
    }
}

#[test]
fn compare_passes_similar_runs_and_names_a_halved_method() {
    let lab = Lab::new();
    let s = scenario(&lab);
    let a = fabricate(&s, 0.01, usize::MAX);
    let b = fabricate(&s, 0.03, usize::MAX);
    let same = report::compare(&a, &b, 0.20);
    assert_eq!(same.failures().count(), 0, "{}", same.table("a", "b"));
    assert_eq!(same.rows.len(), 12);

    let mut doctored = b.clone();
    halve(&mut doctored, "fastnet:3");
    let cmp = report::compare(&a, &doctored, 0.20);
    let failing: Vec<(&str, Measure)> =
        cmp.failures().map(|r| (r.label.as_str(), r.measure.clone())).collect();
    assert_eq!(
        failing,
        [
            ("fastnet:3", Measure::Mrr),
            ("fastnet:3", Measure::Rate(Rate::Pps(100_000))),
            ("fastnet:3", Measure::Rate(Rate::Pps(500_000))),
            ("fastnet:3", Measure::Rate(Rate::Pps(1_000_000))),
        ]
    );
    assert!(cmp.rows.iter().all(|r| r.label == "fastnet:3" || r.verdict == Verdict::Ok));
    let text = cmp.table("a", "b");
    assert!(text.contains("regression: fastnet:3 MRR:"), "{text}");
    assert!(text.lines().all(|l| l.chars().count() <= 100), "{text}");
    assert!(text.contains("REGRESSION") && text.contains("-52.0 %"), "{text}");

    // A method with no valid point in the candidate fails as missing.
    let mut gone = b.clone();
    gone.points.retain(|p| p.label != "pcap");
    let cmp = report::compare(&a, &gone, 0.20);
    assert!(cmp.failures().all(|r| r.label == "pcap" && r.verdict == Verdict::Missing));
    assert_eq!(cmp.failures().count(), 4);
}

#[test]
fn compare_command_exit_codes() {
    let lab = Lab::new();
    let s = scenario(&lab);
    let write = |name: &str, results: &Results| {
        let path = lab.dir.path().join(name);
        std::fs::write(&path, results.to_json().unwrap()).unwrap();
        path
    };
    let a = write("a.json", &fabricate(&s, 0.01, usize::MAX));
    let b = write("b.json", &fabricate(&s, 0.03, usize::MAX));
    let mut doctored = fabricate(&s, 0.03, usize::MAX);
    halve(&mut doctored, "pcap");
    let c = write("c.json", &doctored);
    let run = |args: &[&Path], extra: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_netlab"))
            .arg("compare")
            .args(args)
            .args(extra)
            .output()
            .unwrap()
    };
    let out = run(&[&a, &b], &["--tolerance", "20%"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("no regression beyond 20 %"));

    let out = run(&[&a, &c], &["--tolerance", "20%"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("regression: pcap rx @ 1Mpps"), "{stdout}");
    assert!(!stdout.contains("regression: socket"), "{stdout}");

    let out = run(&[&a, &b], &["--tolerance", "20"]);
    assert_eq!(out.status.code(), Some(2));
    let junk = lab.dir.path().join("junk.json");
    std::fs::write(&junk, "{\"points\": 3}").unwrap();
    let out = run(&[&a, &junk], &[]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("junk.json:1:") && stderr.contains("not a netlab results.json"),
        "{stderr}"
    );
}

/// A copy of the committed results directory of a run that searched NDR and PDR and flooded at
/// `max` (3 methods × 3 repetitions; fastnet:3's MRR split 1.61 | 3.1 Mpps, one pcap PDR
/// search and one socket `max` point invalid), in a temporary directory.
pub fn searched_run() -> (tempfile::TempDir, std::path::PathBuf) {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/fixtures/results-ndr");
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ndr-20261201T090000Z");
    std::fs::create_dir(&dir).unwrap();
    for entry in std::fs::read_dir(&fixture).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), dir.join(entry.file_name())).unwrap();
    }
    (tmp, dir)
}

fn netlab(args: &[&std::ffi::OsStr]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_netlab")).args(args).output().unwrap()
}

/// Validates `json` against docs/results.schema.json; panics with every error.
pub fn assert_valid_results(json: &serde_json::Value, what: &str) {
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/results.schema.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let validator = jsonschema::validator_for(&schema).expect("the schema is a valid JSON Schema");
    let errors: Vec<String> =
        validator.iter_errors(json).map(|e| format!("{}: {e}", e.instance_path())).collect();
    assert!(
        errors.is_empty(),
        "{what} does not match docs/results.schema.json:\n{}",
        errors.join("\n")
    );
}

#[test]
fn results_validate_against_the_documented_schema() {
    // The committed run with searches, and a freshly written one of every fixed rate and max.
    let (_tmp, dir) = searched_run();
    let fixture: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("results.json")).unwrap()).unwrap();
    assert_eq!(fixture["schema_version"], 2);
    assert_valid_results(&fixture, "the fixture");
    let lab = Lab::new();
    let s = scenario(&lab);
    let results = fabricate(&s, 0.01, usize::MAX);
    let written =
        report::write_dir(&lab.dir.path().join("results"), &results, &manifest(&s), &s).unwrap();
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(written.join("results.json")).unwrap())
            .unwrap();
    assert_eq!(json["schema_version"], netlab::results::SCHEMA_VERSION);
    assert_valid_results(&json, "a written results.json");
    // The schema is strict: an undocumented field fails it.
    let mut extra = json.clone();
    extra["points"][0]["undocumented_frames"] = 1.into();
    let validator = jsonschema::validator_for(
        &serde_json::from_str(
            &std::fs::read_to_string(
                Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/results.schema.json"),
            )
            .unwrap(),
        )
        .unwrap(),
    )
    .unwrap();
    assert!(!validator.is_valid(&extra));
    // Version 3 has every point's loss budget: a point without it fails, a stage it does not
    // know too.
    let mut no_budget = json.clone();
    no_budget["points"][0].as_object_mut().unwrap().remove("lost_frames");
    assert!(!validator.is_valid(&no_budget));
    let mut unknown_stage = json.clone();
    unknown_stage["points"][0]["lost_frames"]["wire"] = 1.into();
    assert!(!validator.is_valid(&unknown_stage));
    // A file from a newer netlab is refused, one without a version read as version 1.
    let mut newer = json.clone();
    let next = netlab::results::SCHEMA_VERSION + 1;
    newer["schema_version"] = next.into();
    let path = lab.dir.path().join("newer.json");
    std::fs::write(&path, newer.to_string()).unwrap();
    let err = format!("{:#}", Results::read(&path).unwrap_err());
    assert!(err.contains(&format!("schema_version {next} is newer")), "{err}");
    let mut older = json;
    older.as_object_mut().unwrap().remove("schema_version");
    std::fs::write(&path, older.to_string()).unwrap();
    assert_eq!(Results::read(&path).unwrap().schema_version, 1);
}

#[test]
fn show_reprints_the_headline_from_results_json() {
    let (_tmp, dir) = searched_run();
    let out = netlab(&["show".as_ref(), dir.as_os_str()]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    for word in ["fastnet:3", "pcap", "socket", "NDR Mpps", "PDR Mpps", "MRR Mpps", "at NDR"] {
        assert!(text.contains(word), "{word}: {text}");
    }
    // fastnet:3 under flood: two groups, not one mean ± a huge sd.
    assert!(text.contains("split:") && text.contains("1.610 ×1") && text.contains("×2"), "{text}");
    // CPU per frame at NDR in its two parts: 1000 = 650 receiver + 350 kernel.
    assert!(text.contains("650 + 350"), "{text}");
    assert!(text.contains("(1 of 3 invalid)"), "{text}");
    assert!(text.contains("pcap PDR search #2: the generator fell behind"), "{text}");
    assert!(text.lines().all(|l| l.chars().count() <= 100), "wider than 100 columns:\n{text}");
    // The same table as the run saves, and as Markdown.
    let out =
        netlab(&["show".as_ref(), "--markdown".as_ref(), dir.join("results.json").as_os_str()]);
    let md = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(md.contains("| method | NDR Mpps<br>(no loss) |"), "{md}");
    // Not a results directory: exit 2, one line naming it.
    let out = netlab(&["show".as_ref(), _tmp.path().join("nothing").as_os_str()]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(String::from_utf8_lossy(&out.stderr).lines().count(), 1);
}

#[test]
fn report_rebuilds_a_self_contained_page_and_compares_against_a_baseline() {
    let (_tmp, dir) = searched_run();
    let out = netlab(&["report".as_ref(), dir.as_os_str()]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    for file in [
        "table.txt",
        "table.md",
        "report.html",
        "report.md",
        "results.csv",
        "rates.svg",
        "rates.png",
        "cpu.svg",
        "cpu.png",
        "received.svg",
        "received.png",
        "loss.svg",
        "loss.png",
        "ns_per_frame.svg",
        "ns_per_frame.png",
    ] {
        assert!(dir.join(file).is_file(), "{file} missing");
    }
    let png = std::fs::read(dir.join("rates.png")).unwrap();
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n") && png.len() > 10_000, "{} bytes", png.len());
    let shown = netlab(&["show".as_ref(), dir.as_os_str()]);
    assert_eq!(
        std::fs::read_to_string(dir.join("table.txt")).unwrap().trim_end(),
        String::from_utf8_lossy(&shown.stdout).trim_end()
    );

    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    let body = html.replace("<!DOCTYPE html>", "");
    let doc = roxmltree::Document::parse(&body)
        .unwrap_or_else(|e| panic!("report.html is not well-formed: {e}"));
    // Self-contained: no script, nothing fetched.
    for node in doc.descendants().filter(|n| n.is_element()) {
        let tag = node.tag_name().name();
        assert!(!matches!(tag, "script" | "link" | "img" | "iframe" | "object"), "<{tag}>");
        for attr in ["src", "href"] {
            assert!(node.attribute(attr).is_none(), "<{tag} {attr}=…>");
        }
    }
    let svgs = doc.descendants().filter(|n| n.tag_name().name() == "svg").count();
    assert_eq!(svgs, 6, "one inline SVG per plot");
    let text: String = doc.descendants().filter_map(|n| n.text()).collect();
    for word in [
        "NDR Mpps",
        "fastnet:3",
        "Invalid points",
        "Searches",
        "1.535 .. 1.826",
        "the generator fell behind",
        "Machine and lab",
        "AMD EPYC",
        "rates = [\"ndr\", \"pdr\", \"max\"]",
    ] {
        assert!(text.contains(word), "report.html lacks {word}");
    }
    let md = std::fs::read_to_string(dir.join("report.md")).unwrap();
    assert!(md.contains("![Mpps per method](rates.png)") && md.contains("```toml"), "{md}");

    // Against a baseline: the comparison section, and its legend names the baseline.
    let (_tmp2, other) = searched_run();
    let out =
        netlab(&["report".as_ref(), dir.as_os_str(), "--baseline".as_ref(), other.as_os_str()]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    assert!(html.contains("Against the baseline"), "no comparison section");
    assert!(html.contains(&*html_escape::encode_text(&other.display().to_string())));
    assert!(std::fs::read_to_string(dir.join("report.md"))
        .unwrap()
        .contains("| fastnet:3 | NDR |"));
}

#[test]
fn compare_says_when_scenarios_differ_and_spread_is_no_regression() {
    let lab = Lab::new();
    let s = scenario(&lab);
    let (_tmp, dir) = searched_run();
    let searched = Results::read(&dir.join("results.json")).unwrap();
    let fixed = fabricate(&s, 0.01, usize::MAX);
    let cmp = report::compare(&searched, &fixed, 0.05);
    assert!(cmp.scenario_note.as_deref().unwrap().contains("different scenarios (ndr and mode3)"));
    // NDR/PDR/MRR compared: the same run against itself passes.
    let same = report::compare(&searched, &searched, 0.05);
    assert_eq!(same.failures().count(), 0);
    assert!(same.rows.iter().any(|r| r.measure == Measure::Target("ndr".into())));
    assert!(same.rows.iter().any(|r| r.measure == Measure::Target("pdr".into())));
    // fastnet:3's MRR spans 1.6..3.2 Mpps: a 10 % lower mean is within that spread.
    let mut lower = searched.clone();
    for p in lower.points.iter_mut().filter(|p| p.label == "fastnet:3") {
        p.achieved_pps *= 0.9;
    }
    let cmp = report::compare(&searched, &lower, 0.05);
    let mrr =
        cmp.rows.iter().find(|r| r.label == "fastnet:3" && r.measure == Measure::Mrr).unwrap();
    assert_eq!(mrr.verdict, Verdict::WithinSpread);
    // pcap's NDR is tight (sd 1 %): 20 % lower is a regression.
    let mut slower = searched.clone();
    for search in slower.searches.iter_mut().filter(|s| s.label == "pcap" && s.target.name == "ndr")
    {
        search.found_pps = search.found_pps.map(|f| f * 0.8);
    }
    let cmp = report::compare(&searched, &slower, 0.05);
    let failing: Vec<_> = cmp.failures().map(|r| (r.label.clone(), r.measure.clone())).collect();
    assert_eq!(failing, [("pcap".to_string(), Measure::Target("ndr".into()))]);
    let text = cmp.table("baseline/results.json", "candidate/results.json");
    assert!(text.contains("A (baseline): baseline/results.json"), "{text}");
    assert!(text.lines().all(|l| l.chars().count() <= 100), "{text}");

    // The command takes directories, and reads their manifests: same scenario name, other
    // scenario file → said; the identical run passes.
    let (_tmp2, other) = searched_run();
    let out = netlab(&["compare".as_ref(), dir.as_os_str(), other.as_os_str()]);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(!stdout.contains("NOTE"), "{stdout}");
    let manifest = other.join("manifest.json");
    let edited = std::fs::read_to_string(&manifest)
        .unwrap()
        .replace(r#""scenario_hash": ""#, r#""scenario_hash": "0"#);
    std::fs::write(&manifest, edited).unwrap();
    let out = netlab(&["compare".as_ref(), dir.as_os_str(), other.as_os_str()]);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        stdout.contains("NOTE: the two results come from different scenario files"),
        "{stdout}"
    );
    assert!(stdout.lines().all(|l| l.chars().count() <= 100), "{stdout}");

    // A results directory without its manifest and scenario copy still gets its report.
    std::fs::remove_file(other.join("manifest.json")).unwrap();
    std::fs::remove_file(other.join("ndr.toml")).unwrap();
    let out = netlab(&["report".as_ref(), other.as_os_str()]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let html = std::fs::read_to_string(other.join("report.html")).unwrap();
    assert!(html.contains("No manifest.json in this results directory"));
    assert!(html.contains("No copy of the scenario in this results directory"));
}

/// Every valid point's frames add up: received + lost at every stage = offered.
fn assert_budgets_add_up(results: &Results) {
    let trials = results.searches.iter().flat_map(|s| &s.trials);
    for p in results.points.iter().chain(trials).filter(|p| p.valid) {
        assert_eq!(
            p.counters.app_rx_frames + p.lost_frames.total(),
            p.offered_frames,
            "{} @ {}: {:?}",
            p.label,
            p.rate,
            p.lost_frames
        );
    }
}

#[test]
fn where_the_frames_were_lost_is_in_show_the_tables_and_the_report() {
    // A results.json written before the loss budget (schema 2): derived from its counters on
    // reading, adding up for every valid point.
    let (_tmp, dir) = searched_run();
    let results = Results::read(&dir.join("results.json")).unwrap();
    assert_eq!(results.schema_version, 2);
    assert_budgets_add_up(&results);
    let pcap_max = results.points.iter().find(|p| p.label == "pcap" && p.valid).unwrap();
    assert_eq!(pcap_max.offered_frames, pcap_max.counters.sent_frames);
    assert_eq!(
        pcap_max.lost_frames.get(Stage::PacketRing),
        pcap_max.counters.drops.socket_frames.unwrap()
    );

    // `netlab show`: the section, a row per method at MRR and at the NDR search's first loss.
    let out = netlab(&["show".as_ref(), dir.as_os_str()]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let section = text.split_once("Where the frames were lost\n").expect(&text).1;
    for method in ["fastnet:3", "pcap", "socket"] {
        let rows: Vec<&str> =
            section.lines().filter(|l| l.starts_with(&format!("│ {method} "))).collect();
        assert_eq!(rows.len(), 2, "{method}: MRR and NDR 1st loss rows:\n{section}");
    }
    for at in ["│ MRR ", "│ NDR 1st loss "] {
        assert_eq!(section.matches(at).count(), 3, "{at}:\n{section}");
    }
    for column in ["interface", "unaccounted", "TPACKET", "AF_XDP", "reached"] {
        assert!(section.contains(column), "{column}:\n{section}");
    }
    // pcap at MRR, 3 repetitions: 82.5 M offered, 71.6 M lost in its ring, 10.9 M received.
    assert!(section.contains("82.50 M") && section.contains("71.60 M"), "{section}");
    assert!(section.contains("86.8 %") && section.contains("13.2 %"), "{section}");
    assert!(text.lines().all(|l| l.chars().count() <= 100), "wider than 100 columns:\n{text}");

    // The report: the section with its stacked bars (SVG and PNG), the terms explained.
    let out = netlab(&["report".as_ref(), dir.as_os_str()]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let table = std::fs::read_to_string(dir.join("table.txt")).unwrap();
    assert!(table.contains("Where the frames were lost"), "{table}");
    let md = std::fs::read_to_string(dir.join("report.md")).unwrap();
    assert!(md.contains("## Where the frames were lost"), "{md}");
    assert!(md.contains("![Where the frames were lost](losses.png)"), "{md}");
    assert!(md.contains("| pcap<br>MRR | 82.50 M<br>5.500 Mpps<br>n=3 |"), "{md}");
    let png = std::fs::read(dir.join("losses.png")).unwrap();
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "losses.png is a PNG");
    let svg = std::fs::read_to_string(dir.join("losses.svg")).unwrap();
    for legend in ["receiving interface", "TPACKET ring", "unaccounted", "reached the app"] {
        assert!(svg.contains(&format!("\n{legend}\n</text>")), "legend lacks {legend}");
    }
    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    let section = html.split_once("<h2>Where the frames were lost</h2>").expect("section").1;
    assert!(section.split("<h2>").next().unwrap().contains("<svg"), "no bars in the section");
    let terms = html.split_once("<h2>Results</h2>").unwrap().0;
    for term in ["maximum receive rate", "no-drop rate", "partial drop rate", "NAPI", "livelock"] {
        assert!(terms.contains(term), "{term} not explained before the tables");
    }
    assert!(terms.contains("rx + kernel"), "{terms}");
}

#[test]
fn compare_shows_loss_moving_from_one_stage_to_another() {
    let lab = Lab::new();
    let s = scenario(&lab);
    let a = fabricate(&s, 0.01, usize::MAX);
    let mut b = a.clone();
    // The socket's losses move from its buffer to the interface; it receives as many frames.
    for p in b.points.iter_mut().filter(|p| p.label == "socket") {
        let d = &mut p.counters.drops;
        d.iface_rx_dropped_frames = d.socket_frames.take();
        d.socket_frames = Some(0);
        (p.offered_frames, p.lost_frames) = netlab::results::budget(p.method, &p.counters);
    }
    assert_budgets_add_up(&b);
    let cmp = report::compare(&a, &b, 0.05);
    assert_eq!(cmp.failures().count(), 0, "the rates did not change");
    let moved = cmp.losses.iter().find(|c| c.label == "socket" && c.at == "MRR").unwrap();
    let share = |stage: Option<Stage>| {
        let (_, a, b) = moved.stages.iter().find(|(s, _, _)| *s == stage).unwrap();
        (a.unwrap(), b.unwrap())
    };
    let (buffer_a, buffer_b) = share(Some(Stage::SocketBuffer));
    let (iface_a, iface_b) = share(Some(Stage::Interface));
    assert!(buffer_a > 90.0 && buffer_b == 0.0, "{moved:?}");
    assert!(iface_a == 0.0 && (iface_b - buffer_a).abs() < 1e-9, "{moved:?}");
    assert_eq!(share(None).0, share(None).1, "as many reached the app");
    // The other methods did not move.
    for c in cmp.losses.iter().filter(|c| c.label != "socket") {
        assert!(c.stages.iter().all(|(_, a, b)| a == b), "{c:?}");
    }
    let text = cmp.table("a", "b");
    assert!(text.contains("where the frames were lost, B against A"), "{text}");
    assert!(text.contains(&format!("-{buffer_a:.1} pp")), "{text}");
    assert!(text.contains(&format!("+{buffer_a:.1} pp")), "{text}");
    assert!(text.lines().all(|l| l.chars().count() <= 100), "{text}");
}
