//! XDP attach and AF_XDP bind modes, end to end through `netlab recv`: native XDP on a veth,
//! generic where the device has no native XDP (a macvlan), a mode required or turned off
//! (`FASTNET_WITHOUT`), and the mode named in recv's JSON.
//!
//! Each test runs in a throwaway namespace with a veth pair `tx0` ↔ `rx0` and, where it needs
//! one, a macvlan `mv0` on `rx0`; frames come from `netlab replay --engine ring` on `tx0`.

use std::io::BufRead as _;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use fastnet::testing::{privileged, sh};

use super::util::{netlab, text, udp64};

/// The macvlan's MAC: frames for `mv0` are sent to it.
const MV0_MAC: &str = "02:00:00:00:00:99";

/// Frames each receiver must count, sent at [`PPS`].
const FRAMES: u64 = 100_000;
const PPS: u64 = 100_000;

/// veth `tx0` ↔ `rx0`, up, IPv6 off; with `macvlan`, `mv0` on `rx0` too.
fn lab(macvlan: bool) {
    sh("sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1");
    sh("ip link add tx0 type veth peer name rx0 && ip link set tx0 up && ip link set rx0 up");
    if macvlan {
        sh(&format!(
            "ip link add mv0 link rx0 address {MV0_MAC} type macvlan && ip link set mv0 up"
        ));
    }
}

/// A running `netlab recv`, and the rest of its stderr (read on, so that its progress lines
/// never meet a closed pipe).
struct Recv {
    child: Child,
    stderr: std::thread::JoinHandle<String>,
}

/// `netlab recv --json --count N` on `iface` with `args` and `env`, once it says it is
/// receiving.
fn start_recv(iface: &str, method: &str, count: u64, args: &[&str], env: &[(&str, &str)]) -> Recv {
    let mut child = netlab()
        .args(["recv", "-i", iface, "-m", method, "--json", "--count", &count.to_string()])
        .args(args)
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    while !line.contains("receiving on") {
        line.clear();
        let n = stderr.read_line(&mut line).unwrap();
        assert!(n > 0, "{method} on {iface}: recv ended before it was ready: {:?}", child.wait());
    }
    let stderr = std::thread::spawn(move || {
        let mut rest = String::new();
        let _ = std::io::Read::read_to_string(&mut stderr, &mut rest);
        rest
    });
    Recv { child, stderr }
}

/// Sends `frames` frames at [`PPS`] out of `tx0` (to `dst_mac`, if given) with the ring engine.
fn replay(frames: u64, dst_mac: Option<&str>) {
    let mut cmd = netlab();
    cmd.args(["replay", "-q", "-i", "tx0", "--engine", "ring", "--pps", &PPS.to_string()])
        .args(["--limit", &frames.to_string()]);
    if let Some(mac) = dst_mac {
        cmd.args(["--dst-mac", mac]);
    }
    let out = cmd.arg(udp64()).output().unwrap();
    assert!(out.status.success(), "replay: {}", text(&out.stderr));
}

