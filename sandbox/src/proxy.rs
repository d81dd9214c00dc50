//! The filtering proxy: the sandboxed command's only way out of its network
//! namespace.
//!
//! The command runs in a network namespace of its own with nothing but
//! loopback (see `netns.rs`). A TCP listener on that loopback is created in
//! the child and handed to shellgate, which accepts on it here, outside the
//! sandbox. Each connection speaks either HTTP (RFC 9110 section 9.3.6
//! `CONNECT host:port`, or an absolute-form `GET http://host/…` request,
//! RFC 9112 section 3.2.2) or SOCKS5 (RFC 1928, `CONNECT` command, no
//! authentication), told apart by the first byte (`0x05` is SOCKS5).
//!
//! A destination is allowed only when all of these hold:
//!
//! 1. its host is a **name** matching a trusted host ([`HostPattern`]):
//!    case-folded, one trailing dot removed, exactly or as a subdomain of a
//!    `*.suffix` entry; an IP literal only when an entry names that exact
//!    address;
//! 2. its port is one of [`NetworkPolicy::ports`];
//! 3. the proxy resolves the name itself (its own [`NetworkPolicy::resolve`]
//!    pins first, then the system resolver) and at least one address is
//!    public, or inside [`NetworkPolicy::addresses`]: loopback,
//!    unspecified, private (RFC 1918, RFC 4193), shared (RFC 6598),
//!    link-local (the `169.254.169.254` metadata service among them),
//!    multicast and reserved ranges are refused, and so are IPv6 addresses
//!    that embed such an IPv4 address (mapped, NAT64, 6to4). The
//!    connection goes to the checked address, never to a second lookup.
//!
//! A refused destination gets `403 Forbidden` (HTTP) or reply `0x02`,
//! "connection not allowed by ruleset" (SOCKS5), and one line on
//! shellgate's stderr naming the destination and why.

use std::io::{self, Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// A trusted host name: `example.com` (exactly that host) or
/// `*.example.com` (any subdomain of it, not the apex), the semantics of
/// the policy's `environment.trusted_remotes`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostPattern {
    /// Lower-case host without trailing dot (the suffix for a wildcard).
    host: String,
    /// `*.host` entry.
    wildcard: bool,
}

impl HostPattern {
    /// Parses `host` or `*.suffix`; the host is case-folded and one
    /// trailing dot removed. `None` for an empty or malformed entry (a
    /// `*` elsewhere than a leading `*.`, characters no host name has).
    pub fn parse(entry: &str) -> Option<HostPattern> {
        let (rest, wildcard) = match entry.strip_prefix("*.") {
            Some(r) => (r, true),
            None => (entry, false),
        };
        let host = normalize_host(rest)?;
        Some(HostPattern { host, wildcard })
    }

    /// Whether the normalized `host` matches.
    fn matches(&self, host: &str) -> bool {
        if self.wildcard {
            host.len() > self.host.len() + 1
                && host.ends_with(&self.host)
                && host.as_bytes()[host.len() - self.host.len() - 1] == b'.'
        } else {
            host == self.host
        }
    }
}

/// Case-folds `host`, removes one trailing dot and checks that it is a
/// host name (letters, digits, `-`, `_`; labels of 1 to 63 characters; at
/// most 253 in all) or an IP literal (IPv6 in brackets or bare). `None`
/// otherwise.
fn normalize_host(host: &str) -> Option<String> {
    let inner = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    if let Ok(ip) = inner.parse::<IpAddr>() {
        return Some(ip.to_string());
    }
    let h = host.strip_suffix('.').unwrap_or(host).to_ascii_lowercase();
    let label_ok = |l: &str| {
        (1..=63).contains(&l.len())
            && l.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    (!h.is_empty() && h.len() <= 253 && h.split('.').all(label_ok)).then_some(h)
}

/// What the proxy lets through. Built by the caller (`shellgate run` fills
/// it from the policy: `environment.trusted_remotes` and `[sandbox]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkPolicy {
    /// Trusted hosts; an empty list lets nothing through.
    pub hosts: Vec<HostPattern>,
    /// Destination ports allowed (TCP). Usually `[443, 80]`.
    pub ports: Vec<u16>,
    /// Non-public address ranges a trusted host may resolve to (an internal
    /// registry on `10.0.0.0/8`, a test server on `127.0.0.1/32`).
    pub addresses: Vec<ipnet::IpNet>,
    /// Names the proxy resolves without asking the system resolver, like
    /// `/etc/hosts` entries of its own (lower-case names, no trailing dot).
    pub resolve: Vec<(String, Vec<IpAddr>)>,
}

