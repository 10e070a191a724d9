//! The sink's prepared statements, prepared once when the sink starts.

use std::sync::Arc;

use scylla::client::session::Session;
use scylla::statement::prepared::PreparedStatement;

use super::SinkError;

/// Every statement the sink runs, by the row it writes or deletes.
pub(super) struct Statements {
    pub raw: PreparedStatement,
    pub partial: PreparedStatement,
    pub partial_delete: PreparedStatement,
    pub minute: PreparedStatement,
    pub minute_delete: PreparedStatement,
    pub total: PreparedStatement,
    pub total_delete: PreparedStatement,
    pub partials_select: PreparedStatement,
    pub raw_delete_range: PreparedStatement,
    pub intent: PreparedStatement,
    pub intents_select: PreparedStatement,
    pub intents_delete: PreparedStatement,
    pub intent_delete_one: PreparedStatement,
    pub dead_letter: PreparedStatement,
    pub partial_select: PreparedStatement,
    pub minute_select: PreparedStatement,
    pub total_select: PreparedStatement,
    pub franchise_totals_select: PreparedStatement,
}

/// Prepares one statement, naming it when that fails.
pub(super) async fn prepare(
    session: &Session,
    what: &'static str,
    cql: String,
) -> Result<PreparedStatement, SinkError> {
    session
        .prepare(cql)
        .await
        .map_err(|source| SinkError::Prepare {
            what,
            source: Box::new(source),
        })
}

impl Statements {
    pub async fn prepare(session: &Arc<Session>, ks: &str) -> Result<Self, SinkError> {
        let s = &**session;
        Ok(Statements {
            raw: prepare(s, "events_raw insert", format!(
                "INSERT INTO {ks}.events_raw (partition_id, bucket, offset, franchise_id, event_name, ts, value, epoch) \
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?) USING TIMESTAMP ?")).await?,
            partial: prepare(s, "rollups_by_partition upsert", format!(
                "INSERT INTO {ks}.rollups_by_partition (partition_id, franchise_id, event_name, count, sum, min, max, epoch) \
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?) USING TIMESTAMP ?")).await?,
            partial_delete: prepare(s, "rollups_by_partition delete", format!(
                "DELETE FROM {ks}.rollups_by_partition USING TIMESTAMP ? \
                 WHERE partition_id = ? AND franchise_id = ? AND event_name = ?")).await?,
            minute: prepare(s, "rollups_by_minute upsert", format!(
                "INSERT INTO {ks}.rollups_by_minute (franchise_id, minute, event_name, partition_id, count, sum, min, max) \
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?) USING TIMESTAMP ?")).await?,
            minute_delete: prepare(s, "rollups_by_minute delete", format!(
                "DELETE FROM {ks}.rollups_by_minute USING TIMESTAMP ? \
                 WHERE franchise_id = ? AND minute = ? AND event_name = ? AND partition_id = ?")).await?,
            total: prepare(s, "rollups_total upsert", format!(
                "INSERT INTO {ks}.rollups_total (franchise_id, event_name, count, sum, min, max, updated_at) \
                 VALUES (?, ?, ?, ?, ?, ?, ?) USING TIMESTAMP ?")).await?,
            total_delete: prepare(s, "rollups_total delete", format!(
                "DELETE FROM {ks}.rollups_total USING TIMESTAMP ? \
                 WHERE franchise_id = ? AND event_name = ?")).await?,
            partials_select: prepare(s, "rollups_by_partition select", format!(
                "SELECT event_name, count, sum, min, max, WRITETIME(count) FROM {ks}.rollups_by_partition \
                 WHERE partition_id = ? AND franchise_id = ? AND event_name IN ?")).await?,
            raw_delete_range: prepare(s, "events_raw range delete", format!(
                "DELETE FROM {ks}.events_raw USING TIMESTAMP ? \
                 WHERE partition_id = ? AND bucket = ? AND offset >= ? AND offset < ?")).await?,
            intent: prepare(s, "epoch_intents insert", format!(
                "INSERT INTO {ks}.epoch_intents (partition_id, epoch, written_at, offset_start, offset_end, keys, created_at) \
                 VALUES (?, ?, ?, ?, ?, ?, ?) USING TIMESTAMP ?")).await?,
            intents_select: prepare(s, "epoch_intents select", format!(
                "SELECT written_at, keys FROM {ks}.epoch_intents WHERE partition_id = ? AND epoch > ?")).await?,
            intent_delete_one: prepare(s, "epoch_intents delete one", format!(
                "DELETE FROM {ks}.epoch_intents WHERE partition_id = ? AND epoch = ? AND written_at = ?")).await?,
            intents_delete: prepare(s, "epoch_intents delete", format!(
                "DELETE FROM {ks}.epoch_intents USING TIMESTAMP ? WHERE partition_id = ? AND epoch <= ?")).await?,
            dead_letter: prepare(s, "dead_letters insert", format!(
                "INSERT INTO {ks}.dead_letters (partition_id, offset, reason, line_len, line_prefix, seen_at) \
                 VALUES (?, ?, ?, ?, ?, ?) USING TIMESTAMP ?")).await?,
            partial_select: prepare(s, "rollups_by_partition select", format!(
                "SELECT count, sum, min, max FROM {ks}.rollups_by_partition \
                 WHERE partition_id = ? AND franchise_id = ? AND event_name = ?")).await?,
            minute_select: prepare(s, "rollups_by_minute select", format!(
                "SELECT count, sum, min, max FROM {ks}.rollups_by_minute \
                 WHERE franchise_id = ? AND minute = ? AND event_name = ? AND partition_id = ?")).await?,
            total_select: prepare(s, "rollups_total select", format!(
                "SELECT count, sum, min, max FROM {ks}.rollups_total \
                 WHERE franchise_id = ? AND event_name = ?")).await?,
            franchise_totals_select: prepare(s, "rollups_total select of a franchise", format!(
                "SELECT event_name, count, sum, min, max FROM {ks}.rollups_total \
                 WHERE franchise_id = ?")).await?,
        })
    }
}
