//! Kubernetes labels and annotations as Prometheus labels, for the
//! `kube_*_labels` and `kube_*_annotations` families:
//! `--metric-labels-allowlist` and `--metric-annotations-allowlist` in KSM's
//! syntax (`pods=[app,team],namespaces=[*],*=[*]`, `*` wildcards), KSM's
//! name sanitising (`app.kubernetes.io/name` → `label_app_kubernetes_io_name`,
//! camelCase → snake_case) and its `_conflictN` suffixes.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};

use regex::Regex;

/// The allowlist of one flag: per resource, which keys become labels.
#[derive(Debug, Default, Clone)]
pub struct AllowList {
    by_resource: HashMap<String, Vec<String>>,
}

impl AllowList {
    /// Parses `resource=[key,key],resource=[*]`; `flag` names the flag in
    /// errors.
    pub fn parse(flag: &str, text: &str) -> Result<AllowList, String> {
        let mut by_resource: HashMap<String, Vec<String>> = HashMap::new();
        let mut rest = text.trim();
        while !rest.is_empty() {
            let (resource, after) = rest
                .split_once("=[")
                .ok_or_else(|| format!("{flag}: expected resource=[keys] at {rest:?}"))?;
            let (keys, after) = after
                .split_once(']')
                .ok_or_else(|| format!("{flag}: missing ']' after {resource}=["))?;
            let resource = resource.trim();
            if resource.is_empty() {
                return Err(format!("{flag}: empty resource name before =["));
            }
            let keys = keys
                .split(',')
                .map(str::trim)
                .filter(|k| !k.is_empty())
                .map(str::to_owned);
            by_resource
                .entry(resource.to_owned())
                .or_default()
                .extend(keys);
            rest = after.trim_start();
            rest = rest.strip_prefix(',').unwrap_or(rest).trim_start();
        }
        Ok(AllowList { by_resource })
    }

    /// The keys allowed for `resource`, the `*` resource's included.
    pub fn for_resource(&self, resource: &str) -> KeyFilter {
        let keys: Vec<&String> = self
            .by_resource
            .get(resource)
            .into_iter()
            .chain(self.by_resource.get("*"))
            .flatten()
            .collect();
        KeyFilter::new(keys.iter().map(|k| k.as_str()))
    }
}

/// Which keys of one resource's labels (or annotations) are exported.
#[derive(Debug, Default, Clone)]
pub struct KeyFilter {
    all: bool,
    exact: Vec<String>,
    patterns: Vec<Regex>,
}

impl KeyFilter {
    fn new<'a>(keys: impl Iterator<Item = &'a str>) -> KeyFilter {
        let mut filter = KeyFilter::default();
        for (i, key) in keys.enumerate() {
            match key.matches('*').count() {
                0 => filter.exact.push(key.to_owned()),
                // As KSM: only a leading `*` means every key.
                _ if key == "*" => filter.all |= i == 0,
                // One wildcard inside a key (`app.kubernetes.io/*`); KSM
                // ignores keys with more.
                1 => {
                    let (before, after) = key.split_once('*').unwrap_or((key, ""));
                    let pattern = format!("^{}.*{}$", regex::escape(before), regex::escape(after));
                    if let Ok(regex) = Regex::new(&pattern) {
                        filter.patterns.push(regex);
                    }
                }
                _ => log::warn!(key; "Ignoring an allowlist key with more than one wildcard"),
            }
        }
        filter
    }

    /// A filter that passes every key, as `resource=[*]` does (for maps that
    /// are always exported whole, such as a pod's node selectors).
    pub fn every_key() -> KeyFilter {
        KeyFilter {
            all: true,
            ..KeyFilter::default()
        }
    }

    /// Whether no key can ever be exported (the families stay empty).
    pub fn is_empty(&self) -> bool {
        !self.all && self.exact.is_empty() && self.patterns.is_empty()
    }

    /// The allowed entries of `map` as (Prometheus label name, value), in
    /// KSM's order (sorted by key) and with its conflict suffixes.
    pub fn labels<'a>(
        &self,
        prefix: &str,
        map: Option<&'a BTreeMap<String, String>>,
    ) -> Vec<(String, &'a str)> {
        let Some(map) = map else {
            return Vec::new();
        };
        let allowed = map.iter().filter(|(key, _)| {
            self.all
                || self.exact.iter().any(|e| e == *key)
                || self.patterns.iter().any(|p| p.is_match(key))
        });
        prometheus_labels(prefix, allowed)
    }
}

/// `prefix_` + the key sanitised and snake-cased; colliding names become
/// `_conflict1`, `_conflict2`, ... in key order, as KSM names them.
fn prometheus_labels<'a>(
    prefix: &str,
    entries: impl Iterator<Item = (&'a String, &'a String)>,
) -> Vec<(String, &'a str)> {
    // A BTreeMap iterates in key order, the order KSM sorts keys in.
    let named: Vec<(String, &str)> = entries
        .map(|(key, value)| (label_name(prefix, key), value.as_str()))
        .collect();
    // Distinct keys rarely sanitise to the same name: check by sorting
    // (no hashing) and only then rename.
    let mut names: Vec<&str> = named.iter().map(|(name, _)| name.as_str()).collect();
    names.sort_unstable();
    if names.windows(2).all(|pair| pair[0] != pair[1]) {
        return named;
    }
    rename_conflicts(named)
}

