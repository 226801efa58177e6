//! `node_netstat_<Protocol>_<Field>` (untyped) from /proc/net/netstat,
//! /proc/net/snmp and /proc/net/snmp6, filtered by `--collector.netstat.fields`.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::device_filter::{FieldFilter, Selected};
use exporter_kit::exposition::{MetricSet, MetricType};

use crate::collector::{CollectError, Collector, Registration, read};

pub const REGISTRATION: Registration = Registration {
    name: "netstat",
    enabled_by_default: true,
    build: |context| {
        let fields = FieldFilter::new(&context.flags.netstat.fields, "--collector.netstat.fields")?;
        Ok(Box::new(NetStat {
            netstat: context.paths.proc("net/netstat"),
            snmp: context.paths.proc("net/snmp"),
            snmp6: context.paths.proc("net/snmp6"),
            fields,
            headers: Mutex::new(Vec::new()),
        }))
    },
};

#[derive(Debug, Clone, clap::Args)]
#[group(skip)]
pub struct Flags {
    /// Regexp of fields to return for netstat collector.
    #[arg(
        id = "collector.netstat.fields",
        long = "collector.netstat.fields",
        value_name = "REGEX",
        default_value = "^(.*_(InErrors|InErrs)|Ip_Forwarding|Ip(6|Ext)_(InOctets|OutOctets)|Icmp6?_(InMsgs|OutMsgs)|TcpExt_(Listen.*|Syncookies.*|TCPSynRetrans|TCPTimeouts|TCPOFOQueue|TCPRcvQDrop)|Tcp_(ActiveOpens|InSegs|OutSegs|OutRsts|PassiveOpens|RetransSegs|CurrEstab)|Udp6?_(InDatagrams|OutDatagrams|NoPorts|RcvbufErrors|SndbufErrors))$"
    )]
    pub fields: String,
}

struct NetStat {
    netstat: PathBuf,
    snmp: PathBuf,
    snmp6: PathBuf,
    fields: FieldFilter,
    /// By header line, in file order (netstat's, then snmp's).
    headers: Mutex<Vec<Header>>,
}

/// One header line (`TcpExt: SyncookiesSent ...`) as last seen, and the
/// columns the filter selected in it. The header lines stay the same from
/// scrape to scrape, so a scrape compares each with last scrape's and then
/// only walks its value line, instead of naming and filtering ~300 fields.
struct Header {
    names: String,
    selected: Vec<(usize, Selected)>,
}

/// More header lines than this are not remembered (the kernel writes a
/// dozen), only decided each scrape.
const MAX_HEADERS: usize = 64;

/// The metrics of header/value line pairs (`TcpExt: A B` then
/// `TcpExt: 1 2`), the first remembered header being `headers[first]`;
/// returns the number of pairs.
fn pairs(
    text: &str,
    path: &Path,
    fields: &FieldFilter,
    headers: &mut Vec<Header>,
    first: usize,
    out: &mut MetricSet,
) -> Result<usize, CollectError> {
    let mut lines = text.lines();
    let mut ordinal = first;
    while let Some(names) = lines.next() {
        let values = lines.next().unwrap_or("");
        let spaces = |line: &str| line.bytes().filter(|&b| b == b' ').count();
        if spaces(names) != spaces(values) {
            let protocol = names.split(' ').next().unwrap_or("");
            let protocol = protocol.strip_suffix(':').unwrap_or(protocol);
            return Err(CollectError::parse(
                path,
                format!(
                    "mismatch field count mismatch in {}: {protocol}",
                    path.display()
                ),
            ));
        }
        let Some((_, values)) = values.split_once(' ') else {
            continue;
        };
        let known = headers.get(ordinal).filter(|header| header.names == names);
        let decided;
        let selected = match known {
            Some(header) => &header.selected,
            None => {
                decided = select(names, fields);
                if ordinal < headers.len() {
                    headers[ordinal] = decided;
                    &headers[ordinal].selected
                } else if ordinal == headers.len() && ordinal < MAX_HEADERS {
                    headers.push(decided);
                    &headers[ordinal].selected
                } else {
                    &decided.selected
                }
            }
        };
        emit_values(values, selected, path, out)?;
        ordinal += 1;
    }
    Ok(ordinal - first)
}

