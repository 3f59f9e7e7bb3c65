//! `netlab run`: a whole scenario end to end — lab up, points measured, results directory
//! complete and consistent, lab down — plus SIGINT half-way, bad inputs and an `exec` receiver.
//!
//! Every test names its lab after itself and the test process (`netlab-rt-…-<pid>`), so runs
//! in parallel never collide, and checks that the namespace is gone afterwards.

use super::util::{json, netlab, results_dir, text};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use fastnet::netns::NetNs;
use fastnet::testing::privileged;

fn packet() -> String {
    format!("{}/packets/udp64.pcap", env!("CARGO_MANIFEST_DIR"))
}

/// A lab name unique to this test and process.
pub(super) fn lab_name(test: &str) -> String {
    format!("rt-{test}-{}", std::process::id())
}

/// A scenario with the shipped packet, `body` appended (generator, receivers, run).
pub(super) fn scenario(dir: &Path, name: &str, body: &str) -> PathBuf {
    let text = format!(
        "name = \"{name}\"\n[topology]\nkind = \"veth\"\n[packet]\nfile = \"{}\"\n{body}",
        packet()
    );
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(&path, text).unwrap();
    path
}

pub(super) fn run(file: &Path, lab: &str, results: &Path) -> Output {
    netlab().args(["run", "--name", lab, "--results"]).arg(results).arg(file).output().unwrap()
}

pub(super) fn assert_lab_gone(lab: &str) {
    let netns = format!("netlab-{lab}");
    assert!(!NetNs::exists(&netns), "{netns} left behind");
    assert!(!Path::new(&format!("/run/netlab/{lab}.json")).exists(), "marker of {lab} left");
}

/// Every point's counts are consistent stage by stage; the frame sent is IPv4/UDP.
fn assert_points_consistent(json: &serde_json::Value) {
    for p in json["points"].as_array().unwrap() {
        let n = |key: &str| p[key].as_u64().unwrap_or_else(|| panic!("{key} in {p}"));
        let (sent, iface, app, ipv4) =
            (n("sent_frames"), n("iface_rx_frames"), n("app_rx_frames"), n("ipv4_frames"));
        assert!(sent > 0, "{p}");
        assert!(app <= iface, "app {app} > iface rx {iface}: {p}");
        assert!(iface <= sent, "iface rx {iface} > sent {sent}: {p}");
        assert_eq!(ipv4, app, "every frame received is the IPv4 frame sent: {p}");
        // Both ends' netlink drop counters are read for every point.
        for key in ["generator_tx_dropped_frames", "iface_rx_dropped_frames"] {
            assert!(p["drops"][key].is_u64(), "drops.{key} in {p}");
        }
        if p["valid"] == false {
            assert!(p["invalid_reason"].is_string(), "{p}");
        }
    }
}

