//! The OpenAPI document of m2's API, generated from the handlers' annotations and from
//! the same field tables that shape the responses. `m2 openapi` prints it;
//! `api-ref/openapi.json` is its committed copy.

use utoipa::openapi::extensions::ExtensionsBuilder;
use utoipa::openapi::path::{Operation, PathItem};
use utoipa::openapi::schema::{ObjectBuilder, Schema, SchemaFormat, SchemaType, Type};
use utoipa::openapi::{KnownFormat, RefOr};
use utoipa::{IntoParams, OpenApi, PartialSchema, ToSchema};

use super::collection::Spec;
use super::node_view::NODE_FIELDS;
use super::version::{ApiVersion, Feature, MAX_MINOR, MIN_MINOR};

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
    /// A JSON document serialised as a string: decode it to read the fault.
    #[schema(
        example = "{\"faultcode\": \"Client\", \"faultstring\": \"Node x could not be found.\", \"debuginfo\": null}"
    )]
    error_message: String,
}

/// What a field of a resource holds, for the schemas.
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
        "internal_info" => (
            Type::Object,
            None,
            "Information the conductor keeps (read-only).",
        ),
        "properties" => (
            Type::Object,
            None,
            "Properties (for a node: cpus, memory_mb, local_gb, capabilities...).",
        ),
        "extra" => (Type::Object, None, "Free-form metadata."),
        "instance_info" => (
            Type::Object,
            None,
            "What to deploy (image_source, root_gb...); the configdrive is masked.",
        ),
        "local_link_connection" => (
            Type::Object,
            None,
            "Where the port is cabled: switch_id, port_id, switch_info; network_type from 1.64.",
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
        "nodes" | "ports" => (
            Type::Array,
            None,
            "Links (self, bookmark) to the sub-collection.",
        ),
        "maintenance" | "console_enabled" | "protected" | "retired" => {
            (Type::Boolean, None, "Flag.")
        }
        "pxe_enabled" => (
            Type::Boolean,
            None,
            "Whether the node network-boots from this port.",
        ),
        "is_smartnic" => (Type::Boolean, None, "Whether the port is a Smart NIC port."),
        "standalone_ports_supported" => (
            Type::Boolean,
            None,
            "Whether the member ports may be used on their own.",
        ),
        "automated_clean" | "secure_boot" => {
            (Type::Boolean, None, "Flag; null means the service default.")
        }
        "uuid" | "instance_uuid" | "chassis_uuid" | "allocation_uuid" | "node_uuid"
        | "portgroup_uuid" => (Type::String, Some(KnownFormat::Uuid), "UUID."),
        "address" => (Type::String, None, "MAC address."),
        "name" => (Type::String, None, "Logical name, unique among its kind."),
        "description" => (Type::String, None, "Free text."),
        "boot_index" => (
            Type::Integer,
            None,
            "Boot order of the node's targets; 0 is the boot disk.",
        ),
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

/// The schema of one field, noting the version that introduced it when that is newer
/// than `base` (the version of the resource itself).
fn field_property(name: &str, since: u16, base: u16) -> ObjectBuilder {
    let (ty, format, what) = field_schema(name);
    let since_note = if since > base {
        format!(" Since 1.{since}.")
    } else {
        String::new()
    };
    ObjectBuilder::new()
        .schema_type(SchemaType::new(ty))
        .format(format.map(SchemaFormat::KnownFormat))
        .description(Some(format!("{what}{since_note}")))
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
        for (name, since) in NODE_FIELDS.iter().filter(|(_, s)| *s <= MAX_MINOR) {
            obj = obj.property(*name, field_property(name, *since, MIN_MINOR));
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

/// A resource's schema from its field table (the one that shapes its responses).
fn spec_schema(what: &str, spec: &Spec) -> Schema {
    let base = spec
        .fields
        .iter()
        .map(|(_, s)| *s)
        .min()
        .unwrap_or(MIN_MINOR);
    let since = if base > MIN_MINOR {
        format!(" Served from 1.{base}.")
    } else {
        String::new()
    };
    let mut obj = ObjectBuilder::new().description(Some(format!(
        "{what}{since} Fields newer than the resource note the microversion that \
         introduced them; `links` (self and bookmark) is always present. Lists show \
         {} unless `detail` or `fields` asks for more.",
        spec.short.join(", ")
    )));
    for (name, since) in spec.fields.iter().filter(|(_, s)| *s <= MAX_MINOR) {
        obj = obj.property(*name, field_property(name, *since, base));
    }
    obj = obj.property(
        "links",
        ObjectBuilder::new()
            .schema_type(SchemaType::new(Type::Array))
            .description(Some("self and bookmark links.")),
    );
    Schema::Object(obj.required("uuid").build())
}

/// The schemas of the resources beside nodes: (name, description, field table).
fn resource_schemas() -> Vec<(&'static str, Schema)> {
    vec![
        (
            "Port",
            spec_schema(
                "A network interface of a node, by MAC address.",
                &super::ports::SPEC,
            ),
        ),
        (
            "Portgroup",
            spec_schema("A bond of ports of one node.", &super::portgroups::SPEC),
        ),
        (
            "Chassis",
            spec_schema("A group of nodes.", &super::chassis::SPEC),
        ),
        (
            "VolumeConnector",
            spec_schema(
                "How a node connects to storage (an initiator: iqn, ip, mac, wwnn, wwpn...).",
                &super::volume_connectors::SPEC,
            ),
        ),
        (
            "VolumeTarget",
            spec_schema(
                "A volume a node boots from or attaches (iscsi, fibre_channel; rbd in m2).",
                &super::volume_targets::SPEC,
            ),
        ),
    ]
}

/// Which responses carry a resource schema: the schema, the key of its lists, the
/// paths of one resource (GET and PATCH answer it), the path POST creates it at, and
/// the paths answering a page of them.
struct ResourcePaths {
    schema: &'static str,
    collection: &'static str,
    item: &'static str,
    create: &'static str,
    lists: &'static [&'static str],
}

const RESOURCE_PATHS: &[ResourcePaths] = &[
    ResourcePaths {
        schema: "Node",
        collection: "nodes",
        item: "/v1/nodes/{node}",
        create: "/v1/nodes",
        lists: &[
            "/v1/nodes",
            "/v1/nodes/detail",
            "/v1/chassis/{chassis}/nodes",
            "/v1/chassis/{chassis}/nodes/detail",
        ],
    },
    ResourcePaths {
        schema: "Port",
        collection: "ports",
        item: "/v1/ports/{port}",
        create: "/v1/ports",
        lists: &[
            "/v1/ports",
            "/v1/ports/detail",
            "/v1/nodes/{node}/ports",
            "/v1/nodes/{node}/ports/detail",
            "/v1/portgroups/{portgroup}/ports",
            "/v1/portgroups/{portgroup}/ports/detail",
        ],
    },
    ResourcePaths {
        schema: "Portgroup",
        collection: "portgroups",
        item: "/v1/portgroups/{portgroup}",
        create: "/v1/portgroups",
        lists: &[
            "/v1/portgroups",
            "/v1/portgroups/detail",
            "/v1/nodes/{node}/portgroups",
            "/v1/nodes/{node}/portgroups/detail",
        ],
    },
    ResourcePaths {
        schema: "Chassis",
        collection: "chassis",
        item: "/v1/chassis/{chassis}",
        create: "/v1/chassis",
        lists: &["/v1/chassis", "/v1/chassis/detail"],
    },
    ResourcePaths {
        schema: "VolumeConnector",
        collection: "connectors",
        item: "/v1/volume/connectors/{connector}",
        create: "/v1/volume/connectors",
        lists: &[
            "/v1/volume/connectors",
            "/v1/nodes/{node}/volume/connectors",
        ],
    },
    ResourcePaths {
        schema: "VolumeTarget",
        collection: "targets",
        item: "/v1/volume/targets/{target}",
        create: "/v1/volume/targets",
        lists: &["/v1/volume/targets", "/v1/nodes/{node}/volume/targets"],
    },
];

#[derive(OpenApi)]
#[openapi(
    info(
        title = "m2 Bare Metal API",
        description = "The OpenStack Bare Metal (Ironic) API v1 as m2 serves it, with m2's own \
                       image, volume, recovery and network boot operations. Errors use \
                       Ironic's body (see ErrorBody); every response carries the \
                       X-OpenStack-Ironic-API-Minimum-Version, -Maximum-Version and -Version \
                       headers and x-openstack-request-id. An operation newer than 1.1 says \
                       so in its description and in x-min-microversion; m2's own operations \
                       carry x-m2-extension."
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
        super::node_states::set_raid,
        super::node_states::get_console,
        super::node_states::get_console_alias,
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
        (name = "Node management", description = "States, power, provisioning, console, maintenance, boot device, VIFs, traits, BIOS and indicators of a node, and m2's recovery onto a spare."),
        (name = "Ports", description = "Network interfaces of nodes."),
        (name = "Portgroups", description = "Bonds of ports (1.23)."),
        (name = "Chassis", description = "Groups of nodes."),
        (name = "Volume", description = "Volume connectors and targets of nodes, for boot from volume (1.32)."),
        (name = "Images", description = "m2's image library: what nodes deploy from, kept in Ceph RBD (m2's own resource)."),
        (name = "Volumes", description = "m2's node disks that outlive a deployment (m2's own resource)."),
    )
)]
struct CoreDoc;

