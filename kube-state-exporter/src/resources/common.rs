//! What several resources' families share, written as KSM writes them: the
//! metadata families every kind has, timestamps and Go's zero time, counts,
//! booleans, condition state sets, owners, Kubernetes quantities and
//! extended resource names.
//!
//! The generators here (`fn(&K, &mut Series)`) go straight into the family
//! tables; the other helpers are for the resources' own generators.

use std::borrow::Cow;

use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{OwnerReference, Time};

use crate::family::Series;

// --- Families of the object's metadata -------------------------------------

/// `kube_*_annotations`: one series with the allowlisted annotations.
pub(super) fn annotations<K: kube::Resource>(object: &K, series: &mut Series<'_>) {
    series.allowlisted("annotation", object.meta().annotations.as_ref());
}

/// `kube_*_labels`: one series with the allowlisted labels.
pub(super) fn labels<K: kube::Resource>(object: &K, series: &mut Series<'_>) {
    series.allowlisted("label", object.meta().labels.as_ref());
}

/// `kube_*_created`.
pub(super) fn created<K: kube::Resource>(object: &K, series: &mut Series<'_>) {
    timestamp(series, object.meta().creation_timestamp.as_ref());
}

/// `kube_*_deletion_timestamp`.
pub(super) fn deletion_timestamp<K: kube::Resource>(object: &K, series: &mut Series<'_>) {
    timestamp(series, object.meta().deletion_timestamp.as_ref());
}

/// `kube_*_metadata_generation`: 0 while unset.
pub(super) fn metadata_generation<K: kube::Resource>(object: &K, series: &mut Series<'_>) {
    series.add(&[], count(object.meta().generation));
}

/// The `_owner` families of replica sets, jobs and pods: one series per
/// owner reference with its kind, name and whether it is the controller.
pub(super) fn owners<K: kube::Resource>(object: &K, series: &mut Series<'_>) {
    owner_series(series, object.meta().owner_references.as_deref(), true);
}

/// `kube_deployment_owner`: as [`owners`] without `owner_is_controller`,
/// which KSM leaves out for deployments.
pub(super) fn owners_without_controller<K: kube::Resource>(object: &K, series: &mut Series<'_>) {
    owner_series(series, object.meta().owner_references.as_deref(), false);
}

/// One series per owner reference, or one with empty values when there is
/// none: KSM v2 writes `""` there, not `<none>`.
fn owner_series(series: &mut Series<'_>, owners: Option<&[OwnerReference]>, controller: bool) {
    let labels = if controller { 3 } else { 2 };
    let owners = owners.unwrap_or_default();
    if owners.is_empty() {
        let none = [
            ("owner_kind", ""),
            ("owner_name", ""),
            ("owner_is_controller", ""),
        ];
        series.add(&none[..labels], 1.0);
    }
    for owner in owners {
        let one = [
            ("owner_kind", owner.kind.as_str()),
            ("owner_name", owner.name.as_str()),
            (
                "owner_is_controller",
                bool_label(owner.controller == Some(true)),
            ),
        ];
        series.add(&one[..labels], 1.0);
    }
}

// --- Times -----------------------------------------------------------------

/// Go's zero `time.Time` (0001-01-01T00:00:00Z) in Unix seconds: what
/// `metav1.Time.IsZero` treats as unset, and what `Time{}.Unix()` gives.
pub(super) const GO_ZERO_UNIX: i64 = -62_135_596_800;

/// Seconds since the epoch, as KSM writes timestamps.
pub(super) fn unix(time: &Time) -> f64 {
    time.0.as_second() as f64
}

/// The time unless it is missing or Go's zero time (KSM's
/// `!t.IsZero()` checks).
pub(super) fn non_zero(time: Option<&Time>) -> Option<&Time> {
    time.filter(|t| !(t.0.as_second() == GO_ZERO_UNIX && t.0.subsec_nanosecond() == 0))
}

