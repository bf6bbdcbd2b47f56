//! `/v1/ports`: the NICs of nodes, identified by MAC address. Also served under
//! `/v1/nodes/{node}/ports` and `/v1/portgroups/{portgroup}/ports` (read-only there).
//!
//! Changes take the node's reservation (`node_lock`), so a port never changes under a
//! node that a conductor is working on.

use std::collections::HashMap;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Map, Value, json};

use super::collection::{self, Body, ListQuery, Spec};
use super::common::{self, Ctx};
use super::node_lock::{retry_stale, with_lock};
use super::nodes::lookup;
use super::patch;
use super::version::Feature;
use super::{AppState, resource};
use crate::conductor::states::ProvisionState;
use crate::db::nodes::Node;
use crate::db::paging::Paging;
use crate::db::ports::{self, Port, PortFilter, Portgroup};
use crate::error::{Error, Result};

type State = web::Data<AppState>;

/// The port resource on the wire.
pub const SPEC: Spec = Spec {
    kind: "port",
    fields: &[
        ("uuid", 1),
        ("address", 1),
        ("node_uuid", 1),
        ("portgroup_uuid", 24),
        ("local_link_connection", 19),
        ("pxe_enabled", 19),
        ("physical_network", 34),
        ("internal_info", 18),
        ("extra", 1),
        ("is_smartnic", 53),
        ("created_at", 1),
        ("updated_at", 1),
    ],
    short: &["uuid", "address"],
    fields_since: 8,
    detail_since: 43,
};

/// Root attributes a PATCH may change.
const PATCHABLE: &[&str] = &[
    "address",
    "extra",
    "is_smartnic",
    "local_link_connection",
    "node_uuid",
    "physical_network",
    "portgroup_uuid",
    "pxe_enabled",
];

/// Fields that change how a node is wired; Ironic only lets them change while the
/// node is not in use.
const CONNECTIVITY: &[&str] = &[
    "portgroup_uuid",
    "pxe_enabled",
    "local_link_connection",
    "physical_network",
];

/// Keys of `local_link_connection` (switch_id, port_id, switch_info, ...).
const LOCAL_LINK_KEYS: &[&str] = &[
    "switch_id",
    "port_id",
    "switch_info",
    "network_type",
    "hostname",
];

/// The node and portgroup UUIDs that ports refer to by id.
struct Names {
    nodes: HashMap<i64, String>,
    groups: HashMap<i64, String>,
}

async fn names(state: &AppState, list: &[Port]) -> Result<Names> {
    let node_ids: Vec<i64> = list.iter().map(|p| p.node_id).collect();
    let group_ids: Vec<i64> = list.iter().filter_map(|p| p.portgroup_id).collect();
    Ok(Names {
        nodes: ports::node_uuids(&state.db, &node_ids).await?,
        groups: ports::portgroup_uuids(&state.db, &group_ids).await?,
    })
}

fn view(ctx: &Ctx, p: &Port, n: &Names, fields: Option<&[String]>, detail: bool) -> Value {
    collection::render(
        ctx,
        &SPEC,
        fields,
        detail,
        &format!("ports/{}", p.uuid),
        |f| match f {
            "uuid" => json!(p.uuid),
            "address" => json!(p.address),
            "node_uuid" => json!(n.nodes.get(&p.node_id)),
            "portgroup_uuid" => json!(p.portgroup_id.and_then(|id| n.groups.get(&id))),
            "local_link_connection" => p.local_link_connection.clone(),
            "pxe_enabled" => json!(p.pxe_enabled),
            "physical_network" => json!(p.physical_network),
            "internal_info" => p.internal_info.clone(),
            "extra" => p.extra.clone(),
            "is_smartnic" => json!(p.is_smartnic),
            "created_at" => common::ts(&p.created_at),
            "updated_at" => common::ts_opt(&p.updated_at),
            _ => Value::Null,
        },
    )
}

