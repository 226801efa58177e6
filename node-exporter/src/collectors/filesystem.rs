//! Filesystem sizes and states for the mounts in /proc/1/mountinfo.
//!
//! statfs(2) on a dead NFS server or a stuck FUSE daemon never returns. Each
//! mount is stat'ed on a worker thread and waited for at most
//! `--collector.filesystem.mount-timeout`; a mount over time is reported
//! with `device_error="mountpoint timeout"` and is not stat'ed again until
//! the stuck call returns, so at most one thread ever waits on it.
//!
//! The mount table itself is read, parsed and filtered only when it changed:
//! procfs flags every mount, unmount and remount on an open mountinfo with
//! `POLLPRI`, so a scrape of an unchanged table costs one `poll(2)`.

use std::collections::{HashSet, VecDeque};
use std::fs::File;
use std::io::Read as _;
use std::os::fd::AsFd as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use exporter_kit::exposition::{MetricSet, MetricType};
use regex::Regex;

use crate::collector::{CollectError, Collector, Registration};
use crate::device_filter::{Memo, replace_deprecated};

pub const REGISTRATION: Registration = Registration {
    name: "filesystem",
    enabled_by_default: true,
    build: |context| {
        let flags = &context.flags.filesystem;
        let (mount_points, fs_types) = filters(flags)?;
        Ok(Box::new(Filesystem {
            mountinfo: context.paths.proc("1/mountinfo"),
            self_mountinfo: context.paths.proc("self/mountinfo"),
            rootfs: context.paths.rootfs.clone(),
            mount_points,
            fs_types,
            table: Mutex::new(None),
            stats: StatPool::new(flags.stat_workers.max(1), flags.mount_timeout, statfs),
        }))
    },
};

const DEFAULT_MOUNT_POINTS_EXCLUDE: &str =
    "^/(dev|proc|run/credentials/.+|sys|var/lib/docker/.+|var/lib/containers/storage/.+)($|/)";
const DEFAULT_FS_TYPES_EXCLUDE: &str = "^(autofs|binfmt_misc|bpf|cgroup2?|configfs|debugfs|devpts|devtmpfs|fusectl|hugetlbfs|iso9660|mqueue|nsfs|overlay|proc|procfs|pstore|rpc_pipefs|securityfs|selinuxfs|squashfs|erofs|sysfs|tracefs)$";

#[derive(Debug, Clone, clap::Args)]
#[group(skip)]
pub struct Flags {
    /// Regexp of mount points to exclude for filesystem collector. (mutually exclusive to mount-points-include)
    #[arg(
        id = "collector.filesystem.mount-points-exclude",
        long = "collector.filesystem.mount-points-exclude",
        value_name = "REGEX"
    )]
    pub mount_points_exclude: Option<String>,
    #[arg(
        id = "collector.filesystem.ignored-mount-points",
        long = "collector.filesystem.ignored-mount-points",
        value_name = "REGEX",
        hide = true
    )]
    pub old_mount_points_exclude: Option<String>,
    /// Regexp of mount points to include for filesystem collector. (mutually exclusive to mount-points-exclude)
    #[arg(
        id = "collector.filesystem.mount-points-include",
        long = "collector.filesystem.mount-points-include",
        value_name = "REGEX"
    )]
    pub mount_points_include: Option<String>,
    /// Regexp of filesystem types to exclude for filesystem collector. (mutually exclusive to fs-types-include)
    #[arg(
        id = "collector.filesystem.fs-types-exclude",
        long = "collector.filesystem.fs-types-exclude",
        value_name = "REGEX"
    )]
    pub fs_types_exclude: Option<String>,
    #[arg(
        id = "collector.filesystem.ignored-fs-types",
        long = "collector.filesystem.ignored-fs-types",
        value_name = "REGEX",
        hide = true
    )]
    pub old_fs_types_exclude: Option<String>,
    /// Regexp of filesystem types to include for filesystem collector. (mutually exclusive to fs-types-exclude)
    #[arg(
        id = "collector.filesystem.fs-types-include",
        long = "collector.filesystem.fs-types-include",
        value_name = "REGEX"
    )]
    pub fs_types_include: Option<String>,
    /// How long to wait for a mount to respond before marking it as stale.
    #[arg(
        id = "collector.filesystem.mount-timeout",
        long = "collector.filesystem.mount-timeout",
        value_name = "DURATION",
        default_value = "5s",
        value_parser = humantime::parse_duration
    )]
    pub mount_timeout: Duration,
    /// How many stat calls to process simultaneously.
    #[arg(
        id = "collector.filesystem.stat-workers",
        long = "collector.filesystem.stat-workers",
        value_name = "N",
        default_value_t = 4
    )]
    pub stat_workers: usize,
}

