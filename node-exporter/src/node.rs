//! One scrape: pick the collectors (`collect[]` / `exclude[]`), run them
//! under the scrape's deadline, and report each one's success and duration as
//! node_exporter does.
//!
//! Worker threads drain the scrape's collectors from a shared queue. One
//! worker runs them all when they are quick, as they usually are (a scrape
//! is about 2 ms of work): each further thread costs wake-ups, context
//! switches and contention on the allocator's one arena. When collectors are
//! still queued after [`HELPER_AFTER`], one is slow or stuck, and another
//! worker is started, up to a few. A collector that blocks (a hung read)
//! thus holds only its worker: the others drain the rest, the scrape answers
//! at its deadline, and the collector is not started again while its earlier
//! run is still stuck.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use exporter_kit::exposition::{MetricSet, MetricType};
use exporter_kit::{BadRequest, Exporter, Scrape};
use tokio::sync::Notify;

use crate::collector::{CollectError, Collector};

/// How long one worker runs the queue alone before another is started.
const HELPER_AFTER: Duration = Duration::from_millis(10);

/// An enabled collector and whether a run of it is still in progress.
struct Slot {
    name: &'static str,
    collector: Box<dyn Collector>,
    /// Set while a worker is inside `update`. A collector stuck in a blocking
    /// read keeps it set, and later scrapes report it failed at once instead
    /// of stacking up more stuck threads.
    running: AtomicBool,
    /// How many families the last run made: room for as many is made at
    /// once, instead of growing the list step by step every scrape.
    families: AtomicUsize,
}

pub struct NodeExporter {
    /// In name order, so the output order is stable.
    slots: Arc<Vec<Slot>>,
    /// Every registered collector's name, to tell "missing" from "disabled".
    known: Vec<&'static str>,
    /// Worker threads per scrape.
    workers: usize,
    /// `--collector.timeout`: a cap below the scrape's own deadline.
    timeout: Option<Duration>,
}

enum Outcome {
    Done(MetricSet, Result<(), CollectError>, Duration),
    Panicked(Duration),
    TimedOut,
    StillRunning,
}

/// One scrape's work: collectors still to start, and what finished.
struct Batch {
    queue: Mutex<VecDeque<usize>>,
    outcomes: Mutex<Vec<Option<Outcome>>>,
    remaining: AtomicUsize,
    finished: Notify,
    /// Set at the deadline: workers stop taking collectors.
    abandoned: AtomicBool,
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Clears a collector's running flag when its run ends, even by panic.
struct ClearOnDrop<'a>(&'a AtomicBool);

impl Drop for ClearOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

impl Batch {
    fn record(&self, position: usize, outcome: Outcome) {
        lock(&self.outcomes)[position] = Some(outcome);
        if self.remaining.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.finished.notify_one();
        }
    }
}

/// A worker: runs collectors from the batch until it is empty or abandoned.
fn drain(batch: Arc<Batch>, slots: Arc<Vec<Slot>>, selected: Arc<Vec<usize>>) {
    loop {
        if batch.abandoned.load(Ordering::Acquire) {
            return;
        }
        let Some(position) = lock(&batch.queue).pop_front() else {
            return;
        };
        let slot = &slots[selected[position]];
        if slot.running.swap(true, Ordering::AcqRel) {
            batch.record(position, Outcome::StillRunning);
            continue;
        }
        let started = Instant::now();
        let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _done = ClearOnDrop(&slot.running);
            let mut set = MetricSet::with_capacity(slot.families.load(Ordering::Relaxed));
            let result = slot.collector.update(&mut set);
            slot.families.store(set.families().len(), Ordering::Relaxed);
            (set, result)
        }));
        let outcome = match run {
            Ok((set, result)) => Outcome::Done(set, result, started.elapsed()),
            Err(_) => Outcome::Panicked(started.elapsed()),
        };
        batch.record(position, outcome);
    }
}

