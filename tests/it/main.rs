//! Integration tests: one binary, one module per area.

mod browser;
mod cli;
mod docs;
mod packet;
mod preflight;
mod real_nic;
mod recv;
mod replay;
mod report;
mod rooms;
mod run;
mod scenario;
mod topology;
mod two_hosts;
mod util;
mod xdp_modes;
