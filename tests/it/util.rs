//! What every area's tests share: the binary under test, the shipped packet, and reading what
//! a run wrote.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The `netlab` binary built for these tests.
pub fn netlab() -> Command {
    Command::new(env!("CARGO_BIN_EXE_netlab"))
}

/// What netlab says of an interface this process's network namespace lacks (`no interface
/// named `X` in … (there are: …)`): the names there are depend on the machine.
pub fn not_here(iface: &str) -> String {
    let missing = netlab::topology::interface::find(None, iface).unwrap().unwrap_err();
    let text = missing.to_string();
    assert!(text.starts_with(&format!("no interface named `{iface}` in ")), "{text}");
    assert!(text.contains(" (there are: ") && text.contains("lo"), "{text}");
    text
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
