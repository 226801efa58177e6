//! The objects, one global resource version counter, and the bounded event
//! history that list snapshots and watches are served from.
//!
//! Like etcd behind kube-apiserver: every write takes the next resource
//! version; a list at an older version (a continued list, or
//! `resourceVersionMatch=Exact`) is rebuilt from the current objects by
//! undoing later events; once history is dropped (bounded size, or
//! [`Store::compact`]) older versions answer 410 Expired.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::ops::Bound;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use serde_json::{Value, json};
use tokio::sync::mpsc;

use super::discovery::{self, Resource};
use super::status::ApiError;
use super::util;

/// Where an object lives: (namespace, name); the namespace is empty for
/// cluster-scoped objects. Ordering keys orders lists as the real server
/// does (by etcd key: namespace, then name).
pub type Key = (String, String);

/// What a write did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    Added,
    Modified,
    Deleted,
}

/// One write, kept in history.
#[derive(Debug)]
pub struct Event {
    pub rv: u64,
    pub resource: &'static Resource,
    pub key: Key,
    pub kind: EventType,
    /// The object after the write (for a delete: its last state, carrying
    /// the delete's resource version, as the real server sends it).
    pub object: Arc<Value>,
    /// The object before the write; `None` for a create.
    pub prev: Option<Arc<Value>>,
}

/// What a registered watch receives, in resource version order.
#[derive(Debug)]
pub enum WatchMsg {
    Event(Arc<Event>),
    /// Every event up to this resource version has been sent before it.
    Bookmark(u64),
    /// Drop the connection abruptly.
    Cut,
}

/// A newly registered watch: what to send first, then `rx` for the rest.
pub struct Registration {
    pub id: u64,
    /// The resource version at registration.
    pub rv: u64,
    /// Current objects of the resource, for synthetic ADDED events.
    pub initial: Vec<Arc<Value>>,
    /// Retained events after the requested version.
    pub replay: Vec<Arc<Event>>,
    pub rx: mpsc::UnboundedReceiver<WatchMsg>,
}

/// Where a watch starts.
#[derive(Debug, Clone, Copy)]
pub enum WatchFrom {
    /// Only events after now.
    Now,
    /// Synthetic ADDED events for the current objects, then events after now.
    Initial,
    /// Events after this resource version.
    After(u64),
}

/// One page of a list.
pub struct Page {
    /// The resource version the page was read at.
    pub rv: u64,
    pub items: Vec<Arc<Value>>,
    /// When more matching objects follow: the key of the last item.
    pub more: Option<Key>,
}

struct Watcher {
    id: u64,
    resource: &'static str,
    tx: mpsc::UnboundedSender<WatchMsg>,
}

struct State {
    rv: u64,
    /// Events at or below this resource version are forgotten.
    compacted: u64,
    objects: HashMap<&'static str, BTreeMap<Key, Arc<Value>>>,
    history: VecDeque<Arc<Event>>,
    history_limit: usize,
    watchers: Vec<Watcher>,
    next_watcher: u64,
}

/// The in-memory cluster state; shared by the HTTP side and the test's API.
pub struct Store {
    state: Mutex<State>,
}

/// The object is not a JSON object with `metadata`: a 400.
fn malformed(what: &str) -> ApiError {
    ApiError::bad_request(format!("invalid object: {what}"))
}

/// The resource and key of an object, from its apiVersion, kind and metadata.
fn identify(object: &Value) -> Result<(&'static Resource, Key), ApiError> {
    let api_version = object["apiVersion"]
        .as_str()
        .ok_or_else(|| malformed("apiVersion is missing"))?;
    let kind = object["kind"]
        .as_str()
        .ok_or_else(|| malformed("kind is missing"))?;
    let resource = discovery::by_kind(api_version, kind).ok_or_else(|| {
        ApiError::bad_request(format!(
            "no kind \"{kind}\" is registered for version \"{api_version}\""
        ))
    })?;
    Ok((resource, key_of(resource, object)?))
}

fn key_of(resource: &Resource, object: &Value) -> Result<Key, ApiError> {
    let name = object["metadata"]["name"]
        .as_str()
        .filter(|n| !n.is_empty())
        .ok_or_else(|| malformed("metadata.name is required"))?;
    let namespace = if resource.namespaced {
        object["metadata"]["namespace"]
            .as_str()
            .unwrap_or("default")
    } else {
        ""
    };
    Ok((namespace.to_owned(), name.to_owned()))
}

