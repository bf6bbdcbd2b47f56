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

async fn run(command: Command, config: Arc<Config>) -> anyhow::Result<()> {
    match command {
        Command::Standalone { data_dir } => {
            let db = startup::database(&config, &data_dir).await?;
            let (app, conductor) = startup::standalone(config.clone(), db).await?;
            tracing::info!(port = app.port(), host = %config.default.host, "m2 standalone serving the Bare Metal API");
            // Tests and scripts read the port from this line.
            println!("m2 listening on {}:{}", config.api.host_ip, app.port());
            app.run().await?;
            m2::db::conductors::unregister(&conductor.db, &conductor.host).await?;
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
        | Command::PolicyDefaults
        | Command::ImageUpload { .. } => Ok(()),
    }
}
