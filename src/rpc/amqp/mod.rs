//! The AMQP 0.9.1 transport (RabbitMQ), between `m2 api` and `m2 conductor`
//! processes.
//!
//! - Each conductor consumes from a durable queue of its own, `m2.conductor.<host>`
//!   ([`queue_name`]), on the default exchange.
//! - The API sends every request as a call: it publishes the request (persistent,
//!   `mandatory`, with publisher confirms) to the queue of the conductor the hash ring
//!   maps the node to, with a correlation id and `reply_to` set to RabbitMQ's direct
//!   reply-to pseudo-queue, and waits for the answer at most `[DEFAULT]
//!   rpc_response_timeout` seconds. The message expires in the queue after the same
//!   time, so a request its caller gave up on is never carried out later.
//! - Long operations (deploy, clean, ...) are calls too: the conductor answers once it
//!   has accepted the operation and moved the node into its transient state (the API
//!   answers 202 then), and continues in the background. From the acceptance on, the
//!   operation lives in the database, not in the broker: a broker restart cannot lose
//!   it.
//! - Both sides reconnect by themselves, with an exponential backoff over the brokers
//!   of `transport_url`. While the API has no connection, a call fails at once with
//!   503; calls waiting for an answer when the connection drops fail with 503 too.
//!   A 503 on a call therefore means "unknown outcome": check the node before
//!   retrying.
//! - A conductor told to stop answers each request with a "stopping" reply; the API
//!   then rebuilds its hash ring (the conductor went offline) and sends the request
//!   once more, to the node's new owner.

pub mod client;
pub mod server;

use std::time::Duration;

use lapin::uri::{AMQPAuthority, AMQPQueryString, AMQPScheme, AMQPUri, AMQPUserInfo};
use lapin::{Connection, ConnectionProperties};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::config::TransportUrl;
use crate::error::Error;

pub use client::AmqpClient;
pub use server::AmqpServer;

/// Prefix of conductor queue names.
pub const QUEUE_PREFIX: &str = "m2.conductor.";

/// RabbitMQ's direct reply-to pseudo-queue.
pub const REPLY_TO: &str = "amq.rabbitmq.reply-to";

/// The queue of the conductor `host`.
pub fn queue_name(host: &str) -> String {
    format!("{QUEUE_PREFIX}{host}")
}

/// AMQP heartbeat negotiated with the broker, seconds: a dead broker or a cut
/// network is noticed within about two of them.
const HEARTBEAT_S: u16 = 10;

/// Longest wait for a TCP connection to a broker.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// First and longest pause between two connection attempts.
const BACKOFF_MIN: Duration = Duration::from_millis(500);
const BACKOFF_MAX: Duration = Duration::from_secs(10);

/// A conductor's answer on the wire.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reply {
    /// The request was handled; its result.
    Ok(Value),
    /// The request was refused or failed.
    Err(Error),
    /// The conductor is stopping and did not look at the request: send it to the
    /// node's new owner.
    Stopping,
}

/// The AMQP URI of one broker of `url`.
fn amqp_uri(url: &TransportUrl, index: usize) -> AMQPUri {
    let host = &url.hosts[index % url.hosts.len()];
    AMQPUri {
        scheme: AMQPScheme::AMQP,
        authority: AMQPAuthority {
            userinfo: AMQPUserInfo {
                username: host.username.clone(),
                password: host.password.clone(),
            },
            host: host.host.clone(),
            port: host.port,
        },
        vhost: url.virtual_host.clone(),
        query: AMQPQueryString {
            heartbeat: Some(HEARTBEAT_S),
            connection_timeout: Some(CONNECT_TIMEOUT.as_millis() as u64),
            ..Default::default()
        },
    }
}

/// Connects to the broker `*next` of `url` (modulo their number) and moves `*next`
/// on, so that the next attempt tries the next broker. `None` when it failed (logged).
async fn connect(url: &TransportUrl, next: &mut usize, name: &str) -> Option<Connection> {
    let index = *next;
    *next = next.wrapping_add(1);
    let uri = amqp_uri(url, index);
    let broker = format!("{}:{}", uri.authority.host, uri.authority.port);
    let props = ConnectionProperties::default().with_connection_name(name.into());
    let connecting = Connection::connect_uri(uri, props);
    match tokio::time::timeout(CONNECT_TIMEOUT * 2, connecting).await {
        Ok(Ok(conn)) => {
            tracing::info!(broker = %broker, "connected to the message bus");
            Some(conn)
        }
        Ok(Err(e)) => {
            tracing::warn!(broker = %broker, error = %e, "cannot connect to the message bus");
            None
        }
        Err(_) => {
            tracing::warn!(broker = %broker, "connecting to the message bus timed out");
            None
        }
    }
}

/// Exponential backoff between connection attempts.
struct Backoff(Duration);

impl Backoff {
    fn new() -> Backoff {
        Backoff(BACKOFF_MIN)
    }

    fn reset(&mut self) {
        self.0 = BACKOFF_MIN;
    }

    /// The pause before the next attempt; doubles each time up to the maximum.
    fn next(&mut self) -> Duration {
        let wait = self.0;
        self.0 = (self.0 * 2).min(BACKOFF_MAX);
        wait
    }
}

/// Resolves when the connection fails (an error event, or it is no longer
/// connected).
async fn broken(conn: &Connection) {
    use futures_util::StreamExt;
    let mut events = conn.events_listener();
    let mut check = tokio::time::interval(Duration::from_millis(500));
    loop {
        tokio::select! {
            ev = events.next() => match ev {
                Some(lapin::Event::Error(e)) => {
                    tracing::warn!(error = %e, "message bus connection failed");
                    return;
                }
                Some(_) => {}
                None => return,
            },
            _ = check.tick() => {
                if !conn.status().connected() {
                    tracing::warn!("message bus connection closed");
                    return;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_cycle_over_brokers() {
        let url = TransportUrl::parse("rabbit://u:p@a:1,b:2/v").unwrap();
        let first = amqp_uri(&url, 0);
        assert_eq!(first.authority.host, "a");
        assert_eq!(first.authority.port, 1);
        assert_eq!(first.vhost, "v");
        let second = amqp_uri(&url, 1);
        assert_eq!(second.authority.host, "b");
        assert_eq!(second.authority.userinfo.username, "u");
        assert_eq!(amqp_uri(&url, 2).authority.host, "a");
        assert_eq!(
            amqp_uri(&TransportUrl::parse("rabbit://h/").unwrap(), 0).vhost,
            "/"
        );
    }

    #[test]
    fn backoff_doubles_up_to_a_maximum() {
        let mut b = Backoff::new();
        let waits: Vec<Duration> = (0..8).map(|_| b.next()).collect();
        assert_eq!(waits[0], BACKOFF_MIN);
        assert_eq!(waits[1], BACKOFF_MIN * 2);
        assert_eq!(*waits.last().unwrap(), BACKOFF_MAX);
        b.reset();
        assert_eq!(b.next(), BACKOFF_MIN);
    }

    #[test]
    fn replies_round_trip() {
        for r in [
            Reply::Ok(serde_json::json!({"a": 1})),
            Reply::Err(Error::NodeLocked {
                node: "n".into(),
                host: "h".into(),
            }),
            Reply::Stopping,
        ] {
            let wire = serde_json::to_vec(&r).unwrap();
            let back: Reply = serde_json::from_slice(&wire).unwrap();
            assert_eq!(format!("{r:?}"), format!("{back:?}"));
        }
    }
}
