//! `socket`: AF_PACKET through pnet's datalink channel — the way most programs start.
//!
//! One `poll` and one `recvfrom` per frame, one copy into pnet's read buffer. `-b/--buffer` is
//! the socket's receive buffer: pnet never sets it, so the socket is made here (with `socket2`),
//! sized exactly like `fastnet:1`'s (`SO_RCVBUFFORCE`, so root may exceed `net.core.rmem_max`;
//! `SO_RCVBUF` otherwise) and handed to pnet, which binds it to the interface. The granted size
//! is logged, with a warning when it is below the asked one.

use std::io;
use std::os::fd::AsFd;
use std::time::Duration;

use fastnet::rx::{Receive, RxStats, Wait};
use pnet::datalink::{self, Channel, DataLinkReceiver};
use socket2::{Domain, Protocol, Socket, Type};

/// pnet's read buffer: a whole frame of any MTU a veth or NIC here uses, so nothing is cut.
const READ_BUFFER: usize = 65_536;

/// The smallest `SO_RCVBUF` that holds one full-size frame (the kernel charges the skb's true
/// size, about 2 KiB for a 1500-byte frame).
pub const MIN_BUFFER: u64 = 4096;

/// A pnet datalink receiver bound to one interface.
pub struct SocketRx {
    rx: Box<dyn DataLinkReceiver>,
    /// A duplicate of pnet's socket, for `PACKET_STATISTICS` (pnet does not expose its fd).
    stats: Socket,
    /// `PACKET_STATISTICS` so far (the kernel resets them on every read).
    kernel: RxStats,
    wait: Wait,
}

impl std::fmt::Debug for SocketRx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SocketRx").field("wait", &self.wait).finish_non_exhaustive()
    }
}

fn io_error(call: &'static str, source: io::Error) -> fastnet::Error {
    fastnet::Error::Syscall(fastnet::SyscallError { call, source })
}

impl SocketRx {
    /// Opens an AF_PACKET socket on `iface` (in the calling thread's namespace) through pnet.
    /// `buffer` sets `SO_RCVBUF`; `wait` decides whether an idle receiver sleeps in `poll`
    /// ([`Wait::Poll`], up to `idle_wait` per call) or spins.
    pub fn open(
        iface: &str,
        buffer: Option<u64>,
        wait: Wait,
        idle_wait: Duration,
    ) -> fastnet::Result<Self> {
        let interface = datalink::interfaces()
            .into_iter()
            .find(|i| i.name == iface)
            .ok_or_else(|| fastnet::Error::NoSuchInterface(iface.to_string()))?;
        // Protocol 0: the socket sees nothing until pnet binds it to the interface with
        // ETH_P_ALL, so no frame of another interface slips in before the bind.
        let socket = Socket::new(Domain::PACKET, Type::RAW, Some(Protocol::from(0)))
            .map_err(|e| io_error("socket(AF_PACKET, SOCK_RAW)", e))?;
        if let Some(bytes) = buffer {
            let asked = usize::try_from(bytes).unwrap_or(usize::MAX);
            let granted = fastnet::packet_socket::set_receive_buffer(socket.as_fd(), asked)?;
            // The kernel reports twice what it accepted (half is bookkeeping).
            if granted / 2 < asked {
                tracing::warn!(
                    "socket: receive buffer {asked} B asked, {} B granted (without root the \
                     kernel caps it at net.core.rmem_max)",
                    granted / 2
                );
            } else {
                tracing::info!("socket: receive buffer {} B", granted / 2);
            }
        }
        let stats = socket.try_clone().map_err(|e| io_error("dup(AF_PACKET socket)", e))?;
        let config = datalink::Config {
            read_buffer_size: READ_BUFFER,
            write_buffer_size: 0,
            read_timeout: Some(match wait {
                Wait::Busy => Duration::ZERO,
                Wait::Poll => idle_wait,
            }),
            socket_fd: Some(std::os::fd::IntoRawFd::into_raw_fd(socket)),
            ..Default::default()
        };
        let rx = match datalink::channel(&interface, config) {
            Ok(Channel::Ethernet(_tx, rx)) => rx,
            Ok(_) => {
                return Err(fastnet::Error::Unsupported {
                    feature: "pnet Ethernet channel",
                    why: "pnet returned another channel type".into(),
                })
            }
            Err(e) => return Err(io_error("bind(AF_PACKET) via pnet", e)),
        };
        Ok(Self { rx, stats, kernel: RxStats::default(), wait })
    }
}

impl Receive for SocketRx {
    /// pnet's `next()`: `poll` (sleeping up to the idle wait fixed at open, or not at all when
    /// busy) then `recvfrom` — per frame, by definition of this method. Takes frames while they
    /// come, up to 64 per call, so the caller's loop runs once per burst, not once per frame.
    fn receive(
        &mut self,
        tally: &mut fastnet::Tally,
        _timeout: Duration,
    ) -> fastnet::Result<usize> {
        const BURST: usize = 64;
        let mut n = 0;
        while n < BURST {
            match self.rx.next() {
                Ok(frame) => {
                    tally.do_something(frame);
                    n += 1;
                }
                Err(e) if e.kind() == io::ErrorKind::TimedOut => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => break,
                Err(e) => return Err(io_error("poll+recvfrom(AF_PACKET) via pnet", e)),
            }
        }
        Ok(n)
    }

    fn kernel_stats(&mut self) -> fastnet::Result<RxStats> {
        fastnet::packet_socket::accumulate_statistics(self.stats.as_fd(), &mut self.kernel)
    }
}

/// The `socket` method.
#[derive(Debug)]
pub struct SocketMethod;

impl super::ReceiveMethod for SocketMethod {
    fn name(&self) -> &'static str {
        "socket"
    }
    fn mechanism(&self) -> &'static str {
        "AF_PACKET through pnet's datalink channel: poll + `recvfrom`, one copy per frame"
    }
    fn source(&self) -> &'static str {
        "src/method/socket.rs"
    }
    fn knobs(&self) -> &'static [super::KnobUse] {
        use super::{Knob, KnobUse};
        &[
            KnobUse { knob: Knob::Buffer, sets: "`SO_RCVBUF`" },
            KnobUse { knob: Knob::BusyWait, sets: "spin instead of sleeping in pnet's `poll`" },
            KnobUse { knob: Knob::Write, sets: "save what was received" },
        ]
    }
    fn min_buffer(&self) -> u64 {
        MIN_BUFFER
    }
    fn open(
        &self,
        iface: &str,
        config: &super::RecvConfig,
    ) -> Option<fastnet::Result<Box<dyn Receive>>> {
        Some(
            SocketRx::open(iface, config.buffer, config.wait.into(), super::IDLE_WAIT)
                .map(|rx| Box::new(rx) as Box<dyn Receive>),
        )
    }
    fn drop_stage(&self) -> super::DropStage {
        super::DropStage::SocketBuffer
    }
}
