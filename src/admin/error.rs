//! Every error the admin API answers with, and the one place they map to HTTP
//! status codes. The body is always `{"error": {"code", "message", "field"?}}`
//! with a stable `code`.

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use utoipa::ToSchema;

use crate::config::ConfigError;
use crate::processor::ProcessorError;

/// An admin API failure.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A field of the request is missing, malformed or out of range.
    #[error("{field}: {message}")]
    InvalidField { field: String, message: String },
    /// Each field is valid alone, but not together with another (e.g. an
    /// `index` not below `count`): 422, naming the field.
    #[error("{field}: {message}")]
    InvalidCombination { field: String, message: String },
    /// The body is not the JSON the endpoint takes.
    #[error("request body: {0}")]
    InvalidBody(String),
    /// A path or query parameter is malformed.
    #[error("{0}")]
    InvalidParameter(String),
    #[error("a valid `Authorization: Bearer <token>` header is required for this call")]
    Unauthorized,
    #[error("mutating calls are disabled: no admin token is configured (set admin.token or SSA_ADMIN_TOKEN and restart)")]
    MutationsDisabled,
    #[error("{0}")]
    NotFound(String),
    /// `allow` is the resource's `Allow` header value.
    #[error("{method} is not allowed on {path} (allowed: {allow})")]
    MethodNotAllowed {
        method: String,
        path: String,
        allow: &'static str,
    },
    /// The body is over the limit.
    #[error("request body: {0}")]
    PayloadTooLarge(String),
    /// The body is not JSON (by its `Content-Type`).
    #[error("request body: {0}")]
    UnsupportedMediaType(String),
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    /// The partition's identity differs from its checkpoints' in `field`.
    #[error("{message}")]
    Identity { field: String, message: String },
    #[error("{0}")]
    Unavailable(String),
    #[error("not ready: {0}")]
    NotReady(String),
    /// The processor has not started yet (e.g. Cassandra does not answer).
    #[error("the processor is starting: {0}")]
    Starting(String),
}

/// The JSON error body.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

/// A stable machine-readable code, a human message and, for a bad field, its name.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// One of: invalid_field, invalid_combination, invalid_body, invalid_parameter, unauthorized,
    /// mutations_disabled, not_found, method_not_allowed, payload_too_large,
    /// unsupported_media_type, conflict codes (partition_exists, partition_state,
    /// partition_limit, partition_identity, chaos_running, chaos_not_running),
    /// unavailable, not_ready, starting; from the HTTP layer itself: malformed_request
    /// (400), request_timeout (408), headers_too_large (431), internal (500).
    #[schema(example = "invalid_field")]
    pub code: &'static str,
    #[schema(example = "flush_interval: \"0ms\" is out of range 1ms..=3600s")]
    pub message: String,
    /// The request field at fault (400 invalid_field, 422 invalid_combination), or the
    /// partition key whose value differs from the one its checkpoints were taken with
    /// (409 partition_identity).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "flush_interval")]
    pub field: Option<String>,
}

impl ApiError {
    pub fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        ApiError::InvalidField {
            field: field.into(),
            message: message.into(),
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            ApiError::InvalidField { .. } => "invalid_field",
            ApiError::InvalidCombination { .. } => "invalid_combination",
            ApiError::InvalidBody(_) => "invalid_body",
            ApiError::InvalidParameter(_) => "invalid_parameter",
            ApiError::Unauthorized => "unauthorized",
            ApiError::MutationsDisabled => "mutations_disabled",
            ApiError::NotFound(_) => "not_found",
            ApiError::MethodNotAllowed { .. } => "method_not_allowed",
            ApiError::PayloadTooLarge(_) => "payload_too_large",
            ApiError::UnsupportedMediaType(_) => "unsupported_media_type",
            ApiError::Conflict { code, .. } => code,
            ApiError::Identity { .. } => "partition_identity",
            ApiError::Unavailable(_) => "unavailable",
            ApiError::NotReady(_) => "not_ready",
            ApiError::Starting(_) => "starting",
        }
    }
}

/// The processor validates a one-partition configuration, or the `processor`
/// section: a config key becomes the request's own field name.
fn request_field(key: &str) -> String {
    ["partitions[0].", "processor."]
        .iter()
        .find_map(|p| key.strip_prefix(p))
        .unwrap_or(key)
        .to_string()
}

