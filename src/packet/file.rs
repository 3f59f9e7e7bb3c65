//! Capture files, streamed: reading classic pcap (either byte order, µs or ns timestamps) and
//! pcapng (enhanced, simple and obsolete packet blocks; any number of Ethernet interfaces and
//! sections) one record at a time, and writing either format atomically.
//!
//! [`CaptureReader`] holds one record (or pcapng block) in memory at a time, so `packet show`
//! and `packet rewrite` run in constant memory whatever the file size. It frames records itself
//! (it knows every record's byte offset, and refuses a length field larger than what is left of
//! the file before allocating for it) and leaves the decoding of each record to the `pcap-file`
//! crate. A few things that crate leaves to the caller are done here: pcapng timestamps are
//! scaled by each interface's `if_tsresol`/`if_tsoffset` (the crate reads raw units as
//! nanoseconds), simple packet blocks are cut to their original length (the crate keeps the
//! padding), and packet → interface references are checked.
//!
//! Every record keeps what the file says about it: captured bytes, original (wire) length and
//! timestamp. [`CaptureReader::raw`] gives the record exactly as it is in the file and
//! [`CaptureReader::data_mut`] its captured bytes in place, so a rewrite into the same format
//! copies every header, option and comment through untouched ([`CaptureWriter::write_raw`]).
//! Across formats [`CaptureWriter::write_packet`] re-encodes the record with the same original
//! length, timestamp (ns stays ns), snap length and link type.
//!
//! [`read_frames`] preloads a whole file for replay (as `tcpreplay -K` does), within
//! [`PRELOAD_BUDGET`].

use std::fs::{self, File};
use std::io::{BufReader, BufWriter, Read, Write as _};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use byteorder::LittleEndian;
use pcap_file::pcap::{PcapHeader, PcapParser, RawPcapPacket};
use pcap_file::pcapng::blocks::enhanced_packet::EnhancedPacketBlock;
use pcap_file::pcapng::blocks::interface_description::{
    InterfaceDescriptionBlock, InterfaceDescriptionOption,
};
use pcap_file::pcapng::blocks::section_header::SectionHeaderBlock;
use pcap_file::pcapng::{Block, PcapNgParser};
use pcap_file::{DataLink, Endianness, PcapError, TsResolution};

use crate::exit::bad_input;

/// One captured frame held in memory: the bytes from the destination MAC on (no FCS) and when it
/// was captured. What [`read_frames`] preloads for replay.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Frame {
    /// The frame as captured, starting with the Ethernet header.
    pub data: Vec<u8>,
    /// Capture time in nanoseconds since the Unix epoch (0 in the shipped packet).
    pub ts_ns: u64,
}

/// The two capture file formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Classic libpcap: one file header, then records.
    Pcap,
    /// pcapng: sections of blocks (interfaces, packets, statistics, comments…).
    PcapNg,
}

impl Format {
    /// The format a file name asks for: `.pcapng`/`.ntar` → pcapng, `.pcap`/`.cap`/`.dmp` →
    /// pcap, anything else `None`.
    pub fn of_path(path: &Path) -> Option<Format> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "pcapng" | "ntar" => Some(Format::PcapNg),
            "pcap" | "cap" | "dmp" => Some(Format::Pcap),
            _ => None,
        }
    }

    /// `pcap` or `pcapng`.
    pub fn name(self) -> &'static str {
        match self {
            Format::Pcap => "pcap",
            Format::PcapNg => "pcapng",
        }
    }
}

/// Classic pcap magic numbers, as the first four bytes read big-endian.
const PCAP_MAGICS: [u32; 4] = [0xa1b2_c3d4, 0xa1b2_3c4d, 0xd4c3_b2a1, 0x4d3c_b2a1];
/// The pcapng section header block type, the first four bytes of a pcapng file.
const PCAPNG_MAGIC: u32 = 0x0a0d_0d0a;
/// pcapng block types that carry a packet.
const ENHANCED_PACKET_BLOCK: u32 = 6;
const SIMPLE_PACKET_BLOCK: u32 = 3;
const OBSOLETE_PACKET_BLOCK: u32 = 2;
/// Bytes of a classic pcap file header and record header.
const PCAP_FILE_HEADER_LEN: usize = 24;
const PCAP_RECORD_HEADER_LEN: usize = 16;
/// Where the captured bytes start in a raw pcapng block: after type and length (8) and the
/// fixed fields (enhanced and obsolete packet blocks: 20 bytes; simple packet block: 4).
const EPB_DATA_OFFSET: usize = 28;
const SPB_DATA_OFFSET: usize = 12;
/// Snap length written when nothing says otherwise (tcpdump's default).
pub const DEFAULT_SNAPLEN: u32 = 262_144;
/// The largest record or block read: longer length fields are refused before any allocation.
/// (tcpdump's largest snap length is 256 KiB; pcapng blocks with options stay far below this.)
pub const MAX_RECORD: usize = 4 << 20;
/// The most [`read_frames`] keeps in memory (frame bytes plus per-frame bookkeeping).
pub const PRELOAD_BUDGET: u64 = 1 << 30;
/// Bookkeeping counted per preloaded frame against [`PRELOAD_BUDGET`].
const FRAME_OVERHEAD: u64 = std::mem::size_of::<Frame>() as u64;

/// What the writer needs to know about the link a packet came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Link {
    /// The link type (netlab reads only Ethernet).
    pub datalink: DataLink,
    /// Snap length (0: none given).
    pub snaplen: u32,
    /// Whether timestamps are kept to the nanosecond (else microsecond).
    pub nanos: bool,
}

/// One packet record read by [`CaptureReader::next_item`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet {
    /// 1-based, as tcpdump and tshark number packets.
    pub number: u64,
    /// Byte offset of its record (or block) in the file.
    pub offset: u64,
    /// Capture time in nanoseconds since the Unix epoch, saturated to 0..=u64::MAX.
    pub ts_ns: u64,
    /// The frame's length on the wire (without FCS), as the capture recorded it.
    pub orig_len: u32,
    /// The interface it was captured on (pcapng; 0 for classic pcap).
    pub interface: u32,
    /// The link it came from.
    pub link: Link,
    /// Where its captured bytes are in [`CaptureReader::raw`].
    data: Range<usize>,
}

/// What [`CaptureReader::next_item`] read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    /// A packet record.
    Packet(Packet),
    /// A pcapng block that holds no packet (section header, interface description, statistics,
    /// name resolution, custom…): [`CaptureReader::raw`] has its bytes.
    Block,
}

