//! Building and running the services: `Application::build` binds the API listener and
//! returns the real port, so tests can start m2 on port 0.

use std::net::TcpListener;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::middleware::{NormalizePath, from_fn};
use actix_web::{App, HttpServer, web};
use sea_orm::DatabaseConnection;
use sea_orm_migration::MigratorTrait;

use crate::api::{self, AppState};
use crate::auth::Auth;
use crate::conductor::Conductor;
use crate::config::{Config, RpcTransport};
use crate::drivers::Registry;
use crate::drivers::m2::M2Services;
use crate::hash_ring::RingCache;
use crate::rpc::amqp::{AmqpClient, AmqpServer};
use crate::rpc::local::LocalTransport;
use crate::rpc::{Handler, Transport};

/// Connects to the configured database (`data_dir` holds the default SQLite file).
pub async fn database(config: &Config, data_dir: &Path) -> anyhow::Result<DatabaseConnection> {
    let url = config.database.url(data_dir)?;
    if url.starts_with("sqlite:") {
        std::fs::create_dir_all(data_dir)?;
    }
    Ok(crate::db::connect(&url, config.database.max_pool_size).await?)
}

/// Is the configured database SQLite?
pub fn is_sqlite(config: &Config, data_dir: &Path) -> anyhow::Result<bool> {
    Ok(config.database.url(data_dir)?.starts_with("sqlite:"))
}

/// Connects to the configured database, retrying with a backoff while it is out of
/// reach (a service started before its database). Configuration errors end at once.
pub async fn database_with_retry(
    config: &Config,
    data_dir: &Path,
) -> anyhow::Result<DatabaseConnection> {
    let mut wait = Duration::from_millis(500);
    loop {
        match database(config, data_dir).await {
            Ok(db) => return Ok(db),
            Err(e) => {
                let reachable = e
                    .downcast_ref::<sea_orm::DbErr>()
                    .is_none_or(|d| !crate::db::is_connection_error(d));
                if reachable {
                    return Err(e);
                }
                tracing::warn!(error = %e, retry_in = ?wait, "database not reachable; retrying");
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(Duration::from_secs(15));
            }
        }
    }
}

/// Fails unless every migration is applied: `m2 api` and `m2 conductor` leave
/// schema changes to `m2 dbsync`.
pub async fn check_schema(db: &DatabaseConnection) -> anyhow::Result<()> {
    let pending = crate::db::migration::Migrator::get_pending_migrations(db).await?;
    if !pending.is_empty() {
        anyhow::bail!(
            "the database schema is not up to date ({} migration(s) pending): run `m2 dbsync` first",
            pending.len()
        );
    }
    Ok(())
}

/// A running API server.
pub struct Application {
    port: u16,
    server: Server,
}

impl Application {
    /// Binds the API on `[api] host_ip`/`port` (port 0 picks a free one).
    pub fn build(
        config: Arc<Config>,
        db: DatabaseConnection,
        registry: Arc<Registry>,
        rpc: Arc<dyn Transport>,
        ring: Arc<RingCache>,
        services: Arc<M2Services>,
    ) -> anyhow::Result<Application> {
        let auth = Arc::new(Auth::from_config(&config)?);
        if auth.checks_tokens() {
            tracing::info!("API callers are authenticated by Keystone");
        } else {
            tracing::warn!("auth_strategy = noauth: every API caller is an administrator");
        }
        let listener = TcpListener::bind(config.api.bind_address())?;
        let port = listener.local_addr()?.port();
        let state = web::Data::new(AppState {
            db,
            rpc,
            ring,
            registry,
            images: services.images.clone(),
            volumes: services.volumes.clone(),
            public_endpoint: config.api.public_endpoint.clone(),
            auth,
            config: config.clone(),
        });
        let max_body = config.api.max_body_size;
        let server = HttpServer::new(move || {
            App::new()
                .app_data(state.clone())
                .app_data(web::PayloadConfig::new(max_body))
                .wrap(from_fn(api::middleware::authenticate))
                .wrap(from_fn(api::middleware::ironic_api))
                .wrap(from_fn(api::middleware::version_prefix))
                // Clients ask for `/v1/ports/?address=...` (python-ironicclient puts
                // every filtered list there) and follow the `/v1/chassis/` links of
                // the v1 document; Ironic serves both like the paths without the slash.
                .wrap(NormalizePath::trim())
                .configure(api::configure)
                .default_service(web::to(api::error::path_not_found))
        })
        .workers(config.api.workers())
        .listen(listener)?
        .run();
        Ok(Application { port, server })
    }

    /// The port the API listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Serves until the server stops.
    pub async fn run(self) -> std::io::Result<()> {
        self.server.await
    }
}

/// The hash rings as configured.
pub fn ring_cache(config: &Config, db: &DatabaseConnection) -> RingCache {
    RingCache::new(
        db.clone(),
        Duration::from_secs(config.default.hash_ring_reset_interval),
        config.conductor.heartbeat_timeout,
    )
}

