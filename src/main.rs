//! The `m2` command.

use std::path::PathBuf;
use std::sync::Arc;

use clap::{Parser, Subcommand};

use m2::config::{self, Config};
use m2::startup;

/// Default configuration file.
const DEFAULT_CONFIG: &str = "/etc/m2/m2.conf";
/// Default data directory of `m2 standalone` (SQLite database).
const DEFAULT_DATA_DIR: &str = "/var/lib/m2";

#[derive(Parser)]
#[command(
    name = "m2",
    version,
    about = "Bare-metal provisioning from Ceph RBD linked clones, with the OpenStack Bare Metal API"
)]
struct Cli {
    /// Configuration file (oslo-style INI). Defaults to /etc/m2/m2.conf when it exists.
    #[arg(long, global = true, env = "M2_CONFIG_FILE")]
    config_file: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// API and conductor in one process, SQLite in the data directory (the embedded default).
    Standalone {
        /// Where the SQLite database lives unless [database] connection is set.
        #[arg(long, env = "M2_DATA_DIR", default_value = DEFAULT_DATA_DIR)]
        data_dir: PathBuf,
    },
    /// The API alone. Requests to conductors go through the message bus
    /// (rpc_transport = amqp); run any number of them behind a load balancer.
    Api {
        #[arg(long, env = "M2_DATA_DIR", default_value = DEFAULT_DATA_DIR)]
        data_dir: PathBuf,
        /// Accept an SQLite database (one host, light load only: several processes on
        /// one SQLite file serialise every write).
        #[arg(long)]
        allow_sqlite: bool,
    },
    /// A conductor alone: consumes its queue on the message bus and runs the
    /// operations of the nodes the hash ring maps to it. Run one or more.
    Conductor {
        #[arg(long, env = "M2_DATA_DIR", default_value = DEFAULT_DATA_DIR)]
        data_dir: PathBuf,
        /// Accept an SQLite database (one host, light load only).
        #[arg(long)]
        allow_sqlite: bool,
    },
    /// Applies the database migrations to the configured database.
    Dbsync {
        #[arg(long, env = "M2_DATA_DIR", default_value = DEFAULT_DATA_DIR)]
        data_dir: PathBuf,
    },
    /// Prints a commented sample configuration file.
    SampleConfig,
    /// Prints the OpenAPI document of the API (kept in api-ref/openapi.json).
    Openapi,
    /// Creates an image on an m2 API and uploads a raw or qcow2 file into it, showing
    /// progress; prints the stored image.
    ImageUpload {
        /// The m2 API, e.g. http://127.0.0.1:6385.
        #[arg(long, env = "OS_ENDPOINT")]
        endpoint: String,
        /// A Keystone token, when the API requires one.
        #[arg(long, env = "OS_TOKEN")]
        token: Option<String>,
        /// Name of the image.
        #[arg(long)]
        name: Option<String>,
        /// public, private or shared.
        #[arg(long)]
        visibility: Option<String>,
        /// raw or qcow2 (checked against the data; detected when omitted).
        #[arg(long)]
        disk_format: Option<String>,
        /// The file to upload.
        file: PathBuf,
    },
    /// Prints the default policy rules as a policy.yaml ([oslo_policy] policy_file).
    PolicyDefaults,
    /// Prints the path of every route the API registers, one a line.
    #[command(hide = true)]
    Routes,
}

fn load_config(path: Option<&PathBuf>) -> anyhow::Result<Config> {
    match path {
        Some(p) => Ok(Config::load(p)?),
        None => {
            let default = PathBuf::from(DEFAULT_CONFIG);
            if default.exists() {
                Ok(Config::load(&default)?)
            } else {
                Ok(Config::default())
            }
        }
    }
}

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's `mi_option_arena_eager_commit` (see mimalloc.h, v2).
const MI_OPTION_ARENA_EAGER_COMMIT: libmimalloc_sys::mi_option_t = 4;

/// Lets mimalloc decommit the pages it purges: without it, memory freed after a burst
/// of large responses (node lists of a thousand nodes) stays resident. It must be set
/// before mimalloc reserves its first arena, at the first allocation, so it runs as
/// an ELF constructor, before Rust's runtime starts (and allocates nothing). The
/// `MIMALLOC_ARENA_EAGER_COMMIT` environment variable still wins.
extern "C" fn tune_allocator() {
    // SAFETY: getenv with a NUL-terminated name, before any thread exists; then one
    // of mimalloc's integer options is set.
    unsafe {
        if libc::getenv(c"MIMALLOC_ARENA_EAGER_COMMIT".as_ptr()).is_null() {
            libmimalloc_sys::mi_option_set(MI_OPTION_ARENA_EAGER_COMMIT, 0);
        }
    }
}

