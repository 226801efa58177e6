//! The one exposition writer of the suite.
//!
//! Output matches client_golang's `expfmt` byte for byte: the same float
//! spelling (Go's `strconv.FormatFloat(v, 'g', -1, 64)`), escaping, `+Inf`
//! bucket and OpenMetrics counter naming, so dashboards, recording rules and
//! golden-file comparisons see no difference from the Go exporters.

use std::fmt::Write as _;

use super::model::{Family, Label, MetricSet, MetricType, Value};
use super::negotiate::Format;

/// Appends `set` to `out` in `format`. The set should be
/// [finished](MetricSet::finish) first.
pub fn encode(set: &MetricSet, format: Format, out: &mut Vec<u8>) {
    encode_families(set, format, out);
    if format.is_openmetrics() {
        out.extend_from_slice(b"# EOF\n");
    }
}

/// [`encode`] without OpenMetrics' closing `# EOF`, for a response that
/// continues with more families.
pub fn encode_families(set: &MetricSet, format: Format, out: &mut Vec<u8>) {
    let openmetrics = format.is_openmetrics();
    for family in set.families() {
        write_family(family, openmetrics, out);
    }
}

fn write_family(family: &Family, openmetrics: bool, out: &mut Vec<u8>) {
    // OpenMetrics names a counter family without its `_total` suffix and puts
    // the suffix on every sample instead.
    let (name, counter_suffix) = if openmetrics && family.kind == MetricType::Counter {
        (
            family.name.strip_suffix("_total").unwrap_or(&family.name),
            "_total",
        )
    } else {
        (family.name.as_ref(), "")
    };

    out.extend_from_slice(b"# HELP ");
    out.extend_from_slice(name.as_bytes());
    out.push(b' ');
    escape_into(out, &family.help, openmetrics);
    out.extend_from_slice(b"\n# TYPE ");
    out.extend_from_slice(name.as_bytes());
    out.push(b' ');
    let type_name = if openmetrics {
        family.kind.openmetrics_name()
    } else {
        family.kind.text_name()
    };
    out.extend_from_slice(type_name.as_bytes());
    out.push(b'\n');

    let number = |v: f64| Number::Float(v);
    for sample in &family.samples {
        let labels = &sample.labels;
        match &sample.value {
            Value::Single(v) => write_sample(
                out,
                name,
                counter_suffix,
                labels,
                None,
                number(*v),
                openmetrics,
            ),
            Value::Histogram {
                buckets,
                sum,
                count,
            } => {
                for &(le, cumulative) in buckets {
                    let value = count_value(cumulative, openmetrics);
                    write_sample(
                        out,
                        name,
                        "_bucket",
                        labels,
                        Some(("le", le)),
                        value,
                        openmetrics,
                    );
                }
                if buckets.last().is_none_or(|&(le, _)| le != f64::INFINITY) {
                    let value = count_value(*count, openmetrics);
                    let le = Some(("le", f64::INFINITY));
                    write_sample(out, name, "_bucket", labels, le, value, openmetrics);
                }
                write_sample(out, name, "_sum", labels, None, number(*sum), openmetrics);
                let value = count_value(*count, openmetrics);
                write_sample(out, name, "_count", labels, None, value, openmetrics);
            }
            Value::Summary {
                quantiles,
                sum,
                count,
            } => {
                for &(quantile, v) in quantiles {
                    let extra = Some(("quantile", quantile));
                    write_sample(out, name, "", labels, extra, number(v), openmetrics);
                }
                write_sample(out, name, "_sum", labels, None, number(*sum), openmetrics);
                let value = count_value(*count, openmetrics);
                write_sample(out, name, "_count", labels, None, value, openmetrics);
            }
        }
    }
}

/// Counts are floats in the text format and integers in OpenMetrics.
fn count_value(count: u64, openmetrics: bool) -> Number {
    if openmetrics {
        Number::Count(count)
    } else {
        Number::Float(count as f64)
    }
}

enum Number {
    Float(f64),
    Count(u64),
}

