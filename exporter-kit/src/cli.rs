//! Command-line conventions shared by every exporter: the exporter-toolkit
//! web flags, the promslog flags, an environment variable for every flag,
//! and one-line errors.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{ArgMatches, Args, Command, CommandFactory, FromArgMatches};

use crate::ExporterInfo;
use crate::logging::{LogFormat, LogLevel};

/// The web flags of the Go exporter-toolkit.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Web server")]
pub struct WebArgs {
    /// Address to listen on for the web interface and telemetry; repeat for
    /// several (":9100" is every interface, "[::1]:9100" one IPv6 address).
    #[arg(long = "web.listen-address", value_name = "ADDRESS")]
    pub listen_addresses: Vec<String>,

    /// Path under which to expose metrics.
    #[arg(
        long = "web.telemetry-path",
        value_name = "PATH",
        default_value = "/metrics"
    )]
    pub telemetry_path: String,

    /// Web configuration file (exporter-toolkit format) enabling TLS, basic
    /// authentication and extra headers; changes apply without a restart.
    #[arg(long = "web.config.file", value_name = "FILE")]
    pub config_file: Option<PathBuf>,

    /// Maximum number of parallel scrape requests; further ones get 503.
    /// 0 disables the limit.
    #[arg(long = "web.max-requests", value_name = "N", default_value_t = 40)]
    pub max_requests: usize,

    /// Close a connection whose request head has not fully arrived within
    /// this time (slow clients), including keep-alive connections left idle.
    #[arg(long = "web.header-timeout", value_name = "DURATION", default_value = "30s",
          value_parser = humantime::parse_duration)]
    pub header_timeout: std::time::Duration,

    /// Exclude the exporter's own metrics (process_*, promhttp_*, build
    /// info) from the telemetry path.
    #[arg(long = "web.disable-exporter-metrics")]
    pub disable_exporter_metrics: bool,
}

/// The logging flags of the Go exporters.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Logging")]
pub struct LogArgs {
    /// Only log messages with the given severity or above.
    #[arg(
        long = "log.level",
        value_name = "LEVEL",
        value_enum,
        default_value = "info"
    )]
    pub level: LogLevel,

    /// Output format of log messages.
    #[arg(
        long = "log.format",
        value_name = "FORMAT",
        value_enum,
        default_value = "logfmt"
    )]
    pub format: LogFormat,
}

/// The flags every exporter has: web serving and logging.
#[derive(Debug, Clone, Args)]
pub struct CommonArgs {
    #[command(flatten)]
    pub web: WebArgs,
    #[command(flatten)]
    pub log: LogArgs,
}

impl CommonArgs {
    /// Installs the logger and records the start, as the Go exporters do.
    pub fn start_logging(&self, info: &ExporterInfo) {
        crate::logging::init(self.log.level, self.log.format);
        log::info!(version = info.version, revision = crate::REVISION; "Starting {}", info.binary);
    }
}

/// The environment variable for a flag: the exporter's name and the flag in
/// upper case, dots and dashes as underscores, e.g.
/// `--web.listen-address` → `NODE_EXPORTER_WEB_LISTEN_ADDRESS`.
pub fn env_var_name(info: &ExporterInfo, long_flag: &str) -> String {
    let mut name = info.name.to_ascii_uppercase();
    name.push('_');
    name.extend(long_flag.chars().map(|c| {
        if c == '.' || c == '-' {
            '_'
        } else {
            c.to_ascii_uppercase()
        }
    }));
    name
}

/// Parses the process arguments into `A`, or prints a one-line error naming
/// the flag and exits 2. `--help` and `--version` print and exit 0.
pub fn parse<A: CommandFactory + FromArgMatches>(info: &ExporterInfo) -> A {
    parse_extended_from(info, std::env::args_os(), |command| command).0
}

/// [`parse`] for exporters that add flags at run time (one per collector,
/// say): `extend` adds them, and the matches are returned for reading them.
pub fn parse_extended<A: CommandFactory + FromArgMatches>(
    info: &ExporterInfo,
    extend: impl FnOnce(Command) -> Command,
) -> (A, ArgMatches) {
    parse_extended_from(info, std::env::args_os(), extend)
}

fn parse_extended_from<A, I>(
    info: &ExporterInfo,
    args: I,
    extend: impl FnOnce(Command) -> Command,
) -> (A, ArgMatches)
where
    A: CommandFactory + FromArgMatches,
    I: IntoIterator,
    I::Item: Into<OsString> + Clone,
{
    // Parsing the command line is the first thing every exporter does, so
    // this runs before any thread exists (see `one_malloc_arena`).
    one_malloc_arena();
    try_parse_from(info, args, extend).unwrap_or_else(|err| {
        use clap::error::ErrorKind;
        if matches!(
            err.kind(),
            ErrorKind::DisplayHelp | ErrorKind::DisplayVersion
        ) {
            err.exit();
        }
        fatal_usage(info, &err)
    })
}

