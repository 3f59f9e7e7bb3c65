//! `netlab packet new | rewrite | show`: build, re-address and inspect the packet files a lab
//! replays.

use std::net::Ipv4Addr;
use std::path::PathBuf;

use anyhow::Context as _;

use crate::exit::Code;
use crate::outln;
use crate::packet::{self, udp, Frame, Mac, Rewrite, UdpSpec};

/// Arguments of `netlab packet`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: PacketCommand,
}

/// The `netlab packet` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum PacketCommand {
    /// Write a pcap file holding one Ethernet/IPv4/UDP frame with valid checksums. Without
    /// options it is the shipped packets/udp64.pcap, byte for byte.
    New(NewArgs),
    /// Set MAC (and IPv4) addresses in every packet of a pcap/pcapng file, like tcprewrite
    /// --enet-smac/--enet-dmac; checksums are recomputed, all other bytes kept.
    Rewrite(RewriteArgs),
    /// Print one line per packet, tcpdump -e style: MACs, IPs, ports, length, checksum status.
    Show(ShowArgs),
}

/// Arguments of `netlab packet new`.
#[derive(Debug, clap::Args)]
pub struct NewArgs {
    /// Source MAC address (`:` or `-` separated).
    #[arg(long, value_name = "MAC", default_value_t = Mac(udp::SHIPPED_SRC_MAC).to_string())]
    pub src_mac: String,
    /// Destination MAC address.
    #[arg(long, value_name = "MAC", default_value_t = Mac(udp::SHIPPED_DST_MAC).to_string())]
    pub dst_mac: String,
    /// Source IPv4 address.
    #[arg(long, value_name = "ADDR", default_value_t = udp::SHIPPED_SRC_IP)]
    pub src_ip: Ipv4Addr,
    /// Destination IPv4 address.
    #[arg(long, value_name = "ADDR", default_value_t = udp::SHIPPED_DST_IP)]
    pub dst_ip: Ipv4Addr,
    /// Source UDP port.
    #[arg(long, value_name = "PORT", default_value_t = udp::SHIPPED_SRC_PORT)]
    pub sport: u16,
    /// Destination UDP port (9: discard).
    #[arg(long, value_name = "PORT", default_value_t = udp::SHIPPED_DST_PORT)]
    pub dport: u16,
    /// Frame size on the wire, FCS included (the file holds 4 bytes less): 64 up to MTU + 18
    /// (MTU + 22 with --vlan).
    #[arg(long, value_name = "BYTES", default_value_t = UdpSpec::default().size)]
    pub size: usize,
    /// The MTU the IPv4 packet must fit.
    #[arg(long, value_name = "BYTES", default_value_t = udp::DEFAULT_MTU)]
    pub mtu: usize,
    /// Insert an 802.1Q tag with this VLAN ID (1..4094).
    #[arg(long, value_name = "ID")]
    pub vlan: Option<u16>,
    /// The pcap file to write (replaced atomically).
    #[arg(short, long, value_name = "FILE")]
    pub output: PathBuf,
}

/// Arguments of `netlab packet rewrite`.
#[derive(Debug, clap::Args)]
#[command(group = clap::ArgGroup::new("change").required(true).multiple(true)
    .args(["src_mac", "src_mac_of", "dst_mac", "dst_mac_of", "src_ip", "dst_ip"]))]
#[command(group = clap::ArgGroup::new("mac_of").multiple(true).args(["src_mac_of", "dst_mac_of"]))]
pub struct RewriteArgs {
    /// The pcap or pcapng file to read.
    #[arg(value_name = "IN")]
    pub input: PathBuf,
    /// The pcap file to write (may be IN itself; replaced atomically).
    #[arg(short, long, value_name = "OUT")]
    pub output: PathBuf,
    #[command(flatten)]
    pub macs: MacFlags,
    /// Look the --*-mac-of interfaces up in this network namespace (as `ip netns` names it).
    #[arg(long, value_name = "NAME", requires = "mac_of")]
    pub netns: Option<String>,
    /// New IPv4 source address (IPv4 and UDP/TCP checksums are recomputed).
    #[arg(long, value_name = "ADDR")]
    pub src_ip: Option<Ipv4Addr>,
    /// New IPv4 destination address.
    #[arg(long, value_name = "ADDR")]
    pub dst_ip: Option<Ipv4Addr>,
}

/// `--src-mac`/`--src-mac-of` and `--dst-mac`/`--dst-mac-of`: the MACs to write into every
/// frame (`netlab packet rewrite`, `netlab replay`), given or taken from an interface.
#[derive(Debug, clap::Args)]
pub struct MacFlags {
    /// New source MAC address.
    #[arg(long, value_name = "MAC", conflicts_with = "src_mac_of")]
    pub src_mac: Option<String>,
    /// Use the MAC address of this interface (in --netns) as the source MAC.
    #[arg(long, value_name = "IFACE")]
    pub src_mac_of: Option<String>,
    /// New destination MAC address.
    #[arg(long, value_name = "MAC", conflicts_with = "dst_mac_of")]
    pub dst_mac: Option<String>,
    /// Use the MAC address of this interface (in --netns) as the destination MAC.
    #[arg(long, value_name = "IFACE")]
    pub dst_mac_of: Option<String>,
}