/// A port by UUID (ports have no names at the versions m2 serves).
async fn find(state: &AppState, ident: &str) -> Result<Port> {
    let uuid = collection::uuid_arg("port_ident", ident)?;
    ports::port_by_uuid(&state.db, &uuid)
        .await?
        .ok_or_else(|| Error::not_found("Port", ident))
}

/// The node a port or portgroup belongs to.
pub async fn node_of(state: &AppState, node_id: i64) -> Result<Node> {
    crate::db::nodes::by_id(&state.db, node_id)
        .await?
        .ok_or_else(|| Error::Internal(format!("the node of id {node_id} is missing")))
}

/// A node named in a port or portgroup body: 400 when it does not exist or the caller
/// may not see it.
pub async fn body_node(state: &AppState, ctx: &Ctx, node_uuid: &str) -> Result<Node> {
    let missing = || Error::invalid(format!("Node {node_uuid} could not be found."));
    let node = super::nodes::lookup(state, ctx, node_uuid)
        .await
        .map_err(|e| match e {
            Error::NotFound { .. } => missing(),
            other => other,
        })?;
    if !ctx.allowed(super::access::NODE_GET, &super::access::node_target(&node)) {
        return Err(missing());
    }
    Ok(node)
}

/// A portgroup by UUID or name.
pub async fn find_portgroup(state: &AppState, ident: &str) -> Result<Portgroup> {
    let found = match common::canonical_uuid(ident) {
        Some(u) => ports::portgroup_by_uuid(&state.db, &u).await?,
        None => ports::portgroup_by_name(&state.db, ident).await?,
    };
    found.ok_or_else(|| Error::not_found("Portgroup", ident))
}

/// Where a list of ports comes from.
enum Parent {
    None,
    Node(String),
    Portgroup(String),
}

async fn list_ports(
    state: &AppState,
    ctx: &Ctx,
    req: &HttpRequest,
    parent: Parent,
    detail_path: bool,
) -> Result<HttpResponse> {
    let lq: ListQuery = collection::list_query(
        ctx,
        req,
        &SPEC,
        ports::PORT_SORTABLE,
        state.config.api.max_limit as u64,
        detail_path,
    )?;
    for k in lq.q.keys() {
        if !matches!(
            k.as_str(),
            "node"
                | "node_uuid"
                | "address"
                | "portgroup"
                | "fields"
                | "detail"
                | "limit"
                | "marker"
                | "sort_key"
                | "sort_dir"
        ) {
            return Err(Error::invalid(format!("Unexpected argument: {k}")));
        }
    }
    let mut filter = PortFilter::default();
    let node_ident = match &parent {
        Parent::Node(n) => Some(n.clone()),
        _ => match (lq.q.get("node_uuid"), lq.q.get("node")) {
            (Some(u), _) => Some(collection::uuid_arg("node_uuid", u)?),
            (None, Some(n)) => {
                if !ctx.version.has(Feature::PortNodeFilter) {
                    return Err(collection::too_new("node", Feature::PortNodeFilter.since()));
                }
                Some(n.clone())
            }
            (None, None) => None,
        },
    };
    let group_ident = match &parent {
        Parent::Portgroup(g) => Some(g.clone()),
        _ => match lq.q.get("portgroup") {
            Some(_) if !SPEC.visible("portgroup_uuid", ctx.version) => {
                return Err(collection::too_new(
                    "portgroup",
                    field_since("portgroup_uuid"),
                ));
            }
            other => other.cloned(),
        },
    };
    if node_ident.is_some() && group_ident.is_some() {
        return Err(Error::invalid(
            "Filtering ports by node and by portgroup at once is not supported.",
        ));
    }
    if let Some(n) = &node_ident {
        let node = lookup(state, ctx, n).await?;
        ctx.authorize_node(super::access::NODE_GET, &node, n)?;
        filter.node_id = Some(node.id);
    }
    if let Some(g) = &group_ident {
        let group = find_portgroup(state, g).await?;
        let node = node_of(state, group.node_id).await?;
        ctx.authorize_node_as(super::access::NODE_GET, &node, "Portgroup", g)?;
        filter.portgroup_id = Some(group.id);
    }
    filter.project = ctx.list_scope("port", None)?;
    if let Some(a) = lq.q.get("address") {
        filter.address = Some(collection::mac_arg("address", a)?);
    }
    let marker = match &lq.page.marker {
        Some(m) => Some(
            ports::port_by_uuid(&state.db, m)
                .await?
                .ok_or_else(|| Error::not_found("Port", m.clone()))?,
        ),
        None => None,
    };
    let rows = ports::list_ports(
        &state.db,
        &filter,
        Paging {
            limit: lq.page.limit,
            marker: marker.as_ref(),
            sort_key: &lq.page.sort_key,
            descending: lq.page.sort_dir == common::SortDir::Desc,
        },
    )
    .await?;
    let n = names(state, &rows).await?;
    let items = rows
        .iter()
        .map(|p| view(ctx, p, &n, lq.fields.as_deref(), lq.detail))
        .collect();
    let path = match (&parent, detail_path) {
        (Parent::Node(id), false) => format!("nodes/{id}/ports"),
        (Parent::Node(id), true) => format!("nodes/{id}/ports/detail"),
        (Parent::Portgroup(id), false) => format!("portgroups/{id}/ports"),
        (Parent::Portgroup(id), true) => format!("portgroups/{id}/ports/detail"),
        (Parent::None, false) => "ports".to_owned(),
        (Parent::None, true) => "ports/detail".to_owned(),
    };
    Ok(collection::collection(
        ctx,
        "ports",
        items,
        &path,
        &lq,
        rows.last().map(|p| p.uuid.as_str()),
    ))
}

