//! The SSRF guard: user-given URLs (webhooks, instances, relays) may not
//! reach loopback, private, link-local or otherwise internal addresses,
//! unless the operator allows it. The check is made on the addresses the
//! host name resolves to, every time a connection is made.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

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

/// The one SSRF guard. Every connection Herald makes to a user-given
/// address passes it: URLs are checked when they are stored (scheme, and
/// IP literals, which never reach DNS), and again at every request and
/// redirect hop, where host names are checked on the addresses they
/// resolve to — so a name that later points at `127.0.0.1` is refused too.
#[derive(Debug, Clone, Copy)]
pub struct TargetGuard {
    pub allow_private: bool,
}

impl TargetGuard {
    pub fn new(allow_private: bool) -> Self {
        Self { allow_private }
    }

    /// Checks an http(s) URL before it is stored or used.
    pub fn check_url(&self, raw: &str) -> Result<url::Url, String> {
        self.check_url_with_schemes(raw, &["http", "https"])
    }

    /// Checks a Nostr relay URL (`ws`/`wss`) before it is stored or used.
    pub fn check_relay_url(&self, raw: &str) -> Result<url::Url, String> {
        self.check_url_with_schemes(raw.trim(), &["ws", "wss"])
    }

    /// Checks a URL of one of `schemes`: it parses, has a host, and an
    /// IP-literal host is not internal. Names are checked when they resolve
    /// ([`TargetGuard::resolve`]).
    fn check_url_with_schemes(&self, raw: &str, schemes: &[&str]) -> Result<url::Url, String> {
        // Never echoed: a URL may carry a token (`?token=…`, a webhook path).
        let url = url::Url::parse(raw).map_err(|_| "the URL is not valid".to_string())?;
        if !schemes.contains(&url.scheme()) {
            let listed: Vec<String> = schemes.iter().map(|s| format!("{s}://")).collect();
            return Err(format!("the URL must be a {} URL", listed.join(" or ")));
        }
        self.check_host(&url)?;
        Ok(url)
    }

    /// The IP-literal part of the check, for a URL already parsed (every
    /// request and redirect hop). The WHATWG parser has already turned
    /// `http://2130706433/` and `http://0x7f.1/` into `127.0.0.1`.
    pub fn check_host(&self, url: &url::Url) -> Result<(), String> {
        let ip = match url.host() {
            Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip),
            Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip),
            Some(url::Host::Domain(_)) => return Ok(()),
            None => return Err("the URL has no host".to_string()),
        };
        if !self.allow_private && is_private_address(ip) {
            return Err(private_literal(ip));
        }
        Ok(())
    }

    /// The addresses `host` resolves to that may be reached; an error when
    /// none may (naming the rule, never what the address would answer).
    pub async fn resolve(&self, host: &str, port: u16) -> Result<Vec<SocketAddr>, String> {
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        if let Ok(ip) = bare.parse::<IpAddr>() {
            if !self.allow_private && is_private_address(ip) {
                return Err(private_literal(ip));
            }
            return Ok(vec![SocketAddr::new(ip, port)]);
        }
        let resolved: Vec<SocketAddr> =
            tokio::net::lookup_host((bare, port)).await.map_err(|_| format!("`{bare}` does not resolve"))?.collect();
        let allowed: Vec<SocketAddr> =
            resolved.iter().copied().filter(|a| self.allow_private || !is_private_address(a.ip())).collect();
        match (allowed.is_empty(), resolved.first()) {
            (false, _) => Ok(allowed),
            (true, Some(first)) => Err(private_name(bare, first.ip())),
            (true, None) => Err(format!("`{bare}` does not resolve")),
        }
    }

    /// The whole check of a URL at connect time, DNS answers included, for
    /// addresses stored now and used later (webhooks, Slack and Discord
    /// hooks): a name of an internal host is refused before it is saved.
    pub async fn check_resolved(&self, url: &url::Url) -> Result<(), String> {
        self.check_host(url)?;
        if self.allow_private {
            return Ok(());
        }
        let host = url.host_str().ok_or_else(|| "the URL has no host".to_string())?;
        self.resolve(host, url.port_or_known_default().unwrap_or(443)).await.map(|_| ())
    }
}

/// Whether an error message is the guard's refusal.
pub(crate) fn is_refusal(message: &str) -> bool {
    message.contains(ALLOW_HINT) || message.contains("does not resolve")
}

const ALLOW_HINT: &str = "set HERALD_ALLOW_PRIVATE_TARGETS=true to allow them";