/// A name from `generateName`, with the real server's five-character suffix.
fn generated_name(prefix: &str) -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let seed = util::new_uid();
    let suffix: String = seed
        .bytes()
        .filter(u8::is_ascii_hexdigit)
        .take(5)
        .map(|b| char::from(ALPHABET[usize::from(b) % ALPHABET.len()]))
        .collect();
    format!("{prefix}{suffix}")
}

impl State {
    fn objects_of(&self, resource: &Resource) -> Option<&BTreeMap<Key, Arc<Value>>> {
        self.objects.get(resource.plural)
    }

    /// Applies a write at the next resource version and tells watchers.
    fn record(
        &mut self,
        resource: &'static Resource,
        key: Key,
        kind: EventType,
        object: Value,
        prev: Option<Arc<Value>>,
    ) -> Value {
        let returned = object.clone();
        let object = Arc::new(object);
        let objects = self.objects.entry(resource.plural).or_default();
        if kind == EventType::Deleted {
            objects.remove(&key);
        } else {
            objects.insert(key.clone(), object.clone());
        }
        let event = Arc::new(Event {
            rv: self.rv,
            resource,
            key,
            kind,
            object,
            prev,
        });
        self.history.push_back(event.clone());
        while self.history.len() > self.history_limit {
            if let Some(old) = self.history.pop_front() {
                self.compacted = old.rv;
            }
        }
        // A send fails only when the watch is ending; its guard unregisters it.
        for watcher in self
            .watchers
            .iter()
            .filter(|w| w.resource == resource.plural)
        {
            let _ = watcher.tx.send(WatchMsg::Event(event.clone()));
        }
        returned
    }

    /// Takes the next resource version and stamps it on `object`.
    fn next_version(&mut self, object: &mut Value) -> u64 {
        self.rv += 1;
        object["metadata"]["resourceVersion"] = json!(self.rv.to_string());
        self.rv
    }
}

impl Store {
    /// An empty store keeping at most `history_limit` events.
    pub fn new(history_limit: usize) -> Store {
        Store {
            state: Mutex::new(State {
                // Resource version 0 means "any" to clients, so start above it.
                rv: 1,
                compacted: 1,
                objects: HashMap::new(),
                history: VecDeque::new(),
                history_limit: history_limit.max(1),
                watchers: Vec::new(),
                next_watcher: 0,
            }),
        }
    }

    // A panic while holding the lock leaves consistent data (every write is
    // applied in one step), so a poisoned lock is still usable.
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The newest resource version.
    pub fn resource_version(&self) -> u64 {
        self.lock().rv
    }

    /// Creates `object`, filling `uid`, `creationTimestamp`, the namespace
    /// (`default`) and a `generateName` name when missing.
    pub fn create(&self, mut object: Value) -> Result<Value, ApiError> {
        if !object["metadata"].is_object() {
            return Err(malformed("metadata is required"));
        }
        let has_name = object["metadata"]["name"]
            .as_str()
            .is_some_and(|n| !n.is_empty());
        if let (false, Some(prefix)) = (has_name, object["metadata"]["generateName"].as_str()) {
            object["metadata"]["name"] = json!(generated_name(prefix));
        }
        let (resource, key) = identify(&object)?;
        let metadata = &mut object["metadata"];
        if resource.namespaced {
            metadata["namespace"] = json!(key.0);
        } else if let Some(metadata) = metadata.as_object_mut() {
            metadata.remove("namespace");
        }
        if !metadata["uid"].is_string() {
            metadata["uid"] = json!(util::new_uid());
        }
        if !metadata["creationTimestamp"].is_string() {
            metadata["creationTimestamp"] = json!(util::rfc3339(util::now_seconds()));
        }
        let mut state = self.lock();
        if state
            .objects_of(resource)
            .is_some_and(|o| o.contains_key(&key))
        {
            return Err(ApiError::already_exists(
                resource.plural,
                resource.group,
                &key.1,
            ));
        }
        state.next_version(&mut object);
        Ok(state.record(resource, key, EventType::Added, object, None))
    }

