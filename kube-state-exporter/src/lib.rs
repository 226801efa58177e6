//! A drop-in replacement for kube-state-metrics: one watch per resource
//! ([`watch`]) renders each object's families ([`resources`], declared as
//! tables of [`family::Family`]) into a store of bytes per object
//! ([`store`]), which a scrape streams out family by family
//! ([`exposition`]).

mod cron;
pub mod exposition;
pub mod family;
pub mod filters;
pub mod labels;
pub mod resources;
pub mod store;
pub mod telemetry;
pub mod watch;
