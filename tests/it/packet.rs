//! `netlab packet new | rewrite | show`: the shipped packet, checksums cross-checked with tshark,
//! address rewriting, pcapng input made by Wireshark's own tools, and every bad input.

use super::util::netlab;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use netlab::packet::{self, Frame, UdpSpec};

fn shipped() -> PathBuf {
    super::util::udp64()
}

fn run(args: &[&str]) -> Output {
    netlab().args(args).output().expect("netlab runs")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn ok(args: &[&str]) -> String {
    let out = run(args);
    assert!(out.status.success(), "netlab {args:?} failed: {}", stderr(&out));
    stdout(&out)
}

fn under_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// Whether a Wireshark tool is installed; under CI a missing one fails the test, elsewhere the
/// test prints SKIPPED and returns.
fn have(tool: &str, test: &str) -> bool {
    let found = Command::new(tool).arg("--version").output().is_ok_and(|o| o.status.success());
    if !found {
        assert!(!under_ci(), "{test}: `{tool}` is required under CI but is not installed");
        eprintln!("SKIPPED {test}: `{tool}` is not installed");
    }
    found
}

/// tshark's verdict on every packet's IPv4 and UDP checksums, one "ip udp" pair per packet
/// (tshark prints the status enum: 0 bad, 1 good, 2 unverified).
fn tshark_checksums(file: &Path) -> Vec<(String, String)> {
    let out = Command::new("tshark")
        .args(["-r"])
        .arg(file)
        .args(["-o", "udp.check_checksum:TRUE", "-o", "ip.check_checksum:TRUE", "-T", "fields"])
        .args(["-e", "ip.checksum.status", "-e", "udp.checksum.status"])
        .output()
        .expect("tshark runs");
    assert!(out.status.success(), "tshark failed: {}", stderr(&out));
    stdout(&out)
        .lines()
        .map(|line| {
            let (ip, udp) = line.split_once('\t').expect("two fields");
            let name = |s: &str| match s {
                "1" => "good".to_string(),
                "0" => "bad".to_string(),
                other => format!("status {other}"),
            };
            (name(ip), name(udp))
        })
        .collect()
}

fn tshark_fields(file: &Path, fields: &[&str]) -> Vec<String> {
    let mut cmd = Command::new("tshark");
    cmd.arg("-r").arg(file).args(["-T", "fields"]);
    for protocol in ["ip", "udp", "tcp"] {
        cmd.args(["-o", &format!("{protocol}.check_checksum:TRUE")]);
    }
    for field in fields {
        cmd.args(["-e", field]);
    }
    let out = cmd.output().expect("tshark runs");
    assert!(out.status.success(), "tshark failed: {}", stderr(&out));
    stdout(&out).lines().map(str::to_string).collect()
}

#[test]
fn new_reproduces_the_shipped_packet_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("x.pcap");
    let printed = ok(&["packet", "new", "-o", out.to_str().unwrap()]);
    assert!(printed.contains("64 bytes on the wire, 60 captured"), "{printed}");
    assert_eq!(std::fs::read(&out).unwrap(), std::fs::read(shipped()).unwrap());
    // The same, with every default spelled out on the command line.
    let explicit = dir.path().join("explicit.pcap");
    ok(&[
        "packet",
        "new",
        "--src-mac",
        "02-00-00-00-00-01",
        "--dst-mac",
        "02:00:00:00:00:02",
        "--src-ip",
        "198.18.0.1",
        "--dst-ip",
        "198.18.0.2",
        "--sport",
        "1024",
        "--dport",
        "9",
        "--size",
        "64",
        "-o",
        explicit.to_str().unwrap(),
    ]);
    assert_eq!(std::fs::read(&explicit).unwrap(), std::fs::read(shipped()).unwrap());
}

#[test]
fn shipped_packet_as_tshark_sees_it() {
    if !have("tshark", "shipped_packet_as_tshark_sees_it") {
        return;
    }
    let fields = ["frame.len", "frame.cap_len", "eth.src", "eth.dst", "ip.src", "ip.dst"];
    let udp = ["udp.srcport", "udp.dstport", "ip.ttl", "ip.id", "ip.flags.df"];
    let all: Vec<&str> = fields.iter().chain(&udp).copied().collect();
    assert_eq!(
        tshark_fields(&shipped(), &all),
        vec![
            "60\t60\t02:00:00:00:00:01\t02:00:00:00:00:02\t198.18.0.1\t198.18.0.2\t1024\t9\t64\t\
             0x0000\t0"
        ]
    );
    assert_eq!(tshark_checksums(&shipped()), vec![("good".into(), "good".into())]);
}