#[test]
fn run_writes_complete_consistent_results_and_removes_the_lab() {
    let Some(_ns) = privileged("run_writes_complete_consistent_results_and_removes_the_lab") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let lab = lab_name("tiny");
    let file = scenario(
        dir.path(),
        "tiny",
        "[generator]\nrates = [\"20kpps\"]\nburst = 256\nduration = \"1s\"\nwarmup = \"200ms\"\n\
         [[receiver]]\nmethod = \"pcap\"\n[[receiver]]\nmethod = \"fastnet:2\"\n\
         [run]\nrepeat = 1\ndrain = \"100ms\"\nseed = 3\nretries = 0\n",
    );
    let results = dir.path().join("results");
    let out = run(&file, &lab, &results);
    assert_eq!(out.status.code(), Some(0), "{}{}", text(&out.stdout), text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("pcap") && stdout.contains("fastnet:2"), "table: {stdout}");
    assert_lab_gone(&lab);

    let rdir = results_dir(&results);
    for file in [
        "results.json",
        "results.csv",
        "manifest.json",
        "tiny.toml",
        "received.svg",
        "received.png",
        "loss.svg",
        "table.txt",
        "table.md",
        "report.html",
        "report.md",
    ] {
        assert!(rdir.join(file).is_file(), "{file} missing in {}", rdir.display());
    }
    let json = json(&rdir.join("results.json"));
    assert_eq!(json["partial"], false);
    // A real run's results match the documented schema; the table it printed is table.txt,
    // and `netlab show` prints it again.
    crate::report::assert_valid_results(&json, "a real run's results.json");
    let saved = std::fs::read_to_string(rdir.join("table.txt")).unwrap();
    assert!(stdout.contains(saved.trim_end()), "table.txt:\n{saved}\nstdout:\n{stdout}");
    let shown = crate::util::netlab().arg("show").arg(&rdir).output().unwrap();
    assert_eq!(text(&shown.stdout).trim_end(), saved.trim_end());
    for p in json["points"].as_array().unwrap() {
        let (rx, napi) = (p["rx_ns_per_frame"].as_f64().unwrap(), p["napi_ns_per_frame"].as_f64());
        match napi {
            Some(napi) => {
                let total = p["ns_per_frame"].as_f64().unwrap();
                assert!((total - rx - napi).abs() < 1e-6, "{p}");
            }
            None => assert!(p["ns_per_frame"].is_null(), "{p}"),
        }
    }
    let points = json["points"].as_array().unwrap();
    assert_eq!(points.len(), 2);
    let mut labels: Vec<&str> = points.iter().map(|p| p["label"].as_str().unwrap()).collect();
    labels.sort_unstable();
    assert_eq!(labels, ["fastnet:2", "pcap"]);
    assert_points_consistent(&json);
    // One CSV row per point under a header.
    let csv = std::fs::read_to_string(rdir.join("results.csv")).unwrap();
    assert_eq!(csv.lines().count(), 3, "{csv}");
    let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    assert!(header.contains(&"drops_generator_tx_dropped_frames"), "{csv}");
    // Rows name their run (the directory's name) and scenario, in scenario order.
    let run_id = rdir.file_name().unwrap().to_str().unwrap();
    let rows: Vec<&str> = csv.lines().skip(1).collect();
    assert!(rows[0].starts_with(&format!("{run_id},tiny,,,pcap,")), "{csv}");
    assert!(rows[1].starts_with(&format!("{run_id},tiny,,,fastnet:2,")), "{csv}");
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(rdir.join("manifest.json")).unwrap())
            .unwrap();
    assert_eq!(manifest["seed"], 3);
    assert_eq!(manifest["lab"]["lab"]["name"], lab.as_str());
    assert!(manifest["engine"].is_string());
    // The MACs were rewritten for the lab: source gen0's, destination rx0's.
    let interfaces = manifest["lab"]["lab"]["interfaces"].as_array().unwrap();
    let mac_of = |role: &str| {
        interfaces.iter().find(|i| i["role"] == role).unwrap()["mac"].as_str().unwrap().to_string()
    };
    assert_eq!(manifest["lab"]["packet"]["src_mac"], mac_of("generator").as_str());
    assert_eq!(manifest["lab"]["packet"]["dst_mac"], mac_of("receiver").as_str());
    let copy = std::fs::read_to_string(rdir.join("tiny.toml")).unwrap();
    assert_eq!(copy, std::fs::read_to_string(&file).unwrap());
}

#[test]
fn sigint_half_way_writes_partial_results_and_exits_130() {
    let Some(_ns) = privileged("sigint_half_way_writes_partial_results_and_exits_130") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let lab = lab_name("sigint");
    let file = scenario(
        dir.path(),
        "sigint",
        "[generator]\nrates = [\"20kpps\"]\nburst = 256\nduration = \"1s\"\nwarmup = \"0s\"\n\
         [[receiver]]\nmethod = \"fastnet:1\"\n[run]\nrepeat = 20\ndrain = \"100ms\"\n",
    );
    let results = dir.path().join("results");
    let mut child = netlab()
        .args(["run", "--name", &lab, "--results"])
        .arg(&results)
        .arg(&file)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait for the first point to be written, then interrupt.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        assert!(Instant::now() < deadline, "no point written in 30 s");
        assert!(child.try_wait().unwrap().is_none(), "netlab run ended early");
        let done = std::fs::read_dir(&results)
            .ok()
            .and_then(|mut d| d.next())
            .map(|e| e.unwrap().path().join("results.json"))
            .and_then(|p| std::fs::read_to_string(p).ok())
            .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
            .is_some_and(|j| !j["points"].as_array().unwrap().is_empty());
        if done {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(NetNs::exists(&format!("netlab-{lab}")), "the lab is up while running");
    rustix::process::kill_process(
        rustix::process::Pid::from_raw(child.id() as i32).unwrap(),
        rustix::process::Signal::INT,
    )
    .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{}{}", text(&out.stdout), text(&out.stderr));
    assert!(text(&out.stderr).contains("interrupted by SIGINT"), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("PARTIAL"), "{}", text(&out.stdout));
    assert_lab_gone(&lab);
    let json = json(&results_dir(&results).join("results.json"));
    assert_eq!(json["partial"], true);
    let measured = json["points"].as_array().unwrap().len();
    assert!((1..20).contains(&measured), "{measured} points");
    assert!(json["finished"].is_string());
    assert_points_consistent(&json);
}

#[test]
fn exec_receiver_reports_result_lines() {
    let Some(_ns) = privileged("exec_receiver_reports_result_lines") else { return };
    let dir = tempfile::tempdir().unwrap();
    // A student's receiver in shell: counts what its interface received (/proc/net/dev is the
    // namespace's own), and reports it on SIGINT.
    let script = dir.path().join("rx.sh");
    std::fs::write(
        &script,
        "#!/bin/sh\n\
         rx() { sed -n \"s/^ *$1: *//p\" /proc/net/dev | awk '{print $2}'; }\n\
         start=$(rx \"$1\")\n\
         trap 'n=$(( $(rx \"$1\") - start )); echo \"RESULT-RX $n\"; echo \"RESULT-IP $n\"; exit 0' INT\n\
         echo READY\n\
         while :; do sleep 0.05; done\n",
    )
    .unwrap();
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let lab = lab_name("exec");
    let file = scenario(
        dir.path(),
        "exec",
        "[generator]\nrates = [\"10kpps\"]\nburst = 256\nduration = \"1s\"\nwarmup = \"0s\"\n\
         [[receiver]]\nmethod = \"exec\"\nname = \"student\"\ncommand = \"./rx.sh {iface}\"\n",
    );
    let results = dir.path().join("results");
    // Run from elsewhere: `./rx.sh` is found beside the scenario.
    let out = netlab()
        .current_dir("/")
        .args(["run", "--name", &lab, "--results"])
        .arg(&results)
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}{}", text(&out.stdout), text(&out.stderr));
    assert_lab_gone(&lab);
    let json = json(&results_dir(&results).join("results.json"));
    let p = &json["points"][0];
    assert_eq!(p["label"], "student");
    assert_eq!(p["method"], "exec");
    // The program's session spans the window: it saw exactly what the interface counted.
    assert_eq!(p["app_rx_frames"], p["iface_rx_frames"], "{p}");
    assert!(p["app_rx_frames"].as_u64().unwrap() > 0, "{p}");
    assert_points_consistent(&json);
}

