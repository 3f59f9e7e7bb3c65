//! `netlab replay`: exact counts at the peer with every engine, rates as tcpreplay counts them,
//! and one clear line for every bad input.
//!
//! Privileged tests run in a throwaway namespace with a veth pair `gen0` ↔ `rx0` (IPv6 off, no
//! addresses, so the kernel itself sends nothing; GRO on at `rx0` so it runs NAPI and the xdp
//! engine's redirected frames reach it). Every count is checked at `rx0` with `ip -s -j link`,
//! independently of the report's own netlink reading.

use super::util::{netlab, udp64};
use std::path::Path;
use std::process::{Command, Output};

use fastnet::testing::{privileged, sh};

/// Every engine this kernel lets send: all four, or without xdp (with one line saying it was
/// skipped and why) on a kernel without live frames — where
/// `xdp_on_a_kernel_without_live_frames_is_refused_at_once_and_auto_takes_the_ring` tests
/// what netlab does instead.
fn engines(test: &str) -> Vec<&'static str> {
    let mut engines = vec!["socket", "mmsg", "ring"];
    let live = fastnet::bpf::live_frames_available();
    if fastnet::testing::kernel_has(&format!("{test} (engine xdp)"), live) {
        engines.push("xdp");
    }
    engines
}

/// veth `gen0` ↔ `rx0`, up, IPv6 off, GRO on at `rx0`, in the calling thread's namespace.
fn veth_pair() {
    sh("sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1");
    sh("ip link add gen0 type veth peer name rx0");
    sh("ethtool -K rx0 gro on");
    sh("ip link set gen0 up && ip link set rx0 up");
}