/// One series with the time, only when it is set and not Go's zero time
/// (the `_created` and `_deletion_timestamp` families).
pub(super) fn timestamp(series: &mut Series<'_>, time: Option<&Time>) {
    value_if_set(series, non_zero(time).map(unix));
}

/// The time, or Go's zero time when it is unset: what KSM writes for a
/// timestamp the object leaves out inside a pod's container state or
/// condition (it dereferences a zero `metav1.Time`).
pub(super) fn unix_or_zero(time: Option<&Time>) -> f64 {
    time.map_or(GO_ZERO_UNIX as f64, unix)
}

// --- Numbers ---------------------------------------------------------------

/// One series without labels of its own when there is a value: KSM's
/// families of pointer fields, which have no series while the pointer is
/// nil.
pub(super) fn value_if_set(series: &mut Series<'_>, value: Option<f64>) {
    if let Some(value) = value {
        series.add(&[], value);
    }
}

/// A count or generation KSM reads from a plain Go integer field: missing
/// is 0.
pub(super) fn count(value: Option<impl Into<i64>>) -> f64 {
    value.map_or(0, Into::into) as f64
}

/// 1 for true, 0 for false.
pub(super) fn flag(value: bool) -> f64 {
    if value { 1.0 } else { 0.0 }
}

/// `"true"` or `"false"`, as KSM spells booleans in labels.
pub(super) fn bool_label(value: bool) -> &'static str {
    if value { "true" } else { "false" }
}

// --- State sets ------------------------------------------------------------

/// [`Series::state_set`] of a status field, with no series at all while the
/// field is unset or empty (phases, a pod's QoS class).
pub(super) fn state_set_if_set(
    series: &mut Series<'_>,
    label: &str,
    states: &[&str],
    current: Option<&str>,
) {
    if let Some(current) = current.filter(|c| !c.is_empty()) {
        series.state_set(label, states, current);
    }
}

// --- Conditions ------------------------------------------------------------

/// KSM's `addConditionMetrics`: three series for a condition's status,
/// `label` = true, false and unknown after `labels`, 1 for the one it is
/// (an unexpected status gives three zeros, as in KSM).
pub(super) fn condition(
    series: &mut Series<'_>,
    labels: &[(&str, &str)],
    label: &str,
    status: &str,
) {
    for (value, spelled) in [("True", "true"), ("False", "false"), ("Unknown", "unknown")] {
        let mut all = labels.to_vec();
        all.push((label, spelled));
        series.add(&all, flag(status == value));
    }
}

/// The `_status_condition` families of nodes, namespaces and claims: the
/// [`condition`] series of every condition, labelled with its type.
/// `fields` gives a condition's type and status.
pub(super) fn conditions_by_type<C>(
    series: &mut Series<'_>,
    conditions: Option<&[C]>,
    fields: fn(&C) -> (&str, &str),
) {
    for c in conditions.unwrap_or_default() {
        let (kind, status) = fields(c);
        condition(series, &[("condition", kind)], "status", status);
    }
}

// --- Lists -----------------------------------------------------------------

/// One series per entry of a list of strings, with the entry as `label`
/// (access modes, pod CIDRs, external IPs).
pub(super) fn one_per_entry(series: &mut Series<'_>, label: &str, entries: Option<&[String]>) {
    for entry in entries.unwrap_or_default() {
        series.add(&[(label, entry)], 1.0);
    }
}

// --- Quantities ------------------------------------------------------------

/// Go's `float64(q.Value())`: the quantity rounded up (away from zero) to a
/// whole number; `None` when the text does not parse.
pub(super) fn quantity_value(q: &Quantity) -> Option<f64> {
    let decimal = Decimal::parse(q)?;
    Some(match decimal.scaled(0) {
        Some(whole) => whole as f64,
        None => decimal.approximate()?.ceil(),
    })
}

