//! One-line descriptions of frames as `tcpdump -e -nn -r` prints them — Ethernet header, VLAN
//! tags (with the DEI bit), MPLS labels, ARP, IPv4/IPv6 with UDP, TCP (flags, sequence and
//! acknowledgement numbers relative to the conversation, window, options), ICMP, ICMPv6 and
//! IGMP — followed by what tcpdump does not say: the captured length when the frame was snapped,
//! and each checksum's status, e.g.
//!
//! `02:00:00:00:00:01 > 02:00:00:00:00:02, ethertype IPv4 (0x0800), length 60: 198.18.0.1.1024
//! > 198.18.0.2.9: UDP, length 18 [ip cksum ok, udp cksum ok]`
//!
//! tcpdump decodes application protocols by port (DNS, HTTP…); netlab stops at the transport
//! header. Nothing here panics on short or odd input.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use macaddr::MacAddr6;
use pnet::packet::arp::{ArpOperations, ArpPacket};
use pnet::packet::ethernet::EthernetPacket;
use pnet::packet::ipv4::{self, Ipv4Packet};
use pnet::packet::ipv6::Ipv6Packet;
use pnet::packet::tcp::{TcpOptionNumbers, TcpPacket};
use pnet::packet::udp::UdpPacket;
use pnet::packet::Packet as _;

use super::checksum::{self, ICMP, TCP, UDP};
use super::ethernet::{ipv4_at, link_layer, Ipv4Location, Ipv4Problem};
use super::mac::Mac;

/// ICMPv6's next-header number.
const ICMPV6: u8 = 58;
/// IGMP's protocol number.
const IGMP: u8 = 2;
/// Bytes of a fixed IPv6 header.
const IPV6_HEADER_LEN: usize = 40;
/// MPLS EtherTypes (unicast, multicast) and the bytes of one label stack entry.
const MPLS_UNICAST: u16 = 0x8847;
const MPLS_MULTICAST: u16 = 0x8848;
const MPLS_LABEL_LEN: usize = 4;
/// TCP conversations remembered for relative sequence numbers; past this, new conversations
/// are shown with absolute numbers (as `tcpdump -S`), so memory stays bounded.
const MAX_CONVERSATIONS: usize = 1 << 16;

/// The time of day (UTC) of `ts_ns`, as `TZ=UTC tcpdump` prints it: `HH:MM:SS.ffffff`, or nine
/// digits of fraction for a capture kept in nanoseconds.
pub fn time_of_day(ts_ns: u64, nanos: bool) -> String {
    let secs = ts_ns / 1_000_000_000;
    let day = secs % 86_400;
    let (h, m, s) = (day / 3600, day % 3600 / 60, day % 60);
    let frac = ts_ns % 1_000_000_000;
    if nanos {
        format!("{h:02}:{m:02}:{s:02}.{frac:09}")
    } else {
        format!("{h:02}:{m:02}:{s:02}.{:06}", frac / 1_000)
    }
}

/// Describes one frame without the context of a file (TCP numbers absolute when no earlier
/// packet of the conversation was seen, as tcpdump prints a first packet).
pub fn describe(frame: &[u8], orig_len: u32) -> String {
    Describer::default().describe(frame, orig_len)
}

/// A TCP conversation as tcpdump keys it: addresses and ports in a canonical order.
type Conversation = (IpAddr, IpAddr, u16, u16);

/// Describes the frames of one file in order, remembering what tcpdump remembers: the first
/// sequence and acknowledgement numbers of each TCP conversation, so later packets show
/// numbers relative to them.
#[derive(Debug, Default)]
pub struct Describer {
    /// Conversation → (sequence base, acknowledgement base) of its canonical direction.
    conversations: HashMap<Conversation, (u32, u32)>,
}

/// Notes after the tcpdump part: `[captured 60 of 93, ip cksum ok, udp cksum unverified …]`.
#[derive(Debug, Default)]
struct Notes(Vec<String>);

