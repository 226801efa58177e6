//! One scrape of one Redis instance, and the exporter's own families.

use std::borrow::Cow;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use exporter_kit::exposition::{MetricSet, MetricType};
use exporter_kit::{BadRequest, Exporter, Scrape};

use crate::RedisFlags;
use redis_protocol::resp2::types::OwnedFrame;

use crate::client::{Address, Connection, Pipeline, RedisError, text};
use crate::passwords::{self, PasswordFile};
use crate::tls::TlsClient;
use crate::{config, info, latency, slowlog};

/// One Redis instance to scrape and how to log in.
struct Target {
    address: Address,
    user: Option<String>,
    password: Option<String>,
}

pub struct RedisExporter {
    flags: RedisFlags,
    /// `--redis.addr`, scraped on the telemetry path; empty for an exporter
    /// that only serves `/scrape`.
    target: Option<Target>,
    /// `--scrape.allowed-targets`, anchored; `None` refuses every `/scrape`.
    allowed_targets: Option<regex::Regex>,
    /// `--redis.password-file`, consulted when no password flag is given.
    password_file: Option<PasswordFile>,
    /// TLS settings for `rediss://` targets.
    tls: TlsClient,
    /// Which optional config families to add.
    config_options: config::Options,
    /// `<namespace>_exporter`, as upstream names its build info.
    build_info_prefix: String,
    /// Whether a refused CONFIG has been logged at warning level.
    config_refusal_logged: AtomicBool,
    /// Scrape counts and durations: updated after each scrape, read by the
    /// next, never held across I/O (concurrent scrapes do not queue).
    totals: Mutex<Totals>,
}

#[derive(Default, Clone)]
struct Totals {
    /// Requests on the telemetry and scrape paths.
    scrapes: u64,
    /// Scrapes of a Redis instance, and their total duration.
    observed: u64,
    duration_sum: f64,
    /// `/scrape` requests refused as bad.
    request_errors: u64,
}

impl RedisExporter {
    pub fn new(flags: RedisFlags) -> Result<RedisExporter, String> {
        let target = match flags.addr.as_str() {
            "" => None,
            addr => {
                Some(Self::target(&flags, addr, true).map_err(|e| format!("--redis.addr: {e}"))?)
            }
        };
        let allowed_targets = match flags.allowed_targets.as_str() {
            "" => None,
            pattern => Some(
                regex::Regex::new(&format!("^(?:{pattern})$"))
                    .map_err(|e| format!("--scrape.allowed-targets: {e}"))?,
            ),
        };
        let password_file = match &flags.password_file {
            Some(path) if flags.password.is_empty() => {
                Some(PasswordFile::open(path).map_err(|e| format!("--redis.password-file={e}"))?)
            }
            _ => None,
        };
        let tls = TlsClient::new(flags.tls.clone())?;
        Ok(RedisExporter {
            build_info_prefix: crate::metric_name(&flags.namespace, "exporter"),
            config_options: config::Options {
                include_all: flags.include_config_metrics,
                redact: flags.redact_config_metrics,
            },
            target,
            allowed_targets,
            password_file,
            tls,
            flags,
            totals: Mutex::new(Totals::default()),
            config_refusal_logged: AtomicBool::new(false),
        })
    }

    /// The target for an address; a password inside a `/scrape` target URL
    /// is ignored (upstream strips it) so it can never end up in a log.
    fn target(flags: &RedisFlags, text: &str, trust_url_password: bool) -> Result<Target, String> {
        let (address, credentials) = Address::parse(text)?;
        let user = Some(flags.user.clone())
            .filter(|u| !u.is_empty())
            .or(credentials.user);
        let url_password = credentials.password.filter(|_| trust_url_password);
        let password = Some(flags.password.clone())
            .filter(|p| !p.is_empty())
            .or(url_password);
        Ok(Target {
            address,
            user,
            password,
        })
    }

    /// The target a `/scrape?target=` request names, if it is allowed.
    fn requested_target(&self, scrape: &Scrape) -> Result<Target, BadRequest> {
        let requested = scrape
            .query_values("target")
            .next()
            .filter(|t| !t.is_empty())
            .ok_or_else(|| BadRequest("'target' parameter must be specified".into()))?;
        let allowed = self
            .allowed_targets
            .as_ref()
            .is_some_and(|allowed| allowed.is_match(requested));
        if !allowed {
            return Err(BadRequest(
                "target is not allowed by --scrape.allowed-targets".into(),
            ));
        }
        Self::target(&self.flags, requested, false)
            .map_err(|e| BadRequest(format!("invalid target: {e}")))
    }

