//! BPF tests. The privileged ones each run in a throwaway network namespace with a veth pair
//! `va` ↔ `vb`.

use super::*;
use crate::testing::{kernel_has, privileged, sh};
use crate::Tally;

/// veth `va` ↔ `vb`, both up, IPv6 off (no stray router solicitations).
pub(crate) fn veth_pair() {
    sh("sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1 \
        && ip link add va type veth peer name vb && ip link set va up && ip link set vb up");
}

/// A 60-byte frame with EtherType `ethertype`.
pub(crate) fn frame(ethertype: u16) -> Vec<u8> {
    let mut f = vec![0u8; 60];
    f[..6].copy_from_slice(&[0x02, 0, 0, 0, 0, 0x0b]);
    f[6..12].copy_from_slice(&[0x02, 0, 0, 0, 0, 0x0a]);
    f[12..14].copy_from_slice(&ethertype.to_be_bytes());
    f
}

/// Sends `ipv4` IPv4 frames and `arp` ARP frames, interleaved, out of `ifname` with a Python
/// `AF_PACKET` socket (an independent sender).
pub(crate) fn send_with_python(ifname: &str, ipv4: usize, arp: usize) {
    let script = format!(
        "import socket\n\
         s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)\n\
         s.bind(('{ifname}', 0))\n\
         ip = bytes.fromhex('{}')\n\
         arp = bytes.fromhex('{}')\n\
         for i in range(max({ipv4}, {arp})):\n\
         \x20   if i < {ipv4}: s.send(ip)\n\
         \x20   if i < {arp}: s.send(arp)\n",
        hex(&frame(0x0800)),
        hex(&frame(0x0806)),
    );
    sh(&format!("python3 -c \"{script}\""));
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `ip link show DEV` mentions an XDP program.
pub(crate) fn has_xdp(ifname: &str) -> bool {
    sh(&format!("ip link show {ifname}")).contains("xdp")
}

/// The counter once it reached `frames` (NAPI may still be draining the peer's ring when a
/// send returns: softirq work can be deferred to ksoftirqd), or after a second.
pub(crate) fn settled(counter: &XdpDropCounter, frames: u64) -> Tally {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(1);
    loop {
        let now = counter.read().unwrap();
        if now.frames >= frames || std::time::Instant::now() > deadline {
            // Let anything beyond `frames` show up too, so an excess fails the test.
            std::thread::sleep(std::time::Duration::from_millis(20));
            return counter.read().unwrap();
        }
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
}

#[test]
fn per_cpu_map_values_are_set_and_read_on_every_cpu() {
    let Some(_ns) = privileged("per_cpu_map_values_are_set_and_read_on_every_cpu") else { return };
    let map = Map::create(MapType::PercpuArray, 12, 2, "test_percpu").unwrap();
    let value: Vec<u8> = (1..=12).collect();
    map.set(1, &value).unwrap();
    let copies = map.get(1).unwrap();
    assert_eq!(copies.len(), crate::cpu::possible_cpus().unwrap());
    assert!(copies.iter().all(|c| *c == value), "{copies:?}");
    assert!(map.get(0).unwrap().iter().all(|c| *c == [0; 12]));
    // The kernel copies a whole per-CPU value set: a buffer of one value is refused before
    // the call, never handed to the kernel.
    let err = crate::sys::bpf::map_update(&map.fd, 0, &value).unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::EINVAL), "{err}");
    let err = map.set(0, &value[..8]).unwrap_err();
    assert!(matches!(err, Error::InvalidConfig { what: "BPF map value", .. }), "{err}");
}

#[test]
fn loads_a_pass_program() {
    let Some(_ns) = privileged("loads_a_pass_program") else { return };
    probe_load().unwrap();
    let drop = [Insn::mov64_imm(Reg::R0, XdpAction::Drop as i32), Insn::exit()];
    let prog = Program::load_xdp(&drop, "test_drop").unwrap();
    assert_eq!(prog.test_run(&frame(0x0800)).unwrap(), XdpAction::Drop as u32);
}

#[test]
fn rejected_program_carries_the_verifier_log() {
    let Some(_ns) = privileged("rejected_program_carries_the_verifier_log") else { return };
    // Returns r0 without ever setting it.
    let err = Program::load_xdp(&[Insn::exit()], "test_bad").unwrap_err();
    match err {
        Error::ProgramRejected { log, .. } => assert!(log.contains("R0 !read_ok"), "log: {log}"),
        other => panic!("expected a verifier log, got {other}"),
    }
}

