//! The order of a run's steps: its points at fixed rates, and its searches. A repetition's
//! searches (every receiver's, for every target at once) are one step: they run together, one
//! trial of each in turn ([`super::in_turn`]), so that a stretch of seconds in which the machine
//! is slow falls on every method's trials alike instead of on one method's whole search. That
//! step comes in the order as if it were one more rate.
//!
//! - `sequential`: the searches first, then rate by rate (file order), receivers in file
//!   order, a receiver's repetitions one after the other.
//! - `shuffled` (default): repetition by repetition — every rate × receiver is measured once
//!   (and every receiver searched once) before any is measured again — and within a repetition
//!   in a random order drawn from the seed. Slow drift of the machine (thermal, other load)
//!   then spreads over every method instead of favouring the ones measured first, and an
//!   interrupted run holds whole rounds. The same seed gives the same order; the seed used is
//!   recorded in `manifest.json`.

use crate::scenario::{Order, Scenario};

/// One point to measure: indices into the scenario's rates and receivers, repetition from 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PointPlan {
    /// Index into `scenario.generator.rates`.
    pub rate: usize,
    /// Index into `scenario.receivers`.
    pub receiver: usize,
    /// Repetition, from 1.
    pub repetition: u32,
}

/// One step of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// A point at a fixed rate (or `max`).
    Point(PointPlan),
    /// Every receiver's search for every target, one trial of each in turn.
    Searches {
        /// Repetition, from 1.
        repetition: u32,
    },
}

/// Every step of `scenario`, in the order they are made (`seed` is used when shuffled).
pub fn steps(scenario: &Scenario, seed: u64) -> Vec<Step> {
    // The searches are "rate" 0 here, the fixed rates 1 and on.
    let searched = usize::from(scenario.search.is_some());
    let rates = scenario.generator.rates.len() + searched;
    let receivers = scenario.receivers.len();
    let repeat = scenario.run.repeat;
    // One step for every receiver's search (receiver 0 stands for them all).
    let step = |rate: usize, receiver: usize, repetition: u32| match rate.checked_sub(searched) {
        Some(rate) => Some(Step::Point(PointPlan { rate, receiver, repetition })),
        None => (receiver == 0).then_some(Step::Searches { repetition }),
    };
    let mut out = Vec::with_capacity(scenario.points() + scenario.search_runs());
    match scenario.run.order {
        Order::Sequential => {
            for rate in 0..rates {
                for receiver in 0..receivers {
                    out.extend(
                        (1..=repeat).filter_map(|repetition| step(rate, receiver, repetition)),
                    );
                }
            }
        }
        Order::Shuffled => {
            let mut random = SplitMix64(seed);
            for repetition in 1..=repeat {
                let mut round: Vec<Step> = (0..rates)
                    .flat_map(|rate| {
                        (0..receivers).filter_map(move |receiver| step(rate, receiver, repetition))
                    })
                    .collect();
                shuffle(&mut round, &mut random);
                out.extend(round);
            }
        }
    }
    out
}

/// A seed for a run that names none: from the clock.
pub fn fresh_seed() -> u64 {
    let now =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    SplitMix64(now.as_nanos() as u64 ^ u64::from(std::process::id())).next()
}

/// Fisher–Yates with `random`.
fn shuffle<T>(items: &mut [T], random: &mut SplitMix64) {
    for i in (1..items.len()).rev() {
        let j = random.below(i as u64 + 1) as usize;
        items.swap(i, j);
    }
}

/// SplitMix64 (Steele, Lea, Flood 2014): a tiny, well-mixed generator; enough to order a few
/// hundred points reproducibly without a dependency.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0), without modulo bias.
    fn below(&mut self, n: u64) -> u64 {
        let zone = u64::MAX - u64::MAX % n;
        loop {
            let v = self.next();
            if v < zone {
                return v % n;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scenario(order: &str, repeat: u32) -> Scenario {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("p.pcap"), b"x").unwrap();
        let text = format!(
            "name = \"t\"\n[topology]\nkind = \"veth\"\n[packet]\nfile = \"p.pcap\"\n\
             [generator]\nrates = [\"1kpps\", \"2kpps\", \"max\"]\nduration = \"1s\"\n\
             [[receiver]]\nmethod = \"socket\"\n[[receiver]]\nmethod = \"pcap\"\n\
             [run]\nrepeat = {repeat}\norder = \"{order}\"\n"
        );
        Scenario::parse(&dir.path().join("t.toml"), &text).unwrap()
    }

    fn key(s: &Step) -> (usize, usize, u32) {
        match *s {
            Step::Point(p) => (p.rate, p.receiver, p.repetition),
            Step::Searches { repetition } => (usize::MAX, 0, repetition),
        }
    }

    fn points(s: &Scenario, seed: u64) -> Vec<Step> {
        steps(s, seed)
    }

    #[test]
    fn searches_come_first_when_sequential_and_once_per_round_when_shuffled() {
        let mut s = scenario("sequential", 2);
        s.search = Some(crate::scenario::SearchSpec {
            targets: vec![],
            precision: 0.05,
            short_trial: std::time::Duration::from_millis(300),
            final_trial: std::time::Duration::from_secs(1),
            lower_pps: 10_000,
            upper_pps: None,
        });
        let order: Vec<_> = steps(&s, 0).iter().map(key).collect();
        assert_eq!(order.len(), 14, "12 points and one step of searches per repetition");
        assert_eq!(&order[..2], &[(usize::MAX, 0, 1), (usize::MAX, 0, 2)]);
        assert_eq!(order[2], (0, 0, 1));
        s.run.order = Order::Shuffled;
        let order: Vec<_> = steps(&s, 9).iter().map(key).collect();
        for (round, steps) in order.chunks(7).enumerate() {
            let searches: Vec<_> = steps.iter().filter(|k| k.0 == usize::MAX).collect();
            assert_eq!(searches.len(), 1, "one step of searches in round {round}: {order:?}");
            assert!(steps.iter().all(|k| k.2 == round as u32 + 1));
        }
    }

    #[test]
    fn sequential_is_rate_then_receiver_then_repetition() {
        let s = scenario("sequential", 2);
        let order: Vec<_> = points(&s, 0).iter().map(key).collect();
        assert_eq!(order.len(), 12);
        assert_eq!(&order[..4], &[(0, 0, 1), (0, 0, 2), (0, 1, 1), (0, 1, 2)]);
        assert_eq!(order[11], (2, 1, 2));
    }

    #[test]
    fn shuffled_covers_every_point_once_round_by_round_and_depends_on_the_seed() {
        let s = scenario("shuffled", 3);
        let a = points(&s, 7);
        assert_eq!(a.len(), s.points());
        let mut keys: Vec<_> = a.iter().map(key).collect();
        for (i, p) in a.iter().enumerate() {
            assert_eq!(key(p).2 as usize, i / 6 + 1, "rounds are kept together");
        }
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), 18, "no point twice");
        assert_eq!(points(&s, 7), a, "same seed, same order");
        let others: Vec<_> = (0..20).map(|seed| points(&s, seed)).collect();
        assert!(others.iter().any(|o| *o != a), "the seed changes the order");
    }

    #[test]
    fn below_stays_in_range() {
        let mut r = SplitMix64(1);
        assert!((0..1000).all(|_| r.below(3) < 3));
    }
}
