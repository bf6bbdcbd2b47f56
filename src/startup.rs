//! Building and running the services: `Application::build` binds the API listener and
//! returns the real port, so tests can start m2 on port 0.

use std::net::TcpListener;
use std::path::Path;
use std::sync::Arc;

use actix_web::dev::Server;
use actix_web::middleware::{NormalizePath, from_fn};
use actix_web::{App, HttpServer, web};
use sea_orm::DatabaseConnection;

use crate::api::{self, AppState};
use crate::auth::Auth;
use crate::conductor::Conductor;
use crate::config::Config;
use crate::drivers::Registry;
use crate::drivers::m2::M2Services;
use crate::images::ImageCatalog;
use crate::rpc::Transport;
use crate::rpc::local::LocalTransport;

/// Connects to the configured database (`data_dir` holds the default SQLite file).
pub async fn database(config: &Config, data_dir: &Path) -> anyhow::Result<DatabaseConnection> {
    let url = config.database.url(data_dir)?;
    if url.starts_with("sqlite:") {
        std::fs::create_dir_all(data_dir)?;
    }
    Ok(crate::db::connect(&url, config.database.max_pool_size).await?)
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
        images: Arc<ImageCatalog>,
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
            registry,
            images,
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

/// Starts API and conductor in one process with the in-process transport.
pub async fn standalone(
    config: Arc<Config>,
    db: DatabaseConnection,
) -> anyhow::Result<(Application, Arc<Conductor>)> {
    crate::db::migrate(&db).await?;
    let services = Arc::new(M2Services::new(&config, db.clone()));
    let registry = Arc::new(Registry::builtin(&config, services.clone()));
    let conductor = Arc::new(Conductor::new(
        db.clone(),
        registry.clone(),
        config.clone(),
        services.clone(),
    ));
    conductor.start().await?;
    crate::drivers::ipxe::write_tftp_script(&config)?;
    services.images.recover_interrupted().await?;
    let rpc: Arc<dyn Transport> = Arc::new(LocalTransport::new(Arc::new(conductor.clone())));
    let app = Application::build(config, db, registry, rpc, services.images.clone())?;
    Ok((app, conductor))
}
