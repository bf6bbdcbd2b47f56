//! `fake-hardware`: a hardware type whose interfaces succeed without touching any
//! hardware. Operators use it to try m2 and to test the clients, Nova's CI uses it, and
//! it drives the same task machinery as real drivers. Also the `noop` and `no-*`
//! implementations that stand for "this node has no such capability".

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use super::*;
use crate::config::FakeSection;

/// The fake implementation of every interface. Deploys and clean steps take the
/// time `[fake]` says (none by default), so that operations can be watched, or
/// interrupted, while they run.
#[derive(Debug, Clone, Default)]
pub struct Fake {
    deploy_delay: Duration,
    clean_delay: Duration,
}

impl Fake {
    /// The fake interfaces with the delays of `[fake]`.
    pub fn new(settings: &FakeSection) -> Fake {
        Fake {
            deploy_delay: settings.deploy_delay,
            clean_delay: settings.clean_delay,
        }
    }
}

/// An implementation that does nothing, under a given name (`noop`, `no-raid`, ...).
pub struct Nothing(pub &'static str);

/// `flat` network interface: VIFs recorded on ports, no switch configuration.
pub struct Flat;

impl Interface for Fake {
    fn name(&self) -> &'static str {
        "fake"
    }
}

impl Interface for Nothing {
    fn name(&self) -> &'static str {
        self.0
    }
}

impl Interface for Flat {
    fn name(&self) -> &'static str {
        "flat"
    }
}

const BOOT_DEVICES: &[&str] = &["pxe", "disk"];
const BOOT_DEVICE_KEY: &str = "fake_boot_device";

#[async_trait]
impl Power for Fake {
    async fn get_power_state(&self, node: &Node) -> Result<PowerState> {
        Ok(node
            .power_state
            .as_deref()
            .and_then(PowerState::parse)
            .unwrap_or(PowerState::Off))
    }

    async fn set_power_state(
        &self,
        _node: &mut Node,
        _target: PowerState,
        _timeout: Option<u64>,
    ) -> Result<()> {
        Ok(())
    }

    async fn reboot(&self, _node: &mut Node, _timeout: Option<u64>) -> Result<()> {
        Ok(())
    }

    async fn soft_action(&self, _node: &mut Node, _action: PowerAction) -> Result<()> {
        Ok(())
    }

    fn supported_actions(&self) -> &'static [PowerAction] {
        &[
            PowerAction::On,
            PowerAction::Off,
            PowerAction::Reboot,
            PowerAction::SoftOff,
            PowerAction::SoftReboot,
        ]
    }
}

#[async_trait]
impl Management for Fake {
    fn supported_boot_devices(&self, _node: &Node) -> Vec<&'static str> {
        BOOT_DEVICES.to_vec()
    }

    async fn set_boot_device(&self, node: &mut Node, device: &str, persistent: bool) -> Result<()> {
        if !BOOT_DEVICES.contains(&device) {
            return Err(Error::invalid(format!(
                "Invalid boot device {device} specified, supported are: {}.",
                BOOT_DEVICES.join(", ")
            )));
        }
        if let Some(info) = node.driver_internal_info.as_object_mut() {
            info.insert(
                BOOT_DEVICE_KEY.into(),
                serde_json::json!({"boot_device": device, "persistent": persistent}),
            );
        } else {
            node.driver_internal_info = serde_json::json!({
                BOOT_DEVICE_KEY: {"boot_device": device, "persistent": persistent}
            });
        }
        Ok(())
    }

    async fn get_boot_device(&self, node: &Node) -> Result<(Option<String>, Option<bool>)> {
        let stored = node.driver_internal_info.get(BOOT_DEVICE_KEY);
        let device = stored
            .and_then(|s| s.get("boot_device"))
            .and_then(|d| d.as_str())
            .unwrap_or("pxe")
            .to_owned();
        let persistent = stored
            .and_then(|s| s.get("persistent"))
            .and_then(|p| p.as_bool())
            .unwrap_or(false);
        Ok((Some(device), Some(persistent)))
    }

    async fn inject_nmi(&self, _node: &mut Node) -> Result<()> {
        Ok(())
    }

    async fn get_supported_indicators(&self, _node: &Node) -> Result<Indicators> {
        Ok(fake_indicators())
    }

    async fn get_indicator_state(
        &self,
        node: &Node,
        component: &str,
        indicator: &str,
    ) -> Result<String> {
        fake_indicator(component, indicator)?;
        Ok(node
            .driver_internal_info
            .get(INDICATORS_KEY)
            .and_then(|i| i.get(component))
            .and_then(|c| c.get(indicator))
            .and_then(|s| s.as_str())
            .unwrap_or("on")
            .to_owned())
    }

    async fn set_indicator_state(
        &self,
        node: &mut Node,
        component: &str,
        indicator: &str,
        state: &str,
    ) -> Result<()> {
        let known = fake_indicator(component, indicator)?;
        if known.readonly {
            return Err(Error::invalid(format!(
                "Indicator {indicator} of component {component} is read-only."
            )));
        }
        if !known.states.iter().any(|s| s == state) {
            return Err(Error::invalid(format!(
                "Invalid state {state} for indicator {indicator} of component {component}; \
                 supported are: {}.",
                known.states.join(", ")
            )));
        }
        let stored = node.driver_internal_info.get(INDICATORS_KEY);
        let mut all = stored
            .and_then(|v| v.as_object())
            .cloned()
            .unwrap_or_default();
        let mut comp = all
            .get(component)
            .and_then(|v| v.as_object())
            .cloned()
            .unwrap_or_default();
        comp.insert(indicator.to_owned(), state.into());
        all.insert(component.to_owned(), serde_json::Value::Object(comp));
        let all = serde_json::Value::Object(all);
        match node.driver_internal_info.as_object_mut() {
            Some(info) => {
                info.insert(INDICATORS_KEY.into(), all);
            }
            None => node.driver_internal_info = serde_json::json!({ INDICATORS_KEY: all }),
        }
        Ok(())
    }
}