impl From<ProcessorError> for ApiError {
    fn from(e: ProcessorError) -> Self {
        match e {
            ProcessorError::Invalid(ConfigError::Invalid { key, message }) => {
                ApiError::InvalidField {
                    field: request_field(&key),
                    message,
                }
            }
            ProcessorError::Invalid(ConfigError::Conflict { key, message }) => {
                ApiError::InvalidCombination {
                    field: request_field(&key),
                    message,
                }
            }
            ProcessorError::Invalid(other) => ApiError::InvalidBody(other.to_string()),
            ProcessorError::Exists(_) => ApiError::Conflict {
                code: "partition_exists",
                message: e.to_string(),
            },
            ProcessorError::NotFound(_) => ApiError::NotFound(e.to_string()),
            ProcessorError::State { .. } => ApiError::Conflict {
                code: "partition_state",
                message: e.to_string(),
            },
            ProcessorError::IndexesExhausted | ProcessorError::Limit { .. } => ApiError::Conflict {
                code: "partition_limit",
                message: e.to_string(),
            },
            ProcessorError::Identity(m) => ApiError::Identity {
                field: m.field.to_string(),
                message: m.to_string(),
            },
            ProcessorError::Unavailable(_) => ApiError::Unavailable(e.to_string()),
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::InvalidField { .. }
            | ApiError::InvalidBody(_)
            | ApiError::InvalidParameter(_) => StatusCode::BAD_REQUEST,
            ApiError::InvalidCombination { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::MutationsDisabled => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Conflict { .. } | ApiError::Identity { .. } => StatusCode::CONFLICT,
            ApiError::Unavailable(_) | ApiError::NotReady(_) | ApiError::Starting(_) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
        }
    }

    fn error_response(&self) -> HttpResponse {
        let field = match self {
            ApiError::InvalidField { field, .. }
            | ApiError::InvalidCombination { field, .. }
            | ApiError::Identity { field, .. } => Some(field.clone()),
            _ => None,
        };
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code(),
                message: self.to_string(),
                field,
            },
        };
        let mut response = HttpResponse::build(self.status_code());
        match self {
            ApiError::Unauthorized => {
                response.insert_header((
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"ssa-admin\""),
                ));
            }
            ApiError::MethodNotAllowed { allow, .. } => {
                response.insert_header((header::ALLOW, HeaderValue::from_static(allow)));
            }
            _ => {}
        }
        response.json(body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::body::to_bytes;

    #[actix_web::test]
    async fn body_has_code_message_and_field() {
        let e = ApiError::field("flush_interval", "too long");
        assert_eq!(e.status_code(), StatusCode::BAD_REQUEST);
        let body = to_bytes(e.error_response().into_body()).await.unwrap();
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["error"]["code"], "invalid_field");
        assert_eq!(v["error"]["field"], "flush_interval");
        assert_eq!(v["error"]["message"], "flush_interval: too long");
    }

    #[test]
    fn statuses() {
        let cases = [
            (ApiError::Unauthorized, 401),
            (ApiError::MutationsDisabled, 403),
            (ApiError::NotFound("x".into()), 404),
            (
                ApiError::Conflict {
                    code: "partition_exists",
                    message: "x".into(),
                },
                409,
            ),
            (ApiError::NotReady("x".into()), 503),
            (ApiError::InvalidBody("x".into()), 400),
        ];
        for (e, status) in cases {
            assert_eq!(e.status_code().as_u16(), status, "{e}");
        }
    }

    #[test]
    fn config_keys_become_request_fields() {
        let e: ApiError = ProcessorError::Invalid(ConfigError::Invalid {
            key: "processor.sink_concurrency".into(),
            message: "0 is out of range".into(),
        })
        .into();
        assert!(
            matches!(e, ApiError::InvalidField { ref field, .. } if field == "sink_concurrency")
        );
        let e: ApiError = ProcessorError::Invalid(ConfigError::Invalid {
            key: "partitions[0].source".into(),
            message: "bad".into(),
        })
        .into();
        assert!(matches!(e, ApiError::InvalidField { ref field, .. } if field == "source"));
    }
}
