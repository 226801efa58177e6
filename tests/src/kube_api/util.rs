//! Small encodings the server needs without pulling in crates: RFC 3339
//! timestamps, kubectl-style ages, UUID-shaped uids and hex continue tokens.

use std::hash::BuildHasher as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use exporter_kit::civil::{civil_from_days, days_from_civil};

/// Seconds since the Unix epoch, now.
pub fn now_seconds() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// `2025-08-27T10:15:59Z` for a Unix time, as Kubernetes writes timestamps.
pub fn rfc3339(seconds: i64) -> String {
    let days = seconds.div_euclid(86_400);
    let rest = seconds.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

/// The Unix time of an RFC 3339 timestamp in UTC (`Z`, optional fraction).
pub fn parse_rfc3339(text: &str) -> Option<i64> {
    let number = |range: std::ops::Range<usize>| -> Option<i64> {
        let part = text.get(range)?;
        part.bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| part.parse().ok())?
    };
    if text.len() < 20 || !text.ends_with('Z') {
        return None;
    }
    let days = days_from_civil(number(0..4)?, number(5..7)?, number(8..10)?);
    Some(days * 86_400 + number(11..13)? * 3600 + number(14..16)? * 60 + number(17..19)?)
}

/// kubectl's AGE column (apimachinery's `duration.HumanDuration`).
pub fn human_duration(seconds: i64) -> String {
    if seconds < -1 {
        return "<invalid>".to_owned();
    }
    let seconds = seconds.max(0);
    let (minutes, hours, days) = (seconds / 60, seconds / 3600, seconds / 86_400);
    match () {
        () if seconds < 120 => format!("{seconds}s"),
        () if minutes < 10 && seconds % 60 != 0 => format!("{minutes}m{}s", seconds % 60),
        () if minutes < 180 => format!("{minutes}m"),
        () if hours < 8 && minutes % 60 != 0 => format!("{hours}h{}m", minutes % 60),
        () if hours < 48 => format!("{hours}h"),
        () if hours < 24 * 8 && hours % 24 != 0 => format!("{days}d{}h", hours % 24),
        () if days < 365 * 2 => format!("{days}d"),
        () if days < 365 * 8 && days % 365 != 0 => format!("{}y{}d", days / 365, days % 365),
        () => format!("{}y", days / 365),
    }
}

/// A fresh random version-4 UUID, as the real server puts in `metadata.uid`.
pub fn new_uid() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    // RandomState is seeded from the OS once per process: enough randomness
    // for identifiers without a rand crate; the counter keeps them distinct.
    let state = std::collections::hash_map::RandomState::new();
    let high = state.hash_one((n, 0u8));
    let low = state.hash_one((n, 1u8));
    let high = (high & !0xF000) | 0x4000; // version 4
    let low = (low & !(0b11 << 62)) | (0b10 << 62); // RFC 4122 variant
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        high >> 32,
        (high >> 16) & 0xFFFF,
        high & 0xFFFF,
        low >> 48,
        low & 0xFFFF_FFFF_FFFF
    )
}

/// Lower-case hex of `bytes`.
pub fn hex_encode(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The bytes of a hex string, if it is one.
pub fn hex_decode(text: &str) -> Option<Vec<u8>> {
    if text.len() % 2 != 0 {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_round_trip() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_756_289_759), "2025-08-27T10:15:59Z");
        assert_eq!(parse_rfc3339("2025-08-27T10:15:59Z"), Some(1_756_289_759));
        assert_eq!(parse_rfc3339("2024-02-29T00:00:00.5Z"), Some(1_709_164_800));
        assert_eq!(parse_rfc3339("garbage"), None);
    }

    #[test]
    fn ages_read_like_kubectl() {
        assert_eq!(human_duration(59), "59s");
        assert_eq!(human_duration(125), "2m5s");
        assert_eq!(human_duration(600), "10m");
        assert_eq!(human_duration(3 * 3600 + 60), "3h1m");
        assert_eq!(human_duration(30 * 3600), "30h");
        assert_eq!(human_duration(3 * 86_400 + 3600), "3d1h");
        assert_eq!(human_duration(40 * 86_400), "40d");
    }

    #[test]
    fn uids_look_like_uuids() {
        let (a, b) = (new_uid(), new_uid());
        assert_ne!(a, b);
        assert_eq!(a.len(), 36);
        assert_eq!(&a[14..15], "4");
    }

    #[test]
    fn hex_round_trips() {
        assert_eq!(hex_decode(&hex_encode(b"a/b")), Some(b"a/b".to_vec()));
        assert_eq!(hex_decode("zz"), None);
    }
}
