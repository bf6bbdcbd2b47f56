//! `/v1/nodes`: create, list, show, update (JSON patch) and delete.

use std::collections::HashMap;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use futures_util::StreamExt;
use serde_json::{Map, Value, json};

use super::common::{self, Ctx, Page};
use super::node_view::{self, Extras};
use super::openapi::ErrorBody;
use super::version::{ApiVersion, Feature};
use super::{AppState, resource};
use crate::conductor::states::ProvisionState;
use crate::config::InterfaceKind;
use crate::db::allocations;
use crate::db::node_fields::{self, Access};
use crate::db::nodes::{self, ListOpts, Node, NodeFilter};
use crate::error::{Error, Result};
use crate::rpc::Request;

type State = web::Data<AppState>;

/// Query string as a map; a malformed one is a 400.
pub fn query(req: &HttpRequest) -> Result<HashMap<String, String>> {
    web::Query::<HashMap<String, String>>::from_query(req.query_string())
        .map(|q| q.into_inner())
        .map_err(|e| Error::invalid(format!("Invalid query string: {e}")))
}

/// The faults a node can be in (its `fault` field), as Ironic names them.
const NODE_FAULTS: &[&str] = &[
    "power failure",
    "clean failure",
    "rescue abort failure",
    "service failure",
];

/// Requires `feature` for a query parameter; Ironic answers 406 otherwise.
fn gate(ctx: &Ctx, feature: Feature, what: &str) -> Result<()> {
    if ctx.version.has(feature) {
        Ok(())
    } else {
        Err(Error::NotAcceptable(format!(
            "The parameter \"{what}\" requires API version 1.{} or later.",
            feature.since()
        )))
    }
}

fn bool_param(q: &HashMap<String, String>, name: &str) -> Result<Option<bool>> {
    q.get(name).map(|s| common::parse_bool(name, s)).transpose()
}

/// Computed fields of many nodes at once.
pub async fn extras_for(
    state: &AppState,
    ctx: &Ctx,
    list: &[Node],
    fields: Option<&[String]>,
) -> Result<Vec<Extras>> {
    let wants = |f: &str| {
        node_view::is_visible(f, ctx.version) && fields.is_none_or(|l| l.iter().any(|x| x == f))
    };
    let ids: Vec<i64> = list.iter().map(|n| n.id).collect();
    let mut traits = if wants("traits") {
        nodes::traits_of(&state.db, &ids).await?
    } else {
        HashMap::new()
    };
    let chassis_ids: Vec<i64> = list.iter().filter_map(|n| n.chassis_id).collect();
    let chassis = if wants("chassis_uuid") {
        nodes::chassis_uuids(&state.db, &chassis_ids).await?
    } else {
        HashMap::new()
    };
    // The owner by the hash ring, as the API routes the node's requests; none when no
    // alive conductor serves the node (or the conductor list cannot be read).
    let rings = if wants("conductor") {
        state.ring.rings().await.ok()
    } else {
        None
    };
    let allocation_ids: Vec<i64> = list.iter().filter_map(|n| n.allocation_id).collect();
    let allocations = if wants("allocation_uuid") && !allocation_ids.is_empty() {
        allocations::uuids_by_id(&state.db, &allocation_ids).await?
    } else {
        HashMap::new()
    };
    Ok(list
        .iter()
        .map(|n| Extras {
            traits: traits.remove(&n.id).unwrap_or_default(),
            conductor: rings
                .as_ref()
                .and_then(|r| r.owner_of(n))
                .map(str::to_owned),
            chassis_uuid: n.chassis_id.and_then(|c| chassis.get(&c).cloned()),
            allocation_uuid: n.allocation_id.and_then(|a| allocations.get(&a).cloned()),
        })
        .collect())
}

/// One node rendered in full.
pub async fn render_one(
    state: &AppState,
    ctx: &Ctx,
    n: &Node,
    fields: Option<&[String]>,
) -> Result<Value> {
    let extras = extras_for(state, ctx, std::slice::from_ref(n), fields)
        .await?
        .pop()
        .unwrap_or_default();
    Ok(node_view::render(ctx, n, &extras, fields, false))
}

/// Looks a node up by UUID or (from 1.5) name.
pub async fn lookup(state: &AppState, ctx: &Ctx, ident: &str) -> Result<Node> {
    if !common::is_uuid_like(ident) && !ctx.version.has(Feature::NodeName) {
        return Err(Error::not_found("Node", ident));
    }
    nodes::get(&state.db, ident).await
}

