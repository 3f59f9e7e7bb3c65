//! Integration tests: one binary, one module per area.

mod cli;
mod packet;
mod report;
mod scenario;
mod recv;
mod replay;
mod topology;
mod run;
