//! How the dashboard's API refuses a request: a status and a JSON body with the
//! message, the setting it is about (`key`) and, for an error about several settings,
//! all of them (`keys`); and the largest body a request may send.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use datadao_scenario::ScenarioError;
use serde_json::json;

/// Largest request body.
pub const BODY_LIMIT: usize = 64 * 1024;

/// A refusal: status, message, the setting it is about (if known) and, for an error
/// about several settings, all of them.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    message: String,
    key: Option<String>,
    keys: Vec<String>,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
            key: None,
            keys: Vec::new(),
        }
    }

    /// A refusal of the scenario crate: 422 with its message as the CLI prints it, the
    /// setting it is about as `key` and, when it is about several, every one as `keys`
    /// (read from the error's fields, never from its text).
    pub fn scenario(e: &ScenarioError) -> Self {
        let keys: Vec<String> = e.keys().into_iter().map(str::to_string).collect();
        Self {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            message: format!("{e:#}"),
            key: e.key().map(str::to_string),
            keys: if keys.len() > 1 { keys } else { Vec::new() },
        }
    }

    pub fn unprocessable(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, message)
    }

    pub fn with_key(mut self, key: &str) -> Self {
        self.key = Some(key.to_string());
        self
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = json!({"error": self.message, "key": self.key});
        if !self.keys.is_empty() {
            body["keys"] = json!(self.keys);
        }
        (
            self.status,
            [(header::CACHE_CONTROL, "no-store")],
            Json(body),
        )
            .into_response()
    }
}

pub type ApiResult<T> = std::result::Result<T, ApiError>;

pub fn bad(message: impl std::fmt::Display) -> ApiError {
    ApiError::unprocessable(message.to_string())
}
