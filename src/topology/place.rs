//! Putting the calling thread where a lab's work runs: into a named network namespace, pinned to
//! one core — what the generator's and every receiver's thread do first, with one reading of
//! what went wrong.

use crate::exit::{bad_field, privilege, Field, Section};

/// Enters the named network namespace `netns` (when given) and pins the calling thread to
/// `core` (when given). A name or core that cannot be is an error about the `netns` or `core`
/// field of `section`; entering without the privilege is a privilege error.
pub fn enter(netns: Option<&str>, core: Option<usize>, section: Section) -> anyhow::Result<()> {
    if let Some(name) = netns {
        let ns = fastnet::netns::NetNs::open_named(name).map_err(|e| match e {
            fastnet::Error::InvalidConfig { why, .. } => {
                bad_field(Field::new(section, "netns").with_value(name), why)
            }
            other => anyhow::Error::new(other).context(format!("cannot open namespace `{name}`")),
        })?;
        ns.enter().map_err(|e| match e.raw_os_error() {
            Some(libc::EPERM) => privilege(format!(
                "cannot enter namespace `{name}`: {e}: entering a network namespace needs root \
                 (CAP_SYS_ADMIN): run with sudo"
            )),
            _ => anyhow::Error::new(e).context(format!("cannot enter namespace `{name}`")),
        })?;
    }
    if let Some(core) = core {
        fastnet::cpu::pin_current_thread(core).map_err(|e| match e {
            fastnet::Error::InvalidConfig { why, .. } => {
                bad_field(Field::new(section, "core").with_value(core), why)
            }
            other => anyhow::Error::new(other).context(format!("cannot pin to core {core}")),
        })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_core_that_does_not_exist_is_about_the_core_field() {
        let err = std::thread::spawn(|| enter(None, Some(100_000), Section::Receiver))
            .join()
            .unwrap()
            .unwrap_err();
        let c = crate::exit::field_of(&err).expect("a field error");
        assert_eq!(c.field.as_ref().unwrap().key, "core");
        assert_eq!(crate::exit::code_for(&err), crate::exit::Code::BadInput);
    }

    #[test]
    fn a_bad_namespace_name_is_about_the_netns_field() {
        let err = enter(Some("no/such"), None, Section::Generator).unwrap_err();
        assert_eq!(crate::exit::field_of(&err).unwrap().field.as_ref().unwrap().key, "netns");
    }
}