/// `rx_packets` of `iface` from `ip -s -j link show IFACE`.
fn rx_packets(iface: &str) -> u64 {
    let out = sh(&format!("ip -s -j link show {iface}"));
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    json[0]["stats64"]["rx"]["packets"].as_u64().unwrap()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Runs `netlab replay --json -i gen0 ARGS… udp64.pcap`, expects success, returns the report
/// and what `rx0` received meanwhile.
fn replay_json(args: &[&str]) -> (serde_json::Value, u64) {
    let before = rx_packets("rx0");
    let out =
        netlab().args(["replay", "--json", "-i", "gen0"]).args(args).arg(udp64()).output().unwrap();
    assert!(out.status.success(), "{args:?}: {}{}", stdout(&out), stderr(&out));
    let report: serde_json::Value = serde_json::from_str(&stdout(&out))
        .unwrap_or_else(|e| panic!("{args:?}: not one JSON object ({e}): {}", stdout(&out)));
    // The receive side may still be draining: wait until rx0's counter settles.
    let mut received = rx_packets("rx0") - before;
    for _ in 0..50 {
        std::thread::sleep(std::time::Duration::from_millis(20));
        let now = rx_packets("rx0") - before;
        if now == received {
            break;
        }
        received = now;
    }
    (report, received)
}

#[test]
fn limit_sends_exactly_that_many_with_every_engine() {
    let Some(_ns) = privileged("limit_sends_exactly_that_many_with_every_engine") else { return };
    veth_pair();
    for engine in engines("limit_sends_exactly_that_many_with_every_engine") {
        let (report, received) =
            replay_json(&["--engine", engine, "--loop", "0", "--limit", "12345"]);
        assert_eq!(received, 12_345, "{engine}: rx0 received");
        assert_eq!(report["engine"], engine);
        assert_eq!(report["sent_frames"], 12_345, "{engine}: {report}");
        assert_eq!(report["bytes_sent"], 12_345 * 60, "{engine}: {report}");
        assert_eq!(report["peer"]["interface"], "rx0");
        assert_eq!(report["peer"]["iface_rx_frames"], 12_345, "{engine}: {report}");
        assert_eq!(report["ended"]["reason"], "completed");
    }
}

#[test]
fn rate_times_duration_is_exact_with_every_engine() {
    // tcpreplay #1150: --pps 1 --loop 0 --duration 10 with one packet sent 1.5 M packets.
    let Some(_ns) = privileged("rate_times_duration_is_exact_with_every_engine") else { return };
    veth_pair();
    for engine in engines("rate_times_duration_is_exact_with_every_engine") {
        let (report, received) =
            replay_json(&["--engine", engine, "--pps", "100", "--duration", "2s", "--loop", "0"]);
        assert_eq!(received, 200, "{engine}: rx0 received; report {report}");
        assert_eq!(report["sent_frames"], 200, "{engine}");
        assert_eq!(report["planned_frames"], 200, "{engine}");
        let elapsed = report["elapsed_ns"].as_u64().unwrap();
        assert!(elapsed >= 2_000_000_000, "{engine}: a 2 s replay ended after {elapsed} ns");
        // Paced: every send call's lateness was measured (a call may carry several frames).
        let calls = report["lateness"]["batches"].as_u64().unwrap();
        assert!((1..=200).contains(&calls), "{engine}: {calls} send calls measured");
    }
}

#[test]
fn one_pps_with_a_duration_sends_one_frame_per_second() {
    let Some(_ns) = privileged("one_pps_with_a_duration_sends_one_frame_per_second") else {
        return;
    };
    veth_pair();
    // tcpreplay's spelling: seconds without a unit.
    let (report, received) = replay_json(&["--pps", "1", "--duration", "3", "--loop", "0"]);
    assert_eq!(received, 3, "{report}");
    assert_eq!(report["sent_frames"], 3);
}

#[test]
fn mbps_counts_l2_bytes_as_tcpreplay_does() {
    let Some(_ns) = privileged("mbps_counts_l2_bytes_as_tcpreplay_does") else { return };
    veth_pair();
    // 60-byte frames (64 with FCS): 100 Mbps of L2 bytes is 208 333.3 pps.
    for engine in engines("mbps_counts_l2_bytes_as_tcpreplay_does") {
        let (report, received) =
            replay_json(&["--engine", engine, "--mbps", "100", "--duration", "1s", "--loop", "0"]);
        let want = 208_333.0;
        let off = (received as f64 - want).abs() / want;
        assert!(off <= 0.005, "{engine}: rx0 received {received}, want {want} ± 0.5 %");
        assert_eq!(report["sent_frames"].as_u64(), Some(received), "{engine}: {report}");
        let l2 = report["rated"]["l2_mbps"].as_f64().unwrap();
        let wire = report["rated"]["wire_mbps"].as_f64().unwrap();
        // Wire bytes are L2 + 24 per frame: 84/60 of the L2 rate.
        assert!((wire / l2 - 84.0 / 60.0).abs() < 1e-6, "{engine}: {l2} vs {wire}");
    }
}

#[test]
fn text_report_has_tcpreplay_lines_and_the_peer() {
    let Some(_ns) = privileged("text_report_has_tcpreplay_lines_and_the_peer") else { return };
    veth_pair();
    let out = netlab()
        .args(["replay", "-q", "-i", "gen0", "-L", "100", "-l", "0", "-K", "--engine", "ring"])
        .arg(udp64())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("Actual: 100 packets (6000 bytes) sent in "), "{text}");
    assert!(text.contains("Rated: ") && text.contains("Mbps (wire, +24 B/frame)"), "{text}");
    assert!(text.contains("Engine: ring"), "{text}");
    assert!(text.contains("Peer: rx0 received 100 packets"), "{text}");
}

/// Runs `netlab replay ARGS…` and expects exit `code` with one error line containing `needle`.
fn refused(args: &[&str], file: &Path, code: i32, needle: &str) -> String {
    let out = netlab().arg("replay").args(args).arg(file).output().unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(code), "{args:?}: {err}{}", stdout(&out));
    assert!(err.contains(needle), "{args:?}: `{needle}` not in: {err}");
    assert!(!err.contains("panicked"), "{err}");
    err
}