fn write_sample(
    out: &mut Vec<u8>,
    name: &str,
    suffix: &str,
    labels: &[Label],
    extra: Option<(&str, f64)>,
    value: Number,
    openmetrics: bool,
) {
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(suffix.as_bytes());
    if !labels.is_empty() || extra.is_some() {
        out.push(b'{');
        for (i, label) in labels.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(label.name.as_bytes());
            out.extend_from_slice(b"=\"");
            write_escaped_label_value(out, &label.value);
            out.push(b'"');
        }
        if let Some((extra_name, bound)) = extra {
            if !labels.is_empty() {
                out.push(b',');
            }
            out.extend_from_slice(extra_name.as_bytes());
            out.extend_from_slice(b"=\"");
            write_float(out, bound, openmetrics);
            out.push(b'"');
        }
        out.push(b'}');
    }
    out.push(b' ');
    match value {
        Number::Float(v) => write_float(out, v, openmetrics),
        Number::Count(c) => {
            out.extend_from_slice(itoa::Buffer::new().format(c).as_bytes());
        }
    }
    out.push(b'\n');
}

/// Escapes a label value: backslash, double quote and newline.
pub fn write_escaped_label_value(out: &mut Vec<u8>, value: &str) {
    escape_into(out, value, true);
}

/// HELP text escapes backslash and newline; OpenMetrics also escapes quotes.
fn escape_into(out: &mut Vec<u8>, text: &str, escape_quote: bool) {
    let bytes = text.as_bytes();
    // Almost no value needs escaping: one check eight bytes at a time, then
    // a single copy (kube-state renders millions of label values).
    if !needs_escape(bytes, escape_quote) {
        out.extend_from_slice(bytes);
        return;
    }
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let replacement: &[u8] = match b {
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'"' if escape_quote => b"\\\"",
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..i]);
        out.extend_from_slice(replacement);
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
}

/// Whether `bytes` holds a backslash, a newline or (with `quote`) a double
/// quote. Eight bytes per step: a byte of `word ^ repeat(c)` is zero exactly
/// where `c` is, and `(x - 0x01..) & !x & 0x80..` is non-zero exactly when
/// some byte of `x` is zero.
fn needs_escape(bytes: &[u8], quote: bool) -> bool {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);
    let has_byte = |word: u64, byte: u8| {
        let x = word ^ (ONES * u64::from(byte));
        x.wrapping_sub(ONES) & !x & HIGHS != 0
    };
    let holds_special = |word: u64| {
        has_byte(word, b'\\') || has_byte(word, b'\n') || (quote && has_byte(word, b'"'))
    };
    let word_at = |start: usize| {
        let mut word = [0u8; 8];
        word.copy_from_slice(&bytes[start..start + 8]);
        u64::from_ne_bytes(word)
    };
    if bytes.len() < 8 {
        return bytes
            .iter()
            .any(|&b| b == b'\\' || b == b'\n' || (quote && b == b'"'));
    }
    // Whole words, then the last eight bytes as one more word (overlapping
    // the one before) instead of the tail byte by byte.
    (0..bytes.len() / 8).any(|i| holds_special(word_at(i * 8)))
        || holds_special(word_at(bytes.len() - 8))
}

/// Writes `v` as Go's `strconv.FormatFloat(v, 'g', -1, 64)` does, which is
/// what client_golang emits; OpenMetrics additionally marks integral values
/// with `.0`.
pub fn write_float(out: &mut Vec<u8>, v: f64, openmetrics: bool) {
    if v.is_nan() {
        out.extend_from_slice(b"NaN");
        return;
    }
    if v.is_infinite() {
        out.extend_from_slice(if v > 0.0 { b"+Inf" } else { b"-Inf" });
        return;
    }
    let start = out.len();
    // 0 and 1 are most of kube-state's values (state sets, info families).
    if v == 0.0 {
        out.push(b'0');
    } else if v == 1.0 {
        out.push(b'1');
    } else if v.fract() == 0.0 && v.abs() < 1e6 {
        // Exponent below 6: Go prints these as plain integers.
        out.extend_from_slice(itoa::Buffer::new().format(v as i64).as_bytes());
    } else if v.fract() == 0.0 && v.abs() < MAX_EXACT_INTEGER {
        write_integral_exponent(out, v as i64);
    } else if !write_thousandths(out, v) {
        write_go_shortest(out, v);
    }
    if openmetrics && !out[start..].iter().any(|&b| b == b'.' || b == b'e') {
        out.extend_from_slice(b".0");
    }
}

