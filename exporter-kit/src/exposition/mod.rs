//! The Prometheus data model as exporters build it, and its two wire formats.
//!
//! Collectors fill a [`MetricSet`]; [`MetricSet::finish`] puts it in the order
//! client_golang's registry produces (families by name, samples by label values,
//! label pairs by name) so our output can be compared byte for byte with the Go
//! exporters; [`encode`] writes it as Prometheus text 0.0.4 or OpenMetrics 1.0.0.
//! [`parse`] reads the text format back (the textfile collector and the tests use it);
//! [`intern`] keeps names built at run time once for the process.

mod encode;
mod intern;
mod model;
mod negotiate;
mod parse;

pub use encode::{encode, encode_families, write_escaped_label_value, write_float};
pub use intern::{Fnv, FnvBuildHasher, intern, intern_fmt};
pub use model::{
    CompactString, Dropped, Family, Label, Labels, MetricSet, MetricType, Sample, Value,
    is_valid_label_name, is_valid_metric_name,
};
pub use negotiate::{Format, accepts_gzip};
pub use parse::{ParseError, Problem, parse, parse_families};