    /// `exporter_scrapes_total`, the scrape duration summary and
    /// `target_scrape_request_errors_total`. The telemetry path reports
    /// running totals (counting this request and, if Redis was scraped, its
    /// duration); a `/scrape` response reports only itself, as upstream
    /// builds a fresh exporter for each.
    fn add_totals(&self, on_scrape_path: bool, scraped_in: Option<f64>, out: &mut MetricSet) {
        let this_request = Totals {
            scrapes: 1,
            observed: u64::from(scraped_in.is_some()),
            duration_sum: scraped_in.unwrap_or(0.0),
            request_errors: 0,
        };
        let totals = if on_scrape_path {
            this_request
        } else {
            let mut totals = self.totals.lock().unwrap_or_else(|p| p.into_inner());
            totals.scrapes += this_request.scrapes;
            totals.observed += this_request.observed;
            totals.duration_sum += this_request.duration_sum;
            totals.clone()
        };
        out.single(
            self.namespaced("exporter_scrapes_total"),
            "Current total redis scrapes.",
            MetricType::Counter,
            totals.scrapes as f64,
        );
        out.family(
            self.namespaced("exporter_scrape_duration_seconds"),
            "Durations of scrapes by the exporter",
            MetricType::Summary,
        )
        .summary(&[], Vec::new(), totals.duration_sum, totals.observed);
        out.single(
            self.namespaced("target_scrape_request_errors_total"),
            "Errors in requests to the exporter",
            MetricType::Counter,
            totals.request_errors as f64,
        );
    }

    pub fn redis_only_metrics(&self) -> bool {
        self.flags.redis_only_metrics
    }

    fn namespaced(&self, name: &str) -> String {
        crate::metric_name(&self.flags.namespace, name)
    }

    /// Connects, authenticates and reads INFO into `out`; returns the time
    /// the connection took.
    async fn scrape_redis(
        &self,
        target: &Target,
        deadline: tokio::time::Instant,
        out: &mut MetricSet,
    ) -> Result<Duration, RedisError> {
        let started = Instant::now();
        let mut connection = Connection::connect(&target.address, &self.tls, deadline).await?;
        let connect_time = started.elapsed();
        let filed_password = match (&target.password, &self.password_file) {
            (None, Some(file)) => {
                file.lookup(&passwords::key(&target.address, target.user.as_deref()))
            }
            _ => None,
        };
        match (
            &target.user,
            target.password.as_ref().or(filed_password.as_ref()),
        ) {
            (Some(user), Some(password)) => {
                connection.command(&["AUTH", user, password]).await?;
            }
            (None, Some(password)) => {
                connection.command(&["AUTH", password]).await?;
            }
            _ => {}
        }
        if self.flags.ping_on_connect {
            let started = Instant::now();
            connection.command(&["PING"]).await?;
            out.single(
                self.namespaced("exporter_last_scrape_ping_time_seconds"),
                "exporter_last_scrape_ping_time_seconds metric",
                MetricType::Gauge,
                started.elapsed().as_secs_f64(),
            );
        }
        // Everything else a scrape asks is independent of the answers, so
        // it goes as one pipeline: one round trip instead of six.
        let config_get = [self.flags.config_command.as_str(), "GET", "*"];
        let mut pipeline = Pipeline::default();
        if self.flags.set_client_name {
            // Best effort: some managed Redis services refuse it.
            pipeline.push(&["CLIENT", "SETNAME", "redis_exporter"]);
        }
        let info_all = pipeline.push(&["INFO", "ALL"]);
        let config = (self.flags.config_command != "-").then(|| pipeline.push(&config_get));
        let slowlog_length = pipeline.push(slowlog::LEN);
        let slowlog_newest = pipeline.push(slowlog::GET_NEWEST);
        let latency = (!self.flags.exclude_latency_histogram_metrics).then(|| {
            (
                pipeline.push(latency::LATEST),
                pipeline.push(latency::HISTOGRAM),
            )
        });
        let mut replies = connection.send(pipeline).await?;

        let reply = match replies.take(info_all) {
            Ok(reply) => reply,
            // Servers older than 2.8 know only plain INFO.
            Err(_) => connection.command(&["INFO"]).await?,
        };
        let info_text =
            text(&reply).ok_or_else(|| RedisError::Protocol("INFO did not return text".into()))?;
        let summary = info::extract(&info_text, &self.flags.namespace, out);
        let config = config.map(|index| replies.take(index));
        let mut databases = config::extract(
            &self.config_pairs(config.as_ref()),
            &self.flags.namespace,
            self.config_options,
            out,
        );
        if summary.cluster_enabled {
            databases = Some(1);
            match connection.command_or_refusal(&["CLUSTER", "INFO"]).await? {
                Ok(reply) => info::extract_cluster_info(
                    &text(&reply).unwrap_or_default(),
                    &self.flags.namespace,
                    out,
                ),
                Err(message) => log::debug!(err = message.as_str(); "CLUSTER INFO failed"),
            }
        }
        // Empty databases are reported with 0 keys, up to `databases` (16
        // when CONFIG is refused, as on many managed services).
        info::add_empty_databases(
            &self.flags.namespace,
            databases.unwrap_or(16),
            &summary.databases_seen,
            out,
        );
        slowlog::extract(
            replies.take(slowlog_length),
            replies.take(slowlog_newest),
            &self.flags.namespace,
            out,
        );
        // Upstream reports the key-group step on every scrape; with no key
        // groups configured (the only mode so far) it takes no time.
        out.single(
            self.namespaced("last_key_groups_scrape_duration_milliseconds"),
            "Duration of the last key group metrics scrape in milliseconds",
            MetricType::Gauge,
            0.0,
        );
        if let Some((latest, histogram)) = latency {
            latency::extract_latest(replies.take(latest), &self.flags.namespace, out);
            latency::extract_histograms(
                replies.take(histogram),
                &self.flags.namespace,
                &info_text,
                out,
            );
        }
        Ok(connect_time)
    }

