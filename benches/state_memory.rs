//! Bytes per resident key, measured with a counting global allocator: each copy of a
//! key's state the processor keeps, for keys that are each held by one partition
//! (as every unbounded key is).
//!
//! - partition state: the partition actor's `RollupState` after one epoch that
//!   touched each key once, sealed (keys, their index, one minute bucket each);
//! - minute bucket: what one more bucket per key adds to that state;
//! - checkpoint copy: what the checkpoint actor keeps after persisting that epoch's
//!   snapshot (the real actor, a folder store);
//! - merger totals: what the merger's `DashMap` keeps after that epoch's commit (the
//!   real actor, no Cassandra).
//!
//! Two key shapes: seed keys (a franchise UUID and a word of the list, ~6 bytes)
//! and unbounded keys (a franchise UUID and a UUID text of 36 bytes, from the
//! generator's `--keys unbounded`). Figures are live heap bytes as requested from
//! the allocator, and an estimate of what glibc's malloc takes for them (its 8-byte
//! header, 16-byte rounding, 32-byte minimum per allocation).
//!
//! Run: `cargo bench --bench state_memory`. Optional argument: keys (default 1,000,000).

use std::alloc::{GlobalAlloc, Layout, System as SystemAlloc};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use actix::prelude::*;
use uuid::Uuid;

use ssa::actors::checkpoint::{CheckpointActor, Persist, Restore};
use ssa::actors::merger::{Committed, Merger, Totals};
use ssa::checkpoint::{CheckpointStore, Identity, LocalStore, SourceKind};
use ssa::config::SourceMode;
use ssa::core::{encode, EventRef, RollupState, SnapshotKind, StateOptions, MINUTE_MS};
use ssa::format::Format;
use ssa::gen::{franchise_uuid, KeyMode, Words, Workload, WorkloadOptions};

/// Counts live heap bytes and allocations, and estimates malloc's own share.
struct Counting;

static LIVE_BYTES: AtomicI64 = AtomicI64::new(0);
static LIVE_CHUNK_BYTES: AtomicI64 = AtomicI64::new(0);
static LIVE_ALLOCATIONS: AtomicI64 = AtomicI64::new(0);

/// The size of the glibc chunk holding `size` bytes (small allocations; large ones
/// are mapped pages and touched lazily, which this over-counts by under a page).
fn chunk(size: usize) -> i64 {
    ((size + 8 + 15) & !15).max(32) as i64
}

fn add(size: usize, sign: i64) {
    LIVE_BYTES.fetch_add(sign * size as i64, Ordering::Relaxed);
    LIVE_CHUNK_BYTES.fetch_add(sign * chunk(size), Ordering::Relaxed);
    LIVE_ALLOCATIONS.fetch_add(sign, Ordering::Relaxed);
}

