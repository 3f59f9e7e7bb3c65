//! Receive methods: every method counts exactly what tcpreplay sent, IPv4 by bytes 12-13 only,
//! and agrees with the interface's own counter.
//!
//! Each test runs in a throwaway namespace with a veth pair `tx0` ↔ `rx0` (IPv6 off, no addresses,
//! so the kernel itself sends nothing), writes a pcap of known composition, replays it into `tx0`
//! with tcpreplay at 20 kpps (a rate every method keeps) and receives on `rx0`.

use super::util::netlab;
use std::process::{Command, Stdio};
use std::time::Duration;

use fastnet::testing::{privileged, sh};
use netlab::receiver::{self, Method, RecvConfig, RecvReport, RecvSpec};

const IPV4: usize = 2000;
const ARP: usize = 1000;
/// Frames that are IPv4 in every byte except the EtherType (bytes 12-13 = 0x88b5).
const NOT_IPV4: usize = 500;

/// A 60-byte broadcast IPv4/UDP frame.
fn udp_frame() -> Vec<u8> {
    let mut f = vec![0u8; 60];
    f[..6].copy_from_slice(&[0xff; 6]);
    f[6..12].copy_from_slice(&[0x02, 0, 0, 0, 0, 0x0a]);
    f[12..14].copy_from_slice(&[0x08, 0x00]);
    // IPv4 header: version/IHL, length 46, TTL 64, UDP, 10.0.0.1 → 10.0.0.255.
    f[14] = 0x45;
    f[16..18].copy_from_slice(&46u16.to_be_bytes());
    f[22] = 64;
    f[23] = 17;
    f[26..30].copy_from_slice(&[10, 0, 0, 1]);
    f[30..34].copy_from_slice(&[10, 0, 0, 255]);
    f[34..36].copy_from_slice(&9u16.to_be_bytes());
    f[36..38].copy_from_slice(&9u16.to_be_bytes());
    f[38..40].copy_from_slice(&26u16.to_be_bytes());
    f
}

/// A 60-byte broadcast ARP request.
fn arp_frame() -> Vec<u8> {
    let mut f = vec![0u8; 60];
    f[..6].copy_from_slice(&[0xff; 6]);
    f[6..12].copy_from_slice(&[0x02, 0, 0, 0, 0, 0x0a]);
    f[12..14].copy_from_slice(&[0x08, 0x06]);
    f[14..22].copy_from_slice(&[0, 1, 0x08, 0, 6, 4, 0, 1]);
    f[22..28].copy_from_slice(&[0x02, 0, 0, 0, 0, 0x0a]);
    f[28..32].copy_from_slice(&[10, 0, 0, 1]);
    f[38..42].copy_from_slice(&[10, 0, 0, 2]);
    f
}

/// Writes a pcap of `IPV4` UDP, `ARP` ARP and `NOT_IPV4` look-alike frames, interleaved.
fn mixed_pcap(dir: &std::path::Path) -> std::path::PathBuf {
    use pcap_file::pcap::{PcapPacket, PcapWriter};
    let path = dir.join("mixed.pcap");
    let mut w = PcapWriter::new(std::fs::File::create(&path).unwrap()).unwrap();
    let (udp, arp) = (udp_frame(), arp_frame());
    let mut other = udp.clone();
    other[12..14].copy_from_slice(&[0x88, 0xb5]);
    let mut frames: Vec<&[u8]> = Vec::new();
    for i in 0..IPV4 {
        frames.push(&udp);
        if i % 2 == 0 {
            frames.push(&arp);
        }
        if i % 4 == 1 {
            frames.push(&other);
        }
    }
    assert_eq!(frames.len(), IPV4 + ARP + NOT_IPV4);
    for (i, f) in frames.iter().enumerate() {
        let ts = Duration::from_micros(i as u64 * 50);
        w.write_packet(&PcapPacket::new(ts, f.len() as u32, f)).unwrap();
    }
    path
}

/// veth `tx0` ↔ `rx0`, up, IPv6 off, in the calling thread's (throwaway) namespace.
fn veth_pair() {
    sh("sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1");
    sh("ip link add tx0 type veth peer name rx0");
    sh("ip link set tx0 up && ip link set rx0 up");
}