/// Looks a node up and checks `rule` on it for the caller: 404 when the caller may
/// not see the node, 403 when `rule` refuses (see `api::access`).
pub async fn lookup_for(state: &AppState, ctx: &Ctx, ident: &str, rule: &str) -> Result<Node> {
    let n = lookup(state, ctx, ident).await?;
    ctx.authorize_node(rule, &n, ident)?;
    Ok(n)
}

fn filter_from(ctx: &Ctx, q: &HashMap<String, String>) -> Result<NodeFilter> {
    let mut f = NodeFilter::default();
    if let Some(v) = q.get("provision_state") {
        if v.parse::<ProvisionState>().is_err() {
            return Err(Error::invalid(format!(
                "Invalid value for provision_state: {v} is not a provision state."
            )));
        }
        f.provision_state = Some(v.clone());
    }
    f.maintenance = bool_param(q, "maintenance")?;
    f.associated = bool_param(q, "associated")?;
    if let Some(v) = q.get("instance_uuid") {
        f.instance_uuid = Some(common::canonical_uuid(v).ok_or_else(|| {
            Error::invalid(format!(
                "Expected a UUID for instance_uuid but received {v}."
            ))
        })?);
    }
    if let Some(v) = q.get("driver") {
        f.driver = Some(v.clone());
    }
    if let Some(v) = q.get("resource_class") {
        gate(ctx, Feature::ResourceClass, "resource_class")?;
        f.resource_class = Some(v.clone());
    }
    if let Some(v) = q.get("conductor_group") {
        gate(ctx, Feature::ConductorGroup, "conductor_group")?;
        f.conductor_group = Some(v.clone());
    }
    if let Some(v) = q.get("fault") {
        gate(ctx, Feature::Fault, "fault")?;
        if !NODE_FAULTS.contains(&v.as_str()) {
            return Err(Error::invalid(format!(
                "Unknown fault: {v}. Valid faults are: {}.",
                NODE_FAULTS.join(", ")
            )));
        }
        f.fault = Some(v.clone());
    }
    if let Some(v) = q.get("owner") {
        gate(ctx, Feature::Owner, "owner")?;
        f.owner = Some(v.clone());
    }
    if let Some(v) = q.get("lessee") {
        gate(ctx, Feature::Lessee, "lessee")?;
        f.lessee = Some(v.clone());
    }
    if let Some(v) = q.get("description_contains") {
        gate(ctx, Feature::Description, "description_contains")?;
        f.description_contains = Some(v.clone());
    }
    if q.contains_key("retired") {
        gate(ctx, Feature::Retired, "retired")?;
        f.retired = bool_param(q, "retired")?;
    }
    if f.associated.is_some() && f.instance_uuid.is_some() {
        // Ironic lets instance_uuid win.
        f.associated = None;
    }
    Ok(f)
}

/// The chassis a node list is limited to (`/v1/chassis/{uuid}/nodes`).
#[derive(Debug, Clone, Copy)]
pub struct ChassisScope<'a> {
    pub id: i64,
    pub uuid: &'a str,
}

