//! Packets: the capture files a lab replays, the UDP frame it ships, and what can be done to them.
//!
//! In the order a run uses them:
//!
//! - [`file`](mod@file): read pcap / pcapng into [`Frame`]s ([`read_frames`]), write classic pcap
//!   atomically ([`write_pcap`]).
//! - [`udp`]: build an Ethernet / IPv4 / UDP frame ([`UdpSpec`]); its default is the shipped
//!   `packets/udp64.pcap`, byte for byte.
//! - [`mac`]: strict MAC parsing ([`parse_mac`]), lowercase display ([`Mac`]) and the MAC of an
//!   interface, in a namespace or not ([`interface_mac`]).
//! - [`rewrite`]: set MACs and IPv4 addresses in captured frames, checksums kept valid
//!   ([`Rewrite`]).
//! - [`show`]: one tcpdump `-e`-style line per frame, with checksum status ([`describe`]).
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

pub use file::{read_frames, write_pcap, Frame};
pub use mac::{interface_mac, parse_mac, Mac};
pub use rewrite::Rewrite;
pub use show::describe;
pub use udp::UdpSpec;
