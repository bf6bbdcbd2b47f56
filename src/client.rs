//! Client-side operator tools of the `m2` command, talking to an m2 API over HTTP:
//! `m2 image-upload` creates an image and streams a local file into it with a progress
//! line on standard error.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use futures_util::StreamExt;
use serde_json::{Value, json};
use tokio::io::AsyncReadExt;

/// What `m2 image-upload` was asked.
pub struct Upload<'a> {
    pub endpoint: &'a str,
    pub token: Option<&'a str>,
    pub file: &'a Path,
    pub name: Option<&'a str>,
    pub visibility: Option<&'a str>,
    pub disk_format: Option<&'a str>,
}

fn request(
    client: &reqwest::Client,
    method: reqwest::Method,
    url: &str,
    token: Option<&str>,
) -> reqwest::RequestBuilder {
    let rb = client.request(method, url);
    match token {
        Some(t) => rb.header("X-Auth-Token", t),
        None => rb,
    }
}

/// The Ironic-style error text of a failed answer.
async fn failure(r: reqwest::Response) -> String {
    let status = r.status();
    let text = r.text().await.unwrap_or_default();
    let message = serde_json::from_str::<Value>(&text)
        .ok()
        .and_then(|v| v["error_message"].as_str().map(str::to_owned))
        .and_then(|inner| serde_json::from_str::<Value>(&inner).ok())
        .and_then(|inner| {
            inner["faultstring"]
                .as_str()
                .or(inner["description"].as_str())
                .map(str::to_owned)
        })
        .unwrap_or(text);
    format!("HTTP {status}: {message}")
}

/// Creates the image, uploads the file and prints the stored image as JSON.
pub async fn image_upload(u: Upload<'_>) -> anyhow::Result<()> {
    let endpoint = u.endpoint.trim_end_matches('/');
    let size = tokio::fs::metadata(u.file)
        .await
        .with_context(|| format!("cannot read {}", u.file.display()))?
        .len();
    let client = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .build()?;
    let mut body = serde_json::Map::new();
    if let Some(n) = u.name {
        body.insert("name".into(), json!(n));
    }
    if let Some(v) = u.visibility {
        body.insert("visibility".into(), json!(v));
    }
    if let Some(f) = u.disk_format {
        body.insert("disk_format".into(), json!(f));
    }
    let r = request(
        &client,
        reqwest::Method::POST,
        &format!("{endpoint}/v1/images"),
        u.token,
    )
    .json(&Value::Object(body))
    .send()
    .await
    .with_context(|| format!("cannot reach {endpoint}"))?;
    if !r.status().is_success() {
        bail!("creating the image failed: {}", failure(r).await);
    }
    let created: Value = r.json().await?;
    let uuid = created["uuid"]
        .as_str()
        .context("the API answered no image UUID")?
        .to_owned();
    eprintln!(
        "image {uuid}: uploading {} ({size} bytes)",
        u.file.display()
    );

    let file = tokio::fs::File::open(u.file).await?;
    let started = Instant::now();
    let progress = futures_util::stream::unfold(
        (file, 0u64, Instant::now()),
        move |(mut f, sent, mut last)| async move {
            let mut buf = vec![0u8; 1 << 20];
            match f.read(&mut buf).await {
                Ok(0) => {
                    eprintln!();
                    None
                }
                Ok(n) => {
                    buf.truncate(n);
                    let sent = sent + n as u64;
                    if last.elapsed() >= Duration::from_millis(250) || sent == size {
                        last = Instant::now();
                        let pct = (sent * 100).checked_div(size).unwrap_or(100);
                        let secs = started.elapsed().as_secs_f64().max(0.001);
                        eprint!(
                            "\r{pct:3}%  {:.1} / {:.1} MiB  {:.1} MiB/s ",
                            sent as f64 / 1048576.0,
                            size as f64 / 1048576.0,
                            sent as f64 / 1048576.0 / secs
                        );
                    }
                    Some((
                        Ok::<_, std::io::Error>(bytes::Bytes::from(buf)),
                        (f, sent, last),
                    ))
                }
                Err(e) => Some((Err(e), (f, sent, last))),
            }
        },
    );
    let r = request(
        &client,
        reqwest::Method::PUT,
        &format!("{endpoint}/v1/images/{uuid}/file"),
        u.token,
    )
    .header("Content-Type", "application/octet-stream")
    .header("Content-Length", size)
    .body(reqwest::Body::wrap_stream(progress.boxed()))
    .send()
    .await
    .context("the upload broke off")?;
    if !r.status().is_success() {
        bail!("uploading image {uuid} failed: {}", failure(r).await);
    }
    let stored: Value = r.json().await?;
    eprintln!(
        "image {uuid}: {} in {:.1} s",
        stored["status"].as_str().unwrap_or("?"),
        started.elapsed().as_secs_f64()
    );
    println!("{}", serde_json::to_string_pretty(&stored)?);
    Ok(())
}
