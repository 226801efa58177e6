//! Re-reading /proc and /sys files through descriptors kept open between
//! scrapes.
//!
//! For the small pseudo-files a scrape reads, opening is most of the kernel's
//! work: path lookup, setting up the file and its seq_file, and the close.
//! On the benchmark machine a sysfs attribute costs about 11 µs to open, read
//! and close, and 1.5 µs to `pread` again at offset 0, which makes the kernel
//! generate the content anew, exactly as a fresh open would. Regular files
//! (textfile, os-release, fixture trees) are never kept: their content may
//! be replaced by a rename, which a kept descriptor would not see.
//!
//! A kept descriptor whose kernel object went away (device unplugged, CPU
//! offlined) fails with ENODEV: it is dropped and the path opened anew, so a
//! reappearing object is found and a vanished one reads as missing, as
//! before. Renames are the one change a kept descriptor would hide, which is
//! why network devices (renamable, and read by name) are left out here and
//! netclass validates its own (see `netclass.rs`).
//!
//! What is kept is bounded: at most [`budget`] descriptors in all, and a
//! file not read for a few scrapes is closed.

use std::cell::RefCell;
use std::collections::HashMap;
use std::fs::File;
use std::io::Read as _;
use std::os::unix::fs::FileExt as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{LazyLock, Mutex, MutexGuard};

use exporter_kit::exposition::FnvBuildHasher;

/// Kept descriptors in the whole process, against [`budget`].
static KEPT: AtomicUsize = AtomicUsize::new(0);

/// Scrapes started, to close files no scrape reads any more.
static SCRAPE: AtomicU64 = AtomicU64::new(0);

/// A file not read for this many scrapes is closed.
const IDLE_SCRAPES: u64 = 3;

/// A kept file and the last scrape that read it.
struct Entry {
    file: KeptFile,
    last_read: u64,
}

/// Kept files by path.
static FILES: LazyLock<Mutex<HashMap<PathBuf, Entry, FnvBuildHasher>>> =
    LazyLock::new(|| Mutex::new(HashMap::default()));

fn files() -> MutexGuard<'static, HashMap<PathBuf, Entry, FnvBuildHasher>> {
    FILES
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// How many descriptors may be kept: a default scrape on a small machine
/// keeps about 150. Each pins a page of kernel memory for its seq_file
/// buffer, and the soft descriptor limit (often 1024) must leave room for
/// connections and collectors that open directories.
fn budget() -> usize {
    static BUDGET: LazyLock<usize> = LazyLock::new(|| {
        let soft = nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE)
            .map_or(1024, |(soft, _)| soft);
        usize::try_from(soft / 4).unwrap_or(usize::MAX).min(256)
    });
    *BUDGET
}

/// A descriptor counted against the budget while it lives.
pub struct KeptFile(File);

impl KeptFile {
    /// Keeps `file` if it is a /proc or /sys file and the budget allows.
    pub fn keep(file: File) -> Option<KeptFile> {
        if !is_pseudo(&file) {
            return None;
        }
        KeptFile::keep_on_pseudo_fs(file)
    }

    /// Keeps `file`, known to be on /proc or /sys, if the budget allows.
    pub fn keep_on_pseudo_fs(file: File) -> Option<KeptFile> {
        let reserved = KEPT.fetch_update(Ordering::AcqRel, Ordering::Acquire, |kept| {
            (kept < budget()).then_some(kept + 1)
        });
        reserved.is_ok().then_some(KeptFile(file))
    }

    pub fn file(&self) -> &File {
        &self.0
    }
}

