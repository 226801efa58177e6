//! One scrape: pick the collectors (`collect[]` / `exclude[]`), run them in
//! parallel under the scrape's deadline, and report each one's success and
//! duration as node_exporter does.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use exporter_kit::exposition::{MetricSet, MetricType};
use exporter_kit::{BadRequest, Exporter, Scrape};
use tokio::sync::Semaphore;

use crate::collector::{CollectError, Collector};

/// An enabled collector and whether a run of it is still in progress.
struct Slot {
    name: &'static str,
    collector: Arc<dyn Collector>,
    /// Set while a worker thread is inside `update`. A collector stuck in a
    /// blocking read keeps it set, and later scrapes report it failed at once
    /// instead of stacking up more stuck threads.
    running: Arc<AtomicBool>,
}

pub struct NodeExporter {
    /// By name, so `collect[]` lookups and the output order are stable.
    slots: BTreeMap<&'static str, Slot>,
    /// Every registered collector's name, to tell "missing" from "disabled".
    known: Vec<&'static str>,
    /// Bounds the worker threads one scrape uses.
    workers: Arc<Semaphore>,
    /// `--collector.timeout`: a cap below the scrape's own deadline.
    timeout: Option<Duration>,
}

enum Outcome {
    Done(MetricSet, Result<(), CollectError>),
    Panicked,
    TimedOut,
    StillRunning,
}

impl NodeExporter {
    pub fn new(
        collectors: Vec<(&'static str, Box<dyn Collector>)>,
        known: Vec<&'static str>,
        timeout: Option<Duration>,
    ) -> NodeExporter {
        let slots = collectors
            .into_iter()
            .map(|(name, collector)| {
                let slot = Slot {
                    name,
                    collector: Arc::from(collector),
                    running: Arc::new(AtomicBool::new(false)),
                };
                (name, slot)
            })
            .collect();
        let workers = std::thread::available_parallelism().map_or(2, |n| n.get().max(2));
        NodeExporter {
            slots,
            known,
            workers: Arc::new(Semaphore::new(workers)),
            timeout,
        }
    }

    /// The collectors a request asks for, with node_exporter's errors.
    fn select(&self, scrape: &Scrape) -> Result<Vec<&Slot>, BadRequest> {
        let collect: Vec<&str> = scrape.query_values("collect[]").collect();
        let exclude: Vec<&str> = scrape.query_values("exclude[]").collect();
        if !collect.is_empty() && !exclude.is_empty() {
            return Err(BadRequest(
                "Combining collect and exclude queries is not allowed".into(),
            ));
        }
        for name in collect.iter().chain(&exclude) {
            if !self.slots.contains_key(name) {
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
            .values()
            .filter(|slot| collect.is_empty() || collect.contains(&slot.name))
            .filter(|slot| !exclude.contains(&slot.name))
            .collect())
    }

    async fn run(&self, slot: &Slot, deadline: tokio::time::Instant) -> (Outcome, Duration) {
        let started = Instant::now();
        if slot.running.swap(true, Ordering::AcqRel) {
            return (Outcome::StillRunning, Duration::ZERO);
        }
        let collector = slot.collector.clone();
        let running = slot.running.clone();
        let work = async {
            // The permit is held by this future, not by the thread: a thread
            // that hangs past the deadline stops counting against the pool.
            let _permit = self.workers.acquire().await;
            tokio::task::spawn_blocking(move || {
                let _done = ClearOnDrop(running);
                let mut set = MetricSet::new();
                let result = collector.update(&mut set);
                (set, result)
            })
            .await
        };
        let outcome = match tokio::time::timeout_at(deadline, work).await {
            Ok(Ok((set, result))) => Outcome::Done(set, result),
            Ok(Err(_)) => Outcome::Panicked,
            Err(_) => Outcome::TimedOut,
        };
        (outcome, started.elapsed())
    }
}

/// Marks the collector idle when its run ends, even by panic.
struct ClearOnDrop(Arc<AtomicBool>);

impl Drop for ClearOnDrop {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

impl Exporter for NodeExporter {
    async fn collect(&self, scrape: &Scrape) -> Result<MetricSet, BadRequest> {
        let selected = self.select(scrape)?;
        let deadline = match self.timeout {
            Some(cap) => scrape.deadline().min(tokio::time::Instant::now() + cap),
            None => scrape.deadline(),
        };
        let runs = selected.iter().map(|slot| self.run(slot, deadline));
        let outcomes = futures_util::future::join_all(runs).await;

        let mut out = MetricSet::new();
        let mut durations = Vec::with_capacity(selected.len());
        let mut successes = Vec::with_capacity(selected.len());
        for (slot, (outcome, elapsed)) in selected.iter().zip(outcomes) {
            let name = slot.name;
            let success = match outcome {
                Outcome::Done(mut set, result) => {
                    // What a collector produced before failing is still served,
                    // as with node_exporter.
                    out.append(&mut set);
                    match result {
                        Ok(()) => true,
                        Err(CollectError::NoData(reason)) => {
                            log::debug!(name = name, reason:% = reason; "Collector returned no data");
                            false
                        }
                        Err(err) => {
                            log::error!(name = name, duration_seconds = elapsed.as_secs_f64(), err:% = err; "Collector failed");
                            false
                        }
                    }
                }
                Outcome::Panicked => {
                    log::error!(name = name; "Collector panicked; the rest of the scrape is unaffected");
                    false
                }
                Outcome::TimedOut => {
                    log::error!(name = name, duration_seconds = elapsed.as_secs_f64(); "Collector timed out; its results are dropped");
                    false
                }
                Outcome::StillRunning => {
                    log::error!(name = name; "Collector is still stuck in a previous scrape; skipped");
                    false
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
