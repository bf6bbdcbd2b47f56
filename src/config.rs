//! The `m2.conf` configuration file, in the INI dialect of oslo.config.
//!
//! Every option is declared once, in `OPTIONS`: that table gives the
//! parser its known sections and keys, the type and range of each value and
//! its default, and it is what [`sample_config`] prints.
//!
//! The syntax is that of oslo.config's own INI parser: `key = value` (or
//! `key: value`), whole-line `#` and `;` comments, values continued on
//! following indented lines, and one pair of matching quotes around a value
//! stripped. There are no inline comments: `debug = true # x` is the value
//! `true # x`. A key repeated in a file keeps its last value.

use std::fmt::{self, Write as _};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::ops::{Index, IndexMut};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Sections that are accepted and ignored: they belong to features that will
/// get typed sections later. Any other unknown section is an error.
pub const RESERVED_SECTIONS: &[&str] = &["oslo_messaging_rabbit", "json_rpc"];

/// keystonemiddleware options of `[keystone_authtoken]` that m2 accepts and ignores,
/// so that a section written for Ironic (or by devstack) loads: m2 caches tokens in
/// memory and finds Keystone at `auth_url`, not through the catalog.
pub const IGNORED_KEYSTONE_AUTHTOKEN_KEYS: &[&str] = &[
    "interface",
    "memcached_servers",
    "memcache_security_strategy",
    "memcache_secret_key",
    "region_name",
    "service_type",
    "service_token_roles",
    "service_token_roles_required",
    "signing_dir",
];

/// Error from loading or validating the configuration.
///
/// Every variant's message starts with the origin (normally the file name).
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The text is not valid INI; `msg` starts with the line number.
    #[error("{origin}: {msg}")]
    Syntax {
        /// File name (or other origin) of the text.
        origin: String,
        /// What is wrong, starting with `line N:`.
        msg: String,
    },
    /// A section that is neither known nor in [`RESERVED_SECTIONS`].
    #[error("{origin}: [{section}]: unknown section")]
    UnknownSection {
        /// File name (or other origin) of the text.
        origin: String,
        /// The section name as written.
        section: String,
    },
    /// A key that is not an option of its (known) section.
    #[error("{origin}: [{section}] {key}: unknown option")]
    UnknownOption {
        /// File name (or other origin) of the text.
        origin: String,
        /// The section.
        section: String,
        /// The key as written.
        key: String,
    },
    /// A value of the wrong type or out of range, or one that contradicts
    /// another option.
    #[error("{origin}: [{section}] {key}: invalid value {value:?}: expected {expected}")]
    InvalidValue {
        /// File name (or other origin) of the text.
        origin: String,
        /// The section.
        section: String,
        /// The option.
        key: String,
        /// The value as written (with any URL password masked).
        value: String,
        /// What would have been accepted.
        expected: String,
    },
}

/// The kinds of hardware interface a node has (`<kind>_interface` fields).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum InterfaceKind {
    /// `bios_interface`.
    Bios,
    /// `boot_interface`.
    Boot,
    /// `console_interface`.
    Console,
    /// `deploy_interface`.
    Deploy,
    /// `firmware_interface`.
    Firmware,
    /// `inspect_interface`.
    Inspect,
    /// `management_interface`.
    Management,
    /// `network_interface`.
    Network,
    /// `power_interface`.
    Power,
    /// `raid_interface`.
    Raid,
    /// `rescue_interface`.
    Rescue,
    /// `storage_interface`.
    Storage,
    /// `vendor_interface`.
    Vendor,
}

impl InterfaceKind {
    /// Every kind, in alphabetical order.
    pub const ALL: [InterfaceKind; 13] = [
        InterfaceKind::Bios,
        InterfaceKind::Boot,
        InterfaceKind::Console,
        InterfaceKind::Deploy,
        InterfaceKind::Firmware,
        InterfaceKind::Inspect,
        InterfaceKind::Management,
        InterfaceKind::Network,
        InterfaceKind::Power,
        InterfaceKind::Raid,
        InterfaceKind::Rescue,
        InterfaceKind::Storage,
        InterfaceKind::Vendor,
    ];

    /// The lowercase name: `"bios"`, `"boot"`, ...
    pub const fn as_str(self) -> &'static str {
        match self {
            InterfaceKind::Bios => "bios",
            InterfaceKind::Boot => "boot",
            InterfaceKind::Console => "console",
            InterfaceKind::Deploy => "deploy",
            InterfaceKind::Firmware => "firmware",
            InterfaceKind::Inspect => "inspect",
            InterfaceKind::Management => "management",
            InterfaceKind::Network => "network",
            InterfaceKind::Power => "power",
            InterfaceKind::Raid => "raid",
            InterfaceKind::Rescue => "rescue",
            InterfaceKind::Storage => "storage",
            InterfaceKind::Vendor => "vendor",
        }
    }
}

impl fmt::Display for InterfaceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `enabled_<kind>_interfaces` and `default_<kind>_interface` for one kind.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct InterfaceSettings {
    /// Interfaces of this kind that nodes may use.
    pub enabled: Vec<String>,
    /// Interface given to nodes that do not name one; always in `enabled`.
    pub default: Option<String>,
}

/// Interface settings for every [`InterfaceKind`], indexable by kind.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Interfaces {
    by_kind: [InterfaceSettings; InterfaceKind::ALL.len()],
}

impl Interfaces {
    /// The settings of one kind.
    pub fn get(&self, kind: InterfaceKind) -> &InterfaceSettings {
        &self.by_kind[kind as usize]
    }

    /// The settings of one kind, mutably.
    pub fn get_mut(&mut self, kind: InterfaceKind) -> &mut InterfaceSettings {
        &mut self.by_kind[kind as usize]
    }

    /// Every kind with its settings, in [`InterfaceKind::ALL`] order.
    pub fn iter(&self) -> impl Iterator<Item = (InterfaceKind, &InterfaceSettings)> {
        InterfaceKind::ALL.into_iter().zip(self.by_kind.iter())
    }
}

impl Index<InterfaceKind> for Interfaces {
    type Output = InterfaceSettings;
    fn index(&self, kind: InterfaceKind) -> &InterfaceSettings {
        self.get(kind)
    }
}

impl IndexMut<InterfaceKind> for Interfaces {
    fn index_mut(&mut self, kind: InterfaceKind) -> &mut InterfaceSettings {
        self.get_mut(kind)
    }
}

/// `[DEFAULT] auth_strategy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthStrategy {
    /// `noauth`: no authentication.
    NoAuth,
    /// `keystone`: tokens validated by the Identity service.
    Keystone,
    /// `http_basic`: HTTP Basic credentials checked against an htpasswd file.
    HttpBasic,
}

impl AuthStrategy {
    const NAMES: &[&str] = &["noauth", "keystone", "http_basic"];

    /// The configuration spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            AuthStrategy::NoAuth => "noauth",
            AuthStrategy::Keystone => "keystone",
            AuthStrategy::HttpBasic => "http_basic",
        }
    }

    fn from_name(name: &str) -> Option<Self> {
        match name {
            "noauth" => Some(AuthStrategy::NoAuth),
            "keystone" => Some(AuthStrategy::Keystone),
            "http_basic" => Some(AuthStrategy::HttpBasic),
            _ => None,
        }
    }
}

/// `[DEFAULT] rpc_transport`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RpcTransport {
    /// `none`: API and conductor in one process, calls are in-process.
    None,
    /// `amqp`: calls go through the message bus at `transport_url`.
    Amqp,
}

impl RpcTransport {
    const NAMES: &[&str] = &["none", "amqp"];

    /// The configuration spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            RpcTransport::None => "none",
            RpcTransport::Amqp => "amqp",
        }
    }

    fn from_name(name: &str) -> Option<Self> {
        match name {
            "none" => Some(RpcTransport::None),
            "amqp" => Some(RpcTransport::Amqp),
            _ => None,
        }
    }
}

/// The `[DEFAULT]` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DefaultSection {
    /// Name of this conductor (default: the machine's hostname).
    pub host: String,
    /// Log at DEBUG level (default false).
    pub debug: bool,
    /// Hardware types nodes may use (default `fake-hardware`); never empty.
    pub enabled_hardware_types: Vec<String>,
    /// `enabled_<kind>_interfaces` and `default_<kind>_interface`.
    pub interfaces: Interfaces,
    /// Message bus URL of the AMQP transport (default unset); see
    /// [`DefaultSection::transport`].
    pub transport_url: Option<String>,
    /// API authentication (default `noauth`).
    pub auth_strategy: AuthStrategy,
    /// The htpasswd file of `auth_strategy = http_basic` (default
    /// `/etc/m2/htpasswd`).
    pub http_basic_auth_user_file: PathBuf,
    /// API-to-conductor transport (default `none`).
    pub rpc_transport: RpcTransport,
    /// Seconds a caller waits for a conductor's answer (default 60).
    pub rpc_response_timeout: u64,
    /// Seconds a hash ring is reused before it is rebuilt from the conductor
    /// list (default 15).
    pub hash_ring_reset_interval: u64,
    /// Bonding mode of a portgroup created without one (default `active-backup`).
    pub default_portgroup_mode: String,
    /// Project whose `service` role members the `service_role` policy rule
    /// matches (default `service`).
    pub rbac_service_project_name: String,
}

impl DefaultSection {
    /// `enabled_<kind>_interfaces`.
    pub fn enabled_interfaces(&self, kind: InterfaceKind) -> &[String] {
        &self.interfaces[kind].enabled
    }

    /// `default_<kind>_interface`, if set.
    pub fn default_interface(&self, kind: InterfaceKind) -> Option<&str> {
        self.interfaces[kind].default.as_deref()
    }

    /// `transport_url`, parsed; an error when it is unset.
    pub fn transport(&self) -> Result<TransportUrl, ConfigError> {
        let invalid = |value: String, expected: &str| ConfigError::InvalidValue {
            origin: "configuration".to_owned(),
            section: "DEFAULT".to_owned(),
            key: "transport_url".to_owned(),
            value,
            expected: expected.to_owned(),
        };
        match &self.transport_url {
            None => Err(invalid(String::new(), "a message bus URL (rabbit://...)")),
            Some(url) => TransportUrl::parse(url).map_err(|e| invalid(redact_url(url), e)),
        }
    }
}

/// One broker of a [`TransportUrl`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerHost {
    /// Host name or address (IPv6 without brackets).
    pub host: String,
    /// TCP port (5672 unless given).
    pub port: u16,
    /// User name (`guest` unless given).
    pub username: String,
    /// Password (`guest` unless given).
    pub password: String,
}

/// A message bus URL in oslo.messaging's spelling:
/// `rabbit://user:pass@host1:5672,user:pass@host2:5672/vhost`.
///
/// Every host may carry its own credentials; a host without them takes those
/// of the previous host that had some (as oslo.messaging does). The path is
/// the virtual host, percent-decoded; an empty path is RabbitMQ's default
/// virtual host `/`. A query string is accepted and ignored.
#[derive(Clone, PartialEq, Eq)]
pub struct TransportUrl {
    /// The brokers, tried in turn.
    pub hosts: Vec<BrokerHost>,
    /// The virtual host.
    pub virtual_host: String,
}

impl fmt::Debug for TransportUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hosts: Vec<String> = self
            .hosts
            .iter()
            .map(|h| format!("{}:***@{}:{}", h.username, h.host, h.port))
            .collect();
        f.debug_struct("TransportUrl")
            .field("hosts", &hosts)
            .field("virtual_host", &self.virtual_host)
            .finish()
    }
}

const TRANSPORT_URL_EXPECTED: &str = "a message bus URL: \
     rabbit://user:password@host:port[,user:password@host:port...]/[virtual_host]";

impl TransportUrl {
    /// Parses `rabbit://...` (or `amqp://...`); the error says what was expected.
    pub fn parse(url: &str) -> Result<TransportUrl, &'static str> {
        let (scheme, rest) = url.trim().split_once("://").ok_or(TRANSPORT_URL_EXPECTED)?;
        if !matches!(scheme.to_ascii_lowercase().as_str(), "rabbit" | "amqp") {
            return Err(TRANSPORT_URL_EXPECTED);
        }
        let rest = rest.split_once('?').map_or(rest, |(r, _)| r);
        let (netloc, path) = rest.split_once('/').unwrap_or((rest, ""));
        let virtual_host = if path.is_empty() {
            "/".to_owned()
        } else {
            percent_decode(path).ok_or(TRANSPORT_URL_EXPECTED)?
        };
        let mut hosts = Vec::new();
        let (mut username, mut password) = ("guest".to_owned(), "guest".to_owned());
        for part in netloc.split(',') {
            let hostport = match part.rsplit_once('@') {
                Some((userinfo, hostport)) => {
                    let (u, p) = userinfo.split_once(':').unwrap_or((userinfo, ""));
                    username = percent_decode(u).ok_or(TRANSPORT_URL_EXPECTED)?;
                    password = percent_decode(p).ok_or(TRANSPORT_URL_EXPECTED)?;
                    hostport
                }
                None => part,
            };
            let (host, port) = if let Some(v6) = hostport.strip_prefix('[') {
                let (host, after) = v6.split_once(']').ok_or(TRANSPORT_URL_EXPECTED)?;
                (host, after.strip_prefix(':'))
            } else {
                match hostport.rsplit_once(':') {
                    Some((h, p)) => (h, Some(p)),
                    None => (hostport, None),
                }
            };
            if host.is_empty() || host.contains(char::is_whitespace) {
                return Err(TRANSPORT_URL_EXPECTED);
            }
            let port = match port {
                None | Some("") => 5672,
                Some(p) => p.parse().map_err(|_| TRANSPORT_URL_EXPECTED)?,
            };
            hosts.push(BrokerHost {
                host: host.to_owned(),
                port,
                username: username.clone(),
                password: password.clone(),
            });
        }
        Ok(TransportUrl {
            hosts,
            virtual_host,
        })
    }
}

/// Decodes `%XX` escapes; `None` on a bad escape or invalid UTF-8.
fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The `[api]` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiSection {
    /// Listen address (default `0.0.0.0`).
    pub host_ip: IpAddr,
    /// Listen port (default 6385).
    pub port: u16,
    /// Largest page a collection returns (default 1000, at least 1).
    pub max_limit: u32,
    /// Base URL for links in responses (default: the request's base URL).
    pub public_endpoint: Option<String>,
    /// Worker count (default unset: see [`ApiSection::workers`]).
    pub api_workers: Option<usize>,
    /// Largest request body in bytes (default 64 MiB, for config drives).
    pub max_body_size: usize,
}

impl ApiSection {
    /// `api_workers`, or the number of CPUs when unset (1 if unknown).
    pub fn workers(&self) -> usize {
        self.api_workers.unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
        })
    }

    /// `host_ip` and `port` together.
    pub fn bind_address(&self) -> SocketAddr {
        SocketAddr::new(self.host_ip, self.port)
    }
}

/// The `[database]` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatabaseSection {
    /// Database URL in oslo.db spelling (default unset: SQLite in the data
    /// directory). Validated when parsed; see [`DatabaseSection::url`].
    pub connection: Option<String>,
    /// Connection pool size (default unset: the driver's default).
    pub max_pool_size: Option<u32>,
}

