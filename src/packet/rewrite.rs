//! Rewriting addresses in captured frames, as tcprewrite's `--enet-smac/--enet-dmac` and
//! `--srcipmap/--dstipmap` do for the class case: MACs always, IPv4 addresses when asked, with
//! the IPv4 header checksum and any UDP/TCP checksum brought up to date. Every other byte is kept.

use std::net::Ipv4Addr;

use macaddr::MacAddr6;
use pnet::packet::ipv4::{self, MutableIpv4Packet};

use super::checksum;
use super::ethernet::{locate_ipv4, Ipv4Problem, ETHERNET_HEADER_LEN};
use super::file::Frame;
use crate::exit::bad_input;

/// What to change in each frame; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rewrite {
    /// New source MAC.
    pub src_mac: Option<MacAddr6>,
    /// New destination MAC.
    pub dst_mac: Option<MacAddr6>,
    /// New IPv4 source address (the frame must be IPv4, behind any VLAN tags).
    pub src_ip: Option<Ipv4Addr>,
    /// New IPv4 destination address.
    pub dst_ip: Option<Ipv4Addr>,
}

impl Rewrite {
    /// Whether this rewrite changes nothing.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// Applies the rewrite to one frame. `index` is the frame's 0-based position in its file;
    /// errors name it as packet #`index + 1` (as tcpdump and tshark number packets).
    ///
    /// When an IP address changes, the IPv4 header checksum is recomputed, and so is the UDP or
    /// TCP checksum when the whole segment is in the frame; for a first fragment or a snapped
    /// frame it is updated incrementally (RFC 1624). A UDP checksum of 0 ("none") stays 0.
    /// A frame that is not IPv4, or whose IPv4 header is cut short, is a bad-input error.
    pub fn apply(&self, frame: &mut [u8], index: usize) -> anyhow::Result<()> {
        let number = index + 1;
        if frame.len() < ETHERNET_HEADER_LEN {
            return Err(bad_input(format!(
                "packet #{number}: {} bytes is shorter than an Ethernet header \
                 ({ETHERNET_HEADER_LEN})",
                frame.len()
            )));
        }
        if self.src_ip.is_none() && self.dst_ip.is_none() {
            self.apply_macs(frame);
            return Ok(());
        }
        // Checked before anything is written, so a rejected frame is left as it was.
        let at = locate_ipv4(frame).map_err(|problem| match problem {
            Ipv4Problem::NotIpv4(ethertype) => bad_input(format!(
                "packet #{number} is not IPv4 (ethertype 0x{ethertype:04x}): cannot change its \
                 IP addresses"
            )),
            Ipv4Problem::Malformed(why) => bad_input(format!("packet #{number}: {why}")),
            Ipv4Problem::NoEthernet => bad_input(format!("packet #{number}: no Ethernet header")),
        })?;

        self.apply_macs(frame);
        let mut ip = MutableIpv4Packet::new(&mut frame[at.start..at.payload_start()])
            .expect("locate_ipv4 checked the header length");
        if let Some(addr) = self.src_ip {
            ip.set_source(addr);
        }
        if let Some(addr) = self.dst_ip {
            ip.set_destination(addr);
        }
        ip.set_checksum(ipv4::checksum(&ip.to_immutable()));
        let (src, dst) = (ip.get_source(), ip.get_destination());
        let old = [at.source.octets(), at.destination.octets()].concat();
        let new = [src.octets(), dst.octets()].concat();

        // Later fragments carry no transport header; other protocols (ICMP…) have no
        // pseudo-header in their checksum.
        let Some((field, min_len)) = checksum::transport_checksum_field(at.protocol) else {
            return Ok(());
        };
        let segment = at.payload_start()..at.end(frame.len());
        if at.fragment_offset != 0 || segment.len() < min_len {
            return Ok(());
        }
        let field = segment.start + field..segment.start + field + 2;
        let stored = u16::from_be_bytes([frame[field.start], frame[field.start + 1]]);
        if at.protocol == checksum::UDP && stored == 0 {
            return Ok(());
        }
        let updated = if at.complete(frame.len()) && !at.is_fragment() {
            checksum::transport_v4(at.protocol, &frame[segment], src, dst)
                .expect("segment length checked above")
        } else {
            checksum::adjust(at.protocol, stored, &old, &new)
        };
        frame[field].copy_from_slice(&updated.to_be_bytes());
        Ok(())
    }
}

impl Rewrite {
    /// Applies the rewrite to every frame of a file, in file order: [`Rewrite::apply`] with each
    /// frame's index, stopping at the first error.
    pub fn apply_all(&self, frames: &mut [Frame]) -> anyhow::Result<()> {
        frames
            .iter_mut()
            .enumerate()
            .try_for_each(|(index, frame)| self.apply(&mut frame.data, index))
    }