fn private_literal(ip: IpAddr) -> String {
    format!("{ip} is a private address (loopback, private network or link-local addresses are refused; {ALLOW_HINT})")
}

fn private_name(host: &str, ip: IpAddr) -> String {
    format!(
        "`{host}` resolves to a private address ({ip}; loopback, private network or link-local addresses are refused; {ALLOW_HINT})"
    )
}

impl Resolve for TargetGuard {
    fn resolve(&self, name: Name) -> Resolving {
        let guard = *self;
        Box::pin(async move {
            let addrs = TargetGuard::resolve(&guard, name.as_str(), 0).await?;
            let addrs: Addrs = Box::new(addrs.into_iter());
            Ok(addrs)
        })
    }
}

/// An https URL whose host is a public name or address: one a platform
/// on the internet can fetch (not this machine or the LAN).
pub fn is_public_https(raw: &str) -> bool {
    let Ok(url) = url::Url::parse(raw) else { return false };
    match url.host() {
        _ if url.scheme() != "https" => false,
        Some(url::Host::Domain(name)) => name != "localhost" && !name.ends_with(".localhost") && name.contains('.'),
        Some(url::Host::Ipv4(ip)) => !is_private_address(ip.into()),
        Some(url::Host::Ipv6(ip)) => !is_private_address(ip.into()),
        None => false,
    }
}

/// The base address of a server a user names (`mastodon.social` or
/// `https://mastodon.social/about` → `https://mastodon.social`): scheme,
/// host and port, checked by the guard. For platforms of many servers.
pub(crate) fn server_base(guard: &TargetGuard, raw: &str) -> Result<String, crate::ProviderError> {
    let raw = raw.trim();
    let with_scheme = if raw.contains("://") { raw.to_string() } else { format!("https://{raw}") };
    let url = guard.check_url(&with_scheme).map_err(crate::ProviderError::invalid)?;
    let mut base = format!("{}://{}", url.scheme(), url.host_str().unwrap_or_default());
    if let Some(port) = url.port() {
        base.push_str(&format!(":{port}"));
    }
    Ok(base)
}

/// An id for an account known only by a secret URL (a webhook): a hash of
/// the URL, which says nothing of its token.
pub(crate) fn url_fingerprint(url: &url::Url) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(&Sha256::digest(url.as_str().as_bytes())[..12])
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
        let guard = TargetGuard::new(false);
        assert!(guard.check_url("http://127.0.0.1:8080/hook").unwrap_err().contains("HERALD_ALLOW_PRIVATE_TARGETS"));
        assert!(guard.check_url("http://[::1]/hook").is_err());
        assert!(guard.check_url("ftp://example.com/").is_err());
        assert!(guard.check_url("https://example.com/hook").is_ok());
        assert!(TargetGuard::new(true).check_url("http://127.0.0.1/hook").is_ok());
    }

    #[test]
    fn every_spelling_of_an_internal_literal_is_refused() {
        let guard = TargetGuard::new(false);
        for raw in [
            "http://127.0.0.1:5432/",
            "http://2130706433/",
            "http://0x7f.0.0.1/",
            "http://0177.0.0.1/",
            "http://127.1/",
            "http://[::1]/",
            "http://[::ffff:127.0.0.1]/",
            "http://[::ffff:7f00:1]/",
            "http://0.0.0.0/",
            "http://0/",
            "http://169.254.169.254/latest/meta-data/",
            "http://[fe80::1]/",
            "http://10.0.0.1/",
        ] {
            let refused = guard.check_url(raw).unwrap_err();
            assert!(refused.contains("is a private address"), "{raw}: {refused}");
            assert!(is_refusal(&refused), "{raw}");
        }
    }

    #[tokio::test]
    async fn names_are_checked_on_the_addresses_they_resolve_to() {
        let guard = TargetGuard::new(false);
        let refused = guard.resolve("localhost", 80).await.unwrap_err();
        assert!(refused.contains("`localhost` resolves to a private address"), "{refused}");
        let url = url::Url::parse("http://localhost:5432/hook").unwrap();
        assert!(guard.check_resolved(&url).await.unwrap_err().contains("resolves to a private address"));
        assert!(guard.resolve("[::1]", 80).await.unwrap_err().contains("is a private address"));
        assert!(guard.resolve("no-such-host.invalid", 80).await.unwrap_err().contains("does not resolve"));
        let open = TargetGuard::new(true);
        assert!(open.resolve("localhost", 80).await.is_ok());
        assert!(open.check_resolved(&url).await.is_ok());
        let name: Name = "localhost".parse().unwrap();
        assert!(Resolve::resolve(&guard, name).await.is_err());
    }
}
