//! `[packet]`: the pcap file (it must exist) and `macs`.

use std::path::Path;

use macaddr::MacAddr6;
use toml::Spanned;

use crate::scenario::locate::Source;
use crate::scenario::schema::{RawMacs, RawPacket};
use crate::scenario::{Macs, PacketSpec, ScenarioError};

/// `[packet]`, its file resolved against `dir`, the scenario file's directory.
pub(super) fn packet(
    source: &Source<'_>,
    dir: &Path,
    raw: RawPacket,
) -> Result<PacketSpec, ScenarioError> {
    let file = raw.file.get_ref();
    let resolved = dir.join(file);
    if file.is_empty() || !resolved.is_file() {
        let how = if Path::new(file).is_absolute() {
            String::new()
        } else {
            format!(
                " (relative paths are read from the scenario's directory: {})",
                resolved.display()
            )
        };
        return Err(
            source.error(Some(raw.file.span()), format!("packet file `{file}` not found{how}"))
        );
    }
    let macs = match raw.macs {
        None => Macs::Auto,
        Some(spanned) => macs(source, spanned)?,
    };
    Ok(PacketSpec { file: resolved, macs })
}

/// `packet.macs`: `"auto"`, `"keep"` or `{ src = "…", dst = "…" }`.
fn macs(source: &Source<'_>, spanned: Spanned<RawMacs>) -> Result<Macs, ScenarioError> {
    let span = spanned.span();
    match spanned.into_inner() {
        RawMacs::Word(w) if w == "auto" => Ok(Macs::Auto),
        RawMacs::Word(w) if w == "keep" => Ok(Macs::Keep),
        RawMacs::Word(w) => Err(source.error(
            Some(span),
            format!(
                "`{w}` is not a MAC mode: \"auto\", \"keep\" or {{ src = \"…\", dst = \"…\" }}"
            ),
        )),
        RawMacs::Set(pair) => {
            if pair.src.is_none() && pair.dst.is_none() {
                return Err(source.error(Some(span), "give `src`, `dst` or both"));
            }
            let src = mac(source, pair.src.as_deref(), "src")?;
            if src.is_some_and(|m| m.as_bytes()[0] & 1 == 1) {
                return Err(source.error_at_key(
                    &["packet", "macs", "src"],
                    "a source MAC must not be multicast or broadcast (first octet odd)",
                ));
            }
            Ok(Macs::Set { src, dst: mac(source, pair.dst.as_deref(), "dst")? })
        }
    }
}

/// `packet.macs.src` or `.dst` (`key`), if given.
fn mac(
    source: &Source<'_>,
    text: Option<&str>,
    key: &str,
) -> Result<Option<MacAddr6>, ScenarioError> {
    text.map(|t| {
        crate::packet::mac::parse_mac(t, key).map_err(|e| {
            let text = format!("{e:#}");
            let text = text.strip_prefix(&format!("{key}: ")).unwrap_or(&text);
            source.error_at_key(&["packet", "macs", key], text)
        })
    })
    .transpose()
}