#[test]
fn frames_larger_than_the_mtu_are_refused_before_sending() {
    let Some(_ns) = privileged("frames_larger_than_the_mtu_are_refused_before_sending") else {
        return;
    };
    veth_pair();
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.pcap");
    let out = netlab()
        .args(["packet", "new", "--size", "2000", "--mtu", "9000", "-o"])
        .arg(&big)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let before = rx_packets("rx0");
    let err = refused(&["-i", "gen0", "-L", "10"], &big, 2, "larger than `gen0` takes (MTU 1500");
    assert!(err.contains("packet #1"), "{err}");
    assert_eq!(rx_packets("rx0"), before, "nothing may be sent");
}

#[test]
fn interface_down_or_missing_is_refused_unless_forced() {
    let Some(_ns) = privileged("interface_down_or_missing_is_refused_unless_forced") else {
        return;
    };
    veth_pair();
    refused(&["-i", "nosuch0", "-L", "1"], &udp64(), 2, "no interface named `nosuch0`");
    sh("ip link set rx0 down");
    refused(&["-i", "gen0", "-L", "1"], &udp64(), 2, "has no carrier");
    sh("ip link set gen0 down");
    refused(&["-i", "gen0", "-L", "1"], &udp64(), 2, "is down");
    // Forced onto a down interface: the kernel refuses every frame; the report still comes,
    // says why, and the exit code says nothing was sent.
    let out = netlab()
        .args(["replay", "-i", "gen0", "-L", "5", "--force", "--engine", "socket"])
        .arg(udp64())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}{}", stdout(&out), stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("Actual: 0 packets"), "{text}");
    assert!(text.contains("ENETDOWN"), "{text}");
}

#[test]
fn xdp_without_napi_at_the_peer_is_refused_naming_the_engines_that_work() {
    let Some(_ns) = privileged("xdp_without_napi_at_the_peer_is_refused") else { return };
    veth_pair();
    sh("ethtool -K rx0 gro off");
    let err = refused(&["-i", "gen0", "-L", "1", "--engine", "xdp"], &udp64(), 4, "runs no NAPI");
    assert!(err.contains("ring, mmsg, socket"), "{err}");
    // auto avoids it and says why.
    let (report, received) = replay_json(&["-L", "50", "-l", "0"]);
    assert_eq!(received, 50);
    assert_eq!(report["engine"], "ring", "{report}");
    assert!(report["engine_reason"].as_str().unwrap().contains("not xdp"), "{report}");
}

/// On a kernel that refuses live frames (forced here, so it runs on every kernel): the xdp
/// engine named is refused before anything is sent, at once, with the kernel's reason (exit 4);
/// `auto` sends with the ring and says why not xdp.
#[test]
fn xdp_on_a_kernel_without_live_frames_is_refused_at_once_and_auto_takes_the_ring() {
    let Some(_ns) = privileged("xdp_on_a_kernel_without_live_frames_is_refused_at_once") else {
        return;
    };
    veth_pair();
    let without = (fastnet::caps::WITHOUT_VAR, "live-frames");
    let before = rx_packets("rx0");
    for rate in [&["--pps", "1000"][..], &["--topspeed"][..]] {
        let started = std::time::Instant::now();
        let out = netlab()
            .env(without.0, without.1)
            .args(["replay", "-i", "gen0", "--engine", "xdp", "--duration", "10s", "-l", "0"])
            .args(rate)
            .arg(udp64())
            .output()
            .unwrap();
        let took = started.elapsed();
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(4), "{rate:?}: {err}{}", stdout(&out));
        assert!(took < std::time::Duration::from_secs(1), "{rate:?}: refused after {took:?}");
        assert!(err.contains("BPF_F_TEST_XDP_LIVE_FRAMES is not supported here"), "{err}");
        assert!(err.contains("FASTNET_WITHOUT lists `live-frames`"), "{err}");
        assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    }
    assert_eq!(rx_packets("rx0"), before, "nothing was sent");
    // auto, at top speed (where it would take xdp): the ring, and why not xdp.
    let out = netlab()
        .env(without.0, without.1)
        .args(["replay", "--json", "-i", "gen0", "-l", "0", "--duration", "200ms"])
        .arg(udp64())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(report["engine"], "ring", "{report}");
    let why = report["engine_reason"].as_str().unwrap();
    assert!(why.contains("not xdp: BPF_F_TEST_XDP_LIVE_FRAMES is not supported here"), "{why}");
}