/// A capture file read one record at a time (see the module docs).
#[derive(Debug)]
pub struct CaptureReader {
    path: PathBuf,
    input: BufReader<File>,
    /// Bytes from `offset` to the end of the file (`u64::MAX` when unknown).
    left: u64,
    /// Byte offset of the next record.
    offset: u64,
    /// Packets read so far.
    packets: u64,
    /// pcapng blocks read so far.
    blocks: u64,
    /// The current record as in the file.
    raw: Vec<u8>,
    kind: Kind,
    /// µs-magic records whose fraction is in nanosecond range: how many, the first's number,
    /// the largest fraction.
    odd_fractions: (u64, u64, u32),
}

enum Kind {
    Pcap { parser: PcapParser, header: Vec<u8> },
    PcapNg { parser: Option<PcapNgParser>, endianness: Endianness, last_ts_ns: u64 },
}

impl std::fmt::Debug for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Kind::Pcap { parser, .. } => f.debug_tuple("Pcap").field(&parser.header()).finish(),
            Kind::PcapNg { endianness, .. } => f.debug_tuple("PcapNg").field(endianness).finish(),
        }
    }
}

impl CaptureReader {
    /// Opens a capture and reads its file header (classic pcap) or first section header block
    /// (pcapng). Errors name the file and say what is wrong in one line.
    pub fn open(path: impl AsRef<Path>) -> anyhow::Result<Self> {
        let path = path.as_ref().to_path_buf();
        let fault = |what: String| bad_input(format!("{}: {what}", path.display()));
        let file = File::open(&path).map_err(|e| fault(format!("cannot read: {e}")))?;
        let meta = file.metadata().map_err(|e| fault(format!("cannot read: {e}")))?;
        if meta.is_dir() {
            return Err(fault("is a directory, not a capture file".into()));
        }
        let left = if meta.is_file() { meta.len() } else { u64::MAX };
        let mut reader = CaptureReader {
            path: path.clone(),
            input: BufReader::with_capacity(256 << 10, file),
            left,
            offset: 0,
            packets: 0,
            blocks: 0,
            raw: Vec::new(),
            kind: Kind::PcapNg { parser: None, endianness: Endianness::Little, last_ts_ns: 0 },
            odd_fractions: (0, 0, 0),
        };
        let got = reader.fill(4).map_err(|e| fault(format!("cannot read: {e}")))?;
        if got == 0 {
            return Err(fault("empty file, expected a pcap or pcapng capture".into()));
        }
        if got < 4 {
            return Err(fault(format!("not a pcap or pcapng file (only {got} bytes)")));
        }
        let magic = u32::from_be_bytes(reader.raw[..4].try_into().expect("4 bytes"));
        if magic == PCAPNG_MAGIC {
            return Ok(reader);
        }
        if !PCAP_MAGICS.contains(&magic) {
            return Err(fault(format!("not a pcap or pcapng file (starts with 0x{magic:08x})")));
        }
        let got = 4 + reader.fill(PCAP_FILE_HEADER_LEN - 4).map_err(|e| fault(e.to_string()))?;
        if got < PCAP_FILE_HEADER_LEN {
            return Err(fault(format!(
                "truncated pcap file header ({got} of {PCAP_FILE_HEADER_LEN} bytes)"
            )));
        }
        let (_, parser) = PcapParser::new(&reader.raw)
            .map_err(|_| fault("the pcap file header is malformed".into()))?;
        let header = parser.header();
        if header.datalink != DataLink::ETHERNET {
            return Err(fault(link_type_fault(header.datalink, "")));
        }
        reader.advance();
        let header_bytes = std::mem::take(&mut reader.raw);
        reader.kind = Kind::Pcap { parser, header: header_bytes };
        Ok(reader)
    }

    /// The file's path, as given.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The file's format.
    pub fn format(&self) -> Format {
        match self.kind {
            Kind::Pcap { .. } => Format::Pcap,
            Kind::PcapNg { .. } => Format::PcapNg,
        }
    }

    /// Classic pcap only: the 24-byte file header as in the file.
    pub fn pcap_file_header(&self) -> Option<&[u8]> {
        match &self.kind {
            Kind::Pcap { header, .. } => Some(header),
            Kind::PcapNg { .. } => None,
        }
    }

    /// Packets read so far.
    pub fn packets(&self) -> u64 {
        self.packets
    }

    /// The current record or block, byte for byte as in the file.
    pub fn raw(&self) -> &[u8] {
        &self.raw
    }

    /// A packet's captured bytes (the packet must be the one just read).
    pub fn data(&self, packet: &Packet) -> &[u8] {
        &self.raw[packet.data.clone()]
    }

    /// A packet's captured bytes, to change in place: [`CaptureReader::raw`] then holds the
    /// changed record.
    pub fn data_mut(&mut self, packet: &Packet) -> &mut [u8] {
        &mut self.raw[packet.data.clone()]
    }

    /// A line to print once the file was read, when something odd was found and tolerated.
    pub fn warning(&self) -> Option<String> {
        let (count, first, largest) = self.odd_fractions;
        (count > 0).then(|| {
            format!(
                "{}: the header says microsecond timestamps, but {count} packet{} (first #{first}) \
                 carry fractions up to {largest}, in nanosecond range: those were read as \
                 nanoseconds",
                self.path.display(),
                if count == 1 { "" } else { "s" }
            )
        })
    }

    /// Reads the next packet or pcapng block; `None` at the clean end of the file. A record cut
    /// short, a length the file cannot hold, a malformed block, a non-Ethernet interface or an
    /// unknown interface is a bad-input error naming the file, the packet or block number and
    /// its byte offset.
    pub fn next_item(&mut self) -> anyhow::Result<Option<Item>> {
        let item = match self.kind {
            Kind::Pcap { .. } => self.next_pcap(),
            Kind::PcapNg { .. } => self.next_pcapng(),
        };
        item.map_err(|fault| bad_input(format!("{}: {fault}", self.path.display())))
    }

    /// Reads the next packet, skipping pcapng blocks that hold none.
    pub fn next_packet(&mut self) -> anyhow::Result<Option<Packet>> {
        loop {
            match self.next_item()? {
                Some(Item::Packet(packet)) => return Ok(Some(packet)),
                Some(Item::Block) => continue,
                None => return Ok(None),
            }
        }
    }

