//! A strict reader of the Prometheus text format 0.0.4.
//!
//! It accepts what client_golang's `expfmt.TextParser` accepts, with one
//! deliberate refusal: sample timestamps, which exporters must not expose.

use std::borrow::Cow;
use std::collections::HashMap;

use super::model::{
    Family, Label, Labels, MetricSet, MetricType, Sample, Value, is_valid_metric_name,
};

/// Where and why the input is not valid exposition text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {problem}")]
pub struct ParseError {
    pub line: usize,
    pub problem: Problem,
}

/// What is wrong with a line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    #[error("invalid metric name {0:?}")]
    InvalidMetricName(String),
    #[error("invalid label name {0:?}")]
    InvalidLabelName(String),
    #[error("label {0:?} appears twice")]
    DuplicateLabel(String),
    #[error("malformed label set")]
    MalformedLabels,
    #[error("invalid escape sequence")]
    InvalidEscape,
    #[error("invalid value {0:?}")]
    InvalidValue(String),
    #[error("invalid count {0:?}: counts are non-negative integers")]
    InvalidCount(String),
    #[error("sample timestamps are not supported")]
    Timestamp,
    #[error("unexpected text after the value")]
    TrailingText,
    #[error("unknown metric type {0:?}")]
    UnknownType(String),
    #[error("second {0} line for metric {1}")]
    Repeated(&'static str, String),
    #[error("TYPE line for metric {0} after its samples")]
    TypeAfterSamples(String),
    #[error("sample {0} of a histogram must be its _bucket, _sum or _count")]
    BareHistogramSample(String),
    #[error("{0} sample without a {1:?} label")]
    MissingLabel(&'static str, &'static str),
}

/// Parses exposition text into families in order of first appearance.
/// Families without a HELP line get an empty help text.
pub fn parse(text: &str) -> Result<MetricSet, ParseError> {
    let mut set = MetricSet::new();
    for (family, _) in parse_families(text)? {
        let target = set.family(family.name, family.help, family.kind);
        target.samples = family.samples;
    }
    Ok(set)
}

/// Like [`parse`], and says for each family whether it had a HELP line (the
/// textfile collector fills in a help text for those that did not).
pub fn parse_families(text: &str) -> Result<Vec<(Family, bool)>, ParseError> {
    let mut parser = Parser::default();
    for (index, line) in text.split('\n').enumerate() {
        parser.line(line).map_err(|problem| ParseError {
            line: index + 1,
            problem,
        })?;
    }
    Ok(parser.finish())
}

#[derive(Default)]
struct Parser {
    families: Vec<FamilyBuilder>,
    by_name: HashMap<String, usize>,
}

struct FamilyBuilder {
    family: Family,
    help_seen: bool,
    type_seen: bool,
    /// Index of the sample with a given label set, for histogram and summary
    /// parts that arrive on separate lines.
    by_labels: HashMap<Labels, usize>,
}

impl Parser {
    fn line(&mut self, line: &str) -> Result<(), Problem> {
        let trimmed = line.trim_start_matches([' ', '\t']);
        if trimmed.trim_end_matches([' ', '\t']).is_empty() {
            return Ok(());
        }
        match trimmed.strip_prefix('#') {
            Some(comment) => self.comment(comment),
            None => self.sample(trimmed),
        }
    }

    fn comment(&mut self, comment: &str) -> Result<(), Problem> {
        let comment = comment.trim_start_matches([' ', '\t']);
        let (keyword, rest) = split_word(comment);
        if keyword != "HELP" && keyword != "TYPE" {
            return Ok(());
        }
        let (name, rest) = split_word(rest.trim_start_matches([' ', '\t']));
        if !is_valid_metric_name(name) {
            return Err(Problem::InvalidMetricName(name.to_owned()));
        }
        let index = self.family_index(name);
        let builder = &mut self.families[index];
        // One separator after the name; the rest of the line is the text.
        let text = rest.strip_prefix([' ', '\t']).unwrap_or(rest);
        if keyword == "HELP" {
            if builder.help_seen {
                return Err(Problem::Repeated("HELP", name.to_owned()));
            }
            builder.help_seen = true;
            builder.family.help = Cow::Owned(unescape_help(text)?);
        } else {
            if builder.type_seen {
                return Err(Problem::Repeated("TYPE", name.to_owned()));
            }
            if !builder.family.samples.is_empty() {
                return Err(Problem::TypeAfterSamples(name.to_owned()));
            }
            builder.type_seen = true;
            builder.family.kind = match text.trim_end_matches([' ', '\t']) {
                "counter" => MetricType::Counter,
                "gauge" => MetricType::Gauge,
                "histogram" => MetricType::Histogram,
                "summary" => MetricType::Summary,
                "untyped" => MetricType::Untyped,
                other => return Err(Problem::UnknownType(other.to_owned())),
            };
        }
        Ok(())
    }

