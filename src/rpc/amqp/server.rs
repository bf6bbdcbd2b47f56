//! The conductor side of the AMQP transport: consumes the conductor's queue and
//! answers each request on its `reply_to`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use futures_util::StreamExt;
use lapin::message::Delivery;
use lapin::options::{
    BasicAckOptions, BasicCancelOptions, BasicConsumeOptions, BasicPublishOptions, BasicQosOptions,
    ConfirmSelectOptions, QueueDeclareOptions,
};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{BasicProperties, Channel, Connection, Consumer};
use tokio::sync::{Semaphore, watch};

use super::{Backoff, Reply, broken, connect, queue_name};
use crate::config::TransportUrl;
use crate::error::Error;
use crate::rpc::{Handler, Request};

/// Requests handled at the same time, at most; further deliveries wait in the queue.
const MAX_IN_FLIGHT: u32 = 256;

/// Deliveries the broker sends ahead of their acknowledgement.
const PREFETCH: u16 = 64;

/// A conductor queue unused (no consumer) this long is deleted by the broker: the
/// conductor was removed for good.
const QUEUE_EXPIRES_MS: u32 = 24 * 3600 * 1000;

/// Longest wait for requests being handled when the server stops.
const STOP_WAIT: Duration = Duration::from_secs(30);

struct Inner {
    url: TransportUrl,
    host: String,
    handler: Arc<dyn Handler>,
    /// Answer "stopping" instead of handling requests.
    draining: AtomicBool,
    in_flight: Arc<Semaphore>,
    ready: watch::Sender<bool>,
    stop: watch::Sender<bool>,
}

/// Serves one conductor's queue; reconnects by itself.
#[derive(Clone)]
pub struct AmqpServer {
    inner: Arc<Inner>,
    task: Arc<tokio::sync::Mutex<Option<tokio::task::JoinHandle<()>>>>,
}

impl AmqpServer {
    /// Starts consuming `m2.conductor.<host>` in the background, handing each request
    /// to `handler`.
    pub fn start(url: TransportUrl, host: &str, handler: Arc<dyn Handler>) -> AmqpServer {
        let inner = Arc::new(Inner {
            url,
            host: host.to_owned(),
            handler,
            draining: AtomicBool::new(false),
            in_flight: Arc::new(Semaphore::new(MAX_IN_FLIGHT as usize)),
            ready: watch::channel(false).0,
            stop: watch::channel(false).0,
        });
        let task = tokio::spawn(supervise(inner.clone()));
        AmqpServer {
            inner,
            task: Arc::new(tokio::sync::Mutex::new(Some(task))),
        }
    }

    /// Waits until the queue is being consumed (the first time), at most `limit`.
    pub async fn wait_ready(&self, limit: Duration) -> bool {
        let mut rx = self.inner.ready.subscribe();
        tokio::time::timeout(limit, rx.wait_for(|r| *r))
            .await
            .is_ok_and(|r| r.is_ok())
    }

    /// From now on, answers every request with "stopping" (the API re-routes it).
    pub fn drain(&self) {
        self.inner.draining.store(true, Ordering::SeqCst);
    }

    /// Stops consuming, waits (bounded) for the requests being handled, and closes
    /// the connection.
    pub async fn stop(&self) {
        self.inner.stop.send_replace(true);
        if let Some(task) = self.task.lock().await.take() {
            let _ = task.await;
        }
    }
}