    /// Appends up to `n` bytes from the file to `raw`; returns how many came.
    fn fill(&mut self, n: usize) -> std::io::Result<usize> {
        let start = self.raw.len();
        self.raw.resize(start + n, 0);
        let mut got = 0;
        while got < n {
            match self.input.read(&mut self.raw[start + got..]) {
                Ok(0) => break,
                Ok(k) => got += k,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.raw.truncate(start + got);
                    return Err(e);
                }
            }
        }
        self.raw.truncate(start + got);
        Ok(got)
    }

    /// Moves the offset past the record now in `raw`.
    fn advance(&mut self) {
        let len = self.raw.len() as u64;
        self.offset += len;
        self.left = self.left.saturating_sub(len);
    }

    fn next_pcap(&mut self) -> Result<Option<Item>, String> {
        let number = self.packets + 1;
        let at = self.offset;
        self.raw.clear();
        let got = self.fill(PCAP_RECORD_HEADER_LEN).map_err(|e| read_fault(&e, number, at))?;
        if got == 0 {
            return Ok(None);
        }
        let Kind::Pcap { parser, .. } = &self.kind else { unreachable!("pcap reader") };
        let endianness = parser.header().endianness;
        if got < PCAP_RECORD_HEADER_LEN {
            return Err(format!(
                "packet #{number} (byte {at}) is cut short: {got} of {PCAP_RECORD_HEADER_LEN} \
                 record header bytes"
            ));
        }
        let incl_len = read_u32(&self.raw[8..], endianness).expect("16 bytes") as usize;
        if incl_len > MAX_RECORD {
            return Err(format!(
                "packet #{number} (byte {at}) claims {incl_len} captured bytes, more than netlab \
                 reads in one record ({MAX_RECORD})"
            ));
        }
        let need = (PCAP_RECORD_HEADER_LEN + incl_len) as u64;
        if need > self.left {
            return Err(cut_short(number, at, need, self.left));
        }
        let body = self.fill(incl_len).map_err(|e| read_fault(&e, number, at))?;
        if body < incl_len {
            return Err(cut_short(number, at, need, (PCAP_RECORD_HEADER_LEN + body) as u64));
        }
        let Kind::Pcap { parser, .. } = &self.kind else { unreachable!("pcap reader") };
        let header = parser.header();
        let (ts_sec, ts_frac, orig_len) = parser
            .next_raw_packet(&self.raw)
            .map(|(_, record)| (record.ts_sec, record.ts_frac, record.orig_len))
            .map_err(|_| format!("packet #{number} (byte {at}): malformed record header"))?;
        let nanos = header.ts_resolution == TsResolution::NanoSecond;
        let ts_ns = self.pcap_time(ts_sec, ts_frac, nanos, number, at)?;
        self.advance();
        self.packets = number;
        Ok(Some(Item::Packet(Packet {
            number,
            offset: at,
            ts_ns,
            orig_len,
            interface: 0,
            link: Link { datalink: header.datalink, snaplen: header.snaplen, nanos },
            data: PCAP_RECORD_HEADER_LEN..PCAP_RECORD_HEADER_LEN + incl_len,
        })))
    }

    /// A classic pcap record's time in ns. A µs file whose fraction is in nanosecond range
    /// (some tools write ns under the µs magic; tcpdump and tshark read them) is read as ns and
    /// remembered for [`CaptureReader::warning`].
    fn pcap_time(
        &mut self,
        ts_sec: u32,
        frac: u32,
        nanos: bool,
        number: u64,
        at: u64,
    ) -> Result<u64, String> {
        let frac_ns = if nanos {
            u64::from(frac)
        } else if frac < 1_000_000 {
            u64::from(frac) * 1_000
        } else {
            let (count, first, largest) = self.odd_fractions;
            self.odd_fractions =
                (count + 1, if count == 0 { number } else { first }, largest.max(frac));
            u64::from(frac)
        };
        if frac_ns >= 1_000_000_000 {
            return Err(format!(
                "packet #{number} (byte {at}): timestamp fraction {frac} is a second or more \
                 even in nanoseconds"
            ));
        }
        Ok(u64::from(ts_sec) * 1_000_000_000 + frac_ns)
    }

    fn next_pcapng(&mut self) -> Result<Option<Item>, String> {
        let block = self.blocks + 1;
        let number = self.packets + 1;
        let at = self.offset;
        let place = format!("block #{block} (byte {at}; packet #{number} would be next)");
        // `open` already read the first block's first four bytes.
        if self.blocks > 0 {
            self.raw.clear();
        }
        let have = self.raw.len();
        let got = have + self.fill(8 - have).map_err(|e| format!("{place}: cannot read: {e}"))?;
        if got == 0 {
            return Ok(None);
        }
        if got < 8 {
            return Err(format!("{place} is cut short: {got} of 8 block header bytes"));
        }
        let kind = u32::from_le_bytes(self.raw[..4].try_into().expect("8 bytes"));
        let Kind::PcapNg { parser, mut endianness, .. } = &self.kind else {
            unreachable!("pcapng reader")
        };
        let first = parser.is_none();
        if first && kind != PCAPNG_MAGIC {
            return Err(format!("{place} is not a section header block"));
        }
        if kind == PCAPNG_MAGIC {
            // A section's byte order is in its byte-order magic, after the length.
            if self.fill(4).map_err(|e| format!("{place}: cannot read: {e}"))? < 4 {
                return Err(format!("{place} is cut short: a section header needs 12 bytes"));
            }
            endianness = match u32::from_be_bytes(self.raw[8..12].try_into().expect("12")) {
                0x1a2b_3c4d => Endianness::Big,
                0x4d3c_2b1a => Endianness::Little,
                other => {
                    return Err(format!(
                        "{place}: section header with an unknown byte-order magic 0x{other:08x}"
                    ))
                }
            };
        }
        let kind = read_u32(&self.raw, endianness).expect("8 bytes");
        let len = read_u32(&self.raw[4..], endianness).expect("8 bytes") as usize;
        if len < 12 || len % 4 != 0 {
            return Err(format!(
                "{place}: block length {len} is not a multiple of 4 of at least 12"
            ));
        }
        if len > MAX_RECORD {
            return Err(format!(
                "{place}: block length {len} is more than netlab reads in one block ({MAX_RECORD})"
            ));
        }
        if len as u64 > self.left {
            return Err(format!(
                "{place} is cut short: the block needs {len} bytes, {} are left",
                self.left
            ));
        }
        let have = self.raw.len();
        let got = have + self.fill(len - have).map_err(|e| format!("{place}: cannot read: {e}"))?;
        if got < len {
            return Err(format!(
                "{place} is cut short: the block needs {len} bytes, {got} are left"
            ));
        }
        self.advance();
        self.blocks = block;
        let packet_place = format!("packet #{number} (block #{block}, byte {at})");
        self.decode_pcapng(kind, endianness, &place, &packet_place)
    }

    /// Decodes the pcapng block now in `raw` (framed by [`Self::next_pcapng`]).
    fn decode_pcapng(
        &mut self,
        kind: u32,
        endianness: Endianness,
        place: &str,
        packet_place: &str,
    ) -> Result<Option<Item>, String> {
        let number = self.packets + 1;
        let Kind::PcapNg { parser, endianness: section_order, last_ts_ns } = &mut self.kind else {
            unreachable!("pcapng reader")
        };
        let malformed = |e: PcapError| {
            let what = block_name(kind);
            match e {
                PcapError::IncompleteBuffer => format!("{place}: {what} shorter than its fields"),
                _ => format!("{place}: malformed {what}"),
            }
        };
        let typed = match parser {
            None => {
                let (_, new) = PcapNgParser::new(&self.raw).map_err(malformed)?;
                *parser = Some(new);
                *section_order = endianness;
                return Ok(Some(Item::Block));
            }
            Some(parser) => parser.next_block(&self.raw).map_err(malformed)?.1,
        };
        let parser = parser.as_ref().expect("set above");
        *section_order = endianness;
        let interface_of = |id: u32| {
            parser.interfaces().get(id as usize).ok_or_else(|| {
                format!(
                    "{packet_place} refers to interface #{id}, but its section describes {}",
                    parser.interfaces().len()
                )
            })
        };
        let (interface, ts_ns, orig_len, data) = match &typed {
            Block::InterfaceDescription(idb) => {
                if idb.linktype != DataLink::ETHERNET {
                    let index = parser.interfaces().len() - 1;
                    return Err(link_type_fault(idb.linktype, &format!("interface #{index} has ")));
                }
                return Ok(Some(Item::Block));
            }
            Block::EnhancedPacket(epb) => {
                let clock = Clock::of(interface_of(epb.interface_id)?);
                // pcap-file reads the raw units as nanoseconds; undo that, scale here.
                let units = u64::try_from(epb.timestamp.as_nanos()).unwrap_or(u64::MAX);
                let end = EPB_DATA_OFFSET + epb.data.len();
                (epb.interface_id, clock.to_ns(units), epb.original_len, EPB_DATA_OFFSET..end)
            }
            Block::Packet(pb) => {
                let interface = u32::from(pb.interface_id);
                let clock = Clock::of(interface_of(interface)?);
                let end = EPB_DATA_OFFSET + pb.data.len();
                (interface, clock.to_ns(pb.timestamp), pb.original_len, EPB_DATA_OFFSET..end)
            }
            Block::SimplePacket(spb) => {
                // No timestamp (the previous packet's is used) and padded data: the original
                // length, bounded by the interface's snap length, says where the frame ends.
                let idb = interface_of(0)?;
                let mut len = (spb.original_len as usize).min(spb.data.len());
                if idb.snaplen != 0 {
                    len = len.min(idb.snaplen as usize);
                }
                (0, *last_ts_ns, spb.original_len, SPB_DATA_OFFSET..SPB_DATA_OFFSET + len)
            }
            _ => return Ok(Some(Item::Block)),
        };
        let idb = interface_of(interface)?;
        let link = Link {
            datalink: idb.linktype,
            snaplen: idb.snaplen,
            nanos: Clock::of(idb).finer_than_micros(),
        };
        debug_assert!(
            matches!(kind, ENHANCED_PACKET_BLOCK | SIMPLE_PACKET_BLOCK | OBSOLETE_PACKET_BLOCK),
            "block type {kind}"
        );
        *last_ts_ns = ts_ns;
        self.packets = number;
        let offset = self.offset - self.raw.len() as u64;
        Ok(Some(Item::Packet(Packet { number, offset, ts_ns, orig_len, interface, link, data })))
    }
}

