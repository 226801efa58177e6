//! Socket counts per protocol from /proc/net/sockstat and /proc/net/sockstat6.

use std::path::{Path, PathBuf};

use exporter_kit::exposition::{MetricSet, MetricType, intern_fmt};

use crate::collector::{CollectError, Collector, Registration};
use crate::procfs::parse_int_any_base;

pub const REGISTRATION: Registration = Registration {
    name: "sockstat",
    enabled_by_default: true,
    build: |context| {
        Ok(Box::new(SockStat {
            v4: context.paths.proc("net/sockstat"),
            v6: context.paths.proc("net/sockstat6"),
            page_size: nix::unistd::sysconf(nix::unistd::SysconfVar::PAGE_SIZE)
                .ok()
                .flatten()
                .unwrap_or(4096) as i64,
        }))
    },
};

struct SockStat {
    v4: PathBuf,
    v6: PathBuf,
    page_size: i64,
}

/// Keys exported per protocol, in this order; `mem_bytes` follows `mem`.
const KEYS: [&str; 6] = ["inuse", "orphan", "tw", "alloc", "mem", "memory"];

struct Protocol {
    name: String,
    values: Vec<(String, i64)>,
}

fn parse(text: &str, path: &Path) -> Result<(Option<i64>, Vec<Protocol>), CollectError> {
    let mut used = None;
    let mut protocols = Vec::new();
    for line in text.lines() {
        let fields: Vec<&str> = line.split(' ').collect();
        if fields.len() < 3 {
            return Err(CollectError::parse(path, "Malformed sockstat line"));
        }
        if (fields.len() - 1) % 2 != 0 {
            return Err(CollectError::parse(
                path,
                format!("odd number of fields in {line:?}"),
            ));
        }
        let mut values = Vec::new();
        for pair in fields[1..].chunks(2) {
            let value = parse_int_any_base(pair[1])
                .ok_or_else(|| CollectError::parse(path, format!("invalid value in {line:?}")))?;
            values.push((pair[0].to_owned(), value));
        }
        let name = fields[0].strip_suffix(':').unwrap_or(fields[0]).to_owned();
        if name == "sockets" {
            used = Some(
                values
                    .iter()
                    .find(|(k, _)| k == "used")
                    .map_or(0, |(_, v)| *v),
            );
        } else {
            protocols.push(Protocol { name, values });
        }
    }
    Ok((used, protocols))
}

impl Collector for SockStat {
    fn update(&self, out: &mut MetricSet) -> Result<(), CollectError> {
        for (path, ipv4) in [(&self.v4, true), (&self.v6, false)] {
            let text = match crate::collector::read_text(path) {
                Ok(text) => text,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(CollectError::io(path, e)),
            };
            let (used, protocols) = parse(&text, path)?;
            if let (true, Some(used)) = (ipv4, used) {
                out.single(
                    "node_sockstat_sockets_used",
                    "Number of IPv4 sockets in use.",
                    MetricType::Gauge,
                    used as f64,
                );
            }
            for protocol in protocols {
                let get = |key: &str| {
                    protocol
                        .values
                        .iter()
                        .find(|(k, _)| k == key)
                        .map(|(_, v)| *v)
                };
                for key in KEYS {
                    let value = match (key, get(key)) {
                        ("inuse", value) => value.unwrap_or(0),
                        (_, Some(value)) => value,
                        (_, None) => continue,
                    };
                    emit(out, &protocol.name, key, value);
                    if key == "mem" {
                        emit(out, &protocol.name, "mem_bytes", value * self.page_size);
                    }
                }
            }
        }
        Ok(())
    }
}

fn emit(out: &mut MetricSet, protocol: &str, key: &str, value: i64) {
    out.single(
        intern_fmt(format_args!("node_sockstat_{protocol}_{key}")),
        intern_fmt(format_args!("Number of {protocol} sockets in state {key}.")),
        MetricType::Gauge,
        value as f64,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sockstat_lines() {
        let text = "sockets: used 229\nTCP: inuse 4 orphan 0 tw 4 alloc 17 mem 1\nFRAG: inuse 0 memory 0\n";
        let (used, protocols) = parse(text, Path::new("x")).unwrap();
        assert_eq!(used, Some(229));
        assert_eq!(protocols[0].name, "TCP");
        assert_eq!(protocols[0].values[4], ("mem".to_owned(), 1));
        assert!(parse("TCP: inuse\n", Path::new("x")).is_err());
        assert!(parse("TCP: inuse 4 tw\n", Path::new("x")).is_err());
        assert!(parse("TCP: inuse x\n", Path::new("x")).is_err());
    }
}