/// A page of nodes, of one chassis when `chassis` is given.
pub async fn list_nodes(
    state: &web::Data<AppState>,
    ctx: &Ctx,
    req: &HttpRequest,
    detail_path: bool,
    chassis: Option<ChassisScope<'_>>,
) -> Result<HttpResponse> {
    let q = query(req)?;
    let detail_param = bool_param(&q, "detail")?;
    if detail_param.is_some() {
        gate(ctx, Feature::DetailQuery, "detail")?;
        if detail_path {
            return Err(Error::invalid(format!(
                "The \"detail\" parameter can not be used on {}.",
                req.path()
            )));
        }
    }
    let detail = detail_path || detail_param.unwrap_or(false);
    let fields_raw = q.get("fields").map(String::as_str);
    if fields_raw.is_some() {
        gate(ctx, Feature::FieldsSelector, "fields")?;
        if detail {
            return Err(Error::invalid(
                "Can not specify ?detail=True and fields in the same request.",
            ));
        }
    }
    let fields = common::parse_fields(fields_raw, &node_view::visible_fields(ctx.version))?;
    let mut filter = filter_from(ctx, &q)?;
    // A project-scoped caller lists the nodes its project owns or leases.
    filter.project = ctx.list_scope("node", filter.owner.as_deref())?;
    if let Some(c) = chassis {
        filter.chassis_id = Some(c.id);
    } else if let Some(c) = q.get("chassis_uuid") {
        let uuid = common::canonical_uuid(c).ok_or_else(|| {
            Error::invalid(format!(
                "Expected a UUID for chassis_uuid but received {c}."
            ))
        })?;
        filter.chassis_id = Some(nodes::chassis_id_of(&state.db, &uuid).await?);
    }
    let page = Page::parse(&q, nodes::SORTABLE, state.config.api.max_limit as u64)?;
    let marker = match &page.marker {
        Some(m) => Some(
            nodes::by_uuid(&state.db, m)
                .await?
                .ok_or_else(|| Error::invalid(format!("Marker {m} could not be found.")))?,
        ),
        None => None,
    };
    let path = match (chassis, detail_path) {
        (Some(c), false) => format!("chassis/{}/nodes", c.uuid),
        (Some(c), true) => format!("chassis/{}/nodes/detail", c.uuid),
        (None, false) => "nodes".to_owned(),
        (None, true) => "nodes/detail".to_owned(),
    };
    let mut list = NodeList {
        state: state.clone(),
        ctx: ctx.clone(),
        filter,
        fields,
        detail,
        left: page.limit,
        marker,
        count: 0,
        last_uuid: None,
        path,
        page,
        q,
    };
    // The first chunk is read before the answer starts, so that a failing query is
    // still an error response. A page that fits in it is sent whole; a longer one
    // is streamed chunk by chunk, so a page of a thousand detailed nodes is never
    // in memory at once, whatever the number of concurrent requests.
    let mut out = Vec::with_capacity(LIST_CHUNK as usize * if detail { 2048 } else { 256 });
    out.extend_from_slice(b"{\"nodes\": [");
    list.next_chunk(&mut out).await?;
    if list.done() {
        list.finish(&mut out)?;
        return Ok(HttpResponse::Ok()
            .content_type("application/json")
            .body(out));
    }
    let first = bytes::Bytes::from(out);
    let rest = futures_util::stream::unfold(Some(list), |list| async move {
        let mut list = list?;
        let mut out = Vec::with_capacity(LIST_CHUNK as usize * 2048);
        let step = async {
            list.next_chunk(&mut out).await?;
            let done = list.done();
            if done {
                list.finish(&mut out)?;
            }
            Ok::<bool, Error>(done)
        };
        match step.await {
            Ok(done) => Some((
                Ok::<_, Error>(bytes::Bytes::from(out)),
                (!done).then_some(list),
            )),
            Err(e) => {
                // Too late for an error response: the client sees a cut body.
                tracing::error!(error = %e, "node list broken off");
                Some((Err(e), None))
            }
        }
    });
    let body = futures_util::stream::once(async move { Ok::<_, Error>(first) }).chain(rest);
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .streaming(body))
}

/// Nodes read, rendered and written out this many at a time.
const LIST_CHUNK: u64 = 100;

/// A node list being written out chunk by chunk.
struct NodeList {
    state: web::Data<AppState>,
    ctx: Ctx,
    filter: NodeFilter,
    fields: Option<Vec<String>>,
    detail: bool,
    /// Nodes still wanted for the page.
    left: u64,
    /// The last node written (the next chunk starts after it); `None` once a chunk
    /// came back short: the list is complete.
    marker: Option<Node>,
    count: usize,
    last_uuid: Option<String>,
    path: String,
    page: Page,
    q: HashMap<String, String>,
}

impl NodeList {
    /// Is the page complete (as long as asked, or the nodes ran out)?
    fn done(&self) -> bool {
        self.left == 0 || self.marker.is_none()
    }

    /// Reads the next chunk and appends its rendered nodes to `out`.
    async fn next_chunk(&mut self, out: &mut Vec<u8>) -> Result<()> {
        let want = self.left.min(LIST_CHUNK);
        let chunk = nodes::list(
            &self.state.db,
            &self.filter,
            &ListOpts {
                limit: want,
                marker: self.marker.take(),
                sort_key: self.page.sort_key.clone(),
                descending: self.page.sort_dir == common::SortDir::Desc,
            },
        )
        .await?;
        let extras = extras_for(&self.state, &self.ctx, &chunk, self.fields.as_deref()).await?;
        self.left -= chunk.len() as u64;
        let complete = (chunk.len() as u64) < want;
        for (n, e) in chunk.iter().zip(extras.iter()) {
            if self.count > 0 {
                out.extend_from_slice(b", ");
            }
            let item = node_view::render(&self.ctx, n, e, self.fields.as_deref(), !self.detail);
            serde_json::to_writer(&mut *out, &item)
                .map_err(|e| Error::Internal(format!("rendering node {}: {e}", n.uuid)))?;
            self.count += 1;
        }
        if let Some(last) = chunk.into_iter().last() {
            self.last_uuid = Some(last.uuid.clone());
            if !complete {
                self.marker = Some(last);
            }
        }
        Ok(())
    }