#[test]
fn link_detaches_on_drop() {
    let Some(_ns) = privileged("link_detaches_on_drop") else { return };
    veth_pair();
    let pass = [Insn::mov64_imm(Reg::R0, XdpAction::Pass as i32), Insn::exit()];
    let prog = Program::load_xdp(&pass, "test_pass").unwrap();
    let ifindex = crate::ifindex("vb").unwrap();
    assert!(!has_xdp("vb"));
    let link = Link::attach_xdp(&prog, ifindex).unwrap();
    assert!(has_xdp("vb"), "{}", sh("ip link show vb"));
    // A second program in the same mode is refused while the link lives.
    assert!(Link::attach_xdp(&prog, ifindex).is_err());
    drop(link);
    assert!(!has_xdp("vb"), "{}", sh("ip link show vb"));
    assert!(matches!(crate::ifindex("nope"), Err(Error::NoSuchInterface(_))));
}

#[test]
fn drop_counter_counts_frames_and_ipv4_exactly() {
    let Some(_ns) = privileged("drop_counter_counts_frames_and_ipv4_exactly") else { return };
    veth_pair();
    let mut counter = XdpDropCounter::attach("vb").unwrap();
    assert!(has_xdp("vb"));
    send_with_python("va", 700, 300);
    let mut tally = Tally::default();
    let mut got = 0;
    for _ in 0..50 {
        got += counter.receive(&mut tally, std::time::Duration::from_millis(20)).unwrap();
        if got >= 1000 {
            break;
        }
    }
    assert_eq!(tally, Tally::counted(1000, 700));
    assert_eq!(counter.read().unwrap(), tally);
    // Nothing reached the stack: the program dropped everything.
    drop(counter);
    assert!(!has_xdp("vb"));
}

#[test]
fn live_frames_arrive_at_the_peer_exactly() {
    let Some(_ns) = privileged("live_frames_arrive_at_the_peer_exactly") else { return };
    if !kernel_has("live_frames_arrive_at_the_peer_exactly", live_frames_available()) {
        return;
    }
    veth_pair();
    // The counter on `vb` is also what makes `vb` run NAPI, so `va` accepts redirected frames.
    let counter = XdpDropCounter::attach("vb").unwrap();
    let mut live = LiveFrames::new("va", &frame(0x0800)).unwrap();
    assert!(live.is_resident());
    assert_eq!(live.send(100_000).unwrap(), 100_000);
    assert_eq!(live.send(1).unwrap(), 1);
    live.set_batch_size(128).unwrap();
    assert_eq!(live.send(12_345).unwrap(), 12_345);
    assert_eq!(settled(&counter, 112_346), Tally::counted(112_346, 112_346));

    // Without the resident program: same count, slower calls.
    let mut cold = LiveFrames::without_resident("va", &frame(0x0806)).unwrap();
    assert!(!cold.is_resident());
    assert_eq!(cold.send(1000).unwrap(), 1000);
    assert_eq!(settled(&counter, 113_346), Tally::counted(113_346, 112_346));

    // Through the common send trait: runs of equal frames, one call each.
    let (ip, arp) = (frame(0x0800), frame(0x0806));
    let frames: Vec<&[u8]> = vec![&ip, &ip, &arp, &ip, &arp, &arp, &arp];
    assert_eq!(crate::tx::Transmit::transmit(&mut live, &frames).unwrap(), 7);
    assert_eq!(settled(&counter, 113_353), Tally::counted(113_353, 112_349));

    drop(live);
    assert!(!has_xdp("va"));
    assert!(live_frames_bad_input());
}

/// Regression: `Transmit::transmit` returned `Err` when a later run was refused although the
/// runs before it had gone out; the trait says `Ok(n)` = `frames[..n]` taken, `Err` only when
/// nothing was.
#[test]
fn live_frames_transmit_keeps_sent_runs_on_refusal() {
    let Some(_ns) = privileged("live_frames_transmit_keeps_sent_runs_on_refusal") else { return };
    if !kernel_has("live_frames_transmit_keeps_sent_runs_on_refusal", live_frames_available()) {
        return;
    }
    veth_pair();
    let counter = XdpDropCounter::attach("vb").unwrap();
    let mut live = LiveFrames::new("va", &frame(0x0800)).unwrap();
    let (ip, arp) = (frame(0x0800), frame(0x0806));
    let mut too_big = frame(0x0800);
    too_big.resize(LIVE_FRAMES_MAX_FRAME + 1, 0);

    // Two runs go out (3 frames), the third run's frame is over the limit.
    let frames: Vec<&[u8]> = vec![&ip, &ip, &arp, &too_big, &ip];
    assert_eq!(crate::tx::Transmit::transmit(&mut live, &frames).unwrap(), 3);
    // The retry starts with the refused frame: nothing taken, the error says why.
    let err = crate::tx::Transmit::transmit(&mut live, &frames[3..]).unwrap_err();
    assert!(matches!(err, Error::InvalidConfig { what: "live frame", .. }), "{err}");
    assert_eq!(settled(&counter, 3), Tally::counted(3, 2));
}

