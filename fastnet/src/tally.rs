//! `do_something`: the per-frame work every receiver does, so the data is really touched.
//!
//! The course's receivers read bytes 12-13 of each Ethernet frame (the EtherType) and count
//! IPv4 (`0x0800`). Every method — plain socket, libpcap, fastnet modes, a student's program —
//! runs the same function, so the comparison is fair.

/// The EtherType of IPv4.
pub const ETHERTYPE_IPV4: u16 = 0x0800;

/// Frames seen and IPv4 frames counted by a receiver.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Tally {
    /// Frames handed to [`Tally::do_something`].
    pub frames: u64,
    /// Frames whose bytes 12-13 are `0x0800`.
    pub ipv4: u64,
}

impl Tally {
    /// Reads bytes 12-13 of `frame` and counts it; frames shorter than 14 bytes count as frames
    /// but never as IPv4.
    #[inline(always)]
    pub fn do_something(&mut self, frame: &[u8]) {
        self.frames += 1;
        if let Some(ethertype) = frame.get(12..14) {
            self.ipv4 += u64::from(ethertype == ETHERTYPE_IPV4.to_be_bytes());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_only_ipv4_ethertype() {
        let mut t = Tally::default();
        let mut frame = [0u8; 60];
        frame[12] = 0x08;
        t.do_something(&frame);
        frame[13] = 0x06; // ARP
        t.do_something(&frame);
        frame[12] = 0x86;
        frame[13] = 0xdd; // IPv6
        t.do_something(&frame);
        t.do_something(&frame[..13]); // too short to carry an EtherType
        assert_eq!(t, Tally { frames: 4, ipv4: 1 });
    }
}
