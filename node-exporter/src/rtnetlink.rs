//! Network links over netlink, as node_exporter reads them: one RTM_GETLINK
//! dump gives netdev each link's name and `struct rtnl_link_stats64`, and
//! netclass (with `--collector.netclass.netlink`) each link's properties,
//! its counters among them; one dump of ethtool's generic netlink family
//! gives netclass each link's speed and duplex.
//!
//! Only a few attributes of three message types are decoded, so this is
//! written out here rather than pulled in with a general netlink crate: the
//! exporter's resident set is within a few hundred KiB of its target.

use std::io;
use std::os::fd::{AsRawFd as _, OwnedFd};

use nix::sys::socket::{
    AddressFamily, MsgFlags, SockFlag, SockProtocol, SockType, recv, send, socket,
};

/// Counters of `struct rtnl_link_stats64`, in the kernel's order.
pub const STATS: usize = 24;

pub mod stat {
    pub const RX_PACKETS: usize = 0;
    pub const TX_PACKETS: usize = 1;
    pub const RX_BYTES: usize = 2;
    pub const TX_BYTES: usize = 3;
    pub const RX_ERRORS: usize = 4;
    pub const TX_ERRORS: usize = 5;
    pub const RX_DROPPED: usize = 6;
    pub const TX_DROPPED: usize = 7;
    pub const MULTICAST: usize = 8;
    pub const COLLISIONS: usize = 9;
    pub const RX_LENGTH_ERRORS: usize = 10;
    pub const RX_OVER_ERRORS: usize = 11;
    pub const RX_CRC_ERRORS: usize = 12;
    pub const RX_FRAME_ERRORS: usize = 13;
    pub const RX_FIFO_ERRORS: usize = 14;
    pub const RX_MISSED_ERRORS: usize = 15;
    pub const TX_ABORTED_ERRORS: usize = 16;
    pub const TX_CARRIER_ERRORS: usize = 17;
    pub const TX_FIFO_ERRORS: usize = 18;
    pub const TX_HEARTBEAT_ERRORS: usize = 19;
    pub const TX_WINDOW_ERRORS: usize = 20;
    pub const RX_COMPRESSED: usize = 21;
    pub const TX_COMPRESSED: usize = 22;
    pub const RX_NOHANDLER: usize = 23;
}

/// node_exporter's name for each counter, by [`stat`] index: the
/// `node_network_<name>_total` families of netdev with
/// `--collector.netdev.enable-detailed-metrics` and of netclass with
/// `--collector.netclass_rtnl.with-stats`.
pub const STAT_NAMES: [&str; STATS] = [
    "receive_packets",
    "transmit_packets",
    "receive_bytes",
    "transmit_bytes",
    "receive_errors",
    "transmit_errors",
    "receive_dropped",
    "transmit_dropped",
    "multicast",
    "collisions",
    "receive_length_errors",
    "receive_over_errors",
    "receive_crc_errors",
    "receive_frame_errors",
    "receive_fifo_errors",
    "receive_missed_errors",
    "transmit_aborted_errors",
    "transmit_carrier_errors",
    "transmit_fifo_errors",
    "transmit_heartbeat_errors",
    "transmit_window_errors",
    "receive_compressed",
    "transmit_compressed",
    "receive_nohandler",
];

/// One link of the dump.
#[derive(Debug, PartialEq)]
pub struct Link {
    pub name: String,
    pub stats: [u64; STATS],
}

/// One link's properties, as `ip link` shows them. Optional attributes the
/// kernel did not send (older kernels, or not applicable) are `None`.
#[derive(Debug, Default, PartialEq)]
pub struct LinkProperties {
    /// `ifi_index`.
    pub index: u32,
    /// `ifi_type`: the ARPHRD_* hardware type.
    pub kind: u16,
    /// `ifi_flags`: the IFF_* flags as `dev_get_flags()` reports them, with
    /// RUNNING, LOWER_UP and DORMANT from the link state.
    pub flags: u32,
    pub name: String,
    /// Hardware address (IFLA_ADDRESS); empty when the link has none.
    pub address: Vec<u8>,
    /// Hardware broadcast address (IFLA_BROADCAST); empty when none.
    pub broadcast: Vec<u8>,
    pub mtu: Option<u32>,
    /// The index of the link this one sits on (IFLA_LINK), sent only when
    /// it differs from the link's own.
    pub link: Option<u32>,
    pub tx_queue_length: Option<u32>,
    /// RFC 2863 state (IF_OPER_*).
    pub operstate: Option<u8>,
    /// IF_LINK_MODE_*.
    pub link_mode: Option<u8>,
    /// IFLA_IFALIAS, sent only when set.
    pub alias: Option<String>,
    /// Device group (IFLA_GROUP).
    pub group: Option<u32>,
    pub carrier: Option<u8>,
    pub carrier_changes: Option<u32>,
    pub carrier_up_count: Option<u32>,
    pub carrier_down_count: Option<u32>,
    /// Alternative names (`ip link property add ... altname`).
    pub altnames: Vec<String>,
    /// The counters of IFLA_STATS64. Unlike [`Link::stats`], never the
    /// 32-bit IFLA_STATS instead: node_exporter's netclass reads only these.
    pub stats64: Option<[u64; STATS]>,
}

/// One link's speed and duplex, as ethtool's LINKMODES_GET reports them.
#[derive(Debug, PartialEq)]
pub struct LinkMode {
    pub name: String,
    /// Mb/s; `u32::MAX` (SPEED_UNKNOWN) when the driver does not know.
    pub speed: u32,
    /// DUPLEX_HALF (0), DUPLEX_FULL (1) or DUPLEX_UNKNOWN (255).
    pub duplex: u8,
}

