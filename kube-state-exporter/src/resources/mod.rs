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

use std::fmt::Debug;

use k8s_openapi::NamespaceResourceScope;
use kube::{Api, Client};
use serde::de::DeserializeOwned;

use crate::family::{Family, RenderConfig, Series};
use crate::store::Rendered;

/// A Kubernetes kind the exporter renders.
pub trait Resource:
    kube::Resource<DynamicType = ()> + DeserializeOwned + Clone + Debug + Send + Sync + 'static
{
    /// The name `--resources` and `?resources=` use, e.g. `pods`.
    const NAME: &'static str;

    /// Whether objects live in namespaces (so `--namespaces` and
    /// `--namespaces-denylist` apply).
    const NAMESPACED: bool;

    /// The families, in the order KSM writes them.
    fn families() -> &'static [Family<Self>];

    /// The labels every series of the object starts with (KSM's
    /// `namespace`, `pod`, `uid` for a pod).
    fn identity(&self) -> Vec<(&'static str, &str)>;

    /// The API to list and watch: in `namespace`, or everywhere.
    fn api(client: Client, namespace: Option<&str>) -> Api<Self>;
}

/// [`Resource::api`] for namespaced kinds.
fn namespaced_api<K>(client: Client, namespace: Option<&str>) -> Api<K>
where
    K: kube::Resource<DynamicType = (), Scope = NamespaceResourceScope>,
{
    match namespace {
        Some(namespace) => Api::namespaced(client, namespace),
        None => Api::all(client),
    }
}

/// Renders every enabled family of `object`.
pub fn render<K: Resource>(object: &K, config: &RenderConfig) -> Rendered {
    let identity = object.identity();
    let families = K::families();
    let mut text = Vec::with_capacity(1024);
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