#[utoipa::path(get, path = "/v1/ports", tag = "Ports", params(super::openapi::VersionHeaders, ("node" = Option<String>, Query, description = "Only the ports of this node (UUID or name)"), ("address" = Option<String>, Query, description = "Only the port with this MAC address"), ("portgroup" = Option<String>, Query, description = "Only the ports of this portgroup (1.24)"), ("fields" = Option<String>, Query, description = "Comma-separated fields to return (1.8)"), ("detail" = Option<bool>, Query, description = "Return every field (1.43)"), ("limit" = Option<u64>, Query, description = "Page size"), ("marker" = Option<String>, Query, description = "UUID of the last port of the previous page"), ("sort_key" = Option<String>, Query, description = "Field to sort by"), ("sort_dir" = Option<String>, Query, description = "asc or desc")), responses((status = 200, description = "A page of ports"), (status = 400, description = "Invalid input", body = super::openapi::ErrorBody), (status = 406, description = "Version not acceptable", body = super::openapi::ErrorBody)))]
pub async fn list(state: State, ctx: Ctx, req: HttpRequest) -> Result<HttpResponse> {
    list_ports(&state, &ctx, &req, Parent::None, false).await
}

#[utoipa::path(get, path = "/v1/ports/detail", tag = "Ports", params(super::openapi::VersionHeaders), responses((status = 200, description = "A page of ports with every field"), (status = 400, description = "Invalid input", body = super::openapi::ErrorBody)))]
pub async fn list_detail(state: State, ctx: Ctx, req: HttpRequest) -> Result<HttpResponse> {
    list_ports(&state, &ctx, &req, Parent::None, true).await
}

#[utoipa::path(get, path = "/v1/nodes/{node}/ports", tag = "Ports", params(super::openapi::VersionHeaders, ("node" = String, Path, description = "Node UUID or name")), responses((status = 200, description = "The node's ports"), (status = 404, description = "Node not found", body = super::openapi::ErrorBody)))]
pub async fn list_of_node(
    state: State,
    ctx: Ctx,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    list_ports(&state, &ctx, &req, Parent::Node(path.into_inner()), false).await
}