impl Notes {
    fn push(&mut self, note: String) {
        self.0.push(note);
    }

    fn suffix(&self) -> String {
        if self.0.is_empty() {
            String::new()
        } else {
            format!(" [{}]", self.0.join(", "))
        }
    }
}

impl Describer {
    /// Describes one frame of `orig_len` bytes on the wire (`frame` may hold fewer: snapped).
    pub fn describe(&mut self, frame: &[u8], orig_len: u32) -> String {
        let mut notes = Notes::default();
        if frame.len() < orig_len as usize {
            notes.push(format!("captured {} of {orig_len}", frame.len()));
        }
        let (Some(ethernet), Some(link)) = (EthernetPacket::new(frame), link_layer(frame)) else {
            return format!(" [|ether]{}", notes.suffix());
        };
        let mac = |m: pnet::util::MacAddr| Mac(MacAddr6::from(<[u8; 6]>::from(m)));
        let mut line =
            format!("{} > {}, ", mac(ethernet.get_source()), mac(ethernet.get_destination()));
        let outer = ethernet.get_ethertype().0;
        if outer < 0x0600 {
            let _ = write!(line, "802.3, length {orig_len}: LLC, {outer} bytes");
            return line + &notes.suffix();
        }
        let _ = write!(line, "{}, length {orig_len}: ", ethertype(outer));
        for (i, tag) in link.tags.iter().enumerate() {
            let next = link.tags.get(i + 1).map_or(link.ethertype, |t| t.tpid);
            let dei = if tag.dei { "DEI, " } else { "" };
            let _ = write!(line, "vlan {}, p {}, {dei}{}, ", tag.id, tag.priority, ethertype(next));
        }
        // What tcpdump calls the remaining length: the wire length after the link headers.
        let wire_rest = (orig_len as usize).saturating_sub(link.payload_offset);
        let mut at = link.payload_offset;
        let mut network = link.ethertype;
        if matches!(network, MPLS_UNICAST | MPLS_MULTICAST) {
            match mpls(frame, &mut at) {
                Ok((text, inner)) => {
                    line.push_str(&text);
                    network = inner;
                }
                Err(text) => return line + &text + &notes.suffix(),
            }
        }
        let payload = frame.get(at..).unwrap_or_default();
        let text = match network {
            0x0800 => self.ipv4(frame, at, &mut notes),
            0x86dd => self.ipv6(payload, &mut notes),
            0x0806 => arp(payload, wire_rest),
            0x8100 | 0x88a8 | 0x9100 => "[|vlan]".into(),
            // tcpdump prints other payloads as a hex dump on the following lines.
            _ => String::new(),
        };
        line + &text + &notes.suffix()
    }

    fn ipv4(&mut self, frame: &[u8], start: usize, notes: &mut Notes) -> String {
        let at = match ipv4_at(frame, start) {
            Ok(at) => at,
            Err(Ipv4Problem::Malformed(why)) => return format!("IP {why}"),
            Err(_) => return "[|ip]".into(),
        };
        let header = Ipv4Packet::new(&frame[at.start..at.payload_start()])
            .expect("ipv4_at checked the header length");
        notes.push(format!(
            "ip cksum {}",
            verdict(header.get_checksum(), Some(ipv4::checksum(&header)), None)
        ));
        let segment = &frame[at.payload_start()..at.end(frame.len())];
        let wire_len = at.total_len - at.header_len;
        let (src, dst) = (at.source, at.destination);
        if at.fragment_offset != 0 {
            return format!(
                "{src} > {dst}: {} fragment (offset {}), length {wire_len}",
                protocol_name(at.protocol),
                at.fragment_offset,
            );
        }
        let why_not = transport_unverifiable(&at, frame.len());
        let check = |stored: u16| {
            verdict(stored, checksum::transport_v4(at.protocol, segment, src, dst), why_not)
        };
        let (s, d) = (IpAddr::V4(src), IpAddr::V4(dst));
        if let Some(text) = self.transport(at.protocol, segment, wire_len, s, d, check, notes) {
            return text;
        }
        match at.protocol {
            ICMP => {
                if segment.len() >= 4 {
                    let stored = u16::from_be_bytes([segment[2], segment[3]]);
                    let computed = (segment.len() >= wire_len).then(|| checksum::icmp(segment));
                    let why = (segment.len() < wire_len).then_some("snapped");
                    notes.push(format!("icmp cksum {}", verdict(stored, computed, why)));
                }
                format!("{src} > {dst}: ICMP {}, length {wire_len}", icmp(segment))
            }
            IGMP => format!("{src} > {dst}: {}", igmp(segment)),
            other => format!("{src} > {dst}: {} {wire_len}", protocol_name(other)),
        }
    }