/// Runs `netlab run` on a bad scenario: exit 2, one line naming file:line:column, nothing built.
fn bad_scenario(dir: &Path, name: &str, scenario_text: &str) -> String {
    let file = dir.join(format!("{name}.toml"));
    std::fs::write(&file, scenario_text).unwrap();
    let lab = lab_name(name);
    let results = dir.join(format!("results-{name}"));
    let out = run(&file, &lab, &results);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{name}: {err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{name}: one line expected: {err}");
    assert!(
        err.contains(&format!("{}:", file.display())),
        "{name}: the error names the file: {err}"
    );
    let location = err.split(&format!("{}:", file.display())).nth(1).unwrap_or_default();
    let mut parts = location.splitn(3, ':');
    let (line, column) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    assert!(
        line.parse::<usize>().is_ok() && column.parse::<usize>().is_ok(),
        "{name}: line:column expected: {err}"
    );
    assert!(!results.exists(), "{name}: results written for a bad scenario");
    assert_lab_gone(&lab);
    err
}

#[test]
fn bad_scenarios_are_one_located_line_and_build_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let head = |rates: &str| {
        format!(
            "name = \"bad\"\n[topology]\nkind = \"veth\"\n[packet]\nfile = \"{}\"\n\
             [generator]\nrates = {rates}\nduration = \"1s\"\n",
            packet()
        )
    };
    let socket = "[[receiver]]\nmethod = \"socket\"\n";
    let cases: Vec<(&str, String, &str)> = vec![
        ("malformed", format!("{}[[receiver]\n", head("[\"1Mpps\"]")), ""),
        ("unknown-key", format!("{}{socket}bufer = \"1MiB\"\n", head("[\"1Mpps\"]")), "buffer"),
        ("wrong-type", format!("{}{socket}", head("[1000]")), ""),
        ("spaced-unit", format!("{}{socket}", head("[\"10 Mpps\"]")), "10Mpps"),
        ("milli-unit", format!("{}{socket}", head("[\"10mpps\"]")), "10mpps"),
        ("empty-rates", format!("{}{socket}", head("[]")), "no rates"),
        ("duplicate-method", format!("{}{socket}{socket}", head("[\"1Mpps\"]")), "twice"),
        (
            "exec-missing",
            format!(
                "{}[[receiver]]\nmethod = \"exec\"\nname = \"s\"\ncommand = \"./nope {{iface}}\"\n",
                head("[\"1Mpps\"]")
            ),
            "not found",
        ),
        (
            "knob-for-other-method",
            format!(
                "{}[[receiver]]\nmethod = \"xdp-drop\"\nbuffer = \"1MiB\"\n",
                head("[\"max\"]")
            ),
            "xdp-drop",
        ),
        (
            "packet-missing",
            format!("{}{socket}", head("[\"1Mpps\"]")).replace("udp64.pcap", "nope.pcap"),
            "not found",
        ),
    ];
    for (name, text, expect) in cases {
        let err = bad_scenario(dir.path(), name, &text);
        assert!(err.contains(expect), "{name}: `{expect}` expected in: {err}");
    }
}

