//! Metrics from `*.prom` files in `--collector.textfile.directory`, written
//! by cron jobs and scripts. A file that does not parse, has timestamps or
//! contradicts another file's HELP is reported and skipped; it never breaks
//! the scrape.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use exporter_kit::exposition::{Family, Label, MetricSet, MetricType, Problem, parse_families};

use crate::collector::{CollectError, Collector, Registration};

pub const REGISTRATION: Registration = Registration {
    name: "textfile",
    enabled_by_default: true,
    build: |context| {
        Ok(Box::new(Textfile {
            directories: context.flags.textfile.directories.clone(),
        }))
    },
};

#[derive(Debug, Clone, clap::Args)]
#[group(skip)]
pub struct Flags {
    /// Directory to read text files with metrics from, supports glob matching. (repeatable)
    #[arg(
        id = "collector.textfile.directory",
        long = "collector.textfile.directory",
        value_name = "DIR"
    )]
    pub directories: Vec<String>,
}

struct Textfile {
    directories: Vec<String>,
}

/// Globs expanded; a pattern matching nothing is used as written.
fn expand(patterns: &[String]) -> Vec<PathBuf> {
    let mut paths = Vec::new();
    for pattern in patterns {
        let matches: Vec<PathBuf> = glob::glob(pattern)
            .map(|found| found.flatten().collect())
            .unwrap_or_default();
        if matches.is_empty() {
            paths.push(PathBuf::from(pattern));
        } else {
            paths.extend(matches);
        }
    }
    paths
}

/// Reads one file: its families (with whether each had HELP) and mtime.
fn process_file(path: &Path) -> Result<(Vec<(Family, bool)>, f64), String> {
    let text = crate::collector::read_text(path)
        .map_err(|e| format!("failed to open textfile data file {path:?}: {e}"))?;
    let families = parse_families(&text).map_err(|e| match e.problem {
        Problem::Timestamp => format!(
            "textfile {path:?} contains unsupported client-side timestamps, skipping entire file"
        ),
        _ => format!("failed to parse textfile data from {path:?}: {e}"),
    })?;
    let modified = std::fs::metadata(path)
        .and_then(|m| m.modified())
        .map_err(|e| format!("failed to stat {path:?}: {e}"))?;
    let seconds = modified
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as f64)
        .unwrap_or(0.0);
    Ok((
        families
            .into_iter()
            .filter(|(f, _)| !f.samples.is_empty())
            .collect(),
        seconds,
    ))
}

/// Gives every sample of a family the union of the family's label names,
/// missing ones empty, as node_exporter does.
fn pad_labels(family: &mut Family) {
    let mut names: Vec<String> = family
        .samples
        .iter()
        .flat_map(|s| s.labels.iter().map(|l| l.name.to_string()))
        .collect();
    names.sort();
    names.dedup();
    for sample in &mut family.samples {
        for name in &names {
            if !sample.labels.iter().any(|l| l.name == name.as_str()) {
                sample.labels.push(Label {
                    name: name.clone().into(),
                    value: Default::default(),
                });
            }
        }
    }
}

impl Collector for Textfile {
    fn update(&self, out: &mut MetricSet) -> Result<(), CollectError> {
        let mut errored = false;
        let mut mtimes: BTreeMap<String, f64> = BTreeMap::new();
        // Per metric name: the first HELP text and whether files disagreed.
        let mut help_by_name: HashMap<String, (String, bool)> = HashMap::new();
        let mut files_by_name: HashMap<String, Vec<String>> = HashMap::new();
        let mut accepted: Vec<(Family, bool)> = Vec::new();

        for directory in expand(&self.directories) {
            let entries = match std::fs::read_dir(&directory) {
                Ok(entries) => entries,
                Err(e) => {
                    if !directory.as_os_str().is_empty() {
                        errored = true;
                        log::error!(path:% = directory.display(), err:% = e; "failed to read textfile collector directory");
                    }
                    continue;
                }
            };
            let mut names: Vec<String> = entries
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|name| name.ends_with(".prom"))
                .collect();
            names.sort();
            for name in names {
                let path = directory.join(&name);
                let shown = path.to_string_lossy().into_owned();
                let (families, mtime) = match process_file(&path) {
                    Ok(result) => result,
                    Err(message) => {
                        errored = true;
                        log::error!(file = name.as_str(), err = message.as_str(); "failed to collect textfile data");
                        continue;
                    }
                };
                for (family, has_help) in families {
                    let name = family.name.to_string();
                    if let Some((first_help, disagreed)) = help_by_name.get_mut(&name)
                        && ((has_help && *first_help != family.help) || *disagreed)
                    {
                        *disagreed = true;
                        errored = true;
                        log::error!(metric = name.as_str(), original_help_text = first_help.as_str(), new_help_text = family.help.as_ref(), file = shown.as_str(); "inconsistent metric help text");
                        continue;
                    }
                    if has_help {
                        help_by_name.insert(name.clone(), (family.help.to_string(), false));
                    }
                    files_by_name.entry(name).or_default().push(shown.clone());
                    accepted.push((family, has_help));
                }
                mtimes.insert(shown, mtime);
            }
        }

