//! `/v1/nodes/{node}/management/indicators` (1.63): the indicators (LEDs) of a node's
//! hardware components, listed, read and set through the node's management interface.
//! An indicator is addressed as `<name>@<component>`.

use actix_web::{HttpResponse, web};
use serde_json::{Map, Value, json};
use utoipa::OpenApi;

use super::AppState;
use super::checks::{self, Reply};
use super::common::{self, Ctx};
use super::nodes::lookup;
use super::openapi::ErrorBody;
use super::version::Feature;
use crate::db::nodes::Node;
use crate::error::{Error, Result};
use crate::rpc::Request;

type State = web::Data<AppState>;

/// The node path parameter: a UUID or a logical name.
async fn node(state: &AppState, ctx: &Ctx, ident: &str) -> Result<Node> {
    if !common::is_uuid_like(ident) && !checks::is_logical_name(ident) {
        return Err(Error::invalid(format!(
            "Expected UUID or name for node_ident: {ident}"
        )));
    }
    lookup(state, ctx, ident).await
}

/// Splits `<name>@<component>`.
fn indicator_at(unique: &str) -> Result<(String, String)> {
    match unique.split_once('@') {
        Some((name, component)) => Ok((name.to_owned(), component.to_owned())),
        None => Err(Error::invalid(format!(
            "Malformed indicator name \"{unique}\""
        ))),
    }
}

#[utoipa::path(get, path = "/v1/nodes/{node}/management/indicators", tag = "Node management", params(super::openapi::VersionHeaders, ("node" = String, Path, description = "Node UUID or name")), responses((status = 200, description = "indicators: name (<indicator>@<component>), component, readonly, states and links of each (1.63)"), (status = 400, description = "Invalid identifier, or the management interface has no indicators", body = ErrorBody), (status = 404, description = "Node not found, or before 1.63", body = ErrorBody)))]
pub async fn list(state: State, ctx: Ctx, path: web::Path<String>) -> Reply {
    if !ctx.version.has(Feature::Indicators) {
        return Ok(super::error::path_not_found().await);
    }
    let n = node(&state, &ctx, &path).await?;
    let answer = state
        .rpc
        .call(Request::GetIndicators { node: n.uuid })
        .await?;
    let mut out = Vec::new();
    for (component, names) in answer.as_object().into_iter().flatten() {
        for (name, fields) in names.as_object().into_iter().flatten() {
            let unique = format!("{name}@{component}");
            let mut i = Map::new();
            i.insert("name".into(), json!(unique));
            i.insert("component".into(), json!(component));
            i.insert(
                "readonly".into(),
                fields.get("readonly").cloned().unwrap_or(json!(true)),
            );
            i.insert(
                "states".into(),
                fields.get("states").cloned().unwrap_or(json!([])),
            );
            i.insert(
                "links".into(),
                ctx.links(&format!(
                    "nodes/{}/management/indicators/{unique}",
                    path.as_str()
                )),
            );
            out.push(Value::Object(i));
        }
    }
    Ok(HttpResponse::Ok().json(json!({ "indicators": out })))
}

#[utoipa::path(get, path = "/v1/nodes/{node}/management/indicators/{indicator}", tag = "Node management", params(super::openapi::VersionHeaders, ("node" = String, Path, description = "Node UUID or name"), ("indicator" = String, Path, description = "<indicator>@<component>, e.g. led@system")), responses((status = 200, description = "state: on, off, blinking or unknown (1.63)"), (status = 400, description = "Malformed or unknown indicator, or the management interface has no indicators", body = ErrorBody), (status = 404, description = "Node not found, or before 1.63", body = ErrorBody)))]
pub async fn show(state: State, ctx: Ctx, path: web::Path<(String, String)>) -> Reply {
    if !ctx.version.has(Feature::Indicators) {
        return Ok(super::error::path_not_found().await);
    }
    let (ident, unique) = path.into_inner();
    let n = node(&state, &ctx, &ident).await?;
    let (indicator, component) = indicator_at(&unique)?;
    let answer = state
        .rpc
        .call(Request::GetIndicatorState {
            node: n.uuid,
            component,
            indicator,
        })
        .await?;
    Ok(HttpResponse::Ok().json(answer))
}