fn block_name(kind: u32) -> String {
    match kind {
        PCAPNG_MAGIC => "section header block".into(),
        1 => "interface description block".into(),
        OBSOLETE_PACKET_BLOCK => "packet block".into(),
        SIMPLE_PACKET_BLOCK => "simple packet block".into(),
        4 => "name resolution block".into(),
        5 => "interface statistics block".into(),
        ENHANCED_PACKET_BLOCK => "enhanced packet block".into(),
        other => format!("block of type 0x{other:08x}"),
    }
}

fn cut_short(number: u64, at: u64, need: u64, left: u64) -> String {
    format!(
        "packet #{number} (byte {at}) is cut short: its record needs {need} bytes, {left} are left"
    )
}

fn read_fault(e: &std::io::Error, number: u64, at: u64) -> String {
    format!("packet #{number} (byte {at}): cannot read: {e}")
}

fn link_type_fault(datalink: DataLink, place: &str) -> String {
    format!(
        "{place}link type {datalink:?} ({}), only Ethernet (1) is supported",
        u32::from(datalink)
    )
}

/// How one pcapng interface stamps its packets.
#[derive(Debug, Clone, Copy)]
struct Clock {
    /// `if_tsresol`: bit 7 clear → 10^-n s per unit, set → 2^-n s per unit. Default 6 (µs).
    resolution: u8,
    /// `if_tsoffset`: seconds added to every timestamp.
    offset_s: i64,
}

impl Clock {
    fn of(idb: &InterfaceDescriptionBlock<'_>) -> Self {
        let mut clock = Clock { resolution: 6, offset_s: 0 };
        for option in &idb.options {
            match option {
                InterfaceDescriptionOption::IfTsResol(r) => clock.resolution = *r,
                // The field is a signed 64-bit integer; pcap-file hands it over unsigned.
                InterfaceDescriptionOption::IfTsOffset(o) => clock.offset_s = *o as i64,
                _ => {}
            }
        }
        clock
    }

    /// Whether a unit is shorter than a microsecond.
    fn finer_than_micros(self) -> bool {
        let exponent = self.resolution & 0x7f;
        if self.resolution & 0x80 == 0 {
            exponent > 6
        } else {
            exponent > 19 // 2^-20 s < 1 µs
        }
    }

    /// Nanoseconds since the epoch for `units` timestamp units (saturating).
    fn to_ns(self, units: u64) -> u64 {
        let units = u128::from(units);
        let exponent = u32::from(self.resolution & 0x7f);
        let ns = if self.resolution & 0x80 == 0 {
            if exponent <= 9 {
                units * 10u128.pow(9 - exponent)
            } else {
                10u128.checked_pow(exponent - 9).map_or(0, |div| units / div)
            }
        } else {
            (units * 1_000_000_000) >> exponent.min(127)
        };
        let with_offset = ns as i128 + i128::from(self.offset_s) * 1_000_000_000;
        with_offset.clamp(0, i128::from(u64::MAX)) as u64
    }
}

