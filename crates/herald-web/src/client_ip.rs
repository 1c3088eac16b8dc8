//! Who is on the other end of a connection: the peer address, or — only
//! when the peer is one of the operator's proxies (`HERALD_TRUSTED_PROXIES`)
//! — the address the proxies recorded in `X-Forwarded-For`. Anyone can send
//! that header; believing it from anyone would let a client pick its own
//! rate-limit bucket.

use std::net::IpAddr;

use axum::http::HeaderMap;

/// Addresses and networks (`10.0.0.0/8`, `::1`, `fd00::/8`) of proxies
/// whose `X-Forwarded-For` is believed.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Vec<(IpAddr, u8)>);

impl TrustedProxies {
    /// Parses a comma-separated list; names the first entry that is not an
    /// address or network.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let mut networks = Vec::new();
        for entry in raw.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let (address, prefix) = entry.split_once('/').unwrap_or((entry, ""));
            let address: IpAddr =
                address.parse().map_err(|_| format!("`{entry}` in HERALD_TRUSTED_PROXIES is not an IP address"))?;
            let max = if address.is_ipv4() { 32 } else { 128 };
            let prefix = if prefix.is_empty() {
                max
            } else {
                prefix
                    .parse::<u8>()
                    .ok()
                    .filter(|p| *p <= max)
                    .ok_or_else(|| format!("`{entry}` in HERALD_TRUSTED_PROXIES has an invalid prefix length"))?
            };
            networks.push((address, prefix));
        }
        Ok(Self(networks))
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.0.iter().any(|(network, prefix)| in_network(ip, canonical(*network), *prefix))
    }

    /// The client's address: the peer, unless the peer is a trusted proxy;
    /// then the right-most `X-Forwarded-For` entry that is not one.
    pub fn client_ip(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        if !self.contains(peer) {
            return peer;
        }
        let forwarded: Vec<IpAddr> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map_while(|entry| entry.trim().parse::<IpAddr>().ok())
            .collect();
        forwarded.iter().rev().copied().find(|ip| !self.contains(*ip)).or(forwarded.first().copied()).unwrap_or(peer)
    }
}

/// IPv4-mapped IPv6 addresses as the IPv4 address they are.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

fn in_network(ip: IpAddr, network: IpAddr, prefix: u8) -> bool {
    match (ip, network) {
        (IpAddr::V4(ip), IpAddr::V4(net)) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            u32::from(ip) & mask == u32::from(net) & mask
        }
        (IpAddr::V6(ip), IpAddr::V6(net)) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            u128::from(ip) & mask == u128::from(net) & mask
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn xff(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", value.parse().unwrap());
        headers
    }

    #[test]
    fn forwarded_addresses_are_believed_only_from_trusted_proxies() {
        let proxies = TrustedProxies::parse("10.0.0.0/8, 127.0.0.1, fd00::/8").unwrap();
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        // An untrusted peer cannot choose its address.
        assert_eq!(proxies.client_ip(ip("203.0.113.9"), &xff("1.2.3.4")), ip("203.0.113.9"));
        // A trusted proxy: the right-most address that is not a proxy.
        assert_eq!(proxies.client_ip(ip("10.1.2.3"), &xff("1.2.3.4, 198.51.100.7, 10.9.9.9")), ip("198.51.100.7"));
        assert_eq!(proxies.client_ip(ip("::ffff:127.0.0.1"), &xff("198.51.100.7")), ip("198.51.100.7"));
        assert_eq!(proxies.client_ip(ip("fd00::1"), &HeaderMap::new()), ip("fd00::1"));
        assert_eq!(proxies.client_ip(ip("10.0.0.1"), &xff("not-an-ip")), ip("10.0.0.1"));
        assert!(!proxies.contains(ip("11.0.0.1")));
        assert!(TrustedProxies::default().client_ip(ip("10.0.0.1"), &xff("1.2.3.4")) == ip("10.0.0.1"));
        assert!(TrustedProxies::parse("10.0.0.0/33").is_err());
        assert!(TrustedProxies::parse("proxy.local").is_err());
        assert!(TrustedProxies::parse("").unwrap().0.is_empty());
    }
}
