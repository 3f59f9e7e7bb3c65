//! What more than one command's flags share: errors about an input field
//! ([`crate::exit::Field`]) in the words of the command line (`--batch: …`; only subcommands
//! whose fields are flags render them this way), the MAC flags ([`MacFlags`]) and the check of
//! the interface a command works on (`-i IFACE`, `--netns NAME`).

use anyhow::Context as _;
use fastnet::netns::NetNs;

use crate::exit::{bad_input, render_field, Field};
use crate::topology::interface::{self, Interface};
use crate::topology::plan::NETNS_PREFIX;

/// The flag that sets `field` (`--batch`, `--write-count`), with the value given when the
/// error is about it (`--size 63`).
pub(super) fn flag(field: &Field) -> String {
    let flag = format!("--{}", field.key.replace('_', "-"));
    match &field.value {
        Some(value) => format!("{flag} {value}"),
        None => flag,
    }
}

/// `err` with a field error rendered as its flag.
pub(super) fn in_flags(err: anyhow::Error) -> anyhow::Error {
    render_field(err, |c| {
        let field = c.field.as_ref().map(flag).unwrap_or_default();
        let unless =
            c.unless.as_ref().map(|u| format!(", or pass {}", flag(u))).unwrap_or_default();
        format!("{field}: {}{unless}", c.message)
    })
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
    pub(super) fn resolve(
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
        (Some(text), _) => crate::packet::parse_mac(text, flag).map(Some),
        (None, Some(iface)) => {
            interface::mac(netns, iface).map(Some).with_context(|| format!("{of_flag} {iface}"))
        }
        (None, None) => Ok(None),
    }
}

/// Before anything starts: namespace `--netns` exists, `-i IFACE` exists in it and (with
/// `require_up`) is up. Each failure is one line naming the flag, the namespace and, when a
/// netlab lab is the likely meaning, the `--netns` to add.
pub(super) fn interface(
    iface: &str,
    netns: Option<&str>,
    require_up: bool,
) -> anyhow::Result<Interface> {
    if let Some(ns) = netns {
        if !NetNs::exists(ns) {
            let lab_ns = format!("{NETNS_PREFIX}{ns}");
            let hint = if NetNs::exists(&lab_ns) {
                format!("; did you mean --netns {lab_ns} (lab `{ns}`)?")
            } else {
                " (`ip netns list` shows them)".to_string()
            };
            return Err(bad_input(format!(
                "--netns {ns}: no network namespace named `{ns}`{hint}"
            )));
        }
    }
    match interface::find(netns, iface)? {
        Err(missing) => {
            let labs: Vec<String> = interface::labs_with(iface)
                .into_iter()
                .filter(|r| Some(r.netns.as_str()) != netns)
                .map(|r| format!("--netns {} (lab `{}`)", r.netns, r.name))
                .collect();
            let hint = match labs.as_slice() {
                [] if netns.is_none() => "; no --netns given".to_string(),
                [] => String::new(),
                [one] => format!("; did you mean {one}?"),
                more => format!("; did you mean one of {}?", more.join(", ")),
            };
            Err(bad_input(format!("-i {iface}: {missing}{hint}")))
        }
        Ok(found) if !found.up() && require_up => Err(bad_input(format!(
            "-i {iface}: {}, so nothing would arrive, or pass --force",
            found.down()
        ))),
        Ok(found) => Ok(found),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exit::{bad_field, code_for, Code, Section};

    #[test]
    fn a_field_error_names_the_flag_and_keeps_its_exit_code() {
        let err =
            bad_field(Field::new(Section::Generator, "batch"), "at most 4096 frames per call")
                .context("replay");
        let rendered = in_flags(err);
        assert_eq!(format!("{rendered:#}"), "replay: --batch: at most 4096 frames per call");
        assert_eq!(code_for(&rendered), Code::BadInput);
        let forced = crate::exit::field_error(
            Code::BadInput,
            Field::new(Section::Generator, "interface"),
            "interface `gen0` is down",
            Some(Field::new(Section::Generator, "force")),
        );
        assert_eq!(
            format!("{:#}", in_flags(forced)),
            "--interface: interface `gen0` is down, or pass --force"
        );
        let plain = in_flags(anyhow::anyhow!("not a field"));
        assert_eq!(format!("{plain:#}"), "not a field");
    }
}
