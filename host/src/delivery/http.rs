//! The HTTP client of deliveries: no redirects, and DNS answers filtered by
//! the [`AddressGuard`] so a name cannot resolve its way to a private address.

use super::guard::AddressGuard;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

struct GuardedResolver {
    guard: AddressGuard,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let guard = self.guard.clone();
        Box::pin(async move {
            let host = name.as_str().to_string();
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let allowed: Vec<SocketAddr> = addrs
                .iter()
                .copied()
                .filter(|a| guard.permits(a.ip()))
                .collect();
            if allowed.is_empty() {
                return Err(format!(
                    "{host} resolves only to addresses deliveries may not reach ({}); \\
                     see --outbound-allowlist",
                    addrs
                        .iter()
                        .map(|a| a.ip().to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
                .into());
            }
            Ok(Box::new(allowed.into_iter()) as Addrs)
        })
    }
}

/// Installs rustls' process-wide crypto provider (ring); every reqwest
/// client needs it. Idempotent.
pub fn install_tls() {
    // A second install fails harmlessly.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Builds the delivery client.
pub fn client(guard: &AddressGuard, timeout: Duration) -> reqwest::Client {
    install_tls();
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(10)))
        .redirect(reqwest::redirect::Policy::none())
        .dns_resolver(Arc::new(GuardedResolver {
            guard: guard.clone(),
        }))
        .user_agent(concat!("hookhost/", env!("CARGO_PKG_VERSION")))
        .build()
        .expect("the delivery client builds")
}

/// Checks a URL before it is stored or sent to: http(s), a host, and (for
/// literal IPs, which skip DNS) an address the guard permits. Names are
/// resolved here too, so a name pointing at a private address is refused at
/// creation; the resolver checks again at every send.
pub async fn check_url(guard: &AddressGuard, url: &str) -> Result<reqwest::Url, String> {
    let parsed = reqwest::Url::parse(url).map_err(|e| format!("invalid URL {url:?}: {e}"))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err("endpoint URLs must be http:// or https://".into());
    }
    let host = parsed
        .host_str()
        .ok_or("endpoint URL has no host")?
        .trim_matches(['[', ']'])
        .to_string();
    let port = parsed.port_or_known_default().unwrap_or(80);
    let ips: Vec<IpAddr> = match host.parse::<IpAddr>() {
        Ok(ip) => vec![ip],
        // A name that does not resolve (yet) is accepted: its attempts fail
        // until it does, and the resolver checks what it resolves to then.
        Err(_) => match tokio::net::lookup_host((host.as_str(), port)).await {
            Ok(addrs) => addrs.map(|a| a.ip()).collect(),
            Err(_) => Vec::new(),
        },
    };
    if let Some(bad) = ips.iter().find(|ip| !guard.permits(**ip)) {
        return Err(format!(
            "{host} is {bad}, a loopback/private/link-local address deliveries may not reach \\
             (allow it with --outbound-allowlist)"
        ));
    }
    Ok(parsed)
}