impl DatabaseSection {
    /// The connection URL in the spelling sea-orm/sqlx accept.
    ///
    /// - unset: `sqlite://<data_dir>/m2.sqlite?mode=rwc`
    /// - `sqlite:///abs/path[?query]`: `sqlite:///abs/path?<query>` with
    ///   `mode=rwc` added unless the query has a `mode`
    /// - `sqlite://` or `sqlite:///:memory:`: `sqlite::memory:`
    /// - `mysql[+driver]://`, `mariadb[+driver]://`: `mysql://...`
    /// - `postgresql[+driver]://`, `postgres://`: `postgres://...`
    ///
    /// Anything else is an error naming `[database] connection`.
    pub fn url(&self, data_dir: &Path) -> Result<String, ConfigError> {
        let invalid = |value: String, expected: &str| ConfigError::InvalidValue {
            origin: "configuration".to_owned(),
            section: "database".to_owned(),
            key: "connection".to_owned(),
            value,
            expected: expected.to_owned(),
        };
        match &self.connection {
            Some(connection) => normalize_connection(connection)
                .map_err(|expected| invalid(redact_url(connection), expected)),
            None => {
                let file = data_dir.join("m2.sqlite");
                match file.to_str() {
                    Some(path) if !path.contains(['?', '#']) => {
                        Ok(format!("sqlite://{path}?mode=rwc"))
                    }
                    _ => Err(invalid(
                        String::new(),
                        "a connection URL to be set, as the data directory path \
                         cannot be written as an SQLite URL",
                    )),
                }
            }
        }
    }
}

/// The `[conductor]` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConductorSection {
    /// Clean nodes when they are torn down or made available (default true).
    pub automated_clean: bool,
    /// Seconds between conductor heartbeats (default 10).
    pub heartbeat_interval: u64,
    /// Seconds without a heartbeat before a conductor is dead (default 60).
    pub heartbeat_timeout: u64,
    /// Seconds between power state syncs, 0 disables (default 60).
    pub sync_power_state_interval: u64,
    /// Conductor group this conductor serves (default `""`).
    pub conductor_group: String,
    /// Seconds to wait for a deploy ramdisk, 0 waits forever (default 1800).
    pub deploy_callback_timeout: u64,
    /// Seconds to wait for a cleaning ramdisk, 0 waits forever (default 1800).
    pub clean_callback_timeout: u64,
    /// Enforce the recorded power state on hardware (default true).
    pub force_power_state_during_sync: bool,
    /// Maximum concurrent long-running tasks (default 100).
    pub workers_pool_size: usize,
    /// Seconds between checks of nodes left by dead conductors, stale
    /// reservations and call-back timeouts, 0 disables (default 60).
    pub check_provision_state_interval: u64,
    /// Seconds between take-overs of active nodes newly mapped to this
    /// conductor, 0 disables (default 180).
    pub sync_local_state_interval: u64,
    /// Seconds a stopping conductor waits for running operations (default 60).
    pub graceful_shutdown_timeout: u64,
}

/// The `[fake]` section: behaviour of the `fake-hardware` interfaces.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FakeSection {
    /// How long a fake deploy takes (default 0).
    pub deploy_delay: Duration,
    /// How long each fake clean step takes (default 0).
    pub clean_delay: Duration,
}

/// The `[ipmi]` section: how the `ipmitool` interfaces call BMCs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IpmiSection {
    /// The ipmitool command (default `ipmitool`).
    pub ipmitool: String,
    /// Seconds one ipmitool call may take (default 10).
    pub command_timeout: u64,
    /// Seconds a failing IPMI command is retried for (default 60).
    pub command_retry_timeout: u64,
    /// Seconds a power change may take to show in the BMC's status (default 60).
    pub power_state_change_timeout: u64,
}

/// The `[pxe]` section: network boot of nodes through iPXE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PxeSection {
    /// Base URL nodes reach m2's boot scripts at (`http://10.0.0.1:6385`); the API's
    /// own address when unset.
    pub http_url: Option<String>,
    /// Directory where m2 writes the generic `boot.ipxe` for a TFTP server; none
    /// when unset.
    pub tftp_root: Option<String>,
    /// How often a node's iPXE retries `sanboot` before giving up (default 10).
    pub sanboot_retries: u32,
}

/// The `[ceph]` section: the Ceph cluster that holds the images and the
/// nodes' disks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CephSection {
    /// ceph.conf of the cluster (default `/etc/ceph/ceph.conf`).
    pub conffile: PathBuf,
    /// cephx user without the `client.` prefix (default `m2`).
    pub client_id: String,
    /// Keyring of that user (default unset: wherever ceph.conf says).
    pub keyring: Option<PathBuf>,
    /// Pool of the images nodes are cloned from (default `m2-images`).
    pub images_pool: String,
    /// Pool of the nodes' disks, the clones (default `m2-disks`).
    pub disks_pool: String,
    /// Seconds to wait for the cluster when connecting (default 10).
    pub connect_timeout: u64,
    /// Seconds one monitor or OSD request may take, 0 waits forever
    /// (default 60).
    pub op_timeout: u64,
}

impl CephSection {
    /// The full cephx name, `client.<client_id>`.
    pub fn client_name(&self) -> String {
        format!("client.{}", self.client_id)
    }
}

/// The `[iscsi]` section: the tgt iSCSI target that exports the nodes'
/// disks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IscsiSection {
    /// Address and port tgtd listens on (default `127.0.0.1:3260`).
    pub portal: SocketAddr,
    /// Address and port nodes connect to (default unset: `portal`).
    pub guest_portal: Option<SocketAddr>,
    /// tgtd control socket number, `tgtadm -C` (default 0).
    pub tgt_control_port: u16,
    /// Prefix of target names; a node's target is
    /// `<iqn_prefix>:node-<uuid>` (default `iqn.2010-10.org.m2`).
    pub iqn_prefix: String,
    /// The tgtadm program (default `/usr/sbin/tgtadm`).
    pub tgtadm: String,
    /// Seconds one tgtadm call may take (default 30).
    pub tgtadm_timeout: u64,
    /// Seconds between two comparisons of tgtd's targets with the nodes; 0 only
    /// reconciles at start (default 60).
    pub reconcile_interval: u64,
    /// cephx user tgtd opens disks as (default unset: `[ceph] client_id`).
    pub ceph_user: Option<String>,
    /// ceph.conf tgtd reads (default unset: `[ceph] conffile`).
    pub ceph_conf: Option<PathBuf>,
}

impl IscsiSection {
    /// The portal nodes connect to: `guest_portal`, else `portal`.
    pub fn guest_portal(&self) -> SocketAddr {
        self.guest_portal.unwrap_or(self.portal)
    }
}

/// The `[keystone_authtoken]` section: how the API validates tokens when
/// `auth_strategy = keystone`. The keys are keystonemiddleware's, so an
/// ironic.conf section can be copied as it is.
#[derive(Clone, PartialEq, Eq)]
pub struct KeystoneAuthtokenSection {
    /// Keystone's public URL, named to clients in `WWW-Authenticate`.
    pub www_authenticate_uri: Option<String>,
    /// The deprecated spelling of `www_authenticate_uri`.
    pub auth_uri: Option<String>,
    /// How m2 authenticates itself (`password` or `v3password`).
    pub auth_type: String,
    /// Keystone's URL for m2's own requests (`http://keystone:5000`).
    pub auth_url: Option<String>,
    /// m2's service user.
    pub username: Option<String>,
    /// Its password; never printed.
    pub password: Option<String>,
    /// The project m2's service user is scoped to.
    pub project_name: Option<String>,
    /// Domain of the user, by name.
    pub user_domain_name: Option<String>,
    /// Domain of the user, by id.
    pub user_domain_id: Option<String>,
    /// Domain of the project, by name.
    pub project_domain_name: Option<String>,
    /// Domain of the project, by id.
    pub project_domain_id: Option<String>,
    /// Seconds a validated token is trusted without asking Keystone again
    /// (default 300; 0 asks every time).
    pub token_cache_time: u64,
    /// Seconds a token Keystone refused is refused without asking again
    /// (default 10; 0 asks every time).
    pub invalid_token_cache_time: u64,
    /// Seconds to wait for a connection to Keystone (default 10).
    pub http_connect_timeout: u64,
    /// How often a request to Keystone is retried after a connection
    /// failure (default 3).
    pub http_request_max_retries: u32,
    /// CA bundle for Keystone's certificate (default: the system's).
    pub cafile: Option<PathBuf>,
    /// Skip verification of Keystone's certificate (default false).
    pub insecure: bool,
}

impl KeystoneAuthtokenSection {
    /// The URL clients are sent to: `www_authenticate_uri`, else `auth_uri`,
    /// else `auth_url`.
    pub fn public_uri(&self) -> Option<&str> {
        self.www_authenticate_uri
            .as_deref()
            .or(self.auth_uri.as_deref())
            .or(self.auth_url.as_deref())
    }
}

impl fmt::Debug for KeystoneAuthtokenSection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeystoneAuthtokenSection")
            .field("www_authenticate_uri", &self.www_authenticate_uri)
            .field("auth_uri", &self.auth_uri)
            .field("auth_type", &self.auth_type)
            .field("auth_url", &self.auth_url)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "***"))
            .field("project_name", &self.project_name)
            .field("user_domain_name", &self.user_domain_name)
            .field("user_domain_id", &self.user_domain_id)
            .field("project_domain_name", &self.project_domain_name)
            .field("project_domain_id", &self.project_domain_id)
            .field("token_cache_time", &self.token_cache_time)
            .field("invalid_token_cache_time", &self.invalid_token_cache_time)
            .field("http_connect_timeout", &self.http_connect_timeout)
            .field("http_request_max_retries", &self.http_request_max_retries)
            .field("cafile", &self.cafile)
            .field("insecure", &self.insecure)
            .finish()
    }
}

/// The `[oslo_policy]` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OsloPolicySection {
    /// A YAML or JSON file of rules that replace the built-in defaults of the
    /// same name (default unset: the defaults alone).
    pub policy_file: Option<PathBuf>,
}

/// The whole configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `[DEFAULT]`.
    pub default: DefaultSection,
    /// `[api]`.
    pub api: ApiSection,
    /// `[database]`.
    pub database: DatabaseSection,
    /// `[conductor]`.
    pub conductor: ConductorSection,
    /// `[fake]`.
    pub fake: FakeSection,
    /// `[ipmi]`.
    pub ipmi: IpmiSection,
    /// `[pxe]`.
    pub pxe: PxeSection,
    /// `[ceph]`.
    pub ceph: CephSection,
    /// `[iscsi]`.
    pub iscsi: IscsiSection,
    /// `[keystone_authtoken]`.
    pub keystone_authtoken: KeystoneAuthtokenSection,
    /// `[oslo_policy]`.
    pub oslo_policy: OsloPolicySection,
}

impl Default for Config {
    /// Every option at its documented default (the `default` column of
    /// `OPTIONS`).
    fn default() -> Self {
        let mut config = Config::blank();
        for spec in OPTIONS {
            // Each default is checked by a unit test; a failure here would
            // leave that one option at its zero value.
            if let Err(error) = apply_default(&mut config, spec, "built-in defaults") {
                tracing::error!(%error, "invalid built-in default");
            }
        }
        config
    }
}

impl Config {
    /// Reads and parses a configuration file; errors name the file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
            path: path.to_owned(),
            source,
        })?;
        Config::parse(&text, &path.display().to_string())
    }

    /// Parses configuration text; `origin` (normally the file name) starts
    /// every error message. Options not in the text keep their defaults.
    pub fn parse(text: &str, origin: &str) -> Result<Config, ConfigError> {
        let mut config = Config::blank();
        for spec in OPTIONS {
            apply_default(&mut config, spec, "built-in defaults")?;
        }
        for event in parse_ini(text, origin)? {
            match event {
                IniEvent::Section { name } => {
                    if !is_known_section(&name) && !RESERVED_SECTIONS.contains(&name.as_str()) {
                        return Err(ConfigError::UnknownSection {
                            origin: origin.to_owned(),
                            section: name,
                        });
                    }
                }
                IniEvent::Entry {
                    section,
                    key,
                    value,
                } => {
                    if !is_known_section(&section)
                        || (section == "keystone_authtoken"
                            && IGNORED_KEYSTONE_AUTHTOKEN_KEYS.contains(&key.as_str()))
                    {
                        // A reserved section or an ignored option: accepted as is.
                        continue;
                    }
                    let Some(spec) = OPTIONS
                        .iter()
                        .find(|spec| spec.section == section && spec.key == key)
                    else {
                        return Err(ConfigError::UnknownOption {
                            origin: origin.to_owned(),
                            section,
                            key,
                        });
                    };
                    assign(&mut config, spec, &value)
                        .map_err(|expected| invalid_value(origin, spec, &value, expected))?;
                }
            }
        }
        config.cross_check(origin)?;
        Ok(config)
    }

    /// Every value zero or empty; `OPTIONS` supplies the real defaults.
    fn blank() -> Config {
        Config {
            default: DefaultSection {
                host: String::new(),
                debug: false,
                enabled_hardware_types: Vec::new(),
                interfaces: Interfaces::default(),
                transport_url: None,
                auth_strategy: AuthStrategy::NoAuth,
                http_basic_auth_user_file: PathBuf::new(),
                rpc_transport: RpcTransport::None,
                rpc_response_timeout: 0,
                hash_ring_reset_interval: 0,
                default_portgroup_mode: String::new(),
                rbac_service_project_name: String::new(),
            },
            api: ApiSection {
                host_ip: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
                port: 0,
                max_limit: 0,
                public_endpoint: None,
                api_workers: None,
                max_body_size: 0,
            },
            database: DatabaseSection {
                connection: None,
                max_pool_size: None,
            },
            conductor: ConductorSection {
                automated_clean: false,
                heartbeat_interval: 0,
                heartbeat_timeout: 0,
                sync_power_state_interval: 0,
                conductor_group: String::new(),
                deploy_callback_timeout: 0,
                clean_callback_timeout: 0,
                force_power_state_during_sync: false,
                workers_pool_size: 0,
                check_provision_state_interval: 0,
                sync_local_state_interval: 0,
                graceful_shutdown_timeout: 0,
            },
            fake: FakeSection::default(),
            ipmi: IpmiSection {
                ipmitool: String::new(),
                command_timeout: 0,
                command_retry_timeout: 0,
                power_state_change_timeout: 0,
            },
            pxe: PxeSection {
                http_url: None,
                tftp_root: None,
                sanboot_retries: 0,
            },
            ceph: CephSection {
                conffile: PathBuf::new(),
                client_id: String::new(),
                keyring: None,
                images_pool: String::new(),
                disks_pool: String::new(),
                connect_timeout: 0,
                op_timeout: 0,
            },
            iscsi: IscsiSection {
                portal: SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0),
                guest_portal: None,
                tgt_control_port: 0,
                iqn_prefix: String::new(),
                tgtadm: String::new(),
                tgtadm_timeout: 0,
                reconcile_interval: 0,
                ceph_user: None,
                ceph_conf: None,
            },
            keystone_authtoken: KeystoneAuthtokenSection {
                www_authenticate_uri: None,
                auth_uri: None,
                auth_type: String::new(),
                auth_url: None,
                username: None,
                password: None,
                project_name: None,
                user_domain_name: None,
                user_domain_id: None,
                project_domain_name: None,
                project_domain_id: None,
                token_cache_time: 0,
                invalid_token_cache_time: 0,
                http_connect_timeout: 0,
                http_request_max_retries: 0,
                cafile: None,
                insecure: false,
            },
            oslo_policy: OsloPolicySection { policy_file: None },
        }
    }

    /// Checks between options, after the whole file is read.
    fn cross_check(&self, origin: &str) -> Result<(), ConfigError> {
        let invalid = |key: String, value: &str, expected: String| ConfigError::InvalidValue {
            origin: origin.to_owned(),
            section: "DEFAULT".to_owned(),
            key,
            value: value.to_owned(),
            expected,
        };
        if self.default.enabled_hardware_types.is_empty() {
            return Err(invalid(
                "enabled_hardware_types".to_owned(),
                "",
                "at least one hardware type".to_owned(),
            ));
        }
        if self.default.rpc_transport == RpcTransport::Amqp && self.default.transport_url.is_none()
        {
            return Err(invalid(
                "transport_url".to_owned(),
                "",
                "a message bus URL when rpc_transport is \"amqp\"".to_owned(),
            ));
        }
        for (kind, settings) in self.default.interfaces.iter() {
            if let Some(default) = &settings.default
                && !settings.enabled.contains(default)
            {
                return Err(invalid(
                    format!("default_{kind}_interface"),
                    default,
                    format!(
                        "one of enabled_{kind}_interfaces ({})",
                        settings.enabled.join(", ")
                    ),
                ));
            }
        }
        if self.default.auth_strategy == AuthStrategy::Keystone {
            let k = &self.keystone_authtoken;
            for (key, value) in [
                ("auth_url", &k.auth_url),
                ("username", &k.username),
                ("password", &k.password),
                ("project_name", &k.project_name),
            ] {
                if value.is_none() {
                    return Err(ConfigError::InvalidValue {
                        origin: origin.to_owned(),
                        section: "keystone_authtoken".to_owned(),
                        key: key.to_owned(),
                        value: String::new(),
                        expected: "a value, as [DEFAULT] auth_strategy is keystone".to_owned(),
                    });
                }
            }
        }
        // tgtd reads the LUN options as `conf=<path>;id=<user>` inside a
        // comma-separated list: neither may contain ',' or ';'.
        let (section, key, conf) = match &self.iscsi.ceph_conf {
            Some(path) => ("iscsi", "ceph_conf", path),
            None => ("ceph", "conffile", &self.ceph.conffile),
        };
        let conf = conf.to_string_lossy();
        if conf.contains([',', ';']) {
            return Err(ConfigError::InvalidValue {
                origin: origin.to_owned(),
                section: section.to_owned(),
                key: key.to_owned(),
                value: conf.into_owned(),
                expected: "a path without ',' or ';' (tgtd reads it inside its LUN options)"
                    .to_owned(),
            });
        }
        Ok(())
    }
}

