//! The class's VM: a QEMU guest running Debian 12's own 6.1 kernel with an e1000 (VirtualBox's
//! default adapter) and a virtio-net NIC, each on a tap in a network namespace of the test's
//! own; in the guest, netlab receives on each NIC with every method the course compares while
//! netlab replays into the tap on the host, then `netlab doctor` and `netlab run
//! labs/mode3.toml` run there.
//!
//! Its own test binary, not a module of `it`: cargo runs test binaries one after the other, so
//! the guest (TCG, both cores busy for minutes) never shares the machine with `it`'s timed
//! tests, and `cargo test --test vm` runs it alone. It boots one guest and runs every check in
//! that guest's one session; each check that fails is listed at the end, all of them at once.
//!
//! Prerequisites (`scripts/deps` installs them): QEMU, and in a cache directory
//! (`$NETLAB_VM_CACHE`, else `$XDG_CACHE_HOME/netlab/vm`, else `~/.cache/netlab/vm`) Debian's
//! `linux-image-6.1.0-*-amd64` unpacked under `kernel/` and virtme-ng in `venv/`. Without them,
//! or without root, the test is skipped with a line — under `CI=true` it fails instead.

mod guest;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use fastnet::testing::{privileged, sh};
use guest::{Guest, Nic, Prerequisites};

/// Frames the host sends for each receive, and how fast: what a TCG guest takes without loss.
const FRAMES: u64 = 5_000;
const PPS: u64 = 2_000;
/// The receive methods the course compares, in the order the guest runs them.
const METHODS: [&str; 4] = ["pcap", "socket", "xdp-drop", "fastnet:3"];
/// A receive in the guest that has not counted `FRAMES` by then is interrupted (SIGINT: it
/// prints what it counted and exits 130).
const RECV_LIMIT_S: u64 = 90;

fn netlab_exe() -> &'static str {
    env!("CARGO_BIN_EXE_netlab")
}

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The guest's NICs: where each one's XDP runs is part of what the test checks.
fn nics() -> [(Nic, &'static str); 2] {
    let nic = |name, device, module, i: u8| Nic {
        name,
        device,
        module,
        tap: format!("vmtap{i}"),
        mac: format!("52:54:00:6e:00:{:02x}", i + 1),
    };
    [
        (nic("e1000", "e1000", "e1000", 0), "generic"),
        (nic("virtio-net", "virtio-net-pci", "virtio_net", 1), "native"),
    ]
}

/// A method's flags beyond the defaults: the socket's buffer holds every frame sent (a TCG
/// guest's receiver can stall for longer than the default 208 KiB lasts at `PPS`; the mode
/// labs give it 8 MiB too).
fn knobs(method: &str) -> &'static str {
    match method {
        "socket" => "--buffer 8MiB ",
        _ => "",
    }
}

/// The file names of one receive's outputs in the shared directory.
fn step_name(nic: &Nic, method: &str) -> String {
    format!("{}-{}", nic.name, method.replace(':', ""))
}

/// The script the guest runs: IPv6 off (a socket sees the guest's own outgoing frames too),
/// bring the NICs up (found by MAC), then each receive in turn
/// (`STEP.json`, `STEP.err`, `STEP.status`), then doctor, then the mode3 lab.
fn guest_script(dir: &Path, nics: &[Nic]) -> String {
    let mut s = format!(
        "export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n\
         dir={dir}\nnetlab={netlab}\n\
         iface_of() {{ for d in /sys/class/net/*; do \
           [ \"$(cat \"$d/address\")\" = \"$1\" ] && echo \"${{d##*/}}\"; done; }}\n\
         ip link set lo up\n\
         sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1\n",
        dir = dir.display(),
        netlab = netlab_exe(),
    );
    for (i, nic) in nics.iter().enumerate() {
        s.push_str(&format!(
            "modprobe {module} || {{ echo 'modprobe {module} failed' >\"$dir/setup\"; exit 1; }}\n\
             for _ in $(seq 200); do nic{i}=$(iface_of {mac}); [ -n \"$nic{i}\" ] && break; \
               sleep 0.1; done\n\
             [ -n \"$nic{i}\" ] || {{ echo 'no interface with MAC {mac}' >\"$dir/setup\"; exit 1; }}\n\
             ip link set \"$nic{i}\" up\n\
             for _ in $(seq 200); do [ \"$(cat /sys/class/net/$nic{i}/operstate)\" = up ] && \
               break; sleep 0.1; done\n",
            module = nic.module,
            mac = nic.mac,
        ));
    }
    let names: Vec<String> = (0..nics.len()).map(|i| format!("{}=$nic{i}", nics[i].name)).collect();
    s.push_str(&format!("echo \"ok {}\" >\"$dir/setup\"\n", names.join(" ")));
    for (i, nic) in nics.iter().enumerate() {
        for method in METHODS {
            let step = step_name(nic, method);
            let knobs = knobs(method);
            s.push_str(&format!(
                "timeout -s INT -k 10 {RECV_LIMIT_S} \"$netlab\" recv -i \"$nic{i}\" -m {method} \
                 {knobs}--count {FRAMES} --json >\"$dir/{step}.json\" 2>\"$dir/{step}.err\"\n\
                 echo $? >\"$dir/{step}.status\"\n"
            ));
        }
    }
    s.push_str(
        "\"$netlab\" doctor >\"$dir/doctor.out\" 2>&1; echo $? >\"$dir/doctor.status\"\n\
         \"$netlab\" run labs/mode3.toml --results \"$dir/mode3\" >\"$dir/mode3.out\" 2>&1\n\
         echo $? >\"$dir/mode3.status\"\n",
    );
    s
}

