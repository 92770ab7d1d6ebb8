//! The request pipeline around every route: per-IP rate limit (and the count of every
//! limit's rejections, for this and the extractors' per-user and per-tenant limits),
//! request metrics by route template, the audit entry of each state-changing request, and
//! normalisation of framework-made error responses (404, 405, 413, timeouts) into the
//! API's error shape.

use std::convert::Infallible;
use std::future::Future;
use std::marker::PhantomData;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, ready};
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::http::{Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::future::Either;
use tower::{Layer, Service};

use super::deadline;
use super::error::{self, ApiError};
use super::extract::client_ip;
use super::request_id::REQUEST_ID;
use crate::audit::AuditEntry;
use crate::ratelimit::Scope;
use crate::state::AppState;

/// Routes exempt from the per-IP limit: probes must always get through.
const UNLIMITED: [&str; 2] = ["/health", "/ready"];

/// A request's audit entry as it is being filled in, and whether the handler already
/// recorded it with its change.
#[derive(Default)]
struct AuditFields {
    entry: AuditEntry,
    recorded: bool,
}

/// Where handlers and extractors note the actor, tenant and target of a request that
/// will be audited.
#[derive(Clone)]
pub struct AuditSlot(Arc<Mutex<AuditFields>>);

impl AuditSlot {
    /// The entry of `req`, from an anonymous actor until one is noted: its request id,
    /// its method and route, and its path as the target.
    fn for_request(req: &Request) -> Self {
        let request_id = req
            .headers()
            .get(&REQUEST_ID)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let entry = AuditEntry {
            request_id,
            actor: "anonymous".to_owned(),
            tenant_id: None,
            action: format!("{} {}", req.method(), route_of(req)),
            target: req.uri().path().to_owned(),
            status: 0,
        };
        Self(Arc::new(Mutex::new(AuditFields {
            entry,
            recorded: false,
        })))
    }

    /// Notes who is acting, for which tenant.
    pub fn set_actor(&self, actor: &str, tenant: Option<&str>) {
        let entry = &mut self.fields().entry;
        actor.clone_into(&mut entry.actor);
        entry.tenant_id = tenant.map(str::to_owned);
    }

    /// Notes the affected resource, when it is not the request path (e.g. a new id).
    pub fn set_target(&self, target: String) {
        self.fields().entry.target = target;
    }

    /// The entry as it stands, answered with `status`: for a handler that records it in
    /// the transaction of its change, then says so ([`Self::recorded`]).
    pub fn entry(&self, status: StatusCode) -> AuditEntry {
        AuditEntry {
            status: status.as_u16(),
            ..self.fields().entry.clone()
        }
    }

    /// The handler recorded the entry: the request adds none.
    pub fn recorded(&self) {
        self.fields().recorded = true;
    }

    fn take(&self) -> AuditFields {
        std::mem::take(&mut *self.fields())
    }

    /// The fields; a handler that panicked while noting them leaves them as they were.
    fn fields(&self) -> MutexGuard<'_, AuditFields> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The route label of a request: its matched path, or `unmatched` when no route matched.
fn route_label(route: Option<&MatchedPath>) -> &str {
    route.map_or("unmatched", MatchedPath::as_str)
}

fn route_of(req: &Request) -> &str {
    route_label(req.extensions().get::<MatchedPath>())
}

/// Takes one request from each key's budget under its scope; a refusal is counted in
/// `framework_rate_limit_rejections_total{scope}` and becomes a 429 with `Retry-After`.
pub async fn limit(state: &AppState, keys: &[(Scope, &str)]) -> Result<(), ApiError> {
    state.limiter.check(keys).await.map_err(|limited| {
        state
            .metrics
            .rate_limit_rejections
            .with_label_values(&[limited.scope.as_str()])
            .inc();
        ApiError::from(limited)
    })
}

/// One of this module's layers, holding the state: `K` is [`Edge`] or [`Observe`]. Each
/// is a service of its own rather than `from_fn`, which would cost every request a
/// clone of the service below, a boxed `Next` (and the inner future it boxes) and a
/// boxed future.
#[derive(Clone)]
pub struct StateLayer<K>(AppState, PhantomData<K>);

impl<K> StateLayer<K> {
    /// The layer, with the state holding the limiter, the metrics and the audit log.
    pub fn new(state: AppState) -> Self {
        Self(state, PhantomData)
    }
}

impl<K, S> Layer<S> for StateLayer<K> {
    type Service = Layered<K, S>;

    fn layer(&self, inner: S) -> Layered<K, S> {
        Layered {
            inner,
            state: self.0.clone(),
            kind: PhantomData,
        }
    }
}

/// A service under a [`StateLayer`].
#[derive(Clone)]
pub struct Layered<K, S> {
    inner: S,
    state: AppState,
    kind: PhantomData<K>,
}

/// Around the router: the per-IP limit, the deadline and the error shape.
#[derive(Clone)]
pub enum Edge {}

impl<S> Service<Request> for Layered<Edge, S>
where
    S: Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request) -> Self::Future {
        // The service found ready answers this request; its clone waits for the next.
        let ready = self.inner.clone();
        let inner = std::mem::replace(&mut self.inner, ready);
        let state = self.state.clone();
        Box::pin(async move { Ok(edge(&state, req, inner).await) })
    }
}

