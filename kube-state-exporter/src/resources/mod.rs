//! The resources the exporter watches, each a table of metric families in
//! its own file, and how an object becomes its rendered lines.

mod common;
mod cronjob;
mod daemonset;
mod deployment;
mod job;
mod namespace;
mod node;
mod persistentvolume;
mod persistentvolumeclaim;
mod pod;
mod replicaset;
mod service;
mod statefulset;
#[cfg(test)]
mod testing;

use std::fmt::Debug;

use k8s_openapi::{ClusterResourceScope, NamespaceResourceScope};
use kube::{Api, Client};
use serde::de::DeserializeOwned;

use crate::family::{Family, RenderConfig, Series, identity_labels};
use crate::store::Rendered;

/// A Kubernetes kind the exporter renders.
pub trait Resource:
    kube::Resource<DynamicType = (), Scope: ApiScope>
    + DeserializeOwned
    + Clone
    + Debug
    + Send
    + Sync
    + 'static
{
    /// The name `--resources` and `?resources=` use, e.g. `pods`.
    const NAME: &'static str;

    /// The identity label with the object's name, e.g. `pod` (after
    /// `namespace` for namespaced kinds).
    const NAME_LABEL: &'static str;

    /// Whether the identity labels end with the object's `uid` (pods and
    /// services, as in KSM).
    const UID_LABEL: bool = false;

    /// Whether objects live in namespaces (so `--namespaces` and
    /// `--namespaces-denylist` apply).
    const NAMESPACED: bool = <Self::Scope as ApiScope>::NAMESPACED;

    /// The families, in the order KSM writes them.
    fn families() -> &'static [Family<Self>];

    /// The labels every series of the object starts with, as KSM orders
    /// them (`namespace`, `pod`, `uid` for a pod).
    fn identity(&self) -> Vec<(&'static str, &str)> {
        let meta = self.meta();
        let mut labels = Vec::with_capacity(3);
        if Self::NAMESPACED {
            labels.push(("namespace", meta.namespace.as_deref().unwrap_or_default()));
        }
        labels.push((Self::NAME_LABEL, meta.name.as_deref().unwrap_or_default()));
        if Self::UID_LABEL {
            labels.push(("uid", meta.uid.as_deref().unwrap_or_default()));
        }
        labels
    }

    /// The API to list and watch: in `namespace`, or everywhere.
    fn api(client: Client, namespace: Option<&str>) -> Api<Self> {
        <Self::Scope as ApiScope>::api(client, namespace)
    }
}

/// What a kind's scope (`kube::Resource::Scope`) decides: whether its
/// objects live in namespaces, and how to reach them.
pub trait ApiScope {
    /// See [`Resource::NAMESPACED`].
    const NAMESPACED: bool;

    /// The API in `namespace`, or everywhere (cluster-scoped kinds ignore
    /// the namespace).
    fn api<K>(client: Client, namespace: Option<&str>) -> Api<K>
    where
        K: kube::Resource<DynamicType = (), Scope = Self>;
}

impl ApiScope for NamespaceResourceScope {
    const NAMESPACED: bool = true;

    fn api<K>(client: Client, namespace: Option<&str>) -> Api<K>
    where
        K: kube::Resource<DynamicType = (), Scope = Self>,
    {
        match namespace {
            Some(namespace) => Api::namespaced(client, namespace),
            None => Api::all(client),
        }
    }
}

impl ApiScope for ClusterResourceScope {
    const NAMESPACED: bool = false;

    fn api<K>(client: Client, _namespace: Option<&str>) -> Api<K>
    where
        K: kube::Resource<DynamicType = (), Scope = Self>,
    {
        Api::all(client)
    }
}

/// Renders every enabled family of `object`.
pub fn render<K: Resource>(object: &K, config: &RenderConfig) -> Rendered {
    let identity = identity_labels(&object.identity());
    let families = K::families();
    // Room for a large pod's lines at once (rendered size is about 12 KiB);
    // the store keeps an exact-size copy.
    let mut text = Vec::with_capacity(16 * 1024);
    let mut ends = Vec::with_capacity(families.len());
    for (family, on) in families.iter().zip(&config.enabled) {
        if *on {
            let mut series = Series::new(&mut text, family.name, &identity, config);
            (family.generate)(object, &mut series);
        }
        ends.push(u32::try_from(text.len()).unwrap_or(u32::MAX));
    }
    Rendered::new(text, ends)
}

/// A resource kind with its type erased, as the engine handles it.
pub struct Registration {
    pub name: &'static str,
    pub namespaced: bool,
    /// Each family's name, opt-in flag and header lines.
    pub headers: fn() -> Vec<Header>,
    /// Starts watching into a store (see [`crate::watch::start`]).
    pub start: fn(crate::watch::Start),
}

/// What the engine needs of a family without knowing its object type.
pub struct Header {
    pub name: &'static str,
    pub opt_in: bool,
    pub lines: Vec<u8>,
}

impl Registration {
    const fn of<K: Resource>() -> Registration {
        Registration {
            name: K::NAME,
            namespaced: K::NAMESPACED,
            headers: headers::<K>,
            start: crate::watch::start::<K>,
        }
    }
}

fn headers<K: Resource>() -> Vec<Header> {
    K::families()
        .iter()
        .map(|family| Header {
            name: family.name,
            opt_in: family.opt_in,
            lines: family.header(),
        })
        .collect()
}

/// Every resource, in KSM's order (alphabetical, as it sorts the enabled
/// resources).
pub const ALL: &[Registration] = &[
    Registration::of::<k8s_openapi::api::batch::v1::CronJob>(),
    Registration::of::<k8s_openapi::api::apps::v1::DaemonSet>(),
    Registration::of::<k8s_openapi::api::apps::v1::Deployment>(),
    Registration::of::<k8s_openapi::api::batch::v1::Job>(),
    Registration::of::<k8s_openapi::api::core::v1::Namespace>(),
    Registration::of::<k8s_openapi::api::core::v1::Node>(),
    Registration::of::<k8s_openapi::api::core::v1::PersistentVolumeClaim>(),
    Registration::of::<k8s_openapi::api::core::v1::PersistentVolume>(),
    Registration::of::<k8s_openapi::api::core::v1::Pod>(),
    Registration::of::<k8s_openapi::api::apps::v1::ReplicaSet>(),
    Registration::of::<k8s_openapi::api::core::v1::Service>(),
    Registration::of::<k8s_openapi::api::apps::v1::StatefulSet>(),
];
