//! `ipmitool` power and management interfaces and the `ipmi` hardware type: a node's
//! BMC driven over IPMI 2.0 (lanplus) with the `ipmitool` command, as Ironic does.
//!
//! driver_info: `ipmi_address` (required), `ipmi_port`, `ipmi_username`,
//! `ipmi_password`, `ipmi_protocol_version` (`2.0` → lanplus, `1.5` → lan),
//! `ipmi_priv_level`. The password reaches ipmitool through its environment (`-E`),
//! never its command line. Calls to one BMC are serialised: BMCs handle one session
//! badly at best.

use std::collections::HashMap;
use std::sync::{Arc, Mutex as StdMutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use serde_json::Value;
use tokio::process::Command;
use tokio::sync::Mutex;

use super::*;
use crate::config::IpmiSection;

/// driver_info keys and what they mean, for `/v1/drivers/ipmi/properties`.
const PROPERTIES: &[(&str, &str)] = &[
    (
        "ipmi_address",
        "IP address or hostname of the node's BMC. Required.",
    ),
    ("ipmi_port", "Remote IPMI RMCP port. Optional (623)."),
    ("ipmi_username", "Username of the BMC account. Optional."),
    ("ipmi_password", "Password of the BMC account. Optional."),
    (
        "ipmi_protocol_version",
        "IPMI protocol version: \"2.0\" (lanplus, default) or \"1.5\" (lan). Optional.",
    ),
    (
        "ipmi_priv_level",
        "Privilege level: ADMINISTRATOR (default), OPERATOR, USER or CALLBACK. Optional.",
    ),
    (
        "ipmi_cipher_suite",
        "IPMI 2.0 cipher suite (0-17) to use instead of the one ipmitool negotiates; \
         needed by BMCs that do not answer the cipher suite query. Optional.",
    ),
];

/// Boot devices `chassis bootdev` accepts, by Ironic's names.
const BOOT_DEVICES: &[&str] = &["pxe", "disk", "cdrom", "bios", "safe"];

/// How to reach one BMC, parsed from driver_info.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Bmc {
    address: String,
    port: Option<u16>,
    username: Option<String>,
    password: Option<String>,
    lanplus: bool,
    priv_level: String,
    cipher_suite: Option<u8>,
}

impl Bmc {
    fn parse(node: &Node) -> Result<Bmc> {
        let info = &node.driver_info;
        let text = |k: &str| -> Result<Option<String>> {
            match info.get(k) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(Value::Number(n)) => Ok(Some(n.to_string())),
                Some(other) => Err(Error::invalid(format!(
                    "Invalid {k} in driver_info of node {}: {other}",
                    node.uuid
                ))),
            }
        };
        let address = text("ipmi_address")?
            .filter(|a| !a.trim().is_empty())
            .ok_or_else(|| {
                Error::invalid(format!(
                    "Missing the following IPMI credentials in node's driver_info: \
                     ['ipmi_address'] (node {})",
                    node.uuid
                ))
            })?;
        if address.starts_with('-') || address.contains(char::is_whitespace) {
            return Err(Error::invalid(format!(
                "Invalid ipmi_address \"{address}\" for node {}",
                node.uuid
            )));
        }
        let port = match text("ipmi_port")? {
            None => None,
            Some(p) => Some(p.parse::<u16>().map_err(|_| {
                Error::invalid(format!(
                    "Invalid ipmi_port \"{p}\" for node {}: an integer 1-65535 is expected",
                    node.uuid
                ))
            })?),
        };
        let lanplus = match text("ipmi_protocol_version")?.as_deref() {
            None | Some("2.0") => true,
            Some("1.5") => false,
            Some(other) => {
                return Err(Error::invalid(format!(
                    "Invalid IPMI protocol version value {other}, the valid value can be one \
                     of 1.5, 2.0"
                )));
            }
        };
        let priv_level = text("ipmi_priv_level")?.unwrap_or_else(|| "ADMINISTRATOR".into());
        if !["ADMINISTRATOR", "OPERATOR", "USER", "CALLBACK"].contains(&priv_level.as_str()) {
            return Err(Error::invalid(format!(
                "Invalid privilege level value:{priv_level}, the valid value can be one of \
                 ADMINISTRATOR, CALLBACK, OPERATOR, USER"
            )));
        }
        let cipher_suite = match text("ipmi_cipher_suite")? {
            None => None,
            Some(c) => match c.parse::<u8>() {
                Ok(n) if n <= 17 => Some(n),
                _ => {
                    return Err(Error::invalid(format!(
                        "Invalid ipmi_cipher_suite \"{c}\" for node {}: an integer 0-17 is \
                         expected",
                        node.uuid
                    )));
                }
            },
        };
        Ok(Bmc {
            address,
            port,
            cipher_suite,
            username: text("ipmi_username")?,
            password: text("ipmi_password")?,
            lanplus,
            priv_level,
        })
    }

    fn key(&self) -> String {
        format!("{}:{}", self.address, self.port.unwrap_or(623))
    }
}