/// recv's JSON once it counted what it was asked to; fails after 30 s (a frame lost).
fn finish(recv: Recv, what: &str) -> serde_json::Value {
    let Recv { mut child, stderr } = recv;
    let deadline = Instant::now() + Duration::from_secs(30);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            child.kill().unwrap();
            child.wait().unwrap();
            panic!("{what}: recv did not count every frame within 30 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().unwrap();
    let stderr = stderr.join().unwrap();
    assert!(out.status.success(), "{what}: {stderr}");
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Receives [`FRAMES`] frames sent at [`PPS`] with `method` on `iface` and returns recv's JSON,
/// after checking the receiver and the interface counted every frame and nothing more.
fn every_frame(iface: &str, method: &str, dst_mac: Option<&str>) -> serde_json::Value {
    let child = start_recv(iface, method, FRAMES, &[], &[]);
    replay(FRAMES, dst_mac);
    let json = finish(child, &format!("{method} on {iface}"));
    assert_eq!(json["app_rx_frames"].as_u64(), Some(FRAMES), "{method} on {iface}: {json}");
    assert_eq!(json["iface_rx_frames"].as_u64(), Some(FRAMES), "{method} on {iface}: {json}");
    json
}

#[test]
fn on_a_veth_xdp_runs_natively_and_af_xdp_binds_in_copy_mode() {
    let Some(_ns) = privileged("on_a_veth_xdp_runs_natively_and_af_xdp_binds_in_copy_mode") else {
        return;
    };
    lab(false);
    let json = every_frame("rx0", "fastnet:3", None);
    assert_eq!((&json["xdp_mode"], &json["xsk_bind"]), (&"native".into(), &"copy".into()));
    let json = every_frame("rx0", "xdp-drop", None);
    assert_eq!(
        (&json["xdp_mode"], &json["xsk_bind"]),
        (&"native".into(), &serde_json::Value::Null)
    );
    let json = every_frame("rx0", "pcap", None);
    assert_eq!(
        (&json["xdp_mode"], &json["xsk_bind"]),
        (&serde_json::Value::Null, &serde_json::Value::Null)
    );
}

#[test]
fn on_a_macvlan_xdp_falls_back_to_generic_mode() {
    let Some(_ns) = privileged("on_a_macvlan_xdp_falls_back_to_generic_mode") else { return };
    lab(true);
    let json = every_frame("mv0", "fastnet:3", Some(MV0_MAC));
    assert_eq!((&json["xdp_mode"], &json["xsk_bind"]), (&"generic".into(), &"copy".into()));
    let json = every_frame("mv0", "xdp-drop", Some(MV0_MAC));
    assert_eq!(json["xdp_mode"], "generic", "{json}");
    // Native required where there is none: the driver's refusal, exit code "unsupported".
    let out = netlab()
        .args(["recv", "-i", "mv0", "-m", "xdp-drop", "--xdp-mode", "native", "--count", "1"])
        .output()
        .unwrap();
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(4), "{err}");
    assert!(err.contains("native (driver) XDP is not supported here"), "{err}");
    assert!(err.contains("Operation not supported"), "{err}");
    assert!(!sh("ip link show mv0").contains("xdp"), "{}", sh("ip link show mv0"));
}

#[test]
fn a_mode_can_be_required_and_a_kernel_without_it_is_mimicked() {
    let Some(_ns) = privileged("a_mode_can_be_required_and_a_kernel_without_it_is_mimicked") else {
        return;
    };
    lab(false);
    let refused = |args: &[&str], env: &[(&str, &str)]| {
        let out = netlab()
            .args(["recv", "-i", "rx0", "-m", "fastnet:3", "--count", "1"])
            .args(args)
            .envs(env.iter().copied())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(4), "{args:?} {env:?}: {}", text(&out.stderr));
        assert!(!sh("ip link show rx0").contains("xdp"), "program left after {args:?}");
        text(&out.stderr)
    };
    // veth has no zero-copy: required, the kernel's answer; auto took copy above.
    let err = refused(&["--zero-copy", "required"], &[]);
    assert!(
        err.contains("XDP_ZEROCOPY is not supported here: rx0 queue 0: bind(AF_XDP): Operation not supported"),
        "{err}"
    );
    let err = refused(&["--zero-copy", "required"], &[("FASTNET_WITHOUT", "zero-copy")]);
    assert!(err.contains("XDP_ZEROCOPY is not supported here: turned off"), "{err}");
    let err = refused(&["--xdp-mode", "native"], &[("FASTNET_WITHOUT", "native-xdp")]);
    assert!(err.contains("native (driver) XDP is not supported here: turned off"), "{err}");
    // A veth that pretends to have no native XDP: generic, every frame; and copy when
    // zero-copy is turned off too.
    let child =
        start_recv("rx0", "fastnet:3", 10_000, &[], &[("FASTNET_WITHOUT", "native-xdp,zero-copy")]);
    replay(10_000, None);
    let json = finish(child, "fastnet:3 without native XDP");
    assert_eq!(json["app_rx_frames"].as_u64(), Some(10_000), "{json}");
    assert_eq!((&json["xdp_mode"], &json["xsk_bind"]), (&"generic".into(), &"copy".into()));
    // Generic asked for on a veth that has native XDP; zero-copy off.
    let child = start_recv(
        "rx0",
        "fastnet:3",
        10_000,
        &["--xdp-mode", "generic", "--zero-copy", "off"],
        &[],
    );
    replay(10_000, None);
    let json = finish(child, "fastnet:3 --xdp-mode generic");
    assert_eq!(json["app_rx_frames"].as_u64(), Some(10_000), "{json}");
    assert_eq!((&json["xdp_mode"], &json["xsk_bind"]), (&"generic".into(), &"copy".into()));
}