const MAX_FRAME_FOR_TEST: usize = LIVE_FRAMES_MAX_FRAME;

fn live_frames_bad_input() -> bool {
    LiveFrames::new("va", &[0u8; 10]).is_err()
        && LiveFrames::new("va", &[0u8; MAX_FRAME_FOR_TEST + 1]).is_err()
        && LiveFrames::new("nope", &frame(0x0800)).is_err()
        && LiveFrames::without_resident("va", &frame(0x0800)).unwrap().set_batch_size(257).is_err()
}

/// The probes answer for the kernel: yes, or the feature is unsupported with the kernel's
/// reason — never another error; and once per process, the senders ask the same.
#[test]
fn live_frames_probes_say_yes_or_why_not() {
    let Some(_ns) = privileged("live_frames_probes_say_yes_or_why_not") else { return };
    let live = probe_live_frames();
    if let Err(e) = &live {
        assert!(
            matches!(e, Error::Unsupported { feature: "BPF_F_TEST_XDP_LIVE_FRAMES", .. }),
            "{e}"
        );
    }
    assert_eq!(live.is_ok(), live_frames_available().is_ok());
    match probe_paced_live_frames() {
        Ok(()) => assert!(live.is_ok(), "paced live frames without live frames"),
        Err(e) => assert!(matches!(e, Error::Unsupported { .. }), "{e}"),
    }
    assert!(!has_xdp("lo"), "the paced probe attached nothing");
}

/// Turned off (as on a kernel that refuses them), every live-frames sender is refused when it
/// opens, before any frame, with the reason.
#[test]
fn live_frames_turned_off_are_refused_at_open() {
    let Some(_ns) = privileged("live_frames_turned_off_are_refused_at_open") else { return };
    veth_pair();
    let _off = crate::caps::without(&[crate::caps::Feature::LiveFrames]);
    let limits = PacingLimits { max_late_ns: 1_000_000, late_after_ns: 100_000 };
    for err in [
        probe_live_frames().unwrap_err(),
        live_frames_available().unwrap_err(),
        LiveFrames::new("va", &frame(0x0800)).unwrap_err(),
        LiveFrames::paced("va", &frame(0x0800), 16, limits).unwrap_err(),
        probe_paced_live_frames().unwrap_err(),
    ] {
        let text = err.to_string();
        assert!(matches!(err, Error::Unsupported { .. }), "{text}");
        assert!(text.contains("FASTNET_WITHOUT lists `live-frames`"), "{text}");
    }
    assert!(!has_xdp("va"));
}

fn monotonic_ns() -> u64 {
    ktime_ns()
}