impl MacFlags {
    /// The source and destination MACs asked for, interfaces looked up in `netns`; each
    /// `None` when neither of its flags was given. Errors name the flag.
    pub(crate) fn resolve(
        &self,
        netns: Option<&str>,
    ) -> anyhow::Result<(Option<macaddr::MacAddr6>, Option<macaddr::MacAddr6>)> {
        let src = mac_from_flags(
            self.src_mac.as_deref(),
            "--src-mac",
            self.src_mac_of.as_deref(),
            "--src-mac-of",
            netns,
        )?;
        let dst = mac_from_flags(
            self.dst_mac.as_deref(),
            "--dst-mac",
            self.dst_mac_of.as_deref(),
            "--dst-mac-of",
            netns,
        )?;
        Ok((src, dst))
    }
}

/// Arguments of `netlab packet show`.
#[derive(Debug, clap::Args)]
pub struct ShowArgs {
    /// The pcap or pcapng file to describe.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
}

pub(super) fn run(args: &Args) -> anyhow::Result<Code> {
    match &args.command {
        PacketCommand::New(args) => new(args),
        PacketCommand::Rewrite(args) => rewrite(args),
        PacketCommand::Show(args) => show(args),
    }
}

fn new(args: &NewArgs) -> anyhow::Result<Code> {
    let spec = UdpSpec {
        src_mac: packet::parse_mac(&args.src_mac, "--src-mac")?,
        dst_mac: packet::parse_mac(&args.dst_mac, "--dst-mac")?,
        src_ip: args.src_ip,
        dst_ip: args.dst_ip,
        src_port: args.sport,
        dst_port: args.dport,
        size: args.size,
        mtu: args.mtu,
        vlan: args.vlan,
    };
    let frame = Frame { data: spec.build()?, ts_ns: 0 };
    packet::write_pcap(&args.output, std::slice::from_ref(&frame))?;
    outln!(
        "wrote {} ({} bytes on the wire, {} captured): {}",
        args.output.display(),
        spec.size,
        frame.data.len(),
        packet::describe(&frame.data)
    )?;
    Ok(Code::Ok)
}

/// The MAC a `--X-mac MAC` / `--X-mac-of IFACE` flag pair asks for: the address given, else
/// the address of the interface (looked up in `netns`), else none. Errors name the flag.
fn mac_from_flags(
    given: Option<&str>,
    flag: &str,
    of: Option<&str>,
    of_flag: &str,
    netns: Option<&str>,
) -> anyhow::Result<Option<macaddr::MacAddr6>> {
    match (given, of) {
        (Some(text), _) => packet::parse_mac(text, flag).map(Some),
        (None, Some(iface)) => packet::interface_mac(iface, netns)
            .map(Some)
            .with_context(|| format!("{of_flag} {iface}")),
        (None, None) => Ok(None),
    }
}

fn rewrite(args: &RewriteArgs) -> anyhow::Result<Code> {
    let (src_mac, dst_mac) = args.macs.resolve(args.netns.as_deref())?;
    let rewrite = Rewrite { src_mac, dst_mac, src_ip: args.src_ip, dst_ip: args.dst_ip };
    let mut frames = packet::read_frames(&args.input)?;
    rewrite.apply_all(&mut frames).with_context(|| format!("{}", args.input.display()))?;
    packet::write_pcap(&args.output, &frames)?;
    let changes: Vec<String> = [
        rewrite.src_mac.map(|m| format!("source MAC {}", Mac(m))),
        rewrite.dst_mac.map(|m| format!("destination MAC {}", Mac(m))),
        rewrite.src_ip.map(|ip| format!("source IP {ip}")),
        rewrite.dst_ip.map(|ip| format!("destination IP {ip}")),
    ]
    .into_iter()
    .flatten()
    .collect();
    outln!(
        "wrote {}: {} packet{} with {}",
        args.output.display(),
        frames.len(),
        if frames.len() == 1 { "" } else { "s" },
        changes.join(", ")
    )?;
    Ok(Code::Ok)
}

fn show(args: &ShowArgs) -> anyhow::Result<Code> {
    let frames = packet::read_frames(&args.file)?;
    let first = frames.first().map_or(0, |f| f.ts_ns);
    let width = frames.len().to_string().len();
    for (index, frame) in frames.iter().enumerate() {
        // Time relative to the first packet, as tshark shows it; a capture may go backwards.
        let (sign, delta) = match frame.ts_ns.checked_sub(first) {
            Some(d) => ("", d),
            None => ("-", first - frame.ts_ns),
        };
        outln!(
            "{:>width$}  {sign}{}.{:06} {}",
            index + 1,
            delta / 1_000_000_000,
            delta % 1_000_000_000 / 1_000,
            packet::describe(&frame.data)
        )?;
    }
    Ok(Code::Ok)
}
