//! Cron schedules as `netresearch/go-cron`'s `ParseStandard` reads them and
//! its `SpecSchedule.Next` steps through them, on Go's `time` semantics:
//! what `kube_cronjob_next_schedule_time` needs. Built on the time-zone
//! support of `jiff` (already a dependency through k8s-openapi).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};

use k8s_openapi::jiff::Timestamp;
use k8s_openapi::jiff::tz::TimeZone;

use exporter_kit::civil::{civil_from_days, days_from_civil};

/// A parsed schedule and the zone it runs in.
pub struct Schedule {
    kind: Kind,
    /// `None`: no `CRON_TZ`, the process's local zone (Go's `time.Local`,
    /// which is where `metav1.Time` values live after decoding).
    zone: Option<TimeZone>,
}

enum Kind {
    /// Bit sets of the five fields (seconds are always 0).
    Fields(Fields),
    /// `@every <duration>`, in whole seconds.
    Every(i64),
    /// `@triggered`, `@manual`, `@none`: never runs by itself.
    Never,
}

struct Fields {
    minute: u64,
    hour: u64,
    dom: u64,
    month: u64,
    dow: u64,
}

/// The bounds of a field and its names.
struct Bounds {
    min: u32,
    max: u32,
    names: &'static [(&'static str, u32)],
}

const MINUTES: Bounds = Bounds {
    min: 0,
    max: 59,
    names: &[],
};
const HOURS: Bounds = Bounds {
    min: 0,
    max: 23,
    names: &[],
};
const DOM: Bounds = Bounds {
    min: 1,
    max: 31,
    names: &[],
};
const MONTHS: Bounds = Bounds {
    min: 1,
    max: 12,
    names: &[
        ("jan", 1),
        ("feb", 2),
        ("mar", 3),
        ("apr", 4),
        ("may", 5),
        ("jun", 6),
        ("jul", 7),
        ("aug", 8),
        ("sep", 9),
        ("oct", 10),
        ("nov", 11),
        ("dec", 12),
    ],
};
/// Sunday is 0 or 7; 7 folds onto 0 after parsing.
const DOW: Bounds = Bounds {
    min: 0,
    max: 7,
    names: &[
        ("sun", 0),
        ("mon", 1),
        ("tue", 2),
        ("wed", 3),
        ("thu", 4),
        ("fri", 5),
        ("sat", 6),
    ],
};

/// The longest spec go-cron accepts.
const MAX_SPEC_LENGTH: usize = 1024;
/// How far ahead `Next` searches before giving up.
const SEARCH_YEARS: i64 = 5;

impl Schedule {
    /// `ParseStandard(schedule)`, or `ParseStandard("CRON_TZ=<zone> " +
    /// schedule)` with a time zone; `None` where go-cron returns an
    /// error.
    pub fn parse(schedule: &str, time_zone: Option<&str>) -> Option<Schedule> {
        match time_zone {
            Some(zone) => parse_spec(&format!("CRON_TZ={zone} {schedule}")),
            None => parse_spec(schedule),
        }
    }

    /// `Next`: the first activation strictly after `after` (Unix
    /// seconds), or `None` where go-cron returns the zero time.
    pub fn next_after(&self, after: i64) -> Option<i64> {
        match &self.kind {
            Kind::Every(seconds) => after.checked_add(*seconds),
            Kind::Never => None,
            Kind::Fields(fields) => match &self.zone {
                Some(zone) => next(fields, zone, after),
                None => next(fields, local_zone(), after),
            },
        }
    }
}

fn parse_spec(spec: &str) -> Option<Schedule> {
    if spec.is_empty() || spec.len() > MAX_SPEC_LENGTH {
        return None;
    }
    let (zone, spec) = if spec.starts_with("TZ=") || spec.starts_with("CRON_TZ=") {
        let space = spec.find(' ')?;
        let equals = spec.find('=')?;
        let name = spec.get(equals + 1..space)?;
        let zone = load_location(name)?;
        let rest = spec.get(space..)?.trim();
        if rest.is_empty() {
            return None;
        }
        (zone, rest)
    } else {
        (None, spec)
    };
    let kind = if spec.starts_with('@') {
        descriptor(spec)?
    } else {
        let fields: Vec<&str> = spec.split_whitespace().collect();
        let [minute, hour, dom, month, dow] = fields.as_slice() else {
            return None;
        };
        // go-cron reads any `H` as a hash expression, which the
        // standard parser rejects (so `THU` is refused too).
        if fields.iter().any(|f| f.contains('H')) {
            return None;
        }
        Kind::Fields(Fields {
            minute: field(minute, &MINUTES)?,
            hour: field(hour, &HOURS)?,
            dom: field(dom, &DOM)?,
            month: field(month, &MONTHS)?,
            dow: fold_sunday(field(dow, &DOW)?),
        })
    };
    Some(Schedule { kind, zone })
}

