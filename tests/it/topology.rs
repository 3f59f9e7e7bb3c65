//! The lab: `Lab::up`/`down` and `netlab topo up|show|down`, in namespaces of their own.
//!
//! Every test uses its own lab names (`it-<pid>-<tag>`), so tests run in parallel and never
//! touch another lab; a failed assertion still removes the lab (`Lab`'s drop, `DownOnDrop`).

use super::util::netlab;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use fastnet::testing::{privileged, sh};
use netlab::exit::{code_for, Code};
use netlab::topology::{self, Lab, TopologySpec};

fn lab_name(tag: &str) -> String {
    format!("it-{}-{tag}", std::process::id())
}

fn spec(toml_text: &str) -> TopologySpec {
    toml::from_str(toml_text).unwrap()
}

fn netns_exists(netns: &str) -> bool {
    Path::new("/run/netns").join(netns).exists()
}

/// Removes lab `name` with `netlab topo down` when dropped, whatever the test did.
struct DownOnDrop(String);

impl Drop for DownOnDrop {
    fn drop(&mut self) {
        let _ = topology::down(&self.0, true);
    }
}

/// The frames of `packets/udp64.pcap`, `count` times, sent into `iface` inside `netns`.
fn send_frames(netns: &str, iface: &str, count: u32) {
    let pcap = Path::new(env!("CARGO_MANIFEST_DIR")).join("packets/udp64.pcap");
    sh(&format!("ip netns exec {netns} tcpreplay -q -i {iface} -l {count} {}", pcap.display()));
}

/// rx packets of `iface` in `netns` as iproute2 reports them (independent of netlab).
fn ip_rx_packets(netns: &str, iface: &str) -> u64 {
    let json = sh(&format!("ip -n {netns} -s -j link show {iface}"));
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    v[0]["stats64"]["rx"]["packets"].as_u64().unwrap()
}

fn cpus_allowed(pid: u32) -> String {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("Cpus_allowed_list:")).unwrap();
    line.split_whitespace().nth(1).unwrap().to_string()
}

fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < Duration::from_secs(5), "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn veth_lab_is_up_with_its_macs_gro_threaded_napi_and_pinned_kthread_then_gone() {
    let Some(_ns) = privileged("veth_lab_up_down") else { return };
    let name = lab_name("veth");
    let lab = Lab::up(&spec("kind = \"veth\""), &name).unwrap();
    let netns = format!("netlab-{name}");
    assert_eq!(lab.netns_name(), Some(netns.as_str()));
    assert!(netns_exists(&netns));
    assert!(topology::marker::exists(&name));

    let (generator, receiver) = (lab.generator().clone(), lab.receiver().clone());
    assert_eq!((generator.name.as_str(), receiver.name.as_str()), ("gen0", "rx0"));
    assert_ne!(generator.mac, receiver.mac);
    for iface in [&generator, &receiver] {
        assert!(iface.mac.is_local() && iface.mac.is_unicast(), "{:?}", iface.mac);
        let line = sh(&format!("ip -n {netns} -o link show {}", iface.name));
        assert!(line.contains(&format!("{}:", iface.ifindex)), "{line}");
        assert!(line.contains(",UP,"), "{line}");
        assert!(line.contains(&netlab::packet::Mac(iface.mac).to_string()), "{line}");
    }
    let features = sh(&format!("ip netns exec {netns} ethtool -k rx0"));
    assert!(features.contains("generic-receive-offload: on"), "{features}");
    let threaded = sh(&format!("ip netns exec {netns} cat /sys/class/net/rx0/threaded"));
    assert_eq!(threaded.trim(), "1");

    let pids = lab.napi_pids().to_vec();
    assert!(!pids.is_empty());
    let cores = fastnet::cpu::online_cpus().unwrap();
    assert_eq!(lab.rx_core(), cores - 1);
    assert_eq!(lab.tx_core(), 0);
    for &pid in &pids {
        let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap();
        assert!(comm.starts_with("napi/rx0-"), "{comm}");
        assert_eq!(cpus_allowed(pid), lab.rx_core().to_string());
    }

    lab.down().unwrap();
    assert!(!netns_exists(&netns));
    assert!(!topology::marker::exists(&name));
    wait_until("the NAPI kthread to exit", || {
        pids.iter().all(|pid| !Path::new(&format!("/proc/{pid}")).exists())
    });
}

