//! Interface settings changed for a while and put back afterwards — also after a `SIGKILL`.
//!
//! A receiver changes a few sysfs settings of its interface for the time it runs (`threaded`,
//! `napi_defer_hard_irqs`, `gro_flush_timeout`) and writes the old values back when it ends.
//! A process killed with `SIGKILL` writes nothing back, so before changing a setting it leaves
//! a note in a small journal, [`JOURNAL_DIR`]: which setting of which interface in which
//! network namespace held what, and which process changed it. The note goes when the value
//! is back ([`Changed`]'s drop). [`replay`], called when netlab starts, writes back every
//! note whose process is gone and removes it.
//!
//! A note is one small text file, `key value` per line; a note that cannot be read, or whose
//! namespace or interface no longer exists (a lab taken down, an interface made anew under the
//! same name: another ifindex), is removed without writing anything.

use std::fs::File;
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::{Error, Result};
use crate::netns::NetNs;

/// Where the notes live (tmpfs: a reboot, which resets the settings, removes them too).
pub const JOURNAL_DIR: &str = "/run/netlab/restore";

/// When process `pid` started (`/proc/<pid>/stat` field 22, clock ticks since boot), `None`
/// when there is no such process: tells a process from a later one that got the same pid.
pub fn start_time(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The fields after `(comm)`, which may hold spaces: state is field 3, starttime field 22.
    let after = stat.get(stat.rfind(')')? + 2..)?;
    after.split_whitespace().nth(19)?.parse().ok()
}

/// One setting: a sysfs file of an interface (`/sys/class/net/<iface>/<file>`) in a network
/// namespace, and the value it held before it was changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting {
    /// The network namespace, as `(st_dev, st_ino)` of its `ns/net` file.
    pub netns: (u64, u64),
    /// The interface's name.
    pub iface: String,
    /// Its index (an interface made anew under the same name has another).
    pub ifindex: u32,
    /// The file under `/sys/class/net/<iface>/`.
    pub file: String,
    /// The value to put back.
    pub value: String,
}

/// The note of a changed setting: removed on drop (drop it once the value is back).
#[derive(Debug)]
pub struct Changed {
    path: PathBuf,
}

fn io(call: &'static str, path: &Path, io_error: std::io::Error) -> Error {
    Error::Path { call, path: path.to_path_buf(), io_error }
}

fn ns_id(path: &Path) -> Result<(u64, u64)> {
    let meta = std::fs::metadata(path).map_err(|e| io("stat", path, e))?;
    Ok((meta.dev(), meta.ino()))
}

impl Changed {
    /// Notes, before it is changed, that `file` of `iface` in the calling thread's network
    /// namespace holds `value`.
    pub fn note(iface: &str, file: &str, value: &str) -> Result<Changed> {
        static SEQ: AtomicU64 = AtomicU64::new(0);
        let setting = Setting {
            netns: ns_id(Path::new("/proc/thread-self/ns/net"))?,
            iface: iface.to_string(),
            ifindex: crate::ifindex(iface)?,
            file: file.to_string(),
            value: value.trim().to_string(),
        };
        let dir = Path::new(JOURNAL_DIR);
        std::fs::create_dir_all(dir).map_err(|e| io("mkdir", dir, e))?;
        let pid = std::process::id();
        let name = format!("{pid}-{}", SEQ.fetch_add(1, Ordering::Relaxed));
        let path = dir.join(&name);
        let temp = dir.join(format!(".{name}"));
        let text = format!(
            "pid {pid}\nstart {}\nnetns {} {}\niface {}\nifindex {}\nfile {}\nvalue {}\n",
            start_time(pid).unwrap_or(0),
            setting.netns.0,
            setting.netns.1,
            setting.iface,
            setting.ifindex,
            setting.file,
            setting.value
        );
        std::fs::write(&temp, text).map_err(|e| io("write", &temp, e))?;
        std::fs::rename(&temp, &path).map_err(|e| io("rename", &path, e))?;
        Ok(Changed { path })
    }
}

impl Drop for Changed {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// A note read back: the setting, and the process that changed it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Note {
    pid: u32,
    start: u64,
    setting: Setting,
}

fn parse(text: &str) -> Option<Note> {
    let field = |key: &str| {
        text.lines().find_map(|l| l.strip_prefix(key)?.strip_prefix(' ')).map(str::to_string)
    };
    let (dev, ino) = field("netns")?.split_once(' ').map(|(d, i)| (d.parse(), i.parse()))?;
    Some(Note {
        pid: field("pid")?.parse().ok()?,
        start: field("start")?.parse().ok()?,
        setting: Setting {
            netns: (dev.ok()?, ino.ok()?),
            iface: field("iface")?,
            ifindex: field("ifindex")?.parse().ok()?,
            file: field("file")?,
            value: field("value").unwrap_or_default(),
        },
    })
}

