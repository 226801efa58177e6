//! `node_netstat_<Protocol>_<Field>` (untyped) from /proc/net/netstat,
//! /proc/net/snmp and /proc/net/snmp6, filtered by `--collector.netstat.fields`.

use std::path::{Path, PathBuf};

use crate::device_filter::FieldFilter;
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
}

/// Calls `each(protocol, field, value)` for header/value line pairs:
/// `TcpExt: A B` then `TcpExt: 1 2`.
fn parse_pairs<'a>(
    text: &'a str,
    path: &Path,
    mut each: impl FnMut(&'a str, &'a str, &'a str) -> Result<(), CollectError>,
) -> Result<(), CollectError> {
    let mut lines = text.lines();
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
        let Some((protocol, names)) = names.split_once(' ') else {
            continue;
        };
        let protocol = protocol.strip_suffix(':').unwrap_or(protocol);
        let values = values.split_once(' ').map_or("", |(_, values)| values);
        for (name, value) in names.split(' ').zip(values.split(' ')) {
            each(protocol, name, value)?;
        }
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
        // Hundreds of fields, a few dozen exported: the key is built in one
        // reused buffer and compared with last scrape's at its position.
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
                    false => Err(invalid_value(&self.netstat, value)),
                };
            };
            let value: f64 = value
                .parse()
                .map_err(|_| invalid_value(&self.netstat, value))?;
            out.single(selected.metric, selected.help, MetricType::Untyped, value);
            Ok(())
        };
        parse_pairs(&netstat, &self.netstat, &mut emit)?;
        parse_pairs(&snmp, &self.snmp, &mut emit)?;
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

    fn collect_pairs(text: &str) -> Result<Vec<String>, CollectError> {
        let mut seen = Vec::new();
        parse_pairs(text, Path::new("x"), |p, n, v| {
            seen.push(format!("{p}_{n}={v}"));
            Ok(())
        })?;
        Ok(seen)
    }

    #[test]
    fn header_value_pairs_and_snmp6() {
        let seen =
            collect_pairs("Tcp: RtoMin MaxConn\nTcp: 200 -1\nIp: Forwarding\nIp: 1\n").unwrap();
        assert_eq!(
            seen,
            ["Tcp_RtoMin=200", "Tcp_MaxConn=-1", "Ip_Forwarding=1"]
        );
        assert!(collect_pairs("Tcp: A B\nTcp: 1\n").is_err());
        assert!(collect_pairs("Tcp: A\n").is_err());
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
