//! `node_netstat_<Protocol>_<Field>` (untyped) from /proc/net/netstat,
//! /proc/net/snmp and /proc/net/snmp6, filtered by `--collector.netstat.fields`.

use std::collections::BTreeMap;
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

/// Protocol to field to value text.
type Stats = BTreeMap<String, BTreeMap<String, String>>;

/// Header/value line pairs: `TcpExt: A B` then `TcpExt: 1 2`.
fn parse_pairs(text: &str, path: &Path) -> Result<Stats, CollectError> {
    let mut stats = Stats::new();
    let mut lines = text.lines();
    while let Some(names) = lines.next() {
        let values = lines.next().unwrap_or("");
        let names: Vec<&str> = names.split(' ').collect();
        let values: Vec<&str> = values.split(' ').collect();
        let protocol = names[0].strip_suffix(':').unwrap_or(names[0]).to_owned();
        if names.len() != values.len() {
            return Err(CollectError::parse(
                path,
                format!(
                    "mismatch field count mismatch in {}: {protocol}",
                    path.display()
                ),
            ));
        }
        let fields = names[1..]
            .iter()
            .zip(&values[1..])
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect();
        stats.insert(protocol, fields);
    }
    Ok(stats)
}

/// `Ip6InOctets 123` lines: the protocol ends at the first `6`.
fn parse_snmp6(text: &str) -> Stats {
    let mut stats = Stats::new();
    for line in text.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.len() < 2 {
            continue;
        }
        let Some(index) = fields[0].find('6') else {
            continue;
        };
        let (protocol, name) = fields[0].split_at(index + 1);
        stats
            .entry(protocol.to_owned())
            .or_default()
            .insert(name.to_owned(), fields[1].to_owned());
    }
    stats
}

impl Collector for NetStat {
    fn update(&self, out: &mut MetricSet) -> Result<(), CollectError> {
        let mut stats = parse_pairs(&read(&self.netstat)?, &self.netstat)?;
        stats.extend(parse_pairs(&read(&self.snmp)?, &self.snmp)?);
        match crate::collector::read_text(&self.snmp6) {
            Ok(text) => stats.extend(parse_snmp6(&text)),
            // IPv6 disabled.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(CollectError::io(&self.snmp6, e)),
        }
        for (protocol, fields) in &stats {
            for (name, value) in fields {
                let value: f64 = value.parse().map_err(|_| {
                    CollectError::parse(&self.netstat, format!("invalid value {value} in netstats"))
                })?;
                let key = format!("{protocol}_{name}");
                if self.fields.is_match(&key) {
                    let help = format!("Statistic {protocol}{name}.");
                    out.single(
                        format!("node_netstat_{key}"),
                        help,
                        MetricType::Untyped,
                        value,
                    );
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_value_pairs_and_snmp6() {
        let stats = parse_pairs(
            "Tcp: RtoMin MaxConn\nTcp: 200 -1\nIp: Forwarding\nIp: 1\n",
            Path::new("x"),
        )
        .unwrap();
        assert_eq!(stats["Tcp"]["MaxConn"], "-1");
        assert_eq!(stats["Ip"]["Forwarding"], "1");
        assert!(parse_pairs("Tcp: A B\nTcp: 1\n", Path::new("x")).is_err());
        let six = parse_snmp6("Ip6InOctets   42\nUdpLite6InErrors 1\nnothing\n");
        assert_eq!(six["Ip6"]["InOctets"], "42");
        assert_eq!(six["UdpLite6"]["InErrors"], "1");
    }
}