/// A client IP over its limit is refused (429 with `Retry-After`); a request not
/// answered within `REQUEST_TIMEOUT_SECONDS` of its arrival is dropped and answered 408
/// (the limit's own Redis round trip is bounded by the limiter); error responses made
/// outside the handlers (timeout, no route, wrong method, body too large, panic) get
/// the API's JSON error shape.
async fn edge<S>(state: &AppState, req: Request, mut router: S) -> Response
where
    S: Service<Request, Response = Response, Error = Infallible>,
{
    let deadline = tokio::time::Instant::now() + state.settings.request_timeout;
    let req = if UNLIMITED.contains(&req.uri().path()) {
        req
    } else {
        let (parts, body) = req.into_parts();
        if let Some(ip) = client_ip(&parts, &state.settings.security.trusted_proxies)
            && let Err(refused) = limit(state, &[(Scope::Ip, &ip_key(ip))]).await
        {
            return refused.into_response();
        }
        Request::from_parts(parts, body)
    };
    let answer = std::pin::pin!(router.call(req));
    let response = match deadline::within(deadline, answer).await {
        Some(Ok(response)) => response,
        None => StatusCode::REQUEST_TIMEOUT.into_response(),
    };
    normalize_errors(response)
}

/// `ip` as the per-IP limit's key, its usual text: an IPv4 address (the common case)
/// is written digit by digit, where `Display` costs each request about a thousand
/// instructions of formatting machinery.
fn ip_key(ip: IpAddr) -> String {
    let IpAddr::V4(v4) = ip else {
        return ip.to_string();
    };
    let mut key = String::with_capacity(15);
    for (i, octet) in v4.octets().into_iter().enumerate() {
        if i > 0 {
            key.push('.');
        }
        if octet >= 100 {
            key.push(char::from(b'0' + octet / 100));
        }
        if octet >= 10 {
            key.push(char::from(b'0' + octet / 10 % 10));
        }
        key.push(char::from(b'0' + octet % 10));
    }
    key
}

/// On each route: observes `framework_request_duration_seconds{method,route,status}`,
/// and records every state-changing request in the audit log, whatever its outcome.
/// Only a state-changing request boxes its future (the audit append after the answer).
#[derive(Clone)]
pub enum Observe {}

/// A state-changing request's answer, with its audit entry appended.
type Audited = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

impl<S> Service<Request> for Layered<Observe, S>
where
    S: Service<Request, Response = Response, Error = Infallible>,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Timed<Either<S::Future, Audited>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request) -> Self::Future {
        let start = Instant::now();
        let method = req.method().clone();
        let route = req.extensions().get::<MatchedPath>().cloned();
        let answer = if matches!(method, Method::GET | Method::HEAD | Method::OPTIONS) {
            Either::Left(self.inner.call(req))
        } else {
            let slot = AuditSlot::for_request(&req);
            req.extensions_mut().insert(slot.clone());
            let answer = self.inner.call(req);
            Either::Right(Box::pin(audited(self.state.clone(), slot, answer)) as Audited)
        };
        Timed {
            answer,
            start,
            method,
            route,
            state: self.state.clone(),
        }
    }
}

pin_project_lite::pin_project! {
    /// A route's answer, observed in `framework_request_duration_seconds` when ready.
    pub struct Timed<F> {
        #[pin]
        answer: F,
        start: Instant,
        method: Method,
        route: Option<MatchedPath>,
        state: AppState,
    }
}

impl<F: Future<Output = Result<Response, Infallible>>> Future for Timed<F> {
    type Output = Result<Response, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let Ok(response) = ready!(this.answer.poll(cx));
        let route = route_label(this.route.as_ref());
        this.state
            .metrics
            .request_duration
            .with_label_values(&[this.method.as_str(), route, response.status().as_str()])
            .observe(this.start.elapsed().as_secs_f64());
        Poll::Ready(Ok(response))
    }
}

/// Waits for a state-changing request's answer and appends its audit entry, unless the
/// handler recorded it with its change.
async fn audited(
    state: AppState,
    slot: AuditSlot,
    answer: impl Future<Output = Result<Response, Infallible>>,
) -> Result<Response, Infallible> {
    let Ok(response) = answer.await;
    let AuditFields {
        mut entry,
        recorded,
    } = slot.take();
    if !recorded {
        entry.status = response.status().as_u16();
        if let Err(e) = state.audit.append(&entry).await {
            state.metrics.audit_write_failures.inc();
            tracing::error!(error = %e, action = %entry.action, "audit entry not written");
        }
    }
    Ok(response)
}

/// A client or server error without a JSON body, in the API's error shape (keeping
/// `Allow` and `Retry-After`).
fn normalize_errors(response: Response) -> Response {
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if (status.is_client_error() || status.is_server_error()) && !is_json {
        let mut fixed = error::for_status(status);
        for name in [header::ALLOW, header::RETRY_AFTER] {
            if let Some(v) = response.headers().get(&name) {
                fixed.headers_mut().insert(name, v.clone());
            }
        }
        return fixed;
    }
    response
}

#[cfg(test)]
mod tests {
    use std::net::IpAddr;

    use super::ip_key;

    #[test]
    fn an_ip_key_is_the_address_as_displayed() {
        for ip in [
            "0.0.0.0",
            "127.0.0.1",
            "10.0.100.9",
            "192.168.10.99",
            "255.255.255.255",
            "2001:db8::1",
            "::ffff:10.0.0.1",
        ] {
            let ip: IpAddr = ip.parse().expect("an address");
            assert_eq!(ip_key(ip), ip.to_string());
        }
    }
}
