//! Measuring exporters side by side: CPU time and peak memory from /proc,
//! free ports, medians.

use std::net::TcpListener;
use std::time::{Duration, Instant};

use crate::http;
use crate::process::Running;

/// CPU time and memory of a process, from /proc.
pub struct Usage {
    pub cpu_seconds: f64,
    pub peak_rss_bytes: u64,
    /// The resident set now (`VmRSS`).
    pub rss_bytes: u64,
}

pub fn usage(pid: i32) -> Usage {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("process is alive");
    // Fields after the parenthesised command name; utime and stime are the
    // 14th and 15th fields of the whole line.
    let after_name = &stat[stat.rfind(')').expect("stat has a command name") + 2..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks: f64 = fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kib = |field: &str| -> u64 {
        status
            .lines()
            .find_map(|l| l.strip_prefix(field))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .unwrap_or(0)
    };
    Usage {
        cpu_seconds: ticks / USER_HZ,
        peak_rss_bytes: kib("VmHWM:") * 1024,
        rss_bytes: kib("VmRSS:") * 1024,
    }
}

/// Clock ticks per second in /proc: 100 on every Linux architecture.
const USER_HZ: f64 = 100.0;

/// `&str` views of owned arguments.
pub fn borrowed(args: &[String]) -> Vec<&str> {
    args.iter().map(String::as_str).collect()
}

/// A port nobody listens on yet.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// The middle value (sorts `values`).
pub fn median(values: &mut [Duration]) -> Duration {
    values.sort();
    values[values.len() / 2]
}

/// One exporter's figures from [`compare`].
pub struct Measured {
    pub name: &'static str,
    pub cpu_per_scrape: f64,
    pub median_latency: Duration,
    pub peak_rss_bytes: u64,
    pub samples: usize,
    pub bytes: usize,
}

/// How the benchmark's client connects for each scrape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Connections {
    /// A new TCP connection per scrape, closed after it.
    PerScrape,
    /// One connection per exporter for the whole run, as Prometheus keeps
    /// its connection to a target open between scrapes.
    KeptAlive,
}

/// Warms both exporters up with five scrapes, then scrapes `/metrics` on
/// each `scrapes` times, alternating who goes first so neither always
/// meets a warmer machine.
pub async fn compare(
    targets: [(&'static str, &Running); 2],
    scrapes: usize,
    connections: Connections,
) -> [Measured; 2] {
    let mut kept = Vec::new();
    for (_, running) in targets {
        let connection = match connections {
            Connections::KeptAlive => Some(
                http::Connection::open(running.addr())
                    .await
                    .expect("connect"),
            ),
            Connections::PerScrape => None,
        };
        kept.push(connection);
    }
    let mut scrape = async |index: usize| match &mut kept[index] {
        Some(connection) => connection.get("/metrics").await.expect("scrape"),
        None => http::get(targets[index].1.addr(), "/metrics")
            .await
            .expect("scrape"),
    };
    for index in [0, 1] {
        for _ in 0..5 {
            scrape(index).await;
        }
    }
    let before = targets.map(|(_, running)| usage(running.pid()).cpu_seconds);
    let mut latencies: [Vec<Duration>; 2] = [Vec::new(), Vec::new()];
    let mut last_body = [String::new(), String::new()];
    for round in 0..scrapes {
        let order: [usize; 2] = if round % 2 == 0 { [0, 1] } else { [1, 0] };
        for index in order {
            let started = Instant::now();
            let response = scrape(index).await;
            latencies[index].push(started.elapsed());
            if round + 1 == scrapes {
                last_body[index] = response.text();
            }
        }
    }
    [0, 1].map(|index| {
        let (name, running) = targets[index];
        let after = usage(running.pid());
        let body = &last_body[index];
        Measured {
            name,
            cpu_per_scrape: (after.cpu_seconds - before[index]) / scrapes as f64,
            median_latency: median(&mut latencies[index]),
            peak_rss_bytes: after.peak_rss_bytes,
            samples: body
                .lines()
                .filter(|l| !l.starts_with('#') && !l.is_empty())
                .count(),
            bytes: body.len(),
        }
    })
}

/// Prints [`compare`]'s results as a Markdown table, then the ratios of
/// the first (ours) to the second (Go).
pub fn print_comparison(results: &[Measured; 2]) {
    println!("| exporter | samples | bytes | CPU per scrape | median latency | peak RSS |");
    println!("|---|---:|---:|---:|---:|---:|");
    for r in results {
        println!(
            "| {} | {} | {} | {:.2} ms | {:.2} ms | {:.1} MiB |",
            r.name,
            r.samples,
            r.bytes,
            r.cpu_per_scrape * 1000.0,
            r.median_latency.as_secs_f64() * 1000.0,
            r.peak_rss_bytes as f64 / (1024.0 * 1024.0)
        );
    }
    let [ours, go] = results;
    println!(
        "\nRatios (Rust / Go): CPU per scrape {:.2}, median latency {:.2}, peak RSS {:.2}.",
        ours.cpu_per_scrape / go.cpu_per_scrape,
        ours.median_latency.as_secs_f64() / go.median_latency.as_secs_f64(),
        ours.peak_rss_bytes as f64 / go.peak_rss_bytes as f64
    );
}
