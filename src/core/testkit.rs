//! Test support: random event streams cut into epochs, and a plain view of a
//! state for comparisons.

use std::collections::BTreeMap;

use proptest::prelude::*;
use uuid::Uuid;

use super::bucket::MINUTE_MS;
use super::event::EventRef;
use super::key::Key;
use super::rollup::Rollup;
use super::state::RollupState;

pub const NAMES: [&str; 6] = ["a", "b", "c", "dd", "e-f", "événement"];

/// One step of a partition's life.
#[derive(Debug, Clone)]
pub enum Op {
    Event {
        franchise: u8,
        name: usize,
        ts_minute: Option<i64>,
        value: Option<i64>,
    },
    Bad,
    Seal,
}

impl Op {
    pub fn event(&self) -> Option<EventRef<'static>> {
        match *self {
            Op::Event {
                franchise,
                name,
                ts_minute,
                value,
            } => Some(EventRef {
                franchise_id: Uuid::from_u128(u128::from(franchise) + 1),
                event_name: NAMES[name].into(),
                ts_ms: ts_minute.map(|m| m * MINUTE_MS + 17),
                value,
            }),
            _ => None,
        }
    }
}

pub fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        12 => (0u8..4, 0..NAMES.len(), proptest::option::of(0i64..8),
               proptest::option::of(-50i64..50))
            .prop_map(|(franchise, name, ts_minute, value)| Op::Event {
                franchise, name, ts_minute, value
            }),
        1 => Just(Op::Bad),
        2 => Just(Op::Seal),
    ]
}

pub fn ops() -> impl Strategy<Value = Vec<Op>> {
    proptest::collection::vec(op(), 0..120)
}

/// Ingest time of the `i`-th op: a clock that crosses a minute every 8 ops.
pub fn ingest_ms(i: usize) -> i64 {
    i as i64 * 7_500
}

/// Everything observable of a state, in a canonical order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct View {
    pub epoch: u64,
    pub offset: u64,
    pub keys: BTreeMap<Key, Rollup>,
    pub minutes: BTreeMap<(Key, i64), Rollup>,
}

pub fn view(st: &RollupState) -> View {
    View {
        epoch: st.epoch(),
        offset: st.offset(),
        keys: st.iter().map(|(k, r)| (k.clone(), *r)).collect(),
        minutes: st.minutes().map(|(k, m, r)| ((k.clone(), m), *r)).collect(),
    }
}
