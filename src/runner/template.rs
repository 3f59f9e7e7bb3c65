//! The frames a run sends: the packet file with its MAC addresses set for the lab.
//!
//! `macs = "auto"`:
//! - `veth` and `interface` labs: source = the generator interface's MAC, destination = the
//!   receiver interface's MAC.
//! - `bridge` labs (the class's set-up): source = the bridge's MAC, destination = the receiver
//!   interface's MAC; the bridge floods the frame (its destination is behind the receive port)
//!   to the receiver.
//!
//! `macs = "keep"` sends the file's bytes; `macs = { src, dst }` sets those given.

use macaddr::MacAddr6;
use serde::Serialize;

use crate::packet::{Frame, Mac, Rewrite};
use crate::scenario::{Macs, Scenario};
use crate::topology::{Kind, LabRecord, Role};

/// EtherType IPv4, as `do_something` counts it (bytes 12-13 of the frame).
const ETHERTYPE_IPV4: [u8; 2] = [0x08, 0x00];

/// The frames of one pass over the packet file, ready to send.
#[derive(Debug, Clone)]
pub struct Template {
    /// The frames, in file order, MACs set.
    pub frames: Vec<Frame>,
    /// Source MAC written (`None`: kept from the file).
    pub src_mac: Option<MacAddr6>,
    /// Destination MAC written (`None`: kept from the file).
    pub dst_mac: Option<MacAddr6>,
}

/// What a run's manifest records about the frames sent.
#[derive(Debug, Clone, Serialize)]
pub struct TemplateFacts {
    /// The packet file.
    pub file: String,
    /// Frames per pass.
    pub frames: usize,
    /// L2 length used for rates and Mbps (the mean when the frames differ), bytes without FCS.
    pub frame_len_bytes: u64,
    /// Of the frames per pass, how many are IPv4 (EtherType 0x0800 at bytes 12-13).
    pub ipv4_frames: usize,
    /// Source MAC written, or "kept".
    pub src_mac: String,
    /// Destination MAC written, or "kept".
    pub dst_mac: String,
}

impl Template {
    /// Sets the MACs of `frames` as `scenario.packet.macs` asks, for `lab`.
    pub fn for_lab(
        scenario: &Scenario,
        lab: &LabRecord,
        mut frames: Vec<Frame>,
    ) -> anyhow::Result<Self> {
        let (src_mac, dst_mac) = match scenario.packet.macs {
            Macs::Keep => (None, None),
            Macs::Set { src, dst } => (src, dst),
            Macs::Auto => {
                let mac = |role: Role| {
                    lab.interface(role)
                        .map(|i| i.mac)
                        .ok_or_else(|| anyhow::anyhow!("lab `{}` has no {}", lab.name, role.name()))
                };
                let src = match lab.kind {
                    Kind::Bridge => mac(Role::Bridge)?,
                    _ => mac(Role::Generator)?,
                };
                (Some(src), Some(mac(Role::Receiver)?))
            }
        };
        let rewrite = Rewrite { src_mac, dst_mac, ..Rewrite::default() };
        rewrite.apply_all(&mut frames);
        Ok(Template { frames, src_mac, dst_mac })
    }

    /// The L2 length rates are computed with: the frames' common length, or their mean.
    pub fn frame_len(&self) -> u64 {
        let total: usize = self.frames.iter().map(|f| f.data.len()).sum();
        (total as f64 / self.frames.len().max(1) as f64).round() as u64
    }

    /// How many of the frames of one pass are IPv4.
    pub fn ipv4_per_pass(&self) -> usize {
        self.frames.iter().filter(|f| is_ipv4(&f.data)).count()
    }

    /// IPv4 frames among the first `sent` frames the generator sends (it cycles through the
    /// pass).
    pub fn ipv4_in_first(&self, sent: u64) -> u64 {
        let per_pass = self.frames.len() as u64;
        if per_pass == 0 {
            return 0;
        }
        let whole = sent / per_pass;
        let rest = (sent % per_pass) as usize;
        let in_rest = self.frames[..rest].iter().filter(|f| is_ipv4(&f.data)).count();
        whole * self.ipv4_per_pass() as u64 + in_rest as u64
    }

    /// For the manifest.
    pub fn facts(&self, file: &std::path::Path) -> TemplateFacts {
        let mac = |m: Option<MacAddr6>| m.map_or("kept".to_string(), |m| Mac(m).to_string());
        TemplateFacts {
            file: file.display().to_string(),
            frames: self.frames.len(),
            frame_len_bytes: self.frame_len(),
            ipv4_frames: self.ipv4_per_pass(),
            src_mac: mac(self.src_mac),
            dst_mac: mac(self.dst_mac),
        }
    }
}

fn is_ipv4(frame: &[u8]) -> bool {
    frame.get(12..14) == Some(&ETHERTYPE_IPV4[..])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(ethertype: [u8; 2]) -> Frame {
        let mut data = vec![0u8; 60];
        data[12..14].copy_from_slice(&ethertype);
        Frame { data, ts_ns: 0 }
    }

    #[test]
    fn ipv4_counted_over_the_cycle() {
        let t = Template {
            frames: vec![frame([8, 0]), frame([8, 6]), frame([8, 0])],
            src_mac: None,
            dst_mac: None,
        };
        assert_eq!(t.ipv4_per_pass(), 2);
        assert_eq!(t.ipv4_in_first(0), 0);
        assert_eq!(t.ipv4_in_first(1), 1);
        assert_eq!(t.ipv4_in_first(2), 1);
        assert_eq!(t.ipv4_in_first(3), 2);
        assert_eq!(t.ipv4_in_first(7), 5);
        assert_eq!(t.frame_len(), 60);
    }
}
