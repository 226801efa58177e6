//! `node_uname_info`: the uname(2) fields as labels.

use exporter_kit::exposition::{MetricSet, MetricType};

use crate::collector::{CollectError, Collector, Registration};

pub const REGISTRATION: Registration = Registration {
    name: "uname",
    enabled_by_default: true,
    build: |_| Ok(Box::new(Uname)),
};

struct Uname;

impl Collector for Uname {
    fn update(&self, out: &mut MetricSet) -> Result<(), CollectError> {
        let uts =
            nix::sys::utsname::uname().map_err(|e| CollectError::io("uname".as_ref(), e.into()))?;
        let text = |value: &std::ffi::OsStr| value.to_string_lossy().into_owned();
        let (sysname, release, version) = (
            text(uts.sysname()),
            text(uts.release()),
            text(uts.version()),
        );
        let (machine, nodename, domainname) = (
            text(uts.machine()),
            text(uts.nodename()),
            text(uts.domainname()),
        );
        out.family(
            "node_uname_info",
            "Labeled system information as provided by the uname system call.",
            MetricType::Gauge,
        )
        .sample(
            &[
                ("sysname", &sysname),
                ("release", &release),
                ("version", &version),
                ("machine", &machine),
                ("nodename", &nodename),
                ("domainname", &domainname),
            ],
            1.0,
        );
        Ok(())
    }
}
