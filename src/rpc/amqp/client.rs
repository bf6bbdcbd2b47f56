//! The API side of the AMQP transport: calls over RabbitMQ's direct reply-to.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use async_trait::async_trait;
use futures_util::StreamExt;
use lapin::options::{BasicConsumeOptions, BasicPublishOptions, ConfirmSelectOptions};
use lapin::types::FieldTable;
use lapin::{BasicProperties, Channel, Confirmation, Connection, Consumer};
use sea_orm::DatabaseConnection;
use serde_json::Value;
use tokio::sync::{oneshot, watch};

use super::{Backoff, REPLY_TO, Reply, broken, connect, queue_name};
use crate::config::TransportUrl;
use crate::db::nodes;
use crate::error::{Error, Result};
use crate::hash_ring::RingCache;
use crate::rpc::{Request, Transport};

/// The answer while there is no connection to the broker.
const BUS_DOWN: &str = "The message bus is not reachable, so no conductor can be \
                        asked; please retry later.";

/// How many conductors a request is offered to when they answer "stopping".
const REROUTES: usize = 4;

/// Longest wait for the broker to confirm a publish.
const PUBLISH_TIMEOUT: Duration = Duration::from_secs(5);

/// Calls waiting for an answer, by correlation id.
type Pending = Mutex<HashMap<String, oneshot::Sender<Reply>>>;

/// One connection's worth of state: the channel requests go out on (and replies come
/// in on) and the calls waiting for an answer.
struct Session {
    channel: Channel,
    pending: Pending,
}

struct Inner {
    url: TransportUrl,
    name: String,
    db: DatabaseConnection,
    ring: Arc<RingCache>,
    timeout: Duration,
    session: RwLock<Option<Arc<Session>>>,
    connected: watch::Sender<bool>,
    stop: watch::Sender<bool>,
}

/// Sends requests to the conductors through RabbitMQ; reconnects by itself.
#[derive(Clone)]
pub struct AmqpClient {
    inner: Arc<Inner>,
}

impl AmqpClient {
    /// Starts connecting to `url` in the background. `name` shows in the broker's
    /// connection list; `timeout` is how long a call waits for its answer.
    pub fn start(
        url: TransportUrl,
        name: &str,
        db: DatabaseConnection,
        ring: Arc<RingCache>,
        timeout: Duration,
    ) -> AmqpClient {
        let inner = Arc::new(Inner {
            url,
            name: name.to_owned(),
            db,
            ring,
            timeout,
            session: RwLock::new(None),
            connected: watch::channel(false).0,
            stop: watch::channel(false).0,
        });
        tokio::spawn(supervise(inner.clone()));
        AmqpClient { inner }
    }

    /// Waits until connected, at most `limit`; `true` when connected.
    pub async fn wait_connected(&self, limit: Duration) -> bool {
        let mut rx = self.inner.connected.subscribe();
        tokio::time::timeout(limit, rx.wait_for(|c| *c))
            .await
            .is_ok_and(|r| r.is_ok())
    }

    /// Is there a connection to the broker now?
    pub fn is_connected(&self) -> bool {
        self.session().is_some()
    }

    /// Closes the connection and stops reconnecting.
    pub async fn close(&self) {
        self.inner.stop.send_replace(true);
        let session = self.inner.session.write().ok().and_then(|mut s| s.take());
        if let Some(s) = session {
            let closing = s.channel.close(200, "closing".into());
            let _ = tokio::time::timeout(Duration::from_secs(2), closing).await;
        }
    }

    fn session(&self) -> Option<Arc<Session>> {
        self.inner.session.read().ok().and_then(|s| s.clone())
    }

