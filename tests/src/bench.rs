//! Measuring exporters side by side: CPU time and peak memory from /proc,
//! free ports, medians.

use std::net::TcpListener;
use std::time::Duration;

/// CPU time and memory of a process, from /proc.
pub struct Usage {
    pub cpu_seconds: f64,
    pub peak_rss_bytes: u64,
}

pub fn usage(pid: i32) -> Usage {
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
