//! NAPI interrupt deferral of the interface an [`XskRx`](super::XskRx) receives on: its
//! `napi_defer_hard_irqs` and `gro_flush_timeout`, retuned as the rate changes and restored
//! when the receiver closes.
//!
//! With both set, a NAPI poll that empties the device's queue does not re-arm the device's
//! "interrupt" (on a veth: the peer's transmit waking the NAPI thread) but a timer of
//! `gro_flush_timeout`; frames arriving meanwhile wait in the device's queue, and the next poll
//! takes them all. veth honours it (`veth_poll` keeps `rx_notify_masked` while
//! `napi_complete_done` says the timer is armed): the NAPI thread then runs once per timeout
//! instead of once per frame or two at low rates.
//!
//! The files are opened once, in the receiver's network namespace (through a private sysfs
//! mount when the `/sys` this process sees is another namespace's, see
//! [`NetNs::run_with_sysfs`]), and kept open, so retuning is one `pwrite` with no mount and no
//! netlink. Both values are noted in [`crate::restore`]'s journal first, so that a receiver
//! killed with `SIGKILL` has them put back by the next netlab that starts.

use std::fs::File;
use std::os::unix::fs::FileExt as _;
use std::time::Duration;

use crate::error::{Error, Result, SyscallError};
use crate::netns::NetNs;
use crate::restore::Changed;

/// `napi_defer_hard_irqs` while a receiver holds the interface: empty polls in a row that
/// still re-arm the timer instead of the device's interrupt (the value the kernel's docs use
/// for AF_XDP busy polling).
pub(crate) const DEFER_HARD_IRQS: u32 = 2;

/// Frames the device's queue may gather while NAPI waits for its timer: half of veth's
/// 256-slot ring, so a paced flow never fills it because of the deferral.
pub(crate) const QUEUE_FRAMES: u32 = 128;

/// A deferral shorter than this gets no timer: 0 (high rates and flood, or no rate known yet).
/// Why 100 µs: the timer fires and wakes the NAPI thread late by tens of microseconds on a
/// busy VM, and a shorter deferral (128 frames at more than 1.28 Mpps) left too little room in
/// veth's ring for that — at 2 Mpps into fastnet:3 the peer refused 5.8 % of the frames with
/// the deferral and 1.6 % without — while at such rates NAPI finds frames at every poll anyway.
pub(crate) const MIN_TIMEOUT: Duration = Duration::from_micros(100);

/// The two sysfs files of one interface, open for writing, and what they held before.
#[derive(Debug)]
pub(crate) struct NapiDefer {
    defer_irqs: File,
    timeout: File,
    saved_defer_irqs: String,
    saved_timeout: String,
    /// What `gro_flush_timeout` holds now.
    current: Duration,
    /// The notes that put both back after a `SIGKILL` (dropped after [`Drop::drop`] did).
    _notes: [Changed; 2],
}

fn sysfs_err(call: &'static str, source: std::io::Error) -> Error {
    Error::Syscall(SyscallError { call, source })
}

impl NapiDefer {
    /// Opens `ifname`'s deferral files (in the calling thread's namespace), remembers their
    /// values and sets `napi_defer_hard_irqs` to [`DEFER_HARD_IRQS`] and `gro_flush_timeout`
    /// to 0 (no deferral until [`NapiDefer::retune`] knows the rate).
    pub(crate) fn open(ifname: &str) -> Result<Self> {
        let ns = NetNs::current()?;
        let name = ifname.to_string();
        let (defer_irqs, timeout) = ns.run_with_sysfs(move |sys| -> Result<(File, File)> {
            let dir = sys.join("class/net").join(&name);
            let open = |name: &str, call| {
                File::options()
                    .read(true)
                    .write(true)
                    .open(dir.join(name))
                    .map_err(|e| sysfs_err(call, e))
            };
            Ok((
                open("napi_defer_hard_irqs", "open(/sys/class/net/…/napi_defer_hard_irqs)")?,
                open("gro_flush_timeout", "open(/sys/class/net/…/gro_flush_timeout)")?,
            ))
        })??;
        let read = |f: &File, call| -> Result<String> {
            let mut buf = [0u8; 32];
            let n = f.read_at(&mut buf, 0).map_err(|e| sysfs_err(call, e))?;
            Ok(String::from_utf8_lossy(&buf[..n]).trim().to_string())
        };
        let saved_defer_irqs = read(&defer_irqs, "read(napi_defer_hard_irqs)")?;
        let saved_timeout = read(&timeout, "read(gro_flush_timeout)")?;
        let notes = [
            Changed::note(ifname, "napi_defer_hard_irqs", &saved_defer_irqs)?,
            Changed::note(ifname, "gro_flush_timeout", &saved_timeout)?,
        ];
        let mut this = Self {
            defer_irqs,
            timeout,
            saved_defer_irqs,
            saved_timeout,
            current: Duration::MAX,
            _notes: notes,
        };
        write(&this.defer_irqs, &DEFER_HARD_IRQS.to_string(), "write(napi_defer_hard_irqs)")?;
        this.set(Duration::ZERO)?;
        Ok(this)
    }

    /// What `gro_flush_timeout` holds now.
    pub(crate) fn timeout(&self) -> Duration {
        self.current
    }

    /// Sets `gro_flush_timeout` to `want` (0 below [`MIN_TIMEOUT`]) when it is off by more
    /// than a factor of two, or one of them is 0 and the other not: a rate that wobbles does
    /// not rewrite it at every drain.
    pub(crate) fn retune(&mut self, want: Duration) -> Result<()> {
        let want = if want < MIN_TIMEOUT { Duration::ZERO } else { want };
        let now = self.current;
        let off = if want.is_zero() || now.is_zero() {
            want != now
        } else {
            want > now * 2 || want * 2 < now
        };
        if off {
            self.set(want)?;
        }
        Ok(())
    }

    fn set(&mut self, timeout: Duration) -> Result<()> {
        write(&self.timeout, &timeout.as_nanos().to_string(), "write(gro_flush_timeout)")?;
        self.current = timeout;
        Ok(())
    }
}

fn write(f: &File, value: &str, call: &'static str) -> Result<()> {
    f.write_at(value.as_bytes(), 0).map(drop).map_err(|e| sysfs_err(call, e))
}

impl Drop for NapiDefer {
    /// Puts both values back as they were (best effort: the interface may be gone).
    fn drop(&mut self) {
        let _ = write(&self.timeout, &self.saved_timeout, "write(gro_flush_timeout)");
        let _ = write(&self.defer_irqs, &self.saved_defer_irqs, "write(napi_defer_hard_irqs)");
    }
}
