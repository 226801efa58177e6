//! Side-by-side benchmark: our node-exporter (release build) against Debian's
//! Go prometheus-node-exporter, both with their default collectors on this
//! machine, scraped alternately in the same run.
//!
//! Then the scaling curve: both exporters on generated /proc and /sys trees
//! with 1, 100 and 1000 network interfaces and mounts (netdev, netclass and
//! filesystem collectors only).
//!
//! Usage: `cargo run --release -p e2e --bin node-bench -- [SCRAPES]`
//! Prints Markdown tables for BENCHMARKS.md.

use e2e::bench::{Connections, borrowed, compare, free_port, print_comparison, usage};
use e2e::binary::{self, Profile};
use e2e::http;
use e2e::process::Running;

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

    for (connections, how) in [
        (
            Connections::KeptAlive,
            "one connection per exporter kept open, as Prometheus scrapes",
        ),
        (Connections::PerScrape, "a new connection per scrape"),
    ] {
        let results = compare(
            [
                ("node-exporter (Rust)", &ours),
                ("node_exporter 1.5 (Go, Debian)", &go),
            ],
            scrapes,
            connections,
        )
        .await;
        println!(
            "Scrapes: {scrapes} per exporter, alternating, default collectors, 127.0.0.1, {how}.\n"
        );
        print_comparison(&results);
        println!();
    }
    println!("\nScaling: netdev, netclass and filesystem collectors on generated trees.\n");
    println!("| interfaces and mounts | Rust CPU per scrape | Go CPU per scrape | ratio |");
    println!("|---:|---:|---:|---:|");
    for size in [1usize, 100, 1000] {
        let tree = tempdir_for_scaling(size);
        let root = tree.path();
        let paths = [
            format!("--path.procfs={}", root.join("proc").display()),
            format!("--path.sysfs={}", root.join("sys").display()),
            format!("--path.rootfs={}", root.join("rootfs").display()),
        ];
        let collectors = [
            "--collector.disable-defaults",
            "--collector.netdev",
            "--collector.netclass",
            "--collector.filesystem",
            // From the generated /proc/net/dev, not this machine's netlink.
            "--no-collector.netdev.netlink",
        ];
        let args = |listen: String| -> Vec<String> {
            let mut args = vec![format!("--web.listen-address={listen}")];
            args.extend(paths.iter().cloned());
            args.extend(collectors.iter().map(|s| (*s).to_owned()));
            args
        };
        let (ours_args, go_args) = (
            args("127.0.0.1:0".into()),
            args(format!("127.0.0.1:{}", free_port())),
        );
        let ours = Running::start(&ours_binary, &borrowed(&ours_args), &[], 1);
        let go = Running::start(&go_binary, &borrowed(&go_args), &[], 1);
        let rounds = if size >= 1000 { 30 } else { 100 };
        let mut per_scrape = Vec::new();
        for running in [&ours, &go] {
            http::get(running.addr(), "/metrics").await.expect("scrape");
            let before = usage(running.pid()).cpu_seconds;
            for _ in 0..rounds {
                http::get(running.addr(), "/metrics").await.expect("scrape");
            }
            per_scrape.push((usage(running.pid()).cpu_seconds - before) / rounds as f64);
        }
        println!(
            "| {size} | {:.2} ms | {:.2} ms | {:.2} |",
            per_scrape[0] * 1000.0,
            per_scrape[1] * 1000.0,
            per_scrape[0] / per_scrape[1]
        );
    }
}

/// A /proc and /sys tree with `size` network interfaces and `size` mounts
/// (directories under the tree's rootfs, so statfs succeeds).
fn tempdir_for_scaling(size: usize) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temporary directory");
    let root = dir.path();
    let write = |relative: &str, content: &str| {
        let path = root.join(relative);
        std::fs::create_dir_all(path.parent().expect("a parent")).expect("directories");
        std::fs::write(path, content).expect("fixture file");
    };
    let mut net_dev = String::from(
        "Inter-|   Receive                                                |  Transmit\n face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n",
    );
    let mut mountinfo = String::new();
    let mut mounts = String::new();
    for i in 0..size {
        net_dev.push_str(&format!(
            "eth{i}: {} 100 0 0 0 0 0 0 {} 100 0 0 0 0 0 0\n",
            i * 1000,
            i * 2000
        ));
        let attributes = [
            ("operstate", "up"),
            ("address", "02:00:00:00:00:01"),
            ("broadcast", "ff:ff:ff:ff:ff:ff"),
            ("duplex", "full"),
            ("ifalias", ""),
            ("flags", "0x1003"),
            ("mtu", "1500"),
            ("speed", "1000"),
            ("carrier", "1"),
            ("type", "1"),
            ("addr_assign_type", "0"),
            ("dev_id", "0x0"),
            ("dormant", "0"),
            ("link_mode", "0"),
            ("name_assign_type", "4"),
            ("netdev_group", "0"),
            ("tx_queue_len", "1000"),
            ("carrier_changes", "2"),
            ("carrier_up_count", "1"),
            ("carrier_down_count", "1"),
        ];
        for (file, value) in attributes {
            write(
                &format!("sys/class/net/eth{i}/{file}"),
                &format!("{value}\n"),
            );
        }
        write(
            &format!("sys/class/net/eth{i}/ifindex"),
            &format!("{}\n", i + 2),
        );
        write(
            &format!("sys/class/net/eth{i}/iflink"),
            &format!("{}\n", i + 2),
        );
        std::fs::create_dir_all(root.join(format!("rootfs/mnt/d{i}"))).expect("mount point");
        mountinfo.push_str(&format!(
            "{} 1 254:{i} / /mnt/d{i} rw,relatime - ext4 /dev/vd{i} rw\n",
            100 + i
        ));
        mounts.push_str(&format!("/dev/vd{i} /mnt/d{i} ext4 rw,relatime 0 0\n"));
    }
    write("proc/net/dev", &net_dev);
    write("proc/1/mountinfo", &mountinfo);
    write("proc/1/mounts", &mounts);
    dir
}