#[test]
fn built_and_rewritten_packets_have_checksums_tshark_calls_good() {
    if !have("tshark", "built_and_rewritten_packets_have_checksums_tshark_calls_good") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
    let cases: [&[&str]; 4] = [
        &["--size", "1518"],
        &["--vlan", "100", "--size", "200", "--sport", "5000", "--dport", "7"],
        &["--src-ip", "10.0.0.1", "--dst-ip", "10.255.255.254", "--size", "65"],
        &["--size", "9018", "--mtu", "9000"],
    ];
    for (i, extra) in cases.iter().enumerate() {
        let file = path(&format!("built{i}.pcap"));
        let mut args = vec!["packet", "new", "-o", &file];
        args.extend_from_slice(extra);
        ok(&args);
        assert_eq!(
            tshark_checksums(Path::new(&file)),
            vec![("good".into(), "good".into())],
            "{extra:?}"
        );
        let rewritten = path(&format!("rewritten{i}.pcap"));
        ok(&[
            "packet",
            "rewrite",
            &file,
            "-o",
            &rewritten,
            "--src-ip",
            "192.0.2.1",
            "--dst-ip",
            "192.0.2.200",
            "--dst-mac",
            "02:bb:00:00:00:02",
        ]);
        assert_eq!(
            tshark_checksums(Path::new(&rewritten)),
            vec![("good".into(), "good".into())],
            "{extra:?} rewritten"
        );
        assert_eq!(
            tshark_fields(Path::new(&rewritten), &["eth.dst", "ip.src", "ip.dst"]),
            vec!["02:bb:00:00:00:02\t192.0.2.1\t192.0.2.200"]
        );
    }
    // A vlan-tagged frame's size: 200 on the wire, 196 captured, tag inside.
    assert_eq!(
        tshark_fields(Path::new(&path("built1.pcap")), &["frame.len", "vlan.id"]),
        vec!["196\t100"]
    );
}

#[test]
fn rewrite_macs_changes_only_the_twelve_mac_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r.pcap");
    let printed = ok(&[
        "packet",
        "rewrite",
        shipped().to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--src-mac",
        "02:aa:00:00:00:01",
        "--dst-mac",
        "02:bb:00:00:00:02",
    ]);
    assert!(printed.contains("1 packet with source MAC 02:aa:00:00:00:01"), "{printed}");
    let before = std::fs::read(shipped()).unwrap();
    let after = std::fs::read(&out).unwrap();
    assert_eq!(before.len(), after.len());
    let frame_start = 24 + 16;
    let differing: Vec<usize> = (0..before.len()).filter(|&i| before[i] != after[i]).collect();
    assert!(
        differing.iter().all(|&i| (frame_start..frame_start + 12).contains(&i)),
        "{differing:?}"
    );
    assert_eq!(&after[frame_start..frame_start + 12], &[2, 0xbb, 0, 0, 0, 2, 2, 0xaa, 0, 0, 0, 1]);
    if have("tshark", "rewrite_macs_changes_only_the_twelve_mac_bytes") {
        assert_eq!(
            tshark_fields(&out, &["eth.src", "eth.dst"]),
            vec!["02:aa:00:00:00:01\t02:bb:00:00:00:02"]
        );
    }
}

#[test]
fn rewrite_handles_every_packet_and_keeps_timestamps() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("three.pcap");
    let frames: Vec<Frame> =
        [(64, None, 0), (128, Some(5), 1_000_000), (1518, None, 2_500_000_123)]
            .into_iter()
            .map(|(size, vlan, ts_ns)| Frame {
                data: UdpSpec { size, vlan, ..UdpSpec::default() }.build().unwrap(),
                ts_ns,
            })
            .collect();
    packet::write_pcap(&input, &frames).unwrap();
    let out = dir.path().join("out.pcap");
    ok(&[
        "packet",
        "rewrite",
        input.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--src-mac",
        "0a:0b:0c:0d:0e:0f",
    ]);
    let rewritten = packet::read_frames(&out).unwrap();
    assert_eq!(rewritten.len(), 3);
    for (before, after) in frames.iter().zip(&rewritten) {
        assert_eq!(after.ts_ns, before.ts_ns);
        assert_eq!(&after.data[6..12], &[0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f]);
        assert_eq!(&after.data[..6], &before.data[..6]);
        assert_eq!(&after.data[12..], &before.data[12..]);
    }
    // Rewriting a file onto itself works (the output replaces the input atomically).
    ok(&[
        "packet",
        "rewrite",
        out.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--dst-mac",
        "02:00:00:00:00:09",
    ]);
    assert_eq!(packet::read_frames(&out).unwrap()[2].data[5], 9);
}

#[test]
fn show_lines_in_tcpdump_style() {
    let text = ok(&["packet", "show", shipped().to_str().unwrap()]);
    assert_eq!(
        text,
        "    1  00:00:00.000000 02:00:00:00:00:01 > 02:00:00:00:00:02, ethertype IPv4 (0x0800), \
         length 60: 198.18.0.1.1024 > 198.18.0.2.9: UDP, length 18 [ip cksum ok, udp cksum ok]\n"
    );
    let relative = ok(&["packet", "show", "--relative", shipped().to_str().unwrap()]);
    assert!(relative.starts_with("    1  0.000000 02:00:00:00:00:01 > "), "{relative}");
}

