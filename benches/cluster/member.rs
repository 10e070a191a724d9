//! One `ssa run` process of a bench run: a cluster member, or the same job run
//! by a single process without cluster mode. Killed when dropped.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::target::Target;
use crate::{wait_for, LEASE_TTL_MS, PARTITIONS, RENEW_MS};

/// The lease settings of a cluster member.
#[derive(Clone, Copy)]
pub enum Lease {
    /// The defaults (`lease_ttl` 10 s, renewed every 3.3 s): throughput runs.
    Default,
    /// `LEASE_TTL_MS` and `RENEW_MS`: takeover trials, so that they are short.
    Short,
}

pub struct Member {
    child: Child,
    base: String,
    agent: ureq::Agent,
}

impl Drop for Member {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Settings every process of a run shares: the ones the README's figures name.
fn config(
    target: &Target,
    keyspace: &str,
    gen: SocketAddr,
    node: Option<&str>,
    lease: Lease,
) -> String {
    let points: Vec<String> = target
        .contact_points
        .iter()
        .map(|p| format!("\"{p}\""))
        .collect();
    let mut toml = format!(
        "[cassandra]\ncontact_points = [{}]\nkeyspace = \"{keyspace}\"\n{}\
         [processor]\nflush_interval = \"200ms\"\nmax_epoch_events = 20000\n",
        points.join(", "),
        target.cassandra_toml
    );
    if let Some(node) = node {
        toml.push_str(&format!(
            "[cluster]\nenabled = true\nnode_id = \"{node}\"\n"
        ));
        if let Lease::Short = lease {
            toml.push_str(&format!(
                "lease_ttl = \"{LEASE_TTL_MS}ms\"\nrenew_every = \"{RENEW_MS}ms\"\n"
            ));
        }
    }
    for i in 0..PARTITIONS {
        toml.push_str(&format!(
            "[[partitions]]\nid = \"p{i}\"\nsource = \"tcp://{gen}\"\nindex = {i}\ncount = {PARTITIONS}\n"
        ));
    }
    toml
}

impl Member {
    /// Starts `ssa run` on the job; a cluster member named `node`, or with
    /// `None` a process without cluster mode (named `single`).
    pub fn start(
        dir: &Path,
        target: &Target,
        keyspace: &str,
        gen: SocketAddr,
        node: Option<&str>,
        lease: Lease,
    ) -> Member {
        let name = node.unwrap_or("single");
        let config_path = dir.join(format!("{keyspace}-{name}.toml"));
        std::fs::write(&config_path, config(target, keyspace, gen, node, lease)).unwrap();
        let log = dir.join(format!("{keyspace}-{name}.log"));
        let child = Command::new(env!("CARGO_BIN_EXE_ssa"))
            .arg("--config")
            .arg(&config_path)
            .args(["run", "--admin-listen", "127.0.0.1:0"])
            .env("NO_COLOR", "1")
            .env("RUST_LOG", "warn,ssa::admin=info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("ssa starts");
        let addr = wait_for(Duration::from_secs(120), || admin_addr(&log));
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(30)))
            .build()
            .into();
        Member {
            child,
            base: format!("http://{addr}"),
            agent,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    fn text(&self, path: &str) -> Option<String> {
        let mut r = self.agent.get(format!("{}{path}", self.base)).call().ok()?;
        if r.status() != 200 {
            return None;
        }
        r.body_mut().read_to_string().ok()
    }

    pub fn get(&self, path: &str) -> Option<Value> {
        serde_json::from_str(&self.text(path)?).ok()
    }

    /// `/metrics`: each series as written (`name{labels}`), and each metric
    /// summed over its label values (`name`; histograms as `name_sum` and
    /// `name_count`).
    pub fn metrics(&self) -> BTreeMap<String, f64> {
        let mut out = BTreeMap::new();
        for line in self.text("/metrics").unwrap_or_default().lines() {
            if line.starts_with('#') {
                continue;
            }
            let Some((series, value)) = line.rsplit_once(' ') else {
                continue;
            };
            let name = series.split('{').next().unwrap_or(series);
            if let Ok(v) = value.parse::<f64>() {
                *out.entry(name.to_string()).or_default() += v;
                if name != series {
                    out.insert(series.to_string(), v);
                }
            }
        }
        out
    }

    /// Each partition's committed offset as this process last saw it.
    fn committed_offsets(&self) -> Option<Vec<(String, u64)>> {
        let v = self.get("/partitions")?;
        Some(
            v["partitions"]
                .as_array()?
                .iter()
                .filter_map(|p| {
                    Some((
                        p["id"].as_str()?.to_string(),
                        p["committed_offset"].as_u64()?,
                    ))
                })
                .collect(),
        )
    }

    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn admin_addr(log: &Path) -> Option<String> {
    let text = std::fs::read_to_string(log).ok()?;
    text.lines().find_map(|line| {
        let rest = &line[line.find("admin api listening")?..];
        let rest = &rest[rest.find("addr=")? + 5..];
        rest.split_whitespace().next().map(str::to_string)
    })
}

/// Events committed by the job, from the members' memory: per partition the
/// highest committed offset any of them shows (a member that held it before
/// shows an older one).
pub fn committed_by(members: &[Member]) -> Option<u64> {
    let mut best: BTreeMap<String, u64> = BTreeMap::new();
    for m in members {
        for (id, offset) in m.committed_offsets()? {
            let e = best.entry(id).or_default();
            *e = (*e).max(offset);
        }
    }
    Some(best.values().sum())
}

/// Each partition's lease owner, from a member's `GET /cluster`.
pub fn owners(cluster: &Value) -> BTreeMap<String, Option<String>> {
    cluster["partitions"]
        .as_array()
        .map(|ps| {
            ps.iter()
                .map(|p| {
                    let o = p["owner"].as_str().map(str::to_string);
                    (p["partition"].as_str().unwrap_or("").to_string(), o)
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Whether every partition is leased and each of `n` members holds its share.
pub fn settled(cluster: &Value, n: usize) -> bool {
    let o = owners(cluster);
    let mut per: BTreeMap<String, usize> = BTreeMap::new();
    for w in o.values() {
        match w {
            Some(w) => *per.entry(w.clone()).or_default() += 1,
            None => return false,
        }
    }
    let share = (PARTITIONS as usize).div_ceil(n);
    o.len() == PARTITIONS as usize && per.len() == n && per.values().all(|c| *c <= share)
}