#[test]
fn recv_text_names_the_modes() {
    let Some(_ns) = privileged("recv_text_names_the_modes") else { return };
    lab(true);
    let out = netlab()
        .args(["recv", "-q", "-i", "mv0", "-m", "fastnet:3", "--duration", "300ms"])
        .output()
        .unwrap();
    let out = text(&out.stdout);
    assert!(
        out.lines().any(|l| l.starts_with("xdp")
            && l.contains("generic mode (on the skb")
            && l.ends_with("AF_XDP socket bound in copy mode")),
        "{out}"
    );
    let out = netlab()
        .args(["recv", "-q", "-i", "rx0", "-m", "pcap", "--duration", "300ms"])
        .output()
        .unwrap();
    assert!(!text(&out.stdout).lines().any(|l| l.starts_with("xdp")), "{}", text(&out.stdout));
}

#[test]
fn a_run_records_the_modes_of_each_point_and_the_tables_show_them() {
    let Some(_ns) = privileged("a_run_records_the_modes_of_each_point_and_the_tables_show_them")
    else {
        return;
    };
    use super::run::{assert_lab_gone, lab_name, run, scenario};
    let dir = tempfile::tempdir().unwrap();
    let lab = lab_name("modes");
    let file = scenario(
        dir.path(),
        "modes",
        "[generator]\nengine = \"ring\"\nrates = [\"20kpps\"]\nburst = 256\nduration = \"1s\"\n\
         warmup = \"200ms\"\n\
         [[receiver]]\nmethod = \"fastnet:3\"\n\
         [[receiver]]\nmethod = \"fastnet:3\"\nname = \"skb\"\nxdp_mode = \"generic\"\n\
         zero_copy = \"off\"\n\
         [[receiver]]\nmethod = \"xdp-drop\"\nxdp_mode = \"auto\"\n\
         [[receiver]]\nmethod = \"pcap\"\n\
         [run]\nrepeat = 1\ndrain = \"100ms\"\nseed = 3\nretries = 0\n",
    );
    let results = dir.path().join("results");
    let out = run(&file, &lab, &results);
    assert_eq!(out.status.code(), Some(0), "{}{}", text(&out.stdout), text(&out.stderr));
    assert_lab_gone(&lab);
    let rdir = super::util::results_dir(&results);
    let json = super::util::json(&rdir.join("results.json"));
    crate::report::assert_valid_results(&json, "a run with XDP modes");
    let modes = |label: &str| {
        let p = json["points"].as_array().unwrap().iter().find(|p| p["label"] == label).unwrap();
        (p["xdp_mode"].clone(), p["xsk_bind"].clone())
    };
    let null = serde_json::Value::Null;
    assert_eq!(modes("fastnet:3"), ("native".into(), "copy".into()));
    assert_eq!(modes("skb"), ("generic".into(), "copy".into()));
    assert_eq!(modes("xdp-drop"), ("native".into(), null.clone()));
    assert_eq!(modes("pcap"), (null.clone(), null));
    let csv = std::fs::read_to_string(rdir.join("results.csv")).unwrap();
    assert!(csv.lines().next().unwrap().contains(",xdp_mode,xsk_bind,"), "{csv}");
    assert!(csv.lines().any(|l| l.contains(",skb,fastnet:3,") && l.contains(",generic,copy,")));
    for file in ["table.txt", "table.md", "report.md", "report.html"] {
        let table = std::fs::read_to_string(rdir.join(file)).unwrap();
        for note in ["(native XDP, copy)", "(fastnet:3, generic XDP, copy)", "(native XDP)"] {
            assert!(table.contains(note), "{file} lacks {note}:\n{table}");
        }
    }
}
