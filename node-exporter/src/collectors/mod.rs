//! Every collector, one per file, registered by name.

use clap::Args;

use crate::collector::Registration;

mod arp;
mod bonding;
mod conntrack;
mod cpu;
mod cpufreq;
mod diskstats;
mod entropy;
mod filefd;
mod filesystem;
mod kernel_hung;
mod loadavg;
mod meminfo;
mod netclass;
mod netdev;
mod netstat;
mod os;
mod pressure;
mod schedstat;
mod sockstat;
mod softnet;
mod stat;
mod textfile;
mod time;
mod timex;
mod udp_queues;
mod uname;
mod vmstat;

/// All collectors, in name order.
pub const ALL: &[Registration] = &[
    arp::REGISTRATION,
    bonding::REGISTRATION,
    conntrack::REGISTRATION,
    cpu::REGISTRATION,
    cpufreq::REGISTRATION,
    diskstats::REGISTRATION,
    entropy::REGISTRATION,
    filefd::REGISTRATION,
    filesystem::REGISTRATION,
    kernel_hung::REGISTRATION,
    loadavg::REGISTRATION,
    meminfo::REGISTRATION,
    netclass::REGISTRATION,
    netdev::REGISTRATION,
    netstat::REGISTRATION,
    os::REGISTRATION,
    pressure::REGISTRATION,
    schedstat::REGISTRATION,
    sockstat::REGISTRATION,
    softnet::REGISTRATION,
    stat::REGISTRATION,
    textfile::REGISTRATION,
    time::REGISTRATION,
    timex::REGISTRATION,
    udp_queues::REGISTRATION,
    uname::REGISTRATION,
    vmstat::REGISTRATION,
];

/// The collectors' own flags.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Collectors")]
pub struct CollectorFlags {
    #[command(flatten)]
    pub arp: arp::Flags,
    #[command(flatten)]
    pub cpu: cpu::Flags,
    #[command(flatten)]
    pub diskstats: diskstats::Flags,
    #[command(flatten)]
    pub filesystem: filesystem::Flags,
    #[command(flatten)]
    pub netclass: netclass::Flags,
    #[command(flatten)]
    pub netdev: netdev::Flags,
    #[command(flatten)]
    pub netstat: netstat::Flags,
    #[command(flatten)]
    pub stat: stat::Flags,
    #[command(flatten)]
    pub textfile: textfile::Flags,
    #[command(flatten)]
    pub vmstat: vmstat::Flags,
}
