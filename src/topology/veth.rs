//! A veth lab: one veth pair, the generator's end and the receiver's.

use anyhow::Context;

use super::link::Rtnl;
use super::plan::PlannedInterface;

/// Creates the veth pair `generator` ↔ `receiver` (down; the lab brings it up).
pub(super) async fn build(
    rtnl: &Rtnl,
    generator: &PlannedInterface,
    receiver: &PlannedInterface,
    mtu: u32,
    queues: u32,
) -> anyhow::Result<()> {
    rtnl.add_veth(generator, receiver, mtu, queues)
        .await
        .with_context(|| format!("creating veth pair {} ↔ {}", generator.name, receiver.name))
}