/// The first four bytes of `bytes` as a `u32` in the given byte order.
fn read_u32(bytes: &[u8], endianness: Endianness) -> Option<u32> {
    let word: [u8; 4] = bytes.get(..4)?.try_into().ok()?;
    Some(match endianness {
        Endianness::Big => u32::from_be_bytes(word),
        Endianness::Little => u32::from_le_bytes(word),
    })
}

/// Reads every frame of a pcap or pcapng file into memory, for replay (as `tcpreplay -K`):
/// at most [`PRELOAD_BUDGET`] bytes of frames and bookkeeping. Any fault — missing,
/// unreadable, empty, not a capture, a record cut short (named by packet number and byte
/// offset), a non-Ethernet link type, no packets at all, more than the budget — is a bad-input
/// error naming the file. Simple packet blocks carry no timestamp; they get the previous
/// packet's.
pub fn read_frames(path: impl AsRef<Path>) -> anyhow::Result<Vec<Frame>> {
    preload(path.as_ref(), PRELOAD_BUDGET)
}

/// [`read_frames`] within `budget` bytes.
fn preload(path: &Path, budget: u64) -> anyhow::Result<Vec<Frame>> {
    let mut reader = CaptureReader::open(path)?;
    let over = |at: String| {
        bad_input(format!(
            "{}: holds more than the {} MiB netlab preloads for sending ({at}); send a smaller \
             capture",
            path.display(),
            budget >> 20,
        ))
    };
    // A classic pcap record takes less room in the file (16-byte header) than in memory, so a
    // file whose records alone exceed the budget is refused before reading it.
    if reader.format() == Format::Pcap && reader.left != u64::MAX && reader.left > budget {
        return Err(over(format!("its records are {} MiB", reader.left >> 20)));
    }
    let mut frames = Vec::new();
    let mut held = 0u64;
    while let Some(packet) = reader.next_packet()? {
        let data = reader.data(&packet);
        held += data.len() as u64 + FRAME_OVERHEAD;
        if held > budget {
            return Err(over(format!("reached at packet #{}", packet.number)));
        }
        frames.push(Frame { data: data.to_vec(), ts_ns: packet.ts_ns });
    }
    if frames.is_empty() {
        return Err(bad_input(format!("{}: contains no packets", path.display())));
    }
    Ok(frames)
}

/// A capture file being written: into a temporary file next to the target, renamed over it by
/// [`CaptureWriter::commit`]. Dropped without commit, it leaves nothing behind.
#[derive(Debug)]
pub struct CaptureWriter {
    path: PathBuf,
    format: Format,
    temp: tempfile::NamedTempFile,
    out: BufWriter<File>,
    /// The link the header was written for (re-encoding writes only).
    link: Option<Link>,
}

impl CaptureWriter {
    /// Starts writing `path` in `format`. An unwritable place is a bad-input error naming it.
    /// Nothing is written until the first packet (or [`CaptureWriter::finish_empty`]).
    pub fn create(path: impl AsRef<Path>, format: Format) -> anyhow::Result<Self> {
        let path = path.as_ref().to_path_buf();
        let dir = match path.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent,
            _ => Path::new("."),
        };
        let temp = tempfile::Builder::new()
            .prefix(".netlab-")
            .suffix(".part")
            .tempfile_in(dir)
            .map_err(|e| write_fault(&path, &e))?;
        let file = temp.as_file().try_clone().map_err(|e| write_fault(&path, &e))?;
        Ok(CaptureWriter {
            path,
            format,
            temp,
            out: BufWriter::with_capacity(256 << 10, file),
            link: None,
        })
    }

    /// The format being written.
    pub fn format(&self) -> Format {
        self.format
    }

    /// Appends bytes as they are: a file header, record or block read from a file of the same
    /// format ([`CaptureReader::raw`]).
    pub fn write_raw(&mut self, bytes: &[u8]) -> anyhow::Result<()> {
        self.out.write_all(bytes).map_err(|e| write_fault(&self.path, &e))
    }

    /// Appends one packet read by a [`CaptureReader`], re-encoded (see
    /// [`CaptureWriter::write_record`]).
    pub fn write_packet(&mut self, packet: &Packet, data: &[u8]) -> anyhow::Result<()> {
        self.write_record(packet.number, packet.ts_ns, packet.orig_len, packet.link, data)
    }

    /// Appends one packet: the first one decides the file header (pcap) or the section and
    /// interface (pcapng) from its link. Keeps its original length and timestamp; a timestamp
    /// classic pcap cannot hold (after 2106) is a bad-input error naming packet #`number`.
    pub fn write_record(
        &mut self,
        number: u64,
        ts_ns: u64,
        orig_len: u32,
        link: Link,
        data: &[u8],
    ) -> anyhow::Result<()> {
        let link = match self.link {
            Some(link) => link,
            None => {
                self.start(link)?;
                link
            }
        };
        let io = |e: std::io::Error| write_fault(&self.path, &e);
        match self.format {
            Format::Pcap => {
                let secs = ts_ns / 1_000_000_000;
                let ts_sec = u32::try_from(secs).map_err(|_| {
                    bad_input(format!(
                        "packet #{number}: its time ({secs} s after 1970) is later than classic \
                         pcap can hold (until 2106); write pcapng instead"
                    ))
                })?;
                let frac = (ts_ns % 1_000_000_000) as u32;
                let record = RawPcapPacket {
                    ts_sec,
                    ts_frac: if link.nanos { frac } else { frac / 1_000 },
                    incl_len: data.len() as u32,
                    orig_len,
                    data: data.into(),
                };
                record.write_to::<_, LittleEndian>(&mut self.out).map_err(|e| match e {
                    PcapError::IoError(e) => io(e),
                    _ => bad_input(format!("packet #{number} cannot be written")),
                })?;
            }
            Format::PcapNg => {
                let units = if link.nanos { ts_ns } else { ts_ns / 1_000 };
                let block = EnhancedPacketBlock {
                    interface_id: 0,
                    timestamp: Duration::from_nanos(units),
                    original_len: orig_len,
                    data: data.into(),
                    options: vec![],
                };
                Block::EnhancedPacket(block)
                    .write_to::<LittleEndian, _>(&mut self.out)
                    .map_err(io)?;
            }
        }
        Ok(())
    }

    /// Writes the file header (pcap) or section header and interface (pcapng) for `link`.
    fn start(&mut self, link: Link) -> anyhow::Result<()> {
        let snaplen = if link.snaplen == 0 { DEFAULT_SNAPLEN } else { link.snaplen };
        let io = |e: std::io::Error| write_fault(&self.path, &e);
        match self.format {
            Format::Pcap => {
                let header = PcapHeader {
                    snaplen,
                    datalink: link.datalink,
                    ts_resolution: if link.nanos {
                        TsResolution::NanoSecond
                    } else {
                        TsResolution::MicroSecond
                    },
                    endianness: Endianness::Little,
                    ..PcapHeader::default()
                };
                header.write_to(&mut self.out).map_err(|e| match e {
                    PcapError::IoError(e) => io(e),
                    _ => bad_input("the pcap file header cannot be written"),
                })?;
            }
            Format::PcapNg => {
                let section = SectionHeaderBlock {
                    endianness: Endianness::Little,
                    major_version: 1,
                    minor_version: 0,
                    section_length: -1,
                    options: vec![],
                };
                let options = if link.nanos {
                    vec![InterfaceDescriptionOption::IfTsResol(9)]
                } else {
                    vec![]
                };
                let idb = InterfaceDescriptionBlock { linktype: link.datalink, snaplen, options };
                Block::SectionHeader(section)
                    .write_to::<LittleEndian, _>(&mut self.out)
                    .map_err(io)?;
                Block::InterfaceDescription(idb)
                    .write_to::<LittleEndian, _>(&mut self.out)
                    .map_err(io)?;
            }
        }
        self.link = Some(link);
        Ok(())
    }

    /// Writes the file header (pcap) or section and interface (pcapng) for `link` if no packet
    /// did: a capture of no packets.
    pub fn finish_empty(&mut self, link: Link) -> anyhow::Result<()> {
        match self.link {
            Some(_) => Ok(()),
            None => self.start(link),
        }
    }

    /// Finishes the file: flushes it, gives it an ordinary file's mode (an existing file's,
    /// else 0644), syncs it and renames it over the target.
    pub fn commit(self) -> anyhow::Result<()> {
        let CaptureWriter { path, temp, out, .. } = self;
        let fault = |e: &std::io::Error| write_fault(&path, e);
        out.into_inner().map_err(|e| fault(e.error()))?;
        // tempfile creates 0600; a capture is an ordinary file. Keep an existing file's mode.
        let mode = fs::metadata(&path)
            .map(|m| m.permissions())
            .unwrap_or_else(|_| std::os::unix::fs::PermissionsExt::from_mode(0o644));
        temp.as_file().set_permissions(mode).map_err(|e| fault(&e))?;
        temp.as_file().sync_all().map_err(|e| fault(&e))?;
        temp.persist(&path).map_err(|e| fault(&e.error))?;
        Ok(())
    }
}