#[utoipa::path(get, path = "/v1/nodes/{node}/ports/detail", tag = "Ports", params(super::openapi::VersionHeaders, ("node" = String, Path, description = "Node UUID or name")), responses((status = 200, description = "The node's ports with every field"), (status = 400, description = "Invalid input", body = super::openapi::ErrorBody), (status = 404, description = "Node not found", body = super::openapi::ErrorBody)))]
pub async fn list_of_node_detail(
    state: State,
    ctx: Ctx,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    list_ports(&state, &ctx, &req, Parent::Node(path.into_inner()), true).await
}

/// `/v1/portgroups/{portgroup}/ports` exists from 1.24.
async fn portgroup_ports(
    state: &AppState,
    ctx: &Ctx,
    req: &HttpRequest,
    group: String,
    detail: bool,
) -> Result<HttpResponse> {
    if !SPEC.visible("portgroup_uuid", ctx.version) {
        return Err(Error::not_found("Resource", req.path()));
    }
    list_ports(state, ctx, req, Parent::Portgroup(group), detail).await
}

#[utoipa::path(get, path = "/v1/portgroups/{portgroup}/ports", tag = "Portgroups", params(super::openapi::VersionHeaders, ("portgroup" = String, Path, description = "Portgroup UUID or name")), responses((status = 200, description = "The portgroup's ports"), (status = 404, description = "Portgroup not found", body = super::openapi::ErrorBody)))]
pub async fn list_of_portgroup(
    state: State,
    ctx: Ctx,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    portgroup_ports(&state, &ctx, &req, path.into_inner(), false).await
}

#[utoipa::path(get, path = "/v1/portgroups/{portgroup}/ports/detail", tag = "Portgroups", params(super::openapi::VersionHeaders, ("portgroup" = String, Path, description = "Portgroup UUID or name")), responses((status = 200, description = "The portgroup's ports with every field (1.24)"), (status = 400, description = "Invalid input", body = super::openapi::ErrorBody), (status = 404, description = "Portgroup not found, or version older than 1.24", body = super::openapi::ErrorBody)))]
pub async fn list_of_portgroup_detail(
    state: State,
    ctx: Ctx,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    portgroup_ports(&state, &ctx, &req, path.into_inner(), true).await
}

#[utoipa::path(get, path = "/v1/ports/{port}", tag = "Ports", params(super::openapi::VersionHeaders, ("port" = String, Path, description = "Port UUID"), ("fields" = Option<String>, Query, description = "Comma-separated fields to return (1.8)")), responses((status = 200, description = "The port"), (status = 404, description = "Port not found", body = super::openapi::ErrorBody)))]
pub async fn show(
    state: State,
    ctx: Ctx,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    let fields = collection::show_fields(&ctx, &req, &SPEC)?;
    let p = find(&state, &path).await?;
    let node = node_of(&state, p.node_id).await?;
    ctx.authorize_node_as("baremetal:port:get", &node, "Port", &path)?;
    let n = names(&state, std::slice::from_ref(&p)).await?;
    Ok(HttpResponse::Ok().json(view(&ctx, &p, &n, fields.as_deref(), true)))
}

/// Checks a `local_link_connection` the way Ironic's validator does: known keys only,
/// and switch_id and port_id together (or a smart NIC's port_id and hostname).
fn check_local_link(v: &Value, smartnic: bool) -> Result<()> {
    let Some(obj) = v.as_object() else {
        return Ok(());
    };
    for k in obj.keys() {
        if !LOCAL_LINK_KEYS.contains(&k.as_str()) {
            return Err(Error::invalid(format!(
                "Invalid local_link_connection: unexpected key \"{k}\"; the keys allowed are {}.",
                LOCAL_LINK_KEYS.join(", ")
            )));
        }
    }
    if smartnic {
        if !(obj.contains_key("port_id") && obj.contains_key("hostname")) {
            return Err(Error::invalid(
                "Smart NIC port must have port_id and hostname in local_link_connection",
            ));
        }
        return Ok(());
    }
    if obj.is_empty() {
        return Ok(());
    }
    let unmanaged = obj.get("network_type").and_then(Value::as_str) == Some("unmanaged");
    let complete = obj.contains_key("switch_id") && obj.contains_key("port_id");
    if !(unmanaged || complete) {
        return Err(Error::invalid(
            "Invalid local_link_connection: switch_id and port_id are required.",
        ));
    }
    if let Some(sw) = obj.get("switch_id").and_then(Value::as_str)
        && !collection::is_mac(sw)
        && !is_openflow_datapath_id(sw)
    {
        return Err(Error::invalid(format!(
            "Expected a MAC address or OpenFlow datapath ID but received {sw}."
        )));
    }
    Ok(())
}