/// Where fake-hardware keeps the indicator states it was set to.
const INDICATORS_KEY: &str = "fake_indicators";

/// The indicators of a fake node: a read-only chassis LED and a system LED that can
/// also blink.
fn fake_indicators() -> Indicators {
    let led = |readonly: bool, states: &[&str]| Indicator {
        readonly,
        states: states.iter().map(|s| (*s).to_owned()).collect(),
    };
    let mut chassis = BTreeMap::new();
    chassis.insert("led-0".to_owned(), led(true, &["off", "on"]));
    let mut system = BTreeMap::new();
    system.insert("led".to_owned(), led(false, &["blinking", "off", "on"]));
    let mut all = BTreeMap::new();
    all.insert("chassis".to_owned(), chassis);
    all.insert("system".to_owned(), system);
    all
}

fn fake_indicator(component: &str, indicator: &str) -> Result<Indicator> {
    let all = fake_indicators();
    let comp = all
        .get(component)
        .ok_or_else(|| Error::invalid(format!("Invalid component {component} specified.")))?;
    comp.get(indicator)
        .cloned()
        .ok_or_else(|| Error::invalid(format!("Invalid indicator {indicator} specified.")))
}

#[async_trait]
impl Boot for Fake {}

#[async_trait]
impl Deploy for Fake {
    /// Ends as a real deploy does: the node powered on through its power interface.
    async fn deploy(&self, ctx: &mut TaskContext<'_>) -> Result<StepOutcome> {
        if !self.deploy_delay.is_zero() {
            tokio::time::sleep(self.deploy_delay).await;
        }
        let power = ctx.drivers.power.clone();
        power
            .set_power_state(ctx.node, PowerState::On, None)
            .await?;
        ctx.node.power_state = Some(PowerState::On.as_str().to_owned());
        Ok(StepOutcome::Done)
    }

    /// Powers the node off, as a real tear-down does.
    async fn tear_down(&self, ctx: &mut TaskContext<'_>) -> Result<()> {
        let power = ctx.drivers.power.clone();
        power
            .set_power_state(ctx.node, PowerState::Off, None)
            .await?;
        ctx.node.power_state = Some(PowerState::Off.as_str().to_owned());
        Ok(())
    }

    fn clean_steps(&self) -> Vec<CleanStep> {
        vec![CleanStep {
            interface: "deploy".into(),
            step: "erase_devices".into(),
            priority: 10,
        }]
    }

    async fn execute_clean_step(
        &self,
        _ctx: &mut TaskContext<'_>,
        _step: &CleanStep,
    ) -> Result<StepOutcome> {
        if !self.clean_delay.is_zero() {
            tokio::time::sleep(self.clean_delay).await;
        }
        Ok(StepOutcome::Done)
    }
}