#[test]
fn bridge_lab_enslaves_both_ports_and_forwards_exactly_what_was_sent() {
    let Some(_ns) = privileged("bridge_lab_forwards") else { return };
    let name = lab_name("bridge");
    let lab = Lab::up(&spec("kind = \"bridge\""), &name).unwrap();
    let netns = lab.netns_name().unwrap().to_string();
    let bridge = lab.bridge().unwrap().clone();
    assert_eq!(bridge.name, "br0");
    let ports = sh(&format!("ip -n {netns} -o link show master br0"));
    assert!(ports.contains("br0-gen@gen0") && ports.contains("br0-rx@rx0"), "{ports}");
    assert_eq!(ports.lines().count(), 2, "{ports}");

    let before = lab.stats("rx0").unwrap();
    send_frames(&netns, "gen0", 25);
    wait_until("25 frames at rx0", || {
        lab.stats("rx0").unwrap().rx_packets - before.rx_packets >= 25
    });
    std::thread::sleep(Duration::from_millis(200));
    let after = lab.stats("rx0").unwrap();
    assert_eq!(after.rx_packets - before.rx_packets, 25);
    assert_eq!(ip_rx_packets(&netns, "rx0"), after.rx_packets);
    assert_eq!(
        topology::interface::stats(Some(&netns), "rx0").unwrap().rx_packets,
        after.rx_packets
    );
    // The bridge's MAC is the one netlab set, and it is not a port's.
    let line = sh(&format!("ip -n {netns} -o link show br0"));
    assert!(line.contains(&netlab::packet::Mac(bridge.mac).to_string()), "{line}");
}

#[test]
fn a_lab_is_quiet_nothing_reaches_an_interface_unasked() {
    let Some(_ns) = privileged("quiet_lab") else { return };
    let name = lab_name("quiet");
    let lab = Lab::up(&spec("kind = \"bridge\""), &name).unwrap();
    std::thread::sleep(Duration::from_secs(3));
    for iface in lab.interfaces() {
        let stats = lab.stats(&iface.name).unwrap();
        assert_eq!((stats.rx_packets, stats.tx_packets), (0, 0), "{}: {stats:?}", iface.name);
    }
}

#[test]
fn a_failure_half_way_removes_everything_and_names_the_step() {
    let Some(_ns) = privileged("failure_half_way") else { return };
    let name = lab_name("halfway");
    // `lo` already exists in every namespace: the veth pairs are made, the bridge fails.
    let err = Lab::up(&spec("kind = \"bridge\"\nbridge = \"lo\""), &name).unwrap_err();
    let text = format!("{err:#}");
    assert!(text.contains("creating bridge lo"), "{text}");
    assert!(!netns_exists(&format!("netlab-{name}")));
    assert!(!topology::marker::exists(&name));
}

#[test]
fn two_labs_run_at_once_without_interfering() {
    let Some(_ns) = privileged("two_labs") else { return };
    let (a, b) = (lab_name("two-a"), lab_name("two-b"));
    let lab_a = Lab::up(&spec("kind = \"veth\""), &a).unwrap();
    let lab_b = Lab::up(&spec("kind = \"veth\""), &b).unwrap();
    assert_ne!(lab_a.receiver().mac, lab_b.receiver().mac);
    assert!(lab_a.napi_pids().iter().all(|p| !lab_b.napi_pids().contains(p)));
    send_frames(lab_a.netns_name().unwrap(), "gen0", 5);
    send_frames(lab_b.netns_name().unwrap(), "gen0", 7);
    wait_until("frames at both receivers", || {
        lab_a.stats("rx0").unwrap().rx_packets >= 5 && lab_b.stats("rx0").unwrap().rx_packets >= 7
    });
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(lab_a.stats("rx0").unwrap().rx_packets, 5);
    assert_eq!(lab_b.stats("rx0").unwrap().rx_packets, 7);
    let netns_a = lab_a.netns_name().unwrap().to_string();
    lab_a.down().unwrap();
    assert!(!netns_exists(&netns_a));
    assert_eq!(lab_b.stats("rx0").unwrap().rx_packets, 7);
}