    /// Sends `req` to the conductor `host` and waits for its reply.
    pub async fn call_host(&self, host: &str, req: &Request) -> Result<Reply> {
        let session = self
            .session()
            .ok_or_else(|| Error::Unavailable(BUS_DOWN.into()))?;
        let corr = uuid::Uuid::new_v4().simple().to_string();
        let (tx, rx) = oneshot::channel();
        if let Ok(mut p) = session.pending.lock() {
            p.insert(corr.clone(), tx);
        }
        // Forgets the call however this function ends.
        let _forget = Forget {
            session: session.clone(),
            corr: corr.clone(),
        };
        let body = serde_json::to_vec(req).map_err(|e| Error::Internal(e.to_string()))?;
        let ttl_ms = self.inner.timeout.as_millis().max(1);
        let props = BasicProperties::default()
            .with_content_type("application/json".into())
            .with_correlation_id(corr.as_str().into())
            .with_reply_to(REPLY_TO.into())
            // Persistent: kept across a broker restart until its expiration.
            .with_delivery_mode(2)
            .with_expiration(ttl_ms.to_string().as_str().into())
            .with_timestamp(chrono::Utc::now().timestamp().max(0) as u64);
        let queue = queue_name(host);
        let publish = async {
            session
                .channel
                .basic_publish(
                    "".into(),
                    queue.as_str().into(),
                    BasicPublishOptions {
                        mandatory: true,
                        ..Default::default()
                    },
                    &body,
                    props,
                )
                .await?
                .await
        };
        let limit = PUBLISH_TIMEOUT.min(self.inner.timeout);
        match tokio::time::timeout(limit, publish).await {
            Err(_) => {
                return Err(Error::Unavailable(format!(
                    "The message bus did not confirm the request to conductor {host} within \
                     {} s; please retry.",
                    limit.as_secs()
                )));
            }
            Ok(Err(e)) => {
                tracing::warn!(host, error = %e, "publish failed");
                return Err(Error::Unavailable(format!(
                    "The request could not be sent to conductor {host} through the message \
                     bus; please retry."
                )));
            }
            Ok(Ok(Confirmation::Nack(_))) => {
                return Err(Error::Unavailable(format!(
                    "The message bus refused the request to conductor {host}; please retry."
                )));
            }
            Ok(Ok(Confirmation::Ack(Some(_returned)))) => {
                // No queue for this conductor: it is gone.
                tracing::info!(host, "no queue for conductor");
                return Ok(Reply::Stopping);
            }
            Ok(Ok(_)) => {}
        }
        match tokio::time::timeout(self.inner.timeout, rx).await {
            Ok(Ok(reply)) => Ok(reply),
            Ok(Err(_)) => Err(Error::Unavailable(format!(
                "The connection to the message bus was lost while waiting for conductor \
                 {host}; the request may or may not have been carried out. Check the node \
                 before retrying."
            ))),
            Err(_) => Err(Error::Unavailable(format!(
                "Conductor {host} did not answer within {} s; the request was dropped.",
                self.inner.timeout.as_secs()
            ))),
        }
    }
}

/// Removes a call from the pending ones when dropped.
struct Forget {
    session: Arc<Session>,
    corr: String,
}

impl Drop for Forget {
    fn drop(&mut self) {
        if let Ok(mut p) = self.session.pending.lock() {
            p.remove(&self.corr);
        }
    }
}

#[async_trait]
impl Transport for AmqpClient {
    async fn call(&self, req: Request) -> Result<Value> {
        // Fail fast, before any database work, while the broker is away.
        if !self.is_connected() {
            return Err(Error::Unavailable(BUS_DOWN.into()));
        }
        let node = nodes::get(&self.inner.db, req.node()).await?;
        let mut host = self.inner.ring.owner_of(&node).await?;
        for attempt in 0..REROUTES {
            match self.call_host(&host, &req).await? {
                Reply::Ok(v) => return Ok(v),
                Reply::Err(e) => return Err(e),
                Reply::Stopping => {
                    // The conductor is going offline: ask the ring again, from the
                    // database (it may take a moment to show the conductor offline).
                    if attempt > 0 {
                        tokio::time::sleep(Duration::from_millis(200)).await;
                    }
                    self.inner.ring.reset();
                    let next = self.inner.ring.owner_of(&node).await?;
                    tracing::info!(node = %node.uuid, from = %host, to = %next, "conductor not taking requests; re-routing");
                    host = next;
                }
            }
        }
        Err(Error::Unavailable(format!(
            "Conductor {host} is not taking requests (it is stopping or gone); please retry."
        )))
    }
}