    /// The reply to `CONFIG GET *` as name/value pairs; empty when CONFIG
    /// is skipped, renamed away or refused.
    fn config_pairs<'a>(
        &self,
        reply: Option<&'a Result<OwnedFrame, String>>,
    ) -> Vec<(Cow<'a, str>, Cow<'a, str>)> {
        match reply {
            Some(Ok(OwnedFrame::Array(items))) => items
                .chunks(2)
                .filter_map(|pair| Some((text(pair.first()?)?, text(pair.get(1)?)?)))
                .collect(),
            None | Some(Ok(_)) => Vec::new(),
            Some(Err(message)) => {
                // Managed services refuse CONFIG on every scrape: say so once.
                let message = message.as_str();
                if self.config_refusal_logged.swap(true, Ordering::Relaxed) {
                    log::debug!(err = message; "CONFIG GET failed; config metrics skipped");
                } else {
                    log::warn!(err = message; "CONFIG GET failed; config metrics skipped (logged once; --config-command=- skips CONFIG)");
                }
                Vec::new()
            }
        }
    }
}

impl Exporter for RedisExporter {
    fn scrape_paths(&self) -> &'static [&'static str] {
        &["/scrape"]
    }

    fn build_info_prefix(&self) -> Option<&str> {
        Some(&self.build_info_prefix)
    }

    async fn collect(&self, scrape: &Scrape) -> Result<MetricSet, BadRequest> {
        let requested;
        let on_scrape_path = scrape.path() == "/scrape";
        let target = if on_scrape_path {
            requested = self.requested_target(scrape).inspect_err(|_| {
                let mut totals = self.totals.lock().unwrap_or_else(|p| p.into_inner());
                totals.request_errors += 1;
            })?;
            &requested
        } else {
            match &self.target {
                Some(target) => target,
                // As upstream: without --redis.addr the telemetry path has
                // only the scrape totals.
                None => {
                    let mut out = MetricSet::new();
                    self.add_totals(false, None, &mut out);
                    return Ok(out);
                }
            }
        };
        let started = Instant::now();
        let deadline = scrape
            .deadline()
            .min(tokio::time::Instant::now() + self.flags.connection_timeout);
        let mut out = MetricSet::new();
        let result = self.scrape_redis(target, deadline, &mut out).await;
        let elapsed = started.elapsed().as_secs_f64();

        let (up, error) = match &result {
            Ok(_) => (1.0, String::new()),
            Err(e) => {
                log::error!(err:% = e; "Redis scrape failed");
                (0.0, e.to_string())
            }
        };
        out.single(
            self.namespaced("up"),
            "Information about the Redis instance",
            MetricType::Gauge,
            up,
        );
        out.family(
            self.namespaced("exporter_last_scrape_error"),
            "The last scrape error status.",
            MetricType::Gauge,
        )
        .sample(&[("err", &error)], if error.is_empty() { 0.0 } else { 1.0 });
        out.single(
            self.namespaced("exporter_last_scrape_duration_seconds"),
            "exporter_last_scrape_duration_seconds metric",
            MetricType::Gauge,
            elapsed,
        );
        if let Ok(connect_time) = result {
            out.single(
                self.namespaced("exporter_last_scrape_connect_time_seconds"),
                "exporter_last_scrape_connect_time_seconds metric",
                MetricType::Gauge,
                connect_time.as_secs_f64(),
            );
        }
        self.add_totals(on_scrape_path, Some(elapsed), &mut out);
        Ok(out)
    }
}
