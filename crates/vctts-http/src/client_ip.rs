use std::net::{IpAddr, SocketAddr};

use http::HeaderMap;
use ipnet::IpNet;

/// The client's address as the limiter and the access log see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClientIp(pub IpAddr);

/// Proxies whose `X-Forwarded-For` / `X-Real-IP` headers are believed.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(pub Vec<IpNet>);

impl TrustedProxies {
    /// Parse a comma-separated list of CIDRs or plain addresses.
    pub fn parse(s: &str) -> Result<Self, String> {
        let mut out = Vec::new();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let net = match part.parse::<IpNet>() {
                Ok(n) => n,
                Err(_) => part
                    .parse::<IpAddr>()
                    .map(IpNet::from)
                    .map_err(|_| format!("`{part}` is not an IP address or CIDR (e.g. 10.0.0.0/8)"))?,
            };
            out.push(net);
        }
        Ok(TrustedProxies(out))
    }

    pub fn trusts(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.0.iter().any(|n| n.contains(&ip))
    }

    /// The client address for a request arriving from `peer`. Forwarding
    /// headers count only when the peer is a trusted proxy; then the right-most
    /// address in `X-Forwarded-For` that is not itself a trusted proxy is the
    /// client (earlier entries are whatever the client chose to send).
    pub fn resolve(&self, peer: SocketAddr, headers: &HeaderMap) -> IpAddr {
        let peer_ip = canonical(peer.ip());
        if !self.trusts(peer_ip) {
            return peer_ip;
        }
        let mut chain: Vec<IpAddr> = Vec::new();
        for v in headers.get_all("x-forwarded-for") {
            if let Ok(s) = v.to_str() {
                for part in s.split(',') {
                    if let Some(ip) = parse_forwarded(part) {
                        chain.push(canonical(ip));
                    }
                }
            }
        }
        if let Some(ip) = chain.iter().rev().find(|ip| !self.trusts(**ip)) {
            return *ip;
        }
        if let Some(ip) = headers.get("x-real-ip").and_then(|v| v.to_str().ok()).and_then(parse_forwarded) {
            return canonical(ip);
        }
        chain.first().copied().unwrap_or(peer_ip)
    }
}

fn parse_forwarded(s: &str) -> Option<IpAddr> {
    let s = s.trim();
    s.parse::<IpAddr>().ok().or_else(|| s.parse::<SocketAddr>().ok().map(|a| a.ip()))
}

fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hdrs(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn untrusted_peer_cannot_spoof() {
        let t = TrustedProxies::parse("10.0.0.0/8").unwrap();
        let peer: SocketAddr = "203.0.113.7:5555".parse().unwrap();
        let ip = t.resolve(peer, &hdrs(&[("x-forwarded-for", "1.2.3.4"), ("x-real-ip", "5.6.7.8")]));
        assert_eq!(ip, "203.0.113.7".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn trusted_proxy_chain() {
        let t = TrustedProxies::parse("10.0.0.0/8, 192.168.1.1").unwrap();
        let peer: SocketAddr = "10.1.1.1:80".parse().unwrap();
        // Client claims 1.1.1.1, real client 198.51.100.9, then an inner trusted proxy.
        let ip = t.resolve(peer, &hdrs(&[("x-forwarded-for", "1.1.1.1, 198.51.100.9, 192.168.1.1")]));
        assert_eq!(ip, "198.51.100.9".parse::<IpAddr>().unwrap());
        let ip = t.resolve(peer, &hdrs(&[("x-real-ip", "198.51.100.10")]));
        assert_eq!(ip, "198.51.100.10".parse::<IpAddr>().unwrap());
        assert_eq!(t.resolve(peer, &HeaderMap::new()), "10.1.1.1".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn rejects_bad_cidrs() {
        assert!(TrustedProxies::parse("10.0.0.0/33").is_err());
        assert!(TrustedProxies::parse("localhost").is_err());
        assert!(TrustedProxies::parse("").unwrap().0.is_empty());
    }
}
