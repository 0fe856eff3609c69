//! Whose request is it: the client's IP address, for the login delays and
//! the audit log. Directly connected, it is the peer's address. Behind
//! reverse proxies (`--trust-forwarded-for`), each proxy appends the
//! address it saw to `X-Forwarded-For`, so only the right-hand end of the
//! header was written by someone we trust: the client's address is the
//! right-most entry that is not one of our proxies (`--trusted-proxy`).
//! The left-hand entries are whatever the client chose to send and are
//! never believed; nor is the header at all when the peer itself is not a
//! trusted proxy.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

/// An address range: an IP address and a prefix length (`10.0.0.0/8`,
/// `::1/128`); a bare address is its own range.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IpRange {
    network: IpAddr,
    prefix: u8,
}

impl IpRange {
    /// The default trusted proxies: the loopback addresses, 127.0.0.0/8
    /// and ::1 (a proxy on the same machine).
    pub fn loopback() -> Vec<IpRange> {
        vec![
            IpRange {
                network: IpAddr::V4(Ipv4Addr::new(127, 0, 0, 0)),
                prefix: 8,
            },
            IpRange {
                network: IpAddr::V6(Ipv6Addr::LOCALHOST),
                prefix: 128,
            },
        ]
    }

    /// Whether `address` is in the range (an IPv4 address written as
    /// IPv6, `::ffff:a.b.c.d`, counts as IPv4).
    pub fn contains(&self, address: IpAddr) -> bool {
        match (self.network, address.to_canonical()) {
            (IpAddr::V4(net), IpAddr::V4(a)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(a)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(a) & mask
            }
            _ => false,
        }
    }
}

impl FromStr for IpRange {
    type Err = String;

    fn from_str(s: &str) -> Result<IpRange, String> {
        let (address, prefix) = match s.trim().split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s.trim(), None),
        };
        let network: IpAddr = address
            .parse()
            .map_err(|_| format!("{s}: not an IP address or CIDR range (e.g. 10.0.0.0/8)"))?;
        let network = network.to_canonical();
        let most = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => most,
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= most)
                .ok_or_else(|| format!("{s}: the prefix length must be 0 to {most}"))?,
        };
        Ok(IpRange { network, prefix })
    }
}

impl fmt::Display for IpRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

/// The client's address: `peer` (the connection's other end), or, when
/// `trust_forwarded_for` is set and the peer is one of `proxies`, the
/// right-most `X-Forwarded-For` entry that is not a trusted proxy.
///
/// A header that is absent, or whose entries are all trusted proxies,
/// leaves the left-most trusted one (the proxy nearest the client); an
/// entry that is not an address stops the walk there, at the last
/// trustworthy address. `None` only when there is no peer (a test's
/// router without connect info).
pub fn client_address(
    peer: Option<IpAddr>,
    forwarded_for: &[&str],
    trust_forwarded_for: bool,
    proxies: &[IpRange],
) -> Option<IpAddr> {
    let peer = peer?.to_canonical();
    let trusted = |a: IpAddr| proxies.iter().any(|r| r.contains(a));
    if !trust_forwarded_for || !trusted(peer) {
        return Some(peer);
    }
    let mut client = peer;
    // Several headers are one list, in order.
    let entries = forwarded_for.iter().flat_map(|h| h.split(','));
    for entry in entries.collect::<Vec<_>>().into_iter().rev() {
        let Some(address) = parse_entry(entry) else {
            break;
        };
        client = address;
        if !trusted(address) {
            break;
        }
    }
    Some(client)
}

/// One `X-Forwarded-For` entry: an address, possibly with a port
/// (`1.2.3.4:5678`, `[2001:db8::1]:443`).
fn parse_entry(entry: &str) -> Option<IpAddr> {
    let entry = entry.trim();
    if let Ok(address) = entry.parse::<IpAddr>() {
        return Some(address.to_canonical());
    }
    if let Ok(socket) = entry.parse::<std::net::SocketAddr>() {
        return Some(socket.ip().to_canonical());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn ranges_parse_and_match() {
        let r: IpRange = "10.1.0.0/16".parse().unwrap();
        assert!(r.contains(ip("10.1.200.3")));
        assert!(!r.contains(ip("10.2.0.1")));
        assert!(r.contains(ip("::ffff:10.1.0.9")));
        let one: IpRange = "192.168.1.5".parse().unwrap();
        assert!(one.contains(ip("192.168.1.5")) && !one.contains(ip("192.168.1.6")));
        let v6: IpRange = "2001:db8::/32".parse().unwrap();
        assert!(v6.contains(ip("2001:db8:1::1")) && !v6.contains(ip("2001:db9::1")));
        let all: IpRange = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains(ip("8.8.8.8")));
        for bad in ["10.0.0.0/33", "::/129", "proxy", "10.0.0.0/x", ""] {
            assert!(bad.parse::<IpRange>().is_err(), "{bad}");
        }
    }

    #[test]
    fn the_right_most_untrusted_forwarded_address_is_the_client() {
        let proxies = IpRange::loopback();
        let local = Some(ip("127.0.0.1"));
        // A client that writes its own header first: ignored.
        assert_eq!(
            client_address(local, &["6.6.6.6, 203.0.113.9"], true, &proxies),
            Some(ip("203.0.113.9"))
        );
        // Two proxies of ours in a row.
        let mut two = proxies.clone();
        two.push("10.0.0.0/8".parse().unwrap());
        assert_eq!(
            client_address(local, &["6.6.6.6", "203.0.113.9, 10.0.0.2"], true, &two),
            Some(ip("203.0.113.9"))
        );
        // Not trusting the header, or a peer that is no proxy of ours.
        assert_eq!(
            client_address(local, &["203.0.113.9"], false, &proxies),
            local
        );
        assert_eq!(
            client_address(Some(ip("198.51.100.7")), &["6.6.6.6"], true, &proxies),
            Some(ip("198.51.100.7"))
        );
        // No header, garbage, ports.
        assert_eq!(client_address(local, &[], true, &proxies), local);
        assert_eq!(
            client_address(local, &["203.0.113.9, garbage"], true, &proxies),
            local
        );
        assert_eq!(
            client_address(local, &["[2001:db8::1]:443"], true, &proxies),
            Some(ip("2001:db8::1"))
        );
        assert_eq!(client_address(None, &["1.2.3.4"], true, &proxies), None);
    }
}
