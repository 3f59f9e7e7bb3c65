//! `fastnet`: the fast packet I/O a netlab lab measures, behind a safe API.
//!
//! The modules, in the order the lesson walks through them:
//!
//! - [`tally`]: `do_something`, the per-frame work every receiver does ([`Tally`]).
//! - [`rx`], [`tx`]: the [`Receive`](rx::Receive) and [`Transmit`](tx::Transmit) traits every
//!   method implements, and the kernel's receive counters ([`RxStats`](rx::RxStats)).
//! - [`afpacket`]: `AF_PACKET` sockets — `recv` per frame, `recvmmsg`, the TPACKET_V3
//!   `PACKET_RX_RING`; `send`, `sendmmsg`, the `PACKET_TX_RING`.
//! - [`bpf`]: tiny BPF programs as raw instructions, maps, XDP links, `BPF_PROG_RUN` live frames.
//! - [`xdp`]: `AF_XDP` receive (`fastnet:3`): UMEM, fill and rx rings, the XSKMAP redirect.
//! - [`packet_socket`]: drop counters and buffer sizing for `AF_PACKET` sockets others opened.
//! - [`caps`]: kernel features that differ between machines, and turning one off to test the
//!   fallback ([`caps::WITHOUT_VAR`]).
//! - [`netns`]: network namespaces — create, enter on a dedicated thread, remove.
//! - [`restore`]: interface settings changed for a while, noted so that a later process puts
//!   them back after a `SIGKILL`.
//! - [`child`]: child processes the kernel kills when their parent dies.
//! - [`ethtool`]: generic receive offload, which on a veth decides whether it runs NAPI.
//! - [`cpu`]: online and possible CPUs, pinning threads and kthreads, on-CPU time.
//! - [`poll`]: waiting for a descriptor to become readable.
//! - [`error`]: [`Error`], with every failed kernel call named in a [`SyscallError`].
//! - `testing` (feature `testing`): privileged tests in a throwaway network namespace.
//!
//! All code that talks to the kernel directly lives under `sys/`, one choke point per
//! mechanism, each block with a `// SAFETY:` comment. File descriptors are
//! [`std::os::fd::OwnedFd`] from birth and memory maps unmap on drop, so every error path
//! releases what the kernel handed out.
#![deny(unsafe_code)]
#![warn(clippy::too_many_lines)]

pub mod afpacket;
pub mod bpf;
pub mod caps;
pub mod child;
pub mod cpu;
pub mod error;
pub mod ethtool;
pub mod netns;
pub mod packet_socket;
pub mod poll;
pub mod restore;
pub mod rx;
pub mod tally;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
pub mod tx;
pub mod xdp;

#[allow(unsafe_code)]
pub(crate) mod sys;

pub use afpacket::ifindex;
pub use error::{Error, Result, SyscallError};
pub use tally::{Tally, Tap};
