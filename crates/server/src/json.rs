//! `ApiJson<T>`: the API's JSON body extractor. Unlike axum's `Json`, every
//! problem is a 400 (or 413/415) in the API's error shape, and a body of the
//! wrong shape names the field: `changes[0].seq: invalid type: string "x",
//! expected u64`.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::header::CONTENT_TYPE;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// A JSON request body of type `T`.
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let is_json = req
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"));
        if !is_json {
            return Err(ApiError::UnsupportedMediaType);
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::TooLarge
            } else {
                ApiError::bad("the request body could not be read")
            }
        })?;
        parse(&bytes).map(ApiJson)
    }
}

/// Parses a JSON body, naming the field at fault.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let mut path = e.path().to_string();
        let segments = segments(e.path());
        let inner = e.into_inner();
        let message = if inner.to_string().starts_with("recursion limit exceeded") {
            // The path would run on for a hundred levels: name where the
            // nesting starts instead.
            path = outermost(segments);
            "the JSON is nested too deeply: at most 128 levels of arrays and objects".to_string()
        } else if inner.is_syntax() || inner.is_eof() {
            format!("malformed JSON: {inner}")
        } else {
            inner.to_string()
        };
        if path.is_empty() || path == "." {
            ApiError::bad(message)
        } else {
            ApiError::field(path, message)
        }
    })?;
    de.end()
        .map_err(|e| ApiError::bad(format!("malformed JSON: {e}")))?;
    Ok(value)
}

/// A path's steps as they are written: `changes`, `[0]`, `.value`.
fn segments(path: &serde_path_to_error::Path) -> Vec<String> {
    path.iter()
        .map(|segment| match segment {
            serde_path_to_error::Segment::Seq { index } => format!("[{index}]"),
            other => format!(".{other}"),
        })
        .collect()
}

/// The path without the run of levels repeated at its end (`[0][0][0]…`,
/// `.a.a.a…`, `[0].a[0].a…`): `changes[0].value`, where a value nested too
/// deeply starts.
fn outermost(mut segments: Vec<String>) -> String {
    for period in 1..=4 {
        let n = segments.len();
        let mut start = n;
        while start > period && segments[start - 1] == segments[start - 1 - period] {
            start -= 1;
        }
        // segments[start - period..] repeats with this period.
        if n - start >= 2 * period {
            segments.truncate(start - period);
            break;
        }
    }
    let path = segments.concat();
    path.strip_prefix('.').unwrap_or(&path).to_string()
}

/// A query string of type `T`; a bad one is a 400 in the API's error shape.
#[derive(Debug)]
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> axum::extract::FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, ApiError> {
        let query = parts.uri.query().unwrap_or("");
        let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
        serde_path_to_error::deserialize(de)
            .map(ApiQuery)
            .map_err(|e| {
                let path = e.path().to_string();
                let message = format!("bad query string: {}", e.into_inner());
                if path.is_empty() || path == "." {
                    ApiError::bad(message)
                } else {
                    ApiError::field(path, message)
                }
            })
    }
}