/// An include or exclude filter, the exclude default applying only when no
/// include is given.
struct Filter {
    regex: Regex,
    include: bool,
    answers: Memo,
}

impl Filter {
    fn new(
        exclude: &Option<String>,
        include: &Option<String>,
        default_exclude: &str,
        what: &str,
    ) -> Result<Filter, String> {
        let (pattern, include) = match (exclude.as_deref(), include.as_deref()) {
            (Some(e), Some(i)) if !e.is_empty() && !i.is_empty() => {
                return Err(format!(
                    "--collector.filesystem.{what}-exclude and --collector.filesystem.{what}-include are mutually exclusive"
                ));
            }
            (_, Some(i)) if !i.is_empty() => (i, true),
            (Some(e), _) => (e, false),
            (None, _) => (default_exclude, false),
        };
        let regex =
            Regex::new(pattern).map_err(|e| format!("--collector.filesystem.{what}: {e}"))?;
        Ok(Filter {
            regex,
            include,
            answers: Memo::default(),
        })
    }

    fn ignored(&self, value: &str) -> bool {
        if self.regex.as_str().is_empty() {
            return false;
        }
        self.answers
            .answer(value, || self.regex.is_match(value) != self.include)
    }
}

fn filters(flags: &Flags) -> Result<(Filter, Filter), String> {
    let mount_points_exclude = replace_deprecated(
        flags.old_mount_points_exclude.as_deref(),
        flags.mount_points_exclude.as_deref(),
        "collector.filesystem.ignored-mount-points",
        "collector.filesystem.mount-points-exclude",
    )?;
    let fs_types_exclude = replace_deprecated(
        flags.old_fs_types_exclude.as_deref(),
        flags.fs_types_exclude.as_deref(),
        "collector.filesystem.ignored-fs-types",
        "collector.filesystem.fs-types-exclude",
    )?;
    Ok((
        Filter::new(
            &mount_points_exclude,
            &flags.mount_points_include,
            DEFAULT_MOUNT_POINTS_EXCLUDE,
            "mount-points",
        )?,
        Filter::new(
            &fs_types_exclude,
            &flags.fs_types_include,
            DEFAULT_FS_TYPES_EXCLUDE,
            "fs-types",
        )?,
    ))
}

struct Filesystem {
    mountinfo: PathBuf,
    self_mountinfo: PathBuf,
    rootfs: PathBuf,
    mount_points: Filter,
    fs_types: Filter,
    /// The mounts of the last scrape, while the mount table is unchanged.
    table: Mutex<Option<MountTable>>,
    stats: StatPool,
}

/// The mounts to report (filtered, deduplicated, their mount points without
/// the rootfs prefix) and where to stat each.
struct MountTable {
    mounts: Vec<Mount>,
    paths: Vec<PathBuf>,
    /// The mountinfo they were read from, kept open to learn of changes;
    /// `None` when it is not a procfs file (a fixture tree), which is then
    /// read anew every scrape.
    watched: Option<File>,
}

