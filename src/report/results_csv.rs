//! `results.csv`: one row per point, the same fields as `results.json` (drops flattened as
//! `drops_*`, the loss budget as `lost_<stage>_frames`), empty where a counter does not apply;
//! each row names its run (`run_id`, as the results directory is named) and scenario, so the
//! files of several runs concatenate.
//!
//! Row order is stable, whatever order the run measured in: the fixed-rate and `max` points by
//! receiver (scenario order), rate (scenario order), repetition; then every search's trials by
//! receiver, target (NDR before PDR), repetition, trial — `search` names the target,
//! `final_trial` marks the trial whose counters the search reports.

use anyhow::Context as _;

use crate::results::{Point, Results, Stage};

const HEADER: &[&str] = &[
    "run_id",
    "scenario",
    "search",
    "final_trial",
    "label",
    "method",
    "rate",
    "asked_pps",
    "repetition",
    "attempt",
    "duration_s",
    "sent_frames",
    "offered_pps",
    "iface_rx_frames",
    "drops_sender_queue_frames",
    "drops_generator_tx_dropped_frames",
    "drops_nic_frames",
    "drops_iface_rx_dropped_frames",
    "drops_socket_frames",
    "drops_xdp_rx_dropped_frames",
    "drops_xdp_rx_ring_full_frames",
    "drops_xdp_fill_ring_empty_frames",
    "app_rx_frames",
    "ipv4_frames",
    "rx_cpu_ns",
    "napi_cpu_ns",
    "delay_bound_ns",
    "xdp_mode",
    "xsk_bind",
    "largest_burst_frames",
    "generator_limit",
    "engine",
    "ns_per_frame",
    "rx_ns_per_frame",
    "napi_ns_per_frame",
    "achieved_pps",
    "achieved_l2_mbps",
    "achieved_wire_mbps",
    "loss_pct",
    "offered_frames",
    "lost_sender_queue_frames",
    "lost_nic_frames",
    "lost_interface_frames",
    "lost_socket_buffer_frames",
    "lost_packet_ring_frames",
    "lost_xsk_rings_frames",
    "lost_unaccounted_frames",
    "valid",
    "invalid_reason",
];

fn opt<T: ToString>(value: Option<T>) -> String {
    value.map(|v| v.to_string()).unwrap_or_default()
}

/// Which run and, for a search's trial, which search: the first columns of a row.
struct Origin<'a> {
    run_id: &'a str,
    scenario: &'a str,
    search: Option<(&'a str, bool)>,
}

fn row(origin: &Origin<'_>, p: &Point) -> Vec<String> {
    let c = &p.counters;
    let d = &c.drops;
    let mut fields = vec![
        origin.run_id.to_string(),
        origin.scenario.to_string(),
        origin.search.map(|(name, _)| name.to_string()).unwrap_or_default(),
        origin.search.map(|(_, last)| last.to_string()).unwrap_or_default(),
        p.label.clone(),
        p.method.to_string(),
        p.rate.to_string(),
        opt(p.asked_pps),
        p.repetition.to_string(),
        p.attempt.to_string(),
        c.duration_s.to_string(),
        c.sent_frames.to_string(),
        p.offered_pps.to_string(),
        c.iface_rx_frames.to_string(),
        opt(d.sender_queue_frames),
        opt(d.generator_tx_dropped_frames),
        opt(d.nic_frames),
        opt(d.iface_rx_dropped_frames),
        opt(d.socket_frames),
        opt(d.xdp_rx_dropped_frames),
        opt(d.xdp_rx_ring_full_frames),
        opt(d.xdp_fill_ring_empty_frames),
        c.app_rx_frames.to_string(),
        c.ipv4_frames.to_string(),
        c.rx_cpu_ns.to_string(),
        opt(c.napi_cpu_ns),
        opt(c.delay_bound_ns),
        opt(c.xdp_mode),
        opt(c.xsk_bind),
        opt(c.largest_burst_frames),
        c.generator_limit.clone().unwrap_or_default(),
        c.engine.map(|e| e.name().to_string()).unwrap_or_default(),
        opt(p.ns_per_frame),
        opt(p.rx_ns_per_frame),
        opt(p.napi_ns_per_frame),
        p.achieved_pps.to_string(),
        p.achieved_l2_mbps.to_string(),
        p.achieved_wire_mbps.to_string(),
        p.loss_pct.to_string(),
        p.offered_frames.to_string(),
    ];
    // One column per stage, in the order a frame travels; empty where the budget has none.
    fields.extend(
        Stage::ALL.iter().map(|s| opt(p.lost_frames.has(*s).then(|| p.lost_frames.get(*s)))),
    );
    fields.extend([p.valid.to_string(), p.invalid_reason.clone().unwrap_or_default()]);
    fields
}

/// The CSV text of `results`: a header and one row per point, then per search trial.
pub fn to_csv(results: &Results) -> anyhow::Result<Vec<u8>> {
    let run_id = results.run_id();
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record(HEADER).context("cannot write CSV header")?;
    let receiver =
        |label: &str| results.receivers.iter().position(|r| r.label == label).unwrap_or(usize::MAX);
    let rate = |p: &Point| results.rates.iter().position(|r| *r == p.rate).unwrap_or(usize::MAX);
    let mut points: Vec<&Point> = results.points.iter().collect();
    // Stable: repeated measurements of one point keep the order they were taken in.
    points.sort_by_key(|p| (receiver(&p.label), rate(p), p.repetition));
    let plain = Origin { run_id: &run_id, scenario: &results.scenario, search: None };
    for point in points {
        writer.write_record(row(&plain, point)).context("cannot write CSV row")?;
    }
    let targets = results.targets();
    let target = |name: &str| targets.iter().position(|(t, _)| t == name).unwrap_or(usize::MAX);
    let mut searches: Vec<_> = results.searches.iter().collect();
    searches.sort_by_key(|s| (receiver(&s.label), target(&s.target.name), s.repetition));
    for search in searches {
        for (i, trial) in search.trials.iter().enumerate() {
            let origin = Origin {
                search: Some((&search.target.name, search.final_trial == Some(i))),
                ..plain
            };
            writer.write_record(row(&origin, trial)).context("cannot write CSV row")?;
        }
    }
    writer.into_inner().context("cannot finish CSV")
}

#[cfg(test)]
mod tests {
    #[test]
    fn header_matches_row_width() {
        let p: super::Point = serde_json::from_value(serde_json::json!({
            "label": "pcap", "method": "pcap", "rate": "1Mpps", "asked_pps": 1e6, "repetition": 1,
            "duration_s": 1.0, "sent_frames": 1, "offered_pps": 1.0, "iface_rx_frames": 1,
            "drops": {}, "app_rx_frames": 1, "ipv4_frames": 1, "rx_cpu_ns": 1,
            "napi_cpu_ns": null, "ns_per_frame": 1.0, "achieved_pps": 1.0,
            "achieved_l2_mbps": 0.0, "achieved_wire_mbps": 0.0, "loss_pct": 0.0,
            "valid": true, "invalid_reason": null
        }))
        .unwrap();
        let origin = super::Origin { run_id: "r", scenario: "s", search: Some(("ndr", true)) };
        assert_eq!(super::row(&origin, &p).len(), super::HEADER.len());
        // A column for every stage of the loss budget, named after its key.
        for stage in super::Stage::ALL {
            let name = format!("lost_{}_frames", stage.key());
            assert!(super::HEADER.contains(&name.as_str()), "{name}");
        }
    }
}
