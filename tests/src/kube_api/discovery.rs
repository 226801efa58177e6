//! The resources this server knows, and the discovery documents that tell
//! clients about them (`/version`, `/api`, `/apis`, `/api/v1`, ...).
//!
//! Only the legacy (unaggregated) discovery format is served: clients ask
//! for `as=APIGroupDiscoveryList` first, see a plain `application/json`
//! answer and fall back to walking `/api/v1` and `/apis/{group}/{version}`,
//! exactly as they do against servers older than 1.26.

use serde_json::{Value, json};

/// One kind of object the server stores.
#[derive(Debug, PartialEq, Eq)]
pub struct Resource {
    /// API group: empty for the core group.
    pub group: &'static str,
    pub version: &'static str,
    /// The path segment and the store's key: `pods`, `deployments`.
    pub plural: &'static str,
    pub singular: &'static str,
    pub kind: &'static str,
    pub namespaced: bool,
    pub short_names: &'static [&'static str],
    pub categories: &'static [&'static str],
}

impl Resource {
    /// `v1` or `apps/v1`.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.to_owned()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// What the real server lists for this resource. Namespaces alone have no
    /// `deletecollection`.
    fn verbs(&self) -> &'static [&'static str] {
        if self.plural == "namespaces" {
            &[
                "create", "delete", "get", "list", "patch", "update", "watch",
            ]
        } else {
            &[
                "create",
                "delete",
                "deletecollection",
                "get",
                "list",
                "patch",
                "update",
                "watch",
            ]
        }
    }

    fn api_resource(&self) -> Value {
        let mut resource = json!({
            "name": self.plural,
            "singularName": self.singular,
            "namespaced": self.namespaced,
            "kind": self.kind,
            "verbs": self.verbs(),
        });
        if !self.short_names.is_empty() {
            resource["shortNames"] = json!(self.short_names);
        }
        if !self.categories.is_empty() {
            resource["categories"] = json!(self.categories);
        }
        resource
    }
}

const fn resource(
    group: &'static str,
    plural: &'static str,
    singular: &'static str,
    kind: &'static str,
    namespaced: bool,
    short_names: &'static [&'static str],
    in_all: bool,
) -> Resource {
    Resource {
        group,
        version: "v1",
        plural,
        singular,
        kind,
        namespaced,
        short_names,
        categories: if in_all { &["all"] } else { &[] },
    }
}

/// Every resource served, in discovery order.
pub static RESOURCES: [Resource; 12] = [
    resource("", "pods", "pod", "Pod", true, &["po"], true),
    resource("", "nodes", "node", "Node", false, &["no"], false),
    resource(
        "",
        "namespaces",
        "namespace",
        "Namespace",
        false,
        &["ns"],
        false,
    ),
    resource("", "services", "service", "Service", true, &["svc"], true),
    resource(
        "",
        "persistentvolumeclaims",
        "persistentvolumeclaim",
        "PersistentVolumeClaim",
        true,
        &["pvc"],
        false,
    ),
    resource(
        "",
        "persistentvolumes",
        "persistentvolume",
        "PersistentVolume",
        false,
        &["pv"],
        false,
    ),
    resource(
        "apps",
        "deployments",
        "deployment",
        "Deployment",
        true,
        &["deploy"],
        true,
    ),
    resource(
        "apps",
        "replicasets",
        "replicaset",
        "ReplicaSet",
        true,
        &["rs"],
        true,
    ),
    resource(
        "apps",
        "daemonsets",
        "daemonset",
        "DaemonSet",
        true,
        &["ds"],
        true,
    ),
    resource(
        "apps",
        "statefulsets",
        "statefulset",
        "StatefulSet",
        true,
        &["sts"],
        true,
    ),
    resource("batch", "jobs", "job", "Job", true, &[], true),
    resource(
        "batch",
        "cronjobs",
        "cronjob",
        "CronJob",
        true,
        &["cj"],
        true,
    ),
];

/// The groups besides the core one, in discovery order.
const GROUPS: [&str; 2] = ["apps", "batch"];

/// The resource stored under `plural` (plurals are unique across groups here).
pub fn by_plural(plural: &str) -> Option<&'static Resource> {
    RESOURCES.iter().find(|r| r.plural == plural)
}

/// The resource at `/apis/{group}/{version}/{plural}` (group empty for `/api/v1`).
pub fn by_path(group: &str, version: &str, plural: &str) -> Option<&'static Resource> {
    RESOURCES
        .iter()
        .find(|r| r.group == group && r.version == version && r.plural == plural)
}

/// The resource an object with this `apiVersion` and `kind` belongs to.
pub fn by_kind(api_version: &str, kind: &str) -> Option<&'static Resource> {
    RESOURCES
        .iter()
        .find(|r| r.kind == kind && r.api_version() == api_version)
}

/// The version this server claims to be.
pub const GIT_VERSION: &str = "v1.34.0";

/// `/version`: a version.Info as kube-apiserver v1.34.0 reports it.
pub fn version_info() -> Value {
    json!({
        "major": "1",
        "minor": "34",
        "emulationMajor": "1",
        "emulationMinor": "34",
        "minCompatibilityMajor": "1",
        "minCompatibilityMinor": "33",
        "gitVersion": GIT_VERSION,
        "gitCommit": "f28b4c9efbca5c5c0af716d9f2d5702667ee8a45",
        "gitTreeState": "clean",
        "buildDate": "2025-08-27T10:15:59Z",
        "goVersion": "go1.24.6",
        "compiler": "gc",
        "platform": "linux/amd64"
    })
}

/// `/api`: the core group's versions.
pub fn core_versions(server_address: &str) -> Value {
    json!({
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}]
    })
}

fn group_document(name: &str) -> Value {
    let version = json!({"groupVersion": format!("{name}/v1"), "version": "v1"});
    json!({"name": name, "versions": [version], "preferredVersion": version})
}

/// `/apis`: every named group.
pub fn group_list() -> Value {
    let groups: Vec<Value> = GROUPS.iter().map(|g| group_document(g)).collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
}

/// `/apis/{group}`, if the group exists.
pub fn group(name: &str) -> Option<Value> {
    GROUPS.contains(&name).then(|| {
        let mut group = group_document(name);
        group["kind"] = json!("APIGroup");
        group["apiVersion"] = json!("v1");
        group
    })
}

/// `/api/v1` (group empty) or `/apis/{group}/{version}`, if served.
pub fn resource_list(group: &str, version: &str) -> Option<Value> {
    let resources: Vec<Value> = RESOURCES
        .iter()
        .filter(|r| r.group == group && r.version == version)
        .map(Resource::api_resource)
        .collect();
    if resources.is_empty() {
        return None;
    }
    let group_version = if group.is_empty() {
        version.to_owned()
    } else {
        format!("{group}/{version}")
    };
    let mut list =
        json!({"kind": "APIResourceList", "groupVersion": group_version, "resources": resources});
    // The real core list has no apiVersion; the named groups' lists do.
    if !group.is_empty() {
        list["apiVersion"] = json!("v1");
    }
    Some(list)
}