    fn family_index(&mut self, name: &str) -> usize {
        if let Some(&index) = self.by_name.get(name) {
            return index;
        }
        self.families.push(FamilyBuilder {
            family: Family {
                name: Cow::Owned(name.to_owned()),
                help: Cow::Borrowed(""),
                kind: MetricType::Untyped,
                samples: Vec::new(),
            },
            help_seen: false,
            type_seen: false,
            by_labels: HashMap::new(),
        });
        self.by_name
            .insert(name.to_owned(), self.families.len() - 1);
        self.families.len() - 1
    }

    fn sample(&mut self, line: &str) -> Result<(), Problem> {
        let name_end = line
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
            .unwrap_or(line.len());
        let name = &line[..name_end];
        if !is_valid_metric_name(name) {
            return Err(Problem::InvalidMetricName(name.to_owned()));
        }
        let mut rest = line[name_end..].trim_start_matches([' ', '\t']);
        let mut labels = Labels::new();
        if let Some(after_brace) = rest.strip_prefix('{') {
            rest = parse_labels(after_brace, &mut labels)?;
        }
        let rest = rest.trim_start_matches([' ', '\t']);
        let (value_text, after_value) = split_word(rest);
        let value = parse_float(value_text)?;
        let after_value = after_value.trim_matches([' ', '\t']);
        if !after_value.is_empty() {
            return Err(if after_value.parse::<i64>().is_ok() {
                Problem::Timestamp
            } else {
                Problem::TrailingText
            });
        }
        labels.sort_by(|a, b| a.name.cmp(&b.name));
        self.add_sample(name, labels, value_text, value)
    }

    /// Routes a sample line to its family, the way Go's parser does: the
    /// `_bucket`, `_sum` and `_count` lines of a declared histogram or summary
    /// belong to it; anything else is its own family.
    fn add_sample(
        &mut self,
        name: &str,
        mut labels: Labels,
        value_text: &str,
        value: f64,
    ) -> Result<(), Problem> {
        let part_of = |suffix: &str, kinds: &[MetricType]| {
            name.strip_suffix(suffix).and_then(|base| {
                let index = *self.by_name.get(base)?;
                kinds
                    .contains(&self.families[index].family.kind)
                    .then_some(index)
            })
        };
        let both = [MetricType::Histogram, MetricType::Summary];
        let (index, part) = if let Some(index) = part_of("_bucket", &[MetricType::Histogram]) {
            (index, Part::Bucket)
        } else if let Some(index) = part_of("_sum", &both) {
            (index, Part::Sum)
        } else if let Some(index) = part_of("_count", &both) {
            (index, Part::Count)
        } else {
            let index = self.family_index(name);
            let part = match self.families[index].family.kind {
                MetricType::Summary => Part::Quantile,
                MetricType::Histogram => return Err(Problem::BareHistogramSample(name.to_owned())),
                _ => Part::Single,
            };
            (index, part)
        };
        let builder = &mut self.families[index];

        if part == Part::Single {
            builder.family.samples.push(Sample {
                labels,
                value: Value::Single(value),
            });
            return Ok(());
        }
        let bound = match part {
            Part::Bucket => Some(take_label(&mut labels, "le", "bucket")?),
            Part::Quantile => Some(take_label(&mut labels, "quantile", "quantile")?),
            _ => None,
        };
        let kind = builder.family.kind;
        let slot = match builder.by_labels.get(&labels) {
            Some(&slot) => slot,
            None => {
                let empty = if kind == MetricType::Histogram {
                    Value::Histogram {
                        buckets: Vec::new(),
                        sum: 0.0,
                        count: 0,
                    }
                } else {
                    Value::Summary {
                        quantiles: Vec::new(),
                        sum: 0.0,
                        count: 0,
                    }
                };
                builder.family.samples.push(Sample {
                    labels: labels.clone(),
                    value: empty,
                });
                builder
                    .by_labels
                    .insert(labels, builder.family.samples.len() - 1);
                builder.family.samples.len() - 1
            }
        };
        match (&mut builder.family.samples[slot].value, part) {
            (Value::Histogram { buckets, .. }, Part::Bucket) => {
                buckets.push((bound.unwrap_or_default(), parse_count(value_text, value)?))
            }
            (Value::Summary { quantiles, .. }, Part::Quantile) => {
                quantiles.push((bound.unwrap_or_default(), value))
            }
            (Value::Histogram { sum, .. } | Value::Summary { sum, .. }, Part::Sum) => *sum = value,
            (Value::Histogram { count, .. } | Value::Summary { count, .. }, Part::Count) => {
                *count = parse_count(value_text, value)?
            }
            _ => unreachable!("parts are matched to their family kind above"),
        }
        Ok(())
    }

