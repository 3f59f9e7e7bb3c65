//! Walking an Ethernet frame down to its network layer: the Ethernet header, any 802.1Q /
//! 802.1ad tags, and where the IPv4 header sits. Shared by the rewriter and the describer so
//! both agree on where a header is. Never panics on short input.

use std::net::Ipv4Addr;

use pnet::packet::ethernet::{EtherType, EtherTypes, EthernetPacket};
use pnet::packet::ipv4::Ipv4Packet;
use pnet::packet::vlan::VlanPacket;

/// Bytes of an Ethernet header (two MACs and the EtherType), without tags.
pub const ETHERNET_HEADER_LEN: usize = 14;
/// Bytes of one 802.1Q tag.
pub const VLAN_TAG_LEN: usize = 4;
/// Bytes of the frame check sequence: on the wire, never in a capture.
pub const FCS_LEN: usize = 4;
/// The smallest Ethernet frame on the wire, FCS included.
pub const MIN_FRAME_ON_WIRE: usize = 64;
/// Bytes of an IPv4 header without options.
pub const IPV4_HEADER_LEN: usize = 20;
/// Bytes of a UDP header.
pub const UDP_HEADER_LEN: usize = 8;

/// One 802.1Q / 802.1ad tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VlanTag {
    /// The TPID: 0x8100 (802.1Q), 0x88a8 (802.1ad) or 0x9100 (QinQ).
    pub tpid: u16,
    /// VLAN identifier (12 bits).
    pub id: u16,
    /// Priority code point (3 bits).
    pub priority: u8,
    /// Drop eligible indicator (the bit between priority and ID, once CFI).
    pub dei: bool,
}

/// An Ethernet frame's link layer: tags and the EtherType of what follows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkLayer {
    /// Tags, outermost first.
    pub tags: Vec<VlanTag>,
    /// The innermost EtherType (or 802.3 length, when below 0x0600).
    pub ethertype: u16,
    /// Offset of the network-layer header.
    pub payload_offset: usize,
}

fn is_tag(ethertype: EtherType) -> bool {
    matches!(ethertype, EtherTypes::Vlan | EtherTypes::PBridge | EtherTypes::QinQ)
}

/// Parses the Ethernet header and tags; `None` when the frame is shorter than an Ethernet header.
/// A tag cut short by the end of the frame ends the walk at that tag's TPID (its EtherType is
/// then the TPID and `payload_offset` the frame length).
pub fn link_layer(frame: &[u8]) -> Option<LinkLayer> {
    let ethernet = EthernetPacket::new(frame)?;
    let mut ethertype = ethernet.get_ethertype();
    let mut offset = ETHERNET_HEADER_LEN;
    let mut tags = Vec::new();
    while is_tag(ethertype) {
        let Some(vlan) = VlanPacket::new(&frame[offset..]) else {
            return Some(LinkLayer { tags, ethertype: ethertype.0, payload_offset: frame.len() });
        };
        tags.push(VlanTag {
            tpid: ethertype.0,
            id: vlan.get_vlan_identifier(),
            priority: vlan.get_priority_code_point().0,
            dei: vlan.get_drop_eligible_indicator() != 0,
        });
        ethertype = vlan.get_ethertype();
        offset += VLAN_TAG_LEN;
    }
    Some(LinkLayer { tags, ethertype: ethertype.0, payload_offset: offset })
}

/// Where an IPv4 packet sits in a frame, with its header fields validated against the bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv4Location {
    /// Offset of the IPv4 header.
    pub start: usize,
    /// Header length in bytes (IHL × 4).
    pub header_len: usize,
    /// The header's total length field.
    pub total_len: usize,
    /// Protocol number of the payload.
    pub protocol: u8,
    /// Source address.
    pub source: Ipv4Addr,
    /// Destination address.
    pub destination: Ipv4Addr,
    /// Fragment offset in bytes (0 for an unfragmented packet or the first fragment).
    pub fragment_offset: usize,
    /// The more-fragments flag.
    pub more_fragments: bool,
}

impl Ipv4Location {
    /// Offset of the transport header.
    pub fn payload_start(&self) -> usize {
        self.start + self.header_len
    }

    /// End of the IP packet within the frame: the total length, clipped to the captured bytes
    /// (Ethernet padding after it is not part of the packet).
    pub fn end(&self, frame_len: usize) -> usize {
        (self.start + self.total_len).min(frame_len)
    }

    /// Whether the whole IP packet is in the capture.
    pub fn complete(&self, frame_len: usize) -> bool {
        self.start + self.total_len <= frame_len
    }

    /// Whether this is a fragment (first or later) rather than a whole datagram.
    pub fn is_fragment(&self) -> bool {
        self.more_fragments || self.fragment_offset != 0
    }
}

/// Why a frame's IPv4 header can't be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ipv4Problem {
    /// Shorter than an Ethernet header.
    NoEthernet,
    /// The EtherType is not IPv4.
    NotIpv4(u16),
    /// The IPv4 header is cut short, or its fields are inconsistent (said why).
    Malformed(String),
}

/// Locates the IPv4 header of an Ethernet frame (behind any VLAN tags).
pub fn locate_ipv4(frame: &[u8]) -> Result<Ipv4Location, Ipv4Problem> {
    let link = link_layer(frame).ok_or(Ipv4Problem::NoEthernet)?;
    if link.ethertype != EtherTypes::Ipv4.0 {
        return Err(Ipv4Problem::NotIpv4(link.ethertype));
    }
    ipv4_at(frame, link.payload_offset)
}

/// Reads the IPv4 header that starts at `start` in `frame` (after Ethernet and tags, or an MPLS
/// label stack).
pub fn ipv4_at(frame: &[u8], start: usize) -> Result<Ipv4Location, Ipv4Problem> {
    let rest = frame.get(start..).unwrap_or_default();
    let ip = Ipv4Packet::new(rest).ok_or_else(|| {
        Ipv4Problem::Malformed(format!(
            "IPv4 header truncated ({} of {IPV4_HEADER_LEN} bytes)",
            rest.len()
        ))
    })?;
    if ip.get_version() != 4 {
        return Err(Ipv4Problem::Malformed(format!(
            "IP version {} in an IPv4 frame",
            ip.get_version()
        )));
    }
    let header_len = usize::from(ip.get_header_length()) * 4;
    if header_len < IPV4_HEADER_LEN {
        return Err(Ipv4Problem::Malformed(format!("IPv4 header length {header_len} < 20")));
    }
    if header_len > rest.len() {
        return Err(Ipv4Problem::Malformed(format!(
            "IPv4 header truncated ({} of {header_len} bytes)",
            rest.len()
        )));
    }
    let total_len = usize::from(ip.get_total_length());
    if total_len < header_len {
        return Err(Ipv4Problem::Malformed(format!(
            "IPv4 total length {total_len} is shorter than its header ({header_len})"
        )));
    }
    Ok(Ipv4Location {
        start,
        header_len,
        total_len,
        protocol: ip.get_next_level_protocol().0,
        source: ip.get_source(),
        destination: ip.get_destination(),
        fragment_offset: usize::from(ip.get_fragment_offset()) * 8,
        more_fragments: ip.get_flags() & pnet::packet::ipv4::Ipv4Flags::MoreFragments != 0,
    })
}