impl MountTable {
    /// Whether the table still holds: procfs raises `POLLPRI` (with
    /// `POLLERR`) on a watched mountinfo once the mount namespace changed,
    /// and clears it by this very poll.
    fn unchanged(&self) -> bool {
        use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
        let Some(file) = &self.watched else {
            return false;
        };
        let mut fds = [PollFd::new(file.as_fd(), PollFlags::POLLPRI)];
        matches!(poll(&mut fds, PollTimeout::ZERO), Ok(0))
    }
}

/// One line of mountinfo, as node_exporter labels it.
#[derive(Debug, Clone, PartialEq)]
struct Mount {
    device: String,
    mount_point: String,
    fs_type: String,
    major: String,
    minor: String,
    read_only: bool,
}

fn parse_mountinfo(text: &str) -> Result<Vec<Mount>, String> {
    let mut mounts = Vec::new();
    for line in text.lines().filter(|l| !l.is_empty()) {
        let parts: Vec<&str> = line.split(' ').collect();
        if parts.len() < 10 {
            return Err(format!("Too few fields in mount string: {line}"));
        }
        let n = parts.len();
        if parts[n - 4] != "-" {
            return Err(format!(
                "couldn't find separator in expected field: {}",
                parts[n - 4]
            ));
        }
        parts[0]
            .parse::<i64>()
            .map_err(|_| format!("invalid mount id in {line:?}"))?;
        parts[1]
            .parse::<i64>()
            .map_err(|_| format!("invalid parent id in {line:?}"))?;
        let (major, minor) = parts[2]
            .split_once(':')
            .filter(|(a, b)| a.parse::<i64>().is_ok() && b.parse::<i64>().is_ok())
            .ok_or_else(|| format!("malformed mount point MajorMinorVer: {:?}", parts[2]))?;
        let has_ro = |options: &str| {
            options
                .split(',')
                .any(|o| o.split('=').next() == Some("ro"))
        };
        mounts.push(Mount {
            device: parts[n - 2].to_owned(),
            mount_point: parts[4].replace("\\040", " ").replace("\\011", "\t"),
            fs_type: parts[n - 3].to_owned(),
            major: major
                .parse::<i64>()
                .map(|v| v.to_string())
                .unwrap_or_default(),
            minor: minor
                .parse::<i64>()
                .map(|v| v.to_string())
                .unwrap_or_default(),
            read_only: has_ro(parts[5]) || has_ro(parts[n - 1]),
        });
    }
    Ok(mounts)
}

/// statfs(2) figures node_exporter reports.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Usage {
    size: f64,
    free: f64,
    avail: f64,
    files: f64,
    files_free: f64,
}

fn statfs(path: &Path) -> Result<Usage, String> {
    let stat = nix::sys::statfs::statfs(path).map_err(go_errno_text)?;
    let block_size = stat.block_size() as f64;
    Ok(Usage {
        size: stat.blocks() as f64 * block_size,
        free: stat.blocks_free() as f64 * block_size,
        avail: stat.blocks_available() as f64 * block_size,
        files: stat.files() as f64,
        files_free: stat.files_free() as f64,
    })
}

/// The error text Go's syscall package gives, which node_exporter puts in
/// the `device_error` label.
fn go_errno_text(errno: nix::errno::Errno) -> String {
    use nix::errno::Errno;
    match errno {
        Errno::EACCES => "permission denied".into(),
        Errno::ENOENT => "no such file or directory".into(),
        Errno::EIO => "input/output error".into(),
        Errno::ENOTCONN => "transport endpoint is not connected".into(),
        Errno::ESTALE => "stale NFS file handle".into(),
        Errno::ELOOP => "too many levels of symbolic links".into(),
        Errno::EPERM => "operation not permitted".into(),
        Errno::ENODEV => "no such device".into(),
        Errno::EOVERFLOW => "value too large for defined data type".into(),
        Errno::ENOTDIR => "not a directory".into(),
        Errno::ETIMEDOUT => "connection timed out".into(),
        Errno::EHOSTDOWN => "host is down".into(),
        Errno::EHOSTUNREACH => "no route to host".into(),
        Errno::ENOSYS => "function not implemented".into(),
        other => format!("errno {}", other as i32),
    }
}

