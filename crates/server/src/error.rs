//! The API's errors: a status and a JSON body `{"error": code, "message":
//! text, "field": path?}` that says what was wrong with the request and
//! never what went wrong inside the server (that goes to the log).

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// An error answer.
#[derive(Debug)]
pub enum ApiError {
    /// 400: the request is malformed; `field` names where, if known.
    BadRequest {
        /// What is wrong, for the caller.
        message: String,
        /// The JSON path of the offending field.
        field: Option<String>,
    },
    /// 401: no session, or one that is expired, revoked or forged.
    Unauthorized(&'static str),
    /// 403: signed in, but not allowed this.
    Forbidden(String),
    /// 404: no such thing (or not visible to this user).
    NotFound(String),
    /// 409: the request conflicts with what exists (e.g. a taken name).
    Conflict(String),
    /// 413: the body is too large.
    TooLarge,
    /// 415: the body is not JSON.
    UnsupportedMediaType,
    /// 429: failed sign-ins from this address: wait `seconds` (sent as
    /// `Retry-After`); `reason` says which limit.
    SlowDown {
        /// How long to wait.
        seconds: u64,
        /// Why, for the caller.
        reason: &'static str,
    },
    /// 403 `password_change_required`: an administrator reset the
    /// password; the user must choose her own (`POST /api/v1/password`)
    /// before anything else.
    PasswordChangeRequired,
    /// 500: the server failed; the cause is logged, not sent.
    Internal(anyhow::Error),
}

impl ApiError {
    /// A 400 about `field`.
    pub fn field(field: impl Into<String>, message: impl Into<String>) -> ApiError {
        ApiError::BadRequest {
            message: message.into(),
            field: Some(field.into()),
        }
    }

    /// A 400 about the whole request.
    pub fn bad(message: impl Into<String>) -> ApiError {
        ApiError::BadRequest {
            message: message.into(),
            field: None,
        }
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        ApiError::Internal(e.into())
    }
}

impl From<anyhow::Error> for ApiError {
    fn from(e: anyhow::Error) -> Self {
        ApiError::Internal(e)
    }
}

impl From<serde_json::Error> for ApiError {
    fn from(e: serde_json::Error) -> Self {
        ApiError::Internal(e.into())
    }
}

/// The reason an error answer gave, kept in the response's extensions for
/// the audit log's middleware (which sees the answer, not its body).
#[derive(Clone, Debug)]
pub struct ErrorReason(pub String);

#[derive(Serialize)]
struct Body<'a> {
    error: &'a str,
    message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<String>,
}

impl IntoResponse for ApiError {
    /// The answer, with its reason also in the response's extensions (for
    /// the audit log).
    fn into_response(self) -> Response {
        let (status, code, message, field) = match self {
            ApiError::BadRequest { message, field } => {
                (StatusCode::BAD_REQUEST, "bad_request", message, field)
            }
            ApiError::Unauthorized(why) => (
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                why.to_string(),
                None,
            ),
            ApiError::Forbidden(why) => (StatusCode::FORBIDDEN, "forbidden", why, None),
            ApiError::NotFound(what) => (StatusCode::NOT_FOUND, "not_found", what, None),
            ApiError::Conflict(what) => (StatusCode::CONFLICT, "conflict", what, None),
            ApiError::TooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_large",
                "the request body is too large".to_string(),
                None,
            ),
            ApiError::UnsupportedMediaType => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send the body as JSON (Content-Type: application/json)".to_string(),
                None,
            ),
            ApiError::SlowDown { seconds, reason } => {
                let message = format!("{reason}: try again in {seconds} s");
                let mut response = (
                    StatusCode::TOO_MANY_REQUESTS,
                    Json(Body {
                        error: "too_many_requests",
                        message: message.clone(),
                        field: None,
                    }),
                )
                    .into_response();
                if let Ok(value) = seconds.to_string().parse() {
                    response.headers_mut().insert("retry-after", value);
                }
                response.extensions_mut().insert(ErrorReason(message));
                return response;
            }
            ApiError::PasswordChangeRequired => (
                StatusCode::FORBIDDEN,
                "password_change_required",
                "an administrator reset your password: choose a new one first \
                 (POST /api/v1/password)"
                    .to_string(),
                None,
            ),
            ApiError::Internal(error) => {
                tracing::error!(error = format!("{error:#}"), "internal error");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "the server failed; the request may be retried".to_string(),
                    None,
                )
            }
        };
        let mut response = (
            status,
            Json(Body {
                error: code,
                message: message.clone(),
                field,
            }),
        )
            .into_response();
        response.extensions_mut().insert(ErrorReason(message));
        response
    }
}
