//! The knobs of one receiver, and the check every method's knobs pass before anything opens.

use std::path::PathBuf;
use std::time::Duration;

use fastnet::bpf::XdpMode;
use fastnet::xdp::BindMode;

use super::{Knob, Method};
use crate::exit::bad_field;

/// What a receiver does when no frame is there — the one choice the scenario's `wait`,
/// `netlab recv --wait` and the methods share (each method's descriptor says what busy
/// waiting is there).
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    serde::Serialize,
    serde::Deserialize,
    clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum Wait {
    /// Sleep in poll(2) until frames arrive.
    #[default]
    Poll,
    /// Spin on the socket or ring: lowest latency, one core at 100 %.
    Busy,
}

impl From<Wait> for fastnet::rx::Wait {
    fn from(wait: Wait) -> Self {
        match wait {
            Wait::Poll => fastnet::rx::Wait::Poll,
            Wait::Busy => fastnet::rx::Wait::Busy,
        }
    }
}

/// Where a receiver saves what it got (see `crate::receiver::record`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct WriteTo {
    /// The capture file, replaced when the receiver stops.
    pub path: PathBuf,
    /// Keep only the first this many frames.
    pub count: Option<u64>,
}

/// The knobs every method takes (each method's descriptor says what it makes of them).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RecvConfig {
    /// Buffer bytes: socket receive buffer, pcap ring, packet ring, or UMEM.
    pub buffer: Option<u64>,
    /// Frames per batch (`recvmmsg` vector, AF_XDP ring pass).
    pub batch: Option<usize>,
    /// Ring entries (AF_XDP fill and rx rings).
    pub frames: Option<usize>,
    /// Sleep or spin when idle.
    pub wait: Wait,
    /// How long frames may gather in the ring between drains (AF_XDP).
    pub max_delay: Option<Duration>,
    /// `xdp_mode`: where the XDP program must run; `None` (`auto`): native where the driver
    /// has it, else generic.
    #[serde(default)]
    pub xdp_mode: Option<XdpMode>,
    /// `zero_copy`: how the AF_XDP socket must bind; `None` (`auto`): zero-copy where the
    /// driver offers it, else copy.
    #[serde(default)]
    pub zero_copy: Option<BindMode>,
    /// `exec` only: the command line of the user's receiver.
    pub command: Option<String>,
    /// Save what was received to a capture file.
    pub write: Option<WriteTo>,
}

impl RecvConfig {
    /// The knobs that are set.
    fn set(&self) -> impl Iterator<Item = Knob> + '_ {
        [
            (Knob::Buffer, self.buffer.is_some()),
            (Knob::Batch, self.batch.is_some()),
            (Knob::Frames, self.frames.is_some()),
            (Knob::BusyWait, self.wait == Wait::Busy),
            (Knob::MaxDelay, self.max_delay.is_some()),
            (Knob::XdpMode, self.xdp_mode.is_some()),
            (Knob::ZeroCopy, self.zero_copy.is_some()),
            (Knob::Write, self.write.is_some()),
            (Knob::Command, self.command.is_some()),
        ]
        .into_iter()
        .filter_map(|(knob, set)| set.then_some(knob))
    }

    /// Everything `method` would refuse, before it opens: knobs it does not take, values past
    /// its limits, a buffer larger than the memory available. Errors are about the knob's
    /// field ([`crate::exit::Field`]); the edge that read the knobs names it.
    pub fn validate(&self, method: Method) -> anyhow::Result<()> {
        if let Some(knob) = self.set().find(|knob| !knob.used_by(method)) {
            return Err(bad_field(
                knob.field(),
                format!(
                    "{}does not apply to method `{method}` (used by: {})",
                    if knob == Knob::BusyWait { "\"busy\" " } else { "" },
                    knob.users().join(", ")
                ),
            ));
        }
        if self.batch == Some(0) {
            return Err(bad_field(Knob::Batch.field(), "a batch holds at least one frame"));
        }
        if let Some(bytes) = self.buffer {
            let min = method.descriptor().min_buffer();
            if bytes < min {
                return Err(bad_field(
                    Knob::Buffer.field(),
                    format!(
                        "{bytes} B is too small for one frame with method `{method}` (at least \
                         {min} B)"
                    ),
                ));
            }
            if let Some(available) = memory_available() {
                if bytes > available {
                    return Err(bad_field(
                        Knob::Buffer.field(),
                        format!("{bytes} B is more than the memory available ({available} B)"),
                    ));
                }
            }
        }
        method.descriptor().check(self)
    }
}