impl NodeExporter {
    pub fn new(
        mut collectors: Vec<(&'static str, Box<dyn Collector>)>,
        known: Vec<&'static str>,
        timeout: Option<Duration>,
    ) -> NodeExporter {
        collectors.sort_by_key(|(name, _)| *name);
        let slots = collectors
            .into_iter()
            .map(|(name, collector)| Slot {
                name,
                collector,
                running: AtomicBool::new(false),
                families: AtomicUsize::new(0),
            })
            .collect();
        let workers = std::thread::available_parallelism().map_or(2, |n| n.get().clamp(2, 4));
        NodeExporter {
            slots: Arc::new(slots),
            known,
            workers,
            timeout,
        }
    }

    /// Indexes of the collectors a request asks for, with node_exporter's
    /// errors.
    fn select(&self, scrape: &Scrape) -> Result<Vec<usize>, BadRequest> {
        let collect: Vec<&str> = scrape.query_values("collect[]").collect();
        let exclude: Vec<&str> = scrape.query_values("exclude[]").collect();
        if !collect.is_empty() && !exclude.is_empty() {
            return Err(BadRequest(
                "Combining collect and exclude queries is not allowed".into(),
            ));
        }
        for name in collect.iter().chain(&exclude) {
            if !self.slots.iter().any(|slot| slot.name == *name) {
                let problem = if self.known.contains(name) {
                    "disabled collector"
                } else {
                    "missing collector"
                };
                return Err(BadRequest(format!(
                    "Couldn't create filtered metrics handler: {problem}: {name}"
                )));
            }
        }
        Ok(self
            .slots
            .iter()
            .enumerate()
            .filter(|(_, slot)| collect.is_empty() || collect.contains(&slot.name))
            .filter(|(_, slot)| !exclude.contains(&slot.name))
            .map(|(index, _)| index)
            .collect())
    }

    /// Runs the selected collectors until all are done or the deadline.
    async fn run(&self, selected: Vec<usize>, deadline: tokio::time::Instant) -> Vec<Outcome> {
        let count = selected.len();
        let batch = Arc::new(Batch {
            queue: Mutex::new((0..count).collect()),
            outcomes: Mutex::new((0..count).map(|_| None).collect()),
            remaining: AtomicUsize::new(count),
            finished: Notify::new(),
            abandoned: AtomicBool::new(false),
        });
        if count > 0 {
            let selected = Arc::new(selected);
            let mut started = 0;
            loop {
                let work = (batch.clone(), self.slots.clone(), selected.clone());
                // Detached: a worker stuck in a collector is simply left behind.
                drop(tokio::task::spawn_blocking(move || {
                    drain(work.0, work.1, work.2)
                }));
                started += 1;
                let finished = batch.finished.notified();
                if started == self.workers.min(count) {
                    let _ = tokio::time::timeout_at(deadline, finished).await;
                    break;
                }
                let patience = deadline.min(tokio::time::Instant::now() + HELPER_AFTER);
                if tokio::time::timeout_at(patience, finished).await.is_ok()
                    || tokio::time::Instant::now() >= deadline
                {
                    break;
                }
                if lock(&batch.queue).is_empty() {
                    // Every collector has started: another worker would
                    // have nothing to do.
                    let _ = tokio::time::timeout_at(deadline, batch.finished.notified()).await;
                    break;
                }
            }
        }
        batch.abandoned.store(true, Ordering::Release);
        let mut outcomes = lock(&batch.outcomes);
        outcomes
            .iter_mut()
            .map(|o| o.take().unwrap_or(Outcome::TimedOut))
            .collect()
    }
}

impl Exporter for NodeExporter {
    async fn collect(&self, scrape: &Scrape) -> Result<MetricSet, BadRequest> {
        let selected = self.select(scrape)?;
        crate::pseudo::next_scrape();
        let started = Instant::now();
        let deadline = match self.timeout {
            Some(cap) => scrape.deadline().min(tokio::time::Instant::now() + cap),
            None => scrape.deadline(),
        };
        let names: Vec<&'static str> = selected.iter().map(|&i| self.slots[i].name).collect();
        let outcomes = self.run(selected, deadline).await;

        let collected = outcomes.iter().map(|outcome| match outcome {
            Outcome::Done(set, ..) => set.families().len(),
            _ => 0,
        });
        // And the two scrape families.
        let mut out = MetricSet::with_capacity(collected.sum::<usize>() + 2);
        let mut durations = Vec::with_capacity(names.len());
        let mut successes = Vec::with_capacity(names.len());
        for (name, outcome) in names.into_iter().zip(outcomes) {
            let (success, elapsed) = match outcome {
                Outcome::Done(mut set, result, elapsed) => {
                    // What a collector produced before failing is still
                    // served, as with node_exporter.
                    out.append(&mut set);
                    let success = match result {
                        Ok(()) => true,
                        Err(CollectError::NoData(reason)) => {
                            log::debug!(name = name, reason:% = reason; "Collector returned no data");
                            false
                        }
                        Err(err) => {
                            log::error!(name = name, duration_seconds = elapsed.as_secs_f64(), err:% = err; "Collector failed");
                            false
                        }
                    };
                    (success, elapsed)
                }
                Outcome::Panicked(elapsed) => {
                    log::error!(name = name; "Collector panicked; the rest of the scrape is unaffected");
                    (false, elapsed)
                }
                Outcome::TimedOut => {
                    let elapsed = started.elapsed();
                    log::error!(name = name, duration_seconds = elapsed.as_secs_f64(); "Collector timed out; its results are dropped");
                    (false, elapsed)
                }
                Outcome::StillRunning => {
                    log::error!(name = name; "Collector is still stuck in a previous scrape; skipped");
                    (false, Duration::ZERO)
                }
            };
            durations.push((name, elapsed.as_secs_f64()));
            successes.push((name, if success { 1.0 } else { 0.0 }));
        }
        let family = out.family(
            "node_scrape_collector_duration_seconds",
            "node_exporter: Duration of a collector scrape.",
            MetricType::Gauge,
        );
        for (name, seconds) in durations {
            family.sample(&[("collector", name)], seconds);
        }
        let family = out.family(
            "node_scrape_collector_success",
            "node_exporter: Whether a collector succeeded.",
            MetricType::Gauge,
        );
        for (name, value) in successes {
            family.sample(&[("collector", name)], value);
        }
        Ok(out)
    }
}
