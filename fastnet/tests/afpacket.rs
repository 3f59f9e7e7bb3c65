//! `AF_PACKET` receivers and senders on a veth pair in a throwaway namespace: every receiver
//! gets exactly what every sender sent, cross-checked with the kernel's socket statistics and
//! the interfaces' own counters.

use std::time::{Duration, Instant};

use fastnet::afpacket::{self, MmsgRx, MmsgTx, ReadRx, RingRx, RingTx, RxConfig, SendTx, TxConfig};
use fastnet::rx::{Receive, RxStats, Wait};
use fastnet::testing::{privileged, sh};
use fastnet::tx::Transmit;
use fastnet::{Error, Tally};

/// The sending end and the receiving end of the test link.
const TX_DEV: &str = "ta";
const RX_DEV: &str = "tb";

/// A quiet veth pair: IPv6 off before the links exist (no router solicitations, no DAD), no
/// addresses, so nothing but the test's frames crosses it.
fn quiet_veth() {
    sh("sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1");
    sh(&format!(
        "ip link add name {TX_DEV} type veth peer name {RX_DEV} && \
         ip link set {TX_DEV} up && ip link set {RX_DEV} up"
    ));
}

/// `packets` of `dir` ("rx"/"tx") from `ip -s -j link show dev DEV`.
fn link_packets(dev: &str, dir: &str) -> u64 {
    let json = sh(&format!("ip -s -j link show dev {dev}"));
    let stats = &json[json.find("\"stats64\"").expect("stats64 in ip -j output")..];
    let section = &stats[stats.find(&format!("\"{dir}\":{{")).expect("rx/tx section")..];
    let value = &section[section.find("\"packets\":").expect("packets") + "\"packets\":".len()..];
    let digits: String = value.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().expect("a packet count")
}

/// A 60-byte Ethernet frame with EtherType `ethertype` and `seq` in its payload.
fn frame(ethertype: u16, seq: u16) -> Vec<u8> {
    let mut f = vec![0u8; 60];
    f[..6].copy_from_slice(&[0x02, 0, 0, 0, 0, 0x02]);
    f[6..12].copy_from_slice(&[0x02, 0, 0, 0, 0, 0x01]);
    f[12..14].copy_from_slice(&ethertype.to_be_bytes());
    f[14] = 0x45; // looks like IPv4 to a human reading a capture; only 12-13 count
    f[20..22].copy_from_slice(&seq.to_be_bytes());
    f
}

/// A receiver under test with what it counted.
struct Probe {
    name: &'static str,
    rx: Box<dyn Receive>,
    tally: Tally,
}

impl Probe {
    fn new(name: &'static str, rx: impl Receive + 'static) -> Self {
        Self { name, rx: Box::new(rx), tally: Tally::default() }
    }

    /// Receives until `frames` frames in total were counted, or panics after a few seconds.
    fn receive_until(&mut self, frames: u64) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.tally.frames < frames {
            assert!(
                Instant::now() < deadline,
                "{}: only {} of {frames} frames arrived",
                self.name,
                self.tally.frames
            );
            self.rx.receive(&mut self.tally, Duration::from_millis(20)).unwrap();
        }
    }
}

/// All three receivers on `dev`, each with room for the largest chunk the tests send.
fn all_receivers(dev: &str, wait: Wait) -> Vec<Probe> {
    let config = RxConfig { buffer: Some(8 << 20), wait, ..RxConfig::default() };
    let ring = RxConfig { buffer: Some(8 << 20), wait, ..RxConfig::default() };
    vec![
        Probe::new("ReadRx", ReadRx::open(dev, &config).unwrap()),
        Probe::new("MmsgRx", MmsgRx::open(dev, &config).unwrap()),
        Probe::new("RingRx", RingRx::open(dev, &ring).unwrap()),
    ]
}

/// Sends `frames` through `tx` in chunks, draining every receiver after each chunk so no
/// buffer can overflow, and checks every receiver's count exactly.
fn send_and_count(tx: &mut dyn Transmit, frames: &[&[u8]], probes: &mut [Probe], chunk: usize) {
    let start: Vec<Tally> =
        probes.iter().map(|p| Tally::counted(p.tally.frames, p.tally.ipv4)).collect();
    let mut sent = 0;
    while sent < frames.len() {
        let end = (sent + chunk).min(frames.len());
        while sent < end {
            let n = tx.transmit(&frames[sent..end]).unwrap();
            sent += n;
        }
        tx.flush().unwrap();
        for (probe, before) in probes.iter_mut().zip(&start) {
            probe.receive_until(before.frames + sent as u64);
        }
    }
    let ipv4 = frames.iter().filter(|f| f[12..14] == [0x08, 0x00]).count() as u64;
    for (probe, before) in probes.iter_mut().zip(&start) {
        // Nothing more may arrive: every frame was counted once.
        let extra = probe.rx.receive(&mut probe.tally, Duration::from_millis(50)).unwrap();
        assert_eq!(extra, 0, "{}: frames beyond those sent", probe.name);
        assert_eq!(probe.tally.frames - before.frames, frames.len() as u64, "{}", probe.name);
        assert_eq!(probe.tally.ipv4 - before.ipv4, ipv4, "{}: IPv4 count", probe.name);
    }
}

