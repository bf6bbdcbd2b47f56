//! Policy checks as the handlers make them, after Ironic's API: a caller who may not
//! see a node gets 404, as if it did not exist; one who sees it but may not act on it
//! gets 403; a project-scoped caller lists only its projects' nodes (owner or lessee).
//!
//! Under `noauth` every check passes.

use super::common::Ctx;
use crate::auth::Target;
use crate::db::nodes::Node;
use crate::error::{Error, Result};

/// The rule that decides whether a node can be seen at all.
pub const NODE_GET: &str = "baremetal:node:get";

/// The policy target of a node: its owner and lessee.
pub fn node_target(n: &Node) -> Target {
    Target::node(n.owner.as_deref(), n.lessee.as_deref())
}

impl Ctx {
    /// Does `rule` allow the caller on `target`?
    pub fn allowed(&self, rule: &str, target: &Target) -> bool {
        self.policy.check(rule, &self.auth, target)
    }

    /// A rule on the caller alone (chassis, drivers, conductors): 403 when refused.
    pub fn authorize(&self, rule: &str) -> Result<()> {
        self.policy.authorize(rule, &self.auth, &Target::new())
    }

    /// A rule on a node the caller named as `ident`: 404 (`kind` `ident` could not be
    /// found) when the caller may not see the node, 403 when it may see it but `rule`
    /// refuses.
    pub fn authorize_node_as(&self, rule: &str, n: &Node, kind: &str, ident: &str) -> Result<()> {
        let target = node_target(n);
        if !self.allowed(NODE_GET, &target) {
            tracing::info!(node = %n.uuid, caller = %self.auth.describe(), "node concealed from caller");
            return Err(Error::not_found(kind, ident));
        }
        self.policy.authorize(rule, &self.auth, &target)
    }

    /// [`Ctx::authorize_node_as`] for the node itself.
    pub fn authorize_node(&self, rule: &str, n: &Node, ident: &str) -> Result<()> {
        self.authorize_node_as(rule, n, "Node", ident)
    }

    /// Every rule of `rules` on a node (the first also decides whether it is seen).
    pub fn authorize_node_all(&self, rules: &[&str], n: &Node, ident: &str) -> Result<()> {
        for rule in rules {
            self.authorize_node(rule, n, ident)?;
        }
        Ok(())
    }

    /// Which records of `kind` (`node`, `port`, `portgroup`, `volume`) a list may
    /// show: all of them (`None`) for a caller that `baremetal:<kind>:list_all`
    /// allows; else, if `baremetal:<kind>:list` allows it, those of the nodes its
    /// project owns or leases (`Some(project)`); else 403. A project-scoped caller
    /// asking for another project's nodes (`owner`) is refused too.
    pub fn list_scope(&self, kind: &str, owner: Option<&str>) -> Result<Option<String>> {
        let all = format!("baremetal:{kind}:list_all");
        if self.allowed(&all, &Target::new()) {
            return Ok(None);
        }
        let Some(project) = self.auth.project_id.clone() else {
            return Err(crate::auth::policy::forbidden(&all));
        };
        if owner.is_some_and(|o| o != project) {
            return Err(crate::auth::policy::forbidden(&all));
        }
        self.policy.authorize(
            &format!("baremetal:{kind}:list"),
            &self.auth,
            &Target::new(),
        )?;
        Ok(Some(project))
    }

    /// Which of a node's secrets the caller may see: Ironic's `show_password` and
    /// `show_instance_secrets`, evaluated whatever the auth strategy (neither
    /// allows anyone by default).
    pub fn reveal_secrets(&self, target: &Target) -> super::node_view::Reveal {
        super::node_view::Reveal {
            passwords: self.policy.evaluate("show_password", &self.auth, target),
            instance: self
                .policy
                .evaluate("show_instance_secrets", &self.auth, target),
        }
    }

    /// Hides what a caller below `baremetal:node:get:filter_threshold` (a system
    /// reader, by default) may not see of a node it can see, as Ironic does: a
    /// lessee does not see the BMC's `driver_info`, `driver_internal_info`,
    /// `last_error` nor the conductor holding the reservation.
    pub fn redact_node_fields(
        &self,
        target: &Target,
        doc: &mut serde_json::Map<String, serde_json::Value>,
    ) {
        use serde_json::{Value, json};
        if self.allowed("baremetal:node:get:filter_threshold", target) {
            return;
        }
        let mut hide = |field: &str, rule: &str, value: Value| {
            if doc.contains_key(field) && !self.allowed(rule, target) {
                doc.insert(field.to_owned(), value);
            }
        };
        hide(
            "last_error",
            "baremetal:node:get:last_error",
            json!("** Value Redacted - Requires baremetal:node:get:last_error permission. **"),
        );
        hide(
            "reservation",
            "baremetal:node:get:reservation",
            json!("** Redacted - requires baremetal:node:get:reservation permission. **"),
        );
        hide(
            "driver_internal_info",
            "baremetal:node:get:driver_internal_info",
            json!({"content": "** Redacted - Requires baremetal:node:get:driver_internal_info permission. **"}),
        );
        hide(
            "driver_info",
            "baremetal:node:get:driver_info",
            json!({"content": "** Redacted - requires baremetal:node:get:driver_info permission. **"}),
        );
    }

