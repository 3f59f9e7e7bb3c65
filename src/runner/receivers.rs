//! The scenario's `[[receiver]]` tables as receiver configurations, checked before anything is
//! built: every knob against its method's limits (the method's descriptor, as `netlab recv`
//! checks them) and `exec` programs that cannot be started.
//!
//! An `exec` command's program is looked up like a shell would (`PATH` for a bare name); a
//! relative path (`./rx`, `bin/rx`) is read from the scenario file's directory, as
//! `packet.file` is, so a scenario runs the same from any working directory.

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

use crate::exit::bad_input;
use crate::method::Knob;
use crate::receiver::RecvConfig;
use crate::scenario::{ReceiverSpec, Scenario};

/// One configuration per receiver of `scenario`, in file order; the first problem is a
/// bad-input error `FILE:LINE:COLUMN: receiver[i]: …` pointing at that receiver's table.
pub fn configs(scenario: &Scenario) -> anyhow::Result<Vec<RecvConfig>> {
    scenario
        .receivers
        .iter()
        .enumerate()
        .map(|(i, r)| {
            // The knobs first: a command with an unknown placeholder is refused as such before
            // its program is looked for.
            let knobs = RecvConfig { command: r.command.clone(), ..config(r, None) };
            knobs.validate(r.method).map_err(|e| scenario.locate(e, i))?;
            let command = match &r.command {
                Some(command) => Some(resolve_command(command, scenario.dir()).map_err(|e| {
                    let field = Knob::Command.field();
                    bad_input(scenario.field_error(&field, i, format!("{e:#}")).to_string())
                })?),
                None => None,
            };
            Ok(config(r, command))
        })
        .collect()
}

fn config(r: &ReceiverSpec, command: Option<String>) -> RecvConfig {
    RecvConfig {
        buffer: r.buffer,
        batch: r.batch.map(|b| b as usize),
        frames: r.frames.map(|f| f as usize),
        wait: r.wait.unwrap_or_default(),
        max_delay: r.max_delay,
        xdp_mode: r.xdp_mode,
        zero_copy: r.zero_copy,
        command,
        write: r.write.clone().map(|path| crate::receiver::record::WriteTo { path, count: None }),
    }
}

/// The command with its program made absolute (relative paths from `dir`), after checking it
/// exists and is executable.
fn resolve_command(command: &str, dir: &Path) -> anyhow::Result<String> {
    let mut words = shlex::split(command)
        .ok_or_else(|| bad_input(format!("command `{command}`: unbalanced quotes")))?;
    let program = words.first().ok_or_else(|| bad_input("the command is empty"))?.clone();
    let found: PathBuf = if program.contains('/') {
        let path = Path::new(&program);
        let path = if path.is_absolute() { path.to_path_buf() } else { dir.join(path) };
        if !path.is_file() {
            return Err(bad_input(format!(
                "command `{command}`: program {} not found{}",
                path.display(),
                if Path::new(&program).is_absolute() {
                    String::new()
                } else {
                    " (relative paths are read from the scenario's directory)".to_string()
                }
            )));
        }
        path
    } else {
        let path = std::env::var_os("PATH").unwrap_or_default();
        std::env::split_paths(&path).map(|d| d.join(&program)).find(|p| p.is_file()).ok_or_else(
            || bad_input(format!("command `{command}`: program `{program}` not found in PATH")),
        )?
    };
    let executable = std::fs::metadata(&found).is_ok_and(|m| m.permissions().mode() & 0o111 != 0);
    if !executable {
        return Err(bad_input(format!(
            "command `{command}`: {} is not executable (chmod +x)",
            found.display()
        )));
    }
    let absolute = std::path::absolute(&found).unwrap_or(found);
    words[0] = absolute.to_string_lossy().into_owned();
    shlex::try_join(words.iter().map(String::as_str))
        .map_err(|e| bad_input(format!("command `{command}`: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_are_resolved_from_the_scenario_directory() {
        let dir = tempfile::tempdir().unwrap();
        let rx = dir.path().join("rx");
        std::fs::write(&rx, "#!/bin/sh\n").unwrap();
        let err = resolve_command("./rx {iface}", dir.path()).unwrap_err();
        assert!(format!("{err:#}").contains("not executable"), "{err:#}");
        std::fs::set_permissions(&rx, std::fs::Permissions::from_mode(0o755)).unwrap();
        let resolved = resolve_command("./rx {iface} 'a b'", dir.path()).unwrap();
        let words = shlex::split(&resolved).unwrap();
        assert!(Path::new(&words[0]).is_absolute());
        assert!(words[0].ends_with("/rx"));
        assert_eq!(&words[1..], ["{iface}", "a b"]);
        let err = resolve_command("./missing", dir.path()).unwrap_err();
        assert!(format!("{err:#}").contains("not found"), "{err:#}");
        let err = resolve_command("no-such-program-netlab", dir.path()).unwrap_err();
        assert!(format!("{err:#}").contains("not found in PATH"), "{err:#}");
        assert!(resolve_command("sh -c true", dir.path()).unwrap().contains("/sh"));
    }
}
