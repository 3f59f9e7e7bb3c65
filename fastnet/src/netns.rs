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
use std::os::unix::fs::{DirBuilderExt as _, MetadataExt as _, OpenOptionsExt as _};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result, SyscallError};
use crate::sys;

/// Where `ip netns` keeps named namespaces.
pub const NETNS_RUN_DIR: &str = "/run/netns";

/// What a name under [`NETNS_RUN_DIR`] is ([`NetNs::state_of`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NamedState {
    /// No such entry.
    Missing,
    /// A namespace is mounted on it.
    Namespace,
    /// An empty file with nothing mounted on it: a namespace whose maker died between creating
    /// the file and mounting the namespace (debris; [`NetNs::remove_named`] removes it).
    Unmounted,
    /// Something else (a directory, a file with content).
    Other,
}

/// Makes [`NETNS_RUN_DIR`] what `ip netns add` makes it before its first namespace: a mount
/// point of its own (a bind mount onto itself, if it is not one yet) with shared, recursive
/// propagation, so the namespaces that anyone bind-mounts below it are seen by everyone, and a
/// later `ip netns add` finds it ready instead of mounting it over the namespaces already there
/// (which would hide them, and they could then be neither unmounted nor unlinked).
///
/// The order is iproute2's (`netns_add` in `ip/ipnetns.c`): create the directory; take an
/// exclusive `flock` on it (two processes doing this at once would stack bind mounts; a lock
/// that cannot be taken is only a warning there, and is skipped here); make it shared; if that
/// fails with `EINVAL` (not a mount point), bind it onto itself once and try again.
/// Idempotent; [`NetNs::create_named`] calls it.
pub fn prepare_run_dir() -> Result<()> {
    let dir = Path::new(NETNS_RUN_DIR);
    match std::fs::DirBuilder::new().mode(0o755).create(dir) {
        Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => {
            return Err(path_err("mkdir", dir, e));
        }
        _ => {}
    }
    let lock = File::open(dir).map_err(|e| path_err("open", dir, e))?;
    // Released when `lock` closes, at the end of this function.
    let _ = sys::netns::lock_exclusive(lock.as_fd());
    let target = cstring(dir)?;
    let none = CString::new("none").expect("no NUL");
    let empty = CString::new("").expect("no NUL");
    let mut made_mount_point = false;
    loop {
        let shared = sys::netns::mount(
            Some(&empty),
            &target,
            Some(&none),
            libc::MS_SHARED | libc::MS_REC,
            "mount",
        );
        match shared {
            Ok(()) => return Ok(()),
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) && !made_mount_point => {
                sys::netns::mount(
                    Some(&target),
                    &target,
                    Some(&none),
                    libc::MS_BIND | libc::MS_REC,
                    "mount",
                )
                .map_err(|e| path_err("mount(MS_BIND|MS_REC)", dir, e.source))?;
                made_mount_point = true;
            }
            Err(e) => return Err(path_err("mount(MS_SHARED|MS_REC)", dir, e.source)),
        }
    }
}

/// A handle to a network namespace (an open `/proc/…/ns/net` or `/run/netns/NAME` fd).
#[derive(Debug)]
pub struct NetNs {
    fd: OwnedFd,
}

fn io_err(call: &'static str, source: std::io::Error) -> Error {
    Error::Syscall(SyscallError { call, source })
}

