//! Rendering of errors in Ironic's wire format, in exactly one place.
//!
//! Ironic wraps a JSON document in a JSON string:
//! `{"error_message": "{\"faultcode\": \"Client\", \"faultstring\": \"...\", \"debuginfo\": null}"}`.
//! Routing failures (unknown path, refused version) use the `code/title/description` form.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};

use crate::error::Error;

/// Quotes `s` as a JSON string.
fn quote(s: &str) -> String {
    serde_json::Value::String(s.to_owned()).to_string()
}

/// The body of an error answered by a resource handler.
pub fn fault_body(status: u16, message: &str) -> String {
    let faultcode = if status >= 500 { "Server" } else { "Client" };
    let inner = format!(
        "{{\"faultcode\": {}, \"faultstring\": {}, \"debuginfo\": null}}",
        quote(faultcode),
        quote(message)
    );
    format!("{{\"error_message\": {}}}", quote(&inner))
}

/// The body of an error answered by routing (404 path, 406 version).
pub fn http_body(status: StatusCode, description: &str) -> String {
    let inner = format!(
        "{{\"code\": {}, \"title\": {}, \"description\": {}}}",
        status.as_u16(),
        quote(status.canonical_reason().unwrap_or("Error")),
        quote(description)
    );
    format!("{{\"error_message\": {}}}", quote(&inner))
}

impl ResponseError for Error {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        if status.is_server_error() {
            tracing::error!(status = status.as_u16(), error = %self, "request failed");
        } else {
            tracing::info!(status = status.as_u16(), error = %self, "request refused");
        }
        HttpResponse::build(status)
            .content_type("application/json")
            .body(fault_body(status.as_u16(), &self.to_string()))
    }
}

/// 404 for a path no route serves.
pub async fn path_not_found() -> HttpResponse {
    HttpResponse::NotFound()
        .content_type("application/json")
        .body(http_body(StatusCode::NOT_FOUND, ""))
}

/// Ironic's message of a 405.
pub const METHOD_NOT_ALLOWED: &str = "The server could not comply with the request since it \
                                      is either malformed or otherwise incorrect.";

/// 405 for a method a resource does not serve.
pub async fn method_not_allowed() -> HttpResponse {
    HttpResponse::MethodNotAllowed()
        .content_type("application/json")
        .body(fault_body(405, METHOD_NOT_ALLOWED))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fault_body_is_json_in_json() {
        let body = fault_body(404, "Node \"x\" could not be found.");
        let outer: serde_json::Value = serde_json::from_str(&body).unwrap();
        let inner: serde_json::Value =
            serde_json::from_str(outer["error_message"].as_str().unwrap()).unwrap();
        assert_eq!(inner["faultcode"], "Client");
        assert_eq!(inner["faultstring"], "Node \"x\" could not be found.");
        assert!(inner["debuginfo"].is_null());
        let inner: serde_json::Value = serde_json::from_str(
            serde_json::from_str::<serde_json::Value>(&fault_body(500, "boom")).unwrap()
                ["error_message"]
                .as_str()
                .unwrap(),
        )
        .unwrap();
        assert_eq!(inner["faultcode"], "Server");
    }

    #[test]
    fn http_body_has_code_title_description() {
        let body = http_body(StatusCode::NOT_ACCEPTABLE, "bad");
        let outer: serde_json::Value = serde_json::from_str(&body).unwrap();
        let inner: serde_json::Value =
            serde_json::from_str(outer["error_message"].as_str().unwrap()).unwrap();
        assert_eq!(inner["code"], 406);
        assert_eq!(inner["title"], "Not Acceptable");
        assert_eq!(inner["description"], "bad");
    }
}
