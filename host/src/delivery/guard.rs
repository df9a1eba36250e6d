//! The outbound address guard: endpoints may not reach loopback, private,
//! link-local, metadata or other special addresses unless an allowlist
//! CIDR covers them. Checked at creation and again at every send, on the
//! addresses actually connected to (so DNS rebinding does not get around it).

use ipnet::IpNet;
use std::net::IpAddr;

/// Special-purpose ranges refused by default.
const BLOCKED: &[&str] = &[
    "0.0.0.0/8",
    "10.0.0.0/8",
    "100.64.0.0/10",
    "127.0.0.0/8",
    "169.254.0.0/16",
    "172.16.0.0/12",
    "192.0.0.0/24",
    "192.0.2.0/24",
    "192.168.0.0/16",
    "198.18.0.0/15",
    "198.51.100.0/24",
    "203.0.113.0/24",
    "224.0.0.0/4",
    "240.0.0.0/4",
    "::/128",
    "::1/128",
    "64:ff9b:1::/48",
    "100::/64",
    "2001:db8::/32",
    "fc00::/7",
    "fe80::/10",
    "ff00::/8",
];

/// Decides which addresses deliveries may connect to.
#[derive(Debug, Clone)]
pub struct AddressGuard {
    blocked: Vec<IpNet>,
    allowed: Vec<IpNet>,
}

impl AddressGuard {
    /// A guard that also permits `allowlist` (e.g. `127.0.0.0/8` in tests).
    pub fn new(allowlist: &[IpNet]) -> Self {
        Self {
            blocked: BLOCKED
                .iter()
                .map(|c| c.parse().expect("valid built-in CIDR"))
                .collect(),
            allowed: allowlist.to_vec(),
        }
    }

    /// Parses a comma-separated CIDR list (`--outbound-allowlist`).
    pub fn parse_allowlist(list: &str) -> Result<Vec<IpNet>, String> {
        list.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| {
                s.parse::<IpNet>()
                    .or_else(|_| s.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| format!("invalid CIDR {s:?} in the outbound allowlist"))
            })
            .collect()
    }

    /// Whether a delivery may connect to `ip`.
    pub fn permits(&self, ip: IpAddr) -> bool {
        // IPv4-mapped IPv6 addresses are judged as the IPv4 address they carry.
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        self.allowed.iter().any(|n| n.contains(&ip))
            || !self.blocked.iter().any(|n| n.contains(&ip))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn refuses_special_addresses_by_default() {
        let g = AddressGuard::new(&[]);
        for bad in [
            "127.0.0.1",
            "10.1.2.3",
            "172.20.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "::1",
            "fd00:ec2::254",
            "fe80::1",
            "::ffff:127.0.0.1",
            "100.64.0.1",
        ] {
            assert!(!g.permits(ip(bad)), "{bad}");
        }
        for good in ["93.184.216.34", "8.8.8.8", "2606:4700::1111"] {
            assert!(g.permits(ip(good)), "{good}");
        }
    }

    #[test]
    fn allowlist_opens_exactly_its_ranges() {
        let allow = AddressGuard::parse_allowlist("127.0.0.0/8, ::1").unwrap();
        let g = AddressGuard::new(&allow);
        assert!(g.permits(ip("127.0.0.1")));
        assert!(g.permits(ip("::1")));
        assert!(!g.permits(ip("10.0.0.1")));
        assert!(AddressGuard::parse_allowlist("not-a-cidr").is_err());
        assert!(AddressGuard::parse_allowlist("").unwrap().is_empty());
    }
}
