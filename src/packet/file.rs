//! Capture files: reading classic pcap (either byte order, µs or ns timestamps) and pcapng
//! (enhanced, simple and obsolete packet blocks; any number of Ethernet interfaces and sections),
//! and writing classic pcap atomically.
//!
//! Framing comes from the `pcap-file` crate. A few things it leaves to the caller are done here:
//! pcapng timestamps are scaled by each interface's `if_tsresol`/`if_tsoffset` (the crate
//! reads raw units as nanoseconds), simple packet blocks are cut to their original length (the
//! crate keeps the padding), and packet → interface references are checked.

use std::fs;
use std::io::{BufWriter, Write as _};
use std::path::Path;
use std::time::Duration;

use pcap_file::pcap::{PcapHeader, PcapPacket, PcapParser, PcapWriter};
use pcap_file::pcapng::blocks::interface_description::{
    InterfaceDescriptionBlock, InterfaceDescriptionOption,
};
use pcap_file::pcapng::{Block, PcapNgParser};
use pcap_file::{DataLink, Endianness, PcapError, TsResolution};

use crate::exit::bad_input;

/// One captured frame: the bytes from the destination MAC on (no FCS) and when it was captured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// The frame as captured, starting with the Ethernet header.
    pub data: Vec<u8>,
    /// Capture time in nanoseconds since the Unix epoch (0 in the shipped packet).
    pub ts_ns: u64,
}

/// Classic pcap magic numbers, as the first four bytes read big-endian.
const PCAP_MAGICS: [u32; 4] = [0xa1b2_c3d4, 0xa1b2_3c4d, 0xd4c3_b2a1, 0x4d3c_b2a1];
/// The pcapng section header block type, the first four bytes of a pcapng file.
const PCAPNG_MAGIC: u32 = 0x0a0d_0d0a;
/// Bytes of a classic pcap file header and record header.
const PCAP_FILE_HEADER_LEN: usize = 24;
const PCAP_RECORD_HEADER_LEN: usize = 16;
/// Snap length written into pcap headers (tcpdump's default); raised if a frame is longer.
const WRITE_SNAPLEN: u32 = 262_144;

/// Reads every frame of a pcap or pcapng file. Any fault — missing, unreadable, empty, not a
/// capture, truncated record (named by packet number), non-Ethernet link type, no packets at
/// all — is a bad-input error naming the file. Simple packet blocks carry no timestamp; they get
/// the previous packet's.
pub fn read_frames(path: impl AsRef<Path>) -> anyhow::Result<Vec<Frame>> {
    let path = path.as_ref();
    let bytes = fs::read(path)
        .map_err(|e| bad_input(format!("{}: cannot read: {}", path.display(), os_message(&e))))?;
    parse_capture(&bytes).map_err(|fault| bad_input(format!("{}: {fault}", path.display())))
}

/// Parses a whole capture held in memory; the error is the fault without the file name.
pub fn parse_capture(bytes: &[u8]) -> Result<Vec<Frame>, String> {
    if bytes.is_empty() {
        return Err("empty file, expected a pcap or pcapng capture".into());
    }
    let Some(magic) = read_u32(bytes, Endianness::Big) else {
        return Err(format!("not a pcap or pcapng file (only {} bytes)", bytes.len()));
    };
    let frames = if magic == PCAPNG_MAGIC {
        read_pcapng(bytes)?
    } else if PCAP_MAGICS.contains(&magic) {
        read_pcap(bytes)?
    } else {
        return Err(format!("not a pcap or pcapng file (starts with 0x{magic:08x})"));
    };
    if frames.is_empty() {
        return Err("contains no packets".into());
    }
    Ok(frames)
}

fn link_type_fault(datalink: DataLink, place: &str) -> String {
    format!(
        "{place}link type {datalink:?} ({}), only Ethernet (1) is supported",
        u32::from(datalink)
    )
}

