//! Packets: the capture files a lab replays, the UDP frame it ships, and what can be done to them.
//!
//! In the order a run uses them:
//!
//! - [`file`](mod@file): stream pcap / pcapng one record at a time ([`CaptureReader`]), write
//!   either format atomically ([`CaptureWriter`]), preload a file for replay ([`read_frames`]).
//! - [`udp`]: build an Ethernet / IPv4 / UDP frame ([`UdpSpec`]); its default is the shipped
//!   `packets/udp64.pcap`, byte for byte.
//! - [`mac`]: strict MAC parsing ([`parse_mac`]) and lowercase display ([`Mac`]).
//! - [`rewrite`]: set MACs and IPv4 addresses in captured frames, checksums kept valid, other
//!   frames passed as they are ([`Rewrite`]).
//! - [`show`]: one line per frame as `tcpdump -e -nn` prints it, with the captured length when
//!   snapped and each checksum's status ([`Describer`] for a file, [`describe`] for one frame).
//! - [`ethernet`] and [`checksum`]: header walking and Internet checksums shared by the above.
//!
//! MAC addresses are [`macaddr::MacAddr6`]; print them with [`Mac`] (lowercase, like tcpdump).

pub mod checksum;
pub mod ethernet;
pub mod file;
pub mod mac;
pub mod rewrite;
pub mod show;
pub mod udp;

pub use file::{
    read_frames, write_frames, write_pcap, CaptureReader, CaptureWriter, Format, Frame, Item,
    Packet,
};
pub use mac::{parse_mac, Mac};
pub use rewrite::{Counts, Outcome, Rewrite};
pub use show::{describe, Describer};
pub use udp::UdpSpec;