/// Below 2^53 every integer is a distinct double, so its own digits (less
/// trailing zeros) are the shortest that round-trip.
const MAX_EXACT_INTEGER: f64 = 9_007_199_254_740_992.0;

/// An integer of at least 1e6 in Go's `%e` layout (`1.7643924e+09`),
/// without the float-to-digits search: timestamps and byte counts, the
/// most common large values, take this path.
fn write_integral_exponent(out: &mut Vec<u8>, n: i64) {
    let mut buffer = itoa::Buffer::new();
    let text = buffer.format(n.unsigned_abs()).as_bytes();
    let exponent = text.len() - 1;
    let digits = &text[..text
        .iter()
        .rposition(|&b| b != b'0')
        .map_or(1, |last| last + 1)];
    if n < 0 {
        out.push(b'-');
    }
    out.push(digits[0]);
    if digits.len() > 1 {
        out.push(b'.');
        out.extend_from_slice(&digits[1..]);
    }
    // At most 18 for an i64: always two digits, as Go writes them.
    out.extend_from_slice(&[
        b'e',
        b'+',
        b'0' + (exponent / 10) as u8,
        b'0' + (exponent % 10) as u8,
    ]);
}

/// A value of a few thousandths in magnitude below 1e6 (CPU cores such as
/// 0.25 or 1.5, the most common fractions in kube-state's output), written
/// without the float-to-digits search; `false`, writing nothing, for any
/// other value.
///
/// When `v` is the double nearest `k / 1000` (division is correctly rounded,
/// so that is what `k as f64 / 1000.0 == v` checks), the decimal `k / 1000`
/// round-trips to `v`; any other decimal with as few digits is a multiple of
/// 0.001 at least 0.001 away, far beyond half an ulp of `v` below 1e6, so it
/// is also the shortest, which is what Go writes. Below 1e6 and from 0.001 up,
/// Go uses the `%f` layout.
fn write_thousandths(out: &mut Vec<u8>, v: f64) -> bool {
    if v.abs() >= 1e6 {
        return false;
    }
    let thousandths = (v * 1000.0).round();
    if thousandths == 0.0 || thousandths / 1000.0 != v {
        return false;
    }
    let thousandths = thousandths as i64;
    if thousandths < 0 {
        out.push(b'-');
    }
    let magnitude = thousandths.unsigned_abs();
    out.extend_from_slice(itoa::Buffer::new().format(magnitude / 1000).as_bytes());
    let fraction = magnitude % 1000;
    if fraction != 0 {
        let digits = [
            b'0' + (fraction / 100) as u8,
            b'0' + (fraction / 10 % 10) as u8,
            b'0' + (fraction % 10) as u8,
        ];
        let significant = if fraction % 100 == 0 {
            1
        } else if fraction % 10 == 0 {
            2
        } else {
            3
        };
        out.push(b'.');
        out.extend_from_slice(&digits[..significant]);
    }
    true
}

/// Go's `'g'` verb with shortest precision: the shortest digits that round
/// trip, in `%e` form when the decimal exponent is below -4 or at least 6,
/// else in `%f` form.
fn write_go_shortest(out: &mut Vec<u8>, v: f64) {
    // Rust's `{:e}` yields exactly the shortest round-tripping digits, e.g.
    // "-1.2345e-7"; re-shape them the way Go lays them out.
    let mut scratch = StackString::default();
    write!(scratch, "{v:e}").expect("a float fits in 32 bytes");
    let text = scratch.as_str();
    let (mantissa, exponent) = text.split_once('e').expect("{:e} always has an exponent");
    let exponent: i32 = exponent.parse().expect("{:e} exponent is an integer");
    let (negative, mantissa) = match mantissa.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, mantissa),
    };
    let mut digits = [0u8; 20];
    let mut n = 0;
    for b in mantissa.bytes().filter(|b| b.is_ascii_digit()) {
        digits[n] = b;
        n += 1;
    }
    let digits = &digits[..n];

    if negative {
        out.push(b'-');
    }
    if !(-4..6).contains(&exponent) {
        out.push(digits[0]);
        if digits.len() > 1 {
            out.push(b'.');
            out.extend_from_slice(&digits[1..]);
        }
        out.push(b'e');
        out.push(if exponent < 0 { b'-' } else { b'+' });
        let magnitude = exponent.unsigned_abs();
        if magnitude < 10 {
            out.push(b'0');
        }
        out.extend_from_slice(itoa::Buffer::new().format(magnitude).as_bytes());
    } else if exponent < 0 {
        out.extend_from_slice(b"0.");
        out.extend(std::iter::repeat_n(b'0', (-exponent - 1) as usize));
        out.extend_from_slice(digits);
    } else {
        let integer_digits = exponent as usize + 1;
        if digits.len() <= integer_digits {
            out.extend_from_slice(digits);
            out.extend(std::iter::repeat_n(b'0', integer_digits - digits.len()));
        } else {
            out.extend_from_slice(&digits[..integer_digits]);
            out.push(b'.');
            out.extend_from_slice(&digits[integer_digits..]);
        }
    }
}