/// Regression: one failing exec receiver aborted the whole run after its first point. Now each
/// bad receiver's point is invalid with its reason, the good method's points are measured, and
/// the run exits 5.
#[test]
fn failing_exec_receivers_invalidate_their_own_points_and_the_run_goes_on() {
    let Some(_ns) = privileged("failing_exec_receivers_invalidate_their_own_points") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let receivers = [
        ("lots", "sh -c 'echo READY; trap \\\"echo RESULT-RX lots; echo RESULT-IP 0; exit 0\\\" INT; while :; do sleep 0.05; done'", "printed `RESULT-RX lots`: not a number"),
        ("silent", "sh -c 'echo READY; trap \\\"exit 0\\\" INT; while :; do sleep 0.05; done'", "printed no RESULT-RX line"),
        ("mute", "sleep 30", "never printed READY within 5 s"),
        ("early", "sh -c 'echo READY; exit 3'", "exited before it was stopped (exit status 3)"),
    ];
    let mut body =
        "[generator]\nrates = [\"10kpps\", \"20kpps\"]\nburst = 256\nduration = \"1s\"\nwarmup = \"0s\"\n\
                    [[receiver]]\nmethod = \"pcap\"\n"
            .to_string();
    for (name, command, _) in &receivers {
        body.push_str(&format!(
            "[[receiver]]\nmethod = \"exec\"\nname = \"{name}\"\ncommand = \"{command}\"\n"
        ));
    }
    body.push_str("[run]\nrepeat = 1\ndrain = \"100ms\"\norder = \"sequential\"\nretries = 0\n");
    let file = scenario(dir.path(), "exec-bad", &body);
    let lab = lab_name("exec-bad");
    let results = dir.path().join("results");
    let out = run(&file, &lab, &results);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(5), "{stdout}{stderr}");
    assert!(
        stderr.contains("netlab: receiver `lots`, `silent`, `mute`, `early` failed"),
        "{stderr}"
    );
    assert_lab_gone(&lab);
    let json = json(&results_dir(&results).join("results.json"));
    assert_eq!(json["partial"], false);
    let points = json["points"].as_array().unwrap();
    assert_eq!(points.len(), 10, "{json}");
    for p in points {
        let label = p["label"].as_str().unwrap();
        if label == "pcap" {
            // Measured (a busy machine may still make the generator fall short: judged apart).
            assert!(p["app_rx_frames"].as_u64().unwrap() > 0, "{p}");
            assert!(!p["invalid_reason"].as_str().unwrap_or("").contains("receiver"), "{p}");
            continue;
        }
        let (_, _, reason) = receivers.iter().find(|(name, _, _)| *name == label).unwrap();
        assert_eq!(p["valid"], false, "{p}");
        let why = p["invalid_reason"].as_str().unwrap();
        assert!(why.starts_with("receiver failed: ") && why.contains(reason), "{label}: {why}");
    }
}