fn fold_sunday(bits: u64) -> u64 {
    if bits & (1 << 7) != 0 {
        (bits | 1) & !(1 << 7)
    } else {
        bits
    }
}

fn all(bounds: &Bounds) -> u64 {
    bits(bounds.min, bounds.max, 1)
}

fn descriptor(spec: &str) -> Option<Kind> {
    let every_dow = fold_sunday(all(&DOW));
    let fields = |hour, dom, month, dow| {
        Some(Kind::Fields(Fields {
            minute: 1,
            hour,
            dom,
            month,
            dow,
        }))
    };
    match spec {
        "@yearly" | "@annually" => fields(1, 1 << 1, 1 << 1, every_dow),
        "@monthly" => fields(1, 1 << 1, all(&MONTHS), every_dow),
        "@weekly" => fields(1, all(&DOM), all(&MONTHS), 1),
        "@daily" | "@midnight" => fields(1, all(&DOM), all(&MONTHS), every_dow),
        "@hourly" => fields(all(&HOURS), all(&DOM), all(&MONTHS), every_dow),
        "@triggered" | "@manual" | "@none" => Some(Kind::Never),
        _ => {
            let nanos = go_duration(spec.strip_prefix("@every ")?)?;
            // At least a second, counted in whole seconds.
            (nanos >= 1_000_000_000).then_some(Kind::Every((nanos / 1_000_000_000) as i64))
        }
    }
}

/// One field: comma-separated ranges (empty ones skipped, as Go's
/// `strings.FieldsFunc` does).
fn field(text: &str, bounds: &Bounds) -> Option<u64> {
    text.split(',')
        .filter(|r| !r.is_empty())
        .try_fold(0u64, |acc, r| Some(acc | range(r, bounds)?))
}

/// `*`, `?`, `N`, `N-M`, each with an optional `/step`; `N/step` runs to
/// the field's end. A step must be smaller than the range it steps
/// through (go-cron's check; robfig/cron did not have it).
fn range(expr: &str, bounds: &Bounds) -> Option<u64> {
    let mut range_and_step = expr.split('/');
    let range = range_and_step.next()?;
    let step_text = range_and_step.next();
    if range_and_step.next().is_some() {
        return None;
    }
    let low_and_high: Vec<&str> = range.split('-').collect();
    let (start, mut end) = match low_and_high.as_slice() {
        ["*" | "?", ..] => (bounds.min, bounds.max),
        [single] => {
            let v = int_or_name(single, bounds)?;
            (v, v)
        }
        [low, high] => (int_or_name(low, bounds)?, int_or_name(high, bounds)?),
        _ => return None,
    };
    let mut step = 1;
    if let Some(text) = step_text {
        step = go_atoi(text)?;
        if low_and_high.len() == 1 {
            end = bounds.max;
        }
    }
    if start < bounds.min || end > bounds.max || start > end || step == 0 {
        return None;
    }
    let size = end - start + 1;
    if step > 1 && step >= size {
        return None;
    }
    // The checks above keep every bit below 60.
    Some(bits(start, end, step))
}

fn bits(low: u32, high: u32, step: u32) -> u64 {
    (low..=high)
        .step_by(step.max(1) as usize)
        .fold(0, |acc, v| acc | (1u64 << v))
}

fn int_or_name(text: &str, bounds: &Bounds) -> Option<u32> {
    let lower = text.to_ascii_lowercase();
    if let Some((_, v)) = bounds.names.iter().find(|(name, _)| *name == lower) {
        return Some(*v);
    }
    go_atoi(text)
}

/// Go's `strconv.Atoi` as go-cron uses it: an optional sign and decimal
/// digits, negative numbers refused.
fn go_atoi(text: &str) -> Option<u32> {
    let n: i64 = text.parse().ok()?;
    u32::try_from(n).ok()
}