fn try_parse_from<A, I>(
    info: &ExporterInfo,
    args: I,
    extend: impl FnOnce(Command) -> Command,
) -> Result<(A, ArgMatches), clap::Error>
where
    A: CommandFactory + FromArgMatches,
    I: IntoIterator,
    I::Item: Into<OsString> + Clone,
{
    let mut command = extend(A::command())
        .name(info.binary)
        .bin_name(info.binary)
        .about(info.description)
        .version(info.version)
        .long_version(long_version(info))
        .mut_args(
            |arg| match (arg.get_env().is_none(), arg.get_long().map(str::to_owned)) {
                (true, Some(long)) if long != "help" && long != "version" => {
                    arg.env(env_var_name(info, &long))
                }
                _ => arg,
            },
        );
    if command
        .get_arguments()
        .any(|arg| arg.get_id() == "listen_addresses")
    {
        command = command.mut_arg("listen_addresses", |arg| {
            arg.default_value(info.default_listen_address)
        });
    }
    let matches = command.try_get_matches_from(args)?;
    let parsed = A::from_arg_matches(&matches)?;
    Ok((parsed, matches))
}

fn long_version(info: &ExporterInfo) -> String {
    format!(
        "{} (revision: {})\n  rust version: {}\n  platform: {}/{}",
        info.version,
        crate::REVISION,
        crate::RUST_VERSION,
        std::env::consts::OS,
        std::env::consts::ARCH
    )
}

fn fatal_usage(info: &ExporterInfo, err: &clap::Error) -> ! {
    let rendered = err.to_string();
    let first = rendered.lines().next().unwrap_or("invalid arguments");
    let first = first.strip_prefix("error: ").unwrap_or(first);
    eprintln!("{}: {first} (see --help)", info.binary);
    std::process::exit(2);
}

/// Prints `<binary>: <message>` and exits 1: the one-line report of a
/// configuration error found after parsing (a bad file, a bad regex...).
pub fn fatal(info: &ExporterInfo, message: impl std::fmt::Display) -> ! {
    eprintln!("{}: {message}", info.binary);
    std::process::exit(1);
}

/// glibc gives every thread that allocates its own malloc arena, and each
/// arena keeps the memory freed into it: with a few collector threads that
/// is most of the heap's resident set (node-exporter: 6.0 → 5.7 MiB peak).
/// The exporters allocate little and rarely at once, so one shared arena
/// costs no measurable time. It only holds for threads started afterwards,
/// hence the call before anything else.
fn one_malloc_arena() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt takes no pointers and only sets an allocator tunable;
    // glibc applies it under the main arena's lock, so calling it at any
    // time from any thread is sound.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::self_metrics::BuildInfoLabels;
    use clap::Parser;

    const INFO: ExporterInfo = ExporterInfo {
        name: "demo_exporter",
        binary: "demo-exporter",
        version: "1.2.3",
        description: "A demo.",
        default_listen_address: ":9999",
        build_info: BuildInfoLabels::Common,
    };

    #[derive(Debug, Parser)]
    struct Demo {
        #[command(flatten)]
        common: CommonArgs,
    }

    #[test]
    fn defaults_come_from_the_exporter() {
        let demo: Demo = try_parse_from(&INFO, ["demo-exporter"], |c| c).unwrap().0;
        assert_eq!(demo.common.web.listen_addresses, [":9999"]);
        assert_eq!(demo.common.web.telemetry_path, "/metrics");
        assert_eq!(demo.common.web.max_requests, 40);
        assert_eq!(demo.common.log.level, LogLevel::Info);
    }

    #[test]
    fn flags_repeat_and_parse() {
        let (demo, _): (Demo, _) = try_parse_from(
            &INFO,
            [
                "demo-exporter",
                "--web.listen-address=127.0.0.1:1",
                "--web.listen-address",
                "[::1]:2",
                "--web.disable-exporter-metrics",
                "--log.format=json",
            ],
            |c| c,
        )
        .unwrap();
        assert_eq!(demo.common.web.listen_addresses, ["127.0.0.1:1", "[::1]:2"]);
        assert!(demo.common.web.disable_exporter_metrics);
        assert_eq!(demo.common.log.format, LogFormat::Json);
    }

    #[test]
    fn errors_name_the_flag() {
        let err =
            try_parse_from::<Demo, _>(&INFO, ["demo-exporter", "--web.max-requests=many"], |c| c)
                .unwrap_err()
                .to_string();
        assert!(
            err.lines().next().unwrap().contains("--web.max-requests"),
            "{err}"
        );
        let err = try_parse_from::<Demo, _>(&INFO, ["demo-exporter", "--log.level=loud"], |c| c)
            .unwrap_err()
            .to_string();
        assert!(err.lines().next().unwrap().contains("--log.level"), "{err}");
    }

    #[test]
    fn env_names_follow_the_flags() {
        assert_eq!(
            env_var_name(&INFO, "web.listen-address"),
            "DEMO_EXPORTER_WEB_LISTEN_ADDRESS"
        );
        let command = Demo::command();
        assert!(
            command
                .get_arguments()
                .any(|a| a.get_id() == "listen_addresses")
        );
    }
}
