//! Reading sysfs attributes the way node_exporter's procfs library does.

use std::path::Path;

/// One `read(2)` of at most 128 bytes, whitespace trimmed: sysfs attributes
/// are produced whole by the first read, and some (a stuck device) would
/// block forever on a second.
pub fn read_attribute(path: &Path) -> std::io::Result<String> {
    let bytes = crate::pseudo::read(path, crate::pseudo::Extent::FirstRead(ATTRIBUTE_SIZE))?;
    Ok(attribute_text(&bytes))
}

/// The most [`read_attribute`] reads: node_exporter's limit.
pub const ATTRIBUTE_SIZE: usize = 128;

/// An attribute's bytes as text, whitespace trimmed.
pub fn attribute_text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).trim().to_owned()
}

/// Errors for which an attribute is simply treated as absent: the file is
/// missing, root-only, or the driver refuses it on this device (EINVAL on a
/// down link, EOPNOTSUPP, ENODATA).
pub fn is_absent(error: &std::io::Error) -> bool {
    use std::io::ErrorKind;
    const EINVAL: i32 = 22;
    const ENODATA: i32 = 61;
    const EOPNOTSUPP: i32 = 95;
    matches!(
        error.kind(),
        ErrorKind::NotFound | ErrorKind::PermissionDenied | ErrorKind::InvalidInput
    ) || matches!(error.raw_os_error(), Some(EINVAL | ENODATA | EOPNOTSUPP))
}

/// Subdirectory (or symlinked directory) names of `dir` starting with
/// `prefix` followed by a digit, sorted by name as Go's glob sorts them.
pub fn numbered_entries(dir: &Path, prefix: &str) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str().map(str::to_owned))
        .filter(|name| {
            name.strip_prefix(prefix)
                .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_digit()))
        })
        .collect();
    names.sort();
    names
}

/// The entry names of a directory such as /sys/class/watchdog, sorted. The
/// directory missing (or any error of kind `absent`) means the hardware or
/// driver is not there: `NoData` with `reason`.
pub fn class_entries(
    dir: &Path,
    absent: &[std::io::ErrorKind],
    reason: &str,
) -> Result<Vec<String>, crate::collector::CollectError> {
    use crate::collector::CollectError;
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if absent.contains(&e.kind()) => {
            return Err(CollectError::NoData(reason.to_owned()));
        }
        Err(e) => return Err(CollectError::io(dir, e)),
    };
    let mut names: Vec<String> = entries
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    Ok(names)
}

/// A directory opened once, whose attributes are then opened relative to
/// it: the kernel resolves the (symlinked) directory path a single time
/// instead of once per attribute, which is most of the cost of reading a
/// device's two dozen small files.
pub struct Directory {
    fd: std::os::fd::OwnedFd,
}

impl Directory {
    pub fn open(path: &Path) -> std::io::Result<Directory> {
        use nix::fcntl::OFlag;
        let fd = nix::fcntl::open(
            path,
            OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
            nix::sys::stat::Mode::empty(),
        )?;
        Ok(Directory { fd })
    }

    /// Opens the file `name` in this directory for reading.
    pub fn open_file(&self, name: &str) -> std::io::Result<std::fs::File> {
        use nix::fcntl::OFlag;
        let fd = nix::fcntl::openat(
            &self.fd,
            name,
            OFlag::O_RDONLY | OFlag::O_CLOEXEC,
            nix::sys::stat::Mode::empty(),
        )?;
        Ok(std::fs::File::from(fd))
    }
}
