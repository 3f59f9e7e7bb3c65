//! Support for privileged tests (namespaces, veth, XDP), shared by this crate's tests and
//! netlab's.
//!
//! A privileged test calls [`privileged`] first. Without root it is skipped with a line on
//! stderr — except under CI (`CI=true`), where a privileged test that cannot run fails.

use crate::netns::NetNsGuard;

/// Gives the calling test thread a throwaway network namespace, or `None` (with a note on
/// stderr) when the test cannot run here. Panics under `CI=true` instead of returning `None`.
pub fn privileged(test: &str) -> Option<NetNsGuard> {
    let why = match NetNsGuard::new() {
        Ok(guard) => return Some(guard),
        Err(e) => e.to_string(),
    };
    if std::env::var("CI").is_ok_and(|v| v == "true" || v == "1") {
        panic!("{test}: privileged test cannot run under CI: {why}");
    }
    eprintln!("SKIPPED {test}: needs root (CAP_SYS_ADMIN, CAP_NET_ADMIN): {why}");
    None
}

/// Runs a command (inside the calling thread's namespace) and panics with its output when it
/// fails. For test set-up with iproute2, e.g. `sh("ip link add a type veth peer name b")`.
pub fn sh(command: &str) -> String {
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(command)
        .output()
        .unwrap_or_else(|e| panic!("cannot run `{command}`: {e}"));
    assert!(
        out.status.success(),
        "`{command}` failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}