/// `rx_packets` of `iface` from `ip -s -j link show IFACE`.
fn rx_packets(iface: &str) -> u64 {
    let out = sh(&format!("ip -s -j link show {iface}"));
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    json[0]["stats64"]["rx"]["packets"].as_u64().unwrap()
}

fn replay(pcap: &std::path::Path) {
    sh(&format!("tcpreplay -q -i tx0 --pps 20000 {}", pcap.display()));
}

/// Room for every frame of the run (3500 frames cost < 3 MiB of socket buffer at ~800 B each),
/// so a receiver descheduled by the other tests running in parallel still loses nothing.
const ROOMY: Option<u64> = Some(8 << 20);

/// Starts `method` on `rx0`, replays the mixed pcap, stops, and checks every count.
fn receives_exactly_what_was_sent(method: Method, config: RecvConfig) -> RecvReport {
    let dir = tempfile::tempdir().unwrap();
    let pcap = mixed_pcap(dir.path());
    veth_pair();
    let before = rx_packets("rx0");
    let spec = RecvSpec { method, iface: "rx0".into(), netns: None, core: None, config };
    let mut session = receiver::start(spec).unwrap();
    session.wait_ready(Duration::from_secs(10)).unwrap();
    replay(&pcap);
    let report = session.stop().unwrap();
    let iface = rx_packets("rx0") - before;
    let sent = (IPV4 + ARP + NOT_IPV4) as u64;
    assert_eq!(iface, sent, "{method}: netlink rx_packets of rx0");
    assert_eq!(report.frames, sent, "{method}: frames received: {report:?}");
    assert_eq!(report.ipv4, IPV4 as u64, "{method}: IPv4 counted: {report:?}");
    let kernel = report.kernel.expect("kernel counters");
    assert_eq!(kernel.drops, 0, "{method}: {report:?}");
    assert_eq!(kernel.packets, sent, "{method}: kernel packets: {report:?}");
    assert!(report.cpu_ns > 0, "{method}: {report:?}");
    report
}

fn roomy() -> RecvConfig {
    RecvConfig { buffer: ROOMY, ..Default::default() }
}

#[test]
fn socket_counts_exactly() {
    let Some(_ns) = privileged("socket_counts_exactly") else { return };
    receives_exactly_what_was_sent(Method::Socket, roomy());
}

#[test]
fn pcap_counts_exactly() {
    let Some(_ns) = privileged("pcap_counts_exactly") else { return };
    receives_exactly_what_was_sent(Method::Pcap, roomy());
}

#[test]
fn fastnet_read_counts_exactly() {
    let Some(_ns) = privileged("fastnet_read_counts_exactly") else { return };
    receives_exactly_what_was_sent(Method::FastnetRead, roomy());
}

#[test]
fn fastnet_batch_counts_exactly() {
    let Some(_ns) = privileged("fastnet_batch_counts_exactly") else { return };
    let config = RecvConfig { batch: Some(32), ..roomy() };
    receives_exactly_what_was_sent(Method::FastnetBatch, config);
}

#[test]
fn fastnet_mmap_counts_exactly() {
    let Some(_ns) = privileged("fastnet_mmap_counts_exactly") else { return };
    receives_exactly_what_was_sent(Method::FastnetMmap, roomy());
}

#[test]
fn fastnet_xdp_counts_exactly_and_detaches() {
    let Some(_ns) = privileged("fastnet_xdp_counts_exactly_and_detaches") else { return };
    let config = RecvConfig { frames: Some(4096), ..roomy() };
    receives_exactly_what_was_sent(Method::FastnetXdp, config);
    assert!(!sh("ip link show rx0").contains("xdp"), "program left on rx0 after stop");
}

#[test]
fn fastnet_xdp_busy_counts_exactly() {
    let Some(_ns) = privileged("fastnet_xdp_busy_counts_exactly") else { return };
    let config = RecvConfig {
        wait: netlab::method::Wait::Busy,
        frames: Some(4096),
        batch: Some(16),
        ..roomy()
    };
    receives_exactly_what_was_sent(Method::FastnetXdp, config);
}