        for (mut family, has_help) in accepted {
            if !has_help {
                let files = files_by_name
                    .get(family.name.as_ref())
                    .map(|f| f.join(", "))
                    .unwrap_or_default();
                family.help = format!("Metric read from {files}").into();
            }
            pad_labels(&mut family);
            let target = out.family(family.name.clone(), family.help.clone(), family.kind);
            for sample in family.samples {
                target.push_sample(sample);
            }
        }
        if !mtimes.is_empty() {
            let family = out.family(
                "node_textfile_mtime_seconds",
                "Unixtime mtime of textfiles successfully read.",
                MetricType::Gauge,
            );
            for (file, mtime) in &mtimes {
                family.sample(&[("file", file)], *mtime);
            }
        }
        out.single(
            "node_textfile_scrape_error",
            "1 if there was an error opening or reading a file, 0 otherwise",
            MetricType::Gauge,
            if errored { 1.0 } else { 0.0 },
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(directories: Vec<String>) -> String {
        let mut set = MetricSet::new();
        Textfile { directories }.update(&mut set).unwrap();
        set.finish();
        let mut out = Vec::new();
        exporter_kit::exposition::encode(&set, exporter_kit::exposition::Format::Text, &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn good_bad_and_conflicting_files() {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, text: &str| std::fs::write(dir.path().join(name), text).unwrap();
        write(
            "a.prom",
            "# HELP jobs_done Jobs done.\n# TYPE jobs_done counter\njobs_done{job=\"x\"} 3\nbare 1\n",
        );
        write(
            "b.prom",
            "# HELP jobs_done Something else.\njobs_done{job=\"y\"} 4\n",
        );
        write("c.prom", "stamped 1 1700000000000\n");
        write("d.prom", "broken{ 1\n");
        write("e.prom", "padded{a=\"1\"} 1\npadded{b=\"2\"} 2\n");
        write("ignored.txt", "not_read 1\n");
        let text = collect(vec![dir.path().to_string_lossy().into_owned()]);
        assert!(text.contains("jobs_done{job=\"x\"} 3"), "{text}");
        assert!(
            !text.contains("job=\"y\""),
            "conflicting HELP is dropped: {text}"
        );
        assert!(
            !text.contains("stamped") && !text.contains("broken") && !text.contains("not_read"),
            "{text}"
        );
        assert!(text.contains("# HELP bare Metric read from "), "{text}");
        assert!(
            text.contains("padded{a=\"1\",b=\"\"} 1") && text.contains("padded{a=\"\",b=\"2\"} 2"),
            "{text}"
        );
        assert!(text.contains("node_textfile_scrape_error 1"), "{text}");
        let mtimes = text
            .lines()
            .filter(|l| l.starts_with("node_textfile_mtime_seconds{"))
            .count();
        assert_eq!(mtimes, 3, "a, b and e were read: {text}");
    }

    #[test]
    fn no_directory_configured_is_not_an_error() {
        let text = collect(Vec::new());
        assert!(text.contains("node_textfile_scrape_error 0"), "{text}");
        let text = collect(vec!["/nonexistent/textfiles".into()]);
        assert!(text.contains("node_textfile_scrape_error 1"), "{text}");
    }
}
