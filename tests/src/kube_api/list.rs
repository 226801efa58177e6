//! GET of collections and objects: resource version semantics, pagination
//! with continue tokens, and the three response shapes (objects, Table,
//! metadata only).

use std::io::Write as _;
use std::sync::Arc;

use bytes::Bytes;
use http::{Response, StatusCode};
use serde_json::{Value, json};

use super::discovery::Resource;
use super::query::{ListQuery, Shape};
use super::server::{Body, Shared, json, lock, response};
use super::status::ApiError;
use super::store::Key;
use super::table;
use super::util;

/// What the real server says when a continue token's snapshot is compacted.
const CONTINUE_EXPIRED: &str = "The provided continue parameter is too old to display a consistent \
     list result. You can start a new list without the continue parameter, or use the continue \
     token in this response to retrieve the remainder of the results. Continuing with the \
     provided token results in an inconsistent list - objects that were created, modified, or \
     deleted between the time the first chunk was returned and now may show up in the list.";

/// A continue token: the list's resource version (0: read the latest state,
/// handed out with a 410) and the key of the last object returned. Hex of
/// JSON, opaque to clients as the real (base64) ones are.
fn encode_continue(rv: u64, key: &Key) -> String {
    let token = json!({"rv": rv, "start": [key.0, key.1]});
    util::hex_encode(token.to_string().as_bytes())
}

fn decode_continue(token: &str) -> Option<(u64, Key)> {
    let token: Value = serde_json::from_slice(&util::hex_decode(token)?).ok()?;
    let rv = token["rv"].as_u64()?;
    let namespace = token["start"][0].as_str()?.to_owned();
    let name = token["start"][1].as_str()?.to_owned();
    Some((rv, (namespace, name)))
}

fn parse_rv(text: &str) -> Result<u64, ApiError> {
    text.parse()
        .map_err(|_| ApiError::bad_request(format!("invalid resource version: {text:?}")))
}

/// Where a list reads: at which resource version, after which key, and the
/// lowest acceptable version for `NotOlderThan`.
struct ReadPoint {
    at: Option<u64>,
    after: Option<Key>,
    not_older_than: u64,
}

/// Interprets `resourceVersion`, `resourceVersionMatch` and `continue`,
/// with the real server's validation.
fn read_point(query: &ListQuery) -> Result<ReadPoint, ApiError> {
    let rv = query.resource_version.as_deref();
    let rv_match = query.resource_version_match.as_deref();
    if let Some(token) = &query.continue_token {
        if rv_match.is_some() {
            return Err(ApiError::invalid_list_options(
                "resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden when continue is provided",
            ));
        }
        if rv.is_some_and(|rv| rv != "0") {
            return Err(ApiError::bad_request(
                "specifying resource version is not allowed when using continue",
            ));
        }
        let (at, after) = decode_continue(token).ok_or_else(|| {
            ApiError::bad_request(format!("continue key is not valid: {token:?}"))
        })?;
        return Ok(ReadPoint {
            at: (at != 0).then_some(at),
            after: Some(after),
            not_older_than: 0,
        });
    }
    let latest = |not_older_than| ReadPoint {
        at: None,
        after: None,
        not_older_than,
    };
    match (rv, rv_match) {
        (None, Some(_)) => Err(ApiError::invalid_list_options(
            "resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided",
        )),
        (None, None) | (Some("0"), None | Some("NotOlderThan")) => Ok(latest(0)),
        (Some("0"), Some("Exact")) => Err(ApiError::invalid_list_options(
            "resourceVersionMatch: Forbidden: resourceVersionMatch \"exact\" is forbidden for resourceVersion \"0\"",
        )),
        (Some(rv), Some("Exact")) => Ok(ReadPoint {
            at: Some(parse_rv(rv)?),
            after: None,
            not_older_than: 0,
        }),
        (Some(rv), None | Some("NotOlderThan")) => Ok(latest(parse_rv(rv)?)),
        (Some(_), Some(other)) => Err(ApiError::invalid_list_options(&format!(
            "resourceVersionMatch: Unsupported value: \"{other}\": supported values: \"Exact\", \"NotOlderThan\""
        ))),
    }
}

