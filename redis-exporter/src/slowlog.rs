//! `SLOWLOG LEN` and the newest `SLOWLOG GET` entry.

use exporter_kit::exposition::{MetricSet, MetricType};
use redis_protocol::resp2::types::OwnedFrame;

use crate::client::{Connection, RedisError};

pub async fn extract(
    connection: &mut Connection,
    namespace: &str,
    out: &mut MetricSet,
) -> Result<(), RedisError> {
    let name = |metric: &str| format!("{namespace}_{metric}");
    if let Ok(OwnedFrame::Integer(length)) =
        connection.command_or_refusal(&["SLOWLOG", "LEN"]).await?
    {
        out.single(
            name("slowlog_length"),
            "Total slowlog",
            MetricType::Gauge,
            length as f64,
        );
    }
    let Ok(OwnedFrame::Array(entries)) = connection
        .command_or_refusal(&["SLOWLOG", "GET", "1"])
        .await?
    else {
        return Ok(());
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
    Ok(())
}