#[utoipa::path(put, path = "/v1/nodes/{node}/management/indicators/{indicator}", tag = "Node management", params(super::openapi::VersionHeaders, ("node" = String, Path, description = "Node UUID or name"), ("indicator" = String, Path, description = "<indicator>@<component>, e.g. led@system")), request_body(content = serde_json::Value, description = "state: one of the indicator's states"), responses((status = 204, description = "Set (1.63)"), (status = 400, description = "Malformed, unknown or read-only indicator, a state it does not have, or a management interface without indicators", body = ErrorBody), (status = 404, description = "Node not found, or before 1.63", body = ErrorBody), (status = 409, description = "Node locked", body = ErrorBody)))]
pub async fn set(
    state: State,
    ctx: Ctx,
    path: web::Path<(String, String)>,
    body: web::Bytes,
) -> Reply {
    if !ctx.version.has(Feature::Indicators) {
        return Ok(super::error::path_not_found().await);
    }
    let (ident, unique) = path.into_inner();
    let obj = common::parse_object(&body)?;
    let mut extra: Vec<&str> = obj
        .keys()
        .map(String::as_str)
        .filter(|k| *k != "state")
        .collect();
    if !extra.is_empty() {
        extra.sort_unstable();
        return Err(Error::invalid(format!("Unexpected arguments: {}", extra.join(", "))).into());
    }
    let n = node(&state, &ctx, &ident).await?;
    let wanted = match obj.get("state") {
        None => return Err(Error::invalid("Missing mandatory parameter: state").into()),
        Some(Value::String(s)) => s.clone(),
        Some(other) => {
            return Err(Error::invalid(format!("Expected string for state: {other}")).into());
        }
    };
    let (indicator, component) = indicator_at(&unique)?;
    state
        .rpc
        .call(Request::SetIndicatorState {
            node: n.uuid,
            component,
            indicator,
            state: wanted,
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Methods these paths do not serve: unknown paths before 1.63, 405 after.
async fn other(ctx: Ctx) -> HttpResponse {
    if ctx.version.has(Feature::Indicators) {
        super::error::method_not_allowed().await
    } else {
        super::error::path_not_found().await
    }
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        super::route("/v1/nodes/{node}/management/indicators")
            .route(web::get().to(list))
            .default_service(web::to(other)),
    )
    .service(
        super::route("/v1/nodes/{node}/management/indicators/{indicator}")
            .route(web::get().to(show))
            .route(web::put().to(set))
            .default_service(web::to(other)),
    );
}

#[derive(OpenApi)]
#[openapi(paths(list, show, set))]
pub struct Doc;

#[cfg(test)]
mod tests {
    use super::*;

    use crate::conductor::states::ProvisionState;
    use crate::drivers::{self, Interface, Management};

    /// A management interface without indicators.
    struct Plain;

    impl Interface for Plain {
        fn name(&self) -> &'static str {
            "plain"
        }
    }

    #[async_trait::async_trait]
    impl Management for Plain {
        fn supported_boot_devices(&self, _node: &Node) -> Vec<&'static str> {
            Vec::new()
        }
        async fn set_boot_device(&self, _: &mut Node, _: &str, _: bool) -> Result<()> {
            Ok(())
        }
        async fn get_boot_device(&self, _: &Node) -> Result<(Option<String>, Option<bool>)> {
            Ok((None, None))
        }
    }

    fn node() -> Node {
        crate::db::nodes::blank(
            "9d3b6f1e-2a4c-4e8b-9f0d-1c3e5a7b9d2f".into(),
            "fake-hardware".into(),
            ProvisionState::Enroll.as_str(),
        )
    }

    #[tokio::test]
    async fn interfaces_without_indicators_refuse() {
        let mut n = node();
        let e = Plain.get_supported_indicators(&n).await.unwrap_err();
        assert_eq!(e.status(), 400);
        assert_eq!(
            e.to_string(),
            "Driver fake-hardware does not support get_supported_indicators (disabled or not \
             implemented)."
        );
        assert!(
            Plain
                .get_indicator_state(&n, "system", "led")
                .await
                .is_err()
        );
        assert!(
            Plain
                .set_indicator_state(&mut n, "system", "led", "on")
                .await
                .is_err()
        );
    }

    #[tokio::test]
    async fn fake_indicators_keep_their_state() {
        let fake = drivers::fake::Fake::default();
        let mut n = node();
        let all = fake.get_supported_indicators(&n).await.unwrap();
        assert_eq!(all.keys().collect::<Vec<_>>(), ["chassis", "system"]);
        assert!(all["chassis"]["led-0"].readonly);
        assert_eq!(
            fake.get_indicator_state(&n, "system", "led").await.unwrap(),
            "on"
        );
        fake.set_indicator_state(&mut n, "system", "led", "blinking")
            .await
            .unwrap();
        assert_eq!(
            fake.get_indicator_state(&n, "system", "led").await.unwrap(),
            "blinking"
        );
        assert_eq!(
            n.driver_internal_info["fake_indicators"],
            json!({"system": {"led": "blinking"}})
        );
        for (component, indicator, state, msg) in [
            (
                "chassis",
                "led-0",
                "off",
                "Indicator led-0 of component chassis is read-only.",
            ),
            (
                "system",
                "led",
                "purple",
                "Invalid state purple for indicator led of component \
              system; supported are: blinking, off, on.",
            ),
            ("disk", "led", "on", "Invalid component disk specified."),
            (
                "system",
                "led-9",
                "on",
                "Invalid indicator led-9 specified.",
            ),
        ] {
            let e = fake
                .set_indicator_state(&mut n, component, indicator, state)
                .await
                .unwrap_err();
            assert_eq!(e.to_string(), msg);
        }
    }

    #[test]
    fn indicator_names() {
        assert_eq!(
            indicator_at("led@system").unwrap(),
            ("led".to_owned(), "system".to_owned())
        );
        assert_eq!(
            indicator_at("led@disk@0").unwrap(),
            ("led".to_owned(), "disk@0".to_owned())
        );
        assert_eq!(
            indicator_at("led").unwrap_err().to_string(),
            "Malformed indicator name \"led\""
        );
    }
}
