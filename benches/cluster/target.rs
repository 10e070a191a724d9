//! The Cassandra a bench run measures against: the single node of
//! `SSA_TEST_CONTACT_POINT`, or a 3-node cluster the bench starts itself with
//! `scripts/cassandra cluster start 3` on addresses of its own and its data in
//! a temporary folder, stopped and wiped when dropped.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;

use scylla::client::session::Session;
use scylla::policies::load_balancing::{NodeIdentifier, SingleTargetLoadBalancingPolicy};
use scylla::statement::unprepared::Statement;
use scylla::statement::Consistency;
use ssa::config::{CassandraConfig, ConsistencyName, ReplicationClass, SerialConsistencyName};

/// The cluster's seed address; the other nodes take the two after it. No
/// test uses these (`tests/cassandra_cluster.rs` runs on 127.0.0.61–63).
const CLUSTER_FIRST: &str = "127.0.0.71";
const CLUSTER_NODES: usize = 3;
/// Data folders of this bench's clusters: `<tmp>/ssa-cluster-bench-<pid>`.
const ROOT_PREFIX: &str = "ssa-cluster-bench-";

pub struct Target {
    /// How the figures name it.
    pub name: &'static str,
    pub contact_points: Vec<String>,
    /// The `[cassandra]` lines of a member's config beside contact points and keyspace.
    pub cassandra_toml: String,
    /// The same settings for the bench's own session.
    pub cassandra: CassandraConfig,
    /// Each node's CQL address and, when found, its process id.
    pub nodes: Vec<(SocketAddr, Option<u32>)>,
    pub session: Arc<Session>,
    /// The data root of a cluster this bench started (stopped when dropped).
    root: Option<PathBuf>,
}

impl Target {
    /// The single node at `contact_point`, writes at ONE (its only replica).
    pub fn single(io: &tokio::runtime::Runtime, contact_point: &str) -> Target {
        let cassandra = CassandraConfig {
            contact_points: vec![contact_point.to_string()],
            consistency: ConsistencyName::One,
            ..CassandraConfig::default()
        };
        let addr: SocketAddr = contact_point.parse().expect("an ip:port contact point");
        let session = io
            .block_on(ssa::cassandra::connect(&cassandra))
            .expect("the node answers");
        Target {
            name: "single node",
            contact_points: cassandra.contact_points.clone(),
            cassandra_toml: "consistency = \"one\"\n".into(),
            cassandra,
            nodes: vec![(addr, node_pid(&addr.ip().to_string()))],
            session,
            root: None,
        }
    }

