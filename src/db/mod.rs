//! Persistence: connection set-up, migrations, entities and the queries the rest of m2
//! uses. No other module builds SQL.

pub mod allocations;
pub mod chassis;
pub mod conductors;
pub mod deploy_templates;
pub mod disk_volumes;
pub mod entities;
pub mod images;
pub mod migration;
pub mod node_fields;
pub mod nodes;
pub mod paging;
pub mod ports;
pub mod volumes;

use std::time::Duration;

use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend, DbErr};
use sea_orm_migration::MigratorTrait;

/// Connects to the database named by a sea-orm URL (see `config::DatabaseSection::url`).
///
/// SQLite gets WAL journaling and `synchronous = NORMAL`, which keep writes durable across
/// a process crash while letting readers run beside the single writer.
pub async fn connect(url: &str, max_pool: Option<u32>) -> Result<DatabaseConnection, DbErr> {
    let mut opts = ConnectOptions::new(url.to_owned());
    let sqlite = url.starts_with("sqlite:");
    opts.sqlx_logging(false)
        .connect_timeout(Duration::from_secs(5))
        .acquire_timeout(Duration::from_secs(5))
        .max_connections(max_pool.unwrap_or(if sqlite { 8 } else { 16 }))
        .min_connections(1);
    if sqlite {
        opts.map_sqlx_sqlite_opts(|o| {
            use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
            o.journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(30))
                .foreign_keys(true)
                // Each connection's page cache: 512 KiB rather than SQLite's 2 MiB.
                // The file is in the kernel's page cache anyway; eight connections
                // would otherwise keep up to 16 MiB of copies of it.
                .pragma("cache_size", "-512")
                // Prepared statements kept per connection (sqlx keeps 100): the
                // queries m2 repeats are far fewer, and each cached statement of
                // the 60-column node table costs memory in every connection.
                .statement_cache_capacity(32)
        });
    }
    let db = Database::connect(opts).await?;
    if db.get_database_backend() == DbBackend::Sqlite {
        db.execute_unprepared("PRAGMA foreign_keys = ON").await?;
    }
    Ok(db)
}

/// Applies every pending migration.
pub async fn migrate(db: &DatabaseConnection) -> Result<(), DbErr> {
    migration::Migrator::up(db, None).await
}

/// Is this error the database being out of reach (down, restarting, network cut),
/// rather than a fault of the statement? Such errors are worth retrying later.
pub fn is_connection_error(e: &DbErr) -> bool {
    use sea_orm::sqlx::Error as Sqlx;
    use sea_orm::{DbErr as D, RuntimeErr};
    let sqlx = match e {
        D::ConnectionAcquire(_) | D::Conn(_) => return true,
        D::Exec(RuntimeErr::SqlxError(s)) | D::Query(RuntimeErr::SqlxError(s)) => s,
        _ => return false,
    };
    match &**sqlx {
        Sqlx::Io(_)
        | Sqlx::PoolTimedOut
        | Sqlx::PoolClosed
        | Sqlx::WorkerCrashed
        | Sqlx::Tls(_)
        | Sqlx::Protocol(_) => true,
        // SQLSTATE class 08 (connection exception) and 57P0x (the server shutting
        // down or restarting).
        Sqlx::Database(db) => db
            .code()
            .is_some_and(|c| c.starts_with("08") || c.starts_with("57P")),
        _ => false,
    }
}

/// Is this database error a violation of a unique constraint?
pub fn is_unique_violation(e: &DbErr) -> bool {
    matches!(
        e.sql_err(),
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
    )
}