/// A namespace whose `ns/net` is `id`, among those a later process can reach: its own, the
/// named ones (`ip netns`), and those of live processes.
fn open_netns(id: (u64, u64)) -> Option<NetNs> {
    let own = Path::new("/proc/self/ns/net");
    if ns_id(own).ok() == Some(id) {
        return NetNs::current().ok();
    }
    let named = std::fs::read_dir(crate::netns::NETNS_RUN_DIR)
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok())
        .map(|e| e.path());
    let processes = std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_str().is_some_and(|n| n.bytes().all(|b| b.is_ascii_digit())))
        .map(|e| e.path().join("ns/net"));
    let path = named.chain(processes).find(|p| ns_id(p).ok() == Some(id))?;
    File::open(path).ok().map(|f| NetNs::from_fd(f.into()))
}

/// Writes `setting` back, if its namespace and interface still exist; `Ok(false)` when they
/// do not.
fn put_back(setting: &Setting) -> Result<bool> {
    let Some(ns) = open_netns(setting.netns) else { return Ok(false) };
    ns.run_with_sysfs(|sys| -> Result<bool> {
        if crate::ifindex(&setting.iface).ok() != Some(setting.ifindex) {
            return Ok(false);
        }
        let path = sys.join("class/net").join(&setting.iface).join(&setting.file);
        match std::fs::write(&path, &setting.value) {
            Err(e) if e.raw_os_error() == Some(libc::EOPNOTSUPP) && setting.file == "threaded" => {
                // No NAPI to set it on now (a veth whose NAPI went with its XDP program), while
                // the flag stays and would thread the next one: with GRO on for a moment, the
                // veth has a NAPI again and takes the write.
                let ethtool = crate::ethtool::Ethtool::open()?;
                if ethtool.gro(&setting.iface)? {
                    return Err(io("write", &path, e));
                }
                ethtool.set_gro(&setting.iface, true)?;
                let written = std::fs::write(&path, &setting.value);
                ethtool.set_gro(&setting.iface, false)?;
                written.map_err(|e| io("write", &path, e))?;
            }
            other => other.map_err(|e| io("write", &path, e))?,
        }
        Ok(true)
    })?
}

/// Writes back every setting noted by a process that is gone (killed before it could), and
/// removes its note; returns the settings written back. Notes of live processes are left
/// alone. Nothing to do (no journal) is not an error.
pub fn replay() -> Result<Vec<Setting>> {
    let dir = Path::new(JOURNAL_DIR);
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io("opendir", dir, e)),
    };
    let mut done = Vec::new();
    let mut first_error = None;
    for path in entries.filter_map(|e| e.ok()).map(|e| e.path()) {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        let Ok(text) = std::fs::read_to_string(&path) else { continue };
        let note = parse(&text);
        if name.starts_with('.') {
            // A note half-written by a process that died at that moment.
            if note.as_ref().is_none_or(|n| start_time(n.pid) != Some(n.start)) {
                let _ = std::fs::remove_file(&path);
            }
            continue;
        }
        let Some(note) = note else {
            let _ = std::fs::remove_file(&path);
            continue;
        };
        if start_time(note.pid) == Some(note.start) {
            continue; // Its process is alive and puts it back itself.
        }
        match put_back(&note.setting) {
            Ok(true) => done.push(note.setting),
            Ok(false) => {}
            Err(e) => {
                first_error.get_or_insert(e);
                continue; // Kept: the next start tries again.
            }
        }
        let _ = std::fs::remove_file(&path);
    }
    match first_error {
        Some(e) => Err(e),
        None => Ok(done),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_note_reads_back_and_a_damaged_one_does_not() {
        let text = "pid 42\nstart 7\nnetns 4 4026531840\niface eth0\nifindex 2\nfile threaded\n\
                    value 0\n";
        let note = parse(text).unwrap();
        assert_eq!((note.pid, note.start), (42, 7));
        assert_eq!(note.setting.netns, (4, 4026531840));
        assert_eq!((note.setting.iface.as_str(), note.setting.ifindex), ("eth0", 2));
        assert_eq!((note.setting.file.as_str(), note.setting.value.as_str()), ("threaded", "0"));
        assert!(parse("pid 42\nstart 7\n").is_none());
        assert!(parse(&text.replace("ifindex 2", "ifindex two")).is_none());
    }

    #[test]
    fn this_process_has_a_start_time_and_a_gone_one_has_none() {
        assert!(start_time(std::process::id()).is_some());
        assert_eq!(start_time(u32::MAX), None);
    }
}
