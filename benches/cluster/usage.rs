//! Where a throughput run's time goes, counted between two samples: CPU time of
//! the ssa processes, of the Cassandra nodes and of the bench itself (the
//! generator); what the members' `/metrics` add up to; and, from each node's
//! own virtual tables (`system_views.local_read_latency`, `local_write_latency`),
//! the reads and writes each table of the run's keyspace served, with the
//! Paxos state writes (`system.paxos`) of lightweight transactions.

use std::collections::BTreeMap;
use std::time::Instant;

use crate::member::Member;
use crate::target::Target;

/// What was counted at one moment of a run.
pub struct Sample {
    at: Instant,
    /// CPU seconds of the members, of the nodes, of this process.
    cpu_members: f64,
    cpu_nodes: f64,
    cpu_bench: f64,
    /// Every member's `/metrics`, summed.
    metrics: BTreeMap<String, f64>,
    /// (keyspace, table) → (local reads, local writes), summed over the nodes.
    tables: BTreeMap<(String, String), (u64, u64)>,
}

fn clock_ticks() -> f64 {
    // SAFETY: sysconf has no preconditions.
    (unsafe { libc::sysconf(libc::_SC_CLK_TCK) }) as f64
}

/// User + system CPU seconds of a process (0 when it is gone).
pub fn cpu_seconds(pid: u32) -> f64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return 0.0;
    };
    // Fields after the command name, which may hold spaces: state is field 3,
    // utime and stime are fields 14 and 15.
    let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else {
        return 0.0;
    };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / clock_ticks()
}

/// The 1-minute load average.
pub fn load() -> f64 {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0.0)
}

type LatencyRow = (String, String, i64);

impl Sample {
    pub fn take(
        io: &tokio::runtime::Runtime,
        target: &Target,
        members: &[Member],
        keyspace: &str,
    ) -> Sample {
        let at = Instant::now();
        let cpu_members = members.iter().map(|m| cpu_seconds(m.pid())).sum();
        let cpu_nodes = target
            .nodes
            .iter()
            .filter_map(|(_, pid)| pid.map(cpu_seconds))
            .sum();
        let cpu_bench = cpu_seconds(std::process::id());
        let mut metrics = BTreeMap::new();
        for m in members {
            for (k, v) in m.metrics() {
                *metrics.entry(k).or_default() += v;
            }
        }
        let mut tables: BTreeMap<(String, String), (u64, u64)> = BTreeMap::new();
        io.block_on(async {
            for (node, _) in &target.nodes {
                for (which, view) in [(0, "local_read_latency"), (1, "local_write_latency")] {
                    let rows: Vec<LatencyRow> = target
                        .local_rows(
                            *node,
                            &format!(
                                "SELECT keyspace_name, table_name, count FROM system_views.{view}"
                            ),
                        )
                        .await;
                    for (ks, table, count) in rows {
                        let wanted = ks == keyspace || (ks == "system" && table == "paxos");
                        if !wanted {
                            continue;
                        }
                        let e = tables.entry((ks, table)).or_default();
                        let n = u64::try_from(count).unwrap_or(0);
                        if which == 0 {
                            e.0 += n;
                        } else {
                            e.1 += n;
                        }
                    }
                }
            }
        });
        Sample {
            at,
            cpu_members,
            cpu_nodes,
            cpu_bench,
            metrics,
            tables,
        }
    }
}

/// A count for the report: exact below ten thousand, in thousands above.
fn count(x: f64) -> String {
    if x < 10_000.0 {
        format!("{x:.0}")
    } else {
        format!("{:.0} k", x / 1e3)
    }
}

/// The difference between two samples of one run.
pub struct Usage {
    pub secs: f64,
    pub cpu_members: f64,
    pub cpu_nodes: f64,
    pub cpu_bench: f64,
    metrics: BTreeMap<String, f64>,
    tables: BTreeMap<(String, String), (u64, u64)>,
}

impl Usage {
    pub fn between(a: &Sample, b: &Sample) -> Usage {
        let metrics = b
            .metrics
            .iter()
            .map(|(k, v)| (k.clone(), v - a.metrics.get(k).copied().unwrap_or(0.0)))
            .collect();
        let tables = b
            .tables
            .iter()
            .map(|(k, (r, w))| {
                let (r0, w0) = a.tables.get(k).copied().unwrap_or((0, 0));
                (k.clone(), (r.saturating_sub(r0), w.saturating_sub(w0)))
            })
            .collect();
        Usage {
            secs: (b.at - a.at).as_secs_f64(),
            cpu_members: b.cpu_members - a.cpu_members,
            cpu_nodes: b.cpu_nodes - a.cpu_nodes,
            cpu_bench: b.cpu_bench - a.cpu_bench,
            metrics,
            tables,
        }
    }