/// Runs ipmitool against BMCs, one command at a time per BMC.
pub struct Ipmitool {
    settings: IpmiSection,
    locks: StdMutex<HashMap<String, Arc<Mutex<()>>>>,
}

impl Ipmitool {
    pub fn new(settings: IpmiSection) -> Self {
        Ipmitool {
            settings,
            locks: StdMutex::new(HashMap::new()),
        }
    }

    fn lock_for(&self, bmc: &Bmc) -> Arc<Mutex<()>> {
        let mut locks = self.locks.lock().unwrap_or_else(|p| p.into_inner());
        locks.entry(bmc.key()).or_default().clone()
    }

    /// Runs `ipmitool <args>` and returns its standard output.
    async fn run(&self, bmc: &Bmc, args: &[&str]) -> Result<String> {
        let lock = self.lock_for(bmc);
        let _guard = lock.lock().await;
        let mut cmd = Command::new(&self.settings.ipmitool);
        cmd.arg("-I")
            .arg(if bmc.lanplus { "lanplus" } else { "lan" })
            .arg("-H")
            .arg(&bmc.address)
            .arg("-L")
            .arg(&bmc.priv_level);
        if let Some(p) = bmc.port {
            cmd.arg("-p").arg(p.to_string());
        }
        if let Some(u) = &bmc.username {
            cmd.arg("-U").arg(u);
        }
        if let (Some(c), true) = (bmc.cipher_suite, bmc.lanplus) {
            cmd.arg("-C").arg(c.to_string());
        }
        // -E: the password comes from IPMI_PASSWORD, not the command line.
        cmd.arg("-E")
            .env("IPMI_PASSWORD", bmc.password.as_deref().unwrap_or(""));
        // One retry inside ipmitool; m2 retries whole commands below.
        cmd.args(["-R", "1", "-N", "2"]).args(args);
        cmd.kill_on_drop(true)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let deadline = Instant::now() + Duration::from_secs(self.settings.command_retry_timeout);
        let mut attempt = 0;
        loop {
            attempt += 1;
            let out = tokio::time::timeout(
                Duration::from_secs(self.settings.command_timeout),
                cmd.output(),
            )
            .await;
            let failure = match out {
                Ok(Ok(o)) if o.status.success() => {
                    return Ok(String::from_utf8_lossy(&o.stdout).into_owned());
                }
                Ok(Ok(o)) => String::from_utf8_lossy(&o.stderr).trim().to_owned(),
                Ok(Err(e)) => {
                    return Err(Error::Internal(format!(
                        "cannot run {}: {e}",
                        self.settings.ipmitool
                    )));
                }
                Err(_) => format!("no answer within {} s", self.settings.command_timeout),
            };
            tracing::debug!(bmc = %bmc.key(), attempt, error = %failure, command = ?args, "ipmitool failed");
            if Instant::now() >= deadline {
                return Err(Error::Internal(format!(
                    "IPMI call \"{}\" to {} failed after {attempt} attempts: {failure}",
                    args.join(" "),
                    bmc.key()
                )));
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }

    async fn power_status(&self, bmc: &Bmc) -> Result<PowerState> {
        let out = self.run(bmc, &["power", "status"]).await?;
        parse_power_status(&out).ok_or_else(|| {
            Error::Internal(format!(
                "unexpected answer of the BMC {} to power status: {}",
                bmc.key(),
                out.trim()
            ))
        })
    }

    /// Sends `chassis power <verb>` and waits until the BMC reports `want`.
    async fn power_and_wait(
        &self,
        bmc: &Bmc,
        verb: &str,
        want: PowerState,
        timeout: Option<u64>,
    ) -> Result<()> {
        self.run(bmc, &["power", verb]).await?;
        let limit = Duration::from_secs(
            timeout
                .filter(|t| *t > 0)
                .unwrap_or(self.settings.power_state_change_timeout),
        );
        let started = Instant::now();
        loop {
            if self.power_status(bmc).await? == want {
                return Ok(());
            }
            if started.elapsed() >= limit {
                return Err(Error::Internal(format!(
                    "the BMC {} did not reach \"{}\" within {} s after power {verb}",
                    bmc.key(),
                    want.as_str(),
                    limit.as_secs()
                )));
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
}

/// `Chassis Power is on` → on.
fn parse_power_status(out: &str) -> Option<PowerState> {
    let l = out.to_ascii_lowercase();
    if l.contains("chassis power is on") {
        Some(PowerState::On)
    } else if l.contains("chassis power is off") {
        Some(PowerState::Off)
    } else {
        None
    }
}

/// The boot device and persistence from `chassis bootparam get 5`.
fn parse_boot_param(out: &str) -> (Option<String>, Option<bool>) {
    let mut device = None;
    let mut persistent = None;
    for line in out.lines() {
        let l = line.trim();
        if let Some(sel) = l.strip_prefix("- Boot Device Selector :") {
            let sel = sel.trim().to_ascii_lowercase();
            device = Some(
                if sel.contains("pxe") {
                    "pxe"
                } else if sel.contains("hard-drive") || sel.contains("hard drive") {
                    "disk"
                } else if sel.contains("cd/dvd") {
                    "cdrom"
                } else if sel.contains("bios") {
                    "bios"
                } else if sel.contains("safe") {
                    "safe"
                } else {
                    return (None, None);
                }
                .to_owned(),
            );
        }
        if l.contains("Options apply to all future boots") {
            persistent = Some(true);
        } else if l.contains("Options apply to only next boot") {
            persistent = Some(false);
        }
    }
    (device, persistent)
}

impl Interface for Ipmitool {
    fn name(&self) -> &'static str {
        "ipmitool"
    }

    fn validate(&self, node: &Node) -> Result<()> {
        Bmc::parse(node).map(|_| ())
    }

    fn properties(&self) -> &'static [(&'static str, &'static str)] {
        PROPERTIES
    }
}

#[async_trait]
impl Power for Ipmitool {
    async fn get_power_state(&self, node: &Node) -> Result<PowerState> {
        self.power_status(&Bmc::parse(node)?).await
    }

    async fn set_power_state(
        &self,
        node: &mut Node,
        target: PowerState,
        timeout: Option<u64>,
    ) -> Result<()> {
        let bmc = Bmc::parse(node)?;
        match target {
            PowerState::On => self.power_and_wait(&bmc, "on", target, timeout).await,
            PowerState::Off => self.power_and_wait(&bmc, "off", target, timeout).await,
            PowerState::Error => Err(Error::invalid("\"error\" is not a power state to set")),
        }
    }

    /// Off, then on: a reset keeps a hung BMC's state machine out of the picture.
    async fn reboot(&self, node: &mut Node, timeout: Option<u64>) -> Result<()> {
        let bmc = Bmc::parse(node)?;
        if self.power_status(&bmc).await? == PowerState::On {
            self.power_and_wait(&bmc, "off", PowerState::Off, timeout)
                .await?;
        }
        self.power_and_wait(&bmc, "on", PowerState::On, timeout)
            .await
    }

    async fn soft_action(&self, node: &mut Node, action: PowerAction) -> Result<()> {
        let bmc = Bmc::parse(node)?;
        self.power_and_wait(&bmc, "soft", PowerState::Off, None)
            .await?;
        if action == PowerAction::SoftReboot {
            self.power_and_wait(&bmc, "on", PowerState::On, None)
                .await?;
        }
        Ok(())
    }
}

#[async_trait]
impl Management for Ipmitool {
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
        let bmc = Bmc::parse(node)?;
        let mut args = vec!["chassis", "bootdev", device];
        if persistent {
            args.push("options=persistent");
        }
        self.run(&bmc, &args).await.map(|_| ())
    }

    async fn get_boot_device(&self, node: &Node) -> Result<(Option<String>, Option<bool>)> {
        let bmc = Bmc::parse(node)?;
        let out = self
            .run(&bmc, &["chassis", "bootparam", "get", "5"])
            .await?;
        Ok(parse_boot_param(&out))
    }

    async fn inject_nmi(&self, node: &mut Node) -> Result<()> {
        let bmc = Bmc::parse(node)?;
        self.run(&bmc, &["power", "diag"]).await.map(|_| ())
    }
}

/// Registers the `ipmitool` interfaces and the `ipmi` hardware type.
pub fn register(r: &mut Registry, config: &Config) {
    let ipmitool = Arc::new(Ipmitool::new(config.ipmi.clone()));
    r.add_power(ipmitool.clone());
    r.add_management(ipmitool);
    let mut supported = std::collections::BTreeMap::new();
    for kind in InterfaceKind::ALL {
        let names: Vec<&'static str> = match kind {
            InterfaceKind::Power | InterfaceKind::Management => vec!["ipmitool", "fake"],
            InterfaceKind::Boot => vec!["ipxe", "fake"],
            InterfaceKind::Deploy => vec!["m2", "fake"],
            InterfaceKind::Inspect => vec!["no-inspect", "fake"],
            InterfaceKind::Console => vec!["no-console", "fake"],
            InterfaceKind::Rescue => vec!["no-rescue", "fake"],
            InterfaceKind::Raid => vec!["no-raid", "fake"],
            InterfaceKind::Bios => vec!["no-bios", "fake"],
            InterfaceKind::Vendor => vec!["no-vendor", "fake"],
            InterfaceKind::Firmware => vec!["no-firmware", "fake"],
            InterfaceKind::Network => vec!["flat", "noop"],
            InterfaceKind::Storage => vec!["noop", "rbd"],
        };
        supported.insert(kind, names);
    }
    r.add_hardware_type(HardwareType {
        name: "ipmi",
        supported,
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn node(info: Value) -> Node {
        let mut n = crate::db::nodes::blank("u".into(), "ipmi".into(), "enroll");
        n.driver_info = info;
        n
    }

    #[test]
    fn driver_info_checks() {
        let ok = Bmc::parse(&node(json!({
            "ipmi_address": "10.0.0.5", "ipmi_port": "6230", "ipmi_username": "admin",
            "ipmi_password": "pw"
        })))
        .unwrap();
        assert_eq!(ok.port, Some(6230));
        assert!(ok.lanplus);
        assert_eq!(ok.key(), "10.0.0.5:6230");
        for bad in [
            json!({}),
            json!({"ipmi_address": ""}),
            json!({"ipmi_address": "-oProxyCommand=x"}),
            json!({"ipmi_address": "h", "ipmi_port": "seventy"}),
            json!({"ipmi_address": "h", "ipmi_protocol_version": "3"}),
            json!({"ipmi_address": "h", "ipmi_priv_level": "ROOT"}),
            json!({"ipmi_address": ["h"]}),
            json!({"ipmi_address": "h", "ipmi_cipher_suite": "18"}),
        ] {
            assert!(Bmc::parse(&node(bad.clone())).is_err(), "{bad}");
        }
    }

    #[test]
    fn parses_ipmitool_answers() {
        assert_eq!(
            parse_power_status("Chassis Power is on\n"),
            Some(PowerState::On)
        );
        assert_eq!(
            parse_power_status("Chassis Power is off"),
            Some(PowerState::Off)
        );
        assert_eq!(parse_power_status("Error: no"), None);
        let param = "Boot parameter version: 1\nBoot parameter 5 is valid/unlocked\n\
                     Boot parameter data: c004000000\n Boot Flags :\n\
                       - Boot Flag Valid\n   - Options apply to all future boots\n\
                       - BIOS PC Compatible (legacy) boot\n\
                       - Boot Device Selector : Force PXE\n";
        assert_eq!(
            parse_boot_param(param),
            (Some("pxe".to_owned()), Some(true))
        );
        let disk = " - Options apply to only next boot\n - Boot Device Selector : Force Boot from default Hard-Drive\n";
        assert_eq!(
            parse_boot_param(disk),
            (Some("disk".to_owned()), Some(false))
        );
    }
}
