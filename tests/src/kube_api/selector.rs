//! Label and field selectors: the subset of apimachinery's grammar that
//! clients send in practice.
//!
//! Labels: `a=b`, `a==b`, `a!=b`, `a`, `!a`, `a in (x,y)`, `a notin (x,y)`,
//! comma-joined. Fields: `path=v`, `path==v`, `path!=v`, comma-joined, on the
//! fields the real server supports for each resource (others are a 400, as
//! there).

use serde_json::Value;

use super::discovery::Resource;
use super::status::ApiError;

/// A parsed `labelSelector`; empty selects everything.
#[derive(Debug, Default)]
pub struct LabelSelector(Vec<(String, LabelOp)>);

#[derive(Debug)]
enum LabelOp {
    Equals(String),
    NotEquals(String),
    In(Vec<String>),
    NotIn(Vec<String>),
    Exists,
    NotExists,
}

impl LabelSelector {
    /// Parses `text`; a 400 `BadRequest` when it is not a selector.
    pub fn parse(text: &str) -> Result<LabelSelector, ApiError> {
        let mut requirements = Vec::new();
        if text.trim().is_empty() {
            return Ok(LabelSelector(requirements));
        }
        for term in split_top_level(text) {
            requirements.push(parse_requirement(term.trim()).ok_or_else(|| {
                ApiError::bad_request(format!(
                    "unable to parse requirement: invalid label selector term {term:?}"
                ))
            })?);
        }
        Ok(LabelSelector(requirements))
    }

    /// Whether `object`'s `metadata.labels` satisfy every requirement.
    pub fn matches(&self, object: &Value) -> bool {
        let labels = &object["metadata"]["labels"];
        self.0.iter().all(|(key, op)| {
            let value = labels.get(key).and_then(Value::as_str);
            match op {
                LabelOp::Equals(v) => value == Some(v.as_str()),
                // As upstream: objects without the label match `!=` and `notin`.
                LabelOp::NotEquals(v) => value != Some(v.as_str()),
                LabelOp::In(vs) => value.is_some_and(|x| vs.iter().any(|v| v == x)),
                LabelOp::NotIn(vs) => !value.is_some_and(|x| vs.iter().any(|v| v == x)),
                LabelOp::Exists => value.is_some(),
                LabelOp::NotExists => value.is_none(),
            }
        })
    }
}

