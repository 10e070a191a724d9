//! Fair shares, purely: from the live members and the lease rows, which free
//! partitions this member tries to take and which of its own it hands over.

use std::collections::BTreeSet;

use super::store::LeaseRow;

/// What one coordination round does.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Plan {
    /// Leases to try to take, as last read (the acquisition is conditional on it).
    pub acquire: Vec<LeaseRow>,
    /// Held partitions to hand over gracefully (commit, then release).
    pub release: Vec<String>,
}

/// A partition's fair share: every partition owned, none by more than one
/// member, the counts of two members differing by at most one once settled.
pub fn fair_share(partitions: usize, members: usize) -> usize {
    partitions.div_ceil(members.max(1))
}

/// A score of (member, partition), the same in every process of one build: members prefer
/// different free partitions, so that they seldom race for the same one.
fn score(node: &str, partition: &str) -> u64 {
    use std::hash::BuildHasher;
    foldhash::fast::FixedState::with_seed(0x55a).hash_one((node, partition))
}

/// The round of `node`: `members` are the live ones (itself counted whether
/// or not its own heartbeat was read back yet), `job` the partitions every
/// member is given, `held` the ones it holds, `avoid` ones it just handed over.
pub fn plan(
    node: &str,
    job: &[String],
    members: &[String],
    leases: &[LeaseRow],
    held: &BTreeSet<String>,
    avoid: &BTreeSet<String>,
) -> Plan {
    let mut live: BTreeSet<&str> = members.iter().map(String::as_str).collect();
    live.insert(node);
    let share = fair_share(job.len(), live.len());
    let mut out = Plan::default();
    if held.len() > share {
        let mut mine: Vec<&String> = held.iter().collect();
        mine.sort_by_key(|p| score(node, p));
        out.release = mine.into_iter().take(held.len() - share).cloned().collect();
        return out;
    }
    let want = share - held.len();
    let mut free: Vec<&LeaseRow> = leases
        .iter()
        .filter(|l| job.contains(&l.partition) && !held.contains(&l.partition))
        .filter(|l| !avoid.contains(&l.partition))
        // Free, or recorded as this member's by an acquisition whose answer was lost.
        .filter(|l| l.owner.as_deref().is_none_or(|o| o == node))
        .collect();
    free.sort_by_key(|l| {
        (
            l.owner.is_none(),
            std::cmp::Reverse(score(node, &l.partition)),
        )
    });
    out.acquire = free.into_iter().take(want).cloned().collect();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lease(p: &str, owner: Option<&str>) -> LeaseRow {
        LeaseRow {
            partition: p.into(),
            owner: owner.map(Into::into),
            token: 1,
            committed_epoch: 0,
            committed_offset: 0,
            finished_offset: None,
            acquired_at: None,
        }
    }

    fn job(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("p{i}")).collect()
    }

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn shares_cover_every_partition() {
        assert_eq!(fair_share(8, 3), 3);
        assert_eq!(fair_share(8, 2), 4);
        assert_eq!(fair_share(8, 1), 8);
        assert_eq!(fair_share(8, 0), 8);
        assert_eq!(fair_share(2, 3), 1);
    }

    #[test]
    fn a_member_takes_free_partitions_up_to_its_share() {
        let j = job(8);
        let leases: Vec<LeaseRow> = j.iter().map(|p| lease(p, None)).collect();
        let none = BTreeSet::new();
        let p = plan("a", &j, &names(&["a", "b", "c"]), &leases, &none, &none);
        assert_eq!(p.acquire.len(), 3);
        assert!(p.release.is_empty());
        // Members rank the free partitions differently.
        let q = plan("b", &j, &names(&["a", "b", "c"]), &leases, &none, &none);
        assert_ne!(p.acquire, q.acquire);
    }

    #[test]
    fn owned_partitions_are_left_alone_and_extras_are_handed_over() {
        let j = job(8);
        let leases: Vec<LeaseRow> = j.iter().map(|p| lease(p, Some("a"))).collect();
        let held: BTreeSet<String> = j.iter().cloned().collect();
        let none = BTreeSet::new();
        // Alone, "a" keeps all eight.
        assert_eq!(
            plan("a", &j, &names(&["a"]), &leases, &held, &none),
            Plan::default()
        );
        // A second member joins: "a" hands four over and takes nothing.
        let p = plan("a", &j, &names(&["a", "b"]), &leases, &held, &none);
        assert_eq!((p.release.len(), p.acquire.len()), (4, 0));
        // "b" finds nothing free until then.
        let none_held = BTreeSet::new();
        let p = plan("b", &j, &names(&["a", "b"]), &leases, &none_held, &none);
        assert!(p.acquire.is_empty());
    }

    #[test]
    fn a_lease_recorded_as_its_own_is_taken_first_and_avoided_ones_never() {
        let j = job(3);
        let leases = vec![lease("p0", None), lease("p1", Some("a")), lease("p2", None)];
        let none = BTreeSet::new();
        let avoid: BTreeSet<String> = ["p2".to_string()].into();
        let p = plan("a", &j, &names(&["a"]), &leases, &none, &avoid);
        let got: Vec<&str> = p.acquire.iter().map(|l| l.partition.as_str()).collect();
        assert_eq!(got, ["p1", "p0"]);
    }
}
