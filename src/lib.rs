//! netlab: the fast-packet-capture class experiment as one command.
//!
//! Data flow of a run: a scenario (`labs/*.toml`) is parsed and validated, a lab (network
//! namespace, veth pair or bridge) is brought up over rtnetlink, the packet template is rewritten
//! for the lab's MAC addresses, then for every rate × method × repetition a receiver is started on
//! the receive core and the generator replays the packet on the send core; every stage is counted
//! and the report (table, JSON, CSV, SVG) is written. The lab is always taken down.
//!
//! This crate only orchestrates; the kernel-facing fast paths live in [`fastnet`].
#![forbid(unsafe_code)]
#![warn(clippy::too_many_lines)]

pub mod agent;
pub mod cli;
pub mod doctor;
pub mod exit;
pub mod generator;
pub mod host_facts;
pub mod interrupt;
pub mod location;
pub mod method;
pub mod packet;
pub mod privilege;
pub mod receiver;
pub mod report;
pub mod results;
pub mod runner;
pub mod scenario;
pub mod topology;
pub mod worker;
