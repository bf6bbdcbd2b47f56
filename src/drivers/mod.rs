//! Drivers as in Ironic: a *hardware type* is a composition of *interfaces* (power,
//! management, boot, deploy, ...). Each interface is a trait with named implementations
//! kept in a [`Registry`]; a node picks one implementation per interface, and
//! [`DriverSet`] holds the chosen ones while a task runs.

pub mod configdrive;
pub mod fake;
pub mod ipmi;
pub mod ipxe;
pub mod m2;
pub mod raid;

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::config::{Config, InterfaceKind};
use crate::db::entities::{node, port};
use crate::error::{Error, Result};

/// A node as drivers see it: the database row, owned by the running task.
pub type Node = node::Model;

/// Power state of a node as Ironic spells it on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PowerState {
    #[serde(rename = "power on")]
    On,
    #[serde(rename = "power off")]
    Off,
    #[serde(rename = "error")]
    Error,
}

impl PowerState {
    /// Wire string.
    pub fn as_str(self) -> &'static str {
        match self {
            PowerState::On => "power on",
            PowerState::Off => "power off",
            PowerState::Error => "error",
        }
    }

    /// Parses the wire string.
    pub fn parse(s: &str) -> Option<PowerState> {
        match s {
            "power on" => Some(PowerState::On),
            "power off" => Some(PowerState::Off),
            "error" => Some(PowerState::Error),
            _ => None,
        }
    }
}

/// What a client may ask of `PUT /v1/nodes/{id}/states/power`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PowerAction {
    On,
    Off,
    Reboot,
    SoftOff,
    SoftReboot,
}

impl PowerAction {
    /// Parses a `target` value.
    pub fn parse(s: &str) -> Option<PowerAction> {
        match s {
            "power on" => Some(PowerAction::On),
            "power off" => Some(PowerAction::Off),
            "rebooting" => Some(PowerAction::Reboot),
            "soft power off" => Some(PowerAction::SoftOff),
            "soft rebooting" => Some(PowerAction::SoftReboot),
            _ => None,
        }
    }

    /// Wire string.
    pub fn as_str(self) -> &'static str {
        match self {
            PowerAction::On => "power on",
            PowerAction::Off => "power off",
            PowerAction::Reboot => "rebooting",
            PowerAction::SoftOff => "soft power off",
            PowerAction::SoftReboot => "soft rebooting",
        }
    }

    /// The power state the node is in once the action completes.
    pub fn final_state(self) -> PowerState {
        match self {
            PowerAction::Off | PowerAction::SoftOff => PowerState::Off,
            _ => PowerState::On,
        }
    }

    /// Is this a soft (ACPI) action, available from API 1.27?
    pub fn is_soft(self) -> bool {
        matches!(self, PowerAction::SoftOff | PowerAction::SoftReboot)
    }
}

/// Outcome of a deploy, clean or inspect step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepOutcome {
    /// Finished.
    Done,
    /// Continues asynchronously; the node waits for a call-back.
    Wait,
}

/// The context a driver works in: the node (owned by the task holding its lock), its
/// ports and the other interfaces chosen for it.
pub struct TaskContext<'a> {
    pub node: &'a mut Node,
    pub ports: &'a [port::Model],
    pub drivers: &'a DriverSet,
    /// The database, for what drivers read beside the node (volume records, images).
    pub db: &'a sea_orm::DatabaseConnection,
    /// The reservation the task holds, written back with every save.
    pub host: &'a str,
}

impl TaskContext<'_> {
    /// Writes the node now, still reserved: drivers record what they created before
    /// the next step, so that a crash leaves nothing unaccounted for.
    /// The write is fenced: it fails when another conductor took the reservation.
    pub async fn save(&mut self) -> Result<()> {
        self.node.reservation = Some(self.host.to_owned());
        if crate::db::nodes::save_held(self.db, self.node, self.host).await? {
            Ok(())
        } else {
            Err(Error::Conflict(format!(
                "Node {} was taken over by another conductor; this operation stops.",
                self.node.uuid
            )))
        }
    }
}

/// What every interface implementation has.
pub trait Interface: Send + Sync {
    /// Name used in `<x>_interface` fields and `enabled_<x>_interfaces`.
    fn name(&self) -> &'static str;
    /// Checks that the node carries what this interface needs (driver_info, ...).
    fn validate(&self, _node: &Node) -> Result<()> {
        Ok(())
    }
    /// driver_info keys this interface reads, with a description.
    fn properties(&self) -> &'static [(&'static str, &'static str)] {
        &[]
    }
}