fn read_pcap(bytes: &[u8]) -> Result<Vec<Frame>, String> {
    let (mut rest, parser) = PcapParser::new(bytes).map_err(|e| match e {
        PcapError::IncompleteBuffer => {
            format!("truncated pcap file header ({} of {PCAP_FILE_HEADER_LEN} bytes)", bytes.len())
        }
        other => format!("bad pcap file header: {other}"),
    })?;
    let header = parser.header();
    if header.datalink != DataLink::ETHERNET {
        return Err(link_type_fault(header.datalink, ""));
    }
    let (frac_limit, ns_per_unit) = match header.ts_resolution {
        TsResolution::MicroSecond => (1_000_000, 1_000),
        TsResolution::NanoSecond => (1_000_000_000, 1),
    };
    let mut frames = Vec::new();
    while !rest.is_empty() {
        let number = frames.len() + 1;
        let (after, raw) = parser.next_raw_packet(rest).map_err(|e| match e {
            PcapError::IncompleteBuffer => {
                match rest.get(8..).and_then(|b| read_u32(b, header.endianness)) {
                    Some(incl_len) if rest.len() >= PCAP_RECORD_HEADER_LEN => format!(
                        "packet #{number} is truncated: its record needs {} bytes, {} are left",
                        PCAP_RECORD_HEADER_LEN as u64 + u64::from(incl_len),
                        rest.len()
                    ),
                    _ => format!(
                    "packet #{number} is truncated: {} of {PCAP_RECORD_HEADER_LEN} record header \
                     bytes",
                    rest.len()
                ),
                }
            }
            other => format!("packet #{number}: {other}"),
        })?;
        if raw.ts_frac >= frac_limit {
            return Err(format!(
                "packet #{number}: timestamp fraction {} is out of range (< {frac_limit})",
                raw.ts_frac
            ));
        }
        let ts_ns = u64::from(raw.ts_sec) * 1_000_000_000 + u64::from(raw.ts_frac) * ns_per_unit;
        frames.push(Frame { data: raw.data.into_owned(), ts_ns });
        rest = after;
    }
    Ok(frames)
}

/// How one pcapng interface stamps its packets.
#[derive(Debug, Clone, Copy)]
struct Clock {
    /// `if_tsresol`: bit 7 clear → 10^-n s per unit, set → 2^-n s per unit. Default 6 (µs).
    resolution: u8,
    /// `if_tsoffset`: seconds added to every timestamp.
    offset_s: i64,
    /// `snaplen` (0: no limit), which bounds simple packet blocks.
    snaplen: u32,
}

impl Clock {
    fn of(idb: &InterfaceDescriptionBlock<'_>) -> Self {
        let mut clock = Clock { resolution: 6, offset_s: 0, snaplen: idb.snaplen };
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
            (units * 1_000_000_000) >> exponent
        };
        let with_offset = ns as i128 + i128::from(self.offset_s) * 1_000_000_000;
        with_offset.clamp(0, i128::from(u64::MAX)) as u64
    }
}

/// A pcapng packet's timestamp: units of its interface's clock, or none (a simple packet
/// block, which carries its original length instead).
enum Stamp {
    Units(u64),
    None(u32),
}

/// The first four bytes of `bytes` as a `u32` in the given byte order.
fn read_u32(bytes: &[u8], endianness: Endianness) -> Option<u32> {
    let word: [u8; 4] = bytes.get(..4)?.try_into().ok()?;
    Some(match endianness {
        Endianness::Big => u32::from_be_bytes(word),
        Endianness::Little => u32::from_le_bytes(word),
    })
}

