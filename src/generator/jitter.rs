//! How far behind schedule batches leave: a fixed-size log-linear histogram of nanoseconds that
//! records without allocating (it sits in the send loop) and answers p50/p99/max.
//!
//! Values below 32 ns are exact; above, each power of two is cut into 32 buckets, so a
//! percentile is within 1/32 (3 %) of the true value. The maximum is kept exactly.

/// Sub-buckets per power of two: 2^5 = 32.
const SUB_BITS: u32 = 5;
const SUB: u64 = 1 << SUB_BITS;
/// Enough buckets for every `u64`.
const BUCKETS: usize = ((64 - SUB_BITS + 1) as usize) * SUB as usize;

/// A histogram of lateness values in nanoseconds.
#[derive(Clone)]
pub struct LatenessHistogram {
    counts: Box<[u64; BUCKETS]>,
    total: u64,
    max: u64,
}

impl std::fmt::Debug for LatenessHistogram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LatenessHistogram")
            .field("total", &self.total)
            .field("p50", &self.percentile(50.0))
            .field("p99", &self.percentile(99.0))
            .field("max", &self.max)
            .finish()
    }
}

impl Default for LatenessHistogram {
    fn default() -> Self {
        Self { counts: Box::new([0; BUCKETS]), total: 0, max: 0 }
    }
}

fn bucket_of(v: u64) -> usize {
    if v < SUB {
        return v as usize;
    }
    let msb = 63 - v.leading_zeros();
    let shift = msb - SUB_BITS;
    let group = u64::from(shift + 1);
    (group * SUB + ((v >> shift) - SUB)) as usize
}

/// The smallest value that falls in bucket `i`.
fn lower_bound(i: usize) -> u64 {
    let i = i as u64;
    if i < SUB {
        return i;
    }
    let group = i / SUB;
    let shift = group - 1;
    (SUB + i % SUB) << shift
}

impl LatenessHistogram {
    /// Records one value.
    #[inline]
    pub fn record(&mut self, ns: u64) {
        self.counts[bucket_of(ns)] += 1;
        self.total += 1;
        self.max = self.max.max(ns);
    }

    /// Values recorded.
    pub fn count(&self) -> u64 {
        self.total
    }

    /// The largest value recorded (exact), 0 when empty.
    pub fn max(&self) -> u64 {
        self.max
    }

    /// The value at percentile `p` (0–100): the middle of the bucket holding it, never above the
    /// maximum; 0 when empty.
    pub fn percentile(&self, p: f64) -> u64 {
        if self.total == 0 {
            return 0;
        }
        let rank = ((p / 100.0) * self.total as f64).ceil().max(1.0) as u64;
        let mut seen = 0u64;
        for (i, &c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                let lo = lower_bound(i);
                let hi = if i + 1 < BUCKETS { lower_bound(i + 1) } else { u64::MAX };
                return (lo + (hi - lo) / 2).min(self.max);
            }
        }
        self.max
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_cover_every_value_in_order() {
        let mut last = 0;
        for v in (0..5000u64).chain([u64::MAX / 3, u64::MAX - 1, u64::MAX]) {
            let b = bucket_of(v);
            assert!(b >= last && b < BUCKETS, "{v} → {b}");
            assert!(lower_bound(b) <= v, "{v}: bucket {b} starts at {}", lower_bound(b));
            if b + 1 < BUCKETS {
                assert!(lower_bound(b + 1) > v);
            }
            last = b;
        }
    }

    #[test]
    fn percentiles_are_within_three_percent() {
        let mut h = LatenessHistogram::default();
        for v in 1..=10_000u64 {
            h.record(v * 1000);
        }
        let p50 = h.percentile(50.0) as f64;
        let p99 = h.percentile(99.0) as f64;
        assert!((p50 / 5_000_000.0 - 1.0).abs() < 0.03, "{p50}");
        assert!((p99 / 9_900_000.0 - 1.0).abs() < 0.03, "{p99}");
        assert_eq!(h.max(), 10_000_000);
        assert_eq!(h.count(), 10_000);
    }

    #[test]
    fn empty_and_small_values() {
        let mut h = LatenessHistogram::default();
        assert_eq!((h.percentile(99.0), h.max()), (0, 0));
        for v in [0, 0, 0, 7] {
            h.record(v);
        }
        assert_eq!(h.percentile(50.0), 0);
        assert_eq!(h.percentile(100.0), 7);
    }
}