/// Power control.
#[async_trait]
pub trait Power: Interface {
    async fn get_power_state(&self, node: &Node) -> Result<PowerState>;
    async fn set_power_state(
        &self,
        node: &mut Node,
        target: PowerState,
        timeout: Option<u64>,
    ) -> Result<()>;
    async fn reboot(&self, node: &mut Node, timeout: Option<u64>) -> Result<()>;
    /// Soft power off / reboot; unsupported by default.
    async fn soft_action(&self, _node: &mut Node, action: PowerAction) -> Result<()> {
        Err(Error::Unsupported(format!(
            "The power interface {} does not support {}.",
            self.name(),
            action.as_str()
        )))
    }
    /// Actions this interface supports.
    fn supported_actions(&self) -> &'static [PowerAction] {
        &[PowerAction::On, PowerAction::Off, PowerAction::Reboot]
    }
}

/// Boot device and BMC management.
#[async_trait]
pub trait Management: Interface {
    fn supported_boot_devices(&self, node: &Node) -> Vec<&'static str>;
    async fn set_boot_device(&self, node: &mut Node, device: &str, persistent: bool) -> Result<()>;
    /// Current boot device and whether it is persistent (`None` when unknown).
    async fn get_boot_device(&self, node: &Node) -> Result<(Option<String>, Option<bool>)>;
    async fn inject_nmi(&self, _node: &mut Node) -> Result<()> {
        Err(Error::Unsupported(format!(
            "The management interface {} does not support NMI injection.",
            self.name()
        )))
    }
    /// The indicators (LEDs) of the node's hardware components; unsupported by default.
    async fn get_supported_indicators(&self, node: &Node) -> Result<Indicators> {
        Err(unsupported_extension(node, "get_supported_indicators"))
    }
    /// The state of one indicator (`on`, `off`, `blinking` or `unknown`).
    async fn get_indicator_state(
        &self,
        node: &Node,
        _component: &str,
        _indicator: &str,
    ) -> Result<String> {
        Err(unsupported_extension(node, "get_indicator_state"))
    }
    /// Sets one indicator to one of the states it supports.
    async fn set_indicator_state(
        &self,
        node: &mut Node,
        _component: &str,
        _indicator: &str,
        _state: &str,
    ) -> Result<()> {
        Err(unsupported_extension(node, "set_indicator_state"))
    }
}

/// One indicator of a hardware component, as a management interface describes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Indicator {
    /// The indicator can be read but not set.
    pub readonly: bool,
    /// The states it can be in.
    pub states: Vec<String>,
}

/// Indicators by component (`system`, `chassis`, `disk`, `power`, `nic`), then by name.
pub type Indicators = BTreeMap<String, BTreeMap<String, Indicator>>;

/// What a driver answers for an operation its interfaces do not implement.
pub fn unsupported_extension(node: &Node, extension: &str) -> Error {
    Error::Unsupported(format!(
        "Driver {} does not support {extension} (disabled or not implemented).",
        node.driver
    ))
}

/// Getting a node ready to boot the instance (PXE/iPXE configuration, ...).
#[async_trait]
pub trait Boot: Interface {
    async fn prepare_instance(&self, _ctx: &mut TaskContext<'_>) -> Result<()> {
        Ok(())
    }
    async fn clean_up_instance(&self, _ctx: &mut TaskContext<'_>) -> Result<()> {
        Ok(())
    }
    /// Re-adopts an active node whose conductor changed (the hash ring moved it, or
    /// its conductor died): re-creates whatever this conductor must serve for the node
    /// to boot (boot configuration, exports). Must be idempotent.
    async fn take_over(&self, _ctx: &mut TaskContext<'_>) -> Result<()> {
        Ok(())
    }
}

/// A step the deploy interface runs during cleaning.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CleanStep {
    pub interface: String,
    pub step: String,
    pub priority: u32,
}

