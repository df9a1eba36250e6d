//! Embedded schema migrations.
//!
//! Migration `n` (1-based) is `MIGRATIONS[n - 1]`; `hookhost_schema` holds
//! the number of the last one applied. All of them run in one transaction
//! under an advisory lock, so nodes starting together migrate once, and a
//! failed migration leaves the schema as it was.

use super::db;
use crate::store::{StoreError, StoreResult};
use deadpool_postgres::Object;

/// The migrations, oldest first. Never edit one that has been released:
/// add the next.
const MIGRATIONS: &[&str] = &[
    include_str!("migrations/0001_init.sql"),
    include_str!("migrations/0002_leases_by_endpoint.sql"),
    include_str!("migrations/0003_endpoint_pace.sql"),
    include_str!("migrations/0004_workspaces.sql"),
    include_str!("migrations/0005_skipped_deliveries.sql"),
    include_str!("migrations/0006_lease_table.sql"),
];

/// Migrates the database `client` works in (`schema`, created if missing,
/// or the default one).
pub(super) async fn run(client: &mut Object, schema: Option<&str>) -> StoreResult<()> {
    let latest = i32::try_from(MIGRATIONS.len()).unwrap_or(i32::MAX);
    let tx = client.transaction().await.map_err(db)?;
    // Per schema: deployments sharing a database do not wait for each other.
    let lock = format!("hookhost migrate {}", schema.unwrap_or(""));
    tx.execute("SELECT pg_advisory_xact_lock(hashtext($1))", &[&lock])
        .await
        .map_err(db)?;
    if let Some(schema) = schema {
        // The name is checked ([a-z0-9_]) at connect.
        tx.batch_execute(&format!("CREATE SCHEMA IF NOT EXISTS \"{schema}\""))
            .await
            .map_err(db)?;
    }
    tx.batch_execute("CREATE TABLE IF NOT EXISTS hookhost_schema (version integer NOT NULL)")
        .await
        .map_err(db)?;
    let current: Option<i32> = tx
        .query_one("SELECT max(version) FROM hookhost_schema", &[])
        .await
        .map_err(db)?
        .try_get(0)
        .map_err(db)?;
    let current = current.unwrap_or(0);
    if current > latest {
        return Err(StoreError::Db(format!(
            "database schema version {current} is newer than this hookhost knows ({latest}); upgrade hookhost"
        )));
    }
    if current == latest {
        return Ok(());
    }
    for (n, sql) in MIGRATIONS.iter().enumerate().skip(current.max(0) as usize) {
        tx.batch_execute(sql)
            .await
            .map_err(|e| StoreError::Db(format!("schema migration {}: {e}", n + 1)))?;
    }
    tx.execute("DELETE FROM hookhost_schema", &[])
        .await
        .map_err(db)?;
    tx.execute(
        "INSERT INTO hookhost_schema (version) VALUES ($1)",
        &[&latest],
    )
    .await
    .map_err(db)?;
    tx.commit().await.map_err(db)?;
    tracing::info!(
        from = current,
        to = latest,
        "migrated the PostgreSQL schema"
    );
    Ok(())
}