fn read_pcapng(bytes: &[u8]) -> Result<Vec<Frame>, String> {
    let (mut rest, mut parser) = PcapNgParser::new(bytes).map_err(|e| match e {
        PcapError::IncompleteBuffer => "truncated pcapng section header block".to_string(),
        other => format!("bad pcapng section header block: {other}"),
    })?;
    let mut frames: Vec<Frame> = Vec::new();
    let mut block = 1;
    while !rest.is_empty() {
        block += 1;
        let number = frames.len() + 1;
        let (after, typed) = parser.next_block(rest).map_err(|e| match e {
            PcapError::IncompleteBuffer => format!(
                "block #{block} is truncated ({} bytes left; packet #{number} would be next)",
                rest.len()
            ),
            other => format!("block #{block} (packet #{number} would be next): {other}"),
        })?;
        rest = after;
        // Enhanced and obsolete packet blocks carry a timestamp; a simple packet block carries
        // none and pads its data, so its original length says where the frame ends.
        let (interface, stamp, data) = match &typed {
            Block::InterfaceDescription(idb) => {
                if idb.linktype != DataLink::ETHERNET {
                    let index = parser.interfaces().len() - 1;
                    return Err(link_type_fault(idb.linktype, &format!("interface #{index} has ")));
                }
                continue;
            }
            Block::EnhancedPacket(epb) => {
                // pcap-file reads the raw units as nanoseconds; undo that, scale below.
                let units = u64::try_from(epb.timestamp.as_nanos()).unwrap_or(u64::MAX);
                (epb.interface_id, Stamp::Units(units), &epb.data)
            }
            Block::Packet(pb) => (u32::from(pb.interface_id), Stamp::Units(pb.timestamp), &pb.data),
            Block::SimplePacket(spb) => (0, Stamp::None(spb.original_len), &spb.data),
            _ => continue,
        };
        let clock =
            parser.interfaces().get(interface as usize).map(Clock::of).ok_or_else(|| {
                format!(
                    "packet #{number} (block #{block}) refers to interface #{interface}, but the \
                 section describes {}",
                    parser.interfaces().len()
                )
            })?;
        let (data, ts_ns) = match stamp {
            Stamp::Units(units) => (&data[..], clock.to_ns(units)),
            Stamp::None(original_len) => {
                let mut len = (original_len as usize).min(data.len());
                if clock.snaplen != 0 {
                    len = len.min(clock.snaplen as usize);
                }
                (&data[..len], frames.last().map_or(0, |f| f.ts_ns))
            }
        };
        frames.push(Frame { data: data.to_vec(), ts_ns });
    }
    Ok(frames)
}

