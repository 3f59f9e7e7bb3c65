//! Saving what a receiver got to a capture file (`netlab recv -w`, a scenario's `write`)
//! without slowing the receive path being measured.
//!
//! The receiving thread hands each frame to a [`fastnet::Tap`] that copies it into a recycled
//! buffer and offers it to a writer thread through a bounded queue of [`QUEUE_FRAMES`]; it never
//! waits. When the queue is full — the writer fell behind — the frame is left out of the file
//! (it was counted all the same) and [`Saved::left_out`] says how many were. The writer thread
//! writes through [`crate::packet::CaptureWriter`], so the file appears complete or not at all.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::SystemTime;

use anyhow::Context as _;
use fastnet::Tap;
use pcap_file::DataLink;

use crate::packet::file::{CaptureWriter, Format, Link, DEFAULT_SNAPLEN};

/// Frames the queue between the receiving and the writing thread holds (about 128 MiB of
/// 2 KiB buffers at most, 4 MiB of 64-byte frames).
pub const QUEUE_FRAMES: usize = 65_536;

pub use crate::method::WriteTo;

/// What a receiver saved.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Saved {
    /// The file written.
    pub path: PathBuf,
    /// Frames written to it.
    pub written: u64,
    /// Frames the writer could not keep up with: counted by the receiver, not in the file.
    pub left_out: u64,
    /// Frames past the count asked for: counted, not offered to the file.
    pub past_count: u64,
}

/// Counters the tap (receiving thread) updates and the session reads at the end.
#[derive(Debug, Default)]
struct Counters {
    left_out: AtomicU64,
    past_count: AtomicU64,
}

/// A frame on its way to the file: capture time (ns since the epoch) and bytes.
type Queued = (u64, Vec<u8>);

/// A writer thread and the counters of what was offered to it.
#[derive(Debug)]
pub struct Recorder {
    path: PathBuf,
    counters: Arc<Counters>,
    thread: JoinHandle<anyhow::Result<(CaptureWriter, u64)>>,
}

impl Recorder {
    /// Starts the writer thread for `to` and returns it with the tap to put in the receiver's
    /// [`fastnet::Tally`]. The file is created (as a temporary file next to it) now, so an
    /// unwritable place is an error before anything is received; it replaces `to.path` only
    /// when [`Recorder::finish`] is called (dropped without it, nothing is left behind). Call it
    /// from an unpinned thread: the writer thread inherits its CPU affinity.
    pub fn start(to: &WriteTo) -> anyhow::Result<(Recorder, Tap)> {
        let format = Format::of_path(&to.path).unwrap_or(Format::Pcap);
        let writer = CaptureWriter::create(&to.path, format)?;
        let (frames_tx, frames_rx) = mpsc::sync_channel::<Queued>(QUEUE_FRAMES);
        // Written buffers go back to the tap, so the receiving thread rarely allocates.
        let (spare_tx, spare_rx) = mpsc::sync_channel::<Vec<u8>>(QUEUE_FRAMES);
        let thread = std::thread::Builder::new()
            .name("recv writer".into())
            .spawn(move || write_all(writer, &frames_rx, &spare_tx))
            .context("cannot spawn the capture writer thread")?;
        let counters = Arc::new(Counters::default());
        let tap = tap(frames_tx, spare_rx, to.count, counters.clone());
        Ok((Recorder { path: to.path.clone(), counters, thread }, tap))
    }

    /// Waits for the writer to drain the queue, puts the file in place (the tap must have been
    /// dropped: the receiver stopped), and says what was saved.
    pub fn finish(self) -> anyhow::Result<Saved> {
        let (writer, written) = match self.thread.join() {
            Ok(result) => result?,
            Err(panic) => std::panic::resume_unwind(panic),
        };
        writer.commit()?;
        Ok(Saved {
            path: self.path,
            written,
            left_out: self.counters.left_out.load(Ordering::Relaxed),
            past_count: self.counters.past_count.load(Ordering::Relaxed),
        })
    }
}

impl Recorder {
    /// Waits for the writer thread and leaves nothing behind: the temporary file is removed,
    /// the target left as it was (the receiver failed or was dropped unstopped).
    pub fn abandon(self) {
        let _ = self.thread.join();
    }
}

