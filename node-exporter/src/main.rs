//! A drop-in replacement for Prometheus' node_exporter: hardware and OS
//! metrics from /proc and /sys, with node_exporter's names, labels and flags.

mod collector;
mod collectors;
mod device_filter;
mod node;
mod procfs;
mod pseudo;
mod rtnetlink;
mod sysfs;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Arg, ArgAction, ArgMatches, Args, Command, Parser};
use exporter_kit::cli::{self, CommonArgs};
use exporter_kit::self_metrics::BuildInfoLabels;
use exporter_kit::{ExporterInfo, Readiness};

use collector::{Context, Paths, Registration};
use collectors::CollectorFlags;

static INFO: ExporterInfo = ExporterInfo {
    name: "node_exporter",
    binary: "node-exporter",
    version: env!("CARGO_PKG_VERSION"),
    description: "Prometheus exporter for hardware and OS metrics exposed by the Linux kernel.",
    default_listen_address: ":9100",
    build_info: BuildInfoLabels::Common,
};

#[derive(Debug, Parser)]
struct NodeArgs {
    #[command(flatten)]
    common: CommonArgs,
    #[command(flatten)]
    paths: PathArgs,
    #[command(flatten)]
    selection: SelectionArgs,
    #[command(flatten)]
    collectors: CollectorFlags,
}

#[derive(Debug, Args)]
#[command(next_help_heading = "Paths")]
struct PathArgs {
    /// procfs mountpoint.
    #[arg(long = "path.procfs", value_name = "PATH", default_value = "/proc")]
    procfs: PathBuf,
    /// sysfs mountpoint.
    #[arg(long = "path.sysfs", value_name = "PATH", default_value = "/sys")]
    sysfs: PathBuf,
    /// rootfs mountpoint (mount points are reported without this prefix).
    #[arg(long = "path.rootfs", value_name = "PATH", default_value = "/")]
    rootfs: PathBuf,
    /// udev data path.
    #[arg(
        long = "path.udev.data",
        value_name = "PATH",
        default_value = "/run/udev/data"
    )]
    udev_data: PathBuf,
}

#[derive(Debug, Args)]
#[command(next_help_heading = "Collectors")]
struct SelectionArgs {
    /// Set all collectors to disabled by default; enable them one by one with
    /// --collector.<name>.
    #[arg(long = "collector.disable-defaults")]
    disable_defaults: bool,
    /// Longest a collector may run in one scrape (the scrape's own deadline
    /// applies in any case); a collector over time is reported failed.
    #[arg(long = "collector.timeout", value_name = "DURATION", value_parser = humantime::parse_duration)]
    timeout: Option<Duration>,
}

fn enable_flag(name: &str) -> String {
    format!("collector.{name}")
}

fn disable_flag(name: &str) -> String {
    format!("no-collector.{name}")
}

/// `--collector.<name>` and `--no-collector.<name>` for every collector; the
/// last one given wins.
fn add_collector_flags(mut command: Command) -> Command {
    for registration in collectors::ALL {
        let (on, off) = (
            enable_flag(registration.name),
            disable_flag(registration.name),
        );
        let default = if registration.enabled_by_default {
            "enabled"
        } else {
            "disabled"
        };
        command = command
            .arg(
                Arg::new(on.clone())
                    .long(on.clone())
                    .action(ArgAction::SetTrue)
                    .overrides_with(off.clone())
                    .help(format!(
                        "Enable the {} collector (default: {default}).",
                        registration.name
                    ))
                    .help_heading("Collectors"),
            )
            .arg(
                Arg::new(off.clone())
                    .long(off)
                    .action(ArgAction::SetTrue)
                    .overrides_with(on)
                    .hide(true),
            );
    }
    command
}

fn enabled(registration: &Registration, matches: &ArgMatches, disable_defaults: bool) -> bool {
    let explicit = |flag: String| {
        matches.get_flag(&flag)
            && matches.value_source(&flag) != Some(clap::parser::ValueSource::DefaultValue)
    };
    if explicit(enable_flag(registration.name)) {
        true
    } else if explicit(disable_flag(registration.name)) {
        false
    } else {
        registration.enabled_by_default && !disable_defaults
    }
}

fn main() -> ExitCode {
    let (args, matches): (NodeArgs, ArgMatches) = cli::parse_extended(&INFO, add_collector_flags);
    args.common.start_logging(&INFO);
    let paths = Paths {
        procfs: args.paths.procfs,
        sysfs: args.paths.sysfs,
        rootfs: args.paths.rootfs,
        udev_data: args.paths.udev_data,
    };
    let enabled_names: Vec<&'static str> = collectors::ALL
        .iter()
        .filter(|registration| enabled(registration, &matches, args.selection.disable_defaults))
        .map(|registration| registration.name)
        .collect();
    let context = Context {
        paths: &paths,
        flags: &args.collectors,
        enabled: &enabled_names,
    };
    let mut enabled_collectors = Vec::new();
    for registration in collectors::ALL {
        if !enabled_names.contains(&registration.name) {
            continue;
        }
        match (registration.build)(&context) {
            Ok(collector) => enabled_collectors.push((registration.name, collector)),
            Err(message) => {
                cli::fatal(&INFO, format!("collector {}: {message}", registration.name))
            }
        }
        log::info!(collector = registration.name; "Enabled collector");
    }
    let known = collectors::ALL.iter().map(|r| r.name).collect();
    let exporter = node::NodeExporter::new(enabled_collectors, known, args.selection.timeout);
    exporter_kit::serve(&INFO, &args.common.web, Readiness::ready(), exporter)
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory, FromArgMatches};

    use super::*;

    fn parse(args: &[&str]) -> (NodeArgs, ArgMatches) {
        let matches = add_collector_flags(NodeArgs::command())
            .try_get_matches_from(std::iter::once("node-exporter").chain(args.iter().copied()))
            .unwrap();
        (NodeArgs::from_arg_matches(&matches).unwrap(), matches)
    }

    fn is_enabled(args: &[&str], name: &str) -> bool {
        let (parsed, matches) = parse(args);
        let registration = collectors::ALL.iter().find(|r| r.name == name).unwrap();
        enabled(registration, &matches, parsed.selection.disable_defaults)
    }

    #[test]
    fn the_command_line_is_well_formed() {
        add_collector_flags(NodeArgs::command()).debug_assert();
    }

    #[test]
    fn collectors_are_switched_as_upstream() {
        assert!(is_enabled(&[], "cpu"));
        assert!(!is_enabled(&["--no-collector.cpu"], "cpu"));
        assert!(
            is_enabled(&["--no-collector.cpu", "--collector.cpu"], "cpu"),
            "the last flag wins"
        );
        assert!(!is_enabled(&["--collector.disable-defaults"], "meminfo"));
        assert!(is_enabled(
            &["--collector.disable-defaults", "--collector.meminfo"],
            "meminfo"
        ));
    }

    #[test]
    fn deprecated_flag_names_still_work() {
        let (parsed, _) = parse(&["--collector.filesystem.ignored-mount-points=^/x"]);
        assert_eq!(
            parsed
                .collectors
                .filesystem
                .old_mount_points_exclude
                .as_deref(),
            Some("^/x")
        );
        let (parsed, _) = parse(&["--collector.netdev.device-blacklist=^veth"]);
        assert_eq!(
            parsed.collectors.netdev.old_device_exclude.as_deref(),
            Some("^veth")
        );
        let (parsed, _) = parse(&["--collector.diskstats.ignored-devices=^ram"]);
        assert_eq!(
            parsed.collectors.diskstats.old_device_exclude.as_deref(),
            Some("^ram")
        );
    }
}