#[test]
fn the_same_name_twice_is_a_clear_error_and_the_first_lab_is_untouched() {
    let Some(_ns) = privileged("same_name_twice") else { return };
    let name = lab_name("twice");
    let first = Lab::up(&spec("kind = \"veth\""), &name).unwrap();
    let err = Lab::up(&spec("kind = \"bridge\""), &name).unwrap_err();
    assert_eq!(code_for(&err), Code::BadInput);
    assert!(format!("{err:#}").contains("already exists"), "{err:#}");
    assert!(netns_exists(first.netns_name().unwrap()));
    assert!(topology::marker::exists(&name));
    send_frames(first.netns_name().unwrap(), "gen0", 3);
    wait_until("3 frames", || first.stats("rx0").unwrap().rx_packets == 3);
}

#[test]
fn an_interface_lab_uses_existing_interfaces_and_leaves_them() {
    let Some(_ns) = privileged("interface_lab") else { return };
    sh("ip link add it-a0 type veth peer name it-b0");
    let name = lab_name("iface");
    let lab =
        Lab::up(&spec("kind = \"interface\"\ngenerator = \"it-a0\"\nreceiver = \"it-b0\""), &name)
            .unwrap();
    assert_eq!(lab.netns_name(), None);
    assert!(lab.netns().is_none());
    assert!(lab.napi_pids().is_empty());
    let line = sh("ip -o link show it-b0");
    assert!(line.starts_with(&format!("{}:", lab.receiver().ifindex)), "{line}");
    assert!(line.contains(&netlab::packet::Mac(lab.receiver().mac).to_string()), "{line}");
    lab.down().unwrap();
    sh("ip link show it-a0");

    let err = Lab::up(
        &spec("kind = \"interface\"\ngenerator = \"it-a0\"\nreceiver = \"nosuch9\""),
        &name,
    )
    .unwrap_err();
    assert_eq!(code_for(&err), Code::BadInput);
    assert!(format!("{err:#}").contains("receiver: no interface named `nosuch9`"), "{err:#}");
}

#[test]
fn bad_topologies_are_rejected_naming_the_key_before_anything_is_built() {
    let cases: &[(&str, &str)] = &[
        ("kind = \"veth\"\ngenerator = \"rx0\"", "receiver: `rx0` is already the generator's name"),
        ("kind = \"bridge\"\nbridge = \"gen0\"", "bridge: `gen0` is already the generator's name"),
        ("kind = \"veth\"\nreceiver_mac = \"02:00:00:00:00\"", "receiver_mac: `02:00:00:00:00`"),
        ("kind = \"veth\"\ngenerator_mac = \"zz:00:00:00:00:01\"", "generator_mac"),
        ("kind = \"veth\"\ngenerator_mac = \"01:00:5e:00:00:01\"", "not a unicast address"),
        (
            "kind = \"veth\"\ngenerator_mac = \"02:00:00:00:00:01\"\nreceiver_mac = \"02:00:00:00:00:01\"",
            "receiver_mac: 02:00:00:00:00:01 is already the generator's MAC",
        ),
        ("kind = \"veth\"\nmtu = 67", "mtu: 67 is outside 68..=65535"),
        ("kind = \"veth\"\nmtu = 65536", "mtu: 65536 is outside"),
        ("kind = \"veth\"\nqueues = 0", "queues: 0"),
        ("kind = \"veth\"\nrx_core = 4096", "rx_core: core 4096 does not exist"),
        ("kind = \"veth\"\ntx_core = 4096", "tx_core: core 4096 does not exist"),
        ("kind = \"veth\"\nreceiver = \"this-name-is-too-long\"", "receiver: `this-name-is-too-long`"),
        ("kind = \"veth\"\nbridge = \"br0\"", "bridge: only used with kind = \"bridge\""),
        ("kind = \"bridge\"\nbridge = \"abcdefghijkl\"", "bridge: `abcdefghijkl` is too long"),
        ("kind = \"interface\"\ngenerator = \"a\"", "receiver: required"),
        ("kind = \"interface\"\ngenerator = \"a\"\nreceiver = \"b\"\nnapi = \"threaded\"", "napi"),
        ("kind = \"interface\"\ngenerator = \"a\"\nreceiver = \"b\"\nmtu = 1500", "mtu: not used"),
    ];
    for (text, expected) in cases {
        let name = lab_name("bad");
        let err = Lab::up(&spec(text), &name).unwrap_err();
        assert_eq!(code_for(&err), Code::BadInput, "{text}: {err:#}");
        let message = format!("{err:#}");
        assert!(message.contains(expected), "{text}: `{message}` lacks `{expected}`");
        assert!(!message.contains('\n'), "{message}");
        assert!(!netns_exists(&format!("netlab-{name}")));
    }
    for bad_name in ["", "-x", "a/b", "../etc", &"x".repeat(49)] {
        let err = Lab::up(&spec("kind = \"veth\""), bad_name).unwrap_err();
        assert_eq!(code_for(&err), Code::BadInput, "{bad_name}");
    }
}

