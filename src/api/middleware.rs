//! The middleware every request passes: paths without the version prefix served as
//! v1 paths (`version_prefix`), request id, tracing span, microversion negotiation and
//! the version headers on every response (`ironic_api`), then the caller's
//! authentication (`authenticate`).

use std::time::Instant;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{HttpMessage, HttpResponse};
use tracing::Instrument;

use super::error::{fault_body, http_body};
use super::version::{self, ApiVersion};
use crate::auth::{self, AuthError};

/// The request id of the current request, also stored in request extensions.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

fn header(req: &ServiceRequest, name: &str) -> Option<String> {
    req.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

fn set(headers: &mut actix_web::http::header::HeaderMap, name: &'static str, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        headers.insert(HeaderName::from_static(name), v);
    }
}

/// Errors raised by the framework itself (a body over the size limit, a payload that
/// could not be read) come with a plain-text body; they are rewritten into Ironic's
/// error body so that every error a client sees has one format.
fn ironic_error_body(res: ServiceResponse<BoxBody>) -> ServiceResponse<BoxBody> {
    let Some(message) = res.response().error().map(|e| e.to_string()) else {
        return res;
    };
    let is_json = res
        .headers()
        .get(actix_web::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if is_json {
        return res;
    }
    let status = res.status();
    let message = if status == StatusCode::PAYLOAD_TOO_LARGE {
        "Request is too large.".to_owned()
    } else {
        message
    };
    let (req, _) = res.into_parts();
    let resp = HttpResponse::build(status)
        .content_type("application/json")
        .body(fault_body(status.as_u16(), &message));
    ServiceResponse::new(req, resp)
}

/// The first path segments of v1's resources, which Ironic also serves without the
/// `/v1` prefix (its root controller adds the missing version; clients call a few
/// paths that way).
const V1_RESOURCES: &[&str] = &[
    "nodes",
    "ports",
    "portgroups",
    "chassis",
    "drivers",
    "conductors",
    "volume",
    "allocations",
    "deploy_templates",
    "events",
    "images",
    "volumes",
];

/// Serves `/nodes/...` as `/v1/nodes/...`, and so on for every v1 resource.
pub async fn version_prefix(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let first = req.path().trim_start_matches('/').split('/').next();
    if first.is_some_and(|f| V1_RESOURCES.contains(&f)) {
        let with_query = req
            .uri()
            .path_and_query()
            .map_or_else(|| req.path().to_owned(), |pq| pq.as_str().to_owned());
        if let Ok(uri) = format!("/v1{with_query}").parse::<actix_web::http::Uri>() {
            req.match_info_mut().get_mut().update(&uri);
            req.head_mut().uri = uri;
        }
    }
    next.call(req).await
}

/// Request id, span, version negotiation and response headers.
pub async fn ironic_api(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let started = Instant::now();
    let request_id = format!("req-{}", uuid::Uuid::new_v4());
    let span = tracing::info_span!(
        "request",
        request_id = %request_id,
        method = %req.method(),
        path = %req.path(),
    );
    let negotiated = version::negotiate(
        header(&req, version::IRONIC_HEADER).as_deref(),
        header(&req, version::OPENSTACK_HEADER).as_deref(),
    );
    let mut res = match negotiated {
        Ok(v) => {
            req.extensions_mut().insert(v);
            req.extensions_mut().insert(RequestId(request_id.clone()));
            let mut res = match next.call(req).instrument(span.clone()).await {
                Ok(res) => ironic_error_body(res.map_into_boxed_body()),
                Err(e) => return Err(e),
            };
            set(
                res.headers_mut(),
                "x-openstack-ironic-api-version",
                &v.to_string(),
            );
            res
        }
        Err(version::VersionError(msg)) => {
            let (req, _) = req.into_parts();
            let resp = HttpResponse::build(StatusCode::NOT_ACCEPTABLE)
                .content_type("application/json")
                .body(http_body(StatusCode::NOT_ACCEPTABLE, &msg));
            ServiceResponse::new(req, resp)
        }
    };
    let headers = res.headers_mut();
    set(
        headers,
        "x-openstack-ironic-api-minimum-version",
        &ApiVersion::MIN.to_string(),
    );
    set(
        headers,
        "x-openstack-ironic-api-maximum-version",
        &ApiVersion::MAX.to_string(),
    );
    set(headers, "x-openstack-request-id", &request_id);
    set(headers, "openstack-request-id", &request_id);
    let status = res.status().as_u16();
    span.in_scope(|| {
        tracing::info!(
            status,
            elapsed_ms = started.elapsed().as_secs_f64() * 1000.0,
            "served"
        )
    });
    Ok(res)
}

/// Authenticates the caller (see [`crate::auth`]) and stores its
/// [`auth::AuthContext`] in the request's extensions for [`super::common::Ctx`]:
/// noauth's administrator, the caller Keystone described, or, on a public route
/// under keystone, an anonymous caller without roles. A missing or invalid token is
/// a 401 with `WWW-Authenticate`, an unreachable Keystone a 503, both in Ironic's
/// error body; the handler does not run.
pub async fn authenticate(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let Some(state) = req
        .app_data::<actix_web::web::Data<super::AppState>>()
        .cloned()
    else {
        return Err(actix_web::error::ErrorInternalServerError(
            "the API state is missing",
        ));
    };
    let caller = if auth::is_public_route(req.path()) {
        Ok(state.auth.public_caller())
    } else {
        let token = header(&req, "x-auth-token");
        let service_token = header(&req, "x-service-token");
        let authorization = header(&req, "authorization");
        state
            .auth
            .authenticate(auth::Credentials {
                token: token.as_deref(),
                service_token: service_token.as_deref(),
                authorization: authorization.as_deref(),
            })
            .await
    };
    match caller {
        Ok(ctx) => {
            tracing::debug!(caller = %ctx.describe(), "authenticated");
            req.extensions_mut().insert(ctx);
            Ok(next.call(req).await?.map_into_boxed_body())
        }
        Err(e) => {
            let status = match e {
                AuthError::Unauthenticated | AuthError::Rejected(_) => StatusCode::UNAUTHORIZED,
                AuthError::BadRequest(_) => StatusCode::BAD_REQUEST,
                AuthError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            };
            tracing::info!(status = status.as_u16(), error = %e, "request not authenticated");
            let mut resp = HttpResponse::build(status);
            resp.content_type("application/json");
            if status == StatusCode::UNAUTHORIZED {
                resp.insert_header(("WWW-Authenticate", state.auth.www_authenticate()));
            }
            let (req, _) = req.into_parts();
            Ok(ServiceResponse::new(
                req,
                resp.body(fault_body(status.as_u16(), &e.to_string())),
            ))
        }
    }
}