/// The microversion an operation is served from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Since {
    /// Every version (1.1 and later).
    Always,
    /// `1.N` and later; older versions refuse it.
    Minor(u16),
    /// m2's own operation, not part of Ironic's API: served at every version.
    M2,
}

/// Every operation of the document: method, path, operationId, summary, and the
/// microversion it is served from. The annotations say what it takes and answers; this
/// table names it and notes its version (`x-min-microversion`, `x-m2-extension`).
#[rustfmt::skip]
const OPERATIONS: &[(&str, &str, &str, &str, Since)] = {
    use Since::{Always, M2, Minor};
    const PORTGROUPS: Since = Minor(Feature::Portgroups.since());
    // The node and portgroup sub-collections of portgroups and ports.
    const PORTGROUP_LINKS: Since = Minor(24);
    const VOLUME: Since = Minor(Feature::Volume.since());
    const ALLOCATIONS: Since = Minor(Feature::Allocations.since());
    const TEMPLATES: Since = Minor(Feature::DeployTemplates.since());
    &[
        ("get", "/", "versions_list", "List the API versions", Always),
        ("get", "/v1", "version_v1", "Show the v1 document", Always),
        // Nodes
        ("get", "/v1/nodes", "node_list", "List nodes", Always),
        ("post", "/v1/nodes", "node_create", "Create a node", Always),
        ("get", "/v1/nodes/detail", "node_list_detail", "List nodes with every field", Always),
        ("get", "/v1/nodes/{node}", "node_show", "Show a node", Always),
        ("patch", "/v1/nodes/{node}", "node_update", "Update a node", Always),
        ("delete", "/v1/nodes/{node}", "node_delete", "Delete a node", Always),
        // Node management
        ("get", "/v1/nodes/{node}/states", "node_states_show", "Show a node's states", Always),
        ("put", "/v1/nodes/{node}/states/power", "node_power_set", "Change a node's power state", Always),
        ("put", "/v1/nodes/{node}/states/provision", "node_provision_set", "Change a node's provision state", Always),
        ("put", "/v1/nodes/{node}/states/raid", "node_raid_set", "Set a node's target RAID configuration", Minor(Feature::RaidConfig.since())),
        ("get", "/v1/nodes/{node}/states/console", "node_console_show", "Show a node's console", Always),
        ("put", "/v1/nodes/{node}/states/console", "node_console_set", "Enable or disable a node's console", Always),
        ("get", "/v1/nodes/states/console/{node}", "node_console_show_alias", "Show a node's console (the path Ironic's router also accepts)", Always),
        ("get", "/v1/nodes/{node}/validate", "node_validate", "Validate a node's interfaces", Always),
        ("put", "/v1/nodes/{node}/maintenance", "node_maintenance_set", "Put a node in maintenance", Always),
        ("delete", "/v1/nodes/{node}/maintenance", "node_maintenance_unset", "Take a node out of maintenance", Always),
        ("get", "/v1/nodes/{node}/management/boot_device", "node_boot_device_show", "Show a node's boot device", Always),
        ("put", "/v1/nodes/{node}/management/boot_device", "node_boot_device_set", "Set a node's boot device", Always),
        ("get", "/v1/nodes/{node}/management/boot_device/supported", "node_boot_device_supported", "List the boot devices a node supports", Always),
        ("put", "/v1/nodes/{node}/management/inject_nmi", "node_inject_nmi", "Inject a non-maskable interrupt", Minor(Feature::InjectNmi.since())),
        ("post", "/v1/nodes/{node}/recover", "node_recover", "Recover a failed node onto a spare", M2),
        ("get", "/v1/nodes/{node}/vifs", "node_vif_list", "List a node's VIFs", Minor(Feature::Vifs.since())),
        ("post", "/v1/nodes/{node}/vifs", "node_vif_attach", "Attach a VIF to a node", Minor(Feature::Vifs.since())),
        ("delete", "/v1/nodes/{node}/vifs/{vif}", "node_vif_detach", "Detach a VIF from a node", Minor(Feature::Vifs.since())),
        ("get", "/v1/nodes/{node}/traits", "node_trait_list", "List a node's traits", Minor(Feature::Traits.since())),
        ("put", "/v1/nodes/{node}/traits", "node_trait_set_all", "Replace a node's traits", Minor(Feature::Traits.since())),
        ("delete", "/v1/nodes/{node}/traits", "node_trait_remove_all", "Remove every trait of a node", Minor(Feature::Traits.since())),
        ("put", "/v1/nodes/{node}/traits/{trait}", "node_trait_add", "Add a trait to a node", Minor(Feature::Traits.since())),
        ("delete", "/v1/nodes/{node}/traits/{trait}", "node_trait_remove", "Remove a trait from a node", Minor(Feature::Traits.since())),
        ("get", "/v1/nodes/{node}/bios", "node_bios_list", "List a node's BIOS settings", Minor(Feature::Bios.since())),
        ("get", "/v1/nodes/{node}/bios/{setting}", "node_bios_show", "Show a BIOS setting", Minor(Feature::Bios.since())),
        ("get", "/v1/nodes/{node}/management/indicators", "node_indicator_list", "List a node's indicators", Minor(Feature::Indicators.since())),
        ("get", "/v1/nodes/{node}/management/indicators/{indicator}", "node_indicator_show", "Show an indicator's state", Minor(Feature::Indicators.since())),
        ("put", "/v1/nodes/{node}/management/indicators/{indicator}", "node_indicator_set", "Set an indicator's state", Minor(Feature::Indicators.since())),
        // Ports
        ("get", "/v1/ports", "port_list", "List ports", Always),
        ("post", "/v1/ports", "port_create", "Create a port", Always),
        ("get", "/v1/ports/detail", "port_list_detail", "List ports with every field", Always),
        ("get", "/v1/ports/{port}", "port_show", "Show a port", Always),
        ("patch", "/v1/ports/{port}", "port_update", "Update a port", Always),
        ("delete", "/v1/ports/{port}", "port_delete", "Delete a port", Always),
        ("get", "/v1/nodes/{node}/ports", "node_port_list", "List a node's ports", Always),
        ("get", "/v1/nodes/{node}/ports/detail", "node_port_list_detail", "List a node's ports with every field", Always),
        // Portgroups
        ("get", "/v1/portgroups", "portgroup_list", "List portgroups", PORTGROUPS),
        ("post", "/v1/portgroups", "portgroup_create", "Create a portgroup", PORTGROUPS),
        ("get", "/v1/portgroups/detail", "portgroup_list_detail", "List portgroups with every field", PORTGROUPS),
        ("get", "/v1/portgroups/{portgroup}", "portgroup_show", "Show a portgroup", PORTGROUPS),
        ("patch", "/v1/portgroups/{portgroup}", "portgroup_update", "Update a portgroup", PORTGROUPS),
        ("delete", "/v1/portgroups/{portgroup}", "portgroup_delete", "Delete a portgroup", PORTGROUPS),
        ("get", "/v1/nodes/{node}/portgroups", "node_portgroup_list", "List a node's portgroups", PORTGROUP_LINKS),
        ("get", "/v1/nodes/{node}/portgroups/detail", "node_portgroup_list_detail", "List a node's portgroups with every field", PORTGROUP_LINKS),
        ("get", "/v1/portgroups/{portgroup}/ports", "portgroup_port_list", "List a portgroup's ports", PORTGROUP_LINKS),
        ("get", "/v1/portgroups/{portgroup}/ports/detail", "portgroup_port_list_detail", "List a portgroup's ports with every field", PORTGROUP_LINKS),
        // Chassis
        ("get", "/v1/chassis", "chassis_list", "List chassis", Always),
        ("post", "/v1/chassis", "chassis_create", "Create a chassis", Always),
        ("get", "/v1/chassis/detail", "chassis_list_detail", "List chassis with every field", Always),
        ("get", "/v1/chassis/{chassis}", "chassis_show", "Show a chassis", Always),
        ("patch", "/v1/chassis/{chassis}", "chassis_update", "Update a chassis", Always),
        ("delete", "/v1/chassis/{chassis}", "chassis_delete", "Delete a chassis", Always),
        ("get", "/v1/chassis/{chassis}/nodes", "chassis_node_list", "List a chassis' nodes", Always),
        ("get", "/v1/chassis/{chassis}/nodes/detail", "chassis_node_list_detail", "List a chassis' nodes with every field", Always),
        // Drivers and conductors
        ("get", "/v1/drivers", "driver_list", "List drivers", Always),
        ("get", "/v1/drivers/{name}", "driver_show", "Show a driver", Always),
        ("get", "/v1/drivers/{name}/properties", "driver_properties", "List a driver's driver_info properties", Always),
        ("get", "/v1/drivers/{name}/raid/logical_disk_properties", "driver_raid_logical_disk_properties", "List the logical disk properties of RAID configurations", Minor(Feature::RaidConfig.since())),
        ("get", "/v1/conductors", "conductor_list", "List conductors", Minor(Feature::Conductors.since())),
        ("get", "/v1/conductors/{hostname}", "conductor_show", "Show a conductor", Minor(Feature::Conductors.since())),
        // Volume connectors and targets
        ("get", "/v1/volume", "volume_root", "Show the volume resources", VOLUME),
        ("get", "/v1/nodes/{node}/volume", "node_volume_root", "Show a node's volume resources", VOLUME),
        ("get", "/v1/volume/connectors", "volume_connector_list", "List volume connectors", VOLUME),
        ("post", "/v1/volume/connectors", "volume_connector_create", "Create a volume connector", VOLUME),
        ("get", "/v1/volume/connectors/{connector}", "volume_connector_show", "Show a volume connector", VOLUME),
        ("patch", "/v1/volume/connectors/{connector}", "volume_connector_update", "Update a volume connector", VOLUME),
        ("delete", "/v1/volume/connectors/{connector}", "volume_connector_delete", "Delete a volume connector", VOLUME),
        ("get", "/v1/nodes/{node}/volume/connectors", "node_volume_connector_list", "List a node's volume connectors", VOLUME),
        ("get", "/v1/volume/targets", "volume_target_list", "List volume targets", VOLUME),
        ("post", "/v1/volume/targets", "volume_target_create", "Create a volume target", VOLUME),
        ("get", "/v1/volume/targets/{target}", "volume_target_show", "Show a volume target", VOLUME),
        ("patch", "/v1/volume/targets/{target}", "volume_target_update", "Update a volume target", VOLUME),
        ("delete", "/v1/volume/targets/{target}", "volume_target_delete", "Delete a volume target", VOLUME),
        ("get", "/v1/nodes/{node}/volume/targets", "node_volume_target_list", "List a node's volume targets", VOLUME),
        // Allocations
        ("get", "/v1/allocations", "allocation_list", "List allocations", ALLOCATIONS),
        ("post", "/v1/allocations", "allocation_create", "Create an allocation", ALLOCATIONS),
        ("get", "/v1/allocations/{allocation}", "allocation_show", "Show an allocation", ALLOCATIONS),
        ("patch", "/v1/allocations/{allocation}", "allocation_update", "Update an allocation", Minor(Feature::AllocationUpdate.since())),
        ("delete", "/v1/allocations/{allocation}", "allocation_delete", "Delete an allocation", ALLOCATIONS),
        ("get", "/v1/nodes/{node}/allocation", "node_allocation_show", "Show a node's allocation", ALLOCATIONS),
        ("delete", "/v1/nodes/{node}/allocation", "node_allocation_delete", "Delete a node's allocation", ALLOCATIONS),
        // Deploy templates
        ("get", "/v1/deploy_templates", "deploy_template_list", "List deploy templates", TEMPLATES),
        ("post", "/v1/deploy_templates", "deploy_template_create", "Create a deploy template", TEMPLATES),
        ("get", "/v1/deploy_templates/{template}", "deploy_template_show", "Show a deploy template", TEMPLATES),
        ("patch", "/v1/deploy_templates/{template}", "deploy_template_update", "Update a deploy template", TEMPLATES),
        ("delete", "/v1/deploy_templates/{template}", "deploy_template_delete", "Delete a deploy template", TEMPLATES),
        // Events
        ("post", "/v1/events", "event_create", "Send external events", Minor(Feature::Events.since())),
        // m2's images
        ("get", "/v1/images", "image_list", "List images", M2),
        ("post", "/v1/images", "image_create", "Create, register or capture an image", M2),
        ("get", "/v1/images/{image}", "image_show", "Show an image", M2),
        ("patch", "/v1/images/{image}", "image_update", "Update an image", M2),
        ("delete", "/v1/images/{image}", "image_delete", "Delete an image", M2),
        ("get", "/v1/images/{image}/file", "image_download", "Download an image's data", M2),
        ("put", "/v1/images/{image}/file", "image_upload", "Upload an image's data", M2),
        // m2's volumes
        ("get", "/v1/volumes", "volume_list", "List volumes", M2),
        ("post", "/v1/volumes", "volume_create", "Register a volume", M2),
        ("get", "/v1/volumes/{volume}", "volume_show", "Show a volume", M2),
        ("patch", "/v1/volumes/{volume}", "volume_update", "Update a volume", M2),
        ("delete", "/v1/volumes/{volume}", "volume_delete", "Delete a volume", M2),
        // m2's network boot
        ("get", "/boot/boot.ipxe", "boot_chain_script", "Get the iPXE chain script", M2),
        ("get", "/boot/{mac}", "boot_node_script", "Get the iPXE script of a MAC address", M2),
    ]
};

