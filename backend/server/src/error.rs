//! Errors of the server layer.
//!
//! * [`ServerError`]: why `bop serve` could not start or stopped.
//! * [`ApiError`]: every failure of an `/api/` request, rendered as
//!   DESIGN.md's `{ "error": "<code>", "detail": "<sentence>" }` with the
//!   right status. Internal failures are logged in full and shown to the
//!   client as a generic sentence.
//!
//! Responses that never pass through a handler (405 from the router, 413
//! from the body limit, 408 from the timeout) are given the same JSON shape
//! by [`json_error_bodies`], so an API client never sees an HTML or empty
//! error body.

use std::io;
use std::net::SocketAddr;

use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde_json::json;

use bop_store::StoreError;
use bop_tracker::TrackError;

/// Why `bop serve` could not start, or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The tokio runtime could not be built.
    #[error("cannot start the async runtime: {0}")]
    Runtime(#[source] io::Error),
    /// The address could not be bound (in use, not local, no permission).
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// The OS error.
        source: io::Error,
    },
    /// The store could not be opened.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The server loop failed.
    #[error("the server stopped: {0}")]
    Serve(#[source] io::Error),
}

/// A failed API request. Each variant documents its status and code.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400 `invalid_id`: a run id with characters that are not allowed.
    #[error("{0}")]
    InvalidId(String),
    /// 404 `not_found`: no such run, rerun or route.
    #[error("{0}")]
    NotFound(String),
    /// 400 `bad_query`: a query parameter could not be parsed or is out of range.
    #[error("{0}")]
    BadQuery(String),
    /// 400 `unknown_format`: an export format that is not json, dot, shiviz or perfetto.
    #[error("{0}")]
    UnknownFormat(String),
    /// 400 `malformed_json`: the body is not JSON.
    #[error("{0}")]
    MalformedJson(String),
    /// 422 `invalid_body`: JSON of the wrong shape (unknown field, wrong type).
    #[error("{0}")]
    InvalidBody(String),
    /// 400 `invalid_fault_plan`: a well-shaped fault plan that cannot be
    /// run (no faults, a bad errno or delay, a process or channel the
    /// parent run does not have).
    #[error("{0}")]
    InvalidFaultPlan(String),
    /// 415 `unsupported_media_type`: a body that is not `application/json`.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// 403 `forbidden_host`: the Host header is not this server (DNS rebinding).
    #[error("{0}")]
    ForbiddenHost(String),
    /// 403 `cross_origin`: a state-changing request from another origin.
    #[error("{0}")]
    CrossOrigin(String),
    /// 409 `conflict`: the run is busy (a rerun is writing it) or exists.
    #[error("{0}")]
    Conflict(String),
    /// 429 `too_many_reruns`: the rerun queue is full; sent with `Retry-After`.
    #[error("{detail}")]
    TooManyReruns {
        /// The sentence to show.
        detail: String,
        /// Seconds after which a retry may find room.
        retry_after_s: u64,
    },
    /// 400 `invalid_search`: a search request out of bounds (budget,
    /// fault kinds, largest fault set).
    #[error("{0}")]
    InvalidSearch(String),
    /// 429 `too_many_searches`: the search queue is full; sent with `Retry-After`.
    #[error("{detail}")]
    TooManySearches {
        /// The sentence to show.
        detail: String,
        /// Seconds after which a retry may find room.
        retry_after_s: u64,
    },
    /// 500 `corrupt_run`: a file of the run cannot be parsed.
    #[error("{0}")]
    CorruptRun(String),
    /// 500 `internal`: an I/O or other unexpected failure; logged, not shown.
    #[error("{0}")]
    Internal(String),
    /// Any other status produced outside a handler (405, 408, 413, ...).
    #[error("{detail}")]
    Status {
        /// The status to answer with.
        status: StatusCode,
        /// The sentence to show.
        detail: String,
    },
}

impl ApiError {
    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::InvalidId(_)
            | ApiError::BadQuery(_)
            | ApiError::UnknownFormat(_)
            | ApiError::MalformedJson(_)
            | ApiError::InvalidFaultPlan(_)
            | ApiError::InvalidSearch(_) => StatusCode::BAD_REQUEST,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::InvalidBody(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::ForbiddenHost(_) | ApiError::CrossOrigin(_) => StatusCode::FORBIDDEN,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::TooManyReruns { .. } | ApiError::TooManySearches { .. } => {
                StatusCode::TOO_MANY_REQUESTS
            }
            ApiError::CorruptRun(_) | ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            ApiError::Status { status, .. } => *status,
        }
    }

    /// The short machine-readable code (`error` field).
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::InvalidId(_) => "invalid_id",
            ApiError::NotFound(_) => "not_found",
            ApiError::BadQuery(_) => "bad_query",
            ApiError::UnknownFormat(_) => "unknown_format",
            ApiError::MalformedJson(_) => "malformed_json",
            ApiError::InvalidBody(_) => "invalid_body",
            ApiError::InvalidFaultPlan(_) => "invalid_fault_plan",
            ApiError::UnsupportedMediaType(_) => "unsupported_media_type",
            ApiError::ForbiddenHost(_) => "forbidden_host",
            ApiError::CrossOrigin(_) => "cross_origin",
            ApiError::Conflict(_) => "conflict",
            ApiError::TooManyReruns { .. } => "too_many_reruns",
            ApiError::InvalidSearch(_) => "invalid_search",
            ApiError::TooManySearches { .. } => "too_many_searches",
            ApiError::CorruptRun(_) => "corrupt_run",
            ApiError::Internal(_) => "internal",
            ApiError::Status { status, .. } => status_code_name(*status),
        }
    }

    /// The sentence shown to the client (`detail` field).
    pub fn detail(&self) -> String {
        match self {
            ApiError::Internal(_) => "internal error; the server log has the details".to_string(),
            other => other.to_string(),
        }
    }

    /// An error for a bare status, with a generic sentence.
    pub fn from_status(status: StatusCode) -> ApiError {
        let detail = match status {
            StatusCode::NOT_FOUND => "no such API route".to_string(),
            StatusCode::METHOD_NOT_ALLOWED => {
                "this method is not allowed on this route".to_string()
            }
            StatusCode::REQUEST_TIMEOUT => {
                "the request took too long and was abandoned".to_string()
            }
            StatusCode::PAYLOAD_TOO_LARGE => {
                format!("the body is larger than {} bytes", super::BODY_LIMIT)
            }
            other => other.canonical_reason().unwrap_or("error").to_lowercase(),
        };
        ApiError::Status { status, detail }
    }
}

