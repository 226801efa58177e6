//! The include/exclude device regexes several collectors take, and a field
//! filter; both remember their answers.
//!
//! The names they see come back every scrape (field names of /proc/vmstat
//! and /proc/net/netstat, mount points, file system types, devices), and
//! regex-lite's matcher takes microseconds per name against the long default
//! patterns: each name is matched once, then looked up (devices) or
//! compared with the name last seen at its position (fields).

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use exporter_kit::exposition::{FnvBuildHasher, intern};
use regex::Regex;

/// Answers by name.
#[derive(Debug, Default)]
pub struct Memo(Mutex<HashMap<Box<str>, bool, FnvBuildHasher>>);

impl Memo {
    pub fn answer(&self, name: &str, compute: impl FnOnce() -> bool) -> bool {
        let mut answers = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(answer) = answers.get(name) {
            return *answer;
        }
        let answer = compute();
        // Names come from the kernel; devices that come and go (containers'
        // veths) could grow the memo without end, so past a bound new names
        // are matched every time instead.
        if answers.len() < 4096 {
            answers.insert(name.into(), answer);
        }
        answer
    }
}

/// A regex over the field names of a file that lists the same fields in
/// the same order every scrape (/proc/vmstat, /proc/net/netstat).
///
/// The answer for each position in the file is kept with the name it was
/// for, so a scrape compares each name with last scrape's instead of
/// matching or hashing it, and a selected field's metric name and help are
/// made once for the process (see [`intern`]).
#[derive(Debug)]
pub struct FieldFilter {
    regex: Regex,
    positions: Mutex<Vec<Position>>,
}

/// A selected field's family name and help.
#[derive(Debug, Clone)]
pub struct Selected {
    pub metric: Cow<'static, str>,
    pub help: Cow<'static, str>,
}

#[derive(Debug)]
struct Position {
    field: Box<str>,
    selected: Option<Selected>,
}

/// Past this many fields a file is matched field by field without memory:
/// the kernel's files have a few hundred.
const MAX_POSITIONS: usize = 4096;

impl FieldFilter {
    pub fn new(pattern: &str, flag: &str) -> Result<FieldFilter, String> {
        Ok(FieldFilter {
            regex: Regex::new(pattern).map_err(|e| format!("{flag}: {e}"))?,
            positions: Mutex::new(Vec::new()),
        })
    }

    /// The names of `field` if the filter selects it, decided afresh: for
    /// callers that remember answers their own way.
    pub fn decide(
        &self,
        field: &str,
        describe: impl FnOnce() -> (String, String),
    ) -> Option<Selected> {
        decide(&self.regex, field, describe)
    }

    /// Starts one pass over the file's fields, in file order.
    pub fn scan(&self) -> FieldScan<'_> {
        FieldScan {
            regex: &self.regex,
            positions: self.positions.lock().unwrap_or_else(|p| p.into_inner()),
            next: 0,
        }
    }
}

fn decide(
    regex: &Regex,
    field: &str,
    describe: impl FnOnce() -> (String, String),
) -> Option<Selected> {
    regex.is_match(field).then(|| {
        let (metric, help) = describe();
        Selected {
            metric: intern(&metric),
            help: intern(&help),
        }
    })
}

/// One pass of a [`FieldFilter`] over a file's fields.
pub struct FieldScan<'a> {
    regex: &'a Regex,
    positions: MutexGuard<'a, Vec<Position>>,
    next: usize,
}

impl FieldScan<'_> {
    /// The names of the next field, `field`, if the filter selects it;
    /// `describe` makes its family name and help the first time.
    pub fn select(
        &mut self,
        field: &str,
        describe: impl FnOnce() -> (String, String),
    ) -> Option<Selected> {
        let position = self.next;
        self.next += 1;
        if let Some(known) = self.positions.get(position)
            && *known.field == *field
        {
            return known.selected.clone();
        }
        let selected = decide(self.regex, field, describe);
        let remembered = Position {
            field: field.into(),
            selected: selected.clone(),
        };
        if position < self.positions.len() {
            self.positions[position] = remembered;
        } else if position == self.positions.len() && position < MAX_POSITIONS {
            self.positions.push(remembered);
        }
        selected
    }
}

/// Drops devices matching `exclude`, or keeps only those matching `include`.
#[derive(Debug, Default)]
pub struct DeviceFilter {
    exclude: Option<Regex>,
    include: Option<Regex>,
    answers: Memo,
}