const NLMSG_HEADER: usize = 16;
const IFINFOMSG: usize = 16;
const GENLMSGHDR: usize = 4;
const NLMSG_NOOP: u16 = 1;
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const RTM_NEWLINK: u16 = 16;
const RTM_GETLINK: u16 = 18;
const NLM_F_REQUEST: u16 = 0x1;
const NLM_F_DUMP_INTR: u16 = 0x10;
const NLM_F_DUMP: u16 = 0x300;
const IFLA_ADDRESS: u16 = 1;
const IFLA_BROADCAST: u16 = 2;
const IFLA_IFNAME: u16 = 3;
const IFLA_MTU: u16 = 4;
const IFLA_LINK: u16 = 5;
const IFLA_STATS: u16 = 7;
const IFLA_TXQLEN: u16 = 13;
const IFLA_OPERSTATE: u16 = 16;
const IFLA_LINKMODE: u16 = 17;
const IFLA_IFALIAS: u16 = 20;
const IFLA_STATS64: u16 = 23;
const IFLA_GROUP: u16 = 27;
const IFLA_CARRIER: u16 = 33;
const IFLA_CARRIER_CHANGES: u16 = 35;
const IFLA_CARRIER_UP_COUNT: u16 = 47;
const IFLA_CARRIER_DOWN_COUNT: u16 = 48;
const IFLA_PROP_LIST: u16 = 52;
const IFLA_ALT_IFNAME: u16 = 53;
/// The generic netlink controller, which names the other families.
const GENL_ID_CTRL: u16 = 16;
const CTRL_CMD_NEWFAMILY: u8 = 1;
const CTRL_CMD_GETFAMILY: u8 = 3;
const CTRL_VERSION: u8 = 2;
const CTRL_ATTR_FAMILY_ID: u16 = 1;
const CTRL_ATTR_FAMILY_NAME: u16 = 2;
const ETHTOOL_GENL_NAME: &str = "ethtool";
const ETHTOOL_GENL_VERSION: u8 = 1;
const ETHTOOL_MSG_LINKMODES_GET: u8 = 4;
const ETHTOOL_MSG_LINKMODES_GET_REPLY: u8 = 4;
const ETHTOOL_A_LINKMODES_HEADER: u16 = 1;
const ETHTOOL_A_LINKMODES_SPEED: u16 = 5;
const ETHTOOL_A_LINKMODES_DUPLEX: u16 = 6;
const ETHTOOL_A_HEADER_DEV_NAME: u16 = 2;
const ETHTOOL_A_HEADER_FLAGS: u16 = 3;
const ETHTOOL_FLAG_COMPACT_BITSETS: u32 = 1;
const NLA_F_NESTED: u16 = 0x8000;
/// Attribute types carry two flag bits (nested, byte order) above these.
const NLA_TYPE_MASK: u16 = 0x3fff;

/// An `ifinfomsg` of family AF_UNSPEC and no index: every link.
const EVERY_LINK: [u8; IFINFOMSG] = [0; IFINFOMSG];

/// A netlink datagram holds at most this much for a dump (the kernel sizes
/// dump messages to the reader's buffer, up to 32 KiB).
const BUFFER: usize = 32 * 1024;

/// Reads every link over a route socket kept between scrapes.
pub struct LinkReader(KeptSocket);

impl Default for LinkReader {
    fn default() -> LinkReader {
        LinkReader(KeptSocket::new(SockProtocol::NetlinkRoute))
    }
}

impl LinkReader {
    /// Every link's name and counters; links without counters are left
    /// out, as node_exporter leaves them.
    pub fn links(&mut self) -> io::Result<Vec<Link>> {
        self.0.dump(RTM_GETLINK, &EVERY_LINK, parse_datagram)
    }

    /// Every link's properties.
    pub fn properties(&mut self) -> io::Result<Vec<LinkProperties>> {
        self.0
            .dump(RTM_GETLINK, &EVERY_LINK, |bytes, sequence, links| {
                parse_messages(bytes, sequence, &mut |kind, body| {
                    if kind == RTM_NEWLINK {
                        links.push(LinkProperties::decode(body)?);
                    }
                    Ok(())
                })
            })
    }
}

/// Reads every link's speed and duplex from ethtool's generic netlink
/// family, over a socket kept between scrapes.
pub struct LinkModeReader {
    socket: KeptSocket,
    /// The family's number, once looked up: the kernel assigns it when the
    /// family registers.
    family: Option<u16>,
}

impl Default for LinkModeReader {
    fn default() -> LinkModeReader {
        LinkModeReader {
            socket: KeptSocket::new(SockProtocol::NetlinkGeneric),
            family: None,
        }
    }
}

impl LinkModeReader {
    /// The modes of every link whose driver reports link settings (not lo,
    /// tun or ifb, say), or `None` when this kernel has no ethtool netlink
    /// family (before 5.6, or built without CONFIG_ETHTOOL_NETLINK).
    pub fn link_modes(&mut self) -> io::Result<Option<Vec<LinkMode>>> {
        let family = match self.family {
            Some(family) => family,
            None => {
                let families = self.socket.dump(
                    GENL_ID_CTRL,
                    &[CTRL_CMD_GETFAMILY, CTRL_VERSION, 0, 0],
                    |bytes, sequence, families| {
                        parse_messages(bytes, sequence, &mut |kind, body| {
                            if kind == GENL_ID_CTRL {
                                families.extend(parse_family(body)?);
                            }
                            Ok(())
                        })
                    },
                )?;
                match families
                    .into_iter()
                    .find(|(name, _)| name == ETHTOOL_GENL_NAME)
                {
                    Some((_, family)) => *self.family.insert(family),
                    None => return Ok(None),
                }
            }
        };
        let modes = self
            .socket
            .dump(family, &link_modes_request(), |bytes, sequence, modes| {
                parse_messages(bytes, sequence, &mut |kind, body| {
                    if kind == family {
                        modes.extend(LinkMode::decode(body)?);
                    }
                    Ok(())
                })
            });
        match modes {
            // The family went away since it was looked up.
            Err(e) if e.raw_os_error() == Some(nix::libc::ENOENT) => {
                self.family = None;
                Ok(None)
            }
            modes => modes.map(Some),
        }
    }
}

