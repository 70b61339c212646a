//! The design document's four limits: global requests per minute, requests per
//! minute per client IP, concurrent requests, and per-endpoint requests per
//! minute. Token buckets come from `governor` (a bucket of `rpm` tokens that
//! refills one token every `60/rpm` s); the concurrency limit is a counter
//! held by an RAII permit for as long as the response body is being sent.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultDirectRateLimiter, DefaultKeyedRateLimiter, Quota, RateLimiter};
use parking_lot::RwLock;
use serde::{Deserialize, Serialize};
use vctts_core::ApiError;

/// Limits as configured (0 = unlimited).
#[derive(utoipa::ToSchema, Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct LimitsConfig {
    pub global_rpm: u32,
    pub ip_rpm: u32,
    pub concurrent_limit: u32,
    /// Requests per minute per endpoint path, e.g. `/api/extract_voice` -> 10.
    #[serde(default)]
    pub endpoints: BTreeMap<String, u32>,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            global_rpm: 1000,
            ip_rpm: 100,
            concurrent_limit: 50,
            endpoints: BTreeMap::from([("/api/extract_voice".into(), 10), ("/api/batch_synthesize".into(), 5)]),
        }
    }
}

/// A partial update from the admin API.
#[derive(utoipa::ToSchema, Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsUpdate {
    pub global_rpm: Option<u32>,
    pub ip_rpm: Option<u32>,
    pub concurrent_limit: Option<u32>,
    /// Endpoint limits to set (0 removes the limit).
    #[serde(default)]
    pub endpoints: BTreeMap<String, u32>,
}

struct Active {
    cfg: LimitsConfig,
    global: Option<DefaultDirectRateLimiter>,
    ip: Option<DefaultKeyedRateLimiter<IpAddr>>,
    endpoints: HashMap<String, DefaultDirectRateLimiter>,
}

fn quota(rpm: u32) -> Option<Quota> {
    NonZeroU32::new(rpm).map(Quota::per_minute)
}

impl Active {
    fn new(cfg: LimitsConfig) -> Self {
        Self {
            global: quota(cfg.global_rpm).map(RateLimiter::direct),
            ip: quota(cfg.ip_rpm).map(RateLimiter::keyed),
            endpoints: cfg
                .endpoints
                .iter()
                .filter_map(|(k, v)| quota(*v).map(|q| (k.clone(), RateLimiter::direct(q))))
                .collect(),
            cfg,
        }
    }
}

pub struct Limiter {
    active: RwLock<Arc<Active>>,
    inflight: Arc<AtomicU32>,
    /// Made once: creating a quanta clock queries CPUID and calibrates (~10 us),
    /// which was an eighth of the gateway's CPU per request.
    clock: DefaultClock,
}

/// Holds one unit of the concurrency limit; released on drop.
pub struct Permit {
    inflight: Arc<AtomicU32>,
}

