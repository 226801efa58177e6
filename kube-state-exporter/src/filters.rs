//! Which families are rendered: `--metric-allowlist` or
//! `--metric-denylist`, and `--metric-opt-in-list`, as KSM reads them
//! (comma-separated regular expressions, matched anywhere in the name).

use regex::Regex;

/// The family filter from the three flags.
#[derive(Debug, Default)]
pub struct MetricFilter {
    allow: Option<Vec<Regex>>,
    deny: Vec<Regex>,
    opt_in: Vec<Regex>,
}

impl MetricFilter {
    /// A filter from the flags' values, or a one-line error naming the flag.
    pub fn new(allow: &[String], deny: &[String], opt_in: &[String]) -> Result<Self, String> {
        if !allow.is_empty() && !deny.is_empty() {
            return Err(
                "--metric-allowlist and --metric-denylist are mutually exclusive; set one".into(),
            );
        }
        Ok(MetricFilter {
            allow: (!allow.is_empty())
                .then(|| compile("--metric-allowlist", allow))
                .transpose()?,
            deny: compile("--metric-denylist", deny)?,
            opt_in: compile("--metric-opt-in-list", opt_in)?,
        })
    }

    /// Whether family `name` is rendered; an opt-in family only when the
    /// opt-in list names it.
    pub fn includes(&self, name: &str, opt_in: bool) -> bool {
        let matches = |list: &[Regex]| list.iter().any(|r| r.is_match(name));
        let listed = match &self.allow {
            Some(allow) => matches(allow),
            None => !matches(&self.deny),
        };
        listed && (!opt_in || matches(&self.opt_in))
    }
}

fn compile(flag: &str, patterns: &[String]) -> Result<Vec<Regex>, String> {
    patterns
        .iter()
        .filter(|p| !p.is_empty())
        .map(|p| Regex::new(p).map_err(|e| format!("{flag}: {p:?}: {e}")))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn allow_deny_and_opt_in() {
        let none = MetricFilter::new(&[], &[], &[]).unwrap();
        assert!(none.includes("kube_pod_info", false));
        assert!(!none.includes("kube_pod_nodeselectors", true));

        let allow =
            MetricFilter::new(&strings(&["kube_pod_info", "^kube_node_.*"]), &[], &[]).unwrap();
        assert!(allow.includes("kube_pod_info", false));
        assert!(allow.includes("kube_node_info", false));
        assert!(!allow.includes("kube_deployment_created", false));

        let deny =
            MetricFilter::new(&[], &strings(&["_labels$"]), &strings(&["nodeselectors"])).unwrap();
        assert!(!deny.includes("kube_pod_labels", false));
        assert!(deny.includes("kube_pod_info", false));
        assert!(deny.includes("kube_pod_nodeselectors", true));
    }

    #[test]
    fn bad_flags_are_named() {
        let both = MetricFilter::new(&strings(&["a"]), &strings(&["b"]), &[]).unwrap_err();
        assert!(both.contains("mutually exclusive"), "{both}");
        let bad = MetricFilter::new(&[], &strings(&["(unclosed"]), &[]).unwrap_err();
        assert!(bad.starts_with("--metric-denylist: \"(unclosed\""), "{bad}");
    }
}
