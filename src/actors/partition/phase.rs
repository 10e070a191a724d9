//! A partition actor's lifecycle as one enum. Every transition is a pure function
//! of the phase and an event, so the actor's handlers only say what happened;
//! [`Phase::lifecycle`] is what the outside sees of each phase.

use super::status::Lifecycle;

/// How the current incarnation began: shown as `starting` or `restarting`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    /// The first start, or a resume after a stop.
    Fresh,
    /// Its supervisor restarted it after a failure or a kill.
    Restart,
}

/// Where a stopped partition picks up again when it is resumed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resume {
    /// Nothing is loaded: restore from the checkpoints first.
    Restore,
    /// The state is loaded and a connection is still being made.
    Connect,
    /// Attached to its source.
    Read,
    /// A `listen://` producer left; the next one is awaited.
    AwaitProducer,
    /// The source ended.
    End,
}

/// What a partition actor is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Waiting out the restart backoff, then loading the committed state and the
    /// intents of epochs that never committed.
    Restoring(Start),
    /// Connecting to the source (and subscribing), or waiting for the first
    /// producer of a `listen://` source.
    Connecting(Start),
    /// Reading the source while sealed epochs commit behind it.
    Reading,
    /// A `listen://` producer left; its epochs commit while the next is awaited.
    AwaitingProducer,
    /// The source ended: what was read commits, then [`Phase::Finished`].
    Ending,
    /// Every line the source held is committed.
    Finished,
    /// Asked to stop: nothing more is read; what was read commits, then
    /// [`Phase::Stopped`].
    Draining(Resume),
    /// Stopped with everything committed, until resumed.
    Stopped(Resume),
    /// Its identity differs from the one stored with its checkpoints: nothing
    /// was read or written. A resume tries again.
    Refused,
    /// Snapshots were committed but no chain of them decodes: nothing was read
    /// or written. A reset starts it over from offset 0; a resume tries again.
    Corrupt,
    /// Removed from the processor: it never works again.
    Retired,
}

impl Phase {
    pub const fn initial() -> Phase {
        Phase::Restoring(Start::Fresh)
    }

    /// Where a stop in this phase resumes.
    fn resume_point(self) -> Resume {
        match self {
            Phase::Restoring(_) | Phase::Refused | Phase::Corrupt | Phase::Retired => {
                Resume::Restore
            }
            Phase::Connecting(_) => Resume::Connect,
            Phase::Reading => Resume::Read,
            Phase::AwaitingProducer => Resume::AwaitProducer,
            Phase::Ending | Phase::Finished => Resume::End,
            Phase::Draining(r) | Phase::Stopped(r) => r,
        }
    }

    /// Whether reading is held back whatever the backpressure: stopping, stopped,
    /// refused, corrupt or retired.
    pub fn holds(self) -> bool {
        matches!(
            self,
            Phase::Draining(_)
                | Phase::Stopped(_)
                | Phase::Refused
                | Phase::Corrupt
                | Phase::Retired
        )
    }

    /// The committed state is loaded: connect.
    pub fn restored(self) -> Phase {
        match self {
            Phase::Restoring(start) => Phase::Connecting(start),
            other => other,
        }
    }

    /// A connection (or a `listen://` producer) is attached.
    pub fn attached(self) -> Phase {
        match self {
            Phase::Connecting(_) | Phase::AwaitingProducer => Phase::Reading,
            Phase::Draining(_) => Phase::Draining(Resume::Read),
            Phase::Stopped(_) => Phase::Stopped(Resume::Read),
            other => other,
        }
    }

    /// The `listen://` producer left; the listener waits for the next one.
    pub fn producer_left(self) -> Phase {
        match self {
            Phase::Reading => Phase::AwaitingProducer,
            Phase::Draining(_) => Phase::Draining(Resume::AwaitProducer),
            Phase::Stopped(_) => Phase::Stopped(Resume::AwaitProducer),
            other => other,
        }
    }

