//! Rewriting addresses in captured frames, as tcprewrite's `--enet-smac/--enet-dmac` and
//! `--srcipmap/--dstipmap` do for the class case: MACs always, IPv4 addresses when asked, with
//! the IPv4 header checksum and any UDP/TCP checksum brought up to date. Every other byte is kept,
//! and frames the rewrite does not apply to (not IPv4, shorter than an Ethernet header) pass as
//! they are ([`Outcome`]).

use std::net::Ipv4Addr;

use macaddr::MacAddr6;
use pnet::packet::ipv4::{self, MutableIpv4Packet};

use super::checksum;
use super::ethernet::{locate_ipv4, Ipv4Location, Ipv4Problem, ETHERNET_HEADER_LEN};
use super::file::Frame;

/// What to change in each frame; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rewrite {
    /// New source MAC.
    pub src_mac: Option<MacAddr6>,
    /// New destination MAC.
    pub dst_mac: Option<MacAddr6>,
    /// New IPv4 source address (in IPv4 frames, behind any VLAN tags; others pass as they are).
    pub src_ip: Option<Ipv4Addr>,
    /// New IPv4 destination address.
    pub dst_ip: Option<Ipv4Addr>,
}

/// What [`Rewrite::apply`] did to one frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Every change asked for was made.
    Rewritten,
    /// The MACs were changed; the IPv4 addresses asked for were not, for this reason.
    MacsOnly(Pass),
    /// Nothing was changed, for this reason: the frame is byte for byte as it was.
    Passed(Pass),
}

/// Why a frame (or its IP header) was passed through unchanged, as tcprewrite does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pass {
    /// Shorter than an Ethernet header.
    Short,
    /// Not IPv4 (behind any VLAN tags): ARP, IPv6, MPLS…
    NotIpv4,
    /// IPv4, but its header is cut short or inconsistent.
    BadIpv4,
}

/// How many frames of a file [`Rewrite::apply_all`] (or a streaming caller adding
/// [`Outcome`]s) changed and passed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Frames seen.
    pub frames: u64,
    /// Frames with every asked change made.
    pub rewritten: u64,
    /// Frames whose MACs changed but not their IP addresses.
    pub macs_only: u64,
    /// Frames left byte for byte as they were.
    pub passed: u64,
    /// Of `macs_only` and `passed`: shorter than an Ethernet header.
    pub short: u64,
    /// Of `macs_only` and `passed`: not IPv4.
    pub not_ipv4: u64,
    /// Of `macs_only` and `passed`: an IPv4 header that can't be used.
    pub bad_ipv4: u64,
}

impl Counts {
    /// Adds one frame's outcome.
    pub fn add(&mut self, outcome: Outcome) {
        self.frames += 1;
        let why = match outcome {
            Outcome::Rewritten => {
                self.rewritten += 1;
                return;
            }
            Outcome::MacsOnly(why) => {
                self.macs_only += 1;
                why
            }
            Outcome::Passed(why) => {
                self.passed += 1;
                why
            }
        };
        match why {
            Pass::Short => self.short += 1,
            Pass::NotIpv4 => self.not_ipv4 += 1,
            Pass::BadIpv4 => self.bad_ipv4 += 1,
        }
    }

    /// `7 rewritten, 2 with new MACs only, 1 passed as it was (2 not IPv4, 1 shorter than an
    /// Ethernet header)`: the parts that are not zero.
    pub fn summary(&self) -> String {
        let mut parts = vec![format!("{} rewritten", self.rewritten)];
        if self.macs_only > 0 {
            parts.push(format!("{} with new MACs only", self.macs_only));
        }
        if self.passed > 0 {
            parts.push(format!(
                "{} passed as {}",
                self.passed,
                if self.passed == 1 { "it was" } else { "they were" }
            ));
        }
        let why: Vec<String> = [
            (self.not_ipv4, "not IPv4"),
            (self.bad_ipv4, "with an unusable IPv4 header"),
            (self.short, "shorter than an Ethernet header"),
        ]
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, what)| format!("{n} {what}"))
        .collect();
        let mut text = parts.join(", ");
        if !why.is_empty() {
            text.push_str(&format!(" ({})", why.join(", ")));
        }
        text
    }
}

impl Rewrite {
    /// Whether this rewrite changes nothing.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// Whether IPv4 addresses are to change.
    fn changes_ip(&self) -> bool {
        self.src_ip.is_some() || self.dst_ip.is_some()
    }