#[test]
fn default_macs_are_stable_local_unicast_and_differ_between_labs() {
    let cpus = 2;
    let a = topology::Plan::new(&spec("kind = \"bridge\""), "alpha", cpus).unwrap();
    let again = topology::Plan::new(&spec("kind = \"bridge\""), "alpha", cpus).unwrap();
    let b = topology::Plan::new(&spec("kind = \"bridge\""), "beta", cpus).unwrap();
    assert_eq!(a, again);
    assert_ne!(a.receiver.mac, b.receiver.mac);
    let bridge = a.bridge.as_ref().unwrap();
    for mac in [a.generator.mac, a.receiver.mac, bridge.bridge.mac, bridge.receiver_port.mac] {
        let mac = mac.unwrap();
        assert!(mac.is_local() && mac.is_unicast(), "{mac:?}");
    }
}

#[test]
fn cli_topo_up_prints_the_lab_show_lists_it_and_down_is_idempotent() {
    let Some(_ns) = privileged("cli_topo") else { return };
    let name = lab_name("cli");
    let _cleanup = DownOnDrop(name.clone());
    let lab_file = Path::new(env!("CARGO_MANIFEST_DIR")).join("labs/mode3.toml");
    let out =
        netlab().args(["topo", "up"]).arg(&lab_file).args(["--name", &name]).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.stderr.is_empty(), "{}", String::from_utf8_lossy(&out.stderr));
    let record = topology::marker::read(&name).unwrap().unwrap();
    let netns = format!("netlab-{name}");
    assert_eq!(record.netns, netns);
    for iface in &record.interfaces {
        let mac = netlab::packet::Mac(iface.mac).to_string();
        assert!(stdout.contains(&mac), "{stdout}");
        assert!(sh(&format!("ip -n {netns} -o link show {}", iface.name)).contains(&mac));
    }
    assert!(stdout.contains(&format!("ip netns exec {netns} tcpdump")), "{stdout}");
    // The process is gone; the lab stays up and its kthread stays pinned.
    assert!(netns_exists(&netns));
    assert_eq!(cpus_allowed(record.napi_pids[0]), record.rx_core.to_string());

    let out = netlab().args(["topo", "show", &name]).output().unwrap();
    let show = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && show.contains("rx0") && show.contains(": up"), "{show}");

    let out = netlab().args(["topo", "down", &name]).output().unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("removed lab"));
    assert!(!netns_exists(&netns));
    let out = netlab().args(["topo", "down", &name]).output().unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("nothing to remove"));
}

#[test]
fn cli_topo_up_reports_file_errors_with_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("broken.toml");
    std::fs::write(&file, "name = \"b\"\n[topology]\nkind = \"vet\"\n[packet]\nx = 1\n").unwrap();
    let out = netlab().args(["topo", "up"]).arg(&file).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("broken.toml:3:8: unknown variant `vet`"), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
}