/// `0x` followed by 16 hexadecimal digits.
fn is_openflow_datapath_id(s: &str) -> bool {
    s.len() == 18 && s.starts_with("0x") && s[2..].bytes().all(|b| b.is_ascii_hexdigit())
}

/// The wire fields of a port that a client may set, as a patchable document.
fn doc_of(p: &Port, node_uuid: &str, group_uuid: Option<&str>) -> Map<String, Value> {
    let mut d = Map::new();
    d.insert("address".into(), json!(p.address));
    d.insert("extra".into(), p.extra.clone());
    d.insert("is_smartnic".into(), json!(p.is_smartnic));
    d.insert(
        "local_link_connection".into(),
        p.local_link_connection.clone(),
    );
    d.insert("node_uuid".into(), json!(node_uuid));
    d.insert("physical_network".into(), json!(p.physical_network));
    d.insert("portgroup_uuid".into(), json!(group_uuid));
    d.insert("pxe_enabled".into(), json!(p.pxe_enabled));
    d
}

/// The minor version that introduced a writable field.
fn field_since(field: &str) -> u16 {
    SPEC.since(field).unwrap_or(1)
}

/// A port document (create body or patched fields) checked and turned into a port.
/// `base` carries what the document does not set (id, uuid, internal_info, times).
async fn build(
    state: &AppState,
    ctx: &Ctx,
    mut doc: Map<String, Value>,
    base: Port,
) -> Result<(Port, Node, Option<Portgroup>)> {
    let body = Body { kind: "port" };
    let mut p = base;
    let address = doc
        .remove("address")
        .ok_or_else(|| body.required("address"))?;
    let address = body.string(address, 255)?;
    p.address = collection::mac_arg("address", &address)?;
    let node_uuid = doc
        .remove("node_uuid")
        .ok_or_else(|| body.required("node_uuid"))?;
    let node_uuid = body.uuid("node_uuid", node_uuid)?;
    // A node named in a body is a bad request, not a missing resource.
    let node = body_node(state, ctx, &node_uuid).await?;
    p.node_id = node.id;
    if let Some(v) = doc.remove("extra") {
        p.extra = body.object(v)?;
    }
    if let Some(v) = doc.remove("is_smartnic") {
        p.is_smartnic = body.boolean("is_smartnic", v, false)?;
    }
    if let Some(v) = doc.remove("local_link_connection") {
        p.local_link_connection = body.object(v)?;
    }
    check_local_link(&p.local_link_connection, p.is_smartnic)?;
    if let Some(v) = doc.remove("physical_network") {
        p.physical_network = body.opt_string(v, 64)?;
        if p.physical_network.as_deref() == Some("") {
            return Err(Error::invalid(
                "A non-empty value is required when setting physical_network",
            ));
        }
    }
    if let Some(v) = doc.remove("pxe_enabled") {
        p.pxe_enabled = body.boolean("pxe_enabled", v, true)?;
    }
    let group = match doc.remove("portgroup_uuid") {
        None | Some(Value::Null) => None,
        Some(v) => {
            let u = body.uuid("portgroup_uuid", v)?;
            let g = ports::portgroup_by_uuid(&state.db, &u)
                .await?
                .ok_or_else(|| Error::invalid(format!("Portgroup {u} could not be found.")))?;
            if g.node_id != node.id {
                return Err(Error::invalid(
                    "Port can not be added to a portgroup belonging to a different node.",
                ));
            }
            if p.pxe_enabled && !g.standalone_ports_supported {
                return Err(Error::Conflict(format!(
                    "Port group {} doesn't support standalone ports. This port cannot be a \
                     member of that portgroup as the port's 'pxe_enabled' field is True.",
                    g.uuid
                )));
            }
            Some(g)
        }
    };
    p.portgroup_id = group.as_ref().map(|g| g.id);
    Ok((p, node, group))
}

