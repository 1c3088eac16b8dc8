//! The SSRF guard: user-given URLs (webhooks, instances, relays) may not
//! reach loopback, private, link-local or otherwise internal addresses,
//! unless the operator allows it. The check is made on the addresses the
//! host name resolves to, every time a connection is made.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// Addresses that must not be reached from user-given URLs.
pub fn is_private_address(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_private_v4(v4),
        IpAddr::V6(v6) => is_private_v6(v6),
    }
}

fn is_private_v4(v4: Ipv4Addr) -> bool {
    let [a, b, c, _] = v4.octets();
    v4.is_loopback()
        || v4.is_private()
        || v4.is_link_local()
        || v4.is_unspecified()
        || v4.is_broadcast()
        || v4.is_multicast()
        || v4.is_documentation()
        || a == 0
        || (a == 100 && (64..=127).contains(&b)) // carrier-grade NAT
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
        || a >= 240
}

fn is_private_v6(v6: Ipv6Addr) -> bool {
    if let Some(v4) = v6.to_ipv4_mapped() {
        return is_private_v4(v4);
    }
    if v6.is_loopback() || v6.is_unspecified() {
        return true;
    }
    // IPv4-compatible `::a.b.c.d` (deprecated, but stacks still route it
    // to the IPv4 address); `::1` and `::` were answered above.
    if let Some(v4) = v6.to_ipv4() {
        return is_private_v4(v4);
    }
    let segments = v6.segments();
    let [first, second, ..] = segments;
    let embedded = |high: u16, low: u16| Ipv4Addr::from((u32::from(high) << 16) | u32::from(low));
    // NAT64 (RFC 6052) reaches the IPv4 address in its last 32 bits; the
    // local-use prefix 64:ff9b:1::/48 (RFC 8215) is internal by definition.
    let nat64 = first == 0x0064 && second == 0xff9b;
    let nat64_internal =
        nat64 && (segments[2] == 1 || (segments[2..6] == [0; 4] && is_private_v4(embedded(segments[6], segments[7]))));
    // 6to4 (RFC 3056) reaches the IPv4 address in bits 16–48.
    let six_to_four_internal = first == 0x2002 && is_private_v4(embedded(segments[1], segments[2]));
    v6.is_multicast()
        || (first & 0xfe00) == 0xfc00 // unique local
        || (first & 0xffc0) == 0xfe80 // link local
        || (first & 0xffc0) == 0xfec0 // site local (deprecated, still routed internally)
        || (first == 0x2001 && second == 0x0db8) // documentation
        || nat64_internal
        || six_to_four_internal
}

/// Resolves host names and refuses internal addresses.
#[derive(Debug, Clone)]
pub struct TargetGuard {
    pub allow_private: bool,
}

impl TargetGuard {
    /// Checks a URL before it is stored or used: scheme, and for IP
    /// literals (which skip DNS) the address itself.
    pub fn check_url(&self, raw: &str) -> Result<url::Url, String> {
        let url = url::Url::parse(raw).map_err(|_| format!("`{raw}` is not a URL"))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(format!("`{raw}` must be an http or https URL"));
        }
        let ip = match url.host() {
            Some(url::Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
            Some(url::Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
            Some(url::Host::Domain(_)) => None,
            None => return Err(format!("`{raw}` has no host")),
        };
        if let Some(ip) = ip
            && !self.allow_private
            && is_private_address(ip)
        {
            return Err(private_message(ip));
        }
        Ok(url)
    }
}

fn private_message(ip: IpAddr) -> String {
    format!("{ip} is a private, loopback or link-local address; set HERALD_ALLOW_PRIVATE_TARGETS=true to allow it")
}

impl Resolve for TargetGuard {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_private = self.allow_private;
        Box::pin(async move {
            let host = name.as_str().to_string();
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let allowed: Vec<SocketAddr> =
                addrs.iter().copied().filter(|a| allow_private || !is_private_address(a.ip())).collect();
            if allowed.is_empty() {
                let reason = match addrs.first() {
                    Some(addr) => private_message(addr.ip()),
                    None => format!("{host} does not resolve"),
                };
                return Err(reason.into());
            }
            let addrs: Addrs = Box::new(allowed.into_iter());
            Ok(addrs)
        })
    }
}

pub(crate) fn resolver(allow_private: bool) -> Arc<TargetGuard> {
    Arc::new(TargetGuard { allow_private })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_addresses_are_private() {
        let cases = [
            // IPv4
            ("127.0.0.1", true),
            ("10.1.2.3", true),
            ("172.16.0.1", true),
            ("192.168.1.1", true),
            ("169.254.169.254", true),
            ("0.0.0.0", true),
            ("100.64.0.1", true),
            ("192.0.0.8", true),
            ("198.18.0.1", true),
            ("198.19.255.254", true),
            ("192.0.2.1", true),
            ("240.0.0.1", true),
            ("1.1.1.1", false),
            ("93.184.216.34", false),
            ("192.0.1.1", false),
            ("198.20.0.1", false),
            // IPv6
            ("::1", true),
            ("::", true),
            ("fe80::1", true),
            ("fd00::1", true),
            ("fec0::1", true),
            ("ff02::1", true),
            ("2001:db8::1", true),
            ("::ffff:127.0.0.1", true),
            ("::ffff:8.8.8.8", false),
            // IPv4-compatible
            ("::127.0.0.1", true),
            ("::10.0.0.1", true),
            ("::8.8.8.8", false),
            // NAT64
            ("64:ff9b::127.0.0.1", true),
            ("64:ff9b::a9fe:a9fe", true), // 169.254.169.254
            ("64:ff9b::192.168.0.1", true),
            ("64:ff9b::8.8.8.8", false),
            ("64:ff9b:1::8.8.8.8", true),
            // 6to4
            ("2002:7f00:1::", true),    // 127.0.0.1
            ("2002:a00:1::1", true),    // 10.0.0.1
            ("2002:c0a8:101::", true),  // 192.168.1.1
            ("2002:808:808::1", false), // 8.8.8.8
            ("2606:4700::1111", false),
            ("2001:4860::8888", false),
        ];
        for (ip, private) in cases {
            assert_eq!(is_private_address(ip.parse().unwrap()), private, "{ip}");
        }
    }

    #[test]
    fn literal_private_urls_are_refused_unless_allowed() {
        let guard = TargetGuard { allow_private: false };
        assert!(guard.check_url("http://127.0.0.1:8080/hook").unwrap_err().contains("HERALD_ALLOW_PRIVATE_TARGETS"));
        assert!(guard.check_url("http://[::1]/hook").is_err());
        assert!(guard.check_url("ftp://example.com/").is_err());
        assert!(guard.check_url("https://example.com/hook").is_ok());
        assert!(TargetGuard { allow_private: true }.check_url("http://127.0.0.1/hook").is_ok());
    }

    #[tokio::test]
    async fn the_resolver_refuses_names_of_internal_hosts() {
        let guard = TargetGuard { allow_private: false };
        let name: Name = "localhost".parse().unwrap();
        assert!(guard.resolve(name).await.is_err());
        let open = TargetGuard { allow_private: true };
        assert!(open.resolve("localhost".parse().unwrap()).await.is_ok());
    }
}