impl NetworkPolicy {
    /// Trusted `hosts` on ports 443 and 80, public addresses only.
    pub fn new(hosts: Vec<HostPattern>) -> Self {
        NetworkPolicy {
            hosts,
            ports: vec![443, 80],
            addresses: Vec::new(),
            resolve: Vec::new(),
        }
    }

    /// Adds `text` (`10.0.0.0/8`, `fd00::/8`, or one address) to
    /// [`Self::addresses`].
    ///
    /// # Errors
    /// `text` is neither an address nor `address/prefix`.
    pub fn allow_range(&mut self, text: &str) -> Result<(), String> {
        let text = text.trim();
        let net = match text.parse::<IpAddr>() {
            Ok(ip) => ipnet::IpNet::from(ip),
            Err(_) => text
                .parse::<ipnet::IpNet>()
                .map_err(|e| format!("`{text}` is not an address or address/prefix: {e}"))?,
        };
        self.addresses.push(net);
        Ok(())
    }

    /// The addresses `host:port` may be reached at, checked against every
    /// rule in the module doc, or why not.
    ///
    /// # Errors
    /// A one-line reason the user can act on, naming the policy key that
    /// would allow the destination.
    pub fn check(&self, host: &str, port: u16) -> Result<Vec<SocketAddr>, String> {
        let Some(name) = normalize_host(host) else {
            return Err(format!("`{host}` is not a valid host name"));
        };
        if !self.hosts.iter().any(|p| p.matches(&name)) {
            return Err(format!(
                "`{name}` is not a trusted remote; add it to environment.trusted_remotes if the \
                 command should reach it"
            ));
        }
        if !self.ports.contains(&port) {
            return Err(format!(
                "port {port} is not allowed (allowed: {}); add it to sandbox.network_ports",
                self.ports
                    .iter()
                    .map(u16::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        let resolved: Vec<IpAddr> = if let Ok(ip) = name.parse::<IpAddr>() {
            vec![ip]
        } else if let Some((_, ips)) = self.resolve.iter().find(|(n, _)| *n == name) {
            ips.clone()
        } else {
            std::net::ToSocketAddrs::to_socket_addrs(&(name.as_str(), port))
                .map_err(|e| format!("`{name}` does not resolve: {e}"))?
                .map(|a| a.ip())
                .collect()
        };
        let mut refused = None;
        let mut ok = Vec::new();
        for ip in resolved {
            match self.address_allowed(ip) {
                Ok(()) => ok.push(SocketAddr::new(ip, port)),
                Err(why) => refused = refused.or(Some((ip, why))),
            }
        }
        match (ok.is_empty(), refused) {
            (false, _) => Ok(ok),
            (true, Some((ip, why))) => Err(format!(
                "`{name}` resolves to {ip}, {why}; list it in sandbox.network_addresses if the \
                 command should reach it"
            )),
            (true, None) => Err(format!("`{name}` has no address")),
        }
    }

    /// `Ok` for a public address or one inside [`Self::addresses`], else
    /// the kind of address it is.
    fn address_allowed(&self, ip: IpAddr) -> Result<(), &'static str> {
        if self.addresses.iter().any(|net| net.contains(&ip)) {
            return Ok(());
        }
        match non_public(ip) {
            None => Ok(()),
            Some(kind) => Err(kind),
        }
    }
}

/// The kind of a non-public address, `None` for a public one. Sources: the
/// IANA IPv4 and IPv6 Special-Purpose Address Registries (RFC 6890).
pub fn non_public(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => non_public_v4(v4),
        IpAddr::V6(v6) => non_public_v6(v6),
    }
}

fn non_public_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let o = ip.octets();
    Some(if ip.is_loopback() {
        "a loopback address"
    } else if ip.is_link_local() {
        "a link-local address (cloud metadata services live there)"
    } else if ip.is_private() {
        "a private address"
    } else if o[0] == 0 {
        "an unspecified (\"this network\") address"
    } else if o[0] == 100 && (o[1] & 0xc0) == 64 {
        "a shared (carrier-grade NAT) address"
    } else if o[0] == 192 && o[1] == 0 && o[2] == 0 {
        "an IETF protocol address"
    } else if o[0] == 198 && (o[1] & 0xfe) == 18 {
        "a benchmarking address"
    } else if ip.is_multicast() || o[0] >= 240 {
        "a multicast, reserved or broadcast address"
    } else {
        return None;
    })
}

fn non_public_v6(ip: Ipv6Addr) -> Option<&'static str> {
    let s = ip.segments();
    // IPv4 inside IPv6: mapped (::ffff:0:0/96), compatible (::/96), NAT64
    // (64:ff9b::/96), 6to4 (2002::/16).
    let v4_at = |i: usize| {
        let [a, b] = s[i].to_be_bytes();
        let [c, d] = s[i + 1].to_be_bytes();
        Ipv4Addr::new(a, b, c, d)
    };
    let compatible = s[..6] == [0; 6] && !ip.is_loopback() && !ip.is_unspecified();
    let nat64 = s[..6] == [0x64, 0xff9b, 0, 0, 0, 0];
    let embedded = if let Some(v4) = ip.to_ipv4_mapped() {
        Some(v4)
    } else if compatible || nat64 {
        Some(v4_at(6))
    } else if s[0] == 0x2002 {
        Some(v4_at(1))
    } else {
        None
    };
    if let Some(v4) = embedded {
        return non_public_v4(v4);
    }
    Some(if ip.is_loopback() {
        "a loopback address"
    } else if ip.is_unspecified() {
        "an unspecified address"
    } else if ip.is_unicast_link_local() || (s[0] & 0xffc0) == 0xfec0 {
        "a link-local address"
    } else if ip.is_unique_local() {
        "a private (unique local) address"
    } else if ip.is_multicast() {
        "a multicast address"
    } else {
        return None;
    })
}