/// Go's `time.ParseDuration`, in nanoseconds (`None` for errors and
/// negative durations).
fn go_duration(text: &str) -> Option<i128> {
    let (negative, mut rest) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    if rest == "0" {
        return Some(0);
    }
    if rest.is_empty() {
        return None;
    }
    let mut total: i128 = 0;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        let (whole, after) = rest.split_at(digits);
        let (fraction, after) = match after.strip_prefix('.') {
            Some(after) => {
                let n = after.bytes().take_while(u8::is_ascii_digit).count();
                after.split_at(n)
            }
            None => ("", after),
        };
        if whole.is_empty() && fraction.is_empty() {
            return None;
        }
        let unit_len = after
            .char_indices()
            .find(|(_, c)| *c == '.' || c.is_ascii_digit())
            .map_or(after.len(), |(i, _)| i);
        let (unit, after) = after.split_at(unit_len);
        let scale: i128 = match unit {
            "ns" => 1,
            "us" | "\u{b5}s" | "\u{3bc}s" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            _ => return None,
        };
        let whole: i128 = if whole.is_empty() {
            0
        } else {
            whole.parse().ok()?
        };
        let mut value = whole.checked_mul(scale)?;
        // Fraction digits beyond nanoseconds do not matter.
        let mut place = scale;
        for d in fraction.bytes() {
            place /= 10;
            value = value.checked_add(i128::from(d - b'0') * place)?;
        }
        total = total.checked_add(value)?;
        if total > i128::from(i64::MAX) {
            return None;
        }
        rest = after;
    }
    (!negative).then_some(total)
}

/// Go's `time.LoadLocation` after go-cron's name check: `Some(None)` is
/// `time.Local`.
fn load_location(name: &str) -> Option<Option<TimeZone>> {
    let valid = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/_-+:".contains(&b));
    if !valid {
        return None;
    }
    match name {
        "UTC" => Some(Some(TimeZone::UTC)),
        "Local" => Some(None),
        _ if name.contains("..") || name.starts_with(['/', '\\']) => None,
        _ => named_zone(name).map(Some),
    }
}

/// Where Go looks for zone files (`$ZONEINFO` first).
fn zone_dirs() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::env::var_os("ZONEINFO")
        .map(PathBuf::from)
        .into_iter()
        .collect();
    dirs.extend(
        [
            "/usr/share/zoneinfo",
            "/usr/share/lib/zoneinfo",
            "/usr/lib/locale/TZ",
            "/etc/zoneinfo",
        ]
        .map(PathBuf::from),
    );
    dirs
}

fn read_zone(name: &str, dirs: &[PathBuf]) -> Option<TimeZone> {
    dirs.iter().find_map(|dir| {
        let data = std::fs::read(dir.join(name)).ok()?;
        TimeZone::tzif(name, &data).ok()
    })
}

/// A named zone from the zone files, remembered (zones are read once
/// per name, not on every render).
fn named_zone(name: &str) -> Option<TimeZone> {
    static ZONES: OnceLock<Mutex<HashMap<String, Option<TimeZone>>>> = OnceLock::new();
    let zones = ZONES.get_or_init(Mutex::default);
    if let Some(zone) = zones.lock().ok().and_then(|z| z.get(name).cloned()) {
        return zone;
    }
    let zone = read_zone(name, &zone_dirs());
    if let Ok(mut zones) = zones.lock() {
        // Names come from objects; keep the cache bounded.
        if zones.len() >= 256 {
            zones.clear();
        }
        zones.insert(name.to_owned(), zone.clone());
    }
    zone
}

/// Go's `time.Local`: `$TZ` (unset: `/etc/localtime`; empty or `UTC`:
/// UTC; `:` prefix dropped; a path or a zone name), UTC when it cannot
/// be loaded.
fn local_zone() -> &'static TimeZone {
    static LOCAL: OnceLock<TimeZone> = OnceLock::new();
    LOCAL.get_or_init(|| {
        let zone = match std::env::var("TZ") {
            Err(_) => std::fs::read("/etc/localtime")
                .ok()
                .and_then(|data| TimeZone::tzif("Local", &data).ok()),
            Ok(tz) => {
                let tz = tz.strip_prefix(':').unwrap_or(&tz);
                if tz.starts_with('/') {
                    std::fs::read(tz)
                        .ok()
                        .and_then(|data| TimeZone::tzif(tz, &data).ok())
                } else if tz.is_empty() || tz == "UTC" {
                    None
                } else {
                    read_zone(tz, &zone_dirs())
                }
            }
        };
        zone.unwrap_or(TimeZone::UTC)
    })
}