#[test]
fn every_receiver_gets_exactly_what_every_sender_sent() {
    let Some(_ns) = privileged("every_receiver_gets_exactly_what_every_sender_sent") else {
        return;
    };
    quiet_veth();
    let mut probes = all_receivers(RX_DEV, Wait::Poll);

    // 10 000 IPv4 frames with 1 000 ARP frames among them (every 11th).
    let ipv4: Vec<Vec<u8>> = (0..16).map(|i| frame(0x0800, i)).collect();
    let arp = frame(0x0806, 0);
    let frames: Vec<&[u8]> = (0..11_000)
        .map(|i| if i % 11 == 10 { arp.as_slice() } else { ipv4[i % 16].as_slice() })
        .collect();
    assert_eq!(frames.iter().filter(|f| f[13] == 0x06).count(), 1000);

    let config = TxConfig::default();
    let mut senders: Vec<(&str, Box<dyn Transmit>)> = vec![
        ("SendTx", Box::new(SendTx::open(TX_DEV, &config).unwrap())),
        ("MmsgTx", Box::new(MmsgTx::open(TX_DEV, &config).unwrap())),
        ("RingTx", Box::new(RingTx::open(TX_DEV, &config).unwrap())),
    ];
    for (round, (name, tx)) in senders.iter_mut().enumerate() {
        eprintln!("sending with {name}");
        send_and_count(tx.as_mut(), &frames, &mut probes, 500);
        let total = (frames.len() * (round + 1)) as u64;
        assert_eq!(link_packets(TX_DEV, "tx"), total, "{name}: {TX_DEV} tx counter");
        assert_eq!(link_packets(RX_DEV, "rx"), total, "{name}: {RX_DEV} rx counter");
    }

    let total = (frames.len() * senders.len()) as u64;
    for probe in &mut probes {
        let stats = probe.rx.kernel_stats().unwrap();
        assert_eq!(
            stats,
            RxStats { packets: total, drops: 0, freeze_q: 0 },
            "{}: kernel statistics",
            probe.name
        );
        assert_eq!(probe.tally, Tally::counted(total, total / 11 * 10), "{}", probe.name);
        // Reading resets the kernel's counters; ours stay cumulative.
        assert_eq!(probe.rx.kernel_stats().unwrap().packets, total, "{}", probe.name);
    }
}

#[test]
fn busy_receivers_count_and_time_out() {
    let Some(_ns) = privileged("busy_receivers_count_and_time_out") else { return };
    quiet_veth();
    let mut probes = all_receivers(RX_DEV, Wait::Busy);
    for probe in &mut probes {
        let started = Instant::now();
        let n = probe.rx.receive(&mut probe.tally, Duration::from_millis(30)).unwrap();
        let waited = started.elapsed();
        assert_eq!(n, 0, "{}: nothing was sent", probe.name);
        assert!(waited >= Duration::from_millis(30), "{}: returned after {waited:?}", probe.name);
    }
    let frames: Vec<Vec<u8>> = (0..1000).map(|i| frame(0x0800, i)).collect();
    let refs: Vec<&[u8]> = frames.iter().map(Vec::as_slice).collect();
    let mut tx = MmsgTx::open(TX_DEV, &TxConfig { batch: 256, ..TxConfig::default() }).unwrap();
    send_and_count(&mut tx, &refs, &mut probes, 1000);
    assert_eq!(link_packets(RX_DEV, "rx"), 1000);
}

#[test]
fn receivers_ignore_what_their_host_sends_out() {
    let Some(_ns) = privileged("receivers_ignore_what_their_host_sends_out") else { return };
    quiet_veth();
    // Receivers on the sending interface: with PACKET_IGNORE_OUTGOING (the default) they see
    // nothing of the frames leaving it; without, they see every one.
    let mut ignoring = all_receivers(TX_DEV, Wait::Poll);
    let seeing = RxConfig { ignore_outgoing: false, buffer: Some(8 << 20), ..RxConfig::default() };
    let mut all = Probe::new("MmsgRx (outgoing too)", MmsgRx::open(TX_DEV, &seeing).unwrap());
    let one = frame(0x0800, 7);
    let frames = vec![one.as_slice(); 300];
    let config = TxConfig { qdisc_bypass: false, ..TxConfig::default() };
    let mut tx = SendTx::open(TX_DEV, &config).unwrap();
    assert_eq!(tx.transmit(&frames).unwrap(), 300);
    all.receive_until(300);
    for probe in &mut ignoring {
        let n = probe.rx.receive(&mut probe.tally, Duration::from_millis(50)).unwrap();
        assert_eq!(n, 0, "{} counted outgoing frames", probe.name);
    }
    assert_eq!(link_packets(RX_DEV, "rx"), 300);
}

/// `Err` with this errno, or a panic saying what came instead.
fn assert_errno(result: fastnet::Result<usize>, errno: i32, who: &str) {
    match result {
        Err(Error::Syscall(e)) if e.raw_os_error() == Some(errno) => {}
        other => panic!("{who}: expected errno {errno}, got {other:?}"),
    }
}