#[test]
fn xdp_drop_counts_exactly() {
    let Some(_ns) = privileged("xdp_drop_counts_exactly") else { return };
    receives_exactly_what_was_sent(Method::XdpDrop, RecvConfig::default());
    assert!(!sh("ip link show rx0").contains("xdp"), "program left on rx0 after stop");
}

/// A receiver program in sh: counts nothing itself, prints what it is told to on SIGINT.
const SH_RECEIVER: &str = "sh -c 'echo READY; \
    trap \"echo RESULT-RX 5; echo RESULT-IP 4; echo RESULT-NOTE {iface}; exit 0\" INT; \
    while :; do sleep 0.05; done'";

#[test]
fn exec_reads_result_lines_after_sigint() {
    let Some(_ns) = privileged("exec_reads_result_lines_after_sigint") else { return };
    veth_pair();
    let config = RecvConfig { command: Some(SH_RECEIVER.into()), ..Default::default() };
    let spec =
        RecvSpec { method: Method::Exec, iface: "rx0".into(), netns: None, core: Some(0), config };
    let mut session = receiver::start(spec).unwrap();
    session.wait_ready(Duration::from_secs(5)).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let report = session.stop().unwrap();
    assert_eq!((report.frames, report.ipv4), (5, 4), "{report:?}");
    assert_eq!(report.results.get("NOTE").map(String::as_str), Some("rx0"), "{report:?}");
    assert!(report.kernel.is_none());
}

fn exec_error(command: &str) -> String {
    let config = RecvConfig { command: Some(command.into()), ..Default::default() };
    let spec =
        RecvSpec { method: Method::Exec, iface: "rx0".into(), netns: None, core: None, config };
    let mut session = receiver::start(spec).unwrap();
    let result = session.wait_ready(Duration::from_secs(5)).and_then(|()| {
        std::thread::sleep(Duration::from_millis(300));
        session.stop().map(|_| ())
    });
    format!("{:#}", result.unwrap_err())
}

#[test]
fn exec_failures_are_one_clear_message() {
    let e = exec_error("./no-such-receiver {iface}");
    assert!(e.contains("`./no-such-receiver` not found"), "{e}");
    let e = exec_error("sh -c 'exit 3'");
    assert!(e.contains("exited before it was stopped (exit status 3)"), "{e}");
    let e = exec_error("sh -c 'echo READY; trap \"exit 0\" INT; while :; do sleep 0.05; done'");
    assert!(e.contains("printed no RESULT-RX line"), "{e}");
}

#[test]
fn cli_recv_count_prints_a_json_summary() {
    let Some(_ns) = privileged("cli_recv_count_prints_a_json_summary") else { return };
    let dir = tempfile::tempdir().unwrap();
    let pcap = mixed_pcap(dir.path());
    veth_pair();
    let child = netlab()
        .args(["recv", "-q", "-i", "rx0", "-m", "fastnet:mmap", "--json", "--count"])
        .arg((IPV4 + ARP + NOT_IPV4).to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Ready is not observable from outside with -q; the ring opens in well under a second.
    std::thread::sleep(Duration::from_millis(500));
    replay(&pcap);
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["method"], "fastnet:mmap");
    assert_eq!(json["app_rx_frames"].as_u64(), Some((IPV4 + ARP + NOT_IPV4) as u64), "{json}");
    assert_eq!(json["ipv4_frames"].as_u64(), Some(IPV4 as u64), "{json}");
    assert_eq!(json["kernel"]["drops"].as_u64(), Some(0), "{json}");
    // The words of results.json, and its one definition of CPU per frame: receiver + kernel.
    for key in ["rx_cpu_ns", "napi_cpu_ns", "delay_bound_ns", "iface_rx_frames", "ns_per_frame"] {
        assert!(json.get(key).is_some(), "{key} missing: {json}");
    }
    let frames = json["app_rx_frames"].as_f64().unwrap();
    let rx = json["rx_cpu_ns"].as_f64().unwrap();
    // No NAPI to measure on this veth (GRO off, no XDP): the total is missing, never rx + 0.
    match json["napi_cpu_ns"].as_f64() {
        Some(napi) => {
            let total = json["ns_per_frame"].as_f64().unwrap();
            assert!((total - (rx + napi) / frames).abs() < 1e-6, "{json}");
        }
        None => assert!(json["ns_per_frame"].is_null(), "{json}"),
    }
    assert!((json["rx_ns_per_frame"].as_f64().unwrap() - rx / frames).abs() < 1e-6, "{json}");
}