/// The number of checks a `netlab doctor` output ran (its last line: `all N checks passed…` or
/// `F of N checks failed…`).
fn doctor_checks(out: &str) -> Option<u64> {
    let last = out.lines().rev().find(|l| !l.trim().is_empty())?;
    let words: Vec<&str> = last.split_whitespace().collect();
    match words.as_slice() {
        ["all", n, "checks", ..] | [_, "of", n, "checks", ..] => n.parse().ok(),
        _ => None,
    }
}

/// The last lines of a text, indented, for a failure message.
fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    all[all.len().saturating_sub(lines)..].iter().map(|l| format!("    {l}\n")).collect()
}

/// One receive in the guest while the host replays `FRAMES` frames into the NIC's tap; a
/// failure is returned as one message naming the command and what went wrong.
fn receive(guest: &mut Guest, nic: &Nic, method: &str, xdp: &str) -> Result<String, String> {
    let step = step_name(nic, method);
    let setup = guest.line("setup").unwrap_or_default();
    let prefix = format!("{}=", nic.name);
    let iface = setup.split_whitespace().find_map(|w| w.strip_prefix(&prefix)).unwrap_or("?");
    let what = format!(
        "{} {method}: `netlab recv -i {iface} -m {method} {}--count {FRAMES} --json` in the guest",
        nic.name,
        knobs(method)
    );
    let ready = guest.wait_for(Duration::from_secs(RECV_LIMIT_S + 30), |g| {
        g.read(&format!("{step}.err")).is_some_and(|e| e.contains("netlab: receiving on"))
            || g.line(&format!("{step}.status")).is_some()
    });
    if !ready {
        return Err(format!(
            "{what}: the guest never started it ({:.0} s after boot); console:\n{}",
            guest.uptime().as_secs_f64(),
            tail(&guest.console_tail(20), 20)
        ));
    }
    let sent = if guest.line(&format!("{step}.status")).is_none() {
        let out = Command::new(netlab_exe())
            .args(["replay", "--json", "-i", &nic.tap, "--engine", "ring", "--dst-mac", &nic.mac])
            .args(["--pps", &PPS.to_string(), "--loop", "0", "--limit", &FRAMES.to_string()])
            .arg(repo().join("packets/udp64.pcap"))
            .output()
            .unwrap();
        let report: serde_json::Value =
            serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null);
        match report["sent_frames"].as_u64() {
            Some(n) if out.status.success() => Some(n),
            _ => {
                return Err(format!(
                    "{what}: the host's `netlab replay --json -i {}` failed ({}):\n{}{}",
                    nic.tap,
                    out.status,
                    tail(&String::from_utf8_lossy(&out.stdout), 5),
                    tail(&String::from_utf8_lossy(&out.stderr), 5)
                ))
            }
        }
    } else {
        None
    };
    let done = guest.wait_for(Duration::from_secs(RECV_LIMIT_S + 30), |g| {
        g.line(&format!("{step}.status")).is_some()
    });
    let err = guest.read(&format!("{step}.err")).unwrap_or_default();
    if !done {
        return Err(format!("{what}: did not end; its stderr:\n{}", tail(&err, 5)));
    }
    let status = guest.line(&format!("{step}.status")).unwrap_or_default();
    let Some(sent) = sent else {
        return Err(format!("{what}: exited {status} before receiving:\n{}", tail(&err, 3)));
    };
    let json: serde_json::Value =
        serde_json::from_str(&guest.read(&format!("{step}.json")).unwrap_or_default())
            .unwrap_or(serde_json::Value::Null);
    let (frames, ipv4) = (json["app_rx_frames"].as_u64(), json["ipv4_frames"].as_u64());
    let mut wrong = Vec::new();
    match status.as_str() {
        "0" => {}
        "124" => wrong.push(format!(
            "interrupted after {RECV_LIMIT_S} s, before it counted {FRAMES} (exit 124)"
        )),
        _ => wrong.push(format!("exited {status}")),
    }
    if sent != FRAMES {
        wrong.push(format!("the host sent {sent} of {FRAMES}"));
    }
    if frames != Some(sent) || ipv4 != Some(sent) {
        wrong.push(format!("received {frames:?} frames, {ipv4:?} IPv4, of {sent} sent"));
    }
    let mode = json["xdp_mode"].as_str();
    let uses_xdp = method == "xdp-drop" || method == "fastnet:3";
    if uses_xdp && mode != Some(xdp) {
        wrong.push(format!("XDP mode named in the JSON: {mode:?}, expected `{xdp}`"));
    }
    if wrong.is_empty() {
        let mode = match (mode, json["xsk_bind"].as_str()) {
            (Some(m), Some(b)) => format!(", {m} XDP, {b}"),
            (Some(m), None) => format!(", {m} XDP"),
            _ => String::new(),
        };
        Ok(format!("{} {method}: {sent} of {sent}{mode}", nic.name))
    } else {
        Err(format!("{what}: {}; stderr:\n{}", wrong.join("; "), tail(&err, 3)))
    }
}