/// Putting an image on a node and taking it off again.
#[async_trait]
pub trait Deploy: Interface {
    async fn deploy(&self, ctx: &mut TaskContext<'_>) -> Result<StepOutcome>;
    async fn tear_down(&self, ctx: &mut TaskContext<'_>) -> Result<()>;
    /// Steps of automated cleaning, highest priority first.
    fn clean_steps(&self) -> Vec<CleanStep> {
        Vec::new()
    }
    async fn execute_clean_step(
        &self,
        _ctx: &mut TaskContext<'_>,
        _step: &CleanStep,
    ) -> Result<StepOutcome> {
        Ok(StepOutcome::Done)
    }
    /// Re-adopts an active node whose conductor changed, after the boot interface's
    /// `take_over`. Must be idempotent.
    async fn take_over(&self, _ctx: &mut TaskContext<'_>) -> Result<()> {
        Ok(())
    }
    /// Checks what a deploy needs beyond the node's own fields (images, services the
    /// deploy reaches); run by `validate` and before a deploy is accepted.
    async fn check(&self, _ctx: &TaskContext<'_>) -> Result<()> {
        Ok(())
    }
}

/// Hardware inspection.
#[async_trait]
pub trait Inspect: Interface {
    async fn inspect(&self, ctx: &mut TaskContext<'_>) -> Result<StepOutcome>;
}

/// Rescue mode.
#[async_trait]
pub trait Rescue: Interface {
    async fn rescue(&self, ctx: &mut TaskContext<'_>) -> Result<StepOutcome>;
    async fn unrescue(&self, ctx: &mut TaskContext<'_>) -> Result<()>;
}

/// Serial console.
#[async_trait]
pub trait Console: Interface {
    async fn start_console(&self, _node: &mut Node) -> Result<()> {
        Ok(())
    }
    async fn stop_console(&self, _node: &mut Node) -> Result<()> {
        Ok(())
    }
    fn console_info(&self, _node: &Node) -> serde_json::Value {
        serde_json::json!({"type": "none", "url": null})
    }
}

/// Tenant networking; VIFs are recorded on ports and portgroups by the conductor.
pub trait Network: Interface {}

/// Interfaces without operations m2 drives yet (storage, raid, bios, vendor, firmware).
pub trait Plain: Interface {}

/// Implementations of every interface, by kind and name.
#[derive(Default)]
pub struct Registry {
    power: BTreeMap<&'static str, Arc<dyn Power>>,
    management: BTreeMap<&'static str, Arc<dyn Management>>,
    boot: BTreeMap<&'static str, Arc<dyn Boot>>,
    deploy: BTreeMap<&'static str, Arc<dyn Deploy>>,
    inspect: BTreeMap<&'static str, Arc<dyn Inspect>>,
    rescue: BTreeMap<&'static str, Arc<dyn Rescue>>,
    console: BTreeMap<&'static str, Arc<dyn Console>>,
    network: BTreeMap<&'static str, Arc<dyn Network>>,
    plain: BTreeMap<(InterfaceKind, &'static str), Arc<dyn Plain>>,
    hardware_types: BTreeMap<&'static str, HardwareType>,
}

/// A hardware type: for each interface kind, the implementations it supports, in order of
/// preference (the first enabled one is the default).
#[derive(Debug, Clone)]
pub struct HardwareType {
    pub name: &'static str,
    pub supported: BTreeMap<InterfaceKind, Vec<&'static str>>,
}

impl HardwareType {
    /// Implementations of `kind` supported by this type.
    pub fn supported(&self, kind: InterfaceKind) -> &[&'static str] {
        self.supported.get(&kind).map(Vec::as_slice).unwrap_or(&[])
    }
}

/// The interfaces chosen for one node.
#[derive(Clone)]
pub struct DriverSet {
    pub hardware_type: HardwareType,
    pub power: Arc<dyn Power>,
    pub management: Arc<dyn Management>,
    pub boot: Arc<dyn Boot>,
    pub deploy: Arc<dyn Deploy>,
    pub inspect: Arc<dyn Inspect>,
    pub rescue: Arc<dyn Rescue>,
    pub console: Arc<dyn Console>,
    pub network: Arc<dyn Network>,
    pub plain: BTreeMap<InterfaceKind, Arc<dyn Plain>>,
}

impl DriverSet {
    /// The chosen implementation of `kind`, as the base trait.
    pub fn interface(&self, kind: InterfaceKind) -> Option<&dyn Interface> {
        Some(match kind {
            InterfaceKind::Power => self.power.as_ref() as &dyn Interface,
            InterfaceKind::Management => self.management.as_ref() as &dyn Interface,
            InterfaceKind::Boot => self.boot.as_ref() as &dyn Interface,
            InterfaceKind::Deploy => self.deploy.as_ref() as &dyn Interface,
            InterfaceKind::Inspect => self.inspect.as_ref() as &dyn Interface,
            InterfaceKind::Rescue => self.rescue.as_ref() as &dyn Interface,
            InterfaceKind::Console => self.console.as_ref() as &dyn Interface,
            InterfaceKind::Network => self.network.as_ref() as &dyn Interface,
            other => return self.plain.get(&other).map(|p| p.as_ref() as &dyn Interface),
        })
    }
}

/// The node's `<kind>_interface` value.
pub fn node_interface(node: &Node, kind: InterfaceKind) -> &str {
    match kind {
        InterfaceKind::Bios => &node.bios_interface,
        InterfaceKind::Boot => &node.boot_interface,
        InterfaceKind::Console => &node.console_interface,
        InterfaceKind::Deploy => &node.deploy_interface,
        InterfaceKind::Firmware => &node.firmware_interface,
        InterfaceKind::Inspect => &node.inspect_interface,
        InterfaceKind::Management => &node.management_interface,
        InterfaceKind::Network => &node.network_interface,
        InterfaceKind::Power => &node.power_interface,
        InterfaceKind::Raid => &node.raid_interface,
        InterfaceKind::Rescue => &node.rescue_interface,
        InterfaceKind::Storage => &node.storage_interface,
        InterfaceKind::Vendor => &node.vendor_interface,
    }
}

fn lookup<T: ?Sized>(
    map: &BTreeMap<&'static str, Arc<T>>,
    kind: InterfaceKind,
    name: &str,
) -> Result<Arc<T>> {
    map.get(name).cloned().ok_or_else(|| {
        Error::invalid(format!(
            "No {} interface named \"{name}\" is loaded.",
            kind.as_str()
        ))
    })
}

impl Registry {
    /// Every implementation m2 ships, with the hardware types that use them,
    /// configured by `config`.
    pub fn builtin(config: &Config, services: Arc<m2::M2Services>) -> Registry {
        let mut r = Registry::default();
        fake::register(&mut r, &config.fake);
        r.add_boot(Arc::new(ipxe::Ipxe));
        r.add_deploy(Arc::new(m2::M2Deploy::new(services)));
        r.add_plain(InterfaceKind::Storage, Arc::new(m2::RbdStorage));
        ipmi::register(&mut r, config);
        r
    }

    pub fn add_power(&mut self, i: Arc<dyn Power>) {
        self.power.insert(i.name(), i);
    }
    pub fn add_management(&mut self, i: Arc<dyn Management>) {
        self.management.insert(i.name(), i);
    }
    pub fn add_boot(&mut self, i: Arc<dyn Boot>) {
        self.boot.insert(i.name(), i);
    }
    pub fn add_deploy(&mut self, i: Arc<dyn Deploy>) {
        self.deploy.insert(i.name(), i);
    }
    pub fn add_inspect(&mut self, i: Arc<dyn Inspect>) {
        self.inspect.insert(i.name(), i);
    }
    pub fn add_rescue(&mut self, i: Arc<dyn Rescue>) {
        self.rescue.insert(i.name(), i);
    }
    pub fn add_console(&mut self, i: Arc<dyn Console>) {
        self.console.insert(i.name(), i);
    }
    pub fn add_network(&mut self, i: Arc<dyn Network>) {
        self.network.insert(i.name(), i);
    }
    pub fn add_plain(&mut self, kind: InterfaceKind, i: Arc<dyn Plain>) {
        self.plain.insert((kind, i.name()), i);
    }
    pub fn add_hardware_type(&mut self, hw: HardwareType) {
        self.hardware_types.insert(hw.name, hw);
    }

    /// A hardware type by name.
    pub fn hardware_type(&self, name: &str) -> Option<&HardwareType> {
        self.hardware_types.get(name)
    }

    /// Names of the hardware types that are both shipped and enabled.
    pub fn enabled_hardware_types<'a>(&'a self, config: &'a Config) -> Vec<&'a HardwareType> {
        config
            .default
            .enabled_hardware_types
            .iter()
            .filter_map(|n| self.hardware_types.get(n.as_str()))
            .collect()
    }

    /// Is an implementation of `kind` called `name` loaded?
    pub fn has(&self, kind: InterfaceKind, name: &str) -> bool {
        match kind {
            InterfaceKind::Power => self.power.contains_key(name),
            InterfaceKind::Management => self.management.contains_key(name),
            InterfaceKind::Boot => self.boot.contains_key(name),
            InterfaceKind::Deploy => self.deploy.contains_key(name),
            InterfaceKind::Inspect => self.inspect.contains_key(name),
            InterfaceKind::Rescue => self.rescue.contains_key(name),
            InterfaceKind::Console => self.console.contains_key(name),
            InterfaceKind::Network => self.network.contains_key(name),
            other => self.plain.contains_key(&(other, name)),
        }
    }

    /// Implementations of `kind` that `hw` supports and the configuration enables, in the
    /// hardware type's order of preference.
    pub fn enabled_for(
        &self,
        config: &Config,
        hw: &HardwareType,
        kind: InterfaceKind,
    ) -> Vec<&'static str> {
        let enabled = config.default.enabled_interfaces(kind);
        hw.supported(kind)
            .iter()
            .copied()
            .filter(|n| enabled.iter().any(|e| e == n) && self.has(kind, n))
            .collect()
    }

    /// The default implementation of `kind` for nodes of `hw`: `default_<kind>_interface`
    /// when set and usable, else the first enabled one the type supports.
    pub fn default_for(
        &self,
        config: &Config,
        hw: &HardwareType,
        kind: InterfaceKind,
    ) -> Option<&'static str> {
        let usable = self.enabled_for(config, hw, kind);
        if let Some(d) = config.default.default_interface(kind)
            && let Some(n) = usable.iter().find(|n| **n == d)
        {
            return Some(n);
        }
        usable.first().copied()
    }

    /// Checks that `name` may be used as `kind` on a node of `hw`.
    pub fn check_interface(
        &self,
        config: &Config,
        hw: &HardwareType,
        kind: InterfaceKind,
        name: &str,
    ) -> Result<()> {
        if self.enabled_for(config, hw, kind).contains(&name) {
            Ok(())
        } else {
            Err(Error::invalid(format!(
                "Could not find a suitable {k} interface \"{name}\" for hardware type \"{hw}\": \
                 it is not supported by the hardware type or not enabled in \
                 enabled_{k}_interfaces.",
                k = kind.as_str(),
                hw = hw.name
            )))
        }
    }

    /// Builds the set of interfaces a node uses.
    pub fn driver_set(&self, node: &Node) -> Result<DriverSet> {
        let hw = self
            .hardware_types
            .get(node.driver.as_str())
            .ok_or_else(|| Error::invalid(format!("Driver {} could not be found.", node.driver)))?;
        let mut plain = BTreeMap::new();
        for kind in [
            InterfaceKind::Storage,
            InterfaceKind::Raid,
            InterfaceKind::Bios,
            InterfaceKind::Vendor,
            InterfaceKind::Firmware,
        ] {
            let name = node_interface(node, kind);
            let i = self.plain.get(&(kind, name)).cloned().ok_or_else(|| {
                Error::invalid(format!(
                    "No {} interface named \"{name}\" is loaded.",
                    kind.as_str()
                ))
            })?;
            plain.insert(kind, i);
        }
        Ok(DriverSet {
            hardware_type: hw.clone(),
            power: lookup(&self.power, InterfaceKind::Power, &node.power_interface)?,
            management: lookup(
                &self.management,
                InterfaceKind::Management,
                &node.management_interface,
            )?,
            boot: lookup(&self.boot, InterfaceKind::Boot, &node.boot_interface)?,
            deploy: lookup(&self.deploy, InterfaceKind::Deploy, &node.deploy_interface)?,
            inspect: lookup(
                &self.inspect,
                InterfaceKind::Inspect,
                &node.inspect_interface,
            )?,
            rescue: lookup(&self.rescue, InterfaceKind::Rescue, &node.rescue_interface)?,
            console: lookup(
                &self.console,
                InterfaceKind::Console,
                &node.console_interface,
            )?,
            network: lookup(
                &self.network,
                InterfaceKind::Network,
                &node.network_interface,
            )?,
            plain,
        })
    }

    /// driver_info properties of the default interfaces of `hw` (for
    /// `GET /v1/drivers/{name}/properties`).
    pub fn properties(&self, config: &Config, hw: &HardwareType) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        for kind in InterfaceKind::ALL {
            let Some(name) = self.default_for(config, hw, kind) else {
                continue;
            };
            let props: &[(&str, &str)] = match kind {
                InterfaceKind::Power => self.power.get(name).map(|i| i.properties()),
                InterfaceKind::Management => self.management.get(name).map(|i| i.properties()),
                InterfaceKind::Boot => self.boot.get(name).map(|i| i.properties()),
                InterfaceKind::Deploy => self.deploy.get(name).map(|i| i.properties()),
                InterfaceKind::Inspect => self.inspect.get(name).map(|i| i.properties()),
                InterfaceKind::Rescue => self.rescue.get(name).map(|i| i.properties()),
                InterfaceKind::Console => self.console.get(name).map(|i| i.properties()),
                InterfaceKind::Network => self.network.get(name).map(|i| i.properties()),
                other => self.plain.get(&(other, name)).map(|i| i.properties()),
            }
            .unwrap_or(&[]);
            for (k, v) in props {
                out.insert((*k).to_owned(), (*v).to_owned());
            }
        }
        out
    }
}
