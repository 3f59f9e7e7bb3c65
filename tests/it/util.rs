//! What every area's tests share: the binary under test and the shipped packet.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The `netlab` binary built for these tests.
pub fn netlab() -> Command {
    Command::new(env!("CARGO_BIN_EXE_netlab"))
}

/// The shipped one-packet capture (60-byte IPv4/UDP frame, 64 on the wire).
pub fn udp64() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("packets/udp64.pcap")
}
