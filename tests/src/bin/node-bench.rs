//! Side-by-side benchmark: our node-exporter (release build) against Debian's
//! Go prometheus-node-exporter, both with their default collectors on this
//! machine, scraped alternately in the same run.
//!
//! Usage: `cargo run --release -p e2e --bin node-bench -- [SCRAPES]`
//! Prints a Markdown table for BENCHMARKS.md.

use std::net::TcpListener;
use std::time::{Duration, Instant};

use e2e::binary::{self, Profile};
use e2e::http;
use e2e::process::Running;

/// CPU time and memory of a process, from /proc.
struct Usage {
    cpu_seconds: f64,
    peak_rss_bytes: u64,
}

fn usage(pid: i32) -> Usage {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("process is alive");
    // Fields after the parenthesised command name; utime and stime are the
    // 14th and 15th fields of the whole line.
    let after_name = &stat[stat.rfind(')').expect("stat has a command name") + 2..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks: f64 = fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let peak_kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0);
    Usage {
        cpu_seconds: ticks / USER_HZ,
        peak_rss_bytes: peak_kib * 1024,
    }
}

/// Clock ticks per second in /proc: 100 on every Linux architecture.
const USER_HZ: f64 = 100.0;

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn median(values: &mut [Duration]) -> Duration {
    values.sort();
    values[values.len() / 2]
}

struct Result {
    name: &'static str,
    cpu_per_scrape: f64,
    median_latency: Duration,
    peak_rss_bytes: u64,
    samples: usize,
    bytes: usize,
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let scrapes: usize = std::env::args()
        .nth(1)
        .map(|n| n.parse().expect("SCRAPES is a number"))
        .unwrap_or(200);
    let ours_binary = binary::build("node-exporter", Profile::Release);
    let go_binary = e2e::tools::path("prometheus-node-exporter");
    let ours = Running::start(&ours_binary, &["--web.listen-address=127.0.0.1:0"], &[], 1);
    let go_address = format!("127.0.0.1:{}", free_port());
    let go = Running::start(
        &go_binary,
        &[&format!("--web.listen-address={go_address}")],
        &[],
        1,
    );

    let targets = [
        ("node-exporter (Rust)", &ours),
        ("node_exporter 1.5 (Go, Debian)", &go),
    ];
    // Warm-up: first scrapes fill caches and allocate steady-state buffers.
    for (_, running) in &targets {
        for _ in 0..5 {
            http::get(running.addr(), "/metrics").await.expect("scrape");
        }
    }
    let before: Vec<Usage> = targets.iter().map(|(_, r)| usage(r.pid())).collect();
    let mut latencies: [Vec<Duration>; 2] = [Vec::new(), Vec::new()];
    let mut last_body = [String::new(), String::new()];
    for round in 0..scrapes {
        // Alternate who goes first so neither always scrapes a warmer machine.
        let order: [usize; 2] = if round % 2 == 0 { [0, 1] } else { [1, 0] };
        for index in order {
            let started = Instant::now();
            let response = http::get(targets[index].1.addr(), "/metrics")
                .await
                .expect("scrape");
            latencies[index].push(started.elapsed());
            if round + 1 == scrapes {
                last_body[index] = response.text();
            }
        }
    }
    let results: Vec<Result> = targets
        .iter()
        .enumerate()
        .map(|(index, (name, running))| {
            let after = usage(running.pid());
            let body = &last_body[index];
            Result {
                name,
                cpu_per_scrape: (after.cpu_seconds - before[index].cpu_seconds) / scrapes as f64,
                median_latency: median(&mut latencies[index]),
                peak_rss_bytes: after.peak_rss_bytes,
                samples: body
                    .lines()
                    .filter(|l| !l.starts_with('#') && !l.is_empty())
                    .count(),
                bytes: body.len(),
            }
        })
        .collect();

    println!("Scrapes: {scrapes} per exporter, alternating, default collectors, 127.0.0.1.\n");
    println!("| exporter | samples | bytes | CPU per scrape | median latency | peak RSS |");
    println!("|---|---:|---:|---:|---:|---:|");
    for r in &results {
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
    let (ours, go) = (&results[0], &results[1]);
    println!(
        "\nRatios (Rust / Go): CPU per scrape {:.2}, median latency {:.2}, peak RSS {:.2}.",
        ours.cpu_per_scrape / go.cpu_per_scrape,
        ours.median_latency.as_secs_f64() / go.median_latency.as_secs_f64(),
        ours.peak_rss_bytes as f64 / go.peak_rss_bytes as f64
    );
}
