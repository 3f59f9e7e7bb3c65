//! MAC addresses: strict parsing and lowercase display (the MAC of an interface is a link
//! fact: `crate::topology::interface::mac`).

use std::fmt;

use macaddr::MacAddr6;

use crate::exit::bad_input;

/// Parses a MAC address strictly: six two-digit hex octets separated by `:` or `-` (one
/// separator throughout), e.g. `02:00:00:00:00:01` or `02-00-00-00-00-01`. Anything else —
/// five octets, single digits, `garbage`, `zz:…` — is a bad-input error naming `what` (the flag
/// or TOML key), never a silent zero address as tcpreplay writes.
pub fn parse_mac(text: &str, what: &str) -> anyhow::Result<MacAddr6> {
    strict_mac(text).ok_or_else(|| {
        bad_input(format!(
            "{what}: `{text}` is not a MAC address (expected six two-digit hex octets separated \
             by `:` or `-`, e.g. 02:00:00:00:00:01)"
        ))
    })
}

fn strict_mac(text: &str) -> Option<MacAddr6> {
    let separator = match text.as_bytes().get(2)? {
        b':' => ':',
        b'-' => '-',
        _ => return None,
    };
    let mut octets = [0u8; 6];
    let mut parts = text.split(separator);
    for octet in &mut octets {
        let part = parts.next()?;
        if part.len() != 2 || !part.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        *octet = u8::from_str_radix(part, 16).ok()?;
    }
    match parts.next() {
        Some(_) => None,
        None => Some(MacAddr6::from(octets)),
    }
}

/// Displays a MAC address the way tcpdump and `ip link` do: lowercase, colon-separated
/// (`macaddr` itself prints uppercase). `format!("{}", Mac(addr))`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mac(pub MacAddr6);

impl fmt::Display for Mac {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [a, b, c, d, e, g] = self.0.into_array();
        write!(f, "{a:02x}:{b:02x}:{c:02x}:{d:02x}:{e:02x}:{g:02x}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_colon_and_hyphen_forms() {
        let want = MacAddr6::new(0x02, 0, 0, 0, 0, 0x01);
        assert_eq!(parse_mac("02:00:00:00:00:01", "src_mac").unwrap(), want);
        assert_eq!(parse_mac("02-00-00-00-00-01", "src_mac").unwrap(), want);
        let mixed = parse_mac("aA:Bb:cC:dd:EE:ff", "x").unwrap();
        assert_eq!(mixed.into_array(), [0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff]);
    }

    #[test]
    fn rejects_everything_else_naming_the_flag() {
        for bad in [
            "02:00:00:00:00",       // five octets
            "02:00:00:00:00:01:02", // seven
            "garbage",
            "zz:00:00:00:00:01",
            "2:0:0:0:0:1",
            "02:00-00:00:00:01", // mixed separators
            "0200.0000.0001",
            "020000000001",
            "02:00:00:00:00:01 ",
            "+2:00:00:00:00:01",
            "",
        ] {
            let err = parse_mac(bad, "dst_mac").unwrap_err();
            let text = format!("{err:#}");
            assert!(text.starts_with("dst_mac: "), "{bad:?} → {text}");
            assert!(text.contains(bad), "{text}");
            assert_eq!(crate::exit::code_for(&err), crate::exit::Code::BadInput);
        }
    }

    #[test]
    fn displays_lowercase() {
        let mac = MacAddr6::new(0xab, 0x0d, 0xef, 0x12, 0x34, 0x56);
        assert_eq!(Mac(mac).to_string(), "ab:0d:ef:12:34:56");
    }
}