/// Opens the channel of a session: consumes direct replies, confirms publishes.
async fn open(conn: &Connection) -> lapin::Result<(Session, Consumer)> {
    let channel = conn.create_channel().await?;
    // Direct reply-to: the channel must consume from the pseudo-queue, without acks,
    // before it publishes requests naming it.
    let consumer = channel
        .basic_consume(
            REPLY_TO.into(),
            "".into(),
            BasicConsumeOptions {
                no_ack: true,
                ..Default::default()
            },
            FieldTable::default(),
        )
        .await?;
    channel
        .confirm_select(ConfirmSelectOptions::default())
        .await?;
    Ok((
        Session {
            channel,
            pending: Mutex::new(HashMap::new()),
        },
        consumer,
    ))
}

/// Hands each reply to the call waiting for it.
async fn dispatch(mut consumer: Consumer, session: Arc<Session>) {
    while let Some(delivery) = consumer.next().await {
        let delivery = match delivery {
            Ok(d) => d,
            Err(e) => {
                tracing::warn!(error = %e, "reply consumer failed");
                return;
            }
        };
        let Some(corr) = delivery.properties.correlation_id().as_ref() else {
            continue;
        };
        let waiter = session
            .pending
            .lock()
            .ok()
            .and_then(|mut p| p.remove(corr.as_str()));
        let Some(waiter) = waiter else {
            // The caller gave up already.
            continue;
        };
        let reply = serde_json::from_slice::<Reply>(&delivery.data).unwrap_or_else(|e| {
            Reply::Err(Error::Internal(format!(
                "Malformed answer from the conductor: {e}"
            )))
        });
        let _ = waiter.send(reply);
    }
}

/// Keeps a session up: connects, serves until the connection breaks, reconnects with
/// a backoff over the brokers.
async fn supervise(inner: Arc<Inner>) {
    let mut next = 0;
    let mut backoff = Backoff::new();
    let mut stop = inner.stop.subscribe();
    while !*stop.borrow() {
        let conn = tokio::select! {
            c = connect(&inner.url, &mut next, &inner.name) => c,
            _ = stop.wait_for(|s| *s) => break,
        };
        if let Some(conn) = conn {
            match open(&conn).await {
                Ok((session, consumer)) => {
                    backoff.reset();
                    let session = Arc::new(session);
                    if let Ok(mut s) = inner.session.write() {
                        *s = Some(session.clone());
                    }
                    inner.connected.send_replace(true);
                    let replies = dispatch(consumer, session.clone());
                    tokio::select! {
                        _ = broken(&conn) => {}
                        _ = replies => {}
                        _ = stop.wait_for(|s| *s) => {}
                    }
                    if let Ok(mut s) = inner.session.write() {
                        *s = None;
                    }
                    inner.connected.send_replace(false);
                    // Calls still waiting learn that their answer cannot come.
                    if let Ok(mut p) = session.pending.lock() {
                        p.clear();
                    }
                    let closing = conn.close(200, "closing".into());
                    let _ = tokio::time::timeout(Duration::from_secs(2), closing).await;
                    if *stop.borrow() {
                        break;
                    }
                    tracing::warn!("message bus connection lost; reconnecting");
                }
                Err(e) => {
                    tracing::warn!(error = %e, "cannot open a channel on the message bus");
                    let closing = conn.close(200, "closing".into());
                    let _ = tokio::time::timeout(Duration::from_secs(2), closing).await;
                }
            }
        }
        let wait = backoff.next();
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = stop.wait_for(|s| *s) => break,
        }
    }
}