/// The values `xdp_mode` takes.
pub const XDP_MODES: [&str; 3] = ["auto", "native", "generic"];

/// The values `zero_copy` takes.
pub const ZERO_COPY: [&str; 3] = ["auto", "required", "off"];

/// Reads an `xdp_mode` value: `auto` (`None`), `native` or `generic`.
pub fn parse_xdp_mode(text: &str) -> Result<Option<XdpMode>, String> {
    match text {
        "auto" => Ok(None),
        "native" => Ok(Some(XdpMode::Native)),
        "generic" => Ok(Some(XdpMode::Generic)),
        _ => Err(not_one_of(text, &XDP_MODES)),
    }
}

/// Reads a `zero_copy` value: `auto` (`None`), `required` (zero-copy) or `off` (copy).
pub fn parse_zero_copy(text: &str) -> Result<Option<BindMode>, String> {
    match text {
        "auto" => Ok(None),
        "required" => Ok(Some(BindMode::ZeroCopy)),
        "off" => Ok(Some(BindMode::Copy)),
        _ => Err(not_one_of(text, &ZERO_COPY)),
    }
}

fn not_one_of(text: &str, valid: &[&str]) -> String {
    let suggestion = crate::location::closest(text, valid.iter().copied())
        .map(|s| format!("; did you mean \"{s}\"?"))
        .unwrap_or_default();
    format!(
        "\"{text}\" is not one of {}{suggestion}",
        valid.iter().map(|v| format!("\"{v}\"")).collect::<Vec<_>>().join(", ")
    )
}

/// `MemAvailable` from `/proc/meminfo`, in bytes.
fn memory_available() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let kib = text.lines().find_map(|l| l.strip_prefix("MemAvailable:"))?;
    kib.trim().trim_end_matches("kB").trim().parse::<u64>().ok().map(|k| k * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xdp_mode_and_zero_copy_read_their_words_and_suggest_the_nearest() {
        assert_eq!(parse_xdp_mode("auto"), Ok(None));
        assert_eq!(parse_xdp_mode("native"), Ok(Some(XdpMode::Native)));
        assert_eq!(parse_xdp_mode("generic"), Ok(Some(XdpMode::Generic)));
        assert_eq!(parse_zero_copy("auto"), Ok(None));
        assert_eq!(parse_zero_copy("required"), Ok(Some(BindMode::ZeroCopy)));
        assert_eq!(parse_zero_copy("off"), Ok(Some(BindMode::Copy)));
        let e = parse_xdp_mode("nativ").unwrap_err();
        assert_eq!(
            e,
            "\"nativ\" is not one of \"auto\", \"native\", \"generic\"; did you mean \"native\"?"
        );
        let e = parse_zero_copy("on").unwrap_err();
        assert!(e.starts_with("\"on\" is not one of \"auto\", \"required\", \"off\""), "{e}");
        // Every word a value takes reads back, and auto is the default (no knob set).
        for word in XDP_MODES {
            assert!(parse_xdp_mode(word).is_ok());
        }
        for word in ZERO_COPY {
            assert!(parse_zero_copy(word).is_ok());
        }
        let config = RecvConfig::default();
        assert_eq!((config.xdp_mode, config.zero_copy), (None, None));
        assert_eq!(config.set().count(), 0);
    }
}
