//! `netlab packet new | rewrite | show`: build, re-address and inspect the packet files a lab
//! replays.

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use anyhow::Context as _;

use super::flag::MacFlags;
use crate::exit::{bad_input, Code};
use crate::outln;
use crate::packet::{
    self, udp, CaptureReader, CaptureWriter, Counts, Format, Frame, Item, Mac, Rewrite, UdpSpec,
};

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
    /// --enet-smac/--enet-dmac; checksums are recomputed, all other bytes kept. Packets the
    /// change does not apply to (not IPv4, shorter than an Ethernet header) pass as they are.
    Rewrite(RewriteArgs),
    /// Print one line per packet, as `tcpdump -e -nn -r` does, with each checksum's status.
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
    /// The file to write (replaced atomically): pcapng if its name ends in .pcapng, else pcap.
    #[arg(short, long, value_name = "FILE")]
    pub output: PathBuf,
    /// Write this format whatever the file name says.
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub format: Option<FormatArg>,
}

/// `--format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FormatArg {
    /// Classic libpcap.
    Pcap,
    /// pcapng.
    Pcapng,
}

impl From<FormatArg> for Format {
    fn from(arg: FormatArg) -> Self {
        match arg {
            FormatArg::Pcap => Format::Pcap,
            FormatArg::Pcapng => Format::PcapNg,
        }
    }
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
    /// The file to write (may be IN itself; replaced atomically): pcapng if its name ends in
    /// .pcapng, pcap if in .pcap, else IN's format. pcap → pcap and pcapng → pcapng keep every
    /// header, section, interface, option and comment as they are.
    #[arg(short, long, value_name = "OUT")]
    pub output: PathBuf,
    /// Write this format whatever OUT's name says.
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub format: Option<FormatArg>,
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

/// Arguments of `netlab packet show`.
#[derive(Debug, clap::Args)]
pub struct ShowArgs {
    /// The pcap or pcapng file to describe.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Print each packet's time as seconds since the first packet (default: the time of day,
    /// UTC, as `TZ=UTC tcpdump` prints it).
    #[arg(short, long)]
    pub relative: bool,
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
    let format = output_format(args.format, &args.output, Format::Pcap);
    packet::write_frames(&args.output, format, std::slice::from_ref(&frame))?;
    outln!(
        "wrote {} ({} bytes on the wire, {} captured): {}",
        args.output.display(),
        spec.size,
        frame.data.len(),
        packet::describe(&frame.data, frame.data.len() as u32)
    )?;
    Ok(Code::Ok)
}

/// The format to write: `--format`, else what the file name says, else `otherwise`.
fn output_format(arg: Option<FormatArg>, path: &Path, otherwise: Format) -> Format {
    arg.map(Format::from).or_else(|| Format::of_path(path)).unwrap_or(otherwise)
}

fn rewrite(args: &RewriteArgs) -> anyhow::Result<Code> {
    let (src_mac, dst_mac) = args.macs.resolve(args.netns.as_deref())?;
    let rewrite = Rewrite { src_mac, dst_mac, src_ip: args.src_ip, dst_ip: args.dst_ip };
    let mut reader = CaptureReader::open(&args.input)?;
    let format = output_format(args.format, &args.output, reader.format());
    // Same format: every header, record and block is copied as it is, packet bytes changed in
    // place. Across formats each packet is re-encoded with its length and timestamp.
    let same = format == reader.format();
    let mut writer = CaptureWriter::create(&args.output, format)?;
    if let (true, Some(header)) = (same, reader.pcap_file_header()) {
        writer.write_raw(header)?;
    }
    let mut counts = Counts::default();
    while let Some(item) = reader.next_item()? {
        match item {
            Item::Block if same => writer.write_raw(reader.raw())?,
            Item::Block => {}
            Item::Packet(packet) => {
                counts.add(rewrite.apply(reader.data_mut(&packet)));
                if same {
                    writer.write_raw(reader.raw())?;
                } else {
                    writer
                        .write_packet(&packet, reader.data(&packet))
                        .with_context(|| args.input.display().to_string())?;
                }
            }
        }
    }
    if counts.frames == 0 {
        return Err(bad_input(format!("{}: contains no packets", args.input.display())));
    }
    writer.commit()?;
    warn(&reader);
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
        "wrote {} ({}): {} packet{} with {}: {}",
        args.output.display(),
        format.name(),
        counts.frames,
        if counts.frames == 1 { "" } else { "s" },
        changes.join(", "),
        counts.summary()
    )?;
    Ok(Code::Ok)
}

/// Prints the reader's warning, if it has one.
fn warn(reader: &CaptureReader) {
    if let Some(warning) = reader.warning() {
        eprintln!("netlab: warning: {warning}");
    }
}

fn show(args: &ShowArgs) -> anyhow::Result<Code> {
    let mut reader = CaptureReader::open(&args.file)?;
    let mut describer = packet::Describer::default();
    let mut first = None;
    while let Some(packet) = reader.next_packet()? {
        let first = *first.get_or_insert(packet.ts_ns);
        let time = if args.relative {
            // Seconds since the first packet, as tshark shows them; a capture may go backwards.
            let (sign, delta) = match packet.ts_ns.checked_sub(first) {
                Some(d) => ("", d),
                None => ("-", first - packet.ts_ns),
            };
            format!("{sign}{}.{:06}", delta / 1_000_000_000, delta % 1_000_000_000 / 1_000)
        } else {
            packet::show::time_of_day(packet.ts_ns, packet.link.nanos)
        };
        outln!(
            "{:>5}  {time} {}",
            packet.number,
            describer.describe(reader.data(&packet), packet.orig_len)
        )?;
    }
    warn(&reader);
    if reader.packets() == 0 {
        outln!("{}: 0 packets", args.file.display())?;
    }
    Ok(Code::Ok)
}