#[test]
fn pcapng_written_by_wireshark_tools_reads_like_the_pcap() {
    if !have("mergecap", "pcapng_written_by_wireshark_tools_reads_like_the_pcap")
        || !have("editcap", "pcapng_written_by_wireshark_tools_reads_like_the_pcap")
    {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let tagged = dir.path().join("tagged.pcap");
    ok(&["packet", "new", "--vlan", "7", "--size", "100", "-o", tagged.to_str().unwrap()]);
    let later = dir.path().join("later.pcap");
    let status =
        Command::new("editcap").args(["-t", "1.25"]).arg(&tagged).arg(&later).status().unwrap();
    assert!(status.success());
    let merged = dir.path().join("merged.pcapng");
    let status = Command::new("mergecap")
        .args(["-F", "pcapng", "-w"])
        .arg(&merged)
        .arg(shipped())
        .arg(&later)
        .status()
        .unwrap();
    assert!(status.success());
    assert_eq!(&std::fs::read(&merged).unwrap()[..4], &[0x0a, 0x0d, 0x0d, 0x0a]);
    let frames = packet::read_frames(&merged).unwrap();
    assert_eq!(frames.len(), 2);
    assert_eq!(frames[0], packet::read_frames(shipped()).unwrap()[0]);
    assert_eq!(frames[1].data, packet::read_frames(&tagged).unwrap()[0].data);
    assert_eq!(frames[1].ts_ns, 1_250_000_000);
    let text = ok(&["packet", "show", "-r", merged.to_str().unwrap()]);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2);
    assert!(lines[1].starts_with("    2  1.250000 02:00:00:00:00:01 > 02:00:00:00:00:02, ethertype 802.1Q (0x8100), length 96: vlan 7, p 0, ethertype IPv4 (0x0800), 198.18.0.1.1024 > 198.18.0.2.9: UDP, length 50 [ip cksum ok, udp cksum ok]"), "{}", lines[1]);
}

/// A pcapng file (little-endian) with one interface of the given link type and one packet.
fn pcapng_with_link_type(link: u16) -> Vec<u8> {
    let block = |kind: u32, body: &[u8]| {
        let len = (body.len() + 12) as u32;
        let mut out = kind.to_le_bytes().to_vec();
        out.extend(len.to_le_bytes());
        out.extend(body);
        out.extend(len.to_le_bytes());
        out
    };
    let mut shb = 0x1a2b_3c4du32.to_le_bytes().to_vec();
    shb.extend([1, 0, 0, 0]);
    shb.extend((-1i64).to_le_bytes());
    let mut idb = link.to_le_bytes().to_vec();
    idb.extend([0, 0, 0, 0, 0, 0]);
    let mut epb = vec![0u8; 12];
    epb.extend(60u32.to_le_bytes());
    epb.extend(60u32.to_le_bytes());
    epb.extend(UdpSpec::default().build().unwrap());
    let mut file = block(0x0a0d_0d0a, &shb);
    file.extend(block(1, &idb));
    file.extend(block(6, &epb));
    file
}

#[test]
fn the_pcapng_helper_makes_a_readable_file() {
    // Guards the bad-input test below: with an Ethernet link type the same bytes are fine.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("eth.pcapng");
    std::fs::write(&file, pcapng_with_link_type(1)).unwrap();
    let frames = packet::read_frames(&file).unwrap();
    assert_eq!(frames, packet::read_frames(shipped()).unwrap());
}

