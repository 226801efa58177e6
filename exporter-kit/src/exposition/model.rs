use std::borrow::Cow;
use std::cmp::Ordering;
use std::sync::Mutex;

pub use compact_str::CompactString;
use smallvec::SmallVec;

/// The type of a metric family, as written on its `# TYPE` line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MetricType {
    Counter,
    Gauge,
    Untyped,
    Histogram,
    Summary,
}

impl MetricType {
    /// The name used in the Prometheus text format.
    pub fn text_name(self) -> &'static str {
        match self {
            MetricType::Counter => "counter",
            MetricType::Gauge => "gauge",
            MetricType::Untyped => "untyped",
            MetricType::Histogram => "histogram",
            MetricType::Summary => "summary",
        }
    }

    /// The name used in OpenMetrics, which calls untyped metrics `unknown`.
    pub fn openmetrics_name(self) -> &'static str {
        match self {
            MetricType::Untyped => "unknown",
            other => other.text_name(),
        }
    }
}

/// One label pair of a sample.
///
/// Values are mostly short (a CPU number, a device name, a mode), and a
/// scrape makes hundreds of them: kept inline up to 24 bytes, they cost no
/// allocation.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Label {
    pub name: Cow<'static, str>,
    pub value: CompactString,
}

/// The label pairs of one sample, the first two kept inline: most samples
/// have one or two (a device; a CPU and a mode), and a scrape makes
/// hundreds, none of which then costs an allocation.
pub type Labels = SmallVec<[Label; 2]>;

/// The value of one sample: a number, or the parts of a histogram or summary.
#[derive(Debug, Clone)]
pub enum Value {
    Single(f64),
    /// Cumulative bucket counts by upper bound; a `+Inf` bucket equal to
    /// `count` is implied when absent.
    Histogram {
        buckets: Vec<(f64, u64)>,
        sum: f64,
        count: u64,
    },
    /// Quantile values by quantile.
    Summary {
        quantiles: Vec<(f64, f64)>,
        sum: f64,
        count: u64,
    },
}

/// Floats compare by bit pattern so that NaN equals NaN: a sample whose value
/// is NaN must still compare equal to itself after a round trip.
fn same_float(a: f64, b: f64) -> bool {
    a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan()) || (a == 0.0 && b == 0.0)
}

impl PartialEq for Value {
    fn eq(&self, other: &Self) -> bool {
        let pairs_eq = |a: &[(f64, f64)], b: &[(f64, f64)]| {
            a.len() == b.len()
                && a.iter()
                    .zip(b)
                    .all(|(x, y)| same_float(x.0, y.0) && same_float(x.1, y.1))
        };
        match (self, other) {
            (Value::Single(a), Value::Single(b)) => same_float(*a, *b),
            (
                Value::Histogram {
                    buckets: a,
                    sum: sa,
                    count: ca,
                },
                Value::Histogram {
                    buckets: b,
                    sum: sb,
                    count: cb,
                },
            ) => {
                ca == cb
                    && same_float(*sa, *sb)
                    && a.len() == b.len()
                    && a.iter()
                        .zip(b)
                        .all(|(x, y)| same_float(x.0, y.0) && x.1 == y.1)
            }
            (
                Value::Summary {
                    quantiles: a,
                    sum: sa,
                    count: ca,
                },
                Value::Summary {
                    quantiles: b,
                    sum: sb,
                    count: cb,
                },
            ) => ca == cb && same_float(*sa, *sb) && pairs_eq(a, b),
            _ => false,
        }
    }
}

/// One sample: its labels (sorted by name once the set is finished) and value.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub labels: Labels,
    pub value: Value,
}

/// A metric family: name, help, type and samples.
#[derive(Debug, Clone, PartialEq)]
pub struct Family {
    pub name: Cow<'static, str>,
    pub help: Cow<'static, str>,
    pub kind: MetricType,
    pub samples: Vec<Sample>,
}

