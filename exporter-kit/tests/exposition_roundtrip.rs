//! Property: whatever metric set the writer accepts, the parser reads back
//! exactly (names, help, types, labels, values, histogram and summary parts).

use exporter_kit::exposition::{Format, MetricSet, MetricType, encode, parse};
use proptest::prelude::*;

fn any_kind() -> impl Strategy<Value = MetricType> {
    prop_oneof![
        Just(MetricType::Counter),
        Just(MetricType::Gauge),
        Just(MetricType::Untyped),
        Just(MetricType::Histogram),
        Just(MetricType::Summary),
    ]
}

/// Any float, including the special values.
fn any_value() -> impl Strategy<Value = f64> {
    prop_oneof![
        any::<f64>(),
        Just(f64::NAN),
        Just(f64::INFINITY),
        Just(f64::NEG_INFINITY),
        Just(0.0),
        -1e7..1e7f64,
        (0u64..1 << 53).prop_map(|v| v as f64),
    ]
}

/// Text that needs escaping: quotes, backslashes, newlines, any Unicode.
fn any_text() -> impl Strategy<Value = String> {
    prop_oneof![
        "\\PC{0,12}",
        "[\\\\\"\n a-z]{0,12}",
        any::<String>().prop_map(|s| s.chars().take(16).collect()),
    ]
}

/// Counts stay below 2^53: the text format carries them as floats.
fn any_count() -> impl Strategy<Value = u64> {
    0u64..1 << 53
}

/// Label pairs (as indexes into [`LABEL_NAMES`]), value or sum, buckets, count.
type SampleSpec = (Vec<(usize, String)>, f64, Vec<(f64, u64)>, u64);

#[derive(Debug, Clone)]
struct FamilySpec {
    kind: MetricType,
    help: String,
    samples: Vec<SampleSpec>,
}

fn any_family() -> impl Strategy<Value = FamilySpec> {
    let labels = prop::collection::vec((0usize..4, any_text()), 0..3);
    let parts = prop::collection::vec((any_value(), any_count()), 0..4);
    let sample =
        (labels, any_value(), parts, any_count()).prop_map(|(labels, value, parts, count)| {
            // Bucket bounds: finite and increasing, as histograms need.
            let buckets = parts
                .iter()
                .enumerate()
                .map(|(i, (_, c))| (i as f64 * 0.25 - 0.5, *c))
                .collect();
            (labels, value, buckets, count)
        });
    (any_kind(), any_text(), prop::collection::vec(sample, 0..5)).prop_map(
        |(kind, help, samples)| FamilySpec {
            kind,
            help,
            samples,
        },
    )
}

const LABEL_NAMES: [&str; 4] = ["device", "mode", "a_b", "_hidden"];

fn build(specs: &[FamilySpec]) -> MetricSet {
    let mut set = MetricSet::new();
    for (index, spec) in specs.iter().enumerate() {
        let name = match spec.kind {
            MetricType::Counter => format!("family_{index}_total"),
            _ => format!("family_{index}_value"),
        };
        let family = set.family(name, spec.help.clone(), spec.kind);
        for (labels, value, buckets, count) in &spec.samples {
            let mut pairs: Vec<(&str, &str)> = Vec::new();
            for (name_index, label_value) in labels {
                let name = LABEL_NAMES[*name_index];
                if !pairs.iter().any(|(n, _)| *n == name) {
                    pairs.push((name, label_value));
                }
            }
            match spec.kind {
                MetricType::Histogram => {
                    family.histogram(&pairs, buckets.clone(), *value, *count);
                }
                MetricType::Summary => {
                    let quantiles = buckets
                        .iter()
                        .map(|(le, c)| ((le + 0.5) / 2.0, *c as f64))
                        .collect();
                    family.summary(&pairs, quantiles, *value, *count);
                }
                _ => {
                    family.sample(&pairs, *value);
                }
            }
        }
    }
    set
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn text_output_parses_back_to_the_same_set(specs in prop::collection::vec(any_family(), 0..6)) {
        let mut set = build(&specs);
        set.finish();
        let mut out = Vec::new();
        encode(&set, Format::Text, &mut out);
        let text = String::from_utf8(out).expect("the writer writes UTF-8");
        let parsed = parse(&text).map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
        prop_assert_eq!(parsed, set, "{}", text);
    }
}
