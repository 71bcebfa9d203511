//! The few rtnetlink requests `linux.netDevices` needs (netdev.rs), on a `NETLINK_ROUTE` socket
//! of one network namespace: find a link (by name or index) or list them all, set it up or down,
//! list and add its addresses, move it (renamed) into another network namespace. Messages are
//! built and parsed here; the socket calls are in sys.rs. A dump the kernel flags
//! NLM_F_DUMP_INTR (the table changed under it) is asked again. See rtnetlink(7), netlink(7).

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use crate::sys::{self, Errno, SysError, SysOp, SysResult};

const NLMSG_HDRLEN: usize = 16;
const IFINFOMSG_LEN: usize = 16;
const IFADDRMSG_LEN: usize = 8;
/// How many times a dump the kernel flags NLM_F_DUMP_INTR is asked for before giving up.
const DUMP_TRIES: u32 = 5;

/// An address of a link, as the kernel listed it: enough to add it again elsewhere.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Address {
    /// `AF_INET` or `AF_INET6`.
    pub family: u8,
    /// The prefix length.
    pub prefix_len: u8,
    /// `RT_SCOPE_*`.
    pub scope: u8,
    /// `IFA_F_*` (the 32-bit `IFA_FLAGS` when the kernel sent it).
    pub flags: u32,
    /// The `IFA_LOCAL`, `IFA_ADDRESS` and `IFA_BROADCAST` attributes (type, bytes), as listed.
    pub attrs: Vec<(u16, Vec<u8>)>,
}

impl Address {
    /// A permanent address of global scope: the ones runtime-spec 1.3 says survive the move.
    pub fn permanent_global(&self) -> bool {
        self.flags & libc::IFA_F_PERMANENT != 0 && self.scope == libc::RT_SCOPE_UNIVERSE
    }

    /// The address for messages: the local one, else the first listed.
    pub fn display(&self) -> String {
        let bytes = self
            .attrs
            .iter()
            .find(|(t, _)| *t == libc::IFA_LOCAL)
            .or(self.attrs.first())
            .map(|(_, b)| b.as_slice())
            .unwrap_or_default();
        let ip = match bytes.len() {
            4 => std::net::IpAddr::from(<[u8; 4]>::try_from(bytes).unwrap_or_default()),
            16 => std::net::IpAddr::from(<[u8; 16]>::try_from(bytes).unwrap_or_default()),
            _ => return format!("?/{}", self.prefix_len),
        };
        format!("{ip}/{}", self.prefix_len)
    }
}

/// A link, as the kernel described it: enough to recognise it after a move (its index may
/// change, and a name template's name is the kernel's choice).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Link {
    /// The interface index in the socket's network namespace.
    pub index: i32,
    /// `ARPHRD_*` (`ifi_type`).
    pub kind: u16,
    /// `IFF_*` (`ifi_flags`).
    pub flags: u32,
    /// `IFLA_IFNAME`.
    pub name: String,
    /// `IFLA_ADDRESS`, the hardware address (empty for a device without one).
    pub hw_addr: Vec<u8>,
}

impl Link {
    /// Whether the link is administratively up.
    pub fn is_up(&self) -> bool {
        self.flags & libc::IFF_UP as u32 != 0
    }

    /// Whether `other` can be this same device seen from another namespace: same kind, same
    /// hardware address (what a move keeps; the index and the name it may not).
    pub fn same_device(&self, other: &Link) -> bool {
        self.kind == other.kind && self.hw_addr == other.hw_addr
    }
}

/// A `NETLINK_ROUTE` socket and its request counter.
pub(crate) struct Rtnl {
    sock: OwnedFd,
    seq: u32,
}

impl Rtnl {
    /// A socket in the calling thread's network namespace.
    pub fn open() -> SysResult<Rtnl> {
        Ok(Rtnl::from_socket(sys::netlink_route_socket()?))
    }

    /// Wraps a socket made elsewhere (in another network namespace).
    pub fn from_socket(sock: OwnedFd) -> Rtnl {
        Rtnl { sock, seq: 0 }
    }

