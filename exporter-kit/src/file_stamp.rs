//! Telling whether a file changed, for configuration that reloads itself.

use std::path::Path;
use std::time::SystemTime;

/// What identifies one version of a file: modification time, size and inode
/// (a config management tool or Kubernetes swapping in a new file changes
/// at least one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stamp {
    modified: Option<SystemTime>,
    len: u64,
    inode: u64,
}

/// The file's current stamp; `None` when it cannot be read. Follows
/// symlinks: Kubernetes swaps mounted secrets by relinking.
pub fn stamp(path: &Path) -> Option<Stamp> {
    Some(Stamp::of(&std::fs::metadata(path).ok()?))
}

impl Stamp {
    /// The stamp of a file whose metadata is at hand.
    pub fn of(meta: &std::fs::Metadata) -> Stamp {
        use std::os::unix::fs::MetadataExt as _;
        Stamp {
            modified: meta.modified().ok(),
            len: meta.len(),
            inode: meta.ino(),
        }
    }
}
