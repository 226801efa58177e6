//! `node_os_info`, `node_os_version` and `node_os_support_end_timestamp_seconds`
//! from os-release(5) under `--path.rootfs`.
//!
//! As upstream does, the file is parsed again only when it changed: a scrape
//! costs one stat(2) while it stays the same.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use exporter_kit::file_stamp::Stamp;

use exporter_kit::exposition::{MetricSet, MetricType};

use crate::collector::{CollectError, Collector, Registration};

pub const REGISTRATION: Registration = Registration {
    name: "os",
    enabled_by_default: true,
    build: |context| {
        let rootfs = &context.paths.rootfs;
        Ok(Box::new(Os {
            candidates: ["etc/os-release", "usr/lib/os-release"].map(|p| rootfs.join(p)),
            parsed: Mutex::new(None),
        }))
    },
};

struct Os {
    candidates: [PathBuf; 2],
    /// The last file parsed: which candidate, its stamp, its fields.
    parsed: Mutex<Option<(usize, Stamp, Release)>>,
}

/// An os-release file's fields by key.
type Release = Arc<HashMap<String, String>>;

impl Os {
    /// The fields of the first os-release file that exists, parsed anew
    /// only when it is another file or changed.
    fn release(&self) -> Result<(&PathBuf, Release), CollectError> {
        for (candidate, path) in self.candidates.iter().enumerate() {
            // The first file that exists counts; an unreadable one is an
            // error, not a reason to fall back.
            let stamp = match std::fs::metadata(path) {
                Ok(meta) => Stamp::of(&meta),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(CollectError::io(path, e)),
            };
            let mut parsed = self.parsed.lock().unwrap_or_else(|p| p.into_inner());
            if let Some((known, known_stamp, release)) = parsed.as_ref()
                && *known == candidate
                && *known_stamp == stamp
            {
                return Ok((path, release.clone()));
            }
            let text = crate::collector::read(path)?;
            let release =
                Arc::new(parse_os_release(&text).map_err(|e| CollectError::parse(path, e))?);
            *parsed = Some((candidate, stamp, release.clone()));
            return Ok((path, release));
        }
        Err(CollectError::NoData("no os-release file found".into()))
    }
}

const INFO_LABELS: [(&str, &str); 12] = [
    ("build_id", "BUILD_ID"),
    ("id", "ID"),
    ("id_like", "ID_LIKE"),
    ("image_id", "IMAGE_ID"),
    ("image_version", "IMAGE_VERSION"),
    ("name", "NAME"),
    ("pretty_name", "PRETTY_NAME"),
    ("variant", "VARIANT"),
    ("variant_id", "VARIANT_ID"),
    ("version", "VERSION"),
    ("version_codename", "VERSION_CODENAME"),
    ("version_id", "VERSION_ID"),
];

impl Collector for Os {
    fn update(&self, out: &mut MetricSet) -> Result<(), CollectError> {
        let (path, release) = self.release()?;
        let get = |key: &str| release.get(key).map_or("", String::as_str);
        let support_end = match get("SUPPORT_END") {
            "" => None,
            date => Some(parse_date(date).ok_or_else(|| {
                CollectError::parse(path, format!("invalid SUPPORT_END {date:?}"))
            })?),
        };

        let labels: Vec<(&str, &str)> = INFO_LABELS
            .iter()
            .map(|(label, key)| (*label, get(key)))
            .collect();
        out.family(
            "node_os_info",
            "A metric with a constant '1' value labeled by build_id, id, id_like, image_id, image_version, name, \
             pretty_name, variant, variant_id, version, version_codename, version_id.",
            MetricType::Gauge,
        )
        .sample(&labels, 1.0);
        let version = major_minor(get("VERSION_ID"));
        if version > 0.0 {
            out.family(
                "node_os_version",
                "Metric containing the major.minor part of the OS version.",
                MetricType::Gauge,
            )
            .sample(
                &[
                    ("id", get("ID")),
                    ("id_like", get("ID_LIKE")),
                    ("name", get("NAME")),
                ],
                version,
            );
        }
        if let Some(timestamp) = support_end {
            out.single(
                "node_os_support_end_timestamp_seconds",
                "Metric containing the end-of-life date timestamp of the OS.",
                MetricType::Gauge,
                timestamp as f64,
            );
        }
        Ok(())
    }
}

/// `^[0-9]+\.?[0-9]*` of VERSION_ID as a number, 0 when there is none.
fn major_minor(version_id: &str) -> f64 {
    let digits = version_id.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return 0.0;
    }
    let mut end = digits;
    if version_id[end..].starts_with('.') {
        end += 1;
        end += version_id[end..]
            .bytes()
            .take_while(u8::is_ascii_digit)
            .count();
    }
    version_id[..end]
        .trim_end_matches('.')
        .parse()
        .unwrap_or(0.0)
}

