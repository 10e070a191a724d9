//! What supervision counts: the kinds of actors, why one was restarted, and which
//! ones fault injection (the admin API, chaos mode) may kill. The metric labels,
//! the API's enums and its OpenAPI document all come from these.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Why an actor was restarted (the `cause` label of `ssa_actor_restarts_total`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RestartCause {
    /// Fault injection (admin API, chaos, tests).
    Killed,
    /// The source could not be reached, or the connection broke.
    Connection,
    /// Restoring from the checkpoint store or repairing failed.
    Restore,
}

impl RestartCause {
    pub const ALL: [RestartCause; 3] = [
        RestartCause::Killed,
        RestartCause::Connection,
        RestartCause::Restore,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RestartCause::Killed => "killed",
            RestartCause::Connection => "connection",
            RestartCause::Restore => "restore",
        }
    }

    /// Its position in [`RestartCause::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }
}

/// The supervised actors (the `actor` label of `ssa_actor_restarts_total`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ActorKind {
    Partition,
    Sink,
    Checkpoint,
    Merger,
}

impl ActorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ActorKind::Partition => "partition",
            ActorKind::Sink => "sink",
            ActorKind::Checkpoint => "checkpoint",
            ActorKind::Merger => "merger",
        }
    }

    /// The restart causes this kind of actor can have: a partition fails on its
    /// own; the others only restart when killed.
    pub fn causes(self) -> &'static [RestartCause] {
        match self {
            ActorKind::Partition => &RestartCause::ALL,
            _ => &[RestartCause::Killed],
        }
    }

    pub const ALL: [ActorKind; 4] = [
        ActorKind::Partition,
        ActorKind::Sink,
        ActorKind::Checkpoint,
        ActorKind::Merger,
    ];
}

/// An actor kind fault injection may kill (the `target` label of `ssa_chaos_kills_total`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ChaosTarget {
    Partition,
    Sink,
    Checkpoint,
}

impl ChaosTarget {
    pub const ALL: [ChaosTarget; 3] = [
        ChaosTarget::Partition,
        ChaosTarget::Sink,
        ChaosTarget::Checkpoint,
    ];

    pub fn actor(self) -> ActorKind {
        match self {
            ChaosTarget::Partition => ActorKind::Partition,
            ChaosTarget::Sink => ActorKind::Sink,
            ChaosTarget::Checkpoint => ActorKind::Checkpoint,
        }
    }

    pub fn as_str(self) -> &'static str {
        self.actor().as_str()
    }

    /// Its position in [`ChaosTarget::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The names the metrics use are the names serde gives the API.
    #[test]
    fn labels_are_the_serialized_names() {
        for c in RestartCause::ALL {
            assert_eq!(serde_json::to_value(c).unwrap(), c.as_str());
            assert_eq!(RestartCause::ALL[c.index()], c);
        }
        for t in ChaosTarget::ALL {
            assert_eq!(serde_json::to_value(t).unwrap(), t.as_str());
            assert_eq!(ChaosTarget::ALL[t.index()], t);
        }
        let names: Vec<&str> = ActorKind::ALL.iter().map(|a| a.as_str()).collect();
        assert_eq!(names, ["partition", "sink", "checkpoint", "merger"]);
    }
}
