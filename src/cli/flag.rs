//! Errors about an input field ([`crate::exit::Field`]) in the words of the command line:
//! `--batch: …`. Only subcommands whose fields are flags render them this way.

use crate::exit::{render_field, Field};

/// The flag that sets `field` (`--batch`, `--write-count`).
pub(super) fn flag(field: &Field) -> String {
    format!("--{}", field.key.replace('_', "-"))
}

/// `err` with a field error rendered as its flag.
pub(super) fn in_flags(err: anyhow::Error) -> anyhow::Error {
    render_field(err, |field, message| format!("{}: {message}", flag(field)))
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
        let plain = in_flags(anyhow::anyhow!("not a field"));
        assert_eq!(format!("{plain:#}"), "not a field");
    }
}
