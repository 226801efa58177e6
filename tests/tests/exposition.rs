//! The writer's output, judged by Prometheus' own `promtool check metrics`:
//! generated metric sets with hostile help texts, label values and floats,
//! and the real binaries' output.

use e2e::http;
use e2e::process::Running;
use e2e::tools::promtool_check_metrics;
use exporter_kit::exposition::{Format, MetricSet, MetricType, encode};
use proptest::prelude::*;

/// Names promtool's linter accepts: snake case, no unit abbreviations, no
/// type names, `_total` exactly on counters.
const WORDS: [&str; 8] = [
    "alpha", "queue", "cache", "entries", "node", "widgets", "jobs", "state",
];
const LABELS: [&str; 4] = ["device", "mode", "path", "zone"];

fn any_kind() -> impl Strategy<Value = MetricType> {
    prop_oneof![
        Just(MetricType::Counter),
        Just(MetricType::Gauge),
        Just(MetricType::Untyped),
        Just(MetricType::Histogram),
        Just(MetricType::Summary),
    ]
}

fn any_value() -> impl Strategy<Value = f64> {
    prop_oneof![
        any::<f64>(),
        Just(f64::NAN),
        Just(f64::INFINITY),
        Just(f64::NEG_INFINITY),
        -1e9..1e9f64
    ]
}

fn any_text() -> impl Strategy<Value = String> {
    prop_oneof!["\\PC{1,16}", "[\\\\\"\n a-zé€]{1,12}"]
}

type Spec = (
    MetricType,
    usize,
    String,
    Vec<(Vec<(usize, String)>, f64, u64)>,
);

fn any_family() -> impl Strategy<Value = Spec> {
    let sample = (
        prop::collection::vec((0usize..4, any_text()), 0..3),
        any_value(),
        0u64..1 << 40,
    );
    (
        any_kind(),
        0usize..WORDS.len(),
        any_text(),
        prop::collection::vec(sample, 1..4),
    )
}

fn build(specs: &[Spec]) -> MetricSet {
    let mut set = MetricSet::new();
    for (index, (kind, word, help, samples)) in specs.iter().enumerate() {
        let base = format!("demo_{}_{index}", WORDS[*word]);
        let name = if *kind == MetricType::Counter {
            format!("{base}_total")
        } else {
            base
        };
        // promtool lints blank help, so every text starts with a word.
        let family = set.family(name, format!("Help {help}"), *kind);
        for (labels, value, count) in samples {
            let mut pairs: Vec<(&str, &str)> = Vec::new();
            for (label, label_value) in labels {
                if !pairs.iter().any(|(n, _)| *n == LABELS[*label]) {
                    pairs.push((LABELS[*label], label_value));
                }
            }
            match kind {
                MetricType::Histogram => {
                    let buckets = vec![(0.1, count / 2), (1.0, *count)];
                    family.histogram(&pairs, buckets, *value, *count);
                }
                MetricType::Summary => {
                    family.summary(&pairs, vec![(0.5, *value), (0.99, *value)], *value, *count);
                }
                _ => {
                    family.sample(&pairs, *value);
                }
            }
        }
    }
    set.finish();
    set
}

proptest! {
    // Each case runs promtool once; a few dozen cover the escaping and float
    // shapes without slowing the suite.
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn promtool_accepts_whatever_the_writer_writes(specs in prop::collection::vec(any_family(), 1..6)) {
        let set = build(&specs);
        let mut out = Vec::new();
        encode(&set, Format::Text, &mut out);
        let text = String::from_utf8(out).expect("UTF-8");
        match promtool_check_metrics(&text) {
            Ok(verdict) if verdict.lint.is_empty() => {}
            Ok(verdict) => return Err(TestCaseError::fail(format!("{:?}\n---\n{text}", verdict.lint))),
            Err(complaint) => return Err(TestCaseError::fail(format!("{complaint}\n---\n{text}"))),
        }
    }
}

#[tokio::test]
async fn promtool_accepts_every_binary_output() {
    // kube-state-exporter needs an API server; its own metrics are on its
    // second (telemetry) port. Its objects' output is checked in
    // tests/kube_state_exporter.rs.
    let api = e2e::kube_api::FakeApiServer::start();
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = format!("--kubeconfig={}", api.kubeconfig(dir.path()).display());
    let listen = ["--web.listen-address=127.0.0.1:0"];
    let kube_state = [
        kubeconfig.as_str(),
        "--host=127.0.0.1",
        "--port=0",
        "--telemetry-host=127.0.0.1",
        "--telemetry-port=0",
    ];
    for (binary, args, listeners) in [
        ("node-exporter", &listen[..], 1),
        ("redis-exporter", &listen[..], 1),
        ("kube-state-exporter", &kube_state[..], 2),
        ("firebase-exporter", &listen[..], 1),
    ] {
        let exporter = Running::start(&e2e::binary::path(binary), args, &[], listeners);
        let own_metrics = exporter.addresses[listeners - 1];
        let text = http::get(own_metrics, "/metrics").await.unwrap().text();
        assert!(text.contains("_build_info{"), "{binary}: {text}");
        match promtool_check_metrics(&text) {
            Ok(verdict) => {
                let unexpected: Vec<_> = verdict
                    .lint
                    .iter()
                    .filter(|f| !e2e::tools::inherited_lint(f))
                    .collect();
                assert!(unexpected.is_empty(), "{binary}: {unexpected:?}");
            }
            Err(complaint) => panic!("{binary}: promtool refuses the output: {complaint}\n{text}"),
        }
    }
}
