//! The include/exclude device regexes several collectors take, and a field
//! filter; both remember their answers.
//!
//! The names they see come back every scrape (field names of /proc/vmstat
//! and /proc/net/netstat, mount points, file system types, devices), and
//! regex-lite's matcher takes microseconds per name against the long default
//! patterns: each name is matched once, then looked up.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Mutex;

use regex::Regex;

/// FNV-1a: the names are short and not attacker-chosen in a way that
/// matters (the memo is bounded), so SipHash's cost buys nothing here.
#[derive(Default)]
struct Fnv(u64);

impl Hasher for Fnv {
    fn write(&mut self, bytes: &[u8]) {
        let mut hash = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        for &byte in bytes {
            hash = (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = hash;
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// Answers by name.
#[derive(Debug, Default)]
struct Memo(Mutex<HashMap<Box<str>, bool, BuildHasherDefault<Fnv>>>);

impl Memo {
    fn answer(&self, name: &str, compute: impl FnOnce() -> bool) -> bool {
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

/// A regex over field names.
#[derive(Debug)]
pub struct FieldFilter {
    regex: Regex,
    answers: Memo,
}

impl FieldFilter {
    pub fn new(pattern: &str, flag: &str) -> Result<FieldFilter, String> {
        Ok(FieldFilter {
            regex: Regex::new(pattern).map_err(|e| format!("{flag}: {e}"))?,
            answers: Memo::default(),
        })
    }

    pub fn is_match(&self, name: &str) -> bool {
        self.answers.answer(name, || self.regex.is_match(name))
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

    #[test]
    fn field_filter_answers_the_same_from_its_memory() {
        let filter = FieldFilter::new("^(oom_kill|pg.*fault)", "--x").unwrap();
        for _ in 0..2 {
            assert!(filter.is_match("pgmajfault"));
            assert!(!filter.is_match("nr_free_pages"));
        }
        assert!(
            FieldFilter::new("(", "--x")
                .unwrap_err()
                .starts_with("--x: ")
        );
    }

    #[test]
    fn classes_are_ascii_as_in_go() {
        let filter = FieldFilter::new(r"^\w+$", "--x").unwrap();
        assert!(filter.is_match("nr_free_pages"));
        assert!(!filter.is_match("é"), "\\w is ASCII in Go's regexp");
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
