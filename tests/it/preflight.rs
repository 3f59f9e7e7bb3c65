//! `netlab check` refuses every scenario `netlab run` would refuse before building its lab, in
//! the scenario's words: one line `FILE:LINE:COL: key.path: …`, exit 2, and never a command-line
//! flag the user did not type. The corpus: every knob past its limit for every method and
//! engine, every topology fault, an `exec` program that is missing, an unknown placeholder.

use std::path::Path;

use netlab::method::{Knob, Method};

use super::util::{netlab, not_here, udp64};

/// A scenario that `check` accepts, with `{topology}`, `{generator}` and `{receivers}` filled in.
fn scenario(name: &str, topology: &str, generator: &str, receivers: &str) -> String {
    format!(
        "name = \"{name}\"\n[topology]\nkind = \"veth\"\n{topology}\n[packet]\nfile = \"{}\"\n\
         [generator]\nrates = [\"100kpps\", \"max\"]\nduration = \"1s\"\n{generator}\n\
         {receivers}\n",
        udp64().display()
    )
}

fn receiver(method: &str, knobs: &str) -> String {
    let exec =
        if method == "exec" { "name = \"mine\"\ncommand = \"sh -c true {iface}\"\n" } else { "" };
    format!("[[receiver]]\nmethod = \"{method}\"\n{exec}{knobs}\n")
}

/// One bad scenario and the key path its error must name.
struct Bad {
    what: String,
    text: String,
    path: String,
}