    /// Closes the list: `]`, the `next` link of a full page, `}`.
    fn finish(&self, out: &mut Vec<u8>) -> Result<()> {
        out.push(b']');
        let mut tail = Map::new();
        common::add_next(
            &mut tail,
            &self.ctx,
            &self.path,
            &self.page,
            &self.q,
            self.count,
            self.last_uuid.as_deref(),
        );
        for (k, v) in tail {
            out.extend_from_slice(b", ");
            serde_json::to_writer(&mut *out, &k)
                .and_then(|_| {
                    out.extend_from_slice(b": ");
                    serde_json::to_writer(&mut *out, &v)
                })
                .map_err(|e| Error::Internal(format!("rendering the node list: {e}")))?;
        }
        out.push(b'}');
        Ok(())
    }
}

#[utoipa::path(get, path = "/v1/nodes", tag = "Nodes", params(super::openapi::VersionHeaders, ("fields" = Option<String>, Query, description = "Comma-separated fields to return (1.8)"), ("detail" = Option<bool>, Query, description = "Return full nodes (1.43)"), ("limit" = Option<u32>, Query, description = "Page size, at most [api] max_limit"), ("marker" = Option<String>, Query, description = "UUID of the last node of the previous page"), ("sort_key" = Option<String>, Query, description = "Field to sort by"), ("sort_dir" = Option<String>, Query, description = "asc or desc"), ("provision_state" = Option<String>, Query, description = "Filter"), ("maintenance" = Option<bool>, Query, description = "Filter"), ("associated" = Option<bool>, Query, description = "Filter: has an instance"), ("instance_uuid" = Option<String>, Query, description = "Filter"), ("driver" = Option<String>, Query, description = "Filter"), ("resource_class" = Option<String>, Query, description = "Filter (1.21)"), ("conductor_group" = Option<String>, Query, description = "Filter (1.46)"), ("fault" = Option<String>, Query, description = "Filter (1.42)"), ("owner" = Option<String>, Query, description = "Filter (1.50)"), ("lessee" = Option<String>, Query, description = "Filter (1.65)")), responses((status = 200, description = "A page of nodes, with a next link when the page is full"), (status = 400, description = "Invalid filter, field or page parameter", body = ErrorBody), (status = 406, description = "A parameter needs a newer microversion", body = ErrorBody)))]
pub async fn list(state: State, ctx: Ctx, req: HttpRequest) -> Result<HttpResponse> {
    list_nodes(&state, &ctx, &req, false, None).await
}

#[utoipa::path(get, path = "/v1/nodes/detail", tag = "Nodes", params(super::openapi::VersionHeaders), responses((status = 200, description = "A page of nodes with every field; same filters as /v1/nodes")))]
pub async fn list_detail(state: State, ctx: Ctx, req: HttpRequest) -> Result<HttpResponse> {
    list_nodes(&state, &ctx, &req, true, None).await
}

#[utoipa::path(get, path = "/v1/nodes/{node}", tag = "Nodes", params(super::openapi::VersionHeaders, ("node" = String, Path, description = "Node UUID or name (names from 1.5)"), ("fields" = Option<String>, Query, description = "Fields to return (1.8)")), responses((status = 200, description = "The node", body = super::openapi::NodeSchema), (status = 400, description = "Invalid input", body = ErrorBody), (status = 404, description = "Node not found", body = ErrorBody), (status = 406, description = "Version not acceptable", body = ErrorBody)))]
pub async fn show(
    state: State,
    ctx: Ctx,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    let q = query(&req)?;
    let fields_raw = q.get("fields").map(String::as_str);
    if fields_raw.is_some() {
        gate(&ctx, Feature::FieldsSelector, "fields")?;
    }
    let fields = common::parse_fields(fields_raw, &node_view::visible_fields(ctx.version))?;
    let n = lookup_for(&state, &ctx, &path, super::access::NODE_GET).await?;
    Ok(HttpResponse::Ok().json(render_one(&state, &ctx, &n, fields.as_deref()).await?))
}