#[test]
fn without_root_check_passes_and_run_says_privileges_before_building() {
    // Runs as `nobody` through setpriv; needs root to switch user, like every privileged test.
    let Some(_ns) = privileged("without_root_check_passes_and_run_says_privileges") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .unwrap();
    let file = scenario(
        dir.path(),
        "noroot",
        "[generator]\nrates = [\"1Mpps\"]\nduration = \"1s\"\n[[receiver]]\nmethod = \"pcap\"\n",
    );
    let as_nobody = |args: &[&str]| {
        Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
            .arg(env!("CARGO_BIN_EXE_netlab"))
            .args(args)
            .arg(&file)
            .current_dir(dir.path())
            .output()
            .unwrap()
    };
    let check = as_nobody(&["check"]);
    assert_eq!(check.status.code(), Some(0), "{}", text(&check.stderr));
    let lab = lab_name("noroot");
    let out = as_nobody(&["run", "--name", &lab, "--results", "/nonexistent-netlab-results"]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(err.contains("sudo"), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert_lab_gone(&lab);
}

/// Regression: an exec receiver outlived a SIGKILL of `netlab run`, holding the lab's
/// namespace. It must be gone within a second, and `topo down` then removes the lab.
#[test]
fn sigkill_of_run_leaves_no_exec_receiver() {
    let Some(_ns) = privileged("sigkill_of_run_leaves_no_exec_receiver") else { return };
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("rx.pid");
    let lab = lab_name("kill-exec");
    let file = scenario(
        dir.path(),
        "kill-exec",
        &format!(
            "[generator]\nrates = [\"1kpps\"]\nduration = \"60s\"\nwarmup = \"0s\"\n\
             [[receiver]]\nmethod = \"exec\"\nname = \"long\"\ncommand = \"{}\"\n",
            crate::recv::long_receiver(&pid_file).replace('\\', "\\\\").replace('"', "\\\"")
        ),
    );
    let mut child = netlab()
        .args(["run", "-q", "--name", &lab, "--results"])
        .arg(dir.path().join("results"))
        .arg(&file)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let receiver = crate::recv::wait_for_pid(&pid_file);
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let killed = Instant::now();
    while !crate::recv::process_gone(receiver) {
        assert!(killed.elapsed() < Duration::from_secs(1), "receiver {receiver} outlived netlab");
        std::thread::sleep(Duration::from_millis(10));
    }
    let out = netlab().args(["topo", "down", &lab]).output().unwrap();
    assert!(out.status.success(), "{}{}", text(&out.stdout), text(&out.stderr));
    assert!(text(&out.stdout).contains("removed lab"), "{}", text(&out.stdout));
    assert!(!text(&out.stdout).contains("held by"), "{}", text(&out.stdout));
    assert_lab_gone(&lab);
}

/// The example receivers shipped in `examples/receivers/` (C and Python) keep the exec
/// contract: built and run for real next to pcap, they count what reached the interface.
#[test]
fn example_receivers_in_c_and_python_measure_their_points() {
    let Some(_ns) = privileged("example_receivers_in_c_and_python") else { return };
    let dir = tempfile::tempdir().unwrap();
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/receivers");
    let c_rx = dir.path().join("rx");
    let cc = Command::new("cc")
        .args(["-O2", "-Wall", "-Wextra", "-Werror", "-o"])
        .arg(&c_rx)
        .arg(examples.join("rx.c"))
        .output()
        .unwrap();
    assert!(cc.status.success(), "cc: {}", text(&cc.stderr));
    let body = format!(
        "[generator]\nrates = [\"5kpps\"]\nburst = 256\nduration = \"1s\"\nwarmup = \"0s\"\n\
         [[receiver]]\nmethod = \"pcap\"\n\
         [[receiver]]\nmethod = \"exec\"\nname = \"c\"\ncommand = \"{} {{iface}}\"\n\
         [[receiver]]\nmethod = \"exec\"\nname = \"python\"\ncommand = \"{} {{iface}}\"\n\
         [run]\nrepeat = 1\ndrain = \"200ms\"\n",
        c_rx.display(),
        examples.join("rx.py").display()
    );
    let file = scenario(dir.path(), "examples", &body);
    let lab = lab_name("examples");
    let results = dir.path().join("results");
    let out = run(&file, &lab, &results);
    assert_eq!(out.status.code(), Some(0), "{}{}", text(&out.stdout), text(&out.stderr));
    assert_lab_gone(&lab);
    let json = json(&results_dir(&results).join("results.json"));
    for label in ["c", "python"] {
        let p = json["points"].as_array().unwrap().iter().find(|p| p["label"] == label).unwrap();
        let (app, iface) =
            (p["app_rx_frames"].as_u64().unwrap(), p["iface_rx_frames"].as_u64().unwrap());
        // Counted by the program, checked against the interface's own counter.
        assert!(app > 0 && app <= iface && app * 10 >= iface * 9, "{label}: {p}");
        assert_eq!(p["ipv4_frames"], p["app_rx_frames"], "{label}: {p}");
    }
    assert_points_consistent(&json);
}

/// Regression: a rate no engine can keep planned `rate × duration` frames and the point ran on
/// far past its duration. Rates above the limit are refused when the scenario is read; a rate
/// below it that the engine cannot keep is stopped at duration + grace, and the point says the
/// generator fell short.
#[test]
fn a_point_never_outlives_its_duration_by_more_than_the_grace() {
    let dir = tempfile::tempdir().unwrap();
    let file = scenario(
        dir.path(),
        "absurd",
        "[generator]\nrates = [\"1000000000000000pps\"]\nduration = \"1s\"\n\
         [[receiver]]\nmethod = \"pcap\"\n",
    );
    let out = netlab().arg("check").arg(&file).output().unwrap();
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("absurd.toml:7:10: generator.rates[0]"), "{err}");
    assert!(err.contains("above 100Mpps"), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");

    let Some(_ns) = privileged("a_point_never_outlives_its_duration") else { return };
    let file = scenario(
        dir.path(),
        "too-fast",
        "[generator]\nrates = [\"100Mpps\"]\nduration = \"1s\"\nwarmup = \"0s\"\n\
         [[receiver]]\nmethod = \"xdp-drop\"\n[run]\nrepeat = 1\ndrain = \"100ms\"\n\
         retries = 1\n",
    );
    let lab = lab_name("too-fast");
    let results = dir.path().join("results");
    let out = run(&file, &lab, &results);
    // Its only point stays invalid: the run measured nothing, and says so (exit 1).
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{}{stderr}", text(&out.stdout));
    assert!(stderr.contains("no point or search of the run is valid (the generator"), "{stderr}");
    assert_lab_gone(&lab);
    let json = json(&results_dir(&results).join("results.json"));
    let p = &json["points"][0];
    let secs = p["duration_s"].as_f64().unwrap();
    let grace = netlab::runner::measure::send_grace(Duration::from_secs(1)).as_secs_f64();
    // Stopped by the runner within a tick of duration + grace (100 Mpps would take far longer).
    assert!(secs <= 1.0 + grace + 0.5, "the generator sent for {secs} s: {p}");
    assert!(p["sent_frames"].as_u64().unwrap() < 100_000_000, "{p}");
    assert_eq!(p["valid"], false, "{p}");
    assert!(p["invalid_reason"].as_str().unwrap().contains("below 98 %"), "{p}");
    // Invalid, it was measured once more at the end (`retries = 1`), and is listed as still
    // invalid with what to do.
    let points = json["points"].as_array().unwrap();
    assert_eq!(points.len(), 2, "{json}");
    assert_eq!((points[0]["attempt"].as_u64(), points[1]["attempt"].as_u64()), (Some(1), Some(2)));
    assert_eq!(points[1]["valid"], false, "{}", points[1]);
    let stdout = text(&out.stdout);
    assert!(stdout.contains("invalid (not averaged in):"), "{stdout}");
    assert!(
        stdout.contains("xdp-drop @ 100Mpps #1 (after 2 attempts): the generator fell behind"),
        "{stdout}"
    );
    assert!(stdout.contains("lower the rate"), "{stdout}");
    let csv = std::fs::read_to_string(results_dir(&results).join("results.csv")).unwrap();
    let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    let column = header.iter().position(|h| *h == "attempt").expect("an attempt column");
    let attempts: Vec<&str> =
        csv.lines().skip(1).map(|l| l.split(',').nth(column).unwrap()).collect();
    assert_eq!(attempts, ["1", "2"]);
}

/// A real search in a throwaway lab: NDR and PDR of pcap and of the socket over a small
/// range, each found in its bracket and confirmed by a full-length final trial within its
/// target, the two searches taking turns trial by trial.
#[test]
fn a_search_finds_ndr_and_pdr_in_their_bracket_confirmed_by_a_final_trial() {
    let Some(_ns) = privileged("a_search_finds_ndr_and_pdr") else { return };
    let dir = tempfile::tempdir().unwrap();
    let file = scenario(
        dir.path(),
        "search",
        "[generator]\nrates = [\"ndr\", \"pdr\"]\nduration = \"1s\"\nwarmup = \"100ms\"\n\
         [[receiver]]\nmethod = \"pcap\"\n[[receiver]]\nmethod = \"socket\"\nbuffer = \"2MiB\"\n\
         [search]\nshort_trial = \"200ms\"\nfinal_trial = \"500ms\"\nlower = \"10kpps\"\n\
         upper = \"40kpps\"\nprecision = \"10%\"\n\
         [run]\nrepeat = 1\ndrain = \"100ms\"\nretries = 3\n",
    );
    let lab = lab_name("search");
    let results = dir.path().join("results");
    let out = run(&file, &lab, &results);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    assert_lab_gone(&lab);
    assert!(stderr.contains("pcap #1 search: final trial @ "), "{stderr}");
    // The searches take turns: the trials' lines alternate while both go on.
    let trials: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains(" #1 search: ") && l.contains(" trial @ "))
        .map(|l| l.split(" #1 search: ").next().unwrap().trim())
        .collect();
    assert_eq!(&trials[..4], ["pcap", "socket", "pcap", "socket"], "{stderr}");
    assert!(stderr.contains("pcap #1 search: top-speed trial @ max"), "{stderr}");
    assert!(stdout.contains("NDR Mpps"), "{stdout}");
    let json = json(&results_dir(&results).join("results.json"));
    assert_eq!(json["partial"], false);
    assert_eq!(json["planned_searches"], 4);
    assert!(json["points"].as_array().unwrap().is_empty(), "no fixed rates asked");
    let searches = json["searches"].as_array().unwrap();
    let names: Vec<(&str, &str)> = searches
        .iter()
        .map(|s| (s["label"].as_str().unwrap(), s["target"]["name"].as_str().unwrap()))
        .collect();
    assert_eq!(names, [("pcap", "ndr"), ("pcap", "pdr"), ("socket", "ndr"), ("socket", "pdr")]);
    for s in searches {
        let trials = s["trials"].as_array().unwrap();
        assert_eq!(trials[0]["rate"], "max", "the search starts at top speed");
        for t in trials {
            assert!(t["attempt"].as_u64().unwrap() >= 1, "{t}");
        }
        if s["valid"] == false {
            // A machine busy enough (the rest of the suite flooding its own labs) that the
            // generator cannot hold even these rates: the search says so, and names no rate as
            // more than a lower bound.
            let why = s["invalid_reason"].as_str().unwrap();
            assert!(why.contains("fell behind") || why.contains("not steady"), "{s}");
            assert!(
                stdout.contains("invalid (not averaged in):")
                    && stdout.contains(&format!(
                        "{} {} search #1:",
                        s["label"].as_str().unwrap(),
                        s["target"]["name"].as_str().unwrap().to_uppercase()
                    )),
                "{stdout}"
            );
            continue;
        }
        let found = s["found_pps"].as_f64().unwrap_or_else(|| panic!("a rate found: {s}"));
        let lower = s["lower_pps"].as_f64().unwrap();
        assert_eq!(found, lower, "{s}");
        assert!((10_000.0..=40_000.0).contains(&found), "within the range: {s}");
        if let Some(upper) = s["upper_pps"].as_f64() {
            assert!(found < upper && upper <= found * 1.1 + 1.0, "bracket within 10 %: {s}");
        }
        let last = &trials[s["final_trial"].as_u64().unwrap() as usize];
        // The rate the final trial measured: the one asked, or what a generator that fell
        // behind it (a busy machine) did offer.
        let (asked, offered) =
            (last["asked_pps"].as_f64().unwrap(), last["offered_pps"].as_f64().unwrap());
        let measured = if offered < 0.98 * asked { offered.floor() } else { asked };
        assert_eq!(found, measured, "{last}");
        assert_eq!(last["valid"], true, "{last}");
        // Full length: the final trial's 500 ms, not the short trials' 200 ms — longer when a
        // busy machine made the generator fall behind, but never past the runner's grace.
        let secs = last["duration_s"].as_f64().unwrap();
        let grace = netlab::runner::measure::send_grace(Duration::from_millis(500)).as_secs_f64();
        assert!(
            (0.45..=0.5 + grace + 0.2).contains(&secs),
            "the final trial is full length: {last}"
        );
        let loss = last["loss_pct"].as_f64().unwrap();
        assert!(loss <= s["target"]["loss_pct"].as_f64().unwrap(), "{last}");
    }
    for s in [&searches[0], &searches[2]] {
        assert_points_consistent(&serde_json::json!({ "points": s["trials"] }));
    }
}

/// On a kernel without live frames (forced here, so it runs on every kernel), a lab that
/// prefers the xdp engine (`engine = ["xdp", "ring"]`, as the mode labs do) sends with the ring,
/// and `check`, the progress, the manifest and the summary line say so and why; a lab that
/// names xdp alone is refused before anything is built (exit 4, at `generator.engine`).
#[test]
fn without_live_frames_an_order_of_engines_takes_the_ring_and_xdp_alone_is_refused() {
    let Some(_ns) = privileged("without_live_frames_an_order_of_engines") else { return };
    let dir = tempfile::tempdir().unwrap();
    let without = (fastnet::caps::WITHOUT_VAR, "live-frames");
    let body = |engine: &str| {
        format!(
            "[generator]\nengine = {engine}\nrates = [\"5kpps\", \"max\"]\nburst = 256\nduration = \"1s\"\n\
             warmup = \"0s\"\n[[receiver]]\nmethod = \"pcap\"\n[run]\nrepeat = 1\n\
             drain = \"100ms\"\n"
        )
    };
    let file = scenario(dir.path(), "order", &body("[\"xdp\", \"ring\"]"));
    let check = netlab().env(without.0, without.1).arg("check").arg(&file).output().unwrap();
    let out = text(&check.stdout);
    assert_eq!(check.status.code(), Some(0), "{out}{}", text(&check.stderr));
    for rate in ["5kpps", "max"] {
        let line = out.lines().find(|l| l.contains(&format!("engine     {rate}: "))).unwrap();
        assert!(line.contains(": ring — the first of xdp, ring that works; not xdp: "), "{line}");
        assert!(line.contains("FASTNET_WITHOUT lists `live-frames`"), "{line}");
    }

    let results = dir.path().join("results");
    let run = |file: &Path, lab: &str| {
        netlab()
            .env(without.0, without.1)
            .args(["run", "--name", lab, "--results"])
            .arg(&results)
            .arg(file)
            .output()
            .unwrap()
    };
    let lab = lab_name("order");
    let out = run(&file, &lab);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    assert_lab_gone(&lab);
    assert!(
        stdout.contains("engine ring (the first of xdp, ring that works on `gen0`; not xdp:"),
        "{stdout}"
    );
    let dir_ = results_dir(&results);
    let manifest = json(&dir_.join("manifest.json"));
    assert!(manifest["engine"].as_str().unwrap().starts_with("ring (the first of"), "{manifest}");
    let results_json = json(&dir_.join("results.json"));
    for p in results_json["points"].as_array().unwrap() {
        assert_eq!(p["engine"], "ring", "{p}");
        assert_eq!(p["valid"], true, "{p}");
    }

    let alone = scenario(dir.path(), "alone", &body("\"xdp\""));
    let lab = lab_name("alone");
    let out = run(&alone, &lab);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(4), "{stderr}");
    assert!(
        stderr.contains("alone.toml:7:10: generator.engine: the xdp engine cannot"),
        "{stderr}"
    );
    assert!(!NetNs::exists(&format!("netlab-{lab}")), "nothing built");
}