/// `genlmsghdr` and a request header asking for compact bitsets, which
/// keep each reply to a few hundred bytes (the names of the hundred-odd
/// link modes are left out).
fn link_modes_request() -> Vec<u8> {
    let mut header = Vec::new();
    push_attribute(
        &mut header,
        ETHTOOL_A_HEADER_FLAGS,
        &ETHTOOL_FLAG_COMPACT_BITSETS.to_ne_bytes(),
    );
    let mut payload = vec![ETHTOOL_MSG_LINKMODES_GET, ETHTOOL_GENL_VERSION, 0, 0];
    push_attribute(
        &mut payload,
        ETHTOOL_A_LINKMODES_HEADER | NLA_F_NESTED,
        &header,
    );
    payload
}

/// Appends an attribute, padded to netlink's 4-byte alignment.
fn push_attribute(out: &mut Vec<u8>, kind: u16, payload: &[u8]) {
    out.extend_from_slice(&((4 + payload.len()) as u16).to_ne_bytes());
    out.extend_from_slice(&kind.to_ne_bytes());
    out.extend_from_slice(payload);
    out.resize(align(out.len()), 0);
}

/// A socket kept between dumps: opened on first use, and replaced after any
/// error, since a dump given up half way leaves the rest of it queued on the
/// socket (and the kernel refuses a new dump on it until that one is read to
/// its end).
struct KeptSocket {
    protocol: SockProtocol,
    socket: Option<Socket>,
}

impl KeptSocket {
    fn new(protocol: SockProtocol) -> KeptSocket {
        KeptSocket {
            protocol,
            socket: None,
        }
    }

    /// Dumps with request `kind` and `payload`, `datagram` adding each
    /// reply datagram's items to the list and saying when the dump is done.
    fn dump<T>(
        &mut self,
        kind: u16,
        payload: &[u8],
        mut datagram: impl FnMut(&[u8], u32, &mut Vec<T>) -> io::Result<bool>,
    ) -> io::Result<Vec<T>> {
        match self.try_dump(kind, payload, &mut datagram) {
            // An object added or removed mid-dump marks it interrupted: once
            // more, on a fresh socket.
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {
                self.try_dump(kind, payload, &mut datagram)
            }
            other => other,
        }
    }

    fn try_dump<T>(
        &mut self,
        kind: u16,
        payload: &[u8],
        datagram: &mut impl FnMut(&[u8], u32, &mut Vec<T>) -> io::Result<bool>,
    ) -> io::Result<Vec<T>> {
        let socket = match &mut self.socket {
            Some(socket) => socket,
            None => self.socket.insert(Socket::open(self.protocol)?),
        };
        let items = socket.dump(kind, payload, datagram);
        if items.is_err() {
            self.socket = None;
        }
        items
    }
}

/// A netlink socket and its receive buffer.
struct Socket {
    fd: OwnedFd,
    sequence: u32,
    buffer: Vec<u8>,
}

impl Socket {
    fn open(protocol: SockProtocol) -> io::Result<Socket> {
        let fd = socket(
            AddressFamily::Netlink,
            SockType::Raw,
            SockFlag::SOCK_CLOEXEC,
            protocol,
        )?;
        Ok(Socket {
            fd,
            sequence: 0,
            buffer: vec![0; BUFFER],
        })
    }

    fn dump<T>(
        &mut self,
        kind: u16,
        payload: &[u8],
        datagram: &mut impl FnMut(&[u8], u32, &mut Vec<T>) -> io::Result<bool>,
    ) -> io::Result<Vec<T>> {
        self.sequence = self.sequence.wrapping_add(1);
        send(
            self.fd.as_raw_fd(),
            &request(kind, self.sequence, payload),
            MsgFlags::empty(),
        )?;
        let mut items = Vec::new();
        loop {
            let n = recv(self.fd.as_raw_fd(), &mut self.buffer, MsgFlags::empty())?;
            if datagram(&self.buffer[..n], self.sequence, &mut items)? {
                return Ok(items);
            }
        }
    }
}

/// A dump request of type `kind` for the kernel (port 0): `nlmsghdr`, then
/// `payload`.
fn request(kind: u16, sequence: u32, payload: &[u8]) -> Vec<u8> {
    let length = NLMSG_HEADER + payload.len();
    let mut message = Vec::with_capacity(length);
    message.extend_from_slice(&(length as u32).to_ne_bytes());
    message.extend_from_slice(&kind.to_ne_bytes());
    message.extend_from_slice(&(NLM_F_REQUEST | NLM_F_DUMP).to_ne_bytes());
    message.extend_from_slice(&sequence.to_ne_bytes());
    message.extend_from_slice(&0u32.to_ne_bytes());
    message.extend_from_slice(payload);
    message
}

fn malformed(what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("malformed netlink message: {what}"),
    )
}

fn align(length: usize) -> usize {
    (length + 3) & !3
}

fn u16_at(bytes: &[u8], at: usize) -> u16 {
    u16::from_ne_bytes([bytes[at], bytes[at + 1]])
}

fn u32_at(bytes: &[u8], at: usize) -> u32 {
    u32::from_ne_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
}

/// Adds the links of one datagram to `links`; true once the dump is done.
/// Messages of other sequence numbers (an earlier, abandoned dump) are
/// skipped.
pub fn parse_datagram(bytes: &[u8], sequence: u32, links: &mut Vec<Link>) -> io::Result<bool> {
    parse_messages(bytes, sequence, &mut |kind, body| {
        if kind == RTM_NEWLINK {
            links.extend(parse_link(body)?);
        }
        Ok(())
    })
}