type StatFn = fn(&Path) -> Result<Usage, String>;

/// What came of stat'ing one mount.
#[derive(Debug, Clone, PartialEq)]
enum StatOutcome {
    Done(Result<Usage, String>),
    /// Over time now or in an earlier scrape and not back yet.
    TimedOut,
}

/// Runs statfs calls on persistent worker threads with a per-mount timeout
/// and keeps the set of mounts whose call is still stuck. A worker lost to a
/// stuck call is replaced; when the call returns, the extra worker retires.
///
/// A scrape's mounts go to one worker as one batch, stat'ed in turn: a
/// statfs that answers takes microseconds, and waking a thread per mount
/// (and the scrape's thread per answer) cost more than the calls. When a
/// call hangs, the mounts after it go to another worker as a new batch, so
/// at most `--collector.filesystem.stat-workers` calls are ever in flight.
struct StatPool {
    timeout: Duration,
    shared: Arc<PoolShared>,
}

struct PoolShared {
    stat: StatFn,
    target_workers: usize,
    live_workers: AtomicUsize,
    stuck: Mutex<HashSet<PathBuf>>,
    queue: Mutex<VecDeque<Arc<Batch>>>,
    queued: Condvar,
}

/// Mounts of one scrape, by their index in the scrape's list.
struct Batch {
    mounts: Vec<(usize, PathBuf)>,
    state: Mutex<BatchState>,
    /// Signalled when the worker has gone through the batch.
    finished: Condvar,
}

struct BatchState {
    /// The position in `mounts` the worker takes next.
    next: usize,
    /// The position whose call is running now, if one is.
    running: Option<usize>,
    /// When that call started; before the first, when the batch was queued.
    since: Instant,
    results: Vec<(usize, Result<Usage, String>)>,
    /// Set by the scrape when it gave up on the worker: the worker leaves
    /// the rest of the batch (handed to another) once its call returns.
    abandoned: bool,
    done: bool,
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

impl PoolShared {
    fn spawn_worker(self: &Arc<Self>) {
        let shared = self.clone();
        shared.live_workers.fetch_add(1, Ordering::AcqRel);
        let spawned = std::thread::Builder::new().name("statfs".into()).spawn({
            let shared = shared.clone();
            move || shared.work()
        });
        if spawned.is_err() {
            shared.live_workers.fetch_sub(1, Ordering::AcqRel);
        }
    }

    fn work(&self) {
        loop {
            let batch = {
                let mut queue = lock(&self.queue);
                loop {
                    match queue.pop_front() {
                        Some(batch) => break batch,
                        None => queue = self.queued.wait(queue).unwrap_or_else(|p| p.into_inner()),
                    }
                }
            };
            if self.run(&batch) == Retire::Yes {
                return;
            }
        }
    }

    /// Stats the batch's mounts in turn until it is done or abandoned.
    fn run(&self, batch: &Batch) -> Retire {
        loop {
            let (index, path) = {
                let mut state = lock(&batch.state);
                if state.abandoned || state.next == batch.mounts.len() {
                    state.done = true;
                    batch.finished.notify_one();
                    return Retire::No;
                }
                let position = state.next;
                state.next += 1;
                state.running = Some(position);
                state.since = Instant::now();
                &batch.mounts[position]
            };
            let usage = (self.stat)(path);
            {
                let mut state = lock(&batch.state);
                state.running = None;
                if !state.abandoned {
                    state.results.push((*index, usage));
                }
            }
            if lock(&self.stuck).remove(path) {
                log::info!(mountpoint:% = path.display(); "Mount point has recovered, monitoring will resume");
                // This worker was replaced while it was stuck.
                if self.live_workers.load(Ordering::Acquire) > self.target_workers {
                    self.live_workers.fetch_sub(1, Ordering::AcqRel);
                    return Retire::Yes;
                }
            }
        }
    }
}

#[derive(PartialEq)]
enum Retire {
    Yes,
    No,
}

impl StatPool {
    fn new(workers: usize, timeout: Duration, stat: StatFn) -> StatPool {
        let shared = Arc::new(PoolShared {
            stat,
            target_workers: workers,
            live_workers: AtomicUsize::new(0),
            stuck: Mutex::new(HashSet::new()),
            queue: Mutex::new(VecDeque::new()),
            queued: Condvar::new(),
        });
        for _ in 0..workers {
            shared.spawn_worker();
        }
        StatPool { timeout, shared }
    }

