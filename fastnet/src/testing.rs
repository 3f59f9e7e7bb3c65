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
    skipped(&format!("{test}: needs root (CAP_SYS_ADMIN, CAP_NET_ADMIN): {why}"));
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

/// Whether the kernel has what a test needs, from a probe's answer: `true` to run the test;
/// `false` after one line on stderr saying it was skipped and why (`SKIPPED test: this kernel
/// lacks …`). For features that kernels of this project differ on (live frames: refused by
/// policy on some 6.18 kernels, missing before 5.18): the fallback has its own tests, run
/// everywhere with the feature turned off ([`crate::caps::without`]). A probe failing for any
/// other reason than a missing feature fails the test.
pub fn kernel_has(test: &str, probe: crate::Result<()>) -> bool {
    match probe {
        Ok(()) => true,
        Err(e @ crate::Error::Unsupported { .. }) => {
            skipped(&format!("{test}: this kernel lacks what it needs: {e}"));
            false
        }
        Err(e) => panic!("{test}: the kernel probe failed: {e}"),
    }
}

/// Says on the process's stderr that a test was skipped: written to the stream itself, not
/// through `eprintln!`, which the test harness captures and shows only for a failed test.
fn skipped(what: &str) {
    use std::io::Write as _;
    let _ = writeln!(std::io::stderr(), "SKIPPED {what}");
}