#[test]
fn every_bad_input_is_one_line_exit_2_and_leaves_no_output() {
    let dir = tempfile::tempdir().unwrap();
    let p = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
    let shipped_bytes = std::fs::read(shipped()).unwrap();
    std::fs::write(p("empty.pcap"), b"").unwrap();
    std::fs::write(p("text.pcap"), b"this is not a capture\n").unwrap();
    let mut two = shipped_bytes.clone();
    two.extend_from_slice(&shipped_bytes[24..]);
    std::fs::write(p("truncated.pcap"), &two[..two.len() - 7]).unwrap();
    std::fs::write(p("wifi.pcapng"), pcapng_with_link_type(105)).unwrap();
    std::fs::create_dir(p("a-directory")).unwrap();
    let (a_dir, missing, empty) = (p("a-directory"), p("missing.pcap"), p("empty.pcap"));
    let (text, truncated, wifi) = (p("text.pcap"), p("truncated.pcap"), p("wifi.pcapng"));
    let ship = shipped().to_str().unwrap().to_string();
    let out = p("out.pcap");

    // (arguments, what the one line must say); clap's own errors add a usage hint after it.
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["new", "--src-mac", "02:00:00:00:00", "-o", &out], "--src-mac: `02:00:00:00:00` is not a MAC address"),
        (vec!["new", "--dst-mac", "garbage", "-o", &out], "--dst-mac: `garbage` is not a MAC address"),
        (vec!["new", "--src-mac", "zz:00:00:00:00:01", "-o", &out], "--src-mac: `zz:00:00:00:00:01`"),
        (vec!["new", "--src-ip", "198.18.0", "-o", &out], "'--src-ip <ADDR>'"),
        (vec!["new", "--dport", "65536", "-o", &out], "'--dport <PORT>'"),
        (vec!["new", "--size", "sixty", "-o", &out], "'--size <BYTES>'"),
        (vec!["new", "--size", "63", "-o", &out], "--size 63: an Ethernet frame is at least 64 bytes"),
        (vec!["new", "--size", "1519", "-o", &out], "--size 1519: larger than MTU 1500 allows (at most 1518"),
        (vec!["new", "--vlan", "4095", "-o", &out], "--vlan 4095: a VLAN ID is 1..4094"),
        (vec!["new", "-o", "/nonexistent-dir/x.pcap"], "cannot write /nonexistent-dir/x.pcap: No such file or directory"),
        (vec!["new", "-o", &a_dir], "cannot write"),
        (vec!["rewrite", &ship, "-o", &out, "--src-mac-of", "netlab-nosuch0"], "--src-mac-of netlab-nosuch0: no interface named `netlab-nosuch0`"),
        (vec!["rewrite", &ship, "-o", &out, "--dst-mac-of", "lo", "--netns", "netlab-no-such-ns"], "no namespace named `netlab-no-such-ns`"),
        (vec!["rewrite", &ship, "-o", &out, "--src-mac", "02:00:00:00:00:01", "--src-mac-of", "lo"], "cannot be used with"),
        (vec!["rewrite", &ship, "-o", &out, "--dst-mac", "02:00:00:00:00:0"], "--dst-mac: `02:00:00:00:00:0`"),
        (vec!["rewrite", &missing, "-o", &out, "--src-mac", "02:00:00:00:00:01"], "missing.pcap: cannot read: No such file or directory"),
        (vec!["rewrite", &empty, "-o", &out, "--src-mac", "02:00:00:00:00:01"], "empty.pcap: empty file"),
        (vec!["rewrite", &text, "-o", &out, "--src-mac", "02:00:00:00:00:01"], "text.pcap: not a pcap or pcapng file"),
        (vec!["rewrite", &truncated, "-o", &out, "--src-mac", "02:00:00:00:00:01"], "truncated.pcap: packet #2 (byte 100) is cut short: its record needs 76 bytes, 69 are left"),
        (vec!["rewrite", &wifi, "-o", &out, "--src-mac", "02:00:00:00:00:01"], "wifi.pcapng: interface #0 has link type IEEE802_11 (105), only Ethernet (1) is supported"),
        (vec!["show", &missing], "missing.pcap: cannot read"),
        (vec!["show", &empty], "empty.pcap: empty file"),
        (vec!["show", &text], "not a pcap or pcapng file (starts with 0x74686973)"),
        (vec!["show", &wifi], "link type IEEE802_11 (105)"),
    ];
    for (args, says) in &cases {
        let mut full = vec!["packet"];
        full.extend(args);
        let result = run(&full);
        let err = stderr(&result);
        assert_eq!(result.status.code(), Some(2), "netlab {full:?}: {err}");
        assert!(!err.contains("panicked"), "netlab {full:?}: {err}");
        let first = err.lines().next().unwrap_or_default();
        assert!(
            first.contains(says),
            "netlab {full:?}: expected `{says}` in the first line: {err}"
        );
        if first.starts_with("netlab: error: ") {
            assert_eq!(err.lines().count(), 1, "one line: {err}");
        }
        assert!(!Path::new(&out).exists(), "netlab {full:?} left {out} behind");
        assert!(stdout(&result).is_empty(), "netlab {full:?} printed: {}", stdout(&result));
    }
    // Nothing else appeared in the directory either (no temporary files left behind).
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["a-directory", "empty.pcap", "text.pcap", "truncated.pcap", "wifi.pcapng"]);
}

#[test]
fn failed_rewrite_keeps_an_existing_output_intact() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.pcap");
    std::fs::write(&out, b"previous content").unwrap();
    let frames = [UdpSpec::default().build().unwrap(), UdpSpec::default().build().unwrap()];
    let input = dir.path().join("cut.pcap");
    packet::write_pcap(&input, &frames.map(|data| Frame { data, ts_ns: 0 })).unwrap();
    let bytes = std::fs::read(&input).unwrap();
    std::fs::write(&input, &bytes[..bytes.len() - 1]).unwrap();
    let result = run(&[
        "packet",
        "rewrite",
        input.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--src-ip",
        "10.0.0.1",
    ]);
    assert_eq!(result.status.code(), Some(2));
    assert!(
        stderr(&result).contains("cut.pcap: packet #2 (byte 100) is cut short"),
        "{}",
        stderr(&result)
    );
    assert!(stdout(&result).is_empty());
    assert_eq!(std::fs::read(&out).unwrap(), b"previous content");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2, "no temporary file left");
}

