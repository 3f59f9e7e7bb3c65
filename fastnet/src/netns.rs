//! Network namespaces: handles, named namespaces (as `ip netns` makes them), and a guard that
//! gives the current thread a throwaway namespace.
//!
//! Namespace membership is per thread. Code that enters a namespace should do it on a
//! dedicated OS thread ([`NetNs::run`]), never inside async code: sockets opened there (netlink,
//! `AF_PACKET`, `AF_XDP`) stay bound to that namespace wherever they are used afterwards, and
//! children spawned from that thread start inside it.

use std::ffi::CString;
use std::fs::File;
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result, SyscallError};
use crate::sys;

/// Where `ip netns` keeps named namespaces.
pub const NETNS_RUN_DIR: &str = "/run/netns";

/// A handle to a network namespace (an open `/proc/…/ns/net` or `/run/netns/NAME` fd).
#[derive(Debug)]
pub struct NetNs {
    fd: OwnedFd,
}

fn io_err(call: &'static str, source: std::io::Error) -> Error {
    Error::Syscall(SyscallError { call, source })
}

fn cstring(path: &Path) -> Result<CString> {
    CString::new(path.as_os_str().as_encoded_bytes()).map_err(|_| Error::InvalidConfig {
        what: "namespace path",
        why: format!("{} contains a NUL byte", path.display()),
    })
}

impl NetNs {
    /// The namespace the calling thread is in now.
    pub fn current() -> Result<Self> {
        let file = File::open("/proc/thread-self/ns/net")
            .map_err(|e| io_err("open(/proc/thread-self/ns/net)", e))?;
        Ok(Self { fd: file.into() })
    }

