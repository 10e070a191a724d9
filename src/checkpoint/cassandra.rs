//! Snapshots in the `checkpoints` table, split into chunks of at most
//! `checkpoint_chunk_bytes`; the snapshot's own checksum covers the reassembled
//! bytes, so a snapshot with a missing or stale chunk is refused on load. The
//! partition's identity is one row of `partition_identity`.

use std::collections::BTreeMap;
use std::sync::Arc;

use futures::TryStreamExt;
use scylla::client::session::Session;
use scylla::statement::prepared::PreparedStatement;
use scylla::value::CqlTimestamp;

use super::chain::{Loaded, Stored};
use super::identity::{name, parse_name};
use super::{newest_chain, Chain, CheckpointError, Identity, StoredIdentity};
use crate::core::{decode, reassemble, split_chunks, Snapshot, SnapshotKind};

pub struct CassandraStore {
    session: Arc<Session>,
    chunk_bytes: usize,
    insert: PreparedStatement,
    insert_at: PreparedStatement,
    select_all: PreparedStatement,
    select_one: PreparedStatement,
    prune: PreparedStatement,
    truncate: PreparedStatement,
    remove_all: PreparedStatement,
    identity_select: PreparedStatement,
    identity_insert: PreparedStatement,
}

fn store_err(what: &'static str, partition: &str, e: impl std::fmt::Display) -> CheckpointError {
    CheckpointError::Store {
        what,
        partition: partition.to_string(),
        message: e.to_string(),
    }
}

/// One row of the `checkpoints` table as read back: seq, chunk index, chunk count,
/// offset column, bytes.
pub type ChunkRow = (i64, i32, i32, Option<i64>, Vec<u8>);
/// One chunk of a snapshot: index, count, offset column, bytes.
type Chunk = (i32, i32, Option<i64>, Vec<u8>);
type IdentityRow = (String, String, i32, i32, String, bool);

