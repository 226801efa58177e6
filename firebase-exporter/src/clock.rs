//! Wall-clock times as milliseconds since the Unix epoch, and RFC 3339
//! timestamps read into them.

use std::time::SystemTime;

use exporter_kit::civil::days_from_civil;

/// `time` in milliseconds since the epoch (negative before it), saturating
/// far outside the range.
pub fn unix_millis(time: SystemTime) -> i64 {
    match time.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(elapsed) => i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX),
        Err(before) => i64::try_from(before.duration().as_millis()).map_or(i64::MIN, |ms| -ms),
    }
}

/// An RFC 3339 timestamp (`2026-11-24T12:00:00.123Z`, any offset such as
/// `+05:30`, lower-case `t`/`z`, any year from 0000) as milliseconds since
/// the epoch; `None` if it is not one. Digits past the milliseconds are
/// dropped; a leap second reads as the next second.
pub fn parse_rfc3339(text: &str) -> Option<i64> {
    let bytes = text.as_bytes();
    let number = |range: std::ops::Range<usize>| -> Option<i64> {
        let digits = bytes.get(range)?;
        digits.iter().try_fold(0i64, |n, b| {
            b.is_ascii_digit().then(|| n * 10 + i64::from(b - b'0'))
        })
    };
    let separator = |at: usize, allowed: &[u8]| bytes.get(at).is_some_and(|b| allowed.contains(b));
    if !(separator(4, b"-")
        && separator(7, b"-")
        && separator(10, b"Tt ")
        && separator(13, b":")
        && separator(16, b":"))
    {
        return None;
    }
    let (year, month, day) = (number(0..4)?, number(5..7)?, number(8..10)?);
    let (hour, minute, second) = (number(11..13)?, number(14..16)?, number(17..19)?);
    if !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let mut at = 19;
    let mut millis = 0;
    if bytes.get(at) == Some(&b'.') {
        let digits = bytes
            .get(at + 1..)
            .unwrap_or_default()
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count();
        if digits == 0 {
            return None;
        }
        let kept = number(at + 1..at + 1 + digits.min(3))?;
        millis = kept * 10i64.pow(3 - digits.min(3) as u32);
        at += 1 + digits;
    }
    let offset_minutes = match bytes.get(at..)? {
        b"Z" | b"z" => 0,
        [sign @ (b'+' | b'-'), _, _, b':', _, _] => {
            let (hours, minutes) = (number(at + 1..at + 3)?, number(at + 4..at + 6)?);
            if hours > 23 || minutes > 59 {
                return None;
            }
            let offset = hours * 60 + minutes;
            if *sign == b'-' { -offset } else { offset }
        }
        _ => return None,
    };
    let days = days_from_civil(year, month, day);
    let seconds = ((days * 24 + hour) * 60 + minute - offset_minutes) * 60 + second;
    Some(seconds * 1000 + millis)
}

fn is_leap(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn utc_times_match_humantime() {
        for text in [
            "1970-01-01T00:00:00Z",
            "2026-11-24T12:00:00.123Z",
            "2000-02-29T23:59:59.999Z",
            "2100-03-01T00:00:00Z",
            "2026-01-31T08:09:10.5Z",
        ] {
            let expected = unix_millis(humantime::parse_rfc3339(text).unwrap());
            assert_eq!(parse_rfc3339(text), Some(expected), "{text}");
        }
    }

    #[test]
    fn offsets_case_and_old_years() {
        let utc = parse_rfc3339("2026-11-24T12:00:00Z").unwrap();
        assert_eq!(parse_rfc3339("2026-11-24T17:30:00+05:30"), Some(utc));
        assert_eq!(parse_rfc3339("2026-11-24T04:00:00-08:00"), Some(utc));
        assert_eq!(parse_rfc3339("2026-11-24t12:00:00z"), Some(utc));
        assert_eq!(
            parse_rfc3339("2026-11-24T12:00:00.123456789Z"),
            Some(utc + 123)
        );
        assert_eq!(parse_rfc3339("1969-12-31T23:59:59Z"), Some(-1000));
        assert_eq!(
            parse_rfc3339("0000-01-01T00:00:00Z"),
            Some(-62_167_219_200_000)
        );
        assert_eq!(
            unix_millis(SystemTime::UNIX_EPOCH - Duration::from_millis(1500)),
            -1500
        );
    }

    #[test]
    fn malformed_times_are_none() {
        for text in [
            "",
            "abc",
            "2026-13-01T00:00:00Z",
            "2026-02-29T00:00:00Z",
            "2026-11-24T24:00:00Z",
            "2026-11-24T12:00:00",
            "2026-11-24T12:00:00.Z",
            "2026-11-24T12:00:00+0530",
            "2026-11-24T12:00:00+24:00",
            "2026-11-24T12:00:00Zjunk",
            "+2026-11-24T12:00:00Z",
            "2026-1-24T12:00:00Z",
            "２０２６-11-24T12:00:00Z",
        ] {
            assert_eq!(parse_rfc3339(text), None, "{text}");
        }
    }
}
