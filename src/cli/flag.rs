//! Errors about an input field ([`crate::exit::Field`]) in the words of the command line:
//! `--batch: …`. Only subcommands whose fields are flags render them this way.

use crate::exit::{render_field, Field};

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
