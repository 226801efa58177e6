//! Side by side on this machine with Debian's Go node_exporter (1.5): every
//! family it exposes must be exposed by ours with the same type and label
//! names, unless it is one of the documented differences between 1.5 and
//! the 1.12 we follow, and the values that cannot drift between two scrapes
//! must agree.

use std::collections::{BTreeMap, BTreeSet};

use e2e::bench::free_port;
use e2e::http;
use e2e::process::Running;
use exporter_kit::exposition::{MetricSet, MetricType, Value, parse};

/// Families node_exporter 1.5 has and 1.12 does not, with the reason.
const REMOVED_SINCE_1_5: &[(&str, &str)] = &[
    // 1.9 switched meminfo to procfs' fixed field list.
    (
        "node_memory_Balloon_bytes",
        "meminfo exports a fixed field list since 1.9",
    ),
    (
        "node_memory_FileHugePages_bytes",
        "meminfo exports a fixed field list since 1.9",
    ),
    (
        "node_memory_FilePmdMapped_bytes",
        "meminfo exports a fixed field list since 1.9",
    ),
    (
        "node_memory_Hugetlb_bytes",
        "meminfo exports a fixed field list since 1.9",
    ),
    (
        "node_memory_KReclaimable_bytes",
        "meminfo exports a fixed field list since 1.9",
    ),
    (
        "node_memory_SecPageTables_bytes",
        "meminfo exports a fixed field list since 1.9",
    ),
    (
        "node_memory_Unaccepted_bytes",
        "meminfo exports a fixed field list since 1.9",
    ),
];

/// Families whose label names changed on purpose, with the reason.
const LABELS_CHANGED: &[(&str, &str)] = &[
    // Our build info carries rustversion instead of Go's goversion etc.
    (
        "node_exporter_build_info",
        "version, revision and rustversion instead of Go's build labels",
    ),
];

/// Labels added between 1.5 and 1.12: (family prefix, label, reason).
const LABELS_ADDED_SINCE_1_5: &[(&str, &str, &str)] = &[
    (
        "node_filesystem_",
        "device_error",
        "always present since 1.8, empty when statfs worked",
    ),
    (
        "node_disk_info",
        "rotational",
        "added to the disk info in 1.7",
    ),
    (
        "node_network_info",
        "adminstate",
        "added from the interface flags in 1.9",
    ),
];

fn label_added_since_1_5(family: &str, label: &str) -> bool {
    LABELS_ADDED_SINCE_1_5.iter().any(|(prefix, added, _)| {
        family.starts_with(prefix) && *added == label && family != "node_filesystem_mount_info"
    })
}

fn is_go_runtime(name: &str) -> bool {
    name.starts_with("go_") || name.starts_with("promhttp_")
}

struct Family {
    kind: MetricType,
    labels: BTreeSet<String>,
}

fn families(set: &MetricSet) -> BTreeMap<String, Family> {
    set.families()
        .iter()
        .map(|f| {
            let labels = f
                .samples
                .iter()
                .flat_map(|s| s.labels.iter().map(|l| l.name.to_string()))
                .collect();
            (
                f.name.to_string(),
                Family {
                    kind: f.kind,
                    labels,
                },
            )
        })
        .collect()
}

fn value(set: &MetricSet, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let family = set.families().iter().find(|f| f.name == name)?;
    family.samples.iter().find_map(|s| {
        let matches = labels
            .iter()
            .all(|(k, v)| s.labels.iter().any(|l| l.name == *k && l.value == *v));
        match (&s.value, matches) {
            (Value::Single(v), true) => Some(*v),
            _ => None,
        }
    })
}

fn labels_of(set: &MetricSet, name: &str) -> Vec<BTreeMap<String, String>> {
    set.families()
        .iter()
        .filter(|f| f.name == name)
        .flat_map(|f| &f.samples)
        .map(|s| {
            s.labels
                .iter()
                .map(|l| (l.name.to_string(), l.value.to_string()))
                .collect()
        })
        .collect()
}

#[tokio::test]
async fn every_go_family_is_here_with_the_same_type_labels_and_stable_values() {
    let go_address = format!("127.0.0.1:{}", free_port());
    let go = Running::start(
        &e2e::tools::path("prometheus-node-exporter"),
        &[&format!("--web.listen-address={go_address}")],
        &[],
        1,
    );
    let ours = Running::start(
        &e2e::binary::path("node-exporter"),
        &["--web.listen-address=127.0.0.1:0"],
        &[],
        1,
    );
    let go_text = http::get(go.addr(), "/metrics").await.unwrap().text();
    let our_text = http::get(ours.addr(), "/metrics").await.unwrap().text();
    let go_set = parse(&go_text).expect("Go output parses");
    let our_set = parse(&our_text).expect("our output parses");
    let (go_families, our_families) = (families(&go_set), families(&our_set));

    let mut problems = Vec::new();
    for (name, go_family) in go_families.iter().filter(|(n, _)| !is_go_runtime(n)) {
        if REMOVED_SINCE_1_5.iter().any(|(removed, _)| removed == name) {
            continue;
        }
        let Some(ours) = our_families.get(name) else {
            problems.push(format!("missing family {name}"));
            continue;
        };
        if ours.kind != go_family.kind {
            problems.push(format!(
                "{name}: type {:?}, Go has {:?}",
                ours.kind, go_family.kind
            ));
        }
        if LABELS_CHANGED.iter().any(|(changed, _)| changed == name) {
            continue;
        }
        let expected: BTreeSet<&String> = go_family.labels.iter().collect();
        let actual: BTreeSet<&String> = ours
            .labels
            .iter()
            .filter(|l| !label_added_since_1_5(name, l))
            .collect();
        // A family may be empty of labels on one side when it has no samples
        // with those labels right now; compare only when both have samples.
        if expected != actual && !go_family.labels.is_empty() && !ours.labels.is_empty() {
            problems.push(format!("{name}: labels {actual:?}, Go has {expected:?}"));
        }
    }
    assert!(
        problems.is_empty(),
        "differences from Go node_exporter:\n{}",
        problems.join("\n")
    );

    // Values that cannot change between the two scrapes.
    for name in [
        "node_memory_MemTotal_bytes",
        "node_boot_time_seconds",
        "node_memory_SwapTotal_bytes",
    ] {
        let (go_value, our_value) = (value(&go_set, name, &[]), value(&our_set, name, &[]));
        assert!(go_value.is_some(), "Go has no {name}");
        assert_eq!(our_value, go_value, "{name}");
    }
    let cpus = |set: &MetricSet| -> BTreeSet<String> {
        labels_of(set, "node_cpu_seconds_total")
            .into_iter()
            .filter_map(|l| l.get("cpu").cloned())
            .collect()
    };
    assert_eq!(cpus(&our_set), cpus(&go_set), "CPU count");
    assert_eq!(
        labels_of(&our_set, "node_uname_info"),
        labels_of(&go_set, "node_uname_info")
    );
    for go_labels in labels_of(&go_set, "node_filesystem_size_bytes") {
        let mountpoint = &go_labels["mountpoint"];
        let go_size = value(
            &go_set,
            "node_filesystem_size_bytes",
            &[("mountpoint", mountpoint)],
        );
        let our_size = value(
            &our_set,
            "node_filesystem_size_bytes",
            &[("mountpoint", mountpoint)],
        );
        assert_eq!(our_size, go_size, "size of {mountpoint}");
    }
    let go_os = labels_of(&go_set, "node_os_info");
    assert_eq!(
        labels_of(&our_set, "node_os_info"),
        go_os,
        "os-release labels"
    );
}