#[test]
fn down_leaves_a_netlab_named_namespace_without_marker_alone() {
    let Some(_ns) = privileged("foreign_namespace") else { return };
    let name = lab_name("foreign");
    let netns = format!("netlab-{name}");
    sh(&format!("ip netns add {netns}"));
    let out = netlab().args(["topo", "down", &name]).output().unwrap();
    let still_there = netns_exists(&netns);
    sh(&format!("ip netns del {netns}"));
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stdout));
    assert!(still_there);
}

#[test]
fn sigkill_during_up_leaves_at_most_the_namespace_and_down_removes_it() {
    let Some(_ns) = privileged("sigkill_during_up") else { return };
    let name = lab_name("kill");
    let _cleanup = DownOnDrop(name.clone());
    let lab_file = Path::new(env!("CARGO_MANIFEST_DIR")).join("labs/bridge.toml");
    let mut child =
        netlab().args(["topo", "up"]).arg(&lab_file).args(["--name", &name]).spawn().unwrap();
    wait_until("the marker", || topology::marker::exists(&name));
    child.kill().unwrap();
    child.wait().unwrap();
    let out = netlab().args(["topo", "down", &name]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(!netns_exists(&format!("netlab-{name}")));
    assert!(!topology::marker::exists(&name));
}

fn signal(pid: u32, name: &str) {
    let status = Command::new("kill").args([&format!("-{name}"), &pid.to_string()]).status();
    assert!(status.unwrap().success(), "kill -{name} {pid}");
}

#[test]
fn sigint_during_up_removes_what_was_built() {
    let Some(_ns) = privileged("sigint_during_up") else { return };
    let lab_file = Path::new(env!("CARGO_MANIFEST_DIR")).join("labs/bridge.toml");
    // A build takes milliseconds: stop the process as soon as its marker appears (the build has
    // begun), queue SIGINT, let it go on. When the build still wins the race the lab is up
    // (exit 0) and we try again; an interrupted build must leave nothing behind.
    let mut interrupted = 0;
    for attempt in 0..20 {
        let name = lab_name(&format!("sigint{attempt}"));
        let _cleanup = DownOnDrop(name.clone());
        let child = netlab()
            .args(["topo", "up"])
            .arg(&lab_file)
            .args(["--name", &name])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let start = Instant::now();
        while !topology::marker::exists(&name) && start.elapsed() < Duration::from_secs(5) {
            std::hint::spin_loop();
        }
        signal(child.id(), "STOP");
        signal(child.id(), "INT");
        signal(child.id(), "CONT");
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        match out.status.code() {
            Some(0) => assert!(netns_exists(&format!("netlab-{name}")), "{stderr}"),
            Some(130) => {
                interrupted += 1;
                assert!(stderr.contains("interrupted by SIGINT"), "{stderr}");
                assert!(!netns_exists(&format!("netlab-{name}")), "{stderr}");
                assert!(!topology::marker::exists(&name), "{stderr}");
            }
            other => panic!("exit {other:?}: {stderr}"),
        }
        if interrupted >= 3 {
            break;
        }
    }
    eprintln!("{interrupted} interrupted builds");
    assert!(interrupted > 0, "no build was interrupted in 20 attempts");
}

/// Regression: with TSO on the sending veth, veth delivers socket-path frames inline on the
/// sending CPU and the receiver's threaded NAPI never runs — so a method's NAPI cost was
/// counted as zero. Frames sent with tcpreplay (AF_PACKET) must be processed by rx0's kthread.
#[test]
fn socket_path_frames_go_through_the_receivers_threaded_napi() {
    for kind in ["veth", "bridge"] {
        let Some(_ns) = privileged("socket_path_frames_go_through_the_receivers_threaded_napi")
        else {
            return;
        };
        let name = lab_name(&format!("napi-{kind}"));
        let lab = Lab::up(&spec(&format!("kind = \"{kind}\"")), &name).unwrap();
        let netns = lab.netns_name().unwrap().to_string();
        let napi_cpu = || -> Duration {
            lab.napi_pids().iter().map(|&p| fastnet::cpu::task_cpu_time(p).unwrap()).sum()
        };
        let (cpu_before, rx_before) = (napi_cpu(), ip_rx_packets(&netns, "rx0"));
        let pcap = Path::new(env!("CARGO_MANIFEST_DIR")).join("packets/udp64.pcap");
        sh(&format!(
            "ip netns exec {netns} tcpreplay -q --pps 20000 -i gen0 -l 10000 {}",
            pcap.display()
        ));
        // Under a loaded test run the veth ring may drop a few; what matters is who did the work.
        let mut last = u64::MAX;
        wait_until("rx0's counter to settle", || {
            let now = ip_rx_packets(&netns, "rx0");
            std::thread::sleep(Duration::from_millis(100));
            std::mem::replace(&mut last, now) == now
        });
        assert!(last - rx_before > 5_000, "{kind}: only {} frames reached rx0", last - rx_before);
        let spent = napi_cpu() - cpu_before;
        // Each frame costs the kthread a few hundred ns at least; inline delivery costs it 0.
        assert!(spent > Duration::from_millis(1), "{kind}: rx0's NAPI kthread ran {spent:?}");
        lab.down().unwrap();
    }
}

/// Regression (issue: namespaces left behind on a fresh machine): where `/run/netns` is a plain
/// directory, not a mount point, a lab's namespace was bind-mounted straight into it; the next
/// `ip netns add` bind-mounted `/run/netns` over itself and hid it, and `topo down` then failed
/// with `EBUSY` and left the namespace pinned for good. Reproduced without touching the host: a
/// private mount namespace with a fresh tmpfs on `/run` (so `/run/netns` does not exist yet),
/// then `topo up`, `ip netns add`, `topo down`.
#[test]
fn regression_ip_netns_add_after_up_on_a_fresh_run_dir_does_not_pin_the_lab() {
    let Some(_ns) = privileged("fresh_run_dir") else { return };
    let name = lab_name("fresh");
    let lab_file = Path::new(env!("CARGO_MANIFEST_DIR")).join("labs/mode3.toml");
    let script = format!(
        r#"set -u
mount -t tmpfs netlab-test /run || exit 99
test ! -e /run/netns || exit 98
"$NETLAB" topo up "$LAB" --name {name} >/dev/null || exit 97
ip netns add probe-{name} || exit 96
"$NETLAB" topo down {name}; echo "down=$?"
echo "list=$(ip netns list | tr '\n' ' ')"
echo "mounts=$(grep -c 'netlab-{name}' /proc/self/mountinfo)"
echo "entries=$(ls /run/netns | tr '\n' ' ')"
echo "markers=$(ls -A /run/netlab | tr '\n' ' ')"
echo "link-errors=$(ip -o link 2>&1 >/dev/null | tr '\n' ' ')"
ip netns del probe-{name}"#
    );
    let out = Command::new("unshare")
        .args(["--mount", "--propagation", "private", "sh", "-c", &script])
        .env("NETLAB", env!("CARGO_BIN_EXE_netlab"))
        .env("LAB", &lab_file)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "exit {:?}: {stdout}{stderr}", out.status.code());
    let field = |key: &str| -> String {
        let line = stdout.lines().find_map(|l| l.strip_prefix(&format!("{key}="))).unwrap_or("?");
        line.trim().to_string()
    };
    assert_eq!(field("down"), "0", "{stdout}{stderr}");
    assert_eq!(field("list"), format!("probe-{name}"), "{stdout}{stderr}");
    assert_eq!(field("mounts"), "0", "{stdout}{stderr}");
    assert_eq!(field("entries"), format!("probe-{name}"), "{stdout}{stderr}");
    assert_eq!(field("markers"), "", "{stdout}{stderr}");
    assert_eq!(field("link-errors"), "", "{stdout}{stderr}");
    assert!(!stderr.to_lowercase().contains("error"), "{stderr}");
}

