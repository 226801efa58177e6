//! Interface counters over rtnetlink, as node_exporter's netdev collector
//! reads them by default: one RTM_GETLINK dump, each link's name and
//! `struct rtnl_link_stats64`.
//!
//! Only two attributes of one message type are decoded, so this is written
//! out here rather than pulled in with a general netlink crate: the
//! exporter's resident set is within a few hundred KiB of its target.

use std::os::fd::OwnedFd;

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

/// One link of the dump.
#[derive(Debug, PartialEq)]
pub struct Link {
    pub name: String,
    pub stats: [u64; STATS],
}

const NLMSG_HEADER: usize = 16;
const IFINFOMSG: usize = 16;
const NLMSG_NOOP: u16 = 1;
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const RTM_NEWLINK: u16 = 16;
const RTM_GETLINK: u16 = 18;
const NLM_F_REQUEST: u16 = 0x1;
const NLM_F_DUMP_INTR: u16 = 0x10;
const NLM_F_DUMP: u16 = 0x300;
const IFLA_IFNAME: u16 = 3;
const IFLA_STATS: u16 = 7;
const IFLA_STATS64: u16 = 23;
/// Attribute types carry two flag bits (nested, byte order) above these.
const NLA_TYPE_MASK: u16 = 0x3fff;

/// A netlink datagram holds at most this much for a dump (the kernel sizes
/// dump messages to the reader's buffer, up to 32 KiB).
const BUFFER: usize = 32 * 1024;

/// Reads every link's counters over a route socket kept between scrapes:
/// opened on first use, and replaced after any error, since a dump given up
/// half way leaves the rest of it queued on the socket (and the kernel
/// refuses a new dump on it until that one is read to its end).
#[derive(Default)]
pub struct LinkReader(Option<RouteSocket>);

impl LinkReader {
    pub fn links(&mut self) -> std::io::Result<Vec<Link>> {
        match self.try_links() {
            // A link added or removed mid-dump marks it interrupted: once
            // more, on a fresh socket.
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => self.try_links(),
            other => other,
        }
    }

    fn try_links(&mut self) -> std::io::Result<Vec<Link>> {
        let socket = match &mut self.0 {
            Some(socket) => socket,
            None => self.0.insert(RouteSocket::open()?),
        };
        let links = socket.dump();
        if links.is_err() {
            self.0 = None;
        }
        links
    }
}

/// A route socket and its receive buffer.
struct RouteSocket {
    fd: OwnedFd,
    sequence: u32,
    buffer: Vec<u8>,
}

impl RouteSocket {
    fn open() -> std::io::Result<RouteSocket> {
        let fd = socket(
            AddressFamily::Netlink,
            SockType::Raw,
            SockFlag::SOCK_CLOEXEC,
            SockProtocol::NetlinkRoute,
        )?;
        Ok(RouteSocket {
            fd,
            sequence: 0,
            buffer: vec![0; BUFFER],
        })
    }

    fn dump(&mut self) -> std::io::Result<Vec<Link>> {
        use std::os::fd::AsRawFd as _;
        self.sequence = self.sequence.wrapping_add(1);
        send(
            self.fd.as_raw_fd(),
            &request(self.sequence),
            MsgFlags::empty(),
        )?;
        let mut links = Vec::new();
        loop {
            let n = recv(self.fd.as_raw_fd(), &mut self.buffer, MsgFlags::empty())?;
            if parse_datagram(&self.buffer[..n], self.sequence, &mut links)? {
                return Ok(links);
            }
        }
    }
}

/// `nlmsghdr` + `ifinfomsg` asking for every link.
fn request(sequence: u32) -> [u8; NLMSG_HEADER + IFINFOMSG] {
    let mut message = [0u8; NLMSG_HEADER + IFINFOMSG];
    message[0..4].copy_from_slice(&((NLMSG_HEADER + IFINFOMSG) as u32).to_ne_bytes());
    message[4..6].copy_from_slice(&RTM_GETLINK.to_ne_bytes());
    message[6..8].copy_from_slice(&(NLM_F_REQUEST | NLM_F_DUMP).to_ne_bytes());
    message[8..12].copy_from_slice(&sequence.to_ne_bytes());
    // Port 0 (the kernel), family AF_UNSPEC: the rest stays zero.
    message
}

fn malformed(what: &str) -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::InvalidData,
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
pub fn parse_datagram(
    mut bytes: &[u8],
    sequence: u32,
    links: &mut Vec<Link>,
) -> std::io::Result<bool> {
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
            return Err(std::io::Error::new(
                std::io::ErrorKind::Interrupted,
                "netlink dump interrupted",
            ));
        }
        match kind {
            NLMSG_DONE => return Ok(true),
            NLMSG_ERROR => {
                if body.len() < 4 {
                    return Err(malformed("truncated error"));
                }
                let errno = u32_at(body, 0) as i32;
                return Err(std::io::Error::from_raw_os_error(-errno));
            }
            RTM_NEWLINK => links.extend(parse_link(body)?),
            NLMSG_NOOP => {}
            _ => {}
        }
    }
    Ok(false)
}

/// One RTM_NEWLINK body: its name and counters, or `None` for a link
/// without counters (node_exporter skips those).
fn parse_link(body: &[u8]) -> std::io::Result<Option<Link>> {
    if body.len() < IFINFOMSG {
        return Err(malformed("truncated ifinfomsg"));
    }
    let mut attributes = &body[IFINFOMSG..];
    let mut name = None;
    let mut stats64 = None;
    let mut stats32 = None;
    while attributes.len() >= 4 {
        let length = usize::from(u16_at(attributes, 0));
        if length < 4 || length > attributes.len() {
            return Err(malformed("bad attribute length"));
        }
        let payload = &attributes[4..length];
        match u16_at(attributes, 2) & NLA_TYPE_MASK {
            IFLA_IFNAME => {
                let end = payload
                    .iter()
                    .position(|&b| b == 0)
                    .unwrap_or(payload.len());
                name = Some(String::from_utf8_lossy(&payload[..end]).into_owned());
            }
            IFLA_STATS64 => stats64 = Some(counters::<8>(payload)?),
            IFLA_STATS => stats32 = Some(counters::<4>(payload)?),
            _ => {}
        }
        attributes = &attributes[align(length).min(attributes.len())..];
    }
    let Some(name) = name else {
        return Err(malformed("link without a name"));
    };
    Ok(stats64.or(stats32).map(|stats| Link { name, stats }))
}

/// The counters of a stats attribute of `WIDTH`-byte fields. Kernels before
/// 4.6 lack `rx_nohandler` (left 0); later fields, if any, are ignored.
fn counters<const WIDTH: usize>(payload: &[u8]) -> std::io::Result<[u64; STATS]> {
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
}