#[test]
fn paced_live_frames_keep_the_schedule_inside_the_call() {
    let Some(_ns) = privileged("paced_live_frames_keep_the_schedule_inside_the_call") else {
        return;
    };
    if !kernel_has("paced_live_frames_keep_the_schedule_inside_the_call", probe_paced_live_frames())
    {
        return;
    }
    veth_pair();
    let counter = XdpDropCounter::attach("vb").unwrap();
    let limits = PacingLimits { max_late_ns: 1_000_000, late_after_ns: 100_000 };
    let mut live = LiveFrames::paced("va", &frame(0x0800), 16, limits).unwrap();
    assert!(live.is_resident());
    // 2000 frames at 100 kpps (10 µs apart), the first due 1 ms from now: the call cannot end
    // before the last one's time, 21 ms from now, and every frame arrives.
    let start = monotonic_ns();
    let call =
        PacedCall { count: 2000, first_due_ns: start + 1_000_000, gap_num: 10_000, gap_den: 1 };
    let stats = live.send_paced(&call).unwrap();
    let took = monotonic_ns() - start;
    assert!(took >= 1_000_000 + 1999 * 10_000, "the call took only {took} ns");
    assert_eq!(settled(&counter, 2000), Tally::counted(2000, 2000));
    // Spaced by the program, not back to back (a stall of the test machine can put a few
    // together, never the whole call).
    assert!(stats.max_run < 2000, "{stats:?}");

    // A call whose frames are all 50 ms overdue: the schedule slips by at least 49 ms (the
    // first frame is allowed 1 ms; a busy test machine can delay the call and add to it), then
    // the frames leave at their gap again.
    let stats = live
        .send_paced(&PacedCall {
            count: 100,
            first_due_ns: monotonic_ns() - 50_000_000,
            gap_num: 10_000,
            gap_den: 1,
        })
        .unwrap();
    assert!(stats.slips >= 1, "{stats:?}");
    assert!((49_000_000..1_000_000_000).contains(&stats.slipped_ns), "{stats:?}");
    assert_eq!(settled(&counter, 2100), Tally::counted(2100, 2100));

    // A sender made by `new` keeps no schedule; a schedule that overflows is refused.
    let mut plain = LiveFrames::new("va", &frame(0x0800)).unwrap();
    assert!(plain.send_paced(&call).is_err());
    let huge = PacedCall { count: 3, first_due_ns: 0, gap_num: u64::MAX / 2, gap_den: 1 };
    assert!(matches!(live.send_paced(&huge), Err(Error::InvalidConfig { .. })));
}

/// `napi/<iface>-*` kernel threads (threaded NAPI), by pid.
fn napi_threads(iface: &str) -> Vec<u32> {
    let prefix = format!("napi/{iface}-");
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm"))
                .is_ok_and(|c| c.trim_end().starts_with(&prefix))
        })
        .collect()
}

/// Frames the target refuses (veth: its peer's 256-slot ring is full) are counted as they
/// happen, and exactly: what the calls ran = what the peer counted + what was refused. The
/// peer's NAPI runs in its own thread (threaded), pinned to the other core, where a
/// `SCHED_FIFO` spinner keeps it from running while the frames go: the ring overflows.
#[test]
fn paced_live_frames_count_what_the_target_refuses() {
    let Some(_ns) = privileged("paced_live_frames_count_what_the_target_refuses") else {
        return;
    };
    if !kernel_has("paced_live_frames_count_what_the_target_refuses", probe_paced_live_frames()) {
        return;
    }
    let cpus = crate::cpu::online_cpus().unwrap();
    assert!(cpus >= 2, "the test keeps the peer's NAPI off the sender's core: needs 2 CPUs");
    veth_pair();
    let counter = XdpDropCounter::attach("vb").unwrap();
    let before = napi_threads("vb");
    // sysfs shows the namespace it was mounted in: mount one for this namespace, privately.
    sh("unshare -m sh -c 'mount -t sysfs none /sys && echo 1 > /sys/class/net/vb/threaded'");
    let ours: Vec<u32> = napi_threads("vb").into_iter().filter(|p| !before.contains(p)).collect();
    assert!(!ours.is_empty(), "no napi/vb-* thread appeared");
    let busy = cpus - 1;
    crate::cpu::pin_current_thread(0).unwrap();
    for pid in ours {
        crate::cpu::set_task_affinity(pid, &[busy]).unwrap();
    }
    let limits = PacingLimits { max_late_ns: 1_000_000_000, late_after_ns: 100_000 };
    let mut live = LiveFrames::paced("va", &frame(0x0800), LIVE_FRAMES_MAX_BATCH, limits).unwrap();
    // It ends by itself (nothing else may run on its core meanwhile to stop it).
    let mut spinner = std::process::Command::new("chrt")
        .args(["-f", "10", "taskset", "-c", &busy.to_string(), "python3", "-c"])
        .arg("import time\nend = time.monotonic() + 0.3\nwhile time.monotonic() < end: pass")
        .spawn()
        .expect("chrt runs");
    std::thread::sleep(std::time::Duration::from_millis(50));
    let mut ran = 0u64;
    let mut stats = PacingStats::default();
    for _ in 0..10 {
        let call = PacedCall { count: 4096, first_due_ns: monotonic_ns(), gap_num: 0, gap_den: 1 };
        stats = live.send_paced(&call).unwrap();
        ran += 4096;
    }
    let _ = spinner.wait();
    assert!(stats.refused > 0, "no frame refused: the test did not overflow the ring: {stats:?}");
    let tally = settled(&counter, ran - stats.refused);
    assert_eq!(tally.frames + stats.refused, ran, "{tally:?} {stats:?}");
}