    /// The named namespace `/run/netns/NAME`.
    pub fn open_named(name: &str) -> Result<Self> {
        let path = Self::path_of(name);
        let file = File::open(&path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                Error::InvalidConfig {
                    what: "network namespace",
                    why: format!("no namespace named `{name}` ({} is missing)", path.display()),
                }
            } else {
                io_err("open(/run/netns/NAME)", e)
            }
        })?;
        Ok(Self { fd: file.into() })
    }

    /// The path of a named namespace.
    pub fn path_of(name: &str) -> PathBuf {
        Path::new(NETNS_RUN_DIR).join(name)
    }

    /// Whether a named namespace exists.
    pub fn exists(name: &str) -> bool {
        Self::path_of(name).exists()
    }

    /// Names of all named namespaces (`ip netns list`).
    pub fn list_named() -> Result<Vec<String>> {
        let dir = match std::fs::read_dir(NETNS_RUN_DIR) {
            Ok(d) => d,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io_err("opendir(/run/netns)", e)),
        };
        let mut names: Vec<String> =
            dir.filter_map(|e| e.ok()).filter_map(|e| e.file_name().into_string().ok()).collect();
        names.sort();
        Ok(names)
    }

    /// Creates the named namespace `/run/netns/NAME`, the way `ip netns add` does: a thread
    /// unshares a new network namespace and bind-mounts it there. Fails if it already exists.
    pub fn create_named(name: &str) -> Result<Self> {
        if name.is_empty() || name.contains('/') || name == "." || name == ".." {
            return Err(Error::InvalidConfig {
                what: "namespace name",
                why: format!("`{name}` is not a valid file name"),
            });
        }
        std::fs::create_dir_all(NETNS_RUN_DIR).map_err(|e| io_err("mkdir(/run/netns)", e))?;
        let path = Self::path_of(name);
        // create_new: a second lab of the same name fails here and leaves the first alone.
        File::options()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(|e| io_err("open(/run/netns/NAME, O_CREAT|O_EXCL)", e))?;
        let target = cstring(&path)?;
        let made = std::thread::scope(|s| {
            s.spawn(|| -> Result<()> {
                sys::netns::unshare(libc::CLONE_NEWNET, "unshare(CLONE_NEWNET)")?;
                let source =
                    CString::new(format!("/proc/self/task/{}/ns/net", sys::netns::gettid()))
                        .expect("no NUL in a /proc path");
                sys::netns::mount(
                    Some(&source),
                    &target,
                    None,
                    libc::MS_BIND,
                    "mount(MS_BIND, /run/netns/NAME)",
                )?;
                Ok(())
            })
            .join()
            .unwrap_or_else(|_| {
                Err(Error::InvalidConfig {
                    what: "namespace",
                    why: "creator thread panicked".into(),
                })
            })
        });
        if let Err(e) = made {
            let _ = std::fs::remove_file(&path);
            return Err(e);
        }
        Self::open_named(name)
    }

    /// Removes the named namespace (unmount + unlink, as `ip netns del`). Interfaces inside it
    /// vanish once nothing else holds the namespace. Missing is not an error.
    pub fn remove_named(name: &str) -> Result<()> {
        let path = Self::path_of(name);
        if !path.exists() {
            return Ok(());
        }
        let target = cstring(&path)?;
        // EINVAL: not a mount point (a half-made namespace); the file is removed all the same.
        if let Err(e) = sys::netns::umount_detach(&target) {
            if e.raw_os_error() != Some(libc::EINVAL) {
                return Err(e.into());
            }
        }
        match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(io_err("unlink(/run/netns/NAME)", e))
            }
            _ => Ok(()),
        }
    }

    /// Moves the calling thread into this namespace. Prefer [`NetNs::run`].
    pub fn enter(&self) -> Result<()> {
        sys::netns::setns(self.fd.as_fd(), libc::CLONE_NEWNET).map_err(Into::into)
    }

    /// Runs `f` on a new OS thread inside this namespace and returns its result. Sockets `f`
    /// opens stay in this namespace.
    pub fn run<R: Send>(&self, f: impl FnOnce() -> R + Send) -> Result<R> {
        std::thread::scope(|s| {
            s.spawn(|| {
                self.enter()?;
                Ok(f())
            })
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p))
        })
    }

    /// Runs `f` on a new OS thread inside this namespace with `/sys` showing this namespace's
    /// interfaces: the thread gets a private mount namespace with a fresh sysfs mounted at the
    /// returned path's root (`<root>/class/net/<dev>/…`), never touching the host's `/sys`.
    pub fn run_with_sysfs<R: Send>(&self, f: impl FnOnce(&Path) -> R + Send) -> Result<R> {
        std::thread::scope(|s| {
            s.spawn(|| -> Result<R> {
                sys::netns::unshare(libc::CLONE_NEWNS, "unshare(CLONE_NEWNS)")?;
                let root = CString::new("/").expect("no NUL");
                // Private propagation: nothing mounted below leaks back to the host.
                sys::netns::mount(
                    None,
                    &root,
                    None,
                    libc::MS_REC | libc::MS_PRIVATE,
                    "mount(MS_REC|MS_PRIVATE, /)",
                )?;
                self.enter()?;
                let sys_root = PathBuf::from("/sys");
                let target = cstring(&sys_root)?;
                let sysfs = CString::new("sysfs").expect("no NUL");
                sys::netns::mount(Some(&sysfs), &target, Some(&sysfs), 0, "mount(sysfs)")?;
                Ok(f(&sys_root))
            })
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p))
        })
    }
}

impl AsFd for NetNs {
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

/// Gives the calling thread a fresh, empty network namespace (only `lo`, down) and puts it back
/// where it was on drop; the namespace vanishes with its last user. For privileged tests.
#[derive(Debug)]
pub struct NetNsGuard {
    original: NetNs,
}

impl NetNsGuard {
    /// Unshares a new network namespace for the calling thread.
    pub fn new() -> Result<Self> {
        let original = NetNs::current()?;
        sys::netns::unshare(libc::CLONE_NEWNET, "unshare(CLONE_NEWNET)")?;
        Ok(Self { original })
    }
}

impl Drop for NetNsGuard {
    fn drop(&mut self) {
        if let Err(e) = self.original.enter() {
            // Leaving the thread in the throwaway namespace would make later code on this
            // thread act on the wrong interfaces; there is no safe way to go on.
            panic!("cannot return to the original network namespace: {e}");
        }
    }
}
