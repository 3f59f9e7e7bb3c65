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
    /// How to fix it when it failed; for an optional feature, what netlab does without it.
    pub fix: &'static str,
    /// A feature netlab has a fallback for (live frames: the ring engine): missing, it is
    /// reported with what netlab does instead, and does not fail doctor.
    pub optional: bool,
}

impl Check {
    fn new(name: &'static str, fix: &'static str, result: Result<String, String>) -> Self {
        match result {
            Ok(detail) => Self { name, ok: true, detail, fix, optional: false },
            Err(detail) => Self { name, ok: false, detail, fix, optional: false },
        }
    }

    /// A check of a feature netlab can do without (see [`Check::optional`]).
    fn optional(name: &'static str, instead: &'static str, result: Result<String, String>) -> Self {
        Self { optional: true, ..Self::new(name, instead, result) }
    }

    /// Whether it fails doctor: not passed, and not an optional feature.
    pub fn failed(&self) -> bool {
        !self.ok && !self.optional
    }
}

impl Check {
    /// The check's line, under `name` with `fix` (a check another host ran and reported):
    /// `✔` passed, `✘` failed (with the fix), `–` an optional feature missing (with what
    /// netlab does instead).
    pub fn line(&self, name: &str, fix: &str) -> String {
        let mark = match (self.ok, self.optional) {
            (true, _) => '✔',
            (false, false) => '✘',
            (false, true) => '–',
        };
        let mut line = format!("{mark} {name}");
        let pad = 28usize.saturating_sub(name.chars().count());
        if !self.detail.is_empty() {
            line.push_str(&format!("{:pad$} {}", "", self.detail));
        }
        match (self.ok, self.optional) {
            (true, _) => {}
            (false, false) => line.push_str(&format!(" — fix: {fix}")),
            (false, true) => line.push_str(&format!(" — without it: {fix}")),
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
    // Without threaded NAPI the other checks still run, in a lab with NAPI inline.
    let lab = match veth {
        Ok(lab) => {
            checks.push(Check::new("threaded NAPI", THREADED_NAPI_FIX, threaded_napi(&lab)));
            lab
        }
        Err(e) => {
            checks.push(Check::new("threaded NAPI", THREADED_NAPI_FIX, Err(format!("{e:#}"))));
            match Lab::up(&spec(Kind::Veth, NapiMode::Inline), &lab_name("veth")) {
                Ok(lab) => lab,
                Err(e) => {
                    checks.push(Check::new(
                        "veth lab",
                        "run as root on a kernel with veth support (CONFIG_VETH)",
                        Err(format!("{e:#}")),
                    ));
                    return checks;
                }
            }
        }
    };
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
                    "Linux ≥ 4.18 with CONFIG_XDP_SOCKETS; run as root (CAP_NET_RAW)",
                    fastnet::xdp::probe_socket().map(|()| String::new()).map_err(|e| e.to_string()),
                ),
                Check::new(
                    "BPF program load (XDP)",
                    "Linux ≥ 5.9 (XDP links) with CONFIG_BPF_SYSCALL; run as root (CAP_BPF or \
                     CAP_SYS_ADMIN)",
                    fastnet::bpf::probe_load().map(|()| String::new()).map_err(|e| e.to_string()),
                ),
                Check::optional(
                    "BPF_PROG_RUN live frames",
                    "the xdp engine needs Linux ≥ 5.18 and a kernel whose policy allows live \
                     frames; netlab sends with the ring engine instead",
                    fastnet::bpf::probe_live_frames()
                        .map(|()| "the xdp engine can send".to_string())
                        .map_err(|e| e.to_string()),
                ),
                Check::optional(
                    "paced live frames",
                    "the xdp engine paces inside the kernel on Linux ≥ 6.9 (may_goto) with \
                     live frames; netlab paces with the ring engine instead",
                    fastnet::bpf::probe_paced_live_frames()
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

const THREADED_NAPI_FIX: &str =
    "threaded NAPI needs Linux ≥ 5.12; or use `napi = \"inline\"` (CPU per frame then counts \
     no NAPI time)";

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
        // An engine this kernel does not allow is the live-frames checks' to report.
        if crate::generator::engine::kernel_blocker(kind, false).is_some() {
            continue;
        }
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