/// The order of the tags (the sections of the reference).
const TAG_ORDER: &[&str] = &[
    "Version discovery",
    "Nodes",
    "Node management",
    "Ports",
    "Portgroups",
    "Chassis",
    "Drivers",
    "Conductors",
    "Volume",
    "Allocations",
    "Deploy templates",
    "Events",
    "Images",
    "Volumes",
    "Network boot",
];

/// The operation of `item` for `method` (lower case).
fn operation_mut<'a>(item: &'a mut PathItem, method: &str) -> Option<&'a mut Operation> {
    match method {
        "get" => item.get.as_mut(),
        "put" => item.put.as_mut(),
        "post" => item.post.as_mut(),
        "patch" => item.patch.as_mut(),
        "delete" => item.delete.as_mut(),
        _ => None,
    }
}

/// Every (path, method) the document has.
pub fn operations(doc: &utoipa::openapi::OpenApi) -> Vec<(String, &'static str)> {
    let mut out = Vec::new();
    for (path, item) in &doc.paths.paths {
        for (method, op) in [
            ("get", &item.get),
            ("put", &item.put),
            ("post", &item.post),
            ("patch", &item.patch),
            ("delete", &item.delete),
        ] {
            if op.is_some() {
                out.push((path.clone(), method));
            }
        }
    }
    out
}

