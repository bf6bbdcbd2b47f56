//! API microversions: negotiation from the request headers and the feature table.
//!
//! A client asks for `1.N` with `X-OpenStack-Ironic-API-Version` or
//! `OpenStack-API-Version: baremetal 1.N`, or for `latest`; with neither header it gets
//! 1.1. Every feature that appeared in a later microversion is listed in [`Feature`] with
//! the version that introduced it, and handlers ask `version.has(Feature::X)`.

use std::fmt;

/// The only major version.
pub const MAJOR: u16 = 1;
/// Oldest minor version served.
pub const MIN_MINOR: u16 = 1;
/// Newest minor version served: every feature up to it is implemented.
pub const MAX_MINOR: u16 = 65;

/// Header carrying Ironic's microversion, request and response.
pub const IRONIC_HEADER: &str = "X-OpenStack-Ironic-API-Version";
/// Generic OpenStack microversion header (`baremetal 1.N`).
pub const OPENSTACK_HEADER: &str = "OpenStack-API-Version";
/// Response header: oldest version.
pub const MIN_HEADER: &str = "X-OpenStack-Ironic-API-Minimum-Version";
/// Response header: newest version.
pub const MAX_HEADER: &str = "X-OpenStack-Ironic-API-Maximum-Version";

/// A negotiated API version (always major 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ApiVersion(pub u16);

impl ApiVersion {
    /// The oldest supported version.
    pub const MIN: ApiVersion = ApiVersion(MIN_MINOR);
    /// The newest supported version.
    pub const MAX: ApiVersion = ApiVersion(MAX_MINOR);

    /// Minor number.
    pub fn minor(self) -> u16 {
        self.0
    }

    /// Is `feature` available at this version?
    pub fn has(self, feature: Feature) -> bool {
        self.0 >= feature.since()
    }

    /// At least `1.minor`?
    pub fn at_least(self, minor: u16) -> bool {
        self.0 >= minor
    }
}

impl fmt::Display for ApiVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{MAJOR}.{}", self.0)
    }
}

/// Why a requested version was refused (rendered as a 406).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionError(pub String);

/// Negotiates from the two header values (`None` when absent).
pub fn negotiate(
    ironic: Option<&str>,
    openstack: Option<&str>,
) -> Result<ApiVersion, VersionError> {
    let requested = match (ironic, openstack) {
        (Some(v), _) => v.trim().to_owned(),
        (None, Some(v)) => {
            let mut parts = v.split_whitespace();
            match (parts.next(), parts.next(), parts.next()) {
                (Some(service), Some(ver), None) if service.eq_ignore_ascii_case("baremetal") => {
                    ver.to_owned()
                }
                _ => {
                    return Err(VersionError(format!(
                        "Invalid value for {OPENSTACK_HEADER} header"
                    )));
                }
            }
        }
        (None, None) => return Ok(ApiVersion::MIN),
    };
    if requested.eq_ignore_ascii_case("latest") {
        return Ok(ApiVersion::MAX);
    }
    let invalid = || VersionError(format!("Invalid value for {IRONIC_HEADER} header"));
    let (major, minor) = requested.split_once('.').ok_or_else(invalid)?;
    let parse = |s: &str| -> Option<u16> {
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        s.parse().ok()
    };
    let (major, minor) = (parse(major).ok_or_else(invalid)?, parse(minor));
    let range = format!("[{MAJOR}.{MIN_MINOR}, {MAJOR}.{MAX_MINOR}]");
    if major != MAJOR {
        return Err(VersionError(format!(
            "Version {requested} was requested but the major version is not supported by this \
             service. The supported version range is: {range}."
        )));
    }
    let minor = minor.ok_or_else(invalid)?;
    if !(MIN_MINOR..=MAX_MINOR).contains(&minor) {
        return Err(VersionError(format!(
            "Version {requested} was requested but the minor version is not supported by this \
             service. The supported version range is: {range}."
        )));
    }
    Ok(ApiVersion(minor))
}

/// Features that appeared after 1.1, each with the minor version that introduced it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Feature {
    DriverInternalInfo,
    ProvisionManageProvide,
    NodeName,
    Inspect,
    CleanStep,
    FieldsSelector,
    LogicalNames,
    NodeEnrollState,
    RaidConfig,
    AbortVerb,
    StatesLink,
    CleanVerb,
    AdoptVerb,
    PortNodeFilter,
    NetworkInterface,
    ResourceClass,
    PortPhysicalExtras,
    Portgroups,
    PortgroupMode,
    SoftPower,
    Vifs,
    InjectNmi,
    DynamicDrivers,
    DynamicInterfaces,
    Volume,
    StorageInterface,
    PhysicalNetwork,
    RebuildConfigdrive,
    Traits,
    Rescue,
    Bios,
    Fault,
    DetailQuery,
    DeployStep,
    ResetInterfaces,
    ConductorGroup,
    AutomatedClean,
    Protected,
    Conductors,
    Owner,
    Description,
    Allocations,
    Smartnic,
    Events,
    DeployTemplates,
    ConfigdriveDict,
    AllocationUpdate,
    AllocationBackfill,
    AllocationOwner,
    Retired,
    Indicators,
    NetworkType,
    Lessee,
}

