//! Internet checksums (RFC 1071) of UDP/TCP segments and ICMP messages — computed with pnet's
//! checksum functions (the IPv4 header's is `pnet::packet::ipv4::checksum`) — and the incremental update of RFC 1624 for segments we can't see whole.

use std::net::{Ipv4Addr, Ipv6Addr};

use pnet::packet::ip::IpNextHeaderProtocol;
use pnet::packet::util;

/// IP protocol number of ICMP.
pub const ICMP: u8 = 1;
/// IP protocol number of TCP.
pub const TCP: u8 = 6;
/// IP protocol number of UDP.
pub const UDP: u8 = 17;

/// Byte offset of the checksum field in a transport header, and the smallest header that holds
/// it, for the protocols whose checksum covers the IP pseudo-header (UDP, TCP).
pub fn transport_checksum_field(protocol: u8) -> Option<(usize, usize)> {
    match protocol {
        UDP => Some((6, 8)),
        TCP => Some((16, 20)),
        _ => None,
    }
}

/// What a UDP checksum of zero means on the wire: "no checksum". A computed zero is sent as
/// 0xffff instead (RFC 768).
fn wire_form(protocol: u8, checksum: u16) -> u16 {
    if protocol == UDP && checksum == 0 {
        0xffff
    } else {
        checksum
    }
}

/// The UDP or TCP checksum of `segment` (transport header + payload) over IPv4; `None` for
/// other protocols or a segment too short to hold the field.
pub fn transport_v4(protocol: u8, segment: &[u8], src: Ipv4Addr, dst: Ipv4Addr) -> Option<u16> {
    let (field, min_len) = transport_checksum_field(protocol)?;
    if segment.len() < min_len {
        return None;
    }
    let sum =
        util::ipv4_checksum(segment, field / 2, &[], &src, &dst, IpNextHeaderProtocol(protocol));
    Some(wire_form(protocol, sum))
}

/// The UDP or TCP checksum of `segment` over IPv6; `None` as for [`transport_v4`].
pub fn transport_v6(protocol: u8, segment: &[u8], src: Ipv6Addr, dst: Ipv6Addr) -> Option<u16> {
    let (field, min_len) = transport_checksum_field(protocol)?;
    if segment.len() < min_len {
        return None;
    }
    let sum =
        util::ipv6_checksum(segment, field / 2, &[], &src, &dst, IpNextHeaderProtocol(protocol));
    Some(wire_form(protocol, sum))
}

/// The ICMP checksum of `message` (no pseudo-header).
pub fn icmp(message: &[u8]) -> u16 {
    util::checksum(message, 1)
}

/// RFC 1624 incremental update: the checksum after the 16-bit words `old` are replaced by
/// `new` (same length, even). Used where the covered data is not all in the capture (the
/// first fragment of a datagram, a snapped frame).
pub fn adjust(protocol: u8, checksum: u16, old: &[u8], new: &[u8]) -> u16 {
    // HC' = ~(~HC + ~m + m')  (RFC 1624, eqn. 3)
    let mut sum = u32::from(!checksum);
    for (o, n) in old.chunks(2).zip(new.chunks(2)) {
        let o = u16::from_be_bytes([o[0], o.get(1).copied().unwrap_or(0)]);
        let n = u16::from_be_bytes([n[0], n.get(1).copied().unwrap_or(0)]);
        sum += u32::from(!o) + u32::from(n);
    }
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    wire_form(protocol, !(sum as u16))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 1071's worked example, as an IPv4 header from a real capture: 45 00 00 73 00 00 40 00
    /// 40 11 [b8 61] c0 a8 00 01 c0 a8 00 c7 (Wikipedia's "IPv4 header checksum" example).
    #[test]
    fn ipv4_header_checksum_of_a_known_header() {
        let header = [
            0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0x00, 0x00, 0xc0, 0xa8,
            0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7,
        ];
        let header = pnet::packet::ipv4::Ipv4Packet::new(&header).unwrap();
        assert_eq!(pnet::packet::ipv4::checksum(&header), 0xb861);
    }

    #[test]
    fn udp_zero_sum_is_sent_as_ffff() {
        assert_eq!(wire_form(UDP, 0), 0xffff);
        assert_eq!(wire_form(TCP, 0), 0);
    }

    #[test]
    fn incremental_update_matches_a_full_recompute() {
        let src = Ipv4Addr::new(198, 18, 0, 1);
        let dst = Ipv4Addr::new(198, 18, 0, 2);
        let new_src = Ipv4Addr::new(10, 9, 8, 7);
        let mut segment = vec![0x04, 0x00, 0x00, 0x09, 0x00, 0x0d, 0, 0, 1, 2, 3, 4, 5];
        let before = transport_v4(UDP, &segment, src, dst).unwrap();
        segment[6..8].copy_from_slice(&before.to_be_bytes());
        let adjusted = adjust(UDP, before, &src.octets(), &new_src.octets());
        assert_eq!(adjusted, transport_v4(UDP, &segment, new_src, dst).unwrap());
        assert_ne!(adjusted, before);
    }

    #[test]
    fn other_protocols_have_no_transport_checksum() {
        let ip = Ipv4Addr::LOCALHOST;
        assert_eq!(transport_v4(ICMP, &[0; 8], ip, ip), None);
        assert_eq!(transport_v4(TCP, &[0; 19], ip, ip), None); // shorter than a TCP header
    }
}