/// Names each operation of the table and notes its microversion.
fn annotate(doc: &mut utoipa::openapi::OpenApi) {
    for (method, path, id, summary, since) in OPERATIONS {
        let Some(op) = doc
            .paths
            .paths
            .get_mut(*path)
            .and_then(|item| operation_mut(item, method))
        else {
            continue;
        };
        op.operation_id = Some((*id).to_owned());
        op.summary = Some((*summary).to_owned());
        let (note, extension) = match since {
            Since::Always => (None, None),
            Since::Minor(minor) => (
                Some(format!(
                    "Requires microversion 1.{minor} or later; an older version is refused."
                )),
                Some((
                    "x-min-microversion",
                    serde_json::json!(format!("1.{minor}")),
                )),
            ),
            Since::M2 if path.starts_with("/boot/") => (
                Some(
                    "m2's own operation, not part of Ironic's API; not versioned and not \
                     authenticated."
                        .to_owned(),
                ),
                Some(("x-m2-extension", serde_json::json!(true))),
            ),
            Since::M2 => (
                Some(
                    "m2's own operation, not part of Ironic's API; served at every \
                     microversion."
                        .to_owned(),
                ),
                Some(("x-m2-extension", serde_json::json!(true))),
            ),
        };
        if let Some(note) = note {
            op.description = Some(match op.description.take() {
                Some(d) if !d.is_empty() => format!("{note}\n\n{d}"),
                _ => note,
            });
        }
        if let Some((key, value)) = extension {
            op.extensions = Some(ExtensionsBuilder::new().add(key, value).build());
        }
    }
}