/// Hands each message of one datagram that answers request `sequence` to
/// `each` (type, body), skipping netlink's own; true once the dump is done.
/// A kernel error, or a dump the kernel marks interrupted or failed, is an
/// error.
fn parse_messages(
    mut bytes: &[u8],
    sequence: u32,
    each: &mut impl FnMut(u16, &[u8]) -> io::Result<()>,
) -> io::Result<bool> {
    while !bytes.is_empty() {
        if bytes.len() < NLMSG_HEADER {
            return Err(malformed("truncated header"));
        }
        let length = u32_at(bytes, 0) as usize;
        if length < NLMSG_HEADER || length > bytes.len() {
            return Err(malformed("bad message length"));
        }
        let (kind, flags) = (u16_at(bytes, 4), u16_at(bytes, 6));
        let body = &bytes[NLMSG_HEADER..length];
        let ours = u32_at(bytes, 8) == sequence;
        bytes = &bytes[align(length).min(bytes.len())..];
        if !ours {
            continue;
        }
        if flags & NLM_F_DUMP_INTR != 0 {
            return Err(io::Error::new(
                io::ErrorKind::Interrupted,
                "netlink dump interrupted",
            ));
        }
        match kind {
            // A dump that failed half way ends with the error in place of 0.
            NLMSG_DONE => match body.get(..4).map(|errno| u32_at(errno, 0) as i32) {
                Some(errno) if errno < 0 => return Err(io::Error::from_raw_os_error(-errno)),
                _ => return Ok(true),
            },
            NLMSG_ERROR => {
                if body.len() < 4 {
                    return Err(malformed("truncated error"));
                }
                let errno = u32_at(body, 0) as i32;
                return Err(io::Error::from_raw_os_error(-errno));
            }
            NLMSG_NOOP => {}
            _ => each(kind, body)?,
        }
    }
    Ok(false)
}

/// The attributes in `bytes` (a message's, or a nested attribute's), each
/// as its type without the flag bits and its payload. Padding too short to
/// be an attribute ends them.
struct Attributes<'a>(&'a [u8]);

impl<'a> Iterator for Attributes<'a> {
    type Item = io::Result<(u16, &'a [u8])>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.0.len() < 4 {
            return None;
        }
        let length = usize::from(u16_at(self.0, 0));
        if length < 4 || length > self.0.len() {
            self.0 = &[];
            return Some(Err(malformed("bad attribute length")));
        }
        let attribute = (u16_at(self.0, 2) & NLA_TYPE_MASK, &self.0[4..length]);
        self.0 = &self.0[align(length).min(self.0.len())..];
        Some(Ok(attribute))
    }
}

/// A NUL-terminated string attribute.
fn string(payload: &[u8]) -> String {
    let end = payload
        .iter()
        .position(|&b| b == 0)
        .unwrap_or(payload.len());
    String::from_utf8_lossy(&payload[..end]).into_owned()
}

/// The payload of a fixed-size attribute, which must be exactly that size.
fn fixed<const N: usize>(kind: u16, payload: &[u8]) -> io::Result<[u8; N]> {
    payload.try_into().map_err(|_| {
        malformed(&format!(
            "attribute {kind} of {} bytes, not {N}",
            payload.len()
        ))
    })
}

fn u8_attribute(kind: u16, payload: &[u8]) -> io::Result<u8> {
    fixed::<1>(kind, payload).map(|[byte]| byte)
}

fn u16_attribute(kind: u16, payload: &[u8]) -> io::Result<u16> {
    fixed(kind, payload).map(u16::from_ne_bytes)
}

fn u32_attribute(kind: u16, payload: &[u8]) -> io::Result<u32> {
    fixed(kind, payload).map(u32::from_ne_bytes)
}

/// One RTM_NEWLINK body: its name and counters, or `None` for a link
/// without counters (node_exporter skips those).
fn parse_link(body: &[u8]) -> io::Result<Option<Link>> {
    if body.len() < IFINFOMSG {
        return Err(malformed("truncated ifinfomsg"));
    }
    let mut name = None;
    let mut stats64 = None;
    let mut stats32 = None;
    for attribute in Attributes(&body[IFINFOMSG..]) {
        let (kind, payload) = attribute?;
        match kind {
            IFLA_IFNAME => name = Some(string(payload)),
            IFLA_STATS64 => stats64 = Some(counters::<8>(payload)?),
            IFLA_STATS => stats32 = Some(counters::<4>(payload)?),
            _ => {}
        }
    }
    let Some(name) = name else {
        return Err(malformed("link without a name"));
    };
    Ok(stats64.or(stats32).map(|stats| Link { name, stats }))
}

impl LinkProperties {
    /// Decodes one RTM_NEWLINK body.
    fn decode(body: &[u8]) -> io::Result<LinkProperties> {
        if body.len() < IFINFOMSG {
            return Err(malformed("truncated ifinfomsg"));
        }
        // struct ifinfomsg: family, pad, type, index, flags, change.
        let mut link = LinkProperties {
            kind: u16_at(body, 2),
            index: u32_at(body, 4),
            flags: u32_at(body, 8),
            ..LinkProperties::default()
        };
        let mut name = None;
        for attribute in Attributes(&body[IFINFOMSG..]) {
            let (kind, payload) = attribute?;
            match kind {
                IFLA_IFNAME => name = Some(string(payload)),
                IFLA_ADDRESS => link.address = payload.to_vec(),
                IFLA_BROADCAST => link.broadcast = payload.to_vec(),
                IFLA_MTU => link.mtu = Some(u32_attribute(kind, payload)?),
                IFLA_LINK => link.link = Some(u32_attribute(kind, payload)?),
                IFLA_TXQLEN => link.tx_queue_length = Some(u32_attribute(kind, payload)?),
                IFLA_OPERSTATE => link.operstate = Some(u8_attribute(kind, payload)?),
                IFLA_LINKMODE => link.link_mode = Some(u8_attribute(kind, payload)?),
                IFLA_IFALIAS => link.alias = Some(string(payload)),
                IFLA_GROUP => link.group = Some(u32_attribute(kind, payload)?),
                IFLA_CARRIER => link.carrier = Some(u8_attribute(kind, payload)?),
                IFLA_CARRIER_CHANGES => link.carrier_changes = Some(u32_attribute(kind, payload)?),
                IFLA_CARRIER_UP_COUNT => {
                    link.carrier_up_count = Some(u32_attribute(kind, payload)?)
                }
                IFLA_CARRIER_DOWN_COUNT => {
                    link.carrier_down_count = Some(u32_attribute(kind, payload)?)
                }
                IFLA_STATS64 => link.stats64 = Some(counters::<8>(payload)?),
                IFLA_PROP_LIST => {
                    for property in Attributes(payload) {
                        let (kind, payload) = property?;
                        if kind == IFLA_ALT_IFNAME {
                            link.altnames.push(string(payload));
                        }
                    }
                }
                _ => {}
            }
        }
        link.name = name.ok_or_else(|| malformed("link without a name"))?;
        Ok(link)
    }
}

