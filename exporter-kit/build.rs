//! Records the git revision, its commit date and the compiler version for `<exporter>_build_info`.
use std::process::Command;

fn main() {
    let revision = git(&["rev-parse", "--short=12", "HEAD"]);
    let commit_date = git(&["show", "-s", "--format=%cI", "HEAD"]);
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_owned());
    let rust_version = Command::new(rustc)
        .arg("--version")
        .output()
        .ok()
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .and_then(|s| s.split_whitespace().nth(1).map(str::to_owned))
        .unwrap_or_else(|| "unknown".to_owned());
    println!("cargo:rustc-env=EXPORTER_KIT_REVISION={revision}");
    println!("cargo:rustc-env=EXPORTER_KIT_RUSTC_VERSION={rust_version}");
    println!("cargo:rustc-env=EXPORTER_KIT_COMMIT_DATE={commit_date}");
    // Rebuild when HEAD moves so the revision label stays honest.
    for path in ["../.git/HEAD", "../.git/refs/heads", "../.git/packed-refs"] {
        if std::path::Path::new(path).exists() {
            println!("cargo:rerun-if-changed={path}");
        }
    }
}

/// One line of git's output, or "unknown" outside a checkout.
fn git(args: &[&str]) -> String {
    Command::new("git")
        .args(args)
        .output()
        .ok()
        .filter(|out| out.status.success())
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "unknown".to_owned())
}
