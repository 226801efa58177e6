//! Every collector, one per file, registered by name.

use clap::Args;

use crate::collector::Registration;

mod cpu;
mod cpufreq;
mod diskstats;
mod entropy;
mod filefd;
mod kernel_hung;
mod loadavg;
mod meminfo;
mod os;
mod pressure;
mod schedstat;
mod softnet;
mod stat;
mod uname;
mod vmstat;

/// All collectors, in name order.
pub const ALL: &[Registration] = &[
    cpu::REGISTRATION,
    cpufreq::REGISTRATION,
    diskstats::REGISTRATION,
    entropy::REGISTRATION,
    filefd::REGISTRATION,
    kernel_hung::REGISTRATION,
    loadavg::REGISTRATION,
    meminfo::REGISTRATION,
    os::REGISTRATION,
    pressure::REGISTRATION,
    schedstat::REGISTRATION,
    softnet::REGISTRATION,
    stat::REGISTRATION,
    uname::REGISTRATION,
    vmstat::REGISTRATION,
];

/// The collectors' own flags.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Collectors")]
pub struct CollectorFlags {
    #[command(flatten)]
    pub cpu: cpu::Flags,
    #[command(flatten)]
    pub diskstats: diskstats::Flags,
    #[command(flatten)]
    pub stat: stat::Flags,
    #[command(flatten)]
    pub vmstat: vmstat::Flags,
}
