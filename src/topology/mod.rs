//! The lab: network namespace, veth pair or bridge, MACs, NAPI mode and core pinning, built over
//! rtnetlink and always taken down again.

pub mod spec;

pub use spec::{Kind, NapiMode, TopologySpec};