/// Go's `float64(q.MilliValue()) / 1000`: the quantity in thousandths,
/// rounded up, then divided back. Done on the decimal text rather than
/// through a float, so CPU cores from `3300m` are exactly 3.3 (a float
/// reading rounds up to 3.301).
pub(super) fn quantity_milli_value(q: &Quantity) -> Option<f64> {
    let decimal = Decimal::parse(q)?;
    Some(match decimal.scaled(3) {
        Some(milli) => milli as f64 / 1000.0,
        None => (decimal.approximate()? * 1000.0).ceil() / 1000.0,
    })
}

/// KSM's `convertValueToFloat64` for CPU: `MilliValue()/1000`, or
/// `Value()` when the milli-value would overflow an int64. The text is
/// parsed once.
pub(super) fn quantity_cores(q: &Quantity) -> Option<f64> {
    let decimal = Decimal::parse(q)?;
    match decimal.scaled(3) {
        Some(milli) if milli <= i128::from(i64::MAX) => Some(milli as f64 / 1000.0),
        _ => quantity_value(q),
    }
}

/// A quantity's text taken apart: `<sign><whole>.<fraction><suffix>`, the
/// suffix (`n u m k M G T P E`, `Ki`..`Ei` or an `e`/`E` exponent) as powers
/// of ten and of two.
struct Decimal<'a> {
    negative: bool,
    whole: &'a str,
    fraction: &'a str,
    exponent10: i32,
    exponent2: u32,
}

impl Decimal<'_> {
    /// `None` for text that is not a quantity.
    fn parse(q: &Quantity) -> Option<Decimal<'_>> {
        let text = q.0.trim();
        let (negative, text) = match text.as_bytes().first() {
            Some(b'-') => (true, &text[1..]),
            Some(b'+') => (false, &text[1..]),
            _ => (false, text),
        };
        let number_end = text
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(text.len());
        let (number, suffix) = text.split_at(number_end);
        let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
        if (whole.is_empty() && fraction.is_empty()) || fraction.contains('.') {
            return None;
        }
        // Matched as bytes: a `&str` match is a chain of `memcmp` calls,
        // and quantities are parsed for every container of every pod.
        let (exponent10, exponent2): (i32, u32) = match suffix.as_bytes() {
            [] => (0, 0),
            [b'n'] => (-9, 0),
            [b'u'] => (-6, 0),
            [b'm'] => (-3, 0),
            [b'k'] => (3, 0),
            [b'M'] => (6, 0),
            [b'G'] => (9, 0),
            [b'T'] => (12, 0),
            [b'P'] => (15, 0),
            [b'E'] => (18, 0),
            [b'K', b'i'] => (0, 10),
            [b'M', b'i'] => (0, 20),
            [b'G', b'i'] => (0, 30),
            [b'T', b'i'] => (0, 40),
            [b'P', b'i'] => (0, 50),
            [b'E', b'i'] => (0, 60),
            _ => {
                let digits = suffix.strip_prefix(['e', 'E'])?;
                let unsigned = digits.strip_prefix(['+', '-']).unwrap_or(digits);
                if unsigned.is_empty() || !unsigned.bytes().all(|b| b.is_ascii_digit()) {
                    return None;
                }
                (digits.parse().ok()?, 0)
            }
        };
        Some(Decimal {
            negative,
            whole,
            fraction,
            exponent10,
            exponent2,
        })
    }

    /// The quantity times 10^`scale`, rounded away from zero, computed
    /// exactly; `None` for numbers too large for 128 bits.
    fn scaled(&self, scale: i32) -> Option<i128> {
        let digits = self.whole.bytes().chain(self.fraction.bytes());
        // Up to 19 digits fit a u64 (the common case, done without 128-bit
        // arithmetic); longer ones are checked digit by digit.
        let mantissa: u128 = if self.whole.len() + self.fraction.len() <= 19 {
            u128::from(digits.fold(0u64, |m, d| m * 10 + u64::from(d - b'0')))
        } else {
            let mut mantissa: u128 = 0;
            for digit in digits {
                mantissa = mantissa
                    .checked_mul(10)?
                    .checked_add(u128::from(digit - b'0'))?;
            }
            mantissa
        };
        let fraction_len = i32::try_from(self.fraction.len()).ok()?;
        let numerator = mantissa.checked_mul(1u128 << self.exponent2)?;
        let power = self
            .exponent10
            .checked_sub(fraction_len)?
            .checked_add(scale)?;
        let magnitude = if power >= 0 {
            numerator.checked_mul(10u128.checked_pow(power.unsigned_abs())?)?
        } else {
            match 10u128.checked_pow(power.unsigned_abs()) {
                Some(divisor) => numerator / divisor + u128::from(numerator % divisor != 0),
                // Smaller than any unit: rounds up to one, unless zero.
                None => u128::from(numerator != 0),
            }
        };
        let magnitude = i128::try_from(magnitude).ok()?;
        Some(if self.negative { -magnitude } else { magnitude })
    }

    /// The nearest float, for numbers too large to scale exactly (where
    /// rounding to units no longer matters).
    fn approximate(&self) -> Option<f64> {
        let fraction_len = i64::try_from(self.fraction.len()).ok()?;
        let exponent = i64::from(self.exponent10) - fraction_len;
        let digits: f64 = format!("{}{}e{exponent}", self.whole, self.fraction)
            .parse()
            .ok()?;
        let magnitude = digits * 2f64.powi(i32::try_from(self.exponent2).ok()?);
        Some(if self.negative { -magnitude } else { magnitude })
    }
}

