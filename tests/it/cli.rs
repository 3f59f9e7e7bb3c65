//! The command line as a user meets it.

use std::process::Command;

fn netlab() -> Command {
    Command::new(env!("CARGO_BIN_EXE_netlab"))
}

#[test]
fn version_and_help_work() {
    let out = netlab().arg("--version").output().unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("netlab "));
    let out = netlab().arg("--help").output().unwrap();
    assert!(out.status.success());
}

#[test]
fn broken_pipe_exits_quietly() {
    use std::process::Stdio;
    let mut child = netlab()
        .args(["completions", "bash"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take()); // the reader goes away before netlab writes
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "stderr: {}", String::from_utf8_lossy(&out.stderr));
    assert!(!String::from_utf8_lossy(&out.stderr).contains("panicked"));
}