/// At most this many connections are relayed at once; more are refused.
const MAX_CONNECTIONS: usize = 256;
/// The longest request head (request line and headers) read, in bytes.
const MAX_HEAD: usize = 16 * 1024;
/// How long a client has to send its request, and the proxy to connect.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(30);

/// One destination the proxy refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// `host:port` as the command asked for it.
    pub destination: String,
    /// Why (one line).
    pub reason: String,
}

/// A running proxy; [`Proxy::stop`] ends it.
#[derive(Debug)]
pub(crate) struct Proxy {
    listener: Arc<TcpListener>,
    stopping: Arc<AtomicBool>,
    accept: Option<JoinHandle<()>>,
    refusals: Arc<Mutex<Vec<Refusal>>>,
}

impl Proxy {
    /// Serves `listener` (already listening) on a thread of its own, one
    /// thread per connection.
    pub(crate) fn start(listener: TcpListener, policy: NetworkPolicy) -> Proxy {
        let listener = Arc::new(listener);
        let stopping = Arc::new(AtomicBool::new(false));
        let refusals = Arc::new(Mutex::new(Vec::new()));
        let policy = Arc::new(policy);
        let live = Arc::new(AtomicUsize::new(0));
        let accept = {
            let (listener, stopping, refusals) =
                (listener.clone(), stopping.clone(), refusals.clone());
            std::thread::Builder::new()
                .name("shellgate-proxy".into())
                .spawn(move || {
                    for conn in listener.incoming() {
                        if stopping.load(Ordering::Acquire) {
                            break;
                        }
                        let Ok(conn) = conn else { continue };
                        if live.fetch_add(1, Ordering::AcqRel) >= MAX_CONNECTIONS {
                            live.fetch_sub(1, Ordering::AcqRel);
                            continue; // dropped: the client sees a reset
                        }
                        let (policy, refusals, live) =
                            (policy.clone(), refusals.clone(), live.clone());
                        let spawned = std::thread::Builder::new()
                            .name("shellgate-proxy-conn".into())
                            .spawn(move || {
                                let record = |r: &Refusal| {
                                    // One write, so the line is not split by
                                    // what the command writes to the same
                                    // stderr meanwhile (`eprintln!` writes
                                    // each formatted piece separately).
                                    let line = format!(
                                        "shellgate: network: refused {}: {}\n",
                                        r.destination, r.reason
                                    );
                                    let _ = std::io::Write::write_all(
                                        &mut std::io::stderr(),
                                        line.as_bytes(),
                                    );
                                    if let Ok(mut all) = refusals.lock() {
                                        all.push(r.clone());
                                    }
                                };
                                let _ = serve(conn, &policy, &record);
                                live.fetch_sub(1, Ordering::AcqRel);
                            });
                        if spawned.is_err() {
                            // No thread: the connection was dropped with the closure.
                        }
                    }
                })
                .ok()
        };
        Proxy {
            listener,
            stopping,
            accept,
            refusals,
        }
    }