    fn finish(self) -> Vec<(Family, bool)> {
        let mut families = Vec::with_capacity(self.families.len());
        for builder in self.families {
            let mut family = builder.family;
            // The +Inf bucket is implied by the count; keep it only if it
            // disagrees, so a round trip reproduces what was written.
            for sample in &mut family.samples {
                if let Value::Histogram { buckets, count, .. } = &mut sample.value
                    && buckets
                        .last()
                        .is_some_and(|&(le, c)| le == f64::INFINITY && c == *count)
                {
                    buckets.pop();
                }
            }
            families.push((family, builder.help_seen));
        }
        families
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    Single,
    Bucket,
    Quantile,
    Sum,
    Count,
}

fn take_label(labels: &mut Labels, name: &'static str, part: &'static str) -> Result<f64, Problem> {
    let position = labels
        .iter()
        .position(|label| label.name == name)
        .ok_or(Problem::MissingLabel(part, name))?;
    let label = labels.remove(position);
    parse_float(&label.value)
}

fn split_word(text: &str) -> (&str, &str) {
    let end = text.find([' ', '\t']).unwrap_or(text.len());
    text.split_at(end)
}

/// Parses `name="value",...}` and returns what follows the closing brace.
fn parse_labels<'a>(mut text: &'a str, labels: &mut Labels) -> Result<&'a str, Problem> {
    loop {
        text = text.trim_start_matches([' ', '\t']);
        if let Some(rest) = text.strip_prefix('}') {
            return Ok(rest);
        }
        let name_end = text
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .ok_or(Problem::MalformedLabels)?;
        let name = &text[..name_end];
        if !super::model::is_valid_label_name(name) && name != "__name__" {
            return Err(Problem::InvalidLabelName(name.to_owned()));
        }
        text = text[name_end..].trim_start_matches([' ', '\t']);
        text = text.strip_prefix('=').ok_or(Problem::MalformedLabels)?;
        text = text.trim_start_matches([' ', '\t']);
        text = text.strip_prefix('"').ok_or(Problem::MalformedLabels)?;
        let (value, rest) = read_quoted(text)?;
        if labels.iter().any(|label| label.name == name) {
            return Err(Problem::DuplicateLabel(name.to_owned()));
        }
        labels.push(Label {
            name: Cow::Owned(name.to_owned()),
            value: value.into(),
        });
        text = rest.trim_start_matches([' ', '\t']);
        if let Some(rest) = text.strip_prefix(',') {
            text = rest;
        } else if !text.starts_with('}') {
            return Err(Problem::MalformedLabels);
        }
    }
}

/// Reads an escaped label value up to its closing quote.
fn read_quoted(text: &str) -> Result<(String, &str), Problem> {
    let mut value = String::new();
    let mut chars = text.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Ok((value, &text[i + 1..])),
            '\\' => match chars.next() {
                Some((_, '\\')) => value.push('\\'),
                Some((_, '"')) => value.push('"'),
                Some((_, 'n')) => value.push('\n'),
                _ => return Err(Problem::InvalidEscape),
            },
            '\n' => return Err(Problem::MalformedLabels),
            other => value.push(other),
        }
    }
    Err(Problem::MalformedLabels)
}

/// Unescapes HELP text: `\\` and `\n`.
fn unescape_help(text: &str) -> Result<String, Problem> {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('\\') => out.push('\\'),
            Some('n') => out.push('\n'),
            _ => return Err(Problem::InvalidEscape),
        }
    }
    Ok(out)
}

