//! Which conductor owns which node: a consistent hash ring per conductor group and
//! hardware type, built from the conductors that are alive.
//!
//! Every API and conductor process builds the same rings from the same `conductors`
//! rows, so they agree on each node's owner without talking to each other. A ring
//! places each conductor at [`POINTS_PER_HOST`] pseudo-random points of a 64-bit
//! circle; a node belongs to the first conductor point at or after the hash of its
//! UUID. When a conductor joins or leaves, only the nodes next to its points move.
//!
//! Rings are cached for `[DEFAULT] hash_ring_reset_interval` seconds, and rebuilt
//! sooner when a lookup finds no conductor for a node (a conductor may just have
//! registered) or when [`RingCache::reset`] is called (a conductor saw the alive set
//! change).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use sea_orm::DatabaseConnection;

use crate::db::conductors::{self, ConductorRow};
use crate::db::nodes::Node;
use crate::error::{Error, Result};

/// Points each conductor takes on a ring.
pub const POINTS_PER_HOST: u32 = 64;

/// A stable 64-bit hash (FNV-1a with a final avalanche), the same in every process
/// and every build.
pub fn hash64(data: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in data {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    // MurmurHash3's fmix64: spreads nearby inputs over the whole circle.
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^= h >> 33;
    h
}

/// One consistent hash ring over a set of hosts.
#[derive(Debug, Clone, Default)]
pub struct Ring {
    points: BTreeMap<u64, Arc<str>>,
    hosts: BTreeSet<Arc<str>>,
}

impl Ring {
    /// A ring over `hosts`.
    pub fn new<'a>(hosts: impl IntoIterator<Item = &'a str>) -> Ring {
        let mut ring = Ring::default();
        for host in hosts {
            let host: Arc<str> = Arc::from(host);
            for i in 0..POINTS_PER_HOST {
                let point = hash64(format!("{host}#{i}").as_bytes());
                // On the (unlikely) collision the smaller name wins, in every process.
                ring.points
                    .entry(point)
                    .and_modify(|h| {
                        if host < *h {
                            *h = host.clone();
                        }
                    })
                    .or_insert_with(|| host.clone());
            }
            ring.hosts.insert(host);
        }
        ring
    }

    /// The host `key` maps to; `None` on an empty ring.
    pub fn get(&self, key: &str) -> Option<&str> {
        let h = hash64(key.as_bytes());
        self.points
            .range(h..)
            .next()
            .or_else(|| self.points.iter().next())
            .map(|(_, host)| &**host)
    }

    /// The hosts on the ring.
    pub fn hosts(&self) -> impl Iterator<Item = &str> {
        self.hosts.iter().map(|h| &**h)
    }
}

/// The rings of one moment: one per (conductor group, hardware type).
#[derive(Debug, Default)]
pub struct Rings {
    rings: HashMap<(String, String), Ring>,
    /// Hostnames of the alive conductors, with their row ids.
    alive: BTreeMap<String, i64>,
}

impl Rings {
    /// Builds the rings from conductor rows; only alive ones take part.
    pub fn build(rows: &[ConductorRow], heartbeat_timeout: u64) -> Rings {
        let mut members: HashMap<(String, String), Vec<&str>> = HashMap::new();
        let mut alive = BTreeMap::new();
        for row in rows
            .iter()
            .filter(|r| conductors::is_alive(r, heartbeat_timeout))
        {
            alive.insert(row.hostname.clone(), row.id);
            let types = row
                .hardware_types
                .as_array()
                .map(|a| a.iter().filter_map(|t| t.as_str()).collect::<Vec<_>>())
                .unwrap_or_default();
            for hw in types {
                members
                    .entry((row.conductor_group.to_lowercase(), hw.to_owned()))
                    .or_default()
                    .push(&row.hostname);
            }
        }
        let rings = members
            .into_iter()
            .map(|(key, hosts)| (key, Ring::new(hosts)))
            .collect();
        Rings { rings, alive }
    }

    /// The conductor that owns the node with this UUID, driver and group.
    pub fn owner(&self, uuid: &str, driver: &str, group: &str) -> Option<&str> {
        self.rings
            .get(&(group.to_lowercase(), driver.to_owned()))
            .and_then(|r| r.get(uuid))
    }

    /// The conductor that owns `node`.
    pub fn owner_of(&self, node: &Node) -> Option<&str> {
        self.owner(&node.uuid, &node.driver, &node.conductor_group)
    }

    /// Hostnames of the alive conductors.
    pub fn alive(&self) -> impl Iterator<Item = &str> {
        self.alive.keys().map(String::as_str)
    }

    /// Is `host` alive?
    pub fn is_alive(&self, host: &str) -> bool {
        self.alive.contains_key(host)
    }

    /// Is any conductor alive?
    pub fn is_empty(&self) -> bool {
        self.alive.is_empty()
    }
}

/// Rings built from the database, cached for a while.
pub struct RingCache {
    db: DatabaseConnection,
    ttl: Duration,
    heartbeat_timeout: u64,
    cached: RwLock<Option<(Instant, Arc<Rings>)>>,
}

impl RingCache {
    /// A cache that rebuilds its rings after `ttl`; conductors silent for
    /// `heartbeat_timeout` seconds are left out.
    pub fn new(db: DatabaseConnection, ttl: Duration, heartbeat_timeout: u64) -> RingCache {
        RingCache {
            db,
            ttl,
            heartbeat_timeout,
            cached: RwLock::new(None),
        }
    }