/// Splits on commas outside parentheses (`a in (x,y),b` is two terms).
fn split_top_level(text: &str) -> Vec<&str> {
    let (mut terms, mut depth, mut start) = (Vec::new(), 0i32, 0);
    for (i, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                terms.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    terms.push(&text[start..]);
    terms
}

fn parse_requirement(term: &str) -> Option<(String, LabelOp)> {
    if let Some(key) = term.strip_prefix('!') {
        return Some((label_key(key.trim())?, LabelOp::NotExists));
    }
    if let Some(open) = term.find('(') {
        let mut head = term[..open].split_whitespace();
        let (key, op) = (head.next()?, head.next()?);
        let values = term[open + 1..].trim_end().strip_suffix(')')?;
        let values: Option<Vec<String>> =
            values.split(',').map(|v| label_value(v.trim())).collect();
        return match (op, head.next()) {
            ("in", None) => Some((label_key(key)?, LabelOp::In(values?))),
            ("notin", None) => Some((label_key(key)?, LabelOp::NotIn(values?))),
            _ => None,
        };
    }
    for (operator, make) in [
        ("!=", LabelOp::NotEquals as fn(String) -> LabelOp),
        ("==", LabelOp::Equals),
        ("=", LabelOp::Equals),
    ] {
        if let Some((key, value)) = term.split_once(operator) {
            return Some((label_key(key.trim())?, make(label_value(value.trim())?)));
        }
    }
    Some((label_key(term)?, LabelOp::Exists))
}

fn label_key(key: &str) -> Option<String> {
    let valid = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/'));
    valid.then(|| key.to_owned())
}

fn label_value(value: &str) -> Option<String> {
    let valid = value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    valid.then(|| value.to_owned())
}

/// A parsed `fieldSelector`; empty selects everything.
#[derive(Debug, Default)]
pub struct FieldSelector(Vec<(&'static str, bool, String)>);

impl FieldSelector {
    /// Parses `text` for `resource`; a 400 for syntax errors and for fields
    /// the real server does not index.
    pub fn parse(text: &str, resource: &Resource) -> Result<FieldSelector, ApiError> {
        let mut terms = Vec::new();
        if text.trim().is_empty() {
            return Ok(FieldSelector(terms));
        }
        for term in text.split(',') {
            let (field, equal, value) = if let Some((f, v)) = term.split_once("!=") {
                (f, false, v)
            } else if let Some((f, v)) = term.split_once("==") {
                (f, true, v)
            } else if let Some((f, v)) = term.split_once('=') {
                (f, true, v)
            } else {
                return Err(ApiError::bad_request(format!(
                    "invalid selector: '{text}'; can't understand '{term}'"
                )));
            };
            let field = field.trim();
            let known = supported_fields(resource)
                .iter()
                .find(|f| **f == field)
                .ok_or_else(|| {
                    ApiError::bad_request(format!("field label not supported: {field}"))
                })?;
            terms.push((*known, equal, value.trim().to_owned()));
        }
        Ok(FieldSelector(terms))
    }

    /// Whether `object` satisfies every term.
    pub fn matches(&self, object: &Value) -> bool {
        self.0
            .iter()
            .all(|(field, equal, value)| (field_value(object, field) == *value) == *equal)
    }
}

/// The fields kube-apiserver accepts in selectors for each resource.
fn supported_fields(resource: &Resource) -> &'static [&'static str] {
    match resource.plural {
        "pods" => &[
            "metadata.name",
            "metadata.namespace",
            "spec.nodeName",
            "spec.restartPolicy",
            "spec.schedulerName",
            "spec.serviceAccountName",
            "spec.hostNetwork",
            "status.phase",
            "status.podIP",
            "status.nominatedNodeName",
        ],
        "nodes" => &["metadata.name", "spec.unschedulable"],
        "namespaces" => &["metadata.name", "status.phase"],
        "persistentvolumes" => &["metadata.name"],
        "services" => &[
            "metadata.name",
            "metadata.namespace",
            "spec.clusterIP",
            "spec.type",
        ],
        "replicasets" => &["metadata.name", "metadata.namespace", "status.replicas"],
        "jobs" => &["metadata.name", "metadata.namespace", "status.successful"],
        _ => &["metadata.name", "metadata.namespace"],
    }
}

/// A field's value as the selector compares it: absent is empty, numbers and
/// booleans in their text form.
fn field_value(object: &Value, path: &str) -> String {
    let value = path.split('.').fold(object, |v, key| &v[key]);
    match value {
        Value::String(s) => s.clone(),
        // Go structs have zero values where JSON has nothing.
        Value::Null if matches!(path, "spec.hostNetwork" | "spec.unschedulable") => {
            "false".to_owned()
        }
        Value::Null if matches!(path, "status.replicas" | "status.successful") => "0".to_owned(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::kube_api::discovery::by_plural;

    fn pod() -> Value {
        json!({"metadata": {"name": "web-1", "namespace": "shop", "labels": {"app": "web", "tier": "front"}},
               "spec": {"nodeName": "node-1", "hostNetwork": false}})
    }

    #[test]
    fn label_selectors() {
        let matches = |s: &str| LabelSelector::parse(s).unwrap().matches(&pod());
        assert!(matches(""));
        assert!(matches("app=web,tier==front"));
        assert!(matches("app, !missing, missing!=x"));
        assert!(matches("app in (db,web),tier notin (back)"));
        assert!(!matches("app!=web"));
        assert!(!matches("missing"));
        assert!(!matches("app in (db)"));
        assert!(LabelSelector::parse("a b").is_err());
        assert!(LabelSelector::parse("a in (x").is_err());
    }

    #[test]
    fn field_selectors() {
        let pods = by_plural("pods").unwrap();
        let matches = |s: &str| FieldSelector::parse(s, pods).unwrap().matches(&pod());
        assert!(matches("metadata.name=web-1,metadata.namespace==shop"));
        assert!(matches("spec.nodeName!=node-2,spec.hostNetwork=false"));
        assert!(!matches("spec.nodeName=node-2"));
        assert!(FieldSelector::parse("spec.other=x", pods).is_err());
        assert!(FieldSelector::parse("metadata.namespace=x", by_plural("nodes").unwrap()).is_err());
    }
}
