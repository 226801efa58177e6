//! node-exporter end to end: the whole output for a checked-in /proc and /sys
//! fixture tree against a golden file, collector selection, a collector
//! that hangs on a read, and the mount table followed on the live machine.

use std::path::{Path, PathBuf};

use e2e::http;
use e2e::process::Running;
use e2e::wait::PATIENCE;

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/node")
}

/// Collectors that read syscalls or the live clock rather than files, so
/// their output cannot come from a fixture.
const LIVE_ONLY: [&str; 3] = ["time", "timex", "uname"];

/// Sources that are syscalls by default and files with a flag: netdev
/// reads rtnetlink unless told to read <procfs>/net/dev, as upstream.
const FILE_SOURCES: [&str; 1] = ["--no-collector.netdev.netlink"];

fn start_on(root: &Path, extra: &[&str]) -> Running {
    let mut args = vec![
        "--web.listen-address=127.0.0.1:0".to_owned(),
        "--web.disable-exporter-metrics".to_owned(),
        format!("--path.procfs={}", root.join("proc").display()),
        format!("--path.sysfs={}", root.join("sys").display()),
        format!("--path.rootfs={}", root.join("rootfs").display()),
        format!("--path.udev.data={}", root.join("udev/data").display()),
        format!(
            "--collector.textfile.directory={}",
            root.join("textfile").display()
        ),
    ];
    args.extend(
        LIVE_ONLY
            .iter()
            .map(|name| format!("--no-collector.{name}")),
    );
    args.extend(FILE_SOURCES.iter().map(|s| (*s).to_owned()));
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    Running::start(&e2e::binary::path("node-exporter"), &args, &[], 1)
}