    /// The index of the link called `name`; ENODEV when there is none.
    pub fn link_index(&mut self, name: &str) -> SysResult<i32> {
        let mut req = Request::new(libc::RTM_GETLINK, 0);
        req.ifinfo(0, 0, 0);
        req.attr(libc::IFLA_IFNAME, &nul_terminated(name));
        self.get_link(req)
    }

    /// The link `index`; ENODEV when there is none.
    pub fn link(&mut self, index: i32) -> SysResult<Link> {
        let mut req = Request::new(libc::RTM_GETLINK, 0);
        req.ifinfo(index, 0, 0);
        self.exchange(req, false)?
            .iter()
            .find_map(|(ty, body)| {
                (*ty == libc::RTM_NEWLINK)
                    .then(|| parse_link(body))
                    .flatten()
            })
            .ok_or(netlink_error(Errno::ENODEV))
    }

    /// Every link of the namespace.
    pub fn links(&mut self) -> SysResult<Vec<Link>> {
        let replies = self.dump(|| {
            let mut req = Request::new(libc::RTM_GETLINK, libc::NLM_F_DUMP);
            req.ifinfo(0, 0, 0);
            req
        })?;
        Ok(replies
            .iter()
            .filter(|(ty, _)| *ty == libc::RTM_NEWLINK)
            .filter_map(|(_, body)| parse_link(body))
            .collect())
    }

    /// Sets the link's administrative state (IFF_UP) and nothing else.
    pub fn set_up(&mut self, index: i32, up: bool) -> SysResult<()> {
        let mut req = Request::new(libc::RTM_NEWLINK, libc::NLM_F_ACK);
        let flags = if up { libc::IFF_UP as u32 } else { 0 };
        req.ifinfo(index, flags, libc::IFF_UP as u32);
        self.ack(req)
    }

    /// Moves the link into the network namespace `netns` and names it `name` there, in one
    /// request. The kernel (`do_setlink`) moves it first, keeping its name and index when they
    /// are free there (else its index is a new one, and its name `name` if that is a `%d`
    /// template, EEXIST if not), then renames it to `name` in the new namespace: an existing
    /// `name` there is EEXIST with the device already moved; a template gets the first free
    /// number.
    pub fn move_to(&mut self, index: i32, name: &str, netns: BorrowedFd<'_>) -> SysResult<()> {
        let mut req = Request::new(libc::RTM_NEWLINK, libc::NLM_F_ACK);
        req.ifinfo(index, 0, 0);
        req.attr(libc::IFLA_IFNAME, &nul_terminated(name));
        let fd = u32::try_from(std::os::fd::AsRawFd::as_raw_fd(&netns)).unwrap_or_default();
        req.attr(libc::IFLA_NET_NS_FD, &fd.to_ne_bytes());
        self.ack(req)
    }

    /// Renames the link `index` to `name` (a `%d` template gets the first free number, as
    /// `dev_change_name` does); the link must be down.
    pub fn rename(&mut self, index: i32, name: &str) -> SysResult<()> {
        let mut req = Request::new(libc::RTM_NEWLINK, libc::NLM_F_ACK);
        req.ifinfo(index, 0, 0);
        req.attr(libc::IFLA_IFNAME, &nul_terminated(name));
        self.ack(req)
    }

    /// Every address of the link `index`, of any family.
    pub fn addresses(&mut self, index: i32) -> SysResult<Vec<Address>> {
        let replies = self.dump(|| {
            let mut req = Request::new(libc::RTM_GETADDR, libc::NLM_F_DUMP);
            req.ifaddr(libc::AF_UNSPEC as u8, 0, 0, 0);
            req
        })?;
        let mut found = Vec::new();
        for (ty, body) in replies {
            if ty != libc::RTM_NEWADDR || body.len() < IFADDRMSG_LEN {
                continue;
            }
            let on_link = u32::from_ne_bytes(body[4..8].try_into().unwrap_or_default());
            if i32::try_from(on_link).ok() == Some(index) {
                found.push(parse_address(&body));
            }
        }
        Ok(found)
    }

