//! What every send path has in common: hand frames to the kernel as fast as it takes them, and
//! say exactly how many it took and, when it took none, why (with the `errno`).
//!
//! Implemented by [`afpacket::SendTx`](crate::afpacket::SendTx),
//! [`afpacket::MmsgTx`](crate::afpacket::MmsgTx) and [`afpacket::RingTx`](crate::afpacket::RingTx).
//! Pacing is the caller's business: a sender hands over what it is given, at once.

/// A send path bound to one interface.
pub trait Transmit: Send {
    /// Hands `frames` (which may repeat the same frame) to the kernel, in order.
    ///
    /// - `Ok(n)`: `frames[..n]` were taken. `n < frames.len()` when the socket buffer or ring
    ///   is full right now: retry the rest. `n == 0` only when `frames` is empty, or a ring stayed
    ///   full for the whole of its short wait.
    /// - `Err(e)`: the kernel refused `frames[0]` and took nothing. A refusal is an
    ///   [`Error::Syscall`](crate::Error::Syscall) whose
    ///   [`raw_os_error`](crate::Error::raw_os_error) classifies it (`ENOBUFS`: the device
    ///   queue is full, `EMSGSIZE`: larger than the MTU, `ENETDOWN`/`ENXIO`: interface down or
    ///   gone).
    fn transmit(&mut self, frames: &[&[u8]]) -> crate::Result<usize>;

    /// Makes sure everything taken so far has been given to the device: for a ring, kicks the
    /// kernel and waits until every slot completed; a no-op for per-call sends.
    fn flush(&mut self) -> crate::Result<()>;
}
