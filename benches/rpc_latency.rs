//! RPC call latency: the same request answered by the same trivial handler, called
//! in process (`m2 standalone`'s transport) and through RabbitMQ (`m2 api` to
//! `m2 conductor`: publish with confirm, direct reply-to). Only the transport is
//! measured: the handler answers at once, without the database.
//!
//!   cargo bench --bench rpc_latency -- --url rabbit://guest:guest@127.0.0.1:5672/ \
//!       [--calls 2000] [--concurrency 1]
//!
//! Driven by benches/rpc-bench.sh, which starts a private RabbitMQ first.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use m2::config::TransportUrl;
use m2::error::Result;
use m2::hash_ring::RingCache;
use m2::rpc::amqp::{AmqpClient, AmqpServer, Reply};
use m2::rpc::local::LocalTransport;
use m2::rpc::{Handler, Request, Transport};
use serde_json::Value;

/// Answers every request with `null`.
struct Echo;

#[async_trait]
impl Handler for Echo {
    async fn handle(&self, _req: Request) -> Result<Value> {
        Ok(Value::Null)
    }
}

fn request() -> Request {
    Request::GetBootDevice {
        node: "6f1b0a3c-2b4e-4a7e-9c1d-5e8f7a6b4c3d".into(),
    }
}

/// p50, p99 and mean of `samples`, in microseconds.
fn summary(mut samples: Vec<Duration>) -> (f64, f64, f64) {
    samples.sort();
    let at = |q: f64| {
        let i = ((samples.len() as f64 - 1.0) * q).round() as usize;
        samples[i].as_secs_f64() * 1e6
    };
    let mean = samples.iter().map(Duration::as_secs_f64).sum::<f64>() / samples.len() as f64;
    (at(0.50), at(0.99), mean * 1e6)
}

/// Runs `calls` calls of `call` from `concurrency` tasks; the latency of each.
async fn measure<F, Fut>(calls: usize, concurrency: usize, call: F) -> Vec<Duration>
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let call = Arc::new(call);
    let per_task = calls.div_ceil(concurrency);
    let tasks: Vec<_> = (0..concurrency)
        .map(|_| {
            let call = call.clone();
            tokio::spawn(async move {
                let mut out = Vec::with_capacity(per_task);
                for _ in 0..per_task {
                    let t = Instant::now();
                    call().await;
                    out.push(t.elapsed());
                }
                out
            })
        })
        .collect();
    let mut all = Vec::with_capacity(calls);
    for t in tasks {
        all.extend(t.await.expect("bench task"));
    }
    all
}

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let Some(url) = arg(&args, "--url") else {
        eprintln!(
            "usage: rpc_latency --url rabbit://user:pass@host:port/ [--calls N] [--concurrency N]"
        );
        std::process::exit(2);
    };
    let calls: usize = arg(&args, "--calls").map_or(2000, |c| c.parse().expect("--calls"));
    let concurrency: usize =
        arg(&args, "--concurrency").map_or(1, |c| c.parse().expect("--concurrency"));
    let url = TransportUrl::parse(&url).expect("--url");

    // In process.
    let local = Arc::new(LocalTransport::new(Arc::new(Echo)));
    let l = local.clone();
    measure(calls / 10, 1, move || {
        let l = l.clone();
        async move {
            l.call(request()).await.expect("local call");
        }
    })
    .await;
    let l = local.clone();
    let in_process = summary(
        measure(calls, concurrency, move || {
            let l = l.clone();
            async move {
                l.call(request()).await.expect("local call");
            }
        })
        .await,
    );

    // Through RabbitMQ.
    let host = format!("bench-{}", std::process::id());
    let server = AmqpServer::start(url.clone(), &host, Arc::new(Echo));
    assert!(
        server.wait_ready(Duration::from_secs(30)).await,
        "no consumer on the broker"
    );
    let db = m2::db::connect("sqlite::memory:", Some(1))
        .await
        .expect("sqlite");
    let ring = Arc::new(RingCache::new(db.clone(), Duration::from_secs(15), 60));
    let client = AmqpClient::start(url, "rpc bench", db, ring, Duration::from_secs(10));
    assert!(
        client.wait_connected(Duration::from_secs(30)).await,
        "no connection to the broker"
    );
    let call_amqp = {
        let (client, host) = (client.clone(), host.clone());
        move || {
            let (client, host) = (client.clone(), host.clone());
            async move {
                match client.call_host(&host, &request()).await {
                    Ok(Reply::Ok(_)) => {}
                    other => panic!("call through the broker: {other:?}"),
                }
            }
        }
    };
    measure(calls / 10, 1, call_amqp.clone()).await;
    let started = Instant::now();
    let samples = measure(calls, concurrency, call_amqp).await;
    let elapsed = started.elapsed();
    let amqp = summary(samples);

    println!("RPC call latency, {calls} calls, concurrency {concurrency} (microseconds):");
    println!(
        "{:<14} {:>10} {:>10} {:>10}",
        "transport", "p50", "p99", "mean"
    );
    for (name, (p50, p99, mean)) in [("in-process", in_process), ("rabbitmq", amqp)] {
        println!("{name:<14} {p50:>10.1} {p99:>10.1} {mean:>10.1}");
    }
    println!(
        "rabbitmq throughput: {:.0} calls/s",
        calls as f64 / elapsed.as_secs_f64()
    );
    client.close().await;
    server.stop().await;
}
