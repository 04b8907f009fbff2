//! Admission of a signed-in request: the licence's "API processing cores" (a queue; more than
//! 20 waiting are declined with 429), the requests-per-minute pacing, the latency model and the
//! injected faults.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::State;
use super::sign_in::{Caller, login_limit, not_logged_in};
use crate::sessions::Denied;

impl State {
    /// Draws the fault (if any) for the next data request.
    fn draw_fault(&self) -> Option<Fault> {
        let f = &self.config.faults;
        if !f.any() {
            return None;
        }
        let n = self.faults_drawn.fetch_add(1, Ordering::Relaxed);
        let x = (crate::data::mix(
            self.config.seed ^ 0xFA17_FA17 ^ n.wrapping_mul(0x2545_F491_4F6C_DD1D),
        ) >> 11) as f64
            / (1u64 << 53) as f64;
        let mut edge = 0.0;
        for (rate, fault) in [
            (f.rate_429, Fault::TooMany),
            (f.rate_5xx, Fault::Unavailable),
            (f.rate_drop, Fault::Drop),
            (f.rate_expire, Fault::Expire),
        ] {
            edge += rate;
            if x < edge {
                self.faults_injected.fetch_add(1, Ordering::Relaxed);
                return Some(fault);
            }
        }
        None
    }

    /// The documented requests-per-minute delay: once the past minute holds half of the limit,
    /// each request waits (time left in that minute) / (limit − requests in it).
    fn rpm_delay(&self) -> Duration {
        let limit = self.config.requests_per_minute as usize;
        if limit == 0 {
            return Duration::ZERO;
        }
        let now = Instant::now();
        let Ok(mut recent) = self.recent.lock() else {
            return Duration::ZERO;
        };
        while recent
            .front()
            .is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(60))
        {
            recent.pop_front();
        }
        let n = recent.len();
        let delay = if n * 2 >= limit {
            let first = *recent.front().unwrap_or(&now);
            let left = (first + Duration::from_secs(60)).saturating_duration_since(now);
            left / (limit.saturating_sub(n).max(1) as u32)
        } else {
            Duration::ZERO
        };
        recent.push_back(now + delay);
        delay
    }
}

#[derive(Debug, Clone, Copy)]
pub(super) enum Fault {
    TooMany,
    Unavailable,
    Drop,
    Expire,
}

/// Holds one of the licence's "API processing cores" while a request runs.
pub(super) enum Core<'a> {
    Unlimited,
    Held(#[allow(dead_code)] tokio::sync::SemaphorePermit<'a>),
}

/// Queues for an API processing core; more than 20 waiting → declined.
pub(super) async fn enter_queue(state: &State) -> Result<Core<'_>, Response> {
    let Some(cores) = &state.cores else {
        return Ok(Core::Unlimited);
    };
    if let Ok(p) = cores.try_acquire() {
        return Ok(Core::Held(p));
    }
    if state.queued.fetch_add(1, Ordering::SeqCst) >= 20 {
        state.queued.fetch_sub(1, Ordering::SeqCst);
        state.declined.fetch_add(1, Ordering::Relaxed);
        return Err(iis_429());
    }
    let permit = cores.acquire().await;
    state.queued.fetch_sub(1, Ordering::SeqCst);
    permit
        .map(Core::Held)
        .map_err(|_| StatusCode::SERVICE_UNAVAILABLE.into_response())
}

/// The body IIS substitutes for a 429 it does not know.
fn iis_429() -> Response {
    (
        StatusCode::TOO_MANY_REQUESTS,
        [(header::CONTENT_TYPE, "text/plain")],
        "The custom error module does not recognize this error.",
    )
        .into_response()
}

/// After sign-in: the licence's request queue and per-minute pacing, the latency model and the
/// injected faults. Returns the held core and a fault to apply to the response (a drop).
pub(super) async fn admit<'a>(
    state: &'a State,
    caller: Option<&Caller>,
) -> Result<(Core<'a>, Option<Fault>), Response> {
    let core = enter_queue(state).await?;
    let wait = state.rpm_delay() + state.config.latency;
    if !wait.is_zero() {
        tokio::time::sleep(wait).await;
    }
    let fault = state.draw_fault();
    match fault {
        Some(Fault::TooMany) => Err(iis_429()),
        Some(Fault::Unavailable) => Err((
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::CONTENT_TYPE, "text/html")],
            "<html><head><title>Service Unavailable</title></head><body><h1>Service Unavailable</h1><p>HTTP Error 503. The service is unavailable.</p></body></html>",
        )
            .into_response()),
        Some(Fault::Expire) => {
            let mut s = state.sessions();
            match caller {
                Some(Caller::Cookie(id)) => {
                    s.close(id);
                }
                Some(Caller::Bearer(t)) => s.expire_token(t),
                None => {}
            }
            Err(not_logged_in())
        }
        Some(Fault::Drop) | None => Ok((core, fault)),
    }
}

/// A contract API request's caller (401 or the login limit otherwise), then its turn in the
/// licence's queue: the held core and a fault to apply to the response.
pub(super) async fn signed_in_and_admitted<'a>(
    state: &'a State,
    headers: &HeaderMap,
) -> Result<(Core<'a>, Option<Fault>), Response> {
    let caller = match state.caller(headers) {
        Ok(c) => c,
        Err(Denied::NotSignedIn) => return Err(not_logged_in()),
        Err(Denied::LoginLimit) => return Err(login_limit()),
    };
    admit(state, Some(&caller)).await
}

/// The response as sent: cut short when the drawn fault is a dropped connection.
pub(super) async fn with_fault(r: Response, fault: Option<Fault>) -> Response {
    if matches!(fault, Some(Fault::Drop)) {
        dropped(r).await
    } else {
        r
    }
}

/// A response whose connection drops halfway through the body.
pub(super) async fn dropped(r: Response) -> Response {
    let (parts, body) = r.into_parts();
    let full = match axum::body::to_bytes(body, usize::MAX).await {
        Ok(b) => b,
        Err(_) => Bytes::new(),
    };
    let half = full.slice(..full.len() / 2);
    let stream = futures::stream::iter(vec![
        Ok::<Bytes, std::io::Error>(half),
        Err(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "simulated dropped connection",
        )),
    ]);
    let mut parts = parts;
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, axum::body::Body::from_stream(stream))
}