/// `topo down NAME` of a lab whose owner is alive (here: this test process, as `netlab run`
/// would be) refuses with exit 2 and leaves it up; `--force` removes it and names the
/// processes still inside its namespace. `up` of the same name says it is in use.
#[test]
fn down_refuses_a_lab_in_use_unless_forced_and_names_who_holds_the_namespace() {
    let Some(_ns) = privileged("down_in_use") else { return };
    let name = lab_name("inuse");
    let _cleanup = DownOnDrop(name.clone());
    let lab = Lab::up(&spec("kind = \"veth\""), &name).unwrap();
    let netns = lab.netns_name().unwrap().to_string();

    let err = Lab::up(&spec("kind = \"veth\""), &name).unwrap_err();
    let text = format!("{err:#}");
    assert!(text.contains(&format!("in use by netlab process {}", std::process::id())), "{text}");
    assert!(!text.contains("topo down"), "{text}");

    let out = netlab().args(["topo", "down", &name]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains(&format!("in use by process {}", std::process::id())), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(netns_exists(&netns));
    assert_eq!(lab.stats("rx0").unwrap().rx_dropped, 0);

    let mut holder =
        Command::new("ip").args(["netns", "exec", &netns, "sleep", "30"]).spawn().unwrap();
    wait_until("sleep inside the lab", || {
        std::fs::read_to_string(format!("/proc/{}/comm", holder.id())).is_ok_and(|c| c == "sleep\n")
    });
    let out = netlab().args(["topo", "down", &name, "--force"]).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    holder.kill().unwrap();
    holder.wait().unwrap();
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains(&format!("removed lab `{name}`")), "{stdout}");
    assert!(stdout.contains(&format!("held by process {} (sleep)", holder.id())), "{stdout}");
    assert!(!netns_exists(&netns));
    assert!(!topology::marker::exists(&name));
}