#[test]
fn mac_of_an_interface_in_this_and_in_a_named_namespace() {
    let Some(_ns) =
        fastnet::testing::privileged("mac_of_an_interface_in_this_and_in_a_named_namespace")
    else {
        return;
    };
    use fastnet::testing::sh;
    sh("ip link add nlp-a type veth peer name nlp-b");
    sh("ip link set nlp-a address 02:11:22:33:44:55");
    sh("ip link set nlp-b address 02:66:77:88:99:aa");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r.pcap");
    // Children spawned from this thread run in its throwaway namespace.
    ok(&[
        "packet",
        "rewrite",
        shipped().to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--src-mac-of",
        "nlp-a",
        "--dst-mac-of",
        "nlp-b",
    ]);
    let frame = &packet::read_frames(&out).unwrap()[0].data;
    assert_eq!(
        &frame[..12],
        &[0x02, 0x66, 0x77, 0x88, 0x99, 0xaa, 0x02, 0x11, 0x22, 0x33, 0x44, 0x55]
    );

    // A named namespace (as `ip netns add` makes it), removed however the test ends.
    struct Named(String);
    impl Drop for Named {
        fn drop(&mut self) {
            let _ = fastnet::netns::NetNs::remove_named(&self.0);
        }
    }
    let named = Named(format!("netlab-test-packet-{}", std::process::id()));
    fastnet::netns::NetNs::create_named(&named.0).unwrap();
    sh(&format!("ip -n {} link add nlp-c type veth peer name nlp-d", named.0));
    sh(&format!("ip -n {} link set nlp-c address 02:0c:0c:0c:0c:0c", named.0));
    assert_eq!(
        netlab::topology::interface::mac(Some(&named.0), "nlp-c").unwrap(),
        packet::parse_mac("02:0c:0c:0c:0c:0c", "test").unwrap()
    );
    ok(&[
        "packet",
        "rewrite",
        shipped().to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--src-mac-of",
        "nlp-c",
        "--netns",
        &named.0,
    ]);
    assert_eq!(
        &packet::read_frames(&out).unwrap()[0].data[6..12],
        &[0x02, 0x0c, 0x0c, 0x0c, 0x0c, 0x0c]
    );
    // nlp-a lives in this test's namespace, not in the named one.
    let result = run(&[
        "packet",
        "rewrite",
        shipped().to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--src-mac-of",
        "nlp-a",
        "--netns",
        &named.0,
    ]);
    assert_eq!(result.status.code(), Some(2));
    assert!(stderr(&result)
        .contains(&format!("no interface named `nlp-a` in network namespace `{}`", named.0)));
}

/// The multi-protocol capture (classic pcap, µs): ARP request and reply, IPv4 UDP, 802.1Q with
/// priority and DEI, QinQ, MPLS, a TCP conversation (handshake, data, FIN), ICMP echo, IGMP,
/// IPv6 UDP / TCP with options / ICMPv6, a 9-byte frame, an unknown EtherType, and a UDP frame
/// snapped at 60 of 93 bytes.
fn mixed() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/fixtures/mixed.pcap")
}

/// tshark's findings of warning level or worse (malformed, bad checksum…), per packet number.
fn tshark_faults(file: &Path) -> Vec<String> {
    let out = Command::new("tshark")
        .arg("-r")
        .arg(file)
        .args(["-o", "ip.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE"])
        .args(["-o", "tcp.check_checksum:TRUE", "-T", "fields", "-e", "frame.number"])
        .args(["-e", "_ws.expert.severity", "-e", "_ws.expert.message"])
        .output()
        .expect("tshark runs");
    assert!(out.status.success(), "tshark failed: {}", stderr(&out));
    let mut faults = Vec::new();
    for line in stdout(&out).lines() {
        let fields: Vec<&str> = line.split('\t').collect();
        let (Some(number), Some(severities), Some(messages)) =
            (fields.first(), fields.get(1), fields.get(2))
        else {
            continue;
        };
        for (severity, message) in severities.split(',').zip(messages.split(',')) {
            // 0x600000 is PI_WARN, 0x800000 PI_ERROR.
            if severity.parse::<u32>().is_ok_and(|s| s >= 0x60_0000) {
                faults.push(format!("#{number}: {message}"));
            }
        }
    }
    faults
}

/// Every packet of a file as netlab reads it: (captured bytes, original length, time in ns).
fn records(file: &Path) -> Vec<(Vec<u8>, u32, u64)> {
    let mut reader = packet::CaptureReader::open(file).unwrap();
    let mut out = Vec::new();
    while let Some(p) = reader.next_packet().unwrap() {
        out.push((reader.data(&p).to_vec(), p.orig_len, p.ts_ns));
    }
    out
}