#[test]
fn oversized_and_runt_frames_are_refused_with_their_errno() {
    let Some(_ns) = privileged("oversized_and_runt_frames_are_refused_with_their_errno") else {
        return;
    };
    quiet_veth();
    sh(&format!("ip link set {TX_DEV} mtu 1000"));
    assert_eq!(afpacket::mtu(TX_DEV).unwrap(), 1000);
    let too_big = vec![0u8; 1000 + 14 + 1];
    let fits = {
        let mut f = vec![0u8; 1000 + 14];
        f[12..14].copy_from_slice(&[0x08, 0x00]);
        f
    };
    let config = TxConfig::default();
    let mut senders: Vec<(&str, Box<dyn Transmit>)> = vec![
        ("SendTx", Box::new(SendTx::open(TX_DEV, &config).unwrap())),
        ("MmsgTx", Box::new(MmsgTx::open(TX_DEV, &config).unwrap())),
        ("RingTx", Box::new(RingTx::open(TX_DEV, &config).unwrap())),
    ];
    for (name, tx) in &mut senders {
        assert_errno(tx.transmit(&[&too_big]), libc::EMSGSIZE, name);
        // A good frame before a bad one: the good one goes, the bad one is reported next.
        assert_eq!(tx.transmit(&[&fits, &too_big]).unwrap(), 1, "{name}");
        assert_errno(tx.transmit(&[&too_big]), libc::EMSGSIZE, name);
        tx.flush().unwrap();
    }
    assert_eq!(link_packets(TX_DEV, "tx"), 3, "only the frames that fit left");
    assert_eq!(link_packets(RX_DEV, "rx"), 3);
}

#[test]
fn missing_interface_and_bad_config_are_reported_before_anything_opens() {
    let Some(_ns) = privileged("missing_interface_and_bad_config") else { return };
    let rx = RxConfig::default();
    let tx = TxConfig::default();
    let missing = |r: fastnet::Result<()>| {
        assert!(matches!(r, Err(Error::NoSuchInterface(ref n)) if n == "nope0"), "{r:?}");
    };
    missing(ReadRx::open("nope0", &rx).map(drop));
    missing(MmsgRx::open("nope0", &rx).map(drop));
    missing(RingRx::open("nope0", &rx).map(drop));
    missing(SendTx::open("nope0", &tx).map(drop));
    missing(MmsgTx::open("nope0", &tx).map(drop));
    missing(RingTx::open("nope0", &tx).map(drop));
    missing(fastnet::ifindex("nope0").map(drop));
    assert!(fastnet::ifindex("lo").unwrap() > 0);

    let small = RxConfig { buffer: Some(100), ..RxConfig::default() };
    for r in [
        ReadRx::open("lo", &small).map(drop),
        MmsgRx::open("lo", &small).map(drop),
        RingRx::open("lo", &small).map(drop),
    ] {
        assert!(matches!(r, Err(Error::InvalidConfig { what: "buffer", .. })), "{r:?}");
    }
    let slot = TxConfig { frame_size: 3000, ..TxConfig::default() };
    let r = RingTx::open("lo", &slot).map(drop);
    assert!(matches!(r, Err(Error::InvalidConfig { what: "frame size", .. })), "{r:?}");
}

#[test]
fn overflowing_receivers_count_every_drop() {
    let Some(_ns) = privileged("overflowing_receivers_count_every_drop") else { return };
    quiet_veth();
    // Buffers far too small for what arrives before anyone reads: the kernel drops, and says
    // so; received + dropped must account for every frame sent.
    let small = RxConfig { buffer: Some(4096), ..RxConfig::default() };
    let small_ring = RxConfig { buffer: Some(64 << 10), ..RxConfig::default() };
    let mut probes = vec![
        Probe::new("ReadRx", ReadRx::open(RX_DEV, &small).unwrap()),
        Probe::new("MmsgRx", MmsgRx::open(RX_DEV, &small).unwrap()),
        Probe::new("RingRx", RingRx::open(RX_DEV, &small_ring).unwrap()),
    ];
    let one = frame(0x0800, 1);
    let frames = vec![one.as_slice(); 2000];
    let mut tx = MmsgTx::open(TX_DEV, &TxConfig::default()).unwrap();
    let mut sent = 0;
    while sent < frames.len() {
        sent += tx.transmit(&frames[sent..]).unwrap();
    }
    for probe in &mut probes {
        while probe.rx.receive(&mut probe.tally, Duration::from_millis(50)).unwrap() > 0 {}
        let stats = probe.rx.kernel_stats().unwrap();
        assert!(stats.drops > 0, "{}: nothing dropped ({stats:?})", probe.name);
        assert_eq!(stats.packets, 2000, "{}", probe.name);
        assert_eq!(probe.tally.frames + stats.drops, 2000, "{}: {stats:?}", probe.name);
    }
    assert_eq!(link_packets(RX_DEV, "rx"), 2000);
}
