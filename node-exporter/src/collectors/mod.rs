//! Every collector, one per file, registered by name.

use clap::Args;

use crate::collector::Registration;

mod arp;
mod bonding;
mod conntrack;
mod cpu;
mod cpufreq;
mod diskstats;
mod dmi;
mod edac;
mod entropy;
mod filefd;
mod filesystem;
mod hwmon;
mod kernel_hung;
mod loadavg;
mod mdadm;
mod meminfo;
mod netclass;
mod netdev;
mod netstat;
mod nvme;
mod os;
mod powersupplyclass;
mod pressure;
mod rapl;
mod schedstat;
mod selinux;
mod sockstat;
mod softnet;
mod stat;
mod textfile;
mod thermal_zone;
mod time;
mod timex;
mod udp_queues;
mod uname;
mod vmstat;
mod watchdog;

/// All collectors, in name order.
pub const ALL: &[Registration] = &[
    arp::REGISTRATION,
    bonding::REGISTRATION,
    conntrack::REGISTRATION,
    cpu::REGISTRATION,
    cpufreq::REGISTRATION,
    diskstats::REGISTRATION,
    dmi::REGISTRATION,
    edac::REGISTRATION,
    entropy::REGISTRATION,
    filefd::REGISTRATION,
    filesystem::REGISTRATION,
    hwmon::REGISTRATION,
    kernel_hung::REGISTRATION,
    loadavg::REGISTRATION,
    mdadm::REGISTRATION,
    meminfo::REGISTRATION,
    netclass::REGISTRATION,
    netdev::REGISTRATION,
    netstat::REGISTRATION,
    nvme::REGISTRATION,
    os::REGISTRATION,
    powersupplyclass::REGISTRATION,
    pressure::REGISTRATION,
    rapl::REGISTRATION,
    schedstat::REGISTRATION,
    selinux::REGISTRATION,
    sockstat::REGISTRATION,
    softnet::REGISTRATION,
    stat::REGISTRATION,
    textfile::REGISTRATION,
    thermal_zone::REGISTRATION,
    time::REGISTRATION,
    timex::REGISTRATION,
    udp_queues::REGISTRATION,
    uname::REGISTRATION,
    vmstat::REGISTRATION,
    watchdog::REGISTRATION,
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
    pub hwmon: hwmon::Flags,
    #[command(flatten)]
    pub netclass: netclass::Flags,
    #[command(flatten)]
    pub netdev: netdev::Flags,
    #[command(flatten)]
    pub netstat: netstat::Flags,
    #[command(flatten)]
    pub powersupplyclass: powersupplyclass::Flags,
    #[command(flatten)]
    pub rapl: rapl::Flags,
    #[command(flatten)]
    pub stat: stat::Flags,
    #[command(flatten)]
    pub textfile: textfile::Flags,
    #[command(flatten)]
    pub vmstat: vmstat::Flags,
}