    /// Starts a 3-node cluster (replication factor 3, QUORUM, SERIAL).
    pub fn cluster(io: &tokio::runtime::Runtime) -> Target {
        stop_leftovers();
        let root = std::env::temp_dir().join(format!("{ROOT_PREFIX}{}", std::process::id()));
        let out = script(&root, &["start", &CLUSTER_NODES.to_string()]);
        assert!(
            out.status.success(),
            "scripts/cassandra cluster start {CLUSTER_NODES} failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        print!("{}", String::from_utf8_lossy(&out.stdout));
        let first: std::net::Ipv4Addr = CLUSTER_FIRST.parse().unwrap();
        let addresses: Vec<String> = (0..CLUSTER_NODES as u32)
            .map(|i| std::net::Ipv4Addr::from(u32::from(first) + i).to_string())
            .collect();
        let contact_points: Vec<String> = addresses.iter().map(|a| format!("{a}:9042")).collect();
        let cassandra = CassandraConfig {
            contact_points: contact_points.clone(),
            replication_class: ReplicationClass::SimpleStrategy,
            replication_factor: 3,
            consistency: ConsistencyName::Quorum,
            serial_consistency: SerialConsistencyName::Serial,
            ..CassandraConfig::default()
        };
        let session = io
            .block_on(ssa::cassandra::connect(&cassandra))
            .expect("the cluster answers");
        let nodes = addresses
            .iter()
            .map(|a| {
                let pid = std::fs::read_to_string(root.join(a).join("cassandra.pid"))
                    .ok()
                    .and_then(|s| s.trim().parse().ok());
                (format!("{a}:9042").parse().unwrap(), pid)
            })
            .collect();
        Target {
            name: "3-node cluster",
            contact_points,
            cassandra_toml: "replication_class = \"SimpleStrategy\"\nreplication_factor = 3\n\
                             consistency = \"quorum\"\nserial_consistency = \"serial\"\n"
                .into(),
            cassandra,
            nodes,
            session,
            root: Some(root),
        }
    }

    /// Creates the keyspace and tables once, before any member starts: members
    /// starting together would otherwise create the same tables concurrently
    /// on different coordinators.
    pub fn create(&self, io: &tokio::runtime::Runtime, keyspace: &str) {
        let c = CassandraConfig {
            keyspace: keyspace.to_string(),
            ..self.cassandra.clone()
        };
        io.block_on(ssa::cassandra::schema::apply(&self.session, &c))
            .expect("schema applied");
    }

    pub fn drop_keyspace(&self, io: &tokio::runtime::Runtime, keyspace: &str) {
        let _ = io.block_on(
            self.session
                .query_unpaged(format!("DROP KEYSPACE IF EXISTS {keyspace}"), ()),
        );
    }

    /// Rows of a node-local virtual table, read from `node` itself.
    pub async fn local_rows<R>(&self, node: SocketAddr, cql: &str) -> Vec<R>
    where
        R: for<'f, 'm> scylla::deserialize::row::DeserializeRow<'f, 'm>,
    {
        let mut statement = Statement::new(cql);
        statement.set_consistency(Consistency::One);
        statement.set_load_balancing_policy(Some(SingleTargetLoadBalancingPolicy::new(
            NodeIdentifier::NodeAddress(node),
            None,
        )));
        let Ok(result) = self.session.query_unpaged(statement, ()).await else {
            return Vec::new();
        };
        let Ok(rows) = result.into_rows_result() else {
            return Vec::new();
        };
        let Ok(iter) = rows.rows::<R>() else {
            return Vec::new();
        };
        iter.filter_map(Result::ok).collect()
    }
}

impl Drop for Target {
    fn drop(&mut self) {
        if let Some(root) = self.root.take() {
            stop(&root);
        }
    }
}

fn script(root: &Path, args: &[&str]) -> std::process::Output {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/cassandra");
    Command::new(script)
        .arg("cluster")
        .args(args)
        .args(["--first-address", CLUSTER_FIRST, "--data-root"])
        .arg(root)
        .stdin(Stdio::null())
        .output()
        .expect("scripts/cassandra runs")
}

/// Stops the cluster of `root` (its data is thrown away) and removes the folder.
fn stop(root: &Path) {
    let out = script(root, &["stop", "--stop-timeout", "5"]);
    if !out.status.success() {
        eprintln!(
            "cluster stop: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let _ = std::fs::remove_dir_all(root);
}

/// Clusters of earlier runs of this bench that ended without dropping theirs
/// (an interrupted run): stopped by their pid files, their folders removed.
fn stop_leftovers() {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = name.strip_prefix(ROOT_PREFIX) else {
            continue;
        };
        if Path::new("/proc").join(pid).exists() {
            continue; // its bench is still running
        }
        eprintln!("stopping the cluster left in {}", entry.path().display());
        stop(&entry.path());
    }
}

/// The process of the Cassandra node listening on `address`, as
/// `scripts/cassandra` starts it (its storage folder ends with the address).
fn node_pid(address: &str) -> Option<u32> {
    let suffix = format!("/{address}");
    std::fs::read_dir("/proc").ok()?.flatten().find_map(|e| {
        let pid: u32 = e.file_name().to_str()?.parse().ok()?;
        let cmdline = std::fs::read(e.path().join("cmdline")).ok()?;
        let args: Vec<&[u8]> = cmdline.split(|b| *b == 0).collect();
        let daemon = args
            .iter()
            .any(|a| a.ends_with(b"org.apache.cassandra.service.CassandraDaemon"));
        let here = args.iter().any(|a| {
            a.strip_prefix(b"-Dcassandra.storagedir=")
                .is_some_and(|dir| dir.ends_with(suffix.as_bytes()))
        });
        (daemon && here).then_some(pid)
    })
}
