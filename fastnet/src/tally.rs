//! `do_something`: the per-frame work every receiver does, so the data is really touched.
//!
//! The course's receivers read bytes 12-13 of each Ethernet frame (the EtherType) and count
//! IPv4 (`0x0800`). Every method — plain socket, libpcap, fastnet modes, a student's program —
//! runs the same function, so the comparison is fair.

/// The EtherType of IPv4.
pub const ETHERTYPE_IPV4: u16 = 0x0800;

/// Frames seen and IPv4 frames counted by a receiver. Two tallies are equal when their counts
/// are; the tap is not compared.
#[derive(Debug, Default)]
pub struct Tally {
    /// Frames handed to [`Tally::do_something`].
    pub frames: u64,
    /// Frames whose bytes 12-13 are `0x0800`.
    pub ipv4: u64,
    /// Sees every frame after it is counted (a capture writer); `None` leaves the per-frame
    /// work at counting, with one predictable branch.
    pub tap: Option<Tap>,
}

/// A function handed every frame a [`Tally`] counts, in the receiving thread: it must be quick
/// (copy the bytes to a queue, say) and never block.
pub struct Tap(Box<TapFn>);

/// What a [`Tap`] calls.
type TapFn = dyn FnMut(&[u8]) + Send;

impl Tap {
    /// Wraps `f`.
    pub fn new(f: impl FnMut(&[u8]) + Send + 'static) -> Self {
        Tap(Box::new(f))
    }
}

impl std::fmt::Debug for Tap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Tap")
    }
}

impl PartialEq for Tally {
    fn eq(&self, other: &Self) -> bool {
        (self.frames, self.ipv4) == (other.frames, other.ipv4)
    }
}

impl Eq for Tally {}

impl Tally {
    /// A tally with these counts and no tap.
    pub fn counted(frames: u64, ipv4: u64) -> Self {
        Tally { frames, ipv4, tap: None }
    }

    /// Reads bytes 12-13 of `frame` and counts it; frames shorter than 14 bytes count as frames
    /// but never as IPv4. Then hands the frame to the tap, if there is one.
    #[inline(always)]
    pub fn do_something(&mut self, frame: &[u8]) {
        self.frames += 1;
        if let Some(ethertype) = frame.get(12..14) {
            self.ipv4 += u64::from(ethertype == ETHERTYPE_IPV4.to_be_bytes());
        }
        if let Some(tap) = &mut self.tap {
            (tap.0)(frame);
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
        assert_eq!(t, Tally::counted(4, 1));
    }
}
