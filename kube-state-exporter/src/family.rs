//! A metric family as kube-state-metrics declares it: a name, help, type and
//! stability, and a function that writes the family's series for one object.
//! Each resource is a table of these (see `resources/`).

use exporter_kit::exposition::{write_escaped_label_value, write_float};

use crate::labels::KeyFilter;

/// How settled a family is; KSM marks only stable families, at the start of
/// their help text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stability {
    Stable,
    Experimental,
}

impl Stability {
    fn marker(self) -> &'static str {
        match self {
            Stability::Stable => "[STABLE] ",
            Stability::Experimental => "",
        }
    }
}

/// The type KSM declares. State-set families are written as gauges in the
/// text format, as KSM does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Gauge,
    Counter,
    StateSet,
}

impl Kind {
    fn text_name(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge | Kind::StateSet => "gauge",
        }
    }
}

/// One family of a resource of type `K`.
pub struct Family<K> {
    pub name: &'static str,
    pub help: &'static str,
    pub kind: Kind,
    pub stability: Stability,
    /// Off unless named in `--metric-opt-in-list`.
    pub opt_in: bool,
    pub generate: fn(&K, &mut Series<'_>),
}

/// A STABLE gauge family, on unless filtered out: what most of KSM's
/// families are. [`Family::counter`], [`Family::state_set`] and
/// [`Family::opt_in`] adjust the rest (after them, a generator written as a
/// closure needs its object parameter typed, e.g. `|pod: &Pod, series|`).
pub const fn stable<K>(
    name: &'static str,
    help: &'static str,
    generate: fn(&K, &mut Series<'_>),
) -> Family<K> {
    Family {
        name,
        help,
        kind: Kind::Gauge,
        stability: Stability::Stable,
        opt_in: false,
        generate,
    }
}

/// An EXPERIMENTAL (KSM's ALPHA) gauge family, on unless filtered out.
pub const fn experimental<K>(
    name: &'static str,
    help: &'static str,
    generate: fn(&K, &mut Series<'_>),
) -> Family<K> {
    Family {
        stability: Stability::Experimental,
        ..stable(name, help, generate)
    }
}

impl<K> Family<K> {
    /// The family as a counter.
    pub const fn counter(self) -> Family<K> {
        Family {
            kind: Kind::Counter,
            ..self
        }
    }

    /// The family as a state set.
    pub const fn state_set(self) -> Family<K> {
        Family {
            kind: Kind::StateSet,
            ..self
        }
    }

    /// The family off unless named in `--metric-opt-in-list`.
    pub const fn opt_in(self) -> Family<K> {
        Family {
            opt_in: true,
            ..self
        }
    }

    /// The `# HELP` and `# TYPE` lines, written once per scrape.
    pub fn header(&self) -> Vec<u8> {
        format!(
            "# HELP {name} {marker}{help}\n# TYPE {name} {kind}\n",
            name = self.name,
            marker = self.stability.marker(),
            help = self.help,
            kind = self.kind.text_name(),
        )
        .into_bytes()
    }
}

/// How one resource's objects are rendered: which families, and which
/// Kubernetes labels and annotations become Prometheus labels.
#[derive(Debug, Default)]
pub struct RenderConfig {
    /// By family index.
    pub enabled: Box<[bool]>,
    pub labels: KeyFilter,
    pub annotations: KeyFilter,
}

/// Writes the series of one family for one object: the family's name, the
/// object's identity labels, then the series' own labels, as KSM orders them.
pub struct Series<'a> {
    out: &'a mut Vec<u8>,
    name: &'static str,
    /// The identity labels, already written out: `a="x",b="y"`.
    identity: &'a [u8],
    config: &'a RenderConfig,
    /// Where the family's first series wrote `name{identity` in `out`: the
    /// rest copy it from there in one piece (a pod has a hundred series).
    prefix: Option<std::ops::Range<usize>>,
}

/// The identity labels as they start every series of the object
/// (`namespace="shop",pod="web-0"`), written once per object rather than
/// once per series.
pub fn identity_labels(labels: &[(&str, &str)]) -> Vec<u8> {
    let mut out = Vec::with_capacity(128);
    for (i, (name, value)) in labels.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_label(&mut out, name, value);
    }
    out
}

fn write_label(out: &mut Vec<u8>, name: &str, value: &str) {
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b"=\"");
    write_escaped_label_value(out, value);
    out.push(b'"');
}

