//! `fastnet`: the fast packet I/O a netlab lab measures, behind a safe API.
//!
//! The crate is organised by kernel mechanism, in the order the lesson walks through them:
//!
//! - [`afpacket`]: `AF_PACKET` sockets — one `recv` per frame, `recvmmsg` batches, the
//!   `PACKET_RX_RING` (TPACKET_V3) walked in place, and the send side (`send`, `sendmmsg`,
//!   `PACKET_TX_RING`).
//! - [`bpf`]: the handful of tiny BPF programs the lab needs, emitted as raw instructions,
//!   loaded, attached with `BPF_LINK_CREATE` and run with `BPF_PROG_RUN` live frames.
//! - [`xdp`]: `AF_XDP` sockets — UMEM, fill/completion/rx/tx rings.
//! - [`netns`]: network namespaces (create, enter on a dedicated thread, remove).
//! - [`tally`]: `do_something`, the per-frame work every receiver does.
//!
//! Every `unsafe` block lives under `sys/`, one choke point per mechanism, each with a
//! `// SAFETY:` comment. File descriptors are [`std::os::fd::OwnedFd`] from birth and memory
//! maps unmap on drop, so every error path releases what the kernel handed out.
#![deny(unsafe_code)]

pub mod afpacket;
pub mod bpf;
pub mod cpu;
pub mod error;
pub mod ethtool;
pub mod netns;
pub mod packet_socket;
pub mod poll;
pub mod rx;
/// The earlier name of [`cpu`], which now holds the CPU count and task affinity too; callers
/// should name [`cpu`].
pub use cpu as sched;
pub mod tally;
pub mod testing;
pub mod tx;
pub mod xdp;

#[allow(unsafe_code)]
pub(crate) mod sys;

pub use afpacket::ifindex;
pub use error::{Error, Result, SyscallError};
pub use tally::Tally;
