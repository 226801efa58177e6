//! External programs the tests use, installed by the test command.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Command, Stdio};

/// The workspace's root directory (where scripts/test installs tools, under
/// `.tools/`).
pub fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ lives in the workspace")
        .to_owned()
}

/// Finds `name` on the PATH, or fails the test saying how to get it.
pub fn path(name: &str) -> PathBuf {
    let search = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&search)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| panic!("{name} is not installed: run scripts/test, which installs it"))
}

/// What `promtool check metrics` said of some exposition text.
#[derive(Debug)]
pub struct PromtoolVerdict {
    /// Lint findings (promtool exits 3): style advice such as camelCase
    /// names, which upstream metric names sometimes draw.
    pub lint: Vec<String>,
}

/// Runs `promtool check metrics` on `exposition`: `Err` with promtool's
/// message when the text does not parse, else the lint findings.
pub fn promtool_check_metrics(exposition: &str) -> Result<PromtoolVerdict, String> {
    let mut child = Command::new(path("promtool"))
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool starts");
    child
        .stdin
        .take()
        .expect("stdin is piped")
        .write_all(exposition.as_bytes())
        .expect("promtool reads its input");
    let output = child.wait_with_output().expect("promtool finishes");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    const LINT_PROBLEMS: i32 = 3;
    match output.status.code() {
        Some(0) => Ok(PromtoolVerdict { lint: Vec::new() }),
        Some(LINT_PROBLEMS) if !said.contains("error while linting") => Ok(PromtoolVerdict {
            lint: said.lines().map(str::to_owned).collect(),
        }),
        _ => Err(said),
    }
}

/// promtool's style advice that node_exporter's own names draw: keeping the
/// names is the point of a drop-in, so these findings are expected. Families
/// named after kernel fields keep the kernel's CamelCase.
pub fn inherited_lint(finding: &str) -> bool {
    const KERNEL_FIELD_FAMILIES: [&str; 3] = ["node_memory_", "node_netstat_", "node_sockstat_"];
    let camel_case_kernel_names = KERNEL_FIELD_FAMILIES.iter().any(|p| finding.starts_with(p))
        && finding.ends_with("metric names should be written in 'snake_case' not 'camelCase'");
    let bits_unit = finding.starts_with("node_entropy_")
        && finding.ends_with("use base unit \"bytes\" instead of \"bits\"");
    // redis_exporter's INFO field names keep Redis' own units and counter
    // naming (`_sec`, `_ms`, counters without `_total`); its key-group
    // duration is in milliseconds.
    let redis_field_names = finding.starts_with("redis_")
        && [
            "should not contain abbreviated units",
            "should have \"_total\" suffix",
            "should not have \"_total\" suffix",
            "use base unit \"seconds\" instead of \"milliseconds\"",
        ]
        .iter()
        .any(|rule| finding.contains(rule));
    camel_case_kernel_names || bits_unit || redis_field_names
}
