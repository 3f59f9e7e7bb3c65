//! What every area's tests share: the binary under test, the shipped packet, and reading what
//! a run wrote.

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

/// A command's output as text.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The one results directory under `base`.
pub fn results_dir(base: &Path) -> PathBuf {
    let dirs: Vec<PathBuf> = std::fs::read_dir(base)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    assert_eq!(dirs.len(), 1, "one results directory expected: {dirs:?}");
    dirs.into_iter().next().unwrap()
}

/// A JSON file (`results.json`, `manifest.json`).
pub fn json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}
