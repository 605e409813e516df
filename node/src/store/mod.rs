//! Durable state: users, their credentials and pending ceremonies, in SQLite (the embedded
//! default) or PostgreSQL (shared by the nodes of one relying party). Sessions live in the same
//! database through tower-sessions' sqlx stores.

mod ceremonies;
mod users;

use std::str::FromStr;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};

use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions};

pub use ceremonies::{Ceremony, CeremonyKind};
pub use users::{CredentialRecord, DeleteOutcome, NewCredential, StoredCredential, User};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    #[error("DATABASE_URL `{0}` must start with `sqlite:` or `postgres:`")]
    UnsupportedUrl(String),
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("credential is already registered to another wallet")]
    CredentialTaken,
}

/// A connection pool to one of the supported databases.
#[derive(Debug, Clone)]
pub enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Runs the same sqlx code on whichever pool the store holds; the queries use `$n` placeholders,
/// which SQLite and PostgreSQL both accept.
macro_rules! on_pool {
    ($pool:expr, $p:ident => $body:expr) => {
        match $pool {
            $crate::store::Pool::Sqlite($p) => $body,
            $crate::store::Pool::Postgres($p) => $body,
        }
    };
}
pub(crate) use on_pool;

/// Which store operation a latency belongs to.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StoreOp {
    pub op: &'static str,
}

/// Latency of each store operation, for the node's metrics.
pub type StoreLatency = Family<StoreOp, Histogram, fn() -> Histogram>;

fn latency_histogram() -> Histogram {
    // 100 µs to about 3 s.
    Histogram::new(exponential_buckets(0.0001, 2.0, 16))
}

/// Observes how long an operation took when dropped.
pub(crate) struct Timed<'a> {
    latency: &'a StoreLatency,
    op: &'static str,
    started: Instant,
}

impl Drop for Timed<'_> {
    fn drop(&mut self) {
        self.latency
            .get_or_create(&StoreOp { op: self.op })
            .observe(self.started.elapsed().as_secs_f64());
    }
}

/// The node's database.
#[derive(Debug, Clone)]
pub struct Store {
    pool: Pool,
    latency: StoreLatency,
}

impl Store {
    /// Connects to `url` (`sqlite:…` or `postgres:…`), creating a SQLite file if needed, and runs
    /// the migrations.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let pool = if url.starts_with("sqlite:") {
            // WAL lets readers run beside the one writer and keeps the file consistent across a
            // crash; the busy timeout makes concurrent writers wait instead of failing.
            let options = SqliteConnectOptions::from_str(url)?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .foreign_keys(true)
                .busy_timeout(std::time::Duration::from_secs(10));
            Pool::Sqlite(
                SqlitePoolOptions::new()
                    .max_connections(8)
                    .connect_with(options)
                    .await?,
            )
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Pool::Postgres(
                PgPoolOptions::new()
                    .max_connections(16)
                    .connect(url)
                    .await?,
            )
        } else {
            return Err(StoreError::UnsupportedUrl(url.to_owned()));
        };
        on_pool!(&pool, p => MIGRATOR.run(p).await?);
        let latency = StoreLatency::new_with_constructor(latency_histogram);
        Ok(Self { pool, latency })
    }

    /// Latency per operation since the store opened.
    pub fn latency(&self) -> &StoreLatency {
        &self.latency
    }

    pub(crate) fn timed(&self, op: &'static str) -> Timed<'_> {
        Timed {
            latency: &self.latency,
            op,
            started: Instant::now(),
        }
    }

    /// Whether the database answers a trivial query (for `/ready`).
    pub async fn ping(&self) -> Result<(), StoreError> {
        let _timed = self.timed("ping");
        on_pool!(&self.pool, p => sqlx::query("SELECT 1").execute(p).await.map(drop)?);
        Ok(())
    }

    /// The underlying pool, for the session store.
    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    /// Closes every connection, letting SQLite checkpoint its WAL.
    pub async fn close(&self) {
        on_pool!(&self.pool, p => p.close().await);
    }
}

/// Milliseconds since the Unix epoch.
pub(crate) fn now_ms() -> i64 {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(since.as_millis()).unwrap_or(i64::MAX)
}
