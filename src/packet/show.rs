//! One-line descriptions of frames in the style of `tcpdump -e`, with checksum status, so a
//! student can see what a packet file will send.

use std::fmt::Write as _;
use std::net::{Ipv4Addr, Ipv6Addr};

use macaddr::MacAddr6;
use pnet::packet::arp::{ArpOperations, ArpPacket};
use pnet::packet::ethernet::EthernetPacket;
use pnet::packet::ipv4::{self, Ipv4Packet};
use pnet::packet::ipv6::Ipv6Packet;
use pnet::packet::tcp::TcpPacket;
use pnet::packet::udp::UdpPacket;

use super::checksum::{self, ICMP, TCP, UDP};
use super::ethernet::{link_layer, locate_ipv4, Ipv4Location, Ipv4Problem};
use super::mac::Mac;

/// ICMPv6's next-header number.
const ICMPV6: u8 = 58;
/// Bytes of a fixed IPv6 header.
const IPV6_HEADER_LEN: usize = 40;

/// Describes one Ethernet frame on one line, like `tcpdump -e` does, e.g.
/// `02:00:00:00:00:01 > 02:00:00:00:00:02, ethertype IPv4 (0x0800), length 60: 198.18.0.1.1024 >
/// 198.18.0.2.9: UDP, length 18 [ip cksum ok, udp cksum ok]`. VLAN tags, ARP, IPv6, TCP and
/// ICMP are described too; anything else by its EtherType and size. Never panics.
pub fn describe(frame: &[u8]) -> String {
    let (Some(ethernet), Some(link)) = (EthernetPacket::new(frame), link_layer(frame)) else {
        return format!("truncated Ethernet frame, length {}", frame.len());
    };
    let mac = |m: pnet::util::MacAddr| Mac(MacAddr6::from(<[u8; 6]>::from(m)));
    let mut line =
        format!("{} > {}, ", mac(ethernet.get_source()), mac(ethernet.get_destination()));
    let outer = ethernet.get_ethertype().0;
    if outer < 0x0600 {
        let _ = write!(line, "802.3, length {}: LLC, {outer} bytes", frame.len());
        return line;
    }
    let _ = write!(line, "{}, length {}: ", ethertype(outer), frame.len());
    for (i, tag) in link.tags.iter().enumerate() {
        let next = link.tags.get(i + 1).map_or(link.ethertype, |t| t.tpid);
        let _ = write!(line, "vlan {}, p {}, {}, ", tag.id, tag.priority, ethertype(next));
    }
    let payload = &frame[link.payload_offset..];
    match link.ethertype {
        0x0800 => line.push_str(&ipv4(frame)),
        0x86dd => line.push_str(&ipv6(payload)),
        0x0806 => line.push_str(&arp(payload)),
        0x8100 | 0x88a8 | 0x9100 => line.push_str("truncated VLAN tag"),
        _ => {
            let _ = write!(line, "{} bytes of payload", payload.len());
        }
    }
    line
}

fn ethertype(value: u16) -> String {
    let name = match value {
        0x0800 => "IPv4",
        0x0806 => "ARP",
        0x8100 => "802.1Q",
        0x88a8 => "802.1Q-QinQ",
        0x9100 => "802.1Q-9100",
        0x86dd => "IPv6",
        0x88cc => "LLDP",
        _ => "Unknown",
    };
    format!("ethertype {name} (0x{value:04x})")
}

/// The checksum verdict for one header: `ok`, `bad 0x… (should be 0x…)`, or why it can't be
/// checked.
fn verdict(stored: u16, computed: Option<u16>, why_not: Option<&str>) -> String {
    match (why_not, computed) {
        (Some(why), _) => format!("unverified ({why})"),
        (None, Some(c)) if c == stored => "ok".into(),
        (None, Some(c)) => format!("bad 0x{stored:04x} (should be 0x{c:04x})"),
        (None, None) => "unverified".into(),
    }
}

fn protocol_name(protocol: u8) -> String {
    match protocol {
        ICMP => "ICMP".into(),
        TCP => "TCP".into(),
        UDP => "UDP".into(),
        ICMPV6 => "ICMP6".into(),
        n => format!("ip-proto-{n}"),
    }
}

