//! The one small interface every collector implements, and what it is given.

use std::path::{Path, PathBuf};

use exporter_kit::exposition::MetricSet;

use crate::collectors::CollectorFlags;

/// Reads one data source into metric families.
///
/// Collectors are synchronous: they read files under /proc and /sys. The
/// scrape runs each on a worker thread under a deadline, so a read that
/// blocks (a stuck mount, a hung sysfs attribute) costs that collector only.
pub trait Collector: Send + Sync + 'static {
    fn update(&self, out: &mut MetricSet) -> Result<(), CollectError>;
}

/// Why a collector produced nothing, or not everything.
#[derive(Debug, thiserror::Error)]
pub enum CollectError {
    /// The data source does not exist on this machine (no such kernel
    /// feature or hardware): reported as failure, logged at debug only.
    #[error("no data: {0}")]
    NoData(String),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Parse { path: PathBuf, message: String },
}

impl CollectError {
    pub fn io(path: &Path, source: std::io::Error) -> CollectError {
        CollectError::Io {
            path: path.to_owned(),
            source,
        }
    }

    pub fn parse(path: &Path, message: impl Into<String>) -> CollectError {
        CollectError::Parse {
            path: path.to_owned(),
            message: message.into(),
        }
    }
}

/// Reads a whole small file. /proc and /sys files are read through
/// descriptors kept open between scrapes (see [`crate::pseudo`]).
pub fn read_text(path: impl AsRef<Path>) -> std::io::Result<String> {
    read_text_extent(path.as_ref(), crate::pseudo::Extent::Whole)
}

/// Reads as much of a file as `extent` says, as text.
pub fn read_text_extent(path: &Path, extent: crate::pseudo::Extent) -> std::io::Result<String> {
    let bytes = crate::pseudo::read(path, extent)?;
    String::from_utf8(bytes).map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
}

/// Reads a whole file, naming it in the error.
pub fn read(path: &Path) -> Result<String, CollectError> {
    read_text(path).map_err(|e| CollectError::io(path, e))
}

/// Like [`read`], but a missing file means the feature is absent.
pub fn read_or_no_data(path: &Path) -> Result<String, CollectError> {
    match read_text(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(CollectError::NoData(format!(
            "{} does not exist",
            path.display()
        ))),
        other => other.map_err(|e| CollectError::io(path, e)),
    }
}

/// Where the host's pseudo file systems are (`--path.*`), so the exporter can
/// run in a container with the host mounted elsewhere.
#[derive(Debug, Clone)]
pub struct Paths {
    pub procfs: PathBuf,
    pub sysfs: PathBuf,
    pub rootfs: PathBuf,
    pub udev_data: PathBuf,
}

impl Paths {
    pub fn proc(&self, relative: &str) -> PathBuf {
        self.procfs.join(relative)
    }

    pub fn sys(&self, relative: &str) -> PathBuf {
        self.sysfs.join(relative)
    }
}

/// Everything a collector may need to build itself.
pub struct Context<'a> {
    pub paths: &'a Paths,
    pub flags: &'a CollectorFlags,
    /// Names of every enabled collector (some adapt to their neighbours).
    pub enabled: &'a [&'static str],
}

/// How a collector is known: its name (for flags, `collect[]` and the
/// `collector` label), whether it is on by default, and its constructor.
pub struct Registration {
    pub name: &'static str,
    pub enabled_by_default: bool,
    pub build: fn(&Context<'_>) -> Result<Box<dyn Collector>, String>,
}
