//! Snapshots as files: `<dir>/<partition>/<seq>.ckpt`, written to a temporary
//! name and renamed, so a file is either whole or absent; the partition's
//! identity beside them in `<dir>/<partition>/identity.json`. A partition id that
//! is not a plain `[A-Za-z0-9_-]{1,64}` name is refused before any path is built, so
//! no id (`..`, `/x`, `a/../../b`) can lead outside the folder.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::chain::{Loaded, Stored};
use super::{newest_chain, Chain, CheckpointError, StoredIdentity};
use crate::core::{decode, Snapshot};

pub struct LocalStore {
    dir: PathBuf,
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> CheckpointError + '_ {
    move |source| CheckpointError::Io {
        path: path.display().to_string(),
        source,
    }
}

impl LocalStore {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        LocalStore { dir: dir.into() }
    }

    fn partition_dir(&self, partition: &str) -> Result<PathBuf, CheckpointError> {
        crate::config::validate_partition_id(partition).map_err(|message| {
            CheckpointError::Store {
                what: "refusing the partition id",
                partition: partition.escape_debug().to_string(),
                message,
            }
        })?;
        Ok(self.dir.join(partition))
    }

    fn file(&self, partition: &str, seq: u64) -> Result<PathBuf, CheckpointError> {
        Ok(self
            .partition_dir(partition)?
            .join(format!("{seq:020}.ckpt")))
    }

    fn identity_file(&self, partition: &str) -> Result<PathBuf, CheckpointError> {
        Ok(self.partition_dir(partition)?.join("identity.json"))
    }

    pub async fn identity(
        &self,
        partition: &str,
    ) -> Result<Option<StoredIdentity>, CheckpointError> {
        let path = self.identity_file(partition)?;
        let bytes = match tokio::fs::read(&path).await {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io(&path)(e)),
        };
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| CheckpointError::Store {
                what: "reading the partition identity",
                partition: partition.to_string(),
                message: format!("{}: {e}", path.display()),
            })
    }

    pub async fn set_identity(
        &self,
        partition: &str,
        stored: &StoredIdentity,
    ) -> Result<(), CheckpointError> {
        let dir = self.partition_dir(partition)?;
        tokio::fs::create_dir_all(&dir).await.map_err(io(&dir))?;
        let path = self.identity_file(partition)?;
        let tmp = path.with_extension("tmp");
        let bytes = serde_json::to_vec_pretty(stored).unwrap_or_default();
        tokio::fs::write(&tmp, bytes).await.map_err(io(&tmp))?;
        tokio::fs::rename(&tmp, &path).await.map_err(io(&path))?;
        Ok(())
    }

    pub async fn remove_all(&self, partition: &str) -> Result<(), CheckpointError> {
        self.partition_dir(partition)?;
        for seq in self.seqs(partition).await? {
            let path = self.file(partition, seq)?;
            tokio::fs::remove_file(&path).await.map_err(io(&path))?;
        }
        Ok(())
    }

    pub async fn persist(&self, snap: &Snapshot, bytes: &[u8]) -> Result<(), CheckpointError> {
        let dir = self.partition_dir(&snap.partition)?;
        tokio::fs::create_dir_all(&dir).await.map_err(io(&dir))?;
        let path = self.file(&snap.partition, snap.epoch)?;
        let tmp = path.with_extension("tmp");
        tokio::fs::write(&tmp, bytes).await.map_err(io(&tmp))?;
        tokio::fs::rename(&tmp, &path).await.map_err(io(&path))?;
        Ok(())
    }

    async fn seqs(&self, partition: &str) -> Result<Vec<u64>, CheckpointError> {
        let dir = self.partition_dir(partition)?;
        let mut entries = match tokio::fs::read_dir(&dir).await {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io(&dir)(e)),
        };
        let mut seqs = Vec::new();
        while let Some(entry) = entries.next_entry().await.map_err(io(&dir))? {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if let Some(seq) = name.strip_suffix(".ckpt").and_then(|s| s.parse().ok()) {
                seqs.push(seq);
            }
        }
        seqs.sort_unstable();
        Ok(seqs)
    }

    /// A file is whole or absent (written then renamed): one that fails its
    /// checks is corrupt. Its offset is known only from its decoded bytes.
    async fn read(&self, partition: &str, seq: u64) -> Result<Loaded, CheckpointError> {
        let path = self.file(partition, seq)?;
        let snapshot = match tokio::fs::read(&path).await {
            Ok(bytes) => match decode(&bytes) {
                Ok(s) => Stored::Ok(s),
                Err(e) => Stored::Corrupt(e.to_string()),
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Stored::Incomplete,
            Err(e) => return Err(io(&path)(e)),
        };
        let offset = match &snapshot {
            Stored::Ok(s) => Some(s.offset),
            _ => None,
        };
        Ok(Loaded::new(snapshot, offset))
    }

    pub async fn load(&self, partition: &str) -> Result<Chain, CheckpointError> {
        let mut decoded = BTreeMap::new();
        for seq in self.seqs(partition).await? {
            decoded.insert(seq, self.read(partition, seq).await?);
        }
        Ok(newest_chain(decoded))
    }

    pub async fn truncate_after(&self, partition: &str, after: u64) -> Result<(), CheckpointError> {
        for seq in self.seqs(partition).await? {
            if seq > after {
                let path = self.file(partition, seq)?;
                tokio::fs::remove_file(&path).await.map_err(io(&path))?;
            }
        }
        Ok(())
    }

    pub async fn prune(&self, partition: &str, below: u64) -> Result<(), CheckpointError> {
        for seq in self.seqs(partition).await? {
            if seq < below {
                let path = self.file(partition, seq)?;
                tokio::fs::remove_file(&path).await.map_err(io(&path))?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkpoint::{Identity, SourceKind};
    use crate::config::SourceMode;
    use crate::format::Format;

    #[tokio::test]
    async fn ids_that_could_leave_the_folder_are_refused() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("ckpt");
        let store = LocalStore::new(&dir);
        for id in ["..", ".", "", "a/b", "../x", "/abs", "a\\b", "p.1", "x\0y"] {
            let snap = Snapshot {
                partition: id.to_string(),
                epoch: 1,
                offset: 0,
                kind: crate::core::SnapshotKind::Base,
                keys: Vec::new(),
                minutes: Vec::new(),
                watermark: Default::default(),
            };
            assert!(store.persist(&snap, b"x").await.is_err(), "{id:?} persists");
            assert!(store.load(id).await.is_err(), "{id:?} loads");
            assert!(store.prune(id, 10).await.is_err(), "{id:?} prunes");
        }
        assert_eq!(store.load("p_0-1").await.unwrap().epoch(), 0);
        // Nothing was created beside or above the folder.
        let entries: Vec<_> = std::fs::read_dir(root.path()).unwrap().collect();
        assert!(entries.is_empty(), "{entries:?}");
    }

    #[tokio::test]
    async fn identity_is_kept_beside_the_snapshots_and_survives_their_removal() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::new(dir.path());
        assert_eq!(store.identity("p1").await.unwrap(), None);
        let stored = StoredIdentity {
            identity: Identity {
                source: SourceKind::Connect,
                mode: SourceMode::Replayable,
                index: 1,
                count: 2,
                format: Format::Seed,
            },
            reset_pending: true,
        };
        store.set_identity("p1", &stored).await.unwrap();
        assert_eq!(store.identity("p1").await.unwrap(), Some(stored));
        std::fs::write(dir.path().join("p1/00000000000000000001.ckpt"), b"x").unwrap();
        store.remove_all("p1").await.unwrap();
        assert!(store.seqs("p1").await.unwrap().is_empty());
        assert_eq!(store.identity("p1").await.unwrap(), Some(stored));
    }

    #[tokio::test]
    async fn an_id_that_is_not_a_plain_name_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::new(dir.path().join("ckpt"));
        for bad in ["..", ".", "a/b", "/etc"] {
            assert!(store.remove_all(bad).await.is_err(), "{bad}");
            assert!(store.identity(bad).await.is_err(), "{bad}");
        }
    }
}
