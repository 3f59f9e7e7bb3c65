//! `netlab doctor`: can this machine run the lab? One check per line, each with its fix.
//!
//! Checks that need a network namespace run in a throwaway one on a dedicated thread, so the
//! host's interfaces are never touched.

use std::fmt;

use crate::generator::engine::Sender;
use crate::generator::EngineKind;
use crate::privilege::{Capability, Effective};
use crate::receiver::{self, Method, RecvConfig};
use crate::topology::{Kind, Lab, NapiMode, TopologySpec};

/// The outcome of one check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// What was checked (`"CAP_NET_ADMIN"`, `"AF_XDP socket"`).
    pub name: &'static str,
    /// Whether it passed.
    pub ok: bool,
    /// What was found (a version, a count, the kernel's answer).
    pub detail: String,
    /// How to fix it when it failed.
    pub fix: &'static str,
}

impl Check {
    fn new(name: &'static str, fix: &'static str, result: Result<String, String>) -> Self {
        match result {
            Ok(detail) => Self { name, ok: true, detail, fix },
            Err(detail) => Self { name, ok: false, detail, fix },
        }
    }
}

impl Check {
    /// The check's line, under `name` with `fix` (a check another host ran and reported).
    pub fn line(&self, name: &str, fix: &str) -> String {
        let mark = if self.ok { '✔' } else { '✘' };
        let mut line = format!("{mark} {name}");
        let pad = 28usize.saturating_sub(name.chars().count());
        if !self.detail.is_empty() {
            line.push_str(&format!("{:pad$} {}", "", self.detail));
        }
        if !self.ok {
            line.push_str(&format!(" — fix: {fix}"));
        }
        line
    }
}

impl fmt::Display for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.line(self.name, self.fix))
    }
}

/// Runs every check, in the order they are printed.
pub fn run_checks() -> Vec<Check> {
    const SUDO: &str = "run netlab as root (sudo)";
    let caps = Effective::read();
    let cap_check = |cap: Capability| -> Result<String, String> {
        match &caps {
            Ok(c) if c.has(cap) => Ok(String::new()),
            Ok(_) => Err("missing from the effective set".into()),
            Err(e) => Err(e.clone()),
        }
    };
    let mut checks = vec![
        Check::new("CAP_NET_ADMIN", SUDO, cap_check(Capability::NetAdmin)),
        Check::new("CAP_NET_RAW", SUDO, cap_check(Capability::NetRaw)),
        Check::new(
            "CAP_BPF (or CAP_SYS_ADMIN)",
            SUDO,
            cap_check(Capability::Bpf).or_else(|_| cap_check(Capability::SysAdmin)),
        ),
    ];
    checks.extend(namespace_checks());
    checks.push(Check::new(
        "libpcap",
        "install libpcap (apt-get install libpcap-dev)",
        libpcap_version(),
    ));
    checks.push(Check::new(
        "CPU count",
        "give the machine at least 2 cores: one sends, one receives",
        cpu_count(),
    ));
    checks
}

/// Checks that build things: a throwaway namespace, then throwaway labs (a bridge lab with stock
/// NAPI, a veth lab with threaded NAPI) in namespaces of their own, and inside the veth lab the
/// kernel mechanisms every receive method and the live-frames engine need.
fn namespace_checks() -> Vec<Check> {
    let netns = std::thread::spawn(|| fastnet::netns::NetNsGuard::new().map(drop))
        .join()
        .map_err(|_| "the check thread panicked".to_string())
        .and_then(|r| r.map_err(|e| e.to_string()));
    let mut checks = vec![Check::new(
        "network namespaces",
        "run as root on a kernel with CONFIG_NET_NS",
        netns.map(|()| String::new()),
    )];
    let lab_name = |kind: &str| format!("doctor-{kind}-{}", std::process::id());
    let spec = |kind, napi| TopologySpec { napi: Some(napi), ..TopologySpec::new(kind) };
    let bridge = Lab::up(&spec(Kind::Bridge, NapiMode::Inline), &lab_name("br"));
    checks.push(Check::new(
        "veth and bridge creation",
        "run as root on a kernel with veth and bridge support (CONFIG_VETH, CONFIG_BRIDGE)",
        bridge
            .map(|lab| format!("{} interfaces over rtnetlink", lab.interfaces().len()))
            .map_err(|e| format!("{e:#}")),
    ));
    let veth = Lab::up(&spec(Kind::Veth, NapiMode::Threaded), &lab_name("veth"));
    let lab = match veth {
        Ok(lab) => lab,
        Err(e) => {
            checks.push(Check::new(
                "threaded NAPI",
                "needs Linux ≥ 5.12 (the kthread is found with netdev netlink NAPI_GET from 6.8, by \
                 name before); or use `napi = \"inline\"`",
                Err(format!("{e:#}")),
            ));
            return checks;
        }
    };
    checks.push(Check::new(
        "threaded NAPI",
        "needs Linux ≥ 5.12 (the kthread is found with netdev netlink NAPI_GET from 6.8, by \
                 name before); or use `napi = \"inline\"`",
        threaded_napi(&lab),
    ));
    let receiver = lab.receiver().name.clone();
    let generator = lab.generator().name.clone();
    let inside = lab.netns().map(|ns| {
        ns.run(|| {
            let mut checks = vec![
                Check::new(
                    "AF_PACKET + TPACKET_V3",
                    "kernel with CONFIG_PACKET; run as root (CAP_NET_RAW)",
                    fastnet::afpacket::RingRx::open(&receiver, &Default::default())
                        .map(|ring| format!("{} KiB ring", ring.ring_bytes() / 1024))
                        .map_err(|e| e.to_string()),
                ),
                Check::new(
                    "AF_XDP socket",
                    "kernel with CONFIG_XDP_SOCKETS; run as root (CAP_NET_RAW)",
                    fastnet::xdp::probe_socket().map(|()| String::new()).map_err(|e| e.to_string()),
                ),
                Check::new(
                    "BPF program load (XDP)",
                    "kernel with CONFIG_BPF_SYSCALL; run as root (CAP_BPF or CAP_SYS_ADMIN)",
                    fastnet::bpf::probe_load().map(|()| String::new()).map_err(|e| e.to_string()),
                ),
                Check::new(
                    "BPF_PROG_RUN live frames",
                    "needs Linux ≥ 5.18 (BPF_F_TEST_XDP_LIVE_FRAMES); else use engine ring",
                    fastnet::bpf::probe_live_frames()
                        .map(|()| String::new())
                        .map_err(|e| e.to_string()),
                ),
            ];
            checks.push(receive_methods(&receiver));
            checks.push(send_engines(&generator));
            checks
        })
    });
    match inside {
        Some(Ok(inner)) => checks.extend(inner),
        Some(Err(e)) => checks.push(Check::new(
            "entering the lab namespace",
            "run as root (CAP_SYS_ADMIN)",
            Err(e.to_string()),
        )),
        None => {}
    }
    if let Err(e) = lab.down() {
        checks.push(Check::new(
            "lab teardown",
            "remove netlab's labs with `netlab topo down` (by name, or all of them)",
            Err(format!("{e:#}")),
        ));
    }
    checks
}