    /// The current rings, rebuilt when older than the TTL.
    pub async fn rings(&self) -> Result<Arc<Rings>> {
        if let Some((built, rings)) = self.cached.read().map(|c| c.clone()).ok().flatten()
            && built.elapsed() < self.ttl
        {
            return Ok(rings);
        }
        self.rebuild().await
    }

    /// Rebuilds the rings now.
    pub async fn rebuild(&self) -> Result<Arc<Rings>> {
        let rows = conductors::list(&self.db).await?;
        let rings = Arc::new(Rings::build(&rows, self.heartbeat_timeout));
        if let Ok(mut c) = self.cached.write() {
            *c = Some((Instant::now(), rings.clone()));
        }
        Ok(rings)
    }

    /// Forgets the cached rings: the next use rebuilds them.
    pub fn reset(&self) {
        if let Ok(mut c) = self.cached.write() {
            *c = None;
        }
    }

    /// The conductor that owns `node`. A miss rebuilds the rings once, in case a
    /// conductor registered since they were built. Errors: 503 when no conductor at
    /// all is alive, 404 (Ironic's NoValidHost) when none serves the node's driver in
    /// its group.
    pub async fn owner_of(&self, node: &Node) -> Result<String> {
        let rings = self.rings().await?;
        if let Some(host) = rings.owner_of(node) {
            return Ok(host.to_owned());
        }
        let rings = self.rebuild().await?;
        if let Some(host) = rings.owner_of(node) {
            return Ok(host.to_owned());
        }
        if rings.is_empty() {
            return Err(Error::Unavailable(
                "No conductor is alive to serve the request, please retry.".into(),
            ));
        }
        Err(Error::NoValidHost(format!(
            "No valid host was found. Reason: No conductor service registered which \
             supports driver {} for conductor group \"{}\". Ensure the driver is valid \
             and enabled.",
            node.driver, node.conductor_group
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_is_stable() {
        // Fixed values: every process and every build must agree.
        assert_eq!(hash64(b""), hash64(b""));
        assert_ne!(hash64(b"a"), hash64(b"b"));
        assert_eq!(hash64(b"conductor-1#0"), 6_015_302_701_003_050_100);
    }

    fn keys(n: usize) -> Vec<String> {
        (0..n)
            .map(|i| uuid::Uuid::from_u128(i as u128 * 7919 + 17).to_string())
            .collect()
    }

    #[test]
    fn empty_ring_maps_nothing() {
        assert_eq!(Ring::new([]).get("x"), None);
    }

    #[test]
    fn one_host_owns_everything() {
        let r = Ring::new(["a"]);
        assert!(keys(100).iter().all(|k| r.get(k) == Some("a")));
    }

    #[test]
    fn spread_is_fair_enough() {
        let r = Ring::new(["c1", "c2", "c3"]);
        let mut count: HashMap<&str, usize> = HashMap::new();
        for k in keys(3000) {
            *count.entry(r.get(&k).unwrap()).or_default() += 1;
        }
        for host in ["c1", "c2", "c3"] {
            let n = count[host];
            assert!(
                (600..=1400).contains(&n),
                "{host} got {n} of 3000: {count:?}"
            );
        }
    }

    #[test]
    fn removing_a_host_moves_only_its_keys() {
        let before = Ring::new(["c1", "c2", "c3"]);
        let after = Ring::new(["c1", "c3"]);
        for k in keys(1000) {
            let b = before.get(&k).unwrap();
            let a = after.get(&k).unwrap();
            if b != "c2" {
                assert_eq!(a, b, "key {k} moved from {b} to {a}");
            } else {
                assert_ne!(a, "c2");
            }
        }
    }

    #[test]
    fn order_of_hosts_does_not_matter() {
        let a = Ring::new(["x", "y", "z"]);
        let b = Ring::new(["z", "x", "y"]);
        for k in keys(200) {
            assert_eq!(a.get(&k), b.get(&k));
        }
    }

    fn row(id: i64, host: &str, group: &str, online: bool, age_s: i64) -> ConductorRow {
        ConductorRow {
            id,
            hostname: host.into(),
            online,
            conductor_group: group.into(),
            hardware_types: serde_json::json!(["fake-hardware"]),
            created_at: chrono::Utc::now(),
            updated_at: Some(chrono::Utc::now() - chrono::Duration::seconds(age_s)),
        }
    }

    #[test]
    fn rings_follow_groups_and_liveness() {
        let rows = [
            row(1, "a", "", true, 0),
            row(2, "b", "", true, 100),
            row(3, "c", "", false, 0),
            row(4, "d", "Rack1", true, 0),
        ];
        let rings = Rings::build(&rows, 60);
        assert_eq!(rings.alive().collect::<Vec<_>>(), ["a", "d"]);
        for k in keys(50) {
            assert_eq!(rings.owner(&k, "fake-hardware", ""), Some("a"));
            assert_eq!(rings.owner(&k, "fake-hardware", "rack1"), Some("d"));
            assert_eq!(rings.owner(&k, "ipmi", ""), None);
            assert_eq!(rings.owner(&k, "fake-hardware", "other"), None);
        }
    }
}
