//! The `ipxe` boot interface: a node network-boots iPXE, which fetches a script from m2
//! over HTTP by the node's MAC address and `sanboot`s the node's disk over iSCSI. The
//! firmware then publishes iBFT, so the operating system finds its root disk with no
//! change to the image.
//!
//! What to boot is recorded on the node by the interface that exports its disk (the
//! `m2` deploy interface, or the storage interface for volumes): a [`SanbootTarget`]
//! in `driver_internal_info.sanboot`. This interface turns it into the script that m2
//! serves at `/boot/<mac>.ipxe` (see `api::boot`) while the node is deployed.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::*;

/// Key of the boot target in `driver_internal_info`.
pub const SANBOOT_KEY: &str = "sanboot";

/// Seconds between two `sanboot` attempts in the script.
const RETRY_DELAY: u32 = 5;

/// An iSCSI disk a node boots from: where it is, and the credentials the node logs in
/// with. The secret is masked in API output like every `*secret*` key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SanbootTarget {
    /// `address:port` of the iSCSI portal as the node reaches it.
    pub portal: String,
    /// The target's IQN.
    pub target_iqn: String,
    /// The LUN holding the boot disk (tgt's LUN 0 is its controller).
    pub lun: u32,
    /// The initiator name the node presents (the target's ACL admits only it).
    pub initiator_iqn: String,
    /// CHAP user name.
    pub chap_username: String,
    /// CHAP secret.
    pub chap_secret: String,
}

impl SanbootTarget {
    /// The boot target recorded on a node, if any.
    pub fn of(node: &Node) -> Option<SanbootTarget> {
        node.driver_internal_info
            .get(SANBOOT_KEY)
            .and_then(|v| serde_json::from_value(v.clone()).ok())
    }

    /// Records the boot target on a node.
    pub fn record(&self, node: &mut Node) {
        set_internal(node, SANBOOT_KEY, serde_json::to_value(self).ok());
    }

    /// Forgets the node's boot target.
    pub fn clear(node: &mut Node) {
        set_internal(node, SANBOOT_KEY, None);
    }

    /// iPXE's iSCSI URI: `iscsi:<server>:<protocol>:<port>:<lun>:<iqn>`. The protocol
    /// field is left empty (TCP).
    pub fn uri(&self) -> String {
        let (host, port) = match self.portal.rsplit_once(':') {
            Some((h, p)) if !h.is_empty() && p.parse::<u16>().is_ok() => (h, p),
            _ => (self.portal.as_str(), "3260"),
        };
        let host = host.trim_start_matches('[').trim_end_matches(']');
        format!("iscsi:{host}::{port}:{}:{}", self.lun, self.target_iqn)
    }
}

/// Sets (or with `None` removes) one key of the node's driver_internal_info.
pub fn set_internal(node: &mut Node, key: &str, value: Option<Value>) {
    if !node.driver_internal_info.is_object() {
        node.driver_internal_info = Value::Object(Default::default());
    }
    if let Some(m) = node.driver_internal_info.as_object_mut() {
        match value {
            Some(v) => {
                m.insert(key.to_owned(), v);
            }
            None => {
                m.remove(key);
            }
        }
    }
}

/// iPXE quotes nothing: a value must not break the script's lines or settings.
fn script_safe(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_graphic() && !matches!(b, b'$' | b'{' | b'}' | b'|' | b'&' | b'#'))
}

/// The script a node runs to boot its disk: set the initiator name and CHAP
/// credentials, then `sanboot`, retrying while the target is not there yet.
pub fn sanboot_script(t: &SanbootTarget, retries: u32) -> Result<String> {
    for (what, v) in [
        ("portal", &t.portal),
        ("target IQN", &t.target_iqn),
        ("initiator IQN", &t.initiator_iqn),
        ("CHAP user name", &t.chap_username),
        ("CHAP secret", &t.chap_secret),
    ] {
        if !script_safe(v) {
            return Err(Error::Internal(format!(
                "the {what} of the boot target has characters iPXE cannot take"
            )));
        }
    }
    Ok(format!(
        "#!ipxe\n\
         # Boot from the node's disk over iSCSI; the firmware publishes iBFT.\n\
         set initiator-iqn {initiator}\n\
         set username {user}\n\
         set password {secret}\n\
         set tries:int32 0\n\
         :sanboot\n\
         sanboot --keep {uri} && goto booted ||\n\
         inc tries\n\
         iseq ${{tries}} {retries} && goto failed ||\n\
         echo sanboot of {iqn} failed, retrying in {delay} s\n\
         sleep {delay}\n\
         goto sanboot\n\
         :failed\n\
         echo sanboot of {iqn} failed {retries} times; giving up\n\
         exit 1\n\
         :booted\n\
         exit 0\n",
        initiator = t.initiator_iqn,
        user = t.chap_username,
        secret = t.chap_secret,
        uri = t.uri(),
        iqn = t.target_iqn,
        retries = retries.max(1),
        delay = RETRY_DELAY,
    ))
}

/// The script for a node with nothing to boot: leave network boot, so the firmware
/// tries its next boot device.
pub fn no_boot_script(reason: &str) -> String {
    let reason: String = reason
        .chars()
        .filter(|c| c.is_ascii_graphic() || *c == ' ')
        .collect();
    format!("#!ipxe\necho {reason}\nexit 1\n")
}