impl DeviceFilter {
    /// Builds the filter; both patterns at once is an error, as upstream.
    /// `flag` names the flag pair in messages.
    pub fn new(exclude: &str, include: &str, flag: &str) -> Result<DeviceFilter, String> {
        if !exclude.is_empty() && !include.is_empty() {
            return Err(format!(
                "{flag}: device-exclude & device-include are mutually exclusive"
            ));
        }
        let compile = |pattern: &str, which: &str| {
            (!pattern.is_empty())
                .then(|| Regex::new(pattern).map_err(|e| format!("{flag}.{which}: {e}")))
                .transpose()
        };
        Ok(DeviceFilter {
            exclude: compile(exclude, "device-exclude")?,
            include: compile(include, "device-include")?,
            answers: Memo::default(),
        })
    }

    pub fn ignored(&self, name: &str) -> bool {
        if self.exclude.is_none() && self.include.is_none() {
            return false;
        }
        self.answers.answer(name, || {
            self.exclude.as_ref().is_some_and(|r| r.is_match(name))
                || self.include.as_ref().is_some_and(|r| !r.is_match(name))
        })
    }
}

/// The value for a flag that replaced a deprecated one. Upstream keeps the
/// old name as a hidden flag of its own: its value stands in for the new
/// flag's, with a warning at start-up, and giving both is an error. Names
/// are without the leading `--`.
pub fn replace_deprecated(
    old: Option<&str>,
    new: Option<&str>,
    old_name: &str,
    new_name: &str,
) -> Result<Option<String>, String> {
    match (old.filter(|value| !value.is_empty()), new) {
        (None, new) => Ok(new.map(str::to_owned)),
        (Some(old), None) => {
            log::warn!("--{old_name} is DEPRECATED and will be removed in 2.0.0, use --{new_name}");
            Ok(Some(old.to_owned()))
        }
        (Some(_), Some(_)) => Err(format!(
            "--{old_name} and --{new_name} are mutually exclusive"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::{DeviceFilter, FieldFilter, replace_deprecated};

    #[test]
    fn deprecated_names_stand_in_for_new_ones() {
        let resolve = |old, new| replace_deprecated(old, new, "x.old", "x.new");
        assert_eq!(resolve(Some("^a"), None).unwrap().as_deref(), Some("^a"));
        assert_eq!(resolve(None, Some("^b")).unwrap().as_deref(), Some("^b"));
        assert_eq!(
            resolve(Some(""), Some("^b")).unwrap().as_deref(),
            Some("^b")
        );
        assert_eq!(resolve(None, None).unwrap(), None);
        assert_eq!(
            resolve(Some("^a"), Some("^b")).unwrap_err(),
            "--x.old and --x.new are mutually exclusive"
        );
    }

    fn selected(filter: &FieldFilter, fields: &[&str]) -> Vec<Option<String>> {
        let mut scan = filter.scan();
        fields
            .iter()
            .map(|field| {
                scan.select(field, || (format!("m_{field}"), format!("help {field}")))
                    .map(|s| format!("{} / {}", s.metric, s.help))
            })
            .collect()
    }

    #[test]
    fn field_filter_answers_the_same_from_its_memory() {
        let filter = FieldFilter::new("^(oom_kill|pg.*fault)", "--x").unwrap();
        let expected = [Some("m_pgmajfault / help pgmajfault".to_owned()), None];
        for _ in 0..2 {
            assert_eq!(
                selected(&filter, &["pgmajfault", "nr_free_pages"]),
                expected
            );
        }
        // A field that moved (a kernel with one more line) is matched anew.
        assert_eq!(
            selected(&filter, &["nr_free_pages", "oom_kill", "pgmajfault"]),
            [
                None,
                Some("m_oom_kill / help oom_kill".to_owned()),
                expected[0].clone()
            ]
        );
        assert!(
            FieldFilter::new("(", "--x")
                .unwrap_err()
                .starts_with("--x: ")
        );
    }

    #[test]
    fn classes_are_ascii_as_in_go() {
        let filter = FieldFilter::new(r"^\w+$", "--x").unwrap();
        assert_eq!(
            selected(&filter, &["nr_free_pages", "é"])
                .iter()
                .map(Option::is_some)
                .collect::<Vec<_>>(),
            [true, false],
            "\\w is ASCII in Go's regexp"
        );
        let error = FieldFilter::new(r"^\pL", "--x").unwrap_err();
        assert!(error.starts_with("--x: "), "{error}");
    }

    #[test]
    fn exclude_include_and_conflict() {
        let filter = DeviceFilter::new("^loop", "", "--collector.x").unwrap();
        for _ in 0..2 {
            assert!(filter.ignored("loop0") && !filter.ignored("sda"));
        }
        let filter = DeviceFilter::new("", "^sd", "--collector.x").unwrap();
        assert!(!filter.ignored("sda") && filter.ignored("vda"));
        assert!(DeviceFilter::new("a", "b", "--collector.x").is_err());
        assert!(DeviceFilter::new("(", "", "--collector.x").is_err());
        assert!(!DeviceFilter::default().ignored("anything"));
    }
}
