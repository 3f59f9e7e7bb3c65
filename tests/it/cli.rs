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
    // What this kernel says of live frames, asked in the test's own namespace: doctor must
    // say the same; turned off, doctor must say so and still pass (the ring engine sends).
    let live = fastnet::bpf::probe_live_frames();
    for without in [None, Some("live-frames")] {
        let (stdout, pid) = doctor(without);
        assert!(!stdout.contains('✘'), "{stdout}");
        for check in [
            "threaded NAPI",
            "AF_XDP socket",
            "BPF program load (XDP)",
            "receive methods",
            "send engines",
        ] {
            assert!(stdout.contains(&format!("✔ {check}")), "{check} missing:\n{stdout}");
        }
        let line = stdout.lines().find(|l| l.contains("BPF_PROG_RUN live frames")).unwrap();
        match (without, &live) {
            (None, Ok(())) => {
                assert!(line.starts_with("✔"), "{line}");
                assert!(stdout.contains("✔ send engines                 xdp, ring"), "{stdout}");
            }
            (None, Err(e)) => {
                assert!(line.starts_with("–") && line.contains(&e.to_string()), "{line}\n{e}");
                assert!(stdout.contains("netlab sends with the ring engine instead"), "{line}");
            }
            (Some(_), _) => {
                assert!(line.starts_with("–"), "{line}");
                assert!(line.contains("FASTNET_WITHOUT lists `live-frames`"), "{line}");
                assert!(stdout.contains("✔ send engines                 ring, mmsg"), "{stdout}");
            }
        }
        let left: Vec<String> = fastnet::netns::NetNs::list_named()
            .unwrap()
            .into_iter()
            .filter(|n| n.starts_with("netlab-doctor-") && n.ends_with(&format!("-{pid}")))
            .collect();
        assert!(left.is_empty(), "{left:?}");
    }
}

/// `netlab doctor`'s output (it must exit 0) and its pid, with `FASTNET_WITHOUT` set or not.
fn doctor(without: Option<&str>) -> (String, u32) {
    use std::process::Stdio;
    let mut command = netlab();
    command.arg("doctor").stdout(Stdio::piped()).stderr(Stdio::piped());
    if let Some(features) = without {
        command.env(fastnet::caps::WITHOUT_VAR, features);
    }
    let child = command.spawn().unwrap();
    let pid = child.id();
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    (stdout, pid)
}