/// Renames colliding names, in key order, as KSM does.
fn rename_conflicts(named: Vec<(String, &str)>) -> Vec<(String, &str)> {
    let mut labels: Vec<(String, &str)> = Vec::with_capacity(named.len());
    let mut used: HashMap<String, usize> = HashMap::new();
    let mut conflicts: HashMap<String, u32> = HashMap::new();
    for (base, value) in named {
        let name = if let Some(count) = conflicts.get_mut(&base) {
            next_free(&base, count, &used)
        } else if let Some(&index) = used.get(&base) {
            let mut count = 0;
            let renamed = next_free(&base, &mut count, &used);
            used.remove(&base);
            used.insert(renamed.clone(), index);
            labels[index].0 = renamed;
            let name = next_free(&base, &mut count, &used);
            conflicts.insert(base.clone(), count);
            name
        } else {
            base
        };
        used.insert(name.clone(), labels.len());
        labels.push((name, value));
    }
    labels
}

fn next_free(base: &str, count: &mut u32, used: &HashMap<String, usize>) -> String {
    loop {
        *count += 1;
        let candidate = format!("{base}_conflict{count}");
        if !used.contains_key(&candidate) {
            return candidate;
        }
    }
}

/// KSM's `SanitizeLabelName`: every character outside `[a-zA-Z0-9_]`
/// becomes `_` (`ephemeral-storage` → `ephemeral_storage`).
pub fn sanitize(text: &str) -> Cow<'_, str> {
    if text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        return Cow::Borrowed(text);
    }
    Cow::Owned(text.chars().map(sanitized).collect())
}

fn sanitized(c: char) -> char {
    if c.is_ascii_alphanumeric() || c == '_' {
        c
    } else {
        '_'
    }
}

/// KSM's `labelName`: sanitised, then `aB` → `a_b`, lower case. One pass
/// over the key, as label names are built for every object.
fn label_name(prefix: &str, key: &str) -> String {
    let mut name = String::with_capacity(prefix.len() + 1 + key.len() + 4);
    name.push_str(prefix);
    name.push('_');
    let mut previous: Option<char> = None;
    for c in key.chars().map(sanitized) {
        // Go's `([a-z0-9])([A-Z])` replaced left to right without overlap.
        if let Some(p) = previous
            && (p.is_ascii_lowercase() || p.is_ascii_digit())
            && c.is_ascii_uppercase()
        {
            name.push('_');
            name.push(c.to_ascii_lowercase());
            previous = None;
            continue;
        }
        name.push(c.to_ascii_lowercase());
        previous = Some(c);
    }
    name
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(entries: &[(&str, &str)]) -> BTreeMap<String, String> {
        entries
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn names_are_sanitised_like_ksm() {
        assert_eq!(
            label_name("label", "app.kubernetes.io/name"),
            "label_app_kubernetes_io_name"
        );
        assert_eq!(label_name("label", "fooBar"), "label_foo_bar");
        assert_eq!(label_name("label", "ABc"), "label_abc");
        assert_eq!(label_name("label", "aBCd"), "label_a_bcd");
        assert_eq!(label_name("label", "a1B"), "label_a1_b");
        assert_eq!(label_name("annotation", "x-y"), "annotation_x_y");
    }

    #[test]
    fn collisions_get_conflict_suffixes_in_key_order() {
        let labels = map(&[("a.b", "1"), ("a/b", "2"), ("a_b", "3"), ("c", "4")]);
        let all = KeyFilter::every_key();
        let got = all.labels("label", Some(&labels));
        let names: Vec<(&str, &str)> = got.iter().map(|(n, v)| (n.as_str(), *v)).collect();
        assert_eq!(
            names,
            [
                ("label_a_b_conflict1", "1"),
                ("label_a_b_conflict2", "2"),
                ("label_a_b_conflict3", "3"),
                ("label_c", "4")
            ]
        );
    }

    #[test]
    fn allowlists_parse_and_select() {
        let list = AllowList::parse(
            "--metric-labels-allowlist",
            "pods=[app,team],namespaces=[*], nodes=[topology.kubernetes.io/*]",
        )
        .unwrap();
        let labels = map(&[
            ("app", "web"),
            ("team", "x"),
            ("tier", "db"),
            ("topology.kubernetes.io/zone", "z1"),
        ]);
        let pods = list.for_resource("pods").labels("label", Some(&labels));
        assert_eq!(
            pods,
            [
                ("label_app".to_owned(), "web"),
                ("label_team".to_owned(), "x")
            ]
        );
        assert_eq!(
            list.for_resource("namespaces")
                .labels("label", Some(&labels))
                .len(),
            4
        );
        assert_eq!(
            list.for_resource("nodes").labels("label", Some(&labels)),
            [("label_topology_kubernetes_io_zone".to_owned(), "z1")]
        );
        assert!(list.for_resource("services").is_empty());

        let everything = AllowList::parse("--metric-labels-allowlist", "*=[*]").unwrap();
        assert!(!everything.for_resource("services").is_empty());
        for bad in ["pods", "pods=[app", "=[app]"] {
            let err = AllowList::parse("--metric-labels-allowlist", bad).unwrap_err();
            assert!(err.starts_with("--metric-labels-allowlist: "), "{err}");
        }
    }
}