fn corpus() -> Vec<Bad> {
    let mut bad = Vec::new();
    let mut add = |what: String, text: String, path: &str| {
        bad.push(Bad { what, text, path: path.to_string() })
    };
    let ok_rx = receiver("pcap", "");
    // Receivers: every knob a method does not take, and every limit of those it takes.
    for m in Method::all() {
        let name = m.name();
        let knob_text = |k: Knob| match k {
            Knob::Buffer => "buffer = \"4MiB\"".to_string(),
            Knob::Batch => "batch = 8".to_string(),
            Knob::Frames => "frames = 1024".to_string(),
            Knob::BusyWait => "wait = \"busy\"".to_string(),
            Knob::Write => "write = \"rx.pcap\"".to_string(),
            Knob::Command => "command = \"./rx\"".to_string(),
            Knob::MaxDelay => "max_delay = \"1ms\"".to_string(),
            Knob::XdpMode => "xdp_mode = \"generic\"".to_string(),
            Knob::ZeroCopy => "zero_copy = \"required\"".to_string(),
        };
        for k in Knob::ALL {
            if k == Knob::Command || k.used_by(*m) {
                continue;
            }
            add(
                format!("{name}: {k:?} not taken"),
                scenario("t", "", "", &receiver(name, &knob_text(k))),
                &format!("receiver[0].{}", k.key()),
            );
        }
        if Knob::Buffer.used_by(*m) {
            for size in ["1B", "1000TiB"] {
                add(
                    format!("{name}: buffer {size}"),
                    scenario("t", "", "", &receiver(name, &format!("buffer = \"{size}\""))),
                    "receiver[0].buffer",
                );
            }
        }
    }
    add(
        "fastnet:2: batch past recvmmsg's limit".into(),
        scenario("t", "", "", &receiver("fastnet:2", "batch = 1025")),
        "receiver[0].batch",
    );
    add(
        "fastnet:3: frames not a power of two".into(),
        scenario("t", "", "", &receiver("fastnet:3", "frames = 3")),
        "receiver[0].frames",
    );
    add(
        "fastnet:3: more ring entries than allowed".into(),
        scenario("t", "", "", &receiver("fastnet:3", "frames = 2097152")),
        "receiver[0].frames",
    );
    add(
        "fastnet:3: max_delay past its limit".into(),
        scenario("t", "", "", &receiver("fastnet:3", "max_delay = \"2s\"")),
        "receiver[0].max_delay",
    );
    add(
        "fastnet:3: xdp_mode not a mode".into(),
        scenario("t", "", "", &receiver("fastnet:3", "xdp_mode = \"driver\"")),
        "receiver[0].xdp_mode",
    );
    add(
        "fastnet:3: zero_copy not a choice".into(),
        scenario("t", "", "", &receiver("fastnet:3", "zero_copy = \"yes\"")),
        "receiver[0].zero_copy",
    );
    add(
        "second receiver: pcap buffer too small".into(),
        scenario("t", "", "", &format!("{ok_rx}{}", receiver("socket", "buffer = \"1KiB\""))),
        "receiver[1].buffer",
    );
    add(
        "exec: program missing".into(),
        scenario(
            "t",
            "",
            "",
            "[[receiver]]\nmethod = \"exec\"\nname = \"mine\"\ncommand = \"./no-such-rx {iface}\"\n",
        ),
        "receiver[0].command",
    );
    add(
        "exec: unknown placeholder".into(),
        scenario(
            "t",
            "",
            "",
            "[[receiver]]\nmethod = \"exec\"\nname = \"mine\"\ncommand = \"sh -c true {ifce}\"\n",
        ),
        "receiver[0].command",
    );
    // Engines: a batch past each engine's limit, and past what `auto` may pick.
    for (engine, over) in
        [("socket", 4097), ("mmsg", 1025), ("ring", 4097), ("xdp", (1 << 20) + 1), ("auto", 4097)]
    {
        add(
            format!("engine {engine}: batch {over}"),
            scenario("t", "", &format!("engine = \"{engine}\"\nbatch = {over}"), &ok_rx),
            "generator.batch",
        );
    }
    add(
        "the issue's batch = 100000".into(),
        scenario("t", "", "batch = 100000", &ok_rx),
        "generator.batch",
    );
    // Topology faults.
    for (what, topology, path) in [
        ("mtu below IPv4's", "mtu = 67", "topology.mtu"),
        ("generator = receiver", "generator = \"rx0\"\nreceiver = \"rx0\"", "topology.receiver"),
        ("18-character interface name", "receiver = \"rx0-abcdefghijklmn\"", "topology.receiver"),
        ("no queue", "queues = 0", "topology.queues"),
        ("multicast MAC", "receiver_mac = \"03:00:00:00:00:01\"", "topology.receiver_mac"),
        ("bridge on a veth lab", "bridge = \"br0\"", "topology.bridge"),
    ] {
        add(what.to_string(), scenario("t", topology, "", &ok_rx), path);
    }
    add("200-character name".into(), scenario(&"n".repeat(200), "", "", &ok_rx), "name");
    // Hosts: placed on a host [hosts] does not name, or not placeable so.
    let hosts = "[hosts]\nvm = { ssh = \"root@192.0.2.1\" }\n";
    add(
        "lab on an unknown host".into(),
        format!("{}{hosts}", scenario("t", "host = \"mv\"", "", &ok_rx)),
        "topology.host",
    );
    add(
        "a role placed on a veth lab".into(),
        format!(
            "{}{hosts}",
            scenario("t", "receiver = { host = \"vm\", interface = \"eth2\" }", "", &ok_rx)
        ),
        "topology.receiver.host",
    );
    add(
        "an empty ssh destination".into(),
        format!("{}[hosts]\nvm = {{ ssh = \"\" }}\n", scenario("t", "host = \"vm\"", "", &ok_rx)),
        "hosts.vm.ssh",
    );
    let interface_lab = |generator: &str, receiver: &str| {
        format!(
            "name = \"t\"\n[topology]\nkind = \"interface\"\ngenerator = \"{generator}\"\n\
             receiver = \"{receiver}\"\n[packet]\nfile = \"{}\"\n[generator]\n\
             rates = [\"100kpps\"]\nduration = \"1s\"\n{ok_rx}",
            udp64().display()
        )
    };
    add(
        "an interface lab sending on an interface this machine lacks".into(),
        interface_lab(MISSING_IFACE, "lo"),
        "topology.generator",
    );
    add(
        "an interface lab receiving on an interface this machine lacks".into(),
        interface_lab("lo", MISSING_IFACE),
        "topology.receiver",
    );
    bad
}

/// An interface name no machine running the tests has.
const MISSING_IFACE: &str = "nl-missing0";

