//! Errors: every failed kernel call names the call it was.

use std::fmt;
use std::io;
use std::path::PathBuf;

/// A system call that failed, with the name of the call (`"setsockopt(PACKET_RX_RING)"`).
///
/// Its text is the call and the kernel's answer, `setns: Operation not permitted (os error 1)`.
/// The answer is part of the message, not a separate cause in the error chain: a chain printer
/// (`anyhow`'s `{:#}`) would print it twice otherwise.
#[derive(Debug)]
pub struct SyscallError {
    /// The call, written the way the kernel documentation names it.
    pub call: &'static str,
    /// What the kernel answered.
    pub source: io::Error,
}

impl fmt::Display for SyscallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.call, self.source)
    }
}

impl std::error::Error for SyscallError {}

impl SyscallError {
    /// The error number the kernel returned, if any.
    pub fn raw_os_error(&self) -> Option<i32> {
        self.source.raw_os_error()
    }
}

/// Everything `fastnet` can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A kernel call failed.
    #[error(transparent)]
    Syscall(#[from] SyscallError),
    /// A call on a file (a namespace file under `/run/netns`, say) failed; the message names
    /// the real path: `unlink /run/netns/netlab-a: Device or resource busy (os error 16)`.
    #[error("{call} {}: {io_error}", path.display())]
    Path {
        /// The call (`"unlink"`).
        call: &'static str,
        /// The file it was made on.
        path: PathBuf,
        /// What the kernel answered (part of the message, not a separate cause).
        io_error: io::Error,
    },
    /// No interface of that name in the current network namespace.
    #[error("no interface named `{0}`")]
    NoSuchInterface(String),
    /// A configuration value the mechanism cannot use.
    #[error("invalid {what}: {why}")]
    InvalidConfig {
        /// The setting at fault (`"ring block size"`).
        what: &'static str,
        /// Why it cannot be used.
        why: String,
    },
    /// The BPF verifier rejected a program; `log` is what it said (level-1 log, trimmed).
    #[error("{source}: the verifier rejected BPF program `{name}`:\n{log}")]
    ProgramRejected {
        /// The program's name.
        name: String,
        /// The failed `bpf(BPF_PROG_LOAD)`.
        source: SyscallError,
        /// The verifier log.
        log: String,
    },
    /// The kernel lacks a feature this mechanism needs.
    #[error("{feature} is not supported here: {why}")]
    Unsupported {
        /// The feature (`"AF_XDP"`, `"BPF_F_TEST_XDP_LIVE_FRAMES"`).
        feature: &'static str,
        /// What the kernel said.
        why: String,
    },
}

impl Error {
    /// The error number of a failed kernel call ([`Error::Syscall`], [`Error::Path`]); `None`
    /// for the others.
    pub fn raw_os_error(&self) -> Option<i32> {
        match self {
            Error::Syscall(e) => e.raw_os_error(),
            Error::Path { io_error, .. } => io_error.raw_os_error(),
            _ => None,
        }
    }
}

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
