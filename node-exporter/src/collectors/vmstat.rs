//! `node_vmstat_*` (untyped) for the /proc/vmstat fields matching
//! `--collector.vmstat.fields`.

use std::path::PathBuf;

use crate::device_filter::FieldFilter;
use exporter_kit::exposition::{MetricSet, MetricType};

use crate::collector::{CollectError, Collector, Registration, read};

pub const REGISTRATION: Registration = Registration {
    name: "vmstat",
    enabled_by_default: true,
    build: |context| {
        let fields = FieldFilter::new(&context.flags.vmstat.fields, "--collector.vmstat.fields")?;
        Ok(Box::new(VmStat {
            path: context.paths.proc("vmstat"),
            fields,
        }))
    },
};

#[derive(Debug, Clone, clap::Args)]
#[group(skip)]
pub struct Flags {
    /// Regexp of fields to return for vmstat collector.
    #[arg(
        id = "collector.vmstat.fields",
        long = "collector.vmstat.fields",
        value_name = "REGEX",
        default_value = "^(oom_kill|pgpg|pswp|pg.*fault).*"
    )]
    pub fields: String,
}

struct VmStat {
    path: PathBuf,
    fields: FieldFilter,
}

impl Collector for VmStat {
    fn update(&self, out: &mut MetricSet) -> Result<(), CollectError> {
        let text = read(&self.path)?;
        let mut fields = self.fields.scan();
        for line in text.lines() {
            let mut parts = line.split_ascii_whitespace();
            let (Some(name), Some(value)) = (parts.next(), parts.next()) else {
                return Err(CollectError::parse(
                    &self.path,
                    format!("invalid line {line:?}"),
                ));
            };
            // Every value must parse, matched or not, as node_exporter checks.
            let value: f64 = value.parse().map_err(|_| {
                CollectError::parse(&self.path, format!("invalid value in {line:?}"))
            })?;
            let selected = fields.select(name, || {
                (
                    format!("node_vmstat_{name}"),
                    format!("/proc/vmstat information field {name}."),
                )
            });
            if let Some(selected) = selected {
                out.single(selected.metric, selected.help, MetricType::Untyped, value);
            }
        }
        Ok(())
    }
}