    fn apply_macs(&self, frame: &mut [u8]) {
        if let Some(mac) = self.dst_mac {
            frame[0..6].copy_from_slice(mac.as_bytes());
        }
        if let Some(mac) = self.src_mac {
            frame[6..12].copy_from_slice(mac.as_bytes());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packet::show::describe;
    use crate::packet::udp::UdpSpec;

    fn macs() -> Rewrite {
        Rewrite {
            src_mac: Some(MacAddr6::new(0x02, 0xaa, 0, 0, 0, 1)),
            dst_mac: Some(MacAddr6::new(0x02, 0xbb, 0, 0, 0, 2)),
            ..Rewrite::default()
        }
    }

    #[test]
    fn mac_rewrite_changes_only_the_twelve_mac_bytes() {
        let original = UdpSpec::default().build().unwrap();
        let mut frame = original.clone();
        macs().apply(&mut frame, 0).unwrap();
        let differing: Vec<usize> = (0..frame.len()).filter(|&i| frame[i] != original[i]).collect();
        assert_eq!(differing, vec![1, 7]); // 02:bb… vs 02:00…, 02:aa… vs 02:00…
        assert_eq!(&frame[..12], &[2, 0xbb, 0, 0, 0, 2, 2, 0xaa, 0, 0, 0, 1]);
        assert_eq!(frame.len(), original.len());
    }

    #[test]
    fn ip_rewrite_keeps_checksums_valid() {
        for vlan in [None, Some(7)] {
            let mut frame = UdpSpec { vlan, size: 200, ..UdpSpec::default() }.build().unwrap();
            let rewrite = Rewrite {
                src_ip: Some(Ipv4Addr::new(10, 1, 2, 3)),
                dst_ip: Some(Ipv4Addr::new(10, 4, 5, 6)),
                ..Rewrite::default()
            };
            rewrite.apply(&mut frame, 0).unwrap();
            let line = describe(&frame);
            assert!(line.contains("10.1.2.3.1024 > 10.4.5.6.9: UDP"), "{line}");
            assert!(line.ends_with("[ip cksum ok, udp cksum ok]"), "{line}");
        }
    }

    #[test]
    fn first_fragment_is_updated_incrementally() {
        // A whole datagram, then the same datagram cut as a first fragment (MF set, total length
        // shortened): the UDP checksum still covers the whole datagram, so after rewriting the
        // fragment it must equal the checksum of the rewritten whole datagram.
        let whole_spec = UdpSpec { size: 300, ..UdpSpec::default() };
        let rewrite = Rewrite { src_ip: Some(Ipv4Addr::new(192, 0, 2, 9)), ..Rewrite::default() };
        let mut whole = whole_spec.build().unwrap();
        let mut fragment = whole[..14 + 20 + 64].to_vec();
        fragment[14 + 2..14 + 4].copy_from_slice(&84u16.to_be_bytes()); // total length
        fragment[14 + 6] = 0x20; // MF
        rewrite.apply(&mut whole, 0).unwrap();
        rewrite.apply(&mut fragment, 0).unwrap();
        assert_eq!(&fragment[14 + 26..14 + 28], &whole[14 + 26..14 + 28]);
        assert!(describe(&fragment).contains("ip cksum ok"), "{}", describe(&fragment));
    }

    #[test]
    fn udp_without_checksum_stays_without() {
        let mut frame = UdpSpec::default().build().unwrap();
        frame[40..42].copy_from_slice(&[0, 0]);
        let rewrite = Rewrite { dst_ip: Some(Ipv4Addr::new(10, 0, 0, 1)), ..Rewrite::default() };
        rewrite.apply(&mut frame, 0).unwrap();
        assert_eq!(&frame[40..42], &[0, 0]);
    }

    #[test]
    fn non_ipv4_and_short_frames_are_bad_input_naming_the_packet() {
        let rewrite = Rewrite { src_ip: Some(Ipv4Addr::LOCALHOST), ..macs() };
        let mut arp = UdpSpec::default().build().unwrap();
        arp[12..14].copy_from_slice(&[0x08, 0x06]);
        let err = rewrite.apply(&mut arp, 2).unwrap_err();
        assert!(err.to_string().starts_with("packet #3 is not IPv4"), "{err}");
        assert_eq!(crate::exit::code_for(&err), crate::exit::Code::BadInput);
        assert_eq!(
            &arp[..12],
            &UdpSpec::default().build().unwrap()[..12],
            "MACs left as they were"
        );

        let mut short = vec![0u8; 10];
        let err = macs().apply(&mut short, 0).unwrap_err();
        assert!(err.to_string().starts_with("packet #1: 10 bytes"), "{err}");
        assert_eq!(short, vec![0u8; 10], "nothing written into a rejected frame");
    }
}
