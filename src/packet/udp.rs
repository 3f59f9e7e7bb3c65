//! The UDP frame builder: one Ethernet / (802.1Q) / IPv4 / UDP frame with valid checksums.
//!
//! [`UdpSpec::default()`] is exactly the packet shipped as `packets/udp64.pcap`: 64 bytes on the
//! wire (60 captured, the FCS is added by the NIC), from 02:00:00:00:00:01 / 198.18.0.1 port 1024
//! to 02:00:00:00:00:02 / 198.18.0.2 port 9 (discard), TTL 64, IP ID 0, DF off, an 18-byte
//! zero payload. The addresses are documentation-safe: locally administered MACs and the RFC 2544
//! benchmarking range 198.18.0.0/15.

use std::net::Ipv4Addr;

use macaddr::MacAddr6;
use pnet::packet::ethernet::{EtherTypes, MutableEthernetPacket};
use pnet::packet::ip::IpNextHeaderProtocols;
use pnet::packet::ipv4::{self, MutableIpv4Packet};
use pnet::packet::udp::MutableUdpPacket;
use pnet::packet::vlan::{ClassesOfService, MutableVlanPacket};
use pnet::util::MacAddr;

use super::checksum;
use super::ethernet::{
    ETHERNET_HEADER_LEN, FCS_LEN, IPV4_HEADER_LEN, MIN_FRAME_ON_WIRE, VLAN_TAG_LEN,
};
use crate::exit::{bad_field, Field, Section};

/// A `netlab packet new` field (`size`).
fn field(key: &str) -> Field {
    Field::new(Section::Packet, key)
}

/// Source MAC of the shipped packet (locally administered).
pub const SHIPPED_SRC_MAC: MacAddr6 = MacAddr6::new(0x02, 0, 0, 0, 0, 0x01);
/// Destination MAC of the shipped packet (locally administered).
pub const SHIPPED_DST_MAC: MacAddr6 = MacAddr6::new(0x02, 0, 0, 0, 0, 0x02);
/// Source IP of the shipped packet (RFC 2544 benchmarking range).
pub const SHIPPED_SRC_IP: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 1);
/// Destination IP of the shipped packet (RFC 2544 benchmarking range).
pub const SHIPPED_DST_IP: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 2);
/// Source UDP port of the shipped packet.
pub const SHIPPED_SRC_PORT: u16 = 1024;
/// Destination UDP port of the shipped packet (discard).
pub const SHIPPED_DST_PORT: u16 = 9;
/// TTL of every built packet.
pub const TTL: u8 = 64;
/// The default MTU a built frame must fit.
pub const DEFAULT_MTU: usize = 1500;
/// The largest IPv4 packet (the total length field is 16 bits).
const MAX_IPV4_LEN: usize = 65535;
/// The smallest MTU an IPv4 link may have (RFC 791).
const MIN_IPV4_MTU: usize = 68;

/// What to build: every field of the frame that can be chosen. Errors name the matching
/// `netlab packet new` setting (`size`, `vlan`, `mtu`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UdpSpec {
    /// Source MAC address.
    pub src_mac: MacAddr6,
    /// Destination MAC address.
    pub dst_mac: MacAddr6,
    /// Source IPv4 address.
    pub src_ip: Ipv4Addr,
    /// Destination IPv4 address.
    pub dst_ip: Ipv4Addr,
    /// Source UDP port.
    pub src_port: u16,
    /// Destination UDP port.
    pub dst_port: u16,
    /// Frame size on the wire, FCS included (the capture holds `size - 4` bytes). At least 64,
    /// at most `mtu + 18` (`mtu + 22` with a VLAN tag: the tag is not part of the MTU).
    pub size: usize,
    /// The MTU the IPv4 packet must fit.
    pub mtu: usize,
    /// An 802.1Q tag with this VLAN ID (1..=4094), priority 0, inserted after the MACs.
    pub vlan: Option<u16>,
}