/// A results directory that cannot be written is refused before the lab is built.
#[test]
fn an_unwritable_results_directory_is_refused_before_building() {
    let Some(_ns) = privileged("an_unwritable_results_directory") else { return };
    let dir = tempfile::tempdir().unwrap();
    let file = scenario(
        dir.path(),
        "nowrite",
        "[generator]\nrates = [\"1kpps\"]\nduration = \"1s\"\n[[receiver]]\nmethod = \"pcap\"\n",
    );
    let lab = lab_name("nowrite");
    let out = run(&file, &lab, Path::new("/proc/x"));
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("results directory /proc/x: cannot write there"), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(!err.contains("lab `"), "{err}");
    assert_lab_gone(&lab);
}

/// The class's lesson, frame by frame (mode3's methods at a paced rate and flooded): every
/// valid point's frames offered add up to those received plus those lost at each stage,
/// exactly, the interface's stage agrees with the interface's own netlink counters, and the
/// table and `netlab show` say where each method lost them.
#[test]
fn every_frame_offered_is_received_or_lost_at_a_named_stage() {
    let Some(_ns) = privileged("every_frame_offered_is_received_or_lost") else { return };
    let dir = tempfile::tempdir().unwrap();
    let lab = lab_name("lost");
    // The ring engine: this kernel may refuse the xdp engine's live frames.
    let file = scenario(
        dir.path(),
        "lost",
        "[generator]\nengine = \"ring\"\nrates = [\"100kpps\", \"max\"]\nduration = \"1s\"\n\
         warmup = \"200ms\"\n\
         [[receiver]]\nmethod = \"fastnet:3\"\nbuffer = \"32MiB\"\nmax_delay = \"0s\"\n\
         [[receiver]]\nmethod = \"pcap\"\n\
         [[receiver]]\nmethod = \"socket\"\nbuffer = \"8MiB\"\n\
         [run]\nrepeat = 1\ndrain = \"500ms\"\nretries = 0\n",
    );
    // A drain long enough for a busy machine's receive core: frames still in flight when the
    // counters are read would be `unaccounted`.
    let results = dir.path().join("results");
    let out = run(&file, &lab, &results);
    assert_eq!(out.status.code(), Some(0), "{}{}", text(&out.stdout), text(&out.stderr));
    assert_lab_gone(&lab);
    let rdir = results_dir(&results);
    let json = json(&rdir.join("results.json"));
    crate::report::assert_valid_results(&json, "a run's results.json");
    let points = json["points"].as_array().unwrap();
    assert_eq!(points.len(), 6);
    let kernel_stage = |method: &str| match method {
        "fastnet:3" => "xsk_rings",
        "pcap" => "packet_ring",
        _ => "socket_buffer",
    };
    let mut valid = 0;
    for p in points {
        let n = |key: &str| p[key].as_u64().unwrap_or_else(|| panic!("{key} in {p}"));
        let lost = p["lost_frames"].as_object().unwrap_or_else(|| panic!("lost_frames: {p}"));
        let stage = |key: &str| lost.get(key).and_then(|v| v.as_u64());
        // Every stage a count (never negative); at least the sender's queue, the interface, the
        // method's kernel buffer and `unaccounted` named.
        assert!(lost.values().all(serde_json::Value::is_u64), "{p}");
        for key in ["sender_queue", "interface", kernel_stage(p["method"].as_str().unwrap())] {
            assert!(stage(key).is_some(), "{key} in {p}");
        }
        assert!(lost.len() >= 4, "{p}");
        // Offered: sent + what the sender's queue refused.
        let sender_queue = p["drops"]["sender_queue_frames"].as_u64().unwrap();
        assert_eq!(n("offered_frames"), n("sent_frames") + sender_queue, "{p}");
        assert_eq!(stage("sender_queue"), Some(sender_queue), "{p}");
        if p["valid"] == false {
            continue;
        }
        valid += 1;
        let offered = n("offered_frames");
        let sum: u64 = lost.values().map(|v| v.as_u64().unwrap()).sum();
        assert_eq!(n("app_rx_frames") + sum, offered, "received + lost = offered: {p}");
        let unaccounted = stage("unaccounted").unwrap();
        assert!(unaccounted as f64 <= 0.001 * offered as f64, "unaccounted > 0.1 %: {p}");
        // The interface's stage against its netlink counters: every frame sent was counted by
        // the receiving interface as received or dropped, and what it dropped is at most its
        // rx_dropped.
        let nic = stage("nic").unwrap_or(0);
        assert_eq!(
            n("iface_rx_frames") + stage("interface").unwrap() + nic,
            n("sent_frames"),
            "{p}"
        );
        assert!(stage("interface") <= p["drops"]["iface_rx_dropped_frames"].as_u64(), "{p}");
    }
    // `max` has nothing to fall short of: at least the three flooded points count.
    assert!(valid >= 3, "{json}");

    // The section, a row per method, in table.txt and `netlab show` alike.
    let table = std::fs::read_to_string(rdir.join("table.txt")).unwrap();
    let section = table.split_once("Where the frames were lost\n").expect(&table).1;
    for method in ["fastnet:3", "pcap", "socket"] {
        assert!(section.contains(&format!("│ {method} ")), "{method}:\n{section}");
    }
    let shown = crate::util::netlab().arg("show").arg(&rdir).output().unwrap();
    assert!(text(&shown.stdout).contains(section.trim_end()), "{}", text(&shown.stdout));
    assert!(rdir.join("losses.svg").is_file() && rdir.join("losses.png").is_file());
}