/// A fixed buffer for formatting one float without allocating.
#[derive(Default)]
struct StackString {
    bytes: [u8; 32],
    len: usize,
}

impl StackString {
    fn as_str(&self) -> &str {
        std::str::from_utf8(&self.bytes[..self.len]).expect("only ASCII is written")
    }
}

impl std::fmt::Write for StackString {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let end = self.len + s.len();
        if end > self.bytes.len() {
            return Err(std::fmt::Error);
        }
        self.bytes[self.len..end].copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn needs_escape_agrees_with_a_byte_by_byte_scan() {
        let naive = |bytes: &[u8], quote: bool| {
            bytes
                .iter()
                .any(|&b| b == b'\\' || b == b'\n' || (quote && b == b'"'))
        };
        // Every byte value at every position of strings up to 19 bytes long,
        // over a background of bytes just around the special ones.
        for len in 0..20 {
            for background in [b'a', 0x5b, 0x5d, 0x09, 0x0b, 0x21, 0x23, 0xff, 0x80, 0x00] {
                for position in 0..len {
                    for byte in 0..=255u8 {
                        let mut text = vec![background; len];
                        text[position] = byte;
                        for quote in [false, true] {
                            assert_eq!(
                                needs_escape(&text, quote),
                                naive(&text, quote),
                                "{text:?} quote={quote}"
                            );
                        }
                    }
                }
            }
        }
    }
    use super::*;