    /// Adds `addr` to the link `index`.
    pub fn add_address(&mut self, index: i32, addr: &Address) -> SysResult<()> {
        let flags = libc::NLM_F_ACK | libc::NLM_F_CREATE | libc::NLM_F_EXCL;
        let mut req = Request::new(libc::RTM_NEWADDR, flags);
        let index = u32::try_from(index).unwrap_or_default();
        req.ifaddr(addr.family, addr.prefix_len, addr.scope, index);
        for (ty, data) in &addr.attrs {
            req.attr(*ty, data);
        }
        self.ack(req)
    }

    fn get_link(&mut self, req: Request) -> SysResult<i32> {
        for (ty, body) in self.exchange(req, false)? {
            if ty == libc::RTM_NEWLINK && body.len() >= IFINFOMSG_LEN {
                return Ok(i32::from_ne_bytes(
                    body[4..8].try_into().unwrap_or_default(),
                ));
            }
        }
        Err(netlink_error(Errno::ENODEV))
    }

    fn ack(&mut self, req: Request) -> SysResult<()> {
        self.exchange(req, false).map(drop)
    }

    /// A dump (the request made by `build`), whole: one the kernel flags NLM_F_DUMP_INTR (the
    /// table changed while it was sent, so it may miss or repeat entries) is asked again, up to
    /// `DUMP_TRIES` times, then EINTR.
    fn dump(&mut self, build: impl Fn() -> Request) -> SysResult<Vec<(u16, Vec<u8>)>> {
        let mut tries = 1;
        loop {
            match self.exchange(build(), true) {
                Err(e) if e.errno == Errno::EINTR && tries < DUMP_TRIES => tries += 1,
                done => return done,
            }
        }
    }

    /// Sends `req` and collects the replies to it: until the ack (or error) of a request, until
    /// NLMSG_DONE of a dump. Returns (type, body) of each data message; EINTR for a dump the
    /// kernel flagged NLM_F_DUMP_INTR (read to its end first; recv's own EINTR is retried in
    /// sys.rs).
    fn exchange(&mut self, req: Request, dump: bool) -> SysResult<Vec<(u16, Vec<u8>)>> {
        self.seq = self.seq.wrapping_add(1);
        let seq = self.seq;
        let acked = req.flags & (libc::NLM_F_ACK as u16) != 0;
        sys::netlink_send(self.sock.as_fd(), &req.finish(seq))?;
        let mut replies = Vec::new();
        let mut interrupted = false;
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = sys::netlink_recv(self.sock.as_fd(), &mut buf)?;
            if n == 0 {
                return Err(netlink_error(Errno::EPROTO));
            }
            for (ty, flags, msg_seq, body) in split(&buf[..n])? {
                if msg_seq != seq {
                    continue;
                }
                interrupted |= flags & (libc::NLM_F_DUMP_INTR as u16) != 0;
                match ty {
                    t if t == libc::NLMSG_ERROR as u16 => {
                        let code = body
                            .get(..4)
                            .map(|b| i32::from_ne_bytes(b.try_into().unwrap_or_default()))
                            .ok_or(netlink_error(Errno::EPROTO))?;
                        if code != 0 {
                            return Err(netlink_error(Errno::from_raw(-code)));
                        }
                        return Ok(replies);
                    }
                    t if t == libc::NLMSG_DONE as u16 && interrupted => {
                        return Err(netlink_error(Errno::EINTR))
                    }
                    t if t == libc::NLMSG_DONE as u16 => return Ok(replies),
                    _ => {
                        replies.push((ty, body.to_vec()));
                        // A plain GET (no ack asked) ends with its one answer.
                        if !dump && !acked {
                            return Ok(replies);
                        }
                    }
                }
            }
        }
    }
}

/// A netlink request that failed with `errno`.
pub(crate) fn netlink_error(errno: Errno) -> SysError {
    SysError::new(SysOp::Netlink, None, errno)
}

/// One request being built: header room, then the family header, then attributes.
struct Request {
    buf: Vec<u8>,
    ty: u16,
    flags: u16,
}

impl Request {
    fn new(ty: u16, flags: libc::c_int) -> Request {
        let flags = u16::try_from(flags | libc::NLM_F_REQUEST).unwrap_or_default();
        Request {
            buf: vec![0u8; NLMSG_HDRLEN],
            ty,
            flags,
        }
    }

