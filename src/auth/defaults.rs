//! The default policy, declared once: Ironic's rule names and check strings (its
//! secure-RBAC defaults, with scope enforced), so a policy file written for Ironic
//! means the same here. `m2 policy-defaults` prints them.
//!
//! The personas are built from the same pieces as Ironic's: system personas
//! (`system_scope:all`) see every node; project personas match a node whose `owner`
//! or `lessee` is their project.

/// One default rule.
#[derive(Debug, Clone, Copy)]
pub struct Rule {
    /// The rule's name, as written in policy files.
    pub name: &'static str,
    /// Its check string.
    pub check: &'static str,
    /// What it governs.
    pub description: &'static str,
}

macro_rules! system_admin {
    () => {
        "role:admin and system_scope:all"
    };
}
macro_rules! system_member {
    () => {
        "(role:member and system_scope:all) or rule:service_role"
    };
}
macro_rules! system_reader {
    () => {
        "(role:reader and system_scope:all) or (role:service and system_scope:all) or rule:service_role"
    };
}
macro_rules! system_service {
    () => {
        "role:service and system_scope:all"
    };
}
macro_rules! project_service {
    () => {
        "role:service and project_id:%(node.owner)s"
    };
}
macro_rules! project_admin {
    () => {
        "role:admin and project_id:%(node.owner)s"
    };
}
macro_rules! project_member {
    () => {
        "role:member and (project_id:%(node.owner)s or project_id:%(node.lessee)s)"
    };
}
macro_rules! project_reader {
    () => {
        "role:reader and (project_id:%(node.owner)s or project_id:%(node.lessee)s)"
    };
}
macro_rules! owner_manager {
    () => {
        "role:manager and project_id:%(node.owner)s"
    };
}
macro_rules! owner_member {
    () => {
        "role:member and project_id:%(node.owner)s"
    };
}
macro_rules! owner_reader {
    () => {
        "role:reader and project_id:%(node.owner)s"
    };
}
macro_rules! lessee_admin {
    () => {
        "role:admin and project_id:%(node.lessee)s"
    };
}
macro_rules! lessee_manager {
    () => {
        "role:manager and project_id:%(node.lessee)s"
    };
}

/// System members, or members of the node's owner or lessee project.
macro_rules! system_or_project_member {
    () => {
        concat!(
            "(",
            system_member!(),
            ") or (",
            project_member!(),
            ") or (",
            system_service!(),
            ")"
        )
    };
}
/// System readers, or readers of the node's owner or lessee project.
macro_rules! system_or_project_reader {
    () => {
        concat!(
            "(",
            system_reader!(),
            ") or (",
            project_reader!(),
            ") or (",
            project_service!(),
            ")"
        )
    };
}
/// General operations such as deploying: owner members, lessee admins and managers.
macro_rules! system_or_owner_member_and_lessee_admin {
    () => {
        concat!(
            "(",
            system_member!(),
            ") or (",
            system_service!(),
            ") or (",
            owner_member!(),
            ") or (",
            lessee_admin!(),
            ") or (",
            lessee_manager!(),
            ") or (",
            project_service!(),
            ")"
        )
    };
}
/// Creating and deleting ports: system admins, owner admins and managers.
macro_rules! system_admin_or_owner_admin {
    () => {
        concat!(
            "(",
            system_admin!(),
            ") or (",
            system_service!(),
            ") or (",
            project_admin!(),
            ") or (",
            owner_manager!(),
            ") or (",
            project_service!(),
            ")"
        )
    };
}
/// Changing driver interfaces, boot devices, traits, ports.
macro_rules! system_member_or_owner_admin {
    () => {
        concat!(
            "(",
            system_member!(),
            ") or (",
            system_service!(),
            ") or (",
            project_admin!(),
            ") or (",
            owner_manager!(),
            ") or (",
            project_service!(),
            ")"
        )
    };
}
/// What the users of a deployment change on the nodes they own.
macro_rules! system_member_or_owner_member {
    () => {
        concat!(
            "(",
            system_member!(),
            ") or (",
            system_service!(),
            ") or (",
            owner_member!(),
            ") or (",
            project_service!(),
            ")"
        )
    };
}
/// Readers of fields only owners see.
macro_rules! system_or_owner_reader {
    () => {
        concat!(
            "(",
            system_reader!(),
            ") or (",
            system_service!(),
            ") or (",
            owner_reader!(),
            ") or (",
            project_service!(),
            ")"
        )
    };
}
/// Volume connectors and targets.
macro_rules! system_member_or_owner_lessee_admin {
    () => {
        concat!(
            "(",
            system_member!(),
            ") or (",
            system_service!(),
            ") or (",
            project_admin!(),
            ") or (",
            owner_manager!(),
            ") or (",
            lessee_admin!(),
            ") or (",
            lessee_manager!(),
            ") or (",
            project_service!(),
            ")"
        )
    };
}
macro_rules! api_reader {
    () => {
        "(role:reader) or (role:service)"
    };
}
macro_rules! allocation_member {
    () => {
        concat!(
            "(",
            system_member!(),
            ") or (role:member and project_id:%(allocation.owner)s)"
        )
    };
}
macro_rules! allocation_reader {
    () => {
        concat!(
            "(",
            system_reader!(),
            ") or (role:reader and project_id:%(allocation.owner)s)"
        )
    };
}