/// `netlab doctor` in the guest ran as many checks as on this host (`host_checks`), and every
/// one passed (exit 0; an optional feature the 6.1 kernel lacks is not a failure).
fn doctor(guest: &Guest, host_checks: Option<u64>) -> Result<String, String> {
    let out = guest.read("doctor.out").unwrap_or_default();
    let status = guest.line("doctor.status").unwrap_or_default();
    let ran = doctor_checks(&out);
    if let Some(n) = ran.filter(|_| ran == host_checks && status == "0") {
        return Ok(format!("doctor: all {n} checks passed, as many as on the host"));
    }
    let failed: Vec<&str> = out.lines().filter(|l| l.starts_with('✘')).collect();
    Err(format!(
        "`netlab doctor` in the guest: exit {status}, {ran:?} checks ({host_checks:?} on the \
         host); failed:\n{}",
        tail(&failed.join("\n"), 20)
    ))
}

/// `netlab run labs/mode3.toml` in the guest built its lab with threaded NAPI (its kthread
/// found, pinned to the receive core — the lab is not built otherwise — and its CPU measured at
/// every point) and found each method's NDR.
fn mode3(guest: &Guest) -> Result<String, String> {
    let out = guest.read("mode3.out").unwrap_or_default();
    let status = guest.line("mode3.status").unwrap_or_default();
    let what = "`netlab run labs/mode3.toml` in the guest";
    if status != "0" {
        return Err(format!("{what} exited {}:\n{}", status, tail(&out, 15)));
    }
    let base = guest.dir().join("mode3");
    // The run's one results directory under `base`.
    let file = |name: &str| -> Option<serde_json::Value> {
        let run = std::fs::read_dir(&base).ok()?.next()?.ok()?.path();
        serde_json::from_str(&std::fs::read_to_string(run.join(name)).ok()?).ok()
    };
    let Some(results) = file("results.json") else {
        return Err(format!("{what}: no results.json under {}", base.display()));
    };
    let mut wrong = Vec::new();
    let lab = file("manifest.json").map(|m| m["lab"]["lab"].clone()).unwrap_or_default();
    let kthreads = lab["napi_pids"].as_array().map_or(0, Vec::len);
    if lab["napi"] != "threaded" || kthreads == 0 {
        wrong.push(format!(
            "the lab's NAPI is {} with {kthreads} kthreads (manifest.json), not threaded",
            lab["napi"]
        ));
    }
    let mut ndr = Vec::new();
    let searches = results["searches"].as_array().cloned().unwrap_or_default();
    for label in ["fastnet:3", "pcap", "socket"] {
        let found = searches.iter().find(|s| s["label"] == label && s["target"]["name"] == "ndr");
        match found.and_then(|s| s["found_pps"].as_f64()) {
            Some(pps) if found.is_some_and(|s| s["valid"] == true) => {
                ndr.push(format!("{label} {pps:.0} pps"))
            }
            _ => wrong.push(format!("no valid NDR for {label}: {found:?}")),
        }
    }
    let trials = searches.iter().flat_map(|s| s["trials"].as_array().cloned().unwrap_or_default());
    let points = results["points"].as_array().cloned().unwrap_or_default();
    let unmeasured = trials
        .chain(points)
        .filter(|p| p["app_rx_frames"].as_u64().unwrap_or(0) > 0)
        .filter(|p| p["napi_cpu_ns"].as_u64().is_none_or(|ns| ns == 0))
        .count();
    if unmeasured > 0 {
        wrong.push(format!("{unmeasured} points without the NAPI kthread's CPU"));
    }
    if wrong.is_empty() {
        Ok(format!("mode3: NDR {}", ndr.join(", ")))
    } else {
        Err(format!("{what}: {}\n{}", wrong.join("; "), tail(&out, 15)))
    }
}