    /// `struct ifinfomsg`: AF_UNSPEC, the link index, its flags and which of them to change.
    fn ifinfo(&mut self, index: i32, flags: u32, change: u32) {
        self.buf
            .extend_from_slice(&[libc::AF_UNSPEC as u8, 0, 0, 0]);
        self.buf.extend_from_slice(&index.to_ne_bytes());
        self.buf.extend_from_slice(&flags.to_ne_bytes());
        self.buf.extend_from_slice(&change.to_ne_bytes());
    }

    /// `struct ifaddrmsg`.
    fn ifaddr(&mut self, family: u8, prefix_len: u8, scope: u8, index: u32) {
        self.buf.extend_from_slice(&[family, prefix_len, 0, scope]);
        self.buf.extend_from_slice(&index.to_ne_bytes());
    }

    /// One `struct rtattr` with its data, padded to 4 bytes.
    fn attr(&mut self, ty: u16, data: &[u8]) {
        let len = u16::try_from(4 + data.len()).unwrap_or(u16::MAX);
        self.buf.extend_from_slice(&len.to_ne_bytes());
        self.buf.extend_from_slice(&ty.to_ne_bytes());
        self.buf.extend_from_slice(data);
        self.buf.resize(align(self.buf.len()), 0);
    }

    /// The message with its `struct nlmsghdr` filled in.
    fn finish(mut self, seq: u32) -> Vec<u8> {
        let len = u32::try_from(self.buf.len()).unwrap_or(u32::MAX);
        self.buf[0..4].copy_from_slice(&len.to_ne_bytes());
        self.buf[4..6].copy_from_slice(&self.ty.to_ne_bytes());
        self.buf[6..8].copy_from_slice(&self.flags.to_ne_bytes());
        self.buf[8..12].copy_from_slice(&seq.to_ne_bytes());
        self.buf
    }
}

fn align(n: usize) -> usize {
    (n + 3) & !3
}

fn nul_terminated(s: &str) -> Vec<u8> {
    let mut v = s.as_bytes().to_vec();
    v.push(0);
    v
}

/// One message of a datagram: (type, flags, sequence number, body after the header).
type Message<'a> = (u16, u16, u32, &'a [u8]);

/// The messages of one datagram.
fn split(mut data: &[u8]) -> SysResult<Vec<Message<'_>>> {
    let mut out = Vec::new();
    while data.len() >= NLMSG_HDRLEN {
        let len = u32::from_ne_bytes(data[0..4].try_into().unwrap_or_default()) as usize;
        if len < NLMSG_HDRLEN || len > data.len() {
            return Err(netlink_error(Errno::EPROTO));
        }
        let ty = u16::from_ne_bytes(data[4..6].try_into().unwrap_or_default());
        let flags = u16::from_ne_bytes(data[6..8].try_into().unwrap_or_default());
        let seq = u32::from_ne_bytes(data[8..12].try_into().unwrap_or_default());
        out.push((ty, flags, seq, &data[NLMSG_HDRLEN..len]));
        data = &data[align(len).min(data.len())..];
    }
    Ok(out)
}

/// The attributes after a family header of `skip` bytes: (type, data).
fn attrs(body: &[u8], skip: usize) -> Vec<(u16, &[u8])> {
    let mut out = Vec::new();
    let mut rest = body.get(skip..).unwrap_or_default();
    while rest.len() >= 4 {
        let len = usize::from(u16::from_ne_bytes([rest[0], rest[1]]));
        if len < 4 || len > rest.len() {
            break;
        }
        let ty = u16::from_ne_bytes([rest[2], rest[3]]);
        out.push((ty, &rest[4..len]));
        rest = &rest[align(len).min(rest.len())..];
    }
    out
}