#[test]
fn a_capture_snapped_at_60_rewritten_keeps_lengths_times_and_tshark_finds_nothing_new() {
    if !have("tshark", "snapped_rewrite") || !have("editcap", "snapped_rewrite") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let snapped = dir.path().join("snapped.pcap");
    let status = Command::new("editcap")
        .args(["-F", "pcap", "-s", "60"])
        .arg(mixed())
        .arg(&snapped)
        .status()
        .unwrap();
    assert!(status.success());
    for (name, extra) in [
        ("macs.pcap", &["--src-mac", "02:aa:00:00:00:01", "--dst-mac", "02:bb:00:00:00:02"][..]),
        ("ips.pcap", &["--src-ip", "10.9.9.1", "--dst-ip", "10.9.9.2"][..]),
        ("ips.pcapng", &["--src-ip", "10.9.9.1", "--src-mac", "02:aa:00:00:00:01"][..]),
    ] {
        let out = dir.path().join(name);
        let mut args = vec!["packet", "rewrite", snapped.to_str().unwrap(), "-o"];
        args.push(out.to_str().unwrap());
        args.extend_from_slice(extra);
        let printed = ok(&args);
        assert!(printed.contains(": 20 packets with "), "{printed}");
        // Nothing malformed or badly checksummed that the input did not have already (the
        // 9-byte frame is malformed in both).
        assert_eq!(tshark_faults(&out), tshark_faults(&snapped), "{name}");
        assert_eq!(tshark_faults(&out), vec!["#18: Malformed Packet (Exception occurred)"]);
        let (before, after) = (records(&snapped), records(&out));
        assert_eq!(before.len(), after.len());
        for (i, (b, a)) in before.iter().zip(&after).enumerate() {
            assert_eq!((b.1, b.2, b.0.len()), (a.1, a.2, a.0.len()), "{name} packet #{}", i + 1);
        }
        // tshark sees the same wire lengths and times, to the nanosecond.
        let fields = ["frame.len", "frame.cap_len", "frame.time_epoch"];
        assert_eq!(tshark_fields(&out, &fields), tshark_fields(&snapped, &fields), "{name}");
    }
    // The snap length and the link type are the input's.
    let header = |p: &Path| std::fs::read(p).unwrap()[16..24].to_vec();
    assert_eq!(header(&dir.path().join("ips.pcap")), header(&snapped));
}

/// The EtherType after any VLAN tags (0 for a frame shorter than an Ethernet header).
fn inner_ethertype(frame: &[u8]) -> u16 {
    let mut at = 12;
    while let Some(t) = frame.get(at..at + 2) {
        let ethertype = u16::from_be_bytes([t[0], t[1]]);
        if !matches!(ethertype, 0x8100 | 0x88a8 | 0x9100) {
            return ethertype;
        }
        at += 4;
    }
    0
}

#[test]
fn a_mixed_capture_rewritten_with_new_ips_changes_ipv4_only() {
    if !have("tshark", "mixed_ip_rewrite") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.pcap");
    let printed = ok(&[
        "packet",
        "rewrite",
        mixed().to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--src-ip",
        "10.9.9.1",
        "--dst-ip",
        "10.9.9.2",
    ]);
    assert!(
        printed.ends_with(
            "20 packets with source IP 10.9.9.1, destination IP 10.9.9.2: 12 rewritten, 8 passed \
             as they were (7 not IPv4, 1 shorter than an Ethernet header)\n"
        ),
        "{printed}"
    );
    let (before, after) = (records(&mixed()), records(&out));
    let ipv4: Vec<bool> = before.iter().map(|r| inner_ethertype(&r.0) == 0x0800).collect();
    assert_eq!(ipv4.iter().filter(|v| **v).count(), 12);
    for (i, (b, a)) in before.iter().zip(&after).enumerate() {
        if !ipv4[i] {
            assert_eq!(b, a, "packet #{} is byte for byte as it was", i + 1);
        }
    }
    let fields = tshark_fields(
        &out,
        &["ip.src", "ip.dst", "ip.checksum.status", "udp.checksum.status", "tcp.checksum.status"],
    );
    let checked = |s: &str| s.replace("10.2.0.1\t10.2.0.2", "mpls");
    for (i, line) in fields.iter().enumerate() {
        if ipv4[i] {
            let cols: Vec<&str> = line.split('\t').collect();
            assert_eq!(&cols[..3], &["10.9.9.1", "10.9.9.2", "1"], "packet #{}: {line}", i + 1);
            // The transport checksum is good, or unverified where the frame was snapped.
            let transport = cols[3..].iter().find(|c| !c.is_empty()).copied().unwrap_or("1");
            let want = if before[i].0.len() < before[i].1 as usize { "2" } else { "1" };
            assert!(cols[3..].iter().all(|c| c.is_empty()) || transport == want, "{line}");
        } else {
            assert!(!checked(line).contains("10.9.9."), "packet #{}: {line}", i + 1);
        }
    }
}

