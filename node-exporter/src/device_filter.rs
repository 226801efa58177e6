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

#[cfg(test)]
mod tests {
    use super::{DeviceFilter, FieldFilter};

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