/// An RTM_NEWLINK body (ifinfomsg + attributes); None when too short for its header.
fn parse_link(body: &[u8]) -> Option<Link> {
    let header = body.get(..IFINFOMSG_LEN)?;
    let mut link = Link {
        kind: u16::from_ne_bytes([header[2], header[3]]),
        index: i32::from_ne_bytes(header[4..8].try_into().ok()?),
        flags: u32::from_ne_bytes(header[8..12].try_into().ok()?),
        name: String::new(),
        hw_addr: Vec::new(),
    };
    for (ty, data) in attrs(body, IFINFOMSG_LEN) {
        match ty {
            libc::IFLA_IFNAME => {
                let end = data.iter().position(|&b| b == 0).unwrap_or(data.len());
                link.name = String::from_utf8_lossy(&data[..end]).into_owned();
            }
            libc::IFLA_ADDRESS => link.hw_addr = data.to_vec(),
            _ => {}
        }
    }
    Some(link)
}

/// An RTM_NEWADDR body (ifaddrmsg + attributes).
fn parse_address(body: &[u8]) -> Address {
    let mut addr = Address {
        family: body[0],
        prefix_len: body[1],
        scope: body[3],
        flags: u32::from(body[2]),
        attrs: Vec::new(),
    };
    for (ty, data) in attrs(body, IFADDRMSG_LEN) {
        match ty {
            libc::IFA_LOCAL | libc::IFA_ADDRESS | libc::IFA_BROADCAST => {
                addr.attrs.push((ty, data.to_vec()))
            }
            libc::IFA_FLAGS if data.len() == 4 => {
                addr.flags = u32::from_ne_bytes(data.try_into().unwrap_or_default());
            }
            _ => {}
        }
    }
    addr
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_layout_is_nlmsghdr_ifinfomsg_then_padded_attrs() {
        let mut req = Request::new(libc::RTM_NEWLINK, libc::NLM_F_ACK);
        req.ifinfo(7, 0, 0);
        req.attr(libc::IFLA_IFNAME, &nul_terminated("eth1"));
        let msg = req.finish(42);
        assert_eq!(msg.len(), 16 + 16 + 12);
        assert_eq!(u32::from_ne_bytes(msg[0..4].try_into().unwrap()), 44);
        assert_eq!(u16::from_ne_bytes(msg[4..6].try_into().unwrap()), 16);
        let flags = u16::from_ne_bytes(msg[6..8].try_into().unwrap());
        assert_eq!(flags, (libc::NLM_F_REQUEST | libc::NLM_F_ACK) as u16);
        assert_eq!(u32::from_ne_bytes(msg[8..12].try_into().unwrap()), 42);
        assert_eq!(i32::from_ne_bytes(msg[20..24].try_into().unwrap()), 7);
        assert_eq!(&msg[32..34], &9u16.to_ne_bytes());
        assert_eq!(&msg[36..41], b"eth1\0");
    }

    #[test]
    fn address_attributes_and_extended_flags_are_read() {
        let mut body = vec![libc::AF_INET as u8, 16, 0, 0];
        body.extend_from_slice(&3u32.to_ne_bytes());
        for (ty, data) in [
            (libc::IFA_ADDRESS, vec![169, 254, 7, 7]),
            (
                libc::IFA_FLAGS,
                libc::IFA_F_PERMANENT.to_ne_bytes().to_vec(),
            ),
        ] {
            body.extend_from_slice(&u16::try_from(4 + data.len()).unwrap().to_ne_bytes());
            body.extend_from_slice(&ty.to_ne_bytes());
            body.extend_from_slice(&data);
        }
        let a = parse_address(&body);
        assert!(a.permanent_global());
        assert_eq!(a.display(), "169.254.7.7/16");
        assert_eq!(a.attrs, vec![(libc::IFA_ADDRESS, vec![169, 254, 7, 7])]);
    }

    #[test]
    fn a_link_is_read_from_its_ifinfomsg_and_attributes() {
        let mut body = vec![libc::AF_UNSPEC as u8, 0];
        body.extend_from_slice(&libc::ARPHRD_ETHER.to_ne_bytes());
        body.extend_from_slice(&9i32.to_ne_bytes());
        body.extend_from_slice(&(libc::IFF_UP as u32).to_ne_bytes());
        body.extend_from_slice(&0u32.to_ne_bytes());
        for (ty, data) in [
            (libc::IFLA_IFNAME, b"eth1\0".to_vec()),
            (libc::IFLA_ADDRESS, vec![2, 0, 0, 0, 0, 7]),
        ] {
            body.extend_from_slice(&u16::try_from(4 + data.len()).unwrap().to_ne_bytes());
            body.extend_from_slice(&ty.to_ne_bytes());
            body.extend_from_slice(&data);
            body.resize(align(body.len()), 0);
        }
        let link = parse_link(&body).unwrap();
        assert_eq!((link.index, link.name.as_str()), (9, "eth1"));
        assert!(link.is_up());
        let elsewhere = Link {
            index: 3,
            name: "veth0".into(),
            flags: 0,
            ..link.clone()
        };
        assert!(link.same_device(&elsewhere));
        let other = Link {
            hw_addr: vec![2, 0, 0, 0, 0, 8],
            ..link.clone()
        };
        assert!(!link.same_device(&other));
        assert_eq!(parse_link(&body[..10]), None);
    }

    /// One netlink message: header then `body`.
    fn message(ty: u16, flags: u16, seq: u32, body: &[u8]) -> Vec<u8> {
        let len = u32::try_from(NLMSG_HDRLEN + body.len()).unwrap();
        let mut m = len.to_ne_bytes().to_vec();
        m.extend_from_slice(&ty.to_ne_bytes());
        m.extend_from_slice(&flags.to_ne_bytes());
        m.extend_from_slice(&seq.to_ne_bytes());
        m.extend_from_slice(&0u32.to_ne_bytes());
        m.extend_from_slice(body);
        m
    }

    /// A fake kernel on the other end of a socket pair: answers each of `interrupted.len()`
    /// link dumps with one link and NLMSG_DONE, the link flagged NLM_F_DUMP_INTR when
    /// `interrupted[n]`. Returns the socket for an Rtnl and the thread (the dumps it served).
    fn fake_kernel(interrupted: Vec<bool>) -> (OwnedFd, std::thread::JoinHandle<usize>) {
        let (ours, theirs) = sys::seqpacket_pair().unwrap();
        let kernel = std::thread::spawn(move || {
            let mut buf = vec![0u8; 4096];
            let mut served = 0;
            for intr in interrupted {
                if sys::netlink_recv(theirs.as_fd(), &mut buf).unwrap_or(0) == 0 {
                    break;
                }
                let seq = u32::from_ne_bytes(buf[8..12].try_into().unwrap());
                let mut flags = libc::NLM_F_MULTI as u16;
                if intr {
                    flags |= libc::NLM_F_DUMP_INTR as u16;
                }
                let mut link = vec![0u8; IFINFOMSG_LEN];
                link[4..8].copy_from_slice(&7i32.to_ne_bytes());
                let mut reply = message(libc::RTM_NEWLINK, flags, seq, &link);
                reply.extend(message(libc::NLMSG_DONE as u16, flags, seq, &[0u8; 4]));
                sys::netlink_send(theirs.as_fd(), &reply).unwrap();
                served += 1;
            }
            served
        });
        (ours, kernel)
    }

    #[test]
    fn a_dump_flagged_interrupted_is_asked_again() {
        let (sock, kernel) = fake_kernel(vec![true, true, false]);
        let links = Rtnl::from_socket(sock).links().unwrap();
        assert_eq!(links.iter().map(|l| l.index).collect::<Vec<_>>(), [7]);
        assert_eq!(kernel.join().unwrap(), 3);
    }

    #[test]
    fn a_dump_interrupted_every_time_is_eintr() {
        let tries = usize::try_from(DUMP_TRIES).unwrap();
        let (sock, kernel) = fake_kernel(vec![true; tries]);
        let err = Rtnl::from_socket(sock).links().unwrap_err();
        assert_eq!(err.errno, Errno::EINTR);
        assert_eq!(kernel.join().unwrap(), tries);
    }

    #[test]
    fn truncated_replies_are_a_protocol_error() {
        let mut msg = 100u32.to_ne_bytes().to_vec();
        msg.extend_from_slice(&[0u8; 12]);
        assert_eq!(split(&msg).unwrap_err().errno, Errno::EPROTO);
    }
}