impl Default for UdpSpec {
    /// Exactly the shipped packet (`packets/udp64.pcap`).
    fn default() -> Self {
        Self {
            src_mac: SHIPPED_SRC_MAC,
            dst_mac: SHIPPED_DST_MAC,
            src_ip: SHIPPED_SRC_IP,
            dst_ip: SHIPPED_DST_IP,
            src_port: SHIPPED_SRC_PORT,
            dst_port: SHIPPED_DST_PORT,
            size: MIN_FRAME_ON_WIRE,
            mtu: DEFAULT_MTU,
            vlan: None,
        }
    }
}

impl UdpSpec {
    /// The largest on-wire size this spec's MTU and tagging allow.
    pub fn max_size(&self) -> usize {
        let tag = if self.vlan.is_some() { VLAN_TAG_LEN } else { 0 };
        self.mtu + ETHERNET_HEADER_LEN + tag + FCS_LEN
    }

    /// Checks the fields that can be out of range; errors are bad input naming the field.
    pub fn validate(&self) -> anyhow::Result<()> {
        if let Some(id) = self.vlan {
            if !(1..=4094).contains(&id) {
                return Err(bad_field(field("vlan").with_value(id), "a VLAN ID is 1..4094"));
            }
        }
        if !(MIN_IPV4_MTU..=MAX_IPV4_LEN).contains(&self.mtu) {
            return Err(bad_field(
                field("mtu").with_value(self.mtu),
                format!("an IPv4 MTU is {MIN_IPV4_MTU}..{MAX_IPV4_LEN} bytes"),
            ));
        }
        if self.size < MIN_FRAME_ON_WIRE {
            return Err(bad_field(
                field("size").with_value(self.size),
                format!(
                    "an Ethernet frame is at least {MIN_FRAME_ON_WIRE} bytes on the wire (FCS \
                     included)"
                ),
            ));
        }
        if self.size > self.max_size() {
            return Err(bad_field(
                field("size").with_value(self.size),
                format!(
                    "larger than MTU {} allows (at most {} bytes on the wire{}, FCS included)",
                    self.mtu,
                    self.max_size(),
                    if self.vlan.is_some() { " with the VLAN tag" } else { "" },
                ),
            ));
        }
        Ok(())
    }