fn ipv4(frame: &[u8]) -> String {
    let at = match locate_ipv4(frame) {
        Ok(at) => at,
        Err(Ipv4Problem::Malformed(why)) => return format!("IPv4, {why}"),
        Err(_) => return "IPv4, unreadable".into(),
    };
    let header = Ipv4Packet::new(&frame[at.start..at.payload_start()])
        .expect("locate_ipv4 checked the header length");
    let ip_status = verdict(header.get_checksum(), Some(ipv4::checksum(&header)), None);
    let segment = &frame[at.payload_start()..at.end(frame.len())];
    let (src, dst) = (at.source, at.destination);
    if at.fragment_offset != 0 {
        return format!(
            "{src} > {dst}: {} fragment (offset {}), length {} [ip cksum {ip_status}]",
            protocol_name(at.protocol),
            at.fragment_offset,
            segment.len()
        );
    }
    let why_not = transport_unverifiable(&at, frame.len());
    let transport = |stored: u16| {
        verdict(stored, checksum::transport_v4(at.protocol, segment, src, dst), why_not)
    };
    match transport_line(at.protocol, segment, &src.to_string(), &dst.to_string(), transport) {
        Some((text, Some(l4))) => format!("{text} [ip cksum {ip_status}, {l4}]"),
        Some((text, None)) => format!("{text} [ip cksum {ip_status}]"),
        None if at.protocol == ICMP && segment.len() >= 4 => {
            let stored = u16::from_be_bytes([segment[2], segment[3]]);
            let icmp = verdict(stored, Some(checksum::icmp(segment)), why_not);
            format!(
                "{src} > {dst}: ICMP {}, length {} [ip cksum {ip_status}, icmp cksum {icmp}]",
                icmp_type(segment[0], segment[1]),
                segment.len()
            )
        }
        None => format!(
            "{src} > {dst}: {}, length {} [ip cksum {ip_status}]",
            protocol_name(at.protocol),
            segment.len()
        ),
    }
}

/// Why a transport checksum over this IPv4 packet can't be checked from the frame alone.
fn transport_unverifiable(at: &Ipv4Location, frame_len: usize) -> Option<&'static str> {
    if at.more_fragments {
        Some("fragment")
    } else if !at.complete(frame_len) {
        Some("snapped")
    } else {
        None
    }
}

/// `a.port > b.port: UDP, length N` (or TCP with flags) and the transport checksum status, for
/// UDP and TCP segments long enough to hold their header; `None` otherwise.
fn transport_line(
    protocol: u8,
    segment: &[u8],
    src: &str,
    dst: &str,
    check: impl Fn(u16) -> String,
) -> Option<(String, Option<String>)> {
    match protocol {
        UDP => {
            let udp = UdpPacket::new(segment)?;
            let length = usize::from(udp.get_length()).saturating_sub(8);
            let status = match udp.get_checksum() {
                0 => "udp cksum none".to_string(),
                stored => format!("udp cksum {}", check(stored)),
            };
            let text = format!(
                "{src}.{} > {dst}.{}: UDP, length {length}",
                udp.get_source(),
                udp.get_destination()
            );
            Some((text, Some(status)))
        }
        TCP => {
            let tcp = TcpPacket::new(segment)?;
            let data_offset = usize::from(tcp.get_data_offset()) * 4;
            let text = format!(
                "{src}.{} > {dst}.{}: TCP, flags [{}], length {}",
                tcp.get_source(),
                tcp.get_destination(),
                tcp_flags(tcp.get_flags()),
                segment.len().saturating_sub(data_offset)
            );
            Some((text, Some(format!("tcp cksum {}", check(tcp.get_checksum())))))
        }
        _ => None,
    }
}

/// tcpdump's flag letters: S F P R U E W, and `.` for ACK.
fn tcp_flags(flags: u8) -> String {
    [(0x02, 'S'), (0x01, 'F'), (0x08, 'P'), (0x04, 'R'), (0x20, 'U'), (0x40, 'E'), (0x80, 'W')]
        .iter()
        .filter(|(bit, _)| flags & bit != 0)
        .map(|(_, c)| *c)
        .chain((flags & 0x10 != 0).then_some('.'))
        .collect()
}

fn icmp_type(kind: u8, code: u8) -> String {
    match kind {
        0 => "echo reply".into(),
        3 => format!("unreachable, code {code}"),
        8 => "echo request".into(),
        11 => format!("time exceeded, code {code}"),
        _ => format!("type {kind}, code {code}"),
    }
}

fn ipv6(bytes: &[u8]) -> String {
    let Some(ip) = Ipv6Packet::new(bytes) else {
        return format!("IPv6, header truncated ({} of {IPV6_HEADER_LEN} bytes)", bytes.len());
    };
    let (src, dst): (Ipv6Addr, Ipv6Addr) = (ip.get_source(), ip.get_destination());
    let declared = usize::from(ip.get_payload_length());
    let segment = &bytes[IPV6_HEADER_LEN..(IPV6_HEADER_LEN + declared).min(bytes.len())];
    let protocol = ip.get_next_header().0;
    let why_not = (segment.len() < declared).then_some("snapped");
    let check =
        |stored: u16| verdict(stored, checksum::transport_v6(protocol, segment, src, dst), why_not);
    match transport_line(protocol, segment, &src.to_string(), &dst.to_string(), check) {
        Some((text, Some(l4))) => format!("{text} [{l4}]"),
        Some((text, None)) => text,
        None => format!("{src} > {dst}: {}, length {}", protocol_name(protocol), segment.len()),
    }
}