    /// Stops accepting (relays in progress end with their connections) and
    /// returns the destinations refused during the run.
    pub(crate) fn stop(mut self) -> Vec<Refusal> {
        self.stopping.store(true, Ordering::Release);
        // SAFETY: shutdown on a socket we own; it wakes the blocked accept.
        unsafe {
            libc::shutdown(
                std::os::fd::AsRawFd::as_raw_fd(&*self.listener),
                libc::SHUT_RDWR,
            );
        }
        if let Some(t) = self.accept.take() {
            let _ = t.join();
        }
        std::mem::take(&mut *self.refusals.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

/// What [`serve`] calls with a refused destination, before the client is
/// answered: by the time a command sees the refusal (and may exit, ending
/// the run), it is on record for [`Proxy::stop`].
type Record<'a> = &'a dyn Fn(&Refusal);

/// Handles one client connection: the handshake, the check, the relay.
/// `Err` only for a refused destination, which `record` has already been
/// given (malformed requests are answered and dropped without a report).
fn serve(client: TcpStream, policy: &NetworkPolicy, record: Record<'_>) -> Result<(), Refusal> {
    let _ = client.set_read_timeout(Some(HANDSHAKE_TIMEOUT));
    let mut first = [0u8; 1];
    if client.peek(&mut first).unwrap_or(0) == 0 {
        return Ok(());
    }
    if first[0] == 0x05 {
        socks5(client, policy, record)
    } else {
        http(client, policy, record)
    }
}

/// Connects to the first reachable checked address.
fn connect(addrs: &[SocketAddr]) -> io::Result<TcpStream> {
    let mut last = io::Error::from(io::ErrorKind::AddrNotAvailable);
    for a in addrs {
        match TcpStream::connect_timeout(a, HANDSHAKE_TIMEOUT) {
            Ok(s) => return Ok(s),
            Err(e) => last = e,
        }
    }
    Err(last)
}

/// Copies both directions until each side has finished, then closes.
fn relay(client: TcpStream, upstream: TcpStream) {
    let _ = client.set_read_timeout(None);
    let (Ok(c2), Ok(u2)) = (client.try_clone(), upstream.try_clone()) else {
        return;
    };
    let up = std::thread::Builder::new()
        .name("shellgate-proxy-up".into())
        .spawn(move || pipe(c2, u2));
    pipe(upstream, client);
    if let Ok(t) = up {
        let _ = t.join();
    }
}

/// Copies `from` to `to` until EOF or an error, then half-closes `to`.
fn pipe(mut from: TcpStream, mut to: TcpStream) {
    let _ = io::copy(&mut from, &mut to);
    let _ = to.shutdown(Shutdown::Write);
    let _ = from.shutdown(Shutdown::Read);
}

/// `host:port` or `[v6]:port` of an authority (RFC 3986 section 3.2),
/// `default_port` when none is written. No userinfo.
fn split_authority(authority: &str, default_port: Option<u16>) -> Option<(String, u16)> {
    if authority.contains('@') {
        return None;
    }
    let (host, port) = if let Some(rest) = authority.strip_prefix('[') {
        let (h, after) = rest.split_once(']')?;
        (format!("[{h}]"), after.strip_prefix(':'))
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h.to_string(), Some(p)),
            None => (authority.to_string(), None),
        }
    };
    let port = match port {
        Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => p.parse().ok()?,
        Some(_) => return None,
        None => default_port?,
    };
    (!host.is_empty()).then_some((host, port))
}

/// Reads a request head (through the blank line) and whatever followed it
/// in the same reads.
fn read_head(client: &mut TcpStream) -> Option<(Vec<u8>, Vec<u8>)> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let rest = buf.split_off(end + 4);
            return Some((buf, rest));
        }
        if buf.len() > MAX_HEAD {
            return None;
        }
        match client.read(&mut chunk) {
            Ok(0) | Err(_) => return None,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

fn respond(client: &mut TcpStream, status: &str, reason: &str) {
    let body = format!("shellgate: {reason}\n");
    let _ = write!(
        client,
        "HTTP/1.1 {status}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
}

/// HTTP `CONNECT` tunnels and absolute-form requests.
fn http(mut client: TcpStream, policy: &NetworkPolicy, record: Record<'_>) -> Result<(), Refusal> {
    let Some((head, rest)) = read_head(&mut client) else {
        respond(&mut client, "400 Bad Request", "unreadable proxy request");
        return Ok(());
    };
    let Ok(text) = std::str::from_utf8(&head) else {
        respond(
            &mut client,
            "400 Bad Request",
            "the request head is not UTF-8",
        );
        return Ok(());
    };
    let mut lines = text.split("\r\n");
    let request_line = lines.next().unwrap_or("");
    let mut parts = request_line.split(' ');
    let (method, target, version) = (
        parts.next().unwrap_or(""),
        parts.next().unwrap_or(""),
        parts.next().unwrap_or(""),
    );
    if !version.starts_with("HTTP/1.") || parts.next().is_some() {
        respond(
            &mut client,
            "400 Bad Request",
            "not an HTTP/1.x request line",
        );
        return Ok(());
    }
    let connect_tunnel = method.eq_ignore_ascii_case("CONNECT");
    let (authority, path) = if connect_tunnel {
        (target, "")
    } else if let Some(rest) = target.strip_prefix("http://") {
        match rest.find(['/', '?']) {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        }
    } else {
        respond(
            &mut client,
            "400 Bad Request",
            "only CONNECT and http:// requests are proxied (https goes through CONNECT)",
        );
        return Ok(());
    };
    let Some((host, port)) = split_authority(authority, (!connect_tunnel).then_some(80)) else {
        respond(&mut client, "400 Bad Request", "malformed host:port");
        return Ok(());
    };
    let destination = format!("{host}:{port}");
    let addrs = match policy.check(&host, port) {
        Ok(a) => a,
        Err(reason) => {
            let refusal = Refusal {
                destination,
                reason,
            };
            record(&refusal);
            respond(&mut client, "403 Forbidden", &refusal.reason);
            return Err(refusal);
        }
    };
    let mut upstream = match connect(&addrs) {
        Ok(u) => u,
        Err(e) => {
            respond(
                &mut client,
                "502 Bad Gateway",
                &format!("cannot connect to {destination}: {e}"),
            );
            return Ok(());
        }
    };
    if connect_tunnel {
        if client
            .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
            .is_err()
        {
            return Ok(());
        }
    } else {
        // Origin-form request line; the proxy's own headers dropped and
        // the connection closed after one exchange, so a second request
        // on it cannot reach another host.
        let mut out = format!("{method} {path} {version}\r\n");
        for line in lines.filter(|l| !l.is_empty()) {
            let name = line.split(':').next().unwrap_or("").trim();
            let hop = [
                "connection",
                "proxy-connection",
                "keep-alive",
                "proxy-authorization",
            ];
            if !hop.iter().any(|h| name.eq_ignore_ascii_case(h)) {
                out.push_str(line);
                out.push_str("\r\n");
            }
        }
        out.push_str("Connection: close\r\n\r\n");
        if upstream.write_all(out.as_bytes()).is_err() {
            return Ok(());
        }
    }
    if !rest.is_empty() && upstream.write_all(&rest).is_err() {
        return Ok(());
    }
    relay(client, upstream);
    Ok(())
}

/// SOCKS5 (RFC 1928): method "no authentication", command `CONNECT`.
fn socks5(
    mut client: TcpStream,
    policy: &NetworkPolicy,
    record: Record<'_>,
) -> Result<(), Refusal> {
    /// Reply with code `rep` and a zero IPv4 bind address (RFC 1928 section 6).
    fn reply(client: &mut TcpStream, rep: u8) {
        let _ = client.write_all(&[5, rep, 0, 1, 0, 0, 0, 0, 0, 0]);
    }
    let mut hdr = [0u8; 2];
    if client.read_exact(&mut hdr).is_err() {
        return Ok(());
    }
    let mut methods = vec![0u8; usize::from(hdr[1])];
    if client.read_exact(&mut methods).is_err() {
        return Ok(());
    }
    if !methods.contains(&0) {
        let _ = client.write_all(&[5, 0xff]);
        return Ok(());
    }
    if client.write_all(&[5, 0]).is_err() {
        return Ok(());
    }
    let mut req = [0u8; 4];
    if client.read_exact(&mut req).is_err() || req[0] != 5 {
        return Ok(());
    }
    let host = match req[3] {
        1 => {
            let mut a = [0u8; 4];
            if client.read_exact(&mut a).is_err() {
                return Ok(());
            }
            Ipv4Addr::from(a).to_string()
        }
        3 => {
            let mut len = [0u8; 1];
            let mut name = vec![0u8; 255];
            if client.read_exact(&mut len).is_err() {
                return Ok(());
            }
            name.truncate(usize::from(len[0]));
            if client.read_exact(&mut name).is_err() {
                return Ok(());
            }
            String::from_utf8_lossy(&name).into_owned()
        }
        4 => {
            let mut a = [0u8; 16];
            if client.read_exact(&mut a).is_err() {
                return Ok(());
            }
            format!("[{}]", Ipv6Addr::from(a))
        }
        _ => {
            reply(&mut client, 8); // address type not supported
            return Ok(());
        }
    };
    let mut port = [0u8; 2];
    if client.read_exact(&mut port).is_err() {
        return Ok(());
    }
    let port = u16::from_be_bytes(port);
    if req[1] != 1 {
        reply(&mut client, 7); // command not supported (BIND, UDP ASSOCIATE)
        return Ok(());
    }
    let destination = format!("{host}:{port}");
    let addrs = match policy.check(&host, port) {
        Ok(a) => a,
        Err(reason) => {
            let refusal = Refusal {
                destination,
                reason,
            };
            record(&refusal);
            reply(&mut client, 2); // connection not allowed by ruleset
            return Err(refusal);
        }
    };
    match connect(&addrs) {
        Ok(upstream) => {
            reply(&mut client, 0);
            relay(client, upstream);
        }
        Err(_) => reply(&mut client, 5), // connection refused
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(hosts: &[&str]) -> NetworkPolicy {
        NetworkPolicy::new(
            hosts
                .iter()
                .map(|h| HostPattern::parse(h).unwrap())
                .collect(),
        )
    }

    #[test]
    fn host_patterns_match_exactly_or_as_subdomain() {
        let exact = HostPattern::parse("GitHub.com.").unwrap();
        let wild = HostPattern::parse("*.acme.internal").unwrap();
        assert!(exact.matches("github.com"));
        for other in [
            "evil-github.com",
            "github.com.evil.test",
            "api.github.com",
            "github.co",
        ] {
            assert!(!exact.matches(other), "{other}");
        }
        assert!(wild.matches("pkg.acme.internal"));
        assert!(wild.matches("a.b.acme.internal"));
        for other in [
            "acme.internal",
            "evilacme.internal",
            "acme.internal.evil.test",
        ] {
            assert!(!wild.matches(other), "{other}");
        }
        assert_eq!(HostPattern::parse("a b"), None);
        assert_eq!(HostPattern::parse("*"), None);
        assert_eq!(HostPattern::parse("x.*.com"), None);
    }

    #[test]
    fn names_are_normalized_before_matching() {
        assert_eq!(normalize_host("GITHUB.com.").as_deref(), Some("github.com"));
        assert_eq!(normalize_host("github.com.."), None);
        assert_eq!(normalize_host("a..b"), None);
        assert_eq!(normalize_host("[::1]").as_deref(), Some("::1"));
        assert_eq!(normalize_host("github.com\0.evil"), None);
        assert_eq!(normalize_host("github.com%2e"), None);
    }

    #[test]
    fn untrusted_hosts_ip_literals_and_ports_are_refused() {
        let mut p = policy(&["git.test"]);
        p.resolve
            .push(("git.test".into(), vec!["203.0.113.7".parse().unwrap()]));
        assert!(p.check("git.test", 443).is_ok());
        assert!(p.check("GIT.TEST.", 443).is_ok());
        for host in [
            "evil-git.test",
            "git.test.evil.test",
            "127.0.0.1",
            "203.0.113.7",
            "2130706433",
            "0x7f000001",
            "[::1]",
            "git.test..",
        ] {
            let err = p.check(host, 443).unwrap_err();
            assert!(
                err.contains("trusted") || err.contains("valid"),
                "{host}: {err}"
            );
        }
        let err = p.check("git.test", 22).unwrap_err();
        assert!(err.contains("sandbox.network_ports"), "{err}");
    }

    #[test]
    fn trusted_names_resolving_to_internal_addresses_are_refused() {
        for (ip, kind) in [
            ("127.0.0.1", "loopback"),
            ("169.254.169.254", "link-local"),
            ("10.1.2.3", "private"),
            ("192.168.0.1", "private"),
            ("100.64.0.1", "shared"),
            ("0.0.0.0", "unspecified"),
            ("::1", "loopback"),
            ("::ffff:127.0.0.1", "loopback"),
            ("64:ff9b::a9fe:a9fe", "link-local"),
            ("2002:7f00:1::", "loopback"),
            ("fd00::1", "unique local"),
            ("fe80::1", "link-local"),
            ("224.0.0.1", "multicast"),
        ] {
            let mut p = policy(&["git.test"]);
            p.resolve
                .push(("git.test".into(), vec![ip.parse().unwrap()]));
            let err = p.check("git.test", 443).unwrap_err();
            assert!(
                err.contains(kind) && err.contains("sandbox.network_addresses"),
                "{ip}: {err}"
            );
            p.addresses.push(
                format!("{ip}/128")
                    .parse()
                    .unwrap_or_else(|_| format!("{ip}/32").parse().unwrap()),
            );
            assert!(p.check("git.test", 443).is_ok(), "{ip} listed");
        }
        // One public address among internal ones: only the public one is used.
        let mut p = policy(&["git.test"]);
        p.resolve.push((
            "git.test".into(),
            vec!["127.0.0.1".parse().unwrap(), "203.0.113.9".parse().unwrap()],
        ));
        assert_eq!(
            p.check("git.test", 443).unwrap(),
            vec!["203.0.113.9:443".parse::<SocketAddr>().unwrap()]
        );
    }

    #[test]
    fn an_ip_entry_trusts_only_that_address() {
        let mut p = policy(&["203.0.113.5"]);
        assert!(p.check("203.0.113.5", 443).is_ok());
        assert!(p.check("203.0.113.6", 443).is_err());
        p.hosts = vec![HostPattern::parse("127.0.0.1").unwrap()];
        assert!(p.check("127.0.0.1", 443).unwrap_err().contains("loopback"));
    }

    #[test]
    fn authorities_split_like_rfc3986() {
        assert_eq!(
            split_authority("a.test:443", None),
            Some(("a.test".into(), 443))
        );
        assert_eq!(
            split_authority("a.test", Some(80)),
            Some(("a.test".into(), 80))
        );
        assert_eq!(split_authority("a.test", None), None);
        assert_eq!(split_authority("[::1]:8", None), Some(("[::1]".into(), 8)));
        assert_eq!(split_authority("user@a.test:443", None), None);
        assert_eq!(split_authority("a.test:+443", None), None);
        assert_eq!(split_authority("a.test:99999", None), None);
    }

    /// An upstream that answers every connection with `hello` and closes.
    fn upstream() -> SocketAddr {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        std::thread::spawn(move || {
            for c in l.incoming().flatten() {
                let mut c = c;
                let mut buf = [0u8; 512];
                let _ = c.set_read_timeout(Some(Duration::from_millis(200)));
                let _ = c.read(&mut buf);
                let _ = c.write_all(b"hello");
            }
        });
        addr
    }

    fn proxy_for(up: SocketAddr) -> (Proxy, SocketAddr) {
        let mut p = policy(&["git.test"]);
        p.ports = vec![up.port()];
        p.resolve.push(("git.test".into(), vec![up.ip()]));
        p.addresses.push("127.0.0.1/32".parse().unwrap());
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        (Proxy::start(l, p), addr)
    }

    fn exchange(proxy: SocketAddr, bytes: &[u8]) -> Vec<u8> {
        let mut c = TcpStream::connect(proxy).unwrap();
        c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        c.write_all(bytes).unwrap();
        let mut out = Vec::new();
        let _ = c.read_to_end(&mut out);
        out
    }

    #[test]
    fn connect_tunnel_reaches_a_trusted_host_and_refuses_others() {
        let up = upstream();
        let (proxy, addr) = proxy_for(up);
        let port = up.port();
        let ok = exchange(
            addr,
            format!("CONNECT git.test:{port} HTTP/1.1\r\n\r\nping").as_bytes(),
        );
        let ok = String::from_utf8_lossy(&ok);
        assert!(
            ok.starts_with("HTTP/1.1 200") && ok.ends_with("hello"),
            "{ok}"
        );
        let refused = exchange(
            addr,
            format!("CONNECT 127.0.0.1:{port} HTTP/1.1\r\n\r\n").as_bytes(),
        );
        let refused = String::from_utf8_lossy(&refused);
        assert!(
            refused.starts_with("HTTP/1.1 403") && refused.contains("not a trusted"),
            "{refused}"
        );
        let plain = exchange(addr, format!("GET http://git.test:{port}/x HTTP/1.1\r\nHost: git.test\r\nProxy-Connection: keep-alive\r\n\r\n").as_bytes());
        assert_eq!(plain, b"hello");
        let refusals = proxy.stop();
        assert_eq!(refusals.len(), 1, "{refusals:?}");
        assert_eq!(refusals[0].destination, format!("127.0.0.1:{port}"));
    }

    #[test]
    fn socks5_connect_is_checked_like_http() {
        let up = upstream();
        let (proxy, addr) = proxy_for(up);
        let [hi, lo] = up.port().to_be_bytes();
        let mut req = vec![5, 1, 0, 5, 1, 0, 3, 8];
        req.extend_from_slice(b"git.test");
        req.extend_from_slice(&[hi, lo]);
        req.extend_from_slice(b"ping");
        let out = exchange(addr, &req);
        assert_eq!(&out[..2], &[5, 0]);
        assert_eq!(&out[2..4], &[5, 0]);
        assert_eq!(&out[12..], b"hello");
        // An IPv4 address (ATYP 1) of the same server: not a trusted name.
        let req = [5, 1, 0, 5, 1, 0, 1, 127, 0, 0, 1, hi, lo];
        let out = exchange(addr, &req);
        assert_eq!(&out[2..4], &[5, 2]);
        // BIND is not supported.
        let mut req = vec![5, 1, 0, 5, 2, 0, 3, 8];
        req.extend_from_slice(b"git.test");
        req.extend_from_slice(&[hi, lo]);
        assert_eq!(&exchange(addr, &req)[2..4], &[5, 7]);
        assert_eq!(proxy.stop().len(), 1);
    }
}