    fn ipv6(&mut self, bytes: &[u8], notes: &mut Notes) -> String {
        let Some(ip) = Ipv6Packet::new(bytes) else {
            return "[|ip6]".into();
        };
        let (src, dst): (Ipv6Addr, Ipv6Addr) = (ip.get_source(), ip.get_destination());
        let declared = usize::from(ip.get_payload_length());
        let segment = &bytes[IPV6_HEADER_LEN..(IPV6_HEADER_LEN + declared).min(bytes.len())];
        let protocol = ip.get_next_header().0;
        let why_not = (segment.len() < declared).then_some("snapped");
        let check = |stored: u16| {
            verdict(stored, checksum::transport_v6(protocol, segment, src, dst), why_not)
        };
        let (s, d) = (IpAddr::V6(src), IpAddr::V6(dst));
        if let Some(text) = self.transport(protocol, segment, declared, s, d, check, notes) {
            return text;
        }
        match protocol {
            ICMPV6 => format!("{src} > {dst}: ICMP6, {}, length {declared}", icmp6(segment)),
            other => format!("{src} > {dst}: {} {declared}", protocol_name(other)),
        }
    }

    /// `a.port > b.port: UDP, length N` or the TCP line, for segments long enough to hold
    /// their header; `None` for other protocols. `wire_len` is the segment's length as the IP
    /// header gives it; the checksum status goes to `notes`.
    #[allow(clippy::too_many_arguments)]
    fn transport(
        &mut self,
        protocol: u8,
        segment: &[u8],
        wire_len: usize,
        src: IpAddr,
        dst: IpAddr,
        check: impl Fn(u16) -> String,
        notes: &mut Notes,
    ) -> Option<String> {
        match protocol {
            UDP => {
                let Some(udp) = UdpPacket::new(segment) else {
                    return Some(format!("{src} > {dst}: [|udp]"));
                };
                let length = usize::from(udp.get_length()).saturating_sub(8);
                let stored = udp.get_checksum();
                notes.push(match stored {
                    0 => "udp cksum none".into(),
                    _ => format!("udp cksum {}", check(stored)),
                });
                Some(format!(
                    "{src}.{} > {dst}.{}: UDP, length {length}",
                    udp.get_source(),
                    udp.get_destination()
                ))
            }
            TCP => {
                let Some(tcp) = TcpPacket::new(segment) else {
                    return Some(format!("{src} > {dst}: [|tcp]"));
                };
                notes.push(format!("tcp cksum {}", check(tcp.get_checksum())));
                Some(self.tcp(&tcp, wire_len, src, dst))
            }
            _ => None,
        }
    }