fn parse_float(text: &str) -> Result<f64, Problem> {
    match text {
        "+Inf" | "Inf" => Ok(f64::INFINITY),
        "-Inf" => Ok(f64::NEG_INFINITY),
        "NaN" => Ok(f64::NAN),
        _ if text
            .bytes()
            .all(|b| b.is_ascii_digit() || b"+-.eE".contains(&b))
            && !text.is_empty() =>
        {
            text.parse()
                .map_err(|_| Problem::InvalidValue(text.to_owned()))
        }
        _ => Err(Problem::InvalidValue(text.to_owned())),
    }
}

fn parse_count(text: &str, value: f64) -> Result<u64, Problem> {
    if value >= 0.0 && value.fract() == 0.0 && value <= u64::MAX as f64 {
        Ok(value as u64)
    } else {
        Err(Problem::InvalidCount(text.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exposition::{Format, encode};

    #[test]
    fn reads_families_samples_and_escapes() {
        let text = "# HELP a_total A \\\\ help\\nsecond.\n# TYPE a_total counter\n\
            a_total{x=\"1\\\"\\n\\\\\",y=\"\"} 3\n# a comment\n\nb 1.5e+06\n";
        let set = parse(text).unwrap();
        let families = set.families();
        assert_eq!(families.len(), 2);
        assert_eq!(families[0].help, "A \\ help\nsecond.");
        assert_eq!(families[0].kind, MetricType::Counter);
        assert_eq!(families[0].samples[0].labels[0].value, "1\"\n\\");
        assert_eq!(families[1].kind, MetricType::Untyped);
        assert_eq!(families[1].samples[0].value, Value::Single(1.5e6));
    }

    #[test]
    fn reads_histograms_and_summaries() {
        let text = "# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 3\n\
            h_sum 4.5\nh_count 3\n# TYPE s summary\ns{quantile=\"0.5\"} 1\ns_sum 2\ns_count 7\n";
        let set = parse(text).unwrap();
        assert_eq!(
            set.families()[0].samples[0].value,
            Value::Histogram {
                buckets: vec![(1.0, 2)],
                sum: 4.5,
                count: 3
            }
        );
        assert_eq!(
            set.families()[1].samples[0].value,
            Value::Summary {
                quantiles: vec![(0.5, 1.0)],
                sum: 2.0,
                count: 7
            }
        );
    }

    #[test]
    fn refuses_malformed_input_with_the_line() {
        let cases: &[(&str, Problem)] = &[
            ("1abc 1", Problem::InvalidMetricName("1abc".into())),
            ("a{b=\"1\" 1", Problem::MalformedLabels),
            ("a{b=\"1\",b=\"2\"} 1", Problem::DuplicateLabel("b".into())),
            ("a{b=\"\\x\"} 1", Problem::InvalidEscape),
            ("a one", Problem::InvalidValue("one".into())),
            ("a 1 1700000000000", Problem::Timestamp),
            ("a 1 x", Problem::TrailingText),
            (
                "# TYPE a gauge\n# TYPE a gauge",
                Problem::Repeated("TYPE", "a".into()),
            ),
            ("a 1\n# TYPE a gauge", Problem::TypeAfterSamples("a".into())),
            ("# TYPE a bogus", Problem::UnknownType("bogus".into())),
            (
                "# TYPE h histogram\nh_bucket 1",
                Problem::MissingLabel("bucket", "le"),
            ),
            (
                "# TYPE h histogram\nh_count 1.5",
                Problem::InvalidCount("1.5".into()),
            ),
        ];
        for (text, problem) in cases {
            let err = parse(text).unwrap_err();
            assert_eq!(&err.problem, problem, "{text:?}");
        }
        assert_eq!(parse("ok 1\nbad{").unwrap_err().line, 2);
    }

    #[test]
    fn round_trips_what_the_writer_writes() {
        let mut set = MetricSet::new();
        set.family("x_total", "X.", MetricType::Counter)
            .sample(&[("a", "\"q\"\n\\")], f64::NAN);
        set.family("h_seconds", "H.", MetricType::Histogram)
            .histogram(&[], vec![(0.5, 1), (f64::INFINITY, 9)], 2.0, 3);
        set.finish();
        let mut out = Vec::new();
        encode(&set, Format::Text, &mut out);
        let parsed = parse(std::str::from_utf8(&out).unwrap()).unwrap();
        assert_eq!(parsed, set);
    }
}