/// Writes `frames` as a classic little-endian pcap file with Ethernet link type: microsecond
/// timestamps, or nanosecond ones if any frame needs them. The file is written to a temporary
/// file in the same directory and renamed over `path`, so a failure never leaves a partial
/// output; an unwritable path is a bad-input error naming it.
pub fn write_pcap(path: impl AsRef<Path>, frames: &[Frame]) -> anyhow::Result<()> {
    let path = path.as_ref();
    let fault =
        |e: &dyn std::fmt::Display| bad_input(format!("cannot write {}: {e}", path.display()));
    let dir = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let mut temp = tempfile::Builder::new()
        .prefix(".netlab-")
        .suffix(".pcap.part")
        .tempfile_in(dir)
        .map_err(|e| fault(&os_message(&e)))?;
    let needs_ns = frames.iter().any(|f| f.ts_ns % 1_000 != 0);
    let largest = frames.iter().map(|f| f.data.len()).max().unwrap_or(0);
    let header = PcapHeader {
        snaplen: WRITE_SNAPLEN.max(u32::try_from(largest).unwrap_or(u32::MAX)),
        datalink: DataLink::ETHERNET,
        ts_resolution: if needs_ns { TsResolution::NanoSecond } else { TsResolution::MicroSecond },
        endianness: Endianness::Little,
        ..PcapHeader::default()
    };
    {
        let mut writer = PcapWriter::with_header(BufWriter::new(temp.as_file_mut()), header)
            .map_err(|e| fault(&e))?;
        for (index, frame) in frames.iter().enumerate() {
            let len = u32::try_from(frame.data.len()).map_err(|_| {
                bad_input(format!("packet #{}: {} bytes is too long", index + 1, frame.data.len()))
            })?;
            let packet = PcapPacket::new(Duration::from_nanos(frame.ts_ns), len, &frame.data);
            writer.write_packet(&packet).map_err(|e| match e {
                PcapError::IoError(io) => fault(&os_message(&io)),
                other => bad_input(format!("packet #{}: {other}", index + 1)),
            })?;
        }
        writer.into_writer().flush().map_err(|e| fault(&os_message(&e)))?;
    }
    // tempfile creates 0600; a capture is an ordinary file. Keep an existing file's mode.
    let mode = fs::metadata(path)
        .map(|m| m.permissions())
        .unwrap_or_else(|_| std::os::unix::fs::PermissionsExt::from_mode(0o644));
    temp.as_file().set_permissions(mode).map_err(|e| fault(&os_message(&e)))?;
    temp.as_file().sync_all().map_err(|e| fault(&os_message(&e)))?;
    temp.persist(path).map_err(|e| fault(&os_message(&e.error)))?;
    Ok(())
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

    /// A classic pcap file assembled by hand, in either byte order and resolution.
    fn pcap(big_endian: bool, nanos: bool, link: u32, records: &[(u32, u32, &[u8])]) -> Vec<u8> {
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
        for (sec, frac, data) in records {
            out.extend(word(*sec));
            out.extend(word(*frac));
            out.extend(word(data.len() as u32));
            out.extend(word(data.len() as u32));
            out.extend(*data);
        }
        out
    }

    #[test]
    fn pcap_both_byte_orders_and_resolutions() {
        let (a, b) = (frame(1, 60), frame(7, 61));
        for big in [false, true] {
            let micro = pcap(big, false, 1, &[(3, 250_000, &a), (4, 1, &b)]);
            let frames = parse_capture(&micro).unwrap();
            assert_eq!(frames.len(), 2);
            assert_eq!(frames[0], Frame { data: a.clone(), ts_ns: 3_250_000_000 });
            assert_eq!(frames[1], Frame { data: b.clone(), ts_ns: 4_000_001_000 });

            let nano = pcap(big, true, 1, &[(3, 250_000, &a), (4, 1, &b)]);
            let frames = parse_capture(&nano).unwrap();
            assert_eq!(frames[0].ts_ns, 3_000_250_000);
            assert_eq!(frames[1].ts_ns, 4_000_000_001);
        }
    }

    #[test]
    fn pcap_faults_name_the_record() {
        let a = frame(1, 60);
        let good = pcap(false, false, 1, &[(0, 0, &a), (0, 0, &a), (0, 0, &a)]);
        let cut = &good[..good.len() - 10];
        assert_eq!(
            parse_capture(cut).unwrap_err(),
            "packet #3 is truncated: its record needs 76 bytes, 66 are left"
        );
        let cut = &good[..24 + 2 * 76 + 5];
        assert!(parse_capture(cut).unwrap_err().starts_with("packet #3 is truncated: 5 of 16"));
        assert!(parse_capture(&good[..10]).unwrap_err().starts_with("truncated pcap file header"));
        let sll = pcap(false, false, 113, &[(0, 0, &a)]);
        assert_eq!(
            parse_capture(&sll).unwrap_err(),
            "link type LINUX_SLL (113), only Ethernet (1) is supported"
        );
        assert_eq!(parse_capture(&pcap(true, true, 1, &[])).unwrap_err(), "contains no packets");
        assert!(parse_capture(b"").unwrap_err().starts_with("empty file"));
        assert!(parse_capture(b"hello, world").unwrap_err().starts_with("not a pcap or pcapng"));
        let bad_usec = pcap(false, false, 1, &[(0, 1_000_000, &a)]);
        assert!(parse_capture(&bad_usec).unwrap_err().starts_with("packet #1: timestamp"));
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

    fn epb(interface: u32, units: u64, data: &[u8]) -> Vec<u8> {
        let mut body = Vec::new();
        body.extend(interface.to_le_bytes());
        body.extend(((units >> 32) as u32).to_le_bytes());
        body.extend((units as u32).to_le_bytes());
        body.extend((data.len() as u32).to_le_bytes());
        body.extend((data.len() as u32).to_le_bytes());
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
        file.extend(epb(0, 1_500_000, &a)); // 1.5 s in µs
        file.extend(epb(1, 2_000_000_007, &b)); // 2.000000007 s in ns
        file.extend(block(5, &[0u8; 12])); // an interface statistics block: skipped
        file.extend(spb(&c)); // padded to 64: cut back to 63
        let frames = parse_capture(&file).unwrap();
        assert_eq!(
            frames,
            vec![
                Frame { data: a, ts_ns: 1_500_000_000 },
                Frame { data: b, ts_ns: 2_000_000_007 },
                Frame { data: c, ts_ns: 2_000_000_007 },
            ]
        );
    }

    #[test]
    fn pcapng_binary_resolution_and_snaplen_of_spb() {
        let mut file = shb();
        file.extend(idb(1, 40, Some(0x80 | 10))); // 2^-10 s units; snaplen 40
        file.extend(epb(0, 3 * 1024 + 512, &frame(1, 40)));
        file.extend(spb(&frame(2, 60))); // original length 60, snapped to 40 by the interface
        let frames = parse_capture(&file).unwrap();
        assert_eq!(frames[0].ts_ns, 3_500_000_000);
        assert_eq!(frames[1].data, frame(2, 40));
    }

    #[test]
    fn pcapng_faults() {
        let mut file = shb();
        file.extend(idb(1, 0, None));
        file.extend(idb(105, 0, None)); // 802.11
        file.extend(epb(0, 0, &frame(1, 60)));
        assert_eq!(
            parse_capture(&file).unwrap_err(),
            "interface #1 has link type IEEE802_11 (105), only Ethernet (1) is supported"
        );

        let mut file = shb();
        file.extend(idb(1, 0, None));
        file.extend(epb(0, 0, &frame(1, 60)));
        file.extend(epb(3, 0, &frame(1, 60)));
        assert_eq!(
            parse_capture(&file).unwrap_err(),
            "packet #2 (block #4) refers to interface #3, but the section describes 1"
        );

        let mut file = shb();
        file.extend(idb(1, 0, None));
        file.extend(epb(0, 0, &frame(1, 60)));
        file.extend(epb(0, 0, &frame(1, 60)));
        file.truncate(file.len() - 8);
        assert!(
            parse_capture(&file).unwrap_err().starts_with("block #4 is truncated"),
            "{}",
            parse_capture(&file).unwrap_err()
        );
        assert!(parse_capture(&file).unwrap_err().contains("packet #2"));

        let mut file = shb();
        file.extend(idb(1, 0, None));
        assert_eq!(parse_capture(&file).unwrap_err(), "contains no packets");
    }

    #[test]
    fn written_pcap_reads_back_and_is_little_endian_microseconds() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.pcap");
        let frames = vec![
            Frame { data: frame(1, 60), ts_ns: 0 },
            Frame { data: frame(2, 1514), ts_ns: 1_000_002_000 },
        ];
        write_pcap(&path, &frames).unwrap();
        let bytes = fs::read(&path).unwrap();
        assert_eq!(&bytes[..4], &[0xd4, 0xc3, 0xb2, 0xa1]);
        assert_eq!(read_frames(&path).unwrap(), frames);

        let precise = vec![Frame { data: frame(3, 60), ts_ns: 5 }];
        write_pcap(&path, &precise).unwrap();
        let bytes = fs::read(&path).unwrap();
        assert_eq!(&bytes[..4], &[0x4d, 0x3c, 0xb2, 0xa1], "nanosecond magic");
        assert_eq!(read_frames(&path).unwrap(), precise);
        // Only the output file is in the directory: the temporary file was renamed over it.
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
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