#[test]
fn show_of_a_truncated_capture_lists_the_complete_packets_then_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = std::fs::read(mixed()).unwrap();
    let cut = dir.path().join("cut.pcap");
    // Packet #3 starts after the file header (24) and two 76-byte records.
    std::fs::write(&cut, &bytes[..24 + 2 * 76 + 30]).unwrap();
    let result = run(&["packet", "show", cut.to_str().unwrap()]);
    assert_eq!(result.status.code(), Some(2), "{}", stderr(&result));
    let lines: Vec<String> = stdout(&result).lines().map(str::to_string).collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(lines[0].starts_with("    1  04:00:00.000007 02:00:00:00:00:01 > ff:ff:ff:ff:ff:ff"));
    assert!(lines[1].starts_with("    2  04:00:01.001007 "));
    assert_eq!(
        stderr(&result),
        format!(
            "netlab: error: {}: packet #3 (byte 176) is cut short: its record needs 76 bytes, \
             30 are left\n",
            cut.display()
        )
    );
    // rewrite refuses with the same line and writes nothing.
    let out = dir.path().join("out.pcap");
    let result = run(&[
        "packet",
        "rewrite",
        cut.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--src-mac",
        "02:00:00:00:00:09",
    ]);
    assert_eq!(result.status.code(), Some(2));
    assert!(stderr(&result).contains("packet #3 (byte 176) is cut short"), "{}", stderr(&result));
    assert!(!out.exists());
}

#[test]
fn show_matches_tcpdump_line_by_line() {
    if !have("tcpdump", "show_matches_tcpdump_line_by_line") {
        return;
    }
    let out = Command::new("tcpdump")
        .args(["-e", "-nn", "-r"])
        .arg(mixed())
        .env("TZ", "UTC")
        .output()
        .expect("tcpdump runs");
    assert!(out.status.success(), "{}", stderr(&out));
    // tcpdump follows an undecoded payload with hex dump lines (indented with a tab).
    let theirs: Vec<String> =
        stdout(&out).lines().filter(|l| !l.starts_with('\t')).map(str::to_string).collect();
    let ours = ok(&["packet", "show", mixed().to_str().unwrap()]);
    let ours: Vec<&str> = ours.lines().collect();
    assert_eq!(theirs.len(), 20);
    assert_eq!(ours.len(), theirs.len());
    for (number, (mine, tcpdump)) in ours.iter().zip(&theirs).enumerate() {
        // netlab adds the packet number in front, and the captured length and checksum
        // verdicts in brackets at the end.
        let body = mine.strip_prefix(&format!("{:>5}  ", number + 1)).expect("numbered");
        let body = match body.rfind(" [") {
            Some(at) if body[at..].contains("cksum") || body[at..].contains("captured") => {
                &body[..at]
            }
            _ => body,
        };
        assert_eq!(body, tcpdump, "packet #{}", number + 1);
    }
    // What netlab adds: the snapped frame says so, and checksums are checked.
    assert!(ours[19].ends_with("[captured 60 of 93, ip cksum ok, udp cksum unverified (snapped)]"));
    assert!(ours[9].ends_with("[ip cksum ok, tcp cksum ok]"), "{}", ours[9]);
}

#[test]
fn pcapng_output_reads_back_in_tshark_and_capinfos_with_the_same_packets() {
    if !have("tshark", "pcapng_output") || !have("capinfos", "pcapng_output") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let ng = dir.path().join("x.pcapng");
    let forced = dir.path().join("forced.out");
    let input = mixed();
    let input = input.to_str().unwrap();
    ok(&["packet", "rewrite", input, "-o", ng.to_str().unwrap(), "--dst-mac", "02:00:00:00:00:02"]);
    let to_forced = [input, "-o", forced.to_str().unwrap(), "--format", "pcapng"];
    ok(&[&["packet", "rewrite", "--dst-mac", "02:00:00:00:00:02"][..], &to_forced[..]].concat());
    assert_eq!(std::fs::read(&ng).unwrap(), std::fs::read(&forced).unwrap());
    let capinfos = |file: &Path| {
        let out = Command::new("capinfos").args(["-t", "-c", "-M"]).arg(file).output().unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        stdout(&out).lines().skip(1).map(str::to_string).collect::<Vec<_>>()
    };
    let (theirs, ours) = (capinfos(Path::new(input)), capinfos(&ng));
    assert!(ours.contains(&"File type:           pcapng".to_string()), "{ours:?}");
    assert_eq!(theirs[1..], ours[1..], "count and size limit");
    let fields = ["frame.len", "frame.cap_len", "frame.time_epoch", "eth.src", "eth.type"];
    assert_eq!(tshark_fields(&ng, &fields), tshark_fields(Path::new(input), &fields));
    // And back: pcapng → pcap gives the input's records.
    let back = dir.path().join("back.pcap");
    ok(&[
        "packet",
        "rewrite",
        ng.to_str().unwrap(),
        "-o",
        back.to_str().unwrap(),
        "--dst-mac",
        "02:00:00:00:00:02",
    ]);
    assert_eq!(records(&back), records(&ng));
}