/// Writes `frames` as one capture in `format` (Ethernet, original length = captured length,
/// microsecond timestamps unless one needs nanoseconds), atomically.
pub fn write_frames(
    path: impl AsRef<Path>,
    format: Format,
    frames: &[Frame],
) -> anyhow::Result<()> {
    let nanos = frames.iter().any(|f| f.ts_ns % 1_000 != 0);
    let largest = frames.iter().map(|f| f.data.len()).max().unwrap_or(0);
    let link = Link {
        datalink: DataLink::ETHERNET,
        snaplen: DEFAULT_SNAPLEN.max(u32::try_from(largest).unwrap_or(u32::MAX)),
        nanos,
    };
    let mut writer = CaptureWriter::create(&path, format)?;
    for (index, frame) in frames.iter().enumerate() {
        let orig_len = u32::try_from(frame.data.len()).map_err(|_| {
            bad_input(format!("packet #{}: {} bytes is too long", index + 1, frame.data.len()))
        })?;
        writer.write_record(index as u64 + 1, frame.ts_ns, orig_len, link, &frame.data)?;
    }
    if frames.is_empty() {
        writer.finish_empty(link)?;
    }
    writer.commit()
}

/// Writes `frames` as a classic little-endian pcap file (see [`write_frames`]).
pub fn write_pcap(path: impl AsRef<Path>, frames: &[Frame]) -> anyhow::Result<()> {
    write_frames(path, Format::Pcap, frames)
}

fn write_fault(path: &Path, e: &std::io::Error) -> anyhow::Error {
    bad_input(format!("cannot write {}: {}", path.display(), os_message(e)))
}

