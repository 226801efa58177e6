//! Log lines in the shape of the Go exporters' `promslog`: logfmt by default,
//! JSON on request, one line per event on stderr, with key-value pairs
//! (`log::info!(address:% = addr; "Listening on")`).

use std::fmt::Write as _;
use std::io::Write as _;

use log::kv::{Key, VisitSource};
use log::{Level, LevelFilter, Log, Metadata, Record};

/// `--log.level` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogLevel {
    Debug,
    Info,
    Warn,
    Error,
}

/// `--log.format` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Logfmt,
    Json,
}

impl LogLevel {
    fn filter(self) -> LevelFilter {
        match self {
            LogLevel::Debug => LevelFilter::Debug,
            LogLevel::Info => LevelFilter::Info,
            LogLevel::Warn => LevelFilter::Warn,
            LogLevel::Error => LevelFilter::Error,
        }
    }
}

struct Logger {
    format: LogFormat,
    level: LevelFilter,
}

/// Installs the process-wide logger. Later calls keep the first logger.
pub fn init(level: LogLevel, format: LogFormat) {
    let logger = Logger {
        format,
        level: level.filter(),
    };
    if log::set_boxed_logger(Box::new(logger)).is_ok() {
        log::set_max_level(level.filter());
    }
}

fn level_name(level: Level) -> &'static str {
    match level {
        Level::Error => "ERROR",
        Level::Warn => "WARN",
        Level::Info => "INFO",
        Level::Debug | Level::Trace => "DEBUG",
    }
}

impl Log for Logger {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.level() <= self.level
    }

    fn log(&self, record: &Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let time = humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string();
        let source = match (record.file(), record.line()) {
            (Some(file), Some(line)) => {
                let base = file.rsplit('/').next().unwrap_or(file);
                format!("{base}:{line}")
            }
            _ => record.target().to_owned(),
        };
        let message = record.args().to_string();
        let mut fields = vec![
            ("time", time),
            ("level", level_name(record.level()).to_owned()),
            ("source", source),
            ("msg", message),
        ];
        let mut collector = Collector(Vec::new());
        // A failing visitor only loses key-value pairs, never the line.
        let _ = record.key_values().visit(&mut collector);
        let mut line = String::with_capacity(128);
        match self.format {
            LogFormat::Logfmt => {
                for (key, value) in fields.iter().map(|(k, v)| (*k, v.as_str())) {
                    push_logfmt_pair(&mut line, key, value);
                }
                for (key, value) in &collector.0 {
                    push_logfmt_pair(&mut line, key, value);
                }
            }
            LogFormat::Json => {
                let mut object = serde_json::Map::new();
                for (key, value) in fields.drain(..) {
                    object.insert(key.to_owned(), value.into());
                }
                for (key, value) in collector.0 {
                    object.insert(key, value.into());
                }
                line = serde_json::Value::Object(object).to_string();
            }
        }
        line.push('\n');
        // Logging must never take the process down: a closed stderr is ignored.
        let _ = std::io::stderr().lock().write_all(line.as_bytes());
    }

    fn flush(&self) {
        let _ = std::io::stderr().flush();
    }
}

struct Collector(Vec<(String, String)>);

impl<'kvs> VisitSource<'kvs> for Collector {
    fn visit_pair(
        &mut self,
        key: Key<'kvs>,
        value: log::kv::Value<'kvs>,
    ) -> Result<(), log::kv::Error> {
        self.0.push((key.to_string(), value.to_string()));
        Ok(())
    }
}

fn push_logfmt_pair(line: &mut String, key: &str, value: &str) {
    if !line.is_empty() {
        line.push(' ');
    }
    line.push_str(key);
    line.push('=');
    let needs_quotes = value.is_empty()
        || value
            .chars()
            .any(|c| c == ' ' || c == '=' || c == '"' || c == '\\' || c.is_control());
    if !needs_quotes {
        line.push_str(value);
        return;
    }
    line.push('"');
    for c in value.chars() {
        match c {
            '"' => line.push_str("\\\""),
            '\\' => line.push_str("\\\\"),
            '\n' => line.push_str("\\n"),
            '\t' => line.push_str("\\t"),
            c if c.is_control() => {
                let _ = write!(line, "\\u{:04x}", c as u32);
            }
            c => line.push(c),
        }
    }
    line.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logfmt_quotes_only_when_needed() {
        let mut line = String::new();
        push_logfmt_pair(&mut line, "msg", "Listening on");
        push_logfmt_pair(&mut line, "address", "[::]:9100");
        push_logfmt_pair(&mut line, "err", "bad \"x\"\nnext");
        push_logfmt_pair(&mut line, "empty", "");
        assert_eq!(
            line,
            r#"msg="Listening on" address=[::]:9100 err="bad \"x\"\nnext" empty="""#
        );
    }
}
