//! A QEMU guest running Debian 12's 6.1 kernel over this machine's own files (shared
//! read-only over 9p by virtme-ng), with NICs on taps in the test thread's network namespace.
//!
//! The guest runs one shell script and powers off. What the script writes into the guest's
//! one writable directory (a temp directory of the test's own, the same path on both sides) is
//! how the two sides talk: the host waits for a file, or a line in one, then acts. The guest's
//! console (the kernel's messages, and the script's own output where virtme-ng cannot give it
//! its virtio-serial ports) goes to a file there too, for failure messages.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// Where `scripts/deps` puts the guest's kernel (`kernel/`) and virtme-ng (`venv/`).
pub fn cache_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("NETLAB_VM_CACHE") {
        return Some(dir.into());
    }
    let cache = match std::env::var_os("XDG_CACHE_HOME") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(std::env::var_os("HOME")?).join(".cache"),
    };
    Some(cache.join("netlab/vm"))
}

/// What booting a guest needs, found where `scripts/deps` installs it.
#[derive(Debug)]
pub struct Prerequisites {
    vng: PathBuf,
    kernel: PathBuf,
}

impl Prerequisites {
    /// The prerequisites, or why they are missing (one line).
    pub fn find() -> Result<Prerequisites, String> {
        let fix = "run scripts/deps (as root)";
        let on_path = |exe: &str| {
            std::env::var_os("PATH")
                .is_some_and(|path| std::env::split_paths(&path).any(|d| d.join(exe).is_file()))
        };
        if !on_path("qemu-system-x86_64") {
            return Err(format!("no qemu-system-x86_64 on PATH: {fix}"));
        }
        if !Path::new("/dev/net/tun").exists() {
            return Err("no /dev/net/tun: the guest's NICs are taps".into());
        }
        let dir = cache_dir().ok_or("neither NETLAB_VM_CACHE nor HOME is set")?;
        let vng = dir.join("venv/bin/vng");
        if !vng.is_file() {
            return Err(format!("no virtme-ng at {}: {fix}", vng.display()));
        }
        let boot = dir.join("kernel/boot");
        let mut kernels: Vec<PathBuf> = std::fs::read_dir(&boot)
            .map_err(|e| format!("no guest kernel in {}: {e}: {fix}", boot.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.file_name().is_some_and(|n| n.to_string_lossy().starts_with("vmlinuz-")))
            .collect();
        match kernels.len() {
            1 => Ok(Prerequisites { vng, kernel: kernels.remove(0) }),
            0 => Err(format!("no vmlinuz-* in {}: {fix}", boot.display())),
            _ => Err(format!("more than one vmlinuz-* in {}: {kernels:?}", boot.display())),
        }
    }
}

/// A NIC of the guest: a QEMU device on a tap of the test's namespace.
#[derive(Debug, Clone)]
pub struct Nic {
    /// What the test calls it (`e1000`, `virtio-net`).
    pub name: &'static str,
    /// QEMU's device model.
    pub device: &'static str,
    /// The guest kernel's module for it.
    pub module: &'static str,
    /// The tap on the host.
    pub tap: String,
    /// The NIC's MAC address: QEMU's NICs take only frames sent to it.
    pub mac: String,
}

/// A running guest; killed (its whole process group) on drop.
#[derive(Debug)]
pub struct Guest {
    child: Child,
    dir: tempfile::TempDir,
    started: Instant,
}

impl Guest {
    /// Boots the guest on 2 cores (TCG: with KVM the guest hangs at boot on this machine kind)
    /// with `nics`, running the shell script `script` makes of the shared directory's path,
    /// with `cwd` as its working directory. The taps must exist in the calling thread's network
    /// namespace.
    pub fn boot(
        prereq: &Prerequisites,
        nics: &[Nic],
        cwd: &Path,
        script: impl FnOnce(&Path) -> String,
    ) -> Guest {
        let dir = tempfile::Builder::new().prefix("netlab-vm-").tempdir().unwrap();
        let script_path = dir.path().join("guest.sh");
        std::fs::write(&script_path, script(dir.path())).unwrap();
        let mut qemu = Vec::new();
        for (i, nic) in nics.iter().enumerate() {
            qemu.push(format!(
                "-netdev tap,id=n{i},ifname={},script=no,downscript=no -device {},netdev=n{i},mac={}",
                nic.tap, nic.device, nic.mac
            ));
        }
        let console = std::fs::File::create(dir.path().join("console.log")).unwrap();
        let mut cmd = Command::new(&prereq.vng);
        cmd.arg("--verbose") // the console carries the script's output (see the module docs)
            .arg("--force-9p") // virtiofs needs a daemon this machine kind does not have
            .arg("--disable-kvm")
            .args(["--cpus", "2", "--memory", "1G"])
            .arg(format!("--rwdir={}", dir.path().display()))
            .arg("--run")
            .arg(&prereq.kernel)
            .arg(format!("--qemu-opts={}", qemu.join(" ")))
            .arg("--exec")
            .arg(format!("sh {}", script_path.display()))
            .current_dir(cwd)
            .stdin(Stdio::null())
            .stdout(console.try_clone().unwrap())
            .stderr(console);
        // Its own process group: virtme-ng's python starts QEMU as a child, and drop ends both.
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        let child = cmd.spawn().unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
        Guest { child, dir, started: Instant::now() }
    }

    /// The directory both sides write to (the same path in the guest).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// A file the guest wrote, if it is there yet.
    pub fn read(&self, name: &str) -> Option<String> {
        std::fs::read_to_string(self.dir.path().join(name)).ok()
    }

    /// A one-line file the guest wrote (`echo … >FILE`), once the line is whole: the shell
    /// creates the file before it writes the line.
    pub fn line(&self, name: &str) -> Option<String> {
        let text = self.read(name)?;
        text.ends_with('\n').then(|| text.trim().to_string())
    }

    /// Waits until `done` holds of the guest's files, the guest has powered off, or `timeout`
    /// has passed; true when `done` held.
    pub fn wait_for(&mut self, timeout: Duration, mut done: impl FnMut(&Guest) -> bool) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            if done(self) {
                return true;
            }
            if Instant::now() >= deadline || self.child.try_wait().unwrap().is_some() {
                return done(self);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits for the guest to power off; `None` if it is still running after `timeout`.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Time since the guest was started.
    pub fn uptime(&self) -> Duration {
        self.started.elapsed()
    }

    /// The console's last lines, for a failure message.
    pub fn console_tail(&self, lines: usize) -> String {
        let text = self.read("console.log").unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }
}

impl Drop for Guest {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            if let Some(pid) = rustix::process::Pid::from_raw(self.child.id() as i32) {
                let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
            }
            let _ = self.child.wait();
        }
    }
}
