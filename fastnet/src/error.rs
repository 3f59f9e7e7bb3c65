//! Errors: every failed kernel call names the call it was.

use std::io;

/// A system call that failed, with the name of the call (`"setsockopt(PACKET_RX_RING)"`).
#[derive(Debug, thiserror::Error)]
#[error("{call}: {source}")]
pub struct SyscallError {
    /// The call, written the way the kernel documentation names it.
    pub call: &'static str,
    /// What the kernel answered.
    #[source]
    pub source: io::Error,
}

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
    /// The error number of a failed kernel call ([`Error::Syscall`]); `None` for the others.
    pub fn raw_os_error(&self) -> Option<i32> {
        match self {
            Error::Syscall(e) => e.raw_os_error(),
            _ => None,
        }
    }
}

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
