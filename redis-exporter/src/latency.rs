//! `LATENCY LATEST`: the latest spike per latency event.

use exporter_kit::exposition::{MetricSet, MetricType};
use redis_protocol::resp2::types::OwnedFrame;

use crate::client::{Connection, RedisError, text};

pub async fn extract_latest(
    connection: &mut Connection,
    namespace: &str,
    out: &mut MetricSet,
) -> Result<(), RedisError> {
    let events = match connection.command(&["LATENCY", "LATEST"]).await {
        Ok(OwnedFrame::Array(events)) => events,
        Ok(_) | Err(RedisError::Server(_)) => return Ok(()),
        Err(e) => return Err(e),
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
        let labels = [("event_name", name.as_str())];
        out.family(
            format!("{namespace}_latency_spike_last"),
            "When the latency spike last occurred",
            MetricType::Gauge,
        )
        .sample(&labels, *timestamp as f64);
        out.family(
            format!("{namespace}_latency_spike_duration_seconds"),
            "Length of the last latency spike in seconds",
            MetricType::Gauge,
        )
        .sample(&labels, *latest_ms as f64 / 1e3);
    }
    Ok(())
}