    /// Applies the rewrite to one frame, as tcprewrite does: MACs in every Ethernet frame, IPv4
    /// addresses in IPv4 packets (behind any 802.1Q/802.1ad tags). A frame shorter than an
    /// Ethernet header is left as it is; so is the IP header of a frame that is not IPv4 or
    /// whose IPv4 header can't be used. The outcome says which.
    ///
    /// When an IP address changes, the IPv4 header checksum is recomputed, and so is the UDP or
    /// TCP checksum when the whole segment is in the frame; for a first fragment or a snapped
    /// frame it is updated incrementally (RFC 1624). A UDP checksum of 0 ("none") stays 0.
    pub fn apply(&self, frame: &mut [u8]) -> Outcome {
        if frame.len() < ETHERNET_HEADER_LEN {
            return Outcome::Passed(Pass::Short);
        }
        let has_macs = self.src_mac.is_some() || self.dst_mac.is_some();
        if !self.changes_ip() {
            self.apply_macs(frame);
            return Outcome::Rewritten;
        }
        let at = match locate_ipv4(frame) {
            Ok(at) => at,
            Err(problem) => {
                let why = match problem {
                    Ipv4Problem::NotIpv4(_) => Pass::NotIpv4,
                    Ipv4Problem::Malformed(_) => Pass::BadIpv4,
                    Ipv4Problem::NoEthernet => Pass::Short,
                };
                self.apply_macs(frame);
                return if has_macs { Outcome::MacsOnly(why) } else { Outcome::Passed(why) };
            }
        };
        self.apply_macs(frame);
        self.apply_ip(frame, &at);
        Outcome::Rewritten
    }

    fn apply_ip(&self, frame: &mut [u8], at: &Ipv4Location) {
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
            return;
        };
        let segment = at.payload_start()..at.end(frame.len());
        if at.fragment_offset != 0 || segment.len() < min_len {
            return;
        }
        let field = segment.start + field..segment.start + field + 2;
        let stored = u16::from_be_bytes([frame[field.start], frame[field.start + 1]]);
        if at.protocol == checksum::UDP && stored == 0 {
            return;
        }
        let updated = if at.complete(frame.len()) && !at.is_fragment() {
            checksum::transport_v4(at.protocol, &frame[segment], src, dst)
                .expect("segment length checked above")
        } else {
            checksum::adjust(at.protocol, stored, &old, &new)
        };
        frame[field].copy_from_slice(&updated.to_be_bytes());
    }

    /// Applies the rewrite to every frame held in memory, in file order, and counts the
    /// outcomes.
    pub fn apply_all(&self, frames: &mut [Frame]) -> Counts {
        let mut counts = Counts::default();
        for frame in frames {
            counts.add(self.apply(&mut frame.data));
        }
        counts
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
        macs().apply(&mut frame);
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
            rewrite.apply(&mut frame);
            let line = describe(&frame, frame.len() as u32);
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
        rewrite.apply(&mut whole);
        rewrite.apply(&mut fragment);
        assert_eq!(&fragment[14 + 26..14 + 28], &whole[14 + 26..14 + 28]);
        assert!(
            describe(&fragment, fragment.len() as u32).contains("ip cksum ok"),
            "{}",
            describe(&fragment, fragment.len() as u32)
        );
    }

    #[test]
    fn udp_without_checksum_stays_without() {
        let mut frame = UdpSpec::default().build().unwrap();
        frame[40..42].copy_from_slice(&[0, 0]);
        let rewrite = Rewrite { dst_ip: Some(Ipv4Addr::new(10, 0, 0, 1)), ..Rewrite::default() };
        rewrite.apply(&mut frame);
        assert_eq!(&frame[40..42], &[0, 0]);
    }

    #[test]
    fn non_ipv4_and_short_frames_pass_and_are_counted() {
        let ip_only = Rewrite { src_ip: Some(Ipv4Addr::LOCALHOST), ..Rewrite::default() };
        let original = UdpSpec::default().build().unwrap();
        let mut arp = original.clone();
        arp[12..14].copy_from_slice(&[0x08, 0x06]);
        let before = arp.clone();
        assert_eq!(ip_only.apply(&mut arp), Outcome::Passed(Pass::NotIpv4));
        assert_eq!(arp, before, "byte for byte as it was");

        let with_macs = Rewrite { src_ip: Some(Ipv4Addr::LOCALHOST), ..macs() };
        assert_eq!(with_macs.apply(&mut arp), Outcome::MacsOnly(Pass::NotIpv4));
        assert_eq!(&arp[..12], &[2, 0xbb, 0, 0, 0, 2, 2, 0xaa, 0, 0, 0, 1]);
        assert_eq!(&arp[12..], &before[12..]);

        let mut cut_ip = original[..14 + 12].to_vec();
        let cut_before = cut_ip.clone();
        assert_eq!(ip_only.apply(&mut cut_ip), Outcome::Passed(Pass::BadIpv4));
        assert_eq!(cut_ip, cut_before);

        let mut short = vec![0u8; 10];
        assert_eq!(macs().apply(&mut short), Outcome::Passed(Pass::Short));
        assert_eq!(short, vec![0u8; 10], "nothing written into a short frame");

        let mut frames: Vec<Frame> = [original.clone(), before, vec![1u8; 9]]
            .into_iter()
            .map(|data| Frame { data, ts_ns: 0 })
            .collect();
        let counts = ip_only.apply_all(&mut frames);
        assert_eq!(
            counts,
            Counts {
                frames: 3,
                rewritten: 1,
                passed: 2,
                not_ipv4: 1,
                short: 1,
                ..Counts::default()
            }
        );
        assert_eq!(
            counts.summary(),
            "1 rewritten, 2 passed as they were (1 not IPv4, 1 shorter than an Ethernet header)"
        );
        assert_eq!(&frames[0].data[26..30], &[127, 0, 0, 1]);
    }
}