macro_rules! rules {
    ($(($name:literal, $check:expr, $description:literal)),* $(,)?) => {
        &[$(Rule { name: $name, check: $check, description: $description }),*]
    };
}

/// Every default rule.
pub static RULES: &[Rule] = rules![
    // Helpers, and the legacy rules policy files written for older Ironic refer to.
    (
        "admin_api",
        "role:admin or role:administrator",
        "Legacy rule for cloud admin access"
    ),
    (
        "public_api",
        "is_public_api:True",
        "Internal flag for public API routes"
    ),
    (
        "show_password",
        "!",
        "Show the secrets (passwords, keys) in node driver_info instead of ******"
    ),
    (
        "show_instance_secrets",
        "!",
        "Show the secrets in node instance_info (config drive, image URL) and the node's iSCSI CHAP credentials instead of ******"
    ),
    (
        "service_role",
        "role:service and project_name:%(config.service_project_name)s",
        "The service role in the service project ([DEFAULT] rbac_service_project_name)"
    ),
    (
        "is_member",
        "(project_domain_id:default or project_domain_id:None) and (project_name:demo or project_name:baremetal)",
        "Legacy: may be used to restrict access to specific projects"
    ),
    (
        "is_observer",
        "rule:is_member and (role:observer or role:baremetal_observer)",
        "Legacy: read-only API access"
    ),
    (
        "is_admin",
        "rule:admin_api or (rule:is_member and role:baremetal_admin)",
        "Legacy: full API access"
    ),
    (
        "is_node_owner",
        "project_id:%(node.owner)s",
        "Legacy: owner of the node"
    ),
    (
        "is_node_lessee",
        "project_id:%(node.lessee)s",
        "Legacy: lessee of the node"
    ),
    (
        "is_allocation_owner",
        "project_id:%(allocation.owner)s",
        "Legacy: owner of the allocation"
    ),
    // Nodes.
    (
        "baremetal:node:create",
        concat!("(", system_admin!(), ") or (", system_service!(), ")"),
        "Create Node records"
    ),
    (
        "baremetal:node:create:self_owned_node",
        "(role:admin) or (role:service)",
        "Create node records owned by the caller's project"
    ),
    (
        "baremetal:node:list",
        api_reader!(),
        "List the nodes the caller's project owns or leases"
    ),
    (
        "baremetal:node:list_all",
        system_reader!(),
        "List every node"
    ),
    (
        "baremetal:node:get",
        system_or_project_reader!(),
        "Retrieve a single Node record"
    ),
    (
        "baremetal:node:get:filter_threshold",
        system_reader!(),
        "See node fields without project-level filtering"
    ),
    (
        "baremetal:node:get:last_error",
        system_or_owner_reader!(),
        "See the node's last_error"
    ),
    (
        "baremetal:node:get:reservation",
        system_or_owner_reader!(),
        "See the node's reservation"
    ),
    (
        "baremetal:node:get:driver_internal_info",
        system_or_owner_reader!(),
        "See the node's driver_internal_info"
    ),
    (
        "baremetal:node:get:driver_info",
        system_or_owner_reader!(),
        "See the node's driver_info"
    ),
    (
        "baremetal:node:update:driver_info",
        system_member_or_owner_member!(),
        "Update the node's driver_info"
    ),
    (
        "baremetal:node:update:properties",
        system_member_or_owner_member!(),
        "Update the node's properties"
    ),
    (
        "baremetal:node:update:chassis_uuid",
        system_admin!(),
        "Update the node's chassis_uuid"
    ),
    (
        "baremetal:node:update:instance_uuid",
        system_member_or_owner_member!(),
        "Update the node's instance_uuid"
    ),
    (
        "baremetal:node:update:lessee",
        system_member_or_owner_member!(),
        "Update the node's lessee"
    ),
    (
        "baremetal:node:update:owner",
        system_member!(),
        "Update the node's owner"
    ),
    (
        "baremetal:node:update:driver_interfaces",
        system_member_or_owner_admin!(),
        "Update the node's driver and interfaces"
    ),
    (
        "baremetal:node:update:network_data",
        system_member_or_owner_member!(),
        "Update the node's network_data"
    ),
    (
        "baremetal:node:update:conductor_group",
        system_member!(),
        "Update the node's conductor_group"
    ),
    (
        "baremetal:node:update:name",
        system_member_or_owner_member!(),
        "Update the node's name"
    ),
    (
        "baremetal:node:update:retired",
        system_member_or_owner_member!(),
        "Update the node's retired fields"
    ),
    (
        "baremetal:node:update",
        system_or_project_member!(),
        "Generalized update of node records"
    ),
    (
        "baremetal:node:update_extra",
        system_or_project_member!(),
        "Update the node's extra"
    ),
    (
        "baremetal:node:update_instance_info",
        system_or_owner_member_and_lessee_admin!(),
        "Update the node's instance_info"
    ),
    (
        "baremetal:node:update_owner_provisioned",
        system_admin!(),
        "Update the owner of a provisioned node"
    ),
    (
        "baremetal:node:delete",
        system_admin!(),
        "Delete Node records"
    ),
    (
        "baremetal:node:delete:self_owned_node",
        project_admin!(),
        "Delete nodes the caller's project owns"
    ),
    (
        "baremetal:node:validate",
        system_or_owner_member_and_lessee_admin!(),
        "Validate the node's interfaces"
    ),
    (
        "baremetal:node:set_maintenance",
        system_or_owner_member_and_lessee_admin!(),
        "Put the node in maintenance"
    ),
    (
        "baremetal:node:clear_maintenance",
        system_or_owner_member_and_lessee_admin!(),
        "Take the node out of maintenance"
    ),
    (
        "baremetal:node:get_boot_device",
        system_member_or_owner_admin!(),
        "Read the node's boot device"
    ),
    (
        "baremetal:node:set_boot_device",
        system_member_or_owner_admin!(),
        "Change the node's boot device"
    ),
    (
        "baremetal:node:inject_nmi",
        system_member_or_owner_admin!(),
        "Inject an NMI"
    ),
    (
        "baremetal:node:get_states",
        system_or_project_reader!(),
        "Read the node's states"
    ),
    (
        "baremetal:node:set_power_state",
        system_or_project_member!(),
        "Change the node's power state"
    ),
    (
        "baremetal:node:set_provision_state",
        system_or_owner_member_and_lessee_admin!(),
        "Change the node's provision state"
    ),
    (
        "baremetal:node:set_raid_state",
        system_member_or_owner_member!(),
        "Change the node's RAID configuration"
    ),
    (
        "baremetal:node:get_console",
        system_member_or_owner_member!(),
        "Read the node's console"
    ),
    (
        "baremetal:node:set_console_state",
        system_member_or_owner_member!(),
        "Enable or disable the node's console"
    ),
    (
        "baremetal:node:vif:list",
        system_or_project_reader!(),
        "List the node's VIFs"
    ),
    (
        "baremetal:node:vif:attach",
        system_or_owner_member_and_lessee_admin!(),
        "Attach a VIF to the node"
    ),
    (
        "baremetal:node:vif:detach",
        system_or_owner_member_and_lessee_admin!(),
        "Detach a VIF from the node"
    ),
    (
        "baremetal:node:traits:list",
        system_or_project_reader!(),
        "List the node's traits"
    ),
    (
        "baremetal:node:traits:set",
        system_member_or_owner_admin!(),
        "Add or replace the node's traits"
    ),
    (
        "baremetal:node:traits:delete",
        system_member_or_owner_admin!(),
        "Remove the node's traits"
    ),
    (
        "baremetal:node:bios:get",
        system_or_project_reader!(),
        "Read the node's BIOS settings"
    ),
    (
        "baremetal:node:disable_cleaning",
        system_admin!(),
        "Provision the node without cleaning"
    ),
    // Ports and portgroups: checked on their node.
    (
        "baremetal:port:get",
        system_or_project_reader!(),
        "Retrieve a Port record"
    ),
    (
        "baremetal:port:list",
        api_reader!(),
        "List the ports of the nodes the caller's project owns or leases"
    ),
    (
        "baremetal:port:list_all",
        system_reader!(),
        "List every port"
    ),
    (
        "baremetal:port:create",
        system_admin_or_owner_admin!(),
        "Create Port records"
    ),
    (
        "baremetal:port:delete",
        system_admin_or_owner_admin!(),
        "Delete Port records"
    ),
    (
        "baremetal:port:update",
        system_member_or_owner_admin!(),
        "Update Port records"
    ),
    (
        "baremetal:portgroup:get",
        system_or_project_reader!(),
        "Retrieve a Portgroup record"
    ),
    (
        "baremetal:portgroup:create",
        system_admin_or_owner_admin!(),
        "Create Portgroup records"
    ),
    (
        "baremetal:portgroup:delete",
        system_admin_or_owner_admin!(),
        "Delete Portgroup records"
    ),
    (
        "baremetal:portgroup:update",
        system_member_or_owner_admin!(),
        "Update Portgroup records"
    ),
    (
        "baremetal:portgroup:list",
        api_reader!(),
        "List the portgroups of the nodes the caller's project owns or leases"
    ),
    (
        "baremetal:portgroup:list_all",
        system_reader!(),
        "List every portgroup"
    ),
    // Volume connectors and targets: checked on their node.
    (
        "baremetal:volume:list_all",
        system_reader!(),
        "List every volume connector and target"
    ),
    (
        "baremetal:volume:list",
        api_reader!(),
        "List the volume resources of the caller's nodes"
    ),
    (
        "baremetal:volume:get",
        system_or_project_reader!(),
        "Retrieve volume connectors and targets"
    ),
    (
        "baremetal:volume:create",
        system_member_or_owner_lessee_admin!(),
        "Create volume connectors and targets"
    ),
    (
        "baremetal:volume:delete",
        system_member_or_owner_lessee_admin!(),
        "Delete volume connectors and targets"
    ),
    (
        "baremetal:volume:update",
        system_or_owner_member_and_lessee_admin!(),
        "Update volume connectors and targets"
    ),
    (
        "baremetal:volume:view_target_properties",
        concat!("(", system_reader!(), ") or (role:admin)"),
        "See volume target properties"
    ),
    // System resources.
    (
        "baremetal:chassis:get",
        system_reader!(),
        "Retrieve Chassis records"
    ),
    (
        "baremetal:chassis:create",
        system_admin!(),
        "Create Chassis records"
    ),
    (
        "baremetal:chassis:delete",
        system_admin!(),
        "Delete Chassis records"
    ),
    (
        "baremetal:chassis:update",
        system_member!(),
        "Update Chassis records"
    ),
    (
        "baremetal:driver:get",
        system_reader!(),
        "View the list of drivers"
    ),
    (
        "baremetal:driver:get_properties",
        system_reader!(),
        "View driver-specific properties"
    ),
    (
        "baremetal:driver:get_raid_logical_disk_properties",
        system_reader!(),
        "View driver-specific RAID metadata"
    ),
    (
        "baremetal:conductor:get",
        system_reader!(),
        "Retrieve Conductor records"
    ),
    // Allocations and deploy templates (for the resources that use them).
    (
        "baremetal:allocation:get",
        allocation_reader!(),
        "Retrieve Allocation records"
    ),
    (
        "baremetal:allocation:list",
        api_reader!(),
        "List the caller's allocations"
    ),
    (
        "baremetal:allocation:list_all",
        system_reader!(),
        "List every allocation"
    ),
    (
        "baremetal:allocation:create",
        concat!("(", system_member!(), ") or (role:member)"),
        "Create Allocation records"
    ),
    (
        "baremetal:allocation:create_restricted",
        system_member!(),
        "Create allocations with an owner other than the caller's project"
    ),
    (
        "baremetal:allocation:delete",
        allocation_member!(),
        "Delete Allocation records"
    ),
    (
        "baremetal:allocation:update",
        allocation_member!(),
        "Change the name and extra of an allocation"
    ),
    (
        "baremetal:deploy_template:get",
        system_reader!(),
        "Retrieve Deploy Template records"
    ),
    (
        "baremetal:deploy_template:create",
        system_admin!(),
        "Create Deploy Template records"
    ),
    (
        "baremetal:deploy_template:delete",
        system_admin!(),
        "Delete Deploy Template records"
    ),
    (
        "baremetal:deploy_template:update",
        system_admin!(),
        "Update Deploy Template records"
    ),
];