/// `YYYY-MM-DD` as seconds since the epoch at UTC midnight.
fn parse_date(date: &str) -> Option<i64> {
    let mut parts = date.split('-');
    let (year, month, day) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || year.len() != 4 || month.len() != 2 || day.len() != 2 {
        return None;
    }
    let (year, month, day): (i64, i64, i64) =
        (year.parse().ok()?, month.parse().ok()?, day.parse().ok()?);
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    let days_in_month = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month[(month - 1) as usize] {
        return None;
    }
    // Days from civil date (Howard Hinnant's algorithm).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let year_of_era = y - era * 400;
    let month_index = (month + 9) % 12;
    let day_of_year = (153 * month_index + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    Some((era * 146_097 + day_of_era - 719_468) * 86_400)
}

/// os-release syntax: `KEY=value` lines, values quoted with `"` (with
/// backslash escapes) or `'`, `#` comments.
fn parse_os_release(text: &str) -> Result<HashMap<String, String>, String> {
    let mut values = HashMap::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (key, raw) = line
            .split_once('=')
            .ok_or_else(|| format!("missing = in {line:?}"))?;
        let key = key.trim();
        let key = key.strip_prefix("export ").map(str::trim).unwrap_or(key);
        let valid_key = key
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
            && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if !valid_key {
            return Err(format!("invalid key {key:?}"));
        }
        values.insert(key.to_owned(), parse_value(raw.trim())?);
    }
    Ok(values)
}

fn parse_value(raw: &str) -> Result<String, String> {
    let mut value = String::new();
    let mut chars = raw.chars();
    let mut pending_space = String::new();
    while let Some(c) = chars.next() {
        if (c as u32) < 0x20 {
            return Err(format!("control character in {raw:?}"));
        }
        match c {
            '"' => {
                value.push_str(&std::mem::take(&mut pending_space));
                loop {
                    match chars
                        .next()
                        .ok_or_else(|| format!("unterminated quote in {raw:?}"))?
                    {
                        '"' => break,
                        '\\' => value.push(
                            match chars
                                .next()
                                .ok_or_else(|| format!("unterminated escape in {raw:?}"))?
                            {
                                '"' => '"',
                                '\\' => '\\',
                                '/' => '/',
                                'b' => '\u{8}',
                                'f' => '\u{c}',
                                'r' => '\r',
                                'n' => '\n',
                                't' => '\t',
                                other => {
                                    return Err(format!("invalid escape \\{other} in {raw:?}"));
                                }
                            },
                        ),
                        other => value.push(other),
                    }
                }
            }
            '\'' => {
                value.push_str(&std::mem::take(&mut pending_space));
                loop {
                    match chars
                        .next()
                        .ok_or_else(|| format!("unterminated quote in {raw:?}"))?
                    {
                        '\'' => break,
                        other => value.push(other),
                    }
                }
            }
            '#' => break,
            c if c.is_whitespace() => pending_space.push(c),
            c => {
                value.push_str(&std::mem::take(&mut pending_space));
                value.push(c);
            }
        }
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn version_id(os: &Os) -> String {
        os.release().unwrap().1["VERSION_ID"].clone()
    }

    #[test]
    fn a_changed_or_new_file_is_parsed_again() {
        let root = tempfile::tempdir().unwrap();
        let os = Os {
            candidates: ["etc/os-release", "usr/lib/os-release"].map(|p| root.path().join(p)),
            parsed: Mutex::new(None),
        };
        assert!(matches!(os.release(), Err(CollectError::NoData(_))));
        std::fs::create_dir_all(root.path().join("usr/lib")).unwrap();
        std::fs::write(&os.candidates[1], "VERSION_ID=1\n").unwrap();
        assert_eq!(version_id(&os), "1");
        // Replaced by a rename, as package managers do: a new inode.
        let staged = root.path().join("staged");
        std::fs::write(&staged, "VERSION_ID=2\n").unwrap();
        std::fs::rename(&staged, &os.candidates[1]).unwrap();
        assert_eq!(version_id(&os), "2");
        // /etc/os-release appears and takes precedence.
        std::fs::create_dir_all(root.path().join("etc")).unwrap();
        std::fs::write(&os.candidates[0], "VERSION_ID=3\n").unwrap();
        assert_eq!(version_id(&os), "3");
        assert_eq!(version_id(&os), "3");
    }

    #[test]
    fn os_release_values() {
        let text = "# comment\nNAME=\"Debian GNU/Linux\"\nVERSION_ID='12'\nID=debian # trailing\nX=\"a\\\"b\"c\n\n";
        let values = parse_os_release(text).unwrap();
        assert_eq!(values["NAME"], "Debian GNU/Linux");
        assert_eq!(values["VERSION_ID"], "12");
        assert_eq!(values["ID"], "debian");
        assert_eq!(values["X"], "a\"bc");
        assert!(parse_os_release("NAME\n").is_err());
        assert!(parse_os_release("1X=a\n").is_err());
        assert!(parse_os_release("X=\"open\n").is_err());
        assert!(parse_os_release("X=\"\\q\"\n").is_err());
    }

    #[test]
    fn versions_and_dates() {
        assert_eq!(major_minor("22.04"), 22.04);
        assert_eq!(major_minor("12"), 12.0);
        assert_eq!(major_minor("9.3.1"), 9.3);
        assert_eq!(major_minor("10."), 10.0);
        assert_eq!(major_minor("rolling"), 0.0);
        assert_eq!(parse_date("2026-06-30"), Some(1_782_777_600));
        assert_eq!(parse_date("1970-01-01"), Some(0));
        assert_eq!(parse_date("2026-02-30"), None);
        assert_eq!(parse_date("soon"), None);
    }
}