    #[cfg(test)]
    fn is_stuck(&self, path: &Path) -> bool {
        lock(&self.shared.stuck).contains(path)
    }

    /// Stats every path, each within the timeout.
    fn stat_all(&self, paths: &[PathBuf]) -> Vec<StatOutcome> {
        let mut outcomes: Vec<Option<StatOutcome>> = vec![None; paths.len()];
        let mut pending: Vec<(usize, PathBuf)> = {
            let stuck = lock(&self.shared.stuck);
            paths
                .iter()
                .enumerate()
                .filter(|(index, path)| {
                    let known_stuck = stuck.contains(*path);
                    if known_stuck {
                        outcomes[*index] = Some(StatOutcome::TimedOut);
                    }
                    !known_stuck
                })
                .map(|(index, path)| (index, path.clone()))
                .collect()
        };
        while !pending.is_empty() {
            let batch = Arc::new(Batch {
                mounts: std::mem::take(&mut pending),
                state: Mutex::new(BatchState {
                    next: 0,
                    running: None,
                    since: Instant::now(),
                    results: Vec::new(),
                    abandoned: false,
                    done: false,
                }),
                finished: Condvar::new(),
            });
            lock(&self.shared.queue).push_back(batch.clone());
            self.shared.queued.notify_one();
            pending = self.wait(&batch, &mut outcomes);
        }
        outcomes
            .into_iter()
            .map(|o| o.unwrap_or(StatOutcome::TimedOut))
            .collect()
    }

    /// Waits for `batch`, recording its results; returns the mounts left to
    /// hand to another worker when a call in it hung.
    fn wait(&self, batch: &Batch, outcomes: &mut [Option<StatOutcome>]) -> Vec<(usize, PathBuf)> {
        let mut state = lock(&batch.state);
        loop {
            for (index, usage) in state.results.drain(..) {
                outcomes[index] = Some(StatOutcome::Done(usage));
            }
            if state.done {
                return Vec::new();
            }
            let deadline = state.since + self.timeout;
            let now = Instant::now();
            if now < deadline {
                state = batch
                    .finished
                    .wait_timeout(state, deadline - now)
                    .unwrap_or_else(|p| p.into_inner())
                    .0;
                continue;
            }
            state.abandoned = true;
            let rest = batch.mounts[state.next..].to_vec();
            let Some(position) = state.running else {
                // No worker took the batch in time: every one is stuck.
                // (Between two calls the worker is not late: the rest goes on.)
                return if state.next == 0 { Vec::new() } else { rest };
            };
            let (index, path) = &batch.mounts[position];
            log::error!(mountpoint:% = path.display(); "Mount point timed out, it is being labeled as stale and will not be monitored again until it is responsive");
            lock(&self.shared.stuck).insert(path.clone());
            outcomes[*index] = Some(StatOutcome::TimedOut);
            // The stuck worker is lost for now: replace it.
            self.shared.spawn_worker();
            return rest;
        }
    }
}

impl Filesystem {
    /// Opens /proc/1/mountinfo, or the exporter's own when PID 1's is not
    /// there, and reads it whole.
    fn read_mountinfo(&self) -> Result<(&Path, File, String), CollectError> {
        let (path, mut file) = match File::open(&self.mountinfo) {
            Ok(file) => (self.mountinfo.as_path(), file),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let path = self.self_mountinfo.as_path();
                (
                    path,
                    File::open(path).map_err(|e| CollectError::io(path, e))?,
                )
            }
            Err(e) => return Err(CollectError::io(&self.mountinfo, e)),
        };
        let mut text = String::new();
        file.read_to_string(&mut text)
            .map_err(|e| CollectError::io(path, e))?;
        Ok((path, file, text))
    }

