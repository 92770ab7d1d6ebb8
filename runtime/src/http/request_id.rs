//! The request id, in one layer: a client's `X-Request-Id` is kept when it is short,
//! visible ASCII, and replaced by a generated UUID otherwise (or when there is none); the
//! response echoes it, and the audit log records it. The request's `Authorization` is
//! marked sensitive on the way, so that no log of its headers prints it.
//!
//! One hand-written layer, where tower-http's `SetRequestId`, `PropagateRequestId` and
//! `SetSensitiveRequestHeaders` and a `from_fn` for the validation were four: each
//! `from_fn` costs a boxed future and a clone of the whole stack below it per request
//! (bench/runtime, authenticated `GET /v1/tenant`: see the runtime README).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use axum::http::{HeaderName, HeaderValue, Request, Response, header};
use pin_project_lite::pin_project;
use tower::{Layer, Service};

/// The request id header: the client's when valid, else generated; echoed in the response
/// and recorded in the audit log.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The longest client `X-Request-Id` kept.
const MAX_REQUEST_ID: usize = 128;

/// Keeps, or sets, each request's id and echoes it ([`RequestIdService`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct RequestIdLayer;

impl<S> Layer<S> for RequestIdLayer {
    type Service = RequestIdService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RequestIdService(inner)
    }
}

/// The service of [`RequestIdLayer`].
#[derive(Debug, Clone)]
pub struct RequestIdService<S>(S);

impl<S, B, R> Service<Request<B>> for RequestIdService<S>
where
    S: Service<Request<B>, Response = Response<R>>,
{
    type Response = Response<R>;
    type Error = S::Error;
    type Future = Echo<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<B>) -> Self::Future {
        let headers = req.headers_mut();
        let id = match headers.get(&REQUEST_ID) {
            Some(id) if valid_request_id(id.as_bytes()) => id.clone(),
            _ => {
                let id = generated();
                headers.insert(REQUEST_ID, id.clone());
                id
            }
        };
        if let Some(credential) = headers.get_mut(header::AUTHORIZATION) {
            credential.set_sensitive(true);
        }
        Echo {
            inner: self.0.call(req),
            id: Some(id),
        }
    }
}

pin_project! {
    /// The inner service's response, with the request id unless the handler set one.
    pub struct Echo<F> {
        #[pin]
        inner: F,
        id: Option<HeaderValue>,
    }
}

impl<F, R, E> Future for Echo<F>
where
    F: Future<Output = Result<Response<R>, E>>,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let mut response = ready!(this.inner.poll(cx))?;
        if let Some(id) = this.id.take() {
            response.headers_mut().entry(REQUEST_ID).or_insert(id);
        }
        Poll::Ready(Ok(response))
    }
}

/// A new random id: a version 4 UUID, hyphenated.
fn generated() -> HeaderValue {
    let mut text = uuid::Uuid::encode_buffer();
    let text = uuid::Uuid::new_v4().hyphenated().encode_lower(&mut text);
    HeaderValue::from_str(text).expect("a UUID is a valid header value")
}

/// A client's id is kept only when it is 1 to [`MAX_REQUEST_ID`] bytes of visible ASCII:
/// the id is stored in the audit log and written to logs, and a client must not put
/// 6,000 characters or a line break there.
fn valid_request_id(id: &[u8]) -> bool {
    !id.is_empty() && id.len() <= MAX_REQUEST_ID && id.iter().all(u8::is_ascii_graphic)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::convert::Infallible;

    #[test]
    fn request_ids_are_short_visible_ascii() {
        assert!(valid_request_id(b"0b6f7c1e-4d7a-4a8e-9c55-3f1f6f1d2b9a"));
        assert!(valid_request_id(&[b'a'; 128]));
        assert!(!valid_request_id(&[b'a'; 129]));
        assert!(!valid_request_id(b""));
        for bad in [&b"a b"[..], b"a\r\nb", b"a\0b", "é".as_bytes()] {
            assert!(!valid_request_id(bad), "{bad:?}");
        }
    }

    /// What the inner service saw: the request's id and whether its credential was
    /// marked sensitive; and the response, echoed.
    async fn through(id: Option<&str>) -> (String, bool, String) {
        let seen = std::sync::Arc::new(std::sync::Mutex::new(None));
        let inner = tower::service_fn({
            let seen = seen.clone();
            move |req: Request<()>| {
                let id = req.headers()[&REQUEST_ID].to_str().unwrap().to_owned();
                let sensitive = req.headers()[header::AUTHORIZATION].is_sensitive();
                *seen.lock().unwrap() = Some((id, sensitive));
                std::future::ready(Ok::<_, Infallible>(Response::new(())))
            }
        });
        let mut req = Request::builder().header(header::AUTHORIZATION, "Bearer secret");
        if let Some(id) = id {
            req = req.header(&REQUEST_ID, id);
        }
        let response = RequestIdLayer
            .layer(inner)
            .call(req.body(()).unwrap())
            .await
            .unwrap();
        let echoed = response.headers()[&REQUEST_ID].to_str().unwrap().to_owned();
        let (id, sensitive) = seen.lock().unwrap().take().unwrap();
        (id, sensitive, echoed)
    }

    #[tokio::test]
    async fn a_valid_id_is_kept_and_echoed_and_the_credential_is_sensitive() {
        let (id, sensitive, echoed) = through(Some("trace-42")).await;
        assert_eq!((id.as_str(), echoed.as_str()), ("trace-42", "trace-42"));
        assert!(sensitive);
    }

    #[tokio::test]
    async fn a_missing_or_invalid_id_is_replaced_by_a_uuid_which_is_echoed() {
        for sent in [None, Some("trace 1")] {
            let (id, _, echoed) = through(sent).await;
            assert_eq!(id, echoed);
            assert!(uuid::Uuid::parse_str(&id).is_ok(), "{id}");
        }
    }
}
