//! What the generator needs to know about its interface before it sends, and the counter it
//! reads at the peer afterwards: the lab's one reader of interface facts
//! ([`crate::topology::link::LinkFacts`]), answered in the calling thread's network namespace.
//!
//! Call it on a thread inside the interface's namespace (the sender thread is; otherwise
//! [`fastnet::netns::NetNs::run`]).

pub use crate::topology::link::LinkFacts;