    /// tcpdump's TCP line: flags, `seq a:b` (when there is data, or SYN/FIN/RST), `ack`, `win`,
    /// `urg`, options, length. Sequence and acknowledgement numbers are relative to the first
    /// ACK-bearing packet of the conversation (that one, and any SYN, is printed absolute).
    fn tcp(&mut self, tcp: &TcpPacket<'_>, wire_len: usize, src: IpAddr, dst: IpAddr) -> String {
        let (sport, dport) = (tcp.get_source(), tcp.get_destination());
        let flags = tcp.get_flags();
        let header_len = usize::from(tcp.get_data_offset()) * 4;
        let (mut seq, mut ack) = (tcp.get_sequence(), tcp.get_acknowledgement());
        if flags & ACK != 0 {
            let reverse = (src, sport) > (dst, dport);
            let key = if reverse { (dst, src, dport, sport) } else { (src, dst, sport, dport) };
            let known = self.conversations.get(&key).copied();
            match known {
                Some((seq_base, ack_base)) if flags & SYN == 0 => {
                    let (s, a) = if reverse { (ack_base, seq_base) } else { (seq_base, ack_base) };
                    seq = seq.wrapping_sub(s);
                    ack = ack.wrapping_sub(a);
                }
                _ if known.is_some() || self.conversations.len() < MAX_CONVERSATIONS => {
                    let bases = if reverse {
                        (ack.wrapping_sub(1), seq)
                    } else {
                        (seq, ack.wrapping_sub(1))
                    };
                    self.conversations.insert(key, bases);
                }
                _ => {}
            }
        }
        let mut line = format!("{src}.{sport} > {dst}.{dport}: Flags [{}]", tcp_flags(flags));
        if header_len < 20 {
            let _ = write!(line, " [bad hdr length {header_len} - too short, < 20]");
            return line;
        }
        let length = wire_len.saturating_sub(header_len);
        if length > 0 || flags & (SYN | FIN | RST) != 0 {
            let _ = write!(line, ", seq {seq}");
            if length > 0 {
                let _ = write!(line, ":{}", seq.wrapping_add(length as u32));
            }
        }
        if flags & ACK != 0 {
            let _ = write!(line, ", ack {ack}");
        }
        let _ = write!(line, ", win {}", tcp.get_window());
        if flags & URG != 0 {
            let _ = write!(line, ", urg {}", tcp.get_urgent_ptr());
        }
        if header_len > 20 {
            let _ = write!(line, ", options [{}]", tcp_options(tcp));
        }
        let _ = write!(line, ", length {length}");
        line
    }
}

const FIN: u8 = 0x01;
const SYN: u8 = 0x02;
const RST: u8 = 0x04;
const ACK: u8 = 0x10;
const URG: u8 = 0x20;

fn ethertype(value: u16) -> String {
    let name = match value {
        0x0800 => "IPv4",
        0x0806 => "ARP",
        0x8100 => "802.1Q",
        0x88a8 => "802.1Q-QinQ",
        0x9100 => "802.1Q-9100",
        0x86dd => "IPv6",
        0x88cc => "LLDP",
        MPLS_UNICAST => "MPLS unicast",
        MPLS_MULTICAST => "MPLS multicast",
        _ => "Unknown",
    };
    format!("ethertype {name} (0x{value:04x})")
}

