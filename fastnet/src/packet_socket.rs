//! AF_PACKET sockets that another library opened (pnet's datalink channel, for instance): the
//! kernel's counters for them, so those methods report drops the way fastnet's own do.
//!
//! A thin face of [`crate::afpacket`] (which owns the socket options); nothing there uses this
//! module.

use std::os::fd::BorrowedFd;

use crate::afpacket::{self, SocketBuffer};
use crate::error::Result;
use crate::rx::RxStats;

/// Reads `PACKET_STATISTICS` of the AF_PACKET socket `fd` and adds it to `total`, which it
/// returns: the kernel resets the counters on every read, so keep one `total` per socket.
#[doc(alias = "PACKET_STATISTICS")]
pub fn accumulate_statistics(fd: BorrowedFd<'_>, total: &mut RxStats) -> Result<RxStats> {
    afpacket::accumulate_statistics(fd, total)
}

/// Sets the receive buffer of socket `fd` to `bytes` the way fastnet's own receivers do:
/// `SO_RCVBUFFORCE` (root may exceed `net.core.rmem_max`), falling back to `SO_RCVBUF` without
/// the privilege. Returns what the kernel reports back (`SO_RCVBUF`, twice the usable size: the
/// other half is bookkeeping).
#[doc(alias = "SO_RCVBUFFORCE")]
pub fn set_receive_buffer(fd: BorrowedFd<'_>, bytes: usize) -> Result<usize> {
    afpacket::set_socket_buffer(fd, SocketBuffer::Receive, bytes)
}