/// Fields a client may give on create, each with the version that allows it.
const CREATE_FIELDS: &[(&str, u16)] = &[
    ("uuid", 1),
    ("driver", 1),
    ("driver_info", 1),
    ("properties", 1),
    ("extra", 1),
    ("instance_info", 1),
    ("instance_uuid", 1),
    ("chassis_uuid", 1),
    ("name", 5),
    ("network_interface", 20),
    ("resource_class", 21),
    ("boot_interface", 31),
    ("console_interface", 31),
    ("deploy_interface", 31),
    ("inspect_interface", 31),
    ("management_interface", 31),
    ("power_interface", 31),
    ("raid_interface", 31),
    ("vendor_interface", 31),
    ("storage_interface", 33),
    ("rescue_interface", 38),
    ("bios_interface", 40),
    ("conductor_group", 46),
    ("automated_clean", 47),
    ("protected", 48),
    ("protected_reason", 48),
    ("owner", 50),
    ("description", 51),
    ("retired", 61),
    ("retired_reason", 61),
    ("lessee", 65),
    ("network_data", 66),
];

fn no_conductor(driver: &str, group: &str) -> Error {
    Error::invalid(format!(
        "No valid host was found. Reason: No conductor service registered which supports \
         driver {driver} for conductor group \"{group}\". Ensure the driver is valid and enabled."
    ))
}

/// Fills unset interfaces with the hardware type's defaults and checks set ones.
fn resolve_interfaces(state: &AppState, n: &mut Node, explicit: &[InterfaceKind]) -> Result<()> {
    let hw = state
        .registry
        .hardware_type(&n.driver)
        .filter(|_| {
            state
                .config
                .default
                .enabled_hardware_types
                .contains(&n.driver)
        })
        .ok_or_else(|| no_conductor(&n.driver, &n.conductor_group))?;
    for kind in InterfaceKind::ALL {
        let field = format!("{}_interface", kind.as_str());
        if explicit.contains(&kind) {
            let name = crate::drivers::node_interface(n, kind).to_owned();
            state
                .registry
                .check_interface(&state.config, hw, kind, &name)?;
        } else {
            let d = state
                .registry
                .default_for(&state.config, hw, kind)
                .ok_or_else(|| {
                    Error::invalid(format!(
                        "No default value found for {} interface of hardware type {}: none of its \
                     supported implementations is enabled.",
                        kind.as_str(),
                        hw.name
                    ))
                })?;
            node_fields::set(n, &field, Value::String(d.to_owned()))?;
        }
    }
    Ok(())
}

fn schema_error(field: &str) -> Error {
    Error::invalid(format!(
        "Schema error for node: Additional properties are not allowed ('{field}' was unexpected)"
    ))
}

#[utoipa::path(post, path = "/v1/nodes", tag = "Nodes", params(super::openapi::VersionHeaders), request_body(content = super::openapi::NodeSchema, description = "driver is required; the writable fields of the negotiated version may be given"), responses((status = 201, description = "Created; new nodes start in enroll (available before 1.11)", body = super::openapi::NodeSchema), (status = 400, description = "Invalid input or driver not enabled", body = ErrorBody), (status = 409, description = "Name or UUID taken", body = ErrorBody)))]
pub async fn create(state: State, ctx: Ctx, body: web::Bytes) -> Result<HttpResponse> {
    // A caller that may not create nodes in general may create nodes its own project
    // owns (Ironic's project_admin_can_manage_own_nodes).
    let own_project = if ctx.allowed("baremetal:node:create", &crate::auth::Target::new()) {
        None
    } else {
        match &ctx.auth.project_id {
            Some(p)
                if ctx.allowed(
                    "baremetal:node:create:self_owned_node",
                    &crate::auth::Target::new(),
                ) =>
            {
                Some(p.clone())
            }
            _ => return Err(crate::auth::policy::forbidden("baremetal:node:create")),
        }
    };
    let mut obj = common::parse_object(&body)?;
    let mut unset = Vec::new();
    for (key, value) in &obj {
        let allowed = CREATE_FIELDS
            .iter()
            .any(|(f, since)| f == key && ctx.version.at_least(*since));
        if !allowed {
            match CREATE_FIELDS.iter().find(|(f, _)| f == key) {
                // A newer field given as null is no field, as Ironic reads it.
                Some(_) if value.is_null() => unset.push(key.clone()),
                Some((_, since)) => return Err(super::collection::field_too_new(key, *since)),
                None => return Err(schema_error(key)),
            }
        }
    }
    for key in unset {
        obj.remove(&key);
    }
    // A node a project creates for itself is its own, whatever the version.
    if let Some(project) = own_project {
        match obj.get("owner") {
            None | Some(Value::Null) => {
                obj.insert("owner".into(), Value::String(project));
            }
            Some(Value::String(o)) if *o == project => {}
            Some(_) => return Err(crate::auth::policy::forbidden("baremetal:node:create")),
        }
    }
    let driver = match obj.remove("driver") {
        Some(Value::String(d)) if !d.is_empty() => d,
        Some(other) => {
            return Err(Error::invalid(format!(
                "Schema error for node: {other} is not a valid driver name."
            )));
        }
        None => {
            return Err(Error::invalid(
                "Schema error for node: 'driver' is a required property",
            ));
        }
    };
    let uuid = match obj.remove("uuid") {
        None | Some(Value::Null) => uuid::Uuid::new_v4().to_string(),
        Some(Value::String(u)) => common::canonical_uuid(&u)
            .ok_or_else(|| Error::invalid(format!("Expected a UUID but received {u}.")))?,
        Some(other) => {
            return Err(Error::invalid(format!(
                "Expected a UUID but received {other}."
            )));
        }
    };
    let initial = if ctx.version.has(Feature::NodeEnrollState) {
        ProvisionState::Enroll
    } else {
        ProvisionState::Available
    };
    let mut n = nodes::blank(uuid, driver, initial.as_str());
    if let Some(c) = obj.remove("chassis_uuid")
        && !c.is_null()
    {
        let c = c.as_str().and_then(common::canonical_uuid).ok_or_else(|| {
            Error::invalid(format!(
                "Expected a UUID for chassis_uuid but received {c}."
            ))
        })?;
        n.chassis_id = Some(nodes::chassis_id_of(&state.db, &c).await?);
    }
    let mut explicit = Vec::new();
    for (k, v) in obj {
        if let Some(kind) = InterfaceKind::ALL
            .iter()
            .find(|kd| format!("{}_interface", kd.as_str()) == k)
        {
            if v.is_null() {
                continue;
            }
            explicit.push(*kind);
        }
        node_fields::set(&mut n, &k, v)?;
    }
    if n.protected {
        return Err(Error::invalid(
            "A node can only be protected while it is active.",
        ));
    }
    resolve_interfaces(&state, &mut n, &explicit)?;
    let saved = nodes::insert(&state.db, n, &[]).await?;
    tracing::info!(node = %saved.uuid, driver = %saved.driver, "node created");
    let body = render_one(&state, &ctx, &saved, None).await?;
    Ok(HttpResponse::Created()
        .insert_header((
            header::LOCATION,
            format!("{}/v1/nodes/{}", ctx.base, saved.uuid),
        ))
        .json(body))
}