    fn metric(&self, name: &str) -> f64 {
        self.metrics.get(name).copied().unwrap_or(0.0)
    }

    /// Mean of a histogram over the interval, in milliseconds, and its count.
    fn mean_ms(&self, histogram: &str) -> (f64, f64) {
        let n = self.metric(&format!("{histogram}_count"));
        let sum = self.metric(&format!("{histogram}_sum"));
        (if n > 0.0 { 1000.0 * sum / n } else { 0.0 }, n)
    }

    /// Local reads and writes of one table, summed over the nodes.
    fn table(&self, ks: &str, table: &str) -> (u64, u64) {
        self.tables
            .iter()
            .filter(|((k, t), _)| (k == ks || ks == "*") && t == table)
            .fold((0, 0), |acc, (_, (r, w))| (acc.0 + r, acc.1 + w))
    }

    /// The breakdown, per million events committed in the interval.
    pub fn report(&self, events: f64) -> String {
        let per = |x: f64| x * 1e6 / events;
        let (commit_ms, epochs) = self.mean_ms("ssa_epoch_commit_seconds");
        let (checkpoint_ms, _) = self.mean_ms("ssa_checkpoint_seconds");
        let lease = |op: &str| {
            let n = self.metric(&format!("ssa_lease_seconds_count{{op=\"{op}\"}}"));
            let sum = self.metric(&format!("ssa_lease_seconds_sum{{op=\"{op}\"}}"));
            (if n > 0.0 { 1000.0 * sum / n } else { 0.0 }, n)
        };
        let (lease_ms, lease_commits) = lease("commit");
        let (renew_ms, renewals) = lease("renew");
        let (round_ms, rounds) = self.mean_ms("ssa_cluster_round_seconds");
        let (write_ms, writes) = self.mean_ms("ssa_cassandra_write_seconds");
        let (partial_reads, partial_writes) = self.table("*", "rollups_by_partition");
        let (_, total_writes) = self.table("*", "rollups_total");
        let (_, raw_writes) = self.table("*", "events_raw");
        let (paxos_reads, paxos_writes) = self.table("system", "paxos");
        let mut lines = vec![
            format!(
                "CPU s: ssa {:.1}, Cassandra {:.1}, generator and bench {:.1} (over {:.1} s of wall time)",
                per(self.cpu_members),
                per(self.cpu_nodes),
                per(self.cpu_bench),
                per(self.secs)
            ),
            format!(
                "epochs {:.0}, seal→commit mean {:.0} ms (snapshot {:.0} ms{}); write requests {}, mean {:.1} ms; backpressure {:.1} s",
                per(epochs),
                commit_ms,
                checkpoint_ms,
                if lease_commits > 0.0 {
                    format!(", fenced commit {lease_ms:.0} ms")
                } else {
                    String::new()
                },
                count(per(writes)),
                write_ms,
                per(self.metric("ssa_backpressure_seconds_total"))
            ),
            format!(
                "rows written: raw {} (so {} events written again after a restore), partials and minute buckets {}, totals {}",
                count(per(self.metric("ssa_raw_rows_written_total"))),
                count(per(self.metric("ssa_raw_rows_written_total") - events).max(0.0)),
                count(per(self.metric("ssa_rollup_rows_written_total"))),
                count(per(self.metric("ssa_total_rows_written_total")))
            ),
            format!(
                "on the replicas (all nodes): rollups_by_partition {} reads, {} writes; rollups_total {} writes; events_raw {} writes; system.paxos {} reads, {} writes",
                count(per(partial_reads as f64)),
                count(per(partial_writes as f64)),
                count(per(total_writes as f64)),
                count(per(raw_writes as f64)),
                count(per(paxos_reads as f64)),
                count(per(paxos_writes as f64))
            ),
        ];
        if renewals > 0.0 {
            lines.push(format!(
                "in the run: lease renewals {renewals:.0}, mean {renew_ms:.0} ms; coordination rounds {rounds:.0}, mean {round_ms:.0} ms"
            ));
        }
        let moves =
            self.metric("ssa_lease_losses_total") + self.metric("ssa_lease_takeovers_total");
        if moves > 0.0 {
            lines.push(format!(
                "in the run: leases lost {:.0}, taken over {:.0}, commits refused by fencing {:.0}",
                self.metric("ssa_lease_losses_total"),
                self.metric("ssa_lease_takeovers_total"),
                self.metric("ssa_fenced_commits_refused_total")
            ));
        }
        for l in &mut lines {
            l.insert_str(0, "    ");
        }
        format!("  per million events committed:\n{}", lines.join("\n"))
    }
}