impl Drop for Permit {
    fn drop(&mut self) {
        self.inflight.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A request refused by a limit.
#[derive(Debug, Clone, PartialEq)]
pub struct Rejected {
    pub limit: &'static str,
    pub retry_after: u64,
    pub message: String,
}

impl From<Rejected> for ApiError {
    fn from(r: Rejected) -> Self {
        ApiError::rate_limited("rate_limited", r.message, r.retry_after)
    }
}

impl Limiter {
    pub fn new(cfg: LimitsConfig) -> Self {
        Self {
            active: RwLock::new(Arc::new(Active::new(cfg))),
            inflight: Arc::new(AtomicU32::new(0)),
            clock: DefaultClock::default(),
        }
    }

    pub fn config(&self) -> LimitsConfig {
        self.active.read().cfg.clone()
    }

    /// Apply an update; buckets of changed limits start full.
    pub fn update(&self, u: LimitsUpdate) -> Result<LimitsConfig, ApiError> {
        let mut cfg = self.config();
        if let Some(v) = u.global_rpm {
            cfg.global_rpm = v;
        }
        if let Some(v) = u.ip_rpm {
            cfg.ip_rpm = v;
        }
        if let Some(v) = u.concurrent_limit {
            cfg.concurrent_limit = v;
        }
        for (path, rpm) in u.endpoints {
            if !path.starts_with('/') || path.len() > 200 {
                return Err(ApiError::validation(format!("endpoint `{path}` must be a path starting with `/`")));
            }
            if rpm == 0 {
                cfg.endpoints.remove(&path);
            } else {
                cfg.endpoints.insert(path, rpm);
            }
        }
        *self.active.write() = Arc::new(Active::new(cfg.clone()));
        Ok(cfg)
    }

    pub fn inflight(&self) -> u32 {
        self.inflight.load(Ordering::Acquire)
    }

    /// Decide, before any work starts, whether a request may run.
    pub fn check(&self, endpoint: &str, ip: IpAddr) -> Result<Permit, Rejected> {
        let a = self.active.read().clone();
        let clock = &self.clock;
        let reject = |limit: &'static str, wait: std::time::Duration, message: String| {
            metrics::counter!("vctts_limiter_rejections_total", "limit" => limit).increment(1);
            Rejected { limit, retry_after: wait.as_secs_f64().ceil().max(1.0) as u64, message }
        };
        if let Some(l) = a.endpoints.get(endpoint) {
            if let Err(nu) = l.check() {
                let rpm = a.cfg.endpoints.get(endpoint).copied().unwrap_or(0);
                return Err(reject(
                    "endpoint_rpm",
                    nu.wait_time_from(clock.now()),
                    format!("{endpoint} allows {rpm} requests per minute; try again later"),
                ));
            }
        }
        if let Some(l) = &a.ip {
            if let Err(nu) = l.check_key(&ip) {
                return Err(reject(
                    "ip_rpm",
                    nu.wait_time_from(clock.now()),
                    format!("this client ({ip}) exceeded {} requests per minute", a.cfg.ip_rpm),
                ));
            }
        }
        if let Some(l) = &a.global {
            if let Err(nu) = l.check() {
                return Err(reject(
                    "global_rpm",
                    nu.wait_time_from(clock.now()),
                    format!("the service is at its limit of {} requests per minute", a.cfg.global_rpm),
                ));
            }
        }
        let limit = a.cfg.concurrent_limit;
        let now = self.inflight.fetch_add(1, Ordering::AcqRel) + 1;
        let permit = Permit { inflight: self.inflight.clone() };
        if limit > 0 && now > limit {
            drop(permit);
            return Err(reject(
                "concurrent_limit",
                std::time::Duration::from_secs(1),
                format!("{limit} requests are already being processed; try again shortly"),
            ));
        }
        Ok(permit)
    }

    /// A concurrency permit without rate-limit checks (batch items wait for one).
    pub fn try_permit(&self) -> Option<Permit> {
        let limit = self.active.read().cfg.concurrent_limit;
        let now = self.inflight.fetch_add(1, Ordering::AcqRel) + 1;
        let permit = Permit { inflight: self.inflight.clone() };
        if limit > 0 && now > limit {
            return None;
        }
        Some(permit)
    }

    /// Forget idle per-IP buckets (call periodically).
    pub fn housekeeping(&self) {
        if let Some(ip) = &self.active.read().ip {
            ip.retain_recent();
            ip.shrink_to_fit();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn each_limit_rejects_with_its_name() {
        let l = Limiter::new(LimitsConfig {
            global_rpm: 6,
            ip_rpm: 3,
            concurrent_limit: 2,
            endpoints: BTreeMap::from([("/e".into(), 1)]),
        });
        assert!(l.check("/e", ip("1.1.1.1")).is_ok());
        assert_eq!(l.check("/e", ip("1.1.1.1")).err().unwrap().limit, "endpoint_rpm");
        let _a = l.check("/x", ip("1.1.1.1")).unwrap();
        let _b = l.check("/x", ip("1.1.1.1")).unwrap();
        // Third request from this IP (the endpoint-limited one counted too).
        assert_eq!(l.check("/x", ip("1.1.1.1")).err().unwrap().limit, "ip_rpm");
        // Concurrency: _a and _b are held.
        let r = l.check("/x", ip("2.2.2.2")).err().unwrap();
        assert_eq!(r.limit, "concurrent_limit");
        drop(_a);
        let _c = l.check("/x", ip("2.2.2.2")).unwrap();
        drop(_b);
        drop(_c);
        // Global: 5 admitted so far (requests refused by an earlier limit never reach it).
        let _d = l.check("/x", ip("3.3.3.3")).unwrap();
        let g = l.check("/x", ip("4.4.4.4")).err().unwrap();
        assert_eq!(g.limit, "global_rpm");
        assert!(g.retry_after >= 1);
    }

    #[test]
    fn runtime_update_applies() {
        let l =
            Limiter::new(LimitsConfig { global_rpm: 0, ip_rpm: 1, concurrent_limit: 0, endpoints: Default::default() });
        drop(l.check("/x", ip("1.1.1.1")).unwrap());
        assert!(l.check("/x", ip("1.1.1.1")).is_err());
        l.update(LimitsUpdate { ip_rpm: Some(0), ..Default::default() }).unwrap();
        for _ in 0..100 {
            drop(l.check("/x", ip("1.1.1.1")).unwrap());
        }
        assert!(l
            .update(LimitsUpdate { endpoints: BTreeMap::from([("nope".into(), 1)]), ..Default::default() })
            .is_err());
    }
}