/// Opens the consuming channel (queue declared, prefetch set) and the reply channel
/// (with publisher confirms).
async fn open(conn: &Connection, host: &str) -> lapin::Result<(Channel, Consumer, Channel)> {
    let channel = conn.create_channel().await?;
    channel
        .basic_qos(PREFETCH, BasicQosOptions::default())
        .await?;
    let mut args = FieldTable::default();
    args.insert("x-expires".into(), AMQPValue::LongUInt(QUEUE_EXPIRES_MS));
    let queue = queue_name(host);
    channel
        .queue_declare(
            queue.as_str().into(),
            QueueDeclareOptions {
                durable: true,
                ..Default::default()
            },
            args,
        )
        .await?;
    let consumer = channel
        .basic_consume(
            queue.as_str().into(),
            format!("m2-conductor-{host}").as_str().into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await?;
    let replies = conn.create_channel().await?;
    replies
        .confirm_select(ConfirmSelectOptions::default())
        .await?;
    Ok((channel, consumer, replies))
}

async fn supervise(inner: Arc<Inner>) {
    let mut next = 0;
    let mut backoff = Backoff::new();
    let mut stop = inner.stop.subscribe();
    let name = format!("m2 conductor {}", inner.host);
    while !*stop.borrow() {
        let conn = tokio::select! {
            c = connect(&inner.url, &mut next, &name) => c,
            _ = stop.wait_for(|s| *s) => break,
        };
        if let Some(conn) = conn {
            match open(&conn, &inner.host).await {
                Ok((channel, mut consumer, replies)) => {
                    backoff.reset();
                    tracing::info!(queue = %queue_name(&inner.host), "consuming requests");
                    inner.ready.send_replace(true);
                    let replies = Arc::new(replies);
                    let lost = broken(&conn);
                    tokio::pin!(lost);
                    let stopped = loop {
                        let next = tokio::select! {
                            d = consumer.next() => d,
                            _ = &mut lost => break false,
                            _ = stop.wait_for(|s| *s) => break true,
                        };
                        match next {
                            Some(Ok(delivery)) => take(&inner, delivery, &replies).await,
                            Some(Err(e)) => {
                                tracing::warn!(error = %e, "request consumer failed");
                                break false;
                            }
                            None => break false,
                        }
                    };
                    if stopped {
                        let tag = format!("m2-conductor-{}", inner.host);
                        let _ = channel
                            .basic_cancel(tag.as_str().into(), BasicCancelOptions::default())
                            .await;
                        // Let the requests being handled answer.
                        let all = inner.in_flight.clone().acquire_many_owned(MAX_IN_FLIGHT);
                        let _ = tokio::time::timeout(STOP_WAIT, all).await;
                        let _ = tokio::time::timeout(
                            Duration::from_secs(2),
                            conn.close(200, "conductor stopping".into()),
                        )
                        .await;
                        break;
                    }
                    let _ = tokio::time::timeout(
                        Duration::from_secs(2),
                        conn.close(200, "reconnecting".into()),
                    )
                    .await;
                    tracing::warn!("message bus connection lost; reconnecting");
                }
                Err(e) => {
                    tracing::warn!(error = %e, "cannot consume from the message bus");
                    let _ = tokio::time::timeout(
                        Duration::from_secs(2),
                        conn.close(200, "closing".into()),
                    )
                    .await;
                }
            }
        }
        let wait = backoff.next();
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = stop.wait_for(|s| *s) => break,
        }
    }
    tracing::info!("stopped consuming requests");
}

/// Takes one delivery: acknowledges it at once (a request is handled at most once)
/// and handles it in a task of its own.
async fn take(inner: &Arc<Inner>, delivery: Delivery, replies: &Arc<Channel>) {
    let Ok(permit) = inner.in_flight.clone().acquire_owned().await else {
        return;
    };
    if let Err(e) = delivery.acker.ack(BasicAckOptions::default()).await {
        tracing::warn!(error = %e, "could not acknowledge a request");
    }
    let inner = inner.clone();
    let replies = replies.clone();
    tokio::spawn(async move {
        let reply_to = delivery.properties.reply_to().clone();
        let corr = delivery.properties.correlation_id().clone();
        let reply = match serde_json::from_slice::<Request>(&delivery.data) {
            Err(e) => Reply::Err(Error::invalid(format!("Malformed request: {e}"))),
            Ok(_) if inner.draining.load(Ordering::SeqCst) => Reply::Stopping,
            Ok(req) => match inner.handler.handle(req).await {
                Ok(v) => Reply::Ok(v),
                Err(e) => Reply::Err(e),
            },
        };
        if let Some(reply_to) = reply_to {
            let body = serde_json::to_vec(&reply).unwrap_or_default();
            let mut props = BasicProperties::default().with_content_type("application/json".into());
            if let Some(corr) = corr {
                props = props.with_correlation_id(corr);
            }
            let sent = async {
                replies
                    .basic_publish(
                        "".into(),
                        reply_to,
                        BasicPublishOptions::default(),
                        &body,
                        props,
                    )
                    .await?
                    .await
            };
            match tokio::time::timeout(Duration::from_secs(5), sent).await {
                Ok(Ok(c)) if !c.is_nack() => {}
                Ok(Ok(_)) => tracing::warn!("the message bus refused a reply"),
                Ok(Err(e)) => tracing::warn!(error = %e, "could not send a reply"),
                Err(_) => tracing::warn!("the message bus did not confirm a reply"),
            }
        }
        drop(permit);
    });
}