    /// Replaces an existing object. A `metadata.resourceVersion` that is set
    /// must be the current one (optimistic concurrency); unset means an
    /// unconditional update. `uid` and `creationTimestamp` are kept.
    pub fn update(&self, mut object: Value) -> Result<Value, ApiError> {
        let (resource, key) = identify(&object)?;
        let mut state = self.lock();
        let existing = state
            .objects_of(resource)
            .and_then(|o| o.get(&key))
            .cloned()
            .ok_or_else(|| ApiError::not_found(resource.plural, resource.group, &key.1))?;
        let wanted = object["metadata"]["resourceVersion"]
            .as_str()
            .filter(|v| !v.is_empty());
        if wanted.is_some_and(|v| Some(v) != existing["metadata"]["resourceVersion"].as_str()) {
            return Err(ApiError::conflict(resource.plural, resource.group, &key.1));
        }
        for field in ["uid", "creationTimestamp"] {
            object["metadata"][field] = existing["metadata"][field].clone();
        }
        if resource.namespaced {
            object["metadata"]["namespace"] = json!(key.0);
        }
        state.next_version(&mut object);
        Ok(state.record(resource, key, EventType::Modified, object, Some(existing)))
    }

    /// Deletes an object and returns its last state.
    pub fn delete(
        &self,
        resource: &'static Resource,
        namespace: Option<&str>,
        name: &str,
    ) -> Result<Value, ApiError> {
        let key = (
            if resource.namespaced {
                namespace.unwrap_or("default")
            } else {
                ""
            }
            .to_owned(),
            name.to_owned(),
        );
        let mut state = self.lock();
        let existing = state
            .objects_of(resource)
            .and_then(|o| o.get(&key))
            .cloned()
            .ok_or_else(|| ApiError::not_found(resource.plural, resource.group, name))?;
        let mut last = (*existing).clone();
        state.next_version(&mut last);
        Ok(state.record(resource, key, EventType::Deleted, last, Some(existing)))
    }

    /// The current object at `key`.
    pub fn get(&self, resource: &Resource, key: &Key) -> Option<Arc<Value>> {
        self.lock().objects_of(resource)?.get(key).cloned()
    }

    /// Up to `limit` objects of `resource` (in `namespace`, if given) that
    /// `keep` accepts, after key `after`, as they were at resource version
    /// `at` (default: now).
    pub fn page(
        &self,
        resource: &'static Resource,
        namespace: Option<&str>,
        at: Option<u64>,
        after: Option<&Key>,
        limit: Option<usize>,
        keep: impl Fn(&Value) -> bool,
    ) -> Result<Page, ApiError> {
        let state = self.lock();
        let at = at.unwrap_or(state.rv);
        if at < state.compacted {
            return Err(ApiError::expired(format!(
                "too old resource version: {at} ({})",
                state.compacted
            )));
        }
        if at > state.rv {
            return Err(ApiError::too_large_resource_version(at, state.rv));
        }
        // The state at `at`: for each key written since, its value before
        // the first such write (None: it did not exist).
        let mut overlay: BTreeMap<&Key, Option<&Arc<Value>>> = BTreeMap::new();
        let first_newer = state.history.partition_point(|e| e.rv <= at);
        for event in state.history.range(first_newer..) {
            if event.resource.plural == resource.plural {
                overlay.entry(&event.key).or_insert(event.prev.as_ref());
            }
        }
        let empty = BTreeMap::new();
        let current = state.objects_of(resource).unwrap_or(&empty);
        let start = match (after, namespace) {
            (Some(after), _) => Bound::Excluded(after.clone()),
            (None, Some(ns)) => Bound::Included((ns.to_owned(), String::new())),
            (None, None) => Bound::Unbounded,
        };
        let mut unchanged = current
            .range((start.clone(), Bound::Unbounded))
            .filter(|(k, _)| !overlay.contains_key(k))
            .peekable();
        let mut older = overlay
            .iter()
            .filter(|(k, _)| match &start {
                Bound::Excluded(s) => **k > s,
                Bound::Included(s) => **k >= s,
                Bound::Unbounded => true,
            })
            .filter_map(|(k, v)| Some((*k, (*v)?)))
            .peekable();
        let merged = std::iter::from_fn(|| match (unchanged.peek(), older.peek()) {
            (Some((a, _)), Some((b, _))) if a < b => unchanged.next(),
            (Some(_), None) => unchanged.next(),
            _ => older.next(),
        });
        let mut matching = merged
            .skip_while(|(k, _)| namespace.is_some_and(|ns| k.0.as_str() < ns))
            .take_while(|(k, _)| namespace.is_none_or(|ns| k.0 == ns))
            .filter(|(_, v)| keep(v));
        let limit = limit.unwrap_or(usize::MAX);
        let mut items = Vec::new();
        let mut last = None;
        for (key, value) in matching.by_ref().take(limit) {
            items.push(value.clone());
            last = Some(key);
        }
        let more = match matching.next() {
            Some(_) => last.cloned(),
            None => None,
        };
        Ok(Page {
            rv: at,
            items,
            more,
        })
    }