#[utoipa::path(post, path = "/v1/ports", tag = "Ports", params(super::openapi::VersionHeaders), request_body(content = serde_json::Value, description = "address and node_uuid required; extra, local_link_connection and pxe_enabled (1.19), portgroup_uuid (1.24), physical_network (1.34), is_smartnic (1.53), uuid"), responses((status = 201, description = "The new port"), (status = 400, description = "Invalid input", body = super::openapi::ErrorBody), (status = 409, description = "MAC address already registered, or node locked", body = super::openapi::ErrorBody)))]
pub async fn create(state: State, ctx: Ctx, body: web::Bytes) -> Result<HttpResponse> {
    let mut doc = common::parse_object(&body)?;
    let b = Body { kind: "port" };
    for k in doc.keys() {
        if !PATCHABLE.contains(&k.as_str()) && k != "uuid" {
            return Err(b.unexpected(k));
        }
        if !ctx.version.at_least(field_since(k)) {
            return Err(collection::field_too_new(k, field_since(k)));
        }
    }
    let uuid = collection::new_uuid(&b, doc.remove("uuid"))?;
    let blank = Port {
        id: 0,
        uuid,
        address: String::new(),
        node_id: 0,
        portgroup_id: None,
        extra: json!({}),
        local_link_connection: json!({}),
        internal_info: json!({}),
        pxe_enabled: true,
        physical_network: None,
        is_smartnic: false,
        created_at: chrono::Utc::now(),
        updated_at: None,
    };
    let (p, node, _) = build(&state, &ctx, doc, blank).await?;
    ctx.authorize_node("baremetal:port:create", &node, &node.uuid)?;
    let saved = with_lock(&state, &node, async |_| {
        check_group_physnet(&state, &p).await?;
        ports::insert_port(&state.db, p).await
    })
    .await?;
    tracing::info!(node = %node.uuid, port = %saved.uuid, address = %saved.address, "port created");
    let n = names(&state, std::slice::from_ref(&saved)).await?;
    Ok(HttpResponse::Created()
        .insert_header((
            header::LOCATION,
            format!("{}/v1/ports/{}", ctx.base, saved.uuid),
        ))
        .json(view(&ctx, &saved, &n, None, true)))
}

/// The ports of a portgroup are on one physical network: a port joining a group, or
/// changing its network inside one, must match the other members (409 otherwise, as
/// in Ironic).
async fn check_group_physnet(state: &AppState, p: &Port) -> Result<()> {
    let Some(group) = p.portgroup_id else {
        return Ok(());
    };
    let members = ports::ports_in_portgroup(&state.db, group).await?;
    if let Some(other) = members
        .iter()
        .find(|m| m.uuid != p.uuid && m.physical_network != p.physical_network)
    {
        let show = |n: &Option<String>| n.clone().unwrap_or_else(|| "None".to_owned());
        return Err(Error::Conflict(format!(
            "Port with physical network {} can not be a member of a port group whose \
             ports are on physical network {} (port {}).",
            show(&p.physical_network),
            show(&other.physical_network),
            other.uuid
        )));
    }
    Ok(())
}