#[test]
fn sigkill_of_recv_xdp_leaves_no_program() {
    let Some(_ns) = privileged("sigkill_of_recv_xdp_leaves_no_program") else { return };
    veth_pair();
    let mut child = netlab()
        .args(["recv", "-i", "rx0", "-m", "fastnet:3"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // "receiving on …" is printed once the program is attached.
    let mut stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    while !line.contains("receiving on rx0") {
        line.clear();
        let n = std::io::BufRead::read_line(&mut stderr, &mut line).unwrap();
        assert!(n > 0, "netlab recv ended before it was ready");
    }
    assert!(sh("ip link show rx0").contains("xdp"), "no program attached while running");
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    assert!(!sh("ip link show rx0").contains("xdp"), "program left on rx0 after SIGKILL");
}

#[test]
fn bad_input_is_one_line_with_the_right_exit_code() {
    let run = |args: &[&str]| {
        let out = netlab().arg("recv").args(args).output().unwrap();
        (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned())
    };
    let (code, err) = run(&["-i", "b", "-m", "fastnet:9"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("valid: socket"), "{err}");
    let (code, err) = run(&["-i", "b", "-m", "socket", "-b", "100B"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("too small for one frame"), "{err}");
    let (code, err) = run(&["-i", "b", "-m", "pcap", "-b", "64TiB"]);
    assert_eq!(code, Some(2), "{err}");
    let (code, err) = run(&["-i", "b", "-m", "pcap", "-b", "900GiB"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("memory"), "{err}");
    let (code, err) = run(&["-i", "b", "-m", "xdp-drop", "--batch", "8"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("--batch: does not apply to method `xdp-drop`"), "{err}");
    let (code, err) = run(&["-i", "b", "-m", "pcap", "--max-delay", "1ms"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("--max-delay: does not apply to method `pcap`"), "{err}");
    let (code, err) = run(&["-i", "b", "-m", "fastnet:3", "--max-delay", "2s"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("--max-delay 2s: is more than 1s"), "{err}");
}

#[test]
fn missing_interface_is_bad_input() {
    let Some(_ns) = privileged("missing_interface_is_bad_input") else { return };
    for method in ["socket", "pcap", "fastnet:1", "fastnet:mmap", "fastnet:3", "xdp-drop"] {
        let out = netlab().args(["recv", "-i", "nope0", "-m", method]).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{method}: {err}");
        assert!(err.contains("nope0"), "{method}: {err}");
        assert_eq!(err.lines().count(), 1, "{method}: {err}");
    }
}

/// `write`: the frames received, in order, in a capture file tshark reads; the counts are those
/// of a run without it.
fn writes_what_was_received(method: Method, file: &str, count: Option<u64>) {
    use netlab::receiver::record::WriteTo;
    let dir = tempfile::tempdir().unwrap();
    let pcap = mixed_pcap(dir.path());
    let path = dir.path().join(file);
    veth_pair();
    let config = RecvConfig { write: Some(WriteTo { path: path.clone(), count }), ..roomy() };
    let spec = RecvSpec { method, iface: "rx0".into(), netns: None, core: None, config };
    let mut session = receiver::start(spec).unwrap();
    session.wait_ready(Duration::from_secs(10)).unwrap();
    replay(&pcap);
    let (report, saved) = session.stop_saving().unwrap();
    let sent = (IPV4 + ARP + NOT_IPV4) as u64;
    assert_eq!((report.frames, report.ipv4), (sent, IPV4 as u64), "{method}: {report:?}");
    let saved = saved.expect("a file was asked for");
    let kept = count.unwrap_or(sent);
    assert_eq!((saved.written, saved.left_out, saved.past_count), (kept, 0, sent - kept));
    let sent_frames = netlab::packet::read_frames(&pcap).unwrap();
    let got = netlab::packet::read_frames(&path).unwrap();
    let got: Vec<&[u8]> = got.iter().map(|f| &f.data[..]).collect();
    let want: Vec<&[u8]> = sent_frames.iter().take(kept as usize).map(|f| &f.data[..]).collect();
    assert_eq!(got, want, "{method}: the file holds the frames sent, in order");
    let tshark = Command::new("tshark")
        .arg("-r")
        .arg(&path)
        .args(["-T", "fields", "-e", "eth.type"])
        .output()
        .unwrap();
    assert!(tshark.status.success());
    let types = String::from_utf8_lossy(&tshark.stdout).into_owned();
    assert_eq!(types.lines().count() as u64, kept, "tshark reads every frame of {file}");
    assert_eq!(
        types.lines().filter(|t| *t == "0x0800").count(),
        want.iter().filter(|f| f[12..14] == [8, 0]).count()
    );
}

#[test]
fn pcap_writes_what_it_received_to_pcapng() {
    let Some(_ns) = privileged("pcap_writes_what_it_received_to_pcapng") else { return };
    writes_what_was_received(Method::Pcap, "rx.pcapng", None);
}

#[test]
fn fastnet_mmap_writes_the_first_n_frames_to_pcap() {
    let Some(_ns) = privileged("fastnet_mmap_writes_the_first_n_frames_to_pcap") else { return };
    writes_what_was_received(Method::FastnetMmap, "rx.pcap", Some(1000));
}

/// Whether process `pid` is gone (or only a zombie waiting for a reaper).
pub fn process_gone(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat.rsplit(')').next().is_some_and(|rest| rest.trim_start().starts_with('Z')),
    }
}

/// A receiver program that writes its pid to `pid_file`, says READY and runs (as `sleep`, the
/// same process: no child of its own that could outlive it) until killed.
pub fn long_receiver(pid_file: &std::path::Path) -> String {
    format!("sh -c 'echo $$ > {}; echo READY; exec sleep 600'", pid_file.display())
}

/// Waits (up to 10 s) for `pid_file` to hold a pid.
pub fn wait_for_pid(pid_file: &std::path::Path) -> u32 {
    let start = std::time::Instant::now();
    loop {
        if let Some(pid) =
            std::fs::read_to_string(pid_file).ok().and_then(|t| t.trim().parse::<u32>().ok())
        {
            return pid;
        }
        assert!(start.elapsed() < Duration::from_secs(10), "the receiver never started");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Regression: an exec receiver outlived a SIGKILL of `netlab recv` (ppid 1, still running).
#[test]
fn sigkill_of_recv_exec_leaves_no_receiver() {
    let Some(_ns) = privileged("sigkill_of_recv_exec_leaves_no_receiver") else { return };
    veth_pair();
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("rx.pid");
    let mut child = netlab()
        .args(["recv", "-i", "rx0", "-m", "exec", "--command", &long_receiver(&pid_file)])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let receiver = wait_for_pid(&pid_file);
    assert!(!process_gone(receiver));
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let killed = std::time::Instant::now();
    while !process_gone(receiver) {
        assert!(killed.elapsed() < Duration::from_secs(1), "receiver {receiver} outlived netlab");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Runs `script` (sh) in a private mount namespace with its own `/run`, with `$NETLAB` and
/// `$LAB` (labs/mode3.toml) set: labs made there are seen by no other test.
pub fn in_private_run(script: &str) -> (String, String) {
    let lab_file = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("labs/mode3.toml");
    let out = Command::new("unshare")
        .args(["--mount", "--propagation", "private", "sh", "-c"])
        .arg(format!("mount -t tmpfs netlab-test /run || exit 99\n{script}"))
        .env("NETLAB", env!("CARGO_BIN_EXE_netlab"))
        .env("LAB", lab_file)
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    );
    assert!(out.status.success(), "exit {:?}: {stdout}{stderr}", out.status.code());
    (stdout, stderr)
}

/// Namespace and interface mistakes are one line naming the namespace and the fix: the lab's
/// namespace for an interface only a lab has, `netlab-NAME` for a lab's short name, and a down
/// interface is refused (as `replay` does) unless `--force`. Each exits 2.
#[test]
fn wrong_namespace_or_interface_is_one_line_with_the_fix() {
    let Some(_ns) = privileged("wrong_namespace_or_interface") else { return };
    let (stdout, stderr) = in_private_run(
        r#"set -u
"$NETLAB" topo up "$LAB" --name ux3 >/dev/null || exit 98
try() { "$NETLAB" "$@" 2>&1; echo "exit=$?"; }
try recv -i rx0 -m socket --duration 1s
try recv -i rx0 --netns ux3 -m socket --duration 1s
try replay -i gen0 --netns ux3 --pps 10 --limit 1 "$(dirname "$LAB")/../packets/udp64.pcap"
try recv -i nope0 --netns netlab-ux3 -m socket --duration 1s
ip -n netlab-ux3 link set rx0 down
try recv -i rx0 --netns netlab-ux3 -m socket --duration 1s
"$NETLAB" topo down ux3 >/dev/null"#,
    );
    let answers: Vec<&str> = stdout.lines().collect();
    assert_eq!(answers.len(), 10, "{stdout}{stderr}");
    for pair in answers.chunks(2) {
        assert_eq!(pair[1], "exit=2", "{}", pair[0]);
        assert!(pair[0].starts_with("netlab: error: "), "{}", pair[0]);
    }
    assert!(
        answers[0].contains("-i rx0: no interface named `rx0` in ")
            && answers[0].ends_with("did you mean --netns netlab-ux3 (lab `ux3`)?"),
        "{}",
        answers[0]
    );
    for answer in [answers[2], answers[4]] {
        assert!(
            answer.contains(
                "--netns ux3: no network namespace named `ux3`; did you mean --netns netlab-ux3"
            ),
            "{answer}"
        );
    }
    assert!(
        answers[6].ends_with(
            "-i nope0: no interface named `nope0` in network namespace `netlab-ux3` (there are: \
             gen0, lo, rx0)"
        ),
        "{}",
        answers[6]
    );
    assert!(
        answers[8].contains("interface `rx0` in network namespace `netlab-ux3` is down")
            && answers[8].ends_with("or pass --force"),
        "{}",
        answers[8]
    );
}

/// Regression: `setns` without privileges printed the OS error twice and no fix.
#[test]
fn entering_a_namespace_without_root_says_sudo_once() {
    let Some(_ns) = privileged("entering_a_namespace_without_root") else { return };
    let (stdout, _) = in_private_run(
        r#"ip netns add i9-noroot || exit 98
setpriv --reuid=65534 --regid=65534 --clear-groups -- "$NETLAB" recv -i lo --netns i9-noroot -m exec --command true --duration 1s 2>&1
echo "exit=$?"
ip netns del i9-noroot"#,
    );
    assert!(stdout.ends_with("exit=3\n"), "{stdout}");
    assert_eq!(stdout.lines().count(), 2, "{stdout}");
    assert_eq!(stdout.matches("Operation not permitted").count(), 1, "{stdout}");
    assert!(stdout.contains("run with sudo"), "{stdout}");
}

/// Regression: netlab started with SIGINT ignored (a background job of a script, `nohup`) passed
/// that on to its exec receiver, whose `trap … INT` then did nothing: no results, SIGTERM.
#[test]
fn exec_receiver_gets_sigint_even_when_netlab_ignores_it() {
    let Some(_ns) = privileged("exec_receiver_gets_sigint_even_when_netlab_ignores_it") else {
        return;
    };
    veth_pair();
    let out = Command::new("sh")
        .arg("-c")
        .arg(r#"trap "" INT; exec "$NETLAB" recv -q -i rx0 -m exec --json --duration 1s --command "$RX""#)
        .env("NETLAB", env!("CARGO_BIN_EXE_netlab"))
        .env("RX", SH_RECEIVER)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (json["app_rx_frames"].as_u64(), json["ipv4_frames"].as_u64()),
        (Some(5), Some(4)),
        "{json}"
    );
}