impl LinkMode {
    /// Decodes one ETHTOOL_MSG_LINKMODES_GET_REPLY body (after `nlmsghdr`);
    /// `None` for another command's message.
    fn decode(body: &[u8]) -> io::Result<Option<LinkMode>> {
        if body.len() < GENLMSGHDR {
            return Err(malformed("truncated genlmsghdr"));
        }
        if body[0] != ETHTOOL_MSG_LINKMODES_GET_REPLY {
            return Ok(None);
        }
        let mut name = None;
        // The kernel always sends both; Go's ethtool package reads missing
        // ones as 0, and so does this.
        let (mut speed, mut duplex) = (0, 0);
        for attribute in Attributes(&body[GENLMSGHDR..]) {
            let (kind, payload) = attribute?;
            match kind {
                ETHTOOL_A_LINKMODES_HEADER => {
                    for field in Attributes(payload) {
                        let (kind, payload) = field?;
                        if kind == ETHTOOL_A_HEADER_DEV_NAME {
                            name = Some(string(payload));
                        }
                    }
                }
                ETHTOOL_A_LINKMODES_SPEED => speed = u32_attribute(kind, payload)?,
                ETHTOOL_A_LINKMODES_DUPLEX => duplex = u8_attribute(kind, payload)?,
                _ => {}
            }
        }
        let name = name.ok_or_else(|| malformed("link modes without a device name"))?;
        Ok(Some(LinkMode {
            name,
            speed,
            duplex,
        }))
    }
}

/// One generic netlink controller message: the family's name and number,
/// or `None` for another command's message.
fn parse_family(body: &[u8]) -> io::Result<Option<(String, u16)>> {
    if body.len() < GENLMSGHDR {
        return Err(malformed("truncated genlmsghdr"));
    }
    if body[0] != CTRL_CMD_NEWFAMILY {
        return Ok(None);
    }
    let (mut name, mut id) = (None, None);
    for attribute in Attributes(&body[GENLMSGHDR..]) {
        let (kind, payload) = attribute?;
        match kind {
            CTRL_ATTR_FAMILY_NAME => name = Some(string(payload)),
            CTRL_ATTR_FAMILY_ID => id = Some(u16_attribute(kind, payload)?),
            _ => {}
        }
    }
    match (name, id) {
        (Some(name), Some(id)) => Ok(Some((name, id))),
        _ => Err(malformed("family without a name or number")),
    }
}

