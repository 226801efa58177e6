//! What several resources' families share: timestamps, booleans, condition
//! state sets, owners and quantities, written as KSM writes them.

use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{OwnerReference, Time};

use crate::family::Series;

/// Seconds since the epoch, as KSM writes timestamps.
pub fn unix(time: &Time) -> f64 {
    time.0.as_second() as f64
}

/// 1 for true, 0 for false.
pub fn flag(value: bool) -> f64 {
    if value { 1.0 } else { 0.0 }
}

/// `"true"` or `"false"`, as KSM spells booleans in labels.
pub fn bool_label(value: bool) -> &'static str {
    if value { "true" } else { "false" }
}

/// KSM's `addConditionMetrics`: three series for a condition's status,
/// `label` = true, false and unknown after `labels`, 1 for the one it is
/// (an unexpected status gives three zeros, as in KSM).
pub fn condition(series: &mut Series<'_>, labels: &[(&str, &str)], label: &str, status: &str) {
    for (value, spelled) in [("True", "true"), ("False", "false"), ("Unknown", "unknown")] {
        let mut all = labels.to_vec();
        all.push((label, spelled));
        series.add(&all, flag(status == value));
    }
}

/// KSM's owner families: one series per owner reference, or one of
/// `<none>` when there is none.
pub fn owners(series: &mut Series<'_>, owners: Option<&Vec<OwnerReference>>) {
    let owners = owners.map(Vec::as_slice).unwrap_or_default();
    if owners.is_empty() {
        series.add(
            &[
                ("owner_kind", "<none>"),
                ("owner_name", "<none>"),
                ("owner_is_controller", "<none>"),
            ],
            1.0,
        );
    }
    for owner in owners {
        series.add(
            &[
                ("owner_kind", &owner.kind),
                ("owner_name", &owner.name),
                (
                    "owner_is_controller",
                    bool_label(owner.controller == Some(true)),
                ),
            ],
            1.0,
        );
    }
}

/// A Kubernetes quantity (`250m`, `1Gi`, `1.5e3`) as a number, or `None`
/// when it does not parse.
pub fn quantity(quantity: &Quantity) -> Option<f64> {
    let text = quantity.0.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '+' || c == '-'))
        .unwrap_or(text.len());
    let (number, suffix) = text.split_at(split);
    let number: f64 = number.parse().ok()?;
    let scale = match suffix {
        "" => 1.0,
        "n" => 1e-9,
        "u" => 1e-6,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "E" => 1e18,
        "Ki" => 1024.0,
        "Mi" => 1024f64.powi(2),
        "Gi" => 1024f64.powi(3),
        "Ti" => 1024f64.powi(4),
        "Pi" => 1024f64.powi(5),
        "Ei" => 1024f64.powi(6),
        exponent => {
            let power: i32 = exponent.strip_prefix(['e', 'E'])?.parse().ok()?;
            10f64.powi(power)
        }
    };
    Some(number * scale)
}

/// Go's `Quantity.Value()`: rounded up to a whole number.
pub fn quantity_value(q: &Quantity) -> Option<f64> {
    quantity(q).map(f64::ceil)
}

/// Go's `Quantity.MilliValue() / 1000`: rounded up to a thousandth (CPU
/// cores from `250m`).
pub fn quantity_milli(q: &Quantity) -> Option<f64> {
    quantity(q).map(|v| (v * 1000.0).ceil() / 1000.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(text: &str) -> Quantity {
        Quantity(text.to_owned())
    }

    #[test]
    fn quantities_as_go_reads_them() {
        assert_eq!(quantity_milli(&q("250m")), Some(0.25));
        assert_eq!(quantity_milli(&q("2")), Some(2.0));
        assert_eq!(quantity_value(&q("1Gi")), Some(1073741824.0));
        assert_eq!(quantity_value(&q("128M")), Some(128e6));
        assert_eq!(quantity_value(&q("1.5k")), Some(1500.0));
        assert_eq!(quantity_value(&q("1e3")), Some(1000.0));
        assert_eq!(quantity_value(&q("100m")), Some(1.0), "Value() rounds up");
        assert_eq!(quantity(&q("lots")), None);
        assert_eq!(quantity(&q("1Xi")), None);
    }
}