/// `topo down --all` removes half-made `netlab-*` entries (an empty file nothing is mounted on)
/// and says so, and leaves a `netlab-*` namespace that netlab did not make alone. In a private
/// mount namespace with its own `/run`, so it sees no other test's labs.
#[test]
fn down_all_removes_half_made_namespaces_and_leaves_foreign_ones() {
    let Some(_ns) = privileged("down_all_debris") else { return };
    let script = r#"set -u
mount -t tmpfs netlab-test /run || exit 99
mkdir /run/netns && : > /run/netns/netlab-debris && ip netns add netlab-foreign || exit 98
"$NETLAB" topo down --all; echo "down=$?"
echo "entries=$(ls /run/netns | tr '\n' ' ')"
"$NETLAB" topo down foreign; echo "down-foreign=$?"
ip netns del netlab-foreign"#;
    let out = Command::new("unshare")
        .args(["--mount", "--propagation", "private", "sh", "-c", script])
        .env("NETLAB", env!("CARGO_BIN_EXE_netlab"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(stdout.contains("removed the half-made namespace netlab-debris"), "{stdout}");
    assert!(stdout.contains("left namespace netlab-foreign alone"), "{stdout}");
    assert!(stdout.contains("down=0\nentries=netlab-foreign \n"), "{stdout}");
    assert!(stdout.contains("down-foreign=2"), "{stdout}");
    assert!(stderr.contains("namespace netlab-foreign was not made by netlab"), "{stderr}");
}

/// A corrupt marker no longer hides every other lab from `topo show`: it is flagged, the others
/// are listed, and `topo down` removes it.
#[test]
fn show_flags_a_corrupt_marker_and_lists_the_other_labs() {
    let Some(_ns) = privileged("corrupt_marker") else { return };
    let (stdout, stderr) = crate::recv::in_private_run(
        r#"set -u
"$NETLAB" topo up "$LAB" --name good >/dev/null || exit 98
mkdir -p /run/netlab && echo '{"name": "bad", garbage' > /run/netlab/bad.json
"$NETLAB" topo show; echo "exit=$?"
"$NETLAB" topo down --all; echo "exit=$?"
echo "markers=$(ls -A /run/netlab | tr '\n' ' ')""#,
    );
    assert!(stdout.contains("lab `bad`: CORRUPT marker (/run/netlab/bad.json"), "{stdout}");
    assert!(stdout.contains("lab `good` in netlab-good: up"), "{stdout}");
    assert!(stdout.contains("removed lab `good`"), "{stdout}");
    assert!(stdout.contains("markers=\n"), "{stdout}{stderr}");
    assert_eq!(stdout.matches("exit=0").count(), 2, "{stdout}{stderr}");
}
