//! iPXE scripts for nodes that boot over the network (the `ipxe` boot interface):
//! `/boot/boot.ipxe`, the generic script that chains each node to its own, and
//! `/boot/<mac>.ipxe`, the script of the node owning that MAC address. Not versioned
//! and not authenticated: iPXE can do neither. Serve the API on the provisioning
//! network only; a script names the node's target and CHAP credentials, and the
//! target's ACL admits only the node's initiator name.

use actix_web::{HttpResponse, web};

use super::common::Ctx;
use super::{AppState, resource};
use crate::db::{nodes, ports};
use crate::drivers::ipxe::{self, SanbootTarget};
use crate::error::Result;

type State = web::Data<AppState>;

fn script(body: String) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .body(body)
}

/// The URL nodes reach m2 at: `[pxe] http_url`, else the address of this request.
pub fn boot_base_url(state: &AppState, ctx: &Ctx) -> String {
    state
        .config
        .pxe
        .http_url
        .clone()
        .unwrap_or_else(|| ctx.base.clone())
}

/// `GET /boot/boot.ipxe`.
#[utoipa::path(get, path = "/boot/boot.ipxe", tag = "Network boot", responses((status = 200, description = "An iPXE script (text/plain) that chains to the script of the booting interface's MAC address", content_type = "text/plain")))]
pub async fn chain(state: State, ctx: Ctx) -> HttpResponse {
    script(ipxe::chain_script(&boot_base_url(&state, &ctx)))
}

/// `12-34-56-78-9a-bc` or `12:34:...`, any case, with or without `.ipxe`.
fn parse_mac(raw: &str) -> Option<String> {
    let raw = raw.strip_suffix(".ipxe").unwrap_or(raw);
    let mac = raw.replace('-', ":").to_ascii_lowercase();
    super::collection::is_mac(&mac).then_some(mac)
}

/// `GET /boot/{mac}.ipxe`: the node's sanboot script while it has a boot target;
/// otherwise a script that leaves network boot.
#[utoipa::path(get, path = "/boot/{mac}", tag = "Network boot", params(("mac" = String, Path, description = "MAC address of the booting interface, with - or :, any case, optionally followed by .ipxe")), responses((status = 200, description = "An iPXE script (text/plain): sanboot from the node's iSCSI target while it has one and the port has pxe_enabled, else a script that exits network boot (also for an unknown MAC address)", content_type = "text/plain")))]
pub async fn node_script(state: State, path: web::Path<String>) -> Result<HttpResponse> {
    let Some(mac) = parse_mac(&path) else {
        return Ok(script(ipxe::no_boot_script("m2: not a MAC address")));
    };
    let Some(port) = ports::port_by_address(&state.db, &mac).await? else {
        tracing::info!(%mac, "boot script asked for an unknown MAC address");
        return Ok(script(ipxe::no_boot_script(
            "m2: this MAC address belongs to no node",
        )));
    };
    let Some(node) = nodes::by_id(&state.db, port.node_id).await? else {
        return Ok(script(ipxe::no_boot_script("m2: no node")));
    };
    match SanbootTarget::of(&node) {
        Some(target) if port.pxe_enabled => {
            tracing::info!(node = %node.uuid, %mac, target = %target.target_iqn, "boot script served");
            Ok(script(ipxe::sanboot_script(
                &target,
                state.config.pxe.sanboot_retries,
            )?))
        }
        Some(_) => Ok(script(ipxe::no_boot_script(
            "m2: network boot is disabled on this port",
        ))),
        None => Ok(script(ipxe::no_boot_script(
            "m2: this node has nothing to boot",
        ))),
    }
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/boot/boot.ipxe").route(web::get().to(chain)))
        .service(resource("/boot/{mac}").route(web::get().to(node_script)));
}

#[derive(utoipa::OpenApi)]
#[openapi(
    paths(chain, node_script),
    tags((name = "Network boot", description = "iPXE scripts for nodes that boot over the network (m2). Not versioned and not authenticated: iPXE can do neither."))
)]
pub struct Doc;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn macs_in_paths() {
        assert_eq!(
            parse_mac("52-54-00-AA-bb-01.ipxe").as_deref(),
            Some("52:54:00:aa:bb:01")
        );
        assert_eq!(
            parse_mac("52:54:00:aa:bb:01").as_deref(),
            Some("52:54:00:aa:bb:01")
        );
        assert_eq!(parse_mac("boot.ipxe"), None);
        assert_eq!(parse_mac("../../etc"), None);
    }
}