fn arp(bytes: &[u8]) -> String {
    let Some(arp) = ArpPacket::new(bytes) else {
        return format!("ARP, truncated ({} bytes)", bytes.len());
    };
    if arp.get_hw_addr_len() != 6 || arp.get_proto_addr_len() != 4 {
        return format!(
            "ARP, hardware address length {}, protocol address length {}",
            arp.get_hw_addr_len(),
            arp.get_proto_addr_len()
        );
    }
    let (sender, target): (Ipv4Addr, Ipv4Addr) =
        (arp.get_sender_proto_addr(), arp.get_target_proto_addr());
    let length = ArpPacket::minimum_packet_size();
    match arp.get_operation() {
        ArpOperations::Request => {
            format!("Request who-has {target} tell {sender}, length {length}")
        }
        ArpOperations::Reply => {
            let mac = Mac(MacAddr6::from(<[u8; 6]>::from(arp.get_sender_hw_addr())));
            format!("Reply {sender} is-at {mac}, length {length}")
        }
        other => format!("ARP, operation {}, length {length}", other.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packet::udp::UdpSpec;

    #[test]
    fn the_shipped_packet() {
        assert_eq!(
            describe(&UdpSpec::default().build().unwrap()),
            "02:00:00:00:00:01 > 02:00:00:00:00:02, ethertype IPv4 (0x0800), length 60: \
             198.18.0.1.1024 > 198.18.0.2.9: UDP, length 18 [ip cksum ok, udp cksum ok]"
        );
    }

    #[test]
    fn bad_checksums_are_reported_with_the_right_value() {
        let mut frame = UdpSpec::default().build().unwrap();
        frame[24] ^= 0xff; // IPv4 header checksum
        frame[41] ^= 0x01; // UDP checksum
        let line = describe(&frame);
        assert!(line.contains("ip cksum bad 0x1197 (should be 0xee97)"), "{line}");
        assert!(line.contains("udp cksum bad 0x6f88 (should be 0x6f89)"), "{line}");
    }

    #[test]
    fn vlan_tagged() {
        let frame = UdpSpec { vlan: Some(42), ..UdpSpec::default() }.build().unwrap();
        assert_eq!(
            describe(&frame),
            "02:00:00:00:00:01 > 02:00:00:00:00:02, ethertype 802.1Q (0x8100), length 60: \
             vlan 42, p 0, ethertype IPv4 (0x0800), 198.18.0.1.1024 > 198.18.0.2.9: UDP, \
             length 14 [ip cksum ok, udp cksum ok]"
        );
    }

    #[test]
    fn arp_request_and_reply() {
        // Ethernet broadcast, ARP request 198.18.0.2? tell 198.18.0.1, padded to 60 bytes.
        let mut frame = vec![0xff; 6];
        frame.extend([2, 0, 0, 0, 0, 1, 0x08, 0x06]);
        frame.extend([0, 1, 0x08, 0x00, 6, 4, 0, 1]);
        frame.extend([2, 0, 0, 0, 0, 1, 198, 18, 0, 1]);
        frame.extend([0, 0, 0, 0, 0, 0, 198, 18, 0, 2]);
        frame.resize(60, 0);
        assert_eq!(
            describe(&frame),
            "02:00:00:00:00:01 > ff:ff:ff:ff:ff:ff, ethertype ARP (0x0806), length 60: \
             Request who-has 198.18.0.2 tell 198.18.0.1, length 28"
        );
        frame[21] = 2; // reply
        assert!(describe(&frame).ends_with("Reply 198.18.0.1 is-at 02:00:00:00:00:01, length 28"));
    }

    #[test]
    fn short_and_odd_frames_do_not_panic() {
        let full = UdpSpec { vlan: Some(5), ..UdpSpec::default() }.build().unwrap();
        for len in 0..full.len() {
            let line = describe(&full[..len]);
            assert!(!line.is_empty());
        }
        assert_eq!(describe(&[0; 5]), "truncated Ethernet frame, length 5");
        let line = describe(&full[..30]);
        assert!(line.ends_with("IPv4, IPv4 header truncated (12 of 20 bytes)"), "{line}");
        let mut unknown = full.clone();
        unknown[12..14].copy_from_slice(&[0x88, 0xb5]);
        assert!(describe(&unknown).contains("ethertype Unknown (0x88b5), length 60: 46 bytes"));
    }
}
