//! Paths to the workspace's binaries, built on first use so a test never runs
//! a stale binary.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Command;
use std::sync::{Mutex, OnceLock};

/// Builds (if needed) and returns the debug binary `name` of this workspace.
pub fn path(name: &str) -> PathBuf {
    build(name, Profile::Debug)
}

/// The build profile of a binary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Profile {
    Debug,
    Release,
}

/// Builds (if needed) and returns binary `name` in `profile`.
pub fn build(name: &str, profile: Profile) -> PathBuf {
    static BUILT: OnceLock<Mutex<HashMap<(String, Profile), PathBuf>>> = OnceLock::new();
    let built = BUILT.get_or_init(Default::default);
    let mut built = built.lock().unwrap_or_else(|p| p.into_inner());
    let key = (name.to_owned(), profile);
    if let Some(path) = built.get(&key) {
        return path.clone();
    }
    let workspace = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ lives in the workspace")
        .to_owned();
    let mut cargo = Command::new(env!("CARGO"));
    cargo
        .args(["build", "--quiet", "--bin", name])
        .args((profile == Profile::Release).then_some("--release"))
        .current_dir(&workspace);
    // Cargo describes the test crate to the test process; passed on, those
    // variables would make dependencies' build scripts (ring's reads
    // CARGO_MANIFEST_DIR) rebuild on every run.
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy();
        let describes_test_crate = key.starts_with("CARGO_PKG_")
            || key.starts_with("CARGO_BIN_")
            || matches!(
                key.as_ref(),
                "CARGO_MANIFEST_DIR"
                    | "CARGO_MANIFEST_PATH"
                    | "CARGO_MANIFEST_LINKS"
                    | "CARGO_CRATE_NAME"
                    | "CARGO_PRIMARY_PACKAGE"
                    | "CARGO_TARGET_TMPDIR"
                    | "OUT_DIR"
            );
        if describes_test_crate {
            cargo.env_remove(key.as_ref());
        }
    }
    let status = cargo.status().expect("cargo runs");
    assert!(status.success(), "cargo build --bin {name} failed");
    let directory = match profile {
        Profile::Debug => "debug",
        Profile::Release => "release",
    };
    let path = profiles_directory().join(directory).join(name);
    assert!(path.exists(), "{} was not built", path.display());
    built.insert(key, path.clone());
    path
}

/// Where cargo puts this build's profile directories: wherever this very
/// process was built (`target/<triple>/debug/deps/` for a test,
/// `target/<triple>/release/` for a bench harness), whatever the target
/// directory and triple.
fn profiles_directory() -> PathBuf {
    let exe = std::env::current_exe().expect("the running executable has a path");
    let mut directory = exe.parent().expect("an executable lives in a directory");
    if directory.ends_with("deps") {
        directory = directory
            .parent()
            .expect("deps/ is inside a profile directory");
    }
    directory
        .parent()
        .expect("a profile directory is inside the target directory")
        .to_owned()
}