/// A `time.Time` in one location, as Unix seconds, with the calendar
/// arithmetic `Next` uses.
struct Clock<'a> {
    zone: &'a TimeZone,
}

/// The local calendar fields of an instant.
struct Civil {
    year: i64,
    month: i64,
    day: i64,
    hour: i64,
    minute: i64,
    second: i64,
    weekday: i64,
}

impl Clock<'_> {
    fn offset(&self, unix: i64) -> Option<i64> {
        let instant = Timestamp::from_second(unix).ok()?;
        Some(i64::from(self.zone.to_offset(instant).seconds()))
    }

    fn civil(&self, unix: i64) -> Option<Civil> {
        let local = unix.checked_add(self.offset(unix)?)?;
        let days = local.div_euclid(86_400);
        let seconds = local.rem_euclid(86_400);
        let (year, month, day) = civil_from_days(days);
        Some(Civil {
            year,
            month,
            day,
            hour: seconds / 3600,
            minute: seconds % 3600 / 60,
            second: seconds % 60,
            // 1970-01-01 was a Thursday; Sunday is 0.
            weekday: (days + 4).rem_euclid(7),
        })
    }

    /// Go's `time.Date`: out-of-range fields carry over; a wall time in
    /// a gap or an overlap resolves as Go's offset lookup does.
    fn date(
        &self,
        year: i64,
        month: i64,
        day: i64,
        hour: i64,
        minute: i64,
        second: i64,
    ) -> Option<i64> {
        let month0 = month - 1;
        let year = year + month0.div_euclid(12);
        let month = month0.rem_euclid(12) + 1;
        let days = days_from_civil(year, month, 1) + day - 1;
        let local = days * 86_400 + hour * 3600 + minute * 60 + second;
        let guess = self.offset(local)?;
        Some(local - self.offset(local - guess)?)
    }
}

fn has(bits: u64, value: i64) -> bool {
    (0..64).contains(&value) && bits & (1 << value) != 0
}