#[test]
fn the_class_vm_receives_exactly_what_the_host_sends_on_e1000_and_virtio_net() {
    let test = "the_class_vm";
    let prereq = match Prerequisites::find() {
        Ok(p) => p,
        Err(why) if std::env::var("CI").is_ok_and(|v| v == "true" || v == "1") => {
            panic!("{test}: cannot run under CI: {why}")
        }
        Err(why) => {
            eprintln!("SKIPPED {test}: {why}");
            return;
        }
    };
    // The taps live in this thread's throwaway namespace; QEMU, started from this thread, opens
    // them there, and the host's replays run there too.
    let Some(_ns) = privileged(test) else { return };
    let started = Instant::now();
    // No IPv6 chatter from the host side: only the replayed frames reach the guest.
    sh("sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1");
    sh("ip link set lo up");
    let nics = nics();
    for (nic, _) in &nics {
        // A queue for every frame of a receive: while the guest's NIC ring is full, QEMU leaves
        // frames in the tap's queue, which drops beyond its length (1 000 by default).
        sh(&format!(
            "ip tuntap add dev {0} mode tap && ip link set {0} txqueuelen {1} up",
            nic.tap,
            2 * FRAMES
        ));
    }
    let plain: Vec<Nic> = nics.iter().map(|(n, _)| n.clone()).collect();

    // How many checks doctor runs here — before the guest boots: its emulated CPUs get both cores.
    let host_doctor = Command::new(netlab_exe()).arg("doctor").output().unwrap();
    let host_checks = doctor_checks(&String::from_utf8_lossy(&host_doctor.stdout));

    // An emulated CPU that the host leaves unscheduled too long can stall the guest's boot
    // (an RCU stall: its timer never fires), seen once in a few boots under TCG: that is the
    // emulator, not netlab, so a boot that sets nothing up in time is tried once more.
    let mut stalled = Vec::new();
    let (mut guest, setup) = loop {
        let mut guest = Guest::boot(&prereq, &plain, repo(), |dir| guest_script(dir, &plain));
        let booted = guest.wait_for(Duration::from_secs(150), |g| g.line("setup").is_some());
        let setup = guest.line("setup").unwrap_or_default();
        if booted || !stalled.is_empty() {
            break (guest, setup);
        }
        stalled.push(guest.console_tail(20));
        eprintln!("{test}: the guest's boot set nothing up in 150 s; booting it again");
    };
    assert!(
        setup.starts_with("ok"),
        "the guest did not set its NICs up ({:.0} s): {setup}\nconsole:\n{}\nthe boot before:\n{}",
        guest.uptime().as_secs_f64(),
        guest.console_tail(40),
        stalled.join("\n")
    );
    eprintln!("{test}: guest up in {:.1} s: {}", guest.uptime().as_secs_f64(), setup.trim());

    let mut passed = Vec::new();
    let mut failed = Vec::new();
    for (nic, xdp) in &nics {
        for method in METHODS {
            match receive(&mut guest, nic, method, xdp) {
                Ok(line) => passed.push(line),
                Err(line) => failed.push(line),
            }
        }
    }
    let exited = guest.wait_exit(Duration::from_secs(600));
    if exited.is_none() {
        failed.push(format!(
            "the guest was still running 600 s after its receives (doctor, then mode3); \
             console:\n{}",
            tail(&guest.console_tail(20), 20)
        ));
    } else {
        for check in [doctor(&guest, host_checks), mode3(&guest)] {
            match check {
                Ok(line) => passed.push(line),
                Err(line) => failed.push(line),
            }
        }
    }
    eprintln!("{test}: {:.0} s in all", started.elapsed().as_secs_f64());
    for line in &passed {
        eprintln!("ok   {line}");
    }
    assert!(
        failed.is_empty(),
        "{} checks failed in the guest:\n{}",
        failed.len(),
        failed.join("\n")
    );
}