fn path_err(call: &'static str, path: &Path, io_error: std::io::Error) -> Error {
    Error::Path { call, path: path.to_path_buf(), io_error }
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

    /// A namespace from an open `ns/net` file.
    pub(crate) fn from_fd(fd: OwnedFd) -> Self {
        Self { fd }
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
                path_err("open", &path, e)
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
            Err(e) => return Err(path_err("opendir", Path::new(NETNS_RUN_DIR), e)),
        };
        let mut names: Vec<String> =
            dir.filter_map(|e| e.ok()).filter_map(|e| e.file_name().into_string().ok()).collect();
        names.sort();
        Ok(names)
    }

    /// Creates the named namespace `/run/netns/NAME` the way `ip netns add` does
    /// ([`prepare_run_dir`] first, then an empty file bind-mounted over with a new network
    /// namespace that a thread unshares). Fails if it already exists (`EEXIST`), leaving it
    /// alone; any other failure removes the file it made.
    pub fn create_named(name: &str) -> Result<Self> {
        if name.is_empty() || name.contains('/') || name == "." || name == ".." {
            return Err(Error::InvalidConfig {
                what: "namespace name",
                why: format!("`{name}` is not a valid file name"),
            });
        }
        prepare_run_dir()?;
        let path = Self::path_of(name);
        // O_EXCL: a second lab of the same name fails here and leaves the first alone.
        File::options()
            .read(true)
            .custom_flags(libc::O_CREAT | libc::O_EXCL)
            .mode(0o000)
            .open(&path)
            .map_err(|e| path_err("open(O_CREAT|O_EXCL)", &path, e))?;
        let target = cstring(&path)?;
        let made = std::thread::scope(|s| {
            s.spawn(|| -> Result<()> {
                sys::netns::unshare(libc::CLONE_NEWNET, "unshare(CLONE_NEWNET)")?;
                let source =
                    CString::new(format!("/proc/self/task/{}/ns/net", sys::netns::gettid()))
                        .expect("no NUL in a /proc path");
                sys::netns::mount(Some(&source), &target, None, libc::MS_BIND, "mount")
                    .map_err(|e| path_err("mount(MS_BIND)", &path, e.source))
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

    /// What `/run/netns/NAME` is: a namespace, a half-made entry, or nothing.
    pub fn state_of(name: &str) -> Result<NamedState> {
        let path = Self::path_of(name);
        let file = match std::fs::symlink_metadata(&path) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(NamedState::Missing),
            Err(e) => return Err(path_err("stat", &path, e)),
        };
        let dir = std::fs::metadata(NETNS_RUN_DIR)
            .map_err(|e| path_err("stat", Path::new(NETNS_RUN_DIR), e))?;
        // A namespace bind-mounted there lives on nsfs, another device than the directory.
        if file.dev() != dir.dev() {
            Ok(NamedState::Namespace)
        } else if file.is_file() && file.len() == 0 {
            Ok(NamedState::Unmounted)
        } else {
            Ok(NamedState::Other)
        }
    }

    /// Removes the named namespace (unmount + unlink, as `ip netns del`); also a half-made one
    /// (an empty file nothing is mounted on). Interfaces inside it vanish once nothing else
    /// holds the namespace. Missing is not an error.
    pub fn remove_named(name: &str) -> Result<()> {
        let path = Self::path_of(name);
        if !path.exists() {
            return Ok(());
        }
        let target = cstring(&path)?;
        // EINVAL: not a mount point (a half-made namespace); the file is removed all the same.
        if let Err(e) = sys::netns::umount_detach(&target) {
            if e.raw_os_error() != Some(libc::EINVAL) {
                return Err(path_err("umount2(MNT_DETACH)", &path, e.source));
            }
        }
        match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(path_err("unlink", &path, e)),
            _ => Ok(()),
        }
    }

    /// Processes with a thread inside the named namespace, sorted (what `ip netns pids`
    /// shows, looking at every thread): they keep it alive after [`NetNs::remove_named`].
    pub fn holders(name: &str) -> Result<Vec<u32>> {
        let path = Self::path_of(name);
        let ns = std::fs::metadata(&path).map_err(|e| path_err("stat", &path, e))?;
        let id = (ns.dev(), ns.ino());
        let proc = std::fs::read_dir("/proc").map_err(|e| io_err("opendir(/proc)", e))?;
        let mut pids = Vec::new();
        for pid in proc.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok()) {
            let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else { continue };
            let inside = tasks.filter_map(|t| t.ok()).any(|t| {
                std::fs::metadata(t.path().join("ns/net")).is_ok_and(|m| (m.dev(), m.ino()) == id)
            });
            if inside {
                pids.push(pid);
            }
        }
        Ok(pids)
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
    /// interfaces (`<root>/class/net/<dev>/…`, `root` being the path `f` gets): the thread gets
    /// a private mount namespace with a fresh sysfs mounted at `/sys`, never touching the
    /// host's `/sys` — unless the `/sys` it sees already is this namespace's, which it then
    /// uses as it is.
    ///
    /// The kernel keys a sysfs superblock by the network namespace of the process mounting it,
    /// and refuses (`EBUSY`) to mount a superblock on the very mount point where it already is
    /// the top mount: a mount that fails with `EBUSY` therefore says that `/sys` is this
    /// namespace's own sysfs — the host's namespace always, and a shell started with
    /// `ip netns exec`, which mounts its namespace's sysfs over `/sys`. Only a thread that
    /// entered a namespace with `setns` alone sees another namespace's `/sys`.
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
                match sys::netns::mount(Some(&sysfs), &target, Some(&sysfs), 0, "mount(sysfs)") {
                    // `/sys` already is this namespace's sysfs (see above).
                    Err(e) if e.raw_os_error() == Some(libc::EBUSY) => {}
                    other => other?,
                }
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
