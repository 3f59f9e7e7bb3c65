//! SIGINT / SIGTERM (Ctrl-C) — and SIGHUP, a closed terminal or ssh session — during a command: noted, not fatal, so the command can stop what it
//! is doing and still report. `netlab run` stops the point in progress, writes what it has,
//! takes the lab down and exits with [`crate::exit::Code::Interrupted`]; `netlab recv` and
//! `netlab replay` stop receiving or sending and print their report.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context as _;

/// How often an interruptible wait looks at the flag.
const POLL: Duration = Duration::from_millis(10);

/// Watches SIGINT, SIGTERM and SIGHUP for the life of the value. Once created, these signals no longer
/// end the process; [`Interrupt::signal`] says whether one came.
#[derive(Debug)]
pub struct Interrupt {
    flag: Arc<AtomicBool>,
    which: Arc<Mutex<Option<&'static str>>>,
    /// The first signal, for async code ([`Interrupt::signalled`]).
    first: tokio::sync::watch::Receiver<Option<&'static str>>,
    _runtime: tokio::runtime::Runtime,
}

impl Interrupt {
    /// Starts watching (a one-thread tokio runtime waits for the signals).
    pub fn watch() -> anyhow::Result<Interrupt> {
        use tokio::signal::unix::{signal, SignalKind};
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("netlab-signals")
            .enable_io()
            .build()
            .context("starting the signal watcher")?;
        let (mut interrupt, mut terminate, mut hangup) = {
            let _entered = runtime.enter();
            (
                signal(SignalKind::interrupt()).context("watching SIGINT")?,
                signal(SignalKind::terminate()).context("watching SIGTERM")?,
                // A closed terminal or ssh session: clean up as for Ctrl-C, not die mid-build.
                signal(SignalKind::hangup()).context("watching SIGHUP")?,
            )
        };
        let flag = Arc::new(AtomicBool::new(false));
        let which = Arc::new(Mutex::new(None));
        let (task_flag, task_which) = (flag.clone(), which.clone());
        let (first_tx, first) = tokio::sync::watch::channel(None);
        runtime.spawn(async move {
            loop {
                let name = tokio::select! {
                    _ = interrupt.recv() => "SIGINT",
                    _ = terminate.recv() => "SIGTERM",
                    _ = hangup.recv() => "SIGHUP",
                };
                if let Ok(mut slot) = task_which.lock() {
                    slot.get_or_insert(name);
                }
                task_flag.store(true, Ordering::SeqCst);
                first_tx.send_if_modified(|slot| slot.is_none() && slot.replace(name).is_none());
            }
        });
        Ok(Interrupt { flag, which, first, _runtime: runtime })
    }

    /// The first signal received (`"SIGINT"` or `"SIGTERM"`), if any.
    pub fn signal(&self) -> Option<&'static str> {
        if !self.flag.load(Ordering::SeqCst) {
            return None;
        }
        self.which.lock().ok().and_then(|slot| *slot).or(Some("a signal"))
    }

    /// Waits (in any runtime) until a signal comes, and says which.
    pub async fn signalled(&self) -> &'static str {
        let mut first = self.first.clone();
        let which = first.wait_for(Option::is_some).await.ok().and_then(|which| *which);
        match which {
            Some(which) => which,
            // The watcher is gone only with `self`: no signal will come.
            None => std::future::pending().await,
        }
    }

    /// Whether a signal came.
    pub fn is_set(&self) -> bool {
        self.flag.load(Ordering::SeqCst)
    }

    /// Sleeps for `duration`, or less when a signal comes; returns false if it did.
    pub fn sleep(&self, duration: Duration) -> bool {
        let end = Instant::now() + duration;
        loop {
            if self.is_set() {
                return false;
            }
            let now = Instant::now();
            if now >= end {
                return true;
            }
            std::thread::sleep(POLL.min(end - now));
        }
    }
}