/// The output with the families whose values vary run to run (durations,
/// file modification times after a checkout) reduced to their label sets.
fn normalize(text: &str) -> String {
    text.lines()
        .map(|line| {
            let varies = [
                "node_scrape_collector_duration_seconds{",
                "node_textfile_mtime_seconds{",
            ];
            if varies.iter().any(|prefix| line.starts_with(prefix)) {
                let end = line.rfind(' ').unwrap_or(line.len());
                format!("{} <varies>", &line[..end])
            } else {
                line.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

#[tokio::test]
async fn fixture_tree_output_matches_the_golden_file() {
    let exporter = start_on(&fixtures(), &[]);
    let response = http::get(exporter.addr(), "/metrics").await.unwrap();
    assert_eq!(response.status, 200);
    // Paths under the checkout differ from machine to machine.
    let fixture_root = fixtures().to_string_lossy().into_owned();
    let actual = normalize(&response.text()).replace(&fixture_root, "<fixtures>");
    let golden_path = fixtures().join("golden.txt");
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&golden_path, &actual).unwrap();
    }
    let golden = std::fs::read_to_string(&golden_path)
        .expect("golden.txt exists (UPDATE_GOLDEN=1 writes it)");
    if actual != golden {
        let first_difference = actual
            .lines()
            .zip(golden.lines())
            .position(|(a, g)| a != g)
            .unwrap_or(actual.lines().count().min(golden.lines().count()));
        panic!(
            "output differs from golden.txt from line {}:\n  got:      {:?}\n  expected: {:?}\n\
             (rerun with UPDATE_GOLDEN=1 to accept, then review the diff)",
            first_difference + 1,
            actual.lines().nth(first_difference),
            golden.lines().nth(first_difference),
        );
    }
    let verdict = e2e::tools::promtool_check_metrics(&response.text())
        .unwrap_or_else(|complaint| panic!("promtool refuses the fixture output: {complaint}"));
    let unexpected: Vec<_> = verdict
        .lint
        .iter()
        .filter(|f| !e2e::tools::inherited_lint(f))
        .collect();
    assert!(
        unexpected.is_empty(),
        "lint findings beyond node_exporter's own: {unexpected:?}"
    );
}

#[tokio::test]
async fn collect_and_exclude_parameters_select_collectors() {
    let exporter = start_on(&fixtures(), &["--no-collector.entropy"]);
    let addr = exporter.addr();

    let only = http::get(addr, "/metrics?collect[]=loadavg&collect[]=filefd")
        .await
        .unwrap();
    assert_eq!(only.status, 200);
    let text = only.text();
    assert!(
        text.contains("node_load1 ") && text.contains("node_filefd_maximum "),
        "{text}"
    );
    assert!(!text.contains("node_memory_"), "{text}");
    assert!(text.contains("node_scrape_collector_success{collector=\"loadavg\"} 1"));
    assert!(!text.contains("collector=\"meminfo\""), "{text}");

    let without = http::get(addr, "/metrics?exclude[]=meminfo")
        .await
        .unwrap()
        .text();
    assert!(
        without.contains("node_load1 ") && !without.contains("node_memory_"),
        "{without}"
    );

    for (query, message) in [
        (
            "collect[]=loadavg&exclude[]=meminfo",
            "Combining collect and exclude queries is not allowed",
        ),
        ("collect[]=nonesuch", "missing collector: nonesuch"),
        ("collect[]=entropy", "disabled collector: entropy"),
        ("exclude[]=nonesuch", "missing collector: nonesuch"),
    ] {
        let response = http::get(addr, &format!("/metrics?{query}")).await.unwrap();
        assert_eq!(response.status, 400, "{query}");
        assert!(
            response.text().contains(message),
            "{query}: {}",
            response.text()
        );
    }
}

/// Threads of `pid` blocked opening a FIFO (the kernel's wait for a writer).
fn threads_stuck_on_fifo(pid: i32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/task"))
        .unwrap()
        .flatten()
        .filter(|task| {
            std::fs::read_to_string(task.path().join("wchan"))
                .is_ok_and(|w| w == "wait_for_partner")
        })
        .count()
}

fn copy_tree(from: &Path, to: &Path) {
    let status = std::process::Command::new("cp")
        .arg("-a")
        .arg(from)
        .arg(to)
        .status()
        .unwrap();
    assert!(status.success());
}

#[tokio::test]
async fn a_collector_stuck_on_a_read_fails_alone_and_on_time() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("node");
    copy_tree(&fixtures(), &root);
    // A FIFO with no writer: opening it for reading blocks forever.
    let loadavg = root.join("proc/loadavg");
    std::fs::remove_file(&loadavg).unwrap();
    nix::unistd::mkfifo(
        &loadavg,
        nix::sys::stat::Mode::S_IRUSR | nix::sys::stat::Mode::S_IWUSR,
    )
    .unwrap();

    let mut exporter = start_on(&root, &[]);
    let addr = exporter.addr();
    let scrape = || async {
        let timeout = [("x-prometheus-scrape-timeout-seconds", "1.5")];
        http::send(addr, None, "GET", "/metrics", &timeout)
            .await
            .unwrap()
    };
    let first = scrape().await;
    assert_eq!(first.status, 200);
    let text = first.text();
    assert!(
        text.contains("node_scrape_collector_success{collector=\"loadavg\"} 0"),
        "{text}"
    );
    assert!(
        text.contains("node_scrape_collector_success{collector=\"meminfo\"} 1"),
        "{text}"
    );
    assert!(text.contains("node_memory_MemTotal_bytes "), "{text}");
    assert!(!text.contains("node_load1 "), "{text}");

    // Later scrapes do not pile up stuck threads: each would add one more
    // thread waiting on the FIFO if it started a new read.
    assert_eq!(threads_stuck_on_fifo(exporter.pid()), 1);
    for _ in 0..20 {
        let text = scrape().await.text();
        assert!(text.contains("node_scrape_collector_success{collector=\"loadavg\"} 0"));
        assert!(text.contains("node_scrape_collector_success{collector=\"meminfo\"} 1"));
    }
    assert_eq!(threads_stuck_on_fifo(exporter.pid()), 1);

    // The stuck thread does not keep the process from exiting cleanly.
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(exporter.pid()),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    assert_eq!(exporter.wait_exit(PATIENCE).code(), Some(0));
}

/// Every file of a fixture tree replaced with `content`.
fn corrupted_tree(content: &[u8]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("node");
    copy_tree(&fixtures(), &root);
    let mut pending = vec![root];
    while let Some(path) = pending.pop() {
        for entry in std::fs::read_dir(&path).unwrap().flatten() {
            let file_type = entry.file_type().unwrap();
            if file_type.is_dir() {
                pending.push(entry.path());
            } else if file_type.is_file() {
                std::fs::write(entry.path(), content).unwrap();
            }
        }
    }
    dir
}

#[tokio::test]
async fn malformed_files_fail_their_collector_and_nothing_else() {
    let garbage: [&[u8]; 3] = [
        b"",
        b"\xff\xfe\x00 garbage: -1 x 0x ( [ }\n\n\t: :\n",
        b"1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21\n-1 -2 -3\n",
    ];
    for (index, content) in garbage.into_iter().enumerate() {
        let dir = corrupted_tree(content);
        let exporter = start_on(&dir.path().join("node"), &[]);
        let response = http::get(exporter.addr(), "/metrics").await.unwrap();
        assert_eq!(response.status, 200, "{content:?}");
        let text = response.text();
        let reported = text
            .lines()
            .filter(|l| l.starts_with("node_scrape_collector_success{"))
            .count();
        assert_eq!(
            reported, 34,
            "every collector reports, for {content:?}:\n{text}"
        );
        // Parsers of numbers must say text is not a number (empty files and
        // files of plausible numbers are judged by each collector's rules).
        let must_fail: &[&str] = if index != 1 {
            &[]
        } else {
            &[
                "loadavg",
                "meminfo",
                "stat",
                "cpu",
                "diskstats",
                "netdev",
                "filefd",
                "entropy",
            ]
        };
        for collector in must_fail {
            let line = format!("node_scrape_collector_success{{collector=\"{collector}\"}} 0");
            assert!(
                text.contains(&line),
                "{collector} accepted {content:?}:\n{text}"
            );
        }
        exporter_kit::exposition::parse(&text).expect("the output stays valid");
    }
}

/// Runs mount(8) or umount(8) with `args`, panicking on failure.
fn run_mount(program: &str, args: &[&str]) {
    let status = std::process::Command::new(program)
        .args(args)
        .status()
        .unwrap_or_else(|e| panic!("{program}: {e}"));
    assert!(status.success(), "{program} {args:?}: {status}");
}

/// Unmounts a test mount however the test ends.
struct Mounted(PathBuf);

impl Drop for Mounted {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.0).status();
    }
}