/// A LIST request.
pub fn list(
    shared: &Shared,
    resource: &'static Resource,
    namespace: Option<&str>,
    query: &ListQuery,
    shape: Shape,
) -> Result<Response<Body>, ApiError> {
    if let Some(code) = lock(&shared.faults).get(resource.plural) {
        return Err(ApiError::injected(*code, resource.plural, resource.group));
    }
    let point = read_point(query)?;
    let page = shared
        .store
        .page(
            resource,
            namespace,
            point.at,
            point.after.as_ref(),
            query.limit,
            |o| query.selects(o),
        )
        .map_err(|e| match (e.code, &point.after) {
            (410, Some(after)) => ApiError {
                continue_token: Some(encode_continue(0, after)),
                ..ApiError::expired(CONTINUE_EXPIRED)
            },
            (410, None) => {
                ApiError::expired("The resourceVersion for the provided list is too old.")
            }
            _ => e,
        })?;
    if page.rv < point.not_older_than {
        return Err(ApiError::too_large_resource_version(
            point.not_older_than,
            page.rv,
        ));
    }
    let mut metadata = json!({"resourceVersion": page.rv.to_string()});
    if let Some(last) = &page.more {
        metadata["continue"] = json!(encode_continue(page.rv, last));
    }
    let items: Vec<&Value> = page.items.iter().map(Arc::as_ref).collect();
    Ok(match shape {
        Shape::Object => {
            let kind = format!("{}List", resource.kind);
            list_response(&kind, &resource.api_version(), &metadata, &items)
        }
        Shape::Metadata => {
            let partial: Vec<Value> = items.iter().map(|o| table::partial_metadata(o)).collect();
            let partial: Vec<&Value> = partial.iter().collect();
            list_response(
                "PartialObjectMetadataList",
                "meta.k8s.io/v1",
                &metadata,
                &partial,
            )
        }
        Shape::Table { api_version } => json(
            StatusCode::OK,
            &table::table(resource, &items, api_version, query.include, metadata),
        ),
    })
}

/// Writes a list without copying its items into one big `Value`.
fn list_response(
    kind: &str,
    api_version: &str,
    metadata: &Value,
    items: &[&Value],
) -> Response<Body> {
    let mut body = Vec::with_capacity(256 + items.len() * 1024);
    let _ = write!(
        body,
        r#"{{"kind":{},"apiVersion":{},"metadata":{metadata},"items":["#,
        json!(kind),
        json!(api_version)
    );
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            body.push(b',');
        }
        serde_json::to_writer(&mut body, item).expect("a serde_json::Value always serializes");
    }
    body.extend_from_slice(b"]}");
    response(StatusCode::OK, "application/json", Bytes::from(body))
}

/// A GET of one object.
pub fn get(
    shared: &Shared,
    resource: &'static Resource,
    namespace: Option<&str>,
    name: &str,
    shape: Shape,
) -> Result<Response<Body>, ApiError> {
    let key = (namespace.unwrap_or_default().to_owned(), name.to_owned());
    let object = shared
        .store
        .get(resource, &key)
        .ok_or_else(|| ApiError::not_found(resource.plural, resource.group, name))?;
    let document = match shape {
        Shape::Object => return Ok(json(StatusCode::OK, &object)),
        Shape::Metadata => table::partial_metadata(&object),
        Shape::Table { api_version } => {
            let rv = object["metadata"]["resourceVersion"].clone();
            table::table(
                resource,
                &[&object],
                api_version,
                super::query::Include::Metadata,
                json!({"resourceVersion": rv}),
            )
        }
    };
    Ok(json(StatusCode::OK, &document))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn continue_tokens_round_trip_and_reject_garbage() {
        let key = ("default".to_owned(), "web-1".to_owned());
        assert_eq!(decode_continue(&encode_continue(42, &key)), Some((42, key)));
        assert_eq!(decode_continue("not a token"), None);
        assert_eq!(decode_continue("7b7d"), None);
    }
}