    /// The rules of a node PATCH, after Ironic: one per field family touched, and the
    /// generic `baremetal:node:update` for any other field.
    pub fn node_patch_rules(ops: &serde_json::Value) -> Vec<&'static str> {
        const BY_PATH: &[(&str, &str)] = &[
            ("/instance_info", "baremetal:node:update_instance_info"),
            ("/extra", "baremetal:node:update_extra"),
            ("/driver_info", "baremetal:node:update:driver_info"),
            ("/properties", "baremetal:node:update:properties"),
            ("/chassis_uuid", "baremetal:node:update:chassis_uuid"),
            ("/instance_uuid", "baremetal:node:update:instance_uuid"),
            ("/lessee", "baremetal:node:update:lessee"),
            ("/owner", "baremetal:node:update:owner"),
            ("/driver", "baremetal:node:update:driver_interfaces"),
            ("/network_data", "baremetal:node:update:network_data"),
            ("/conductor_group", "baremetal:node:update:conductor_group"),
            ("/name", "baremetal:node:update:name"),
            ("/retired", "baremetal:node:update:retired"),
        ];
        let mut rules = Vec::new();
        let mut generic = false;
        for op in ops.as_array().map(Vec::as_slice).unwrap_or_default() {
            let path = op.get("path").and_then(|p| p.as_str()).unwrap_or_default();
            let rule = BY_PATH
                .iter()
                .find(|(prefix, _)| path.starts_with(prefix))
                .map(|(_, rule)| *rule)
                .or_else(|| {
                    let field = path.trim_start_matches('/');
                    field
                        .strip_suffix("_interface")
                        .filter(|kind| {
                            crate::config::InterfaceKind::ALL
                                .iter()
                                .any(|k| k.as_str() == *kind)
                        })
                        .map(|_| "baremetal:node:update:driver_interfaces")
                })
                .or_else(|| {
                    let disables_cleaning = path.starts_with("/automated_clean")
                        && op.get("value").is_some_and(|v| {
                            v == &serde_json::Value::Bool(false)
                                || v.as_str().is_some_and(|s| {
                                    crate::api::common::parse_bool("automated_clean", s)
                                        == Ok(false)
                                })
                        });
                    disables_cleaning.then_some("baremetal:node:disable_cleaning")
                });
            match rule {
                Some(r) if !rules.contains(&r) => rules.push(r),
                Some(_) => {}
                None => generic = true,
            }
        }
        if generic || rules.is_empty() {
            rules.push("baremetal:node:update");
        }
        rules
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn patch_rules_follow_the_fields() {
        let rules = |ops| Ctx::node_patch_rules(&ops);
        assert_eq!(
            rules(json!([{"op": "add", "path": "/extra/a", "value": 1}])),
            ["baremetal:node:update_extra"]
        );
        assert_eq!(
            rules(json!([
                {"op": "replace", "path": "/driver_info/ipmi_address", "value": "x"},
                {"op": "replace", "path": "/deploy_interface", "value": "fake"},
                {"op": "replace", "path": "/driver", "value": "ipmi"},
            ])),
            [
                "baremetal:node:update:driver_info",
                "baremetal:node:update:driver_interfaces"
            ]
        );
        assert_eq!(
            rules(json!([
                {"op": "replace", "path": "/description", "value": "x"},
                {"op": "replace", "path": "/owner", "value": "p"},
            ])),
            ["baremetal:node:update:owner", "baremetal:node:update"]
        );
        assert_eq!(
            rules(json!([{"op": "replace", "path": "/automated_clean", "value": false}])),
            ["baremetal:node:disable_cleaning"]
        );
        assert_eq!(
            rules(json!([{"op": "replace", "path": "/automated_clean", "value": true}])),
            ["baremetal:node:update"]
        );
        assert_eq!(rules(json!("not a patch")), ["baremetal:node:update"]);
    }
}