/// Turns a JSON patch into the changed fields of a node, applying Ironic's rules: only
/// add, replace and remove; no read-only or unknown root attributes; remove resets a
/// field to its default.
pub fn patch_changes(
    state: &AppState,
    ctx: &Ctx,
    n: &Node,
    chassis_uuid: Option<String>,
    ops: &Value,
    reset_interfaces: Option<bool>,
) -> Result<Map<String, Value>> {
    let ops = ops
        .as_array()
        .filter(|a| !a.is_empty())
        .ok_or_else(|| Error::invalid("The patch must be a non-empty JSON array of operations."))?;
    let mut doc = Map::new();
    for (name, access) in node_fields::FIELDS {
        if *access == Access::Write && node_view::is_visible(name, ctx.version) {
            doc.insert(
                (*name).to_owned(),
                node_fields::get(n, name).unwrap_or(Value::Null),
            );
        }
    }
    doc.insert("chassis_uuid".into(), json!(chassis_uuid));
    let mut touched = Vec::new();
    let mut removed = Vec::new();
    for op in ops {
        let o = op
            .as_object()
            .ok_or_else(|| Error::invalid(format!("Invalid patch operation {op}.")))?;
        let kind = o.get("op").and_then(Value::as_str).unwrap_or("");
        let path = o.get("path").and_then(Value::as_str).ok_or_else(|| {
            Error::invalid(format!(
                "Invalid patch operation {op}: a \"path\" is required."
            ))
        })?;
        if !matches!(kind, "add" | "replace" | "remove") {
            return Err(Error::invalid(format!(
                "Invalid patch operation \"{kind}\": only add, replace and remove are supported."
            )));
        }
        if kind != "remove" && !o.contains_key("value") {
            return Err(Error::invalid(format!(
                "Invalid patch operation {op}: a \"value\" is required."
            )));
        }
        if !path.starts_with('/') || path.len() < 2 {
            return Err(Error::invalid(format!("Invalid patch path \"{path}\".")));
        }
        let root = path[1..]
            .split('/')
            .next()
            .unwrap_or("")
            .replace("~1", "/")
            .replace("~0", "~");
        let top_level = !path[1..].contains('/');
        match node_fields::access(&root) {
            _ if root == "chassis_uuid" => {}
            Some(Access::Write) if node_view::is_visible(&root, ctx.version) => {}
            Some(_) if node_view::is_visible(&root, ctx.version) => {
                return Err(Error::invalid(format!(
                    "'/{root}' is an internal attribute and can not be updated"
                )));
            }
            _ if ["traits", "conductor", "allocation_uuid"].contains(&root.as_str())
                && node_view::is_visible(&root, ctx.version) =>
            {
                return Err(Error::invalid(format!(
                    "'/{root}' is an internal attribute and can not be updated"
                )));
            }
            _ => {
                return Err(match node_view::since(&root) {
                    Some(since) => super::collection::field_too_new(&root, since),
                    None => Error::invalid(format!(
                        "Adding a new attribute (/{root}) to the root of the resource is not allowed"
                    )),
                });
            }
        }
        if top_level && kind == "remove" && root == "driver" {
            return Err(Error::invalid(
                "'/driver' is a mandatory attribute and can not be removed",
            ));
        }
        // Ironic treats "add" on an existing root attribute as "replace".
        let effective = if top_level && kind == "add" {
            "replace"
        } else {
            kind
        };
        let mut one = o.clone();
        one.insert("op".into(), Value::String(effective.into()));
        if top_level && kind == "remove" {
            removed.push(root.clone());
            doc.insert(root.clone(), node_fields::default_value(&root));
        } else {
            let p: json_patch::Patch =
                serde_json::from_value(Value::Array(vec![Value::Object(one)]))
                    .map_err(|e| Error::invalid(format!("Invalid patch operation {op}: {e}")))?;
            let mut target = Value::Object(std::mem::take(&mut doc));
            json_patch::patch(&mut target, &p)
                .map_err(|e| Error::invalid(format!("Unable to apply patch {op}: {e}")))?;
            doc = match target {
                Value::Object(m) => m,
                _ => return Err(Error::invalid("The patch replaced the whole node.")),
            };
        }
        if !touched.contains(&root) {
            touched.push(root);
        }
    }
    let mut changes = Map::new();
    for f in &touched {
        let new = doc.get(f).cloned().unwrap_or(Value::Null);
        if f == "chassis_uuid" {
            changes.insert(f.clone(), new);
            continue;
        }
        let old = node_fields::get(n, f).unwrap_or(Value::Null);
        if new != old {
            changes.insert(f.clone(), new);
        }
    }
    // Interfaces removed, or made invalid by a driver change, go back to the defaults.
    let new_driver = changes
        .get("driver")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let driver = new_driver.clone().unwrap_or_else(|| n.driver.clone());
    let reset_all = new_driver.is_some() && reset_interfaces.unwrap_or(false);
    if reset_interfaces == Some(true) && new_driver.is_none() {
        return Err(Error::invalid(
            "The reset_interfaces parameter can only be used when changing the node's driver.",
        ));
    }
    let needs_defaults = removed.iter().any(|r| r.ends_with("_interface")) || new_driver.is_some();
    if needs_defaults {
        let hw = state
            .registry
            .hardware_type(&driver)
            .ok_or_else(|| no_conductor(&driver, &n.conductor_group))?;
        for kind in InterfaceKind::ALL {
            let field = format!("{}_interface", kind.as_str());
            let explicitly_set = touched.contains(&field) && !removed.contains(&field);
            if explicitly_set {
                continue;
            }
            let current = crate::drivers::node_interface(n, kind).to_owned();
            let still_valid = state
                .registry
                .check_interface(&state.config, hw, kind, &current)
                .is_ok();
            if (removed.contains(&field) || reset_all || !still_valid)
                && let Some(d) = state.registry.default_for(&state.config, hw, kind)
            {
                if d == current {
                    // Reset to what it already is: no change.
                    changes.remove(&field);
                } else {
                    changes.insert(field, Value::String(d.to_owned()));
                }
            }
        }
    }
    // Type checks happen here too, so that nothing reaches the conductor malformed.
    let mut probe = n.clone();
    for (k, v) in &changes {
        if k != "chassis_uuid" {
            node_fields::set(&mut probe, k, v.clone())?;
        }
    }
    Ok(changes)
}