#[used]
#[unsafe(link_section = ".init_array")]
static TUNE_ALLOCATOR: extern "C" fn() = tune_allocator;

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::SampleConfig => {
            print!("{}", config::sample_config());
            return std::process::ExitCode::SUCCESS;
        }
        Command::PolicyDefaults => {
            print!("{}", m2::auth::Policy::defaults("service").to_yaml());
            return std::process::ExitCode::SUCCESS;
        }
        Command::Routes => {
            for path in m2::api::registered_paths() {
                println!("{path}");
            }
            return std::process::ExitCode::SUCCESS;
        }
        Command::Openapi => {
            return match m2::api::openapi::document().to_pretty_json() {
                Ok(doc) => {
                    println!("{doc}");
                    std::process::ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("m2: cannot render the OpenAPI document: {e}");
                    std::process::ExitCode::FAILURE
                }
            };
        }
        Command::ImageUpload {
            endpoint,
            token,
            name,
            visibility,
            disk_format,
            file,
        } => {
            let upload = m2::client::Upload {
                endpoint: &endpoint,
                token: token.as_deref(),
                file: &file,
                name: name.as_deref(),
                visibility: visibility.as_deref(),
                disk_format: disk_format.as_deref(),
            };
            let result = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(anyhow::Error::from)
                .and_then(|rt| rt.block_on(m2::client::image_upload(upload)));
            return match result {
                Ok(()) => std::process::ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("m2: {e:#}");
                    std::process::ExitCode::FAILURE
                }
            };
        }
        _ => {}
    }
    let config = match load_config(cli.config_file.as_ref()) {
        Ok(c) => Arc::new(c),
        Err(e) => {
            eprintln!("m2: configuration error: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    m2::telemetry::init(config.default.debug);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("m2: cannot start the runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli.command, config)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %format!("{e:#}"), "m2 stopped");
            eprintln!("m2: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Refuses SQLite for the services that run as several processes, unless allowed.
fn check_sqlite(config: &Config, data_dir: &std::path::Path, allow: bool) -> anyhow::Result<()> {
    if !allow && startup::is_sqlite(config, data_dir)? {
        anyhow::bail!(
            "m2 api and m2 conductor run as separate processes sharing one database; \
             SQLite serialises their writes and cannot be shared between hosts. Set \
             [database] connection to PostgreSQL or MariaDB (then run m2 dbsync), or pass \
             --allow-sqlite for a single-host trial"
        );
    }
    Ok(())
}

/// Resolves on SIGTERM or SIGINT.
async fn terminated() {
    use tokio::signal::unix::{SignalKind, signal};
    match (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) {
        (Ok(mut term), Ok(mut int)) => {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
        }
        _ => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

async fn run(command: Command, config: Arc<Config>) -> anyhow::Result<()> {
    match command {
        Command::Standalone { data_dir } => {
            let db = startup::database(&config, &data_dir).await?;
            let (app, service, client) = startup::standalone(config.clone(), db).await?;
            tracing::info!(port = app.port(), host = %config.default.host, "m2 standalone serving the Bare Metal API");
            // Tests and scripts read the port from this line.
            println!("m2 listening on {}:{}", config.api.host_ip, app.port());
            // The HTTP server stops on SIGTERM/SIGINT; the conductor follows.
            app.run().await?;
            service.shutdown().await;
            if let Some(c) = client {
                c.close().await;
            }
            Ok(())
        }
        Command::Api {
            data_dir,
            allow_sqlite,
        } => {
            check_sqlite(&config, &data_dir, allow_sqlite)?;
            let db = startup::database_with_retry(&config, &data_dir).await?;
            startup::check_schema(&db).await?;
            let (app, client) = startup::api(config.clone(), db).await?;
            tracing::info!(port = app.port(), "m2 api serving the Bare Metal API");
            println!("m2 listening on {}:{}", config.api.host_ip, app.port());
            app.run().await?;
            if let Some(c) = client {
                c.close().await;
            }
            Ok(())
        }
        Command::Conductor {
            data_dir,
            allow_sqlite,
        } => {
            check_sqlite(&config, &data_dir, allow_sqlite)?;
            if config.default.rpc_transport != m2::config::RpcTransport::Amqp {
                anyhow::bail!(
                    "m2 conductor takes its requests from the message bus: set [DEFAULT] \
                     rpc_transport = amqp and transport_url"
                );
            }
            let db = startup::database_with_retry(&config, &data_dir).await?;
            startup::check_schema(&db).await?;
            let services = Arc::new(m2::drivers::m2::M2Services::new(&config, db.clone()));
            let registry = Arc::new(m2::drivers::Registry::builtin(&config, services.clone()));
            let service = startup::conductor(config.clone(), db, registry, services).await?;
            tracing::info!(host = %config.default.host, "m2 conductor started");
            println!("m2 conductor {} started", config.default.host);
            terminated().await;
            tracing::info!("termination requested");
            service.shutdown().await;
            Ok(())
        }
        Command::Dbsync { data_dir } => {
            let db = startup::database(&config, &data_dir).await?;
            m2::db::migrate(&db).await?;
            tracing::info!("database schema is up to date");
            Ok(())
        }
        Command::SampleConfig
        | Command::Openapi
        | Command::Routes
        | Command::PolicyDefaults
        | Command::ImageUpload { .. } => Ok(()),
    }
}