#[test]
fn bad_flags_and_files_are_one_clear_line() {
    let dir = tempfile::tempdir().unwrap();
    let udp = udp64();
    // Rates: two at once, zero, negative.
    refused(&["-i", "gen0", "--pps", "10", "--mbps", "5"], &udp, 2, "cannot be used with");
    refused(&["-i", "gen0", "--pps", "0"], &udp, 2, "--pps 0: must be greater than zero");
    refused(&["-i", "gen0", "--mbps", "-3"], &udp, 2, "--mbps -3: must be greater than zero");
    refused(&["-i", "gen0", "--pps", "lots"], &udp, 2, "lots");
    refused(&["-i", "gen0", "--duration", "0"], &udp, 2, "--duration 0");
    // Beyond any engine, or beyond what the schedule counts: refused, not clamped.
    let fast = ["-i", "gen0", "--pps", "1000000000000000", "--duration", "1s"];
    refused(&fast, &udp, 2, "--pps 1000000000000000: it is above 100000000 (100Mpps)");
    refused(&["-i", "gen0", "--pps", "200Mpps"], &udp, 2, "above 100Mpps");
    refused(&["-i", "gen0", "--mbps", "200000"], &udp, 2, "above 100000 (100Gbps)");
    let long = ["-i", "gen0", "--pps", "10", "--duration", "99999999999s"];
    refused(&long, &udp, 2, "--duration 99999999999s: too long");
    // A multiplier needs the file's timing.
    refused(&["-i", "gen0", "-x", "2"], &udp, 2, "holds a single packet");
    // MACs as strictly as `netlab packet`.
    refused(&["-i", "gen0", "--dst-mac", "garbage"], &udp, 2, "--dst-mac: `garbage`");
    // Files: missing, truncated.
    refused(&["-i", "gen0"], &dir.path().join("none.pcap"), 2, "none.pcap");
    let cut = dir.path().join("cut.pcap");
    let bytes = std::fs::read(&udp).unwrap();
    std::fs::write(&cut, &bytes[..bytes.len() - 10]).unwrap();
    refused(&["-i", "gen0"], &cut, 2, "cut.pcap");
}

#[test]
fn not_root_is_a_privilege_error() {
    if sh("id -u").trim() != "0" {
        // Already unprivileged: the plain run must say so.
        refused(&["-i", "gen0", "-L", "1"], &udp64(), 3, "needs root");
        return;
    }
    let out = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(env!("CARGO_BIN_EXE_netlab"))
        .args(["replay", "-i", "gen0", "-L", "1"])
        .arg(udp64())
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(err.contains("needs root"), "{err}");
}

/// Regression: a paced rate the engine cannot keep planned `rate × duration` frames and ran on
/// long past `--duration` (100 s here). It is stopped 5 s after it (exit 1, saying so).
#[test]
fn a_schedule_the_engine_cannot_keep_stops_a_grace_after_the_duration() {
    let Some(_ns) = privileged("a_schedule_the_engine_cannot_keep") else { return };
    veth_pair();
    let out = netlab()
        .args(["replay", "-i", "gen0", "--pps", "50Mpps", "--duration", "1s", "--engine", "socket"])
        .args(["--json"])
        .arg(udp64())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}{}", stdout(&out), stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("could not keep the schedule: stopped 5.0 s after --duration 1.0 s"));
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let elapsed = json["elapsed_ns"].as_u64().unwrap() as f64 / 1e9;
    // Stopped by the command (a tick late at most), not after the 50 M frames planned.
    assert!(elapsed < 6.5, "sent for {elapsed} s: {json}");
    assert!(json["sent_frames"].as_u64().unwrap() < 50_000_000, "{json}");
}
