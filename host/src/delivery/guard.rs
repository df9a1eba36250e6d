//! The outbound address guard: endpoints may not reach loopback, private,
//! link-local, metadata or other special addresses unless an allowlist
//! CIDR covers them. Checked at creation and again at every send, on the
//! addresses actually connected to (so DNS rebinding does not get around it).

use ipnet::IpNet;
use std::net::IpAddr;

/// IPv4 ranges refused by default: every entry of the IANA IPv4
/// Special-Purpose Address Registry that is not globally reachable, plus
/// multicast and the deprecated 6to4 relay anycast range.
const BLOCKED_V4: &[&str] = &[
    "0.0.0.0/8",       // "this network"
    "10.0.0.0/8",      // private use
    "100.64.0.0/10",   // shared address space (CGNAT)
    "127.0.0.0/8",     // loopback
    "169.254.0.0/16",  // link-local (cloud metadata services live here)
    "172.16.0.0/12",   // private use
    "192.0.0.0/24",    // IETF protocol assignments (DS-Lite, NAT64 discovery, ...)
    "192.0.2.0/24",    // documentation (TEST-NET-1)
    "192.88.99.0/24",  // 6to4 relay anycast (deprecated)
    "192.168.0.0/16",  // private use
    "198.18.0.0/15",   // benchmarking
    "198.51.100.0/24", // documentation (TEST-NET-2)
    "203.0.113.0/24",  // documentation (TEST-NET-3)
    "224.0.0.0/4",     // multicast
    "240.0.0.0/4",     // reserved, and 255.255.255.255 limited broadcast
];

/// IPv6 ranges refused by default within global unicast (`2000::/3`; every
/// address outside it is refused, which covers loopback, unspecified,
/// IPv4-compatible `::/96`, discard-only `100::/64`, ULA `fc00::/7`,
/// link-local `fe80::/10`, site-local `fec0::/10`, multicast `ff00::/8`,
/// SRv6 `5f00::/16` and the local-use NAT64 prefix `64:ff9b:1::/48`).
const BLOCKED_V6: &[&str] = &[
    "2001::/23",     // IETF protocol assignments (Teredo, ORCHID, benchmarking, ...)
    "2001:db8::/32", // documentation
    "2002::/16",     // 6to4: embeds an IPv4 address of any kind
    "3fff::/20",     // documentation
];

/// `2000::/3`: the only IPv6 space allocated for global unicast.
const GLOBAL_UNICAST_V6: &str = "2000::/3";
/// The well-known NAT64 prefix: the address stands for the IPv4 address in
/// its last 32 bits, and is judged as that.
const NAT64_WELL_KNOWN: &str = "64:ff9b::/96";

/// Decides which addresses deliveries may connect to.
#[derive(Debug, Clone)]
pub struct AddressGuard {
    blocked: Vec<IpNet>,
    allowed: Vec<IpNet>,
    global_v6: IpNet,
    nat64: IpNet,
}

impl AddressGuard {
    /// A guard that also permits `allowlist` (e.g. `127.0.0.0/8` in tests).
    pub fn new(allowlist: &[IpNet]) -> Self {
        let net = |c: &str| c.parse::<IpNet>().expect("valid built-in CIDR");
        Self {
            blocked: BLOCKED_V4
                .iter()
                .chain(BLOCKED_V6)
                .map(|c| net(c))
                .collect(),
            allowed: allowlist.to_vec(),
            global_v6: net(GLOBAL_UNICAST_V6),
            nat64: net(NAT64_WELL_KNOWN),
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

    /// Whether a delivery may connect to `ip`: an allowlisted address, or
    /// a globally reachable one.
    pub fn permits(&self, ip: IpAddr) -> bool {
        // IPv4-mapped IPv6 addresses are the IPv4 address they carry.
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        if self.allowed.iter().any(|n| n.contains(&ip)) {
            return true;
        }
        self.globally_reachable(ip)
    }

    fn globally_reachable(&self, ip: IpAddr) -> bool {
        if let IpAddr::V6(v6) = ip {
            if self.nat64.contains(&ip) {
                let [.., a, b, c, d] = v6.octets();
                return self.globally_reachable(IpAddr::from([a, b, c, d]));
            }
            if !self.global_v6.contains(&ip) {
                return false;
            }
        }
        !self.blocked.iter().any(|n| n.contains(&ip))
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

    /// One address inside every refused range (IANA IPv4 and IPv6
    /// special-purpose registries, entries not globally reachable).
    #[test]
    fn refuses_every_special_purpose_range() {
        let g = AddressGuard::new(&[]);
        let cases = [
            ("0.1.2.3", "this network 0.0.0.0/8"),
            ("10.255.0.1", "private 10/8"),
            ("100.127.255.254", "shared 100.64/10"),
            ("127.8.9.10", "loopback 127/8"),
            ("169.254.169.254", "link-local 169.254/16"),
            ("172.31.255.255", "private 172.16/12"),
            ("192.0.0.8", "IETF protocol assignments 192.0.0/24"),
            ("192.0.0.170", "NAT64 discovery 192.0.0.170"),
            ("192.0.2.1", "TEST-NET-1"),
            ("192.88.99.1", "6to4 relay anycast"),
            ("192.168.100.1", "private 192.168/16"),
            ("198.19.0.1", "benchmarking 198.18/15"),
            ("198.51.100.7", "TEST-NET-2"),
            ("203.0.113.9", "TEST-NET-3"),
            ("224.0.0.251", "multicast"),
            ("240.0.0.1", "reserved 240/4"),
            ("255.255.255.255", "limited broadcast"),
            ("::", "unspecified ::/128"),
            ("::1", "loopback ::1/128"),
            ("::7f00:1", "IPv4-compatible ::/96"),
            ("::ffff:10.0.0.1", "IPv4-mapped private"),
            ("64:ff9b::7f00:1", "NAT64 of 127.0.0.1"),
            ("64:ff9b::a9fe:a9fe", "NAT64 of 169.254.169.254"),
            ("64:ff9b:1::1", "local-use NAT64 64:ff9b:1::/48"),
            ("100::1", "discard-only 100::/64"),
            ("100:0:0:1::1", "dummy prefix 100:0:0:1::/64"),
            ("2001::1", "Teredo 2001::/32"),
            ("2001:2::1", "benchmarking 2001:2::/48"),
            ("2001:10::1", "ORCHID 2001:10::/28"),
            ("2001:db8::1", "documentation 2001:db8::/32"),
            ("2002:7f00:1::1", "6to4 of 127.0.0.1"),
            ("2002:808:808::1", "6to4 2002::/16"),
            ("3fff::1", "documentation 3fff::/20"),
            ("5f00::1", "SRv6 SIDs 5f00::/16"),
            ("fc00::1", "unique local fc00::/7"),
            ("fd00:ec2::254", "unique local (cloud metadata)"),
            ("fe80::1", "link-local fe80::/10"),
            ("fec0::1", "site-local fec0::/10"),
            ("ff02::1", "multicast ff00::/8"),
        ];
        for (addr, range) in cases {
            assert!(!g.permits(ip(addr)), "{addr} ({range}) must be refused");
        }
        for good in [
            "1.1.1.1",
            "192.0.1.1",
            "198.20.0.1",
            "2a00:1450:4001:80b::200e",
            "64:ff9b::808:808",
        ] {
            assert!(g.permits(ip(good)), "{good} is globally reachable");
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