/// A reference to a component schema.
fn schema_ref(name: &str) -> RefOr<Schema> {
    RefOr::Ref(utoipa::openapi::Ref::from_schema_name(name))
}

/// A page of `collection`: the items and the link to the next page.
fn page_schema(collection: &str, schema: &str) -> RefOr<Schema> {
    let obj = ObjectBuilder::new()
        .property(
            collection,
            utoipa::openapi::schema::ArrayBuilder::new().items(schema_ref(schema)),
        )
        .property(
            "next",
            ObjectBuilder::new()
                .schema_type(SchemaType::new(Type::String))
                .format(Some(SchemaFormat::Custom("uri".to_owned())))
                .description(Some(
                    "Link to the next page; present only when this page is full.",
                )),
        )
        .required(collection);
    RefOr::T(Schema::Object(obj.build()))
}

/// Gives `status` of the operation a JSON body of `schema` unless it has one.
fn set_body(
    doc: &mut utoipa::openapi::OpenApi,
    path: &str,
    method: &str,
    status: &str,
    schema: RefOr<Schema>,
) {
    let Some(op) = doc
        .paths
        .paths
        .get_mut(path)
        .and_then(|item| operation_mut(item, method))
    else {
        return;
    };
    if let Some(RefOr::T(response)) = op.responses.responses.get_mut(status)
        && response.content.is_empty()
    {
        response.content.insert(
            "application/json".to_owned(),
            utoipa::openapi::ContentBuilder::new()
                .schema(Some(schema))
                .build(),
        );
    }
}

