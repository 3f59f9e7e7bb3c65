//! AF_XDP receiver tests, each in a throwaway network namespace with a veth pair `va` ↔ `vb`.

use std::time::Duration;

use super::*;
use crate::bpf::tests::{frame, has_xdp, send_with_python, veth_pair};
use crate::testing::{privileged, sh};

/// Receives until `want` frames arrived or a second passed with nothing new.
fn receive_all(rx: &mut XskRx, want: u64) -> Tally {
    let mut tally = Tally::default();
    while tally.frames < want {
        if rx.receive(&mut tally, Duration::from_secs(1)).unwrap() == 0 {
            break;
        }
    }
    tally
}

/// Sends `n` IPv4 frames out of `ifname` from a packet socket, `per_call` at a time with a
/// millisecond between calls, so the peer's NAPI takes each group before the next (no frame is
/// lost before the receiver's XDP program: every one reaches it).
fn send_spaced(ifname: &str, n: usize, per_call: usize) {
    use crate::tx::Transmit;
    let ip = frame(0x0800);
    let mut tx = crate::afpacket::SendTx::open(ifname, &Default::default()).unwrap();
    let mut left = n;
    while left > 0 {
        let group = vec![ip.as_slice(); per_call.min(left)];
        let mut sent = 0;
        while sent < group.len() {
            sent += tx.transmit(&group[sent..]).unwrap();
        }
        left -= group.len();
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// `ip -s link` RX packets of `ifname` (the kernel's netlink counter).
fn rx_packets(ifname: &str) -> u64 {
    let out = sh(&format!("ip -s -j link show {ifname}"));
    let at = out.find("\"rx\":").expect("stats64 rx in ip -j output");
    let rest = &out[at..];
    let p = rest.find("\"packets\":").expect("rx packets") + "\"packets\":".len();
    rest[p..].split(|c: char| !c.is_ascii_digit()).next().unwrap().parse().unwrap()
}

#[test]
fn af_xdp_receives_exactly_what_was_sent() {
    let Some(_ns) = privileged("af_xdp_receives_exactly_what_was_sent") else { return };
    veth_pair();
    for wait in [Wait::Poll, Wait::Busy] {
        let before = rx_packets("vb");
        let config = XskConfig { wait, ..XskConfig::default() };
        let mut rx = XskRx::open("vb", 0, &config).unwrap();
        assert!(has_xdp("vb"));
        send_with_python("va", 1000, 250);
        let tally = receive_all(&mut rx, 1250);
        assert_eq!(tally, Tally::counted(1250, 1000), "{wait:?}");
        // Nothing more arrives, and the wait honours the timeout.
        let mut extra = Tally::default();
        assert_eq!(rx.receive(&mut extra, Duration::from_millis(30)).unwrap(), 0);
        let stats = rx.kernel_stats().unwrap();
        assert_eq!(stats, RxStats { packets: 1250, drops: 0, freeze_q: 0 });
        assert_eq!(rx.xdp_statistics().unwrap(), XskStats::default());
        assert_eq!(rx_packets("vb") - before, 1250, "netlink counter of b");
        drop(rx);
        assert!(!has_xdp("vb"), "{}", sh("ip link show vb"));
    }
}

#[test]
fn af_xdp_counts_every_frame_and_reports_ring_drops() {
    let Some(_ns) = privileged("af_xdp_counts_every_frame_and_reports_ring_drops") else {
        return;
    };
    veth_pair();
    // A small UMEM that 10 000 frames overflow while nobody reads.
    let config = XskConfig { frames: 512, fill_size: 512, rx_size: 512, ..XskConfig::default() };
    let mut rx = XskRx::open("vb", 0, &config).unwrap();
    send_spaced("va", 10_000, 100);
    let tally = receive_all(&mut rx, 10_000);
    let stats = rx.kernel_stats().unwrap();
    let full = rx.xdp_statistics().unwrap();
    assert!(tally.frames >= 512 && tally.frames < 10_000, "{tally:?}");
    assert_eq!(tally.ipv4, tally.frames);
    assert_eq!(stats.packets, 10_000, "{stats:?} {full:?}");
    assert_eq!(stats.drops, 10_000 - tally.frames, "{stats:?} {full:?}");
    assert!(full.rx_fill_ring_empty_descs > 0 || full.rx_ring_full > 0, "{full:?}");
}

#[test]
fn bad_config_is_refused_before_touching_the_interface() {
    let Some(_ns) = privileged("bad_config_is_refused_before_touching_the_interface") else {
        return;
    };
    veth_pair();
    for config in [
        XskConfig { frame_size: 1000, ..XskConfig::default() },
        XskConfig { frames: 1, ..XskConfig::default() },
        XskConfig { rx_size: 1000, ..XskConfig::default() },
        XskConfig { batch: 0, ..XskConfig::default() },
        XskConfig { max_delay: Duration::from_secs(2), ..XskConfig::default() },
    ] {
        assert!(matches!(XskRx::open("vb", 0, &config), Err(Error::InvalidConfig { .. })));
    }
    assert!(matches!(
        XskRx::open("nope", 0, &XskConfig::default()),
        Err(Error::NoSuchInterface(_))
    ));
    assert!(matches!(
        XskRx::open("vb", 7, &XskConfig::default()),
        Err(Error::InvalidConfig { .. })
    ));
    assert!(!has_xdp("vb"));
    probe_socket().unwrap();
}

/// The child half of `sigkill_leaves_no_xdp_program`: attach, say so, sleep.
const CHILD_ENV: &str = "FASTNET_TEST_XSK_CHILD";

#[test]
fn sigkill_leaves_no_xdp_program() {
    if std::env::var_os(CHILD_ENV).is_some() {
        let _rx = XskRx::open("vb", 0, &XskConfig::default()).unwrap();
        println!("attached");
        std::thread::sleep(Duration::from_secs(60));
        return;
    }
    let Some(_ns) = privileged("sigkill_leaves_no_xdp_program") else { return };
    veth_pair();
    // Re-run this test binary for just this test: the child inherits this thread's namespace.
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "xdp::tests::sigkill_leaves_no_xdp_program", "--nocapture"])
        .env(CHILD_ENV, "1")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    while !line.contains("attached") {
        line.clear();
        let n = std::io::BufRead::read_line(&mut out, &mut line).unwrap();
        assert!(n > 0, "child exited before attaching: {:?}", child.wait());
    }
    assert!(has_xdp("vb"), "{}", sh("ip link show vb"));
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    // The link's release runs as the dead process's files close; give it a moment.
    let mut gone = false;
    for _ in 0..100 {
        if !has_xdp("vb") {
            gone = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(gone, "{}", sh("ip link show vb"));
}

/// The calling thread's scheduling policy, from `/proc/thread-self/stat` (field 41).
fn thread_policy() -> u32 {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").unwrap();
    let after = &stat[stat.rfind(')').unwrap() + 2..];
    after.split_whitespace().nth(41 - 3).unwrap().parse().unwrap()
}

#[test]
fn a_polling_receiver_thread_becomes_sched_batch() {
    let Some(_ns) = privileged("a_polling_receiver_thread_becomes_sched_batch") else { return };
    veth_pair();
    let cases = [
        (XskConfig::default(), libc::SCHED_BATCH),
        (XskConfig { sched_batch: false, ..XskConfig::default() }, libc::SCHED_OTHER),
        (XskConfig { wait: Wait::Busy, ..XskConfig::default() }, libc::SCHED_OTHER),
    ];
    for (config, want) in cases {
        // A fresh thread each time (it inherits this thread's namespace), as the policy stays.
        let policy = std::thread::spawn(move || {
            assert_eq!(thread_policy(), libc::SCHED_OTHER as u32);
            let rx = XskRx::open("vb", 0, &config).unwrap();
            let policy = thread_policy();
            drop(rx);
            policy
        })
        .join()
        .unwrap();
        assert_eq!(policy, want as u32, "{config:?}");
    }
}

/// `napi_defer_hard_irqs` and `gro_flush_timeout` of `ifname`, as this namespace's sysfs
/// shows them.
fn napi_deferral(ifname: &str) -> (String, String) {
    crate::netns::NetNs::current()
        .unwrap()
        .run_with_sysfs(|sys| {
            let dir = sys.join("class/net").join(ifname);
            let read =
                |name: &str| std::fs::read_to_string(dir.join(name)).unwrap().trim().to_string();
            (read("napi_defer_hard_irqs"), read("gro_flush_timeout"))
        })
        .unwrap()
}

fn set_napi_deferral(ifname: &str, defer_irqs: &str, timeout: &str) {
    crate::netns::NetNs::current()
        .unwrap()
        .run_with_sysfs(|sys| {
            let dir = sys.join("class/net").join(ifname);
            std::fs::write(dir.join("napi_defer_hard_irqs"), defer_irqs).unwrap();
            std::fs::write(dir.join("gro_flush_timeout"), timeout).unwrap();
        })
        .unwrap();
}

#[test]
fn a_coalescing_receiver_defers_napi_while_open_and_restores_it() {
    let Some(_ns) = privileged("a_coalescing_receiver_defers_napi_while_open_and_restores_it")
    else {
        return;
    };
    veth_pair();
    // Values of our own, to see them come back.
    set_napi_deferral("vb", "1", "30000");
    let mut rx = XskRx::open("vb", 0, &XskConfig::default()).unwrap();
    assert_eq!(napi_deferral("vb"), ("2".into(), "0".into()), "no rate known yet: no timer");
    assert_eq!(rx.napi_timeout(), Some(Duration::ZERO));
    assert_eq!(rx.delay_bound(), DEFAULT_MAX_DELAY);
    let defer = rx.defer.as_mut().unwrap();
    defer.retune(Duration::from_millis(1)).unwrap();
    assert_eq!(napi_deferral("vb").1, "1000000");
    defer.retune(Duration::from_micros(1500)).unwrap();
    assert_eq!(napi_deferral("vb").1, "1000000", "within a factor of two: left alone");
    defer.retune(Duration::from_micros(10)).unwrap();
    assert_eq!(napi_deferral("vb").1, "0", "below MIN_TIMEOUT: no timer");

    // A flow: 30 rounds of 20 frames. The receiver sees a rate and gives NAPI a timer, and
    // still gets every frame.
    let mut tally = Tally::default();
    for _ in 0..30 {
        send_spaced("va", 20, 20);
        rx.receive(&mut tally, Duration::from_millis(50)).unwrap();
    }
    let timeout = rx.napi_timeout().unwrap();
    assert!(timeout > Duration::ZERO && timeout <= DEFAULT_MAX_DELAY / 2, "{timeout:?}");
    assert_eq!(napi_deferral("vb").1, timeout.as_nanos().to_string());
    let tally = {
        let mut rest = receive_all(&mut rx, 600 - tally.frames);
        rest.frames += tally.frames;
        rest.ipv4 += tally.ipv4;
        rest
    };
    assert_eq!(tally, Tally::counted(600, 600));
    drop(rx);
    assert_eq!(napi_deferral("vb"), ("1".into(), "30000".into()), "restored on close");

    // Without a budget the interface is left alone, and frames are seen at once.
    let rx = XskRx::open("vb", 0, &XskConfig { max_delay: Duration::ZERO, ..XskConfig::default() })
        .unwrap();
    assert_eq!(napi_deferral("vb"), ("1".into(), "30000".into()));
    assert_eq!(rx.napi_timeout(), None);
    assert_eq!(rx.delay_bound(), Duration::ZERO);
}
