//! The SSRF guard: user-given URLs (webhooks, instances, relays) may not
//! reach loopback, private, link-local or otherwise internal addresses,
//! unless the operator allows it. The check is made on the addresses the
//! host name resolves to, every time a connection is made.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// Addresses that must not be reached from user-given URLs.
pub fn is_private_address(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || a == 0
                || (a == 100 && (64..=127).contains(&b)) // carrier-grade NAT
                || (a == 198 && (b == 18 || b == 19)) // benchmarking
                || a >= 240
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_private_address(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00 // unique local
                || (first & 0xffc0) == 0xfe80 // link local
        }
    }
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
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "::1",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
        ] {
            assert!(is_private_address(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["1.1.1.1", "93.184.216.34", "2606:4700::1111"] {
            assert!(!is_private_address(ip.parse().unwrap()), "{ip}");
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