/// The counters of a stats attribute of `WIDTH`-byte fields. Kernels before
/// 4.6 lack `rx_nohandler` (left 0); later fields, if any, are ignored.
fn counters<const WIDTH: usize>(payload: &[u8]) -> io::Result<[u64; STATS]> {
    if payload.len() < (STATS - 1) * WIDTH {
        return Err(malformed("truncated link statistics"));
    }
    let mut stats = [0u64; STATS];
    for (slot, field) in stats.iter_mut().zip(payload.chunks_exact(WIDTH)) {
        let mut bytes = [0u8; 8];
        // Native byte order: the low bytes come first on little endian.
        if cfg!(target_endian = "little") {
            bytes[..WIDTH].copy_from_slice(field);
        } else {
            bytes[8 - WIDTH..].copy_from_slice(field);
        }
        *slot = u64::from_ne_bytes(bytes);
    }
    Ok(stats)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attribute(kind: u16, payload: &[u8]) -> Vec<u8> {
        let mut bytes = Vec::new();
        bytes.extend_from_slice(&((4 + payload.len()) as u16).to_ne_bytes());
        bytes.extend_from_slice(&kind.to_ne_bytes());
        bytes.extend_from_slice(payload);
        bytes.resize(align(bytes.len()), 0);
        bytes
    }

    fn message(kind: u16, flags: u16, sequence: u32, body: &[u8]) -> Vec<u8> {
        let mut bytes = Vec::new();
        bytes.extend_from_slice(&((NLMSG_HEADER + body.len()) as u32).to_ne_bytes());
        bytes.extend_from_slice(&kind.to_ne_bytes());
        bytes.extend_from_slice(&flags.to_ne_bytes());
        bytes.extend_from_slice(&sequence.to_ne_bytes());
        bytes.extend_from_slice(&0u32.to_ne_bytes());
        bytes.extend_from_slice(body);
        bytes.resize(align(bytes.len()), 0);
        bytes
    }

    fn link(name: &str, stats: Option<Vec<u8>>) -> Vec<u8> {
        let mut body = vec![0u8; IFINFOMSG];
        body.extend(attribute(IFLA_IFNAME, format!("{name}\0").as_bytes()));
        // An attribute we do not decode, with the nested flag set.
        body.extend(attribute(26 | 0x8000, &[1, 2, 3, 4]));
        if let Some(stats) = stats {
            body.extend(stats);
        }
        body
    }

    fn stats64(count: usize) -> Vec<u8> {
        let fields: Vec<u8> = (1..=count as u64).flat_map(u64::to_ne_bytes).collect();
        attribute(IFLA_STATS64, &fields)
    }

    #[test]
    fn a_dump_of_two_datagrams() {
        let mut links = Vec::new();
        let mut first = message(RTM_NEWLINK, 2, 7, &link("lo", Some(stats64(25))));
        // A message of an earlier dump is skipped.
        first.extend(message(RTM_NEWLINK, 2, 6, &link("old", Some(stats64(24)))));
        first.extend(message(RTM_NEWLINK, 2, 7, &link("dummy0", None)));
        assert!(!parse_datagram(&first, 7, &mut links).unwrap());
        let second = [
            message(RTM_NEWLINK, 2, 7, &link("eth0", Some(stats64(23)))),
            message(NLMSG_DONE, 2, 7, &0u32.to_ne_bytes()),
        ]
        .concat();
        assert!(parse_datagram(&second, 7, &mut links).unwrap());
        assert_eq!(links.len(), 2);
        assert_eq!(links[0].name, "lo");
        assert_eq!(links[0].stats[stat::RX_PACKETS], 1);
        assert_eq!(links[0].stats[stat::RX_NOHANDLER], 24);
        assert_eq!(links[1].name, "eth0");
        assert_eq!(links[1].stats[stat::TX_COMPRESSED], 23);
        assert_eq!(links[1].stats[stat::RX_NOHANDLER], 0, "pre-4.6 kernel");
    }

    #[test]
    fn thirty_two_bit_counters_when_there_are_no_others() {
        let fields: Vec<u8> = (1..=24u32).flat_map(u32::to_ne_bytes).collect();
        let body = link("ppp0", Some(attribute(IFLA_STATS, &fields)));
        let mut links = Vec::new();
        parse_datagram(&message(RTM_NEWLINK, 2, 1, &body), 1, &mut links).unwrap();
        assert_eq!(links[0].stats[stat::TX_BYTES], 4);
        assert_eq!(links[0].stats[stat::RX_NOHANDLER], 24);
    }

    #[test]
    fn errors_and_interrupted_dumps() {
        let mut links = Vec::new();
        let error = message(NLMSG_ERROR, 0, 3, &(-13i32).to_ne_bytes());
        let e = parse_datagram(&error, 3, &mut links).unwrap_err();
        assert_eq!(e.raw_os_error(), Some(13));
        let interrupted = message(NLMSG_DONE, NLM_F_DUMP_INTR, 3, &[0; 4]);
        let e = parse_datagram(&interrupted, 3, &mut links).unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::Interrupted);
    }

    #[test]
    fn malformed_and_truncated_messages_are_errors_not_panics() {
        let whole = message(RTM_NEWLINK, 2, 1, &link("eth0", Some(stats64(24))));
        // Every truncation of a valid message, and every single corrupted
        // byte, is either decoded or an error.
        for end in 1..whole.len() {
            let _ = parse_datagram(&whole[..end], 1, &mut Vec::new());
        }
        for at in 0..whole.len() {
            for value in [0u8, 1, 3, 0x7f, 0xff] {
                let mut corrupted = whole.clone();
                corrupted[at] = value;
                let _ = parse_datagram(&corrupted, 1, &mut Vec::new());
            }
        }
        let cases: [Vec<u8>; 5] = [
            whole[..10].to_vec(),
            message(RTM_NEWLINK, 2, 1, &[0; 8]),
            message(RTM_NEWLINK, 2, 1, &link("eth0", Some(stats64(5)))),
            message(
                RTM_NEWLINK,
                2,
                1,
                &[vec![0; IFINFOMSG], vec![2, 0, 3, 0]].concat(),
            ),
            message(
                RTM_NEWLINK,
                2,
                1,
                &[vec![0; IFINFOMSG], stats64(24)].concat(),
            ),
        ];
        for case in cases {
            assert!(
                parse_datagram(&case, 1, &mut Vec::new()).is_err(),
                "{case:?}"
            );
        }
    }

    #[test]
    fn the_live_dump_has_loopback() {
        let mut reader = LinkReader::default();
        for _ in 0..2 {
            let links = reader.links().unwrap();
            assert!(links.iter().any(|link| link.name == "lo"), "{links:?}");
        }
    }

    const IFF_LOOPBACK: u32 = 0x8;
    const ARPHRD_LOOPBACK: u16 = 772;

    /// An RTM_NEWLINK body with every attribute netclass reads.
    fn properties_body() -> Vec<u8> {
        let mut body = vec![0u8; IFINFOMSG];
        body[2..4].copy_from_slice(&1u16.to_ne_bytes());
        body[4..8].copy_from_slice(&7u32.to_ne_bytes());
        body[8..12].copy_from_slice(&0x11043u32.to_ne_bytes());
        let altnames = [
            attribute(IFLA_ALT_IFNAME, b"enp0s3\0"),
            attribute(IFLA_ALT_IFNAME, b"uplink-with-a-long-name\0"),
        ]
        .concat();
        let attributes: [(u16, Vec<u8>); 15] = [
            (IFLA_IFNAME, b"eth0\0".to_vec()),
            (IFLA_ADDRESS, vec![2, 0xfc, 0, 0, 0, 1]),
            (IFLA_BROADCAST, vec![0xff; 6]),
            (IFLA_MTU, 1400u32.to_ne_bytes().to_vec()),
            (IFLA_LINK, 3u32.to_ne_bytes().to_vec()),
            (IFLA_TXQLEN, 1000u32.to_ne_bytes().to_vec()),
            (IFLA_OPERSTATE, vec![6]),
            (IFLA_LINKMODE, vec![1]),
            (IFLA_IFALIAS, b"to the \"core\"\0".to_vec()),
            (IFLA_GROUP, 5u32.to_ne_bytes().to_vec()),
            (IFLA_CARRIER, vec![1]),
            (IFLA_CARRIER_CHANGES, 4u32.to_ne_bytes().to_vec()),
            (IFLA_CARRIER_UP_COUNT, 2u32.to_ne_bytes().to_vec()),
            (IFLA_CARRIER_DOWN_COUNT, 2u32.to_ne_bytes().to_vec()),
            (IFLA_PROP_LIST | NLA_F_NESTED, altnames),
        ];
        for (kind, payload) in attributes {
            body.extend(attribute(kind, &payload));
        }
        body.extend(stats64(24));
        body
    }

    fn properties_of(bytes: &[u8], sequence: u32) -> io::Result<Vec<LinkProperties>> {
        let mut links = Vec::new();
        parse_messages(bytes, sequence, &mut |kind, body| {
            if kind == RTM_NEWLINK {
                links.push(LinkProperties::decode(body)?);
            }
            Ok(())
        })?;
        Ok(links)
    }

    #[test]
    fn link_properties_are_decoded() {
        let minimal = [vec![0u8; IFINFOMSG], attribute(IFLA_IFNAME, b"ifb0\0")].concat();
        let datagram = [
            message(RTM_NEWLINK, 2, 9, &properties_body()),
            message(RTM_NEWLINK, 2, 9, &minimal),
        ]
        .concat();
        let links = properties_of(&datagram, 9).unwrap();
        assert_eq!(
            links[0],
            LinkProperties {
                index: 7,
                kind: 1,
                flags: 0x11043,
                name: "eth0".to_owned(),
                address: vec![2, 0xfc, 0, 0, 0, 1],
                broadcast: vec![0xff; 6],
                mtu: Some(1400),
                link: Some(3),
                tx_queue_length: Some(1000),
                operstate: Some(6),
                link_mode: Some(1),
                alias: Some("to the \"core\"".to_owned()),
                group: Some(5),
                carrier: Some(1),
                carrier_changes: Some(4),
                carrier_up_count: Some(2),
                carrier_down_count: Some(2),
                altnames: vec!["enp0s3".to_owned(), "uplink-with-a-long-name".to_owned()],
                stats64: Some(std::array::from_fn(|i| i as u64 + 1)),
            }
        );
        assert_eq!(
            links[1],
            LinkProperties {
                name: "ifb0".to_owned(),
                ..LinkProperties::default()
            },
            "attributes not sent are absent"
        );
        let fields: Vec<u8> = (1..=24u32).flat_map(u32::to_ne_bytes).collect();
        let stats32 = link("ppp0", Some(attribute(IFLA_STATS, &fields)));
        let links = properties_of(&message(RTM_NEWLINK, 2, 9, &stats32), 9).unwrap();
        assert_eq!(
            links[0].stats64, None,
            "no 64-bit counters from 32-bit ones"
        );
    }

    #[test]
    fn fixed_size_attributes_of_another_size_are_errors() {
        let kinds = [
            (IFLA_MTU, 4),
            (IFLA_LINK, 4),
            (IFLA_TXQLEN, 4),
            (IFLA_GROUP, 4),
            (IFLA_CARRIER_CHANGES, 4),
            (IFLA_CARRIER_UP_COUNT, 4),
            (IFLA_CARRIER_DOWN_COUNT, 4),
            (IFLA_OPERSTATE, 1),
            (IFLA_LINKMODE, 1),
            (IFLA_CARRIER, 1),
        ];
        for (kind, size) in kinds {
            for wrong in [0, size - 1, size + 1, 8] {
                if wrong == size {
                    continue;
                }
                let body = [
                    vec![0u8; IFINFOMSG],
                    attribute(IFLA_IFNAME, b"eth0\0"),
                    attribute(kind, &vec![1; wrong]),
                ]
                .concat();
                let e = LinkProperties::decode(&body).unwrap_err();
                assert_eq!(e.kind(), io::ErrorKind::InvalidData, "{kind} of {wrong}");
            }
        }
    }

    #[test]
    fn malformed_and_truncated_link_properties_are_errors_not_panics() {
        let whole = message(RTM_NEWLINK, 2, 1, &properties_body());
        for end in 1..whole.len() {
            let _ = properties_of(&whole[..end], 1);
        }
        for at in 0..whole.len() {
            for value in [0u8, 1, 3, 0x7f, 0xff] {
                let mut corrupted = whole.clone();
                corrupted[at] = value;
                let _ = properties_of(&corrupted, 1);
            }
        }
        let nameless = [vec![0u8; IFINFOMSG], attribute(IFLA_MTU, &[0; 4])].concat();
        let bad_altname = [
            vec![0u8; IFINFOMSG],
            attribute(IFLA_IFNAME, b"eth0\0"),
            attribute(IFLA_PROP_LIST | NLA_F_NESTED, &[2, 0, 53, 0]),
        ]
        .concat();
        let short_stats = link("eth0", Some(stats64(5)));
        let cases: [Vec<u8>; 5] = [
            message(RTM_NEWLINK, 2, 1, &[0; 15]),
            message(RTM_NEWLINK, 2, 1, &nameless),
            message(RTM_NEWLINK, 2, 1, &bad_altname),
            message(RTM_NEWLINK, 2, 1, &short_stats),
            // An attribute longer than what is left of the message.
            message(
                RTM_NEWLINK,
                2,
                1,
                &[vec![0u8; IFINFOMSG], vec![40, 0, 3, 0, b'e', 0, 0, 0]].concat(),
            ),
        ];
        for case in cases {
            assert!(properties_of(&case, 1).is_err(), "{case:?}");
        }
    }

    #[test]
    fn a_dump_that_failed_half_way_is_an_error() {
        let failed = message(NLMSG_DONE, 2, 5, &(-95i32).to_ne_bytes());
        let e = parse_messages(&failed, 5, &mut |_, _| Ok(())).unwrap_err();
        assert_eq!(e.raw_os_error(), Some(95));
    }

    /// A generic netlink message body: `genlmsghdr`, then `attributes`.
    fn generic(command: u8, attributes: &[(u16, Vec<u8>)]) -> Vec<u8> {
        let mut body = vec![command, 1, 0, 0];
        for (kind, payload) in attributes {
            body.extend(attribute(*kind, payload));
        }
        body
    }

    #[test]
    fn families_are_named_by_the_controller() {
        let ops = attribute(1 | NLA_F_NESTED, &attribute(1, &[4, 0, 0, 0]));
        let family = |name: &[u8], id: Vec<u8>| {
            generic(
                CTRL_CMD_NEWFAMILY,
                &[
                    (CTRL_ATTR_FAMILY_ID, id),
                    (CTRL_ATTR_FAMILY_NAME, name.to_vec()),
                    (6 | NLA_F_NESTED, ops.clone()),
                ],
            )
        };
        assert_eq!(
            parse_family(&family(b"ethtool\0", 21u16.to_ne_bytes().to_vec())).unwrap(),
            Some(("ethtool".to_owned(), 21))
        );
        assert_eq!(parse_family(&generic(2, &[])).unwrap(), None);
        for bad in [
            family(b"ethtool\0", 21u32.to_ne_bytes().to_vec()),
            generic(
                CTRL_CMD_NEWFAMILY,
                &[(CTRL_ATTR_FAMILY_NAME, b"x\0".to_vec())],
            ),
            vec![CTRL_CMD_NEWFAMILY, 1],
        ] {
            assert!(parse_family(&bad).is_err(), "{bad:?}");
        }
    }

    fn link_modes_body(header: &[(u16, Vec<u8>)]) -> Vec<u8> {
        let header: Vec<u8> = header
            .iter()
            .flat_map(|(kind, payload)| attribute(*kind, payload))
            .collect();
        generic(
            ETHTOOL_MSG_LINKMODES_GET_REPLY,
            &[
                (ETHTOOL_A_LINKMODES_HEADER | NLA_F_NESTED, header),
                (2, vec![1]),
                (3 | NLA_F_NESTED, attribute(1, &96u32.to_ne_bytes())),
                (ETHTOOL_A_LINKMODES_SPEED, u32::MAX.to_ne_bytes().to_vec()),
                (ETHTOOL_A_LINKMODES_DUPLEX, vec![255]),
            ],
        )
    }

    #[test]
    fn link_modes_are_decoded() {
        let body = link_modes_body(&[
            (1, 4u32.to_ne_bytes().to_vec()),
            (ETHTOOL_A_HEADER_DEV_NAME, b"eth0\0".to_vec()),
        ]);
        assert_eq!(
            LinkMode::decode(&body).unwrap(),
            Some(LinkMode {
                name: "eth0".to_owned(),
                speed: u32::MAX,
                duplex: 255,
            })
        );
        assert_eq!(LinkMode::decode(&generic(5, &[])).unwrap(), None);
        let nameless = link_modes_body(&[(1, 4u32.to_ne_bytes().to_vec())]);
        let short_speed = generic(
            ETHTOOL_MSG_LINKMODES_GET_REPLY,
            &[(ETHTOOL_A_LINKMODES_SPEED, vec![0; 2])],
        );
        for bad in [nameless, short_speed, vec![ETHTOOL_MSG_LINKMODES_GET_REPLY]] {
            assert!(LinkMode::decode(&bad).is_err(), "{bad:?}");
        }
        let whole = message(23, 2, 1, &body);
        let decode = |bytes: &[u8]| {
            parse_messages(bytes, 1, &mut |_, body| LinkMode::decode(body).map(drop))
        };
        for end in 1..whole.len() {
            let _ = decode(&whole[..end]);
        }
        for at in 0..whole.len() {
            for value in [0u8, 1, 3, 0x7f, 0xff] {
                let mut corrupted = whole.clone();
                corrupted[at] = value;
                let _ = decode(&corrupted);
            }
        }
    }

    #[test]
    fn the_link_modes_request_asks_for_compact_bitsets() {
        let request = link_modes_request();
        assert_eq!(
            request[..2],
            [ETHTOOL_MSG_LINKMODES_GET, ETHTOOL_GENL_VERSION]
        );
        let attributes: Vec<_> = Attributes(&request[GENLMSGHDR..])
            .map(Result::unwrap)
            .collect();
        assert_eq!(attributes.len(), 1);
        assert_eq!(attributes[0].0, ETHTOOL_A_LINKMODES_HEADER);
        let header: Vec<_> = Attributes(attributes[0].1).map(Result::unwrap).collect();
        assert_eq!(
            header,
            [(
                ETHTOOL_A_HEADER_FLAGS,
                &ETHTOOL_FLAG_COMPACT_BITSETS.to_ne_bytes()[..]
            )]
        );
    }

    #[test]
    fn the_live_dumps_have_loopback_and_link_modes_only_for_live_links() {
        let mut reader = LinkReader::default();
        let links = reader.properties().unwrap();
        let lo = links.iter().find(|link| link.name == "lo").unwrap();
        assert_eq!(lo.kind, ARPHRD_LOOPBACK);
        assert_ne!(lo.flags & IFF_LOOPBACK, 0);
        assert_eq!(lo.address, [0; 6]);
        assert!(lo.mtu.is_some() && lo.operstate.is_some(), "{lo:?}");
        let mut modes = LinkModeReader::default();
        for _ in 0..2 {
            // None only on kernels without ethtool netlink (before 5.6).
            for mode in modes.link_modes().unwrap().unwrap_or_default() {
                assert!(
                    links.iter().any(|link| link.name == mode.name),
                    "{mode:?} of no link"
                );
            }
        }
    }
}