/// The generic `boot.ipxe` every node loads first (from TFTP or DHCP): it chains to
/// the node's own script, named by the MAC address iPXE booted from.
pub fn chain_script(base_url: &str) -> String {
    let base = base_url.trim_end_matches('/');
    format!(
        "#!ipxe\n\
         # Each node continues with its own script, by MAC address.\n\
         chain {base}/boot/${{mac:hexhyp}}.ipxe || goto retry\n\
         exit\n\
         :retry\n\
         echo fetching the boot script failed, retrying in 5 s\n\
         sleep 5\n\
         chain {base}/boot/${{mac:hexhyp}}.ipxe || exit 1\n"
    )
}

/// Writes the generic `boot.ipxe` into `[pxe] tftp_root` when it is set, so that a
/// TFTP server hands it to nodes that PXE-boot.
pub fn write_tftp_script(config: &crate::config::Config) -> std::io::Result<()> {
    let Some(root) = &config.pxe.tftp_root else {
        return Ok(());
    };
    let base = config
        .pxe
        .http_url
        .clone()
        .unwrap_or_else(|| format!("http://{}", config.api.bind_address()));
    std::fs::create_dir_all(root)?;
    let path = std::path::Path::new(root).join("boot.ipxe");
    let tmp = path.with_extension("ipxe.tmp");
    std::fs::write(&tmp, chain_script(&base))?;
    std::fs::rename(&tmp, &path)?;
    tracing::info!(path = %path.display(), base = %base, "wrote the generic iPXE script");
    Ok(())
}

/// The `ipxe` boot interface.
pub struct Ipxe;

impl Interface for Ipxe {
    fn name(&self) -> &'static str {
        "ipxe"
    }
}

#[async_trait]
impl Boot for Ipxe {
    /// The node's script is served from its recorded boot target: there is nothing to
    /// write, only to check that the target was recorded.
    async fn prepare_instance(&self, ctx: &mut TaskContext<'_>) -> Result<()> {
        if SanbootTarget::of(ctx.node).is_none() {
            return Err(Error::Internal(format!(
                "node {} has no boot target recorded; its disk was not exported",
                ctx.node.uuid
            )));
        }
        if !ctx.ports.iter().any(|p| p.pxe_enabled) {
            return Err(Error::invalid(format!(
                "node {} has no PXE-enabled port to boot from",
                ctx.node.uuid
            )));
        }
        Ok(())
    }

    /// Stops serving the node's script.
    async fn clean_up_instance(&self, ctx: &mut TaskContext<'_>) -> Result<()> {
        SanbootTarget::clear(ctx.node);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target() -> SanbootTarget {
        SanbootTarget {
            portal: "10.0.2.100:3260".into(),
            target_iqn: "iqn.2010-10.org.m2:node-1".into(),
            lun: 1,
            initiator_iqn: "iqn.2010-10.org.m2:initiator-1".into(),
            chap_username: "node-1".into(),
            chap_secret: "s3cretS3cretxyz1".into(),
        }
    }

    #[test]
    fn uri_names_lun_one() {
        assert_eq!(
            target().uri(),
            "iscsi:10.0.2.100::3260:1:iqn.2010-10.org.m2:node-1"
        );
        let mut t = target();
        t.portal = "[fd00::1]:3261".into();
        assert_eq!(t.uri(), "iscsi:fd00::1::3261:1:iqn.2010-10.org.m2:node-1");
        t.portal = "storage.example".into();
        assert_eq!(
            t.uri(),
            "iscsi:storage.example::3260:1:iqn.2010-10.org.m2:node-1"
        );
    }

    #[test]
    fn script_sets_credentials_and_retries() {
        let s = sanboot_script(&target(), 3).unwrap();
        assert!(s.starts_with("#!ipxe\n"));
        assert!(s.contains("set initiator-iqn iqn.2010-10.org.m2:initiator-1\n"));
        assert!(s.contains("set username node-1\n"));
        assert!(s.contains("set password s3cretS3cretxyz1\n"));
        assert!(s.contains("sanboot --keep iscsi:10.0.2.100::3260:1:iqn.2010-10.org.m2:node-1"));
        assert!(s.contains("iseq ${tries} 3"));
        let mut bad = target();
        bad.chap_secret = "a b".into();
        assert!(sanboot_script(&bad, 3).is_err());
        bad.chap_secret = "x${y}".into();
        assert!(sanboot_script(&bad, 3).is_err());
    }

    #[test]
    fn target_round_trips_through_the_node() {
        let mut n = crate::db::nodes::blank("u".into(), "fake-hardware".into(), "active");
        assert_eq!(SanbootTarget::of(&n), None);
        target().record(&mut n);
        assert_eq!(SanbootTarget::of(&n), Some(target()));
        SanbootTarget::clear(&mut n);
        assert_eq!(SanbootTarget::of(&n), None);
    }

    #[test]
    fn chain_uses_the_mac() {
        let s = chain_script("http://10.0.2.101:6385/");
        assert!(s.contains("chain http://10.0.2.101:6385/boot/${mac:hexhyp}.ipxe"));
    }
}
