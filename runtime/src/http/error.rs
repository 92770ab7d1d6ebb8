//! The one shape every error response has, `{"error":{"code","message"}}`, and the
//! mapping from each domain error to its HTTP status. Internal errors are logged with
//! their cause and answered with a generic message.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use super::json::Json;
use crate::crypto::jwt::JwtError;
use crate::ratelimit::Limited;
use crate::tenancy::TenantError;

/// An error response.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    retry_after: Option<u64>,
}

/// The body of every error response.
#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// What went wrong.
#[derive(Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable machine-readable code, e.g. `not_found`.
    pub code: String,
    /// Human-readable explanation.
    pub message: String,
}

impl ApiError {
    /// An error with a status, code and message.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    /// 404.
    pub fn not_found(what: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("{what} not found"),
        )
    }

    /// 401.
    pub fn unauthenticated(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthenticated", message)
    }

    /// 403.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    /// 422.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_request", message)
    }

    /// 500, logging the cause.
    pub fn internal(cause: &dyn std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "internal error; see the server log",
        )
    }

    /// With a `Retry-After` of `secs` seconds.
    pub fn retry_after(mut self, secs: u64) -> Self {
        self.retry_after = Some(secs);
        self
    }

    /// The status.
    pub fn status(&self) -> StatusCode {
        self.status
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code.to_owned(),
                message: self.message,
            },
        };
        let mut response = (self.status, Json(body)).into_response();
        if let Some(secs) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

/// The JSON error body for a bare status (used to normalise framework responses).
pub fn for_status(status: StatusCode) -> Response {
    let code = match status {
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
        StatusCode::REQUEST_TIMEOUT => "timeout",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        s if s.is_server_error() => "internal",
        _ => "bad_request",
    };
    ApiError::new(
        status,
        code,
        status.canonical_reason().unwrap_or("error").to_lowercase(),
    )
    .into_response()
}

impl From<TenantError> for ApiError {
    fn from(e: TenantError) -> Self {
        let msg = e.to_string();
        match e {
            TenantError::NotFound => Self::not_found("tenant"),
            TenantError::Exists(_) => Self::new(StatusCode::CONFLICT, "tenant_exists", msg),
            TenantError::TooManyTenants(_) => Self::new(StatusCode::CONFLICT, "tenant_limit", msg),
            TenantError::Limit(_) => Self::new(StatusCode::CONFLICT, "plan_limit", msg),
            TenantError::UserExists => Self::new(StatusCode::CONFLICT, "user_exists", msg),
            TenantError::UserNotFound => Self::not_found("user"),
            TenantError::LastAdmin => Self::new(StatusCode::CONFLICT, "last_admin", msg),
            TenantError::UnknownPlan(..)
            | TenantError::BadIndustry(_)
            | TenantError::BadStatus(_)
            | TenantError::NameTooLong(_)
            | TenantError::WeakPassword => Self::invalid(msg),
            TenantError::Db(_) | TenantError::Internal(_) => Self::internal(&msg),
        }
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        Self::internal(&e)
    }
}

impl From<JwtError> for ApiError {
    fn from(e: JwtError) -> Self {
        match e {
            JwtError::NoKey | JwtError::Sign(_) => Self::internal(&e),
            refused => Self::unauthenticated(refused.to_string()),
        }
    }
}

impl From<Limited> for ApiError {
    fn from(l: Limited) -> Self {
        let secs = l.retry_after.as_secs() + u64::from(l.retry_after.subsec_nanos() > 0);
        Self {
            status: StatusCode::TOO_MANY_REQUESTS,
            code: "rate_limited",
            message: format!(
                "{} rate limit exceeded; retry in {secs} s",
                l.scope.as_str()
            ),
            retry_after: Some(secs.max(1)),
        }
    }
}