impl<'a> Series<'a> {
    /// A writer for family `name`; `identity` comes from [`identity_labels`].
    pub fn new(
        out: &'a mut Vec<u8>,
        name: &'static str,
        identity: &'a [u8],
        config: &'a RenderConfig,
    ) -> Series<'a> {
        Series {
            out,
            name,
            identity,
            config,
            prefix: None,
        }
    }

    /// KSM's `kube_*_labels` and `kube_*_annotations`: nothing unless the
    /// resource is allowlisted, else one series with the allowed entries as
    /// `<prefix>_<key>` labels.
    pub fn allowlisted(
        &mut self,
        prefix: &str,
        map: Option<&std::collections::BTreeMap<String, String>>,
    ) {
        let filter = match prefix {
            "label" => &self.config.labels,
            _ => &self.config.annotations,
        };
        if filter.is_empty() {
            return;
        }
        let labels = filter.labels(prefix, map);
        let borrowed: Vec<(&str, &str)> = labels.iter().map(|(k, v)| (k.as_str(), *v)).collect();
        self.add(&borrowed, 1.0);
    }

    /// Adds one series with the given labels (after the identity labels).
    pub fn add(&mut self, labels: &[(&str, &str)], value: f64) {
        let out = &mut *self.out;
        if self.identity.is_empty() {
            out.extend_from_slice(self.name.as_bytes());
            for (i, (name, value)) in labels.iter().enumerate() {
                out.push(if i == 0 { b'{' } else { b',' });
                write_label(out, name, value);
            }
            if !labels.is_empty() {
                out.push(b'}');
            }
        } else {
            match &self.prefix {
                Some(prefix) => out.extend_from_within(prefix.clone()),
                None => {
                    let start = out.len();
                    out.extend_from_slice(self.name.as_bytes());
                    out.push(b'{');
                    out.extend_from_slice(self.identity);
                    self.prefix = Some(start..out.len());
                }
            }
            for (name, value) in labels {
                out.push(b',');
                write_label(out, name, value);
            }
            out.push(b'}');
        }
        out.push(b' ');
        write_float(out, value, false);
        out.push(b'\n');
    }

    /// One series per `states`, 1 for the state `current` and 0 for the
    /// others (KSM's state sets, e.g. a pod's phase).
    pub fn state_set(&mut self, label: &str, states: &[&str], current: &str) {
        for state in states {
            let value = if *state == current { 1.0 } else { 0.0 };
            self.add(&[(label, state)], value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn series_put_identity_first_and_escape_values() {
        let mut out = Vec::new();
        let identity = identity_labels(&[("namespace", "default"), ("pod", "web-0")]);
        let config = RenderConfig::default();
        let mut series = Series::new(&mut out, "kube_pod_info", &identity, &config);
        series.add(&[("node", "a\"b\\c\nd")], 1.0);
        series.add(&[], 3e8);
        let mut bare = Series::new(&mut out, "kube_x", &[], &config);
        bare.add(&[], 0.5);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "kube_pod_info{namespace=\"default\",pod=\"web-0\",node=\"a\\\"b\\\\c\\nd\"} 1\n\
             kube_pod_info{namespace=\"default\",pod=\"web-0\"} 3e+08\n\
             kube_x 0.5\n"
        );
    }

    #[test]
    fn headers_carry_stability_and_text_types() {
        let family = stable::<()>("kube_pod_info", "Information about pod.", |_, _| {}).state_set();
        assert_eq!(
            String::from_utf8(family.header()).unwrap(),
            "# HELP kube_pod_info [STABLE] Information about pod.\n# TYPE kube_pod_info gauge\n"
        );
    }
}
