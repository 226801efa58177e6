//! Test helpers every resource's tests share: render an object given as
//! JSON with every family on, and pick families out of the text.

use crate::family::RenderConfig;
use crate::labels::AllowList;
use crate::resources::{Resource, render};

/// Every line `object` renders with all families on and no allowlist,
/// families in table order.
pub fn lines<K: Resource>(object: serde_json::Value) -> String {
    render_with::<K>(object, RenderConfig::default())
}

/// As [`lines`], with every label and annotation allowlisted (`*=[*]`).
pub fn lines_allowlisted<K: Resource>(object: serde_json::Value) -> String {
    let all = AllowList::parse("test", "*=[*]")
        .unwrap()
        .for_resource(K::NAME);
    let config = RenderConfig {
        labels: all.clone(),
        annotations: all,
        ..RenderConfig::default()
    };
    render_with::<K>(object, config)
}

fn render_with<K: Resource>(object: serde_json::Value, config: RenderConfig) -> String {
    let object: K = serde_json::from_value(object).unwrap();
    let families = K::families().len();
    let config = RenderConfig {
        enabled: vec![true; families].into(),
        ..config
    };
    let rendered = render(&object, &config);
    (0..families)
        .map(|i| String::from_utf8(rendered.family(i).to_vec()).unwrap())
        .collect()
}

/// The lines of `text` that belong to the family `name`, in order.
pub fn family(text: &str, name: &str) -> String {
    text.lines()
        .filter(|line| {
            line.strip_prefix(name)
                .is_some_and(|rest| rest.starts_with(['{', ' ']))
        })
        .map(|line| format!("{line}\n"))
        .collect()
}

/// The family names, in table order.
pub fn names<K: Resource>() -> Vec<&'static str> {
    K::families().iter().map(|f| f.name).collect()
}

/// The header lines of every family, in table order.
pub fn headers<K: Resource>() -> String {
    K::families()
        .iter()
        .map(|f| String::from_utf8(f.header()).unwrap())
        .collect()
}

/// Asserts that `text` contains each of `expected`.
#[track_caller]
pub fn assert_contains<S: AsRef<str>>(text: &str, expected: impl IntoIterator<Item = S>) {
    for expected in expected {
        let expected = expected.as_ref();
        assert!(text.contains(expected), "missing {expected}in\n{text}");
    }
}