/// Adds the resource schemas and refers to them from the responses that carry them.
fn attach_resource_schemas(doc: &mut utoipa::openapi::OpenApi) {
    let components = doc.components.get_or_insert_with(Default::default);
    for (name, schema) in resource_schemas() {
        components.schemas.insert(name.to_owned(), RefOr::T(schema));
    }
    for r in RESOURCE_PATHS {
        set_body(doc, r.item, "get", "200", schema_ref(r.schema));
        set_body(doc, r.item, "patch", "200", schema_ref(r.schema));
        set_body(doc, r.create, "post", "201", schema_ref(r.schema));
        for list in r.lists {
            set_body(doc, list, "get", "200", page_schema(r.collection, r.schema));
        }
    }
}

/// One entry per tag, in [`TAG_ORDER`].
fn order_tags(doc: &mut utoipa::openapi::OpenApi) {
    let Some(tags) = doc.tags.take() else {
        return;
    };
    let mut unique: Vec<utoipa::openapi::Tag> = Vec::new();
    for tag in tags {
        if !unique.iter().any(|t| t.name == tag.name) {
            unique.push(tag);
        }
    }
    let rank = |name: &str| {
        TAG_ORDER
            .iter()
            .position(|t| *t == name)
            .unwrap_or(TAG_ORDER.len())
    };
    unique.sort_by_key(|t| rank(&t.name));
    doc.tags = Some(unique);
}

