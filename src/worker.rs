//! A worker thread with a stop switch: spawned with a name, asked to stop, joined for its
//! result (a panic in it goes on in the joiner), and — when dropped without a join — asked to
//! stop and joined, so no thread outlives what owns it. The lifecycle every long-running
//! thread of netlab shares (the receiver's, the generator's).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use anyhow::Context as _;

/// A thread running a job that ends with `anyhow::Result<T>`.
#[derive(Debug)]
pub struct Worker<T> {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<anyhow::Result<T>>>,
}

impl<T: Send + 'static> Worker<T> {
    /// Spawns thread `name` running `job`, which is handed the stop switch to watch.
    pub fn spawn(
        name: impl Into<String>,
        job: impl FnOnce(&AtomicBool) -> anyhow::Result<T> + Send + 'static,
    ) -> anyhow::Result<Worker<T>> {
        Worker::spawn_with_switch(name, Arc::new(AtomicBool::new(false)), job)
    }

    /// [`Worker::spawn`] with a stop switch others hold too (a progress display that stops the
    /// job).
    pub fn spawn_with_switch(
        name: impl Into<String>,
        stop: Arc<AtomicBool>,
        job: impl FnOnce(&AtomicBool) -> anyhow::Result<T> + Send + 'static,
    ) -> anyhow::Result<Worker<T>> {
        let name = name.into();
        let switch = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name(name.clone())
            .spawn(move || job(&switch))
            .with_context(|| format!("cannot spawn the {name} thread"))?;
        Ok(Worker { stop, thread: Some(thread) })
    }

    /// Asks the job to stop (it sees the switch at its next look).
    pub fn ask_stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }

    /// Whether the thread has ended (or was joined).
    pub fn is_finished(&self) -> bool {
        self.thread.as_ref().is_none_or(JoinHandle::is_finished)
    }

    /// Waits for the job's end and returns its result; a panic in it is resumed here. An error
    /// when it was joined before.
    pub fn join(&mut self) -> anyhow::Result<T> {
        let thread = self.thread.take().ok_or_else(|| anyhow::anyhow!("already joined"))?;
        match thread.join() {
            Ok(result) => result,
            Err(panic) => std::panic::resume_unwind(panic),
        }
    }
}

impl<T> Drop for Worker<T> {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_worker_stops_when_asked_and_hands_back_its_result() {
        let mut w = Worker::spawn("test-worker", |stop| {
            let mut spins = 0u64;
            while !stop.load(Ordering::Relaxed) {
                spins += 1;
                std::thread::yield_now();
            }
            Ok(spins)
        })
        .unwrap();
        assert!(!w.is_finished());
        w.ask_stop();
        assert!(w.join().is_ok());
        assert!(w.is_finished());
        assert!(w.join().is_err(), "a second join is an error");
    }

    #[test]
    fn dropping_a_worker_stops_and_joins_it() {
        let ended = Arc::new(AtomicBool::new(false));
        let seen = Arc::clone(&ended);
        let w = Worker::spawn("test-worker", move |stop| {
            while !stop.load(Ordering::Relaxed) {
                std::thread::yield_now();
            }
            seen.store(true, Ordering::SeqCst);
            Ok(())
        })
        .unwrap();
        drop(w);
        assert!(ended.load(Ordering::SeqCst));
    }

    #[test]
    fn errors_come_back_from_join() {
        let mut w: Worker<()> =
            Worker::spawn("test-worker", |_| Err(anyhow::anyhow!("no"))).unwrap();
        assert_eq!(w.join().unwrap_err().to_string(), "no");
    }
}