    /// The source ended.
    pub fn source_ended(self) -> Phase {
        match self {
            Phase::Reading | Phase::AwaitingProducer => Phase::Ending,
            Phase::Draining(_) => Phase::Draining(Resume::End),
            Phase::Stopped(_) => Phase::Stopped(Resume::End),
            other => other,
        }
    }

    /// No epoch is uncommitted any more.
    pub fn settled(self) -> Phase {
        match self {
            Phase::Ending => Phase::Finished,
            Phase::Draining(r) => Phase::Stopped(r),
            other => other,
        }
    }

    /// Asked to stop; `settled` when no epoch is uncommitted.
    pub fn drain(self, settled: bool) -> Phase {
        match self {
            Phase::Retired | Phase::Stopped(_) => self,
            Phase::Draining(r) if settled => Phase::Stopped(r),
            Phase::Draining(_) => self,
            _ if settled => Phase::Stopped(self.resume_point()),
            _ => Phase::Draining(self.resume_point()),
        }
    }

    /// Asked to resume: the phase to go back to, or `None` when not stopped.
    pub fn resume(self) -> Option<Phase> {
        let back = match self {
            Phase::Draining(r) | Phase::Stopped(r) => r,
            Phase::Refused | Phase::Corrupt => Resume::Restore,
            _ => return None,
        };
        Some(match back {
            Resume::Restore => Phase::Restoring(Start::Fresh),
            Resume::Connect => Phase::Connecting(Start::Fresh),
            Resume::Read => Phase::Reading,
            Resume::AwaitProducer => Phase::AwaitingProducer,
            Resume::End => Phase::Ending,
        })
    }

    /// Its supervisor restarts the actor: everything uncommitted is gone, so a stop
    /// under way is complete; a stopped partition stays stopped, with nothing loaded.
    pub fn restarted(self) -> Phase {
        match self {
            Phase::Draining(_) | Phase::Stopped(_) => Phase::Stopped(Resume::Restore),
            Phase::Refused | Phase::Corrupt | Phase::Retired => self,
            _ => Phase::Restoring(Start::Restart),
        }
    }

