//! The include/exclude device regexes several collectors take.

use regex::Regex;

/// Drops devices matching `exclude`, or keeps only those matching `include`.
#[derive(Debug, Default)]
pub struct DeviceFilter {
    exclude: Option<Regex>,
    include: Option<Regex>,
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
        })
    }

    pub fn ignored(&self, name: &str) -> bool {
        self.exclude.as_ref().is_some_and(|r| r.is_match(name))
            || self.include.as_ref().is_some_and(|r| !r.is_match(name))
    }
}

#[cfg(test)]
mod tests {
    use super::DeviceFilter;

    #[test]
    fn exclude_include_and_conflict() {
        let filter = DeviceFilter::new("^loop", "", "--collector.x").unwrap();
        assert!(filter.ignored("loop0") && !filter.ignored("sda"));
        let filter = DeviceFilter::new("", "^sd", "--collector.x").unwrap();
        assert!(!filter.ignored("sda") && filter.ignored("vda"));
        assert!(DeviceFilter::new("a", "b", "--collector.x").is_err());
        assert!(DeviceFilter::new("(", "", "--collector.x").is_err());
        assert!(!DeviceFilter::default().ignored("anything"));
    }
}