    /// Builds the frame as captured (without FCS): `size - 4` bytes, valid IPv4 header and UDP
    /// checksums, the payload zero-filled to the size.
    pub fn build(&self) -> anyhow::Result<Vec<u8>> {
        self.validate()?;
        let mut frame = vec![0u8; self.size - FCS_LEN];
        let tag_len = if self.vlan.is_some() { VLAN_TAG_LEN } else { 0 };
        let ip_start = ETHERNET_HEADER_LEN + tag_len;
        let ip_len = frame.len() - ip_start;
        let udp_len = ip_len - IPV4_HEADER_LEN;
        // Both bounded by validate(): ip_len <= mtu <= 65535.
        let (ip_len16, udp_len16) = (
            u16::try_from(ip_len).expect("validated: fits the MTU"),
            u16::try_from(udp_len).expect("validated: fits the MTU"),
        );

        let mut ethernet = MutableEthernetPacket::new(&mut frame[..]).expect("frame >= 60 bytes");
        ethernet.set_destination(MacAddr::from(self.dst_mac.into_array()));
        ethernet.set_source(MacAddr::from(self.src_mac.into_array()));
        match self.vlan {
            Some(id) => {
                ethernet.set_ethertype(EtherTypes::Vlan);
                let mut vlan = MutableVlanPacket::new(&mut frame[ETHERNET_HEADER_LEN..])
                    .expect("frame >= 60 bytes");
                vlan.set_priority_code_point(ClassesOfService::BE);
                vlan.set_drop_eligible_indicator(0);
                vlan.set_vlan_identifier(id);
                vlan.set_ethertype(EtherTypes::Ipv4);
            }
            None => ethernet.set_ethertype(EtherTypes::Ipv4),
        }

        let mut ip = MutableIpv4Packet::new(&mut frame[ip_start..]).expect("frame >= 60 bytes");
        ip.set_version(4);
        ip.set_header_length((IPV4_HEADER_LEN / 4) as u8);
        ip.set_dscp(0);
        ip.set_ecn(0);
        ip.set_total_length(ip_len16);
        ip.set_identification(0);
        ip.set_flags(0);
        ip.set_fragment_offset(0);
        ip.set_ttl(TTL);
        ip.set_next_level_protocol(IpNextHeaderProtocols::Udp);
        ip.set_source(self.src_ip);
        ip.set_destination(self.dst_ip);
        ip.set_checksum(ipv4::checksum(&ip.to_immutable()));

        let udp_start = ip_start + IPV4_HEADER_LEN;
        let mut udp = MutableUdpPacket::new(&mut frame[udp_start..]).expect("frame >= 60 bytes");
        udp.set_source(self.src_port);
        udp.set_destination(self.dst_port);
        udp.set_length(udp_len16);
        let udp_checksum =
            checksum::transport_v4(checksum::UDP, &frame[udp_start..], self.src_ip, self.dst_ip)
                .expect("a UDP segment of at least 8 bytes");
        let mut udp = MutableUdpPacket::new(&mut frame[udp_start..]).expect("frame >= 60 bytes");
        udp.set_checksum(udp_checksum);
        Ok(frame)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packet::ethernet::locate_ipv4;

    /// The shipped packet, byte for byte, written out by hand; its checksums (0xee97, 0x6f89)
    /// were computed outside this code and tshark reports both as good.
    const SHIPPED: [u8; 60] = [
        0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x08,
        0x00, // eth
        0x45, 0x00, 0x00, 0x2e, 0x00, 0x00, 0x00, 0x00, 0x40, 0x11, 0xee, 0x97, // ip ..cksum
        0xc6, 0x12, 0x00, 0x01, 0xc6, 0x12, 0x00, 0x02, // ip addresses
        0x04, 0x00, 0x00, 0x09, 0x00, 0x1a, 0x6f, 0x89, // udp
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, // payload
    ];

    #[test]
    fn default_is_the_shipped_packet() {
        assert_eq!(UdpSpec::default().build().unwrap(), SHIPPED);
    }

    #[test]
    fn sizes_and_vlan_tag() {
        let spec = UdpSpec { size: 1518, ..UdpSpec::default() };
        let frame = spec.build().unwrap();
        assert_eq!(frame.len(), 1514);
        let at = locate_ipv4(&frame).unwrap();
        assert_eq!(at.total_len, 1500);

        let tagged = UdpSpec { vlan: Some(100), ..UdpSpec::default() }.build().unwrap();
        assert_eq!(tagged.len(), 60);
        assert_eq!(&tagged[12..18], &[0x81, 0x00, 0x00, 100, 0x08, 0x00]);
        let at = locate_ipv4(&tagged).unwrap();
        assert_eq!((at.start, at.total_len), (18, 42));

        let tagged_max = UdpSpec { vlan: Some(4094), size: 1522, ..UdpSpec::default() };
        assert_eq!(locate_ipv4(&tagged_max.build().unwrap()).unwrap().total_len, 1500);
    }

    #[test]
    fn out_of_range_fields_name_their_field() {
        let cases = [
            (
                UdpSpec { size: 63, ..UdpSpec::default() },
                "packet.size: an Ethernet frame is at least",
            ),
            (UdpSpec { size: 1519, ..UdpSpec::default() }, "packet.size: larger than MTU 1500"),
            (
                UdpSpec { size: 1523, vlan: Some(1), ..UdpSpec::default() },
                "packet.size: larger than MTU 1500 allows (at most 1522",
            ),
            (
                UdpSpec { size: 9018, mtu: 9000, vlan: Some(0), ..UdpSpec::default() },
                "packet.vlan: a VLAN ID",
            ),
            (UdpSpec { vlan: Some(4095), ..UdpSpec::default() }, "packet.vlan: a VLAN ID"),
            (UdpSpec { mtu: 67, ..UdpSpec::default() }, "packet.mtu: an IPv4 MTU"),
        ];
        for (spec, flag) in cases {
            let err = spec.build().unwrap_err();
            assert!(format!("{err}").starts_with(flag), "{flag}: {err}");
            assert_eq!(crate::exit::code_for(&err), crate::exit::Code::BadInput);
        }
        assert!(UdpSpec { size: 9018, mtu: 9000, ..UdpSpec::default() }.build().is_ok());
    }
}
