//! The command line as a user meets it.

use super::util::netlab;

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

#[test]
fn doctor_passes_every_check_and_leaves_nothing_behind() {
    // doctor builds its own throwaway labs; it needs root like any privileged test.
    let Some(_ns) = fastnet::testing::privileged("doctor_passes_every_check") else { return };
    use std::process::Stdio;
    let child =
        netlab().arg("doctor").stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let pid = child.id();
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(!stdout.contains('✘'), "{stdout}");
    for check in [
        "threaded NAPI",
        "AF_XDP socket",
        "BPF_PROG_RUN live frames",
        "receive methods",
        "send engines",
    ] {
        assert!(stdout.contains(&format!("✔ {check}")), "{check} missing:\n{stdout}");
    }
    let left: Vec<String> = fastnet::netns::NetNs::list_named()
        .unwrap()
        .into_iter()
        .filter(|n| n.starts_with("netlab-doctor-") && n.ends_with(&format!("-{pid}")))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}