#[async_trait]
impl Inspect for Fake {
    async fn inspect(&self, _ctx: &mut TaskContext<'_>) -> Result<StepOutcome> {
        Ok(StepOutcome::Done)
    }
}

#[async_trait]
impl Inspect for Nothing {
    async fn inspect(&self, _ctx: &mut TaskContext<'_>) -> Result<StepOutcome> {
        Err(Error::Unsupported(
            "Inspection is not supported by this node's inspect interface (no-inspect).".into(),
        ))
    }
}

#[async_trait]
impl Rescue for Fake {
    async fn rescue(&self, _ctx: &mut TaskContext<'_>) -> Result<StepOutcome> {
        Ok(StepOutcome::Done)
    }
    async fn unrescue(&self, _ctx: &mut TaskContext<'_>) -> Result<()> {
        Ok(())
    }
}

#[async_trait]
impl Rescue for Nothing {
    async fn rescue(&self, _ctx: &mut TaskContext<'_>) -> Result<StepOutcome> {
        Err(Error::Unsupported(
            "Rescue is not supported by this node's rescue interface (no-rescue).".into(),
        ))
    }
    async fn unrescue(&self, _ctx: &mut TaskContext<'_>) -> Result<()> {
        Err(Error::Unsupported(
            "Rescue is not supported by this node's rescue interface (no-rescue).".into(),
        ))
    }
}

#[async_trait]
impl Console for Fake {
    fn console_info(&self, _node: &Node) -> serde_json::Value {
        serde_json::json!({"type": "shellinabox", "url": "http://127.0.0.1:4321/fake"})
    }
}

#[async_trait]
impl Console for Nothing {
    async fn start_console(&self, _node: &mut Node) -> Result<()> {
        Err(Error::Unsupported(
            "Console is not supported by this node's console interface (no-console).".into(),
        ))
    }
}

impl Network for Nothing {}
impl Network for Flat {}
impl Plain for Fake {}
impl Plain for Nothing {}

/// Registers the fake, noop and no-* implementations and the `fake-hardware` type.
pub fn register(r: &mut Registry, settings: &FakeSection) {
    let fake = Arc::new(Fake::new(settings));
    r.add_power(fake.clone());
    r.add_management(fake.clone());
    r.add_boot(fake.clone());
    r.add_deploy(fake.clone());
    r.add_inspect(fake.clone());
    r.add_inspect(Arc::new(Nothing("no-inspect")));
    r.add_rescue(fake.clone());
    r.add_rescue(Arc::new(Nothing("no-rescue")));
    r.add_console(fake.clone());
    r.add_console(Arc::new(Nothing("no-console")));
    r.add_network(Arc::new(Nothing("noop")));
    r.add_network(Arc::new(Flat));
    r.add_plain(InterfaceKind::Storage, Arc::new(Nothing("noop")));
    for (kind, none) in [
        (InterfaceKind::Raid, "no-raid"),
        (InterfaceKind::Bios, "no-bios"),
        (InterfaceKind::Vendor, "no-vendor"),
        (InterfaceKind::Firmware, "no-firmware"),
    ] {
        r.add_plain(kind, fake.clone());
        r.add_plain(kind, Arc::new(Nothing(none)));
    }

    let mut supported = BTreeMap::new();
    for kind in InterfaceKind::ALL {
        let names: Vec<&'static str> = match kind {
            // The real boot and deploy interfaces work with fake power: that is how
            // the M2 data path is measured without hardware.
            InterfaceKind::Boot => vec!["fake", "ipxe"],
            InterfaceKind::Deploy => vec!["fake", "m2"],
            InterfaceKind::Power | InterfaceKind::Management => vec!["fake"],
            InterfaceKind::Inspect => vec!["fake", "no-inspect"],
            InterfaceKind::Console => vec!["fake", "no-console"],
            InterfaceKind::Rescue => vec!["fake", "no-rescue"],
            InterfaceKind::Raid => vec!["fake", "no-raid"],
            InterfaceKind::Bios => vec!["fake", "no-bios"],
            InterfaceKind::Vendor => vec!["fake", "no-vendor"],
            InterfaceKind::Firmware => vec!["fake", "no-firmware"],
            InterfaceKind::Network => vec!["noop", "flat"],
            InterfaceKind::Storage => vec!["noop", "rbd"],
        };
        supported.insert(kind, names);
    }
    r.add_hardware_type(HardwareType {
        name: "fake-hardware",
        supported,
    });
}
