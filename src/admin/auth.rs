//! Bearer-token authorisation: every call that is not a plain read (`GET`,
//! `HEAD`, `OPTIONS`) must carry `Authorization: Bearer <token>`. With no token
//! configured, such calls are refused (403) rather than left open.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{header, Method};
use actix_web::middleware::Next;
use actix_web::web;
use subtle::ConstantTimeEq;

use super::error::ApiError;
use super::state::AdminState;

/// The admin token. Its `Debug` never shows it, so it cannot reach a log line.
#[derive(Clone)]
pub struct Token(String);

impl Token {
    /// `None` for an empty token (none configured).
    pub fn new(token: &str) -> Option<Token> {
        (!token.is_empty()).then(|| Token(token.to_string()))
    }

    /// Compares in constant time, so timing does not reveal a prefix.
    pub fn matches(&self, presented: &str) -> bool {
        self.0.as_bytes().ct_eq(presented.as_bytes()).into()
    }
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

/// Whether a method only reads.
pub fn is_read_only(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Checks a request against the configured token.
pub fn authorize(token: Option<&Token>, header_value: Option<&str>) -> Result<(), ApiError> {
    let token = token.ok_or(ApiError::MutationsDisabled)?;
    let presented = header_value
        .and_then(|v| {
            let (scheme, rest) = v.trim().split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim())
        })
        .ok_or(ApiError::Unauthorized)?;
    if token.matches(presented) {
        Ok(())
    } else {
        Err(ApiError::Unauthorized)
    }
}

/// Middleware: lets reads through, requires the token for everything else.
pub async fn require_token(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    if !is_read_only(req.method()) {
        let token = req
            .app_data::<web::Data<AdminState>>()
            .and_then(|s| s.token.clone());
        let header_value = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        if let Err(e) = authorize(token.as_ref(), header_value) {
            tracing::debug!(method = %req.method(), path = req.path(), code = e.code(), "admin call refused");
            return Err(e.into());
        }
    }
    next.call(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_token_is_checked() {
        let t = Token::new("s3cret");
        assert!(authorize(t.as_ref(), Some("Bearer s3cret")).is_ok());
        assert!(authorize(t.as_ref(), Some("bearer  s3cret ")).is_ok());
        assert!(matches!(
            authorize(t.as_ref(), Some("Bearer s3cre")),
            Err(ApiError::Unauthorized)
        ));
        assert!(matches!(
            authorize(t.as_ref(), Some("Basic s3cret")),
            Err(ApiError::Unauthorized)
        ));
        assert!(matches!(
            authorize(t.as_ref(), None),
            Err(ApiError::Unauthorized)
        ));
        assert!(matches!(
            authorize(None, Some("Bearer s3cret")),
            Err(ApiError::MutationsDisabled)
        ));
        assert!(Token::new("").is_none());
        assert_eq!(format!("{:?}", t.unwrap()), "Token(<redacted>)");
    }
}
