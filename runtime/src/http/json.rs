//! The API's JSON answers: serialized into a `Vec` sized for a typical answer, where
//! axum's `Json` writes each token through `io::Write` into a `BytesMut` that starts at
//! 128 bytes and grows. A value that cannot be serialized is a bare 500, logged, which
//! the error layer ([`super::middleware::Edge`]) gives the API's error shape.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// Room for most answers (a tenant, a user, a page of keys) without growing.
const CAPACITY: usize = 512;

/// A JSON answer of `T`.
pub struct Json<T>(pub T);

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        let mut body = Vec::with_capacity(CAPACITY);
        match serde_json::to_writer(&mut body, &self.0) {
            Ok(()) => (
                [(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                )],
                body,
            )
                .into_response(),
            Err(e) => {
                tracing::error!(error = %e, "cannot serialize the answer");
                StatusCode::INTERNAL_SERVER_ERROR.into_response()
            }
        }
    }
}