/// The columns of a header line the filter selects, with their names.
fn select(names: &str, fields: &FieldFilter) -> Header {
    let mut selected = Vec::new();
    if let Some((protocol, columns)) = names.split_once(' ') {
        let protocol = protocol.strip_suffix(':').unwrap_or(protocol);
        for (column, name) in columns.split(' ').enumerate() {
            let key = format!("{protocol}_{name}");
            let chosen = fields.decide(&key, || {
                (
                    format!("node_netstat_{key}"),
                    format!("Statistic {protocol}{name}."),
                )
            });
            if let Some(chosen) = chosen {
                selected.push((column, chosen));
            }
        }
    }
    Header {
        names: names.to_owned(),
        selected,
    }
}

/// Walks a value line: every value must parse, selected or not, as
/// upstream checks; the selected ones become metrics.
fn emit_values(
    values: &str,
    selected: &[(usize, Selected)],
    path: &Path,
    out: &mut MetricSet,
) -> Result<(), CollectError> {
    let mut wanted = selected.iter().peekable();
    // Scanned byte by byte (hundreds of short values): each value ends at a
    // space, or at the end of the line.
    let bytes = values.as_bytes();
    let (mut column, mut start, mut digits) = (0, 0, true);
    for end in 0..=bytes.len() {
        match bytes.get(end) {
            Some(b' ') | None => {}
            Some(byte) => {
                digits &= byte.is_ascii_digit();
                continue;
            }
        }
        let value = &values[start..end];
        match wanted.next_if(|(at, _)| *at == column) {
            Some((_, names)) => {
                let value: f64 = value.parse().map_err(|_| invalid_value(path, value))?;
                out.single(
                    names.metric.clone(),
                    names.help.clone(),
                    MetricType::Untyped,
                    value,
                );
            }
            None if (digits && !value.is_empty()) || value.parse::<f64>().is_ok() => {}
            None => return Err(invalid_value(path, value)),
        }
        (column, start, digits) = (column + 1, end + 1, true);
    }
    Ok(())
}

/// Calls `each(protocol, field, value)` for `Ip6InOctets 123` lines: the
/// protocol ends at the first `6`.
fn parse_snmp6<'a>(
    text: &'a str,
    mut each: impl FnMut(&'a str, &'a str, &'a str) -> Result<(), CollectError>,
) -> Result<(), CollectError> {
    for line in text.lines() {
        let mut fields = line.split_ascii_whitespace();
        let (Some(key), Some(value)) = (fields.next(), fields.next()) else {
            continue;
        };
        let Some(index) = key.find('6') else {
            continue;
        };
        let (protocol, name) = key.split_at(index + 1);
        each(protocol, name, value)?;
    }
    Ok(())
}

impl Collector for NetStat {
    fn update(&self, out: &mut MetricSet) -> Result<(), CollectError> {
        let netstat = read(&self.netstat)?;
        let snmp = read(&self.snmp)?;
        let snmp6 = match crate::collector::read_text(&self.snmp6) {
            Ok(text) => text,
            // IPv6 disabled.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(CollectError::io(&self.snmp6, e)),
        };
        let mut headers = self.headers.lock().unwrap_or_else(|p| p.into_inner());
        let seen = pairs(&netstat, &self.netstat, &self.fields, &mut headers, 0, out)?;
        pairs(&snmp, &self.snmp, &self.fields, &mut headers, seen, out)?;
        drop(headers);
        // snmp6 has a field per line: its key is built in one reused buffer
        // and compared with last scrape's at its position.
        let mut fields = self.fields.scan();
        let mut key = String::new();
        let mut emit = |protocol: &str, name: &str, value: &str| {
            key.clear();
            key.push_str(protocol);
            key.push('_');
            key.push_str(name);
            let selected = fields.select(&key, || {
                (
                    format!("node_netstat_{key}"),
                    format!("Statistic {protocol}{name}."),
                )
            });
            let Some(selected) = selected else {
                // Every value must parse, selected or not, as upstream.
                return match is_counter(value) || value.parse::<f64>().is_ok() {
                    true => Ok(()),
                    false => Err(invalid_value(&self.snmp6, value)),
                };
            };
            let value: f64 = value
                .parse()
                .map_err(|_| invalid_value(&self.snmp6, value))?;
            out.single(selected.metric, selected.help, MetricType::Untyped, value);
            Ok(())
        };
        parse_snmp6(&snmp6, &mut emit)
    }
}