    /// The mount table as this collector reports it: the mounts its filters
    /// let through, each once.
    fn load_table(&self) -> Result<MountTable, CollectError> {
        let (path, file, text) = self.read_mountinfo()?;
        let parsed = parse_mountinfo(&text).map_err(|e| CollectError::parse(path, e))?;
        let mut mounts = Vec::new();
        let mut seen = HashSet::new();
        for mut mount in parsed {
            mount.mount_point = self.strip_rootfs(&mount.mount_point);
            if self.mount_points.ignored(&mount.mount_point)
                || self.fs_types.ignored(&mount.fs_type)
            {
                continue;
            }
            let key = (
                mount.device.clone(),
                mount.mount_point.clone(),
                mount.fs_type.clone(),
                mount.major.clone(),
                mount.minor.clone(),
            );
            if seen.insert(key) {
                mounts.push(mount);
            }
        }
        let paths = mounts
            .iter()
            .map(|m| self.rootfs.join(m.mount_point.trim_start_matches('/')))
            .collect();
        Ok(MountTable {
            mounts,
            paths,
            watched: crate::pseudo::is_pseudo(&file).then_some(file),
        })
    }

    /// The mount point as the host sees it: without the `--path.rootfs` prefix.
    fn strip_rootfs(&self, mount_point: &str) -> String {
        strip_rootfs(&self.rootfs.to_string_lossy(), mount_point)
    }
}

/// `/host/root/boot` → `/boot` with `--path.rootfs=/host/root`; mounts
/// outside the rootfs (`/host/rootfs2`, `/etc/hosts`) stay as they are.
fn strip_rootfs(rootfs: &str, mount_point: &str) -> String {
    let rootfs = rootfs.trim_end_matches('/');
    if rootfs.is_empty() {
        return mount_point.to_owned();
    }
    match mount_point.strip_prefix(rootfs) {
        Some("") => "/".to_owned(),
        Some(stripped) if stripped.starts_with('/') => stripped.to_owned(),
        _ => mount_point.to_owned(),
    }
}

const FAMILIES: [(&str, &str); 5] = [
    ("node_filesystem_size_bytes", "Filesystem size in bytes."),
    (
        "node_filesystem_free_bytes",
        "Filesystem free space in bytes.",
    ),
    (
        "node_filesystem_avail_bytes",
        "Filesystem space available to non-root users in bytes.",
    ),
    ("node_filesystem_files", "Filesystem total file nodes."),
    (
        "node_filesystem_files_free",
        "Filesystem total free file nodes.",
    ),
];