#[test]
fn pcapng_to_pcapng_keeps_sections_interfaces_options_and_comments() {
    if !have("mergecap", "pcapng_keeps")
        || !have("editcap", "pcapng_keeps")
        || !have("tshark", "pcapng_keeps")
    {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let p = |name: &str| dir.path().join(name);
    let tool = |name: &str, args: &[&Path]| {
        let mut cmd = Command::new(name);
        cmd.args(args);
        cmd
    };
    // Two interfaces (mergecap keeps one per input), then a comment on packet 2.
    let merged = p("merged.pcapng");
    let mut cmd = tool("mergecap", &[]);
    cmd.args(["-F", "pcapng", "-w"]).arg(&merged).arg(shipped()).arg(mixed());
    assert!(cmd.status().unwrap().success());
    let commented = p("commented.pcapng");
    let mut cmd = tool("editcap", &[]);
    cmd.args(["-a", "2:netlab was here"]).arg(&merged).arg(&commented);
    assert!(cmd.status().unwrap().success());
    // A second section: two pcapng files one after the other.
    let two_sections = p("two.pcapng");
    let mut bytes = std::fs::read(&commented).unwrap();
    bytes.extend(std::fs::read(&merged).unwrap());
    std::fs::write(&two_sections, &bytes).unwrap();

    let out = p("out.pcapng");
    let printed = ok(&[
        "packet",
        "rewrite",
        two_sections.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--src-mac",
        "0a:0b:0c:0d:0e:0f",
    ]);
    assert!(printed.contains("42 packets"), "{printed}");
    let written = std::fs::read(&out).unwrap();
    assert_eq!(written.len(), bytes.len(), "every block kept, same sizes");
    // Only source MACs differ: at most 6 bytes per packet.
    let differing = written.iter().zip(&bytes).filter(|(a, b)| a != b).count();
    assert!(differing <= 42 * 6, "{differing} bytes differ");
    let fields = ["frame.interface_id", "frame.comment", "frame.len", "frame.time_epoch"];
    assert_eq!(tshark_fields(&out, &fields), tshark_fields(&two_sections, &fields));
    assert!(tshark_fields(&out, &["frame.comment"]).contains(&"netlab was here".to_string()));
    let srcs = tshark_fields(&out, &["eth.src"]);
    assert_eq!(
        srcs.iter().filter(|s| *s == "0a:0b:0c:0d:0e:0f").count(),
        40,
        "all but the 9-byte frames"
    );
}

#[test]
fn empty_captures_show_zero_packets_and_rewrite_refuses() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.pcap");
    std::fs::write(&empty, &std::fs::read(shipped()).unwrap()[..24]).unwrap();
    let text = ok(&["packet", "show", empty.to_str().unwrap()]);
    assert_eq!(text, format!("{}: 0 packets\n", empty.display()));
    let out = dir.path().join("out.pcap");
    let result = run(&[
        "packet",
        "rewrite",
        empty.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--src-mac",
        "02:00:00:00:00:09",
    ]);
    assert_eq!(result.status.code(), Some(2));
    assert_eq!(
        stderr(&result),
        format!("netlab: error: {}: contains no packets\n", empty.display())
    );
    assert!(!out.exists());
}

#[test]
fn microsecond_files_with_nanosecond_fractions_are_read_with_one_warning() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = std::fs::read(shipped()).unwrap();
    let record = bytes[24..].to_vec();
    bytes.extend(&record);
    bytes.extend(&record);
    for (i, frac) in [(0usize, 466_743_000u32), (1, 5), (2, 999_999_000)] {
        let at = 24 + i * record.len() + 4;
        bytes[at..at + 4].copy_from_slice(&frac.to_le_bytes());
    }
    let odd = dir.path().join("odd.pcap");
    std::fs::write(&odd, &bytes).unwrap();
    let result = run(&["packet", "show", odd.to_str().unwrap()]);
    assert_eq!(result.status.code(), Some(0), "{}", stderr(&result));
    let text = stdout(&result);
    let times: Vec<&str> = text.lines().map(|l| l.split_whitespace().nth(1).unwrap()).collect();
    assert_eq!(times, ["00:00:00.466743", "00:00:00.000005", "00:00:00.999999"]);
    assert_eq!(
        stderr(&result),
        format!(
            "netlab: warning: {}: the header says microsecond timestamps, but 2 packets (first \
             #1) carry fractions up to 999999000, in nanosecond range: those were read as \
             nanoseconds\n",
            odd.display()
        )
    );
}