/// The receiver's NAPI runs in a kthread pinned to the receive core.
fn threaded_napi(lab: &Lab) -> Result<String, String> {
    let pids = lab.napi_pids();
    if pids.is_empty() {
        return Err("no NAPI kthread for the receiver".into());
    }
    for &pid in pids {
        let cpus = fastnet::cpu::task_affinity(pid).map_err(|e| e.to_string())?;
        if cpus != [lab.rx_core()] {
            return Err(format!(
                "napi kthread {pid} runs on cores {cpus:?}, not {}",
                lab.rx_core()
            ));
        }
    }
    let how = lab.napi_lookup().map(|l| format!(", {}", l.describe())).unwrap_or_default();
    Ok(format!("kthread {pids:?} pinned to core {}{how}", lab.rx_core()))
}

/// Opens every send engine on `iface` with the shipped packet, in the calling thread's
/// namespace (nothing is sent).
fn send_engines(iface: &str) -> Check {
    let frame = match crate::packet::UdpSpec::default().build() {
        Ok(frame) => frame,
        Err(e) => return Check::new("send engines", "a bug: report it", Err(format!("{e:#}"))),
    };
    let mut opened = Vec::new();
    let mut failed = Vec::new();
    for kind in EngineKind::FASTEST_FIRST {
        let frames = [frame.as_slice()];
        match Sender::open(kind, iface, &frames, kind.default_batch(false), None) {
            Ok(_) => opened.push(kind.name()),
            Err(e) => failed.push(format!("{kind}: {e}")),
        }
    }
    Check::new(
        "send engines",
        "see the failing engine's message; `netlab replay` with that engine, verbose, shows more",
        if failed.is_empty() { Ok(opened.join(", ")) } else { Err(failed.join("; ")) },
    )
}

/// Opens every receive method (except `exec`, a user's program) on `iface`, in the calling
/// thread's namespace.
fn receive_methods(iface: &str) -> Check {
    let mut opened = Vec::new();
    let mut failed = Vec::new();
    for &method in Method::all().iter().filter(|&&m| m != Method::Exec) {
        match receiver::open(method, iface, &RecvConfig::default()) {
            Ok(_) => opened.push(method.name()),
            Err(e) => failed.push(format!("{method}: {e:#}")),
        }
    }
    Check::new(
        "receive methods",
        "see the failing method's message; `netlab recv -m METHOD -v` shows more",
        if failed.is_empty() { Ok(opened.join(", ")) } else { Err(failed.join("; ")) },
    )
}

/// The libpcap this binary loaded, from the mapped library's file name (`libpcap.so.1.10.3`).
fn libpcap_version() -> Result<String, String> {
    // A dead capture handle is the cheapest real call into libpcap: it proves the library loads.
    pcap::Capture::dead(pcap::Linktype::ETHERNET).map_err(|e| e.to_string())?;
    let maps = std::fs::read_to_string("/proc/self/maps").map_err(|e| e.to_string())?;
    let path = maps
        .lines()
        .filter_map(|l| l.split_whitespace().nth(5))
        .find(|p| p.contains("libpcap.so"))
        .ok_or("libpcap is not loaded")?;
    let real = std::fs::canonicalize(path).map_err(|e| format!("{path}: {e}"))?;
    let name = real.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    Ok(name.strip_prefix("libpcap.so.").map_or(name.clone(), |v| format!("version {v}")))
}

fn cpu_count() -> Result<String, String> {
    let n = std::thread::available_parallelism().map_err(|e| e.to_string())?.get();
    if n >= 2 {
        Ok(format!("{n} cores"))
    } else {
        Err(format!("{n} core"))
    }
}