/// The changed fields of a PATCH on `n` and the current values they replace.
async fn node_changes(
    state: &AppState,
    ctx: &Ctx,
    n: &Node,
    ops: &Value,
    reset: Option<bool>,
) -> Result<(Map<String, Value>, Map<String, Value>)> {
    let chassis = match n.chassis_id {
        Some(id) => nodes::chassis_uuids(&state.db, &[id]).await?.remove(&id),
        None => None,
    };
    let mut changes = patch_changes(state, ctx, n, chassis, ops, reset)?;
    if let Some(c) = changes.remove("chassis_uuid") {
        let id = match c {
            Value::Null => Value::Null,
            Value::String(s) => {
                let u = common::canonical_uuid(&s).ok_or_else(|| {
                    Error::invalid(format!(
                        "Expected a UUID for chassis_uuid but received {s}."
                    ))
                })?;
                json!(nodes::chassis_id_of(&state.db, &u).await?)
            }
            other => {
                return Err(Error::invalid(format!(
                    "Expected a UUID for chassis_uuid but received {other}."
                )));
            }
        };
        if id != json!(n.chassis_id) {
            changes.insert("chassis_id".into(), id);
        }
    }
    let base = changes
        .keys()
        .map(|f| (f.clone(), node_fields::get(n, f).unwrap_or(Value::Null)))
        .collect();
    Ok((changes, base))
}

