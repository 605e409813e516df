//! Per-client-IP rate limits (GCRA, governor), shared by the bridge's `link` and the node's FIDO2
//! endpoints. A client over its quota is refused at once and told when to retry; other clients
//! are not slowed. Behind a reverse proxy, the client is the address the proxy appended to
//! `X-Forwarded-For` (only when the operator says the proxy is trusted: the header is forgeable).

use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::http::request::Parts;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};

/// A quota per client IP: `per_minute` sustained, `burst` at once. `per_minute == 0` disables it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    pub per_minute: u32,
    pub burst: u32,
}

impl RateLimit {
    /// No limit.
    pub const OFF: Self = Self {
        per_minute: 0,
        burst: 0,
    };

    /// `per_minute` sustained with a burst of half of it (at least 1).
    pub fn per_minute(per_minute: u32) -> Self {
        Self {
            per_minute,
            burst: (per_minute / 2).max(1),
        }
    }
}

/// A running limiter; cheap to clone.
#[derive(Clone)]
pub struct ClientLimiter {
    limiter: Arc<DefaultKeyedRateLimiter<IpAddr>>,
    trust_proxy: bool,
}

impl std::fmt::Debug for ClientLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientLimiter")
            .field("clients", &self.limiter.len())
            .finish()
    }
}

impl ClientLimiter {
    /// `None` when the limit is off.
    pub fn new(limit: RateLimit, trust_proxy: bool) -> Option<Self> {
        let per_minute = NonZeroU32::new(limit.per_minute)?;
        let burst = NonZeroU32::new(limit.burst).unwrap_or(NonZeroU32::MIN);
        Some(Self {
            limiter: Arc::new(DefaultKeyedRateLimiter::keyed(
                Quota::per_minute(per_minute).allow_burst(burst),
            )),
            trust_proxy,
        })
    }

    /// Counts one request from the client of `parts`; `Err` with how long to wait when over.
    /// A request whose client cannot be told is let through (only in-process callers lack one).
    pub fn check(&self, parts: &Parts) -> Result<(), Duration> {
        let Some(ip) = client_ip(parts, self.trust_proxy) else {
            return Ok(());
        };
        self.limiter
            .check_key(&ip)
            .map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now()))
    }

    /// Forgets clients whose quota has refilled; call now and then so memory stays bounded.
    pub fn retain_recent(&self) {
        self.limiter.retain_recent();
    }
}

/// The client's IP: the last `X-Forwarded-For` hop when the proxy is trusted, else the peer
/// address of the connection.
pub fn client_ip(parts: &Parts, trust_proxy: bool) -> Option<IpAddr> {
    if trust_proxy
        && let Some(ip) = parts
            .headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|hop| hop.trim().parse::<IpAddr>().ok())
            .next_back()
    {
        return Some(ip);
    }
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(peer: &str, forwarded: Option<&str>) -> Parts {
        let mut request = axum::http::Request::builder().uri("/");
        if let Some(f) = forwarded {
            request = request.header("x-forwarded-for", f);
        }
        let (mut parts, ()) = request.body(()).unwrap().into_parts();
        parts
            .extensions
            .insert(ConnectInfo(peer.parse::<SocketAddr>().unwrap()));
        parts
    }

    #[test]
    fn limits_each_client_on_its_own() {
        let limiter = ClientLimiter::new(
            RateLimit {
                per_minute: 60,
                burst: 3,
            },
            false,
        )
        .unwrap();
        let a = parts("10.0.0.1:5000", None);
        for _ in 0..3 {
            limiter.check(&a).unwrap();
        }
        let wait = limiter.check(&a).unwrap_err();
        assert!(
            wait > Duration::ZERO && wait <= Duration::from_secs(1),
            "{wait:?}"
        );
        limiter.check(&parts("10.0.0.2:5000", None)).unwrap();
        assert!(ClientLimiter::new(RateLimit::OFF, false).is_none());
    }

    #[test]
    fn forwarded_for_counts_only_behind_a_trusted_proxy() {
        let p = parts("10.0.0.9:443", Some("203.0.113.7, 198.51.100.2"));
        assert_eq!(client_ip(&p, true), "198.51.100.2".parse().ok());
        assert_eq!(client_ip(&p, false), "10.0.0.9".parse().ok());
        let forged = parts("10.0.0.9:443", Some("not an ip"));
        assert_eq!(client_ip(&forged, true), "10.0.0.9".parse().ok());
    }
}