/// Refuses a change of wiring or address while the node is in use, as Ironic does.
fn check_port_change(node: &Node, old: &Port, new: &Port) -> Result<()> {
    let state = node.provision_state.parse::<ProvisionState>().ok();
    let in_use = state == Some(ProvisionState::Active) || node.instance_uuid.is_some();
    if old.address != new.address && in_use && !node.maintenance {
        return Err(Error::InvalidState(format!(
            "Cannot update hardware address for port {} as node {} is active or has \
             instance UUID assigned",
            old.uuid, node.uuid
        )));
    }
    let rewired = old.portgroup_id != new.portgroup_id
        || old.pxe_enabled != new.pxe_enabled
        || old.local_link_connection != new.local_link_connection
        || old.physical_network != new.physical_network;
    let settled = matches!(
        state,
        Some(
            ProvisionState::Enroll
                | ProvisionState::Manageable
                | ProvisionState::Inspecting
                | ProvisionState::InspectWait
        )
    );
    if rewired && !settled && !node.maintenance {
        return Err(Error::InvalidState(format!(
            "Port {} can not have any connectivity attributes ({}) updated unless node {} \
             is in a enroll, inspecting, inspect wait, manageable state or in maintenance \
             mode. The current state is {}.",
            old.uuid,
            CONNECTIVITY.join(", "),
            node.uuid,
            node.provision_state
        )));
    }
    Ok(())
}