/// An I/O error's message without the `at path "…"` that tempfile appends: that temporary
/// path never exists for the user to look at.
fn os_message(e: &std::io::Error) -> String {
    let text = e.to_string();
    match text.split_once(" at path \"") {
        Some((message, _)) => message.to_string(),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(n: u8, len: usize) -> Vec<u8> {
        (0..len).map(|i| n.wrapping_add(i as u8)).collect()
    }

    /// Reads `bytes` as a file: every packet as (frame, original length), or the error line
    /// without the file name.
    fn read(bytes: &[u8]) -> Result<Vec<(Frame, u32)>, String> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("in");
        fs::write(&path, bytes).unwrap();
        let strip = |e: anyhow::Error| {
            let text = e.to_string();
            text.strip_prefix(&format!("{}: ", path.display())).unwrap_or(&text).to_string()
        };
        let mut reader = CaptureReader::open(&path).map_err(strip)?;
        let mut out = Vec::new();
        while let Some(p) = reader.next_packet().map_err(strip)? {
            out.push((Frame { data: reader.data(&p).to_vec(), ts_ns: p.ts_ns }, p.orig_len));
        }
        Ok(out)
    }

    fn frames(bytes: &[u8]) -> Result<Vec<Frame>, String> {
        read(bytes).map(|v| v.into_iter().map(|(f, _)| f).collect())
    }

    /// A classic pcap file assembled by hand, in either byte order and resolution; records are
    /// (seconds, fraction, data, original length).
    fn pcap(
        big_endian: bool,
        nanos: bool,
        link: u32,
        records: &[(u32, u32, &[u8], u32)],
    ) -> Vec<u8> {
        let word = |v: u32| if big_endian { v.to_be_bytes() } else { v.to_le_bytes() };
        let half = |v: u16| if big_endian { v.to_be_bytes() } else { v.to_le_bytes() };
        let mut out = Vec::new();
        out.extend(word(if nanos { 0xa1b2_3c4d } else { 0xa1b2_c3d4 }));
        out.extend(half(2));
        out.extend(half(4));
        out.extend(word(0));
        out.extend(word(0));
        out.extend(word(65535));
        out.extend(word(link));
        for (sec, frac, data, orig) in records {
            out.extend(word(*sec));
            out.extend(word(*frac));
            out.extend(word(data.len() as u32));
            out.extend(word(*orig));
            out.extend(*data);
        }
        out
    }

    #[test]
    fn pcap_both_byte_orders_and_resolutions_keep_original_lengths() {
        let (a, b) = (frame(1, 60), frame(7, 61));
        for big in [false, true] {
            let micro = pcap(big, false, 1, &[(3, 250_000, &a, 60), (4, 1, &b, 93)]);
            let read = read(&micro).unwrap();
            assert_eq!(read.len(), 2);
            assert_eq!(read[0], (Frame { data: a.clone(), ts_ns: 3_250_000_000 }, 60));
            assert_eq!(read[1], (Frame { data: b.clone(), ts_ns: 4_000_001_000 }, 93));

            let nano = pcap(big, true, 1, &[(3, 250_000, &a, 60), (4, 1, &b, 61)]);
            let frames = frames(&nano).unwrap();
            assert_eq!(frames[0].ts_ns, 3_000_250_000);
            assert_eq!(frames[1].ts_ns, 4_000_000_001);
        }
    }

    #[test]
    fn microsecond_magic_with_nanosecond_fractions_is_read_with_a_warning() {
        let a = frame(1, 60);
        let bytes = pcap(false, false, 1, &[(1, 5, &a, 60), (2, 466_743_000, &a, 60)]);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("odd.pcap");
        fs::write(&path, &bytes).unwrap();
        let mut reader = CaptureReader::open(&path).unwrap();
        assert_eq!(reader.next_packet().unwrap().unwrap().ts_ns, 1_000_005_000);
        assert!(reader.warning().is_none());
        assert_eq!(reader.next_packet().unwrap().unwrap().ts_ns, 2_466_743_000);
        assert!(reader.next_packet().unwrap().is_none());
        let warning = reader.warning().unwrap();
        assert!(
            warning.contains("1 packet (first #2) carry fractions up to 466743000"),
            "{warning}"
        );
        let beyond = pcap(false, false, 1, &[(0, 1_000_000_000, &a, 60)]);
        assert_eq!(
            frames(&beyond).unwrap_err(),
            "packet #1 (byte 24): timestamp fraction 1000000000 is a second or more even in \
             nanoseconds"
        );
    }

    #[test]
    fn pcap_faults_name_the_record_and_its_offset() {
        let a = frame(1, 60);
        let good = pcap(false, false, 1, &[(0, 0, &a, 60), (0, 0, &a, 60), (0, 0, &a, 60)]);
        assert_eq!(
            frames(&good[..good.len() - 10]).unwrap_err(),
            "packet #3 (byte 176) is cut short: its record needs 76 bytes, 66 are left"
        );
        assert_eq!(
            frames(&good[..24 + 2 * 76 + 5]).unwrap_err(),
            "packet #3 (byte 176) is cut short: 5 of 16 record header bytes"
        );
        assert!(frames(&good[..10]).unwrap_err().starts_with("truncated pcap file header"));
        let mut hostile = good.clone();
        hostile[24 + 8..24 + 12].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(frames(&hostile).unwrap_err().contains("claims 4294967295 captured bytes"));
        hostile[24 + 8..24 + 12].copy_from_slice(&1_000_000u32.to_le_bytes());
        assert!(frames(&hostile).unwrap_err().starts_with("packet #1 (byte 24) is cut short"));
        let sll = pcap(false, false, 113, &[(0, 0, &a, 60)]);
        assert_eq!(
            frames(&sll).unwrap_err(),
            "link type LINUX_SLL (113), only Ethernet (1) is supported"
        );
        assert_eq!(frames(&pcap(true, true, 1, &[])).unwrap(), vec![]);
        assert!(frames(b"").unwrap_err().starts_with("empty file"));
        assert!(frames(b"hello, world").unwrap_err().starts_with("not a pcap or pcapng"));
    }

    /// A little-endian pcapng block: type, length, body (padded to 4), length.
    fn block(kind: u32, body: &[u8]) -> Vec<u8> {
        let mut body = body.to_vec();
        body.resize(body.len().div_ceil(4) * 4, 0);
        let len = (body.len() + 12) as u32;
        let mut out = Vec::new();
        out.extend(kind.to_le_bytes());
        out.extend(len.to_le_bytes());
        out.extend(body);
        out.extend(len.to_le_bytes());
        out
    }

    fn shb() -> Vec<u8> {
        let mut body = Vec::new();
        body.extend(0x1a2b_3c4du32.to_le_bytes());
        body.extend(1u16.to_le_bytes());
        body.extend(0u16.to_le_bytes());
        body.extend((-1i64).to_le_bytes());
        block(0x0a0d_0d0a, &body)
    }

    /// An interface description block; `tsresol` adds an if_tsresol option.
    fn idb(link: u16, snaplen: u32, tsresol: Option<u8>) -> Vec<u8> {
        let mut body = Vec::new();
        body.extend(link.to_le_bytes());
        body.extend(0u16.to_le_bytes());
        body.extend(snaplen.to_le_bytes());
        if let Some(r) = tsresol {
            body.extend(9u16.to_le_bytes());
            body.extend(1u16.to_le_bytes());
            body.extend([r, 0, 0, 0]);
            body.extend([0u8; 4]); // opt_endofopt
        }
        block(1, &body)
    }

    fn epb(interface: u32, units: u64, data: &[u8], orig: u32) -> Vec<u8> {
        let mut body = Vec::new();
        body.extend(interface.to_le_bytes());
        body.extend(((units >> 32) as u32).to_le_bytes());
        body.extend((units as u32).to_le_bytes());
        body.extend((data.len() as u32).to_le_bytes());
        body.extend(orig.to_le_bytes());
        body.extend(data);
        block(6, &body)
    }

    fn spb(data: &[u8]) -> Vec<u8> {
        let mut body = Vec::new();
        body.extend((data.len() as u32).to_le_bytes());
        body.extend(data);
        block(3, &body)
    }

    #[test]
    fn pcapng_two_interfaces_epb_and_spb() {
        let (a, b, c) = (frame(1, 60), frame(2, 61), frame(3, 63));
        let mut file = shb();
        file.extend(idb(1, 0, None)); // interface 0: default µs
        file.extend(idb(1, 0, Some(9))); // interface 1: ns
        file.extend(epb(0, 1_500_000, &a, 60)); // 1.5 s in µs
        file.extend(epb(1, 2_000_000_007, &b, 1514)); // 2.000000007 s in ns, snapped
        file.extend(block(5, &[0u8; 12])); // an interface statistics block: skipped
        file.extend(spb(&c)); // padded to 64: cut back to 63
        assert_eq!(
            read(&file).unwrap(),
            vec![
                (Frame { data: a, ts_ns: 1_500_000_000 }, 60),
                (Frame { data: b, ts_ns: 2_000_000_007 }, 1514),
                (Frame { data: c, ts_ns: 2_000_000_007 }, 63),
            ]
        );
    }

    #[test]
    fn pcapng_binary_resolution_and_snaplen_of_spb() {
        let mut file = shb();
        file.extend(idb(1, 40, Some(0x80 | 10))); // 2^-10 s units; snaplen 40
        file.extend(epb(0, 3 * 1024 + 512, &frame(1, 40), 40));
        file.extend(spb(&frame(2, 60))); // original length 60, snapped to 40 by the interface
        let frames = frames(&file).unwrap();
        assert_eq!(frames[0].ts_ns, 3_500_000_000);
        assert_eq!(frames[1].data, frame(2, 40));
    }

    #[test]
    fn pcapng_faults() {
        let mut file = shb();
        file.extend(idb(1, 0, None));
        file.extend(idb(105, 0, None)); // 802.11
        file.extend(epb(0, 0, &frame(1, 60), 60));
        assert_eq!(
            frames(&file).unwrap_err(),
            "interface #1 has link type IEEE802_11 (105), only Ethernet (1) is supported"
        );

        let mut file = shb();
        file.extend(idb(1, 0, None));
        file.extend(epb(0, 0, &frame(1, 60), 60));
        file.extend(epb(3, 0, &frame(1, 60), 60));
        assert_eq!(
            frames(&file).unwrap_err(),
            "packet #2 (block #4, byte 140) refers to interface #3, but its section describes 1"
        );

        let mut file = shb();
        file.extend(idb(1, 0, None));
        file.extend(epb(0, 0, &frame(1, 60), 60));
        file.extend(epb(0, 0, &frame(1, 60), 60));
        file.truncate(file.len() - 8);
        assert_eq!(
            frames(&file).unwrap_err(),
            "block #4 (byte 140; packet #2 would be next) is cut short: the block needs 92 \
             bytes, 84 are left"
        );

        let mut file = shb();
        file.extend(idb(1, 0, None));
        assert_eq!(frames(&file).unwrap(), vec![]);
    }

    #[test]
    fn written_files_read_back_in_both_formats() {
        let dir = tempfile::tempdir().unwrap();
        let written = vec![
            Frame { data: frame(1, 60), ts_ns: 0 },
            Frame { data: frame(2, 1514), ts_ns: 1_000_002_000 },
        ];
        let path = dir.path().join("out.pcap");
        write_pcap(&path, &written).unwrap();
        let bytes = fs::read(&path).unwrap();
        assert_eq!(&bytes[..4], &[0xd4, 0xc3, 0xb2, 0xa1]);
        assert_eq!(read_frames(&path).unwrap(), written);

        let precise = vec![Frame { data: frame(3, 60), ts_ns: 5 }];
        write_pcap(&path, &precise).unwrap();
        assert_eq!(&fs::read(&path).unwrap()[..4], &[0x4d, 0x3c, 0xb2, 0xa1], "ns magic");
        assert_eq!(read_frames(&path).unwrap(), precise);

        let ng = dir.path().join("out.pcapng");
        write_frames(&ng, Format::PcapNg, &precise).unwrap();
        assert_eq!(&fs::read(&ng).unwrap()[..4], &[0x0a, 0x0d, 0x0d, 0x0a]);
        assert_eq!(read_frames(&ng).unwrap(), precise);
        // Only the outputs are in the directory: the temporary files were renamed over them.
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 2);
    }

    #[test]
    fn preloading_refuses_a_file_over_the_budget_naming_the_packet() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.pcap");
        let frames: Vec<Frame> =
            (0..40).map(|i| Frame { data: frame(i, 30_000), ts_ns: 0 }).collect();
        write_pcap(&path, &frames).unwrap();
        assert_eq!(preload(&path, 40 * (30_000 + FRAME_OVERHEAD)).unwrap(), frames);
        // Between the records' size in the file (40 × 30 016) and in memory (40 × 30 032).
        let err = preload(&path, 1_201_000).map(|_| ()).unwrap_err().to_string();
        assert!(
            err.ends_with(
                "big.pcap: holds more than the 1 MiB netlab preloads for sending (reached at \
                 packet #40); send a smaller capture"
            ),
            "{err}"
        );
        let err = preload(&path, 1 << 20).map(|_| ()).unwrap_err().to_string();
        assert!(
            err.ends_with(
                "big.pcap: holds more than the 1 MiB netlab preloads for sending (its records \
                 are 1 MiB); send a smaller capture"
            ),
            "{err}"
        );
    }

    #[test]
    fn classic_pcap_refuses_a_time_after_2106_naming_the_packet() {
        let dir = tempfile::tempdir().unwrap();
        let late = vec![Frame { data: frame(1, 60), ts_ns: 17_105_789_168_410_000_000 }];
        let err = write_pcap(dir.path().join("late.pcap"), &late).unwrap_err().to_string();
        assert!(err.starts_with("packet #1: its time (17105789168 s after 1970)"), "{err}");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0, "nothing left behind");
        write_frames(dir.path().join("late.pcapng"), Format::PcapNg, &late).unwrap();
        assert_eq!(read_frames(dir.path().join("late.pcapng")).unwrap(), late);
    }

    #[test]
    fn unwritable_output_is_bad_input_and_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let frames = vec![Frame { data: frame(1, 60), ts_ns: 0 }];
        let missing_dir = dir.path().join("no/such/dir/out.pcap");
        let err = write_pcap(&missing_dir, &frames).unwrap_err();
        assert!(err.to_string().starts_with("cannot write "), "{err}");
        assert!(err.to_string().ends_with("No such file or directory (os error 2)"), "{err}");
        assert_eq!(crate::exit::code_for(&err), crate::exit::Code::BadInput);
        // A directory in the way: the rename fails, the temporary file is removed.
        let in_the_way = dir.path().join("out.pcap");
        fs::create_dir(&in_the_way).unwrap();
        let err = write_pcap(&in_the_way, &frames).unwrap_err();
        assert!(err.to_string().starts_with("cannot write "), "{err}");
        let left: Vec<_> =
            fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(left, vec![std::ffi::OsString::from("out.pcap")]);
    }
}
