//! A partition's sealed epochs that are not committed yet, oldest first. Each is
//! written (its rows acknowledged), then checkpointed (its snapshot persisted),
//! then committed — checkpoints and commits strictly in epoch order, while writes
//! may finish in any order. Pure: the actor asks what may start and reports what
//! finished; stale or out-of-order reports change nothing.

use std::collections::VecDeque;

/// How far an uncommitted epoch has come.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Its rows are being written (or the write is waiting to be retried).
    Writing,
    /// Its rows are acknowledged; its checkpoint waits for the epochs before it.
    Written,
    /// Its snapshot is being persisted: the commit point.
    Checkpointing,
}

#[derive(Debug)]
struct InFlight<T> {
    epoch: u64,
    stage: Stage,
    payload: T,
}

/// The uncommitted epochs of one partition incarnation.
#[derive(Debug)]
pub struct EpochQueue<T> {
    epochs: VecDeque<InFlight<T>>,
}

impl<T> Default for EpochQueue<T> {
    fn default() -> Self {
        EpochQueue {
            epochs: VecDeque::new(),
        }
    }
}

impl<T> EpochQueue<T> {
    pub fn len(&self) -> usize {
        self.epochs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.epochs.is_empty()
    }

    /// A sealed epoch enters, to be written. Epochs must come in increasing order.
    pub fn push(&mut self, epoch: u64, payload: T) {
        debug_assert!(self.epochs.back().is_none_or(|e| e.epoch < epoch));
        self.epochs.push_back(InFlight {
            epoch,
            stage: Stage::Writing,
            payload,
        });
    }

    /// The epoch, while it is uncommitted.
    pub fn get(&self, epoch: u64) -> Option<&T> {
        self.find(epoch).map(|e| &e.payload)
    }

    pub fn stage(&self, epoch: u64) -> Option<Stage> {
        self.find(epoch).map(|e| e.stage)
    }

    fn find(&self, epoch: u64) -> Option<&InFlight<T>> {
        self.epochs.iter().find(|e| e.epoch == epoch)
    }

    /// The epoch's rows are acknowledged. False when it is not waiting for that.
    pub fn written(&mut self, epoch: u64) -> bool {
        match self.epochs.iter_mut().find(|e| e.epoch == epoch) {
            Some(e) if e.stage == Stage::Writing => {
                e.stage = Stage::Written;
                true
            }
            _ => false,
        }
    }

    /// The epoch whose checkpoint may start now, marked as started: the oldest one,
    /// once written, when no checkpoint runs.
    pub fn start_checkpoint(&mut self) -> Option<(u64, &T)> {
        let front = self.epochs.front_mut()?;
        if front.stage != Stage::Written {
            return None;
        }
        front.stage = Stage::Checkpointing;
        Some((front.epoch, &front.payload))
    }

    /// The epoch's checkpoint failed: it may start again.
    pub fn checkpoint_failed(&mut self, epoch: u64) {
        if let Some(front) = self.epochs.front_mut() {
            if front.epoch == epoch && front.stage == Stage::Checkpointing {
                front.stage = Stage::Written;
            }
        }
    }

    /// The epoch's checkpoint is durable: it leaves the queue, committed. `None`
    /// unless it is the oldest epoch and its checkpoint was running.
    pub fn commit(&mut self, epoch: u64) -> Option<T> {
        let front = self.epochs.front()?;
        if front.epoch != epoch || front.stage != Stage::Checkpointing {
            return None;
        }
        self.epochs.pop_front().map(|e| e.payload)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn queue(epochs: &[u64]) -> EpochQueue<&'static str> {
        let mut q = EpochQueue::default();
        for e in epochs {
            q.push(*e, "rows");
        }
        q
    }

    #[test]
    fn an_epoch_is_written_then_checkpointed_then_committed() {
        let mut q = queue(&[1]);
        assert_eq!(q.stage(1), Some(Stage::Writing));
        assert_eq!(q.start_checkpoint(), None, "not written yet");
        assert!(q.written(1));
        assert!(!q.written(1), "written once");
        assert_eq!(q.start_checkpoint(), Some((1, &"rows")));
        assert_eq!(q.start_checkpoint(), None, "one checkpoint at a time");
        assert_eq!(q.commit(1), Some("rows"));
        assert!(q.is_empty());
        assert_eq!(q.commit(1), None);
    }

    #[test]
    fn commits_follow_epoch_order_whatever_the_write_order() {
        let mut q = queue(&[4, 5, 6]);
        assert!(q.written(6));
        assert!(q.written(5));
        assert_eq!(q.start_checkpoint(), None, "epoch 4 is still writing");
        assert!(q.written(4));
        let mut committed = Vec::new();
        while let Some((epoch, _)) = q.start_checkpoint() {
            assert_eq!(q.commit(epoch), Some("rows"));
            committed.push(epoch);
        }
        assert_eq!(committed, [4, 5, 6]);
    }

    #[test]
    fn a_failed_checkpoint_starts_again_and_stale_reports_change_nothing() {
        let mut q = queue(&[1, 2]);
        assert!(q.written(1) && q.written(2));
        assert_eq!(q.start_checkpoint().map(|(e, _)| e), Some(1));
        assert_eq!(q.commit(2), None, "not the oldest");
        q.checkpoint_failed(2);
        assert_eq!(q.stage(1), Some(Stage::Checkpointing));
        q.checkpoint_failed(1);
        assert_eq!(q.stage(1), Some(Stage::Written));
        assert_eq!(q.commit(1), None, "no checkpoint runs");
        assert_eq!(q.start_checkpoint().map(|(e, _)| e), Some(1));
        assert_eq!(q.commit(1), Some("rows"));
        assert!(!q.written(7), "unknown epoch");
        assert_eq!((q.len(), q.get(2)), (1, Some(&"rows")));
    }
}
