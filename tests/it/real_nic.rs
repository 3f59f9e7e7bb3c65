//! Receiving outside netlab's own labs, as on a class's VM: in a namespace whose `/sys` is its
//! own (the host's namespace, a shell started with `ip netns exec`), and while frames keep
//! coming after `--duration` or `--count` is reached.
//!
//! Never on the host's namespace: a named namespace of the test's own, entered with
//! `ip netns exec` (which mounts that namespace's sysfs over `/sys`, as the host's namespace has
//! it), or the test thread's throwaway namespace.

use std::io::BufRead as _;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use fastnet::testing::{privileged, sh};

use super::util::{netlab, udp64};

/// A named network namespace with a veth `tx0` ↔ `r0` inside, deleted on drop.
struct Named(String);

impl Named {
    fn new(test: &str) -> Named {
        static COUNT: AtomicUsize = AtomicUsize::new(0);
        let name =
            format!("i24{test}-{}-{}", std::process::id(), COUNT.fetch_add(1, Ordering::Relaxed));
        sh(&format!("ip netns add {name}"));
        let named = Named(name);
        named
            .sh("sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1");
        named.sh(
            "ip link add tx0 type veth peer name r0 && ip link set tx0 up && ip link set r0 up",
        );
        named
    }

    /// `command` in a shell started with `ip netns exec`.
    fn sh(&self, command: &str) -> String {
        sh(&format!("ip netns exec {} sh -c '{command}'", self.0))
    }

    /// `netlab ARGS` started with `ip netns exec` (no `--netns`).
    fn netlab(&self, args: &[&str]) -> Command {
        let mut command = Command::new("ip");
        command.args(["netns", "exec", &self.0, env!("CARGO_BIN_EXE_netlab")]).args(args);
        command
    }
}

impl Drop for Named {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
    }
}

/// Spawns `recv` with stderr piped and waits for its "receiving on" line (the method is open).
fn spawn_ready(mut recv: Command) -> Child {
    let mut child = recv.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let mut stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    while !line.contains("receiving on") {
        line.clear();
        let n = stderr.read_line(&mut line).unwrap();
        assert!(n > 0, "netlab recv ended before it was ready");
    }
    // Keep reading its progress lines, so it never blocks on a full pipe.
    std::thread::spawn(move || std::io::copy(&mut stderr, &mut std::io::sink()));
    child
}

