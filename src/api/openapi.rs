//! The OpenAPI document of m2's API, generated from the handlers' annotations and from
//! the same field tables that shape the responses. `m2 openapi` prints it;
//! `api-ref/openapi.json` is its committed copy.

use utoipa::openapi::schema::{ObjectBuilder, Schema, SchemaFormat, SchemaType, Type};
use utoipa::openapi::{KnownFormat, RefOr};
use utoipa::{IntoParams, OpenApi, PartialSchema, ToSchema};

use super::node_view::NODE_FIELDS;
use super::version::{ApiVersion, MAX_MINOR, MIN_MINOR};

/// The microversion headers every request may carry.
#[derive(IntoParams)]
#[into_params(parameter_in = Header)]
#[allow(dead_code)]
pub struct VersionHeaders {
    /// Requested microversion, `1.N` or `latest`; 1.1 when absent.
    #[param(rename = "X-OpenStack-Ironic-API-Version")]
    ironic: Option<String>,
    /// Alternative spelling: `baremetal 1.N`.
    #[param(rename = "OpenStack-API-Version")]
    openstack: Option<String>,
}

/// Ironic's error body: `error_message` holds a JSON document as a string, with
/// `faultcode` (`Client` or `Server`), `faultstring` and `debuginfo`; routing errors
/// (unknown path, refused version) carry `code`, `title` and `description` instead.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ErrorBody {
    #[schema(
        example = "{\"faultcode\": \"Client\", \"faultstring\": \"Node x could not be found.\", \"debuginfo\": null}"
    )]
    error_message: String,
}

/// What a node field holds, for the schema.
fn field_schema(name: &str) -> (Type, Option<KnownFormat>, &'static str) {
    match name {
        "created_at"
        | "updated_at"
        | "provision_updated_at"
        | "inspection_started_at"
        | "inspection_finished_at" => (Type::String, Some(KnownFormat::DateTime), "Time (UTC)."),
        "driver_info" => (
            Type::Object,
            None,
            "How to reach and manage the hardware; secrets are shown as ******.",
        ),
        "driver_internal_info" => (
            Type::Object,
            None,
            "Information the conductor keeps about the node (read-only).",
        ),
        "properties" => (
            Type::Object,
            None,
            "Physical properties (cpus, memory_mb, local_gb, capabilities...).",
        ),
        "extra" => (Type::Object, None, "Free-form metadata."),
        "instance_info" => (
            Type::Object,
            None,
            "What to deploy (image_source, root_gb...); the configdrive is masked.",
        ),
        "clean_step" | "deploy_step" => (Type::Object, None, "The step running now; {} when none."),
        "raid_config" | "target_raid_config" | "network_data" => {
            (Type::Object, None, "Configuration document.")
        }
        "traits" => (
            Type::Array,
            None,
            "Traits of the node (standard or CUSTOM_ names).",
        ),
        "maintenance" | "console_enabled" | "protected" | "retired" => {
            (Type::Boolean, None, "Flag.")
        }
        "automated_clean" | "secure_boot" => {
            (Type::Boolean, None, "Flag; null means the service default.")
        }
        "uuid" | "instance_uuid" | "chassis_uuid" | "allocation_uuid" => {
            (Type::String, Some(KnownFormat::Uuid), "UUID.")
        }
        "provision_state" => (
            Type::String,
            None,
            "Provision state (enroll, manageable, available, deploying, active, ...).",
        ),
        "target_provision_state" => (
            Type::String,
            None,
            "The state an operation in progress leads to; null when stable.",
        ),
        "power_state" | "target_power_state" => {
            (Type::String, None, "power on, power off, error, or null.")
        }
        "reservation" => (
            Type::String,
            None,
            "Host of the conductor holding the node's lock, or null.",
        ),
        "conductor" => (
            Type::String,
            None,
            "Host of the conductor that manages the node.",
        ),
        n if n.ends_with("_interface") => (
            Type::String,
            None,
            "Implementation of this interface the node uses.",
        ),
        _ => (Type::String, None, "String."),
    }
}

/// The node resource, from the field table that drives responses.
pub struct NodeSchema;

impl PartialSchema for NodeSchema {
    fn schema() -> RefOr<Schema> {
        let mut obj = ObjectBuilder::new().description(Some(format!(
            "A bare-metal node. Fields appear from the microversion noted in their \
             description; a client asking for an older version does not see them. Versions \
             {} to {} are served.",
            ApiVersion::MIN,
            ApiVersion::MAX
        )));
        for (name, since) in NODE_FIELDS {
            let (ty, format, what) = field_schema(name);
            let since_note = if *since > MIN_MINOR {
                format!(" Since 1.{since}.")
            } else {
                String::new()
            };
            let prop = ObjectBuilder::new()
                .schema_type(SchemaType::new(ty))
                .format(format.map(SchemaFormat::KnownFormat))
                .description(Some(format!("{what}{since_note}")));
            obj = obj.property(*name, prop);
        }
        obj = obj
            .required("uuid")
            .required("driver")
            .required("provision_state");
        RefOr::T(Schema::Object(obj.build()))
    }
}

impl ToSchema for NodeSchema {
    fn name() -> std::borrow::Cow<'static, str> {
        "Node".into()
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "m2 Bare Metal API",
        description = "The OpenStack Bare Metal (Ironic) API v1 as m2 serves it. Errors use \
                       Ironic's body (see ErrorBody); every response carries the \
                       X-OpenStack-Ironic-API-Minimum-Version, -Maximum-Version and -Version \
                       headers and x-openstack-request-id."
    ),
    paths(
        super::root::root,
        super::root::v1,
        super::nodes::list,
        super::nodes::list_detail,
        super::nodes::show,
        super::nodes::create,
        super::nodes::update,
        super::nodes::delete,
        super::node_states::states,
        super::node_states::set_power,
        super::node_states::set_provision,
        super::node_states::get_console,
        super::node_states::set_console,
        super::node_states::validate,
        super::node_states::set_maintenance,
        super::node_states::unset_maintenance,
        super::node_states::get_boot_device,
        super::node_states::set_boot_device,
        super::node_states::supported_boot_devices,
        super::node_states::inject_nmi,
        super::node_states::recover,
        super::node_states::list_vifs,
        super::node_states::attach_vif,
        super::node_states::detach_vif,
        super::node_states::list_traits,
        super::node_states::set_traits,
        super::node_states::add_trait,
        super::node_states::remove_traits,
        super::node_states::remove_trait,
        super::node_states::list_bios,
        super::node_states::show_bios,
    ),
    components(schemas(ErrorBody, NodeSchema)),
    tags(
        (name = "Version discovery", description = "Root and v1 documents; the versions served."),
        (name = "Nodes", description = "Bare-metal nodes."),
        (name = "Node management", description = "States, power, provisioning, console, maintenance, boot device, VIFs, traits and BIOS of a node."),
    )
)]
struct CoreDoc;

/// The whole document: the core paths plus those other resource modules contribute.
pub fn document() -> utoipa::openapi::OpenApi {
    let mut doc = CoreDoc::openapi();
    doc.info.version = format!("1.{MAX_MINOR}");
    for extra in super::extra_docs() {
        doc.merge(extra);
    }
    doc
}
