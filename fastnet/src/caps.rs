//! Kernel features that differ between machines, and a way to pretend one is missing.
//!
//! Kernels differ in what they let a program do: one allows `BPF_PROG_RUN` live frames and the
//! next refuses them (`EPERM`) by policy; Linux 6.1 has threaded NAPI but not the netdev netlink
//! family that names its kthread; e1000 has no native XDP. Every fallback netlab takes must be
//! testable on a kernel that has the feature too, so each [`Feature`] can be turned off for a
//! process with the environment variable [`WITHOUT_VAR`] (`FASTNET_WITHOUT=live-frames,zero-copy`,
//! or `all`): fastnet then answers as a kernel without it would, with [`Error::Unsupported`]
//! naming the variable, before any kernel call.

use std::fmt;

use crate::error::{Error, Result};

/// The environment variable that turns features off: a comma-separated list of
/// [`Feature::name`]s, or `all`.
pub const WITHOUT_VAR: &str = "FASTNET_WITHOUT";

/// A kernel feature a fallback exists for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Feature {
    /// `BPF_PROG_RUN` with `BPF_F_TEST_XDP_LIVE_FRAMES` (Linux ≥ 5.18; some kernels refuse it by
    /// policy with `EPERM`).
    LiveFrames,
    /// Live frames paced inside the call by a `may_goto` loop (Linux ≥ 6.9).
    PacedLiveFrames,
    /// XDP in the driver (native mode); without it, generic (SKB) mode.
    NativeXdp,
    /// `AF_XDP` bound with `XDP_ZEROCOPY`; without it, copy mode.
    ZeroCopy,
    /// The netdev generic netlink family's `NAPI_GET` (Linux ≥ 6.8), which names a device's
    /// NAPI kthreads; without it they are found by name (`napi/<dev>-<id>`).
    NetdevNetlink,
}

impl Feature {
    /// Every feature, in the order doctor lists them.
    pub const ALL: [Feature; 5] = [
        Feature::LiveFrames,
        Feature::PacedLiveFrames,
        Feature::NativeXdp,
        Feature::ZeroCopy,
        Feature::NetdevNetlink,
    ];

    /// Its name in [`WITHOUT_VAR`].
    pub fn name(self) -> &'static str {
        match self {
            Feature::LiveFrames => "live-frames",
            Feature::PacedLiveFrames => "paced-live-frames",
            Feature::NativeXdp => "native-xdp",
            Feature::ZeroCopy => "zero-copy",
            Feature::NetdevNetlink => "netdev-netlink",
        }
    }

    /// The kernel's name for it, as an error names it.
    pub fn kernel_name(self) -> &'static str {
        match self {
            Feature::LiveFrames => "BPF_F_TEST_XDP_LIVE_FRAMES",
            Feature::PacedLiveFrames => "paced live frames (may_goto)",
            Feature::NativeXdp => "native (driver) XDP",
            Feature::ZeroCopy => "XDP_ZEROCOPY",
            Feature::NetdevNetlink => "netdev netlink NAPI_GET",
        }
    }

    /// Whether [`WITHOUT_VAR`] turns it off for this process (or, in tests, [`without`] for
    /// this thread).
    pub fn forced_off(self) -> bool {
        #[cfg(any(test, feature = "testing"))]
        if testing::WITHOUT.with(|w| w.borrow().contains(&self)) {
            return true;
        }
        std::env::var(WITHOUT_VAR).is_ok_and(|list| lists(&list, self))
    }

    /// `Err(Unsupported)` when [`WITHOUT_VAR`] turns it off, before any kernel call is made.
    pub fn check_not_forced_off(self) -> Result<()> {
        if self.forced_off() {
            return Err(Error::Unsupported {
                feature: self.kernel_name(),
                why: format!("turned off for this process ({WITHOUT_VAR} lists `{}`)", self.name()),
            });
        }
        Ok(())
    }
}

impl fmt::Display for Feature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Turns `features` off for the calling thread until the guard drops: [`WITHOUT_VAR`] for one
/// test, without touching the environment the other tests of the process share.
#[cfg(any(test, feature = "testing"))]
pub fn without(features: &[Feature]) -> testing::Without {
    testing::WITHOUT.with(|w| w.borrow_mut().extend_from_slice(features));
    testing::Without { n: features.len() }
}

#[cfg(any(test, feature = "testing"))]
mod testing {
    use std::cell::RefCell;

    use super::Feature;

    thread_local! {
        pub(super) static WITHOUT: RefCell<Vec<Feature>> = const { RefCell::new(Vec::new()) };
    }

    /// Features turned off for this thread by [`super::without`]; back on when dropped.
    #[must_use = "the features are back on when this drops"]
    #[derive(Debug)]
    pub struct Without {
        pub(super) n: usize,
    }

    impl Drop for Without {
        fn drop(&mut self) {
            WITHOUT.with(|w| {
                let mut w = w.borrow_mut();
                let keep = w.len().saturating_sub(self.n);
                w.truncate(keep);
            });
        }
    }
}

/// Whether the comma-separated `list` names `feature` (or `all`).
fn lists(list: &str, feature: Feature) -> bool {
    list.split(',').map(str::trim).any(|name| name == "all" || name == feature.name())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_names_features_or_all() {
        assert!(lists("live-frames", Feature::LiveFrames));
        assert!(lists("zero-copy, live-frames", Feature::LiveFrames));
        assert!(lists("all", Feature::NetdevNetlink));
        assert!(!lists("live-frames", Feature::PacedLiveFrames));
        assert!(!lists("", Feature::LiveFrames));
        for f in Feature::ALL {
            assert!(lists(f.name(), f));
        }
    }

    #[test]
    fn a_feature_turned_off_for_a_thread_is_refused_there_only() {
        assert!(Feature::ZeroCopy.check_not_forced_off().is_ok());
        {
            let _off = without(&[Feature::ZeroCopy]);
            let err = Feature::ZeroCopy.check_not_forced_off().unwrap_err().to_string();
            assert!(err.contains("XDP_ZEROCOPY is not supported here"), "{err}");
            assert!(err.contains("FASTNET_WITHOUT lists `zero-copy`"), "{err}");
            let other = std::thread::spawn(|| Feature::ZeroCopy.forced_off()).join().unwrap();
            assert!(!other, "another thread still has it");
        }
        assert!(!Feature::ZeroCopy.forced_off(), "back on once the guard dropped");
    }
}