/// A commented sample `m2.conf`, generated from `OPTIONS`: each option's
/// help, its type and default, and the option commented out at its default.
pub fn sample_config() -> String {
    let mut out = String::new();
    let (last, others) = RESERVED_SECTIONS
        .split_last()
        .expect("RESERVED_SECTIONS is not empty");
    let intro = format!(
        "Sample configuration for m2, generated from the option table in \
         src/config.rs. Every option is commented out at its default value. \
         The sections {} and {last} are accepted and ignored; any other \
         section is an error. In [keystone_authtoken], {} are accepted and \
         ignored as well.",
        others.join(", "),
        IGNORED_KEYSTONE_AUTHTOKEN_KEYS.join(", ")
    );
    for line in wrap(&intro, SAMPLE_WIDTH - 2) {
        let _ = writeln!(out, "# {line}");
    }
    let mut section = "";
    for spec in OPTIONS {
        if spec.section != section {
            section = spec.section;
            let _ = write!(out, "\n[{section}]\n");
        }
        out.push('\n');
        for line in wrap(spec.help, SAMPLE_WIDTH - 2) {
            let _ = writeln!(out, "# {line}");
        }
        let _ = writeln!(
            out,
            "# ({}) default: {}",
            spec.ty.describe(),
            spec.default.describe()
        );
        let _ = writeln!(
            out,
            "{}",
            format!("#{} = {}", spec.key, spec.default.sample_text()).trim_end()
        );
    }
    out
}

/// Width of the sample file's lines.
const SAMPLE_WIDTH: usize = 79;

/// Splits text into lines of at most `width` columns at spaces.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut current = String::new();
    for word in text.split_whitespace() {
        if !current.is_empty() && current.len() + 1 + word.len() > width {
            lines.push(std::mem::take(&mut current));
        }
        if !current.is_empty() {
            current.push(' ');
        }
        current.push_str(word);
    }
    if !current.is_empty() {
        lines.push(current);
    }
    lines
}

// ---------------------------------------------------------------------------
// The option table.

/// One option: where it lives, its type, its default and its help.
struct OptSpec {
    /// Section name (`DEFAULT` or lowercase).
    section: &'static str,
    /// Key (lowercase).
    key: &'static str,
    /// Type and constraints of the value.
    ty: OptType,
    /// Default value.
    default: Def,
    /// Help text for the sample file (one paragraph).
    help: &'static str,
    /// The field of [`Config`] the option sets.
    slot: fn(&mut Config) -> Slot<'_>,
}

/// The type of an option's value, with its constraints.
#[derive(Clone, Copy)]
enum OptType {
    /// true/false, yes/no, on/off, 1/0.
    Bool,
    /// A decimal integer in `min..=max`.
    Int { min: u64, max: u64 },
    /// A string, with a check.
    Str(StrCheck),
    /// Comma-separated strings; whitespace trimmed, empty items dropped.
    List,
    /// An IPv4 or IPv6 address.
    IpAddr,
    /// An address and port: `192.0.2.1:3260` or `[2001:db8::1]:3260`.
    SocketAddr,
    /// One of a fixed set of strings.
    Choice(&'static [&'static str]),
    /// A duration in seconds, decimals allowed, from 0 to a day.
    Seconds,
}

/// Checks on string values.
#[derive(Clone, Copy)]
enum StrCheck {
    /// A non-empty name without whitespace or control characters.
    Name,
    /// A conductor group name: at most 255 of `[A-Za-z0-9._-]`.
    ConductorGroup,
    /// A URL: `scheme://rest`, with the scheme in the list if not empty.
    Url(&'static [&'static str]),
    /// A database URL that [`normalize_connection`] accepts.
    DbConnection,
    /// A message bus URL that [`TransportUrl::parse`] accepts.
    TransportUrl,
    /// An absolute path without control characters.
    AbsPath,
    /// A Ceph pool or user name: no whitespace, control characters, or any
    /// of `/ @ , ; =` (they separate names in image specs and tgtd options).
    CephName,
    /// An iSCSI qualified name prefix: `iqn.YYYY-MM.reversed.domain`,
    /// optionally followed by `:` and more, in lowercase.
    IqnPrefix,
    /// Any non-empty text, never shown in an error message.
    Secret,
    /// Any non-empty text without control characters.
    Text,
}

