//! Parsers for /proc files that more than one collector reads.

/// What /proc/stat says, as procfs' `Stat` has it.
#[derive(Debug, Default, PartialEq)]
pub struct Stat {
    /// Per CPU id: user, nice, system, idle, iowait, irq, softirq, steal,
    /// guest, guest_nice, in seconds.
    pub cpus: Vec<(i64, [f64; 10])>,
    pub boot_time: u64,
    pub interrupts: u64,
    pub context_switches: u64,
    pub forks: u64,
    pub procs_running: u64,
    pub procs_blocked: u64,
    /// hi, timer, net_tx, net_rx, block, block_iopoll, tasklet, sched,
    /// hrtimer, rcu.
    pub softirqs: [u64; 10],
}

/// /proc/stat counts CPU time in USER_HZ ticks, 100 per second everywhere.
const USER_HZ: f64 = 100.0;

pub fn parse_stat(text: &str) -> Result<Stat, String> {
    let mut stat = Stat::default();
    for line in text.lines() {
        let parts: Vec<&str> = line.split_ascii_whitespace().collect();
        if parts.len() < 2 {
            continue;
        }
        let number = |value: &str| {
            value
                .parse::<u64>()
                .map_err(|e| format!("couldn't parse {value:?} ({}): {e}", parts[0]))
        };
        match parts[0] {
            "btime" => stat.boot_time = number(parts[1])?,
            "ctxt" => stat.context_switches = number(parts[1])?,
            "processes" => stat.forks = number(parts[1])?,
            "procs_running" => stat.procs_running = number(parts[1])?,
            "procs_blocked" => stat.procs_blocked = number(parts[1])?,
            "intr" => {
                stat.interrupts = number(parts[1])?;
                for count in &parts[2..] {
                    number(count)?;
                }
            }
            "softirq" => {
                if parts.len() < 12 {
                    return Err(format!("couldn't parse softirq line {line:?}"));
                }
                for (slot, value) in stat.softirqs.iter_mut().zip(&parts[2..12]) {
                    *slot = number(value)?;
                }
            }
            name if name.starts_with("cpu") => {
                let mut times = [0.0; 10];
                for (slot, value) in times.iter_mut().zip(&parts[1..]) {
                    *slot = value
                        .parse::<f64>()
                        .map_err(|e| format!("couldn't parse {value:?} ({name}): {e}"))?
                        / USER_HZ;
                }
                if name != "cpu" {
                    let id: i64 = name[3..]
                        .parse()
                        .map_err(|e| format!("couldn't parse CPU id {name:?}: {e}"))?;
                    stat.cpus.retain(|(existing, _)| *existing != id);
                    stat.cpus.push((id, times));
                }
            }
            _ => {}
        }
    }
    Ok(stat)
}

/// Go's `ParseInt(v, 0, 64)`: decimal, or `0x` hex, or `0` octal.
pub fn parse_int_any_base(text: &str) -> Option<i64> {
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let value = if let Some(hex) = digits
        .strip_prefix("0x")
        .or_else(|| digits.strip_prefix("0X"))
    {
        i64::from_str_radix(hex, 16).ok()?
    } else if digits.len() > 1 && digits.starts_with('0') {
        i64::from_str_radix(&digits[1..], 8).ok()?
    } else {
        digits.parse().ok()?
    };
    Some(if negative { -value } else { value })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_counters_cpus_and_softirqs() {
        let text = "cpu  10 0 5 100 1 0 2 0 0 0\ncpu0 10 0 5 100 1 0 2 0 3 4\ncpu1 7 1\n\
            intr 5 1 2 3\nctxt 9\nbtime 1700000000\nprocesses 42\nprocs_running 2\nprocs_blocked 1\n\
            softirq 55 1 2 3 4 5 6 7 8 9 10\n";
        let stat = parse_stat(text).unwrap();
        assert_eq!(stat.cpus.len(), 2);
        assert_eq!(
            stat.cpus[0],
            (0, [0.1, 0.0, 0.05, 1.0, 0.01, 0.0, 0.02, 0.0, 0.03, 0.04])
        );
        assert_eq!(stat.cpus[1].1[..3], [0.07, 0.01, 0.0]);
        assert_eq!(stat.interrupts, 5);
        assert_eq!(stat.boot_time, 1_700_000_000);
        assert_eq!(stat.softirqs, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    }

    #[test]
    fn integers_in_any_base() {
        assert_eq!(parse_int_any_base("0x10"), Some(16));
        assert_eq!(parse_int_any_base("010"), Some(8));
        assert_eq!(parse_int_any_base("0"), Some(0));
        assert_eq!(parse_int_any_base("-3"), Some(-3));
        assert_eq!(parse_int_any_base("x"), None);
        assert_eq!(parse_int_any_base(""), None);
    }

    #[test]
    fn malformed_lines_are_errors() {
        assert!(parse_stat("ctxt many\n").is_err());
        assert!(parse_stat("cpu0 1 x\n").is_err());
        assert!(parse_stat("cpux 1 2\n").is_err());
        assert!(parse_stat("softirq 1 2\n").is_err());
        assert!(parse_stat("intr 1 2 -3\n").is_err());
        assert_eq!(parse_stat("\n\nunknown 1\n").unwrap(), Stat::default());
    }
}
