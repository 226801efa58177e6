//! `SLOWLOG LEN` and the newest `SLOWLOG GET` entry.

use exporter_kit::exposition::{MetricSet, MetricType};
use redis_protocol::resp2::types::OwnedFrame;

/// The commands whose replies [`extract`] reads.
pub const LEN: &[&str] = &["SLOWLOG", "LEN"];
pub const GET_NEWEST: &[&str] = &["SLOWLOG", "GET", "1"];

/// Adds the slowlog families from the replies to [`LEN`] and [`GET_NEWEST`];
/// a refused command costs only its families.
pub fn extract(
    length: Result<OwnedFrame, String>,
    newest: Result<OwnedFrame, String>,
    namespace: &str,
    out: &mut MetricSet,
) {
    let name = |metric: &str| crate::metric_name(namespace, metric);
    if let Ok(OwnedFrame::Integer(length)) = length {
        out.single(
            name("slowlog_length"),
            "Total slowlog",
            MetricType::Gauge,
            length as f64,
        );
    }
    let Ok(OwnedFrame::Array(entries)) = newest else {
        return;
    };
    let (mut last_id, mut duration) = (0.0, 0.0);
    if let Some(OwnedFrame::Array(entry)) = entries.first() {
        if let Some(OwnedFrame::Integer(id)) = entry.first() {
            last_id = *id as f64;
        }
        if let Some(OwnedFrame::Integer(micros)) = entry.get(2) {
            duration = *micros as f64 / 1e6;
        }
    }
    out.single(
        name("slowlog_last_id"),
        "Last id of slowlog",
        MetricType::Gauge,
        last_id,
    );
    out.single(
        name("last_slow_execution_duration_seconds"),
        "The amount of time needed for last slow execution, in seconds",
        MetricType::Gauge,
        duration,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_length_keeps_the_newest_entry_families() {
        let newest = OwnedFrame::Array(vec![OwnedFrame::Array(vec![
            OwnedFrame::Integer(41),
            OwnedFrame::Integer(1_700_000_000),
            OwnedFrame::Integer(25_000),
        ])]);
        let mut out = MetricSet::new();
        extract(Err("NOPERM".into()), Ok(newest), "redis", &mut out);
        out.finish();
        let values: Vec<(&str, f64)> = out
            .families()
            .iter()
            .map(|f| match f.samples[0].value {
                exporter_kit::exposition::Value::Single(v) => (f.name.as_ref(), v),
                _ => (f.name.as_ref(), f64::NAN),
            })
            .collect();
        assert_eq!(
            values,
            [
                ("redis_last_slow_execution_duration_seconds", 0.025),
                ("redis_slowlog_last_id", 41.0)
            ]
        );
    }
}
