//! What a read request asks for: its query parameters (list options) and
//! the representation its `Accept` header wants.

use std::time::Duration;

use super::discovery::Resource;
use super::selector::{FieldSelector, LabelSelector};
use super::status::ApiError;

/// `includeObject` for Table responses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Include {
    None,
    Metadata,
    Object,
}

/// The list options of a GET on a collection or object (apimachinery's
/// `ListOptions`); unknown parameters are ignored, as upstream.
#[derive(Debug)]
pub struct ListQuery {
    pub watch: bool,
    pub limit: Option<usize>,
    pub continue_token: Option<String>,
    /// `resourceVersion`, verbatim (`""` and absent are the same).
    pub resource_version: Option<String>,
    pub resource_version_match: Option<String>,
    pub labels: LabelSelector,
    pub fields: FieldSelector,
    pub allow_bookmarks: bool,
    pub timeout: Option<Duration>,
    pub send_initial_events: Option<bool>,
    pub include: Include,
}

impl ListQuery {
    /// Parses the query string of a request on `resource`.
    pub fn parse(query: &str, resource: &Resource) -> Result<ListQuery, ApiError> {
        let mut parsed = ListQuery {
            watch: false,
            limit: None,
            continue_token: None,
            resource_version: None,
            resource_version_match: None,
            labels: LabelSelector::default(),
            fields: FieldSelector::default(),
            allow_bookmarks: false,
            timeout: None,
            send_initial_events: None,
            include: Include::Metadata,
        };
        for (key, value) in form_urlencoded::parse(query.as_bytes()) {
            let non_empty = || (!value.is_empty()).then(|| value.to_string());
            match &*key {
                "watch" => parsed.watch = boolean(&key, &value)?,
                "allowWatchBookmarks" => parsed.allow_bookmarks = boolean(&key, &value)?,
                "sendInitialEvents" => parsed.send_initial_events = Some(boolean(&key, &value)?),
                "limit" => {
                    let limit: i64 = integer(&key, &value)?;
                    // Upstream: zero or negative means no limit.
                    parsed.limit = usize::try_from(limit).ok().filter(|l| *l > 0);
                }
                "timeoutSeconds" => {
                    let seconds: u64 = integer(&key, &value)?;
                    parsed.timeout = Some(Duration::from_secs(seconds));
                }
                "continue" => parsed.continue_token = non_empty(),
                "resourceVersion" => parsed.resource_version = non_empty(),
                "resourceVersionMatch" => parsed.resource_version_match = non_empty(),
                "labelSelector" => parsed.labels = LabelSelector::parse(&value)?,
                "fieldSelector" => parsed.fields = FieldSelector::parse(&value, resource)?,
                "includeObject" => {
                    parsed.include = match &*value {
                        "None" => Include::None,
                        "Metadata" | "" => Include::Metadata,
                        "Object" => Include::Object,
                        other => {
                            return Err(ApiError::bad_request(format!(
                                "includeObject: unsupported value {other:?}"
                            )));
                        }
                    }
                }
                _ => {}
            }
        }
        Ok(parsed)
    }

    /// Whether an object passes both selectors.
    pub fn selects(&self, object: &serde_json::Value) -> bool {
        self.labels.matches(object) && self.fields.matches(object)
    }
}

/// Go's `strconv.ParseBool`, which is what the real server uses.
fn boolean(key: &str, value: &str) -> Result<bool, ApiError> {
    match value {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Ok(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Ok(false),
        _ => Err(ApiError::bad_request(format!(
            "{key}: invalid boolean value {value:?}"
        ))),
    }
}

fn integer<T: std::str::FromStr>(key: &str, value: &str) -> Result<T, ApiError> {
    value
        .parse()
        .map_err(|_| ApiError::bad_request(format!("{key}: invalid integer value {value:?}")))
}

/// The representation a read response takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// The objects themselves (lists as `{Kind}List`).
    Object,
    /// A `meta.k8s.io` Table, for kubectl's printing; `api_version` is
    /// `meta.k8s.io/v1` or `meta.k8s.io/v1beta1`, whichever was asked for.
    Table { api_version: &'static str },
    /// `PartialObjectMetadata(List)`, for metadata-only clients.
    Metadata,
}

/// Picks the first media type in `accept` this server can produce. Protobuf
/// and YAML are skipped, so `application/vnd.kubernetes.protobuf,
/// application/json` gets JSON as from the real server.
pub fn negotiate(accept: Option<&str>) -> Result<Shape, ApiError> {
    let Some(accept) = accept.filter(|a| !a.trim().is_empty()) else {
        return Ok(Shape::Object);
    };
    for range in accept.split(',') {
        let mut parts = range.split(';').map(str::trim);
        let media = parts.next().unwrap_or_default();
        if !matches!(media, "application/json" | "application/*" | "*/*") {
            continue;
        }
        let (mut as_kind, mut group, mut version) = (None, None, None);
        for param in parts {
            match param.split_once('=') {
                Some(("as", v)) => as_kind = Some(v),
                Some(("g", v)) => group = Some(v),
                Some(("v", v)) => version = Some(v),
                _ => {}
            }
        }
        match (as_kind, group, version) {
            (None, _, _) => return Ok(Shape::Object),
            (Some("Table"), Some("meta.k8s.io"), Some("v1")) => {
                return Ok(Shape::Table {
                    api_version: "meta.k8s.io/v1",
                });
            }
            (Some("Table"), Some("meta.k8s.io"), Some("v1beta1")) => {
                return Ok(Shape::Table {
                    api_version: "meta.k8s.io/v1beta1",
                });
            }
            (
                Some("PartialObjectMetadata" | "PartialObjectMetadataList"),
                Some("meta.k8s.io"),
                Some("v1"),
            ) => {
                return Ok(Shape::Metadata);
            }
            _ => {}
        }
    }
    Err(ApiError::not_acceptable())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubectl_gets_a_table_and_informers_get_json() {
        let kubectl = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json";
        assert_eq!(
            negotiate(Some(kubectl)),
            Ok(Shape::Table {
                api_version: "meta.k8s.io/v1"
            })
        );
        assert_eq!(
            negotiate(Some(
                "application/vnd.kubernetes.protobuf, application/json"
            )),
            Ok(Shape::Object)
        );
        assert_eq!(negotiate(None), Ok(Shape::Object));
        assert_eq!(
            negotiate(Some(
                "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1"
            )),
            Ok(Shape::Metadata)
        );
        assert_eq!(
            negotiate(Some("application/vnd.kubernetes.protobuf")).map_err(|e| e.code),
            Err(406)
        );
    }
}
