//! The only place in the workspace with `unsafe`: thin, typed wrappers over the kernel calls.
//!
//! Rules of this module:
//! - every call goes through [`syscall!`], which turns `-1` into the call's name plus `errno`;
//! - a new fd becomes an [`OwnedFd`] on the very next line, so every error path closes it;
//! - memory maps are [`Mmap`] values that unmap on drop;
//! - each `unsafe` block says why it is sound in a `// SAFETY:` comment.

use std::io;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};
use std::ptr::NonNull;

use crate::error::SyscallError;

pub(crate) mod bpf;
pub(crate) mod ethtool;
pub(crate) mod netns;
pub(crate) mod packet;
pub(crate) mod poll;
pub(crate) mod process;
pub(crate) mod sched;
pub(crate) mod sockopt;
pub(crate) mod xdp;

/// `syscall!(name(args…))` calls `libc::name(args…)` and maps a `-1` return to a
/// [`SyscallError`] naming the call. The caller writes the `unsafe` block and its `SAFETY` note
/// around the macro, so the reason sits next to the call it justifies.
///
/// `syscall!(name(args…), "name(DETAIL)")` names the call in more detail for the error.
macro_rules! syscall {
    ($fn:ident ( $($arg:expr),* $(,)? )) => {
        $crate::sys::check(libc::$fn($($arg),*), stringify!($fn))
    };
    ($fn:ident ( $($arg:expr),* $(,)? ), $call:expr) => {
        $crate::sys::check(libc::$fn($($arg),*), $call)
    };
}
pub(crate) use syscall;

/// Return values that signal failure with `-1` (`c_int`, `isize`, `c_long`).
pub(crate) trait MinusOne: Copy + PartialEq {
    const MINUS_ONE: Self;
}
impl MinusOne for i32 {
    const MINUS_ONE: Self = -1;
}
impl MinusOne for isize {
    const MINUS_ONE: Self = -1;
}
impl MinusOne for i64 {
    const MINUS_ONE: Self = -1;
}

/// Maps a `-1` return to the call's name and `errno`.
#[inline]
pub(crate) fn check<T: MinusOne>(ret: T, call: &'static str) -> Result<T, SyscallError> {
    if ret == T::MINUS_ONE {
        Err(SyscallError { call, source: io::Error::last_os_error() })
    } else {
        Ok(ret)
    }
}

/// Wraps a file descriptor a syscall just returned.
///
/// # Safety
/// `fd` must be a freshly returned, open descriptor that nothing else owns.
#[inline]
pub(crate) unsafe fn owned_fd(fd: RawFd) -> OwnedFd {
    // SAFETY: the caller guarantees `fd` is open and owned by nobody else.
    unsafe { OwnedFd::from_raw_fd(fd) }
}

/// A shared memory map of a kernel object (a packet ring, an AF_XDP ring, a UMEM), unmapped on
/// drop.
#[derive(Debug)]
pub(crate) struct Mmap {
    ptr: NonNull<u8>,
    len: usize,
}

// SAFETY: the mapping is plain memory shared with the kernel; moving the owner across threads
// does not change who may touch it, and all access goes through `&self`/`&mut self`.
unsafe impl Send for Mmap {}

impl Mmap {
    /// Maps `len` bytes of `fd` at `offset`, shared, read-write; `MAP_POPULATE` when `populate`.
    pub(crate) fn shared(
        fd: std::os::fd::BorrowedFd<'_>,
        len: usize,
        offset: libc::off_t,
        populate: bool,
        call: &'static str,
    ) -> Result<Self, SyscallError> {
        use std::os::fd::AsRawFd;
        let flags = libc::MAP_SHARED | if populate { libc::MAP_POPULATE } else { 0 };
        // SAFETY: a fresh mapping chosen by the kernel (addr = NULL) cannot alias Rust memory;
        // the fd is borrowed and open for the duration of the call.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                flags,
                fd.as_raw_fd(),
                offset,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(SyscallError { call, source: io::Error::last_os_error() });
        }
        let ptr = NonNull::new(ptr.cast::<u8>())
            .ok_or(SyscallError { call, source: io::Error::from_raw_os_error(libc::ENOMEM) })?;
        Ok(Self { ptr, len })
    }

    /// Anonymous private memory (a UMEM), zeroed by the kernel.
    pub(crate) fn anonymous(len: usize, call: &'static str) -> Result<Self, SyscallError> {
        // SAFETY: a fresh anonymous mapping chosen by the kernel cannot alias Rust memory.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_POPULATE,
                -1,
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(SyscallError { call, source: io::Error::last_os_error() });
        }
        let ptr = NonNull::new(ptr.cast::<u8>())
            .ok_or(SyscallError { call, source: io::Error::from_raw_os_error(libc::ENOMEM) })?;
        Ok(Self { ptr, len })
    }

    /// Start of the mapping.
    #[inline]
    pub(crate) fn as_ptr(&self) -> *mut u8 {
        self.ptr.as_ptr()
    }

    /// Length in bytes.
    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.len
    }
}

impl Drop for Mmap {
    fn drop(&mut self) {
        // SAFETY: `ptr`/`len` describe a mapping this value created and nobody else unmaps;
        // after drop no reference into it can exist (borrows of `self` have ended).
        unsafe {
            libc::munmap(self.ptr.as_ptr().cast(), self.len);
        }
    }
}