fn status_code_name(status: StatusCode) -> &'static str {
    match status {
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::REQUEST_TIMEOUT => "timeout",
        StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
        StatusCode::BAD_REQUEST => "bad_request",
        StatusCode::SERVICE_UNAVAILABLE => "service_unavailable",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        s if s.is_server_error() => "internal",
        _ => "bad_request",
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            tracing::error!(code = self.code(), "{self}");
        }
        let mut response = (
            status,
            Json(json!({ "error": self.code(), "detail": self.detail() })),
        )
            .into_response();
        if let ApiError::TooManyReruns { retry_after_s, .. }
        | ApiError::TooManySearches { retry_after_s, .. } = self
        {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_s));
        }
        response
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> ApiError {
        match e {
            StoreError::InvalidId(_) => ApiError::InvalidId(e.to_string()),
            StoreError::NotFound { ref id, .. } => {
                ApiError::NotFound(format!("no run '{id}' in this store"))
            }
            StoreError::AlreadyExists { .. } | StoreError::Busy { .. } => {
                ApiError::Conflict(e.to_string())
            }
            StoreError::NoRecord { .. } => ApiError::NotFound(e.to_string()),
            StoreError::Corrupt { .. } | StoreError::CorruptRecord { .. } => {
                ApiError::CorruptRun(e.to_string())
            }
            StoreError::Io { .. } => ApiError::Internal(e.to_string()),
        }
    }
}

impl From<TrackError> for ApiError {
    fn from(e: TrackError) -> ApiError {
        match e {
            TrackError::UnknownFormat(_) => ApiError::UnknownFormat(e.to_string()),
        }
    }
}

impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> ApiError {
        match r {
            JsonRejection::MissingJsonContentType(_) => ApiError::UnsupportedMediaType(
                "the body must be sent with Content-Type: application/json".into(),
            ),
            JsonRejection::JsonSyntaxError(e) => {
                ApiError::MalformedJson(format!("the body is not valid JSON: {}", e.body_text()))
            }
            JsonRejection::JsonDataError(e) => ApiError::InvalidBody(e.body_text()),
            other if other.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                ApiError::from_status(StatusCode::PAYLOAD_TOO_LARGE)
            }
            other => ApiError::Status {
                status: other.status(),
                detail: other.body_text(),
            },
        }
    }
}

impl From<QueryRejection> for ApiError {
    fn from(r: QueryRejection) -> ApiError {
        ApiError::BadQuery(r.body_text())
    }
}

impl From<PathRejection> for ApiError {
    fn from(r: PathRejection) -> ApiError {
        ApiError::Status {
            status: r.status(),
            detail: r.body_text(),
        }
    }
}

/// The `Json` extractor with rejections in the API's error shape.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct ApiJson<T>(pub(crate) T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let Json(value) = Json::<T>::from_request(req, state).await?;
        Ok(ApiJson(value))
    }
}

/// Middleware: on `/api/` paths, replaces an error response whose body is
/// not JSON (produced by the router or a tower layer) by the API's error
/// shape with the same status.
pub(crate) async fn json_error_bodies(req: Request, next: Next) -> Response {
    let api = req.uri().path().starts_with("/api/") || req.uri().path() == "/api";
    let response = next.run(req).await;
    let status = response.status();
    if !api || !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v == HeaderValue::from_static("application/json"));
    if is_json {
        response
    } else {
        ApiError::from_status(status).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_errors_do_not_leak_details() {
        let e = ApiError::Internal("cannot read /secret/path: EIO".into());
        assert_eq!(e.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(!e.detail().contains("/secret"));
    }

    #[test]
    fn store_errors_map_to_statuses() {
        let e: ApiError = bop_store::validate_id("..").unwrap_err().into();
        assert_eq!(
            (e.status(), e.code()),
            (StatusCode::BAD_REQUEST, "invalid_id")
        );
        let e: ApiError = StoreError::NotFound {
            id: "x".into(),
            root: "/r".into(),
        }
        .into();
        assert_eq!((e.status(), e.code()), (StatusCode::NOT_FOUND, "not_found"));
        assert!(
            !e.detail().contains("/r"),
            "store root leaked: {}",
            e.detail()
        );
    }
}