impl Drop for KeptFile {
    fn drop(&mut self) {
        KEPT.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Whether `file` is on /proc or /sys.
pub fn is_pseudo(file: &File) -> bool {
    nix::sys::statfs::fstatfs(file).is_ok_and(|fs| is_pseudo_type(fs.filesystem_type()))
}

/// Whether `path` is on /proc or /sys (and not a test tree).
pub fn is_pseudo_path(path: &Path) -> bool {
    nix::sys::statfs::statfs(path).is_ok_and(|fs| is_pseudo_type(fs.filesystem_type()))
}

fn is_pseudo_type(kind: nix::sys::statfs::FsType) -> bool {
    use nix::sys::statfs::{PROC_SUPER_MAGIC, SYSFS_MAGIC};
    kind == PROC_SUPER_MAGIC || kind == SYSFS_MAGIC
}

/// Paths whose descriptor would not keep meaning the same object: a
/// thread's own files belong to the thread that opened them, and network
/// devices can be renamed (another device may then take the old name).
fn may_keep(path: &Path) -> bool {
    let mut components = path.components().map(|c| c.as_os_str());
    let mut previous = None;
    components.all(|component| {
        let keep = component != "thread-self" && !(previous == Some("class") && component == "net");
        previous = component.to_str();
        keep
    })
}

/// How much of a file to read.
#[derive(Clone, Copy)]
pub enum Extent {
    /// To the end of the file.
    Whole,
    /// One read of at most this many bytes: sysfs attributes are produced
    /// whole by the first read, and some (a stuck device) would block on a
    /// second.
    FirstRead(usize),
    /// To the end of a seq_file whose lines are at most this long
    /// (/proc/net/udp pads each to 128 bytes). The kernel fills its buffer,
    /// at least a page, with whole lines until the next would not fit; so a
    /// first read that returns a page less two lines or less has reached
    /// the end, and the read that would confirm it (which walks the whole
    /// socket table again) is skipped.
    LinesUpTo(usize),
}

/// The smallest buffer a seq_file fills per read: one page.
const SEQ_FILE_BUFFER: usize = 4096;

/// Reads `path` as `extent` says, through a kept descriptor when there is
/// one, keeping the descriptor for next time when the file is a pseudo-file.
pub fn read(path: &Path, extent: Extent) -> std::io::Result<Vec<u8>> {
    if !may_keep(path) {
        return read_fresh(&mut File::open(path)?, extent);
    }
    // Taken out of the table while in use, so that two collectors reading
    // the same file at once do not interleave their reads of one seq_file;
    // put back under the same key, which costs no allocation.
    let kept = files().remove_entry(path);
    if let Some((key, entry)) = kept {
        match read_again(entry.file.file(), extent) {
            Ok(bytes) => {
                put_back(key, entry.file);
                return Ok(bytes);
            }
            Err(e) if crate::sysfs::is_absent(&e) => {
                // The attribute is there but refuses this read (EINVAL on a
                // down link): the same answer a fresh open would get.
                put_back(key, entry.file);
                return Err(e);
            }
            // The object is gone (ENODEV) or something unusual happened:
            // a fresh open decides.
            Err(_) => drop(entry),
        }
    }
    let mut file = File::open(path)?;
    let result = read_fresh(&mut file, extent);
    if let Some(kept) = KeptFile::keep(file) {
        put_back(path.to_owned(), kept);
    }
    result
}

fn put_back(path: PathBuf, file: KeptFile) {
    let last_read = SCRAPE.load(Ordering::Acquire);
    files().insert(path, Entry { file, last_read });
}

/// Marks the start of a scrape and closes the files the last few scrapes
/// did not read (a device that went away, a collector no longer asked for).
pub fn next_scrape() {
    let scrape = SCRAPE.fetch_add(1, Ordering::AcqRel) + 1;
    files().retain(|_, entry| entry.last_read + IDLE_SCRAPES >= scrape);
}

/// Reads from the current position with `read(2)`: the first read of a
/// freshly opened file, which may be a FIFO or a socket in a test tree.
pub fn read_fresh(file: &mut File, extent: Extent) -> std::io::Result<Vec<u8>> {
    read_with(extent, |buffer, _| file.read(buffer))
}

/// Reads a kept pseudo-file from offset 0 with `pread(2)`, which makes the
/// kernel generate its content again.
pub fn read_again(file: &File, extent: Extent) -> std::io::Result<Vec<u8>> {
    read_with(extent, |buffer, offset| file.read_at(buffer, offset))
}

/// Where reads land before being copied out at their exact size: one
/// buffer per thread, grown to the largest file read and reused, so a read
/// neither zeroes nor reallocates a fresh buffer every time.
const SCRATCH_START: usize = 4096;

/// A thread keeps at most this much scratch between reads; a larger file
/// (mountinfo of a host with thousands of mounts) gets its own buffer.
const SCRATCH_KEPT: usize = 64 * 1024;

thread_local! {
    static SCRATCH: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

fn read_with(
    extent: Extent,
    mut next: impl FnMut(&mut [u8], u64) -> std::io::Result<usize>,
) -> std::io::Result<Vec<u8>> {
    SCRATCH.with_borrow_mut(|scratch| {
        let wanted = match extent {
            Extent::FirstRead(limit) => limit,
            Extent::Whole | Extent::LinesUpTo(_) => SCRATCH_START,
        };
        if scratch.len() < wanted {
            scratch.resize(wanted, 0);
        }
        let result = match extent {
            Extent::FirstRead(limit) => {
                next(&mut scratch[..limit], 0).map(|n| scratch[..n].to_vec())
            }
            Extent::Whole => read_to_end(scratch, 0, &mut next).map(|n| scratch[..n].to_vec()),
            Extent::LinesUpTo(line) => match next(scratch, 0) {
                // A line that would exactly fill the page does not fit (the
                // kernel formats with room for a NUL): a line of margin more.
                Ok(n) if n + 2 * line <= SEQ_FILE_BUFFER => Ok(scratch[..n].to_vec()),
                Ok(n) => read_to_end(scratch, n, &mut next).map(|n| scratch[..n].to_vec()),
                Err(e) => Err(e),
            },
        };
        if scratch.len() > SCRATCH_KEPT {
            *scratch = Vec::new();
        }
        result
    })
}

/// Reads until end of file into `buffer`, which holds `filled` bytes
/// already, doubling it when full; returns how many bytes it holds.
fn read_to_end(
    buffer: &mut Vec<u8>,
    mut filled: usize,
    next: &mut impl FnMut(&mut [u8], u64) -> std::io::Result<usize>,
) -> std::io::Result<usize> {
    loop {
        if filled == buffer.len() {
            buffer.resize(buffer.len() * 2, 0);
        }
        let n = next(&mut buffer[filled..], filled as u64)?;
        if n == 0 {
            return Ok(filled);
        }
        filled += n;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thread_and_network_device_files_are_never_kept() {
        assert!(may_keep(Path::new("/proc/stat")));
        assert!(may_keep(Path::new("/sys/class/hwmon/hwmon0/temp1_input")));
        assert!(may_keep(Path::new("/proc/net/dev")));
        assert!(!may_keep(Path::new("/proc/thread-self/attr/current")));
        assert!(!may_keep(Path::new(
            "/sys/class/net/eth0/statistics/rx_nohandler"
        )));
        assert!(!may_keep(Path::new("/host/sys/class/net/eth0/ifalias")));
    }

    #[test]
    fn regular_files_are_read_fresh_and_not_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("value");
        std::fs::write(&path, "1\n").unwrap();
        assert_eq!(read(&path, Extent::Whole).unwrap(), b"1\n");
        assert!(!files().contains_key(&path));
        // Replaced by a rename, as textfile writers do: the new content.
        let staged = dir.path().join("staged");
        std::fs::write(&staged, "2\n").unwrap();
        std::fs::rename(&staged, &path).unwrap();
        assert_eq!(read(&path, Extent::Whole).unwrap(), b"2\n");
        assert_eq!(read(&path, Extent::FirstRead(1)).unwrap(), b"2");
    }

    #[test]
    fn kept_proc_files_read_fresh_content() {
        let path = Path::new("/proc/self/stat");
        let first = read(path, Extent::Whole).unwrap();
        assert!(files().contains_key(path), "a /proc file is kept");
        // Field 14 (utime) and others change; the file is re-generated at
        // each read, so reading it again yields a whole, parseable line.
        let again = read(path, Extent::Whole).unwrap();
        assert!(again.ends_with(b"\n") && again.len() > 50);
        assert_eq!(
            first.split(|&b| b == b' ').next(),
            again.split(|&b| b == b' ').next()
        );
        let mounts = Path::new("/proc/self/mountinfo");
        read(mounts, Extent::Whole).unwrap();
        assert_eq!(
            read(mounts, Extent::Whole).unwrap(),
            std::fs::read(mounts).unwrap()
        );
    }

    #[test]
    fn short_lines_read_past_a_page_when_there_is_more() {
        // 50 sockets make /proc/net/udp over a page: the short cut must not
        // stop at the first page.
        let sockets: Vec<std::net::UdpSocket> = (0..50)
            .map(|_| std::net::UdpSocket::bind("127.0.0.1:0").unwrap())
            .collect();
        let text = read(Path::new("/proc/net/udp"), Extent::LinesUpTo(128)).unwrap();
        let text = String::from_utf8(text).unwrap();
        assert!(text.len() > SEQ_FILE_BUFFER);
        assert!(text.lines().all(|line| line.len() == 127), "{text}");
        for socket in &sockets {
            let port = format!(":{:04X} ", socket.local_addr().unwrap().port());
            assert!(text.contains(&port), "port {port} missing from {text}");
        }
        drop(sockets);
        // And a short file is read whole in one go.
        let short = read(Path::new("/proc/net/udp"), Extent::LinesUpTo(128)).unwrap();
        assert_eq!(short.len() % 128, 0);
        assert!(short.starts_with(b"   sl  local_address"));
    }
}