/// An option's default.
#[derive(Clone, Copy)]
enum Def {
    /// Unset.
    Unset,
    /// This text, parsed like a value in the file.
    Text(&'static str),
    /// The machine's hostname.
    Hostname,
}

/// A mutable reference to the field an option sets.
enum Slot<'a> {
    Bool(&'a mut bool),
    U16(&'a mut u16),
    U32(&'a mut u32),
    U64(&'a mut u64),
    Usize(&'a mut usize),
    OptU32(&'a mut Option<u32>),
    OptUsize(&'a mut Option<usize>),
    Str(&'a mut String),
    OptStr(&'a mut Option<String>),
    List(&'a mut Vec<String>),
    Ip(&'a mut IpAddr),
    Sock(&'a mut SocketAddr),
    OptSock(&'a mut Option<SocketAddr>),
    Path(&'a mut PathBuf),
    OptPath(&'a mut Option<PathBuf>),
    Auth(&'a mut AuthStrategy),
    Rpc(&'a mut RpcTransport),
    Duration(&'a mut Duration),
}

/// `enabled_<kind>_interfaces` for the option table.
macro_rules! enabled_interfaces {
    ($kind:ident, $name:literal, $default:literal) => {
        OptSpec {
            section: "DEFAULT",
            key: concat!("enabled_", $name, "_interfaces"),
            ty: OptType::List,
            default: Def::Text($default),
            help: concat!(
                "Implementations of the ",
                $name,
                " interface that nodes may use, comma separated. The default \
                 ",
                $name,
                " interface must be one of them."
            ),
            slot: |c| Slot::List(&mut c.default.interfaces[InterfaceKind::$kind].enabled),
        }
    };
}

/// `default_<kind>_interface` for the option table.
macro_rules! default_interface {
    ($kind:ident, $name:literal) => {
        OptSpec {
            section: "DEFAULT",
            key: concat!("default_", $name, "_interface"),
            ty: OptType::Str(StrCheck::Name),
            default: Def::Unset,
            help: concat!(
                "The ",
                $name,
                " interface given to a node created without ",
                $name,
                "_interface. Must be listed in enabled_",
                $name,
                "_interfaces. When unset, a node gets the first implementation \
                 its hardware type prefers among the enabled ones."
            ),
            slot: |c| Slot::OptStr(&mut c.default.interfaces[InterfaceKind::$kind].default),
        }
    };
}

/// Every option, grouped by section in sample order.
static OPTIONS: &[OptSpec] = &[
    // [DEFAULT]
    OptSpec {
        section: "DEFAULT",
        key: "host",
        ty: OptType::Str(StrCheck::Name),
        default: Def::Hostname,
        help: "Identity of this m2 service: written into the node reservations \
               it takes and shown as the node's conductor. Any string without \
               whitespace; the machine's hostname (from \
               /proc/sys/kernel/hostname, else \"localhost\") when unset.",
        slot: |c| Slot::Str(&mut c.default.host),
    },
    OptSpec {
        section: "DEFAULT",
        key: "debug",
        ty: OptType::Bool,
        default: Def::Text("false"),
        help: "Log at debug level instead of info (RUST_LOG, when set, takes \
               precedence).",
        slot: |c| Slot::Bool(&mut c.default.debug),
    },
    OptSpec {
        section: "DEFAULT",
        key: "enabled_hardware_types",
        ty: OptType::List,
        default: Def::Text("fake-hardware"),
        help: "Hardware types this m2 serves, comma separated. A node's driver \
               must be one of them. At least one is required.",
        slot: |c| Slot::List(&mut c.default.enabled_hardware_types),
    },
    enabled_interfaces!(Bios, "bios", "fake,no-bios"),
    default_interface!(Bios, "bios"),
    enabled_interfaces!(Boot, "boot", "fake"),
    default_interface!(Boot, "boot"),
    enabled_interfaces!(Console, "console", "fake,no-console"),
    default_interface!(Console, "console"),
    enabled_interfaces!(Deploy, "deploy", "fake"),
    default_interface!(Deploy, "deploy"),
    enabled_interfaces!(Firmware, "firmware", "fake,no-firmware"),
    default_interface!(Firmware, "firmware"),
    enabled_interfaces!(Inspect, "inspect", "fake,no-inspect"),
    default_interface!(Inspect, "inspect"),
    enabled_interfaces!(Management, "management", "fake"),
    default_interface!(Management, "management"),
    enabled_interfaces!(Network, "network", "noop,flat"),
    default_interface!(Network, "network"),
    enabled_interfaces!(Power, "power", "fake"),
    default_interface!(Power, "power"),
    enabled_interfaces!(Raid, "raid", "fake,no-raid"),
    default_interface!(Raid, "raid"),
    enabled_interfaces!(Rescue, "rescue", "fake,no-rescue"),
    default_interface!(Rescue, "rescue"),
    enabled_interfaces!(Storage, "storage", "noop,rbd"),
    default_interface!(Storage, "storage"),
    enabled_interfaces!(Vendor, "vendor", "fake,no-vendor"),
    default_interface!(Vendor, "vendor"),
    OptSpec {
        section: "DEFAULT",
        key: "transport_url",
        ty: OptType::Str(StrCheck::TransportUrl),
        default: Def::Unset,
        help: "URL of the RabbitMQ broker that carries RPC between m2 api and the \
               conductors, as oslo.messaging spells it: \
               rabbit://user:password@host:5672/virtual_host. Several brokers \
               are separated by commas (rabbit://u:p@h1:5672,u:p@h2:5672/) and \
               tried in turn; an empty virtual host is RabbitMQ's default \"/\". \
               Required when rpc_transport is \"amqp\".",
        slot: |c| Slot::OptStr(&mut c.default.transport_url),
    },
    OptSpec {
        section: "DEFAULT",
        key: "auth_strategy",
        ty: OptType::Choice(AuthStrategy::NAMES),
        default: Def::Text("noauth"),
        help: "Authentication strategy used by the API. \"noauth\" performs no \
               authentication and must not be used in production; \"keystone\" \
               validates tokens with the Identity service, configured in \
               [keystone_authtoken]; \"http_basic\" checks HTTP Basic \
               credentials against http_basic_auth_user_file (every \
               authenticated user is an administrator, as with noauth).",
        slot: |c| Slot::Auth(&mut c.default.auth_strategy),
    },
    OptSpec {
        section: "DEFAULT",
        key: "http_basic_auth_user_file",
        ty: OptType::Str(StrCheck::AbsPath),
        default: Def::Text("/etc/m2/htpasswd"),
        help: "The htpasswd file of auth_strategy = http_basic: one \
               user:bcrypt-hash line per user (htpasswd -B). Checked at start; \
               changes are picked up without a restart.",
        slot: |c| Slot::Path(&mut c.default.http_basic_auth_user_file),
    },
    OptSpec {
        section: "DEFAULT",
        key: "rpc_transport",
        ty: OptType::Choice(RpcTransport::NAMES),
        default: Def::Text("none"),
        help: "Transport between the API and the conductors. \"none\": m2 \
               standalone calls its conductor in process. \"amqp\": requests \
               travel through the RabbitMQ broker at transport_url; m2 api and \
               m2 conductor, which run as separate processes, require it, and \
               m2 standalone uses it too when set.",
        slot: |c| Slot::Rpc(&mut c.default.rpc_transport),
    },
    OptSpec {
        section: "DEFAULT",
        key: "rpc_response_timeout",
        ty: OptType::Int {
            min: 1,
            max: u64::MAX,
        },
        default: Def::Text("60"),
        help: "Seconds the API waits for a conductor to answer a request sent \
               through the message bus. Past it the client gets 503; the request \
               expires in the conductor's queue at the same time, so it is never \
               carried out later.",
        slot: |c| Slot::U64(&mut c.default.rpc_response_timeout),
    },
    OptSpec {
        section: "DEFAULT",
        key: "hash_ring_reset_interval",
        ty: OptType::Int {
            min: 0,
            max: u64::MAX,
        },
        default: Def::Text("15"),
        help: "Seconds the hash ring that maps nodes to conductors is reused \
               before it is rebuilt from the list of alive conductors. A \
               conductor also rebuilds it at once when it sees the set of alive \
               conductors change. 0 rebuilds it for every use.",
        slot: |c| Slot::U64(&mut c.default.hash_ring_reset_interval),
    },
    OptSpec {
        section: "DEFAULT",
        key: "default_portgroup_mode",
        ty: OptType::Str(StrCheck::Name),
        default: Def::Text("active-backup"),
        help: "Bonding mode given to a portgroup created without one, e.g. \
               active-backup, balance-rr or 802.3ad (the Linux kernel's bonding \
               documentation lists the modes). Clients see a portgroup's mode \
               from API version 1.26. Changing this option does not affect \
               existing portgroups.",
        slot: |c| Slot::Str(&mut c.default.default_portgroup_mode),
    },
    OptSpec {
        section: "DEFAULT",
        key: "rbac_service_project_name",
        ty: OptType::Str(StrCheck::Name),
        default: Def::Text("service"),
        help: "The project of the services that call m2 (Nova, Ironic \
               Inspector): a user with the service role in this project \
               matches the service_role policy rule and may read and manage \
               every node. Only used when auth_strategy is \"keystone\".",
        slot: |c| Slot::Str(&mut c.default.rbac_service_project_name),
    },
    // [api]
    OptSpec {
        section: "api",
        key: "host_ip",
        ty: OptType::IpAddr,
        default: Def::Text("0.0.0.0"),
        help: "Address the API listens on.",
        slot: |c| Slot::Ip(&mut c.api.host_ip),
    },
    OptSpec {
        section: "api",
        key: "port",
        ty: OptType::Int {
            min: 0,
            max: u16::MAX as u64,
        },
        default: Def::Text("6385"),
        help: "TCP port the API listens on (0 picks a free port).",
        slot: |c| Slot::U16(&mut c.api.port),
    },
    OptSpec {
        section: "api",
        key: "max_limit",
        ty: OptType::Int {
            min: 1,
            max: u32::MAX as u64,
        },
        default: Def::Text("1000"),
        help: "Largest page a list request returns; a client asking for more \
               gets this many and a link to the next page.",
        slot: |c| Slot::U32(&mut c.api.max_limit),
    },
    OptSpec {
        section: "api",
        key: "public_endpoint",
        ty: OptType::Str(StrCheck::Url(&["http", "https"])),
        default: Def::Unset,
        help: "Base URL written into the links of API responses, e.g. \
               \"https://baremetal.example.com:6385\". When unset, links use the \
               scheme and host the request came in on.",
        slot: |c| Slot::OptStr(&mut c.api.public_endpoint),
    },
    OptSpec {
        section: "api",
        key: "api_workers",
        ty: OptType::Int {
            min: 1,
            max: usize::MAX as u64,
        },
        default: Def::Unset,
        help: "HTTP worker threads of the API; one per CPU when unset.",
        slot: |c| Slot::OptUsize(&mut c.api.api_workers),
    },
    OptSpec {
        section: "api",
        key: "max_body_size",
        ty: OptType::Int {
            min: 1,
            max: usize::MAX as u64,
        },
        default: Def::Text("67108864"),
        help: "Maximum size of a request body, in bytes. Configuration drives \
               sent with deploy requests can be large, hence the default of 64 \
               MiB.",
        slot: |c| Slot::Usize(&mut c.api.max_body_size),
    },
    // [conductor]
    OptSpec {
        section: "conductor",
        key: "automated_clean",
        ty: OptType::Bool,
        default: Def::Text("true"),
        help: "Run the automated clean steps of a node's deploy interface when \
               it is made available (provide) and after each undeploy. A node's \
               own automated_clean field overrides this.",
        slot: |c| Slot::Bool(&mut c.conductor.automated_clean),
    },
    OptSpec {
        section: "conductor",
        key: "heartbeat_interval",
        ty: OptType::Int {
            min: 1,
            max: u64::MAX,
        },
        default: Def::Text("10"),
        help: "Seconds between two heartbeats a conductor writes to the database.",
        slot: |c| Slot::U64(&mut c.conductor.heartbeat_interval),
    },
    OptSpec {
        section: "conductor",
        key: "heartbeat_timeout",
        ty: OptType::Int {
            min: 1,
            max: u64::MAX,
        },
        default: Def::Text("60"),
        help: "Seconds without a heartbeat after which a conductor counts as \
               dead and its nodes are taken over.",
        slot: |c| Slot::U64(&mut c.conductor.heartbeat_timeout),
    },
    OptSpec {
        section: "conductor",
        key: "sync_power_state_interval",
        ty: OptType::Int {
            min: 0,
            max: u64::MAX,
        },
        default: Def::Text("60"),
        help: "Seconds between two comparisons of each idle node's recorded \
               power state with its hardware; 0 turns the check off.",
        slot: |c| Slot::U64(&mut c.conductor.sync_power_state_interval),
    },
    OptSpec {
        section: "conductor",
        key: "conductor_group",
        ty: OptType::Str(StrCheck::ConductorGroup),
        default: Def::Text(""),
        help: "Conductor group this conductor serves: it only takes nodes whose \
               conductor_group field equals it. Up to 255 letters, digits, dots, \
               hyphens and underscores.",
        slot: |c| Slot::Str(&mut c.conductor.conductor_group),
    },
    OptSpec {
        section: "conductor",
        key: "deploy_callback_timeout",
        ty: OptType::Int {
            min: 0,
            max: u64::MAX,
        },
        default: Def::Text("1800"),
        help: "Seconds a node may stay in \"wait call-back\" before its deploy \
               fails; 0 waits forever.",
        slot: |c| Slot::U64(&mut c.conductor.deploy_callback_timeout),
    },
    OptSpec {
        section: "conductor",
        key: "clean_callback_timeout",
        ty: OptType::Int {
            min: 0,
            max: u64::MAX,
        },
        default: Def::Text("1800"),
        help: "Seconds a node may stay in \"clean wait\" before it moves to \
               \"clean failed\"; 0 waits forever.",
        slot: |c| Slot::U64(&mut c.conductor.clean_callback_timeout),
    },
    OptSpec {
        section: "conductor",
        key: "force_power_state_during_sync",
        ty: OptType::Bool,
        default: Def::Text("true"),
        help: "When the power state sync finds a node's hardware in another power \
               state than recorded: true puts the hardware back in the recorded \
               state, false records the hardware's state.",
        slot: |c| Slot::Bool(&mut c.conductor.force_power_state_during_sync),
    },
    OptSpec {
        section: "conductor",
        key: "workers_pool_size",
        ty: OptType::Int {
            min: 1,
            max: usize::MAX as u64,
        },
        default: Def::Text("100"),
        help: "Most long-running node operations (deploys, cleaning, power \
               syncs) one conductor runs at the same time.",
        slot: |c| Slot::Usize(&mut c.conductor.workers_pool_size),
    },
    OptSpec {
        section: "conductor",
        key: "check_provision_state_interval",
        ty: OptType::Int {
            min: 0,
            max: u64::MAX,
        },
        default: Def::Text("60"),
        help: "Seconds between two passes over the nodes this conductor owns \
               that fail the operations of conductors which stopped \
               heartbeating and clear their reservations, clear reservations \
               this conductor left behind, and fail call-back waits that timed \
               out. 0 turns these checks off.",
        slot: |c| Slot::U64(&mut c.conductor.check_provision_state_interval),
    },
    OptSpec {
        section: "conductor",
        key: "sync_local_state_interval",
        ty: OptType::Int {
            min: 0,
            max: u64::MAX,
        },
        default: Def::Text("180"),
        help: "Seconds between two take-overs of active nodes that the hash ring \
               newly maps to this conductor: their boot and deploy interfaces \
               re-adopt them so that they keep running. A change in the set of \
               alive conductors also starts one. 0 turns this off.",
        slot: |c| Slot::U64(&mut c.conductor.sync_local_state_interval),
    },
    OptSpec {
        section: "conductor",
        key: "graceful_shutdown_timeout",
        ty: OptType::Int {
            min: 0,
            max: u64::MAX,
        },
        default: Def::Text("60"),
        help: "Seconds a conductor told to stop (SIGTERM) waits for the \
               operations it runs to finish. Operations still running then are \
               interrupted and their nodes failed with a message naming this \
               conductor.",
        slot: |c| Slot::U64(&mut c.conductor.graceful_shutdown_timeout),
    },
    // [ipmi]
    OptSpec {
        section: "ipmi",
        key: "ipmitool",
        ty: OptType::Str(StrCheck::Name),
        default: Def::Text("ipmitool"),
        help: "The ipmitool command the ipmitool power and management \
               interfaces run (a name looked up in PATH, or a path).",
        slot: |c| Slot::Str(&mut c.ipmi.ipmitool),
    },
    OptSpec {
        section: "ipmi",
        key: "command_timeout",
        ty: OptType::Int { min: 1, max: 3600 },
        default: Def::Text("10"),
        help: "Seconds one ipmitool call may take before it is abandoned.",
        slot: |c| Slot::U64(&mut c.ipmi.command_timeout),
    },
    OptSpec {
        section: "ipmi",
        key: "command_retry_timeout",
        ty: OptType::Int { min: 0, max: 3600 },
        default: Def::Text("60"),
        help: "Seconds a failing IPMI command is retried for before the \
               operation fails.",
        slot: |c| Slot::U64(&mut c.ipmi.command_retry_timeout),
    },
    OptSpec {
        section: "ipmi",
        key: "power_state_change_timeout",
        ty: OptType::Int { min: 1, max: 3600 },
        default: Def::Text("60"),
        help: "Seconds a power on or off may take to show in the BMC's power \
               status before the operation fails.",
        slot: |c| Slot::U64(&mut c.ipmi.power_state_change_timeout),
    },
    // [pxe]
    OptSpec {
        section: "pxe",
        key: "http_url",
        ty: OptType::Str(StrCheck::Url(&["http", "https"])),
        default: Def::Unset,
        help: "Base URL at which nodes fetch their iPXE scripts from m2 \
               (http://<address>:<port> of the API as seen from the \
               provisioning network). When unset, the address the API listens \
               on.",
        slot: |c| Slot::OptStr(&mut c.pxe.http_url),
    },
    OptSpec {
        section: "pxe",
        key: "tftp_root",
        ty: OptType::Str(StrCheck::Name),
        default: Def::Unset,
        help: "Directory served by the TFTP server of the provisioning network. \
               When set, m2 writes there the generic boot.ipxe that chains each \
               node to its own script by MAC address.",
        slot: |c| Slot::OptStr(&mut c.pxe.tftp_root),
    },
    OptSpec {
        section: "pxe",
        key: "sanboot_retries",
        ty: OptType::Int { min: 0, max: 1000 },
        default: Def::Text("10"),
        help: "How many times a node's iPXE retries sanboot (5 s apart) when its \
               iSCSI target does not answer yet.",
        slot: |c| Slot::U32(&mut c.pxe.sanboot_retries),
    },
    // [database]
    OptSpec {
        section: "database",
        key: "connection",
        ty: OptType::Str(StrCheck::DbConnection),
        default: Def::Unset,
        help: "The URL of the database, as oslo.db spells it: \
               sqlite:///absolute/path/m2.sqlite, sqlite:// (in memory), \
               mysql+pymysql://user:password@host/m2 (or mysql://, mariadb://) \
               or postgresql://user:password@host/m2. If unset, the SQLite \
               database m2.sqlite in the data directory is used.",
        slot: |c| Slot::OptStr(&mut c.database.connection),
    },
    OptSpec {
        section: "database",
        key: "max_pool_size",
        ty: OptType::Int {
            min: 1,
            max: u32::MAX as u64,
        },
        default: Def::Unset,
        help: "Most database connections m2 keeps open; 8 for SQLite and 16 \
               otherwise when unset.",
        slot: |c| Slot::OptU32(&mut c.database.max_pool_size),
    },
    // [fake]
    OptSpec {
        section: "fake",
        key: "deploy_delay",
        ty: OptType::Seconds,
        default: Def::Text("0"),
        help: "Seconds a fake-hardware deploy takes, decimals allowed, to \
               exercise clients and operations (take-over, shutdown) with \
               deployments that last.",
        slot: |c| Slot::Duration(&mut c.fake.deploy_delay),
    },
    OptSpec {
        section: "fake",
        key: "clean_delay",
        ty: OptType::Seconds,
        default: Def::Text("0"),
        help: "Seconds each fake-hardware clean step takes, decimals allowed.",
        slot: |c| Slot::Duration(&mut c.fake.clean_delay),
    },
    // [ceph]
    OptSpec {
        section: "ceph",
        key: "conffile",
        ty: OptType::Str(StrCheck::AbsPath),
        default: Def::Text("/etc/ceph/ceph.conf"),
        help: "The ceph.conf of the cluster that holds the images and the \
               nodes' disks (monitor addresses, and where keyrings are).",
        slot: |c| Slot::Path(&mut c.ceph.conffile),
    },
    OptSpec {
        section: "ceph",
        key: "client_id",
        ty: OptType::Str(StrCheck::CephName),
        default: Def::Text("m2"),
        help: "The cephx user m2 connects as, without the \"client.\" prefix. \
               It needs \"profile rbd\" on both pools.",
        slot: |c| Slot::Str(&mut c.ceph.client_id),
    },
    OptSpec {
        section: "ceph",
        key: "keyring",
        ty: OptType::Str(StrCheck::AbsPath),
        default: Def::Unset,
        help: "Keyring file holding the key of client_id. When unset, the \
               keyring setting of ceph.conf applies (by default \
               /etc/ceph/ceph.client.<client_id>.keyring).",
        slot: |c| Slot::OptPath(&mut c.ceph.keyring),
    },
    OptSpec {
        section: "ceph",
        key: "images_pool",
        ty: OptType::Str(StrCheck::CephName),
        default: Def::Text("m2-images"),
        help: "RBD pool of the images nodes boot from. Each image has a \
               protected snapshot that the nodes' disks are cloned from.",
        slot: |c| Slot::Str(&mut c.ceph.images_pool),
    },
    OptSpec {
        section: "ceph",
        key: "disks_pool",
        ty: OptType::Str(StrCheck::CephName),
        default: Def::Text("m2-disks"),
        help: "RBD pool of the nodes' disks: copy-on-write clones of an \
               image's snapshot, one per deployed node.",
        slot: |c| Slot::Str(&mut c.ceph.disks_pool),
    },
    OptSpec {
        section: "ceph",
        key: "connect_timeout",
        ty: OptType::Int {
            min: 1,
            max: u32::MAX as u64,
        },
        default: Def::Text("10"),
        help: "Seconds to wait for the monitors when connecting to the \
               cluster. m2 connects once and shares the connection; after a \
               failure it connects again on the next request.",
        slot: |c| Slot::U64(&mut c.ceph.connect_timeout),
    },
    OptSpec {
        section: "ceph",
        key: "op_timeout",
        ty: OptType::Int {
            min: 0,
            max: u32::MAX as u64,
        },
        default: Def::Text("60"),
        help: "Seconds one request to a monitor or an OSD may take before it \
               fails and the cluster counts as unavailable; 0 waits forever.",
        slot: |c| Slot::U64(&mut c.ceph.op_timeout),
    },
    // [iscsi]
    OptSpec {
        section: "iscsi",
        key: "portal",
        ty: OptType::SocketAddr,
        default: Def::Text("127.0.0.1:3260"),
        help: "Address and port the tgtd iSCSI target listens on (its \
               --iscsi portal= option).",
        slot: |c| Slot::Sock(&mut c.iscsi.portal),
    },
    OptSpec {
        section: "iscsi",
        key: "guest_portal",
        ty: OptType::SocketAddr,
        default: Def::Unset,
        help: "Address and port nodes are told to boot from, when it differs \
               from portal (behind NAT, or 10.0.2.2:3260 for QEMU user-mode \
               guests). Unset: portal.",
        slot: |c| Slot::OptSock(&mut c.iscsi.guest_portal),
    },
    OptSpec {
        section: "iscsi",
        key: "tgt_control_port",
        ty: OptType::Int {
            min: 0,
            max: u16::MAX as u64,
        },
        default: Def::Text("0"),
        help: "Number of the tgtd control socket (tgtd and tgtadm -C N, \
               /var/run/tgtd/socket.N); 0 is the system's tgtd.",
        slot: |c| Slot::U16(&mut c.iscsi.tgt_control_port),
    },
    OptSpec {
        section: "iscsi",
        key: "iqn_prefix",
        ty: OptType::Str(StrCheck::IqnPrefix),
        default: Def::Text("iqn.2010-10.org.m2"),
        help: "Prefix of the iSCSI target names m2 creates: a node's target is \
               <iqn_prefix>:node-<node uuid>. Give each m2 deployment sharing \
               a tgtd its own prefix.",
        slot: |c| Slot::Str(&mut c.iscsi.iqn_prefix),
    },
    OptSpec {
        section: "iscsi",
        key: "tgtadm",
        ty: OptType::Str(StrCheck::Name),
        default: Def::Text("/usr/sbin/tgtadm"),
        help: "The tgtadm program, a path or a name looked up in PATH.",
        slot: |c| Slot::Str(&mut c.iscsi.tgtadm),
    },
    OptSpec {
        section: "iscsi",
        key: "tgtadm_timeout",
        ty: OptType::Int {
            min: 1,
            max: u32::MAX as u64,
        },
        default: Def::Text("30"),
        help: "Seconds one tgtadm call may take before it is killed and the \
               target counts as unavailable.",
        slot: |c| Slot::U64(&mut c.iscsi.tgtadm_timeout),
    },
    OptSpec {
        section: "iscsi",
        key: "reconcile_interval",
        ty: OptType::Int {
            min: 0,
            max: u32::MAX as u64,
        },
        default: Def::Text("60"),
        help: "Seconds between two comparisons of tgtd's targets with the nodes: \
               targets of running nodes that tgtd lost (after a restart) are \
               re-created, targets no node records are removed. 0 reconciles \
               only when the conductor starts.",
        slot: |c| Slot::U64(&mut c.iscsi.reconcile_interval),
    },
    OptSpec {
        section: "iscsi",
        key: "ceph_user",
        ty: OptType::Str(StrCheck::CephName),
        default: Def::Unset,
        help: "The cephx user, without \"client.\", that tgtd opens the nodes' \
               disks as; its key must be where ceph_conf says. Unset: [ceph] \
               client_id.",
        slot: |c| Slot::OptStr(&mut c.iscsi.ceph_user),
    },
    OptSpec {
        section: "iscsi",
        key: "ceph_conf",
        ty: OptType::Str(StrCheck::AbsPath),
        default: Def::Unset,
        help: "The ceph.conf tgtd reads when it opens a disk, if tgtd needs \
               another one than m2. Unset: [ceph] conffile. It may not \
               contain ',' or ';'.",
        slot: |c| Slot::OptPath(&mut c.iscsi.ceph_conf),
    },
    // [keystone_authtoken]
    OptSpec {
        section: "keystone_authtoken",
        key: "www_authenticate_uri",
        ty: OptType::Str(StrCheck::Url(&["http", "https"])),
        default: Def::Unset,
        help: "Keystone's public URL, e.g. http://keystone.example.com:5000. \
               A request without a valid token is answered 401 with \
               WWW-Authenticate: Keystone uri='<this URL>'. Unset: auth_uri, \
               else auth_url.",
        slot: |c| Slot::OptStr(&mut c.keystone_authtoken.www_authenticate_uri),
    },
    OptSpec {
        section: "keystone_authtoken",
        key: "auth_uri",
        ty: OptType::Str(StrCheck::Url(&["http", "https"])),
        default: Def::Unset,
        help: "Deprecated spelling of www_authenticate_uri, read when that is \
               unset.",
        slot: |c| Slot::OptStr(&mut c.keystone_authtoken.auth_uri),
    },
    OptSpec {
        section: "keystone_authtoken",
        key: "auth_type",
        ty: OptType::Choice(&["password", "v3password"]),
        default: Def::Text("password"),
        help: "How m2 authenticates to Keystone to validate the tokens of its \
               callers: with the password of a service user (both names mean \
               Identity v3 password authentication).",
        slot: |c| Slot::Str(&mut c.keystone_authtoken.auth_type),
    },
    OptSpec {
        section: "keystone_authtoken",
        key: "auth_url",
        ty: OptType::Str(StrCheck::Url(&["http", "https"])),
        default: Def::Unset,
        help: "Keystone's URL for m2's own requests, e.g. \
               http://keystone.example.com:5000 (with or without /v3). \
               Required when auth_strategy is \"keystone\".",
        slot: |c| Slot::OptStr(&mut c.keystone_authtoken.auth_url),
    },
    OptSpec {
        section: "keystone_authtoken",
        key: "username",
        ty: OptType::Str(StrCheck::Text),
        default: Def::Unset,
        help: "m2's service user. It needs the service or admin role (Keystone \
               requires one of them to validate other users' tokens). \
               Required when auth_strategy is \"keystone\".",
        slot: |c| Slot::OptStr(&mut c.keystone_authtoken.username),
    },
    OptSpec {
        section: "keystone_authtoken",
        key: "password",
        ty: OptType::Str(StrCheck::Secret),
        default: Def::Unset,
        help: "Password of the service user. Required when auth_strategy is \
               \"keystone\".",
        slot: |c| Slot::OptStr(&mut c.keystone_authtoken.password),
    },
    OptSpec {
        section: "keystone_authtoken",
        key: "project_name",
        ty: OptType::Str(StrCheck::Text),
        default: Def::Unset,
        help: "Project the service user's token is scoped to, normally \
               \"service\". Required when auth_strategy is \"keystone\".",
        slot: |c| Slot::OptStr(&mut c.keystone_authtoken.project_name),
    },
    OptSpec {
        section: "keystone_authtoken",
        key: "user_domain_name",
        ty: OptType::Str(StrCheck::Text),
        default: Def::Unset,
        help: "Domain of the service user, by name. When neither this nor \
               user_domain_id is set, the domain with id \"default\".",
        slot: |c| Slot::OptStr(&mut c.keystone_authtoken.user_domain_name),
    },
    OptSpec {
        section: "keystone_authtoken",
        key: "user_domain_id",
        ty: OptType::Str(StrCheck::Text),
        default: Def::Unset,
        help: "Domain of the service user, by id; wins over user_domain_name.",
        slot: |c| Slot::OptStr(&mut c.keystone_authtoken.user_domain_id),
    },
    OptSpec {
        section: "keystone_authtoken",
        key: "project_domain_name",
        ty: OptType::Str(StrCheck::Text),
        default: Def::Unset,
        help: "Domain of project_name, by name. When neither this nor \
               project_domain_id is set, the domain with id \"default\".",
        slot: |c| Slot::OptStr(&mut c.keystone_authtoken.project_domain_name),
    },
    OptSpec {
        section: "keystone_authtoken",
        key: "project_domain_id",
        ty: OptType::Str(StrCheck::Text),
        default: Def::Unset,
        help: "Domain of project_name, by id; wins over project_domain_name.",
        slot: |c| Slot::OptStr(&mut c.keystone_authtoken.project_domain_id),
    },
    OptSpec {
        section: "keystone_authtoken",
        key: "token_cache_time",
        ty: OptType::Int { min: 0, max: 86400 },
        default: Def::Text("300"),
        help: "Seconds a validated token is trusted without asking Keystone \
               again (never beyond the token's own expiry). A revoked token \
               keeps working for at most this long; 0 asks Keystone on every \
               request. Tokens are cached in the memory of each m2 process.",
        slot: |c| Slot::U64(&mut c.keystone_authtoken.token_cache_time),
    },
    OptSpec {
        section: "keystone_authtoken",
        key: "invalid_token_cache_time",
        ty: OptType::Int { min: 0, max: 3600 },
        default: Def::Text("10"),
        help: "Seconds a token Keystone refused (unknown, expired, revoked) is \
               refused again without asking Keystone, so a client repeating a \
               bad token does not load Keystone; 0 asks every time.",
        slot: |c| Slot::U64(&mut c.keystone_authtoken.invalid_token_cache_time),
    },
    OptSpec {
        section: "keystone_authtoken",
        key: "http_connect_timeout",
        ty: OptType::Int { min: 1, max: 600 },
        default: Def::Text("10"),
        help: "Seconds to wait for a connection to Keystone. A request whose \
               token cannot be checked because Keystone does not answer gets \
               503.",
        slot: |c| Slot::U64(&mut c.keystone_authtoken.http_connect_timeout),
    },
    OptSpec {
        section: "keystone_authtoken",
        key: "http_request_max_retries",
        ty: OptType::Int { min: 0, max: 10 },
        default: Def::Text("3"),
        help: "How often a request to Keystone is retried after a connection \
               failure before the API answers 503.",
        slot: |c| Slot::U32(&mut c.keystone_authtoken.http_request_max_retries),
    },
    OptSpec {
        section: "keystone_authtoken",
        key: "cafile",
        ty: OptType::Str(StrCheck::AbsPath),
        default: Def::Unset,
        help: "PEM bundle of the CA certificates that sign Keystone's HTTPS \
               certificate, in addition to the system's.",
        slot: |c| Slot::OptPath(&mut c.keystone_authtoken.cafile),
    },
    OptSpec {
        section: "keystone_authtoken",
        key: "insecure",
        ty: OptType::Bool,
        default: Def::Text("false"),
        help: "Do not verify Keystone's HTTPS certificate. For tests only.",
        slot: |c| Slot::Bool(&mut c.keystone_authtoken.insecure),
    },
    // [oslo_policy]
    OptSpec {
        section: "oslo_policy",
        key: "policy_file",
        ty: OptType::Str(StrCheck::AbsPath),
        default: Def::Unset,
        help: "A YAML or JSON file mapping policy rule names (such as \
               baremetal:node:get) to check strings in oslo.policy's \
               language; each replaces the built-in default of that name. \
               m2 policy-defaults prints the defaults. Unset: the defaults \
               alone. Read at start. Rules are enforced when auth_strategy \
               is \"keystone\"; show_password and show_instance_secrets \
               apply whatever the strategy.",
        slot: |c| Slot::OptPath(&mut c.oslo_policy.policy_file),
    },
];

fn is_known_section(name: &str) -> bool {
    OPTIONS.iter().any(|spec| spec.section == name)
}

impl OptType {
    /// The type as the sample file shows it.
    fn describe(self) -> String {
        match self {
            OptType::Bool => "boolean value".to_owned(),
            OptType::Int { min, max } => match int_bounds(min, max) {
                (0, None) => "integer value".to_owned(),
                (min, None) => format!("integer value, at least {min}"),
                (min, Some(max)) => format!("integer value, from {min} to {max}"),
            },
            OptType::Str(StrCheck::Url(_) | StrCheck::DbConnection | StrCheck::TransportUrl) => {
                "URI value".to_owned()
            }
            OptType::Str(_) => "string value".to_owned(),
            OptType::List => "list value".to_owned(),
            OptType::IpAddr => "IP address value".to_owned(),
            OptType::SocketAddr => "address:port value".to_owned(),
            OptType::Choice(names) => format!("string value, one of: {}", names.join(", ")),
            OptType::Seconds => "floating point value, seconds".to_owned(),
        }
    }

    /// What a valid value looks like, for error messages.
    fn expected(self) -> String {
        match self {
            OptType::Bool => "a boolean (true/false, yes/no, on/off, 1/0)".to_owned(),
            OptType::Int { min, max } => match int_bounds(min, max) {
                (0, None) => "a non-negative integer".to_owned(),
                (min, None) => format!("an integer of at least {min}"),
                (min, Some(max)) => format!("an integer from {min} to {max}"),
            },
            OptType::List => "a comma-separated list".to_owned(),
            OptType::Str(StrCheck::Name) => {
                "a non-empty name without whitespace or control characters".to_owned()
            }
            OptType::Str(StrCheck::ConductorGroup) => {
                "at most 255 letters, digits, '.', '-' or '_'".to_owned()
            }
            OptType::Str(StrCheck::Url([])) => "a URL (scheme://...)".to_owned(),
            OptType::Str(StrCheck::Url(schemes)) => {
                let schemes: Vec<String> = schemes.iter().map(|s| format!("{s}://")).collect();
                format!("a URL starting with {}", schemes.join(" or "))
            }
            OptType::Str(StrCheck::DbConnection) => DB_CONNECTION_EXPECTED.to_owned(),
            OptType::Str(StrCheck::TransportUrl) => TRANSPORT_URL_EXPECTED.to_owned(),
            OptType::Seconds => "a number of seconds from 0 to 86400".to_owned(),
            OptType::Str(StrCheck::AbsPath) => "an absolute path".to_owned(),
            OptType::Str(StrCheck::CephName) => {
                "a name without whitespace or any of / @ , ; =".to_owned()
            }
            OptType::Str(StrCheck::IqnPrefix) => {
                "an iSCSI name prefix like iqn.2010-10.org.example, in lowercase".to_owned()
            }
            OptType::Str(StrCheck::Secret) => "a non-empty secret".to_owned(),
            OptType::Str(StrCheck::Text) => "non-empty text without control characters".to_owned(),
            OptType::IpAddr => "an IPv4 or IPv6 address".to_owned(),
            OptType::SocketAddr => {
                "an address and port (192.0.2.1:3260 or [2001:db8::1]:3260)".to_owned()
            }
            OptType::Choice(names) => format!("one of: {}", names.join(", ")),
        }
    }

    /// Whether values are URLs that may carry a password.
    fn is_url(self) -> bool {
        matches!(
            self,
            OptType::Str(StrCheck::Url(_) | StrCheck::DbConnection | StrCheck::TransportUrl)
        )
    }
}

/// `min`, and `max` unless it is only the limit of the field's type.
fn int_bounds(min: u64, max: u64) -> (u64, Option<u64>) {
    if max == u64::MAX || max == usize::MAX as u64 {
        (min, None)
    } else {
        (min, Some(max))
    }
}

impl Def {
    /// The default as the type line of the sample shows it.
    fn describe(self) -> String {
        match self {
            Def::Unset => "<None>".to_owned(),
            Def::Text("") => "\"\"".to_owned(),
            Def::Text(text) => text.to_owned(),
            Def::Hostname => "the machine's hostname".to_owned(),
        }
    }

    /// The default as the commented-out option line of the sample shows it.
    fn sample_text(self) -> &'static str {
        match self {
            Def::Unset => "<None>",
            Def::Text(text) => text,
            Def::Hostname => "localhost",
        }
    }
}

/// A parsed value, before it is stored in its slot.
enum Value {
    Unset,
    Bool(bool),
    Int(u64),
    Str(String),
    List(Vec<String>),
    Ip(IpAddr),
    Duration(Duration),
    Sock(SocketAddr),
}

impl Slot<'_> {
    fn is_optional(&self) -> bool {
        matches!(
            self,
            Slot::OptU32(_)
                | Slot::OptUsize(_)
                | Slot::OptStr(_)
                | Slot::OptSock(_)
                | Slot::OptPath(_)
        )
    }
}

/// Sets `spec`'s default in `config`.
fn apply_default(config: &mut Config, spec: &OptSpec, origin: &str) -> Result<(), ConfigError> {
    let text = match spec.default {
        Def::Unset => String::new(),
        Def::Text(text) => text.to_owned(),
        Def::Hostname => system_hostname(),
    };
    assign(config, spec, &text).map_err(|expected| invalid_value(origin, spec, &text, expected))
}

/// The hostname from /proc/sys/kernel/hostname, or `localhost`.
fn system_hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty() && !name.contains(char::is_whitespace))
        .unwrap_or_else(|| "localhost".to_owned())
}

fn invalid_value(origin: &str, spec: &OptSpec, value: &str, expected: String) -> ConfigError {
    ConfigError::InvalidValue {
        origin: origin.to_owned(),
        section: spec.section.to_owned(),
        key: spec.key.to_owned(),
        value: if matches!(spec.ty, OptType::Str(StrCheck::Secret)) {
            "***".to_owned()
        } else if spec.ty.is_url() {
            redact_url(value)
        } else {
            value.to_owned()
        },
        expected,
    }
}

/// Parses `text` as `spec`'s type and stores it; on failure returns what
/// would have been expected.
fn assign(config: &mut Config, spec: &OptSpec, text: &str) -> Result<(), String> {
    let text = text.trim();
    let slot = (spec.slot)(config);
    let value = if text.is_empty() && slot.is_optional() {
        Value::Unset
    } else {
        parse_value(spec.ty, text).ok_or_else(|| spec.ty.expected())?
    };
    store(slot, value).map_err(|()| {
        format!(
            "{} (internal error: the option table gives [{}] {} the wrong type)",
            spec.ty.expected(),
            spec.section,
            spec.key
        )
    })
}

fn parse_value(ty: OptType, text: &str) -> Option<Value> {
    match ty {
        OptType::Bool => parse_bool(text).map(Value::Bool),
        OptType::Int { min, max } => text
            .parse::<u64>()
            .ok()
            .filter(|n| (min..=max).contains(n))
            .map(Value::Int),
        OptType::Str(check) => check_str(check, text).then(|| Value::Str(text.to_owned())),
        OptType::List => Some(Value::List(parse_list(text))),
        OptType::IpAddr => text.parse().ok().map(Value::Ip),
        OptType::SocketAddr => text.parse().ok().map(Value::Sock),
        OptType::Choice(names) => names.contains(&text).then(|| Value::Str(text.to_owned())),
        OptType::Seconds => text
            .parse::<f64>()
            .ok()
            .filter(|s| s.is_finite() && (0.0..=86400.0).contains(s))
            .map(|s| Value::Duration(Duration::from_secs_f64(s))),
    }
}

fn parse_bool(text: &str) -> Option<bool> {
    match text.to_ascii_lowercase().as_str() {
        "true" | "yes" | "on" | "1" => Some(true),
        "false" | "no" | "off" | "0" => Some(false),
        _ => None,
    }
}

fn parse_list(text: &str) -> Vec<String> {
    text.split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(str::to_owned)
        .collect()
}

/// `iqn.YYYY-MM.reversed.domain[:anything]`, lowercase (RFC 3720 3.2.6.3.1).
static IQN_PREFIX: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
    regex::Regex::new(r"^iqn\.[0-9]{4}-[0-9]{2}\.[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*(:[a-z0-9.:-]*[a-z0-9])?$")
        .expect("valid regex")
});

fn check_str(check: StrCheck, text: &str) -> bool {
    match check {
        StrCheck::Name => {
            !text.is_empty() && !text.chars().any(|c| c.is_whitespace() || c.is_control())
        }
        StrCheck::ConductorGroup => {
            text.len() <= 255
                && text
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
        }
        StrCheck::Url(schemes) => match text.split_once("://") {
            Some((scheme, rest)) => {
                !rest.is_empty()
                    && !text.contains(char::is_whitespace)
                    && if schemes.is_empty() {
                        !scheme.is_empty()
                            && scheme
                                .chars()
                                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
                    } else {
                        schemes.iter().any(|s| s.eq_ignore_ascii_case(scheme))
                    }
            }
            None => false,
        },
        StrCheck::DbConnection => normalize_connection(text).is_ok(),
        StrCheck::TransportUrl => TransportUrl::parse(text).is_ok(),
        StrCheck::AbsPath => text.starts_with('/') && !text.contains(char::is_control),
        StrCheck::CephName => {
            !text.is_empty()
                && !text.chars().any(|c| {
                    c.is_whitespace() || c.is_control() || matches!(c, '/' | '@' | ',' | ';' | '=')
                })
        }
        StrCheck::IqnPrefix => IQN_PREFIX.is_match(text),
        StrCheck::Secret => !text.is_empty(),
        StrCheck::Text => !text.is_empty() && !text.contains(char::is_control),
    }
}

fn store(slot: Slot<'_>, value: Value) -> Result<(), ()> {
    match (slot, value) {
        (Slot::Bool(field), Value::Bool(b)) => *field = b,
        (Slot::U16(field), Value::Int(n)) => *field = u16::try_from(n).map_err(|_| ())?,
        (Slot::U32(field), Value::Int(n)) => *field = u32::try_from(n).map_err(|_| ())?,
        (Slot::U64(field), Value::Int(n)) => *field = n,
        (Slot::Usize(field), Value::Int(n)) => *field = usize::try_from(n).map_err(|_| ())?,
        (Slot::OptU32(field), Value::Int(n)) => {
            *field = Some(u32::try_from(n).map_err(|_| ())?);
        }
        (Slot::OptUsize(field), Value::Int(n)) => {
            *field = Some(usize::try_from(n).map_err(|_| ())?);
        }
        (Slot::OptU32(field), Value::Unset) => *field = None,
        (Slot::OptUsize(field), Value::Unset) => *field = None,
        (Slot::Str(field), Value::Str(s)) => *field = s,
        (Slot::OptStr(field), Value::Str(s)) => *field = Some(s),
        (Slot::OptStr(field), Value::Unset) => *field = None,
        (Slot::List(field), Value::List(items)) => *field = items,
        (Slot::Ip(field), Value::Ip(ip)) => *field = ip,
        (Slot::Sock(field), Value::Sock(addr)) => *field = addr,
        (Slot::OptSock(field), Value::Sock(addr)) => *field = Some(addr),
        (Slot::OptSock(field), Value::Unset) => *field = None,
        (Slot::Path(field), Value::Str(s)) => *field = PathBuf::from(s),
        (Slot::OptPath(field), Value::Str(s)) => *field = Some(PathBuf::from(s)),
        (Slot::OptPath(field), Value::Unset) => *field = None,
        (Slot::Auth(field), Value::Str(s)) => *field = AuthStrategy::from_name(&s).ok_or(())?,
        (Slot::Rpc(field), Value::Str(s)) => *field = RpcTransport::from_name(&s).ok_or(())?,
        (Slot::Duration(field), Value::Duration(d)) => *field = d,
        _ => return Err(()),
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Database URLs.

const DB_CONNECTION_EXPECTED: &str = "a database URL: sqlite:///absolute/path, \
     sqlite:// (in memory), mysql+pymysql://user:password@host/db or \
     postgresql://user:password@host/db";

/// Turns an oslo.db (SQLAlchemy) database URL into the sqlx spelling.
fn normalize_connection(connection: &str) -> Result<String, &'static str> {
    let connection = connection.trim();
    if connection == "sqlite::memory:" {
        return Ok(connection.to_owned());
    }
    let (scheme, rest) = connection.split_once("://").ok_or(DB_CONNECTION_EXPECTED)?;
    // SQLAlchemy's `dialect+driver`: the Python driver does not matter here.
    let dialect = scheme
        .split_once('+')
        .map_or(scheme, |(dialect, _)| dialect);
    match dialect.to_ascii_lowercase().as_str() {
        "sqlite" => normalize_sqlite(rest),
        "mysql" | "mariadb" if !rest.is_empty() => Ok(format!("mysql://{rest}")),
        "postgresql" | "postgres" if !rest.is_empty() => Ok(format!("postgres://{rest}")),
        _ => Err(DB_CONNECTION_EXPECTED),
    }
}

/// `rest` is what follows `sqlite://`.
fn normalize_sqlite(rest: &str) -> Result<String, &'static str> {
    let (path, query) = match rest.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (rest, None),
    };
    if path.is_empty() || path == "/:memory:" {
        return Ok("sqlite::memory:".to_owned());
    }
    if !path.starts_with('/') || path.contains('#') {
        return Err(DB_CONNECTION_EXPECTED);
    }
    // `sqlite:////abs` (SQLAlchemy's absolute form) is the same file.
    let path = format!("/{}", path.trim_start_matches('/'));
    if path == "/" {
        return Err(DB_CONNECTION_EXPECTED);
    }
    let query = match query.filter(|q| !q.is_empty()) {
        None => "mode=rwc".to_owned(),
        Some(q) if q.split('&').any(|p| p.split('=').next() == Some("mode")) => q.to_owned(),
        Some(q) => format!("{q}&mode=rwc"),
    };
    Ok(format!("sqlite://{path}?{query}"))
}

/// Masks the password of `scheme://user:password@host...`.
fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    if authority.contains(',') {
        // Several brokers, each possibly with credentials.
        let parts: Vec<String> = authority
            .split(',')
            .map(|part| redact_url(&format!("x://{part}"))[4..].to_owned())
            .collect();
        return format!("{scheme}://{}{tail}", parts.join(","));
    }
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _password)) => format!("{scheme}://{user}:***@{host}{tail}"),
            None => url.to_owned(),
        },
        None => url.to_owned(),
    }
}

// ---------------------------------------------------------------------------
// INI syntax, as oslo.config's iniparser reads it.

/// One item of an INI file, in file order.
enum IniEvent {
    /// A `[section]` header.
    Section { name: String },
    /// `key = value`, possibly continued on indented lines (joined by `\n`).
    Entry {
        section: String,
        key: String,
        value: String,
    },
}

fn parse_ini(text: &str, origin: &str) -> Result<Vec<IniEvent>, ConfigError> {
    let syntax = |line: usize, msg: String| ConfigError::Syntax {
        origin: origin.to_owned(),
        msg: format!("line {line}: {msg}"),
    };
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut events = Vec::new();
    let mut section: Option<String> = None;
    // The entry being read: key and value lines.
    let mut pending: Option<(String, Vec<String>)> = None;
    let flush = |pending: &mut Option<(String, Vec<String>)>,
                 section: &Option<String>,
                 events: &mut Vec<IniEvent>| {
        if let (Some((key, lines)), Some(section)) = (pending.take(), section) {
            events.push(IniEvent::Entry {
                section: section.clone(),
                key,
                value: lines.join("\n"),
            });
        }
    };
    for (index, line) in text.lines().enumerate() {
        let number = index + 1;
        let line = line.trim_end();
        if line.is_empty() {
            // A blank line ends a multi-line value.
            flush(&mut pending, &section, &mut events);
            continue;
        }
        if line.starts_with([' ', '\t']) {
            let content = line.trim_start();
            if content.starts_with(['#', ';']) {
                continue;
            }
            match pending.as_mut() {
                Some((_, lines)) => lines.push(content.to_owned()),
                None => {
                    return Err(syntax(
                        number,
                        "unexpected indented line (continuation of no option)".to_owned(),
                    ));
                }
            }
            continue;
        }
        flush(&mut pending, &section, &mut events);
        if let Some(header) = line.strip_prefix('[') {
            let Some(name) = header.strip_suffix(']') else {
                return Err(syntax(
                    number,
                    "section header without closing ']'".to_owned(),
                ));
            };
            if name.is_empty() {
                return Err(syntax(number, "empty section name".to_owned()));
            }
            section = Some(name.to_owned());
            events.push(IniEvent::Section {
                name: name.to_owned(),
            });
        } else if line.starts_with(['#', ';']) {
            continue;
        } else {
            let separator = line
                .find(['=', ':'])
                .ok_or_else(|| syntax(number, format!("expected 'key = value', found {line:?}")))?;
            let key = line[..separator].trim();
            if key.is_empty() {
                return Err(syntax(number, "missing option name before '='".to_owned()));
            }
            if section.is_none() {
                return Err(syntax(
                    number,
                    format!("option {key:?} comes before any [section]"),
                ));
            }
            let mut value = line[separator + 1..].trim();
            // Like oslo: one pair of matching quotes around the value goes.
            if value.len() >= 2
                && (value.starts_with('"') && value.ends_with('"')
                    || value.starts_with('\'') && value.ends_with('\''))
            {
                value = &value[1..value.len() - 1];
            }
            pending = Some((key.to_owned(), vec![value.to_owned()]));
        }
    }
    flush(&mut pending, &section, &mut events);
    Ok(events)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(text, "m2.conf")
    }

    fn err(text: &str) -> String {
        match parse(text) {
            Ok(config) => panic!("expected an error, got {config:?}"),
            Err(error) => error.to_string(),
        }
    }

    #[test]
    fn defaults() {
        let config = Config::default();
        let d = &config.default;
        assert!(!d.host.is_empty());
        assert!(!d.debug);
        assert_eq!(d.enabled_hardware_types, ["fake-hardware"]);
        assert_eq!(d.default_portgroup_mode, "active-backup");
        assert_eq!(d.enabled_interfaces(InterfaceKind::Boot), ["fake"]);
        assert_eq!(d.enabled_interfaces(InterfaceKind::Deploy), ["fake"]);
        assert_eq!(d.enabled_interfaces(InterfaceKind::Power), ["fake"]);
        assert_eq!(d.enabled_interfaces(InterfaceKind::Management), ["fake"]);
        assert_eq!(
            d.enabled_interfaces(InterfaceKind::Inspect),
            ["fake", "no-inspect"]
        );
        assert_eq!(
            d.enabled_interfaces(InterfaceKind::Console),
            ["fake", "no-console"]
        );
        assert_eq!(
            d.enabled_interfaces(InterfaceKind::Network),
            ["noop", "flat"]
        );
        assert_eq!(
            d.enabled_interfaces(InterfaceKind::Storage),
            ["noop", "rbd"]
        );
        assert_eq!(
            d.enabled_interfaces(InterfaceKind::Raid),
            ["fake", "no-raid"]
        );
        assert_eq!(
            d.enabled_interfaces(InterfaceKind::Bios),
            ["fake", "no-bios"]
        );
        assert_eq!(
            d.enabled_interfaces(InterfaceKind::Rescue),
            ["fake", "no-rescue"]
        );
        assert_eq!(
            d.enabled_interfaces(InterfaceKind::Vendor),
            ["fake", "no-vendor"]
        );
        assert_eq!(
            d.enabled_interfaces(InterfaceKind::Firmware),
            ["fake", "no-firmware"]
        );
        for kind in InterfaceKind::ALL {
            assert_eq!(d.default_interface(kind), None);
        }
        assert_eq!(d.transport_url, None);
        assert_eq!(d.auth_strategy, AuthStrategy::NoAuth);
        assert_eq!(d.rpc_transport, RpcTransport::None);

        let a = &config.api;
        assert_eq!(a.host_ip, IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        assert_eq!(a.port, 6385);
        assert_eq!(a.max_limit, 1000);
        assert_eq!(a.public_endpoint, None);
        assert_eq!(a.api_workers, None);
        assert!(a.workers() >= 1);
        assert_eq!(a.max_body_size, 64 * 1024 * 1024);
        assert_eq!(a.bind_address().to_string(), "0.0.0.0:6385");

        assert_eq!(config.database.connection, None);
        assert_eq!(config.database.max_pool_size, None);

        let c = &config.conductor;
        assert!(c.automated_clean);
        assert_eq!(c.heartbeat_interval, 10);
        assert_eq!(c.heartbeat_timeout, 60);
        assert_eq!(c.sync_power_state_interval, 60);
        assert_eq!(c.conductor_group, "");
        assert_eq!(c.deploy_callback_timeout, 1800);
        assert_eq!(c.clean_callback_timeout, 1800);
        assert!(c.force_power_state_during_sync);
        assert_eq!(c.workers_pool_size, 100);

        let ceph = &config.ceph;
        assert_eq!(ceph.conffile, Path::new("/etc/ceph/ceph.conf"));
        assert_eq!(ceph.client_id, "m2");
        assert_eq!(ceph.client_name(), "client.m2");
        assert_eq!(ceph.keyring, None);
        assert_eq!(ceph.images_pool, "m2-images");
        assert_eq!(ceph.disks_pool, "m2-disks");
        assert_eq!(ceph.connect_timeout, 10);
        assert_eq!(ceph.op_timeout, 60);

        let iscsi = &config.iscsi;
        assert_eq!(iscsi.portal.to_string(), "127.0.0.1:3260");
        assert_eq!(iscsi.guest_portal, None);
        assert_eq!(iscsi.guest_portal().to_string(), "127.0.0.1:3260");
        assert_eq!(iscsi.tgt_control_port, 0);
        assert_eq!(iscsi.iqn_prefix, "iqn.2010-10.org.m2");
        assert_eq!(iscsi.tgtadm, "/usr/sbin/tgtadm");
        assert_eq!(iscsi.tgtadm_timeout, 30);
        assert_eq!(iscsi.ceph_user, None);
        assert_eq!(iscsi.ceph_conf, None);
        assert_eq!(c.check_provision_state_interval, 60);
        assert_eq!(c.sync_local_state_interval, 180);
        assert_eq!(c.graceful_shutdown_timeout, 60);
        assert_eq!(d.rpc_response_timeout, 60);
        assert_eq!(d.hash_ring_reset_interval, 15);
        assert_eq!(config.fake.deploy_delay, Duration::ZERO);
        assert_eq!(config.fake.clean_delay, Duration::ZERO);
    }

    #[test]
    fn transport_urls() {
        let t = TransportUrl::parse("rabbit://guest:guest@127.0.0.1:5672/").unwrap();
        assert_eq!(
            t.hosts,
            [BrokerHost {
                host: "127.0.0.1".into(),
                port: 5672,
                username: "guest".into(),
                password: "guest".into()
            }]
        );
        assert_eq!(t.virtual_host, "/");
        let t = TransportUrl::parse(
            "rabbit://m2:s%40cret@mq1.example.com:5673,mq2.example.com,bob:pw@[::1]:5674/m2%2Fprod?ssl=0",
        )
        .unwrap();
        assert_eq!(t.virtual_host, "m2/prod");
        let hosts: Vec<(&str, u16, &str, &str)> = t
            .hosts
            .iter()
            .map(|h| {
                (
                    h.host.as_str(),
                    h.port,
                    h.username.as_str(),
                    h.password.as_str(),
                )
            })
            .collect();
        assert_eq!(
            hosts,
            [
                ("mq1.example.com", 5673, "m2", "s@cret"),
                ("mq2.example.com", 5672, "m2", "s@cret"),
                ("::1", 5674, "bob", "pw"),
            ]
        );
        assert_eq!(
            TransportUrl::parse("amqp://h").unwrap().hosts[0].username,
            "guest"
        );
        for bad in [
            "http://h/",
            "rabbit://",
            "rabbit://u:p@/",
            "rabbit://h:port/",
            "rabbit://h/%zz",
            "h:5672",
        ] {
            assert!(TransportUrl::parse(bad).is_err(), "{bad}");
        }
        let config =
            parse("[DEFAULT]\nrpc_transport = amqp\ntransport_url = rabbit://u:p@h1,u:q@h2:1/v\n")
                .unwrap();
        assert_eq!(config.default.transport().unwrap().hosts.len(), 2);
        assert!(!format!("{:?}", config.default.transport().unwrap()).contains(":p@"));
        assert_eq!(
            err("[DEFAULT]\nrpc_transport = amqp\n"),
            "m2.conf: [DEFAULT] transport_url: invalid value \"\": \
             expected a message bus URL when rpc_transport is \"amqp\""
        );
        assert_eq!(
            redact_url("rabbit://u:p@h1:5672,v:q@h2/x"),
            "rabbit://u:***@h1:5672,v:***@h2/x"
        );
    }

    #[test]
    fn seconds() {
        let config = parse("[fake]\ndeploy_delay = 0.25\nclean_delay = 2\n").unwrap();
        assert_eq!(config.fake.deploy_delay, Duration::from_millis(250));
        assert_eq!(config.fake.clean_delay, Duration::from_secs(2));
        assert_eq!(
            err("[fake]\ndeploy_delay = -1\n"),
            "m2.conf: [fake] deploy_delay: invalid value \"-1\": \
             expected a number of seconds from 0 to 86400"
        );
    }

    #[test]
    fn every_table_default_is_valid() {
        let mut config = Config::blank();
        for spec in OPTIONS {
            apply_default(&mut config, spec, "defaults").unwrap();
        }
        config.cross_check("defaults").unwrap();
        assert_eq!(config, Config::default());
        assert_eq!(parse("").unwrap(), Config::default());
    }

    #[test]
    fn every_option_accepts_a_value_of_its_type() {
        // Catches an option whose type does not match its field.
        for spec in OPTIONS {
            let example = match spec.ty {
                OptType::Bool if matches!(spec.default, Def::Text("true")) => "no".to_owned(),
                OptType::Bool => "yes".to_owned(),
                OptType::Int { min, .. } => (min + 1).to_string(),
                OptType::Str(StrCheck::Url(&[])) => "rabbit://u:p@h:5672/".to_owned(),
                OptType::Str(StrCheck::TransportUrl) => "rabbit://u:p@h:5672/".to_owned(),
                OptType::Seconds => "1.5".to_owned(),
                OptType::Str(StrCheck::Url(_)) => "https://h:6385".to_owned(),
                OptType::Str(StrCheck::DbConnection) => "mysql://h/db".to_owned(),
                OptType::Str(StrCheck::AbsPath) => "/srv/x".to_owned(),
                OptType::Str(StrCheck::IqnPrefix) => "iqn.2024-01.com.example".to_owned(),
                OptType::Str(_) => "name".to_owned(),
                OptType::List => "a, b".to_owned(),
                OptType::IpAddr => "::1".to_owned(),
                OptType::SocketAddr => "[::1]:3261".to_owned(),
                OptType::Choice(names) => names[names.len() - 1].to_owned(),
            };
            let mut config = Config::default();
            assert_eq!(assign(&mut config, spec, &example), Ok(()), "{}", spec.key);
            assert_ne!(config, Config::default(), "{} changed nothing", spec.key);
        }
    }

    #[test]
    fn options_are_unique_and_grouped_by_section() {
        let mut seen_sections: Vec<&str> = Vec::new();
        for (i, spec) in OPTIONS.iter().enumerate() {
            assert!(
                !OPTIONS[..i]
                    .iter()
                    .any(|s| s.section == spec.section && s.key == spec.key),
                "duplicate {}",
                spec.key
            );
            if seen_sections.last() != Some(&spec.section) {
                assert!(!seen_sections.contains(&spec.section));
                seen_sections.push(spec.section);
            }
        }
        assert_eq!(
            seen_sections,
            [
                "DEFAULT",
                "api",
                "conductor",
                "ipmi",
                "pxe",
                "database",
                "fake",
                "ceph",
                "iscsi",
                "keystone_authtoken",
                "oslo_policy"
            ]
        );
        for kind in InterfaceKind::ALL {
            for key in [
                format!("enabled_{kind}_interfaces"),
                format!("default_{kind}_interface"),
            ] {
                assert!(OPTIONS.iter().any(|s| s.key == key), "{key}");
            }
        }
    }

    #[test]
    fn sample_parses_to_defaults() {
        let sample = sample_config();
        assert_eq!(Config::parse(&sample, "sample").unwrap(), Config::default());
    }

    #[test]
    fn uncommented_sample_parses_to_defaults() {
        // Every `#key = value` line uncommented, except unset options.
        let sample = sample_config();
        let text: String = sample
            .lines()
            .map(|line| match line.strip_prefix('#') {
                Some(rest)
                    if !rest.starts_with(' ') && !rest.is_empty() && !rest.ends_with("<None>") =>
                {
                    rest.to_owned()
                }
                _ => line.to_owned(),
            })
            .collect::<Vec<_>>()
            .join("\n");
        assert!(text.contains("\nport = 6385\n"));
        let mut parsed = Config::parse(&text, "sample").unwrap();
        assert_eq!(parsed.default.host, "localhost");
        parsed.default.host = Config::default().default.host;
        assert_eq!(parsed, Config::default());
    }

    #[test]
    fn sample_format() {
        let sample = sample_config();
        for line in sample.lines() {
            assert!(line.len() <= SAMPLE_WIDTH, "too long: {line}");
            assert_eq!(line, line.trim_end());
        }
        assert!(sample.contains(
            "\n\n# TCP port the API listens on (0 picks a free port).\n\
             # (integer value, from 0 to 65535) default: 6385\n#port = 6385\n"
        ));
        assert!(sample.contains("\n#enabled_inspect_interfaces = fake,no-inspect\n"));
        assert!(sample.contains("\n#default_boot_interface = <None>\n"));
        assert!(sample.contains("\n#conductor_group =\n"));
        assert!(sample.contains("\n#host = localhost\n"));
        assert!(
            sample.contains(
                "# (string value, one of: noauth, keystone, http_basic) default: noauth\n"
            )
        );
        for section in [
            "[DEFAULT]",
            "[api]",
            "[conductor]",
            "[database]",
            "[fake]",
            "[ceph]",
            "[iscsi]",
            "[keystone_authtoken]",
            "[oslo_policy]",
        ] {
            assert_eq!(sample.matches(&format!("\n{section}\n")).count(), 1);
        }
    }

    #[test]
    fn values() {
        let config = parse(
            "# comment\n\
             ; other comment\n\
             [DEFAULT]\n\
             debug = Yes\n\
             host: conductor-1\n\
             enabled_hardware_types = ipmi , ,redfish,\n\
             enabled_boot_interfaces = pxe,\n    ipxe\n\
             default_boot_interface = ipxe\n\
             transport_url = \"rabbit://guest:guest@127.0.0.1:5672/\"\n\
             auth_strategy = keystone\n\
             rpc_transport = amqp\n\
             default_portgroup_mode = 802.3ad\n\
             \n\
             [api]\r\n\
             host_ip = ::1\r\n\
             port = 8080\n\
             port = 8081\n\
             public_endpoint = https://bm.example.com\n\
             api_workers = 3\n\
             [conductor]\n\
             automated_clean = OFF\n\
             force_power_state_during_sync = 0\n\
             conductor_group = rack-1.a_b\n\
             sync_power_state_interval = 0\n\
             [database]\n\
             connection = mysql+pymysql://m2:secret@db/m2?charset=utf8\n\
             max_pool_size = 7\n\
             [oslo_messaging_rabbit]\n\
             anything = goes\n\
             [keystone_authtoken]\n\
             auth_url = http://keystone:5000\n\
             username = m2\n\
             password = x\n\
             project_name = service\n\
             [DEFAULT]\n\
             default_deploy_interface =\n",
        )
        .unwrap();
        let d = &config.default;
        assert!(d.debug);
        assert_eq!(d.host, "conductor-1");
        assert_eq!(d.enabled_hardware_types, ["ipmi", "redfish"]);
        assert_eq!(d.enabled_interfaces(InterfaceKind::Boot), ["pxe", "ipxe"]);
        assert_eq!(d.default_interface(InterfaceKind::Boot), Some("ipxe"));
        assert_eq!(d.default_interface(InterfaceKind::Deploy), None);
        assert_eq!(
            d.transport_url.as_deref(),
            Some("rabbit://guest:guest@127.0.0.1:5672/")
        );
        assert_eq!(d.auth_strategy, AuthStrategy::Keystone);
        assert_eq!(d.rpc_transport, RpcTransport::Amqp);
        assert_eq!(d.default_portgroup_mode, "802.3ad");
        assert_eq!(config.api.host_ip, "::1".parse::<IpAddr>().unwrap());
        assert_eq!(config.api.port, 8081);
        assert_eq!(
            config.api.public_endpoint.as_deref(),
            Some("https://bm.example.com")
        );
        assert_eq!(config.api.workers(), 3);
        assert!(!config.conductor.automated_clean);
        assert!(!config.conductor.force_power_state_during_sync);
        assert_eq!(config.conductor.conductor_group, "rack-1.a_b");
        assert_eq!(config.conductor.sync_power_state_interval, 0);
        assert_eq!(config.database.max_pool_size, Some(7));
        assert_eq!(
            config.database.url(Path::new("/x")).unwrap(),
            "mysql://m2:secret@db/m2?charset=utf8"
        );
    }

    #[test]
    fn keystone_authtoken_and_policy() {
        let config = parse(
            "[DEFAULT]\n\
             auth_strategy = keystone\n\
             rbac_service_project_name = services\n\
             [keystone_authtoken]\n\
             www_authenticate_uri = https://keystone.example.com:5000\n\
             auth_type = password\n\
             auth_url = http://keystone.internal:5000/v3\n\
             username = ironic\n\
             password = s3cret\n\
             project_name = service\n\
             user_domain_name = Default\n\
             project_domain_id = default\n\
             token_cache_time = 60\n\
             [oslo_policy]\n\
             policy_file = /etc/m2/policy.yaml\n",
        )
        .unwrap();
        let k = &config.keystone_authtoken;
        assert_eq!(config.default.auth_strategy, AuthStrategy::Keystone);
        assert_eq!(config.default.rbac_service_project_name, "services");
        assert_eq!(k.public_uri(), Some("https://keystone.example.com:5000"));
        assert_eq!(
            k.auth_url.as_deref(),
            Some("http://keystone.internal:5000/v3")
        );
        assert_eq!(k.username.as_deref(), Some("ironic"));
        assert_eq!(k.password.as_deref(), Some("s3cret"));
        assert_eq!(k.user_domain_name.as_deref(), Some("Default"));
        assert_eq!(k.project_domain_id.as_deref(), Some("default"));
        assert_eq!(k.token_cache_time, 60);
        assert_eq!(k.http_request_max_retries, 3);
        assert!(!format!("{config:?}").contains("s3cret"));
        assert_eq!(
            config.oslo_policy.policy_file.as_deref(),
            Some(Path::new("/etc/m2/policy.yaml"))
        );

        // Defaults: noauth, nothing required.
        let d = Config::default();
        assert_eq!(d.keystone_authtoken.token_cache_time, 300);
        assert_eq!(d.keystone_authtoken.public_uri(), None);
        assert_eq!(d.default.rbac_service_project_name, "service");
        // The deprecated auth_uri, then auth_url, name Keystone to clients.
        let k = parse("[keystone_authtoken]\nauth_uri = http://a:5000\nauth_url = http://b:5000\n")
            .unwrap()
            .keystone_authtoken;
        assert_eq!(k.public_uri(), Some("http://a:5000"));

        // keystone needs a service user.
        assert_eq!(
            err("[DEFAULT]\nauth_strategy = keystone\n"),
            "m2.conf: [keystone_authtoken] auth_url: invalid value \"\": \
             expected a value, as [DEFAULT] auth_strategy is keystone"
        );
        assert_eq!(
            err("[keystone_authtoken]\nauth_type = token\n"),
            "m2.conf: [keystone_authtoken] auth_type: invalid value \"token\": \
             expected one of: password, v3password"
        );
        assert_eq!(
            err("[oslo_policy]\npolicy_file = policy.yaml\n"),
            "m2.conf: [oslo_policy] policy_file: invalid value \"policy.yaml\": \
             expected an absolute path"
        );
        // What devstack and ironic.conf add for keystonemiddleware loads, unused.
        assert_eq!(
            parse(
                "[keystone_authtoken]\nmemcached_servers = localhost:11211\ninterface = public\n"
            )
            .unwrap(),
            Config::default()
        );
        assert_eq!(
            err("[keystone_authtoken]\ndelay_auth_decision = true\n"),
            "m2.conf: [keystone_authtoken] delay_auth_decision: unknown option"
        );
    }

    #[test]
    fn ceph_and_iscsi() {
        let config = parse(
            "[ceph]\n\
             conffile = /srv/ceph/ceph.conf\n\
             client_id = deployer\n\
             keyring = /srv/ceph/deployer.keyring\n\
             images_pool = images\n\
             disks_pool = disks\n\
             op_timeout = 0\n\
             [iscsi]\n\
             portal = 0.0.0.0:3260\n\
             guest_portal = 10.0.2.2:3260\n\
             tgt_control_port = 7\n\
             iqn_prefix = iqn.2024-02.com.example:rack-1\n\
             ceph_user = tgt\n\
             ceph_conf = /etc/ceph/tgt.conf\n",
        )
        .unwrap();
        assert_eq!(config.ceph.conffile, Path::new("/srv/ceph/ceph.conf"));
        assert_eq!(config.ceph.client_name(), "client.deployer");
        assert_eq!(
            config.ceph.keyring.as_deref(),
            Some(Path::new("/srv/ceph/deployer.keyring"))
        );
        assert_eq!(config.ceph.images_pool, "images");
        assert_eq!(config.ceph.disks_pool, "disks");
        assert_eq!(config.ceph.op_timeout, 0);
        assert_eq!(config.iscsi.portal.to_string(), "0.0.0.0:3260");
        assert_eq!(config.iscsi.guest_portal().to_string(), "10.0.2.2:3260");
        assert_eq!(config.iscsi.tgt_control_port, 7);
        assert_eq!(config.iscsi.iqn_prefix, "iqn.2024-02.com.example:rack-1");
        assert_eq!(config.iscsi.ceph_user.as_deref(), Some("tgt"));
        assert_eq!(
            config.iscsi.ceph_conf.as_deref(),
            Some(Path::new("/etc/ceph/tgt.conf"))
        );

        for prefix in ["iqn.2010-10.org.m2", "iqn.2001-04.com.example:a.b-c"] {
            assert!(parse(&format!("[iscsi]\niqn_prefix = {prefix}\n")).is_ok());
        }
        for prefix in [
            "IQN.2010-10.org.m2",
            "iqn.2010-10.Org.m2",
            "iqn.10-10.org.m2",
            "eui.02004567A425678D",
            "iqn.2010-10.org.m2:",
            "iqn.2010-10.org m2",
        ] {
            assert!(
                err(&format!("[iscsi]\niqn_prefix = {prefix}\n"))
                    .contains("expected an iSCSI name prefix"),
                "{prefix}"
            );
        }
        assert_eq!(
            err("[ceph]\ndisks_pool = a/b\n"),
            "m2.conf: [ceph] disks_pool: invalid value \"a/b\": \
             expected a name without whitespace or any of / @ , ; ="
        );
        assert_eq!(
            err("[ceph]\nconffile = ceph.conf\n"),
            "m2.conf: [ceph] conffile: invalid value \"ceph.conf\": \
             expected an absolute path"
        );
        assert_eq!(
            err("[iscsi]\nportal = 127.0.0.1\n"),
            "m2.conf: [iscsi] portal: invalid value \"127.0.0.1\": \
             expected an address and port (192.0.2.1:3260 or [2001:db8::1]:3260)"
        );
        // tgtd cannot take these paths in its LUN options.
        assert!(
            err("[ceph]\nconffile = /a;b/ceph.conf\n")
                .starts_with("m2.conf: [ceph] conffile: invalid value \"/a;b/ceph.conf\"")
        );
        assert!(
            err("[iscsi]\nceph_conf = /a,b\n")
                .starts_with("m2.conf: [iscsi] ceph_conf: invalid value \"/a,b\"")
        );
        // A conffile with ';' is fine when tgtd reads another one.
        assert!(parse("[ceph]\nconffile = /a;b\n[iscsi]\nceph_conf = /c\n").is_ok());
    }

    #[test]
    fn booleans() {
        for (text, expected) in [
            ("true", true),
            ("TRUE", true),
            ("yes", true),
            ("On", true),
            ("1", true),
            ("false", false),
            ("No", false),
            ("off", false),
            ("0", false),
        ] {
            let config = parse(&format!("[DEFAULT]\ndebug = {text}\n")).unwrap();
            assert_eq!(config.default.debug, expected, "{text}");
        }
        assert_eq!(
            err("[DEFAULT]\ndebug = true # inline\n"),
            "m2.conf: [DEFAULT] debug: invalid value \"true # inline\": \
             expected a boolean (true/false, yes/no, on/off, 1/0)"
        );
    }

    #[test]
    fn io_error_names_file() {
        let path = Path::new("/nonexistent/dir/m2.conf");
        let error = Config::load(path).unwrap_err();
        assert!(matches!(error, ConfigError::Io { .. }));
        assert!(
            error.to_string().starts_with("/nonexistent/dir/m2.conf: "),
            "{error}"
        );
    }

    #[test]
    fn load_reads_file() {
        let path = std::env::temp_dir().join(format!("m2-config-test-{}.conf", std::process::id()));
        std::fs::write(&path, "[api]\nport = 1234\n[conductor]\nbogus = 1\n").unwrap();
        let error = Config::load(&path).unwrap_err().to_string();
        std::fs::write(&path, "[api]\nport = 1234\n").unwrap();
        let config = Config::load(&path);
        std::fs::remove_file(&path).unwrap();
        assert_eq!(
            error,
            format!("{}: [conductor] bogus: unknown option", path.display())
        );
        assert_eq!(config.unwrap().api.port, 1234);
    }

    #[test]
    fn syntax_errors() {
        assert_eq!(
            err("[api]\nport 6385\n"),
            "m2.conf: line 2: expected 'key = value', found \"port 6385\""
        );
        assert_eq!(
            err("port = 6385\n"),
            "m2.conf: line 1: option \"port\" comes before any [section]"
        );
        assert_eq!(
            err("\n[api\n"),
            "m2.conf: line 2: section header without closing ']'"
        );
        assert_eq!(err("[]\n"), "m2.conf: line 1: empty section name");
        assert_eq!(
            err("[api]\n= 1\n"),
            "m2.conf: line 2: missing option name before '='"
        );
        assert_eq!(
            err("[api]\n  port = 1\n"),
            "m2.conf: line 2: unexpected indented line (continuation of no option)"
        );
        assert!(matches!(
            parse("[api]\nport\n"),
            Err(ConfigError::Syntax { .. })
        ));
    }

    #[test]
    fn unknown_section() {
        assert_eq!(err("[bogus]\n"), "m2.conf: [bogus]: unknown section");
        // Section names are case-sensitive, as in oslo.config.
        assert_eq!(
            err("[default]\ndebug = true\n"),
            "m2.conf: [default]: unknown section"
        );
        assert_eq!(err("[API]\n"), "m2.conf: [API]: unknown section");
        assert!(matches!(
            parse("[bogus]\n"),
            Err(ConfigError::UnknownSection { .. })
        ));
        for section in RESERVED_SECTIONS {
            assert_eq!(
                parse(&format!("[{section}]\nwhatever = 1\n")).unwrap(),
                Config::default()
            );
        }
    }

    #[test]
    fn unknown_option() {
        assert_eq!(
            err("[api]\nprot = 1\n"),
            "m2.conf: [api] prot: unknown option"
        );
        assert_eq!(
            err("[DEFAULT]\nDebug = true\n"),
            "m2.conf: [DEFAULT] Debug: unknown option"
        );
        assert!(matches!(
            parse("[conductor]\nx=1"),
            Err(ConfigError::UnknownOption { .. })
        ));
    }

    #[test]
    fn invalid_values() {
        assert_eq!(
            err("[api]\nport = abc\n"),
            "m2.conf: [api] port: invalid value \"abc\": expected an integer from 0 to 65535"
        );
        assert_eq!(
            err("[api]\nport = 65536\n"),
            "m2.conf: [api] port: invalid value \"65536\": expected an integer from 0 to 65535"
        );
        assert_eq!(
            err("[api]\nmax_limit = 0\n"),
            "m2.conf: [api] max_limit: invalid value \"0\": \
             expected an integer from 1 to 4294967295"
        );
        assert_eq!(
            err("[conductor]\nheartbeat_interval = -1\n"),
            "m2.conf: [conductor] heartbeat_interval: invalid value \"-1\": \
             expected an integer of at least 1"
        );
        assert_eq!(
            err("[api]\nhost_ip = localhost\n"),
            "m2.conf: [api] host_ip: invalid value \"localhost\": \
             expected an IPv4 or IPv6 address"
        );
        assert_eq!(
            err("[api]\npublic_endpoint = ftp://x\n"),
            "m2.conf: [api] public_endpoint: invalid value \"ftp://x\": \
             expected a URL starting with http:// or https://"
        );
        assert_eq!(
            err("[DEFAULT]\nauth_strategy = http-basic\n"),
            "m2.conf: [DEFAULT] auth_strategy: invalid value \"http-basic\": \
             expected one of: noauth, keystone, http_basic"
        );
        assert_eq!(
            err("[DEFAULT]\nrpc_transport = json-rpc\n"),
            "m2.conf: [DEFAULT] rpc_transport: invalid value \"json-rpc\": \
             expected one of: none, amqp"
        );
        assert_eq!(
            err("[DEFAULT]\nhost =\n"),
            "m2.conf: [DEFAULT] host: invalid value \"\": \
             expected a non-empty name without whitespace or control characters"
        );
        assert_eq!(
            err("[conductor]\nconductor_group = a b\n"),
            "m2.conf: [conductor] conductor_group: invalid value \"a b\": \
             expected at most 255 letters, digits, '.', '-' or '_'"
        );
        assert_eq!(
            err("[DEFAULT]\ntransport_url = localhost\n"),
            "m2.conf: [DEFAULT] transport_url: invalid value \"localhost\": \
             expected a message bus URL: \
             rabbit://user:password@host:port[,user:password@host:port...]/[virtual_host]"
        );
        let message = err("[database]\nconnection = oracle://scott:tiger@db/m2\n");
        assert!(
            message.starts_with(
                "m2.conf: [database] connection: invalid value \
                 \"oracle://scott:***@db/m2\": expected a database URL"
            ),
            "{message}"
        );
        assert!(!message.contains("tiger"));
        assert!(matches!(
            parse("[api]\nport = x\n"),
            Err(ConfigError::InvalidValue { .. })
        ));
    }

    #[test]
    fn cross_checks() {
        assert_eq!(
            err("[DEFAULT]\ndefault_power_interface = ipmitool\n"),
            "m2.conf: [DEFAULT] default_power_interface: invalid value \"ipmitool\": \
             expected one of enabled_power_interfaces (fake)"
        );
        // The check runs after the whole file, whatever the order.
        let config = parse(
            "[DEFAULT]\ndefault_power_interface = ipmitool\n\
             enabled_power_interfaces = fake, ipmitool\n",
        )
        .unwrap();
        assert_eq!(
            config.default.default_interface(InterfaceKind::Power),
            Some("ipmitool")
        );
        assert_eq!(
            err("[DEFAULT]\nenabled_hardware_types = ,\n"),
            "m2.conf: [DEFAULT] enabled_hardware_types: invalid value \"\": \
             expected at least one hardware type"
        );
    }

    #[test]
    fn interface_kinds() {
        let names: Vec<&str> = InterfaceKind::ALL.iter().map(|k| k.as_str()).collect();
        assert_eq!(
            names,
            [
                "bios",
                "boot",
                "console",
                "deploy",
                "firmware",
                "inspect",
                "management",
                "network",
                "power",
                "raid",
                "rescue",
                "storage",
                "vendor"
            ]
        );
        for (i, kind) in InterfaceKind::ALL.iter().enumerate() {
            assert_eq!(*kind as usize, i);
            assert_eq!(kind.to_string(), kind.as_str());
        }
        let mut interfaces = Interfaces::default();
        interfaces[InterfaceKind::Raid].default = Some("x".to_owned());
        assert_eq!(
            interfaces.get(InterfaceKind::Raid).default.as_deref(),
            Some("x")
        );
        assert_eq!(interfaces.iter().count(), 13);
    }

    fn db(connection: Option<&str>) -> Result<String, ConfigError> {
        DatabaseSection {
            connection: connection.map(str::to_owned),
            max_pool_size: None,
        }
        .url(Path::new("/var/lib/m2"))
    }

    #[test]
    fn database_urls() {
        for (input, expected) in [
            (None, "sqlite:///var/lib/m2/m2.sqlite?mode=rwc"),
            (Some("sqlite:///srv/m2.db"), "sqlite:///srv/m2.db?mode=rwc"),
            (Some("sqlite:////srv/m2.db"), "sqlite:///srv/m2.db?mode=rwc"),
            (
                Some("sqlite:///srv/m2.db?cache=shared"),
                "sqlite:///srv/m2.db?cache=shared&mode=rwc",
            ),
            (
                Some("sqlite:///srv/m2.db?mode=ro"),
                "sqlite:///srv/m2.db?mode=ro",
            ),
            (Some("sqlite:///srv/m2.db?"), "sqlite:///srv/m2.db?mode=rwc"),
            (
                Some("sqlite+pysqlite:///srv/m2.db"),
                "sqlite:///srv/m2.db?mode=rwc",
            ),
            (Some("sqlite://"), "sqlite::memory:"),
            (Some("sqlite:///:memory:"), "sqlite::memory:"),
            (Some("sqlite::memory:"), "sqlite::memory:"),
            (
                Some("mysql+pymysql://m2:pw@db.example.com/m2?charset=utf8"),
                "mysql://m2:pw@db.example.com/m2?charset=utf8",
            ),
            (Some("mysql+mysqldb://m2:pw@db/m2"), "mysql://m2:pw@db/m2"),
            (Some("mysql://m2:pw@db:3306/m2"), "mysql://m2:pw@db:3306/m2"),
            (Some("mariadb://m2:pw@db/m2"), "mysql://m2:pw@db/m2"),
            (Some("MySQL+PyMySQL://m2@db/m2"), "mysql://m2@db/m2"),
            (Some("postgresql://m2:pw@db/m2"), "postgres://m2:pw@db/m2"),
            (
                Some("postgresql+psycopg2://m2:pw@db:5432/m2?sslmode=require"),
                "postgres://m2:pw@db:5432/m2?sslmode=require",
            ),
            (Some("postgres://m2@db/m2"), "postgres://m2@db/m2"),
        ] {
            assert_eq!(db(input).unwrap(), expected, "{input:?}");
        }
        let relative = DatabaseSection {
            connection: None,
            max_pool_size: None,
        }
        .url(Path::new("data"))
        .unwrap();
        assert_eq!(relative, "sqlite://data/m2.sqlite?mode=rwc");
    }

    #[test]
    fn bad_database_urls() {
        for input in [
            "",
            "m2.sqlite",
            "oracle://u:p@db/m2",
            "mysql://",
            "postgresql://",
            "sqlite://relative.db",
            "sqlite:///",
            "mongodb://db/m2",
        ] {
            let message = db(Some(input)).unwrap_err().to_string();
            assert!(
                message.starts_with("configuration: [database] connection: invalid value"),
                "{input}: {message}"
            );
            assert!(
                matches!(
                    parse(&format!("[database]\nconnection = {input}\n")),
                    Err(ConfigError::InvalidValue { .. })
                ) || input.is_empty(),
                "{input}"
            );
        }
        // An empty value leaves the option unset.
        assert_eq!(
            parse("[database]\nconnection =\n")
                .unwrap()
                .database
                .connection,
            None
        );
    }

    #[test]
    fn redaction() {
        assert_eq!(redact_url("mysql://u:p@h/db"), "mysql://u:***@h/db");
        assert_eq!(redact_url("mysql://u@h/db"), "mysql://u@h/db");
        assert_eq!(
            redact_url("rabbit://u:p:q@h:5672/"),
            "rabbit://u:***@h:5672/"
        );
        assert_eq!(redact_url("h/db"), "h/db");
    }

    #[test]
    fn wrapping() {
        assert_eq!(wrap("a bb ccc dddd", 6), ["a bb", "ccc", "dddd"]);
        assert_eq!(wrap("abcdefgh x", 4), ["abcdefgh", "x"]);
        assert!(wrap("  ", 10).is_empty());
    }
}