/// go-cron's `SpecSchedule.Next` (seconds fixed at 0): field by field
/// from the month down, wrapping back up when a field rolls over,
/// giving up after five years. Days match when both the day of month
/// and the day of week do (go-cron's default; robfig/cron and the
/// Kubernetes controller use either when both are restricted).
fn next(fields: &Fields, zone: &TimeZone, after: i64) -> Option<i64> {
    // A field that matches nothing (`,`): go-cron searches its five
    // years in vain and returns the zero time; skip the search.
    if [
        fields.minute,
        fields.hour,
        fields.dom,
        fields.month,
        fields.dow,
    ]
    .contains(&0)
    {
        return None;
    }
    let clock = Clock { zone };
    let mut t = after.checked_add(1)?;
    let mut added = false;
    let year_limit = clock.civil(t)?.year + SEARCH_YEARS;
    // Go has no such bound; it keeps a pathological zone from spinning.
    let mut budget: u32 = 2_000_000;
    'wrap: loop {
        budget = budget.checked_sub(1)?;
        if clock.civil(t)?.year > year_limit {
            return None;
        }
        loop {
            budget = budget.checked_sub(1)?;
            let c = clock.civil(t)?;
            if has(fields.month, c.month) {
                break;
            }
            if !added {
                added = true;
                t = clock.date(c.year, c.month, 1, 0, 0, 0)?;
            }
            let c = clock.civil(t)?;
            t = clock.date(c.year, c.month + 1, c.day, c.hour, c.minute, c.second)?;
            if clock.civil(t)?.month == 1 {
                continue 'wrap;
            }
        }
        loop {
            budget = budget.checked_sub(1)?;
            let c = clock.civil(t)?;
            if has(fields.dom, c.day) && has(fields.dow, c.weekday) {
                break;
            }
            if !added {
                added = true;
                t = clock.date(c.year, c.month, c.day, 0, 0, 0)?;
            }
            let c = clock.civil(t)?;
            t = clock.date(c.year, c.month, c.day + 1, c.hour, c.minute, c.second)?;
            // Where midnight does not exist (DST), land back on it.
            let hour = clock.civil(t)?.hour;
            if hour != 0 {
                t += if hour > 12 {
                    (24 - hour) * 3600
                } else {
                    -hour * 3600
                };
            }
            if clock.civil(t)?.day == 1 {
                continue 'wrap;
            }
        }
        loop {
            budget = budget.checked_sub(1)?;
            let c = clock.civil(t)?;
            if has(fields.hour, c.hour) {
                break;
            }
            if !added {
                added = true;
                t = clock.date(c.year, c.month, c.day, c.hour, 0, 0)?;
            }
            let previous = clock.civil(t)?.hour;
            t += 3600;
            let hour = clock.civil(t)?.hour;
            // Spring forward skipped a matching hour: run right away.
            if hour - previous == 2 && has(fields.hour, hour - 1) {
                break;
            }
            if hour == 0 {
                continue 'wrap;
            }
        }
        loop {
            budget = budget.checked_sub(1)?;
            if has(fields.minute, clock.civil(t)?.minute) {
                break;
            }
            if !added {
                added = true;
                t -= t.rem_euclid(60);
            }
            t += 60;
            if clock.civil(t)?.minute == 0 {
                continue 'wrap;
            }
        }
        loop {
            budget = budget.checked_sub(1)?;
            if clock.civil(t)?.second == 0 {
                break;
            }
            added = true;
            t += 1;
            if clock.civil(t)?.second == 0 {
                continue 'wrap;
            }
        }
        return Some(t);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(text: &str) -> i64 {
        text.parse::<Timestamp>().unwrap().as_second()
    }

    fn next_utc(spec: &str, after: &str) -> Option<i64> {
        Schedule::parse(spec, Some("UTC"))
            .unwrap()
            .next_after(utc(after))
    }

    #[test]
    fn standard_schedules() {
        let at = |s| Some(utc(s));
        assert_eq!(
            next_utc("0 */6 * * *", "2018-03-11T04:34:56Z"),
            at("2018-03-11T06:00:00Z")
        );
        assert_eq!(
            next_utc("25 * * * *", "2018-03-11T06:25:00Z"),
            at("2018-03-11T07:25:00Z")
        );
        assert_eq!(
            next_utc("*/5 * * * *", "2024-12-31T23:58:00Z"),
            at("2025-01-01T00:00:00Z")
        );
        assert_eq!(
            next_utc("0 0 29 2 *", "2024-03-01T00:00:00Z"),
            at("2028-02-29T00:00:00Z")
        );
        assert_eq!(
            next_utc("30 9 * * mon-FRI", "2024-03-08T10:00:00Z"),
            at("2024-03-11T09:30:00Z")
        );
        assert_eq!(
            next_utc("0 0 * * 7", "2024-03-08T10:00:00Z"),
            at("2024-03-10T00:00:00Z")
        );
        assert_eq!(
            next_utc("0 0 1 jan,jul ?", "2024-03-08T10:00:00Z"),
            at("2024-07-01T00:00:00Z")
        );
        assert_eq!(
            next_utc("@hourly", "2024-03-08T10:00:00Z"),
            at("2024-03-08T11:00:00Z")
        );
        assert_eq!(
            next_utc("@weekly", "2024-03-08T10:00:00Z"),
            at("2024-03-10T00:00:00Z")
        );
        assert_eq!(
            next_utc("@yearly", "2024-03-08T10:00:00Z"),
            at("2025-01-01T00:00:00Z")
        );
        assert_eq!(
            next_utc("@every 1h30m", "2024-03-08T10:00:00Z"),
            at("2024-03-08T11:30:00Z")
        );
        assert_eq!(
            next_utc("5/20 * * * *", "2024-03-08T10:30:00Z"),
            at("2024-03-08T10:45:00Z")
        );
        // Day of month AND day of week: the first Monday of a month.
        assert_eq!(
            next_utc("0 0 1-7 * 1", "2024-03-08T10:00:00Z"),
            at("2024-04-01T00:00:00Z")
        );
        // Never satisfiable: Go's zero time.
        assert_eq!(next_utc("0 0 30 2 *", "2024-03-08T10:00:00Z"), None);
        assert_eq!(next_utc("@manual", "2024-03-08T10:00:00Z"), None);
        assert_eq!(next_utc(", * * * *", "2024-03-08T10:00:00Z"), None);
    }

    #[test]
    fn schedules_go_cron_refuses() {
        for bad in [
            "",
            "* * * *",
            "* * * * * *",
            "*/60 * * * *",
            "*/120 4-22 * * *",
            "0 1 */32,1-7 * 3",
            "50/15 * * * *",
            "60 * * * *",
            "5-1 * * * *",
            "0 0 * * THU",
            "0 0 L * *",
            "0 0 * * 1#2",
            "a * * * *",
            "-1 * * * *",
            "*/0 * * * *",
            "1/2/3 * * * *",
            "@every 10ms",
            "@every -1h",
            "@every 1x",
            "@fortnightly",
        ] {
            assert!(
                Schedule::parse(bad, None).is_none(),
                "{bad:?} should not parse"
            );
        }
        assert!(Schedule::parse("0 0 * * thu", None).is_some());
        assert!(Schedule::parse("*/59 * * * *", None).is_some());
        assert!(Schedule::parse("+5 * * * *", None).is_some());
        assert!(Schedule::parse("0 * * * *", Some("Not/AZone")).is_none());
        assert!(Schedule::parse("0 * * * *", Some("../etc/passwd")).is_none());
        assert!(Schedule::parse("0 * * * *", Some("Europe Paris")).is_none());
        assert!(Schedule::parse("0 * * * *", Some("Local")).is_some());
    }

    #[test]
    fn go_durations() {
        assert_eq!(go_duration("1h30m"), Some(5_400_000_000_000));
        assert_eq!(go_duration("1.5h"), Some(5_400_000_000_000));
        assert_eq!(go_duration(".5s"), Some(500_000_000));
        assert_eq!(go_duration("1m0.5s"), Some(60_500_000_000));
        assert_eq!(go_duration("300\u{b5}s"), Some(300_000));
        assert_eq!(go_duration("0"), Some(0));
        assert_eq!(go_duration("1"), None);
        assert_eq!(go_duration("."), None);
        assert_eq!(go_duration("1d"), None);
    }

    #[test]
    fn calendar_arithmetic_round_trips() {
        assert_eq!(civil_from_days(19_782), (2024, 2, 29));
        let clock = Clock {
            zone: &TimeZone::UTC,
        };
        assert_eq!(
            clock.date(2024, 13, 1, 0, 0, 0),
            Some(utc("2025-01-01T00:00:00Z"))
        );
        assert_eq!(
            clock.date(2024, 2, 30, 24, 0, 0),
            Some(utc("2024-03-02T00:00:00Z"))
        );
    }

    /// Zone files are read from the system, as Go does (the test
    /// command installs tzdata).
    fn zone(name: &str) -> Option<TimeZone> {
        let zone = named_zone(name);
        assert!(
            zone.is_some(),
            "no zone file for {name}: install tzdata (scripts/test does)"
        );
        zone
    }

    #[test]
    fn schedules_in_a_zone_with_daylight_saving() {
        let Some(_) = zone("America/New_York") else {
            return;
        };
        let next = |spec: &str, after: &str| {
            Schedule::parse(spec, Some("America/New_York"))
                .unwrap()
                .next_after(utc(after))
        };
        // 02:30 does not exist on 2024-03-10: the skipped hour runs as
        // 03:xx, at minute 30 (03:30 EDT), as go-cron does.
        assert_eq!(
            next("30 2 * * *", "2024-03-09T08:00:00Z"),
            Some(utc("2024-03-10T07:30:00Z"))
        );
        // The day after, 02:30 EDT.
        assert_eq!(
            next("30 2 * * *", "2024-03-10T08:00:00Z"),
            Some(utc("2024-03-11T06:30:00Z"))
        );
        // Midnight in New York, in winter and in summer.
        assert_eq!(
            next("0 0 * * *", "2024-01-15T12:00:00Z"),
            Some(utc("2024-01-16T05:00:00Z"))
        );
        assert_eq!(
            next("0 0 * * *", "2024-07-15T12:00:00Z"),
            Some(utc("2024-07-16T04:00:00Z"))
        );
        // 01:30 happens twice on 2024-11-03; the first one.
        assert_eq!(
            next("30 1 * * *", "2024-11-03T04:00:00Z"),
            Some(utc("2024-11-03T05:30:00Z"))
        );
    }
}
