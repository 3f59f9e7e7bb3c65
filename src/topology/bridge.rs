//! A bridge lab: two veth pairs whose inner ends are ports of one bridge, so frames from the
//! generator reach the receiver through it.

use anyhow::Context;

use super::link::Rtnl;
use super::plan::{PlannedBridge, PlannedInterface};

/// Creates the generator's and the receiver's veth pairs and the bridge, and makes the pairs'
/// inner ends its ports (all down; the lab brings them up).
pub(super) async fn build(
    rtnl: &Rtnl,
    bridge: &PlannedBridge,
    generator: &PlannedInterface,
    receiver: &PlannedInterface,
    mtu: u32,
    queues: u32,
) -> anyhow::Result<()> {
    for (end, port) in [(generator, &bridge.generator_port), (receiver, &bridge.receiver_port)] {
        rtnl.add_veth(end, port, mtu, queues)
            .await
            .with_context(|| format!("creating veth pair {} ↔ {}", end.name, port.name))?;
    }
    rtnl.add_bridge(&bridge.bridge, mtu)
        .await
        .with_context(|| format!("creating bridge {}", bridge.bridge.name))?;
    let bridge_index = rtnl.existing(&bridge.bridge.name).await?.ifindex;
    for port in [&bridge.generator_port, &bridge.receiver_port] {
        let index = rtnl.existing(&port.name).await?.ifindex;
        rtnl.set_controller(index, bridge_index)
            .await
            .with_context(|| format!("adding {} to bridge {}", port.name, bridge.bridge.name))?;
    }
    Ok(())
}