/// The filesystem collector keeps the parsed mount table while procfs says
/// it is unchanged: a mount, a remount and an unmount on the live machine
/// must each show in the very next scrape.
#[tokio::test]
async fn the_filesystem_collector_sees_every_change_of_the_mount_table() {
    let exporter = Running::start(
        &e2e::binary::path("node-exporter"),
        &["--web.listen-address=127.0.0.1:0"],
        &[],
        1,
    );
    let scrape = || async {
        http::get(exporter.addr(), "/metrics?collect[]=filesystem")
            .await
            .unwrap()
            .text()
    };
    let dir = tempfile::tempdir().unwrap();
    let mount_point = dir.path().to_str().unwrap().to_owned();
    let labels = format!(
        "{{device=\"e2e-tmpfs\",device_error=\"\",fstype=\"tmpfs\",mountpoint=\"{mount_point}\"}}"
    );
    let before = scrape().await;
    assert!(before.contains("node_filesystem_size_bytes{"), "{before}");
    assert!(!before.contains(&mount_point), "{before}");

    run_mount(
        "mount",
        &["-t", "tmpfs", "-o", "size=1m", "e2e-tmpfs", &mount_point],
    );
    let mounted = Mounted(dir.path().to_owned());
    let text = scrape().await;
    assert!(
        text.contains(&format!("node_filesystem_size_bytes{labels} 1.048576e+06")),
        "{text}"
    );
    assert!(
        text.contains(&format!("node_filesystem_readonly{labels} 0")),
        "{text}"
    );

    run_mount("mount", &["-o", "remount,ro", &mount_point]);
    let text = scrape().await;
    assert!(
        text.contains(&format!("node_filesystem_readonly{labels} 1")),
        "{text}"
    );

    drop(mounted);
    let text = scrape().await;
    assert!(!text.contains(&mount_point), "{text}");
    assert!(text.contains("node_filesystem_size_bytes{"), "{text}");
}