    /// Registers a watch on `resource` starting at `from`; 410 Expired when
    /// the events after the requested version are no longer retained.
    pub fn watch(
        &self,
        resource: &'static Resource,
        from: WatchFrom,
    ) -> Result<Registration, ApiError> {
        let mut state = self.lock();
        let registration =
            |state: &mut State, initial: Vec<Arc<Value>>, replay: Vec<Arc<Event>>| {
                let (tx, rx) = mpsc::unbounded_channel();
                let id = state.next_watcher;
                state.next_watcher += 1;
                state.watchers.push(Watcher {
                    id,
                    resource: resource.plural,
                    tx,
                });
                Registration {
                    id,
                    rv: state.rv,
                    initial,
                    replay,
                    rx,
                }
            };
        match from {
            WatchFrom::Now => Ok(registration(&mut state, Vec::new(), Vec::new())),
            WatchFrom::Initial => {
                let initial = state
                    .objects_of(resource)
                    .map(|o| o.values().cloned().collect())
                    .unwrap_or_default();
                Ok(registration(&mut state, initial, Vec::new()))
            }
            WatchFrom::After(rv) if rv < state.compacted => Err(ApiError::expired(format!(
                "too old resource version: {rv} ({})",
                state.compacted
            ))),
            WatchFrom::After(rv) => {
                let first_newer = state.history.partition_point(|e| e.rv <= rv);
                let replay = state
                    .history
                    .range(first_newer..)
                    .filter(|e| e.resource.plural == resource.plural)
                    .cloned()
                    .collect();
                Ok(registration(&mut state, Vec::new(), replay))
            }
        }
    }

    /// Forgets a watch (its connection ended).
    pub fn unwatch(&self, id: u64) {
        self.lock().watchers.retain(|w| w.id != id);
    }

    /// Sends every watch a bookmark at the newest resource version.
    pub fn bookmark_all(&self) {
        let state = self.lock();
        for watcher in &state.watchers {
            let _ = watcher.tx.send(WatchMsg::Bookmark(state.rv));
        }
    }

    /// Tells every watch to drop its connection abruptly.
    pub fn cut_watches(&self) {
        for watcher in &self.lock().watchers {
            let _ = watcher.tx.send(WatchMsg::Cut);
        }
    }

    /// Forgets all history, as etcd compaction does. The resource version
    /// moves on by one first (in a real cluster other writes, such as lease
    /// renewals, always happen in between), so every version handed out
    /// before this call is now too old: watches from it get 410 and
    /// continue tokens expire. Open watches are not affected.
    pub fn compact(&self) {
        let mut state = self.lock();
        state.rv += 1;
        state.compacted = state.rv;
        state.history.clear();
    }

    /// Open watches, on one resource or on all.
    pub fn active_watches(&self, resource: Option<&str>) -> usize {
        self.lock()
            .watchers
            .iter()
            .filter(|w| resource.is_none_or(|r| r == w.resource))
            .count()
    }

    /// Every current object of `resource` (in `namespace`, if given), in key order.
    pub fn list(&self, resource: &'static Resource, namespace: Option<&str>) -> Vec<Value> {
        self.lock()
            .objects_of(resource)
            .map(|objects| {
                objects
                    .iter()
                    .filter(|((ns, _), _)| namespace.is_none_or(|n| n == ns))
                    .map(|(_, v)| (**v).clone())
                    .collect()
            })
            .unwrap_or_default()
    }
}