// --- Resource names --------------------------------------------------------

/// A resource name as the `resource` label carries it, sanitised
/// (`ephemeral-storage` → `ephemeral_storage`). The one native name with a
/// dash is spelled out, as every pod's requests and every node's capacity
/// have it and sanitising would allocate each time.
pub(super) fn resource_label(name: &str) -> Cow<'_, str> {
    match name {
        "ephemeral-storage" => Cow::Borrowed("ephemeral_storage"),
        other => crate::labels::sanitize(other),
    }
}

/// Kubernetes' extended resources as KSM tells them: a name outside the
/// native ones (no domain, or in the `kubernetes.io/` domain), not itself a
/// `requests.` quota name, and a valid qualified name once `requests.` is
/// put in front of it.
pub(super) fn is_extended_resource(name: &str) -> bool {
    let native = !name.contains('/') || name.contains("kubernetes.io/");
    if native || name.starts_with("requests.") {
        return false;
    }
    is_qualified_name(&format!("requests.{name}"))
}

/// apimachinery's `IsQualifiedName`: an optional DNS-subdomain prefix and
/// `/`, then a name of at most 63 characters made of alphanumerics, `-`,
/// `_` and `.`, starting and ending with an alphanumeric.
fn is_qualified_name(text: &str) -> bool {
    let parts: Vec<&str> = text.split('/').collect();
    let name = match parts.as_slice() {
        [name] => name,
        [prefix, name] if is_dns_subdomain(prefix) => name,
        _ => return false,
    };
    let bytes = name.as_bytes();
    let (Some(first), Some(last)) = (bytes.first(), bytes.last()) else {
        return false;
    };
    bytes.len() <= 63
        && first.is_ascii_alphanumeric()
        && last.is_ascii_alphanumeric()
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// RFC 1123 subdomain: at most 253 characters, dot-separated labels of
/// lower-case alphanumerics and `-`, each starting and ending with an
/// alphanumeric.
fn is_dns_subdomain(text: &str) -> bool {
    let is_lower_alnum = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    !text.is_empty()
        && text.len() <= 253
        && text.split('.').all(|label| {
            let bytes = label.as_bytes();
            match (bytes.first(), bytes.last()) {
                (Some(first), Some(last)) => {
                    is_lower_alnum(first)
                        && is_lower_alnum(last)
                        && bytes.iter().all(|b| is_lower_alnum(b) || *b == b'-')
                }
                _ => false,
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(text: &str) -> Quantity {
        Quantity(text.to_owned())
    }

    #[test]
    fn quantities_as_go_reads_them() {
        assert_eq!(quantity_value(&q("1Gi")), Some(1073741824.0));
        assert_eq!(quantity_value(&q("128M")), Some(128e6));
        assert_eq!(quantity_value(&q("1.5k")), Some(1500.0));
        assert_eq!(quantity_value(&q("1e3")), Some(1000.0));
        assert_eq!(quantity_value(&q("lots")), None);
        assert_eq!(quantity_value(&q("1Xi")), None);
    }

    #[test]
    fn quantities_are_exact_where_floats_are_not() {
        assert_eq!(quantity_milli_value(&q("3300m")), Some(3.3));
        assert_eq!(quantity_milli_value(&q("3920m")), Some(3.92));
        assert_eq!(quantity_milli_value(&q("250m")), Some(0.25));
        assert_eq!(quantity_milli_value(&q("2")), Some(2.0));
        assert_eq!(quantity_milli_value(&q("0.1")), Some(0.1));
        assert_eq!(quantity_milli_value(&q("1n")), Some(0.001), "rounds up");
        assert_eq!(quantity_milli_value(&q("1.5Ki")), Some(1536.0));
        assert_eq!(quantity_milli_value(&q("16338396Ki")), Some(16730517504.0));
        assert_eq!(quantity_milli_value(&q("100M")), Some(1e8));
        assert_eq!(quantity_milli_value(&q("1e3")), Some(1000.0));
        assert_eq!(quantity_milli_value(&q("12E-1")), Some(1.2));
        assert_eq!(quantity_milli_value(&q("1E")), Some(1e18));
        assert_eq!(quantity_cores(&q("3300m")), Some(3.3));
        assert_eq!(quantity_cores(&q("1n")), Some(0.001));
        assert_eq!(
            quantity_cores(&q("1E")),
            Some(1e18),
            "Value() past int64 millis"
        );
        assert_eq!(quantity_cores(&q("x")), None);
        assert_eq!(quantity_value(&q("100m")), Some(1.0), "Value() rounds up");
        assert_eq!(quantity_value(&q("10Gi")), Some(10737418240.0));
        assert_eq!(quantity_value(&q("-1.5")), Some(-2.0), "away from zero");
        assert_eq!(quantity_value(&q(".5")), Some(1.0));
        for bad in ["", ".", "lots", "1Xi", "1e", "1.2.3", "e3", "1e+", "--1"] {
            assert_eq!(quantity_value(&q(bad)), None, "{bad:?}");
            assert_eq!(quantity_milli_value(&q(bad)), None, "{bad:?}");
        }
        // Too large for exact arithmetic: the nearest float.
        assert_eq!(quantity_value(&q("1e40")), Some(1e40));
    }

    #[test]
    fn extended_resources_follow_kubernetes_rules() {
        assert!(is_extended_resource("nvidia.com/gpu"));
        assert!(is_extended_resource("example.com/gpu"));
        assert!(is_extended_resource("example.com/foo_bar.baz"));
        assert!(!is_extended_resource("kubernetes.io/something"));
        assert!(!is_extended_resource("example.kubernetes.io/something"));
        assert!(!is_extended_resource("cpu"));
        assert!(!is_extended_resource("requests.example.com/foo"));
    }

    #[test]
    fn extended_resource_names_follow_apimachinery() {
        assert!(
            !is_extended_resource("Example.com/foo"),
            "upper-case domain"
        );
        assert!(!is_extended_resource("example.com/-foo"));
        assert!(!is_extended_resource("a/b/c"));
        assert!(!is_extended_resource("example.com/"));
        assert!(!is_extended_resource(&format!(
            "example.com/{}",
            "x".repeat(64)
        )));
    }
}