/// `check` names a local interface of an `interface` lab that does not exist, in one line
/// located at the role; a role on another host is that host's to check (at run time).
#[test]
fn check_names_a_missing_local_interface() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("class.toml");
    let packet = udp64().display().to_string();
    std::fs::write(
        &file,
        format!(
            "name = \"class\"\n[hosts]\nhost = \"local\"\nvm = {{ ssh = \"root@192.0.2.1\" }}\n\
             [topology]\nkind = \"interface\"\n\
             generator = {{ host = \"host\", interface = \"{MISSING_IFACE}\" }}\n\
             receiver = {{ host = \"vm\", interface = \"nl-vm-missing0\" }}\n\
             [packet]\nfile = \"{packet}\"\n[generator]\nrates = [\"100kpps\"]\nduration = \"1s\"\n\
             [[receiver]]\nmethod = \"pcap\"\n"
        ),
    )
    .unwrap();
    let (code, err) = refused(&["check", &file.display().to_string()], dir.path());
    assert_eq!(code, Some(2), "{err}");
    assert_eq!(
        err.trim_end(),
        format!(
            "netlab: error: {}:7:13: topology.generator: {}",
            file.display(),
            not_here(MISSING_IFACE)
        )
    );
    // The receiver's interface is the VM's: with the generator on an interface this machine
    // has, check passes without connecting.
    let text = std::fs::read_to_string(&file).unwrap();
    let local_lo = text.replacen(
        &format!("host = \"host\", interface = \"{MISSING_IFACE}\""),
        "host = \"host\", interface = \"lo\"",
        1,
    );
    std::fs::write(&file, &local_lo).unwrap();
    let out = netlab().arg("check").arg(&file).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // Two machines may name their interfaces alike (eth1 on both ends of a cable): each role's
    // name is its own host's.
    let both_lo = local_lo.replace("nl-vm-missing0", "lo");
    std::fs::write(&file, &both_lo).unwrap();
    let out = netlab().arg("check").arg(&file).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // On one machine the generator and the receiver on one interface is no lab.
    std::fs::write(
        &file,
        both_lo.replace("host = \"vm\", interface", "host = \"host\", interface"),
    )
    .unwrap();
    let (code, err) = refused(&["check", &file.display().to_string()], dir.path());
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("topology.receiver: `lo` is already the generator's name"), "{err}");
}

fn refused(args: &[&str], dir: &Path) -> (Option<i32>, String) {
    let out = netlab().current_dir(dir).args(args).output().unwrap();
    (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn check_refuses_what_run_refuses_in_the_scenarios_words() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = corpus();
    assert!(corpus.len() > 40, "{}", corpus.len());
    let mut failures = Vec::new();
    for (i, bad) in corpus.iter().enumerate() {
        let file = dir.path().join(format!("bad{i}.toml"));
        std::fs::write(&file, &bad.text).unwrap();
        let file_text = file.display().to_string();
        let lab = format!("i11p{}-{i}", std::process::id());
        let check = refused(&["check", &file_text], dir.path());
        // A unique lab name, unless the scenario's own name is what is wrong.
        let run = if bad.path == "name" {
            refused(&["run", &file_text], dir.path())
        } else {
            refused(&["run", &file_text, "--name", &lab], dir.path())
        };
        let prefix = format!("netlab: error: {file_text}:");
        for (command, (code, err)) in [("check", &check), ("run", &run)] {
            let line = err.lines().find(|l| l.starts_with("netlab: error:")).unwrap_or("");
            let located = line.strip_prefix(&prefix).and_then(|rest| {
                let mut parts = rest.splitn(3, ':');
                let (l, c) = (parts.next()?, parts.next()?);
                let rest = parts.next()?;
                (l.parse::<usize>().is_ok() && c.parse::<usize>().is_ok()).then_some(rest)
            });
            let ok = *code == Some(2)
                && located.is_some_and(|rest| rest.starts_with(&format!(" {}: ", bad.path)))
                && !line.contains("--")
                && !Path::new("/run/netns").join(format!("netlab-{lab}")).exists();
            if !ok {
                failures.push(format!("{} ({command}): exit {code:?}: {err}", bad.what));
            }
        }
        // `check` and `run` refuse with the same line: one function decides both.
        assert_eq!(
            check.1.lines().last(),
            run.1.lines().last(),
            "{}: check and run disagree",
            bad.what
        );
    }
    assert!(
        failures.is_empty(),
        "{} of {} refused badly:\n{}",
        failures.len(),
        corpus.len(),
        failures.join("\n")
    );
}
