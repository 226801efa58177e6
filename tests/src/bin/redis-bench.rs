//! Side-by-side benchmark: our redis-exporter (release build) against
//! Debian's Go prometheus-redis-exporter, in the same run.
//!
//! First both scrape one redis-server holding 10,000 keys in four databases,
//! alternately; then both serve `/scrape?target=` for 100 redis-servers.
//!
//! Usage: `cargo run --release -p e2e --bin redis-bench -- [SCRAPES]`
//! Prints Markdown tables for BENCHMARKS.md.

use e2e::bench::{Connections, compare, print_comparison, usage};
use e2e::binary::{self, Profile};
use e2e::http;
use e2e::process::Running;
use e2e::redis::{Redis, go_exporter};

/// Both exporters against `main_address`; ours allows every /scrape target,
/// as Go's does.
fn exporters(ours_binary: &std::path::Path, main_address: &str) -> [(&'static str, Running); 2] {
    let ours = Running::start(
        ours_binary,
        &[
            "--web.listen-address=127.0.0.1:0",
            &format!("--redis.addr={main_address}"),
            "--scrape.allowed-targets=.*",
        ],
        &[],
        1,
    );
    let go = go_exporter(main_address);
    [
        ("redis-exporter (Rust)", ours),
        ("redis_exporter 1.45 (Go, Debian)", go),
    ]
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let scrapes: usize = std::env::args()
        .nth(1)
        .map(|n| n.parse().expect("SCRAPES is a number"))
        .unwrap_or(300);
    let ours_binary = binary::build("redis-exporter", Profile::Release);

    let redis = Redis::start(&["--enable-debug-command", "yes"]);
    for db in 0..4 {
        redis.cli(&["-n", &db.to_string(), "debug", "populate", "2500"]);
    }
    let targets = exporters(&ours_binary, &redis.address());
    let results = compare(
        [(targets[0].0, &targets[0].1), (targets[1].0, &targets[1].1)],
        scrapes,
        Connections::PerScrape,
    )
    .await;
    println!(
        "One Redis (10,000 keys in 4 databases): {scrapes} scrapes per exporter, alternating.\n"
    );
    print_comparison(&results);
    drop(targets);

    let fleet: Vec<Redis> = (0..100).map(|_| Redis::start(&[])).collect();
    let targets = exporters(&ours_binary, &fleet[0].address());
    let rounds = 5;
    println!(
        "\n/scrape?target= over {} redis-servers, {rounds} rounds, one target at a time.\n",
        fleet.len()
    );
    println!("| exporter | CPU per target scrape | peak RSS |");
    println!("|---|---:|---:|");
    let mut ratios = Vec::new();
    for (name, running) in &targets {
        let before = usage(running.pid()).cpu_seconds;
        for _ in 0..rounds {
            for redis in &fleet {
                let response = http::get(
                    running.addr(),
                    &format!("/scrape?target={}", redis.address()),
                )
                .await
                .expect("scrape");
                assert!(
                    response.text().contains("redis_up 1"),
                    "{name} could not scrape {}",
                    redis.address()
                );
            }
        }
        let after = usage(running.pid());
        let cpu = (after.cpu_seconds - before) / (rounds * fleet.len()) as f64;
        println!(
            "| {name} | {:.3} ms | {:.1} MiB |",
            cpu * 1000.0,
            after.peak_rss_bytes as f64 / (1024.0 * 1024.0)
        );
        ratios.push((cpu, after.peak_rss_bytes as f64));
    }
    println!(
        "\nRatios (Rust / Go): CPU per target scrape {:.2}, peak RSS {:.2}.",
        ratios[0].0 / ratios[1].0,
        ratios[0].1 / ratios[1].1
    );
}
