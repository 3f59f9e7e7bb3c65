//! Searches that run together, one trial of each in turn.
//!
//! A search ([`super::search::search`]) is straight-line code that asks for one trial at a time
//! and decides the next from its result. To interleave several without turning each into a
//! state machine, every search runs on a thread of its own and asks for its trials over a
//! channel; this thread measures them — one at a time, the searches taking turns in order — so
//! the lab still sees one trial at a time and nothing is measured concurrently.

use std::sync::mpsc::{channel, Receiver, Sender};

use super::search::{Ask, Trials};
use crate::results::{Point, Search};

/// What a trial came to: a point, `None` when a signal came, or an error.
type Reply = anyhow::Result<Option<Point>>;

/// One search, as [`super::search::search`] is called for one receiver.
pub type SearchFn<'s> =
    Box<dyn FnOnce(&mut dyn Trials) -> anyhow::Result<Option<Vec<Search>>> + Send + 's>;

/// Measures the trials of searches that take turns (`search`: the index of the one asking).
pub trait TurnTrials {
    /// Measures one trial of search `search` (`None` when a signal came).
    fn measure(&mut self, search: usize, ask: &Ask) -> Reply;
    /// Shows a line of the searches' progress.
    fn say(&mut self, line: &str);
}

/// What a search's thread sends.
enum Message {
    Measure(Ask),
    Say(String),
    Done(anyhow::Result<Option<Vec<Search>>>),
}

/// A search's side of its channels.
struct Asking {
    messages: Sender<Message>,
    replies: Receiver<Reply>,
}

impl Trials for Asking {
    fn measure(&mut self, ask: &Ask) -> Reply {
        if self.messages.send(Message::Measure(ask.clone())).is_err() {
            return Ok(None);
        }
        // The channel closes when the searches stop (a signal, another search's error): this
        // one stops as if a signal came.
        self.replies.recv().unwrap_or(Ok(None))
    }

    fn say(&mut self, line: &str) {
        let _ = self.messages.send(Message::Say(line.to_string()));
    }
}

/// Runs `searches` together: each asks for a trial, they take turns in order, and one that
/// ended drops out. Returns what each found, in their order; `None` when a signal came (the
/// others stop after their current turn); the first error otherwise.
pub fn in_turn(
    searches: Vec<SearchFn<'_>>,
    trials: &mut dyn TurnTrials,
) -> anyhow::Result<Option<Vec<Vec<Search>>>> {
    std::thread::scope(|scope| {
        let mut links: Vec<(Receiver<Message>, Sender<Reply>)> = Vec::new();
        for search in searches {
            let (messages, from_search) = channel();
            let (to_search, replies) = channel();
            links.push((from_search, to_search));
            scope.spawn(move || {
                let mut asking = Asking { messages, replies };
                let found = search(&mut asking);
                let _ = asking.messages.send(Message::Done(found));
            });
        }
        let mut found: Vec<Option<Vec<Search>>> = links.iter().map(|_| None).collect();
        let mut live: Vec<usize> = (0..links.len()).collect();
        while !live.is_empty() {
            let mut turn = 0;
            while turn < live.len() {
                let k = live[turn];
                let (messages, replies) = &links[k];
                // Its lines, until it asks for a trial or ends.
                loop {
                    match messages.recv() {
                        Ok(Message::Say(line)) => trials.say(&line),
                        Ok(Message::Measure(ask)) => {
                            let _ = replies.send(trials.measure(k, &ask));
                            turn += 1;
                            break;
                        }
                        Ok(Message::Done(Ok(Some(searches)))) => {
                            found[k] = Some(searches);
                            live.remove(turn);
                            break;
                        }
                        // A signal or an error: the others are stopped by closing their
                        // channels (dropped with `links` on return) and end before the scope.
                        Ok(Message::Done(ended)) => return ended.map(|_| None),
                        // Its thread ended without a word: only a panic does that, and the
                        // scope passes it on.
                        Err(_) => return Ok(None),
                    }
                }
            }
        }
        Ok(Some(found.into_iter().flatten().collect()))
    })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::results::Counters;
    use crate::runner::search::TrialKind;
    use crate::scenario::{Method, Rate, ReceiverSpec};

    fn ask(rate: Rate) -> Ask {
        Ask {
            rate,
            length: Duration::from_millis(1),
            kind: TrialKind::Short,
            attempt: 1,
            warm_up: false,
        }
    }

    fn point(ask: &Ask) -> Point {
        let c = Counters {
            duration_s: 0.001,
            sent_frames: 1,
            iface_rx_frames: 1,
            app_rx_frames: 1,
            ipv4_frames: 1,
            ..Counters::default()
        };
        Point::new(&ReceiverSpec::of(Method::Pcap), ask.rate, 1, 60, true, c)
    }

    /// Records who measured what.
    struct Log {
        asked: Vec<(usize, Rate)>,
        lines: Vec<String>,
        /// The trial (by number, from 0) at which a signal comes.
        signal_at: Option<usize>,
    }

    impl TurnTrials for Log {
        fn measure(&mut self, search: usize, ask: &Ask) -> Reply {
            if self.signal_at == Some(self.asked.len()) {
                return Ok(None);
            }
            self.asked.push((search, ask.rate));
            Ok(Some(point(ask)))
        }

        fn say(&mut self, line: &str) {
            self.lines.push(line.to_string());
        }
    }

    /// A search that asks for `trials` trials at `rate`, saying so before each.
    fn asks(rate: u64, trials: usize) -> SearchFn<'static> {
        Box::new(move |out: &mut dyn Trials| {
            for n in 0..trials {
                out.say(&format!("{rate} #{n}"));
                if out.measure(&ask(Rate::Pps(rate)))?.is_none() {
                    return Ok(None);
                }
            }
            Ok(Some(vec![]))
        })
    }

    #[test]
    fn searches_take_turns_one_trial_at_a_time_and_drop_out_when_done() {
        let mut log = Log { asked: vec![], lines: vec![], signal_at: None };
        let found = in_turn(vec![asks(1000, 3), asks(2000, 1), asks(3000, 2)], &mut log);
        assert_eq!(found.unwrap().unwrap().len(), 3);
        let order: Vec<usize> = log.asked.iter().map(|(k, _)| *k).collect();
        assert_eq!(order, [0, 1, 2, 0, 2, 0]);
        assert_eq!(log.asked[1].1, Rate::Pps(2000));
        assert_eq!(log.lines.len(), 6);
        assert_eq!(log.lines[0], "1000 #0");
    }

    #[test]
    fn a_signal_stops_every_search() {
        let mut log = Log { asked: vec![], lines: vec![], signal_at: Some(4) };
        let found = in_turn(vec![asks(1000, 5), asks(2000, 5)], &mut log).unwrap();
        assert!(found.is_none());
        assert_eq!(log.asked.len(), 4, "nothing measured after the signal");
    }

    #[test]
    fn an_error_of_one_search_is_returned_and_stops_the_others() {
        struct Failing(usize);
        impl TurnTrials for Failing {
            fn measure(&mut self, search: usize, ask: &Ask) -> Reply {
                self.0 += 1;
                anyhow::ensure!(search != 1, "the lab is gone");
                Ok(Some(point(ask)))
            }
            fn say(&mut self, _: &str) {}
        }
        let mut bench = Failing(0);
        let err = in_turn(vec![asks(1000, 5), asks(2000, 5)], &mut bench).unwrap_err();
        assert_eq!(err.to_string(), "the lab is gone");
        // Search 0's second turn comes before search 1 has ended with the error.
        assert_eq!(bench.0, 3);
    }
}