/// The tap: copy, stamp, offer; never wait.
fn tap(
    frames: SyncSender<Queued>,
    spare: Receiver<Vec<u8>>,
    count: Option<u64>,
    counters: Arc<Counters>,
) -> Tap {
    let mut offered = 0u64;
    Tap::new(move |frame: &[u8]| {
        if count.is_some_and(|n| offered >= n) {
            counters.past_count.fetch_add(1, Ordering::Relaxed);
            return;
        }
        offered += 1;
        let mut buffer = spare.try_recv().unwrap_or_default();
        buffer.clear();
        buffer.extend_from_slice(frame);
        let now = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default();
        let ts_ns = u64::try_from(now.as_nanos()).unwrap_or(u64::MAX);
        if let Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) =
            frames.try_send((ts_ns, buffer))
        {
            counters.left_out.fetch_add(1, Ordering::Relaxed);
        }
    })
}

/// The writer thread: every queued frame into the file, until the tap is dropped. Returns the
/// writer (to commit) and how many frames were written.
fn write_all(
    mut writer: CaptureWriter,
    frames: &Receiver<Queued>,
    spare: &SyncSender<Vec<u8>>,
) -> anyhow::Result<(CaptureWriter, u64)> {
    let link = Link { datalink: DataLink::ETHERNET, snaplen: DEFAULT_SNAPLEN, nanos: true };
    let mut written = 0u64;
    for (ts_ns, data) in frames.iter() {
        let len = u32::try_from(data.len()).unwrap_or(u32::MAX);
        writer.write_record(written + 1, ts_ns, len, link, &data)?;
        written += 1;
        let _ = spare.try_send(data);
    }
    writer.finish_empty(link)?;
    Ok((writer, written))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_through_the_tap_reach_the_file_up_to_the_count() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rx.pcapng");
        let (recorder, tap) =
            Recorder::start(&WriteTo { path: path.clone(), count: Some(3) }).unwrap();
        let mut tally = fastnet::Tally { tap: Some(tap), ..Default::default() };
        let frames: Vec<Vec<u8>> = (0..5u8).map(|i| vec![i; 60]).collect();
        for frame in &frames {
            tally.do_something(frame);
        }
        drop(tally);
        let saved = recorder.finish().unwrap();
        assert_eq!(saved, Saved { path: path.clone(), written: 3, left_out: 0, past_count: 2 });
        let read = crate::packet::read_frames(&path).unwrap();
        assert_eq!(read.iter().map(|f| f.data.clone()).collect::<Vec<_>>(), frames[..3]);
        assert_eq!(&std::fs::read(&path).unwrap()[..4], &[0x0a, 0x0d, 0x0d, 0x0a], "pcapng");
    }

    #[test]
    fn a_full_queue_leaves_frames_out_of_the_file_and_counts_them() {
        // A queue of two that nobody drains: the writer has fallen behind.
        let (frames_tx, frames_rx) = mpsc::sync_channel::<Queued>(2);
        let (_spare_tx, spare_rx) = mpsc::sync_channel::<Vec<u8>>(2);
        let counters = Arc::new(Counters::default());
        let mut tally = fastnet::Tally {
            tap: Some(tap(frames_tx, spare_rx, None, counters.clone())),
            ..Default::default()
        };
        for i in 0..5u8 {
            tally.do_something(&[i; 60]);
        }
        assert_eq!(tally.frames, 5, "every frame counted");
        assert_eq!(counters.left_out.load(Ordering::Relaxed), 3);
        let queued: Vec<Vec<u8>> = frames_rx.try_iter().map(|(_, data)| data).collect();
        assert_eq!(queued, vec![vec![0u8; 60], vec![1u8; 60]]);
    }

    #[test]
    fn an_abandoned_recorder_leaves_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rx.pcap");
        let (recorder, tap) = Recorder::start(&WriteTo { path, count: None }).unwrap();
        let mut tally = fastnet::Tally { tap: Some(tap), ..Default::default() };
        tally.do_something(&[0u8; 60]);
        drop(tally);
        recorder.abandon();
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