/// The MPLS label stack at `*at`, as tcpdump prints it (`MPLS (label 100, tc 0, [S], ttl 64) `),
/// and the EtherType of what the bottom label carries (by its first nibble, as tcpdump guesses:
/// 4 IPv4, 6 IPv6, else none). Moves `*at` past the stack. `Err` holds the text for a cut stack.
fn mpls(frame: &[u8], at: &mut usize) -> Result<(String, u16), String> {
    let mut text = String::from("MPLS");
    loop {
        let Some(entry) = frame.get(*at..*at + MPLS_LABEL_LEN) else {
            text.push_str(" [|mpls]");
            return Err(text);
        };
        let word = u32::from_be_bytes(entry.try_into().expect("4 bytes"));
        let bottom = word & 0x100 != 0;
        let _ = write!(
            text,
            " (label {}, tc {}{}, ttl {})",
            word >> 12,
            (word >> 9) & 7,
            if bottom { ", [S]" } else { "" },
            word & 0xff
        );
        *at += MPLS_LABEL_LEN;
        if bottom {
            break;
        }
    }
    text.push(' ');
    let inner = match frame.get(*at).map(|b| b >> 4) {
        Some(4) => 0x0800,
        Some(6) => 0x86dd,
        _ => 0,
    };
    Ok((text, inner))
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
        IGMP => "IGMP".into(),
        TCP => "TCP".into(),
        UDP => "UDP".into(),
        ICMPV6 => "ICMP6".into(),
        n => format!("ip-proto-{n}"),
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

/// tcpdump's flag letters, in its order (F S R P . U E W), or `none`.
fn tcp_flags(flags: u8) -> String {
    let letters: String =
        [(FIN, 'F'), (SYN, 'S'), (RST, 'R'), (0x08, 'P'), (ACK, '.'), (URG, 'U'), (0x40, 'E')]
            .iter()
            .chain(&[(0x80, 'W')])
            .filter(|(bit, _)| flags & bit != 0)
            .map(|(_, c)| *c)
            .collect();
    if letters.is_empty() {
        "none".into()
    } else {
        letters
    }
}

/// TCP options as tcpdump lists them: `mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 7`.
fn tcp_options(tcp: &TcpPacket<'_>) -> String {
    let mut parts = Vec::new();
    for option in tcp.get_options_iter() {
        let number = option.get_number();
        let data = option.payload();
        let part = match number {
            TcpOptionNumbers::EOL => "eol".to_string(),
            TcpOptionNumbers::NOP => "nop".to_string(),
            TcpOptionNumbers::MSS if data.len() == 2 => {
                format!("mss {}", u16::from_be_bytes([data[0], data[1]]))
            }
            TcpOptionNumbers::WSCALE if data.len() == 1 => format!("wscale {}", data[0]),
            TcpOptionNumbers::SACK_PERMITTED => "sackOK".to_string(),
            TcpOptionNumbers::TIMESTAMPS if data.len() == 8 => {
                let val = u32::from_be_bytes(data[..4].try_into().expect("8 bytes"));
                let ecr = u32::from_be_bytes(data[4..].try_into().expect("8 bytes"));
                format!("TS val {val} ecr {ecr}")
            }
            TcpOptionNumbers::SACK => {
                let blocks: Vec<String> = data
                    .chunks_exact(8)
                    .map(|b| {
                        let l = u32::from_be_bytes(b[..4].try_into().expect("8 bytes"));
                        let r = u32::from_be_bytes(b[4..].try_into().expect("8 bytes"));
                        format!("{{{l}:{r}}}")
                    })
                    .collect();
                format!("sack {} {}", blocks.len(), blocks.join(""))
            }
            other => format!("unknown-{} 0x{}", other.0, hex(data)),
        };
        parts.push(part);
    }
    parts.join(",")
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// ICMP as tcpdump names the common messages.
fn icmp(message: &[u8]) -> String {
    let Some((&kind, rest)) = message.split_first() else {
        return "[|icmp]".into();
    };
    let code = rest.first().copied().unwrap_or(0);
    let id_seq = || {
        let word = |i: usize| message.get(i..i + 2).map(|b| u16::from_be_bytes([b[0], b[1]]));
        match (word(4), word(6)) {
            (Some(id), Some(seq)) => format!(", id {id}, seq {seq}"),
            _ => String::new(),
        }
    };
    match kind {
        0 => format!("echo reply{}", id_seq()),
        8 => format!("echo request{}", id_seq()),
        3 => format!("unreachable, code {code}"),
        11 if code == 0 => "time exceeded in-transit".into(),
        11 => "ip reassembly time exceeded".into(),
        n => format!("type-#{n}"),
    }
}

/// ICMPv6 as tcpdump names the common messages.
fn icmp6(message: &[u8]) -> String {
    let Some(&kind) = message.first() else {
        return "[|icmp6]".into();
    };
    let word = |i: usize| message.get(i..i + 2).map(|b| u16::from_be_bytes([b[0], b[1]]));
    let id_seq = match (word(4), word(6)) {
        (Some(id), Some(seq)) => format!(", id {id}, seq {seq}"),
        _ => String::new(),
    };
    let target = || {
        message
            .get(8..24)
            .and_then(|b| <[u8; 16]>::try_from(b).ok())
            .map_or_else(String::new, |b| Ipv6Addr::from(b).to_string())
    };
    match kind {
        128 => format!("echo request{id_seq}"),
        129 => format!("echo reply{id_seq}"),
        133 => "router solicitation".into(),
        134 => "router advertisement".into(),
        135 => format!("neighbor solicitation, who has {}", target()),
        136 => format!("neighbor advertisement, tgt is {}", target()),
        n => format!("unknown icmp6 type ({n})"),
    }
}

/// IGMP as tcpdump prints it without `-v`.
fn igmp(message: &[u8]) -> String {
    let Some(&kind) = message.first() else {
        return "[|igmp]".into();
    };
    let group = message
        .get(4..8)
        .and_then(|b| <[u8; 4]>::try_from(b).ok())
        .map(Ipv4Addr::from)
        .map_or_else(String::new, |g| g.to_string());
    match kind {
        0x11 if message.len() >= 12 => "igmp query v3".into(),
        0x11 if message.get(1).copied().unwrap_or(0) == 0 => "igmp query v1".into(),
        0x11 => "igmp query v2".into(),
        0x12 => format!("igmp v1 report {group}"),
        0x16 => format!("igmp v2 report {group}"),
        0x17 => format!("igmp leave {group}"),
        0x22 => {
            let records = message.get(6..8).map_or(0, |b| u16::from_be_bytes([b[0], b[1]]));
            format!("igmp v3 report, {records} group record(s)")
        }
        n => format!("igmp-{n}"),
    }
}

/// ARP as tcpdump prints it; `length` is the wire length after the Ethernet header.
fn arp(bytes: &[u8], length: usize) -> String {
    let Some(arp) = ArpPacket::new(bytes) else {
        return "[|ARP]".into();
    };
    if arp.get_hw_addr_len() != 6 || arp.get_proto_addr_len() != 4 {
        return format!(
            "ARP, hardware address length {}, protocol address length {}, length {length}",
            arp.get_hw_addr_len(),
            arp.get_proto_addr_len()
        );
    }
    let (sender, target): (Ipv4Addr, Ipv4Addr) =
        (arp.get_sender_proto_addr(), arp.get_target_proto_addr());
    match arp.get_operation() {
        ArpOperations::Request => {
            format!("Request who-has {target} tell {sender}, length {length}")
        }
        ArpOperations::Reply => {
            let mac = Mac(MacAddr6::from(<[u8; 6]>::from(arp.get_sender_hw_addr())));
            format!("Reply {sender} is-at {mac}, length {length}")
        }
        other => format!("ARP, Unknown ({}), length {length}", other.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packet::udp::UdpSpec;

    fn line(frame: &[u8]) -> String {
        describe(frame, frame.len() as u32)
    }

    #[test]
    fn time_of_day_in_micro_or_nanoseconds() {
        let ts = 1_764_561_600_000_000_000 + 3_723_000_001_234; // 04:00:00 UTC + 1h 2m 3.000001234
        assert_eq!(time_of_day(ts, false), "05:02:03.000001");
        assert_eq!(time_of_day(ts, true), "05:02:03.000001234");
    }

    #[test]
    fn the_shipped_packet() {
        assert_eq!(
            line(&UdpSpec::default().build().unwrap()),
            "02:00:00:00:00:01 > 02:00:00:00:00:02, ethertype IPv4 (0x0800), length 60: \
             198.18.0.1.1024 > 198.18.0.2.9: UDP, length 18 [ip cksum ok, udp cksum ok]"
        );
    }

    #[test]
    fn bad_checksums_are_reported_with_the_right_value() {
        let mut frame = UdpSpec::default().build().unwrap();
        frame[24] ^= 0xff; // IPv4 header checksum
        frame[41] ^= 0x01; // UDP checksum
        let text = line(&frame);
        assert!(text.contains("ip cksum bad 0x1197 (should be 0xee97)"), "{text}");
        assert!(text.contains("udp cksum bad 0x6f88 (should be 0x6f89)"), "{text}");
    }

    #[test]
    fn vlan_tagged_and_snapped() {
        let frame = UdpSpec { vlan: Some(42), ..UdpSpec::default() }.build().unwrap();
        assert_eq!(
            line(&frame),
            "02:00:00:00:00:01 > 02:00:00:00:00:02, ethertype 802.1Q (0x8100), length 60: \
             vlan 42, p 0, ethertype IPv4 (0x0800), 198.18.0.1.1024 > 198.18.0.2.9: UDP, \
             length 14 [ip cksum ok, udp cksum ok]"
        );
        let big = UdpSpec { size: 97, ..UdpSpec::default() }.build().unwrap();
        assert_eq!(
            describe(&big[..60], big.len() as u32),
            "02:00:00:00:00:01 > 02:00:00:00:00:02, ethertype IPv4 (0x0800), length 93: \
             198.18.0.1.1024 > 198.18.0.2.9: UDP, length 51 [captured 60 of 93, ip cksum ok, \
             udp cksum unverified (snapped)]"
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
            line(&frame),
            "02:00:00:00:00:01 > ff:ff:ff:ff:ff:ff, ethertype ARP (0x0806), length 60: \
             Request who-has 198.18.0.2 tell 198.18.0.1, length 46"
        );
        frame[21] = 2; // reply
        assert!(line(&frame).ends_with("Reply 198.18.0.1 is-at 02:00:00:00:00:01, length 46"));
    }

    #[test]
    fn tcp_numbers_become_relative_as_tcpdump_makes_them() {
        let mut describer = Describer::default();
        let c = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
        let s = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2));
        let segment = |seq: u32, ack: u32, flags: u8| {
            let mut b = vec![0u8; 20];
            b[4..8].copy_from_slice(&seq.to_be_bytes());
            b[8..12].copy_from_slice(&ack.to_be_bytes());
            b[12] = 5 << 4;
            b[13] = flags;
            b[14..16].copy_from_slice(&100u16.to_be_bytes());
            b
        };
        let mut text = |src: IpAddr, dst: IpAddr, seq: u32, ack: u32, flags: u8, len: usize| {
            let b = segment(seq, ack, flags);
            describer.tcp(&TcpPacket::new(&b).unwrap(), 20 + len, src, dst)
        };
        assert!(text(c, s, 1000, 0, SYN, 0).ends_with("Flags [S], seq 1000, win 100, length 0"));
        assert!(text(s, c, 5000, 1001, SYN | ACK, 0)
            .ends_with("Flags [S.], seq 5000, ack 1001, win 100, length 0"));
        assert!(text(c, s, 1001, 5001, ACK, 0).ends_with("Flags [.], ack 1, win 100, length 0"));
        assert!(text(c, s, 1001, 5001, ACK | 0x08, 18)
            .ends_with("Flags [P.], seq 1:19, ack 1, win 100, length 18"));
        assert!(text(s, c, 5001, 1019, FIN | ACK, 0)
            .ends_with("Flags [F.], seq 1, ack 19, win 100, length 0"));
    }

    #[test]
    fn short_and_odd_frames_do_not_panic() {
        let full = UdpSpec { vlan: Some(5), ..UdpSpec::default() }.build().unwrap();
        for len in 0..full.len() {
            assert!(!describe(&full[..len], full.len() as u32).is_empty());
        }
        assert_eq!(line(&[0; 5]), " [|ether]");
        let text = line(&full[..30]);
        assert!(text.ends_with("IP IPv4 header truncated (12 of 20 bytes)"), "{text}");
        let mut unknown = full.clone();
        unknown[12..14].copy_from_slice(&[0x88, 0xb5]);
        assert!(line(&unknown).ends_with("ethertype Unknown (0x88b5), length 60: "));
    }
}