/// The whole document: the core paths plus those other resource modules contribute,
/// each operation named and its microversion noted.
pub fn document() -> utoipa::openapi::OpenApi {
    let mut doc = CoreDoc::openapi();
    doc.info.version = format!("1.{MAX_MINOR}");
    for extra in super::extra_docs() {
        doc.merge(extra);
    }
    order_tags(&mut doc);
    annotate(&mut doc);
    attach_resource_schemas(&mut doc);
    doc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_operation_is_named_once() {
        let doc = document();
        let ops = operations(&doc);
        for (path, method) in &ops {
            assert!(
                OPERATIONS.iter().any(|(m, p, ..)| m == method && p == path),
                "{method} {path} is not in openapi::OPERATIONS"
            );
        }
        let mut ids = std::collections::HashSet::new();
        for (method, path, id, ..) in OPERATIONS {
            assert!(
                ops.iter().any(|(p, m)| m == method && p == path),
                "openapi::OPERATIONS names {method} {path}, which the document does not have"
            );
            assert!(ids.insert(*id), "operationId {id} is used twice");
        }
    }

    #[test]
    fn every_tag_is_described_and_ordered() {
        let doc = document();
        let tags = doc.tags.clone().unwrap_or_default();
        for item in doc.paths.paths.values() {
            for op in [&item.get, &item.put, &item.post, &item.patch, &item.delete]
                .into_iter()
                .flatten()
            {
                for tag in op.tags.iter().flatten() {
                    assert!(
                        TAG_ORDER.contains(&tag.as_str()),
                        "tag {tag} is not in TAG_ORDER"
                    );
                    assert!(
                        tags.iter()
                            .any(|t| &t.name == tag && t.description.is_some()),
                        "tag {tag} has no description"
                    );
                }
            }
        }
    }
}