#[utoipa::path(patch, path = "/v1/nodes/{node}", tag = "Nodes", params(super::openapi::VersionHeaders, ("node" = String, Path, description = "Node UUID or name (names from 1.5)"), ("reset_interfaces" = Option<bool>, Query, description = "With a driver change, reset every interface to the new default (1.45)")), request_body(content = Vec<serde_json::Value>, description = "RFC 6902 patch with add, replace and remove; remove resets a field to its default"), responses((status = 200, description = "The updated node", body = super::openapi::NodeSchema), (status = 400, description = "Invalid input", body = ErrorBody), (status = 404, description = "Node not found", body = ErrorBody), (status = 406, description = "Version not acceptable", body = ErrorBody), (status = 409, description = "Node locked or conflicting state", body = ErrorBody)))]
pub async fn update(
    state: State,
    ctx: Ctx,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse> {
    let q = query(&req)?;
    let reset = match q.get("reset_interfaces") {
        Some(v) => {
            gate(&ctx, Feature::ResetInterfaces, "reset_interfaces")?;
            Some(common::parse_bool("reset_interfaces", v)?)
        }
        None => None,
    };
    let ops = common::parse_value(&body)?;
    let rules = Ctx::node_patch_rules(&ops);
    // The changes are computed from a read of the node; the conductor writes them only
    // if the node still has the values they were computed from, otherwise they are
    // computed again from a fresh read.
    let n = super::node_lock::retry_stale(async || {
        let n = lookup(&state, &ctx, &path).await?;
        ctx.authorize_node_all(&rules, &n, &path)?;
        let (changes, base) = node_changes(&state, &ctx, &n, &ops, reset).await?;
        if !changes.is_empty() {
            state
                .rpc
                .call(Request::UpdateNode {
                    node: n.uuid.clone(),
                    changes,
                    base,
                })
                .await?;
        }
        Ok(n)
    })
    .await?;
    let fresh = nodes::get(&state.db, &n.uuid).await?;
    Ok(HttpResponse::Ok().json(render_one(&state, &ctx, &fresh, None).await?))
}

#[utoipa::path(delete, path = "/v1/nodes/{node}", tag = "Nodes", params(super::openapi::VersionHeaders, ("node" = String, Path, description = "Node UUID or name (names from 1.5)")), responses((status = 204, description = "Deleted with its ports, portgroups and volume records"), (status = 400, description = "Invalid input", body = ErrorBody), (status = 404, description = "Node not found", body = ErrorBody), (status = 406, description = "Version not acceptable", body = ErrorBody), (status = 409, description = "Node locked or conflicting state", body = ErrorBody)))]
pub async fn delete(state: State, ctx: Ctx, path: web::Path<String>) -> Result<HttpResponse> {
    let n = lookup(&state, &ctx, &path).await?;
    // An owner project's admin may delete its own nodes.
    if let Err(e) = ctx.authorize_node("baremetal:node:delete", &n, &path) {
        if e.status() != 403 {
            return Err(e);
        }
        ctx.authorize_node("baremetal:node:delete:self_owned_node", &n, &path)
            .map_err(|_| e)?;
    }
    state
        .rpc
        .call(Request::DestroyNode {
            node: n.uuid.clone(),
        })
        .await?;
    tracing::info!(node = %n.uuid, "node deleted");
    Ok(HttpResponse::NoContent().finish())
}

/// The version in which the node resource's sub-paths are served.
pub fn min_version() -> ApiVersion {
    ApiVersion::MIN
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        resource("/v1/nodes")
            .route(web::get().to(list))
            .route(web::post().to(create)),
    )
    .service(resource("/v1/nodes/detail").route(web::get().to(list_detail)))
    .service(
        resource("/v1/nodes/{node}")
            .route(web::get().to(show))
            .route(web::patch().to(update))
            .route(web::delete().to(delete)),
    );
}