/// The common case of a /proc counter: ASCII digits only, which always
/// parse as a float.
fn is_counter(value: &str) -> bool {
    !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit())
}

fn invalid_value(path: &Path, value: &str) -> CollectError {
    CollectError::parse(path, format!("invalid value {value} in netstats"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn netstat(pattern: &str, netstat: &str, snmp: &str) -> (tempfile::TempDir, NetStat) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("netstat"), netstat).unwrap();
        std::fs::write(dir.path().join("snmp"), snmp).unwrap();
        let collector = NetStat {
            netstat: dir.path().join("netstat"),
            snmp: dir.path().join("snmp"),
            snmp6: dir.path().join("snmp6"),
            fields: FieldFilter::new(pattern, "--x").unwrap(),
            headers: Mutex::new(Vec::new()),
        };
        (dir, collector)
    }

    fn samples(collector: &NetStat) -> Result<Vec<String>, CollectError> {
        let mut out = MetricSet::new();
        collector.update(&mut out)?;
        Ok(out
            .families()
            .iter()
            .map(|f| format!("{}={:?}", f.name, f.samples[0].value))
            .collect())
    }

    #[test]
    fn header_value_pairs_and_snmp6() {
        let (dir, collector) = netstat(
            ".*",
            "Tcp: RtoMin MaxConn\nTcp: 200 -1\n",
            "Ip: Forwarding\nIp: 1\n",
        );
        std::fs::write(dir.path().join("snmp6"), "Ip6InOctets   42\nnothing\n").unwrap();
        let expected = [
            "node_netstat_Tcp_RtoMin=Single(200.0)",
            "node_netstat_Tcp_MaxConn=Single(-1.0)",
            "node_netstat_Ip_Forwarding=Single(1.0)",
            "node_netstat_Ip6_InOctets=Single(42.0)",
        ];
        // Twice: the second scrape goes through the remembered headers.
        assert_eq!(samples(&collector).unwrap(), expected);
        assert_eq!(samples(&collector).unwrap(), expected);
        // A header that changed is read anew.
        std::fs::write(
            dir.path().join("netstat"),
            "Tcp: MaxConn RtoMin\nTcp: 5 7\n",
        )
        .unwrap();
        assert_eq!(
            samples(&collector).unwrap()[..2],
            [
                "node_netstat_Tcp_MaxConn=Single(5.0)",
                "node_netstat_Tcp_RtoMin=Single(7.0)"
            ]
        );
        let mut six = Vec::new();
        parse_snmp6(
            "Ip6InOctets   42\nUdpLite6InErrors 1\nnothing\n",
            |p, n, v| {
                six.push(format!("{p}/{n}={v}"));
                Ok(())
            },
        )
        .unwrap();
        assert_eq!(six, ["Ip6/InOctets=42", "UdpLite6/InErrors=1"]);
    }

    #[test]
    fn mismatched_lines_are_errors() {
        for text in ["Tcp: A B\nTcp: 1\n", "Tcp: A\n"] {
            let (_dir, collector) = netstat(".*", text, "");
            assert!(samples(&collector).is_err(), "{text:?}");
        }
    }

    #[test]
    fn an_unparsable_value_is_an_error_even_when_not_selected() {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in [
            ("netstat", "TcpExt: SyncookiesSent Odd\nTcpExt: 1 x\n"),
            ("snmp", "Ip: Forwarding\nIp: 1\n"),
        ] {
            std::fs::write(dir.path().join(name), text).unwrap();
        }
        let netstat = NetStat {
            netstat: dir.path().join("netstat"),
            snmp: dir.path().join("snmp"),
            snmp6: dir.path().join("snmp6"),
            fields: FieldFilter::new("^Ip_Forwarding$", "--x").unwrap(),
            headers: Mutex::new(Vec::new()),
        };
        let mut out = MetricSet::new();
        assert!(netstat.update(&mut out).is_err());
        std::fs::write(
            dir.path().join("netstat"),
            "TcpExt: SyncookiesSent\nTcpExt: 1\n",
        )
        .unwrap();
        let mut out = MetricSet::new();
        netstat.update(&mut out).unwrap();
        let names: Vec<_> = out.families().iter().map(|f| f.name.to_string()).collect();
        assert_eq!(names, ["node_netstat_Ip_Forwarding"]);
    }
}