impl Collector for Filesystem {
    fn update(&self, out: &mut MetricSet) -> Result<(), CollectError> {
        let mut table = lock(&self.table);
        if !table.as_ref().is_some_and(MountTable::unchanged) {
            *table = None;
            *table = Some(self.load_table()?);
        }
        let MountTable { mounts, paths, .. } = table.as_ref().expect("the table was just loaded");
        let outcomes = self.stats.stat_all(paths);

        let rows: Vec<Row> = mounts
            .iter()
            .zip(outcomes)
            .map(|(mount, outcome)| {
                let (device_error, usage) = match outcome {
                    StatOutcome::Done(Ok(usage)) => (String::new(), Some(usage)),
                    StatOutcome::Done(Err(text)) => (text, None),
                    StatOutcome::TimedOut => ("mountpoint timeout".to_owned(), None),
                };
                Row {
                    mount,
                    device_error,
                    usage,
                }
            })
            .collect();

        let gauge = MetricType::Gauge;
        let family = out.family(
            "node_filesystem_device_error",
            "Whether an error occurred while getting statistics for the given device.",
            gauge,
        );
        for row in &rows {
            family.sample(&row.labels(), if row.usage.is_none() { 1.0 } else { 0.0 });
        }
        let family = out.family(
            "node_filesystem_readonly",
            "Filesystem read-only status.",
            gauge,
        );
        for row in &rows {
            family.sample(&row.labels(), if row.mount.read_only { 1.0 } else { 0.0 });
        }
        for (index, (name, help)) in FAMILIES.iter().enumerate() {
            let family = out.family(*name, *help, gauge);
            for row in &rows {
                if let Some(u) = row.usage {
                    family.sample(
                        &row.labels(),
                        [u.size, u.free, u.avail, u.files, u.files_free][index],
                    );
                }
            }
        }
        // Purgeable space is a macOS notion; node_exporter reports 0 on Linux.
        let family = out.family(
            "node_filesystem_purgeable_bytes",
            "Filesystem space available including purgeable space (MacOS specific).",
            gauge,
        );
        for row in rows.iter().filter(|r| r.usage.is_some()) {
            family.sample(&row.labels(), 0.0);
        }
        let family = out.family(
            "node_filesystem_mount_info",
            "Filesystem mount information.",
            gauge,
        );
        for row in rows.iter().filter(|r| r.usage.is_some()) {
            let m = row.mount;
            family.sample(
                &[
                    ("device", &m.device),
                    ("major", &m.major),
                    ("minor", &m.minor),
                    ("mountpoint", &m.mount_point),
                ],
                1.0,
            );
        }
        Ok(())
    }
}

/// A mount and what stat'ing it gave.
struct Row<'a> {
    mount: &'a Mount,
    device_error: String,
    usage: Option<Usage>,
}