#[utoipa::path(patch, path = "/v1/ports/{port}", tag = "Ports", params(super::openapi::VersionHeaders, ("port" = String, Path, description = "Port UUID")), request_body(content = Vec<serde_json::Value>, description = "RFC 6902 patch of address, node_uuid, portgroup_uuid, extra, local_link_connection, pxe_enabled, physical_network, is_smartnic"), responses((status = 200, description = "The updated port"), (status = 400, description = "Invalid input", body = super::openapi::ErrorBody), (status = 404, description = "Port not found", body = super::openapi::ErrorBody), (status = 409, description = "Conflict or node locked", body = super::openapi::ErrorBody)))]
pub async fn update(
    state: State,
    ctx: Ctx,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse> {
    let ops = common::parse_value(&body)?;
    let saved = retry_stale(async || update_once(&state, &ctx, &path, &ops).await).await?;
    let n = names(&state, std::slice::from_ref(&saved)).await?;
    Ok(HttpResponse::Ok().json(view(&ctx, &saved, &n, None, true)))
}

/// The port as stored now, under the node's reservation; [`Error::Stale`] when it
/// changed since `seen` was read (a VIF attached meanwhile, say).
async fn reread(state: &AppState, locked: &Node, seen: &Port) -> Result<Port> {
    let fresh = ports::port_by_uuid(&state.db, &seen.uuid)
        .await?
        .ok_or_else(|| Error::not_found("Port", seen.uuid.clone()))?;
    if &fresh != seen || fresh.node_id != locked.id {
        return Err(Error::Stale(locked.uuid.clone()));
    }
    Ok(fresh)
}

/// One attempt at a PATCH: computed from a read of the port, written only if the port
/// is unchanged when the node's reservation is held.
async fn update_once(state: &AppState, ctx: &Ctx, ident: &str, ops: &Value) -> Result<Port> {
    let old = find(state, ident).await?;
    let node = node_of(state, old.node_id).await?;
    ctx.authorize_node_as("baremetal:port:update", &node, "Port", ident)?;
    let n = names(state, std::slice::from_ref(&old)).await?;
    let node_uuid = n.nodes.get(&old.node_id).cloned().unwrap_or_default();
    let group_uuid = old.portgroup_id.and_then(|id| n.groups.get(&id).cloned());
    let mut doc = doc_of(&old, &node_uuid, group_uuid.as_deref());
    patch::apply(
        &mut doc,
        ops,
        |op| {
            if !PATCHABLE.contains(&op.root.as_str()) {
                return Err(patch::not_patchable(op, PATCHABLE));
            }
            if op.removes_root() && matches!(op.root.as_str(), "address" | "node_uuid") {
                return Err(patch::mandatory(&op.root));
            }
            if !ctx.version.at_least(field_since(&op.root)) {
                return Err(Error::NotAcceptable("Request not acceptable.".into()));
            }
            Ok(())
        },
        |root| match root {
            "extra" | "local_link_connection" => json!({}),
            "pxe_enabled" => json!(true),
            "is_smartnic" => json!(false),
            _ => Value::Null,
        },
    )?;
    let (new, new_node, _) = build(state, ctx, doc, old.clone()).await?;
    if new == old {
        return Ok(old);
    }
    if new_node.id != old.node_id {
        ctx.authorize_node("baremetal:port:update", &new_node, &new_node.uuid)?;
    }
    let old_node = lookup(state, ctx, &node_uuid).await?;
    let saved = with_lock(state, &old_node, async |locked| {
        reread(state, locked, &old).await?;
        check_port_change(locked, &old, &new)?;
        if new.portgroup_id != old.portgroup_id || new.physical_network != old.physical_network {
            check_group_physnet(state, &new).await?;
        }
        let mut p = new.clone();
        if new_node.id != old.node_id {
            // Moving a port takes the new node's reservation too.
            with_lock(state, &new_node, async |target| {
                check_port_change(target, &old, &new)?;
                ports::save_port(&state.db, &mut p).await
            })
            .await?;
        } else {
            ports::save_port(&state.db, &mut p).await?;
        }
        Ok(p)
    })
    .await?;
    tracing::info!(port = %saved.uuid, "port updated");
    Ok(saved)
}

#[utoipa::path(delete, path = "/v1/ports/{port}", tag = "Ports", params(super::openapi::VersionHeaders, ("port" = String, Path, description = "Port UUID")), responses((status = 204, description = "Deleted"), (status = 400, description = "A VIF is attached and the node is not in maintenance", body = super::openapi::ErrorBody), (status = 404, description = "Port not found", body = super::openapi::ErrorBody), (status = 409, description = "Node locked", body = super::openapi::ErrorBody)))]
pub async fn delete(state: State, ctx: Ctx, path: web::Path<String>) -> Result<HttpResponse> {
    let p = find(&state, &path).await?;
    let node = node_of(&state, p.node_id).await?;
    ctx.authorize_node_as("baremetal:port:delete", &node, "Port", &path)?;
    with_lock(&state, &node, async |locked| {
        // Decide on the port as stored now that the node is held.
        let p = ports::port_by_uuid(&state.db, &p.uuid)
            .await?
            .ok_or_else(|| Error::not_found("Port", p.uuid.clone()))?;
        if let Some(vif) = crate::conductor::vifs::vif_of_port(&p)
            && !locked.maintenance
        {
            return Err(Error::InvalidState(format!(
                "Cannot delete the port {} as it is bound to VIF {vif} for use.",
                p.uuid
            )));
        }
        ports::delete_port(&state.db, p.id).await
    })
    .await?;
    tracing::info!(node = %node.uuid, port = %p.uuid, "port deleted");
    Ok(HttpResponse::NoContent().finish())
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        resource("/v1/ports")
            .route(web::get().to(list))
            .route(web::post().to(create)),
    )
    .service(resource("/v1/ports/detail").route(web::get().to(list_detail)))
    .service(
        resource("/v1/ports/{port}")
            .route(web::get().to(show))
            .route(web::patch().to(update))
            .route(web::delete().to(delete)),
    )
    .service(resource("/v1/nodes/{node}/ports").route(web::get().to(list_of_node)))
    .service(resource("/v1/nodes/{node}/ports/detail").route(web::get().to(list_of_node_detail)))
    .service(resource("/v1/portgroups/{portgroup}/ports").route(web::get().to(list_of_portgroup)))
    .service(
        resource("/v1/portgroups/{portgroup}/ports/detail")
            .route(web::get().to(list_of_portgroup_detail)),
    );
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(
    list,
    list_detail,
    list_of_node,
    list_of_node_detail,
    list_of_portgroup,
    list_of_portgroup_detail,
    show,
    create,
    update,
    delete
))]
pub struct Doc;
