//! `exec`: the user's own receiver program (run by `crate::receiver::exec`).

use super::{DropStage, Knob, KnobUse, ReceiveMethod, RecvConfig};
use crate::exit::bad_field;

/// The placeholders a command may use: `{iface}` (the receive interface) and `{core}` (the
/// receive core).
pub const PLACEHOLDERS: [&str; 2] = ["iface", "core"];

/// The `exec` method.
#[derive(Debug)]
pub struct Exec;

impl ReceiveMethod for Exec {
    fn name(&self) -> &'static str {
        "exec"
    }
    fn mechanism(&self) -> &'static str {
        "a user's own receiver (`command = \"./rx {iface}\"`): prints `READY`, then on SIGINT \
         `RESULT-RX n` and `RESULT-IP n` — see [the `exec` contract](docs/exec-receiver.md)"
    }
    fn source(&self) -> &'static str {
        "src/receiver/exec.rs"
    }
    fn knobs(&self) -> &'static [KnobUse] {
        &[KnobUse {
            knob: Knob::Command,
            sets: "the program's command line, `{iface}` and `{core}` filled in (required)",
        }]
    }
    /// A command that is there, splits like a shell would and uses only known placeholders.
    fn check(&self, config: &RecvConfig) -> anyhow::Result<()> {
        let field = Knob::Command.field();
        let Some(command) = &config.command else {
            return Err(bad_field(field, "method `exec` needs a command (e.g. \"./rx {iface}\")"));
        };
        let words = shlex::split(command)
            .ok_or_else(|| bad_field(field.clone(), format!("`{command}`: unbalanced quotes")))?;
        if words.is_empty() {
            return Err(bad_field(field, "the command is empty"));
        }
        for word in &words {
            let mut rest = word.as_str();
            while let Some(open) = rest.find('{') {
                let Some(close) = rest[open..].find('}') else { break };
                let name = &rest[open + 1..open + close];
                if !PLACEHOLDERS.contains(&name) {
                    let known: Vec<String> =
                        PLACEHOLDERS.iter().map(|p| format!("{{{p}}}")).collect();
                    return Err(bad_field(
                        field,
                        format!(
                            "`{command}`: unknown placeholder {{{name}}} (known: {})",
                            known.join(", ")
                        ),
                    ));
                }
                rest = &rest[open + close + 1..];
            }
        }
        Ok(())
    }
    fn open(
        &self,
        _: &str,
        _: &RecvConfig,
    ) -> Option<fastnet::Result<Box<dyn fastnet::rx::Receive>>> {
        None
    }
    fn drop_stage(&self) -> DropStage {
        DropStage::None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_use_known_placeholders_only() {
        let check = |c: &str| {
            Exec.check(&RecvConfig { command: Some(c.into()), ..RecvConfig::default() })
                .map_err(|e| e.to_string())
        };
        assert!(check("./rx {iface} core={core}").is_ok());
        let e = check("./rx {ifce}").unwrap_err();
        assert!(e.contains("unknown placeholder {ifce} (known: {iface}, {core})"), "{e}");
        assert!(check("./rx 'open").unwrap_err().contains("unbalanced quotes"));
        assert!(check("  ").unwrap_err().contains("empty"));
        assert!(Exec
            .check(&RecvConfig::default())
            .unwrap_err()
            .to_string()
            .contains("needs a command"));
    }
}