impl Family {
    /// Adds a sample with the given label pairs and value. Label names are
    /// static (they are part of the exporter), so only values are copied.
    pub fn sample(&mut self, labels: &[(&'static str, &str)], value: f64) -> &mut Self {
        self.push(labels, Value::Single(value))
    }

    /// Adds a histogram sample: cumulative `buckets` as (upper bound, count).
    pub fn histogram(
        &mut self,
        labels: &[(&'static str, &str)],
        buckets: Vec<(f64, u64)>,
        sum: f64,
        count: u64,
    ) -> &mut Self {
        self.push(
            labels,
            Value::Histogram {
                buckets,
                sum,
                count,
            },
        )
    }

    /// Adds a summary sample: `quantiles` as (quantile, value).
    pub fn summary(
        &mut self,
        labels: &[(&'static str, &str)],
        quantiles: Vec<(f64, f64)>,
        sum: f64,
        count: u64,
    ) -> &mut Self {
        self.push(
            labels,
            Value::Summary {
                quantiles,
                sum,
                count,
            },
        )
    }

    fn push(&mut self, labels: &[(&'static str, &str)], value: Value) -> &mut Self {
        let labels = labels
            .iter()
            .map(|(name, value)| Label {
                name: Cow::Borrowed(*name),
                value: CompactString::new(value),
            })
            .collect();
        self.push_sample(Sample { labels, value })
    }

    /// Adds a sample whose labels are already owned (no copies made).
    pub fn push_sample(&mut self, sample: Sample) -> &mut Self {
        // Most families have one sample: room for exactly one at first, not
        // the four a `Vec` would reserve.
        if self.samples.is_empty() {
            self.samples.reserve_exact(1);
        }
        self.samples.push(sample);
        self
    }
}

/// Everything one scrape exposes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MetricSet {
    families: Vec<Family>,
}

/// Why [`MetricSet::finish`] left something out. Go's registry reports the
/// same conditions as gathering errors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dropped {
    InvalidMetricName(String),
    InvalidLabelName { family: String, label: String },
    ConflictingType { family: String },
    DuplicateSample { family: String },
}

impl std::fmt::Display for Dropped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Dropped::InvalidMetricName(name) => write!(f, "invalid metric name {name:?}"),
            Dropped::InvalidLabelName { family, label } => {
                write!(f, "metric {family}: invalid label name {label:?}")
            }
            Dropped::ConflictingType { family } => {
                write!(f, "metric {family} was collected with two different types")
            }
            Dropped::DuplicateSample { family } => {
                write!(
                    f,
                    "metric {family} was collected twice with the same labels"
                )
            }
        }
    }
}

impl MetricSet {
    pub fn new() -> Self {
        Self::default()
    }

    /// A set with room for `families` families.
    pub fn with_capacity(families: usize) -> Self {
        MetricSet {
            families: Vec::with_capacity(families),
        }
    }

    /// Starts a new family; families with the same name are merged by
    /// [`finish`](Self::finish).
    pub fn family(
        &mut self,
        name: impl Into<Cow<'static, str>>,
        help: impl Into<Cow<'static, str>>,
        kind: MetricType,
    ) -> &mut Family {
        self.families.push(Family {
            name: name.into(),
            help: help.into(),
            kind,
            samples: Vec::new(),
        });
        self.families.last_mut().expect("a family was just pushed")
    }

    /// Shorthand for a family with one unlabelled sample.
    pub fn single(
        &mut self,
        name: impl Into<Cow<'static, str>>,
        help: impl Into<Cow<'static, str>>,
        kind: MetricType,
        value: f64,
    ) {
        self.family(name, help, kind).sample(&[], value);
    }

    /// Moves every family of `other` into this set.
    pub fn append(&mut self, other: &mut MetricSet) {
        self.families.append(&mut other.families);
    }

    pub fn families(&self) -> &[Family] {
        &self.families
    }

    pub fn is_empty(&self) -> bool {
        self.families.is_empty()
    }

    /// Puts the set in client_golang's gathering order and drops what it would
    /// refuse: invalid names, a family collected with two types, and repeated
    /// label sets. Families left without samples are dropped too, as Go does.
    pub fn finish(&mut self) -> Vec<Dropped> {
        let mut dropped = Vec::new();
        let mut families = std::mem::take(&mut self.families);
        families.retain(|family| {
            let ok = is_valid_metric_name(&family.name);
            if !ok {
                dropped.push(Dropped::InvalidMetricName(family.name.to_string()));
            }
            ok
        });
        sort_by_name(&mut families);

        let mut merged: Vec<Family> = Vec::with_capacity(families.len());
        for family in families {
            match merged.last_mut() {
                Some(last) if last.name == family.name => {
                    if last.kind == family.kind {
                        last.samples.extend(family.samples);
                    } else {
                        dropped.push(Dropped::ConflictingType {
                            family: family.name.to_string(),
                        });
                    }
                }
                _ => merged.push(family),
            }
        }

        for family in &mut merged {
            family.samples.retain_mut(|sample| {
                if let Some(bad) = sample.labels.iter().find(|label| !has_valid_name(label)) {
                    dropped.push(Dropped::InvalidLabelName {
                        family: family.name.to_string(),
                        label: bad.name.to_string(),
                    });
                    return false;
                }
                if !sample.labels.is_sorted_by(|a, b| a.name <= b.name) {
                    sample.labels.sort_by(|a, b| a.name.cmp(&b.name));
                }
                true
            });
            // Collectors mostly emit samples in order already: one pass
            // tells, and finds no duplicates either.
            let ascending = |a: &Sample, b: &Sample| compare_samples(a, b) == Ordering::Less;
            if family.samples.is_sorted_by(ascending) {
                continue;
            }
            family.samples.sort_by(compare_samples);
            let before = family.samples.len();
            family
                .samples
                .dedup_by(|a, b| compare_samples(a, b) == Ordering::Equal);
            if family.samples.len() != before {
                dropped.push(Dropped::DuplicateSample {
                    family: family.name.to_string(),
                });
            }
        }
        merged.retain(|family| !family.samples.is_empty());
        self.families = merged;
        dropped
    }
}

/// Whether a label's name is valid. Names fixed in an exporter's code are
/// checked by its tests; only names made at run time (from a textfile, a
/// Kubernetes label, a config file) are checked on every scrape.
fn has_valid_name(label: &Label) -> bool {
    match &label.name {
        Cow::Borrowed(name) => {
            debug_assert!(is_valid_label_name(name), "invalid label name {name:?}");
            true
        }
        Cow::Owned(name) => is_valid_label_name(name),
    }
}

/// The permutation the last [`sort_by_name`] applied, as indexes in output
/// order. An exporter collects its families in the same order scrape after
/// scrape, so the next sort tries it first: one linear pass confirms it.
static LAST_ORDER: Mutex<Vec<usize>> = Mutex::new(Vec::new());

/// Orders `families` by name, keeping the collection order of families of
/// the same name (a stable sort).
///
/// A node-exporter scrape sorts about 300 families whose names share long
/// prefixes (`node_netstat_TcpExt_`), which was the largest cost of its
/// exposition. Names are compared by the 32 bytes after the prefix all of
/// them share, as two integers, and whole only when those are equal; the
/// last scrape's order is tried before sorting; and each family is moved
/// once, into its place.
fn sort_by_name(families: &mut Vec<Family>) {
    let Some(first) = families.first() else {
        return;
    };
    let first = first.name.as_bytes();
    let shared = families.iter().fold(first.len(), |shared, family| {
        let name = family.name.as_bytes();
        first[..shared]
            .iter()
            .zip(name)
            .take_while(|(a, b)| a == b)
            .count()
    });
    // Zero-padded: no valid name holds a zero byte, so a name sorts before
    // its extensions, as it does byte by byte.
    let key = |family: &Family| {
        let mut bytes = [0u8; 32];
        let rest = &family.name.as_bytes()[shared..];
        let len = rest.len().min(32);
        bytes[..len].copy_from_slice(&rest[..len]);
        let (high, low) = bytes.split_at(16);
        let word = |half: &[u8]| u128::from_be_bytes(half.try_into().expect("16 bytes"));
        (word(high), word(low))
    };
    let keys: Vec<(u128, u128)> = families.iter().map(key).collect();
    // Strict: the index breaks ties, so exactly one order is ascending.
    let before = |a: usize, b: usize| {
        keys[a]
            .cmp(&keys[b])
            .then_with(|| families[a].name.cmp(&families[b].name))
            .then(a.cmp(&b))
    };
    let ascending = |order: &[usize]| {
        order
            .windows(2)
            .all(|pair| before(pair[0], pair[1]) == Ordering::Less)
    };
    if (1..families.len()).all(|i| before(i - 1, i) == Ordering::Less) {
        return;
    }
    let mut last = LAST_ORDER
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    // The last order is a permutation of 0..its length: of the same length
    // and ascending, it is this sort's result.
    if last.len() != families.len() || !ascending(&last) {
        last.clear();
        last.extend(0..families.len());
        last.sort_unstable_by(|&a, &b| before(a, b));
    }
    let mut unplaced: Vec<Option<Family>> = families.drain(..).map(Some).collect();
    families.extend(last.iter().map(|&index| {
        unplaced[index]
            .take()
            .expect("each index is in the order once")
    }));
}

/// client_golang orders the metrics of a family by their label values, taken
/// in label-name order; a sample with fewer labels sorts first on a tie.
fn compare_samples(a: &Sample, b: &Sample) -> Ordering {
    for (la, lb) in a.labels.iter().zip(&b.labels) {
        let by_value = la.value.cmp(&lb.value);
        if by_value != Ordering::Equal {
            return by_value;
        }
    }
    a.labels.len().cmp(&b.labels.len())
}

/// Bytes allowed in a metric name (`[a-zA-Z0-9_:]`) or, without the
/// colon, a label name: a lookup per byte, since every name of every scrape
/// is checked.
const fn name_bytes(colon: bool) -> [bool; 256] {
    let mut table = [false; 256];
    let mut byte = 0;
    while byte < 256 {
        let b = byte as u8;
        table[byte] = b.is_ascii_alphanumeric() || b == b'_' || (colon && b == b':');
        byte += 1;
    }
    table
}

static METRIC_NAME_BYTES: [bool; 256] = name_bytes(true);
static LABEL_NAME_BYTES: [bool; 256] = name_bytes(false);

fn is_valid_name(name: &str, allowed: &[bool; 256]) -> bool {
    match name.as_bytes().split_first() {
        Some((first, rest)) => {
            !first.is_ascii_digit()
                && allowed[usize::from(*first)]
                && rest.iter().all(|&b| allowed[usize::from(b)])
        }
        None => false,
    }
}

/// `[a-zA-Z_:][a-zA-Z0-9_:]*`
pub fn is_valid_metric_name(name: &str) -> bool {
    is_valid_name(name, &METRIC_NAME_BYTES)
}

/// `[a-zA-Z_][a-zA-Z0-9_]*`, not starting with the reserved `__`.
pub fn is_valid_label_name(name: &str) -> bool {
    is_valid_name(name, &LABEL_NAME_BYTES) && !name.starts_with("__")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finish_orders_like_client_golang() {
        let mut set = MetricSet::new();
        set.family("b_metric", "b", MetricType::Gauge)
            .sample(&[("mode", "idle"), ("cpu", "10")], 1.0)
            .sample(&[("mode", "idle"), ("cpu", "2")], 2.0)
            .sample(&[("mode", "user"), ("cpu", "10")], 3.0);
        set.single("a_metric", "a", MetricType::Gauge, 0.0);
        assert!(set.finish().is_empty());
        let names: Vec<_> = set.families().iter().map(|f| f.name.as_ref()).collect();
        assert_eq!(names, ["a_metric", "b_metric"]);
        let order: Vec<Vec<&str>> = set.families()[1]
            .samples
            .iter()
            .map(|s| s.labels.iter().map(|l| l.value.as_str()).collect())
            .collect();
        // Labels sorted by name (cpu before mode), then samples by values.
        assert_eq!(order, [["10", "idle"], ["10", "user"], ["2", "idle"]]);
    }

    #[test]
    fn finish_drops_what_go_would_refuse() {
        let mut set = MetricSet::new();
        set.single("0bad", "x", MetricType::Gauge, 1.0);
        set.family("dup", "x", MetricType::Gauge)
            .sample(&[("a", "1")], 1.0)
            .sample(&[("a", "1")], 2.0);
        set.single("typed", "x", MetricType::Gauge, 1.0);
        set.single("typed", "x", MetricType::Counter, 1.0);
        // Names made at run time (a textfile's) are checked.
        set.family("labels", "x", MetricType::Gauge)
            .push_sample(Sample {
                labels: smallvec::smallvec![Label {
                    name: Cow::Owned("__reserved".into()),
                    value: "1".into(),
                }],
                value: Value::Single(1.0),
            });
        let dropped = set.finish();
        assert_eq!(dropped.len(), 4, "{dropped:?}");
        let names: Vec<_> = set.families().iter().map(|f| f.name.as_ref()).collect();
        assert_eq!(names, ["dup", "typed"]);
        assert_eq!(set.families()[0].samples.len(), 1);
    }

    proptest::proptest! {
        /// The keyed sort puts families where a stable sort by name would,
        /// for names that share prefixes, differ only past the 32-byte key,
        /// extend one another or repeat; whether the last order (of this or
        /// another set of the same size) is right or not.
        #[test]
        fn families_sort_as_a_stable_sort_by_name(
            names in proptest::collection::vec("node_(netstat_TcpExt_TCP_|netstat_)?[ab_]{0,24}", 0..40)
        ) {
            let mut set = MetricSet::new();
            for (index, name) in names.iter().enumerate() {
                set.single(name.clone(), format!("{index}"), MetricType::Gauge, 0.0);
            }
            let mut expected = set.families.clone();
            expected.sort_by(|a, b| a.name.cmp(&b.name));
            // Twice: the second sort starts from the first one's order.
            let mut again = set.families.clone();
            sort_by_name(&mut set.families);
            proptest::prop_assert_eq!(&set.families, &expected);
            sort_by_name(&mut again);
            proptest::prop_assert_eq!(again, expected);
        }
    }

    #[test]
    fn names_are_validated() {
        assert!(is_valid_metric_name("node_cpu_seconds_total"));
        assert!(is_valid_metric_name("a:b"));
        assert!(!is_valid_metric_name("1a"));
        assert!(!is_valid_metric_name(""));
        assert!(!is_valid_label_name("a:b"));
        assert!(!is_valid_label_name("__name__"));
        assert!(is_valid_label_name("_x9") && !is_valid_label_name("9x"));
        assert!(!is_valid_metric_name("a-b") && !is_valid_metric_name("é"));
        assert!(!is_valid_label_name(""));
    }
}