impl Feature {
    /// The minor version that introduced the feature.
    pub const fn since(self) -> u16 {
        match self {
            Feature::DriverInternalInfo => 3,
            Feature::ProvisionManageProvide => 4,
            Feature::NodeName => 5,
            Feature::Inspect => 6,
            Feature::CleanStep => 7,
            Feature::FieldsSelector => 8,
            Feature::LogicalNames => 10,
            Feature::NodeEnrollState => 11,
            Feature::RaidConfig => 12,
            Feature::AbortVerb => 13,
            Feature::StatesLink => 14,
            Feature::CleanVerb => 15,
            Feature::AdoptVerb => 17,
            Feature::PortNodeFilter => 16,
            Feature::PortPhysicalExtras => 19,
            Feature::NetworkInterface => 20,
            Feature::ResourceClass => 21,
            Feature::Portgroups => 23,
            Feature::PortgroupMode => 26,
            Feature::SoftPower => 27,
            Feature::Vifs => 28,
            Feature::InjectNmi => 29,
            Feature::DynamicDrivers => 30,
            Feature::DynamicInterfaces => 31,
            Feature::Volume => 32,
            Feature::StorageInterface => 33,
            Feature::PhysicalNetwork => 34,
            Feature::RebuildConfigdrive => 35,
            Feature::Traits => 37,
            Feature::Rescue => 38,
            Feature::Bios => 40,
            Feature::Fault => 42,
            Feature::DetailQuery => 43,
            Feature::DeployStep => 44,
            Feature::ResetInterfaces => 45,
            Feature::ConductorGroup => 46,
            Feature::AutomatedClean => 47,
            Feature::Protected => 48,
            Feature::Conductors => 49,
            Feature::Owner => 50,
            Feature::Description => 51,
            Feature::Allocations => 52,
            Feature::Smartnic => 53,
            Feature::Events => 54,
            Feature::DeployTemplates => 55,
            Feature::ConfigdriveDict => 56,
            Feature::AllocationUpdate => 57,
            Feature::AllocationBackfill => 58,
            Feature::AllocationOwner => 60,
            Feature::Retired => 61,
            Feature::Indicators => 63,
            Feature::NetworkType => 64,
            Feature::Lessee => 65,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Ironic's header, OpenStack's header, and the negotiated minor or an error text.
    type Case<'a> = (Option<&'a str>, Option<&'a str>, Result<u16, &'a str>);

    #[test]
    fn negotiation_table() {
        let max = format!("1.{MAX_MINOR}");
        let too_new = format!("1.{}", MAX_MINOR + 1);
        let cases: &[Case] = &[
            (None, None, Ok(1)),
            (Some("1.1"), None, Ok(1)),
            (Some("1.46"), None, Ok(46)),
            (Some(" 1.46 "), None, Ok(46)),
            (Some("latest"), None, Ok(MAX_MINOR)),
            (Some("LATEST"), None, Ok(MAX_MINOR)),
            (Some(&max), None, Ok(MAX_MINOR)),
            (None, Some("baremetal 1.31"), Ok(31)),
            (None, Some("baremetal latest"), Ok(MAX_MINOR)),
            (Some("1.2"), Some("baremetal 1.31"), Ok(2)),
            (Some(&too_new), None, Err("minor version is not supported")),
            (Some("1.0"), None, Err("minor version is not supported")),
            (Some("2.1"), None, Err("major version is not supported")),
            (Some("1"), None, Err("Invalid value")),
            (Some("1.x"), None, Err("Invalid value")),
            (Some("1.-1"), None, Err("Invalid value")),
            (Some(""), None, Err("Invalid value")),
            (Some("a.b.c"), None, Err("Invalid value")),
            (None, Some("compute 1.2"), Err("Invalid value")),
            (None, Some("baremetal"), Err("Invalid value")),
        ];
        for (ironic, openstack, expected) in cases {
            let got = negotiate(*ironic, *openstack);
            match (expected, got) {
                (Ok(minor), Ok(v)) => assert_eq!(v.minor(), *minor, "{ironic:?} {openstack:?}"),
                (Err(part), Err(VersionError(msg))) => {
                    assert!(msg.contains(part), "{ironic:?}: {msg}")
                }
                (e, g) => panic!("{ironic:?} {openstack:?}: expected {e:?}, got {g:?}"),
            }
        }
    }

    #[test]
    fn features_are_within_served_range() {
        for f in [
            Feature::DriverInternalInfo,
            Feature::Lessee,
            Feature::Conductors,
        ] {
            assert!(f.since() <= MAX_MINOR && f.since() > MIN_MINOR);
        }
    }
}