    /// What the outside sees: `backpressured` when reading is held back for
    /// uncommitted epochs.
    pub fn lifecycle(self, backpressured: bool) -> Lifecycle {
        match self {
            Phase::Restoring(Start::Fresh) | Phase::Connecting(Start::Fresh) => Lifecycle::Starting,
            Phase::Restoring(Start::Restart) | Phase::Connecting(Start::Restart) => {
                Lifecycle::Restarting
            }
            Phase::Reading | Phase::AwaitingProducer | Phase::Ending if backpressured => {
                Lifecycle::Backpressured
            }
            Phase::Reading | Phase::AwaitingProducer | Phase::Ending | Phase::Draining(_) => {
                Lifecycle::Running
            }
            Phase::Finished => Lifecycle::Finished,
            Phase::Stopped(_) | Phase::Refused | Phase::Retired => Lifecycle::Stopped,
            Phase::Corrupt => Lifecycle::Corrupt,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Phase::*;

    #[test]
    fn a_run_to_the_end_of_its_source() {
        let mut p = Phase::initial();
        assert_eq!(p.lifecycle(false), Lifecycle::Starting);
        p = p.restored();
        assert_eq!(p, Connecting(Start::Fresh));
        p = p.attached();
        assert_eq!((p, p.lifecycle(false)), (Reading, Lifecycle::Running));
        assert_eq!(p.lifecycle(true), Lifecycle::Backpressured);
        p = p.source_ended();
        assert_eq!((p, p.lifecycle(false)), (Ending, Lifecycle::Running));
        p = p.settled();
        assert_eq!((p, p.lifecycle(false)), (Finished, Lifecycle::Finished));
        assert!(!p.holds());
    }

    #[test]
    fn a_restart_shows_as_restarting_until_attached() {
        let p = Reading.restarted();
        assert_eq!(p, Restoring(Start::Restart));
        assert_eq!(p.lifecycle(false), Lifecycle::Restarting);
        assert_eq!(p.restored().lifecycle(false), Lifecycle::Restarting);
        assert_eq!(p.restored().attached(), Reading);
        assert_eq!(Finished.restarted(), Restoring(Start::Restart));
    }

    #[test]
    fn a_stop_commits_first_and_resumes_where_it_was() {
        let d = Reading.drain(false);
        assert_eq!(d, Draining(Resume::Read));
        assert!(d.holds());
        assert_eq!(d.lifecycle(false), Lifecycle::Running);
        assert_eq!(d.drain(false), d, "a second stop waits for the first");
        let s = d.settled();
        assert_eq!(
            (s, s.lifecycle(false)),
            (Stopped(Resume::Read), Lifecycle::Stopped)
        );
        assert_eq!(s.drain(true), s);
        assert_eq!(s.resume(), Some(Reading));
        assert_eq!(Reading.drain(true), Stopped(Resume::Read));
        // A resume that comes while draining wins.
        assert_eq!(d.resume(), Some(Reading));
        assert_eq!(Reading.resume(), None);
    }

    #[test]
    fn every_phase_resumes_to_itself() {
        for (p, back) in [
            (Restoring(Start::Restart), Restoring(Start::Fresh)),
            (Connecting(Start::Restart), Connecting(Start::Fresh)),
            (Reading, Reading),
            (AwaitingProducer, AwaitingProducer),
            (Ending, Ending),
            (Finished, Ending),
            (Refused, Restoring(Start::Fresh)),
        ] {
            assert_eq!(p.drain(true).resume(), Some(back), "{p:?}");
        }
        // Resumed after its source ended, a partition finishes once settled.
        assert_eq!(
            Finished.drain(true).resume().map(Phase::settled),
            Some(Finished)
        );
    }

    #[test]
    fn what_happens_while_stopped_is_where_it_resumes() {
        let s = Connecting(Start::Fresh).drain(true);
        assert_eq!(s, Stopped(Resume::Connect));
        assert_eq!(s.attached(), Stopped(Resume::Read));
        assert_eq!(
            Reading.drain(false).producer_left(),
            Draining(Resume::AwaitProducer)
        );
        assert_eq!(Reading.drain(false).source_ended(), Draining(Resume::End));
        // Killed while stopped: stays stopped, restores when resumed.
        assert_eq!(s.restarted(), Stopped(Resume::Restore));
        assert_eq!(Reading.drain(false).restarted(), Stopped(Resume::Restore));
        assert_eq!(s.restarted().resume(), Some(Restoring(Start::Fresh)));
    }

    #[test]
    fn refused_and_retired_partitions_stay_put() {
        assert_eq!(Refused.restarted(), Refused);
        assert_eq!(Refused.lifecycle(false), Lifecycle::Stopped);
        assert_eq!(Refused.drain(true), Stopped(Resume::Restore));
        for event in [
            Phase::restarted,
            Phase::restored,
            Phase::attached,
            Phase::settled,
            Phase::source_ended,
        ] {
            assert_eq!(event(Retired), Retired);
        }
        assert_eq!(Retired.drain(true), Retired);
        assert_eq!(Retired.resume(), None);
        assert_eq!(Retired.lifecycle(true), Lifecycle::Stopped);
    }

    #[test]
    fn a_corrupt_partition_holds_until_resumed_or_stopped() {
        assert_eq!(Corrupt.lifecycle(false), Lifecycle::Corrupt);
        assert!(Corrupt.holds());
        assert_eq!(Corrupt.restarted(), Corrupt);
        assert_eq!(Corrupt.restored(), Corrupt);
        assert_eq!(Corrupt.resume(), Some(Restoring(Start::Fresh)));
        assert_eq!(Corrupt.drain(true), Stopped(Resume::Restore));
    }

    #[test]
    fn a_listen_partition_between_producers_keeps_running() {
        let p = Reading.producer_left();
        assert_eq!(
            (p, p.lifecycle(false)),
            (AwaitingProducer, Lifecycle::Running)
        );
        assert_eq!(p.attached(), Reading);
    }
}