impl CassandraStore {
    pub async fn new(
        session: Arc<Session>,
        keyspace: &str,
        chunk_bytes: usize,
    ) -> Result<Self, CheckpointError> {
        let prep = |cql: String| {
            let session = session.clone();
            async move {
                session
                    .prepare(cql)
                    .await
                    .map_err(|e| store_err("preparing statements", "*", e))
            }
        };
        Ok(CassandraStore {
            insert: prep(format!(
                "INSERT INTO {keyspace}.checkpoints (partition_id, seq, chunk, chunks, kind, epoch, offset, keys, data, created_at) \
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            ))
            .await?,
            insert_at: prep(format!(
                "INSERT INTO {keyspace}.checkpoints (partition_id, seq, chunk, chunks, kind, epoch, offset, keys, data, created_at) \
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) USING TIMESTAMP ?"
            ))
            .await?,
            select_all: prep(format!(
                "SELECT seq, chunk, chunks, offset, data FROM {keyspace}.checkpoints WHERE partition_id = ?"
            ))
            .await?,
            select_one: prep(format!(
                "SELECT seq, chunk, chunks, offset, data FROM {keyspace}.checkpoints WHERE partition_id = ? AND seq = ?"
            ))
            .await?,
            prune: prep(format!(
                "DELETE FROM {keyspace}.checkpoints WHERE partition_id = ? AND seq < ?"
            ))
            .await?,
            truncate: prep(format!(
                "DELETE FROM {keyspace}.checkpoints WHERE partition_id = ? AND seq > ?"
            ))
            .await?,
            remove_all: prep(format!(
                "DELETE FROM {keyspace}.checkpoints WHERE partition_id = ?"
            ))
            .await?,
            identity_select: prep(format!(
                "SELECT source_kind, mode, part_index, part_count, format, reset_pending \
                 FROM {keyspace}.partition_identity WHERE partition_id = ?"
            ))
            .await?,
            identity_insert: prep(format!(
                "INSERT INTO {keyspace}.partition_identity \
                 (partition_id, source_kind, mode, part_index, part_count, format, reset_pending, recorded_at) \
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
            ))
            .await?,
            session,
            chunk_bytes: chunk_bytes.max(1),
        })
    }

    pub async fn persist(
        &self,
        snap: &Snapshot,
        bytes: &[u8],
        timestamp: Option<i64>,
    ) -> Result<(), CheckpointError> {
        let chunks: Vec<&[u8]> = if bytes.is_empty() {
            vec![&[][..]]
        } else {
            split_chunks(bytes, self.chunk_bytes).collect()
        };
        let kind = match snap.kind {
            SnapshotKind::Base => "base",
            SnapshotKind::Delta => "delta",
        };
        let now = CqlTimestamp(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_millis() as i64)
                .unwrap_or(0),
        );
        let n = chunks.len() as i32;
        let writes = chunks.iter().enumerate().map(|(i, chunk)| {
            let row = (
                &*snap.partition,
                snap.epoch as i64,
                i as i32,
                n,
                kind,
                snap.epoch as i64,
                snap.offset as i64,
                snap.keys.len() as i64,
                *chunk,
                now,
            );
            async move {
                match timestamp {
                    None => self.session.execute_unpaged(&self.insert, row).await,
                    Some(ts) => {
                        let (a, b, c, d, e, f, g, h, i, j) = row;
                        let values = (a, b, c, d, e, f, g, h, i, j, ts);
                        self.session.execute_unpaged(&self.insert_at, values).await
                    }
                }
            }
        });
        futures::future::try_join_all(writes)
            .await
            .map_err(|e| store_err("writing a snapshot", &snap.partition, e))?;
        Ok(())
    }

    async fn rows(
        &self,
        partition: &str,
        seq: Option<u64>,
    ) -> Result<Vec<ChunkRow>, CheckpointError> {
        let pager = match seq {
            None => {
                self.session
                    .execute_iter(self.select_all.clone(), (partition,))
                    .await
            }
            Some(seq) => {
                self.session
                    .execute_iter(self.select_one.clone(), (partition, seq as i64))
                    .await
            }
        }
        .map_err(|e| store_err("reading snapshots", partition, e))?;
        pager
            .rows_stream::<ChunkRow>()
            .map_err(|e| store_err("reading snapshots", partition, e))?
            .try_collect()
            .await
            .map_err(|e| store_err("reading snapshots", partition, e))
    }

    /// Joins the chunks of each seq and decodes them: incomplete and undecodable
    /// seqs are kept as such, for [`newest_chain`] to fall back past.
    pub fn assemble(rows: Vec<ChunkRow>) -> BTreeMap<u64, Loaded> {
        let mut by_seq: BTreeMap<u64, Vec<Chunk>> = BTreeMap::new();
        for (seq, chunk, chunks, offset, data) in rows {
            by_seq
                .entry(seq as u64)
                .or_default()
                .push((chunk, chunks, offset, data));
        }
        by_seq
            .into_iter()
            .map(|(seq, mut parts)| {
                parts.sort_by_key(|p| p.0);
                let expected = parts.first().map(|p| p.1).unwrap_or(0);
                let offset = parts.first().and_then(|p| p.2).map(|o| o as u64);
                let complete = parts.len() >= expected as usize
                    && parts
                        .iter()
                        .take(expected as usize)
                        .enumerate()
                        .all(|(i, p)| p.0 == i as i32 && p.1 == expected);
                let snapshot = if complete {
                    let bytes = reassemble(parts.into_iter().take(expected as usize).map(|p| p.3));
                    match decode(&bytes) {
                        Ok(s) => Stored::Ok(s),
                        Err(e) => Stored::Corrupt(e.to_string()),
                    }
                } else {
                    Stored::Incomplete
                };
                (seq, Loaded::new(snapshot, offset))
            })
            .collect()
    }

    pub async fn load(&self, partition: &str, upto: Option<u64>) -> Result<Chain, CheckpointError> {
        let mut rows = self.rows(partition, None).await?;
        if let Some(upto) = upto {
            // Snapshots past the committed epoch were never committed (a deposed
            // owner may have written one): they do not exist for the restore.
            rows.retain(|r| r.0 as u64 <= upto);
        }
        Ok(newest_chain(Self::assemble(rows)))
    }

    pub async fn identity(
        &self,
        partition: &str,
    ) -> Result<Option<StoredIdentity>, CheckpointError> {
        let what = "reading the partition identity";
        let rows = self
            .session
            .execute_unpaged(&self.identity_select, (partition,))
            .await
            .map_err(|e| store_err(what, partition, e))?
            .into_rows_result()
            .map_err(|e| store_err(what, partition, e))?;
        let Some((source, mode, index, count, format, reset_pending)) = rows
            .maybe_first_row::<IdentityRow>()
            .map_err(|e| store_err(what, partition, e))?
        else {
            return Ok(None);
        };
        let identity = Identity {
            source: parse_name(&source).map_err(|e| store_err(what, partition, e))?,
            mode: parse_name(&mode).map_err(|e| store_err(what, partition, e))?,
            index: index as u32,
            count: count as u32,
            format: parse_name(&format).map_err(|e| store_err(what, partition, e))?,
        };
        Ok(Some(StoredIdentity {
            identity,
            reset_pending,
        }))
    }

    pub async fn set_identity(
        &self,
        partition: &str,
        stored: &StoredIdentity,
    ) -> Result<(), CheckpointError> {
        let id = &stored.identity;
        let now = CqlTimestamp(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_millis() as i64)
                .unwrap_or(0),
        );
        self.session
            .execute_unpaged(
                &self.identity_insert,
                (
                    partition,
                    name(&id.source),
                    name(&id.mode),
                    id.index as i32,
                    id.count as i32,
                    name(&id.format),
                    stored.reset_pending,
                    now,
                ),
            )
            .await
            .map_err(|e| store_err("recording the partition identity", partition, e))?;
        Ok(())
    }

    pub async fn remove_all(&self, partition: &str) -> Result<(), CheckpointError> {
        self.session
            .execute_unpaged(&self.remove_all, (partition,))
            .await
            .map_err(|e| store_err("removing snapshots", partition, e))?;
        Ok(())
    }

    pub async fn truncate_after(&self, partition: &str, seq: u64) -> Result<(), CheckpointError> {
        self.session
            .execute_unpaged(&self.truncate, (partition, seq as i64))
            .await
            .map_err(|e| store_err("removing snapshots after a fallback", partition, e))?;
        Ok(())
    }

    pub async fn prune(&self, partition: &str, below: u64) -> Result<(), CheckpointError> {
        self.session
            .execute_unpaged(&self.prune, (partition, below as i64))
            .await
            .map_err(|e| store_err("pruning snapshots", partition, e))?;
        Ok(())
    }
}