impl Row<'_> {
    fn labels(&self) -> [(&'static str, &str); 4] {
        [
            ("device", &self.mount.device),
            ("mountpoint", &self.mount.mount_point),
            ("fstype", &self.mount.fs_type),
            ("device_error", &self.device_error),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mountinfo_lines() {
        let text = "22 27 0:21 / /proc rw,relatime - proc proc rw\n\
                    29 27 253:1 / /mnt/with\\040space ro,relatime shared:1 - ext4 /dev/mapper/vg-data rw\n\
                    30 27 0:50 / /srv rw - nfs4 server:/export rw,ro\n";
        let mounts = parse_mountinfo(text).unwrap();
        assert_eq!(mounts[1].mount_point, "/mnt/with space");
        assert_eq!(
            (mounts[1].major.as_str(), mounts[1].minor.as_str()),
            ("253", "1")
        );
        assert!(mounts[1].read_only);
        assert!(mounts[2].read_only, "super options count too");
        assert!(!mounts[0].read_only);
        assert!(parse_mountinfo("1 2 3\n").is_err());
        assert!(parse_mountinfo("a 27 0:21 / /proc rw,relatime - proc proc rw\n").is_err());
        assert!(parse_mountinfo("22 27 x / /proc rw,relatime - proc proc rw\n").is_err());
        assert!(parse_mountinfo("22 27 0:21 / /proc rw relatime x proc proc rw\n").is_err());
    }

    #[test]
    fn rootfs_prefix_is_stripped_from_mount_points() {
        assert_eq!(strip_rootfs("/", "/boot"), "/boot");
        assert_eq!(strip_rootfs("/host/root", "/host/root"), "/");
        assert_eq!(strip_rootfs("/host/root/", "/host/root/boot"), "/boot");
        assert_eq!(strip_rootfs("/host/root", "/host/rootfs2"), "/host/rootfs2");
        assert_eq!(strip_rootfs("/host/root", "/etc/hosts"), "/etc/hosts");
    }

    #[test]
    fn default_filters() {
        let flags = Flags {
            mount_points_exclude: None,
            old_mount_points_exclude: None,
            mount_points_include: None,
            fs_types_exclude: None,
            old_fs_types_exclude: None,
            fs_types_include: None,
            mount_timeout: Duration::from_secs(5),
            stat_workers: 4,
        };
        let (mount_points, fs_types) = filters(&flags).unwrap();
        assert!(mount_points.ignored("/proc/sys") && mount_points.ignored("/var/lib/docker/x"));
        assert!(!mount_points.ignored("/") && !mount_points.ignored("/var/lib/dockerd"));
        assert!(!fs_types.ignored("tmpfs") && fs_types.ignored("cgroup2"));
        let include = Flags {
            mount_points_include: Some("^/data".into()),
            ..flags.clone()
        };
        let (mount_points, _) = filters(&include).unwrap();
        assert!(!mount_points.ignored("/data/x") && mount_points.ignored("/"));
        let both = Flags {
            mount_points_include: Some("a".into()),
            mount_points_exclude: Some("b".into()),
            ..flags.clone()
        };
        assert!(filters(&both).is_err());
    }

    #[test]
    fn deprecated_exclude_flags_stand_in_for_the_new_ones() {
        let flags = Flags {
            mount_points_exclude: None,
            old_mount_points_exclude: Some("^/scratch".into()),
            mount_points_include: None,
            fs_types_exclude: None,
            old_fs_types_exclude: Some("^tmpfs$".into()),
            fs_types_include: None,
            mount_timeout: Duration::from_secs(5),
            stat_workers: 4,
        };
        let (mount_points, fs_types) = filters(&flags).unwrap();
        assert!(mount_points.ignored("/scratch/a") && !mount_points.ignored("/proc"));
        assert!(fs_types.ignored("tmpfs") && !fs_types.ignored("cgroup2"));
        let both = Flags {
            fs_types_exclude: Some("^nfs$".into()),
            ..flags
        };
        assert_eq!(
            filters(&both).err().as_deref(),
            Some(
                "--collector.filesystem.ignored-fs-types and --collector.filesystem.fs-types-exclude are mutually exclusive"
            )
        );
    }

    /// Calls of [`slow_stat`] on a stuck path.
    static STUCK_CALLS: AtomicUsize = AtomicUsize::new(0);

    /// A stat function that hangs on paths containing "stuck" until the
    /// release file exists.
    fn slow_stat(path: &Path) -> Result<Usage, String> {
        if path.to_string_lossy().contains("stuck") {
            STUCK_CALLS.fetch_add(1, Ordering::AcqRel);
            let release = path.with_extension("release");
            while !release.exists() {
                std::thread::sleep(Duration::from_millis(5));
            }
        }
        Ok(Usage {
            size: 1.0,
            free: 1.0,
            avail: 1.0,
            files: 1.0,
            files_free: 1.0,
        })
    }

    #[test]
    fn a_stuck_mount_times_out_alone_and_is_skipped_until_it_recovers() {
        let dir = tempfile::tempdir().unwrap();
        let stuck = dir.path().join("stuck");
        let fine = dir.path().join("fine");
        let pool = StatPool::new(1, Duration::from_millis(200), slow_stat);

        let outcomes = pool.stat_all(&[stuck.clone(), fine.clone()]);
        assert_eq!(outcomes[0], StatOutcome::TimedOut);
        assert!(
            matches!(outcomes[1], StatOutcome::Done(Ok(_))),
            "the other mount is served by a replacement worker"
        );

        // Still stuck: reported without calling statfs on it again.
        let outcomes = pool.stat_all(&[stuck.clone(), fine.clone()]);
        assert_eq!(outcomes[0], StatOutcome::TimedOut);
        assert!(matches!(outcomes[1], StatOutcome::Done(Ok(_))));
        assert_eq!(
            STUCK_CALLS.load(Ordering::Acquire),
            1,
            "no second call on the stuck mount"
        );

        // Once the call returns, the mount is stat'ed again.
        std::fs::write(stuck.with_extension("release"), b"").unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        while pool.is_stuck(&stuck) {
            assert!(Instant::now() < deadline, "the stuck call never came back");
            std::thread::sleep(Duration::from_millis(5));
        }
        assert!(matches!(
            pool.stat_all(&[stuck])[0],
            StatOutcome::Done(Ok(_))
        ));
    }
}
