//! Content negotiation as client_golang's `expfmt.NegotiateIncludingOpenMetrics`
//! and promhttp's gzip check do it.

/// A wire format we can write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Prometheus text format 0.0.4, the default.
    Text,
    /// OpenMetrics 1.0.0.
    OpenMetrics1,
    /// OpenMetrics 0.0.1: the same bytes, announced with the older version.
    OpenMetrics0,
}

impl Format {
    /// Picks the format for an `Accept` header: the first acceptable media type
    /// by descending `q`, falling back to the text format.
    pub fn negotiate(accept: Option<&str>) -> Format {
        let Some(accept) = accept else {
            return Format::Text;
        };
        let mut ranges: Vec<(f32, &str, Option<&str>)> = accept
            .split(',')
            .filter_map(|range| {
                let mut parts = range.split(';').map(str::trim);
                let media_type = parts.next().filter(|t| !t.is_empty())?;
                let mut q = 1.0;
                let mut version = None;
                for param in parts {
                    let Some((key, value)) = param.split_once('=') else {
                        continue;
                    };
                    let value = value.trim().trim_matches('"');
                    match key.trim().to_ascii_lowercase().as_str() {
                        "q" => q = value.parse().unwrap_or(0.0),
                        "version" => version = Some(value),
                        _ => {}
                    }
                }
                Some((q, media_type, version))
            })
            .collect();
        // Stable, so equal weights keep the client's order.
        ranges.sort_by(|a, b| b.0.total_cmp(&a.0));
        for (q, media_type, version) in ranges {
            if q <= 0.0 {
                continue;
            }
            if media_type.eq_ignore_ascii_case("application/openmetrics-text") {
                match version {
                    Some("1.0.0") => return Format::OpenMetrics1,
                    Some("0.0.1") | None => return Format::OpenMetrics0,
                    Some(_) => {}
                }
            } else if media_type.eq_ignore_ascii_case("text/plain")
                && matches!(version, Some("0.0.4") | None)
            {
                return Format::Text;
            }
        }
        Format::Text
    }

    pub fn is_openmetrics(self) -> bool {
        !matches!(self, Format::Text)
    }

    /// The `Content-Type` header for this format.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Text => "text/plain; version=0.0.4; charset=utf-8",
            Format::OpenMetrics1 => "application/openmetrics-text; version=1.0.0; charset=utf-8",
            Format::OpenMetrics0 => "application/openmetrics-text; version=0.0.1; charset=utf-8",
        }
    }
}

/// Whether an `Accept-Encoding` header allows a gzip response.
pub fn accepts_gzip(accept_encoding: Option<&str>) -> bool {
    accept_encoding.is_some_and(|header| {
        header.split(',').any(|coding| {
            let mut parts = coding.split(';').map(str::trim);
            let name = parts.next().unwrap_or("");
            let refused = parts.any(|param| {
                param
                    .strip_prefix("q=")
                    .and_then(|q| q.trim().parse::<f32>().ok())
                    .is_some_and(|q| q <= 0.0)
            });
            name.eq_ignore_ascii_case("gzip") && !refused
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prometheus_default_accept_gets_openmetrics() {
        let prometheus = "application/openmetrics-text;version=1.0.0;q=0.5,\
            application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2";
        assert_eq!(Format::negotiate(Some(prometheus)), Format::OpenMetrics1);
    }

    #[test]
    fn text_wins_when_preferred_or_nothing_matches() {
        assert_eq!(Format::negotiate(None), Format::Text);
        assert_eq!(Format::negotiate(Some("*/*")), Format::Text);
        assert_eq!(
            Format::negotiate(Some("text/plain;version=0.0.4")),
            Format::Text
        );
        assert_eq!(
            Format::negotiate(Some(
                "application/openmetrics-text;version=1.0.0;q=0.2,text/plain;q=0.9"
            )),
            Format::Text
        );
        assert_eq!(
            Format::negotiate(Some("application/openmetrics-text;version=2.0.0")),
            Format::Text
        );
        assert_eq!(
            Format::negotiate(Some("application/openmetrics-text; version=1.0.0; q=0")),
            Format::Text
        );
    }

    #[test]
    fn openmetrics_without_version_is_0_0_1() {
        assert_eq!(
            Format::negotiate(Some("application/openmetrics-text")),
            Format::OpenMetrics0
        );
    }

    #[test]
    fn gzip_acceptance() {
        assert!(accepts_gzip(Some("gzip")));
        assert!(accepts_gzip(Some("deflate, gzip;q=1.0, *;q=0.5")));
        assert!(!accepts_gzip(Some("gzip;q=0")));
        assert!(!accepts_gzip(Some("identity")));
        assert!(!accepts_gzip(Some("gzipx")));
        assert!(!accepts_gzip(None));
    }
}
