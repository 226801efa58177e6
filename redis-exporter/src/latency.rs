//! `LATENCY LATEST`: the latest spike per latency event.

use exporter_kit::exposition::{MetricSet, MetricType};
use redis_protocol::resp2::types::OwnedFrame;

use crate::client::text;

/// The commands whose replies [`extract_latest`] and [`extract_histograms`]
/// read.
pub const LATEST: &[&str] = &["LATENCY", "LATEST"];
pub const HISTOGRAM: &[&str] = &["LATENCY", "HISTOGRAM"];

/// The latency spike families from the reply to [`LATEST`].
pub fn extract_latest(reply: Result<OwnedFrame, String>, namespace: &str, out: &mut MetricSet) {
    let Ok(OwnedFrame::Array(events)) = reply else {
        return;
    };
    for event in events {
        let OwnedFrame::Array(fields) = event else {
            continue;
        };
        let (
            Some(name),
            Some(OwnedFrame::Integer(timestamp)),
            Some(OwnedFrame::Integer(latest_ms)),
        ) = (fields.first().and_then(text), fields.get(1), fields.get(2))
        else {
            continue;
        };
        let labels = [("event_name", name.as_ref())];
        out.family(
            crate::metric_name(namespace, "latency_spike_last"),
            "When the latency spike last occurred",
            MetricType::Gauge,
        )
        .sample(&labels, *timestamp as f64);
        out.family(
            crate::metric_name(namespace, "latency_spike_duration_seconds"),
            "Length of the last latency spike in seconds",
            MetricType::Gauge,
        )
        .sample(&labels, *latest_ms as f64 / 1e3);
    }
}

/// `LATENCY HISTOGRAM` (Redis 7+): each command's latency distribution as
/// `commands_latencies_usec{cmd}`, with the server's power-of-two
/// microsecond buckets. Older servers refuse the command; that only loses
/// this family.
pub fn extract_histograms(
    reply: Result<OwnedFrame, String>,
    namespace: &str,
    info_text: &str,
    out: &mut MetricSet,
) {
    let Ok(OwnedFrame::Array(reply)) = reply else {
        return;
    };
    let usecs = command_usecs(info_text);
    for entry in reply.chunks(2) {
        let [name, OwnedFrame::Array(details)] = entry else {
            continue;
        };
        let Some(command) = text(name) else {
            continue;
        };
        let Some((calls, buckets)) = histogram(details) else {
            continue;
        };
        out.family(
            crate::metric_name(namespace, "commands_latencies_usec"),
            "A histogram of latencies per command",
            MetricType::Histogram,
        )
        .histogram(
            &[("cmd", &command)],
            buckets,
            usec_sum(&usecs, &command),
            calls,
        );
    }
}

/// `calls` and the cumulative `histogram_usec` buckets of one command.
fn histogram(details: &[OwnedFrame]) -> Option<(u64, Vec<(f64, u64)>)> {
    let mut calls = None;
    let mut buckets = Vec::new();
    for field in details.chunks(2) {
        match (field.first().and_then(text).as_deref(), field.get(1)) {
            (Some("calls"), Some(OwnedFrame::Integer(n))) => calls = u64::try_from(*n).ok(),
            (Some("histogram_usec"), Some(OwnedFrame::Array(points))) => {
                buckets = points
                    .chunks(2)
                    .filter_map(|point| match point {
                        [OwnedFrame::Integer(bound), OwnedFrame::Integer(count)] => {
                            Some((*bound as f64, u64::try_from(*count).ok()?))
                        }
                        _ => None,
                    })
                    .collect();
            }
            _ => {}
        }
    }
    Some((calls?, buckets))
}

/// INFO's `cmdstat_<command>:...usec=N...` lines as (command, usec), read
/// once per scrape for the histogram sums.
fn command_usecs(info_text: &str) -> Vec<(&str, f64)> {
    info_text
        .lines()
        .filter_map(|line| {
            let (name, stats) = line.trim_end().strip_prefix("cmdstat_")?.split_once(':')?;
            let plain = name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'|');
            let usec = stats
                .split(',')
                .find_map(|stat| stat.strip_prefix("usec="))?
                .parse::<f64>()
                .ok()?;
            plain.then_some((name, usec))
        })
        .collect()
}

/// The histogram's sum: `usec` of the commands whose name starts with
/// `command`. Upstream matches by prefix, so `get` also sums `getex`,
/// `getdel` and the like; we keep that so sums agree with it.
fn usec_sum(usecs: &[(&str, f64)], command: &str) -> f64 {
    usecs
        .iter()
        .filter(|(name, _)| name.starts_with(command))
        .map(|(_, usec)| usec)
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bulk(text: &str) -> OwnedFrame {
        OwnedFrame::BulkString(text.as_bytes().to_vec())
    }

    #[test]
    fn histogram_fields_in_any_order_and_bad_points_skipped() {
        let details = [
            bulk("histogram_usec"),
            OwnedFrame::Array(vec![
                OwnedFrame::Integer(1),
                OwnedFrame::Integer(3),
                OwnedFrame::Integer(2),
                bulk("garbage"),
                OwnedFrame::Integer(4),
                OwnedFrame::Integer(5),
            ]),
            bulk("calls"),
            OwnedFrame::Integer(5),
        ];
        assert_eq!(histogram(&details), Some((5, vec![(1.0, 3), (4.0, 5)])));
        assert_eq!(histogram(&details[..2]), None, "no calls");
        assert_eq!(
            histogram(&[bulk("calls"), OwnedFrame::Integer(-1)]),
            None,
            "negative calls"
        );
    }

    #[test]
    fn sums_by_prefix_as_upstream() {
        let info = "# Commandstats\r\n\
            cmdstat_get:calls=2,usec=10,usec_per_call=5.00,rejected_calls=0,failed_calls=0\r\n\
            cmdstat_getex:calls=1,usec=7,usec_per_call=7.00,rejected_calls=0,failed_calls=0\r\n\
            cmdstat_set:calls=1,usec=3,usec_per_call=3.00,rejected_calls=0,failed_calls=0\r\n\
            cmdstat_config|get:calls=1,usec=40,usec_per_call=40.00\r\n\
            cmdstat_broken:calls=1,usec=x\r\n";
        let usecs = command_usecs(info);
        assert_eq!(usec_sum(&usecs, "get"), 17.0);
        assert_eq!(usec_sum(&usecs, "config|get"), 40.0);
        assert_eq!(usec_sum(&usecs, "broken"), 0.0);
        assert_eq!(usec_sum(&usecs, "del"), 0.0);
    }
}