/// A running conductor and, when it takes requests through the message bus, its
/// server.
pub struct ConductorService {
    pub conductor: Arc<Conductor>,
    pub server: Option<AmqpServer>,
}

impl ConductorService {
    /// Graceful stop: the server answers "stopping" (requests go to other
    /// conductors), the conductor finishes or hands back its work and goes offline,
    /// then the server stops consuming.
    pub async fn shutdown(&self) {
        if let Some(s) = &self.server {
            // Offline first, so that the API finds the new owners when it re-routes.
            let c = &self.conductor;
            if let Err(e) = crate::db::conductors::unregister(&c.db, &c.host).await {
                tracing::error!(error = %e, "could not mark the conductor offline");
            }
            s.drain();
        }
        self.conductor.shutdown().await;
        if let Some(s) = &self.server {
            s.stop().await;
        }
    }
}

/// Starts a conductor. With `rpc_transport = amqp` it consumes its queue on the
/// message bus and goes online once it does; otherwise it is online at once (its
/// requests come in process).
pub async fn conductor(
    config: Arc<Config>,
    db: DatabaseConnection,
    registry: Arc<Registry>,
    services: Arc<M2Services>,
) -> anyhow::Result<ConductorService> {
    let conductor = Arc::new(Conductor::new(db, registry, config.clone(), services));
    conductor.start().await?;
    crate::drivers::ipxe::write_tftp_script(&config)?;
    let server = match config.default.rpc_transport {
        RpcTransport::None => {
            conductor.serve().await?;
            None
        }
        RpcTransport::Amqp => {
            let url = config.default.transport()?;
            let handler: Arc<dyn Handler> = Arc::new(conductor.clone());
            let server = AmqpServer::start(url, &conductor.host, handler);
            let (s, c) = (server.clone(), conductor.clone());
            tokio::spawn(async move {
                while !s.wait_ready(Duration::from_secs(3600)).await {}
                if let Err(e) = c.serve().await {
                    tracing::error!(error = %e, "could not mark the conductor online");
                }
            });
            Some(server)
        }
    };
    Ok(ConductorService { conductor, server })
}

/// The API's transport to the conductors: through the message bus with
/// `rpc_transport = amqp`, else in process to `local` (which must then be given).
pub fn transport(
    config: &Config,
    db: &DatabaseConnection,
    ring: &Arc<RingCache>,
    local: Option<&Arc<Conductor>>,
) -> anyhow::Result<(Arc<dyn Transport>, Option<AmqpClient>)> {
    match (config.default.rpc_transport, local) {
        (RpcTransport::Amqp, _) => {
            let client = AmqpClient::start(
                config.default.transport()?,
                &format!("m2 api {}", config.default.host),
                db.clone(),
                ring.clone(),
                Duration::from_secs(config.default.rpc_response_timeout),
            );
            Ok((Arc::new(client.clone()), Some(client)))
        }
        (RpcTransport::None, Some(c)) => {
            Ok((Arc::new(LocalTransport::new(Arc::new(c.clone()))), None))
        }
        (RpcTransport::None, None) => anyhow::bail!(
            "m2 api sends requests to the conductors through the message bus: set \
             [DEFAULT] rpc_transport = amqp and transport_url"
        ),
    }
}

/// Starts API and conductor in one process with the in-process transport (or the
/// message bus, when `rpc_transport = amqp`).
pub async fn standalone(
    config: Arc<Config>,
    db: DatabaseConnection,
) -> anyhow::Result<(Application, ConductorService, Option<AmqpClient>)> {
    crate::db::migrate(&db).await?;
    let services = Arc::new(M2Services::new(&config, db.clone()));
    let registry = Arc::new(Registry::builtin(&config, services.clone()));
    let service = conductor(
        config.clone(),
        db.clone(),
        registry.clone(),
        services.clone(),
    )
    .await?;
    services.images.recover_interrupted().await?;
    let ring = Arc::new(ring_cache(&config, &db));
    let (rpc, client) = transport(&config, &db, &ring, Some(&service.conductor))?;
    let app = Application::build(config, db, registry, rpc, ring, services)?;
    Ok((app, service, client))
}

/// Starts the API alone (`m2 api`): requests to conductors go through the message
/// bus.
pub async fn api(
    config: Arc<Config>,
    db: DatabaseConnection,
) -> anyhow::Result<(Application, Option<AmqpClient>)> {
    let services = Arc::new(M2Services::new(&config, db.clone()));
    let registry = Arc::new(Registry::builtin(&config, services.clone()));
    services.images.recover_interrupted().await?;
    let ring = Arc::new(ring_cache(&config, &db));
    let (rpc, client) = transport(&config, &db, &ring, None)?;
    let app = Application::build(config, db, registry, rpc, ring, services)?;
    Ok((app, client))
}
