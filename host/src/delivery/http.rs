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

/// Builds the delivery client. It never reads the proxy variables of the
/// environment (`HTTP_PROXY`, `HTTPS_PROXY`, `ALL_PROXY`, ...): through a
/// proxy the guard would see only the proxy. Egress through a proxy is the
/// explicit `proxy` (`--outbound-proxy`), checked by [`check_proxy`].
pub fn client(guard: &AddressGuard, timeout: Duration, proxy: Option<&str>) -> reqwest::Client {
    install_tls();
    let mut builder = reqwest::Client::builder().no_proxy();
    if let Some(p) = proxy {
        builder = builder.proxy(reqwest::Proxy::all(p).expect("the proxy URL was checked"));
    }
    builder
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

/// Checks an `--outbound-proxy` URL: `http://` or `https://` with a host.
pub fn check_proxy(url: &str) -> Result<(), String> {
    let parsed = reqwest::Url::parse(url).map_err(|e| format!("invalid proxy URL {url:?}: {e}"))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(format!(
            "the outbound proxy must be http(s)://host:port, not {url:?}"
        ));
    }
    reqwest::Proxy::all(url).map_err(|e| format!("invalid proxy URL {url:?}: {e}"))?;
    Ok(())
}

/// Why `url` may not be sent to now, when its host is a literal IP the
/// guard refuses (names are checked by the resolver at connect time). Run
/// before every attempt: the allowlist may have changed since the endpoint
/// was created.
pub fn refused_literal(guard: &AddressGuard, url: &str) -> Option<String> {
    let parsed = reqwest::Url::parse(url).ok()?;
    let ip: IpAddr = parsed.host_str()?.trim_matches(['[', ']']).parse().ok()?;
    (!guard.permits(ip)).then(|| {
        format!(
            "{ip} is a loopback/private/special-purpose address deliveries may not reach \
             (allow it with --outbound-allowlist)"
        )
    })
}