/// Waits for `child` at most `limit`; kills it (and fails) when it runs longer.
fn wait_within(child: &mut Child, limit: Duration, what: &str) -> std::process::ExitStatus {
    let t0 = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if t0.elapsed() > limit {
            // SIGINT: it stops and prints what it counted, for the failure message.
            sh(&format!("kill -INT {}", child.id()));
            std::thread::sleep(Duration::from_secs(2));
            let _ = child.kill();
            let mut out = String::new();
            if let Some(mut stdout) = child.stdout.take() {
                let _ = std::io::Read::read_to_string(&mut stdout, &mut out);
            }
            let _ = child.wait();
            panic!("{what}: still running after {limit:?}; stopped, it said: {out}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn json_of(child: Child) -> serde_json::Value {
    let out = child.wait_with_output().unwrap();
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

/// Regression (issue 24): fastnet:3 set its NAPI deferral up by mounting a sysfs over `/sys`,
/// which the kernel refuses (EBUSY) where `/sys` already is the namespace's own — and the error
/// blamed an XDP program. In a shell started with `ip netns exec`, without `--netns`, it now
/// receives exactly what was sent, with the deferral set while it runs and put back after —
/// and, on an interface outside a lab, its NAPI threaded for the receive, so that the kernel's
/// half of the CPU is measured, and `threaded` put back after.
#[test]
fn fastnet3_in_an_ip_netns_exec_shell_counts_exactly() {
    let Some(_guard) = privileged("fastnet3_in_an_ip_netns_exec_shell_counts_exactly") else {
        return;
    };
    let ns = Named::new("x");
    let settings = || ns.sh("cd /sys/class/net/r0 && cat napi_defer_hard_irqs threaded");
    let before = settings();
    assert_eq!(before.split_whitespace().nth(1), Some("0"), "a new veth runs NAPI inline");
    let recv = ["recv", "-i", "r0", "-m", "fastnet:3", "--json", "--count", "100000"];
    let mut recv = spawn_ready(ns.netlab(&recv));
    let during = settings();
    let replay = ns
        .netlab(&["replay", "-q", "--engine", "ring", "-p", "100000", "-L", "100000", "-i", "tx0"])
        .arg(udp64())
        .output()
        .unwrap();
    assert!(replay.status.success(), "{}", String::from_utf8_lossy(&replay.stderr));
    let status = wait_within(&mut recv, Duration::from_secs(30), "recv --count 100000");
    assert!(status.success(), "recv: {status}");
    let json = json_of(recv);
    assert_eq!(json["app_rx_frames"].as_u64(), Some(100_000), "{json}");
    assert_eq!(json["iface_rx_frames"].as_u64(), Some(100_000), "{json}");
    // Deferral set, NAPI threaded, and its kernel half measured while it received…
    assert_eq!(during.split_whitespace().collect::<Vec<_>>(), ["2", "1"], "while receiving");
    assert!(json["napi_cpu_ns"].as_u64().is_some_and(|ns| ns > 0), "kernel CPU: {json}");
    assert!(json["ns_per_frame"].as_f64().is_some(), "{json}");
    // …and both put back after.
    assert_eq!(settings(), before, "napi_defer_hard_irqs and threaded after fastnet:3 ended");
}

/// Regression (issue 24): `recv --duration` ran until the sender stopped, because its drain
/// waited for a quiet that never came. While 1 000 pps keep arriving, every kind of receiver
/// (TPACKET ring, AF_XDP, XDP in the kernel) ends a 2 s run within 3 s, `--count` ends it
/// once reached, and SIGTERM ends it as Ctrl-C does.
#[test]
fn recv_ends_on_time_while_frames_keep_coming() {
    let Some(_ns) = privileged("recv_ends_on_time_while_frames_keep_coming") else { return };
    sh("sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1");
    sh("ip link add tx0 type veth peer name r0 && ip link set tx0 up && ip link set r0 up");
    let mut sender = netlab()
        .args(["replay", "-q", "--engine", "ring", "-p", "1000", "--duration", "14s", "-i", "tx0"])
        .arg(udp64())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    struct Stop<'a>(&'a mut Child);
    impl Drop for Stop<'_> {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let sender = Stop(&mut sender);
    let recv = |extra: &[&str], method: &str| {
        let mut command = netlab();
        command.args(["recv", "-i", "r0", "-m", method, "--json"]).args(extra);
        spawn_ready(command)
    };
    for method in ["pcap", "fastnet:3", "xdp-drop"] {
        let t0 = Instant::now();
        let mut child = recv(&["--duration", "2s"], method);
        let status = wait_within(&mut child, Duration::from_secs(3), method);
        let took = t0.elapsed();
        assert!(status.success(), "{method}: {status}");
        let json = json_of(child);
        let frames = json["app_rx_frames"].as_u64().unwrap();
        assert!((1000..=3000).contains(&frames), "{method}: 2 s at 1 000 pps: {json}");
        assert!(took < Duration::from_secs(3), "{method}: --duration 2s took {took:?}");
    }
    let mut child = recv(&["--count", "300"], "pcap");
    let status = wait_within(&mut child, Duration::from_secs(2), "--count 300");
    assert!(status.success(), "--count 300: {status}");
    let frames = json_of(child)["app_rx_frames"].as_u64().unwrap();
    assert!((300..=600).contains(&frames), "--count 300 received {frames}");

    let mut child = recv(&[], "fastnet:3");
    std::thread::sleep(Duration::from_millis(500));
    sh(&format!("kill -TERM {}", child.id()));
    let status = wait_within(&mut child, Duration::from_secs(1), "SIGTERM");
    assert!(status.success(), "SIGTERM ends a run without --duration as Ctrl-C does: {status}");
    assert!(json_of(child)["app_rx_frames"].as_u64().unwrap() > 0);
    assert!(sender.0.try_wait().unwrap().is_none(), "the sender stopped before the receivers");
}

/// Removes lab `name` when dropped, whatever the test did.
struct LabDown(String);

impl Drop for LabDown {
    fn drop(&mut self) {
        let _ = netlab::topology::down(&self.0, true);
    }
}

/// Issue 25: on a kernel without the netdev netlink family (Linux < 6.8, here forced with
/// `FASTNET_WITHOUT=netdev-netlink`), threaded NAPI is set up all the same: its kthreads are
/// found by name — the right ones while another lab has an interface of the same name — and
/// pinned; `recv` measures their CPU by name, and says it cannot (null, never 0) when two
/// interfaces of that name run threaded NAPI.
#[test]
fn napi_kthreads_are_found_by_name_without_netdev_netlink() {
    use fastnet::netns::NetNs;
    use netlab::topology::napi::{napi_of, Lookup};
    let Some(_ns) = privileged("napi_kthreads_are_found_by_name_without_netdev_netlink") else {
        return;
    };
    // A receiver name no other test uses: its kthreads are `napi/<it>-<id>`.
    let rx = format!("nr{}", std::process::id() % 1_000_000);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("lab.toml");
    std::fs::write(
        &file,
        format!(
            "name = \"byname\"\n[topology]\nkind = \"veth\"\ngenerator = \"gn0\"\n\
             receiver = \"{rx}\"\nnapi = \"threaded\"\n"
        ),
    )
    .unwrap();
    let up = |name: &str, without: Option<&str>| {
        let mut command = netlab();
        command.args(["topo", "up", "-q"]).arg(&file).args(["--name", name]);
        if let Some(features) = without {
            command.env(fastnet::caps::WITHOUT_VAR, features);
        }
        let out = command.output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        netlab::topology::marker::read(name).unwrap().unwrap()
    };
    let (a, b) = (format!("i25a-{}", std::process::id()), format!("i25b-{}", std::process::id()));
    let _down_a = LabDown(a.clone());
    let mut down_b = Some(LabDown(b.clone()));
    // B first, over netlink; then A by name, while B's kthreads carry the same name.
    let lab_b = up(&b, None);
    let lab_a = up(&a, Some("netdev-netlink"));
    assert!(!lab_a.napi_pids.is_empty());
    assert!(lab_a.napi_pids.iter().all(|p| !lab_b.napi_pids.contains(p)), "{lab_a:?} {lab_b:?}");
    for &pid in &lab_a.napi_pids {
        let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap();
        assert!(comm.starts_with(&format!("napi/{rx}-")), "{comm}");
        let allowed = fastnet::cpu::task_affinity(pid).unwrap();
        assert_eq!(allowed, [lab_a.rx_core], "kthread {pid} pinned");
    }
    // What netlink says of A's receiver: the kthreads found by name were the right ones.
    let ns = NetNs::open_named(&lab_a.netns).unwrap();
    let (napis, lookup) = ns.run(|| napi_of(&rx, fastnet::ifindex(&rx).unwrap())).unwrap().unwrap();
    assert_eq!(lookup, Lookup::Netlink);
    let mut by_netlink: Vec<u32> = napis.iter().filter_map(|n| n.pid).collect();
    by_netlink.sort_unstable();
    let mut by_name = lab_a.napi_pids.clone();
    by_name.sort_unstable();
    assert_eq!(by_name, by_netlink);

    // recv's kernel CPU, found by name: missing while two labs have threaded `rx`, measured
    // once only A's is left.
    let recv_napi_cpu = || {
        let mut recv = netlab();
        recv.env(fastnet::caps::WITHOUT_VAR, "netdev-netlink")
            .args(["recv", "--netns", &lab_a.netns, "-i", &rx, "-m", "pcap", "--json"])
            .args(["--count", "2000"]);
        let child = spawn_ready(recv);
        let replay = netlab()
            .args(["replay", "-q", "--netns", &lab_a.netns, "-i", "gn0", "--engine", "ring"])
            .args(["-p", "20000", "-L", "2000"])
            .arg(udp64())
            .output()
            .unwrap();
        assert!(replay.status.success(), "{}", String::from_utf8_lossy(&replay.stderr));
        let json = json_of(child);
        assert_eq!(json["app_rx_frames"].as_u64(), Some(2000), "{json}");
        json
    };
    let both = recv_napi_cpu();
    assert!(both["napi_cpu_ns"].is_null(), "ambiguous kthreads measured: {both}");
    assert!(both["napi_ns_per_frame"].is_null(), "{both}");
    drop(down_b.take());
    let alone = recv_napi_cpu();
    assert!(alone["napi_cpu_ns"].as_u64().is_some_and(|ns| ns > 0), "{alone}");
}

/// Issue 24: fastnet:3's NAPI deferral stayed changed after a `SIGKILL`. The receiver notes
/// what it changes (the deferral, and `threaded` on an interface outside a lab) in the journal
/// under `/run/netlab/restore`, and the next netlab that starts puts it back.
#[test]
fn napi_deferral_left_by_a_killed_receiver_is_put_back_at_the_next_start() {
    let Some(_guard) =
        privileged("napi_deferral_left_by_a_killed_receiver_is_put_back_at_the_next_start")
    else {
        return;
    };
    let ns = Named::new("k");
    let read =
        || ns.sh("cd /sys/class/net/r0 && cat napi_defer_hard_irqs gro_flush_timeout threaded");
    let before = read();
    let mut recv = spawn_ready(ns.netlab(&["recv", "-i", "r0", "-m", "fastnet:3"]));
    assert_ne!(read(), before, "fastnet:3 sets the NAPI deferral while it runs");
    let pid = recv.id();
    let notes = || -> Vec<String> {
        std::fs::read_dir(fastnet::restore::JOURNAL_DIR)
            .into_iter()
            .flatten()
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|n| n.starts_with(&format!("{pid}-")))
            .collect()
    };
    assert_eq!(notes().len(), 3, "three settings noted: {:?}", notes());
    recv.kill().unwrap(); // SIGKILL: nothing is put back by the receiver itself.
    recv.wait().unwrap();
    let out = ns.netlab(&["topo", "show"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(read(), before, "after the next netlab started");
    assert!(notes().is_empty(), "notes left: {:?}", notes());
}