// SAFETY: forwards to the system allocator unchanged; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        add(layout.size(), 1);
        unsafe { SystemAlloc.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        add(layout.size(), -1);
        unsafe { SystemAlloc.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        add(layout.size(), -1);
        add(new_size, 1);
        unsafe { SystemAlloc.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[derive(Clone, Copy, Default)]
struct Live {
    bytes: i64,
    chunks: i64,
    allocations: i64,
}

impl Live {
    fn now() -> Live {
        Live {
            bytes: LIVE_BYTES.load(Ordering::Relaxed),
            chunks: LIVE_CHUNK_BYTES.load(Ordering::Relaxed),
            allocations: LIVE_ALLOCATIONS.load(Ordering::Relaxed),
        }
    }

    fn since(self, before: Live) -> Live {
        Live {
            bytes: self.bytes - before.bytes,
            chunks: self.chunks - before.chunks,
            allocations: self.allocations - before.allocations,
        }
    }

    fn plus(self, other: Live) -> Live {
        Live {
            bytes: self.bytes + other.bytes,
            chunks: self.chunks + other.chunks,
            allocations: self.allocations + other.allocations,
        }
    }
}

/// One key per entry: a franchise and an event name, built before measuring.
struct Keys {
    label: &'static str,
    keys: Vec<(Uuid, String)>,
}

/// Seed-shaped keys: the seed's word list under as many franchises as needed.
fn seed_keys(n: usize) -> Keys {
    let words = Words::default();
    let keys = (0..n)
        .map(|i| {
            let franchise = franchise_uuid((i / words.len()) as u64);
            (
                franchise,
                words.get(i % words.len()).expect("word").to_owned(),
            )
        })
        .collect();
    Keys {
        label: "seed keys",
        keys,
    }
}

/// The generator's unbounded keys: cycles 0..n, one new key each.
fn unbounded_keys(n: usize) -> Keys {
    let workload = Workload::new(WorkloadOptions {
        keys: KeyMode::Unbounded,
        ..WorkloadOptions::default()
    })
    .expect("workload");
    let keys = (0..n as u64)
        .map(|c| {
            let e = workload.event(c);
            (e.franchise_id, e.event_name.into_owned())
        })
        .collect();
    Keys {
        label: "unbounded keys",
        keys,
    }
}

const T0: i64 = 1_700_000_000_000;

/// One epoch touching each key once at minute `T0`, sealed; also the same state
/// with a second bucket per key (one more epoch at the next minute).
fn partition_state(keys: &Keys) -> (Live, Live, RollupState) {
    let record = |st: &mut RollupState, offset0: u64, ms: i64| {
        for (i, (f, name)) in keys.keys.iter().enumerate() {
            st.record(offset0 + i as u64, &EventRef::new(*f, name), ms);
        }
    };
    let before = Live::now();
    let mut one = RollupState::new("p0", StateOptions::default());
    record(&mut one, 0, T0);
    drop(one.seal_epoch());
    let state = Live::now().since(before);

    let mut two = RollupState::new("p0", StateOptions::default());
    record(&mut two, 0, T0);
    drop(two.seal_epoch());
    let before = Live::now();
    record(&mut two, keys.keys.len() as u64, T0 + MINUTE_MS);
    drop(two.seal_epoch());
    let bucket = Live::now().since(before);
    drop(two);
    (state, bucket, one)
}

fn identity() -> Identity {
    Identity {
        source: SourceKind::Connect,
        mode: SourceMode::Replayable,
        index: 0,
        count: 1,
        format: Format::Seed,
    }
}

/// What the checkpoint actor and the merger keep once the epoch that brought
/// every key is persisted and committed.
fn actors(keys: &Keys) -> (Live, Live) {
    let dir = tempfile::tempdir().expect("tempdir");
    let io = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("io runtime");
    let handle = io.handle().clone();
    let system = System::new();
    let out = system.block_on(async move {
        let store = Arc::new(CheckpointStore::Local(LocalStore::new(dir.path())));
        let checkpoint = CheckpointActor::new(store, handle.clone(), 2).start();
        checkpoint
            .send(Restore {
                partition: "p0".into(),
                options: StateOptions::default(),
                identity: identity(),
                upto: None,
            })
            .await
            .expect("checkpoint actor")
            .expect("restore");
        let totals: Totals = Arc::new(Default::default());
        let merger = Merger::new(totals.clone(), None, handle).start();
        // The partition's epoch: its first snapshot after a restore is a base. The
        // sealed epoch, its snapshot and their encoding are handed over and dropped
        // by the actors: what is left once they are done is what the actors keep.
        let mut state = RollupState::new("p0", StateOptions::default());
        for (i, (f, name)) in keys.keys.iter().enumerate() {
            state.record(i as u64, &EventRef::new(*f, name), T0);
        }
        let before = Live::now();
        let sealed = Arc::new(state.seal_epoch());
        let sealed_size = Live::now().since(before);
        let snapshot = state
            .snapshot(&sealed, SnapshotKind::Base)
            .expect("snapshot");
        let bytes = encode(&snapshot).expect("encode");
        checkpoint
            .send(Persist {
                snapshot: Arc::new(snapshot),
                bytes: Arc::new(bytes),
                timestamp: None,
            })
            .await
            .expect("checkpoint actor")
            .expect("persist");
        let persisted = Live::now();
        let checkpoint_copy = persisted.since(before).since(sealed_size);

        let weak = Arc::downgrade(&sealed);
        merger
            .send(Committed {
                partition: 0,
                id: "p0".into(),
                sealed,
            })
            .await
            .expect("merger");
        assert!(weak.upgrade().is_none(), "the merger keeps no sealed epoch");
        let merger_totals = Live::now().since(persisted).plus(sealed_size);
        drop(state);
        assert_eq!(totals.len(), keys.keys.len());
        (checkpoint_copy, merger_totals, checkpoint, merger, totals)
    });
    let (checkpoint_copy, merger_totals, ..) = out;
    (checkpoint_copy, merger_totals)
}

fn row(what: &str, live: Live, n: usize) {
    let n = n as f64;
    println!(
        "  {what:<34} {:>8.1} B/key  {:>8.1} B/key with malloc  {:>5.2} allocations/key",
        live.bytes as f64 / n,
        live.chunks as f64 / n,
        live.allocations as f64 / n,
    );
}

fn main() {
    // `cargo bench` passes `--bench`; under `cargo test --all-targets` this is a
    // quick smoke run instead.
    let benching = std::env::args().any(|a| a == "--bench");
    let n: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(if benching { 1_000_000 } else { 10_000 });
    println!("{n} keys, each held by one partition, one minute bucket each; live heap after one sealed, persisted and committed epoch");
    for keys in [seed_keys(n), unbounded_keys(n)] {
        println!("{}:", keys.label);
        let (state, bucket, kept) = partition_state(&keys);
        assert_eq!(kept.len(), n);
        drop(kept);
        let (checkpoint, merger) = actors(&keys);
        row("partition state (key + bucket)", state, n);
        row("  one more minute bucket", bucket, n);
        row("checkpoint actor's committed copy", checkpoint, n);
        row("merger totals", merger, n);
        row("all copies", state.plus(checkpoint).plus(merger), n);
    }
}