    fn float(v: f64, openmetrics: bool) -> String {
        let mut out = Vec::new();
        write_float(&mut out, v, openmetrics);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn floats_are_spelled_as_go_spells_them() {
        // Expected strings are Go's strconv.FormatFloat(v, 'g', -1, 64).
        let cases: &[(f64, &str)] = &[
            (0.0, "0"),
            (-0.0, "0"),
            (1.0, "1"),
            (-1.0, "-1"),
            (0.5, "0.5"),
            (123456.0, "123456"),
            (999999.0, "999999"),
            (1e6, "1e+06"),
            (1234567.0, "1.234567e+06"),
            (8253616128.0, "8.253616128e+09"),
            (1764392400.0, "1.7643924e+09"),
            (-300000000.0, "-3e+08"),
            (123456789012345.0, "1.23456789012345e+14"),
            (9007199254740991.0, "9.007199254740991e+15"),
            (9007199254740992.0, "9.007199254740992e+15"),
            (1e16, "1e+16"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (1.5e-7, "1.5e-07"),
            (123.456, "123.456"),
            (-2.5, "-2.5"),
            (1e21, "1e+21"),
            (1.7976931348623157e308, "1.7976931348623157e+308"),
            (5e-324, "5e-324"),
            (0.1 + 0.2, "0.30000000000000004"),
            (100000.5, "100000.5"),
            (f64::INFINITY, "+Inf"),
            (f64::NEG_INFINITY, "-Inf"),
            (f64::NAN, "NaN"),
        ];
        for &(v, want) in cases {
            assert_eq!(float(v, false), want, "{v:?}");
        }
    }

    #[test]
    fn thousandths_are_written_as_the_digit_search_writes_them() {
        let searched = |v: f64| {
            let mut out = Vec::new();
            write_go_shortest(&mut out, v);
            String::from_utf8(out).unwrap()
        };
        let mut fast = 0;
        // Every thousandth up to 200 and a spread up to 1e6, both signs, and
        // the doubles right next to each (which must not take the fast path
        // wrongly, or must agree when they do).
        let thousandths = (1..200_000i64).chain((200_000..1_000_000_000).step_by(9_973));
        for k in thousandths {
            for sign in [1.0, -1.0] {
                let exact = sign * k as f64 / 1000.0;
                for v in [exact, exact.next_up(), exact.next_down()] {
                    if v.fract() == 0.0 {
                        continue;
                    }
                    let mut out = Vec::new();
                    if write_thousandths(&mut out, v) {
                        fast += 1;
                        assert_eq!(String::from_utf8(out).unwrap(), searched(v), "{v:?}");
                    }
                }
            }
        }
        assert!(fast > 300_000, "the fast path was taken {fast} times");
        let mut out = Vec::new();
        for v in [1e6 + 0.5, 0.0005, 0.1 + 0.2, 1.0 / 3.0] {
            assert!(!write_thousandths(&mut out, v), "{v:?}");
        }
        assert!(out.is_empty());
    }

    #[test]
    fn openmetrics_marks_integral_floats() {
        assert_eq!(float(1.0, true), "1.0");
        assert_eq!(float(0.0, true), "0.0");
        assert_eq!(float(42.0, true), "42.0");
        assert_eq!(float(1e6, true), "1e+06");
        assert_eq!(float(0.25, true), "0.25");
        assert_eq!(float(f64::INFINITY, true), "+Inf");
    }

    fn sample_set() -> MetricSet {
        let mut set = MetricSet::new();
        set.family(
            "requests_total",
            "Requests \\ served.\nAll \"kinds\".",
            MetricType::Counter,
        )
        .sample(&[("path", "/a\"b\\c\nd")], 7.0);
        set.family("latency_seconds", "Latency.", MetricType::Histogram)
            .histogram(&[("op", "get")], vec![(0.1, 1), (1.0, 3)], 1.5, 4);
        set.family("rpc_seconds", "RPC.", MetricType::Summary)
            .summary(&[], vec![(0.5, 0.2), (1.0, 0.9)], 3.0, 1_000_000);
        set.single("temperature", "", MetricType::Untyped, -3.5);
        set.finish();
        set
    }

    #[test]
    fn text_format_matches_client_golang() {
        let mut out = Vec::new();
        encode(&sample_set(), Format::Text, &mut out);
        let expected = r#"# HELP latency_seconds Latency.
# TYPE latency_seconds histogram
latency_seconds_bucket{op="get",le="0.1"} 1
latency_seconds_bucket{op="get",le="1"} 3
latency_seconds_bucket{op="get",le="+Inf"} 4
latency_seconds_sum{op="get"} 1.5
latency_seconds_count{op="get"} 4
# HELP requests_total Requests \\ served.\nAll "kinds".
# TYPE requests_total counter
requests_total{path="/a\"b\\c\nd"} 7
# HELP rpc_seconds RPC.
# TYPE rpc_seconds summary
rpc_seconds{quantile="0.5"} 0.2
rpc_seconds{quantile="1"} 0.9
rpc_seconds_sum 3
rpc_seconds_count 1e+06
# HELP temperature 
# TYPE temperature untyped
temperature -3.5
"#;
        assert_eq!(String::from_utf8(out).unwrap(), expected);
    }

    #[test]
    fn openmetrics_format_matches_client_golang() {
        let mut out = Vec::new();
        encode(&sample_set(), Format::OpenMetrics1, &mut out);
        let expected = r#"# HELP latency_seconds Latency.
# TYPE latency_seconds histogram
latency_seconds_bucket{op="get",le="0.1"} 1
latency_seconds_bucket{op="get",le="1.0"} 3
latency_seconds_bucket{op="get",le="+Inf"} 4
latency_seconds_sum{op="get"} 1.5
latency_seconds_count{op="get"} 4
# HELP requests Requests \\ served.\nAll \"kinds\".
# TYPE requests counter
requests_total{path="/a\"b\\c\nd"} 7.0
# HELP rpc_seconds RPC.
# TYPE rpc_seconds summary
rpc_seconds{quantile="0.5"} 0.2
rpc_seconds{quantile="1.0"} 0.9
rpc_seconds_sum 3.0
rpc_seconds_count 1000000
# HELP temperature 
# TYPE temperature unknown
temperature -3.5
# EOF
"#;
        assert_eq!(String::from_utf8(out).unwrap(), expected);
    }
}
